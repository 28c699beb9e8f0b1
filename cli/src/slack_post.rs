//! `driftguard findings show <id> --slack --post`: sends the rendered alert through an incoming
//! webhook, with the same client (and retries) the notify-slack function uses, so a user sees
//! DriftGuard's alerts in their own Slack before deploying anything.

use anyhow::{Context, Result};
use driftguard_slack::{Message, SlackClient};
use serde_json::Value;

/// Posts `rendered` (`{"text", "blocks"}`) to the webhook. The URL is a secret: errors never
/// quote it.
pub fn post(rendered: &Value, webhook_url: &str) -> Result<()> {
    let message = Message::try_from(rendered).context("the rendered message")?;
    let client = SlackClient::webhook(webhook_url).context("the Slack webhook URL")?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the HTTP runtime")?;
    runtime
        .block_on(client.send_webhook(&message))
        .context("posting to Slack")
}
