//! Security Hub: core's ASFF findings ([`driftguard_core::securityhub`]) imported with
//! `BatchImportFindings` (at most 100 findings and 6 MB a call, 240 KB a finding).
//!
//! A call can succeed while Security Hub refuses some of its findings (`FailedFindings`, each
//! with an error code): that is reported as [`AwsError::ImportRejected`], never as success, so
//! the invocation fails and Lambda retries it, then sends the event to the dead-letter queue.
//! Which refusals a retry may fix ([`refusal_retry`]): throttling, limits and internal errors
//! are retryable; `InvalidInput` (a finding Security Hub does not accept: a DriftGuard bug) and
//! `InvalidAccess` / `AccessDenied…` (Security Hub not enabled in the region, or the default
//! integration not accepting findings: the operator's to fix, then redrive the dead letters) are
//! not.

use crate::error::{classify, AwsError, Retry};
use aws_sdk_securityhub::types::{
    AwsSecurityFinding, FindingProviderFields, FindingProviderSeverity, Partition, Recommendation, RecordState,
    Remediation, Resource, ResourceDetails, Severity, SeverityLabel, Workflow, WorkflowStatus,
};
use aws_sdk_securityhub::Client;
use driftguard_core::securityhub::AsffFinding;

/// `BatchImportFindings` takes at most this many findings per call.
pub const MAX_IMPORT_BATCH: usize = 100;

/// Imports findings into Security Hub.
#[derive(Debug, Clone)]
pub struct SecurityHubImporter {
    client: Client,
}

/// What an import did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Imported {
    /// Findings Security Hub accepted (created or updated; an update older than the record is
    /// accepted and ignored).
    pub accepted: usize,
}

/// Whether a finding Security Hub refused (`FailedFindings[].ErrorCode`) may import if tried
/// again.
pub fn refusal_retry(code: &str) -> Retry {
    let transient = [
        "Internal",
        "Throttl",
        "LimitExceeded",
        "TooManyRequests",
        "ServiceUnavailable",
    ];
    if transient.iter().any(|t| code.contains(t)) {
        Retry::Retryable
    } else {
        Retry::NotRetryable
    }
}

impl SecurityHubImporter {
    /// An importer on `client`.
    pub fn new(client: Client) -> Self {
        SecurityHubImporter { client }
    }

    /// Imports `findings` (in calls of [`MAX_IMPORT_BATCH`]); any finding refused fails the
    /// whole import with every refusal named, retryable only when each refusal is.
    pub async fn import(&self, findings: &[AsffFinding]) -> Result<Imported, AwsError> {
        let mut accepted = 0;
        let mut refused = Vec::new();
        let mut retry = Retry::Retryable;
        for batch in findings.chunks(MAX_IMPORT_BATCH) {
            let out = self
                .client
                .batch_import_findings()
                .set_findings(Some(batch.iter().map(to_sdk).collect()))
                .send()
                .await
                .map_err(|e| match classify("SecurityHub", "BatchImportFindings", e) {
                    // Security Hub's throttling answer (its API limits, 10 calls a second).
                    AwsError::Call {
                        service,
                        operation,
                        code,
                        message,
                        ..
                    } if code == "LimitExceededException" => AwsError::Call {
                        service,
                        operation,
                        code,
                        message,
                        retry: Retry::Retryable,
                    },
                    other => other,
                })?;
            accepted += usize::try_from(out.success_count().unwrap_or(0)).unwrap_or(0);
            for f in out.failed_findings() {
                let code = f.error_code().unwrap_or("Unknown");
                if refusal_retry(code) == Retry::NotRetryable {
                    retry = Retry::NotRetryable;
                }
                refused.push(format!(
                    "{} ({code}: {})",
                    f.id().unwrap_or("?"),
                    f.error_message().unwrap_or("")
                ));
            }
        }
        if refused.is_empty() {
            Ok(Imported { accepted })
        } else {
            Err(AwsError::ImportRejected {
                failed: refused,
                accepted,
                retry,
            })
        }
    }
}

/// The SDK's shape of a core finding.
pub fn to_sdk(f: &AsffFinding) -> AwsSecurityFinding {
    let severity = SeverityLabel::from(f.severity.label.as_str());
    let resources = f.resources.iter().map(|r| {
        let details = r
            .details
            .other
            .iter()
            .fold(ResourceDetails::builder(), |b, (k, v)| b.other(k, v))
            .build();
        let mut b = Resource::builder()
            .r#type(&r.resource_type)
            .id(&r.id)
            .partition(Partition::from(r.partition.as_str()))
            .region(&r.region)
            .details(details);
        for (k, v) in &r.tags {
            b = b.tags(k, v);
        }
        b.build()
    });
    let provider = FindingProviderFields::builder()
        .confidence(i32::from(f.finding_provider_fields.confidence))
        .severity(
            FindingProviderSeverity::builder()
                .label(SeverityLabel::from(f.finding_provider_fields.severity.label.as_str()))
                .original(&f.finding_provider_fields.severity.original)
                .build(),
        )
        .set_types(Some(f.finding_provider_fields.types.clone()))
        .build();
    let mut b = AwsSecurityFinding::builder()
        .schema_version(&f.schema_version)
        .id(&f.id)
        .product_arn(&f.product_arn)
        .generator_id(&f.generator_id)
        .aws_account_id(&f.aws_account_id)
        .set_types(Some(f.types.clone()))
        .first_observed_at(&f.first_observed_at)
        .last_observed_at(&f.last_observed_at)
        .created_at(&f.created_at)
        .updated_at(&f.updated_at)
        .severity(
            Severity::builder()
                .label(severity)
                .original(&f.severity.original)
                .build(),
        )
        .confidence(i32::from(f.confidence))
        .title(&f.title)
        .description(&f.description)
        .set_product_fields(Some(
            f.product_fields.iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
        ))
        .set_resources(Some(resources.collect()))
        .workflow(
            Workflow::builder()
                .status(WorkflowStatus::from(f.workflow.status.as_str()))
                .build(),
        )
        .record_state(RecordState::from(f.record_state.as_str()))
        .finding_provider_fields(provider);
    if let Some(r) = &f.remediation {
        b = b.remediation(
            Remediation::builder()
                .recommendation(Recommendation::builder().text(&r.recommendation.text).build())
                .build(),
        );
    }
    b.build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transient_refusals_are_retryable_and_the_rest_are_not() {
        for code in [
            "InternalException",
            "ThrottlingException",
            "LimitExceededException",
            "TooManyRequestsException",
        ] {
            assert_eq!(refusal_retry(code), Retry::Retryable, "{code}");
        }
        for code in ["InvalidInput", "InvalidAccess", "AccessDeniedException", "SomethingNew"] {
            assert_eq!(refusal_retry(code), Retry::NotRetryable, "{code}");
        }
    }

    #[test]
    fn the_sdk_shape_carries_every_field() {
        let product = driftguard_core::securityhub::Product::default_for("aws", "eu-west-1", "123456789012");
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../events/driftguard/drift-resolved.terraform-apply.json");
        let event: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).expect("sample")).expect("JSON");
        let event = driftguard_core::securityhub::read_event(event, "123456789012").expect("reads");
        let asff = driftguard_core::securityhub::to_asff(&event, &product);
        let sdk = to_sdk(&asff);
        assert_eq!(sdk.id(), Some("driftguard/dg-1500731b7ee4b0bc"));
        assert_eq!(sdk.record_state(), Some(&RecordState::Archived));
        assert_eq!(sdk.workflow().and_then(|w| w.status()), Some(&WorkflowStatus::Resolved));
        assert_eq!(sdk.severity().and_then(|s| s.label()), Some(&SeverityLabel::High));
        assert_eq!(
            sdk.finding_provider_fields()
                .and_then(|p| p.severity())
                .and_then(|s| s.label()),
            Some(&SeverityLabel::High)
        );
        assert_eq!(sdk.types(), asff.types.as_slice());
        let r = &sdk.resources()[0];
        assert_eq!(r.r#type(), Some("AwsEc2SecurityGroup"));
        assert_eq!(r.partition(), Some(&Partition::Aws));
        assert_eq!(
            r.details().and_then(|d| d.other()).map(|o| o.len()),
            Some(asff.resources[0].details.other.len())
        );
        assert_eq!(sdk.product_fields().map(|p| p.len()), Some(asff.product_fields.len()));
        assert!(sdk.remediation().is_some());
        for (label, want) in [("LOW", SeverityLabel::Low), ("MEDIUM", SeverityLabel::Medium)] {
            assert_eq!(SeverityLabel::from(label), want, "the SDK knows {label}");
        }
    }
}
