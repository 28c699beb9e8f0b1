//! What every function does first: JSON log lines for CloudWatch Logs (filtered by `RUST_LOG`,
//! `info` by default; no timestamp, since Lambda stamps each line), then a `Starting` line naming
//! the function and its version; and the one metrics line each invocation prints.

/// Installs the log subscriber and logs `Starting` with `function` and `version`.
pub fn start_logging(function: &str, version: &str) {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .with_current_span(false)
        .with_target(false)
        .without_time()
        .init();
    tracing::info!(function, version, "Starting");
}

/// Prints one invocation's metrics as an embedded-metric-format line of its own on stdout (not
/// through the log formatter, which would wrap it), for CloudWatch Logs to extract.
pub fn emit_metrics(metrics: &driftguard_core::metrics::Metrics) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    println!("{}", metrics.render(now));
}
