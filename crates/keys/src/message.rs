//! Dispersion data and the messages terminals and card chips authenticate (API.md "Keys and
//! terminals").

use crate::{Key, disperse};

/// 8 bytes of dispersion data.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Diversifier([u8; 8]);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiversifierError {
    #[error("a division code is 6 ASCII digits")]
    Region,
    #[error("a PSAM number is 16 ASCII digits")]
    PsamNo,
    #[error("a card serial is 32 hex digits")]
    Serial,
}

impl Diversifier {
    pub fn from_bytes(bytes: [u8; 8]) -> Diversifier {
        Diversifier(bytes)
    }

    pub fn bytes(&self) -> [u8; 8] {
        self.0
    }

    /// A division code: its 6 digits in BCD, then `FF FF FF FF FF`
    /// (`450600` → `45 06 00 FF FF FF FF FF`).
    pub fn region(code: &str) -> Result<Diversifier, DiversifierError> {
        let digits = bcd::<3>(code).ok_or(DiversifierError::Region)?;
        let mut out = [0xff; 8];
        out[..3].copy_from_slice(&digits);
        Ok(Diversifier(out))
    }

    /// A PSAM: the BCD of its 16-digit number.
    pub fn psam(psam_no: &str) -> Result<Diversifier, DiversifierError> {
        bcd::<8>(psam_no)
            .map(Diversifier)
            .ok_or(DiversifierError::PsamNo)
    }

    /// A card: the last 8 bytes of its 32-hex-digit serial.
    pub fn card(serial: &str) -> Result<Diversifier, DiversifierError> {
        let block = crate::cipher::parse_hex::<16>(serial).ok_or(DiversifierError::Serial)?;
        let mut out = [0u8; 8];
        out.copy_from_slice(&block[8..]);
        Ok(Diversifier(out))
    }
}

/// `N` bytes of BCD from exactly `2N` ASCII digits.
fn bcd<const N: usize>(digits: &str) -> Option<[u8; N]> {
    let digits = digits.as_bytes();
    if digits.len() != 2 * N || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, pair) in digits.chunks(2).enumerate() {
        out[i] = ((pair[0] - b'0') << 4) | (pair[1] - b'0');
    }
    Some(out)
}

/// The ministry's root key of a purpose dispersed to the city: `disperse(disperse(MK,
/// D(province)), D(city))`, the province being the city code's first two digits and `0000`.
/// For tests and demonstrations: a city platform never holds MK.
pub fn derive_city_key(root: &Key, city: &str) -> Result<(Key, Key), DiversifierError> {
    let city_data = Diversifier::region(city)?;
    let province_code = format!("{}0000", city.get(..2).ok_or(DiversifierError::Region)?);
    let province = disperse(root, &Diversifier::region(&province_code)?);
    let city_key = disperse(&province, &city_data);
    Ok((province, city_key))
}

/// What a PSAM terminal's request MAC covers: `METHOD "\n" PATH "\n" COUNTER "\n" BODY`, PATH
/// from `/api/v1` without the query string, BODY the raw bytes.
pub fn terminal_message(method: &str, path: &str, counter: u64, body: &[u8]) -> Vec<u8> {
    let counter = counter.to_string();
    let mut out = Vec::with_capacity(method.len() + path.len() + counter.len() + body.len() + 3);
    out.extend_from_slice(method.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(path.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(counter.as_bytes());
    out.push(b'\n');
    out.extend_from_slice(body);
    out
}

/// What a card chip authenticates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CardOperation {
    Purchase,
    Visit,
    Activation,
    SsPassword,
}

impl CardOperation {
    pub fn as_str(self) -> &'static str {
        match self {
            CardOperation::Purchase => "purchase",
            CardOperation::Visit => "visit",
            CardOperation::Activation => "activation",
            CardOperation::SsPassword => "ss_password",
        }
    }

    pub fn parse(text: &str) -> Option<CardOperation> {
        [
            CardOperation::Purchase,
            CardOperation::Visit,
            CardOperation::Activation,
            CardOperation::SsPassword,
        ]
        .into_iter()
        .find(|op| op.as_str() == text)
    }
}

/// The card chip's message: `CARD_NO "|" COUNTER "|" OPERATION "|" CLIENT_TXN_ID "|"
/// AMOUNT_FEN`, empty fields where the request has none.
pub fn card_message(
    card_no: &str,
    counter: u64,
    operation: CardOperation,
    client_txn_id: Option<&str>,
    amount_fen: Option<i64>,
) -> Vec<u8> {
    let amount = amount_fen.map(|a| a.to_string()).unwrap_or_default();
    format!(
        "{card_no}|{counter}|{}|{}|{amount}",
        operation.as_str(),
        client_txn_id.unwrap_or("")
    )
    .into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mac;

    fn root() -> Key {
        Key::from_hex("00112233445566778899AABBCCDDEEFF")
            .unwrap_or_else(|| Key::from_bytes([0; 16]))
    }

    #[test]
    fn division_codes_as_dispersion_data() {
        assert_eq!(
            Diversifier::region("450600").map(|d| d.bytes()),
            Ok([0x45, 0x06, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff])
        );
        assert_eq!(Diversifier::region("45060"), Err(DiversifierError::Region));
        assert_eq!(Diversifier::region("45060a"), Err(DiversifierError::Region));
        assert_eq!(
            Diversifier::region("４50600"),
            Err(DiversifierError::Region)
        );
        assert_eq!(
            Diversifier::psam("4506000000000001").map(|d| d.bytes()),
            Ok([0x45, 0x06, 0, 0, 0, 0, 0, 0x01])
        );
        assert_eq!(
            Diversifier::psam("450600000000001"),
            Err(DiversifierError::PsamNo)
        );
        assert_eq!(
            Diversifier::card("00112233445566778899aabbccddeeff").map(|d| d.bytes()),
            Ok([0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff])
        );
        assert_eq!(Diversifier::card("0011"), Err(DiversifierError::Serial));
    }

    /// R-KM-1, API.md check values: root → province 450000 → city 450600 → PSAM
    /// 4506000000000001 → the MAC of an empty purchase body at counter 1.
    #[test]
    fn check_values_of_the_contract() {
        let (_, city) = derive_city_key(&root(), "450600").unwrap_or_else(|_| (root(), root()));
        assert_eq!(*city.to_hex(), "AB884711C5437A68BFD552EE67F15BB0");
        let psam_data = Diversifier::psam("4506000000000001").unwrap_or(Diversifier([0; 8]));
        let psam = disperse(&city, &psam_data);
        assert_eq!(*psam.to_hex(), "BF8D18C726E51B28B2649B7FBED5774B");
        let message = terminal_message("POST", "/api/v1/purchases", 1, b"{}");
        assert_eq!(message, b"POST\n/api/v1/purchases\n1\n{}");
        assert_eq!(mac(&psam, &message).to_string(), "A58F9B2C");
    }

    #[test]
    fn card_messages_leave_missing_fields_empty() {
        assert_eq!(
            card_message("A1", 7, CardOperation::Purchase, Some("t-1"), Some(1250)),
            b"A1|7|purchase|t-1|1250"
        );
        assert_eq!(
            card_message("A1", 8, CardOperation::SsPassword, None, None),
            b"A1|8|ss_password||"
        );
        for op in ["purchase", "visit", "activation", "ss_password"] {
            assert_eq!(
                CardOperation::parse(op).map(CardOperation::as_str),
                Some(op)
            );
        }
        assert_eq!(CardOperation::parse("refund"), None);
    }
}
