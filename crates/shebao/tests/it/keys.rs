//! The national key system (R-KM-1, API.md "Keys and terminals"): PSAM terminals whose every
//! request carries a MAC and a rising counter, and card-present operations proved by the
//! chip's cryptogram. A stolen token, a replayed request or a card number without the card
//! moves no money and changes nothing.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use shebao_keys::{CardOperation, FileKeyStore, sim};
use std::sync::atomic::{AtomicU64, Ordering};

on_both_engines!(
    the_contracts_check_value_is_what_the_server_verifies,
    a_psam_purchase_needs_the_mac_the_counter_and_the_card,
    visits_activations_and_password_changes_need_the_card,
    a_replay_is_refused_after_a_restart,
    two_requests_with_one_counter_exactly_one_passes,
    a_terminals_parallel_requests_take_each_counter_once_and_durably,
    psam_numbers_are_checked_and_listed_with_their_last_use,
    require_psam_refuses_bearer_only_terminals,
);

/// The test ministry root of API.md's check values: its city 450600 keys serve every purpose.
const ROOT: &str = "00112233445566778899AABBCCDDEEFF";
const CITY: &str = "450600";

/// A server whose key file holds the city keys derived from the test root.
fn keyed_config(engine: Engine) -> shebao::Config {
    let mut config = config(engine, "national");
    std::fs::create_dir_all(&config.data_dir).unwrap();
    let file = config.data_dir.join("city-keys-test");
    let derived = shebao::keytool::derive(ROOT, CITY, 1).unwrap();
    shebao_keys::write_new(&file, &derived).unwrap();
    config.key_file = Some(file);
    config
}

fn city_keys() -> FileKeyStore {
    FileKeyStore::parse(&shebao::keytool::derive(ROOT, CITY, 1).unwrap()).unwrap()
}

/// A PSAM terminal as a vendor builds it: the MAC over method, path, counter and the exact
/// body bytes, from the same simulator code `shebao terminal sign` prints.
struct Terminal {
    token: String,
    psam_no: String,
    counter: AtomicU64,
    keys: FileKeyStore,
}

impl Terminal {
    async fn new(app: &TestApp, role: &str, psam_no: &str) -> Terminal {
        let (s, v) = app
            .post(
                "/admin/actors",
                ADMIN,
                json!({"role": role, "name": format!("psam {role}"), "region": CITY, "psam_no": psam_no}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        assert_eq!(v["psam_no"], psam_no);
        Terminal {
            token: v["token"].as_str().unwrap().to_owned(),
            psam_no: psam_no.to_owned(),
            counter: AtomicU64::new(0),
            keys: city_keys(),
        }
    }

    fn next(&self) -> u64 {
        self.counter.fetch_add(1, Ordering::SeqCst) + 1
    }

    fn mac(&self, method: &str, path: &str, counter: u64, body: &[u8]) -> String {
        sim::request_mac(
            &self.keys,
            &self.psam_no,
            method,
            &format!("/api/v1{path}"),
            counter,
            body,
        )
        .unwrap()
        .to_string()
    }

    /// Sends with the next counter and a right MAC.
    async fn send(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let counter = self.next();
        self.send_at(app, method, path, body, counter).await
    }

    async fn send_at(
        &self,
        app: &TestApp,
        method: Method,
        path: &str,
        body: Option<Value>,
        counter: u64,
    ) -> (StatusCode, Value) {
        let bytes = body.map(|b| b.to_string().into_bytes()).unwrap_or_default();
        let mac = self.mac(method.as_str(), path, counter, &bytes);
        raw(
            app,
            method,
            path,
            &self.token,
            Some((counter.to_string(), mac)),
            bytes,
        )
        .await
    }
}

/// One request with exactly these headers and body bytes.
async fn raw(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    headers: Option<(String, String)>,
    body: Vec<u8>,
) -> (StatusCode, Value) {
    let mut req = app
        .client
        .request(method, format!("{}{}", app.base, path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body);
    if let Some((counter, mac)) = headers {
        req = req
            .header("X-Terminal-Counter", counter)
            .header("X-Terminal-MAC", mac);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let text = resp.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// The chip's answer for one use of a card.
fn card_auth(
    card: &Card,
    counter: u64,
    op: CardOperation,
    txn: Option<&str>,
    amount: Option<i64>,
) -> Value {
    let mac = sim::card_cryptogram(
        &city_keys(),
        &card.serial,
        &card.no,
        counter,
        op,
        txn,
        amount,
    )
    .unwrap();
    json!({"counter": counter, "cryptogram": mac.to_string()})
}

struct Card {
    no: String,
    serial: String,
}

/// An activated card with a 50-yuan balance, and its serial (read by a clerk).
async fn funded_card(app: &TestApp, clerk: &str, id: &str) -> Card {
    app.person(
        clerk,
        id,
        json!({"legacy_card": {"number": format!("YB{}", &id[14..]), "balance_fen": 5_000}}),
    )
    .await;
    let (s, v) = app.post("/cards", clerk, json!({"id_number": id})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let card = Card {
        no: v["card_no"].as_str().unwrap().to_owned(),
        serial: v["serial"].as_str().unwrap().to_owned(),
    };
    let (s, v) = app
        .post(
            &format!("/cards/{}/activation", card.no),
            clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    card
}

async fn balance(app: &TestApp, clerk: &str, card: &Card) -> i64 {
    app.card(clerk, &card.no).await["balance_fen"]
        .as_i64()
        .unwrap()
}

// R-KM-1, API.md check value: the MAC of `POST\n/api/v1/purchases\n1\n{}` under PSAM
// 4506000000000001's key is A58F9B2C; the server accepts exactly that (the body then fails
// the handler's own check, 400), and refuses the same counter again.
async fn the_contracts_check_value_is_what_the_server_verifies(engine: Engine) {
    let app = TestApp::start(engine, keyed_config(engine)).await;
    let t = Terminal::new(&app, "pharmacy", "4506000000000001").await;
    let check = Some(("1".to_owned(), "A58F9B2C".to_owned()));
    let (s, v) = raw(
        &app,
        Method::POST,
        "/purchases",
        &t.token,
        check.clone(),
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
    assert_eq!(code(&v), Some("bad_request"));
    let (s, v) = raw(
        &app,
        Method::POST,
        "/purchases",
        &t.token,
        check,
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    assert_eq!(code(&v), Some("replayed"));
    // One flipped hex digit, or a body the MAC does not cover: 401 bad_mac.
    let flipped = Some(("2".to_owned(), "A58F9B2C".to_owned()));
    let (s, v) = raw(
        &app,
        Method::POST,
        "/purchases",
        &t.token,
        flipped,
        b"{}".to_vec(),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, Some("bad_mac")),
        "{v}"
    );
}

// R-KM-1: a stolen token alone, a wrong MAC, a body altered after signing, a replayed
// request, a card number without the card, a wrong cryptogram or a replayed one: 401 or 422
// and no money moves. With the card present the purchase is paid, and audited.
async fn a_psam_purchase_needs_the_mac_the_counter_and_the_card(engine: Engine) {
    let app = TestApp::start(engine, keyed_config(engine)).await;
    let clerk = app.actor("clerk").await;
    let card = funded_card(&app, &clerk, &nth_id(1)).await;
    let t = Terminal::new(&app, "pharmacy", "4506000000000007").await;
    let body = |txn: &str, auth: Option<Value>| {
        let mut b = json!({"client_txn_id": txn, "card_no": card.no, "amount_fen": 1_200});
        if let Some(a) = auth {
            b["card_auth"] = a;
        }
        b
    };

    // The token without the headers (what a thief holds).
    let (s, v) = app.post("/purchases", &t.token, body("p1", None)).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, Some("bad_mac")),
        "{v}"
    );
    // A MAC of another body.
    let signed = body(
        "p1",
        Some(card_auth(
            &card,
            1,
            CardOperation::Purchase,
            Some("p1"),
            Some(1_200),
        )),
    );
    let counter = t.next();
    let mac = t.mac("POST", "/purchases", counter, signed.to_string().as_bytes());
    let mut altered = signed.clone();
    altered["amount_fen"] = json!(4_900);
    let (s, v) = raw(
        &app,
        Method::POST,
        "/purchases",
        &t.token,
        Some((counter.to_string(), mac)),
        altered.to_string().into_bytes(),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, Some("bad_mac")),
        "{v}"
    );
    // A leading zero changes the signed text: not the canonical counter.
    let mac = t.mac("POST", "/purchases", counter, signed.to_string().as_bytes());
    let (s, v) = raw(
        &app,
        Method::POST,
        "/purchases",
        &t.token,
        Some((format!("0{counter}"), mac)),
        signed.to_string().into_bytes(),
    )
    .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, Some("bad_mac")),
        "{v}"
    );
    assert_eq!(balance(&app, &clerk, &card).await, 5_000);

    // A card number without the card.
    let (s, v) = t
        .send(&app, Method::POST, "/purchases", Some(body("p2", None)))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("card_auth_required")),
        "{v}"
    );
    let forged = json!({"counter": 1, "cryptogram": "00000000"});
    let (s, v) = t
        .send(
            &app,
            Method::POST,
            "/purchases",
            Some(body("p3", Some(forged))),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_card_auth")),
        "{v}"
    );
    // The chip's answer for another amount does not pay this one.
    let other = card_auth(&card, 1, CardOperation::Purchase, Some("p4"), Some(1));
    let (s, v) = t
        .send(
            &app,
            Method::POST,
            "/purchases",
            Some(body("p4", Some(other))),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_card_auth")),
        "{v}"
    );
    assert_eq!(balance(&app, &clerk, &card).await, 5_000);
    assert_eq!(
        app.count("SELECT count(*) FROM ledger WHERE kind = 'purchase'"),
        0
    );

    // Card present: paid.
    let good = body(
        "p5",
        Some(card_auth(
            &card,
            1,
            CardOperation::Purchase,
            Some("p5"),
            Some(1_200),
        )),
    );
    let counter = t.next();
    let (s, v) = t
        .send_at(
            &app,
            Method::POST,
            "/purchases",
            Some(good.clone()),
            counter,
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["balance_fen"], 3_800);
    // The very same request again: replayed, nothing paid twice.
    let (s, v) = t
        .send_at(
            &app,
            Method::POST,
            "/purchases",
            Some(good.clone()),
            counter,
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, Some("replayed")),
        "{v}"
    );
    // The terminal's retry with a fresh counter: the first answer (idempotent by client id).
    let (s, v) = t.send(&app, Method::POST, "/purchases", Some(good)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["balance_fen"], 3_800);
    // The chip's answer replayed for a new sale: the card's counter did not rise.
    let again = body(
        "p6",
        Some(card_auth(
            &card,
            1,
            CardOperation::Purchase,
            Some("p6"),
            Some(1_200),
        )),
    );
    let (s, v) = t.send(&app, Method::POST, "/purchases", Some(again)).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("card_replayed")),
        "{v}"
    );
    let next = body(
        "p7",
        Some(card_auth(
            &card,
            2,
            CardOperation::Purchase,
            Some("p7"),
            Some(1_200),
        )),
    );
    let (s, v) = t.send(&app, Method::POST, "/purchases", Some(next)).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(balance(&app, &clerk, &card).await, 2_600);
    assert_eq!(
        app.count("SELECT count(*) FROM ledger WHERE kind = 'purchase'"),
        2
    );
    // Reads are verified the same way.
    let bank = Terminal::new(&app, "bank", "4506000000000008").await;
    let (s, v) = bank
        .send(&app, Method::GET, &format!("/cards/{}", card.no), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.get(&format!("/cards/{}", card.no), &bank.token).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, Some("bad_mac")),
        "{v}"
    );
}

// R-KM-1: a visit, an activation and a social-security password change from a PSAM terminal
// carry the chip's answer for that operation; without it nothing changes.
async fn visits_activations_and_password_changes_need_the_card(engine: Engine) {
    let app = TestApp::start(engine, keyed_config(engine)).await;
    let clerk = app.actor("clerk").await;
    let hospital = Terminal::new(&app, "hospital", "4506000000000011").await;
    let pharmacy = Terminal::new(&app, "pharmacy", "4506000000000012").await;
    let id = nth_id(2);
    app.person(&clerk, &id, json!({"region": CITY})).await;
    let (_, v) = app.post("/cards", &clerk, json!({"id_number": id})).await;
    let card = Card {
        no: v["card_no"].as_str().unwrap().to_owned(),
        serial: v["serial"].as_str().unwrap().to_owned(),
    };
    let path = format!("/cards/{}/activation", card.no);
    let (s, v) = hospital
        .send(
            &app,
            Method::POST,
            &path,
            Some(json!({"channel": "hospital"})),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("card_auth_required")),
        "{v}"
    );
    // A purchase's answer is not an activation's.
    let wrong_op = card_auth(&card, 1, CardOperation::Purchase, None, None);
    let (s, v) = hospital
        .send(
            &app,
            Method::POST,
            &path,
            Some(json!({"channel": "hospital", "card_auth": wrong_op})),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("bad_card_auth")),
        "{v}"
    );
    assert_eq!(
        app.card(&clerk, &card.no).await["ss_account"]["state"],
        "inactive"
    );
    let auth = card_auth(&card, 1, CardOperation::Activation, None, None);
    let (s, v) = hospital
        .send(
            &app,
            Method::POST,
            &path,
            Some(json!({"channel": "hospital", "card_auth": auth})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ss_account"]["state"], "active");

    let path = format!("/cards/{}/ss-password", card.no);
    let (s, v) = pharmacy
        .send(
            &app,
            Method::PUT,
            &path,
            Some(json!({"new_password": "271828"})),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("card_auth_required")),
        "{v}"
    );
    assert_eq!(
        app.card(&clerk, &card.no).await["ss_account"]["password_enabled"],
        false
    );
    let auth = card_auth(&card, 2, CardOperation::SsPassword, None, None);
    let (s, v) = pharmacy
        .send(
            &app,
            Method::PUT,
            &path,
            Some(json!({"new_password": "271828", "card_auth": auth})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");

    let visit = |txn: &str, auth: Option<Value>| {
        let mut b = json!({"client_txn_id": txn, "card_no": card.no, "kind": "outpatient", "cost_fen": 3_000});
        if let Some(a) = auth {
            b["card_auth"] = a;
        }
        b
    };
    let (s, v) = hospital
        .send(&app, Method::POST, "/visits", Some(visit("v1", None)))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("card_auth_required")),
        "{v}"
    );
    let auth = card_auth(&card, 3, CardOperation::Visit, Some("v2"), Some(3_000));
    let (s, v) = hospital
        .send(&app, Method::POST, "/visits", Some(visit("v2", Some(auth))))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(app.count("SELECT count(*) FROM settlements"), 1);
    // A staff member at the window needs no chip: the clerk checked the holder in person.
    let (s, v) = app
        .put(
            &path,
            &clerk,
            json!({"old_password": "271828", "new_password": "314159"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

// R-KM-1: the counters are durable: after a restart a recorded request is still a replay.
async fn a_replay_is_refused_after_a_restart(engine: Engine) {
    let config = keyed_config(engine);
    let app = TestApp::start(engine, config.clone()).await;
    let t = Terminal::new(&app, "bank", "4506000000000021").await;
    let clerk = app.actor("clerk").await;
    let card = funded_card(&app, &clerk, &nth_id(3)).await;
    let path = format!("/cards/{}", card.no);
    t.counter.store(41, Ordering::SeqCst);
    let (s, v) = t.send(&app, Method::GET, &path, None).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    app.stop().await;

    let app = TestApp::start(engine, config).await;
    let (s, v) = t.send_at(&app, Method::GET, &path, None, 42).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, Some("replayed")),
        "{v}"
    );
    let (s, v) = t.send_at(&app, Method::GET, &path, None, 7).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNAUTHORIZED, Some("replayed")),
        "{v}"
    );
    let (s, v) = t.send_at(&app, Method::GET, &path, None, 43).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

// R-KM-1: two requests with one counter at the same moment (two purchases that would both
// pay): exactly one passes.
async fn two_requests_with_one_counter_exactly_one_passes(engine: Engine) {
    let app = TestApp::start(engine, keyed_config(engine)).await;
    let clerk = app.actor("clerk").await;
    let card = funded_card(&app, &clerk, &nth_id(4)).await;
    let t = Terminal::new(&app, "pharmacy", "4506000000000031").await;
    for round in 0..5u64 {
        let counter = t.next();
        let body = |k: u64| {
            let txn = format!("r{round}-{k}");
            let chip = 10 * round + k + 1;
            let auth = card_auth(&card, chip, CardOperation::Purchase, Some(&txn), Some(100));
            json!({"client_txn_id": txn, "card_no": card.no, "amount_fen": 100, "card_auth": auth})
        };
        // Both in flight at once.
        let (a, b) = tokio::join!(
            t.send_at(&app, Method::POST, "/purchases", Some(body(0)), counter),
            t.send_at(&app, Method::POST, "/purchases", Some(body(1)), counter),
        );
        let answers = [a, b];
        let passed = answers
            .iter()
            .filter(|(s, _)| *s == StatusCode::CREATED)
            .count();
        let replayed = answers
            .iter()
            .filter(|(s, v)| *s == StatusCode::UNAUTHORIZED && code(v) == Some("replayed"))
            .count();
        assert_eq!((passed, replayed), (1, 1), "{answers:?}");
    }
    assert_eq!(balance(&app, &clerk, &card).await, 5_000 - 5 * 100);
    assert_eq!(
        app.count("SELECT count(*) FROM ledger WHERE kind = 'purchase'"),
        5
    );
}

// R-KM-1: one terminal's requests in flight together (on SQLite they meet in one group
// commit, whose counters the writer keeps in memory and writes once): purchases that pay,
// purchases the card refuses (rolled back, their counter then taken on its own) and reads.
// Each counter lets at most one request through, a refused purchase moves nothing, and after
// a restart the highest counter is the stored one and every counter sent is a replay. (The
// password checks are of cards whose password is not enabled: 200, nothing counted, D-2.)
async fn a_terminals_parallel_requests_take_each_counter_once_and_durably(engine: Engine) {
    let config = keyed_config(engine);
    let app = TestApp::start(engine, config.clone()).await;
    let clerk = app.actor("clerk").await;
    let mut cards = Vec::new();
    for i in 0..6 {
        cards.push(funded_card(&app, &clerk, &nth_id(20 + i)).await);
    }
    let t = Terminal::new(&app, "pharmacy", "4506000000000051").await;
    let requests = (1..=18u64).map(|counter| {
        let card = &cards[usize::try_from(counter / 3).unwrap() % cards.len()];
        let txn = format!("par-{counter}");
        let (method, path, body) = match counter % 3 {
            0 => {
                let auth = card_auth(card, 1, CardOperation::Purchase, Some(&txn), Some(100));
                let body = json!({"client_txn_id": txn, "card_no": card.no, "amount_fen": 100, "card_auth": auth});
                (Method::POST, "/purchases".to_owned(), Some(body))
            }
            1 => {
                let body = json!({"client_txn_id": txn, "card_no": card.no, "amount_fen": 100,
                    "card_auth": {"counter": 1, "cryptogram": "00000000"}});
                (Method::POST, "/purchases".to_owned(), Some(body))
            }
            _ => (
                Method::POST,
                format!("/cards/{}/ss-password/verify", card.no),
                Some(json!({"password": "135790"})),
            ),
        };
        let t = &t;
        let app = &app;
        async move {
            let answer = t.send_at(app, method, &path, body, counter).await;
            (counter, answer)
        }
    });
    let answers = futures_util::future::join_all(requests).await;
    let mut paid = 0;
    for (counter, (s, v)) in &answers {
        let replayed = *s == StatusCode::UNAUTHORIZED && code(v) == Some("replayed");
        let expected = match counter % 3 {
            0 => *s == StatusCode::CREATED,
            1 => *s == StatusCode::UNPROCESSABLE_ENTITY && code(v) == Some("bad_card_auth"),
            _ => *s == StatusCode::OK,
        };
        assert!(expected || replayed, "counter {counter}: {s} {v}");
        if *s == StatusCode::CREATED {
            paid += 1;
        }
    }
    assert_eq!(
        app.count("SELECT count(*) FROM ledger WHERE kind = 'purchase'"),
        paid
    );
    let mut total = 0;
    for card in &cards {
        total += balance(&app, &clerk, card).await;
    }
    assert_eq!(total, 6 * 5_000 - 100 * paid);
    app.stop().await;

    let app = TestApp::start(engine, config).await;
    let (_, v) = app.get("/admin/actors", ADMIN).await;
    let stored = v["actors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["psam_no"] == "4506000000000051")
        .map(|a| a["psam_counter"].clone());
    assert_eq!(stored, Some(json!(18)));
    let path = format!("/cards/{}/ss-password/verify", cards[0].no);
    let check = || Some(json!({"password": "135790"}));
    for counter in 1..=18 {
        let (s, v) = t.send_at(&app, Method::POST, &path, check(), counter).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNAUTHORIZED, Some("replayed")),
            "counter {counter}: {v}"
        );
    }
    let (s, v) = t.send_at(&app, Method::POST, &path, check(), 19).await;
    assert_eq!(s, StatusCode::OK, "{v}");
}

// R-KM-1: psam_no is 16 digits, on a terminal role only, unique; the admin's list shows which
// terminals hold a PSAM and when each was last used; a revoked PSAM terminal stops at once.
async fn psam_numbers_are_checked_and_listed_with_their_last_use(engine: Engine) {
    let app = TestApp::start(engine, keyed_config(engine)).await;
    for (role, psam) in [
        ("clerk", "4506000000000041"),
        ("hotline", "4506000000000041"),
        ("pharmacy", "450600000000004"),
        ("pharmacy", "45060000000000４1"),
        ("pharmacy", "450600000000004a"),
    ] {
        let (s, v) = app
            .post(
                "/admin/actors",
                ADMIN,
                json!({"role": role, "name": "x", "region": CITY, "psam_no": psam}),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_psam_no")),
            "{role} {psam}: {v}"
        );
    }
    let t = Terminal::new(&app, "kiosk", "4506000000000041").await;
    let (s, v) = app
        .post("/admin/actors", ADMIN, json!({"role": "hospital", "name": "twin", "region": CITY, "psam_no": "4506000000000041"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("already_exists")),
        "{v}"
    );
    let listed = |v: &Value| -> Value {
        v["actors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["psam_no"] == "4506000000000041")
            .cloned()
            .unwrap()
    };
    let (_, v) = app.get("/admin/actors", ADMIN).await;
    assert_eq!(listed(&v)["psam_counter"], 0);
    assert!(listed(&v)["psam_used_at"].is_null());
    let clerk = app.actor("clerk").await;
    let card = funded_card(&app, &clerk, &nth_id(5)).await;
    t.counter.store(9, Ordering::SeqCst);
    let (s, v) = t
        .send(&app, Method::GET, &format!("/cards/{}", card.no), None)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (_, v) = app.get("/admin/actors", ADMIN).await;
    assert_eq!(listed(&v)["psam_counter"], 10);
    assert!(
        listed(&v)["psam_used_at"]
            .as_str()
            .unwrap()
            .starts_with("2026-03-02T09:00")
    );
    let id = listed(&v)["id"].as_str().unwrap().to_owned();
    let (s, v) = app
        .delete(&format!("/admin/actors/{id}"), ADMIN, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = t
        .send(&app, Method::GET, &format!("/cards/{}", card.no), None)
        .await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
}

// R-KM-1: with --require-psam a terminal without a PSAM gets 403 psam_required on every call;
// staff and PSAM terminals are served.
async fn require_psam_refuses_bearer_only_terminals(engine: Engine) {
    let mut config = keyed_config(engine);
    config.require_psam = true;
    let app = TestApp::start(engine, config).await;
    let clerk = app.actor("clerk").await;
    let card = funded_card(&app, &clerk, &nth_id(6)).await;
    for role in ["pharmacy", "hospital", "bank", "kiosk"] {
        let token = app.actor_in(role, Some(CITY)).await;
        let (s, v) = app.get(&format!("/cards/{}", card.no), &token).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, Some("psam_required")),
            "{role}: {v}"
        );
        let (s, v) = app
            .post(
                "/purchases",
                &token,
                json!({"client_txn_id": "x", "card_no": card.no, "amount_fen": 1}),
            )
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::FORBIDDEN, Some("psam_required")),
            "{role}: {v}"
        );
    }
    assert_eq!(balance(&app, &clerk, &card).await, 5_000);
    let t = Terminal::new(&app, "pharmacy", "4506000000000051").await;
    let auth = card_auth(&card, 1, CardOperation::Purchase, Some("ok"), Some(100));
    let (s, v) = t
        .send(&app, Method::POST, "/purchases", Some(json!({"client_txn_id": "ok", "card_no": card.no, "amount_fen": 100, "card_auth": auth})))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
}
