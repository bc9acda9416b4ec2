//! shebao use cases. Each public method of [`Service`] is one use case: it checks the actor's
//! role, parses its input, runs one transaction that applies domain transitions and writes the
//! audit record beside them, and answers only after the commit.

pub mod claim;
pub mod clock;
pub mod error;
mod input;
pub mod keys;
pub mod meter;
pub mod model;
pub mod policy;
pub mod request_key;
pub mod secret;
pub mod store;
pub mod words;

mod admin;
mod calendar;
mod cards;
mod chip;
mod console_sessions;
mod crediting;
mod dashboard;
mod ecard;
mod ecode;
mod employers;
mod health;
mod jobs;
#[cfg(test)]
mod layers;
mod loss;
mod months;
mod passwords;
mod people;
mod selfservice;
mod settlement;
mod support;
mod terminal;
pub mod views;

pub use admin::{ADMIN_TOKEN_CHARS_MIN, AuditFilter, NewActor, StartupAdmin};
pub use calendar::CalendarLoaded;
pub use cards::{ActivationRequest, CARD_APPLICATIONS_MAX, CardApplications, CardSkipped};
pub use chip::CardAuth;
pub use crediting::{CREDIT_BATCH_ROWS_DEFAULT, CreditingSummary};
pub use dashboard::{DASHBOARD_DAYS_MAX, DailyLocks, Dashboard};
pub use ecard::EcardCode;
pub use employers::{ContributionLine, DeadlineSummary, EmployerView, NewPayment, ReceiptsOutcome};
pub use error::{LockReason, ServiceError};
pub use health::READY_READ_TIMEOUT;
pub use input::{AUDIT_LIMIT_MAX, LIST_LIMIT_DEFAULT};
pub use jobs::JOB_NAMES;
pub use loss::ReplacementIssued;
pub use model::{
    ActivationChannel, LapsingPreLoss, LockCounts, ReplacementDue, UnitLockedEmployer, UnitLocks,
};
pub use passwords::{PasswordChanged, Verified};
pub use people::{NewEmployer, NewLegacyCard, NewPerson};
pub use selfservice::LoginResult;
pub use settlement::{FilingView, NewFiling, NewPurchase, NewVisit, PurchaseResult, VisitResult};

use clock::Clock;
use keys::PinKeyring;
use shebao_domain::{Policy, WorkCalendar};
use shebao_keys::KeyStore;
use std::sync::{Arc, RwLock};
use store::Database;

/// The use cases, with what they need: the database, the clock, the policy and the PIN keys.
pub struct Service {
    pub(crate) db: Database,
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) policy: Arc<Policy>,
    pub(crate) keys: Arc<PinKeyring>,
    /// The shipped working-day calendar with operator-loaded years laid over it.
    pub(crate) calendar: RwLock<Arc<WorkCalendar>>,
    /// One batch job at a time on this server.
    pub(crate) job_lock: tokio::sync::Mutex<()>,
    /// Staff and terminal actors by token digest, each for at most the cache's age bound.
    pub(crate) staff_tokens: TokenCache,
    /// The city's keys of the national key system (R-KM-1), used without being seen.
    pub(crate) city_keys: Arc<dyn KeyStore>,
    /// Terminals without a PSAM are refused (`--require-psam`).
    pub(crate) require_psam: bool,
}

/// The monotonic clock, for ages of cached entries only: no rule of the domain reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Monotonic(std::time::Instant);

impl Monotonic {
    pub(crate) fn now() -> Monotonic {
        Monotonic(std::time::Instant::now())
    }
}

/// How long a cached staff token is trusted before the database is asked again: a revoked
/// token stops working within this bound on every server sharing the database (API.md
/// "Actors": within 10 s).
pub const TOKEN_CACHE_AGE_DEFAULT: std::time::Duration = std::time::Duration::from_secs(5);

/// A bounded map of token digests to staff actors, each entry trusted for `max_age`.
pub(crate) struct TokenCache {
    entries: std::sync::RwLock<std::collections::HashMap<String, (model::Actor, Monotonic)>>,
    max_age: std::time::Duration,
}

impl TokenCache {
    /// Entries kept at most; the map starts over when full (a re-read costs one query).
    const ENTRIES_MAX: usize = 10_000;

    fn new(max_age: std::time::Duration) -> TokenCache {
        TokenCache {
            entries: Default::default(),
            max_age,
        }
    }

    fn read(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, std::collections::HashMap<String, (model::Actor, Monotonic)>>
    {
        match self.entries.read() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn write(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, std::collections::HashMap<String, (model::Actor, Monotonic)>>
    {
        match self.entries.write() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    /// The actor cached for `digest` if its entry is younger than the age bound at `now`.
    fn get(&self, digest: &str, now: Monotonic) -> Option<model::Actor> {
        self.read()
            .get(digest)
            .filter(|(_, at)| now.0.saturating_duration_since(at.0) < self.max_age)
            .map(|(actor, _)| actor.clone())
    }

    fn put(&self, digest: String, actor: model::Actor, now: Monotonic) {
        let mut map = self.write();
        if map.len() >= Self::ENTRIES_MAX {
            map.clear();
        }
        map.insert(digest, (actor, now));
    }

    /// Forgets every token of the actor `id` (on this server, at once).
    fn forget_actor(&self, id: &str) {
        self.write().retain(|_, (actor, _)| actor.id != id);
    }
}

impl Service {
    pub fn new(db: Database, clock: Arc<dyn Clock>, policy: Policy, keys: PinKeyring) -> Service {
        Service::with_token_cache_age(db, clock, policy, keys, TOKEN_CACHE_AGE_DEFAULT)
    }

    /// The same with another age bound for cached staff tokens (tests of revocation across
    /// servers use a short one).
    pub fn with_token_cache_age(
        db: Database,
        clock: Arc<dyn Clock>,
        policy: Policy,
        keys: PinKeyring,
        token_cache_age: std::time::Duration,
    ) -> Service {
        Service {
            db,
            clock,
            policy: Arc::new(policy),
            keys: Arc::new(keys),
            calendar: RwLock::new(Arc::new(WorkCalendar::shipped().clone())),
            job_lock: tokio::sync::Mutex::new(()),
            staff_tokens: TokenCache::new(token_cache_age),
            city_keys: Arc::new(NoKeys),
            require_psam: false,
        }
    }

    /// The city's key store (R-KM-1); without one no PSAM terminal can be made or verified.
    pub fn with_city_keys(mut self, keys: Arc<dyn KeyStore>) -> Service {
        self.city_keys = keys;
        self
    }

    /// Refuse terminals without a PSAM (403 `psam_required`, `--require-psam`).
    pub fn with_require_psam(mut self, require: bool) -> Service {
        self.require_psam = require;
        self
    }

    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    pub fn clock(&self) -> &dyn Clock {
        &*self.clock
    }

    pub fn engine_name(&self) -> &'static str {
        self.db.engine_name()
    }
}

/// The key store of a service given none: holds no key of any purpose.
struct NoKeys;

impl KeyStore for NoKeys {
    fn versions(&self, _purpose: shebao_keys::Purpose) -> Vec<u32> {
        Vec::new()
    }

    fn mac(
        &self,
        purpose: shebao_keys::Purpose,
        _version: Option<u32>,
        _path: &[shebao_keys::Diversifier],
        _message: &[u8],
    ) -> Result<shebao_keys::Mac, shebao_keys::KeyError> {
        Err(shebao_keys::KeyError::Missing(purpose))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn actor(id: &str) -> model::Actor {
        model::Actor {
            id: id.into(),
            role: shebao_domain::Role::Pharmacy,
            name: "p".into(),
            region: None,
            employer_id: None,
            id_number: None,
            must_change_password: false,
            session_id: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
            source: model::ActorSource::Api,
            revoked_at: None,
            psam: None,
        }
    }

    // API.md "Actors", issue 16: a revocation reaches every server within 10 s, so no server
    // trusts a cached token longer by default.
    #[test]
    fn the_default_age_bound_is_within_ten_seconds() {
        assert!(TOKEN_CACHE_AGE_DEFAULT <= Duration::from_secs(10));
    }

    // API.md "Actors": a cached token is trusted for the age bound only, and forgetting an
    // actor drops every token of it at once.
    #[test]
    fn cached_tokens_age_out_and_can_be_forgotten() {
        let cache = TokenCache::new(Duration::from_secs(5));
        let t0 = Monotonic::now();
        let at = |secs: u64| Monotonic(t0.0 + Duration::from_secs(secs));
        cache.put("d1".into(), actor("A1"), t0);
        cache.put("d2".into(), actor("A2"), t0);
        assert_eq!(cache.get("d1", at(4)).map(|a| a.id), Some("A1".into()));
        assert!(cache.get("d1", at(5)).is_none(), "not at the bound");
        assert!(cache.get("d1", at(60)).is_none());
        cache.forget_actor("A2");
        assert!(cache.get("d2", t0).is_none());
        assert!(cache.get("d1", t0).is_some());
    }
}
