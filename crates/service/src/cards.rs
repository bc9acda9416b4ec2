//! Issuing cards, looking at them, and activation (R-ACT-1..4, R-ACT-7).

use crate::Service;
use crate::chip::{CardAuth, CardUse, check_card_auth};
use crate::error::{ServiceError, duplicate_as_exists};
use crate::input::{check_new_pin, parse_card_no, parse_id_number, parse_pin};
use crate::keys::PinContext;
use crate::model::ActivationChannel;
use crate::model::Actor;
use crate::model::{AuditAction, Outcome};
use crate::store::Committed;
use crate::store::Lock;
use crate::support::{
    Audit, check_resident_channel, load_card, load_person, migrate_legacy, new_card_no, new_serial,
    require_role, require_usable, settle,
};
use crate::views::CardView;
use shebao_domain::bank;
use shebao_domain::time::business_date;
use shebao_domain::{Card, CardNo, PasswordAttempt, Role};
use shebao_keys::CardOperation;
use zeroize::Zeroizing;

pub struct ActivationRequest {
    pub channel: String,
    pub fin_password: Option<Zeroizing<String>>,
    pub old_card_password: Option<Zeroizing<String>>,
    /// SMS channel: the number the message came from and its text, when the gateway passes them.
    pub sms_from: Option<String>,
    pub sms_text: Option<String>,
    /// Pharmacy old-card channel: the old card number the terminal read, when it passes it.
    pub old_card_number: Option<String>,
    /// The card chip's answer, from a PSAM terminal (R-KM-1).
    pub card_auth: Option<CardAuth>,
}

impl Service {
    /// Issues a person's card. One usable card at a time; a new card after that comes through
    /// replacement (API.md).
    pub async fn issue_card(
        &self,
        actor: &Actor,
        id_number: &str,
    ) -> Result<CardView, ServiceError> {
        require_role(actor, &[Role::Clerk])?;
        let id = parse_id_number(id_number)?;
        let now = self.clock.now();
        let serial = new_serial()?;
        let (actor, policy) = (actor.clone(), self.policy.clone());
        self.db
            .write(move |tx| {
                let person = load_person(tx, &id, Lock::ForUpdate)?;
                let card = issue_in(tx, &person, serial, &actor, now)?;
                crate::support::card_view(tx, card, &person, &policy, now)
            })
            .await
    }

    /// `POST /employers/{id}/card-applications` (R-ID-3): the employer applies for its insured
    /// people's cards in bulk. Each listed person insured through this employer without a card
    /// gets one; everyone else is skipped with the reason (no such person, not insured here, a
    /// card already held or reported lost, an ID number that is none); a repeated application
    /// issues nothing twice. One transaction.
    pub async fn apply_for_cards(
        &self,
        actor: &Actor,
        employer_id: &str,
        id_numbers: Vec<String>,
    ) -> Result<CardApplications, ServiceError> {
        require_role(actor, &[Role::Employer, Role::Clerk])?;
        if actor.role == Role::Employer && actor.employer_id.as_deref() != Some(employer_id) {
            // An employer is answered of another employer as of one that does not exist.
            return Err(ServiceError::not_found(format!(
                "no employer {employer_id}"
            )));
        }
        if id_numbers.is_empty() || id_numbers.len() > CARD_APPLICATIONS_MAX {
            return Err(ServiceError::invalid(
                "invalid_id_numbers",
                format!("send 1-{CARD_APPLICATIONS_MAX} ID numbers"),
            ));
        }
        let mut serials = Vec::with_capacity(id_numbers.len());
        for _ in &id_numbers {
            serials.push(new_serial()?);
        }
        let now = self.clock.now();
        let (actor, employer_id) = (actor.clone(), employer_id.to_owned());
        self.db
            .write(move |tx| {
                let employer = crate::months::load_employer(tx, &employer_id, Lock::ForUpdate)?;
                let mut done = CardApplications::default();
                let mut seen = std::collections::HashSet::new();
                for (raw, serial) in id_numbers.into_iter().zip(serials) {
                    let skip = |reason: &'static str| CardSkipped {
                        id_number: raw.clone(),
                        reason,
                    };
                    let Ok(id) = parse_id_number(&raw) else {
                        done.skipped.push(skip("invalid_id_number"));
                        continue;
                    };
                    if !seen.insert(id.clone()) {
                        done.skipped.push(skip("listed_twice"));
                        continue;
                    }
                    let Some(person) = tx.person(&id, Lock::ForUpdate)? else {
                        done.skipped.push(skip("not_registered"));
                        continue;
                    };
                    if person.employer_id.as_deref() != Some(employer.id.as_str()) {
                        done.skipped.push(skip("not_insured_here"));
                        continue;
                    }
                    match issue_in(tx, &person, serial, &actor, now) {
                        Ok(card) => done.issued.push((id, card.card_no)),
                        Err(ServiceError::AlreadyExists(_)) => done.skipped.push(skip("has_card")),
                        Err(ServiceError::Conflict {
                            code: "card_lost", ..
                        }) => done.skipped.push(skip("card_lost")),
                        Err(e) => return Err(e),
                    }
                }
                if !done.issued.is_empty() {
                    Audit::new(AuditAction::EmployerCardApplications)
                        .detail(format!(
                            "employer {}: {} cards issued, {} skipped",
                            employer.id,
                            done.issued.len(),
                            done.skipped.len()
                        ))
                        .record(tx, &actor, now)?;
                }
                Ok(done)
            })
            .await
    }

    /// A card with both accounts as of now (R-LK-5 messages included). Who may look: clerks,
    /// banks, the hotline, and the holder at their own card.
    pub async fn card(&self, actor: &Actor, card_no: &str) -> Result<CardView, ServiceError> {
        require_role(
            actor,
            &[
                Role::Clerk,
                Role::Bank,
                Role::Hotline,
                Role::Kiosk,
                Role::Admin,
                Role::Cardholder,
            ],
        )?;
        let card_no = parse_card_no(card_no)?;
        let now = self.clock.now();
        let policy = self.policy.clone();
        let own = actor.id_number.clone();
        let is_holder = actor.role == Role::Cardholder;
        let view = self
            .db
            .read({
                let (card_no, policy) = (card_no.clone(), policy.clone());
                move |tx| {
                    let card = load_card(tx, &card_no, Lock::Read)?;
                    if is_holder && own.as_ref() != Some(&card.id_number) {
                        // The same answer as an unknown card: a holder learns nothing of others.
                        return Err(ServiceError::not_found(format!("no card {card_no}")));
                    }
                    let mut settled = card.clone();
                    if settled.settle(now).changed() {
                        return Ok(None);
                    }
                    let person = load_person(tx, &card.id_number, Lock::Read)?;
                    let state = crate::months::lock_state(tx, &person, business_date(now))?;
                    if !state.months_current {
                        return Ok(None);
                    }
                    Ok(Some(
                        CardView::new(card, &person, &policy, now).with_unit_lock(state.lock),
                    ))
                }
            })
            .await?;
        if let Some(view) = view {
            return Ok(view);
        }
        // Time moved the card on (delayed activation, lock expiry): store that first, so the
        // balance shown is the balance kept.
        self.db
            .write(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                if settle(tx, &mut card, now, &policy)? {
                    tx.update_card(&card)?;
                }
                let person = load_person(tx, &card.id_number, Lock::Read)?;
                let lock = crate::months::unit_lock_for_care(
                    tx,
                    &policy,
                    crate::months::insured_employer(&person),
                    business_date(now),
                )?;
                Ok(CardView::new(card, &person, &policy, now).with_unit_lock(lock))
            })
            .await
    }

    /// Activation through one of the channels (R-ACT-1..4).
    pub async fn activate(
        &self,
        actor: &Actor,
        card_no: &str,
        request: ActivationRequest,
    ) -> Result<CardView, ServiceError> {
        let channel = ActivationChannel::parse(&request.channel).ok_or_else(|| {
            ServiceError::invalid(
                "invalid_channel",
                "channel is one of bank, hospital, sms, service_center, pharmacy_old_card, pharmacy_old_password",
            )
        })?;
        require_role(actor, channel.roles())?;
        let card_no = parse_card_no(card_no)?;
        self.activate_through(actor, card_no, channel, request)
            .await
    }

    /// `POST /sms/inbound` (R-ACT-3): the SMS platform forwards a holder's `K<serial>` message;
    /// sent from the phone registered for that card's holder, it activates the
    /// social-security account. Anything else is 422 `sms_mismatch` and changes nothing; the
    /// platform is told no more of the holder than a terminal would be.
    pub async fn sms_inbound(
        &self,
        actor: &Actor,
        from: &str,
        text: &str,
    ) -> Result<CardView, ServiceError> {
        require_role(actor, &[Role::Sms])?;
        let mismatch = || {
            ServiceError::invalid(
                "sms_mismatch",
                "an activation SMS is K followed by the card's serial number, from the phone registered with the bureau",
            )
        };
        let serial = text
            .trim()
            .strip_prefix(['K', 'k'])
            .filter(|s| s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_uppercase)
            .ok_or_else(mismatch)?;
        let card = self
            .db
            .read(move |tx| Ok(tx.card_by_serial(&serial)?))
            .await?
            .ok_or_else(mismatch)?;
        let request = ActivationRequest {
            channel: ActivationChannel::Sms.as_str().into(),
            fin_password: None,
            old_card_password: None,
            sms_from: Some(from.to_owned()),
            sms_text: Some(text.to_owned()),
            old_card_number: None,
            card_auth: None,
        };
        self.activate_through(actor, card.card_no, ActivationChannel::Sms, request)
            .await
            .map_err(|e| match e {
                // The platform learns nothing of the holder beyond "this did not match".
                ServiceError::Conflict {
                    code: "phone_not_registered",
                    ..
                } => mismatch(),
                other => other,
            })
    }

    /// Activation through `channel` once the caller's role is checked.
    async fn activate_through(
        &self,
        actor: &Actor,
        card_no: CardNo,
        channel: ActivationChannel,
        request: ActivationRequest,
    ) -> Result<CardView, ServiceError> {
        let now = self.clock.now();
        // Bad input is refused before anything is loaded or counted.
        let fin_pin = match channel {
            ActivationChannel::Bank => Some(parse_pin(
                request.fin_password.as_deref().map(String::as_str),
                "fin_password",
            )?),
            _ => None,
        };
        let old_pin = match channel {
            ActivationChannel::PharmacyOldPassword => Some(parse_pin(
                request.old_card_password.as_deref().map(String::as_str),
                "old_card_password",
            )?),
            _ => None,
        };
        let (actor, policy, keys) = (actor.clone(), self.policy.clone(), self.keys.clone());
        let (city_keys, card_auth) = (self.city_keys.clone(), request.card_auth.clone());
        self.db
            .write_committed(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                // R-KM-1: a PSAM terminal proves the card is present before it learns more.
                let usage = CardUse::plain(CardOperation::Activation);
                check_card_auth(&*city_keys, &actor, &mut card, card_auth.as_ref(), usage)?;
                settle(tx, &mut card, now, &policy)?;
                require_usable(&card)?;
                if !card.is_collected() {
                    // R-LS-5: a replacement card is collected with ID before it is activated.
                    return Err(ServiceError::not_collected());
                }
                let person = load_person(tx, &card.id_number, Lock::Read)?;
                check_resident_channel(&policy, &person, channel)?;
                let audit = Audit::new(AuditAction::CardActivate).card(&card).channel(channel.as_str());
                match channel {
                    ActivationChannel::Bank => {
                        if card.fin.is_active() {
                            return Err(ServiceError::conflict("already_active", "the financial account is already active"));
                        }
                        let pin = fin_pin.ok_or_else(|| ServiceError::Internal("fin pin parsed above".into()))?;
                        check_new_pin(&policy, &person, &pin)?;
                        let verifier = keys.seal(PinContext::Financial(card.card_no.as_str()), &pin);
                        card.activate_at_bank(verifier, now, policy.bank_activation_delay);
                        // R-ACT-2: where the delay is zero (Shenyang, 000 G: 同时) the
                        // social-security account activates now, the old card's balance with it.
                        settle(tx, &mut card, now, &policy)?;
                    }
                    _ => {
                        if card.ss.is_active() {
                            return Err(ServiceError::conflict("already_active", "the social-security account is already active"));
                        }
                        let legacy = person.legacy_card.as_ref().filter(|l| l.migrated_at.is_none());
                        match channel {
                            ActivationChannel::Sms => {
                                if person.phone.is_none() {
                                    return Err(ServiceError::conflict("phone_not_registered", "SMS activation needs a phone number registered with the bureau"));
                                }
                                // R-ACT-3: the SMS proves itself by its sender and its text.
                                check_sms(
                                    &person,
                                    &card,
                                    request.sms_from.as_deref(),
                                    request.sms_text.as_deref(),
                                )?;
                            }
                            ActivationChannel::PharmacyOldCard => {
                                let legacy = legacy.ok_or_else(|| {
                                    ServiceError::conflict("no_legacy_card", "this channel is only for a holder exchanging an old medical card for the first time")
                                })?;
                                // R-ACT-3: the old card inserted first is the proof: its number
                                // must be this holder's old card's.
                                let read = request.old_card_number.as_deref().map(str::trim);
                                if read.is_none_or(|n| !crate::keys::constant_time_eq(n, &legacy.number)) {
                                    return Err(ServiceError::invalid(
                                        "old_card_mismatch",
                                        "old_card_number must be the number of this holder's old medical card, as read from it",
                                    ));
                                }
                            }
                            ActivationChannel::PharmacyOldPassword => {
                                let verifier = legacy.and_then(|l| l.password.clone().map(|v| (l.number.clone(), v))).ok_or_else(|| {
                                    ServiceError::conflict("no_legacy_card", "there is no old medical card with a password to carry over")
                                })?;
                                let pin = old_pin.ok_or_else(|| ServiceError::Internal("old pin parsed above".into()))?;
                                let (number, legacy_verifier) = verifier;
                                crate::support::require_pin_key(&keys, &legacy_verifier)?;
                                let attempt = card.ss.attempt_with(now, policy.ss_password_tries_max, &legacy_verifier, |v| {
                                    keys.verify(v, PinContext::Legacy(&number), &pin)
                                });
                                match attempt {
                                    PasswordAttempt::Verified => {
                                        // D-11: the carried-over password is enabled.
                                        card.ss.set_password(keys.seal(PinContext::Social(card.id_number.as_str()), &pin));
                                    }
                                    PasswordAttempt::Locked => return Err(ServiceError::password_locked()),
                                    PasswordAttempt::Wrong { remaining } => {
                                        // The count is kept: commit it, then answer 422.
                                        tx.update_card(&card)?;
                                        audit
                                            .outcome(Outcome::WrongPassword)
                                            .detail(format!("old card password wrong, {remaining} tries left"))
                                            .record(tx, &actor, now)?;
                                        return Ok(Committed::Refusal(ServiceError::WrongPassword { remaining_tries: Some(remaining) }));
                                    }
                                    PasswordAttempt::NotEnabled => {
                                        return Err(ServiceError::Internal("a legacy password attempt always compares".into()));
                                    }
                                }
                            }
                            _ => {}
                        }
                        card.activate_ss(now);
                        // R-ACT-4: the old card's balance moves over now.
                        migrate_legacy(tx, &mut card, now, &policy)?;
                    }
                }
                tx.update_card(&card)?;
                audit.record(tx, &actor, now)?;
                Ok(Committed::Answer(crate::support::card_view(tx, card, &person, &policy, now)?))
            })
            .await
    }
}

/// R-ACT-3: an SMS activation comes from the phone registered for the card's holder and says
/// `K` + the card's serial (case and surrounding spaces ignored). Anything else, a missing
/// sender or text included, is 422 `sms_mismatch`.
pub(crate) fn check_sms(
    person: &shebao_domain::Person,
    card: &Card,
    from: Option<&str>,
    text: Option<&str>,
) -> Result<(), ServiceError> {
    let mismatch = || {
        ServiceError::invalid(
            "sms_mismatch",
            "an SMS activation is K followed by the card's serial number, sent from the phone number registered with the bureau",
        )
    };
    let phone = person.phone.as_ref().ok_or_else(mismatch)?;
    let from_ok = from.is_some_and(|f| f.trim() == phone.as_str());
    let expected = format!("K{}", card.serial);
    let text_ok = text.is_some_and(|t| t.trim().eq_ignore_ascii_case(&expected));
    if from_ok && text_ok {
        Ok(())
    } else {
        Err(mismatch())
    }
}

/// People one bulk card application names at most (R-ID-3).
pub const CARD_APPLICATIONS_MAX: usize = 500;

/// What a bulk card application did (R-ID-3).
#[derive(Debug, Clone, Default)]
pub struct CardApplications {
    pub issued: Vec<(shebao_domain::IdNumber, CardNo)>,
    pub skipped: Vec<CardSkipped>,
}

/// A person a bulk application issued no card for, and why: `invalid_id_number`,
/// `listed_twice`, `not_registered`, `not_insured_here`, `has_card`, `card_lost`.
#[derive(Debug, Clone)]
pub struct CardSkipped {
    pub id_number: String,
    pub reason: &'static str,
}

/// Issues `person` a card in the caller's transaction: one usable card at a time (a second is
/// 409 `already_exists`; with the card reported lost, 409 `card_lost`: a new card comes
/// through a replacement). The card and its audit record are written.
fn issue_in(
    tx: &mut dyn crate::store::Tx,
    person: &shebao_domain::Person,
    serial: String,
    actor: &Actor,
    now: jiff::Timestamp,
) -> Result<Card, ServiceError> {
    let id = &person.id_number;
    if let Some(existing) = tx.cards_of(id)?.into_iter().find(Card::is_usable) {
        if existing.loss_in_force(now).is_some() {
            return Err(ServiceError::conflict(
                "card_lost",
                format!(
                    "card {} is reported lost: a new card comes through a replacement application",
                    existing.card_no
                ),
            ));
        }
        return Err(ServiceError::AlreadyExists(format!(
            "{} already holds card {}; a new card comes through replacement",
            id.masked(),
            existing.card_no
        )));
    }
    let seq = tx.next_sequence("card")?;
    let card_no = new_card_no(tx)?;
    let card = Card::new(card_no, id.clone(), serial, bank::card_no(seq), now);
    tx.insert_card(&card).map_err(duplicate_as_exists)?;
    Audit::new(AuditAction::CardIssue)
        .card(&card)
        .record(tx, actor, now)?;
    Ok(card)
}

impl Service {
    /// R-CR-2: every movement on the personal account, for a clerk or the holder, a page at a
    /// time: at most `limit` (default 200, at most 1000) after the entry `after`.
    pub async fn ledger(
        &self,
        actor: &Actor,
        card_no: &str,
        after: Option<i64>,
        limit: Option<u32>,
    ) -> Result<Vec<crate::model::LedgerEntry>, ServiceError> {
        require_role(actor, &[Role::Clerk, Role::Admin, Role::Cardholder])?;
        let card_no = parse_card_no(card_no)?;
        let limit = crate::input::page_limit(limit)?;
        let after = after.unwrap_or(0).max(0);
        let own = (actor.role == Role::Cardholder).then(|| actor.id_number.clone());
        self.db
            .read(move |tx| {
                let card = load_card(tx, &card_no, Lock::Read)?;
                if own
                    .as_ref()
                    .is_some_and(|id| id.as_ref() != Some(&card.id_number))
                {
                    return Err(ServiceError::not_found(format!("no card {card_no}")));
                }
                // D-10: the ledger follows the person onto a replacement card.
                Ok(tx.ledger_of(&card.id_number, after, limit)?)
            })
            .await
    }

    /// The logged-in holder's own record.
    pub async fn own_person(
        &self,
        actor: &Actor,
    ) -> Result<crate::views::PersonView, ServiceError> {
        require_role(actor, &[Role::Cardholder])?;
        let id = actor
            .id_number
            .clone()
            .ok_or_else(|| ServiceError::forbidden("a cardholder session names its holder"))?;
        self.db
            .read(move |tx| {
                let person = load_person(tx, &id, Lock::Read)?;
                crate::support::person_view(tx, person)
            })
            .await
    }
}
