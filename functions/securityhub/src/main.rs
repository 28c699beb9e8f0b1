//! The securityhub Lambda (opt-in, `SecurityHub=true`): each `Drift Detected` / `Drift Resolved`
//! event on the DriftGuard bus becomes an AWS Security Hub finding in ASFF, imported with
//! `BatchImportFindings` under the account's default product: one Security Hub finding per
//! DriftGuard finding, updated by each revision and archived when the drift is resolved.
//!
//! Configuration is read once ([`Config::from_env`]); the client is built once.

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
    let app = App::new(&aws, config);
    run(service_fn(|event: LambdaEvent<Value>| app.invoke(event))).await
}
