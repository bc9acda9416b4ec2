//! Handlers and wire types for employers (months, payments, tax receipts, the unit lock),
//! batch jobs, and settlement (purchases, visits, filings).

use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::extract::{Authed, IdempotencyKey, JsonBody, Secret};
use crate::wire::{LockMessageView, ts};
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use shebao_service::model::JobRun;
use shebao_service::views::lock_message;
use shebao_service::{
    EmployerView, LockReason, NewFiling, NewPayment, NewPurchase, NewVisit, ServiceError,
};
use utoipa::{IntoParams, ToSchema};

type ApiResult<T> = Result<T, ApiError>;

#[derive(Serialize, ToSchema)]
pub struct MonthView {
    /// `YYYY-MM`.
    pub month: String,
    /// What the employer owes for the month (D-8: everyone insured that month).
    pub assessed_fen: i64,
    /// Payment records and tax receipts together, whenever paid.
    pub paid_fen: i64,
    /// Paid on or before the due day (R-EM-1).
    pub paid_on_time_fen: i64,
    /// From the tax bureau's payment records only (what crediting waits for, R-EM-4).
    pub tax_paid_fen: i64,
    /// The due day: "before the 15th" read as on or before the 15th (R-EM-1).
    pub due_on: String,
    /// When the month's payment data reached the bureau (45 working days after payment).
    pub data_arrived_on: Option<String>,
    /// Every personal account credited for the month.
    pub credited: bool,
    /// When the unlock procedure cleared the month's lock (R-EM-3).
    pub cleared_at: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct EmployerDetail {
    pub id: String,
    pub name: String,
    pub region: String,
    pub prev_year_avg_wage_fen: Option<i64>,
    /// A unit lock stands on every card of the employer's insured people (R-EM-2).
    pub unit_locked: bool,
    /// The first day of the lock in force.
    pub unit_locked_since: Option<String>,
    /// The months holding the lock.
    pub locking_months: Vec<String>,
    /// What the holders are told (R-EM-5), in Chinese and English.
    pub lock_message: Option<LockMessageView>,
    /// Months past their due day and not paid in full.
    pub arrears_months: Vec<String>,
    pub months: Vec<MonthView>,
}

impl From<EmployerView> for EmployerDetail {
    fn from(v: EmployerView) -> Self {
        let lock = v.unit_lock;
        EmployerDetail {
            id: v.employer.id,
            name: v.employer.name,
            region: v.employer.region.as_str().to_owned(),
            prev_year_avg_wage_fen: v.employer.prev_year_avg_wage.map(|f| f.0),
            unit_locked: lock.is_some(),
            unit_locked_since: lock.as_ref().map(|l| l.since.to_string()),
            locking_months: lock
                .as_ref()
                .map(|l| l.months.iter().map(ToString::to_string).collect())
                .unwrap_or_default(),
            lock_message: lock
                .as_ref()
                .map(|_| lock_message(LockReason::EmployerArrears).into()),
            arrears_months: v.arrears_months.iter().map(ToString::to_string).collect(),
            months: v
                .months
                .into_iter()
                .map(|m| MonthView {
                    month: m.month.month.to_string(),
                    assessed_fen: m.month.assessed.0,
                    paid_fen: m.month.paid.0,
                    paid_on_time_fen: m.month.paid_on_time.0,
                    tax_paid_fen: m.month.tax_paid.0,
                    due_on: m.month.due_on.to_string(),
                    data_arrived_on: m.data_arrived_on.map(|d| d.to_string()),
                    credited: m.credited_at.is_some(),
                    cleared_at: m.month.cleared_at.map(ts),
                })
                .collect(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PaymentRequest {
    /// The month paid for, `YYYY-MM`.
    pub month: String,
    pub amount_fen: i64,
    /// `YYYY-MM-DD`, not in the future.
    pub paid_on: String,
    /// The tax bureau's record number, if it sends one: a repeat with the same number is
    /// harmless, the same number with other details is refused (409 `receipt_conflict`).
    pub record_no: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptBody {
    pub month: String,
    pub amount_fen: i64,
    pub paid_on: String,
    /// Unique: a receipt shown twice is recorded once; a number reused with other details is
    /// refused (409 `receipt_conflict`) and nothing of the request is recorded.
    pub receipt_no: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReceiptsRequest {
    pub receipts: Vec<ReceiptBody>,
}

#[derive(Serialize, ToSchema)]
pub struct ReceiptsResponse {
    #[serde(flatten)]
    pub employer: EmployerDetail,
    /// Receipts newly recorded by this request.
    pub recorded: usize,
    /// This request lifted the unit lock (R-EM-3).
    pub lifted: bool,
    /// Months still needing a receipt or payment covering them before the lock can lift.
    pub missing_months: Vec<String>,
}

#[utoipa::path(get, path = "/employers/{id}", tag = "employers", params(("id" = String, Path)),
    description = "An employer's months (assessed, paid, due day), arrears and unit lock (R-EM-1..3, R-EM-5). Clerks, or the employer itself.",
    responses((status = 200, body = EmployerDetail), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn get_employer(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
) -> ApiResult<Json<EmployerDetail>> {
    Ok(Json(s.service.employer(&actor, &id).await?.into()))
}

#[utoipa::path(post, path = "/employers/{id}/card-applications", tag = "employers", params(("id" = String, Path)), request_body = crate::wire::CardApplicationsRequest,
    description = "The employer applies for its insured people's cards in bulk (R-ID-3; the employer for itself, or a clerk): every listed person insured through this employer without a card gets one; the others are skipped with the reason. Repeating the request issues nothing twice. One transaction; at most 500 people.",
    responses((status = 201, body = crate::wire::CardApplicationsResponse), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "invalid_id_numbers")),
    security(("bearer" = [])))]
pub async fn card_applications(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<crate::wire::CardApplicationsRequest>,
) -> ApiResult<(StatusCode, Json<crate::wire::CardApplicationsResponse>)> {
    let done = s
        .service
        .apply_for_cards(&actor, &id, req.id_numbers)
        .await?;
    Ok((StatusCode::CREATED, Json(done.into())))
}

#[utoipa::path(post, path = "/employers/{id}/payments", tag = "employers", params(("id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "1 to 64 printable ASCII characters: a repeat under the same key answers as the first request did and changes nothing; the same key with another request → 409 idempotency_key_reused")), request_body = PaymentRequest,
    description = "The tax bureau's record of a payment (R-EM-1, R-EM-4). Paid on or before the due day, it shows the month was paid on time (no unit lock for it); its data reaches the bureau 45 working days after `paid_on`, and only then is the month credited.",
    responses((status = 201, body = EmployerDetail), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "receipt_conflict, idempotency_key_reused"),
        (status = 422, body = ErrorBody, description = "invalid_month, invalid_amount, invalid_date, invalid_idempotency_key")),
    security(("bearer" = [])))]
pub async fn record_payment(
    State(s): State<AppState>,
    Authed(actor): Authed,
    IdempotencyKey(key): IdempotencyKey,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<PaymentRequest>,
) -> ApiResult<(StatusCode, Json<EmployerDetail>)> {
    let view = s
        .service
        .record_tax_payment(
            &actor,
            &id,
            NewPayment {
                month: req.month,
                amount_fen: req.amount_fen,
                paid_on: req.paid_on,
                reference: req.record_no,
            },
            key,
        )
        .await?;
    Ok((StatusCode::CREATED, Json(view.into())))
}

#[utoipa::path(post, path = "/employers/{id}/tax-receipts", tag = "employers", params(("id" = String, Path)), request_body = ReceiptsRequest,
    description = "The employer (or a clerk) shows tax receipts (R-EM-3, D-9). The unit lock lifts when every month in arrears is covered and so are the last 3 due months; otherwise `missing_months` says what is still needed.",
    responses((status = 200, body = ReceiptsResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "receipt_conflict"),
        (status = 422, body = ErrorBody, description = "invalid_month, invalid_amount, invalid_date, invalid_receipt_no, invalid_receipts")),
    security(("bearer" = [])))]
pub async fn submit_receipts(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(id): Path<String>,
    JsonBody(req): JsonBody<ReceiptsRequest>,
) -> ApiResult<Json<ReceiptsResponse>> {
    let receipts = req
        .receipts
        .into_iter()
        .map(|r| NewPayment {
            month: r.month,
            amount_fen: r.amount_fen,
            paid_on: r.paid_on,
            reference: Some(r.receipt_no),
        })
        .collect();
    let outcome = s.service.submit_tax_receipts(&actor, &id, receipts).await?;
    Ok(Json(ReceiptsResponse {
        employer: outcome.view.into(),
        recorded: outcome.recorded,
        lifted: outcome.lifted,
        missing_months: outcome
            .missing_months
            .iter()
            .map(ToString::to_string)
            .collect(),
    }))
}

#[derive(Serialize, ToSchema)]
pub struct JobRunView {
    pub name: String,
    /// `running`, `ok`, `failed`, or `never_run`.
    pub status: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub summary: String,
    /// Rows the run handled (people assessed, accounts credited).
    pub rows: i64,
}

impl From<JobRun> for JobRunView {
    fn from(r: JobRun) -> Self {
        JobRunView {
            name: r.name,
            status: r.status.as_str().to_owned(),
            started_at: Some(ts(r.started_at)),
            finished_at: r.finished_at.map(ts),
            summary: r.summary,
            rows: r.rows,
        }
    }
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct JobParams {
    /// `crediting`: accounts credited per transaction (1-100000, default 20000). Smaller
    /// batches hold row locks for less time while terminals keep selling.
    pub batch_rows: Option<u32>,
}

#[utoipa::path(post, path = "/admin/jobs/{name}/run", tag = "admin", params(("name" = String, Path, description = "monthly-deadline, crediting or request-keys"), JobParams),
    description = "Runs a batch job to the end and returns its record. `monthly-deadline` assesses new months and records unit locks that fell; `crediting` credits every month whose payment data has arrived, exactly once; `request-keys` forgets the `Idempotency-Key` records older than 30 days. All are idempotent and safe to run any number of times, on any number of servers at once.",
    responses((status = 200, body = JobRunView), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "job_running"), (status = 422, body = ErrorBody, description = "invalid_batch_rows")),
    security(("bearer" = [])))]
pub async fn run_job(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(name): Path<String>,
    Query(params): Query<JobParams>,
) -> ApiResult<Json<JobRunView>> {
    if params
        .batch_rows
        .is_some_and(|n| !(1..=100_000).contains(&n))
    {
        return Err(ServiceError::invalid(
            "invalid_batch_rows",
            "batch_rows is between 1 and 100000",
        )
        .into());
    }
    let run = s
        .service
        .run_job(Some(&actor), &name, params.batch_rows, &|_| {})
        .await?;
    Ok(Json(run.into()))
}

#[utoipa::path(get, path = "/admin/jobs/{name}", tag = "admin", params(("name" = String, Path)),
    description = "The last run of a job.",
    responses((status = 200, body = JobRunView), (status = 404, body = ErrorBody)), security(("bearer" = [])))]
pub async fn last_job(
    State(s): State<AppState>,
    Authed(actor): Authed,
    Path(name): Path<String>,
) -> ApiResult<Json<JobRunView>> {
    Ok(Json(match s.service.last_job_run(&actor, &name).await? {
        Some(run) => run.into(),
        None => JobRunView {
            name,
            status: "never_run".into(),
            started_at: None,
            finished_at: None,
            summary: String::new(),
            rows: 0,
        },
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PurchaseRequest {
    /// The pharmacy's own id for the sale: a repeat with the same body returns the first
    /// answer and moves no money; with another body, 409 `client_txn_id_reused`.
    pub client_txn_id: String,
    /// The card's number; or, exactly one of the two, `ecard_code`.
    pub card_no: Option<String>,
    /// The holder's electronic-card payment code, scanned from the phone (R-KM-2, D-16):
    /// single-use; 409 `code_used`, 422 `code_expired`, 422 `invalid_code`. No `card_auth` with
    /// it.
    pub ecard_code: Option<String>,
    pub amount_fen: i64,
    /// The holder's social-security password, entered on the PIN pad; required when enabled.
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret>,
    /// From a PSAM terminal: the card chip's answer (operation `purchase`, AMOUNT_FEN the
    /// amount, R-KM-1).
    pub card_auth: Option<crate::wire::CardAuthBody>,
}

#[derive(Serialize, ToSchema)]
pub struct PurchaseResponse {
    pub paid_from_account_fen: i64,
    pub cash_due_fen: i64,
    pub balance_fen: i64,
}

#[utoipa::path(post, path = "/purchases", tag = "settlement", request_body = PurchaseRequest,
    description = "A pharmacy purchase paid from the personal account, the rest in cash (R-MS-1, R-PW-5, D-2). Exactly one of `card_no` and `ecard_code` (else 422 invalid_card_no); a code is checked first by its MAC and expiry (422 invalid_code, code_expired), then used (409 code_used; a code older than one of the same card that paid counts as used) and it must reach an active electronic card. Checked in this order: card exists (404) → from a PSAM terminal, the card present (422 card_auth_required, bad_card_auth, card_replayed; R-KM-1) → card state (409 card_replaced) → loss (423 loss) → unit lock (423 employer_arrears) → account activated (409 not_activated) → account lock (423 password) → password when enabled (422 invalid_password if missing, 422 wrong_password counted) → balance. A refusal changes nothing but a wrong password's count.",
    responses((status = 201, body = PurchaseResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody), (status = 423, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn purchase(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<PurchaseRequest>,
) -> ApiResult<(StatusCode, Json<PurchaseResponse>)> {
    let r = s
        .service
        .purchase(
            &actor,
            NewPurchase {
                client_txn_id: req.client_txn_id,
                card_no: req.card_no,
                ecard_code: req.ecard_code,
                amount_fen: req.amount_fen,
                password: req.password.map(|p| p.0),
                card_auth: req.card_auth.map(Into::into),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(PurchaseResponse {
            paid_from_account_fen: r.paid_from_account.0,
            cash_due_fen: r.cash_due.0,
            balance_fen: r.balance.0,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VisitRequest {
    pub client_txn_id: String,
    /// The card's number; or, exactly one of the two, `ecard_code`.
    pub card_no: Option<String>,
    /// The holder's electronic-card payment code (R-KM-2, D-16), as for purchases.
    pub ecard_code: Option<String>,
    /// `outpatient`, `chronic_outpatient` (门诊慢特病, D-18) or `inpatient`.
    pub kind: String,
    pub cost_fen: i64,
    /// Inpatient: the admission day (defaults to today).
    pub admitted_on: Option<String>,
    /// An out-of-area inpatient stay on a card whose password is enabled needs it (000 I);
    /// a wrong one counts like any try (R-LK-1). No other visit needs a password (R-PW-5).
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret>,
    /// From a PSAM terminal: the card chip's answer (operation `visit`, AMOUNT_FEN the cost,
    /// R-KM-1).
    pub card_auth: Option<crate::wire::CardAuthBody>,
}

#[derive(Serialize, ToSchema)]
pub struct VisitResponse {
    pub fund_pays_fen: i64,
    pub holder_pays_fen: i64,
}

#[utoipa::path(post, path = "/visits", tag = "settlement", request_body = VisitRequest,
    description = "A hospital visit. Outpatient the fund pays the fixed diagnosis fee, chronic outpatient care (D-18) the policy's chronic ratio, inpatient the inpatient ratio (R-MS-2). No password (R-PW-5), except an out-of-area inpatient stay on a card whose password is enabled (000 I: missing 422 invalid_password, wrong 422 wrong_password, counted). The first hospital use activates the social-security account (R-ACT-3; a replacement not collected yet is 409 not_collected; residents where the policy keeps them to the bureau hall are 422 invalid_channel). Out of area (the hospital's region is not the holder's insured region) an inpatient stay needs a filing (422 filing_required, R-MS-3). A unit lock answers 423 employer_arrears. From a PSAM terminal the card chip's `card_auth` comes first (422 card_auth_required, bad_card_auth, card_replayed; R-KM-1).",
    responses((status = 201, body = VisitResponse), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody, description = "not_collected, card_replaced, client_txn_id_reused, code_used"),
        (status = 422, body = ErrorBody, description = "filing_required, invalid_kind, invalid_amount, invalid_password, wrong_password, invalid_channel, card_auth_required, bad_card_auth, card_replayed, invalid_card_no, invalid_code, code_expired"), (status = 423, body = ErrorBody)),
    security(("bearer" = [])))]
pub async fn visit(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<VisitRequest>,
) -> ApiResult<(StatusCode, Json<VisitResponse>)> {
    let r = s
        .service
        .visit(
            &actor,
            NewVisit {
                client_txn_id: req.client_txn_id,
                card_no: req.card_no,
                ecard_code: req.ecard_code,
                kind: req.kind,
                cost_fen: req.cost_fen,
                admitted_on: req.admitted_on,
                password: req.password.map(|p| p.0),
                card_auth: req.card_auth.map(Into::into),
            },
        )
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(VisitResponse {
            fund_pays_fen: r.fund_pays.0,
            holder_pays_fen: r.holder_pays.0,
        }),
    ))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FilingRequest {
    pub id_number: String,
    /// `long_term_residence`, `emergency` or `referral`.
    pub kind: String,
    /// Where the care happens (6-digit division code), not the insured region.
    pub region: String,
    /// Emergencies: the admission day; the filing is due within 3 working days of it.
    pub admitted_on: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FilingResponse {
    pub id: String,
    pub id_number: String,
    pub kind: String,
    pub region: String,
    pub filed_on: String,
    pub admitted_on: Option<String>,
    /// Emergencies: the last day the filing could be made (R-MS-3).
    pub deadline: Option<String>,
}

#[utoipa::path(post, path = "/filings", tag = "settlement", request_body = FilingRequest,
    description = "An out-of-area filing (R-MS-3), by a clerk or the holder online. An emergency filed later than 3 working days after admission is 422 filing_too_late. The same filing (kind, region, admission day) while one is on record answers 200 with the existing one and files nothing.",
    responses((status = 201, body = FilingResponse), (status = 200, body = FilingResponse, description = "the same filing was on record: this is it"), (status = 404, body = ErrorBody),
        (status = 422, body = ErrorBody, description = "filing_too_late, invalid_kind, invalid_region, invalid_date")),
    security(("bearer" = [])))]
pub async fn file(
    State(s): State<AppState>,
    Authed(actor): Authed,
    JsonBody(req): JsonBody<FilingRequest>,
) -> ApiResult<(StatusCode, Json<FilingResponse>)> {
    let v = s
        .service
        .file(
            &actor,
            NewFiling {
                id_number: req.id_number,
                kind: req.kind,
                region: req.region,
                admitted_on: req.admitted_on,
            },
        )
        .await?;
    let f = v.record;
    Ok((
        if v.existing {
            StatusCode::OK
        } else {
            StatusCode::CREATED
        },
        Json(FilingResponse {
            id: f.id,
            id_number: f.id_number.as_str().to_owned(),
            kind: f.filing.kind.as_str().to_owned(),
            region: f.filing.region.as_str().to_owned(),
            filed_on: f.filing.filed_on.to_string(),
            admitted_on: f.filing.admitted_on.map(|d| d.to_string()),
            deadline: v.deadline.map(|d| d.to_string()),
        }),
    ))
}
