//! shebao's metrics (issue 16) through the `metrics` facade: every name, its labels, its
//! histogram buckets, and the calls that record it. Whoever installs a recorder (`shebao
//! serve` installs the Prometheus renderer behind `GET /metrics` before the storage engines
//! start) sees them; without one a call costs next to nothing.
//!
//! No label ever holds a card number, an ID number, a name, a token or a password: every
//! label is a closed vocabulary (route templates, status codes, job names, engines, reasons).

/// Requests answered (counter), by `method`, `route` (the route template, e.g.
/// `/api/v1/cards/{card_no}`, never the raw path) and `status`.
pub const HTTP_REQUESTS_TOTAL: &str = "shebao_http_requests_total";
/// How long requests took (histogram, seconds), labelled as [`HTTP_REQUESTS_TOTAL`].
pub const HTTP_REQUEST_SECONDS: &str = "shebao_http_request_duration_seconds";
/// Accounts locked by wrong passwords (counter), by `reason` (`ss_password_tries`, R-LK-1;
/// `fin_password_tries`, R-LK-3) and `operation` (`verify`, `change`, `purchase`, `visit`).
/// Counted after the lock committed.
pub const PASSWORD_LOCKS_TOTAL: &str = "shebao_password_locks_total";
/// Batch job runs (counter), by `job` and `outcome` (`ok`, `failed`).
pub const JOB_RUNS_TOTAL: &str = "shebao_job_runs_total";
/// How long batch job runs took (histogram, seconds), by `job` and `outcome`.
pub const JOB_SECONDS: &str = "shebao_job_duration_seconds";
/// Jobs one commit of a storage engine carried (histogram), by `engine`.
pub const WRITE_BATCH_JOBS: &str = "shebao_write_batch_jobs";
/// How long a storage engine's commit took (histogram, seconds), by `engine`.
pub const COMMIT_SECONDS: &str = "shebao_commit_seconds";
/// How long a WAL checkpoint of the embedded engine took (histogram, seconds), by `engine`:
/// one that copied pages back into the database file (an idle one is not counted).
pub const CHECKPOINT_SECONDS: &str = "shebao_checkpoint_seconds";
/// Pages in the embedded engine's WAL at its last checkpoint (gauge), by `engine`.
pub const WAL_FRAMES: &str = "shebao_wal_frames";
/// Connections to the database a storage engine opened again after losing one (counter), by
/// `engine`.
pub const DB_RECONNECTS_TOTAL: &str = "shebao_db_reconnects_total";
/// Errors the database answered (counter), by `engine` and `kind`.
pub const DB_ERRORS_TOTAL: &str = "shebao_db_errors_total";

/// Request and commit latencies: 0.5 ms to 10 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];
/// Batch jobs: a second to an hour.
const JOB_SECONDS_BUCKETS: &[f64] = &[1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0];
/// Jobs per commit: 1 to the SQLite engine's default `group_commit_jobs_max` of 512.
const BATCH_JOBS_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0];

/// Every histogram with its buckets: a recorder must render each as a histogram (a
/// Prometheus histogram aggregates across servers; a summary's quantiles do not).
pub const HISTOGRAMS: &[(&str, &[f64])] = &[
    (HTTP_REQUEST_SECONDS, SECONDS_BUCKETS),
    (JOB_SECONDS, JOB_SECONDS_BUCKETS),
    (WRITE_BATCH_JOBS, BATCH_JOBS_BUCKETS),
    (COMMIT_SECONDS, SECONDS_BUCKETS),
    (CHECKPOINT_SECONDS, SECONDS_BUCKETS),
];

/// Says what each metric is (the `# HELP` lines). Call once the recorder is installed.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS_TOTAL,
        Unit::Count,
        "Requests answered, by method, route template and status."
    );
    describe_histogram!(
        HTTP_REQUEST_SECONDS,
        Unit::Seconds,
        "Time to answer a request, by method, route template and status."
    );
    describe_counter!(
        PASSWORD_LOCKS_TOTAL,
        Unit::Count,
        "Accounts locked by wrong passwords (R-LK-1, R-LK-3), by reason and operation."
    );
    describe_counter!(
        JOB_RUNS_TOTAL,
        Unit::Count,
        "Batch job runs, by job and outcome."
    );
    describe_histogram!(
        JOB_SECONDS,
        Unit::Seconds,
        "Time a batch job run took, by job and outcome."
    );
    describe_histogram!(
        WRITE_BATCH_JOBS,
        Unit::Count,
        "Jobs one storage commit carried, by engine."
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Time a storage commit took, by engine."
    );
    describe_histogram!(
        CHECKPOINT_SECONDS,
        Unit::Seconds,
        "Time a WAL checkpoint that copied pages back into the database file took, by engine."
    );
    describe_gauge!(
        WAL_FRAMES,
        Unit::Count,
        "Pages in the WAL at the last checkpoint, by engine: rising without falling back means the WAL has not restarted from its start (sustained writes), and its file grows."
    );
    describe_counter!(
        DB_RECONNECTS_TOTAL,
        Unit::Count,
        "Database connections opened again after one was lost, by engine."
    );
    describe_counter!(
        DB_ERRORS_TOTAL,
        Unit::Count,
        "Errors the database answered, by engine and kind."
    );
}

/// One request answered. `route` is the route template (axum's `MatchedPath`), or
/// `(unmatched)`: never the raw path, which may hold a card or ID number.
pub fn http_request(method: &str, route: &str, status: u16, seconds: f64) {
    let labels = [
        ("method", method.to_owned()),
        ("route", route.to_owned()),
        ("status", status.to_string()),
    ];
    metrics::counter!(HTTP_REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(HTTP_REQUEST_SECONDS, &labels).record(seconds);
}

/// Why a password lock happened: the rule that locked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockCause {
    /// R-LK-1: the social-security account after N wrong passwords.
    SsPasswordTries,
    /// R-LK-3: the financial account after N wrong passwords (until the next day).
    FinPasswordTries,
}

impl LockCause {
    pub fn as_str(self) -> &'static str {
        match self {
            LockCause::SsPasswordTries => "ss_password_tries",
            LockCause::FinPasswordTries => "fin_password_tries",
        }
    }
}

/// An account locked by a wrong password, once the lock committed. `operation` is `verify`,
/// `change`, `purchase` or `visit`.
pub fn password_locked(cause: LockCause, operation: &'static str) {
    metrics::counter!(PASSWORD_LOCKS_TOTAL, "reason" => cause.as_str(), "operation" => operation)
        .increment(1);
}

/// A batch job ran to its end: `outcome` is `ok` or `failed`.
pub fn job_ran(job: &'static str, outcome: &'static str, seconds: f64) {
    metrics::counter!(JOB_RUNS_TOTAL, "job" => job, "outcome" => outcome).increment(1);
    metrics::histogram!(JOB_SECONDS, "job" => job, "outcome" => outcome).record(seconds);
}

/// A storage engine committed `jobs` jobs in one transaction, taking `seconds`.
pub fn commit(engine: &'static str, jobs: usize, seconds: f64) {
    metrics::histogram!(WRITE_BATCH_JOBS, "engine" => engine).record(jobs as f64);
    metrics::histogram!(COMMIT_SECONDS, "engine" => engine).record(seconds);
}

/// The embedded engine's checkpointer ran: `wal_frames` pages were in the WAL, and when it had
/// pages to copy back, it took `seconds`.
pub fn checkpoint(engine: &'static str, wal_frames: i64, seconds: Option<f64>) {
    metrics::gauge!(WAL_FRAMES, "engine" => engine).set(wal_frames as f64);
    if let Some(seconds) = seconds {
        metrics::histogram!(CHECKPOINT_SECONDS, "engine" => engine).record(seconds);
    }
}

/// A storage engine opened a database connection again after losing one.
pub fn db_reconnected(engine: &'static str) {
    metrics::counter!(DB_RECONNECTS_TOTAL, "engine" => engine).increment(1);
}

/// The database answered an error; `kind` is a closed word, never the error's text: the
/// PostgreSQL engine says `unavailable` (a lost connection, a shutdown, a read-only server, a
/// deadlock, a commit past its bound), `database`, `corrupt` or `stopped`.
pub fn db_error(engine: &'static str, kind: &'static str) {
    metrics::counter!(DB_ERRORS_TOTAL, "engine" => engine, "kind" => kind).increment(1);
}

#[cfg(test)]
mod tests {
    use super::*;

    // Issue 16: every histogram has buckets (rising), so it renders as a histogram.
    #[test]
    fn every_histogram_has_rising_buckets() {
        for (name, buckets) in HISTOGRAMS {
            assert!(name.starts_with("shebao_"), "{name}");
            assert!(!buckets.is_empty(), "{name}");
            assert!(buckets.windows(2).all(|w| w[0] < w[1]), "{name}");
        }
        for name in [
            HTTP_REQUEST_SECONDS,
            JOB_SECONDS,
            WRITE_BATCH_JOBS,
            COMMIT_SECONDS,
            CHECKPOINT_SECONDS,
        ] {
            assert!(HISTOGRAMS.iter().any(|(n, _)| *n == name), "{name}");
        }
    }
}
