//! One invocation: the EventBridge event as the rule delivers it, read and mapped by core
//! ([`securityhub::read_event`], [`securityhub::to_asff`]), imported with one
//! `BatchImportFindings` call, and the metrics line written whatever the outcome.
//!
//! Every failure fails the invocation, so Lambda retries it and then sends the event to the
//! dead-letter queue; the error type says whether a retry can help: `InvalidInput` (the event is
//! not a DriftGuard drift event, named in the message), `Retryable` (throttling, a 5xx, a
//! refusal Security Hub calls internal or a limit), `NotRetryable` (Security Hub refused the
//! finding as invalid, or is not enabled or not accepting the account's findings: fix, then
//! redrive the dead letters).

use crate::config::Config;
use driftguard_aws::{AwsError, Retry, SecurityHubClient, SecurityHubImporter};
use driftguard_core::metrics::{self, Metrics};
use driftguard_core::securityhub::{self, Product};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{json, Value};

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The event is not a DriftGuard drift event: retrying cannot help.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Worth retrying.
    #[error("{0}")]
    Retryable(String),
    /// Retrying the same event gives the same answer.
    #[error("{0}")]
    NotRetryable(String),
}

impl ImportError {
    /// The stable error type reported to Lambda.
    pub fn error_type(&self) -> &'static str {
        match self {
            ImportError::InvalidInput(_) => "InvalidInput",
            ImportError::Retryable(_) => "Retryable",
            ImportError::NotRetryable(_) => "NotRetryable",
        }
    }
}

impl From<ImportError> for Diagnostic {
    fn from(e: ImportError) -> Self {
        Diagnostic {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

impl From<AwsError> for ImportError {
    fn from(e: AwsError) -> Self {
        match e.retry() {
            Retry::Retryable => ImportError::Retryable(e.to_string()),
            Retry::NotRetryable => ImportError::NotRetryable(e.to_string()),
        }
    }
}

/// The client and settings, built once per container.
pub struct App {
    importer: SecurityHubImporter,
    product: Product,
}

impl App {
    /// The Security Hub client from the SDK configuration.
    pub fn new(aws: &aws_config::SdkConfig, config: Config) -> App {
        App {
            importer: SecurityHubImporter::new(SecurityHubClient::new(aws)),
            product: config.product,
        }
    }

    /// Handles one event; its metrics are printed as one line whatever the outcome.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, ImportError> {
        let mut m = Metrics::new(metrics::SECURITYHUB);
        let started = std::time::Instant::now();
        let result = self.handle(event.payload).await;
        m.time("import", started.elapsed());
        match &result {
            Ok(answer) => m.add(
                &metrics::SECURITYHUB_IMPORTED,
                answer["imported"]
                    .as_u64()
                    .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX)),
            ),
            Err(e) => {
                tracing::error!(error_type = e.error_type(), error = %e, "the drift event was not imported into Security Hub");
                m.add(&metrics::SECURITYHUB_FAILED, 1);
            }
        }
        driftguard_aws::emit_metrics(&m);
        result
    }

    async fn handle(&self, payload: Value) -> Result<Value, ImportError> {
        let event = securityhub::read_event(payload, &self.product.account)
            .map_err(|e| ImportError::InvalidInput(e.to_string()))?;
        let finding = securityhub::to_asff(&event, &self.product);
        let imported = self.importer.import(std::slice::from_ref(&finding)).await?;
        tracing::info!(
            finding_id = %event.finding.id,
            key = %event.key,
            securityhub_id = %finding.id,
            record_state = %finding.record_state,
            updated_at = %finding.updated_at,
            "imported into Security Hub"
        );
        Ok(json!({
            "status": "imported",
            "key": event.key,
            "finding_id": event.finding.id,
            "securityhub_id": finding.id,
            "record_state": finding.record_state,
            "severity": finding.severity.label,
            "updated_at": finding.updated_at,
            "imported": imported.accepted,
        }))
    }
}
