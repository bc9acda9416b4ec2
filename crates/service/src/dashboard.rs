//! Read-only figures for the supervisor dashboard (issue 5): how many cards are locked and
//! why, which pre-losses are about to lapse, which replacement cards wait for collection, and
//! the locks made per Shanghai day. Everything is derived from the `cards` and `audit` tables;
//! nothing here changes state, so it needs no audit record of its own.

use crate::Service;
use crate::error::ServiceError;
use crate::model::Actor;
use crate::model::AuditAction;
use crate::model::{LapsingPreLoss, LockCounts, ReplacementDue, UnitLocks};
use crate::support::require_role;
use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};
use shebao_domain::Role;
use shebao_domain::time::business_date;

/// The kinds of lock-making events the dashboard charts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockEventKind {
    /// A wrong password locked the social-security account (R-LK-1).
    SsPassword,
    /// A wrong password locked the financial account (R-LK-3).
    FinPassword,
    /// A card was reported lost (R-LS-1..3).
    Loss,
}

/// One Shanghai day's lock-making events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyLocks {
    pub day: Date,
    pub ss_password: u64,
    pub fin_password: u64,
    pub loss: u64,
}

impl DailyLocks {
    pub fn total(&self) -> u64 {
        self.ss_password + self.fin_password + self.loss
    }
}

#[derive(Debug, Clone)]
pub struct Dashboard {
    pub now: Timestamp,
    pub counts: LockCounts,
    pub lapsing: Vec<LapsingPreLoss>,
    pub replacements: Vec<ReplacementDue>,
    /// Oldest first, one entry for every day of the period (days without events are zero).
    pub daily: Vec<DailyLocks>,
    /// Employers under a unit lock today (R-EM-2).
    pub unit_locks: UnitLocks,
}

/// Rows a list on the dashboard shows at most.
const DASHBOARD_ROWS_MAX: u32 = 50;
/// Days a chart may cover at most.
pub const DASHBOARD_DAYS_MAX: u32 = 92;
/// Shanghai is UTC+8 without daylight saving since 1991: a day number is
/// `(microseconds + 8 h) / 24 h`, the same arithmetic on both engines.
const SHANGHAI_OFFSET_MICROS: i64 = 8 * 3_600_000_000;
const DAY_MICROS: i64 = 86_400_000_000;

/// Classifies an audit action whose outcome locked something, or a loss report.
pub fn lock_event_kind(action: AuditAction) -> LockEventKind {
    if action == AuditAction::CardLossReport {
        LockEventKind::Loss
    } else if action.is_financial() {
        LockEventKind::FinPassword
    } else {
        LockEventKind::SsPassword
    }
}

/// The Shanghai day number (days since 1970-01-01 in UTC+8) the storage groups by.
pub fn shanghai_day_number(at: Timestamp) -> i64 {
    (at.as_microsecond() + SHANGHAI_OFFSET_MICROS).div_euclid(DAY_MICROS)
}

impl Service {
    /// The supervisor dashboard: current lock counts, pre-losses lapsing within
    /// `lapse_window`, uncollected replacements, and lock events per day over the last `days`
    /// Shanghai days (today included). Clerks and admins.
    pub async fn dashboard(
        &self,
        actor: &Actor,
        days: u32,
        lapse_window: SignedDuration,
    ) -> Result<Dashboard, ServiceError> {
        require_role(actor, &[Role::Clerk, Role::Admin])?;
        let days = days.clamp(1, DASHBOARD_DAYS_MAX);
        let now = self.clock.now();
        let until = now.checked_add(lapse_window).unwrap_or(now);
        let today = business_date(now);
        let first_day = today
            .checked_sub(jiff::Span::new().days(i64::from(days) - 1))
            .map_err(|e| ServiceError::Internal(format!("dashboard period: {e}")))?;
        let since = first_day
            .to_zoned(shebao_domain::time::SHANGHAI.clone())
            .map_err(|e| ServiceError::Internal(format!("dashboard period: {e}")))?
            .timestamp();
        let (counts, lapsing, replacements, events, unit_locks) = self
            .db
            .read(move |tx| {
                Ok((
                    tx.lock_counts(now)?,
                    tx.pre_losses_lapsing(now, until, DASHBOARD_ROWS_MAX)?,
                    tx.replacements_uncollected(DASHBOARD_ROWS_MAX)?,
                    tx.lock_events_by_day(since)?,
                    tx.unit_locked_employers(today, DASHBOARD_ROWS_MAX)?,
                ))
            })
            .await?;
        let first_number = shanghai_day_number(since);
        let mut daily: Vec<DailyLocks> = (0..days)
            .filter_map(|i| {
                first_day
                    .checked_add(jiff::Span::new().days(i64::from(i)))
                    .ok()
            })
            .map(|day| DailyLocks {
                day,
                ss_password: 0,
                fin_password: 0,
                loss: 0,
            })
            .collect();
        for event in events {
            let Some(slot) = usize::try_from(event.day_number - first_number)
                .ok()
                .and_then(|i| daily.get_mut(i))
            else {
                continue;
            };
            let count = event.count;
            match lock_event_kind(event.action) {
                LockEventKind::SsPassword => slot.ss_password += count,
                LockEventKind::FinPassword => slot.fin_password += count,
                LockEventKind::Loss => slot.loss += count,
            }
        }
        Ok(Dashboard {
            now,
            counts,
            lapsing,
            replacements,
            daily,
            unit_locks,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_numbers_follow_the_shanghai_day() {
        // 23:59 and 00:00 in Shanghai fall on different days although both are 15:59/16:00 UTC.
        let late: Timestamp = "2026-03-10T15:59:00Z".parse().unwrap();
        let midnight: Timestamp = "2026-03-10T16:00:00Z".parse().unwrap();
        assert_eq!(shanghai_day_number(midnight), shanghai_day_number(late) + 1);
    }

    #[test]
    fn events_are_classified_by_action() {
        assert_eq!(
            lock_event_kind(AuditAction::CardLossReport),
            LockEventKind::Loss
        );
        assert_eq!(
            lock_event_kind(AuditAction::FinPasswordVerify),
            LockEventKind::FinPassword
        );
        assert_eq!(
            lock_event_kind(AuditAction::SsPasswordVerify),
            LockEventKind::SsPassword
        );
    }
}
