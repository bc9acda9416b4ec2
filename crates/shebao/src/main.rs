//! `shebao`: the server and the operator's commands. Flags only; the work is in the library.

use anyhow::Context;
use clap::{Parser, Subcommand};
use shebao::{Config, Runtime, Server};
use std::path::PathBuf;

#[derive(Parser)]
#[command(
    name = "shebao",
    version,
    about = "Social security card platform (社会保障卡)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct Common {
    /// Data directory: the embedded database, the PIN keys and the admin token live here.
    #[arg(long, default_value = "./shebao-data", env = "SHEBAO_DATA_DIR")]
    data_dir: PathBuf,
    /// Region policy: national, guangxi, shenyang, xian, or a path to a TOML file.
    #[arg(long, default_value = "national", env = "SHEBAO_POLICY")]
    policy: String,
    /// Use PostgreSQL (e.g. postgres://user@127.0.0.1/shebao) instead of the embedded database.
    /// A cluster: several hosts and `target_session_attrs=read-write`
    /// (postgres://u@h1:5432,h2:5432,h3:5432/shebao?target_session_attrs=read-write&connect_timeout=2).
    #[arg(long, env = "SHEBAO_DATABASE_URL")]
    database_url: Option<String>,
    /// PostgreSQL: milliseconds a commit may take before its requests are answered 503
    /// unavailable, outcome unknown (a synchronous standby that never confirms).
    #[arg(long, default_value_t = 5000, env = "SHEBAO_PG_COMMIT_TIMEOUT_MS", value_parser = clap::value_parser!(u64).range(100..=600_000))]
    pg_commit_timeout_ms: u64,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the HTTP server.
    Serve {
        #[command(flatten)]
        common: Common,
        /// Address to listen on.
        #[arg(long, default_value = "127.0.0.1:8080", env = "SHEBAO_LISTEN")]
        listen: String,
        /// Start a simulated clock at this RFC 3339 instant (demos and tests only); enables POST /api/v1/admin/clock.
        #[arg(long)]
        sim_clock: Option<jiff::Timestamp>,
        /// Refuse terminals (pharmacy, hospital, bank, kiosk) that hold no PSAM: 403 psam_required.
        #[arg(long, env = "SHEBAO_REQUIRE_PSAM", value_parser = clap::builder::BoolishValueParser::new())]
        require_psam: bool,
    },
    /// Creates an actor (clerk, bank, pharmacy, …) and prints its token once.
    CreateActor {
        #[command(flatten)]
        common: Common,
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: String,
        #[arg(long)]
        region: Option<String>,
        #[arg(long)]
        employer_id: Option<String>,
        /// A terminal's 16-digit PSAM number.
        #[arg(long)]
        psam_no: Option<String>,
    },
    /// Validates a policy and prints what it sets.
    Policy {
        /// national, guangxi, shenyang, or a path to a TOML file.
        name: String,
    },
    /// Copies the embedded database to DEST (a file that must not exist yet), also while a
    /// server runs on it: a consistent snapshot, checked, owner-only (0600). The README says
    /// how to restore it. A PostgreSQL database is backed up with PostgreSQL's own tools.
    Backup {
        /// Data directory of the server whose database is copied.
        #[arg(long, default_value = "./shebao-data", env = "SHEBAO_DATA_DIR")]
        data_dir: PathBuf,
        /// Set when the server runs on PostgreSQL: then there is nothing for this command to copy.
        #[arg(long, env = "SHEBAO_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// The backup file to write.
        dest: PathBuf,
    },
    /// Prints the OpenAPI document.
    Openapi,
    /// Batch jobs: monthly-deadline (assess new months, record unit locks) and crediting
    /// (credit personal accounts whose payment data has arrived). Idempotent; run them daily.
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Benchmarks (never run by the tests): runs the `shebao-bench` executable next to this one
    /// with the arguments that follow (`shebao bench --help` for its own). Build it with
    /// `cargo build --release -p shebao-bench`.
    #[command(disable_help_flag = true)]
    Bench {
        /// Passed to `shebao-bench` as they are.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<std::ffi::OsString>,
    },
    /// The working-day calendar: shipped 2005-2026, and years loaded from new notices.
    Calendar {
        #[command(subcommand)]
        action: CalendarAction,
    },
    /// The city keys of the national key system (R-KM-1): card, psam and ecard.
    Keys {
        #[command(subcommand)]
        action: KeysAction,
    },
    /// A PSAM terminal simulator, for demonstrations and tests.
    Terminal {
        #[command(subcommand)]
        action: TerminalAction,
    },
    /// A card chip simulator, for demonstrations and tests.
    Card {
        #[command(subcommand)]
        action: CardAction,
    },
}

/// Where the city keys are.
#[derive(clap::Args, Clone)]
struct KeyFile {
    /// The key file (`PURPOSE VERSION HEX32` lines, mode 0600); default DATA_DIR/city-keys.
    #[arg(long, env = "SHEBAO_KEY_FILE")]
    key_file: Option<PathBuf>,
    /// Data directory (for the default key file).
    #[arg(long, default_value = "./shebao-data", env = "SHEBAO_DATA_DIR")]
    data_dir: PathBuf,
}

impl KeyFile {
    fn path(self) -> PathBuf {
        shebao::keytool::key_file(&self.data_dir, self.key_file)
    }
}

#[derive(Subcommand)]
enum KeysAction {
    /// Prints the province and city keys dispersed from a (test) ministry root; the city
    /// lines form a key file. A city platform never holds the real root.
    Derive {
        /// The root key, 32 hex digits (the same root for every purpose).
        #[arg(long)]
        root: String,
        /// The city's 6-digit division code, e.g. 450600.
        #[arg(long)]
        region: String,
        /// The version the city lines carry.
        #[arg(long, default_value_t = 1)]
        version: u32,
    },
    /// Writes a new key file of fresh random local keys (never over an existing one).
    Init {
        #[command(flatten)]
        keys: KeyFile,
    },
    /// Adds a fresh local key as the next version of a purpose (card, psam or ecard).
    Rotate {
        #[command(flatten)]
        keys: KeyFile,
        purpose: String,
    },
    /// Shows which purposes and versions the key file holds (never the keys).
    Show {
        #[command(flatten)]
        keys: KeyFile,
    },
}

#[derive(Subcommand)]
enum TerminalAction {
    /// Prints the X-Terminal-Counter and X-Terminal-MAC headers of a request.
    Sign {
        #[command(flatten)]
        keys: KeyFile,
        /// The terminal's 16-digit PSAM number.
        #[arg(long)]
        psam_no: String,
        /// Above every counter this terminal used before.
        #[arg(long)]
        counter: u64,
        #[arg(long, default_value = "POST")]
        method: String,
        /// The request path from /api/v1, e.g. /api/v1/purchases.
        #[arg(long)]
        path: String,
        /// The exact body bytes that will be sent (none: empty).
        #[arg(long, default_value = "")]
        body: String,
    },
}

#[derive(Subcommand)]
enum CardAction {
    /// Prints the chip's card_auth object for one use of the card.
    Cryptogram {
        #[command(flatten)]
        keys: KeyFile,
        /// The card's 32-hex-digit serial (answered by POST /cards).
        #[arg(long)]
        serial: String,
        #[arg(long)]
        card_no: String,
        /// Above the card's last counter.
        #[arg(long)]
        counter: u64,
        /// purchase, visit, activation or ss_password.
        #[arg(long)]
        operation: String,
        #[arg(long)]
        client_txn_id: Option<String>,
        /// A purchase's amount_fen or a visit's cost_fen.
        #[arg(long)]
        amount_fen: Option<i64>,
    },
}

#[derive(Subcommand)]
enum JobsAction {
    /// Runs a job to the end: a progress bar on a terminal, a summary line always.
    Run {
        #[command(flatten)]
        common: Common,
        /// monthly-deadline, crediting or request-keys.
        name: String,
        /// Crediting: accounts per transaction.
        #[arg(long, default_value_t = shebao_service::CREDIT_BATCH_ROWS_DEFAULT)]
        batch_rows: u32,
    },
    /// Shows a job's last run.
    Show {
        #[command(flatten)]
        common: Common,
        name: String,
    },
}

#[derive(Subcommand)]
enum CalendarAction {
    /// Loads a year's holiday arrangement (CSV: `# years: YYYY`, then `YYYY-MM-DD,holiday,NAME`
    /// and `YYYY-MM-DD,workday,NAME` lines) into the database. Loading a year again replaces it.
    Load {
        #[command(flatten)]
        common: Common,
        /// The CSV file.
        file: PathBuf,
    },
    /// Prints the years the calendar covers.
    Years {
        #[command(flatten)]
        common: Common,
    },
}

fn config(common: Common) -> Config {
    let mut config = Config::new(common.data_dir);
    config.policy = common.policy;
    config.database_url = common.database_url;
    config.limits.pg_commit_timeout = std::time::Duration::from_millis(common.pg_commit_timeout_ms);
    config.admin_token = std::env::var("SHEBAO_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    config.pin_keys = std::env::var("SHEBAO_PIN_KEYS")
        .ok()
        .filter(|t| !t.trim().is_empty());
    config.pin_key_file = std::env::var_os("SHEBAO_PIN_KEY_FILE").map(PathBuf::from);
    config.key_file = std::env::var_os("SHEBAO_KEY_FILE").map(PathBuf::from);
    // Console cookies are `Secure` unless turned off for a plain-HTTP demo on another host.
    config.console.cookie_secure = std::env::var("SHEBAO_CONSOLE_COOKIE_SECURE")
        .map(|v| v != "0" && v != "false")
        .unwrap_or(true);
    config
}

/// The log on stderr (issue 16): `SHEBAO_LOG_FORMAT=json` gives one JSON object per line (for
/// a log pipeline); otherwise text, coloured only when stderr is a terminal (and `NO_COLOR`
/// is not set): a log redirected to a file or a journal holds no escape codes.
fn init_log() {
    use std::io::IsTerminal;
    let log = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHEBAO_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    let format = std::env::var("SHEBAO_LOG_FORMAT").unwrap_or_default();
    match format.trim() {
        "json" => log.json().flatten_event(true).init(),
        other => {
            let colour = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            log.with_ansi(colour).init();
            if !other.is_empty() && other != "text" {
                tracing::warn!(
                    format = other,
                    "SHEBAO_LOG_FORMAT is `json` or `text`: logging text"
                );
            }
        }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    init_log();
    match Cli::parse().command {
        Command::Serve {
            common,
            listen,
            sim_clock,
            require_psam,
        } => {
            let mut config = config(common);
            config.listen = listen;
            config.sim_clock = sim_clock;
            config.require_psam = require_psam;
            if let Some(at) = sim_clock {
                tracing::warn!(%at, "simulated clock: for demos and tests only");
            }
            let server = Server::start(config).await?;
            println!("shebao listening on http://{}", server.addr);
            server.wait().await
        }
        Command::CreateActor {
            common,
            role,
            name,
            region,
            employer_id,
            psam_no,
        } => {
            let runtime = Runtime::open(&config(common)).await?;
            let created = runtime
                .service
                .create_actor_unchecked(
                    None,
                    shebao_service::NewActor {
                        role,
                        name,
                        region,
                        employer_id,
                        psam_no,
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"));
            runtime.close().await;
            let (actor, token) = created?;
            println!(
                "actor {} ({}) token: {}",
                actor.id,
                actor.role,
                token.as_str()
            );
            Ok(())
        }
        Command::Policy { name } => {
            let policy = shebao_service::policy::load(&name).context("loading the policy")?;
            println!("{policy:#?}");
            Ok(())
        }
        Command::Backup {
            data_dir,
            database_url,
            dest,
        } => {
            if database_url.is_some() {
                anyhow::bail!(
                    "`shebao backup` copies the embedded SQLite database; this server uses PostgreSQL (--database-url / SHEBAO_DATABASE_URL): back it up with pg_basebackup or pg_dump"
                );
            }
            let (from, to) = (shebao::database_path(&data_dir), dest.clone());
            let made =
                tokio::task::spawn_blocking(move || shebao::backup(&data_dir, &dest)).await??;
            println!(
                "backed up {} to {}: {} bytes, integrity ok",
                from.display(),
                to.display(),
                made.bytes
            );
            Ok(())
        }
        Command::Openapi => {
            println!("{}", shebao_http::openapi_json());
            Ok(())
        }
        Command::Calendar { action } => calendar(action).await,
        Command::Jobs { action } => jobs(action).await,
        Command::Bench { args } => bench(args),
        Command::Keys { action } => {
            use shebao::keytool;
            let out = match action {
                KeysAction::Derive {
                    root,
                    region,
                    version,
                } => keytool::derive(&root, &region, version)?,
                KeysAction::Init { keys } => keytool::init(&keys.path())?,
                KeysAction::Rotate { keys, purpose } => keytool::rotate(&keys.path(), &purpose)?,
                KeysAction::Show { keys } => keytool::show(&keys.path())?,
            };
            println!("{}", out.trim_end());
            Ok(())
        }
        Command::Terminal {
            action:
                TerminalAction::Sign {
                    keys,
                    psam_no,
                    counter,
                    method,
                    path,
                    body,
                },
        } => {
            let out = shebao::keytool::sign(
                &keys.path(),
                &psam_no,
                counter,
                &method,
                &path,
                body.as_bytes(),
            )?;
            print!("{out}");
            Ok(())
        }
        Command::Card {
            action:
                CardAction::Cryptogram {
                    keys,
                    serial,
                    card_no,
                    counter,
                    operation,
                    client_txn_id,
                    amount_fen,
                },
        } => {
            let out = shebao::keytool::cryptogram(
                &keys.path(),
                &shebao::keytool::CardUse {
                    serial: &serial,
                    card_no: &card_no,
                    counter,
                    operation: &operation,
                    client_txn_id: client_txn_id.as_deref(),
                    amount_fen,
                },
            )?;
            println!("{out}");
            Ok(())
        }
    }
}

async fn calendar(action: CalendarAction) -> anyhow::Result<()> {
    match action {
        CalendarAction::Load { common, file } => {
            let csv = std::fs::read_to_string(&file)
                .with_context(|| format!("reading {}", file.display()))?;
            let runtime = Runtime::open(&config(common)).await?;
            let loaded = runtime
                .service
                .load_calendar(None, &csv)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"));
            let years: Vec<i16> = runtime.service.calendar().years().collect();
            runtime.close().await;
            let loaded = loaded?;
            println!(
                "loaded {:?}; the calendar now covers {}-{}",
                loaded.years,
                years.first().copied().unwrap_or_default(),
                years.last().copied().unwrap_or_default()
            );
            Ok(())
        }
        CalendarAction::Years { common } => {
            let runtime = Runtime::open(&config(common)).await?;
            let years: Vec<String> = runtime
                .service
                .calendar()
                .years()
                .map(|y| y.to_string())
                .collect();
            runtime.close().await;
            println!("{}", years.join(" "));
            Ok(())
        }
    }
}

async fn jobs(action: JobsAction) -> anyhow::Result<()> {
    match action {
        JobsAction::Run {
            common,
            name,
            batch_rows,
        } => {
            let runtime = Runtime::open(&config(common)).await?;
            let bar = shebao::progress_bar(&name);
            let progress = {
                let bar = bar.clone();
                move |n: u64| {
                    if let Some(bar) = &bar {
                        bar.set_position(n);
                    }
                }
            };
            let started = std::time::Instant::now();
            let run = runtime
                .service
                .run_job(None, &name, Some(batch_rows), &progress)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"));
            if let Some(bar) = bar {
                bar.finish_and_clear();
            }
            runtime.close().await;
            let run = run?;
            println!(
                "{}: {} in {:.1} s: {}",
                run.name,
                run.status,
                started.elapsed().as_secs_f64(),
                run.summary
            );
            Ok(())
        }
        JobsAction::Show { common, name } => {
            let runtime = Runtime::open(&config(common)).await?;
            let run = runtime.service.last_job_run_unchecked(&name).await;
            runtime.close().await;
            match run.map_err(|e| anyhow::anyhow!("{e}"))? {
                Some(run) => println!(
                    "{}: {} (started {}, finished {}): {}",
                    run.name,
                    run.status,
                    run.started_at,
                    run.finished_at
                        .map(|t| t.to_string())
                        .unwrap_or_else(|| "-".into()),
                    run.summary
                ),
                None => println!("{name}: never run"),
            }
            Ok(())
        }
    }
}

/// `shebao bench …`: the benchmarks live in their own executable, `shebao-bench`, built into
/// the same directory as this one; it runs with the same arguments and its exit status is ours.
fn bench(args: Vec<std::ffi::OsString>) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("locating the shebao binary")?;
    let dir = exe.parent().context("the shebao binary has no directory")?;
    let bench = dir.join(format!("shebao-bench{}", std::env::consts::EXE_SUFFIX));
    if !bench.is_file() {
        anyhow::bail!(
            "`shebao bench` runs the separate benchmark program {}, which is missing: build it with `cargo build --release -p shebao-bench` (it is put next to this binary)",
            bench.display()
        );
    }
    let status = std::process::Command::new(&bench)
        .args(args)
        .status()
        .with_context(|| format!("running {}", bench.display()))?;
    if !status.success() {
        std::process::exit(status.code().unwrap_or(1));
    }
    Ok(())
}
