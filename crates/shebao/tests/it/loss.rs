//! Loss, release, replacement and collection (R-LS-1..6, R-AC-3, R-ID-2, R-ACT-6, R-LK-5),
//! with the simulated clock crossing the pre-loss lapse and working-day periods over real
//! holidays.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    hotline_pre_loss_lapses_after_ten_days,
    pre_loss_in_writing_or_at_a_terminal_follows_the_regions_days,
    temporary_loss_stops_at_once_until_released,
    formal_loss_needs_evidence_and_is_final,
    replacement_over_national_day_carries_everything,
    guangxi_replacement_takes_twenty_working_days,
    replacement_over_spring_festival,
    financial_loss_is_the_banks_alone,
    transfer_within_the_region_keeps_the_card,
    calendar_years_are_loaded_by_the_operator,
    calendar_cli_loads_a_year_into_the_database,
);

/// The holder in person with ID and the pickup certificate (领卡证明, R-LS-5, 001).
fn pickup_evidence() -> Value {
    json!({"holder_present": true, "holder_id_checked": true, "pickup_certificate": true})
}

async fn verify(app: &TestApp, token: &str, card: &str, password: &str) -> (StatusCode, Value) {
    app.post(
        &format!("/cards/{card}/ss-password/verify"),
        token,
        json!({"password": password}),
    )
    .await
}

// R-LS-1, R-LS-4, D-3: the hotline pre-reports with the ID number alone (never a password);
// the social-security functions stop; the pre-loss lapses by itself 10 × 24 h later.
async fn hotline_pre_loss_lapses_after_ten_days(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let hotline = app.actor("hotline").await;
    let pharmacy = app.actor("pharmacy").await;
    let id = nth_id(1);
    let card = app.card_with_ss_password(&clerk, &id, "583920").await;

    // R-LS-4: a password has no place in a phone report.
    let (s, _) = app
        .post(
            "/hotline/pre-loss",
            &hotline,
            json!({"id_number": id, "password": "583920"}),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, v) = app
        .post("/hotline/pre-loss", &hotline, json!({"id_number": "123"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_id_number"))
    );
    let (s, v) = app
        .post("/hotline/pre-loss", &pharmacy, json!({"id_number": id}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::FORBIDDEN, Some("forbidden")));
    assert!(
        app.audit_for_card(&card)
            .await
            .iter()
            .all(|r| r["action"] != "card.loss.report"),
        "refused reports leave no trace of an effect"
    );

    let (s, v) = app
        .post("/hotline/pre-loss", &hotline, json!({"id_number": id}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "lost");
    assert_eq!(v["loss"]["kind"], "pre");
    assert_eq!(v["loss"]["channel"], "hotline");
    assert_eq!(v["loss"]["reported_at"], "2026-03-02T09:00:00+08:00");
    assert_eq!(v["loss"]["lapses_at"], "2026-03-12T09:00:00+08:00");
    // R-LK-5: why, in words a holder understands, in Chinese and English.
    assert_eq!(v["ss_account"]["locked"], true);
    assert_eq!(v["ss_account"]["lock_reason"], "loss");
    assert!(
        v["ss_account"]["lock_message"]["zh"]
            .as_str()
            .unwrap()
            .contains("挂失")
    );
    assert!(
        v["ss_account"]["lock_message"]["en"]
            .as_str()
            .unwrap()
            .contains("reported lost")
    );

    let (s, v) = verify(&app, &pharmacy, &card, "583920").await;
    assert_eq!(
        (s, code(&v), v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("account_locked"), Some("loss"))
    );
    assert!(v["error"]["message_zh"].as_str().unwrap().contains("挂失"));
    // A second pre-loss changes nothing.
    let (s, v) = app
        .post(
            &format!("/cards/{card}/loss"),
            &hotline,
            json!({"kind": "pre", "channel": "hotline"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("already_reported"))
    );
    // The hotline only pre-reports.
    let (s, _) = app
        .post(
            &format!("/cards/{card}/loss"),
            &hotline,
            json!({"kind": "temporary", "channel": "hotline"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    app.advance("P9DT23H59M").await;
    let (s, v) = verify(&app, &pharmacy, &card, "583920").await;
    assert_eq!(
        (s, v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("loss"))
    );
    app.advance("PT1M").await;
    // Exactly 10 × 24 h later it has lapsed by itself: no job, no clerk.
    let (s, v) = verify(&app, &pharmacy, &card, "583920").await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["status"], "active");
    assert_null(&v, "loss");
    assert_eq!(v["ss_account"]["locked"], false);
    // No attempts were counted while it was lost.
    assert_eq!(v["ss_account"]["remaining_tries"], 3);

    let audit = app.audit_for_card(&card).await;
    let report = audit
        .iter()
        .find(|r| r["action"] == "card.loss.report")
        .expect("the report is audited");
    assert_eq!(report["channel"], "hotline");
    assert_eq!(report["actor_role"], "hotline");
}

// R-LS-1: a pre-loss may also be made in writing at an outlet or at a self-service terminal;
// how long it lasts is the region's policy (here a region that uses 7 days).
async fn pre_loss_in_writing_or_at_a_terminal_follows_the_regions_days(engine: Engine) {
    let national = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/national.toml"),
    )
    .unwrap();
    let seven = national
        .replace("name = \"national\"", "name = \"seven-day\"")
        .replace("pre_loss_days = 10", "pre_loss_days = 7");
    assert_ne!(seven, national);
    // One file per test process: the two engines' runs of this test go at the same time.
    let file = std::env::temp_dir().join(format!(
        "shebao-policy-seven-day-{}-{engine:?}.toml",
        std::process::id()
    ));
    std::fs::write(&file, seven).unwrap();
    let app = TestApp::spawn_with(engine, file.to_str().unwrap()).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let id = nth_id(1);
    let card = app.card_with_ss_password(&clerk, &id, "583920").await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"kind": "pre", "channel": "written"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["loss"]["channel"], "written");
    assert_eq!(v["loss"]["lapses_at"], "2026-03-09T09:00:00+08:00");
    app.advance("P7D").await;
    assert_eq!(
        verify(&app, &pharmacy, &card, "583920").await.0,
        StatusCode::OK
    );

    // At a self-service terminal, in the holder's own session.
    let holder = app.holder_session(&id).await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/loss"),
            &holder,
            json!({"kind": "pre", "channel": "self_service_terminal"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["loss"]["lapses_at"], "2026-03-16T09:00:00+08:00");
    // A pre-loss can be made stronger while it lasts: the holder goes on to a temporary loss.
    let (s, v) = app
        .post(
            &format!("/cards/{card}/loss"),
            &holder,
            json!({"kind": "temporary", "channel": "online"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["loss"]["kind"], "temporary");
    app.advance("P8D").await;
    assert_eq!(
        verify(&app, &pharmacy, &card, "583920").await.0,
        StatusCode::LOCKED,
        "a temporary loss does not lapse"
    );
    let _ = std::fs::remove_file(file);
}

// R-LS-2, R-LK-5: a temporary loss (window, medical institution, online) stops the social-
// security functions at once and stays until a clerk releases it with evidence.
async fn temporary_loss_stops_at_once_until_released(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let hospital = app.actor("hospital").await;
    let pharmacy = app.actor("pharmacy").await;
    let id = nth_id(1);
    let card = app.card_with_ss_password(&clerk, &id, "583920").await;

    // Online: the holder's own session.
    let holder = app.holder_session(&id).await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/loss"),
            &holder,
            json!({"kind": "temporary", "channel": "hotline"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_channel"))
    );
    let other = app.card_for(&clerk, &nth_id(2), json!({})).await;
    let (s, _) = app
        .post(
            &format!("/cards/{other}/loss"),
            &holder,
            json!({"kind": "temporary", "channel": "online"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "a holder reports only their own card"
    );
    let (s, v) = app
        .post(
            &format!("/cards/{card}/loss"),
            &holder,
            json!({"kind": "temporary", "channel": "online"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["loss"]["kind"], "temporary");
    assert_null(&v, "loss.lapses_at");

    let (s, v) = verify(&app, &pharmacy, &card, "583920").await;
    assert_eq!(
        (s, v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("loss"))
    );
    let (s, v) = app
        .put(
            &format!("/cards/{card}/ss-password"),
            &clerk,
            json!({"old_password": "583920", "new_password": "640127"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("loss"))
    );

    // A medical institution may report a temporary loss too; on an unactivated card the
    // activation itself is stopped.
    let card2 = app.card_for(&clerk, &nth_id(3), json!({})).await;
    let (s, v) = app
        .post(
            &format!("/cards/{card2}/loss"),
            &hospital,
            json!({"kind": "temporary", "channel": "medical_institution"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post(
            &format!("/cards/{card2}/activation"),
            &hospital,
            json!({"channel": "hospital"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("loss"))
    );
    // R-ID-3 seam: a lost card is not a reason for a second card; replacement is the way.
    let (s, v) = app
        .post("/cards", &clerk, json!({"id_number": nth_id(3)}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("card_lost")));

    // It does not lapse.
    app.advance("P30D").await;
    let (s, _) = verify(&app, &pharmacy, &card, "583920").await;
    assert_eq!(s, StatusCode::LOCKED);

    // Released at a window: evidence first, only clerks.
    let (s, _) = app
        .delete(
            &format!("/cards/{card}/loss"),
            &hospital,
            json!({"evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app
        .delete(&format!("/cards/{card}/loss"), &clerk, json!({}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required"))
    );
    let (s, v) = app
        .delete(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"evidence": {"holder_present": false, "holder_id_checked": true}}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required"))
    );
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["status"], "lost", "a refused release changes nothing");
    let (s, v) = app
        .delete(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "active");
    assert_null(&v, "ss_account.lock_reason");
    let (s, _) = verify(&app, &pharmacy, &card, "583920").await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = app
        .delete(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"evidence": holder_evidence()}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("not_lost")));
    // The released unactivated card is `issued` again.
    let (s, _) = app
        .delete(
            &format!("/cards/{card2}/loss"),
            &clerk,
            json!({"evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(app.card(&clerk, &card2).await["status"], "issued");

    let actions: Vec<Value> = app
        .audit_for_card(&card)
        .await
        .into_iter()
        .map(|r| r["action"].clone())
        .collect();
    assert!(actions.contains(&json!("card.loss.report")));
    assert!(actions.contains(&json!("card.loss.release")));
}

// R-LS-3: a formal loss is made in person with ID, or by an agent with both IDs and a power
// of attorney; it cannot be released.
async fn formal_loss_needs_evidence_and_is_final(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let hospital = app.actor("hospital").await;
    let id = nth_id(1);
    let card = app.card_with_ss_password(&clerk, &id, "583920").await;
    let (s, _) = app
        .post(
            &format!("/cards/{card}/loss"),
            &hospital,
            json!({"kind": "formal", "channel": "medical_institution", "evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN, "formal loss is for the window");
    let (s, v) = app
        .post(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"kind": "formal", "channel": "window"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required"))
    );
    let agent = id_number("19900505", 7);
    let (s, v) = app
        .post(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"kind": "formal", "channel": "window", "evidence": {
                "holder_present": false, "holder_id_checked": true, "agent_id_number": agent}}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required")),
        "an agent needs a power of attorney: {v}"
    );
    let (s, v) = app
        .post(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"kind": "sideways", "channel": "window"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_kind"))
    );
    assert_eq!(app.card(&clerk, &card).await["status"], "active");

    let (s, v) = app
        .post(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"kind": "formal", "channel": "window", "evidence": {
                "holder_present": false, "holder_id_checked": true, "agent_id_number": agent,
                "power_of_attorney": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["loss"]["kind"], "formal");
    let (s, v) = app
        .delete(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"evidence": holder_evidence()}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("formal_loss")));
    app.advance("P60D").await;
    assert_eq!(app.card(&clerk, &card).await["status"], "lost");
    let audit = app.audit_for_card(&card).await;
    let formal = audit
        .iter()
        .find(|r| r["action"] == "card.loss.report")
        .unwrap();
    assert_eq!(formal["evidence"]["agent_id_number"], agent);
    assert_eq!(formal["evidence"]["power_of_attorney"], true);
}

/// Runs a replacement for `reason` on `card` and returns the answer.
async fn replace(app: &TestApp, clerk: &str, card: &str, reason: &str) -> Value {
    let (s, v) = app
        .post(
            &format!("/cards/{card}/replacement"),
            clerk,
            json!({"reason": reason, "evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    v
}

// R-LS-3, R-LS-5, R-AC-3, D-6, D-10: applied for on Friday 2026-09-25, the card is ready on
// the 15th working day after it: National Day (Oct 1-7 off, Saturday Oct 10 worked) makes that
// Thursday 2026-10-22. The old card is dead at once; the new one carries the balance, the
// password state and the history, is collected with ID, and activates as usual.
async fn replacement_over_national_day_carries_everything(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let id = nth_id(1);
    let card = app
        .card_for(
            &clerk,
            &id,
            json!({"legacy_card": {"number": "YB0001", "balance_fen": 50000}}),
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
    let (s, v) = app
        .put(
            &format!("/cards/{card}/ss-password"),
            &pharmacy,
            json!({"new_password": "583920"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // One wrong try, to see the count carried over.
    assert_eq!(
        verify(&app, &pharmacy, &card, "111112").await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    app.set_clock("2026-09-25T02:00:00Z").await; // Friday 10:00 in Shanghai
    let (s, v) = app
        .post(
            &format!("/cards/{card}/replacement"),
            &clerk,
            json!({"reason": "lost"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required"))
    );
    let (s, v) = app
        .post(
            &format!("/cards/{card}/replacement"),
            &clerk,
            json!({"reason": "stolen", "evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_reason"))
    );
    let (s, _) = app
        .post(
            &format!("/cards/{card}/replacement"),
            &pharmacy,
            json!({"reason": "lost", "evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    assert_eq!(app.card(&clerk, &card).await["status"], "active");

    let r = replace(&app, &clerk, &card, "lost").await;
    assert_eq!(r["ready_on"], "2026-10-22");
    assert_eq!(
        r["fee_fen"], 2000,
        "R-AC-3: a replacement for loss pays the card fee"
    );
    assert_eq!(r["old_card_no"], card.as_str());
    let new = r["new_card_no"].as_str().unwrap().to_owned();
    assert_ne!(new, card);

    // The old card is dead at once, for both accounts.
    let old = app.card(&clerk, &card).await;
    assert_eq!(old["status"], "replaced");
    assert_eq!(old["replaced_by"], new.as_str());
    let (s, v) = verify(&app, &pharmacy, &card, "583920").await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("card_replaced")));
    let (s, v) = app
        .post(
            &format!("/cards/{card}/replacement"),
            &clerk,
            json!({"reason": "lost", "evidence": holder_evidence()}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("card_replaced")));

    // The new card: same person, balance and password state; waiting for collection.
    let v = app.card(&clerk, &new).await;
    assert_eq!(v["status"], "issued");
    assert_eq!(v["id_number"], id.as_str());
    assert_eq!(v["balance_fen"], 50000);
    assert_eq!(v["ss_account"]["password_enabled"], true);
    assert_eq!(v["ss_account"]["remaining_tries"], 2);
    assert_eq!(v["ss_account"]["state"], "inactive");
    assert_eq!(
        v["fin_account"]["state"], "inactive",
        "D-6: the bank reopens it"
    );
    assert_eq!(v["replacement"]["replaces"], card.as_str());
    assert_eq!(v["replacement"]["reason"], "lost");
    assert_eq!(v["replacement"]["ready_on"], "2026-10-22");
    assert_null(&v, "replacement.collected_at");
    let (s, v) = app
        .post(
            &format!("/cards/{new}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("not_collected")));

    // Not collectable before the 15th working day.
    app.set_clock("2026-10-21T08:00:00Z").await; // Wednesday 16:00
    let (s, v) = app
        .post(
            &format!("/cards/{new}/collection"),
            &clerk,
            json!({"evidence": pickup_evidence()}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("not_ready")),
        "{v}"
    );
    app.set_clock("2026-10-21T16:00:00Z").await; // Thursday 00:00 in Shanghai
    let (s, v) = app
        .post(&format!("/cards/{new}/collection"), &clerk, json!({}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required"))
    );
    // R-LS-5 (001): ID alone is not enough; the pickup certificate is named as missing.
    let (s, v) = app
        .post(
            &format!("/cards/{new}/collection"),
            &clerk,
            json!({"evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(
        (s, code(&v), &v["error"]["missing"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("evidence_required"),
            &json!(["pickup_certificate"])
        ),
        "{v}"
    );
    let (s, v) = app
        .post(
            &format!("/cards/{new}/collection"),
            &clerk,
            json!({"evidence": pickup_evidence()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["replacement"]["collected_at"],
        "2026-10-22T00:00:00+08:00"
    );
    let (s, v) = app
        .post(
            &format!("/cards/{new}/collection"),
            &clerk,
            json!({"evidence": pickup_evidence()}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("already_collected"))
    );

    // Activated through the usual channels; the old password works on the new card.
    let (s, v) = app
        .post(
            &format!("/cards/{new}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "active");
    let (s, v) = verify(&app, &pharmacy, &new, "583920").await;
    assert_eq!(s, StatusCode::OK, "{v}");

    // The history follows the person (D-10): the legacy transfer made on the old card.
    let (s, v) = app.get(&format!("/cards/{new}/ledger"), &clerk).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let entries = v["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 1, "{v}");
    assert_eq!(entries[0]["kind"], "legacy_transfer");
    assert_eq!(entries[0]["card_no"], card.as_str());
    // The holder sees it too.
    let holder = app.holder_session(&id).await;
    let (s, v) = app.get(&format!("/cards/{new}/ledger"), &holder).await;
    assert_eq!(
        (s, v["entries"].as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );

    // The person holds both cards, the new one first.
    let (s, v) = app.get(&format!("/persons/{id}"), &clerk).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["cards"][0]["card_no"], new.as_str(), "{v}");
    assert_eq!(v["cards"][1]["status"], "replaced");

    let audit = app.audit_for_card(&card).await;
    let apply = audit
        .iter()
        .find(|r| r["action"] == "card.replacement.apply")
        .expect("audited");
    assert!(apply["detail"].as_str().unwrap().contains(&new));
    assert_eq!(apply["evidence"]["holder_present"], true);
    let formal = audit
        .iter()
        .filter(|r| r["action"] == "card.loss.report")
        .count();
    assert_eq!(
        formal, 0,
        "the formal loss is part of the application record"
    );
    let actions: Vec<Value> = app
        .audit_for_card(&new)
        .await
        .into_iter()
        .map(|r| r["action"].clone())
        .collect();
    assert_eq!(
        actions,
        vec![
            json!("card.issue"),
            json!("card.collect"),
            json!("card.activate"),
            json!("ss_password.verify"),
        ],
        "the refused activation before collection left no record"
    );
}

// R-LS-5: Guangxi makes replacements in 20 working days: from Friday 2026-09-25 that is
// Thursday 2026-10-29.
async fn guangxi_replacement_takes_twenty_working_days(engine: Engine) {
    let app = TestApp::spawn_with(engine, "guangxi").await;
    let clerk = app.actor("clerk").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    app.set_clock("2026-09-25T02:00:00Z").await;
    let r = replace(&app, &clerk, &card, "damaged").await;
    assert_eq!(r["ready_on"], "2026-10-29");
    assert_eq!(r["fee_fen"], 2000);
}

// R-LS-5, R-AC-3, R-ID-2 over the 2026 Spring Festival (Feb 15-23 off, Saturdays Feb 14 and
// Feb 28 worked): applied for on Tuesday 2026-02-10, ready on Monday 2026-03-09. A card face
// with the bureau's own error is remade free.
async fn replacement_over_spring_festival(engine: Engine) {
    let mut config = config(engine, "national");
    config.sim_clock = Some("2026-02-10T03:00:00Z".parse().unwrap());
    let app = TestApp::start(engine, config).await;
    let clerk = app.actor("clerk").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    let r = replace(&app, &clerk, &card, "data_error").await;
    assert_eq!(r["ready_on"], "2026-03-09");
    assert_eq!(r["fee_fen"], 0, "R-ID-2: the bureau's own error is free");
    let new = r["new_card_no"].as_str().unwrap().to_owned();
    // The new card is not collectable on Friday 2026-03-06.
    app.set_clock("2026-03-06T02:00:00Z").await;
    let (s, v) = app
        .post(
            &format!("/cards/{new}/collection"),
            &clerk,
            json!({"evidence": pickup_evidence()}),
        )
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("not_ready")));
    app.set_clock("2026-03-09T01:00:00Z").await;
    let (s, v) = app
        .post(
            &format!("/cards/{new}/collection"),
            &clerk,
            json!({"evidence": pickup_evidence()}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // A second replacement, for changed data, pays the fee.
    let r = replace(&app, &clerk, &new, "data_changed").await;
    assert_eq!(r["fee_fen"], 2000);
    assert_eq!(r["ready_on"], "2026-03-30");
}

// R-LS-6, R-AC-1: the financial account's loss is the bank's; it touches only the bank's side,
// and the bureau's loss never touches the bank's.
async fn financial_loss_is_the_banks_alone(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let bank = app.actor("bank").await;
    let pharmacy = app.actor("pharmacy").await;
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    let (s, v) = app
        .post(&format!("/cards/{card}/fin-loss"), &bank, json!({}))
        .await;
    assert_eq!((s, code(&v)), (StatusCode::CONFLICT, Some("not_activated")));
    let (s, v) = app
        .post(
            &format!("/cards/{card}/activation"),
            &bank,
            json!({"channel": "bank", "fin_password": "640127"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, _) = app
        .post(&format!("/cards/{card}/fin-loss"), &clerk, json!({}))
        .await;
    assert_eq!(
        s,
        StatusCode::FORBIDDEN,
        "the bureau does not record bank losses"
    );
    let (s, v) = app
        .post(&format!("/cards/{card}/fin-loss"), &bank, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["status"], "active", "the card itself is not lost");
    assert_eq!(v["fin_account"]["locked"], true);
    assert_eq!(v["fin_account"]["lock_reason"], "loss");
    assert!(v["fin_account"]["lost_at"].is_string());
    assert!(
        v["fin_account"]["lock_message"]["zh"]
            .as_str()
            .unwrap()
            .contains("银行")
    );
    assert_eq!(v["ss_account"]["locked"], false);
    let (s, v) = app
        .post(
            &format!("/cards/{card}/fin-password/verify"),
            &bank,
            json!({"password": "640127"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["reason"].as_str()),
        (StatusCode::LOCKED, Some("loss"))
    );
    assert!(v["error"]["message_zh"].as_str().unwrap().contains("银行"));
    assert_eq!(
        verify(&app, &pharmacy, &card, "583920").await.0,
        StatusCode::OK
    );
    let (s, v) = app
        .post(&format!("/cards/{card}/fin-loss"), &bank, json!({}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("already_reported"))
    );
    let (s, v) = app
        .delete(&format!("/cards/{card}/fin-loss"), &bank, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["fin_account"]["locked"], false);

    // The bureau's temporary loss stops the social-security side only.
    let (s, _) = app
        .post(
            &format!("/cards/{card}/loss"),
            &clerk,
            json!({"kind": "temporary", "channel": "window"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        verify(&app, &pharmacy, &card, "583920").await.0,
        StatusCode::LOCKED
    );
    let (s, v) = app
        .post(
            &format!("/cards/{card}/fin-password/verify"),
            &bank,
            json!({"password": "640127"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let actions: Vec<Value> = app
        .audit_for_card(&card)
        .await
        .into_iter()
        .map(|r| r["action"].clone())
        .collect();
    assert!(actions.contains(&json!("fin_account.loss.report")));
    assert!(actions.contains(&json!("fin_account.loss.release")));
    // R-AC-2, R-AC-1: the financial account is the bank's debit account; none of the bank's
    // operations writes the personal medical account.
    let (_, l) = app.get(&format!("/cards/{card}/ledger"), &clerk).await;
    assert_eq!(l["entries"], json!([]));
    assert_eq!(app.card(&clerk, &card).await["balance_fen"], 0);
}

// R-ACT-6: insurance moves within the region without a new card.
async fn transfer_within_the_region_keeps_the_card(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let id = nth_id(1);
    // Insured in Fangchenggang's Gangkou district; the move is to another district of Guangxi.
    app.person(&clerk, &id, json!({"region": "450602"})).await;
    let (s, v) = app.post("/cards", &clerk, json!({"id_number": id})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let card = v["card_no"].as_str().unwrap().to_owned();
    let (s, _) = app
        .post(
            &format!("/cards/{card}/activation"),
            &clerk,
            json!({"channel": "service_center"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = app
        .put(
            &format!("/cards/{card}/ss-password"),
            &clerk,
            json!({"new_password": "583920"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let before = app.get(&format!("/persons/{id}"), &clerk).await.1;
    let (s, v) = app
        .post(
            &format!("/persons/{id}/transfer"),
            &clerk,
            json!({"region": "45A"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let (s, _) = app
        .post(
            &format!("/persons/{id}/transfer"),
            &pharmacy,
            json!({"region": "450603"}),
        )
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app
        .post(
            &format!("/persons/{id}/transfer"),
            &clerk,
            json!({"region": "450603"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["region"], "450603");
    assert_ne!(before["region"], v["region"]);
    assert_eq!(v["cards"].as_array().unwrap().len(), 1, "no new card");
    let c = app.card(&clerk, &card).await;
    assert_eq!(c["status"], "active");
    assert_eq!(c["ss_account"]["state"], "active");
    assert_eq!(
        verify(&app, &pharmacy, &card, "583920").await.0,
        StatusCode::OK
    );
    let (s, v) = app.get(&format!("/audit?id_number={id}"), &clerk).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "person.transfer")
    );
}

// The calendar never guesses: a period reaching into 2027 is refused until the operator loads
// the 2027 arrangement; a loaded year is kept in the database and survives a restart.
async fn calendar_years_are_loaded_by_the_operator(engine: Engine) {
    let config = config(engine, "national");
    let app = TestApp::start(engine, config.clone()).await;
    let clerk = app.actor("clerk").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    let (s, v) = app.get("/calendar", &clerk).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["years"].as_array().unwrap().len(), 22, "2005-2026: {v}");

    app.set_clock("2026-12-21T02:00:00Z").await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/replacement"),
            &clerk,
            json!({"reason": "damaged", "evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("calendar_missing"))
    );
    assert!(v["error"]["message"].as_str().unwrap().contains("2027"));
    assert_eq!(
        app.card(&clerk, &card).await["status"],
        "issued",
        "nothing changed"
    );

    let year_2027 = "# years: 2027\n2027-01-01,holiday,New Year's Day\n";
    let (s, _) = app
        .post("/admin/calendar", &clerk, json!({"csv": year_2027}))
        .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app
        .post(
            "/admin/calendar",
            ADMIN,
            json!({"csv": "# years: 2027\n2027-01-04,workday,Monday is not a make-up day\n"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_calendar"))
    );
    let (s, v) = app
        .post("/admin/calendar", ADMIN, json!({"csv": year_2027}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(v["loaded"], json!([2027]));
    assert_eq!(v["years"].as_array().unwrap().len(), 23);
    app.stop().await;

    let app = TestApp::start(engine, config).await;
    app.set_clock("2026-12-21T02:00:00Z").await;
    // Monday 2026-12-21 + 15 working days: Dec 22-31 (8), Jan 1 off, Jan 4-8 (13), Jan 11-12 (15).
    let r = replace(&app, &clerk, &card, "damaged").await;
    assert_eq!(r["ready_on"], "2027-01-12");
    let (s, v) = app.get("/audit", ADMIN).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        v["records"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["action"] == "calendar.load")
    );
}

// The operator's way: `shebao calendar load FILE.csv` stores the year in the database; the
// server counts with it.
async fn calendar_cli_loads_a_year_into_the_database(engine: Engine) {
    let config = config(engine, "national");
    let csv = config.data_dir.join("2027.csv");
    std::fs::create_dir_all(&config.data_dir).unwrap();
    std::fs::write(&csv, "# years: 2027\n2027-01-01,holiday,New Year's Day\n").unwrap();
    let shebao = |args: &[&str]| {
        let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_shebao"));
        command
            .args(args)
            .arg("--data-dir")
            .arg(&config.data_dir)
            .env("SHEBAO_PIN_KEYS", config.pin_keys.as_deref().unwrap())
            .env_remove("SHEBAO_DATABASE_URL");
        if let Some(url) = &config.database_url {
            command.arg("--database-url").arg(url);
        }
        let out = command.output().unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let bad = config.data_dir.join("bad.csv");
    std::fs::write(&bad, "2027-01-01,holiday,x\n").unwrap();
    let (ok, _, err) = shebao(&["calendar", "load", bad.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("years"), "{err}");
    let (ok, out, err) = shebao(&["calendar", "load", csv.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("2027"), "{out}");
    let (ok, out, _) = shebao(&["calendar", "years"]);
    assert!(ok);
    assert!(out.trim().ends_with("2026 2027"), "{out}");

    let app = TestApp::start(engine, config).await;
    let clerk = app.actor("clerk").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    app.set_clock("2026-12-21T02:00:00Z").await;
    let r = replace(&app, &clerk, &card, "damaged").await;
    assert_eq!(r["ready_on"], "2027-01-12");
}
