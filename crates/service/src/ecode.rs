//! The electronic card's payment codes (R-KM-2, D-16; API.md "The electronic social security
//! card").
//!
//! A code is `EC1.<id>.<expires>.<mac>`: an id of 20 hex digits (the microsecond it was made and
//! 24 random bits, unique; not a secret), the Unix second it
//! expires, and MAC(city ecard key, `EC1|<id>|<expires>`) (GB/T 15852.1 with SM4, as every MAC
//! of the key system) — 42 printable ASCII characters, for a QR code. A forged or altered code
//! fails its MAC before any database read; an expired one is refused by its own expiry. The
//! database keeps the id (never the text) with the holder and card it stands for, and whether a
//! payment used it.

use crate::error::ServiceError;
use crate::model::EcardCodeRecord;
use crate::store::Tx;
use jiff::Timestamp;
use shebao_domain::{Card, CardNo};
use shebao_keys::{KeyStore, Mac, Purpose};

const PREFIX: &str = "EC1";
/// The contract's bound on a code's length.
pub const CODE_CHARS_MAX: usize = 64;
/// How many replacements a code follows to the holder's current card.
const REPLACEMENTS_FOLLOWED_MAX: usize = 16;

fn message(id: &str, expires: i64) -> Vec<u8> {
    format!("{PREFIX}|{id}|{expires}").into_bytes()
}

/// 409 `code_used`: a payment used the code already.
fn code_used() -> ServiceError {
    ServiceError::conflict(
        "code_used",
        "this payment code was used already: the holder shows a new one",
    )
}

pub(crate) fn invalid_code() -> ServiceError {
    ServiceError::invalid(
        "invalid_code",
        "this is not a valid electronic-card payment code",
    )
}

/// A new code for the random `id`, valid until `expires_at`.
pub(crate) fn make_code(
    keys: &dyn KeyStore,
    id: &str,
    expires_at: Timestamp,
) -> Result<String, ServiceError> {
    let expires = expires_at.as_second();
    let mac = keys
        .mac(Purpose::Ecard, None, &[], &message(id, expires))
        .map_err(|e| ServiceError::conflict("keys_missing", format!("the key store: {e}")))?;
    Ok(format!("{PREFIX}.{id}.{expires}.{mac}"))
}

/// The id of a genuine, unexpired code; no database is read. A code that is not one of ours
/// (shape or MAC) → 422 `invalid_code`; expired → 422 `code_expired`.
#[cfg(test)]
fn open_code(keys: &dyn KeyStore, text: &str, now: Timestamp) -> Result<String, ServiceError> {
    let (id, expires) = genuine_code(keys, text)?;
    require_fresh(expires, now)?;
    Ok(id)
}

/// The id of a genuine code and the second it expires at (UNIX), expired or not; no database
/// is read. A code that is not one of ours (shape or MAC) → 422 `invalid_code`. A payment
/// checks the expiry after it looked for its `client_txn_id`: the repeat of a payment made
/// with the code answers as the first did, however late it comes.
pub(crate) fn genuine_code(keys: &dyn KeyStore, text: &str) -> Result<(String, i64), ServiceError> {
    if text.len() > CODE_CHARS_MAX || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid_code());
    }
    let mut parts = text.split('.');
    let (Some(PREFIX), Some(id), Some(expires), Some(mac), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid_code());
    };
    let well_formed = id.len() == 20 && id.bytes().all(|b| b.is_ascii_hexdigit());
    let expires: i64 = expires.parse().map_err(|_| invalid_code())?;
    let mac = Mac::from_hex(mac)
        .filter(|_| well_formed)
        .ok_or_else(invalid_code)?;
    let genuine = keys
        .verify(Purpose::Ecard, &[], &message(id, expires), &mac)
        .map_err(|_| invalid_code())?;
    if !genuine {
        return Err(invalid_code());
    }
    Ok((id.to_ascii_uppercase(), expires))
}

/// 422 `code_expired` once a code's second of expiry is reached.
pub(crate) fn require_fresh(expires: i64, now: Timestamp) -> Result<(), ServiceError> {
    if now.as_second() >= expires {
        return Err(ServiceError::invalid(
            "code_expired",
            "this payment code has expired: the holder shows a new one",
        ));
    }
    Ok(())
}

/// The card a genuine code stands for: the holder's current card (a replacement since the code
/// was made is followed, D-16). One indexed read of the code on the usual path. A code that was
/// never made here or was withdrawn (the electronic card deactivated) → 422 `invalid_code`;
/// used → 409 `code_used`.
pub(crate) fn card_of_code(tx: &mut dyn Tx, id: &str) -> Result<CardNo, ServiceError> {
    let code = tx.ecard_code(id)?.ok_or_else(invalid_code)?;
    if code.used_at.is_some() {
        return Err(code_used());
    }
    Ok(code.card_no)
}

/// Follows replacements from `card` to the holder's current card, each locked for the change:
/// no read at all on the usual path (the code's card is current).
pub(crate) fn follow_replacements(tx: &mut dyn Tx, mut card: Card) -> Result<Card, ServiceError> {
    for _ in 0..REPLACEMENTS_FOLLOWED_MAX {
        let Some(next) = card.replaced_by.clone() else {
            return Ok(card);
        };
        card = tx
            .card(&next, crate::store::Lock::ForUpdate)?
            .ok_or_else(invalid_code)?;
    }
    Err(invalid_code())
}

/// The electronic card must be active on the card a code reached (R-KM-2: activated before it
/// can be scanned); deactivating it withdrew its codes already.
pub(crate) fn require_ecard(card: &Card) -> Result<(), ServiceError> {
    if card.ecard_active_at.is_none() {
        return Err(invalid_code());
    }
    Ok(())
}

/// Uses the code up, in the transaction of the payment it paid for (only a payment that
/// succeeds does). A concurrent payment that used it first → 409 `code_used`.
pub(crate) fn use_code(tx: &mut dyn Tx, id: &str, now: Timestamp) -> Result<(), ServiceError> {
    if tx.use_ecard_code(id, now)? {
        Ok(())
    } else {
        Err(code_used())
    }
}

/// A new code's record.
pub(crate) fn code_record(
    id: String,
    card: &Card,
    now: Timestamp,
    expires_at: Timestamp,
) -> EcardCodeRecord {
    EcardCodeRecord {
        code_id: id,
        id_number: card.id_number.clone(),
        card_no: card.card_no.clone(),
        issued_at: now,
        expires_at,
        used_at: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shebao_keys::FileKeyStore;

    fn keys() -> FileKeyStore {
        FileKeyStore::parse(&format!("ecard 1 {}\n", "3C".repeat(16)))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn at(s: i64) -> Timestamp {
        Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn a_code_opens_until_it_expires_and_never_when_altered() {
        let keys = keys();
        let id = "0123456789ABCDEF0123";
        let code = make_code(&keys, id, at(1_000_060)).unwrap_or_default();
        assert!(code.len() <= CODE_CHARS_MAX && code.bytes().all(|b| b.is_ascii_graphic()));
        assert_eq!(
            open_code(&keys, &code, at(1_000_000)).ok().as_deref(),
            Some(id)
        );
        let code_of = |e: ServiceError| match e {
            ServiceError::Invalid { code, .. } => code,
            _ => "other",
        };
        assert_eq!(
            open_code(&keys, &code, at(1_000_060))
                .map_err(code_of)
                .err(),
            Some("code_expired")
        );
        // Every single-character change is refused (the MAC covers id and expiry).
        for i in 0..code.len() {
            let mut bytes = code.clone().into_bytes();
            bytes[i] = if bytes[i] == b'1' { b'2' } else { b'1' };
            let altered = String::from_utf8(bytes).unwrap_or_default();
            if altered != code {
                assert_eq!(
                    open_code(&keys, &altered, at(1_000_000))
                        .map_err(code_of)
                        .err(),
                    Some("invalid_code"),
                    "{altered}"
                );
            }
        }
        // A later expiry with the old MAC is a forgery, not a longer code.
        let stretched = code.replace("1000060", "9000060");
        assert_eq!(
            open_code(&keys, &stretched, at(1_000_000))
                .map_err(code_of)
                .err(),
            Some("invalid_code")
        );
        for junk in ["", "EC1", "EC1...", &"A".repeat(65), "EC1.ÄÄ.1.2"] {
            assert_eq!(
                open_code(&keys, junk, at(0)).map_err(code_of).err(),
                Some("invalid_code")
            );
        }
    }
}
