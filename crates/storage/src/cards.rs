//! Cards and their two accounts: one column list, read and written in one order.

use crate::common::*;
use crate::sql::{Row, SqlConn, Value};
use shebao_domain::{
    Card, CardNo, CardStatus, Fen, FinAccount, IdNumber, SsAccount, SsActivation, SsPassword,
    card::{EcardCodes, Loss, LossKind, Replacement, ReplacementReason},
};
use shebao_service::store::*;

/// The card columns, in the order `card_from` reads and `card_values` writes them.
macro_rules! card_select {
    ($tail:literal) => {
        card_select!("", $tail)
    };
    ($more:literal, $tail:literal) => {
        concat!(
            "SELECT card_no, id_number, serial, bank_card_no, status, issued_at, ss_activation, ",
            "ss_activation_at, ss_password, ss_failures, ss_locked_at, fin_activated_at, fin_password, fin_failures, ",
            "fin_locked_until, balance_fen, loss_kind, loss_reported_at, loss_lapses_at, loss_channel, fin_lost_at, ",
            "repl_replaces, repl_reason, repl_ready_on, repl_fee_fen, repl_collected_at, replaced_by, ecard_active_at, chip_counter, ",
            "ecard_codes_issued, ecard_codes_used, ecard_codes_withdrawn",
            $more,
            " FROM cards ",
            $tail
        )
    };
}

fn card_from(row: &Row) -> Result<Card, StoreError> {
    let ss_activation = match (row.text(6)?.as_str(), row.opt_time(7)?) {
        ("inactive", _) => SsActivation::Inactive,
        ("pending", Some(at)) => SsActivation::Pending { at },
        ("active", Some(since)) => SsActivation::Active { since },
        (other, _) => return Err(corrupt(format!("ss_activation {other}"))),
    };
    let count = |i: usize| -> Result<u32, StoreError> {
        u32::try_from(row.int(i)?).map_err(|_| corrupt("failure count"))
    };
    Ok(Card {
        card_no: CardNo::parse(row.str(0)?).ok_or_else(|| corrupt("stored card number"))?,
        id_number: id_number(row.str(1)?)?,
        serial: row.text(2)?,
        bank_card_no: row.text(3)?,
        status: CardStatus::parse(row.str(4)?).ok_or_else(|| corrupt("card status"))?,
        issued_at: row.time(5)?,
        ss: SsAccount {
            activation: ss_activation,
            password: match row.opt_text(8)? {
                Some(v) => SsPassword::Enabled(parse_verifier(&v)?),
                None => SsPassword::NotEnabled,
            },
            failures: count(9)?,
            locked_at: row.opt_time(10)?,
        },
        fin: FinAccount {
            activated_at: row.opt_time(11)?,
            password: row
                .opt_text(12)?
                .as_deref()
                .map(parse_verifier)
                .transpose()?,
            failures: count(13)?,
            locked_until: row.opt_time(14)?,
        },
        balance: Fen(row.int(15)?),
        loss: match row.opt_text(16)? {
            None => None,
            Some(kind) => Some(Loss {
                kind: LossKind::parse(&kind).ok_or_else(|| corrupt("loss kind"))?,
                reported_at: row.time(17)?,
                lapses_at: row.opt_time(18)?,
                channel: row.text(19)?,
            }),
        },
        fin_lost_at: row.opt_time(20)?,
        replacement: match row.opt_text(21)? {
            None => None,
            Some(replaces) => Some(Replacement {
                replaces: CardNo::parse(&replaces)
                    .ok_or_else(|| corrupt("replaced card number"))?,
                reason: ReplacementReason::parse(row.str(22)?)
                    .ok_or_else(|| corrupt("replacement reason"))?,
                ready_on: row.str(23)?.parse().map_err(|_| corrupt("ready_on"))?,
                fee: Fen(row.int(24)?),
                collected_at: row.opt_time(25)?,
            }),
        },
        replaced_by: row
            .opt_text(26)?
            .map(|c| CardNo::parse(&c).ok_or_else(|| corrupt("successor card number")))
            .transpose()?,
        ecard_active_at: row.opt_time(27)?,
        chip_counter: row.int(28)?,
        ecard_codes: EcardCodes {
            issued: code_number(row, 29)?,
            used_through: code_number(row, 30)?,
            withdrawn_through: code_number(row, 31)?,
        },
    })
}

fn code_number(row: &Row, i: usize) -> Result<u32, StoreError> {
    u32::try_from(row.int(i)?).map_err(|_| corrupt("payment-code number"))
}

fn card_values(c: &Card) -> Vec<Value<'_>> {
    let (activation, activation_at) = match c.ss.activation {
        SsActivation::Inactive => ("inactive", None),
        SsActivation::Pending { at } => ("pending", Some(at)),
        SsActivation::Active { since } => ("active", Some(since)),
    };
    vec![
        c.card_no.as_str().into(),
        c.id_number.as_str().into(),
        c.serial.as_str().into(),
        c.bank_card_no.as_str().into(),
        c.status.as_str().into(),
        c.issued_at.into(),
        activation.into(),
        activation_at.into(),
        match &c.ss.password {
            SsPassword::Enabled(v) => Some(verifier_text(v)),
            SsPassword::NotEnabled => None,
        }
        .into(),
        i64::from(c.ss.failures).into(),
        c.ss.locked_at.into(),
        c.fin.activated_at.into(),
        c.fin.password.as_ref().map(verifier_text).into(),
        i64::from(c.fin.failures).into(),
        c.fin.locked_until.into(),
        c.balance.0.into(),
        c.loss.as_ref().map(|l| l.kind.as_str()).into(),
        c.loss.as_ref().map(|l| l.reported_at).into(),
        c.loss.as_ref().and_then(|l| l.lapses_at).into(),
        c.loss.as_ref().map(|l| l.channel.as_str()).into(),
        c.fin_lost_at.into(),
        c.replacement.as_ref().map(|r| r.replaces.as_str()).into(),
        c.replacement.as_ref().map(|r| r.reason.as_str()).into(),
        c.replacement
            .as_ref()
            .map(|r| r.ready_on.to_string())
            .into(),
        c.replacement.as_ref().map(|r| r.fee.0).into(),
        c.replacement.as_ref().and_then(|r| r.collected_at).into(),
        c.replaced_by.as_ref().map(|c| c.as_str()).into(),
        c.ecard_active_at.into(),
        c.chip_counter.into(),
        i64::from(c.ecard_codes.issued).into(),
        i64::from(c.ecard_codes.used_through).into(),
        i64::from(c.ecard_codes.withdrawn_through).into(),
    ]
}

impl<C: SqlConn> CardStore for SqlTx<'_, C> {
    fn insert_card(&mut self, c: &Card) -> Result<(), StoreError> {
        self.0.exec(
            "INSERT INTO cards (card_no, id_number, serial, bank_card_no, status, issued_at, ss_activation, ss_activation_at, \
             ss_password, ss_failures, ss_locked_at, fin_activated_at, fin_password, fin_failures, fin_locked_until, balance_fen, \
             loss_kind, loss_reported_at, loss_lapses_at, loss_channel, fin_lost_at, repl_replaces, repl_reason, repl_ready_on, \
             repl_fee_fen, repl_collected_at, replaced_by, ecard_active_at, chip_counter, ecard_codes_issued, ecard_codes_used, \
             ecard_codes_withdrawn, holder_employer_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, \
             $24, $25, $26, $27, $28, $29, $30, $31, $32, \
             (SELECT p.employer_id FROM persons p WHERE p.id_number = $2 AND p.kind IN ('employee', 'retiree')))",
            &card_values(c),
        )?;
        Ok(())
    }

    fn card(&mut self, card_no: &CardNo, lock: Lock) -> Result<Option<Card>, StoreError> {
        const PLAIN: &str = card_select!("WHERE card_no = $1");
        const FOR_UPDATE: &str = card_select!("WHERE card_no = $1 FOR UPDATE");
        one(
            self.0.query(
                match lock {
                    Lock::Read => PLAIN,
                    Lock::ForUpdate => FOR_UPDATE,
                },
                &[card_no.as_str().into()],
            )?,
            card_from,
        )
    }

    fn card_for_care(
        &mut self,
        card_no: &CardNo,
        lock: Lock,
    ) -> Result<Option<(Card, Option<String>)>, StoreError> {
        // The card's columns, then the holder's employer (column 32).
        const PLAIN: &str = card_select!(", holder_employer_id", "WHERE card_no = $1");
        const FOR_UPDATE: &str =
            card_select!(", holder_employer_id", "WHERE card_no = $1 FOR UPDATE");
        let rows = self.0.query(
            match lock {
                Lock::Read => PLAIN,
                Lock::ForUpdate => FOR_UPDATE,
            },
            &[card_no.as_str().into()],
        )?;
        match rows.first() {
            None => Ok(None),
            Some(row) => Ok(Some((card_from(row)?, row.opt_text(32)?))),
        }
    }

    fn card_by_serial(&mut self, serial: &str) -> Result<Option<Card>, StoreError> {
        const SQL: &str = card_select!("WHERE serial = $1");
        one(self.0.query(SQL, &[serial.into()])?, card_from)
    }

    fn update_card(&mut self, c: &Card) -> Result<(), StoreError> {
        // The card's identity (number, holder, serial, bank card number, issue time) never
        // changes after issue: leaving those columns out spares their index entries on every
        // purchase and verification.
        let mut values = card_values(c);
        values.drain(5..6); // issued_at
        values.drain(1..4); // id_number, serial, bank_card_no
        let changed = self.0.exec(
            "UPDATE cards SET status = $2, ss_activation = $3, ss_activation_at = $4, ss_password = $5, \
             ss_failures = $6, ss_locked_at = $7, fin_activated_at = $8, fin_password = $9, fin_failures = $10, \
             fin_locked_until = $11, balance_fen = $12, loss_kind = $13, loss_reported_at = $14, loss_lapses_at = $15, \
             loss_channel = $16, fin_lost_at = $17, repl_replaces = $18, repl_reason = $19, repl_ready_on = $20, \
             repl_fee_fen = $21, repl_collected_at = $22, replaced_by = $23, ecard_active_at = $24, chip_counter = $25, \
             ecard_codes_issued = $26, ecard_codes_used = $27, ecard_codes_withdrawn = $28 WHERE card_no = $1",
            &values,
        )?;
        expect_one_row(changed, "update card")
    }

    fn cards_of(&mut self, id: &IdNumber) -> Result<Vec<Card>, StoreError> {
        const SQL: &str =
            card_select!("WHERE id_number = $1 ORDER BY issued_at DESC, bank_card_no DESC");
        self.0
            .query(SQL, &[id.as_str().into()])?
            .iter()
            .map(card_from)
            .collect()
    }
}
