//! shebao's storage engines behind the service layer's [`Tx`](shebao_service::store::Tx).
//!
//! One set of SQL statements (written with `$1` placeholders) serves both engines through a
//! tiny value layer ([`sql`]); only connection handling, DDL and transaction scheduling
//! differ:
//! - [`sqlite`]: embedded, one writer thread that group-commits queued jobs (each in its own
//!   savepoint) plus reader threads on WAL snapshots.
//! - [`postgres`]: a pool of worker threads, one transaction per job, row locks
//!   (`SELECT … FOR UPDATE`) so several servers can share one database.

#[macro_use]
mod common;
mod actors;
pub mod backup;
mod cards;
mod contributions;
mod dashboard;
mod employers;
mod jobs;
mod journal;
mod migrations;
mod people;
pub mod postgres;
mod request_keys;
mod sessions;
mod settlements;
mod sql;
pub mod sqlite;

pub use migrations::ledger_ddl;

/// Limits of an engine's queues and threads (STYLE 17).
#[derive(Debug, Clone, Copy)]
pub struct EngineLimits {
    /// Jobs waiting for the writer(s) before callers wait.
    pub write_queue_max: usize,
    /// Jobs one SQLite commit may carry.
    pub group_commit_jobs_max: usize,
    pub read_queue_max: usize,
    pub reader_threads: usize,
    /// PostgreSQL only: connections that run write jobs.
    pub pg_writer_connections: usize,
    /// PostgreSQL only: how long a commit may take before its jobs are answered 503, outcome
    /// unknown (a synchronous standby that never confirms must not hang a terminal).
    pub pg_commit_timeout: std::time::Duration,
    /// SQLite only: the WAL's size, in bytes, at which the writer makes the WAL start again
    /// from its beginning (see `sqlite::WalProgress`). Under writes without a pause the WAL
    /// would otherwise grow for as long as they last.
    pub sqlite_wal_restart_bytes: u64,
}

impl Default for EngineLimits {
    fn default() -> Self {
        EngineLimits {
            write_queue_max: 4096,
            group_commit_jobs_max: 512,
            read_queue_max: 4096,
            reader_threads: 2,
            pg_writer_connections: 4,
            pg_commit_timeout: std::time::Duration::from_secs(5),
            sqlite_wal_restart_bytes: 1 << 30,
        }
    }
}

/// What a stopping engine waits for: its threads, joined after the queues close.
pub struct EngineThreads(Vec<std::thread::JoinHandle<()>>);

impl EngineThreads {
    /// Joins every thread. Call after the last `Engine` sender is dropped: the threads drain
    /// what is queued, commit, and exit.
    pub fn join(self) {
        for handle in self.0 {
            if handle.join().is_err() {
                tracing::error!("a storage thread panicked");
            }
        }
    }
}
