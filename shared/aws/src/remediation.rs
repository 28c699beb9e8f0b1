//! `Remediation Requested` on the DriftGuard bus: [`EventBridgePublisher`] is also core's
//! [`RemediationPublisher`]. The detail is the request itself (`events/schema/remediation-requested.v1.json`).

use crate::error::{classify, AwsError};
use crate::eventbridge::{EventBridgePublisher, EVENT_SOURCE};
use crate::retry::{backoff, MAX_ATTEMPTS};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use driftguard_core::remediation::{RemediationPublisher, RemediationRequest, REQUESTED};
use std::future::Future;

impl EventBridgePublisher {
    async fn put_request(&self, request: &RemediationRequest) -> Result<(), AwsError> {
        let (client, bus) = self.parts();
        let detail = serde_json::to_string(request).unwrap_or_default();
        let entry = PutEventsRequestEntry::builder()
            .source(EVENT_SOURCE)
            .detail_type(REQUESTED)
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
            tracing::warn!(finding_id = %request.finding_id, attempt, code = %refused, "EventBridge refused the remediation request; retrying");
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(AwsError::PublishRejected {
            failed: vec![format!(
                "{}:{} ({refused})",
                request.finding_id,
                request.action.as_str()
            )],
        })
    }
}

impl RemediationPublisher for EventBridgePublisher {
    type Error = AwsError;

    fn request(&self, request: &RemediationRequest) -> impl Future<Output = Result<(), AwsError>> + Send {
        self.put_request(request)
    }
}
