//! The audit trail of a remediation, stored under the finding: the request, each approval, the
//! gate's decision, the plan, every call with its parameters and outcome, the values before and
//! after, and how it ended. No secret is ever part of an entry: calls carry ids and documents,
//! never credentials, and pipeline tokens stay in the adapters.

use crate::remediation::events::RemediationRequest;
use crate::remediation::plan::{Call, Plan, Refusal};
use crate::remediation::safety::Gate;
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One entry of a finding's remediation trail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    /// The request it belongs to ([`crate::remediation::safety::request_id`]).
    pub request_id: String,
    /// When.
    pub at: Timestamp,
    /// What happened.
    #[serde(flatten)]
    pub step: Step,
}

/// What happened at one point of a remediation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "step", rename_all = "snake_case")]
pub enum Step {
    /// Someone (or an automatic rule) asked.
    Requested {
        /// The request as received.
        request: RemediationRequest,
    },
    /// Someone approved.
    Approved {
        /// Who.
        approver: String,
    },
    /// The gate decided.
    Gated {
        /// The decision.
        gate: Gate,
    },
    /// The plan, as it will run (or would, in a dry run).
    Planned {
        /// The plan.
        plan: Plan,
    },
    /// The planner refused.
    Refused {
        /// Why.
        refusal: Refusal,
        /// The sentence shown to people.
        message: String,
    },
    /// One call made.
    Called {
        /// The call and its parameters.
        call: Call,
        /// Whether AWS accepted it.
        ok: bool,
        /// The error, when it did not.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    },
    /// The live values read back after the calls.
    Verified {
        /// Attribute → live value.
        after: BTreeMap<String, serde_json::Value>,
        /// Whether they equal the plan's `after`.
        matches: bool,
    },
    /// A pipeline was started.
    Dispatched {
        /// Where (the workflow or webhook, no secret).
        target: String,
        /// The run, when the API gave one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        run_url: Option<String>,
    },
    /// The change was accepted as the new baseline.
    Accepted {
        /// The HCL that codifies it, for the mapped types.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        hcl: Option<String>,
        /// The issue opened for it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        issue_url: Option<String>,
    },
    /// How it ended.
    Finished {
        /// `completed` or `failed`.
        outcome: crate::remediation::events::RemediationOutcome,
        /// The sentence shown to people.
        message: String,
    },
}
