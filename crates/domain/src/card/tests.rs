use super::*;
use crate::id::IdNumber;
use crate::money::Fen;
use proptest::prelude::*;

fn t(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn verifier(tag: u8) -> PinVerifier {
    PinVerifier {
        key_id: "k1".into(),
        mac: vec![tag; 32],
    }
}

fn card() -> Card {
    let id = IdNumber::parse_shape("11010519491231002X").unwrap();
    Card::new(
        CardNo::parse("S00000001").unwrap(),
        id,
        "SERIAL".into(),
        "6200000000000000001".into(),
        t("2026-01-05T02:00:00Z"),
    )
}

// R-ACT-2: bank activation opens the financial account now, the social-security one 24 h later.
#[test]
fn bank_activation_delays_the_social_security_account() {
    let mut c = card();
    let now = t("2026-01-05T02:00:00Z");
    c.activate_at_bank(verifier(1), now, SignedDuration::from_hours(24));
    assert!(c.fin.is_active());
    assert!(!c.ss.is_active());
    assert_eq!(
        c.settle(now + SignedDuration::from_hours(23)),
        Settled::default()
    );
    let s = c.settle(now + SignedDuration::from_hours(24));
    assert_eq!(
        s.ss_activated_at,
        Some(now + SignedDuration::from_hours(24))
    );
    assert!(c.ss.is_active());
}

// R-LK-1, R-LK-2: N wrong in a row lock for good; a right one resets the count.
#[test]
fn ss_lock_is_permanent_until_reset() {
    let mut c = card();
    let now = t("2026-01-05T02:00:00Z");
    c.ss.set_password(verifier(7));
    assert_eq!(
        c.ss.attempt(now, 3, |_| false),
        PasswordAttempt::Wrong { remaining: 2 }
    );
    assert_eq!(c.ss.attempt(now, 3, |_| true), PasswordAttempt::Verified);
    assert_eq!(
        c.ss.attempt(now, 3, |_| false),
        PasswordAttempt::Wrong { remaining: 2 }
    );
    assert_eq!(
        c.ss.attempt(now, 3, |_| false),
        PasswordAttempt::Wrong { remaining: 1 }
    );
    assert_eq!(
        c.ss.attempt(now, 3, |_| false),
        PasswordAttempt::Wrong { remaining: 0 }
    );
    assert!(c.ss.is_locked());
    let years_later = now + SignedDuration::from_hours(24 * 3650);
    c.settle(years_later);
    assert_eq!(
        c.ss.attempt(years_later, 3, |_| true),
        PasswordAttempt::Locked
    );
    c.ss.reset(None);
    assert!(!c.ss.is_locked());
    assert!(!c.ss.password_enabled());
}

// R-LK-3, D-1: the financial lock lifts at 00:00 Shanghai the next day.
#[test]
fn fin_lock_lifts_at_next_shanghai_midnight() {
    let mut c = card();
    let evening = t("2026-01-05T15:30:00Z"); // 23:30 in Shanghai
    c.activate_at_bank(verifier(9), evening, SignedDuration::from_hours(24));
    for _ in 0..3 {
        c.fin.attempt(evening, 3, |_| false);
    }
    assert_eq!(c.fin.locked_until, Some(t("2026-01-05T16:00:00Z")));
    assert_eq!(
        c.fin.attempt(t("2026-01-05T15:59:59Z"), 3, |_| true),
        PasswordAttempt::Locked
    );
    let midnight = t("2026-01-05T16:00:00Z");
    assert!(c.settle(midnight).fin_unlocked);
    assert_eq!(
        c.fin.attempt(midnight, 3, |_| true),
        PasswordAttempt::Verified
    );
}

// D-2: a not-enabled password verifies without counting.
#[test]
fn not_enabled_counts_nothing() {
    let mut c = card();
    let now = t("2026-01-05T02:00:00Z");
    for _ in 0..10 {
        assert_eq!(c.ss.attempt(now, 3, |_| false), PasswordAttempt::NotEnabled);
    }
    assert_eq!(c.ss.failures, 0);
}

#[derive(Debug, Clone)]
enum Step {
    SsTry(bool),
    FinTry(bool),
    AdvanceMinutes(i64),
    SsReset,
    SsSetPassword,
    SsDisable,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => any::<bool>().prop_map(Step::SsTry),
        4 => any::<bool>().prop_map(Step::FinTry),
        2 => (0i64..3000).prop_map(Step::AdvanceMinutes),
        1 => Just(Step::SsReset),
        1 => Just(Step::SsSetPassword),
        1 => Just(Step::SsDisable),
    ]
}

proptest! {
    // R-LK-1, R-LK-2, R-LK-3, R-AC-1: random sequences of right/wrong passwords, time jumps
    // and resets keep the invariants.
    #[test]
    fn lockout_invariants_hold(ss_max in 1u32..8, fin_max in 1u32..8, steps in proptest::collection::vec(step(), 1..80)) {
        let mut c = card();
        let mut now = t("2026-01-05T02:00:00Z");
        c.activate_at_bank(verifier(2), now, SignedDuration::from_hours(24));
        c.activate_ss(now);
        c.ss.set_password(verifier(1));
        let mut ss_wrong_since_open = 0u32;
        for s in steps {
            c.settle(now);
            let (ss_before, fin_before) = (c.ss.clone(), c.fin.clone());
            match s {
                Step::SsTry(right) => {
                    let was_locked = c.ss.is_locked();
                    let out = c.ss.attempt(now, ss_max, |_| right);
                    // A locked account never verifies.
                    if was_locked { prop_assert_eq!(out, PasswordAttempt::Locked); }
                    if matches!(out, PasswordAttempt::Wrong { .. }) { ss_wrong_since_open += 1; }
                    if out == PasswordAttempt::Verified { ss_wrong_since_open = 0; }
                    // The financial account never moves because of the other one.
                    prop_assert_eq!(&c.fin, &fin_before);
                }
                Step::FinTry(right) => {
                    let was_locked = c.fin.is_locked(now);
                    let out = c.fin.attempt(now, fin_max, |_| right);
                    if was_locked { prop_assert_eq!(out, PasswordAttempt::Locked); }
                    prop_assert_eq!(&c.ss, &ss_before);
                }
                Step::AdvanceMinutes(m) => now += SignedDuration::from_mins(m),
                Step::SsReset => { c.ss.reset(Some(verifier(1))); ss_wrong_since_open = 0; }
                Step::SsSetPassword => {
                    if !c.ss.is_locked() { c.ss.set_password(verifier(1)); ss_wrong_since_open = 0; }
                }
                Step::SsDisable => {
                    if !c.ss.is_locked() { c.ss.disable_password(); c.ss.set_password(verifier(1)); ss_wrong_since_open = 0; }
                }
            }
            // Never more than N wrong tries are answered between two openings.
            prop_assert!(ss_wrong_since_open <= ss_max);
            prop_assert!(c.ss.failures <= ss_max);
            prop_assert_eq!(c.ss.is_locked(), c.ss.failures >= ss_max);
            prop_assert!(c.fin.failures <= fin_max);
            // A financial lock never outlives the next Shanghai midnight.
            if let Some(until) = c.fin.locked_until {
                prop_assert!(until.duration_since(now) <= SignedDuration::from_hours(24));
            }
        }
    }
}

// R-LS-1: a pre-loss stops the card and lapses by itself after its time.
#[test]
fn pre_loss_lapses_by_itself() {
    let mut c = card();
    let now = t("2026-01-05T02:00:00Z");
    c.activate_ss(now);
    let lapses = now + SignedDuration::from_hours(240);
    c.report_loss(LossKind::Pre, "hotline", now, Some(lapses))
        .unwrap();
    assert_eq!(c.status, CardStatus::Lost);
    assert!(
        c.loss_in_force(lapses - SignedDuration::from_secs(1))
            .is_some()
    );
    assert!(
        !c.settle(lapses - SignedDuration::from_secs(1))
            .pre_loss_lapsed
    );
    assert!(c.settle(lapses).pre_loss_lapsed);
    assert_eq!(c.status, CardStatus::Active);
    assert!(c.loss.is_none());
}

// R-LS-2, R-LS-3: temporary losses release; formal ones never; reports only upgrade.
#[test]
fn losses_upgrade_and_only_weak_ones_release() {
    let mut c = card();
    let now = t("2026-01-05T02:00:00Z");
    c.report_loss(LossKind::Temporary, "window", now, None)
        .unwrap();
    assert_eq!(
        c.report_loss(LossKind::Pre, "hotline", now, Some(now)),
        Err(LossError::AlreadyReported(LossKind::Temporary))
    );
    assert_eq!(c.release_loss(now), Ok(LossKind::Temporary));
    assert_eq!(
        c.status,
        CardStatus::Issued,
        "never activated: back to issued"
    );
    c.report_loss(
        LossKind::Pre,
        "hotline",
        now,
        Some(now + SignedDuration::from_hours(240)),
    )
    .unwrap();
    c.report_loss(LossKind::Formal, "window", now, None)
        .unwrap();
    assert_eq!(c.release_loss(now), Err(LossError::Formal));
    assert_eq!(
        c.loss.as_ref().map(|l| l.lapses_at),
        Some(None),
        "formal loss never lapses"
    );
    assert!(
        !c.settle(now + SignedDuration::from_hours(24 * 365))
            .pre_loss_lapsed
    );
}

// D-6, D-10: a replacement carries the password state and balance; the old card is dead.
#[test]
fn replacement_carries_password_state_and_balance() {
    let mut old = card();
    let now = t("2026-01-05T02:00:00Z");
    old.activate_ss(now);
    old.ss.set_password(verifier(5));
    old.balance = Fen(4321);
    let repl = Replacement {
        replaces: old.card_no.clone(),
        reason: ReplacementReason::Lost,
        ready_on: jiff::civil::date(2026, 2, 2),
        fee: Fen(2000),
        collected_at: None,
    };
    let new = Card::replacement_for(
        &old,
        CardNo::parse("S00000002").unwrap(),
        "S2".into(),
        "6200000000000000002".into(),
        repl,
        now,
    );
    old.mark_replaced(new.card_no.clone());
    assert_eq!(old.status, CardStatus::Replaced);
    assert!(!old.is_usable());
    assert_eq!(new.status, CardStatus::Issued);
    assert_eq!(new.ss.password, SsPassword::Enabled(verifier(5)));
    assert!(!new.ss.is_active() && !new.fin.is_active() && new.fin.password.is_none());
    assert_eq!(new.balance, Fen(4321));
    assert!(!new.is_collected());
    assert_eq!(ReplacementReason::DataError.fee(Fen(2000)), Fen::ZERO);
    assert_eq!(ReplacementReason::Damaged.fee(Fen(2000)), Fen(2000));
}
