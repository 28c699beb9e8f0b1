//! Stage 6, remediation: what may be done about a finding (revert, re-apply IaC, accept), who asked,
//! and what came of it. Today the request and result events and their publisher port; the planner
//! that decides how to act comes next.

mod events;
mod reapply;

pub use events::*;
pub use reapply::*;
