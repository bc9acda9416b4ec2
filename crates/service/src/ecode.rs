//! The electronic card's payment codes (R-KM-2, D-16; API.md "The electronic social security
//! card").
//!
//! A code is `EC2.<nonce>.<number>.<expires>.<card>.<mac>` (54 printable ASCII characters,
//! for a QR code):
//! - `nonce`: 12 hex digits, random, so that no two codes share a mask;
//! - `number`: 8 hex digits, the code's number on its card (`EcardCodes`: issued, used
//!   through, withdrawn through, on the card row);
//! - `expires`: the Unix second it expires;
//! - `card`: the card it was made for, masked: its number as 32 bits (the letter's place times
//!   10⁸ plus the eight digits) XOR MAC(`EC2|pad|<nonce>|<number>|<expires>`), so that the
//!   pharmacy that scans a code does not learn the card number from it;
//! - `mac`: MAC(`EC2|<nonce>|<number>|<expires>|<card number>`).
//!
//! Both MACs are the city `ecard` key's (GB/T 15852.1 with SM4, as every MAC of the key
//! system), the mask's and the code's of the same key version. A forged or altered code fails
//! its MAC before any database read; an expired one is refused by its own expiry. Nothing is
//! stored per code: the card row's numbers say whether it was withdrawn or used, and a payment
//! updates that row anyway, so a payment by code costs no statement more than a payment by
//! card number.

use crate::error::ServiceError;
use crate::keys::random_bytes;
use jiff::Timestamp;
use shebao_domain::card::CodeRefusal;
use shebao_domain::{Card, CardNo};
use shebao_keys::{KeyStore, Mac, Purpose};

const PREFIX: &str = "EC2";
/// The contract's bound on a code's length.
pub const CODE_CHARS_MAX: usize = 64;
/// How many replacements a code follows to the holder's current card.
const REPLACEMENTS_FOLLOWED_MAX: usize = 16;

/// What a genuine code names: the card it was made for and its number there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CodeRef {
    pub card_no: CardNo,
    pub number: u32,
}

fn message(nonce: &str, number: u32, expires: i64, card_no: &CardNo) -> Vec<u8> {
    format!("{PREFIX}|{nonce}|{number:08X}|{expires}|{card_no}").into_bytes()
}

fn pad_message(nonce: &str, number: u32, expires: i64) -> Vec<u8> {
    format!("{PREFIX}|pad|{nonce}|{number:08X}|{expires}").into_bytes()
}

/// A card number as 32 bits: the letter's place (0–25) times 10⁸ plus its eight digits.
fn card_bits(card_no: &CardNo) -> Option<u32> {
    let b = card_no.as_str().as_bytes();
    let letter = u32::from(b.first()?.checked_sub(b'A')?);
    let digits: u32 = card_no.as_str().get(1..)?.parse().ok()?;
    letter.checked_mul(100_000_000)?.checked_add(digits)
}

fn card_of_bits(bits: u32) -> Option<CardNo> {
    let letter = u8::try_from(bits / 100_000_000).ok().filter(|l| *l < 26)?;
    CardNo::parse(&format!(
        "{}{:08}",
        char::from(b'A' + letter),
        bits % 100_000_000
    ))
}

fn keys_failed(e: shebao_keys::KeyError) -> ServiceError {
    ServiceError::conflict("keys_missing", format!("the key store: {e}"))
}

/// 409 `code_used`: a payment used the code already (or a newer one of the same card).
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

/// A new code numbered `number` on `card_no`, valid until `expires_at`, under the current
/// `ecard` key.
pub(crate) fn make_code(
    keys: &dyn KeyStore,
    card_no: &CardNo,
    number: u32,
    expires_at: Timestamp,
) -> Result<String, ServiceError> {
    let expires = expires_at.as_second();
    let nonce = random_bytes::<6>().map_err(|e| ServiceError::Internal(e.to_string()))?;
    let nonce = format!(
        "{:012X}",
        nonce.iter().fold(0u64, |n, b| (n << 8) | u64::from(*b))
    );
    let version = keys
        .versions(Purpose::Ecard)
        .first()
        .copied()
        .ok_or_else(|| keys_failed(shebao_keys::KeyError::Missing(Purpose::Ecard)))?;
    let pad = keys
        .mac(
            Purpose::Ecard,
            Some(version),
            &[],
            &pad_message(&nonce, number, expires),
        )
        .map_err(keys_failed)?;
    let bits = card_bits(card_no)
        .ok_or_else(|| ServiceError::Internal(format!("card number {card_no}")))?;
    let masked = bits ^ u32::from_be_bytes(pad.0);
    let mac = keys
        .mac(
            Purpose::Ecard,
            Some(version),
            &[],
            &message(&nonce, number, expires, card_no),
        )
        .map_err(keys_failed)?;
    Ok(format!(
        "{PREFIX}.{nonce}.{number:08X}.{expires}.{masked:08X}.{mac}"
    ))
}

/// What a genuine, unexpired code names; no database is read. A code that is not one of ours
/// (shape or MAC) → 422 `invalid_code`; expired → 422 `code_expired`.
#[cfg(test)]
fn open_code(keys: &dyn KeyStore, text: &str, now: Timestamp) -> Result<CodeRef, ServiceError> {
    let (code, expires) = genuine_code(keys, text)?;
    require_fresh(expires, now)?;
    Ok(code)
}

fn hex_u32(text: &str) -> Option<u32> {
    (text.len() == 8 && text.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(text, 16).ok())
        .flatten()
}

/// What a genuine code names and the second it expires at (UNIX), expired or not; no database
/// is read. A code that is not one of ours (shape or MAC, under any held version of the
/// `ecard` key) → 422 `invalid_code`. A payment checks the expiry after it looked for its
/// `client_txn_id`: the repeat of a payment made with the code answers as the first did,
/// however late it comes.
pub(crate) fn genuine_code(
    keys: &dyn KeyStore,
    text: &str,
) -> Result<(CodeRef, i64), ServiceError> {
    if text.len() > CODE_CHARS_MAX || !text.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid_code());
    }
    let mut parts = text.split('.');
    let (Some(PREFIX), Some(nonce), Some(number), Some(expires), Some(masked), Some(mac), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(invalid_code());
    };
    if nonce.len() != 12 || !nonce.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(invalid_code());
    }
    let nonce = nonce.to_ascii_uppercase();
    let number = hex_u32(number).ok_or_else(invalid_code)?;
    let masked = hex_u32(masked).ok_or_else(invalid_code)?;
    let expires: i64 = expires.parse().map_err(|_| invalid_code())?;
    let mac = Mac::from_hex(mac).ok_or_else(invalid_code)?;
    // The current version first; a code made before a rotation verifies under its own.
    for version in keys.versions(Purpose::Ecard) {
        let pad = keys
            .mac(
                Purpose::Ecard,
                Some(version),
                &[],
                &pad_message(&nonce, number, expires),
            )
            .map_err(|_| invalid_code())?;
        let Some(card_no) = card_of_bits(masked ^ u32::from_be_bytes(pad.0)) else {
            continue;
        };
        let expected = keys
            .mac(
                Purpose::Ecard,
                Some(version),
                &[],
                &message(&nonce, number, expires, &card_no),
            )
            .map_err(|_| invalid_code())?;
        if expected == mac {
            return Ok((CodeRef { card_no, number }, expires));
        }
    }
    Err(invalid_code())
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

/// Follows replacements from `card` to the holder's current card, each locked for the change:
/// no read at all on the usual path (the code's card is current).
pub(crate) fn follow_replacements(
    tx: &mut dyn crate::store::Tx,
    mut card: Card,
) -> Result<Card, ServiceError> {
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

/// Whether the code numbered `number` may pay on the card it reached (the holder's current
/// card): not used up (409 `code_used`, also after a deactivation), not withdrawn by a
/// deactivation since it was made (422 `invalid_code`), and the electronic form active
/// (R-KM-2: activated before it can be scanned; 422 `invalid_code`).
pub(crate) fn require_usable_code(card: &Card, number: u32) -> Result<(), ServiceError> {
    card.ecard_codes
        .check(number)
        .map_err(|refusal| match refusal {
            CodeRefusal::Invalid => invalid_code(),
            CodeRefusal::Used => code_used(),
        })?;
    if card.ecard_active_at.is_none() {
        return Err(invalid_code());
    }
    Ok(())
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

    fn card(no: &str) -> CardNo {
        CardNo::parse(no).unwrap_or_else(|| panic!("{no}"))
    }

    fn code_of(e: ServiceError) -> &'static str {
        match e {
            ServiceError::Invalid { code, .. } => code,
            _ => "other",
        }
    }

    #[test]
    fn card_numbers_fit_in_32_bits_both_ways() {
        for no in ["A00000000", "S00001234", "Z99999999", "M12345678"] {
            let bits = card_bits(&card(no));
            assert_eq!(bits.and_then(card_of_bits), Some(card(no)));
        }
        assert_eq!(card_bits(&card("Z99999999")), Some(2_599_999_999));
        assert_eq!(card_of_bits(2_600_000_000), None, "no 27th letter");
        assert_eq!(card_of_bits(u32::MAX), None);
    }

    // D-16: the code is bounded, opens until it expires, names its card and number, and is
    // refused when any character is altered.
    #[test]
    fn a_code_opens_until_it_expires_and_never_when_altered() {
        let keys = keys();
        let no = card("S00001234");
        let code = make_code(&keys, &no, 7, at(1_000_060)).unwrap_or_default();
        assert_eq!(code.len(), 44 + "1000060".len(), "{code}");
        assert!(code.len() <= CODE_CHARS_MAX && code.bytes().all(|b| b.is_ascii_graphic()));
        assert!(
            !code.contains("00001234"),
            "the card number is masked: {code}"
        );
        assert_eq!(
            open_code(&keys, &code, at(1_000_000)).ok(),
            Some(CodeRef {
                card_no: no.clone(),
                number: 7
            })
        );
        assert_eq!(
            open_code(&keys, &code, at(1_000_060))
                .map_err(code_of)
                .err(),
            Some("code_expired")
        );
        // Every single-character change is refused (the MACs cover every field).
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
        for junk in ["", "EC2", "EC2.....", &"A".repeat(65), "EC2.ÄÄ.1.2.3.4"] {
            assert_eq!(
                open_code(&keys, junk, at(0)).map_err(code_of).err(),
                Some("invalid_code")
            );
        }
    }

    // The layout against the primitives composed by hand: the mask and the MAC are the
    // GB/T 15852.1 MACs of the documented messages under the ecard key.
    #[test]
    fn the_layout_is_the_documented_one() {
        let keys = keys();
        let no = card("S00001234");
        let code = make_code(&keys, &no, 0x2A, at(1_772_415_660)).unwrap_or_default();
        let parts: Vec<&str> = code.split('.').collect();
        assert_eq!(parts.len(), 6, "{code}");
        assert_eq!(
            (parts[0], parts[2], parts[3]),
            ("EC2", "0000002A", "1772415660")
        );
        let key = shebao_keys::Key::from_bytes([0x3C; 16]);
        let pad = shebao_keys::mac(
            &key,
            format!("EC2|pad|{}|0000002A|1772415660", parts[1]).as_bytes(),
        );
        let masked = u32::from_str_radix(parts[4], 16).unwrap_or_default();
        assert_eq!(masked ^ u32::from_be_bytes(pad.0), 18 * 100_000_000 + 1234);
        let mac = shebao_keys::mac(
            &key,
            format!("EC2|{}|0000002A|1772415660|S00001234", parts[1]).as_bytes(),
        );
        assert_eq!(parts[5], mac.to_string());
    }

    // Key rotation: a code made under the old version still opens after a new one is added;
    // a code made under a key the city does not hold does not.
    #[test]
    fn a_code_made_before_a_rotation_still_opens() {
        let old = keys();
        let no = card("A00000001");
        let code = make_code(&old, &no, 1, at(100)).unwrap_or_default();
        let rotated = FileKeyStore::parse(&format!(
            "ecard 1 {}\necard 2 {}\n",
            "3C".repeat(16),
            "A5".repeat(16)
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            open_code(&rotated, &code, at(50)).map(|c| c.card_no).ok(),
            Some(no.clone())
        );
        let other = FileKeyStore::parse(&format!("ecard 1 {}\n", "A5".repeat(16)))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            open_code(&other, &code, at(50)).map_err(code_of).err(),
            Some("invalid_code")
        );
    }
}
