//! The cardholder portal: log in with ID number and query password (R-PW-8; the first login
//! forces a change), see the card, both accounts, the balance and every ledger entry (R-CR-2),
//! report a temporary loss online (R-LS-2) and file an out-of-area care filing (R-MS-3); read
//! the contribution record month by month (R-CR-2) and the holder's own trail — who did what,
//! where, through which channel, and how the holder was identified (R-PW-9). A unit
//! lock is shown with what to do (R-EM-5). The electronic card (R-KM-2, D-16) is activated and
//! deactivated on the home page, and its single-use payment code shown as a QR image drawn on
//! the server (`/portal/ecard`, a fresh code each time it is opened, never cached). Wrong query passwords are throttled by the
//! service's own web lockout (D-4), which never touches the card's password lockout. The
//! transaction passwords are never set or read here.

use crate::Console;
use crate::extract::{
    CsrfForm, HolderForm, HolderSession, PasswordPageSession, PathParams, Posted, RefusedForm,
    refuse_to,
};
use crate::page::{
    Frame, current, error_flash, login_frame, render, render_with_cookie, see_other, unavailable,
    yuan,
};
use crate::session::{self, Flash, Who};
use crate::templates::{
    EcardBox, HolderCard, HolderContributions, HolderEcard, HolderHome, HolderLogin,
    HolderPassword, HolderTrail, account_boxes, contribution_rows, ledger_rows, status_key,
    trail_rows, unit_lock_box,
};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use shebao_domain::time::{SHANGHAI, business_date};
use shebao_service::model::{Actor, AuditRecord};
use shebao_service::secret::Secret;
use shebao_service::{NewFiling, Service, ServiceError};
use std::collections::VecDeque;
use zeroize::Zeroizing;

/// Records the trail page shows at a time (newest first).
const TRAIL_ROWS: usize = 100;

pub async fn login_page(State(console): State<Console>, headers: HeaderMap) -> Response {
    let current = current(&console, &headers).await;
    if current.as_ref().is_some_and(|c| c.is_holder) {
        return see_other("/portal/home", &[]);
    }
    let (frame, cookie) = login_frame(
        &console,
        &headers,
        current,
        "portal",
        "portal.login.title",
        "/portal/login",
    )
    .await;
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

impl CsrfForm for LoginForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

pub async fn login(State(console): State<Console>, posted: Posted<LoginForm>) -> Response {
    let Posted {
        form,
        session,
        lang,
    } = posted;
    let Some(mut cur) = session else {
        return see_other("/portal/login", &[]);
    };
    let id_number = form.id_number.trim().to_uppercase();
    match console
        .service
        .login(&id_number, form.query_password.into_inner())
        .await
    {
        Ok(result) => {
            // A new session id at login (no fixation); the anonymous one ends.
            console.sessions.end(&cur).await;
            let now = console.service.clock().now();
            let to = if result.must_change_password {
                "/portal/password"
            } else {
                "/portal/home"
            };
            match console
                .sessions
                .start(
                    Who::Holder {
                        token: Zeroizing::new(result.token.to_string()),
                    },
                    now,
                )
                .await
            {
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
pub struct LogoutForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfForm for LogoutForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// As the clerk's: the server's session ends only with its own token; the cookie goes anyway.
/// The holder's service session ends too (R-PW-8: logout ends the session), so the token the
/// browser session acted with is dead on every server.
pub async fn logout(State(console): State<Console>, posted: Posted<LogoutForm>) -> Response {
    if let Some(cur) = posted.session {
        if let Some(digest) = cur.token_digest.clone().filter(|_| cur.is_holder)
            && let Ok(actor) = console.service.authenticate_digest(digest).await
            && let Err(e) = console.service.logout(&actor).await
        {
            tracing::warn!(error = %e, "the holder's service session was not ended");
        }
        console.sessions.end(&cur).await;
    }
    see_other(
        "/portal/login",
        &[session::clear_session_cookie(console.options.cookie_secure)],
    )
}

pub async fn password_page(holder: PasswordPageSession) -> Response {
    password_page_for(holder, None)
}

/// The password page, with a refusal of the form in place of the session's flash.
fn password_page_for(holder: PasswordPageSession, refusal: Option<Flash>) -> Response {
    let PasswordPageSession {
        current: mut cur,
        actor,
        lang,
    } = holder;
    if refusal.is_some() {
        cur.flash = refusal;
    }
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

impl CsrfForm for PasswordForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The password page shows its refusals itself, a stale token's too.
impl RefusedForm<PasswordPageSession> for PasswordForm {
    async fn refused(_: &Console, holder: PasswordPageSession, _: &PathParams) -> Response {
        password_page_for(
            holder,
            Some(Flash {
                ok: false,
                key: "err.csrf",
                detail: None,
            }),
        )
    }
}

pub async fn change_password(
    State(console): State<Console>,
    posted: HolderForm<PasswordForm, true>,
) -> Response {
    let HolderForm { holder, form } = posted;
    let lang = holder.lang;
    let outcome = if form.new_password.expose() != form.confirm_password.expose() {
        Err(Flash {
            ok: false,
            key: "portal.pw.mismatch",
            detail: None,
        })
    } else {
        console
            .service
            .change_query_password(
                &holder.actor,
                form.old_password.into_inner(),
                form.new_password.into_inner(),
                None,
            )
            .await
            .map_err(|e| error_flash(&e, lang))
    };
    match outcome {
        Ok(()) => {
            console
                .sessions
                .set_flash(
                    &holder.current,
                    Flash {
                        ok: true,
                        key: "portal.pw.done",
                        detail: None,
                    },
                )
                .await;
            see_other("/portal/home", &[])
        }
        Err(flash) => password_page_for(holder, Some(flash)),
    }
}

pub async fn home(State(console): State<Console>, holder: HolderSession) -> Response {
    let HolderSession {
        current: cur,
        actor,
        lang,
    } = holder;
    let service = &console.service;
    // The person, the card and the ledger: a page without one of them would read as "no
    // card" or "no entries", so a failure shows the error and nothing else.
    let failed = |e: ServiceError| unavailable(lang, "portal", Some(&cur), "/portal/home", &e);
    let person = match service.own_person(&actor).await {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    // The newest card that is not replaced is the one the holder uses.
    let card_no = person
        .current_card()
        .or(person.cards.first())
        .map(|c| c.card_no.to_string());
    let mut card = None;
    let mut ledger = Vec::new();
    if let Some(no) = card_no {
        let view = match service.card(&actor, &no).await {
            Ok(view) => view,
            Err(e) => return failed(e),
        };
        let now = service.clock().now();
        let offers = view.card.offers(now);
        card = Some(HolderCard {
            card_no: view.card.card_no.to_string(),
            status_key: status_key(view.card.status.as_str()),
            balance: yuan(view.card.balance),
            lost: view.card.loss_in_force(now).is_some(),
            accounts: account_boxes(&view, lang),
            unit_lock: unit_lock_box(&view, lang),
            ecard: EcardBox::of(&view.card, &offers),
            offers,
        });
        // R-CR-2: every movement on the personal account, over all the person's cards.
        ledger = match service
            .ledger(&actor, &no, None, Some(shebao_service::AUDIT_LIMIT_MAX))
            .await
        {
            Ok(l) => l,
            Err(e) => return failed(e),
        };
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

/// R-CR-2: the holder's own contribution record, month by month (newest first).
pub async fn contributions(State(console): State<Console>, holder: HolderSession) -> Response {
    let HolderSession {
        current: cur,
        actor,
        lang,
    } = holder;
    let here = "/portal/contributions";
    let failed = |e: ServiceError| unavailable(lang, "portal", Some(&cur), here, &e);
    let Some(id_number) = actor.id_number.clone() else {
        return see_other("/portal/login", &[]);
    };
    let service = &console.service;
    let person = match service.own_person(&actor).await {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    let lines = match service.contributions(&actor, id_number.as_str()).await {
        Ok(l) => l,
        Err(e) => return failed(e),
    };
    let frame = Frame::new(lang, "portal", "portal.nav.contributions", Some(&cur), here);
    render(&HolderContributions {
        t: frame.t,
        frame,
        holder_name: person.person.name.clone(),
        contributions: contribution_rows(&lines),
    })
}

#[derive(Deserialize)]
pub struct TrailQuery {
    /// Show the records before this one (the "earlier" link); none: the newest.
    before: Option<i64>,
}

/// R-PW-9: the holder's own trail, newest first, `TRAIL_ROWS` at a time.
pub async fn trail(
    State(console): State<Console>,
    Query(q): Query<TrailQuery>,
    holder: HolderSession,
) -> Response {
    let HolderSession {
        current: cur,
        actor,
        lang,
    } = holder;
    let here = "/portal/trail";
    let (records, earlier) = match trail_before(&console.service, &actor, q.before).await {
        Ok(found) => found,
        Err(e) => return unavailable(lang, "portal", Some(&cur), here, &e),
    };
    let frame = Frame::new(lang, "portal", "portal.trail.title", Some(&cur), here);
    render(&HolderTrail {
        t: frame.t,
        frame,
        rows: trail_rows(&records, lang),
        earlier,
        not_latest: q.before.is_some(),
    })
}

/// The newest `TRAIL_ROWS` of the holder's records before `before` (all, without it), newest
/// first, and the `before` of the page of older ones if there are any. The service pages
/// forward in `seq` order (`own_audit`), so the pages are read from the start, keeping the
/// last ones: a person's trail is short enough for that.
async fn trail_before(
    service: &Service,
    actor: &Actor,
    before: Option<i64>,
) -> Result<(Vec<AuditRecord>, Option<i64>), ServiceError> {
    let limit = shebao_service::AUDIT_LIMIT_MAX;
    let mut kept: VecDeque<AuditRecord> = VecDeque::with_capacity(TRAIL_ROWS);
    let mut dropped = false;
    let mut after = None;
    'pages: loop {
        let page = service.own_audit(actor, after, Some(limit)).await?;
        let full = page.len() >= usize::try_from(limit).unwrap_or(usize::MAX);
        let last = page.last().and_then(|r| r.seq);
        for r in page {
            if before.is_some_and(|b| r.seq.is_none_or(|s| s >= b)) {
                break 'pages;
            }
            if kept.len() == TRAIL_ROWS {
                kept.pop_front();
                dropped = true;
            }
            kept.push_back(r);
        }
        // A short page is the last; a page without a position to go on from ends it too.
        match last {
            Some(seq) if full && after.is_none_or(|a| seq > a) => after = Some(seq),
            _ => break,
        }
    }
    let earlier = if dropped {
        kept.front().and_then(|r| r.seq)
    } else {
        None
    };
    Ok((kept.into_iter().rev().collect(), earlier))
}

#[derive(Deserialize)]
pub struct LossForm {
    #[serde(default)]
    csrf: String,
    confirm: Option<String>,
}

impl CsrfForm for LossForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// The portal's forms are on the home page, and go back there refused.
impl RefusedForm<HolderSession> for LossForm {
    async fn refused(console: &Console, holder: HolderSession, _: &PathParams) -> Response {
        refuse_to(console, &holder.current, "/portal/home").await
    }
}

/// R-LS-2: a temporary loss online, on the holder's own card (the service checks it is).
pub async fn report_loss(State(console): State<Console>, posted: HolderForm<LossForm>) -> Response {
    let HolderForm { holder, form } = posted;
    let HolderSession {
        current: cur,
        actor,
        lang,
    } = holder;
    let flash = if form.confirm.is_none() {
        Flash {
            ok: false,
            key: "portal.loss.confirm",
            detail: None,
        }
    } else {
        let service = &console.service;
        match service.own_person(&actor).await {
            // A person the service cannot read is not a person without a card.
            Err(e) => error_flash(&e, lang),
            Ok(p) => match p.current_card().map(|c| c.card_no.to_string()) {
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
            },
        }
    };
    console.sessions.set_flash(&cur, flash).await;
    see_other("/portal/home", &[])
}

#[derive(Deserialize)]
pub struct EcardForm {
    #[serde(default)]
    csrf: String,
}

impl CsrfForm for EcardForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl RefusedForm<HolderSession> for EcardForm {
    async fn refused(console: &Console, holder: HolderSession, _: &PathParams) -> Response {
        refuse_to(console, &holder.current, "/portal/home").await
    }
}

/// R-KM-2: the holder activates the electronic form of their current card (the service
/// checks it is theirs and that its social-security account is active).
pub async fn activate_ecard(
    State(console): State<Console>,
    posted: HolderForm<EcardForm>,
) -> Response {
    set_ecard(console, posted, true).await
}

/// The holder deactivates it (a lost phone): its unused codes stop working at once.
pub async fn deactivate_ecard(
    State(console): State<Console>,
    posted: HolderForm<EcardForm>,
) -> Response {
    set_ecard(console, posted, false).await
}

async fn set_ecard(console: Console, posted: HolderForm<EcardForm>, on: bool) -> Response {
    let HolderSession {
        current: cur,
        actor,
        lang,
    } = posted.holder;
    let service = &console.service;
    let flash = match service.own_person(&actor).await {
        Err(e) => error_flash(&e, lang),
        Ok(p) => match p.current_card().map(|c| c.card_no.to_string()) {
            None => Flash {
                ok: false,
                key: "portal.home.no_card",
                detail: None,
            },
            Some(no) => {
                let done = if on {
                    service.activate_ecard(&actor, &no).await
                } else {
                    service.deactivate_ecard(&actor, &no).await
                };
                match done {
                    Ok(_) if on => Flash {
                        ok: true,
                        key: "done.ecard_activate",
                        detail: None,
                    },
                    Ok(_) => Flash {
                        ok: true,
                        key: "done.ecard_deactivate",
                        detail: None,
                    },
                    Err(e) => ecard_refusal(&e, lang),
                }
            }
        },
    };
    console.sessions.set_flash(&cur, flash).await;
    see_other("/portal/home", &[])
}

/// A refusal of the electronic card in the page's words: the service says "not activated" in
/// English only (`NotActivated` has no contract code), meaning the social-security account
/// for an activation and the electronic card itself for a code; the rest as `error_flash`.
pub(crate) fn ecard_refusal(e: &ServiceError, lang: crate::i18n::Lang) -> Flash {
    match e {
        ServiceError::NotActivated(_) => Flash {
            ok: false,
            key: "ecard.needs_ss",
            detail: None,
        },
        _ => error_flash(e, lang),
    }
}

/// D-16: a fresh single-use payment code for the holder's current card, as a QR image drawn
/// on the server with its text, when it expires and the seconds left by the service's clock.
/// Each opening makes a new code (the page's "new code" button opens it again); like every
/// page it is `Cache-Control: no-store`, and the session cookie is `SameSite=Strict`, so no
/// other site opens it in the holder's name. A refusal (the electronic card not active) goes
/// back to the home page, saying why.
pub async fn ecard(State(console): State<Console>, holder: HolderSession) -> Response {
    let HolderSession {
        current: cur,
        actor,
        lang,
    } = holder;
    let here = "/portal/ecard";
    let service = &console.service;
    let code = match service.ecard_code(&actor).await {
        Ok(c) => c,
        Err(e @ (ServiceError::Store(_) | ServiceError::Internal(_))) => {
            return unavailable(lang, "portal", Some(&cur), here, &e);
        }
        Err(ServiceError::NotActivated(_)) => {
            let flash = Flash {
                ok: false,
                key: "portal.ecard.not_active",
                detail: None,
            };
            console.sessions.set_flash(&cur, flash).await;
            return see_other("/portal/home", &[]);
        }
        Err(e) => {
            console
                .sessions
                .set_flash(&cur, error_flash(&e, lang))
                .await;
            return see_other("/portal/home", &[]);
        }
    };
    let Some(qr_svg) = crate::qr::qr_svg(&code.code) else {
        let e = ServiceError::Internal("a payment code that is no QR code".into());
        return unavailable(lang, "portal", Some(&cur), here, &e);
    };
    let now = service.clock().now();
    // The code carries its expiry in whole seconds; it is refused from that second on.
    let remaining = (code.expires_at.as_second() - now.as_second()).max(0);
    let frame = Frame::new(lang, "portal", "portal.ecard.code_title", Some(&cur), here);
    render(&HolderEcard {
        t: frame.t,
        frame,
        qr_svg,
        code: code.code,
        expires_at: code
            .expires_at
            .to_zoned(SHANGHAI.clone())
            .strftime("%H:%M:%S")
            .to_string(),
        remaining,
    })
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

impl CsrfForm for FilingForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

impl RefusedForm<HolderSession> for FilingForm {
    async fn refused(console: &Console, holder: HolderSession, _: &PathParams) -> Response {
        refuse_to(console, &holder.current, "/portal/home").await
    }
}

/// R-MS-3: an out-of-area filing by the holder for themselves (the service refuses anyone
/// else's ID number, a late emergency, a region that is the insured one).
pub async fn file(State(console): State<Console>, posted: HolderForm<FilingForm>) -> Response {
    let HolderForm { holder, form } = posted;
    let HolderSession {
        current: cur,
        actor,
        lang,
    } = holder;
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
    let flash = filing_flash(console.service.file(&actor, filing).await, lang);
    console.sessions.set_flash(&cur, flash).await;
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
pub(crate) mod tests {
    use super::*;
    use crate::i18n::{Lang, Tr};
    use askama::Template;
    use shebao_domain::{Card, CardNo, IdNumber};

    pub(crate) fn card(ss_active: bool, ecard: bool) -> Card {
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        let mut c = Card::new(
            CardNo::parse("S00000001").unwrap(),
            IdNumber::parse_shape("11010519491231002X").unwrap(),
            "SERIAL".into(),
            "6200000000000000001".into(),
            at("2026-01-05T02:00:00Z"),
        );
        if ss_active {
            c.activate_ss(at("2026-01-06T02:00:00Z"));
        }
        if ecard {
            c.ecard_active_at = Some(at("2026-03-02T02:00:00Z"));
        }
        c
    }

    fn home(lang: Lang, card: &Card) -> String {
        let offers = card.offers("2026-03-02T03:00:00Z".parse().unwrap());
        let frame = Frame::new(lang, "portal", "portal.home.title", None, "/portal/home");
        HolderHome {
            t: Tr::new(lang),
            frame,
            holder_name: "张三".into(),
            card: Some(HolderCard {
                card_no: card.card_no.to_string(),
                status_key: status_key(card.status.as_str()),
                balance: "50.00".into(),
                lost: false,
                accounts: Vec::new(),
                unit_lock: None,
                ecard: EcardBox::of(card, &offers),
                offers,
            }),
            ledger: Vec::new(),
            filing_help: String::new(),
            today: "2026-03-02".into(),
        }
        .render()
        .unwrap()
    }

    // R-KM-2: the home page says whether the electronic card is active, in both languages,
    // and offers what the service would accept: activation once the social-security account
    // is active, then the payment code and the deactivation; never both at once.
    #[test]
    fn the_home_page_shows_the_electronic_card_and_its_forms() {
        for (lang, inactive, active, show) in [
            (Lang::Zh, "未激活", "已激活", "出示付款码"),
            (Lang::En, "Not activated", "Active", "Show the payment code"),
        ] {
            let page = home(lang, &card(false, false));
            assert!(page.contains(inactive), "{page}");
            assert!(page.contains("id=\"ecard-needs-ss\""), "{page}");
            assert!(!page.contains("/portal/ecard/activate"), "{page}");

            let page = home(lang, &card(true, false));
            assert!(page.contains("action=\"/portal/ecard/activate\""), "{page}");
            assert!(!page.contains("id=\"ecard-show\""), "{page}");
            assert!(!page.contains("ecard-needs-ss"), "{page}");
            let form = &page[page.find("action=\"/portal/ecard/activate\"").unwrap()..];
            assert!(form[..form.find("</form>").unwrap()].contains("name=\"csrf\""));

            let page = home(lang, &card(true, true));
            assert!(page.contains(&format!(">{active}</span>")), "{page}");
            assert!(
                page.contains("2026-03-02 10:00"),
                "activated at, Shanghai: {page}"
            );
            assert!(page.contains(show) && page.contains("href=\"/portal/ecard\""));
            assert!(
                page.contains("action=\"/portal/ecard/deactivate\""),
                "{page}"
            );
            assert!(!page.contains("/portal/ecard/activate"), "{page}");
        }
        // A lost card's electronic form is not offered either way.
        let mut lost = card(true, true);
        lost.report_loss(
            shebao_domain::card::LossKind::Temporary,
            "online",
            "2026-03-02T02:30:00Z".parse().unwrap(),
            None,
        )
        .unwrap();
        let page = home(Lang::Zh, &lost);
        assert!(page.contains("id=\"ecard-not-usable\""), "{page}");
        assert!(!page.contains("ecard-show") && !page.contains("/portal/ecard/"));
    }

    // D-16: the code's page shows the QR image inline (no <img>, no request), the code's text,
    // its expiry and the seconds left, and a button for a new one, in both languages.
    #[test]
    fn the_code_page_shows_the_qr_image_the_text_and_the_time_left() {
        let code = "EC2.0123456789AB.00000001.1772415660.5E2B9A01.A58F9B2C";
        for (lang, title, left, new) in [
            (Lang::Zh, "付款码", "剩余", "换一个付款码"),
            (Lang::En, "Payment code", "Time left", "New code"),
        ] {
            let frame = Frame::new(
                lang,
                "portal",
                "portal.ecard.code_title",
                None,
                "/portal/ecard",
            );
            let page = HolderEcard {
                t: Tr::new(lang),
                frame,
                qr_svg: crate::qr::qr_svg(code).unwrap(),
                code: code.into(),
                expires_at: "09:41:00".into(),
                remaining: 60,
            }
            .render()
            .unwrap();
            assert!(page.contains(title) && page.contains(left) && page.contains(new));
            let figure = &page[page.find("<figure id=\"ecard-qr\"").unwrap()..];
            assert!(
                figure.contains("><svg xmlns="),
                "the image is inline: {figure}"
            );
            assert!(
                !page.contains("<img") && !page.contains("&lt;svg"),
                "{page}"
            );
            assert!(page.contains(&format!("<code id=\"ecard-code\">{code}</code>")));
            assert!(page.contains("<strong id=\"ecard-expires\">09:41:00</strong>"));
            assert!(page.contains("<strong id=\"ecard-remaining\">60</strong>"));
            assert!(page.contains("<form method=\"get\" action=\"/portal/ecard\">"));
        }
    }

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
