//! Stage 5, findings: the lifecycle. The pipeline evaluates one item through the stages below into
//! an outcome; findings are created, joined with their Config evidence and resolved by IaC changes
//! under one set of rules; the ports say what a store and a publisher do, and the conformance suite
//! holds every store to them. `stack` asks CloudFormation about the manual changes on a stack's
//! resources (CDK, SAM) that no Terraform state declares.

pub mod codified;
pub mod conformance;
pub mod evidence;
pub mod finding;
pub mod join;
pub mod pipeline;
pub mod ports;
pub mod service;
pub mod stack;
pub mod sweep;
