//! The storage boundary: what a use case may ask of a transaction ([`Tx`]), and how work
//! reaches an engine ([`Engine`]).
//!
//! A use case is a closure over `&mut dyn Tx`. The engine runs it inside a transaction and
//! calls back only after the commit is durable, so no answer ever precedes its commit. The
//! SQLite engine runs many closures in one transaction (each in its own savepoint) and
//! commits them together: many requests, one fsync. The PostgreSQL engine runs each closure
//! in its own transaction on a pool of connections and takes row locks.

use crate::claim::TerminalClaim;
use crate::error::ServiceError;
pub use crate::error::StoreError;
use crate::model::{
    Actor, ActorSource, AssessmentRecord, AuditAction, AuditQuery, AuditRecord, CreditBatch,
    Employer, EmployerMonthRecord, FilingRecord, JobRun, LedgerEntry, PaymentRecord, PaymentSource,
    RequestKeyRecord, Session, SettlementRecord,
};
use jiff::Timestamp;
use jiff::civil::Date;
use shebao_domain::{Card, CardNo, Fen, IdNumber, Month, Person, WebLoginThrottle};
use tokio::sync::{mpsc, oneshot};

/// Where a page of employers' months ends: the next page starts after this (employer, month).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonthCursor {
    pub employer_id: String,
    /// `YYYY-MM`, empty before the first month.
    pub month: String,
}

/// How many audit events of one action fell on one Shanghai day (the dashboard's chart).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockEventCount {
    /// Days since 1970-01-01 in UTC+8.
    pub day_number: i64,
    pub action: AuditAction,
    pub count: u64,
}

/// How a transaction reads a row: to look at it, or to change it (engines with several
/// writers lock the row until the transaction ends; SQLite's one writer needs no lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lock {
    Read,
    ForUpdate,
}

/// One transaction's view of the database, as small traits by aggregate (each engine
/// implements them all over one connection). Methods that load for a change take
/// [`Lock::ForUpdate`].
pub trait Tx:
    ActorStore
    + Sequences
    + PersonStore
    + CardStore
    + SessionStore
    + AuditLog
    + Ledger
    + EmployerStore
    + EmployerMonths
    + Payments
    + Settlements
    + RequestKeys
    + Jobs
    + CalendarStore
    + Dashboard
{
}

impl<T> Tx for T
where
    T: ActorStore,
    T: Sequences,
    T: PersonStore,
    T: CardStore,
    T: SessionStore,
    T: AuditLog,
    T: Ledger,
    T: EmployerStore,
    T: EmployerMonths,
    T: Payments,
    T: Settlements,
    T: RequestKeys,
    T: Jobs,
    T: CalendarStore,
    T: Dashboard,
{
}

/// Actors and their tokens (never a token itself: its digest).
pub trait ActorStore {
    fn insert_actor(&mut self, actor: &Actor, token_digest: &str) -> Result<(), StoreError>;
    /// The actor holding a token, revoked or not (the caller decides what a revoked one means).
    fn actor_by_token(&mut self, token_digest: &str) -> Result<Option<Actor>, StoreError>;
    fn actor(&mut self, id: &str) -> Result<Option<Actor>, StoreError>;
    /// Every actor, by id, a page at a time (`after` is the last id seen).
    fn actors_after(&mut self, after: &str, limit: u32) -> Result<Vec<Actor>, StoreError>;
    /// Records `counter` as a PSAM terminal's last accepted request counter, at `at`, if it is
    /// above the one recorded; answers whether it was (R-KM-1). Serialises concurrent callers.
    fn take_terminal_counter(
        &mut self,
        actor_id: &str,
        counter: u64,
        at: Timestamp,
    ) -> Result<bool, StoreError>;
    /// Sets where an actor came from and whether it is revoked.
    fn set_actor_standing(
        &mut self,
        id: &str,
        source: ActorSource,
        revoked_at: Option<Timestamp>,
    ) -> Result<(), StoreError>;
    /// Gives an actor a new token (the old one stops working), by its digest.
    fn set_actor_token(&mut self, id: &str, token_digest: &str) -> Result<(), StoreError>;
    /// The start-up admins (`SHEBAO_ADMIN_TOKEN`, the generated token, and those from before
    /// sources were recorded) that are not revoked, with their token digests.
    fn startup_admins(&mut self) -> Result<Vec<(Actor, String)>, StoreError>;
}

/// Named counters.
pub trait Sequences {
    /// The next value of a named counter, starting at 1. Serialises concurrent callers.
    fn next_sequence(&mut self, name: &str) -> Result<u64, StoreError>;
}

/// Insured people.
pub trait PersonStore {
    fn insert_person(&mut self, person: &Person) -> Result<(), StoreError>;
    fn person(&mut self, id: &IdNumber, lock: Lock) -> Result<Option<Person>, StoreError>;
    fn update_person(&mut self, person: &Person) -> Result<(), StoreError>;
    /// People insured through an employer (employees and retirees), by ID number, a page at a time.
    fn insured_of(
        &mut self,
        employer_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<Person>, StoreError>;
}

/// Cards and their two accounts.
pub trait CardStore {
    fn insert_card(&mut self, card: &Card) -> Result<(), StoreError>;
    fn card(&mut self, card_no: &CardNo, lock: Lock) -> Result<Option<Card>, StoreError>;
    /// The card and the employer its holder is insured through (employees and retirees;
    /// `None` for anyone else): all a purchase or a visit needs for the unit lock, in one
    /// read (R-EM-2, D-13).
    fn card_for_care(
        &mut self,
        card_no: &CardNo,
        lock: Lock,
    ) -> Result<Option<(Card, Option<String>)>, StoreError>;
    /// The card with this 32-character identification code (the `K<serial>` SMS, R-ACT-3).
    fn card_by_serial(&mut self, serial: &str) -> Result<Option<Card>, StoreError>;
    fn update_card(&mut self, card: &Card) -> Result<(), StoreError>;
    /// All cards of a person, newest first.
    fn cards_of(&mut self, id: &IdNumber) -> Result<Vec<Card>, StoreError>;
}

/// Self-service sessions and the web-login throttle (D-4).
pub trait SessionStore {
    fn insert_session(&mut self, session: &Session, token_digest: &str) -> Result<(), StoreError>;
    fn session(&mut self, token_digest: &str) -> Result<Option<Session>, StoreError>;
    /// Ends every session of a person but `except` (a session id); returns how many ended.
    fn delete_sessions_of(
        &mut self,
        id_number: &str,
        except: Option<&str>,
    ) -> Result<u64, StoreError>;
    /// Ends one session (by id).
    fn delete_session(&mut self, session_id: &str) -> Result<u64, StoreError>;
    /// Removes sessions (self-service and console) expired at `now` and login throttles quiet
    /// since `quiet_since`.
    fn sweep_sessions(&mut self, now: Timestamp, quiet_since: Timestamp)
    -> Result<u64, StoreError>;
    /// Console sessions (issue 16), by the digest of their cookie's value.
    fn insert_console_session(
        &mut self,
        key_digest: &str,
        session: &crate::model::ConsoleSession,
    ) -> Result<(), StoreError>;
    fn console_session(
        &mut self,
        key_digest: &str,
    ) -> Result<Option<crate::model::ConsoleSession>, StoreError>;
    /// Sets a console session's expiry and flash if the session is still there (one that
    /// ended is never brought back); returns how many rows changed.
    fn update_console_session(
        &mut self,
        key_digest: &str,
        expires_at: Timestamp,
        flash: Option<&crate::model::ConsoleFlash>,
    ) -> Result<u64, StoreError>;
    fn delete_console_session(&mut self, key_digest: &str) -> Result<u64, StoreError>;
    /// The web-login throttle of an ID number, registered or not (D-4). `Lock::ForUpdate`
    /// makes sure the row exists and locks it, so racing logins count one by one.
    fn login_throttle(
        &mut self,
        id_number: &str,
        lock: Lock,
    ) -> Result<WebLoginThrottle, StoreError>;
    fn put_login_throttle(
        &mut self,
        id_number: &str,
        throttle: &WebLoginThrottle,
    ) -> Result<(), StoreError>;
}

/// The audit trail (R-PW-9).
pub trait AuditLog {
    fn append_audit(&mut self, record: &AuditRecord) -> Result<(), StoreError>;
    fn audit(&mut self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError>;
}

/// The personal accounts' ledger (R-CR-2).
pub trait Ledger {
    fn append_ledger(&mut self, entry: &LedgerEntry) -> Result<(), StoreError>;
    /// A person's personal-account ledger over all their cards (it follows a replacement, D-10),
    /// at most `limit` entries after `after_seq`, in `seq` order.
    fn ledger_of(
        &mut self,
        id: &IdNumber,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, StoreError>;
}

/// Employers.
pub trait EmployerStore {
    fn insert_employer(&mut self, employer: &Employer) -> Result<(), StoreError>;
    /// An employer; `Lock::ForUpdate` serialises the month roll-forward of concurrent requests.
    fn employer(&mut self, id: &str, lock: Lock) -> Result<Option<Employer>, StoreError>;
    /// Every employer, by id, a page at a time (`after` is the last id seen).
    fn employers_after(&mut self, after: &str, limit: u32) -> Result<Vec<Employer>, StoreError>;
}

/// Employers' months and the assessments crediting applies (R-EM-1..4, R-CR-1).
pub trait EmployerMonths {
    fn employer_months(
        &mut self,
        employer_id: &str,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError>;
    /// The employer's latest month and every month locking on `today`, in one read (the
    /// settlement path's check).
    fn lock_check_months(
        &mut self,
        employer_id: &str,
        today: Date,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError>;
    fn put_employer_month(&mut self, record: &EmployerMonthRecord) -> Result<(), StoreError>;
    /// Months whose payment data has not arrived yet but whose tax-bureau payments cover them.
    fn months_awaiting_data(
        &mut self,
        after: &MonthCursor,
        limit: u32,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError>;
    /// Months whose data arrived and that are not fully credited.
    /// Both page in (employer, month) order after `after` (`MonthCursor::default()` first).
    fn months_to_credit(
        &mut self,
        after: &MonthCursor,
        limit: u32,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError>;
    fn insert_assessment(&mut self, record: &AssessmentRecord) -> Result<(), StoreError>;
    fn assessments_of(&mut self, id: &IdNumber) -> Result<Vec<AssessmentRecord>, StoreError>;
    /// Credits up to `limit` uncredited assessments of one month, in ID order after `after`:
    /// adds to the holder's current card, appends the ledger row, marks the assessment. A
    /// credit that would take a balance above `balance_max` is not made (D-14).
    /// Returns what was done and, if the page was full, the last ID number to continue after.
    #[allow(clippy::too_many_arguments)]
    fn credit_assessments(
        &mut self,
        employer_id: &str,
        month: Month,
        after: &str,
        limit: u32,
        claim: &str,
        at: Timestamp,
        balance_max: Fen,
    ) -> Result<(CreditBatch, Option<String>), StoreError>;
}

/// The tax bureau's payment records and the employers' tax receipts (D-9, D-15).
pub trait Payments {
    fn insert_payment(&mut self, payment: &PaymentRecord) -> Result<(), StoreError>;
    /// The employer's payment of this source with this number (D-15: numbers are unique per
    /// employer and source, not across employers).
    fn payment_by_reference(
        &mut self,
        employer_id: &str,
        source: PaymentSource,
        reference: &str,
    ) -> Result<Option<PaymentRecord>, StoreError>;
    fn payments_of(
        &mut self,
        employer_id: &str,
        month: Month,
    ) -> Result<Vec<PaymentRecord>, StoreError>;
}

/// Settled purchases and visits (idempotency) and out-of-area filings (R-MS-3).
pub trait Settlements {
    fn settlement(
        &mut self,
        actor_id: &str,
        client_txn_id: &str,
    ) -> Result<Option<SettlementRecord>, StoreError>;
    fn insert_settlement(&mut self, record: &SettlementRecord) -> Result<(), StoreError>;
    fn insert_filing(&mut self, record: &FilingRecord) -> Result<(), StoreError>;
    fn filings_of(&mut self, id: &IdNumber) -> Result<Vec<FilingRecord>, StoreError>;
}

/// Writes carried out under a client's `Idempotency-Key`, recorded in the transaction of their
/// effect (issue 16).
pub trait RequestKeys {
    fn request_key(
        &mut self,
        actor_id: &str,
        key: &str,
    ) -> Result<Option<RequestKeyRecord>, StoreError>;
    /// A second record under the same actor and key is `StoreError::Duplicate`.
    fn insert_request_key(&mut self, record: &RequestKeyRecord) -> Result<(), StoreError>;
    /// Forgets the records made before `before`; answers how many.
    fn forget_request_keys(&mut self, before: Timestamp) -> Result<u64, StoreError>;
}

/// Batch jobs' last runs.
pub trait Jobs {
    fn job_run(&mut self, name: &str) -> Result<Option<JobRun>, StoreError>;
    fn put_job_run(&mut self, run: &JobRun) -> Result<(), StoreError>;
}

/// Operator-loaded working-day calendar years.
pub trait CalendarStore {
    /// Operator-loaded working-day calendar years, each a self-contained CSV.
    fn calendar_years(&mut self) -> Result<Vec<(i16, String)>, StoreError>;
    fn put_calendar_year(&mut self, year: i16, csv: &str, at: Timestamp) -> Result<(), StoreError>;
}

/// The console dashboard's reads (issue 5).
pub trait Dashboard {
    /// Cards in force (not replaced) in each lock state at `now`.
    fn lock_counts(&mut self, now: Timestamp) -> Result<crate::model::LockCounts, StoreError>;
    /// Pre-losses in force at `now` that lapse by `until`, soonest first.
    fn pre_losses_lapsing(
        &mut self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<crate::model::LapsingPreLoss>, StoreError>;
    /// Replacement cards not yet collected, earliest ready date first.
    fn replacements_uncollected(
        &mut self,
        limit: u32,
    ) -> Result<Vec<crate::model::ReplacementDue>, StoreError>;
    /// Audit events that locked an account, and loss reports, since `since`, counted per
    /// Shanghai day number and action.
    fn lock_events_by_day(&mut self, since: Timestamp) -> Result<Vec<LockEventCount>, StoreError>;
    /// Employers with a month locking on `today` (`EmployerMonth::locks`, R-EM-2): how many,
    /// and the first `limit` by lock-since day (earliest first), then id.
    fn unit_locked_employers(
        &mut self,
        today: jiff::civil::Date,
        limit: u32,
    ) -> Result<crate::model::UnitLocks, StoreError>;
}

/// How a write that keeps its writes ends (see [`Database::write_committed`]).
#[derive(Debug)]
pub enum Committed<T> {
    /// Commit, then answer this.
    Answer(T),
    /// Commit what was written, then refuse with this.
    Refusal(ServiceError),
}

impl<T> Committed<T> {
    pub fn into_result(self) -> Result<T, ServiceError> {
        match self {
            Committed::Answer(t) => Ok(t),
            Committed::Refusal(e) => Err(e),
        }
    }
}

/// Called after the transaction ended: `None` if it committed (or was a read), else why not.
pub type Reply = Box<dyn FnOnce(Option<StoreError>) + Send>;
/// A unit of work: runs in a transaction, says whether to keep its writes, and how to reply.
pub type Job = Box<dyn FnOnce(&mut dyn Tx) -> (bool, Reply) + Send>;

/// A running storage engine: bounded queues of jobs for its threads.
pub struct Engine {
    pub writes: mpsc::Sender<Job>,
    pub reads: mpsc::Sender<Job>,
    pub name: &'static str,
}

/// The service's handle on the database.
pub struct Database {
    engine: Engine,
}

impl Database {
    pub fn new(engine: Engine) -> Database {
        Database { engine }
    }

    pub fn engine_name(&self) -> &'static str {
        self.engine.name
    }

    /// Runs `op` in a write transaction. `Ok` commits, `Err` rolls back everything `op` did;
    /// the result arrives only once the commit is durable.
    pub async fn write<T, F>(&self, op: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, ServiceError> + Send + 'static,
    {
        submit(&self.engine.writes, TerminalClaim::pending(), op).await
    }

    /// Runs `op` in a write transaction that may refuse after keeping its writes: the closure
    /// ends with [`Committed::Answer`] or [`Committed::Refusal`]; either way its writes commit,
    /// and the refusal is answered only once they are durable (the one case is a wrong
    /// password, whose count must be stored before the 422, R-LK-1). An `Err` from the closure
    /// rolls back as with [`Database::write`].
    pub async fn write_committed<T, F>(&self, op: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<Committed<T>, ServiceError> + Send + 'static,
    {
        self.write(op).await?.into_result()
    }

    /// Runs `op` in a read transaction (a consistent snapshot).
    pub async fn read<T, F>(&self, op: F) -> Result<T, ServiceError>
    where
        T: Send + 'static,
        F: FnOnce(&mut dyn Tx) -> Result<T, ServiceError> + Send + 'static,
    {
        submit(&self.engine.reads, None, op).await
    }
}

async fn submit<T, F>(
    queue: &mpsc::Sender<Job>,
    claim: Option<TerminalClaim>,
    op: F,
) -> Result<T, ServiceError>
where
    T: Send + 'static,
    F: FnOnce(&mut dyn Tx) -> Result<T, ServiceError> + Send + 'static,
{
    let (answer, answered) = oneshot::channel();
    let job: Job = Box::new(move |tx: &mut dyn Tx| {
        // A PSAM terminal's request counter is taken in its first write (crate::claim).
        let claim = claim.filter(|c| !c.is_taken());
        let result = match &claim {
            Some(c) => match tx.take_terminal_counter(c.actor_id(), c.counter(), c.at()) {
                Ok(true) => op(tx),
                Ok(false) => Err(ServiceError::replayed()),
                Err(e) => Err(ServiceError::Store(e)),
            },
            None => op(tx),
        };
        let keep = result.is_ok();
        let reply: Reply = Box::new(move |failure: Option<StoreError>| {
            if let (None, Some(c)) = (&failure, &claim)
                && keep
            {
                c.mark_taken();
            }
            let result = match failure {
                Some(e) => Err(ServiceError::Store(e)),
                None => result,
            };
            // The caller may have gone away (client disconnect): the work is done regardless.
            let _ = answer.send(result);
        });
        (keep, reply)
    });
    queue
        .send(job)
        .await
        .map_err(|_| ServiceError::Store(StoreError::Stopped))?;
    answered
        .await
        .map_err(|_| ServiceError::Store(StoreError::Stopped))?
}
