//! Browser tests (issue 5 and after): the real server in-process, test data through the JSON API, then
//! a Node script drives the system's headless Chromium through the console and the portal
//! (`tests/browser/*.mjs`, playwright-core with `executablePath`, never a browser download).
//! One engine is enough here: the pages call the same service as the API, whose storage is
//! tested on both engines elsewhere (and the console's own reads in `console.rs`).
//!
//! Missing Chromium or `npm ci` is a failure that says how to install them, never a skip.
//! `SHEBAO_SCREENSHOTS=docs/screenshots` makes the scripts write PNGs of the main screens.

use crate::helpers::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
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
    for package in ["playwright-core", "jsqr"] {
        if !dir
            .join(format!("node_modules/{package}/package.json"))
            .exists()
        {
            missing.push(format!("{package} (run `npm ci` in {})", dir.display()));
        }
    }
    assert!(
        missing.is_empty(),
        "the browser tests need: {}. `.ci/run` installs all of them.",
        missing.join("; ")
    );
    dir
}

/// Runs `node <script> <args…>` in tests/browser and fails the test unless it exits 0;
/// answers what the script printed (some print what the page showed, for the checks here).
async fn run_script(script: &str, args: Vec<String>) -> String {
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
        // `run` in lib.mjs prints `ok` last only when every expectation held and the pages
        // showed no problem: an exit code of 0 alone would also pass a script that stopped
        // early or never ran its body.
        Some(s) if s.success() && stdout.lines().last() == Some("ok") => stdout,
        Some(s) if s.success() => {
            panic!("browser script exited 0 without its closing `ok`:\n{stdout}\n{stderr}")
        }
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
    assert_eq!(v["ss_account"]["lock_reason"], "password", "{v}");
}

/// A query-password login through the JSON API (R-PW-8).
async fn self_login(app: &TestApp, id: &str, password: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/self/login",
        None,
        Some(json!({"id_number": id, "query_password": password})),
    )
    .await
}

/// The audit records of `id`'s person (filings carry no card).
async fn audit_for_person(app: &TestApp, id: &str) -> Vec<Value> {
    let (s, v) = app.get(&format!("/audit?id_number={id}"), ADMIN).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["records"].as_array().expect("records").clone()
}

// (1) R-LK-2, R-LK-4, R-LK-5, R-PW-7: a clerk unlocks a locked card with evidence. Catches a
// page that shows the account unlocked while the service still has it locked, a reset
// recorded without the evidence the clerk ticked (R-PW-9), a refused try that changed
// something, or a reset that keeps the chosen password enabled (R-PW-7).
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
    assert_eq!(v["ss_account"]["lock_reason"], Value::Null, "{v}");
    assert_eq!(v["ss_account"]["password_enabled"], false, "R-PW-7: {v}");
    assert_eq!(
        v["ss_account"]["remaining_tries"], 3,
        "the count starts over: {v}"
    );
    // The refused try recorded nothing: exactly one reset, the one with the ID checked.
    let audit = app.audit_for_card(&card).await;
    let resets: Vec<_> = audit
        .iter()
        .filter(|r| r["action"] == "ss_password.reset")
        .collect();
    assert_eq!(resets.len(), 1, "{audit:?}");
    assert_eq!(resets[0]["outcome"], "ok", "{audit:?}");
    assert_eq!(resets[0]["channel"], "service_window", "{audit:?}");
    assert_eq!(resets[0]["actor_role"], "clerk", "{audit:?}");
    assert_eq!(
        resets[0]["evidence"]["holder_id_checked"], true,
        "{audit:?}"
    );
    // With the initial password not enabled, a pharmacy's check asks for nothing (D-2).
    let pharmacy = app.actor("pharmacy").await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "642097"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["password_enabled"], false, "{v}");
    app.stop().await;
}

// (2) R-PW-8, R-CR-2, R-LS-2: first login forces the change; the ledger; a temporary loss.
// Catches a change the page confirms but the service did not make (the initial password
// still logs in, or the new one does not, or the change is still demanded), and a loss the
// page shows but the card does not carry, or carries as another kind or channel.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holder_changes_the_first_password_sees_the_ledger_and_reports_a_loss() {
    check_prerequisites();
    let app = TestApp::spawn(Engine::Sqlite).await;
    let clerk = app.actor("clerk").await;
    let id = "11010519491231002X";
    let (initial, fresh) = ("12310020", "mein2026neu");
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
    assert_eq!(app.card(&clerk, &card).await["balance_fen"], 12345);

    run_script(
        "holder.mjs",
        vec![
            origin(&app),
            id.into(),
            initial.into(),
            fresh.into(),
            card.clone(),
            "123.45".into(),
        ],
    )
    .await;

    // R-PW-8: the initial query password is gone; the new one logs in with nothing to change.
    let (s, v) = self_login(&app, id, initial).await;
    assert_eq!(
        s,
        StatusCode::UNAUTHORIZED,
        "the initial password still logs in: {v}"
    );
    let (s, v) = self_login(&app, id, fresh).await;
    assert_eq!(s, StatusCode::OK, "the new password does not log in: {v}");
    assert_eq!(v["must_change_password"], false, "{v}");
    let audit = app.audit_for_card(&card).await;
    let person = audit_for_person(&app, id).await;
    assert!(
        person
            .iter()
            .any(|r| r["action"] == "self.query_password.change" && r["outcome"] == "ok"),
        "{person:?}"
    );

    // R-LS-2: the temporary loss reported online is on the card and stops its ss functions.
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["status"], "lost", "{v}");
    assert_eq!(v["loss"]["kind"], "temporary", "{v}");
    assert_eq!(v["loss"]["channel"], "online", "{v}");
    assert_eq!(v["ss_account"]["locked"], true, "{v}");
    assert_eq!(v["ss_account"]["lock_reason"], "loss", "{v}");
    assert_eq!(v["balance_fen"], 12345, "a loss keeps the balance: {v}");
    let reports: Vec<_> = audit
        .iter()
        .filter(|r| r["action"] == "card.loss.report")
        .collect();
    assert_eq!(reports.len(), 1, "{audit:?}");
    assert_eq!(reports[0]["channel"], "online", "{audit:?}");
    assert_eq!(reports[0]["actor_role"], "cardholder", "{audit:?}");
    app.stop().await;
}

// (3) R-LK-1, R-LS-1, R-LS-5: the dashboard renders its counts and its chart. The script
// checks that the page names exactly the cards set up here; this test then checks that they
// are in the state the dashboard reported and that reading it changed none of them.
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
    let pre_lost = app.card_for(&clerk, "110105198001010016", json!({})).await;
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
    let new_card = v["new_card_no"].as_str().expect("new_card_no").to_owned();
    let ready_on = v["ready_on"].as_str().expect("ready_on").to_owned();
    // Eight days on, the pre-loss lapses within three days (R-LS-1: 10 days).
    app.advance("PT192H").await;
    let cards = [&locked, &pre_lost, &damaged, &new_card];
    let mut before = Vec::new();
    for c in cards {
        before.push((app.card(&clerk, c).await, app.audit_for_card(c).await));
    }

    run_script(
        "dashboard.mjs",
        vec![
            origin(&app),
            clerk.clone(),
            "1".into(),
            // START, 09:00 in Shanghai: the day of the lock and of the pre-loss.
            "2026-03-02".into(),
            pre_lost.clone(),
            new_card.clone(),
            ready_on.clone(),
        ],
    )
    .await;

    // What the page counted is what the API says.
    let v = app.card(&clerk, &locked).await;
    assert_eq!(v["ss_account"]["lock_reason"], "password", "{v}");
    let v = app.card(&clerk, &pre_lost).await;
    assert_eq!(v["loss"]["kind"], "pre", "{v}");
    assert_eq!(v["loss"]["channel"], "hotline", "{v}");
    let v = app.card(&clerk, &new_card).await;
    assert_eq!(v["replacement"]["replaces"], damaged.as_str(), "{v}");
    assert_eq!(v["replacement"]["ready_on"], ready_on.as_str(), "{v}");
    assert_eq!(v["replacement"]["collected_at"], Value::Null, "{v}");
    // A dashboard only reads.
    for (c, (card, audit)) in cards.into_iter().zip(before) {
        assert_eq!(app.card(&clerk, c).await, card, "{c} changed");
        assert_eq!(app.audit_for_card(c).await, audit, "{c}'s audit changed");
    }
    app.stop().await;
}

// (4) R-EM-2, R-EM-3, R-EM-5, D-9: a clerk sees an employer's unit lock and lifts it with the
// tax receipts typed into the form; the JSON API then shows the lock gone and the amounts in
// fen. Catches yuan recorded as fen or through floats, a month left out of the receipts (each
// of the three must be there, not only those that happen to be), the malformed first try
// recording something, receipts stored without the numbers typed (D-15), and a lock lifted on
// the employer but still on the employees' cards.
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
    let mut cards = Vec::new();
    for (id, kind, base) in [
        (id_number("19900601", 11), "employee", Some(600_000)),
        (id_number("19700101", 12), "employee", Some(500_000)),
        (id_number("19500101", 13), "retiree", None),
    ] {
        let card = app
            .card_for(
                &clerk,
                &id,
                json!({"kind": kind, "employer_id": employer, "contribution_base_fen": base}),
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
        cards.push(card);
    }
    // Nothing paid for March to May: locked since April 1.
    app.set_clock("2026-06-02T02:00:00Z").await;
    let (_, v) = app.get(&format!("/employers/{employer}"), &clerk).await;
    assert_eq!(v["unit_locked_since"], "2026-04-01", "{v}");
    for card in &cards {
        let v = app.card(&clerk, card).await;
        assert_eq!(v["ss_account"]["lock_reason"], "employer_arrears", "{v}");
    }

    run_script(
        "employer-receipts.mjs",
        vec![
            origin(&app),
            clerk.clone(),
            employer.clone(),
            "880".into(),
            "880.00".into(),
        ],
    )
    .await;

    let (s, v) = app.get(&format!("/employers/{employer}"), &clerk).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["unit_locked"], false, "{v}");
    assert_eq!(v["unit_locked_since"], Value::Null, "{v}");
    assert_eq!(v["locking_months"], json!([]), "{v}");
    assert_eq!(v["arrears_months"], json!([]), "{v}");
    let months = v["months"].as_array().expect("months");
    for month in ["2026-03", "2026-04", "2026-05"] {
        let found: Vec<_> = months.iter().filter(|m| m["month"] == month).collect();
        assert_eq!(found.len(), 1, "{month} is listed once: {v}");
        let m = found[0];
        assert_eq!(m["assessed_fen"], 88_000, "{m}");
        assert_eq!(
            m["paid_fen"], 88_000,
            "880 yuan typed, 88 000 fen recorded: {m}"
        );
        assert!(
            m["cleared_at"].is_string(),
            "{month}'s lock is cleared: {m}"
        );
        // The receipt is on record under the number typed: the same number with another
        // amount is a conflict (D-15), and being refused it changes nothing.
        let (s, e) = app
            .post(
                &format!("/employers/{employer}/tax-receipts"),
                &clerk,
                json!({"receipts": [{"month": month, "amount_fen": 1, "paid_on": "2026-05-20", "receipt_no": format!("SB-{month}")}]}),
            )
            .await;
        assert_eq!(
            (s, e["error"]["code"].as_str()),
            (StatusCode::CONFLICT, Some("receipt_conflict")),
            "{e}"
        );
    }
    // The unit lock is derived from the months: no card carries it any more.
    for card in &cards {
        let v = app.card(&clerk, card).await;
        assert_eq!(v["ss_account"]["locked"], false, "{v}");
        assert_eq!(v["ss_account"]["lock_reason"], Value::Null, "{v}");
    }
    let (_, after) = app.get(&format!("/employers/{employer}"), &clerk).await;
    assert_eq!(after, v, "the refused receipts changed nothing");
    app.stop().await;
}

// (5) R-MS-3: a holder files an out-of-area emergency admission in the portal; the far
// hospital's inpatient visit then settles by card. Catches a filing the page accepts but the
// service does not keep, kept with another kind, region or admission day, or not as the
// holder's own (R-PW-9); the visit is refused before the run, so its success after proves it is
// this filing that covers it.
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
    let visit = |txn: &str| json!({"client_txn_id": txn, "card_no": card, "kind": "inpatient", "cost_fen": 50_000, "admitted_on": "2026-04-03"});
    let (s, v) = app.post("/visits", &far_hospital, visit("f-0")).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("filing_required")),
        "no filing yet: {v}"
    );

    run_script(
        "holder-filing.mjs",
        vec![
            origin(&app),
            id.into(),
            "holder2026pass".into(),
            "310000".into(),
            "2026-04-03".into(),
            "2026-04-09".into(),
            "2026-04-09".into(),
        ],
    )
    .await;

    // The filing is on record as typed: filed again, the service answers the one it has.
    let (s, v) = app
        .post(
            "/filings",
            &clerk,
            json!({"id_number": id, "kind": "emergency", "region": "310000", "admitted_on": "2026-04-03"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the browser's filing is on record: {v}");
    assert_eq!(v["filed_on"], "2026-04-09", "{v}");
    assert_eq!(v["deadline"], "2026-04-09", "{v}");
    let filings: Vec<_> = audit_for_person(&app, id)
        .await
        .into_iter()
        .filter(|r| r["action"] == "filing")
        .collect();
    assert_eq!(filings.len(), 1, "{filings:?}");
    assert_eq!(filings[0]["actor_role"], "cardholder", "{filings:?}");
    assert_eq!(filings[0]["channel"], "self_service", "{filings:?}");

    let (s, v) = app.post("/visits", &far_hospital, visit("f-1")).await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "the filing made in the browser counts: {v}"
    );
    app.stop().await;
}

/// The JSON a script printed on its line starting with `label `.
fn printed(stdout: &str, label: &str) -> Value {
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{label} ")))
        .unwrap_or_else(|| panic!("the script printed no `{label}` line:\n{stdout}"));
    serde_json::from_str(line).expect("the printed line is JSON")
}

// (6) R-CR-2, R-PW-9: the holder reads the contribution record and their own trail in the
// portal, and the clerk the same record on the card page. The script compares the record with
// the API's (given to it, as the page should show it); this test then checks that the trail the page showed is the API's, newest first, with
// the browser's own login as its newest record, and that reading changed nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holder_reads_the_contribution_record_and_the_trail() {
    check_prerequisites();
    let app = TestApp::spawn(Engine::Sqlite).await;
    let clerk = app.actor("clerk").await;
    let (_, id, card) = crate::console::holder_with_contributions(&app, &clerk).await;
    let (s, record) = app
        .get(&format!("/persons/{id}/contributions"), &clerk)
        .await;
    assert_eq!(s, StatusCode::OK, "{record}");
    let rows = crate::console::expected_contribution_rows(&record);
    assert!(
        rows.iter().any(|r| r[7] == "尚未划入") && rows.iter().any(|r| r[7] != "尚未划入"),
        "months credited and not yet: {record}"
    );
    let token = app.holder_session(&id).await;
    let (_, trail_before) = app.get("/self/audit", &token).await;
    let n_before = trail_before["records"].as_array().unwrap().len();

    let out = run_script(
        "holder-records.mjs",
        vec![
            origin(&app),
            id.clone(),
            "holder2026pass".into(),
            card.clone(),
            serde_json::to_string(&rows).unwrap(),
            clerk.clone(),
        ],
    )
    .await;

    // The holder's own record through the API is what the page showed, unchanged.
    let (s, own) = app
        .get(&format!("/persons/{id}/contributions"), &token)
        .await;
    assert_eq!((s, &own), (StatusCode::OK, &record));
    // The trail: the API's records, newest first; one more than before, the browser's login.
    let (s, v) = app.get("/self/audit", &token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let records = v["records"].as_array().unwrap();
    assert_eq!(records.len(), n_before + 1, "only the login was added: {v}");
    let newest = records.last().unwrap();
    assert_eq!(newest["action"], "self.login", "{newest}");
    assert_eq!(newest["outcome"], "ok", "{newest}");
    assert_eq!(newest["actor_role"], "cardholder", "{newest}");
    assert_eq!(newest["channel"], "self_service", "{newest}");
    let api_codes: Vec<Value> = records.iter().rev().map(|r| r["action"].clone()).collect();
    assert_eq!(printed(&out, "trail-actions"), Value::Array(api_codes));
    let how = |action: &str| -> Vec<Value> {
        records
            .iter()
            .filter(|r| r["action"] == action)
            .map(|r| r["authorised_by"].clone())
            .collect()
    };
    assert_eq!(how("purchase"), [json!("password")]);
    assert_eq!(how("visit"), [json!("card")]);
    app.stop().await;
}

// (7) R-ID-3: a clerk applies for an employer's people's cards in bulk on the employer screen.
// This test then checks through the API that each card the page showed is the person's one
// card, issued and not activated; that nobody skipped got one; that the second application
// issued nothing (one audit record, of the first).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_applies_for_cards_in_bulk() {
    check_prerequisites();
    let app = TestApp::spawn(Engine::Sqlite).await;
    let clerk = app.actor("clerk").await;
    let mut employers = Vec::new();
    for name in ["西安仪表厂", "别家厂"] {
        let (s, v) = app.post("/employers", &clerk, json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        employers.push(v["id"].as_str().unwrap().to_owned());
    }
    let (employer, other) = (&employers[0], &employers[1]);
    let insured =
        json!({"kind": "employee", "employer_id": employer, "contribution_base_fen": 500_000});
    let new_ones = [
        id_number("19900601", 51),
        id_number("19850315", 52),
        id_number("19600101", 53),
    ];
    for id in &new_ones {
        app.person(&clerk, id, insured.clone()).await;
    }
    let with_card = id_number("19800101", 54);
    let old_card = app.card_for(&clerk, &with_card, insured.clone()).await;
    let elsewhere = id_number("19750505", 55);
    app.person(&clerk, &elsewhere, json!({"employer_id": other}))
        .await;
    let unknown = id_number("19700101", 56);
    let bad = format!(
        "{}{}",
        &unknown[..17],
        if unknown.ends_with('1') { '2' } else { '1' }
    );
    let lines = [
        new_ones[0].clone(),
        with_card.clone(),
        new_ones[1].clone(),
        elsewhere.clone(),
        unknown.clone(),
        bad.clone(),
        new_ones[2].clone(),
        new_ones[0].clone(),
    ];
    let skipped = json!([
        [with_card, "已有社保卡"],
        [elsewhere, "不在本单位参保"],
        [unknown, "尚未办理参保登记"],
        [bad, "身份证号格式或校验位有误"],
        [new_ones[0], "名单中重复填写"],
    ]);

    let out = run_script(
        "employer-cards.mjs",
        vec![
            origin(&app),
            clerk.clone(),
            employer.clone(),
            serde_json::to_string(&lines).unwrap(),
            serde_json::to_string(&new_ones).unwrap(),
            skipped.to_string(),
        ],
    )
    .await;

    let issued = printed(&out, "issued");
    let issued = issued.as_array().expect("pairs");
    assert_eq!(issued.len(), new_ones.len(), "{issued:?}");
    for (pair, id) in issued.iter().zip(&new_ones) {
        assert_eq!(pair[0], id.as_str(), "{pair}");
        let (s, person) = app.get(&format!("/persons/{id}"), &clerk).await;
        assert_eq!(s, StatusCode::OK, "{person}");
        assert_eq!(
            person["cards"],
            json!([{"card_no": pair[1], "status": "issued"}]),
            "the page's card is the person's only card: {person}"
        );
        let v = app.card(&clerk, pair[1].as_str().unwrap()).await;
        assert_eq!(v["id_number"], id.as_str(), "{v}");
        assert_eq!(v["ss_account"]["state"], "inactive", "{v}");
    }
    let cards_of = |v: &Value| v["cards"].as_array().unwrap().len();
    let (_, v) = app.get(&format!("/persons/{}", lines[1]), &clerk).await;
    assert_eq!(
        v["cards"],
        json!([{"card_no": old_card, "status": "issued"}]),
        "{v}"
    );
    let (_, v) = app.get(&format!("/persons/{}", lines[3]), &clerk).await;
    assert_eq!(cards_of(&v), 0, "not insured here: no card: {v}");
    let (s, _) = app.get(&format!("/persons/{}", lines[4]), &clerk).await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "the unregistered stays unregistered"
    );
    let (_, v) = app.get("/audit", ADMIN).await;
    let applications: Vec<&Value> = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "employer.card_applications")
        .collect();
    assert_eq!(
        applications.len(),
        1,
        "the repeats issued nothing: {applications:?}"
    );
    assert_eq!(applications[0]["actor_role"], "clerk");
    app.stop().await;
}

// (8) R-LS-5, R-LK-4 (xian): a clerk hands over a replacement card with the pickup certificate,
// refused first without it. This test then checks through the API that the card is collected,
// once, with the certificate and the employer's letter on record, and can now be activated.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clerk_collects_a_replacement_with_the_pickup_certificate() {
    check_prerequisites();
    let app = TestApp::spawn_with(Engine::Sqlite, "xian").await;
    let clerk = app.actor("clerk").await;
    let id = id_number("19900601", 61);
    let old = app.card_for(&clerk, &id, json!({})).await;
    let (s, v) = app
        .post(
            &format!("/cards/{old}/replacement"),
            &clerk,
            json!({"reason": "damaged", "evidence": {"holder_present": true, "holder_id_checked": true, "employer_letter": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let new = v["new_card_no"].as_str().unwrap().to_owned();
    let ready_on = v["ready_on"].as_str().unwrap().to_owned();
    app.set_clock(&format!("{ready_on}T02:00:00Z")).await;
    let v = app.card(&clerk, &new).await;
    assert_null(&v, "replacement.collected_at");

    run_script(
        "clerk-collect.mjs",
        vec![origin(&app), clerk.clone(), old.clone(), new.clone()],
    )
    .await;

    let v = app.card(&clerk, &new).await;
    assert!(v["replacement"]["collected_at"].is_string(), "{v}");
    let collections: Vec<Value> = app
        .audit_for_card(&new)
        .await
        .into_iter()
        .filter(|r| r["action"] == "card.collect")
        .collect();
    assert_eq!(
        collections.len(),
        1,
        "the refused try recorded nothing: {collections:?}"
    );
    let evidence = &collections[0]["evidence"];
    assert_eq!(
        (
            &evidence["holder_present"],
            &evidence["holder_id_checked"],
            &evidence["employer_letter"],
            &evidence["pickup_certificate"]
        ),
        (&json!(true), &json!(true), &json!(true), &json!(true)),
        "{evidence}"
    );
    assert_eq!(collections[0]["outcome"], "ok");
    let (s, v) = app
        .post(
            &format!("/cards/{new}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "collected, the card can be activated: {v}"
    );
    app.stop().await;
}

// (9) R-KM-2, D-16: the holder activates the electronic card in the portal on a phone and
// shows a payment code; the script decodes the QR image, which must be the code's text, pays
// with the decoded code at a pharmacy once (the second time 409 `code_used`), and the clerk
// deactivates the electronic card on the card page. This test then checks through the API that
// exactly the one payment was made, from the personal account, that the codes stay refused,
// and that the holder's activation and the clerk's deactivation are on record as theirs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holder_shows_an_electronic_card_code_that_pays_once() {
    check_prerequisites();
    let app = TestApp::spawn(Engine::Sqlite).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let id = "11010519491231002X";
    let card = app
        .card_for(
            &clerk,
            id,
            json!({"legacy_card": {"number": "YB0001", "balance_fen": 5_000}}),
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
    app.holder_session(id).await;
    assert_eq!(app.card(&clerk, &card).await["ecard"]["state"], "inactive");

    let out = run_script(
        "holder-ecard.mjs",
        vec![
            origin(&app),
            id.into(),
            "holder2026pass".into(),
            card.clone(),
            clerk.clone(),
            pharmacy.clone(),
            "1234".into(),
            // The simulated clock stands at 09:00:00 in Shanghai; a code is valid for 60 s.
            "09:01:00".into(),
            "60".into(),
        ],
    )
    .await;

    let codes = printed(&out, "ecard-codes");
    let [first, second] = [&codes[0], &codes[1]].map(|c| c.as_str().expect("a code").to_owned());
    let payment = printed(&out, "ecard-payment");
    assert_eq!(payment["paid_from_account_fen"], 1234, "{payment}");
    assert_eq!(payment["cash_due_fen"], 0, "{payment}");
    assert_eq!(payment["balance_fen"], 5_000 - 1234, "{payment}");
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["balance_fen"], 5_000 - 1234, "one payment only: {v}");
    assert_eq!(
        v["ecard"]["state"], "inactive",
        "the clerk's deactivation: {v}"
    );
    // The codes the page showed stay refused: the paid one as used, the other withdrawn.
    let pay = |txn: &str, code: &str| json!({"client_txn_id": txn, "ecard_code": code, "amount_fen": 100});
    let (s, v) = app
        .post("/purchases", &pharmacy, pay("after-1", &first))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("code_used")),
        "{v}"
    );
    let (s, v) = app
        .post("/purchases", &pharmacy, pay("after-2", &second))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_code")),
        "{v}"
    );
    let audit = app.audit_for_card(&card).await;
    let by = |action: &str| -> Vec<(Value, Value, Value)> {
        audit
            .iter()
            .filter(|r| r["action"] == action)
            .map(|r| {
                (
                    r["actor_role"].clone(),
                    r["channel"].clone(),
                    r["outcome"].clone(),
                )
            })
            .collect()
    };
    assert_eq!(
        by("ecard.activate"),
        [(json!("cardholder"), json!("self_service"), json!("ok"))],
        "{audit:?}"
    );
    assert_eq!(
        by("ecard.deactivate"),
        [(json!("clerk"), json!("service_window"), json!("ok"))],
        "{audit:?}"
    );
    let purchases: Vec<&Value> = audit
        .iter()
        .filter(|r| r["action"] == "purchase" && r["outcome"] == "ok")
        .collect();
    assert_eq!(purchases.len(), 1, "{audit:?}");
    assert_eq!(purchases[0]["authorised_by"], "ecard", "{audit:?}");
    app.stop().await;
}
