//! The electronic card's payment codes as a state of the card row (R-KM-2, D-16).
//!
//! A code carries the number it was issued under; the card keeps three numbers, so that a
//! code is made, checked and used up without a row of its own:
//!
//! ```text
//!   1 ..= used_through          used: a payment used it or a newer code
//!   .. ..= withdrawn_through     withdrawn, unused (the electronic card was deactivated since)
//!   .. ..= issued                usable, until its own expiry
//! ```
//!
//! Codes are used up in order: a payment with one also uses up every code issued before it,
//! so a screenshot of an older code is dead once a newer one has paid. A replacement card
//! carries the three numbers on, so a code made before the replacement reaches the new card.

/// The payment-code numbers of one card (see the module's picture).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EcardCodes {
    /// The number of the newest code issued (0: none yet).
    pub issued: u32,
    /// Every code up to this number is used up.
    pub used_through: u32,
    /// Every code up to this number was withdrawn by a deactivation.
    pub withdrawn_through: u32,
}

/// Why a genuine code (its MAC checked) does not pay.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeRefusal {
    /// Withdrawn by a deactivation, or never issued on this card (API.md: 422 `invalid_code`).
    Invalid,
    /// Used up by a payment (API.md: 409 `code_used`).
    Used,
}

impl EcardCodes {
    /// The number for a new code, counted as issued; `None` once 2³² − 1 codes were made on
    /// the card (one a minute for eight thousand years).
    pub fn issue(&mut self) -> Option<u32> {
        self.issued = self.issued.checked_add(1)?;
        Some(self.issued)
    }

    /// Whether the code numbered `number` may pay now. A used code says so even after a
    /// deactivation withdrew the rest.
    pub fn check(&self, number: u32) -> Result<(), CodeRefusal> {
        if number == 0 || number > self.issued {
            Err(CodeRefusal::Invalid)
        } else if number <= self.used_through {
            Err(CodeRefusal::Used)
        } else if number <= self.withdrawn_through {
            Err(CodeRefusal::Invalid)
        } else {
            Ok(())
        }
    }

    /// Uses the code numbered `number` up, with every older one (after [`check`](Self::check)
    /// passed, in the transaction of the payment it paid for).
    pub fn use_up(&mut self, number: u32) {
        self.used_through = self.used_through.max(number);
    }

    /// Withdraws every code issued so far (the electronic card deactivated: a lost phone).
    pub fn withdraw(&mut self) {
        self.withdrawn_through = self.issued;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_code_pays_once_and_takes_the_older_ones_with_it() {
        let mut codes = EcardCodes::default();
        assert_eq!(codes.check(1), Err(CodeRefusal::Invalid), "not issued yet");
        let (a, b, c) = (codes.issue(), codes.issue(), codes.issue());
        assert_eq!((a, b, c), (Some(1), Some(2), Some(3)));
        assert_eq!(codes.check(2), Ok(()));
        codes.use_up(2);
        assert_eq!(codes.check(2), Err(CodeRefusal::Used));
        assert_eq!(
            codes.check(1),
            Err(CodeRefusal::Used),
            "older than a used one"
        );
        assert_eq!(codes.check(3), Ok(()), "newer codes stay usable");
        assert_eq!(codes.check(4), Err(CodeRefusal::Invalid), "never issued");
        assert_eq!(codes.check(0), Err(CodeRefusal::Invalid));
    }

    #[test]
    fn a_deactivation_withdraws_what_was_issued_and_nothing_after() {
        let mut codes = EcardCodes::default();
        codes.issue();
        codes.issue();
        codes.use_up(1);
        codes.withdraw();
        assert_eq!(codes.check(1), Err(CodeRefusal::Used), "used stays used");
        assert_eq!(codes.check(2), Err(CodeRefusal::Invalid));
        let fresh = codes.issue().unwrap_or_default();
        assert_eq!(codes.check(fresh), Ok(()));
    }

    #[test]
    fn the_numbers_end_instead_of_wrapping() {
        let mut codes = EcardCodes {
            issued: u32::MAX,
            ..EcardCodes::default()
        };
        assert_eq!(codes.issue(), None);
        assert_eq!(codes.issued, u32::MAX);
    }
}
