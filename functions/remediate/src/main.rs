//! The remediate Lambda: `Remediation Requested` (from Slack, the CLI or an automatic rule on
//! `Drift Detected`) and `Remediation Approved` from the DriftGuard bus become a revert with the
//! inverse API calls, a re-apply through the pipeline that owns the state, or an accepted
//! baseline — a dry run unless enabled, after the approvals it needs, within the hourly cap,
//! never with the kill switch on, once per request, every step on the finding's trail.
//!
//! Configuration is read once ([`Config::from_env`]); clients are built once.

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
