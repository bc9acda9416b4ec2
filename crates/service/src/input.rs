//! Reading a request's fields: each parser answers the contract's 422 code for its field
//! (or 404 for an unknown card number), so every use case refuses bad input alike.

use crate::error::ServiceError;
use jiff::civil::Date;
use shebao_domain::{
    CardNo, Fen, IdNumber, Month, Person, Pin, Policy, RegionCode, WeakPasswordRule,
};

/// Lists (`GET /audit`, a card's ledger) answer at most this many items per page.
pub const AUDIT_LIMIT_MAX: u32 = 1000;
/// A list's page when the request names no `limit`.
pub const LIST_LIMIT_DEFAULT: u32 = 200;

/// A list request's `limit`: the default when absent, at most [`AUDIT_LIMIT_MAX`]; 0 or more
/// than the maximum is 422 `invalid_limit`.
pub(crate) fn page_limit(limit: Option<u32>) -> Result<u32, ServiceError> {
    match limit {
        None => Ok(LIST_LIMIT_DEFAULT),
        Some(n) if (1..=AUDIT_LIMIT_MAX).contains(&n) => Ok(n),
        Some(_) => Err(ServiceError::invalid(
            "invalid_limit",
            format!("limit is between 1 and {AUDIT_LIMIT_MAX}"),
        )),
    }
}

/// A name as stored (NFC, nothing invisible): 422 `invalid_name` otherwise.
pub(crate) fn parse_name(name: &str, field: &str) -> Result<String, ServiceError> {
    shebao_domain::parse_name(name)
        .map_err(|e| ServiceError::invalid("invalid_name", format!("{field}: {e}")))
}

/// D-14: an amount of money from a request, within `1..=max` (or `0..=max` where zero is a
/// real value): 422 `invalid_amount` otherwise.
pub(crate) fn bounded_fen(
    value: i64,
    min: i64,
    max: Fen,
    field: &str,
) -> Result<Fen, ServiceError> {
    if (min..=max.0).contains(&value) {
        Ok(Fen(value))
    } else {
        Err(ServiceError::invalid(
            "invalid_amount",
            format!("{field} must be between {min} and {} (D-14)", max.0),
        ))
    }
}

pub(crate) fn parse_region(
    region: Option<&str>,
    default: &RegionCode,
) -> Result<RegionCode, ServiceError> {
    match region {
        None => Ok(default.clone()),
        Some(r) => RegionCode::parse(r).ok_or_else(|| {
            ServiceError::invalid(
                "invalid_region",
                "region is a 6-digit administrative division code",
            )
        }),
    }
}

pub(crate) fn parse_card_no(card_no: &str) -> Result<CardNo, ServiceError> {
    CardNo::parse(card_no).ok_or_else(|| ServiceError::not_found(format!("no card {card_no}")))
}

pub(crate) fn parse_id_number(id: &str) -> Result<IdNumber, ServiceError> {
    IdNumber::parse_shape(id).map_err(|e| ServiceError::invalid("invalid_id_number", e.to_string()))
}

/// A 6-digit password from a request field: missing or malformed is 422 `invalid_password`.
pub(crate) fn parse_pin(value: Option<&str>, field: &str) -> Result<Pin, ServiceError> {
    let value = value
        .ok_or_else(|| ServiceError::invalid("invalid_password", format!("{field} is required")))?;
    Pin::parse(value)
        .map_err(|e| ServiceError::invalid("invalid_password", format!("{field}: {e}")))
}

/// R-PW-2: `000000` always refused; other weak passwords refused or warned by policy.
pub(crate) fn check_new_pin(
    policy: &Policy,
    person: &Person,
    pin: &Pin,
) -> Result<Option<&'static str>, ServiceError> {
    let phone = person.phone.as_ref().map(|p| p.as_str());
    match pin.weakness(person.id_number.birth_date(), phone) {
        None => Ok(None),
        Some(w) if w.always_refused() || policy.weak_passwords == WeakPasswordRule::Refuse => Err(
            ServiceError::invalid("weak_password", format!("weak password: {}", w.describe())),
        ),
        Some(w) => Ok(Some(w.describe())),
    }
}

pub(crate) fn parse_month(text: &str) -> Result<Month, ServiceError> {
    Month::parse(text).ok_or_else(|| ServiceError::invalid("invalid_month", "month is YYYY-MM"))
}

pub(crate) fn parse_date(text: &str, field: &str) -> Result<Date, ServiceError> {
    text.parse::<Date>().map_err(|_| {
        ServiceError::invalid("invalid_date", format!("{field} is a date, YYYY-MM-DD"))
    })
}
