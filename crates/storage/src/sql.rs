//! A small value layer so one set of statements runs on both engines.

use jiff::Timestamp;
use shebao_domain::{CardNo, IdNumber};
use shebao_service::store::StoreError;
use std::borrow::Cow;

/// A bound or returned value. Nulls carry their type: PostgreSQL checks it. Text borrows
/// what the caller already holds (a card number, an ID number, a `&str`): binding a
/// parameter copies nothing on our side (the engine's driver copies it once, as it must).
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Int(Option<i64>),
    Text(Option<Cow<'a, str>>),
}

impl From<i64> for Value<'_> {
    fn from(v: i64) -> Self {
        Value::Int(Some(v))
    }
}
impl From<Option<i64>> for Value<'_> {
    fn from(v: Option<i64>) -> Self {
        Value::Int(v)
    }
}
impl From<bool> for Value<'_> {
    fn from(v: bool) -> Self {
        Value::Int(Some(i64::from(v)))
    }
}
impl<'a> From<&'a str> for Value<'a> {
    fn from(v: &'a str) -> Self {
        Value::Text(Some(Cow::Borrowed(v)))
    }
}
impl From<String> for Value<'_> {
    fn from(v: String) -> Self {
        Value::Text(Some(Cow::Owned(v)))
    }
}
impl From<Option<String>> for Value<'_> {
    fn from(v: Option<String>) -> Self {
        Value::Text(v.map(Cow::Owned))
    }
}
impl<'a> From<Option<&'a str>> for Value<'a> {
    fn from(v: Option<&'a str>) -> Self {
        Value::Text(v.map(Cow::Borrowed))
    }
}
impl From<Timestamp> for Value<'_> {
    fn from(v: Timestamp) -> Self {
        Value::Int(Some(micros(v)))
    }
}
impl From<Option<Timestamp>> for Value<'_> {
    fn from(v: Option<Timestamp>) -> Self {
        Value::Int(v.map(micros))
    }
}

impl From<jiff::civil::Date> for Value<'_> {
    fn from(v: jiff::civil::Date) -> Self {
        Value::Text(Some(Cow::Owned(v.to_string())))
    }
}
impl From<Option<jiff::civil::Date>> for Value<'_> {
    fn from(v: Option<jiff::civil::Date>) -> Self {
        Value::Text(v.map(|d| Cow::Owned(d.to_string())))
    }
}
impl From<shebao_domain::Month> for Value<'_> {
    fn from(v: shebao_domain::Month) -> Self {
        Value::Text(Some(Cow::Owned(v.to_string())))
    }
}
impl From<shebao_domain::Fen> for Value<'_> {
    fn from(v: shebao_domain::Fen) -> Self {
        Value::Int(Some(v.0))
    }
}
impl From<Option<shebao_domain::Fen>> for Value<'_> {
    fn from(v: Option<shebao_domain::Fen>) -> Self {
        Value::Int(v.map(|f| f.0))
    }
}

/// Domain strings bound as the text they already hold (`as_str`), with no copy.
macro_rules! borrowed_text {
    ($($t:ty),*) => {$(
        impl<'a> From<&'a $t> for Value<'a> {
            fn from(v: &'a $t) -> Self {
                Value::Text(Some(Cow::Borrowed(v.as_str())))
            }
        }
        impl<'a> From<Option<&'a $t>> for Value<'a> {
            fn from(v: Option<&'a $t>) -> Self {
                Value::Text(v.map(|c| Cow::Borrowed(c.as_str())))
            }
        }
    )*};
}
borrowed_text!(CardNo, IdNumber);

/// Instants are stored as microseconds since the Unix epoch: sortable and exact on both
/// engines.
pub fn micros(t: Timestamp) -> i64 {
    t.as_microsecond()
}

pub struct Row(pub Vec<Value<'static>>);

fn corrupt(i: usize, what: &str) -> StoreError {
    StoreError::Corrupt(format!("column {i}: expected {what}"))
}

impl Row {
    pub fn opt_int(&self, i: usize) -> Result<Option<i64>, StoreError> {
        match self.0.get(i) {
            Some(Value::Int(v)) => Ok(*v),
            _ => Err(corrupt(i, "an integer")),
        }
    }
    pub fn int(&self, i: usize) -> Result<i64, StoreError> {
        self.opt_int(i)?
            .ok_or_else(|| corrupt(i, "a non-null integer"))
    }
    pub fn bool(&self, i: usize) -> Result<bool, StoreError> {
        Ok(self.int(i)? != 0)
    }
    pub fn opt_bool(&self, i: usize) -> Result<Option<bool>, StoreError> {
        Ok(self.opt_int(i)?.map(|v| v != 0))
    }
    /// Column `i`'s text, borrowed: what parses it into a domain type copies nothing.
    pub fn opt_str(&self, i: usize) -> Result<Option<&str>, StoreError> {
        match self.0.get(i) {
            Some(Value::Text(v)) => Ok(v.as_deref()),
            // SQLite has no column types: a NULL reads back as an integer NULL.
            Some(Value::Int(None)) => Ok(None),
            _ => Err(corrupt(i, "text")),
        }
    }
    pub fn opt_text(&self, i: usize) -> Result<Option<String>, StoreError> {
        Ok(self.opt_str(i)?.map(str::to_owned))
    }
    /// Column `i`'s non-null text, borrowed.
    pub fn str(&self, i: usize) -> Result<&str, StoreError> {
        self.opt_str(i)?.ok_or_else(|| corrupt(i, "non-null text"))
    }
    pub fn text(&self, i: usize) -> Result<String, StoreError> {
        self.opt_text(i)?.ok_or_else(|| corrupt(i, "non-null text"))
    }
    pub fn opt_time(&self, i: usize) -> Result<Option<Timestamp>, StoreError> {
        self.opt_int(i)?
            .map(|v| Timestamp::from_microsecond(v).map_err(|e| StoreError::Corrupt(e.to_string())))
            .transpose()
    }
    pub fn opt_date(&self, i: usize) -> Result<Option<jiff::civil::Date>, StoreError> {
        self.opt_str(i)?
            .map(|t| t.parse().map_err(|_| corrupt(i, "a YYYY-MM-DD date")))
            .transpose()
    }
    pub fn date(&self, i: usize) -> Result<jiff::civil::Date, StoreError> {
        self.opt_date(i)?.ok_or_else(|| corrupt(i, "a date"))
    }
    pub fn month(&self, i: usize) -> Result<shebao_domain::Month, StoreError> {
        shebao_domain::Month::parse(self.str(i)?).ok_or_else(|| corrupt(i, "a YYYY-MM month"))
    }
    pub fn fen(&self, i: usize) -> Result<shebao_domain::Fen, StoreError> {
        Ok(shebao_domain::Fen(self.int(i)?))
    }
    pub fn time(&self, i: usize) -> Result<Timestamp, StoreError> {
        self.opt_time(i)?.ok_or_else(|| corrupt(i, "a timestamp"))
    }
    pub fn opt_card_no(&self, i: usize) -> Result<Option<CardNo>, StoreError> {
        self.opt_str(i)?
            .map(|t| CardNo::parse(t).ok_or_else(|| corrupt(i, "a card number")))
            .transpose()
    }
    pub fn card_no(&self, i: usize) -> Result<CardNo, StoreError> {
        self.opt_card_no(i)?
            .ok_or_else(|| corrupt(i, "a card number"))
    }
    pub fn opt_id_number(&self, i: usize) -> Result<Option<IdNumber>, StoreError> {
        self.opt_str(i)?
            .map(|t| IdNumber::parse_shape(t).map_err(|_| corrupt(i, "an ID number")))
            .transpose()
    }
    pub fn id_number(&self, i: usize) -> Result<IdNumber, StoreError> {
        self.opt_id_number(i)?
            .ok_or_else(|| corrupt(i, "an ID number"))
    }
}

/// A connection inside a transaction, as the shared queries see it. A statement is a
/// `&'static str` made once (a literal, or built once per process like
/// `actors::take_counters_sql`): the SQLite engine keeps each statement's rewritten text by
/// the text's address, so a text built per call would grow that map.
pub trait SqlConn {
    /// Runs a statement; returns the rows it changed.
    fn exec(&mut self, sql: &'static str, params: &[Value<'_>]) -> Result<u64, StoreError>;
    fn query(&mut self, sql: &'static str, params: &[Value<'_>]) -> Result<Vec<Row>, StoreError>;
    /// The engine's own keeper of PSAM terminal counters, if it has one: SQLite's one writer
    /// keeps them in memory and writes each terminal's counter once per group commit
    /// (`actors::TerminalCounters`). PostgreSQL has none: several servers may share its
    /// database, so every claim is a row-locked `UPDATE`.
    fn terminal_counters(&mut self) -> Option<&mut crate::actors::TerminalCounters> {
        None
    }
}
