//! Stage 6, remediation: what may be done about a finding (revert, re-apply IaC, accept), who asked,
//! whether it may run, and what came of it. `events` holds the request and result events and their
//! publisher port; `plan` turns a finding and the live values into the calls of a revert (or a
//! refusal); `safety` decides whether a request runs, waits for approvals, is a dry run or is
//! refused; `audit` is the trail stored under the finding.

pub mod audit;
mod events;
pub mod plan;
pub mod safety;

pub use events::*;
