//! Request extractors for the pages, as the API's `Authed` is for its routes: the logged-in
//! window clerk or cardholder, re-checked with the service on every request, and the posted
//! form whose CSRF token is checked here — once, for every form that changes something —
//! before a handler sees it.
//!
//! - [`ClerkSession`], [`HolderSession`]: a page's session, or the way to the login page.
//! - [`ClerkForm`], [`HolderForm`]: the same, with a form whose token is the session's; a
//!   form whose token is not is answered by its own [`RefusedForm::refused`].
//! - [`Posted`]: a login or logout form, whose session is the browser's whoever it is.

use crate::Console;
use crate::i18n::Lang;
use crate::page::{current, see_other, unavailable};
use crate::session::{self, Current, Flash, csrf_ok};
use axum::Form;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::de::DeserializeOwned;
use shebao_domain::Role;
use shebao_service::ServiceError;
use shebao_service::model::Actor;

/// The logged-in window clerk (or admin). Without one: the clerk's login page.
pub struct ClerkSession {
    pub current: Current,
    pub actor: Actor,
    pub lang: Lang,
}

/// The logged-in cardholder. Without one: the portal's login page; with the initial query
/// password not changed yet, the password page (R-PW-8) — unless `BEFORE_FIRST_CHANGE`, which
/// only the password page itself asks for ([`PasswordPageSession`]).
pub struct HolderSession<const BEFORE_FIRST_CHANGE: bool = false> {
    pub current: Current,
    pub actor: Actor,
    pub lang: Lang,
}

/// The password page's session: the one page open before the first change (R-PW-8).
pub type PasswordPageSession = HolderSession<true>;

/// A form that changes something: it carries the session's CSRF token (`session.rs`).
pub trait CsrfForm: DeserializeOwned + Send {
    /// The token the form carried (empty when it carried none).
    fn csrf(&self) -> &str;
}

/// What a form posted with a token that is not its session's answers: the page it was posted
/// from, saying so (`refuse_to`), for most forms. `params` are the route's path parameters.
pub trait RefusedForm<S>: CsrfForm {
    fn refused(
        console: &Console,
        session: S,
        params: &PathParams,
    ) -> impl Future<Output = Response> + Send;
}

/// A clerk's form whose token is the clerk session's.
pub struct ClerkForm<F> {
    pub clerk: ClerkSession,
    pub form: F,
}

/// A cardholder's form whose token is the holder session's.
pub struct HolderForm<F, const BEFORE_FIRST_CHANGE: bool = false> {
    pub holder: HolderSession<BEFORE_FIRST_CHANGE>,
    pub form: F,
}

/// A login or logout form: `session` is the browser's live session, whoever it belongs to,
/// if the form's token is its own; `None` when there is no session or the token is not its.
pub struct Posted<F> {
    pub form: F,
    pub session: Option<Current>,
    pub lang: Lang,
}

/// A route's path parameters, decoded (`card_no`, `id`).
pub struct PathParams(Vec<(String, String)>);

impl PathParams {
    /// The parameter's value; empty when the route has none of that name.
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }
}

/// The `err.csrf` flash on `page`, the page the form was posted from: what a stale or forged
/// form is answered, and nothing else happens.
pub async fn refuse_to(console: &Console, current: &Current, page: &str) -> Response {
    console
        .sessions
        .set_flash(
            current,
            Flash {
                ok: false,
                key: "err.csrf",
                detail: None,
            },
        )
        .await;
    see_other(page, &[])
}

impl ClerkSession {
    /// Re-checked with the service on every request, so a revoked token stops working at
    /// once; a session the service no longer accepts ends. A service that cannot answer ends
    /// nothing: the page says it cannot be shown now.
    async fn resolve(console: &Console, parts: &Parts) -> Result<Self, Response> {
        let lang = session::lang(&parts.headers);
        let login = || see_other("/console/login", &[]);
        let current = match lookup(console, parts, lang, "console", "/console/search").await? {
            Some(c) if c.is_clerk => c,
            _ => return Err(login()),
        };
        let Some(digest) = current.token_digest.clone() else {
            return Err(login());
        };
        match console.service.authenticate_digest(digest).await {
            Ok(actor) if matches!(actor.role, Role::Clerk | Role::Admin) => Ok(ClerkSession {
                current,
                actor,
                lang,
            }),
            Err(e @ (ServiceError::Store(_) | ServiceError::Internal(_))) => Err(unavailable(
                lang,
                "console",
                Some(&current),
                "/console/search",
                &e,
            )),
            _ => {
                console.sessions.end(&current).await;
                Err(login())
            }
        }
    }
}

impl<const BEFORE_FIRST_CHANGE: bool> HolderSession<BEFORE_FIRST_CHANGE> {
    /// Re-checked with the service each time (its session may have expired), like the
    /// clerk's.
    async fn resolve(console: &Console, parts: &Parts) -> Result<Self, Response> {
        let lang = session::lang(&parts.headers);
        let login = || see_other("/portal/login", &[]);
        let current = match lookup(console, parts, lang, "portal", "/portal/home").await? {
            Some(c) if c.is_holder => c,
            _ => return Err(login()),
        };
        let Some(digest) = current.token_digest.clone() else {
            return Err(login());
        };
        match console.service.authenticate_digest(digest).await {
            Ok(actor) if actor.role == Role::Cardholder => {
                if actor.must_change_password && !BEFORE_FIRST_CHANGE {
                    return Err(see_other("/portal/password", &[]));
                }
                Ok(HolderSession {
                    current,
                    actor,
                    lang,
                })
            }
            Err(e @ (ServiceError::Store(_) | ServiceError::Internal(_))) => Err(unavailable(
                lang,
                "portal",
                Some(&current),
                "/portal/home",
                &e,
            )),
            _ => {
                console.sessions.end(&current).await;
                Err(login())
            }
        }
    }
}

impl FromRequestParts<Console> for ClerkSession {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        ClerkSession::resolve(console, parts).await
    }
}

impl<const BEFORE_FIRST_CHANGE: bool> FromRequestParts<Console>
    for HolderSession<BEFORE_FIRST_CHANGE>
{
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, console: &Console) -> Result<Self, Response> {
        HolderSession::resolve(console, parts).await
    }
}

impl<F: RefusedForm<ClerkSession>> FromRequest<Console> for ClerkForm<F> {
    type Rejection = Response;

    async fn from_request(request: Request, console: &Console) -> Result<Self, Response> {
        let (form, mut parts) = read_form::<F>(request, console).await?;
        let clerk = ClerkSession::resolve(console, &parts).await?;
        if !token_is_sessions(&clerk.current, &form) {
            let params = path_params(&mut parts, console).await;
            return Err(F::refused(console, clerk, &params).await);
        }
        Ok(ClerkForm { clerk, form })
    }
}

impl<F, const BEFORE_FIRST_CHANGE: bool> FromRequest<Console> for HolderForm<F, BEFORE_FIRST_CHANGE>
where
    F: RefusedForm<HolderSession<BEFORE_FIRST_CHANGE>>,
{
    type Rejection = Response;

    async fn from_request(request: Request, console: &Console) -> Result<Self, Response> {
        let (form, mut parts) = read_form::<F>(request, console).await?;
        let holder = HolderSession::resolve(console, &parts).await?;
        if !token_is_sessions(&holder.current, &form) {
            let params = path_params(&mut parts, console).await;
            return Err(F::refused(console, holder, &params).await);
        }
        Ok(HolderForm { holder, form })
    }
}

impl<F: CsrfForm> FromRequest<Console> for Posted<F> {
    type Rejection = Response;

    async fn from_request(request: Request, console: &Console) -> Result<Self, Response> {
        let (form, parts) = read_form::<F>(request, console).await?;
        let session = current(console, &parts.headers)
            .await
            .filter(|c| token_is_sessions(c, &form));
        Ok(Posted {
            form,
            session,
            lang: session::lang(&parts.headers),
        })
    }
}

/// The browser's session for a page that needs one logged in: a database that cannot be asked
/// is the page that says it cannot be shown now, not the login page.
async fn lookup(
    console: &Console,
    parts: &Parts,
    lang: Lang,
    area: &'static str,
    here: &str,
) -> Result<Option<Current>, Response> {
    let now = console.service.clock().now();
    console
        .sessions
        .current(&parts.headers, now)
        .await
        .map_err(|e| unavailable(lang, area, None, here, &e))
}

/// The one CSRF check: the form's token is its session's (constant time, never empty).
fn token_is_sessions(current: &Current, form: &impl CsrfForm) -> bool {
    csrf_ok(current, form.csrf())
}

/// The form body, read before the session is looked at (as the handlers' `Form` was): a body
/// that is not a form is axum's own answer.
async fn read_form<F: DeserializeOwned>(
    request: Request,
    console: &Console,
) -> Result<(F, Parts), Response> {
    let (parts, body) = request.into_parts();
    let Form(form) = Form::<F>::from_request(Request::from_parts(parts.clone(), body), console)
        .await
        .map_err(IntoResponse::into_response)?;
    Ok((form, parts))
}

async fn path_params(parts: &mut Parts, console: &Console) -> PathParams {
    // The handler's own `Path` has read these already, so they are there; a route without
    // parameters has none to give.
    PathParams(
        Path::<Vec<(String, String)>>::from_request_parts(parts, console)
            .await
            .map(|p| p.0)
            .unwrap_or_default(),
    )
}
