//! D-14, R-CR-2 as a property: whatever registrations, credits, purchases and visits happen,
//! no balance is ever negative, above the policy's ceiling, or different from the sum of its
//! holder's ledger. Each case is a fresh server (SQLite, and PostgreSQL with fewer cases) with
//! a low ceiling, so credits meet it often.

use crate::helpers::*;
use crate::trust::policy_with_limits;
use proptest::prelude::*;
use reqwest::StatusCode;
use serde_json::json;

/// The ceilings of these runs: a legacy balance up to 200 yuan, an account up to 300 yuan.
const LEGACY_MAX: i64 = 20_000;
const BALANCE_MAX: i64 = 30_000;

#[derive(Debug, Clone)]
struct Holder {
    legacy: Option<i64>,
    base: i64,
}

#[derive(Debug, Clone)]
enum Op {
    Purchase {
        who: usize,
        amount: i64,
    },
    Visit {
        who: usize,
        cost: i64,
        inpatient: bool,
    },
    /// Let this many days pass, then run the crediting job.
    Credit {
        days: u32,
    },
}

fn holders() -> impl Strategy<Value = Vec<Holder>> {
    prop::collection::vec(
        (prop::option::of(0..=LEGACY_MAX), 1..=5_000_000i64)
            .prop_map(|(legacy, base)| Holder { legacy, base }),
        1..=4,
    )
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(
        prop_oneof![
            (0..4usize, 1..=40_000i64).prop_map(|(who, amount)| Op::Purchase { who, amount }),
            (0..4usize, 1..=500_000i64, any::<bool>()).prop_map(|(who, cost, inpatient)| {
                Op::Visit {
                    who,
                    cost,
                    inpatient,
                }
            }),
            (0..=40u32).prop_map(|days| Op::Credit { days }),
        ],
        0..=14,
    )
}

/// The invariants, read back through the API: 0 <= balance <= ceiling, balance = ledger sum.
async fn check(app: &TestApp, clerk: &str, cards: &[String]) -> Result<(), String> {
    for card in cards {
        let balance = app.card(clerk, card).await["balance_fen"]
            .as_i64()
            .ok_or("no balance")?;
        let (s, l) = app
            .get(&format!("/cards/{card}/ledger?limit=1000"), clerk)
            .await;
        if s != StatusCode::OK {
            return Err(format!("ledger {s}: {l}"));
        }
        let sum: i64 = l["entries"]
            .as_array()
            .ok_or("no entries")?
            .iter()
            .map(|e| e["amount_fen"].as_i64().unwrap_or(i64::MIN))
            .sum();
        if !(0..=BALANCE_MAX).contains(&balance) || balance != sum {
            return Err(format!(
                "{card}: balance {balance}, ledger sum {sum}, ceiling {BALANCE_MAX}"
            ));
        }
    }
    Ok(())
}

async fn run_case(engine: Engine, holders: Vec<Holder>, ops: Vec<Op>) -> Result<(), String> {
    let app = TestApp::spawn_with(engine, &policy_with_limits(LEGACY_MAX, BALANCE_MAX)).await;
    let clerk = app.actor("clerk").await;
    let pharmacy = app.actor("pharmacy").await;
    let hospital = app.actor("hospital").await;
    let (s, v) = app
        .post(
            "/employers",
            &clerk,
            json!({"name": "Property Works", "prev_year_avg_wage_fen": 700_000}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let employer = v["id"].as_str().unwrap().to_owned();
    let mut cards = Vec::new();
    for (n, h) in holders.iter().enumerate() {
        let mut body = json!({"employer_id": employer, "contribution_base_fen": h.base});
        if let Some(balance) = h.legacy {
            body["legacy_card"] = json!({"number": format!("YB{n}"), "balance_fen": balance});
        }
        let card = app.card_for(&clerk, &nth_id(n as u32 + 1), body).await;
        let (s, v) = app
            .post(
                &format!("/cards/{card}/activation"),
                &clerk,
                json!({"channel": "service_center"}),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        cards.push(card);
    }
    // March to June paid in full on time: their credits arrive 45 working days later.
    for m in ["2026-03", "2026-04", "2026-05", "2026-06"] {
        app.set_clock(&format!("{m}-10T02:00:00Z")).await;
        let (_, view) = app.get(&format!("/employers/{employer}"), &clerk).await;
        let assessed = view["months"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["month"] == m)
            .map(|x| x["assessed_fen"].as_i64().unwrap())
            .unwrap_or_else(|| panic!("{m} assessed: {view}"));
        let (s, v) = app
            .post(
                &format!("/employers/{employer}/payments"),
                &clerk,
                json!({"month": m, "amount_fen": assessed, "paid_on": format!("{m}-10")}),
            )
            .await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
    }
    check(&app, &clerk, &cards).await?;
    for (i, op) in ops.iter().enumerate() {
        match op {
            Op::Purchase { who, amount } => {
                let card = &cards[who % cards.len()];
                let (s, v) = app
                    .post("/purchases", &pharmacy, json!({"client_txn_id": format!("p{i}"), "card_no": card, "amount_fen": amount}))
                    .await;
                // Paid, or refused under the unit lock (months after June are unpaid).
                if ![StatusCode::CREATED, StatusCode::LOCKED].contains(&s) {
                    return Err(format!("purchase {s}: {v}"));
                }
            }
            Op::Visit {
                who,
                cost,
                inpatient,
            } => {
                let card = &cards[who % cards.len()];
                let kind = if *inpatient {
                    "inpatient"
                } else {
                    "outpatient"
                };
                let (s, v) = app
                    .post("/visits", &hospital, json!({"client_txn_id": format!("v{i}"), "card_no": card, "kind": kind, "cost_fen": cost}))
                    .await;
                if ![StatusCode::CREATED, StatusCode::LOCKED].contains(&s) {
                    return Err(format!("visit {s}: {v}"));
                }
            }
            Op::Credit { days } => {
                app.advance(&format!("P{days}D")).await;
                let (s, v) = app
                    .post("/admin/jobs/crediting/run", ADMIN, json!({}))
                    .await;
                if s != StatusCode::OK {
                    return Err(format!("crediting {s}: {v}"));
                }
                check(&app, &clerk, &cards).await?;
            }
        }
    }
    let result = check(&app, &clerk, &cards).await;
    app.stop().await;
    result
}

fn property(engine: Engine, cases: u32) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let config = ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    };
    proptest!(config, |(holders in holders(), ops in ops())| {
        let outcome: Result<(), String> = runtime.block_on(run_case(engine, holders, ops));
        prop_assert!(outcome.is_ok(), "{}", outcome.err().unwrap_or_default());
    });
}

// D-14, R-CR-2.
#[test]
fn balances_stay_between_zero_and_the_ceiling_and_equal_their_ledgers_sqlite() {
    property(Engine::Sqlite, 16);
}

// D-14, R-CR-2.
#[test]
fn balances_stay_between_zero_and_the_ceiling_and_equal_their_ledgers_postgres() {
    property(Engine::Postgres, 6);
}
