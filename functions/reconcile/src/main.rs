//! The reconcile Lambda: on a schedule, AWS Config's live configuration items against the
//! Terraform states, through the same evaluation, store and bus as ingest, so the events'
//! findings and the sweep's are one set (see `driftguard_core::sweep`).
//!
//! Configuration is read once at init ([`Config::from_env`]); clients are built once; each
//! invocation starts a run or continues the saved one, and stops before the deadline.

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
    let app = App::new(aws, config);
    if let Err(e) = app.load_config().await {
        tracing::error!(error = %e, "Cannot start");
        return Err(e.into());
    }
    run(service_fn(|event: LambdaEvent<Value>| app.invoke(event))).await
}
