//! CloudFormation (CDK, SAM) ownership and drift, sans IO.
//!
//! A manual change on a resource no Terraform state declares is outside DriftGuard's scope
//! ([`Skip::OutsideIac`]) unless a CloudFormation stack owns it. For such a change this module
//! says what to ask ([`query`]: the physical id), asks through the [`StackOwnership`] port
//! ([`check`]: `DescribeStackResources` by physical id, then `DetectStackResourceDrift` on
//! that one resource, within a [`Budget`]) and turns the answer into the evaluation's outcome
//! ([`apply`]):
//!
//! - `MODIFIED` / `DELETED`: a drift (or missing) finding whose changes are CloudFormation's
//!   `PropertyDifferences` (the property path, the template's value as expected, the live value
//!   as found), scored and given a severity like any finding, its owner naming the stack, the
//!   logical id and the stack id;
//! - `IN_SYNC`: no finding: the resource matches its template (the change set a value back, or
//!   touched nothing the template declares); recorded as manual activity, which resolves the
//!   resource's open findings as an apply would;
//! - `NOT_CHECKED` (the type does not support drift detection), a failed drift call, or a
//!   spent budget: a finding that says the resource was changed out of band on the stack and why
//!   drift was not checked. A platform engineer wants to know a stack's resource was changed by
//!   hand even when CloudFormation cannot compare it: the next stack update may undo the change
//!   or fail on it.
//!
//! Finding ids are those of any call on a resource (event id, type, id), so a redelivered event
//! gives the same finding and the store keeps the first.

use crate::actors::attribution::{Actor, ActorKind};
use crate::drift::diff::AttributeChange;
use crate::drift::score::{self, Evidence};
use crate::findings::finding::{self, CallInfo, Finding, FindingKind, IacChange, IacOwner, ResourceInfo, Status};
use crate::findings::pipeline::{Evaluation, Outcome, Pipeline, Skip};
use crate::iac::catalog::Op;
use crate::input::decode::Item;
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::future::Future;

/// A resource of a stack, as `DescribeStackResources` names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackResource {
    /// `StackName`.
    pub stack_name: String,
    /// `StackId` (the stack's ARN).
    pub stack_id: String,
    /// `LogicalResourceId`: the resource's name in the template.
    pub logical_id: String,
    /// `PhysicalResourceId`.
    pub physical_id: String,
    /// `ResourceType`, e.g. `AWS::S3::Bucket`.
    pub resource_type: String,
}

/// `StackResourceDriftStatus`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DriftStatus {
    /// The live resource matches the template.
    InSync,
    /// It differs from the template.
    Modified,
    /// It was deleted.
    Deleted,
    /// CloudFormation does not check drift for it (its type does not support drift detection).
    NotChecked,
    /// A status this version does not know, kept as sent.
    Other(String),
}

impl DriftStatus {
    /// From the wire value (`IN_SYNC`, `MODIFIED`, `DELETED`, `NOT_CHECKED`).
    pub fn from_wire(s: &str) -> Self {
        match s {
            "IN_SYNC" => DriftStatus::InSync,
            "MODIFIED" => DriftStatus::Modified,
            "DELETED" => DriftStatus::Deleted,
            "NOT_CHECKED" => DriftStatus::NotChecked,
            other => DriftStatus::Other(other.to_owned()),
        }
    }

    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            DriftStatus::InSync => "IN_SYNC",
            DriftStatus::Modified => "MODIFIED",
            DriftStatus::Deleted => "DELETED",
            DriftStatus::NotChecked => "NOT_CHECKED",
            DriftStatus::Other(s) => s,
        }
    }
}

/// `DifferenceType` of one property difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DifferenceType {
    /// A value was added (the template does not hold it).
    Add,
    /// A value the template holds was removed.
    Remove,
    /// The value differs.
    NotEqual,
    /// A type this version does not know, kept as sent.
    Other(String),
}

impl DifferenceType {
    /// From the wire value (`ADD`, `REMOVE`, `NOT_EQUAL`).
    pub fn from_wire(s: &str) -> Self {
        match s {
            "ADD" => DifferenceType::Add,
            "REMOVE" => DifferenceType::Remove,
            "NOT_EQUAL" => DifferenceType::NotEqual,
            other => DifferenceType::Other(other.to_owned()),
        }
    }
}

/// One of `PropertyDifferences`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PropertyDifference {
    /// `PropertyPath`, e.g. `/MemorySize`, `/SecurityGroupIngress/1`.
    pub path: String,
    /// `ExpectedValue`: the template's value, as JSON text or a plain string.
    pub expected: Option<String>,
    /// `ActualValue`: the live value.
    pub actual: Option<String>,
    /// `DifferenceType`.
    pub kind: DifferenceType,
}

/// What `DetectStackResourceDrift` said about one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackResourceDrift {
    /// `StackResourceDriftStatus`.
    pub status: DriftStatus,
    /// `PropertyDifferences` (for `MODIFIED`).
    pub differences: Vec<PropertyDifference>,
    /// `Timestamp`: when CloudFormation checked.
    pub checked_at: Option<Timestamp>,
}

/// The CloudFormation calls DriftGuard makes (an adapter in `shared/aws`; [`NoStacks`] where
/// there is none, as in the CLI's embedded path).
pub trait StackOwnership {
    /// The adapter's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// The stack resource whose physical id is `physical_id`, or `None` when no stack owns it
    /// (`DescribeStackResources` answers "Stack for <id> does not exist").
    fn stack_of(&self, physical_id: &str) -> impl Future<Output = Result<Option<StackResource>, Self::Error>> + Send;

    /// Drift detection on that one resource (`DetectStackResourceDrift`).
    fn detect_drift(
        &self,
        resource: &StackResource,
    ) -> impl Future<Output = Result<StackResourceDrift, Self::Error>> + Send;
}

/// No CloudFormation: nothing is owned by a stack.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoStacks;

impl StackOwnership for NoStacks {
    type Error = std::convert::Infallible;

    fn stack_of(&self, _: &str) -> impl Future<Output = Result<Option<StackResource>, Self::Error>> + Send {
        std::future::ready(Ok(None))
    }

    fn detect_drift(&self, _: &StackResource) -> impl Future<Output = Result<StackResourceDrift, Self::Error>> + Send {
        std::future::ready(Ok(StackResourceDrift {
            status: DriftStatus::NotChecked,
            differences: Vec::new(),
            checked_at: None,
        }))
    }
}

/// A change to ask CloudFormation about.
#[derive(Debug, Clone, PartialEq)]
pub struct StackQuery {
    /// The id to look up: the resource id as the call names it.
    pub physical_id: String,
    /// The call's operation on the resource.
    pub op: Op,
    /// The call.
    pub call: CallInfo,
}

/// The change to ask CloudFormation about, for an evaluation of `item`: a manual (neither IaC
/// nor an AWS service) successful write on a resource no Terraform state declares, skipped as
/// outside IaC, that is not a creation (nothing created by hand is a stack's resource) nor
/// interactive access (an SSM command changes nothing a template declares).
pub fn query(pipeline: &Pipeline, item: &Item<'_>, ev: &Evaluation) -> Option<StackQuery> {
    let Item::Api { call, .. } = item else { return None };
    if !matches!(
        ev.outcome,
        Outcome::Skipped {
            reason: Skip::OutsideIac
        }
    ) || ev.owner.is_some()
    {
        return None;
    }
    let actor = ev.actor.as_ref()?;
    if matches!(actor.kind, ActorKind::Iac | ActorKind::AwsService) {
        return None;
    }
    let resource = ev.resource.as_ref()?;
    let op = pipeline
        .catalog()
        .resolve_all(call)
        .ok()?
        .into_iter()
        .find(|t| t.id == resource.id && t.resource_type == resource.resource_type)
        .map_or(Op::Update, |t| t.entry.op);
    if matches!(op, Op::Create | Op::Access) || resource.id.is_empty() {
        return None;
    }
    Some(StackQuery {
        physical_id: resource.id.clone(),
        op,
        call: CallInfo {
            event_id: call.event_id.to_string(),
            source: call.source.to_string(),
            name: call.name.to_string(),
            time: call.time,
        },
    })
}

/// How many drift checks one invocation may still make (CloudFormation's API is throttled per
/// account; a burst of manual changes must not spend it all).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// `DetectStackResourceDrift` calls left.
    pub drift_checks: u32,
}

/// CloudFormation's answer about one change.
#[derive(Debug, Clone, PartialEq)]
pub enum StackAnswer {
    /// No stack owns the resource.
    NotOwned,
    /// The ownership lookup failed: nothing is known (logged by the caller; the change stays
    /// outside IaC).
    Unknown {
        /// The error.
        error: String,
    },
    /// A stack owns it and its drift was checked.
    Checked {
        /// The stack resource.
        stack: StackResource,
        /// The drift.
        drift: StackResourceDrift,
    },
    /// A stack owns it and its drift was not checked.
    Unchecked {
        /// The stack resource.
        stack: StackResource,
        /// Why (the error, or the spent budget).
        reason: String,
        /// The drift call failed (rather than the budget being spent).
        failed: bool,
    },
}

/// Asks CloudFormation about `query`: who owns the resource, then (within `budget`) its drift.
pub async fn check<P: StackOwnership>(port: &P, query: &StackQuery, budget: &mut Budget) -> StackAnswer {
    let stack = match port.stack_of(&query.physical_id).await {
        Ok(Some(stack)) => stack,
        Ok(None) => return StackAnswer::NotOwned,
        Err(e) => {
            return StackAnswer::Unknown {
                error: format!("DescribeStackResources for {}: {e}", query.physical_id),
            }
        }
    };
    if budget.drift_checks == 0 {
        return StackAnswer::Unchecked {
            stack,
            reason: "this invocation's budget of CloudFormation drift checks is spent".into(),
            failed: false,
        };
    }
    budget.drift_checks -= 1;
    match port.detect_drift(&stack).await {
        Ok(drift) => StackAnswer::Checked { stack, drift },
        Err(e) => StackAnswer::Unchecked {
            reason: format!(
                "DetectStackResourceDrift on {} in stack {} failed: {e}",
                stack.logical_id, stack.stack_name
            ),
            stack,
            failed: true,
        },
    }
}

/// The owner record of a stack's resource.
pub fn owner_of(stack: &StackResource, drift: &str, not_checked: Option<String>) -> IacOwner {
    IacOwner {
        state: stack.stack_id.clone(),
        address: stack.logical_id.clone(),
        related: Vec::new(),
        stack: Some(finding::StackOwner {
            name: stack.stack_name.clone(),
            id: stack.stack_id.clone(),
            logical_id: stack.logical_id.clone(),
            drift: drift.to_owned(),
            not_checked,
        }),
    }
}

/// A property value as JSON: the text parsed when it is JSON (`128`, `{"CidrIp": ...}`),
/// else the text itself; `null` when absent.
fn value_of(text: Option<&str>) -> Value {
    match text {
        None => Value::Null,
        Some(t) => serde_json::from_str(t).unwrap_or_else(|_| Value::String(t.to_owned())),
    }
}

/// The attribute changes of a drift result: one per property difference, named by its
/// property path, expected the template's value (`null` for an added one), found the live value
/// (`null` for a removed one).
pub fn changes_of(stack: &StackResource, drift: &StackResourceDrift) -> Vec<AttributeChange> {
    drift
        .differences
        .iter()
        .map(|d| AttributeChange {
            attribute: d.path.clone(),
            declared_in: Some(stack.logical_id.clone()),
            expected: if d.kind == DifferenceType::Add {
                Value::Null
            } else {
                value_of(d.expected.as_deref())
            },
            found: if d.kind == DifferenceType::Remove {
                Value::Null
            } else {
                value_of(d.actual.as_deref())
            },
            drifted: true,
        })
        .collect()
}

/// What the severity rules read, in their terms, from CloudFormation property differences:
/// security-group ingress added (`tcp 22 0.0.0.0/0`) and a bucket's public access block
/// turned off. Data, one row per property.
static SEVERITY_VIEW: &[(&str, &str, &str)] = &[
    // (resource type, property path prefix, attribute the severity rules know)
    ("AWS::EC2::SecurityGroup", "/SecurityGroupIngress", "ingress"),
    (
        "AWS::S3::Bucket",
        "/PublicAccessBlockConfiguration/BlockPublicAcls",
        "block_public_acls",
    ),
    (
        "AWS::S3::Bucket",
        "/PublicAccessBlockConfiguration/IgnorePublicAcls",
        "ignore_public_acls",
    ),
    (
        "AWS::S3::Bucket",
        "/PublicAccessBlockConfiguration/BlockPublicPolicy",
        "block_public_policy",
    ),
    (
        "AWS::S3::Bucket",
        "/PublicAccessBlockConfiguration/RestrictPublicBuckets",
        "restrict_public_buckets",
    ),
];

/// A CloudFormation ingress rule (`{"CidrIp": "0.0.0.0/0", "FromPort": 22, "IpProtocol": "tcp",
/// "ToPort": 22}`) as the severity rules write it (`tcp 22 0.0.0.0/0`).
fn ingress_text(rule: &Value) -> Option<String> {
    let proto = rule.get("IpProtocol").and_then(Value::as_str)?;
    let port = |k: &str| {
        rule.get(k)
            .and_then(|v| v.as_i64().or_else(|| v.as_str().and_then(|s| s.parse().ok())))
    };
    let (from, to) = (port("FromPort"), port("ToPort"));
    let ports = match (from, to) {
        (Some(f), Some(t)) if f == t => f.to_string(),
        (Some(f), Some(t)) => format!("{f}-{t}"),
        _ => "all".to_owned(),
    };
    let peer = rule
        .get("CidrIp")
        .or_else(|| rule.get("CidrIpv6"))
        .and_then(Value::as_str)?;
    let proto = if proto == "-1" { "all" } else { proto };
    Some(format!("{proto} {ports} {peer}"))
}

/// The changes the severity rules read (see [`SEVERITY_VIEW`]).
fn severity_view(resource_type: &str, changes: &[AttributeChange]) -> Vec<AttributeChange> {
    let mut out = Vec::new();
    for c in changes {
        let Some((_, _, attribute)) = SEVERITY_VIEW
            .iter()
            .find(|(t, prefix, _)| *t == resource_type && c.attribute.starts_with(prefix))
        else {
            continue;
        };
        if *attribute == "ingress" {
            let added: Vec<Value> = match &c.found {
                Value::Array(rules) => rules.iter().filter_map(ingress_text).map(Value::String).collect(),
                rule => ingress_text(rule).map(Value::String).into_iter().collect(),
            };
            if c.expected.is_null() && !added.is_empty() {
                out.push(AttributeChange {
                    attribute: "ingress".into(),
                    declared_in: c.declared_in.clone(),
                    expected: Value::Array(Vec::new()),
                    found: Value::Array(added),
                    drifted: true,
                });
            }
        } else {
            let flag = |v: &Value| match v {
                Value::Bool(b) => Some(*b),
                Value::String(s) => s.parse().ok(),
                _ => None,
            };
            out.push(AttributeChange {
                attribute: (*attribute).to_owned(),
                declared_in: c.declared_in.clone(),
                expected: flag(&c.expected).map_or(Value::Null, Value::Bool),
                found: flag(&c.found).map_or(Value::Null, Value::Bool),
                drifted: true,
            });
        }
    }
    out
}

/// Turns CloudFormation's answer into the evaluation's outcome (see the module header). A
/// [`StackAnswer::NotOwned`] or [`StackAnswer::Unknown`] answer leaves it as it was.
pub fn apply(pipeline: &Pipeline, ev: &mut Evaluation, query: &StackQuery, answer: StackAnswer) {
    let (Some(resource), Some(actor)) = (ev.resource.clone(), ev.actor.clone()) else {
        return;
    };
    let (stack, status, changes, not_checked) = match answer {
        StackAnswer::NotOwned | StackAnswer::Unknown { .. } => return,
        StackAnswer::Checked { stack, drift } => {
            let changes = changes_of(&stack, &drift);
            let not_checked = match &drift.status {
                DriftStatus::NotChecked => Some(format!(
                    "CloudFormation does not check drift for {} (NOT_CHECKED)",
                    stack.resource_type
                )),
                DriftStatus::Other(s) => Some(format!("CloudFormation answered drift status {s}")),
                _ => None,
            };
            (stack, drift.status, changes, not_checked)
        }
        StackAnswer::Unchecked { stack, reason, .. } => {
            (stack, DriftStatus::Other("UNCHECKED".into()), Vec::new(), Some(reason))
        }
    };
    let owner = owner_of(&stack, status.as_str(), not_checked);
    ev.owner = Some(owner.clone());
    if status == DriftStatus::InSync {
        let who = actor
            .human
            .as_deref()
            .or(actor.tool.as_deref())
            .or(actor.principal.as_deref())
            .unwrap_or("someone");
        ev.outcome = Outcome::Iac(IacChange {
            resource_key: resource.key(),
            event_id: query.call.event_id.clone(),
            time: query.call.time,
            by: format!(
                "{who} (by hand; CloudFormation finds {} in stack {} in sync with its template)",
                stack.logical_id, stack.stack_name
            ),
            restores: Vec::new(),
            finding: None,
            baseline: false,
        });
        return;
    }
    let op = if status == DriftStatus::Deleted {
        Op::Delete
    } else {
        query.op
    };
    ev.outcome = Outcome::Finding(Box::new(finding_for(
        pipeline, resource, actor, owner, query, op, changes,
    )));
}

fn finding_for(
    pipeline: &Pipeline,
    resource: ResourceInfo,
    actor: Actor,
    owner: IacOwner,
    query: &StackQuery,
    op: Op,
    changes: Vec<AttributeChange>,
) -> Finding {
    let severity_changes = {
        let mut v = changes.clone();
        v.extend(severity_view(&resource.resource_type, &changes));
        v
    };
    let evidence = Evidence {
        actor: actor.kind,
        channel: actor.channel,
        managed: true,
        op,
        changes: &changes,
        account: &resource.account,
    };
    let (likelihood, factors) = score::likelihood_with(&evidence, pipeline.weights());
    let (severity, severity_reasons) = score::severity(
        &resource.resource_type,
        &Evidence {
            changes: &severity_changes,
            ..evidence
        },
        None,
    );
    let mut f = Finding {
        id: finding::finding_id(&query.call.event_id, &resource.resource_type, &resource.id),
        kind: match op {
            Op::Delete => FindingKind::Missing,
            _ => FindingKind::Drift,
        },
        status: Status::Open,
        resolution: None,
        resource,
        owner: Some(owner),
        actor,
        call: query.call.clone(),
        changes,
        likelihood,
        factors,
        severity,
        severity_reasons,
        summary: String::new(),
        fix: String::new(),
        revision: 1,
        config: None,
        tags: Default::default(),
        weights_version: pipeline.weights().version.clone(),
    };
    f.summary = finding::summarise(&f);
    f.fix = finding::suggest_fix(&f);
    f
}

/// In-memory CloudFormation for tests and local runs: physical id → stack resource and the
/// drift (or error text) `detect_drift` answers; any other id is owned by no stack.
#[derive(Debug, Clone, Default)]
pub struct MemoryStacks {
    /// The resources.
    pub resources: std::collections::BTreeMap<String, (StackResource, Result<StackResourceDrift, String>)>,
}

/// [`MemoryStacks`]' error: the text it was given.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{0}")]
pub struct MemoryStackError(pub String);

impl StackOwnership for MemoryStacks {
    type Error = MemoryStackError;

    fn stack_of(&self, physical_id: &str) -> impl Future<Output = Result<Option<StackResource>, Self::Error>> + Send {
        std::future::ready(Ok(self.resources.get(physical_id).map(|(r, _)| r.clone())))
    }

    fn detect_drift(&self, r: &StackResource) -> impl Future<Output = Result<StackResourceDrift, Self::Error>> + Send {
        std::future::ready(match self.resources.get(&r.physical_id) {
            Some((_, Ok(d))) => Ok(d.clone()),
            Some((_, Err(e))) => Err(MemoryStackError(e.clone())),
            None => Err(MemoryStackError(format!("no stack resource {}", r.physical_id))),
        })
    }
}

/// The physical id to ask CloudFormation about, for an evaluation that would report an
/// unmanaged resource (a Config item, or a live item the sweep read, of a resource no state
/// declares next to managed ones): a stack may have created it without tags (IAM roles and
/// policies carry none), and a stack's resource is IaC-owned, never unmanaged.
pub fn unmanaged_candidate(ev: &Evaluation) -> Option<&str> {
    match &ev.outcome {
        Outcome::Config(obs) if obs.finding.as_deref().is_some_and(|f| f.kind == FindingKind::Unmanaged) => {
            Some(obs.resource.id.as_str()).filter(|id| !id.is_empty())
        }
        _ => None,
    }
}

/// A stack owns the resource an unmanaged-looking evaluation is about: it is skipped as
/// [`Skip::CloudFormationOwned`], its owner naming the stack (drift is not asked: nothing
/// changed by hand is known).
pub fn owned_by_stack(ev: &mut Evaluation, stack: &StackResource) {
    ev.owner = Some(owner_of(
        stack,
        "UNCHECKED",
        Some("created by CloudFormation; no manual change to check".into()),
    ));
    ev.outcome = Outcome::Skipped {
        reason: Skip::CloudFormationOwned,
    };
}
