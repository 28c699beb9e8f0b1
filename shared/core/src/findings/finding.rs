//! Findings: a manual change on a resource, who made it, what it changed compared with IaC,
//! how likely it is drift and how bad. Also their lifecycle (open → resolved by an IaC change),
//! shared by every store so that all stores agree.

use crate::actors::attribution::{Actor, Channel};
use crate::drift::diff::AttributeChange;
use crate::drift::score::{Factor, Severity};
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;

/// What kind of finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    /// A manual change on an IaC-managed resource.
    Drift,
    /// A resource created by hand where IaC manages its neighbours (same type, account and region).
    Unmanaged,
    /// An IaC-managed resource deleted out of band.
    Missing,
    /// Interactive access to an IaC-managed instance (SSM command or session, EC2 Instance
    /// Connect): nothing declared changed, but what happens inside no state can see.
    Access,
}

impl FindingKind {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::Drift => "drift",
            FindingKind::Unmanaged => "unmanaged",
            FindingKind::Missing => "missing",
            FindingKind::Access => "access",
        }
    }
}

/// Where a finding stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Not yet reconciled.
    Open,
    /// A later IaC change on the resource reconciled it.
    Resolved,
}

/// The resource a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceInfo {
    /// e.g. `AWS::EC2::SecurityGroup`.
    #[serde(rename = "type")]
    pub resource_type: String,
    /// The id (or name, or ARN) as the call names it.
    pub id: String,
    /// The ARN, when IaC or the call gives one.
    pub arn: Option<String>,
    /// Account.
    pub account: String,
    /// Region (as recorded by CloudTrail).
    pub region: String,
}

/// Types whose identity does not depend on the region the call was recorded in.
pub static GLOBAL_TYPE_PREFIXES: &[&str] = &["AWS::IAM::", "AWS::S3::Bucket", "AWS::CloudFront::", "AWS::Route53::"];

impl ResourceInfo {
    /// The key that identifies the resource across events: `account/region/type/id`
    /// (region empty for global types).
    pub fn key(&self) -> String {
        let global = GLOBAL_TYPE_PREFIXES.iter().any(|p| self.resource_type.starts_with(p));
        let region = if global { "" } else { self.region.as_str() };
        format!("{}/{}/{}/{}", self.account, region, self.resource_type, self.id)
    }
}

/// The IaC declaration of the resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IacOwner {
    /// The state file.
    pub state: String,
    /// The resource address.
    pub address: String,
    /// Other addresses that declare parts of it (rules, policies, attachments).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<String>,
    /// Set when a CloudFormation stack (CDK, SAM) declares the resource instead of a Terraform
    /// state: `state` is then the stack id and `address` the logical id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack: Option<StackOwner>,
}

/// The CloudFormation stack that declares a resource, and what its drift detection said.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StackOwner {
    /// The stack's name.
    pub name: String,
    /// The stack id (its ARN).
    pub id: String,
    /// The resource's logical id in the template.
    pub logical_id: String,
    /// `StackResourceDriftStatus` (`MODIFIED`, `DELETED`, `NOT_CHECKED`), or `UNCHECKED` when
    /// DriftGuard could not ask.
    pub drift: String,
    /// Why drift was not checked, when it was not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_checked: Option<String>,
}

/// The API call behind a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallInfo {
    /// CloudTrail `eventID`.
    pub event_id: String,
    /// `eventSource`.
    pub source: String,
    /// `eventName`.
    pub name: String,
    /// `eventTime`.
    pub time: Timestamp,
}

/// How an open finding was resolved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolution {
    /// The event that resolved it.
    pub event_id: String,
    /// When.
    pub time: Timestamp,
    /// Who (tool or principal), for display.
    pub by: String,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable id derived from the event id and the resource: replays give the same id.
    pub id: String,
    /// Drift or unmanaged.
    pub kind: FindingKind,
    /// Open or resolved.
    pub status: Status,
    /// Set when resolved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// The resource.
    pub resource: ResourceInfo,
    /// Its IaC declaration, for drift findings.
    pub owner: Option<IacOwner>,
    /// Who.
    pub actor: Actor,
    /// The call.
    pub call: CallInfo,
    /// Attribute-level comparison, when the call is one DriftGuard compares.
    pub changes: Vec<AttributeChange>,
    /// Drift likelihood in [0, 1].
    pub likelihood: f64,
    /// Log-odds contributions behind the likelihood.
    pub factors: Vec<Factor>,
    /// Severity.
    pub severity: Severity,
    /// Why this severity.
    pub severity_reasons: Vec<String>,
    /// Plain-language summary.
    pub summary: String,
    /// Suggested fix.
    pub fix: String,
    /// Goes up each time evidence joins the finding (a Config item, the call behind a Config
    /// item); consumers key updates on id + revision.
    #[serde(default = "first_revision")]
    pub revision: u32,
    /// What AWS Config showed of the live resource, once joined.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<crate::findings::evidence::ConfigEvidence>,
    /// Tags IaC declares on the resource (`tags` and provider default tags); Slack routing reads them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub tags: std::collections::BTreeMap<String, String>,
    /// The version of the weights that scored it ([`crate::drift::score::Weights`]): `default`
    /// for the hand-set ones, `v<n>` for a fitted version.
    #[serde(default = "default_weights_version")]
    pub weights_version: String,
}

fn first_revision() -> u32 {
    1
}

fn default_weights_version() -> String {
    crate::drift::score::DEFAULT_WEIGHTS.to_owned()
}

/// The environment a set of tags names (`Environment`, `env` or `stage`, any case).
pub fn environment_of(tags: &std::collections::BTreeMap<String, String>) -> Option<&str> {
    tags.iter()
        .find(|(k, _)| matches!(k.to_ascii_lowercase().as_str(), "environment" | "env" | "stage"))
        .map(|(_, v)| v.as_str())
}

impl Finding {
    /// The environment the resource's IaC tags name.
    pub fn environment(&self) -> Option<&str> {
        environment_of(&self.tags)
    }
}

/// The finding id for a call on a resource.
pub fn finding_id(event_id: &str, resource_type: &str, resource_id: &str) -> String {
    format!(
        "dg-{:016x}",
        crate::util::fnv::hash_parts(&[event_id, resource_type, resource_id])
    )
}

/// A change made by IaC (or by DriftGuard restoring IaC) on a resource: resolves older findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IacChange {
    /// [`ResourceInfo::key`] of the resource.
    pub resource_key: String,
    /// The event.
    pub event_id: String,
    /// When.
    pub time: Timestamp,
    /// Who, for display.
    pub by: String,
    /// Empty for an IaC apply, which settles the whole resource. For a manual call that put
    /// declared values back (a proven no-op against IaC), what it restored: it resolves only the
    /// findings it undoes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restores: Vec<Restore>,
    /// Set for DriftGuard's own remediation calls: the one finding they were made for, the only
    /// one they resolve.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<String>,
    /// An accepted change: `finding` is closed as intended, and `restores` holds the values it
    /// found, now the baseline: a later finding that changes the resource to exactly those
    /// values is stored resolved by this acceptance instead of alerting again.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub baseline: bool,
}

/// One attribute a manual call put back to its declared value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Restore {
    /// The attribute, as findings name it.
    pub attribute: String,
    /// A single value set back (absent for set-valued attributes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<serde_json::Value>,
    /// Items of a set-valued attribute the call added back.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub added: Vec<String>,
    /// Items of a set-valued attribute the call took away.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed: Vec<String>,
    /// Entries the call took away by key, whatever their value (each the entry text up to and
    /// including its key: `100 `, `AllowS3: `).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub removed_keys: Vec<String>,
    /// The call set the whole set to `added`: anything else in it was taken away.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub whole: bool,
}

impl Restore {
    /// Whether this restore undoes a drifted change: a single value set back to the declared
    /// one, or a set whose items the change added were taken away and whose items it removed
    /// were added back.
    fn undoes(&self, c: &AttributeChange) -> bool {
        if self.attribute != c.attribute {
            return false;
        }
        match (&self.value, &c.expected, &c.found) {
            (Some(v), expected, _) if !expected.is_array() => v == expected,
            (None, serde_json::Value::Array(expected), serde_json::Value::Array(found)) => {
                let mut added = found
                    .iter()
                    .filter(|x| !expected.contains(x))
                    .filter_map(|x| x.as_str());
                let mut removed = expected
                    .iter()
                    .filter(|x| !found.contains(x))
                    .filter_map(|x| x.as_str());
                let put_back = |x: &str| self.added.iter().any(|i| i == x);
                let taken_away = |x: &str| {
                    self.removed.iter().any(|i| i == x)
                        || self.removed_keys.iter().any(|k| x.starts_with(k.as_str()))
                        || (self.whole && !put_back(x))
                };
                let acts =
                    !self.added.is_empty() || !self.removed.is_empty() || !self.removed_keys.is_empty() || self.whole;
                acts && added.all(taken_away) && removed.all(put_back)
            }
            _ => false,
        }
    }
}

/// The event id prefix of an acceptance (`accept:<request id>`).
pub const ACCEPT_PREFIX: &str = "accept:";

impl Finding {
    /// Whether this finding was settled by an accepted baseline: it repeats a change someone
    /// accepted, so it is kept on record but announces nothing.
    pub fn settled_by_baseline(&self) -> bool {
        self.status == Status::Resolved
            && self
                .resolution
                .as_ref()
                .is_some_and(|r| r.event_id.starts_with(ACCEPT_PREFIX))
    }

    /// The transitions a newly stored finding announces: detected (and resolved, when a change
    /// already known settled it), or none when an accepted baseline settled it.
    pub fn arrival(&self) -> Vec<Transition> {
        if self.settled_by_baseline() {
            return Vec::new();
        }
        let mut out = vec![Transition::Detected(Box::new(self.clone()))];
        if self.status == Status::Resolved {
            out.push(Transition::Resolved(Box::new(self.clone())));
        }
        out
    }

    /// The values this finding found, as an accepted baseline: a value set, or the items a
    /// set-valued change added and removed.
    pub fn as_baseline(&self) -> Vec<Restore> {
        self.changes
            .iter()
            .filter(|c| c.drifted)
            .map(|c| match (&c.expected, &c.found) {
                (serde_json::Value::Array(expected), serde_json::Value::Array(found)) => {
                    let text = |v: &serde_json::Value| v.as_str().map(str::to_owned);
                    Restore {
                        attribute: c.attribute.clone(),
                        value: None,
                        added: found
                            .iter()
                            .filter(|x| !expected.contains(x))
                            .filter_map(text)
                            .collect(),
                        removed: expected
                            .iter()
                            .filter(|x| !found.contains(x))
                            .filter_map(text)
                            .collect(),
                        removed_keys: Vec::new(),
                        whole: false,
                    }
                }
                (_, found) => Restore {
                    attribute: c.attribute.clone(),
                    value: Some(found.clone()),
                    added: Vec::new(),
                    removed: Vec::new(),
                    removed_keys: Vec::new(),
                    whole: false,
                },
            })
            .collect()
    }

    /// Whether every drifted change of this finding is one an accepted baseline already holds.
    pub fn matches_baseline(&self, baseline: &[Restore]) -> bool {
        let mine = self.as_baseline();
        !mine.is_empty()
            && mine.iter().all(|m| {
                baseline.iter().any(|b| {
                    b.attribute == m.attribute
                        && match (&m.value, &b.value) {
                            (Some(v), Some(accepted)) => v == accepted,
                            (None, None) => {
                                m.added.iter().all(|x| b.added.contains(x))
                                    && m.removed.iter().all(|x| b.removed.contains(x))
                            }
                            _ => false,
                        }
                })
            })
    }

    /// Whether a manual restore undoes every drifted change of this finding.
    pub fn undone_by(&self, restores: &[Restore]) -> bool {
        let drifted: Vec<&AttributeChange> = self.changes.iter().filter(|c| c.drifted).collect();
        !drifted.is_empty() && drifted.iter().all(|c| restores.iter().any(|r| r.undoes(c)))
    }
}

impl Finding {
    /// Applies an IaC change on the finding's resource. A change at or after the finding's call
    /// resolves it; the resolution always names the earliest such change, whatever order the
    /// changes arrive in. Returns whether the status changed (open → resolved).
    pub fn resolve_with(&mut self, iac: &IacChange) -> bool {
        // An accepted baseline settles its own finding, and any other that only repeats it.
        if iac.baseline && iac.finding.as_deref() != Some(self.id.as_str()) {
            return self.matches_baseline(&iac.restores) && self.settle(iac);
        }
        // A Config-only finding may be the delayed effect of an IaC change up to a join window
        // before its capture (the state file was not refreshed yet).
        let since = if self.is_config_only() {
            self.call.time.0 - crate::findings::evidence::WINDOW_MS
        } else {
            self.call.time.0
        };
        if iac.time.0 < since {
            return false;
        }
        // A remediation settles only the finding it was made for.
        if iac.finding.as_deref().is_some_and(|id| id != self.id) {
            return false;
        }
        // A manual restore settles only the findings it undoes.
        if !iac.baseline && !iac.restores.is_empty() && !self.undone_by(&iac.restores) {
            return false;
        }
        self.settle(iac)
    }

    /// Resolves with `iac`, or moves the resolution to it when it is earlier.
    fn settle(&mut self, iac: &IacChange) -> bool {
        let resolution = Resolution {
            event_id: iac.event_id.clone(),
            time: iac.time,
            by: iac.by.clone(),
        };
        match &self.resolution {
            None => {
                self.status = Status::Resolved;
                self.resolution = Some(resolution);
                true
            }
            Some(r) if (iac.time, &iac.event_id) < (r.time, &r.event_id) => {
                self.resolution = Some(resolution);
                false
            }
            Some(_) => false,
        }
    }
}

/// How many IaC changes a resource record remembers (newest kept): enough to resolve findings
/// that arrive out of order with the right resolving event.
pub const IAC_HISTORY: usize = 32;

/// The record a store keeps per resource: recent IaC changes, so that a finding whose event
/// arrives after the IaC change that superseded it is stored resolved, and its findings' ids.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ResourceRecord {
    /// Recent IaC changes on the resource, oldest first, at most [`IAC_HISTORY`].
    pub iac: Vec<IacChange>,
    /// Ids of findings on the resource.
    pub findings: Vec<String>,
    /// CloudTrail calls and Config items waiting to be joined ([`crate::findings::join`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pending: Vec<crate::findings::evidence::Pending>,
}

impl ResourceRecord {
    /// Remembers an IaC change. Returns false when it was already known.
    pub fn remember(&mut self, iac: &IacChange) -> bool {
        if self.iac.iter().any(|i| i.event_id == iac.event_id) {
            return false;
        }
        self.iac.push(iac.clone());
        self.iac
            .sort_by(|a, b| (a.time, &a.event_id).cmp(&(b.time, &b.event_id)));
        if self.iac.len() > IAC_HISTORY {
            self.iac.remove(0);
        }
        true
    }
}

/// The object that replaces a value dropped to fit a size limit: `{"truncated": true, "bytes": N}`.
pub fn truncated_marker(bytes: usize) -> serde_json::Value {
    serde_json::json!({ "truncated": true, "bytes": bytes })
}

impl Finding {
    /// Who to name for the change: the person, else the tool, else the principal ARN.
    pub fn who(&self) -> Option<&str> {
        let a = &self.actor;
        a.human.as_deref().or(a.tool.as_deref()).or(a.principal.as_deref())
    }

    /// Size of the finding as JSON, in bytes.
    pub fn json_len(&self) -> usize {
        serde_json::to_vec(self).map_or(usize::MAX, |v| v.len())
    }

    /// Shrinks the finding until its JSON fits in `max_bytes`: the largest expected / found values
    /// are replaced with [`truncated_marker`] first, then the summary is cut. Returns whether
    /// anything was dropped. Used by stores and publishers with item or event size limits; a
    /// large diff is truncated with a marker, never a failed write.
    pub fn fit_within(&mut self, max_bytes: usize) -> bool {
        let mut changed = false;
        while self.json_len() > max_bytes {
            let largest = self
                .changes
                .iter_mut()
                .flat_map(|c| [&mut c.expected, &mut c.found])
                .filter(|v| v.get("truncated").is_none())
                .map(|v| (v.to_string().len(), v))
                .filter(|(len, _)| *len > 64)
                .max_by_key(|(len, _)| *len);
            match largest {
                Some((len, v)) => *v = truncated_marker(len),
                None if self.summary.len() > 1024 => {
                    let cut = self
                        .summary
                        .char_indices()
                        .nth(1000)
                        .map_or(self.summary.len(), |(i, _)| i);
                    self.summary.truncate(cut);
                    self.summary.push_str(" … (truncated)");
                }
                None => return changed,
            }
            changed = true;
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use crate::drift::diff::AttributeChange;
    use crate::drift::score::Severity;
    use crate::findings::conformance::sample_finding;
    use serde_json::json;

    #[test]
    fn large_diffs_are_truncated_with_a_marker_until_the_finding_fits() {
        let mut f = sample_finding("ev", "sg-1", 1, Severity::Major);
        let big: Vec<String> = (0..5000).map(|i| format!("tcp {i} 10.0.0.0/8")).collect();
        f.changes.push(AttributeChange {
            attribute: "ingress".into(),
            declared_in: None,
            expected: json!(["tcp 443 0.0.0.0/0"]),
            found: json!(big),
            drifted: true,
        });
        assert!(f.json_len() > 50_000);
        assert!(f.fit_within(10_000));
        assert!(f.json_len() <= 10_000);
        assert_eq!(f.changes[0].found["truncated"], json!(true));
        assert_eq!(
            f.changes[0].expected,
            json!(["tcp 443 0.0.0.0/0"]),
            "small values are kept"
        );
        assert!(!f.fit_within(10_000), "a finding that fits is left alone");
    }
}

/// Lifecycle transitions a store reports after a write, for publishing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "transition", rename_all = "snake_case")]
pub enum Transition {
    /// A new finding was stored open.
    Detected(Box<Finding>),
    /// A stored finding was resolved.
    Resolved(Box<Finding>),
}

/// Merges an incoming finding with what a store holds: the first write wins (replays change
/// nothing), and a finding older than a known IaC change on its resource is stored resolved.
/// Returns the record to write, or `None` when the store already has it.
pub fn merge_incoming(existing: Option<&Finding>, mut incoming: Finding, resource: &ResourceRecord) -> Option<Finding> {
    if existing.is_some() {
        return None;
    }
    for iac in &resource.iac {
        incoming.resolve_with(iac);
    }
    Some(incoming)
}

/// How a channel reads in a sentence ("in the AWS console", "with the AWS CLI", ...).
pub fn channel_phrase(c: Channel) -> &'static str {
    match c {
        Channel::Console => "in the AWS console",
        Channel::Cli => "with the AWS CLI",
        Channel::CloudShell => "in CloudShell",
        Channel::Sdk => "from an SDK script",
        Channel::Iac => "through IaC",
        Channel::Service => "as an AWS service",
        Channel::Automation => "by automation",
        Channel::Other => "by an unidentified client",
    }
}

fn show(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::Null => "(not set)".into(),
        serde_json::Value::String(s) => s.clone(),
        other => {
            let s = other.to_string();
            if s.len() > 120 {
                format!("{}…", &s[..s.char_indices().nth(117).map_or(s.len(), |(i, _)| i)])
            } else {
                s
            }
        }
    }
}

/// The one-paragraph summary of a finding.
pub fn summarise(f: &Finding) -> String {
    let who = f.who().unwrap_or("an unknown principal");
    let mut s = if f.is_config_only() {
        let what = match f.config.as_ref().map(|c| c.change) {
            Some(crate::input::config_item::ChangeType::Delete) => "the deletion",
            Some(crate::input::config_item::ChangeType::Create) => "the creation",
            _ => "a change",
        };
        match f
            .config
            .as_ref()
            .filter(|c| c.origin == crate::findings::evidence::Origin::Sweep)
        {
            Some(c) => {
                let what = match c.change {
                    crate::input::config_item::ChangeType::Delete => {
                        "absent from AWS Config's inventory (deleted or never recorded)".to_owned()
                    }
                    crate::input::config_item::ChangeType::Create => "existing".to_owned(),
                    crate::input::config_item::ChangeType::Update => {
                        format!(
                            "different from its declaration in AWS Config's item captured at {}",
                            c.capture_time
                        )
                    }
                };
                format!(
                    "The reconcile sweep found {} {} {what}, and no CloudTrail call explains it yet",
                    f.resource.resource_type, f.resource.id
                )
            }
            None => format!(
                "AWS Config recorded {what} of {} {} at {}, and no CloudTrail call explains it yet",
                f.resource.resource_type, f.resource.id, f.call.time
            ),
        }
    } else {
        format!(
            "{who} called {} {} on {} {} at {}",
            f.call.name,
            channel_phrase(f.actor.channel),
            f.resource.resource_type,
            f.resource.id,
            f.call.time
        )
    };
    match &f.owner {
        Some(IacOwner { stack: Some(st), .. }) => {
            let _ = write!(
                s,
                ", a resource CloudFormation stack {} declares as {} ({}).",
                st.name, st.logical_id, st.id
            );
        }
        Some(o) => {
            let _ = write!(s, ", a resource Terraform manages as {} in {}.", o.address, o.state);
        }
        None => s.push_str(", a resource no loaded IaC state declares."),
    }
    let drifted: Vec<&AttributeChange> = f.changes.iter().filter(|c| c.drifted).collect();
    if !drifted.is_empty() {
        let parts: Vec<String> = drifted
            .iter()
            .map(|c| {
                format!(
                    "{} is now {} (IaC declares {})",
                    c.attribute,
                    show(&c.found),
                    show(&c.expected)
                )
            })
            .collect();
        let _ = write!(s, " {}.", parts.join("; "));
    } else if !f.changes.is_empty() {
        s.push_str(" The values it set match what IaC declares.");
    } else if f.kind == FindingKind::Missing {
        s.push_str(" The resource no longer exists.");
    } else if let Some(st) = f.owner.as_ref().and_then(|o| o.stack.as_ref()) {
        let _ = write!(
            s,
            " Changed out of band on stack {}; drift not checked: {}.",
            st.name,
            st.not_checked
                .as_deref()
                .unwrap_or("CloudFormation reported no property difference")
        );
    } else if f.owner.is_some() && f.config.as_ref().is_none_or(|c| !c.compared) {
        s.push_str(
            " DriftGuard does not compare this change's attributes yet: treat the resource as changed out of band.",
        );
    }
    if let Some(c) = f.config.as_ref().filter(|_| !f.is_config_only()) {
        match c.factor() {
            "config.confirmed" => {
                let _ = write!(s, " AWS Config confirmed the live values at {}.", c.capture_time);
            }
            "config.matches_iac" => {
                let _ = write!(
                    s,
                    " AWS Config shows the live resource matching IaC at {}.",
                    c.capture_time
                );
            }
            "config.deleted" => {
                let _ = write!(s, " AWS Config recorded the deletion at {}.", c.capture_time);
            }
            _ => {
                let _ = write!(s, " AWS Config recorded the change at {}.", c.capture_time);
            }
        }
    }
    if let Some(who) = f
        .config
        .as_ref()
        .and_then(|c| c.who.as_ref())
        .filter(|_| f.is_config_only())
    {
        let _ = write!(s, " {}", who.sentence());
    }
    let _ = write!(
        s,
        " Drift likelihood {:.0}%, {}.",
        f.likelihood * 100.0,
        f.severity.as_str()
    );
    s
}

/// The suggested fix for a finding.
pub fn suggest_fix(f: &Finding) -> String {
    match &f.owner {
        Some(IacOwner { stack: Some(st), .. }) if f.kind == FindingKind::Missing => format!(
            "Stack {} still declares {}: update the stack to recreate it (CloudFormation does not \
             recreate a resource deleted out of band on its own; remove it from the template, or \
             re-import it, if the deletion is intended).",
            st.name, st.logical_id
        ),
        Some(IacOwner { stack: Some(st), .. }) => format!(
            "Set the changed properties of {} back to the template's values (the stack's drift view in \
             the CloudFormation console lists them) or, if the change is intended, put it in the template \
             (CDK / SAM source) and deploy stack {}: an update of an unchanged template does not undo drift.",
            st.logical_id, st.name
        ),
        Some(o) if f.kind == FindingKind::Access => format!(
            "Nothing declared changed. If the session changed the instance from the inside (packages, files, \
             users), replace it from IaC with `terraform apply -replace='{}'` in the configuration of {}; \
             otherwise accept it.",
            o.address, o.state
        ),
        Some(o) if f.kind == FindingKind::Missing => format!(
            "To recreate it, run `terraform apply -target='{}'` in the configuration of {}; \
             if the deletion is intended, remove the resource from the configuration (or `terraform state rm '{}'`).",
            o.address, o.state, o.address
        ),
        Some(o) => {
            // The declarations that hold the drifted values (a bucket's public access block is
            // its own resource), else the resource's own.
            let mut targets: Vec<&str> = Vec::new();
            for c in f.changes.iter().filter(|c| c.drifted) {
                if let Some(address) = c.declared_in.as_deref() {
                    if !targets.contains(&address) {
                        targets.push(address);
                    }
                }
            }
            if targets.is_empty() {
                targets.push(&o.address);
            }
            let flags: Vec<String> = targets.iter().map(|t| format!("-target='{t}'")).collect();
            let configuration = if targets.len() == 1 {
                "that resource's configuration"
            } else {
                "those resources' configuration"
            };
            format!(
                "To restore the declared state, run `terraform apply {}` in the configuration of {}; \
                 if the change is intended, codify it in {configuration} first so the next apply keeps it.",
                flags.join(" "),
                o.state
            )
        }
        None => format!(
            "Bring {} {} under IaC (a Terraform `import` block or `terraform import`) or delete it if it is not needed.",
            f.resource.resource_type, f.resource.id
        ),
    }
}
