//! What the use cases answer: plain structs the http layer turns into JSON.

use crate::words::LockReason;
pub use crate::words::{FIN_LOCK_MESSAGE, FIN_LOSS_MESSAGE, LockMessage, lock_message};
use jiff::Timestamp;
use shebao_domain::{Card, Fen, Person, Policy, SsActivation};

#[derive(Debug, Clone)]
pub struct SsView {
    pub active: bool,
    pub activates_at: Option<Timestamp>,
    pub password_enabled: bool,
    pub locked: bool,
    pub lock_reason: Option<LockReason>,
    pub lock_message: Option<LockMessage>,
    pub remaining_tries: u32,
    /// R-PW-3: what the holder is told the initial password is, while none is enabled
    /// (`123456`, the last six of the ID or card number, or none: the first is chosen freely).
    pub initial_password: Option<shebao_domain::InitialPassword>,
}

#[derive(Debug, Clone)]
pub struct FinView {
    pub active: bool,
    pub locked: bool,
    /// `Password` (R-LK-3) or `Loss` (the bank's own loss, R-LS-6).
    pub lock_reason: Option<LockReason>,
    pub lost_at: Option<Timestamp>,
    pub locked_until: Option<Timestamp>,
    pub lock_message: Option<LockMessage>,
    pub remaining_tries: u32,
}

#[derive(Debug, Clone)]
pub struct LegacyView {
    pub number: String,
    pub balance: Fen,
    pub migrated_at: Option<Timestamp>,
}

/// The old medical card of `person`, if any, as the views show it.
pub(crate) fn legacy_view(person: &Person) -> Option<LegacyView> {
    person.legacy_card.as_ref().map(|l| LegacyView {
        number: l.number.clone(),
        balance: l.balance,
        migrated_at: l.migrated_at,
    })
}

#[derive(Debug, Clone)]
pub struct CardView {
    pub card: Card,
    pub holder_name: String,
    pub ss: SsView,
    pub fin: FinView,
    /// The employer's unit lock on this holder's fund-paid care (R-EM-2, R-EM-5).
    pub unit_lock: Option<shebao_domain::UnitLock>,
}

impl CardView {
    /// `card` must be settled for `now`.
    pub fn new(card: Card, holder: &Person, policy: &Policy, now: Timestamp) -> CardView {
        // R-LK-5: a loss stops the social-security functions and is what the holder must deal
        // with first (it is checked before the password lock).
        let lost = card.loss_in_force(now).is_some();
        let ss_reason = if lost {
            Some(LockReason::Loss)
        } else if card.ss.is_locked() {
            Some(LockReason::Password)
        } else {
            None
        };
        let fin_reason = if card.fin_lost_at.is_some() {
            Some(LockReason::Loss)
        } else if card.fin.is_locked(now) {
            Some(LockReason::Password)
        } else {
            None
        };
        let ss = SsView {
            active: card.ss.is_active(),
            activates_at: match card.ss.activation {
                SsActivation::Pending { at } => Some(at),
                _ => None,
            },
            password_enabled: card.ss.password_enabled(),
            locked: ss_reason.is_some(),
            lock_reason: ss_reason,
            lock_message: ss_reason.map(lock_message),
            remaining_tries: card.ss.remaining_tries(policy.ss_password_tries_max),
            initial_password: (!card.ss.password_enabled()).then_some(policy.initial_password),
        };
        let fin = FinView {
            active: card.fin.is_active(),
            locked: fin_reason.is_some(),
            lock_reason: fin_reason,
            lost_at: card.fin_lost_at,
            locked_until: card.fin.locked_until.filter(|_| card.fin.is_locked(now)),
            lock_message: fin_reason.map(|r| match r {
                LockReason::Loss => FIN_LOSS_MESSAGE,
                _ => FIN_LOCK_MESSAGE,
            }),
            remaining_tries: card.fin.remaining_tries(now, policy.fin_password_tries_max),
        };
        CardView {
            holder_name: holder.name.clone(),
            card,
            ss,
            fin,
            unit_lock: None,
        }
    }

    /// Adds the employer's unit lock. The reason shown follows the order settlement checks
    /// them in: a loss first, then the unit lock, then the password lock.
    pub fn with_unit_lock(mut self, lock: Option<shebao_domain::UnitLock>) -> CardView {
        if lock.is_some() && self.ss.lock_reason != Some(LockReason::Loss) {
            self.ss.locked = true;
            self.ss.lock_reason = Some(LockReason::EmployerArrears);
            self.ss.lock_message = Some(lock_message(LockReason::EmployerArrears));
        }
        self.unit_lock = lock;
        self
    }
}

#[derive(Debug, Clone)]
pub struct PersonView {
    pub person: Person,
    /// The person's cards, newest first.
    pub cards: Vec<CardSummary>,
    pub legacy: Option<LegacyView>,
}

/// A card as a list of a person's cards shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardSummary {
    pub card_no: shebao_domain::CardNo,
    pub status: shebao_domain::CardStatus,
}

impl PersonView {
    /// The person's current card (`CardStatus::is_current`), if any.
    pub fn current_card(&self) -> Option<&CardSummary> {
        self.cards.iter().find(|c| c.status.is_current())
    }
}
