//! shebao's benchmarks, run by the `shebao-bench` executable (and by `shebao bench`, which
//! runs it), never by the tests. Nothing here is part of the server.
//!
//! - [`run`]: the full run, one table: the storage's raw limits ([`raw`]), the bare-HTTP floor
//!   and HTTP purchases and verifications against a real `shebao serve` child process (both
//!   driven by [`load`]), card-present purchases from PSAM terminals ([`terminals`]),
//!   purchases through the service alone, crediting, memory and bytes;
//! - [`disk`]: what the data directory's disk did during a run (`/proc/diskstats`);
//! - [`city`]: the generated city (employers, employees, activated cards) and the crediting
//!   timings (`shebao-bench crediting`);
//! - [`runtime`]: the bench's own service on a fresh database, with a second handle on the same
//!   storage engine for bulk seeding.

pub mod city;
pub mod disk;
pub mod ecard;
pub mod engine;
pub mod load;
pub mod raw;
pub mod recovery;
pub mod run;
pub mod runtime;
pub mod server;
pub mod terminals;

use anyhow::Context;
use std::path::PathBuf;

/// The executable `name` in the directory of this one (cargo builds every binary of the
/// workspace into the same `target/<profile>/`).
pub fn sibling_executable(name: &str) -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe().context("locating this executable")?;
    let dir = exe.parent().context("this executable has no directory")?;
    Ok(dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX)))
}

/// A progress bar on stderr when it is a terminal; `None` otherwise.
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

/// The machine a benchmark ran on: cores and memory, as the OS reports them.
pub fn machine_description() -> String {
    let cores = std::thread::available_parallelism().map_or(0, usize::from);
    let memory_kib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| {
                    l.split_whitespace()
                        .nth(1)
                        .and_then(|v| v.parse::<u64>().ok())
                })
        })
        .unwrap_or(0);
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1).map(|v| v.trim().to_owned()))
        })
        .unwrap_or_else(|| "unknown CPU".into());
    format!(
        "{cores} cores ({cpu}), {:.1} GiB memory, {} {}",
        memory_kib as f64 / 1_048_576.0,
        std::env::consts::OS,
        std::env::consts::ARCH
    )
}
