//! Employers, their monthly assessments, payments and tax receipts, and the unit lock
//! (R-EM-1..5, R-ID-3, D-8, D-9, D-13).
//!
//! A month is assessed from its first day for everyone insured with the employer (D-8): the
//! assessment rows are written when the month is "rolled forward" — by the `monthly-deadline`
//! job, or by the first request that needs the month (registering a person, reading the
//! employer, using a card for fund-paid care), whichever comes first. The unit lock itself is
//! never written onto cards: it is derived from the employer's months (`shebao_domain::unitlock`).

use crate::Service;
use crate::error::ServiceError;
use crate::input::{parse_date, parse_month};
use crate::model::AuditAction;
use crate::model::{Actor, Employer, EmployerMonthRecord, PaymentRecord, PaymentSource};
use crate::months::{add, load_employer, roll_forward};
use crate::request_key::{KeyedWrite, RequestKey};
use crate::store::Lock;
use crate::store::Tx;
use crate::support::{Audit, require_role};
use jiff::Timestamp;
use jiff::civil::Date;
use shebao_domain::time::business_date;
use shebao_domain::unitlock::{UnitLock, Unlock, unit_lock, unlock};
use shebao_domain::{EmployerMonth, Fen, Month, Policy, Role};

/// Receipts one request may carry.
pub const RECEIPTS_PER_REQUEST_MAX: usize = 120;
/// Amounts above this (10 million yuan) are typos, not payments.
const PAYMENT_FEN_MAX: i64 = 1_000_000_000;

/// An employer as the clerk and the employer see it.
#[derive(Debug, Clone)]
pub struct EmployerView {
    pub employer: Employer,
    pub months: Vec<EmployerMonthRecord>,
    pub arrears_months: Vec<Month>,
    pub unit_lock: Option<UnitLock>,
    /// The business day the view was made for (arrears and the lock are as of this day).
    pub today: Date,
}

/// A payment record or receipt from a request.
#[derive(Debug, Clone)]
pub struct NewPayment {
    pub month: String,
    pub amount_fen: i64,
    pub paid_on: String,
    /// Receipt number (receipts) or the tax bureau's record number (payments, optional).
    pub reference: Option<String>,
}

/// What a receipts submission did (R-EM-3).
#[derive(Debug, Clone)]
pub struct ReceiptsOutcome {
    pub view: EmployerView,
    /// Receipts newly recorded (repeats of a receipt already on file are not counted again).
    pub recorded: usize,
    pub lifted: bool,
    /// Months still lacking a receipt or payment that covers them.
    pub missing_months: Vec<Month>,
}

/// What a monthly-deadline run did.
#[derive(Debug, Clone, Copy, Default)]
pub struct DeadlineSummary {
    pub employers: u64,
    pub months_assessed: u64,
    pub people_assessed: u64,
    pub newly_locked: u64,
    pub locked: u64,
}

fn parse_payment(
    p: &NewPayment,
    today: Date,
) -> Result<(Month, Fen, Date, Option<String>), ServiceError> {
    let month = parse_month(&p.month)?;
    if !(1..=PAYMENT_FEN_MAX).contains(&p.amount_fen) {
        return Err(ServiceError::invalid(
            "invalid_amount",
            format!("amount_fen must be between 1 and {PAYMENT_FEN_MAX}"),
        ));
    }
    let paid_on = parse_date(&p.paid_on, "paid_on")?;
    if paid_on > today {
        return Err(ServiceError::invalid(
            "invalid_date",
            "paid_on lies in the future",
        ));
    }
    let reference = match p.reference.as_deref().map(str::trim) {
        None => None,
        Some(r)
            if r.is_empty()
                || r.chars().count() > 64
                || r.chars().any(|c| c.is_control() || c.is_whitespace()) =>
        {
            return Err(ServiceError::invalid(
                "invalid_receipt_no",
                "a receipt or record number is 1-64 characters without spaces",
            ));
        }
        Some(r) => Some(r.to_owned()),
    };
    Ok((month, Fen(p.amount_fen), paid_on, reference))
}

/// The employer an actor may act for: clerks any, an employer actor only its own (others are
/// answered as unknown, like a holder asking about another card).
fn check_employer_access(actor: &Actor, employer_id: &str) -> Result<(), ServiceError> {
    if actor.role == Role::Employer && actor.employer_id.as_deref() != Some(employer_id) {
        return Err(ServiceError::not_found(format!(
            "no employer {employer_id}"
        )));
    }
    Ok(())
}

fn view(employer: Employer, months: Vec<EmployerMonthRecord>, today: Date) -> EmployerView {
    let plain: Vec<EmployerMonth> = months.iter().map(|m| m.month.clone()).collect();
    let unit_lock = unit_lock(&plain, today);
    let arrears_months = plain
        .iter()
        .filter(|m| m.in_arrears(today))
        .map(|m| m.month)
        .collect();
    EmployerView {
        employer,
        months,
        arrears_months,
        unit_lock,
        today,
    }
}

/// Adds a payment or receipt to its month's sums.
fn apply_payment(record: &mut EmployerMonthRecord, p: &PaymentRecord) -> Result<(), ServiceError> {
    let m = &mut record.month;
    m.paid = add(m.paid, p.amount)?;
    if p.paid_on <= m.due_on {
        m.paid_on_time = add(m.paid_on_time, p.amount)?;
    }
    if p.source == PaymentSource::TaxBureau {
        m.tax_paid = add(m.tax_paid, p.amount)?;
    }
    Ok(())
}

/// A payment matches one already on file with the same reference.
fn same_payment(a: &PaymentRecord, b: &PaymentRecord) -> bool {
    a.employer_id == b.employer_id
        && a.month == b.month
        && a.amount == b.amount
        && a.paid_on == b.paid_on
        && a.source == b.source
}

/// Records one payment or receipt; `Ok(false)` if the same one was on file already.
fn record_payment(
    tx: &mut dyn Tx,
    months: &mut [EmployerMonthRecord],
    mut payment: PaymentRecord,
) -> Result<bool, ServiceError> {
    if let Some(reference) = &payment.reference
        && let Some(existing) =
            tx.payment_by_reference(&payment.employer_id, payment.source, reference)?
    {
        if same_payment(&existing, &payment) {
            return Ok(false);
        }
        return Err(ServiceError::conflict(
            "receipt_conflict",
            format!("number {reference} is already on file with other details"),
        ));
    }
    let record = months
        .iter_mut()
        .find(|m| m.month.month == payment.month)
        .ok_or_else(|| {
            ServiceError::invalid(
                "invalid_month",
                format!("{} has not been assessed for this employer", payment.month),
            )
        })?;
    payment.seq = Some(i64::try_from(tx.next_sequence("payment")?).unwrap_or(i64::MAX));
    apply_payment(record, &payment)?;
    tx.insert_payment(&payment)?;
    tx.put_employer_month(record)?;
    Ok(true)
}

/// One month of a person's contribution record (R-CR-2, Social Insurance Law art. 4).
#[derive(Debug, Clone)]
pub struct ContributionLine {
    pub month: Month,
    pub employer_id: String,
    /// The month's contribution base (none for a retiree).
    pub base: Option<Fen>,
    /// What the employer owes for this person this month (both parts).
    pub assessed: Fen,
    /// The employee's own part of it (2 % of the base).
    pub employee_part: Fen,
    /// Whether the employer's month is paid in full (payment records and receipts, D-9).
    pub paid: bool,
    /// What reaches the personal account once credited (zero before the tax bureau's data
    /// arrives, R-EM-4), and the day it was.
    pub credit: Fen,
    pub credited_on: Option<Date>,
}

impl Service {
    /// `GET /persons/{id_number}/contributions` (R-CR-2): every month's contribution record of
    /// a person: employer, base, assessment, the employee's part, paid or not, credited amount
    /// and day. A clerk for anyone; the holder their own (another's is answered as unknown).
    pub async fn contributions(
        &self,
        actor: &Actor,
        id_number: &str,
    ) -> Result<Vec<ContributionLine>, ServiceError> {
        require_role(actor, &[Role::Clerk, Role::Admin, Role::Cardholder])?;
        let id = crate::input::parse_id_number(id_number)?;
        if actor.role == Role::Cardholder && !actor.is_holder_of(&id) {
            return Err(ServiceError::not_found(format!(
                "no person {}",
                id.masked()
            )));
        }
        self.db
            .read(move |tx| {
                crate::support::load_person(tx, &id, Lock::Read)?;
                let assessments = tx.assessments_of(&id)?;
                let mut paid_by_employer: std::collections::HashMap<
                    String,
                    std::collections::HashMap<Month, bool>,
                > = std::collections::HashMap::new();
                let mut lines = Vec::with_capacity(assessments.len());
                for a in assessments {
                    if !paid_by_employer.contains_key(&a.employer_id) {
                        let months = tx
                            .employer_months(&a.employer_id)?
                            .into_iter()
                            .map(|m| (m.month.month, m.month.is_covered()))
                            .collect();
                        paid_by_employer.insert(a.employer_id.clone(), months);
                    }
                    let paid = paid_by_employer
                        .get(&a.employer_id)
                        .and_then(|months| months.get(&a.month))
                        .copied()
                        .unwrap_or(false);
                    lines.push(ContributionLine {
                        month: a.month,
                        employer_id: a.employer_id,
                        base: a.base,
                        assessed: a.assessment.contribution,
                        employee_part: a.assessment.employee_part,
                        paid,
                        credit: if a.credited_at.is_some() {
                            a.assessment.credit
                        } else {
                            Fen::ZERO
                        },
                        credited_on: a.credited_at.map(business_date),
                    });
                }
                Ok(lines)
            })
            .await
    }

    /// `GET /employers/{id}`: months, arrears and the unit lock (R-EM-1..3).
    pub async fn employer(&self, actor: &Actor, id: &str) -> Result<EmployerView, ServiceError> {
        require_role(actor, &[Role::Clerk, Role::Employer, Role::Admin])?;
        check_employer_access(actor, id)?;
        let today = business_date(self.clock.now());
        let (id, policy) = (id.to_owned(), self.policy.clone());
        self.db
            .write(move |tx| {
                let employer = load_employer(tx, &id, Lock::ForUpdate)?;
                roll_forward(tx, &policy, &employer, today)?;
                let months = tx.employer_months(&employer.id)?;
                Ok(view(employer, months, today))
            })
            .await
    }

    /// `POST /employers/{id}/payments`: the tax bureau's record of a payment (R-EM-1, R-EM-4).
    /// A record number, when the tax bureau sends one, makes a repeat harmless; so does an
    /// `Idempotency-Key` (issue 16) for a record without one.
    pub async fn record_tax_payment(
        &self,
        actor: &Actor,
        id: &str,
        input: NewPayment,
        key: Option<RequestKey>,
    ) -> Result<EmployerView, ServiceError> {
        require_role(actor, &[Role::Clerk, Role::Admin])?;
        let now = self.clock.now();
        let today = business_date(now);
        let (month, amount, paid_on, reference) = parse_payment(&input, today)?;
        let (id, policy, actor) = (id.to_owned(), self.policy.clone(), actor.clone());
        self.db
            .write(move |tx| {
                let employer = load_employer(tx, &id, Lock::ForUpdate)?;
                roll_forward(tx, &policy, &employer, today)?;
                let mut months = tx.employer_months(&employer.id)?;
                let (amount_text, month_text, paid_text) =
                    (amount.0.to_string(), month.to_string(), paid_on.to_string());
                let fields = [
                    "POST /employers/payments",
                    employer.id.as_str(),
                    month_text.as_str(),
                    amount_text.as_str(),
                    paid_text.as_str(),
                    reference.as_deref().unwrap_or(""),
                ];
                let keyed = key.as_ref().map(|k| KeyedWrite::new(&actor.id, k, &fields));
                if let Some(k) = &keyed
                    && k.prior(tx)?.is_some()
                {
                    return Ok(view(employer, months, today));
                }
                let payment = PaymentRecord {
                    seq: None,
                    employer_id: employer.id.clone(),
                    month,
                    amount,
                    paid_on,
                    source: PaymentSource::TaxBureau,
                    reference,
                    recorded_at: now,
                };
                if record_payment(tx, &mut months, payment)? {
                    Audit::new(AuditAction::EmployerPayment)
                        .detail(format!(
                            "employer {}: {} fen for {month}, paid on {paid_on}",
                            employer.id, amount.0
                        ))
                        .record(tx, &actor, now)?;
                }
                if let Some(k) = &keyed {
                    k.record(tx, &employer.id, now)?;
                }
                Ok(view(employer, months, today))
            })
            .await
    }

    /// `POST /employers/{id}/tax-receipts` (R-EM-3, D-9): records the receipts (a receipt
    /// already on file is a harmless repeat, a number reused with other details is refused and
    /// nothing is recorded), then lifts the unit lock if every month in arrears and the last
    /// months are covered.
    pub async fn submit_tax_receipts(
        &self,
        actor: &Actor,
        id: &str,
        receipts: Vec<NewPayment>,
    ) -> Result<ReceiptsOutcome, ServiceError> {
        require_role(actor, &[Role::Clerk, Role::Employer])?;
        check_employer_access(actor, id)?;
        if receipts.is_empty() || receipts.len() > RECEIPTS_PER_REQUEST_MAX {
            return Err(ServiceError::invalid(
                "invalid_receipts",
                format!("send 1-{RECEIPTS_PER_REQUEST_MAX} receipts"),
            ));
        }
        let now = self.clock.now();
        let today = business_date(now);
        let mut parsed = Vec::with_capacity(receipts.len());
        for r in &receipts {
            let (month, amount, paid_on, reference) = parse_payment(r, today)?;
            let reference = reference.ok_or_else(|| {
                ServiceError::invalid("invalid_receipt_no", "each receipt needs its receipt_no")
            })?;
            parsed.push((month, amount, paid_on, reference));
        }
        let (id, policy, actor) = (id.to_owned(), self.policy.clone(), actor.clone());
        self.db
            .write(move |tx| {
                let employer = load_employer(tx, &id, Lock::ForUpdate)?;
                roll_forward(tx, &policy, &employer, today)?;
                let mut months = tx.employer_months(&employer.id)?;
                let plain: Vec<EmployerMonth> = months.iter().map(|m| m.month.clone()).collect();
                let locked_before = unit_lock(&plain, today).is_some();
                let mut recorded = 0;
                for (month, amount, paid_on, reference) in parsed {
                    let receipt = PaymentRecord {
                        seq: None,
                        employer_id: employer.id.clone(),
                        month,
                        amount,
                        paid_on,
                        source: PaymentSource::Receipt,
                        reference: Some(reference.clone()),
                        recorded_at: now,
                    };
                    if record_payment(tx, &mut months, receipt)? {
                        recorded += 1;
                    }
                }
                if recorded > 0 {
                    Audit::new(AuditAction::EmployerTaxReceipts)
                        .detail(format!(
                            "employer {}: {recorded} receipts recorded",
                            employer.id
                        ))
                        .record(tx, &actor, now)?;
                }
                let plain: Vec<EmployerMonth> = months.iter().map(|m| m.month.clone()).collect();
                let decision = unlock(&plain, today, policy.contribution.unlock_receipt_months);
                let missing_months = match decision {
                    // Receipts dated by the due day show the months were paid on time: no lock
                    // stands for them any more (R-EM-4).
                    Unlock::NotLocked => Vec::new(),
                    Unlock::Missing { months } => months,
                    Unlock::Lifted { cleared } => {
                        for record in months
                            .iter_mut()
                            .filter(|m| cleared.contains(&m.month.month))
                        {
                            record.month.cleared_at = Some(now);
                            tx.put_employer_month(record)?;
                        }
                        Vec::new()
                    }
                };
                let lifted = locked_before && missing_months.is_empty();
                if lifted {
                    Audit::new(AuditAction::EmployerUnitLockLift)
                        .detail(format!(
                            "employer {}: unit lock lifted on tax receipts",
                            employer.id
                        ))
                        .record(tx, &actor, now)?;
                }
                Ok(ReceiptsOutcome {
                    view: view(employer, months, today),
                    recorded,
                    lifted,
                    missing_months,
                })
            })
            .await
    }

    /// The `monthly-deadline` job: rolls every employer's months forward (assessing the new
    /// month for everyone insured, D-8) and writes each unit lock that has fallen to the audit
    /// trail once (R-EM-2). Idempotent: a second run finds nothing to do. One employer per
    /// transaction.
    pub async fn run_monthly_deadline(
        &self,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<DeadlineSummary, ServiceError> {
        let now = self.clock.now();
        let today = business_date(now);
        let mut summary = DeadlineSummary::default();
        let mut after = String::new();
        loop {
            let page = self
                .db
                .read({
                    let after = after.clone();
                    move |tx| Ok(tx.employers_after(&after, 500)?)
                })
                .await?;
            let Some(last) = page.last() else { break };
            after = last.id.clone();
            for employer in page {
                let policy = self.policy.clone();
                let step = self
                    .db
                    .write(move |tx| deadline_step(tx, &policy, &employer.id, now, today))
                    .await?;
                summary.employers += 1;
                summary.months_assessed += step.months_assessed;
                summary.people_assessed += step.people_assessed;
                summary.newly_locked += step.newly_locked;
                summary.locked += step.locked;
                progress(summary.employers);
            }
        }
        Ok(summary)
    }
}

fn deadline_step(
    tx: &mut dyn Tx,
    policy: &Policy,
    employer_id: &str,
    now: Timestamp,
    today: Date,
) -> Result<DeadlineSummary, ServiceError> {
    let employer = load_employer(tx, employer_id, Lock::ForUpdate)?;
    let (months_assessed, people_assessed) = roll_forward(tx, policy, &employer, today)?;
    let mut months = tx.employer_months(&employer.id)?;
    let mut newly = Vec::new();
    for record in months.iter_mut() {
        if record.month.locks(today) && record.lock_noted_at.is_none() {
            record.lock_noted_at = Some(now);
            tx.put_employer_month(record)?;
            newly.push(record.month.month.to_string());
        }
    }
    if !newly.is_empty() {
        Audit::new(AuditAction::EmployerUnitLock)
            .detail(format!(
                "employer {}: not paid in full by the due day for {}; unit lock on its insured people's cards",
                employer.id,
                newly.join(", ")
            ))
            .record(tx, &crate::model::operator(now), now)?;
    }
    let plain: Vec<EmployerMonth> = months.iter().map(|m| m.month.clone()).collect();
    Ok(DeadlineSummary {
        employers: 1,
        months_assessed,
        people_assessed,
        newly_locked: u64::from(!newly.is_empty()),
        locked: u64::from(unit_lock(&plain, today).is_some()),
    })
}
