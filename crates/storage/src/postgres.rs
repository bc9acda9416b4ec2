//! The PostgreSQL engine: writer threads that group-commit and reader threads, each with its
//! own connection, opened again after a failover. Writes lock the rows they change (`SELECT
//! … FOR UPDATE`), so several shebao servers may share one database and the lockout count
//! stays exact across them. A commit that does not answer in time is answered 503, outcome
//! unknown, never as a success it has not seen.

use crate::common::SqlTx;
use crate::migrations;
use crate::sql::{Row, SqlConn, Value};
use crate::{EngineLimits, EngineThreads};
use postgres::types::{ToSql, Type};
use postgres::{CancelToken, Client, IsolationLevel, NoTls, Statement};
use shebao_service::meter;
use shebao_service::store::{Engine, Job, Reply, StoreError};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

fn db_err(e: postgres::Error) -> StoreError {
    use postgres::error::SqlState;
    if e.code() == Some(&SqlState::UNIQUE_VIOLATION) {
        return StoreError::Duplicate(e.to_string());
    }
    // A lost connection, a server going down or demoted, or a deadlock's victim: nothing of
    // the job stays, and its retry is safe. 503, not 500 (API.md "Running on a cluster").
    let retryable = [
        SqlState::ADMIN_SHUTDOWN,
        SqlState::CRASH_SHUTDOWN,
        SqlState::CANNOT_CONNECT_NOW,
        SqlState::READ_ONLY_SQL_TRANSACTION,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::QUERY_CANCELED,
    ];
    let io = std::error::Error::source(&e).is_some_and(|s| s.is::<std::io::Error>());
    if e.is_closed() || io {
        return StoreError::Unavailable(e.to_string());
    }
    // The driver's Display says only "db error"; the server's message says what failed.
    match e.as_db_error() {
        Some(db) if retryable.contains(db.code()) => {
            StoreError::Unavailable(format!("{}: {}", db.code().code(), db.message()))
        }
        Some(db) => StoreError::Database(format!("{}: {}", db.code().code(), db.message())),
        None => StoreError::Database(e.to_string()),
    }
}

struct PgConn<'a, 't> {
    tx: &'a mut postgres::Transaction<'t>,
    statements: &'a mut HashMap<&'static str, Statement>,
}

impl PgConn<'_, '_> {
    fn statement(&mut self, sql: &'static str) -> Result<Statement, StoreError> {
        if let Some(s) = self.statements.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(sql).map_err(db_err)?;
        self.statements.insert(sql, s.clone());
        Ok(s)
    }
}

fn bind<'a>(params: &'a [Value<'_>]) -> Vec<Box<dyn ToSql + Sync + 'a>> {
    params
        .iter()
        .map(|v| -> Box<dyn ToSql + Sync + 'a> {
            match v {
                Value::Int(x) => Box::new(*x),
                Value::Text(x) => Box::new(x.as_deref()),
            }
        })
        .collect()
}

impl SqlConn for PgConn<'_, '_> {
    fn exec(&mut self, sql: &'static str, params: &[Value<'_>]) -> Result<u64, StoreError> {
        let stmt = self.statement(sql)?;
        let bound = bind(params);
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref()).collect();
        self.tx.execute(&stmt, &refs).map_err(db_err)
    }

    fn query(&mut self, sql: &'static str, params: &[Value<'_>]) -> Result<Vec<Row>, StoreError> {
        let stmt = self.statement(sql)?;
        let bound = bind(params);
        let refs: Vec<&(dyn ToSql + Sync)> = bound.iter().map(|b| b.as_ref()).collect();
        let rows = self.tx.query(&stmt, &refs).map_err(db_err)?;
        rows.iter()
            .map(|row| {
                let mut values = Vec::with_capacity(row.len());
                for (i, column) in row.columns().iter().enumerate() {
                    let t = column.type_();
                    values.push(if *t == Type::INT8 {
                        Value::Int(row.try_get::<_, Option<i64>>(i).map_err(db_err)?)
                    } else if *t == Type::TEXT || *t == Type::VARCHAR {
                        Value::Text(
                            row.try_get::<_, Option<String>>(i)
                                .map_err(db_err)?
                                .map(std::borrow::Cow::Owned),
                        )
                    } else {
                        return Err(StoreError::Corrupt(format!(
                            "column {} has type {t}",
                            column.name()
                        )));
                    });
                }
                Ok(Row(values))
            })
            .collect()
    }
}

fn connect(url: &str) -> Result<Client, StoreError> {
    connection_config(url)?.connect(NoTls).map_err(db_err)
}

/// The URL's settings, with bounds for a database host that vanishes (a power cut, a network
/// split: no RST ever comes) wherever the URL sets none. Without them, connecting to a dead
/// host of a multi-host URL waits for TCP's own SYN timeout (about two minutes) before the next
/// host is tried, and a writer waiting on a dead primary's answer waits until keepalives at
/// their two-hour default give up. `connect_timeout` 5 s per host; `tcp_user_timeout` 10 s for
/// unacknowledged data; keepalives after 5 s idle, every 2 s, 3 probes (about 11 s).
fn connection_config(url: &str) -> Result<postgres::Config, StoreError> {
    let mut config: postgres::Config = url
        .parse()
        .map_err(|e: postgres::Error| StoreError::Database(format!("database URL: {e}")))?;
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(Duration::from_secs(5));
    }
    if config.get_tcp_user_timeout().is_none() {
        config.tcp_user_timeout(Duration::from_secs(10));
    }
    // The driver's defaults, which a URL that sets nothing leaves in place.
    if config.get_keepalives_idle() == Duration::from_secs(2 * 60 * 60) {
        config.keepalives_idle(Duration::from_secs(5));
    }
    if config.get_keepalives_interval().is_none() {
        config.keepalives_interval(Duration::from_secs(2));
    }
    if config.get_keepalives_retries().is_none() {
        config.keepalives_retries(3);
    }
    Ok(config)
}

fn migrate(client: &mut Client, now_micros: i64) -> Result<(), StoreError> {
    let mut tx = client.transaction().map_err(db_err)?;
    // Several servers may start at once: one migrates, the others wait and find it done.
    tx.execute("SELECT pg_advisory_xact_lock(7400211)", &[])
        .map_err(db_err)?;
    tx.batch_execute(migrations::CREATE_MIGRATIONS_TABLE)
        .map_err(db_err)?;
    for (version, name, _, postgres) in migrations::all() {
        let applied: i64 = tx
            .query_one(
                "SELECT count(*) FROM schema_migrations WHERE version = $1",
                &[&version],
            )
            .map_err(db_err)?
            .get(0);
        if applied > 0 {
            continue;
        }
        for part in postgres {
            tx.batch_execute(part).map_err(db_err)?;
        }
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&version, &name, &now_micros],
        )
        .map_err(db_err)?;
        tracing::info!(version, name, "applied PostgreSQL migration");
    }
    tx.commit().map_err(db_err)
}

/// Connects, migrates and starts the worker threads: `pg_writer_connections` writers that
/// group-commit, `reader_threads` readers, and the commit watchdog.
pub fn start(
    url: &str,
    limits: EngineLimits,
    now_micros: i64,
) -> Result<(Engine, EngineThreads), StoreError> {
    let mut first = connect(url)?;
    migrate(&mut first, now_micros)?;
    let (writes, write_queue) = mpsc::channel::<Job>(limits.write_queue_max);
    let (reads, read_queue) = mpsc::channel::<Job>(limits.read_queue_max);
    let write_queue = Arc::new(Mutex::new(write_queue));
    let read_queue = Arc::new(Mutex::new(read_queue));
    let writers = limits.pg_writer_connections.max(1);
    let mut threads = Vec::new();
    let mut first = Some(first);
    let mut watches = Vec::new();
    let spawn = |name: String, f: Box<dyn FnOnce() + Send>| {
        std::thread::Builder::new()
            .name(name)
            .spawn(f)
            .map_err(|e| StoreError::Database(e.to_string()))
    };
    for i in 0..writers {
        // Every worker connects at start (a lost connection later is opened again).
        let client = match first.take() {
            Some(c) => c,
            None => connect(url)?,
        };
        let conn = Connection::new(url, client);
        let queue = write_queue.clone();
        let watch = Arc::new(CommitWatch::default());
        watches.push(watch.clone());
        let batch_max = limits.group_commit_jobs_max.clamp(1, PG_GROUP_JOBS_MAX);
        let timeout = limits.pg_commit_timeout;
        threads.push(spawn(
            format!("pg-writer-{i}"),
            Box::new(move || writer_loop(conn, &queue, batch_max, &watch, timeout)),
        )?);
    }
    for i in 0..limits.reader_threads.max(1) {
        let conn = Connection::new(url, connect(url)?);
        let queue = read_queue.clone();
        threads.push(spawn(
            format!("pg-reader-{i}"),
            Box::new(move || reader_loop(conn, &queue)),
        )?);
    }
    threads.push(spawn(
        "pg-commit-watchdog".into(),
        Box::new(move || watchdog_loop(&watches)),
    )?);
    Ok((
        Engine {
            writes,
            reads,
            name: "postgres",
        },
        EngineThreads(threads),
    ))
}

/// Jobs one PostgreSQL commit carries at most: a group's jobs run one after another, each
/// statement a round trip, so a group is kept short enough that its last job is not held long
/// (the other writers take the rest of the queue meanwhile).
const PG_GROUP_JOBS_MAX: usize = 64;

/// The first pause before connecting again after a failure, doubled after each failure up to
/// [`RECONNECT_BACKOFF_MAX`].
const RECONNECT_BACKOFF_MIN: Duration = Duration::from_millis(100);
const RECONNECT_BACKOFF_MAX: Duration = Duration::from_secs(2);

/// A worker's connection, opened again when it is lost (a failover: the multi-host URL with
/// `target_session_attrs=read-write` finds the new primary). While it cannot connect, the
/// worker answers its jobs at once (503) instead of holding them, and tries again after a
/// bounded, growing pause.
struct Connection {
    url: String,
    client: Option<(Client, CancelToken)>,
    statements: HashMap<&'static str, Statement>,
    backoff: Duration,
    retry_at: Option<Instant>,
    /// When the connection last served a job: one idle longer than [`IDLE_PROBE_AFTER`] is
    /// probed before its next job.
    used_at: Instant,
}

/// A connection idle this long is probed (an empty query, [`PROBE_TIMEOUT`]) before it takes
/// a job: a failover while the server was quiet cut it without anyone noticing, and a job,
/// which cannot be run twice, would otherwise be the one to find out (and answer 503).
const IDLE_PROBE_AFTER: Duration = Duration::from_secs(1);
const PROBE_TIMEOUT: Duration = Duration::from_secs(2);

impl Connection {
    fn new(url: &str, client: Client) -> Connection {
        let cancel = client.cancel_token();
        Connection {
            url: url.to_owned(),
            client: Some((client, cancel)),
            statements: HashMap::new(),
            backoff: RECONNECT_BACKOFF_MIN,
            retry_at: None,
            used_at: Instant::now(),
        }
    }

    /// The open connection and its statements, or why there is none now.
    #[allow(clippy::type_complexity)]
    fn open(
        &mut self,
    ) -> Result<
        (
            &mut Client,
            &CancelToken,
            &mut HashMap<&'static str, Statement>,
        ),
        StoreError,
    > {
        if self.client.as_ref().is_some_and(|(c, _)| c.is_closed()) {
            self.lost();
        }
        let idle = self.used_at.elapsed() >= IDLE_PROBE_AFTER;
        self.used_at = Instant::now();
        if idle
            && let Some((client, _)) = self.client.as_mut()
            && let Err(e) = client.is_valid(PROBE_TIMEOUT)
        {
            tracing::info!(error = %e, "an idle PostgreSQL connection is gone; opening a new one");
            self.lost();
        }
        if self.client.is_none() {
            if self.retry_at.is_some_and(|at| Instant::now() < at) {
                return Err(StoreError::Unavailable("reconnecting to PostgreSQL".into()));
            }
            match connect(&self.url) {
                Ok(c) => {
                    tracing::info!("connected to PostgreSQL again");
                    meter::db_reconnected("postgres");
                    let cancel = c.cancel_token();
                    self.client = Some((c, cancel));
                    self.backoff = RECONNECT_BACKOFF_MIN;
                    self.retry_at = None;
                }
                Err(e) => {
                    tracing::warn!(error = %e, retry_in_ms = self.backoff.as_millis(), "cannot connect to PostgreSQL");
                    self.retry_at = Some(Instant::now() + self.backoff);
                    self.backoff = (self.backoff * 2).min(RECONNECT_BACKOFF_MAX);
                    return Err(e);
                }
            }
        }
        match &mut self.client {
            Some((client, cancel)) => Ok((client, cancel, &mut self.statements)),
            None => Err(StoreError::Unavailable("no PostgreSQL connection".into())),
        }
    }

    /// Forgets a connection that failed or may be in an unknown state.
    fn lost(&mut self) {
        self.client = None;
        self.statements.clear();
    }
}

fn count_error(e: &StoreError) {
    let kind = match e {
        StoreError::Unavailable(_) => "unavailable",
        StoreError::Duplicate(_) => return,
        StoreError::Corrupt(_) => "corrupt",
        StoreError::Database(_) => "database",
        StoreError::Stopped => "stopped",
    };
    meter::db_error("postgres", kind);
}

/// Takes the first job (waiting for it), then whatever else is already queued, up to
/// `batch_max`. `None` when the queue has closed: shutdown.
fn take_batch(queue: &Mutex<mpsc::Receiver<Job>>, batch_max: usize) -> Option<Vec<Job>> {
    let mut queue = queue.lock().unwrap_or_else(|p| p.into_inner());
    let first = queue.blocking_recv()?;
    let mut batch = vec![first];
    while batch.len() < batch_max {
        match queue.try_recv() {
            Ok(job) => batch.push(job),
            Err(_) => break,
        }
    }
    Some(batch)
}

/// A writer: group commit, as the SQLite engine does. It takes the jobs already waiting, runs
/// each in its own savepoint inside one transaction (a job alone needs none), commits once,
/// and answers each job only after that commit. The rows a job changes are locked
/// (`SELECT … FOR UPDATE`) until the commit, so writers of several servers stay correct on
/// one database; a deadlock between two groups costs its victim job only (rolled back to its
/// savepoint, answered 503, safe to retry).
fn writer_loop(
    mut conn: Connection,
    queue: &Mutex<mpsc::Receiver<Job>>,
    batch_max: usize,
    watch: &CommitWatch,
    timeout: Duration,
) {
    while let Some(batch) = take_batch(queue, batch_max) {
        let (client, cancel, statements) = match conn.open() {
            Ok(open) => open,
            Err(e) => {
                count_error(&e);
                // Dropping a job drops its answer channel: its caller hears "unavailable".
                drop(batch);
                continue;
            }
        };
        let cancel = cancel.clone();
        if let Err(e) = run_group(client, statements, batch, watch, cancel, timeout) {
            count_error(&e);
            if matches!(e, StoreError::Unavailable(_)) {
                conn.lost();
            }
        }
    }
}

/// Runs one group; `Err` when the connection failed or is in doubt.
fn run_group(
    client: &mut Client,
    statements: &mut HashMap<&'static str, Statement>,
    batch: Vec<Job>,
    watch: &CommitWatch,
    cancel: CancelToken,
    timeout: Duration,
) -> Result<(), StoreError> {
    let jobs = batch.len();
    let mut tx = client.transaction().map_err(db_err)?;
    let mut replies: Vec<Reply> = Vec::with_capacity(jobs);
    for job in batch {
        let reply = if jobs == 1 {
            run_job(&mut tx, statements, job)
        } else {
            // A job's savepoint: its failure undoes only its own writes.
            let mut savepoint = tx.savepoint("job").map_err(db_err)?;
            let outcome = run_job(&mut savepoint, statements, job);
            match outcome {
                Some((true, reply)) => match savepoint.commit() {
                    Ok(()) => Some((true, reply)),
                    Err(e) => {
                        let e = db_err(e);
                        reply(Some(e.clone()));
                        return Err(e);
                    }
                },
                other => {
                    savepoint.rollback().map_err(db_err)?;
                    other
                }
            }
        };
        match reply {
            Some((keep, reply)) => {
                if jobs == 1 && !keep {
                    let _ = tx.rollback();
                    reply(None);
                    return Ok(());
                }
                replies.push(reply);
            }
            None if jobs == 1 => {
                let _ = tx.rollback();
                return Ok(());
            }
            None => {}
        }
    }
    // The commit, watched: if it does not answer within `timeout` (a synchronous standby that
    // never confirms), the watchdog answers every job 503 — outcome unknown — and cancels
    // the wait. A cancelled wait may still commit locally, so a watched-out commit's own
    // success is not believed either.
    watch.arm(Instant::now() + timeout, replies, cancel);
    let started = Instant::now();
    let committed = tx.commit().map_err(db_err);
    meter::commit("postgres", jobs, started.elapsed().as_secs_f64());
    let Some(replies) = watch.disarm() else {
        return Err(StoreError::Unavailable(
            "the commit did not answer in time".into(),
        ));
    };
    let failure = committed.as_ref().err().cloned();
    for reply in replies {
        reply(failure.clone());
    }
    committed
}

/// Runs a job; `None` if it panicked (its reply went down with it).
fn run_job(
    tx: &mut postgres::Transaction<'_>,
    statements: &mut HashMap<&'static str, Statement>,
    job: Job,
) -> Option<(bool, Reply)> {
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        job(&mut SqlTx(&mut PgConn { tx, statements }))
    }));
    if outcome.is_err() {
        tracing::error!("a storage job panicked; its writes were rolled back");
    }
    outcome.ok()
}

/// A reader: one read-only snapshot per job.
fn reader_loop(mut conn: Connection, queue: &Mutex<mpsc::Receiver<Job>>) {
    while let Some(mut batch) = take_batch(queue, 1) {
        let Some(job) = batch.pop() else { continue };
        let (client, _, statements) = match conn.open() {
            Ok(open) => open,
            Err(e) => {
                count_error(&e);
                drop(job);
                continue;
            }
        };
        if !read_one(client, statements, job) {
            conn.lost();
        }
    }
}

/// Runs one read job; `false` if the connection failed.
fn read_one(
    client: &mut Client,
    statements: &mut HashMap<&'static str, Statement>,
    job: Job,
) -> bool {
    let started = client
        .build_transaction()
        .read_only(true)
        .isolation_level(IsolationLevel::RepeatableRead)
        .start();
    match started {
        Ok(mut tx) => {
            let outcome = run_job(&mut tx, statements, job);
            let _ = tx.rollback();
            if let Some((_, reply)) = outcome {
                reply(None);
            }
            true
        }
        Err(e) => {
            let e = db_err(e);
            count_error(&e);
            tracing::warn!(error = %e, "cannot begin a PostgreSQL read");
            false
        }
    }
}

/// A writer's commit in flight, for the watchdog: when it must have answered by, the answers
/// it holds, and how to cancel its wait.
#[derive(Default)]
struct CommitWatch(Mutex<Option<Watched>>);

struct Watched {
    deadline: Instant,
    replies: Vec<Reply>,
    cancel: CancelToken,
}

impl CommitWatch {
    fn arm(&self, deadline: Instant, replies: Vec<Reply>, cancel: CancelToken) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = Some(Watched {
            deadline,
            replies,
            cancel,
        });
    }

    /// The answers back, unless the watchdog has already given them.
    fn disarm(&self) -> Option<Vec<Reply>> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .map(|w| w.replies)
    }

    /// The commit in flight if it is overdue.
    fn overdue(&self, now: Instant) -> Option<Watched> {
        let mut slot = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if slot.as_ref().is_some_and(|w| w.deadline <= now) {
            slot.take()
        } else {
            None
        }
    }
}

/// How often the watchdog looks at the commits in flight.
const WATCHDOG_TICK: Duration = Duration::from_millis(100);

/// Answers the jobs of an overdue commit 503 (outcome unknown) and cancels its wait; ends
/// when every writer has ended.
fn watchdog_loop(watches: &[Arc<CommitWatch>]) {
    loop {
        std::thread::sleep(WATCHDOG_TICK);
        if watches.iter().all(|w| Arc::strong_count(w) == 1) {
            return;
        }
        let now = Instant::now();
        for watch in watches {
            let Some(overdue) = watch.overdue(now) else {
                continue;
            };
            tracing::error!(
                jobs = overdue.replies.len(),
                "a commit did not answer in time; its jobs are answered unavailable, outcome unknown"
            );
            let unknown = StoreError::Unavailable(
                "the commit did not answer in time; its outcome is not known".into(),
            );
            count_error(&unknown);
            for reply in overdue.replies {
                reply(Some(unknown.clone()));
            }
            if let Err(e) = overdue.cancel.cancel_query(NoTls) {
                tracing::warn!(error = %e, "cannot cancel the overdue commit");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::connection_config;
    use std::time::Duration;

    #[test]
    fn a_url_without_bounds_gets_them_and_a_urls_own_are_kept() {
        let c =
            connection_config("postgres://u@h1:5432,h2:5432/db?target_session_attrs=read-write")
                .unwrap();
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(5)));
        assert_eq!(c.get_tcp_user_timeout(), Some(&Duration::from_secs(10)));
        assert_eq!(c.get_keepalives_idle(), Duration::from_secs(5));
        assert_eq!(c.get_keepalives_interval(), Some(Duration::from_secs(2)));
        assert_eq!(c.get_keepalives_retries(), Some(3));
        let c = connection_config(
            "postgres://u@h/db?connect_timeout=2&tcp_user_timeout=30&keepalives_idle=60",
        )
        .unwrap();
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(2)));
        assert_eq!(c.get_tcp_user_timeout(), Some(&Duration::from_secs(30)));
        assert_eq!(c.get_keepalives_idle(), Duration::from_secs(60));
        assert!(connection_config("postgres://u@h/db?connect_timeout=x").is_err());
    }
}
