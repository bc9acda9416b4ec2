//! Loss reporting, release and replacement (R-LS-1..6, R-AC-3, R-ID-2, D-10).
//!
//! ```text
//!            report pre (hotline / window / terminal)        lapses by itself after N days
//!   usable ─────────────────────────────────────────▶ Pre ──────────────────────────────▶ usable
//!     │  report temporary (window / hospital / online)   │ upgrade
//!     ├─────────────────────────────────────────▶ Temporary ──release at a window──▶ usable
//!     │  report formal (window, with evidence)            │ upgrade
//!     └─────────────────────────────────────────▶ Formal (final) ──replacement──▶ replaced
//! ```
//! While a loss is in force the card's social-security functions stop (R-LS-1, R-LS-2). The
//! financial account's loss is the bank's own business (R-LS-6) and is kept apart.

use super::{Card, CardNo, CardStatus, SsActivation};
use crate::money::Fen;
use jiff::Timestamp;
use jiff::civil::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum LossKind {
    /// 预挂失: by phone, in writing or at a terminal; lapses after the policy's days (R-LS-1).
    Pre,
    /// 临时挂失: at a window, a medical institution or online; released at a window (R-LS-2).
    Temporary,
    /// 正式挂失: in person with ID (or an agent with the policy's evidence); final (R-LS-3).
    Formal,
}

impl LossKind {
    pub fn as_str(self) -> &'static str {
        match self {
            LossKind::Pre => "pre",
            LossKind::Temporary => "temporary",
            LossKind::Formal => "formal",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [LossKind::Pre, LossKind::Temporary, LossKind::Formal]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loss {
    pub kind: LossKind,
    pub reported_at: Timestamp,
    /// A pre-loss lapses here by itself (R-LS-1, D-3: N × 24 h from the report).
    pub lapses_at: Option<Timestamp>,
    /// How it was reported: `hotline`, `window`, `self_service_terminal`, `medical_institution`,
    /// `online`.
    pub channel: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplacementReason {
    Lost,
    Damaged,
    /// The holder's data changed (name, …).
    DataChanged,
    /// The card face is wrong through the bureau's error: remade free (R-ID-2).
    DataError,
}

impl ReplacementReason {
    pub fn as_str(self) -> &'static str {
        match self {
            ReplacementReason::Lost => "lost",
            ReplacementReason::Damaged => "damaged",
            ReplacementReason::DataChanged => "data_changed",
            ReplacementReason::DataError => "data_error",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use ReplacementReason::*;
        [Lost, Damaged, DataChanged, DataError]
            .into_iter()
            .find(|k| k.as_str() == s)
    }

    /// R-AC-3, R-ID-2: the bureau's own data error is remade free; other replacements pay
    /// the policy's fee.
    pub fn fee(self, policy_fee: Fen) -> Fen {
        match self {
            ReplacementReason::DataError => Fen::ZERO,
            _ => policy_fee,
        }
    }
}

/// On a replacement card: what it replaces and when it can be collected (R-LS-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replacement {
    pub replaces: CardNo,
    pub reason: ReplacementReason,
    pub ready_on: Date,
    pub fee: Fen,
    pub collected_at: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LossError {
    /// A loss of this kind or a stronger one is already in force.
    AlreadyReported(LossKind),
    /// Formal loss is final: it ends in a replacement, never a release (R-LS-3).
    Formal,
    NotLost,
    /// Replaced cards are dead (R-LS-5).
    Replaced,
}

impl Card {
    /// The loss in force at `now`, if any (a lapsed pre-loss is none).
    pub fn loss_in_force(&self, now: Timestamp) -> Option<&Loss> {
        self.loss
            .as_ref()
            .filter(|l| l.lapses_at.is_none_or(|t| t > now))
    }

    /// The status before any loss: issued until something was activated.
    fn status_without_loss(&self) -> CardStatus {
        let activated =
            self.fin.is_active() || !matches!(self.ss.activation, SsActivation::Inactive);
        if activated {
            CardStatus::Active
        } else {
            CardStatus::Issued
        }
    }

    /// Records a loss report. A stronger report upgrades a weaker one; the same or a weaker
    /// one changes nothing and is refused.
    pub fn report_loss(
        &mut self,
        kind: LossKind,
        channel: &str,
        now: Timestamp,
        lapses_at: Option<Timestamp>,
    ) -> Result<(), LossError> {
        if self.status == CardStatus::Replaced {
            return Err(LossError::Replaced);
        }
        if let Some(current) = self.loss_in_force(now)
            && current.kind >= kind
        {
            return Err(LossError::AlreadyReported(current.kind));
        }
        self.loss = Some(Loss {
            kind,
            reported_at: now,
            lapses_at: if kind == LossKind::Pre {
                lapses_at
            } else {
                None
            },
            channel: channel.to_owned(),
        });
        self.status = CardStatus::Lost;
        Ok(())
    }

    /// Releases a pre- or temporary loss: the card was found before a replacement (R-LS-2).
    pub fn release_loss(&mut self, now: Timestamp) -> Result<LossKind, LossError> {
        if self.status == CardStatus::Replaced {
            return Err(LossError::Replaced);
        }
        let kind = self
            .loss_in_force(now)
            .map(|l| l.kind)
            .ok_or(LossError::NotLost)?;
        if kind == LossKind::Formal {
            return Err(LossError::Formal);
        }
        self.loss = None;
        self.status = self.status_without_loss();
        Ok(kind)
    }

    /// A pre-loss whose time is up lapses by itself (R-LS-1). Part of `settle`.
    pub(super) fn settle_loss(&mut self, now: Timestamp) -> bool {
        if self.status == CardStatus::Lost && self.loss_in_force(now).is_none() {
            self.loss = None;
            self.status = self.status_without_loss();
            return true;
        }
        false
    }

    /// The old card's side of a replacement (D-10): dead at once, its electronic form with it
    /// (which moves to the new card, D-16).
    pub fn mark_replaced(&mut self, by: CardNo) {
        self.status = CardStatus::Replaced;
        self.replaced_by = Some(by);
        self.ecard_active_at = None;
    }

    /// The new card of a replacement (D-6, D-10): same person, the social-security password
    /// state and balance carried over; both accounts wait for activation after collection;
    /// the bank reopens the financial account with a new password.
    pub fn replacement_for(
        old: &Card,
        card_no: CardNo,
        serial: String,
        bank_card_no: String,
        replacement: Replacement,
        now: Timestamp,
    ) -> Card {
        let mut card = Card::new(card_no, old.id_number.clone(), serial, bank_card_no, now);
        card.ss.password = old.ss.password.clone();
        card.ss.failures = old.ss.failures;
        card.ss.locked_at = old.ss.locked_at;
        card.balance = old.balance;
        card.replacement = Some(replacement);
        // D-16: the electronic card follows the holder onto the new card.
        card.ecard_active_at = old.ecard_active_at;
        card.ecard_codes = old.ecard_codes;
        card
    }

    /// Collection with ID at the outlet once production is done (R-LS-5).
    pub fn is_collected(&self) -> bool {
        self.replacement
            .as_ref()
            .is_none_or(|r| r.collected_at.is_some())
    }
}
