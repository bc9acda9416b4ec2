//! The PostgreSQL engine when its database goes away or stops answering (API.md "Running on a
//! cluster"): a lost connection is replaced without a restart, a commit that does not answer
//! in time is answered 503 `unavailable` with `Retry-After` (outcome unknown, never a success
//! not seen committed), and the terminal's retry with the same `client_txn_id` pays once.
//! The cluster itself (Patroni, a killed primary) is exercised by the cluster tests; these run
//! on the one test server of `scripts/with-postgres`.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// A purchase; the status, the `Retry-After` header and the body.
async fn purchase(
    app: &TestApp,
    pharmacy: &str,
    card: &str,
    txn: &str,
) -> (StatusCode, Option<String>, Value) {
    let resp = app
        .client
        .post(format!("{}/purchases", app.base))
        .bearer_auth(pharmacy)
        .json(&json!({"client_txn_id": txn, "card_no": card, "amount_fen": 100}))
        .send()
        .await
        .unwrap();
    let status = resp.status();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = serde_json::from_str(&resp.text().await.unwrap()).unwrap();
    (status, retry_after, body)
}

/// Repeats a purchase, as a terminal does, while the answer is 503 `unavailable` with
/// `Retry-After` (any other refusal fails the test); returns the 503s it took.
async fn purchase_until_paid(app: &TestApp, pharmacy: &str, card: &str, txn: &str) -> u32 {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut unavailable = 0;
    loop {
        let (s, retry_after, v) = purchase(app, pharmacy, card, txn).await;
        if s == StatusCode::CREATED {
            return unavailable;
        }
        assert_eq!(
            (s, code(&v), retry_after.is_some()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable"), true),
            "{txn}: {v}"
        );
        unavailable += 1;
        assert!(Instant::now() < deadline, "{txn}: still unavailable");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A read repeated while it is answered 503 `unavailable` (each cut reader connection costs
/// its next job); its answer.
async fn read_until_answered(app: &TestApp, token: &str, path: &str) -> Value {
    for _ in 0..20 {
        let (s, v) = app.get(path, token).await;
        if s == StatusCode::OK {
            return v;
        }
        assert_eq!(
            (s, code(&v)),
            (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
            "{v}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{path}: still unavailable");
}

/// Runs SQL on the server's database beside it.
fn sql(app: &TestApp, statements: &str) {
    let url = app.database_url.clone().expect("a PostgreSQL test");
    let statements = statements.to_owned();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        client.batch_execute(&statements).unwrap();
    })
    .join()
    .unwrap();
}

// API.md "Running on a cluster": every connection of the server is cut (as a failover does);
// the server opens new ones by itself. While it does, the answers are 201 or 503 with
// Retry-After, never 500; every purchase is paid exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lost_connections_are_replaced_without_a_restart() {
    let app = TestApp::spawn(Engine::Postgres).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app.funded_card(&clerk, &nth_id(1), 5_000).await;
    assert_eq!(
        purchase_until_paid(&app, &pharmacy, &card, "before").await,
        0
    );

    sql(
        &app,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    let mut unavailable = 0;
    for i in 0..20 {
        unavailable += purchase_until_paid(&app, &pharmacy, &card, &format!("after-{i}")).await;
    }
    // Each cut connection costs at most its next job (the worker then reconnects).
    assert!(unavailable <= 8, "{unavailable} answers 503");
    // Repeating a paid purchase gives its first answer and moves nothing.
    let (s, _, v) = purchase(&app, &pharmacy, &card, "after-3").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        read_until_answered(&app, &clerk, &format!("/cards/{card}")).await["balance_fen"],
        json!(5_000 - 21 * 100)
    );
    assert_eq!(
        app.count("SELECT count(*) FROM ledger WHERE kind = 'purchase'"),
        21
    );
}

// A failover while the server is quiet cuts its connections without anyone noticing. The next
// requests must not pay for finding out: a connection idle for a second is probed before it
// takes a job, and replaced if it is gone, so no answer is 503.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_cut_while_idle_cost_no_request() {
    let app = TestApp::spawn(Engine::Postgres).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app.funded_card(&clerk, &nth_id(1), 5_000).await;
    assert_eq!(
        purchase(&app, &pharmacy, &card, "before").await.0,
        StatusCode::CREATED
    );
    sql(
        &app,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    );
    // Longer than the idle bound (1 s) of every connection.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    for i in 0..12 {
        let (s, _, v) = purchase(&app, &pharmacy, &card, &format!("after-{i}")).await;
        assert_eq!(s, StatusCode::CREATED, "purchase {i}: {v}");
        let (s, v) = app.get(&format!("/cards/{card}"), &clerk).await;
        assert_eq!(s, StatusCode::OK, "read {i}: {v}");
    }
    assert_eq!(
        app.count("SELECT count(*) FROM ledger WHERE kind = 'purchase'"),
        13
    );
}

// API.md "Running on a cluster", CLUSTER.md pitfalls: a commit that does not answer within the
// bound (here a deferred trigger that sleeps at commit, as a synchronous standby that never
// confirms would) is answered 503 `unavailable` with Retry-After within about the bound, not
// held and never a 201; once the database answers again, the retry with the same
// client_txn_id pays exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_that_does_not_answer_in_time_is_unavailable_and_its_retry_pays_once() {
    let mut config = config(Engine::Postgres, "national");
    config.limits.pg_commit_timeout = Duration::from_millis(800);
    let app = TestApp::start(Engine::Postgres, config).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app.funded_card(&clerk, &nth_id(2), 5_000).await;
    sql(
        &app,
        "CREATE FUNCTION test_slow_commit() RETURNS trigger LANGUAGE plpgsql AS \
           $$ BEGIN PERFORM pg_sleep(30); RETURN NULL; END $$; \
         CREATE CONSTRAINT TRIGGER slow_commit AFTER INSERT ON ledger \
           DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_slow_commit();",
    );
    let started = Instant::now();
    let (s, retry_after, v) = purchase(&app, &pharmacy, &card, "slow").await;
    let waited = started.elapsed();
    assert_eq!(
        (s, code(&v), retry_after.as_deref()),
        (
            StatusCode::SERVICE_UNAVAILABLE,
            Some("unavailable"),
            Some("2")
        ),
        "{v}"
    );
    assert!(
        waited >= Duration::from_millis(800) && waited < Duration::from_secs(5),
        "answered after {waited:?}"
    );
    sql(&app, "DROP TRIGGER slow_commit ON ledger");
    purchase_until_paid(&app, &pharmacy, &card, "slow").await;
    let (s, _, v) = purchase(&app, &pharmacy, &card, "slow").await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        app.card(&clerk, &card).await["balance_fen"],
        json!(5_000 - 100)
    );
    assert_eq!(
        app.count("SELECT count(*) FROM ledger WHERE kind = 'purchase'"),
        1
    );
}
