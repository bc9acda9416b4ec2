//! Employers.

use crate::common::*;
use crate::sql::{Row, SqlConn};
use shebao_domain::Fen;
use shebao_service::model::Employer;
use shebao_service::store::*;

/// The employer columns, in the order `employer_from` reads them.
macro_rules! employer_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, name, region, prev_year_avg_wage_fen, created_at FROM employers ",
            $tail
        )
    };
}

fn employer_from(r: &Row) -> Result<Employer, StoreError> {
    Ok(Employer {
        id: r.text(0)?,
        name: r.text(1)?,
        region: region(r.str(2)?)?,
        prev_year_avg_wage: r.opt_int(3)?.map(Fen),
        created_at: r.time(4)?,
    })
}

impl<C: SqlConn> EmployerStore for SqlTx<'_, C> {
    fn insert_employer(&mut self, e: &Employer) -> Result<(), StoreError> {
        self.0.exec(
            "INSERT INTO employers (id, name, region, prev_year_avg_wage_fen, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[e.id.as_str().into(), e.name.as_str().into(), e.region.as_str().into(), e.prev_year_avg_wage.map(|f| f.0).into(), e.created_at.into()],
        )?;
        Ok(())
    }

    fn employer(&mut self, id: &str, lock: Lock) -> Result<Option<Employer>, StoreError> {
        const PLAIN: &str = employer_select!("WHERE id = $1");
        const FOR_UPDATE: &str = employer_select!("WHERE id = $1 FOR UPDATE");
        let sql = match lock {
            Lock::Read => PLAIN,
            Lock::ForUpdate => FOR_UPDATE,
        };
        one(self.0.query(sql, &[id.into()])?, employer_from)
    }

    fn employers_after(&mut self, after: &str, limit: u32) -> Result<Vec<Employer>, StoreError> {
        let rows = self.0.query(
            employer_select!("WHERE id > $1 ORDER BY id LIMIT $2"),
            &[after.into(), i64::from(limit).into()],
        )?;
        rows.iter().map(employer_from).collect()
    }
}
