//! The PSAM gate (R-KM-1, API.md "Keys and terminals"): every request of a terminal that holds
//! a PSAM is verified before its handler runs — the MAC over method, path, counter and body —
//! and its counter is claimed for the request. The claim is taken in the same transaction as
//! the request's first write (the service's `terminal` module), or, for a request that wrote
//! nothing, on its own after the handler: either way a replay is refused, after a restart too,
//! and a refused request changes nothing.

use crate::error::{ApiError, error_response};
use crate::{AppState, BODY_BYTES_MAX};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use shebao_service::ServiceError;
use shebao_service::claim::TerminalClaim;
use shebao_service::model::Actor;

/// The headers a PSAM terminal sends (matched case-insensitively, as HTTP does).
pub const COUNTER_HEADER: &str = "x-terminal-counter";
pub const MAC_HEADER: &str = "x-terminal-mac";
/// The same as the contract spells them.
pub const COUNTER_HEADER_NAME: &str = "X-Terminal-Counter";
pub const MAC_HEADER_NAME: &str = "X-Terminal-MAC";

/// The actor the gate authenticated (and, for a PSAM terminal, verified), for `Authed`.
#[derive(Clone)]
pub(crate) struct Gated(pub Actor);

pub(crate) fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| h.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
}

pub(crate) async fn gate(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if !request.uri().path().starts_with("/api/v1/") {
        return next.run(request).await;
    }
    let Some(token) = bearer(request.headers()) else {
        return next.run(request).await;
    };
    // A bad token is the extractor's to answer (401), as for any route.
    let Ok(actor) = state.service.authenticate(token).await else {
        return next.run(request).await;
    };
    if let Err(e) = state.service.check_terminal_standing(&actor) {
        return ApiError(e).into_response();
    }
    if actor.psam.is_none() {
        let mut request = request;
        request.extensions_mut().insert(Gated(actor));
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let (Some(counter), Some(mac)) = (
        header_text(&parts.headers, COUNTER_HEADER),
        header_text(&parts.headers, MAC_HEADER),
    ) else {
        return ApiError(ServiceError::bad_mac(
            "a PSAM terminal sends X-Terminal-Counter and X-Terminal-MAC with every request",
        ))
        .into_response();
    };
    let body = match axum::body::to_bytes(body, BODY_BYTES_MAX).await {
        Ok(bytes) => bytes,
        Err(_) => {
            return error_response(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too_large",
                format!("a request body is at most {BODY_BYTES_MAX} bytes"),
            );
        }
    };
    let claim = match state.service.verify_terminal_request(
        &actor,
        parts.method.as_str(),
        parts.uri.path(),
        counter,
        &body,
        mac,
    ) {
        Ok(claim) => claim,
        Err(e) => return ApiError(e).into_response(),
    };
    let mut request = Request::from_parts(parts, Body::from(body));
    request.extensions_mut().insert(Gated(actor));
    let response = TerminalClaim::scope(claim.clone(), next.run(request)).await;
    if claim.is_taken() {
        return response;
    }
    // Nothing the request did wrote (a read, or a refusal before any write): its counter is
    // taken on its own, and a replay's answer is withheld.
    match state.service.take_terminal_counter(&claim).await {
        Ok(()) => response,
        Err(e) => ApiError(e).into_response(),
    }
}

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
