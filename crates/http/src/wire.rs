//! Wire types: the JSON the contract names, converted explicitly to and from the service's
//! types. Only this crate knows JSON.

use crate::extract::Secret;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use shebao_domain::{Evidence, IdNumber, Role};
use shebao_service::ServiceError;
use shebao_service::model::{Actor, AuditRecord, LedgerEntry};
use shebao_service::views::{CardView, LockMessage, PersonView};
use utoipa::ToSchema;

pub fn ts(t: Timestamp) -> String {
    // RFC 3339 with the business day's offset, as the contract asks.
    t.to_zoned(shebao_domain::time::SHANGHAI.clone())
        .strftime("%Y-%m-%dT%H:%M:%S%.f%:z")
        .to_string()
}

fn opt_ts(t: Option<Timestamp>) -> Option<String> {
    t.map(ts)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewActorRequest {
    /// admin, clerk, bank, pharmacy, hospital, hotline, employer or sms.
    pub role: String,
    pub name: String,
    /// 6-digit division code; terminals (bank, pharmacy, hospital) default to the policy's home region.
    pub region: Option<String>,
    /// Required for an employer actor.
    pub employer_id: Option<String>,
    /// A pharmacy, hospital, bank or kiosk terminal's 16-digit PSAM number (R-KM-1): every
    /// request of the terminal then carries `X-Terminal-Counter` and `X-Terminal-MAC`, and its
    /// operations on a physical card `card_auth`. Unique; 422 `invalid_psam_no` otherwise.
    pub psam_no: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct NewActorResponse {
    pub id: String,
    /// Shown once. Only its digest is stored.
    pub token: String,
    pub role: String,
    pub region: Option<String>,
    /// The terminal's PSAM number, when it holds one.
    pub psam_no: Option<String>,
}

/// An actor as the admin sees it (never its token).
#[derive(Serialize, ToSchema)]
pub struct ActorView {
    pub id: String,
    pub role: String,
    pub name: String,
    pub region: Option<String>,
    pub employer_id: Option<String>,
    pub created_at: String,
    /// `api`, `env` (`SHEBAO_ADMIN_TOKEN`), `generated` (the first start's token) or `startup`.
    pub source: String,
    /// When the token stopped working, or null.
    pub revoked_at: Option<String>,
    /// A terminal's PSAM number, or null (a bearer-token actor).
    pub psam_no: Option<String>,
    /// The highest request counter accepted from the PSAM terminal (0: none yet).
    pub psam_counter: Option<u64>,
    /// When the PSAM terminal's last request was accepted.
    pub psam_used_at: Option<String>,
}

impl From<Actor> for ActorView {
    fn from(a: Actor) -> Self {
        ActorView {
            id: a.id,
            role: a.role.as_str().to_owned(),
            name: a.name,
            region: a.region.map(|r| r.as_str().to_owned()),
            employer_id: a.employer_id,
            created_at: ts(a.created_at),
            source: a.source.as_str().to_owned(),
            revoked_at: opt_ts(a.revoked_at),
            psam_no: a.psam.as_ref().map(|p| p.psam_no.clone()),
            psam_counter: a.psam.as_ref().map(|p| p.counter),
            psam_used_at: a.psam.and_then(|p| p.used_at).map(ts),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ActorListResponse {
    pub actors: Vec<ActorView>,
    /// Pass as `after` to read on.
    pub next_after: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClockRequest {
    /// ISO 8601 duration, e.g. `P1D`, `PT24H`, `PT0S` (read only).
    pub advance: Option<String>,
    /// RFC 3339 instant to jump to (never backwards).
    pub set: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct ClockResponse {
    pub now: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LegacyCardRequest {
    pub number: String,
    pub balance_fen: i64,
    /// The old card's 6-digit password, if it had one. Stored only as a keyed verifier.
    #[schema(value_type = Option<String>)]
    pub password: Option<Secret>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewPersonRequest {
    /// 18-character citizen ID number (R-ID-1).
    pub id_number: String,
    pub name: String,
    pub phone: Option<String>,
    /// employee, retiree, resident or flexible.
    pub kind: String,
    pub employer_id: Option<String>,
    pub region: Option<String>,
    pub contribution_base_fen: Option<i64>,
    pub legacy_card: Option<LegacyCardRequest>,
}

#[derive(Serialize, ToSchema)]
pub struct LegacyCardView {
    pub number: String,
    pub balance_fen: i64,
    /// When its balance moved to the new card (R-ACT-4); it no longer works for medical use.
    pub migrated_at: Option<String>,
    pub has_password: bool,
}

#[derive(Serialize, ToSchema)]
pub struct CardRef {
    pub card_no: String,
    pub status: String,
}

/// A person. The hotline is answered the cards only (API.md "Conventions": terminals never
/// receive a holder's name, ID number, phone or bank card number); every other field is then
/// absent.
#[derive(Serialize, ToSchema)]
pub struct PersonResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub birth_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub employer_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contribution_base_fen: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_card: Option<LegacyCardView>,
    pub cards: Vec<CardRef>,
    /// Whether the holder has replaced the initial online query password (R-PW-8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub query_password_set: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_at: Option<String>,
}

impl PersonResponse {
    /// The person as `role` may see them.
    pub fn new(v: PersonView, role: Role) -> Self {
        let cards = v
            .cards
            .into_iter()
            .map(|c| CardRef {
                card_no: c.card_no.to_string(),
                status: c.status.as_str().to_owned(),
            })
            .collect();
        if !role.sees_personal_data() {
            return PersonResponse {
                id_number: None,
                name: None,
                birth_date: None,
                phone: None,
                kind: None,
                employer_id: None,
                region: None,
                contribution_base_fen: None,
                legacy_card: None,
                cards,
                query_password_set: None,
                created_at: None,
            };
        }
        let p = v.person;
        PersonResponse {
            birth_date: Some(p.id_number.birth_date().to_string()),
            id_number: Some(p.id_number.as_str().to_owned()),
            name: Some(p.name),
            phone: p.phone.map(|x| x.as_str().to_owned()),
            kind: Some(p.kind.as_str().to_owned()),
            employer_id: p.employer_id,
            region: Some(p.region.as_str().to_owned()),
            contribution_base_fen: p.contribution_base.map(|f| f.0),
            legacy_card: v.legacy.map(|l| LegacyCardView {
                number: l.number,
                balance_fen: l.balance.0,
                migrated_at: opt_ts(l.migrated_at),
                has_password: p.legacy_card.as_ref().is_some_and(|c| c.password.is_some()),
            }),
            cards,
            query_password_set: Some(p.query_password_hash.is_some()),
            created_at: Some(ts(p.created_at)),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewEmployerRequest {
    pub name: String,
    pub region: Option<String>,
    pub prev_year_avg_wage_fen: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct EmployerResponse {
    pub id: String,
    pub name: String,
    pub region: String,
    pub prev_year_avg_wage_fen: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCardRequest {
    pub id_number: String,
}

/// Plain words for a locked account and what to do (R-LK-5).
#[derive(Serialize, ToSchema)]
pub struct LockMessageView {
    pub zh: String,
    pub en: String,
}

impl From<LockMessage> for LockMessageView {
    fn from(m: LockMessage) -> Self {
        LockMessageView {
            zh: m.zh.into(),
            en: m.en.into(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct SsAccountView {
    /// `inactive` or `active`.
    pub state: String,
    /// After bank activation: when the account activates by itself (R-ACT-2).
    pub activates_at: Option<String>,
    pub password_enabled: bool,
    pub locked: bool,
    /// `password`, `employer_arrears`, `loss`, or null.
    pub lock_reason: Option<String>,
    pub lock_message: Option<LockMessageView>,
    pub remaining_tries: u32,
    /// While no password is enabled, what the holder is told the initial one is (R-PW-3, the
    /// region's rule): `123456`, `id_last_six` (the last six characters of the ID number, X as
    /// 0), `card_last_six` (the last six digits of the card number) or `none` (there is none:
    /// the holder chooses the first freely). Null once a password is enabled.
    pub initial_password: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct FinAccountView {
    /// `inactive` or `active`.
    pub state: String,
    pub locked: bool,
    /// `password` (lifts by itself the next day, R-LK-3), `loss` (the bank's loss, R-LS-6), or null.
    pub lock_reason: Option<String>,
    /// When the bank recorded the financial account lost (R-LS-6).
    pub lost_at: Option<String>,
    /// When the bank lock lifts: 00:00 Asia/Shanghai the next day (R-LK-3).
    pub locked_until: Option<String>,
    pub lock_message: Option<LockMessageView>,
    pub remaining_tries: u32,
}

/// A card and its two accounts. Pharmacies, hospitals, the hotline and the SMS platform are
/// answered the card's number, status and account states only (API.md "Conventions"): the
/// holder's ID number and name, the serial and the bank card number are then absent, and so
/// is the balance for all of them but the pharmacy, which pays from it (R-MS-1).
#[derive(Serialize, ToSchema)]
pub struct CardResponse {
    pub card_no: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `issued`, `active`, `lost` or `replaced`.
    pub status: String,
    /// The card's identification code (used in the `K+serial` SMS).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bank_card_no: Option<String>,
    pub issued_at: String,
    pub ss_account: SsAccountView,
    pub fin_account: FinAccountView,
    /// Personal medical account balance.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub balance_fen: Option<i64>,
    /// The loss in force (R-LS-1..3), or null.
    pub loss: Option<LossView>,
    /// On a replacement card: what it replaces, when it is ready, the fee (R-LS-5).
    pub replacement: Option<ReplacementView>,
    /// On a replaced card: the card that replaced it.
    pub replaced_by: Option<String>,
    /// The electronic card (R-KM-2): it reads and acts on this card's state.
    pub ecard: EcardView,
}

#[derive(Serialize, ToSchema)]
pub struct LossView {
    /// `pre`, `temporary` or `formal`.
    pub kind: String,
    pub reported_at: String,
    /// A pre-loss lapses by itself here (R-LS-1: the policy's days × 24 h after the report).
    pub lapses_at: Option<String>,
    /// How it was reported: `hotline`, `window`, `written`, `self_service_terminal`,
    /// `medical_institution` or `online`.
    pub channel: String,
}

#[derive(Serialize, ToSchema)]
pub struct ReplacementView {
    pub replaces: String,
    /// `lost`, `damaged`, `data_changed` or `data_error`.
    pub reason: String,
    /// The production period ends: collectable from this day (R-LS-5).
    pub ready_on: String,
    pub fee_fen: i64,
    pub collected_at: Option<String>,
}

fn state(active: bool) -> String {
    if active { "active" } else { "inactive" }.to_owned()
}

impl CardResponse {
    /// The card as `role` may see it (API.md "Conventions").
    pub fn new(v: CardView, role: Role) -> Self {
        let personal = role.sees_personal_data();
        let keep = |value: String| personal.then_some(value);
        CardResponse {
            card_no: v.card.card_no.to_string(),
            id_number: keep(v.card.id_number.as_str().to_owned()),
            name: keep(v.holder_name),
            status: v.card.status.as_str().to_owned(),
            serial: keep(v.card.serial),
            bank_card_no: keep(v.card.bank_card_no),
            issued_at: ts(v.card.issued_at),
            ss_account: SsAccountView {
                state: state(v.ss.active),
                activates_at: opt_ts(v.ss.activates_at),
                password_enabled: v.ss.password_enabled,
                locked: v.ss.locked,
                lock_reason: v.ss.lock_reason.map(|r| r.as_str().to_owned()),
                lock_message: v.ss.lock_message.map(Into::into),
                remaining_tries: v.ss.remaining_tries,
                initial_password: v.ss.initial_password.map(|i| i.as_str().to_owned()),
            },
            fin_account: FinAccountView {
                state: state(v.fin.active),
                locked: v.fin.locked,
                lock_reason: v.fin.lock_reason.map(|r| r.as_str().to_owned()),
                lost_at: opt_ts(v.fin.lost_at),
                locked_until: opt_ts(v.fin.locked_until),
                lock_message: v.fin.lock_message.map(Into::into),
                remaining_tries: v.fin.remaining_tries,
            },
            balance_fen: role.sees_balance().then_some(v.card.balance.0),
            loss: v.card.loss.as_ref().map(|l| LossView {
                kind: l.kind.as_str().to_owned(),
                reported_at: ts(l.reported_at),
                lapses_at: opt_ts(l.lapses_at),
                channel: l.channel.clone(),
            }),
            replacement: v.card.replacement.as_ref().map(|r| ReplacementView {
                replaces: r.replaces.to_string(),
                reason: r.reason.as_str().to_owned(),
                ready_on: r.ready_on.to_string(),
                fee_fen: r.fee.0,
                collected_at: opt_ts(r.collected_at),
            }),
            replaced_by: v.card.replaced_by.as_ref().map(ToString::to_string),
            ecard: EcardView::of(v.card.ecard_active_at.is_some()),
        }
    }
}

/// The electronic social security card (电子社保卡, R-KM-2): a state of this card.
#[derive(Serialize, ToSchema)]
pub struct EcardView {
    /// `inactive` or `active`.
    pub state: String,
}

impl EcardView {
    pub fn of(active: bool) -> EcardView {
        EcardView {
            state: if active { "active" } else { "inactive" }.to_owned(),
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ActivationRequestBody {
    /// bank, hospital, sms, service_center, pharmacy_old_card or pharmacy_old_password.
    pub channel: String,
    /// Channel `bank`: the holder's new financial password.
    #[schema(value_type = Option<String>)]
    pub fin_password: Option<Secret>,
    /// Channel `pharmacy_old_password`: the old medical card's password, kept on the new card.
    #[schema(value_type = Option<String>)]
    pub old_card_password: Option<Secret>,
    /// Channel `sms` (required): the sender's number; must be the holder's registered phone.
    pub sms_from: Option<String>,
    /// Channel `sms` (required): the message text, `K` + the card's serial.
    pub sms_text: Option<String>,
    /// Channel `pharmacy_old_card` (required): the old medical card's number as read from it;
    /// must be this holder's old card.
    pub old_card_number: Option<String>,
    /// From a PSAM terminal: the card chip's answer (operation `activation`, R-KM-1).
    pub card_auth: Option<CardAuthBody>,
}

/// The card chip's answer (R-KM-1, API.md "Keys and terminals"): `cryptogram` = MAC(card key,
/// `CARD_NO|COUNTER|OPERATION|CLIENT_TXN_ID|AMOUNT_FEN`), the card key being the city card
/// key dispersed by the last 8 bytes of the card's serial. Missing from a PSAM terminal → 422
/// `card_auth_required`; wrong → 422 `bad_card_auth`; a counter not above the card's last →
/// 422 `card_replayed`.
#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct CardAuthBody {
    /// The card's counter, above its last use.
    pub counter: u64,
    /// 8 hex digits.
    pub cryptogram: String,
}

impl From<CardAuthBody> for shebao_service::CardAuth {
    fn from(b: CardAuthBody) -> Self {
        shebao_service::CardAuth {
            counter: b.counter,
            cryptogram: b.cryptogram,
        }
    }
}

/// A holder's SMS as the SMS platform received it.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SmsInboundRequest {
    /// The sender's phone number.
    pub from: String,
    /// The message text, e.g. `K` + the card's 32-character serial.
    pub text: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    #[schema(value_type = String)]
    pub password: Secret,
}

#[derive(Serialize, ToSchema)]
pub struct VerifyResponse {
    pub verified: bool,
    pub password_enabled: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePasswordRequest {
    /// Required once the password is enabled (D-7).
    #[schema(value_type = Option<String>)]
    pub old_password: Option<Secret>,
    #[schema(value_type = String)]
    pub new_password: Secret,
    /// From a PSAM terminal changing the social-security password: the card chip's answer
    /// (operation `ss_password`, R-KM-1). Not used for the financial password.
    pub card_auth: Option<CardAuthBody>,
}

#[derive(Serialize, ToSchema)]
pub struct PasswordChangedResponse {
    pub password_enabled: bool,
    /// Set when a weak password was accepted under a `warn` policy (R-PW-2).
    pub warning: Option<String>,
}

/// What the clerk or bank checked (R-LK-2, R-LK-4).
#[derive(Deserialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
pub struct EvidenceBody {
    pub holder_present: bool,
    pub holder_id_checked: bool,
    pub agent_id_number: Option<String>,
    #[serde(default)]
    pub power_of_attorney: bool,
    #[serde(default)]
    pub employer_letter: bool,
    /// Collection of a replacement card: the pickup certificate (领卡证明, R-LS-5).
    #[serde(default)]
    pub pickup_certificate: bool,
}

impl EvidenceBody {
    pub fn into_domain(self) -> Result<Evidence, ServiceError> {
        let agent_id_number = match self.agent_id_number.as_deref() {
            None => None,
            Some(s) => Some(IdNumber::parse_shape(s).map_err(|e| {
                ServiceError::invalid("invalid_id_number", format!("agent_id_number: {e}"))
            })?),
        };
        Ok(Evidence {
            holder_present: self.holder_present,
            holder_id_checked: self.holder_id_checked,
            agent_id_number,
            power_of_attorney: self.power_of_attorney,
            employer_letter: self.employer_letter,
            pickup_certificate: self.pickup_certificate,
        })
    }
}

pub fn evidence(body: Option<EvidenceBody>) -> Result<Option<Evidence>, ServiceError> {
    body.map(EvidenceBody::into_domain).transpose()
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ResetRequest {
    /// Without it the original, not-enabled password is restored (R-PW-7).
    #[schema(value_type = Option<String>)]
    pub new_password: Option<Secret>,
    pub evidence: Option<EvidenceBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EvidenceRequest {
    pub evidence: Option<EvidenceBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    pub id_number: String,
    #[schema(value_type = String)]
    pub query_password: Secret,
}

#[derive(Serialize, ToSchema)]
pub struct LoginResponse {
    pub token: String,
    pub must_change_password: bool,
    pub expires_at: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QueryPasswordRequest {
    #[schema(value_type = String)]
    pub old_password: Secret,
    #[schema(value_type = String)]
    pub new_password: Secret,
}

#[derive(Serialize, ToSchema)]
pub struct OkResponse {
    pub ok: bool,
}

#[derive(Serialize, ToSchema)]
pub struct EvidenceView {
    pub holder_present: bool,
    pub holder_id_checked: bool,
    pub agent_id_number: Option<String>,
    pub power_of_attorney: bool,
    pub employer_letter: bool,
    pub pickup_certificate: bool,
}

#[derive(Serialize, ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor_id: String,
    pub actor_role: String,
    pub region: Option<String>,
    pub channel: String,
    pub action: String,
    pub card_no: Option<String>,
    pub id_number: Option<String>,
    pub evidence: Option<EvidenceView>,
    pub outcome: String,
    /// A purchase's or visit's: how the holder was authenticated — `password`, `not_enabled`
    /// (no password is enabled), `card` (a visit that needs none, R-PW-5) or `ecard`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub authorised_by: Option<String>,
    pub detail: Option<String>,
}

impl From<AuditRecord> for AuditEntry {
    fn from(a: AuditRecord) -> Self {
        AuditEntry {
            seq: a.seq.unwrap_or_default(),
            at: ts(a.at),
            actor_id: a.actor_id,
            actor_role: a.actor_role.as_str().to_owned(),
            region: a.actor_region,
            channel: a.channel,
            action: a.action.as_str().to_owned(),
            card_no: a.card_no.map(|c| c.to_string()),
            id_number: a.id_number.map(|i| i.as_str().to_owned()),
            evidence: a.evidence.map(|e| EvidenceView {
                holder_present: e.holder_present,
                holder_id_checked: e.holder_id_checked,
                agent_id_number: e.agent_id_number.map(|i| i.as_str().to_owned()),
                power_of_attorney: e.power_of_attorney,
                employer_letter: e.employer_letter,
                pickup_certificate: e.pickup_certificate,
            }),
            outcome: a.outcome.as_str().to_owned(),
            authorised_by: a.authorised_by.map(|x| x.as_str().to_owned()),
            detail: a.detail,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct AuditResponse {
    pub records: Vec<AuditEntry>,
    /// Pass as `after` to read on.
    pub next_after: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct LedgerView {
    pub seq: i64,
    pub at: String,
    /// The card the movement was made on (the ledger follows the holder onto a replacement).
    pub card_no: String,
    pub kind: String,
    pub amount_fen: i64,
    pub balance_after_fen: i64,
    pub reference: Option<String>,
}

impl From<LedgerEntry> for LedgerView {
    fn from(e: LedgerEntry) -> Self {
        LedgerView {
            seq: e.seq.unwrap_or_default(),
            at: ts(e.at),
            card_no: e.card_no.to_string(),
            kind: e.kind.as_str().to_owned(),
            amount_fen: e.amount.0,
            balance_after_fen: e.balance_after.0,
            reference: e.reference,
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct LedgerResponse {
    pub card_no: String,
    pub entries: Vec<LedgerView>,
    /// Pass as `after` to read on.
    pub next_after: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LossRequest {
    /// `pre` (lapses by itself after the policy's days, R-LS-1), `temporary` (until released,
    /// R-LS-2) or `formal` (final; clerk only, with evidence, R-LS-3).
    pub kind: String,
    /// Where it was reported. Hotline: `hotline`. Clerk: `window` or `written`. Hospital:
    /// `medical_institution`. Cardholder: `online` or `self_service_terminal`. Defaults to the
    /// first of the caller's channels.
    pub channel: Option<String>,
    /// Required for `formal`: the holder in person with ID, or an agent with both IDs and a
    /// power of attorney.
    pub evidence: Option<EvidenceBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HotlinePreLossRequest {
    /// The caller's ID number (= social security number). Never a password (R-LS-4).
    pub id_number: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplacementRequest {
    /// `lost` (records the formal loss too), `damaged`, `data_changed`, or `data_error` (the
    /// bureau's own error on the card face: free, R-ID-2).
    pub reason: String,
    /// The holder in person with ID, or an agent with both IDs and a power of attorney.
    pub evidence: Option<EvidenceBody>,
}

#[derive(Serialize, ToSchema)]
pub struct ReplacementResponse {
    pub old_card_no: String,
    pub new_card_no: String,
    /// The N-th working day after the application (R-LS-5, D-3): collectable from this day.
    pub ready_on: String,
    /// The card fee (R-AC-3); 0 for the bureau's own data error (R-ID-2).
    pub fee_fen: i64,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TransferRequest {
    /// The new insured region within the city (6-digit division code).
    pub region: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarLoadRequest {
    /// The arrangement in the shipped CSV format: a `# years: YYYY` line, then
    /// `YYYY-MM-DD,holiday,<name>` and `YYYY-MM-DD,workday,<name>` lines.
    pub csv: String,
}

#[derive(Serialize, ToSchema)]
pub struct CalendarResponse {
    /// Every year the working-day calendar can answer for.
    pub years: Vec<i16>,
    /// The years this request loaded (POST only).
    pub loaded: Vec<i16>,
}

/// One month of a person's contribution record (R-CR-2).
#[derive(Serialize, ToSchema)]
pub struct ContributionView {
    /// `YYYY-MM`.
    pub month: String,
    pub employer_id: String,
    /// The month's contribution base (null for a retiree).
    pub base_fen: Option<i64>,
    /// What the employer owes for this person this month (both parts).
    pub assessed_fen: i64,
    /// The employee's own part (2 % of the base).
    pub employee_part_fen: i64,
    /// The employer's month is paid in full.
    pub paid: bool,
    /// Credited to the personal account (0 until the tax bureau's data arrives, R-EM-4).
    pub credited_fen: i64,
    /// The day it was credited, or null.
    pub credited_on: Option<String>,
}

impl From<shebao_service::ContributionLine> for ContributionView {
    fn from(l: shebao_service::ContributionLine) -> Self {
        ContributionView {
            month: l.month.to_string(),
            employer_id: l.employer_id,
            base_fen: l.base.map(|f| f.0),
            assessed_fen: l.assessed.0,
            employee_part_fen: l.employee_part.0,
            paid: l.paid,
            credited_fen: l.credit.0,
            credited_on: l.credited_on.map(|d| d.to_string()),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct ContributionsResponse {
    /// Month by month, oldest first.
    pub months: Vec<ContributionView>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CardApplicationsRequest {
    /// The people to issue cards for (1-500), insured through this employer.
    pub id_numbers: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct IssuedCard {
    pub id_number: String,
    pub card_no: String,
}

#[derive(Serialize, ToSchema)]
pub struct SkippedApplication {
    pub id_number: String,
    /// `invalid_id_number`, `listed_twice`, `not_registered`, `not_insured_here`, `has_card`
    /// or `card_lost`.
    pub reason: String,
}

#[derive(Serialize, ToSchema)]
pub struct CardApplicationsResponse {
    pub issued: Vec<IssuedCard>,
    pub skipped: Vec<SkippedApplication>,
}

impl From<shebao_service::CardApplications> for CardApplicationsResponse {
    fn from(a: shebao_service::CardApplications) -> Self {
        CardApplicationsResponse {
            issued: a
                .issued
                .into_iter()
                .map(|(id, card_no)| IssuedCard {
                    id_number: id.as_str().to_owned(),
                    card_no: card_no.to_string(),
                })
                .collect(),
            skipped: a
                .skipped
                .into_iter()
                .map(|s| SkippedApplication {
                    id_number: s.id_number,
                    reason: s.reason.to_owned(),
                })
                .collect(),
        }
    }
}
