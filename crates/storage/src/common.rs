//! What every storage file shares: the transaction type all the store traits are implemented
//! for, and the readers of stored values that are not one aggregate's own.

use crate::sql::{Row, SqlConn};
use shebao_domain::{IdNumber, PinVerifier, RegionCode, Role};
use shebao_service::store::StoreError;

/// The SQL form of `EmployerMonth::locks` (R-EM-2, D-13) for the month row `$m` on the day
/// `$today` (a placeholder): not cleared by the unlock procedure, from the first day of the
/// next month, not paid on time what was owed by the due day. (`lock_from` is after the due
/// day, so `lock_from <= today` also says the due day has passed.) Dates are `YYYY-MM-DD`
/// text, which orders as dates. The one statement of the rule in SQL: every query that asks
/// which months lock uses it, and a test checks it against the domain's.
macro_rules! month_locks {
    ($m:literal, $today:literal) => {
        concat!(
            $m,
            ".cleared_at IS NULL AND ",
            $m,
            ".lock_from <= ",
            $today,
            " AND ",
            $m,
            ".paid_on_time_fen < ",
            $m,
            ".owed_fen"
        )
    };
}

/// The SQL form of `CardStatus::is_current` for the card row `$c`: a card that is not
/// replaced (the person's one card; a lost card can still be found). The one statement of the
/// rule in SQL.
macro_rules! current_card {
    ($c:literal) => {
        concat!($c, ".status <> 'replaced'")
    };
}

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

/// A stored name of a closed vocabulary (an audit action, an outcome, a ledger kind): an
/// unknown one is a corrupt row, never a guess.
pub(crate) fn vocabulary<T>(
    text: &str,
    parse: fn(&str) -> Option<T>,
    what: &str,
) -> Result<T, StoreError> {
    parse(text).ok_or_else(|| corrupt(format!("stored {what} {text:?}")))
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

#[cfg(test)]
mod tests {
    use jiff::Timestamp;
    use jiff::civil::{Date, date};
    use proptest::prelude::*;
    use shebao_domain::{EmployerMonth, Fen, Month};

    fn month_of(year: i16, m: i8) -> Month {
        Month::parse(&format!("{year:04}-{m:02}")).unwrap()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

        // R-EM-2: `month_locks!` (the SQL every lock query uses) says what
        // `EmployerMonth::locks` says, for any month, payment and day. Catches a `<=` for `<`
        // in either, a forgotten `cleared_at`, or the lock taken from the due day instead of
        // the next month's first day.
        #[test]
        fn the_sql_lock_condition_is_the_domains(
            (year, m) in (2024i16..=2026, 1i8..=12),
            due_day in 1i8..=28,
            owed in 0i64..=3,
            on_time in 0i64..=3,
            cleared in any::<bool>(),
            today_offset in -40i32..=70,
        ) {
            let month = month_of(year, m);
            let due_on = date(year, m, due_day);
            let record = EmployerMonth {
                month,
                assessed: Fen(owed),
                owed_by_due: Fen(owed),
                due_on,
                paid: Fen(on_time),
                paid_on_time: Fen(on_time),
                tax_paid: Fen::ZERO,
                cleared_at: cleared.then_some(Timestamp::UNIX_EPOCH),
            };
            let today: Date = due_on.checked_add(jiff::Span::new().days(i64::from(today_offset))).unwrap();
            let conn = rusqlite::Connection::open_in_memory().unwrap();
            conn.execute_batch(
                "CREATE TABLE employer_months (cleared_at BIGINT, lock_from TEXT NOT NULL, \
                 paid_on_time_fen BIGINT NOT NULL, owed_fen BIGINT NOT NULL)",
            )
            .unwrap();
            conn.execute(
                "INSERT INTO employer_months VALUES (?1, ?2, ?3, ?4)",
                rusqlite::params![
                    record.cleared_at.map(|t| t.as_microsecond()),
                    record.lock_from().to_string(),
                    record.paid_on_time.0,
                    record.owed_by_due.0
                ],
            )
            .unwrap();
            let sql = concat!("SELECT count(*) FROM employer_months WHERE ", month_locks!("employer_months", "?1"));
            let n: i64 = conn.query_row(sql, [today.to_string()], |r| r.get(0)).unwrap();
            prop_assert_eq!(n == 1, record.locks(today), "{:?} on {}", record, today);
        }
    }
}
