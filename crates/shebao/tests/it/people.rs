use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use serde_json::json;

on_both_engines!(
    registers_people_with_valid_ids,
    refuses_bad_id_numbers,
    employers_register_their_own_people,
    one_usable_card_per_person,
    card_face_data
);

// R-ID-1
async fn registers_people_with_valid_ids(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let v = app
        .person(
            &clerk,
            "11010519491231002x",
            json!({"phone": "13812345678", "kind": "retiree"}),
        )
        .await;
    assert_eq!(
        v["id_number"], "11010519491231002X",
        "a lowercase x is stored as X"
    );
    assert_eq!(v["birth_date"], "1949-12-31");
    assert_eq!(v["kind"], "retiree");
    let (s, v) = app.get("/persons/11010519491231002X", &clerk).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["name"], "测试");
    // Registered twice → 409 already_exists, and the first record is unchanged.
    let (s, v) = app
        .post(
            "/persons",
            &clerk,
            json!({"id_number": "11010519491231002X", "name": "other", "kind": "employee"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists"))
    );
    let (_, v) = app.get("/persons/11010519491231002X", &clerk).await;
    assert_eq!(v["name"], "测试");
    let hotline = app.actor("hotline").await;
    assert_eq!(
        app.get("/persons/11010519491231002X", &hotline).await.0,
        StatusCode::OK
    );
}

// R-ID-1: check digit, embedded birth date, shape; each refusal changes nothing.
async fn refuses_bad_id_numbers(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let good = nth_id(1);
    let wrong_check = format!(
        "{}{}",
        &good[..17],
        if good.ends_with('0') { '1' } else { '0' }
    );
    for bad in [
        wrong_check.as_str(),
        "45060219800230001X",      // February 30th
        "4506021980010100",        // too short
        "45060219800101001Y",      // bad last character
        &id_number("20990101", 1), // born in the future
    ] {
        let (s, v) = app
            .post(
                "/persons",
                &clerk,
                json!({"id_number": bad, "name": "x", "kind": "employee"}),
            )
            .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {v}");
        assert_eq!(v["error"]["code"], "invalid_id_number", "{bad}");
        assert_eq!(
            app.get(&format!("/persons/{bad}"), &clerk).await.0.as_u16() / 100,
            4
        );
    }
    let (s, v) = app
        .post(
            "/persons",
            &clerk,
            json!({"id_number": good, "name": "x", "kind": "student"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_kind"))
    );
    let (s, v) = app
        .post(
            "/persons",
            &clerk,
            json!({"id_number": good, "name": "x", "kind": "employee", "phone": "12345"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_phone"))
    );
    assert_eq!(
        app.get(&format!("/persons/{good}"), &clerk).await.0,
        StatusCode::NOT_FOUND
    );
}

// R-ID-3: an employer registers its own employees; the bureau's clerks register anyone.
async fn employers_register_their_own_people(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let (s, e1) = app
        .post("/employers", &clerk, json!({"name": "防城港港务集团"}))
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let (_, e2) = app
        .post("/employers", &clerk, json!({"name": "Other Co"}))
        .await;
    let (s, v) = app
        .post(
            "/admin/actors",
            ADMIN,
            json!({"role": "employer", "name": "HR", "employer_id": e1["id"]}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let hr = v["token"].as_str().unwrap().to_owned();
    let (s, v) = app
        .post(
            "/persons",
            &hr,
            json!({"id_number": nth_id(1), "name": "员工", "kind": "employee"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!(
        v["employer_id"], e1["id"],
        "the employer's own id is filled in"
    );
    let (s, _) = app.post("/persons", &hr, json!({"id_number": nth_id(2), "name": "x", "kind": "employee", "employer_id": e2["id"]})).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, v) = app.post("/persons", &clerk, json!({"id_number": nth_id(3), "name": "x", "kind": "employee", "employer_id": "E999999"})).await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
    // An employer cannot issue cards or read people.
    assert_eq!(
        app.post("/cards", &hr, json!({"id_number": nth_id(1)}))
            .await
            .0,
        StatusCode::FORBIDDEN
    );
}

async fn one_usable_card_per_person(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let card = app.card_for(&clerk, &nth_id(1), json!({})).await;
    let (s, v) = app
        .post("/cards", &clerk, json!({"id_number": nth_id(1)}))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::CONFLICT, Some("already_exists"))
    );
    let (s, _) = app
        .post("/cards", &clerk, json!({"id_number": nth_id(2)}))
        .await;
    assert_eq!(
        s,
        StatusCode::NOT_FOUND,
        "no card for an unregistered person"
    );
    let (_, p) = app.get(&format!("/persons/{}", nth_id(1)), &clerk).await;
    assert_eq!(p["cards"][0]["card_no"], card);
    assert_eq!(p["cards"].as_array().unwrap().len(), 1);
}

// R-ID-2: the card face data (name, social security number, card number, bank card number).
// R-AC-1: two accounts with their own state.
async fn card_face_data(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let card = app
        .card_for(&clerk, &nth_id(1), json!({"name": "李四"}))
        .await;
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["name"], "李四");
    assert_eq!(v["id_number"], nth_id(1));
    assert_eq!(v["status"], "issued");
    assert_eq!(v["bank_card_no"].as_str().unwrap().len(), 19);
    assert_eq!(v["serial"].as_str().unwrap().len(), 32);
    assert_eq!(v["ss_account"]["state"], "inactive");
    assert_eq!(v["fin_account"]["state"], "inactive");
    assert_eq!(v["balance_fen"], 0);
}
