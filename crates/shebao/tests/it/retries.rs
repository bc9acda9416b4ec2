//! Issue 16: the writes whose repeat is not naturally harmless take an `Idempotency-Key`, so
//! a client that lost an answer in a failover (503, a cut connection) repeats the request
//! safely: the repeat answers as the first did and changes nothing. Money movements are safe
//! by their `client_txn_id` (settlement.rs, ecard.rs, cluster.rs); this file covers the others:
//! employers, payment records without a number, actors, and the password changes whose repeat
//! would count the replaced old password as a wrong try.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_engines!(
    an_employer_registered_twice_under_one_key_is_one_employer,
    a_payment_record_repeated_under_its_key_is_counted_once,
    an_actor_created_twice_under_one_key_is_one_actor_with_one_working_token,
    a_password_change_repeated_under_its_key_counts_no_wrong_try,
    a_query_password_change_repeated_under_its_key_is_not_throttled,
    the_request_keys_job_forgets_keys_after_30_days,
);

async fn keyed(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    key: &str,
    body: Value,
) -> (StatusCode, Value) {
    app.call_with(
        method,
        path,
        Some(token),
        Some(body),
        &[("Idempotency-Key", key)],
    )
    .await
}

/// 409 `idempotency_key_reused`: the key was used for another request.
fn assert_reused(s: StatusCode, v: &Value) {
    assert_eq!(
        (s, code(v)),
        (StatusCode::CONFLICT, Some("idempotency_key_reused")),
        "{v}"
    );
}

async fn an_employer_registered_twice_under_one_key_is_one_employer(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let body = json!({"name": "兰州机床厂", "prev_year_avg_wage_fen": 712_345});
    let key = "0b8e0a52-6c3e-4c1b-9a43-2f7d0b1f3b11";
    let (s, first) = keyed(&app, Method::POST, "/employers", &clerk, key, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    let (s, again) = keyed(&app, Method::POST, "/employers", &clerk, key, body.clone()).await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "the repeat answers as the first: {again}"
    );
    assert_eq!(again["id"], first["id"]);
    assert_eq!(app.count("SELECT COUNT(*) FROM employers"), 1);
    let audits = app.count("SELECT COUNT(*) FROM audit WHERE action = 'employer.create'");
    assert_eq!(
        audits, 1,
        "the repeat is not audited as a second registration"
    );

    // The same key with another request changes nothing.
    let other = json!({"name": "兰州第二机床厂", "prev_year_avg_wage_fen": 712_345});
    let (s, v) = keyed(&app, Method::POST, "/employers", &clerk, key, other.clone()).await;
    assert_reused(s, &v);
    assert_eq!(app.count("SELECT COUNT(*) FROM employers"), 1);

    // A key is its sender's own: another clerk's request under it is another request.
    let clerk2 = app.actor("clerk").await;
    let (s, v) = keyed(&app, Method::POST, "/employers", &clerk2, key, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_ne!(v["id"], first["id"]);

    // A malformed key is refused before anything is done.
    for bad in ["a b", &"k".repeat(65)] {
        let (s, v) = keyed(&app, Method::POST, "/employers", &clerk, bad, other.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (
                StatusCode::UNPROCESSABLE_ENTITY,
                Some("invalid_idempotency_key")
            ),
            "{bad:?}: {v}"
        );
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM employers"), 2);
}

async fn a_payment_record_repeated_under_its_key_is_counted_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    app.set_clock("2026-03-02T02:00:00Z").await;
    let (s, v) = app
        .post("/employers", &clerk, json!({"name": "兰州机床厂"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let path = format!("/employers/{}/payments", v["id"].as_str().unwrap());
    // A record without the tax bureau's number: only the key tells a repeat from a second
    // payment of the same amount.
    let body = json!({"month": "2026-03", "amount_fen": 50_000, "paid_on": "2026-03-02"});
    let paid = |v: &Value| {
        v["months"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["month"] == "2026-03")
            .map(|m| m["paid_fen"].as_i64().unwrap())
    };
    let (s, first) = keyed(&app, Method::POST, &path, &clerk, "pay-1", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{first}");
    assert_eq!(paid(&first), Some(50_000));
    let (s, again) = keyed(&app, Method::POST, &path, &clerk, "pay-1", body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    assert_eq!(
        paid(&again),
        Some(50_000),
        "the repeat adds nothing: {again}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM payments"), 1);

    let changed = json!({"month": "2026-03", "amount_fen": 60_000, "paid_on": "2026-03-02"});
    let (s, v) = keyed(&app, Method::POST, &path, &clerk, "pay-1", changed).await;
    assert_reused(s, &v);
    // A second payment of the same amount is a new key: it is recorded.
    let (s, v) = keyed(&app, Method::POST, &path, &clerk, "pay-2", body).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(paid(&v), Some(100_000));
    assert_eq!(app.count("SELECT COUNT(*) FROM payments"), 2);
}

async fn an_actor_created_twice_under_one_key_is_one_actor_with_one_working_token(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let body = json!({"role": "pharmacy", "name": "东岗药房"});
    let actors = || app.count("SELECT COUNT(*) FROM actors");
    let before = actors();
    let mut answers = Vec::new();
    for _ in 0..2 {
        let (s, v) = keyed(
            &app,
            Method::POST,
            "/admin/actors",
            ADMIN,
            "act-1",
            body.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        answers.push(v);
    }
    let (first, again) = (&answers[0], &answers[1]);
    assert_eq!(again["id"], first["id"], "no second actor");
    assert_eq!(actors(), before + 1);
    let (old, new) = (
        first["token"].as_str().unwrap(),
        again["token"].as_str().unwrap(),
    );
    assert_ne!(
        old, new,
        "the first token is never kept, so the repeat issues a new one"
    );
    let (s, _) = app.get("/audit?limit=1", new).await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the new token authenticates (a pharmacy)"
    );
    let (s, v) = app.get("/audit?limit=1", old).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, Some("unauthorized")),
        "the first token stops working: {v}"
    );

    let (s, v) = keyed(
        &app,
        Method::POST,
        "/admin/actors",
        ADMIN,
        "act-1",
        json!({"role": "hospital", "name": "东岗药房"}),
    )
    .await;
    assert_reused(s, &v);

    // Revoked since: the repeat does not bring it back.
    let id = first["id"].as_str().unwrap();
    let (s, v) = app
        .delete(&format!("/admin/actors/{id}"), ADMIN, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = keyed(&app, Method::POST, "/admin/actors", ADMIN, "act-1", body).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("revoked")),
        "{v}"
    );
    let (s, _) = app.get("/audit?limit=1", new).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(actors(), before + 1);
}

// R-PW-3, R-LK-1: a repeated change must not count the replaced old password as a wrong try.
async fn a_password_change_repeated_under_its_key_counts_no_wrong_try(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    let path = format!("/cards/{card}/ss-password");
    let change = json!({"old_password": "583920", "new_password": "642097"});
    let (s, first) = keyed(&app, Method::PUT, &path, &pharmacy, "pw-1", change.clone()).await;
    assert_eq!(s, StatusCode::OK, "{first}");
    for _ in 0..4 {
        let (s, again) = keyed(&app, Method::PUT, &path, &pharmacy, "pw-1", change.clone()).await;
        assert_eq!(s, StatusCode::OK, "{again}");
        assert_eq!(again, first, "the repeat answers as the first");
    }
    let v = app.card(&clerk, &card).await;
    assert_eq!(
        v["ss_account"]["remaining_tries"], 3,
        "nothing counted: {v}"
    );
    let verify = format!("/cards/{card}/ss-password/verify");
    let (s, v) = app
        .post(&verify, &pharmacy, json!({"password": "642097"}))
        .await;
    assert_eq!(s, StatusCode::OK, "the first change stands: {v}");
    // Without a key the same repeat is a new change with a wrong old password (why the key).
    let (s, v) = app.put(&path, &pharmacy, change.clone()).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_password")),
        "{v}"
    );
    // A repeat is recognised by its key, card and sender; its passwords are never compared
    // (they are kept in no form), so it cannot test a guess: whatever it sends, it answers as
    // the first did and changes nothing.
    let guess = json!({"old_password": "000001", "new_password": "135790"});
    let (s, v) = keyed(&app, Method::PUT, &path, &pharmacy, "pw-1", guess).await;
    assert_eq!((s, &v), (StatusCode::OK, &first), "{v}");
    let (s, v) = app
        .post(&verify, &pharmacy, json!({"password": "642097"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Another card under the same key is another request.
    let card2 = app
        .card_with_ss_password(&clerk, &nth_id(2), "583920")
        .await;
    let (s, v) = keyed(
        &app,
        Method::PUT,
        &format!("/cards/{card2}/ss-password"),
        &pharmacy,
        "pw-1",
        change,
    )
    .await;
    assert_reused(s, &v);

    // The bank's financial password, which always asks for the old one (R-LK-3).
    let bank = app.actor("bank").await;
    let card3 = app.card_for(&clerk, &nth_id(3), json!({})).await;
    let (s, v) = app
        .post(
            &format!("/cards/{card3}/activation"),
            &bank,
            json!({"channel": "bank", "fin_password": "583920"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let fin = format!("/cards/{card3}/fin-password");
    for _ in 0..4 {
        let (s, v) = keyed(&app, Method::PUT, &fin, &bank, "fin-1", change_fin()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let v = app.card(&bank, &card3).await;
    assert_eq!(v["fin_account"]["locked"], false, "{v}");
    let (s, v) = app
        .post(
            &format!("/cards/{card3}/fin-password/verify"),
            &bank,
            json!({"password": "642097"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

fn change_fin() -> Value {
    json!({"old_password": "583920", "new_password": "642097"})
}

async fn a_query_password_change_repeated_under_its_key_is_not_throttled(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let id = nth_id(1);
    app.card_for(&clerk, &id, json!({})).await;
    let session = app.holder_session(&id).await;
    let change = json!({"old_password": "holder2026pass", "new_password": "holder2027pass"});
    for _ in 0..8 {
        let (s, v) = keyed(
            &app,
            Method::PUT,
            "/self/query-password",
            &session,
            "qp-1",
            change.clone(),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }
    let (s, v) = app
        .call(
            Method::POST,
            "/self/login",
            None,
            Some(json!({"id_number": id, "query_password": "holder2027pass"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "no failure was counted: {v}");
}

async fn the_request_keys_job_forgets_keys_after_30_days(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let keys = || app.count("SELECT COUNT(*) FROM request_keys");
    let (s, v) = keyed(
        &app,
        Method::POST,
        "/employers",
        &clerk,
        "old",
        json!({"name": "甲厂"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.advance("P2D").await;
    let (s, v) = keyed(
        &app,
        Method::POST,
        "/employers",
        &clerk,
        "new",
        json!({"name": "乙厂"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.advance("P29D").await; // "old" is 31 days old, "new" 29.
    let (s, v) = app
        .post("/admin/jobs/request-keys/run", ADMIN, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "ok", "{v}");
    assert_eq!(v["rows"], 1, "{v}");
    assert_eq!(keys(), 1);
    // The younger key still answers its repeat.
    let (s, again) = keyed(
        &app,
        Method::POST,
        "/employers",
        &clerk,
        "new",
        json!({"name": "乙厂"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{again}");
    assert_eq!(app.count("SELECT COUNT(*) FROM employers"), 2);
}
