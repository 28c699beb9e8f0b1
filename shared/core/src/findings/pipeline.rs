//! The pipeline: decoded item → skip, finding, or IaC change, with the reasons.
//!
//! [`Pipeline::evaluate`] is pure: it reads the call, the catalog and the inventory and returns
//! an [`Evaluation`] — the outcome plus everything `explain` shows. Stores and publishers act
//! on outcomes elsewhere.

use crate::actors::attribution::{self, Actor, ActorKind, AttributionConfig, Attributor, Channel};
use crate::drift::diff::{self, AttributeChange};
use crate::drift::ignore::{IgnoreRules, Ignored, Subject};
use crate::drift::score::{self, Evidence};
use crate::findings::finding::{self, CallInfo, Finding, FindingKind, IacChange, IacOwner, ResourceInfo, Status};
use crate::findings::join::{ConfigEvidence, ConfigObservation, Origin, CONFIG_SOURCE};
use crate::iac::catalog::{Catalog, Miss, Op, Target};
use crate::iac::inventory::{Declared, Inventory};
use crate::input::config_item::{ChangeType, ConfigChange};
use crate::input::decode::Item;
use crate::input::record::ApiCall;
use serde::Serialize;
use std::collections::BTreeMap;

/// Why an item produced no finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Skip {
    /// The call failed (`errorCode`).
    FailedCall,
    /// A read-only call.
    ReadOnly,
    /// A call the catalog does not map to a resource (sign-ins, data-plane, unknown APIs).
    NotInCatalog,
    /// A catalog call whose record carries no resource id.
    NoResourceId,
    /// An AWS service acting on its own.
    AwsService,
    /// A change on a resource no loaded IaC declares, and not a creation next to resources IaC
    /// manages: outside DriftGuard's scope.
    OutsideIac,
    /// An ignore rule (built-in or `.driftignore`) covers the resource or every drifted attribute.
    Ignored,
    /// An oversized Config notification whose full item was not fetched from S3.
    ConfigOversized,
    /// An event DriftGuard itself published.
    OwnEvent,
    /// S3's notification of a state object written or deleted: iac-sync's input.
    StateObject,
    /// Interactive access to an instance, with access reporting turned off.
    AccessNotReported,
    /// A resource a CloudFormation stack owns (CDK and SAM included) that no Terraform state
    /// declares: IaC-managed, never unmanaged.
    CloudFormationOwned,
}

impl Skip {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Skip::FailedCall => "failed_call",
            Skip::ReadOnly => "read_only",
            Skip::NotInCatalog => "not_in_catalog",
            Skip::NoResourceId => "no_resource_id",
            Skip::AwsService => "aws_service",
            Skip::OutsideIac => "outside_iac",
            Skip::Ignored => "ignored",
            Skip::ConfigOversized => "config_oversized",
            Skip::OwnEvent => "own_event",
            Skip::StateObject => "state_object",
            Skip::AccessNotReported => "access_not_reported",
            Skip::CloudFormationOwned => "cloudformation_owned",
        }
    }
}

/// What became of an item.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "outcome", content = "detail", rename_all = "snake_case")]
pub enum Outcome {
    /// Nothing to record, for this reason.
    Skipped {
        /// The reason.
        reason: Skip,
    },
    /// A finding.
    Finding(Box<Finding>),
    /// A change made by IaC: resolves older findings on the resource.
    Iac(IacChange),
    /// An AWS Config item change: evidence to join with its call, or a finding of its own.
    Config(Box<ConfigObservation>),
}

/// An item's outcome and the decision trace behind it.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    /// CloudTrail `eventID` (or a Config item's resource + capture time).
    pub event_id: String,
    /// EventBridge detail-type, when it came through EventBridge.
    pub detail_type: Option<String>,
    /// `eventSource:eventName`.
    pub call: String,
    /// Attribution, for calls that got that far ([`Pipeline::explain_each`] attributes every call).
    pub actor: Option<Actor>,
    /// The resource, for calls the catalog maps.
    pub resource: Option<ResourceInfo>,
    /// The IaC declaration, when one exists.
    pub owner: Option<IacOwner>,
    /// What happened (serialised as `decision`: `{"outcome": ..., "detail": ...}`).
    #[serde(rename = "decision")]
    pub outcome: Outcome,
    /// Changes ignore rules dropped, with the rule.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub ignored: Vec<Ignored>,
}

/// The in-memory pipeline: configuration, catalog and inventory, built once.
#[derive(Debug)]
pub struct Pipeline {
    attributor: Attributor,
    catalog: Catalog,
    inventory: Inventory,
    ignore: IgnoreRules,
    report_access: bool,
    weights: score::Weights,
}

impl Pipeline {
    /// A pipeline over the given inventory.
    pub fn new(config: &AttributionConfig, inventory: Inventory) -> Self {
        Pipeline {
            attributor: Attributor::new(config),
            catalog: Catalog::new(),
            inventory,
            ignore: IgnoreRules::builtin(),
            report_access: true,
            weights: score::Weights::default(),
        }
    }

    /// Scores with these weights (a fitted version; the hand-set ones by default).
    pub fn with_weights(mut self, weights: score::Weights) -> Self {
        self.weights = weights;
        self
    }

    /// The weights findings are scored with.
    pub fn weights(&self) -> &score::Weights {
        &self.weights
    }

    /// Whether interactive access to managed instances (SSM commands and sessions, EC2 Instance
    /// Connect) gives `access` findings (the default) or is skipped as `access_not_reported`.
    pub fn with_access_findings(mut self, report: bool) -> Self {
        self.report_access = report;
        self
    }

    /// Uses these ignore rules (they include the built-in ones).
    pub fn with_ignore(mut self, rules: IgnoreRules) -> Self {
        self.ignore = rules;
        self
    }

    /// The ignore rules in force.
    pub fn ignore_rules(&self) -> &IgnoreRules {
        &self.ignore
    }

    /// The inventory.
    pub fn inventory(&self) -> &Inventory {
        &self.inventory
    }

    /// The catalog.
    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    /// Terraform types in the inventory that no catalog row names, with their counts: the
    /// resources whose manual changes DriftGuard cannot attach to their declarations.
    pub fn uncovered_types(&self) -> BTreeMap<&str, usize> {
        let known = self.catalog.terraform_types();
        self.inventory
            .type_counts()
            .into_iter()
            .filter(|(t, _)| !known.contains(t))
            .collect()
    }

    /// Evaluates one decoded item.
    pub fn evaluate(&self, item: &Item<'_>) -> Evaluation {
        match item {
            Item::Api { call, detail_type } => self.evaluate_call(call, detail_type.as_deref()),
            Item::Config(change) => self.evaluate_config(change),
            Item::Own(detail_type) => Evaluation {
                event_id: String::new(),
                detail_type: Some(detail_type.clone()),
                call: format!("{}:{detail_type}", crate::input::decode::OWN_SOURCE),
                actor: None,
                resource: None,
                owner: None,
                outcome: Outcome::Skipped { reason: Skip::OwnEvent },
                ignored: Vec::new(),
            },
            Item::StateObject(detail_type) => Evaluation {
                event_id: String::new(),
                detail_type: Some(detail_type.clone()),
                call: format!("aws.s3:{detail_type}"),
                actor: None,
                resource: None,
                owner: None,
                outcome: Outcome::Skipped {
                    reason: Skip::StateObject,
                },
                ignored: Vec::new(),
            },
        }
    }

    /// Evaluates one decoded item for a person reading the trace (`driftguard explain`): as
    /// [`Self::evaluate_each`] (one evaluation per resource the item touches), and every
    /// CloudTrail call is attributed, even one skipped before attribution (failed, read-only, not
    /// in the catalog, no resource id), since who made a call is what a reader wants first.
    /// Replay and the Lambdas keep skipping early.
    pub fn explain_each(&self, item: &Item<'_>, sink: &mut dyn FnMut(Evaluation)) {
        self.evaluate_each(item, &mut |mut evaluation| {
            if let (None, Item::Api { call, .. }) = (&evaluation.actor, item) {
                evaluation.actor = Some(self.attributor.attribute(call));
            }
            sink(evaluation)
        })
    }

    /// Evaluates one decoded item once per resource it touches: a CloudTrail call naming several
    /// resources (`CreateTags` on three instances, `TerminateInstances`, `SendCommand`) gives
    /// one evaluation each, in order; anything else gives exactly one.
    pub fn evaluate_each(&self, item: &Item<'_>, sink: &mut dyn FnMut(Evaluation)) {
        let Item::Api { call, detail_type } = item else {
            return sink(self.evaluate(item));
        };
        let detail_type = detail_type.as_deref();
        if skipped_early(call) {
            return sink(self.evaluate_call(call, detail_type));
        }
        match self.catalog.resolve_all(call) {
            Ok(targets) => {
                for target in targets {
                    sink(self.evaluate_call_on(call, detail_type, Ok(target)));
                }
            }
            Err(miss) => sink(self.evaluate_call_on(call, detail_type, Err(miss))),
        }
    }

    /// Evaluates one CloudTrail call (on the first resource it names: see
    /// [`Self::evaluate_each`]).
    pub fn evaluate_call(&self, call: &ApiCall<'_>, detail_type: Option<&str>) -> Evaluation {
        self.evaluate_call_on(call, detail_type, self.catalog.resolve(call))
    }

    /// Evaluates one CloudTrail call on one resolved resource.
    fn evaluate_call_on(
        &self,
        call: &ApiCall<'_>,
        detail_type: Option<&str>,
        resolved: Result<Target<'_>, Miss>,
    ) -> Evaluation {
        // The trace's identity; decisions fill in the rest.
        let trace = |outcome| Evaluation {
            event_id: call.event_id.to_string(),
            detail_type: detail_type.map(str::to_owned),
            call: format!("{}:{}", call.source, call.name),
            actor: None,
            resource: None,
            owner: None,
            outcome,
            ignored: Vec::new(),
        };
        let skipped = |reason| trace(Outcome::Skipped { reason });
        if call.error_code.is_some() {
            return skipped(Skip::FailedCall);
        }
        if is_read_only(call) {
            return skipped(Skip::ReadOnly);
        }
        let target = match resolved {
            Ok(t) => t,
            Err(Miss::UnknownCall) => return skipped(Skip::NotInCatalog),
            Err(Miss::NoId) => return skipped(Skip::NoResourceId),
        };
        let actor = self.attributor.attribute(call);
        let found = self.inventory.find(target.terraform, &target.id);
        let owners: Vec<&Declared> = found.iter().collect();
        let resource = resource_info(call, &target, canonical_owner(&owners, target.terraform));
        let owner = self.owner_of(&owners);
        let remediation = (actor.rule == attribution::REMEDIATION_RULE)
            .then(|| call.user_agent.as_deref().and_then(attribution::remediated_finding))
            .flatten();
        let resolving = actor.kind == ActorKind::Iac || remediation.is_some();
        let subject = subject_of(&resource, &owners);
        let mut ignored = Vec::new();
        let outcome = if resolving {
            Outcome::Iac(IacChange {
                resource_key: resource.key(),
                event_id: call.event_id.to_string(),
                time: call.time,
                by: match remediation {
                    Some(id) => format!("DriftGuard remediation of {id}"),
                    None => actor
                        .tool
                        .clone()
                        .or_else(|| actor.principal.clone())
                        .unwrap_or_else(|| actor.rule.clone()),
                },
                restores: Vec::new(),
                finding: remediation.map(str::to_owned),
                baseline: false,
            })
        } else if actor.kind == ActorKind::AwsService {
            Outcome::Skipped {
                reason: Skip::AwsService,
            }
        } else if let Some(rule) = self.ignore.resource(&subject) {
            ignored.push(Ignored::by(rule, None));
            Outcome::Skipped { reason: Skip::Ignored }
        } else if target.entry.op == Op::Access && !self.report_access {
            Outcome::Skipped {
                reason: Skip::AccessNotReported,
            }
        } else if !self.in_scope(
            !owners.is_empty(),
            target.entry.op == Op::Create,
            target.terraform,
            &resource.account,
            &resource.region,
        ) {
            Outcome::Skipped {
                reason: Skip::OutsideIac,
            }
        } else {
            let f = self.finding(
                call,
                &target,
                &owners,
                &actor,
                resource.clone(),
                owner.clone(),
                &mut ignored,
            );
            match f {
                Some((f, deltas)) if is_proven_no_op(&f) => Outcome::Iac(restore(&f, &deltas)),
                Some((f, _)) => Outcome::Finding(Box::new(f)),
                None => Outcome::Skipped { reason: Skip::Ignored },
            }
        };
        Evaluation {
            actor: Some(actor),
            resource: Some(resource),
            owner,
            ignored,
            ..trace(outcome)
        }
    }

    /// Whether a change is DriftGuard's business: the resource is IaC-managed, or it was created
    /// by hand next to resources of its type that IaC manages (an unmanaged resource).
    fn in_scope(&self, managed: bool, creates: bool, tf_types: &[&str], account: &str, region: &str) -> bool {
        managed || (creates && self.inventory.has_neighbours(tf_types, account, region))
    }

    /// Drops the attribute changes ignore rules cover, recording them. Returns false when every
    /// drifted attribute was dropped (the change is noise).
    fn drop_ignored(
        &self,
        subject: &Subject<'_>,
        changes: &mut Vec<AttributeChange>,
        ignored: &mut Vec<Ignored>,
    ) -> bool {
        let had_drift = changes.iter().any(|c| c.drifted);
        changes.retain(|c| match self.ignore.attribute(subject, &c.attribute) {
            Some(rule) => {
                ignored.push(Ignored::by(rule, Some(&c.attribute)));
                false
            }
            None => true,
        });
        !had_drift || changes.iter().any(|c| c.drifted)
    }

    /// The owner record for a resource's declarations (primary first).
    fn owner_of(&self, owners: &[&Declared]) -> Option<IacOwner> {
        let (primary, rest) = owners.split_first()?;
        Some(IacOwner {
            state: self.inventory.state_origin(primary).to_owned(),
            address: primary.address.clone(),
            related: rest.iter().map(|d| d.address.clone()).collect(),
            stack: None,
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn finding(
        &self,
        call: &ApiCall<'_>,
        target: &Target<'_>,
        owners: &[&Declared],
        actor: &Actor,
        resource: ResourceInfo,
        owner: Option<IacOwner>,
        ignored: &mut Vec<Ignored>,
    ) -> Option<(Finding, Vec<diff::SetDelta>)> {
        let diff::Comparison { mut changes, deltas } = match (
            owners.is_empty(),
            diff::rule_for(&call.source, &call.name),
            call.request,
        ) {
            (false, Some(rule), Some(raw)) => match serde_json::from_str(raw.get()) {
                Ok(request) => {
                    let response: Option<serde_json::Value> = call
                        .response
                        .filter(|_| rule.reads_response())
                        .and_then(|raw| serde_json::from_str(raw.get()).ok());
                    diff::compare(rule, &request, response.as_ref(), owners)
                }
                Err(_) => diff::Comparison::default(),
            },
            _ => diff::Comparison::default(),
        };
        if !self.drop_ignored(&subject_of(&resource, owners), &mut changes, ignored) {
            return None;
        }
        let evidence = Evidence {
            actor: actor.kind,
            channel: actor.channel,
            managed: !owners.is_empty(),
            op: target.entry.op,
            changes: &changes,
            account: &resource.account,
        };
        let (likelihood, factors) = score::likelihood_with(&evidence, &self.weights);
        let tags = crate::iac::inventory::declared_tags(owners);
        let (severity, severity_reasons) =
            score::severity(&resource.resource_type, &evidence, finding::environment_of(&tags));
        let mut f = Finding {
            id: finding::finding_id(&call.event_id, &resource.resource_type, &resource.id),
            kind: match (owners.is_empty(), target.entry.op) {
                (true, _) => FindingKind::Unmanaged,
                (false, Op::Delete) => FindingKind::Missing,
                (false, Op::Access) => FindingKind::Access,
                (false, _) => FindingKind::Drift,
            },
            status: Status::Open,
            resolution: None,
            resource,
            owner,
            actor: actor.clone(),
            call: CallInfo {
                event_id: call.event_id.to_string(),
                source: call.source.to_string(),
                name: call.name.to_string(),
                time: call.time,
            },
            changes,
            likelihood,
            factors,
            severity,
            severity_reasons,
            summary: String::new(),
            fix: String::new(),
            revision: 1,
            config: None,
            tags,
            weights_version: self.weights.version.clone(),
        };
        f.summary = finding::summarise(&f);
        f.fix = finding::suggest_fix(&f);
        Some((f, deltas))
    }
}

/// A manual change on a managed resource whose every compared attribute still equals (or was
/// set back to) its declared value: not drift. It is recorded as manual activity on the resource
/// and resolves the open findings it undoes.
fn is_proven_no_op(f: &Finding) -> bool {
    f.kind == FindingKind::Drift && !f.changes.is_empty() && f.changes.iter().all(|c| !c.drifted)
}

/// The manual activity a proven no-op is recorded as: who, and what it put back: a value set
/// back, or for a set-valued attribute the items the call added and took away (the
/// comparison's delta), so that it resolves exactly the findings it undoes.
fn restore(f: &Finding, deltas: &[diff::SetDelta]) -> IacChange {
    let who = f.who().unwrap_or("someone");
    let restores = f
        .changes
        .iter()
        .map(
            |c| match (&c.found, deltas.iter().find(|d| d.attribute == c.attribute)) {
                (serde_json::Value::Array(_), delta) => {
                    let delta = delta.cloned().unwrap_or_default();
                    finding::Restore {
                        attribute: c.attribute.clone(),
                        value: None,
                        added: delta.added,
                        removed: delta.removed,
                        removed_keys: delta.removed_keys,
                        whole: delta.whole,
                    }
                }
                (v, _) => finding::Restore {
                    attribute: c.attribute.clone(),
                    value: Some(v.clone()),
                    added: Vec::new(),
                    removed: Vec::new(),
                    removed_keys: Vec::new(),
                    whole: false,
                },
            },
        )
        .collect();
    IacChange {
        resource_key: f.resource.key(),
        event_id: f.call.event_id.clone(),
        time: f.call.time,
        by: format!("{who} (by hand, back to the declared value)"),
        restores,
        finding: None,
        baseline: false,
    }
}

/// Whether the call is failed or read-only: skipped before the catalog is asked.
fn skipped_early(call: &ApiCall<'_>) -> bool {
    call.error_code.is_some() || is_read_only(call)
}

fn is_read_only(call: &ApiCall<'_>) -> bool {
    call.read_only == Some(true) || (call.read_only.is_none() && looks_read_only(&call.name))
}

/// Names CloudTrail uses for calls that change nothing, for records without `readOnly`.
fn looks_read_only(name: &str) -> bool {
    [
        "Describe", "Get", "List", "Head", "Lookup", "Search", "BatchGet", "Scan", "Query",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

/// The declaration that names a managed resource: the first owner when it is of the type's
/// main Terraform type (so that a call naming a resource by name, by ARN or by unique id, and a
/// Config item, all key the resource by the same id).
fn canonical_owner<'d>(owners: &[&'d Declared], tf_types: &[&str]) -> Option<&'d Declared> {
    owners
        .first()
        .copied()
        .filter(|d| tf_types.first() == Some(&d.tf_type.as_str()) && d.str_attr("id").is_some())
}

fn subject_of<'a>(resource: &'a ResourceInfo, owners: &[&'a Declared]) -> Subject<'a> {
    Subject {
        resource_type: &resource.resource_type,
        tf_type: owners.first().map(|d| d.tf_type.as_str()),
        id: &resource.id,
        arn: resource.arn.as_deref(),
        address: owners.first().map(|d| d.address.as_str()),
    }
}

fn resource_info(call: &ApiCall<'_>, target: &Target<'_>, primary: Option<&Declared>) -> ResourceInfo {
    let arn = if target.id.starts_with("arn:") {
        Some(target.id.to_string())
    } else {
        primary.and_then(|d| d.str_attr("arn")).map(str::to_owned)
    };
    let id = primary.and_then(|d| d.str_attr("id")).unwrap_or(&target.id);
    ResourceInfo {
        resource_type: target.resource_type.to_owned(),
        id: id.to_owned(),
        arn,
        account: call.account.to_string(),
        region: call.region.to_string(),
    }
}

impl Pipeline {
    /// Evaluates one AWS Config item change: compares the live item with its declaration
    /// (attribute maps in [`crate::drift::config_map`]) and returns the observation the store joins with
    /// the call that caused it.
    pub fn evaluate_config(&self, change: &ConfigChange) -> Evaluation {
        self.evaluate_config_as(change, Origin::Event)
    }

    /// Evaluates a configuration item the reconcile sweep read (or, for a declared resource
    /// Config does not hold, the stand-in [`crate::findings::sweep`] builds): the whole item is
    /// compared with the declaration, whatever changed last; a resource no state declares is
    /// unmanaged whenever it exists next to managed ones of its type (not only when created);
    /// attributes read at `tags` are left out when the item carries no tags
    /// (`BatchGetResourceConfig` returns none); the evidence lists the compared attributes that
    /// match the declaration, so that the store resolves what a resource back in line undoes.
    /// The evaluation's `event_id` is `sweep:<observation>:<digest of the outcome>`: a later
    /// sweep reading the same item with the same outcome is a duplicate, one with a new
    /// declaration is not.
    pub fn evaluate_live(&self, change: &ConfigChange) -> Evaluation {
        self.evaluate_config_as(change, Origin::Sweep)
    }

    fn evaluate_config_as(&self, change: &ConfigChange, origin: Origin) -> Evaluation {
        let sweep = origin == Origin::Sweep;
        let tf_types = self.catalog.terraform_for(&change.resource_type);
        let found = [
            Some(change.resource_id.as_str()),
            change.resource_name.as_deref(),
            change.arn.as_deref(),
        ]
        .into_iter()
        .flatten()
        .map(|id| self.inventory.find(&tf_types, id))
        .find(|found| !found.is_empty())
        .unwrap_or_default();
        let owners: Vec<&Declared> = found.iter().collect();
        let primary = canonical_owner(&owners, &tf_types);
        let resource = ResourceInfo {
            resource_type: change.resource_type.clone(),
            id: primary
                .and_then(|d| d.str_attr("id"))
                .unwrap_or(&change.resource_id)
                .to_owned(),
            arn: change
                .arn
                .clone()
                .or_else(|| primary.and_then(|d| d.str_attr("arn")).map(str::to_owned)),
            account: change.account.clone(),
            region: change.region.clone(),
        };
        let owner = self.owner_of(&owners);
        let mut ev = Evaluation {
            event_id: change.key(),
            detail_type: Some(crate::input::decode::CONFIG_DETAIL_TYPE.to_owned()),
            call: format!("config:{}", change.change_type.as_deref().unwrap_or("UNKNOWN")),
            actor: None,
            resource: Some(resource.clone()),
            owner: owner.clone(),
            outcome: Outcome::Skipped {
                reason: Skip::ConfigOversized,
            },
            ignored: Vec::new(),
        };
        if change.is_oversized() {
            return ev;
        }
        let subject = subject_of(&resource, &owners);
        if let Some(rule) = self.ignore.resource(&subject) {
            ev.ignored.push(Ignored::by(rule, None));
            ev.outcome = Outcome::Skipped { reason: Skip::Ignored };
            return ev;
        }
        let managed = !owners.is_empty();
        let kind = match (sweep, change.kind(), managed) {
            (true, ChangeType::Delete, _) => ChangeType::Delete,
            (true, _, true) => ChangeType::Update,
            (true, _, false) => ChangeType::Create,
            (false, kind, _) => kind,
        };
        if !managed && change.cloudformation_stack().is_some() {
            ev.outcome = Outcome::Skipped {
                reason: Skip::CloudFormationOwned,
            };
            return ev;
        }
        let tf_main: &[&str] = tf_types.get(..1).unwrap_or_default();
        if !self.in_scope(
            managed,
            kind == ChangeType::Create,
            tf_main,
            &change.account,
            &change.region,
        ) {
            ev.outcome = Outcome::Skipped {
                reason: Skip::OutsideIac,
            };
            return ev;
        }
        let mut compared = match (managed, kind) {
            (true, ChangeType::Update | ChangeType::Create) => {
                crate::drift::config_map::compare(&change.resource_type, &change.item, &owners)
            }
            _ => None,
        };
        if sweep && change.item.get("tags").is_none() {
            if let Some(compared) = compared.as_mut() {
                compared.retain(|c| !reads_tags(&change.resource_type, &c.attribute));
            }
        }
        // An item is compared whole, but it records one change: keep the drift in what this item
        // changed (older drift belongs to the item or call that made it).
        let changed = change.changed_property_names();
        let mut drifted: Vec<AttributeChange> = compared
            .iter()
            .flatten()
            .filter(|c| c.drifted && touches(&change.resource_type, &c.attribute, &changed))
            .cloned()
            .collect();
        // An item whose drift is all ignored is, for the join, an item that matches IaC.
        let _ = self.drop_ignored(&subject, &mut drifted, &mut ev.ignored);
        let in_line: Vec<String> = if sweep {
            compared
                .iter()
                .flatten()
                .filter(|c| !c.drifted || !drifted.iter().any(|d| d.attribute == c.attribute))
                .map(|c| c.attribute.clone())
                .collect()
        } else {
            Vec::new()
        };
        let op = match kind {
            ChangeType::Create => Op::Create,
            ChangeType::Update => Op::Update,
            ChangeType::Delete => Op::Delete,
        };
        let scoring = Evidence {
            actor: ActorKind::Unknown,
            channel: Channel::Other,
            managed,
            op,
            changes: &drifted,
            account: &change.account,
        };
        let tags = crate::iac::inventory::declared_tags(&owners);
        let (severity, severity_reasons) =
            score::severity(&change.resource_type, &scoring, finding::environment_of(&tags));
        let observation = format!(
            "cfg-{:016x}",
            crate::util::fnv::hash_parts(&[&resource.key(), &change.capture_time.to_string()])
        );
        let mut evidence = ConfigEvidence {
            observation: observation.clone(),
            capture_time: change.capture_time,
            arn: resource.arn.clone(),
            change: kind,
            compared: compared.is_some(),
            drifted: drifted.clone(),
            changed_properties: if compared.is_some() {
                Vec::new()
            } else {
                change.changed_property_names()
            },
            severity,
            severity_reasons: severity_reasons.clone(),
            factor_weight: None,
            origin,
            in_line,
            who: None,
        };
        evidence.factor_weight = Some(self.weights.weight(evidence.factor()));
        if sweep {
            ev.event_id = sweep_key(&evidence, owner.as_ref());
            ev.detail_type = Some(SWEEP_DETAIL_TYPE.to_owned());
            ev.call = format!("sweep:{}", if change.status.is_empty() { "OK" } else { &change.status });
        }
        let finding = evidence.shows_drift().then(|| {
            // Scored without the diff factors: the Config factor carries that evidence.
            let (_, mut factors) = score::likelihood_with(
                &Evidence {
                    changes: &[],
                    ..scoring
                },
                &self.weights,
            );
            factors.push(self.weights.factor(evidence.factor()));
            let mut f = Finding {
                id: finding::finding_id(&observation, &resource.resource_type, &resource.id),
                kind: match (managed, kind) {
                    (false, _) => FindingKind::Unmanaged,
                    (true, ChangeType::Delete) => FindingKind::Missing,
                    (true, _) => FindingKind::Drift,
                },
                status: Status::Open,
                resolution: None,
                resource: resource.clone(),
                owner: owner.clone(),
                actor: Actor {
                    kind: ActorKind::Unknown,
                    channel: Channel::Other,
                    tool: None,
                    principal: None,
                    role: None,
                    human: None,
                    source_ip: None,
                    user_agent: None,
                    rule: if sweep { SWEEP_RULE } else { "config.no-cloudtrail-call" }.into(),
                },
                call: CallInfo {
                    event_id: observation.clone(),
                    source: CONFIG_SOURCE.into(),
                    name: if sweep { SWEEP_CALL } else { "ConfigurationItemChange" }.into(),
                    time: change.capture_time,
                },
                changes: evidence.drifted.clone(),
                likelihood: score::from_factors(&factors),
                factors,
                severity,
                severity_reasons,
                summary: String::new(),
                fix: String::new(),
                revision: 1,
                config: Some(evidence.clone()),
                tags,
                weights_version: self.weights.version.clone(),
            };
            f.summary = finding::summarise(&f);
            f.fix = finding::suggest_fix(&f);
            Box::new(f)
        });
        ev.outcome = Outcome::Config(Box::new(ConfigObservation {
            resource,
            evidence,
            finding,
        }));
        ev
    }
}

/// The detail-type of a sweep's evaluations.
pub const SWEEP_DETAIL_TYPE: &str = "Reconcile Sweep";
/// The attribution rule of a sweep finding before anyone is named.
pub const SWEEP_RULE: &str = "sweep.no-cloudtrail-call";
/// The call name of a sweep finding (its source is [`CONFIG_SOURCE`]).
pub const SWEEP_CALL: &str = "ReconcileSweep";

/// Whether an attribute of a mapped type is read from the item's `tags`.
fn reads_tags(resource_type: &str, attribute: &str) -> bool {
    crate::drift::config_map::map_for(resource_type)
        .into_iter()
        .flat_map(|m| m.attributes.iter())
        .any(|row| row.attribute == attribute && row.config_path.split('.').next() == Some("tags"))
}

/// A sweep evaluation's idempotency key: the observation and what it concluded (the drifted
/// values, the attributes in line, the declaration it was judged against), so that reading the
/// same item again is a duplicate and judging it against a new declaration is not.
fn sweep_key(evidence: &ConfigEvidence, owner: Option<&IacOwner>) -> String {
    let drifted = serde_json::to_string(&evidence.drifted).unwrap_or_default();
    let in_line = evidence.in_line.join(",");
    let owner = owner.map_or(String::new(), |o| format!("{}#{}", o.state, o.address));
    let change = format!("{:?}", evidence.change);
    let digest = crate::util::fnv::hash_parts(&[&drifted, &in_line, &owner, &change]);
    format!("sweep:{}:{digest:016x}", evidence.observation)
}

/// Whether attribute `attribute` of a mapped type is among the properties a Config item reports
/// changed (`SupplementaryConfiguration.BucketVersioningConfiguration.Status`,
/// `Configuration.IpPermissions.1`, ...). Paths compare case-insensitively, without list
/// indices or selectors; an item that names no changed property (a creation, a first
/// recording) touches every attribute.
fn touches(resource_type: &str, attribute: &str, changed: &[String]) -> bool {
    if changed.is_empty() {
        return true;
    }
    let plain = |p: &str| -> String {
        p.split('.')
            .map(|seg| seg.split('[').next().unwrap_or(seg))
            .filter(|seg| !seg.is_empty() && !seg.bytes().all(|b| b.is_ascii_digit()))
            .collect::<Vec<_>>()
            .join(".")
            .to_ascii_lowercase()
    };
    let changed: Vec<String> = changed.iter().map(|c| plain(c)).collect();
    crate::drift::config_map::map_for(resource_type)
        .into_iter()
        .flat_map(|m| m.attributes.iter())
        .filter(|row| row.attribute == attribute)
        .map(|row| plain(row.config_path))
        .any(|path| {
            changed.iter().any(|c| {
                c.starts_with(&path) || path.starts_with(c.as_str()) || (path == "tags" && c.starts_with("tags"))
            })
        })
}

/// Counts of what a run read and decided.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stats {
    /// Items decoded (CloudTrail records and Config changes).
    pub events: u64,
    /// Items or documents that could not be decoded.
    pub errors: u64,
    /// Skipped items by reason.
    pub skipped: BTreeMap<&'static str, u64>,
    /// IaC changes seen.
    pub iac_changes: u64,
    /// AWS Config item changes evaluated (joined with calls or standing alone).
    pub config_items: u64,
    /// Changes dropped by ignore rules (a whole resource counts once).
    pub ignored: u64,
    /// Findings by kind and severity (`drift/critical`).
    pub findings: BTreeMap<String, u64>,
}

impl Stats {
    /// Counts one evaluation.
    pub fn count(&mut self, ev: &Evaluation) {
        self.events += 1;
        self.ignored += ev.ignored.len() as u64;
        match &ev.outcome {
            Outcome::Skipped { reason } => *self.skipped.entry(reason.as_str()).or_insert(0) += 1,
            Outcome::Iac(_) => self.iac_changes += 1,
            // Whether a Config item becomes a finding of its own depends on the join (the store).
            Outcome::Config(_) => self.config_items += 1,
            Outcome::Finding(f) => {
                *self
                    .findings
                    .entry(format!("{}/{}", f.kind.as_str(), f.severity.as_str()))
                    .or_insert(0) += 1;
            }
        }
    }

    /// Total findings.
    pub fn total_findings(&self) -> u64 {
        self.findings.values().sum()
    }

    /// Total skipped.
    pub fn total_skipped(&self) -> u64 {
        self.skipped.values().sum()
    }
}
