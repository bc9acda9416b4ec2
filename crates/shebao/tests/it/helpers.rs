//! Typed helpers: each test gets a real server on 127.0.0.1:0 with a fresh database (SQLite
//! in a temp dir, or a fresh PostgreSQL database) and a simulated clock.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

/// The simulated clock starts here: Monday 2026-03-02 09:00 in Shanghai.
pub const START: &str = "2026-03-02T01:00:00Z";
pub const ADMIN: &str = "shb_test_admin_token_0123456789abcdef";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub engine: Engine,
    pub data_dir: PathBuf,
    /// The PostgreSQL database this server uses (`None` on SQLite).
    pub database_url: Option<String>,
    /// The admin token this start created or was given.
    pub admin_token: Option<String>,
    server: Option<shebao::Server>,
}

fn random_hex() -> String {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    hex::encode(b)
}

/// A fresh PostgreSQL database on the test server named by `SHEBAO_TEST_DATABASE_URL`.
fn fresh_postgres_database() -> String {
    let admin_url = std::env::var("SHEBAO_TEST_DATABASE_URL").unwrap_or_else(|_| {
        panic!(
            "SHEBAO_TEST_DATABASE_URL is not set: the storage suite runs on PostgreSQL too. \
             Run the tests through `scripts/with-postgres cargo nextest run --workspace` (it starts a throwaway server)."
        )
    });
    let name = format!("shebao_t_{}", random_hex());
    let create = format!("CREATE DATABASE {name}");
    let url = admin_url.clone();
    std::thread::spawn(move || {
        let mut client = postgres::Client::connect(&url, postgres::NoTls)
            .expect("connect to the test PostgreSQL");
        client
            .batch_execute(&create)
            .expect("create a test database");
    })
    .join()
    .unwrap();
    let (base, _) = admin_url
        .rsplit_once('/')
        .expect("a database URL ends in /dbname");
    format!("{base}/{name}")
}

pub fn config(engine: Engine, policy: &str) -> shebao::Config {
    let data_dir = std::env::temp_dir().join(format!("shebao-it-{}", random_hex()));
    let mut config = shebao::Config::new(&data_dir);
    config.listen = "127.0.0.1:0".into();
    config.policy = policy.into();
    config.sim_clock = Some(START.parse().unwrap());
    config.admin_token = Some(ADMIN.into());
    config.pin_keys =
        Some("k1 7f3c9a1e5b2d4f6081a3c5e7092b4d6f8a1c3e5f7092b4d6f8a1c3e5f7092b4d".into());
    if engine == Engine::Postgres {
        config.database_url = Some(fresh_postgres_database());
    }
    config
}

impl TestApp {
    pub async fn spawn(engine: Engine) -> TestApp {
        Self::spawn_with(engine, "national").await
    }

    pub async fn spawn_with(engine: Engine, policy: &str) -> TestApp {
        Self::start(engine, config(engine, policy)).await
    }

    pub async fn start(engine: Engine, config: shebao::Config) -> TestApp {
        let data_dir = config.data_dir.clone();
        let database_url = config.database_url.clone();
        let server = shebao::Server::start(config).await.expect("server starts");
        TestApp {
            base: format!("http://{}/api/v1", server.addr),
            client: reqwest::Client::new(),
            engine,
            data_dir,
            database_url,
            admin_token: server.admin_token.clone(),
            server: Some(server),
        }
    }

    /// Runs one counting query (`SELECT count(*) …`, no parameters) straight on the database,
    /// beside the server: what is stored, not what the API shows.
    pub fn count(&self, sql: &str) -> i64 {
        match &self.database_url {
            None => {
                let conn = rusqlite::Connection::open_with_flags(
                    self.data_dir.join("shebao.sqlite"),
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )
                .expect("open the test database");
                conn.query_row(sql, [], |r| r.get(0)).expect("count")
            }
            Some(url) => {
                let (url, sql) = (url.clone(), sql.to_owned());
                std::thread::spawn(move || {
                    let mut client =
                        postgres::Client::connect(&url, postgres::NoTls).expect("connect");
                    client.query_one(&sql, &[]).expect("count").get::<_, i64>(0)
                })
                .join()
                .unwrap()
            }
        }
    }

    /// Stops the server (graceful: storage drains and closes).
    pub async fn stop(mut self) -> (Engine, PathBuf) {
        if let Some(server) = self.server.take() {
            server.stop().await.expect("clean stop");
        }
        (self.engine, self.data_dir.clone())
    }

    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        self.call_with(method, path, token, body, &[]).await
    }

    /// `call` with extra request headers.
    pub async fn call_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
        headers: &[(&str, &str)],
    ) -> (StatusCode, Value) {
        let method_name = method.to_string();
        let mut req = self
            .client
            .request(method, format!("{}{}", self.base, path));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("request sent");
        let status = resp.status();
        let text = resp.text().await.unwrap();
        // Every answer of the API is JSON; only 204 has no body. Anything else fails here, so
        // a status-only check can never pass on a plain-text or empty answer.
        let value = if text.is_empty() && status == StatusCode::NO_CONTENT {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| {
                panic!("{method_name} {path}: {status} answered no JSON ({e}): {text:?}")
            })
        };
        (status, value)
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }
    pub async fn put(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::PUT, path, Some(token), Some(body)).await
    }
    pub async fn delete(&self, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
        self.call(Method::DELETE, path, Some(token), Some(body))
            .await
    }
    pub async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        self.call(Method::GET, path, Some(token), None).await
    }

    /// A new actor of `role`; returns its token.
    pub async fn actor(&self, role: &str) -> String {
        self.actor_in(role, None).await
    }

    pub async fn actor_in(&self, role: &str, region: Option<&str>) -> String {
        let (s, v) = self
            .post(
                "/admin/actors",
                ADMIN,
                json!({"role": role, "name": format!("test {role}"), "region": region}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["token"].as_str().unwrap().to_owned()
    }

    /// Registers a person (as a clerk) with `extra` fields merged in.
    pub async fn person(&self, clerk: &str, id_number: &str, extra: Value) -> Value {
        let mut body = json!({"id_number": id_number, "name": "测试", "kind": "employee"});
        if let (Some(b), Some(e)) = (body.as_object_mut(), extra.as_object()) {
            for (k, v) in e {
                b.insert(k.clone(), v.clone());
            }
        }
        let (s, v) = self.post("/persons", clerk, body).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v
    }

    /// Registers a person and issues a card; returns the card number.
    pub async fn card_for(&self, clerk: &str, id_number: &str, extra: Value) -> String {
        self.person(clerk, id_number, extra).await;
        let (s, v) = self
            .post("/cards", clerk, json!({"id_number": id_number}))
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        v["card_no"].as_str().unwrap().to_owned()
    }

    /// An activated card whose balance of `balance_fen` moved over from the person's old
    /// medical card (R-ACT-5); returns the card number.
    pub async fn funded_card(&self, clerk: &str, id_number: &str, balance_fen: i64) -> String {
        let legacy = format!("YB{}", &id_number[14..]);
        let card = self
            .card_for(
                clerk,
                id_number,
                json!({"legacy_card": {"number": legacy, "balance_fen": balance_fen}}),
            )
            .await;
        let (s, v) = self
            .post(
                &format!("/cards/{card}/activation"),
                clerk,
                json!({"channel": "service_center"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["balance_fen"], balance_fen);
        card
    }

    /// A card whose social-security account is active with `password` enabled.
    pub async fn card_with_ss_password(
        &self,
        clerk: &str,
        id_number: &str,
        password: &str,
    ) -> String {
        self.card_with_ss_password_for(clerk, id_number, json!({}), password)
            .await
    }

    /// The same for a person registered with `extra` fields.
    pub async fn card_with_ss_password_for(
        &self,
        clerk: &str,
        id_number: &str,
        extra: Value,
        password: &str,
    ) -> String {
        let card = self.card_for(clerk, id_number, extra).await;
        let (s, v) = self
            .post(
                &format!("/cards/{card}/activation"),
                clerk,
                json!({"channel": "service_center"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = self
            .put(
                &format!("/cards/{card}/ss-password"),
                clerk,
                json!({"new_password": password}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        card
    }

    pub async fn card(&self, token: &str, card_no: &str) -> Value {
        let (s, v) = self.get(&format!("/cards/{card_no}"), token).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// Moves the simulated clock by an ISO 8601 duration.
    pub async fn advance(&self, duration: &str) -> String {
        let (s, v) = self
            .post("/admin/clock", ADMIN, json!({"advance": duration}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["now"].as_str().unwrap().to_owned()
    }

    pub async fn set_clock(&self, instant: &str) {
        let (s, v) = self
            .post("/admin/clock", ADMIN, json!({"set": instant}))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
    }

    /// A cardholder session past the forced first change (R-PW-8); returns its token.
    pub async fn holder_session(&self, id_number: &str) -> String {
        let initial: String = id_number[10..].replace('X', "0");
        let (s, v) = self
            .call(
                Method::POST,
                "/self/login",
                None,
                Some(json!({"id_number": id_number, "query_password": initial})),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let token = v["token"].as_str().unwrap().to_owned();
        let (s, v) = self
            .put(
                "/self/query-password",
                &token,
                json!({"old_password": initial, "new_password": "holder2026pass"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        token
    }

    pub async fn audit_for_card(&self, card_no: &str) -> Vec<Value> {
        let (s, v) = self.get(&format!("/audit?card_no={card_no}"), ADMIN).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v["records"].as_array().unwrap().clone()
    }
}

/// Asserts that `v` has the field `path` (`"a.b"` for nested objects) and that it is JSON null:
/// `v["a"]["b"] == Value::Null` alone would also pass when the field is missing.
#[track_caller]
pub fn assert_null(v: &Value, path: &str) {
    let mut at = v;
    for key in path.split('.') {
        at = at
            .get(key)
            .unwrap_or_else(|| panic!("{path}: no field {key:?} in {at}"));
    }
    assert!(at.is_null(), "{path} is {at}, not null");
}

/// A valid 18-character ID number: region 450602, the given birth date, a sequence.
pub fn id_number(birth: &str, seq: u32) -> String {
    shebao_domain::IdNumber::with_check_digit(&format!("450602{birth}{seq:03}"))
        .unwrap()
        .as_str()
        .to_owned()
}

/// The contract's error code of an answer.
pub fn code(v: &Value) -> Option<&str> {
    v["error"]["code"].as_str()
}

/// The holder in person, ID checked (R-LK-2, R-LK-4).
pub fn holder_evidence() -> Value {
    json!({"holder_present": true, "holder_id_checked": true})
}

/// Distinct people for one test.
pub fn nth_id(n: u32) -> String {
    id_number("19800101", n)
}

/// Runs each listed scenario `async fn name(engine: Engine)` once per storage engine.
#[macro_export]
macro_rules! on_both_engines {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    super::$name($crate::helpers::Engine::Sqlite).await
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    super::$name($crate::helpers::Engine::Postgres).await
                }
            }
        )*
    };
}
