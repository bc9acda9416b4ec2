//! The electronic social security card (电子社保卡, R-KM-2, D-16; API.md "The electronic social
//! security card"): activation, deactivation, and the holder's payment codes.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::Authed;
use crate::handlers::CardPath;
use crate::wire::{CardResponse, ts};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(post, path = "/cards/{card_no}/ecard", tag = "ecard", params(CardPath),
    description = "Activates the electronic card of a card whose social-security account is active (R-KM-2: activated before it can be scanned). The electronic card is a state of this card: loss, locks, the unit lock and a replacement reach it at the same moment. Clerk; a cardholder for their own card. Activating an active one changes nothing. Audited (`ecard.activate`).",
    responses((status = 201, body = CardResponse, description = "The card with `ecard.state` active"),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "not_activated (the social-security account is not active), card_replaced"),
        (status = 423, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn activate_ecard(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
) -> ApiResult<(StatusCode, Json<CardResponse>)> {
    let view = s.service.activate_ecard(&actor, &p.card_no).await?;
    Ok((
        StatusCode::CREATED,
        Json(CardResponse::new(view, actor.role)),
    ))
}

#[utoipa::path(delete, path = "/cards/{card_no}/ecard", tag = "ecard", params(CardPath),
    description = "Deactivates the electronic card (a lost phone) without touching the physical card: its unused payment codes stop working at once (422 invalid_code) and new ones are refused (409 not_activated) until it is activated again. Clerk; a cardholder for their own card. Audited (`ecard.deactivate`).",
    responses((status = 200, body = CardResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn deactivate_ecard(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
) -> ApiResult<Json<CardResponse>> {
    let view = s.service.deactivate_ecard(&actor, &p.card_no).await?;
    Ok(Json(CardResponse::new(view, actor.role)))
}

/// A single-use payment code for the holder's phone to show as a QR code.
#[derive(Serialize, ToSchema)]
pub struct EcardCodeResponse {
    /// At most 64 printable ASCII characters (54 today):
    /// `EC2.<nonce>.<number>.<expires>.<masked card>.<mac>`, authenticated with the city's
    /// `ecard` key. Pass it as `ecard_code` on `POST /purchases` or `POST /visits`. A payment
    /// with a code uses up the holder's older codes too (409 `code_used` for them).
    pub code: String,
    /// When it stops working (RFC 3339): the policy's `ecard.code_seconds` after it was made.
    pub expires_at: String,
}

#[utoipa::path(post, path = "/self/ecard/code", tag = "ecard",
    description = "A one-time payment code for the holder's current card (D-16): valid for the policy's `ecard.code_seconds` (60 s by default), used up only by a payment that succeeds; after a replacement it reaches the new card. The electronic card must be active (409 not_activated).",
    responses((status = 201, body = EcardCodeResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "not_activated; codes_exhausted once a card has made 2³² − 1 codes")),
    security(("bearer" = [])))]
pub async fn ecard_code(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<(StatusCode, Json<EcardCodeResponse>)> {
    let code = s.service.ecard_code(&actor).await?;
    Ok((
        StatusCode::CREATED,
        Json(EcardCodeResponse {
            code: code.code,
            expires_at: ts(code.expires_at),
        }),
    ))
}
