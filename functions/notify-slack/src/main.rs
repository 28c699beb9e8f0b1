//! The notify-slack Lambda: `Drift Detected`, `Drift Resolved`, `Remediation Completed` and
//! `Remediation Failed` from the DriftGuard bus become Slack alerts — routed to a channel,
//! grouped per burst, batched into digests, posted once per finding version and updated in
//! place — and a scheduled event flushes the digests that are due.
//!
//! Configuration is read once ([`Config::from_env`]); secrets are read once at init (from the
//! environment, or Secrets Manager / SSM by reference); clients are built once.

mod config;
mod handler;

use config::Config;
use handler::App;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::Value;

#[tokio::main]
async fn main() -> Result<(), Error> {
    driftguard_aws::start_logging(env!("CARGO_BIN_NAME"), env!("CARGO_PKG_VERSION"));
    let config = Config::from_env()?;
    let aws = driftguard_aws::load_sdk_config().await?;
    let app = App::build(&aws, config).await?;
    run(service_fn(|event: LambdaEvent<Value>| app.invoke(event))).await
}
