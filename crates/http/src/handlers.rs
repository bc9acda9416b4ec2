//! One handler per endpoint: extract, convert, call the service, convert back.

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Authed, IdempotencyKey, JsonBody};
use crate::wire::*;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use shebao_service::{
    ActivationRequest, AuditFilter, NewActor, NewEmployer, NewLegacyCard, NewPerson, ServiceError,
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

/// What `/ready` answers a load balancer that asked while the database did not answer: ask
/// again after this many seconds (as a write the database could not take is told).
const NOT_READY_RETRY_AFTER_S: u64 = 2;

#[utoipa::path(get, path = "/ready", tag = "system",
    description = "Readiness (API.md \"Running on a cluster\"): 200 `{\"status\":\"ready\"}` only when the database answers a trivial read within 2 s; otherwise 503 `unavailable` with `Retry-After`. Also served at `/ready` beside `/health`. No token: it tells nothing but whether this server can serve.",
    responses((status = 200, description = "The database answers"),
        (status = 503, body = ErrorBody, description = "unavailable: the database did not answer in time (the cause is logged, never sent)",
            headers(("Retry-After" = u64, description = "Seconds to wait before asking again")))))]
pub async fn ready(State(s): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    match s.service.ready().await {
        Ok(()) => Json(serde_json::json!({"status": "ready"})).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "not ready");
            let mut response = crate::error::error_response(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "the database does not answer: try again later or another server",
            );
            response.headers_mut().insert(
                axum::http::header::RETRY_AFTER,
                axum::http::HeaderValue::from(NOT_READY_RETRY_AFTER_S),
            );
            response
        }
    }
}

#[utoipa::path(get, path = "/metrics", tag = "system",
    description = "Metrics in the Prometheus text format (issue 16): requests by route template and status, their latency, password locks by reason, batch job runs, the storage's commit batches and latency, database errors and reconnects. Labels are route templates, status codes and closed words, never a card number, an ID number, a name or a token. No token, as for `/health`: it holds no personal data, and is meant to be scraped from the operators' network (keep it off a public listener: see the README). Also served at `/metrics`.",
    responses((status = 200, description = "Prometheus text exposition format 0.0.4", content_type = "text/plain; version=0.0.4", body = String)))]
pub async fn metrics(State(s): State<AppState>) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        (s.metrics)(),
    )
        .into_response()
}

#[utoipa::path(post, path = "/admin/actors", tag = "admin", params(("Idempotency-Key" = Option<String>, Header, description = "1 to 64 printable ASCII characters: a repeat under the same key makes no second actor; it answers with the same id and a new token, and the first token stops working. The same key with another request → 409 idempotency_key_reused; the first actor revoked since → 409 revoked")), request_body = NewActorRequest,
    description = "Creates an actor and answers its token once. A pharmacy, hospital, bank or kiosk terminal may hold a PSAM (`psam_no`, R-KM-1): its every request is then verified by MAC and counter, and its operations on a physical card need the chip's `card_auth`.",
    responses((status = 201, body = NewActorResponse), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "already_exists (the PSAM number is another terminal's), keys_missing (the key store holds no psam key), idempotency_key_reused, revoked (a repeat whose actor was revoked since)"),
        (status = 422, body = ErrorBody, description = "invalid_role, invalid_name, invalid_region, invalid_employer, invalid_psam_no, invalid_idempotency_key")),
    security(("bearer" = [])))]
pub async fn create_actor(
    State(s): State<AppState>,
    Authed(actor): Authed,
    IdempotencyKey(key): IdempotencyKey,
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
                psam_no: req.psam_no,
            },
            key,
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(NewActorResponse {
            id: created.id,
            token: token.to_string(),
            role: created.role.as_str().to_owned(),
            region: created.region.map(|r| r.as_str().to_owned()),
            psam_no: created.psam.map(|p| p.psam_no),
        }),
    ))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ActorPageParams {
    /// Only actors after this id (the last `id` seen).
    pub after: Option<String>,
    /// At most this many (default 200, at most 1000).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/admin/actors", tag = "admin", params(ActorPageParams),
    description = "Every actor by id, a page at a time: role, region, employer, where it came from and whether it is revoked. Never a token.",
    responses((status = 200, body = ActorListResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody, description = "invalid_limit")),
    security(("bearer" = [])))]
pub async fn list_actors(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Query(page): Query<ActorPageParams>,
) -> ApiResult<Json<ActorListResponse>> {
    let actors: Vec<ActorView> = s
        .service
        .actors(&actor, page.after, page.limit)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let next_after = actors.last().map(|a| a.id.clone());
    Ok(Json(ActorListResponse { actors, next_after }))
}

#[derive(Deserialize, IntoParams)]
pub struct ActorPath {
    /// The actor's id, e.g. `A000002`.
    pub id: String,
}

#[utoipa::path(delete, path = "/admin/actors/{id}", tag = "admin", params(ActorPath),
    description = "Revokes an actor: its token stops working at once on this server and within 10 s on every server sharing the database (the token cache's age bound). Revoking twice answers the same. An admin from `SHEBAO_ADMIN_TOKEN` ends when the variable is removed (409 `admin_from_environment`); an admin cannot revoke itself (409 `cannot_revoke_self`).",
    responses((status = 200, body = ActorView), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, body = ErrorBody, description = "admin_from_environment, cannot_revoke_self")),
    security(("bearer" = [])))]
pub async fn revoke_actor(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<ActorPath>,
) -> ApiResult<Json<ActorView>> {
    Ok(Json(s.service.revoke_actor(&actor, &p.id).await?.into()))
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
    Ok((
        StatusCode::CREATED,
        Json(PersonResponse::new(view, actor.role)),
    ))
}

#[utoipa::path(get, path = "/persons/{id_number}", tag = "people", params(("id_number" = String, Path)),
    responses((status = 200, body = PersonResponse), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_person(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(id_number): Path<String>,
) -> ApiResult<Json<PersonResponse>> {
    let view = s.service.person(&actor, &id_number).await?;
    Ok(Json(PersonResponse::new(view, actor.role)))
}

#[utoipa::path(post, path = "/employers", tag = "employers", params(("Idempotency-Key" = Option<String>, Header, description = "1 to 64 printable ASCII characters: a repeat under the same key answers as the first request did and changes nothing; the same key with another request → 409 idempotency_key_reused")), request_body = NewEmployerRequest,
    responses((status = 201, body = EmployerResponse),
        (status = 409, body = ErrorBody, description = "idempotency_key_reused"),
        (status = 422, body = ErrorBody, description = "invalid_name, invalid_region, invalid_amount, invalid_idempotency_key")),
    security(("bearer" = [])))]
pub async fn create_employer(
    State(s): State<AppState>,
    Authed(actor): Authed,
    IdempotencyKey(key): IdempotencyKey,
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
            key,
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
        Json(CardResponse::new(
            s.service.issue_card(&actor, &req.id_number).await?,
            actor.role,
        )),
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
    let view = s.service.card(&actor, &p.card_no).await?;
    Ok(Json(CardResponse::new(view, actor.role)))
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
        card_auth: req.card_auth.map(Into::into),
    };
    let view = s.service.activate(&actor, &p.card_no, request).await?;
    Ok(Json(CardResponse::new(view, actor.role)))
}

#[utoipa::path(post, path = "/sms/inbound", tag = "cards", request_body = SmsInboundRequest,
    description = "The SMS platform (role `sms`) forwards a holder's message. `K` + the card's serial (case and surrounding spaces ignored), sent from the phone registered for that card's holder, activates the social-security account (R-ACT-3). Anything else is 422 `sms_mismatch` and changes nothing. The answer carries the card's number, status and account states only.",
    responses((status = 200, body = CardResponse), (status = 403, body = ErrorBody), (status = 409, body = ErrorBody, description = "already_active, not_collected, card_replaced"),
        (status = 422, body = ErrorBody, description = "sms_mismatch"), (status = 423, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn sms_inbound(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<SmsInboundRequest>,
) -> ApiResult<Json<CardResponse>> {
    let view = s.service.sms_inbound(&actor, &req.from, &req.text).await?;
    Ok(Json(CardResponse::new(view, actor.role)))
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

#[utoipa::path(put, path = "/cards/{card_no}/ss-password", tag = "passwords", params(CardPath, ("Idempotency-Key" = Option<String>, Header, description = "1 to 64 printable ASCII characters: a repeat under the same key answers as the first request did and changes nothing; the same key with another request → 409 idempotency_key_reused")), request_body = ChangePasswordRequest,
    description = "Sets or changes the social-security password and enables it (R-PW-3, R-PW-6, D-7). Not on an inactive account (R-ACT-5).",
    responses((status = 200, body = PasswordChangedResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 423, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_ss(
    State(s): State<AppState>,
    Authed(actor): Authed,
    IdempotencyKey(key): IdempotencyKey,
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
            req.card_auth.map(Into::into),
            key,
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

#[utoipa::path(put, path = "/cards/{card_no}/fin-password", tag = "passwords", params(CardPath, ("Idempotency-Key" = Option<String>, Header, description = "1 to 64 printable ASCII characters: a repeat under the same key answers as the first request did and changes nothing; the same key with another request → 409 idempotency_key_reused")), request_body = ChangePasswordRequest,
    responses((status = 200, body = PasswordChangedResponse), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody), (status = 423, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn change_fin(
    State(s): State<AppState>,
    Authed(actor): Authed,
    IdempotencyKey(key): IdempotencyKey,
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
            key,
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

/// A page of a list: at most `limit` items after `after`, in `seq` order.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PageParams {
    /// Only items after this sequence number (the last `seq` seen).
    pub after: Option<i64>,
    /// At most this many (default 200, at most 1000).
    pub limit: Option<u32>,
}

#[utoipa::path(get, path = "/cards/{card_no}/ledger", tag = "cards", params(CardPath, PageParams),
    description = "Every movement on the personal medical account (R-CR-2), oldest first, a page at a time (`limit`, `after`). Clerk, or the holder for their own card.",
    responses((status = 200, body = LedgerResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "invalid_limit")), security(("bearer" = [])))]
pub async fn ledger(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(p): Path<CardPath>,
    Query(page): Query<PageParams>,
) -> ApiResult<Json<LedgerResponse>> {
    let entries: Vec<LedgerView> = s
        .service
        .ledger(&actor, &p.card_no, page.after, page.limit)
        .await?
        .into_iter()
        .map(Into::into)
        .collect();
    let next_after = entries.last().map(|e| e.seq);
    Ok(Json(LedgerResponse {
        card_no: p.card_no,
        entries,
        next_after,
    }))
}

#[utoipa::path(post, path = "/self/login", tag = "self-service", request_body = LoginRequest,
    description = "Logs in with the online query password (R-PW-8). Never set: the last 8 ID characters with X as 0, and a change is forced. Wrong tries slow down later ones (D-4: 429 with retry_after_s) and never lock the card. An unregistered ID number is answered exactly like a registered one with a wrong password: the same 401, the same throttle, the same time.",
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

#[utoipa::path(put, path = "/self/query-password", tag = "self-service", params(("Idempotency-Key" = Option<String>, Header, description = "1 to 64 printable ASCII characters: a repeat under the same key answers as the first request did and changes nothing; the same key with another request → 409 idempotency_key_reused")), request_body = QueryPasswordRequest,
    description = "Changes the query password: 8-64 characters with a letter and a digit. Every other session of the person ends. The transaction passwords can never be set or read online.",
    responses((status = 200, body = OkResponse), (status = 409, body = ErrorBody, description = "idempotency_key_reused"), (status = 422, body = ErrorBody), (status = 429, body = ErrorBody)), security(("bearer" = [])))]
pub async fn change_query_password(
    State(s): State<AppState>,
    Authed(actor): Authed,
    IdempotencyKey(key): IdempotencyKey,
    JsonBody(req): JsonBody<QueryPasswordRequest>,
) -> ApiResult<Json<OkResponse>> {
    s.service
        .change_query_password(&actor, req.old_password.0, req.new_password.0, key)
        .await?;
    Ok(Json(OkResponse { ok: true }))
}

#[utoipa::path(post, path = "/self/logout", tag = "self-service",
    description = "Ends this self-service session: its token stops working at once.",
    responses((status = 204, description = "The session ended"), (status = 401, body = ErrorBody)), security(("bearer" = [])))]
pub async fn logout(State(s): State<AppState>, Authed(actor): Authed) -> ApiResult<StatusCode> {
    s.service.logout(&actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/persons/{id_number}/query-password/reset", tag = "self-service", params(("id_number" = String, Path)), request_body = EvidenceRequest,
    description = "A clerk gives a holder who forgot the query password, or found it changed by someone else, a fresh start (D-19, R-PW-8, R-PW-10): the query password returns to the initial one (the last 8 ID characters, X as 0) with a forced change at the next login, the login throttle is cleared, and every session of the person ends. Evidence as for any reset (the holder with ID, or an agent with what the policy asks).",
    responses((status = 200, body = OkResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "evidence_required, invalid_id_number")),
    security(("bearer" = [])))]
pub async fn reset_query_password(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(id_number): Path<String>,
    JsonBody(req): JsonBody<EvidenceRequest>,
) -> ApiResult<Json<OkResponse>> {
    s.service
        .reset_query_password(&actor, &id_number, evidence(req.evidence)?)
        .await?;
    Ok(Json(OkResponse { ok: true }))
}

#[utoipa::path(get, path = "/self/audit", tag = "self-service", params(PageParams),
    description = "The holder's own trail (R-PW-9): who did what on the holder's record and cards, where, through which channel, with what evidence, and how a purchase or visit was authorised; oldest first, a page at a time.",
    responses((status = 200, body = AuditResponse), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody, description = "invalid_limit")),
    security(("bearer" = [])))]
pub async fn own_audit(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Query(page): Query<PageParams>,
) -> ApiResult<Json<AuditResponse>> {
    let records: Vec<AuditEntry> = s
        .service
        .own_audit(&actor, page.after, page.limit)
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

#[utoipa::path(get, path = "/persons/{id_number}/contributions", tag = "people", params(("id_number" = String, Path)),
    description = "Every month's contribution record of a person (R-CR-2, Social Insurance Law art. 4): employer, contribution base, what was assessed, the employee's own part, whether the employer's month is paid, and what was credited to the personal account and when. A clerk for anyone; the holder their own.",
    responses((status = 200, body = ContributionsResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody, description = "invalid_id_number")),
    security(("bearer" = [])))]
pub async fn contributions(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(id_number): Path<String>,
) -> ApiResult<Json<ContributionsResponse>> {
    let lines = s.service.contributions(&actor, &id_number).await?;
    Ok(Json(ContributionsResponse {
        months: lines.into_iter().map(Into::into).collect(),
    }))
}

#[utoipa::path(get, path = "/self", tag = "self-service",
    description = "The logged-in holder: person record and card numbers.",
    responses((status = 200, body = PersonResponse)), security(("bearer" = [])))]
pub async fn self_info(
    State(s): State<AppState>,
    Authed(actor): Authed,
) -> ApiResult<Json<PersonResponse>> {
    let view = s.service.own_person(&actor).await?;
    Ok(Json(PersonResponse::new(view, actor.role)))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
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
    let query = AuditFilter {
        card_no: q.card_no,
        id_number: q.id_number,
        after_seq: q.after,
        limit: q.limit,
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
