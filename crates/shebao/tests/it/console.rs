//! The console and portal over plain HTTP on both engines (no browser): sessions, CSRF,
//! the forced first change, and the dashboard's reads (SQL on SQLite and PostgreSQL).
//! The browser tests (`browser.rs`) drive the same pages in Chromium.

use crate::helpers::*;
use crate::on_both_engines;
use reqwest::StatusCode;
use reqwest::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use serde_json::json;

on_both_engines!(
    the_dashboard_counts_locks_losses_and_replacements,
    forms_without_the_csrf_token_change_nothing,
    the_portal_forces_the_first_change
);

/// A browser without a browser: keeps the session cookie, reads the CSRF token from forms.
struct Browser {
    origin: String,
    client: reqwest::Client,
    cookie: String,
    csrf: String,
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
        };
        let (s, _) = b.get(login_path).await;
        assert_eq!(s, StatusCode::OK);
        b
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
            .header(COOKIE, format!("shebao_sid={}", self.cookie))
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

    /// Posts a form; answers the status and the redirect target.
    async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
        let body: Vec<String> = fields
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect();
        let resp = self
            .client
            .post(format!("{}{path}", self.origin))
            .header(COOKIE, format!("shebao_sid={}", self.cookie))
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
            .map(|l| l.to_str().unwrap().to_owned())
            .unwrap_or_default();
        (status, location)
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
    for _ in 0..3 {
        let csrf = b.csrf.clone();
        let (s, _) = b
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
    }
    assert_eq!(app.card(&clerk, &card).await["ss_account"]["locked"], false);
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
