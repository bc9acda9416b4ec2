//! Tests that catch the plausible wrong implementation (issue: test strength), for the unit
//! lock's "last 3 months" (R-EM-3) and the day crediting counts from (R-EM-4). Each scenario
//! names the mutation it catches.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    the_last_three_months_are_not_the_locking_months,
    the_third_last_month_is_needed_and_the_fourth_is_not,
    crediting_counts_from_the_payment_day_not_the_record_day,
    a_month_paid_by_receipts_alone_waits_for_the_tax_bureau,
    a_month_paid_in_two_parts_counts_from_the_completing_part,
);

/// 8 000 fen a month per person: 2 % + 6 % of a 1 000-yuan base.
const MONTHLY: i64 = 8_000;

async fn new_employer(app: &TestApp, clerk: &str) -> String {
    let (s, v) = app
        .post("/employers", clerk, json!({"name": "History Works"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

async fn insured(app: &TestApp, clerk: &str, employer: &str, n: u32) -> String {
    let card = app
        .card_for(
            clerk,
            &nth_id(n),
            json!({"employer_id": employer, "contribution_base_fen": 100_000}),
        )
        .await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    card
}

/// The tax bureau's record of a payment, entered now.
async fn pay(app: &TestApp, clerk: &str, employer: &str, month: &str, amount: i64, paid_on: &str) {
    let (s, v) = app
        .post(
            &format!("/employers/{employer}/payments"),
            clerk,
            json!({"month": month, "amount_fen": amount, "paid_on": paid_on}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{month} {paid_on}: {v}");
}

async fn receipts(app: &TestApp, clerk: &str, employer: &str, list: Value) -> Value {
    let (s, v) = app
        .post(
            &format!("/employers/{employer}/tax-receipts"),
            clerk,
            json!({"receipts": list}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

/// A server whose simulated clock starts on Monday 2026-01-05 (the history needs January).
async fn from_january(engine: Engine) -> TestApp {
    let mut cfg = config(engine, "national");
    cfg.sim_clock = Some("2026-01-05T02:00:00Z".parse().unwrap());
    TestApp::start(engine, cfg).await
}

/// An employer from January 2026 with one person: January paid on time, February never paid
/// (it locks from March 1), and March to June paid on time, except that a second person joins
/// after the due day of `late_join_month` (their part of that month is owed, not late: in
/// arrears, not locking, D-8). The clock ends on 2026-06-20, when the due months are January to
/// June and the last three are April, May and June.
async fn history(app: &TestApp, clerk: &str, late_join_month: &str) -> String {
    let employer = new_employer(app, clerk).await;
    insured(app, clerk, &employer, 1).await;
    let mut people = 1;
    for (month, day) in [
        ("2026-01", "10"),
        ("2026-02", ""),
        ("2026-03", "10"),
        ("2026-04", "10"),
        ("2026-05", "10"),
        ("2026-06", "10"),
    ] {
        if !day.is_empty() {
            app.set_clock(&format!("{month}-{day}T02:00:00Z")).await;
            pay(
                app,
                clerk,
                &employer,
                month,
                MONTHLY * people,
                &format!("{month}-{day}"),
            )
            .await;
        }
        if month == late_join_month {
            app.set_clock(&format!("{month}-20T02:00:00Z")).await;
            insured(app, clerk, &employer, 2).await;
            people = 2;
        }
    }
    app.set_clock("2026-06-20T02:00:00Z").await;
    let (_, v) = app.get(&format!("/employers/{employer}"), clerk).await;
    assert_eq!(v["unit_locked"], true, "February holds the lock: {v}");
    let arrears: Vec<&str> = v["arrears_months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(arrears, ["2026-02", late_join_month], "{v}");
    employer
}

// R-EM-3, D-9: the locking month is February; the late joiner leaves March in arrears without
// locking it — the fourth month from the end. Covering February lifts the lock: the last three
// due months (April-June) are covered. Catches: N = 4 (would ask for March too), and the
// "last" dropped, i.e. the first three due months (January-March: March would be missing).
async fn the_last_three_months_are_not_the_locking_months(engine: Engine) {
    let app = from_january(engine).await;
    let clerk = app.actor("clerk").await;
    let employer = history(&app, &clerk, "2026-03").await;
    let v = receipts(
        &app,
        &clerk,
        &employer,
        json!([{"month": "2026-02", "amount_fen": MONTHLY, "paid_on": "2026-06-19", "receipt_no": "R-FEB"}]),
    )
    .await;
    assert_eq!(v["lifted"], true, "{v}");
    assert_eq!(v["unit_locked"], false, "{v}");
    // March is still owed (shown in arrears), but it never locked and is not among the last 3.
    let arrears: Vec<&str> = v["arrears_months"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m.as_str().unwrap())
        .collect();
    assert_eq!(arrears, ["2026-03"], "{v}");
}

// R-EM-3: here the late joiner leaves April (the third month from the end) in arrears. The
// February receipt alone does not lift the lock: April is among the last three. Catches: N = 2
// or fewer (April would not be asked for), N = 0, and the first three months instead of the
// last three (January-March are covered once February is).
async fn the_third_last_month_is_needed_and_the_fourth_is_not(engine: Engine) {
    let app = from_january(engine).await;
    let clerk = app.actor("clerk").await;
    let employer = history(&app, &clerk, "2026-04").await;
    let v = receipts(
        &app,
        &clerk,
        &employer,
        json!([{"month": "2026-02", "amount_fen": MONTHLY, "paid_on": "2026-06-19", "receipt_no": "R-FEB"}]),
    )
    .await;
    assert_eq!(v["lifted"], false, "{v}");
    assert_eq!(v["missing_months"], json!(["2026-04"]), "{v}");
    assert_eq!(v["unit_locked"], true, "{v}");
    // The late joiner's April part paid and shown: now the lock lifts.
    let v = receipts(
        &app,
        &clerk,
        &employer,
        json!([{"month": "2026-04", "amount_fen": MONTHLY, "paid_on": "2026-06-19", "receipt_no": "R-APR"}]),
    )
    .await;
    assert_eq!(v["lifted"], true, "{v}");
    assert_eq!(v["missing_months"], json!([]), "{v}");
}

/// Runs crediting and returns the accounts it credited.
async fn credited(app: &TestApp) -> i64 {
    let (s, v) = app
        .post("/admin/jobs/crediting/run", ADMIN, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v["rows"].as_i64().unwrap()
}

/// An employer with one person (born 1980: 3.5 % of 1 000 yuan = 3 500 fen credited a month),
/// March assessed; the clock on 2026-03-02.
async fn one_person(app: &TestApp, clerk: &str) -> (String, String) {
    let employer = new_employer(app, clerk).await;
    let card = insured(app, clerk, &employer, 1).await;
    (employer, card)
}

async fn balance(app: &TestApp, clerk: &str, card: &str) -> i64 {
    app.card(clerk, card).await["balance_fen"].as_i64().unwrap()
}

// R-EM-4: the tax bureau's data arrives 45 working days after the *payment* (2026-03-10 →
// 2026-05-15), however late the record was entered (here on 2026-04-28, which would give
// 2026-07-03). Catches: counting from the day the record was entered.
async fn crediting_counts_from_the_payment_day_not_the_record_day(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let (employer, card) = one_person(&app, &clerk).await;
    app.set_clock("2026-04-28T02:00:00Z").await;
    pay(&app, &clerk, &employer, "2026-03", MONTHLY, "2026-03-10").await;
    app.set_clock("2026-05-14T08:00:00Z").await;
    assert_eq!(credited(&app).await, 0, "one working day early");
    app.set_clock("2026-05-15T01:00:00Z").await;
    assert_eq!(credited(&app).await, 1);
    assert_eq!(balance(&app, &clerk, &card).await, 3_500);
}

// D-9, R-EM-4: a tax receipt proves payment for the unit lock, but crediting waits for the tax
// bureau's own data: a month paid only by receipts is never credited; once the bureau's record
// comes (paid on 2026-03-25) it is, 45 working days after that payment (2026-06-01). Catches:
// crediting counting receipts as the tax bureau's data.
async fn a_month_paid_by_receipts_alone_waits_for_the_tax_bureau(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let (employer, card) = one_person(&app, &clerk).await;
    app.set_clock("2026-03-25T02:00:00Z").await;
    receipts(
        &app,
        &clerk,
        &employer,
        json!([{"month": "2026-03", "amount_fen": MONTHLY, "paid_on": "2026-03-10", "receipt_no": "R-MAR"}]),
    )
    .await;
    app.set_clock("2026-09-01T02:00:00Z").await;
    assert_eq!(
        credited(&app).await,
        0,
        "half a year later: still no tax-bureau data"
    );
    assert_eq!(balance(&app, &clerk, &card).await, 0);
    let (_, v) = app.get(&format!("/employers/{employer}"), &clerk).await;
    let march = v["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["month"] == "2026-03")
        .unwrap()
        .clone();
    assert_eq!(
        march["paid_fen"], MONTHLY,
        "the receipt counts as paid: {march}"
    );
    // The record comes, dated 2026-03-25: its data is due 2026-06-01, long past.
    pay(&app, &clerk, &employer, "2026-03", MONTHLY, "2026-03-25").await;
    assert_eq!(credited(&app).await, 1);
    assert_eq!(balance(&app, &clerk, &card).await, 3_500);
}

// R-EM-4: a month paid in two records (4 000 on 2026-03-10, 4 000 on 2026-03-20) is complete
// with the second; its data arrives 45 working days after that (2026-05-27), not after the
// first (2026-05-15). Catches: counting from the first payment, or crediting a month on a
// partial payment.
async fn a_month_paid_in_two_parts_counts_from_the_completing_part(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let (employer, card) = one_person(&app, &clerk).await;
    app.set_clock("2026-03-10T02:00:00Z").await;
    pay(
        &app,
        &clerk,
        &employer,
        "2026-03",
        MONTHLY / 2,
        "2026-03-10",
    )
    .await;
    app.set_clock("2026-03-20T02:00:00Z").await;
    pay(
        &app,
        &clerk,
        &employer,
        "2026-03",
        MONTHLY / 2,
        "2026-03-20",
    )
    .await;
    app.set_clock("2026-05-15T01:00:00Z").await;
    assert_eq!(
        credited(&app).await,
        0,
        "45 working days after the first part only"
    );
    app.set_clock("2026-05-26T08:00:00Z").await;
    assert_eq!(credited(&app).await, 0, "the day before");
    app.set_clock("2026-05-27T01:00:00Z").await;
    assert_eq!(credited(&app).await, 1);
    assert_eq!(balance(&app, &clerk, &card).await, 3_500);
    // Paid in part only, a month never arrives as data: April's half, however long ago.
    pay(
        &app,
        &clerk,
        &employer,
        "2026-04",
        MONTHLY / 2,
        "2026-04-10",
    )
    .await;
    app.set_clock("2026-10-09T02:00:00Z").await;
    assert_eq!(credited(&app).await, 0);
    assert_eq!(balance(&app, &clerk, &card).await, 3_500);
}
