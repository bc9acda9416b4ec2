//! The service-window console, the supervisor dashboard and the cardholder portal: HTML
//! pages rendered on the server (askama templates, compile-checked), served by the same axum
//! server as the API. Every page calls the same `shebao_service::Service` methods as the JSON
//! API: no rule is implemented twice. Only this crate (and `http` for JSON) knows the wire.
//!
//! - `/console/…` — window clerks (log in with the clerk's actor token): people and cards,
//!   employers (arrears, unit lock, tax receipts, bulk card applications), the dashboard, and
//!   the terminals with their PSAMs, each revocable (R-KM-1).
//! - `/portal/…` — cardholders (ID number and query password, R-PW-8); out-of-area filings
//!   (R-MS-3); the contribution record (R-CR-2) and the holder's own trail (R-PW-9); the
//!   electronic card and its payment code as a QR image drawn on the server (R-KM-2, D-16).
//! - `/assets/…` — pico CSS and htmx, vendored from npm and embedded in the binary.

mod assets;
mod board;
mod clerk;
mod employers;
mod extract;
mod i18n;
mod page;
mod portal;
mod qr;
mod session;
mod templates;
mod terminals;

pub use i18n::{Lang, Tr};

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::response::Redirect;
use axum::routing::{get, post};
use session::Sessions;
use shebao_service::Service;
use std::sync::Arc;

/// How the console is served.
#[derive(Debug, Clone, Copy)]
pub struct ConsoleOptions {
    /// Mark cookies `Secure` (the default: the console is meant to sit behind TLS). Turn off
    /// only for plain-HTTP demos on another host; browsers accept `Secure` cookies on
    /// `http://127.0.0.1` and `http://localhost` anyway.
    pub cookie_secure: bool,
}

impl Default for ConsoleOptions {
    fn default() -> Self {
        ConsoleOptions {
            cookie_secure: true,
        }
    }
}

/// Form bodies are small: a few fields.
const FORM_BYTES_MAX: usize = 16 * 1024;

#[derive(Clone)]
pub(crate) struct Console {
    pub service: Arc<Service>,
    pub sessions: Arc<Sessions>,
    pub options: ConsoleOptions,
}

/// The console's routes, to merge into the server's router.
pub fn router(service: Arc<Service>, options: ConsoleOptions) -> Router {
    let state = Console {
        sessions: Arc::new(Sessions::new(service.clone())),
        service,
        options,
    };
    Router::new()
        .route("/", get(|| async { Redirect::to("/console/login") }))
        .route(
            "/console",
            get(|| async { Redirect::to("/console/search") }),
        )
        .route("/console/login", get(clerk::login_page).post(clerk::login))
        .route("/console/logout", post(clerk::logout))
        .route("/console/search", get(clerk::search))
        .route("/console/cards/{card_no}", get(clerk::card_page))
        .route("/console/cards/{card_no}/reset", post(clerk::reset))
        .route("/console/cards/{card_no}/disable", post(clerk::disable))
        .route("/console/cards/{card_no}/activate", post(clerk::activate))
        .route("/console/cards/{card_no}/loss", post(clerk::report_loss))
        .route("/console/cards/{card_no}/release", post(clerk::release))
        .route(
            "/console/cards/{card_no}/replacement",
            post(clerk::replacement),
        )
        .route("/console/cards/{card_no}/collect", post(clerk::collect))
        .route("/console/cards/{card_no}/filing", post(clerk::file))
        .route(
            "/console/cards/{card_no}/ecard/activate",
            post(clerk::activate_ecard),
        )
        .route(
            "/console/cards/{card_no}/ecard/deactivate",
            post(clerk::deactivate_ecard),
        )
        .route("/console/employers", get(employers::find))
        .route("/console/employers/{id}", get(employers::employer_page))
        .route(
            "/console/employers/{id}/receipts",
            post(employers::receipts),
        )
        .route("/console/employers/{id}/payments", post(employers::payment))
        .route(
            "/console/employers/{id}/card-applications",
            post(employers::apply_for_cards),
        )
        .route("/console/dashboard", get(board::dashboard))
        .route("/console/dashboard/chart", get(board::chart))
        .route("/console/terminals", get(terminals::list))
        .route("/console/terminals/{id}/revoke", post(terminals::revoke))
        .route("/portal", get(|| async { Redirect::to("/portal/home") }))
        .route("/portal/login", get(portal::login_page).post(portal::login))
        .route("/portal/logout", post(portal::logout))
        .route(
            "/portal/password",
            get(portal::password_page).post(portal::change_password),
        )
        .route("/portal/home", get(portal::home))
        .route("/portal/contributions", get(portal::contributions))
        .route("/portal/trail", get(portal::trail))
        .route("/portal/loss", post(portal::report_loss))
        .route("/portal/filing", post(portal::file))
        .route("/portal/ecard", get(portal::ecard))
        .route("/portal/ecard/activate", post(portal::activate_ecard))
        .route("/portal/ecard/deactivate", post(portal::deactivate_ecard))
        .route("/lang/{code}", get(page::switch_language))
        .route("/assets/{name}", get(assets::serve))
        .layer(DefaultBodyLimit::max(FORM_BYTES_MAX))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state)
}

/// Pages are private and never framed; assets are cached for long (their names carry the
/// version).
async fn security_headers(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let is_asset = request.uri().path().starts_with("/assets/");
    let mut response = next.run(request).await;
    let h = response.headers_mut();
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    // Scripts only from this server (htmx, no inline script); pico's icons are data: URIs.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; \
             frame-ancestors 'none'; form-action 'self'",
        ),
    );
    if !is_asset {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}
