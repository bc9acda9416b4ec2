//! An employer's months, which several use cases share (D-8, R-EM-2, D-13): rolling them
//! forward to today with everyone's assessment, assessing a person registered mid-month, and
//! reading the unit lock they put on a person's cards.

use crate::error::ServiceError;
use crate::model::{AssessmentRecord, Employer, EmployerMonthRecord};
use crate::store::Lock;
use crate::store::Tx;
use jiff::civil::Date;
use shebao_domain::time::business_date;
use shebao_domain::unitlock::{UnitLock, unit_lock};
use shebao_domain::{EmployerMonth, Fen, Insured, Month, Person, Policy, contribution};

/// People read from the roster per statement when a month is assessed (STYLE 17).
const ROSTER_PAGE_ROWS_MAX: u32 = 2_000;

pub(crate) fn load_employer(
    tx: &mut dyn Tx,
    id: &str,
    lock: Lock,
) -> Result<Employer, ServiceError> {
    tx.employer(id, lock)?
        .ok_or_else(|| ServiceError::not_found(format!("no employer {id}")))
}

/// Assesses `person` for `month` (R-CR-1) if they are insured through the employer and not yet
/// assessed; returns the contribution added to the month.
fn assessment_for(
    policy: &Policy,
    employer: &Employer,
    month: Month,
    person: &Person,
) -> Option<AssessmentRecord> {
    let insured = Insured {
        kind: person.kind,
        birth: person.id_number.birth_date(),
        base: person.contribution_base,
    };
    let rules = policy.contribution.rules_for(month)?;
    let assessment = contribution::assess(
        &policy.contribution,
        month,
        &insured,
        employer.prev_year_avg_wage,
    )?;
    Some(AssessmentRecord {
        employer_id: employer.id.clone(),
        month,
        id_number: person.id_number.clone(),
        kind: person.kind,
        base: person.contribution_base,
        assessment,
        rule_set: rules.name().to_owned(),
        credited_at: None,
        credited_card_no: None,
    })
}

fn empty_month(policy: &Policy, employer_id: &str, month: Month) -> EmployerMonthRecord {
    EmployerMonthRecord {
        employer_id: employer_id.to_owned(),
        month: EmployerMonth {
            month,
            assessed: Fen::ZERO,
            owed_by_due: Fen::ZERO,
            due_on: policy.contribution.due_on(month),
            paid: Fen::ZERO,
            paid_on_time: Fen::ZERO,
            tax_paid: Fen::ZERO,
            cleared_at: None,
        },
        data_arrived_on: None,
        credited_at: None,
        lock_noted_at: None,
    }
}

/// Rolls an employer's months forward to `today`'s month (D-8): each month not yet assessed
/// gets a row and an assessment for everyone insured with the employer who was registered by
/// then. Idempotent; the caller holds the employer's row lock. Returns (months, people)
/// assessed.
pub(crate) fn roll_forward(
    tx: &mut dyn Tx,
    policy: &Policy,
    employer: &Employer,
    today: Date,
) -> Result<(u64, u64), ServiceError> {
    let current = Month::of(today);
    let months = tx.employer_months(&employer.id)?;
    let first = match months.last() {
        Some(last) if last.month.month >= current => return Ok((0, 0)),
        Some(last) => last.month.month.next(),
        None => Month::of(business_date(employer.created_at)),
    };
    let (mut months_done, mut people) = (0, 0);
    let mut month = first;
    while month <= current {
        let mut record = empty_month(policy, &employer.id, month);
        // Everyone registered before the month ends is insured in it (D-8).
        let month_end = month.next().first_day();
        let mut after = String::new();
        loop {
            let page = tx.insured_of(&employer.id, &after, ROSTER_PAGE_ROWS_MAX)?;
            for person in &page {
                if business_date(person.created_at) >= month_end {
                    continue;
                }
                if let Some(a) = assessment_for(policy, employer, month, person) {
                    record.month.assessed = add(record.month.assessed, a.assessment.contribution)?;
                    if owed_by_due(&record, person) {
                        record.month.owed_by_due =
                            add(record.month.owed_by_due, a.assessment.contribution)?;
                    }
                    tx.insert_assessment(&a)?;
                    people += 1;
                }
            }
            match page.last() {
                Some(last) if page.len() == ROSTER_PAGE_ROWS_MAX as usize => {
                    after = last.id_number.as_str().to_owned();
                }
                _ => break,
            }
        }
        tx.put_employer_month(&record)?;
        months_done += 1;
        month = month.next();
    }
    Ok((months_done, people))
}

pub(crate) fn add(a: Fen, b: Fen) -> Result<Fen, ServiceError> {
    a.checked_add(b)
        .ok_or_else(|| ServiceError::Internal("amount overflow".into()))
}

/// D-8: a person registered mid-month with an employer is assessed for that month at once.
pub(crate) fn assess_new_person(
    tx: &mut dyn Tx,
    policy: &Policy,
    person: &Person,
    today: Date,
) -> Result<(), ServiceError> {
    let Some(employer_id) = &person.employer_id else {
        return Ok(());
    };
    let employer = load_employer(tx, employer_id, Lock::ForUpdate)?;
    let (months, _) = roll_forward(tx, policy, &employer, today)?;
    if months > 0 {
        // The roll-forward just assessed the current month with this person in it.
        return Ok(());
    }
    let month = Month::of(today);
    let Some(a) = assessment_for(policy, &employer, month, person) else {
        return Ok(());
    };
    let mut record = tx
        .employer_months(&employer.id)?
        .into_iter()
        .find(|m| m.month.month == month)
        .unwrap_or_else(|| empty_month(policy, &employer.id, month));
    record.month.assessed = add(record.month.assessed, a.assessment.contribution)?;
    if owed_by_due(&record, person) {
        record.month.owed_by_due = add(record.month.owed_by_due, a.assessment.contribution)?;
    }
    tx.insert_assessment(&a)?;
    tx.put_employer_month(&record)?;
    Ok(())
}

/// A person's part of a month is owed by its due day if they were registered by then; the
/// part of someone registered after it is owed, but could not have been paid on time, so it
/// does not lock (it shows in arrears until paid).
fn owed_by_due(record: &EmployerMonthRecord, person: &Person) -> bool {
    business_date(person.created_at) <= record.month.due_on
}

/// What the stored months say about a person's unit lock on `today`.
pub(crate) struct LockState {
    /// The employer's months reach `today`'s month (nothing left to roll forward).
    pub months_current: bool,
    pub lock: Option<UnitLock>,
}

/// The unit lock on a person's cards as the stored months show it (R-EM-2, D-13): one indexed
/// read of the employer's latest month and its locking months. Read-only.
pub(crate) fn lock_state(
    tx: &mut dyn Tx,
    person: &Person,
    today: Date,
) -> Result<LockState, ServiceError> {
    employer_lock_state(tx, insured_employer(person), today)
}

/// [`lock_state`] for the employer a holder is insured through (`None`: no unit lock).
fn employer_lock_state(
    tx: &mut dyn Tx,
    employer: Option<&str>,
    today: Date,
) -> Result<LockState, ServiceError> {
    let Some(employer_id) = employer else {
        return Ok(LockState {
            months_current: true,
            lock: None,
        });
    };
    let months = tx.lock_check_months(employer_id, today)?;
    let months_current = months
        .last()
        .is_some_and(|m| m.month.month >= Month::of(today));
    let plain: Vec<EmployerMonth> = months.into_iter().map(|m| m.month).collect();
    Ok(LockState {
        months_current,
        lock: unit_lock(&plain, today),
    })
}

/// The unit lock for fund-paid care and for a card view that may write: if a month is missing
/// (nobody has looked since it began), the employer's row is locked and the months rolled
/// forward first, so a month not yet assessed still counts.
///
/// `employer` is the one the holder is insured through ([`insured_employer`]; the card row
/// carries it, so fund-paid care reads no person for it).
pub(crate) fn unit_lock_for_care(
    tx: &mut dyn Tx,
    policy: &Policy,
    employer: Option<&str>,
    today: Date,
) -> Result<Option<UnitLock>, ServiceError> {
    let state = employer_lock_state(tx, employer, today)?;
    if state.months_current {
        return Ok(state.lock);
    }
    if let Some(employer_id) = employer {
        let employer = load_employer(tx, employer_id, Lock::ForUpdate)?;
        roll_forward(tx, policy, &employer, today)?;
    }
    Ok(employer_lock_state(tx, employer, today)?.lock)
}

/// The employer whose months can lock a person's cards: employees' and retirees' (R-EM-2),
/// nobody else's.
pub(crate) fn insured_employer(person: &Person) -> Option<&str> {
    let insured = matches!(
        person.kind,
        shebao_domain::PersonKind::Employee | shebao_domain::PersonKind::Retiree
    );
    person.employer_id.as_deref().filter(|_| insured)
}
