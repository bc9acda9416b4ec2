//! Start-up and recovery (issue 17: "recovery time recorded in the bench"): how long a
//! `shebao serve` takes from its start to its first 200 on `GET /ready` over a seeded city,
//! cleanly and after a `kill -9` in the middle of purchase load; and that every purchase it
//! acknowledged before the kill is still there after it (each is sent again with its
//! `client_txn_id` and must get its first answer back, which moves no money).

use crate::server::ChildServer;
use anyhow::Context;
use serde_json::{Value, json};
use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a start may take before the run gives up on it.
const READY_WAIT_MAX: Duration = Duration::from_secs(600);
const READY_POLL: Duration = Duration::from_millis(5);

/// What the run measured.
#[derive(Debug, Clone)]
pub struct Recovery {
    /// A clean start (the database closed normally) to the first 200 on `/ready`.
    pub start: Duration,
    /// Purchase load before the kill.
    pub load: Duration,
    /// Purchases answered 201 before the kill.
    pub acknowledged: u64,
    /// The SQLite WAL's size at the kill (0 on PostgreSQL).
    pub wal_bytes: u64,
    /// The start after the kill to the first 200 on `/ready`.
    pub restart: Duration,
    /// Acknowledged purchases whose card does not show the balance the answer named, or whose
    /// repeat did not answer 201 with the first answer.
    pub lost: u64,
    /// The repeats took this long, all of them.
    pub replay: Duration,
}

impl Recovery {
    /// The two rows of the bench's table: (what, value, how).
    pub fn rows(&self, cards: u64) -> [(String, String, String); 2] {
        [
            (
                format!("start-up: `shebao serve` to /ready, {cards} cards"),
                format!("{:.2} s", self.start.as_secs_f64()),
                "a clean start on the seeded database (closed normally)".to_owned(),
            ),
            (
                "recovery: kill -9 under purchase load, restart to /ready".to_owned(),
                format!("{:.2} s", self.restart.as_secs_f64()),
                format!(
                    "killed after {:.1} s of purchases with {:.0} MB in the WAL; {} purchases acknowledged before the kill, {} lost (each sent again: its first answer, no money moved; {:.1} s)",
                    self.load.as_secs_f64(),
                    self.wal_bytes as f64 / 1e6,
                    self.acknowledged,
                    self.lost,
                    self.replay.as_secs_f64()
                ),
            ),
        ]
    }
}

/// Starts the server with `command()`, waits for its `/ready`, and answers it with the time
/// that took.
async fn start(
    command: &dyn Fn() -> anyhow::Result<Command>,
) -> anyhow::Result<(ChildServer, Duration)> {
    let began = Instant::now();
    let server = tokio::task::block_in_place(|| ChildServer::spawn(command()?))?;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    loop {
        let ready = client
            .get(format!("{}/ready", server.base))
            .send()
            .await
            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK);
        if ready {
            return Ok((server, began.elapsed()));
        }
        if began.elapsed() > READY_WAIT_MAX {
            server.stop();
            anyhow::bail!("the server was not ready within {READY_WAIT_MAX:?}");
        }
        tokio::time::sleep(READY_POLL).await;
    }
}

/// One acknowledged purchase: its request and the answer it got.
struct Acknowledged {
    body: Value,
    answer: Value,
}

/// Runs the measurement on a seeded city of `accounts` cards (numbers `S00000001`…, each
/// with `password` enabled and money on it) in `dir`. `command` makes the server's command
/// line (the same for both starts); `admin` is its admin token (a pharmacy may not read a
/// card, the admin may). Purchase load from
/// `connections` clients runs for `load_for`, then the server is killed with SIGKILL.
pub async fn run(
    command: &dyn Fn() -> anyhow::Result<Command>,
    dir: &Path,
    admin: &str,
    accounts: u64,
    password: &str,
    connections: usize,
    load_for: Duration,
) -> anyhow::Result<Recovery> {
    let (mut server, start_took) = start(command).await?;
    let api = format!("{}/api/v1", server.base);
    let client = reqwest::Client::new();
    let answer: Value = client
        .post(format!("{api}/admin/actors"))
        .bearer_auth(admin)
        .json(&json!({"role": "pharmacy", "name": "bench recovery pharmacy"}))
        .send()
        .await?
        .json()
        .await?;
    let token = answer["token"]
        .as_str()
        .with_context(|| format!("creating the recovery pharmacy: {answer}"))?
        .to_owned();

    // Purchase load until the kill: every 201 is noted with what was sent.
    let next = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let accounts = accounts.max(1);
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (client, api, token, password) = (
            client.clone(),
            api.clone(),
            token.clone(),
            password.to_owned(),
        );
        let (next, stop) = (next.clone(), stop.clone());
        tasks.push(tokio::spawn(async move {
            let mut acknowledged = Vec::new();
            while !stop.load(Ordering::Relaxed) {
                let i = next.fetch_add(1, Ordering::Relaxed);
                // One purchase per card (7 919 is prime to the bench's card counts): what the
                // check after the restart relies on.
                if i >= accounts {
                    break;
                }
                let body = json!({
                    "client_txn_id": format!("k{i}"),
                    "card_no": format!("S{:08}", (i.wrapping_mul(7_919) % accounts) + 1),
                    "amount_fen": 1,
                    "password": password,
                });
                let Ok(response) = client
                    .post(format!("{api}/purchases"))
                    .bearer_auth(&token)
                    .json(&body)
                    .send()
                    .await
                else {
                    break;
                };
                if response.status() != reqwest::StatusCode::CREATED {
                    continue;
                }
                // An answer cut off by the kill is not an acknowledgement.
                if let Ok(answer) = response.json::<Value>().await {
                    acknowledged.push(Acknowledged { body, answer });
                }
            }
            acknowledged
        }));
    }
    let loaded = Instant::now();
    tokio::time::sleep(load_for).await;
    let wal_bytes = std::fs::metadata(dir.join("shebao.sqlite-wal")).map_or(0, |m| m.len());
    server.child.kill().context("kill -9 of the server")?;
    let _ = server.child.wait();
    let load = loaded.elapsed();
    stop.store(true, Ordering::Relaxed);
    let mut acknowledged = Vec::new();
    for task in tasks {
        acknowledged.extend(task.await.context("a load task")?);
    }

    // The restart, and every acknowledged purchase asked for again.
    let (server, restart) = start(command).await?;
    let api = format!("{}/api/v1", server.base);
    let replayed = Instant::now();
    let total = acknowledged.len() as u64;
    let queue = Arc::new(std::sync::Mutex::new(acknowledged));
    let lost = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::with_capacity(connections);
    for _ in 0..connections {
        let (client, api, token) = (client.clone(), api.clone(), token.clone());
        let admin = admin.to_owned();
        let (queue, lost) = (queue.clone(), lost.clone());
        tasks.push(tokio::spawn(async move {
            // The guard is the closure's and gone before the body runs.
            while let Some(one) = queue.lock().ok().and_then(|mut q| q.pop()) {
                // Each card is bought once in this run, so its balance now is the one the
                // acknowledgement named if the purchase survived, one fen more if it did not.
                let card_no = one.body["card_no"].as_str().unwrap_or_default().to_owned();
                let balance = match client
                    .get(format!("{api}/cards/{card_no}"))
                    .bearer_auth(&admin)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == reqwest::StatusCode::OK => r
                        .json::<Value>()
                        .await
                        .ok()
                        .map(|v| v["balance_fen"].clone()),
                    _ => None,
                };
                if balance.as_ref() != Some(&one.answer["balance_fen"]) {
                    lost.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                let again = match client
                    .post(format!("{api}/purchases"))
                    .bearer_auth(&token)
                    .json(&one.body)
                    .send()
                    .await
                {
                    Ok(r) if r.status() == reqwest::StatusCode::CREATED => {
                        r.json::<Value>().await.ok()
                    }
                    _ => None,
                };
                if again.as_ref() != Some(&one.answer) {
                    lost.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for task in tasks {
        task.await.context("a replay task")?;
    }
    let replay = replayed.elapsed();
    server.stop();
    Ok(Recovery {
        start: start_took,
        load,
        acknowledged: total,
        wal_bytes,
        restart,
        lost: lost.load(Ordering::Relaxed),
        replay,
    })
}

#[cfg(test)]
mod tests {
    use super::Recovery;
    use std::time::Duration;

    #[test]
    fn the_rows_name_the_times_the_wal_and_the_losses() {
        let r = Recovery {
            start: Duration::from_millis(1_250),
            load: Duration::from_secs(5),
            acknowledged: 41_138,
            wal_bytes: 330_000_000,
            restart: Duration::from_millis(250),
            lost: 0,
            replay: Duration::from_millis(4_900),
        };
        let [start, restart] = r.rows(1_000_000);
        assert_eq!(start.0, "start-up: `shebao serve` to /ready, 1000000 cards");
        assert_eq!(start.1, "1.25 s");
        assert_eq!(restart.1, "0.25 s");
        assert_eq!(
            restart.2,
            "killed after 5.0 s of purchases with 330 MB in the WAL; 41138 purchases acknowledged before the kill, 0 lost (each sent again: its first answer, no money moved; 4.9 s)"
        );
    }
}
