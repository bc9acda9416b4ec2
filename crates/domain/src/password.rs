//! The 6-digit transaction password (R-PW-2).
//!
//! A [`Pin`] zeroizes its digits on drop, prints as `Pin(******)`, and has neither `Display`
//! nor any serialisation: the only thing to do with it is to hand its bytes to a verifier.

use jiff::civil::Date;
use std::fmt;
use zeroize::Zeroizing;

pub struct Pin(Zeroizing<[u8; 6]>);

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PinError {
    #[error("a password is exactly 6 digits 0-9")]
    NotSixDigits,
}

/// Why a password is weak (R-PW-2). `AllZero` is always refused; the others follow policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Weakness {
    /// `000000`, refused everywhere (000 G).
    AllZero,
    /// Six identical digits.
    Repeated,
    /// A run such as `123456` or `876543`.
    Sequential,
    /// The holder's birth date (`YYMMDD`, `MMDDYY` or `DDMMYY`).
    BirthDate,
    /// Six consecutive digits of the holder's phone number.
    PhoneNumber,
}

impl Weakness {
    pub fn describe(self) -> &'static str {
        match self {
            Weakness::AllZero => "000000 is not allowed",
            Weakness::Repeated => "six identical digits are too easy to guess",
            Weakness::Sequential => "an ascending or descending run of digits is too easy to guess",
            Weakness::BirthDate => "the holder's birth date is too easy to guess",
            Weakness::PhoneNumber => "digits of the holder's phone number are too easy to guess",
        }
    }

    /// `000000` is refused whatever the policy says (R-PW-2).
    pub fn always_refused(self) -> bool {
        self == Weakness::AllZero
    }
}

impl Pin {
    /// Exactly six ASCII digits; anything else (spaces, full-width digits, signs) is refused.
    pub fn parse(input: &str) -> Result<Pin, PinError> {
        let bytes = input.as_bytes();
        if bytes.len() != 6 || !bytes.iter().all(u8::is_ascii_digit) {
            return Err(PinError::NotSixDigits);
        }
        let mut digits = Zeroizing::new([0u8; 6]);
        digits.copy_from_slice(bytes);
        Ok(Pin(digits))
    }

    /// The ASCII digits, for a verifier to consume.
    pub fn expose_digits(&self) -> &[u8; 6] {
        &self.0
    }

    /// The first weakness found, if any (R-PW-2).
    pub fn weakness(&self, birth_date: Date, phone_digits: Option<&str>) -> Option<Weakness> {
        let d = &*self.0;
        if d.iter().all(|&b| b == b'0') {
            return Some(Weakness::AllZero);
        }
        if d.iter().all(|&b| b == d[0]) {
            return Some(Weakness::Repeated);
        }
        let steps: Vec<i16> = d
            .windows(2)
            .map(|w| i16::from(w[1]) - i16::from(w[0]))
            .collect();
        if steps.iter().all(|&s| s == 1) || steps.iter().all(|&s| s == -1) {
            return Some(Weakness::Sequential);
        }
        let yy = birth_date.year() % 100;
        let (mm, dd) = (birth_date.month(), birth_date.day());
        let forms = [
            format!("{yy:02}{mm:02}{dd:02}"),
            format!("{mm:02}{dd:02}{yy:02}"),
            format!("{dd:02}{mm:02}{yy:02}"),
        ];
        if forms.iter().any(|f| f.as_bytes() == d) {
            return Some(Weakness::BirthDate);
        }
        if let Some(phone) = phone_digits
            && phone.as_bytes().windows(6).any(|w| w == d)
        {
            return Some(Weakness::PhoneNumber);
        }
        None
    }
}

impl fmt::Debug for Pin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Pin(******)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jiff::civil::date;

    const BIRTH: Date = date(1985, 7, 9);

    fn weakness(p: &str) -> Option<Weakness> {
        Pin::parse(p).unwrap().weakness(BIRTH, Some("13812345678"))
    }

    // R-PW-2: exactly six ASCII digits.
    #[test]
    fn only_six_ascii_digits_parse() {
        for bad in [
            "12345",
            "1234567",
            "12345a",
            " 12345",
            "１２３４５６",
            "-12345",
            "",
        ] {
            assert_eq!(
                Pin::parse(bad).unwrap_err(),
                PinError::NotSixDigits,
                "{bad:?}"
            );
        }
        assert!(Pin::parse("902113").is_ok());
    }

    // R-PW-2: 000000 refused; repeated, runs, birth date, phone are weak.
    #[test]
    fn weak_passwords_are_recognised() {
        assert_eq!(weakness("000000"), Some(Weakness::AllZero));
        assert_eq!(weakness("777777"), Some(Weakness::Repeated));
        assert_eq!(weakness("123456"), Some(Weakness::Sequential));
        assert_eq!(weakness("345678"), Some(Weakness::Sequential));
        assert_eq!(weakness("987654"), Some(Weakness::Sequential));
        assert_eq!(weakness("850709"), Some(Weakness::BirthDate));
        assert_eq!(weakness("070985"), Some(Weakness::BirthDate));
        assert_eq!(weakness("090785"), Some(Weakness::BirthDate));
        assert_eq!(weakness("345678"), Some(Weakness::Sequential));
        assert_eq!(weakness("812345"), Some(Weakness::PhoneNumber));
        assert_eq!(weakness("902113"), None);
        assert_eq!(weakness("135792"), None);
    }

    // STYLE 6: the digits never reach a Debug string.
    #[test]
    fn debug_never_shows_digits() {
        let pin = Pin::parse("902113").unwrap();
        let shown = format!("{pin:?} {:?}", Some(&pin));
        assert!(!shown.contains("902113"), "{shown}");
        // …and it still says what it is (catches an empty Debug).
        assert_eq!(shown, "Pin(******) Some(Pin(******))");
    }

    // R-PW-2: only `000000` is refused whatever the policy; the other weaknesses follow the
    // policy. Each weakness has its own words for the holder. Catches `always_refused`
    // constant or inverted and an empty or shared description.
    #[test]
    fn only_all_zero_is_always_refused_and_each_weakness_has_words() {
        use Weakness::*;
        let all = [AllZero, Repeated, Sequential, BirthDate, PhoneNumber];
        for w in all {
            assert_eq!(w.always_refused(), w == AllZero, "{w:?}");
            assert!(w.describe().len() > 10, "{w:?}");
        }
        let words: std::collections::BTreeSet<&str> = all.iter().map(|w| w.describe()).collect();
        assert_eq!(words.len(), all.len());
        assert!(AllZero.describe().contains("000000"));
    }

    // The verifier gets the digits typed, not a constant. Catches `expose_digits` returning
    // zeros or ones (every password would then verify alike).
    #[test]
    fn exposes_the_digits_typed() {
        assert_eq!(Pin::parse("902113").unwrap().expose_digits(), b"902113");
        assert_eq!(Pin::parse("000000").unwrap().expose_digits(), b"000000");
    }
}
