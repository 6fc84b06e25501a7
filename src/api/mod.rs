//! The HTTP API: routes, OpenAPI document, authentication and the layers around them.
//!
//! One file per resource, each with its `router()`. A handler parses (the extractors of
//! [`extract`] answer bad input with problem documents), calls one use case (mostly in
//! [`crate::jobs`]) or store read, and maps the result to a view; errors become HTTP only in
//! [`crate::error`]. Nothing below this module imports it.

mod adoptions;
mod compile;
pub mod console;
pub mod exact;
pub mod extract;
mod flows;
mod health;
mod imports;
mod jobs;
pub mod metrics;
pub mod paging;
mod releases;
mod templates;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderName, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use tower_http::LatencyUnit;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveRequestHeadersLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use tracing::Level;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;

use crate::config::{Settings, TargetConfig};
use crate::error::{ApiError, Problem, problem_response};
use crate::store::Store;

/// Everything a handler may need; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub settings: Arc<Settings>,
    pub spec: Arc<Spec>,
    /// Wakes event streams when job events are written.
    pub signals: crate::jobs::Signals,
    /// The worker's loop heartbeat, when this process runs a worker (for `/readyz`).
    pub worker: Option<crate::jobs::Liveness>,
    /// Cancelled when the service starts shutting down: long-lived responses (event streams)
    /// end so they do not hold the drain.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// Rendered job views by version, for pollers of `GET /v1/jobs/{id}`.
    pub job_views: Arc<jobs::JobViewCache>,
    /// The Genesys client of each target (shared with the worker).
    pub clients: crate::jobs::Clients,
}

impl AppState {
    /// The use case that plans and stores jobs.
    pub fn submitter(&self) -> crate::jobs::Submit<'_> {
        crate::jobs::Submit {
            store: &self.store,
            signals: &self.signals,
            clients: &self.clients,
            work_limit: self.settings.limits.work(),
        }
    }
}

/// The OpenAPI document, rendered once.
pub struct Spec {
    pub json: String,
    pub yaml: String,
}

pub const TAG_TEMPLATES: &str = "templates";
pub const TAG_TARGETS: &str = "targets";
pub const TAG_OPERATIONS: &str = "operations";
pub const TAG_JOBS: &str = "jobs";
pub const TAG_FLOWS: &str = "flows";

#[derive(OpenApi)]
#[openapi(
    info(
        title = "flowsmith",
        description = "Write Genesys Cloud call-flow logic once as common modules, call it from many inbound call flows, and provision all of them in the right order.",
        license(name = "MIT", identifier = "MIT")
    ),
    // Schemas used only by query parameters are not collected from the routes.
    components(schemas(crate::diagram::DiagramFormat)),
    modifiers(&BearerAuth),
    tags(
        (name = TAG_TEMPLATES, description = "Flow templates: store, version, validate"),
        (name = compile::TAG_SIMULATION, description = "Replay calls through templates before deploying"),
        (name = TAG_TARGETS, description = "Genesys Cloud orgs the service provisions into"),
        (name = TAG_JOBS, description = "Provisioning jobs: plan, run, follow, cancel, retry"),
        (name = TAG_FLOWS, description = "Flow records: what is deployed in each target"),
        (name = TAG_OPERATIONS, description = "Health, metrics and the API description")
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

impl BearerAuth {
    /// The token is optional: a service without `api_tokens` (loopback only) takes every
    /// request, so each operation also accepts no security (`{}`), first.
    fn optional(spec: &mut utoipa::openapi::OpenApi) {
        for item in spec.paths.paths.values_mut() {
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                if let Some(security) = op.security.as_mut()
                    && !security.is_empty()
                {
                    security.insert(0, utoipa::openapi::security::SecurityRequirement::default());
                }
            }
        }
    }
}

/// Answers any operation can give: a request that outlives `request_timeout_secs` or whose
/// body comes too slowly (408), a declared body over `max_body_bytes` (413, before routing)
/// and a failure inside the service (500), all problem documents; on `/v1`, a body that
/// cannot be read (400) and 503 with `Retry-After` (overloaded, or the database refuses
/// writes). A 401 names the scheme in `WWW-Authenticate`.
struct CommonResponses;

impl CommonResponses {
    fn add(spec: &mut utoipa::openapi::OpenApi) {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        use utoipa::openapi::{ContentBuilder, HeaderBuilder, Ref, RefOr, ResponseBuilder};
        // (status, component name, description, header and its description, /v1 only)
        let common = [
            (
                "400",
                "UnreadableBody",
                "the request body cannot be read",
                None,
                true,
            ),
            (
                "408",
                "RequestTimeout",
                "the request (or its body) took longer than the service allows",
                None,
                false,
            ),
            (
                "413",
                "PayloadTooLarge",
                "the body is larger than `max_body_bytes` (FLOWSMITH_MAX_BODY_BYTES)",
                None,
                false,
            ),
            (
                "500",
                "InternalError",
                "the service failed; details are in its log",
                None,
                false,
            ),
            (
                "503",
                "Overloaded",
                "the service is handling `max_requests_in_flight` requests, or the database refuses writes for now; retry after `Retry-After` seconds",
                Some(("Retry-After", "seconds to wait before retrying")),
                true,
            ),
        ];
        let components = spec.components.get_or_insert_with(Default::default);
        let integer = || ObjectBuilder::new().schema_type(Type::Integer).build();
        for (_, name, description, header, _) in common {
            let mut response = ResponseBuilder::new().description(description).content(
                crate::error::PROBLEM_JSON,
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("Problem")))
                    .build(),
            );
            if let Some((header, about)) = header {
                response = response.header(
                    header,
                    HeaderBuilder::new()
                        .schema(integer())
                        .description(Some(about))
                        .build(),
                );
            }
            components
                .responses
                .insert(name.to_owned(), RefOr::T(response.build()));
        }
        let challenge = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::String).build())
            .description(Some("`Bearer`"))
            .build();
        for (path, item) in spec.paths.paths.iter_mut() {
            let v1 = path.starts_with("/v1/");
            let ops = [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ];
            for op in ops.into_iter().flatten() {
                for (status, name, _, _, v1_only) in common {
                    if v1_only && !v1 {
                        continue;
                    }
                    op.responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(name)));
                }
                if let Some(RefOr::T(unauthorized)) = op.responses.responses.get_mut("401") {
                    unauthorized
                        .headers
                        .insert("WWW-Authenticate".to_owned(), challenge.clone());
                }
            }
        }
    }
}

/// The `/v1` routes (authenticated) and the open ones, with the OpenAPI document they make.
fn routes() -> (Router<AppState>, Router<AppState>, utoipa::openapi::OpenApi) {
    let (v1, v1_spec) = OpenApiRouter::<AppState>::new()
        .merge(templates::router())
        .merge(imports::router())
        .merge(compile::router())
        .merge(jobs::router())
        .merge(flows::router())
        .merge(releases::router())
        .merge(adoptions::router())
        .merge(health::v1_router())
        .split_for_parts();
    // The console's views are HTML for the console, not API operations: behind the same
    // token check, outside the OpenAPI document.
    let v1 = v1.merge(console::views());
    let (open, mut spec) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(metrics::router())
        .split_for_parts();
    let open = open.merge(console::shell());
    spec.merge(v1_spec);
    CommonResponses::add(&mut spec);
    BearerAuth::optional(&mut spec);
    exact::apply(&mut spec);
    (v1, open, spec)
}

/// The OpenAPI document of this build (what `openapi.yaml` must contain).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().2
}

/// Renders the OpenAPI document as YAML.
pub fn openapi_yaml() -> String {
    openapi().to_yaml().unwrap_or_default()
}

/// Builds the application: routes, authentication and layers.
pub fn app(store: Store, settings: Arc<Settings>) -> Router {
    app_with(store, settings, crate::jobs::Signals::default(), None)
}

/// [`app`] sharing the job worker's event signals and liveness.
pub fn app_with(
    store: Store,
    settings: Arc<Settings>,
    signals: crate::jobs::Signals,
    worker: Option<crate::jobs::Liveness>,
) -> Router {
    app_with_shutdown(store, settings, signals, worker, Default::default())
}

/// [`app_with`], ending event streams when `shutdown` is cancelled; Genesys clients of its
/// own for reading the targets.
pub fn app_with_shutdown(
    store: Store,
    settings: Arc<Settings>,
    signals: crate::jobs::Signals,
    worker: Option<crate::jobs::Liveness>,
    shutdown: tokio_util::sync::CancellationToken,
) -> Router {
    let clients = settings
        .targets
        .iter()
        .filter_map(|t| {
            let c = crate::genesys::GenesysClient::new(t).ok()?;
            Some((t.name.clone(), Arc::new(c)))
        })
        .collect();
    app_with_clients(
        store,
        settings,
        signals,
        worker,
        shutdown,
        Arc::new(clients),
    )
}

/// [`app_with_shutdown`] with the worker's Genesys clients.
pub fn app_with_clients(
    store: Store,
    settings: Arc<Settings>,
    signals: crate::jobs::Signals,
    worker: Option<crate::jobs::Liveness>,
    shutdown: tokio_util::sync::CancellationToken,
    clients: crate::jobs::Clients,
) -> Router {
    let (v1, open, spec) = routes();
    let spec = Arc::new(Spec {
        json: spec.to_pretty_json().unwrap_or_default(),
        yaml: spec.to_yaml().unwrap_or_default(),
    });
    let state = AppState {
        store,
        settings: settings.clone(),
        spec,
        signals,
        worker,
        shutdown,
        job_views: Default::default(),
        clients,
    };
    // Installs the process-wide recorder on first use.
    crate::metrics::handle();
    let request_id = HeaderName::from_static(crate::telemetry::REQUEST_ID_HEADER);
    let in_flight = settings.limits.max_requests_in_flight;
    let v1 =
        v1.route_layer(middleware::from_fn_with_state(state.clone(), require_token))
            // Past `max_requests_in_flight` a request is refused at once: queued, it would wait
            // in memory for a database connection (up to the pool's 30 s), and an open-loop
            // client keeps sending, so the backlog (and the process) grows without bound while
            // the worker's own queries wait behind it. One semaphore for every route.
            .layer(
                tower::ServiceBuilder::new()
                    .layer(axum::error_handling::HandleErrorLayer::new(
                        move |_: tower::BoxError| async move {
                            ApiError::Overloaded { limit: in_flight }
                        },
                    ))
                    .load_shed()
                    .layer(tower::limit::GlobalConcurrencyLimitLayer::new(in_flight)),
            )
            // The body is read before the request takes a place: a client sending it slowly
            // holds its own connection, not one of the places of the service's work.
            .layer(middleware::from_fn_with_state(
                BodyRead {
                    limit: settings.max_body_bytes,
                    timeout: Duration::from_secs(settings.limits.body_read_timeout_secs),
                },
                read_body,
            ));
    Router::new()
        .merge(v1)
        .merge(open)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
        .layer(DefaultBodyLimit::max(settings.max_body_bytes))
        .layer(middleware::from_fn_with_state(
            settings.max_body_bytes,
            refuse_oversized,
        ))
        // The layers run from the last one added to the first: the request id is set before
        // the trace span is made, and timeouts and panics are seen by metrics and the log.
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(settings.request_timeout_secs.max(1)),
        ))
        .layer(middleware::map_response(timeout_problem))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(middleware::from_fn(metrics::track_http))
        .layer(CompressionLayer::new())
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(crate::telemetry::request_span)
                .on_response(
                    DefaultOnResponse::new()
                        .level(Level::INFO)
                        .latency_unit(LatencyUnit::Millis),
                ),
        )
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
        .layer(SetSensitiveRequestHeadersLayer::new([
            header::AUTHORIZATION,
        ]))
}

/// `Authorization: Bearer <token>` on `/v1/*` when tokens are configured. Without tokens the
/// service only listens on loopback (enforced at start-up), so requests pass.
async fn require_token(State(state): State<AppState>, req: Request, next: Next) -> Response {
    if state.settings.api_tokens.is_empty() {
        return next.run(req).await;
    }
    let token = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, rest) = v.split_once(' ')?;
            scheme.eq_ignore_ascii_case("bearer").then(|| rest.trim())
        });
    match token {
        Some(t) if state.settings.token_allowed(t) => next.run(req).await,
        _ => ApiError::Unauthorized.into_response(),
    }
}

/// A declared `Content-Length` over the body limit is refused at once (413), before any of
/// the body is awaited: a client that announces 1 GB and sends nothing gets its answer
/// now, not a 408 when the request times out.
async fn refuse_oversized(State(limit): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    match declared {
        Some(n) if n > limit as u64 => ApiError::PayloadTooLarge { limit }.into_response(),
        _ => next.run(req).await,
    }
}

/// How `/v1` request bodies are read: at most `limit` bytes within `timeout`.
#[derive(Clone, Copy)]
struct BodyRead {
    limit: usize,
    timeout: Duration,
}

/// Reads the whole body (408 past `body_read_timeout_secs`, 413 past the body limit) and
/// hands the request on with it; a request without a body passes at once.
async fn read_body(State(read): State<BodyRead>, req: Request, next: Next) -> Response {
    use http_body::Body as _;
    if req.body().is_end_stream() {
        return next.run(req).await;
    }
    let (parts, body) = req.into_parts();
    let bytes =
        match tokio::time::timeout(read.timeout, axum::body::to_bytes(body, read.limit)).await {
            Ok(Ok(bytes)) => bytes,
            Ok(Err(e)) => {
                let too_large = std::error::Error::source(&e)
                    .is_some_and(|s| s.is::<http_body_util::LengthLimitError>());
                return if too_large {
                    ApiError::PayloadTooLarge { limit: read.limit }.into_response()
                } else {
                    ApiError::MalformedBody {
                        detail: format!("cannot read the request body: {e}"),
                    }
                    .into_response()
                };
            }
            Err(_) => {
                return ApiError::BodyTimeout {
                    secs: read.timeout.as_secs(),
                }
                .into_response();
            }
        };
    next.run(Request::from_parts(parts, axum::body::Body::from(bytes)))
        .await
}

/// Runs CPU work of a request (decoding, validating, simulating) on the blocking pool so
/// the async workers keep answering. The work is bounded by the request limits; the
/// deadline (`request_work_ms`) is a backstop that answers 422 naming it, and the
/// simulator also checks it itself and stops.
pub async fn cpu<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, ApiError> {
    use crate::work_limit::{WorkError, run_bounded};
    match run_bounded(state.settings.limits.work(), work).await {
        Ok(v) => Ok(v),
        Err(WorkError::Failed(e)) => Err(ApiError::Internal(format!("request work failed: {e}"))),
        Err(WorkError::OverLimit(limit)) => Err(ApiError::work_limit(limit)),
    }
}

async fn not_found(req: Request) -> ApiError {
    ApiError::NotFound(format!(
        "no route for {} {}",
        req.method(),
        req.uri().path()
    ))
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// The timeout layer answers 408 with an empty body; make it a problem document.
async fn timeout_problem(resp: Response) -> Response {
    if resp.status() != StatusCode::REQUEST_TIMEOUT
        || resp.headers().contains_key(header::CONTENT_TYPE)
    {
        return resp;
    }
    problem_response(&Problem {
        problem_type: "/problems/request-timeout".into(),
        title: "Request Timeout".into(),
        status: StatusCode::REQUEST_TIMEOUT.as_u16(),
        detail: "the request took longer than the service allows".into(),
        errors: Vec::new(),
    })
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    problem_response(&ApiError::Internal("handler panicked".into()).to_problem())
}

/// What `GET /v1/targets` tells about a target: never its secret.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct TargetView {
    pub name: String,
    pub api_base_url: String,
    pub login_base_url: String,
    pub client_id: String,
    pub rate_limit_per_minute: u32,
    /// The most steps of one job in flight, if capped (otherwise as many as keep the rate
    /// limit busy).
    pub concurrency: Option<u32>,
}

impl From<&TargetConfig> for TargetView {
    fn from(t: &TargetConfig) -> Self {
        TargetView {
            name: t.name.clone(),
            api_base_url: t.api_base_url.clone(),
            login_base_url: t.login_base_url.clone(),
            client_id: t.client_id.clone(),
            rate_limit_per_minute: t.rate_limit_per_minute,
            concurrency: t.concurrency,
        }
    }
}
