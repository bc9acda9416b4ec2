use crate::helpers::*;
use crate::on_both_engines;
use reqwest::{Method, StatusCode};
use serde_json::json;

on_both_engines!(openapi_lists_the_contract, admin_and_clock);

async fn openapi_lists_the_contract(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let (s, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    let paths = doc["paths"].as_object().unwrap();
    for p in [
        "/admin/actors",
        "/admin/clock",
        "/health",
        "/ready",
        "/metrics",
        "/persons",
        "/persons/{id_number}",
        "/cards",
        "/cards/{card_no}",
        "/cards/{card_no}/activation",
        "/cards/{card_no}/ss-password/verify",
        "/cards/{card_no}/ss-password",
        "/cards/{card_no}/ss-password/reset",
        "/cards/{card_no}/fin-password/verify",
        "/cards/{card_no}/fin-password",
        "/cards/{card_no}/fin-password/reset",
        "/cards/{card_no}/ledger",
        "/self/login",
        "/self/query-password",
        "/audit",
        "/employers",
        "/sms/inbound",
        "/self/logout",
        "/admin/actors/{id}",
        "/persons/{id_number}/query-password/reset",
        "/filings",
        "/purchases",
        "/visits",
    ] {
        assert!(
            paths.contains_key(p),
            "{p} missing from the OpenAPI document"
        );
    }
    assert!(
        paths["/cards/{card_no}/ss-password"]
            .get("delete")
            .is_some()
    );
    // Issue 16: the writes a repeat would do twice document their Idempotency-Key header.
    for (path, method) in [
        ("/employers", "post"),
        ("/employers/{id}/payments", "post"),
        ("/admin/actors", "post"),
        ("/cards/{card_no}/ss-password", "put"),
        ("/cards/{card_no}/fin-password", "put"),
        ("/self/query-password", "put"),
    ] {
        let params = paths[path][method]["parameters"].as_array();
        assert!(
            params.is_some_and(|ps| ps
                .iter()
                .any(|p| p["name"] == "Idempotency-Key" && p["in"] == "header")),
            "{method} {path}: no Idempotency-Key header in the OpenAPI document"
        );
    }
    let (s, h) = app.call(Method::GET, "/health", None, None).await;
    assert_eq!((s, h), (StatusCode::OK, json!({"status": "ok"})));
    // Issue 16: the metrics are documented as Prometheus text, not JSON.
    assert!(
        paths["/metrics"]["get"]["responses"]["200"]["content"]
            .as_object()
            .is_some_and(|c| c.keys().any(|k| k.starts_with("text/plain"))),
        "{}",
        paths["/metrics"]
    );
}

async fn admin_and_clock(engine: Engine) {
    let app = TestApp::spawn(engine).await;
    let clerk = app.actor("clerk").await;
    assert_eq!(
        app.post(
            "/admin/actors",
            &clerk,
            json!({"role": "clerk", "name": "x"})
        )
        .await
        .0,
        StatusCode::FORBIDDEN
    );
    let (s, v) = app
        .post(
            "/admin/actors",
            ADMIN,
            json!({"role": "wizard", "name": "x"}),
        )
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_role"))
    );
    let (s, v) = app
        .post(
            "/admin/actors",
            ADMIN,
            json!({"role": "pharmacy", "name": "药店"}),
        )
        .await;
    assert_eq!(
        (s, v["region"].as_str()),
        (StatusCode::CREATED, Some("110000")),
        "terminals default to the home region"
    );
    let (s, v) = app
        .post("/admin/clock", ADMIN, json!({"advance": "PT0S"}))
        .await;
    assert_eq!(
        (s, v["now"].as_str()),
        (StatusCode::OK, Some("2026-03-02T09:00:00+08:00"))
    );
    let (s, v) = app
        .post("/admin/clock", ADMIN, json!({"advance": "P1D"}))
        .await;
    assert_eq!(
        (s, v["now"].as_str()),
        (StatusCode::OK, Some("2026-03-03T09:00:00+08:00"))
    );
    let (s, _) = app
        .post(
            "/admin/clock",
            ADMIN,
            json!({"set": "2026-01-01T00:00:00Z"}),
        )
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "never backwards");
    let (s, _) = app
        .post("/admin/clock", ADMIN, json!({"advance": "soon"}))
        .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        app.call(Method::GET, "/nowhere", None, None).await.0,
        StatusCode::NOT_FOUND
    );
}

// Without --sim-clock the clock endpoint does not exist.
#[tokio::test]
async fn clock_endpoint_is_404_without_sim_clock() {
    let mut config = config(Engine::Sqlite, "national");
    config.sim_clock = None;
    let app = TestApp::start(Engine::Sqlite, config).await;
    let (s, v) = app
        .post("/admin/clock", ADMIN, json!({"advance": "P1D"}))
        .await;
    assert_eq!(
        (s, v["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("not_found"))
    );
}

/// Every `$ref` in `v` (recursively).
fn refs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(map) => {
            for (k, x) in map {
                if k == "$ref" {
                    out.push(x.as_str().unwrap_or_default().to_owned());
                } else {
                    refs(x, out);
                }
            }
        }
        serde_json::Value::Array(xs) => xs.iter().for_each(|x| refs(x, out)),
        _ => {}
    }
}

// The served OpenAPI document is valid where a client generator trips: every path template's
// variables are exactly its `in: path` parameters (required), no other parameter claims to be
// in the path, operation ids are unique, every `$ref` resolves, every operation has responses.
// Before: /audit's four query parameters were declared `in: path, required: true`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn openapi_parameters_match_their_paths() {
    let app = TestApp::spawn(Engine::Sqlite).await;
    let (s, doc) = app.call(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(s, StatusCode::OK);
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let mut ids = std::collections::HashSet::new();
    let mut checked = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        let vars: std::collections::BTreeSet<String> = path
            .split('/')
            .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
            .map(str::to_owned)
            .collect();
        for (method, op) in item.as_object().unwrap() {
            let params = op["parameters"].as_array().cloned().unwrap_or_default();
            let mut in_path = std::collections::BTreeSet::new();
            for p in &params {
                let (name, place) = (p["name"].as_str().unwrap(), p["in"].as_str().unwrap());
                assert!(
                    ["path", "query", "header", "cookie"].contains(&place),
                    "{method} {path}: {p}"
                );
                if place == "path" {
                    assert_eq!(
                        p["required"], true,
                        "{method} {path}: path parameter {name} must be required"
                    );
                    in_path.insert(name.to_owned());
                } else {
                    assert!(
                        !vars.contains(name),
                        "{method} {path}: {name} is in the template but declared in {place}"
                    );
                }
            }
            assert_eq!(
                in_path, vars,
                "{method} {path}: path parameters and template differ"
            );
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path} has no operationId"));
            assert!(ids.insert(id.to_owned()), "operationId {id} twice");
            assert!(
                op["responses"].as_object().is_some_and(|r| !r.is_empty()),
                "{method} {path} has no responses"
            );
            checked += 1;
        }
    }
    assert!(checked > 40, "{checked} operations");
    let mut all = Vec::new();
    refs(&doc, &mut all);
    for r in all {
        let name = r
            .strip_prefix("#/components/schemas/")
            .unwrap_or_else(|| panic!("unexpected $ref {r}"));
        assert!(schemas.contains_key(name), "$ref {r} does not resolve");
    }
}
