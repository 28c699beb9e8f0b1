//! DriftGuard's integration-test crate: the tests live in `tests/`; this library holds the harnesses
//! they share.
//!
//! - [`runtime_api`]: a Lambda Runtime API on loopback and a runner for compiled Lambda binaries, so a
//!   test invokes a function the way AWS Lambda does.
//! - [`moto`]: a moto server on loopback (DynamoDB, EventBridge, SQS wire protocols) for adapter and
//!   end-to-end tests.
//!
//! Both use only the standard library (and `serde_json`), so the harnesses build in seconds.

pub mod fault;
pub mod moto;
pub mod runtime_api;
pub mod slack_receiver;
pub mod stack;
