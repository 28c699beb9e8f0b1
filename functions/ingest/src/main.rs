//! The ingest Lambda: CloudTrail and Config events (an EventBridge event, or an SQS batch of
//! them) → findings in DynamoDB → `Drift Detected` / `Drift Resolved` on EventBridge.
//!
//! Configuration is read once at init ([`Config::from_env`], and the configuration file
//! `DRIFTGUARD_CONFIG` names, re-read when it changes); clients are built once; each
//! invocation refreshes the Terraform states when due and hands every item to
//! [`driftguard_core::service::handle`].

mod config;
mod handler;

use config::Config;
use handler::App;
use lambda_runtime::{run, service_fn, Error, LambdaEvent};
use serde_json::value::RawValue;

#[tokio::main]
async fn main() -> Result<(), Error> {
    driftguard_aws::start_logging(env!("CARGO_BIN_NAME"), env!("CARGO_PKG_VERSION"));
    let config = Config::from_env()?;
    let aws = driftguard_aws::load_sdk_config().await?;
    let app = App::new(&aws, config);
    if let Err(e) = app.load_config().await {
        // The process exits (Lambda reports Runtime.ExitError); the reason is in the log.
        tracing::error!(error = %e, "Cannot start");
        return Err(e.into());
    }
    run(service_fn(|event: LambdaEvent<Box<RawValue>>| app.invoke(event))).await
}
