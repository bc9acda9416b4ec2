//! The cardholder portal: log in with ID number and query password (R-PW-8; the first login
//! forces a change), see the card, both accounts, the balance and every ledger entry (R-CR-2),
//! report a temporary loss online (R-LS-2) and file an out-of-area care filing (R-MS-3). A unit
//! lock is shown with what to do (R-EM-5). Wrong query passwords are throttled by the
//! service's own web lockout (D-4), which never touches the card's password lockout. The
//! transaction passwords are never set or read here.

use crate::Console;
use crate::page::{
    Frame, current, error_flash, login_frame, render, render_with_cookie, see_other, yuan,
};
use crate::session::{self, Current, Flash, Who, csrf_ok};
use crate::templates::{
    HolderCard, HolderHome, HolderLogin, HolderPassword, account_boxes, ledger_rows, status_key,
    unit_lock_box,
};
use axum::Form;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::Response;
use serde::{Deserialize, Deserializer};
use shebao_domain::Role;
use shebao_domain::time::business_date;
use shebao_service::model::Actor;
use shebao_service::{NewFiling, ServiceError};
use zeroize::Zeroizing;

/// A password field from a form: zeroized when dropped, never printed.
#[derive(Default)]
pub struct Secret(Zeroizing<String>);

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Secret(Zeroizing::new(String::deserialize(d)?)))
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

pub async fn login_page(State(console): State<Console>, headers: HeaderMap) -> Response {
    if current(&console, &headers).is_some_and(|c| c.is_holder) {
        return see_other("/portal/home", &[]);
    }
    let (frame, cookie) = login_frame(
        &console,
        &headers,
        "portal",
        "portal.login.title",
        "/portal/login",
    );
    render_with_cookie(
        &HolderLogin {
            t: frame.t,
            frame,
            id_number: String::new(),
        },
        cookie,
    )
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    id_number: String,
    #[serde(default)]
    query_password: Secret,
}

pub async fn login(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    let lang = session::lang(&headers);
    let Some(mut cur) = current(&console, &headers).filter(|c| csrf_ok(c, &form.csrf)) else {
        return see_other("/portal/login", &[]);
    };
    let id_number = form.id_number.trim().to_uppercase();
    match console
        .service
        .login(&id_number, form.query_password.0.clone())
        .await
    {
        Ok(result) => {
            // A new session id at login (no fixation); the anonymous one ends.
            console.sessions.end(&cur.key);
            let now = console.service.clock().now();
            let to = if result.must_change_password {
                "/portal/password"
            } else {
                "/portal/home"
            };
            match console.sessions.start(
                Who::Holder {
                    token: Zeroizing::new(result.token.to_string()),
                },
                now,
            ) {
                Some((id, _)) => see_other(
                    to,
                    &[session::session_cookie(&id, console.options.cookie_secure)],
                ),
                None => see_other("/portal/login", &[]),
            }
        }
        Err(e) => {
            // One message for an unknown ID and a wrong password: the page tells nobody
            // whether an ID number is registered.
            cur.flash = Some(match e {
                ServiceError::TooManyAttempts { .. }
                | ServiceError::Store(_)
                | ServiceError::Internal(_) => error_flash(&e, lang),
                _ => Flash {
                    ok: false,
                    key: "portal.login.bad",
                    detail: None,
                },
            });
            let frame = Frame::new(
                lang,
                "portal",
                "portal.login.title",
                Some(&cur),
                "/portal/login",
            );
            render(&HolderLogin {
                t: frame.t,
                frame,
                id_number,
            })
        }
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<CsrfForm>,
) -> Response {
    if let Some(cur) = current(&console, &headers)
        && csrf_ok(&cur, &form.csrf)
    {
        console.sessions.end(&cur.key);
    }
    see_other(
        "/portal/login",
        &[session::clear_session_cookie(console.options.cookie_secure)],
    )
}

/// The logged-in cardholder, re-checked with the service each time (its session may have
/// expired). `allow_initial`: the password page, the only one open before the first change
/// (R-PW-8).
async fn holder(
    console: &Console,
    headers: &HeaderMap,
    allow_initial: bool,
) -> Result<(Current, Actor), Response> {
    let Some(cur) = current(console, headers).filter(|c| c.is_holder) else {
        return Err(see_other("/portal/login", &[]));
    };
    let Some(token) = cur.token.as_ref() else {
        return Err(see_other("/portal/login", &[]));
    };
    match console.service.authenticate(token).await {
        Ok(actor) if actor.role == Role::Cardholder => {
            if actor.must_change_password && !allow_initial {
                return Err(see_other("/portal/password", &[]));
            }
            Ok((cur, actor))
        }
        _ => {
            console.sessions.end(&cur.key);
            Err(see_other("/portal/login", &[]))
        }
    }
}

pub async fn password_page(State(console): State<Console>, headers: HeaderMap) -> Response {
    let lang = session::lang(&headers);
    let (cur, actor) = match holder(&console, &headers, true).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let frame = Frame::new(
        lang,
        "portal",
        "portal.pw.title",
        Some(&cur),
        "/portal/password",
    );
    render(&HolderPassword {
        t: frame.t,
        frame,
        forced: actor.must_change_password,
    })
}

#[derive(Deserialize)]
pub struct PasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    old_password: Secret,
    #[serde(default)]
    new_password: Secret,
    #[serde(default)]
    confirm_password: Secret,
}

pub async fn change_password(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<PasswordForm>,
) -> Response {
    let lang = session::lang(&headers);
    let (mut cur, actor) = match holder(&console, &headers, true).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let outcome = if !csrf_ok(&cur, &form.csrf) {
        Err(Flash {
            ok: false,
            key: "err.csrf",
            detail: None,
        })
    } else if *form.new_password.0 != *form.confirm_password.0 {
        Err(Flash {
            ok: false,
            key: "portal.pw.mismatch",
            detail: None,
        })
    } else {
        console
            .service
            .change_query_password(
                &actor,
                form.old_password.0.clone(),
                form.new_password.0.clone(),
            )
            .await
            .map_err(|e| error_flash(&e, lang))
    };
    match outcome {
        Ok(()) => {
            console.sessions.set_flash(
                &cur.key,
                Flash {
                    ok: true,
                    key: "portal.pw.done",
                    detail: None,
                },
            );
            see_other("/portal/home", &[])
        }
        Err(flash) => {
            cur.flash = Some(flash);
            let frame = Frame::new(
                lang,
                "portal",
                "portal.pw.title",
                Some(&cur),
                "/portal/password",
            );
            render(&HolderPassword {
                t: frame.t,
                frame,
                forced: actor.must_change_password,
            })
        }
    }
}

pub async fn home(State(console): State<Console>, headers: HeaderMap) -> Response {
    let lang = session::lang(&headers);
    let (cur, actor) = match holder(&console, &headers, false).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let service = &console.service;
    let person = match service.own_person(&actor).await {
        Ok(p) => p,
        Err(e) => {
            console.sessions.set_flash(&cur.key, error_flash(&e, lang));
            return see_other("/portal/login", &[]);
        }
    };
    // The newest card that is not replaced is the one the holder uses.
    let card_no = person
        .current_card()
        .or(person.cards.first())
        .map(|c| c.card_no.to_string());
    let mut card = None;
    let mut ledger = Vec::new();
    if let Some(no) = card_no {
        if let Ok(view) = service.card(&actor, &no).await {
            let now = service.clock().now();
            card = Some(HolderCard {
                card_no: view.card.card_no.to_string(),
                status_key: status_key(view.card.status.as_str()),
                balance: yuan(view.card.balance),
                lost: view.card.loss_in_force(now).is_some(),
                accounts: account_boxes(&view, lang),
                unit_lock: unit_lock_box(&view, lang),
            });
        }
        // R-CR-2: every movement on the personal account, over all the person's cards.
        ledger = service
            .ledger(&actor, &no, None, Some(shebao_service::AUDIT_LIMIT_MAX))
            .await
            .unwrap_or_default();
    }
    let frame = Frame::new(
        lang,
        "portal",
        "portal.home.title",
        Some(&cur),
        "/portal/home",
    );
    render(&HolderHome {
        t: frame.t,
        frame,
        holder_name: person.person.name.clone(),
        card,
        ledger: ledger_rows(&ledger, lang),
        filing_help: filing_help(&console, lang),
        today: business_date(service.clock().now()).to_string(),
    })
}

#[derive(Deserialize)]
pub struct LossForm {
    #[serde(default)]
    csrf: String,
    confirm: Option<String>,
}

/// R-LS-2: a temporary loss online, on the holder's own card (the service checks it is).
pub async fn report_loss(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<LossForm>,
) -> Response {
    let lang = session::lang(&headers);
    let (cur, actor) = match holder(&console, &headers, false).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let flash = if !csrf_ok(&cur, &form.csrf) {
        Flash {
            ok: false,
            key: "err.csrf",
            detail: None,
        }
    } else if form.confirm.is_none() {
        Flash {
            ok: false,
            key: "portal.loss.confirm",
            detail: None,
        }
    } else {
        let service = &console.service;
        let card_no = match service.own_person(&actor).await {
            Ok(p) => p.current_card().map(|c| c.card_no.to_string()),
            Err(_) => None,
        };
        match card_no {
            None => Flash {
                ok: false,
                key: "portal.home.no_card",
                detail: None,
            },
            Some(no) => match service
                .report_loss(&actor, &no, "temporary", Some("online"), None)
                .await
            {
                Ok(_) => Flash {
                    ok: true,
                    key: "portal.loss.done",
                    detail: None,
                },
                Err(e) => error_flash(&e, lang),
            },
        }
    };
    console.sessions.set_flash(&cur.key, flash);
    see_other("/portal/home", &[])
}

#[derive(Deserialize)]
pub struct FilingForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
    #[serde(default)]
    region: String,
    admitted_on: Option<String>,
}

/// R-MS-3: an out-of-area filing by the holder for themselves (the service refuses anyone
/// else's ID number, a late emergency, a region that is the insured one).
pub async fn file(
    State(console): State<Console>,
    headers: HeaderMap,
    Form(form): Form<FilingForm>,
) -> Response {
    let lang = session::lang(&headers);
    let (cur, actor) = match holder(&console, &headers, false).await {
        Ok(x) => x,
        Err(r) => return r,
    };
    let flash = if !csrf_ok(&cur, &form.csrf) {
        Flash {
            ok: false,
            key: "err.csrf",
            detail: None,
        }
    } else {
        let Some(id_number) = actor.id_number.clone() else {
            return see_other("/portal/login", &[]);
        };
        let admitted_on = form
            .admitted_on
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_owned);
        let filing = NewFiling {
            id_number: id_number.as_str().to_owned(),
            kind: form.kind.trim().to_owned(),
            region: form.region.trim().to_owned(),
            admitted_on,
        };
        filing_flash(console.service.file(&actor, filing).await, lang)
    };
    console.sessions.set_flash(&cur.key, flash);
    see_other("/portal/home", &[])
}

/// A filing's outcome in words (R-MS-3): its number and, for an emergency, the deadline; a
/// late emergency with the last day it could have been filed.
pub(crate) fn filing_flash(
    result: Result<shebao_service::FilingView, ServiceError>,
    lang: crate::i18n::Lang,
) -> Flash {
    let t = crate::i18n::Tr::new(lang);
    match result {
        Ok(v) => Flash {
            ok: true,
            key: "portal.filing.done",
            detail: Some(match v.deadline {
                Some(d) => format!(
                    "{}: {} · {}: {d}",
                    t.get("portal.filing.number"),
                    v.record.id,
                    t.get("portal.filing.deadline")
                ),
                None => format!("{}: {}", t.get("portal.filing.number"), v.record.id),
            }),
        },
        // The service names the last day in its message; the page says it in the page's
        // language with what to do.
        Err(ServiceError::Invalid {
            code: "filing_too_late",
            message,
        }) => Flash {
            ok: false,
            key: "portal.filing.too_late",
            detail: Some(format!(
                "{} {}",
                last_date_in(&message).unwrap_or_default(),
                t.get("portal.filing.too_late_help")
            )),
        },
        Err(e) => error_flash(&e, lang),
    }
}

/// The emergency filing's limit in working days (policy), in the page's words (R-MS-3).
pub(crate) fn filing_help(console: &Console, lang: crate::i18n::Lang) -> String {
    let days = console
        .service
        .policy()
        .settlement
        .emergency_filing_working_days;
    crate::i18n::Tr::new(lang)
        .get("portal.filing.emergency_rule")
        .replace("{days}", &days.to_string())
}

/// The last `YYYY-MM-DD` date in a text, if any.
fn last_date_in(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || c == ',' || c == ';' || c == ':')
        .rev()
        .find_map(|w| w.trim_end_matches('.').parse::<jiff::civil::Date>().ok())
        .map(|d| d.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_day_is_read_from_the_service_words() {
        assert_eq!(
            last_date_in(
                "an emergency admission is filed within 3 working days: the last day was 2026-04-09"
            )
            .as_deref(),
            Some("2026-04-09")
        );
        assert_eq!(last_date_in("no date here"), None);
    }
}
