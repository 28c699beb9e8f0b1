//! DriftGuard's Slack adapter: delivers the Block Kit messages `driftguard_core::slack::render`
//! builds, through an incoming webhook or through the Web API with a bot token
//! (`chat.postMessage`, and `chat.update` so a resolution updates the original alert).
//!
//! ```no_run
//! # async fn demo(rendered: serde_json::Value) -> Result<(), driftguard_slack::SlackError> {
//! use driftguard_slack::{Message, SlackClient};
//!
//! let message = Message::try_from(&rendered)?;
//! let slack = SlackClient::bot("xoxb-…")?;
//! let posted = slack.post_message("C0123456789", &message, None).await?;
//! slack.update_message(&posted.channel, &posted.ts, &message).await?;
//! # Ok(()) }
//! ```
//!
//! Every call is retried the same way ([`RetryPolicy`]): HTTP 429 waits exactly what
//! `Retry-After` asks (or gives up at once, still retryable, when that is longer than the
//! policy allows, so the caller can defer instead of hammering Slack); 5xx, timeouts,
//! connection failures and Slack's transient error codes are retried with full-jitter
//! exponential backoff; anything else fails at once. Errors say whether retrying can help
//! ([`SlackError::retry`]), which is what the Lambda edge needs.
//!
//! The webhook URL and the bot token are secrets: no `Debug` output, log line or error message
//! contains them.

mod client;
mod error;
mod retry;

pub use client::{Delivery, Message, Posted, SlackClient, DEFAULT_API_BASE, DEFAULT_TIMEOUT};
pub use error::{Retry, SlackError, TransportKind, RETRYABLE_CODES};
pub use retry::RetryPolicy;
