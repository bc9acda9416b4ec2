//! Records the service keeps besides the domain's cards and people.

use jiff::Timestamp;
use jiff::civil::Date;
use shebao_domain::{CardNo, Evidence, Fen, IdNumber, RegionCode, Role};

/// Someone who calls the API: a bureau clerk, a bank branch, a pharmacy terminal, …
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub role: Role,
    pub name: String,
    pub region: Option<RegionCode>,
    pub employer_id: Option<String>,
    /// For a cardholder session: whose.
    pub id_number: Option<IdNumber>,
    /// A cardholder who still has the initial query password may only change it (R-PW-8).
    pub must_change_password: bool,
    /// For a cardholder: the self-service session this actor stands for.
    pub session_id: Option<String>,
    pub created_at: Timestamp,
    /// Where the actor came from: the start-up admin tokens are kept in step with their
    /// source (`SHEBAO_ADMIN_TOKEN`, the generated token file).
    pub source: ActorSource,
    /// Once set, the token no longer works (`DELETE /admin/actors/{id}`).
    pub revoked_at: Option<Timestamp>,
    /// A terminal's secure access module (R-KM-1): its requests carry a MAC under the PSAM's
    /// key and a rising counter.
    pub psam: Option<Psam>,
}

/// A terminal's PSAM as recorded: its number and its last accepted request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Psam {
    /// 16 digits; the PSAM key is the city psam key dispersed by it.
    pub psam_no: String,
    /// The highest request counter accepted (0: none yet).
    pub counter: u64,
    /// When that request was accepted.
    pub used_at: Option<Timestamp>,
}

impl Actor {
    /// A cardholder acting on their own record: the holder of `id`.
    pub fn is_holder_of(&self, id: &IdNumber) -> bool {
        self.role == Role::Cardholder && self.id_number.as_ref() == Some(id)
    }
}

/// Where an actor came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorSource {
    /// `POST /admin/actors` or `shebao create-actor`.
    Api,
    /// `SHEBAO_ADMIN_TOKEN`: an admin only while the variable names it.
    EnvToken,
    /// The token generated at first start and kept in the data dir.
    Generated,
    /// A start-up admin from before sources were recorded: sorted out at the next start.
    Startup,
}

impl ActorSource {
    pub fn as_str(self) -> &'static str {
        match self {
            ActorSource::Api => "api",
            ActorSource::EnvToken => "env",
            ActorSource::Generated => "generated",
            ActorSource::Startup => "startup",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            ActorSource::Api,
            ActorSource::EnvToken,
            ActorSource::Generated,
            ActorSource::Startup,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

#[derive(Debug, Clone)]
pub struct Employer {
    pub id: String,
    pub name: String,
    pub region: RegionCode,
    pub prev_year_avg_wage: Option<Fen>,
    pub created_at: Timestamp,
}

/// A cardholder's self-service session.
#[derive(Debug, Clone)]
pub struct Session {
    pub id: String,
    pub id_number: IdNumber,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
}

/// A browser's logged-in session of the console or the portal (issue 16), kept in the
/// database so that any server sharing it serves the browser's next page. It is found by the
/// SM3 digest of the cookie's value and names who is logged in by the digest of their API
/// token (a clerk's actor token, a cardholder's self-service session token): neither the
/// cookie nor the token is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSession {
    pub kind: ConsoleKind,
    /// The SM3 digest of the API token the session acts with (`keys::token_digest`).
    pub token_digest: String,
    pub created_at: Timestamp,
    /// Renewed by use; at or after it the session is gone.
    pub expires_at: Timestamp,
    /// A message for the session's next page, shown once.
    pub flash: Option<ConsoleFlash>,
}

/// A message for a console session's next page: the catalogue's key and extra words (a
/// service message, a new card number; never a password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleFlash {
    pub ok: bool,
    pub key: String,
    pub detail: Option<String>,
}

/// Declares a closed vocabulary stored as text: the enum, its names, and the parse back.
macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident = $text:literal,)* }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)*
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            /// The stored and answered name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)*
                }
            }

            pub fn parse(text: &str) -> Option<$name> {
                match text {
                    $($text => Some($name::$variant),)*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

vocabulary! {
    /// Who a console session belongs to.
    ConsoleKind {
        /// A window clerk (or an admin) of `/console`.
        Clerk = "clerk",
        /// A cardholder of `/portal`.
        Holder = "holder",
    }
}

vocabulary! {
    /// What an audit record says was done (R-PW-9). The storage and the answers use the names;
    /// the dashboard and the console classify by the value, never by the text.
    AuditAction {
        ActorCreate = "actor.create",
        ActorRevoke = "actor.revoke",
        ActorRestore = "actor.restore",
        CalendarLoad = "calendar.load",
        PersonRegister = "person.register",
        PersonTransfer = "person.transfer",
        CardIssue = "card.issue",
        CardActivate = "card.activate",
        CardCollect = "card.collect",
        CardLossReport = "card.loss.report",
        CardLossRelease = "card.loss.release",
        CardReplacementApply = "card.replacement.apply",
        EcardActivate = "ecard.activate",
        EcardDeactivate = "ecard.deactivate",
        FinAccountLossReport = "fin_account.loss.report",
        FinAccountLossRelease = "fin_account.loss.release",
        SsPasswordVerify = "ss_password.verify",
        SsPasswordChange = "ss_password.change",
        SsPasswordReset = "ss_password.reset",
        SsPasswordDisable = "ss_password.disable",
        FinPasswordVerify = "fin_password.verify",
        FinPasswordChange = "fin_password.change",
        FinPasswordReset = "fin_password.reset",
        SelfLogin = "self.login",
        SelfLogout = "self.logout",
        SelfQueryPasswordChange = "self.query_password.change",
        SelfQueryPasswordReset = "self.query_password.reset",
        EmployerCreate = "employer.create",
        EmployerPayment = "employer.payment",
        EmployerTaxReceipts = "employer.tax_receipts",
        EmployerCardApplications = "employer.card_applications",
        EmployerUnitLock = "employer.unit_lock",
        EmployerUnitLockLift = "employer.unit_lock.lift",
        JobRun = "job.run",
        Purchase = "purchase",
        Visit = "visit",
        Filing = "filing",
    }
}

impl AuditAction {
    /// An action on the bank's financial account (R-AC-1: the two accounts are apart).
    pub fn is_financial(self) -> bool {
        matches!(
            self,
            AuditAction::FinAccountLossReport
                | AuditAction::FinAccountLossRelease
                | AuditAction::FinPasswordVerify
                | AuditAction::FinPasswordChange
                | AuditAction::FinPasswordReset
        )
    }
}

vocabulary! {
    /// How an audited operation ended.
    Outcome {
        Ok = "ok",
        /// A visit that was the hospital's first use of the card: it activated it (R-ACT-3).
        OkActivated = "ok_activated",
        WrongPassword = "wrong_password",
        /// The wrong password that locked the account.
        Locked = "locked",
        Failed = "failed",
    }
}

vocabulary! {
    /// What moved money on a personal account (R-CR-2).
    LedgerKind {
        /// The old medical card's balance, moved on activation (R-ACT-4).
        LegacyTransfer = "legacy_transfer",
        /// A month's credit (R-CR-1, R-EM-4).
        ContributionCredit = "contribution_credit",
        /// Paid at a pharmacy (R-MS-1).
        Purchase = "purchase",
    }
}

vocabulary! {
    /// How the holder was authenticated for a purchase or a visit (R-PW-9, API.md "Audit").
    Authorisation {
        /// The card's social-security password, verified.
        Password = "password",
        /// The password is not enabled: none is asked (R-PW-3, D-2).
        NotEnabled = "not_enabled",
        /// The card was presented and the care needs no password (a visit, R-PW-5).
        Card = "card",
        /// The electronic social security card's payment code (R-KM-2).
        Ecard = "ecard",
    }
}

/// Who did what, where, through which channel, with what evidence (R-PW-9).
#[derive(Debug, Clone)]
pub struct AuditRecord {
    pub seq: Option<i64>,
    pub at: Timestamp,
    pub actor_id: String,
    pub actor_role: Role,
    pub actor_region: Option<String>,
    pub channel: String,
    pub action: AuditAction,
    pub card_no: Option<CardNo>,
    pub id_number: Option<IdNumber>,
    pub evidence: Option<Evidence>,
    pub outcome: Outcome,
    /// A purchase's or visit's: how the holder was authenticated.
    pub authorised_by: Option<Authorisation>,
    /// Plain words for people reading the trail. Never a password.
    pub detail: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub card_no: Option<CardNo>,
    pub id_number: Option<IdNumber>,
    pub after_seq: Option<i64>,
    /// At most this many (default 200, at most 1000; the service checks the bounds).
    pub limit: Option<u32>,
}

/// One movement on a personal medical account (R-CR-2).
#[derive(Debug, Clone)]
pub struct LedgerEntry {
    pub seq: Option<i64>,
    pub card_no: CardNo,
    pub id_number: IdNumber,
    pub at: Timestamp,
    pub kind: LedgerKind,
    pub amount: Fen,
    pub balance_after: Fen,
    pub reference: Option<String>,
}

/// An employer's month as stored: the domain's view plus the crediting and audit marks.
#[derive(Debug, Clone)]
pub struct EmployerMonthRecord {
    pub employer_id: String,
    pub month: shebao_domain::EmployerMonth,
    /// When the month's payment data from the tax bureau is in (R-EM-4): crediting may run.
    pub data_arrived_on: Option<jiff::civil::Date>,
    /// When every assessment of the month was credited.
    pub credited_at: Option<Timestamp>,
    /// When the unit lock this month caused was written to the audit trail (once).
    pub lock_noted_at: Option<Timestamp>,
}

/// One insured person's assessment for one month (what crediting applies, R-CR-1).
#[derive(Debug, Clone)]
pub struct AssessmentRecord {
    pub employer_id: String,
    pub month: shebao_domain::Month,
    pub id_number: IdNumber,
    pub kind: shebao_domain::PersonKind,
    pub base: Option<Fen>,
    pub assessment: shebao_domain::Assessment,
    /// The rule set's name (`seeds`, `reform_2021`).
    pub rule_set: String,
    pub credited_at: Option<Timestamp>,
    pub credited_card_no: Option<CardNo>,
}

/// Where a payment's record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentSource {
    /// The tax bureau's payment data (counts for crediting, R-EM-4).
    TaxBureau,
    /// A tax receipt shown by the employer (counts for the unit lock only, D-9).
    Receipt,
}

impl PaymentSource {
    pub fn as_str(self) -> &'static str {
        match self {
            PaymentSource::TaxBureau => "tax_bureau",
            PaymentSource::Receipt => "receipt",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "tax_bureau" => Some(PaymentSource::TaxBureau),
            "receipt" => Some(PaymentSource::Receipt),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentRecord {
    pub seq: Option<i64>,
    pub employer_id: String,
    pub month: shebao_domain::Month,
    pub amount: Fen,
    pub paid_on: jiff::civil::Date,
    pub source: PaymentSource,
    /// A receipt's number, or the tax bureau's record number when it sends one: unique.
    pub reference: Option<String>,
    pub recorded_at: Timestamp,
}

/// A settled purchase or visit, kept for idempotency and the trail (STYLE 11).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettlementRecord {
    pub actor_id: String,
    pub client_txn_id: String,
    pub card_no: CardNo,
    /// What the request said, to tell a repeat from a conflicting reuse of the id.
    pub request: String,
    /// What was settled: the first answer a repeat gets again.
    pub settled: Settled,
    pub at: Timestamp,
}

/// A write carried out under a client's `Idempotency-Key` (issue 16): which actor sent it,
/// the digest of what it asked for (never a password: those are left out of it), and what it
/// made, so that its repeat answers as the first did and changes nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKeyRecord {
    pub actor_id: String,
    pub key: String,
    /// SM3 of the request's operation and its non-secret fields, hex.
    pub fingerprint: String,
    /// What the request made or changed (an employer's id, an actor's id, a card number).
    pub resource: String,
    pub created_at: Timestamp,
}

/// A settled purchase or visit, with the amounts its answer carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Settled {
    /// R-MS-1: what the personal account paid, what is due in cash, the balance after.
    Purchase {
        paid_from_account: Fen,
        cash_due: Fen,
        balance_after: Fen,
    },
    /// R-MS-2: what the fund pays and what the holder pays.
    Visit {
        kind: shebao_domain::VisitKind,
        fund_pays: Fen,
        holder_pays: Fen,
    },
}

/// An out-of-area filing (R-MS-3).
#[derive(Debug, Clone)]
pub struct FilingRecord {
    pub id: String,
    pub id_number: IdNumber,
    pub filing: shebao_domain::Filing,
    pub filed_at: Timestamp,
    pub actor_id: String,
}

vocabulary! {
    /// Where a batch job's run stands.
    JobStatus {
        Running = "running",
        Ok = "ok",
        Failed = "failed",
    }
}

/// The last run of a batch job.
#[derive(Debug, Clone)]
pub struct JobRun {
    pub name: String,
    pub started_at: Timestamp,
    pub finished_at: Option<Timestamp>,
    pub status: JobStatus,
    pub summary: String,
    pub rows: i64,
}

/// What one crediting statement set applied.
#[derive(Debug, Clone, Default)]
pub struct CreditBatch {
    pub rows: u64,
    pub amount: Fen,
    /// Rows skipped because the person holds no usable card yet.
    pub waiting_for_card: u64,
    /// D-14: cards whose balance plus the credit would pass the ceiling; their credit is not
    /// made (it stays due and is tried again on the next run).
    pub over_ceiling: Vec<String>,
}

/// How a card is activated (API.md `channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationChannel {
    /// Financial account at a partner bank; social-security account 24 h later (R-ACT-2).
    Bank,
    /// First use at a designated hospital (R-ACT-3).
    Hospital,
    /// "K+serial" SMS from the registered phone (R-ACT-3).
    Sms,
    /// At the card management centre (R-ACT-3).
    ServiceCenter,
    /// Old medical card then new card at a pharmacy, first exchange only (R-ACT-3).
    PharmacyOldCard,
    /// The old card's password entered on the new card; the new card keeps it (R-ACT-3, D-11).
    PharmacyOldPassword,
}

impl ActivationChannel {
    pub fn parse(s: &str) -> Option<Self> {
        use ActivationChannel::*;
        [
            Bank,
            Hospital,
            Sms,
            ServiceCenter,
            PharmacyOldCard,
            PharmacyOldPassword,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActivationChannel::Bank => "bank",
            ActivationChannel::Hospital => "hospital",
            ActivationChannel::Sms => "sms",
            ActivationChannel::ServiceCenter => "service_center",
            ActivationChannel::PharmacyOldCard => "pharmacy_old_card",
            ActivationChannel::PharmacyOldPassword => "pharmacy_old_password",
        }
    }

    /// Who may activate through this channel. The bureau's clerks relay SMS activations and
    /// act at the card management centre.
    pub(crate) fn roles(self) -> &'static [Role] {
        match self {
            ActivationChannel::Bank => &[Role::Bank],
            ActivationChannel::Hospital => &[Role::Hospital],
            ActivationChannel::Sms | ActivationChannel::ServiceCenter => &[Role::Clerk],
            ActivationChannel::PharmacyOldCard | ActivationChannel::PharmacyOldPassword => {
                &[Role::Pharmacy]
            }
        }
    }
}

// The dashboard's reads (issue 5), as the storage answers them.

/// Cards in force (not replaced) in each lock state at one instant (R-LK-5's password and
/// loss reasons; employer arrears are counted by employer, `UnitLocks`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LockCounts {
    /// The social-security account is locked after wrong passwords (R-LK-1, R-LK-2).
    pub ss_password: u64,
    /// The financial account is locked until tomorrow (R-LK-3).
    pub fin_password: u64,
    /// A loss in force, by kind (R-LS-1..3).
    pub pre_loss: u64,
    pub temporary_loss: u64,
    pub formal_loss: u64,
    /// Replacement cards not yet collected (R-LS-5).
    pub replacements_waiting: u64,
}

/// A pre-loss that lapses by itself soon (R-LS-1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LapsingPreLoss {
    pub card_no: String,
    pub lapses_at: Timestamp,
}

/// A replacement card waiting for its holder (R-LS-5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplacementDue {
    pub card_no: String,
    pub ready_on: Date,
}

/// An employer whose cards stand under a unit lock (R-EM-2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitLockedEmployer {
    pub employer_id: String,
    pub name: String,
    /// The first day of the lock in force (the earliest locking month's `lock_from`).
    pub since: Date,
}

/// Employers under a unit lock on one Shanghai day, as their recorded months show it (a month
/// is recorded when the monthly-deadline job or any look at the employer assessed it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnitLocks {
    /// How many employers are locked.
    pub count: u64,
    /// The longest-locked first, at most `DASHBOARD_ROWS_MAX`.
    pub employers: Vec<UnitLockedEmployer>,
}

/// The actor of work no caller asked for: the operator CLI, startup, batch jobs.
pub(crate) fn operator(now: Timestamp) -> Actor {
    Actor {
        id: "operator".into(),
        role: Role::Admin,
        name: "operator (CLI or startup)".into(),
        region: None,
        employer_id: None,
        id_number: None,
        must_change_password: false,
        session_id: None,
        created_at: now,
        source: ActorSource::Api,
        revoked_at: None,
        psam: None,
    }
}
