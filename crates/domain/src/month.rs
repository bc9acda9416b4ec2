//! A calendar month, `YYYY-MM` (API.md), the unit of contributions and crediting.

use jiff::civil::{Date, date};
use std::fmt;

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    year: i16,
    month: i8,
}

impl Month {
    /// Parses `YYYY-MM` (years 1900–9998, so the next month always exists).
    pub fn parse(s: &str) -> Option<Month> {
        let (y, m) = s.split_once('-')?;
        if y.len() != 4 || m.len() != 2 || !(y.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let year: i16 = y.parse().ok()?;
        let month: i8 = m.parse().ok()?;
        ((1900..=9998).contains(&year) && (1..=12).contains(&month))
            .then_some(Month { year, month })
    }

    pub fn of(day: Date) -> Month {
        Month {
            year: day.year(),
            month: day.month(),
        }
    }

    pub fn year(self) -> i16 {
        self.year
    }

    pub fn first_day(self) -> Date {
        date(self.year, self.month, 1)
    }

    /// Day `day` of the month, or its last day if the month is shorter.
    pub fn day(self, day: i8) -> Date {
        let first = self.first_day();
        date(self.year, self.month, day.clamp(1, first.days_in_month()))
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    pub fn prev(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }
}

impl fmt::Display for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

impl fmt::Debug for Month {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Month({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_steps() {
        let m = Month::parse("2026-12").unwrap();
        assert_eq!(m.to_string(), "2026-12");
        assert_eq!(m.next().to_string(), "2027-01");
        assert_eq!(m.next().prev(), m);
        assert_eq!(Month::parse("2026-02").unwrap().day(31), date(2026, 2, 28));
        for bad in [
            "2026-13", "2026-00", "26-01", "2026-1", "2026/01", "abcd-ef", "",
        ] {
            assert!(Month::parse(bad).is_none(), "{bad}");
        }
        assert!(Month::parse("2026-03").unwrap() < Month::parse("2026-11").unwrap());
    }

    // Stepping inside a year and across it both ways, the year read back, and the Debug form.
    // Catches `prev` adding a month instead of taking one (only January was tested), a
    // constant `year()`, and an empty Debug.
    #[test]
    fn steps_inside_the_year_and_reads_the_year() {
        let m = Month::parse("2026-03").unwrap();
        assert_eq!(m.prev().to_string(), "2026-02");
        assert_eq!(m.next().to_string(), "2026-04");
        assert_eq!(
            Month::parse("2026-01").unwrap().prev().to_string(),
            "2025-12"
        );
        assert_eq!(m.year(), 2026);
        assert_eq!(Month::parse("1999-12").unwrap().year(), 1999);
        assert_eq!(format!("{m:?}"), "Month(2026-03)");
    }
}
