//! The embedded engine: SQLite in WAL mode with `synchronous=FULL`.
//!
//! One writer thread owns the only write connection. It takes a job from the queue, then
//! whatever else is already waiting (up to `group_commit_jobs_max`), and runs them all in one
//! transaction, each inside its own savepoint: a job that fails rolls back to its savepoint
//! and leaves the others intact. One `COMMIT` (one fsync) then makes the whole group durable,
//! and only after it does any job's caller hear back. Readers run on their own connections
//! against WAL snapshots and never wait for the writer.

use crate::actors::TerminalCounters;
use crate::common::SqlTx;
use crate::migrations;
use crate::sql::{Row, SqlConn, Value};
use crate::{EngineLimits, EngineThreads};
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags};
use shebao_service::store::{Engine, Job, Reply, StoreError};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

fn db_err(e: rusqlite::Error) -> StoreError {
    if let rusqlite::Error::SqliteFailure(f, _) = &e
        && f.code == rusqlite::ErrorCode::ConstraintViolation
        && (f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
    {
        return StoreError::Duplicate(e.to_string());
    }
    StoreError::Database(e.to_string())
}

/// A connection plus the `$n` → `?n` rewrite of each statement, done once and found again
/// by the statement's address (`sql_key`: hashing two words, not the text, once per
/// statement run); the writer's also keeps the terminal counters.
struct SqliteConn {
    conn: Connection,
    rewritten: HashMap<(usize, usize), String>,
    counters: Option<TerminalCounters>,
}

impl SqliteConn {
    fn new(conn: Connection) -> Self {
        conn.set_prepared_statement_cache_capacity(256);
        SqliteConn {
            conn,
            rewritten: HashMap::new(),
            counters: None,
        }
    }

    fn writer(conn: Connection) -> Self {
        SqliteConn {
            counters: Some(TerminalCounters::default()),
            ..SqliteConn::new(conn)
        }
    }

    /// Writes the group's terminal counters into its transaction (before its `COMMIT`).
    fn write_counters(&mut self) -> Result<(), StoreError> {
        let Some(mut counters) = self.counters.take() else {
            return Ok(());
        };
        let written = counters.write(self);
        self.counters = Some(counters);
        written
    }

    /// After the group's `COMMIT` (or its failure).
    fn counters_settled(&mut self, committed: bool) {
        if let Some(c) = &mut self.counters {
            if committed {
                c.committed();
            } else {
                c.aborted();
            }
        }
    }
}

/// A statement's key in `SqliteConn::rewritten`: where its text lives and how long it is. The
/// texts are `'static`, so one address and length always name the same text (two equal texts
/// at two addresses just get two entries).
fn sql_key(sql: &'static str) -> (usize, usize) {
    (sql.as_ptr() as usize, sql.len())
}

/// `$n` → `?n`, and no `FOR UPDATE`: SQLite has one writer; row locks are meaningless there.
fn rewrite(sql: &str) -> String {
    sql.trim_end_matches(" FOR UPDATE").replace('$', "?")
}

impl rusqlite::ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Int(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Integer(*v)),
            Value::Text(Some(v)) => ToSqlOutput::Borrowed(ValueRef::Text(v.as_bytes())),
            Value::Int(None) | Value::Text(None) => ToSqlOutput::Borrowed(ValueRef::Null),
        })
    }
}

impl SqliteConn {
    /// Runs a statement without parameters through the statement cache (transaction control:
    /// parsed once, not per job).
    fn control(&self, sql: &str) -> Result<(), StoreError> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute([]))
            .map(|_| ())
            .map_err(db_err)
    }
}

impl SqlConn for SqliteConn {
    fn exec(&mut self, sql: &'static str, params: &[Value<'_>]) -> Result<u64, StoreError> {
        let sql = self
            .rewritten
            .entry(sql_key(sql))
            .or_insert_with(|| rewrite(sql));
        let mut stmt = self.conn.prepare_cached(sql).map_err(db_err)?;
        let n = stmt
            .execute(rusqlite::params_from_iter(params.iter()))
            .map_err(db_err)?;
        Ok(n as u64)
    }

    fn query(&mut self, sql: &'static str, params: &[Value<'_>]) -> Result<Vec<Row>, StoreError> {
        let sql = self
            .rewritten
            .entry(sql_key(sql))
            .or_insert_with(|| rewrite(sql));
        let mut stmt = self.conn.prepare_cached(sql).map_err(db_err)?;
        let columns = stmt.column_count();
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params.iter()))
            .map_err(db_err)?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(db_err)? {
            let mut values = Vec::with_capacity(columns);
            for i in 0..columns {
                values.push(match row.get_ref(i).map_err(db_err)? {
                    ValueRef::Null => Value::Int(None),
                    ValueRef::Integer(v) => Value::Int(Some(v)),
                    ValueRef::Text(t) => Value::Text(Some(std::borrow::Cow::Owned(
                        String::from_utf8_lossy(t).into_owned(),
                    ))),
                    ValueRef::Real(_) | ValueRef::Blob(_) => {
                        return Err(StoreError::Corrupt(format!(
                            "column {i} has an unexpected type"
                        )));
                    }
                });
            }
            out.push(Row(values));
        }
        Ok(out)
    }

    fn terminal_counters(&mut self) -> Option<&mut TerminalCounters> {
        self.counters.as_mut()
    }
}

/// The page size of a new database, in bytes (SQLite's default is 4096). A purchase dirties a
/// handful of pages in different places (the card's row, the ledger's and the audit's person
/// indexes, the settlement key), and each goes whole into the WAL at the commit and is read
/// whole on a cache miss: with 2048-byte pages the writer copies, checksums and reads half as
/// much per purchase. Measured with `shebao-bench engine` at 1 M accounts (docs/BENCHMARKS.md,
/// "Fourth session of 2026-12-02"): engine-only purchases about 30 % faster than with 4096,
/// crediting about 10 % slower at 1 M (more pages per sequential pass) but faster at 10 M
/// (97.9 s against 118.6 s); 1024 bought no more purchases and cost crediting more. (The
/// bench's raw limits keep SQLite's default, as before.)
pub const PAGE_SIZE: u32 = 2048;

/// Bytes of a WAL frame's header: a frame is this header and one page.
pub const WAL_FRAME_HEADER_BYTES: u32 = 24;

fn open(path: &Path, read_only: bool) -> Result<Connection, StoreError> {
    let flags = if read_only {
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX
    } else {
        OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX
    };
    let conn = Connection::open_with_flags(path, flags).map_err(db_err)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))
        .map_err(db_err)?;
    if !read_only {
        // Takes effect only while the file is still empty: a database keeps the page size it
        // was created with.
        conn.execute_batch(&format!("PRAGMA page_size = {PAGE_SIZE}"))
            .map_err(db_err)?;
    }
    // The bundled SQLite is built with STAT4, which re-prepares a statement whenever a bound
    // value might change its plan — on every purchase. Our plans do not depend on the values
    // (primary keys and one index each): keep them stable.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )
    .map_err(db_err)?;
    // WAL: readers never block the writer; FULL: a commit survives power loss. A page cache of
    // 16 MiB for the writer (4 MiB per reader) keeps the hot index pages in memory; savepoint
    // journals stay in memory. Not larger: at each COMMIT this SQLite scans its whole
    // page-cache hash (`pcache1TruncateUnsafe`), which took 14 % of the server's CPU samples
    // under purchase load with 64 MiB and 2.5 % with 16 MiB (docs/BENCHMARKS.md).
    conn.execute_batch(if read_only {
        // A reader's cache is dropped whenever the writer has committed since its last read:
        // a small one is as good as a large one under writes.
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA cache_size = -4096; PRAGMA temp_store = MEMORY;"
    } else {
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
         PRAGMA cache_size = -16384; PRAGMA temp_store = MEMORY;"
    })
    .map_err(db_err)?;
    Ok(conn)
}

fn migrate(conn: &Connection, now_micros: i64) -> Result<(), StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE").map_err(db_err)?;
    let result = (|| {
        conn.execute_batch(migrations::CREATE_MIGRATIONS_TABLE)
            .map_err(db_err)?;
        for (version, name, sqlite, _) in migrations::all() {
            let applied: i64 = conn
                .query_row(
                    "SELECT count(*) FROM schema_migrations WHERE version = ?1",
                    [version],
                    |r| r.get(0),
                )
                .map_err(db_err)?;
            if applied > 0 {
                continue;
            }
            for part in sqlite {
                conn.execute_batch(part).map_err(db_err)?;
            }
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
                rusqlite::params![version, name, now_micros],
            )
            .map_err(db_err)?;
            tracing::info!(version, name, "applied SQLite migration");
        }
        Ok(())
    })();
    match result {
        Ok(()) => conn.execute_batch("COMMIT").map_err(db_err),
        Err(e) => {
            let _ = conn.execute_batch("ROLLBACK");
            Err(e)
        }
    }
}

/// Opens (creating if needed) the database file, migrates it and starts the threads.
/// The database and its `-wal` and `-shm` files are readable by their owner only. A new
/// database file is created empty with mode 0600 before SQLite opens it (SQLite gives the
/// `-wal` and `-shm` files the database file's mode); existing files are narrowed to 0600.
fn owner_only(path: &Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        let io = |e: std::io::Error| StoreError::Database(format!("{}: {e}", path.display()));
        if !path.exists() {
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(path)
                .map_err(io)?;
        }
        for suffix in ["", "-wal", "-shm"] {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            let file = std::path::PathBuf::from(name);
            if let Ok(meta) = std::fs::metadata(&file)
                && meta.permissions().mode() & 0o077 != 0
            {
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600))
                    .map_err(io)?;
            }
        }
    }
    Ok(())
}

pub fn start(
    path: &Path,
    limits: EngineLimits,
    now_micros: i64,
) -> Result<(Engine, EngineThreads), StoreError> {
    owner_only(path)?;
    let writer_conn = open(path, false)?;
    migrate(&writer_conn, now_micros)?;
    // Checkpoints run on their own thread and connection, off the commit path.
    writer_conn
        .execute_batch("PRAGMA wal_autocheckpoint = 0")
        .map_err(db_err)?;
    let checkpoint_conn = open(path, false)?;
    checkpoint_conn
        .execute_batch("PRAGMA cache_size = -512")
        .map_err(db_err)?;
    let (checkpoint_tick, checkpoint_ticks) = std::sync::mpsc::channel::<()>();
    let progress = Arc::new(WalProgress::default());
    let checkpointer_progress = progress.clone();
    // A database keeps the page size it was made with: the bound is counted in its frames.
    let page_size: i64 = writer_conn
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .map_err(db_err)?;
    let frame_bytes = u64::try_from(page_size).unwrap_or(u64::from(PAGE_SIZE))
        + u64::from(WAL_FRAME_HEADER_BYTES);
    let wal_restart_frames =
        i64::try_from(limits.sqlite_wal_restart_bytes / frame_bytes).unwrap_or(i64::MAX);
    let (writes, write_queue) = mpsc::channel::<Job>(limits.write_queue_max);
    let (reads, read_queue) = mpsc::channel::<Job>(limits.read_queue_max);
    let mut threads = Vec::new();
    let batch_max = limits.group_commit_jobs_max.max(1);
    threads.push(
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || {
                writer_loop(
                    SqliteConn::writer(writer_conn),
                    write_queue,
                    batch_max,
                    checkpoint_tick,
                    progress,
                    wal_restart_frames,
                )
            })
            .map_err(|e| StoreError::Database(e.to_string()))?,
    );
    threads.push(
        std::thread::Builder::new()
            .name("sqlite-checkpointer".into())
            .spawn(move || {
                checkpointer_loop(&checkpoint_conn, &checkpoint_ticks, &checkpointer_progress)
            })
            .map_err(|e| StoreError::Database(e.to_string()))?,
    );
    let read_queue = Arc::new(Mutex::new(read_queue));
    for i in 0..limits.reader_threads.max(1) {
        let conn = SqliteConn::new(open(path, true)?);
        let queue = read_queue.clone();
        threads.push(
            std::thread::Builder::new()
                .name(format!("sqlite-reader-{i}"))
                .spawn(move || reader_loop(conn, queue))
                .map_err(|e| StoreError::Database(e.to_string()))?,
        );
    }
    Ok((
        Engine {
            writes,
            reads,
            name: "sqlite",
        },
        EngineThreads(threads),
    ))
}

/// Runs one job inside a savepoint; a panic or an error rolls back only this job.
fn run_in_savepoint(conn: &mut SqliteConn, job: Job) -> Reply {
    if let Err(err) = conn.control("SAVEPOINT job") {
        return Box::new(move |_| drop(err));
    }
    if let Some(c) = &mut conn.counters {
        c.begin_job();
    }
    let outcome = catch_unwind(AssertUnwindSafe(|| job(&mut SqlTx(conn))));
    let keep = matches!(outcome, Ok((true, _)));
    if !keep {
        let _ = conn.control("ROLLBACK TO job");
        if let Some(c) = &mut conn.counters {
            c.rollback_job();
        }
    }
    let _ = conn.control("RELEASE job");
    match outcome {
        Ok((_, reply)) => reply,
        // The job's reply went down with it: its caller sees the engine as stopped for this job.
        Err(_) => {
            tracing::error!("a storage job panicked; its writes were rolled back");
            Box::new(|_| {})
        }
    }
}

/// Commits between two checkpoints, at most (a checkpoint also runs when the writer idles).
const CHECKPOINT_COMMITS: u32 = 64;

/// What the checkpointer tells the writer: how many checkpoints it has finished, and how
/// many pages the WAL held at the last one.
///
/// SQLite starts the WAL again from its beginning only when the writer begins a transaction
/// after a checkpoint has copied all of it back. Under writes without a pause the writer's next
/// transaction always begins before the background checkpoint is done, so the WAL never
/// restarts: it grew to 1.5 GB in the bench's 35 s of verifications (docs/BENCHMARKS.md,
/// "Second session of 2026-12-03"). Past `sqlite_wal_restart_bytes`, the writer therefore
/// runs one checkpoint itself, between two batches, right after a background one finished:
/// it copies back only what was committed meanwhile, and its next transaction restarts the
/// WAL. It costs the writer a pause (14 to 117 ms measured, mostly the database file's
/// fsync), so it is kept rare: 1 GiB by default, some seconds of sustained load here.
#[derive(Default)]
struct WalProgress {
    checkpoints: std::sync::atomic::AtomicU64,
    wal_frames: std::sync::atomic::AtomicI64,
}

/// Runs a `PASSIVE` checkpoint on `conn`: (pages in the WAL, pages copied back in all).
fn checkpoint_passive(conn: &Connection) -> rusqlite::Result<(i64, i64)> {
    conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| {
        Ok((r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
    })
}

/// Copies the WAL back into the database file while the writer keeps committing (`PASSIVE`
/// never blocks it). Wakes on the writer's tick; ends when the writer has gone.
fn checkpointer_loop(
    conn: &Connection,
    ticks: &std::sync::mpsc::Receiver<()>,
    progress: &WalProgress,
) {
    use std::sync::atomic::Ordering;
    use std::sync::mpsc::RecvTimeoutError;
    // Pages copied back by the last checkpoint, as it reported them (a WAL that restarted
    // starts again below it).
    let mut backfilled = 0i64;
    loop {
        match ticks.recv_timeout(std::time::Duration::from_millis(500)) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {
                let started = std::time::Instant::now();
                match checkpoint_passive(conn) {
                    Ok((wal, copied)) => {
                        progress.wal_frames.store(wal, Ordering::Relaxed);
                        progress.checkpoints.fetch_add(1, Ordering::Release);
                        let copied_now = copied > 0 && copied != backfilled;
                        backfilled = copied;
                        shebao_service::meter::checkpoint(
                            "sqlite",
                            wal,
                            copied_now.then(|| started.elapsed().as_secs_f64()),
                        );
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "WAL checkpoint failed; the next one retries");
                    }
                }
            }
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

fn writer_loop(
    mut conn: SqliteConn,
    mut queue: mpsc::Receiver<Job>,
    batch_max: usize,
    checkpoint: std::sync::mpsc::Sender<()>,
    progress: Arc<WalProgress>,
    wal_restart_frames: i64,
) {
    use std::sync::atomic::Ordering;
    let mut commits = 0u32;
    // The background checkpoints seen when the writer last ran one itself.
    let mut seen_checkpoints = 0u64;
    while let Some(first) = queue.blocking_recv() {
        let mut batch = vec![first];
        while batch.len() < batch_max {
            match queue.try_recv() {
                Ok(job) => batch.push(job),
                Err(_) => break,
            }
        }
        if let Err(e) = conn.control("BEGIN IMMEDIATE") {
            let msg = e.to_string();
            tracing::error!(error = %msg, "cannot begin a write transaction");
            for job in batch {
                drop(job); // Dropping the job drops its answer channel: the caller gets an error.
            }
            continue;
        }
        let jobs = batch.len();
        let replies: Vec<Reply> = batch
            .into_iter()
            .map(|job| run_in_savepoint(&mut conn, job))
            .collect();
        let started = std::time::Instant::now();
        let committed = conn.write_counters().and_then(|()| conn.control("COMMIT"));
        shebao_service::meter::commit("sqlite", jobs, started.elapsed().as_secs_f64());
        let failure = match committed {
            Ok(()) => None,
            Err(e) => {
                let _ = conn.conn.execute_batch("ROLLBACK");
                tracing::error!(error = %e, "group commit failed; every job in it is refused");
                Some(e.to_string())
            }
        };
        conn.counters_settled(failure.is_none());
        for reply in replies {
            reply(failure.clone().map(StoreError::Database));
        }
        let checkpoints = progress.checkpoints.load(Ordering::Acquire);
        if checkpoints > seen_checkpoints
            && progress.wal_frames.load(Ordering::Relaxed) >= wal_restart_frames
        {
            seen_checkpoints = checkpoints;
            let started = std::time::Instant::now();
            match checkpoint_passive(&conn.conn) {
                Ok((wal, _)) => shebao_service::meter::checkpoint(
                    "sqlite",
                    wal,
                    Some(started.elapsed().as_secs_f64()),
                ),
                Err(e) => tracing::warn!(error = %e, "the writer's WAL checkpoint failed"),
            }
        }
        commits += 1;
        if commits >= CHECKPOINT_COMMITS {
            commits = 0;
            let _ = checkpoint.send(());
        }
    }
    drop(checkpoint);
    // The queue closed: shutdown. Everything acknowledged is committed; checkpoint the WAL.
    let _ = conn.conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
}

fn reader_loop(mut conn: SqliteConn, queue: Arc<Mutex<mpsc::Receiver<Job>>>) {
    loop {
        let job = {
            let mut queue = queue.lock().unwrap_or_else(|p| p.into_inner());
            queue.blocking_recv()
        };
        let Some(job) = job else { return };
        if conn.control("BEGIN").is_err() {
            continue;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| job(&mut SqlTx(&mut conn))));
        let _ = conn.control("ROLLBACK");
        if let Ok((_, reply)) = outcome {
            reply(None);
        }
    }
}
