//! The electronic card's single-use payment codes (R-KM-2, D-16).

use crate::common::*;
use crate::sql::{Row, SqlConn};
use jiff::Timestamp;
use shebao_domain::{CardNo, IdNumber};
use shebao_service::model::EcardCodeRecord;
use shebao_service::store::*;

fn code_from(row: &Row) -> Result<EcardCodeRecord, StoreError> {
    Ok(EcardCodeRecord {
        code_id: row.text(0)?,
        id_number: id_number(row.str(1)?)?,
        card_no: CardNo::parse(row.str(2)?).ok_or_else(|| corrupt("stored card number"))?,
        issued_at: row.time(3)?,
        expires_at: row.time(4)?,
        used_at: row.opt_time(5)?,
    })
}

impl<C: SqlConn> EcardCodes for SqlTx<'_, C> {
    fn insert_ecard_code(&mut self, code: &EcardCodeRecord) -> Result<(), StoreError> {
        self.0.exec(
            "INSERT INTO ecard_codes (code_id, id_number, card_no, issued_at, expires_at, used_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                code.code_id.as_str().into(),
                code.id_number.as_str().into(),
                code.card_no.as_str().into(),
                code.issued_at.into(),
                code.expires_at.into(),
                code.used_at.into(),
            ],
        )?;
        Ok(())
    }

    fn ecard_code(&mut self, code_id: &str) -> Result<Option<EcardCodeRecord>, StoreError> {
        one(
            self.0.query(
                "SELECT code_id, id_number, card_no, issued_at, expires_at, used_at \
                 FROM ecard_codes WHERE code_id = $1",
                &[code_id.into()],
            )?,
            code_from,
        )
    }

    fn use_ecard_code(&mut self, code_id: &str, at: Timestamp) -> Result<bool, StoreError> {
        let changed = self.0.exec(
            "UPDATE ecard_codes SET used_at = $2 WHERE code_id = $1 AND used_at IS NULL",
            &[code_id.into(), at.into()],
        )?;
        Ok(changed == 1)
    }

    fn drop_ecard_codes(
        &mut self,
        id: &IdNumber,
        expired_before: Option<Timestamp>,
    ) -> Result<u64, StoreError> {
        match expired_before {
            None => self.0.exec(
                "DELETE FROM ecard_codes WHERE id_number = $1 AND used_at IS NULL",
                &[id.as_str().into()],
            ),
            Some(t) => self.0.exec(
                "DELETE FROM ecard_codes WHERE id_number = $1 AND expires_at < $2",
                &[id.as_str().into(), t.into()],
            ),
        }
    }
}
