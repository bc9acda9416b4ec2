//! The cardholder's self-service login with the online query password (R-PW-8, D-4).
//!
//! The query password is separate from both transaction passwords; a wrong one slows the
//! next login down (D-4) and never locks the card. The transaction password can never be set
//! or read here.

use crate::Service;
use crate::error::ServiceError;
use crate::keys::{
    constant_time_eq, hash_query_password, new_token, token_digest, verify_query_password,
};
use crate::model::{Actor, Session};
use crate::support::{Audit, load_person, parse_id_number, require_role};
use jiff::SignedDuration;
use shebao_domain::{IdNumber, Person, Role};
use zeroize::Zeroizing;

/// How long a self-service session lasts.
pub const SESSION_DURATION: SignedDuration = SignedDuration::from_hours(2);
const QUERY_PASSWORD_CHARS_MIN: usize = 8;
const QUERY_PASSWORD_CHARS_MAX: usize = 64;

pub struct LoginResult {
    pub token: Zeroizing<String>,
    pub must_change_password: bool,
    pub expires_at: jiff::Timestamp,
}

fn matches_query_password(person: &Person, candidate: &str) -> bool {
    match &person.query_password_hash {
        Some(hash) => verify_query_password(hash, candidate),
        // R-PW-8: never set: the initial one is the last 8 ID digits, X read as 0.
        None => constant_time_eq(&person.id_number.initial_query_password(), candidate),
    }
}

fn throttled(
    person: &Person,
    now: jiff::Timestamp,
    policy: &shebao_domain::Policy,
) -> Result<(), ServiceError> {
    person
        .web_login
        .check(now, &policy.web_login)
        .map_err(|wait| ServiceError::TooManyAttempts {
            retry_after_s: u64::try_from(wait.as_secs()).unwrap_or(0).max(1),
        })
}

fn self_actor(id: &IdNumber, now: jiff::Timestamp) -> Actor {
    Actor {
        id: format!("self:{}", id.masked()),
        role: Role::Cardholder,
        name: "cardholder".into(),
        region: None,
        employer_id: None,
        id_number: Some(id.as_str().to_owned()),
        must_change_password: false,
        created_at: now,
    }
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
        let person = self
            .db
            .read({
                let id = id.clone();
                move |tx| Ok(tx.person(&id, false)?)
            })
            .await?
            .ok_or_else(unknown)?;
        throttled(&person, now, &policy)?;
        let right = {
            let person = person.clone();
            tokio::task::spawn_blocking(move || matches_query_password(&person, &query_password))
                .await
                .map_err(|e| ServiceError::Internal(e.to_string()))?
        };
        let token = new_token().map_err(|e| ServiceError::Internal(e.to_string()))?;
        let digest = token_digest(&token);
        let session_id = digest[..16].to_owned();
        self.db
            .write(move |tx| {
                let mut person = load_person(tx, &id, true)?;
                // Another failure may have landed meanwhile.
                throttled(&person, now, &policy)?;
                let actor = self_actor(&id, now);
                if !right {
                    person.web_login.record_failure(now);
                    tx.update_person(&person)?;
                    Audit::new("self.login")
                        .person(&id)
                        .outcome("wrong_password")
                        .record(tx, &actor, now)?;
                    return Ok(Err(unknown()));
                }
                person.web_login.record_success();
                tx.update_person(&person)?;
                let expires_at = now.checked_add(SESSION_DURATION).unwrap_or(now);
                tx.insert_session(
                    &Session {
                        id: session_id,
                        id_number: id.as_str().to_owned(),
                        created_at: now,
                        expires_at,
                    },
                    &digest,
                )?;
                Audit::new("self.login")
                    .person(&id)
                    .record(tx, &actor, now)?;
                Ok(Ok(LoginResult {
                    token,
                    must_change_password: person.must_change_query_password(),
                    expires_at,
                }))
            })
            .await?
    }

    /// R-PW-8: change the query password (forced at first login).
    pub async fn change_query_password(
        &self,
        actor: &Actor,
        old_password: Zeroizing<String>,
        new_password: Zeroizing<String>,
    ) -> Result<(), ServiceError> {
        require_role(actor, &[Role::Cardholder])?;
        let id = parse_id_number(actor.id_number.as_deref().unwrap_or_default())?;
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
        let person = self
            .db
            .read({
                let id = id.clone();
                move |tx| load_person(tx, &id, false)
            })
            .await?;
        throttled(&person, now, &policy)?;
        let (right, hash) = tokio::task::spawn_blocking(move || {
            let right = matches_query_password(&person, &old_password);
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
            .write(move |tx| {
                let mut person = load_person(tx, &id, true)?;
                throttled(&person, now, &policy)?;
                match (right, hash) {
                    (true, Some(hash)) => {
                        person.query_password_hash = Some(hash);
                        person.web_login.record_success();
                        tx.update_person(&person)?;
                        Audit::new("self.query_password.change")
                            .person(&id)
                            .record(tx, &actor, now)?;
                        Ok(Ok(()))
                    }
                    _ => {
                        person.web_login.record_failure(now);
                        tx.update_person(&person)?;
                        Audit::new("self.query_password.change")
                            .person(&id)
                            .outcome("wrong_password")
                            .record(tx, &actor, now)?;
                        Ok(Err(ServiceError::WrongPassword {
                            remaining_tries: None,
                        }))
                    }
                }
            })
            .await?
    }

    /// Resolves a bearer token to its actor: an actor token, or a live self-service session.
    pub async fn authenticate(&self, token: &str) -> Result<Actor, ServiceError> {
        let digest = token_digest(token);
        // Staff and terminal actors never change once created: their tokens are remembered,
        // so a pharmacy's sale does not pay for a database read to say who it is.
        if let Some(actor) = self.staff_tokens.get(&digest) {
            return Ok(actor);
        }
        let now = self.clock.now();
        let cache_key = digest.clone();
        let actor = self
            .db
            .read(move |tx| {
                if let Some(actor) = tx.actor_by_token(&digest)? {
                    return Ok(actor);
                }
                let session = tx.session(&digest)?.filter(|s| s.expires_at > now);
                let Some(session) = session else {
                    return Err(ServiceError::Unauthorized(
                        "the token is not valid or has expired".into(),
                    ));
                };
                let id = parse_id_number(&session.id_number)?;
                let person = load_person(tx, &id, false)?;
                let mut actor = self_actor(&id, session.created_at);
                actor.id = format!("session:{}", session.id);
                actor.must_change_password = person.must_change_query_password();
                Ok(actor)
            })
            .await?;
        if actor.role != shebao_domain::Role::Cardholder {
            self.staff_tokens.put(cache_key, actor.clone());
        }
        Ok(actor)
    }
}
