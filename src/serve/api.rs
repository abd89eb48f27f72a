//! The HTTP routes: the JSON API, the health check and the embedded web page.
//!
//! Every error is a JSON object `{"error": "..."}` with a 4xx status: 400 for a body that is not
//! JSON, 413 for a body or batch over the limits, 415 for a body not sent as JSON, 422 for JSON
//! of the wrong shape, 404 for an unknown path and 405 for a known path with another method.

use super::state::{LoadedRules, RulesState};
use super::Limits;
use crate::verdict::Report;
use crate::Ticket;
use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, Query, Request, State};
use axum::http::{header, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What every handler shares.
#[derive(Debug)]
pub(crate) struct App {
    pub rules: Arc<RulesState>,
    pub limits: Limits,
    /// Slots for work on the blocking pool (batches, long tickets): one per core. A batch
    /// takes its slot before its body is read, so waiting batches hold no memory.
    pub heavy: tokio::sync::Semaphore,
}

impl App {
    pub(crate) fn new(rules: Arc<RulesState>, limits: Limits) -> Self {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        App {
            rules,
            limits,
            heavy: tokio::sync::Semaphore::new(cores),
        }
    }
}

/// Builds the service's routes.
pub(crate) fn router(app: Arc<App>) -> Router {
    let limits = app.limits;
    Router::new()
        .route("/", get(page::index))
        .route("/assets/app.js", get(page::script))
        .route("/assets/app.css", get(page::style))
        .route("/healthz", get(healthz))
        .route("/v1/rules", get(rules))
        .route(
            "/v1/classify",
            post(classify).layer(DefaultBodyLimit::max(limits.body_bytes)),
        )
        .route(
            "/v1/classify/batch",
            post(classify_batch).layer(DefaultBodyLimit::max(limits.batch_body_bytes)),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

/// A request's ticket: the body of `POST /v1/classify`, one element of a batch. Only a JSON
/// object is accepted (serde would otherwise also take `["subject", "description"]`), with a
/// `description` and an optional `subject`, and no other key: a misspelt key is an error, not a
/// silently empty field.
#[derive(Debug)]
pub struct TicketRequest {
    pub subject: String,
    pub description: String,
}

impl<'de> Deserialize<'de> for TicketRequest {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Fields {
            #[serde(default)]
            subject: String,
            description: String,
        }
        struct ObjectOnly;
        impl<'de> serde::de::Visitor<'de> for ObjectOnly {
            type Value = TicketRequest;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(r#"a ticket object {"subject": "...", "description": "..."}"#)
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                let f = Fields::deserialize(serde::de::value::MapAccessDeserializer::new(map))?;
                Ok(TicketRequest {
                    subject: f.subject,
                    description: f.description,
                })
            }
        }
        deserializer.deserialize_map(ObjectOnly)
    }
}

impl TicketRequest {
    fn ticket(&self) -> Ticket<'_> {
        Ticket::new(&self.subject, &self.description)
    }
    fn len(&self) -> usize {
        self.subject.len() + self.description.len()
    }
}

/// An error answer: `{"error": message}` with a status.
#[derive(Debug)]
pub(crate) struct ApiError {
    status: StatusCode,
    message: String,
}

impl ApiError {
    fn new(status: StatusCode, message: impl Into<String>) -> Self {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl ApiError {
    /// A body axum could not take as JSON: 400 not JSON, 413 over the size limit, 415 not sent
    /// as JSON, 422 JSON of the wrong shape (its message names the serde error and position).
    fn body(rejection: JsonRejection, limit: usize) -> Self {
        let status = rejection.status();
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(
                status,
                format!("request body is larger than the limit of {limit} bytes"),
            );
        }
        ApiError::new(status, rejection.body_text())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body<'a> {
            error: &'a str,
        }
        json_response(
            self.status,
            &Body {
                error: &self.message,
            },
        )
    }
}

/// Serialises `value` as the response body.
fn json_response(status: StatusCode, value: &impl Serialize) -> Response {
    let mut body = Vec::with_capacity(4096);
    match serde_json::to_writer(&mut body, value) {
        Ok(()) => (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            body,
        )
            .into_response(),
        // Reports hold only strings, numbers and booleans: this does not happen, but if it did
        // the client gets an answer rather than a dropped connection.
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            format!(r#"{{"error":"cannot serialise the answer: {e}"}}"#),
        )
            .into_response(),
    }
}

/// The query of `POST /v1/classify`: `?explain=true` adds the rules an exclusion stopped (the
/// `triage check --explain --json` key `vetoed`). An unknown parameter is an error.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ClassifyOptions {
    #[serde(default)]
    explain: bool,
}

/// The answer to one ticket: its verdict, explained when asked.
fn verdict_response(loaded: &LoadedRules, request: &TicketRequest, explain: bool) -> Response {
    if explain {
        let ticket = request.ticket();
        let explanation = loaded.rules.explain(&ticket);
        json_response(StatusCode::OK, &explanation.report(&loaded.rules, &ticket))
    } else {
        json_response(StatusCode::OK, &report(loaded, request))
    }
}

fn report<'r>(loaded: &'r LoadedRules, request: &TicketRequest) -> Report<'r> {
    let ticket = request.ticket();
    loaded
        .rules
        .classify(&ticket)
        .report(&loaded.rules, &ticket)
}

/// Runs blocking work on the blocking pool; a panic there becomes a 500, not a lost connection.
async fn blocking(work: impl FnOnce() -> Response + Send + 'static) -> Response {
    tokio::task::spawn_blocking(work).await.unwrap_or_else(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error while classifying",
        )
        .into_response()
    })
}

/// `POST /v1/classify`: one ticket in, its verdict out (the `triage check --json` schema).
async fn classify(
    State(app): State<Arc<App>>,
    options: Result<Query<ClassifyOptions>, QueryRejection>,
    body: Result<Json<TicketRequest>, JsonRejection>,
) -> Response {
    let explain = match options {
        Ok(Query(o)) => o.explain,
        Err(e) => {
            return ApiError::new(StatusCode::BAD_REQUEST, format!("query: {}", e.body_text()))
                .into_response()
        }
    };
    let Json(request) = match body {
        Ok(b) => b,
        Err(e) => return ApiError::body(e, app.limits.body_bytes).into_response(),
    };
    // A typical ticket takes microseconds: classifying it on the async worker is cheaper than a
    // hand-off to the blocking pool. Long texts go there so they do not stall other requests.
    if request.len() <= app.limits.inline_bytes {
        let loaded = app.rules.peek();
        verdict_response(&loaded, &request, explain)
    } else {
        let Ok(_slot) = app.heavy.acquire().await else {
            return shutting_down();
        };
        let loaded = app.rules.current();
        blocking(move || verdict_response(&loaded, &request, explain)).await
    }
}

/// `POST /v1/classify/batch`: an array of tickets in, an array of verdicts out, in order.
async fn classify_batch(State(app): State<Arc<App>>, request: Request) -> Response {
    let Ok(_slot) = app.heavy.acquire().await else {
        return shutting_down();
    };
    let body = Json::<Vec<TicketRequest>>::from_request(request, &()).await;
    let Json(requests) = match body {
        Ok(b) => b,
        Err(e) => return ApiError::body(e, app.limits.batch_body_bytes).into_response(),
    };
    if requests.len() > app.limits.batch_tickets {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "a batch holds at most {} tickets; this one has {}",
                app.limits.batch_tickets,
                requests.len()
            ),
        )
        .into_response();
    }
    let loaded = app.rules.current();
    blocking(move || {
        let reports: Vec<Report<'_>> = requests.iter().map(|r| report(&loaded, r)).collect();
        json_response(StatusCode::OK, &reports)
    })
    .await
}

#[derive(Serialize)]
struct RuleSetId<'a> {
    name: &'a str,
    version: &'a str,
    hash: &'a str,
}

/// `GET /healthz`: the service answers, and which rules it answers with.
async fn healthz(State(app): State<Arc<App>>) -> Response {
    #[derive(Serialize)]
    struct Health<'a> {
        status: &'a str,
        rule_set: RuleSetId<'a>,
    }
    let loaded = app.rules.peek();
    json_response(
        StatusCode::OK,
        &Health {
            status: "ok",
            rule_set: RuleSetId {
                name: &loaded.rules.name,
                version: &loaded.rules.version,
                hash: &loaded.hash,
            },
        },
    )
}

/// `GET /v1/rules`: the live rule set: identity, labels, categories in precedence order.
async fn rules(State(app): State<Arc<App>>) -> Response {
    #[derive(Serialize)]
    struct Category<'a> {
        name: &'a str,
        label: &'a str,
        tier: usize,
        description: &'a str,
    }
    #[derive(Serialize)]
    struct Rules<'a> {
        name: &'a str,
        version: &'a str,
        hash: &'a str,
        generation: u64,
        source: String,
        labels: &'a [String],
        default_label: &'a str,
        categories: Vec<Category<'a>>,
        rule_count: usize,
        last_reload_error: Option<String>,
    }
    let loaded = app.rules.current();
    let r = &loaded.rules;
    let body = Rules {
        name: &r.name,
        version: &r.version,
        hash: &loaded.hash,
        generation: loaded.generation,
        source: app
            .rules
            .dir()
            .map_or_else(|| "embedded".to_owned(), |d| d.display().to_string()),
        labels: &r.labels,
        default_label: r.label(r.default_label),
        categories: r
            .categories_in_precedence()
            .map(|id| {
                let c = r.category(id);
                Category {
                    name: &c.name,
                    label: r.label(c.label),
                    tier: c.tier,
                    description: &c.description,
                }
            })
            .collect(),
        rule_count: r.rules.len(),
        last_reload_error: app.rules.last_error(),
    };
    json_response(StatusCode::OK, &body)
}

/// The semaphore is never closed; should that change, the client hears why.
fn shutting_down() -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "the service is shutting down",
    )
    .into_response()
}

async fn not_found(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        format!("no such endpoint: {method} {}", uri.path()),
    )
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{} does not answer {method}", uri.path()),
    )
}

/// The web page: static files compiled into the binary.
mod page {
    use axum::http::{header, HeaderName};
    use axum::response::IntoResponse;

    const INDEX: &str = include_str!("page/index.html");
    const SCRIPT: &str = include_str!("page/app.js");
    const STYLE: &str = include_str!("page/app.css");

    /// Only this origin's script and style run on the page; no inline code, no other hosts.
    const POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; \
        connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; \
        frame-ancestors 'none'";

    fn headers(content_type: &'static str) -> [(HeaderName, &'static str); 4] {
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            (header::CONTENT_SECURITY_POLICY, POLICY),
        ]
    }

    pub(super) async fn index() -> impl IntoResponse {
        (headers("text/html; charset=utf-8"), INDEX)
    }
    pub(super) async fn script() -> impl IntoResponse {
        (headers("text/javascript; charset=utf-8"), SCRIPT)
    }
    pub(super) async fn style() -> impl IntoResponse {
        (headers("text/css; charset=utf-8"), STYLE)
    }
}
