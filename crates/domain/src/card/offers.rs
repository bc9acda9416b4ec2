//! Which window actions a card offers now: the one statement of it, for every front that lists
//! a card's actions (the console's card page today).
//!
//! An offer follows the card's state alone, and is offered exactly when the service would
//! accept the action in that state. The service still checks the actor's role and the
//! evidence the region asks for (R-LK-4, R-LS-3) in the transaction.
//!
//! ```text
//!   issued ─────────── activate · report loss · replace
//!   active ─────────── reset · disable (password enabled, not locked) · report loss · replace
//!   lost (pre/temp) ── release · replace
//!   lost (formal) ──── replace
//!   replaced ───────── nothing (the new card carries on)
//!   uncollected new ── collect (from its ready day) · report loss · replace; activate once
//!                      collected
//! ```
//!
//! The electronic card (R-KM-2) is activated on an issued or active card whose social-security
//! account is active, and deactivated on an issued or active card whose electronic form is
//! active: not on a lost or replaced card (the service refuses both with `card_lost` /
//! `card_replaced`).

use super::{Card, CardStatus, LossKind};
use jiff::Timestamp;

/// The window actions a card offers at one instant; see [`Card::offers`]. Each is offered
/// exactly when the service, given the right role and evidence, would accept it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Offers {
    /// Unlock and reset the social-security password, back to the initial not-enabled one
    /// (R-LK-2, R-PW-7): an activated social-security account on a card that is not replaced
    /// and has no loss in force (it is unlocked once the loss is released).
    pub reset: bool,
    /// Cancel the enabled social-security password, the holder in person (R-PW-4): as a
    /// reset, with the password enabled and the account not locked (a reset unlocks it).
    pub disable: bool,
    /// Activate the social-security account at the card service centre (R-ACT-3): a card that
    /// is not replaced, has no loss in force, whose account is not active yet (also while it
    /// waits for its delayed activation after the bank's, R-ACT-2: the centre can do it now),
    /// and, for a replacement card, once it is collected (R-LS-5).
    pub activate: bool,
    /// Report the card lost (R-LS-1..3): a card that is not replaced and has no loss in force
    /// (a lapsed pre-loss is none). A stronger loss over a weaker one goes with the
    /// replacement application (R-LS-3), which is offered meanwhile.
    pub report_loss: bool,
    /// Release a pre- or temporary loss: the card was found (R-LS-2). A formal loss is final
    /// (R-LS-3).
    pub release_loss: bool,
    /// Apply for a replacement card (R-LS-3, R-LS-5, D-10): any card that is not replaced.
    pub replace: bool,
    /// Collect a replacement card with ID and the pickup certificate (R-LS-5): a replacement
    /// not collected yet, from its ready day (Asia/Shanghai).
    pub collect: bool,
    /// Activate the electronic card (R-KM-2): an issued or active card (no loss, not replaced)
    /// whose social-security account is active and whose electronic form is not yet.
    pub ecard_activate: bool,
    /// Deactivate the electronic card (a lost phone): an issued or active card whose
    /// electronic form is active.
    pub ecard_deactivate: bool,
}

impl Card {
    /// The window actions this card offers at `now`, for a card settled for `now` (as the
    /// service's card views are).
    pub fn offers(&self, now: Timestamp) -> Offers {
        let replaced = self.status == CardStatus::Replaced;
        let ss_active = self.ss.is_active();
        let loss = self.loss_in_force(now).map(|l| l.kind);
        let usable = !replaced && loss.is_none();
        let collected = self.is_collected();
        let today = crate::time::business_date(now);
        // As the service's `require_usable`: the card's status, settled for `now`.
        let ecard_usable = matches!(self.status, CardStatus::Issued | CardStatus::Active);
        let ecard_active = self.ecard_active_at.is_some();
        Offers {
            reset: usable && ss_active,
            disable: usable && ss_active && self.ss.password_enabled() && !self.ss.is_locked(),
            activate: usable && !ss_active && collected,
            report_loss: !replaced && loss.is_none(),
            release_loss: !replaced && loss.is_some_and(|k| k != LossKind::Formal),
            replace: !replaced,
            collect: self
                .replacement
                .as_ref()
                .is_some_and(|r| r.collected_at.is_none() && r.ready_on <= today),
            ecard_activate: ecard_usable && ss_active && !ecard_active,
            ecard_deactivate: ecard_usable && ecard_active,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::card::{CardNo, PinVerifier, Replacement, ReplacementReason};
    use crate::id::IdNumber;
    use crate::money::Fen;
    use jiff::SignedDuration;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    fn now() -> Timestamp {
        t("2026-03-02T02:00:00Z")
    }

    fn card() -> Card {
        Card::new(
            CardNo::parse("S00000001").unwrap(),
            IdNumber::parse_shape("11010519491231002X").unwrap(),
            "SERIAL".into(),
            "6200000000000000001".into(),
            t("2026-01-05T02:00:00Z"),
        )
    }

    fn activated() -> Card {
        let mut c = card();
        c.activate_ss(t("2026-01-06T02:00:00Z"));
        c
    }

    fn verifier() -> PinVerifier {
        PinVerifier {
            key_id: "k1".into(),
            mac: vec![7; 32],
        }
    }

    fn lost(kind: LossKind) -> Card {
        let mut c = activated();
        let lapses_at = now().checked_add(SignedDuration::from_hours(240)).ok();
        c.report_loss(kind, "window", now(), lapses_at).unwrap();
        c
    }

    /// A replacement card for `card()` (D-10), collected or not.
    fn replacement(collected: bool) -> Card {
        let old = activated();
        Card::replacement_for(
            &old,
            CardNo::parse("S00000002").unwrap(),
            "SERIAL2".into(),
            "6200000000000000002".into(),
            Replacement {
                replaces: old.card_no.clone(),
                reason: ReplacementReason::Damaged,
                ready_on: jiff::civil::date(2026, 3, 30),
                fee: Fen(2_000),
                collected_at: collected.then(now),
            },
            now(),
        )
    }

    // R-ACT-1, R-ACT-3: a new card is activated first; there is no password to reset yet.
    #[test]
    fn a_new_card_offers_activation_loss_and_replacement() {
        assert_eq!(
            card().offers(now()),
            Offers {
                activate: true,
                report_loss: true,
                replace: true,
                ..Offers::default()
            }
        );
    }

    // R-LK-2, R-PW-7: an activated account is reset at the window; R-PW-4: only an enabled
    // password is cancelled.
    #[test]
    fn an_activated_card_offers_reset_and_disable_once_enabled() {
        let mut c = activated();
        let o = c.offers(now());
        assert!(o.reset && !o.disable && !o.activate);
        assert!(o.report_loss && o.replace && !o.release_loss && !o.collect);
        c.ss.set_password(verifier());
        assert!(c.offers(now()).disable);
        // R-LK-2: a locked account is exactly what the reset is for.
        c.ss.locked_at = Some(now());
        assert!(c.offers(now()).reset);
    }

    // R-ACT-2, R-ACT-3: after the bank's activation the social-security account activates by
    // itself 24 h later; the card service centre can still activate it meanwhile (the service
    // accepts that), and once active there is nothing to activate.
    #[test]
    fn a_pending_activation_can_be_done_now_at_the_centre() {
        let mut c = card();
        let at_bank = t("2026-03-01T02:00:00Z");
        c.activate_at_bank(verifier(), at_bank, SignedDuration::from_hours(24));
        let o = c.offers(now() - SignedDuration::from_hours(1));
        assert!(o.activate && !o.reset);
        c.settle(now());
        let o = c.offers(now());
        assert!(!o.activate && o.reset);
    }

    // A loss in force stops the social-security functions (R-LS-1, R-LS-2): no reset, cancel
    // or activation until it is released; a locked account is reset, not cancelled (R-LK-2).
    // Catches an offer the service would refuse with `card_lost` or `password_locked`.
    #[test]
    fn nothing_the_service_refuses_is_offered() {
        let mut c = lost(LossKind::Temporary);
        c.ss.set_password(verifier());
        let o = c.offers(now());
        assert!(!o.reset && !o.disable && !o.activate, "{o:?}");
        let mut locked = activated();
        locked.ss.set_password(verifier());
        locked.ss.locked_at = Some(now());
        let o = locked.offers(now());
        assert!(o.reset && !o.disable, "{o:?}");
        let mut inactive_lost = card();
        inactive_lost
            .report_loss(LossKind::Temporary, "window", now(), None)
            .unwrap();
        assert!(!inactive_lost.offers(now()).activate);
    }

    // R-LS-1, R-LS-2: a pre- or temporary loss is released, not reported again; R-LS-3: a
    // formal loss is final and ends in a replacement.
    #[test]
    fn a_loss_in_force_offers_release_unless_formal() {
        for kind in [LossKind::Pre, LossKind::Temporary] {
            let o = lost(kind).offers(now());
            assert!(o.release_loss && o.replace && !o.report_loss, "{kind:?}");
        }
        let o = lost(LossKind::Formal).offers(now());
        assert!(!o.release_loss && !o.report_loss && o.replace);
    }

    // R-LS-1, D-3: a pre-loss lapses by itself after its days; then it is no loss at all.
    #[test]
    fn a_lapsed_pre_loss_offers_a_new_report() {
        let c = lost(LossKind::Pre);
        let later = now() + SignedDuration::from_hours(240);
        let o = c.offers(later);
        assert!(o.report_loss && !o.release_loss);
    }

    // R-LS-5, D-10: a replaced card is dead: the window offers nothing on it.
    #[test]
    fn a_replaced_card_offers_nothing() {
        let mut c = lost(LossKind::Formal);
        c.mark_replaced(CardNo::parse("S00000002").unwrap());
        assert_eq!(c.offers(now()), Offers::default());
    }

    // R-LS-5: a replacement card is collected with ID from its ready day (30 March here), and
    // activated only then.
    #[test]
    fn a_replacement_is_collected_from_its_ready_day_before_it_is_activated() {
        let before_ready = replacement(false).offers(now());
        assert!(!before_ready.collect && !before_ready.activate);
        assert!(before_ready.report_loss && before_ready.replace);
        // The new card's account waits for activation, so its carried-over password (D-6) is
        // not reset or cancelled yet.
        assert!(!before_ready.reset && !before_ready.disable);
        // 00:00 on the ready day in Shanghai is 16:00 UTC the day before.
        let ready = t("2026-03-29T16:00:00Z");
        assert!(
            !replacement(false)
                .offers(ready - SignedDuration::from_secs(1))
                .collect
        );
        let o = replacement(false).offers(ready);
        assert!(o.collect && !o.activate);
        let o = replacement(true).offers(ready);
        assert!(!o.collect && o.activate);
    }

    // R-KM-2: the electronic card follows the social-security account: offered for activation
    // once the account is active, for deactivation once it is, and neither on a lost or a
    // replaced card (the service refuses both).
    #[test]
    fn the_electronic_card_is_offered_as_the_service_accepts_it() {
        let o = card().offers(now());
        assert!(!o.ecard_activate && !o.ecard_deactivate, "{o:?}");
        let mut c = activated();
        let o = c.offers(now());
        assert!(o.ecard_activate && !o.ecard_deactivate, "{o:?}");
        c.ecard_active_at = Some(now());
        let o = c.offers(now());
        assert!(!o.ecard_activate && o.ecard_deactivate, "{o:?}");
        let mut lost = lost(LossKind::Temporary);
        lost.ecard_active_at = Some(now());
        let o = lost.offers(now());
        assert!(!o.ecard_activate && !o.ecard_deactivate, "{o:?}");
        let mut replaced = activated();
        replaced.mark_replaced(CardNo::parse("S00000002").unwrap());
        assert!(!replaced.offers(now()).ecard_activate);
    }
}
