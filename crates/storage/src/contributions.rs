//! Employers' months, the assessments crediting applies, and payments (R-EM-1..4, R-CR-1,
//! D-9, D-15): one set of statements for both engines (`$n` placeholders).

use crate::common::SqlTx;
use crate::sql::{Row, SqlConn, Value};
use jiff::Timestamp;
use jiff::civil::Date;
use shebao_domain::{Assessment, EmployerMonth, Fen, IdNumber, Month, PersonKind};
use shebao_service::model::{
    AssessmentRecord, CreditBatch, EmployerMonthRecord, LedgerKind, PaymentRecord, PaymentSource,
};
use shebao_service::store::{EmployerMonths, MonthCursor, Payments, StoreError};

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

macro_rules! month_select {
    ($tail:literal) => {
        concat!(
            "SELECT employer_id, month, assessed_fen, due_on, paid_fen, paid_on_time_fen, tax_paid_fen, ",
            "cleared_at, data_arrived_on, credited_at, lock_noted_at, owed_fen FROM employer_months ",
            $tail
        )
    };
}

fn month_from(r: &Row) -> Result<EmployerMonthRecord, StoreError> {
    Ok(EmployerMonthRecord {
        employer_id: r.text(0)?,
        month: EmployerMonth {
            month: r.month(1)?,
            assessed: r.fen(2)?,
            owed_by_due: r.fen(11)?,
            due_on: r.date(3)?,
            paid: r.fen(4)?,
            paid_on_time: r.fen(5)?,
            tax_paid: r.fen(6)?,
            cleared_at: r.opt_time(7)?,
        },
        data_arrived_on: r.opt_date(8)?,
        credited_at: r.opt_time(9)?,
        lock_noted_at: r.opt_time(10)?,
    })
}

macro_rules! assessment_select {
    ($tail:literal) => {
        concat!(
            "SELECT employer_id, month, id_number, kind, base_fen, contribution_fen, employee_part_fen, credit_fen, ",
            "rule_set, credited_at, credited_card_no FROM assessments ",
            $tail
        )
    };
}

fn assessment_from(r: &Row) -> Result<AssessmentRecord, StoreError> {
    Ok(AssessmentRecord {
        employer_id: r.text(0)?,
        month: r.month(1)?,
        id_number: r.id_number(2)?,
        kind: PersonKind::parse(r.str(3)?).ok_or_else(|| corrupt("assessment kind"))?,
        base: r.opt_int(4)?.map(Fen),
        assessment: Assessment {
            contribution: r.fen(5)?,
            employee_part: r.fen(6)?,
            credit: r.fen(7)?,
        },
        rule_set: r.text(8)?,
        credited_at: r.opt_time(9)?,
        credited_card_no: r.opt_card_no(10)?,
    })
}

fn payment_from(r: &Row) -> Result<PaymentRecord, StoreError> {
    Ok(PaymentRecord {
        seq: r.opt_int(0)?,
        employer_id: r.text(1)?,
        month: r.month(2)?,
        amount: r.fen(3)?,
        paid_on: r.date(4)?,
        source: PaymentSource::parse(r.str(5)?).ok_or_else(|| corrupt("payment source"))?,
        reference: r.opt_text(6)?,
        recorded_at: r.time(7)?,
    })
}

impl<C: SqlConn> EmployerMonths for SqlTx<'_, C> {
    fn employer_months(
        &mut self,
        employer_id: &str,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError> {
        let c = &mut *self.0;
        let rows = c.query(
            month_select!("WHERE employer_id = $1 ORDER BY month"),
            &[employer_id.into()],
        )?;
        rows.iter().map(month_from).collect()
    }

    fn lock_check_months(
        &mut self,
        employer_id: &str,
        today: Date,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError> {
        let c = &mut *self.0;
        let rows = c.query(
            concat!(
                month_select!(
                    "WHERE employer_id = $1 AND (month = (SELECT max(m.month) FROM employer_months m WHERE m.employer_id = $1) OR ("
                ),
                month_locks!("employer_months", "$2"),
                ")) ORDER BY month"
            ),
            &[employer_id.into(), today.into()],
        )?;
        rows.iter().map(month_from).collect()
    }

    fn put_employer_month(&mut self, r: &EmployerMonthRecord) -> Result<(), StoreError> {
        let c = &mut *self.0;
        let m = &r.month;
        c.exec(
            "INSERT INTO employer_months (employer_id, month, assessed_fen, due_on, lock_from, paid_fen, paid_on_time_fen, \
             tax_paid_fen, cleared_at, data_arrived_on, credited_at, lock_noted_at, owed_fen) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (employer_id, month) DO UPDATE SET assessed_fen = excluded.assessed_fen, due_on = excluded.due_on, \
             lock_from = excluded.lock_from, paid_fen = excluded.paid_fen, paid_on_time_fen = excluded.paid_on_time_fen, \
             tax_paid_fen = excluded.tax_paid_fen, cleared_at = excluded.cleared_at, data_arrived_on = excluded.data_arrived_on, \
             credited_at = excluded.credited_at, lock_noted_at = excluded.lock_noted_at, owed_fen = excluded.owed_fen",
            &[
                r.employer_id.as_str().into(),
                m.month.into(),
                m.assessed.into(),
                m.due_on.into(),
                m.lock_from().into(),
                m.paid.into(),
                m.paid_on_time.into(),
                m.tax_paid.into(),
                m.cleared_at.into(),
                r.data_arrived_on.into(),
                r.credited_at.into(),
                r.lock_noted_at.into(),
                m.owed_by_due.into(),
            ],
        )?;
        Ok(())
    }

    fn months_awaiting_data(
        &mut self,
        after: &MonthCursor,
        limit: u32,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError> {
        let c = &mut *self.0;
        let rows = c.query(
            month_select!(
                "WHERE data_arrived_on IS NULL AND tax_paid_fen >= assessed_fen \
                 AND (employer_id > $1 OR (employer_id = $1 AND month > $2)) ORDER BY employer_id, month LIMIT $3"
            ),
            &[
                after.employer_id.as_str().into(),
                after.month.as_str().into(),
                i64::from(limit).into(),
            ],
        )?;
        rows.iter().map(month_from).collect()
    }

    fn months_to_credit(
        &mut self,
        after: &MonthCursor,
        limit: u32,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError> {
        let c = &mut *self.0;
        let rows = c.query(
            month_select!(
                "WHERE credited_at IS NULL AND data_arrived_on IS NOT NULL \
                 AND (employer_id > $1 OR (employer_id = $1 AND month > $2)) ORDER BY employer_id, month LIMIT $3"
            ),
            &[
                after.employer_id.as_str().into(),
                after.month.as_str().into(),
                i64::from(limit).into(),
            ],
        )?;
        rows.iter().map(month_from).collect()
    }

    fn insert_assessment(&mut self, a: &AssessmentRecord) -> Result<(), StoreError> {
        let c = &mut *self.0;
        c.exec(
            "INSERT INTO assessments (employer_id, month, id_number, kind, base_fen, contribution_fen, employee_part_fen, \
             credit_fen, rule_set, credited_at, credited_card_no) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
            &[
                a.employer_id.as_str().into(),
                a.month.into(),
                a.id_number.as_str().into(),
                a.kind.as_str().into(),
                a.base.into(),
                a.assessment.contribution.into(),
                a.assessment.employee_part.into(),
                a.assessment.credit.into(),
                a.rule_set.as_str().into(),
                a.credited_at.into(),
                a.credited_card_no.as_ref().into(),
            ],
        )?;
        Ok(())
    }

    fn assessments_of(&mut self, id: &IdNumber) -> Result<Vec<AssessmentRecord>, StoreError> {
        let c = &mut *self.0;
        let rows = c.query(
            assessment_select!("WHERE id_number = $1 ORDER BY month, employer_id"),
            &[id.as_str().into()],
        )?;
        rows.iter().map(assessment_from).collect()
    }

    /// R-CR-1, R-EM-4: applies up to `limit` credits of one month with set-based statements:
    /// one `UPDATE … WHERE credited_at IS NULL` claims the range's uncredited assessments under a
    /// fresh claim id and marks each credited to its holder's current card (a concurrent run on
    /// another server waits on these rows and then finds them credited), one `UPDATE … FROM` adds
    /// every credit of the claim to its card, and one `INSERT … SELECT` appends the ledger rows
    /// with the balances after — all in the caller's transaction, so a crash leaves a batch
    /// wholly done or not at all. People without a usable card are left for a later run.
    ///
    /// D-14: a credit that would take its card above `balance_max` is not made: the claim leaves
    /// that row due (named in the batch, and tried again on the next run), so the addition in
    /// SQL can never pass the ceiling, let alone overflow 64 bits.
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
    ) -> Result<(CreditBatch, Option<String>), StoreError> {
        let c = &mut *self.0;
        // The range: up to `limit` uncredited rows after `after`.
        let bound = c.query(
            "SELECT id_number FROM assessments WHERE employer_id = $1 AND month = $2 AND credited_at IS NULL \
             AND id_number > $3 ORDER BY id_number LIMIT 1 OFFSET $4",
            &[
                employer_id.into(),
                month.into(),
                after.into(),
                i64::from(limit.max(1) - 1).into(),
            ],
        )?;
        let upto = match bound.first() {
            Some(r) => Some(r.text(0)?),
            None => None,
        };
        // Beyond any ID number ('~' sorts after digits and 'X').
        let upper = upto.clone().unwrap_or_else(|| "~".to_owned());
        let range: [Value; 4] = [
            employer_id.into(),
            month.into(),
            after.into(),
            upper.as_str().into(),
        ];
        // One pass claims the range, finds each holder's current card (one lookup per row) and
        // marks the row credited to it, unless D-14 forbids: a credit that would take the card
        // above the ceiling leaves the row as it was but for the claim (it stays due, and is
        // tried again on the next run). `$7 - credit_fen` cannot overflow: the ceiling is at
        // most 10^12 and credits are positive. A row whose holder has no usable card stays due
        // the same way.
        c.exec(
            concat!(
                "UPDATE assessments SET credit_claim = $5, (credited_card_no, credited_at) = \
                 (SELECT CASE WHEN assessments.credit_fen <= 0 OR c.balance_fen <= $7 - assessments.credit_fen \
                 THEN c.card_no END, CASE WHEN assessments.credit_fen <= 0 OR c.balance_fen <= $7 - assessments.credit_fen \
                 THEN CAST($6 AS BIGINT) END FROM cards c WHERE c.id_number = assessments.id_number AND ",
                current_card!("c"),
                " ORDER BY c.issued_at DESC LIMIT 1) \
                 WHERE employer_id = $1 AND month = $2 AND id_number > $3 AND id_number <= $4 AND credited_at IS NULL"
            ),
            &[
                range[0].clone(),
                range[1].clone(),
                range[2].clone(),
                range[3].clone(),
                claim.into(),
                at.into(),
                balance_max.into(),
            ],
        )?;
        let claimed_range: [Value; 5] = [
            range[0].clone(),
            range[1].clone(),
            range[2].clone(),
            range[3].clone(),
            claim.into(),
        ];
        // What the claim left due: the holder's current card where the ceiling kept the credit
        // back (D-14: named in the batch), none where the holder has no usable card yet.
        let left = c.query(
            concat!(
                "SELECT (SELECT CASE WHEN a.credit_fen > 0 AND c.balance_fen > $6 - a.credit_fen THEN c.card_no END \
                 FROM cards c WHERE c.id_number = a.id_number AND ",
                current_card!("c"),
                " ORDER BY c.issued_at DESC LIMIT 1) FROM assessments a \
                 WHERE a.employer_id = $1 AND a.month = $2 AND a.id_number > $3 AND a.id_number <= $4 \
                 AND a.credit_claim = $5 AND a.credited_at IS NULL ORDER BY a.id_number"
            ),
            &[
                claimed_range[0].clone(),
                claimed_range[1].clone(),
                claimed_range[2].clone(),
                claimed_range[3].clone(),
                claimed_range[4].clone(),
                balance_max.into(),
            ],
        )?;
        let mut over_ceiling = Vec::new();
        let mut waiting = 0u64;
        for row in &left {
            match row.opt_text(0)? {
                Some(card_no) => over_ceiling.push(card_no),
                None => waiting += 1,
            }
        }
        let tally = c.query(
            "SELECT count(*), CAST(coalesce(sum(credit_fen), 0) AS BIGINT) FROM assessments \
             WHERE employer_id = $1 AND month = $2 AND id_number > $3 AND id_number <= $4 \
             AND credit_claim = $5 AND credited_at IS NOT NULL",
            &claimed_range,
        )?;
        let (claimed, amount) = match tally.first() {
            Some(r) => (u64::try_from(r.int(0)?).unwrap_or(0), Fen(r.int(1)?)),
            None => (0, Fen::ZERO),
        };
        let batch = CreditBatch {
            rows: claimed,
            amount,
            waiting_for_card: waiting,
            over_ceiling,
        };
        if claimed > 0 {
            c.exec(
                "UPDATE cards SET balance_fen = cards.balance_fen + a.credit_fen FROM assessments a \
                 WHERE a.employer_id = $1 AND a.month = $2 AND a.id_number > $3 AND a.id_number <= $4 \
                 AND a.credit_claim = $5 AND a.credit_fen > 0 AND a.credited_at IS NOT NULL \
                 AND cards.card_no = a.credited_card_no",
                &claimed_range,
            )?;
            let reference = format!("{employer_id}/{month}");
            c.exec(
                "INSERT INTO ledger (card_no, id_number, at, kind, amount_fen, balance_after_fen, reference) \
                 SELECT a.credited_card_no, a.id_number, CAST($6 AS BIGINT), CAST($8 AS TEXT), a.credit_fen, c.balance_fen, CAST($7 AS TEXT) \
                 FROM assessments a JOIN cards c ON c.card_no = a.credited_card_no \
                 WHERE a.employer_id = $1 AND a.month = $2 AND a.id_number > $3 AND a.id_number <= $4 \
                 AND a.credit_claim = $5 AND a.credit_fen > 0 AND a.credited_at IS NOT NULL ORDER BY a.id_number",
                &[
                    claimed_range[0].clone(),
                    claimed_range[1].clone(),
                    claimed_range[2].clone(),
                    claimed_range[3].clone(),
                    claimed_range[4].clone(),
                    at.into(),
                    reference.as_str().into(),
                    LedgerKind::ContributionCredit.as_str().into(),
                ],
            )?;
        }
        Ok((batch, upto))
    }
}

impl<C: SqlConn> Payments for SqlTx<'_, C> {
    fn insert_payment(&mut self, p: &PaymentRecord) -> Result<(), StoreError> {
        let c = &mut *self.0;
        c.exec(
            "INSERT INTO payments (id, employer_id, month, amount_fen, paid_on, source, reference, recorded_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                p.seq.into(),
                p.employer_id.as_str().into(),
                p.month.into(),
                p.amount.into(),
                p.paid_on.into(),
                p.source.as_str().into(),
                p.reference.as_deref().into(),
                p.recorded_at.into(),
            ],
        )?;
        Ok(())
    }

    fn payment_by_reference(
        &mut self,
        employer_id: &str,
        source: PaymentSource,
        reference: &str,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        let c = &mut *self.0;
        const SQL: &str = concat!(
            "SELECT id, employer_id, month, amount_fen, paid_on, source, reference, recorded_at FROM payments ",
            "WHERE employer_id = $1 AND source = $2 AND reference = $3"
        );
        c.query(
            SQL,
            &[employer_id.into(), source.as_str().into(), reference.into()],
        )?
        .first()
        .map(payment_from)
        .transpose()
    }

    fn payments_of(
        &mut self,
        employer_id: &str,
        month: Month,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        let c = &mut *self.0;
        const SQL: &str = concat!(
            "SELECT id, employer_id, month, amount_fen, paid_on, source, reference, recorded_at FROM payments ",
            "WHERE employer_id = $1 AND month = $2 ORDER BY paid_on, id"
        );
        c.query(SQL, &[employer_id.into(), month.into()])?
            .iter()
            .map(payment_from)
            .collect()
    }
}
