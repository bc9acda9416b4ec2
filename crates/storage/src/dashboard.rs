//! The console dashboard's reads (issue 5): counts and short lists, each one statement.

use crate::common::*;
use crate::sql::{SqlConn, Value};
use jiff::Timestamp;
use jiff::civil::Date;
use shebao_domain::card::LossKind;
use shebao_service::model::{AuditAction, Outcome};
use shebao_service::store::*;

impl<C: SqlConn> Dashboard for SqlTx<'_, C> {
    // --- console and dashboard (issue 5) ---
    fn lock_counts(&mut self, now: Timestamp) -> Result<shebao_service::LockCounts, StoreError> {
        // One statement per figure keeps each one plain SQL on both engines.
        let count =
            |conn: &mut C, sql: &'static str, params: &[Value<'_>]| -> Result<u64, StoreError> {
                let rows = conn.query(sql, params)?;
                let n = rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
                u64::try_from(n).map_err(|_| corrupt("negative count"))
            };
        let mut counts = shebao_service::LockCounts {
            ss_password: count(
                self.0,
                concat!(
                    "SELECT COUNT(*) FROM cards WHERE ",
                    current_card!("cards"),
                    " AND ss_locked_at IS NOT NULL"
                ),
                &[],
            )?,
            fin_password: count(
                self.0,
                concat!(
                    "SELECT COUNT(*) FROM cards WHERE ",
                    current_card!("cards"),
                    " AND fin_locked_until > $1"
                ),
                &[now.into()],
            )?,
            replacements_waiting: count(
                self.0,
                concat!(
                    "SELECT COUNT(*) FROM cards WHERE repl_ready_on IS NOT NULL AND repl_collected_at IS NULL AND ",
                    current_card!("cards")
                ),
                &[],
            )?,
            ..Default::default()
        };
        // A pre-loss past its lapse instant no longer holds even if no request settled it yet.
        let rows = self.0.query(
            concat!(
                "SELECT loss_kind, COUNT(*) FROM cards WHERE ",
                current_card!("cards"),
                " AND loss_kind IS NOT NULL AND (loss_lapses_at IS NULL OR loss_lapses_at > $1) GROUP BY loss_kind"
            ),
            &[now.into()],
        )?;
        for row in &rows {
            let n = u64::try_from(row.int(1)?).map_err(|_| corrupt("negative count"))?;
            match LossKind::parse(row.str(0)?) {
                Some(LossKind::Pre) => counts.pre_loss = n,
                Some(LossKind::Temporary) => counts.temporary_loss = n,
                Some(LossKind::Formal) => counts.formal_loss = n,
                None => return Err(corrupt("stored loss kind")),
            }
        }
        Ok(counts)
    }

    fn pre_losses_lapsing(
        &mut self,
        now: Timestamp,
        until: Timestamp,
        limit: u32,
    ) -> Result<Vec<shebao_service::LapsingPreLoss>, StoreError> {
        let rows = self.0.query(
            concat!(
                "SELECT card_no, loss_lapses_at FROM cards WHERE ",
                current_card!("cards"),
                " AND loss_kind = $4 AND loss_lapses_at > $1 AND loss_lapses_at <= $2 ORDER BY loss_lapses_at, card_no LIMIT $3"
            ),
            &[now.into(), until.into(), i64::from(limit).into(), LossKind::Pre.as_str().into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(shebao_service::LapsingPreLoss {
                    card_no: r.text(0)?,
                    lapses_at: r.time(1)?,
                })
            })
            .collect()
    }

    fn replacements_uncollected(
        &mut self,
        limit: u32,
    ) -> Result<Vec<shebao_service::ReplacementDue>, StoreError> {
        let rows = self.0.query(
            concat!(
                "SELECT card_no, repl_ready_on FROM cards WHERE repl_ready_on IS NOT NULL AND repl_collected_at IS NULL AND ",
                current_card!("cards"),
                " ORDER BY repl_ready_on, card_no LIMIT $1"
            ),
            &[i64::from(limit).into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(shebao_service::ReplacementDue {
                    card_no: r.text(0)?,
                    ready_on: r
                        .text(1)?
                        .parse()
                        .map_err(|_| corrupt("stored ready date"))?,
                })
            })
            .collect()
    }

    fn lock_events_by_day(&mut self, since: Timestamp) -> Result<Vec<LockEventCount>, StoreError> {
        // Shanghai is UTC+8 without daylight saving: the day number is integer arithmetic on the
        // stored microseconds, the same on both engines.
        let rows = self.0.query(
            "SELECT (at + 28800000000) / 86400000000, action, COUNT(*) FROM audit \
             WHERE at >= $1 AND (outcome = $2 OR (action = $3 AND outcome = $4)) \
             GROUP BY (at + 28800000000) / 86400000000, action ORDER BY 1",
            &[
                since.into(),
                Outcome::Locked.as_str().into(),
                AuditAction::CardLossReport.as_str().into(),
                Outcome::Ok.as_str().into(),
            ],
        )?;
        rows.iter()
            .map(|r| {
                Ok(LockEventCount {
                    day_number: r.int(0)?,
                    action: vocabulary(r.str(1)?, AuditAction::parse, "audit action")?,
                    count: u64::try_from(r.int(2)?).map_err(|_| corrupt("negative count"))?,
                })
            })
            .collect()
    }

    fn unit_locked_employers(
        &mut self,
        today: Date,
        limit: u32,
    ) -> Result<shebao_service::UnitLocks, StoreError> {
        // `EmployerMonth::locks` in SQL (`month_locks!`, the one statement of it).
        let rows = self.0.query(
            concat!(
                "SELECT COUNT(DISTINCT employer_id) FROM employer_months WHERE ",
                month_locks!("employer_months", "$1")
            ),
            &[today.into()],
        )?;
        let count = rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
        let rows = self.0.query(
            concat!(
                "SELECT m.employer_id, e.name, MIN(m.lock_from) FROM employer_months m \
                 JOIN employers e ON e.id = m.employer_id WHERE ",
                month_locks!("m", "$1"),
                " GROUP BY m.employer_id, e.name ORDER BY 3, 1 LIMIT $2"
            ),
            &[today.into(), i64::from(limit).into()],
        )?;
        Ok(shebao_service::UnitLocks {
            count: u64::try_from(count).map_err(|_| corrupt("negative count"))?,
            employers: rows
                .iter()
                .map(|r| {
                    Ok(shebao_service::UnitLockedEmployer {
                        employer_id: r.text(0)?,
                        name: r.text(1)?,
                        since: r.date(2)?,
                    })
                })
                .collect::<Result<_, StoreError>>()?,
        })
    }
}
