//! People: the insured person behind a card (R-ID-1, R-ID-3).

use crate::id::IdNumber;
use crate::money::Fen;
use jiff::Timestamp;
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PersonKind {
    Employee,
    Retiree,
    /// Urban and rural resident insurance.
    Resident,
    /// Flexible employment (灵活就业): applies for the card personally (R-ID-3).
    Flexible,
}

impl PersonKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PersonKind::Employee => "employee",
            PersonKind::Retiree => "retiree",
            PersonKind::Resident => "resident",
            PersonKind::Flexible => "flexible",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            PersonKind::Employee,
            PersonKind::Retiree,
            PersonKind::Resident,
            PersonKind::Flexible,
        ]
        .into_iter()
        .find(|k| k.as_str() == s)
    }
}

/// A 6-digit administrative division code (GB/T 2260), e.g. `450600` Fangchenggang.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(s: &str) -> Option<Self> {
        (s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit())).then(|| RegionCode(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A mainland mobile number: 11 digits starting with 1.
#[derive(Clone, PartialEq, Eq)]
pub struct Phone(String);

impl Phone {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        (s.len() == 11 && s.starts_with('1') && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| Phone(s.to_owned()))
    }
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Phone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Phone({}****{})", &self.0[..3], &self.0[7..])
    }
}

/// The old medical insurance card a holder may still carry (R-ACT-3, R-ACT-4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegacyCard {
    pub number: String,
    pub balance: Fen,
    /// Keyed verifier of the old card's password, if it had one.
    pub password: Option<crate::card::PinVerifier>,
    /// When its data and balance moved to the new card; from then on it stops working for
    /// medical use (R-ACT-4).
    pub migrated_at: Option<Timestamp>,
}

#[derive(Debug, Clone)]
pub struct Person {
    pub id_number: IdNumber,
    pub name: String,
    pub phone: Option<Phone>,
    pub kind: PersonKind,
    pub employer_id: Option<String>,
    /// Insured region (where the person's insurance is enrolled).
    pub region: RegionCode,
    pub contribution_base: Option<Fen>,
    pub legacy_card: Option<LegacyCard>,
    /// argon2id PHC string of the online query password; `None` until the holder changes the
    /// initial one (R-PW-8).
    pub query_password_hash: Option<String>,
    pub created_at: Timestamp,
}

impl Person {
    /// The first login must change the initial query password (R-PW-8).
    pub fn must_change_query_password(&self) -> bool {
        self.query_password_hash.is_none()
    }
}
