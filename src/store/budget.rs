//! The shared rate budget's ledger on PostgreSQL (`migrations/postgres/0009_rate_budget.sql`;
//! the arithmetic and the keeper are in `genesys::budget`, and `app` joins the two). One
//! statement per lease or give back; the row lock of the upsert orders concurrent leases of
//! one target.

use sqlx::PgPool;

/// The budget ledger of the replicas on one PostgreSQL database.
#[derive(Debug, Clone)]
pub struct PgBudgetLedger {
    pool: PgPool,
}

impl PgBudgetLedger {
    pub fn new(pool: PgPool) -> PgBudgetLedger {
        PgBudgetLedger { pool }
    }
}

/// The server's clock in microseconds (`clock_timestamp`: the statement's own moment, not
/// its transaction's start).
const NOW_US: &str = "(extract(epoch FROM clock_timestamp()) * 1000000)::bigint";

impl PgBudgetLedger {
    /// Leases `length_us` of `target`'s budget for `holder` from its next free slot or now,
    /// whichever is later (plus `guard_us` after another holder's slice): the slice's start
    /// and the server's now, in microseconds.
    pub async fn lease(
        &self,
        target: &str,
        holder: &str,
        length_us: i64,
        guard_us: i64,
    ) -> Result<(i64, i64), sqlx::Error> {
        let sql = format!(
            "WITH c AS (SELECT {NOW_US} AS now_us) \
                 INSERT INTO rate_budget AS b (target, next_free_us, holder) \
                 SELECT $1, c.now_us + $2::bigint, $3 FROM c \
                 ON CONFLICT (target) DO UPDATE SET \
                   next_free_us = GREATEST( \
                     b.next_free_us + CASE WHEN b.holder = $3 THEN 0::bigint ELSE $4::bigint END, \
                     (SELECT now_us FROM c)) + $2::bigint, \
                   holder = $3 \
                 RETURNING b.next_free_us - $2::bigint, (SELECT now_us FROM c)"
        );
        let (start_us, now_us): (i64, i64) = sqlx::query_as(&sql)
            .bind(target)
            .bind(length_us)
            .bind(holder)
            .bind(guard_us)
            .fetch_one(&self.pool)
            .await?;
        Ok((start_us, now_us))
    }

    /// Gives back `target`'s budget from `from_us` (or now) if nobody leased after `end_us`:
    /// whether it was taken back.
    pub async fn give_back(
        &self,
        target: &str,
        end_us: i64,
        from_us: i64,
    ) -> Result<bool, sqlx::Error> {
        let sql = format!(
            "UPDATE rate_budget SET next_free_us = GREATEST($3::bigint, {NOW_US}) \
                 WHERE target = $1 AND next_free_us = $2::bigint"
        );
        let r = sqlx::query(&sql)
            .bind(target)
            .bind(end_us)
            .bind(from_us)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }
}
