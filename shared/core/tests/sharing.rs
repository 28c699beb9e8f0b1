//! Snapshot and image sharing: `ModifySnapshotAttribute`, `ModifyImageAttribute`,
//! `ModifyDBSnapshotAttribute` and `ModifyDBClusterSnapshotAttribute` on IaC-managed resources are
//! compared at attribute level (who the resource is shared with, expected vs found), and sharing
//! with `all` or with an account IaC does not declare is critical. The requests follow the shapes
//! CloudTrail records (as in Panther's and StreamAlert's rule tests in ../shared/data); the state
//! declares one snapshot shared with a DR account through `aws_snapshot_create_volume_permission`,
//! an AMI shared with nobody and an RDS snapshot with `shared_accounts`.

mod common;

use common::evaluate::{self, change, pipeline_over};
use common::record;
use driftguard_core::finding::Finding;
use driftguard_core::pipeline::{Outcome, Pipeline, Skip};
use driftguard_core::score::Severity;
use serde_json::{json, Value};

const SNAPSHOT: &str = "snap-0a1b2c3d4e5f60718";
const IMAGE: &str = "ami-0c1d2e3f4a5b6c7d8";
const DB_SNAPSHOT: &str = "orders-before-migration";

fn pipeline() -> Pipeline {
    pipeline_over(&["shared/core/tests/data/sharing/backups.tfstate"])
}

/// A console call by an SSO user with these request parameters.
fn event(source: &str, name: &str, request: Value) -> Vec<u8> {
    let r = record(
        source,
        name,
        json!({
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLEID:alice@example.com",
                "arn": "arn:aws:sts::123456789012:assumed-role/AWSReservedSSO_AdministratorAccess_0123456789abcdef/alice@example.com",
                "accountId": "123456789012",
                "sessionContext": {
                    "sessionIssuer": {
                        "type": "Role",
                        "arn": "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/eu-west-1/AWSReservedSSO_AdministratorAccess_0123456789abcdef",
                        "accountId": "123456789012",
                        "userName": "AWSReservedSSO_AdministratorAccess_0123456789abcdef"
                    },
                    "attributes": {"creationDate": "2026-11-20T09:00:00Z", "mfaAuthenticated": "false"}
                }
            },
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "AWS Internal",
            "sessionCredentialFromConsole": "true",
            "requestParameters": request,
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
        }),
    );
    serde_json::to_vec(&r).expect("JSON")
}

fn outcome(document: &[u8]) -> Outcome {
    evaluate::outcome(&pipeline(), document)
}

fn finding(document: &[u8]) -> Finding {
    evaluate::finding(outcome(document))
}

fn reason<'f>(f: &'f Finding, text: &str) -> &'f str {
    f.severity_reasons
        .iter()
        .find(|r| r.contains(text))
        .unwrap_or_else(|| panic!("no reason containing {text:?} in {:?}", f.severity_reasons))
}

#[test]
fn an_ebs_snapshot_made_public_is_critical_drift_on_the_declared_snapshot() {
    let f = finding(&event(
        "ec2.amazonaws.com",
        "ModifySnapshotAttribute",
        json!({
            "snapshotId": SNAPSHOT,
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": [{"group": "all"}]}}
        }),
    ));
    assert_eq!(f.resource.resource_type, "AWS::EC2::Snapshot");
    let c = change(&f, "create_volume_permission");
    assert_eq!(c.expected, json!(["210987654321"]), "the declared permission child");
    assert_eq!(c.found, json!(["210987654321", "all"]));
    assert!(c.drifted);
    assert_eq!(f.severity, Severity::Critical);
    reason(&f, "create_volume_permission made public");
}

#[test]
fn a_snapshot_shared_with_an_undeclared_account_is_critical() {
    let f = finding(&event(
        "ec2.amazonaws.com",
        "ModifySnapshotAttribute",
        json!({
            "snapshotId": SNAPSHOT,
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": [{"userId": "111122223333"}]}}
        }),
    ));
    assert_eq!(
        change(&f, "create_volume_permission").found,
        json!(["111122223333", "210987654321"])
    );
    assert_eq!(f.severity, Severity::Critical);
    reason(&f, "shared with account 111122223333");
}

#[test]
fn removing_the_declared_share_is_drift_but_not_exposure() {
    let f = finding(&event(
        "ec2.amazonaws.com",
        "ModifySnapshotAttribute",
        json!({
            "snapshotId": SNAPSHOT,
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"remove": {"items": [{"userId": "210987654321"}]}}
        }),
    ));
    let c = change(&f, "create_volume_permission");
    assert_eq!((&c.expected, &c.found), (&json!(["210987654321"]), &json!([])));
    assert!(c.drifted);
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);
}

#[test]
fn an_ami_made_public_is_critical() {
    let f = finding(&event(
        "ec2.amazonaws.com",
        "ModifyImageAttribute",
        json!({
            "imageId": IMAGE,
            "attributeType": "launchPermission",
            "launchPermission": {"add": {"items": [{"group": "all"}]}}
        }),
    ));
    assert_eq!(f.resource.resource_type, "AWS::EC2::Image");
    let c = change(&f, "launch_permission");
    assert_eq!((&c.expected, &c.found), (&json!([]), &json!(["all"])));
    assert_eq!(f.severity, Severity::Critical);
    reason(&f, "launch_permission made public");
}

#[test]
fn an_rds_snapshot_shared_with_another_account_is_critical() {
    let f = finding(&event(
        "rds.amazonaws.com",
        "ModifyDBSnapshotAttribute",
        json!({"dBSnapshotIdentifier": DB_SNAPSHOT, "attributeName": "restore", "valuesToAdd": ["193672423079"]}),
    ));
    assert_eq!(f.resource.resource_type, "AWS::RDS::DBSnapshot");
    let c = change(&f, "shared_accounts");
    assert_eq!(c.expected, json!(["210987654321"]));
    assert_eq!(c.found, json!(["193672423079", "210987654321"]));
    assert_eq!(f.severity, Severity::Critical);
    reason(&f, "shared_accounts shared with account 193672423079");
}

#[test]
fn sharing_with_the_declared_account_again_changes_nothing() {
    let outcome = outcome(&event(
        "rds.amazonaws.com",
        "ModifyDBSnapshotAttribute",
        json!({"dBSnapshotIdentifier": DB_SNAPSHOT, "attributeName": "restore", "valuesToAdd": ["210987654321"]}),
    ));
    let Outcome::Iac(iac) = outcome else {
        panic!("expected manual activity, not a finding: {outcome:?}");
    };
    assert_eq!(iac.restores[0].attribute, "shared_accounts");
}

#[test]
fn sharing_an_undeclared_snapshot_is_outside_iac() {
    let outcome = outcome(&event(
        "ec2.amazonaws.com",
        "ModifySnapshotAttribute",
        json!({
            "snapshotId": "snap-0ffffffffffffffff",
            "attributeType": "CREATE_VOLUME_PERMISSION",
            "createVolumePermission": {"add": {"items": [{"group": "all"}]}}
        }),
    ));
    assert!(
        matches!(
            outcome,
            Outcome::Skipped {
                reason: Skip::OutsideIac
            }
        ),
        "{outcome:?}"
    );
}
