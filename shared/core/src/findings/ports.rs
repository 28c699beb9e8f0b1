//! Ports: what the pipeline needs from the outside world, as traits adapters implement —
//! a [`FindingStore`] and an [`EventPublisher`] — plus [`MemoryStore`], the in-memory
//! implementation used by tests and benchmarks.
//!
//! Store semantics every implementation must share (a conformance suite checks them):
//! writes are idempotent on the finding id (itself derived from the CloudTrail `eventID`);
//! an IaC change resolves open findings on its resource that are older than it; a finding that
//! arrives after a newer IaC change on its resource is stored resolved. The lifecycle rules
//! live in [`crate::findings::finding`], so stores only persist.
//!
//! The outbox: every transition `apply` reports is also recorded, in the same write that caused
//! it, as an unpublished [`DriftEvent`] under the change's [`Change::origin`]. The service drains
//! it ([`FindingStore::unpublished`], then [`FindingStore::mark_published`] per event), so a
//! publish that fails after the store write, or an `apply` that fails after some of its writes,
//! loses nothing: the retry publishes what is still in the outbox.

use crate::drift::score::Severity;
use crate::findings::finding::{self, Finding, FindingKind, IacChange, ResourceRecord, Status, Transition};
use crate::findings::join::{self, ConfigObservation};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

/// One write for a store.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "change", rename_all = "snake_case")]
pub enum Change {
    /// Record a finding (idempotent on its id).
    Finding(Box<Finding>),
    /// Record an IaC change on a resource (resolves older open findings).
    Iac(IacChange),
    /// Record an AWS Config item change (joins the call that caused it, or stands alone).
    Config(Box<ConfigObservation>),
}

impl Change {
    /// The resource key the change is about.
    pub fn resource_key(&self) -> String {
        match self {
            Change::Finding(f) => f.resource.key(),
            Change::Iac(i) => i.resource_key.clone(),
            Change::Config(o) => o.resource.key(),
        }
    }

    /// The natural key of the input the change came from (the CloudTrail `eventID`, or the
    /// Config observation id): the outbox groups the change's unpublished events under it.
    pub fn origin(&self) -> &str {
        match self {
            Change::Finding(f) => &f.call.event_id,
            Change::Iac(i) => &i.event_id,
            Change::Config(o) => &o.evidence.observation,
        }
    }
}

/// Which findings to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    /// Only this status.
    pub status: Option<Status>,
    /// Only at least this severity.
    pub min_severity: Option<Severity>,
    /// Only this kind.
    pub kind: Option<FindingKind>,
    /// At most this many (newest first).
    pub limit: Option<usize>,
}

impl Query {
    /// Whether a finding passes the filter.
    pub fn admits(&self, f: &Finding) -> bool {
        self.status.is_none_or(|s| s == f.status)
            && self.min_severity.is_none_or(|m| f.severity >= m)
            && self.kind.is_none_or(|k| k == f.kind)
    }
}

/// Where findings live.
pub trait FindingStore {
    /// The adapter's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Applies a batch of changes in order and returns the lifecycle transitions they caused
    /// (new findings, resolved findings). Replaying a batch returns no transitions.
    fn apply(&self, batch: &[Change]) -> impl Future<Output = Result<Vec<Transition>, Self::Error>> + Send;

    /// One finding by id.
    fn get(&self, id: &str) -> impl Future<Output = Result<Option<Finding>, Self::Error>> + Send;

    /// Findings matching `query`, newest first.
    fn list(&self, query: &Query) -> impl Future<Output = Result<Vec<Finding>, Self::Error>> + Send;

    /// Whether an event (by its idempotency key, the CloudTrail `eventID`) was fully processed:
    /// stored and its transitions published.
    fn processed(&self, event_key: &str) -> impl Future<Output = Result<bool, Self::Error>> + Send;

    /// Records that an event was fully processed (stores with a TTL may forget it later).
    fn mark_processed(&self, event_key: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The outbox: drift events that `apply` recorded for changes from `origin`
    /// ([`Change::origin`]) and that are not yet marked published, in the order they happened.
    /// A transition recorded twice (by a retried write) is one event, under its key.
    fn unpublished(&self, origin: &str) -> impl Future<Output = Result<Vec<DriftEvent>, Self::Error>> + Send;

    /// Removes a published event (by its key) from `origin`'s outbox; removing one that is not
    /// there is not an error.
    fn mark_published(&self, origin: &str, key: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The kinds of event DriftGuard publishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DriftEventKind {
    /// `Drift Detected`.
    #[serde(rename = "Drift Detected")]
    Detected,
    /// `Drift Resolved`.
    #[serde(rename = "Drift Resolved")]
    Resolved,
}

impl DriftEventKind {
    /// The EventBridge detail-type.
    pub fn detail_type(self) -> &'static str {
        match self {
            DriftEventKind::Detected => "Drift Detected",
            DriftEventKind::Resolved => "Drift Resolved",
        }
    }
}

/// An event to publish: a transition, with the idempotency key consumers dedupe on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DriftEvent {
    /// Detail-type.
    pub kind: DriftEventKind,
    /// `<finding id>:<kind>`, with `:r<revision>` for revisions after the first: the same
    /// transition of the same revision always has the same key.
    pub key: String,
    /// The finding after the transition.
    pub finding: Finding,
}

impl From<Transition> for DriftEvent {
    fn from(t: Transition) -> Self {
        let (kind, finding) = match t {
            Transition::Detected(f) => (DriftEventKind::Detected, *f),
            Transition::Resolved(f) => (DriftEventKind::Resolved, *f),
        };
        let suffix = match kind {
            DriftEventKind::Detected => "detected",
            DriftEventKind::Resolved => "resolved",
        };
        let revision = if finding.revision > 1 {
            format!(":r{}", finding.revision)
        } else {
            String::new()
        };
        DriftEvent {
            key: format!("{}:{suffix}{revision}", finding.id),
            kind,
            finding,
        }
    }
}

/// Where drift events go.
pub trait EventPublisher {
    /// The adapter's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Publishes events; returns how many were accepted.
    fn publish(&self, events: &[DriftEvent]) -> impl Future<Output = Result<usize, Self::Error>> + Send;
}

/// The lifecycle every store applies, on plain maps: shared by [`MemoryStore`] and usable by
/// adapters that load the affected records, apply, and write back.
pub fn apply_to_maps(
    findings: &mut BTreeMap<String, Finding>,
    resources: &mut BTreeMap<String, ResourceRecord>,
    batch: &[Change],
) -> Vec<Transition> {
    let mut out = Vec::new();
    for change in batch {
        match change {
            Change::Finding(f) => {
                let key = f.resource.key();
                let record = resources.entry(key).or_default();
                if let Some(stored) = finding::merge_incoming(findings.get(&f.id), (**f).clone(), record) {
                    join::on_call(findings, record, stored, &mut out);
                }
            }
            Change::Config(obs) => {
                let record = resources.entry(obs.resource.key()).or_default();
                join::on_config(findings, record, obs, &mut out);
            }
            Change::Iac(iac) => {
                let record = resources.entry(iac.resource_key.clone()).or_default();
                if !record.remember(iac) {
                    continue;
                }
                for id in &record.findings {
                    if let Some(f) = findings.get_mut(id) {
                        if f.resolve_with(iac) {
                            out.push(Transition::Resolved(Box::new(f.clone())));
                        }
                    }
                }
            }
        }
    }
    out
}

/// Sorts findings newest first (by event time, then id) and applies a query.
pub fn select(mut all: Vec<Finding>, query: &Query) -> Vec<Finding> {
    all.retain(|f| query.admits(f));
    all.sort_by(|a, b| b.call.time.cmp(&a.call.time).then_with(|| a.id.cmp(&b.id)));
    if let Some(limit) = query.limit {
        all.truncate(limit);
    }
    all
}

/// An in-memory store and publisher.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<MemoryState>,
}

#[derive(Debug, Default)]
struct MemoryState {
    findings: BTreeMap<String, Finding>,
    resources: BTreeMap<String, ResourceRecord>,
    published: Vec<DriftEvent>,
    processed: std::collections::BTreeSet<String>,
    /// The outbox: (origin, event), in the order recorded.
    unpublished: Vec<(String, DriftEvent)>,
}

/// Records `transitions` caused by a change from `origin` in an outbox list, once per key (a
/// transition recorded again replaces the earlier copy in place).
pub fn record_unpublished(outbox: &mut Vec<(String, DriftEvent)>, origin: &str, transitions: &[Transition]) {
    for t in transitions {
        let event = DriftEvent::from(t.clone());
        match outbox.iter_mut().find(|(o, e)| o == origin && e.key == event.key) {
            Some(slot) => slot.1 = event,
            None => outbox.push((origin.to_owned(), event)),
        }
    }
}

/// The in-memory store's error (a poisoned lock).
#[derive(Debug, thiserror::Error)]
#[error("in-memory store lock poisoned")]
pub struct Poisoned;

impl MemoryStore {
    /// Events published so far.
    pub fn published(&self) -> Vec<DriftEvent> {
        self.state.lock().map(|s| s.published.clone()).unwrap_or_default()
    }
}

impl FindingStore for MemoryStore {
    type Error = Poisoned;

    fn apply(&self, batch: &[Change]) -> impl Future<Output = Result<Vec<Transition>, Poisoned>> + Send {
        let result = self.state.lock().map_err(|_| Poisoned).map(|mut s| {
            let MemoryState {
                findings,
                resources,
                unpublished,
                ..
            } = &mut *s;
            let mut all = Vec::new();
            for change in batch {
                let transitions = apply_to_maps(findings, resources, std::slice::from_ref(change));
                record_unpublished(unpublished, change.origin(), &transitions);
                all.extend(transitions);
            }
            all
        });
        std::future::ready(result)
    }

    fn get(&self, id: &str) -> impl Future<Output = Result<Option<Finding>, Poisoned>> + Send {
        std::future::ready(
            self.state
                .lock()
                .map_err(|_| Poisoned)
                .map(|s| s.findings.get(id).cloned()),
        )
    }

    fn list(&self, query: &Query) -> impl Future<Output = Result<Vec<Finding>, Poisoned>> + Send {
        let all = self
            .state
            .lock()
            .map_err(|_| Poisoned)
            .map(|s| s.findings.values().cloned().collect());
        std::future::ready(all.map(|all| select(all, query)))
    }

    fn processed(&self, event_key: &str) -> impl Future<Output = Result<bool, Poisoned>> + Send {
        std::future::ready(
            self.state
                .lock()
                .map_err(|_| Poisoned)
                .map(|s| s.processed.contains(event_key)),
        )
    }

    fn mark_processed(&self, event_key: &str) -> impl Future<Output = Result<(), Poisoned>> + Send {
        std::future::ready(self.state.lock().map_err(|_| Poisoned).map(|mut s| {
            s.processed.insert(event_key.to_owned());
        }))
    }

    fn unpublished(&self, origin: &str) -> impl Future<Output = Result<Vec<DriftEvent>, Poisoned>> + Send {
        std::future::ready(self.state.lock().map_err(|_| Poisoned).map(|s| {
            s.unpublished
                .iter()
                .filter(|(o, _)| o == origin)
                .map(|(_, e)| e.clone())
                .collect()
        }))
    }

    fn mark_published(&self, origin: &str, key: &str) -> impl Future<Output = Result<(), Poisoned>> + Send {
        std::future::ready(self.state.lock().map_err(|_| Poisoned).map(|mut s| {
            s.unpublished.retain(|(o, e)| !(o == origin && e.key == key));
        }))
    }
}

impl EventPublisher for MemoryStore {
    type Error = Poisoned;

    /// Appends to [`MemoryStore::published`] (once per key) and takes the events out of the
    /// store's own outbox.
    fn publish(&self, events: &[DriftEvent]) -> impl Future<Output = Result<usize, Poisoned>> + Send {
        let result = self.state.lock().map_err(|_| Poisoned).map(|mut s| {
            s.unpublished.retain(|(_, u)| !events.iter().any(|e| e.key == u.key));
            for e in events {
                if !s.published.iter().any(|p| p.key == e.key) {
                    s.published.push(e.clone());
                }
            }
            events.len()
        });
        std::future::ready(result)
    }
}
