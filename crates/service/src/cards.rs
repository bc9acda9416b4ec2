//! Issuing cards, looking at them, and activation (R-ACT-1..4, R-ACT-7).

use crate::Service;
use crate::error::{ServiceError, duplicate_as_exists};
use crate::keys::{PinContext, random_bytes};
use crate::model::Actor;
use crate::model::{AuditAction, Outcome};
use crate::passwords::check_new_pin;
use crate::store::Committed;
use crate::store::Lock;
use crate::support::{
    Audit, load_card, load_person, migrate_legacy, parse_card_no, parse_id_number, require_role,
    require_usable, settle,
};
use crate::views::CardView;
use shebao_domain::time::business_date;
use shebao_domain::{Card, CardNo, PasswordAttempt, Pin, Role};
use zeroize::Zeroizing;

/// How a card is activated (API.md `channel`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActivationChannel {
    /// Financial account at a partner bank; social-security account 24 h later (R-ACT-2).
    Bank,
    /// First use at a designated hospital (R-ACT-3).
    Hospital,
    /// "K+serial" SMS from the registered phone (R-ACT-3).
    Sms,
    /// At the card management centre (R-ACT-3).
    ServiceCenter,
    /// Old medical card then new card at a pharmacy, first exchange only (R-ACT-3).
    PharmacyOldCard,
    /// The old card's password entered on the new card; the new card keeps it (R-ACT-3, D-11).
    PharmacyOldPassword,
}

impl ActivationChannel {
    pub fn parse(s: &str) -> Option<Self> {
        use ActivationChannel::*;
        [
            Bank,
            Hospital,
            Sms,
            ServiceCenter,
            PharmacyOldCard,
            PharmacyOldPassword,
        ]
        .into_iter()
        .find(|c| c.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ActivationChannel::Bank => "bank",
            ActivationChannel::Hospital => "hospital",
            ActivationChannel::Sms => "sms",
            ActivationChannel::ServiceCenter => "service_center",
            ActivationChannel::PharmacyOldCard => "pharmacy_old_card",
            ActivationChannel::PharmacyOldPassword => "pharmacy_old_password",
        }
    }

    /// Who may activate through this channel. The bureau's clerks relay SMS activations and
    /// act at the card management centre.
    fn roles(self) -> &'static [Role] {
        match self {
            ActivationChannel::Bank => &[Role::Bank],
            ActivationChannel::Hospital => &[Role::Hospital],
            ActivationChannel::Sms | ActivationChannel::ServiceCenter => &[Role::Clerk],
            ActivationChannel::PharmacyOldCard | ActivationChannel::PharmacyOldPassword => {
                &[Role::Pharmacy]
            }
        }
    }
}

pub struct ActivationRequest {
    pub channel: String,
    pub fin_password: Option<Zeroizing<String>>,
    pub old_card_password: Option<Zeroizing<String>>,
    /// SMS channel: the number the message came from and its text, when the gateway passes them.
    pub sms_from: Option<String>,
    pub sms_text: Option<String>,
    /// Pharmacy old-card channel: the old card number the terminal read, when it passes it.
    pub old_card_number: Option<String>,
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
                if let Some(existing) = tx.cards_of(&id)?.into_iter().find(Card::is_usable) {
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
                let card = Card::new(card_no, id.clone(), serial, bank_card_no(seq), now);
                tx.insert_card(&card).map_err(duplicate_as_exists)?;
                Audit::new(AuditAction::CardIssue)
                    .card(&card)
                    .record(tx, &actor, now)?;
                crate::support::card_view(tx, card, &person, &policy, now)
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
                    let state = crate::employers::lock_state(tx, &person, business_date(now))?;
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
                let lock =
                    crate::employers::unit_lock_for_care(tx, &policy, &person, business_date(now))?;
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
        self.db
            .write_committed(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                settle(tx, &mut card, now, &policy)?;
                require_usable(&card)?;
                if !card.is_collected() {
                    // R-LS-5: a replacement card is collected with ID before it is activated.
                    return Err(ServiceError::not_collected());
                }
                let person = load_person(tx, &card.id_number, Lock::Read)?;
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

/// A 6-digit password from a request field: missing or malformed is 422 `invalid_password`.
pub(crate) fn parse_pin(value: Option<&str>, field: &str) -> Result<Pin, ServiceError> {
    let value = value
        .ok_or_else(|| ServiceError::invalid("invalid_password", format!("{field} is required")))?;
    Pin::parse(value)
        .map_err(|e| ServiceError::invalid("invalid_password", format!("{field}: {e}")))
}

/// Random draws of a card number before giving up (each collides with probability at most
/// cards issued / 10^8).
const CARD_NO_DRAWS_MAX: usize = 32;

/// A new card number: `S` and eight random digits, drawn again on the rare collision. Card
/// numbers are not in issue order, so knowing one card's number tells nothing of another's
/// (terminals cannot walk them; API.md "Conventions").
pub(crate) fn new_card_no(tx: &mut dyn crate::store::Tx) -> Result<CardNo, ServiceError> {
    for _ in 0..CARD_NO_DRAWS_MAX {
        let bytes = random_bytes::<8>().map_err(|e| ServiceError::Internal(e.to_string()))?;
        // 2^64 is 1.8 × 10^11 times 10^8: the modulo's bias is far below anything measurable.
        let n = u64::from_le_bytes(*bytes) % 100_000_000;
        let Some(card_no) = CardNo::from_sequence(n).filter(|_| n > 0) else {
            continue;
        };
        if tx.card(&card_no, Lock::Read)?.is_none() {
            return Ok(card_no);
        }
    }
    Err(ServiceError::Internal(format!(
        "no free card number in {CARD_NO_DRAWS_MAX} random draws"
    )))
}

/// A fresh 32-character card identification code.
pub(crate) fn new_serial() -> Result<String, ServiceError> {
    let bytes = random_bytes::<16>().map_err(|e| ServiceError::Internal(e.to_string()))?;
    Ok(hex_upper(&*bytes))
}

fn hex_upper(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02X}")).collect()
}

/// A 19-digit bank card number (the partner bank's BIN `621700`, the card sequence, a Luhn
/// check digit) for the card face (R-ID-2).
pub(crate) fn bank_card_no(seq: u64) -> String {
    let body = format!("621700{seq:012}");
    let sum: u32 = body
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 0 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    format!("{body}{}", (10 - sum % 10) % 10)
}

#[cfg(test)]
#[allow(clippy::items_after_test_module)] // pre-existing layout; clippy 1.95 flags it
mod tests {
    #[test]
    fn bank_card_numbers_pass_luhn() {
        let n = super::bank_card_no(42);
        assert_eq!(n.len(), 19);
        let sum: u32 = n
            .bytes()
            .rev()
            .enumerate()
            .map(|(i, b)| {
                let d = u32::from(b - b'0');
                if i % 2 == 1 {
                    if d * 2 > 9 { d * 2 - 9 } else { d * 2 }
                } else {
                    d
                }
            })
            .sum();
        assert_eq!(sum % 10, 0, "{n}");
    }
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
        let limit = crate::admin::page_limit(limit)?;
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
