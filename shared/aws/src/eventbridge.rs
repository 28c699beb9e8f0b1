//! The EventBridge publisher: `Drift Detected` / `Drift Resolved` on a configurable bus.
//!
//! `detail` is `{"schema_version": 1, "key": "<finding id>:<transition>", "finding": {...}}`,
//! described by `events/schema/*.v1.json`. PutEvents takes at most 10 entries and 256 KB per
//! call; entries EventBridge refuses are retried with jittered backoff, then reported.

use crate::error::{classify, AwsError};
use crate::retry::{backoff, MAX_ATTEMPTS};
use aws_sdk_eventbridge::types::PutEventsRequestEntry;
use aws_sdk_eventbridge::Client;
use driftguard_core::ports::{DriftEvent, EventPublisher};
use std::future::Future;

/// `source` of every event DriftGuard publishes.
pub const EVENT_SOURCE: &str = "driftguard";
/// PutEvents' entry limit per call.
pub const MAX_BATCH_ENTRIES: usize = 10;
/// PutEvents' size limit per call (the sum of entry sizes).
pub const MAX_BATCH_BYTES: usize = 256 * 1024;
/// Findings are shrunk to this before publishing, so one entry always fits a call.
const MAX_DETAIL_BYTES: usize = 200 * 1024;

/// The `detail` JSON of an event.
pub fn detail_json(event: &DriftEvent) -> String {
    let mut finding = event.finding.clone();
    finding.fit_within(MAX_DETAIL_BYTES);
    let detail = serde_json::json!({ "schema_version": 1, "key": event.key, "finding": finding });
    detail.to_string()
}

/// An entry's size as EventBridge counts it: source, detail-type, detail and resources in
/// UTF-8 bytes, plus 14 bytes for the time field.
pub fn entry_size(source: &str, detail_type: &str, detail: &str, resources: &[String]) -> usize {
    14 + source.len() + detail_type.len() + detail.len() + resources.iter().map(String::len).sum::<usize>()
}

/// Publishes drift events to an EventBridge bus.
#[derive(Debug, Clone)]
pub struct EventBridgePublisher {
    client: Client,
    bus: String,
}

struct Prepared {
    key: String,
    size: usize,
    entry: PutEventsRequestEntry,
}

impl EventBridgePublisher {
    /// A publisher on `bus` (a name or an ARN).
    pub fn new(client: Client, bus: impl Into<String>) -> Self {
        EventBridgePublisher {
            client,
            bus: bus.into(),
        }
    }

    fn prepare(&self, event: &DriftEvent) -> Prepared {
        let detail = detail_json(event);
        let detail_type = event.kind.detail_type();
        let resources: Vec<String> = event.finding.resource.arn.iter().cloned().collect();
        let size = entry_size(EVENT_SOURCE, detail_type, &detail, &resources);
        let entry = PutEventsRequestEntry::builder()
            .source(EVENT_SOURCE)
            .detail_type(detail_type)
            .detail(detail)
            .event_bus_name(&self.bus)
            .set_resources((!resources.is_empty()).then_some(resources))
            .build();
        Prepared {
            key: event.key.clone(),
            size,
            entry,
        }
    }

    /// Splits entries into calls of at most 10 entries and 256 KB.
    fn batches(entries: Vec<Prepared>) -> Vec<Vec<Prepared>> {
        let mut out: Vec<Vec<Prepared>> = Vec::new();
        let mut bytes = 0;
        for e in entries {
            let full = out
                .last()
                .is_none_or(|b| b.len() == MAX_BATCH_ENTRIES || bytes + e.size > MAX_BATCH_BYTES);
            if full {
                out.push(Vec::new());
                bytes = 0;
            }
            bytes += e.size;
            if let Some(last) = out.last_mut() {
                last.push(e);
            }
        }
        out
    }

    async fn send(&self, batch: Vec<Prepared>) -> Result<usize, AwsError> {
        let total = batch.len();
        let mut pending = batch;
        let mut refused: Vec<String> = Vec::new();
        for attempt in 0..MAX_ATTEMPTS {
            let out = self
                .client
                .put_events()
                .set_entries(Some(pending.iter().map(|p| p.entry.clone()).collect()))
                .send()
                .await
                .map_err(|e| classify("EventBridge", "PutEvents", e))?;
            if out.failed_entry_count() == 0 {
                return Ok(total);
            }
            let results = out.entries();
            let mut retry = Vec::new();
            refused.clear();
            for (i, p) in pending.into_iter().enumerate() {
                if let Some(code) = results.get(i).and_then(|r| r.error_code()) {
                    refused.push(format!("{} ({code})", p.key));
                    retry.push(p);
                }
            }
            tracing::warn!(refused = retry.len(), attempt, "EventBridge refused entries; retrying");
            pending = retry;
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(AwsError::PublishRejected { failed: refused })
    }

    async fn publish_all(&self, events: &[DriftEvent]) -> Result<usize, AwsError> {
        let mut sent = 0;
        for batch in Self::batches(events.iter().map(|e| self.prepare(e)).collect()) {
            sent += self.send(batch).await?;
        }
        Ok(sent)
    }
}

impl EventBridgePublisher {
    /// The client and the bus, for the other event kinds published from this crate.
    pub(crate) fn parts(&self) -> (&Client, &str) {
        (&self.client, &self.bus)
    }
}

impl EventPublisher for EventBridgePublisher {
    type Error = AwsError;

    fn publish(&self, events: &[DriftEvent]) -> impl Future<Output = Result<usize, AwsError>> + Send {
        self.publish_all(events)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prepared(size: usize) -> Prepared {
        Prepared {
            key: "k".into(),
            size,
            entry: PutEventsRequestEntry::builder().build(),
        }
    }

    #[test]
    fn batches_respect_entry_and_byte_limits() {
        let sizes: Vec<Vec<usize>> = EventBridgePublisher::batches((0..25).map(|_| prepared(1_000)).collect())
            .iter()
            .map(|b| b.iter().map(|p| p.size).collect())
            .collect();
        assert_eq!(sizes.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 5]);
        let big = EventBridgePublisher::batches((0..5).map(|_| prepared(100 * 1024)).collect());
        assert_eq!(big.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 1]);
        for b in &big {
            assert!(b.iter().map(|p| p.size).sum::<usize>() <= MAX_BATCH_BYTES);
        }
    }
}
