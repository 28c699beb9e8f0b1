//! The iac-sync Lambda: keeps the declared state fresh. S3 tells it (through EventBridge) each
//! time a `.tfstate` object under the configured state locations is written or deleted, and a
//! daily schedule asks it to go through every state file (`{"driftguard":"sync-all"}`): it
//! records each state's revision in the table (an older serial never replaces a newer one),
//! bumps the inventory version ingest reads instead of polling every state file, and resolves
//! the open findings the new declaration now agrees with, as codified.
//!
//! Configuration is read once at init ([`Config::from_env`]); clients are built once.

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
