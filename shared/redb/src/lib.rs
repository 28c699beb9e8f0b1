//! The embedded store: findings, per-resource records and the event outbox in one redb file.
//!
//! It implements core's [`FindingStore`] and [`EventPublisher`] ports, so the CLI (and tests)
//! run the same lifecycle as the DynamoDB store without an AWS account. Every [`FindingStore::apply`]
//! batch is one write transaction: replays are cheap and a crash never leaves half a batch.
//!
//! Two queues of drift events: `unpublished` (the store's outbox: transitions `apply` recorded,
//! written in the same transaction, until they are marked published) and `outbox` (where this
//! store, as the CLI's [`EventPublisher`], puts what it publishes; publishing an event also takes
//! it out of `unpublished`).
//!
//! It also keeps the labels and fitted weights versions of the learning stage ([`LearningStore`]).

use driftguard_core::finding::{Finding, ResourceRecord, Transition};
use driftguard_core::label::Label;
use driftguard_core::learn::ports::{version_name, LearningStore, WeightsVersion};
use driftguard_core::ports::{self, Change, DriftEvent, EventPublisher, FindingStore, Query};
use driftguard_core::remediation::audit::AuditEntry;
use redb::{Database, ReadableTable, ReadableTableMetadata, TableDefinition};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;

const FINDINGS: TableDefinition<&str, &[u8]> = TableDefinition::new("findings");
const RESOURCES: TableDefinition<&str, &[u8]> = TableDefinition::new("resources");
const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
const PUBLISHED: TableDefinition<&str, u64> = TableDefinition::new("published_keys");
const PROCESSED: TableDefinition<&str, ()> = TableDefinition::new("processed_events");
/// `<origin>\n<event key>` → `[order, event]`.
const UNPUBLISHED: TableDefinition<&str, &[u8]> = TableDefinition::new("unpublished");
/// Remediation trails: `<finding id>#<entry number, 8 digits>` → the audit entry as JSON.
const TRAIL: TableDefinition<&str, &[u8]> = TableDefinition::new("remediation_trail");
/// `<finding id>\n<source>:<user>` → the label.
const LABELS: TableDefinition<&str, &[u8]> = TableDefinition::new("labels");
/// Version number → the fitted weights.
const WEIGHTS: TableDefinition<u32, &[u8]> = TableDefinition::new("weights");
/// `current` → the current weights version (0: the hand-set weights).
const WEIGHTS_CURRENT: TableDefinition<&str, u32> = TableDefinition::new("weights_current");
/// `<account>/<region>` → the last complete sweep of the scope (`driftguard scan`), as JSON.
const SWEEPS: TableDefinition<&str, &[u8]> = TableDefinition::new("sweeps");

/// The last complete sweep of one scope: what `driftguard scan` read there, its IaC coverage
/// per account and type included (the table's `SWEEP#…/LAST` item, on the embedded store).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RecordedSweep {
    /// The account and region swept.
    pub scope: driftguard_core::sweep::Scope,
    /// When the run finished.
    pub finished_at: driftguard_core::time::Timestamp,
    /// What it read, compared and raised.
    pub report: driftguard_core::sweep::SweepReport,
}

fn unpublished_key(origin: &str, key: &str) -> String {
    format!("{origin}\n{key}")
}

/// A position for outbox entries: nanoseconds since the epoch (entries of one origin are written
/// by one delivery after another, so the clock orders them).
fn order_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Errors from the embedded store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or written (boxed: redb's error is large).
    #[error("embedded store: {0}")]
    Redb(Box<redb::Error>),
    /// A stored record is not valid JSON (the file was written by something else).
    #[error("embedded store: corrupt record {key}: {source}")]
    Corrupt {
        /// Key of the record.
        key: String,
        /// Parse error.
        source: serde_json::Error,
    },
    /// A record that was asked for is not there.
    #[error("embedded store: {0}")]
    NotFound(String),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(impl From<$t> for StoreError { fn from(e: $t) -> Self { StoreError::Redb(Box::new(e.into())) } })*};
}
from_redb!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// A findings store and outbox in one redb file.
#[derive(Debug)]
pub struct EmbeddedStore {
    db: Database,
}

fn decode<T: serde::de::DeserializeOwned>(key: &str, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|source| StoreError::Corrupt {
        key: key.to_owned(),
        source,
    })
}

fn encode<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Serialising our own plain data types to a Vec cannot fail.
    serde_json::to_vec(value).unwrap_or_default()
}

impl EmbeddedStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(FINDINGS)?;
        txn.open_table(RESOURCES)?;
        txn.open_table(OUTBOX)?;
        txn.open_table(PUBLISHED)?;
        txn.open_table(PROCESSED)?;
        txn.open_table(UNPUBLISHED)?;
        txn.open_table(TRAIL)?;
        txn.open_table(LABELS)?;
        txn.open_table(WEIGHTS)?;
        txn.open_table(WEIGHTS_CURRENT)?;
        txn.open_table(SWEEPS)?;
        txn.commit()?;
        Ok(EmbeddedStore { db })
    }

    /// Keeps `sweep` as its scope's last complete sweep (replacing the one before).
    pub fn record_sweep(&self, sweep: &RecordedSweep) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(SWEEPS)?
            .insert(sweep.scope.key().as_str(), encode(sweep).as_slice())?;
        txn.commit()?;
        Ok(())
    }

    /// The last complete sweep of every scope swept, by scope.
    pub fn sweeps(&self) -> Result<Vec<RecordedSweep>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(SWEEPS)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push(decode(&format!("sweeps/{}", k.value()), v.value())?);
        }
        Ok(out)
    }

    /// Appends an entry to a finding's remediation trail (the CLI's own remediations).
    pub fn append_trail(&self, finding_id: &str, entry: &AuditEntry) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut trail = txn.open_table(TRAIL)?;
            let prefix = format!("{finding_id}#");
            let next = trail
                .range(prefix.as_str()..)?
                .filter_map(Result::ok)
                .take_while(|(k, _)| k.value().starts_with(&prefix))
                .count();
            let key = format!("{prefix}{next:08}");
            trail.insert(key.as_str(), encode(entry).as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    /// A finding's remediation trail, in order.
    pub fn trail(&self, finding_id: &str) -> Result<Vec<AuditEntry>, StoreError> {
        let txn = self.db.begin_read()?;
        let trail = txn.open_table(TRAIL)?;
        let prefix = format!("{finding_id}#");
        let mut out = Vec::new();
        for row in trail.range(prefix.as_str()..)? {
            let (k, v) = row?;
            if !k.value().starts_with(&prefix) {
                break;
            }
            out.push(decode(k.value(), v.value())?);
        }
        Ok(out)
    }

    fn apply_sync(&self, batch: &[Change]) -> Result<Vec<Transition>, StoreError> {
        let txn = self.db.begin_write()?;
        let transitions = {
            let mut findings_t = txn.open_table(FINDINGS)?;
            let mut resources_t = txn.open_table(RESOURCES)?;
            // Load what the batch touches, apply core's lifecycle, write back what changed.
            let mut findings: BTreeMap<String, Finding> = BTreeMap::new();
            let mut resources: BTreeMap<String, ResourceRecord> = BTreeMap::new();
            for change in batch {
                let key = match change {
                    Change::Finding(f) => {
                        if let Some(v) = findings_t.get(f.id.as_str())? {
                            findings.insert(f.id.clone(), decode(&f.id, v.value())?);
                        }
                        f.resource.key()
                    }
                    Change::Iac(iac) => iac.resource_key.clone(),
                    Change::Config(obs) => {
                        if let Some(f) = &obs.finding {
                            if let Some(v) = findings_t.get(f.id.as_str())? {
                                findings.insert(f.id.clone(), decode(&f.id, v.value())?);
                            }
                        }
                        obs.resource.key()
                    }
                };
                if resources.contains_key(&key) {
                    continue;
                }
                if let Some(v) = resources_t.get(key.as_str())? {
                    let record: ResourceRecord = decode(&key, v.value())?;
                    for id in &record.findings {
                        if !findings.contains_key(id) {
                            if let Some(v) = findings_t.get(id.as_str())? {
                                findings.insert(id.clone(), decode(id, v.value())?);
                            }
                        }
                    }
                    resources.insert(key, record);
                }
            }
            let before_findings = findings.clone();
            let before_resources = resources.clone();
            let mut unpublished_t = txn.open_table(UNPUBLISHED)?;
            let mut transitions = Vec::new();
            let order = order_now();
            for change in batch {
                let caused = ports::apply_to_maps(&mut findings, &mut resources, std::slice::from_ref(change));
                for (i, t) in caused.iter().enumerate() {
                    let event = DriftEvent::from(t.clone());
                    let key = unpublished_key(change.origin(), &event.key);
                    let order = order + (transitions.len() + i) as u64;
                    unpublished_t.insert(key.as_str(), encode(&(order, event)).as_slice())?;
                }
                transitions.extend(caused);
            }
            for (id, f) in &findings {
                if before_findings.get(id) != Some(f) {
                    findings_t.insert(id.as_str(), encode(f).as_slice())?;
                }
            }
            for (key, r) in &resources {
                if before_resources.get(key) != Some(r) {
                    resources_t.insert(key.as_str(), encode(r).as_slice())?;
                }
            }
            transitions
        };
        txn.commit()?;
        Ok(transitions)
    }

    fn get_sync(&self, id: &str) -> Result<Option<Finding>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(FINDINGS)?;
        let found = t.get(id)?;
        found.map(|v| decode(id, v.value())).transpose()
    }

    fn list_sync(&self, query: &Query) -> Result<Vec<Finding>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(FINDINGS)?;
        let mut all = Vec::with_capacity(t.len()? as usize);
        for row in t.iter()? {
            let (k, v) = row?;
            let f: Finding = decode(k.value(), v.value())?;
            if query.admits(&f) {
                all.push(f);
            }
        }
        Ok(ports::select(all, query))
    }

    fn publish_sync(&self, events: &[DriftEvent]) -> Result<usize, StoreError> {
        let txn = self.db.begin_write()?;
        let mut accepted = 0;
        {
            let mut outbox = txn.open_table(OUTBOX)?;
            let mut keys = txn.open_table(PUBLISHED)?;
            let mut next = outbox.last()?.map_or(0, |(k, _)| k.value() + 1);
            let mut unpublished = txn.open_table(UNPUBLISHED)?;
            let keys_now: std::collections::HashSet<&str> = events.iter().map(|e| e.key.as_str()).collect();
            let mut done = Vec::new();
            for row in unpublished.iter()? {
                let (k, _) = row?;
                let k = k.value();
                if k.rsplit('\n').next().is_some_and(|key| keys_now.contains(key)) {
                    done.push(k.to_owned());
                }
            }
            for k in done {
                unpublished.remove(k.as_str())?;
            }
            for e in events {
                if keys.get(e.key.as_str())?.is_some() {
                    continue;
                }
                outbox.insert(next, encode(e).as_slice())?;
                keys.insert(e.key.as_str(), next)?;
                next += 1;
                accepted += 1;
            }
        }
        txn.commit()?;
        Ok(accepted)
    }

    /// Every event in the outbox, in publication order.
    pub fn outbox(&self) -> Result<Vec<DriftEvent>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(OUTBOX)?;
        let mut out = Vec::new();
        for row in t.iter()? {
            let (k, v) = row?;
            out.push(decode(&format!("outbox/{}", k.value()), v.value())?);
        }
        Ok(out)
    }
}

impl EmbeddedStore {
    fn put_label_sync(&self, label: &Label) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut labels = txn.open_table(LABELS)?;
            let key = format!("{}\n{}", label.finding_id, label.key());
            labels.insert(key.as_str(), encode(label).as_slice())?;
        }
        txn.commit()?;
        Ok(())
    }

    fn labels_sync(&self, finding_id: Option<&str>) -> Result<Vec<Label>, StoreError> {
        let txn = self.db.begin_read()?;
        let labels = txn.open_table(LABELS)?;
        let prefix = finding_id.map(|f| format!("{f}\n")).unwrap_or_default();
        let mut out = Vec::new();
        for row in labels.range(prefix.as_str()..)? {
            let (k, v) = row?;
            if !k.value().starts_with(&prefix) {
                break;
            }
            out.push(decode(k.value(), v.value())?);
        }
        Ok(out)
    }

    fn weights_sync(&self) -> Result<(Vec<WeightsVersion>, u32), StoreError> {
        let txn = self.db.begin_read()?;
        let versions = txn.open_table(WEIGHTS)?;
        let mut out = Vec::new();
        for row in versions.iter()? {
            let (k, v) = row?;
            out.push(decode(&format!("weights v{}", k.value()), v.value())?);
        }
        let current = txn
            .open_table(WEIGHTS_CURRENT)?
            .get("current")?
            .map_or(0, |v| v.value());
        Ok((out, current))
    }

    fn add_weights_sync(&self, mut version: WeightsVersion) -> Result<WeightsVersion, StoreError> {
        let txn = self.db.begin_write()?;
        {
            let mut versions = txn.open_table(WEIGHTS)?;
            version.number = versions.last()?.map_or(1, |(k, _)| k.value() + 1);
            version.weights.version = version_name(version.number);
            versions.insert(version.number, encode(&version).as_slice())?;
            txn.open_table(WEIGHTS_CURRENT)?.insert("current", version.number)?;
        }
        txn.commit()?;
        Ok(version)
    }

    fn use_weights_sync(&self, number: Option<u32>) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        {
            if let Some(n) = number {
                if txn.open_table(WEIGHTS)?.get(n)?.is_none() {
                    return Err(StoreError::NotFound(format!("no weights version v{n}")));
                }
            }
            txn.open_table(WEIGHTS_CURRENT)?
                .insert("current", number.unwrap_or(0))?;
        }
        txn.commit()?;
        Ok(())
    }
}

impl LearningStore for EmbeddedStore {
    type Error = StoreError;

    fn put_label(&self, label: &Label) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.put_label_sync(label))
    }

    fn labels_of(&self, finding_id: &str) -> impl Future<Output = Result<Vec<Label>, StoreError>> + Send {
        std::future::ready(self.labels_sync(Some(finding_id)))
    }

    fn all_labels(&self) -> impl Future<Output = Result<Vec<Label>, StoreError>> + Send {
        std::future::ready(self.labels_sync(None))
    }

    fn add_weights(&self, version: WeightsVersion) -> impl Future<Output = Result<WeightsVersion, StoreError>> + Send {
        std::future::ready(self.add_weights_sync(version))
    }

    fn current_weights(&self) -> impl Future<Output = Result<Option<WeightsVersion>, StoreError>> + Send {
        let r = self
            .weights_sync()
            .map(|(versions, current)| versions.into_iter().find(|v| v.number == current));
        std::future::ready(r)
    }

    fn weights_history(&self) -> impl Future<Output = Result<Vec<WeightsVersion>, StoreError>> + Send {
        std::future::ready(self.weights_sync().map(|(versions, _)| versions))
    }

    fn use_weights(&self, number: Option<u32>) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.use_weights_sync(number))
    }
}

impl FindingStore for EmbeddedStore {
    type Error = StoreError;

    fn apply(&self, batch: &[Change]) -> impl Future<Output = Result<Vec<Transition>, StoreError>> + Send {
        std::future::ready(self.apply_sync(batch))
    }

    fn get(&self, id: &str) -> impl Future<Output = Result<Option<Finding>, StoreError>> + Send {
        std::future::ready(self.get_sync(id))
    }

    fn list(&self, query: &Query) -> impl Future<Output = Result<Vec<Finding>, StoreError>> + Send {
        std::future::ready(self.list_sync(query))
    }

    fn processed(&self, event_key: &str) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let result = (|| {
            let txn = self.db.begin_read()?;
            let t = txn.open_table(PROCESSED)?;
            Ok(t.get(event_key)?.is_some())
        })();
        std::future::ready(result)
    }

    fn mark_processed(&self, event_key: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        let result = (|| {
            let txn = self.db.begin_write()?;
            txn.open_table(PROCESSED)?.insert(event_key, ())?;
            txn.commit()?;
            Ok(())
        })();
        std::future::ready(result)
    }
    fn unpublished(&self, origin: &str) -> impl Future<Output = Result<Vec<DriftEvent>, StoreError>> + Send {
        std::future::ready(self.unpublished_sync(origin))
    }

    fn mark_published(&self, origin: &str, key: &str) -> impl Future<Output = Result<(), StoreError>> + Send {
        std::future::ready(self.mark_published_sync(origin, key))
    }
}

impl EmbeddedStore {
    fn unpublished_sync(&self, origin: &str) -> Result<Vec<DriftEvent>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(UNPUBLISHED)?;
        let prefix = unpublished_key(origin, "");
        let mut out: Vec<(u64, DriftEvent)> = Vec::new();
        for row in t.range(prefix.as_str()..)? {
            let (k, v) = row?;
            if !k.value().starts_with(&prefix) {
                break;
            }
            out.push(decode(k.value(), v.value())?);
        }
        out.sort_by_key(|(order, _)| *order);
        Ok(out.into_iter().map(|(_, e)| e).collect())
    }

    fn mark_published_sync(&self, origin: &str, key: &str) -> Result<(), StoreError> {
        let txn = self.db.begin_write()?;
        txn.open_table(UNPUBLISHED)?
            .remove(unpublished_key(origin, key).as_str())?;
        txn.commit()?;
        Ok(())
    }
}

impl EventPublisher for EmbeddedStore {
    type Error = StoreError;

    /// Appends to the outbox table (and takes the events out of `unpublished`); a transition
    /// already published is not appended again.
    fn publish(&self, events: &[DriftEvent]) -> impl Future<Output = Result<usize, StoreError>> + Send {
        std::future::ready(self.publish_sync(events))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftguard_core::conformance::{check_recovery, check_store, sample_finding, sample_iac, NoFaults};
    use driftguard_core::score::Severity;

    #[test]
    fn keeps_the_last_sweep_of_each_scope() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.redb");
        let store = EmbeddedStore::open(&path).expect("open");
        let sweep = |account: &str, at: i64, managed: u64| {
            let mut report = driftguard_core::sweep::SweepReport::default();
            report.coverage.insert(
                format!("{account}/AWS::S3::Bucket"),
                driftguard_core::sweep::Coverage {
                    managed,
                    ..Default::default()
                },
            );
            RecordedSweep {
                scope: driftguard_core::sweep::Scope {
                    account: account.into(),
                    region: "eu-west-1".into(),
                },
                finished_at: driftguard_core::time::Timestamp(at),
                report,
            }
        };
        store.record_sweep(&sweep("111111111111", 1, 3)).expect("record");
        store.record_sweep(&sweep("222222222222", 2, 5)).expect("record");
        store.record_sweep(&sweep("111111111111", 3, 4)).expect("record again");
        drop(store);
        let store = EmbeddedStore::open(&path).expect("reopen");
        assert_eq!(
            store.sweeps().expect("sweeps"),
            vec![sweep("111111111111", 3, 4), sweep("222222222222", 2, 5)]
        );
    }

    #[test]
    fn keeps_labels_and_weights_versions() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.redb");
        pollster::block_on(driftguard_core::learn::ports::check_learning_store(
            &EmbeddedStore::open(&path).expect("open"),
        ));
        // They survive reopening.
        let store = EmbeddedStore::open(&path).expect("reopen");
        assert_eq!(pollster::block_on(store.all_labels()).expect("labels").len(), 3);
        assert_eq!(
            pollster::block_on(store.current_weights())
                .expect("weights")
                .map(|v| v.weights.version),
            Some("v1".to_owned())
        );
    }

    #[test]
    fn conforms_to_the_store_contract() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(&dir.path().join("s.redb")).expect("open");
        assert_eq!(pollster::block_on(check_store(&store)), Ok(()));
    }

    #[test]
    fn recovers_from_each_failed_step() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(&dir.path().join("s.redb")).expect("open");
        assert_eq!(pollster::block_on(check_recovery(&store, &NoFaults)), Ok(()));
    }

    #[test]
    fn findings_survive_reopening() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("s.redb");
        let f = sample_finding("ev-1", "sg-1", 10, Severity::Major);
        {
            let store = EmbeddedStore::open(&path).expect("open");
            pollster::block_on(store.apply(&[Change::Finding(Box::new(f.clone()))])).expect("apply");
        }
        let store = EmbeddedStore::open(&path).expect("reopen");
        assert_eq!(pollster::block_on(store.get(&f.id)).expect("get"), Some(f.clone()));
        // The resource record survived too: a later IaC change still resolves the finding.
        let t = pollster::block_on(store.apply(&[Change::Iac(sample_iac("ev-2", "sg-1", 20))])).expect("apply");
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn outbox_publishes_each_transition_once() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = EmbeddedStore::open(&dir.path().join("s.redb")).expect("open");
        let f = sample_finding("ev-1", "sg-1", 10, Severity::Major);
        let events: Vec<DriftEvent> = pollster::block_on(store.apply(&[Change::Finding(Box::new(f))]))
            .expect("apply")
            .into_iter()
            .map(DriftEvent::from)
            .collect();
        assert_eq!(pollster::block_on(store.publish(&events)).expect("publish"), 1);
        assert_eq!(pollster::block_on(store.publish(&events)).expect("publish again"), 0);
        let outbox = store.outbox().expect("outbox");
        assert_eq!(outbox.len(), 1);
        assert_eq!(outbox[0].kind.detail_type(), "Drift Detected");
    }

    #[test]
    fn a_file_that_is_not_a_store_is_a_clear_error() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("not-a-store.redb");
        std::fs::write(&path, b"{\"this\": \"is json, not redb\"}").expect("write");
        let err = EmbeddedStore::open(&path).expect_err("must refuse");
        assert!(err.to_string().starts_with("embedded store:"), "{err}");
    }
}
