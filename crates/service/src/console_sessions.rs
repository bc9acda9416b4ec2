//! The console's and the portal's browser sessions (issue 16), kept in the database so that
//! several servers sharing it serve one browser: whichever server a page request reaches
//! finds the session its cookie names, and a logout on one ends it on all. The console decides
//! the lifetimes and who may start a session; here sessions are stored, found, renewed and
//! ended. Only digests are stored: of the cookie's value (the session's key) and of the API
//! token the session acts with (`ConsoleSession::token_digest`, resolved by
//! `Service::authenticate_digest`).

use crate::Service;
use crate::error::ServiceError;
use crate::model::{ConsoleFlash, ConsoleSession};
use jiff::Timestamp;

impl Service {
    /// Stores a new console session under `key_digest` (the digest of its cookie's value).
    /// Sessions that expired go as new ones come.
    pub async fn start_console_session(
        &self,
        key_digest: String,
        session: ConsoleSession,
    ) -> Result<(), ServiceError> {
        let now = session.created_at;
        self.db
            .write(move |tx| {
                // Sessions only: no login throttle is that quiet.
                tx.sweep_sessions(now, Timestamp::MIN)?;
                tx.insert_console_session(&key_digest, &session)?;
                Ok(())
            })
            .await
    }

    /// The console session stored under `key_digest` if it is alive at `now`; one that expired
    /// is removed.
    pub async fn console_session(
        &self,
        key_digest: String,
        now: Timestamp,
    ) -> Result<Option<ConsoleSession>, ServiceError> {
        let key = key_digest.clone();
        let found = self
            .db
            .read(move |tx| Ok(tx.console_session(&key)?))
            .await?;
        match found {
            Some(session) if session.expires_at > now => Ok(Some(session)),
            Some(_) => {
                self.end_console_session(key_digest).await?;
                Ok(None)
            }
            None => Ok(None),
        }
    }

    /// Renews a console session to `expires_at` and sets its flash (`None` clears it). A
    /// session that ended meanwhile (a logout on another server) stays ended.
    pub async fn update_console_session(
        &self,
        key_digest: String,
        expires_at: Timestamp,
        flash: Option<ConsoleFlash>,
    ) -> Result<(), ServiceError> {
        self.db
            .write(move |tx| {
                tx.update_console_session(&key_digest, expires_at, flash.as_ref())?;
                Ok(())
            })
            .await
    }

    /// Ends a console session (a logout, a login that replaces it, a token no longer taken).
    pub async fn end_console_session(&self, key_digest: String) -> Result<(), ServiceError> {
        self.db
            .write(move |tx| {
                tx.delete_console_session(&key_digest)?;
                Ok(())
            })
            .await
    }
}
