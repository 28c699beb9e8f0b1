//! Severity follows risk: a protection turned off is at least major and a managed resource
//! deleted by hand is critical, whatever the environment tag; tag-only changes stay minor. Each
//! case runs a real-shaped CloudTrail event through the pipeline against the demo's Terraform
//! state, re-tagged `Environment = dev` (which lowers everything else one step).

mod common;

use common::evaluate::{self, cli_call};
use common::{events_dir, read, workspace};
use driftguard_core::attribution::AttributionConfig;
use driftguard_core::finding::Finding;
use driftguard_core::inventory::Inventory;
use driftguard_core::pipeline::Pipeline;
use driftguard_core::score::Severity;
use serde_json::{json, Value};

/// The demo's declarations, every resource tagged `dev`, the instance termination-protected.
fn dev_pipeline() -> Pipeline {
    let mut inventory = Inventory::new();
    for name in ["network.tfstate", "data.tfstate"] {
        let text = String::from_utf8(read(&workspace().join("events/terraform").join(name))).expect("UTF-8 state");
        let text = text
            .replace(r#""Environment": "prod""#, r#""Environment": "dev""#)
            .replace(
                r#""disable_api_termination": false"#,
                r#""disable_api_termination": true"#,
            );
        inventory.add_state(name, text.as_bytes()).expect("state loads");
    }
    Pipeline::new(&AttributionConfig::default(), inventory)
}

/// The finding one document gives.
fn finding(pipeline: &Pipeline, document: &[u8]) -> Finding {
    evaluate::finding(evaluate::outcome(pipeline, document))
}

/// A CloudTrail record by bob (IAM user, CLI) on the demo's database or instance.
fn call(source: &str, name: &str, request: Value) -> Vec<u8> {
    cli_call(source, name, request, Value::Null)
}

fn check(f: &Finding, severity: Severity, reason: &str) {
    assert_eq!(f.severity, severity, "{:?}", f.severity_reasons);
    assert!(
        f.severity_reasons.iter().any(|r| r.contains(reason)),
        "no reason containing {reason:?} in {:?}",
        f.severity_reasons
    );
}

#[test]
fn suspending_versioning_on_a_dev_bucket_is_major() {
    let event = read(&events_dir().join("cloudtrail/s3-put-bucket-versioning.cli-user.json"));
    let f = finding(&dev_pipeline(), &event);
    check(&f, Severity::Major, "bucket versioning suspended");
    assert!(
        f.severity_reasons.iter().any(|r| r == "environment dev"),
        "{:?}",
        f.severity_reasons
    );
}

#[test]
fn removing_termination_protection_on_a_dev_instance_is_major() {
    // ModifyInstanceAttribute's request carries one attribute as `{"value": ...}`.
    let event = call(
        "ec2.amazonaws.com",
        "ModifyInstanceAttribute",
        json!({"instanceId": "i-0abc1234def567890", "disableApiTermination": {"value": false}}),
    );
    let f = finding(&dev_pipeline(), &event);
    let change = f
        .changes
        .iter()
        .find(|c| c.attribute == "disable_api_termination")
        .expect("compared");
    assert_eq!((&change.expected, &change.found), (&json!(true), &json!(false)));
    check(&f, Severity::Major, "termination protection removed");
}

#[test]
fn turning_off_deletion_protection_on_a_dev_database_is_major() {
    // The request as CloudTrail records ModifyDBInstance (shape from Panther's rule tests).
    let event = call(
        "rds.amazonaws.com",
        "ModifyDBInstance",
        json!({"dBInstanceIdentifier": "acme-prod-db", "deletionProtection": false, "applyImmediately": true}),
    );
    let f = finding(&dev_pipeline(), &event);
    let change = f
        .changes
        .iter()
        .find(|c| c.attribute == "deletion_protection")
        .expect("compared");
    assert_eq!((&change.expected, &change.found), (&json!(true), &json!(false)));
    check(&f, Severity::Major, "deletion protection turned off");
}

#[test]
fn deleting_a_managed_database_by_hand_is_critical_in_any_environment() {
    let event = call(
        "rds.amazonaws.com",
        "DeleteDBInstance",
        json!({"dBInstanceIdentifier": "acme-prod-db", "skipFinalSnapshot": true}),
    );
    let f = finding(&dev_pipeline(), &event);
    check(&f, Severity::Critical, "a managed resource deleted by hand");
}

#[test]
fn a_change_that_keeps_protection_on_is_not_raised() {
    let event = call(
        "rds.amazonaws.com",
        "ModifyDBInstance",
        json!({"dBInstanceIdentifier": "acme-prod-db", "dBInstanceClass": "db.t4g.large", "applyImmediately": true}),
    );
    let f = finding(&dev_pipeline(), &event);
    assert!(
        f.changes.iter().any(|c| c.attribute == "instance_class" && c.drifted),
        "{:?}",
        f.changes
    );
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);
    assert!(
        !f.severity_reasons.iter().any(|r| r.contains("at least major")),
        "{:?}",
        f.severity_reasons
    );
}

#[test]
fn tags_alone_stay_minor() {
    let event = read(&events_dir().join("cloudtrail/ec2-create-tags.cloudshell.json"));
    let f = finding(&dev_pipeline(), &event);
    check(&f, Severity::Minor, "tags only");
}
