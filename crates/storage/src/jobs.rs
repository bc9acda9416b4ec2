//! Batch jobs' last runs and the operator-loaded working-day calendar years.

use crate::common::*;
use crate::sql::SqlConn;
use jiff::Timestamp;
use shebao_service::model::{JobRun, JobStatus};
use shebao_service::store::*;

impl<C: SqlConn> Jobs for SqlTx<'_, C> {
    fn job_run(&mut self, name: &str) -> Result<Option<JobRun>, StoreError> {
        let c = &mut *self.0;
        let rows = c.query(
            "SELECT name, started_at, finished_at, status, summary, rows_done FROM job_runs WHERE name = $1",
            &[name.into()],
        )?;
        rows.first()
            .map(|r| {
                Ok(JobRun {
                    name: r.text(0)?,
                    started_at: r.time(1)?,
                    finished_at: r.opt_time(2)?,
                    status: vocabulary(r.str(3)?, JobStatus::parse, "job status")?,
                    summary: r.text(4)?,
                    rows: r.int(5)?,
                })
            })
            .transpose()
    }

    fn put_job_run(&mut self, run: &JobRun) -> Result<(), StoreError> {
        let c = &mut *self.0;
        c.exec(
            "INSERT INTO job_runs (name, started_at, finished_at, status, summary, rows_done) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (name) DO UPDATE SET started_at = excluded.started_at, finished_at = excluded.finished_at, \
             status = excluded.status, summary = excluded.summary, rows_done = excluded.rows_done",
            &[
                run.name.as_str().into(),
                run.started_at.into(),
                run.finished_at.into(),
                run.status.as_str().into(),
                run.summary.as_str().into(),
                run.rows.into(),
            ],
        )?;
        Ok(())
    }
}

impl<C: SqlConn> CalendarStore for SqlTx<'_, C> {
    fn calendar_years(&mut self) -> Result<Vec<(i16, String)>, StoreError> {
        let rows = self
            .0
            .query("SELECT year, csv FROM calendar_years ORDER BY year", &[])?;
        rows.iter()
            .map(|r| {
                let year = i16::try_from(r.int(0)?).map_err(|_| corrupt("calendar year"))?;
                Ok((year, r.text(1)?))
            })
            .collect()
    }

    fn put_calendar_year(&mut self, year: i16, csv: &str, at: Timestamp) -> Result<(), StoreError> {
        self.0.exec(
            "INSERT INTO calendar_years (year, csv, loaded_at) VALUES ($1, $2, $3) ON CONFLICT (year) DO UPDATE SET csv = excluded.csv, loaded_at = excluded.loaded_at",
            &[i64::from(year).into(), csv.into(), at.into()],
        )?;
        Ok(())
    }
}
