//! People and employers (R-ID-1, R-ID-3).

use crate::Service;
use crate::error::{ServiceError, duplicate_as_exists};
use crate::input::{bounded_fen, check_new_pin, parse_id_number, parse_name, parse_region};
use crate::keys::PinContext;
use crate::model::AuditAction;
use crate::model::{Actor, Employer};
use crate::request_key::{KeyedWrite, RequestKey};
use crate::store::Lock;
use crate::support::{Audit, require_role};
use crate::views::{PersonView, legacy_view};
use shebao_domain::time::business_date;
use shebao_domain::{IdNumber, LegacyCard, Person, PersonKind, Phone, Pin, Role};
use zeroize::Zeroizing;

pub struct NewPerson {
    pub id_number: String,
    pub name: String,
    pub phone: Option<String>,
    pub kind: String,
    pub employer_id: Option<String>,
    pub region: Option<String>,
    pub contribution_base_fen: Option<i64>,
    pub legacy_card: Option<NewLegacyCard>,
}

pub struct NewLegacyCard {
    pub number: String,
    pub balance_fen: i64,
    pub password: Option<Zeroizing<String>>,
}

pub struct NewEmployer {
    pub name: String,
    pub region: Option<String>,
    pub prev_year_avg_wage_fen: Option<i64>,
}

impl Service {
    /// Registers an insured person (R-ID-1). An employer registers its own employees (R-ID-3).
    pub async fn register_person(
        &self,
        actor: &Actor,
        input: NewPerson,
    ) -> Result<PersonView, ServiceError> {
        require_role(actor, &[Role::Clerk, Role::Employer])?;
        let now = self.clock.now();
        // R-ID-1: GB 11643 check digit and a real birth date not after today.
        let id_number = IdNumber::parse(&input.id_number, business_date(now))
            .map_err(|e| ServiceError::invalid("invalid_id_number", e.to_string()))?;
        let name = parse_name(&input.name, "name")?;
        let phone = match input.phone.as_deref() {
            None => None,
            Some(p) => Some(Phone::parse(p).ok_or_else(|| {
                ServiceError::invalid(
                    "invalid_phone",
                    "phone is an 11-digit mainland mobile number starting with 1",
                )
            })?),
        };
        let kind = PersonKind::parse(&input.kind).ok_or_else(|| {
            ServiceError::invalid(
                "invalid_kind",
                "kind is one of employee, retiree, resident, flexible",
            )
        })?;
        let employer_id = match (actor.role, input.employer_id) {
            // An employer registers people for itself only.
            (Role::Employer, Some(given)) if Some(&given) != actor.employer_id.as_ref() => {
                return Err(ServiceError::forbidden(
                    "an employer registers its own employees only",
                ));
            }
            (Role::Employer, _) => actor.employer_id.clone(),
            (_, given) => given,
        };
        let region = parse_region(input.region.as_deref(), &self.policy.home_region)?;
        let limits = self.policy.limits;
        // D-14: a contribution base is a month's wage: positive and within the ceiling.
        let contribution_base = input
            .contribution_base_fen
            .map(|v| bounded_fen(v, 1, limits.contribution_base_max, "contribution_base_fen"))
            .transpose()?;
        // D-14: a legacy card's balance comes only from the bureau's own records.
        if input.legacy_card.is_some() && actor.role != Role::Clerk {
            return Err(ServiceError::forbidden(
                "legacy_card comes from the bureau's records: only a clerk may send it (D-14)",
            ));
        }
        let mut legacy_pin = None;
        let legacy_card = match input.legacy_card {
            None => None,
            Some(legacy) => {
                let number = legacy.number.trim().to_owned();
                if number.is_empty()
                    || number.len() > 32
                    || !number.bytes().all(|b| b.is_ascii_alphanumeric())
                {
                    return Err(ServiceError::invalid(
                        "invalid_legacy_card",
                        "legacy_card.number is 1-32 letters or digits",
                    ));
                }
                let balance = bounded_fen(
                    legacy.balance_fen,
                    0,
                    limits.legacy_balance_max,
                    "legacy_card.balance_fen",
                )?;
                if let Some(p) = legacy.password.as_deref() {
                    legacy_pin = Some(Pin::parse(p).map_err(|e| {
                        ServiceError::invalid(
                            "invalid_password",
                            format!("legacy_card.password: {e}"),
                        )
                    })?);
                }
                Some(LegacyCard {
                    number,
                    balance,
                    password: None,
                    migrated_at: None,
                })
            }
        };
        let person = Person {
            id_number,
            name,
            phone,
            kind,
            employer_id,
            region,
            contribution_base,
            legacy_card,
            query_password_hash: None,
            created_at: now,
        };
        // R-PW-2: a carried-over password is refused as any new password would be (it is
        // enabled on the new card, D-11).
        let mut person = person;
        if let (Some(pin), Some(legacy)) = (legacy_pin, person.legacy_card.as_ref()) {
            check_new_pin(&self.policy, &person, &pin)?;
            let sealed = self.keys.seal(PinContext::Legacy(&legacy.number), &pin);
            if let Some(legacy) = person.legacy_card.as_mut() {
                legacy.password = Some(sealed);
            }
        }
        let (actor, policy) = (actor.clone(), self.policy.clone());
        self.db
            .write(move |tx| {
                if let Some(employer) = &person.employer_id
                    && tx.employer(employer, Lock::Read)?.is_none()
                {
                    return Err(ServiceError::not_found(format!("no employer {employer}")));
                }
                if tx.person(&person.id_number, Lock::ForUpdate)?.is_some() {
                    return Err(ServiceError::AlreadyExists(format!(
                        "{} is already registered",
                        person.id_number.masked()
                    )));
                }
                tx.insert_person(&person).map_err(duplicate_as_exists)?;
                // D-8: assessed for the month of registration at once.
                crate::months::assess_new_person(tx, &policy, &person, business_date(now))?;
                Audit::new(AuditAction::PersonRegister)
                    .person(&person.id_number)
                    .record(tx, &actor, now)?;
                Ok(PersonView {
                    legacy: legacy_view(&person),
                    person,
                    cards: Vec::new(),
                })
            })
            .await
    }

    pub async fn person(&self, actor: &Actor, id_number: &str) -> Result<PersonView, ServiceError> {
        require_role(actor, &[Role::Clerk, Role::Hotline, Role::Admin])?;
        let id = parse_id_number(id_number)?;
        self.db
            .read(move |tx| {
                let person = crate::support::load_person(tx, &id, Lock::Read)?;
                crate::support::person_view(tx, person)
            })
            .await
    }

    pub async fn create_employer(
        &self,
        actor: &Actor,
        input: NewEmployer,
        key: Option<RequestKey>,
    ) -> Result<Employer, ServiceError> {
        require_role(actor, &[Role::Clerk, Role::Admin])?;
        let now = self.clock.now();
        let name = parse_name(&input.name, "name")?;
        let region = parse_region(input.region.as_deref(), &self.policy.home_region)?;
        // D-14: a monthly average wage, positive and within the ceiling.
        let prev_year_avg_wage = input
            .prev_year_avg_wage_fen
            .map(|v| {
                bounded_fen(
                    v,
                    1,
                    self.policy.limits.contribution_base_max,
                    "prev_year_avg_wage_fen",
                )
            })
            .transpose()?;
        let (actor, policy) = (actor.clone(), self.policy.clone());
        self.db
            .write(move |tx| {
                // Issue 16: the repeat of a registration carried out under this key answers
                // with the employer it made, and makes no second one.
                let wage = prev_year_avg_wage
                    .map(|w| w.0.to_string())
                    .unwrap_or_default();
                let fields = ["POST /employers", name.as_str(), region.as_str(), &wage];
                let keyed = key.as_ref().map(|k| KeyedWrite::new(&actor.id, k, &fields));
                if let Some(k) = &keyed
                    && let Some(id) = k.prior(tx)?
                {
                    return tx.employer(&id, Lock::Read)?.ok_or_else(|| {
                        ServiceError::Internal(format!("keyed employer {id} gone"))
                    });
                }
                let seq = tx.next_sequence("employer")?;
                let employer = Employer {
                    id: format!("E{seq:06}"),
                    name,
                    region,
                    prev_year_avg_wage,
                    created_at: now,
                };
                tx.insert_employer(&employer).map_err(duplicate_as_exists)?;
                // D-8: the month of registration shows at once (assessed at zero until people come).
                crate::months::roll_forward(tx, &policy, &employer, business_date(now))?;
                Audit::new(AuditAction::EmployerCreate)
                    .detail(format!("employer {}", employer.id))
                    .record(tx, &actor, now)?;
                if let Some(k) = &keyed {
                    k.record(tx, &employer.id, now)?;
                }
                Ok(employer)
            })
            .await
    }
}
