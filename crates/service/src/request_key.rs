//! A client's `Idempotency-Key` on a write that its repeat would otherwise do again
//! (issue 16: "every other write whose retry is not safe, make it safe").
//!
//! A terminal whose request timed out in a failover does not know whether it was carried out,
//! and repeats it. Money movements are safe by their `client_txn_id`; the other writes whose
//! repeat would make a second effect (a second employer, a second payment record without a
//! record number, an orphan actor, a password change whose repeat counts the old password as
//! a wrong try) take an optional key. The use case looks the key up first thing in its write
//! transaction and records it, with what the request made, in that same transaction: a repeat
//! with the same key and the same request answers from that record and changes nothing; the
//! same key with another request is 409 `idempotency_key_reused`. Keys are the sending
//! actor's own: another actor's key is another key.
//!
//! What a request asked for is kept as an SM3 digest of its operation and its non-secret
//! fields. Passwords never enter it (they are kept in no form but the account's own hash), so
//! a password change's repeat is recognised by its key, card and channel alone.

use crate::error::{ServiceError, StoreError};
use crate::keys::token_digest;
use crate::model::RequestKeyRecord;
use crate::store::Tx;
use jiff::Timestamp;

/// How long a key is kept (the `request-keys` job forgets older ones): a repeat is a client's
/// retry, minutes or hours after the first request; a month covers a batch rerun.
pub const REQUEST_KEY_DAYS: i64 = 30;

/// Longest key accepted: a UUID is 36 characters; a terminal's own scheme may need more.
pub const REQUEST_KEY_CHARS_MAX: usize = 64;

/// A client's key for one write, 1 to 64 printable ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestKey(String);

impl RequestKey {
    /// 422 `invalid_idempotency_key` for an empty, long or non-printable key.
    pub fn parse(text: &str) -> Result<RequestKey, ServiceError> {
        let ok = !text.is_empty()
            && text.len() <= REQUEST_KEY_CHARS_MAX
            && text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(RequestKey(text.to_owned()))
        } else {
            Err(ServiceError::invalid(
                "invalid_idempotency_key",
                format!(
                    "Idempotency-Key is 1 to {REQUEST_KEY_CHARS_MAX} printable ASCII characters"
                ),
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One keyed write inside its transaction: [`KeyedWrite::prior`] first, then
/// [`KeyedWrite::record`] once the effect is made.
pub(crate) struct KeyedWrite<'a> {
    actor_id: &'a str,
    key: &'a RequestKey,
    fingerprint: String,
}

impl<'a> KeyedWrite<'a> {
    /// `request` names the operation and its non-secret fields, one per line.
    pub(crate) fn new(actor_id: &'a str, key: &'a RequestKey, request: &[&str]) -> KeyedWrite<'a> {
        KeyedWrite {
            actor_id,
            key,
            fingerprint: token_digest(&request.join("\n")),
        }
    }

    /// What the first request under this key made, if it was carried out; 409
    /// `idempotency_key_reused` if it asked for something else.
    pub(crate) fn prior(&self, tx: &mut dyn Tx) -> Result<Option<String>, ServiceError> {
        match tx.request_key(self.actor_id, self.key.as_str())? {
            None => Ok(None),
            Some(r) if r.fingerprint == self.fingerprint => Ok(Some(r.resource)),
            Some(_) => Err(reused()),
        }
    }

    /// Records the key with what the request made, in the effect's transaction. Two requests
    /// under one key at the same moment (several servers): the second's transaction fails here
    /// and changes nothing.
    pub(crate) fn record(
        &self,
        tx: &mut dyn Tx,
        resource: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let record = RequestKeyRecord {
            actor_id: self.actor_id.to_owned(),
            key: self.key.as_str().to_owned(),
            fingerprint: self.fingerprint.clone(),
            resource: resource.to_owned(),
            created_at: now,
        };
        tx.insert_request_key(&record).map_err(|e| match e {
            StoreError::Duplicate(_) => reused(),
            other => other.into(),
        })
    }
}

fn reused() -> ServiceError {
    ServiceError::conflict(
        "idempotency_key_reused",
        "this Idempotency-Key was used for another request (or is in use right now)",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_1_to_64_printable_ascii_characters() {
        assert!(RequestKey::parse("0b8e0a52-6c3e-4c1b-9a43-2f7d0b1f3b11").is_ok());
        assert!(RequestKey::parse(&"k".repeat(64)).is_ok());
        for bad in ["", " ", "a b", "键", "a\n", &"k".repeat(65)] {
            let err = RequestKey::parse(bad).unwrap_err();
            assert!(
                matches!(
                    err,
                    ServiceError::Invalid {
                        code: "invalid_idempotency_key",
                        ..
                    }
                ),
                "{bad:?}: {err:?}"
            );
        }
    }

    #[test]
    fn the_fingerprint_depends_on_every_field_and_their_order() {
        let key = RequestKey::parse("k1").unwrap();
        let a = KeyedWrite::new("A1", &key, &["employer", "Acme", "110000"]);
        let b = KeyedWrite::new("A1", &key, &["employer", "Acme", "110100"]);
        let c = KeyedWrite::new("A1", &key, &["employer", "110000", "Acme"]);
        assert_ne!(a.fingerprint, b.fingerprint);
        assert_ne!(a.fingerprint, c.fingerprint);
        assert_eq!(a.fingerprint.len(), 64);
    }
}
