//! The pipeline: decoded item → skip, finding, or IaC change, with the reasons.
//!
//! [`Pipeline::evaluate`] is pure: it reads the call, the catalog and the inventory and returns
//! an [`Evaluation`] — the outcome plus everything `explain` shows. Stores and publishers act
//! on outcomes elsewhere.

use crate::attribution::{Actor, ActorKind, AttributionConfig, Attributor};
use crate::catalog::{Catalog, Miss, Target};
use crate::config_item::ConfigChange;
use crate::decode::Item;
use crate::diff::{self, AttributeChange};
use crate::finding::{self, CallInfo, Finding, FindingKind, IacChange, IacOwner, ResourceInfo, Status};
use crate::inventory::{Declared, Inventory};
use crate::record::ApiCall;
use crate::score::{self, Evidence};
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
    /// An AWS Config item change (attribute-level Config handling arrives with the Config issue).
    ConfigChange,
    /// An event DriftGuard itself published.
    OwnEvent,
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
            Skip::ConfigChange => "config_change",
            Skip::OwnEvent => "own_event",
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
    /// Attribution, for calls that got that far.
    pub actor: Option<Actor>,
    /// The resource, for calls the catalog maps.
    pub resource: Option<ResourceInfo>,
    /// The IaC declaration, when one exists.
    pub owner: Option<IacOwner>,
    /// What happened (serialised as `decision`: `{"outcome": ..., "detail": ...}`).
    #[serde(rename = "decision")]
    pub outcome: Outcome,
}

/// The in-memory pipeline: configuration, catalog and inventory, built once.
#[derive(Debug)]
pub struct Pipeline {
    attributor: Attributor,
    catalog: Catalog,
    inventory: Inventory,
}

impl Pipeline {
    /// A pipeline over the given inventory.
    pub fn new(config: &AttributionConfig, inventory: Inventory) -> Self {
        Pipeline {
            attributor: Attributor::new(config),
            catalog: Catalog::new(),
            inventory,
        }
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
                call: format!("{}:{detail_type}", crate::decode::OWN_SOURCE),
                actor: None,
                resource: None,
                owner: None,
                outcome: Outcome::Skipped { reason: Skip::OwnEvent },
            },
        }
    }

    /// Evaluates one CloudTrail call.
    pub fn evaluate_call(&self, call: &ApiCall<'_>, detail_type: Option<&str>) -> Evaluation {
        // The trace's identity; decisions fill in the rest.
        let trace = |outcome| Evaluation {
            event_id: call.event_id.to_string(),
            detail_type: detail_type.map(str::to_owned),
            call: format!("{}:{}", call.source, call.name),
            actor: None,
            resource: None,
            owner: None,
            outcome,
        };
        let skipped = |reason| trace(Outcome::Skipped { reason });
        if call.error_code.is_some() {
            return skipped(Skip::FailedCall);
        }
        if call.read_only == Some(true) || (call.read_only.is_none() && looks_read_only(&call.name)) {
            return skipped(Skip::ReadOnly);
        }
        let target = match self.catalog.resolve(call) {
            Ok(t) => t,
            Err(Miss::UnknownCall) => return skipped(Skip::NotInCatalog),
            Err(Miss::NoId) => return skipped(Skip::NoResourceId),
        };
        let actor = self.attributor.attribute(call);
        let owners = self.inventory.find(target.terraform, &target.id);
        let resource = resource_info(call, &target, owners.first().copied());
        let owner = self.owner_of(&owners);
        let resolving = actor.kind == ActorKind::Iac || actor.tool.as_deref() == Some("DriftGuard");
        let outcome = if resolving {
            Outcome::Iac(IacChange {
                resource_key: resource.key(),
                event_id: call.event_id.to_string(),
                time: call.time,
                by: actor
                    .tool
                    .clone()
                    .or_else(|| actor.principal.clone())
                    .unwrap_or_else(|| actor.rule.clone()),
            })
        } else if actor.kind == ActorKind::AwsService {
            Outcome::Skipped {
                reason: Skip::AwsService,
            }
        } else {
            Outcome::Finding(Box::new(self.finding(
                call,
                &target,
                &owners,
                &actor,
                resource.clone(),
                owner.clone(),
            )))
        };
        Evaluation {
            actor: Some(actor),
            resource: Some(resource),
            owner,
            ..trace(outcome)
        }
    }

    /// The owner record for a resource's declarations (primary first).
    fn owner_of(&self, owners: &[&Declared]) -> Option<IacOwner> {
        let (primary, rest) = owners.split_first()?;
        Some(IacOwner {
            state: self.inventory.state_origin(primary).to_owned(),
            address: primary.address.clone(),
            related: rest.iter().map(|d| d.address.clone()).collect(),
        })
    }

    fn finding(
        &self,
        call: &ApiCall<'_>,
        target: &Target<'_>,
        owners: &[&Declared],
        actor: &Actor,
        resource: ResourceInfo,
        owner: Option<IacOwner>,
    ) -> Finding {
        let changes: Vec<AttributeChange> = match (
            owners.is_empty(),
            diff::rule_for(&call.source, &call.name),
            call.request,
        ) {
            (false, Some(rule), Some(raw)) => match serde_json::from_str(raw.get()) {
                Ok(request) => diff::compare(rule, &request, owners),
                Err(_) => Vec::new(),
            },
            _ => Vec::new(),
        };
        let evidence = Evidence {
            actor: actor.kind,
            channel: actor.channel,
            managed: !owners.is_empty(),
            op: target.entry.op,
            changes: &changes,
        };
        let (likelihood, factors) = score::likelihood(&evidence);
        let environment = owners.iter().find_map(|d| environment_tag(d));
        let (severity, severity_reasons) = score::severity(&resource.resource_type, &evidence, environment);
        let mut f = Finding {
            id: finding::finding_id(&call.event_id, &resource.resource_type, &resource.id),
            kind: if owners.is_empty() {
                FindingKind::Unmanaged
            } else {
                FindingKind::Drift
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
            tags: crate::notify::declared_tags(owners),
        };
        f.summary = finding::summarise(&f);
        f.fix = finding::suggest_fix(&f);
        f
    }
}

/// Names CloudTrail uses for calls that change nothing, for records without `readOnly`.
fn looks_read_only(name: &str) -> bool {
    [
        "Describe", "Get", "List", "Head", "Lookup", "Search", "BatchGet", "Scan", "Query",
    ]
    .iter()
    .any(|p| name.starts_with(p))
}

fn resource_info(call: &ApiCall<'_>, target: &Target<'_>, primary: Option<&Declared>) -> ResourceInfo {
    let arn = if target.id.starts_with("arn:") {
        Some(target.id.to_string())
    } else {
        primary.and_then(|d| d.str_attr("arn")).map(str::to_owned)
    };
    ResourceInfo {
        resource_type: target.resource_type.to_owned(),
        id: target.id.to_string(),
        arn,
        account: call.account.to_string(),
        region: call.region.to_string(),
    }
}

/// The environment a declaration is tagged with (`Environment`, `env`, `stage`, any case).
fn environment_tag(d: &Declared) -> Option<&str> {
    ["tags_all", "tags"]
        .iter()
        .filter_map(|t| d.attributes.get(*t)?.as_object())
        .find_map(|tags| {
            tags.iter()
                .find(|(k, _)| matches!(k.to_ascii_lowercase().as_str(), "environment" | "env" | "stage"))
                .and_then(|(_, v)| v.as_str())
        })
}

impl Pipeline {
    fn evaluate_config(&self, change: &ConfigChange) -> Evaluation {
        let tf_types = self.catalog.terraform_for(&change.resource_type);
        let owners = self.inventory.find(&tf_types, &change.resource_id);
        Evaluation {
            event_id: format!(
                "config:{}:{}:{}",
                change.resource_type, change.resource_id, change.capture_time
            ),
            detail_type: Some(crate::decode::CONFIG_DETAIL_TYPE.to_owned()),
            call: format!("config:{}", change.change_type.as_deref().unwrap_or("UNKNOWN")),
            actor: None,
            resource: Some(ResourceInfo {
                resource_type: change.resource_type.clone(),
                id: change.resource_id.clone(),
                arn: change.arn.clone(),
                account: change.account.clone(),
                region: change.region.clone(),
            }),
            owner: self.owner_of(&owners),
            outcome: Outcome::Skipped {
                reason: Skip::ConfigChange,
            },
        }
    }
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
    /// Findings by kind and severity (`drift/critical`).
    pub findings: BTreeMap<String, u64>,
}

impl Stats {
    /// Counts one evaluation.
    pub fn count(&mut self, ev: &Evaluation) {
        self.events += 1;
        match &ev.outcome {
            Outcome::Skipped { reason } => *self.skipped.entry(reason.as_str()).or_insert(0) += 1,
            Outcome::Iac(_) => self.iac_changes += 1,
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
