//! [`PipelineError`]: why a call to GitHub or a pipeline webhook failed, and whether retrying
//! can help ([`PipelineError::retry`]). No message contains a token, a key, a webhook secret or
//! a minted installation token.

use std::error::Error as _;
use std::fmt;
use std::time::Duration;

/// Whether a failed call may succeed if tried again later.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Rate limiting, 5xx, 408, timeouts, connection failures.
    Retryable,
    /// Anything else (401 bad credentials, 404 no such workflow, 422 undeclared input, a
    /// credential that cannot be read): the same call gets the same answer.
    NotRetryable,
}

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

/// A failed call. `call` names it: `workflow dispatch`, `issue creation`, `webhook`, or
/// `installation token` (the GitHub App token exchange before a call).
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    /// The server refused the call. `message` is GitHub's `message` (or a receiver's), cut short,
    /// with any credential removed.
    #[error("{call} failed: HTTP {status}{}", Detail(message.as_deref()))]
    Refused {
        /// The call.
        call: &'static str,
        /// The HTTP status.
        status: u16,
        /// What the server said, when it said something readable.
        message: Option<String>,
    },
    /// HTTP 429, or GitHub's 403 with a rate-limit header. `retry_after` is how long the server
    /// asked to wait; when it is longer than the policy allows, this is returned at once, still
    /// retryable, so the caller can defer the work.
    #[error("{call} is rate limited (HTTP {status}){}", RetryAfter(*retry_after))]
    RateLimited {
        /// The call.
        call: &'static str,
        /// 429 or 403.
        status: u16,
        /// How long to wait, if the server said.
        retry_after: Option<Duration>,
    },
    /// The request did not complete.
    #[error("{call} {kind}: {}", Chain(source))]
    Transport {
        /// The call.
        call: &'static str,
        /// What failed.
        kind: TransportKind,
        /// The HTTP client's error (its URL removed).
        #[source]
        source: reqwest::Error,
    },
    /// The server accepted the call but its answer is not what the API documents. Never retried:
    /// the call took effect (retrying would open a second issue).
    #[error("{call} answered HTTP {status} with an unexpected body: {detail}")]
    BadResponse {
        /// The call.
        call: &'static str,
        /// The HTTP status.
        status: u16,
        /// What was wrong (never the body itself).
        detail: String,
    },
    /// Retryable failures until the policy's attempts ran out; `last` is the final one.
    #[error("{call} gave up after {attempts} attempts: {last}")]
    GaveUp {
        /// The call.
        call: &'static str,
        /// How many attempts were made.
        attempts: u32,
        /// The last attempt's error.
        #[source]
        last: Box<PipelineError>,
    },
    /// The secret cannot be used as a GitHub token or App key (the reason never quotes it).
    #[error("unusable GitHub credential: {0}")]
    Credential(String),
    /// The call cannot be sent as given (a URL that does not parse, a call whose kind and
    /// authentication disagree).
    #[error("invalid {what}: {reason}")]
    Config {
        /// What.
        what: &'static str,
        /// Why.
        reason: String,
    },
}

impl PipelineError {
    /// Whether retrying later may help.
    pub fn retry(&self) -> Retry {
        let retryable = match self {
            PipelineError::Refused { status, .. } => *status >= 500 || *status == 408,
            PipelineError::RateLimited { .. } => true,
            PipelineError::Transport { kind, .. } => *kind != TransportKind::Invalid,
            PipelineError::GaveUp { last, .. } => return last.retry(),
            PipelineError::BadResponse { .. } | PipelineError::Credential(_) | PipelineError::Config { .. } => false,
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

    /// The HTTP status the server answered, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            PipelineError::Refused { status, .. }
            | PipelineError::RateLimited { status, .. }
            | PipelineError::BadResponse { status, .. } => Some(*status),
            PipelineError::GaveUp { last, .. } => last.status(),
            _ => None,
        }
    }

    /// How long the server asked to wait, if it did.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            PipelineError::RateLimited { retry_after, .. } => *retry_after,
            PipelineError::GaveUp { last, .. } => last.retry_after(),
            _ => None,
        }
    }

    /// Wraps an HTTP client error, dropping the URL it carries.
    pub(crate) fn transport(call: &'static str, error: reqwest::Error) -> PipelineError {
        let kind = if error.is_timeout() {
            TransportKind::Timeout
        } else if error.is_connect() {
            TransportKind::Connect
        } else if error.is_builder() || error.is_redirect() {
            TransportKind::Invalid
        } else {
            TransportKind::Io
        };
        PipelineError::Transport {
            call,
            kind,
            source: error.without_url(),
        }
    }

    pub(crate) fn config(what: &'static str, reason: impl Into<String>) -> PipelineError {
        PipelineError::Config {
            what,
            reason: reason.into(),
        }
    }
}

/// `: message` when there is one.
struct Detail<'a>(Option<&'a str>);

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(message) => write!(f, ": {message}"),
            None => Ok(()),
        }
    }
}

/// `; retry after N s` when known.
struct RetryAfter(Option<Duration>);

impl fmt::Display for RetryAfter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(wait) => write!(f, "; the server asks to retry after {} s", wait.as_secs_f64()),
            None => Ok(()),
        }
    }
}

/// An error and its causes, `: `-separated.
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

    fn refused(status: u16) -> PipelineError {
        PipelineError::Refused {
            call: "workflow dispatch",
            status,
            message: Some("Bad credentials".into()),
        }
    }

    #[test]
    fn classification() {
        for (error, retry) in [
            (refused(401), Retry::NotRetryable),
            (refused(404), Retry::NotRetryable),
            (refused(422), Retry::NotRetryable),
            (refused(408), Retry::Retryable),
            (refused(502), Retry::Retryable),
            (
                PipelineError::RateLimited {
                    call: "webhook",
                    status: 429,
                    retry_after: None,
                },
                Retry::Retryable,
            ),
            (PipelineError::Credential("x".into()), Retry::NotRetryable),
            (
                PipelineError::BadResponse {
                    call: "issue creation",
                    status: 201,
                    detail: "x".into(),
                },
                Retry::NotRetryable,
            ),
        ] {
            assert_eq!(error.retry(), retry, "{error}");
        }
        let gave_up = PipelineError::GaveUp {
            call: "workflow dispatch",
            attempts: 3,
            last: Box::new(PipelineError::RateLimited {
                call: "workflow dispatch",
                status: 403,
                retry_after: Some(Duration::from_secs(60)),
            }),
        };
        assert!(gave_up.is_retryable());
        assert_eq!(gave_up.status(), Some(403));
        assert_eq!(gave_up.retry_after(), Some(Duration::from_secs(60)));
        assert_eq!(
            gave_up.to_string(),
            "workflow dispatch gave up after 3 attempts: workflow dispatch is rate limited (HTTP 403); \
             the server asks to retry after 60 s"
        );
        assert_eq!(
            refused(401).to_string(),
            "workflow dispatch failed: HTTP 401: Bad credentials"
        );
    }
}
