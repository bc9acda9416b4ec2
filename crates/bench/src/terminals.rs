//! Card-present purchases from PSAM terminals (issue 14's performance item): one PSAM pharmacy
//! per connection, each with its own cards, so that every terminal's counter and every card
//! chip's counter rise one request after the other, as at a real counter.
//!
//! Each request is signed as a terminal would: the card chip's cryptogram over
//! `CARD_NO|COUNTER|purchase|CLIENT_TXN_ID|AMOUNT_FEN`, then the body is serialized once and
//! the PSAM's MAC computed over `POST\n/api/v1/purchases\nCOUNTER\nBODY` with exactly those
//! bytes sent. Both MACs come from the city key file the server created in its data directory
//! (`shebao_keys::sim`, the operator's simulator). A run's requests are signed just before it
//! starts, not timed ([`CardPresent::run`]): on this machine the client shares the server's
//! two cores, and a real terminal's signing happens on its own PSAM.

use crate::load::{Connection, Prepared, StrictResult, load_connections};
use anyhow::Context;
use serde_json::{Value, json};
use shebao_keys::{CardOperation, FileKeyStore, sim};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// The path the MAC covers (from `/api/v1`, as the server sees it).
const PURCHASE_PATH: &str = "/api/v1/purchases";

/// The 16-digit PSAM number of the bench's terminal `t`.
fn psam_no(t: usize) -> String {
    format!("9{:015}", t + 1)
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

/// Which card a connection's slot holds: a fixed permutation of `1..=accounts` (as the plain
/// run spreads its purchases), so the connections' cards are disjoint and as scattered.
fn card_sequence(slot: u64, accounts: u64) -> u64 {
    let step = if gcd(7_919, accounts) == 1 { 7_919 } else { 1 };
    (slot.wrapping_mul(step) % accounts) + 1
}

/// One PSAM pharmacy per connection, each with its own cards and its own counters, ready to
/// send card-present purchases; [`CardPresent::run`] may be called several times (the
/// counters carry on).
pub struct CardPresent {
    connections: Vec<Connection>,
    /// The next request number (client transaction ids are `{prefix}{number}`).
    next_request: u64,
}

/// Creates `connections` PSAM pharmacies through the admin API of the server at `api`
/// (`…/api/v1`), loads the city keys it created in `data_dir`, and gives connection `t` the
/// card slots `t, t + C, t + 2C, …` below `accounts` (C connections) to use in turn: each
/// slot's chip counter rises by one per round, the terminal's counter by one per request.
pub async fn prepare(
    api: &str,
    admin_token: &str,
    data_dir: &Path,
    connections: usize,
    accounts: u64,
    password: &str,
) -> anyhow::Result<CardPresent> {
    let count = connections as u64;
    if accounts < count {
        anyhow::bail!("card-present purchases need at least one card per terminal ({count})");
    }
    let key_file = data_dir.join("city-keys");
    let keys = FileKeyStore::load(&key_file)
        .with_context(|| format!("loading the server's city keys {}", key_file.display()))?;
    let keys = Arc::new(keys);
    let client = reqwest::Client::new();
    let mut prepared = Vec::with_capacity(connections);
    for t in 0..count {
        let psam_no = psam_no(t as usize);
        let response = client
            .post(format!("{api}/admin/actors"))
            .bearer_auth(admin_token)
            .json(&json!({
                "role": "pharmacy",
                "name": format!("bench PSAM pharmacy {t}"),
                "psam_no": psam_no,
            }))
            .send()
            .await?;
        let status = response.status();
        let answer: Value = response.json().await?;
        let token = answer["token"]
            .as_str()
            .with_context(|| format!("creating PSAM pharmacy {t}: {status} {answer}"))?
            .to_owned();
        // Slots below `accounts` congruent to t modulo the terminal count.
        let slots = (accounts - t).div_ceil(count);
        let (keys, password) = (keys.clone(), password.to_owned());
        let (mut terminal_counter, mut uses) = (0u64, 0u64);
        prepared.push(Connection::new(
            token,
            Box::new(move |_| {
                let slot = t + count * (uses % slots);
                let chip_counter = uses / slots + 1;
                uses += 1;
                let seq = card_sequence(slot, accounts);
                // Unique per terminal and use, whenever the request is made (ahead or not).
                let txn = format!("t{t}-{uses}");
                // The card as its chip knows it (the city generator's numbering and serial).
                let card_no = format!("S{seq:08}");
                let serial = format!("{seq:032X}");
                let amount = 1i64;
                let cryptogram = sim::card_cryptogram(
                    &*keys,
                    &serial,
                    &card_no,
                    chip_counter,
                    CardOperation::Purchase,
                    Some(&txn),
                    Some(amount),
                )
                .map_err(|e| format!("card cryptogram: {e}"))?;
                let body = serde_json::to_vec(&json!({
                    "client_txn_id": txn,
                    "card_no": card_no,
                    "amount_fen": amount,
                    "password": password,
                    "card_auth": {"counter": chip_counter, "cryptogram": cryptogram.to_string()},
                }))
                .map_err(|e| format!("body: {e}"))?;
                terminal_counter += 1;
                let mac = sim::request_mac(
                    &*keys,
                    &psam_no,
                    "POST",
                    PURCHASE_PATH,
                    terminal_counter,
                    &body,
                )
                .map_err(|e| format!("request MAC: {e}"))?;
                Ok(Prepared {
                    path: "/purchases".to_owned(),
                    body,
                    headers: vec![
                        ("x-terminal-counter", terminal_counter.to_string()),
                        ("x-terminal-mac", mac.to_string()),
                    ],
                })
            }),
        ));
    }
    Ok(CardPresent {
        connections: prepared,
        next_request: 0,
    })
}

impl CardPresent {
    /// Full load (closed loop) of card-present purchases against `api` (`…/api/v1`): `total`
    /// requests over the terminals' connections for at most `max_time`; only 201 counts.
    /// Each terminal's share (and a quarter more, for the faster connections) is signed
    /// before the clock starts: a real terminal signs on its own PSAM, not on the server's
    /// cores, which this bench's client shares. Requests a connection makes beyond those are
    /// signed during the run and counted (`made_during_run`).
    pub async fn run(&mut self, api: &str, total: u64, max_time: Duration) -> StrictResult {
        let first = self.next_request;
        let share = total.div_ceil(self.connections.len().max(1) as u64);
        let ahead = share + share.div_ceil(4);
        let started = std::time::Instant::now();
        for connection in &mut self.connections {
            if let Err(e) = connection.make_ahead(first, ahead) {
                let mut failed = StrictResult::empty();
                failed.load.errors = total;
                failed.sample = Some(format!("signing ahead: {e}"));
                failed.unexpected.insert("client".into(), total);
                return failed;
            }
        }
        let made = (ahead * self.connections.len() as u64, started.elapsed());
        let mut r = load_connections(api, &mut self.connections, 201, first, total, max_time).await;
        r.made_ahead = made;
        // Every number handed out is below `first + total`.
        self.next_request = first + total;
        r
    }
}

#[cfg(test)]
mod tests {
    use super::{card_sequence, psam_no};
    use std::collections::HashSet;

    #[test]
    fn psam_numbers_have_16_digits() {
        for t in [0, 1, 63, 999] {
            let no = psam_no(t);
            assert_eq!(no.len(), 16);
            assert!(no.bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn the_slots_map_to_distinct_cards() {
        for accounts in [64u64, 1_000, 7_919 * 2, 100_000] {
            let cards: HashSet<u64> = (0..accounts).map(|s| card_sequence(s, accounts)).collect();
            assert_eq!(cards.len() as u64, accounts);
            assert!(cards.iter().all(|c| (1..=accounts).contains(c)));
        }
    }
}
