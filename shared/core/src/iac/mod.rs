//! Stage 3, IaC: what the code declares and what a call touches. The catalog resolves a CloudTrail
//! call to the resource type and id it names; the inventory indexes Terraform state files by ARN,
//! id and naming attributes, with sensitive values redacted on load; `sync` keeps the declared
//! state fresh (a written state's revision, and whether it may replace the one on record).

pub mod catalog;
pub mod inventory;
pub mod sync;
