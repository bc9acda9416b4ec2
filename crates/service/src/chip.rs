//! Card present (R-KM-1): a PSAM terminal's operation on a physical card carries the card
//! chip's cryptogram, checked inside the operation's own transaction.

use crate::error::ServiceError;
use crate::model::Actor;
use shebao_domain::Card;
use shebao_keys::{CardOperation, Diversifier, KeyStore, Mac, Purpose, card_message};

/// A card chip's answer for one operation (`card_auth` in a request body).
#[derive(Debug, Clone)]
pub struct CardAuth {
    pub counter: u64,
    pub cryptogram: String,
}

/// What the chip's cryptogram covers besides the card number and the counter.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CardUse<'a> {
    pub operation: CardOperation,
    pub client_txn_id: Option<&'a str>,
    pub amount_fen: Option<i64>,
}

impl CardUse<'_> {
    pub(crate) fn plain(operation: CardOperation) -> CardUse<'static> {
        CardUse {
            operation,
            client_txn_id: None,
            amount_fen: None,
        }
    }
}

/// The cryptogram is verified under the card's key (the city card key dispersed by the card's
/// serial, every held version) over `CARD_NO|COUNTER|OPERATION|CLIENT_TXN_ID|AMOUNT_FEN`, and
/// the card's counter must rise; it is advanced on `card` (locked for the change), which the
/// operation stores with its own update of the card — an `Err` later rolls it back with
/// everything else. Called before the operation writes anything. Staff and
/// terminals without a PSAM (bearer-token terminals, where the server still takes them) send
/// none and are not asked for one.
pub(crate) fn check_card_auth(
    keys: &dyn KeyStore,
    actor: &Actor,
    card: &mut Card,
    auth: Option<&CardAuth>,
    usage: CardUse<'_>,
) -> Result<(), ServiceError> {
    if actor.psam.is_none() {
        return Ok(());
    }
    let Some(auth) = auth else {
        return Err(ServiceError::invalid(
            "card_auth_required",
            "a PSAM terminal sends card_auth, the card chip's answer, with this operation",
        ));
    };
    let bad = || {
        ServiceError::invalid(
            "bad_card_auth",
            "card_auth is not this card's answer for this operation",
        )
    };
    let claimed = Mac::from_hex(&auth.cryptogram).ok_or_else(bad)?;
    let counter = i64::try_from(auth.counter).map_err(|_| bad())?;
    let serial = Diversifier::card(&card.serial).map_err(|_| bad())?;
    let message = card_message(
        card.card_no.as_str(),
        auth.counter,
        usage.operation,
        usage.client_txn_id,
        usage.amount_fen,
    );
    let verified = keys
        .verify(Purpose::Card, &[serial], &message, &claimed)
        .map_err(|e| ServiceError::Internal(format!("card key: {e}")))?;
    if !verified {
        return Err(bad());
    }
    if counter <= card.chip_counter {
        return Err(ServiceError::invalid(
            "card_replayed",
            "the card's counter is not above its last use",
        ));
    }
    card.chip_counter = counter;
    Ok(())
}
