//! The electronic social security card (电子社保卡, R-KM-2, D-16): activation and deactivation
//! by the window clerk or the holder, and the holder's single-use payment codes. The electronic
//! card is a state of the card row (`Card::ecard_active_at`), never a second card: whatever the
//! physical card goes through, its electronic form goes through at the same moment.

use crate::Service;
use crate::ecode::make_code;
use crate::error::ServiceError;
use crate::input::parse_card_no;
use crate::model::{Actor, AuditAction};
use crate::store::Lock;
use crate::support::{
    Audit, card_view, load_card, load_person, require_role, require_usable, settle,
};
use crate::views::CardView;
use jiff::Timestamp;
use shebao_domain::Role;

/// A payment code as the holder's phone shows it.
#[derive(Debug, Clone)]
pub struct EcardCode {
    /// At most 64 printable ASCII characters (for a QR code).
    pub code: String,
    pub expires_at: Timestamp,
}

impl Service {
    /// `POST /cards/{card_no}/ecard` [clerk; cardholder: own]: activates the electronic card of
    /// a card whose social-security account is active (R-KM-2: activated before it can be
    /// scanned; before that 409 `not_activated`). Activating an active one changes nothing.
    pub async fn activate_ecard(
        &self,
        actor: &Actor,
        card_no: &str,
    ) -> Result<CardView, ServiceError> {
        self.set_ecard(actor, card_no, true).await
    }

    /// `DELETE /cards/{card_no}/ecard` [clerk; cardholder: own]: deactivates the electronic card
    /// (a lost phone) without touching the physical card; its unused codes stop working.
    pub async fn deactivate_ecard(
        &self,
        actor: &Actor,
        card_no: &str,
    ) -> Result<CardView, ServiceError> {
        self.set_ecard(actor, card_no, false).await
    }

    async fn set_ecard(
        &self,
        actor: &Actor,
        card_no: &str,
        active: bool,
    ) -> Result<CardView, ServiceError> {
        require_role(actor, &[Role::Clerk, Role::Cardholder])?;
        let card_no = parse_card_no(card_no)?;
        let now = self.clock.now();
        let (actor, policy) = (actor.clone(), self.policy.clone());
        self.db
            .write(move |tx| {
                let mut card = load_card(tx, &card_no, Lock::ForUpdate)?;
                if actor.role == Role::Cardholder && !actor.is_holder_of(&card.id_number) {
                    // The same answer as an unknown card: a holder learns nothing of others.
                    return Err(ServiceError::not_found(format!("no card {card_no}")));
                }
                let settled = settle(tx, &mut card, now, &policy)?;
                require_usable(&card)?;
                let person = load_person(tx, &card.id_number, Lock::Read)?;
                let changed = match (active, card.ecard_active_at.is_some()) {
                    (true, false) => {
                        if !card.ss.is_active() {
                            return Err(ServiceError::NotActivated(
                                "the social-security account is not activated yet: the electronic card follows it (R-KM-2)".into(),
                            ));
                        }
                        card.ecard_active_at = Some(now);
                        true
                    }
                    (false, true) => {
                        card.ecard_active_at = None;
                        // Its codes stop working at once (API.md: 422 invalid_code), also
                        // after it is activated again.
                        card.ecard_codes.withdraw();
                        true
                    }
                    _ => false,
                };
                if changed || settled {
                    tx.update_card(&card)?;
                }
                if changed {
                    Audit::new(if active {
                        AuditAction::EcardActivate
                    } else {
                        AuditAction::EcardDeactivate
                    })
                    .card(&card)
                    .detail(if active {
                        "electronic card activated"
                    } else {
                        "electronic card deactivated; its unused payment codes withdrawn"
                    })
                    .record(tx, &actor, now)?;
                }
                card_view(tx, card, &person, &policy, now)
            })
            .await
    }

    /// `POST /self/ecard/code` [cardholder]: a single-use payment code for the holder's current
    /// card, valid for the policy's `ecard.code_seconds` (D-16). The electronic card must be
    /// active (409 `not_activated`).
    pub async fn ecard_code(&self, actor: &Actor) -> Result<EcardCode, ServiceError> {
        require_role(actor, &[Role::Cardholder])?;
        let id_number = actor
            .id_number
            .clone()
            .ok_or_else(|| ServiceError::Internal("a holder session names its holder".into()))?;
        let now = self.clock.now();
        let expires_at = now
            .checked_add(self.policy.ecard_code_validity)
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        let (card_no, number) = self
            .db
            .write(move |tx| {
                let current = tx
                    .cards_of(&id_number)?
                    .into_iter()
                    .find(|c| c.status.is_current())
                    .ok_or_else(|| ServiceError::not_found("no current card"))?;
                // Locked for the count: two servers making codes for one holder at once
                // never hand out one number twice.
                let mut card = load_card(tx, &current.card_no, Lock::ForUpdate)?;
                if card.ecard_active_at.is_none() || !card.status.is_current() {
                    return Err(ServiceError::NotActivated(
                        "the electronic card is not activated: activate it first".into(),
                    ));
                }
                // The code's number is counted on the card row (D-16): nothing is stored per
                // code, and the payment that uses it updates that row anyway.
                let number = card.ecard_codes.issue().ok_or_else(|| {
                    ServiceError::conflict(
                        "codes_exhausted",
                        "this card has made every payment code it can: a clerk issues a new card",
                    )
                })?;
                tx.update_card(&card)?;
                Ok((card.card_no, number))
            })
            .await?;
        // The MACs are made off the writer, once the number is durable.
        let code = make_code(&*self.city_keys, &card_no, number, expires_at)?;
        Ok(EcardCode { code, expires_at })
    }
}
