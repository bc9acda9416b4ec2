//! The shebao server's assembly: configuration → clock, policy, keys, storage engine,
//! service, HTTP. The binary (`main.rs`) only parses flags and calls in here; the integration
//! tests start the very same server in-process.

pub mod keytool;

use anyhow::Context;
use jiff::Timestamp;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use shebao_service::clock::{Clock, SimClock, SystemClock};
use shebao_service::keys::{PinKeyring, new_token, write_private_file};
use shebao_service::meter;
use shebao_service::store::Database;
use shebao_service::{Service, StartupAdmin};
use shebao_storage::{EngineLimits, EngineThreads};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::oneshot;

/// Everything `shebao serve` is told.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: String,
    /// A shipped policy name or a path to a TOML file.
    pub policy: String,
    /// PostgreSQL instead of the embedded SQLite database.
    pub database_url: Option<String>,
    /// Start a simulated clock at this instant (demos and tests only).
    pub sim_clock: Option<Timestamp>,
    /// An admin token to accept (from `SHEBAO_ADMIN_TOKEN`).
    pub admin_token: Option<String>,
    /// PIN keys as text (`ID HEX` lines, from `SHEBAO_PIN_KEYS`); otherwise `SHEBAO_PIN_KEY_FILE`
    /// or `<data dir>/pin-keys`, created on first start.
    pub pin_keys: Option<String>,
    pub pin_key_file: Option<PathBuf>,
    /// The city keys of the national key system (`SHEBAO_KEY_FILE`); default
    /// `<data dir>/city-keys`, created with fresh local keys on first start.
    pub key_file: Option<PathBuf>,
    /// Refuse terminals without a PSAM (`--require-psam`, `SHEBAO_REQUIRE_PSAM=1`).
    pub require_psam: bool,
    pub limits: EngineLimits,
    /// How long a staff token is trusted from the cache before the database is asked again
    /// (a revocation reaches every server within it).
    pub token_cache_age: std::time::Duration,
    /// The browser console and portal (issue 5).
    pub console: shebao_console::ConsoleOptions,
}

impl Config {
    pub fn new(data_dir: impl Into<PathBuf>) -> Config {
        Config {
            data_dir: data_dir.into(),
            listen: "127.0.0.1:8080".into(),
            policy: "national".into(),
            database_url: None,
            sim_clock: None,
            admin_token: None,
            pin_keys: None,
            pin_key_file: None,
            key_file: None,
            require_psam: false,
            limits: EngineLimits::default(),
            token_cache_age: shebao_service::TOKEN_CACHE_AGE_DEFAULT,
            console: shebao_console::ConsoleOptions::default(),
        }
    }
}

/// The service with its storage threads, ready to serve or to run one command.
pub struct Runtime {
    pub service: Arc<Service>,
    threads: EngineThreads,
}

impl Runtime {
    /// Opens everything `config` names. Storage engines start on their own threads.
    pub async fn open(config: &Config) -> anyhow::Result<Runtime> {
        std::fs::create_dir_all(&config.data_dir)
            .with_context(|| format!("creating data dir {}", config.data_dir.display()))?;
        // The data dir holds the database and the key files: its owner's only.
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let meta = std::fs::metadata(&config.data_dir)?;
            if meta.permissions().mode() & 0o077 != 0 {
                std::fs::set_permissions(&config.data_dir, std::fs::Permissions::from_mode(0o700))
                    .with_context(|| {
                        format!("making data dir {} owner-only", config.data_dir.display())
                    })?;
            }
        }
        let clock: Arc<dyn Clock> = match config.sim_clock {
            Some(start) => Arc::new(SimClock::new(start)),
            None => Arc::new(SystemClock),
        };
        let policy = shebao_service::policy::load(&config.policy)?;
        let keys = match (&config.pin_keys, &config.pin_key_file) {
            (Some(text), _) => PinKeyring::parse(text)?,
            (None, Some(file)) => PinKeyring::load_or_create(file)?,
            (None, None) => PinKeyring::load_or_create(&config.data_dir.join("pin-keys"))?,
        };
        let key_file = keytool::key_file(&config.data_dir, config.key_file.clone());
        let (city_keys, created) = shebao_keys::FileKeyStore::load_or_create(&key_file)
            .with_context(|| format!("loading the city keys from {}", key_file.display()))?;
        if created {
            tracing::warn!(
                file = %key_file.display(),
                "generated fresh local city keys: cards and PSAMs personalised with the province's keys will not verify until the file holds the city keys the province dispersed"
            );
        }
        tracing::info!(keys = ?city_keys, "city keys loaded");
        let now = clock.now().as_microsecond();
        let (limits, url, path) = (
            config.limits,
            config.database_url.clone(),
            database_path(&config.data_dir),
        );
        // The PostgreSQL client blocks on its own runtime: start engines off the async threads.
        let (engine, threads) = tokio::task::spawn_blocking(move || match url {
            Some(url) => shebao_storage::postgres::start(&url, limits, now),
            None => shebao_storage::sqlite::start(&path, limits, now),
        })
        .await?
        .context("starting the storage engine")?;
        tracing::info!(engine = engine.name, policy = %policy.name, "storage ready");
        // The dummy query-password hash is made now, so the first login for an unknown ID
        // number costs what every later one does (D-4).
        tokio::task::spawn_blocking(shebao_service::keys::dummy_query_password_hash).await?;
        let service = Arc::new(
            Service::with_token_cache_age(
                Database::new(engine),
                clock,
                policy,
                keys,
                config.token_cache_age,
            )
            .with_city_keys(Arc::new(city_keys))
            .with_require_psam(config.require_psam),
        );
        let runtime = Runtime { service, threads };
        // Years an operator loaded are laid over the shipped working-day calendar.
        match runtime.service.reload_calendar().await {
            Ok(years) if !years.is_empty() => tracing::info!(?years, "calendar years loaded"),
            Ok(_) => {}
            Err(e) => {
                runtime.close().await;
                return Err(anyhow::anyhow!("loading the working-day calendar: {e}"));
            }
        }
        Ok(runtime)
    }

    /// Stops the storage threads after everything queued has committed.
    pub async fn close(self) {
        let Runtime { service, threads } = self;
        drop(service);
        let _ = tokio::task::spawn_blocking(move || threads.join()).await;
    }
}

/// The admin token: `SHEBAO_ADMIN_TOKEN` if set (an admin only while it is set: an admin from
/// an earlier value, or from a start with the variable that is now gone, is revoked);
/// otherwise one generated at first start, printed once, and kept in the data dir with
/// owner-only permissions.
async fn admin_token(service: &Service, config: &Config) -> anyhow::Result<Option<String>> {
    if let Some(token) = &config.admin_token {
        service
            .sync_startup_admin(StartupAdmin::Env(token))
            .await
            .context("SHEBAO_ADMIN_TOKEN")?;
        return Ok(Some(token.clone()));
    }
    let path = config.data_dir.join("admin-token");
    if path.exists() {
        let kept = std::fs::read_to_string(&path).ok();
        service
            .sync_startup_admin(StartupAdmin::Generated(kept.as_deref().map(str::trim)))
            .await?;
        return Ok(None);
    }
    let token = new_token()?;
    write_private_file(&path, format!("{}\n", token.as_str()).as_bytes())
        .with_context(|| format!("writing {}", path.display()))?;
    service
        .sync_startup_admin(StartupAdmin::Generated(Some(&token)))
        .await?;
    println!(
        "First start: the admin token is {} (also stored in {}).",
        token.as_str(),
        path.display()
    );
    Ok(Some(token.to_string()))
}

/// A running server.
pub struct Server {
    pub addr: SocketAddr,
    /// The admin token if this start created or was given one.
    pub admin_token: Option<String>,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Server {
    /// Binds, serves in the background, and returns at once.
    pub async fn start(config: Config) -> anyhow::Result<Server> {
        if let Some(token) = &config.admin_token
            && token.chars().count() < shebao_service::ADMIN_TOKEN_CHARS_MIN
        {
            anyhow::bail!(
                "SHEBAO_ADMIN_TOKEN has {} characters: it needs at least {} (make one with `openssl rand -hex 32`)",
                token.chars().count(),
                shebao_service::ADMIN_TOKEN_CHARS_MIN
            );
        }
        // Before the storage engine starts, so the engine's first metrics are seen too.
        let metrics = metrics();
        let runtime = Runtime::open(&config).await?;
        let admin_token = match admin_token(&runtime.service, &config).await {
            Ok(token) => token,
            Err(e) => {
                runtime.close().await;
                return Err(e);
            }
        };
        let listener = tokio::net::TcpListener::bind(&config.listen)
            .await
            .with_context(|| format!("binding {}", config.listen))?;
        let addr = listener.local_addr()?;
        let (stop, stopped) = oneshot::channel::<()>();
        // The browser console and portal (issue 5) beside the API, on the same service.
        let console = shebao_console::router(runtime.service.clone(), config.console);
        let app = shebao_http::app(runtime.service.clone(), Arc::new(|| metrics.render()))
            .merge(console)
            .layer(axum::middleware::from_fn(log_request));
        let task = tokio::spawn(async move {
            let shutdown = async move {
                tokio::select! {
                    _ = stopped => {}
                    _ = shutdown_signal() => {}
                }
                tracing::info!("shutting down: finishing requests in flight");
            };
            let served = axum::serve(listener, app)
                .with_graceful_shutdown(shutdown)
                .await;
            runtime.close().await;
            served.context("serving HTTP")
        });
        tracing::info!(%addr, "listening");
        Ok(Server {
            addr,
            admin_token,
            stop: Some(stop),
            task,
        })
    }

    /// Serves until a signal or `stop`, then drains and closes storage.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        let task = std::mem::replace(&mut self.task, tokio::spawn(async { Ok(()) }));
        task.await?
    }

    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.wait().await
    }
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending().await,
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// Logs each request by its route template (never the raw path: it may hold an ID number),
/// status and latency. Bodies are never logged.
async fn log_request(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    let method = request.method().clone();
    let route = request
        .extensions()
        .get::<axum::extract::MatchedPath>()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "(unmatched)".into());
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let (status, elapsed) = (response.status().as_u16(), started.elapsed());
    shebao_service::meter::http_request(method.as_str(), &route, status, elapsed.as_secs_f64());
    tracing::debug!(%method, route, status, micros = elapsed.as_micros() as u64, "request");
    response
}

/// The process's metrics recorder (issue 16): the Prometheus renderer behind `GET /metrics`,
/// installed on first use (`Server::start` asks before the storage engine starts, so the
/// engine's metrics are seen from its first commit) and kept for the process. Every histogram
/// of `shebao_service::meter::HISTOGRAMS` is rendered as a histogram with its buckets.
pub fn metrics() -> &'static PrometheusHandle {
    static HANDLE: std::sync::OnceLock<PrometheusHandle> = std::sync::OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = meter::HISTOGRAMS
            .iter()
            .try_fold(PrometheusBuilder::new(), |builder, (name, buckets)| {
                builder.set_buckets_for_metric(Matcher::Full((*name).to_owned()), buckets)
            })
            .unwrap_or_else(|e| {
                tracing::error!(error = %e, "metrics: histogram buckets refused; histograms render as summaries");
                PrometheusBuilder::new()
            });
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        match metrics::set_global_recorder(recorder) {
            Ok(()) => meter::describe(),
            Err(e) => {
                tracing::warn!(error = %e, "metrics: another recorder is installed; /metrics shows nothing")
            }
        }
        // Histograms are drained into their buckets by the upkeep (the exporter's own listener
        // would run it; ours is the axum route): every few seconds, on a thread of its own,
        // whatever runtime comes and goes.
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(METRICS_UPKEEP_INTERVAL);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            tracing::error!(error = %e, "metrics: no upkeep thread");
        }
        handle
    })
}

/// How often the metrics' upkeep runs (the exporter's default).
const METRICS_UPKEEP_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// Where the embedded database lives in a data dir.
pub fn database_path(data_dir: &Path) -> PathBuf {
    data_dir.join("shebao.sqlite")
}

/// `shebao backup DEST` (issue 16): a consistent, checked, owner-only copy of the embedded
/// database in `data_dir`, taken beside a running server (see `shebao_storage::backup`).
pub fn backup(data_dir: &Path, dest: &Path) -> anyhow::Result<shebao_storage::backup::BackupMade> {
    if dest.exists() {
        anyhow::bail!(
            "{} exists: a backup is never written over a file",
            dest.display()
        );
    }
    let database = database_path(data_dir);
    shebao_storage::backup::backup_sqlite(&database, dest)
        .with_context(|| format!("backing up {} to {}", database.display(), dest.display()))
}

/// The default data directory.
pub fn default_data_dir() -> &'static Path {
    Path::new("./shebao-data")
}

/// A progress bar on stderr when it is a terminal; `None` otherwise (logs and CI get the
/// summary line only).
pub fn progress_bar(job: &str) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return None;
    }
    let bar = indicatif::ProgressBar::new_spinner();
    if let Ok(style) = indicatif::ProgressStyle::with_template(
        "{spinner} {prefix}: {pos} rows, {per_sec} [{elapsed}]",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(job.to_owned());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    Some(bar)
}
