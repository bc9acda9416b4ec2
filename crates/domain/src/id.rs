//! The social security number: the 18-character citizen ID number (R-ID-1).
//!
//! GB 11643-1999: six digits of administrative division, eight digits of birth date
//! (`YYYYMMDD`), three digits of sequence, and one check character computed with ISO 7064
//! MOD 11-2 (`X` stands for 10). The only way to get an [`IdNumber`] is to parse one.

use jiff::civil::Date;
use std::fmt;

/// A validated 18-character citizen ID number. Prints masked (`4506**********123X`).
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct IdNumber(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("an ID number has exactly 18 characters")]
    Length,
    #[error("the first 17 characters of an ID number are digits and the last is a digit or X")]
    Characters,
    #[error("the ID number does not start with a known province code")]
    Province,
    #[error("the birth date embedded in the ID number is not a real date")]
    BirthDate,
    #[error("the birth date embedded in the ID number lies in the future")]
    BirthDateInFuture,
    #[error("the check character of the ID number is wrong")]
    CheckDigit,
}

/// Weights of GB 11643 for positions 1..=17.
const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// The check character for each remainder modulo 11.
const CHECK_CHARS: [u8; 11] = *b"10X98765432";
/// Province-level codes of GB/T 2260 (with 71 Taiwan, 81 Hong Kong, 82 Macao and 83 for
/// residence permits of Taiwan residents).
const PROVINCES: [&str; 35] = [
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37", "41",
    "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64", "65", "71",
    "81", "82", "83",
];

impl IdNumber {
    /// Parses and validates an ID number; `today` (the business day) bounds the birth date.
    /// A lowercase final `x` is accepted and stored as `X`.
    pub fn parse(input: &str, today: Date) -> Result<Self, IdNumberError> {
        let id = Self::parse_shape(input)?;
        if id.birth_date() > today {
            return Err(IdNumberError::BirthDateInFuture);
        }
        Ok(id)
    }

    /// Checks everything but the relation to today: used when reading back stored numbers and
    /// when a number only identifies someone (a lookup), never to register a person.
    pub fn parse_shape(input: &str) -> Result<Self, IdNumberError> {
        let upper = input.trim().to_ascii_uppercase();
        let bytes = upper.as_bytes();
        if bytes.len() != 18 {
            return Err(IdNumberError::Length);
        }
        if !bytes[..17].iter().all(u8::is_ascii_digit)
            || !(bytes[17].is_ascii_digit() || bytes[17] == b'X')
        {
            return Err(IdNumberError::Characters);
        }
        if !PROVINCES.contains(&&upper[..2]) {
            return Err(IdNumberError::Province);
        }
        if check_char(&bytes[..17]) != bytes[17] {
            return Err(IdNumberError::CheckDigit);
        }
        let id = IdNumber(upper);
        id.try_birth_date().ok_or(IdNumberError::BirthDate)?;
        Ok(id)
    }

    /// The ID number whose first 17 characters are `first17` (six digits of division, the
    /// birth date `YYYYMMDD`, three of sequence), with its GB 11643 check character computed:
    /// for generated data (benchmarks, tests). Validated as [`IdNumber::parse_shape`] does.
    pub fn with_check_digit(first17: &str) -> Result<Self, IdNumberError> {
        let bytes = first17.as_bytes();
        if bytes.len() != 17 {
            return Err(IdNumberError::Length);
        }
        if !bytes.iter().all(u8::is_ascii_digit) {
            return Err(IdNumberError::Characters);
        }
        let check = char::from(check_char(bytes));
        Self::parse_shape(&format!("{first17}{check}"))
    }

    fn try_birth_date(&self) -> Option<Date> {
        let year: i16 = self.0[6..10].parse().ok()?;
        let month: i8 = self.0[10..12].parse().ok()?;
        let day: i8 = self.0[12..14].parse().ok()?;
        if year < 1900 {
            return None;
        }
        Date::new(year, month, day).ok()
    }

    /// The birth date embedded in positions 7–14.
    pub fn birth_date(&self) -> Date {
        // Parsing guarantees a valid date; the fallback is unreachable.
        self.try_birth_date().unwrap_or(Date::MIN)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The initial online query password: the last 8 characters with a final `X` read as `0`
    /// (R-PW-8).
    pub fn initial_query_password(&self) -> String {
        self.0[10..].replace('X', "0")
    }

    /// `4506**********123X`: enough to tell records apart in a log, not enough to identify.
    pub fn masked(&self) -> String {
        format!("{}**********{}", &self.0[..4], &self.0[14..])
    }
}

/// ISO 7064 MOD 11-2 over the first 17 digits (GB 11643): the check character.
fn check_char(first17: &[u8]) -> u8 {
    let sum: u32 = first17
        .iter()
        .zip(WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    CHECK_CHARS[(sum % 11) as usize]
}

impl fmt::Debug for IdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "IdNumber({})", self.masked())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const TODAY: Date = date(2026, 11, 22);

    /// 17 digits and their check character, without validating the rest (the tests build
    /// numbers with bad dates or provinces from it).
    pub(crate) fn with_check(first17: &str) -> String {
        format!("{first17}{}", char::from(check_char(first17.as_bytes())))
    }

    // R-ID-1: the check character computed for 17 digits is the one parsing accepts; the
    // published example 11010519491231002X comes out of its first 17 digits.
    #[test]
    fn with_check_digit_computes_the_check_character() {
        assert_eq!(
            IdNumber::with_check_digit("11010519491231002")
                .unwrap()
                .as_str(),
            "11010519491231002X"
        );
        assert_eq!(
            IdNumber::with_check_digit("1101051949123100"),
            Err(IdNumberError::Length)
        );
        assert_eq!(
            IdNumber::with_check_digit("1101051949123100A"),
            Err(IdNumberError::Characters)
        );
        assert_eq!(
            IdNumber::with_check_digit("99010519491231002"),
            Err(IdNumberError::Province)
        );
    }

    // R-ID-1: check digit and embedded birth date are validated.
    #[test]
    fn accepts_valid_numbers_and_reads_the_birth_date() {
        let id = IdNumber::parse("11010519491231002X", TODAY).unwrap();
        assert_eq!(id.birth_date(), date(1949, 12, 31));
        let lower = IdNumber::parse("11010519491231002x", TODAY).unwrap();
        assert_eq!(lower.as_str(), "11010519491231002X");
    }

    // R-ID-1
    #[test]
    fn rejects_bad_check_digit_dates_and_shapes() {
        assert_eq!(
            IdNumber::parse("110105194912310021", TODAY),
            Err(IdNumberError::CheckDigit)
        );
        assert_eq!(
            IdNumber::parse("1101051949123100", TODAY),
            Err(IdNumberError::Length)
        );
        assert_eq!(
            IdNumber::parse("11010519491231002Y", TODAY),
            Err(IdNumberError::Characters)
        );
        let feb30 = with_check("11010519490230002");
        assert_eq!(
            IdNumber::parse(&feb30, TODAY),
            Err(IdNumberError::BirthDate)
        );
        let future = with_check("11010520300101002");
        assert_eq!(
            IdNumber::parse(&future, TODAY),
            Err(IdNumberError::BirthDateInFuture)
        );
        let bad_province = with_check("99010519491231002");
        assert_eq!(
            IdNumber::parse(&bad_province, TODAY),
            Err(IdNumberError::Province)
        );
    }

    // R-PW-8: last 8 digits, final X becomes 0.
    #[test]
    fn initial_query_password_turns_x_into_zero() {
        let id = IdNumber::parse("11010519491231002X", TODAY).unwrap();
        assert_eq!(id.initial_query_password(), "12310020");
    }

    #[test]
    fn debug_is_masked() {
        let id = IdNumber::parse("11010519491231002X", TODAY).unwrap();
        let shown = format!("{id:?}");
        assert!(!shown.contains("19491231"), "{shown}");
        assert!(shown.contains("1101**********002X"), "{shown}");
    }

    // R-ID-1: the embedded birth date may be today (a newborn), not tomorrow, and not before
    // 1900. Catches `birth > today` written `>=`, and the 1900 bound as `<=` or `==`.
    #[test]
    fn birth_date_bounds() {
        let born_today = with_check("11010520261122002");
        assert_eq!(
            IdNumber::parse(&born_today, TODAY).map(|id| id.birth_date()),
            Ok(TODAY)
        );
        let born_tomorrow = with_check("11010520261123002");
        assert_eq!(
            IdNumber::parse(&born_tomorrow, TODAY),
            Err(IdNumberError::BirthDateInFuture)
        );
        let y1899 = with_check("11010518991231002");
        assert_eq!(
            IdNumber::parse(&y1899, TODAY),
            Err(IdNumberError::BirthDate)
        );
        let y1900 = with_check("11010519000101002");
        assert_eq!(
            IdNumber::parse(&y1900, TODAY).map(|id| id.birth_date()),
            Ok(date(1900, 1, 1))
        );
    }
}
