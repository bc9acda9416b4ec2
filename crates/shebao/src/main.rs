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
    /// Region policy: national, guangxi, shenyang, or a path to a TOML file.
    #[arg(long, default_value = "national", env = "SHEBAO_POLICY")]
    policy: String,
    /// Use PostgreSQL (e.g. postgres://user@127.0.0.1/shebao) instead of the embedded database.
    #[arg(long, env = "SHEBAO_DATABASE_URL")]
    database_url: Option<String>,
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
    },
    /// Validates a policy and prints what it sets.
    Policy {
        /// national, guangxi, shenyang, or a path to a TOML file.
        name: String,
    },
    /// Prints the OpenAPI document.
    Openapi,
    /// Batch jobs: monthly-deadline (assess new months, record unit locks) and crediting
    /// (credit personal accounts whose payment data has arrived). Idempotent; run them daily.
    Jobs {
        #[command(subcommand)]
        action: JobsAction,
    },
    /// Benchmarks (never run by the tests). `crediting`: generates a city of N activated
    /// accounts in a fresh database, assesses a month, records its payments and times the
    /// crediting job 45 working days later.
    Bench {
        #[command(subcommand)]
        which: Option<BenchWhich>,
        #[command(flatten)]
        options: BenchArgs,
    },
    /// The working-day calendar: shipped 2005-2026, and years loaded from new notices.
    Calendar {
        #[command(subcommand)]
        action: CalendarAction,
    },
}

#[derive(Subcommand)]
enum JobsAction {
    /// Runs a job to the end: a progress bar on a terminal, a summary line always.
    Run {
        #[command(flatten)]
        common: Common,
        /// monthly-deadline or crediting.
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

/// `shebao bench` with no subcommand: limits, HTTP purchases and verifications, engine-only
/// purchases, crediting, memory — one table.
#[derive(clap::Args)]
struct BenchArgs {
    /// Accounts in the purchase database and the crediting run.
    #[arg(long, default_value_t = 1_000_000)]
    accounts: u64,
    /// A second, larger crediting run (e.g. 10000000).
    #[arg(long)]
    big_accounts: Option<u64>,
    /// Run on PostgreSQL: the bench creates and drops its own databases on this server.
    #[arg(long)]
    database_url: Option<String>,
    /// Concurrent connections of the load generator at full load.
    #[arg(long, default_value_t = 64)]
    connections: usize,
    /// Requests per full-load measurement.
    #[arg(long, default_value_t = 200_000)]
    requests: u64,
    /// Longest time per load measurement, in seconds.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Scratch directory (default: a fresh temporary one, removed after).
    #[arg(long)]
    work_dir: Option<PathBuf>,
}

#[derive(Subcommand)]
enum BenchWhich {
    /// The bare-HTTP floor's echo server (started by `shebao bench` itself).
    #[command(hide = true)]
    EchoServer,
    Crediting {
        /// Accounts to generate and credit.
        #[arg(long, default_value_t = 1_000_000)]
        accounts: u64,
        /// Employees per employer.
        #[arg(long, default_value_t = 1_000)]
        per_employer: u64,
        /// Accounts per crediting transaction.
        #[arg(long, default_value_t = shebao_service::CREDIT_BATCH_ROWS_DEFAULT)]
        batch_rows: u32,
        /// PostgreSQL (a database of its own: the run fills it) instead of a fresh SQLite file.
        #[arg(long)]
        database_url: Option<String>,
        /// Where the SQLite file goes (default: a fresh temporary directory, removed after).
        #[arg(long)]
        data_dir: Option<PathBuf>,
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
    config.admin_token = std::env::var("SHEBAO_ADMIN_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    config.pin_keys = std::env::var("SHEBAO_PIN_KEYS")
        .ok()
        .filter(|t| !t.trim().is_empty());
    config.pin_key_file = std::env::var_os("SHEBAO_PIN_KEY_FILE").map(PathBuf::from);
    // Console cookies are `Secure` unless turned off for a plain-HTTP demo on another host.
    config.console.cookie_secure = std::env::var("SHEBAO_CONSOLE_COOKIE_SECURE")
        .map(|v| v != "0" && v != "false")
        .unwrap_or(true);
    config
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHEBAO_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            common,
            listen,
            sim_clock,
        } => {
            let mut config = config(common);
            config.listen = listen;
            config.sim_clock = sim_clock;
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
        Command::Openapi => {
            println!("{}", shebao_http::openapi_json());
            Ok(())
        }
        Command::Calendar { action } => calendar(action).await,
        Command::Jobs { action } => jobs(action).await,
        Command::Bench {
            which: None,
            options,
        } => {
            let temporary = options.work_dir.is_none();
            let work_dir = options.work_dir.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("shebao-bench-{}", std::process::id()))
            });
            let result = shebao::bench::run(shebao::bench::BenchOptions {
                accounts: options.accounts,
                big_accounts: options.big_accounts,
                database_url: options.database_url,
                connections: options.connections,
                requests: options.requests,
                seconds: options.seconds,
                work_dir: work_dir.clone(),
            })
            .await;
            if temporary {
                let _ = std::fs::remove_dir_all(&work_dir);
            }
            result
        }
        Command::Bench {
            which: Some(BenchWhich::EchoServer),
            ..
        } => shebao::bench::echo_server().await,
        Command::Bench {
            which: Some(which), ..
        } => bench(which).await,
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

async fn bench(which: BenchWhich) -> anyhow::Result<()> {
    let BenchWhich::Crediting {
        accounts,
        per_employer,
        batch_rows,
        database_url,
        data_dir,
    } = which
    else {
        return Ok(());
    };
    let temporary = data_dir.is_none();
    let dir = data_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("shebao-bench-{}", std::process::id()))
    });
    if temporary && dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    let mut config = Config::new(&dir);
    config.database_url = database_url;
    config.sim_clock = Some("2026-02-02T01:00:00Z".parse()?);
    config.pin_keys = Some(format!("bench {}", "0".repeat(64)));
    let runtime = Runtime::open(&config).await?;
    let engine = runtime.service.engine_name();
    let bar = shebao::progress_bar("bench");
    let progress = {
        let bar = bar.clone();
        move |phase: &str, n: u64| {
            if let Some(bar) = &bar {
                bar.set_prefix(phase.to_owned());
                bar.set_position(n);
            }
        }
    };
    let result = runtime
        .service
        .bench_crediting(accounts, per_employer, batch_rows, &progress)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    runtime.close().await;
    let db_bytes = shebao::bench::dir_bytes(&dir);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let r = result?;
    let rate = |rows: u64, d: std::time::Duration| rows as f64 / d.as_secs_f64().max(1e-9);
    println!("shebao bench crediting — {}", shebao::machine_description());
    println!(
        "engine: {engine}; {} accounts in {} employers; batch {batch_rows} accounts per transaction",
        r.accounts, r.employers
    );
    println!("| step | time | rate |");
    println!("|---|---:|---:|");
    println!(
        "| seed people + activated cards | {:.2} s | {:.0} accounts/s |",
        r.seed.as_secs_f64(),
        rate(r.accounts, r.seed)
    );
    println!(
        "| monthly-deadline (assess the month) | {:.2} s | {:.0} people/s |",
        r.assessment.as_secs_f64(),
        rate(r.accounts, r.assessment)
    );
    println!(
        "| record {} tax payments | {:.2} s | {:.0} payments/s |",
        r.employers,
        r.payments.as_secs_f64(),
        rate(r.employers, r.payments)
    );
    println!(
        "| **crediting** ({} accounts, {} ledger rows, {} fen) | **{:.2} s** | **{:.0} accounts/s** |",
        r.summary.accounts_credited,
        r.summary.accounts_credited,
        r.summary.amount.0,
        r.crediting.as_secs_f64(),
        rate(r.summary.accounts_credited, r.crediting)
    );
    if engine == "sqlite" {
        println!(
            "database: {:.1} MB ({:.0} bytes per account)",
            db_bytes as f64 / 1e6,
            db_bytes as f64 / r.accounts.max(1) as f64
        );
    }
    Ok(())
}
