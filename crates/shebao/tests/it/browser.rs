//! Browser tests (issue 5): the real server in-process, test data through the JSON API, then
//! a Node script drives the system's headless Chromium through the console and the portal
//! (`tests/browser/*.mjs`, playwright-core with `executablePath`, never a browser download).
//! One engine is enough here: the pages call the same service as the API, whose storage is
//! tested on both engines elsewhere (and the console's own reads in `console.rs`).
//!
//! Missing Chromium or `npm ci` is a failure that says how to install them, never a skip.
//! `SHEBAO_SCREENSHOTS=docs/screenshots` makes the scripts write PNGs of the main screens.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A browser script that runs longer than this is killed and the test fails.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(100);

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn chromium() -> PathBuf {
    std::env::var_os("SHEBAO_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"))
}

/// Fails with instructions unless Chromium, Node and playwright-core are installed.
fn check_prerequisites() -> PathBuf {
    let dir = repo_root().join("tests/browser");
    let mut missing = Vec::new();
    if !chromium().exists() {
        missing.push(format!(
            "Chromium at {} (Debian: `apt-get install chromium fonts-wqy-microhei`, or set SHEBAO_CHROMIUM)",
            chromium().display()
        ));
    }
    let node_ok = Command::new("node")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !node_ok {
        missing.push("Node.js (Debian: `apt-get install nodejs npm`)".into());
    }
    if !dir
        .join("node_modules/playwright-core/package.json")
        .exists()
    {
        missing.push(format!(
            "playwright-core (run `npm ci` in {})",
            dir.display()
        ));
    }
    assert!(
        missing.is_empty(),
        "the browser tests need: {}. `.ci/run` installs all of them.",
        missing.join("; ")
    );
    dir
}

/// Runs `node <script> <args…>` in tests/browser and fails the test unless it exits 0.
async fn run_script(script: &str, args: Vec<String>) {
    let dir = check_prerequisites();
    let script = script.to_owned();
    let screenshots = std::env::var_os("SHEBAO_SCREENSHOTS").map(|d| {
        let d = PathBuf::from(d);
        if d.is_absolute() {
            d
        } else {
            repo_root().join(d)
        }
    });
    let (status, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let mut command = Command::new("node");
        command
            .arg(&script)
            .args(&args)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        match &screenshots {
            Some(d) => command.env("SHEBAO_SCREENSHOTS", d),
            None => command.env_remove("SHEBAO_SCREENSHOTS"),
        };
        let mut child = command.spawn().expect("node starts");
        let started = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("waiting for node") {
                break Some(status);
            }
            if started.elapsed() > SCRIPT_TIMEOUT {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        let mut stdout = String::new();
        let mut stderr = String::new();
        use std::io::Read;
        if let Some(mut o) = child.stdout.take() {
            let _ = o.read_to_string(&mut stdout);
        }
        if let Some(mut e) = child.stderr.take() {
            let _ = e.read_to_string(&mut stderr);
        }
        (status, stdout, stderr)
    })
    .await
    .expect("the script's thread");
    match status {
        Some(s) if s.success() => {}
        Some(s) => panic!("browser script failed ({s}):\n{stdout}\n{stderr}"),
        None => panic!("browser script timed out after {SCRIPT_TIMEOUT:?}:\n{stdout}\n{stderr}"),
    }
}

fn origin(app: &TestApp) -> String {
    app.base.trim_end_matches("/api/v1").to_owned()
}

/// Locks the social-security account with the policy's wrong tries at a pharmacy (R-LK-1).
async fn lock_card(app: &TestApp, clerk: &str, card: &str) {
    let pharmacy = app.actor("pharmacy").await;
    for _ in 0..3 {
        app.post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "111112"}),
        )
        .await;
    }
    let v = app.card(clerk, card).await;
    assert_eq!(v["ss_account"]["locked"], true, "{v}");
}

// (1) R-LK-2, R-LK-4, R-LK-5, R-PW-7: a clerk unlocks a locked card with evidence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_unlocks_a_locked_card_with_evidence() {
    check_prerequisites();
    let app = TestApp::spawn(Engine::Sqlite).await;
    let clerk = app.actor("clerk").await;
    let id = "11010519491231002X";
    let card = app.card_with_ss_password(&clerk, id, "642097").await;
    lock_card(&app, &clerk, &card).await;

    run_script(
        "clerk-unlock.mjs",
        vec![origin(&app), clerk.clone(), card.clone(), id.into()],
    )
    .await;

    // What the browser did is what the service recorded.
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["ss_account"]["locked"], false, "{v}");
    assert_eq!(v["ss_account"]["password_enabled"], false, "R-PW-7: {v}");
    let audit = app.audit_for_card(&card).await;
    let resets: Vec<_> = audit
        .iter()
        .filter(|r| r["action"] == "ss_password.reset" && r["outcome"] == "ok")
        .collect();
    assert_eq!(resets.len(), 1, "{audit:?}");
    assert_eq!(resets[0]["evidence"]["holder_id_checked"], true);
    app.stop().await;
}

// (2) R-PW-8, R-CR-2, R-LS-2: first login forces the change; the ledger; a temporary loss.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holder_changes_the_first_password_sees_the_ledger_and_reports_a_loss() {
    check_prerequisites();
    let app = TestApp::spawn(Engine::Sqlite).await;
    let clerk = app.actor("clerk").await;
    let id = "11010519491231002X";
    let card = app
        .card_for(
            &clerk,
            id,
            json!({"legacy_card": {"number": "YB0001", "balance_fen": 12345}}),
        )
        .await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    run_script(
        "holder.mjs",
        vec![
            origin(&app),
            id.into(),
            "12310020".into(),
            "mein2026neu".into(),
            "123.45".into(),
        ],
    )
    .await;

    let v = app.card(&clerk, &card).await;
    assert_eq!(v["ss_account"]["lock_reason"], "loss", "{v}");
    let audit = app.audit_for_card(&card).await;
    assert!(
        audit
            .iter()
            .any(|r| r["action"] == "card.loss.report" && r["channel"] == "online"),
        "{audit:?}"
    );
    app.stop().await;
}

// (3) The dashboard renders its counts and its chart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_renders_its_chart() {
    check_prerequisites();
    let app = TestApp::spawn(Engine::Sqlite).await;
    let clerk = app.actor("clerk").await;
    let hotline = app.actor("hotline").await;
    let locked = app
        .card_with_ss_password(&clerk, "11010519491231002X", "642097")
        .await;
    lock_card(&app, &clerk, &locked).await;
    app.card_for(&clerk, "110105198001010016", json!({})).await;
    let (s, v) = app
        .post(
            "/hotline/pre-loss",
            &hotline,
            json!({"id_number": "110105198001010016"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let damaged = app.card_for(&clerk, "440524198001010013", json!({})).await;
    let (s, v) = app
        .post(
            &format!("/cards/{damaged}/replacement"),
            &clerk,
            json!({"reason": "damaged", "evidence": {"holder_present": true, "holder_id_checked": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // Eight days on, the pre-loss lapses within three days (R-LS-1: 10 days).
    app.advance("PT192H").await;

    run_script(
        "dashboard.mjs",
        vec![origin(&app), clerk.clone(), "1".into(), "2".into()],
    )
    .await;
    app.stop().await;
}

// (4) R-EM-2, R-EM-3, R-EM-5, D-9: a clerk sees an employer's unit lock and lifts it with the
// tax receipts typed into the form; the JSON API then shows the lock gone and the amounts in fen.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_lifts_a_unit_lock_with_tax_receipts() {
    check_prerequisites();
    let app = TestApp::spawn(Engine::Sqlite).await;
    let clerk = app.actor("clerk").await;
    let (s, v) = app
        .post(
            "/employers",
            &clerk,
            json!({"name": "兰州机床厂", "prev_year_avg_wage_fen": 712_345}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let employer = v["id"].as_str().unwrap().to_owned();
    // Two employees (bases 6 000 and 5 000 yuan: 480 + 400 yuan a month) and a retiree.
    for (id, kind, base) in [
        (id_number("19900601", 11), "employee", Some(600_000)),
        (id_number("19700101", 12), "employee", Some(500_000)),
        (id_number("19500101", 13), "retiree", None),
    ] {
        app.card_for(
            &clerk,
            &id,
            json!({"kind": kind, "employer_id": employer, "contribution_base_fen": base}),
        )
        .await;
    }
    // Nothing paid for March to May: locked since April 1.
    app.set_clock("2026-06-02T02:00:00Z").await;
    let (_, v) = app.get(&format!("/employers/{employer}"), &clerk).await;
    assert_eq!(v["unit_locked_since"], "2026-04-01", "{v}");

    run_script(
        "employer-receipts.mjs",
        vec![origin(&app), clerk.clone(), employer.clone(), "880".into()],
    )
    .await;

    let (s, v) = app.get(&format!("/employers/{employer}"), &clerk).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["unit_locked"], false, "{v}");
    assert_eq!(v["arrears_months"], json!([]), "{v}");
    for m in v["months"].as_array().unwrap() {
        if ["2026-03", "2026-04", "2026-05"].contains(&m["month"].as_str().unwrap()) {
            assert_eq!(
                m["paid_fen"], 88_000,
                "880 yuan typed, 88 000 fen recorded: {m}"
            );
        }
    }
    app.stop().await;
}

// (5) R-MS-3: a holder files an out-of-area emergency admission in the portal; the far
// hospital's inpatient visit then settles by card.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holder_files_an_emergency_admission() {
    check_prerequisites();
    let app = TestApp::spawn(Engine::Sqlite).await;
    let clerk = app.actor("clerk").await;
    let far_hospital = app.actor_in("hospital", Some("310000")).await;
    let id = "11010519491231002X";
    let card = app
        .card_for(
            &clerk,
            id,
            json!({"legacy_card": {"number": "YB0001", "balance_fen": 12345}}),
        )
        .await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Thursday 2026-04-09; admitted Friday Apr 3 before Qingming: due by Apr 9.
    app.set_clock("2026-04-09T02:00:00Z").await;
    app.holder_session(id).await;

    run_script(
        "holder-filing.mjs",
        vec![
            origin(&app),
            id.into(),
            "holder2026pass".into(),
            "310000".into(),
            "2026-04-03".into(),
            "2026-04-09".into(),
        ],
    )
    .await;

    let (s, v) = app
        .post(
            "/visits",
            &far_hospital,
            json!({"client_txn_id": "f-1", "card_no": card, "kind": "inpatient", "cost_fen": 50_000, "admitted_on": "2026-04-03"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "the filing made in the browser counts: {v}"
    );
    app.stop().await;
}
