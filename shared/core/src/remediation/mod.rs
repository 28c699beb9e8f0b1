//! Stage 6, remediation: what may be done about a finding (revert, re-apply IaC, accept), who asked,
//! whether it may run, and what came of it. `events` holds the request and result events and their
//! publisher port; `plan` turns a finding and the live values into the calls of a revert (or a
//! refusal); `reapply` routes a finding's state to the pipeline that owns it and builds the
//! dispatch, webhook and issue requests; `safety` decides whether a request runs, waits for
//! approvals, is a dry run or is refused; `audit` is the trail stored under the finding; `codify`
//! writes the HCL that accepts a drift into its declaration.

pub mod audit;
pub mod codify;
mod events;
pub mod plan;
mod reapply;
pub mod safety;

pub use events::*;
pub use reapply::*;
