//! Benchmarks of the deployed flow on loopback, run by the `pipeline-bench` binary (README,
//! "Performance"): the compiled release functions through the Lambda Runtime API, moto for
//! DynamoDB, EventBridge, SQS and S3, the Slack receiver for Slack.
//!
//! - [`latency`]: CloudTrail events put on the bus, through the rule, the ingest queue, ingest
//!   (its event source mapping played as the template declares it), `Drift Detected` on the
//!   DriftGuard bus, notify-slack's rule, notify-slack, to the Slack receiver: time per event
//!   and per hop, DynamoDB round trips and request units per event.
//! - [`burst`]: a hundred thousand events arriving within a minute, through as many ingest
//!   instances as asked: events per second per instance, what moto takes, and every expected
//!   finding and drift event exactly once.
//!
//! Nothing here asserts a time: a run reports figures and fails only when an event was lost,
//! duplicated or wrong.

pub mod burst;
pub mod capacity;
pub mod latency;
pub mod wiring;

use crate::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The variable naming the folder of the release binaries of the functions.
pub const BINS_ENV: &str = "DRIFTGUARD_RELEASE_BINS";

/// The compiled functions a benchmark runs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `driftguard-ingest`.
    pub ingest: PathBuf,
    /// `driftguard-notify-slack`.
    pub notify: PathBuf,
}

impl Binaries {
    /// The binaries in `dir`, or where [`BINS_ENV`] says, or beside the running executable
    /// (`cargo run --release` puts the bench in `target/release/`, where a release build of
    /// the functions is). The error names each missing binary and how to build it.
    pub fn find(dir: Option<&Path>) -> Result<Binaries, String> {
        let dir = match dir {
            Some(d) => d.to_path_buf(),
            None => match std::env::var_os(BINS_ENV) {
                Some(d) if !d.is_empty() => PathBuf::from(d),
                _ => std::env::current_exe()
                    .ok()
                    .and_then(|exe| exe.parent().map(Path::to_path_buf))
                    .unwrap_or_default(),
            },
        };
        let ingest = dir.join("driftguard-ingest");
        let notify = dir.join("driftguard-notify-slack");
        let missing: Vec<String> = [&ingest, &notify]
            .iter()
            .filter(|p| !p.is_file())
            .map(|p| p.display().to_string())
            .collect();
        if missing.is_empty() {
            Ok(Binaries { ingest, notify })
        } else {
            Err(format!(
                "the functions' binaries are missing: {}. Build them in release \
                 (cargo build --release --locked -p driftguard-ingest -p driftguard-notify-slack) \
                 and name their folder with {BINS_ENV}=<target>/release (or --bins)",
                missing.join(", ")
            ))
        }
    }
}

/// Microseconds since the epoch (the clock moto's `SentTimestamp` is on).
pub fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX))
}

/// A process's user + system CPU time so far (`/proc/<pid>/stat`, in clock ticks of 1/100 s,
/// Linux's `USER_HZ`); `None` off Linux or once it exited.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces; the fields after it are space-separated.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split(' ').collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

/// A process's peak resident set (`VmHWM`, in KB), when known.
pub fn peak_rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Summary statistics of a sample (milliseconds).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Stats {
    /// How many values.
    pub n: usize,
    /// The median.
    pub median: f64,
    /// The 99th percentile (nearest rank).
    pub p99: f64,
    /// The largest.
    pub max: f64,
    /// The mean.
    pub mean: f64,
}

impl Stats {
    /// The statistics of `values` (any order).
    pub fn of(values: &[f64]) -> Stats {
        if values.is_empty() {
            return Stats::default();
        }
        let mut v = values.to_vec();
        v.sort_by(f64::total_cmp);
        let rank = |p: f64| v[((p * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1];
        Stats {
            n: v.len(),
            median: rank(0.5),
            p99: rank(0.99),
            max: v[v.len() - 1],
            mean: v.iter().sum::<f64>() / v.len() as f64,
        }
    }
}

impl std::fmt::Display for Stats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "median {:>7.1} ms  p99 {:>7.1} ms  max {:>7.1} ms  mean {:>7.1} ms",
            self.median, self.p99, self.max, self.mean
        )
    }
}

/// Starts `binary` against a fresh Runtime API as `name` and sends it `warm_up` (its first
/// invocation: the container's init and first loads), which must be answered.
pub(crate) fn start_instance(
    binary: &Path,
    name: &str,
    env: &[(String, String)],
    warm_up: &[u8],
) -> Result<(RuntimeApi, LambdaProcess), String> {
    let api = RuntimeApi::start_named(name);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut process =
        LambdaProcess::try_spawn(binary, &api, &env).map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    match process.invoke(warm_up, Duration::from_secs(60)) {
        Invocation::Response(_) => Ok((api, process)),
        other => Err(format!(
            "{name} did not answer its warm-up invocation: {other:?}\n{}",
            tail(&process.logs(), 20)
        )),
    }
}

/// The last `n` lines of `text`.
pub(crate) fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<f64> = (1..=200).map(f64::from).collect();
        let s = Stats::of(&values);
        assert_eq!((s.n, s.median, s.p99, s.max), (200, 100.0, 198.0, 200.0));
        assert_eq!(Stats::of(&[]).n, 0);
        assert_eq!(Stats::of(&[5.0]).p99, 5.0);
    }

    #[test]
    fn missing_binaries_are_named_with_how_to_build_them() {
        let dir = std::env::temp_dir().join(format!("driftguard-no-bins-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let error = Binaries::find(Some(&dir)).expect_err("nothing is there");
        assert!(
            error.contains("driftguard-ingest") && error.contains("driftguard-notify-slack"),
            "{error}"
        );
        assert!(
            error.contains("cargo build --release") && error.contains(BINS_ENV),
            "{error}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
