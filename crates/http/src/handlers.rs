//! One handler per endpoint: extract, convert, call the service, convert back.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Authed, JsonBody};
use crate::wire::*;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shebao_service::model::AuditQuery;
use shebao_service::{
    ActivationRequest, NewActor, NewEmployer, NewLegacyCard, NewPerson, ServiceError,
};
use utoipa::IntoParams;

type ApiResult<T> = Result<T, ApiError>;

#[derive(Deserialize, IntoParams)]
pub struct CardPath {
    /// Card number, e.g. `S00000001`.
    pub card_no: String,
}

#[utoipa::path(get, path = "/health", tag = "system", responses((status = 200, description = "The server is up")))]
pub async fn health() -> Json<serde_json::Value> {
    Json(serde_json::json!({"status": "ok"}))
}

#[utoipa::path(post, path = "/admin/actors", tag = "admin", request_body = NewActorRequest,
    responses((status = 201, body = NewActorResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn create_actor(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<NewActorRequest>,
) -> ApiResult<(StatusCode, Json<NewActorResponse>)> {
    let (created, token) = s
        .service
        .create_actor(
            &actor,
            NewActor {
                role: req.role,
                name: req.name,
                region: req.region,
                employer_id: req.employer_id,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewActorResponse {
            id: created.id,
            token: token.to_string(),
            role: created.role.as_str().to_owned(),
            region: created.region.map(|r| r.as_str().to_owned()),
        }),
    ))
}

#[utoipa::path(post, path = "/admin/clock", tag = "admin", request_body = ClockRequest,
    description = "Moves the simulated clock. Only when the server runs with `--sim-clock`; otherwise 404.",
    responses((status = 200, body = ClockResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn move_clock(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<ClockRequest>,
) -> ApiResult<Json<ClockResponse>> {
    let advance = req
        .advance
        .as_deref()
        .map(|a| {
            a.parse::<jiff::Span>().map_err(|e| {
                ServiceError::invalid(
                    "invalid_clock",
                    format!("advance is an ISO 8601 duration: {e}"),
                )
            })
        })
        .transpose()?;
    let set = req
        .set
        .as_deref()
        .map(|a| {
            a.parse::<jiff::Timestamp>().map_err(|e| {
                ServiceError::invalid("invalid_clock", format!("set is an RFC 3339 instant: {e}"))
            })
        })
        .transpose()?;
    let now = s.service.move_clock(&actor, advance, set)?;
    Ok(Json(ClockResponse { now: ts(now) }))
}

#[utoipa::path(post, path = "/persons", tag = "people", request_body = NewPersonRequest,
    description = "Registers an insured person (R-ID-1, R-ID-3). Clerks, or an employer for its own employees.",
    responses((status = 201, body = PersonResponse), (status = 409, body = ErrorBody, description = "already_exists"),
        (status = 422, body = ErrorBody, description = "invalid_id_number and other field codes")),
    security(("bearer" = [])))]
pub async fn register_person(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<NewPersonRequest>,
) -> ApiResult<(StatusCode, Json<PersonResponse>)> {
    let input = NewPerson {
        id_number: req.id_number,
        name: req.name,
        phone: req.phone,
        kind: req.kind,
        employer_id: req.employer_id,
        region: req.region,
        contribution_base_fen: req.contribution_base_fen,
        legacy_card: req.legacy_card.map(|l| NewLegacyCard {
            number: l.number,
            balance_fen: l.balance_fen,
            password: l.password.map(|p| p.0),
        }),
    };
    let view = s.service.register_person(&actor, input).await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

#[utoipa::path(get, path = "/persons/{id_number}", tag = "people", params(("id_number" = String, Path)),
    responses((status = 200, body = PersonResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_person(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(id_number): Path<String>,
) -> ApiResult<Json<PersonResponse>> {
    Ok(Json(s.service.person(&actor, &id_number).await?.into()))
}

#[utoipa::path(post, path = "/employers", tag = "employers", request_body = NewEmployerRequest,
    responses((status = 201, body = EmployerResponse)), security(("bearer" = [])))]
pub async fn create_employer(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<NewEmployerRequest>,
) -> ApiResult<(StatusCode, Json<EmployerResponse>)> {
    let e = s
        .service
        .create_employer(
            &actor,
            NewEmployer {
                name: req.name,
                region: req.region,
                prev_year_avg_wage_fen: req.prev_year_avg_wage_fen,
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(EmployerResponse {
            id: e.id,
            name: e.name,
            region: e.region.as_str().to_owned(),
            prev_year_avg_wage_fen: e.prev_year_avg_wage.map(|f| f.0),
        }),
    ))
}

#[utoipa::path(post, path = "/cards", tag = "cards", request_body = NewCardRequest,
    description = "Issues a card. One usable card per person; a second is 409 (replacement is the way to a new card).",
    responses((status = 201, body = CardResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn issue_card(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<NewCardRequest>,
) -> ApiResult<(StatusCode, Json<CardResponse>)> {
    Ok((
        StatusCode::CREATED,
        Json(s.service.issue_card(&actor, &req.id_number).await?.into()),
    ))
}

#[utoipa::path(get, path = "/cards/{card_no}", tag = "cards", params(CardPath),
    description = "The card and both accounts, with lock reasons in plain words (R-LK-5). Clerk, bank, hotline; a cardholder sees only their own card.",
    responses((status = 200, body = CardResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_card(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
) -> ApiResult<Json<CardResponse>> {
    Ok(Json(s.service.card(&actor, &p.card_no).await?.into()))
}

#[utoipa::path(post, path = "/cards/{card_no}/activation", tag = "cards", params(CardPath), request_body = ActivationRequestBody,
    description = "Activation (R-ACT-1..4). `bank` (bank role) opens the financial account with `fin_password`; the social-security account follows 24 h later. `hospital` (hospital), `sms` and `service_center` (clerk), `pharmacy_old_card` and `pharmacy_old_password` (pharmacy) activate the social-security account at once and move an old medical card's balance over.",
    responses((status = 200, body = CardResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "already_active, no_legacy_card, phone_not_registered"),
        (status = 422, body = ErrorBody, description = "invalid_password, weak_password, wrong_password"), (status = 423, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn activate(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<ActivationRequestBody>,
) -> ApiResult<Json<CardResponse>> {
    let request = ActivationRequest {
        channel: req.channel,
        fin_password: req.fin_password.map(|p| p.0),
        old_card_password: req.old_card_password.map(|p| p.0),
        sms_from: req.sms_from,
        sms_text: req.sms_text,
        old_card_number: req.old_card_number,
    };
    Ok(Json(
        s.service
            .activate(&actor, &p.card_no, request)
            .await?
            .into(),
    ))
}

#[utoipa::path(post, path = "/cards/{card_no}/ss-password/verify", tag = "passwords", params(CardPath), request_body = VerifyRequest,
    description = "Verifies the social-security password (R-LK-1). Not enabled: 200 with `password_enabled: false`, nothing counted (D-2).",
    responses((status = 200, body = VerifyResponse), (status = 409, body = ErrorBody, description = "not_activated"),
        (status = 422, body = ErrorBody, description = "wrong_password with remaining_tries; invalid_password"), (status = 423, body = ErrorBody, description = "account_locked")),
    security(("bearer" = [])))]
pub async fn verify_ss(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<VerifyRequest>,
) -> ApiResult<Json<VerifyResponse>> {
    let v = s
        .service
        .verify_ss_password(&actor, &p.card_no, req.password.0)
        .await?;
    Ok(Json(VerifyResponse {
        verified: true,
        password_enabled: v.password_enabled,
    }))
}

#[utoipa::path(put, path = "/cards/{card_no}/ss-password", tag = "passwords", params(CardPath), request_body = ChangePasswordRequest,
    description = "Sets or changes the social-security password and enables it (R-PW-3, R-PW-6, D-7). Not on an inactive account (R-ACT-5).",
    responses((status = 200, body = PasswordChangedResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 423, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_ss(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<ChangePasswordRequest>,
) -> ApiResult<Json<PasswordChangedResponse>> {
    let changed = s
        .service
        .change_ss_password(
            &actor,
            &p.card_no,
            req.old_password.map(|x| x.0),
            req.new_password.0,
        )
        .await?;
    Ok(Json(PasswordChangedResponse {
        password_enabled: true,
        warning: changed.warning.map(str::to_owned),
    }))
}

#[utoipa::path(post, path = "/cards/{card_no}/ss-password/reset", tag = "passwords", params(CardPath), request_body = ResetRequest,
    description = "A clerk unlocks and resets with evidence (R-LK-2, R-LK-4). With `new_password` it is set and enabled; without, the original not-enabled password is restored (R-PW-7).",
    responses((status = 200, body = PasswordChangedResponse), (status = 422, body = ErrorBody, description = "evidence_required, invalid_password, weak_password")),
    security(("bearer" = [])))]
pub async fn reset_ss(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<ResetRequest>,
) -> ApiResult<Json<PasswordChangedResponse>> {
    let enabled = req.new_password.is_some();
    let changed = s
        .service
        .reset_ss_password(
            &actor,
            &p.card_no,
            req.new_password.map(|x| x.0),
            evidence(req.evidence)?,
        )
        .await?;
    Ok(Json(PasswordChangedResponse {
        password_enabled: enabled,
        warning: changed.warning.map(str::to_owned),
    }))
}

#[utoipa::path(delete, path = "/cards/{card_no}/ss-password", tag = "passwords", params(CardPath), request_body = EvidenceRequest,
    description = "Cancels (disables) the social-security password; the holder in person with card and ID (R-PW-4).",
    responses((status = 200, body = PasswordChangedResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn disable_ss(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<EvidenceRequest>,
) -> ApiResult<Json<PasswordChangedResponse>> {
    s.service
        .disable_ss_password(&actor, &p.card_no, evidence(req.evidence)?)
        .await?;
    Ok(Json(PasswordChangedResponse {
        password_enabled: false,
        warning: None,
    }))
}

#[utoipa::path(post, path = "/cards/{card_no}/fin-password/verify", tag = "passwords", params(CardPath), request_body = VerifyRequest,
    description = "Verifies the financial password (bank). After the policy's tries it locks until 00:00 Asia/Shanghai the next day (R-LK-3, D-1).",
    responses((status = 200, body = VerifyResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 423, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn verify_fin(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<VerifyRequest>,
) -> ApiResult<Json<VerifyResponse>> {
    let v = s
        .service
        .verify_fin_password(&actor, &p.card_no, req.password.0)
        .await?;
    Ok(Json(VerifyResponse {
        verified: true,
        password_enabled: v.password_enabled,
    }))
}

#[utoipa::path(put, path = "/cards/{card_no}/fin-password", tag = "passwords", params(CardPath), request_body = ChangePasswordRequest,
    responses((status = 200, body = PasswordChangedResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 423, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_fin(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<ChangePasswordRequest>,
) -> ApiResult<Json<PasswordChangedResponse>> {
    let changed = s
        .service
        .change_fin_password(
            &actor,
            &p.card_no,
            req.old_password.map(|x| x.0),
            req.new_password.0,
        )
        .await?;
    Ok(Json(PasswordChangedResponse {
        password_enabled: true,
        warning: changed.warning.map(str::to_owned),
    }))
}

#[utoipa::path(post, path = "/cards/{card_no}/fin-password/reset", tag = "passwords", params(CardPath), request_body = ResetRequest,
    description = "The bank resets a forgotten financial password with evidence; this also lifts its lock (R-LK-3).",
    responses((status = 200, body = PasswordChangedResponse), (status = 422, body = ErrorBody)), security(("bearer" = [])))]
pub async fn reset_fin(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    JsonBody(req): JsonBody<ResetRequest>,
) -> ApiResult<Json<PasswordChangedResponse>> {
    let changed = s
        .service
        .reset_fin_password(
            &actor,
            &p.card_no,
            req.new_password.map(|x| x.0),
            evidence(req.evidence)?,
        )
        .await?;
    Ok(Json(PasswordChangedResponse {
        password_enabled: true,
        warning: changed.warning.map(str::to_owned),
    }))
}

#[utoipa::path(get, path = "/cards/{card_no}/ledger", tag = "cards", params(CardPath),
    description = "Every movement on the personal medical account (R-CR-2). Clerk, or the holder for their own card.",
    responses((status = 200, body = LedgerResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn ledger(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
) -> ApiResult<Json<LedgerResponse>> {
    let entries = s.service.ledger(&actor, &p.card_no).await?;
    Ok(Json(LedgerResponse {
        card_no: p.card_no,
        entries: entries.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(post, path = "/self/login", tag = "self-service", request_body = LoginRequest,
    description = "Logs in with the online query password (R-PW-8). Never set: the last 8 ID characters with X as 0, and a change is forced. Wrong tries slow down later ones (D-4: 429 with retry_after_s) and never lock the card.",
    responses((status = 200, body = LoginResponse), (status = 401, body = ErrorBody), (status = 429, body = ErrorBody)))]
pub async fn login(
    State(s): State<AppState>,
    JsonBody(req): JsonBody<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let r = s
        .service
        .login(&req.id_number, req.query_password.0)
        .await?;
    Ok(Json(LoginResponse {
        token: r.token.to_string(),
        must_change_password: r.must_change_password,
        expires_at: ts(r.expires_at),
    }))
}

#[utoipa::path(put, path = "/self/query-password", tag = "self-service", request_body = QueryPasswordRequest,
    description = "Changes the query password: 8-64 characters with a letter and a digit. The transaction passwords can never be set or read online.",
    responses((status = 200, body = OkResponse), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)), security(("bearer" = [])))]
pub async fn change_query_password(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<QueryPasswordRequest>,
) -> ApiResult<Json<OkResponse>> {
    s.service
        .change_query_password(&actor, req.old_password.0, req.new_password.0)
        .await?;
    Ok(Json(OkResponse { ok: true }))
}

#[utoipa::path(get, path = "/self", tag = "self-service",
    description = "The logged-in holder: person record and card numbers.",
    responses((status = 200, body = PersonResponse)), security(("bearer" = [])))]
pub async fn self_info(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<PersonResponse>> {
    Ok(Json(s.service.own_person(&actor).await?.into()))
}

#[derive(Deserialize, IntoParams)]
pub struct AuditParams {
    pub card_no: Option<String>,
    pub id_number: Option<String>,
    /// Only records after this sequence number.
    pub after: Option<i64>,
    /// At most this many (default 200, at most 1000).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditParams),
    description = "Who did what, where, through which channel, with what evidence (R-PW-9). Oldest first.",
    responses((status = 200, body = AuditResponse)), security(("bearer" = [])))]
pub async fn audit(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Query(q): Query<AuditParams>,
) -> ApiResult<Json<AuditResponse>> {
    let query = AuditQuery {
        card_no: q.card_no,
        id_number: q.id_number,
        after_seq: q.after,
        limit: q.limit.unwrap_or(0),
    };
    let records: Vec<AuditEntry> = s
        .service
        .audit(&actor, query)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let next_after = records.last().map(|r| r.seq);
    Ok(Json(AuditResponse {
        records,
        next_after,
    }))
}
