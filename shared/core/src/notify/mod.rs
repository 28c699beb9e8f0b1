//! Stage 7, notify: telling people and other systems, and hearing back, sans IO. A finding or a
//! remediation result becomes a Block Kit message (posted, updated, grouped or digested, once per
//! version), and a signed button click becomes a recorded decision and, for revert and re-apply, a
//! remediation request; a drift event becomes an AWS Security Hub finding ([`securityhub`]).

mod delivery;
pub mod interaction;
pub mod securityhub;
pub mod slack;

pub use delivery::*;
