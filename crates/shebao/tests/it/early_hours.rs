//! The early hours in Shanghai (issue: test strength, point 6). At 00:30 Asia/Shanghai the UTC
//! date is still the day before: every date rule must read the Shanghai day. Each scenario
//! catches an implementation that takes the UTC date (`Timestamp` → UTC → date).

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::json;

on_both_engines!(
    a_replacement_applied_at_half_past_midnight_counts_from_that_day,
    a_pre_loss_at_half_past_midnight_lapses_ten_days_later_to_the_minute,
    an_emergency_filing_at_half_past_midnight_counts_the_shanghai_day,
    a_bank_lock_at_half_past_midnight_lifts_at_the_next_shanghai_midnight,
);

const EVIDENCE: &str = r#"{"holder_present": true, "holder_id_checked": true}"#;

// R-LS-5, D-3: applied for on Friday 2026-09-25 at 00:30 (UTC: Thursday 16:30), the card is
// ready on the 15th working day after the Friday — 2026-10-22 over National Day. Catches: the
// UTC date (Thursday) as the day of the application, which gives 2026-10-21.
async fn a_replacement_applied_at_half_past_midnight_counts_from_that_day(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    app.set_clock("2026-09-24T16:30:00Z").await;
    let evidence: serde_json::Value = serde_json::from_str(EVIDENCE).unwrap();
    let (s, v) = app
        .post(
            &format!("/cards/{card}/replacement"),
            &clerk,
            json!({"reason": "lost", "evidence": evidence}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["ready_on"], "2026-10-22", "{v}");
}

// R-LS-1, D-3: a pre-loss made at 00:30 on 2026-03-03 lapses exactly 10 × 24 h later, at 00:30
// on 2026-03-13: still in force a minute before, gone at the minute. Catches: lapsing at a day
// boundary (the UTC or the Shanghai midnight) instead of the instant.
async fn a_pre_loss_at_half_past_midnight_lapses_ten_days_later_to_the_minute(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let hotline = app.actor("hotline").await;
    let pharmacy = app.actor("pharmacy").await;
    let id = nth_id(1);
    let card = app.card_for(&clerk, &id, json!({})).await;
    let (s, _) = app
        .post(
            &format!("/cards/{card}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    app.set_clock("2026-03-02T16:30:00Z").await;
    let (s, v) = app
        .post("/hotline/pre-loss", &hotline, json!({"id_number": id}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["loss"]["reported_at"], "2026-03-03T00:30:00+08:00");
    assert_eq!(v["loss"]["lapses_at"], "2026-03-13T00:30:00+08:00");
    let verify = format!("/cards/{card}/ss-password/verify");
    app.set_clock("2026-03-12T16:29:00Z").await;
    let (s, v) = app
        .post(&verify, &pharmacy, json!({"password": "123456"}))
        .await;
    assert_eq!(
        (s, v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("loss")),
        "{v}"
    );
    app.set_clock("2026-03-12T16:30:00Z").await;
    let (s, v) = app
        .post(&verify, &pharmacy, json!({"password": "123456"}))
        .await;
    assert_eq!(s, StatusCode::OK, "lapsed at the instant: {v}");
    assert_null(&app.card(&clerk, &card).await, "loss");
}

// R-MS-3, D-3: an emergency admission on Monday 2026-03-02 is filed within 3 working days:
// by Thursday 2026-03-05. At 00:30 on Thursday (UTC: Wednesday) it is in time; at 00:30 on
// Friday (UTC: still Thursday) it is too late. An inpatient visit admitted "today" at 00:30 is
// today in Shanghai. Catches: the UTC date as "today" (the Friday filing accepted, the visit's
// admission day "in the future").
async fn an_emergency_filing_at_half_past_midnight_counts_the_shanghai_day(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let hospital = app.actor("hospital").await;
    let (first, second) = (nth_id(1), nth_id(2));
    app.person(&clerk, &first, json!({})).await;
    app.person(&clerk, &second, json!({})).await;
    let filing = |id: &str| json!({"id_number": id, "kind": "emergency", "region": "450600", "admitted_on": "2026-03-02"});
    app.set_clock("2026-03-04T16:30:00Z").await;
    let (s, v) = app.post("/filings", &clerk, filing(&first)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["deadline"], "2026-03-05");
    app.set_clock("2026-03-05T16:30:00Z").await;
    let (s, v) = app.post("/filings", &clerk, filing(&second)).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("filing_too_late")),
        "{v}"
    );
    // A local inpatient visit admitted today (2026-03-06 in Shanghai).
    let card = app.card_for(&clerk, &nth_id(3), json!({})).await;
    let (s, v) = app
        .post(
            "/visits",
            &hospital,
            json!({"client_txn_id": "v1", "card_no": card, "kind": "inpatient", "cost_fen": 10_000, "admitted_on": "2026-03-06"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}

// R-LK-3, D-1: locked at 00:30 on Tuesday 2026-03-03 (UTC: Monday 16:30), the bank lock lasts
// until 00:00 on Wednesday in Shanghai — 23 h 30 min. Catches: "the next day" taken as the next
// UTC day (it would lift at 08:00 Shanghai on the same Tuesday) or as the lock's own date.
async fn a_bank_lock_at_half_past_midnight_lifts_at_the_next_shanghai_midnight(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let bank = app.actor("bank").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &bank,
            json!({"channel": "bank", "fin_password": "583920"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.set_clock("2026-03-02T16:30:00Z").await;
    let verify = format!("/cards/{card}/fin-password/verify");
    for left in [2, 1, 0] {
        let (_, v) = app
            .post(&verify, &bank, json!({"password": "111112"}))
            .await;
        assert_eq!(v["error"]["remaining_tries"], left, "{v}");
    }
    let (s, v) = app
        .post(&verify, &bank, json!({"password": "583920"}))
        .await;
    assert_eq!(s, StatusCode::LOCKED, "{v}");
    assert_eq!(v["error"]["locked_until"], "2026-03-04T00:00:00+08:00");
    for still_locked in ["2026-03-03T00:00:00Z", "2026-03-03T15:59:59Z"] {
        app.set_clock(still_locked).await;
        assert_eq!(
            app.post(&verify, &bank, json!({"password": "583920"}))
                .await
                .0,
            StatusCode::LOCKED,
            "{still_locked}"
        );
    }
    app.set_clock("2026-03-03T16:00:00Z").await;
    let (s, v) = app
        .post(&verify, &bank, json!({"password": "583920"}))
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "lifted at 00:00 on the 4th in Shanghai: {v}"
    );
}
