//! The working-day calendar the use cases count with: the shipped 2005–2026 arrangement with
//! the years an operator loaded (stored in the database) laid over it.
//!
//! A year that is not loaded is an error that names it (never a guess). When a question hits
//! such a year the service reloads the stored years once before answering, so a year loaded
//! by the CLI — or by another server on the same PostgreSQL database — takes effect without a
//! restart.

use crate::Service;
use crate::error::ServiceError;
use crate::model::Actor;
use crate::model::AuditAction;
use crate::model::operator;
use crate::support::{Audit, require_role};
use jiff::civil::Date;
use shebao_domain::{CalendarError, WorkCalendar};
use std::sync::Arc;

/// What a calendar load did.
#[derive(Debug, Clone)]
pub struct CalendarLoaded {
    pub years: Vec<i16>,
}

fn calendar_error(e: CalendarError) -> ServiceError {
    match e {
        CalendarError::NoData { .. } => ServiceError::conflict("calendar_missing", e.to_string()),
        CalendarError::Parse { .. } => ServiceError::invalid("invalid_calendar", e.to_string()),
        CalendarError::OutOfRange => ServiceError::invalid("invalid_date", e.to_string()),
    }
}

impl Service {
    /// The calendar as it stands (cheap: one `Arc` clone).
    pub fn calendar(&self) -> Arc<WorkCalendar> {
        match self.calendar.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn set_calendar(&self, calendar: WorkCalendar) {
        let calendar = Arc::new(calendar);
        match self.calendar.write() {
            Ok(mut guard) => *guard = calendar,
            Err(poisoned) => *poisoned.into_inner() = calendar,
        }
    }

    /// Lays the years stored in the database over the shipped calendar. Called at start and
    /// whenever a question reaches a year that is not loaded.
    pub async fn reload_calendar(&self) -> Result<Vec<i16>, ServiceError> {
        let stored = self.db.read(|tx| Ok(tx.calendar_years()?)).await?;
        let mut calendar = WorkCalendar::shipped().clone();
        let mut years = Vec::new();
        for (year, csv) in stored {
            let one = WorkCalendar::parse_csv(&csv).map_err(|e| {
                ServiceError::Internal(format!("stored calendar year {year} does not parse: {e}"))
            })?;
            calendar.merge(&one);
            years.push(year);
        }
        self.set_calendar(calendar);
        Ok(years)
    }

    /// Loads a year's (or several years') arrangement from a CSV in the shipped format (see
    /// `scripts/gen-calendar.py`), stores each year and takes it into use. A year loaded again
    /// replaces the earlier load. `actor` is `None` for the operator CLI.
    pub async fn load_calendar(
        &self,
        actor: Option<&Actor>,
        csv: &str,
    ) -> Result<CalendarLoaded, ServiceError> {
        if let Some(actor) = actor {
            require_role(actor, &[shebao_domain::Role::Admin])?;
        }
        let parsed = WorkCalendar::parse_csv(csv).map_err(calendar_error)?;
        let years: Vec<i16> = parsed.years().collect();
        let rows = years
            .iter()
            .map(|&y| parsed.year_csv(y).map(|text| (y, text)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(calendar_error)?;
        let now = self.clock.now();
        let by = actor.cloned().unwrap_or_else(|| operator(now));
        let summary = years
            .iter()
            .map(i16::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        self.db
            .write(move |tx| {
                for (year, text) in &rows {
                    tx.put_calendar_year(*year, text, now)?;
                }
                Audit::new(AuditAction::CalendarLoad)
                    .detail(format!("working-day calendar loaded for {summary}"))
                    .record(tx, &by, now)?;
                Ok(())
            })
            .await?;
        self.reload_calendar().await?;
        Ok(CalendarLoaded { years })
    }

    /// `date` + `n` working days (D-3), reloading the stored years once if the answer needs a
    /// year that is not loaded yet.
    pub(crate) async fn add_working_days(&self, date: Date, n: u32) -> Result<Date, ServiceError> {
        match self.calendar().add_working_days(date, n) {
            Err(CalendarError::NoData { .. }) => {
                self.reload_calendar().await?;
                self.calendar()
                    .add_working_days(date, n)
                    .map_err(calendar_error)
            }
            other => other.map_err(calendar_error),
        }
    }

    /// The working days in `(a, b]` (D-3), with the same reload.
    pub async fn working_days_between(&self, a: Date, b: Date) -> Result<i64, ServiceError> {
        match self.calendar().working_days_between(a, b) {
            Err(CalendarError::NoData { .. }) => {
                self.reload_calendar().await?;
                self.calendar()
                    .working_days_between(a, b)
                    .map_err(calendar_error)
            }
            other => other.map_err(calendar_error),
        }
    }
}
