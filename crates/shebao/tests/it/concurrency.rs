use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::json;

on_both_engines!(parallel_wrong_passwords_never_exceed_n);

// R-LK-1: 40 parallel wrong tries give at most N `wrong_password` answers; the rest are
// `account_locked`. The same holds for the bank's counter (R-LK-3).
async fn parallel_wrong_passwords_never_exceed_n(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let bank = app.actor("bank").await;
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    app.post(
        &format!("/cards/{card}/activation"),
        &bank,
        json!({"channel": "bank", "fin_password": "642097"}),
    )
    .await;
    for (path, token) in [
        (format!("/cards/{card}/ss-password/verify"), &pharmacy),
        (format!("/cards/{card}/fin-password/verify"), &bank),
    ] {
        let tries = (0..40).map(|_| {
            let (client, url, token) = (
                app.client.clone(),
                format!("{}{path}", app.base),
                token.clone(),
            );
            tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"password": "111112"}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            })
        });
        let mut wrong = 0;
        let mut locked = 0;
        for t in tries {
            match t.await.unwrap() {
                StatusCode::UNPROCESSABLE_ENTITY => wrong += 1,
                StatusCode::LOCKED => locked += 1,
                other => panic!("unexpected {other}"),
            }
        }
        assert_eq!(wrong, 3, "{path}: exactly N wrong answers");
        assert_eq!(locked, 37);
    }
}

mod two_servers {
    use super::*;

    // R-EM-4, STYLE 11: two servers sharing one PostgreSQL database run the crediting job at
    // the same moment while a pharmacy keeps selling: every account is credited exactly once,
    // both servers credit some (their claims interleave), and no sale is lost. Catches: a claim
    // that does not exclude the other server's (a credit made twice), and a test that would pass
    // with one server doing all the work.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn crediting_on_two_servers_at_once_credits_once() {
        let config = config(Engine::Postgres, "national");
        let a = TestApp::start(Engine::Postgres, config.clone()).await;
        let mut second = config.clone();
        second.data_dir = config.data_dir.join("second");
        let b = TestApp::start(Engine::Postgres, second).await;
        let clerk = a.actor("clerk").await;
        let pharmacy = a.actor("pharmacy").await;
        let (s, v) = a
            .post("/employers", &clerk, json!({"name": "Big Works"}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let employer = v["id"].as_str().unwrap().to_owned();
        let mut cards = Vec::new();
        for n in 0..60 {
            let card = a
                .card_for(
                    &clerk,
                    &nth_id(n + 1),
                    json!({"employer_id": employer, "contribution_base_fen": 100_000}),
                )
                .await;
            let (s, _) = a
                .post(
                    &format!("/cards/{card}/activation"),
                    &clerk,
                    json!({"channel": "service_center"}),
                )
                .await;
            assert_eq!(s, StatusCode::OK);
            cards.push(card);
        }
        a.set_clock("2026-03-10T08:00:00Z").await;
        let (s, v) = a
            .post(
                &format!("/employers/{employer}/payments"),
                &clerk,
                json!({"month": "2026-03", "amount_fen": 60 * 8_000, "paid_on": "2026-03-10"}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        // April and May paid on time too, so no unit lock stands in May.
        a.set_clock("2026-05-14T02:00:00Z").await;
        for m in ["2026-04", "2026-05"] {
            let (s, v) = a
                .post(
                    &format!("/employers/{employer}/payments"),
                    &clerk,
                    json!({"month": m, "amount_fen": 60 * 8_000, "paid_on": format!("{m}-10")}),
                )
                .await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
        }
        // Both servers share the database; each has its own simulated clock.
        a.set_clock("2026-05-15T02:00:00Z").await;
        b.set_clock("2026-05-15T02:00:00Z").await;
        // A few accounts per transaction, so the two runs interleave, a's batches of two
        // and b's of three: b's batch holding the held row overlaps a's only in part, so b
        // credits the row beyond a's batch and must leave a's two alone.
        let run = |app: &TestApp, batch_rows: u32| {
            let (client, url) = (
                app.client.clone(),
                format!(
                    "{}/admin/jobs/crediting/run?batch_rows={batch_rows}",
                    app.base
                ),
            );
            tokio::spawn(async move {
                let resp = client
                    .post(url)
                    .bearer_auth(ADMIN)
                    .json(&json!({}))
                    .send()
                    .await
                    .unwrap();
                (
                    resp.status(),
                    resp.json::<serde_json::Value>().await.unwrap(),
                )
            })
        };
        // Both runs must overlap for the test to show anything: hold the 31st person's
        // assessment row, start a, wait until it has credited the 30 before it and is stuck on
        // that row, start b, wait until it is stuck on the same row too, then let go. The run
        // that gets the row first credits it; the other finds it credited and goes on.
        let url = a.database_url.clone().unwrap();
        let held = nth_id(31);
        let (release, released) = std::sync::mpsc::channel::<()>();
        let (locked, is_locked) = std::sync::mpsc::channel::<()>();
        let holder = std::thread::spawn(move || {
            let mut client = postgres::Client::connect(&url, postgres::NoTls).unwrap();
            let mut tx = client.transaction().unwrap();
            let rows = tx
                .query(
                    "SELECT 1 FROM assessments WHERE id_number = $1 AND month = '2026-03' FOR UPDATE",
                    &[&held],
                )
                .unwrap();
            assert_eq!(rows.len(), 1);
            locked.send(()).unwrap();
            released.recv().unwrap();
            tx.commit().unwrap();
        });
        is_locked.recv().unwrap();
        let credits = "SELECT count(*) FROM ledger WHERE kind = 'contribution_credit'";
        let ra = run(&a, 2);
        let started = std::time::Instant::now();
        while a.count(credits) < 30 {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "a stalls before the held row"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        let rb = run(&b, 3);
        // Two sessions waiting for a row lock: a and b, both on the held row (nothing else
        // is locked). Only then is the overlap certain.
        let waiting = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'";
        let started = std::time::Instant::now();
        while a.count(waiting) < 2 {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(20),
                "b never reaches the held row"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert_eq!(a.count(credits), 30, "both wait on the held row");
        release.send(()).unwrap();
        holder.join().unwrap();
        let mut sales = Vec::new();
        for (i, card) in cards.iter().enumerate().take(20) {
            let (client, url, token, card) = (
                a.client.clone(),
                format!("{}/purchases", a.base),
                pharmacy.clone(),
                card.clone(),
            );
            sales.push(tokio::spawn(async move {
                client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"client_txn_id": format!("s{i}"), "card_no": card, "amount_fen": 100}))
                    .send()
                    .await
                    .unwrap()
                    .status()
            }));
        }
        let (ra, rb) = (ra.await.unwrap(), rb.await.unwrap());
        assert_eq!(
            (ra.0, rb.0),
            (StatusCode::OK, StatusCode::OK),
            "{ra:?} {rb:?}"
        );
        let (by_a, by_b) = (
            ra.1["rows"].as_i64().unwrap(),
            rb.1["rows"].as_i64().unwrap(),
        );
        // Each row credited by exactly one of them; which one is a race (PostgreSQL usually
        // hands the held row to its first waiter, a, and b trails a batch behind from there).
        assert_eq!(by_a + by_b, 60, "{ra:?} {rb:?}");
        assert!(by_a >= 30, "a credited the 30 before the held row: {ra:?}");
        let mut sold = 0;
        for sale in sales {
            if sale.await.unwrap() == StatusCode::CREATED {
                sold += 1;
            }
        }
        assert_eq!(sold, 20);
        // 2 % + 1.5 % (born 1980, 45 and over) of 1 000 yuan = 3 500 fen, once; minus any sale made after the credit
        // (a sale made before it found an empty account and was paid in cash).
        for (i, card) in cards.iter().enumerate() {
            let c = a.card(&clerk, card).await;
            let (_, l) = a.get(&format!("/cards/{card}/ledger"), &clerk).await;
            let entries = l["entries"].as_array().unwrap();
            let credits = entries
                .iter()
                .filter(|e| e["kind"] == "contribution_credit")
                .count();
            assert_eq!(credits, 1, "{card}: {l}");
            let spent: i64 = entries
                .iter()
                .filter(|e| e["kind"] == "purchase")
                .map(|e| -e["amount_fen"].as_i64().unwrap())
                .sum();
            assert_eq!(c["balance_fen"].as_i64().unwrap(), 3_500 - spent, "{card}");
            if i >= 20 {
                assert_eq!(spent, 0);
            }
        }
        b.stop().await;
        a.stop().await;
    }
}
