//! shebao use cases. Each public method of [`Service`] is one use case: it checks the actor's
//! role, parses its input, runs one transaction that applies domain transitions and writes the
//! audit record beside them, and answers only after the commit.

pub mod clock;
pub mod error;
pub mod keys;
pub mod model;
pub mod policy;
pub mod store;

mod admin;
mod bench;
mod calendar;
mod cards;
mod crediting;
mod dashboard;
mod employers;
mod jobs;
mod loss;
mod passwords;
mod people;
mod selfservice;
mod settlement;
mod support;
pub mod views;

pub use admin::NewActor;
pub use bench::CreditingBench;
pub use calendar::CalendarLoaded;
pub use cards::{ActivationChannel, ActivationRequest};
pub use crediting::{CREDIT_BATCH_ROWS_DEFAULT, CreditingSummary};
pub use dashboard::{
    DASHBOARD_DAYS_MAX, DailyLocks, Dashboard, LapsingPreLoss, LockCounts, ReplacementDue,
    UnitLockedEmployer, UnitLocks,
};
pub use employers::{DeadlineSummary, EmployerView, NewPayment, ReceiptsOutcome};
pub use error::{LockReason, ServiceError};
pub use jobs::JOB_NAMES;
pub use loss::ReplacementIssued;
pub use passwords::{PasswordChanged, Verified};
pub use people::{NewEmployer, NewLegacyCard, NewPerson};
pub use selfservice::LoginResult;
pub use settlement::{FilingView, NewFiling, NewPurchase, NewVisit, PurchaseResult, VisitResult};

use clock::Clock;
use keys::PinKeyring;
use shebao_domain::{Policy, WorkCalendar};
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
    /// Staff and terminal actors by token digest (they never change once created).
    pub(crate) staff_tokens: TokenCache,
}

/// A bounded map of token digests to staff actors.
#[derive(Default)]
pub(crate) struct TokenCache(std::sync::RwLock<std::collections::HashMap<String, model::Actor>>);

impl TokenCache {
    /// Entries kept at most; the map starts over when full (a re-read costs one query).
    const ENTRIES_MAX: usize = 10_000;

    fn get(&self, digest: &str) -> Option<model::Actor> {
        match self.0.read() {
            Ok(map) => map.get(digest).cloned(),
            Err(poisoned) => poisoned.into_inner().get(digest).cloned(),
        }
    }

    fn put(&self, digest: String, actor: model::Actor) {
        let mut map = match self.0.write() {
            Ok(map) => map,
            Err(poisoned) => poisoned.into_inner(),
        };
        if map.len() >= Self::ENTRIES_MAX {
            map.clear();
        }
        map.insert(digest, actor);
    }
}

impl Service {
    pub fn new(db: Database, clock: Arc<dyn Clock>, policy: Policy, keys: PinKeyring) -> Service {
        Service {
            db,
            clock,
            policy: Arc::new(policy),
            keys: Arc::new(keys),
            calendar: RwLock::new(Arc::new(WorkCalendar::shipped().clone())),
            job_lock: tokio::sync::Mutex::new(()),
            staff_tokens: TokenCache::default(),
        }
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
