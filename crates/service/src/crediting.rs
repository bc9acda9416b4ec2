//! The `crediting` job (R-EM-4, R-CR-1, R-CR-2): credits every personal account whose month's
//! payment data has come back from the tax bureau, exactly once.
//!
//! Two phases, both safe to repeat and to interrupt:
//! 1. For each month whose tax-bureau payments cover its assessment, find the day its data
//!    arrives: the payment that completed the month, plus the policy's working days (45,
//!    R-EM-4; D-3 counting). From that day the month may be credited.
//! 2. Credit the arrived months' assessments in bounded batches, one transaction per batch
//!    (never one giant transaction, never one per row). Each assessment is marked in the same
//!    transaction as its card's balance and ledger row, so a crash or a second run never
//!    credits twice; a person without a usable card yet is credited on a later run.

use crate::Service;
use crate::error::ServiceError;
use crate::model::{EmployerMonthRecord, PaymentSource};
use crate::store::MonthCursor;
use jiff::civil::Date;
use shebao_domain::Fen;
use shebao_domain::time::business_date;

/// Assessments credited per transaction by default (STYLE 17).
pub const CREDIT_BATCH_ROWS_DEFAULT: u32 = 20_000;
/// Months examined per statement.
const MONTH_PAGE_ROWS_MAX: u32 = 10_000;

#[derive(Debug, Clone, Default)]
pub struct CreditingSummary {
    /// Months whose payment data arrived in this run.
    pub months_arrived: u64,
    /// Months still waiting for the data (paid, but fewer than N working days ago).
    pub months_waiting: u64,
    /// Months whose arrival day cannot be counted: the calendar lacks a year.
    pub months_without_calendar: u64,
    pub months_credited: u64,
    pub accounts_credited: u64,
    pub amount: Fen,
    pub waiting_for_card: u64,
    /// D-14: cards whose credit would have passed the balance ceiling: not credited this run.
    pub over_ceiling: Vec<String>,
    pub batches: u64,
}

impl Service {
    /// Runs the crediting job; `progress` hears the number of accounts credited so far.
    pub async fn run_crediting(
        &self,
        batch_rows: u32,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<CreditingSummary, ServiceError> {
        self.run_crediting_paged(batch_rows, MONTH_PAGE_ROWS_MAX, progress)
            .await
    }

    /// The same, reading `page_months` employer-months per statement (the tests use tiny
    /// pages to prove every page is read).
    pub async fn run_crediting_paged(
        &self,
        batch_rows: u32,
        page_months: u32,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<CreditingSummary, ServiceError> {
        let batch_rows = batch_rows.clamp(1, 100_000);
        let page_months = page_months.max(1);
        let now = self.clock.now();
        let today = business_date(now);
        let mut summary = CreditingSummary::default();

        // Phase 1: when does each paid month's data arrive? Page by page, however many
        // employers the city has.
        let mut page_after = MonthCursor::default();
        loop {
            let from = page_after.clone();
            let awaiting = self
                .db
                .read(move |tx| Ok(tx.months_awaiting_data(&from, page_months)?))
                .await?;
            let Some(last) = awaiting.last() else { break };
            page_after = MonthCursor {
                employer_id: last.employer_id.clone(),
                month: last.month.month.to_string(),
            };
            let full = awaiting.len() >= page_months as usize;
            self.note_arrivals(awaiting, today, &mut summary).await?;
            if !full {
                break;
            }
        }

        // Phase 2: credit the arrived months, `batch_rows` accounts per transaction. A small
        // month (one employer's people) shares its transaction with the next ones; a large one
        // spans several. A month whose every assessment is credited is marked in the same
        // transaction as its last credits.
        let mut page_after = MonthCursor::default();
        loop {
            let from = page_after.clone();
            let months = self
                .db
                .read(move |tx| Ok(tx.months_to_credit(&from, page_months)?))
                .await?;
            let Some(last) = months.last() else { break };
            page_after = MonthCursor {
                employer_id: last.employer_id.clone(),
                month: last.month.month.to_string(),
            };
            let full = months.len() >= page_months as usize;
            self.credit_months(&months, batch_rows, now, &mut summary, progress)
                .await?;
            if !full {
                break;
            }
        }
        Ok(summary)
    }

    /// Phase 1 for one page of months.
    async fn note_arrivals(
        &self,
        awaiting: Vec<EmployerMonthRecord>,
        today: Date,
        summary: &mut CreditingSummary,
    ) -> Result<(), ServiceError> {
        for record in awaiting {
            match self.data_arrival(&record).await {
                Ok(Some(arrives)) if arrives <= today => {
                    let mut record = record;
                    record.data_arrived_on = Some(arrives);
                    self.db
                        .write(move |tx| Ok(tx.put_employer_month(&record)?))
                        .await?;
                    summary.months_arrived += 1;
                }
                Ok(_) => summary.months_waiting += 1,
                Err(ServiceError::Conflict {
                    code: "calendar_missing",
                    ..
                }) => summary.months_without_calendar += 1,
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Phase 2 for one page of months.
    async fn credit_months(
        &self,
        months: &[EmployerMonthRecord],
        batch_rows: u32,
        now: jiff::Timestamp,
        summary: &mut CreditingSummary,
        progress: &(dyn Fn(u64) + Send + Sync),
    ) -> Result<(), ServiceError> {
        let mut position = Position::default();
        while position.index < months.len() {
            let todo: Vec<EmployerMonthRecord> = months[position.index..]
                .iter()
                .take(MONTHS_PER_BATCH_MAX)
                .cloned()
                .collect();
            let claim = crate::keys::random_bytes::<12>()
                .map(|b| b.iter().map(|x| format!("{x:02x}")).collect::<String>())
                .map_err(|e| ServiceError::Internal(e.to_string()))?;
            let from = position.clone();
            let balance_max = self.policy.limits.balance_max;
            let (done, next) = self
                .db
                .write(move |tx| {
                    credit_batch(tx, &todo, from, batch_rows, &claim, now, balance_max)
                })
                .await?;
            summary.batches += 1;
            summary.accounts_credited += done.rows;
            summary.amount = summary.amount.checked_add(done.amount).ok_or_else(|| {
                ServiceError::Internal("the crediting total overflows 64 bits".into())
            })?;
            summary.waiting_for_card += done.waiting_for_card;
            summary.over_ceiling.extend(done.over_ceiling);
            summary.months_credited += done.months_credited;
            progress(summary.accounts_credited);
            position = Position {
                index: position.index + next.index,
                ..next
            };
        }
        Ok(())
    }

    /// R-EM-4: the day a month's payment data reaches the bureau — the tax-bureau payment
    /// that completed the month plus the policy's working days. A month assessed at zero
    /// (retirees only) needs no payment: its data is due with the due day's.
    async fn data_arrival(
        &self,
        record: &EmployerMonthRecord,
    ) -> Result<Option<Date>, ServiceError> {
        let (employer_id, month) = (record.employer_id.clone(), record.month.month);
        let payments = self
            .db
            .read(move |tx| Ok(tx.payments_of(&employer_id, month)?))
            .await?;
        let mut paid = Fen::ZERO;
        let mut completed_on = None;
        if record.month.assessed.0 == 0 {
            completed_on = Some(record.month.due_on);
        }
        for p in payments
            .iter()
            .filter(|p| p.source == PaymentSource::TaxBureau)
        {
            if completed_on.is_some() {
                break;
            }
            paid = paid.checked_add(p.amount).ok_or_else(|| {
                ServiceError::Internal("a month's payments overflow 64 bits".into())
            })?;
            if paid >= record.month.assessed {
                completed_on = Some(p.paid_on);
            }
        }
        match completed_on {
            None => Ok(None),
            Some(day) => Ok(Some(
                self.add_working_days(day, self.policy.contribution.tax_data_working_days)
                    .await?,
            )),
        }
    }
}

/// Months handed to one transaction at most.
const MONTHS_PER_BATCH_MAX: usize = 1_000;

/// Where crediting stands: the month (index into the list) and the last ID number done in it,
/// with the people of that month still waiting for a card so far.
#[derive(Debug, Clone, Default)]
struct Position {
    index: usize,
    after: String,
    month_waiting: u64,
}

#[derive(Debug, Clone, Default)]
struct BatchDone {
    rows: u64,
    amount: Fen,
    waiting_for_card: u64,
    over_ceiling: Vec<String>,
    months_credited: u64,
}

/// One transaction: credits up to `batch_rows` accounts from `months`, starting at `from`
/// (whose `index` is relative to `months`). Returns what it did and where the next one starts
/// (relative as well).
fn credit_batch(
    tx: &mut dyn crate::store::Tx,
    months: &[EmployerMonthRecord],
    from: Position,
    batch_rows: u32,
    claim: &str,
    now: jiff::Timestamp,
    balance_max: Fen,
) -> Result<(BatchDone, Position), ServiceError> {
    let mut done = BatchDone::default();
    let mut position = Position { index: 0, ..from };
    let mut remaining = u64::from(batch_rows);
    while position.index < months.len() && remaining > 0 {
        let record = &months[position.index];
        let limit = u32::try_from(remaining).unwrap_or(u32::MAX);
        let (batch, last) = tx.credit_assessments(
            &record.employer_id,
            record.month.month,
            &position.after,
            limit,
            claim,
            now,
            balance_max,
        )?;
        let skipped = batch.waiting_for_card + batch.over_ceiling.len() as u64;
        done.rows += batch.rows;
        done.amount = done
            .amount
            .checked_add(batch.amount)
            .ok_or_else(|| ServiceError::Internal("a crediting batch overflows 64 bits".into()))?;
        done.waiting_for_card += batch.waiting_for_card;
        done.over_ceiling.extend(batch.over_ceiling);
        // A month with a credit left due (no card yet, or the ceiling) is not done yet.
        position.month_waiting += skipped;
        remaining = remaining.saturating_sub(batch.rows + skipped);
        match last {
            // The page was full: the month may go on in the next transaction.
            Some(last) => {
                position.after = last;
                break;
            }
            None => {
                if position.month_waiting == 0 {
                    let mut record = record.clone();
                    record.credited_at = Some(now);
                    tx.put_employer_month(&record)?;
                    done.months_credited += 1;
                }
                position = Position {
                    index: position.index + 1,
                    after: String::new(),
                    month_waiting: 0,
                };
            }
        }
    }
    Ok((done, position))
}
