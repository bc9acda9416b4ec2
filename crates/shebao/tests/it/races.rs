//! Races (issue: test strength, point 3): what two requests at the same moment must never do,
//! on both engines. On SQLite the one writer serialises them inside one server; on PostgreSQL
//! row locks must.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

on_both_engines!(
    parallel_purchases_never_spend_a_fen_twice,
    two_replacement_applications_make_one_card,
    parallel_wrong_logins_count_one_by_one,
    a_loss_racing_purchases_stops_every_later_one,
);

/// Sends `n` requests at once (one task each) and returns their answers in sending order.
async fn at_once(
    app: &TestApp,
    method: Method,
    path: &str,
    token: Option<&str>,
    bodies: Vec<Value>,
) -> Vec<(StatusCode, Value)> {
    let tasks: Vec<_> = bodies
        .into_iter()
        .map(|body| {
            let (client, url, token, method) = (
                app.client.clone(),
                format!("{}{path}", app.base),
                token.map(str::to_owned),
                method.clone(),
            );
            tokio::spawn(async move {
                let mut req = client.request(method, url).json(&body);
                if let Some(t) = token {
                    req = req.bearer_auth(t);
                }
                let r = req.send().await.unwrap();
                let status = r.status();
                (status, r.json::<Value>().await.unwrap())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

async fn funded_card(app: &TestApp, clerk: &str, n: u32, balance: i64) -> String {
    let card = app
        .card_for(
            clerk,
            &nth_id(n),
            json!({"legacy_card": {"number": format!("YB{n}"), "balance_fen": balance}}),
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

// R-MS-1, STYLE 11: 20 purchases of 10 yuan at once on a card holding 100 yuan: the account
// pays exactly 100 yuan in all, each fen once, and the rest is cash. Catches: a balance read
// outside the card's lock (two purchases both paid from the same 10 yuan).
async fn parallel_purchases_never_spend_a_fen_twice(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = funded_card(&app, &clerk, 1, 10_000).await;
    let bodies = (0..20)
        .map(|i| json!({"client_txn_id": format!("r{i}"), "card_no": card, "amount_fen": 1_000}))
        .collect();
    let answers = at_once(&app, Method::POST, "/purchases", Some(&pharmacy), bodies).await;
    let mut from_account = 0;
    let mut cash = 0;
    let mut balances_after = Vec::new();
    for (s, v) in &answers {
        assert_eq!(*s, StatusCode::CREATED, "{v}");
        from_account += v["paid_from_account_fen"].as_i64().unwrap();
        cash += v["cash_due_fen"].as_i64().unwrap();
        if v["paid_from_account_fen"].as_i64().unwrap() > 0 {
            balances_after.push(v["balance_fen"].as_i64().unwrap());
        }
    }
    assert_eq!((from_account, cash), (10_000, 10_000), "{answers:?}");
    balances_after.sort_unstable();
    assert_eq!(
        balances_after,
        (0..10).map(|k| k * 1_000).collect::<Vec<_>>(),
        "each balance step once"
    );
    assert_eq!(app.card(&clerk, &card).await["balance_fen"], 0);
    let (_, l) = app.get(&format!("/cards/{card}/ledger"), &clerk).await;
    let spent: i64 = l["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["kind"] == "purchase")
        .map(|e| e["amount_fen"].as_i64().unwrap())
        .sum();
    assert_eq!(spent, -10_000, "{l}");
}

// R-LS-5, D-10: two replacement applications for one card at once make one new card; the
// other is told the card is replaced. Catches: the old card's state read without its lock
// (two new cards, the balance on both).
async fn two_replacement_applications_make_one_card(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let id = nth_id(1);
    let card = funded_card(&app, &clerk, 1, 5_000).await;
    let body = json!({"reason": "damaged", "evidence": {"holder_present": true, "holder_id_checked": true}});
    let answers = at_once(
        &app,
        Method::POST,
        &format!("/cards/{card}/replacement"),
        Some(&clerk),
        vec![body.clone(), body],
    )
    .await;
    let created: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CREATED)
        .map(|(_, v)| v)
        .collect();
    let refused: Vec<&Value> = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::CONFLICT)
        .map(|(_, v)| v)
        .collect();
    assert_eq!((created.len(), refused.len()), (1, 1), "{answers:?}");
    assert_eq!(refused[0]["error"]["code"], "card_replaced", "{answers:?}");
    let (_, person) = app.get(&format!("/persons/{id}"), &clerk).await;
    let cards = person["cards"].as_array().unwrap();
    assert_eq!(cards.len(), 2, "the old card and one new one: {person}");
    let new = created[0]["new_card_no"].as_str().unwrap();
    assert_eq!(app.card(&clerk, new).await["balance_fen"], 5_000);
    assert_eq!(app.card(&clerk, &card).await["status"], "replaced");
}

// D-4: 20 wrong web logins at once for one ID number count one by one: exactly the 5 free
// failures are answered 401, the others wait (429). Catches: the throttle checked outside the
// write lock (every racing try passing the check at 0 failures).
async fn parallel_wrong_logins_count_one_by_one(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let id = nth_id(1);
    app.card_for(&clerk, &id, json!({})).await;
    let bodies = (0..20)
        .map(|_| json!({"id_number": id, "query_password": "not-the-one-1"}))
        .collect();
    let answers = at_once(&app, Method::POST, "/self/login", None, bodies).await;
    let wrong = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::UNAUTHORIZED)
        .count();
    let waiting = answers
        .iter()
        .filter(|(s, _)| *s == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!((wrong, waiting), (5, 15), "{answers:?}");
    assert_eq!(app.count("SELECT failures FROM login_throttle"), 5);
}

// R-LS-1, R-LS-2: a hotline pre-loss racing ten purchases: purchases before the loss are
// paid, every one after it is refused with reason loss, and nothing is paid after the loss in
// the audit order. Catches: the loss state read before the card's lock was taken.
async fn a_loss_racing_purchases_stops_every_later_one(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let hotline = app.actor("hotline").await;
    let id = nth_id(1);
    let card = funded_card(&app, &clerk, 1, 10_000).await;
    let mut tasks = Vec::new();
    for i in 0..10 {
        let (client, url, token, card) = (
            app.client.clone(),
            format!("{}/purchases", app.base),
            pharmacy.clone(),
            card.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let r = client
                .post(url)
                .bearer_auth(token)
                .json(
                    &json!({"client_txn_id": format!("l{i}"), "card_no": card, "amount_fen": 100}),
                )
                .send()
                .await
                .unwrap();
            let status = r.status();
            (status, r.json::<Value>().await.unwrap())
        }));
        if i == 4 {
            let (client, url, token, id) = (
                app.client.clone(),
                format!("{}/hotline/pre-loss", app.base),
                hotline.clone(),
                id.clone(),
            );
            tasks.push(tokio::spawn(async move {
                let r = client
                    .post(url)
                    .bearer_auth(token)
                    .json(&json!({"id_number": id}))
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                (status, r.json::<Value>().await.unwrap())
            }));
        }
    }
    let mut paid = 0;
    for t in tasks {
        let (s, v) = t.await.unwrap();
        match s {
            StatusCode::CREATED => paid += v["paid_from_account_fen"].as_i64().unwrap(),
            StatusCode::LOCKED => assert_eq!(v["error"]["reason"], "loss", "{v}"),
            StatusCode::OK => assert_eq!(v["status"], "lost", "{v}"),
            other => panic!("unexpected {other}: {v}"),
        }
    }
    let view = app.card(&clerk, &card).await;
    assert_eq!(view["status"], "lost");
    assert_eq!(view["balance_fen"], 10_000 - paid, "{view}");
    // In the audit order, no purchase is paid after the loss report.
    let trail = app.audit_for_card(&card).await;
    let loss_at = trail
        .iter()
        .position(|r| r["action"] == "card.loss.report")
        .expect("the loss is recorded");
    assert!(
        trail[loss_at..]
            .iter()
            .all(|r| !(r["action"] == "purchase" && r["outcome"] == "ok")),
        "{trail:?}"
    );
}
