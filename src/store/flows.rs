//! Flow records: what flowsmith knows is deployed in each target. Written only by a
//! successful job step, in the same transaction as the step's state.

use sqlx::FromRow;

use serde_json::{Map, Value};

use super::{Store, Tx};
use crate::job_model::{Corrupt, caller_behind_module, decode_json};
use crate::template::FlowType;

#[derive(Debug, Clone, FromRow)]
pub struct FlowRecordRow {
    pub target: String,
    pub name: String,
    #[sqlx(try_from = "String")]
    pub flow_type: FlowType,
    pub flow_id: Option<String>,
    pub template_name: String,
    pub template_version: i64,
    /// SHA-256 of the deployed YAML.
    pub content_hash: String,
    /// SHA-256 of the plan-time YAML (queue ids in place of names): what plans compare.
    pub plan_hash: String,
    pub published_version: Option<String>,
    pub yaml: String,
    /// JSON object.
    pub params: String,
    /// JSON `{inputs, outputs}` of a module.
    pub module_interface: Option<String>,
    /// JSON array of the flow names of the modules it calls.
    pub calls: String,
    pub job_id: Option<String>,
    pub updated_at: String,
}

/// A flow record joined with the document of its template version (for planning).
#[derive(Debug, Clone, FromRow)]
pub struct RecordWithDocument {
    #[sqlx(flatten)]
    pub record: FlowRecordRow,
    pub document: Option<String>,
}

const COLUMNS: &str = "r.target, r.name, r.flow_type, r.flow_id, r.template_name, r.template_version, r.content_hash, r.plan_hash, r.published_version, r.yaml, r.params, r.module_interface, r.calls, r.job_id, r.updated_at";

#[derive(Debug, Default, Clone)]
pub struct FlowFilter {
    pub target: Option<String>,
    pub flow_type: Option<FlowType>,
    /// (target, name) strictly after this one (cursor).
    pub after: Option<(String, String)>,
    pub limit: i64,
}

impl FlowRecordRow {
    fn key(&self) -> String {
        format!("target {} flow {}", self.target, self.name)
    }

    /// The template parameters it was deployed with.
    pub fn params(&self) -> Result<Map<String, Value>, Corrupt> {
        decode_json("flow_records", "params", self.key(), &self.params)
    }

    /// The flow names of the modules it calls.
    pub fn calls(&self) -> Result<Vec<String>, Corrupt> {
        decode_json("flow_records", "calls", self.key(), &self.calls)
    }

    /// Another JSON column (`module_interface`) as `T`.
    pub fn decode<T: serde::de::DeserializeOwned>(
        &self,
        column: &'static str,
        text: &str,
    ) -> Result<T, Corrupt> {
        decode_json("flow_records", column, self.key(), text)
    }

    /// Whether this record says the org already has what a step would deploy: the same plan
    /// hash as the same flow type, published, and published no earlier than the current
    /// record of every module it calls (`modules`: their names and `updated_at`). A caller
    /// published before its module changed must be published again to pick the module up.
    pub fn deploys(&self, plan_hash: &str, flow_type: &str, modules: &[(String, String)]) -> bool {
        self.plan_hash == plan_hash
            && self.flow_type.as_str() == flow_type
            && self.flow_id.is_some()
            && self.published_version.is_some()
            && modules
                .iter()
                .all(|(_, at)| !caller_behind_module(&self.updated_at, at))
    }
}

/// The record of (target, name) inside a transaction.
pub(crate) async fn record_in(
    tx: &mut Tx,
    target: &str,
    name: &str,
) -> Result<Option<FlowRecordRow>, sqlx::Error> {
    tx.row(&record_query(), &[target, name]).await
}

/// The query of the record of (target `$1`, name `$2`).
fn record_query() -> String {
    format!("SELECT {COLUMNS} FROM flow_records r WHERE r.target = $1 AND r.name = $2")
}

/// Inserts or replaces the record of (target, name).
pub(crate) async fn upsert_record(tx: &mut Tx, r: &FlowRecordRow) -> Result<(), sqlx::Error> {
    on_tx!(tx, |c| {
        sqlx::query(
        "INSERT INTO flow_records (target, name, flow_type, flow_id, template_name, template_version, content_hash, plan_hash, published_version, yaml, params, module_interface, calls, job_id, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) \
         ON CONFLICT (target, name) DO UPDATE SET flow_type = excluded.flow_type, flow_id = excluded.flow_id, \
           template_name = excluded.template_name, template_version = excluded.template_version, \
           content_hash = excluded.content_hash, plan_hash = excluded.plan_hash, \
           published_version = excluded.published_version, yaml = excluded.yaml, params = excluded.params, \
           module_interface = excluded.module_interface, calls = excluded.calls, job_id = excluded.job_id, \
           updated_at = excluded.updated_at",
    )
    .bind(&r.target)
    .bind(&r.name)
    .bind(r.flow_type.as_str())
    .bind(&r.flow_id)
    .bind(&r.template_name)
    .bind(r.template_version)
    .bind(&r.content_hash)
    .bind(&r.plan_hash)
    .bind(&r.published_version)
    .bind(&r.yaml)
    .bind(&r.params)
    .bind(&r.module_interface)
    .bind(&r.calls)
    .bind(&r.job_id)
    .bind(&r.updated_at)
    .execute(c)
    .await.map(|r| r.rows_affected())
    })?;
    Ok(())
}

impl Store {
    /// Every record of a target with its template version's document.
    pub async fn records_for_planning(
        &self,
        target: &str,
    ) -> Result<Vec<RecordWithDocument>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS}, v.document FROM flow_records r \
             LEFT JOIN template_versions v ON v.name = r.template_name AND v.version = r.template_version \
             WHERE r.target = $1 ORDER BY r.name"
        );
        self.read_rows(&sql, &[target]).await
    }

    pub async fn flow_record(
        &self,
        target: &str,
        name: &str,
    ) -> Result<Option<FlowRecordRow>, sqlx::Error> {
        self.read_row(&record_query(), &[target, name]).await
    }

    /// Records ordered by (target, name), after the cursor, at most `limit`.
    pub async fn list_flow_records(
        &self,
        f: &FlowFilter,
    ) -> Result<Vec<FlowRecordRow>, sqlx::Error> {
        let (after_target, after_name) = match &f.after {
            Some((t, n)) => (Some(t.as_str()), Some(n.as_str())),
            None => (None, None),
        };
        on_reads!(self, |p| sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM flow_records r \
             WHERE ($1 IS NULL OR r.target = $1) \
               AND ($2 IS NULL OR r.flow_type = $2) \
               AND ($3 IS NULL OR r.target > $3 OR (r.target = $3 AND r.name > $4)) \
             ORDER BY r.target, r.name LIMIT $5"
        ))
        .bind(f.target.as_deref())
        .bind(f.flow_type.map(FlowType::as_str))
        .bind(after_target)
        .bind(after_name)
        .bind(f.limit)
        .fetch_all(p)
        .await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(plan_hash: &str, published: Option<&str>, updated_at: &str) -> FlowRecordRow {
        FlowRecordRow {
            target: "org".into(),
            name: "Caller".into(),
            flow_type: FlowType::Inbound,
            flow_id: Some("f-1".into()),
            template_name: "t".into(),
            template_version: 1,
            content_hash: "c".into(),
            plan_hash: plan_hash.into(),
            published_version: published.map(str::to_owned),
            yaml: String::new(),
            params: "{}".into(),
            module_interface: None,
            calls: "[\"Module\"]".into(),
            job_id: Some("j-1".into()),
            updated_at: updated_at.into(),
        }
    }

    const T1: &str = "2026-01-01T00:00:01.000Z";
    const T2: &str = "2026-01-01T00:00:02.000Z";

    #[test]
    fn the_same_published_content_is_deployed() {
        let r = record("h", Some("1.0"), T2);
        assert!(r.deploys("h", "inbound", &[("Module".into(), T1.into())]));
        assert!(r.deploys("h", "inbound", &[("Module".into(), T2.into())]));
        assert!(r.deploys("h", "inbound", &[]));
    }

    #[test]
    fn other_content_an_unpublished_flow_or_another_type_is_not() {
        assert!(!record("h", Some("1.0"), T2).deploys("other", "inbound", &[]));
        assert!(!record("h", None, T2).deploys("h", "inbound", &[]));
        assert!(!record("h", Some("1.0"), T2).deploys("h", "module", &[]));
    }

    #[test]
    fn a_caller_published_before_its_module_changed_is_not() {
        let r = record("h", Some("1.0"), T1);
        assert!(!r.deploys("h", "inbound", &[("Module".into(), T2.into())]));
    }
}
