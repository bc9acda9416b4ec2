//! The unit lock (单位封锁, R-EM-1..3, R-EM-5, D-9, D-13), derived from an employer's months.
//!
//! ```text
//!  month M assessed ──due day passes, paid on time in full──▶ settled (no lock)
//!        │
//!        └─due day passes, not paid in full on time──▶ in arrears
//!                    │ first day of M+1
//!                    ▼
//!               UNIT LOCK on every card of the employer's insured people
//!                    │ receipts shown (R-EM-3): every month in arrears covered, and the
//!                    │ last 3 due months covered
//!                    ▼
//!               cleared (the lock lifts)
//! ```
//! Nothing is written on the cards: a card's lock is its employer's state, looked up when the
//! card is used for fund-paid care. A payment record dated on or before the due day (the tax
//! bureau's data can arrive long after) shows the month was paid on time, so no lock stands
//! for it (R-EM-4). A month is "covered" when payment records and tax receipts together reach
//! its assessment, whenever they were paid (D-9).

use crate::money::Fen;
use crate::month::Month;
use jiff::Timestamp;
use jiff::civil::Date;

/// One assessed month of one employer, with what is known of its payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmployerMonth {
    pub month: Month,
    pub assessed: Fen,
    /// What was owed by the due day: the assessment as it stood then. People registered after
    /// the due day are assessed for the month (D-8) but could not have been paid for on time;
    /// their part is owed, not late (it shows in arrears until paid, it does not lock).
    pub owed_by_due: Fen,
    pub due_on: Date,
    /// Payment records and receipts together, whenever paid.
    pub paid: Fen,
    /// Payment records and receipts dated on or before `due_on`.
    pub paid_on_time: Fen,
    /// Payment records from the tax bureau only (what crediting waits for, D-9).
    pub tax_paid: Fen,
    /// When the unlock procedure cleared this month's lock.
    pub cleared_at: Option<Timestamp>,
}

impl EmployerMonth {
    /// The first day its unpaid assessment locks the cards (R-EM-2: from the next month).
    pub fn lock_from(&self) -> Date {
        self.month.next().first_day()
    }

    pub fn is_covered(&self) -> bool {
        self.paid >= self.assessed
    }

    /// Not paid in full by the due day, seen on `today` (after the due day).
    pub fn missed_deadline(&self, today: Date) -> bool {
        today > self.due_on && self.paid_on_time < self.owed_by_due
    }

    /// Still owing money after the due day (API `arrears_months`).
    pub fn in_arrears(&self, today: Date) -> bool {
        today > self.due_on && !self.is_covered()
    }

    /// This month holds a lock on `today`.
    pub fn locks(&self, today: Date) -> bool {
        self.missed_deadline(today) && self.cleared_at.is_none() && self.lock_from() <= today
    }
}

/// The lock in force on `today`, if any: since when, and for which months.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitLock {
    pub since: Date,
    pub months: Vec<Month>,
}

pub fn unit_lock(months: &[EmployerMonth], today: Date) -> Option<UnitLock> {
    let locking: Vec<&EmployerMonth> = months.iter().filter(|m| m.locks(today)).collect();
    let since = locking.iter().map(|m| m.lock_from()).min()?;
    Some(UnitLock {
        since,
        months: locking.iter().map(|m| m.month).collect(),
    })
}

/// What the unlock procedure decides (R-EM-3, D-9).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unlock {
    /// No lock stands: nothing to lift.
    NotLocked,
    /// Every month in arrears and the last months are covered: clear these months.
    Lifted { cleared: Vec<Month> },
    /// These months still need a receipt or payment covering their assessment.
    Missing { months: Vec<Month> },
}

/// Decides whether the receipts now on file lift the lock: every locking month must be covered
/// (an employer in arrears pays them all first) and so must the last `receipt_months` months
/// whose due day has passed (an employer that paid in full shows the last 3 months).
pub fn unlock(months: &[EmployerMonth], today: Date, receipt_months: u32) -> Unlock {
    let Some(lock) = unit_lock(months, today) else {
        return Unlock::NotLocked;
    };
    let mut due: Vec<&EmployerMonth> = months.iter().filter(|m| m.due_on < today).collect();
    due.sort_by_key(|m| m.month);
    let last = due
        .iter()
        .rev()
        .take(usize::try_from(receipt_months).unwrap_or(usize::MAX));
    let mut missing: Vec<Month> = months
        .iter()
        .filter(|m| lock.months.contains(&m.month))
        .chain(last.copied())
        .filter(|m| !m.is_covered())
        .map(|m| m.month)
        .collect();
    missing.sort();
    missing.dedup();
    if missing.is_empty() {
        Unlock::Lifted {
            cleared: lock.months,
        }
    } else {
        Unlock::Missing { months: missing }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    fn m(month: &str, assessed: i64, paid: i64, on_time: i64) -> EmployerMonth {
        let month = Month::parse(month).unwrap();
        EmployerMonth {
            month,
            assessed: Fen(assessed),
            owed_by_due: Fen(assessed),
            due_on: month.day(15),
            paid: Fen(paid),
            paid_on_time: Fen(on_time),
            tax_paid: Fen(paid),
            cleared_at: None,
        }
    }

    // R-EM-1, R-EM-2: unpaid on the 15th → arrears from the 16th, lock from the 1st of next month.
    #[test]
    fn lock_falls_on_the_first_of_the_next_month() {
        let months = [m("2026-03", 1000, 0, 0)];
        assert_eq!(unit_lock(&months, date(2026, 3, 15)), None);
        assert!(months[0].in_arrears(date(2026, 3, 16)));
        assert_eq!(unit_lock(&months, date(2026, 3, 31)), None);
        let lock = unit_lock(&months, date(2026, 4, 1)).unwrap();
        assert_eq!(lock.since, date(2026, 4, 1));
        // Paid in full on time: never locked; a short payment is not in full.
        assert_eq!(
            unit_lock(&[m("2026-03", 1000, 1000, 1000)], date(2026, 5, 1)),
            None
        );
        assert!(unit_lock(&[m("2026-03", 1000, 999, 999)], date(2026, 5, 1)).is_some());
        // Paid late: still locked until the unlock procedure.
        assert!(unit_lock(&[m("2026-03", 1000, 1000, 0)], date(2026, 5, 1)).is_some());
    }

    // R-EM-3: in arrears → every unpaid month first; paid in full → the last 3 months.
    #[test]
    fn unlock_needs_every_arrears_month_and_the_last_three() {
        let today = date(2026, 7, 2);
        let mut months = vec![
            m("2026-03", 1000, 1000, 1000),
            m("2026-04", 1000, 0, 0),
            m("2026-05", 1000, 0, 0),
            m("2026-06", 1000, 1000, 1000),
            m("2026-07", 1000, 0, 0), // not due yet
        ];
        assert_eq!(
            unlock(&months, today, 3),
            Unlock::Missing {
                months: vec![
                    Month::parse("2026-04").unwrap(),
                    Month::parse("2026-05").unwrap()
                ]
            }
        );
        months[1].paid = Fen(1000);
        months[2].paid = Fen(1000);
        assert_eq!(
            unlock(&months, today, 3),
            Unlock::Lifted {
                cleared: vec![
                    Month::parse("2026-04").unwrap(),
                    Month::parse("2026-05").unwrap()
                ]
            }
        );
        for month in &mut months[1..3] {
            month.cleared_at = Some(Timestamp::UNIX_EPOCH);
        }
        assert_eq!(unit_lock(&months, today), None);
        assert_eq!(unlock(&months, today, 3), Unlock::NotLocked);
        // A later missed month locks again.
        assert!(unit_lock(&months, date(2026, 8, 1)).is_some());
    }

    // R-EM-1: a payment on the due day (the 15th) is on time: on the due day itself a month is
    // neither late nor in arrears; the day after, an unpaid month is both, a month paid in full
    // (late) is in arrears no more. Catches `today > due_on` written `>=` in either test, and
    // `in_arrears` answering yes for a covered month (`&&` → `||`, or always true).
    #[test]
    fn the_due_day_itself_is_on_time() {
        let unpaid = m("2026-03", 1000, 0, 0);
        let due = date(2026, 3, 15);
        assert!(!unpaid.missed_deadline(due));
        assert!(!unpaid.in_arrears(due));
        assert!(unpaid.missed_deadline(date(2026, 3, 16)));
        assert!(unpaid.in_arrears(date(2026, 3, 16)));
        let paid_late = m("2026-03", 1000, 1000, 0);
        assert!(paid_late.missed_deadline(date(2026, 3, 16)));
        assert!(!paid_late.in_arrears(date(2026, 3, 16)));
        assert!(!paid_late.in_arrears(due));
    }

    // R-EM-3, D-9: "the last 3 months" are months whose due day has passed: a month due today
    // is not yet asked for. Catches `due_on < today` written `<=` (today's month wrongly
    // required) or `==` (only today's month looked at, the last three ignored).
    #[test]
    fn last_months_are_those_already_due() {
        let today = date(2026, 7, 15);
        let mut months = vec![
            m("2026-03", 1000, 0, 0),
            m("2026-04", 1000, 1000, 1000),
            m("2026-05", 1000, 1000, 1000),
            m("2026-06", 1000, 0, 0),
            m("2026-07", 1000, 0, 0), // due today
        ];
        let month = |s| Month::parse(s).unwrap();
        assert_eq!(
            unlock(&months, today, 3),
            Unlock::Missing {
                months: vec![month("2026-03"), month("2026-06")]
            }
        );
        months[0].paid = Fen(1000);
        months[3].paid = Fen(1000);
        assert_eq!(
            unlock(&months, today, 3),
            Unlock::Lifted {
                cleared: vec![month("2026-03"), month("2026-06")]
            }
        );
    }
}
