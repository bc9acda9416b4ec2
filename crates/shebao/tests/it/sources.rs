//! What the sources say (issue: channels, regions, the holder's record, employers'
//! applications): each item through HTTP on both engines, with the region differences on the
//! shipped policies. Each test cites its rule or decision.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::{Value, json};

on_both_engines!(
    guangxi_bank_branches_reset_the_password_elsewhere_not,
    shenyang_enables_the_social_security_function_at_bank_activation,
    out_of_area_hospitalisation_uses_the_cards_password,
    residents_may_be_kept_to_the_bureau_hall,
    an_uncollected_replacement_is_used_nowhere,
    collection_needs_the_pickup_certificate,
    the_kiosk_and_the_hospital_terminals,
    the_voice_menu_changes_only_an_enabled_password,
    the_contribution_record,
    the_holders_own_trail_says_how_each_payment_was_authorised,
    employers_apply_for_cards_in_bulk,
    chronic_outpatient_care_at_its_ratio_and_never_under_a_unit_lock,
    the_initial_password_is_the_regions_rule,
    xian_asks_the_employer_letter,
    a_move_keeps_the_card_only_within_the_province,
);

async fn activate(app: &TestApp, token: &str, card: &str, body: Value) -> (StatusCode, Value) {
    app.post(&format!("/cards/{card}/activation"), token, body)
        .await
}

// R-LK-2 (003 §5(一)2, 004): in Guangxi the partner bank's branches unlock and reset the
// social-security password; under the national and Shenyang rules a bank's reset stays 403.
async fn guangxi_bank_branches_reset_the_password_elsewhere_not(engine: Engine) {
    for (policy, bank_may) in [("guangxi", true), ("national", false), ("shenyang", false)] {
        let app = TestApp::spawn_with(engine, policy).await;
        let clerk = app.actor("clerk").await;
        let bank = app.actor("bank").await;
        let card = app
            .card_with_ss_password(&clerk, &nth_id(1), "583920")
            .await;
        let (s, v) = app
            .post(
                &format!("/cards/{card}/ss-password/reset"),
                &bank,
                json!({"new_password": "642097", "evidence": holder_evidence()}),
            )
            .await;
        if bank_may {
            assert_eq!(s, StatusCode::OK, "{policy}: {v}");
            let audit = app.audit_for_card(&card).await;
            assert!(
                audit
                    .iter()
                    .any(|r| r["action"] == "ss_password.reset" && r["actor_role"] == "bank"),
                "{policy}: {audit:?}"
            );
        } else {
            assert_eq!(
                (s, code(&v)),
                (StatusCode::FORBIDDEN, Some("forbidden")),
                "{policy}: {v}"
            );
        }
        let (s, _) = app
            .post(
                &format!("/cards/{card}/ss-password/reset"),
                &clerk,
                json!({"new_password": "731946", "evidence": holder_evidence()}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{policy}: the window always may");
    }
}

// R-ACT-2 (000 G #4: 同时): in Shenyang the social-security function is enabled at the moment
// of bank activation, the old card's balance with it; elsewhere 24 hours later (003 §4).
async fn shenyang_enables_the_social_security_function_at_bank_activation(engine: Engine) {
    for (policy, at_once) in [("shenyang", true), ("guangxi", false)] {
        let app = TestApp::spawn_with(engine, policy).await;
        let clerk = app.actor("clerk").await;
        let bank = app.actor("bank").await;
        let card = app
            .card_for(
                &clerk,
                &nth_id(1),
                json!({"legacy_card": {"number": "YB1", "balance_fen": 4_200}}),
            )
            .await;
        let (s, v) = activate(
            &app,
            &bank,
            &card,
            json!({"channel": "bank", "fin_password": "583920"}),
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{policy}: {v}");
        let view = app.card(&clerk, &card).await;
        assert_eq!(view["fin_account"]["state"], "active", "{policy}");
        if at_once {
            assert_eq!(view["ss_account"]["state"], "active", "{policy}: {view}");
            assert_eq!(
                view["balance_fen"], 4_200,
                "{policy}: the old card's balance moved"
            );
        } else {
            assert_eq!(view["ss_account"]["state"], "inactive", "{policy}: {view}");
            assert_eq!(
                view["ss_account"]["activates_at"],
                "2026-03-03T09:00:00+08:00"
            );
            assert_eq!(view["balance_fen"], 0);
        }
    }
}

// 000 I, R-PW-5, R-LK-1: an out-of-area inpatient stay on a card whose password is enabled
// needs the password (missing 422 invalid_password, wrong 422 wrong_password and counted);
// local stays and out-of-area outpatient visits need none.
async fn out_of_area_hospitalisation_uses_the_cards_password(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let here = app.actor_in("hospital", Some("110000")).await;
    let away = app.actor_in("hospital", Some("450600")).await;
    let id = nth_id(1);
    let card = app.card_with_ss_password(&clerk, &id, "583920").await;
    let (s, v) = app
        .post(
            "/filings",
            &clerk,
            json!({"id_number": id, "kind": "long_term_residence", "region": "450600"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let visit = |txn: &str, kind: &str, password: Option<&str>| {
        let mut body =
            json!({"client_txn_id": txn, "card_no": card, "kind": kind, "cost_fen": 10_000});
        if let Some(p) = password {
            body["password"] = json!(p);
        }
        body
    };
    let (s, v) = app
        .post("/visits", &away, visit("a1", "inpatient", None))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_password")),
        "{v}"
    );
    let (s, v) = app
        .post("/visits", &away, visit("a2", "inpatient", Some("111112")))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_password")),
        "{v}"
    );
    assert_eq!(v["error"]["remaining_tries"], 2, "counted like any try");
    assert_eq!(
        app.card(&clerk, &card).await["ss_account"]["remaining_tries"],
        2
    );
    let (s, v) = app
        .post("/visits", &away, visit("a3", "inpatient", Some("583920")))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        app.card(&clerk, &card).await["ss_account"]["remaining_tries"],
        3,
        "a right one resets"
    );
    for (token, txn, kind) in [(&here, "h1", "inpatient"), (&away, "a4", "outpatient")] {
        let (s, v) = app.post("/visits", token, visit(txn, kind, None)).await;
        assert_eq!(s, StatusCode::CREATED, "{kind}: {v}");
    }
    let trail = app.audit_for_card(&card).await;
    let authorised: Vec<&str> = trail
        .iter()
        .filter(|r| r["action"] == "visit" && r["outcome"] == "ok")
        .map(|r| r["authorised_by"].as_str().unwrap())
        .collect();
    assert_eq!(authorised, ["password", "card", "card"], "{trail:?}");
}

// R-ACT-3 (000 I): a region may keep residents' activation to the bureau's hall; the example
// region file does. A resident is refused every other channel (and a hospital's first use),
// nothing changes; an employee keeps every channel.
async fn residents_may_be_kept_to_the_bureau_hall(engine: Engine) {
    let policy = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../policies/examples/residents-hall-only.toml"
    );
    let app = TestApp::spawn_with(engine, policy).await;
    let clerk = app.actor("clerk").await;
    let hospital = app.actor("hospital").await;
    let bank = app.actor("bank").await;
    let resident = app
        .card_for(&clerk, &nth_id(1), json!({"kind": "resident"}))
        .await;
    let employee = app.card_for(&clerk, &nth_id(2), json!({})).await;
    for (token, body) in [
        (&hospital, json!({"channel": "hospital"})),
        (&bank, json!({"channel": "bank", "fin_password": "583920"})),
    ] {
        let (s, v) = activate(&app, token, &resident, body.clone()).await;
        assert_eq!(
            (s, code(&v)),
            (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_channel")),
            "{body}: {v}"
        );
    }
    let (s, v) = app
        .post("/visits", &hospital, json!({"client_txn_id": "v1", "card_no": resident, "kind": "outpatient", "cost_fen": 5_000}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_channel")),
        "{v}"
    );
    let view = app.card(&clerk, &resident).await;
    assert_eq!(
        (
            view["ss_account"]["state"].as_str(),
            view["fin_account"]["state"].as_str()
        ),
        (Some("inactive"), Some("inactive"))
    );
    let (s, v) = activate(
        &app,
        &clerk,
        &resident,
        json!({"channel": "service_center"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "at the hall: {v}");
    let (s, v) = activate(&app, &hospital, &employee, json!({"channel": "hospital"})).await;
    assert_eq!(s, StatusCode::OK, "an employee keeps the hospital: {v}");
    // The shipped profiles let residents use every channel.
    let national = TestApp::spawn(engine).await;
    let clerk = national.actor("clerk").await;
    let hospital = national.actor("hospital").await;
    let card = national
        .card_for(&clerk, &nth_id(1), json!({"kind": "resident"}))
        .await;
    assert_eq!(
        activate(&national, &hospital, &card, json!({"channel": "hospital"}))
            .await
            .0,
        StatusCode::OK
    );
}

// R-LS-5: an uncollected replacement is activated by no channel and used by no visit, a
// hospital's first use included (409 not_collected); nothing changes.
async fn an_uncollected_replacement_is_used_nowhere(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let hospital = app.actor("hospital").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    let (s, v) = app
        .post(
            &format!("/cards/{card}/replacement"),
            &clerk,
            json!({"reason": "damaged", "evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let new = v["new_card_no"].as_str().unwrap().to_owned();
    let (s, v) = app
        .post(
            "/visits",
            &hospital,
            json!({"client_txn_id": "v1", "card_no": new, "kind": "outpatient", "cost_fen": 5_000}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("not_collected")),
        "{v}"
    );
    let (s, v) = activate(&app, &hospital, &new, json!({"channel": "hospital"})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("not_collected")),
        "{v}"
    );
    let view = app.card(&clerk, &new).await;
    assert_eq!(view["ss_account"]["state"], "inactive");
    assert!(view["replacement"]["collected_at"].is_null(), "{view}");
    assert_eq!(app.count("SELECT count(*) FROM settlements"), 0);
}

// R-LS-5 (001): collection needs the ID and the pickup certificate (领卡证明).
async fn collection_needs_the_pickup_certificate(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    let (_, v) = app
        .post(
            &format!("/cards/{card}/replacement"),
            &clerk,
            json!({"reason": "data_error", "evidence": holder_evidence()}),
        )
        .await;
    let new = v["new_card_no"].as_str().unwrap().to_owned();
    app.set_clock("2026-03-23T01:00:00Z").await;
    let path = format!("/cards/{new}/collection");
    let (s, v) = app
        .post(&path, &clerk, json!({"evidence": holder_evidence()}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required")),
        "{v}"
    );
    assert_eq!(v["error"]["missing"], json!(["pickup_certificate"]));
    let (s, v) = app
        .post(
            &path,
            &clerk,
            json!({"evidence": {"holder_present": false, "holder_id_checked": false}}),
        )
        .await;
    assert_eq!(
        v["error"]["missing"],
        json!(["holder_id_checked", "agent_id_number", "pickup_certificate"]),
        "every missing piece, in order: {s} {v}"
    );
    let (s, v) = app
        .post(&path, &clerk, json!({"evidence": {"holder_present": true, "holder_id_checked": true, "pickup_certificate": true}}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let trail = app.audit_for_card(&new).await;
    assert!(
        trail
            .iter()
            .any(|r| r["action"] == "card.collect" && r["evidence"]["pickup_certificate"] == true),
        "{trail:?}"
    );
}

// R-PW-6, R-LS-1, D-17: the self-service terminal (kiosk) with the card inserted changes the
// password, makes a pre-loss and reads the card (its number, status, states and balance, never
// the holder); the hospital's terminals change the password and make a pre-loss (001, 004).
async fn the_kiosk_and_the_hospital_terminals(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let (s, v) = app
        .post(
            "/admin/actors",
            ADMIN,
            json!({"role": "kiosk", "name": "Hall kiosk 3"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["region"], "110000", "a terminal sits at a place");
    let kiosk = v["token"].as_str().unwrap().to_owned();
    let hospital = app.actor("hospital").await;
    for (n, token) in [(1, &kiosk), (2, &hospital)] {
        let card = app
            .card_for(
                &clerk,
                &nth_id(n),
                json!({"legacy_card": {"number": format!("YB{n}"), "balance_fen": 300}}),
            )
            .await;
        assert_eq!(
            activate(&app, &clerk, &card, json!({"channel": "service_center"}))
                .await
                .0,
            StatusCode::OK
        );
        let (s, v) = app
            .put(
                &format!("/cards/{card}/ss-password"),
                token,
                json!({"new_password": "583920"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{n}: {v}");
        let (s, v) = app
            .put(
                &format!("/cards/{card}/ss-password"),
                token,
                json!({"old_password": "583920", "new_password": "642097"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{n}: {v}");
        let (s, v) = app
            .post(
                &format!("/cards/{card}/loss"),
                token,
                json!({"kind": "pre"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{n}: {v}");
        assert_eq!(v["loss"]["kind"], "pre");
        for personal in ["name", "id_number", "bank_card_no", "serial"] {
            assert!(v.get(personal).is_none(), "{n}: no {personal}: {v}");
        }
    }
    let card = app.card_for(&clerk, &nth_id(3), json!({})).await;
    let (s, v) = app.get(&format!("/cards/{card}"), &kiosk).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    assert_eq!(
        v["balance_fen"], 0,
        "the holder reads the balance at the kiosk"
    );
    assert!(
        v.get("id_number").is_none() && v.get("name").is_none(),
        "{v}"
    );
    // A kiosk neither verifies for a sale nor reports a formal loss.
    assert_eq!(
        app.post(
            &format!("/cards/{card}/ss-password/verify"),
            &kiosk,
            json!({"password": "123456"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        app.post(
            &format!("/cards/{card}/loss"),
            &kiosk,
            json!({"kind": "formal", "evidence": holder_evidence()})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
}

// D-17: by phone (12333) the holder changes an enabled password with the old one; the first
// password is never set by phone (409 not_enabled), and the old one is always asked.
async fn the_voice_menu_changes_only_an_enabled_password(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let hotline = app.actor("hotline").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    assert_eq!(
        activate(&app, &clerk, &card, json!({"channel": "service_center"}))
            .await
            .0,
        StatusCode::OK
    );
    let path = format!("/cards/{card}/ss-password");
    let (s, v) = app
        .put(
            &path,
            &hotline,
            json!({"old_password": "123456", "new_password": "583920"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::CONFLICT, Some("not_enabled")),
        "{v}"
    );
    assert_eq!(
        app.card(&clerk, &card).await["ss_account"]["password_enabled"],
        false
    );
    assert_eq!(
        app.put(&path, &clerk, json!({"new_password": "583920"}))
            .await
            .0,
        StatusCode::OK
    );
    let (s, v) = app
        .put(&path, &hotline, json!({"new_password": "642097"}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_password")),
        "{v}"
    );
    let (s, v) = app
        .put(
            &path,
            &hotline,
            json!({"old_password": "111112", "new_password": "642097"}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_password")),
        "{v}"
    );
    let (s, v) = app
        .put(
            &path,
            &hotline,
            json!({"old_password": "583920", "new_password": "642097"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let pharmacy = app.actor("pharmacy").await;
    assert_eq!(
        app.post(
            &format!("{path}/verify"),
            &pharmacy,
            json!({"password": "642097"})
        )
        .await
        .0,
        StatusCode::OK
    );
}

// R-CR-2: the contribution record month by month — employer, base, assessment, the
// employee's 2 %, paid or not, credited amount and day — for a clerk and for the holder
// their own (another's is answered as unknown).
async fn the_contribution_record(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let (s, v) = app
        .post("/employers", &clerk, json!({"name": "记录厂"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let employer = v["id"].as_str().unwrap().to_owned();
    let id = nth_id(1);
    app.card_for(
        &clerk,
        &id,
        json!({"employer_id": employer, "contribution_base_fen": 100_000}),
    )
    .await;
    app.person(&clerk, &nth_id(2), json!({})).await;
    app.set_clock("2026-03-10T08:00:00Z").await;
    let (s, v) = app
        .post(
            &format!("/employers/{employer}/payments"),
            &clerk,
            json!({"month": "2026-03", "amount_fen": 8_000, "paid_on": "2026-03-10"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    app.set_clock("2026-05-15T02:00:00Z").await;
    // April and May are assessed by the month's job (neither is paid).
    let (s, v) = app
        .post("/admin/jobs/monthly-deadline/run", ADMIN, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app
        .post("/admin/jobs/crediting/run", ADMIN, json!({}))
        .await;
    assert_eq!((s, v["rows"].as_i64()), (StatusCode::OK, Some(1)), "{v}");
    let (s, v) = app
        .get(&format!("/persons/{id}/contributions"), &clerk)
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let months = v["months"].as_array().unwrap();
    assert_eq!(months.len(), 3, "March, April, May: {v}");
    assert_eq!(
        months[0],
        json!({"month": "2026-03", "employer_id": employer, "base_fen": 100_000, "assessed_fen": 8_000,
               "employee_part_fen": 2_000, "paid": true, "credited_fen": 3_500, "credited_on": "2026-05-15"})
    );
    assert_eq!(
        (
            months[1]["month"].as_str(),
            months[1]["paid"].as_bool(),
            months[1]["credited_fen"].as_i64()
        ),
        (Some("2026-04"), Some(false), Some(0))
    );
    assert!(months[1]["credited_on"].is_null());
    let holder = app.holder_session(&id).await;
    let (s, own) = app
        .get(&format!("/persons/{id}/contributions"), &holder)
        .await;
    assert_eq!((s, &own), (StatusCode::OK, &v));
    let other = nth_id(2);
    assert_eq!(
        app.get(&format!("/persons/{other}/contributions"), &holder)
            .await
            .0,
        StatusCode::NOT_FOUND
    );
    let hotline = app.actor("hotline").await;
    assert_eq!(
        app.get(&format!("/persons/{id}/contributions"), &hotline)
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

// R-PW-9: the holder reads their own trail, and a purchase's record says how the holder was
// authorised (not_enabled, then password); nobody else's records show.
async fn the_holders_own_trail_says_how_each_payment_was_authorised(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let id = nth_id(1);
    let card = app
        .card_for(
            &clerk,
            &id,
            json!({"legacy_card": {"number": "YB1", "balance_fen": 5_000}}),
        )
        .await;
    let other = app.card_for(&clerk, &nth_id(2), json!({})).await;
    assert_eq!(
        activate(&app, &clerk, &card, json!({"channel": "service_center"}))
            .await
            .0,
        StatusCode::OK
    );
    let buy = |txn: &str, password: Option<&str>| {
        let mut body = json!({"client_txn_id": txn, "card_no": card, "amount_fen": 100});
        if let Some(p) = password {
            body["password"] = json!(p);
        }
        body
    };
    assert_eq!(
        app.post("/purchases", &pharmacy, buy("p1", None)).await.0,
        StatusCode::CREATED
    );
    assert_eq!(
        app.put(
            &format!("/cards/{card}/ss-password"),
            &pharmacy,
            json!({"new_password": "583920"})
        )
        .await
        .0,
        StatusCode::OK
    );
    assert_eq!(
        app.post("/purchases", &pharmacy, buy("p2", Some("583920")))
            .await
            .0,
        StatusCode::CREATED
    );
    let holder = app.holder_session(&id).await;
    let (s, v) = app.get("/self/audit", &holder).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let records = v["records"].as_array().unwrap();
    assert!(
        records.iter().all(|r| r["id_number"] == id.as_str()),
        "only the holder's own: {v}"
    );
    assert!(records.iter().all(|r| r["card_no"] != other.as_str()));
    let purchases: Vec<&str> = records
        .iter()
        .filter(|r| r["action"] == "purchase")
        .map(|r| r["authorised_by"].as_str().unwrap())
        .collect();
    assert_eq!(purchases, ["not_enabled", "password"], "{v}");
    for action in [
        "card.issue",
        "card.activate",
        "ss_password.change",
        "self.login",
    ] {
        assert!(
            records.iter().any(|r| r["action"] == action),
            "{action}: {v}"
        );
    }
    let (s, v) = app.get("/self/audit?limit=2", &holder).await;
    assert_eq!(
        (s, v["records"].as_array().unwrap().len()),
        (StatusCode::OK, 2)
    );
    assert_eq!(
        app.get("/self/audit", &clerk).await.0,
        StatusCode::FORBIDDEN
    );
}

// R-ID-3: the employer applies for its insured people's cards in bulk: cards for those
// without one, the rest skipped with the reason, nothing issued twice; another employer's
// application is answered as unknown.
async fn employers_apply_for_cards_in_bulk(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let mut employers = Vec::new();
    for name in ["申领厂", "Other Co"] {
        let (_, v) = app.post("/employers", &clerk, json!({"name": name})).await;
        let id = v["id"].as_str().unwrap().to_owned();
        let (_, a) = app
            .post(
                "/admin/actors",
                ADMIN,
                json!({"role": "employer", "name": name, "employer_id": id}),
            )
            .await;
        employers.push((id, a["token"].as_str().unwrap().to_owned()));
    }
    let (employer, token) = employers[0].clone();
    let (a, b, outsider, with_card, stranger) =
        (nth_id(1), nth_id(2), nth_id(3), nth_id(4), nth_id(5));
    for id in [&a, &b, &with_card] {
        app.person(
            &clerk,
            id,
            json!({"employer_id": employer, "contribution_base_fen": 100_000}),
        )
        .await;
    }
    app.person(&clerk, &outsider, json!({"employer_id": employers[1].0}))
        .await;
    assert_eq!(
        app.post("/cards", &clerk, json!({"id_number": with_card}))
            .await
            .0,
        StatusCode::CREATED
    );
    let path = format!("/employers/{employer}/card-applications");
    let body = json!({"id_numbers": [a, b, outsider, with_card, stranger, "12345", a]});
    let (s, v) = app.post(&path, &token, body.clone()).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let issued: Vec<&str> = v["issued"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["id_number"].as_str().unwrap())
        .collect();
    assert_eq!(issued, [a.as_str(), b.as_str()], "{v}");
    let reasons: Vec<(&str, &str)> = v["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| {
            (
                x["id_number"].as_str().unwrap(),
                x["reason"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        reasons,
        [
            (outsider.as_str(), "not_insured_here"),
            (with_card.as_str(), "has_card"),
            (stranger.as_str(), "not_registered"),
            ("12345", "invalid_id_number"),
            (a.as_str(), "listed_twice"),
        ]
    );
    let card_a = v["issued"][0]["card_no"].as_str().unwrap().to_owned();
    assert_eq!(app.card(&clerk, &card_a).await["id_number"], a.as_str());
    // Again: nothing issued twice.
    let (s, v) = app.post(&path, &token, json!({"id_numbers": [a, b]})).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(v["issued"], json!([]));
    assert!(
        v["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .all(|x| x["reason"] == "has_card"),
        "{v}"
    );
    // Another employer's list is not this employer's to apply for; a clerk may.
    let (s, v) = app
        .post(&path, &employers[1].1, json!({"id_numbers": [outsider]}))
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::NOT_FOUND, Some("not_found")),
        "{v}"
    );
    let (s, v) = app
        .post(
            &format!("/employers/{}/card-applications", employers[1].0),
            &clerk,
            json!({"id_numbers": [outsider]}),
        )
        .await;
    assert_eq!(
        (s, v["issued"].as_array().map(Vec::len)),
        (StatusCode::CREATED, Some(1)),
        "{v}"
    );
    let (s, v) = app.post(&path, &token, json!({"id_numbers": []})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_id_numbers"))
    );
}

// D-18: chronic outpatient care (门诊慢特病) is fund-paid at the policy's ratio (70 %); like all
// fund-paid care it is refused under a unit lock (R-EM-2).
async fn chronic_outpatient_care_at_its_ratio_and_never_under_a_unit_lock(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let hospital = app.actor("hospital").await;
    let (_, v) = app
        .post("/employers", &clerk, json!({"name": "慢病厂"}))
        .await;
    let employer = v["id"].as_str().unwrap().to_owned();
    let card = app
        .card_for(
            &clerk,
            &nth_id(1),
            json!({"employer_id": employer, "contribution_base_fen": 100_000}),
        )
        .await;
    assert_eq!(
        activate(&app, &clerk, &card, json!({"channel": "service_center"}))
            .await
            .0,
        StatusCode::OK
    );
    let visit = |txn: &str| json!({"client_txn_id": txn, "card_no": card, "kind": "chronic_outpatient", "cost_fen": 10_005});
    let (s, v) = app.post("/visits", &hospital, visit("c1")).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        (v["fund_pays_fen"].as_i64(), v["holder_pays_fen"].as_i64()),
        (Some(7_004), Some(3_001))
    );
    // March unpaid: from April 1 a unit lock.
    app.set_clock("2026-04-01T01:00:00Z").await;
    let (s, v) = app.post("/visits", &hospital, visit("c2")).await;
    assert_eq!(
        (s, code(&v), v["error"]["reason"].as_str()),
        (
            StatusCode::LOCKED,
            Some("account_locked"),
            Some("employer_arrears")
        ),
        "{v}"
    );
    let (s, v) = app
        .post(
            "/visits",
            &hospital,
            json!({"client_txn_id": "c3", "card_no": card, "kind": "chronic", "cost_fen": 1}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_kind"))
    );
}

// R-PW-3: while no password is enabled the card says what the region's initial one is
// (national: 123456; Shenyang: none, the first is chosen freely); once enabled, nothing.
async fn the_initial_password_is_the_regions_rule(engine: Engine) {
    for (policy, initial) in [
        ("national", "123456"),
        ("shenyang", "none"),
        ("guangxi", "123456"),
    ] {
        let app = TestApp::spawn_with(engine, policy).await;
        let clerk = app.actor("clerk").await;
        let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
        assert_eq!(
            app.card(&clerk, &card).await["ss_account"]["initial_password"],
            initial,
            "{policy}"
        );
        assert_eq!(
            activate(&app, &clerk, &card, json!({"channel": "service_center"}))
                .await
                .0,
            StatusCode::OK
        );
        assert_eq!(
            app.put(
                &format!("/cards/{card}/ss-password"),
                &clerk,
                json!({"new_password": "583920"})
            )
            .await
            .0,
            StatusCode::OK
        );
        assert_null(
            &app.card(&clerk, &card).await,
            "ss_account.initial_password",
        );
    }
}

// R-LK-4 (001: Xi'an, 单位介绍信): the shipped `xian` policy asks an employee for the
// employer's letter, in person or by agent; a resident has no employer to ask.
async fn xian_asks_the_employer_letter(engine: Engine) {
    let app = TestApp::spawn_with(engine, "xian").await;
    let clerk = app.actor("clerk").await;
    let (_, v) = app
        .post("/employers", &clerk, json!({"name": "西安厂"}))
        .await;
    let employer = v["id"].as_str().unwrap().to_owned();
    let employee = app
        .card_with_ss_password_for(
            &clerk,
            &nth_id(1),
            json!({"employer_id": employer}),
            "583920",
        )
        .await;
    let resident = app
        .card_with_ss_password_for(&clerk, &nth_id(2), json!({"kind": "resident"}), "583920")
        .await;
    let reset = |card: &str| format!("/cards/{card}/ss-password/reset");
    let (s, v) = app
        .post(
            &reset(&employee),
            &clerk,
            json!({"evidence": holder_evidence()}),
        )
        .await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("evidence_required")),
        "{v}"
    );
    assert_eq!(v["error"]["missing"], json!(["employer_letter"]));
    let with_letter =
        json!({"holder_present": true, "holder_id_checked": true, "employer_letter": true});
    assert_eq!(
        app.post(&reset(&employee), &clerk, json!({"evidence": with_letter}))
            .await
            .0,
        StatusCode::OK
    );
    let agent =
        json!({"holder_present": false, "holder_id_checked": true, "agent_id_number": nth_id(9)});
    let (s, v) = app
        .post(&reset(&employee), &clerk, json!({"evidence": agent}))
        .await;
    assert_eq!(
        (s, &v["error"]["missing"]),
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            &json!(["employer_letter"])
        ),
        "{v}"
    );
    assert_eq!(
        app.post(
            &reset(&resident),
            &clerk,
            json!({"evidence": holder_evidence()})
        )
        .await
        .0,
        StatusCode::OK
    );
    // Under the national rules nobody is asked for it.
    let national = TestApp::spawn(engine).await;
    let clerk = national.actor("clerk").await;
    let card = national
        .card_with_ss_password(&clerk, &nth_id(1), "583920")
        .await;
    assert_eq!(
        national
            .post(
                &reset(&card),
                &clerk,
                json!({"evidence": holder_evidence()})
            )
            .await
            .0,
        StatusCode::OK
    );
}

// R-ACT-6: a move within the region (the province) keeps the card; beyond it the national
// rules apply there and the holder needs a new card: 422 invalid_region, saying so.
async fn a_move_keeps_the_card_only_within_the_province(engine: Engine) {
    let app = TestApp::spawn_with(engine, "guangxi").await;
    let clerk = app.actor("clerk").await;
    let id = nth_id(1);
    app.card_for(&clerk, &id, json!({})).await;
    let path = format!("/persons/{id}/transfer");
    let (s, v) = app.post(&path, &clerk, json!({"region": "440300"})).await;
    assert_eq!(
        (s, code(&v)),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_region")),
        "{v}"
    );
    assert!(
        v["error"]["message"].as_str().unwrap().contains("new card"),
        "{v}"
    );
    assert_eq!(
        app.get(&format!("/persons/{id}"), &clerk).await.1["region"],
        "450600",
        "nothing changed"
    );
    let (s, v) = app.post(&path, &clerk, json!({"region": "450100"})).await;
    assert_eq!(
        (s, v["region"].as_str()),
        (StatusCode::OK, Some("450100")),
        "{v}"
    );
}
