use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::json;

on_both_engines!(
    every_operation_is_recorded_without_passwords,
    refused_requests_leave_no_trace,
    acknowledged_work_survives_a_restart
);

// R-PW-9, R-PW-10: who, where, which channel, what evidence; never a password.
async fn every_operation_is_recorded_without_passwords(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor_in("pharmacy", Some("450602")).await;
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    let (s, change) = app
        .put(
            &format!("/cards/{card}/ss-password"),
            &pharmacy,
            json!({"old_password": "583920", "new_password": "642097"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (_, wrong) = app
        .post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "111112"}),
        )
        .await;
    let records = app.audit_for_card(&card).await;
    let actions: Vec<&str> = records
        .iter()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "card.issue",
            "card.activate",
            "ss_password.change",
            "ss_password.change",
            "ss_password.verify"
        ]
    );
    let by_pharmacy = &records[3];
    assert_eq!(by_pharmacy["actor_role"], "pharmacy");
    assert_eq!(by_pharmacy["region"], "450602");
    assert_eq!(by_pharmacy["channel"], "pharmacy");
    assert_eq!(records[4]["outcome"], "wrong_password");
    assert_eq!(records[1]["channel"], "service_center");
    let (_, by_person) = app
        .get(&format!("/audit?id_number={}", nth_id(1)), &clerk)
        .await;
    assert!(
        by_person["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "person.register")
    );
    let everything = format!(
        "{records:?} {change} {wrong} {}",
        app.card(&clerk, &card).await
    );
    for secret in ["583920", "642097", "111112"] {
        assert!(!everything.contains(secret), "{secret} leaked");
    }
    // Only admins and clerks read the trail.
    assert_eq!(
        app.get(&format!("/audit?card_no={card}"), &pharmacy)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

// A refused request changes nothing: no counter moves on malformed input, and no audit
// record claims an effect.
async fn refused_requests_leave_no_trace(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    let before = app.audit_for_card(&card).await.len();
    let verify = format!("/cards/{card}/ss-password/verify");
    let resp = app
        .client
        .post(format!("{}{verify}", app.base))
        .bearer_auth(&pharmacy)
        .body("{\"password\": ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
    let body: serde_json::Value = resp.json().await.unwrap();
    assert_eq!(body["error"]["code"], "bad_request");
    assert_eq!(
        app.post(&verify, &pharmacy, json!({})).await.0,
        StatusCode::BAD_REQUEST,
        "missing field"
    );
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": "12345"}))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    assert_eq!(
        app.post(
            &verify,
            &pharmacy,
            json!({"password": "583920", "extra": 1})
        )
        .await
        .0,
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        app.call(
            reqwest::Method::POST,
            &verify,
            None,
            Some(json!({"password": "111112"}))
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.post(&verify, "shb_forged", json!({"password": "111112"}))
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let bank = app.actor("bank").await;
    assert_eq!(
        app.post(&verify, &bank, json!({"password": "111112"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let view = app.card(&clerk, &card).await;
    assert_eq!(view["ss_account"]["remaining_tries"], 3);
    assert_eq!(app.audit_for_card(&card).await.len(), before);
    let huge = "x".repeat(100_000);
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": huge}))
            .await
            .0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
}

// Acknowledged operations survive a restart on the same database.
async fn acknowledged_work_survives_a_restart(engine: Engine) {
    let config = config(engine, "national");
    let app = TestApp::start(engine, config.clone()).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    for _ in 0..3 {
        app.post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "111112"}),
        )
        .await;
    }
    app.stop().await;
    let app = TestApp::start(engine, config).await;
    let (s, v) = app.get(&format!("/cards/{card}"), &clerk).await;
    assert_eq!(s, StatusCode::OK, "tokens and cards survive: {v}");
    assert_eq!(v["ss_account"]["locked"], true);
    assert_eq!(
        app.post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "583920"})
        )
        .await
        .0,
        StatusCode::LOCKED
    );
}
