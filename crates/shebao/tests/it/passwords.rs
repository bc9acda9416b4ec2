use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::json;

on_both_engines!(
    a_server_without_the_verifiers_pin_key_counts_nothing,
    initial_password_is_not_enabled,
    first_password_then_old_one_required,
    password_rules,
    ss_lock_after_n_and_never_by_itself,
    reset_needs_the_policys_evidence,
    guangxi_agent_needs_power_of_attorney,
    shenyang_locks_after_five,
    restore_and_cancel,
    fin_lock_lifts_at_shanghai_midnight,
    accounts_are_independent,
);

// R-PW-3, D-2: 123456 not enabled: verify answers 200 without checking or counting.
async fn initial_password_is_not_enabled(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    app.post(
        &format!("/cards/{card}/activation"),
        &clerk,
        json!({"channel": "service_center"}),
    )
    .await;
    for attempt in ["123456", "999999", "271828", "314159"] {
        let (s, v) = app
            .post(
                &format!("/cards/{card}/ss-password/verify"),
                &pharmacy,
                json!({"password": attempt}),
            )
            .await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!(v, json!({"verified": true, "password_enabled": false}));
    }
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["ss_account"]["remaining_tries"], 3, "nothing counted");
    assert_eq!(v["ss_account"]["locked"], false);
}

// D-7, R-PW-3, R-PW-6: the first password needs no old one; once enabled it does, and a wrong
// old one counts as a wrong try.
async fn first_password_then_old_one_required(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    let path = format!("/cards/{card}/ss-password");
    assert_eq!(
        app.card(&clerk, &card).await["ss_account"]["password_enabled"],
        true
    );
    let (s, v) = app
        .put(&path, &pharmacy, json!({"new_password": "642097"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_password")),
        "old_password needed now"
    );
    let (s, v) = app
        .put(
            &path,
            &pharmacy,
            json!({"old_password": "111112", "new_password": "642097"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_password"))
    );
    assert_eq!(v["error"]["remaining_tries"], 2);
    let (s, v) = app
        .put(
            &path,
            &pharmacy,
            json!({"old_password": "583920", "new_password": "642097"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let verify = format!("/cards/{card}/ss-password/verify");
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": "642097"}))
            .await,
        (
            StatusCode::OK,
            json!({"verified": true, "password_enabled": true})
        )
    );
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": "583920"}))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    // R-PW-6 lists the places that change it, and D-17 adds the hospital's terminals (004:
    // 医疗保险定点单位刷卡终端); no other role may (the SMS platform here).
    let hospital = app.actor("hospital").await;
    assert_eq!(
        app.put(
            &path,
            &hospital,
            json!({"old_password": "642097", "new_password": "583921"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let sms = app.actor("sms").await;
    assert_eq!(
        app.put(
            &path,
            &sms,
            json!({"old_password": "583921", "new_password": "642097"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
}

// R-PW-2: exactly six ASCII digits; 000000 refused; weak ones refused under national policy.
async fn password_rules(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let card = app
        .card_for(
            &clerk,
            &id_number("19850709", 1),
            json!({"phone": "13812345678"}),
        )
        .await;
    app.post(
        &format!("/cards/{card}/activation"),
        &clerk,
        json!({"channel": "service_center"}),
    )
    .await;
    let path = format!("/cards/{card}/ss-password");
    for bad in ["12345", "1234567", "12345a", "１２３４５６", " 12345", ""] {
        let (s, v) = app.put(&path, &clerk, json!({"new_password": bad})).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_password")),
            "{bad:?}"
        );
    }
    let (s, v) = app
        .put(&path, &clerk, json!({"new_password": 583920}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::BAD_REQUEST, Some("bad_request")),
        "a number is the wrong JSON type"
    );
    for weak in ["000000", "111111", "123456", "654321", "850709", "812345"] {
        let (s, v) = app.put(&path, &clerk, json!({"new_password": weak})).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("weak_password")),
            "{weak}"
        );
    }
    assert_eq!(
        app.card(&clerk, &card).await["ss_account"]["password_enabled"],
        false,
        "refusals change nothing"
    );
    let cardholder_cannot = app
        .put(&path, "shb_not_a_token", json!({"new_password": "583920"}))
        .await;
    assert_eq!(cardholder_cannot.0, StatusCode::UNAUTHORIZED);
}

// R-LK-1, R-LK-2, R-LK-5: N wrong in a row lock; a right one in between resets the count;
// the lock never lifts by itself and says why.
async fn ss_lock_after_n_and_never_by_itself(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    let verify = format!("/cards/{card}/ss-password/verify");
    let wrong = json!({"password": "111112"});
    assert_eq!(
        app.post(&verify, &pharmacy, wrong.clone()).await.1["error"]["remaining_tries"],
        2
    );
    assert_eq!(
        app.post(&verify, &pharmacy, wrong.clone()).await.1["error"]["remaining_tries"],
        1
    );
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": "583920"}))
            .await
            .0,
        StatusCode::OK
    );
    for expected in [2, 1, 0] {
        let (s, v) = app.post(&verify, &pharmacy, wrong.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_password"))
        );
        assert_eq!(v["error"]["remaining_tries"], expected);
    }
    let (s, v) = app
        .post(&verify, &pharmacy, json!({"password": "583920"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::LOCKED, Some("account_locked")),
        "even the right password"
    );
    assert_eq!(v["error"]["reason"], "password");
    app.advance("P400D").await;
    let (s, _) = app
        .post(&verify, &pharmacy, json!({"password": "583920"}))
        .await;
    assert_eq!(s, StatusCode::LOCKED, "R-LK-2: never unlocks by itself");
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["ss_account"]["locked"], true);
    assert_eq!(v["ss_account"]["lock_reason"], "password");
    assert_eq!(v["ss_account"]["remaining_tries"], 0);
    assert!(
        v["ss_account"]["lock_message"]["zh"]
            .as_str()
            .unwrap()
            .contains("服务窗口"),
        "R-LK-5: {v}"
    );
    assert!(
        v["ss_account"]["lock_message"]["en"]
            .as_str()
            .unwrap()
            .contains("service window")
    );
    // Changing the password is no way around the lock.
    let (s, _) = app
        .put(
            &format!("/cards/{card}/ss-password"),
            &pharmacy,
            json!({"old_password": "583920", "new_password": "642097"}),
        )
        .await;
    assert_eq!(s, StatusCode::LOCKED);
}

// R-LK-2, R-LK-4: only the holder in person with ID, or an agent with both IDs, at a window.
async fn reset_needs_the_policys_evidence(engine: Engine) {
    let app = TestApp::spawn(engine).await;
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
    let reset = format!("/cards/{card}/ss-password/reset");
    assert_eq!(
        app.post(
            &reset,
            &pharmacy,
            json!({"evidence": {"holder_present": true, "holder_id_checked": true}})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (s, v) = app
        .post(&reset, &clerk, json!({"new_password": "642097"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required"))
    );
    let (s, v) = app.post(&reset, &clerk, json!({"new_password": "642097", "evidence": {"holder_present": true, "holder_id_checked": false}})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required"))
    );
    let (s, v) = app.post(&reset, &clerk, json!({"new_password": "642097", "evidence": {"holder_present": false, "holder_id_checked": true}})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required")),
        "an absent holder needs an agent"
    );
    assert_eq!(
        app.card(&clerk, &card).await["ss_account"]["locked"],
        true,
        "refused resets change nothing"
    );
    let agent = nth_id(2);
    let (s, v) = app
        .post(&reset, &clerk, json!({"new_password": "642097", "evidence": {"holder_present": false, "holder_id_checked": true, "agent_id_number": agent}}))
        .await;
    assert_eq!(
        s,
        StatusCode::OK,
        "national rule: agent ID + holder ID suffice: {v}"
    );
    let v = app.card(&clerk, &card).await;
    assert_eq!(
        (
            v["ss_account"]["locked"].as_bool(),
            v["ss_account"]["remaining_tries"].as_i64()
        ),
        (Some(false), Some(3))
    );
    assert_eq!(
        app.post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "642097"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let records = app.audit_for_card(&card).await;
    let reset_record = records
        .iter()
        .find(|r| r["action"] == "ss_password.reset")
        .unwrap();
    assert_eq!(
        reset_record["evidence"]["agent_id_number"], agent,
        "R-PW-9: evidence kept"
    );
    assert_eq!(reset_record["channel"], "service_window");
}

// R-LK-1, R-LK-4: Guangxi locks after 6 and wants a power of attorney from an agent.
async fn guangxi_agent_needs_power_of_attorney(engine: Engine) {
    let app = TestApp::spawn_with(engine, "guangxi").await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    let verify = format!("/cards/{card}/ss-password/verify");
    for expected in (0..6).rev() {
        let (_, v) = app
            .post(&verify, &pharmacy, json!({"password": "111112"}))
            .await;
        assert_eq!(v["error"]["remaining_tries"], expected);
    }
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": "583920"}))
            .await
            .0,
        StatusCode::LOCKED
    );
    let reset = format!("/cards/{card}/ss-password/reset");
    let agent =
        json!({"holder_present": false, "holder_id_checked": true, "agent_id_number": nth_id(2)});
    let (s, v) = app.post(&reset, &clerk, json!({"evidence": agent})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required"))
    );
    assert!(
        v["error"]["message"]
            .as_str()
            .unwrap()
            .contains("power of attorney"),
        "{v}"
    );
    let mut with_poa = agent.clone();
    with_poa["power_of_attorney"] = json!(true);
    assert_eq!(
        app.post(&reset, &clerk, json!({"evidence": with_poa}))
            .await
            .0,
        StatusCode::OK
    );
}

// R-LK-1, R-PW-3: Shenyang locks after 5 and has no initial password (setting one is voluntary).
async fn shenyang_locks_after_five(engine: Engine) {
    let app = TestApp::spawn_with(engine, "shenyang").await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    app.post(
        &format!("/cards/{card}/activation"),
        &clerk,
        json!({"channel": "service_center"}),
    )
    .await;
    let verify = format!("/cards/{card}/ss-password/verify");
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": "999999"}))
            .await
            .1["password_enabled"],
        false
    );
    app.put(
        &format!("/cards/{card}/ss-password"),
        &clerk,
        json!({"new_password": "583920"}),
    )
    .await;
    for expected in (0..5).rev() {
        assert_eq!(
            app.post(&verify, &pharmacy, json!({"password": "111112"}))
                .await
                .1["error"]["remaining_tries"],
            expected
        );
    }
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": "583920"}))
            .await
            .0,
        StatusCode::LOCKED
    );
}

// R-PW-7: a clerk restores the original (not enabled) password; R-PW-4: the holder in person
// cancels an enabled one.
async fn restore_and_cancel(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let in_person = json!({"holder_present": true, "holder_id_checked": true});
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/ss-password/reset"),
            &clerk,
            json!({"evidence": in_person}),
        )
        .await;
    assert_eq!(
        (s, v["password_enabled"].as_bool()),
        (StatusCode::OK, Some(false))
    );
    let verify = format!("/cards/{card}/ss-password/verify");
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": "583920"}))
            .await
            .1["password_enabled"],
        false
    );
    // The holder changes it again, without an old password (D-7).
    assert_eq!(
        app.put(
            &format!("/cards/{card}/ss-password"),
            &pharmacy,
            json!({"new_password": "642097"})
        )
        .await
        .0,
        StatusCode::OK
    );
    let cancel = format!("/cards/{card}/ss-password");
    let (s, v) = app.delete(&cancel, &clerk, json!({"evidence": {"holder_present": false, "holder_id_checked": true, "agent_id_number": nth_id(2)}})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required")),
        "only the holder in person"
    );
    let (s, v) = app.delete(&cancel, &clerk, json!({})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required"))
    );
    let (s, v) = app
        .delete(&cancel, &clerk, json!({"evidence": in_person}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": "000001"}))
            .await,
        (
            StatusCode::OK,
            json!({"verified": true, "password_enabled": false})
        )
    );
    let (s, v) = app
        .delete(&cancel, &clerk, json!({"evidence": in_person}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("password_not_enabled"))
    );
}

// R-LK-3, D-1: three wrong financial passwords lock until 00:00 Asia/Shanghai the next day;
// a bank branch resets a forgotten one.
async fn fin_lock_lifts_at_shanghai_midnight(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let bank = app.actor("bank").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    app.post(
        &format!("/cards/{card}/activation"),
        &bank,
        json!({"channel": "bank", "fin_password": "583920"}),
    )
    .await;
    app.set_clock("2026-03-02T15:30:00Z").await; // 23:30 in Shanghai
    let verify = format!("/cards/{card}/fin-password/verify");
    for expected in [2, 1, 0] {
        let (_, v) = app
            .post(&verify, &bank, json!({"password": "111112"}))
            .await;
        assert_eq!(v["error"]["remaining_tries"], expected);
    }
    let (s, v) = app
        .post(&verify, &bank, json!({"password": "583920"}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::LOCKED, Some("account_locked")));
    assert_eq!(v["error"]["locked_until"], "2026-03-03T00:00:00+08:00");
    let view = app.card(&clerk, &card).await;
    assert_eq!(
        view["fin_account"]["locked_until"],
        "2026-03-03T00:00:00+08:00"
    );
    app.set_clock("2026-03-02T15:59:59Z").await;
    assert_eq!(
        app.post(&verify, &bank, json!({"password": "583920"}))
            .await
            .0,
        StatusCode::LOCKED
    );
    app.set_clock("2026-03-02T16:00:00Z").await; // 00:00 on the 3rd in Shanghai
    assert_eq!(
        app.post(&verify, &bank, json!({"password": "583920"}))
            .await
            .0,
        StatusCode::OK
    );
    // Forgotten: the bank resets it with the holder's ID; that also lifts a lock.
    for _ in 0..3 {
        app.post(&verify, &bank, json!({"password": "111112"}))
            .await;
    }
    let reset = format!("/cards/{card}/fin-password/reset");
    let (s, v) = app
        .post(&reset, &bank, json!({"new_password": "642097"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required"))
    );
    let (s, v) = app.post(&reset, &bank, json!({"new_password": "642097", "evidence": {"holder_present": true, "holder_id_checked": true}})).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        app.post(&verify, &bank, json!({"password": "642097"}))
            .await
            .0,
        StatusCode::OK
    );
    let change = format!("/cards/{card}/fin-password");
    assert_eq!(
        app.put(
            &change,
            &bank,
            json!({"old_password": "642097", "new_password": "750913"})
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        app.post(&verify, &bank, json!({"password": "750913"}))
            .await
            .0,
        StatusCode::OK
    );
    // The clerk has no say over the bank's password (R-PW-1).
    assert_eq!(
        app.post(&verify, &clerk, json!({"password": "750913"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

// R-AC-1, R-PW-1: separate passwords, separate locks; neither touches the other.
async fn accounts_are_independent(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let bank = app.actor("bank").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    app.post(
        &format!("/cards/{card}/activation"),
        &bank,
        json!({"channel": "bank", "fin_password": "583920"}),
    )
    .await;
    app.post(
        &format!("/cards/{card}/activation"),
        &clerk,
        json!({"channel": "service_center"}),
    )
    .await;
    app.put(
        &format!("/cards/{card}/ss-password"),
        &pharmacy,
        json!({"new_password": "642097"}),
    )
    .await;
    // The financial password is not the social-security one.
    assert_eq!(
        app.post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "583920"})
        )
        .await
        .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    app.post(
        &format!("/cards/{card}/ss-password/verify"),
        &pharmacy,
        json!({"password": "642097"}),
    )
    .await;
    for _ in 0..3 {
        app.post(
            &format!("/cards/{card}/fin-password/verify"),
            &bank,
            json!({"password": "111112"}),
        )
        .await;
    }
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["fin_account"]["locked"], true);
    assert_eq!(v["ss_account"]["locked"], false);
    assert_eq!(v["ss_account"]["remaining_tries"], 3);
    assert_eq!(
        app.post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "642097"})
        )
        .await
        .0,
        StatusCode::OK
    );
    for _ in 0..3 {
        app.post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "111112"}),
        )
        .await;
    }
    app.advance("P1D").await;
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["ss_account"]["locked"], true);
    assert_eq!(
        v["fin_account"]["locked"], false,
        "the bank lock lifted on its own"
    );
    assert_eq!(
        app.post(
            &format!("/cards/{card}/fin-password/verify"),
            &bank,
            json!({"password": "583920"})
        )
        .await
        .0,
        StatusCode::OK
    );
}

// R-LK-1, README "Key rotation": a server that has not loaded the PIN key a verifier was
// sealed under (a rotation reaching several servers one by one) never compares the password
// and never counts it: 503 `unavailable`, and the holder's right password still works on a
// server that holds the key.
async fn a_server_without_the_verifiers_pin_key_counts_nothing(engine: Engine) {
    const K1: &str = "k1 7f3c9a1e5b2d4f6081a3c5e7092b4d6f8a1c3e5f7092b4d6f8a1c3e5f7092b4d";
    const K2: &str = "k2 0a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9";
    let mut config = crate::helpers::config(engine, "national");
    config.pin_keys = Some(format!("{K1}\n{K2}"));
    let app = TestApp::start(engine, config.clone()).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app.funded_card(&clerk, &nth_id(1), 5_000).await;
    let (s, v) = app
        .put(
            &format!("/cards/{card}/ss-password"),
            &clerk,
            json!({"new_password": "583920"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "sealed under k2, the current key: {v}");
    app.stop().await;

    let mut lagging = config.clone();
    lagging.pin_keys = Some(K1.into());
    let app = TestApp::start(engine, lagging).await;
    let verify = format!("/cards/{card}/ss-password/verify");
    let purchase =
        json!({"client_txn_id": "k-1", "card_no": card, "amount_fen": 100, "password": "583920"});
    for _ in 0..4 {
        let (s, v) = app
            .post(&verify, &pharmacy, json!({"password": "583920"}))
            .await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
            "{v}"
        );
    }
    let (s, v) = app.post("/purchases", &pharmacy, purchase.clone()).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::SERVICE_UNAVAILABLE, Some("unavailable")),
        "{v}"
    );
    let v = app.card(&clerk, &card).await;
    assert_eq!(
        v["ss_account"]["remaining_tries"], 3,
        "nothing counted: {v}"
    );
    assert_eq!(v["balance_fen"], 5_000, "no money moved: {v}");
    app.stop().await;

    let app = TestApp::start(engine, config).await;
    let (s, v) = app
        .post(&verify, &pharmacy, json!({"password": "583920"}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.post("/purchases", &pharmacy, purchase.clone()).await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "the terminal's repeat is carried out now: {v}"
    );
    assert_eq!(v["balance_fen"], 4_900);
}
