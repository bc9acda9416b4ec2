use crate::helpers::*;
use crate::on_both_engines;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_engines!(
    first_login_forces_a_change,
    wrong_query_passwords_slow_down_and_never_lock,
    transaction_passwords_are_never_online
);

async fn login(app: &TestApp, id: &str, password: &str) -> (StatusCode, Value) {
    app.call(
        Method::POST,
        "/self/login",
        None,
        Some(json!({"id_number": id, "query_password": password})),
    )
    .await
}

// R-PW-8: the initial query password is the last 8 ID characters with X as 0; the first
// login must change it before anything else.
async fn first_login_forces_a_change(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let id = "11010519491231002X";
    let card = app.card_for(&clerk, id, json!({})).await;
    let (s, _) = login(&app, id, "1231002X").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "X is read as 0");
    let (s, v) = login(&app, id, "12310020").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["must_change_password"], true);
    let token = v["token"].as_str().unwrap().to_owned();
    let (s, v) = app.get(&format!("/cards/{card}"), &token).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("password_change_required"))
    );
    let (s, v) = app
        .put(
            "/self/query-password",
            &token,
            json!({"old_password": "12310020", "new_password": "short1"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_password"))
    );
    let (s, v) = app
        .put(
            "/self/query-password",
            &token,
            json!({"old_password": "12310020", "new_password": "12310020"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, v) = app
        .put(
            "/self/query-password",
            &token,
            json!({"old_password": "12310020", "new_password": "海边sunrise2026"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // The same session now reads its own card, and only its own.
    let (s, v) = app.get(&format!("/cards/{card}"), &token).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let other = app.card_for(&clerk, &nth_id(2), json!({})).await;
    assert_eq!(
        app.get(&format!("/cards/{other}"), &token).await.0,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        app.get(&format!("/persons/{id}"), &token).await.0,
        StatusCode::FORBIDDEN
    );
    let (s, v) = app.get("/self", &token).await;
    assert_eq!(
        (s, v["cards"][0]["card_no"].as_str()),
        (StatusCode::OK, Some(card.as_str()))
    );
    // The initial password no longer works; the new one does, with no forced change.
    assert_eq!(
        login(&app, id, "12310020").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (s, v) = login(&app, id, "海边sunrise2026").await;
    assert_eq!(
        (s, v["must_change_password"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    // Sessions expire.
    app.advance("PT3H").await;
    assert_eq!(app.get("/self", &token).await.0, StatusCode::UNAUTHORIZED);
}

// D-4, R-PW-8: after 5 failures each try waits (1 min, doubling); the card is never touched.
async fn wrong_query_passwords_slow_down_and_never_lock(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let id = nth_id(1);
    let card = app.card_with_ss_password(&clerk, &id, "583920").await;
    for _ in 0..5 {
        assert_eq!(
            login(&app, &id, "wrong-guess-1").await.0,
            StatusCode::UNAUTHORIZED
        );
    }
    let (s, v) = login(&app, &id, &id[10..]).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::TOO_MANY_REQUESTS, Some("too_many_attempts")),
        "even the right one waits"
    );
    assert_eq!(v["error"]["retry_after_s"], 60);
    app.advance("PT60S").await;
    assert_eq!(
        login(&app, &id, "wrong-guess-2").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (_, v) = login(&app, &id, &id[10..]).await;
    assert_eq!(v["error"]["retry_after_s"], 120, "the wait doubles");
    app.advance("PT120S").await;
    let (s, v) = login(&app, &id, &id[10..]).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let view = app.card(&clerk, &card).await;
    assert_eq!(view["ss_account"]["locked"], false);
    assert_eq!(
        view["ss_account"]["remaining_tries"], 3,
        "web failures are counted apart from the card"
    );
    assert_eq!(
        login(&app, &nth_id(9), "whatever1").await.0,
        StatusCode::UNAUTHORIZED,
        "unknown people look the same"
    );
}

// R-PW-8: the transaction password can never be set or read online.
async fn transaction_passwords_are_never_online(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let id = nth_id(1);
    let card = app.card_with_ss_password(&clerk, &id, "583920").await;
    let (_, v) = login(&app, &id, &id[10..]).await;
    let token = v["token"].as_str().unwrap().to_owned();
    app.put(
        "/self/query-password",
        &token,
        json!({"old_password": &id[10..], "new_password": "garden-path-77"}),
    )
    .await;
    let before = app.card(&clerk, &card).await;
    let (s, _) = app
        .put(
            &format!("/cards/{card}/ss-password"),
            &token,
            json!({"old_password": "583920", "new_password": "642097"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(
            &format!("/cards/{card}/ss-password/verify"),
            &token,
            json!({"password": "583920"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = app
        .post(
            &format!("/cards/{card}/ss-password/reset"),
            &token,
            json!({"evidence": {"holder_present": true, "holder_id_checked": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // Nothing changed: the card reads the same, the old password still verifies and no try
    // was counted (a refused request that set or counted a password would pass a status check).
    assert_eq!(app.card(&clerk, &card).await, before);
    let pharmacy = app.actor("pharmacy").await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "583920"}),
        )
        .await;
    assert_eq!((s, &v["verified"]), (StatusCode::OK, &json!(true)), "{v}");
    let trail = app.audit_for_card(&card).await;
    assert!(
        trail.iter().all(|r| r["actor_role"] != "cardholder"),
        "a refused request leaves no trace: {trail:?}"
    );
}
