//! The service-window console: log in with the clerk's actor token, find a person or card,
//! see both accounts and why anything is locked (R-LK-5), and act with the evidence the
//! region asks for (R-LK-2, R-LK-4). A password is typed by the holder on the PIN pad: no page
//! here shows or asks for one; a reset restores the initial, not-enabled password (R-PW-7).

use crate::Console;
use crate::extract::{
    ClerkForm, ClerkSession, CsrfForm, PathParams, Posted, RefusedForm, refuse_to,
};
use crate::i18n::Lang;
use crate::page::{
    Frame, current, error_flash, login_frame, render, render_with_cookie, see_other, when, yuan,
};
use crate::portal::{ecard_refusal, filing_flash, filing_help};
use crate::session::{self, Current, Flash, Who};
use crate::templates::{
    CardPage, ClerkLogin, EcardBox, LossBox, PersonResult, ReplacementBox, Search, account_boxes,
    audit_rows, contribution_rows, ledger_rows, status_key, unit_lock_box,
};
use axum::extract::{Path, Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use serde::Deserialize;
use shebao_domain::card::LossKind;
use shebao_domain::time::business_date;
use shebao_domain::{Evidence, IdNumber, Role};
use shebao_service::AuditFilter;
use shebao_service::{ActivationRequest, NewFiling, ServiceError};

/// Audit records a card page shows at most (newest first).
const AUDIT_ROWS_MAX: u32 = 200;

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
}

pub async fn login_page(State(console): State<Console>, headers: HeaderMap) -> Response {
    let current = current(&console, &headers).await;
    if current.as_ref().is_some_and(|c| c.is_clerk) {
        return see_other("/console/search", &[]);
    }
    let (frame, cookie) = login_frame(
        &console,
        &headers,
        current,
        "console",
        "login.clerk.title",
        "/console/login",
    )
    .await;
    render_with_cookie(
        &ClerkLogin {
            t: frame.t,
            frame,
            bad: false,
        },
        cookie,
    )
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
        return see_other("/console/login", &[]);
    };
    let token = zeroize::Zeroizing::new(form.token.trim().to_owned());
    let (accepted, failure) = match console.service.authenticate(&token).await {
        Ok(actor) => (matches!(actor.role, Role::Clerk | Role::Admin), None),
        // A service that cannot answer says so: that is not a wrong token.
        Err(e @ (ServiceError::Store(_) | ServiceError::Internal(_))) => {
            (false, Some(error_flash(&e, lang)))
        }
        Err(_) => (false, None),
    };
    if !accepted {
        let bad = failure.is_none();
        if failure.is_some() {
            cur.flash = failure;
        }
        let frame = Frame::new(
            lang,
            "console",
            "login.clerk.title",
            Some(&cur),
            "/console/login",
        );
        return render(&ClerkLogin {
            t: frame.t,
            frame,
            bad,
        });
    }
    // A new session id at login (no fixation); the anonymous one ends.
    console.sessions.end(&cur).await;
    let now = console.service.clock().now();
    match console.sessions.start(Who::Clerk { token }, now).await {
        Some((id, _)) => see_other(
            "/console/search",
            &[session::session_cookie(&id, console.options.cookie_secure)],
        ),
        None => see_other("/console/login", &[]),
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

/// Logging out ends the server's session only with the session's own token (a forged form
/// ends nothing); the browser is told to drop the cookie either way.
pub async fn logout(State(console): State<Console>, posted: Posted<LogoutForm>) -> Response {
    if let Some(cur) = posted.session {
        console.sessions.end(&cur).await;
    }
    see_other(
        "/console/login",
        &[session::clear_session_cookie(console.options.cookie_secure)],
    )
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

/// Find by card number (straight to the card) or ID number (the person and their cards).
pub async fn search(
    State(console): State<Console>,
    Query(q): Query<SearchQuery>,
    clerk: ClerkSession,
) -> Response {
    let ClerkSession {
        current: mut cur,
        actor,
        lang,
    } = clerk;
    let query = q.q.unwrap_or_default().trim().to_uppercase();
    let mut person = None;
    if !query.is_empty() {
        if IdNumber::parse_shape(&query).is_ok() {
            match console.service.person(&actor, &query).await {
                Ok(view) => {
                    person = Some(PersonResult {
                        name: view.person.name.clone(),
                        id_number: view.person.id_number.as_str().to_owned(),
                        cards: view
                            .cards
                            .iter()
                            .map(|c| {
                                (
                                    c.card_no.to_string(),
                                    status_key(c.status.as_str()).to_owned(),
                                )
                            })
                            .collect(),
                    })
                }
                Err(e) => cur.flash = Some(error_flash(&e, lang)),
            }
        } else {
            match console.service.card(&actor, &query).await {
                Ok(view) => {
                    return see_other(&card_path(view.card.card_no.as_str()), &[]);
                }
                Err(e) => cur.flash = Some(error_flash(&e, lang)),
            }
        }
    }
    let frame = Frame::new(
        lang,
        "console",
        "search.title",
        Some(&cur),
        "/console/search",
    );
    render(&Search {
        t: frame.t,
        frame,
        query,
        person,
    })
}

/// The search page with a service error: what a card page shows when it cannot read what it
/// shows (the card, its holder, its ledger or its audit trail), rather than a page with parts
/// missing.
fn search_with_error(mut cur: Current, e: &ServiceError, lang: Lang) -> Response {
    cur.flash = Some(error_flash(e, lang));
    let frame = Frame::new(
        lang,
        "console",
        "search.title",
        Some(&cur),
        "/console/search",
    );
    render(&Search {
        t: frame.t,
        frame,
        query: String::new(),
        person: None,
    })
}

/// A card page's path; a card number is letters and digits, anything else goes to search.
fn card_path(card_no: &str) -> String {
    if !card_no.is_empty() && card_no.chars().all(|c| c.is_ascii_alphanumeric()) {
        format!("/console/cards/{card_no}")
    } else {
        "/console/search".to_owned()
    }
}

pub async fn card_page(
    State(console): State<Console>,
    Path(card_no): Path<String>,
    clerk: ClerkSession,
) -> Response {
    let ClerkSession {
        current: cur,
        actor,
        lang,
    } = clerk;
    let service = &console.service;
    let view = match service.card(&actor, &card_no).await {
        Ok(v) => v,
        Err(e) => return search_with_error(cur, &e, lang),
    };
    let here = card_path(view.card.card_no.as_str());
    // The holder's other cards and employer, the ledger, the contribution record and the audit
    // trail: a page without
    // one of them would read as "none", so a failure shows the error instead.
    let person = match service.person(&actor, view.card.id_number.as_str()).await {
        Ok(p) => p,
        Err(e) => return search_with_error(cur, &e, lang),
    };
    let employer_id = person.person.employer_id.clone();
    let ledger = match service
        .ledger(
            &actor,
            &card_no,
            None,
            Some(shebao_service::AUDIT_LIMIT_MAX),
        )
        .await
    {
        Ok(l) => l,
        Err(e) => return search_with_error(cur, &e, lang),
    };
    // R-CR-2: the holder's contribution record, month by month.
    let contributions = match service
        .contributions(&actor, view.card.id_number.as_str())
        .await
    {
        Ok(c) => c,
        Err(e) => return search_with_error(cur, &e, lang),
    };
    let audit = match service
        .audit(
            &actor,
            AuditFilter {
                card_no: Some(view.card.card_no.to_string()),
                limit: Some(AUDIT_ROWS_MAX),
                ..AuditFilter::default()
            },
        )
        .await
    {
        Ok(a) => a,
        Err(e) => return search_with_error(cur, &e, lang),
    };
    let now = service.clock().now();
    let card = &view.card;
    let policy = service.policy();
    let loss_in_force = card.loss_in_force(now);
    let offers = card.offers(now);
    let frame = Frame::new(lang, "console", "card.title", Some(&cur), &here);
    let page = CardPage {
        t: frame.t,
        frame,
        card_no: card.card_no.to_string(),
        holder_name: view.holder_name.clone(),
        id_number: card.id_number.as_str().to_owned(),
        bank_card_no: card.bank_card_no.clone(),
        status_key: status_key(card.status.as_str()),
        issued_at: when(card.issued_at),
        balance: yuan(card.balance),
        replaced_by: card.replaced_by.as_ref().map(|c| c.to_string()),
        other_cards: person
            .cards
            .iter()
            .map(|c| {
                (
                    c.card_no.to_string(),
                    status_key(c.status.as_str()).to_owned(),
                )
            })
            .collect(),
        accounts: account_boxes(&view, lang),
        loss: loss_in_force.map(|l| LossBox {
            kind_key: match l.kind {
                LossKind::Pre => "loss.kind.pre",
                LossKind::Temporary => "loss.kind.temporary",
                LossKind::Formal => "loss.kind.formal",
            },
            reported_at: when(l.reported_at),
            lapses_at: l.lapses_at.map(when),
            channel: l.channel.clone(),
        }),
        replacement: card.replacement.as_ref().map(|r| ReplacementBox {
            replaces: r.replaces.to_string(),
            ready_on: r.ready_on.to_string(),
            fee: yuan(r.fee),
            collected_at: r.collected_at.map(when),
        }),
        ss_locked: view.ss.locked,
        // What is offered follows the card's state (the domain's one rule); the service
        // decides and refuses anyway.
        offers,
        agents_allowed: policy.agent.allowed,
        agents_poa: policy.agent.power_of_attorney,
        agents_letter: policy.agent.employer_letter,
        agents_letter_for_holder: policy.agent.employer_letter_for_holder,
        region_policy: policy.name.clone(),
        ledger: ledger_rows(&ledger, lang),
        contributions: contribution_rows(&contributions),
        audit: audit_rows(&audit, lang),
        // R-EM-2, R-EM-5: the employer's lock, and where the clerk sees its months.
        unit_lock: unit_lock_box(&view, lang),
        employer_id: employer_id.filter(|_| view.unit_lock.is_some()),
        filing_help: filing_help(&console, lang),
        today: business_date(now).to_string(),
        // R-KM-2: the electronic form of this card.
        ecard: EcardBox::of(card, &offers),
    };
    render(&page)
}

/// The evidence checklist as the form sends it (checkboxes are absent when unchecked).
#[derive(Deserialize)]
pub struct EvidenceForm {
    #[serde(default)]
    csrf: String,
    holder_present: Option<String>,
    holder_id_checked: Option<String>,
    agent_id_number: Option<String>,
    power_of_attorney: Option<String>,
    employer_letter: Option<String>,
    /// Loss kind, for the loss form.
    kind: Option<String>,
    /// Replacement reason, for the replacement form.
    reason: Option<String>,
    /// Place of care and admission day, for the filing form (R-MS-3).
    region: Option<String>,
    admitted_on: Option<String>,
    /// Collection: the pickup certificate (领卡证明, R-LS-5).
    pickup_certificate: Option<String>,
}

impl CsrfForm for EvidenceForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// A card form refused for its token goes back to the card's page.
impl RefusedForm<ClerkSession> for EvidenceForm {
    async fn refused(console: &Console, clerk: ClerkSession, params: &PathParams) -> Response {
        refuse_to(console, &clerk.current, &card_path(params.get("card_no"))).await
    }
}

impl EvidenceForm {
    fn evidence(&self) -> Result<Evidence, ServiceError> {
        let agent = self
            .agent_id_number
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty());
        let agent_id_number = agent
            .map(|a| {
                IdNumber::parse_shape(&a.to_uppercase()).map_err(|e| {
                    ServiceError::invalid("invalid_id_number", format!("agent_id_number: {e}"))
                })
            })
            .transpose()?;
        Ok(Evidence {
            holder_present: self.holder_present.is_some(),
            holder_id_checked: self.holder_id_checked.is_some(),
            agent_id_number,
            power_of_attorney: self.power_of_attorney.is_some(),
            employer_letter: self.employer_letter.is_some(),
            pickup_certificate: self.pickup_certificate.is_some(),
        })
    }
}

/// The clerk actions a card page offers, each one service call.
enum Action {
    Reset,
    Disable,
    Activate,
    Loss,
    Release,
    Replacement,
    Collect,
    /// R-KM-2: the electronic card, on and off (the holder asks at the window).
    EcardOn,
    EcardOff,
}

async fn act(
    console: Console,
    card_no: String,
    posted: ClerkForm<EvidenceForm>,
    action: Action,
) -> Response {
    let ClerkForm { clerk, form } = posted;
    let ClerkSession {
        current: cur,
        actor,
        lang,
    } = clerk;
    let mut back = card_path(&card_no);
    let service = &console.service;
    let ecard_on = matches!(action, Action::EcardOn);
    let outcome: Result<(&'static str, Option<String>), ServiceError> = async {
        match action {
            // R-LK-2, R-LK-4, R-PW-7: unlock with evidence; no new password from the console,
            // so the initial not-enabled password is restored and the holder sets one on the
            // PIN pad.
            Action::Reset => service
                .reset_ss_password(&actor, &card_no, None, Some(form.evidence()?))
                .await
                .map(|_| ("done.reset", None)),
            // R-PW-4: the holder in person with card and ID.
            Action::Disable => service
                .disable_ss_password(&actor, &card_no, Some(form.evidence()?))
                .await
                .map(|_| ("done.disable", None)),
            // R-ACT-3: at the card service centre.
            Action::Activate => service
                .activate(
                    &actor,
                    &card_no,
                    ActivationRequest {
                        channel: "service_center".into(),
                        fin_password: None,
                        old_card_password: None,
                        sms_from: None,
                        sms_text: None,
                        old_card_number: None,
                        card_auth: None,
                    },
                )
                .await
                .map(|_| ("done.activate", None)),
            // R-LS-1..3: a clerk reports in writing (pre) or at the window.
            Action::Loss => {
                let kind = form.kind.as_deref().unwrap_or("temporary");
                let channel = if kind == "pre" { "written" } else { "window" };
                service
                    .report_loss(
                        &actor,
                        &card_no,
                        kind,
                        Some(channel),
                        Some(form.evidence()?),
                    )
                    .await
                    .map(|_| ("done.loss", None))
            }
            // R-LS-2
            Action::Release => service
                .release_loss(&actor, &card_no, Some(form.evidence()?))
                .await
                .map(|_| ("done.release", None)),
            // R-LS-3, R-LS-5, D-10: the new card and its ready date on the Chinese working-day
            // calendar.
            Action::Replacement => {
                let reason = form.reason.as_deref().unwrap_or("lost");
                service
                    .apply_replacement(&actor, &card_no, reason, Some(form.evidence()?))
                    .await
                    .map(|issued| {
                        back = card_path(&issued.new_card_no);
                        (
                            "done.replacement",
                            Some(format!("{} · {}", issued.new_card_no, issued.ready_on)),
                        )
                    })
            }
            Action::Collect => service
                .collect_card(&actor, &card_no, Some(form.evidence()?))
                .await
                .map(|_| ("done.collect", None)),
            Action::EcardOn => service
                .activate_ecard(&actor, &card_no)
                .await
                .map(|_| ("done.ecard_activate", None)),
            Action::EcardOff => service
                .deactivate_ecard(&actor, &card_no)
                .await
                .map(|_| ("done.ecard_deactivate", None)),
        }
    }
    .await;
    let flash = match outcome {
        Ok((key, detail)) => Flash {
            ok: true,
            key,
            detail,
        },
        Err(e) if ecard_on => ecard_refusal(&e, lang),
        Err(e) => error_flash(&e, lang),
    };
    console.sessions.set_flash(&cur, flash).await;
    see_other(&back, &[])
}

macro_rules! clerk_action {
    ($name:ident, $action:expr) => {
        pub async fn $name(
            State(console): State<Console>,
            Path(card_no): Path<String>,
            posted: ClerkForm<EvidenceForm>,
        ) -> Response {
            act(console, card_no, posted, $action).await
        }
    };
}

clerk_action!(reset, Action::Reset);
clerk_action!(disable, Action::Disable);
clerk_action!(activate, Action::Activate);
clerk_action!(report_loss, Action::Loss);
clerk_action!(release, Action::Release);
clerk_action!(replacement, Action::Replacement);
clerk_action!(collect, Action::Collect);
clerk_action!(activate_ecard, Action::EcardOn);
clerk_action!(deactivate_ecard, Action::EcardOff);

/// R-MS-3: an out-of-area filing for the card's holder, who is at the window or sends an
/// agent (an emergency filing "may be made by an agent"). The service decides the deadline.
pub async fn file(
    State(console): State<Console>,
    Path(card_no): Path<String>,
    posted: ClerkForm<EvidenceForm>,
) -> Response {
    let ClerkForm { clerk, form } = posted;
    let ClerkSession {
        current: cur,
        actor,
        lang,
    } = clerk;
    let back = card_path(&card_no);
    let service = &console.service;
    let text = |f: &Option<String>| {
        f.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let filed = match service.card(&actor, &card_no).await {
        Ok(view) => {
            service
                .file(
                    &actor,
                    NewFiling {
                        id_number: view.card.id_number.as_str().to_owned(),
                        // An empty field is the service's to refuse in words.
                        kind: text(&form.kind).unwrap_or_default(),
                        region: text(&form.region).unwrap_or_default(),
                        admitted_on: text(&form.admitted_on),
                    },
                )
                .await
        }
        Err(e) => Err(e),
    };
    console
        .sessions
        .set_flash(&cur, filing_flash(filed, lang))
        .await;
    see_other(&back, &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Tr;
    use askama::Template;

    fn card_html(lang: Lang, card: &shebao_domain::Card) -> String {
        let offers = card.offers("2026-03-02T03:00:00Z".parse().unwrap());
        let frame = Frame::new(
            lang,
            "console",
            "card.title",
            None,
            "/console/cards/S00000001",
        );
        CardPage {
            t: Tr::new(lang),
            frame,
            card_no: card.card_no.to_string(),
            holder_name: "张三".into(),
            id_number: card.id_number.as_str().to_owned(),
            bank_card_no: card.bank_card_no.clone(),
            status_key: status_key(card.status.as_str()),
            issued_at: when(card.issued_at),
            balance: "50.00".into(),
            replaced_by: None,
            other_cards: Vec::new(),
            accounts: Vec::new(),
            loss: None,
            replacement: None,
            ss_locked: false,
            offers,
            agents_allowed: true,
            agents_poa: true,
            agents_letter: false,
            agents_letter_for_holder: false,
            region_policy: "default".into(),
            ledger: Vec::new(),
            contributions: Vec::new(),
            audit: Vec::new(),
            unit_lock: None,
            employer_id: None,
            filing_help: String::new(),
            today: "2026-03-02".into(),
            ecard: EcardBox::of(card, &offers),
        }
        .render()
        .unwrap()
    }

    // R-KM-2: the card page shows the electronic card's state in both languages and offers
    // its activation (once the social-security account is active) or its deactivation, each a
    // form with the session's CSRF token to the card's own route.
    #[test]
    fn the_card_page_shows_the_electronic_card_and_offers_it_on_or_off() {
        let form = |page: &str, action: &str| -> Option<String> {
            let at = page.find(&format!(
                "action=\"/console/cards/S00000001/ecard/{action}\""
            ))?;
            let rest = &page[at..];
            Some(rest[..rest.find("</form>").unwrap()].to_owned())
        };
        for (lang, inactive, active, needs) in [
            (Lang::Zh, "未激活", "已激活", "社保账户启用后"),
            (
                Lang::En,
                "Not activated",
                "Active",
                "once the social-security account",
            ),
        ] {
            let page = card_html(lang, &crate::portal::tests::card(false, false));
            assert!(
                page.contains(&format!("id=\"ecard-state\">{inactive}<")),
                "{page}"
            );
            assert!(page.contains(needs), "{page}");
            assert!(form(&page, "activate").is_none() && form(&page, "deactivate").is_none());

            let page = card_html(lang, &crate::portal::tests::card(true, false));
            let on = form(&page, "activate").expect("activation is offered");
            assert!(on.contains("name=\"csrf\""), "{on}");
            assert!(form(&page, "deactivate").is_none() && !page.contains(needs));

            let page = card_html(lang, &crate::portal::tests::card(true, true));
            assert!(
                page.contains(&format!("id=\"ecard-state\">{active}<")),
                "{page}"
            );
            assert!(page.contains("2026-03-02 10:00"), "{page}");
            let off = form(&page, "deactivate").expect("deactivation is offered");
            assert!(off.contains("name=\"csrf\""), "{off}");
            assert!(form(&page, "activate").is_none());
        }
    }
}
