//! What every function does first: JSON log lines for CloudWatch Logs (filtered by `RUST_LOG`,
//! `info` by default; no timestamp, since Lambda stamps each line), then a `Starting` line naming
//! the function and its version.

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
