//! The electronic social security card (电子社保卡, R-KM-2, D-16; API.md "The electronic social
//! security card"): one card, two forms, one state. Activation, single-use codes, expiry by the
//! simulated clock, refusals that leave a code usable, loss and the unit lock reaching the
//! electronic form, the replacement followed, forged and withdrawn codes, and a code accepted at
//! most once however payments interleave.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    activation_follows_the_social_security_account_and_is_audited,
    a_code_pays_once_and_expires,
    a_refused_payment_leaves_the_code_usable,
    loss_and_the_unit_lock_reach_the_electronic_card,
    the_electronic_card_follows_the_replacement,
    forged_withdrawn_and_ambiguous_codes_are_refused,
    a_code_is_accepted_at_most_once_however_payments_interleave,
    a_code_that_pays_uses_up_the_older_ones,
);

/// A holder with an activated card holding 50 yuan, signed in to self-service.
struct Holder {
    id: String,
    card: String,
    session: String,
}

async fn holder(app: &TestApp, clerk: &str, n: u32) -> Holder {
    let id = nth_id(n);
    let card = app
        .card_for(
            clerk,
            &id,
            json!({"legacy_card": {"number": format!("YB{n:04}"), "balance_fen": 5_000}}),
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
    let session = app.holder_session(&id).await;
    Holder { id, card, session }
}

/// A new self-service session (a session lasts 2 hours; the tests move the clock by months).
async fn sign_in_again(app: &TestApp, h: &mut Holder) {
    let (s, v) = app
        .call(
            reqwest::Method::POST,
            "/self/login",
            None,
            Some(json!({"id_number": h.id, "query_password": "holder2026pass"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    h.session = v["token"].as_str().unwrap().to_owned();
}

async fn activate(app: &TestApp, h: &Holder) {
    let (s, v) = app
        .post(&format!("/cards/{}/ecard", h.card), &h.session, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["ecard"]["state"], "active");
}

async fn new_code(app: &TestApp, h: &Holder) -> String {
    let (s, v) = app.post("/self/ecard/code", &h.session, json!({})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let code = v["code"].as_str().unwrap().to_owned();
    assert!(
        code.len() <= 64 && code.bytes().all(|b| b.is_ascii_graphic()),
        "{code}"
    );
    code
}

async fn pay(
    app: &TestApp,
    pharmacy: &str,
    txn: &str,
    code: &str,
    amount: i64,
) -> (StatusCode, Value) {
    app.post(
        "/purchases",
        pharmacy,
        json!({"client_txn_id": txn, "ecard_code": code, "amount_fen": amount}),
    )
    .await
}

async fn balance(app: &TestApp, clerk: &str, card: &str) -> i64 {
    app.card(clerk, card).await["balance_fen"].as_i64().unwrap()
}

// R-KM-2: activated before it can be scanned, only once the social-security account is; by
// the holder for their own card or at the window; audited; GET /cards shows it.
async fn activation_follows_the_social_security_account_and_is_audited(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let id = nth_id(1);
    let card = app.card_for(&clerk, &id, json!({})).await;
    assert_eq!(app.card(&clerk, &card).await["ecard"]["state"], "inactive");
    let (s, v) = app
        .post(&format!("/cards/{card}/ecard"), &clerk, json!({}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("not_activated")),
        "{v}"
    );
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let session = app.holder_session(&id).await;
    let (s, v) = app.post("/self/ecard/code", &session, json!({})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("not_activated")),
        "{v}"
    );

    // Another holder cannot touch this card; a pharmacy may not activate it.
    let other = holder(&app, &clerk, 2).await;
    let (s, _) = app
        .post(&format!("/cards/{card}/ecard"), &other.session, json!({}))
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let pharmacy = app.actor("pharmacy").await;
    let (s, _) = app
        .post(&format!("/cards/{card}/ecard"), &pharmacy, json!({}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    let (s, v) = app
        .post(&format!("/cards/{card}/ecard"), &session, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["ecard"]["state"], "active");
    // Again: nothing changes, nothing more is audited.
    let (s, _) = app
        .post(&format!("/cards/{card}/ecard"), &clerk, json!({}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(app.card(&clerk, &card).await["ecard"]["state"], "active");
    let actions: Vec<Value> = app
        .audit_for_card(&card)
        .await
        .iter()
        .map(|r| r["action"].clone())
        .collect();
    assert_eq!(
        actions.iter().filter(|a| *a == "ecard.activate").count(),
        1,
        "{actions:?}"
    );
    // Deactivated at the window (a lost phone): the physical card is untouched.
    let (s, v) = app
        .delete(&format!("/cards/{card}/ecard"), &clerk, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ecard"]["state"], "inactive");
    assert_eq!(v["status"], "active");
    assert_eq!(v["ss_account"]["state"], "active");
    let actions: Vec<Value> = app
        .audit_for_card(&card)
        .await
        .iter()
        .map(|r| r["action"].clone())
        .collect();
    assert!(actions.contains(&json!("ecard.deactivate")), "{actions:?}");
}

// D-16: a code pays once; a repeat of the same request answers the first result; the code is
// dead for any other payment; after ecard.code_seconds (60 s) a fresh code is needed. The
// audit record says the holder was authenticated by the electronic card.
async fn a_code_pays_once_and_expires(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let h = holder(&app, &clerk, 3).await;
    activate(&app, &h).await;
    let c = new_code(&app, &h).await;
    let first = c.clone();
    let (s, v) = pay(&app, &pharmacy, "e1", &c, 1_200).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["balance_fen"], 3_800);
    let (s, v) = pay(&app, &pharmacy, "e1", &c, 1_200).await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "the terminal's retry gets the first answer: {v}"
    );
    assert_eq!(v["balance_fen"], 3_800);
    let (s, v) = pay(&app, &pharmacy, "e2", &c, 1_200).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("code_used")),
        "{v}"
    );
    let hospital = app.actor("hospital").await;
    let (s, v) = app
        .post("/visits", &hospital, json!({"client_txn_id": "v1", "ecard_code": c, "kind": "outpatient", "cost_fen": 3_000}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("code_used")),
        "{v}"
    );
    assert_eq!(balance(&app, &clerk, &h.card).await, 3_800);
    let purchases: Vec<Value> = app
        .audit_for_card(&h.card)
        .await
        .into_iter()
        .filter(|r| r["action"] == "purchase")
        .collect();
    assert_eq!(purchases.len(), 1);
    assert_eq!(purchases[0]["authorised_by"], "ecard");

    // Expiry on the simulated clock: valid at 59 s, expired at 60 s.
    let c = new_code(&app, &h).await;
    app.advance("PT60S").await;
    let (s, v) = pay(&app, &pharmacy, "e3", &c, 100).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("code_expired")),
        "{v}"
    );
    // Issue 16: a terminal that lost the answer in a failover repeats the payment after its
    // code expired: it gets the first answer, not `code_expired` (which would make it ask
    // the holder for cash a second time).
    let (s, v) = pay(&app, &pharmacy, "e1", &first, 1_200).await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "a late repeat gets the first answer: {v}"
    );
    assert_eq!(v["balance_fen"], 3_800);
    let fresh = new_code(&app, &h).await;
    app.advance("PT59S").await;
    let (s, v) = app
        .post("/visits", &hospital, json!({"client_txn_id": "v2", "ecard_code": fresh, "kind": "outpatient", "cost_fen": 3_000}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "a visit by code at 59 s: {v}");
    assert_eq!(
        balance(&app, &clerk, &h.card).await,
        3_800,
        "a visit is paid by the fund"
    );
}

// D-16: a code is used up only by a payment that succeeds: a missing password (422), a wrong
// one (422, counted) and a lock leave it usable.
async fn a_refused_payment_leaves_the_code_usable(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let h = holder(&app, &clerk, 4).await;
    let (s, v) = app
        .put(
            &format!("/cards/{}/ss-password", h.card),
            &pharmacy,
            json!({"new_password": "582913"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    activate(&app, &h).await;
    let c = new_code(&app, &h).await;
    let (s, v) = pay(&app, &pharmacy, "r1", &c, 500).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_password")),
        "{v}"
    );
    let body = |txn: &str, pw: &str| json!({"client_txn_id": txn, "ecard_code": c, "amount_fen": 500, "password": pw});
    let (s, v) = app
        .post("/purchases", &pharmacy, body("r2", "111112"))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_password")),
        "{v}"
    );
    assert_eq!(v["error"]["remaining_tries"], 2, "counted like any try");
    let (s, v) = app
        .post("/purchases", &pharmacy, body("r3", "582913"))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["balance_fen"], 4_500);
    let (s, v) = app
        .post("/purchases", &pharmacy, body("r4", "582913"))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("code_used")),
        "{v}"
    );
}

// R-KM-2: whatever the physical card goes through, its electronic form goes through at the
// same moment: a loss (423 loss) and the employer's unit lock (423 employer_arrears) refuse a
// code; the code was not used and pays once the loss is released.
async fn loss_and_the_unit_lock_reach_the_electronic_card(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let h = holder(&app, &clerk, 5).await;
    activate(&app, &h).await;
    let c = new_code(&app, &h).await;
    let (s, v) = app
        .post(
            &format!("/cards/{}/loss", h.card),
            &h.session,
            json!({"kind": "temporary", "channel": "online"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = pay(&app, &pharmacy, "l1", &c, 500).await;
    assert_eq!(
        (s, code(&v), v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("account_locked"), Some("loss")),
        "{v}"
    );
    let (s, v) = app
        .delete(
            &format!("/cards/{}/loss", h.card),
            &clerk,
            json!({"evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = pay(&app, &pharmacy, "l2", &c, 500).await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "the refused payment left the code usable: {v}"
    );

    // An employee of an employer in arrears: the unit lock reaches the electronic card.
    let (_, e) = app
        .post("/employers", &clerk, json!({"name": "欠费单位"}))
        .await;
    let employer = e["id"].as_str().unwrap().to_owned();
    let id = nth_id(6);
    let card = app
        .card_for(
            &clerk,
            &id,
            json!({"employer_id": employer, "contribution_base_fen": 600_000}),
        )
        .await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let mut worker = Holder {
        id: id.clone(),
        card: card.clone(),
        session: app.holder_session(&id).await,
    };
    activate(&app, &worker).await;
    // March unpaid by the 15th: locked from April 1.
    app.set_clock("2026-04-01T01:00:00Z").await;
    sign_in_again(&app, &mut worker).await;
    let c = new_code(&app, &worker).await;
    let (s, v) = pay(&app, &pharmacy, "u1", &c, 100).await;
    assert_eq!(
        (s, v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("employer_arrears")),
        "{v}"
    );
    let hospital = app.actor("hospital").await;
    let (s, v) = app
        .post("/visits", &hospital, json!({"client_txn_id": "u2", "ecard_code": c, "kind": "outpatient", "cost_fen": 3_000}))
        .await;
    assert_eq!(
        (s, v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("employer_arrears")),
        "{v}"
    );
}

// D-16: the code stands for the holder's current card: a code made before a replacement
// reaches the new card (which, like the plastic one, must be collected first: 409
// not_collected); the electronic card follows the holder onto the new card.
async fn the_electronic_card_follows_the_replacement(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let mut h = holder(&app, &clerk, 7).await;
    activate(&app, &h).await;
    app.set_clock("2026-09-25T02:00:00Z").await; // Friday 10:00 in Shanghai
    sign_in_again(&app, &mut h).await;
    let before = new_code(&app, &h).await;
    let (s, r) = app
        .post(
            &format!("/cards/{}/replacement", h.card),
            &clerk,
            json!({"reason": "lost", "evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    let new = r["new_card_no"].as_str().unwrap().to_owned();
    assert_eq!(
        app.card(&clerk, &h.card).await["ecard"]["state"],
        "inactive",
        "the dead card's form is dead"
    );
    assert_eq!(
        app.card(&clerk, &new).await["ecard"]["state"],
        "active",
        "it followed the holder"
    );
    let (s, v) = pay(&app, &pharmacy, "x1", &before, 100).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("not_collected")),
        "{v}"
    );

    app.set_clock("2026-10-22T02:00:00Z").await; // the ready day
    let (s, v) = app
        .post(&format!("/cards/{new}/collection"), &clerk, json!({"evidence": {"holder_present": true, "holder_id_checked": true, "pickup_certificate": true}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            &format!("/cards/{new}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    sign_in_again(&app, &mut h).await;
    let after = new_code(&app, &h).await;
    let (s, v) = pay(&app, &pharmacy, "x2", &after, 1_000).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(balance(&app, &clerk, &new).await, 4_000);
}

// API.md: a code that never existed or fails its MAC → 422 invalid_code (before any database
// read); both card_no and ecard_code, or neither → 422; after a deactivation the unused codes
// are withdrawn (invalid_code) and new ones refused (not_activated).
async fn forged_withdrawn_and_ambiguous_codes_are_refused(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let h = holder(&app, &clerk, 8).await;
    activate(&app, &h).await;
    let c = new_code(&app, &h).await;
    let mut forged = c.clone().into_bytes();
    let at = forged.len() - 1;
    forged[at] = if forged[at] == b'0' { b'1' } else { b'0' };
    let forged = String::from_utf8(forged).unwrap();
    for bad in [
        forged.as_str(),
        // Well formed, but no MAC of ours; and a code of the form before V12.
        "EC2.000000000000.00000001.9999999999.00000000.00000000",
        "EC1.00000000000000000000.9999999999.00000000",
        "hello",
        &"9".repeat(65),
    ] {
        let (s, v) = pay(&app, &pharmacy, "f1", bad, 100).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_code")),
            "{bad}: {v}"
        );
    }
    let (s, v) = app
        .post(
            "/purchases",
            &pharmacy,
            json!({"client_txn_id": "f2", "card_no": h.card, "ecard_code": c, "amount_fen": 100}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_card_no")),
        "{v}"
    );
    let (s, v) = app
        .post(
            "/purchases",
            &pharmacy,
            json!({"client_txn_id": "f3", "amount_fen": 100}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_card_no")),
        "{v}"
    );
    assert_eq!(balance(&app, &clerk, &h.card).await, 5_000);

    let (s, _) = app
        .delete(&format!("/cards/{}/ecard", h.card), &h.session, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = pay(&app, &pharmacy, "f4", &c, 100).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_code")),
        "{v}"
    );
    let (s, v) = app.post("/self/ecard/code", &h.session, json!({})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("not_activated")),
        "{v}"
    );
    // Activated again: a new code works, the withdrawn one stays dead.
    activate(&app, &h).await;
    let (s, v) = pay(&app, &pharmacy, "f5", &c, 100).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_code")),
        "{v}"
    );
    let fresh = new_code(&app, &h).await;
    let (s, v) = pay(&app, &pharmacy, "f6", &fresh, 100).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(balance(&app, &clerk, &h.card).await, 4_900);
}

// D-16: codes are counted on the card row and used up in order: a payment with one uses up the
// codes made before it (a screenshot of an older code is dead), never the ones made after.
async fn a_code_that_pays_uses_up_the_older_ones(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let h = holder(&app, &clerk, 10).await;
    activate(&app, &h).await;
    let (a, b) = (new_code(&app, &h).await, new_code(&app, &h).await);
    assert_ne!(a, b);
    let (s, v) = pay(&app, &pharmacy, "o1", &a, 100).await;
    assert_eq!(s, StatusCode::CREATED, "the older code pays first: {v}");
    let (s, v) = pay(&app, &pharmacy, "o2", &b, 100).await;
    assert_eq!(s, StatusCode::CREATED, "the newer one still pays: {v}");
    let (c, d) = (new_code(&app, &h).await, new_code(&app, &h).await);
    let (s, v) = pay(&app, &pharmacy, "o3", &d, 100).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let (s, v) = pay(&app, &pharmacy, "o4", &c, 100).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("code_used")),
        "older than a code that paid: {v}"
    );
    // A repeat of a payment answers as the first did and moves nothing.
    let (s, v) = pay(&app, &pharmacy, "o3", &d, 100).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(balance(&app, &clerk, &h.card).await, 4_700);
}

// D-16, property: however purchases and visits with one code interleave (several rounds of
// parallel payments from two pharmacies and a hospital), exactly one succeeds, the others are
// code_used, and the balance moved once.
async fn a_code_is_accepted_at_most_once_however_payments_interleave(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let terminals = [app.actor("pharmacy").await, app.actor("pharmacy").await];
    let hospital = app.actor("hospital").await;
    let h = holder(&app, &clerk, 9).await;
    activate(&app, &h).await;
    let mut expected = 5_000;
    for round in 0..6u32 {
        let c = new_code(&app, &h).await;
        let mut sends = Vec::new();
        for k in 0..6u32 {
            let (app, c) = (&app, c.clone());
            let pharmacy = &terminals[(k as usize + round as usize) % 2];
            let hospital = &hospital;
            sends.push(async move {
                if (k + round) % 3 == 0 {
                    let body = json!({"client_txn_id": format!("v{round}-{k}"), "ecard_code": c, "kind": "outpatient", "cost_fen": 1_000});
                    (false, app.post("/visits", hospital, body).await)
                } else {
                    (true, pay(app, pharmacy, &format!("p{round}-{k}"), &c, 10).await)
                }
            });
        }
        let answers = futures_util_join_all(sends).await;
        let won: Vec<&(bool, (StatusCode, Value))> = answers
            .iter()
            .filter(|(_, (s, _))| s.is_success())
            .collect();
        assert_eq!(won.len(), 1, "round {round}: {answers:?}");
        for (_, (s, v)) in answers.iter().filter(|(_, (s, _))| !s.is_success()) {
            assert_eq!(
                (*s, code(v)),
                (StatusCode::CONFLICT, Some("code_used")),
                "round {round}: {v}"
            );
        }
        if won[0].0 {
            expected -= 10;
        }
        assert_eq!(
            balance(&app, &clerk, &h.card).await,
            expected,
            "round {round}"
        );
    }
}

/// Polls every future at once (the test binary has no futures crate): each in its own task.
async fn futures_util_join_all<F>(futures: Vec<F>) -> Vec<F::Output>
where
    F: std::future::Future,
{
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}
