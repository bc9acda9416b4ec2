//! What the use cases answer: plain structs the http layer turns into JSON.

use crate::error::LockReason;
use jiff::Timestamp;
use shebao_domain::{Card, Fen, Person, Policy, SsActivation};

/// A lock explained in words a holder understands, with what to do (R-LK-5), in Chinese and
/// English.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockMessage {
    pub zh: &'static str,
    pub en: &'static str,
}

pub fn lock_message(reason: LockReason) -> LockMessage {
    match reason {
        LockReason::Password => LockMessage {
            zh: "社保账户因密码连续输错已被锁定，不会自动解锁。请本人持有效身份证原件和社保卡到社保服务窗口办理解锁并重置密码；本人不能前往的，可由代办人持双方身份证件（及本地区要求的委托书）代办。",
            en: "The social-security account is locked after too many wrong passwords and will not unlock by itself. Bring your original ID card and the card to a social security service window to unlock it and reset the password; an agent may go for you with both ID cards (and a power of attorney where your region requires one).",
        },
        LockReason::EmployerArrears => LockMessage {
            zh: "您的单位未按时足额缴纳医疗保险费，社保卡已被单位封锁，医疗费用暂由单位承担。请联系单位负责社保缴费的工作人员。",
            en: "Your employer has not paid its medical insurance contributions in full on time, so the card is under a unit lock and medical costs fall to the employer for now. Please contact your employer's payroll staff.",
        },
        LockReason::Loss => LockMessage {
            zh: "社保卡已挂失，社保功能已停止使用。找回卡片的，可持身份证和卡片到服务窗口解除挂失；否则请申请补卡。",
            en: "The card is reported lost and its social-security functions are stopped. If you found it, bring your ID card and the card to a service window to release the loss; otherwise apply for a replacement card.",
        },
    }
}

/// The financial lock's message (R-LK-3): it lifts by itself the next day.
pub const FIN_LOCK_MESSAGE: LockMessage = LockMessage {
    zh: "金融账户因密码连续输错已被锁定，将于次日0时自动解锁。如忘记密码，请本人持身份证和社保卡到合作银行网点重置。",
    en: "The financial account is locked after too many wrong passwords and unlocks by itself at 00:00 tomorrow. If you forgot the password, reset it at a partner bank branch with your ID card and the card.",
};

/// The bank's loss of the financial account (R-LS-6).
pub const FIN_LOSS_MESSAGE: LockMessage = LockMessage {
    zh: "金融账户已由银行办理挂失，银行功能暂停使用。解除挂失或补办请到合作银行网点办理。",
    en: "The bank has recorded the financial account as lost and its bank functions are stopped. Release the loss or replace the card at a partner bank branch.",
};

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
