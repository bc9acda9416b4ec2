//! The terminals (R-KM-1): which pharmacy, hospital, bank and kiosk actors hold a PSAM, the
//! last request counter each PSAM had accepted and when, and a button per active terminal that
//! revokes its token. Both are the service's (`Service::terminals`, `revoke_terminal`): who may
//! see and revoke, which actors are terminals, the audit record and the token cache's
//! forgetting; this module only turns them into words.

use crate::Console;
use crate::extract::{ClerkForm, ClerkSession, CsrfForm, PathParams, RefusedForm, refuse_to};
use crate::i18n::Tr;
use crate::page::{Frame, error_flash, render, see_other, unavailable, when};
use crate::session::Flash;
use crate::templates::{TerminalRow, TerminalsPage};
use axum::extract::{Path, Query, State};
use axum::response::Response;
use serde::Deserialize;
use shebao_service::ServiceError;
use shebao_service::model::Actor;

const HERE: &str = "/console/terminals";
/// Terminals a page lists.
const PAGE_ROWS: u32 = 100;

/// An actor id as the service makes them (`A000123`): letters and digits only; anything else
/// is not looked up, nor put in a link.
fn actor_id(id: &str) -> Option<&str> {
    (!id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_alphanumeric()))
        .then_some(id)
}

/// The list's page that starts after `after` (the first page without it).
fn page_path(after: Option<&str>) -> String {
    match after.and_then(actor_id) {
        Some(a) => format!("{HERE}?after={a}"),
        None => HERE.to_owned(),
    }
}

#[derive(Deserialize)]
pub struct TerminalsQuery {
    /// The last terminal id of the page before (the "more" link).
    after: Option<String>,
}

/// The terminals, a page at a time.
pub async fn list(
    State(console): State<Console>,
    Query(q): Query<TerminalsQuery>,
    clerk: ClerkSession,
) -> Response {
    let ClerkSession {
        current: cur,
        actor,
        lang,
    } = clerk;
    let after = q.after.as_deref().and_then(actor_id).map(str::to_owned);
    let here = page_path(after.as_deref());
    let (terminals, next) = match console
        .service
        .terminals(&actor, after.as_deref(), Some(PAGE_ROWS))
        .await
    {
        Ok(found) => found,
        // A list the service could not read would read as "no terminals": say so instead.
        Err(e @ (ServiceError::Store(_) | ServiceError::Internal(_))) => {
            return unavailable(lang, "console", Some(&cur), &here, &e);
        }
        Err(e) => {
            console
                .sessions
                .set_flash(&cur, error_flash(&e, lang))
                .await;
            return see_other("/console/search", &[]);
        }
    };
    let t = Tr::new(lang);
    let frame = Frame::new(lang, "console", "term.title", Some(&cur), &here);
    render(&TerminalsPage {
        t: frame.t,
        frame,
        rows: terminals.iter().map(|a| terminal_row(a, t)).collect(),
        after: after.clone().unwrap_or_default(),
        next: next.filter(|n| actor_id(n).is_some()),
        not_first: after.is_some(),
    })
}

/// One terminal as the page shows it: its role in words, Shanghai times.
fn terminal_row(a: &Actor, t: Tr) -> TerminalRow {
    TerminalRow {
        id: a.id.clone(),
        role: t
            .get_or(&format!("role.{}", a.role.as_str()), a.role.as_str())
            .to_owned(),
        name: a.name.clone(),
        region: a
            .region
            .as_ref()
            .map(|r| r.as_str().to_owned())
            .unwrap_or_default(),
        psam_no: a.psam.as_ref().map(|p| p.psam_no.clone()),
        counter: a.psam.as_ref().map(|p| p.counter),
        used_at: a.psam.as_ref().and_then(|p| p.used_at).map(when),
        revoked_at: a.revoked_at.map(when),
    }
}

/// The revoke button's form: the session's token, and the list's page to come back to.
#[derive(Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    after: String,
}

impl CsrfForm for RevokeForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// Refused for its token: back to the list, saying so; nothing is revoked.
impl RefusedForm<ClerkSession> for RevokeForm {
    async fn refused(console: &Console, clerk: ClerkSession, _params: &PathParams) -> Response {
        refuse_to(console, &clerk.current, HERE).await
    }
}

/// R-KM-1: the terminal's token stops working at once; back to the list with what was done.
pub async fn revoke(
    State(console): State<Console>,
    Path(id): Path<String>,
    posted: ClerkForm<RevokeForm>,
) -> Response {
    let ClerkForm { clerk, form } = posted;
    let ClerkSession {
        current: cur,
        actor,
        lang,
    } = clerk;
    let not_found = |id: &str| Flash {
        ok: false,
        key: "term.not_found",
        detail: actor_id(id).map(str::to_owned),
    };
    let flash = match actor_id(&id) {
        None => not_found(&id),
        Some(id) => match console.service.revoke_terminal(&actor, id).await {
            Ok(done) => Flash {
                ok: true,
                key: "term.revoked",
                detail: Some(format!("{} {}", done.id, done.name)),
            },
            Err(ServiceError::NotFound(_)) => not_found(id),
            Err(e) => error_flash(&e, lang),
        },
    };
    console.sessions.set_flash(&cur, flash).await;
    let after = (!form.after.is_empty()).then_some(form.after.as_str());
    see_other(&page_path(after), &[])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Lang;
    use askama::Template;
    use shebao_domain::Role;
    use shebao_service::model::{ActorSource, Psam};

    fn terminal(id: &str, role: Role, psam: Option<Psam>) -> Actor {
        Actor {
            id: id.into(),
            role,
            name: format!("{role} {id}"),
            region: shebao_domain::RegionCode::parse("450600"),
            employer_id: None,
            id_number: None,
            must_change_password: false,
            session_id: None,
            created_at: "2026-03-02T01:00:00Z".parse().unwrap(),
            source: ActorSource::Api,
            revoked_at: None,
            psam,
        }
    }

    // R-KM-1: the PSAM number (or none, a bearer token), its last counter and use in Shanghai
    // time, and a revoke button only on a terminal whose token still works.
    #[test]
    fn the_list_says_which_terminals_hold_a_psam_and_when_each_was_used() {
        let psam = |used: Option<&str>| Psam {
            psam_no: "4506000000000091".into(),
            counter: if used.is_some() { 12 } else { 0 },
            used_at: used.map(|u| u.parse().unwrap()),
        };
        let mut revoked = terminal("A000004", Role::Kiosk, Some(psam(None)));
        revoked.revoked_at = Some("2026-03-02T02:30:00Z".parse().unwrap());
        let actors = [
            terminal(
                "A000002",
                Role::Pharmacy,
                Some(psam(Some("2026-03-02T16:05:00Z"))),
            ),
            terminal("A000003", Role::Hospital, None),
            revoked,
        ];
        for (lang, never, bearer) in [
            (Lang::Zh, "从未使用", "无（仅凭令牌）"),
            (Lang::En, "Never used", "None — bearer token"),
        ] {
            let t = Tr::new(lang);
            let frame = Frame::new(lang, "console", "term.title", None, HERE);
            let page = TerminalsPage {
                t,
                frame,
                rows: actors.iter().map(|a| terminal_row(a, t)).collect(),
                after: String::new(),
                next: Some("A000004".into()),
                not_first: false,
            }
            .render()
            .unwrap();
            let row = |id: &str| {
                let rest = &page[page.find(&format!("id=\"terminal-{id}\"")).unwrap()..];
                rest[..rest.find("</tr>").unwrap()].to_owned()
            };
            let used = row("A000002");
            assert!(
                used.contains("4506000000000091") && used.contains(">12</td>"),
                "{used}"
            );
            assert!(used.contains("2026-03-03 00:05"), "{used}");
            assert!(used.contains("id=\"revoke-A000002\""), "{used}");
            assert!(row("A000003").contains(bearer), "{page}");
            let gone = row("A000004");
            assert!(
                gone.contains(never) && gone.contains("2026-03-02 10:30"),
                "{gone}"
            );
            assert!(!gone.contains("revoke-A000004"), "{gone}");
            assert!(page.contains("href=\"/console/terminals?after=A000004\""));
        }
    }

    #[test]
    fn only_plain_ids_make_links() {
        assert_eq!(actor_id("A000012"), Some("A000012"));
        assert_eq!(actor_id("../x"), None);
        assert_eq!(actor_id(""), None);
        assert_eq!(
            page_path(Some("A000012")),
            "/console/terminals?after=A000012"
        );
        assert_eq!(page_path(Some("A1&x=2")), "/console/terminals");
        assert_eq!(page_path(None), "/console/terminals");
    }
}
