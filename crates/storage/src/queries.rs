//! The statements, written once for both engines (`$n` placeholders; the SQLite connection
//! rewrites them and drops `FOR UPDATE`, which its single writer makes unnecessary).

use crate::contributions;
use crate::sql::{Row, SqlConn, Value};
use jiff::Timestamp;
use jiff::civil::Date;
use shebao_domain::Month;
use shebao_domain::{
    Card, CardNo, CardStatus, Evidence, Fen, FinAccount, IdNumber, LegacyCard, Person, PersonKind,
    Phone, PinVerifier, RegionCode, Role, SsAccount, SsActivation, SsPassword, WebLoginThrottle,
    card::{Loss, LossKind, Replacement, ReplacementReason},
};
use shebao_service::model::{
    Actor, ActorSource, AssessmentRecord, AuditQuery, AuditRecord, CreditBatch, Employer,
    EmployerMonthRecord, FilingRecord, JobRun, LedgerEntry, PaymentRecord, PaymentSource, Session,
    SettlementRecord,
};
use shebao_service::store::{StoreError, Tx};

/// The shared `Tx` implementation over any engine's connection.
pub struct SqlTx<'c, C: SqlConn>(pub &'c mut C);

fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

fn verifier_text(v: &PinVerifier) -> String {
    format!("{}:{}", v.key_id, hex_encode(&v.mac))
}

fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn parse_verifier(text: &str) -> Result<PinVerifier, StoreError> {
    let (key_id, hex) = text
        .split_once(':')
        .ok_or_else(|| corrupt("verifier without key id"))?;
    if hex.len() % 2 != 0 {
        return Err(corrupt("verifier hex"));
    }
    let mac = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| corrupt("verifier hex"))?;
    Ok(PinVerifier {
        key_id: key_id.to_owned(),
        mac,
    })
}

fn id_number(text: &str) -> Result<IdNumber, StoreError> {
    IdNumber::parse_shape(text).map_err(|e| corrupt(format!("stored ID number: {e}")))
}

fn region(text: &str) -> Result<RegionCode, StoreError> {
    RegionCode::parse(text).ok_or_else(|| corrupt("stored region"))
}

fn role(text: &str) -> Result<Role, StoreError> {
    text.parse()
        .map_err(|_| corrupt(format!("stored role {text}")))
}

/// The actor columns, in the order `actor_from` reads them.
macro_rules! actor_select {
    ($tail:literal) => {
        concat!(
            "SELECT id, role, name, region, employer_id, created_at, source, revoked_at, token_digest FROM actors ",
            $tail
        )
    };
}

fn actor_from(row: &Row) -> Result<Actor, StoreError> {
    let source = row.text(6)?;
    Ok(Actor {
        id: row.text(0)?,
        role: role(&row.text(1)?)?,
        name: row.text(2)?,
        region: row.opt_text(3)?.as_deref().map(region).transpose()?,
        employer_id: row.opt_text(4)?,
        id_number: None,
        must_change_password: false,
        session_id: None,
        created_at: row.time(5)?,
        source: ActorSource::parse(&source)
            .ok_or_else(|| corrupt(format!("stored actor source {source}")))?,
        revoked_at: row.opt_time(7)?,
    })
}

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
        id_number: id_number(&row.text(0)?)?,
        name: row.text(1)?,
        phone: row
            .opt_text(2)?
            .as_deref()
            .map(|p| Phone::parse(p).ok_or_else(|| corrupt("stored phone")))
            .transpose()?,
        kind: PersonKind::parse(&row.text(3)?).ok_or_else(|| corrupt("stored person kind"))?,
        employer_id: row.opt_text(4)?,
        region: region(&row.text(5)?)?,
        contribution_base: row.opt_int(6)?.map(Fen),
        legacy_card,
        query_password_hash: row.opt_text(11)?,
        created_at: row.time(12)?,
    })
}

fn person_values(p: &Person) -> Vec<Value> {
    let legacy = p.legacy_card.as_ref();
    vec![
        p.id_number.as_str().into(),
        p.name.as_str().into(),
        p.phone.as_ref().map(|x| x.as_str()).into(),
        p.kind.as_str().into(),
        p.employer_id.clone().into(),
        p.region.as_str().into(),
        p.contribution_base.map(|f| f.0).into(),
        legacy.map(|l| l.number.clone()).into(),
        legacy.map(|l| l.balance.0).into(),
        legacy
            .and_then(|l| l.password.as_ref())
            .map(verifier_text)
            .into(),
        legacy.and_then(|l| l.migrated_at).into(),
        p.query_password_hash.clone().into(),
        p.created_at.into(),
    ]
}

/// The card columns, in the order `card_from` reads and `card_values` writes them.
macro_rules! card_select {
    ($tail:literal) => {
        concat!(
            "SELECT card_no, id_number, serial, bank_card_no, status, issued_at, ss_activation, ",
            "ss_activation_at, ss_password, ss_failures, ss_locked_at, fin_activated_at, fin_password, fin_failures, ",
            "fin_locked_until, balance_fen, loss_kind, loss_reported_at, loss_lapses_at, loss_channel, fin_lost_at, ",
            "repl_replaces, repl_reason, repl_ready_on, repl_fee_fen, repl_collected_at, replaced_by FROM cards ",
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
        card_no: CardNo::parse(&row.text(0)?).ok_or_else(|| corrupt("stored card number"))?,
        id_number: id_number(&row.text(1)?)?,
        serial: row.text(2)?,
        bank_card_no: row.text(3)?,
        status: CardStatus::parse(&row.text(4)?).ok_or_else(|| corrupt("card status"))?,
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
                reason: ReplacementReason::parse(&row.text(22)?)
                    .ok_or_else(|| corrupt("replacement reason"))?,
                ready_on: row.text(23)?.parse().map_err(|_| corrupt("ready_on"))?,
                fee: Fen(row.int(24)?),
                collected_at: row.opt_time(25)?,
            }),
        },
        replaced_by: row
            .opt_text(26)?
            .map(|c| CardNo::parse(&c).ok_or_else(|| corrupt("successor card number")))
            .transpose()?,
    })
}

fn card_values(c: &Card) -> Vec<Value> {
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
    ]
}

fn audit_from(row: &Row) -> Result<AuditRecord, StoreError> {
    let evidence = match row.opt_bool(9)? {
        None => None,
        Some(holder_present) => Some(Evidence {
            holder_present,
            holder_id_checked: row.bool(10)?,
            agent_id_number: row.opt_text(11)?.as_deref().map(id_number).transpose()?,
            power_of_attorney: row.bool(12)?,
            employer_letter: row.bool(13)?,
        }),
    };
    Ok(AuditRecord {
        seq: Some(row.int(0)?),
        at: row.time(1)?,
        actor_id: row.text(2)?,
        actor_role: role(&row.text(3)?)?,
        actor_region: row.opt_text(4)?,
        channel: row.text(5)?,
        action: row.text(6)?,
        card_no: row.opt_text(7)?,
        id_number: row.opt_text(8)?,
        evidence,
        outcome: row.text(14)?,
        detail: row.opt_text(15)?,
    })
}

fn ledger_from(row: &Row) -> Result<LedgerEntry, StoreError> {
    Ok(LedgerEntry {
        seq: Some(row.int(0)?),
        card_no: row.text(1)?,
        id_number: row.text(2)?,
        at: row.time(3)?,
        kind: row.text(4)?,
        amount: Fen(row.int(5)?),
        balance_after: Fen(row.int(6)?),
        reference: row.opt_text(7)?,
    })
}

fn employer_from(r: &Row) -> Result<Employer, StoreError> {
    Ok(Employer {
        id: r.text(0)?,
        name: r.text(1)?,
        region: region(&r.text(2)?)?,
        prev_year_avg_wage: r.opt_int(3)?.map(Fen),
        created_at: r.time(4)?,
    })
}

fn one<T>(
    rows: Vec<Row>,
    f: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    rows.first().map(f).transpose()
}

fn expect_one_row(changed: u64, what: &str) -> Result<(), StoreError> {
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Database(format!(
            "{what}: {changed} rows changed, expected 1"
        )))
    }
}

impl<C: SqlConn> Tx for SqlTx<'_, C> {
    fn insert_actor(&mut self, a: &Actor, token_digest: &str) -> Result<(), StoreError> {
        self.0.exec(
            "INSERT INTO actors (id, role, name, region, employer_id, created_at, token_digest, source, revoked_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            &[
                a.id.as_str().into(),
                a.role.as_str().into(),
                a.name.as_str().into(),
                a.region.as_ref().map(|r| r.as_str()).into(),
                a.employer_id.clone().into(),
                a.created_at.into(),
                token_digest.into(),
                a.source.as_str().into(),
                a.revoked_at.into(),
            ],
        )?;
        Ok(())
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

    fn insert_employer(&mut self, e: &Employer) -> Result<(), StoreError> {
        self.0.exec(
            "INSERT INTO employers (id, name, region, prev_year_avg_wage_fen, created_at) VALUES ($1, $2, $3, $4, $5)",
            &[e.id.as_str().into(), e.name.as_str().into(), e.region.as_str().into(), e.prev_year_avg_wage.map(|f| f.0).into(), e.created_at.into()],
        )?;
        Ok(())
    }

    fn employer(&mut self, id: &str) -> Result<Option<Employer>, StoreError> {
        let rows = self.0.query("SELECT id, name, region, prev_year_avg_wage_fen, created_at FROM employers WHERE id = $1", &[id.into()])?;
        one(rows, employer_from)
    }

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

    fn person(&mut self, id: &IdNumber, for_update: bool) -> Result<Option<Person>, StoreError> {
        const FOR_UPDATE: &str = concat!(
            "SELECT ",
            person_columns!(),
            " FROM persons WHERE id_number = $1 FOR UPDATE"
        );
        let sql = if for_update {
            FOR_UPDATE
        } else {
            PERSON_SELECT
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
        expect_one_row(changed, "update person")
    }

    fn insert_card(&mut self, c: &Card) -> Result<(), StoreError> {
        self.0.exec(
            "INSERT INTO cards (card_no, id_number, serial, bank_card_no, status, issued_at, ss_activation, ss_activation_at, \
             ss_password, ss_failures, ss_locked_at, fin_activated_at, fin_password, fin_failures, fin_locked_until, balance_fen, \
             loss_kind, loss_reported_at, loss_lapses_at, loss_channel, fin_lost_at, repl_replaces, repl_reason, repl_ready_on, \
             repl_fee_fen, repl_collected_at, replaced_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, \
             $24, $25, $26, $27)",
            &card_values(c),
        )?;
        Ok(())
    }

    fn card(&mut self, card_no: &CardNo, for_update: bool) -> Result<Option<Card>, StoreError> {
        const PLAIN: &str = card_select!("WHERE card_no = $1");
        const FOR_UPDATE: &str = card_select!("WHERE card_no = $1 FOR UPDATE");
        one(
            self.0.query(
                if for_update { FOR_UPDATE } else { PLAIN },
                &[card_no.as_str().into()],
            )?,
            card_from,
        )
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
             repl_fee_fen = $21, repl_collected_at = $22, replaced_by = $23 WHERE card_no = $1",
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

    fn insert_session(&mut self, s: &Session, token_digest: &str) -> Result<(), StoreError> {
        self.0.exec(
            "INSERT INTO sessions (token_digest, id, id_number, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
            &[token_digest.into(), s.id.as_str().into(), s.id_number.as_str().into(), s.created_at.into(), s.expires_at.into()],
        )?;
        Ok(())
    }

    fn session(&mut self, token_digest: &str) -> Result<Option<Session>, StoreError> {
        let rows = self.0.query(
            "SELECT id, id_number, created_at, expires_at FROM sessions WHERE token_digest = $1",
            &[token_digest.into()],
        )?;
        one(rows, |r| {
            Ok(Session {
                id: r.text(0)?,
                id_number: r.text(1)?,
                created_at: r.time(2)?,
                expires_at: r.time(3)?,
            })
        })
    }

    fn delete_sessions_of(
        &mut self,
        id_number: &str,
        except: Option<&str>,
    ) -> Result<u64, StoreError> {
        match except {
            Some(keep) => self.0.exec(
                "DELETE FROM sessions WHERE id_number = $1 AND id <> $2",
                &[id_number.into(), keep.into()],
            ),
            None => self.0.exec(
                "DELETE FROM sessions WHERE id_number = $1",
                &[id_number.into()],
            ),
        }
    }

    fn delete_session(&mut self, session_id: &str) -> Result<u64, StoreError> {
        self.0
            .exec("DELETE FROM sessions WHERE id = $1", &[session_id.into()])
    }

    fn sweep_sessions(
        &mut self,
        now: Timestamp,
        quiet_since: Timestamp,
    ) -> Result<u64, StoreError> {
        let sessions = self
            .0
            .exec("DELETE FROM sessions WHERE expires_at <= $1", &[now.into()])?;
        let throttles = self.0.exec(
            "DELETE FROM login_throttle WHERE last_failure_at < $1",
            &[quiet_since.into()],
        )?;
        Ok(sessions + throttles)
    }

    fn login_throttle(
        &mut self,
        id_number: &str,
        for_update: bool,
    ) -> Result<WebLoginThrottle, StoreError> {
        const PLAIN: &str =
            "SELECT failures, last_failure_at FROM login_throttle WHERE id_number = $1";
        const FOR_UPDATE: &str =
            "SELECT failures, last_failure_at FROM login_throttle WHERE id_number = $1 FOR UPDATE";
        if for_update {
            // The row must exist to be locked: racing first failures then queue on it.
            self.0.exec(
                "INSERT INTO login_throttle (id_number, failures, last_failure_at) VALUES ($1, 0, NULL) \
                 ON CONFLICT (id_number) DO NOTHING",
                &[id_number.into()],
            )?;
        }
        let rows = self.0.query(
            if for_update { FOR_UPDATE } else { PLAIN },
            &[id_number.into()],
        )?;
        Ok(one(rows, |r| {
            Ok(WebLoginThrottle {
                failures: u32::try_from(r.int(0)?)
                    .map_err(|_| corrupt("login_throttle.failures"))?,
                last_failure_at: r.opt_time(1)?,
            })
        })?
        .unwrap_or_default())
    }

    fn put_login_throttle(
        &mut self,
        id_number: &str,
        t: &WebLoginThrottle,
    ) -> Result<(), StoreError> {
        if *t == WebLoginThrottle::default() {
            self.0.exec(
                "DELETE FROM login_throttle WHERE id_number = $1",
                &[id_number.into()],
            )?;
        } else {
            self.0.exec(
                "INSERT INTO login_throttle (id_number, failures, last_failure_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (id_number) DO UPDATE SET failures = excluded.failures, last_failure_at = excluded.last_failure_at",
                &[id_number.into(), i64::from(t.failures).into(), t.last_failure_at.into()],
            )?;
        }
        Ok(())
    }

    fn append_audit(&mut self, a: &AuditRecord) -> Result<(), StoreError> {
        let ev = a.evidence.as_ref();
        self.0.exec(
            "INSERT INTO audit (at, actor_id, actor_role, actor_region, channel, action, card_no, id_number, ev_holder_present, \
             ev_holder_id_checked, ev_agent_id_number, ev_power_of_attorney, ev_employer_letter, outcome, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
            &[
                a.at.into(),
                a.actor_id.as_str().into(),
                a.actor_role.as_str().into(),
                a.actor_region.clone().into(),
                a.channel.as_str().into(),
                a.action.as_str().into(),
                a.card_no.clone().into(),
                a.id_number.clone().into(),
                ev.map(|e| i64::from(e.holder_present)).into(),
                ev.map(|e| i64::from(e.holder_id_checked)).into(),
                ev.and_then(|e| e.agent_id_number.as_ref()).map(|i| i.as_str()).into(),
                ev.map(|e| i64::from(e.power_of_attorney)).into(),
                ev.map(|e| i64::from(e.employer_letter)).into(),
                a.outcome.as_str().into(),
                a.detail.clone().into(),
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
                    "ev_holder_present, ev_holder_id_checked, ev_agent_id_number, ev_power_of_attorney, ev_employer_letter, outcome, detail ",
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

    fn append_ledger(&mut self, e: &LedgerEntry) -> Result<(), StoreError> {
        contributions::insert_ledger(self.0, e)
    }

    fn employer_for_update(&mut self, id: &str) -> Result<Option<Employer>, StoreError> {
        let rows = self.0.query("SELECT id, name, region, prev_year_avg_wage_fen, created_at FROM employers WHERE id = $1 FOR UPDATE", &[id.into()])?;
        one(rows, employer_from)
    }

    fn employers_after(&mut self, after: &str, limit: u32) -> Result<Vec<Employer>, StoreError> {
        let rows = self.0.query(
            "SELECT id, name, region, prev_year_avg_wage_fen, created_at FROM employers WHERE id > $1 ORDER BY id LIMIT $2",
            &[after.into(), i64::from(limit).into()],
        )?;
        rows.iter().map(employer_from).collect()
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

    fn employer_months(
        &mut self,
        employer_id: &str,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError> {
        contributions::employer_months(self.0, employer_id)
    }

    fn lock_check_months(
        &mut self,
        employer_id: &str,
        today: Date,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError> {
        contributions::lock_check_months(self.0, employer_id, today)
    }

    fn put_employer_month(&mut self, record: &EmployerMonthRecord) -> Result<(), StoreError> {
        contributions::put_employer_month(self.0, record)
    }

    fn months_awaiting_data(
        &mut self,
        after: &(String, String),
        limit: u32,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError> {
        contributions::months_awaiting_data(self.0, after, limit)
    }

    fn months_to_credit(
        &mut self,
        after: &(String, String),
        limit: u32,
    ) -> Result<Vec<EmployerMonthRecord>, StoreError> {
        contributions::months_to_credit(self.0, after, limit)
    }

    fn insert_assessment(&mut self, record: &AssessmentRecord) -> Result<(), StoreError> {
        contributions::insert_assessment(self.0, record)
    }

    fn assessments_of(&mut self, id: &IdNumber) -> Result<Vec<AssessmentRecord>, StoreError> {
        contributions::assessments_of(self.0, id)
    }

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
        contributions::credit_assessments(
            self.0,
            employer_id,
            month,
            after,
            limit,
            claim,
            at,
            balance_max,
        )
    }

    fn insert_payment(&mut self, payment: &PaymentRecord) -> Result<(), StoreError> {
        contributions::insert_payment(self.0, payment)
    }

    fn payment_by_reference(
        &mut self,
        employer_id: &str,
        source: PaymentSource,
        reference: &str,
    ) -> Result<Option<PaymentRecord>, StoreError> {
        contributions::payment_by_reference(self.0, employer_id, source, reference)
    }

    fn payments_of(
        &mut self,
        employer_id: &str,
        month: Month,
    ) -> Result<Vec<PaymentRecord>, StoreError> {
        contributions::payments_of(self.0, employer_id, month)
    }

    fn settlement(
        &mut self,
        actor_id: &str,
        client_txn_id: &str,
    ) -> Result<Option<SettlementRecord>, StoreError> {
        contributions::settlement(self.0, actor_id, client_txn_id)
    }

    fn insert_settlement(&mut self, record: &SettlementRecord) -> Result<(), StoreError> {
        contributions::insert_settlement(self.0, record)
    }

    fn insert_filing(&mut self, record: &FilingRecord) -> Result<(), StoreError> {
        contributions::insert_filing(self.0, record)
    }

    fn filings_of(&mut self, id: &IdNumber) -> Result<Vec<FilingRecord>, StoreError> {
        contributions::filings_of(self.0, id)
    }

    fn job_run(&mut self, name: &str) -> Result<Option<JobRun>, StoreError> {
        contributions::job_run(self.0, name)
    }

    fn put_job_run(&mut self, run: &JobRun) -> Result<(), StoreError> {
        contributions::put_job_run(self.0, run)
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
    // --- console and dashboard (issue 5) ---
    fn lock_counts(&mut self, now: Timestamp) -> Result<shebao_service::LockCounts, StoreError> {
        // One statement per figure keeps each one plain SQL on both engines.
        let count =
            |conn: &mut C, sql: &'static str, params: &[Value]| -> Result<u64, StoreError> {
                let rows = conn.query(sql, params)?;
                let n = rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
                u64::try_from(n).map_err(|_| corrupt("negative count"))
            };
        let mut counts = shebao_service::LockCounts {
            ss_password: count(
                self.0,
                "SELECT COUNT(*) FROM cards WHERE status <> 'replaced' AND ss_locked_at IS NOT NULL",
                &[],
            )?,
            fin_password: count(
                self.0,
                "SELECT COUNT(*) FROM cards WHERE status <> 'replaced' AND fin_locked_until > $1",
                &[now.into()],
            )?,
            replacements_waiting: count(
                self.0,
                "SELECT COUNT(*) FROM cards WHERE repl_ready_on IS NOT NULL AND repl_collected_at IS NULL AND status <> 'replaced'",
                &[],
            )?,
            ..Default::default()
        };
        // A pre-loss past its lapse instant no longer holds even if no request settled it yet.
        let rows = self.0.query(
            "SELECT loss_kind, COUNT(*) FROM cards WHERE status <> 'replaced' AND loss_kind IS NOT NULL \
             AND (loss_lapses_at IS NULL OR loss_lapses_at > $1) GROUP BY loss_kind",
            &[now.into()],
        )?;
        for row in &rows {
            let n = u64::try_from(row.int(1)?).map_err(|_| corrupt("negative count"))?;
            match LossKind::parse(&row.text(0)?) {
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
            "SELECT card_no, loss_lapses_at FROM cards WHERE status <> 'replaced' AND loss_kind = 'pre' \
             AND loss_lapses_at > $1 AND loss_lapses_at <= $2 ORDER BY loss_lapses_at, card_no LIMIT $3",
            &[now.into(), until.into(), i64::from(limit).into()],
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
            "SELECT card_no, repl_ready_on FROM cards WHERE repl_ready_on IS NOT NULL AND repl_collected_at IS NULL \
             AND status <> 'replaced' ORDER BY repl_ready_on, card_no LIMIT $1",
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

    fn lock_events_by_day(
        &mut self,
        since: Timestamp,
    ) -> Result<Vec<(i64, String, i64)>, StoreError> {
        // Shanghai is UTC+8 without daylight saving: the day number is integer arithmetic on the
        // stored microseconds, the same on both engines.
        let rows = self.0.query(
            "SELECT (at + 28800000000) / 86400000000, action, COUNT(*) FROM audit \
             WHERE at >= $1 AND (outcome = 'locked' OR (action = 'card.loss.report' AND outcome = 'ok')) \
             GROUP BY (at + 28800000000) / 86400000000, action ORDER BY 1",
            &[since.into()],
        )?;
        rows.iter()
            .map(|r| Ok((r.int(0)?, r.text(1)?, r.int(2)?)))
            .collect()
    }

    fn unit_locked_employers(
        &mut self,
        today: Date,
        limit: u32,
    ) -> Result<shebao_service::UnitLocks, StoreError> {
        // The same condition as `contributions::lock_check_months` (`EmployerMonth::locks`): not
        // cleared, from the first day of the next month, not paid on time what was owed by the
        // due day. Dates are stored as `YYYY-MM-DD` text, which orders as dates.
        let rows = self.0.query(
            "SELECT COUNT(DISTINCT employer_id) FROM employer_months \
             WHERE cleared_at IS NULL AND lock_from <= $1 AND paid_on_time_fen < owed_fen",
            &[today.into()],
        )?;
        let count = rows.first().map(|r| r.int(0)).transpose()?.unwrap_or(0);
        let rows = self.0.query(
            "SELECT m.employer_id, e.name, MIN(m.lock_from) FROM employer_months m \
             JOIN employers e ON e.id = m.employer_id \
             WHERE m.cleared_at IS NULL AND m.lock_from <= $1 AND m.paid_on_time_fen < m.owed_fen \
             GROUP BY m.employer_id, e.name ORDER BY 3, 1 LIMIT $2",
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
