//! The read-only operator console at `/console`: server-rendered HTML, no build step.
//!
//! `/console` is a shell with no data (a token prompt when tokens are configured) and its
//! static script and style; the script fetches the views (`/console/views/...`, HTML
//! fragments rendered here with maud, which escapes every value) with the token in an
//! `Authorization` header, keeping the token in memory only. The views sit behind the same
//! token check as `/v1`. A job's view follows the job's event stream and is fetched again on
//! each event. Every response carries a strict Content-Security-Policy: scripts, styles and
//! everything else from this origin only, nothing inline.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::middleware;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use maud::{DOCTYPE, Markup, html};

use super::AppState;
use super::extract::ApiPath;
use super::jobs::{JobView, load_view};
use super::templates::templates;
use crate::diagram::composition::render_svg;
use crate::diagram::path_segment;
use crate::error::ApiResult;
use crate::jobs::composition::composition_with_drift;
use crate::store::{JobFilter, ListFilter};

/// The policy of every console response: nothing but this origin, nothing inline, no frames.
pub const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const SCRIPT: &str = include_str!("console/console.js");
const STYLE: &str = include_str!("console/console.css");
const ICON: &str = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 16 16\"><rect width=\"16\" height=\"16\" rx=\"3\" fill=\"#2b5fab\"/></svg>";

/// Most rows of a list view.
const MAX_ROWS: i64 = 200;

/// The shell and its static files: open (they hold no data).
pub fn shell() -> Router<AppState> {
    Router::new()
        .route("/console", get(page))
        .route("/console/", get(page))
        .route(
            "/console/console.js",
            get(|| asset("text/javascript; charset=utf-8", SCRIPT)),
        )
        .route(
            "/console/console.css",
            get(|| asset("text/css; charset=utf-8", STYLE)),
        )
        .route("/console/favicon.svg", get(|| asset("image/svg+xml", ICON)))
        .layer(middleware::map_response(with_policy))
}

/// The views: behind the `/v1` token check (the caller adds it).
pub fn views() -> Router<AppState> {
    Router::new()
        .route("/console/views/templates", get(templates_view))
        .route("/console/views/templates/{name}", get(template_view))
        .route("/console/views/targets", get(targets_view))
        .route("/console/views/targets/{target}", get(target_view))
        .route("/console/views/jobs", get(jobs_view))
        .route("/console/views/jobs/{id}", get(job_view))
        .layer(middleware::map_response(with_policy))
}

async fn with_policy(mut resp: Response) -> Response {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    resp
}

async fn asset(content_type: &'static str, body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

fn html_response(m: Markup) -> Response {
    (
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        m.into_string(),
    )
        .into_response()
}

async fn page(State(state): State<AppState>) -> Response {
    let auth = if state.settings.api_tokens.is_empty() {
        "open"
    } else {
        "required"
    };
    html_response(html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "flowsmith console" }
                link rel="icon" href="/console/favicon.svg" type="image/svg+xml";
                link rel="stylesheet" href="/console/console.css";
                script src="/console/console.js" defer {}
            }
            body data-auth=(auth) {
                header {
                    strong { "flowsmith" }
                    nav {
                        a href="#/templates" { "Templates" }
                        a href="#/targets" { "Targets" }
                        a href="#/jobs" { "Jobs" }
                    }
                }
                form id="token-form" hidden {
                    label for="token" { "API token" }
                    input id="token" type="password" autocomplete="off" required;
                    button type="submit" { "Open" }
                    p id="token-message" {}
                }
                main id="view" aria-live="polite" {}
            }
        }
    })
}

/// A link to another view (the script loads `#/...` into the page).
fn view_link(kind: &str, name: &str) -> String {
    format!("#/{kind}/{}", path_segment(name))
}

async fn templates_view(State(state): State<AppState>) -> ApiResult<Response> {
    let rows = state
        .store
        .list_templates(&ListFilter {
            flow_type: None,
            name_prefix: None,
            after: None,
            limit: MAX_ROWS,
        })
        .await?;
    Ok(html_response(html! {
        h1 { "Templates" }
        @if rows.is_empty() { p { "No templates stored yet." } }
        table {
            thead { tr { th { "Name" } th { "Type" } th { "Latest version" } th { "Stored" } th { "Description" } } }
            tbody {
                @for r in &rows {
                    tr {
                        td { a href=(view_link("templates", &r.name)) { (r.name) } }
                        td { (r.flow_type.as_str()) }
                        td { (r.version) }
                        td { (r.created_at) }
                        td { (r.description.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }))
}

#[derive(serde::Deserialize)]
struct NamePath {
    name: String,
}

async fn template_view(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<NamePath>,
) -> ApiResult<Response> {
    let rows = state
        .store
        .template_versions(&p.name)
        .await?
        .ok_or_else(|| {
            crate::error::ApiError::NotFound(format!("no template named '{}'", p.name))
        })?;
    let diagram = templates(&state)
        .draw_svg(&p.name, |m| view_link("templates", m))
        .await;
    Ok(html_response(html! {
        h1 { "Template " (p.name) }
        h2 { "Diagram" }
        @match diagram {
            Ok(svg) => figure class="diagram" id="template-diagram" { (maud::PreEscaped(strip_prolog(&svg))) },
            Err(e) => p class="error" { "The template cannot be drawn: " (e) },
        }
        h2 { "Versions" }
        table {
            thead { tr { th { "Version" } th { "Type" } th { "Stored" } th { "Content hash" } } }
            tbody {
                @for r in rows.iter().rev() {
                    tr {
                        td { (r.version) }
                        td { (r.flow_type.as_str()) }
                        td { (r.created_at) }
                        td { code { (r.content_hash) } }
                    }
                }
            }
        }
    }))
}

/// An SVG document as an element to put inside HTML (without its XML declaration). The
/// SVG is the service's own rendering, whose texts maud escaped.
fn strip_prolog(svg: &str) -> &str {
    svg.find("<svg").map_or(svg, |i| &svg[i..])
}

async fn targets_view(State(state): State<AppState>) -> Response {
    html_response(html! {
        h1 { "Targets" }
        ul {
            @for t in &state.settings.targets {
                li { a href=(view_link("targets", &t.name)) { (t.name) } " — " (t.api_base_url) }
            }
        }
    })
}

#[derive(serde::Deserialize)]
struct TargetPath {
    target: String,
}

async fn target_view(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<TargetPath>,
) -> ApiResult<Response> {
    let (c, drift) = composition_with_drift(&state.store, &state.clients, &p.target).await?;
    let svg = super::cpu(&state, move || {
        render_svg(&c, &|f| Some(view_link("templates", &f.template)))
    })
    .await?;
    Ok(html_response(html! {
        h1 { "Target " (p.target) }
        h2 { "Composition" }
        figure class="diagram" id="composition-diagram" { (maud::PreEscaped(strip_prolog(&svg))) }
        h2 { "Drift" }
        p { "Checked " (drift.checked_at) "." }
        table {
            thead { tr { th { "Flow" } th { "Type" } th { "State" } th { "Recorded version" } th { "Org version" } th { "Checked out by" } } }
            tbody {
                @for f in &drift.flows {
                    tr class={ "drift-" (snake(f.state)) } {
                        td { (f.name) }
                        td { (f.flow_type.as_str()) }
                        td { (snake(f.state)) }
                        td { (f.recorded_version.as_deref().unwrap_or("")) }
                        td { (f.org_version.as_deref().unwrap_or("")) }
                        td { (f.locked_by.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }))
}

/// A value's JSON text without quotes (an enum's `snake_case` name).
fn snake<T: serde::Serialize>(v: T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

async fn jobs_view(State(state): State<AppState>) -> ApiResult<Response> {
    let rows = state
        .store
        .list_jobs(&JobFilter {
            status: None,
            target: None,
            before: None,
            limit: MAX_ROWS,
        })
        .await?;
    Ok(html_response(html! {
        h1 { "Jobs" }
        @if rows.is_empty() { p { "No jobs yet." } }
        table {
            thead { tr { th { "Job" } th { "Target" } th { "Status" } th { "Created" } th { "Description" } } }
            tbody {
                @for j in &rows {
                    tr {
                        td { a href=(view_link("jobs", &j.id)) { code { (j.id) } } }
                        td { (j.target) }
                        td class={ "status-" (j.status.as_str()) } { (j.status.as_str()) @if j.dry_run { " (dry run)" } }
                        td { (j.created_at) }
                        td { (j.description.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
    }))
}

#[derive(serde::Deserialize)]
struct JobPath {
    id: String,
}

async fn job_view(
    State(state): State<AppState>,
    ApiPath(p): ApiPath<JobPath>,
) -> ApiResult<Response> {
    let view = load_view(&state, &p.id).await?;
    Ok(html_response(job_markup(&view)))
}

fn job_markup(j: &JobView) -> Markup {
    let live =
        (!j.status.is_terminal()).then(|| format!("/v1/jobs/{}/events", path_segment(&j.id)));
    let refresh = format!("jobs/{}", path_segment(&j.id));
    let p = &j.progress;
    html! {
        section id="job" data-live=[live] data-refresh=(refresh) data-status=(j.status.as_str()) {
            h1 { "Job " code { (j.id) } }
            p {
                "Target " strong { (j.target) } ", status "
                strong id="job-status" class={ "status-" (j.status.as_str()) } { (j.status.as_str()) }
                @if j.dry_run { " (dry run)" }
            }
            p {
                progress id="job-progress" value=(p.done) max=(p.total.max(1)) {}
                " " span id="job-progress-text" { (p.done) " of " (p.total) " steps done" }
                " (" (p.succeeded) " succeeded, " (p.unchanged) " unchanged, " (p.failed) " failed, "
                (p.running) " running, " (p.pending) " pending)"
            }
            @if let Some(e) = &j.error { p class="error" { (e) } }
            table {
                thead { tr { th { "#" } th { "Flow" } th { "Type" } th { "Action" } th { "State" } th { "Published version" } th { "Error" } } }
                tbody {
                    @for s in j.steps.iter().flatten() {
                        tr {
                            td { (s.idx) }
                            td { (s.flow_name) }
                            td { (s.flow_type.as_str()) }
                            td { (s.action.as_str()) }
                            td class={ "state-" (s.state.as_str()) } { (s.state.as_str()) }
                            td { (s.published_version.as_deref().unwrap_or("")) }
                            td { @if let Some(e) = &s.error { (e.kind) ": " (e.message) } }
                        }
                    }
                }
            }
        }
    }
}
