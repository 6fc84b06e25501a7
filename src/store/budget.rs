//! The shared rate budget's ledger on PostgreSQL (`migrations/postgres/0009_rate_budget.sql`;
//! the arithmetic and the keeper are in `genesys::budget`). One statement per lease or give
//! back; the row lock of the upsert orders concurrent leases of one target.

use futures::future::BoxFuture;
use sqlx::PgPool;

use crate::genesys::budget::{BudgetLedger, GUARD, Granted};

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

impl BudgetLedger for PgBudgetLedger {
    fn lease<'a>(
        &'a self,
        target: &'a str,
        holder: &'a str,
        length_us: i64,
    ) -> BoxFuture<'a, Result<Granted, String>> {
        Box::pin(async move {
            let guard = i64::try_from(GUARD.as_micros()).unwrap_or(i64::MAX);
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
                .bind(guard)
                .fetch_one(&self.pool)
                .await
                .map_err(|e| e.to_string())?;
            Ok(Granted { start_us, now_us })
        })
    }

    fn give_back<'a>(
        &'a self,
        target: &'a str,
        end_us: i64,
        from_us: i64,
    ) -> BoxFuture<'a, Result<bool, String>> {
        Box::pin(async move {
            let sql = format!(
                "UPDATE rate_budget SET next_free_us = GREATEST($3::bigint, {NOW_US}) \
                 WHERE target = $1 AND next_free_us = $2::bigint"
            );
            let r = sqlx::query(&sql)
                .bind(target)
                .bind(end_us)
                .bind(from_us)
                .execute(&self.pool)
                .await
                .map_err(|e| e.to_string())?;
            Ok(r.rows_affected() == 1)
        })
    }
}
