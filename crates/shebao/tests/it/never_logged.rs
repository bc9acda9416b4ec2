//! "Never logged, never stored" (issue: test strength, point 5; R-PW-10, STYLE): the real
//! `shebao serve` binary runs a full day's work with the most verbose log there is
//! (`SHEBAO_LOG=trace`), then its log and its database — the SQLite file with its WAL, or
//! every PostgreSQL table as text — are searched for every password, query password, token and
//! key the run used. None may appear.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::io::Read;
use std::process::{Command, Stdio};

const ADMIN_TOKEN: &str = "adm-secret-token-Zq81Kx3vLm7Np2Rt";
const PIN_KEY: &str = "k1 5c1e3a7f9b2d4c6e8f0a1b3c5d7e9f1a2b4c6d8e0f1a3b5c7d9e1f2a4b6c8d0e";
/// Six-digit passwords chosen to appear in none of the run's other data (ID numbers, dates,
/// card numbers are random but 8 digits long: a chance hit is about 10^-6 per card).
const LEGACY_PIN: &str = "731946";
const SS_PIN: &str = "864257";
const SS_WRONG: &str = "902468";
const FIN_PIN: &str = "357913";
const FIN_NEW: &str = "468024";
const FIN_RESET: &str = "579135";
const QUERY_PASSWORD: &str = "Quiet-Lantern-9412";
const QUERY_WRONG: &str = "Wrong-Guess-5521";

struct Child {
    process: std::process::Child,
    base: String,
    /// The log, read as it comes (a full pipe would stall the server).
    log: std::thread::JoinHandle<Vec<u8>>,
}

/// `log_format`: `SHEBAO_LOG_FORMAT` (`None`: the text log).
fn start(engine: Engine, log_format: Option<&str>) -> (Child, shebao::Config) {
    let cfg = config(engine, "national");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_shebao"));
    cmd.arg("serve")
        .arg("--data-dir")
        .arg(&cfg.data_dir)
        .arg("--listen")
        .arg("127.0.0.1:0")
        .arg("--sim-clock")
        .arg(START)
        .env("SHEBAO_ADMIN_TOKEN", ADMIN_TOKEN)
        .env("SHEBAO_PIN_KEYS", PIN_KEY)
        .env("SHEBAO_LOG", "trace")
        .env_remove("SHEBAO_LOG_FORMAT")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if let Some(format) = log_format {
        cmd.env("SHEBAO_LOG_FORMAT", format);
    }
    if let Some(url) = &cfg.database_url {
        cmd.arg("--database-url").arg(url);
    }
    let mut process = cmd.spawn().expect("shebao serve starts");
    // Read the log as it comes from the start (a full pipe would stall the server).
    let mut stderr = process.stderr.take().unwrap();
    let log = std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = stderr.read_to_end(&mut bytes);
        bytes
    });
    // The first line on stdout says where it listens.
    let mut stdout = process.stdout.take().unwrap();
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while stdout.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let line = String::from_utf8(line).unwrap();
    let addr = line.rsplit("http://").next().unwrap().trim().to_owned();
    assert!(addr.starts_with("127.0.0.1:"), "{line}");
    // Keep reading stdout so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = stdout.read_to_string(&mut rest);
    });
    (
        Child {
            process,
            log,
            base: format!("http://{addr}/api/v1"),
        },
        cfg,
    )
}

async fn call(
    client: &reqwest::Client,
    base: &str,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: Value,
) -> (StatusCode, Value) {
    let mut req = client.request(method, format!("{base}{path}")).json(&body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// A day at the bureau with every kind of secret; returns the tokens it saw.
async fn a_day_of_work(base: &str) -> Vec<String> {
    use reqwest::Method as M;
    let c = reqwest::Client::new();
    let mut tokens = Vec::new();
    let actor = |role: &'static str| {
        let (c, base) = (c.clone(), base.to_owned());
        async move {
            let (s, v) = call(
                &c,
                &base,
                M::POST,
                "/admin/actors",
                Some(ADMIN_TOKEN),
                json!({"role": role, "name": role}),
            )
            .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            v["token"].as_str().unwrap().to_owned()
        }
    };
    let clerk = actor("clerk").await;
    let pharmacy = actor("pharmacy").await;
    let bank = actor("bank").await;
    tokens.extend([clerk.clone(), pharmacy.clone(), bank.clone()]);
    let id = nth_id(7);
    let ok = |(s, v): (StatusCode, Value), want: StatusCode| {
        assert_eq!(s, want, "{v}");
        v
    };
    ok(
        call(
            &c,
            base,
            M::POST,
            "/persons",
            Some(&clerk),
            json!({"id_number": id, "name": "王五", "kind": "employee", "phone": "13912345678",
            "legacy_card": {"number": "YB99", "balance_fen": 5_000, "password": LEGACY_PIN}}),
        )
        .await,
        StatusCode::CREATED,
    );
    let card = ok(
        call(
            &c,
            base,
            M::POST,
            "/cards",
            Some(&clerk),
            json!({"id_number": id}),
        )
        .await,
        StatusCode::CREATED,
    )["card_no"]
        .as_str()
        .unwrap()
        .to_owned();
    // The old card's password carried over (R-ACT-3), then changed; a wrong try; a purchase.
    ok(
        call(
            &c,
            base,
            M::POST,
            &format!("/cards/{card}/activation"),
            Some(&pharmacy),
            json!({"channel": "pharmacy_old_password", "old_card_password": LEGACY_PIN}),
        )
        .await,
        StatusCode::OK,
    );
    ok(
        call(
            &c,
            base,
            M::PUT,
            &format!("/cards/{card}/ss-password"),
            Some(&pharmacy),
            json!({"old_password": LEGACY_PIN, "new_password": SS_PIN}),
        )
        .await,
        StatusCode::OK,
    );
    ok(
        call(
            &c,
            base,
            M::POST,
            &format!("/cards/{card}/ss-password/verify"),
            Some(&pharmacy),
            json!({"password": SS_WRONG}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    ok(call(&c, base, M::POST, "/purchases", Some(&pharmacy), json!({"client_txn_id": "t1", "card_no": card, "amount_fen": 1_200, "password": SS_PIN})).await, StatusCode::CREATED);
    // The bank's side: activation, a change, a reset.
    ok(
        call(
            &c,
            base,
            M::POST,
            &format!("/cards/{card}/activation"),
            Some(&bank),
            json!({"channel": "bank", "fin_password": FIN_PIN}),
        )
        .await,
        StatusCode::OK,
    );
    ok(
        call(
            &c,
            base,
            M::PUT,
            &format!("/cards/{card}/fin-password"),
            Some(&bank),
            json!({"old_password": FIN_PIN, "new_password": FIN_NEW}),
        )
        .await,
        StatusCode::OK,
    );
    ok(
        call(&c, base, M::POST, &format!("/cards/{card}/fin-password/reset"), Some(&bank), json!({"new_password": FIN_RESET, "evidence": {"holder_present": true, "holder_id_checked": true}})).await,
        StatusCode::OK,
    );
    // Self-service: the initial query password, the forced change, a wrong login, logout.
    let initial = id[10..].replace('X', "0");
    let session = ok(
        call(
            &c,
            base,
            M::POST,
            "/self/login",
            None,
            json!({"id_number": id, "query_password": initial}),
        )
        .await,
        StatusCode::OK,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        call(
            &c,
            base,
            M::PUT,
            "/self/query-password",
            Some(&session),
            json!({"old_password": initial, "new_password": QUERY_PASSWORD}),
        )
        .await,
        StatusCode::OK,
    );
    ok(
        call(
            &c,
            base,
            M::POST,
            "/self/login",
            None,
            json!({"id_number": id, "query_password": QUERY_WRONG}),
        )
        .await,
        StatusCode::UNAUTHORIZED,
    );
    let second = ok(
        call(
            &c,
            base,
            M::POST,
            "/self/login",
            None,
            json!({"id_number": id, "query_password": QUERY_PASSWORD}),
        )
        .await,
        StatusCode::OK,
    )["token"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(
        call(
            &c,
            base,
            M::GET,
            &format!("/cards/{card}/ledger"),
            Some(&second),
            json!({}),
        )
        .await,
        StatusCode::OK,
    );
    ok(
        call(&c, base, M::POST, "/self/logout", Some(&second), json!({})).await,
        StatusCode::NO_CONTENT,
    );
    // A refused request with a password in it, and a malformed one.
    ok(
        call(
            &c,
            base,
            M::PUT,
            &format!("/cards/{card}/ss-password"),
            Some(&pharmacy),
            json!({"old_password": SS_WRONG, "new_password": "12345x"}),
        )
        .await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    tokens.extend([session, second]);
    tokens
}

/// Every secret of the run that must never be written down.
fn secrets(tokens: &[String]) -> Vec<String> {
    let pin_key_hex = PIN_KEY.split_whitespace().nth(1).unwrap().to_owned();
    let mut all: Vec<String> = [
        ADMIN_TOKEN,
        LEGACY_PIN,
        SS_PIN,
        SS_WRONG,
        FIN_PIN,
        FIN_NEW,
        FIN_RESET,
        QUERY_PASSWORD,
        QUERY_WRONG,
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    all.push(pin_key_hex);
    all.extend(tokens.iter().cloned());
    all
}

fn find_in(haystack: &[u8], secrets: &[String], what: &str) {
    for s in secrets {
        let needle = s.as_bytes();
        let found = haystack
            .windows(needle.len())
            .enumerate()
            .find(|&(at, w)| w == needle && !by_chance(haystack, at, needle));
        if let Some((at, _)) = found {
            let from = at.saturating_sub(60);
            let to = (at + needle.len() + 60).min(haystack.len());
            panic!(
                "{what} holds the secret {s:?}: …{}…",
                String::from_utf8_lossy(&haystack[from..to])
            );
        }
    }
}

/// A six-digit password also turns up by chance inside numbers the system writes for its own
/// reasons: the microseconds of a log line's timestamp (`07:43:12.357913Z`: a one-in-a-million
/// match per line and password, and the log has thousands of lines and the test nine
/// passwords) and the digits of a longer number (an instant in microseconds in the PostgreSQL
/// dump, a card number). A digit-only secret counts only where it stands as a number of its own,
/// and not as a timestamp's fraction.
fn by_chance(haystack: &[u8], at: usize, needle: &[u8]) -> bool {
    if !needle.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let before = at.checked_sub(1).map(|i| haystack[i]);
    let after = haystack.get(at + needle.len()).copied();
    if before.is_some_and(|b| b.is_ascii_digit()) || after.is_some_and(|b| b.is_ascii_digit()) {
        return true;
    }
    // hh:mm:ss.ffffffZ
    let clock = at
        .checked_sub(9)
        .map(|i| &haystack[i..at])
        .is_some_and(|c| {
            c.iter().enumerate().all(|(i, &b)| match i {
                2 | 5 => b == b':',
                8 => b == b'.',
                _ => b.is_ascii_digit(),
            })
        });
    clock && after == Some(b'Z')
}

fn stop(mut child: Child) -> Vec<u8> {
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.process.id().to_string())
        .status();
    let status = child.process.wait().unwrap();
    assert!(status.success() || status.code().is_none(), "{status}");
    child.log.join().unwrap()
}

async fn nothing_secret_is_logged_or_stored(engine: Engine, log_format: Option<&str>) {
    let (child, cfg) = start(engine, log_format);
    let base = child.base.clone();
    let tokens = a_day_of_work(&base).await;
    let log = stop(child);
    assert!(
        log.len() > 1_000,
        "the trace log was captured ({} bytes)",
        log.len()
    );
    assert!(
        String::from_utf8_lossy(&log).contains("route"),
        "request lines were logged"
    );
    // Issue 16: a log that is not a terminal holds no escape codes, and a JSON log is one
    // object a line (the secrets are searched in it all the same).
    assert!(!log.contains(&0x1b), "an escape code in the piped log");
    if log_format == Some("json") {
        for line in String::from_utf8_lossy(&log).lines() {
            let parsed: Result<serde_json::Value, _> = serde_json::from_str(line);
            assert!(
                parsed.is_ok_and(|v| v.is_object()),
                "not a JSON object: {line}"
            );
        }
    }
    let mut secrets = secrets(&tokens);
    // R-KM-1: the city keys the server generated at first start appear nowhere either.
    let keys = std::fs::read_to_string(cfg.data_dir.join("city-keys")).unwrap();
    let city_keys: Vec<String> = keys
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().nth(2))
        .flat_map(|k| [k.to_owned(), k.to_lowercase()])
        .collect();
    assert_eq!(
        city_keys.len(),
        6,
        "card, psam and ecard keys were generated"
    );
    secrets.extend(city_keys);
    find_in(&log, &secrets, "the server's log");
    match &cfg.database_url {
        None => {
            for name in ["shebao.sqlite", "shebao.sqlite-wal", "shebao.sqlite-shm"] {
                let path = cfg.data_dir.join(name);
                if let Ok(bytes) = std::fs::read(&path) {
                    find_in(&bytes, &secrets, name);
                }
            }
            let db = std::fs::read(cfg.data_dir.join("shebao.sqlite")).unwrap();
            assert!(db.len() > 10_000, "the database was read");
        }
        Some(url) => {
            let url = url.clone();
            let dump = std::thread::spawn(move || {
                let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
                let tables: Vec<String> = client
                    .query(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'",
                        &[],
                    )
                    .unwrap()
                    .iter()
                    .map(|r| r.get(0))
                    .collect();
                let mut text = String::new();
                for t in &tables {
                    for row in client
                        .query(&format!("SELECT t::text FROM {t} t"), &[])
                        .unwrap()
                    {
                        text.push_str(row.get::<_, &str>(0));
                        text.push('\n');
                    }
                }
                (tables.len(), text)
            })
            .join()
            .unwrap();
            assert!(
                dump.0 >= 10 && dump.1.contains("王五"),
                "every table was read"
            );
            find_in(dump.1.as_bytes(), &secrets, "the PostgreSQL tables");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_secret_is_logged_or_stored_sqlite() {
    nothing_secret_is_logged_or_stored(Engine::Sqlite, None).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_secret_is_logged_or_stored_postgres() {
    nothing_secret_is_logged_or_stored(Engine::Postgres, None).await
}

// The same with the JSON log (SHEBAO_LOG_FORMAT=json, issue 16).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_secret_is_logged_or_stored_in_json_sqlite() {
    nothing_secret_is_logged_or_stored(Engine::Sqlite, Some("json")).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_secret_is_logged_or_stored_in_json_postgres() {
    nothing_secret_is_logged_or_stored(Engine::Postgres, Some("json")).await
}

#[test]
fn a_password_standing_alone_counts_and_a_timestamps_digits_do_not() {
    let at = |hay: &str, needle: &str| hay.find(needle).unwrap();
    let check =
        |hay: &str, needle: &str| by_chance(hay.as_bytes(), at(hay, needle), needle.as_bytes());
    // Leaks: the password as a value, in a sentence, at either end of the text.
    assert!(!check(r#"{"pin":"357913"}"#, "357913"));
    assert!(!check("pin=357913 wrong", "357913"));
    assert!(!check("357913", "357913"));
    assert!(!check("a357913b", "357913"));
    // Chance: a log line's microseconds, and the inside of a longer number.
    assert!(check("2026-12-03T07:43:12.357913Z  INFO", "357913"));
    assert!(check("at=1796283192357913", "357913"));
    assert!(check("3579130", "357913"));
    // A fraction that is not a log timestamp's still counts.
    assert!(!check("amount 12.357913Z", "357913"));
    // Secrets that are not all digits are never excused.
    assert!(!check("12:43:12.Quiet-Lantern-9412Z", "Quiet-Lantern-9412"));
}
