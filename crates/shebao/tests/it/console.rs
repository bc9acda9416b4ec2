//! The console and portal over plain HTTP on both engines (no browser): sessions, CSRF,
//! the forced first change, the dashboard's reads (SQL on SQLite and PostgreSQL), the employer
//! screen (unit lock, tax receipts, bulk card applications), the holder's out-of-area filing,
//! contribution record and own trail, and the collection of a replacement card.
//! The browser tests (`browser.rs`) drive the same pages in Chromium.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

on_both_engines!(
    the_dashboard_counts_locks_losses_and_replacements,
    forms_without_the_csrf_token_change_nothing,
    the_portal_forces_the_first_change,
    the_evidence_checklist_follows_the_region_policy,
    the_employer_screen_shows_the_lock_and_receipts_lift_it,
    the_holder_files_out_of_area_care_online,
    the_portal_shows_the_contribution_record_and_the_trail,
    the_employer_screen_applies_for_cards_in_bulk,
    a_replacement_is_collected_with_the_pickup_certificate,
    the_trail_pages_back_to_the_first_record,
    the_terminal_list_shows_psams_and_revokes_a_terminal
);

/// A browser without a browser: keeps the session cookie, reads the CSRF token from forms.
struct Browser {
    origin: String,
    client: reqwest::Client,
    cookie: String,
    csrf: String,
    /// `en` sends the language switch's cookie.
    lang: Option<&'static str>,
}

impl Browser {
    async fn open(app: &TestApp, login_path: &str) -> Browser {
        let origin = app.base.trim_end_matches("/api/v1").to_owned();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let mut b = Browser {
            origin,
            client,
            cookie: String::new(),
            csrf: String::new(),
            lang: None,
        };
        let (s, _) = b.get(login_path).await;
        assert_eq!(s, StatusCode::OK);
        b
    }

    fn cookies(&self) -> String {
        match self.lang {
            Some(l) => format!("shebao_sid={}; shebao_lang={l}", self.cookie),
            None => format!("shebao_sid={}", self.cookie),
        }
    }

    fn remember(&mut self, resp: &reqwest::Response) {
        for v in resp.headers().get_all(SET_COOKIE) {
            let v = v.to_str().unwrap();
            if let Some(rest) = v.strip_prefix("shebao_sid=") {
                self.cookie = rest.split(';').next().unwrap().to_owned();
            }
        }
    }

    async fn get(&mut self, path: &str) -> (StatusCode, String) {
        let resp = self
            .client
            .get(format!("{}{path}", self.origin))
            .header(COOKIE, self.cookies())
            .send()
            .await
            .unwrap();
        self.remember(&resp);
        let status = resp.status();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        let body = resp.text().await.unwrap();
        if let Some(i) = body.find("name=\"csrf\" value=\"") {
            let rest = &body[i + 19..];
            self.csrf = rest[..rest.find('"').unwrap()].to_owned();
        }
        (status, location.unwrap_or(body))
    }

    /// Posts a form; answers the status and the redirect target, or the page.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        let resp = self
            .client
            .post(format!("{}{path}", self.origin))
            .header(COOKIE, self.cookies())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body.join("&"))
            .send()
            .await
            .unwrap();
        self.remember(&resp);
        let status = resp.status();
        let location = resp
            .headers()
            .get(LOCATION)
            .map(|l| l.to_str().unwrap().to_owned());
        match location {
            Some(l) => (status, l),
            None => (status, resp.text().await.unwrap()),
        }
    }

    async fn clerk(app: &TestApp, token: &str) -> Browser {
        let mut b = Browser::open(app, "/console/login").await;
        let csrf = b.csrf.clone();
        let (s, to) = b
            .post("/console/login", &[("csrf", &csrf), ("token", token)])
            .await;
        assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/console/search"));
        b.get("/console/search").await;
        b
    }
}

impl Browser {
    /// A holder past the forced first change (done through the API), logged in to the portal.
    async fn holder(app: &TestApp, id_number: &str) -> Browser {
        app.holder_session(id_number).await;
        Browser::holder_again(app, id_number).await
    }

    /// A holder whose first change is done, logging in (again) to the portal.
    async fn holder_again(app: &TestApp, id_number: &str) -> Browser {
        let mut b = Browser::open(app, "/portal/login").await;
        let csrf = b.csrf.clone();
        let (s, to) = b
            .post(
                "/portal/login",
                &[
                    ("csrf", &csrf),
                    ("id_number", id_number),
                    ("query_password", "holder2026pass"),
                ],
            )
            .await;
        assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/portal/home"));
        b
    }

    /// The same browser (its cookie) sending its next requests to another server.
    fn elsewhere(&self, app: &TestApp) -> Browser {
        Browser {
            origin: app.base.trim_end_matches("/api/v1").to_owned(),
            client: self.client.clone(),
            cookie: self.cookie.clone(),
            csrf: self.csrf.clone(),
            lang: self.lang,
        }
    }

    /// The flash message of the page at `path` (after a form's redirect).
    async fn flash(&mut self, path: &str) -> String {
        let (s, page) = self.get(path).await;
        assert_eq!(s, StatusCode::OK, "{page}");
        let Some(i) = page.find("id=\"flash\"") else {
            panic!("no flash on {path}: {page}");
        };
        let rest = &page[i..];
        let start = rest.find('>').unwrap() + 1;
        let end = rest.find("</p>").unwrap();
        rest[start..end].to_owned()
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn lock(app: &TestApp, card: &str) {
    let pharmacy = app.actor("pharmacy").await;
    for _ in 0..3 {
        app.post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "111112"}),
        )
        .await;
    }
}

// R-LK-5, R-LS-1, R-LS-5: the dashboard's figures come from the cards and the audit trail.
async fn the_dashboard_counts_locks_losses_and_replacements(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let hotline = app.actor("hotline").await;
    let locked = app
        .card_with_ss_password(&clerk, "11010519491231002X", "642097")
        .await;
    lock(&app, &locked).await;
    app.card_for(&clerk, "110105198001010016", json!({})).await;
    let (s, v) = app
        .post(
            "/hotline/pre-loss",
            &hotline,
            json!({"id_number": "110105198001010016"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let damaged = app.card_for(&clerk, "440524198001010013", json!({})).await;
    let (s, v) = app
        .post(
            &format!("/cards/{damaged}/replacement"),
            &clerk,
            json!({"reason": "damaged", "evidence": {"holder_present": true, "holder_id_checked": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let new_card = v["new_card_no"].as_str().unwrap().to_owned();

    let mut b = Browser::clerk(&app, &clerk).await;
    let (s, page) = b.get("/console/dashboard?days=7").await;
    assert_eq!(s, StatusCode::OK);
    // Tiles: one password lock, one pre-loss, one replacement waiting.
    assert!(page.contains(">1</b>社保账户密码锁定"), "{page}");
    assert!(page.contains(">1</b>预挂失中"), "{page}");
    assert!(page.contains(">1</b>待领取新卡"), "{page}");
    // Today: one lock and one loss report in the chart and its table.
    assert_eq!(page.matches("<rect class=\"bar\"").count(), 2, "{page}");
    assert!(
        page.contains("<td>2026-03-02</td><td>1</td><td>0</td><td>1</td><td>2</td>"),
        "{page}"
    );
    assert!(
        page.contains(&format!("/console/cards/{new_card}")),
        "the replacement is listed"
    );
    // The pre-loss lapses in 10 days: not yet within three.
    assert!(!page.contains("id=\"lapsing\""), "{page}");

    // Eight days later it lapses within three days; a week's chart no longer has day one.
    // (The clerk's idle session ended meanwhile: log in again.)
    app.advance("PT192H").await;
    assert_eq!(b.get("/console/dashboard").await.1, "/console/login");
    let mut b = Browser::clerk(&app, &clerk).await;
    let (_, page) = b.get("/console/dashboard?days=7").await;
    assert!(page.contains("id=\"lapsing\""), "{page}");
    assert_eq!(page.matches("<rect class=\"bar\"").count(), 0, "{page}");
    let (_, chart) = b.get("/console/dashboard/chart?days=14").await;
    assert_eq!(chart.matches("<rect class=\"bar\"").count(), 2, "{chart}");
    // After eleven days the pre-loss has lapsed by itself (R-LS-1) even unsettled.
    app.advance("PT72H").await;
    let mut b = Browser::clerk(&app, &clerk).await;
    let (_, page) = b.get("/console/dashboard?days=7").await;
    assert!(page.contains(">0</b>预挂失中"), "{page}");
    app.stop().await;
}

// CSRF: a form posted without the session's token is refused and changes nothing.
async fn forms_without_the_csrf_token_change_nothing(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let card = app
        .card_with_ss_password(&clerk, "11010519491231002X", "642097")
        .await;
    lock(&app, &card).await;
    let mut b = Browser::clerk(&app, &clerk).await;
    let path = format!("/console/cards/{card}/reset");
    let evidence = [("holder_present", "on"), ("holder_id_checked", "on")];
    let mut forged = vec![("csrf", "forged")];
    forged.extend_from_slice(&evidence);
    let (s, _) = b.post(&path, &forged).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(app.card(&clerk, &card).await["ss_account"]["locked"], true);
    // Without the session cookie at all, the login page is all one gets.
    let anonymous = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let resp = anonymous
        .post(format!("{}{path}", b.origin))
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(format!(
            "csrf={}&holder_present=on&holder_id_checked=on",
            b.csrf
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.headers().get(LOCATION).unwrap().to_str().unwrap(),
        "/console/login"
    );
    assert_eq!(app.card(&clerk, &card).await["ss_account"]["locked"], true);
    // With the token it goes through: R-LK-2 with the holder's ID checked.
    let csrf = b.csrf.clone();
    let mut real = vec![("csrf", csrf.as_str())];
    real.extend_from_slice(&evidence);
    let (s, _) = b.post(&path, &real).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(app.card(&clerk, &card).await["ss_account"]["locked"], false);
    // Logging out ends the session on the server: the old cookie opens nothing.
    let old_cookie = b.cookie.clone();
    let (s, to) = b.post("/console/logout", &[("csrf", &csrf)]).await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/console/login"));
    assert_eq!(b.cookie, "", "the browser is told to drop the cookie");
    b.cookie = old_cookie;
    let (s, to) = b.get("/console/search").await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/console/login"));
    app.stop().await;
}

// R-PW-8: the portal's first login leads only to the password change; wrong query passwords
// never lock the card (D-4).
async fn the_portal_forces_the_first_change(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let id = "11010519491231002X";
    let card = app.card_for(&clerk, id, json!({})).await;
    let mut b = Browser::open(&app, "/portal/login").await;
    // D-4: five free failures, then the portal asks to wait; the card is never locked by it.
    for attempt in 1..=6 {
        let csrf = b.csrf.clone();
        let (s, page) = b
            .post(
                "/portal/login",
                &[
                    ("csrf", &csrf),
                    ("id_number", id),
                    ("query_password", "wrong123"),
                ],
            )
            .await;
        assert_eq!(s, StatusCode::OK, "the login page again, with the message");
        let expected = if attempt <= 5 {
            "身份证号或查询密码错误"
        } else {
            "尝试次数过多"
        };
        assert!(page.contains(expected), "attempt {attempt}: {page}");
        assert!(
            !page.contains("wrong123"),
            "a password never comes back in a page"
        );
    }
    assert_eq!(app.card(&clerk, &card).await["ss_account"]["locked"], false);
    app.advance("PT2M").await;
    let csrf = b.csrf.clone();
    let (s, to) = b
        .post(
            "/portal/login",
            &[
                ("csrf", &csrf),
                ("id_number", id),
                ("query_password", "12310020"),
            ],
        )
        .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/portal/password")
    );
    let (s, to) = b.get("/portal/home").await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/portal/password")
    );
    let (s, _) = b.get("/portal/password").await;
    assert_eq!(s, StatusCode::OK);
    let csrf = b.csrf.clone();
    let (s, to) = b
        .post(
            "/portal/password",
            &[
                ("csrf", &csrf),
                ("old_password", "12310020"),
                ("new_password", "holder2026pass"),
                ("confirm_password", "holder2026pass"),
            ],
        )
        .await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/portal/home"));
    let (s, page) = b.get("/portal/home").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains(&card), "{page}");
    assert!(
        !page.contains("holder2026pass"),
        "a password never comes back in a page"
    );
    app.stop().await;
}

// R-LK-4, R-LK-5: Guangxi wants a power of attorney from an agent; the checklist says so, the
// service refuses without it and accepts with it. The lock is explained in either language.
async fn the_evidence_checklist_follows_the_region_policy(engine: Engine) {
    let app = TestApp::spawn_with(engine, "guangxi").await;
    let clerk = app.actor("clerk").await;
    let card = app
        .card_with_ss_password(&clerk, "11010519491231002X", "642097")
        .await;
    let pharmacy = app.actor("pharmacy").await;
    for _ in 0..6 {
        app.post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "111112"}),
        )
        .await;
    }
    assert_eq!(app.card(&clerk, &card).await["ss_account"]["locked"], true);
    let mut b = Browser::clerk(&app, &clerk).await;
    let page_path = format!("/console/cards/{card}");
    let (_, page) = b.get(&page_path).await;
    assert!(page.contains("已收委托书 （本地区要求）"), "{page}");
    assert!(page.contains("不会自动解锁"), "{page}");
    assert!(
        !page.contains("type=\"password\""),
        "the console asks for no password"
    );

    let reset = format!("/console/cards/{card}/reset");
    let csrf = b.csrf.clone();
    let by_agent = [
        ("csrf", csrf.as_str()),
        ("holder_id_checked", "on"),
        ("agent_id_number", "110105198001010016"),
    ];
    let (s, to) = b.post(&reset, &by_agent).await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, page_path.as_str())
    );
    let (_, page) = b.get(&page_path).await;
    assert!(page.contains("证件核验不全"), "{page}");
    assert!(
        page.contains("本地区代办须提供委托书"),
        "the page says what is missing, in Chinese: {page}"
    );
    assert_eq!(app.card(&clerk, &card).await["ss_account"]["locked"], true);

    let csrf = b.csrf.clone();
    let mut with_poa = by_agent.to_vec();
    with_poa[0] = ("csrf", csrf.as_str());
    with_poa.push(("power_of_attorney", "on"));
    b.post(&reset, &with_poa).await;
    let v = app.card(&clerk, &card).await;
    assert_eq!(v["ss_account"]["locked"], false, "{v}");
    let audit = app.audit_for_card(&card).await;
    let reset_record = audit
        .iter()
        .rev()
        .find(|r| r["action"] == "ss_password.reset" && r["outcome"] == "ok")
        .unwrap();
    assert_eq!(
        reset_record["evidence"]["agent_id_number"],
        "110105198001010016"
    );
    assert_eq!(reset_record["evidence"]["power_of_attorney"], true);

    // The same page in English, with the service's English lock words once locked again
    // (the restored initial password is not enabled and counts nothing, D-2: set one first).
    let (s, v) = app
        .put(
            &format!("/cards/{card}/ss-password"),
            &pharmacy,
            json!({"new_password": "642097"}),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    for _ in 0..6 {
        app.post(
            &format!("/cards/{card}/ss-password/verify"),
            &pharmacy,
            json!({"password": "111112"}),
        )
        .await;
    }
    b.lang = Some("en");
    let (_, page) = b.get(&page_path).await;
    assert!(page.contains("will not unlock by itself"), "{page}");
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    app.stop().await;
}

/// A receipt row of the employer form: month, amount in yuan, paid on, receipt number.
fn receipt_row(n: usize, row: [&str; 4]) -> Vec<(String, String)> {
    ["month", "amount", "paid_on", "receipt_no"]
        .iter()
        .zip(row)
        .map(|(field, value)| (format!("{field}_{n}"), value.to_owned()))
        .collect()
}

async fn post_receipts(
    b: &mut Browser,
    employer: &str,
    rows: &[[&str; 4]],
) -> (StatusCode, String) {
    let mut fields = vec![("csrf".to_owned(), b.csrf.clone())];
    for (i, row) in rows.iter().enumerate() {
        fields.extend(receipt_row(i + 1, *row));
    }
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    b.post(
        &format!("/console/employers/{employer}/receipts"),
        &borrowed,
    )
    .await
}

// R-EM-2, R-EM-3, R-EM-5, D-9: an employer that paid nothing for March-May is shown locked since
// April 1 with the months and the holders' words; its card holder's page says so; the
// dashboard lists it. Receipts typed in yuan through the form are recorded in fen; the lock
// stands while months are missing (and the page names them) and lifts once they are covered —
// the JSON API agrees.
async fn the_employer_screen_shows_the_lock_and_receipts_lift_it(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let (s, v) = app
        .post("/employers", &clerk, json!({"name": "兰州机床厂"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let e = v["id"].as_str().unwrap().to_owned();
    // An employee under 45 with a base of 6 000 yuan: (2 % + 6 %) = 480 yuan a month.
    let id = id_number("19900601", 11);
    let card = app
        .card_for(
            &clerk,
            &id,
            json!({"kind": "employee", "employer_id": e, "contribution_base_fen": 600_000}),
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
    app.set_clock("2026-06-02T02:00:00Z").await;

    let mut b = Browser::clerk(&app, &clerk).await;
    let (_, search) = b.get("/console/search").await;
    assert!(
        search.contains("href=\"/console/employers\""),
        "the navigation shows the employers"
    );
    let (s, to) = b
        .get(&format!("/console/employers?id={}", e.to_lowercase()))
        .await;
    assert_eq!(
        (s, to.as_str()),
        (
            StatusCode::SEE_OTHER,
            format!("/console/employers/{e}").as_str()
        )
    );
    let (s, page) = b.get("/console/employers/E999999").await;
    assert_eq!(s, StatusCode::OK);
    assert!(page.contains("未找到该单位"), "{page}");
    let page_path = format!("/console/employers/{e}");
    let (s, page) = b.get(&page_path).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("id=\"unit-lock-since\">2026-04-01<"),
        "{page}"
    );
    assert!(
        page.contains("id=\"unit-lock-months\">2026-03, 2026-04, 2026-05<"),
        "{page}"
    );
    assert!(
        page.contains("请联系单位负责社保缴费的工作人员"),
        "R-EM-5: {page}"
    );
    assert!(
        page.contains("<td>2026-03</td><td>480.00</td><td>0.00</td>"),
        "{page}"
    );
    assert!(
        page.contains("name=\"month_1\" id=\"month_1\" value=\"2026-03\""),
        "arrears pre-filled: {page}"
    );
    // The card page: the lock, what the holder is told and the way to the employer.
    let (_, card_page) = b.get(&format!("/console/cards/{card}")).await;
    assert!(card_page.contains("id=\"unit-lock\""), "{card_page}");
    assert!(card_page.contains("单位欠费封锁"), "{card_page}");
    assert!(
        card_page.contains(&format!(
            "href=\"/console/employers/{e}\" id=\"unit-lock-employer\""
        )),
        "{card_page}"
    );
    // The dashboard counts and lists it.
    let (_, board) = b.get("/console/dashboard").await;
    assert!(board.contains(">1</b>被单位封锁的单位"), "{board}");
    assert!(
        board.contains(&format!(
            "<a href=\"/console/employers/{e}\">{e}</a></td><td>兰州机床厂</td><td>2026-04-01</td>"
        )),
        "{board}"
    );
    // The holder's portal says why and whom to ask (R-EM-5).
    let mut holder = Browser::holder(&app, &id).await;
    let (_, home) = holder.get("/portal/home").await;
    assert!(home.contains("id=\"unit-lock\""), "{home}");
    assert!(home.contains("请联系单位负责社保缴费的工作人员"), "{home}");
    assert!(home.contains("2026-04-01"), "{home}");
    // The same page in English.
    b.lang = Some("en");
    let (_, page) = b.get(&page_path).await;
    assert!(
        page.contains("Please contact your employer&#39;s payroll staff")
            || page.contains("Please contact your employer's payroll staff"),
        "{page}"
    );
    b.lang = None;

    let paid_fen = |v: &serde_json::Value, m: &str| {
        v["months"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["month"] == m)
            .unwrap()["paid_fen"]
            .clone()
    };
    // A forged form and a malformed amount change nothing.
    let forged = [
        ("csrf", "forged"),
        ("month_1", "2026-03"),
        ("amount_1", "480"),
        ("paid_on_1", "2026-05-20"),
        ("receipt_no_1", "SB-3"),
    ];
    assert_eq!(
        b.post(&format!("/console/employers/{e}/receipts"), &forged)
            .await
            .0,
        StatusCode::SEE_OTHER
    );
    let (s, to) = post_receipts(&mut b, &e, &[["2026-03", "480,00", "2026-05-20", "SB-3"]]).await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, page_path.as_str())
    );
    let flash = b.flash(&page_path).await;
    assert!(
        flash.contains("金额格式有误") && flash.contains("第1行"),
        "{flash}"
    );
    let (_, v) = app.get(&format!("/employers/{e}"), &clerk).await;
    assert_eq!(paid_fen(&v, "2026-03"), 0, "{v}");
    assert_eq!(v["unit_locked"], true);

    // May alone: recorded, but March and April are still missing.
    post_receipts(&mut b, &e, &[["2026-05", "480", "2026-05-20", "SB-5"]]).await;
    let flash = b.flash(&page_path).await;
    assert!(
        flash.contains("封锁尚未解除") && flash.contains("2026-03, 2026-04"),
        "{flash}"
    );
    let (_, v) = app.get(&format!("/employers/{e}"), &clerk).await;
    assert_eq!(paid_fen(&v, "2026-05"), 48_000, "yuan to fen: {v}");
    assert_eq!(v["unit_locked"], true);
    // May, paid late, is covered but still holds the lock until the unlock: the form still
    // offers it beside the months in arrears.
    let (_, page) = b.get(&page_path).await;
    assert!(
        page.contains("name=\"month_3\" id=\"month_3\" value=\"2026-05\""),
        "{page}"
    );

    // March and April (one with decimals): the lock lifts.
    post_receipts(
        &mut b,
        &e,
        &[
            ["2026-03", "480.00", "2026-05-21", "SB-3"],
            ["2026-04", "480.0", "2026-05-21", "SB-4"],
        ],
    )
    .await;
    let flash = b.flash(&page_path).await;
    assert!(flash.contains("单位封锁已解除"), "{flash}");
    let (s, v) = app.get(&format!("/employers/{e}"), &clerk).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["unit_locked"], false, "{v}");
    assert_eq!(v["arrears_months"], json!([]));
    assert_eq!(paid_fen(&v, "2026-04"), 48_000);
    let (_, page) = b.get(&page_path).await;
    assert!(page.contains("该单位当前未被封锁"), "{page}");
    let (_, board) = b.get("/console/dashboard").await;
    assert!(board.contains(">0</b>被单位封锁的单位"), "{board}");
    // R-EM-4: the tax bureau's record of June's payment, on time, typed in through the other
    // form: paid on time and counted as tax bureau data (what crediting waits for).
    let csrf = b.csrf.clone();
    // The form carries a fresh Idempotency-Key: submitted twice (a double click, a resubmitted
    // page), it records the payment once (issue 16).
    let (_, page) = b.get(&page_path).await;
    let form_key = page
        .split("name=\"request_key\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the payment form's key")
        .to_owned();
    assert_eq!(form_key.len(), 32, "{form_key}");
    for _ in 0..2 {
        let (s, to) = b
            .post(
                &format!("/console/employers/{e}/payments"),
                &[
                    ("csrf", csrf.as_str()),
                    ("request_key", form_key.as_str()),
                    ("month_1", "2026-06"),
                    ("amount_1", "480.00"),
                    ("paid_on_1", "2026-06-01"),
                    ("record_no_1", ""),
                ],
            )
            .await;
        assert_eq!(
            (s, to.as_str()),
            (StatusCode::SEE_OTHER, page_path.as_str())
        );
        assert!(b.flash(&page_path).await.contains("缴费记录已录入"));
    }
    let (_, v) = app.get(&format!("/employers/{e}"), &clerk).await;
    let june = v["months"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["month"] == "2026-06")
        .unwrap()
        .clone();
    assert_eq!(
        (
            june["paid_on_time_fen"].clone(),
            june["tax_paid_fen"].clone()
        ),
        (json!(48_000), json!(48_000)),
        "{june}"
    );
    // The same receipt number with other details is refused in words, nothing recorded.
    post_receipts(&mut b, &e, &[["2026-05", "999", "2026-05-20", "SB-3"]]).await;
    let flash = b.flash(&page_path).await;
    assert!(flash.contains("该凭证号已录入过"), "{flash}");
    let (_, v) = app.get(&format!("/employers/{e}"), &clerk).await;
    assert_eq!(paid_fen(&v, "2026-05"), 48_000);
    app.stop().await;
}

// R-MS-3, D-3: the holder files an emergency admission online within 3 working days (the page
// shows the deadline), is refused for the insured region, and is refused in plain words once
// the period has passed. The filing is real: the far hospital's inpatient visit settles. A
// clerk files at the window from the card page under the same rule.
async fn the_holder_files_out_of_area_care_online(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let far_hospital = app.actor_in("hospital", Some("310000")).await;
    let id = nth_id(1);
    let card = app.funded_card(&clerk, &id, 5_000).await;
    // Admitted on Friday 2026-04-03 before Qingming: due by Thursday Apr 9.
    app.set_clock("2026-04-09T15:00:00Z").await;
    let mut b = Browser::holder(&app, &id).await;
    let (_, home) = b.get("/portal/home").await;
    assert!(home.contains("入院后 3 个工作日内申请备案"), "{home}");
    assert!(home.contains("id=\"filing-form\""), "{home}");
    let emergency = |csrf: String, region: &'static str| {
        vec![
            ("csrf", csrf),
            ("kind", "emergency".to_owned()),
            ("region", region.to_owned()),
            ("admitted_on", "2026-04-03".to_owned()),
        ]
    };
    // The insured region needs no filing.
    let fields = emergency(b.csrf.clone(), "110000");
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, to) = b.post("/portal/filing", &borrowed).await;
    assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/portal/home"));
    let flash = b.flash("/portal/home").await;
    assert!(flash.contains("参保地以外"), "{flash}");
    let fields = emergency(b.csrf.clone(), "310000");
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/portal/filing", &borrowed).await;
    let flash = b.flash("/portal/home").await;
    assert!(
        flash.contains("备案已受理") && flash.contains("急诊备案截止日: 2026-04-09"),
        "{flash}"
    );
    let (s, v) = app
        .post(
            "/visits",
            &far_hospital,
            json!({"client_txn_id": "e-1", "card_no": card, "kind": "inpatient", "cost_fen": 50_000, "admitted_on": "2026-04-03"}),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::CREATED,
        "the filing lets the stay settle: {v}"
    );

    // Friday the 10th: too late, said in words with the last day (the idle session ended
    // meanwhile: log in again).
    app.set_clock("2026-04-09T16:00:00Z").await;
    let mut b = Browser::holder_again(&app, &id).await;
    b.get("/portal/home").await;
    let fields = emergency(b.csrf.clone(), "320000");
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/portal/filing", &borrowed).await;
    let flash = b.flash("/portal/home").await;
    assert!(
        flash.contains("已超过急诊备案期限") && flash.contains("2026-04-09"),
        "{flash}"
    );
    b.lang = Some("en");
    let fields = emergency(b.csrf.clone(), "320000");
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    b.post("/portal/filing", &borrowed).await;
    let flash = b.flash("/portal/home").await;
    assert!(
        flash.contains("Too late") && flash.contains("2026-04-09"),
        "{flash}"
    );

    // At the window (the holder or an agent): the same rule from the card page, and a
    // long-term residence filing, which has no deadline.
    let mut c = Browser::clerk(&app, &clerk).await;
    let card_path = format!("/console/cards/{card}");
    let (_, page) = c.get(&card_path).await;
    assert!(page.contains("id=\"filing-form\""), "{page}");
    let fields = emergency(c.csrf.clone(), "320000");
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, to) = c
        .post(&format!("/console/cards/{card}/filing"), &borrowed)
        .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, card_path.as_str())
    );
    let flash = c.flash(&card_path).await;
    assert!(flash.contains("已超过急诊备案期限"), "{flash}");
    let csrf = c.csrf.clone();
    c.post(
        &format!("/console/cards/{card}/filing"),
        &[
            ("csrf", csrf.as_str()),
            ("kind", "long_term_residence"),
            ("region", "320000"),
            ("admitted_on", ""),
        ],
    )
    .await;
    let flash = c.flash(&card_path).await;
    assert!(
        flash.contains("备案已受理") && !flash.contains("截止日"),
        "{flash}"
    );
    app.stop().await;
}

/// The cells' texts of each body row of the table `id="{table}"` in a page (tags stripped,
/// the few entities askama writes decoded, whitespace trimmed); no such table: none.
pub(crate) fn table_rows(page: &str, table: &str) -> Vec<Vec<String>> {
    let Some(start) = page.find(&format!("id=\"{table}\"")) else {
        return Vec::new();
    };
    let rest = &page[start..];
    let body = &rest[rest.find("<tbody>").unwrap()..rest.find("</tbody>").unwrap()];
    body.split("<tr")
        .skip(1)
        .map(|row| {
            let mut cells = Vec::new();
            let mut rest = row;
            while let Some(i) = [rest.find("<td"), rest.find("<th")]
                .into_iter()
                .flatten()
                .min()
            {
                let open = &rest[i..];
                let content_start = open.find('>').unwrap() + 1;
                let end = open.find("</t").unwrap();
                cells.push(strip_tags(&open[content_start..end]));
                rest = &open[end + 3..];
            }
            cells
        })
        .collect()
}

fn strip_tags(html: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// Fen as the pages write yuan.
pub(crate) fn yuan(fen: i64) -> String {
    format!("{}.{:02}", fen / 100, fen % 100)
}

/// The rows a contribution record page shows for the API's `months` (newest first): month,
/// employer, base, assessed, the employee's part, paid, credited, credited on.
pub(crate) fn expected_contribution_rows(api: &serde_json::Value) -> Vec<Vec<String>> {
    api["months"]
        .as_array()
        .expect("months")
        .iter()
        .rev()
        .map(|m| {
            vec![
                m["month"].as_str().unwrap().to_owned(),
                m["employer_id"].as_str().unwrap().to_owned(),
                m["base_fen"].as_i64().map_or("—".to_owned(), yuan),
                yuan(m["assessed_fen"].as_i64().unwrap()),
                yuan(m["employee_part_fen"].as_i64().unwrap()),
                if m["paid"] == true {
                    "已足额缴纳"
                } else {
                    "未缴清"
                }
                .to_owned(),
                yuan(m["credited_fen"].as_i64().unwrap()),
                m["credited_on"].as_str().unwrap_or("尚未划入").to_owned(),
            ]
        })
        .collect()
}

/// An employee (born 1990, base 6 000 yuan: 480 yuan assessed a month, 120 of it the
/// employee's, 186 credited, R-CR-1) whose employer paid March to May on time; by May 15 March's
/// data has come back and is credited (R-EM-4), April and May not yet. The card's password is
/// enabled; the holder bought at a pharmacy with it and had a chronic outpatient visit (D-18).
/// Returns (employer, ID number, card).
pub(crate) async fn holder_with_contributions(
    app: &TestApp,
    clerk: &str,
) -> (String, String, String) {
    let (s, v) = app
        .post("/employers", clerk, json!({"name": "西安仪表厂"}))
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let employer = v["id"].as_str().unwrap().to_owned();
    let id = id_number("19900601", 31);
    let card = app
        .card_with_ss_password_for(
            clerk,
            &id,
            json!({"kind": "employee", "employer_id": employer, "contribution_base_fen": 600_000}),
            "583920",
        )
        .await;
    for (month, now, paid_on) in [
        ("2026-03", "2026-03-10T08:00:00Z", "2026-03-10"),
        ("2026-04", "2026-04-10T08:00:00Z", "2026-04-10"),
        ("2026-05", "2026-05-11T08:00:00Z", "2026-05-11"),
    ] {
        app.set_clock(now).await;
        // The month is assessed when the employer's months roll forward (D-8).
        let (s, v) = app.get(&format!("/employers/{employer}"), clerk).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = app
            .post(
                &format!("/employers/{employer}/payments"),
                clerk,
                json!({"month": month, "amount_fen": 48_000, "paid_on": paid_on}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{month}: {v}");
    }
    app.set_clock("2026-05-15T02:00:00Z").await;
    let (s, v) = app
        .post("/admin/jobs/crediting/run", ADMIN, json!({}))
        .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let pharmacy = app.actor("pharmacy").await;
    let (s, v) = app
        .post(
            "/purchases",
            &pharmacy,
            json!({"client_txn_id": "p-1", "card_no": card, "amount_fen": 2_000, "password": "583920"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let hospital = app.actor("hospital").await;
    let (s, v) = app
        .post(
            "/visits",
            &hospital,
            json!({"client_txn_id": "v-1", "card_no": card, "kind": "chronic_outpatient", "cost_fen": 10_000}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    (employer, id, card)
}

// R-CR-2, R-PW-9: the holder's portal links the contribution record and the trail; the record
// shows every month the API has, in yuan, newest first (credited and not yet); the trail shows
// each of the API's records, newest first, with how a purchase and a visit were authorised, in
// either language. The clerk's card page shows the same record. Reading changes nothing.
async fn the_portal_shows_the_contribution_record_and_the_trail(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let (_, id, card) = holder_with_contributions(&app, &clerk).await;
    let (s, api) = app
        .get(&format!("/persons/{id}/contributions"), &clerk)
        .await;
    assert_eq!(s, StatusCode::OK, "{api}");
    let expected = expected_contribution_rows(&api);
    assert_eq!(expected.len(), 3, "{api}");
    assert_eq!(
        expected[2],
        [
            "2026-03",
            api["months"][0]["employer_id"].as_str().unwrap(),
            "6000.00",
            "480.00",
            "120.00",
            "已足额缴纳",
            "186.00",
            "2026-05-15"
        ],
        "March, credited: {api}"
    );
    assert_eq!(
        expected[0][6..],
        ["0.00", "尚未划入"],
        "May, not yet: {api}"
    );

    let token = app.holder_session(&id).await;
    let mut b = Browser::holder_again(&app, &id).await;
    let (_, home) = b.get("/portal/home").await;
    assert!(home.contains("href=\"/portal/contributions\""), "{home}");
    assert!(home.contains("href=\"/portal/trail\""), "{home}");
    let (s, page) = b.get("/portal/contributions").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    assert_eq!(table_rows(&page, "contributions"), expected, "{page}");
    assert!(page.contains("我的缴费记录"), "{page}");

    let (s, page) = b.get("/portal/trail").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let rows = table_rows(&page, "trail");
    let (_, v) = app.get("/self/audit", &token).await;
    let records = v["records"].as_array().expect("records");
    assert_eq!(rows.len(), records.len(), "one row a record: {page}");
    // Newest first: the page's action codes are the API's, reversed.
    let table = &page[page.find("id=\"trail\"").unwrap()..];
    let codes: Vec<&str> = table[..table.find("</table>").unwrap()]
        .split("title=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .collect();
    let api_codes: Vec<&str> = records
        .iter()
        .rev()
        .map(|r| r["action"].as_str().unwrap())
        .collect();
    assert_eq!(codes, api_codes, "{page}");
    let row_of = |action: &str| {
        rows.iter()
            .find(|r| r[1] == action)
            .unwrap_or_else(|| panic!("no {action} in {rows:?}"))
            .clone()
    };
    let purchase = row_of("药店购药");
    assert_eq!(purchase[2], "成功");
    assert!(purchase[3].starts_with("定点药店 A"), "{purchase:?}");
    assert_eq!(
        (purchase[4].as_str(), purchase[5].as_str()),
        ("定点药店", "凭社保密码")
    );
    let visit = row_of("医院就诊");
    assert_eq!(visit[5], "凭卡（就诊无需密码）", "{visit:?}");
    // The newest record is this portal login, the holder's own.
    assert_eq!(
        rows[0][1..5],
        ["网上登录", "成功", "本人", "网上"],
        "{rows:?}"
    );
    assert_eq!(row_of("发卡")[5], "—");
    b.lang = Some("en");
    let (_, page) = b.get("/portal/trail").await;
    let rows = table_rows(&page, "trail");
    let purchase = rows.iter().find(|r| r[1] == "Pharmacy purchase").unwrap();
    assert_eq!(purchase[5], "The social-security password", "{rows:?}");
    let (_, page) = b.get("/portal/contributions").await;
    assert!(
        page.contains("Not yet") && page.contains("In full"),
        "{page}"
    );

    // The clerk's card page shows the holder's record too, each employer a link.
    let mut c = Browser::clerk(&app, &clerk).await;
    let (_, page) = c.get(&format!("/console/cards/{card}")).await;
    assert_eq!(table_rows(&page, "contributions"), expected, "{page}");
    let employer = api["months"][0]["employer_id"].as_str().unwrap();
    assert!(
        page.contains(&format!("<a href=\"/console/employers/{employer}\">")),
        "{page}"
    );
    // Reading changed nothing.
    let (_, after) = app
        .get(&format!("/persons/{id}/contributions"), &clerk)
        .await;
    assert_eq!(after, api);
    app.stop().await;
}

// R-ID-3: the clerk applies for an employer's people's cards in bulk from the employer screen:
// the page lists each card issued (a link to it) and everyone skipped with the reason in words;
// the API has exactly those cards; the same list again issues nothing; an empty list and a
// forged form issue nothing.
async fn the_employer_screen_applies_for_cards_in_bulk(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let mut employers = Vec::new();
    for name in ["申领厂", "别家厂"] {
        let (s, v) = app.post("/employers", &clerk, json!({"name": name})).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        employers.push(v["id"].as_str().unwrap().to_owned());
    }
    let (e, other) = (&employers[0], &employers[1]);
    let here = json!({"kind": "employee", "employer_id": e, "contribution_base_fen": 500_000});
    let (a, b_, with_card, elsewhere, unknown, late) = (
        id_number("19900601", 41),
        id_number("19851111", 42),
        id_number("19800101", 43),
        id_number("19750505", 44),
        id_number("19700101", 45),
        id_number("19950101", 46),
    );
    app.person(&clerk, &a, here.clone()).await;
    app.person(&clerk, &b_, here.clone()).await;
    app.person(&clerk, &late, here.clone()).await;
    app.card_for(&clerk, &with_card, here.clone()).await;
    app.person(&clerk, &elsewhere, json!({"employer_id": other}))
        .await;
    let bad = format!(
        "{}{}",
        &unknown[..17],
        if unknown.ends_with('1') { '2' } else { '1' }
    );
    let list = format!(
        "{a}\r\n{}\r\n\r\n{with_card}\r\n{elsewhere}\r\n{unknown}\r\n{bad}\r\n{a}\r\n",
        b_.to_lowercase()
    );
    let cards_of = |id: String| {
        let app = &app;
        let clerk = &clerk;
        async move {
            let (s, v) = app.get(&format!("/persons/{id}"), clerk).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            v["cards"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["card_no"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };

    let mut br = Browser::clerk(&app, &clerk).await;
    let page_path = format!("/console/employers/{e}");
    let (_, page) = br.get(&page_path).await;
    assert!(page.contains("id=\"apply-form\""), "{page}");
    let path = format!("/console/employers/{e}/card-applications");
    let csrf = br.csrf.clone();
    let (s, page) = br
        .post(
            &path,
            &[("csrf", csrf.as_str()), ("id_numbers", list.as_str())],
        )
        .await;
    assert_eq!(s, StatusCode::OK, "the page answers with what was done");
    assert!(
        page.contains("批量申领已办理") && page.contains("新制卡 2 张，未制卡 5 人"),
        "{page}"
    );
    let issued = table_rows(&page, "issued");
    assert_eq!(issued.len(), 2, "{page}");
    for (row, id) in issued.iter().zip([&a, &b_]) {
        assert_eq!(&row[0], id);
        assert_eq!(
            cards_of(id.clone()).await,
            [row[1].clone()],
            "the API has it"
        );
        assert!(
            page.contains(&format!("<a href=\"/console/cards/{0}\">{0}</a>", row[1])),
            "{page}"
        );
    }
    assert_eq!(
        table_rows(&page, "skipped"),
        [
            [with_card.clone(), "已有社保卡".to_owned()],
            [elsewhere.clone(), "不在本单位参保".to_owned()],
            [unknown.clone(), "尚未办理参保登记".to_owned()],
            [bad.clone(), "身份证号格式或校验位有误".to_owned()],
            [a.clone(), "名单中重复填写".to_owned()],
        ],
        "{page}"
    );
    assert_eq!(cards_of(with_card.clone()).await.len(), 1);
    assert!(cards_of(elsewhere.clone()).await.is_empty());

    // Again: nothing twice.
    let csrf = br.csrf.clone();
    let (_, page) = br
        .post(
            &path,
            &[("csrf", csrf.as_str()), ("id_numbers", list.as_str())],
        )
        .await;
    assert!(page.contains("本次没有制发新卡"), "{page}");
    assert!(table_rows(&page, "issued").is_empty(), "{page}");
    assert_eq!(
        table_rows(&page, "skipped")[..2],
        [
            [a.clone(), "已有社保卡".to_owned()],
            [b_.clone(), "已有社保卡".to_owned()],
        ]
    );
    assert_eq!(cards_of(a.clone()).await.len(), 1);
    // Nothing to send, or a forged form: no card.
    let csrf = br.csrf.clone();
    let (_, page) = br
        .post(&path, &[("csrf", csrf.as_str()), ("id_numbers", " \r\n ")])
        .await;
    assert!(page.contains("请至少填写一个身份证号"), "{page}");
    let (s, to) = br
        .post(&path, &[("csrf", "forged"), ("id_numbers", late.as_str())])
        .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, page_path.as_str())
    );
    assert!(cards_of(late.clone()).await.is_empty());
    // In English, with the reasons in English.
    br.lang = Some("en");
    let csrf = br.csrf.clone();
    let (_, page) = br
        .post(
            &path,
            &[("csrf", csrf.as_str()), ("id_numbers", late.as_str())],
        )
        .await;
    assert!(page.contains("1 cards issued, 0 people skipped"), "{page}");
    assert_eq!(cards_of(late.clone()).await.len(), 1);
    let audit = {
        let (_, v) = app.get("/audit", ADMIN).await;
        v["records"].as_array().unwrap().clone()
    };
    assert_eq!(
        audit
            .iter()
            .filter(|r| r["action"] == "employer.card_applications")
            .count(),
        2,
        "one record for each application that issued cards"
    );
    app.stop().await;
}

// R-LS-5, R-LK-4 (xian, 001): a replacement card is collected with the ID and the pickup
// certificate, and in Xi'an with the employer's letter, which the holder in person brings too:
// the checklist asks both; without either the page names the missing piece and the card stays
// uncollected; with both it is collected, its evidence on record. The national checklist
// asks no letter of the holder.
async fn a_replacement_is_collected_with_the_pickup_certificate(engine: Engine) {
    let app = TestApp::spawn_with(engine, "xian").await;
    let clerk = app.actor("clerk").await;
    let old = app.card_for(&clerk, &nth_id(1), json!({})).await;
    let (s, v) = app
        .post(
            &format!("/cards/{old}/replacement"),
            &clerk,
            json!({"reason": "damaged", "evidence": {"holder_present": true, "holder_id_checked": true, "employer_letter": true}}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let new = v["new_card_no"].as_str().unwrap().to_owned();
    let ready_on = v["ready_on"].as_str().unwrap().to_owned();
    app.set_clock(&format!("{ready_on}T02:00:00Z")).await;

    let mut b = Browser::clerk(&app, &clerk).await;
    let page_path = format!("/console/cards/{new}");
    let (_, page) = b.get(&page_path).await;
    assert!(page.contains("id=\"collect-form\""), "{page}");
    assert!(page.contains("id=\"collect-pickup\""), "{page}");
    assert!(
        page.contains("已收单位证明 （本地区要求：本人办理也须提供）"),
        "{page}"
    );
    // The letter is asked beside the holder's ID, once per form, not in the agent's part.
    let collect = &page[page.find("id=\"collect-form\"").unwrap()..];
    let collect = &collect[..collect.find("</form>").unwrap()];
    assert_eq!(collect.matches("name=\"employer_letter\"").count(), 1);
    assert!(
        collect.find("id=\"collect-letter\"").unwrap() < collect.find("<details>").unwrap(),
        "{collect}"
    );
    let path = format!("/console/cards/{new}/collect");
    let csrf = b.csrf.clone();
    let (s, to) = b
        .post(
            &path,
            &[
                ("csrf", csrf.as_str()),
                ("holder_present", "on"),
                ("holder_id_checked", "on"),
                ("employer_letter", "on"),
            ],
        )
        .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, page_path.as_str())
    );
    let flash = b.flash(&page_path).await;
    assert!(
        flash.contains("证件核验不全") && flash.contains("领取补卡须出示领卡证明"),
        "{flash}"
    );
    assert!(!flash.contains("单位证明"), "{flash}");
    let csrf = b.csrf.clone();
    b.post(
        &path,
        &[
            ("csrf", csrf.as_str()),
            ("holder_present", "on"),
            ("holder_id_checked", "on"),
            ("pickup_certificate", "on"),
        ],
    )
    .await;
    let flash = b.flash(&page_path).await;
    assert!(
        flash.contains("本地区须提供单位证明") && !flash.contains("领卡证明"),
        "{flash}"
    );
    let v = app.card(&clerk, &new).await;
    assert_null(&v, "replacement.collected_at");
    let csrf = b.csrf.clone();
    b.post(
        &path,
        &[
            ("csrf", csrf.as_str()),
            ("holder_present", "on"),
            ("holder_id_checked", "on"),
            ("employer_letter", "on"),
            ("pickup_certificate", "on"),
        ],
    )
    .await;
    let flash = b.flash(&page_path).await;
    assert!(flash.contains("新卡已领取"), "{flash}");
    let v = app.card(&clerk, &new).await;
    assert!(v["replacement"]["collected_at"].is_string(), "{v}");
    let collected: Vec<_> = app
        .audit_for_card(&new)
        .await
        .into_iter()
        .filter(|r| r["action"] == "card.collect")
        .collect();
    assert_eq!(
        collected.len(),
        1,
        "the refused tries recorded nothing: {collected:?}"
    );
    assert_eq!(collected[0]["evidence"]["pickup_certificate"], true);
    assert_eq!(collected[0]["evidence"]["employer_letter"], true);
    let (_, page) = b.get(&page_path).await;
    assert!(
        page.contains("已收领卡证明"),
        "the trail shows the certificate: {page}"
    );
    app.stop().await;

    // Nationally the holder in person brings no letter.
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let card = app
        .card_with_ss_password(&clerk, &nth_id(1), "642097")
        .await;
    lock(&app, &card).await;
    let mut b = Browser::clerk(&app, &clerk).await;
    let (_, page) = b.get(&format!("/console/cards/{card}")).await;
    assert!(page.contains("id=\"reset-form\""), "{page}");
    assert!(!page.contains("本人办理也须提供"), "{page}");
    assert!(!page.contains("name=\"pickup_certificate\""), "{page}");
    app.stop().await;
}

// R-PW-9: a long trail is shown a hundred records at a time, newest first; the "earlier" link
// leads to the older ones, down to the first, and every record is on exactly one page.
async fn the_trail_pages_back_to_the_first_record(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let id = nth_id(1);
    let card = app
        .card_for(
            &clerk,
            &id,
            json!({"legacy_card": {"number": "YB1", "balance_fen": 50_000}}),
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
    for n in 0..110 {
        let (s, v) = app
            .post(
                "/purchases",
                &pharmacy,
                json!({"client_txn_id": format!("t-{n}"), "card_no": card, "amount_fen": 1}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    let token = app.holder_session(&id).await;
    let mut b = Browser::holder_again(&app, &id).await;
    let (_, v) = app.get("/self/audit?limit=1000", &token).await;
    let records = v["records"].as_array().unwrap();
    assert!(records.len() > 100, "{}", records.len());

    let (_, page) = b.get("/portal/trail").await;
    let newest = table_rows(&page, "trail");
    assert_eq!(newest.len(), 100, "{page}");
    assert_eq!(newest[0][1], "网上登录", "newest first");
    assert!(!page.contains("id=\"trail-latest\""), "{page}");
    let start = page
        .find("href=\"/portal/trail?before=")
        .expect("a link to the earlier records");
    let rest = &page[start + 6..];
    let href = rest[..rest.find('"').unwrap()].to_owned();
    let (s, page) = b.get(&href).await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let older = table_rows(&page, "trail");
    assert_eq!(
        newest.len() + older.len(),
        records.len(),
        "every record once"
    );
    assert_eq!(
        older.last().unwrap()[1],
        "参保登记",
        "down to the first record"
    );
    assert!(page.contains("id=\"trail-latest\""), "{page}");
    assert!(!page.contains("id=\"trail-earlier\""), "{page}");
    // The pages' times run from the newest down, across the break.
    let times: Vec<&String> = newest.iter().chain(&older).map(|r| &r[0]).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    app.stop().await;
}

/// The row of the terminal `id` on the terminal list.
fn terminal_row<'p>(page: &'p str, id: &str) -> &'p str {
    let Some(i) = page.find(&format!("id=\"terminal-{id}\"")) else {
        panic!("no row for {id}: {page}");
    };
    let rest = &page[i..];
    &rest[..rest.find("</tr>").unwrap()]
}

/// A PSAM terminal's request to the API with the MAC and counter its PSAM would send, under
/// the city keys the server made at first start (R-KM-1): an ss-password check at the
/// pharmacy.
async fn psam_verify(
    app: &TestApp,
    token: &str,
    psam_no: &str,
    card: &str,
    counter: u64,
) -> (StatusCode, serde_json::Value) {
    let keys = shebao_keys::FileKeyStore::load(&app.data_dir.join("city-keys")).unwrap();
    let path = format!("/cards/{card}/ss-password/verify");
    let body = json!({"password": "642097"}).to_string().into_bytes();
    let mac = shebao_keys::sim::request_mac(
        &keys,
        psam_no,
        "POST",
        &format!("/api/v1{path}"),
        counter,
        &body,
    )
    .unwrap();
    let resp = app
        .client
        .post(format!("{}{path}", app.base))
        .bearer_auth(token)
        .header(CONTENT_TYPE, "application/json")
        .header("X-Terminal-Counter", counter.to_string())
        .header("X-Terminal-MAC", mac.to_string())
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status();
    (status, resp.json().await.unwrap_or(serde_json::Value::Null))
}

// R-KM-1: the clerk sees which terminals hold a PSAM and when each was last used (other actors
// are not listed), and revokes one through the form: its token stops working at once, the
// revocation is audited; a form without the session's token, a non-terminal or an unknown id
// revokes nothing.
async fn the_terminal_list_shows_psams_and_revokes_a_terminal(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let create = |body: serde_json::Value| {
        let app = &app;
        async move {
            let (s, v) = app.post("/admin/actors", ADMIN, body).await;
            assert_eq!(s, StatusCode::CREATED, "{v}");
            (
                v["id"].as_str().unwrap().to_owned(),
                v["token"].as_str().unwrap().to_owned(),
            )
        }
    };
    let psam_no = "4506000000000091";
    let (pharmacy, pharmacy_token) = create(json!({
        "role": "pharmacy", "name": "南宁药房", "region": "450600", "psam_no": psam_no
    }))
    .await;
    let (hospital, hospital_token) = create(json!({
        "role": "hospital", "name": "Bearer Hospital", "region": "450600"
    }))
    .await;
    let (hotline, hotline_token) = create(json!({"role": "hotline", "name": "Hotline Desk"})).await;
    let clerk = app.actor("clerk").await;
    let card = app
        .card_with_ss_password(&clerk, "11010519491231002X", "642097")
        .await;
    let card_path = format!("/cards/{card}");
    let code = |v: &serde_json::Value| v["error"]["code"].as_str().map(str::to_owned);

    let mut b = Browser::clerk(&app, &clerk).await;
    let (s, page) = b.get("/console/search").await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        page.contains("href=\"/console/terminals\""),
        "the navigation links it"
    );
    let (s, page) = b.get("/console/terminals").await;
    assert_eq!(s, StatusCode::OK, "{page}");
    let row = terminal_row(&page, &pharmacy);
    assert!(row.contains(psam_no) && row.contains("南宁药房"), "{row}");
    assert!(row.contains("定点药店") && row.contains("450600"), "{row}");
    assert!(row.contains("从未使用"), "{row}");
    assert!(row.contains(&format!("id=\"revoke-{pharmacy}\"")), "{row}");
    let row = terminal_row(&page, &hospital);
    assert!(
        row.contains("无（仅凭令牌）") && row.contains("Bearer Hospital"),
        "{row}"
    );
    // Only terminals: not the hotline, the clerk or the admin.
    assert!(
        !page.contains("Hotline Desk") && !page.contains(&hotline),
        "{page}"
    );
    assert!(!page.contains("test clerk"), "{page}");
    // The same in English.
    b.lang = Some("en");
    let (_, page) = b.get("/console/terminals").await;
    assert!(
        terminal_row(&page, &pharmacy).contains("Never used"),
        "{page}"
    );
    assert!(
        terminal_row(&page, &hospital).contains("None — bearer token"),
        "{page}"
    );
    b.lang = None;

    // The PSAM terminal works with its MAC, and not without (its token alone is not enough);
    // its last use then shows, in Shanghai time.
    let (s, v) = psam_verify(&app, &pharmacy_token, psam_no, &card, 7).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let (s, v) = app.get(&card_path, &pharmacy_token).await;
    assert_eq!(
        (s, code(&v).as_deref()),
        (StatusCode::UNAUTHORIZED, Some("bad_mac")),
        "{v}"
    );
    let (_, page) = b.get("/console/terminals").await;
    let row = terminal_row(&page, &pharmacy);
    assert!(
        row.contains(">7</td>") && row.contains("2026-03-02 09:"),
        "{row}"
    );
    assert!(!row.contains("从未使用"), "{row}");

    // Without the session's token nothing is revoked.
    let revoke = format!("/console/terminals/{pharmacy}/revoke");
    for forged in [vec![("csrf", "forged")], vec![]] {
        let (s, to) = b.post(&revoke, &forged).await;
        assert_eq!(
            (s, to.as_str()),
            (StatusCode::SEE_OTHER, "/console/terminals")
        );
        assert!(b.flash("/console/terminals").await.contains("页面已过期"));
    }
    let (s, v) = psam_verify(&app, &pharmacy_token, psam_no, &card, 8).await;
    assert_eq!(s, StatusCode::OK, "{v}");
    let revocations = "SELECT count(*) FROM audit WHERE action = 'actor.revoke'";
    assert_eq!(app.count(revocations), 0);

    // A non-terminal and an unknown id are refused in words; nothing is revoked.
    let (_, _) = b.get("/console/terminals").await;
    let csrf = b.csrf.clone();
    let (s, to) = b
        .post(
            &format!("/console/terminals/{hotline}/revoke"),
            &[("csrf", &csrf)],
        )
        .await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/console/terminals")
    );
    assert!(b.flash("/console/terminals").await.contains("不是终端"));
    let (s, v) = app.get(&card_path, &hotline_token).await;
    assert_ne!(s, StatusCode::UNAUTHORIZED, "the hotline still works: {v}");
    let (s, _) = b
        .post("/console/terminals/A999999/revoke", &[("csrf", &csrf)])
        .await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert!(b.flash("/console/terminals").await.contains("未找到该终端"));
    assert_eq!(app.count(revocations), 0);

    // With it, the pharmacy is revoked: its token gets 401 at once, MAC or not.
    let (s, to) = b.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(
        (s, to.as_str()),
        (StatusCode::SEE_OTHER, "/console/terminals")
    );
    let flash = b.flash("/console/terminals").await;
    assert!(
        flash.contains("终端已吊销") && flash.contains(&pharmacy),
        "{flash}"
    );
    let (s, v) = app.get(&card_path, &pharmacy_token).await;
    assert_eq!(
        (s, code(&v).as_deref()),
        (StatusCode::UNAUTHORIZED, Some("unauthorized")),
        "{v}"
    );
    let (s, v) = psam_verify(&app, &pharmacy_token, psam_no, &card, 9).await;
    assert_eq!(s, StatusCode::UNAUTHORIZED, "{v}");
    // Audited as the API's revocation is, by the clerk.
    assert_eq!(app.count(revocations), 1);
    assert_eq!(
        app.count(&format!(
            "SELECT count(*) FROM audit WHERE action = 'actor.revoke' AND actor_role = 'clerk' \
             AND detail LIKE '%{pharmacy}%'"
        )),
        1
    );
    // The list shows when; the pharmacy has no button any more, the hospital still has its own
    // and still works.
    let (_, page) = b.get("/console/terminals").await;
    let row = terminal_row(&page, &pharmacy);
    assert!(!row.contains("id=\"revoke-"), "{row}");
    assert!(
        row.contains("revoked-at") && row.contains("2026-03-02 "),
        "{row}"
    );
    assert!(terminal_row(&page, &hospital).contains(&format!("id=\"revoke-{hospital}\"")));
    let (s, v) = app.get(&card_path, &hospital_token).await;
    assert_ne!(s, StatusCode::UNAUTHORIZED, "the hospital still works: {v}");
    // Revoking again changes nothing more.
    let (s, _) = b.post(&revoke, &[("csrf", &csrf)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(app.count(revocations), 1);
    app.stop().await;
}

mod two_servers {
    use super::*;

    /// Two servers on one PostgreSQL database (each with its own data dir and clock).
    async fn two_servers() -> (TestApp, TestApp) {
        let config = config(Engine::Postgres, "national");
        let a = TestApp::start(Engine::Postgres, config.clone()).await;
        let mut second = config.clone();
        second.data_dir = config.data_dir.join("second");
        let b = TestApp::start(Engine::Postgres, second).await;
        (a, b)
    }

    // Issue 16, API.md "Running on a cluster": console sessions live in the database. A
    // clerk's session made on one server is served by the other, its flash set on one shows
    // on the other's next page, the table holds neither the cookie nor the clerk's token (only
    // digests), a logout on one ends it on both, and an idle session expires (8 h for a
    // clerk) and is removed.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_clerks_console_session_is_served_by_every_server() {
        let (a, b) = two_servers().await;
        let clerk = a.actor("clerk").await;
        let card = a.card_for(&clerk, &nth_id(1), json!({})).await;
        let page = format!("/console/cards/{card}");
        let mut on_a = Browser::clerk(&a, &clerk).await;
        let mut on_b = on_a.elsewhere(&b);
        let (s, html) = on_b.get(&page).await;
        assert_eq!(s, StatusCode::OK, "b serves the session made on a: {html}");
        assert!(html.contains(&card));
        assert_eq!(on_b.csrf, on_a.csrf, "one session, one form token");
        // A forged form on b: its refusal is the flash of the next page, on a.
        let (s, to) = on_b
            .post(
                &format!("/console/cards/{card}/reset"),
                &[("csrf", "forged"), ("holder_present", "on")],
            )
            .await;
        assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, page.as_str()));
        assert_eq!(on_a.flash(&page).await, "页面已过期，请刷新后重试。");
        let (_, html) = on_b.get(&page).await;
        assert!(!html.contains("id=\"flash\""), "a flash is shown once");
        // Only digests are stored.
        let cookie = on_a.cookie.clone();
        assert_eq!(a.count("SELECT count(*) FROM console_sessions"), 1);
        assert_eq!(
            a.count(&format!(
                "SELECT count(*) FROM console_sessions t WHERE strpos(t::text, '{cookie}') > 0 OR strpos(t::text, '{clerk}') > 0"
            )),
            0,
            "the cookie or the token is in the table"
        );
        // A logout on b ends the session on a.
        let csrf = on_b.csrf.clone();
        let (s, to) = on_b.post("/console/logout", &[("csrf", &csrf)]).await;
        assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/console/login"));
        let (s, to) = on_a.get("/console/search").await;
        assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/console/login"));
        assert_eq!(a.count("SELECT count(*) FROM console_sessions"), 0);
        // An idle clerk session ends after 8 h.
        let mut again = Browser::clerk(&a, &clerk).await;
        let (s, _) = again.elsewhere(&b).get("/console/search").await;
        assert_eq!(s, StatusCode::OK);
        a.advance("PT8H1M").await;
        let (s, to) = again.get("/console/search").await;
        assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/console/login"));
        assert_eq!(
            a.count("SELECT count(*) FROM console_sessions"),
            0,
            "removed"
        );
        b.stop().await;
        a.stop().await;
    }

    // The portal's session likewise: logged in on a, served on b; a logout on b ends the
    // browser's session and the holder's service session behind it (R-PW-8).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_holders_portal_session_is_served_by_every_server() {
        let (a, b) = two_servers().await;
        let clerk = a.actor("clerk").await;
        let id = nth_id(2);
        a.card_for(&clerk, &id, json!({})).await;
        let mut on_a = Browser::holder(&a, &id).await;
        let service_sessions = a.count("SELECT count(*) FROM sessions");
        let mut on_b = on_a.elsewhere(&b);
        let (s, html) = on_b.get("/portal/home").await;
        assert_eq!(s, StatusCode::OK, "{html}");
        let csrf = on_b.csrf.clone();
        let (s, to) = on_b.post("/portal/logout", &[("csrf", &csrf)]).await;
        assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/portal/login"));
        // The cookie kept (the browser was told to drop it), back on a: nothing opens.
        let (s, to) = on_a.get("/portal/home").await;
        assert_eq!((s, to.as_str()), (StatusCode::SEE_OTHER, "/portal/login"));
        assert_eq!(a.count("SELECT count(*) FROM console_sessions"), 0);
        assert_eq!(
            a.count("SELECT count(*) FROM sessions"),
            service_sessions - 1,
            "the portal's service session ended with it"
        );
        b.stop().await;
        a.stop().await;
    }
}
