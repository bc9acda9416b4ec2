use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::json;

on_both_engines!(
    bank_activation_then_social_security_24_hours_later,
    direct_channels_activate_at_once,
    legacy_card_moves_over_on_activation,
    legacy_password_is_kept_and_enabled,
    channels_check_role_and_state,
    inactive_accounts_refuse_password_changes,
);

// R-ACT-1, R-ACT-2, R-ACT-4: bank activation opens the financial account with its own
// password; the social-security account activates 24 hours later and the old card's
// balance moves then.
async fn bank_activation_then_social_security_24_hours_later(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let bank = app.actor("bank").await;
    let card = app
        .card_for(
            &clerk,
            &nth_id(1),
            json!({"legacy_card": {"number": "YB0001", "balance_fen": 12345}}),
        )
        .await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &bank,
            json!({"channel": "bank"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_password")),
        "fin_password is required"
    );
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &bank,
            json!({"channel": "bank", "fin_password": "000000"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("weak_password"))
    );
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &bank,
            json!({"channel": "bank", "fin_password": "583920"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "active");
    assert_eq!(v["fin_account"]["state"], "active");
    assert_eq!(v["ss_account"]["state"], "inactive");
    assert!(v["ss_account"]["activates_at"].is_string());
    assert_eq!(
        v["balance_fen"], 0,
        "the old card keeps working until activation (R-ACT-4)"
    );
    let (s, _) = app
        .post(
            &format!("/cards/{card}/fin-password/verify"),
            &bank,
            json!({"password": "583920"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    app.advance("PT23H59M").await;
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["ss_account"]["state"], "inactive");
    app.advance("PT1M").await;
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["ss_account"]["state"], "active", "{v}");
    assert_eq!(v["balance_fen"], 12345);
    let (_, p) = app.get(&format!("/persons/{}", nth_id(1)), &clerk).await;
    assert!(
        p["legacy_card"]["migrated_at"].is_string(),
        "the old card stops working (R-ACT-4): {p}"
    );
    let (_, ledger) = app.get(&format!("/cards/{card}/ledger"), &clerk).await;
    assert_eq!(
        ledger["entries"].as_array().unwrap().len(),
        1,
        "moved once: {ledger}"
    );
    assert_eq!(ledger["entries"][0]["kind"], "legacy_transfer");
    assert_eq!(ledger["entries"][0]["amount_fen"], 12345);
    // A second look does not move it again.
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["balance_fen"], 12345);
}

// R-ACT-3, R-ACT-7: hospital, SMS and service centre activate the social-security account at
// once; an inactive financial account does not stop medical use.
async fn direct_channels_activate_at_once(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let hospital = app.actor("hospital").await;
    let pharmacy = app.actor("pharmacy").await;
    let c1 = app.card_for(&clerk, &nth_id(1), json!({})).await;
    let (s, v) = app
        .post(
            &format!("/cards/{c1}/activation"),
            &hospital,
            json!({"channel": "hospital"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ss_account"]["state"], "active");
    assert_eq!(v["fin_account"]["state"], "inactive");
    let (s, v) = app
        .post(
            &format!("/cards/{c1}/ss-password/verify"),
            &pharmacy,
            json!({"password": "123456"}),
        )
        .await;
    assert_eq!(
        (s, v["password_enabled"].as_bool()),
        (StatusCode::OK, Some(false)),
        "R-ACT-7: medical use works"
    );

    let c2 = app
        .card_for(&clerk, &nth_id(2), json!({"phone": "13912345678"}))
        .await;
    let serial = app.card(&clerk, &c2).await["serial"]
        .as_str()
        .unwrap()
        .to_owned();
    let (s, v) = app
        .post(
            &format!("/cards/{c2}/activation"),
            &clerk,
            json!({"channel": "sms", "sms_from": "13900000000", "sms_text": format!("K{serial}")}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("sms_mismatch")),
        "only from the registered phone"
    );
    let (s, v) = app
        .post(
            &format!("/cards/{c2}/activation"),
            &clerk,
            json!({"channel": "sms", "sms_from": "13912345678", "sms_text": format!("K{serial}")}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ss_account"]["state"], "active");

    let c3 = app.card_for(&clerk, &nth_id(3), json!({})).await;
    let (s, v) = app
        .post(
            &format!("/cards/{c3}/activation"),
            &clerk,
            json!({"channel": "sms"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("phone_not_registered"))
    );
    let (s, v) = app
        .post(
            &format!("/cards/{c3}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ss_account"]["state"], "active");
    assert_eq!(v["status"], "active");
}

// R-ACT-3, R-ACT-4: inserting the old medical card at a pharmacy activates the new one, once.
async fn legacy_card_moves_over_on_activation(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app
        .card_for(
            &clerk,
            &nth_id(1),
            json!({"legacy_card": {"number": "YB77", "balance_fen": 8800}}),
        )
        .await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &pharmacy,
            json!({"channel": "pharmacy_old_card", "old_card_number": "YB78"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::UNPROCESSABLE_ENTITY,
        "someone else's old card: {v}"
    );
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &pharmacy,
            json!({"channel": "pharmacy_old_card", "old_card_number": "YB77"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["balance_fen"], 8800);
    assert_eq!(v["ss_account"]["password_enabled"], false);
    // Only for a first exchange: no old card, no such activation.
    let other = app.card_for(&clerk, &nth_id(2), json!({})).await;
    let (s, v) = app
        .post(
            &format!("/cards/{other}/activation"),
            &pharmacy,
            json!({"channel": "pharmacy_old_card"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("no_legacy_card"))
    );
}

// R-ACT-3, D-11: the old card's password entered on the new card carries over, enabled; a
// wrong one counts against the lock like any other (R-LK-1).
async fn legacy_password_is_kept_and_enabled(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app
        .card_for(
            &clerk,
            &nth_id(1),
            json!({"legacy_card": {"number": "YB5", "balance_fen": 100, "password": "271828"}}),
        )
        .await;
    let path = format!("/cards/{card}/activation");
    let (s, v) = app
        .post(
            &path,
            &pharmacy,
            json!({"channel": "pharmacy_old_password", "old_card_password": "271829"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_password"))
    );
    assert_eq!(v["error"]["remaining_tries"], 2);
    assert_eq!(
        app.card(&clerk, &card).await["ss_account"]["state"],
        "inactive"
    );
    let (s, v) = app
        .post(
            &path,
            &pharmacy,
            json!({"channel": "pharmacy_old_password", "old_card_password": "271828"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["ss_account"]["password_enabled"], true);
    assert_eq!(
        v["ss_account"]["remaining_tries"], 3,
        "a right password resets the count"
    );
    assert_eq!(v["balance_fen"], 100);
    let verify = format!("/cards/{card}/ss-password/verify");
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": "271828"}))
            .await
            .0,
        StatusCode::OK
    );
    assert_eq!(
        app.post(&verify, &pharmacy, json!({"password": "123456"}))
            .await
            .0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
}

async fn channels_check_role_and_state(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let hospital = app.actor("hospital").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    let path = format!("/cards/{card}/activation");
    assert_eq!(
        app.post(
            &path,
            &pharmacy,
            json!({"channel": "bank", "fin_password": "583920"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(&path, &pharmacy, json!({"channel": "hospital"}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
    let (s, v) = app
        .post(&path, &hospital, json!({"channel": "carrier_pigeon"}))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_channel"))
    );
    assert_eq!(
        app.post(&path, &hospital, json!({"channel": "hospital"}))
            .await
            .0,
        StatusCode::OK
    );
    let (s, v) = app
        .post(&path, &hospital, json!({"channel": "hospital"}))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_active"))
    );
    let (s, _) = app
        .post(
            "/cards/S99999999/activation",
            &hospital,
            json!({"channel": "hospital"}),
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

// R-ACT-5: a card that is not activated cannot have its password changed.
async fn inactive_accounts_refuse_password_changes(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let bank = app.actor("bank").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    let (s, v) = app
        .put(
            &format!("/cards/{card}/ss-password"),
            &clerk,
            json!({"new_password": "583920"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_activated"))
    );
    let (s, v) = app
        .put(
            &format!("/cards/{card}/fin-password"),
            &bank,
            json!({"old_password": "583920", "new_password": "583921"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_activated"))
    );
    let (s, v) = app
        .post(
            &format!("/cards/{card}/ss-password/verify"),
            &clerk,
            json!({"password": "583920"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("not_activated"))
    );
    assert_eq!(
        app.card(&clerk, &card).await["ss_account"]["password_enabled"],
        false
    );
}
