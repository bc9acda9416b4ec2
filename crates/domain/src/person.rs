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

    /// The two codes name places in the same province (the division code's first two digits,
    /// GB/T 2260).
    pub fn same_province(&self, other: &RegionCode) -> bool {
        self.0[..2] == other.0[..2]
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

#[cfg(test)]
mod tests {
    use super::*;

    // The stored and wire names of the kinds of insured people (API.md). Catches an `as_str`
    // that returns another string and a `parse` that finds the wrong kind or none.
    #[test]
    fn kind_names_round_trip() {
        for (kind, name) in [
            (PersonKind::Employee, "employee"),
            (PersonKind::Retiree, "retiree"),
            (PersonKind::Resident, "resident"),
            (PersonKind::Flexible, "flexible"),
        ] {
            assert_eq!(kind.as_str(), name);
            assert_eq!(PersonKind::parse(name), Some(kind));
        }
        assert_eq!(PersonKind::parse("pensioner"), None);
    }

    // A region is a 6-digit GB/T 2260 code. Catches `&&` → `||` (six characters that are not
    // all digits, or digits of the wrong length) and an `as_str` that loses the code.
    #[test]
    fn region_codes_are_six_digits() {
        assert_eq!(RegionCode::parse("450600").unwrap().as_str(), "450600");
        for bad in ["45060", "4506000", "45060a", "", "４５０６００"] {
            assert_eq!(RegionCode::parse(bad), None, "{bad:?}");
        }
    }

    // R-ACT-6: a move keeps the card within the province (the first two digits), not beyond.
    #[test]
    fn provinces_are_the_first_two_digits() {
        let code = |s: &str| RegionCode::parse(s).unwrap();
        assert!(code("450600").same_province(&code("450100")));
        assert!(code("450600").same_province(&code("450600")));
        assert!(!code("450600").same_province(&code("440300")));
        assert!(!code("110000").same_province(&code("120000")));
    }

    // A mainland mobile number: 11 digits starting with 1, surrounding spaces trimmed; Debug
    // masks the middle four (no phone number in a log line). Catches each `&&` → `||`, the
    // length test inverted, an `as_str` that loses the number and a Debug that shows it whole
    // or shows nothing.
    #[test]
    fn phones_are_mainland_mobiles_and_print_masked() {
        let phone = Phone::parse(" 13812345678 ").unwrap();
        assert_eq!(phone.as_str(), "13812345678");
        assert_eq!(format!("{phone:?}"), "Phone(138****5678)");
        for bad in [
            "23812345678",
            "1381234567",
            "138123456789",
            "1381234567x",
            "x3812345678",
            "",
        ] {
            assert!(Phone::parse(bad).is_none(), "{bad:?}");
        }
    }

    // R-PW-8: until the holder changes the initial query password, the first login must
    // change it; afterwards not. Catches a constant answer.
    #[test]
    fn first_login_must_change_the_initial_query_password() {
        let mut person = Person {
            id_number: IdNumber::parse_shape("11010519491231002X").unwrap(),
            name: "张三".into(),
            phone: None,
            kind: PersonKind::Employee,
            employer_id: None,
            region: RegionCode::parse("450600").unwrap(),
            contribution_base: None,
            legacy_card: None,
            query_password_hash: None,
            created_at: Timestamp::UNIX_EPOCH,
        };
        assert!(person.must_change_query_password());
        person.query_password_hash = Some("$argon2id$v=19$...".into());
        assert!(!person.must_change_query_password());
    }
}
