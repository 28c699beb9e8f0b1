//! The reconcile sweep, sans IO: what the events missed, from AWS Config's view of the estate.
//!
//! An adapter lists Config's inventory one resource type at a time (in one account and region,
//! the [`Scope`]), fetches the configuration items page by page and hands them here. Each live
//! item goes through the same evaluation as a Config item change
//! ([`Pipeline::evaluate_live`]): the same attribute maps, ignore rules and scoring, and the
//! resulting observation goes through the store's Config path
//! ([`crate::findings::join`]), so an event-raised finding and the sweep's are one finding, and
//! a resource back in line resolves its open finding. After the last page of a type,
//! [`Sweep::missing`] gives a missing observation for every resource of that type the state
//! declares in the scope that Config neither holds nor holds alive.
//!
//! Only judged where it can be: resource types with an attribute map whose main Terraform type
//! IaC manages in the scope ([`Sweep::types`]); missing only for a type Config listed at least
//! one resource of there (a recorder that does not record a type lists none), and only for
//! declarations whose account and region are known (from the ARN, the `region` attribute, or
//! the one account the rest of their state names).
//!
//! [`Continuation`] is the run's progress (the type, Config's `NextToken`, what matched so far,
//! the counters): an adapter saves it between invocations, so a large estate is swept across
//! several, never truncated silently.

use crate::findings::evidence::LastWriter;
use crate::findings::finding::{ResourceInfo, GLOBAL_TYPE_PREFIXES};
use crate::findings::pipeline::{Evaluation, Outcome, Pipeline, Skip};
use crate::iac::inventory::Declared;
use crate::input::config_item::ConfigChange;
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Where a sweep reads: one account and region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// The account.
    pub account: String,
    /// The region.
    pub region: String,
}

impl Scope {
    /// `<account>/<region>`, the key of the run's continuation.
    pub fn key(&self) -> String {
        format!("{}/{}", self.account, self.region)
    }
}

/// One resource in Config's inventory listing (`ListDiscoveredResources`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Listed {
    /// e.g. `AWS::S3::Bucket`.
    pub resource_type: String,
    /// Config's resource id.
    pub resource_id: String,
    /// Its name, when Config has one.
    pub resource_name: Option<String>,
    /// When Config recorded its deletion (deleted resources are listed on request).
    pub deleted_at: Option<Timestamp>,
}

/// What one type's listing matched so far (kept across pages and invocations).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeProgress {
    /// Resources Config listed of the type.
    pub listed: u64,
    /// Declarations (by [`declaration_key`]) a live item matched.
    pub matched: BTreeSet<String>,
    /// Declarations Config lists as deleted, with the deletion time.
    pub deleted: BTreeMap<String, Timestamp>,
}

/// IaC coverage of one account and resource type.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Coverage {
    /// Live and declared.
    pub managed: u64,
    /// Live, undeclared, next to declared ones of the type: unmanaged.
    pub unmanaged: u64,
    /// Declared, not live.
    pub missing: u64,
    /// Live, undeclared, owned by a CloudFormation stack (IaC too).
    pub cloudformation: u64,
    /// Live, undeclared, dropped by an ignore rule.
    pub ignored: u64,
}

/// What a run read, compared and raised. Saved with the continuation, so a run across
/// invocations reports as one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SweepReport {
    /// Resources Config listed.
    pub listed: u64,
    /// Configuration items read.
    pub read: u64,
    /// Items compared with a declaration.
    pub compared: u64,
    /// `Drift Detected` events published (new findings and revisions).
    pub detected: u64,
    /// `Drift Resolved` events published.
    pub resolved: u64,
    /// Evaluations a store had already processed (same item, same outcome).
    pub unchanged: u64,
    /// Listing pages read.
    pub pages: u64,
    /// AWS calls by operation (`config:ListDiscoveredResources`, ...).
    pub calls: BTreeMap<String, u64>,
    /// CloudTrail history lookups made for "who did it".
    pub lookups: u64,
    /// Sweep findings whose last writer could not be named (none found, budget spent, failed).
    pub unnamed: u64,
    /// Invocations the run took.
    pub invocations: u64,
    /// Time spent in them, in milliseconds.
    pub duration_ms: u64,
    /// Whether every type was read to its last page.
    pub complete: bool,
    /// Coverage per `<account>/<resource type>`.
    pub coverage: BTreeMap<String, Coverage>,
}

impl SweepReport {
    /// Counts one AWS call.
    pub fn call(&mut self, operation: &str) {
        *self.calls.entry(operation.to_owned()).or_insert(0) += 1;
    }

    /// Total AWS calls.
    pub fn total_calls(&self) -> u64 {
        self.calls.values().sum()
    }
}

/// How much history one backfill slice reads: an hour, so that a slice ends well within an
/// invocation even on a busy account, and an interrupted backfill loses at most one.
pub const BACKFILL_SLICE_MS: i64 = 3_600_000;

/// The first backfill of one scope: CloudTrail's history of a window (the write calls, through
/// the same pipeline as the live events, so their findings keep their event ids), read a slice
/// at a time from the newest, saved after each slice so the next invocation goes on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Backfill {
    /// The window's start.
    pub start: Timestamp,
    /// The window's end (when the backfill began).
    pub end: Timestamp,
    /// Everything from here to `end` is read.
    pub read_down_to: Timestamp,
    /// Events read.
    pub events: u64,
    /// History pages read.
    pub pages: u64,
    /// Invocations it took.
    pub invocations: u64,
}

impl Backfill {
    /// A backfill of the `hours` before `now`.
    pub fn new(now: Timestamp, hours: u64) -> Self {
        let span = i64::try_from(hours)
            .unwrap_or(i64::MAX)
            .min(i64::from(HISTORY_DAYS) * 24)
            * BACKFILL_SLICE_MS;
        Backfill {
            start: Timestamp(now.0 - span),
            end: now,
            read_down_to: now,
            events: 0,
            pages: 0,
            invocations: 0,
        }
    }

    /// The next slice to read, `(from, to)`, or `None` when the window is read.
    pub fn next_slice(&self) -> Option<(Timestamp, Timestamp)> {
        (self.read_down_to.0 > self.start.0).then(|| {
            (
                Timestamp((self.read_down_to.0 - BACKFILL_SLICE_MS).max(self.start.0)),
                self.read_down_to,
            )
        })
    }

    /// Records a slice read: everything from `from` on is done.
    pub fn read(&mut self, from: Timestamp, events: u64, pages: u64) {
        self.read_down_to = from;
        self.events += events;
        self.pages += pages;
    }

    /// Whether the whole window is read.
    pub fn complete(&self) -> bool {
        self.next_slice().is_none()
    }
}

/// A run's progress, saved between invocations.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Continuation {
    /// When the run started (missing resources Config never recorded are observed then).
    pub started: Timestamp,
    /// The types the run reads, in order.
    pub types: Vec<String>,
    /// The index in `types` of the type being read.
    pub next_type: usize,
    /// Config's `NextToken` for that type's listing (none: its first page, or the type is
    /// done when `next_type` moved on).
    pub next_token: Option<String>,
    /// What that type matched so far.
    pub progress: TypeProgress,
    /// The counters.
    pub report: SweepReport,
}

impl Continuation {
    /// A new run over `types`.
    pub fn start(started: Timestamp, types: Vec<String>) -> Self {
        Continuation {
            started,
            types,
            next_type: 0,
            next_token: None,
            progress: TypeProgress::default(),
            report: SweepReport::default(),
        }
    }

    /// The type being read, or `None` when every type is done.
    pub fn current_type(&self) -> Option<&str> {
        self.types.get(self.next_type).map(String::as_str)
    }

    /// Moves on to the next type.
    pub fn next(&mut self) {
        self.next_type += 1;
        self.next_token = None;
        self.progress = TypeProgress::default();
        self.report.complete = self.next_type >= self.types.len();
    }
}

/// The key of one declaration across invocations: its state file and address.
pub fn declaration_key(state: &str, address: &str) -> String {
    format!("{:016x}", crate::util::fnv::hash_parts(&[state, address]))
}

/// The sweep of one scope over a pipeline's inventory.
#[derive(Debug)]
pub struct Sweep<'p> {
    pipeline: &'p Pipeline,
    scope: Scope,
    /// Per state file, the one account its ARNs name (none when several or none).
    state_accounts: Vec<Option<String>>,
}

impl<'p> Sweep<'p> {
    /// A sweep of `scope`.
    pub fn new(pipeline: &'p Pipeline, scope: Scope) -> Self {
        let inventory = pipeline.inventory();
        let mut accounts: Vec<BTreeSet<String>> = vec![BTreeSet::new(); inventory.states().len()];
        for d in inventory.resources() {
            if let Some((account, _)) = d.str_attr("arn").and_then(arn_place) {
                if !account.is_empty() {
                    if let Some(set) = accounts.get_mut(d.state) {
                        set.insert(account);
                    }
                }
            }
        }
        let state_accounts = accounts
            .into_iter()
            .map(|set| (set.len() == 1).then(|| set.into_iter().next()).flatten())
            .collect();
        Sweep {
            pipeline,
            scope,
            state_accounts,
        }
    }

    /// The scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The Config resource types worth reading in the scope: those with an attribute map whose
    /// main Terraform type IaC manages there, in the maps' order.
    pub fn types(&self) -> Vec<String> {
        let catalog = self.pipeline.catalog();
        let inventory = self.pipeline.inventory();
        crate::drift::config_map::MAPS
            .iter()
            .map(|m| m.resource_type)
            .filter(|t| {
                let tf = catalog.terraform_for(t);
                tf.first()
                    .is_some_and(|main| inventory.has_neighbours(&[main], &self.scope.account, &self.scope.region))
            })
            .map(str::to_owned)
            .collect()
    }

    /// Records a listing page; returns the live resources whose items to fetch (deleted ones
    /// are noted for [`Self::missing`]).
    pub fn listed<'l>(&self, progress: &mut TypeProgress, page: &'l [Listed]) -> Vec<&'l Listed> {
        progress.listed += page.len() as u64;
        let mut fetch = Vec::new();
        for l in page {
            match l.deleted_at {
                None => fetch.push(l),
                Some(at) => {
                    for d in self.declarations(&l.resource_type, &l.resource_id, l.resource_name.as_deref(), None) {
                        let key = declaration_key(self.pipeline.inventory().state_origin(&d), &d.address);
                        progress.deleted.entry(key).or_insert(at);
                    }
                }
            }
        }
        fetch
    }

    /// Whether an item lacks what the evaluation needs and the adapter should read the full
    /// item (`GetResourceConfigHistory`): an undeclared resource next to managed ones whose
    /// item carries no tags, since only its tags tell a CloudFormation stack's resource from one
    /// created by hand.
    pub fn wants_full_item(&self, change: &ConfigChange) -> bool {
        change.item.get("tags").is_none()
            && change.cloudformation_stack().is_none()
            && self
                .declarations(
                    &change.resource_type,
                    &change.resource_id,
                    change.resource_name.as_deref(),
                    change.arn.as_deref(),
                )
                .is_empty()
            && self
                .pipeline
                .catalog()
                .terraform_for(&change.resource_type)
                .first()
                .is_some_and(|main| {
                    self.pipeline
                        .inventory()
                        .has_neighbours(&[main], &change.account, &change.region)
                })
    }

    /// Evaluates one live item (see [`Pipeline::evaluate_live`]), noting the declarations it
    /// matches and counting coverage and reads.
    pub fn live(&self, progress: &mut TypeProgress, report: &mut SweepReport, change: &ConfigChange) -> Evaluation {
        report.read += 1;
        for d in self.declarations(
            &change.resource_type,
            &change.resource_id,
            change.resource_name.as_deref(),
            change.arn.as_deref(),
        ) {
            progress
                .matched
                .insert(declaration_key(self.pipeline.inventory().state_origin(&d), &d.address));
        }
        let ev = self.pipeline.evaluate_live(change);
        let coverage = report
            .coverage
            .entry(format!("{}/{}", change.account, change.resource_type))
            .or_default();
        match &ev.outcome {
            Outcome::Config(obs) if obs.evidence.compared => {
                report.compared += 1;
                coverage.managed += 1;
            }
            Outcome::Config(obs)
                if ev.owner.is_some() || obs.evidence.change == crate::input::config_item::ChangeType::Delete =>
            {
                coverage.managed += 1;
            }
            Outcome::Config(_) => coverage.unmanaged += 1,
            Outcome::Skipped {
                reason: Skip::CloudFormationOwned,
            } => coverage.cloudformation += 1,
            Outcome::Skipped { reason: Skip::Ignored } if ev.owner.is_none() => coverage.ignored += 1,
            Outcome::Skipped { .. } if ev.owner.is_some() => coverage.managed += 1,
            _ => {}
        }
        ev
    }

    /// A stack owns the resource of a live evaluation that looked unmanaged (see
    /// [`crate::findings::stack::unmanaged_candidate`]): it is skipped as CloudFormation's, and
    /// counted so in the coverage instead of unmanaged.
    pub fn owned_by_stack(
        &self,
        report: &mut SweepReport,
        ev: &mut Evaluation,
        stack: &crate::findings::stack::StackResource,
    ) {
        let was_unmanaged = crate::findings::stack::unmanaged_candidate(ev).is_some();
        crate::findings::stack::owned_by_stack(ev, stack);
        if let Some(resource) = ev.resource.as_ref() {
            let coverage = report
                .coverage
                .entry(format!("{}/{}", resource.account, resource.resource_type))
                .or_default();
            if was_unmanaged {
                coverage.unmanaged = coverage.unmanaged.saturating_sub(1);
            }
            coverage.cloudformation += 1;
        }
    }

    /// After a type's last page: a missing observation for each declaration of its main
    /// Terraform type in the scope that no live item matched (Config lists it deleted, or does
    /// not hold it), when Config listed anything of the type here.
    pub fn missing(
        &self,
        resource_type: &str,
        progress: &TypeProgress,
        started: Timestamp,
        report: &mut SweepReport,
    ) -> Vec<Evaluation> {
        if progress.listed == 0 {
            return Vec::new();
        }
        let catalog = self.pipeline.catalog();
        let inventory = self.pipeline.inventory();
        let Some(main) = catalog.terraform_for(resource_type).first().copied() else {
            return Vec::new();
        };
        let global = GLOBAL_TYPE_PREFIXES.iter().any(|p| resource_type.starts_with(p));
        let mut out = Vec::new();
        for d in inventory.resources_of_type(main) {
            let key = declaration_key(inventory.state_origin(&d), &d.address);
            if progress.matched.contains(&key) || !self.in_scope(&d, global) {
                continue;
            }
            let Some(id) = d.str_attr("id").or_else(|| d.str_attr("arn")) else {
                continue;
            };
            let deleted = progress.deleted.get(&key).copied();
            let change = ConfigChange {
                message_type: "ReconcileSweep".into(),
                resource_type: resource_type.to_owned(),
                resource_id: id.to_owned(),
                resource_name: None,
                arn: d.str_attr("arn").map(str::to_owned),
                account: self.scope.account.clone(),
                region: self.scope.region.clone(),
                capture_time: deleted.unwrap_or(started),
                status: if deleted.is_some() {
                    "ResourceDeleted"
                } else {
                    "ResourceNotRecorded"
                }
                .into(),
                change_type: Some("DELETE".into()),
                changed_properties: None,
                item: serde_json::json!({}),
                s3_location: None,
            };
            let ev = self.pipeline.evaluate_live(&change);
            if matches!(ev.outcome, Outcome::Config(_)) {
                report
                    .coverage
                    .entry(format!("{}/{}", self.scope.account, resource_type))
                    .or_default()
                    .missing += 1;
                out.push(ev);
            }
        }
        out
    }

    /// The main-type declarations a live resource is.
    fn declarations(&self, resource_type: &str, id: &str, name: Option<&str>, arn: Option<&str>) -> Vec<Declared> {
        let catalog = self.pipeline.catalog();
        let inventory = self.pipeline.inventory();
        let Some(main) = catalog.terraform_for(resource_type).first().copied() else {
            return Vec::new();
        };
        [Some(id), name, arn]
            .into_iter()
            .flatten()
            .map(|key| inventory.find(&[main], key))
            .find(|found| !found.is_empty())
            .unwrap_or_default()
    }

    /// Whether a declaration lives in the scope, as far as its state says.
    fn in_scope(&self, d: &Declared, global: bool) -> bool {
        let (account, region) = d.str_attr("arn").and_then(arn_place).unwrap_or_default();
        let account = if account.is_empty() {
            match self.state_accounts.get(d.state).cloned().flatten() {
                Some(a) => a,
                None => return false,
            }
        } else {
            account
        };
        let region = if region.is_empty() {
            d.str_attr("region").unwrap_or_default().to_owned()
        } else {
            region
        };
        account == self.scope.account && (region == self.scope.region || (region.is_empty() && global))
    }
}

/// The account and region an ARN names (either may be empty).
fn arn_place(arn: &str) -> Option<(String, String)> {
    let mut parts = arn.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    let _partition = parts.next()?;
    let _service = parts.next()?;
    let region = parts.next()?.to_owned();
    let account = parts.next()?.to_owned();
    Some((account, region))
}

/// The resource a sweep evaluation is about, for "who did it": its name as CloudTrail records
/// it (`LookupEvents` by `ResourceName`): the declared id or Config's name, else its id.
pub fn lookup_name(resource: &ResourceInfo) -> &str {
    &resource.id
}

/// How far back CloudTrail's event history goes.
pub const HISTORY_DAYS: u32 = 90;

/// What CloudTrail's event history of one resource (`LookupEvents` records, newest first, as
/// JSON text) says about who last changed it: the newest successful write that the attribution
/// rules give to neither IaC nor an AWS service, nor to DriftGuard's own remediation. Records
/// that cannot be read are passed over.
pub fn last_writer(pipeline: &Pipeline, records: &[String]) -> LastWriter {
    use crate::actors::attribution::ActorKind;
    use crate::input::decode::{self, Item};
    let mut writes = 0u32;
    for (i, record) in records.iter().enumerate() {
        let mut named: Option<LastWriter> = None;
        decode::decode(record.as_bytes(), &format!("history record {i}"), &mut |_, item| {
            let Ok(item) = item else { return };
            let Item::Api { call, .. } = &item else { return };
            if named.is_some() || call.error_code.is_some() || call.read_only == Some(true) {
                return;
            }
            let time = call.time;
            pipeline.explain_each(&item, &mut |ev| {
                if named.is_some() || matches!(ev.outcome, Outcome::Skipped { reason: Skip::ReadOnly }) {
                    return;
                }
                let Some(actor) = ev.actor else { return };
                writes += 1;
                if matches!(actor.kind, ActorKind::Iac | ActorKind::AwsService)
                    || actor.rule == crate::actors::attribution::REMEDIATION_RULE
                {
                    return;
                }
                let who = actor
                    .human
                    .clone()
                    .or(actor.tool.clone())
                    .or(actor.principal.clone())
                    .unwrap_or_else(|| "an unidentified principal".to_owned());
                named = Some(LastWriter::Named {
                    who,
                    rule: actor.rule.clone(),
                    call: ev.call.clone(),
                    event_id: ev.event_id.clone(),
                    time,
                });
            });
        });
        if let Some(named) = named {
            return named;
        }
    }
    LastWriter::NobodyNamed {
        days: HISTORY_DAYS,
        events: writes,
    }
}

/// Puts what the history said on a sweep evaluation's finding and evidence (the finding's
/// summary says it). Returns whether somebody was named.
pub fn name_writer(ev: &mut Evaluation, who: LastWriter) -> bool {
    let Outcome::Config(obs) = &mut ev.outcome else {
        return false;
    };
    let named = matches!(who, LastWriter::Named { .. });
    obs.evidence.who = Some(who);
    if let Some(f) = obs.finding.as_deref_mut() {
        if let Some(config) = f.config.as_mut() {
            config.who.clone_from(&obs.evidence.who);
        }
        f.summary = crate::findings::finding::summarise(f);
    }
    named
}

/// Whether a sweep evaluation raises a finding "who did it" is asked for: drift or missing.
pub fn wants_writer(ev: &Evaluation) -> bool {
    use crate::findings::finding::FindingKind;
    matches!(&ev.outcome, Outcome::Config(obs)
        if obs.finding.as_deref().is_some_and(|f| matches!(f.kind, FindingKind::Drift | FindingKind::Missing)))
}

#[cfg(test)]
mod backfill_tests {
    use super::*;

    #[test]
    fn a_backfill_reads_its_window_an_hour_at_a_time_from_the_newest() {
        let now = Timestamp(1_790_000_000_000);
        let mut b = Backfill::new(now, 3);
        assert_eq!(b.start, Timestamp(now.0 - 3 * BACKFILL_SLICE_MS));
        let mut slices = Vec::new();
        while let Some((from, to)) = b.next_slice() {
            slices.push((now.0 - from.0, now.0 - to.0));
            b.read(from, 10, 1);
        }
        let h = BACKFILL_SLICE_MS;
        assert_eq!(slices, [(h, 0), (2 * h, h), (3 * h, 2 * h)]);
        assert!(b.complete());
        assert_eq!((b.events, b.pages), (30, 3));
        assert!(Backfill::new(now, 0).complete(), "0 hours: nothing to read");
        assert_eq!(
            Backfill::new(now, 10_000).start,
            Timestamp(now.0 - i64::from(HISTORY_DAYS) * 24 * h),
            "never past CloudTrail's 90 days"
        );
    }
}
