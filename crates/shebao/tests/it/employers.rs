//! Employers, monthly assessment, the unit lock and its lifting, and crediting (R-EM-1..5,
//! R-CR-1, R-CR-2, R-ID-3, D-5, D-8, D-9, D-12, D-13), with the simulated clock crossing the
//! 15th, month ends and the 45-working-day mark over Qingming and Labour Day.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    months_are_assessed_from_the_first_day,
    unpaid_month_locks_every_card_from_the_next_month,
    on_time_payment_record_prevents_the_lock,
    registration_after_the_due_day_is_owed_not_late,
    unlock_needs_arrears_paid_and_the_last_three_months,
    an_employer_that_paid_on_time_shows_its_receipts,
    receipts_are_idempotent_and_conflicts_change_nothing,
    crediting_waits_45_working_days_and_credits_once,
    a_region_switches_to_the_2021_reform_on_a_date,
    crediting_reads_every_page_of_months,
    every_card_carries_the_employer_its_holder_is_insured_through,
);

/// An employer with a previous-year average monthly wage of 7 123.45 yuan.
async fn employer(app: &TestApp, clerk: &str) -> String {
    let (s, v) = app
        .post(
            "/employers",
            clerk,
            json!({"name": "兰州机床厂", "prev_year_avg_wage_fen": 712_345}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v["id"].as_str().unwrap().to_owned()
}

/// Employee under 45 (base 6 000 yuan), employee 45+ (base 5 000 yuan), a retiree; each with
/// an activated card. Returns the three card numbers.
async fn staff(app: &TestApp, clerk: &str, employer: &str) -> [String; 3] {
    let people = [
        (id_number("19900601", 11), "employee", Some(600_000)),
        (id_number("19700101", 12), "employee", Some(500_000)),
        (id_number("19500101", 13), "retiree", None),
    ];
    let mut cards = Vec::new();
    for (id, kind, base) in people {
        let card = app
            .card_for(
                clerk,
                &id,
                json!({"kind": kind, "employer_id": employer, "contribution_base_fen": base}),
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
        cards.push(card);
    }
    cards.try_into().unwrap()
}

async fn employer_view(app: &TestApp, token: &str, id: &str) -> Value {
    let (s, v) = app.get(&format!("/employers/{id}"), token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    v
}

async fn run_job(app: &TestApp, name: &str) -> Value {
    let (s, v) = app
        .post(&format!("/admin/jobs/{name}/run"), ADMIN, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "ok", "{v}");
    v
}

async fn purchase(
    app: &TestApp,
    pharmacy: &str,
    txn: &str,
    card: &str,
    amount: i64,
) -> (StatusCode, Value) {
    app.post(
        "/purchases",
        pharmacy,
        json!({"client_txn_id": txn, "card_no": card, "amount_fen": amount}),
    )
    .await
}

fn month<'a>(v: &'a Value, m: &str) -> &'a Value {
    v["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["month"] == m)
        .unwrap_or_else(|| panic!("no month {m} in {v}"))
}

// D-8, R-EM-1, R-CR-1: the month of registration is assessed at once for everyone insured;
// the next month is assessed from its first day; retirees pay nothing.
async fn months_are_assessed_from_the_first_day(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let e = employer(&app, &clerk).await;
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(
        month(&v, "2026-03")["assessed_fen"],
        0,
        "shows at once: {v}"
    );
    staff(&app, &clerk, &e).await;
    let v = employer_view(&app, &clerk, &e).await;
    let march = month(&v, "2026-03");
    // (2 % + 6 %) of 6 000 and of 5 000 yuan.
    assert_eq!(march["assessed_fen"], 48_000 + 40_000);
    assert_eq!(march["due_on"], "2026-03-15");
    assert_eq!(march["paid_fen"], 0);
    assert_eq!(v["unit_locked"], false);
    assert_eq!(v["arrears_months"], json!([]));
    // Another employer's actor sees nothing of it; its own does.
    let (s, v) = app
        .post(
            "/admin/actors",
            ADMIN,
            json!({"role": "employer", "name": "payroll", "employer_id": e}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let own = v["token"].as_str().unwrap().to_owned();
    assert_eq!(employer_view(&app, &own, &e).await["id"], e.as_str());
    let other = employer(&app, &clerk).await;
    assert_eq!(
        app.get(&format!("/employers/{other}"), &own).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get("/employers/E999999", &clerk).await.0,
        StatusCode::NOT_FOUND
    );
    // April is assessed from its first day.
    app.set_clock("2026-03-31T16:00:00Z").await; // 2026-04-01 00:00 Shanghai
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(month(&v, "2026-04")["assessed_fen"], 88_000);
    assert_eq!(month(&v, "2026-04")["due_on"], "2026-04-15");
}

// R-EM-2, R-EM-5, D-13: March unpaid by the 15th → in arrears from the 16th, and from April 1
// every insured person's card (retirees too) is refused fund-paid care with the reason and
// what to do; the lock is the employer's state, no card row is written. The deadline job notes
// it once in the audit trail however often it runs.
async fn unpaid_month_locks_every_card_from_the_next_month(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let hospital = app.actor("hospital").await;
    let e = employer(&app, &clerk).await;
    let cards = staff(&app, &clerk, &e).await;

    app.set_clock("2026-03-15T15:59:00Z").await; // 23:59 on the 15th
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(
        v["arrears_months"],
        json!([]),
        "the 15th itself is still in time"
    );
    app.set_clock("2026-03-15T16:00:00Z").await; // the 16th
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(v["arrears_months"], json!(["2026-03"]));
    assert_eq!(
        v["unit_locked"], false,
        "the lock falls from the next month"
    );
    assert_eq!(
        purchase(&app, &pharmacy, "t1", &cards[0], 100).await.0,
        StatusCode::CREATED
    );

    app.set_clock("2026-03-31T16:00:00Z").await; // April 1
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(v["unit_locked"], true);
    assert_eq!(v["unit_locked_since"], "2026-04-01");
    assert_eq!(v["locking_months"], json!(["2026-03"]));
    for card in &cards {
        let (s, v) = purchase(&app, &pharmacy, &format!("lock-{card}"), card, 100).await;
        assert_eq!(
            (s, code(&v), v["error"]["reason"].as_str()),
            (
                StatusCode::LOCKED,
                Some("account_locked"),
                Some("employer_arrears")
            ),
            "{card}: {v}"
        );
        assert!(v["error"]["message"].as_str().unwrap().contains("payroll"));
        assert!(v["error"]["message_zh"].as_str().unwrap().contains("单位"));
        let c = app.card(&clerk, card).await;
        assert_eq!(c["ss_account"]["lock_reason"], "employer_arrears");
        assert_eq!(c["ss_account"]["locked"], true);
    }
    let (s, v) = app
        .post(
            "/visits",
            &hospital,
            json!({"client_txn_id": "v1", "card_no": cards[2], "kind": "outpatient", "cost_fen": 5000}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("employer_arrears"))
    );
    // Not fund-paid care: the password check still works.
    let (s, _) = app
        .post(
            &format!("/cards/{}/ss-password/verify", cards[0]),
            &pharmacy,
            json!({"password": "123456"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);

    let first = run_job(&app, "monthly-deadline").await;
    assert!(
        first["summary"]
            .as_str()
            .unwrap()
            .contains("1 employers newly under a unit lock"),
        "{first}"
    );
    let second = run_job(&app, "monthly-deadline").await;
    assert!(
        second["summary"]
            .as_str()
            .unwrap()
            .contains("0 employers newly"),
        "{second}"
    );
    let (s, v) = app.get("/admin/jobs/monthly-deadline", ADMIN).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["status"], "ok");
    assert!(v["finished_at"].is_string());
    let (s, v) = app.get("/audit?limit=1000", ADMIN).await;
    assert_eq!(s, StatusCode::OK);
    let notes = v["records"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["action"] == "employer.unit_lock")
        .count();
    assert_eq!(notes, 1, "the lock is noted once");
    assert_eq!(
        app.get("/admin/jobs/nightly", ADMIN).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.post("/admin/jobs/crediting/run", &clerk, json!({}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

// R-EM-4: a payment record dated on or before the due day shows the month was paid on time,
// however late the data arrives; a payment after the due day does not lift a lock by itself.
async fn on_time_payment_record_prevents_the_lock(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let e = employer(&app, &clerk).await;
    let cards = staff(&app, &clerk, &e).await;
    // The tax bureau's record arrives after the due day, dated on it.
    app.set_clock("2026-03-20T02:00:00Z").await;
    let (s, v) = app
        .post(
            &format!("/employers/{e}/payments"),
            &clerk,
            json!({"month": "2026-03", "amount_fen": 88_000, "paid_on": "2026-03-15"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(month(&v, "2026-03")["paid_on_time_fen"], 88_000);
    app.set_clock("2026-04-16T02:00:00Z").await;
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(v["unit_locked"], false, "{v}");
    assert_eq!(v["arrears_months"], json!(["2026-04"]));
    // April paid one day late, recorded before May: the lock still falls on May 1.
    let (s, _) = app
        .post(
            &format!("/employers/{e}/payments"),
            &clerk,
            json!({"month": "2026-04", "amount_fen": 88_000, "paid_on": "2026-04-16"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.set_clock("2026-04-30T16:00:00Z").await; // May 1
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(v["arrears_months"], json!([]), "paid, late");
    assert_eq!(v["unit_locked"], true, "late is not on time: {v}");
    assert_eq!(
        purchase(&app, &pharmacy, "p", &cards[0], 100).await.0,
        StatusCode::LOCKED
    );
    // Bad payment records are refused and change nothing.
    for (body, want) in [
        (
            json!({"month": "2026-13", "amount_fen": 1, "paid_on": "2026-04-01"}),
            "invalid_month",
        ),
        (
            json!({"month": "2026-04", "amount_fen": 0, "paid_on": "2026-04-01"}),
            "invalid_amount",
        ),
        (
            json!({"month": "2026-04", "amount_fen": 5, "paid_on": "2026-06-01"}),
            "invalid_date",
        ),
        (
            json!({"month": "2026-04", "amount_fen": 5, "paid_on": "04/01/2026"}),
            "invalid_date",
        ),
        (
            json!({"month": "2025-01", "amount_fen": 5, "paid_on": "2026-04-01"}),
            "invalid_month",
        ),
    ] {
        let (s, v) = app
            .post(&format!("/employers/{e}/payments"), &clerk, body)
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(want)),
            "{v}"
        );
    }
    let (s, _) = app
        .post(
            &format!("/employers/{e}/payments"),
            &clerk,
            json!({"month": "2026-04", "amount_fen": "lots", "paid_on": "2026-04-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert_eq!(
        month(&employer_view(&app, &clerk, &e).await, "2026-04")["paid_fen"],
        88_000
    );
}

// R-EM-3, D-9: an employer in arrears covers every unpaid month; one that paid (but was locked
// anyway, its data not yet in) shows the last 3 months' receipts. The employer's own actor may
// submit them.
async fn unlock_needs_arrears_paid_and_the_last_three_months(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let e = employer(&app, &clerk).await;
    let cards = staff(&app, &clerk, &e).await;
    let (_, v) = app
        .post(
            "/admin/actors",
            ADMIN,
            json!({"role": "employer", "name": "payroll", "employer_id": e}),
        )
        .await;
    let payroll = v["token"].as_str().unwrap().to_owned();
    // Nothing recorded for March-May: locked since April 1.
    app.set_clock("2026-06-02T02:00:00Z").await;
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(v["unit_locked_since"], "2026-04-01");
    assert_eq!(
        v["arrears_months"],
        json!(["2026-03", "2026-04", "2026-05"])
    );

    // Paid late (after each due day): the arrears path.
    let receipt = |m: &str, no: &str| json!({"month": m, "amount_fen": 88_000, "paid_on": format!("{m}-20"), "receipt_no": no});
    let (s, v) = app
        .post(
            &format!("/employers/{e}/tax-receipts"),
            &payroll,
            json!({"receipts": [receipt("2026-05", "SB-0005")]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["recorded"], 1);
    assert_eq!(v["lifted"], false);
    assert_eq!(v["unit_locked"], true);
    assert_eq!(v["missing_months"], json!(["2026-03", "2026-04"]));
    assert_eq!(
        purchase(&app, &pharmacy, "a", &cards[1], 100).await.0,
        StatusCode::LOCKED
    );

    let (s, v) = app
        .post(
            &format!("/employers/{e}/tax-receipts"),
            &payroll,
            json!({"receipts": [receipt("2026-03", "SB-0003"), receipt("2026-04", "SB-0004")]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["lifted"], true, "{v}");
    assert_eq!(v["unit_locked"], false);
    assert_eq!(v["arrears_months"], json!([]));
    assert!(month(&v, "2026-03")["cleared_at"].is_string());
    assert_eq!(
        purchase(&app, &pharmacy, "b", &cards[1], 100).await.0,
        StatusCode::CREATED
    );
    let (s, v) = app.get("/audit?limit=1000", ADMIN).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "employer.unit_lock.lift" && r["actor_role"] == "employer")
    );
    // Another employer's actor cannot submit for this one.
    let other = employer(&app, &clerk).await;
    let (_, v) = app
        .post(
            "/admin/actors",
            ADMIN,
            json!({"role": "employer", "name": "other payroll", "employer_id": other}),
        )
        .await;
    let stranger = v["token"].as_str().unwrap().to_owned();
    let (s, _) = app
        .post(
            &format!("/employers/{e}/tax-receipts"),
            &stranger,
            json!({"receipts": [receipt("2026-05", "X-1")]}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // June unpaid → locked again from July 1.
    app.set_clock("2026-06-30T16:00:00Z").await;
    assert_eq!(employer_view(&app, &clerk, &e).await["unit_locked"], true);
}

// R-EM-3, STYLE 11: receipt numbers are unique: a receipt shown again is recorded once; the
// same number with other details is refused and nothing of that request is recorded.
async fn receipts_are_idempotent_and_conflicts_change_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let e = employer(&app, &clerk).await;
    staff(&app, &clerk, &e).await;
    app.set_clock("2026-04-02T02:00:00Z").await;
    let body = json!({"receipts": [{"month": "2026-03", "amount_fen": 50_000, "paid_on": "2026-03-20", "receipt_no": "R-1"}]});
    let (s, v) = app
        .post(
            &format!("/employers/{e}/tax-receipts"),
            &clerk,
            body.clone(),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["recorded"], 1);
    assert_eq!(v["lifted"], false, "50 000 of 88 000 fen is not in full");
    let (s, v) = app
        .post(&format!("/employers/{e}/tax-receipts"), &clerk, body)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["recorded"], 0);
    assert_eq!(month(&v, "2026-03")["paid_fen"], 50_000, "counted once");
    let (s, v) = app
        .post(
            &format!("/employers/{e}/tax-receipts"),
            &clerk,
            json!({"receipts": [
                {"month": "2026-03", "amount_fen": 38_000, "paid_on": "2026-03-25", "receipt_no": "R-2"},
                {"month": "2026-03", "amount_fen": 60_000, "paid_on": "2026-03-20", "receipt_no": "R-1"}
            ]}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("receipt_conflict"))
    );
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(
        month(&v, "2026-03")["paid_fen"],
        50_000,
        "R-2 was not recorded either"
    );
    for (body, want) in [
        (json!({"receipts": []}), "invalid_receipts"),
        (
            json!({"receipts": [{"month": "2026-03", "amount_fen": 1, "paid_on": "2026-03-20", "receipt_no": " "}]}),
            "invalid_receipt_no",
        ),
        (
            json!({"receipts": [{"month": "2026-03", "amount_fen": -5, "paid_on": "2026-03-20", "receipt_no": "R-9"}]}),
            "invalid_amount",
        ),
    ] {
        let (s, v) = app
            .post(&format!("/employers/{e}/tax-receipts"), &clerk, body)
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(want)),
            "{v}"
        );
    }
    let (s, v) = app
        .post(
            &format!("/employers/{e}/tax-receipts"),
            &clerk,
            json!({"receipts": [{"month": "2026-03", "amount_fen": 38_000, "paid_on": "2026-03-25", "receipt_no": "R-2"}]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["lifted"], true, "{v}");
}

// R-EM-4, R-CR-1, R-CR-2, D-5, D-12: March paid in full on 2026-03-10; its data arrives 45
// working days later — over Qingming (Apr 4-6) and Labour Day (May 1-5, Saturday May 9
// worked) that is 2026-05-15. Only then are the accounts credited: 2 % + 1.1 % under 45,
// 2 % + 1.5 % from 45, a retiree 4 % of the employer's average wage; exactly once.
async fn crediting_waits_45_working_days_and_credits_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let e = employer(&app, &clerk).await;
    let cards = staff(&app, &clerk, &e).await;
    app.set_clock("2026-03-10T08:00:00Z").await;
    let (s, _) = app
        .post(
            &format!("/employers/{e}/payments"),
            &clerk,
            json!({"month": "2026-03", "amount_fen": 88_000, "paid_on": "2026-03-10", "record_no": "TAX-0310"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    // The tax bureau sends the record again: harmless.
    let (s, v) = app
        .post(
            &format!("/employers/{e}/payments"),
            &clerk,
            json!({"month": "2026-03", "amount_fen": 88_000, "paid_on": "2026-03-10", "record_no": "TAX-0310"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(month(&v, "2026-03")["tax_paid_fen"], 88_000);

    app.set_clock("2026-05-14T15:00:00Z").await; // 23:00 on May 14
    let v = run_job(&app, "crediting").await;
    assert_eq!(v["rows"], 0, "{v}");
    assert!(
        v["summary"]
            .as_str()
            .unwrap()
            .contains("1 still waiting for data"),
        "{v}"
    );
    let (_, ledger) = app
        .get(&format!("/cards/{}/ledger", cards[0]), &clerk)
        .await;
    assert_eq!(ledger["entries"], json!([]));

    app.set_clock("2026-05-14T16:00:00Z").await; // May 15
    let v = run_job(&app, "crediting").await;
    assert_eq!(v["rows"], 3, "{v}");
    let expected = [18_600, 17_500, 28_494];
    for (card, credit) in cards.iter().zip(expected) {
        let c = app.card(&clerk, card).await;
        assert_eq!(c["balance_fen"], credit, "{card}");
        let (s, l) = app.get(&format!("/cards/{card}/ledger"), &clerk).await;
        assert_eq!(s, StatusCode::OK);
        let entries = l["entries"].as_array().unwrap();
        assert_eq!(entries.len(), 1, "{l}");
        assert_eq!(entries[0]["kind"], "contribution_credit");
        assert_eq!(entries[0]["amount_fen"], credit);
        assert_eq!(entries[0]["balance_after_fen"], credit);
        assert_eq!(entries[0]["reference"], format!("{e}/2026-03"));
    }
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(month(&v, "2026-03")["data_arrived_on"], "2026-05-15");
    assert_eq!(month(&v, "2026-03")["credited"], true);
    // Exactly once.
    let v = run_job(&app, "crediting").await;
    assert_eq!(v["rows"], 0, "{v}");
    assert_eq!(app.card(&clerk, &cards[0]).await["balance_fen"], 18_600);
    // The holder sees the credit too (R-CR-2).
    let holder = app.holder_session(&id_number("19900601", 11)).await;
    let (s, l) = app
        .get(&format!("/cards/{}/ledger", cards[0]), &holder)
        .await;
    assert_eq!(
        (s, l["entries"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    let (s, v) = app.get("/admin/jobs/crediting", ADMIN).await;
    assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("ok")));
}

// R-EM-3, R-EM-4: an employer that paid every month on time is locked all the same while the
// bureau has no record of it; receipts dated by the due days show it and the lock lifts —
// each missed month must be shown, and the lock stands until the last one is.
async fn an_employer_that_paid_on_time_shows_its_receipts(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let e = employer(&app, &clerk).await;
    let cards = staff(&app, &clerk, &e).await;
    app.set_clock("2026-06-02T02:00:00Z").await;
    assert_eq!(employer_view(&app, &clerk, &e).await["unit_locked"], true);
    let on_time = |m: &str, no: &str| json!({"month": m, "amount_fen": 88_000, "paid_on": format!("{m}-14"), "receipt_no": no});
    let (s, v) = app
        .post(
            &format!("/employers/{e}/tax-receipts"),
            &clerk,
            json!({"receipts": [on_time("2026-03", "T-3")]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["lifted"], false);
    assert_eq!(v["unit_locked"], true);
    assert_eq!(
        v["unit_locked_since"], "2026-05-01",
        "April still missed: {v}"
    );
    assert_eq!(v["missing_months"], json!(["2026-04", "2026-05"]));
    let (s, v) = app
        .post(
            &format!("/employers/{e}/tax-receipts"),
            &clerk,
            json!({"receipts": [on_time("2026-04", "T-4"), on_time("2026-05", "T-5")]}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["lifted"], true, "{v}");
    assert_eq!(v["unit_locked"], false);
    assert_eq!(
        purchase(&app, &pharmacy, "ok", &cards[0], 100).await.0,
        StatusCode::CREATED
    );
}

// D-8, R-EM-2: someone registered after the 15th is assessed for the month at once, but their
// part could not have been paid by the due day: it is owed (in arrears until paid), it does
// not lock the employer's cards.
async fn registration_after_the_due_day_is_owed_not_late(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let e = employer(&app, &clerk).await;
    let cards = staff(&app, &clerk, &e).await;
    app.set_clock("2026-03-10T02:00:00Z").await;
    let (s, _) = app
        .post(
            &format!("/employers/{e}/payments"),
            &clerk,
            json!({"month": "2026-03", "amount_fen": 88_000, "paid_on": "2026-03-10"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    app.set_clock("2026-03-20T02:00:00Z").await;
    app.person(
        &clerk,
        &id_number("19920202", 14),
        json!({"employer_id": e, "contribution_base_fen": 300_000}),
    )
    .await;
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(month(&v, "2026-03")["assessed_fen"], 88_000 + 24_000);
    assert_eq!(v["arrears_months"], json!(["2026-03"]));
    app.set_clock("2026-03-31T16:00:00Z").await; // April 1
    let v = employer_view(&app, &clerk, &e).await;
    assert_eq!(v["unit_locked"], false, "{v}");
    assert_eq!(
        purchase(&app, &pharmacy, "ok", &cards[0], 100).await.0,
        StatusCode::CREATED
    );
    let (s, v) = app
        .post(
            &format!("/employers/{e}/payments"),
            &clerk,
            json!({"month": "2026-03", "amount_fen": 24_000, "paid_on": "2026-04-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["arrears_months"], json!([]));
    assert_eq!(
        month(&v, "2026-04")["assessed_fen"],
        112_000,
        "April: everyone, from its first day"
    );
}

// R-CR-1, 国办发〔2021〕14号: a region that switches to the reform from 2026-04 credits March by
// the old rates and April by the new ones (the employee's own 2 % only; retirees a fixed amount).
async fn a_region_switches_to_the_2021_reform_on_a_date(engine: Engine) {
    let national = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/national.toml"),
    )
    .unwrap();
    let reform = format!(
        "{}\n[[crediting]]\nfrom = \"2026-04\"\nrules = \"reform_2021\"\nemployee_bp = 200\nretiree_fixed_fen = 8000\n",
        national.replace("name = \"national\"", "name = \"reform-2026\"")
    );
    // One file per test process: the two engines' runs of this test go at the same time, and
    // the first to finish removes its file.
    let file = std::env::temp_dir().join(format!(
        "shebao-reform-{}-{engine:?}.toml",
        std::process::id()
    ));
    std::fs::write(&file, reform).unwrap();
    let app = TestApp::spawn_with(engine, file.to_str().unwrap()).await;
    let clerk = app.actor("clerk").await;
    let e = employer(&app, &clerk).await;
    let cards = staff(&app, &clerk, &e).await;
    app.set_clock("2026-04-10T08:00:00Z").await;
    for m in ["2026-03", "2026-04"] {
        let (s, v) = app
            .post(
                &format!("/employers/{e}/payments"),
                &clerk,
                json!({"month": m, "amount_fen": 88_000, "paid_on": "2026-04-10"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    // 2026-04-10 + 45 working days = 2026-06-16.
    app.set_clock("2026-06-16T02:00:00Z").await;
    let v = run_job(&app, "crediting").await;
    assert_eq!(v["rows"], 6, "{v}");
    // March (seeds) + April (reform) per person.
    let expected = [18_600 + 12_000, 17_500 + 10_000, 28_494 + 8_000];
    for (card, total) in cards.iter().zip(expected) {
        assert_eq!(app.card(&clerk, card).await["balance_fen"], total, "{card}");
    }
    let _ = std::fs::remove_file(file);
}

// R-EM-4: the crediting job reads the employer-months page by page and credits them all,
// however many employers there are (a 10 000-employer benchmark city once went half credited
// when only the first page was read). One month per page here, one account per transaction.
async fn crediting_reads_every_page_of_months(engine: Engine) {
    let config = config(engine, "national");
    let app = TestApp::start(engine, config.clone()).await;
    let clerk = app.actor("clerk").await;
    let mut cards = Vec::new();
    let mut employers = Vec::new();
    for n in 0..3u32 {
        let e = employer(&app, &clerk).await;
        let card = app
            .card_for(
                &clerk,
                &id_number("19900601", 40 + n),
                json!({"employer_id": e, "contribution_base_fen": 600_000}),
            )
            .await;
        employers.push(e);
        cards.push(card);
    }
    app.set_clock("2026-03-10T08:00:00Z").await;
    for e in &employers {
        let (s, v) = app
            .post(
                &format!("/employers/{e}/payments"),
                &clerk,
                json!({"month": "2026-03", "amount_fen": 48_000, "paid_on": "2026-03-10"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    app.stop().await;

    let mut later = config.clone();
    later.sim_clock = Some("2026-05-15T02:00:00Z".parse().unwrap());
    let runtime = shebao::Runtime::open(&later).await.unwrap();
    let summary = runtime
        .service
        .run_crediting_paged(1, 1, &|_| {})
        .await
        .unwrap();
    runtime.close().await;
    assert_eq!(summary.accounts_credited, 3, "{summary:?}");
    assert_eq!(summary.months_credited, 3, "{summary:?}");
    assert_eq!(summary.months_arrived, 3, "{summary:?}");

    let app = TestApp::start(engine, later).await;
    for card in &cards {
        // 2 % + 1.1 % of 6 000 yuan (under 45).
        assert_eq!(
            app.card(&clerk, card).await["balance_fen"],
            18_600,
            "{card}"
        );
    }
}

// R-EM-2, D-13 (issue 17: the purchase reads no person): each card row carries the employer
// whose months lock it, the employer of an employee or a retiree and nobody's for a resident,
// filled by `insert_card` for every new card.
async fn every_card_carries_the_employer_its_holder_is_insured_through(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let e = employer(&app, &clerk).await;
    let cards = staff(&app, &clerk, &e).await;
    let resident = id_number("19800101", 21);
    let resident_card = app
        .card_for(&clerk, &resident, json!({"kind": "resident"}))
        .await;
    let carried = |card: &str| {
        app.count(&format!(
            "SELECT count(*) FROM cards WHERE card_no = '{card}' AND holder_employer_id = '{e}'"
        ))
    };
    for card in &cards {
        assert_eq!(carried(card), 1, "{card}");
    }
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM cards WHERE card_no = '{resident_card}' AND holder_employer_id IS NULL"
        )),
        1
    );
}

// V11 on a database made before it: the migration fills every card's employer, and the unit
// lock reaches every card as before (R-EM-2, D-13).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cards_issued_before_the_employer_column_are_unit_locked_after_the_migration() {
    let config = config(Engine::Sqlite, "national");
    let app = TestApp::start(Engine::Sqlite, config.clone()).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let e = employer(&app, &clerk).await;
    let cards = staff(&app, &clerk, &e).await;
    app.stop().await;
    {
        // The database as V10 left it: no column, no record of V11.
        let db = rusqlite::Connection::open(config.data_dir.join("shebao.sqlite")).unwrap();
        db.execute_batch(
            "ALTER TABLE cards DROP COLUMN holder_employer_id; \
             DELETE FROM schema_migrations WHERE version = 11;",
        )
        .unwrap();
    }
    let app = TestApp::start(Engine::Sqlite, config).await;
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM cards WHERE holder_employer_id = '{e}'"
        )),
        3
    );
    app.set_clock("2026-03-31T16:00:00Z").await; // April 1: March unpaid
    for card in &cards {
        let (s, v) = purchase(&app, &pharmacy, &format!("after-{card}"), card, 100).await;
        assert_eq!(
            (s, v["error"]["reason"].as_str()),
            (StatusCode::LOCKED, Some("employer_arrears")),
            "{card}: {v}"
        );
    }
    app.stop().await;
}
