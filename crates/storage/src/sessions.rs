//! Self-service sessions, the console's browser sessions (issue 16: in the database, so
//! several servers share them) and the web-login throttle kept per ID number (D-4).

use crate::common::*;
use crate::sql::SqlConn;
use jiff::Timestamp;
use shebao_domain::WebLoginThrottle;
use shebao_service::model::{ConsoleFlash, ConsoleKind, ConsoleSession, Session};
use shebao_service::store::*;

impl<C: SqlConn> SessionStore for SqlTx<'_, C> {
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
                id_number: r.id_number(1)?,
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
        let consoles = self.0.exec(
            "DELETE FROM console_sessions WHERE expires_at <= $1",
            &[now.into()],
        )?;
        let throttles = self.0.exec(
            "DELETE FROM login_throttle WHERE last_failure_at < $1",
            &[quiet_since.into()],
        )?;
        Ok(sessions + consoles + throttles)
    }

    fn insert_console_session(
        &mut self,
        key_digest: &str,
        s: &ConsoleSession,
    ) -> Result<(), StoreError> {
        let (flash_ok, flash_key, flash_detail) = flash_columns(s.flash.as_ref());
        self.0.exec(
            "INSERT INTO console_sessions (key_digest, kind, token_digest, created_at, expires_at, flash_ok, flash_key, flash_detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                key_digest.into(),
                s.kind.as_str().into(),
                s.token_digest.as_str().into(),
                s.created_at.into(),
                s.expires_at.into(),
                flash_ok.into(),
                flash_key.into(),
                flash_detail.into(),
            ],
        )?;
        Ok(())
    }

    fn console_session(&mut self, key_digest: &str) -> Result<Option<ConsoleSession>, StoreError> {
        let rows = self.0.query(
            "SELECT kind, token_digest, created_at, expires_at, flash_ok, flash_key, flash_detail \
             FROM console_sessions WHERE key_digest = $1",
            &[key_digest.into()],
        )?;
        one(rows, |r| {
            let flash = match (r.opt_int(4)?, r.opt_text(5)?) {
                (Some(ok), Some(key)) => Some(ConsoleFlash {
                    ok: ok != 0,
                    key,
                    detail: r.opt_text(6)?,
                }),
                _ => None,
            };
            Ok(ConsoleSession {
                kind: vocabulary(r.str(0)?, ConsoleKind::parse, "console session kind")?,
                token_digest: r.text(1)?,
                created_at: r.time(2)?,
                expires_at: r.time(3)?,
                flash,
            })
        })
    }

    fn update_console_session(
        &mut self,
        key_digest: &str,
        expires_at: Timestamp,
        flash: Option<&ConsoleFlash>,
    ) -> Result<u64, StoreError> {
        let (flash_ok, flash_key, flash_detail) = flash_columns(flash);
        self.0.exec(
            "UPDATE console_sessions SET expires_at = $2, flash_ok = $3, flash_key = $4, flash_detail = $5 \
             WHERE key_digest = $1",
            &[
                key_digest.into(),
                expires_at.into(),
                flash_ok.into(),
                flash_key.into(),
                flash_detail.into(),
            ],
        )
    }

    fn delete_console_session(&mut self, key_digest: &str) -> Result<u64, StoreError> {
        self.0.exec(
            "DELETE FROM console_sessions WHERE key_digest = $1",
            &[key_digest.into()],
        )
    }

    fn login_throttle(
        &mut self,
        id_number: &str,
        lock: Lock,
    ) -> Result<WebLoginThrottle, StoreError> {
        const PLAIN: &str =
            "SELECT failures, last_failure_at FROM login_throttle WHERE id_number = $1";
        const FOR_UPDATE: &str =
            "SELECT failures, last_failure_at FROM login_throttle WHERE id_number = $1 FOR UPDATE";
        if lock == Lock::ForUpdate {
            // The row must exist to be locked: racing first failures then queue on it.
            self.0.exec(
                "INSERT INTO login_throttle (id_number, failures, last_failure_at) VALUES ($1, 0, NULL) \
                 ON CONFLICT (id_number) DO NOTHING",
                &[id_number.into()],
            )?;
        }
        let rows = self.0.query(
            match lock {
                Lock::Read => PLAIN,
                Lock::ForUpdate => FOR_UPDATE,
            },
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
}

/// A console flash as its three columns (all NULL without one).
fn flash_columns(flash: Option<&ConsoleFlash>) -> (Option<i64>, Option<String>, Option<String>) {
    match flash {
        Some(f) => (Some(i64::from(f.ok)), Some(f.key.clone()), f.detail.clone()),
        None => (None, None, None),
    }
}
