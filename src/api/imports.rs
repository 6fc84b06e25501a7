//! `POST /v1/imports`: Archy YAML files become template documents (issue 22).

use axum::Json;
use axum::extract::{Request, State};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::AppState;
use super::extract::{BodyFormat, body_format, read_bytes};
use super::templates::templates;
use crate::error::{ApiError, ApiResult};
use crate::import::{ArchyFile, Imports};
use crate::template::Finding;

const TAG: &str = "templates";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(import_files))
}

/// One Archy file.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportFile {
    /// What findings call the file.
    pub name: String,
    /// The Archy YAML.
    pub yaml: String,
}

/// Several Archy files (a module with its callers).
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImportRequest {
    pub files: Vec<ImportFile>,
    /// Store each template as a new version (checked as `POST /v1/templates` does).
    #[serde(default)]
    pub store: bool,
    /// Reserved for the round-trip check; `true` is refused until it is served.
    #[serde(default)]
    pub verify: bool,
}

/// Import Archy YAML (`inboundCall`, `commonModule`) as template documents: one file as
/// `application/yaml`, or several as JSON.
#[utoipa::path(post, path = "/v1/imports", tag = TAG, security(("bearer" = [])),
    request_body(content(
        (ImportRequest = "application/json"),
        (String = "application/yaml")
    )),
    responses(
        (status = 200, description = "the templates, each with its report, and the findings", body = Imports),
        (status = 400, description = "the body is not JSON", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 401, description = "missing or unknown bearer token", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 413, description = "body too large", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 415, description = "unsupported Content-Type", body = crate::error::Problem, content_type = "application/problem+json"),
        (status = 422, description = "a file cannot be imported (findings point into its YAML), or a template it gives does not validate", body = crate::error::Problem, content_type = "application/problem+json")
    ))]
async fn import_files(State(state): State<AppState>, req: Request) -> ApiResult<Json<Imports>> {
    let format = body_format(req.headers(), true)?;
    let body = read_bytes(req, &state).await?;
    let (files, store) = match format {
        BodyFormat::Yaml => {
            let yaml = String::from_utf8(body.to_vec()).map_err(|_| ApiError::MalformedBody {
                detail: "the YAML body is not UTF-8".into(),
            })?;
            (
                vec![ArchyFile {
                    name: "body".into(),
                    yaml,
                }],
                false,
            )
        }
        BodyFormat::Json => {
            let req: ImportRequest =
                serde_json::from_slice(&body).map_err(|e| match e.classify() {
                    serde_json::error::Category::Data => ApiError::invalid(
                        format!("the import request is not valid: {e}"),
                        Finding::error("invalid_request", "", e.to_string()),
                    ),
                    _ => ApiError::MalformedBody {
                        detail: format!("the body is not JSON: {e}"),
                    },
                })?;
            if req.verify {
                return Err(ApiError::invalid(
                    "verify is not served yet: run the round trip with the sandbox (tests/import_roundtrip.rs)",
                    Finding::error(
                        "verify_not_served",
                        "/verify",
                        "the round-trip check is not served yet",
                    ),
                ));
            }
            let files = req
                .files
                .into_iter()
                .map(|f| ArchyFile {
                    name: f.name,
                    yaml: f.yaml,
                })
                .collect();
            (files, req.store)
        }
    };
    Ok(Json(templates(&state).import(files, store).await?))
}
