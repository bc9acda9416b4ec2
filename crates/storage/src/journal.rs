//! The audit trail (R-PW-9) and the personal accounts' ledger (R-CR-2): append-only.

use crate::common::*;
use crate::sql::{Row, SqlConn, Value};
use shebao_domain::{Evidence, Fen, IdNumber};
use shebao_service::model::{
    AuditAction, AuditQuery, AuditRecord, Authorisation, LedgerEntry, LedgerKind, Outcome,
};
use shebao_service::store::*;

fn audit_from(row: &Row) -> Result<AuditRecord, StoreError> {
    let evidence = match row.opt_bool(9)? {
        None => None,
        Some(holder_present) => Some(Evidence {
            holder_present,
            holder_id_checked: row.bool(10)?,
            agent_id_number: row.opt_str(11)?.map(id_number).transpose()?,
            power_of_attorney: row.bool(12)?,
            employer_letter: row.bool(13)?,
            pickup_certificate: row.opt_bool(17)?.unwrap_or(false),
        }),
    };
    Ok(AuditRecord {
        seq: Some(row.int(0)?),
        at: row.time(1)?,
        actor_id: row.text(2)?,
        actor_role: role(row.str(3)?)?,
        actor_region: row.opt_text(4)?,
        channel: row.text(5)?,
        action: vocabulary(row.str(6)?, AuditAction::parse, "audit action")?,
        card_no: row.opt_card_no(7)?,
        id_number: row.opt_id_number(8)?,
        evidence,
        outcome: vocabulary(row.str(14)?, Outcome::parse, "audit outcome")?,
        authorised_by: row
            .opt_text(16)?
            .map(|t| vocabulary(&t, Authorisation::parse, "authorisation"))
            .transpose()?,
        detail: row.opt_text(15)?,
    })
}

fn ledger_from(row: &Row) -> Result<LedgerEntry, StoreError> {
    Ok(LedgerEntry {
        seq: Some(row.int(0)?),
        card_no: row.card_no(1)?,
        id_number: row.id_number(2)?,
        at: row.time(3)?,
        kind: vocabulary(row.str(4)?, LedgerKind::parse, "ledger kind")?,
        amount: Fen(row.int(5)?),
        balance_after: Fen(row.int(6)?),
        reference: row.opt_text(7)?,
    })
}

impl<C: SqlConn> AuditLog for SqlTx<'_, C> {
    fn append_audit(&mut self, a: &AuditRecord) -> Result<(), StoreError> {
        let ev = a.evidence.as_ref();
        self.0.exec(
            "INSERT INTO audit (at, actor_id, actor_role, actor_region, channel, action, card_no, id_number, ev_holder_present, \
             ev_holder_id_checked, ev_agent_id_number, ev_power_of_attorney, ev_employer_letter, outcome, detail, \
             authorised_by, ev_pickup_certificate) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)",
            &[
                a.at.into(),
                a.actor_id.as_str().into(),
                a.actor_role.as_str().into(),
                a.actor_region.as_deref().into(),
                a.channel.as_str().into(),
                a.action.as_str().into(),
                a.card_no.as_ref().into(),
                a.id_number.as_ref().into(),
                ev.map(|e| i64::from(e.holder_present)).into(),
                ev.map(|e| i64::from(e.holder_id_checked)).into(),
                ev.and_then(|e| e.agent_id_number.as_ref()).map(|i| i.as_str()).into(),
                ev.map(|e| i64::from(e.power_of_attorney)).into(),
                ev.map(|e| i64::from(e.employer_letter)).into(),
                a.outcome.as_str().into(),
                a.detail.as_deref().into(),
                a.authorised_by.map(|x| x.as_str()).into(),
                ev.map(|e| i64::from(e.pickup_certificate)).into(),
            ],
        )?;
        Ok(())
    }

    fn audit(&mut self, q: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        // One statement per filter, so each can walk its index (`audit_by_card`,
        // `audit_by_person`) in `seq` order.
        macro_rules! audit_select {
            ($where:literal) => {
                concat!(
                    "SELECT seq, at, actor_id, actor_role, actor_region, channel, action, card_no, id_number, ",
                    "ev_holder_present, ev_holder_id_checked, ev_agent_id_number, ev_power_of_attorney, ev_employer_letter, outcome, detail, ",
                    "authorised_by, ev_pickup_certificate ",
                    "FROM audit WHERE ",
                    $where,
                    " ORDER BY seq LIMIT $2"
                )
            };
        }
        let after: Value = q.after_seq.unwrap_or(0).into();
        let limit: Value = i64::from(q.limit.unwrap_or(shebao_service::LIST_LIMIT_DEFAULT)).into();
        let rows = match (&q.card_no, &q.id_number) {
            (Some(card), Some(id)) => self.0.query(
                audit_select!("card_no = $3 AND id_number = $4 AND seq > $1"),
                &[after, limit, card.as_str().into(), id.as_str().into()],
            )?,
            // A card's records are its holder's records with its number (`audit_by_person`).
            (Some(card), None) => self.0.query(
                audit_select!(
                    "id_number = (SELECT c.id_number FROM cards c WHERE c.card_no = $3) AND card_no = $3 AND seq > $1"
                ),
                &[after, limit, card.as_str().into()],
            )?,
            (None, Some(id)) => self.0.query(
                audit_select!("id_number = $3 AND seq > $1"),
                &[after, limit, id.as_str().into()],
            )?,
            (None, None) => self.0.query(audit_select!("seq > $1"), &[after, limit])?,
        };
        rows.iter().map(audit_from).collect()
    }
}

impl<C: SqlConn> Ledger for SqlTx<'_, C> {
    fn append_ledger(&mut self, e: &LedgerEntry) -> Result<(), StoreError> {
        let c = &mut *self.0;
        c.exec(
            "INSERT INTO ledger (card_no, id_number, at, kind, amount_fen, balance_after_fen, reference) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            &[
                e.card_no.as_str().into(),
                e.id_number.as_str().into(),
                e.at.into(),
                e.kind.as_str().into(),
                e.amount.into(),
                e.balance_after.into(),
                e.reference.as_deref().into(),
            ],
        )?;
        Ok(())
    }

    fn ledger_of(
        &mut self,
        id: &IdNumber,
        after_seq: i64,
        limit: u32,
    ) -> Result<Vec<LedgerEntry>, StoreError> {
        let rows = self.0.query(
            "SELECT seq, card_no, id_number, at, kind, amount_fen, balance_after_fen, reference FROM ledger \
             WHERE id_number = $1 AND seq > $2 ORDER BY seq LIMIT $3",
            &[id.as_str().into(), after_seq.into(), i64::from(limit).into()],
        )?;
        rows.iter().map(ledger_from).collect()
    }
}
