//! PSAM terminals (R-KM-1, API.md "Keys and terminals"): the request MAC the HTTP gate checks
//! before any handler runs, and the counter's claim it hands the request (see
//! [`crate::claim`]).

use crate::Service;
use crate::claim::TerminalClaim;
use crate::error::ServiceError;
use crate::model::Actor;
use shebao_keys::{Diversifier, Mac, Purpose};

/// A terminal counter as sent: canonical decimal (no sign, no leading zero), 1 ..= 2^63 − 1.
fn parse_counter(text: &str) -> Option<u64> {
    let canonical = !text.is_empty()
        && text.bytes().all(|b| b.is_ascii_digit())
        && !(text.len() > 1 && text.starts_with('0'));
    text.parse::<i64>()
        .ok()
        .filter(|c| canonical && *c >= 1)
        .and_then(|c| u64::try_from(c).ok())
}

impl Service {
    /// A terminal without a PSAM where the server requires one (`--require-psam`): 403
    /// `psam_required` on every call.
    pub fn check_terminal_standing(&self, actor: &Actor) -> Result<(), ServiceError> {
        if self.require_psam && actor.role.is_terminal() && actor.psam.is_none() {
            return Err(ServiceError::Forbidden {
                code: "psam_required",
                message: "this server accepts terminals only with a PSAM".into(),
            });
        }
        Ok(())
    }

    /// Verifies a PSAM terminal's request MAC over `METHOD\nPATH\nCOUNTER\nBODY` under its
    /// PSAM key; answers the counter's claim for the request. Nothing is read or written.
    pub fn verify_terminal_request(
        &self,
        actor: &Actor,
        method: &str,
        path: &str,
        counter: &str,
        body: &[u8],
        mac: &str,
    ) -> Result<TerminalClaim, ServiceError> {
        let Some(psam) = &actor.psam else {
            return Err(ServiceError::bad_mac("this terminal holds no PSAM"));
        };
        let counter = parse_counter(counter).ok_or_else(|| {
            ServiceError::bad_mac("X-Terminal-Counter is a decimal from 1 to 9223372036854775807, without leading zeros")
        })?;
        let mac = Mac::from_hex(mac)
            .ok_or_else(|| ServiceError::bad_mac("X-Terminal-MAC is 8 hex digits"))?;
        let data = Diversifier::psam(&psam.psam_no)
            .map_err(|e| ServiceError::Internal(format!("stored PSAM number: {e}")))?;
        let message = shebao_keys::terminal_message(method, path, counter, body);
        let verified = self
            .city_keys
            .verify(Purpose::Psam, &[data], &message, &mac)
            .map_err(|e| ServiceError::Internal(format!("PSAM key: {e}")))?;
        if !verified {
            return Err(ServiceError::bad_mac(
                "X-Terminal-MAC is not this terminal's MAC of the request",
            ));
        }
        Ok(TerminalClaim::new(
            actor.id.clone(),
            counter,
            self.clock.now(),
        ))
    }

    /// Takes a claim's counter in a transaction of its own (a request that wrote nothing).
    pub async fn take_terminal_counter(&self, claim: &TerminalClaim) -> Result<(), ServiceError> {
        let owned = claim.clone();
        self.db
            .write(move |tx| {
                if tx.take_terminal_counter(owned.actor_id(), owned.counter(), owned.at())? {
                    Ok(())
                } else {
                    Err(ServiceError::replayed())
                }
            })
            .await?;
        claim.mark_taken();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::parse_counter;

    #[test]
    fn counters_are_canonical_positive_decimals() {
        assert_eq!(parse_counter("1"), Some(1));
        assert_eq!(parse_counter("9223372036854775807"), Some(i64::MAX as u64));
        for bad in [
            "",
            "0",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "9223372036854775808",
            "１",
            "0x1",
        ] {
            assert_eq!(parse_counter(bad), None, "{bad:?}");
        }
    }
}
