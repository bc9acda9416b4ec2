//! Purchases by electronic-card payment code (issue 15's performance item): the holders' phones
//! make their single-use codes (`POST /self/ecard/code`) just before a timed half, one code per
//! holder and so per card; the half then pays each code once from the pharmacy
//! (`POST /purchases` with `ecard_code` and the transaction password, as the plain run sends
//! `card_no`), over the same number of connections.

use crate::load::{Connection, Prepared, StrictResult, load_connections};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// One payment code from each holder of `tokens` (their session tokens), made over
/// `connections` concurrent connections against `api` (`…/api/v1`). A holder whose code was
/// refused is left out (and counted); more than one in a thousand fails.
pub async fn make_codes(
    api: &str,
    tokens: Vec<String>,
    connections: usize,
) -> anyhow::Result<Vec<String>> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .build()
        .unwrap_or_default();
    let wanted = tokens.len();
    let tokens = Arc::new(tokens);
    let next = Arc::new(AtomicUsize::new(0));
    let url = format!("{api}/self/ecard/code");
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let (client, tokens, next, url) =
            (client.clone(), tokens.clone(), next.clone(), url.clone());
        tasks.push(tokio::spawn(async move {
            let (mut codes, mut refused, mut first_refusal) = (Vec::new(), 0usize, None);
            loop {
                let j = next.fetch_add(1, Ordering::Relaxed);
                let Some(token) = tokens.get(j) else { break };
                let answer = client.post(&url).bearer_auth(token).send().await;
                let refusal = match answer {
                    Ok(resp) if resp.status().as_u16() == 201 => match resp.json::<Value>().await {
                        Ok(v) => match v["code"].as_str() {
                            Some(code) => {
                                codes.push(code.to_owned());
                                continue;
                            }
                            None => format!("201 without a code: {v}"),
                        },
                        Err(e) => format!("201, body: {e}"),
                    },
                    Ok(resp) => {
                        let status = resp.status();
                        format!("{status}: {}", resp.text().await.unwrap_or_default())
                    }
                    Err(e) => format!("transport: {e}"),
                };
                refused += 1;
                first_refusal.get_or_insert(refusal);
            }
            (codes, refused, first_refusal)
        }));
    }
    let (mut codes, mut refused, mut first_refusal) = (Vec::with_capacity(wanted), 0, None);
    for task in tasks {
        let (c, r, f) = task.await?;
        codes.extend(c);
        refused += r;
        if first_refusal.is_none() {
            first_refusal = f;
        }
    }
    if refused > 0 {
        let first = first_refusal.unwrap_or_default();
        eprintln!("[bench] WARNING: {refused} of {wanted} payment codes refused; first: {first}");
        if refused * 1_000 > wanted {
            anyhow::bail!(
                "making payment codes failed: {refused} of {wanted} refused; first: {first}"
            );
        }
    }
    Ok(codes)
}

/// Full load (closed loop) of purchases by `codes`, each paid once, one connection per pharmacy
/// of `tokens`, against `api`, for at most `max_time`; request numbers (client transaction ids
/// `c{n}`) start at `first`. Only 201 counts.
pub async fn pay_codes(
    api: &str,
    tokens: &[String],
    codes: Vec<String>,
    password: &str,
    first: u64,
    max_time: Duration,
) -> StrictResult {
    let total = codes.len() as u64;
    let codes = Arc::new(codes);
    let mut prepared: Vec<Connection> = tokens
        .iter()
        .map(|token| {
            let (codes, password) = (codes.clone(), password.to_owned());
            Connection::new(
                token.clone(),
                Box::new(move |n| {
                    let code = usize::try_from(n - first)
                        .ok()
                        .and_then(|k| codes.get(k))
                        .ok_or_else(|| format!("no code for request {n}"))?;
                    let body = serde_json::to_vec(&json!({
                        "client_txn_id": format!("c{n}"),
                        "ecard_code": code,
                        "amount_fen": 1,
                        "password": password,
                    }))
                    .map_err(|e| format!("body: {e}"))?;
                    Ok(Prepared {
                        path: "/purchases".to_owned(),
                        body,
                        headers: Vec::new(),
                    })
                }),
            )
        })
        .collect();
    load_connections(api, &mut prepared, 201, first, total, max_time).await
}
