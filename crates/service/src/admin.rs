//! Actors, the audit trail and the simulated clock.

use crate::Service;
use crate::error::{ServiceError, duplicate_as_exists};
use crate::input::{page_limit, parse_region};
use crate::keys::{new_token, token_digest};
use crate::model::AuditAction;
use crate::model::operator;
use crate::model::{Actor, ActorSource, AuditQuery, AuditRecord, Psam};
use crate::request_key::{KeyedWrite, RequestKey};
use crate::store::Lock;
use crate::support::{Audit, require_role};
use jiff::{Span, Timestamp};
use shebao_domain::{RegionCode, Role};
use zeroize::Zeroizing;

pub struct NewActor {
    pub role: String,
    pub name: String,
    pub region: Option<String>,
    pub employer_id: Option<String>,
    /// A terminal's 16-digit PSAM number (R-KM-1): pharmacy, hospital, bank and kiosk only.
    pub psam_no: Option<String>,
}

/// The admin token a server starts with, and where it came from.
pub enum StartupAdmin<'a> {
    /// `SHEBAO_ADMIN_TOKEN`: an admin only while the variable names it.
    Env(&'a str),
    /// The token generated at first start and kept in the data dir (its text, if the file is
    /// still there).
    Generated(Option<&'a str>),
}

/// `SHEBAO_ADMIN_TOKEN` shorter than this stops the server at start.
pub const ADMIN_TOKEN_CHARS_MIN: usize = 32;

/// Actors read per store page while [`Service::terminals`] looks for terminals.
const TERMINAL_SCAN_PAGE: u32 = crate::input::AUDIT_LIMIT_MAX;
/// Actors [`Service::terminals`] reads at most in one call (R-KM-1): a page of terminals
/// among many other actors may come back short, with the `after` to go on from.
const TERMINAL_SCAN_ROWS_MAX: usize = 10_000;

/// Which actors a revocation may end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RevokeWhich {
    /// `DELETE /admin/actors/{id}`: any actor (but an admin from `SHEBAO_ADMIN_TOKEN`).
    AnyActor,
    /// The console's terminal list: pharmacy, hospital, bank and kiosk actors only (R-KM-1).
    TerminalOnly,
}

impl Service {
    /// Creates an actor and returns its token, shown once; only its digest is stored.
    pub async fn create_actor(
        &self,
        actor: &Actor,
        input: NewActor,
        key: Option<RequestKey>,
    ) -> Result<(Actor, Zeroizing<String>), ServiceError> {
        require_role(actor, &[Role::Admin])?;
        self.create_actor_keyed(Some(actor), input, key).await
    }

    /// For the operator CLI and first start: no calling actor.
    pub async fn create_actor_unchecked(
        &self,
        by: Option<&Actor>,
        input: NewActor,
    ) -> Result<(Actor, Zeroizing<String>), ServiceError> {
        self.create_actor_keyed(by, input, None).await
    }

    /// Issue 16: the repeat of a creation carried out under `key` makes no second actor. The
    /// first answer's token is never kept, so the repeat gives the same actor a new token, and
    /// the first stops working: whoever lost the first answer holds the only working one.
    async fn create_actor_keyed(
        &self,
        by: Option<&Actor>,
        input: NewActor,
        key: Option<RequestKey>,
    ) -> Result<(Actor, Zeroizing<String>), ServiceError> {
        let role: Role = input.role.parse().map_err(|_| {
            ServiceError::invalid(
                "invalid_role",
                "role is one of admin, clerk, bank, pharmacy, hospital, hotline, employer, sms",
            )
        })?;
        if role == Role::Cardholder {
            return Err(ServiceError::invalid(
                "invalid_role",
                "cardholders sign in through POST /self/login",
            ));
        }
        let name = crate::input::parse_name(&input.name, "name")?;
        // Terminals sit at a place: default to the deployment's region (API.md).
        let region: Option<RegionCode> = match (role.is_terminal(), input.region.as_deref()) {
            (true, r) => Some(parse_region(r, &self.policy.home_region)?),
            (false, Some(r)) => Some(parse_region(Some(r), &self.policy.home_region)?),
            (false, None) => None,
        };
        let employer_id = match (role, input.employer_id) {
            (Role::Employer, Some(id)) => Some(id),
            (Role::Employer, None) => {
                return Err(ServiceError::invalid(
                    "invalid_employer",
                    "an employer actor needs employer_id",
                ));
            }
            (_, Some(_)) => {
                return Err(ServiceError::invalid(
                    "invalid_employer",
                    "only an employer actor has employer_id",
                ));
            }
            (_, None) => None,
        };
        let psam = match input.psam_no {
            None => None,
            Some(no) => Some(self.check_psam_no(role, no)?),
        };
        let token = new_token().map_err(|e| ServiceError::Internal(e.to_string()))?;
        let digest = token_digest(&token);
        let now = self.clock.now();
        let by = by.cloned();
        let created = self
            .db
            .write(move |tx| {
                let by = by.unwrap_or_else(|| operator(now));
                let fields = [
                    "POST /admin/actors",
                    role.as_str(),
                    name.as_str(),
                    region.as_ref().map_or("", |r| r.as_str()),
                    employer_id.as_deref().unwrap_or(""),
                    psam.as_ref().map_or("", |p| p.psam_no.as_str()),
                ];
                let keyed = key.as_ref().map(|k| KeyedWrite::new(&by.id, k, &fields));
                if let Some(k) = &keyed
                    && let Some(id) = k.prior(tx)?
                {
                    let actor = tx
                        .actor(&id)?
                        .ok_or_else(|| ServiceError::Internal(format!("keyed actor {id} gone")))?;
                    if actor.revoked_at.is_some() {
                        return Err(ServiceError::conflict(
                            "revoked",
                            format!("actor {id}, made by the first request, is revoked"),
                        ));
                    }
                    tx.set_actor_token(&id, &digest)?;
                    Audit::new(AuditAction::ActorCreate)
                        .detail(format!(
                            "actor {id}: its creation repeated under the same Idempotency-Key, a new token replaces the first"
                        ))
                        .record(tx, &by, now)?;
                    return Ok(actor);
                }
                if let Some(e) = &employer_id
                    && tx.employer(e, Lock::Read)?.is_none()
                {
                    return Err(ServiceError::not_found(format!("no employer {e}")));
                }
                let seq = tx.next_sequence("actor")?;
                let actor = Actor {
                    id: format!("A{seq:06}"),
                    role,
                    name,
                    region,
                    employer_id,
                    id_number: None,
                    must_change_password: false,
                    session_id: None,
                    created_at: now,
                    source: ActorSource::Api,
                    revoked_at: None,
                    psam,
                };
                tx.insert_actor(&actor, &digest)
                    .map_err(duplicate_as_exists)?;
                if let Some(k) = &keyed {
                    k.record(tx, &actor.id, now)?;
                }
                let with_psam = actor
                    .psam
                    .as_ref()
                    .map(|p| format!(" with PSAM {}", p.psam_no))
                    .unwrap_or_default();
                Audit::new(AuditAction::ActorCreate)
                    .detail(format!("actor {} ({}){with_psam}", actor.id, actor.role))
                    .record(tx, &by, now)?;
                Ok(actor)
            })
            .await?;
        Ok((created, token))
    }

    /// A PSAM number for a new terminal: 16 ASCII digits, on a role that has a PSAM, with a
    /// psam key in the key store to disperse it from (R-KM-1).
    fn check_psam_no(&self, role: Role, psam_no: String) -> Result<Psam, ServiceError> {
        if !role.is_terminal() {
            return Err(ServiceError::invalid(
                "invalid_psam_no",
                "only a pharmacy, hospital, bank or kiosk terminal holds a PSAM",
            ));
        }
        if psam_no.len() != 16 || !psam_no.bytes().all(|b| b.is_ascii_digit()) {
            return Err(ServiceError::invalid(
                "invalid_psam_no",
                "psam_no is the PSAM's 16-digit number",
            ));
        }
        if self
            .city_keys
            .versions(shebao_keys::Purpose::Psam)
            .is_empty()
        {
            return Err(ServiceError::conflict(
                "keys_missing",
                "the key store holds no psam key: PSAM terminals cannot be verified",
            ));
        }
        Ok(Psam {
            psam_no,
            counter: 0,
            used_at: None,
        })
    }

    /// Keeps the start-up admins in step with their source: the token `SHEBAO_ADMIN_TOKEN`
    /// names is an admin (made one, or made one again), and every other admin that came from
    /// the variable is revoked, so an admin from the environment lasts only while the variable
    /// is set. The generated token's admin (first start) stays while its file names it.
    /// Returns whether a new admin actor was made.
    pub async fn sync_startup_admin(&self, admin: StartupAdmin<'_>) -> Result<bool, ServiceError> {
        if let StartupAdmin::Env(token) = admin
            && token.chars().count() < ADMIN_TOKEN_CHARS_MIN
        {
            return Err(ServiceError::invalid(
                "invalid_admin_token",
                format!("SHEBAO_ADMIN_TOKEN must have at least {ADMIN_TOKEN_CHARS_MIN} characters"),
            ));
        }
        let (env, generated) = match admin {
            StartupAdmin::Env(t) => (Some(token_digest(t)), None),
            StartupAdmin::Generated(t) => (None, t.map(token_digest)),
        };
        let now = self.clock.now();
        let cache = &self.staff_tokens;
        let (created, revoked) = self
            .db
            .write(move |tx| {
                let by = operator(now);
                let mut revoked = Vec::new();
                for (actor, digest) in tx.startup_admins()? {
                    let named_by = |d: &Option<String>| d.as_deref() == Some(digest.as_str());
                    let keep = match actor.source {
                        // The generated admin belongs to its file in the data dir: it ends
                        // only when another file's token replaced it.
                        ActorSource::Generated => generated
                            .as_deref()
                            .is_none_or(|d| d == digest)
                            .then_some(ActorSource::Generated),
                        _ if named_by(&env) => Some(ActorSource::EnvToken),
                        _ if named_by(&generated) => Some(ActorSource::Generated),
                        _ => None,
                    };
                    match keep {
                        Some(source) if source != actor.source => {
                            tx.set_actor_standing(&actor.id, source, None)?
                        }
                        Some(_) => {}
                        None => {
                            tx.set_actor_standing(&actor.id, actor.source, Some(now))?;
                            Audit::new(AuditAction::ActorRevoke)
                                .detail(format!(
                                    "admin actor {}: SHEBAO_ADMIN_TOKEN no longer names it",
                                    actor.id
                                ))
                                .record(tx, &by, now)?;
                            revoked.push(actor.id);
                        }
                    }
                }
                let digest = match (&env, &generated) {
                    (Some(d), _) => d.clone(),
                    (None, Some(d)) if tx.actor_by_token(d)?.is_none() => d.clone(),
                    (None, _) => return Ok((false, revoked)),
                };
                let source = if env.is_some() {
                    ActorSource::EnvToken
                } else {
                    ActorSource::Generated
                };
                if let Some(existing) = tx.actor_by_token(&digest)? {
                    if existing.role != Role::Admin || existing.source != source {
                        return Err(ServiceError::conflict(
                            "invalid_admin_token",
                            "SHEBAO_ADMIN_TOKEN is another actor's token; choose a fresh one",
                        ));
                    }
                    if existing.revoked_at.is_some() {
                        tx.set_actor_standing(&existing.id, source, None)?;
                        Audit::new(AuditAction::ActorRestore)
                            .detail(format!(
                                "admin actor {}: SHEBAO_ADMIN_TOKEN names it again",
                                existing.id
                            ))
                            .record(tx, &by, now)?;
                    }
                    return Ok((false, revoked));
                }
                let seq = tx.next_sequence("actor")?;
                let actor = Actor {
                    id: format!("A{seq:06}"),
                    role: Role::Admin,
                    name: "admin".into(),
                    region: None,
                    employer_id: None,
                    id_number: None,
                    must_change_password: false,
                    session_id: None,
                    created_at: now,
                    source,
                    revoked_at: None,
                    psam: None,
                };
                tx.insert_actor(&actor, &digest)?;
                Audit::new(AuditAction::ActorCreate)
                    .detail(format!(
                        "admin actor {} from the {} token",
                        actor.id,
                        if env.is_some() {
                            "SHEBAO_ADMIN_TOKEN"
                        } else {
                            "generated"
                        }
                    ))
                    .record(tx, &by, now)?;
                Ok((true, revoked))
            })
            .await?;
        for id in revoked {
            cache.forget_actor(&id);
        }
        Ok(created)
    }

    /// `DELETE /admin/actors/{id}`: the actor's token stops working, at once on this server and
    /// within the token cache's age bound on every other. An admin from `SHEBAO_ADMIN_TOKEN`
    /// ends when the variable is removed, not here; an admin cannot revoke itself.
    pub async fn revoke_actor(&self, actor: &Actor, id: &str) -> Result<Actor, ServiceError> {
        require_role(actor, &[Role::Admin])?;
        if actor.id == id {
            return Err(ServiceError::conflict(
                "cannot_revoke_self",
                "an admin cannot revoke its own token; another admin can",
            ));
        }
        self.revoke(actor, id, RevokeWhich::AnyActor).await
    }

    /// A terminal's token revoked from the console (R-KM-1): Admin and Clerk. Only a
    /// terminal actor (pharmacy, hospital, bank, kiosk) may be revoked this way: another role
    /// is 409 `not_a_terminal`, an unknown id 404. Audited and forgotten by the token cache
    /// exactly as [`Service::revoke_actor`]: the token stops working at once on this server
    /// and within the cache's age bound on every other.
    pub async fn revoke_terminal(&self, actor: &Actor, id: &str) -> Result<Actor, ServiceError> {
        require_role(actor, &[Role::Admin, Role::Clerk])?;
        self.revoke(actor, id, RevokeWhich::TerminalOnly).await
    }

    /// Revokes the actor `id` on behalf of `by` (whose role the caller checked): sets
    /// `revoked_at` and records [`AuditAction::ActorRevoke`] in one transaction, then forgets
    /// the actor's cached tokens. Revoking a revoked actor changes nothing.
    async fn revoke(
        &self,
        by: &Actor,
        id: &str,
        which: RevokeWhich,
    ) -> Result<Actor, ServiceError> {
        let now = self.clock.now();
        let (by, target) = (by.clone(), id.to_owned());
        let revoked = self
            .db
            .write(move |tx| {
                let mut found = tx
                    .actor(&target)?
                    .ok_or_else(|| ServiceError::not_found(format!("no actor {target}")))?;
                if which == RevokeWhich::TerminalOnly && !found.role.is_terminal() {
                    return Err(ServiceError::conflict(
                        "not_a_terminal",
                        "only a pharmacy, hospital, bank or kiosk terminal is revoked here",
                    ));
                }
                if found.source == ActorSource::EnvToken {
                    return Err(ServiceError::conflict(
                        "admin_from_environment",
                        "this admin comes from SHEBAO_ADMIN_TOKEN: remove the variable and restart to end it",
                    ));
                }
                if found.revoked_at.is_some() {
                    return Ok(found);
                }
                tx.set_actor_standing(&found.id, found.source, Some(now))?;
                found.revoked_at = Some(now);
                Audit::new(AuditAction::ActorRevoke)
                    .detail(format!("actor {} ({})", found.id, found.role))
                    .record(tx, &by, now)?;
                Ok(found)
            })
            .await?;
        self.staff_tokens.forget_actor(&revoked.id);
        Ok(revoked)
    }

    /// The terminal actors (pharmacy, hospital, bank, kiosk), by id, a page at a time, with
    /// their PSAM and its last accepted request (R-KM-1): Admin and Clerk. Never a token nor
    /// its digest. `after` is the last id seen; answers the page and the `after` of the next
    /// one (`None`: no more). The store pages all actors, so this reads pages of them and keeps
    /// the terminals, until `limit` terminals are found or the end; it reads at most 10 000
    /// actors per call, after which the page may be short and the next one goes on from the
    /// last actor read.
    pub async fn terminals(
        &self,
        actor: &Actor,
        after: Option<&str>,
        limit: Option<u32>,
    ) -> Result<(Vec<Actor>, Option<String>), ServiceError> {
        require_role(actor, &[Role::Admin, Role::Clerk])?;
        let limit = usize::try_from(page_limit(limit)?)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let after = after.unwrap_or_default().to_owned();
        self.db
            .read(move |tx| {
                let mut found: Vec<Actor> = Vec::new();
                let mut cursor = after;
                let mut scanned = 0usize;
                loop {
                    let rows = tx.actors_after(&cursor, TERMINAL_SCAN_PAGE)?;
                    let full = rows.len() >= TERMINAL_SCAN_PAGE as usize;
                    for a in rows {
                        scanned += 1;
                        cursor.clone_from(&a.id);
                        if !a.role.is_terminal() {
                            continue;
                        }
                        if found.len() == limit {
                            // One more terminal exists: the next page starts after this one.
                            let next = found.last().map(|t| t.id.clone());
                            return Ok((found, next));
                        }
                        found.push(a);
                    }
                    if !full {
                        return Ok((found, None));
                    }
                    if scanned >= TERMINAL_SCAN_ROWS_MAX {
                        return Ok((found, Some(cursor)));
                    }
                }
            })
            .await
    }

    /// `GET /admin/actors`: every actor (never a token), a page at a time.
    pub async fn actors(
        &self,
        actor: &Actor,
        after: Option<String>,
        limit: Option<u32>,
    ) -> Result<Vec<Actor>, ServiceError> {
        require_role(actor, &[Role::Admin])?;
        let limit = page_limit(limit)?;
        let after = after.unwrap_or_default();
        self.db
            .read(move |tx| Ok(tx.actors_after(&after, limit)?))
            .await
    }

    /// R-PW-9: who did what, where, through which channel, with what evidence.
    /// The filters come as the request wrote them: a card number that is no card number finds
    /// nothing, an ID number that is none is 422 `invalid_id_number`.
    pub async fn audit(
        &self,
        actor: &Actor,
        filter: AuditFilter,
    ) -> Result<Vec<AuditRecord>, ServiceError> {
        require_role(actor, &[Role::Admin, Role::Clerk])?;
        let limit = Some(page_limit(filter.limit)?);
        let id_number = filter
            .id_number
            .as_deref()
            .map(crate::input::parse_id_number)
            .transpose()?;
        let card_no = match filter.card_no.as_deref() {
            None => None,
            Some(text) => match shebao_domain::CardNo::parse(text) {
                Some(card_no) => Some(card_no),
                None => return Ok(Vec::new()),
            },
        };
        let query = AuditQuery {
            card_no,
            id_number,
            after_seq: filter.after_seq,
            limit,
        };
        self.db.read(move |tx| Ok(tx.audit(&query)?)).await
    }

    /// `POST /admin/clock`: only with `--sim-clock`.
    pub fn move_clock(
        &self,
        actor: &Actor,
        advance: Option<Span>,
        set: Option<Timestamp>,
    ) -> Result<Timestamp, ServiceError> {
        require_role(actor, &[Role::Admin])?;
        let sim = self
            .clock
            .as_sim()
            .ok_or_else(|| ServiceError::not_found("the clock is real; start with --sim-clock"))?;
        let mut now = sim.now_for_admin();
        if let Some(at) = set {
            now = sim
                .set(at)
                .map_err(|e| ServiceError::invalid("invalid_clock", e.to_string()))?;
        }
        if let Some(span) = advance {
            now = sim
                .advance(span)
                .map_err(|e| ServiceError::invalid("invalid_clock", e.to_string()))?;
        }
        Ok(now)
    }
}

/// `GET /audit`'s filters as the request wrote them.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    pub card_no: Option<String>,
    pub id_number: Option<String>,
    /// Only records after this sequence number.
    pub after_seq: Option<i64>,
    /// At most this many (default 200, at most 1000).
    pub limit: Option<u32>,
}
