//! Readiness (issue 16, API.md "Running on a cluster"): whether the database answers, for a
//! load balancer deciding where to send requests. `GET /health` says only that the process
//! is up; `GET /ready` asks this.

use crate::Service;
use crate::error::{ServiceError, StoreError};
use std::time::Duration;

/// How long the readiness read may take before the server says it is not ready: a load
/// balancer probes every few seconds and must not queue probes behind a hung database.
pub const READY_READ_TIMEOUT: Duration = Duration::from_secs(2);

impl Service {
    /// Whether the database answers a trivial read (one primary-key lookup) within
    /// [`READY_READ_TIMEOUT`]; the error says why not (for the log, never for the client).
    pub async fn ready(&self) -> Result<(), ServiceError> {
        let read = self.db.read(|tx| {
            tx.job_run("")?;
            Ok(())
        });
        match tokio::time::timeout(READY_READ_TIMEOUT, read).await {
            Ok(answer) => answer,
            Err(_) => Err(ServiceError::Store(StoreError::Unavailable(format!(
                "the database did not answer a read within {} s",
                READY_READ_TIMEOUT.as_secs()
            )))),
        }
    }
}
