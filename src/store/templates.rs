//! Template versions: immutable documents under a name, numbered from 1.

use sqlx::{FromRow, Row};

use serde_json::Value;

use super::{Backend, Lock, Store, Tx, now};
use crate::job_model::{Corrupt, UnknownValue, decode_json};
use crate::template::{Finding, FlowType};

#[derive(Debug, Clone, FromRow)]
pub struct TemplateRow {
    pub name: String,
    pub version: i64,
    #[sqlx(try_from = "String")]
    pub flow_type: FlowType,
    pub description: Option<String>,
    pub content_hash: String,
    /// The canonical JSON document.
    pub document: String,
    /// JSON array of the warnings found when the version was stored.
    pub warnings: String,
    pub created_at: String,
}

/// For `#[sqlx(try_from = "String")]`: a row whose stored flow type is not one of the
/// values flowsmith writes (`FlowType::as_str`) fails to read, as an unknown status or
/// action does; it is never read as a default.
impl TryFrom<String> for FlowType {
    type Error = UnknownValue;
    fn try_from(s: String) -> Result<FlowType, UnknownValue> {
        [FlowType::Module, FlowType::Inbound]
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or(UnknownValue {
                kind: "flow type",
                value: s,
            })
    }
}

/// A stored template document (`template_versions.document`); a text that is not JSON is
/// [`Corrupt`], naming the version. Every reader of a stored document goes through it.
pub fn decode_document(name: &str, version: i64, text: &str) -> Result<Value, Corrupt> {
    decode_json(
        "template_versions",
        "document",
        format!("template {name} version {version}"),
        text,
    )
}

impl TemplateRow {
    /// The stored document; a text that is not JSON is [`Corrupt`], naming the version.
    pub fn document(&self) -> Result<Value, Corrupt> {
        decode_document(&self.name, self.version, &self.document)
    }

    /// The warnings found when the version was stored; a text that does not read back is
    /// [`Corrupt`].
    pub fn warnings(&self) -> Result<Vec<Finding>, Corrupt> {
        decode_json(
            "template_versions",
            "warnings",
            format!("template {} version {}", self.name, self.version),
            &self.warnings,
        )
    }
}

pub enum StoreOutcome {
    /// A new version was written.
    Created(TemplateRow),
    /// The document equals the latest version, which is returned.
    Unchanged(TemplateRow),
}

pub enum DeleteOutcome {
    Deleted,
    NotFound,
    /// Flow records (target, flow name) provisioned from the template.
    InUse(Vec<(String, String)>),
}

#[derive(Debug, Default, Clone)]
pub struct ListFilter {
    pub flow_type: Option<FlowType>,
    pub name_prefix: Option<String>,
    /// Names strictly after this one (cursor).
    pub after: Option<String>,
    pub limit: i64,
}

const COLUMNS: &str = "v.name, v.version, v.flow_type, v.description, v.content_hash, v.document, v.warnings, v.created_at";

/// A new template version to store.
pub struct NewTemplate<'a> {
    pub name: &'a str,
    pub flow_type: FlowType,
    pub description: Option<&'a str>,
    pub content_hash: &'a str,
    pub document: &'a str,
    pub warnings: &'a str,
}

impl Store {
    /// Stores a version unless it equals the latest (by content hash). The versions of a
    /// name are written one transaction at a time across replicas ([`Lock::Template`]), so
    /// two replicas storing the same document at once create one version.
    pub async fn store_template(&self, t: NewTemplate<'_>) -> Result<StoreOutcome, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_locked(Lock::Template(t.name)).await?;
            let head: Option<(i64, String, Option<String>)> = on_tx!(&mut tx, |c| {
                sqlx::query(
                    "SELECT latest_version, content_hash, deleted_at FROM template_heads WHERE name = $1",
                )
                .bind(t.name)
                .fetch_optional(c)
                .await?
                .map(|h| (h.get("latest_version"), h.get("content_hash"), h.get("deleted_at")))
            });
            let next = match &head {
                Some((latest, hash, deleted)) => {
                    if deleted.is_none() && *hash == t.content_hash {
                        let row = fetch_version(&mut tx, t.name, *latest).await?;
                        tx.commit().await?;
                        if let Some(row) = row {
                            return Ok(StoreOutcome::Unchanged(row));
                        }
                        return Err(sqlx::Error::RowNotFound);
                    }
                    latest + 1
                }
                None => 1,
            };
            let created_at = now();
            on_tx!(&mut tx, |c| {
                if head.is_some() {
                    sqlx::query(
                        "UPDATE template_heads SET latest_version = $1, flow_type = $2, content_hash = $3, updated_at = $4, deleted_at = NULL WHERE name = $5",
                    )
                    .bind(next)
                    .bind(t.flow_type.as_str())
                    .bind(t.content_hash)
                    .bind(&created_at)
                    .bind(t.name)
                    .execute(&mut *c)
                    .await?;
                } else {
                    sqlx::query(
                        "INSERT INTO template_heads (name, latest_version, flow_type, content_hash, updated_at) VALUES ($1, $2, $3, $4, $5)",
                    )
                    .bind(t.name)
                    .bind(next)
                    .bind(t.flow_type.as_str())
                    .bind(t.content_hash)
                    .bind(&created_at)
                    .execute(&mut *c)
                    .await?;
                }
                sqlx::query(
                    "INSERT INTO template_versions (name, version, flow_type, description, content_hash, document, warnings, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(t.name)
                .bind(next)
                .bind(t.flow_type.as_str())
                .bind(t.description)
                .bind(t.content_hash)
                .bind(t.document)
                .bind(t.warnings)
                .bind(&created_at)
                .execute(c)
                .await?;
            });
            tx.commit().await?;
            Ok(StoreOutcome::Created(TemplateRow {
                name: t.name.to_owned(),
                version: next,
                flow_type: t.flow_type,
                description: t.description.map(str::to_owned),
                content_hash: t.content_hash.to_owned(),
                document: t.document.to_owned(),
                warnings: t.warnings.to_owned(),
                created_at,
            }))
        })
        .await
    }

    /// The latest version of a template that is not deleted.
    pub async fn latest_template(&self, name: &str) -> Result<Option<TemplateRow>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM template_heads h JOIN template_versions v ON v.name = h.name AND v.version = h.latest_version WHERE h.name = $1 AND h.deleted_at IS NULL"
        );
        self.read_row(&sql, &[name]).await
    }

    /// Whether some target records a flow of this template as a common module.
    pub async fn has_module_record(&self, template: &str) -> Result<bool, sqlx::Error> {
        let hit: Option<i32> = on_reads!(self, |p| {
            sqlx::query_scalar(
            "SELECT 1 FROM flow_records WHERE template_name = $1 AND flow_type = 'module' LIMIT 1",
        )
        .bind(template)
        .fetch_optional(p)
        .await
        })?;
        Ok(hit.is_some())
    }

    /// The latest versions of the other templates (not deleted) whose document contains
    /// `needle`: candidates for callers of a module, confirmed by the caller.
    pub async fn latest_templates_containing(
        &self,
        exclude: &str,
        needle: &str,
    ) -> Result<Vec<TemplateRow>, sqlx::Error> {
        // The position of a substring: `instr` in SQLite, `strpos` in PostgreSQL.
        let position = match self.backend() {
            Backend::Sqlite => "instr",
            Backend::Postgres => "strpos",
        };
        let sql = format!(
            "SELECT {COLUMNS} FROM template_heads h JOIN template_versions v ON v.name = h.name AND v.version = h.latest_version \
             WHERE h.deleted_at IS NULL AND h.name <> $1 AND {position}(v.document, $2) > 0 ORDER BY h.name"
        );
        on_reads!(self, |p| sqlx::query_as(&sql)
            .bind(exclude)
            .bind(needle)
            .fetch_all(p)
            .await)
    }

    /// The latest versions of several templates (missing or deleted ones are left out).
    pub async fn latest_templates(
        &self,
        names: &[String],
    ) -> Result<Vec<TemplateRow>, sqlx::Error> {
        let mut out = Vec::with_capacity(names.len());
        for n in names {
            if let Some(r) = self.latest_template(n).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// The names of every template that is not deleted, in order (the candidates of a
    /// "did you mean" for a module name that is not stored).
    pub async fn template_names(&self) -> Result<Vec<String>, sqlx::Error> {
        on_reads!(self, |p| sqlx::query_scalar(
            "SELECT name FROM template_heads WHERE deleted_at IS NULL ORDER BY name"
        )
        .fetch_all(p)
        .await)
    }

    /// One version of a template that is not deleted.
    pub async fn template_version(
        &self,
        name: &str,
        version: i64,
    ) -> Result<Option<TemplateRow>, sqlx::Error> {
        on_reads!(self, |p| {
            sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM template_heads h JOIN template_versions v ON v.name = h.name WHERE h.name = $1 AND v.version = $2 AND h.deleted_at IS NULL"
        ))
        .bind(name)
        .bind(version)
        .fetch_optional(p)
        .await
        })
    }

    /// Every version of a template, oldest first; `None` if there is no such template.
    pub async fn template_versions(
        &self,
        name: &str,
    ) -> Result<Option<Vec<TemplateRow>>, sqlx::Error> {
        let sql = format!(
            "SELECT {COLUMNS} FROM template_heads h JOIN template_versions v ON v.name = h.name WHERE h.name = $1 AND h.deleted_at IS NULL ORDER BY v.version"
        );
        let rows: Vec<TemplateRow> = self.read_rows(&sql, &[name]).await?;
        Ok(if rows.is_empty() { None } else { Some(rows) })
    }

    /// Latest versions ordered by name, after the cursor, at most `limit`.
    pub async fn list_templates(&self, f: &ListFilter) -> Result<Vec<TemplateRow>, sqlx::Error> {
        // Optional filters as `($n IS NULL OR ...)` keep one prepared statement for all
        // combinations, and the same text works on Postgres.
        on_reads!(self, |p| {
            sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM template_heads h JOIN template_versions v ON v.name = h.name AND v.version = h.latest_version \
             WHERE h.deleted_at IS NULL \
               AND ($1 IS NULL OR h.flow_type = $1) \
               AND ($2 IS NULL OR substr(h.name, 1, length($2)) = $2) \
               AND ($3 IS NULL OR h.name > $3) \
             ORDER BY h.name LIMIT $4"
        ))
        .bind(f.flow_type.map(FlowType::as_str))
        .bind(f.name_prefix.as_deref())
        .bind(f.after.as_deref())
        .bind(f.limit)
        .fetch_all(p)
        .await
        })
    }

    /// Marks a template deleted unless a flow record was provisioned from it.
    pub async fn delete_template(&self, name: &str) -> Result<DeleteOutcome, sqlx::Error> {
        self.tracked(async {
            let mut tx = self.begin_locked(Lock::Template(name)).await?;
            let exists = on_tx!(&mut tx, |c| {
                sqlx::query("SELECT 1 FROM template_heads WHERE name = $1 AND deleted_at IS NULL")
                    .bind(name)
                    .fetch_optional(c)
                    .await?
                    .is_some()
            });
            if !exists {
                return Ok(DeleteOutcome::NotFound);
            }
            let users: Vec<(String, String)> = on_tx!(&mut tx, |c| {
                sqlx::query_as(
                    "SELECT target, name FROM flow_records WHERE template_name = $1 ORDER BY target, name",
                )
                .bind(name)
                .fetch_all(c)
                .await?
            });
            if !users.is_empty() {
                return Ok(DeleteOutcome::InUse(users));
            }
            // SQLite numbers `$n` parameters by first appearance: keep them in order.
            tx.execute(
                "UPDATE template_heads SET deleted_at = $1 WHERE name = $2",
                &[&now(), name],
            )
            .await?;
            tx.commit().await?;
            Ok(DeleteOutcome::Deleted)
        })
        .await
    }
}

async fn fetch_version(
    tx: &mut Tx,
    name: &str,
    version: i64,
) -> Result<Option<TemplateRow>, sqlx::Error> {
    let sql =
        format!("SELECT {COLUMNS} FROM template_versions v WHERE v.name = $1 AND v.version = $2");
    on_tx!(tx, |c| sqlx::query_as(&sql)
        .bind(name)
        .bind(version)
        .fetch_optional(c)
        .await)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_flow_type_reads_back_or_fails_naming_it() {
        for t in [FlowType::Module, FlowType::Inbound] {
            assert_eq!(FlowType::try_from(t.as_str().to_owned()), Ok(t));
        }
        // Only the stored spelling: the aliases a document may use are not stored.
        let e = FlowType::try_from("commonmodule".to_owned()).unwrap_err();
        assert_eq!(e.to_string(), "\"commonmodule\" is not a flow type");
    }

    #[test]
    fn a_stored_document_that_is_not_json_is_corrupt() {
        let row = TemplateRow {
            name: "t".into(),
            version: 2,
            flow_type: FlowType::Inbound,
            description: None,
            content_hash: "h".into(),
            document: "{".into(),
            warnings: "[]".into(),
            created_at: String::new(),
        };
        let e = row.document().unwrap_err();
        assert_eq!(
            (e.table, e.column, e.key.as_str()),
            ("template_versions", "document", "template t version 2")
        );
    }
}
