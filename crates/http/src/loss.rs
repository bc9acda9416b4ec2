//! Handlers for loss, release, replacement, collection, transfer and the working-day calendar.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Authed, JsonBody};
use crate::handlers::CardPath;
use crate::wire::*;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use shebao_service::model::Actor;

type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(post, path = "/cards/{card_no}/loss", tag = "loss", params(CardPath), request_body = LossRequest,
    description = "Reports the card lost (R-LS-1..4). `pre`: hotline, window (in writing) or self-service terminal; lapses by itself after the policy's days. `temporary`: window, medical institution or online (the holder's own session); stops social-security functions until released. `formal`: clerk with evidence; final, the way on is a replacement. While a loss is in force, verify, purchase and activation answer 423 `account_locked` with reason `loss`.",
    responses((status = 200, body = CardResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "already_reported, card_replaced"),
        (status = 422, body = ErrorBody, description = "invalid_kind, invalid_channel, evidence_required")),
    security(("bearer" = [])))]
pub async fn report_loss(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<LossRequest>,
) -> ApiResult<Json<CardResponse>> {
    let view = s
        .service
        .report_loss(
            &actor,
            &p.card_no,
            &req.kind,
            req.channel.as_deref(),
            evidence(req.evidence)?,
        )
        .await?;
    Ok(Json(CardResponse::new(view, actor.role)))
}

#[utoipa::path(delete, path = "/cards/{card_no}/loss", tag = "loss", params(CardPath), request_body = EvidenceRequest,
    description = "Releases a pre- or temporary loss at a window: the card was found before a replacement was made (R-LS-2). A formal loss cannot be released (409 `formal_loss`).",
    responses((status = 200, body = CardResponse), (status = 409, body = ErrorBody, description = "formal_loss, not_lost, card_replaced"),
        (status = 422, body = ErrorBody, description = "evidence_required")),
    security(("bearer" = [])))]
pub async fn release_loss(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<EvidenceRequest>,
) -> ApiResult<Json<CardResponse>> {
    let view = s
        .service
        .release_loss(&actor, &p.card_no, evidence(req.evidence)?)
        .await?;
    Ok(Json(CardResponse::new(view, actor.role)))
}

#[utoipa::path(post, path = "/hotline/pre-loss", tag = "loss", request_body = HotlinePreLossRequest,
    description = "The phone hotline pre-reports the caller's card lost with only the ID number (= social security number), never a password (R-LS-1, R-LS-4).",
    responses((status = 200, body = CardResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "invalid_id_number")),
    security(("bearer" = [])))]
pub async fn hotline_pre_loss(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<HotlinePreLossRequest>,
) -> ApiResult<Json<CardResponse>> {
    let view = s.service.hotline_pre_loss(&actor, &req.id_number).await?;
    Ok(Json(CardResponse::new(view, actor.role)))
}

#[utoipa::path(post, path = "/cards/{card_no}/replacement", tag = "loss", params(CardPath), request_body = ReplacementRequest,
    description = "Applies for a replacement card (R-LS-3, R-LS-5, R-AC-3, R-ID-2, D-10). For `lost` the formal loss is recorded with it. The old card is dead at once; the new card carries the person, balance, password state and ledger, is ready on the policy's N-th working day after today (Chinese holiday calendar with make-up days), is collected with ID and then activated as usual.",
    responses((status = 201, body = ReplacementResponse), (status = 409, body = ErrorBody, description = "card_replaced, calendar_missing"),
        (status = 422, body = ErrorBody, description = "invalid_reason, evidence_required")),
    security(("bearer" = [])))]
pub async fn apply_replacement(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<ReplacementRequest>,
) -> ApiResult<(StatusCode, Json<ReplacementResponse>)> {
    let issued = s
        .service
        .apply_replacement(&actor, &p.card_no, &req.reason, evidence(req.evidence)?)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(ReplacementResponse {
            old_card_no: issued.old_card_no,
            new_card_no: issued.new_card_no,
            ready_on: issued.ready_on.to_string(),
            fee_fen: issued.fee.0,
        }),
    ))
}

#[utoipa::path(post, path = "/cards/{card_no}/collection", tag = "loss", params(CardPath), request_body = EvidenceRequest,
    description = "The holder collects a replacement card with ID from its `ready_on` day (R-LS-5). Until then the new card cannot be activated (409 `not_collected`).",
    responses((status = 200, body = CardResponse), (status = 409, body = ErrorBody, description = "not_ready, already_collected, not_a_replacement"),
        (status = 422, body = ErrorBody, description = "evidence_required")),
    security(("bearer" = [])))]
pub async fn collect_card(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<EvidenceRequest>,
) -> ApiResult<Json<CardResponse>> {
    let view = s
        .service
        .collect_card(&actor, &p.card_no, evidence(req.evidence)?)
        .await?;
    Ok(Json(CardResponse::new(view, actor.role)))
}

#[utoipa::path(post, path = "/cards/{card_no}/fin-loss", tag = "loss", params(CardPath),
    description = "The bank records the loss of the financial account under its own rules (R-LS-6). The social-security account is untouched.",
    responses((status = 200, body = CardResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn report_fin_loss(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
) -> ApiResult<Json<CardResponse>> {
    fin_loss(s, actor, p, true).await
}

#[utoipa::path(delete, path = "/cards/{card_no}/fin-loss", tag = "loss", params(CardPath),
    description = "The bank lifts its loss of the financial account (R-LS-6).",
    responses((status = 200, body = CardResponse), (status = 409, body = ErrorBody)), security(("bearer" = [])))]
pub async fn release_fin_loss(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
) -> ApiResult<Json<CardResponse>> {
    fin_loss(s, actor, p, false).await
}

async fn fin_loss(
    s: AppState,
    actor: Actor,
    p: CardPath,
    lost: bool,
) -> ApiResult<Json<CardResponse>> {
    let view = s.service.set_fin_loss(&actor, &p.card_no, lost).await?;
    Ok(Json(CardResponse::new(view, actor.role)))
}

#[utoipa::path(post, path = "/persons/{id_number}/transfer", tag = "people", params(("id_number" = String, Path)), request_body = TransferRequest,
    description = "Moves a person's insurance to another region within the city: the card stays and keeps working (R-ACT-6).",
    responses((status = 200, body = PersonResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn transfer(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(id_number): Path<String>,
    JsonBody(req): JsonBody<TransferRequest>,
) -> ApiResult<Json<PersonResponse>> {
    let view = s
        .service
        .transfer_person(&actor, &id_number, &req.region)
        .await?;
    Ok(Json(PersonResponse::new(view, actor.role)))
}

#[utoipa::path(get, path = "/calendar", tag = "calendar",
    description = "The years the working-day calendar covers (the shipped 2005-2026 arrangement plus any loaded year).",
    responses((status = 200, body = CalendarResponse)), security(("bearer" = [])))]
pub async fn calendar(
    State(s): State<AppState>,
    Authed(_actor): Authed,
) -> ApiResult<Json<CalendarResponse>> {
    Ok(Json(CalendarResponse {
        years: s.service.calendar().years().collect(),
        loaded: Vec::new(),
    }))
}

#[utoipa::path(post, path = "/admin/calendar", tag = "calendar", request_body = CalendarLoadRequest,
    description = "Loads a year's holiday arrangement from the State Council's notice (CSV as `shebao calendar load`), stores it and takes it into use at once. Loading a year again replaces it.",
    responses((status = 200, body = CalendarResponse), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "invalid_calendar")),
    security(("bearer" = [])))]
pub async fn load_calendar(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<CalendarLoadRequest>,
) -> ApiResult<Json<CalendarResponse>> {
    let loaded = s.service.load_calendar(Some(&actor), &req.csv).await?;
    Ok(Json(CalendarResponse {
        years: s.service.calendar().years().collect(),
        loaded: loaded.years,
    }))
}
