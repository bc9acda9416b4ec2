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
    let Cli { which, options } = Cli::parse();
    match which {
        None => {
            let temporary = options.work_dir.is_none();
            let work_dir = options.work_dir.clone().unwrap_or_else(|| {
                std::env::temp_dir().join(format!("shebao-bench-{}", std::process::id()))
            });
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
    let temporary = data_dir.is_none();
    let dir = data_dir.unwrap_or_else(|| {
        std::env::temp_dir().join(format!("shebao-bench-{}", std::process::id()))
    });
    if temporary && dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
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
