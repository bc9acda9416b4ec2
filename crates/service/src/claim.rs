//! A PSAM terminal's request counter, claimed for the request (R-KM-1).
//!
//! The HTTP gate verifies a terminal request's MAC and makes a claim of its counter
//! (`Service::verify_terminal_request`); the claim rides along the request as a task-local
//! and is taken by the request's first write transaction, inside that transaction
//! (`store::Database::write`: `UPDATE … SET counter = c WHERE counter < c`). So a purchase
//! costs no extra round trip for its counter, two requests with one counter cannot both
//! commit, and a replay is refused after a restart too. A request that wrote nothing has its
//! counter taken on its own (`Service::take_terminal_counter`).

use jiff::Timestamp;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

tokio::task_local! {
    static CLAIM: TerminalClaim;
}

/// A verified terminal request's counter, to be taken with the request's first write.
#[derive(Clone, Debug)]
pub struct TerminalClaim(Arc<ClaimInner>);

#[derive(Debug)]
struct ClaimInner {
    actor_id: String,
    counter: u64,
    at: Timestamp,
    taken: AtomicBool,
}

impl TerminalClaim {
    pub(crate) fn new(actor_id: String, counter: u64, at: Timestamp) -> TerminalClaim {
        TerminalClaim(Arc::new(ClaimInner {
            actor_id,
            counter,
            at,
            taken: AtomicBool::new(false),
        }))
    }

    /// Runs `request` with this claim, so that its first write takes the counter.
    pub async fn scope<F: Future>(claim: TerminalClaim, request: F) -> F::Output {
        CLAIM.scope(claim, request).await
    }

    /// Whether a committed write took the counter.
    pub fn is_taken(&self) -> bool {
        self.0.taken.load(Ordering::Acquire)
    }

    /// The claim of the request being served, if it has one not yet taken.
    pub(crate) fn pending() -> Option<TerminalClaim> {
        CLAIM
            .try_with(TerminalClaim::clone)
            .ok()
            .filter(|c| !c.is_taken())
    }

    pub(crate) fn actor_id(&self) -> &str {
        &self.0.actor_id
    }

    pub(crate) fn counter(&self) -> u64 {
        self.0.counter
    }

    pub(crate) fn at(&self) -> Timestamp {
        self.0.at
    }

    /// After the transaction that took it committed.
    pub(crate) fn mark_taken(&self) {
        self.0.taken.store(true, Ordering::Release);
    }
}
