//! Money is integer fen (分), never floating point. Arithmetic is checked.

use std::fmt;

/// An amount in fen. Negative amounts exist only as ledger deltas.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Fen(pub i64);

impl Fen {
    pub const ZERO: Fen = Fen(0);

    pub fn checked_add(self, other: Fen) -> Option<Fen> {
        self.0.checked_add(other.0).map(Fen)
    }

    pub fn checked_sub(self, other: Fen) -> Option<Fen> {
        self.0.checked_sub(other.0).map(Fen)
    }
}

impl fmt::Debug for Fen {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The sign is written on its own: `-5 / 100` is 0, so it would be lost on amounts
        // under one yuan.
        let sign = if self.0 < 0 { "-" } else { "" };
        write!(
            f,
            "{sign}{}.{:02} yuan",
            (self.0 / 100).unsigned_abs(),
            (self.0 % 100).unsigned_abs()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Money arithmetic is checked (ARCHITECTURE "no money is added without a check"): a sum
    // or difference that fits is exact, one that overflows is `None`. Catches a checked_add
    // or checked_sub that always fails or always answers zero.
    #[test]
    fn checked_arithmetic() {
        assert_eq!(Fen(1_250).checked_add(Fen(-250)), Some(Fen(1_000)));
        assert_eq!(Fen(i64::MAX).checked_add(Fen(1)), None);
        assert_eq!(Fen(1_250).checked_sub(Fen(1_300)), Some(Fen(-50)));
        assert_eq!(Fen(i64::MIN).checked_sub(Fen(1)), None);
    }

    // Debug shows yuan with two decimals and the sign of a ledger delta, under one yuan too
    // (this test found `-5` fen shown as `0.05 yuan`). Catches an empty Debug.
    #[test]
    fn debug_shows_yuan_with_the_sign() {
        assert_eq!(format!("{:?}", Fen(123_456)), "1234.56 yuan");
        assert_eq!(format!("{:?}", Fen(-1_234)), "-12.34 yuan");
        assert_eq!(format!("{:?}", Fen(-5)), "-0.05 yuan");
        assert_eq!(format!("{:?}", Fen::ZERO), "0.00 yuan");
        assert_eq!(format!("{:?}", Fen(i64::MIN)), "-92233720368547758.08 yuan");
    }
}
