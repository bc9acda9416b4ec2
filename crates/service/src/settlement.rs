//! Medical settlement: pharmacy purchases, hospital visits and out-of-area filings
//! (R-MS-1..4, R-PW-5, R-ACT-3, D-2, D-13).
//!
//! Checks run in one documented order and each refusal changes nothing (the one exception, as
//! everywhere, is a wrong password's count, R-LK-1):
//!
//! 1. input shape (422) → 2. a repeated `client_txn_id` (the first answer, or 409 for another
//!    body) → 3. card exists (404) → 4. card state (replaced: 409) → 5. loss (423 `loss`) →
//!    6. a replacement not collected yet (409 `not_collected`, R-LS-5) → 7. unit lock (423
//!    `employer_arrears`) → 8. account activated (purchases: 409; a hospital's first use
//!    activates it, R-ACT-3, where residents may activate there, 000 I) → 9. account lock (423
//!    `password`) → 10. password (purchases when enabled, R-PW-5, D-2; visits only for an
//!    out-of-area inpatient stay when enabled, 000 I) → 11. out-of-area filing (inpatient,
//!    R-MS-3) → 12. balance (a purchase takes what the account holds; the rest is cash, R-MS-1).

use crate::Service;
use crate::chip::{CardAuth, CardUse, check_card_auth};
use crate::ecode::{
    CodeRef, follow_replacements, genuine_code, require_fresh, require_usable_code,
};
use crate::error::ServiceError;
use crate::input::{parse_card_no, parse_date, parse_id_number, parse_pin, parse_region};
use crate::model::{
    ActivationChannel, Actor, Authorisation, FilingRecord, LedgerEntry, Settled, SettlementRecord,
};
use crate::model::{AuditAction, LedgerKind, Outcome};
use crate::months::unit_lock_for_care;
use crate::store::Committed;
use crate::store::Lock;
use crate::support::{
    Account, Audit, check_resident_channel, count_lock, load_card_for_care, load_person,
    migrate_legacy, require_role, require_usable, settle, ss_attempt,
};
use jiff::civil::Date;
use shebao_domain::settlement::{split_purchase, split_visit};
use shebao_domain::time::business_date;
use shebao_domain::{Fen, Filing, FilingKind, PasswordAttempt, Role, VisitKind};
use shebao_keys::CardOperation;
use zeroize::Zeroizing;

/// One purchase or visit is at most 1 million yuan.
const SETTLEMENT_FEN_MAX: i64 = 100_000_000;
const CLIENT_TXN_ID_CHARS_MAX: usize = 64;

pub struct NewPurchase {
    pub client_txn_id: String,
    /// The card's number, or (exactly one of the two) an electronic-card payment code.
    pub card_no: Option<String>,
    pub ecard_code: Option<String>,
    pub amount_fen: i64,
    pub password: Option<Zeroizing<String>>,
    /// The card chip's answer, from a PSAM terminal (R-KM-1).
    pub card_auth: Option<CardAuth>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PurchaseResult {
    pub paid_from_account: Fen,
    pub cash_due: Fen,
    pub balance: Fen,
}

pub struct NewVisit {
    pub client_txn_id: String,
    /// The card's number, or (exactly one of the two) an electronic-card payment code.
    pub card_no: Option<String>,
    pub ecard_code: Option<String>,
    pub kind: String,
    pub cost_fen: i64,
    pub admitted_on: Option<String>,
    /// Out-of-area inpatient stays on a card whose password is enabled (000 I).
    pub password: Option<Zeroizing<String>>,
    /// The card chip's answer, from a PSAM terminal (R-KM-1).
    pub card_auth: Option<CardAuth>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VisitResult {
    pub fund_pays: Fen,
    pub holder_pays: Fen,
}

pub struct NewFiling {
    pub id_number: String,
    pub kind: String,
    pub region: String,
    pub admitted_on: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FilingView {
    pub record: FilingRecord,
    /// Emergencies: the last day the filing could be made (R-MS-3).
    pub deadline: Option<Date>,
    /// The same filing was on record already: this is it, and nothing new was filed.
    pub existing: bool,
}

fn parse_txn_id(id: &str) -> Result<String, ServiceError> {
    let id = id.trim();
    if id.is_empty()
        || id.chars().count() > CLIENT_TXN_ID_CHARS_MAX
        || id.chars().any(char::is_control)
    {
        return Err(ServiceError::invalid(
            "invalid_client_txn_id",
            format!("client_txn_id is 1-{CLIENT_TXN_ID_CHARS_MAX} characters"),
        ));
    }
    Ok(id.to_owned())
}

/// R-MS-4: amounts are positive — the personal account pays for care and medicine, and no
/// request takes money out of it any other way (no refund in cash, no withdrawal).
fn parse_amount(amount: i64, field: &str) -> Result<Fen, ServiceError> {
    if !(1..=SETTLEMENT_FEN_MAX).contains(&amount) {
        return Err(ServiceError::invalid(
            "invalid_amount",
            format!("{field} must be between 1 and {SETTLEMENT_FEN_MAX}"),
        ));
    }
    Ok(Fen(amount))
}

/// Runs a settlement's transaction. Should a racing repeat of the same `client_txn_id` have
/// committed first (only PostgreSQL runs two at once: the key's unique index then refuses the
/// second, which rolls back whole), it runs once more and finds the first answer there
/// (STYLE 11), so racing repeats all get the first answer and never a 500.
async fn write_once_per_txn_id<T, F>(db: &crate::store::Database, op: F) -> Result<T, ServiceError>
where
    T: Send + 'static,
    F: Fn(&mut dyn crate::store::Tx) -> Result<T, ServiceError> + Send + Sync + 'static,
{
    let op = std::sync::Arc::new(op);
    let again = op.clone();
    match db.write(move |tx| op(tx)).await {
        Err(ServiceError::Store(crate::store::StoreError::Duplicate(_))) => {
            db.write(move |tx| again(tx)).await
        }
        other => other,
    }
}

/// Steps 3-6 of the check order for fund-paid care, the one gate purchases and visits pass:
/// the card exists (404), is settled to `now`, is not replaced (409) or lost (423 `loss`), is
/// collected if it is a replacement (409 `not_collected`), and its holder's employer holds no
/// unit lock (423 `employer_arrears`, R-EM-2, D-13). Returns the
/// card, locked for the change. Before any of that tells a terminal what
/// state the card is in, a PSAM terminal proves the card is present (R-KM-1: 422
/// `card_auth_required` / `bad_card_auth` / `card_replayed`). The employer the unit lock
/// looks at comes with the card's row (the column follows the person), so no person is read.
fn card_for_care(
    tx: &mut dyn crate::store::Tx,
    card: &CardRef,
    now: jiff::Timestamp,
    policy: &shebao_domain::Policy,
    present: Presence<'_>,
) -> Result<shebao_domain::Card, ServiceError> {
    let (mut card, employer) = match card {
        CardRef::Number(card_no) => {
            let (mut card, employer) = load_card_for_care(tx, card_no, Lock::ForUpdate)?;
            check_card_auth(
                present.keys,
                present.actor,
                &mut card,
                present.auth,
                present.usage,
            )?;
            (card, employer)
        }
        // R-KM-2, D-16: a code stands in for the chip; it reaches the holder's current card,
        // whose electronic form must be active. Every card of a person carries the same
        // employer, so the first card's is the current card's.
        CardRef::Code { code, expires } => {
            require_fresh(*expires, now)?;
            let (first, employer) = load_card_for_care(tx, &code.card_no, Lock::ForUpdate)?;
            let card = follow_replacements(tx, first)?;
            require_usable_code(&card, code.number)?;
            (card, employer)
        }
    };
    settle(tx, &mut card, now, policy)?;
    require_usable(&card)?;
    // R-LS-5: a replacement card is collected with ID before any use, a hospital's first use
    // included.
    if !card.is_collected() {
        return Err(ServiceError::not_collected());
    }
    if unit_lock_for_care(tx, policy, employer.as_deref(), business_date(now))?.is_some() {
        return Err(ServiceError::unit_locked());
    }
    Ok(card)
}

/// Which card a purchase or visit is for (API.md: exactly one of `card_no` and `ecard_code`).
#[derive(Debug, Clone)]
enum CardRef {
    Number(shebao_domain::CardNo),
    /// A genuine electronic-card payment code (R-KM-2): the card it was made for and its
    /// number there, its MACs checked before any database read, and the second it expires at
    /// (checked after the `client_txn_id` lookup, so that a late repeat of a payment by code
    /// gets the first answer).
    Code {
        code: CodeRef,
        expires: i64,
    },
}

impl CardRef {
    fn parse(
        keys: &dyn shebao_keys::KeyStore,
        card_no: Option<&str>,
        ecard_code: Option<&str>,
    ) -> Result<CardRef, ServiceError> {
        match (card_no, ecard_code) {
            (Some(no), None) => Ok(CardRef::Number(parse_card_no(no)?)),
            (None, Some(code)) => {
                let (code, expires) = genuine_code(keys, code)?;
                Ok(CardRef::Code { code, expires })
            }
            _ => Err(ServiceError::invalid(
                "invalid_card_no",
                "send card_no or ecard_code: exactly one",
            )),
        }
    }

    /// How the request names the card, for telling a repeat from another request.
    fn describe(&self) -> String {
        match self {
            CardRef::Number(no) => no.to_string(),
            CardRef::Code { code, .. } => format!("ecard:{}:{:08X}", code.card_no, code.number),
        }
    }

    /// After a payment succeeded: a code is used up with it, on the card row the payment
    /// updates (D-16); a refused payment never gets here, so it leaves the code usable.
    fn use_up(&self, card: &mut shebao_domain::Card) {
        if let CardRef::Code { code, .. } = self {
            card.ecard_codes.use_up(code.number);
        }
    }

    fn is_code(&self) -> bool {
        matches!(self, CardRef::Code { .. })
    }
}

/// What proves a physical card was at a PSAM terminal (see [`check_card_auth`]).
struct Presence<'a> {
    keys: &'a dyn shebao_keys::KeyStore,
    actor: &'a Actor,
    auth: Option<&'a CardAuth>,
    usage: CardUse<'a>,
}

/// STYLE 11: the first answer for a repeated id with the same body; 409 for another body.
fn replay(
    existing: Option<SettlementRecord>,
    request: &str,
) -> Result<Option<Settled>, ServiceError> {
    match existing {
        None => Ok(None),
        Some(r) if r.request == request => Ok(Some(r.settled)),
        Some(r) => Err(ServiceError::conflict(
            "client_txn_id_reused",
            format!(
                "client_txn_id {} was used for another request",
                r.client_txn_id
            ),
        )),
    }
}

impl Service {
    /// `POST /purchases` (R-MS-1, R-PW-5, D-2).
    pub async fn purchase(
        &self,
        actor: &Actor,
        input: NewPurchase,
    ) -> Result<PurchaseResult, ServiceError> {
        require_role(actor, &[Role::Pharmacy])?;
        let txn = parse_txn_id(&input.client_txn_id)?;
        let amount = parse_amount(input.amount_fen, "amount_fen")?;
        let pin = match input.password.as_deref() {
            Some(p) => Some(parse_pin(Some(p), "password")?),
            None => None,
        };
        drop(input.password);
        let now = self.clock.now();
        let card_ref = CardRef::parse(
            &*self.city_keys,
            input.card_no.as_deref(),
            input.ecard_code.as_deref(),
        )?;
        let request = format!("purchase {} {}", card_ref.describe(), amount.0);
        let (actor, policy, keys) = (actor.clone(), self.policy.clone(), self.keys.clone());
        let (city_keys, card_auth) = (self.city_keys.clone(), input.card_auth);
        let result = write_once_per_txn_id(&self.db, move |tx| {
            if let Some(Settled::Purchase {
                paid_from_account,
                cash_due,
                balance_after,
            }) = replay(tx.settlement(&actor.id, &txn)?, &request)?
            {
                return Ok(Committed::Answer(PurchaseResult {
                    paid_from_account,
                    cash_due,
                    balance: balance_after,
                }));
            }
            let present = Presence {
                keys: &*city_keys,
                actor: &actor,
                auth: card_auth.as_ref(),
                usage: CardUse {
                    operation: CardOperation::Purchase,
                    client_txn_id: Some(&txn),
                    amount_fen: Some(amount.0),
                },
            };
            let mut card = card_for_care(tx, &card_ref, now, &policy, present)?;
            if !card.ss.is_active() {
                return Err(ServiceError::ss_not_activated());
            }
            if card.ss.is_locked() {
                return Err(ServiceError::password_locked());
            }
            if card.ss.password_enabled() {
                let Some(pin) = &pin else {
                    return Err(ServiceError::invalid(
                        "invalid_password",
                        "this card's password is enabled: the holder enters it (R-PW-5)",
                    ));
                };
                match ss_attempt(&mut card, now, &policy, &keys, pin)? {
                    PasswordAttempt::Verified | PasswordAttempt::NotEnabled => {}
                    PasswordAttempt::Locked => return Err(ServiceError::password_locked()),
                    PasswordAttempt::Wrong { remaining } => {
                        // The count is kept (R-LK-1): commit it, then answer 422.
                        tx.update_card(&card)?;
                        Audit::new(AuditAction::Purchase)
                            .card(&card)
                            .outcome(if remaining == 0 {
                                Outcome::Locked
                            } else {
                                Outcome::WrongPassword
                            })
                            .detail(format!(
                                "wrong password, {remaining} tries left; nothing paid"
                            ))
                            .record(tx, &actor, now)?;
                        return Ok(Committed::Refusal(ServiceError::WrongPassword {
                            remaining_tries: Some(remaining),
                        }));
                    }
                }
            }
            let (paid, cash) = split_purchase(card.balance, amount);
            card.balance = card
                .balance
                .checked_sub(paid)
                .ok_or_else(|| ServiceError::Internal("balance underflow".into()))?;
            card_ref.use_up(&mut card);
            tx.update_card(&card)?;
            if paid.0 > 0 {
                tx.append_ledger(&LedgerEntry {
                    seq: None,
                    card_no: card.card_no.clone(),
                    id_number: card.id_number.clone(),
                    at: now,
                    kind: LedgerKind::Purchase,
                    amount: Fen(-paid.0),
                    balance_after: card.balance,
                    reference: Some(txn.clone()),
                })?;
            }
            tx.insert_settlement(&SettlementRecord {
                actor_id: actor.id.clone(),
                client_txn_id: txn.clone(),
                card_no: card.card_no.clone(),
                request: request.clone(),
                settled: Settled::Purchase {
                    paid_from_account: paid,
                    cash_due: cash,
                    balance_after: card.balance,
                },
                at: now,
            })?;
            Audit::new(AuditAction::Purchase)
                .card(&card)
                .authorised_by(if card_ref.is_code() {
                    Authorisation::Ecard
                } else if card.ss.password_enabled() {
                    Authorisation::Password
                } else {
                    Authorisation::NotEnabled
                })
                .detail(format!(
                    "purchase {txn}: {} fen, {} from the personal account, {} in cash",
                    amount.0, paid.0, cash.0
                ))
                .record(tx, &actor, now)?;
            Ok(Committed::Answer(PurchaseResult {
                paid_from_account: paid,
                cash_due: cash,
                balance: card.balance,
            }))
        })
        .await?
        .into_result();
        count_lock(result, Account::Social, "purchase")
    }

    /// `POST /visits` (R-MS-2, R-MS-3, R-ACT-3): no password; the fund pays.
    pub async fn visit(&self, actor: &Actor, input: NewVisit) -> Result<VisitResult, ServiceError> {
        require_role(actor, &[Role::Hospital])?;
        let txn = parse_txn_id(&input.client_txn_id)?;
        let kind = VisitKind::parse(&input.kind).ok_or_else(|| {
            ServiceError::invalid(
                "invalid_kind",
                "kind is outpatient, chronic_outpatient or inpatient",
            )
        })?;
        let cost = parse_amount(input.cost_fen, "cost_fen")?;
        let pin = match input.password.as_deref() {
            Some(p) => Some(parse_pin(Some(p), "password")?),
            None => None,
        };
        drop(input.password);
        let now = self.clock.now();
        let today = business_date(now);
        let admitted_on = match input.admitted_on.as_deref() {
            Some(d) => parse_date(d, "admitted_on")?,
            None => today,
        };
        if admitted_on > today {
            return Err(ServiceError::invalid(
                "invalid_date",
                "admitted_on lies in the future",
            ));
        }
        let card_ref = CardRef::parse(
            &*self.city_keys,
            input.card_no.as_deref(),
            input.ecard_code.as_deref(),
        )?;
        let request = format!(
            "visit {} {} {} {admitted_on}",
            card_ref.describe(),
            kind.as_str(),
            cost.0
        );
        let region = actor
            .region
            .clone()
            .ok_or_else(|| ServiceError::Internal("a hospital actor always has a region".into()))?;
        let (actor, policy, keys) = (actor.clone(), self.policy.clone(), self.keys.clone());
        let (city_keys, card_auth) = (self.city_keys.clone(), input.card_auth);
        let result = write_once_per_txn_id(&self.db, move |tx| {
                if let Some(Settled::Visit {
                    fund_pays,
                    holder_pays,
                    ..
                }) = replay(tx.settlement(&actor.id, &txn)?, &request)?
                {
                    return Ok(Committed::Answer(VisitResult {
                        fund_pays,
                        holder_pays,
                    }));
                }
                let present = Presence {
                    keys: &*city_keys,
                    actor: &actor,
                    auth: card_auth.as_ref(),
                    usage: CardUse {
                        operation: CardOperation::Visit,
                        client_txn_id: Some(&txn),
                        amount_fen: Some(cost.0),
                    },
                };
                let mut card = card_for_care(tx, &card_ref, now, &policy, present)?;
                let person = load_person(tx, &card.id_number, Lock::Read)?;
                let mut audit = Audit::new(AuditAction::Visit).card(&card);
                if !card.ss.is_active() {
                    // R-ACT-3: the first use at a designated hospital activates the account —
                    // where residents may activate there (000 I).
                    check_resident_channel(&policy, &person, ActivationChannel::Hospital)?;
                    card.activate_ss(now);
                    migrate_legacy(tx, &mut card, now, &policy)?;
                    audit = audit.outcome(Outcome::OkActivated);
                }
                if card.ss.is_locked() {
                    return Err(ServiceError::password_locked());
                }
                let out_of_area = person.region != region;
                // R-PW-5: a visit needs no password; out-of-area hospitalisation uses the card's
                // password where it is enabled (000 I), counted like any try (R-LK-1).
                let authorised_by = if !card.ss.password_enabled() {
                    Authorisation::NotEnabled
                } else if out_of_area && kind == VisitKind::Inpatient {
                    let Some(pin) = &pin else {
                        return Err(ServiceError::invalid(
                            "invalid_password",
                            "an out-of-area inpatient stay uses the card's password: the holder enters it (000 I)",
                        ));
                    };
                    match ss_attempt(&mut card, now, &policy, &keys, pin)? {
                        PasswordAttempt::Verified | PasswordAttempt::NotEnabled => {}
                        PasswordAttempt::Locked => return Err(ServiceError::password_locked()),
                        PasswordAttempt::Wrong { remaining } => {
                            tx.update_card(&card)?;
                            audit
                                .outcome(if remaining == 0 {
                                    Outcome::Locked
                                } else {
                                    Outcome::WrongPassword
                                })
                                .detail(format!(
                                    "out-of-area inpatient stay: wrong password, {remaining} tries left; nothing settled"
                                ))
                                .record(tx, &actor, now)?;
                            return Ok(Committed::Refusal(ServiceError::WrongPassword {
                                remaining_tries: Some(remaining),
                            }));
                        }
                    }
                    Authorisation::Password
                } else {
                    Authorisation::Card
                };
                if out_of_area && kind == VisitKind::Inpatient {
                    let covered = tx
                        .filings_of(&person.id_number)?
                        .iter()
                        .any(|f| f.filing.covers(&region, admitted_on));
                    if !covered {
                        return Err(ServiceError::invalid(
                            "filing_required",
                            format!(
                                "an out-of-area inpatient stay in {} needs a filing with the insured place (R-MS-3)",
                                region.as_str()
                            ),
                        ));
                    }
                }
                let (fund, holder) = split_visit(&policy.settlement, kind, cost);
                card_ref.use_up(&mut card);
                tx.update_card(&card)?;
                let authorised_by = if card_ref.is_code() {
                    Authorisation::Ecard
                } else {
                    authorised_by
                };
                tx.insert_settlement(&SettlementRecord {
                    actor_id: actor.id.clone(),
                    client_txn_id: txn.clone(),
                    card_no: card.card_no.clone(),
                    request: request.clone(),
                    settled: Settled::Visit {
                        kind,
                        fund_pays: fund,
                        holder_pays: holder,
                    },
                    at: now,
                })?;
                audit
                    .authorised_by(authorised_by)
                    .detail(format!(
                        "{} visit {txn}{}: cost {} fen, fund pays {}, holder pays {}",
                        kind.as_str(),
                        if out_of_area { " (out of area)" } else { "" },
                        cost.0,
                        fund.0,
                        holder.0
                    ))
                    .record(tx, &actor, now)?;
                Ok(Committed::Answer(VisitResult {
                    fund_pays: fund,
                    holder_pays: holder,
                }))
            })
            .await?
            .into_result();
        count_lock(result, Account::Social, "visit")
    }

    /// `POST /filings` (R-MS-3): long-term residence, emergency (within N working days of
    /// admission) or referral, by a clerk or the holder online.
    pub async fn file(&self, actor: &Actor, input: NewFiling) -> Result<FilingView, ServiceError> {
        require_role(actor, &[Role::Clerk, Role::Cardholder])?;
        let id = parse_id_number(&input.id_number)?;
        if actor.role == Role::Cardholder && !actor.is_holder_of(&id) {
            return Err(ServiceError::forbidden(
                "a holder files for themselves; an agent files at a window",
            ));
        }
        let kind = FilingKind::parse(&input.kind).ok_or_else(|| {
            ServiceError::invalid(
                "invalid_kind",
                "kind is long_term_residence, emergency or referral",
            )
        })?;
        let region = parse_region(Some(&input.region), &self.policy.home_region)?;
        let now = self.clock.now();
        let today = business_date(now);
        let admitted_on = match (kind, input.admitted_on.as_deref()) {
            (_, Some(d)) => Some(parse_date(d, "admitted_on")?),
            (FilingKind::Emergency, None) => {
                return Err(ServiceError::invalid(
                    "invalid_date",
                    "an emergency filing names the admission day, admitted_on",
                ));
            }
            (_, None) => None,
        };
        if admitted_on.is_some_and(|d| d > today) {
            return Err(ServiceError::invalid(
                "invalid_date",
                "admitted_on lies in the future",
            ));
        }
        let deadline = match (kind, admitted_on) {
            (FilingKind::Emergency, Some(day)) => Some(
                self.add_working_days(day, self.policy.settlement.emergency_filing_working_days)
                    .await?,
            ),
            _ => None,
        };
        let too_late = deadline.filter(|d| today > *d).map(|deadline| {
            ServiceError::invalid(
                "filing_too_late",
                format!(
                    "an emergency admission is filed within {} working days: the last day was {deadline}",
                    self.policy.settlement.emergency_filing_working_days
                ),
            )
        });
        let actor = actor.clone();
        self.db
            .write(move |tx| {
                // The person's row serialises filings for them, so racing repeats find each other.
                let person = load_person(tx, &id, Lock::ForUpdate)?;
                if person.region == region {
                    return Err(ServiceError::invalid(
                        "invalid_region",
                        "the filing is for care outside the insured region",
                    ));
                }
                // The same filing again (a double click, a retry) answers the one on record.
                if let Some(record) = tx.filings_of(&id)?.into_iter().find(|f| {
                    f.filing.kind == kind
                        && f.filing.region == region
                        && f.filing.admitted_on == admitted_on
                }) {
                    return Ok(FilingView {
                        record,
                        deadline,
                        existing: true,
                    });
                }
                if let Some(e) = too_late {
                    return Err(e);
                }
                let seq = tx.next_sequence("filing")?;
                let record = FilingRecord {
                    id: format!("F{seq:08}"),
                    id_number: id.clone(),
                    filing: Filing {
                        kind,
                        region,
                        filed_on: today,
                        admitted_on,
                    },
                    filed_at: now,
                    actor_id: actor.id.clone(),
                };
                tx.insert_filing(&record)?;
                Audit::new(AuditAction::Filing)
                    .person(&id)
                    .detail(format!(
                        "{} filing {} for region {}",
                        kind.as_str(),
                        record.id,
                        record.filing.region.as_str()
                    ))
                    .record(tx, &actor, now)?;
                Ok(FilingView {
                    record,
                    deadline,
                    existing: false,
                })
            })
            .await
    }
}
