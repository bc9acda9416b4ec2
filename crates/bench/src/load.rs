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
    /// No requests yet, to [`LoadResult::merge`] segments into.
    pub fn empty() -> LoadResult {
        LoadResult {
            ok: 0,
            errors: 0,
            elapsed: Duration::ZERO,
            latencies: Vec::new(),
        }
    }

    /// Two segments of one measurement as one: counts and times added, latencies merged.
    pub fn merge(mut self, other: LoadResult) -> LoadResult {
        self.ok += other.ok;
        self.errors += other.errors;
        self.elapsed += other.elapsed;
        self.latencies.extend(other.latencies);
        self.latencies.sort_unstable();
        self
    }

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

/// One request as a connection prepared it: the path after the base, the exact body bytes
/// (sent as `application/json`, unchanged) and the headers beside the bearer token.
pub struct Prepared {
    pub path: String,
    pub body: Vec<u8>,
    pub headers: Vec<(&'static str, String)>,
}

/// What a connection sends for its next request, given the run's request number: its own
/// state (counters) advances with each call, so a connection's requests go out in order.
pub type NextRequest = Box<dyn FnMut(u64) -> Result<Prepared, String> + Send>;

/// One connection of [`load_connections`]: its own bearer token and its own requests, some of
/// them made ahead ([`Connection::make_ahead`]).
pub struct Connection {
    pub token: String,
    pub next: NextRequest,
    /// Requests made before the timed run, sent first, in order.
    pub ahead: std::collections::VecDeque<Prepared>,
}

impl Connection {
    pub fn new(token: String, next: NextRequest) -> Connection {
        Connection {
            token,
            next,
            ahead: Default::default(),
        }
    }

    /// Makes `n` requests now (numbered from `first`), to be sent before any made during the
    /// run: a terminal's own hardware signs its requests, so a run whose client shares the
    /// server's cores signs them ahead, untimed, as the code run makes its codes ahead.
    pub fn make_ahead(&mut self, first: u64, n: u64) -> Result<(), String> {
        for i in 0..n {
            let prepared = (self.next)(first + i)?;
            self.ahead.push_back(prepared);
        }
        Ok(())
    }
}

/// What [`load_connections`] saw: only answers with the expected status count in `load.ok`
/// (and in the latencies); every other answer is in `load.errors` and counted by kind.
#[derive(Debug, Clone)]
pub struct StrictResult {
    pub load: LoadResult,
    /// `"STATUS code"` (the error code of the answer's body), `"transport"` or `"client"`,
    /// with how many requests ended so.
    pub unexpected: std::collections::BTreeMap<String, u64>,
    /// The first unexpected answer (status and the start of its body, or the error).
    pub sample: Option<String>,
    /// Requests made during the run because a connection had used up those made ahead.
    pub made_during_run: u64,
    /// Requests made ahead of the runs, and the time that took (not timed in the runs).
    pub made_ahead: (u64, Duration),
}

impl StrictResult {
    /// The unexpected answers as ` (N × KIND, …)`, or nothing when there were none.
    pub fn unexpected_summary(&self) -> String {
        if self.unexpected.is_empty() {
            return String::new();
        }
        let kinds: Vec<String> = self
            .unexpected
            .iter()
            .map(|(kind, n)| format!("{n} × {kind}"))
            .collect();
        format!(" ({})", kinds.join(", "))
    }

    /// No requests yet, to [`StrictResult::merge`] segments into.
    pub fn empty() -> StrictResult {
        StrictResult {
            load: LoadResult::empty(),
            unexpected: std::collections::BTreeMap::new(),
            sample: None,
            made_during_run: 0,
            made_ahead: (0, Duration::ZERO),
        }
    }

    /// Two segments of one measurement as one.
    pub fn merge(mut self, other: StrictResult) -> StrictResult {
        self.load = self.load.merge(other.load);
        for (kind, n) in other.unexpected {
            *self.unexpected.entry(kind).or_default() += n;
        }
        if self.sample.is_none() {
            self.sample = other.sample;
        }
        self.made_during_run += other.made_during_run;
        self.made_ahead.0 += other.made_ahead.0;
        self.made_ahead.1 += other.made_ahead.1;
        self
    }
}

/// Closed loop over `connections`, each sending its own requests one after the other, up to
/// `total` requests (numbered `first`, `first + 1`, … across the connections) or `max_time`.
/// Only `expect` counts as success. The connections are handed back afterwards with their
/// state (a later run continues their counters).
// The load generator measures wall time on purpose.
#[allow(clippy::disallowed_methods)]
pub async fn load_connections(
    base: &str,
    connections: &mut Vec<Connection>,
    expect: u16,
    first: u64,
    total: u64,
    max_time: Duration,
) -> StrictResult {
    use std::collections::BTreeMap;
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(connections.len())
        .tcp_nodelay(true)
        .build()
        .unwrap_or_default();
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let deadline = start + max_time;
    let mut tasks = Vec::new();
    for connection in std::mem::take(connections) {
        let (client, next) = (client.clone(), next.clone());
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let Connection {
                token,
                next: mut prepare_next,
                mut ahead,
            } = connection;
            let mut latencies = Vec::new();
            let (mut ok, mut errors) = (0u64, 0u64);
            let mut unexpected: BTreeMap<String, u64> = BTreeMap::new();
            let mut sample: Option<String> = None;
            let mut made_during_run = 0u64;
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || Instant::now() >= deadline {
                    break;
                }
                let began = Instant::now();
                let prepared = match ahead.pop_front() {
                    Some(p) => Ok(p),
                    None => {
                        let p = prepare_next(first + i);
                        made_during_run += 1;
                        p
                    }
                };
                let prepared = match prepared {
                    Ok(p) => p,
                    Err(e) => {
                        errors += 1;
                        *unexpected.entry("client".into()).or_default() += 1;
                        sample.get_or_insert(format!("client: {e}"));
                        continue;
                    }
                };
                let mut request = client
                    .post(format!("{base}{}", prepared.path))
                    .bearer_auth(&token)
                    .header(reqwest::header::CONTENT_TYPE, "application/json");
                for (name, value) in prepared.headers {
                    request = request.header(name, value);
                }
                match request.body(prepared.body).send().await {
                    Ok(resp) if resp.status().as_u16() == expect => {
                        let _ = resp.bytes().await;
                        ok += 1;
                        let micros = began.elapsed().as_micros();
                        latencies.push(u32::try_from(micros).unwrap_or(u32::MAX));
                    }
                    Ok(resp) => {
                        let status = resp.status().as_u16();
                        let body = resp.bytes().await.unwrap_or_default();
                        let code = serde_json::from_slice::<Value>(&body)
                            .ok()
                            .and_then(|v| v["error"]["code"].as_str().map(str::to_owned))
                            .unwrap_or_default();
                        errors += 1;
                        *unexpected.entry(format!("{status} {code}")).or_default() += 1;
                        sample.get_or_insert_with(|| {
                            let text = String::from_utf8_lossy(&body);
                            format!("{status}: {}", text.chars().take(300).collect::<String>())
                        });
                    }
                    Err(e) => {
                        errors += 1;
                        *unexpected.entry("transport".into()).or_default() += 1;
                        sample.get_or_insert(format!("transport: {e}"));
                    }
                }
            }
            // What was made ahead and not sent is dropped: its counters are spent, and the
            // next run's requests carry higher ones.
            let connection = Connection::new(token, prepare_next);
            (
                ok,
                errors,
                latencies,
                unexpected,
                sample,
                made_during_run,
                connection,
            )
        }));
    }
    let mut result = StrictResult::empty();
    for task in tasks {
        match task.await {
            Ok((ok, errors, latencies, unexpected, sample, made, connection)) => {
                connections.push(connection);
                result.load.ok += ok;
                result.load.errors += errors;
                result.load.latencies.extend(latencies);
                for (kind, n) in unexpected {
                    *result.unexpected.entry(kind).or_default() += n;
                }
                if result.sample.is_none() {
                    result.sample = sample;
                }
                result.made_during_run += made;
            }
            Err(e) => {
                result.load.errors += 1;
                *result.unexpected.entry("client".into()).or_default() += 1;
                result
                    .sample
                    .get_or_insert(format!("a connection's task failed: {e}"));
            }
        }
    }
    result.load.elapsed = start.elapsed();
    result.load.latencies.sort_unstable();
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
