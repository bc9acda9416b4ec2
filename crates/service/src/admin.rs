//! Actors, the audit trail and the simulated clock.

use crate::Service;
use crate::error::{ServiceError, duplicate_as_exists};
use crate::keys::{new_token, token_digest};
use crate::model::{Actor, AuditQuery, AuditRecord};
use crate::people::parse_region;
use crate::support::{Audit, require_role};
use jiff::{Span, Timestamp};
use shebao_domain::{RegionCode, Role};
use zeroize::Zeroizing;

pub struct NewActor {
    pub role: String,
    pub name: String,
    pub region: Option<String>,
    pub employer_id: Option<String>,
}

pub const AUDIT_LIMIT_MAX: u32 = 1000;

impl Service {
    /// Creates an actor and returns its token, shown once; only its digest is stored.
    pub async fn create_actor(
        &self,
        actor: &Actor,
        input: NewActor,
    ) -> Result<(Actor, Zeroizing<String>), ServiceError> {
        require_role(actor, &[Role::Admin])?;
        self.create_actor_unchecked(Some(actor), input).await
    }

    /// For the operator CLI and first start: no calling actor.
    pub async fn create_actor_unchecked(
        &self,
        by: Option<&Actor>,
        input: NewActor,
    ) -> Result<(Actor, Zeroizing<String>), ServiceError> {
        let role: Role = input.role.parse().map_err(|_| {
            ServiceError::invalid(
                "invalid_role",
                "role is one of admin, clerk, bank, pharmacy, hospital, hotline, employer",
            )
        })?;
        if role == Role::Cardholder {
            return Err(ServiceError::invalid(
                "invalid_role",
                "cardholders sign in through POST /self/login",
            ));
        }
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 64 {
            return Err(ServiceError::invalid(
                "invalid_name",
                "name must be 1-64 characters",
            ));
        }
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
        let token = new_token().map_err(|e| ServiceError::Internal(e.to_string()))?;
        let digest = token_digest(&token);
        let now = self.clock.now();
        let by = by.cloned();
        let created = self
            .db
            .write(move |tx| {
                if let Some(e) = &employer_id
                    && tx.employer(e)?.is_none()
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
                    created_at: now,
                };
                tx.insert_actor(&actor, &digest)
                    .map_err(duplicate_as_exists)?;
                let by = by.unwrap_or_else(|| operator(now));
                Audit::new("actor.create")
                    .detail(format!("actor {} ({})", actor.id, actor.role))
                    .record(tx, &by, now)?;
                Ok(actor)
            })
            .await?;
        Ok((created, token))
    }

    /// Makes `token` an admin token if no actor has it yet (`SHEBAO_ADMIN_TOKEN`, first start).
    pub async fn ensure_admin_token(&self, token: &str) -> Result<bool, ServiceError> {
        let digest = token_digest(token);
        let now = self.clock.now();
        self.db
            .write(move |tx| {
                if tx.actor_by_token(&digest)?.is_some() {
                    return Ok(false);
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
                    created_at: now,
                };
                tx.insert_actor(&actor, &digest)?;
                Audit::new("actor.create")
                    .detail(format!(
                        "admin actor {} from the configured token",
                        actor.id
                    ))
                    .record(tx, &operator(now), now)?;
                Ok(true)
            })
            .await
    }

    /// R-PW-9: who did what, where, through which channel, with what evidence.
    pub async fn audit(
        &self,
        actor: &Actor,
        mut query: AuditQuery,
    ) -> Result<Vec<AuditRecord>, ServiceError> {
        require_role(actor, &[Role::Admin, Role::Clerk])?;
        if query.limit == 0 || query.limit > AUDIT_LIMIT_MAX {
            query.limit = if query.limit == 0 {
                200
            } else {
                AUDIT_LIMIT_MAX
            };
        }
        if let Some(id) = &query.id_number {
            query.id_number = Some(crate::support::parse_id_number(id)?.as_str().to_owned());
        }
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

pub(crate) fn operator(now: Timestamp) -> Actor {
    Actor {
        id: "operator".into(),
        role: Role::Admin,
        name: "operator (CLI or startup)".into(),
        region: None,
        employer_id: None,
        id_number: None,
        must_change_password: false,
        created_at: now,
    }
}
