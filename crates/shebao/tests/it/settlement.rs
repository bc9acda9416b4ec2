//! Pharmacy purchases, hospital visits and out-of-area filings (R-MS-1..3, R-PW-5, R-ACT-3,
//! D-2, STYLE 10 and 11): the documented check order, idempotency by client id, and refusals
//! that change nothing.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    purchases_pay_from_the_account_then_cash,
    purchase_checks_run_in_order_and_change_nothing,
    visits_are_paid_by_the_fund_and_activate_the_card,
    out_of_area_inpatient_needs_a_filing,
    emergency_filing_is_due_within_three_working_days,
);

async fn buy(
    app: &TestApp,
    pharmacy: &str,
    txn: &str,
    card: &str,
    amount: i64,
    password: Option<&str>,
) -> (StatusCode, Value) {
    let mut body = json!({"client_txn_id": txn, "card_no": card, "amount_fen": amount});
    if let Some(p) = password {
        body["password"] = json!(p);
    }
    app.post("/purchases", pharmacy, body).await
}

// R-MS-1, D-2, STYLE 11: paid from the personal account as far as it goes, the rest in cash;
// no password while none is enabled; a repeated client id returns the first answer.
async fn purchases_pay_from_the_account_then_cash(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let other_pharmacy = app.actor("pharmacy").await;
    let card = app.funded_card(&clerk, &nth_id(1), 5_000).await;
    let (s, v) = buy(&app, &pharmacy, "sale-1", &card, 3_000, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v,
        json!({"paid_from_account_fen": 3_000, "cash_due_fen": 0, "balance_fen": 2_000})
    );
    // The same sale sent again (a retry): the first answer, no money moves.
    let (s, again) = buy(&app, &pharmacy, "sale-1", &card, 3_000, None).await;
    assert_eq!((s, &again), (StatusCode::CREATED, &v));
    assert_eq!(app.card(&clerk, &card).await["balance_fen"], 2_000);
    let (s, v) = buy(&app, &pharmacy, "sale-1", &card, 3_001, None).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("client_txn_id_reused"))
    );
    // Ids are the pharmacy's own: another pharmacy may use the same one.
    let (s, v) = buy(&app, &other_pharmacy, "sale-1", &card, 500, None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["balance_fen"], 1_500);
    // Short balance: the rest in cash.
    let (s, v) = buy(&app, &pharmacy, "sale-2", &card, 4_000, None).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        v,
        json!({"paid_from_account_fen": 1_500, "cash_due_fen": 2_500, "balance_fen": 0})
    );
    let (s, v) = buy(&app, &pharmacy, "sale-3", &card, 800, None).await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(v["cash_due_fen"], 800);
    // R-MS-4: the personal account is never cashed out: a "purchase" of a negative amount (a
    // refund in cash) is refused and moves nothing.
    let (s, v) = buy(&app, &pharmacy, "cash-out", &card, -1_000, None).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_amount"))
    );
    assert_eq!(app.card(&clerk, &card).await["balance_fen"], 0);
    // R-CR-2: every debit in the ledger.
    let (_, l) = app.get(&format!("/cards/{card}/ledger"), &clerk).await;
    let kinds: Vec<(String, i64)> = l["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["kind"].as_str().unwrap().to_owned(),
                e["amount_fen"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("legacy_transfer".to_owned(), 5_000),
            ("purchase".to_owned(), -3_000),
            ("purchase".to_owned(), -500),
            ("purchase".to_owned(), -1_500),
        ]
    );
}

// STYLE 10, R-PW-5, R-LK-1: card exists → state → loss → activated → lock → password →
// balance; every refusal leaves the balance and the trail as they were (but a wrong
// password's count).
async fn purchase_checks_run_in_order_and_change_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let hospital = app.actor("hospital").await;
    assert_eq!(
        buy(&app, &pharmacy, "x", "S99999999", 100, None).await.0,
        StatusCode::NOT_FOUND
    );
    let (s, v) = buy(&app, &pharmacy, "x", "S00000001", 0, None).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_amount"))
    );
    let (s, v) = buy(&app, &pharmacy, "", "S00000001", 10, None).await;
    assert_eq!(
        (s, code(&v)),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("invalid_client_txn_id")
        )
    );
    assert_eq!(
        buy(&app, &hospital, "x", "S00000001", 10, None).await.0,
        StatusCode::FORBIDDEN
    );

    let inactive = app.card_for(&clerk, &nth_id(2), json!({})).await;
    let (s, v) = buy(&app, &pharmacy, "x", &inactive, 100, None).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("not_activated")));

    let card = app.funded_card(&clerk, &nth_id(1), 5_000).await;
    let (s, v) = app
        .put(
            &format!("/cards/{card}/ss-password"),
            &pharmacy,
            json!({"new_password": "583920"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // R-PW-5: enabled → required.
    let (s, v) = buy(&app, &pharmacy, "p1", &card, 1_000, None).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_password"))
    );
    let (s, v) = buy(&app, &pharmacy, "p1", &card, 1_000, Some("12345")).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_password"))
    );
    let (s, v) = buy(&app, &pharmacy, "p1", &card, 1_000, Some("111112")).await;
    assert_eq!(
        (s, code(&v), v["error"]["remaining_tries"].as_u64()),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("wrong_password"),
            Some(2)
        )
    );
    assert_eq!(app.card(&clerk, &card).await["balance_fen"], 5_000);
    let (s, v) = buy(&app, &pharmacy, "p1", &card, 1_000, Some("583920")).await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "the same id goes through once right: {v}"
    );
    assert_eq!(v["balance_fen"], 4_000);
    assert_eq!(
        app.card(&clerk, &card).await["ss_account"]["remaining_tries"],
        3,
        "a right password resets the count"
    );
    // Three wrong → locked → 423 even with the right password.
    for (i, left) in [2, 1, 0].into_iter().enumerate() {
        let (s, v) = buy(
            &app,
            &pharmacy,
            &format!("w{i}"),
            &card,
            100,
            Some("111112"),
        )
        .await;
        assert_eq!(
            (s, v["error"]["remaining_tries"].as_u64()),
            (StatusCode::UNPROCESSABLE_ENTITY, Some(left))
        );
    }
    let (s, v) = buy(&app, &pharmacy, "p2", &card, 100, Some("583920")).await;
    assert_eq!(
        (s, v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("password"))
    );
    // Loss comes before the password lock.
    let (s, _) = app
        .post(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"kind": "temporary", "channel": "window"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = buy(&app, &pharmacy, "p3", &card, 100, Some("583920")).await;
    assert_eq!(
        (s, v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("loss"))
    );
    // A replaced card is dead.
    let (s, r) = app
        .post(
            &format!("/cards/{card}/replacement"),
            &clerk,
            json!({"reason": "lost", "evidence": {"holder_present": true, "holder_id_checked": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let (s, v) = buy(&app, &pharmacy, "p4", &card, 100, Some("583920")).await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("card_replaced")));
    assert_eq!(
        app.card(&clerk, r["new_card_no"].as_str().unwrap()).await["balance_fen"],
        4_000
    );
    let purchases = app
        .audit_for_card(&card)
        .await
        .into_iter()
        .filter(|r| r["action"] == "purchase")
        .map(|r| r["outcome"].as_str().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(
        purchases,
        vec![
            "wrong_password",
            "ok",
            "wrong_password",
            "wrong_password",
            "locked"
        ],
        "refusals other than wrong passwords leave no record"
    );
}

// R-MS-2, R-ACT-3: outpatient the fund pays the fixed fee; inpatient the ratio; no password;
// the first hospital use activates the social-security account (and moves the old card's
// balance).
async fn visits_are_paid_by_the_fund_and_activate_the_card(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let hospital = app.actor("hospital").await;
    let card = app
        .card_for(
            &clerk,
            &nth_id(1),
            json!({"legacy_card": {"number": "YB7", "balance_fen": 1_234}}),
        )
        .await;
    let (s, v) = app
        .post(
            "/visits",
            &hospital,
            json!({"client_txn_id": "v-1", "card_no": card, "kind": "outpatient", "cost_fen": 5_000}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v, json!({"fund_pays_fen": 1_000, "holder_pays_fen": 4_000}));
    let c = app.card(&clerk, &card).await;
    assert_eq!(c["ss_account"]["state"], "active");
    assert_eq!(c["balance_fen"], 1_234);
    let (s, v) = app
        .post(
            "/visits",
            &hospital,
            json!({"client_txn_id": "v-2", "card_no": card, "kind": "inpatient", "cost_fen": 100_001, "admitted_on": "2026-03-01"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v,
        json!({"fund_pays_fen": 80_001, "holder_pays_fen": 20_000})
    );
    let (s, again) = app
        .post(
            "/visits",
            &hospital,
            json!({"client_txn_id": "v-2", "card_no": card, "kind": "inpatient", "cost_fen": 100_001, "admitted_on": "2026-03-01"}),
        )
        .await;
    assert_eq!((s, again), (StatusCode::CREATED, v));
    let (s, v) = app
        .post(
            "/visits",
            &hospital,
            json!({"client_txn_id": "v-3", "card_no": card, "kind": "surgery", "cost_fen": 1}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_kind"))
    );
    let (s, v) = app
        .post(
            "/visits",
            &hospital,
            json!({"client_txn_id": "v-4", "card_no": card, "kind": "inpatient", "cost_fen": 1, "admitted_on": "2026-03-09"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_date"))
    );
}

// R-MS-3: out of area (the hospital's region is not the insured region), outpatient care and
// pharmacy purchases settle directly; an inpatient stay needs a filing.
async fn out_of_area_inpatient_needs_a_filing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let far_hospital = app.actor_in("hospital", Some("310000")).await;
    let far_pharmacy = app.actor_in("pharmacy", Some("310000")).await;
    let id = nth_id(1);
    let card = app.funded_card(&clerk, &id, 5_000).await;
    let visit = |txn: &str, kind: &str, admitted: &str| json!({"client_txn_id": txn, "card_no": card, "kind": kind, "cost_fen": 20_000, "admitted_on": admitted});
    let (s, _) = app
        .post(
            "/visits",
            &far_hospital,
            visit("o-1", "outpatient", "2026-03-02"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(
        buy(&app, &far_pharmacy, "o-2", &card, 100, None).await.0,
        StatusCode::CREATED
    );
    let (s, v) = app
        .post(
            "/visits",
            &far_hospital,
            visit("i-1", "inpatient", "2026-03-02"),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("filing_required"))
    );
    // A filing for another place does not help; one for this place filed after the admission
    // is not a long-term-residence filing made before it.
    let (s, v) = app
        .post(
            "/filings",
            &clerk,
            json!({"id_number": id, "kind": "long_term_residence", "region": "440300"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = app
        .post(
            "/visits",
            &far_hospital,
            visit("i-2", "inpatient", "2026-03-02"),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("filing_required"))
    );
    let (s, v) = app
        .post(
            "/filings",
            &clerk,
            json!({"id_number": id, "kind": "long_term_residence", "region": "310000"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["filed_on"], "2026-03-02");
    assert!(v["id"].as_str().unwrap().starts_with('F'));
    let (s, v) = app
        .post(
            "/visits",
            &far_hospital,
            visit("i-3", "inpatient", "2026-03-02"),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["fund_pays_fen"], 16_000);
    let (s, v) = app
        .post(
            "/filings",
            &clerk,
            json!({"id_number": id, "kind": "referral", "region": "110000"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_region")),
        "the insured region needs no filing"
    );
    let (s, v) = app
        .post(
            "/filings",
            &clerk,
            json!({"id_number": id, "kind": "holiday", "region": "310000"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_kind"))
    );
}

// R-MS-3, D-3: admitted on Friday 2026-04-03 before Qingming (Apr 4-6 off), the emergency
// filing is due within 3 working days: Apr 7, 8, 9. Filed on the 9th it is accepted; on the
// 10th it is too late. The holder may file online for themselves only.
async fn emergency_filing_is_due_within_three_working_days(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let far_hospital = app.actor_in("hospital", Some("310000")).await;
    let id = nth_id(1);
    let card = app.funded_card(&clerk, &id, 5_000).await;
    let other = nth_id(2);
    app.person(&clerk, &other, json!({})).await;
    let emergency = |who: &str| json!({"id_number": who, "kind": "emergency", "region": "310000", "admitted_on": "2026-04-03"});
    app.set_clock("2026-04-09T15:00:00Z").await; // 23:00 on Thursday Apr 9
    let holder = app.holder_session(&id).await;
    let (s, v) = app.post("/filings", &holder, emergency(&other)).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "a holder files for themselves: {v}"
    );
    let (s, v) = app
        .post(
            "/filings",
            &holder,
            json!({"id_number": id, "kind": "emergency", "region": "310000"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_date"))
    );
    let (s, v) = app.post("/filings", &holder, emergency(&id)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["deadline"], "2026-04-09");
    assert_eq!(v["admitted_on"], "2026-04-03");
    let (s, v) = app
        .post(
            "/visits",
            &far_hospital,
            json!({"client_txn_id": "e-1", "card_no": card, "kind": "inpatient", "cost_fen": 50_000, "admitted_on": "2026-04-03"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    // One hour later it is Friday the 10th: too late for the same admission (an agent at the
    // window is held to the same day).
    app.set_clock("2026-04-09T16:00:00Z").await;
    let (s, v) = app.post("/filings", &clerk, emergency(&other)).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("filing_too_late")),
        "{v}"
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2026-04-09")
    );
}
