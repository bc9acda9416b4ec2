//! Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie (Secure unless the
//! operator turned it off for plain-HTTP demos). A logged-in session is kept in the database
//! (issue 16), so every server sharing it serves the browser's next page and a logout on one
//! ends it on all: the row is found by the SM3 digest of the cookie's value and names who is
//! logged in by the digest of their API token (the clerk's actor token, the cardholder's
//! service session token) — neither the cookie nor a token is stored, and the API's tokens
//! never reach the browser. Each session has one flash message for its next page.
//!
//! A session before anyone logs in is not stored at all: it only carries the login form's
//! CSRF token, and every form's token is derived from the session's cookie (a digest apart
//! from the one that finds the row), so no server needs to remember it.

use crate::i18n::{Lang, known_key};
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use jiff::{SignedDuration, Timestamp};
use shebao_service::keys::{constant_time_eq, new_token, token_digest};
use shebao_service::model::{ConsoleFlash, ConsoleKind, ConsoleSession};
use shebao_service::{Service, ServiceError};
use std::sync::Arc;
use zeroize::Zeroizing;

pub const SESSION_COOKIE: &str = "shebao_sid";
pub const LANG_COOKIE: &str = "shebao_lang";

/// A window clerk's session, renewed by use.
const CLERK_IDLE_TTL: SignedDuration = SignedDuration::from_hours(8);
/// A cardholder's session, renewed by use (the service's own session bounds it too).
const HOLDER_IDLE_TTL: SignedDuration = SignedDuration::from_mins(30);
/// A session is renewed in the database at most this often (a page view is a read, not a
/// write, most of the time).
const RENEW_STEP: SignedDuration = SignedDuration::from_mins(1);

/// Who a browser session belongs to, with the API token it acts with (kept only as its
/// digest).
pub enum Who {
    Anonymous,
    /// A window clerk (or admin) logged in with the actor token.
    Clerk {
        token: Zeroizing<String>,
    },
    /// A cardholder logged in with ID number and query password (the service's session token).
    Holder {
        token: Zeroizing<String>,
    },
}

/// A message for the next page, shown once.
#[derive(Debug, Clone)]
pub struct Flash {
    pub ok: bool,
    /// Catalogue key.
    pub key: &'static str,
    /// Extra words (a service message, a new card number); never a password.
    pub detail: Option<String>,
}

/// What a handler learns about the current browser session.
pub struct Current {
    /// The digest of the cookie's value: the stored session's key.
    pub key: String,
    pub csrf: String,
    /// The digest of the API token the session acts with; `None` before anyone logged in.
    pub token_digest: Option<String>,
    pub is_clerk: bool,
    pub is_holder: bool,
    pub flash: Option<Flash>,
    /// When the stored session expires; `None` when nothing is stored (nobody logged in).
    expires_at: Option<Timestamp>,
}

/// The browser sessions, through the service (the console never touches storage).
pub struct Sessions {
    service: Arc<Service>,
}

impl Sessions {
    pub fn new(service: Arc<Service>) -> Sessions {
        Sessions { service }
    }

    /// Starts a session for `who`; returns the cookie value (shown to the browser only) and
    /// the session's CSRF token. `None` if it could not be stored.
    pub async fn start(&self, who: Who, now: Timestamp) -> Option<(Zeroizing<String>, String)> {
        let id = new_token().ok()?;
        let csrf = csrf_of(&id);
        let (kind, token) = match &who {
            Who::Anonymous => return Some((id, csrf)),
            Who::Clerk { token } => (ConsoleKind::Clerk, token),
            Who::Holder { token } => (ConsoleKind::Holder, token),
        };
        let session = ConsoleSession {
            kind,
            token_digest: token_digest(token),
            created_at: now,
            expires_at: now.checked_add(ttl_of(kind)).unwrap_or(now),
            flash: None,
        };
        match self
            .service
            .start_console_session(token_digest(&id), session)
            .await
        {
            Ok(()) => Some((id, csrf)),
            Err(e) => {
                tracing::warn!(error = %e, "a console session could not be stored");
                None
            }
        }
    }

    /// The session the request's cookie names: the stored one if it is alive (renewed, its
    /// flash taken), else one before login (a cookie of ours that names no live session).
    /// `Ok(None)` without a cookie of ours; `Err` when the database could not be asked.
    pub async fn current(
        &self,
        headers: &HeaderMap,
        now: Timestamp,
    ) -> Result<Option<Current>, ServiceError> {
        let Some(mut current) = self.anonymous(headers) else {
            return Ok(None);
        };
        let Some(stored) = self
            .service
            .console_session(current.key.clone(), now)
            .await?
        else {
            return Ok(Some(current));
        };
        let renewed = now.checked_add(ttl_of(stored.kind)).unwrap_or(now);
        let mut expires_at = stored.expires_at;
        if stored.flash.is_some() || renewed.duration_since(stored.expires_at) >= RENEW_STEP {
            // Renewed and the flash taken in one write; should it fail, the page still shows.
            match self
                .service
                .update_console_session(current.key.clone(), renewed, None)
                .await
            {
                Ok(()) => expires_at = renewed,
                Err(e) => tracing::warn!(error = %e, "a console session was not renewed"),
            }
        }
        current.token_digest = Some(stored.token_digest);
        current.is_clerk = stored.kind == ConsoleKind::Clerk;
        current.is_holder = stored.kind == ConsoleKind::Holder;
        current.flash = stored.flash.and_then(|f| {
            Some(Flash {
                ok: f.ok,
                key: known_key(&f.key)?,
                detail: f.detail,
            })
        });
        current.expires_at = Some(expires_at);
        Ok(Some(current))
    }

    /// The request's session as one before login, without asking the database: what a login
    /// page shows when the database cannot say more. `None` without a cookie of ours.
    pub fn anonymous(&self, headers: &HeaderMap) -> Option<Current> {
        let id = cookie(headers, SESSION_COOKIE).filter(|v| is_session_id(v))?;
        Some(Current {
            key: token_digest(&id),
            csrf: csrf_of(&id),
            token_digest: None,
            is_clerk: false,
            is_holder: false,
            flash: None,
            expires_at: None,
        })
    }

    /// Sets the flash of a stored session (a session before login has none to keep).
    pub async fn set_flash(&self, current: &Current, flash: Flash) {
        let Some(expires_at) = current.expires_at else {
            return;
        };
        let flash = ConsoleFlash {
            ok: flash.ok,
            key: flash.key.to_owned(),
            detail: flash.detail,
        };
        if let Err(e) = self
            .service
            .update_console_session(current.key.clone(), expires_at, Some(flash))
            .await
        {
            tracing::warn!(error = %e, "a console flash was not stored");
        }
    }

    /// Ends the session on every server (a session before login has nothing to end).
    pub async fn end(&self, current: &Current) {
        if current.expires_at.is_none() {
            return;
        }
        if let Err(e) = self.service.end_console_session(current.key.clone()).await {
            tracing::warn!(error = %e, "a console session was not ended");
        }
    }
}

fn ttl_of(kind: ConsoleKind) -> SignedDuration {
    match kind {
        ConsoleKind::Clerk => CLERK_IDLE_TTL,
        ConsoleKind::Holder => HOLDER_IDLE_TTL,
    }
}

/// A session's CSRF token: a digest of its cookie's value, apart from the one that finds the
/// stored session (that one is in the database; this one cannot be made from it).
fn csrf_of(cookie_value: &str) -> String {
    token_digest(&format!("shebao console csrf\n{cookie_value}"))
}

/// Whether a cookie's value is one of ours (`new_token`'s shape): anything else is no session.
fn is_session_id(value: &str) -> bool {
    value.len() == 68
        && value.starts_with("shb_")
        && value[4..].bytes().all(|b| b.is_ascii_hexdigit())
}

/// Whether a submitted form's token is the session's (constant time).
pub fn csrf_ok(current: &Current, submitted: &str) -> bool {
    !submitted.is_empty() && constant_time_eq(&current.csrf, submitted)
}

/// A cookie's value from the request.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_owned())
}

/// The `Set-Cookie` value for the session id.
pub fn session_cookie(value: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends the session cookie.
pub fn clear_session_cookie(secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The language a request asks for: the switch's cookie, else Chinese.
pub fn lang(headers: &HeaderMap) -> Lang {
    cookie(headers, LANG_COOKIE)
        .as_deref()
        .and_then(Lang::parse)
        .unwrap_or_default()
}

pub fn lang_cookie(lang: Lang, secure: bool) -> String {
    format!(
        "{LANG_COOKIE}={}; Path=/; Max-Age=31536000; SameSite=Strict{}",
        lang.code(),
        if secure { "; Secure" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_forms_token_comes_from_the_cookie_but_not_from_the_stored_digest() {
        let id = new_token().unwrap();
        assert!(is_session_id(&id));
        let csrf = csrf_of(&id);
        assert_eq!(csrf, csrf_of(&id));
        assert_ne!(
            csrf,
            token_digest(&id),
            "the stored key is not the form's token"
        );
        assert_ne!(csrf, csrf_of(&new_token().unwrap()));
        let current = Current {
            key: token_digest(&id),
            csrf,
            token_digest: None,
            is_clerk: false,
            is_holder: false,
            flash: None,
            expires_at: None,
        };
        assert!(csrf_ok(&current, &csrf_of(&id)));
        assert!(!csrf_ok(&current, "forged"));
        assert!(!csrf_ok(&current, ""));
    }

    #[test]
    fn only_our_cookie_values_name_a_session() {
        assert!(!is_session_id("nope"));
        assert!(!is_session_id(""));
        assert!(!is_session_id(&format!("shb_{}", "g".repeat(64))));
        assert!(!is_session_id(&format!("xyz_{}", "a".repeat(64))));
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let c = session_cookie("abc", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!session_cookie("abc", false).contains("Secure"));
    }
}
