//! The online query password's throttle (D-4, R-PW-8).
//!
//! ```text
//!  failures < free ──wrong──▶ failures+1 ──…──▶ failures ≥ free: next try waits
//!        ▲                                       first_wait × 2^(failures-free), ≤ max_wait
//!        └────────────── right password resets to 0 ◀────────────┘
//! ```
//! It slows guessing down and never locks anything for good; it is separate from the card's
//! password counters.

use crate::policy::WebLoginPolicy;
use jiff::{SignedDuration, Timestamp};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WebLoginThrottle {
    pub failures: u32,
    pub last_failure_at: Option<Timestamp>,
}

impl WebLoginThrottle {
    /// `Err(wait)` while the next try must wait.
    pub fn check(&self, now: Timestamp, policy: &WebLoginPolicy) -> Result<(), SignedDuration> {
        let (Some(last), Some(wait)) = (self.last_failure_at, self.wait(policy)) else {
            return Ok(());
        };
        let remaining = last.duration_since(now).checked_add(wait).unwrap_or(wait);
        // `last - now + wait` is the time left to wait.
        if remaining.is_positive() {
            Err(remaining)
        } else {
            Ok(())
        }
    }

    fn wait(&self, policy: &WebLoginPolicy) -> Option<SignedDuration> {
        let over = self.failures.checked_sub(policy.free_failures)?;
        let factor = 1i32.checked_shl(over.min(30)).unwrap_or(i32::MAX);
        Some(
            policy
                .first_wait
                .checked_mul(factor)
                .unwrap_or(policy.max_wait)
                .min(policy.max_wait),
        )
    }

    pub fn record_failure(&mut self, now: Timestamp) {
        self.failures = self.failures.saturating_add(1);
        self.last_failure_at = Some(now);
    }

    pub fn record_success(&mut self) {
        *self = WebLoginThrottle::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: WebLoginPolicy = WebLoginPolicy {
        free_failures: 5,
        first_wait: SignedDuration::from_secs(60),
        max_wait: SignedDuration::from_secs(3600),
    };

    // D-4: five free failures, then 1 min doubling, capped at 1 h.
    #[test]
    fn waits_double_after_five_failures_and_cap_at_an_hour() {
        let t0: Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let mut t = WebLoginThrottle::default();
        for _ in 0..4 {
            t.record_failure(t0);
            assert!(t.check(t0, &POLICY).is_ok());
        }
        t.record_failure(t0);
        assert_eq!(t.check(t0, &POLICY), Err(SignedDuration::from_secs(60)));
        let later = t0 + SignedDuration::from_secs(60);
        assert!(t.check(later, &POLICY).is_ok());
        t.record_failure(later);
        assert_eq!(t.check(later, &POLICY), Err(SignedDuration::from_secs(120)));
        for _ in 0..20 {
            t.record_failure(later);
        }
        assert_eq!(
            t.check(later, &POLICY),
            Err(SignedDuration::from_secs(3600))
        );
        t.record_success();
        assert!(t.check(later, &POLICY).is_ok());
    }
}
