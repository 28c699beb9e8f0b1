//! The DynamoDB finding store: one table, documented in ARCHITECTURE.md.
//!
//! | item | pk | sk | notes |
//! |---|---|---|---|
//! | finding | `FINDING#<id>` | `FINDING` | `doc` (JSON), `version`; GSI1 `OPEN#<severity>` / `<account>#<time>#<id>` while open; GSI2 `RES#<resource>` / `<time>#<id>` |
//! | resource | `RES#<resource key>` | `RESOURCE` | `doc` (recent IaC changes, finding ids), `manual_edits`, `last_iac_at`, `version` |
//! | processed event | `EVENT#<event id>` | `EVENT` | `expires_at` (TTL) |
//! | unpublished drift event (the outbox) | `OUTBOX#<origin>` | `<event key>` | `doc` (the event as JSON), `order` |
//!
//! Every write is conditional: a finding is created once (`attribute_not_exists`), and resource
//! records and finding status changes carry a `version` checked on write (optimistic
//! concurrency, re-read and retried on conflict). The lifecycle itself comes from core.
//!
//! A write that causes a transition carries the transition's outbox row in the same
//! `TransactWriteItems` call (the new finding, the finding an IaC change resolves, the resource
//! record that commits a join), so a transition is never stored without its event, and an
//! `apply` that fails part-way keeps the events of the writes it made.

use crate::error::{classify, AwsError};
use crate::item::{self, build_err, get_n, get_s, n, now_secs, s, Item};
use crate::retry::{backoff, MAX_ATTEMPTS};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType, Put,
    ScalarAttributeType, TimeToLiveSpecification, TransactWriteItem,
};
use aws_sdk_dynamodb::Client;
use driftguard_core::finding::{self, Finding, IacChange, ResourceRecord, Status, Transition};
use driftguard_core::ports::{self, Change, DriftEvent, FindingStore, Query};
use driftguard_core::score::Severity;
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::time::Duration;

/// The largest finding document stored; DynamoDB items are limited to 400 KB, and the other
/// attributes need room. Larger findings are truncated with a marker.
pub const MAX_FINDING_BYTES: usize = 350 * 1024;

/// How long processed-event records live (the TTL attribute `expires_at`).
const DEFAULT_IDEMPOTENCY_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// A [`FindingStore`] on one DynamoDB table.
#[derive(Debug, Clone)]
pub struct DynamoStore {
    client: Client,
    table: String,
    idempotency_ttl: Duration,
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl DynamoStore {
    /// A store on `table`.
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            table: table.into(),
            idempotency_ttl: DEFAULT_IDEMPOTENCY_TTL,
        }
    }

    /// Sets how long processed-event records are kept.
    pub fn with_idempotency_ttl(mut self, ttl: Duration) -> Self {
        self.idempotency_ttl = ttl;
        self
    }

    /// Creates the table with its indexes and TTL (for local runs and tests; SAM creates it in AWS).
    pub async fn create_table(&self) -> Result<(), AwsError> {
        let attr = |name: &str| {
            AttributeDefinition::builder()
                .attribute_name(name)
                .attribute_type(ScalarAttributeType::S)
                .build()
                .map_err(|e| build_err("CreateTable", e))
        };
        let key = |name: &str, kind: KeyType| {
            KeySchemaElement::builder()
                .attribute_name(name)
                .key_type(kind)
                .build()
                .map_err(|e| build_err("CreateTable", e))
        };
        let gsi = |name: &str, pk: &str, sk: &str| -> Result<GlobalSecondaryIndex, AwsError> {
            GlobalSecondaryIndex::builder()
                .index_name(name)
                .key_schema(key(pk, KeyType::Hash)?)
                .key_schema(key(sk, KeyType::Range)?)
                .projection(Projection::builder().projection_type(ProjectionType::All).build())
                .build()
                .map_err(|e| build_err("CreateTable", e))
        };
        let mut req = self
            .client
            .create_table()
            .table_name(&self.table)
            .billing_mode(BillingMode::PayPerRequest)
            .key_schema(key("pk", KeyType::Hash)?)
            .key_schema(key("sk", KeyType::Range)?)
            .global_secondary_indexes(gsi("gsi1", "gsi1pk", "gsi1sk")?)
            .global_secondary_indexes(gsi("gsi2", "gsi2pk", "gsi2sk")?);
        for a in ["pk", "sk", "gsi1pk", "gsi1sk", "gsi2pk", "gsi2sk"] {
            req = req.attribute_definitions(attr(a)?);
        }
        req.send().await.map_err(|e| classify("DynamoDB", "CreateTable", e))?;
        let ttl = TimeToLiveSpecification::builder()
            .enabled(true)
            .attribute_name("expires_at")
            .build()
            .map_err(|e| build_err("UpdateTimeToLive", e))?;
        self.client
            .update_time_to_live()
            .table_name(&self.table)
            .time_to_live_specification(ttl)
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "UpdateTimeToLive", e))?;
        Ok(())
    }

    /// The outbox row of one event caused by a change from `origin`.
    fn outbox_item(origin: &str, event: &DriftEvent, order: i64) -> Item {
        let mut event = event.clone();
        event.finding.fit_within(MAX_FINDING_BYTES);
        Item::from([
            ("pk".into(), s(format!("OUTBOX#{origin}"))),
            ("sk".into(), s(event.key.clone())),
            ("order".into(), n(order)),
            ("doc".into(), s(serde_json::to_string(&event).unwrap_or_default())),
        ])
    }

    /// Puts `item` with a version check (see [`Self::put_versioned`]) and, in the same
    /// transaction, the outbox rows of `transitions` under `origin`. `Ok(false)` when the
    /// version check failed (nothing was written).
    async fn put_with_outbox(
        &self,
        mut item: Item,
        expected: Option<i64>,
        origin: &str,
        transitions: &[Transition],
    ) -> Result<bool, AwsError> {
        if transitions.is_empty() {
            return self.put_versioned(item, expected).await;
        }
        item.insert("version".into(), n(expected.unwrap_or(0) + 1));
        let mut put = Put::builder().table_name(&self.table).set_item(Some(item));
        put = match expected {
            None => put.condition_expression("attribute_not_exists(pk)"),
            Some(v) => put
                .condition_expression("version = :v")
                .expression_attribute_values(":v", n(v)),
        };
        let put = put.build().map_err(|e| build_err("TransactWriteItems", e))?;
        let mut items = vec![TransactWriteItem::builder().put(put).build()];
        let order = now_millis() * 1000;
        for (i, t) in transitions.iter().enumerate() {
            let row = Put::builder()
                .table_name(&self.table)
                .set_item(Some(Self::outbox_item(
                    origin,
                    &DriftEvent::from(t.clone()),
                    order + i as i64,
                )))
                .build()
                .map_err(|e| build_err("TransactWriteItems", e))?;
            items.push(TransactWriteItem::builder().put(row).build());
        }
        item::transact(&self.client, items, &format!("the write of {origin}'s drift events")).await
    }

    /// The outbox rows under `origin`, oldest first.
    async fn outbox(&self, origin: &str) -> Result<Vec<DriftEvent>, AwsError> {
        let pk = format!("OUTBOX#{origin}");
        let mut rows: Vec<(i64, DriftEvent)> = Vec::new();
        let mut start = None;
        loop {
            let out = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :p")
                .expression_attribute_values(":p", s(pk.clone()))
                .consistent_read(true)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| classify("DynamoDB", "Query", e))?;
            for item in out.items() {
                let (event, _) = Self::decode::<DriftEvent>(&pk, item)?;
                rows.push((get_n(item, "order").unwrap_or(0), event));
            }
            start = out.last_evaluated_key;
            if start.is_none() {
                break;
            }
        }
        rows.sort_by_key(|(order, _)| *order);
        Ok(rows.into_iter().map(|(_, e)| e).collect())
    }

    async fn forget_published(&self, origin: &str, key: &str) -> Result<(), AwsError> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .key("pk", s(format!("OUTBOX#{origin}")))
            .key("sk", s(key))
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "DeleteItem", e))?;
        Ok(())
    }

    /// Puts with a version check: creates when `expected` is None, else requires that version.
    async fn put_versioned(&self, mut item: Item, expected: Option<i64>) -> Result<bool, AwsError> {
        item.insert("version".into(), n(expected.unwrap_or(0) + 1));
        match expected {
            None => item::put(&self.client, &self.table, item, Some("attribute_not_exists(pk)"), None).await,
            Some(v) => {
                item::put(
                    &self.client,
                    &self.table,
                    item,
                    Some("version = :v"),
                    Some(HashMap::from([(":v".to_owned(), n(v))])),
                )
                .await
            }
        }
    }

    fn decode<T: serde::de::DeserializeOwned>(key: &str, item: &Item) -> Result<(T, i64), AwsError> {
        let doc = get_s(item, "doc").ok_or_else(|| AwsError::Corrupt {
            key: key.into(),
            message: "no doc attribute".into(),
        })?;
        let value = serde_json::from_str(doc).map_err(|e| AwsError::Corrupt {
            key: key.into(),
            message: e.to_string(),
        })?;
        Ok((value, get_n(item, "version").unwrap_or(0)))
    }

    async fn load_resource(&self, key: &str) -> Result<(ResourceRecord, Option<i64>), AwsError> {
        let pk = format!("RES#{key}");
        match item::get(&self.client, &self.table, &pk, "RESOURCE").await? {
            Some(item) => Self::decode(&pk, &item).map(|(r, v)| (r, Some(v))),
            None => Ok((ResourceRecord::default(), None)),
        }
    }

    /// Saves a resource record (versioned), with the outbox rows of `transitions` it commits.
    async fn save_resource(
        &self,
        key: &str,
        record: &ResourceRecord,
        expected: Option<i64>,
        origin: &str,
        transitions: &[Transition],
    ) -> Result<bool, AwsError> {
        let mut item = Item::from([
            ("pk".into(), s(format!("RES#{key}"))),
            ("sk".into(), s("RESOURCE")),
            ("doc".into(), s(serde_json::to_string(record).unwrap_or_default())),
            ("manual_edits".into(), n(record.findings.len() as i64)),
        ]);
        if let Some(last) = record.iac.last() {
            item.insert("last_iac_at".into(), s(last.time.to_string()));
        }
        self.put_with_outbox(item, expected, origin, transitions).await
    }

    async fn load_finding(&self, id: &str) -> Result<Option<(Finding, i64)>, AwsError> {
        let pk = format!("FINDING#{id}");
        item::get(&self.client, &self.table, &pk, "FINDING")
            .await?
            .map(|item| Self::decode(&pk, &item))
            .transpose()
    }

    fn finding_item(f: &Finding) -> Item {
        let mut f = f.clone();
        f.fit_within(MAX_FINDING_BYTES);
        let time = f.call.time.to_string();
        let mut item = Item::from([
            ("pk".into(), s(format!("FINDING#{}", f.id))),
            ("sk".into(), s("FINDING")),
            (
                "status".into(),
                s(if f.status == Status::Open { "open" } else { "resolved" }),
            ),
            ("severity".into(), s(f.severity.as_str())),
            ("kind".into(), s(f.kind.as_str())),
            ("account".into(), s(f.resource.account.clone())),
            ("event_time".into(), s(time.clone())),
            ("gsi2pk".into(), s(format!("RES#{}", f.resource.key()))),
            ("gsi2sk".into(), s(format!("{time}#{}", f.id))),
        ]);
        if f.status == Status::Open {
            item.insert("gsi1pk".into(), s(format!("OPEN#{}", f.severity.as_str())));
            item.insert("gsi1sk".into(), s(format!("{}#{time}#{}", f.resource.account, f.id)));
        }
        item.insert("doc".into(), s(serde_json::to_string(&f).unwrap_or_default()));
        item
    }

    async fn seen(&self, event: &str) -> Result<bool, AwsError> {
        Ok(item::get(&self.client, &self.table, &format!("EVENT#{event}"), "EVENT")
            .await?
            .is_some_and(|i| get_n(&i, "expires_at").is_none_or(|t| t > now_secs())))
    }

    async fn mark_seen(&self, event: &str) -> Result<(), AwsError> {
        let item = Item::from([
            ("pk".into(), s(format!("EVENT#{event}"))),
            ("sk".into(), s("EVENT")),
            (
                "expires_at".into(),
                n(now_secs() + self.idempotency_ttl.as_secs() as i64),
            ),
        ]);
        self.client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "PutItem", e))?;
        Ok(())
    }

    /// Applies every IaC change the record knows to a stored finding; writes it back (versioned,
    /// with its `Drift Resolved` in `origin`'s outbox) when that changed it. Returns the finding
    /// when it became resolved.
    async fn reconcile(&self, id: &str, iac: &[IacChange], origin: &str) -> Result<Option<Finding>, AwsError> {
        for attempt in 0..MAX_ATTEMPTS {
            let Some((mut f, version)) = self.load_finding(id).await? else {
                return Ok(None);
            };
            let before = f.clone();
            // Every change must be applied (each may move the resolution earlier), so no `any`.
            let mut resolved = false;
            for change in iac {
                resolved |= f.resolve_with(change);
            }
            if f == before {
                return Ok(None);
            }
            let transitions: Vec<Transition> = if resolved {
                vec![Transition::Resolved(Box::new(f.clone()))]
            } else {
                Vec::new()
            };
            if self
                .put_with_outbox(Self::finding_item(&f), Some(version), origin, &transitions)
                .await?
            {
                return Ok(resolved.then_some(f));
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(AwsError::Contention(format!("finding {id}")))
    }

    async fn apply_finding(&self, incoming: &Finding, origin: &str, out: &mut Vec<Transition>) -> Result<(), AwsError> {
        let key = incoming.resource.key();
        for attempt in 0..MAX_ATTEMPTS {
            let (mut record, version) = self.load_resource(&key).await?;
            if record.awaits_call(incoming.call.time) {
                // A Config item on this resource waits for its call: join them.
                return self
                    .apply_joined(&Change::Finding(Box::new(incoming.clone())), origin, out)
                    .await;
            }
            // Whether this attempt wrote the finding, merged against `record`. The write is
            // conditional on the finding being absent, so it is not read first: one that an
            // earlier delivery stored fails the condition and stays as it is (the first write
            // wins, as `merge_incoming` says), and a new finding costs one round trip less.
            let mut fresh = false;
            let Some(stored) = finding::merge_incoming(None, incoming.clone(), &record) else {
                return Ok(());
            };
            let transitions = stored.arrival();
            if self
                .put_with_outbox(Self::finding_item(&stored), None, origin, &transitions)
                .await?
            {
                fresh = true;
                out.extend(transitions);
            }
            if record.findings.contains(&incoming.id) {
                return Ok(());
            }
            record.note_call(incoming);
            if self.save_resource(&key, &record, version, origin, &[]).await? {
                // The version check means `record` was the latest when we saved it. A finding this
                // attempt wrote was merged against this very record. One written earlier (before a
                // conflict, or by a delivery that failed half-way) may predate an IaC change now
                // in the record: apply the record's changes to it.
                if !fresh {
                    if let Some(f) = self.reconcile(&incoming.id, &record.iac, origin).await? {
                        out.push(Transition::Resolved(Box::new(f)));
                    }
                }
                return Ok(());
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(AwsError::Contention(format!("resource {key}")))
    }

    /// Records an IaC change on its resource, then resolves the resource's findings one by one,
    /// each with its own outbox row: an error part-way keeps what was resolved (and its event),
    /// and the retry resolves the rest (the record already knows the change).
    async fn apply_iac(&self, iac: &IacChange, origin: &str, out: &mut Vec<Transition>) -> Result<(), AwsError> {
        for attempt in 0..MAX_ATTEMPTS {
            let (mut record, version) = self.load_resource(&iac.resource_key).await?;
            let new = record.remember(iac);
            if new
                && !self
                    .save_resource(&iac.resource_key, &record, version, origin, &[])
                    .await?
            {
                tokio::time::sleep(backoff(attempt)).await;
                continue;
            }
            for id in &record.findings {
                if let Some(f) = self.reconcile(id, std::slice::from_ref(iac), origin).await? {
                    out.push(Transition::Resolved(Box::new(f)));
                }
            }
            return Ok(());
        }
        Err(AwsError::Contention(format!("resource {}", iac.resource_key)))
    }

    /// A change that joins a Config item with a call (or waits for one), through core's
    /// lifecycle on the resource record and the findings the join may touch. Findings are
    /// written first (versioned, each with its events in the outbox), the record last: the
    /// record marks the join done, so an attempt that fails part-way is redone by the next, and
    /// rewriting the same finding is harmless.
    async fn apply_joined(&self, change: &Change, origin: &str, out: &mut Vec<Transition>) -> Result<(), AwsError> {
        let key = change.resource_key();
        let (own, time) = match change {
            Change::Finding(f) => (Some(f.id.clone()), f.call.time),
            Change::Config(o) => (o.finding.as_ref().map(|f| f.id.clone()), o.evidence.capture_time),
            Change::Iac(i) => (None, i.time),
        };
        'attempt: for attempt in 0..MAX_ATTEMPTS {
            let (record, version) = self.load_resource(&key).await?;
            let mut findings = BTreeMap::new();
            let mut versions = BTreeMap::new();
            let candidates = match change {
                Change::Config(o) => driftguard_core::join::candidates(&record, o),
                _ => record.join_candidates(time),
            };
            for id in candidates.into_iter().chain(own.clone()) {
                if let Some((f, v)) = self.load_finding(&id).await? {
                    versions.insert(id.clone(), v);
                    // The change's own finding is left out, so the lifecycle sees it as new even
                    // when an earlier attempt wrote it before losing the record race.
                    if Some(&id) != own.as_ref() {
                        findings.insert(id, f);
                    }
                }
            }
            let before = findings.clone();
            let mut resources = BTreeMap::from([(key.clone(), record.clone())]);
            let transitions = ports::apply_to_maps(&mut findings, &mut resources, std::slice::from_ref(change));
            let updated = resources.remove(&key).unwrap_or_default();
            // A sweep may resolve findings without touching the record.
            if updated == record && findings == before {
                return Ok(());
            }
            // Each transition's event goes with the write of its finding: when a later write
            // fails, the retry finds the finding already joined and reports nothing new, so the
            // event must already be in the outbox.
            let about = |t: &Transition, id: &str| match t {
                Transition::Detected(f) | Transition::Resolved(f) => f.id == id,
            };
            for (id, f) in &findings {
                if before.get(id) == Some(f) {
                    continue;
                }
                let own: Vec<Transition> = transitions.iter().filter(|t| about(t, id)).cloned().collect();
                if !self
                    .put_with_outbox(Self::finding_item(f), versions.get(id).copied(), origin, &own)
                    .await?
                {
                    tokio::time::sleep(backoff(attempt)).await;
                    continue 'attempt;
                }
            }
            let rest: Vec<Transition> = transitions
                .iter()
                .filter(|t| !findings.iter().any(|(id, f)| before.get(id) != Some(f) && about(t, id)))
                .cloned()
                .collect();
            if self.save_resource(&key, &updated, version, origin, &rest).await? {
                out.extend(transitions);
                return Ok(());
            }
            tokio::time::sleep(backoff(attempt)).await;
        }
        Err(AwsError::Contention(format!("resource {key}")))
    }

    async fn apply_all(&self, batch: &[Change]) -> Result<Vec<Transition>, AwsError> {
        let mut out = Vec::new();
        for change in batch {
            let origin = change.origin();
            match change {
                Change::Finding(f) => self.apply_finding(f, origin, &mut out).await?,
                Change::Iac(i) => self.apply_iac(i, origin, &mut out).await?,
                Change::Config(_) => self.apply_joined(change, origin, &mut out).await?,
            }
        }
        Ok(out)
    }

    async fn list_all(&self, query: &Query) -> Result<Vec<Finding>, AwsError> {
        let mut found = Vec::new();
        if query.status == Some(Status::Open) {
            let severities = [Severity::Critical, Severity::Major, Severity::Minor];
            for sev in severities
                .into_iter()
                .filter(|s| query.min_severity.is_none_or(|m| *s >= m))
            {
                let mut start = None;
                loop {
                    let out = self
                        .client
                        .query()
                        .table_name(&self.table)
                        .index_name("gsi1")
                        .key_condition_expression("gsi1pk = :p")
                        .expression_attribute_values(":p", s(format!("OPEN#{}", sev.as_str())))
                        .set_exclusive_start_key(start)
                        .send()
                        .await
                        .map_err(|e| classify("DynamoDB", "Query", e))?;
                    for item in out.items() {
                        found.push(Self::decode::<Finding>("gsi1", item)?.0);
                    }
                    start = out.last_evaluated_key;
                    if start.is_none() {
                        break;
                    }
                }
            }
        } else {
            let mut start = None;
            loop {
                let out = self
                    .client
                    .scan()
                    .table_name(&self.table)
                    .filter_expression("sk = :f")
                    .expression_attribute_values(":f", s("FINDING"))
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .map_err(|e| classify("DynamoDB", "Scan", e))?;
                for item in out.items() {
                    found.push(Self::decode::<Finding>("scan", item)?.0);
                }
                start = out.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        }
        Ok(ports::select(found, query))
    }

    /// Findings on one resource, newest first (GSI2).
    pub async fn findings_for_resource(&self, resource_key: &str) -> Result<Vec<Finding>, AwsError> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .index_name("gsi2")
            .key_condition_expression("gsi2pk = :p")
            .expression_attribute_values(":p", s(format!("RES#{resource_key}")))
            .scan_index_forward(false)
            .send()
            .await
            .map_err(|e| classify("DynamoDB", "Query", e))?;
        out.items()
            .iter()
            .map(|i| Self::decode::<Finding>(resource_key, i).map(|(f, _)| f))
            .collect()
    }
}

impl FindingStore for DynamoStore {
    type Error = AwsError;

    fn apply(&self, batch: &[Change]) -> impl Future<Output = Result<Vec<Transition>, AwsError>> + Send {
        self.apply_all(batch)
    }

    async fn get(&self, id: &str) -> Result<Option<Finding>, AwsError> {
        Ok(self.load_finding(id).await?.map(|(f, _)| f))
    }

    fn list(&self, query: &Query) -> impl Future<Output = Result<Vec<Finding>, AwsError>> + Send {
        self.list_all(query)
    }

    fn processed(&self, event_key: &str) -> impl Future<Output = Result<bool, AwsError>> + Send {
        self.seen(event_key)
    }

    fn mark_processed(&self, event_key: &str) -> impl Future<Output = Result<(), AwsError>> + Send {
        self.mark_seen(event_key)
    }

    fn unpublished(&self, origin: &str) -> impl Future<Output = Result<Vec<DriftEvent>, AwsError>> + Send {
        self.outbox(origin)
    }

    fn mark_published(&self, origin: &str, key: &str) -> impl Future<Output = Result<(), AwsError>> + Send {
        self.forget_published(origin, key)
    }
}
