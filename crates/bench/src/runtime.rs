//! The bench's own assembly of a service on a fresh database: a storage engine, a
//! [`Service`] on a simulated clock that runs the jobs, and a second [`Database`] handle on
//! the same engine for bulk seeding (the service keeps its own private).

use anyhow::Context;
use shebao_service::Service;
use shebao_service::clock::{Clock, SimClock};
use shebao_service::keys::PinKeyring;
use shebao_service::store::{Database, Engine};
use shebao_storage::{EngineLimits, EngineThreads};
use std::path::Path;
use std::sync::Arc;

/// The file `shebao serve --data-dir DIR` opens (shebao's `Runtime::open`): the bench seeds it
/// for the child server.
pub const SQLITE_FILE: &str = "shebao.sqlite";

/// Where every generated city starts: employers and people are registered in February 2026.
pub const SIM_CLOCK_START: &str = "2026-02-02T01:00:00Z";

/// A service on a fresh engine, with what seeding needs beside it.
pub struct Runtime {
    pub service: Arc<Service>,
    /// The same engine's queues, for writes the service has no use case for (bulk seeding).
    pub(crate) seeding: Database,
    /// The keys the service seals PINs with (parsed from the same text).
    pub(crate) keys: Arc<PinKeyring>,
    threads: EngineThreads,
}

impl Runtime {
    /// Opens SQLite in `dir` (or PostgreSQL at `database_url`) with the national policy, the
    /// PIN keys `pin_keys` (`ID HEX` lines) and a simulated clock at [`SIM_CLOCK_START`].
    pub async fn open(
        dir: &Path,
        database_url: Option<&str>,
        pin_keys: &str,
    ) -> anyhow::Result<Runtime> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data dir {}", dir.display()))?;
        let start: jiff::Timestamp = SIM_CLOCK_START.parse()?;
        let clock: Arc<dyn Clock> = Arc::new(SimClock::new(start));
        let policy = shebao_service::policy::load("national")?;
        let keys = PinKeyring::parse(pin_keys)?;
        let seal_keys = Arc::new(PinKeyring::parse(pin_keys)?);
        let now = clock.now().as_microsecond();
        let limits = EngineLimits::default();
        let (url, path) = (database_url.map(str::to_owned), dir.join(SQLITE_FILE));
        // The PostgreSQL client blocks on its own runtime: start engines off the async threads.
        let (engine, threads) = tokio::task::spawn_blocking(move || match url {
            Some(url) => shebao_storage::postgres::start(&url, limits, now),
            None => shebao_storage::sqlite::start(&path, limits, now),
        })
        .await?
        .context("starting the storage engine")?;
        let seeding = Database::new(Engine {
            writes: engine.writes.clone(),
            reads: engine.reads.clone(),
            name: engine.name,
        });
        let service = Arc::new(Service::new(Database::new(engine), clock, policy, keys));
        let runtime = Runtime {
            service,
            seeding,
            keys: seal_keys,
            threads,
        };
        if let Err(e) = runtime.service.reload_calendar().await {
            runtime.close().await;
            return Err(anyhow::anyhow!("loading the working-day calendar: {e}"));
        }
        Ok(runtime)
    }

    /// Stops the storage threads after everything queued has committed.
    pub async fn close(self) {
        let Runtime {
            service,
            seeding,
            keys,
            threads,
        } = self;
        drop((service, seeding, keys));
        let _ = tokio::task::spawn_blocking(move || threads.join()).await;
    }
}
