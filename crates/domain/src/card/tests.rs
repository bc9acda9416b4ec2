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

// ---------------------------------------------------------------------------------------------
// The card as a state machine, checked against the rules stated on their own.
//
// The start of each run is a set-up script that puts the card in one of the states the domain
// allows — never activated, bank-activated with the social-security account pending (before or
// after the delay), directly activated; password not enabled, enabled, part-counted, locked,
// cancelled, locked through the old card's password; the financial account open, part-counted,
// locked or lost at the bank; pre-, temporary or formally lost; replaced (the run goes on with
// the new card, collected or not) — followed by random steps. After every step the card is
// compared with `Model`, a plain statement of R-LK-1..3, R-ACT-2, R-LS-1..5, D-1, D-2, D-6 and
// D-10 written for this test (it shares no code with the card's methods).
// ---------------------------------------------------------------------------------------------

const DAY_S: i64 = 86_400;
/// Asia/Shanghai has been UTC+8 without daylight saving since 1991.
const SHANGHAI_UTC_OFFSET_S: i64 = 8 * 3600;

/// R-LK-3, D-1 stated independently of `crate::time`: the instant of the next 00:00 on the
/// Shanghai wall clock after `at` — the Shanghai day number of `at` plus one, back to UTC.
fn next_shanghai_midnight(at: Timestamp) -> Timestamp {
    let shanghai_day = (at.as_second() + SHANGHAI_UTC_OFFSET_S).div_euclid(DAY_S);
    Timestamp::from_second((shanghai_day + 1) * DAY_S - SHANGHAI_UTC_OFFSET_S).unwrap()
}

fn secs(s: i64) -> SignedDuration {
    SignedDuration::from_secs(s)
}

/// An instant between 2005 and 2030, often at the awkward times of the Shanghai day: 00:00,
/// 00:30 (the UTC date is still the day before), 07:59:59 and 08:00 (UTC midnight), 23:59 and
/// 23:59:59.
fn shanghai_instant() -> impl Strategy<Value = Timestamp> {
    let time_of_day = prop_oneof![
        Just(0i64),
        Just(1),
        Just(30 * 60),
        Just(8 * 3600 - 1),
        Just(8 * 3600),
        Just(12 * 3600),
        Just(23 * 3600 + 59 * 60),
        Just(DAY_S - 1),
        0..DAY_S,
    ];
    (0i64..(366 * 25), time_of_day).prop_map(|(day, local_s)| {
        // 2005-01-01T00:00:00Z is 1 104 537 600 s after the epoch.
        Timestamp::from_second(1_104_537_600 + day * DAY_S + local_s - SHANGHAI_UTC_OFFSET_S)
            .unwrap()
    })
}

#[derive(Debug, Clone)]
enum Step {
    /// A social-security password try with the right (true) or a wrong password.
    SsTry(bool),
    /// A try with the old medical card's password at a pharmacy (R-ACT-3).
    SsTryLegacy(bool),
    FinTry(bool),
    Advance(i64),
    /// To the next 00:00 Shanghai, plus an offset in seconds.
    ToNextMidnight(i64),
    /// To the end of the financial lock (if any), plus an offset in seconds.
    ToFinUnlock(i64),
    /// To the delayed social-security activation (if pending), plus an offset in seconds.
    ToSsPending(i64),
    /// A clerk's reset, with a new password (true) or back to the initial one.
    SsReset(bool),
    SsSet,
    SsDisable,
    /// A reset or change at a bank branch.
    FinSet,
    /// The bank records the financial account lost (R-LS-6).
    FinLost,
    /// Bank activation with this delay (s) for the social-security account.
    BankActivate(i64),
    DirectActivate,
    /// A loss report; the number is the pre-loss duration in seconds.
    ReportLoss(LossKind, i64),
    ReleaseLoss,
    Replace(ReplacementReason),
    Collect,
}

fn offset() -> impl Strategy<Value = i64> {
    prop_oneof![Just(-1i64), Just(0), Just(1), -3600i64..3600]
}

fn delay() -> impl Strategy<Value = i64> {
    prop_oneof![Just(0i64), Just(DAY_S), 1..(3 * DAY_S)]
}

fn lapse() -> impl Strategy<Value = i64> {
    prop_oneof![Just(10 * DAY_S), Just(1i64), 1..(30 * DAY_S)]
}

fn reason() -> impl Strategy<Value = ReplacementReason> {
    prop_oneof![
        Just(ReplacementReason::Lost),
        Just(ReplacementReason::Damaged),
        Just(ReplacementReason::DataChanged),
        Just(ReplacementReason::DataError),
    ]
}

/// A random step. Drawn as plain numbers and decoded (a union of boxed strategies is too slow
/// to generate a thousand runs of a hundred steps); the weights favour password tries.
fn step() -> impl Strategy<Value = Step> {
    (0u8..32, any::<u64>(), any::<bool>()).prop_map(|(code, x, flag)| {
        let x = i64::try_from(x >> 2).unwrap();
        let offset = match x % 4 {
            0 => -1,
            1 => 0,
            2 => 1,
            _ => (x >> 2) % 7200 - 3600,
        };
        let delay = match x % 3 {
            0 => 0,
            1 => DAY_S,
            _ => 1 + (x >> 2) % (3 * DAY_S),
        };
        let lapse = match x % 3 {
            0 => 10 * DAY_S,
            1 => 1,
            _ => 1 + (x >> 2) % (30 * DAY_S),
        };
        let kind = [LossKind::Pre, LossKind::Temporary, LossKind::Formal][(x % 3) as usize];
        let reason = [
            ReplacementReason::Lost,
            ReplacementReason::Damaged,
            ReplacementReason::DataChanged,
            ReplacementReason::DataError,
        ][(x % 4) as usize];
        match code {
            0..=5 => Step::SsTry(flag),
            6..=7 => Step::SsTryLegacy(flag),
            8..=13 => Step::FinTry(flag),
            14..=15 => Step::Advance(x % (2 * DAY_S)),
            16 => Step::Advance(x % (3650 * DAY_S)),
            17 => Step::ToNextMidnight(offset),
            18..=19 => Step::ToFinUnlock(offset),
            20 => Step::ToSsPending(offset),
            21 => Step::SsReset(flag),
            22 => Step::SsSet,
            23 => Step::SsDisable,
            24 => Step::FinSet,
            25 => Step::FinLost,
            26 => Step::BankActivate(delay),
            27 => Step::DirectActivate,
            28 => Step::ReportLoss(kind, lapse),
            29 => Step::ReleaseLoss,
            30 => Step::Replace(reason),
            _ => Step::Collect,
        }
    })
}

fn repeat(step: Step, n: u32) -> Vec<Step> {
    (0..n).map(|_| step.clone()).collect()
}

/// A set-up script that brings a new card into one of the states the domain allows.
fn setup(ss_max: u32, fin_max: u32) -> impl Strategy<Value = Vec<Step>> {
    let activation = prop_oneof![
        Just(vec![]),
        Just(vec![Step::DirectActivate]),
        // Pending bank activation, seen before or after its delay.
        (delay(), 0i64..(3 * DAY_S))
            .prop_map(|(d, e)| vec![Step::BankActivate(d), Step::Advance(e)]),
        (delay(), offset()).prop_map(|(d, o)| vec![Step::BankActivate(d), Step::ToSsPending(o)]),
        delay().prop_map(|d| vec![Step::DirectActivate, Step::BankActivate(d)]),
    ];
    let password = prop_oneof![
        Just(vec![]),
        Just(vec![Step::SsSet]),
        (0..ss_max).prop_map(|k| [vec![Step::SsSet], repeat(Step::SsTry(false), k)].concat()),
        Just([vec![Step::SsSet], repeat(Step::SsTry(false), ss_max)].concat()),
        Just(vec![Step::SsSet, Step::SsDisable]),
        Just(repeat(Step::SsTryLegacy(false), ss_max)),
    ];
    let fin = prop_oneof![
        Just(vec![]),
        (0..fin_max).prop_map(|k| repeat(Step::FinTry(false), k)),
        Just(repeat(Step::FinTry(false), fin_max)),
        Just(vec![Step::FinLost]),
        Just([repeat(Step::FinTry(false), fin_max), vec![Step::FinLost]].concat()),
    ];
    let loss = prop_oneof![
        Just(vec![]),
        lapse().prop_map(|l| vec![Step::ReportLoss(LossKind::Pre, l)]),
        Just(vec![Step::ReportLoss(LossKind::Temporary, 0)]),
        Just(vec![Step::ReportLoss(LossKind::Formal, 0)]),
        lapse().prop_map(|l| vec![
            Step::ReportLoss(LossKind::Pre, l),
            Step::ReportLoss(LossKind::Temporary, 0)
        ]),
    ];
    let replaced = prop_oneof![
        3 => Just(vec![]),
        1 => reason().prop_map(|r| vec![Step::Replace(r)]),
        1 => reason().prop_map(|r| vec![Step::Replace(r), Step::Collect]),
        1 => (reason(), delay()).prop_map(|(r, d)| vec![Step::Replace(r), Step::Collect, Step::BankActivate(d)]),
    ];
    (activation, password, fin, loss, replaced).prop_map(|(a, p, f, l, r)| [a, p, f, l, r].concat())
}

fn strength(kind: LossKind) -> u8 {
    match kind {
        LossKind::Pre => 1,
        LossKind::Temporary => 2,
        LossKind::Formal => 3,
    }
}

const SS_TAG: u8 = 1;
const SS_RESET_TAG: u8 = 2;
const FIN_TAG: u8 = 5;
const FIN_RESET_TAG: u8 = 6;
const LEGACY_TAG: u8 = 9;
const POLICY_FEE: Fen = Fen(2000);

/// What the rules say the person's current card should look like.
#[derive(Debug, Clone)]
struct Model {
    ss_max: u32,
    fin_max: u32,
    ss_activation: SsActivation,
    /// The enabled password's verifier tag (R-PW-3), `None` while not enabled.
    ss_password: Option<u8>,
    ss_wrong: u32,
    ss_locked_at: Option<Timestamp>,
    fin_active: bool,
    fin_password: Option<u8>,
    fin_wrong: u32,
    fin_until: Option<Timestamp>,
    fin_lost_at: Option<Timestamp>,
    /// Kind, reported at, lapses at.
    loss: Option<(LossKind, Timestamp, Option<Timestamp>)>,
    collected: bool,
    balance: Fen,
}

impl Model {
    fn new(ss_max: u32, fin_max: u32, balance: Fen) -> Model {
        Model {
            ss_max,
            fin_max,
            ss_activation: SsActivation::Inactive,
            ss_password: None,
            ss_wrong: 0,
            ss_locked_at: None,
            fin_active: false,
            fin_password: None,
            fin_wrong: 0,
            fin_until: None,
            fin_lost_at: None,
            loss: None,
            collected: true,
            balance,
        }
    }

    /// What time alone does: R-ACT-2 (the delayed activation), R-LK-3 (the financial lock
    /// ends), R-LS-1 (a pre-loss lapses). Nothing else — above all not the social-security
    /// lock (R-LK-2).
    fn settle(&mut self, now: Timestamp) -> Settled {
        let mut settled = Settled::default();
        if let SsActivation::Pending { at } = self.ss_activation
            && now >= at
        {
            self.ss_activation = SsActivation::Active { since: at };
            settled.ss_activated_at = Some(at);
        }
        if self.fin_until.is_some_and(|until| now >= until) {
            self.fin_until = None;
            self.fin_wrong = 0;
            settled.fin_unlocked = true;
        }
        if let Some((LossKind::Pre, _, Some(lapses))) = self.loss
            && now >= lapses
        {
            self.loss = None;
            settled.pre_loss_lapsed = true;
        }
        settled
    }

    /// R-LK-1, D-2: a locked account answers `Locked`; a not-enabled password is not asked
    /// (the old card's password always is); a right one clears the count; the N-th wrong one
    /// in a row locks, at that moment.
    fn ss_attempt(&mut self, now: Timestamp, right: bool, legacy: bool) -> PasswordAttempt {
        if self.ss_locked_at.is_some() {
            return PasswordAttempt::Locked;
        }
        if !legacy && self.ss_password.is_none() {
            return PasswordAttempt::NotEnabled;
        }
        if right {
            self.ss_wrong = 0;
            return PasswordAttempt::Verified;
        }
        self.ss_wrong += 1;
        if self.ss_wrong == self.ss_max {
            self.ss_locked_at = Some(now);
        }
        PasswordAttempt::Wrong {
            remaining: self.ss_max - self.ss_wrong,
        }
    }

    /// R-LK-3, D-1: the same for the bank's password; the lock ends at the next 00:00 in
    /// Shanghai after the locking try.
    fn fin_attempt(&mut self, now: Timestamp, right: bool) -> PasswordAttempt {
        if self.fin_until.is_some() {
            return PasswordAttempt::Locked;
        }
        if self.fin_password.is_none() {
            return PasswordAttempt::NotEnabled;
        }
        if right {
            self.fin_wrong = 0;
            return PasswordAttempt::Verified;
        }
        self.fin_wrong += 1;
        if self.fin_wrong == self.fin_max {
            self.fin_until = Some(next_shanghai_midnight(now));
        }
        PasswordAttempt::Wrong {
            remaining: self.fin_max - self.fin_wrong,
        }
    }

    fn activated(&self) -> bool {
        self.fin_active || self.ss_activation != SsActivation::Inactive
    }

    /// Lost while a loss is in force; otherwise active once anything was activated.
    fn status(&self) -> CardStatus {
        if self.loss.is_some() {
            CardStatus::Lost
        } else if self.activated() {
            CardStatus::Active
        } else {
            CardStatus::Issued
        }
    }

    /// The service activates only a usable card that is not lost and has been collected.
    fn may_activate(&self) -> bool {
        self.loss.is_none() && self.collected
    }
}

fn check_card(c: &Card, m: &Model, now: Timestamp) -> Result<(), TestCaseError> {
    prop_assert_eq!(c.status, m.status());
    prop_assert!(c.is_usable());
    prop_assert_eq!(c.ss.activation, m.ss_activation);
    prop_assert_eq!(
        c.ss.is_active(),
        matches!(m.ss_activation, SsActivation::Active { .. })
    );
    let password = m.ss_password.map_or(SsPassword::NotEnabled, |tag| {
        SsPassword::Enabled(verifier(tag))
    });
    prop_assert_eq!(&c.ss.password, &password);
    prop_assert_eq!(c.ss.password_enabled(), m.ss_password.is_some());
    prop_assert_eq!(c.ss.locked_at, m.ss_locked_at);
    prop_assert_eq!(c.ss.is_locked(), m.ss_locked_at.is_some());
    let ss_left = if m.ss_locked_at.is_some() {
        0
    } else {
        m.ss_max - m.ss_wrong
    };
    prop_assert_eq!(c.ss.remaining_tries(m.ss_max), ss_left);
    prop_assert_eq!(c.fin.is_active(), m.fin_active);
    prop_assert_eq!(c.fin.password.clone(), m.fin_password.map(verifier));
    prop_assert_eq!(c.fin.locked_until, m.fin_until);
    prop_assert_eq!(c.fin.is_locked(now), m.fin_until.is_some());
    let fin_left = if m.fin_until.is_some() {
        0
    } else {
        m.fin_max - m.fin_wrong
    };
    prop_assert_eq!(c.fin.remaining_tries(now, m.fin_max), fin_left);
    if let Some(until) = m.fin_until {
        // Locked up to the last second before the Shanghai midnight, open from it on, even
        // before `settle` (R-LK-3).
        prop_assert!(c.fin.is_locked(until - secs(1)));
        prop_assert!(!c.fin.is_locked(until));
        prop_assert_eq!(
            c.fin.remaining_tries(until, m.fin_max),
            m.fin_max - m.fin_wrong
        );
    }
    prop_assert_eq!(c.fin_lost_at, m.fin_lost_at);
    prop_assert_eq!(
        c.loss_in_force(now)
            .map(|l| (l.kind, l.reported_at, l.lapses_at)),
        m.loss
    );
    if let Some((LossKind::Pre, _, Some(lapses))) = m.loss {
        // R-LS-1, D-3: in force up to its lapse, not at it.
        prop_assert!(c.loss_in_force(lapses - secs(1)).is_some());
        prop_assert!(c.loss_in_force(lapses).is_none());
    }
    prop_assert_eq!(c.is_collected(), m.collected);
    prop_assert_eq!(c.balance, m.balance);
    Ok(())
}

/// R-LS-5, D-10: a replaced card is dead: it stays replaced, points to its successor, and
/// refuses every loss report and release, whatever time does.
fn check_dead(old: &mut Card, successor: &CardNo, now: Timestamp) -> Result<(), TestCaseError> {
    old.settle(now);
    prop_assert_eq!(old.status, CardStatus::Replaced);
    prop_assert!(!old.is_usable());
    prop_assert_eq!(old.replaced_by.as_ref(), Some(successor));
    let mut probe = old.clone();
    for kind in [LossKind::Pre, LossKind::Temporary, LossKind::Formal] {
        prop_assert_eq!(
            probe.report_loss(kind, "window", now, Some(now + secs(DAY_S))),
            Err(LossError::Replaced)
        );
    }
    prop_assert_eq!(probe.release_loss(now), Err(LossError::Replaced));
    prop_assert_eq!(&probe, &*old);
    Ok(())
}

fn run_card(
    ss_max: u32,
    fin_max: u32,
    t0: Timestamp,
    balance: Fen,
    steps: &[Step],
) -> Result<(), TestCaseError> {
    let mut now = t0;
    let mut c = card();
    c.issued_at = t0;
    c.balance = balance;
    let mut m = Model::new(ss_max, fin_max, balance);
    let mut dead: Vec<(Card, CardNo)> = Vec::new();
    let mut next_sequence = 2u64;
    // R-LK-1: wrong answers since the social-security count was last cleared (a right
    // password, a reset, a password set or cancelled while open). It survives a replacement.
    let mut wrong_answers = 0u32;
    prop_assert_eq!(c.settle(now), Settled::default());
    for step in steps {
        let before = c.clone();
        match step {
            &Step::SsTry(right) | &Step::SsTryLegacy(right) => {
                let legacy = matches!(step, Step::SsTryLegacy(_));
                let answer = if legacy {
                    c.ss.attempt_with(now, ss_max, &verifier(LEGACY_TAG), |v| {
                        right && *v == verifier(LEGACY_TAG)
                    })
                } else {
                    let enabled = m.ss_password.map(verifier);
                    c.ss.attempt(now, ss_max, |v| right && Some(v) == enabled.as_ref())
                };
                prop_assert_eq!(answer, m.ss_attempt(now, right, legacy));
                match answer {
                    PasswordAttempt::Wrong { .. } => wrong_answers += 1,
                    PasswordAttempt::Verified => wrong_answers = 0,
                    // D-2, R-LK-2: nothing was checked, nothing counted.
                    PasswordAttempt::NotEnabled | PasswordAttempt::Locked => {
                        prop_assert_eq!(&c.ss, &before.ss)
                    }
                }
                // R-AC-1: the other account never moves.
                prop_assert_eq!(&c.fin, &before.fin);
            }
            &Step::FinTry(right) => {
                let enabled = m.fin_password.map(verifier);
                let answer = c
                    .fin
                    .attempt(now, fin_max, |v| right && Some(v) == enabled.as_ref());
                prop_assert_eq!(answer, m.fin_attempt(now, right));
                if matches!(
                    answer,
                    PasswordAttempt::Locked | PasswordAttempt::NotEnabled
                ) {
                    prop_assert_eq!(&c.fin, &before.fin);
                }
                prop_assert_eq!(&c.ss, &before.ss);
            }
            &Step::Advance(s) => now += secs(s),
            &Step::ToNextMidnight(o) => now = now.max(next_shanghai_midnight(now) + secs(o)),
            &Step::ToFinUnlock(o) => {
                if let Some(until) = m.fin_until {
                    now = now.max(until + secs(o));
                }
            }
            &Step::ToSsPending(o) => {
                if let SsActivation::Pending { at } = m.ss_activation {
                    now = now.max(at + secs(o));
                }
            }
            &Step::SsReset(with_password) => {
                let tag = with_password.then_some(SS_RESET_TAG);
                c.ss.reset(tag.map(verifier));
                // R-LK-2, R-PW-7: open, count cleared, the new or the initial password.
                m.ss_locked_at = None;
                m.ss_wrong = 0;
                m.ss_password = tag;
                wrong_answers = 0;
                prop_assert_eq!(&c.fin, &before.fin);
            }
            Step::SsSet | Step::SsDisable => {
                if matches!(step, Step::SsSet) {
                    c.ss.set_password(verifier(SS_TAG));
                    m.ss_password = Some(SS_TAG);
                } else {
                    c.ss.disable_password();
                    m.ss_password = None;
                }
                // R-PW-3, R-PW-4 clear the count of an open account; neither opens a locked
                // one (R-LK-2: only a clerk's reset does).
                if m.ss_locked_at.is_none() {
                    m.ss_wrong = 0;
                    wrong_answers = 0;
                }
                prop_assert_eq!(&c.fin, &before.fin);
            }
            Step::FinSet => {
                if m.fin_active {
                    c.fin.set_password(verifier(FIN_RESET_TAG));
                    // R-LK-3: a reset at a bank branch opens the account at once.
                    m.fin_password = Some(FIN_RESET_TAG);
                    m.fin_wrong = 0;
                    m.fin_until = None;
                    prop_assert_eq!(&c.ss, &before.ss);
                }
            }
            Step::FinLost => {
                if m.fin_active && m.fin_lost_at.is_none() {
                    c.fin_lost_at = Some(now);
                    m.fin_lost_at = Some(now);
                }
            }
            &Step::BankActivate(d) => {
                if m.may_activate() && !m.fin_active {
                    c.activate_at_bank(verifier(FIN_TAG), now, secs(d));
                    // R-ACT-2: the financial account opens now, the social-security one
                    // after the delay unless it is already underway.
                    m.fin_active = true;
                    m.fin_password = Some(FIN_TAG);
                    m.fin_wrong = 0;
                    m.fin_until = None;
                    if m.ss_activation == SsActivation::Inactive {
                        m.ss_activation = SsActivation::Pending { at: now + secs(d) };
                    }
                    prop_assert!(!c.ss.is_active() || d == 0 || before.ss.is_active());
                }
            }
            Step::DirectActivate => {
                let already = matches!(m.ss_activation, SsActivation::Active { .. });
                if m.may_activate() {
                    // R-ACT-3: activates at once, even while a bank activation is pending.
                    prop_assert_eq!(c.activate_ss(now), !already);
                    if !already {
                        m.ss_activation = SsActivation::Active { since: now };
                    }
                }
            }
            &Step::ReportLoss(kind, lapse_s) => {
                let lapses_at = Some(now + secs(lapse_s));
                let expected = match m.loss {
                    Some((current, _, _)) if strength(current) >= strength(kind) => {
                        Err(LossError::AlreadyReported(current))
                    }
                    _ => Ok(()),
                };
                prop_assert_eq!(
                    c.report_loss(kind, "window", now, lapses_at),
                    expected.clone()
                );
                if expected.is_ok() {
                    // R-LS-1: only a pre-loss lapses; R-LS-2, R-LS-3 stand until released or
                    // replaced.
                    let lapses = (kind == LossKind::Pre).then_some(now + secs(lapse_s));
                    m.loss = Some((kind, now, lapses));
                } else {
                    prop_assert_eq!(&c, &before);
                }
            }
            Step::ReleaseLoss => {
                let expected = match m.loss {
                    None => Err(LossError::NotLost),
                    Some((LossKind::Formal, _, _)) => Err(LossError::Formal),
                    Some((kind, _, _)) => Ok(kind),
                };
                prop_assert_eq!(c.release_loss(now), expected.clone());
                if expected.is_ok() {
                    m.loss = None;
                } else {
                    prop_assert_eq!(&c, &before);
                }
            }
            &Step::Replace(reason) => {
                // The service formally reports a lost card with the replacement (R-LS-3).
                if reason == ReplacementReason::Lost
                    && !matches!(m.loss, Some((LossKind::Formal, _, _)))
                {
                    prop_assert_eq!(c.report_loss(LossKind::Formal, "window", now, None), Ok(()));
                    m.loss = Some((LossKind::Formal, now, None));
                }
                let new_no = CardNo::from_sequence(next_sequence).unwrap();
                next_sequence += 1;
                // R-AC-3, R-ID-2: the bureau's own data error is remade free.
                let fee = if reason == ReplacementReason::DataError {
                    Fen::ZERO
                } else {
                    POLICY_FEE
                };
                prop_assert_eq!(reason.fee(POLICY_FEE), fee);
                let replacement = Replacement {
                    replaces: c.card_no.clone(),
                    reason,
                    ready_on: jiff::civil::date(2026, 2, 2),
                    fee,
                    collected_at: None,
                };
                let new = Card::replacement_for(
                    &c,
                    new_no.clone(),
                    format!("SERIAL{next_sequence}"),
                    format!("62000000000000000{next_sequence:02}"),
                    replacement.clone(),
                    now,
                );
                prop_assert_eq!(&new.id_number, &c.id_number);
                prop_assert_eq!(new.issued_at, now);
                prop_assert_eq!(new.status, CardStatus::Issued);
                prop_assert_eq!(new.replacement.as_ref(), Some(&replacement));
                prop_assert_eq!(new.replaced_by.as_ref(), None);
                c.mark_replaced(new_no.clone());
                dead.push((c, new_no));
                c = new;
                // D-6, D-10: the password state (its count and lock too) and the balance
                // carry over; both accounts wait for activation; the bank opens the
                // financial account anew; the loss stays with the old card.
                m.ss_activation = SsActivation::Inactive;
                m.fin_active = false;
                m.fin_password = None;
                m.fin_wrong = 0;
                m.fin_until = None;
                m.fin_lost_at = None;
                m.loss = None;
                m.collected = false;
            }
            Step::Collect => {
                if let Some(r) = c.replacement.as_mut()
                    && r.collected_at.is_none()
                {
                    r.collected_at = Some(now);
                    m.collected = true;
                }
            }
        }
        prop_assert_eq!(c.settle(now), m.settle(now), "after {:?} at {}", step, now);
        // R-LK-2: the social-security lock is never lifted by anything but a reset; in
        // particular never by time.
        if before.ss.locked_at.is_some() && !matches!(step, Step::SsReset(_)) {
            prop_assert_eq!(c.ss.locked_at, before.ss.locked_at);
        }
        // R-LK-1: never more than N wrong answers before the lock.
        prop_assert!(wrong_answers <= ss_max);
        prop_assert_eq!(
            wrong_answers == ss_max,
            c.ss.is_locked() && m.ss_wrong == ss_max
        );
        check_card(&c, &m, now)?;
        for (old, successor) in &mut dead {
            check_dead(old, successor, now)?;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 1024,
        max_shrink_iters: 4096,
        ..ProptestConfig::default()
    })]

    // R-LK-1, R-LK-2, R-LK-3, D-1, D-2, R-ACT-2, R-ACT-3, R-LS-1..5, R-AC-1, D-6, D-10: from
    // every start state, random tries, time jumps (to the Shanghai midnight, the lock's end,
    // the pending activation, ± a second), resets, activations, losses and replacements keep
    // the card equal to the model. Catches, among others: a lock at N+1 tries or at N-1; a
    // right password that does not clear the count; a not-enabled or locked try that counts;
    // a social-security lock that lifts with time or with a password change; a financial lock
    // until `now + 24h`, until the next UTC midnight, or that lifts a second early or late; a
    // pending activation that fires early or is lost; a pre-loss that never lapses or a
    // temporary one that does; a weaker loss report accepted; a formal loss released; a
    // replacement that drops the password count, lock or balance or keeps the financial
    // account; a replaced card that takes a loss report or comes back to life.
    #[test]
    fn card_follows_the_rules_from_every_state(
        (ss_max, fin_max, script) in (1u32..=8, 1u32..=8)
            .prop_flat_map(|(s, f)| (Just(s), Just(f), setup(s, f))),
        t0 in shanghai_instant(),
        balance in 0i64..50_000_000,
        steps in proptest::collection::vec(step(), 0..100),
    ) {
        let all: Vec<Step> = script.into_iter().chain(steps).collect();
        run_card(ss_max, fin_max, t0, Fen(balance), &all)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 4096, ..ProptestConfig::default() })]

    // R-LK-3, D-1: the lock set by the N-th wrong financial try ends exactly at the next 00:00
    // in Asia/Shanghai after that try — stated twice, by the UTC+8 day number and by jiff's
    // Asia/Shanghai zone — whenever the earlier wrong tries were. Catches `now + 24h`, the
    // next UTC midnight, the midnight after the first wrong try, and a lock that lifts a
    // second early or a second late.
    #[test]
    fn fin_lock_ends_at_the_next_shanghai_midnight(
        at in shanghai_instant(),
        fin_max in 1u32..=8,
        earlier in proptest::collection::vec(0i64..(5 * DAY_S), 7),
    ) {
        let mut c = card();
        c.activate_at_bank(verifier(FIN_TAG), at - secs(10 * DAY_S), secs(DAY_S));
        for k in 0..fin_max - 1 {
            let when = at - secs(earlier[k as usize]);
            prop_assert_eq!(c.fin.attempt(when, fin_max, |_| false), PasswordAttempt::Wrong { remaining: fin_max - k - 1 });
        }
        prop_assert_eq!(c.fin.attempt(at, fin_max, |_| false), PasswordAttempt::Wrong { remaining: 0 });
        let until = c.fin.locked_until.unwrap();
        prop_assert_eq!(until, next_shanghai_midnight(at));
        let zone = jiff::tz::TimeZone::get("Asia/Shanghai").unwrap();
        let local = until.to_zoned(zone.clone());
        prop_assert_eq!(local.time(), jiff::civil::time(0, 0, 0, 0));
        prop_assert_eq!(local.date(), at.to_zoned(zone).date().tomorrow().unwrap());
        prop_assert!(until > at && until.duration_since(at) <= SignedDuration::from_hours(24));
        // Still locked at the last second of the day, right password or not.
        let last = until - secs(1);
        prop_assert!(c.fin.is_locked(last));
        prop_assert!(!c.settle(last).fin_unlocked);
        prop_assert_eq!(c.fin.attempt(last, fin_max, |_| true), PasswordAttempt::Locked);
        // Open at 00:00, with a fresh count.
        prop_assert!(!c.fin.is_locked(until));
        prop_assert!(c.settle(until).fin_unlocked);
        prop_assert_eq!(c.fin.remaining_tries(until, fin_max), fin_max);
        prop_assert_eq!(c.fin.attempt(until, fin_max, |_| true), PasswordAttempt::Verified);
        // The social-security side never moved (R-AC-1).
        prop_assert_eq!(c.ss.failures, 0);
        prop_assert!(!c.ss.is_locked());
    }
}

// R-LK-3, D-1 at the awkward hours: at 00:30 Shanghai the UTC date is still the day before,
// and the lock runs to the *next* Shanghai midnight, 23 h 30 min later (a lock computed from
// the UTC date would end at 16:00Z the same UTC day, 30 minutes *before* the lock; one of
// `now + 24h` at 00:30 the next day); at 23:59 it lasts one minute; at exactly 00:00 a whole
// day; across the year end the same.
#[test]
fn fin_lock_golden_instants() {
    for (at, until) in [
        ("2026-03-10T16:30:00Z", "2026-03-11T16:00:00Z"), // 00:30 on 03-11
        ("2026-03-10T15:59:00Z", "2026-03-10T16:00:00Z"), // 23:59 on 03-10
        ("2026-03-10T15:59:59Z", "2026-03-10T16:00:00Z"), // 23:59:59
        ("2026-03-10T16:00:00Z", "2026-03-11T16:00:00Z"), // 00:00 on 03-11
        ("2026-03-11T00:00:00Z", "2026-03-11T16:00:00Z"), // 08:00 Shanghai, UTC midnight
        ("2026-12-31T15:59:00Z", "2026-12-31T16:00:00Z"), // 23:59 on 12-31
        ("2026-12-31T16:30:00Z", "2027-01-01T16:00:00Z"), // 00:30 on 2027-01-01
        ("2024-02-28T16:30:00Z", "2024-02-29T16:00:00Z"), // 00:30 on 02-29
    ] {
        let mut c = card();
        c.activate_at_bank(verifier(FIN_TAG), t(at), SignedDuration::from_hours(24));
        for _ in 0..3 {
            c.fin.attempt(t(at), 3, |_| false);
        }
        assert_eq!(c.fin.locked_until, Some(t(until)), "locked at {at}");
        assert_eq!(
            next_shanghai_midnight(t(at)),
            t(until),
            "the test's own statement"
        );
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

// Card numbers are one capital letter and eight digits; the n-th card is `S` + n in eight
// digits. Catches a parse that accepts a wrong length, a lowercase or a digit first letter, or
// a letter among the digits (`&&` → `||`), `as_str`/`Display` that lose the number, and a
// sequence bound off by one (`<` → `<=`: 100 000 000 has nine digits).
#[test]
fn card_numbers() {
    let no = CardNo::parse("S00001234").unwrap();
    assert_eq!(no.as_str(), "S00001234");
    assert_eq!(no.to_string(), "S00001234");
    assert_eq!(format!("{no:?}"), "CardNo(S00001234)");
    for bad in [
        "s00001234",
        "900001234",
        "S0000123",
        "S000012345",
        "S0000123A",
        "SS0001234",
        "",
    ] {
        assert_eq!(CardNo::parse(bad), None, "{bad:?}");
    }
    assert_eq!(
        CardNo::from_sequence(1).map(|n| n.to_string()),
        Some("S00000001".into())
    );
    assert_eq!(
        CardNo::from_sequence(99_999_999).map(|n| n.to_string()),
        Some("S99999999".into())
    );
    assert_eq!(CardNo::from_sequence(100_000_000), None);
}

// ARCHITECTURE "no password reaches a log line": a verifier's Debug names its key, never the
// MAC. Catches a Debug that prints nothing useful (the key id is what an operator needs) and
// one that prints the bytes.
#[test]
fn verifier_debug_shows_the_key_not_the_mac() {
    let shown = format!("{:?}", verifier(0xAB));
    assert_eq!(shown, "PinVerifier(key k1, ***)");
    assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab"));
}

// The stored and wire names of the card's states, loss kinds and replacement reasons (API.md,
// storage): each parses to itself and nothing else does. Catches an `as_str` that returns
// another string and a `parse` that finds the wrong variant (`==` → `!=`) or none.
#[test]
fn state_names_round_trip() {
    for (status, name) in [
        (CardStatus::Issued, "issued"),
        (CardStatus::Active, "active"),
        (CardStatus::Lost, "lost"),
        (CardStatus::Replaced, "replaced"),
    ] {
        assert_eq!(status.as_str(), name);
        assert_eq!(CardStatus::parse(name), Some(status));
    }
    for (kind, name) in [
        (LossKind::Pre, "pre"),
        (LossKind::Temporary, "temporary"),
        (LossKind::Formal, "formal"),
    ] {
        assert_eq!(kind.as_str(), name);
        assert_eq!(LossKind::parse(name), Some(kind));
    }
    for (reason, name) in [
        (ReplacementReason::Lost, "lost"),
        (ReplacementReason::Damaged, "damaged"),
        (ReplacementReason::DataChanged, "data_changed"),
        (ReplacementReason::DataError, "data_error"),
    ] {
        assert_eq!(reason.as_str(), name);
        assert_eq!(ReplacementReason::parse(name), Some(reason));
    }
    assert_eq!(CardStatus::parse("Active"), None);
    assert_eq!(LossKind::parse("final"), None);
    assert_eq!(ReplacementReason::parse("stolen"), None);
}

// `Settled::changed` tells the service to store the card: any one of the three time-driven
// changes alone is a change, none is not. Catches `||` → `&&` and a constant answer.
#[test]
fn settled_changed_means_any_one_change() {
    let at = t("2026-01-05T02:00:00Z");
    assert!(!Settled::default().changed());
    for s in [
        Settled {
            ss_activated_at: Some(at),
            ..Settled::default()
        },
        Settled {
            fin_unlocked: true,
            ..Settled::default()
        },
        Settled {
            pre_loss_lapsed: true,
            ..Settled::default()
        },
    ] {
        assert!(s.changed(), "{s:?}");
    }
}

// R-LK-1: "after N tries" when the region's N is lowered between tries (a policy change):
// an account already past the new N locks on its next wrong try instead of counting on.
// Catches `failures >= N` written as `failures == N`.
#[test]
fn lowered_tries_max_locks_at_the_next_wrong_try() {
    let now = t("2026-01-05T02:00:00Z");
    let mut c = card();
    c.ss.set_password(verifier(1));
    for _ in 0..4 {
        c.ss.attempt(now, 6, |_| false);
    }
    assert_eq!(
        c.ss.attempt(now, 3, |_| false),
        PasswordAttempt::Wrong { remaining: 0 }
    );
    assert!(c.ss.is_locked());
    c.activate_at_bank(verifier(2), now, SignedDuration::from_hours(24));
    for _ in 0..4 {
        c.fin.attempt(now, 6, |_| false);
    }
    assert_eq!(
        c.fin.attempt(now, 3, |_| false),
        PasswordAttempt::Wrong { remaining: 0 }
    );
    assert!(c.fin.is_locked(now));
}
