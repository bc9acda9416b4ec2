//! The business day is the calendar day in Asia/Shanghai.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::{Offset, TimeZone};
use std::sync::LazyLock;

/// Asia/Shanghai from the bundled tz database. China has kept UTC+8 without daylight saving
/// since 1991, so the fixed offset is an exact fallback should the database lack the zone.
pub static SHANGHAI: LazyLock<TimeZone> = LazyLock::new(|| {
    TimeZone::get("Asia/Shanghai").unwrap_or_else(|_| TimeZone::fixed(Offset::constant(8)))
});

/// The business day an instant falls on.
pub fn business_date(at: Timestamp) -> Date {
    at.to_zoned(SHANGHAI.clone()).date()
}

/// 00:00 Asia/Shanghai of the calendar day after `at` (R-LK-3, D-1).
pub fn next_business_midnight(at: Timestamp) -> Timestamp {
    let next_day = business_date(at).tomorrow().unwrap_or(Date::MAX);
    next_day
        .to_zoned(SHANGHAI.clone())
        .map(|z| z.timestamp())
        .unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    // R-LK-3: the next day starts at 00:00 in Shanghai, not in UTC.
    #[test]
    fn next_midnight_is_shanghai_midnight() {
        let late_evening: Timestamp = "2026-03-10T15:59:00Z".parse().unwrap(); // 23:59 Shanghai
        assert_eq!(
            next_business_midnight(late_evening),
            "2026-03-10T16:00:00Z".parse::<Timestamp>().unwrap()
        );
        let just_after: Timestamp = "2026-03-10T16:00:00Z".parse().unwrap(); // 00:00 on the 11th
        assert_eq!(business_date(just_after), jiff::civil::date(2026, 3, 11));
        assert_eq!(
            next_business_midnight(just_after),
            "2026-03-11T16:00:00Z".parse::<Timestamp>().unwrap()
        );
    }
}
