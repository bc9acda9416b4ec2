//! Request extractors: the bearer token's actor, and JSON bodies that answer 400 in the
//! contract's shape.

use crate::AppState;
use crate::error::{ApiError, error_response};
use crate::terminal::{Gated, bearer};
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use shebao_service::ServiceError;
use shebao_service::model::Actor;
use shebao_service::request_key::RequestKey;

/// Password fields of request bodies (zeroized, masked): the service's one `Secret`, which the
/// console's forms use too.
pub use shebao_service::secret::Secret;

/// The caller, from `Authorization: Bearer <token>`.
pub struct Authed(pub Actor);

/// The paths (inside `/api/v1`, which nesting strips) a cardholder with the initial query
/// password may use (R-PW-8).
const ALLOWED_BEFORE_CHANGE: [&str; 3] = ["/self/query-password", "/self", "/self/logout"];

impl FromRequestParts<AppState> for Authed {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        // The PSAM gate authenticated the caller already (and verified a PSAM terminal's
        // request); a PSAM terminal that did not pass it is never let through.
        let actor = match parts.extensions.get::<Gated>() {
            Some(Gated(actor)) => actor.clone(),
            None => {
                let Some(token) = bearer(&parts.headers) else {
                    return Err(error_response(
                        StatusCode::UNAUTHORIZED,
                        "unauthorized",
                        "send Authorization: Bearer <token>",
                    ));
                };
                let actor = state
                    .service
                    .authenticate(token)
                    .await
                    .map_err(|e| ApiError(e).into_response())?;
                if actor.psam.is_some() {
                    return Err(ApiError(ServiceError::bad_mac(
                        "a PSAM terminal's request is verified before it is served",
                    ))
                    .into_response());
                }
                state
                    .service
                    .check_terminal_standing(&actor)
                    .map_err(|e| ApiError(e).into_response())?;
                actor
            }
        };
        if actor.must_change_password && !ALLOWED_BEFORE_CHANGE.contains(&parts.uri.path()) {
            return Err(ApiError(ServiceError::Forbidden {
                code: "password_change_required",
                message: "change the initial query password first: PUT /api/v1/self/query-password"
                    .into(),
            })
            .into_response());
        }
        Ok(Authed(actor))
    }
}

/// A JSON body. Any content type is read as JSON; an empty body is `{}`. JSON that does not
/// parse, or a required field missing or of the wrong JSON type, is 400 `bad_request`.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = Response;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(req, state).await.map_err(|e| {
            let status = e.status();
            error_response(
                status,
                if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "too_large"
                } else {
                    "bad_request"
                },
                e.body_text(),
            )
        })?;
        let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        serde_json::from_slice(bytes).map(JsonBody).map_err(|e| {
            error_response(
                StatusCode::BAD_REQUEST,
                "bad_request",
                format!("the body is not the expected JSON: {e}"),
            )
        })
    }
}

/// The optional `Idempotency-Key` header of a write whose repeat would otherwise do it again
/// (issue 16; `shebao_service::request_key`). Empty, longer than 64 characters or not
/// printable ASCII → 422 `invalid_idempotency_key`.
pub struct IdempotencyKey(pub Option<RequestKey>);

/// The header's name, and its description in the OpenAPI document.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

impl<S: Send + Sync> FromRequestParts<S> for IdempotencyKey {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(IDEMPOTENCY_KEY) else {
            return Ok(IdempotencyKey(None));
        };
        let text = value.to_str().unwrap_or("\u{0}");
        RequestKey::parse(text)
            .map(|k| IdempotencyKey(Some(k)))
            .map_err(|e| ApiError(e).into_response())
    }
}
