//! The adapters' error type, classified once for the Lambda edge: retry or not.

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
    /// Too many concurrent writers on one record.
    #[error("DynamoDB: {0} kept changing under concurrent writers; giving up for now")]
    Contention(String),
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
            AwsError::Call { retry, .. } => *retry,
            AwsError::PublishRejected { .. } | AwsError::Contention(_) => Retry::Retryable,
            AwsError::Corrupt { .. } => Retry::NotRetryable,
        }
    }
}

/// Error codes that mean "slow down or try again".
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
];

/// Classifies an SDK error (any service: the smithy types are shared).
pub(crate) fn classify<E, R>(service: &'static str, operation: &'static str, err: SdkError<E, R>) -> AwsError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug,
{
    let (code, message, retry) = match &err {
        SdkError::TimeoutError(_) => ("timeout".to_owned(), format!("{err:?}"), Retry::Retryable),
        SdkError::DispatchFailure(d) => ("dispatch".to_owned(), format!("{d:?}"), Retry::Retryable),
        SdkError::ResponseError(r) => ("response".to_owned(), format!("{r:?}"), Retry::Retryable),
        SdkError::ServiceError(s) => {
            let e = s.err();
            let code = e.code().unwrap_or("Unknown").to_owned();
            let retry = if RETRYABLE_CODES.contains(&code.as_str()) {
                Retry::Retryable
            } else {
                Retry::NotRetryable
            };
            let message = e.message().map_or_else(|| e.to_string(), str::to_owned);
            (code, message, retry)
        }
        other => ("construction".to_owned(), format!("{other:?}"), Retry::NotRetryable),
    };
    AwsError::Call {
        service,
        operation,
        code,
        message,
        retry,
    }
}
