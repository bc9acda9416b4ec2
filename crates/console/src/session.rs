//! Browser sessions: a random id in an HttpOnly, SameSite=Strict cookie (Secure unless the
//! operator turned it off for plain-HTTP demos); the server keeps, per session, who is logged
//! in (the clerk's actor token or the cardholder's service session token), a CSRF token every
//! form must echo, and one flash message. Only the SM3 digest of the cookie value is kept, as
//! the service does for tokens. The API's tokens never reach the browser.

use crate::i18n::Lang;
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use jiff::{SignedDuration, Timestamp};
use shebao_service::keys::{constant_time_eq, new_token, token_digest};
use std::collections::HashMap;
use std::sync::Mutex;
use zeroize::Zeroizing;

pub const SESSION_COOKIE: &str = "shebao_sid";
pub const LANG_COOKIE: &str = "shebao_lang";

/// Sessions the server holds at most; the oldest expiring go first when full.
const SESSIONS_MAX: usize = 10_000;
/// A session before anyone logs in (it only carries the login form's CSRF token).
const ANONYMOUS_TTL: SignedDuration = SignedDuration::from_mins(30);
/// A window clerk's session, renewed by use.
const CLERK_IDLE_TTL: SignedDuration = SignedDuration::from_hours(8);
/// A cardholder's session, renewed by use (the service's own session bounds it too).
const HOLDER_IDLE_TTL: SignedDuration = SignedDuration::from_mins(30);

/// Who a browser session belongs to.
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

struct Entry {
    who: Who,
    csrf: String,
    expires_at: Timestamp,
    flash: Option<Flash>,
}

/// What a handler learns about the current browser session.
pub struct Current {
    pub key: String,
    pub csrf: String,
    pub token: Option<Zeroizing<String>>,
    pub is_clerk: bool,
    pub is_holder: bool,
    pub flash: Option<Flash>,
}

#[derive(Default)]
pub struct Sessions {
    map: Mutex<HashMap<String, Entry>>,
}

impl Sessions {
    /// Starts a session for `who`; returns the cookie value (shown to the browser only) and
    /// the session's CSRF token.
    pub fn start(&self, who: Who, now: Timestamp) -> Option<(Zeroizing<String>, String)> {
        let id = new_token().ok()?;
        let csrf = new_token().ok()?.to_string();
        let ttl = ttl_of(&who);
        let mut map = self.map.lock().ok()?;
        if map.len() >= SESSIONS_MAX {
            map.retain(|_, e| e.expires_at > now);
            if map.len() >= SESSIONS_MAX {
                // A flood of login-page visits must not push out people who are logged in:
                // anonymous sessions go first, then the one closest to expiry.
                let oldest = map
                    .iter()
                    .min_by_key(|(_, e)| (!matches!(e.who, Who::Anonymous), e.expires_at))
                    .map(|(k, _)| k.clone());
                if let Some(k) = oldest {
                    map.remove(&k);
                }
            }
        }
        map.insert(
            token_digest(&id),
            Entry {
                who,
                csrf: csrf.clone(),
                expires_at: now.checked_add(ttl).unwrap_or(now),
                flash: None,
            },
        );
        Some((id, csrf))
    }

    /// The session the request's cookie names, if it is alive; renews it and takes its flash.
    pub fn current(&self, headers: &HeaderMap, now: Timestamp) -> Option<Current> {
        let id = cookie(headers, SESSION_COOKIE)?;
        let key = token_digest(&id);
        let mut map = self.map.lock().ok()?;
        let entry = map.get_mut(&key)?;
        if entry.expires_at <= now {
            map.remove(&key);
            return None;
        }
        entry.expires_at = now.checked_add(ttl_of(&entry.who)).unwrap_or(now);
        let (token, is_clerk, is_holder) = match &entry.who {
            Who::Anonymous => (None, false, false),
            Who::Clerk { token } => (Some(token.clone()), true, false),
            Who::Holder { token } => (Some(token.clone()), false, true),
        };
        Some(Current {
            key,
            csrf: entry.csrf.clone(),
            token,
            is_clerk,
            is_holder,
            flash: entry.flash.take(),
        })
    }

    pub fn set_flash(&self, key: &str, flash: Flash) {
        if let Ok(mut map) = self.map.lock()
            && let Some(e) = map.get_mut(key)
        {
            e.flash = Some(flash);
        }
    }

    pub fn end(&self, key: &str) {
        if let Ok(mut map) = self.map.lock() {
            map.remove(key);
        }
    }
}

fn ttl_of(who: &Who) -> SignedDuration {
    match who {
        Who::Anonymous => ANONYMOUS_TTL,
        Who::Clerk { .. } => CLERK_IDLE_TTL,
        Who::Holder { .. } => HOLDER_IDLE_TTL,
    }
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
    use axum::http::HeaderValue;

    fn now() -> Timestamp {
        "2026-03-02T01:00:00Z".parse().unwrap()
    }

    fn with_cookie(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn a_session_is_found_by_its_cookie_and_checks_its_csrf_token() {
        let sessions = Sessions::default();
        let (id, csrf) = sessions.start(Who::Anonymous, now()).unwrap();
        let h = with_cookie(&format!("other=1; {SESSION_COOKIE}={}", id.as_str()));
        let current = sessions.current(&h, now()).unwrap();
        assert!(csrf_ok(&current, &csrf));
        assert!(!csrf_ok(&current, "forged"));
        assert!(!csrf_ok(&current, ""));
        assert!(
            sessions
                .current(&with_cookie("shebao_sid=nope"), now())
                .is_none()
        );
    }

    #[test]
    fn sessions_expire() {
        let sessions = Sessions::default();
        let (id, _) = sessions.start(Who::Anonymous, now()).unwrap();
        let h = with_cookie(&format!("{SESSION_COOKIE}={}", id.as_str()));
        let later = now().checked_add(SignedDuration::from_hours(1)).unwrap();
        assert!(sessions.current(&h, later).is_none());
    }

    #[test]
    fn cookies_are_http_only_and_strict() {
        let c = session_cookie("abc", true);
        assert!(c.contains("HttpOnly") && c.contains("SameSite=Strict") && c.contains("Secure"));
        assert!(!session_cookie("abc", false).contains("Secure"));
    }
}
