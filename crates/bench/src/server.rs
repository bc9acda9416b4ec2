//! The `shebao serve` child process the full run and the recovery run drive: started from
//! the executable next to this one, with the bench's own admin token and PIN keys.

use crate::run::{BENCH_ADMIN, BENCH_PIN_KEYS};
use anyhow::Context;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

/// A child process that printed `… http://ADDR` on a line of its stdout.
pub struct ChildServer {
    pub child: Child,
    pub base: String,
}

impl ChildServer {
    pub fn spawn(mut command: Command) -> anyhow::Result<ChildServer> {
        command.stdout(Stdio::piped()).stderr(Stdio::inherit());
        let mut child = command.spawn().context("starting a child process")?;
        let stdout = child.stdout.take().context("child stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        let base = loop {
            let line = lines
                .next()
                .context("the child ended before it listened")??;
            if let Some(at) = line.find("http://") {
                break line[at..].trim().to_owned();
            }
        };
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(ChildServer { child, base })
    }

    /// Peak resident memory of the child (VmHWM), in bytes.
    pub fn peak_rss(&self) -> u64 {
        std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find(|l| l.starts_with("VmHWM:"))
                    .and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok())
            })
            .map_or(0, |kib| kib * 1024)
    }

    pub fn stop(mut self) {
        // SIGTERM: the server drains and closes its storage.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// `shebao`, next to this executable (cargo builds both into the same `target/<profile>/`).
pub fn shebao_command() -> anyhow::Result<Command> {
    let exe = crate::sibling_executable("shebao")?;
    if !exe.is_file() {
        anyhow::bail!(
            "the bench starts `shebao serve` from {}, which is missing: build it with `cargo build --release -p shebao`",
            exe.display()
        );
    }
    let mut command = Command::new(exe);
    command
        .env("SHEBAO_ADMIN_TOKEN", BENCH_ADMIN)
        .env("SHEBAO_PIN_KEYS", BENCH_PIN_KEYS)
        .env("SHEBAO_LOG", "warn")
        .env_remove("SHEBAO_DATABASE_URL")
        // The city keys are the ones the server creates in its data dir, which the
        // card-present run signs with.
        .env_remove("SHEBAO_KEY_FILE")
        .env_remove("SHEBAO_REQUIRE_PSAM");
    Ok(command)
}
