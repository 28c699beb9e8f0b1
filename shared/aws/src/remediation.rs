//! Remediation events on the DriftGuard bus: [`EventBridgePublisher`] is also core's
//! [`RemediationPublisher`] (`Remediation Requested`, `events/schema/remediation-requested.v1.json`)
//! and publishes results ([`EventBridgePublisher::publish_result`]: `Remediation Completed` /
//! `Remediation Failed`, `events/schema/remediation-result.v1.json`), approvals (`Remediation
//! Approved`) and waiting requests ([`EventBridgePublisher::publish_pending`]: `Remediation Awaiting
//! Approval`, `events/schema/remediation-awaiting-approval.v1.json`).

use crate::error::{classify, AwsError};
use crate::eventbridge::{EventBridgePublisher, EVENT_SOURCE};
use crate::retry::{backoff, MAX_ATTEMPTS};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use driftguard_core::remediation::{
    RemediationApproval, RemediationPending, RemediationPublisher, RemediationRequest, RemediationResult, APPROVED,
    AWAITING_APPROVAL, REQUESTED,
};
use std::future::Future;

impl EventBridgePublisher {
    async fn put_request(&self, request: &RemediationRequest) -> Result<(), AwsError> {
        let detail = serde_json::to_string(request).unwrap_or_default();
        let label = format!("{}:{}", request.finding_id, request.action.as_str());
        self.put_detail(REQUESTED, detail, &label).await
    }

    /// Publishes a remediation result (`Remediation Completed` / `Remediation Failed`).
    pub async fn publish_result(&self, result: &RemediationResult) -> Result<(), AwsError> {
        let detail = serde_json::to_string(result).unwrap_or_default();
        self.put_detail(result.outcome.detail_type(), detail, &result.key())
            .await
    }

    async fn put_approval(&self, approval: &RemediationApproval) -> Result<(), AwsError> {
        let detail = serde_json::to_string(approval).unwrap_or_default();
        let label = format!("{}:{}:{}", approval.finding_id, approval.request_id, approval.approver);
        self.put_detail(APPROVED, detail, &label).await
    }

    /// Publishes that a request waits for approvals (`Remediation Awaiting Approval`).
    pub async fn publish_pending(&self, pending: &RemediationPending) -> Result<(), AwsError> {
        let detail = serde_json::to_string(pending).unwrap_or_default();
        self.put_detail(AWAITING_APPROVAL, detail, &pending.key()).await
    }

    async fn put_detail(&self, detail_type: &str, detail: String, label: &str) -> Result<(), AwsError> {
        let (client, bus) = self.parts();
        let entry = PutEventsRequestEntry::builder()
            .source(EVENT_SOURCE)
            .detail_type(detail_type)
            .detail(detail)
            .event_bus_name(bus)
            .build();
        let mut refused = String::new();
        for attempt in 0..MAX_ATTEMPTS {
            let out = client
                .put_events()
                .entries(entry.clone())
                .send()
                .await
                .map_err(|e| classify("EventBridge", "PutEvents", e))?;
            if out.failed_entry_count() == 0 {
                return Ok(());
            }
            refused = out
                .entries()
                .first()
                .and_then(|r| r.error_code())
                .unwrap_or("unknown")
                .to_owned();
            tracing::warn!(event = %label, attempt, code = %refused, "EventBridge refused the remediation event; retrying");
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(AwsError::PublishRejected {
            failed: vec![format!("{label} ({refused})")],
        })
    }
}

impl RemediationPublisher for EventBridgePublisher {
    type Error = AwsError;

    fn request(&self, request: &RemediationRequest) -> impl Future<Output = Result<(), AwsError>> + Send {
        self.put_request(request)
    }

    fn approve(&self, approval: &RemediationApproval) -> impl Future<Output = Result<(), AwsError>> + Send {
        self.put_approval(approval)
    }
}
