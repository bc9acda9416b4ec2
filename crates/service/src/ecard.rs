//! The electronic social security card (电子社保卡, R-KM-2, D-16): activation and deactivation
//! by the window clerk or the holder, and the holder's single-use payment codes. The electronic
//! card is a state of the card row (`Card::ecard_active_at`), never a second card: whatever the
//! physical card goes through, its electronic form goes through at the same moment.

use crate::Service;
use crate::ecode::{code_record, make_code};
use crate::error::ServiceError;
use crate::input::parse_card_no;
use crate::keys::random_bytes;
use crate::model::{Actor, AuditAction};
use crate::store::Lock;
use crate::support::{
    Audit, card_view, load_card, load_person, require_role, require_usable, settle,
};
use crate::views::CardView;
use jiff::Timestamp;
use shebao_domain::{CardStatus, Role};

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
                        // Its codes stop working at once (API.md: 422 invalid_code).
                        tx.drop_ecard_codes(&card.id_number, None)?;
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
        // Two codes of one microsecond share an id only if 24 random bits agree too: then the
        // insert is refused as a duplicate and a new id is drawn.
        for _ in 0..4 {
            // The id orders by time (the microsecond it was made, then 24 random bits), so new
            // codes and the payments that use them touch the newest pages of the codes' index
            // rather than a random page each; the MAC, not the id, is what cannot be forged.
            let random = random_bytes::<3>().map_err(|e| ServiceError::Internal(e.to_string()))?;
            let micros = u64::try_from(now.as_microsecond()).unwrap_or_default();
            let id = format!("{micros:014X}{}", crate::support::hex_upper(&*random));
            let code = make_code(&*self.city_keys, &id, expires_at)?;
            let id_number = id_number.clone();
            let made = self
                .db
                .write(move |tx| {
                    let card = tx
                        .cards_of(&id_number)?
                        .into_iter()
                        .find(|c| c.status.is_current())
                        .ok_or_else(|| ServiceError::not_found("no current card"))?;
                    if card.ecard_active_at.is_none() || card.status == CardStatus::Replaced {
                        return Err(ServiceError::NotActivated(
                            "the electronic card is not activated: activate it first".into(),
                        ));
                    }
                    // Expired codes are forgotten as new ones are made.
                    tx.drop_ecard_codes(&id_number, Some(now))?;
                    tx.insert_ecard_code(&code_record(id, &card, now, expires_at))?;
                    Ok(())
                })
                .await;
            match made {
                Err(ServiceError::Store(crate::error::StoreError::Duplicate(_))) => continue,
                other => {
                    other?;
                    return Ok(EcardCode { code, expires_at });
                }
            }
        }
        Err(ServiceError::Internal(
            "no free payment-code id in 4 draws".into(),
        ))
    }
}
