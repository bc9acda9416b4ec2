//! Batch jobs by name (`monthly-deadline`, `crediting`, `request-keys`), run from HTTP or the CLI, with the
//! last run kept for `GET /admin/jobs/{name}`. One job runs at a time per server; each job is
//! idempotent and safe to interrupt, so a second server running one too costs time, not money.

use crate::Service;
use crate::crediting::CREDIT_BATCH_ROWS_DEFAULT;
use crate::error::ServiceError;
use crate::meter;
use crate::model::{Actor, JobRun, JobStatus};
use crate::model::{AuditAction, Outcome};
use crate::request_key::REQUEST_KEY_DAYS;
use crate::support::{Audit, require_role};
use shebao_domain::Role;

pub const JOB_NAMES: [&str; 3] = ["monthly-deadline", "crediting", "request-keys"];

/// Cards named in a summary at most (the rest are counted).
const OVER_CEILING_NAMED_MAX: usize = 20;

/// D-14: the cards whose credit was not made because it would pass the balance ceiling.
fn over_ceiling_note(cards: &[String]) -> String {
    let named: Vec<&str> = cards
        .iter()
        .take(OVER_CEILING_NAMED_MAX)
        .map(String::as_str)
        .collect();
    let more = cards.len().saturating_sub(named.len());
    format!(
        "; {} credits not made because the balance would pass the ceiling (D-14): {}{}",
        cards.len(),
        named.join(", "),
        if more > 0 {
            format!(" and {more} more")
        } else {
            String::new()
        }
    )
}

impl Service {
    /// The `request-keys` job: forgets the `Idempotency-Key` records older than
    /// [`REQUEST_KEY_DAYS`] at `now` (a repeat after that is not a retry).
    async fn forget_request_keys(&self, now: jiff::Timestamp) -> Result<u64, ServiceError> {
        let before = now
            .checked_sub(jiff::SignedDuration::from_hours(24 * REQUEST_KEY_DAYS))
            .unwrap_or(now);
        self.db
            .write(move |tx| Ok(tx.forget_request_keys(before)?))
            .await
    }
}

fn known(name: &str) -> Result<&'static str, ServiceError> {
    JOB_NAMES
        .iter()
        .find(|n| **n == name)
        .copied()
        .ok_or_else(|| {
            ServiceError::not_found(format!("no job {name}: jobs are {}", JOB_NAMES.join(", ")))
        })
}

impl Service {
    /// Runs a job to the end and returns its record. `actor` is `None` for the CLI.
    pub async fn run_job(
        &self,
        actor: Option<&Actor>,
        name: &str,
        batch_rows: Option<u32>,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<JobRun, ServiceError> {
        if let Some(actor) = actor {
            require_role(actor, &[Role::Admin])?;
        }
        let name = known(name)?;
        let _running = self.job_lock.try_lock().map_err(|_| {
            ServiceError::conflict(
                "job_running",
                "a job is running on this server; try again when it ends",
            )
        })?;
        let started_at = self.clock.now();
        // The metrics' duration is real time, whatever the (possibly simulated) clock says.
        let timer = std::time::Instant::now();
        let mut run = JobRun {
            name: name.to_owned(),
            started_at,
            finished_at: None,
            status: JobStatus::Running,
            summary: String::new(),
            rows: 0,
        };
        let record = run.clone();
        self.db
            .write(move |tx| Ok(tx.put_job_run(&record)?))
            .await?;
        let outcome = match name {
            "monthly-deadline" => self.run_monthly_deadline(progress).await.map(|s| {
                (
                    format!(
                        "{} employers; {} months assessed for {} people; {} employers newly under a unit lock, {} under one in all",
                        s.employers, s.months_assessed, s.people_assessed, s.newly_locked, s.locked
                    ),
                    s.people_assessed,
                )
            }),
            "request-keys" => self.forget_request_keys(started_at).await.map(|n| {
                (
                    format!(
                        "{n} Idempotency-Keys older than {REQUEST_KEY_DAYS} days forgotten"
                    ),
                    n,
                )
            }),
            _ => self
                .run_crediting(batch_rows.unwrap_or(CREDIT_BATCH_ROWS_DEFAULT), progress)
                .await
                .map(|s| {
                    let mut summary = format!(
                        "{} accounts credited, {} fen in all, in {} batches; {} months' data arrived, {} months fully credited, {} still waiting for data, {} waiting for a calendar year, {} people waiting for a card",
                        s.accounts_credited,
                        s.amount.0,
                        s.batches,
                        s.months_arrived,
                        s.months_credited,
                        s.months_waiting,
                        s.months_without_calendar,
                        s.waiting_for_card
                    );
                    if !s.over_ceiling.is_empty() {
                        summary.push_str(&over_ceiling_note(&s.over_ceiling));
                    }
                    (summary, s.accounts_credited)
                }),
        };
        let finished_at = self.clock.now();
        run.finished_at = Some(finished_at);
        match &outcome {
            Ok((summary, rows)) => {
                run.status = JobStatus::Ok;
                run.summary = summary.clone();
                run.rows = i64::try_from(*rows).unwrap_or(i64::MAX);
            }
            Err(e) => {
                run.status = JobStatus::Failed;
                run.summary = e.to_string();
            }
        }
        let record = run.clone();
        let by = actor
            .cloned()
            .unwrap_or_else(|| crate::model::operator(finished_at));
        self.db
            .write(move |tx| {
                tx.put_job_run(&record)?;
                Audit::new(AuditAction::JobRun)
                    .outcome(if record.status == JobStatus::Ok {
                        Outcome::Ok
                    } else {
                        Outcome::Failed
                    })
                    .detail(format!("{}: {}", record.name, record.summary))
                    .record(tx, &by, finished_at)?;
                Ok(())
            })
            .await?;
        meter::job_ran(
            name,
            if outcome.is_ok() { "ok" } else { "failed" },
            timer.elapsed().as_secs_f64(),
        );
        outcome.map(|_| run)
    }

    /// The last run of a job (`None` if it never ran).
    pub async fn last_job_run(
        &self,
        actor: &Actor,
        name: &str,
    ) -> Result<Option<JobRun>, ServiceError> {
        require_role(actor, &[Role::Admin])?;
        self.last_job_run_unchecked(name).await
    }

    /// The same for the operator CLI.
    pub async fn last_job_run_unchecked(&self, name: &str) -> Result<Option<JobRun>, ServiceError> {
        let name = known(name)?;
        self.db.read(move |tx| Ok(tx.job_run(name)?)).await
    }
}
