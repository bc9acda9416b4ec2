//! Settled purchases and visits (kept for idempotency, STYLE 11) and out-of-area filings (R-MS-3).

use crate::common::*;
use crate::sql::SqlConn;
use shebao_domain::{Fen, Filing, FilingKind, IdNumber, RegionCode, VisitKind};

/// The stored kind of a settled purchase (a visit's is `visit_<kind>`).
const PURCHASE: &str = "purchase";
use shebao_service::model::{FilingRecord, Settled, SettlementRecord};
use shebao_service::store::*;

impl<C: SqlConn> Settlements for SqlTx<'_, C> {
    fn settlement(
        &mut self,
        actor_id: &str,
        client_txn_id: &str,
    ) -> Result<Option<SettlementRecord>, StoreError> {
        let c = &mut *self.0;
        let rows = c.query(
            "SELECT actor_id, client_txn_id, kind, card_no, request, amount1_fen, amount2_fen, amount3_fen, at \
             FROM settlements WHERE actor_id = $1 AND client_txn_id = $2",
            &[actor_id.into(), client_txn_id.into()],
        )?;
        rows.first()
            .map(|r| {
                let kind = r.text(2)?;
                let (a, b, c) = (r.fen(5)?, r.fen(6)?, r.fen(7)?);
                let settled = match kind.strip_prefix("visit_") {
                    None if kind == PURCHASE => Settled::Purchase {
                        paid_from_account: a,
                        cash_due: b,
                        balance_after: c,
                    },
                    Some(visit) => Settled::Visit {
                        kind: VisitKind::parse(visit)
                            .ok_or_else(|| corrupt(format!("settlement kind {kind}")))?,
                        fund_pays: a,
                        holder_pays: b,
                    },
                    None => return Err(corrupt(format!("settlement kind {kind}"))),
                };
                Ok(SettlementRecord {
                    actor_id: r.text(0)?,
                    client_txn_id: r.text(1)?,
                    card_no: r.card_no(3)?,
                    request: r.text(4)?,
                    settled,
                    at: r.time(8)?,
                })
            })
            .transpose()
    }

    fn insert_settlement(&mut self, s: &SettlementRecord) -> Result<(), StoreError> {
        let c = &mut *self.0;
        // The kind column says which answer the three amounts make up.
        let (kind, a, b, c3) = match s.settled {
            Settled::Purchase {
                paid_from_account,
                cash_due,
                balance_after,
            } => (
                PURCHASE.to_owned(),
                paid_from_account,
                cash_due,
                balance_after,
            ),
            Settled::Visit {
                kind,
                fund_pays,
                holder_pays,
            } => (
                format!("visit_{}", kind.as_str()),
                fund_pays,
                holder_pays,
                Fen::ZERO,
            ),
        };
        c.exec(
            "INSERT INTO settlements (actor_id, client_txn_id, kind, card_no, request, amount1_fen, amount2_fen, amount3_fen, at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                s.actor_id.as_str().into(),
                s.client_txn_id.as_str().into(),
                kind.into(),
                s.card_no.as_str().into(),
                s.request.as_str().into(),
                a.into(),
                b.into(),
                c3.into(),
                s.at.into(),
            ],
        )?;
        Ok(())
    }

    fn insert_filing(&mut self, f: &FilingRecord) -> Result<(), StoreError> {
        let c = &mut *self.0;
        c.exec(
            "INSERT INTO filings (id, id_number, kind, region, filed_on, admitted_on, filed_at, actor_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                f.id.as_str().into(),
                f.id_number.as_str().into(),
                f.filing.kind.as_str().into(),
                f.filing.region.as_str().into(),
                f.filing.filed_on.into(),
                f.filing.admitted_on.into(),
                f.filed_at.into(),
                f.actor_id.as_str().into(),
            ],
        )?;
        Ok(())
    }

    fn filings_of(&mut self, id: &IdNumber) -> Result<Vec<FilingRecord>, StoreError> {
        let c = &mut *self.0;
        let rows = c.query(
            "SELECT id, id_number, kind, region, filed_on, admitted_on, filed_at, actor_id FROM filings \
             WHERE id_number = $1 ORDER BY filed_at, id",
            &[id.as_str().into()],
        )?;
        rows.iter()
            .map(|r| {
                Ok(FilingRecord {
                    id: r.text(0)?,
                    id_number: r.id_number(1)?,
                    filing: Filing {
                        kind: FilingKind::parse(r.str(2)?).ok_or_else(|| corrupt("filing kind"))?,
                        region: RegionCode::parse(r.str(3)?)
                            .ok_or_else(|| corrupt("filing region"))?,
                        filed_on: r.date(4)?,
                        admitted_on: r.opt_date(5)?,
                    },
                    filed_at: r.time(6)?,
                    actor_id: r.text(7)?,
                })
            })
            .collect()
    }
}
