//! `shebao-bench`: shebao's benchmarks (never run by the tests); `shebao bench …` runs this
//! executable with the same arguments. Flags and the printed report only; the work is in the
//! library.

use clap::{Parser, Subcommand};
use shebao_bench::runtime::Runtime;
use std::path::PathBuf;

/// Benchmarks (never run by the tests): with no subcommand, one run that measures what the
/// storage can absorb, what HTTP costs and what shebao does on top, and prints one table.
/// Needs the `shebao` binary next to this one (it starts `shebao serve`).
#[derive(Parser)]
#[command(name = "shebao-bench", version)]
struct Cli {
    #[command(subcommand)]
    which: Option<BenchWhich>,
    #[command(flatten)]
    options: BenchArgs,
}

/// `shebao-bench` with no subcommand: limits, HTTP purchases and verifications, engine-only
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
    /// The bare-HTTP floor's echo server (started by the full run itself).
    #[command(hide = true)]
    EchoServer,
    /// Crediting alone, with its steps: generates a city of N activated accounts in a fresh
    /// database, assesses a month, records its payments and times the crediting job 45 working
    /// days later.
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
    /// Engine-only purchases alone (SQLite): raw ledger inserts as the limit, then a city of N
    /// activated accounts with a password, then purchases through the service with no HTTP —
    /// the measure to iterate on for the write path (issue 17), in a minute instead of the full
    /// run's six.
    Engine {
        /// Accounts to generate.
        #[arg(long, default_value_t = 1_000_000)]
        accounts: u64,
        /// Purchases to make.
        #[arg(long, default_value_t = 200_000)]
        requests: u64,
        /// Runs of `requests` purchases each, one after the other on the same city.
        #[arg(long, default_value_t = 1)]
        runs: u32,
        /// Where the SQLite file goes (default: a fresh temporary directory, removed after).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
    /// Start-up and recovery alone (SQLite): a city of N activated accounts with a password,
    /// then `shebao serve` started on it (time to `/ready`), purchase load, kill -9, the
    /// restart (time to `/ready`) and every acknowledged purchase checked after it.
    Recovery {
        /// Accounts to generate.
        #[arg(long, default_value_t = 1_000_000)]
        accounts: u64,
        /// Seconds of purchase load before the kill.
        #[arg(long, default_value_t = 5)]
        seconds: u64,
        /// Concurrent clients of the purchase load.
        #[arg(long, default_value_t = 64)]
        connections: usize,
        /// Where the SQLite file goes (default: a fresh temporary directory, removed after).
        #[arg(long)]
        data_dir: Option<PathBuf>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SHEBAO_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        // Colour only on a terminal: a redirected report stays free of escape codes.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let Cli { which, options } = Cli::parse();
    match which {
        None => {
            let (work_dir, temporary) = scratch_dir(options.work_dir.clone())?;
            let result = shebao_bench::run::run(shebao_bench::run::BenchOptions {
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
        Some(BenchWhich::EchoServer) => shebao_bench::load::echo_server().await,
        Some(BenchWhich::Engine {
            accounts,
            requests,
            runs,
            data_dir,
        }) => engine(accounts, requests, runs, data_dir).await,
        Some(BenchWhich::Recovery {
            accounts,
            seconds,
            connections,
            data_dir,
        }) => recovery(accounts, seconds, connections, data_dir).await,
        Some(which) => crediting(which).await,
    }
}

async fn crediting(which: BenchWhich) -> anyhow::Result<()> {
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
    let (dir, temporary) = scratch_dir(data_dir)?;
    let pin_keys = format!("bench {}", "0".repeat(64));
    let runtime = Runtime::open(&dir, database_url.as_deref(), &pin_keys).await?;
    let engine = runtime.service.engine_name();
    let bar = shebao_bench::progress_bar("bench");
    let progress = {
        let bar = bar.clone();
        move |phase: &str, n: u64| {
            if let Some(bar) = &bar {
                bar.set_prefix(phase.to_owned());
                bar.set_position(n);
            }
        }
    };
    let result =
        shebao_bench::city::crediting(&runtime, accounts, per_employer, batch_rows, &progress)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"));
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    runtime.close().await;
    let db_bytes = shebao_bench::run::dir_bytes(&dir);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let r = result?;
    let rate = |rows: u64, d: std::time::Duration| rows as f64 / d.as_secs_f64().max(1e-9);
    println!(
        "shebao bench crediting — {}",
        shebao_bench::machine_description()
    );
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

/// Where a subcommand's SQLite file goes: `data_dir`, or a fresh temporary directory (the
/// second value says whether to remove it after).
fn scratch_dir(data_dir: Option<PathBuf>) -> anyhow::Result<(PathBuf, bool)> {
    let temporary = data_dir.is_none();
    let dir = data_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("shebao-bench-{}", std::process::id()))
    });
    if temporary && dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    Ok((dir, temporary))
}

// The benchmark measures wall time on purpose; no rule reads it.
#[allow(clippy::disallowed_methods)]
async fn engine(
    accounts: u64,
    requests: u64,
    runs: u32,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    use shebao_bench::run::{BENCH_PASSWORD, BENCH_PIN_KEYS};
    let (dir, temporary) = scratch_dir(data_dir)?;
    std::fs::create_dir_all(&dir)?;
    let raw_rows = 1_000_000u64.min(accounts.max(100_000));
    eprintln!("[bench] raw ledger inserts ({raw_rows} rows)");
    let raw_file = dir.join("raw.sqlite");
    let raw = shebao_bench::raw::sqlite_ledger_inserts(&raw_file, raw_rows)?;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", raw_file.display()));
    }
    let runtime = Runtime::open(&dir, None, BENCH_PIN_KEYS).await?;
    eprintln!("[bench] seeding {accounts} accounts");
    let start = std::time::Instant::now();
    let seeded = shebao_bench::city::seed(
        &runtime,
        accounts,
        1_000,
        shebao_domain::Fen(100_000_000),
        Some(BENCH_PASSWORD),
        &|_| {},
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"));
    let seed_time = start.elapsed();
    let mut results = Vec::new();
    if seeded.is_ok() {
        for i in 0..runs {
            eprintln!("[bench] engine-only purchases, run {}", i + 1);
            match shebao_bench::engine::purchases(&runtime, accounts, requests, BENCH_PASSWORD)
                .await
            {
                Ok(r) => results.push(r),
                Err(e) => {
                    results.clear();
                    runtime.close().await;
                    return Err(e);
                }
            }
        }
    }
    runtime.close().await;
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    seeded?;
    println!(
        "shebao bench engine — {} — engine: sqlite",
        shebao_bench::machine_description()
    );
    println!("| measure | value | how |");
    println!("|---|---:|---|");
    println!(
        "| limit: raw ledger-row inserts, one transaction | {raw:.0} /s | {raw_rows} rows, prepared INSERT, one COMMIT |"
    );
    println!(
        "| seed people + activated cards | {:.1} s | {accounts} accounts |",
        seed_time.as_secs_f64()
    );
    for (i, r) in results.iter().enumerate() {
        println!(
            "| engine only: purchases, run {} | {:.0} /s | {} ok, {} failed, {} tasks, {:.1} s; ratio to raw ledger inserts {:.3} (target ≥ 0.2, issue 17) |",
            i + 1,
            r.rate(),
            r.ok,
            r.failed,
            shebao_bench::engine::TASKS,
            r.elapsed.as_secs_f64(),
            r.rate() / raw.max(1e-9)
        );
    }
    Ok(())
}

// The benchmark measures wall time on purpose; no rule reads it.
#[allow(clippy::disallowed_methods)]
async fn recovery(
    accounts: u64,
    seconds: u64,
    connections: usize,
    data_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    use shebao_bench::run::{BENCH_ADMIN, BENCH_PASSWORD, BENCH_PIN_KEYS};
    let (dir, temporary) = scratch_dir(data_dir)?;
    std::fs::create_dir_all(&dir)?;
    let runtime = Runtime::open(&dir, None, BENCH_PIN_KEYS).await?;
    eprintln!("[bench] seeding {accounts} accounts");
    let start = std::time::Instant::now();
    let seeded = shebao_bench::city::seed(
        &runtime,
        accounts,
        1_000,
        shebao_domain::Fen(100_000_000),
        Some(BENCH_PASSWORD),
        &|_| {},
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"));
    let seed_time = start.elapsed();
    runtime.close().await;
    let result = match seeded {
        Ok(_) => {
            eprintln!("[bench] start-up, and recovery after kill -9 under purchase load");
            let serve = || shebao_bench::run::serve_command(&dir, None);
            shebao_bench::recovery::run(
                &serve,
                &dir,
                BENCH_ADMIN,
                accounts,
                BENCH_PASSWORD,
                connections,
                std::time::Duration::from_secs(seconds),
            )
            .await
        }
        Err(e) => Err(e),
    };
    let db_bytes = shebao_bench::run::dir_bytes(&dir);
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    let r = result?;
    println!(
        "shebao bench recovery — {} — engine: sqlite",
        shebao_bench::machine_description()
    );
    println!("| measure | value | how |");
    println!("|---|---:|---|");
    println!(
        "| seed people + activated cards | {:.1} s | {accounts} accounts; database {:.0} MB after the run |",
        seed_time.as_secs_f64(),
        db_bytes as f64 / 1e6
    );
    for (what, value, how) in r.rows(accounts) {
        println!("| {what} | {value} | {how} |");
    }
    if r.lost > 0 {
        anyhow::bail!("{} acknowledged purchases lost", r.lost);
    }
    Ok(())
}
