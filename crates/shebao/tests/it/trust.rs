//! The dishonest actor (issue: trust): each hole found by trying the live server as an
//! attacker would is a scenario here, on both engines. Each fails on the code before the fix.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_engines!(
    an_employer_cannot_mint_money,
    activation_needs_its_proof,
    sms_platform_activates_only_a_matching_message,
    crediting_stops_at_the_ceiling_and_goes_on,
    receipt_numbers_are_per_employer,
    terminals_see_only_the_card,
    card_numbers_do_not_follow_each_other,
    every_error_has_the_contract_shape,
    names_read_as_they_are,
    lists_come_in_pages,
    the_same_filing_twice_is_one_filing,
    racing_repeats_of_one_txn_id_get_the_first_answer,
);

/// The national policy with other D-14 ceilings, written to a file the server loads.
pub fn policy_with_limits(legacy_max: i64, balance_max: i64) -> String {
    let text = include_str!("../../../../policies/national.toml")
        .replace(
            "legacy_balance_fen_max = 5000000 ",
            &format!("legacy_balance_fen_max = {legacy_max} "),
        )
        .replace(
            "balance_fen_max = 50000000 ",
            &format!("balance_fen_max = {balance_max} "),
        );
    assert!(text.contains(&format!("balance_fen_max = {balance_max} ")));
    let path = std::env::temp_dir().join(format!(
        "shebao-policy-{legacy_max}-{balance_max}-{}.toml",
        std::process::id()
    ));
    std::fs::write(&path, text).unwrap();
    path.to_string_lossy().into_owned()
}

// D-14: an employer sends no legacy balance at all; a clerk's is bounded; bases and wages are
// bounded; nothing of a refused registration is kept. Before: an employer registered a legacy
// balance of i64::MAX and a pharmacy moved it onto the card.
async fn an_employer_cannot_mint_money(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let (s, v) = app
        .post("/employers", &clerk, json!({"name": "Shell Co"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let employer_id = v["id"].as_str().unwrap().to_owned();
    let (s, v) = app
        .post(
            "/admin/actors",
            ADMIN,
            json!({"role": "employer", "name": "Shell Co HR", "employer_id": employer_id}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let employer = v["token"].as_str().unwrap().to_owned();
    let id = nth_id(1);
    let (s, v) = app
        .post(
            "/persons",
            &employer,
            json!({"id_number": id, "name": "张三", "kind": "employee",
                   "legacy_card": {"number": "YB1", "balance_fen": i64::MAX}}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "{v}"
    );
    assert_eq!(
        app.get(&format!("/persons/{id}"), &clerk).await.0,
        StatusCode::NOT_FOUND
    );

    for (legacy, base, why) in [
        (
            json!({"number": "YB1", "balance_fen": i64::MAX}),
            json!(null),
            "legacy i64::MAX",
        ),
        (
            json!({"number": "YB1", "balance_fen": 5_000_001}),
            json!(null),
            "legacy above the ceiling",
        ),
        (
            json!({"number": "YB1", "balance_fen": -1}),
            json!(null),
            "negative legacy",
        ),
        (json!(null), json!(i64::MAX), "base i64::MAX"),
        (json!(null), json!(5_000_001), "base above the ceiling"),
        (json!(null), json!(0), "a zero base"),
    ] {
        let (s, v) = app
            .post(
                "/persons",
                &clerk,
                json!({"id_number": id, "name": "张三", "kind": "employee",
                       "legacy_card": legacy, "contribution_base_fen": base}),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_amount")),
            "{why}: {v}"
        );
    }
    assert_eq!(
        app.get(&format!("/persons/{id}"), &clerk).await.0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = app
        .post(
            "/employers",
            &clerk,
            json!({"name": "Big", "prev_year_avg_wage_fen": i64::MAX}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_amount")),
        "{v}"
    );
    // R-PW-2: a carried-over password is refused as a new one would be.
    let (s, v) = app
        .post(
            "/persons",
            &clerk,
            json!({"id_number": id, "name": "张三", "kind": "employee",
                   "legacy_card": {"number": "YB1", "balance_fen": 100, "password": "000000"}}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("weak_password")),
        "{v}"
    );
    // At the ceiling exactly is fine, from a clerk.
    let card = app
        .card_for(
            &clerk,
            &id,
            json!({"legacy_card": {"number": "YB1", "balance_fen": 5_000_000}, "contribution_base_fen": 5_000_000}),
        )
        .await;
    assert_eq!(app.card(&clerk, &card).await["balance_fen"], 0);
}

// R-ACT-3: the pharmacy's old-card channel needs the old card's number, the SMS channel the
// registered phone and K<serial>. Before: a pharmacy activated with no old card at all.
async fn activation_needs_its_proof(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app
        .card_for(
            &clerk,
            &nth_id(1),
            json!({"phone": "13912345678", "legacy_card": {"number": "YB77", "balance_fen": 8800}}),
        )
        .await;
    let path = format!("/cards/{card}/activation");
    for body in [
        json!({"channel": "pharmacy_old_card"}),
        json!({"channel": "pharmacy_old_card", "old_card_number": "YB78"}),
        json!({"channel": "pharmacy_old_card", "old_card_number": ""}),
    ] {
        let (s, v) = app.post(&path, &pharmacy, body.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("old_card_mismatch")),
            "{body}: {v}"
        );
    }
    let serial = app.card(&clerk, &card).await["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    for body in [
        json!({"channel": "sms"}),
        json!({"channel": "sms", "sms_from": "13912345678"}),
        json!({"channel": "sms", "sms_text": format!("K{serial}")}),
        json!({"channel": "sms", "sms_from": "13912345678", "sms_text": "K0000"}),
    ] {
        let (s, v) = app.post(&path, &clerk, body.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("sms_mismatch")),
            "{body}: {v}"
        );
    }
    // Nothing changed: not active, no balance moved.
    let view = app.card(&clerk, &card).await;
    assert_eq!(view["ss_account"]["state"], "inactive");
    assert_eq!(view["balance_fen"], 0);
    let (s, v) = app
        .post(
            &path,
            &pharmacy,
            json!({"channel": "pharmacy_old_card", "old_card_number": " YB77 "}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["balance_fen"], 8800);
}

// R-ACT-3: the SMS platform's `POST /sms/inbound`: K<serial> from the registered phone
// activates; anything else is sms_mismatch and changes nothing; only the sms role may post.
async fn sms_platform_activates_only_a_matching_message(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let sms = app.actor("sms").await;
    let card = app
        .card_for(&clerk, &nth_id(1), json!({"phone": "13912345678"}))
        .await;
    let other = app
        .card_for(&clerk, &nth_id(2), json!({"phone": "13800000000"}))
        .await;
    let serial = app.card(&clerk, &card).await["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = app
        .post(
            "/sms/inbound",
            &clerk,
            json!({"from": "13912345678", "text": format!("K{serial}")}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::FORBIDDEN, Some("forbidden")),
        "{v}"
    );
    for (from, text) in [
        ("13800000000", format!("K{serial}")), // another holder's phone
        ("13912345678", format!("K{}", &serial[..31])),
        ("13912345678", format!("X{serial}")),
        ("13912345678", "K".to_owned() + &"0".repeat(32)), // no such card
        ("13912345678", String::new()),
    ] {
        let (s, v) = app
            .post("/sms/inbound", &sms, json!({"from": from, "text": text}))
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("sms_mismatch")),
            "{from} {text}: {v}"
        );
    }
    for c in [&card, &other] {
        assert_eq!(app.card(&clerk, c).await["ss_account"]["state"], "inactive");
    }
    let (s, v) = app
        .post(
            "/sms/inbound",
            &sms,
            json!({"from": "13912345678", "text": format!("  k{}  ", serial.to_lowercase())}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ss_account"]["state"], "active");
    for personal in ["name", "id_number", "bank_card_no", "serial", "balance_fen"] {
        assert!(
            v.get(personal).is_none(),
            "the SMS platform is told no {personal}: {v}"
        );
    }
    let audit = app.audit_for_card(&card).await;
    assert!(
        audit.iter().any(|r| r["action"] == "card.activate"
            && r["channel"] == "sms"
            && r["actor_role"] == "sms"),
        "{audit:?}"
    );
}

/// An employer with `people` employees born 1980 (45 and over in 2026: 3.5 % of the base to
/// the account), each with a card activated at the window; months March to May paid on time.
/// Returns the employer id and the cards. The clock ends on 2026-05-15, when March's data has
/// arrived (45 working days after 2026-03-10).
async fn paid_employer(
    app: &TestApp,
    clerk: &str,
    people: &[(u32, Value)],
) -> (String, Vec<String>) {
    let (s, v) = app
        .post("/employers", clerk, json!({"name": "Ceiling Works"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let employer = v["id"].as_str().unwrap().to_owned();
    let mut cards = Vec::new();
    for (n, extra) in people {
        let mut body = json!({"employer_id": employer, "contribution_base_fen": 100_000});
        for (k, v) in extra.as_object().unwrap() {
            body[k] = v.clone();
        }
        let card = app.card_for(clerk, &nth_id(*n), body).await;
        let (s, v) = app
            .post(
                &format!("/cards/{card}/activation"),
                clerk,
                json!({"channel": "service_center"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        cards.push(card);
    }
    let owed = 8_000 * people.len() as i64;
    app.set_clock("2026-03-10T08:00:00Z").await;
    let (s, v) = app
        .post(
            &format!("/employers/{employer}/payments"),
            clerk,
            json!({"month": "2026-03", "amount_fen": owed, "paid_on": "2026-03-10"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.set_clock("2026-05-14T02:00:00Z").await;
    for m in ["2026-04", "2026-05"] {
        let (s, v) = app
            .post(
                &format!("/employers/{employer}/payments"),
                clerk,
                json!({"month": m, "amount_fen": owed, "paid_on": format!("{m}-10")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    app.set_clock("2026-05-15T02:00:00Z").await;
    (employer, cards)
}

async fn run_crediting(app: &TestApp) -> Value {
    let (s, v) = app
        .post("/admin/jobs/crediting/run", ADMIN, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// The card's balance equals the sum of its holder's ledger (D-14, R-CR-2).
async fn balance_matches_ledger(app: &TestApp, clerk: &str, card: &str) -> i64 {
    let balance = app.card(clerk, card).await["balance_fen"].as_i64().unwrap();
    let (s, l) = app
        .get(&format!("/cards/{card}/ledger?limit=1000"), clerk)
        .await;
    assert_eq!(s, StatusCode::OK, "{l}");
    let sum: i64 = l["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["amount_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(balance, sum, "{card}: balance and ledger agree");
    balance
}

// D-14: a credit that would take a balance past the ceiling is not made for that account;
// the others in the batch are credited, the summary names the card, and the card stays
// readable. When the balance has room again the next run credits it. Before: the sum was
// added in SQL unchecked (SQLite turned an overflow into a float; every read of the card
// answered 500).
async fn crediting_stops_at_the_ceiling_and_goes_on(engine: Engine) {
    let app = TestApp::spawn_with(engine, &policy_with_limits(10_000, 10_000)).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let (_, cards) = paid_employer(
        &app,
        &clerk,
        &[
            (
                1,
                json!({"legacy_card": {"number": "YB1", "balance_fen": 9_000}}),
            ),
            (2, json!({})),
            (
                3,
                json!({"legacy_card": {"number": "YB3", "balance_fen": 6_500}}),
            ),
        ],
    )
    .await;
    let (full, empty, exact) = (&cards[0], &cards[1], &cards[2]);
    let run = run_crediting(&app).await;
    let summary = run["summary"].as_str().unwrap();
    assert_eq!(run["rows"], 2, "{run}");
    assert!(
        summary.contains("1 credits not made") && summary.contains(full.as_str()),
        "{summary}"
    );
    assert!(
        !summary.contains(empty.as_str()) && !summary.contains(exact.as_str()),
        "{summary}"
    );
    assert_eq!(
        balance_matches_ledger(&app, &clerk, full).await,
        9_000,
        "not credited past the ceiling"
    );
    assert_eq!(
        balance_matches_ledger(&app, &clerk, empty).await,
        3_500,
        "the rest of the batch goes on"
    );
    assert_eq!(
        balance_matches_ledger(&app, &clerk, exact).await,
        10_000,
        "up to the ceiling exactly"
    );
    // Room again: a purchase, then the next run makes the credit, once.
    let (s, v) = app
        .post(
            "/purchases",
            &pharmacy,
            json!({"client_txn_id": "p1", "card_no": full, "amount_fen": 5_000}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let run = run_crediting(&app).await;
    assert_eq!(run["rows"], 1, "{run}");
    assert!(
        !run["summary"].as_str().unwrap().contains("not made"),
        "{run}"
    );
    assert_eq!(
        balance_matches_ledger(&app, &clerk, full).await,
        4_000 + 3_500
    );
    assert_eq!(run_crediting(&app).await["rows"], 0, "exactly once");
}

// D-15: receipt and payment record numbers are unique per employer (and per source), not
// across employers. Before: employer A filing R-1 made B's genuine receipt and the tax
// bureau's record R-1 for B a 409, so B's lock could not be lifted.
async fn receipt_numbers_are_per_employer(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let mut employers = Vec::new();
    for (name, n) in [("A Co", 1), ("B Co", 2)] {
        let (s, v) = app.post("/employers", &clerk, json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let id = v["id"].as_str().unwrap().to_owned();
        app.person(
            &clerk,
            &nth_id(n),
            json!({"employer_id": id, "contribution_base_fen": 100_000}),
        )
        .await;
        let (s, v) = app
            .post(
                "/admin/actors",
                ADMIN,
                json!({"role": "employer", "name": name, "employer_id": id}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        employers.push((id, v["token"].as_str().unwrap().to_owned()));
    }
    app.set_clock("2026-04-02T02:00:00Z").await;
    let receipt = json!({"receipts": [{"month": "2026-03", "amount_fen": 8_000, "paid_on": "2026-03-20", "receipt_no": "R-1"}]});
    for (id, token) in &employers {
        let (s, v) = app
            .post(
                &format!("/employers/{id}/tax-receipts"),
                token,
                receipt.clone(),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{id}: {v}");
        assert_eq!(v["recorded"], 1, "{id}: {v}");
    }
    // The tax bureau's own record R-1 for B, and for A (another source than A's receipt).
    for (id, _) in &employers {
        let (s, v) = app
            .post(
                &format!("/employers/{id}/payments"),
                &clerk,
                json!({"month": "2026-03", "amount_fen": 8_000, "paid_on": "2026-03-20", "record_no": "R-1"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{id}: {v}");
    }
    // Within one employer and source the number still means one document.
    let (id, token) = &employers[1];
    let (s, v) = app
        .post(
            &format!("/employers/{id}/tax-receipts"),
            token,
            json!({"receipts": [{"month": "2026-03", "amount_fen": 1, "paid_on": "2026-03-21", "receipt_no": "R-1"}]}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("receipt_conflict")),
        "{v}"
    );
}

const PERSONAL: [&str; 4] = ["name", "id_number", "bank_card_no", "serial"];

fn assert_card_only(v: &Value, who: &str, balance: bool) {
    assert!(
        v["card_no"].is_string() && v["status"].is_string() && v["ss_account"].is_object(),
        "{who}: {v}"
    );
    for field in PERSONAL {
        assert!(v.get(field).is_none(), "{who} is told no {field}: {v}");
    }
    assert_eq!(
        v.get("balance_fen").is_some(),
        balance,
        "{who} and the balance: {v}"
    );
}

// API.md "Conventions": pharmacy, hospital and hotline are answered the card's number, status
// and account states, never the holder's name, ID number or bank card number. Before: a
// hospital's temporary-loss answer carried name, ID number, bank card number and balance.
async fn terminals_see_only_the_card(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let hospital = app.actor("hospital").await;
    let hotline = app.actor("hotline").await;
    let bank = app.actor("bank").await;
    let id = nth_id(1);
    let card = app
        .card_for(
            &clerk,
            &id,
            json!({"phone": "13912345678", "legacy_card": {"number": "YB1", "balance_fen": 500}}),
        )
        .await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &pharmacy,
            json!({"channel": "pharmacy_old_card", "old_card_number": "YB1"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_card_only(&v, "the pharmacy", true);
    let (s, v) = app.get(&format!("/cards/{card}"), &hotline).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_card_only(&v, "the hotline", false);
    let (s, v) = app.get(&format!("/persons/{id}"), &hotline).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["cards"], "the hotline hears the cards only: {v}");
    assert_eq!(v["cards"][0]["card_no"], card.as_str());
    let (s, v) = app
        .post(
            &format!("/cards/{card}/loss"),
            &hospital,
            json!({"kind": "temporary"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_card_only(&v, "the hospital", false);
    assert_eq!(v["status"], "lost");
    let (s, v) = app
        .delete(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"evidence": {"holder_present": true, "holder_id_checked": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post("/hotline/pre-loss", &hotline, json!({"id_number": id}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_card_only(&v, "the hotline's pre-loss", false);
    // The clerk and the bank see the holder.
    for (who, token) in [("clerk", &clerk), ("bank", &bank)] {
        let v = app.card(token, &card).await;
        for field in PERSONAL {
            assert!(v[field].is_string(), "{who} sees {field}: {v}");
        }
        assert_eq!(v["balance_fen"], 500, "{who}");
    }
    let (_, v) = app.get(&format!("/persons/{id}"), &clerk).await;
    assert_eq!(v["phone"], "13912345678");
}

// Card numbers are not issued in order: one card's number tells nothing of the next.
// Before: S00000001, S00000002, … let a terminal walk every card.
async fn card_numbers_do_not_follow_each_other(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let mut numbers = Vec::new();
    for n in 1..=12 {
        let card = app.card_for(&clerk, &nth_id(n), json!({})).await;
        assert!(
            card.len() == 9
                && card.starts_with('S')
                && card[1..].bytes().all(|b| b.is_ascii_digit()),
            "{card}"
        );
        numbers.push(card[1..].parse::<i64>().unwrap());
    }
    let steps: Vec<i64> = numbers.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(steps.iter().any(|&d| d != 1), "sequential: {numbers:?}");
    let mut distinct = numbers.clone();
    distinct.sort_unstable();
    distinct.dedup();
    assert_eq!(distinct.len(), numbers.len());
    // A replacement gets a fresh number of the same form.
    let (s, v) = app
        .post(
            &format!("/cards/S{:08}/replacement", numbers[0]),
            &clerk,
            json!({"reason": "damaged", "evidence": {"holder_present": true, "holder_id_checked": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let new = v["new_card_no"].as_str().unwrap();
    assert!(new.len() == 9 && new.starts_with('S'), "{new}");
}

async fn raw(
    app: &TestApp,
    method: Method,
    url: &str,
    token: Option<&str>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut req = app.client.request(method, url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let text = resp.text().await.unwrap();
    let body =
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("{url}: not JSON ({e}): {text:?}"));
    (status, headers, body)
}

// API.md "Conventions": every error answer has the contract's JSON shape, axum's own
// rejections included, and every /api/v1 answer carries Cache-Control: no-store. Before: a bad
// query string answered plain text 400, a wrong method an empty 405, and nothing said no-store.
async fn every_error_has_the_contract_shape(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    let base = &app.base;
    for (method, url, status, want) in [
        (
            Method::GET,
            format!("{base}/audit?limit=abc"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Method::GET,
            format!("{base}/audit?after=1.5"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Method::GET,
            format!("{base}/cards/{card}/ledger?limit=-1"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Method::GET,
            format!("{base}/cards/%FF%FE"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            Method::PATCH,
            format!("{base}/cards/{card}"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::DELETE,
            format!("{base}/persons"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            Method::GET,
            format!("{base}/no/such/thing"),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            Method::GET,
            format!("{base}/cards/{card}"),
            StatusCode::OK,
            "",
        ),
        (
            Method::GET,
            format!("{base}/openapi.json"),
            StatusCode::OK,
            "",
        ),
    ] {
        let (s, headers, v) = raw(&app, method.clone(), &url, Some(&clerk)).await;
        assert_eq!(s, status, "{method} {url}: {v}");
        if !want.is_empty() {
            assert_eq!(code(&v), Some(want), "{method} {url}: {v}");
            assert!(
                v["error"]["message"]
                    .as_str()
                    .is_some_and(|m| !m.is_empty()),
                "{v}"
            );
        }
        assert_eq!(
            headers.get("cache-control").and_then(|h| h.to_str().ok()),
            Some("no-store"),
            "{method} {url}"
        );
    }
    // The login's token is never cached either.
    let resp = app
        .client
        .post(format!("{base}/self/login"))
        .json(&json!({"id_number": nth_id(1), "query_password": nth_id(1)[10..].replace('X', "0")}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(
        resp.headers()
            .get("cache-control")
            .and_then(|h| h.to_str().ok()),
        Some("no-store")
    );
}

// Names are stored NFC and refuse what displays as something else (controls, bidirectional
// overrides, zero-width characters), for people, employers and actors. Before: a right-to-left
// override and a zero-width joiner were accepted.
async fn names_read_as_they_are(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let id = nth_id(1);
    for name in [
        "张\u{202E}三",
        "张\u{200D}三",
        "\u{2067}张三",
        "张\u{200B}三",
        "张\u{0007}三",
    ] {
        let (s, v) = app
            .post(
                "/persons",
                &clerk,
                json!({"id_number": id, "name": name, "kind": "employee"}),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_name")),
            "{name:?}: {v}"
        );
        let (s, v) = app.post("/employers", &clerk, json!({"name": name})).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_name")),
            "{name:?}: {v}"
        );
        let (s, v) = app
            .post(
                "/admin/actors",
                ADMIN,
                json!({"role": "clerk", "name": name}),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_name")),
            "{name:?}: {v}"
        );
    }
    assert_eq!(
        app.get(&format!("/persons/{id}"), &clerk).await.0,
        StatusCode::NOT_FOUND
    );
    let v = app
        .person(&clerk, &id, json!({"name": "Rene\u{0301} 买买提·艾力"}))
        .await;
    assert_eq!(
        v["name"], "Ren\u{00E9} 买买提·艾力",
        "stored composed (NFC)"
    );
}

// API.md "Conventions": the ledger and the audit log come in pages (limit default 200, at
// most 1000; after = the last seq seen). Before: the ledger had no limit.
async fn lists_come_in_pages(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app
        .card_for(
            &clerk,
            &nth_id(1),
            json!({"legacy_card": {"number": "YB1", "balance_fen": 10_000}}),
        )
        .await;
    let (s, _) = app
        .post(
            &format!("/cards/{card}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    for i in 0..4 {
        let (s, v) = app
            .post(
                "/purchases",
                &pharmacy,
                json!({"client_txn_id": format!("t{i}"), "card_no": card, "amount_fen": 100 + i}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let mut seen = Vec::new();
    let mut after: Option<i64> = None;
    loop {
        let path = match after {
            None => format!("/cards/{card}/ledger?limit=2"),
            Some(a) => format!("/cards/{card}/ledger?limit=2&after={a}"),
        };
        let (s, v) = app.get(&path, &clerk).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let entries = v["entries"].as_array().unwrap();
        assert!(entries.len() <= 2, "{v}");
        if entries.is_empty() {
            assert_null(&v, "next_after");
            break;
        }
        assert_eq!(v["next_after"], entries.last().unwrap()["seq"]);
        seen.extend(entries.iter().map(|e| {
            (
                e["seq"].as_i64().unwrap(),
                e["kind"].as_str().unwrap().to_owned(),
            )
        }));
        after = v["next_after"].as_i64();
    }
    assert_eq!(
        seen.len(),
        5,
        "the legacy transfer and four purchases: {seen:?}"
    );
    assert!(
        seen.windows(2).all(|w| w[0].0 < w[1].0),
        "in seq order: {seen:?}"
    );
    assert_eq!(seen[0].1, "legacy_transfer");
    for bad in ["limit=0", "limit=1001"] {
        let (s, v) = app
            .get(&format!("/cards/{card}/ledger?{bad}"), &clerk)
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_limit")),
            "{bad}: {v}"
        );
        let (s, v) = app
            .get(&format!("/audit?card_no={card}&{bad}"), &clerk)
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_limit")),
            "{bad}: {v}"
        );
    }
    let (s, v) = app
        .get(&format!("/audit?card_no={card}&limit=2"), &clerk)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["records"].as_array().unwrap().len(), 2);
    let next = v["next_after"].as_i64().unwrap();
    let (_, v2) = app
        .get(
            &format!("/audit?card_no={card}&limit=2&after={next}"),
            &clerk,
        )
        .await;
    assert!(v2["records"][0]["seq"].as_i64().unwrap() > next, "{v2}");
}

// R-MS-3, API.md: the same filing while one is on record answers the existing one (200) and
// files nothing new. Before: 50 identical filings were 50 filings.
async fn the_same_filing_twice_is_one_filing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let id = nth_id(1);
    app.person(&clerk, &id, json!({})).await;
    let body = json!({"id_number": id, "kind": "long_term_residence", "region": "450600"});
    let (s, first) = app.post("/filings", &clerk, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let racing: Vec<_> = (0..10)
        .map(|_| {
            let (client, url, body) = (
                app.client.clone(),
                format!("{}/filings", app.base),
                body.clone(),
            );
            let clerk = clerk.clone();
            tokio::spawn(async move {
                let r = client
                    .post(url)
                    .bearer_auth(clerk)
                    .json(&body)
                    .send()
                    .await
                    .unwrap();
                (r.status(), r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    for r in racing {
        let (s, v) = r.await.unwrap();
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["id"], first["id"], "{v}");
    }
    // Another kind or region is another filing.
    let (s, v) = app
        .post(
            "/filings",
            &clerk,
            json!({"id_number": id, "kind": "referral", "region": "450600"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_ne!(v["id"], first["id"]);
    assert_eq!(app.count("SELECT count(*) FROM filings"), 2);
    // An emergency filed in time answers the same afterwards too, past the deadline.
    let today = "2026-03-02";
    let emergency =
        json!({"id_number": id, "kind": "emergency", "region": "450600", "admitted_on": today});
    let (s, e1) = app.post("/filings", &clerk, emergency.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{e1}");
    app.advance("P30D").await;
    let (s, e2) = app.post("/filings", &clerk, emergency).await;
    assert_eq!((s, &e2["id"]), (StatusCode::OK, &e1["id"]), "{e2}");
}

// STYLE 11, API.md "Settlement": racing repeats of one client_txn_id all get the first answer
// and move money once. Before: on PostgreSQL the second insert hit the primary key (500).
async fn racing_repeats_of_one_txn_id_get_the_first_answer(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let hospital = app.actor("hospital").await;
    let card = app
        .card_for(
            &clerk,
            &nth_id(1),
            json!({"legacy_card": {"number": "YB1", "balance_fen": 10_000}}),
        )
        .await;
    let (s, _) = app
        .post(
            &format!("/cards/{card}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    for (path, token, body) in [
        (
            "/purchases",
            &pharmacy,
            json!({"client_txn_id": "same", "card_no": card, "amount_fen": 700}),
        ),
        (
            "/visits",
            &hospital,
            json!({"client_txn_id": "same", "card_no": card, "kind": "outpatient", "cost_fen": 5_000}),
        ),
    ] {
        let racing: Vec<_> = (0..20)
            .map(|_| {
                let (client, url, body, token) = (
                    app.client.clone(),
                    format!("{}{path}", app.base),
                    body.clone(),
                    token.clone(),
                );
                tokio::spawn(async move {
                    let r = client
                        .post(url)
                        .bearer_auth(token)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                    (r.status(), r.json::<Value>().await.unwrap())
                })
            })
            .collect();
        let mut answers = Vec::new();
        for r in racing {
            answers.push(r.await.unwrap());
        }
        let first = answers[0].1.clone();
        for (s, v) in &answers {
            assert_eq!(*s, StatusCode::CREATED, "{path}: {v}");
            assert_eq!(v, &first, "{path}: every repeat gets the first answer");
        }
    }
    let (_, l) = app.get(&format!("/cards/{card}/ledger"), &clerk).await;
    let purchases = l["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "purchase")
        .count();
    assert_eq!(purchases, 1, "{l}");
    assert_eq!(app.card(&clerk, &card).await["balance_fen"], 10_000 - 700);
    assert_eq!(app.count("SELECT count(*) FROM settlements"), 2);
}
