//! The load generator (reqwest over HTTP/1.1 keep-alive, bounded by a count and a time, closed
//! or open loop) and the bare-HTTP floor's echo server it is compared against.

use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// What one load run saw.
#[derive(Debug, Clone)]
pub struct LoadResult {
    pub ok: u64,
    pub errors: u64,
    pub elapsed: Duration,
    /// Microseconds, sorted.
    pub latencies: Vec<u32>,
}

impl LoadResult {
    pub fn throughput(&self) -> f64 {
        self.ok as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies.is_empty() {
            return f64::NAN;
        }
        let index = ((self.latencies.len() as f64 - 1.0) * p).round() as usize;
        f64::from(self.latencies[index.min(self.latencies.len() - 1)]) / 1000.0
    }
}

/// A request the load generator sends: method POST, a path and a body for request `i`.
pub type MakeRequest = Arc<dyn Fn(u64) -> (String, Value) + Send + Sync>;

/// Sends up to `total` requests over `connections` concurrent connections for at most
/// `max_time`. With `rate`, requests are paced (open loop) and each latency counts from the
/// request's scheduled time; without it, every connection sends as fast as answers come.
// The load generator measures wall time on purpose.
#[allow(clippy::disallowed_methods)]
pub async fn load(
    base: &str,
    token: Option<&str>,
    make: MakeRequest,
    connections: usize,
    total: u64,
    max_time: Duration,
    rate: Option<f64>,
) -> LoadResult {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections)
        .tcp_nodelay(true)
        .build()
        .unwrap_or_default();
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + max_time;
    let mut tasks = Vec::new();
    for _ in 0..connections.max(1) {
        let (client, next, make) = (client.clone(), next.clone(), make.clone());
        let base = base.to_owned();
        let token = token.map(str::to_owned);
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let (mut ok, mut errors) = (0u64, 0u64);
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || Instant::now() >= deadline {
                    break;
                }
                let scheduled = match rate {
                    Some(r) => {
                        let at = start + Duration::from_secs_f64(i as f64 / r);
                        if at >= deadline {
                            break;
                        }
                        tokio::time::sleep_until(at.into()).await;
                        at
                    }
                    None => Instant::now(),
                };
                let (path, body) = make(i);
                let mut request = client.post(format!("{base}{path}")).json(&body);
                if let Some(t) = &token {
                    request = request.bearer_auth(t);
                }
                match request.send().await {
                    Ok(resp) if resp.status().is_success() => {
                        let _ = resp.bytes().await;
                        ok += 1;
                        let micros = scheduled.elapsed().as_micros();
                        latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                    }
                    Ok(resp) => {
                        let _ = resp.bytes().await;
                        errors += 1;
                    }
                    Err(_) => errors += 1,
                }
            }
            (ok, errors, latencies)
        }));
    }
    let mut result = LoadResult {
        ok: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies: Vec::new(),
    };
    for task in tasks {
        if let Ok((ok, errors, latencies)) = task.await {
            result.ok += ok;
            result.errors += errors;
            result.latencies.extend(latencies);
        }
    }
    result.elapsed = start.elapsed();
    result.latencies.sort_unstable();
    result
}

/// The bare-HTTP floor: an axum server whose one handler echoes the JSON body. Run as its own
/// process by `shebao-bench echo-server`.
pub async fn echo_server() -> anyhow::Result<()> {
    use axum::Json;
    use axum::routing::post;
    let app =
        axum::Router::new().route("/echo", post(|Json(v): Json<Value>| async move { Json(v) }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("echo listening on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}
