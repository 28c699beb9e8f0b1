//! The adapter's error type, classified once for the Lambda edge: retrying may help, or it
//! cannot. Every message is self-contained (it includes the cause), and never contains the
//! webhook URL or the token.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

/// Whether a failed Slack call may succeed if tried again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Rate limiting, 5xx, timeouts, connection failures, Slack's transient error codes.
    Retryable,
    /// Anything else (`invalid_auth`, `channel_not_found`, `invalid_blocks`, ...): the same
    /// request gets the same answer.
    NotRetryable,
}

/// Slack error codes (a Web API `error`, or a webhook's error body) that mean "try again later";
/// every other code is [`Retry::NotRetryable`].
pub const RETRYABLE_CODES: &[&str] = &[
    "ratelimited",
    "rate_limited",
    "internal_error",
    "fatal_error",
    "service_unavailable",
    "request_timeout",
];

/// What went wrong below HTTP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportKind {
    /// No complete answer within the client's timeout.
    Timeout,
    /// The connection could not be made (DNS, refused, TLS).
    Connect,
    /// The connection failed while sending or reading.
    Io,
    /// The request could not be built (a client bug, not retried).
    Invalid,
}

impl fmt::Display for TransportKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportKind::Timeout => "timed out",
            TransportKind::Connect => "could not connect",
            TransportKind::Io => "connection failed",
            TransportKind::Invalid => "could not build the request",
        })
    }
}

/// A Slack call that failed. `method` is the Web API method (`chat.postMessage`, ...) or
/// `incoming webhook`.
#[derive(Debug, thiserror::Error)]
pub enum SlackError {
    /// Slack refused the call: a Web API `{"ok": false, "error": code}`, a webhook's error body
    /// (`invalid_blocks`, `no_text`, `channel_not_found`, ...), or an error status without one
    /// (`code` is then `http_<status>`).
    #[error("Slack {method} failed: {code} (HTTP {status})")]
    Api {
        /// The call.
        method: &'static str,
        /// The HTTP status.
        status: u16,
        /// Slack's error code.
        code: String,
    },
    /// HTTP 429. `retry_after` is Slack's `Retry-After`; when it is longer than the policy's
    /// `max_retry_after`, this is returned at once so the caller can defer the work.
    #[error("Slack {method} is rate limited (HTTP 429){}", RetryAfter(*retry_after))]
    RateLimited {
        /// The call.
        method: &'static str,
        /// How long Slack asked to wait, if it said.
        retry_after: Option<Duration>,
    },
    /// The request did not complete.
    #[error("Slack {method} {kind}: {}", Chain(source))]
    Transport {
        /// The call.
        method: &'static str,
        /// What failed.
        kind: TransportKind,
        /// The HTTP client's error (its URL removed).
        #[source]
        source: reqwest::Error,
    },
    /// Slack answered, but not in a shape DriftGuard understands.
    #[error("Slack {method} answered HTTP {status} with an unexpected body: {detail}")]
    BadResponse {
        /// The call.
        method: &'static str,
        /// The HTTP status.
        status: u16,
        /// What was wrong (never the body itself).
        detail: String,
    },
    /// Retryable failures until the policy's attempts ran out; `last` is the final one.
    #[error("Slack {method} gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// The call.
        method: &'static str,
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<SlackError>,
    },
    /// The call needs the other kind of client (e.g. `chat.update` on a webhook client).
    #[error("{method} needs a {needs} client, this one posts through {has}")]
    Unsupported {
        /// The call.
        method: &'static str,
        /// The delivery it needs.
        needs: crate::Delivery,
        /// The client's delivery.
        has: crate::Delivery,
    },
    /// The client's configuration is unusable (the message never contains the secret).
    #[error("invalid Slack {what}: {reason}")]
    Config {
        /// Which setting.
        what: &'static str,
        /// Why.
        reason: String,
    },
    /// A JSON value that is not a message DriftGuard sends.
    #[error("not a Slack message: {0}")]
    InvalidMessage(String),
}

impl SlackError {
    /// Whether retrying later may help.
    pub fn retry(&self) -> Retry {
        let retryable = match self {
            SlackError::Api { status, code, .. } => {
                *status >= 500 || *status == 408 || RETRYABLE_CODES.contains(&code.as_str())
            }
            SlackError::RateLimited { .. } => true,
            SlackError::Transport { kind, .. } => *kind != TransportKind::Invalid,
            SlackError::BadResponse { status, .. } => *status >= 500,
            SlackError::GaveUp { last, .. } => return last.retry(),
            SlackError::Unsupported { .. } | SlackError::Config { .. } | SlackError::InvalidMessage(_) => false,
        };
        if retryable {
            Retry::Retryable
        } else {
            Retry::NotRetryable
        }
    }

    /// `self.retry() == Retry::Retryable`.
    pub fn is_retryable(&self) -> bool {
        self.retry() == Retry::Retryable
    }

    /// Slack's error code (`channel_not_found`, `ratelimited`, `http_503`, ...), if Slack answered.
    pub fn code(&self) -> Option<&str> {
        match self {
            SlackError::Api { code, .. } => Some(code),
            SlackError::RateLimited { .. } => Some("ratelimited"),
            SlackError::GaveUp { last, .. } => last.code(),
            _ => None,
        }
    }

    /// How long Slack asked to wait (HTTP 429 `Retry-After`), if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            SlackError::RateLimited { retry_after, .. } => *retry_after,
            SlackError::GaveUp { last, .. } => last.retry_after(),
            _ => None,
        }
    }

    /// Wraps an HTTP client error, dropping the URL it carries (a webhook URL is a secret).
    pub(crate) fn transport(method: &'static str, error: reqwest::Error) -> SlackError {
        let kind = if error.is_timeout() {
            TransportKind::Timeout
        } else if error.is_connect() {
            TransportKind::Connect
        } else if error.is_builder() || error.is_redirect() {
            TransportKind::Invalid
        } else {
            TransportKind::Io
        };
        SlackError::Transport {
            method,
            kind,
            source: error.without_url(),
        }
    }

    pub(crate) fn config(what: &'static str, reason: impl Into<String>) -> SlackError {
        SlackError::Config {
            what,
            reason: reason.into(),
        }
    }
}

/// `; retry after N s` when known.
struct RetryAfter(Option<Duration>);

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(wait) => write!(f, "; Slack asks to retry after {} s", wait.as_secs_f64()),
            None => Ok(()),
        }
    }
}

/// An error and its causes, `: `-separated, so the message says what actually failed
/// (`error sending request: client error (Connect): tcp connect error: Connection refused`).
struct Chain<'a>(&'a reqwest::Error);

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(error) = cause {
            write!(f, ": {error}")?;
            cause = error.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> SlackError {
        SlackError::Api {
            method: "chat.postMessage",
            status,
            code: code.into(),
        }
    }

    #[test]
    fn classification() {
        for (error, retry) in [
            (api(200, "invalid_auth"), Retry::NotRetryable),
            (api(200, "channel_not_found"), Retry::NotRetryable),
            (api(400, "invalid_blocks"), Retry::NotRetryable),
            (api(404, "no_service"), Retry::NotRetryable),
            (api(200, "ratelimited"), Retry::Retryable),
            (api(200, "internal_error"), Retry::Retryable),
            (api(500, "rollup_error"), Retry::Retryable),
            (api(503, "http_503"), Retry::Retryable),
            (
                SlackError::RateLimited {
                    method: "chat.update",
                    retry_after: None,
                },
                Retry::Retryable,
            ),
            (SlackError::InvalidMessage("x".into()), Retry::NotRetryable),
        ] {
            assert_eq!(error.retry(), retry, "{error}");
        }
        let gave_up = SlackError::GaveUp {
            method: "chat.postMessage",
            attempts: 3,
            last: Box::new(SlackError::RateLimited {
                method: "chat.postMessage",
                retry_after: Some(Duration::from_secs(2)),
            }),
        };
        assert!(gave_up.is_retryable());
        assert_eq!(gave_up.code(), Some("ratelimited"));
        assert_eq!(gave_up.retry_after(), Some(Duration::from_secs(2)));
        assert_eq!(
            gave_up.to_string(),
            "Slack chat.postMessage gave up after 3 attempts: Slack chat.postMessage is rate limited \
             (HTTP 429); Slack asks to retry after 2 s"
        );
    }
}
