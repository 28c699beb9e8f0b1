//! Stage 7, notify: telling people and hearing back, sans IO. A finding or a remediation result
//! becomes a Block Kit message (posted, updated, grouped or digested, once per version), and a
//! signed button click becomes a recorded decision and, for revert and re-apply, a remediation
//! request.

mod delivery;
pub mod interaction;
pub mod slack;

pub use delivery::*;
