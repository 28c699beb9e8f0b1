//! DriftGuard's domain, sans IO.
//!
//! The folders are the pipeline's stages, in the order data flows; a stage imports only the ones
//! before it (a test in `tests/tests/architecture.rs` checks this):
//!
//! 1. [`input`]: bytes in, typed items out ([`decode`], [`record`], [`config_item`]); dead letters
//!    and where each goes back to ([`dead_letter`]).
//! 2. [`actors`]: who made the change ([`attribution`]).
//! 3. [`iac`]: what IaC declares and what a call touches ([`inventory`], [`catalog`]).
//! 4. [`drift`]: expected vs found, how likely, how bad ([`diff`], [`config_map`], [`ignore`],
//!    [`score`], [`coverage`]).
//! 5. [`findings`]: the lifecycle and the stores' contract ([`pipeline`], [`finding`], [`join`],
//!    [`ports`], [`service`], [`conformance`]).
//! 6. [`remediation`]: requests and results of acting on a finding.
//! 7. [`notify`]: Slack messages and button clicks ([`slack`], [`interaction`]), Security Hub
//!    findings ([`securityhub`]).
//! 8. [`learn`]: labels from decisions, evaluation, fitted weights, drift hotspots ([`label`],
//!    [`eval`], [`fit`], [`hotspot`]).
//! 9. [`setup`]: the operator's configuration file, read and checked ([`config_file`]).
//!
//! [`util`] holds what every stage may use. Nothing here performs IO: callers hand in bytes. The
//! modules are re-exported at the root under their own names, so adapters write
//! `driftguard_core::finding::Finding`.

pub mod actors;
pub mod drift;
pub mod findings;
pub mod iac;
pub mod input;
pub mod learn;
pub mod notify;
pub mod remediation;
pub mod setup;
pub mod util;

pub use actors::attribution;
pub use drift::{config_map, coverage, diff, ignore, score};
pub use findings::{codified, conformance, finding, join, pipeline, ports, service, stack, sweep};
pub use iac::{catalog, inventory, sync};
pub use input::{config_item, dead_letter, decode, json_path, record};
pub use learn::{eval, fit, hotspot, label};
pub use notify::{interaction, securityhub, slack};
pub use setup::config_file;
pub use util::{env, fnv, metrics, secret, time};
