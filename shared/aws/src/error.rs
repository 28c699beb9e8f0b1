//! The adapters' error type, classified once for the Lambda edge: retry or not.

use aws_sdk_dynamodb::config::http::HttpResponse;
use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};

/// Whether an operation may succeed if tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// Throttling, 5xx, timeouts, connection failures, optimistic-concurrency exhaustion.
    Retryable,
    /// Anything else: retrying the same request gives the same answer.
    NotRetryable,
}

/// An AWS call that failed.
#[derive(Debug, thiserror::Error)]
pub enum AwsError {
    /// The service or the connection failed.
    #[error("{service} {operation} failed ({code}): {message}")]
    Call {
        /// e.g. `DynamoDB`.
        service: &'static str,
        /// e.g. `PutItem`.
        operation: &'static str,
        /// The AWS error code, or the failure class (`timeout`, `dispatch`, `response`).
        code: String,
        /// Details.
        message: String,
        /// Retry classification.
        retry: Retry,
    },
    /// Entries EventBridge refused after every retry.
    #[error("EventBridge refused {} of the events after retries: {}", failed.len(), failed.join(", "))]
    PublishRejected {
        /// `<key> (<error code>)` per refused entry.
        failed: Vec<String>,
    },
    /// Findings Security Hub refused (`BatchImportFindings`' `FailedFindings`).
    #[error("Security Hub refused {} of the findings ({accepted} accepted): {}", failed.len(), failed.join(", "))]
    ImportRejected {
        /// `<finding id> (<error code>: <message>)` per refused finding.
        failed: Vec<String>,
        /// Findings accepted in the same import.
        accepted: usize,
        /// Retryable when every refusal is transient (`securityhub::refusal_retry`).
        retry: Retry,
    },
    /// Too many concurrent writers on one record.
    #[error("DynamoDB: {0} kept changing under concurrent writers; giving up for now")]
    Contention(String),
    /// An object larger than this process may read into memory.
    #[error("{what} is {size} bytes, over the {limit}-byte limit for one document (set from the function's memory)")]
    TooLarge {
        /// The object (`s3://bucket/key`).
        what: String,
        /// Its size (as announced, or as far as it was read).
        size: u64,
        /// The limit.
        limit: usize,
    },
    /// A stored item DriftGuard cannot read.
    #[error("DynamoDB item {key} is not a valid DriftGuard record: {message}")]
    Corrupt {
        /// Item key.
        key: String,
        /// Why.
        message: String,
    },
}

impl AwsError {
    /// The same error, its message naming what it was about (`s3://bucket/key`).
    pub fn about(self, what: &str) -> AwsError {
        match self {
            AwsError::Call {
                service,
                operation,
                code,
                message,
                retry,
            } => AwsError::Call {
                service,
                operation,
                code,
                message: format!("{what}: {message}"),
                retry,
            },
            other => other,
        }
    }

    /// Whether retrying may help.
    pub fn retry(&self) -> Retry {
        match self {
            AwsError::Call { retry, .. } | AwsError::ImportRejected { retry, .. } => *retry,
            AwsError::PublishRejected { .. } | AwsError::Contention(_) => Retry::Retryable,
            AwsError::Corrupt { .. } | AwsError::TooLarge { .. } => Retry::NotRetryable,
        }
    }
}

/// Error codes that mean "slow down or try again" (whatever the HTTP status; any 5xx status is
/// retryable too).
const RETRYABLE_CODES: &[&str] = &[
    "ThrottlingException",
    "Throttling",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TooManyRequestsException",
    "InternalServerError",
    "InternalFailure",
    "InternalException",
    "ServiceUnavailable",
    "SlowDown",
    "TransactionConflictException",
    // S3
    "InternalError",
    "RequestTimeout",
    // Secrets Manager
    "InternalServiceError",
    "ServiceUnavailableException",
];

/// Whether a service error with this code and HTTP status may succeed if tried again.
pub(crate) fn retryable(code: &str, status: u16) -> Retry {
    if RETRYABLE_CODES.contains(&code) || (500..600).contains(&status) {
        Retry::Retryable
    } else {
        Retry::NotRetryable
    }
}

/// What an error message may show of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Body {
    /// The service's error message may be shown (it cannot hold a secret).
    Shown,
    /// The call carries a secret (`GetSecretValue`, `GetParameter`): nothing the response
    /// holds is shown, only the error code and the HTTP status.
    Secret,
}

/// Classifies an SDK error (any service: the smithy types are shared). The response body is
/// never formatted: an unreadable response is described by its HTTP status only.
pub(crate) fn classify<E>(service: &'static str, operation: &'static str, err: SdkError<E, HttpResponse>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    classify_body(service, operation, err, Body::Shown)
}

/// [`classify`], for calls whose responses may hold a secret.
pub(crate) fn classify_body<E>(
    service: &'static str,
    operation: &'static str,
    err: SdkError<E, HttpResponse>,
    body: Body,
) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let (code, message, retry) = match &err {
        SdkError::TimeoutError(_) => ("timeout".to_owned(), "the call timed out".to_owned(), Retry::Retryable),
        // A connection failure: the connector's error names the endpoint, not a body.
        SdkError::DispatchFailure(d) => ("dispatch".to_owned(), format!("{d:?}"), Retry::Retryable),
        SdkError::ResponseError(r) => {
            let status = r.raw().status().as_u16();
            (
                "response".to_owned(),
                format!("the response (HTTP {status}) could not be read"),
                Retry::Retryable,
            )
        }
        SdkError::ServiceError(s) => {
            let e = s.err();
            let status = s.raw().status().as_u16();
            let code = e.code().unwrap_or("Unknown").to_owned();
            let message = match body {
                Body::Shown => e.message().map_or_else(|| format!("HTTP {status}"), str::to_owned),
                Body::Secret => format!("HTTP {status} (the response is not shown: it may hold the secret)"),
            };
            (code.clone(), message, retryable(&code, status))
        }
        _ => (
            "construction".to_owned(),
            "the request could not be built".to_owned(),
            Retry::NotRetryable,
        ),
    };
    AwsError::Call {
        service,
        operation,
        code,
        message,
        retry,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_errors_and_transient_codes_are_retryable() {
        for code in [
            "InternalError",
            "RequestTimeout",
            "InternalServiceError",
            "ServiceUnavailableException",
        ] {
            assert_eq!(retryable(code, 400), Retry::Retryable, "{code}");
        }
        assert_eq!(retryable("SomethingNew", 502), Retry::Retryable, "any 5xx");
        assert_eq!(retryable("AccessDeniedException", 400), Retry::NotRetryable);
        assert_eq!(retryable("ResourceNotFoundException", 400), Retry::NotRetryable);
    }
}
