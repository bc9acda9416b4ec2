//! Insured people: one column list, read and written in one order.

use crate::common::*;
use crate::sql::{Row, SqlConn, Value};
use shebao_domain::{Fen, IdNumber, LegacyCard, Person, PersonKind, Phone};
use shebao_service::store::*;

/// The person columns, in the order `person_from` reads and `person_values` writes them.
macro_rules! person_columns {
    () => {
        "id_number, name, phone, kind, employer_id, region, contribution_base_fen, legacy_number, \
         legacy_balance_fen, legacy_password, legacy_migrated_at, query_password_hash, created_at"
    };
}

const PERSON_SELECT: &str = concat!(
    "SELECT ",
    person_columns!(),
    " FROM persons WHERE id_number = $1"
);

fn person_from(row: &Row) -> Result<Person, StoreError> {
    let legacy_card = match row.opt_text(7)? {
        None => None,
        Some(number) => Some(LegacyCard {
            number,
            balance: Fen(row.int(8)?),
            password: row
                .opt_text(9)?
                .as_deref()
                .map(parse_verifier)
                .transpose()?,
            migrated_at: row.opt_time(10)?,
        }),
    };
    Ok(Person {
        id_number: id_number(row.str(0)?)?,
        name: row.text(1)?,
        phone: row
            .opt_text(2)?
            .as_deref()
            .map(|p| Phone::parse(p).ok_or_else(|| corrupt("stored phone")))
            .transpose()?,
        kind: PersonKind::parse(row.str(3)?).ok_or_else(|| corrupt("stored person kind"))?,
        employer_id: row.opt_text(4)?,
        region: region(row.str(5)?)?,
        contribution_base: row.opt_int(6)?.map(Fen),
        legacy_card,
        query_password_hash: row.opt_text(11)?,
        created_at: row.time(12)?,
    })
}

fn person_values(p: &Person) -> Vec<Value<'_>> {
    let legacy = p.legacy_card.as_ref();
    vec![
        p.id_number.as_str().into(),
        p.name.as_str().into(),
        p.phone.as_ref().map(|x| x.as_str()).into(),
        p.kind.as_str().into(),
        p.employer_id.as_deref().into(),
        p.region.as_str().into(),
        p.contribution_base.map(|f| f.0).into(),
        legacy.map(|l| l.number.clone()).into(),
        legacy.map(|l| l.balance.0).into(),
        legacy
            .and_then(|l| l.password.as_ref())
            .map(verifier_text)
            .into(),
        legacy.and_then(|l| l.migrated_at).into(),
        p.query_password_hash.as_deref().into(),
        p.created_at.into(),
    ]
}

impl<C: SqlConn> PersonStore for SqlTx<'_, C> {
    fn insert_person(&mut self, p: &Person) -> Result<(), StoreError> {
        self.0.exec(
            concat!(
                "INSERT INTO persons (",
                person_columns!(),
                ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
            ),
            &person_values(p),
        )?;
        Ok(())
    }

    fn person(&mut self, id: &IdNumber, lock: Lock) -> Result<Option<Person>, StoreError> {
        const FOR_UPDATE: &str = concat!(
            "SELECT ",
            person_columns!(),
            " FROM persons WHERE id_number = $1 FOR UPDATE"
        );
        let sql = match lock {
            Lock::Read => PERSON_SELECT,
            Lock::ForUpdate => FOR_UPDATE,
        };
        one(self.0.query(sql, &[id.as_str().into()])?, person_from)
    }

    fn update_person(&mut self, p: &Person) -> Result<(), StoreError> {
        let changed = self.0.exec(
            "UPDATE persons SET name = $2, phone = $3, kind = $4, employer_id = $5, region = $6, contribution_base_fen = $7, \
             legacy_number = $8, legacy_balance_fen = $9, legacy_password = $10, legacy_migrated_at = $11, \
             query_password_hash = $12, created_at = $13 WHERE id_number = $1",
            &person_values(p),
        )?;
        expect_one_row(changed, "update person")?;
        // The unit lock's employer on the person's cards (V11) follows the person.
        let insured = matches!(p.kind, PersonKind::Employee | PersonKind::Retiree);
        let employer = p.employer_id.as_deref().filter(|_| insured);
        self.0.exec(
            "UPDATE cards SET holder_employer_id = $2 WHERE id_number = $1 \
             AND holder_employer_id IS DISTINCT FROM $2",
            &[p.id_number.as_str().into(), employer.into()],
        )?;
        Ok(())
    }

    fn insured_of(
        &mut self,
        employer_id: &str,
        after: &str,
        limit: u32,
    ) -> Result<Vec<Person>, StoreError> {
        const SQL: &str = concat!(
            "SELECT ",
            person_columns!(),
            " FROM persons ",
            "WHERE employer_id = $1 AND kind IN ('employee', 'retiree') AND id_number > $2 ORDER BY id_number LIMIT $3"
        );
        let rows = self.0.query(
            SQL,
            &[employer_id.into(), after.into(), i64::from(limit).into()],
        )?;
        rows.iter().map(person_from).collect()
    }
}
