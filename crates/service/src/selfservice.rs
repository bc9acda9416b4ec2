//! The cardholder's self-service login with the online query password (R-PW-8, D-4, D-19).
//!
//! The query password is separate from both transaction passwords; a wrong one slows the
//! next login down (D-4) and never locks the card. The transaction password can never be set
//! or read here.
//!
//! Someone who knows an ID number must learn nothing from the login about whether it is
//! registered: an unknown number is throttled like a known one (its counter lives in the same
//! table, keyed by the number), answered the same 401, and costs the same argon2id
//! verification (against a dummy hash). A query password that falls into the wrong hands can
//! be won back: a clerk resets it to the initial one (D-19), and a change or a reset ends the
//! other sessions.

use crate::Service;
use crate::error::ServiceError;
use crate::input::parse_id_number;
use crate::keys::{
    constant_time_eq, dummy_query_password_hash, hash_query_password, new_token, token_digest,
    verify_query_password,
};
use crate::model::{Actor, ActorSource, Session};
use crate::model::{AuditAction, Outcome};
use crate::request_key::{KeyedWrite, RequestKey};
use crate::store::Committed;
use crate::store::Lock;
use crate::support::{Audit, load_person, require_role};
use jiff::{SignedDuration, Timestamp};
use shebao_domain::{Evidence, IdNumber, Person, Role, WebLoginThrottle};
use zeroize::Zeroizing;

/// How long a self-service session lasts.
pub const SESSION_DURATION: SignedDuration = SignedDuration::from_hours(2);
/// A login throttle with no failure for this long is forgotten (D-4: it slows guessing down;
/// a day of quiet starts the count again).
pub const THROTTLE_QUIET: SignedDuration = SignedDuration::from_hours(24);
const QUERY_PASSWORD_CHARS_MIN: usize = 8;
const QUERY_PASSWORD_CHARS_MAX: usize = 64;

pub struct LoginResult {
    pub token: Zeroizing<String>,
    pub must_change_password: bool,
    pub expires_at: Timestamp,
}

/// Whether `candidate` is the query password of `person` (`None`: no such person). Always
/// exactly one argon2id verification, whoever asks about whatever number: the time an answer
/// takes tells nothing.
fn matches_query_password(person: Option<&Person>, candidate: &str) -> bool {
    match person.and_then(|p| p.query_password_hash.as_deref()) {
        Some(hash) => verify_query_password(hash, candidate),
        None => {
            // The dummy verification costs what a real one costs; its answer is discarded.
            let _ = verify_query_password(dummy_query_password_hash(), candidate);
            // R-PW-8: never set: the initial one is the last 8 ID digits, X read as 0.
            person
                .is_some_and(|p| constant_time_eq(&p.id_number.initial_query_password(), candidate))
        }
    }
}

fn throttled(
    throttle: &WebLoginThrottle,
    now: Timestamp,
    policy: &shebao_domain::Policy,
) -> Result<(), ServiceError> {
    throttle
        .check(now, &policy.web_login)
        .map_err(|wait| ServiceError::TooManyAttempts {
            retry_after_s: u64::try_from(wait.as_secs()).unwrap_or(0).max(1),
        })
}

fn self_actor(id: &IdNumber, now: Timestamp) -> Actor {
    Actor {
        id: format!("self:{}", id.masked()),
        role: Role::Cardholder,
        name: "cardholder".into(),
        region: None,
        employer_id: None,
        id_number: Some(id.clone()),
        must_change_password: false,
        session_id: None,
        created_at: now,
        source: ActorSource::Api,
        revoked_at: None,
        psam: None,
    }
}

/// The holder's own ID number, from a cardholder actor.
fn own_id(actor: &Actor) -> Result<IdNumber, ServiceError> {
    require_role(actor, &[Role::Cardholder])?;
    actor
        .id_number
        .clone()
        .ok_or_else(|| ServiceError::forbidden("a cardholder session names its holder"))
}

impl Service {
    /// R-PW-8, D-4: log in with ID number and query password.
    pub async fn login(
        &self,
        id_number: &str,
        query_password: Zeroizing<String>,
    ) -> Result<LoginResult, ServiceError> {
        let id = parse_id_number(id_number)?;
        let now = self.clock.now();
        let policy = self.policy.clone();
        let unknown =
            || ServiceError::Unauthorized("the ID number or query password is wrong".into());
        // Read and throttle first; the slow hash runs off the writer.
        let (person, throttle) = self
            .db
            .read({
                let id = id.clone();
                move |tx| {
                    Ok((
                        tx.person(&id, Lock::Read)?,
                        tx.login_throttle(id.as_str(), Lock::Read)?,
                    ))
                }
            })
            .await?;
        throttled(&throttle, now, &policy)?;
        let right = tokio::task::spawn_blocking(move || {
            matches_query_password(person.as_ref(), &query_password)
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let token = new_token().map_err(|e| ServiceError::Internal(e.to_string()))?;
        let digest = token_digest(&token);
        let session_id = digest[..16].to_owned();
        self.db
            .write_committed(move |tx| {
                // Racing logins for one number queue on its throttle row (D-4 counts each).
                let mut throttle = tx.login_throttle(id.as_str(), Lock::ForUpdate)?;
                throttled(&throttle, now, &policy)?;
                let actor = self_actor(&id, now);
                let person = if right {
                    tx.person(&id, Lock::Read)?
                } else {
                    None
                };
                let Some(person) = person else {
                    throttle.record_failure(now);
                    tx.put_login_throttle(id.as_str(), &throttle)?;
                    Audit::new(AuditAction::SelfLogin)
                        .person(&id)
                        .outcome(Outcome::WrongPassword)
                        .record(tx, &actor, now)?;
                    return Ok(Committed::Refusal(unknown()));
                };
                tx.put_login_throttle(id.as_str(), &WebLoginThrottle::default())?;
                // Expired sessions and long-quiet throttles go as new sessions come.
                let quiet_since = now.checked_sub(THROTTLE_QUIET).unwrap_or(now);
                tx.sweep_sessions(now, quiet_since)?;
                let expires_at = now.checked_add(SESSION_DURATION).unwrap_or(now);
                tx.insert_session(
                    &Session {
                        id: session_id,
                        id_number: id.clone(),
                        created_at: now,
                        expires_at,
                    },
                    &digest,
                )?;
                Audit::new(AuditAction::SelfLogin)
                    .person(&id)
                    .record(tx, &actor, now)?;
                Ok(Committed::Answer(LoginResult {
                    token,
                    must_change_password: person.must_change_query_password(),
                    expires_at,
                }))
            })
            .await
    }

    /// R-PW-8: change the query password (forced at first login). Every other session of the
    /// person ends: whoever else knew the old one is out. Under an `Idempotency-Key` (issue
    /// 16) the repeat of a change carried out answers as the first did: the old password, now
    /// replaced, is not tried again and the throttle counts nothing.
    pub async fn change_query_password(
        &self,
        actor: &Actor,
        old_password: Zeroizing<String>,
        new_password: Zeroizing<String>,
        key: Option<RequestKey>,
    ) -> Result<(), ServiceError> {
        let id = own_id(actor)?;
        let now = self.clock.now();
        let n = new_password.chars().count();
        if !(QUERY_PASSWORD_CHARS_MIN..=QUERY_PASSWORD_CHARS_MAX).contains(&n)
            || !new_password.chars().any(|c| c.is_ascii_digit())
            || !new_password.chars().any(char::is_alphabetic)
        {
            return Err(ServiceError::invalid(
                "invalid_password",
                format!(
                    "a query password has {QUERY_PASSWORD_CHARS_MIN}-{QUERY_PASSWORD_CHARS_MAX} characters with at least one letter and one digit"
                ),
            ));
        }
        if new_password.contains(id.as_str()) || *new_password == id.initial_query_password() {
            return Err(ServiceError::invalid(
                "weak_password",
                "the query password must not contain the ID number",
            ));
        }
        let policy = self.policy.clone();
        let (person, throttle) = self
            .db
            .read({
                let id = id.clone();
                move |tx| {
                    Ok((
                        load_person(tx, &id, Lock::Read)?,
                        tx.login_throttle(id.as_str(), Lock::Read)?,
                    ))
                }
            })
            .await?;
        throttled(&throttle, now, &policy)?;
        let (right, hash) = tokio::task::spawn_blocking(move || {
            let right = matches_query_password(Some(&person), &old_password);
            let hash = if right {
                Some(hash_query_password(&new_password))
            } else {
                None
            };
            (right, hash)
        })
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let hash = hash
            .transpose()
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let actor = actor.clone();
        self.db
            .write_committed(move |tx| {
                let keyed = key
                    .as_ref()
                    .map(|k| KeyedWrite::new(&actor.id, k, &["PUT /self/query-password"]));
                if let Some(k) = &keyed
                    && k.prior(tx)?.is_some()
                {
                    return Ok(Committed::Answer(()));
                }
                let mut throttle = tx.login_throttle(id.as_str(), Lock::ForUpdate)?;
                throttled(&throttle, now, &policy)?;
                match (right, hash) {
                    (true, Some(hash)) => {
                        let mut person = load_person(tx, &id, Lock::ForUpdate)?;
                        person.query_password_hash = Some(hash);
                        tx.update_person(&person)?;
                        tx.put_login_throttle(id.as_str(), &WebLoginThrottle::default())?;
                        let ended =
                            tx.delete_sessions_of(id.as_str(), actor.session_id.as_deref())?;
                        Audit::new(AuditAction::SelfQueryPasswordChange)
                            .person(&id)
                            .detail(format!("{ended} other sessions ended"))
                            .record(tx, &actor, now)?;
                        if let Some(k) = &keyed {
                            k.record(tx, id.as_str(), now)?;
                        }
                        Ok(Committed::Answer(()))
                    }
                    _ => {
                        throttle.record_failure(now);
                        tx.put_login_throttle(id.as_str(), &throttle)?;
                        Audit::new(AuditAction::SelfQueryPasswordChange)
                            .person(&id)
                            .outcome(Outcome::WrongPassword)
                            .record(tx, &actor, now)?;
                        Ok(Committed::Refusal(ServiceError::WrongPassword {
                            remaining_tries: None,
                        }))
                    }
                }
            })
            .await
    }

    /// `POST /self/logout`: this session ends.
    pub async fn logout(&self, actor: &Actor) -> Result<(), ServiceError> {
        let id = own_id(actor)?;
        let session = actor
            .session_id
            .clone()
            .ok_or_else(|| ServiceError::Internal("a cardholder actor has a session".into()))?;
        let now = self.clock.now();
        let actor = actor.clone();
        self.db
            .write(move |tx| {
                tx.delete_session(&session)?;
                Audit::new(AuditAction::SelfLogout)
                    .person(&id)
                    .record(tx, &actor, now)?;
                Ok(())
            })
            .await
    }

    /// D-19, R-PW-10: a clerk gives the holder a fresh start. The query password returns to
    /// the initial one (R-PW-8) with a forced change at the next login, the login throttle is
    /// cleared, and every session of the person ends. The holder shows ID as for any reset
    /// (R-LK-4: an agent brings what the policy asks).
    pub async fn reset_query_password(
        &self,
        actor: &Actor,
        id_number: &str,
        evidence: Option<Evidence>,
    ) -> Result<(), ServiceError> {
        require_role(actor, &[Role::Clerk])?;
        let id = parse_id_number(id_number)?;
        let evidence = evidence.ok_or_else(ServiceError::no_evidence)?;
        evidence
            .check_holder_or_agent(&id, &self.policy.agent)
            .map_err(ServiceError::from)?;
        let now = self.clock.now();
        let actor = actor.clone();
        self.db
            .write(move |tx| {
                let mut person = load_person(tx, &id, Lock::ForUpdate)?;
                person.query_password_hash = None;
                tx.update_person(&person)?;
                tx.put_login_throttle(id.as_str(), &WebLoginThrottle::default())?;
                let ended = tx.delete_sessions_of(id.as_str(), None)?;
                Audit::new(AuditAction::SelfQueryPasswordReset)
                    .person(&id)
                    .evidence(&evidence)
                    .detail(format!(
                        "query password back to the initial one, change forced; {ended} sessions ended"
                    ))
                    .record(tx, &actor, now)?;
                Ok(())
            })
            .await
    }

    /// `GET /self/audit` (R-PW-9): the holder's own trail — who did what on their record and
    /// cards, where, through which channel, with what evidence — a page at a time.
    pub async fn own_audit(
        &self,
        actor: &Actor,
        after_seq: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<crate::model::AuditRecord>, ServiceError> {
        let id = own_id(actor)?;
        let query = crate::model::AuditQuery {
            card_no: None,
            id_number: Some(id),
            after_seq,
            limit: Some(crate::input::page_limit(limit)?),
        };
        self.db.read(move |tx| Ok(tx.audit(&query)?)).await
    }

    /// Resolves a bearer token to its actor: an actor token, or a live self-service session.
    pub async fn authenticate(&self, token: &str) -> Result<Actor, ServiceError> {
        self.authenticate_digest(token_digest(token)).await
    }

    /// The same from the token's digest (`keys::token_digest`): what a console session keeps
    /// of the token it acts with (issue 16), so a revoked actor or an ended or expired
    /// self-service session is refused there as anywhere.
    pub async fn authenticate_digest(&self, digest: String) -> Result<Actor, ServiceError> {
        let invalid = || ServiceError::Unauthorized("the token is not valid or has expired".into());
        // Staff and terminal actors are remembered for a short while (the cache's age bound),
        // so a pharmacy's sale does not pay for a database read to say who it is; a revocation
        // reaches every server within that bound.
        if let Some(actor) = self.staff_tokens.get(&digest, crate::Monotonic::now()) {
            return Ok(actor);
        }
        let now = self.clock.now();
        let cache_key = digest.clone();
        let actor = self
            .db
            .read(move |tx| {
                if let Some(actor) = tx.actor_by_token(&digest)? {
                    if actor.revoked_at.is_some() {
                        return Err(invalid());
                    }
                    return Ok(actor);
                }
                let session = tx.session(&digest)?.filter(|s| s.expires_at > now);
                let Some(session) = session else {
                    return Err(invalid());
                };
                let id = session.id_number.clone();
                let person = load_person(tx, &id, Lock::Read)?;
                let mut actor = self_actor(&id, session.created_at);
                actor.id = format!("session:{}", session.id);
                actor.session_id = Some(session.id);
                actor.must_change_password = person.must_change_query_password();
                Ok(actor)
            })
            .await?;
        if actor.role != Role::Cardholder {
            self.staff_tokens
                .put(cache_key, actor.clone(), crate::Monotonic::now());
        }
        Ok(actor)
    }
}
