//! What every page shares: the frame's fields, rendering, redirects, errors in words, and the
//! Shanghai-day formatting of instants and money.

use crate::Console;
use crate::i18n::{Lang, Tr};
use crate::session::{self, Current, Flash};
use crate::templates::Unavailable;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use jiff::Timestamp;
use serde::Deserialize;
use shebao_domain::Fen;
use shebao_domain::Missing;
use shebao_domain::time::SHANGHAI;
use shebao_service::ServiceError;

/// The frame around every page.
pub struct Frame {
    pub t: Tr,
    /// `console` or `portal`: which navigation to show.
    pub area: &'static str,
    pub title: String,
    pub csrf: String,
    pub logged_in: bool,
    pub flash: Option<FlashView>,
    /// Where the language switch goes (it comes back here).
    pub lang_href: String,
}

pub struct FlashView {
    pub ok: bool,
    pub text: String,
}

impl FlashView {
    /// A flash in the page's words: the catalogue's, then the detail.
    pub fn new(flash: Flash, t: Tr) -> FlashView {
        FlashView {
            ok: flash.ok,
            text: match flash.detail {
                Some(d) => format!("{} {}", t.get(flash.key), d),
                None => t.get(flash.key).to_owned(),
            },
        }
    }
}

impl Frame {
    pub fn new(
        lang: Lang,
        area: &'static str,
        title_key: &str,
        current: Option<&Current>,
        here: &str,
    ) -> Frame {
        let t = Tr::new(lang);
        let flash = current
            .and_then(|c| c.flash.clone())
            .map(|f| FlashView::new(f, t));
        Frame {
            t,
            area,
            title: t.get(title_key).to_owned(),
            csrf: current.map(|c| c.csrf.clone()).unwrap_or_default(),
            logged_in: current.is_some_and(|c| c.token_digest.is_some()),
            flash,
            lang_href: format!("/lang/{}?back={}", lang.other().code(), here),
        }
    }
}

/// Renders a template, or a plain 500 if it cannot (it never should: templates are checked
/// at compile time).
pub fn render<T: Template>(template: &T) -> Response {
    match template.render() {
        Ok(body) => Html(body).into_response(),
        Err(e) => {
            tracing::error!(error = %e, "rendering a console page");
            (StatusCode::INTERNAL_SERVER_ERROR, "internal error").into_response()
        }
    }
}

/// A page the service could not give what it shows (a storage or internal failure): the
/// error in words (`error_flash` logs the cause) and nothing that could be mistaken for an
/// empty ledger, list or card. `here` is where the language switch comes back to.
pub fn unavailable(
    lang: Lang,
    area: &'static str,
    current: Option<&Current>,
    here: &str,
    e: &ServiceError,
) -> Response {
    let mut frame = Frame::new(lang, area, "page.unavailable", current, here);
    frame.flash = Some(FlashView::new(error_flash(e, lang), frame.t));
    let mut response = render(&Unavailable { t: frame.t, frame });
    *response.status_mut() = StatusCode::INTERNAL_SERVER_ERROR;
    response
}

/// A 303 to `to` (the site's root if `to` is not a valid header value), optionally setting
/// cookies.
pub fn see_other(to: &str, cookies: &[String]) -> Response {
    let location = HeaderValue::from_str(to).unwrap_or(HeaderValue::from_static("/"));
    let mut response = (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response();
    for c in cookies {
        if let Ok(v) = HeaderValue::from_str(c) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
}

/// A service error as a flash: the catalogue's words for its kind, and the service's own
/// words as detail (lock messages in the page's language, R-LK-5). Internal causes are
/// logged, never shown.
pub fn error_flash(e: &ServiceError, lang: Lang) -> Flash {
    let t = Tr::new(lang);
    let (key, detail) = match e {
        ServiceError::EvidenceRequired { missing } => {
            ("err.evidence_required", Some(missing_evidence(missing, t)))
        }
        ServiceError::Invalid { code, message } => ("err.invalid", Some(by_code(code, message, t))),
        ServiceError::WrongPassword { .. } => ("err.wrong_password", None),
        ServiceError::AccountLocked { words, .. } => {
            ("err.locked", Some(t.pick(words.zh, words.en).to_owned()))
        }
        ServiceError::NotActivated(m) | ServiceError::AlreadyExists(m) => {
            ("err.conflict", Some(m.clone()))
        }
        ServiceError::Conflict { code, message } => {
            ("err.conflict", Some(by_code(code, message, t)))
        }
        ServiceError::NotFound(_) => ("err.not_found", None),
        ServiceError::Forbidden { message, .. } => ("err.forbidden", Some(message.clone())),
        ServiceError::Unauthorized(_) | ServiceError::TerminalAuth { .. } => {
            ("err.forbidden", None)
        }
        ServiceError::TooManyAttempts { retry_after_s } => {
            ("err.too_many", Some(retry_after_s.to_string()))
        }
        ServiceError::Store(_) | ServiceError::Internal(_) => {
            tracing::error!(error = %e, "console request failed");
            ("err.internal", None)
        }
    };
    Flash {
        ok: false,
        key,
        detail,
    }
}

/// The catalogue's words for a contract code, else the service's own message.
fn by_code(code: &str, message: &str, t: Tr) -> String {
    t.get_or(&format!("code.{code}"), message).to_owned()
}

/// The missing evidence, piece by piece in the page's language (the catalogue's words by the
/// piece's code; the service's own words for a piece the catalogue does not know).
fn missing_evidence(missing: &[Missing], t: Tr) -> String {
    missing
        .iter()
        .map(|m| t.get_or(&format!("ev.missing.{}", m.code()), m.describe()))
        .collect::<Vec<_>>()
        .join(match t.lang {
            Lang::Zh => "；",
            Lang::En => "; ",
        })
}

/// An instant as the Shanghai wall clock, minutes.
pub fn when(at: Timestamp) -> String {
    at.to_zoned(SHANGHAI.clone())
        .strftime("%Y-%m-%d %H:%M")
        .to_string()
}

/// Fen as yuan with two decimals.
pub fn yuan(amount: Fen) -> String {
    let fen = amount.0;
    let sign = if fen < 0 { "-" } else { "" };
    let abs = fen.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Only local paths may be redirect targets.
pub fn local_path(back: Option<&str>, fallback: &str) -> String {
    match back {
        // Browsers drop tabs and newlines inside URLs ("/\t/evil" becomes "//evil"): refuse
        // every control character and whitespace, backslashes and protocol-relative paths.
        Some(p)
            if p.starts_with('/')
                && !p.starts_with("//")
                && !p
                    .chars()
                    .any(|c| c == '\\' || c.is_control() || c.is_whitespace()) =>
        {
            p.to_owned()
        }
        _ => fallback.to_owned(),
    }
}

#[derive(Deserialize)]
pub struct LangQuery {
    back: Option<String>,
}

/// The language switch: a cookie, then back to the page it came from.
pub async fn switch_language(
    State(console): State<Console>,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> Response {
    let lang = Lang::parse(&code).unwrap_or_default();
    let back = local_path(q.back.as_deref(), "/");
    see_other(
        &back,
        &[session::lang_cookie(lang, console.options.cookie_secure)],
    )
}

/// The current session, if any, for a login page or form: one the database cannot be asked
/// about counts as one before login (the login itself will say the service cannot answer).
pub async fn current(console: &Console, headers: &HeaderMap) -> Option<Current> {
    match console
        .sessions
        .current(headers, console.service.clock().now())
        .await
    {
        Ok(current) => current,
        Err(e) => {
            tracing::warn!(error = %e, "a console session could not be looked up");
            console.sessions.anonymous(headers)
        }
    }
}

/// The frame of a login page: the browser's session `current` if it has one, else a new
/// anonymous session whose CSRF token the form carries; with the cookie to set, if new.
pub async fn login_frame(
    console: &Console,
    headers: &HeaderMap,
    current: Option<Current>,
    area: &'static str,
    title_key: &str,
    here: &str,
) -> (Frame, Option<String>) {
    let lang = session::lang(headers);
    if let Some(cur) = current {
        return (Frame::new(lang, area, title_key, Some(&cur), here), None);
    }
    let mut frame = Frame::new(lang, area, title_key, None, here);
    let now = console.service.clock().now();
    match console.sessions.start(session::Who::Anonymous, now).await {
        Some((id, csrf)) => {
            frame.csrf = csrf;
            (
                frame,
                Some(session::session_cookie(&id, console.options.cookie_secure)),
            )
        }
        None => (frame, None),
    }
}

/// Renders a page and sets a cookie on it, if any.
pub fn render_with_cookie<T: Template>(template: &T, cookie: Option<String>) -> Response {
    let mut response = render(template);
    if let Some(c) = cookie
        && let Ok(v) = HeaderValue::from_str(&c)
    {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_and_time_read_as_people_expect() {
        assert_eq!(yuan(Fen(12345)), "123.45");
        assert_eq!(yuan(Fen(5)), "0.05");
        assert_eq!(yuan(Fen(-250)), "-2.50");
        // 16:00 UTC is midnight of the next day in Shanghai.
        let t: Timestamp = "2026-03-10T16:00:00Z".parse().unwrap();
        assert_eq!(when(t), "2026-03-11 00:00");
    }

    #[test]
    fn refusals_read_in_the_page_language() {
        let e = ServiceError::EvidenceRequired {
            missing: vec![Missing::HolderIdChecked, Missing::PowerOfAttorney],
        };
        let zh = error_flash(&e, Lang::Zh).detail.unwrap();
        assert_eq!(zh, "须核验持卡人身份证原件；本地区代办须提供委托书");
        let en = error_flash(&e, Lang::En).detail.unwrap();
        assert!(en.starts_with("the holder's original ID card must be checked; "));
        let e = ServiceError::conflict("formal_loss", "a formal loss cannot be released");
        assert_eq!(
            error_flash(&e, Lang::Zh).detail.unwrap(),
            "正式挂失不能解除，请办理补卡。"
        );
        // A code the catalogue does not know keeps the service's words.
        let e = ServiceError::conflict("something_new", "as the service says");
        assert_eq!(
            error_flash(&e, Lang::Zh).detail.unwrap(),
            "as the service says"
        );
    }

    // A page the service failed to give says so, in words, and claims nothing else.
    #[tokio::test]
    async fn a_failed_read_shows_the_error_not_an_empty_page() {
        let e = ServiceError::Internal("the cause stays in the log".into());
        let response = unavailable(Lang::Zh, "portal", None, "/portal/home", &e);
        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let page = String::from_utf8(body.to_vec()).unwrap();
        assert!(page.contains("系统暂时无法办理，请稍后再试。"), "{page}");
        assert!(!page.contains("the cause stays in the log"), "{page}");
        assert!(
            !page.contains("暂无记录") && !page.contains("您还没有社保卡"),
            "{page}"
        );
    }

    #[test]
    fn redirects_stay_on_this_site() {
        assert_eq!(local_path(Some("/portal/home"), "/"), "/portal/home");
        assert_eq!(local_path(Some("//evil.example"), "/"), "/");
        assert_eq!(local_path(Some("https://evil.example"), "/"), "/");
        assert_eq!(local_path(Some("/\t/evil.example"), "/"), "/");
        assert_eq!(local_path(Some("/\\evil.example"), "/"), "/");
        assert_eq!(local_path(None, "/x"), "/x");
    }
}
