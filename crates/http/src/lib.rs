//! shebao's HTTP API: axum routes, the contract's error shape, and the OpenAPI document
//! served at `/api/v1/openapi.json` (built from the same handlers, so they cannot drift).

mod ecard;
mod error;
mod extract;
mod handlers;
mod loss;
mod money;
mod terminal;
mod wire;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use shebao_service::Service;
use std::sync::Arc;
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme,
};
use utoipa::{Modify, OpenApi};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// Requests larger than this are refused with 413 (STYLE 17).
pub const BODY_BYTES_MAX: usize = 64 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub service: Arc<Service>,
    /// Renders `GET /metrics` (the binary's Prometheus recorder).
    pub metrics: MetricsText,
}

/// Renders the server's metrics in the Prometheus text format (issue 16); the binary owns
/// the recorder, this crate only serves what it renders.
pub type MetricsText = Arc<dyn Fn() -> String + Send + Sync>;

#[derive(OpenApi)]
#[openapi(
    info(title = "shebao", description = "Social security card platform (社会保障卡): cards, the two accounts, passwords and lockout. Errors are `{\"error\": {\"code\", \"message\"}}`; money is integer fen; instants RFC 3339. While the database cannot confirm a write (a failover, a commit past its bound), the answer is 503 `unavailable` with `Retry-After`: the outcome is unknown, and the client repeats the request. Money movements are safe to repeat by their `client_txn_id`; the writes a repeat would do twice (`POST /employers`, `POST /employers/{id}/payments`, `POST /admin/actors`, the password changes, `PUT /self/query-password`) take an `Idempotency-Key` header."),
    modifiers(&BearerAuth),
    tags((name = "people"), (name = "cards"), (name = "passwords"), (name = "self-service"), (name = "loss"), (name = "calendar"), (name = "audit"), (name = "admin"), (name = "employers"), (name = "settlement"), (name = "ecard"), (name = "system"))
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        // R-KM-1 (API.md "Keys and terminals"): a terminal holding a PSAM sends its bearer
        // token with a rising counter and the request's MAC.
        components.add_security_scheme(
            "psam_counter",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                terminal::COUNTER_HEADER_NAME,
                "A PSAM terminal's request counter: decimal, no leading zero, 1 to 2^63-1, strictly above every counter the terminal used before (kept durably: a replay is refused after a restart too). Not above → 401 `replayed`.",
            ))),
        );
        components.add_security_scheme(
            "psam_mac",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                terminal::MAC_HEADER_NAME,
                "MAC(psam key, METHOD \"\\n\" PATH \"\\n\" COUNTER \"\\n\" BODY) as 8 upper-case hex digits: GB/T 15852.1 MAC algorithm 1 with SM4 (pad 80 00…, CBC with a zero IV, first 4 bytes of the last block); PATH from /api/v1 without the query string, BODY the raw body bytes. psam key = SM4-ECB(city psam key, D ‖ NOT D), D the BCD of the 16-digit psam_no. Missing or wrong → 401 `bad_mac`. Check value: psam_no 4506000000000001 under the city key AB884711C5437A68BFD552EE67F15BB0, `POST\\n/api/v1/purchases\\n1\\n{}` → A58F9B2C.",
            ))),
        );
    }
}

/// The API routes (under `/api/v1`) and the OpenAPI document describing them.
pub fn api() -> (Router<AppState>, utoipa::openapi::OpenApi) {
    use handlers::*;
    let (router, mut doc) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health))
        .routes(routes!(ready))
        .routes(routes!(metrics))
        .routes(routes!(create_actor, list_actors))
        .routes(routes!(revoke_actor))
        .routes(routes!(move_clock))
        .routes(routes!(register_person))
        .routes(routes!(get_person))
        .routes(routes!(create_employer))
        .routes(routes!(issue_card))
        .routes(routes!(get_card))
        .routes(routes!(activate))
        .routes(routes!(sms_inbound))
        .routes(routes!(verify_ss))
        .routes(routes!(change_ss, disable_ss))
        .routes(routes!(reset_ss))
        .routes(routes!(verify_fin))
        .routes(routes!(change_fin))
        .routes(routes!(reset_fin))
        .routes(routes!(ledger))
        .routes(routes!(login))
        .routes(routes!(change_query_password))
        .routes(routes!(logout))
        .routes(routes!(reset_query_password))
        .routes(routes!(self_info))
        .routes(routes!(own_audit))
        .routes(routes!(contributions))
        .routes(routes!(audit))
        .routes(routes!(loss::report_loss, loss::release_loss))
        .routes(routes!(loss::hotline_pre_loss))
        .routes(routes!(loss::apply_replacement))
        .routes(routes!(loss::collect_card))
        .routes(routes!(loss::report_fin_loss, loss::release_fin_loss))
        .routes(routes!(loss::transfer))
        .routes(routes!(loss::calendar))
        .routes(routes!(loss::load_calendar))
        .routes(routes!(money::get_employer))
        .routes(routes!(money::card_applications))
        .routes(routes!(money::record_payment))
        .routes(routes!(money::submit_receipts))
        .routes(routes!(money::run_job))
        .routes(routes!(money::last_job))
        .routes(routes!(money::purchase))
        .routes(routes!(money::visit))
        .routes(routes!(money::file))
        .routes(routes!(ecard::activate_ecard, ecard::deactivate_ecard))
        .routes(routes!(ecard::ecard_code))
        .split_for_parts();
    doc.servers = Some(vec![utoipa::openapi::Server::new("/api/v1")]);
    psam_alternatives(&mut doc);
    (router, doc)
}

/// R-KM-1: every operation a bearer token may call, a PSAM terminal calls with its two
/// headers too; each operation's security lists that alternative.
fn psam_alternatives(openapi: &mut utoipa::openapi::OpenApi) {
    let psam = SecurityRequirement::new("bearer", Vec::<String>::new())
        .add("psam_counter", Vec::<String>::new())
        .add("psam_mac", Vec::<String>::new());
    for item in openapi.paths.paths.values_mut() {
        for op in [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .flatten()
        {
            if let Some(security) = op.security.as_mut().filter(|s| !s.is_empty()) {
                security.push(psam.clone());
            }
        }
    }
}

/// The whole application: `/api/v1/…`, the OpenAPI document, and `/health`, `/ready` and
/// `/metrics` at the root too (where load balancers and Prometheus look for them).
pub fn app(service: Arc<Service>, metrics: MetricsText) -> Router {
    let (api, doc) = api();
    let doc = Arc::new(doc);
    let api = api.route(
        "/openapi.json",
        get(move || {
            let doc = doc.clone();
            async move { Json(doc.as_ref().clone()) }
        }),
    );
    let state = AppState { service, metrics };
    Router::new()
        .nest("/api/v1", api)
        .route("/health", get(handlers::health))
        .route("/ready", get(handlers::ready))
        .route("/metrics", get(handlers::metrics))
        .fallback(|| async {
            error::error_response(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
                .into_response()
        })
        .layer(DefaultBodyLimit::max(BODY_BYTES_MAX))
        // Before any handler: a PSAM terminal's request MAC and counter (R-KM-1).
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            terminal::gate,
        ))
        .layer(axum::middleware::from_fn(api_answers))
        .with_state(state)
}

/// Every answer under `/api/v1` carries `Cache-Control: no-store` (tokens, balances and
/// personal data must not sit in a cache), and every error answer has the contract's JSON
/// shape, axum's own rejections included: a path or query string that does not parse (400),
/// a method the route does not take (405), an unsupported media type (415).
async fn api_answers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let api = request.uri().path().starts_with("/api/v1");
    let response = next.run(request).await;
    if !api {
        return response;
    }
    let mut response = error::json_errors(response).await;
    response.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    response
}

/// The OpenAPI document as JSON text (for `shebao openapi`).
pub fn openapi_json() -> String {
    let (_, mut doc) = api();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.to_pretty_json().unwrap_or_default()
}
