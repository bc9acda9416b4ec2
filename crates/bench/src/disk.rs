//! What the disk did during a measurement: `/proc/diskstats` of the device that holds the
//! data directory, sampled every 100 ms on a thread of its own (Linux only; elsewhere, or when
//! the device is not found, nothing is sampled and nothing is reported).
//!
//! The half-load p99 waits behind bursts of random writes when a checkpoint syncs the database
//! file (docs/BENCHMARKS.md, "Second session of 2026-12-03"); this shows them in every run.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// How often the counters are read.
pub const INTERVAL: Duration = Duration::from_millis(100);

/// The device's name in `/proc/diskstats` (`vda`, `nvme0n1p2`, …) for the file system of
/// `path`, from its device number and `/sys/dev/block/MAJOR:MINOR/uevent`.
pub fn device_of(path: &Path) -> Option<String> {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::fs::MetadataExt;
        let dev = std::fs::metadata(path).ok()?.dev();
        // glibc's gnu_dev_major / gnu_dev_minor.
        let major = ((dev >> 8) & 0xfff) | ((dev >> 32) & !0xfff);
        let minor = (dev & 0xff) | ((dev >> 12) & !0xff);
        let uevent =
            std::fs::read_to_string(format!("/sys/dev/block/{major}:{minor}/uevent")).ok()?;
        uevent
            .lines()
            .find_map(|l| l.strip_prefix("DEVNAME="))
            .map(str::to_owned)
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = path;
        None
    }
}

/// Writes completed and sectors written so far by `device`, from one `/proc/diskstats` text.
pub fn writes_of(diskstats: &str, device: &str) -> Option<(u64, u64)> {
    diskstats.lines().find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        // major minor name reads merged sectors ms writes merged sectors ms …
        if fields.get(2) != Some(&device) {
            return None;
        }
        Some((fields.get(7)?.parse().ok()?, fields.get(9)?.parse().ok()?))
    })
}

/// A sampling thread; [`Sampler::finish`] stops it and sums up.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    thread: std::thread::JoinHandle<Vec<(u64, u64)>>,
    device: String,
}

impl Sampler {
    /// Starts sampling the device of `path`; `None` when it cannot be found.
    pub fn start(path: &Path) -> Option<Sampler> {
        let device = device_of(path)?;
        let text = std::fs::read_to_string("/proc/diskstats").ok()?;
        writes_of(&text, &device)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, name) = (stop.clone(), device.clone());
        let thread = std::thread::spawn(move || {
            let mut samples = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                if let Some(s) = std::fs::read_to_string("/proc/diskstats")
                    .ok()
                    .and_then(|text| writes_of(&text, &name))
                {
                    samples.push(s);
                }
                std::thread::sleep(INTERVAL);
            }
            samples
        });
        Some(Sampler {
            stop,
            thread,
            device,
        })
    }

    pub fn finish(self) -> Option<DiskSummary> {
        self.stop.store(true, Ordering::Relaxed);
        let samples = self.thread.join().ok()?;
        DiskSummary::of(&self.device, &samples)
    }
}

/// The writes of one measurement, per 100 ms window.
#[derive(Debug, Clone, PartialEq)]
pub struct DiskSummary {
    pub device: String,
    /// Writes completed per second, over the whole measurement.
    pub writes_per_s: f64,
    /// Megabytes written per second.
    pub mb_per_s: f64,
    /// The median window's writes, and the largest window's.
    pub median_window: u64,
    pub max_window: u64,
    /// Windows with more than 3 × the median's writes (bursts).
    pub burst_windows: usize,
    pub windows: usize,
}

impl DiskSummary {
    /// From cumulative (writes, sectors) samples one [`INTERVAL`] apart.
    pub fn of(device: &str, samples: &[(u64, u64)]) -> Option<DiskSummary> {
        let (first, last) = (samples.first()?, samples.last()?);
        let windows: Vec<u64> = samples
            .windows(2)
            .map(|w| w[1].0.saturating_sub(w[0].0))
            .collect();
        if windows.is_empty() {
            return None;
        }
        let seconds = windows.len() as f64 * INTERVAL.as_secs_f64();
        let writes = last.0.saturating_sub(first.0) as f64;
        let bytes = last.1.saturating_sub(first.1) as f64 * 512.0;
        let max_window = windows.iter().copied().max().unwrap_or(0);
        let count = windows.len();
        let median_window = {
            let mut sorted = windows.clone();
            sorted.sort_unstable();
            sorted[count / 2]
        };
        let burst_windows = windows
            .iter()
            .filter(|&&w| w > 3 * median_window.max(1))
            .count();
        Some(DiskSummary {
            device: device.to_owned(),
            writes_per_s: writes / seconds,
            mb_per_s: bytes / seconds / 1e6,
            median_window,
            max_window,
            burst_windows,
            windows: count,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_devices_writes_from_diskstats() {
        let text = " 253       0 vda 1200 3 4000 50 9000 700 180000 3000 0 2000 3100 0 0 0 0 800 40\n \
                    253       1 vda1 1100 3 3900 49 8900 690 179000 2990 0 1990 3090 0 0 0 0 0 0\n";
        assert_eq!(writes_of(text, "vda"), Some((9000, 180000)));
        assert_eq!(writes_of(text, "vda1"), Some((8900, 179000)));
        assert_eq!(writes_of(text, "sda"), None);
    }

    #[test]
    fn sums_up_windows_and_bursts() {
        // Four windows of 100 ms: 100, 100, 1000, 100 writes; 2 000 sectors each (1 MB).
        let samples = [(0, 0), (100, 2000), (200, 4000), (1200, 6000), (1300, 8000)];
        let s = DiskSummary::of("vda", &samples).expect("a summary");
        assert_eq!(s.windows, 4);
        assert!((s.writes_per_s - 3250.0).abs() < 1e-6, "{s:?}");
        assert!(
            (s.mb_per_s - 2000.0 * 4.0 * 512.0 / 0.4 / 1e6).abs() < 1e-6,
            "{s:?}"
        );
        assert_eq!(
            (s.median_window, s.max_window, s.burst_windows),
            (100, 1000, 1)
        );
        assert_eq!(DiskSummary::of("vda", &[(5, 5)]), None);
    }
}
