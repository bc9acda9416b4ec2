//! The card and its two independent accounts (R-AC-1).
//!
//! ```text
//! Card status:   issued ──first activation──▶ active      (lost / replaced: later issues)
//!
//! Social-security account (bureau):
//!   activation:  Inactive ──bank──▶ Pending{at = now+24h} ──time──▶ Active      (R-ACT-2)
//!                Inactive | Pending ──hospital/sms/centre/pharmacy──▶ Active    (R-ACT-3)
//!   password:    NotEnabled ──holder sets──▶ Enabled ──clerk cancels──▶ NotEnabled
//!   lock:        open ──N-th consecutive wrong──▶ locked ──clerk reset only──▶ open (R-LK-1/2)
//!
//! Financial account (bank):
//!   inactive ──bank activation with password──▶ active
//!   open ──N-th wrong──▶ locked until 00:00 Shanghai next day ──time──▶ open      (R-LK-3)
//! ```
//!
//! Nothing in one account reads or writes the other: the two share only the card number.

use crate::money::Fen;
use crate::time::next_business_midnight;
use jiff::{SignedDuration, Timestamp};
use std::fmt;

mod loss;
pub use loss::{Loss, LossError, LossKind, Replacement, ReplacementReason};
mod offers;
pub use offers::Offers;
mod codes;
pub use codes::{CodeRefusal, EcardCodes};

/// A card number as printed on the card: one letter and eight digits (e.g. `S00001234`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CardNo(String);

impl CardNo {
    pub fn parse(s: &str) -> Option<CardNo> {
        let b = s.as_bytes();
        (b.len() == 9 && b[0].is_ascii_uppercase() && b[1..].iter().all(u8::is_ascii_digit))
            .then(|| CardNo(s.to_owned()))
    }

    /// The card number of the `sequence`-th card issued.
    pub fn from_sequence(sequence: u64) -> Option<CardNo> {
        (sequence < 100_000_000).then(|| CardNo(format!("S{sequence:08}")))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for CardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CardNo({})", self.0)
    }
}

impl fmt::Display for CardNo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A keyed verifier of a 6-digit password: `HMAC(key[key_id], context ‖ digits)`. Opaque to
/// the domain; the service layer computes and compares it in constant time.
#[derive(Clone, PartialEq, Eq)]
pub struct PinVerifier {
    pub key_id: String,
    pub mac: Vec<u8>,
}

impl fmt::Debug for PinVerifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PinVerifier(key {}, ***)", self.key_id)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardStatus {
    Issued,
    Active,
    Lost,
    Replaced,
}

impl CardStatus {
    /// The person's current card: any card but a replaced one (R-LS-5, D-10). Storage says
    /// the same in SQL (`current_card!`).
    pub fn is_current(self) -> bool {
        self != CardStatus::Replaced
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CardStatus::Issued => "issued",
            CardStatus::Active => "active",
            CardStatus::Lost => "lost",
            CardStatus::Replaced => "replaced",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            CardStatus::Issued,
            CardStatus::Active,
            CardStatus::Lost,
            CardStatus::Replaced,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SsActivation {
    Inactive,
    /// Bank activation happened; the account activates by itself at `at` (R-ACT-2).
    Pending {
        at: Timestamp,
    },
    Active {
        since: Timestamp,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SsPassword {
    /// Initial or cancelled: transactions need no password (R-PW-3, R-PW-4, D-2).
    NotEnabled,
    Enabled(PinVerifier),
}

/// The answer to one password attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasswordAttempt {
    /// No password is enabled: nothing was checked or counted (D-2).
    NotEnabled,
    Verified,
    /// Wrong; `remaining` tries before the lock. `remaining == 0` means this try locked it.
    Wrong {
        remaining: u32,
    },
    /// Already locked: nothing was checked or counted.
    Locked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsAccount {
    pub activation: SsActivation,
    pub password: SsPassword,
    /// Consecutive wrong passwords since the last right one or reset.
    pub failures: u32,
    /// Set by the N-th wrong password; cleared only by a clerk's reset (R-LK-2).
    pub locked_at: Option<Timestamp>,
}

/// The financial account: an ordinary debit account run by the issuing bank (R-AC-2). shebao
/// keeps only what the card needs of it — activation, the password, its lock and the bank's
/// loss — never its money (R-AC-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinAccount {
    pub activated_at: Option<Timestamp>,
    pub password: Option<PinVerifier>,
    pub failures: u32,
    /// Locked until this instant: 00:00 Asia/Shanghai after the lock (R-LK-3, D-1).
    pub locked_until: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub card_no: CardNo,
    pub id_number: crate::id::IdNumber,
    /// The card's 32-character identification code (卡识别码), used in "K+serial" SMS.
    pub serial: String,
    /// The financial account's bank card number (R-ID-2).
    pub bank_card_no: String,
    pub status: CardStatus,
    pub issued_at: Timestamp,
    pub ss: SsAccount,
    pub fin: FinAccount,
    /// The personal medical account balance, on the social-security side.
    pub balance: Fen,
    /// The loss report, if one was made (R-LS-1..3).
    pub loss: Option<Loss>,
    /// The bank recorded the financial account lost (R-LS-6); the bureau's side is untouched.
    pub fin_lost_at: Option<Timestamp>,
    /// On a replacement card: what it replaces, ready date, fee, collection.
    pub replacement: Option<Replacement>,
    /// On a replaced card: its successor.
    pub replaced_by: Option<CardNo>,
    /// The electronic social security card (电子社保卡, R-KM-2, D-16): not a second card but a
    /// state of this one, so loss, locks and replacement reach it as they reach the plastic
    /// card. Set while it is active (since when).
    pub ecard_active_at: Option<Timestamp>,
    /// The electronic card's payment codes: how many were issued, used up and withdrawn
    /// (D-16), kept on the card row so that a payment by code costs no statement beyond the
    /// payment's own update of the card.
    pub ecard_codes: EcardCodes,
    /// The card chip's counter at its last use by a PSAM terminal (R-KM-1, card present): the
    /// next use must be above it. Kept on the card row, so advancing it costs no statement
    /// beyond the operation's own update of the card.
    pub chip_counter: i64,
}

/// What time did to a card since it was last stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Settled {
    /// The social-security account reached its delayed activation (R-ACT-2).
    pub ss_activated_at: Option<Timestamp>,
    /// The financial lock expired (R-LK-3).
    pub fin_unlocked: bool,
    /// A pre-loss lapsed (R-LS-1).
    pub pre_loss_lapsed: bool,
}

impl Settled {
    pub fn changed(&self) -> bool {
        self.ss_activated_at.is_some() || self.fin_unlocked || self.pre_loss_lapsed
    }
}

impl Card {
    pub fn new(
        card_no: CardNo,
        id_number: crate::id::IdNumber,
        serial: String,
        bank_card_no: String,
        now: Timestamp,
    ) -> Card {
        Card {
            card_no,
            id_number,
            serial,
            bank_card_no,
            status: CardStatus::Issued,
            issued_at: now,
            ss: SsAccount {
                activation: SsActivation::Inactive,
                password: SsPassword::NotEnabled,
                failures: 0,
                locked_at: None,
            },
            fin: FinAccount {
                activated_at: None,
                password: None,
                failures: 0,
                locked_until: None,
            },
            balance: Fen::ZERO,
            loss: None,
            fin_lost_at: None,
            replacement: None,
            replaced_by: None,
            ecard_active_at: None,
            ecard_codes: EcardCodes::default(),
            chip_counter: 0,
        }
    }

    /// A card that is not dead: the person's one card (a lost card can still be found and
    /// released; a replaced one is gone).
    pub fn is_usable(&self) -> bool {
        self.status.is_current()
    }

    /// Applies what the passing of time does: the delayed social-security activation and the
    /// end of a financial lock. Call before reading or changing a card.
    pub fn settle(&mut self, now: Timestamp) -> Settled {
        let mut settled = Settled::default();
        if let SsActivation::Pending { at } = self.ss.activation
            && at <= now
        {
            self.ss.activation = SsActivation::Active { since: at };
            settled.ss_activated_at = Some(at);
        }
        if let Some(until) = self.fin.locked_until
            && until <= now
        {
            self.fin.locked_until = None;
            self.fin.failures = 0;
            settled.fin_unlocked = true;
        }
        settled.pre_loss_lapsed = self.settle_loss(now);
        settled
    }

    /// Bank activation (R-ACT-2): the financial account opens with the holder's new password;
    /// the social-security account follows after `delay` unless it is already active.
    pub fn activate_at_bank(
        &mut self,
        fin_password: PinVerifier,
        now: Timestamp,
        delay: SignedDuration,
    ) {
        self.fin.activated_at = Some(now);
        self.fin.password = Some(fin_password);
        self.fin.failures = 0;
        self.fin.locked_until = None;
        if self.ss.activation == SsActivation::Inactive {
            self.ss.activation = SsActivation::Pending {
                at: now.checked_add(delay).unwrap_or(Timestamp::MAX),
            };
        }
        self.status = CardStatus::Active;
    }

    /// Direct activation of the social-security account (R-ACT-3). Returns `false` if it was
    /// already active (nothing changes).
    pub fn activate_ss(&mut self, now: Timestamp) -> bool {
        if matches!(self.ss.activation, SsActivation::Active { .. }) {
            return false;
        }
        self.ss.activation = SsActivation::Active { since: now };
        self.status = CardStatus::Active;
        true
    }
}

impl SsAccount {
    pub fn is_active(&self) -> bool {
        matches!(self.activation, SsActivation::Active { .. })
    }

    pub fn is_locked(&self) -> bool {
        self.locked_at.is_some()
    }

    pub fn password_enabled(&self) -> bool {
        matches!(self.password, SsPassword::Enabled(_))
    }

    pub fn remaining_tries(&self, tries_max: u32) -> u32 {
        if self.is_locked() {
            0
        } else {
            tries_max.saturating_sub(self.failures)
        }
    }

    /// One social-security password attempt (R-LK-1, D-2). `matches` is asked only when a
    /// password is enabled and the account is open. The attempt is counted in the same step
    /// that compares, so callers that serialise per card never exceed `tries_max`.
    pub fn attempt(
        &mut self,
        now: Timestamp,
        tries_max: u32,
        matches: impl FnOnce(&PinVerifier) -> bool,
    ) -> PasswordAttempt {
        if self.is_locked() {
            return PasswordAttempt::Locked;
        }
        let right = match &self.password {
            SsPassword::NotEnabled => return PasswordAttempt::NotEnabled,
            SsPassword::Enabled(verifier) => matches(verifier),
        };
        self.count(right, now, tries_max)
    }

    /// An attempt against another verifier (the legacy card's password, R-ACT-3) that counts
    /// against this account too: a pharmacy terminal must not become a way around the lock.
    pub fn attempt_with(
        &mut self,
        now: Timestamp,
        tries_max: u32,
        verifier: &PinVerifier,
        matches: impl FnOnce(&PinVerifier) -> bool,
    ) -> PasswordAttempt {
        if self.is_locked() {
            return PasswordAttempt::Locked;
        }
        self.count(matches(verifier), now, tries_max)
    }

    fn count(&mut self, right: bool, now: Timestamp, tries_max: u32) -> PasswordAttempt {
        if right {
            self.failures = 0;
            return PasswordAttempt::Verified;
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= tries_max {
            self.locked_at = Some(now);
        }
        PasswordAttempt::Wrong {
            remaining: tries_max.saturating_sub(self.failures),
        }
    }

    /// The holder sets a password: it is enabled from now on (R-PW-3).
    pub fn set_password(&mut self, verifier: PinVerifier) {
        self.password = SsPassword::Enabled(verifier);
        self.failures = 0;
    }

    /// A clerk's reset with evidence (R-LK-2): unlocks, clears the count, and either sets the
    /// holder's new password or restores the initial, not-enabled state (R-PW-7).
    pub fn reset(&mut self, new_password: Option<PinVerifier>) {
        self.locked_at = None;
        self.failures = 0;
        self.password = match new_password {
            Some(v) => SsPassword::Enabled(v),
            None => SsPassword::NotEnabled,
        };
    }

    /// The holder cancels the password in person (R-PW-4).
    pub fn disable_password(&mut self) {
        self.password = SsPassword::NotEnabled;
        self.failures = 0;
    }
}

impl FinAccount {
    pub fn is_active(&self) -> bool {
        self.activated_at.is_some()
    }

    /// Locked now? A lock whose time has passed no longer counts, even before `settle`.
    pub fn is_locked(&self, now: Timestamp) -> bool {
        self.locked_until.is_some_and(|until| until > now)
    }

    pub fn remaining_tries(&self, now: Timestamp, tries_max: u32) -> u32 {
        if self.is_locked(now) {
            0
        } else {
            tries_max.saturating_sub(self.failures)
        }
    }

    /// One financial password attempt (R-LK-3, D-1). The lock lifts at the next Shanghai
    /// midnight; `settle` must have run for `now` first.
    pub fn attempt(
        &mut self,
        now: Timestamp,
        tries_max: u32,
        matches: impl FnOnce(&PinVerifier) -> bool,
    ) -> PasswordAttempt {
        if self.is_locked(now) {
            return PasswordAttempt::Locked;
        }
        let Some(verifier) = &self.password else {
            return PasswordAttempt::NotEnabled;
        };
        if matches(verifier) {
            self.failures = 0;
            return PasswordAttempt::Verified;
        }
        self.failures = self.failures.saturating_add(1);
        if self.failures >= tries_max {
            self.locked_until = Some(next_business_midnight(now));
        }
        PasswordAttempt::Wrong {
            remaining: tries_max.saturating_sub(self.failures),
        }
    }

    /// Change (after a verified old password) or reset at a bank branch (R-LK-3).
    pub fn set_password(&mut self, verifier: PinVerifier) {
        self.password = Some(verifier);
        self.failures = 0;
        self.locked_until = None;
    }
}

#[cfg(test)]
mod tests;
