//! What may run: dry run unless a strategy is enabled for the resource type, approvals for the
//! severities and environments that need them, a cap on executions per account per hour, a kill
//! switch; and the opt-in rules that request a remediation on their own when drift is detected.
//!
//! [`gate`] is the one decision, from the request, the stored finding and what the store counted;
//! the function only reads those and does what the gate says.

use crate::drift::score::Severity;
use crate::findings::finding::Finding;
use crate::remediation::events::{RemediationAction, RemediationRequest, Requester};
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::fmt;

/// The safety settings (`DRIFTGUARD_REMEDIATION_POLICY`, JSON). Everything defaults to safe:
/// nothing enabled (every request is a dry run), no approvers, a cap of 10 an hour.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SafetyPolicy {
    /// Resource types whose reverts execute (`AWS::EC2::SecurityGroup`, or `*`); others are dry runs.
    #[serde(default)]
    pub revert: Vec<String>,
    /// Whether re-apply requests start the pipeline (otherwise the dispatch is only shown).
    #[serde(default)]
    pub reapply: bool,
    /// Whether accept closes findings (otherwise the baseline and HCL are only shown).
    #[serde(default)]
    pub accept: bool,
    /// Approvals required, first matching rule wins.
    #[serde(default)]
    pub approvals: Vec<ApprovalRule>,
    /// Who may approve: Slack user ids, CLI user names (`cli:<name>`).
    #[serde(default)]
    pub approvers: Vec<String>,
    /// Executed remediations per account per hour.
    #[serde(default = "default_cap")]
    pub hourly_cap: u32,
    /// Opt-in automatic remediations, evaluated on `Drift Detected`.
    #[serde(default)]
    pub auto: Vec<AutoRule>,
    /// Shadow mode (`DRIFTGUARD_SHADOW_MODE`, the template's `ShadowMode`, not part of the JSON):
    /// every request is planned, gated and recorded as a dry run; nothing executes.
    #[serde(skip)]
    pub shadow: bool,
}

fn default_cap() -> u32 {
    10
}

impl Default for SafetyPolicy {
    fn default() -> Self {
        SafetyPolicy {
            revert: Vec::new(),
            reapply: false,
            accept: false,
            approvals: Vec::new(),
            approvers: Vec::new(),
            hourly_cap: default_cap(),
            auto: Vec::new(),
            shadow: false,
        }
    }
}

/// Approvals a request needs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApprovalRule {
    /// Findings of this severity or worse.
    #[serde(default)]
    pub min_severity: Option<Severity>,
    /// Findings whose environment tag is one of these (any, when empty).
    #[serde(default)]
    pub environments: Vec<String>,
    /// Actions it applies to (all, when empty).
    #[serde(default)]
    pub actions: Vec<RemediationAction>,
    /// Distinct approvers needed (the requester does not count).
    pub required: u32,
}

impl ApprovalRule {
    fn matches(&self, finding: &Finding, action: RemediationAction) -> bool {
        self.min_severity.is_none_or(|s| finding.severity >= s)
            && (self.environments.is_empty()
                || finding
                    .environment()
                    .is_some_and(|e| self.environments.iter().any(|x| x.eq_ignore_ascii_case(e))))
            && (self.actions.is_empty() || self.actions.contains(&action))
    }
}

/// An automatic remediation: on `Drift Detected`, a finding matching every condition gets a
/// request from `auto:<name>`, which then passes the same gate as a person's.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoRule {
    /// Shown as the requester.
    pub name: String,
    /// What to do.
    pub action: RemediationAction,
    /// The resource type.
    pub resource_type: String,
    /// The changed attribute (`ingress`).
    #[serde(default)]
    pub attribute: Option<String>,
    /// An item the change added must contain one of these texts (`tcp 22 0.0.0.0/0`).
    #[serde(default)]
    pub added_any: Vec<String>,
    /// The environment tag (any, when empty).
    #[serde(default)]
    pub environments: Vec<String>,
    /// Findings of this severity or worse.
    #[serde(default)]
    pub min_severity: Option<Severity>,
}

impl AutoRule {
    /// Whether the rule fires on this finding.
    pub fn matches(&self, finding: &Finding) -> bool {
        if finding.resource.resource_type != self.resource_type
            || self.min_severity.is_some_and(|s| finding.severity < s)
            || !(self.environments.is_empty()
                || finding
                    .environment()
                    .is_some_and(|e| self.environments.iter().any(|x| x.eq_ignore_ascii_case(e))))
        {
            return false;
        }
        finding.changes.iter().filter(|c| c.drifted).any(|c| {
            if self.attribute.as_deref().is_some_and(|a| a != c.attribute) {
                return false;
            }
            if self.added_any.is_empty() {
                return true;
            }
            let expected: Vec<&serde_json::Value> =
                c.expected.as_array().map(|a| a.iter().collect()).unwrap_or_default();
            let added = c
                .found
                .as_array()
                .into_iter()
                .flatten()
                .filter(|x| !expected.contains(x))
                .filter_map(|x| x.as_str());
            added
                .into_iter()
                .any(|item| self.added_any.iter().any(|p| item.contains(p.as_str())))
        })
    }
}

impl SafetyPolicy {
    /// The requests the automatic rules make for a newly detected finding (first matching rule).
    pub fn auto_request(&self, finding: &Finding, now: Timestamp) -> Option<RemediationRequest> {
        let rule = self.auto.iter().find(|r| r.matches(finding))?;
        Some(RemediationRequest {
            schema_version: 1,
            finding_id: finding.id.clone(),
            action: rule.action,
            requested_by: Requester {
                source: "auto".into(),
                user: rule.name.clone(),
            },
            requested_at: now,
            dry_run: false,
            reason: Some(format!("automatic rule {}", rule.name)),
        })
    }

    /// Approvals this request needs.
    pub fn approvals_needed(&self, finding: &Finding, action: RemediationAction) -> u32 {
        self.approvals
            .iter()
            .find(|r| r.matches(finding, action))
            .map_or(0, |r| r.required)
    }

    /// Whether an action executes for this resource type (otherwise: dry run).
    pub fn enabled(&self, action: RemediationAction, resource_type: &str) -> bool {
        match action {
            RemediationAction::Revert => self.revert.iter().any(|t| t == "*" || t == resource_type),
            RemediationAction::Reapply => self.reapply,
            RemediationAction::Accept => self.accept,
        }
    }

    /// Checks the settings: an approval rule that needs more approvers than the allow-list
    /// holds could never be met.
    pub fn validate(&self) -> Result<(), String> {
        let approvers: BTreeSet<&str> = self.approvers.iter().map(String::as_str).collect();
        if let Some(r) = self.approvals.iter().find(|r| r.required as usize > approvers.len()) {
            return Err(format!(
                "an approval rule needs {} approvers but the approvers list has {}",
                r.required,
                approvers.len()
            ));
        }
        if self.hourly_cap == 0 && !self.revert.is_empty() {
            return Err("hourly_cap is 0 while reverts are enabled: nothing could ever execute".into());
        }
        Ok(())
    }
}

/// One approval of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Approval {
    /// Who (as in [`SafetyPolicy::approvers`]).
    pub approver: String,
    /// When.
    pub at: Timestamp,
}

/// What the gate decided.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "gate", rename_all = "snake_case")]
pub enum Gate {
    /// Plan and publish the plan; change nothing.
    DryRun {
        /// Why this is a dry run.
        reason: String,
    },
    /// Wait: more approvals are needed.
    AwaitApprovals {
        /// How many in all.
        required: u32,
        /// Who approved so far.
        approved_by: Vec<String>,
    },
    /// Do not act.
    Refuse {
        /// Why.
        reason: String,
    },
    /// Act.
    Execute,
}

impl fmt::Display for Gate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Gate::DryRun { reason } => write!(f, "dry run: {reason}"),
            Gate::AwaitApprovals { required, approved_by } => write!(
                f,
                "waiting for approvals: {} of {required}{}",
                approved_by.len(),
                if approved_by.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", approved_by.join(", "))
                }
            ),
            Gate::Refuse { reason } => write!(f, "refused: {reason}"),
            Gate::Execute => write!(f, "execute"),
        }
    }
}

/// What the store counted for the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    /// Remediations executed in the finding's account in the current hour.
    pub executed_this_hour: u32,
    /// Whether the kill switch is on.
    pub kill_switch: bool,
}

/// Whether a request runs, waits, is a dry run or is refused. Approvals count only from the
/// allow-list, once per person, and never the requester's own.
pub fn gate(
    policy: &SafetyPolicy,
    request: &RemediationRequest,
    finding: &Finding,
    approvals: &[Approval],
    counts: Counts,
) -> Gate {
    if counts.kill_switch {
        return Gate::Refuse {
            reason: "the remediation kill switch is on (SSM parameter); nothing is executed until it is turned off"
                .into(),
        };
    }
    if policy.shadow {
        return Gate::DryRun {
            reason: "shadow mode (ShadowMode=true): everything is evaluated and recorded, nothing is executed".into(),
        };
    }
    if request.dry_run {
        return Gate::DryRun {
            reason: "the request asked for a dry run".into(),
        };
    }
    if !policy.enabled(request.action, &finding.resource.resource_type) {
        return Gate::DryRun {
            reason: format!(
                "{} is not enabled for {} (RemediationPolicy); the plan is shown, nothing changed",
                request.action.as_str(),
                finding.resource.resource_type
            ),
        };
    }
    let required = policy.approvals_needed(finding, request.action);
    if required > 0 {
        let mut approved_by: Vec<String> = Vec::new();
        for a in approvals {
            let allowed = policy.approvers.iter().any(|x| x == &a.approver);
            if allowed && a.approver != request.requested_by.user && !approved_by.contains(&a.approver) {
                approved_by.push(a.approver.clone());
            }
        }
        if (approved_by.len() as u32) < required {
            return Gate::AwaitApprovals { required, approved_by };
        }
    }
    if counts.executed_this_hour >= policy.hourly_cap {
        return Gate::Refuse {
            reason: format!(
                "the cap of {} executed remediations per hour in account {} is reached; try again next hour or raise the cap",
                policy.hourly_cap, finding.resource.account
            ),
        };
    }
    Gate::Execute
}

/// The id of a request: the same request (finding, action, who, when) always has the same id,
/// so a redelivered event claims the same execution.
pub fn request_id(request: &RemediationRequest) -> String {
    format!(
        "rq-{:016x}",
        crate::util::fnv::hash_parts(&[
            &request.finding_id,
            request.action.as_str(),
            &request.requested_by.source,
            &request.requested_by.user,
            &request.requested_at.to_string(),
        ])
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::conformance::sample_finding;
    use crate::remediation::Requester;
    use crate::util::time::Timestamp;

    fn request(dry_run: bool) -> RemediationRequest {
        RemediationRequest {
            schema_version: 1,
            finding_id: "dg-1".into(),
            action: RemediationAction::Revert,
            requested_by: Requester {
                source: "slack".into(),
                user: "U0ALICE".into(),
            },
            requested_at: Timestamp(1_795_165_337_000),
            dry_run,
            reason: None,
        }
    }

    #[test]
    fn shadow_mode_makes_every_request_a_dry_run_but_the_kill_switch_still_refuses() {
        let finding = sample_finding("ev-shadow", "sg-0123456789abcdef0", 1_795_165_337, Severity::Critical);
        let mut policy = SafetyPolicy {
            revert: vec!["*".into()],
            ..SafetyPolicy::default()
        };
        let counts = Counts {
            executed_this_hour: 0,
            kill_switch: false,
        };
        assert_eq!(gate(&policy, &request(false), &finding, &[], counts), Gate::Execute);
        policy.shadow = true;
        let Gate::DryRun { reason } = gate(&policy, &request(false), &finding, &[], counts) else {
            panic!("a dry run in shadow mode");
        };
        assert!(reason.starts_with("shadow mode"), "{reason}");
        let off = Counts {
            kill_switch: true,
            ..counts
        };
        assert!(matches!(
            gate(&policy, &request(false), &finding, &[], off),
            Gate::Refuse { .. }
        ));
        // Shadow mode is a deployment setting, never read from the policy JSON.
        assert!(serde_json::from_str::<SafetyPolicy>(r#"{"shadow":true}"#).is_err());
    }
}
