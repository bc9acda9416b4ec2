//! Actors (their tokens only as digests) and named counters.

use crate::common::*;
use crate::sql::{Row, SqlConn};
use jiff::Timestamp;
use shebao_service::model::{Actor, ActorSource, Psam};
use shebao_service::store::*;

/// Advances a PSAM terminal's counter if the new one is above it (R-KM-1).
const TAKE_COUNTER: &str = "UPDATE actors SET psam_counter = $2, psam_used_at = $3 \
     WHERE id = $1 AND psam_no IS NOT NULL AND psam_counter < $2";

/// Terminal counters [`TerminalCounters::write`] puts in one statement at most (three
/// parameters each).
const COUNTERS_PER_STATEMENT: usize = 64;

/// `UPDATE … FROM (VALUES …)` for `rows` terminals (1 to [`COUNTERS_PER_STATEMENT`]): each
/// row's counter is written only if it is above the stored one, so the changed-row count says
/// whether every claim held. Built once per size and kept for the process (the statement
/// cache is keyed by `&'static str`).
fn take_counters_sql(rows: usize) -> &'static str {
    static SQL: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    let all = SQL.get_or_init(|| {
        (1..=COUNTERS_PER_STATEMENT)
            .map(|n| {
                let values: Vec<String> = (0..n)
                    .map(|i| format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3))
                    .collect();
                let sql = format!(
                    "UPDATE actors SET psam_counter = v.column2, psam_used_at = v.column3 \
                     FROM (VALUES {}) AS v \
                     WHERE actors.id = v.column1 AND actors.psam_no IS NOT NULL \
                     AND actors.psam_counter < v.column2",
                    values.join(", ")
                );
                &*Box::leak(sql.into_boxed_str())
            })
            .collect()
    });
    all[rows - 1]
}

/// The PSAM terminals' request counters as SQLite's one writer keeps them (R-KM-1): the last
/// committed counter of every terminal it has seen, and the claims taken in the group being
/// built. A claim is decided here, in memory; each terminal's highest claim of the group is
/// written once, in the group's transaction, just before its `COMMIT` ([`Self::write`]), so a
/// claim is exactly as durable as the operation that took it and a purchase pays no
/// statement for its terminal's counter. A job that rolls back to its savepoint gives its
/// claims back ([`Self::rollback_job`]). The keeper is exact because the writer is the only
/// writer of the database file: no one else moves a counter behind it.
#[derive(Default)]
pub struct TerminalCounters {
    committed: std::collections::HashMap<String, i64>,
    /// Claims of this group: actor → (counter, at), not yet written.
    group: std::collections::HashMap<String, (i64, Timestamp)>,
    /// What the running job's claims replaced, to undo on its rollback.
    undo: Vec<(String, Option<(i64, Timestamp)>)>,
}

impl TerminalCounters {
    /// The last counter taken by a kept job or a commit, if this terminal is known.
    fn last(&self, actor_id: &str) -> Option<i64> {
        self.group
            .get(actor_id)
            .map(|(c, _)| *c)
            .or_else(|| self.committed.get(actor_id).copied())
    }

    fn learn(&mut self, actor_id: &str, committed: i64) {
        if !self.committed.contains_key(actor_id) {
            self.committed.insert(actor_id.to_owned(), committed);
        }
    }

    fn take(&mut self, actor_id: &str, counter: i64, at: Timestamp) {
        let before = self.group.insert(actor_id.to_owned(), (counter, at));
        self.undo.push((actor_id.to_owned(), before));
    }

    /// A job begins (its savepoint is set).
    pub fn begin_job(&mut self) {
        self.undo.clear();
    }

    /// The job rolled back to its savepoint: its claims are given back.
    pub fn rollback_job(&mut self) {
        while let Some((actor_id, before)) = self.undo.pop() {
            match before {
                Some(b) => self.group.insert(actor_id, b),
                None => self.group.remove(&actor_id),
            };
        }
    }

    /// Writes each terminal's highest claim of the group, in the group's transaction: one
    /// statement for up to [`COUNTERS_PER_STATEMENT`] terminals (a group's terminals are
    /// usually all different, one per pharmacy). A counter the database does not take as
    /// written means the keeper was wrong: the group must not commit.
    pub fn write(&mut self, conn: &mut impl SqlConn) -> Result<(), StoreError> {
        self.undo.clear();
        let claims: Vec<(&String, &(i64, Timestamp))> = self.group.iter().collect();
        for chunk in claims.chunks(COUNTERS_PER_STATEMENT) {
            let mut params = Vec::with_capacity(chunk.len() * 3);
            for (actor_id, (counter, at)) in chunk {
                params.push(actor_id.as_str().into());
                params.push((*counter).into());
                params.push((*at).into());
            }
            let changed = conn.exec(take_counters_sql(chunk.len()), &params)?;
            if changed != chunk.len() as u64 {
                let ids: Vec<&str> = chunk.iter().map(|(id, _)| id.as_str()).collect();
                return Err(corrupt(format!(
                    "terminals {ids:?}: {changed} of {} stored counters were below the claims",
                    chunk.len()
                )));
            }
        }
        Ok(())
    }

    /// The group committed: its claims are the committed counters now.
    pub fn committed(&mut self) {
        for (actor_id, (counter, _)) in self.group.drain() {
            self.committed.insert(actor_id, counter);
        }
    }

    /// The group did not commit: its claims are void, and what is known is forgotten (read
    /// again from the database on next use).
    pub fn aborted(&mut self) {
        self.group.clear();
        self.undo.clear();
        self.committed.clear();
    }
}

/// The actor columns, in the order `actor_from` reads them.
macro_rules! actor_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, role, name, region, employer_id, created_at, source, revoked_at, token_digest, psam_no, psam_counter, psam_used_at FROM actors ",
            $tail
        )
    };
}

fn actor_from(row: &Row) -> Result<Actor, StoreError> {
    let source = row.text(6)?;
    Ok(Actor {
        id: row.text(0)?,
        role: role(row.str(1)?)?,
        name: row.text(2)?,
        region: row.opt_str(3)?.map(region).transpose()?,
        employer_id: row.opt_text(4)?,
        id_number: None,
        must_change_password: false,
        session_id: None,
        created_at: row.time(5)?,
        source: ActorSource::parse(&source)
            .ok_or_else(|| corrupt(format!("stored actor source {source}")))?,
        revoked_at: row.opt_time(7)?,
        psam: match row.opt_text(9)? {
            None => None,
            Some(psam_no) => Some(Psam {
                psam_no,
                counter: u64::try_from(row.int(10)?)
                    .map_err(|_| corrupt("negative PSAM counter"))?,
                used_at: row.opt_time(11)?,
            }),
        },
    })
}

impl<C: SqlConn> ActorStore for SqlTx<'_, C> {
    fn insert_actor(&mut self, a: &Actor, token_digest: &str) -> Result<(), StoreError> {
        self.0.exec(
            "INSERT INTO actors (id, role, name, region, employer_id, created_at, token_digest, source, revoked_at, psam_no) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            &[
                a.id.as_str().into(),
                a.role.as_str().into(),
                a.name.as_str().into(),
                a.region.as_ref().map(|r| r.as_str()).into(),
                a.employer_id.as_deref().into(),
                a.created_at.into(),
                token_digest.into(),
                a.source.as_str().into(),
                a.revoked_at.into(),
                a.psam.as_ref().map(|p| p.psam_no.clone()).into(),
            ],
        )?;
        Ok(())
    }

    fn take_terminal_counter(
        &mut self,
        actor_id: &str,
        counter: u64,
        at: Timestamp,
    ) -> Result<bool, StoreError> {
        let counter = i64::try_from(counter).map_err(|_| corrupt("terminal counter too large"))?;
        if let Some(known) = self.0.terminal_counters().map(|k| k.last(actor_id)) {
            // The one writer's keeper (SQLite): the claim is decided in memory and written
            // with the group's commit (`TerminalCounters`, R-KM-1).
            let last = match known {
                Some(last) => last,
                None => {
                    let rows = self.0.query(
                        "SELECT psam_counter FROM actors WHERE id = $1 AND psam_no IS NOT NULL",
                        &[actor_id.into()],
                    )?;
                    let Some(last) = rows.first().map(|r| r.int(0)).transpose()? else {
                        return Ok(false);
                    };
                    last
                }
            };
            let keeper = self
                .0
                .terminal_counters()
                .ok_or_else(|| corrupt("the terminal counters' keeper went away"))?;
            keeper.learn(actor_id, last);
            if counter <= last {
                return Ok(false);
            }
            keeper.take(actor_id, counter, at);
            return Ok(true);
        }
        // The row lock serialises two requests with one counter: the second sees the first's
        // counter and changes nothing (R-KM-1).
        let changed = self
            .0
            .exec(TAKE_COUNTER, &[actor_id.into(), counter.into(), at.into()])?;
        Ok(changed == 1)
    }

    fn actor_by_token(&mut self, token_digest: &str) -> Result<Option<Actor>, StoreError> {
        const SQL: &str = actor_select!("WHERE token_digest = $1");
        one(self.0.query(SQL, &[token_digest.into()])?, actor_from)
    }

    fn actor(&mut self, id: &str) -> Result<Option<Actor>, StoreError> {
        const SQL: &str = actor_select!("WHERE id = $1");
        one(self.0.query(SQL, &[id.into()])?, actor_from)
    }

    fn actors_after(&mut self, after: &str, limit: u32) -> Result<Vec<Actor>, StoreError> {
        const SQL: &str = actor_select!("WHERE id > $1 ORDER BY id LIMIT $2");
        self.0
            .query(SQL, &[after.into(), i64::from(limit).into()])?
            .iter()
            .map(actor_from)
            .collect()
    }

    fn set_actor_standing(
        &mut self,
        id: &str,
        source: ActorSource,
        revoked_at: Option<Timestamp>,
    ) -> Result<(), StoreError> {
        let changed = self.0.exec(
            "UPDATE actors SET source = $2, revoked_at = $3 WHERE id = $1",
            &[id.into(), source.as_str().into(), revoked_at.into()],
        )?;
        expect_one_row(changed, "update actor")
    }

    fn set_actor_token(&mut self, id: &str, token_digest: &str) -> Result<(), StoreError> {
        let changed = self.0.exec(
            "UPDATE actors SET token_digest = $2 WHERE id = $1",
            &[id.into(), token_digest.into()],
        )?;
        expect_one_row(changed, "update actor token")
    }

    fn startup_admins(&mut self) -> Result<Vec<(Actor, String)>, StoreError> {
        const SQL: &str = actor_select!(
            "WHERE role = 'admin' AND source IN ('env', 'generated', 'startup') AND revoked_at IS NULL ORDER BY id"
        );
        self.0
            .query(SQL, &[])?
            .iter()
            .map(|r| Ok((actor_from(r)?, r.text(8)?)))
            .collect()
    }
}

impl<C: SqlConn> Sequences for SqlTx<'_, C> {
    fn next_sequence(&mut self, name: &str) -> Result<u64, StoreError> {
        let rows = self.0.query(
            "INSERT INTO sequences (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = sequences.value + 1 RETURNING value",
            &[name.into()],
        )?;
        let value = rows
            .first()
            .ok_or_else(|| corrupt("sequence returned nothing"))?
            .int(0)?;
        u64::try_from(value).map_err(|_| corrupt("negative sequence"))
    }
}
