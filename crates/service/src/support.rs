//! Small pieces shared by the use cases: role checks, loading with the contract's precedence,
//! writing audit records, the views with their locks, new card numbers, and the two password
//! accounts of a card.

use crate::error::ServiceError;
use crate::keys::{PinContext, PinKeyring, random_bytes};
use crate::meter::{self, LockCause};
use crate::model::{
    ActivationChannel, Actor, AuditAction, AuditRecord, Authorisation, LedgerEntry, LedgerKind,
    Outcome,
};
use crate::store::Lock;
use crate::store::Tx;
use crate::words::{FIN_LOCK_MESSAGE, FIN_LOSS_MESSAGE, LockReason};
use jiff::Timestamp;
use shebao_domain::{
    Card, CardNo, CardStatus, Evidence, Fen, IdNumber, PasswordAttempt, Person, Pin, Policy, Role,
    SsPassword,
};

pub(crate) fn require_role(actor: &Actor, allowed: &[Role]) -> Result<(), ServiceError> {
    if allowed.contains(&actor.role) {
        Ok(())
    } else {
        let names: Vec<&str> = allowed.iter().map(|r| r.as_str()).collect();
        Err(ServiceError::forbidden(format!(
            "this needs the role {}; you are {}",
            names.join(" or "),
            actor.role
        )))
    }
}

/// The channel an actor works through, for the audit trail (R-PW-9).
pub(crate) fn channel_of(actor: &Actor) -> &'static str {
    match actor.role {
        Role::Admin => "admin",
        Role::Clerk => "service_window",
        Role::Bank => "bank_branch",
        Role::Pharmacy => "pharmacy",
        Role::Hospital => "hospital",
        Role::Hotline => "hotline",
        Role::Employer => "employer",
        Role::Cardholder => "self_service",
        Role::Sms => "sms",
        Role::Kiosk => "self_service_terminal",
    }
}

/// Loads a card: 404 if unknown.
pub(crate) fn load_card(
    tx: &mut dyn Tx,
    card_no: &CardNo,
    lock: Lock,
) -> Result<Card, ServiceError> {
    tx.card(card_no, lock)?
        .ok_or_else(|| ServiceError::not_found(format!("no card {card_no}")))
}

/// Loads a card for fund-paid care with the employer its holder is insured through: 404 if
/// unknown.
pub(crate) fn load_card_for_care(
    tx: &mut dyn Tx,
    card_no: &CardNo,
    lock: Lock,
) -> Result<(Card, Option<String>), ServiceError> {
    tx.card_for_care(card_no, lock)?
        .ok_or_else(|| ServiceError::not_found(format!("no card {card_no}")))
}

/// Card status comes right after existence in the contract's precedence (STYLE 10).
pub(crate) fn require_usable(card: &Card) -> Result<(), ServiceError> {
    match card.status {
        CardStatus::Issued | CardStatus::Active => Ok(()),
        CardStatus::Lost => Err(ServiceError::card_lost()),
        CardStatus::Replaced => Err(ServiceError::card_replaced()),
    }
}

pub(crate) fn load_person(
    tx: &mut dyn Tx,
    id: &IdNumber,
    lock: Lock,
) -> Result<Person, ServiceError> {
    tx.person(id, lock)?
        .ok_or_else(|| ServiceError::not_found(format!("no person {}", id.masked())))
}

/// Applies what time did to a card (R-ACT-2, R-LK-3) and, when the social-security account
/// has just activated, moves the old medical card's balance onto it (R-ACT-4). Returns whether
/// anything changed, so the caller stores the card.
pub(crate) fn settle(
    tx: &mut dyn Tx,
    card: &mut Card,
    now: Timestamp,
    policy: &Policy,
) -> Result<bool, ServiceError> {
    let settled = card.settle(now);
    if let Some(at) = settled.ss_activated_at {
        migrate_legacy(tx, card, at, policy)?;
    }
    Ok(settled.changed())
}

/// R-ACT-4: on social-security activation the old card's data and balance move to the new
/// card and the old card stops working for medical use. Once only.
///
/// D-14: the account never holds more than the policy's ceiling. Should the old balance not
/// fit (the new card was credited while it waited for activation), what fits moves and the
/// rest stays on the old card's record, where a clerk sees it.
pub(crate) fn migrate_legacy(
    tx: &mut dyn Tx,
    card: &mut Card,
    at: Timestamp,
    policy: &Policy,
) -> Result<(), ServiceError> {
    let mut person = load_person(tx, &card.id_number, Lock::ForUpdate)?;
    let Some(legacy) = person.legacy_card.as_mut() else {
        return Ok(());
    };
    if legacy.migrated_at.is_some() {
        return Ok(());
    }
    legacy.migrated_at = Some(at);
    let room = policy
        .limits
        .balance_max
        .checked_sub(card.balance)
        .filter(|room| room.0 > 0)
        .unwrap_or(Fen::ZERO);
    let amount = legacy.balance.min(room);
    legacy.balance = legacy
        .balance
        .checked_sub(amount)
        .ok_or_else(|| ServiceError::Internal("legacy balance underflow".into()))?;
    let reference = legacy.number.clone();
    card.balance = card
        .balance
        .checked_add(amount)
        .ok_or_else(|| ServiceError::Internal("balance overflow".into()))?;
    tx.update_person(&person)?;
    tx.append_ledger(&LedgerEntry {
        seq: None,
        card_no: card.card_no.clone(),
        id_number: card.id_number.clone(),
        at,
        kind: LedgerKind::LegacyTransfer,
        amount,
        balance_after: card.balance,
        reference: Some(reference),
    })?;
    Ok(())
}

/// What one audit row says; `record` fills in the actor and the time.
pub(crate) struct Audit<'a> {
    pub action: AuditAction,
    pub channel: Option<&'a str>,
    pub card_no: Option<CardNo>,
    pub id_number: Option<IdNumber>,
    pub evidence: Option<Evidence>,
    pub outcome: Outcome,
    pub authorised_by: Option<Authorisation>,
    pub detail: Option<String>,
}

impl<'a> Audit<'a> {
    pub fn new(action: AuditAction) -> Self {
        Audit {
            action,
            channel: None,
            card_no: None,
            id_number: None,
            evidence: None,
            outcome: Outcome::Ok,
            authorised_by: None,
            detail: None,
        }
    }
    pub fn card(mut self, card: &Card) -> Self {
        self.card_no = Some(card.card_no.clone());
        self.id_number = Some(card.id_number.clone());
        self
    }
    pub fn person(mut self, id: &IdNumber) -> Self {
        self.id_number = Some(id.clone());
        self
    }
    pub fn channel(mut self, channel: &'a str) -> Self {
        self.channel = Some(channel);
        self
    }
    pub fn evidence(mut self, evidence: &Evidence) -> Self {
        self.evidence = Some(evidence.clone());
        self
    }
    pub fn authorised_by(mut self, how: Authorisation) -> Self {
        self.authorised_by = Some(how);
        self
    }
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }

    pub fn record(
        self,
        tx: &mut dyn Tx,
        actor: &Actor,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        tx.append_audit(&AuditRecord {
            seq: None,
            at: now,
            actor_id: actor.id.clone(),
            actor_role: actor.role,
            actor_region: actor.region.as_ref().map(|r| r.as_str().to_owned()),
            channel: self.channel.unwrap_or(channel_of(actor)).to_owned(),
            action: self.action,
            card_no: self.card_no,
            id_number: self.id_number,
            evidence: self.evidence,
            outcome: self.outcome,
            authorised_by: self.authorised_by,
            detail: self.detail,
        })?;
        Ok(())
    }
}

/// The card view with everything that may lock it (R-LK-5): loss, the employer's unit lock
/// (derived from the employer's months as stored), the password lock. `card` must be settled.
pub(crate) fn card_view(
    tx: &mut dyn Tx,
    card: Card,
    person: &Person,
    policy: &shebao_domain::Policy,
    now: Timestamp,
) -> Result<crate::views::CardView, ServiceError> {
    let today = shebao_domain::time::business_date(now);
    let lock = crate::months::lock_state(tx, person, today)?.lock;
    Ok(crate::views::CardView::new(card, person, policy, now).with_unit_lock(lock))
}

/// A person with their cards, newest first, as the views show them.
pub(crate) fn person_view(
    tx: &mut dyn Tx,
    person: Person,
) -> Result<crate::views::PersonView, ServiceError> {
    let cards = tx
        .cards_of(&person.id_number)?
        .into_iter()
        .map(|c| crate::views::CardSummary {
            card_no: c.card_no,
            status: c.status,
        })
        .collect();
    Ok(crate::views::PersonView {
        legacy: crate::views::legacy_view(&person),
        person,
        cards,
    })
}

/// R-ACT-3 (000 I): residents (城乡居民) activate only through the channels the policy lists
/// for them (in some cities only the insured place's bureau hall). 422 `invalid_channel`.
pub(crate) fn check_resident_channel(
    policy: &shebao_domain::Policy,
    person: &shebao_domain::Person,
    channel: ActivationChannel,
) -> Result<(), ServiceError> {
    if person.kind != shebao_domain::PersonKind::Resident
        || policy
            .resident_channels
            .iter()
            .any(|c| c == channel.as_str())
    {
        return Ok(());
    }
    Err(ServiceError::invalid(
        "invalid_channel",
        format!(
            "residents activate here only through {}: in this region a resident's card is activated at the insured place's bureau hall (000 I)",
            policy.resident_channels.join(", ")
        ),
    ))
}

/// Random draws of a card number before giving up (each collides with probability at most
/// cards issued / 10^8).
const CARD_NO_DRAWS_MAX: usize = 32;

/// A new card number: `S` and eight random digits, drawn again on the rare collision. Card
/// numbers are not in issue order, so knowing one card's number tells nothing of another's
/// (terminals cannot walk them; API.md "Conventions").
pub(crate) fn new_card_no(tx: &mut dyn Tx) -> Result<CardNo, ServiceError> {
    for _ in 0..CARD_NO_DRAWS_MAX {
        let bytes = random_bytes::<8>().map_err(|e| ServiceError::Internal(e.to_string()))?;
        // 2^64 is 1.8 × 10^11 times 10^8: the modulo's bias is far below anything measurable.
        let n = u64::from_le_bytes(*bytes) % 100_000_000;
        let Some(card_no) = CardNo::from_sequence(n).filter(|_| n > 0) else {
            continue;
        };
        if tx.card(&card_no, Lock::Read)?.is_none() {
            return Ok(card_no);
        }
    }
    Err(ServiceError::Internal(format!(
        "no free card number in {CARD_NO_DRAWS_MAX} random draws"
    )))
}

/// A fresh 32-character card identification code.
pub(crate) fn new_serial() -> Result<String, ServiceError> {
    let bytes = random_bytes::<16>().map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(hex_upper(&*bytes))
}

pub(crate) fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// The two password accounts of a card: the bureau's social-security account and the bank's
/// financial account (R-PW-*, R-LK-*).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Account {
    Social,
    Financial,
}

impl Account {
    pub(crate) fn context(self, card: &Card) -> PinContext<'_> {
        match self {
            Account::Social => PinContext::Social(card.id_number.as_str()),
            Account::Financial => PinContext::Financial(card.card_no.as_str()),
        }
    }
    /// The audit actions of this account's password: verify, change, reset.
    pub(crate) fn actions(self) -> [AuditAction; 3] {
        match self {
            Account::Social => [
                AuditAction::SsPasswordVerify,
                AuditAction::SsPasswordChange,
                AuditAction::SsPasswordReset,
            ],
            Account::Financial => [
                AuditAction::FinPasswordVerify,
                AuditAction::FinPasswordChange,
                AuditAction::FinPasswordReset,
            ],
        }
    }
    pub(crate) fn is_active(self, card: &Card) -> bool {
        match self {
            Account::Social => card.ss.is_active(),
            Account::Financial => card.fin.is_active(),
        }
    }
    pub(crate) fn not_activated(self) -> ServiceError {
        match self {
            Account::Social => ServiceError::ss_not_activated(),
            Account::Financial => ServiceError::fin_not_activated(),
        }
    }
    pub(crate) fn locked_error(self, card: &Card) -> ServiceError {
        match self {
            Account::Social => ServiceError::password_locked(),
            Account::Financial => ServiceError::AccountLocked {
                reason: LockReason::Password,
                words: FIN_LOCK_MESSAGE,
                locked_until: card.fin.locked_until,
            },
        }
    }
    pub(crate) fn is_locked(self, card: &Card, now: jiff::Timestamp) -> bool {
        match self {
            Account::Social => card.ss.is_locked(),
            Account::Financial => card.fin.is_locked(now),
        }
    }
    /// Card status for this account: a replaced card is dead for both; a social-security
    /// loss stops only the bureau's side, the bank's own loss only the bank's (R-LS-6).
    pub(crate) fn require_usable(self, card: &Card) -> Result<(), ServiceError> {
        match self {
            Account::Social => require_usable(card),
            Account::Financial if card.status == shebao_domain::CardStatus::Replaced => {
                Err(ServiceError::card_replaced())
            }
            Account::Financial if card.fin_lost_at.is_some() => Err(ServiceError::AccountLocked {
                reason: LockReason::Loss,
                words: FIN_LOSS_MESSAGE,
                locked_until: None,
            }),
            Account::Financial => Ok(()),
        }
    }
    /// The rule that locks this account after too many wrong passwords (R-LK-1, R-LK-3).
    pub(crate) fn lock_cause(self) -> LockCause {
        match self {
            Account::Social => LockCause::SsPasswordTries,
            Account::Financial => LockCause::FinPasswordTries,
        }
    }
    pub(crate) fn tries_max(self, policy: &Policy) -> u32 {
        match self {
            Account::Social => policy.ss_password_tries_max,
            Account::Financial => policy.fin_password_tries_max,
        }
    }
    /// One attempt, counted in the same step as the comparison; 503 `unavailable`, nothing
    /// counted, if this server does not hold the verifier's PIN key ([`require_pin_key`]).
    pub(crate) fn attempt(
        self,
        card: &mut Card,
        now: jiff::Timestamp,
        policy: &Policy,
        keys: &PinKeyring,
        pin: &Pin,
    ) -> Result<PasswordAttempt, ServiceError> {
        let tries_max = self.tries_max(policy);
        let verifier = match self {
            Account::Social => match &card.ss.password {
                SsPassword::Enabled(v) => Some(v),
                SsPassword::NotEnabled => None,
            },
            Account::Financial => card.fin.password.as_ref(),
        };
        if let Some(v) = verifier {
            require_pin_key(keys, v)?;
        }
        let context_owner = match self {
            Account::Social => card.id_number.as_str().to_owned(),
            Account::Financial => card.card_no.as_str().to_owned(),
        };
        let context = match self {
            Account::Social => PinContext::Social(&context_owner),
            Account::Financial => PinContext::Financial(&context_owner),
        };
        let matches = |v: &shebao_domain::PinVerifier| keys.verify(v, context, pin);
        Ok(match self {
            Account::Social => card.ss.attempt(now, tries_max, matches),
            Account::Financial => card.fin.attempt(now, tries_max, matches),
        })
    }
    pub(crate) fn set_password(self, card: &mut Card, keys: &PinKeyring, pin: &Pin) {
        let verifier = keys.seal(self.context(card), pin);
        match self {
            Account::Social => card.ss.set_password(verifier),
            Account::Financial => card.fin.set_password(verifier),
        }
    }
    pub(crate) fn stale_verifier(self, card: &Card, keys: &PinKeyring) -> bool {
        let verifier = match self {
            Account::Social => match &card.ss.password {
                SsPassword::Enabled(v) => Some(v),
                SsPassword::NotEnabled => None,
            },
            Account::Financial => card.fin.password.as_ref(),
        };
        verifier.is_some_and(|v| keys.is_stale(v))
    }
}

/// Counts a password lock for the metrics (issue 16) once it is durable: `result` is a use
/// case's answer after its commit, and a wrong password with no try left is the attempt that
/// locked (R-LK-1, R-LK-3). `operation` names the use case (`verify`, `change`, `purchase`,
/// `visit`).
pub(crate) fn count_lock<T>(
    result: Result<T, ServiceError>,
    account: Account,
    operation: &'static str,
) -> Result<T, ServiceError> {
    if let Err(ServiceError::WrongPassword {
        remaining_tries: Some(0),
    }) = &result
    {
        meter::password_locked(account.lock_cause(), operation);
    }
    result
}

/// One social-security password attempt for a use case other than `verify` (a purchase):
/// counted in the same step as the comparison; a verifier under an old key is rewritten.
pub(crate) fn ss_attempt(
    card: &mut Card,
    now: jiff::Timestamp,
    policy: &Policy,
    keys: &PinKeyring,
    pin: &Pin,
) -> Result<PasswordAttempt, ServiceError> {
    let attempt = Account::Social.attempt(card, now, policy, keys, pin)?;
    if attempt == PasswordAttempt::Verified && Account::Social.stale_verifier(card, keys) {
        Account::Social.set_password(card, keys, pin);
    }
    Ok(attempt)
}

/// 503 `unavailable` (with `Retry-After`) when this server does not hold the PIN key a
/// verifier was sealed under: a key rotation that has not reached this server yet. Nothing is
/// compared or counted; another server, or this one once the operator loaded the key, answers.
pub(crate) fn require_pin_key(
    keys: &PinKeyring,
    verifier: &shebao_domain::PinVerifier,
) -> Result<(), ServiceError> {
    if keys.holds(verifier) {
        return Ok(());
    }
    tracing::error!(key_id = %verifier.key_id, "a PIN verifier names a key this server does not hold: load it (a rotation in progress?)");
    Err(ServiceError::Store(crate::error::StoreError::Unavailable(
        format!(
            "this server does not hold PIN key {} yet: nothing was counted; try again",
            verifier.key_id
        ),
    )))
}
