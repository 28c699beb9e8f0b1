//! One invocation: an S3 `Object Created` / `Object Deleted` event from EventBridge, or the
//! scheduled `{"driftguard":"sync-all"}`.
//!
//! For each state file: read it (the exact version the event names, in a versioned bucket),
//! judge it against the revision on record ([`driftguard_core::sync::judge`]), record it with
//! the version bump (conditional on the record judged: a writer that loses a race judges
//! again), write its resource items, then resolve the open findings the new declaration
//! codifies ([`driftguard_core::codified`]) through the store and the bus, as every other
//! resolution. A refused revision (an older serial, a conflicting one) changes nothing and is
//! logged with both serials. One unreadable state never stops a full sync of the others.

use crate::config::Config;
use driftguard_aws::{
    get_object_version_within, list_states, object_exists, AwsError, DynamoClient, DynamoInventory, DynamoStore,
    EventBridgeClient, EventBridgePublisher, Retry, S3Client,
};
use driftguard_core::catalog::Catalog;
use driftguard_core::codified::{self, Codified};
use driftguard_core::finding::Status;
use driftguard_core::inventory::Inventory;
use driftguard_core::metrics::{self, Metrics};
use driftguard_core::ports::{Change, FindingStore, Query};
use driftguard_core::service::{self, ServiceError};
use driftguard_core::sync::{delta, judge, Revision, Verdict};
use driftguard_core::time::Timestamp;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::{json, Value};

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The input is not an event this function takes, or names a state it cannot read.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// Worth retrying (throttling, a 5xx, a timeout).
    #[error("{0}")]
    Retryable(String),
    /// Anything else.
    #[error("{0}")]
    NotRetryable(String),
}

impl From<SyncError> for Diagnostic {
    fn from(e: SyncError) -> Self {
        let error_type = match &e {
            SyncError::InvalidInput(_) => "InvalidInput",
            SyncError::Retryable(_) => "Retryable",
            SyncError::NotRetryable(_) => "NotRetryable",
        };
        Diagnostic {
            error_type: error_type.to_owned(),
            error_message: e.to_string(),
        }
    }
}

fn from_aws(context: &str, e: &AwsError) -> SyncError {
    match e.retry() {
        Retry::Retryable => SyncError::Retryable(format!("{context}: {e}")),
        Retry::NotRetryable => SyncError::NotRetryable(format!("{context}: {e}")),
    }
}

impl From<ServiceError<AwsError, AwsError>> for SyncError {
    fn from(e: ServiceError<AwsError, AwsError>) -> Self {
        match &e {
            ServiceError::Store { source, .. } | ServiceError::Publish { source, .. } => {
                from_aws(&e.to_string(), source)
            }
        }
    }
}

/// What was asked.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Request {
    /// A state object was written.
    Written(Object),
    /// A state object was deleted.
    Deleted(Object),
    /// Go through every state file under the configured locations.
    SyncAll,
}

/// The object an S3 event names.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Object {
    bucket: String,
    key: String,
    version_id: Option<String>,
    /// When S3 says it happened.
    time: Option<Timestamp>,
}

fn request(payload: &Value) -> Result<Request, SyncError> {
    if payload.get("driftguard").and_then(Value::as_str) == Some("sync-all") {
        return Ok(Request::SyncAll);
    }
    let bad = |why: String| SyncError::InvalidInput(why);
    if payload.get("source").and_then(Value::as_str) != Some("aws.s3") {
        return Err(bad(format!(
            "expected an S3 event from EventBridge (source \"aws.s3\") or {{\"driftguard\":\"sync-all\"}}, got source {}",
            payload.get("source").map_or("(none)".to_owned(), Value::to_string)
        )));
    }
    let detail = payload
        .get("detail")
        .ok_or_else(|| bad("the S3 event has no detail".into()))?;
    let text = |v: Option<&Value>, what: &str| {
        v.and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("the S3 event has no {what}")))
    };
    let object = Object {
        bucket: text(detail.pointer("/bucket/name"), "detail.bucket.name")?,
        key: text(detail.pointer("/object/key"), "detail.object.key")?,
        version_id: detail
            .pointer("/object/version-id")
            .and_then(Value::as_str)
            .filter(|v| !v.is_empty() && *v != "null")
            .map(str::to_owned),
        time: event_time(payload.get("time")),
    };
    match payload.get("detail-type").and_then(Value::as_str) {
        Some("Object Created") => Ok(Request::Written(object)),
        Some("Object Deleted") => Ok(Request::Deleted(object)),
        other => Err(bad(format!(
            "S3 detail-type {}: expected \"Object Created\" or \"Object Deleted\"",
            other.map_or("(none)".to_owned(), |t| format!("{t:?}"))
        ))),
    }
}

/// The event's `time`, RFC 3339 as EventBridge sends it.
fn event_time(v: Option<&Value>) -> Option<Timestamp> {
    v?.as_str().and_then(Timestamp::parse)
}

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}

/// What happened to one state file.
#[derive(Debug, Default, Serialize)]
pub struct StateReport {
    state: String,
    /// `first`, `newer`, `new_lineage`, `same`, `older`, `conflict`, `unordered`, `deleted`,
    /// `unreadable` or `ignored`.
    verdict: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    serial: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    recorded_serial: Option<u64>,
    added: usize,
    changed: usize,
    removed: usize,
    /// Open findings the new declaration codifies (resolved).
    codified: usize,
    /// Open findings of this state it cannot decide on (left to the sweep).
    undecided: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Adds what the state reports say to the invocation's metrics: revisions recorded or forgotten
/// (`StatesSynced`), refused or unreadable (`StatesRefused`), findings codified.
fn record(reports: &[StateReport], m: &mut Metrics) {
    for r in reports {
        match r.verdict.as_str() {
            "first" | "newer" | "new_lineage" | "deleted" => m.add(&metrics::STATES_SYNCED, 1),
            "older" | "conflict" | "unordered" | "unreadable" => m.add(&metrics::STATES_REFUSED, 1),
            _ => {}
        }
        m.add(&metrics::FINDINGS_CODIFIED, r.codified);
    }
}

/// Everything built once per container.
pub struct App {
    config: Config,
    s3: S3Client,
    inventory: DynamoInventory,
    store: DynamoStore,
    publisher: EventBridgePublisher,
    catalog: Catalog,
}

/// How many times a revision is judged again after losing a race for its record.
const RACES: usize = 5;

impl App {
    /// Builds the clients.
    pub fn new(aws: &aws_config::SdkConfig, config: Config) -> Self {
        App {
            s3: driftguard_aws::s3_client(aws, config.s3_path_style),
            inventory: DynamoInventory::new(DynamoClient::new(aws), &config.table),
            store: DynamoStore::new(DynamoClient::new(aws), &config.table),
            publisher: EventBridgePublisher::new(EventBridgeClient::new(aws), &config.event_bus),
            catalog: Catalog::new(),
            config,
        }
    }

    /// One invocation; its metrics are printed as one line whatever the outcome.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, SyncError> {
        let mut metrics = Metrics::new(metrics::IAC_SYNC);
        let started = std::time::Instant::now();
        let result = self.handle(event, &mut metrics).await;
        metrics.time("sync", started.elapsed());
        driftguard_aws::emit_metrics(&metrics);
        result
    }

    async fn handle(&self, event: LambdaEvent<Value>, metrics: &mut Metrics) -> Result<Value, SyncError> {
        let reports = match request(&event.payload)? {
            Request::Written(object) => {
                if !self.config.covers(&object.bucket, &object.key) {
                    tracing::warn!(bucket = %object.bucket, key = %object.key,
                        "Ignored: not a .tfstate object under the configured state locations");
                    vec![ignored(&object)]
                } else {
                    let report = self.sync(&object).await?;
                    if let Some(error) = &report.error {
                        record(std::slice::from_ref(&report), metrics);
                        // The event is kept (dead-letter queue) with the reason; the record stays.
                        return Err(SyncError::InvalidInput(error.clone()));
                    }
                    vec![report]
                }
            }
            Request::Deleted(object) => {
                if !self.config.covers(&object.bucket, &object.key) {
                    vec![ignored(&object)]
                } else if self.exists(&object).await? {
                    // Deleted, then written again before this event came: what is there stands.
                    tracing::info!(bucket = %object.bucket, key = %object.key,
                        "Deletion event for a key that exists again: syncing the current object");
                    let current = Object {
                        version_id: None,
                        ..object
                    };
                    vec![self.sync(&current).await?]
                } else {
                    vec![self.forget(&url(&object.bucket, &object.key)).await?]
                }
            }
            Request::SyncAll => self.sync_all().await?,
        };
        record(&reports, metrics);
        for r in &reports {
            tracing::info!(state = %r.state, verdict = %r.verdict, serial = ?r.serial, recorded_serial = ?r.recorded_serial,
                added = r.added, changed = r.changed, removed = r.removed, codified = r.codified,
                undecided = r.undecided, error = ?r.error, "State synced");
        }
        Ok(json!({ "states": reports }))
    }

    /// Every state file under the locations, and the forgetting of those on record that are
    /// gone. An unreadable state is reported and the others go on.
    async fn sync_all(&self) -> Result<Vec<StateReport>, SyncError> {
        let listed = list_states(&self.s3, &self.config.states)
            .await
            .map_err(|e| from_aws("listing the state locations", &e))?;
        let mut reports = Vec::new();
        for state in &listed {
            let object = Object {
                bucket: state.bucket.clone(),
                key: state.key.clone(),
                version_id: None,
                time: state.modified_ms.map(Timestamp),
            };
            reports.push(self.sync(&object).await?);
        }
        let recorded = self
            .inventory
            .states()
            .await
            .map_err(|e| from_aws("reading the state records", &e))?;
        for (origin, _) in recorded {
            let under_locations = origin
                .strip_prefix("s3://")
                .and_then(|rest| rest.split_once('/'))
                .is_some_and(|(bucket, key)| self.config.covers(bucket, key));
            if under_locations && !listed.iter().any(|l| l.url == origin) {
                reports.push(self.forget(&origin).await?);
            }
        }
        Ok(reports)
    }

    async fn sync(&self, object: &Object) -> Result<StateReport, SyncError> {
        let origin = url(&object.bucket, &object.key);
        let mut report = StateReport {
            state: origin.clone(),
            ..StateReport::default()
        };
        let read = get_object_version_within(
            &self.s3,
            &object.bucket,
            &object.key,
            object.version_id.as_deref(),
            self.config.document_limit(),
        )
        .await;
        let (bytes, etag) = match read {
            Ok(got) => got,
            Err(e @ AwsError::TooLarge { .. }) => return Ok(unreadable(report, e.to_string())),
            Err(e) if e.retry() == Retry::Retryable => return Err(from_aws(&format!("reading {origin}"), &e)),
            Err(e) => return Ok(unreadable(report, e.about(&origin).to_string())),
        };
        let mut inventory = Inventory::new();
        if let Err(e) = inventory.add_state(&origin, &bytes) {
            return Ok(unreadable(report, e.to_string()));
        }
        let etag = etag.unwrap_or_default();
        let Some(revision) = Revision::of(
            &inventory,
            &origin,
            etag.trim_matches('"'),
            object.version_id.as_deref(),
        ) else {
            return Ok(unreadable(report, format!("{origin}: the state did not load")));
        };
        report.serial = revision.serial;
        let aws = |what: &str| {
            let what = format!("{what} {origin}");
            move |e: AwsError| from_aws(&what, &e)
        };
        for _ in 0..RACES {
            let recorded = self
                .inventory
                .recorded(&origin)
                .await
                .map_err(aws("reading the record of"))?;
            report.recorded_serial = recorded.as_ref().and_then(|r| r.serial);
            let verdict = judge(recorded.as_ref(), &revision);
            report.verdict = verdict.as_str().to_owned();
            match verdict {
                Verdict::Older { recorded, written } => {
                    tracing::warn!(state = %origin, recorded, written,
                        "Refused: an older serial than the one on record (a late notification or a restored backup)");
                    return Ok(report);
                }
                Verdict::Conflict { serial } => {
                    tracing::warn!(state = %origin, serial,
                        "Refused: the same serial as the one on record with different content");
                    return Ok(report);
                }
                Verdict::NewLineage { ref was } => {
                    tracing::warn!(state = %origin, was = ?was, now = ?revision.lineage,
                        "A new lineage under this key: the state was started over or migrated; recorded");
                }
                _ => {}
            }
            if verdict.accepts()
                && !self
                    .inventory
                    .record(&revision, recorded.as_ref())
                    .await
                    .map_err(aws("recording"))?
            {
                continue; // Another writer changed the record: judge again.
            }
            // Accepted, or the same revision again (a retry puts right what a failure left).
            let d = delta(
                &self
                    .inventory
                    .digests(&origin)
                    .await
                    .map_err(aws("reading the resources of"))?,
                &revision,
            );
            (report.added, report.changed, report.removed) = (d.added.len(), d.changed.len(), d.removed.len());
            self.inventory
                .apply_delta(&revision, &d)
                .await
                .map_err(aws("writing the resources of"))?;
            let time = object.time.unwrap_or_else(now);
            (report.codified, report.undecided) = self.resolve_codified(&inventory, &revision, time).await?;
            return Ok(report);
        }
        Err(SyncError::Retryable(format!(
            "{origin}: the record kept changing under concurrent writers"
        )))
    }

    /// Resolves the open findings the new declaration codifies. Returns (codified, undecided).
    async fn resolve_codified(
        &self,
        inventory: &Inventory,
        revision: &Revision,
        time: Timestamp,
    ) -> Result<(usize, usize), SyncError> {
        let open = self
            .store
            .list(&Query {
                status: Some(Status::Open),
                ..Query::default()
            })
            .await
            .map_err(|e| from_aws("listing open findings", &e))?;
        let mut changes = Vec::new();
        let mut undecided = 0;
        for f in &open {
            match codified::judge(f, inventory, &revision.origin, &self.catalog) {
                Codified::Yes => changes.push(Change::Iac(codified::resolution(
                    f,
                    &revision.origin,
                    revision.serial,
                    time,
                ))),
                Codified::Undecided => undecided += 1,
                Codified::No => {}
            }
        }
        for change in &changes {
            let Change::Iac(iac) = change else { continue };
            service::handle_change(&self.store, &self.publisher, &iac.event_id, change).await?;
            tracing::info!(finding = ?iac.finding, state = %revision.origin, serial = ?revision.serial,
                "Resolved as codified: the new declaration holds what the finding found");
        }
        Ok((changes.len(), undecided))
    }

    async fn exists(&self, object: &Object) -> Result<bool, SyncError> {
        object_exists(&self.s3, &object.bucket, &object.key)
            .await
            .map_err(|e| from_aws(&format!("checking {}", url(&object.bucket, &object.key)), &e))
    }

    async fn forget(&self, origin: &str) -> Result<StateReport, SyncError> {
        let mut report = StateReport {
            state: origin.to_owned(),
            verdict: "deleted".into(),
            ..StateReport::default()
        };
        for _ in 0..RACES {
            let Some(recorded) = self
                .inventory
                .recorded(origin)
                .await
                .map_err(|e| from_aws(&format!("reading the record of {origin}"), &e))?
            else {
                return Ok(report);
            };
            report.recorded_serial = recorded.serial;
            report.removed = recorded.resources;
            if self
                .inventory
                .forget(origin, &recorded)
                .await
                .map_err(|e| from_aws(&format!("forgetting {origin}"), &e))?
            {
                tracing::warn!(state = %origin, resources = recorded.resources,
                    "State file deleted: its resources are no longer declared");
                return Ok(report);
            }
        }
        Err(SyncError::Retryable(format!(
            "{origin}: the record kept changing under concurrent writers"
        )))
    }
}

fn url(bucket: &str, key: &str) -> String {
    format!("s3://{bucket}/{key}")
}

fn ignored(object: &Object) -> StateReport {
    StateReport {
        state: url(&object.bucket, &object.key),
        verdict: "ignored".into(),
        ..StateReport::default()
    }
}

fn unreadable(mut report: StateReport, error: String) -> StateReport {
    tracing::error!(state = %report.state, error = %error,
        "Terraform state unreadable; the revision on record stays");
    report.verdict = "unreadable".into();
    report.error = Some(error);
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../events/s3/object-created.tfstate.json"
        );
        serde_json::from_slice(&std::fs::read(path).expect("sample event")).expect("JSON")
    }

    #[test]
    fn the_sample_s3_event_names_its_object_version_and_time() {
        let Request::Written(o) = request(&sample()).expect("an S3 event") else {
            panic!("expected Object Created");
        };
        assert_eq!(
            (o.bucket.as_str(), o.key.as_str()),
            ("acme-tfstate", "env/prod/network.tfstate")
        );
        assert_eq!(o.version_id.as_deref(), Some("Ks3hXz0N1uO9Qw7mYcR2vB5tL8eA4dGj"));
        assert_eq!(o.time, Timestamp::parse("2026-11-20T10:12:31Z"));
    }

    #[test]
    fn other_inputs_are_named_in_the_error() {
        assert_eq!(
            request(&json!({"driftguard": "sync-all"})).expect("sync-all"),
            Request::SyncAll
        );
        let mut deleted = sample();
        deleted["detail-type"] = json!("Object Deleted");
        assert!(matches!(request(&deleted), Ok(Request::Deleted(_))));
        let mut tags = sample();
        tags["detail-type"] = json!("Object Tags Added");
        let err = request(&tags).expect_err("not a write").to_string();
        assert!(err.contains("\"Object Tags Added\""), "{err}");
        let err = request(&json!({"source": "aws.ec2"})).expect_err("not S3").to_string();
        assert!(err.contains("\"aws.ec2\""), "{err}");
        let mut keyless = sample();
        keyless["detail"]["object"]
            .as_object_mut()
            .expect("object")
            .remove("key");
        assert!(request(&keyless)
            .expect_err("no key")
            .to_string()
            .contains("detail.object.key"));
    }
}
