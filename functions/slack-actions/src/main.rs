//! The slack-actions Lambda, behind a Lambda function URL: Slack's interactivity requests
//! (button clicks on DriftGuard alerts). Each request's `X-Slack-Signature` is verified (and a
//! replay refused) before anything else; the clicking user is authorised per action; the
//! decision is recorded on the finding, `Remediation Requested` published for revert and
//! re-apply, and the alert updated through the click's `response_url` — within Slack's three
//! seconds.
//!
//! Configuration is read once ([`Config::from_env`]); secrets are read once at init.

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
