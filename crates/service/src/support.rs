//! Small pieces shared by the use cases: role checks, loading with the contract's precedence,
//! and writing audit records.

use crate::error::ServiceError;
use crate::model::{
    Actor, AuditAction, AuditRecord, Authorisation, LedgerEntry, LedgerKind, Outcome,
};
use crate::store::Lock;
use crate::store::Tx;
use jiff::Timestamp;
use shebao_domain::{Card, CardNo, CardStatus, Evidence, Fen, IdNumber, Person, Policy, Role};

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

pub(crate) fn parse_card_no(card_no: &str) -> Result<CardNo, ServiceError> {
    CardNo::parse(card_no).ok_or_else(|| ServiceError::not_found(format!("no card {card_no}")))
}

pub(crate) fn parse_id_number(id: &str) -> Result<IdNumber, ServiceError> {
    IdNumber::parse_shape(id).map_err(|e| ServiceError::invalid("invalid_id_number", e.to_string()))
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
    let lock = crate::employers::lock_state(tx, person, today)?.lock;
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
        legacy: crate::people::legacy_view(&person),
        person,
        cards,
    })
}
