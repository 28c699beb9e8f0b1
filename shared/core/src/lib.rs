//! DriftGuard's domain, sans IO.
//!
//! Decoding ([`decode`], [`record`], [`config_item`]) → attribution ([`attribution`]) →
//! resource resolution ([`catalog`]) → IaC correlation ([`inventory`], [`diff`]) → scoring
//! ([`score`]) → findings ([`finding`]), driven by [`pipeline`]. [`ports`] defines what adapters
//! (stores, publishers) implement. Nothing here performs IO: callers hand in bytes.

pub mod attribution;
pub mod catalog;
pub mod config_item;
pub mod config_map;
pub mod conformance;
pub mod coverage;
pub mod decode;
pub mod diff;
pub mod env;
pub mod finding;
pub mod fnv;
pub mod ignore;
pub mod interaction;
pub mod inventory;
pub mod join;
pub mod json_path;
pub mod notify;
pub mod pipeline;
pub mod ports;
pub mod record;
pub mod remediation;
pub mod score;
pub mod secret;
pub mod service;
pub mod slack;
pub mod time;
