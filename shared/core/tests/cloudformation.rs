//! CloudFormation ownership (#12 item 5): a resource a CloudFormation stack created carries the
//! `aws:cloudformation:stack-name` tag, and AWS Config records it in the item's `tags` (the shape
//! of the Cloud Custodian corpus's S3 item in ../shared/data). Such a resource is IaC-managed even
//! when no Terraform state declares it: never an unmanaged finding.

#![allow(clippy::unwrap_used)]

mod common;

use common::evaluate::{outcome, pipeline_over};
use common::{events_dir, read};
use driftguard_core::finding::FindingKind;
use driftguard_core::pipeline::{Outcome, Skip};
use serde_json::{json, Value};

const STATES: [&str; 2] = ["events/terraform/network.tfstate", "events/terraform/data.tfstate"];

fn created_bucket() -> Value {
    serde_json::from_slice(&read(&events_dir().join("config/s3-bucket.created-unmanaged.json"))).unwrap()
}

#[test]
fn a_bucket_a_stack_created_is_not_unmanaged() {
    let pipeline = pipeline_over(&STATES);
    let event = created_bucket();
    // Without the stack's tags: a bucket next to Terraform-managed ones that no state declares.
    match outcome(&pipeline, event.to_string().as_bytes()) {
        Outcome::Config(obs) => {
            let f = obs.finding.expect("an unmanaged finding");
            assert_eq!(f.kind, FindingKind::Unmanaged);
        }
        other => panic!("expected an unmanaged finding, got {other:?}"),
    }
    // The tags CloudFormation puts on what a stack creates: owned by IaC, skipped with the reason.
    let mut owned = event.clone();
    owned["detail"]["configurationItem"]["tags"] = json!({
        "aws:cloudformation:logical-id": "ExportBucket",
        "aws:cloudformation:stack-id": "arn:aws:cloudformation:eu-west-1:123456789012:stack/data-exports/3cdd9720-f48d-11e6-a02a-503f23fb11fe",
        "aws:cloudformation:stack-name": "data-exports",
        "team": "data"
    });
    match outcome(&pipeline, owned.to_string().as_bytes()) {
        Outcome::Skipped { reason } => {
            assert_eq!(reason, Skip::CloudFormationOwned);
            assert_eq!(reason.as_str(), "cloudformation_owned");
        }
        other => panic!("expected a skip, got {other:?}"),
    }
    // Other tags alone change nothing.
    let mut tagged = event;
    tagged["detail"]["configurationItem"]["tags"] = json!({ "team": "data" });
    assert!(matches!(
        outcome(&pipeline, tagged.to_string().as_bytes()),
        Outcome::Config(obs) if obs.finding.as_ref().is_some_and(|f| f.kind == FindingKind::Unmanaged)
    ));
}
