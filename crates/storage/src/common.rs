//! What every storage file shares: the transaction type all the store traits are implemented
//! for, and the readers of stored values that are not one aggregate's own.

use crate::sql::{Row, SqlConn};
use shebao_domain::{IdNumber, PinVerifier, RegionCode, Role};
use shebao_service::store::StoreError;

/// One transaction over any engine's connection: every store trait is implemented for it
/// (one file each), so it is a `Tx`.
pub struct SqlTx<'c, C: SqlConn>(pub &'c mut C);

pub(crate) fn corrupt(what: impl Into<String>) -> StoreError {
    StoreError::Corrupt(what.into())
}

pub(crate) fn verifier_text(v: &PinVerifier) -> String {
    format!("{}:{}", v.key_id, hex_encode(&v.mac))
}

pub(crate) fn hex_encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub(crate) fn parse_verifier(text: &str) -> Result<PinVerifier, StoreError> {
    let (key_id, hex) = text
        .split_once(':')
        .ok_or_else(|| corrupt("verifier without key id"))?;
    if hex.len() % 2 != 0 {
        return Err(corrupt("verifier hex"));
    }
    let mac = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| corrupt("verifier hex"))?;
    Ok(PinVerifier {
        key_id: key_id.to_owned(),
        mac,
    })
}

pub(crate) fn id_number(text: &str) -> Result<IdNumber, StoreError> {
    IdNumber::parse_shape(text).map_err(|e| corrupt(format!("stored ID number: {e}")))
}

pub(crate) fn region(text: &str) -> Result<RegionCode, StoreError> {
    RegionCode::parse(text).ok_or_else(|| corrupt("stored region"))
}

pub(crate) fn role(text: &str) -> Result<Role, StoreError> {
    text.parse()
        .map_err(|_| corrupt(format!("stored role {text}")))
}

pub(crate) fn one<T>(
    rows: Vec<Row>,
    f: impl Fn(&Row) -> Result<T, StoreError>,
) -> Result<Option<T>, StoreError> {
    rows.first().map(f).transpose()
}

pub(crate) fn expect_one_row(changed: u64, what: &str) -> Result<(), StoreError> {
    if changed == 1 {
        Ok(())
    } else {
        Err(StoreError::Database(format!(
            "{what}: {changed} rows changed, expected 1"
        )))
    }
}
