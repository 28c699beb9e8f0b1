//! Remediation events: `Remediation Requested` (someone asked DriftGuard to act on a finding,
//! for example from a Slack button) and the results a remediation worker publishes,
//! `Remediation Completed` / `Remediation Failed`. Their `detail` shapes are
//! `events/schema/remediation-*.v1.json`; [`RemediationPublisher`] is the port that sends requests.

use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::future::Future;

/// `detail-type` of a request.
pub const REQUESTED: &str = "Remediation Requested";
/// `detail-type` of a successful remediation.
pub const COMPLETED: &str = "Remediation Completed";
/// `detail-type` of a failed remediation.
pub const FAILED: &str = "Remediation Failed";

/// `detail-type` of an approval of a request waiting for approvals.
pub const APPROVED: &str = "Remediation Approved";

/// `detail-type` of a request that waits for approvals (published each time one is counted).
pub const AWAITING_APPROVAL: &str = "Remediation Awaiting Approval";

/// The `detail` of `Remediation Awaiting Approval`: a request passed every check but approvals,
/// and waits for `required` distinct approvers; `calls` is the plan that runs after the last one
/// (empty for a re-apply or accept, whose effect is the dispatch or the closing itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationPending {
    /// Always 1.
    pub schema_version: u32,
    /// The finding.
    pub finding_id: String,
    /// The waiting request ([`crate::remediation::safety::request_id`]): what an approval names.
    pub request_id: String,
    /// What it will do.
    pub action: RemediationAction,
    /// Who asked (who may not approve it).
    pub requested_by: Requester,
    /// Distinct approvers needed in all.
    pub required: u32,
    /// Who approved so far (counted approvals only).
    #[serde(default)]
    pub approved_by: Vec<String>,
    /// The calls a revert will make once approved.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<crate::remediation::plan::Call>,
    /// When this state was reached.
    pub at: Timestamp,
}

impl RemediationPending {
    /// The idempotency key of the notification about this state: one per request and count,
    /// `<finding id>:approval.<request id>.<approvals so far>`.
    pub fn key(&self) -> String {
        format!(
            "{}:approval.{}.{}",
            self.finding_id,
            self.request_id,
            self.approved_by.len()
        )
    }

    /// Approvals still missing.
    pub fn missing(&self) -> u32 {
        self.required.saturating_sub(self.approved_by.len() as u32)
    }
}

/// The `detail` of `Remediation Approved`: someone approved a waiting request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationApproval {
    /// Always 1.
    pub schema_version: u32,
    /// The finding.
    pub finding_id: String,
    /// The request approved ([`crate::remediation::safety::request_id`]).
    pub request_id: String,
    /// Who approved (a Slack user id, `cli:<name>`), checked against the approvers list.
    pub approver: String,
    /// When.
    pub at: Timestamp,
}

/// What to do about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemediationAction {
    /// Undo the manual change with the inverse API calls.
    Revert,
    /// Re-apply the IaC declaration of the resource.
    Reapply,
    /// Keep the change (to be codified in IaC) and close the finding.
    Accept,
}

impl RemediationAction {
    /// Lower-case name, as in the events.
    pub fn as_str(self) -> &'static str {
        match self {
            RemediationAction::Revert => "revert",
            RemediationAction::Reapply => "reapply",
            RemediationAction::Accept => "accept",
        }
    }
}

/// Who asked, and through which interface.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Requester {
    /// `slack`, `cli` or `api`.
    pub source: String,
    /// The requester as that interface identifies them (a Slack user id for Slack).
    pub user: String,
}

/// The `detail` of `Remediation Requested` (schema v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationRequest {
    /// Always 1.
    pub schema_version: u32,
    /// The finding.
    pub finding_id: String,
    /// What to do.
    pub action: RemediationAction,
    /// Who asked.
    pub requested_by: Requester,
    /// When.
    pub requested_at: Timestamp,
    /// Report only, change nothing.
    pub dry_run: bool,
    /// Free-text justification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// How a remediation ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RemediationOutcome {
    /// Done: the resource is back to what IaC declares (or the change was accepted).
    Completed,
    /// It could not be done; `message` says why.
    Failed,
}

impl RemediationOutcome {
    /// The `detail-type` of a result with this outcome.
    pub fn detail_type(self) -> &'static str {
        match self {
            RemediationOutcome::Completed => COMPLETED,
            RemediationOutcome::Failed => FAILED,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            RemediationOutcome::Completed => "completed",
            RemediationOutcome::Failed => "failed",
        }
    }
}

/// The `detail` of `Remediation Completed` / `Remediation Failed` (schema v1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RemediationResult {
    /// Always 1.
    pub schema_version: u32,
    /// The finding.
    pub finding_id: String,
    /// What was done.
    pub action: RemediationAction,
    /// `completed` or `failed` (matches the detail-type).
    pub outcome: RemediationOutcome,
    /// Who or what carried it out (the remediation worker, a pipeline run).
    pub by: String,
    /// When it ended.
    pub at: Timestamp,
    /// Details: what changed, or why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The request this answers ([`crate::remediation::safety::request_id`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// Nothing was changed: the plan is what would have run.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub dry_run: bool,
    /// The calls made (or that would be), with their parameters.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub calls: Vec<crate::remediation::plan::Call>,
    /// The pipeline run a re-apply started, when the API gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
    /// The HCL that codifies an accepted change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hcl: Option<String>,
}

impl RemediationResult {
    /// A result with no plan, run or HCL attached.
    pub fn new(
        finding_id: &str,
        action: RemediationAction,
        outcome: RemediationOutcome,
        by: &str,
        at: Timestamp,
        message: Option<String>,
    ) -> RemediationResult {
        RemediationResult {
            schema_version: 1,
            finding_id: finding_id.to_owned(),
            action,
            outcome,
            by: by.to_owned(),
            at,
            message,
            request_id: None,
            dry_run: false,
            calls: Vec::new(),
            run_url: None,
            hcl: None,
        }
    }

    /// The idempotency key of the notification about this result: `<finding id>:<action>.<outcome>@<at>`.
    pub fn key(&self) -> String {
        format!(
            "{}:{}.{}@{}",
            self.finding_id,
            self.action.as_str(),
            self.outcome.as_str(),
            self.at
        )
    }

    /// One sentence for people: "Revert completed by remediation-worker at …: message".
    pub fn sentence(&self) -> String {
        let action = match self.action {
            RemediationAction::Revert => "Revert",
            RemediationAction::Reapply => "Re-apply",
            RemediationAction::Accept => "Accept",
        };
        let outcome = if self.dry_run { "dry run" } else { self.outcome.as_str() };
        let mut s = format!("{action} {outcome} by {} at {}", self.by, self.at);
        if let Some(m) = self.message.as_deref().filter(|m| !m.trim().is_empty()) {
            s.push_str(": ");
            s.push_str(m.trim());
        }
        s
    }
}

/// Where remediation requests go (the DriftGuard bus in AWS).
pub trait RemediationPublisher {
    /// The adapter's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Publishes one request.
    fn request(&self, request: &RemediationRequest) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Publishes one approval of a waiting request.
    fn approve(&self, approval: &RemediationApproval) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// An in-memory [`RemediationPublisher`] that keeps what it was given.
#[derive(Debug, Default)]
pub struct MemoryRemediations {
    requests: std::sync::Mutex<Vec<RemediationRequest>>,
    approvals: std::sync::Mutex<Vec<RemediationApproval>>,
}

impl MemoryRemediations {
    /// Requests published so far.
    pub fn requests(&self) -> Vec<RemediationRequest> {
        self.requests.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Approvals published so far.
    pub fn approvals(&self) -> Vec<RemediationApproval> {
        self.approvals.lock().map(|r| r.clone()).unwrap_or_default()
    }
}

impl RemediationPublisher for MemoryRemediations {
    type Error = crate::findings::ports::Poisoned;

    fn request(&self, request: &RemediationRequest) -> impl Future<Output = Result<(), Self::Error>> + Send {
        std::future::ready(
            self.requests
                .lock()
                .map_err(|_| crate::findings::ports::Poisoned)
                .map(|mut r| r.push(request.clone())),
        )
    }

    fn approve(&self, approval: &RemediationApproval) -> impl Future<Output = Result<(), Self::Error>> + Send {
        std::future::ready(
            self.approvals
                .lock()
                .map_err(|_| crate::findings::ports::Poisoned)
                .map(|mut r| r.push(approval.clone())),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dry_run_says_so_instead_of_completed() {
        let mut r = RemediationResult::new(
            "dg-1500731b7ee4b0bc",
            RemediationAction::Revert,
            RemediationOutcome::Completed,
            "driftguard-remediate",
            Timestamp(1_795_165_337_000),
            Some("nothing changed (revert is not enabled for AWS::EC2::SecurityGroup)".into()),
        );
        assert!(r.sentence().starts_with("Revert completed by driftguard-remediate at "));
        r.dry_run = true;
        assert_eq!(
            r.sentence(),
            "Revert dry run by driftguard-remediate at 2026-11-20T09:02:17Z: nothing changed (revert is not enabled for AWS::EC2::SecurityGroup)"
        );
    }
}
