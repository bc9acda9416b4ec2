//! The terminal's and the card chip's side of the protocol, computed from the city keys: for
//! the operator's simulator (`shebao terminal sign`, `shebao card cryptogram`) and the tests.
//! A real PSAM holds only its own dispersed key, a real chip only its card key; the server
//! never calls these.

use crate::{CardOperation, Diversifier, KeyError, KeyStore, Mac, Purpose};
use crate::{card_message, terminal_message};

/// `X-Terminal-MAC` of a request from the PSAM `psam_no` (API.md "Keys and terminals").
pub fn request_mac(
    keys: &dyn KeyStore,
    psam_no: &str,
    method: &str,
    path: &str,
    counter: u64,
    body: &[u8],
) -> Result<Mac, KeyError> {
    let psam = Diversifier::psam(psam_no)?;
    keys.mac(
        Purpose::Psam,
        None,
        &[psam],
        &terminal_message(method, path, counter, body),
    )
}

/// The chip's `card_auth.cryptogram` for one use of the card with serial `serial`.
pub fn card_cryptogram(
    keys: &dyn KeyStore,
    serial: &str,
    card_no: &str,
    counter: u64,
    operation: CardOperation,
    client_txn_id: Option<&str>,
    amount_fen: Option<i64>,
) -> Result<Mac, KeyError> {
    let card = Diversifier::card(serial)?;
    keys.mac(
        Purpose::Card,
        None,
        &[card],
        &card_message(card_no, counter, operation, client_txn_id, amount_fen),
    )
}
