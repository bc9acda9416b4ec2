//! The one place that reads the system clock (STYLE 19). Everything else asks a [`Clock`].

use jiff::{Span, Timestamp};
use std::sync::Mutex;

pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
    /// The simulated clock, if this is one (`--sim-clock`); `POST /admin/clock` needs it.
    fn as_sim(&self) -> Option<&SimClock> {
        None
    }
}

/// The real clock.
pub struct SystemClock;

impl Clock for SystemClock {
    #[allow(clippy::disallowed_methods)]
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}

/// A clock that stands still until told to move: for demos and tests only.
pub struct SimClock {
    now: Mutex<Timestamp>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClockError {
    #[error("the simulated clock cannot go back in time ({0} is before now)")]
    Backwards(Timestamp),
    #[error("the duration cannot be applied: {0}")]
    Duration(String),
}

impl SimClock {
    pub fn new(start: Timestamp) -> SimClock {
        SimClock {
            now: Mutex::new(start),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Timestamp> {
        self.now
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Moves forward by an ISO 8601 duration, calendar units counted in Asia/Shanghai.
    pub fn advance(&self, span: Span) -> Result<Timestamp, ClockError> {
        let mut now = self.lock();
        let zoned = now.to_zoned(shebao_domain::time::SHANGHAI.clone());
        let next = zoned
            .checked_add(span)
            .map_err(|e| ClockError::Duration(e.to_string()))?
            .timestamp();
        if next < *now {
            return Err(ClockError::Backwards(next));
        }
        *now = next;
        Ok(next)
    }

    /// Jumps to an instant; never backwards, so time-derived states stay consistent.
    pub fn set(&self, at: Timestamp) -> Result<Timestamp, ClockError> {
        let mut now = self.lock();
        if at < *now {
            return Err(ClockError::Backwards(at));
        }
        *now = at;
        Ok(at)
    }
}

impl Clock for SimClock {
    fn now(&self) -> Timestamp {
        *self.lock()
    }
    fn as_sim(&self) -> Option<&SimClock> {
        Some(self)
    }
}

impl SimClock {
    pub fn now_for_admin(&self) -> Timestamp {
        *self.lock()
    }
}
