//! Engine-only purchases (issue 17's "engine-only purchases / raw ledger inserts"): the
//! service's purchase use case driven directly by 256 tasks, no HTTP, each purchase answered
//! after its durable commit as over HTTP. Used by the full run and by `shebao-bench engine`.

use crate::runtime::Runtime;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Concurrent callers: enough to keep the writer's group commit full.
pub const TASKS: usize = 256;

/// What an engine-only run did.
#[derive(Debug, Clone, Copy)]
pub struct EngineRun {
    pub ok: u64,
    pub failed: u64,
    pub elapsed: Duration,
}

impl EngineRun {
    /// Successful purchases per second.
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// `total` purchases of 1 fen by one pharmacy, on the seeded cards `S00000001`… of a city of
/// `accounts` (spread by a stride of 7 919, as over HTTP), each with the holder's `password`.
// The benchmark measures wall time on purpose; no rule reads it.
#[allow(clippy::disallowed_methods)]
pub async fn purchases(
    runtime: &Runtime,
    accounts: u64,
    total: u64,
    password: &str,
) -> anyhow::Result<EngineRun> {
    let service = runtime.service.clone();
    let actor = service
        .create_actor_unchecked(
            None,
            shebao_service::NewActor {
                role: "pharmacy".into(),
                name: "engine bench".into(),
                region: None,
                employer_id: None,
                psam_no: None,
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?
        .0;
    let accounts = accounts.max(1);
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..TASKS {
        let (service, actor, next) = (service.clone(), actor.clone(), next.clone());
        let password = password.to_owned();
        tasks.push(tokio::spawn(async move {
            let (mut ok, mut failed) = (0u64, 0u64);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let done = service
                    .purchase(
                        &actor,
                        shebao_service::NewPurchase {
                            client_txn_id: format!("g{i}"),
                            card_no: Some(format!(
                                "S{:08}",
                                (i.wrapping_mul(7_919) % accounts) + 1
                            )),
                            ecard_code: None,
                            amount_fen: 1,
                            password: Some(zeroize::Zeroizing::new(password.clone())),
                            card_auth: None,
                        },
                    )
                    .await;
                if done.is_ok() {
                    ok += 1;
                } else {
                    failed += 1;
                }
            }
            (ok, failed)
        }));
    }
    let (mut ok, mut failed) = (0, 0);
    for t in tasks {
        let (o, f) = t.await?;
        ok += o;
        failed += f;
    }
    Ok(EngineRun {
        ok,
        failed,
        elapsed: start.elapsed(),
    })
}
