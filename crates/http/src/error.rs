//! Errors in the contract's shape: status plus `{"error": {"code", "message", …}}`.
//! Internal causes are logged here and never sent.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use shebao_service::ServiceError;
use shebao_service::store::StoreError;

/// Seconds a client waits before repeating a request the database could not take: about one
/// failover step of the cluster (CLUSTER.md: a new primary in 5-15 s).
const RETRY_AFTER_S: &str = "2";
use utoipa::ToSchema;

#[derive(Debug)]
pub struct ApiError(pub ServiceError);

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> Self {
        ApiError(e)
    }
}

/// The error envelope.
#[derive(Serialize, ToSchema)]
pub struct ErrorBody {
    pub error: ErrorDetail,
}

#[derive(Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable code: `invalid_id_number`, `invalid_password`, `weak_password`, `wrong_password`,
    /// `account_locked`, `not_activated`, `evidence_required`, `card_lost`, `filing_required`,
    /// `filing_too_late`, `forbidden`, `not_found`, `already_exists`, `too_many_attempts`,
    /// `old_card_mismatch`, `sms_mismatch`, the key system's `bad_mac`, `replayed` (401), `psam_required` (403), `card_auth_required`, `bad_card_auth`, `card_replayed` (422), `bad_request` (JSON, a path or a query string that
    /// does not parse), `method_not_allowed`, `too_large`, `unauthorized`, `unavailable` (503, with `Retry-After`), `internal`, and the
    /// field codes `invalid_*` (`invalid_amount`, `invalid_name`, `invalid_limit`, …).
    pub code: String,
    /// What went wrong, in English.
    pub message: String,
    /// The same in Chinese, where the message is for a cardholder (lock reasons, R-LK-5).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_zh: Option<String>,
    /// With `wrong_password`: tries left before the lock.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remaining_tries: Option<u32>,
    /// With `account_locked`: `password`, `employer_arrears` or `loss`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// With a financial `account_locked`: when it lifts (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<String>,
    /// With `too_many_attempts`: seconds to wait.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
    /// With `evidence_required`: what is missing, in the order checked: `evidence` (none was
    /// sent), `holder_id_checked`, `holder_in_person`, `agent_id_number`, `agent_is_holder`,
    /// `power_of_attorney`, `employer_letter`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub missing: Option<Vec<String>>,
}

pub fn error_response(status: StatusCode, code: &str, message: impl Into<String>) -> Response {
    let detail = ErrorDetail {
        code: code.to_owned(),
        message: message.into(),
        message_zh: None,
        remaining_tries: None,
        reason: None,
        locked_until: None,
        retry_after_s: None,
        missing: None,
    };
    (status, Json(ErrorBody { error: detail })).into_response()
}

/// An error answer that is not JSON yet (axum's own rejections: plain text or an empty body)
/// in the contract's shape, with the rejection's words as the message. JSON answers and
/// successes pass unchanged.
pub async fn json_errors(response: Response) -> Response {
    let status = response.status();
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if !(status.is_client_error() || status.is_server_error()) || is_json {
        return response;
    }
    let (parts, body) = response.into_parts();
    // A rejection's text is short; anything longer is cut, never streamed through.
    let text = axum::body::to_bytes(body, 1024)
        .await
        .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
        .unwrap_or_default();
    let message = if text.is_empty() {
        status.canonical_reason().unwrap_or("error").to_owned()
    } else {
        text
    };
    let code = match status {
        StatusCode::BAD_REQUEST => "bad_request",
        StatusCode::UNAUTHORIZED => "unauthorized",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::PAYLOAD_TOO_LARGE => "too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::UNPROCESSABLE_ENTITY => "invalid",
        StatusCode::TOO_MANY_REQUESTS => "too_many_attempts",
        s if s.is_server_error() => "internal",
        _ => "error",
    };
    let mut answer = error_response(status, code, message);
    // Keep what the rejection said about the request (e.g. `Allow` on a 405).
    for (name, value) in parts.headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            answer.headers_mut().insert(name.clone(), value.clone());
        }
    }
    answer
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let message = self.0.to_string();
        let mut detail = ErrorDetail {
            code: String::new(),
            message,
            message_zh: None,
            remaining_tries: None,
            reason: None,
            locked_until: None,
            retry_after_s: None,
            missing: None,
        };
        let status = match self.0 {
            ServiceError::Invalid { code, .. } => {
                detail.code = code.into();
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ServiceError::EvidenceRequired { missing } => {
                detail.code = "evidence_required".into();
                detail.missing = Some(missing.iter().map(|m| m.code().to_owned()).collect());
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ServiceError::WrongPassword { remaining_tries } => {
                detail.code = "wrong_password".into();
                detail.remaining_tries = remaining_tries;
                detail.message = match remaining_tries {
                    Some(0) => "the password is wrong; the account is now locked".into(),
                    Some(1) => "the password is wrong; 1 try left before the account locks".into(),
                    Some(n) => {
                        format!("the password is wrong; {n} tries left before the account locks")
                    }
                    None => "the password is wrong".into(),
                };
                StatusCode::UNPROCESSABLE_ENTITY
            }
            ServiceError::AccountLocked {
                reason,
                words,
                locked_until,
            } => {
                detail.code = "account_locked".into();
                detail.reason = Some(reason.as_str().into());
                detail.locked_until = locked_until.map(crate::wire::ts);
                detail.message = words.en.into();
                detail.message_zh = Some(words.zh.into());
                StatusCode::LOCKED
            }
            ServiceError::NotActivated(_) => {
                detail.code = "not_activated".into();
                StatusCode::CONFLICT
            }
            ServiceError::Conflict { code, .. } => {
                detail.code = code.into();
                StatusCode::CONFLICT
            }
            ServiceError::AlreadyExists(_) => {
                detail.code = "already_exists".into();
                StatusCode::CONFLICT
            }
            ServiceError::NotFound(_) => {
                detail.code = "not_found".into();
                StatusCode::NOT_FOUND
            }
            ServiceError::Forbidden { code, .. } => {
                detail.code = code.into();
                StatusCode::FORBIDDEN
            }
            ServiceError::Unauthorized(_) => {
                detail.code = "unauthorized".into();
                StatusCode::UNAUTHORIZED
            }
            ServiceError::TerminalAuth { code, .. } => {
                detail.code = code.into();
                StatusCode::UNAUTHORIZED
            }
            ServiceError::TooManyAttempts { retry_after_s } => {
                detail.code = "too_many_attempts".into();
                detail.retry_after_s = Some(retry_after_s);
                let mut response = (
                    StatusCode::TOO_MANY_REQUESTS,
                    Json(ErrorBody { error: detail }),
                )
                    .into_response();
                if let Ok(v) = HeaderValue::from_str(&retry_after_s.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
                return response;
            }
            // A database that cannot be reached or did not answer a commit in time (API.md
            // "Running on a cluster"); a stopping engine likewise. Never 500: the terminal
            // retries, and every money movement is idempotent by its client id.
            ServiceError::Store(e @ (StoreError::Unavailable(_) | StoreError::Stopped)) => {
                tracing::warn!(error = %e, "database unavailable");
                detail.code = "unavailable".into();
                detail.message = "the database is not answering; nothing was acknowledged. \
                    Repeat the request after Retry-After seconds (a payment with the same \
                    client_txn_id is never paid twice)"
                    .into();
                let mut response = (
                    StatusCode::SERVICE_UNAVAILABLE,
                    Json(ErrorBody { error: detail }),
                )
                    .into_response();
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static(RETRY_AFTER_S));
                return response;
            }
            ServiceError::Store(e) => {
                tracing::error!(error = %e, "storage failure");
                detail.code = "internal".into();
                detail.message = "the request could not be completed; nothing was changed".into();
                StatusCode::INTERNAL_SERVER_ERROR
            }
            ServiceError::Internal(e) => {
                tracing::error!(error = %e, "internal failure");
                detail.code = "internal".into();
                detail.message = "the request could not be completed; nothing was changed".into();
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        (status, Json(ErrorBody { error: detail })).into_response()
    }
}
