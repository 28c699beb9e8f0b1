//! Snapshot, image and RAM sharing: `ModifySnapshotAttribute`, `ModifyImageAttribute`,
//! `ModifyDBSnapshotAttribute`, `ModifyDBClusterSnapshotAttribute` and RAM's
//! `AssociateResourceShare` / `DisassociateResourceShare` / `UpdateResourceShare` on IaC-managed
//! resources are compared at attribute level (who the resource is shared with, expected vs
//! found), and sharing with `all`, with an account IaC does not declare, or opening a share to
//! external principals is critical. The requests follow the shapes CloudTrail records (as in
//! Panther's and StreamAlert's rule tests in ../shared/data; RAM's from the RAM User Guide's
//! CloudTrail example and the RAM API reference, whose JSON member names CloudTrail keeps); the
//! state declares one snapshot shared with a DR account through
//! `aws_snapshot_create_volume_permission`, an AMI shared with nobody, an RDS snapshot with
//! `shared_accounts`, and a RAM share of one subnet with one account.

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

const SHARE: &str = "arn:aws:ram:eu-west-1:123456789012:resource-share/7ab63972-b505-4ff3-8bd6-3a1b2c4d5e6f";

fn pipeline() -> Pipeline {
    pipeline_over(&[
        "shared/core/tests/data/sharing/backups.tfstate",
        "shared/core/tests/data/sharing/ram.tfstate",
    ])
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

/// RAM's answer to an association call: one association per principal or resource named.
fn associations(principals: &[&str], status: &str) -> Value {
    let list: Vec<Value> = principals
        .iter()
        .map(|p| {
            json!({"resourceShareArn": SHARE, "associatedEntity": p, "associationType": "PRINCIPAL",
                   "status": status, "external": !p.starts_with("arn:aws:organizations::")})
        })
        .collect();
    json!({"resourceShareAssociations": list})
}

/// A RAM call by the SSO user, with its response.
fn ram_event(name: &str, request: Value, response: Value) -> Vec<u8> {
    let mut r: Value = serde_json::from_slice(&event("ram.amazonaws.com", name, request)).expect("JSON");
    r["responseElements"] = response;
    serde_json::to_vec(&r).expect("JSON")
}

#[test]
fn a_ram_share_associated_with_an_undeclared_account_is_critical() {
    let f = finding(&ram_event(
        "AssociateResourceShare",
        json!({"resourceShareArn": SHARE, "principals": ["111122223333"]}),
        associations(&["111122223333"], "ASSOCIATING"),
    ));
    assert_eq!(f.resource.resource_type, "AWS::RAM::ResourceShare");
    let c = change(&f, "principals");
    assert_eq!(c.expected, json!(["210987654321"]));
    assert_eq!(c.found, json!(["111122223333", "210987654321"]));
    assert_eq!(c.declared_in.as_deref(), Some("aws_ram_resource_share.subnets"));
    assert_eq!(f.severity, Severity::Critical);
    reason(
        &f,
        "resource share shared with 111122223333, which IaC does not declare",
    );
}

#[test]
fn a_ram_share_opened_to_external_principals_is_critical() {
    let f = finding(&ram_event(
        "UpdateResourceShare",
        json!({"resourceShareArn": SHARE, "allowExternalPrincipals": true}),
        json!({"resourceShare": {"resourceShareArn": SHARE, "name": "shared-subnets", "allowExternalPrincipals": true, "status": "ACTIVE"}}),
    ));
    let c = change(&f, "allow_external_principals");
    assert_eq!((&c.expected, &c.found), (&json!(false), &json!(true)));
    assert_eq!(f.severity, Severity::Critical);
    reason(&f, "opened to principals outside the organization");
}

#[test]
fn a_resource_added_to_a_ram_share_and_the_declared_principal_removed_are_drift() {
    let subnet_b = "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0ee55ff66aa77bb88";
    let f = finding(&ram_event(
        "AssociateResourceShare",
        json!({"resourceShareArn": SHARE, "resourceArns": [subnet_b]}),
        json!({"resourceShareAssociations": [{"resourceShareArn": SHARE, "associatedEntity": subnet_b, "associationType": "RESOURCE", "status": "ASSOCIATING", "external": false}]}),
    ));
    let c = change(&f, "resource_arns");
    assert_eq!(
        c.expected,
        json!(["arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0aa11bb22cc33dd44"])
    );
    assert_eq!(
        c.found,
        json!([
            "arn:aws:ec2:eu-west-1:123456789012:subnet/subnet-0aa11bb22cc33dd44",
            subnet_b
        ])
    );
    assert!(c.drifted);

    let f = finding(&ram_event(
        "DisassociateResourceShare",
        json!({"resourceShareArn": SHARE, "principals": ["210987654321"]}),
        associations(&["210987654321"], "DISASSOCIATING"),
    ));
    let c = change(&f, "principals");
    assert_eq!((&c.expected, &c.found), (&json!(["210987654321"]), &json!([])));
    assert_eq!(
        c.declared_in.as_deref(),
        Some("aws_ram_principal_association.workloads")
    );
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);
}

#[test]
fn a_ram_share_with_the_own_organization_is_drift_but_not_exposure() {
    let ou = "arn:aws:organizations::123456789012:ou/o-exampleorgid/ou-examplerootid111-exampleouid111";
    let f = finding(&ram_event(
        "AssociateResourceShare",
        json!({"resourceShareArn": SHARE, "principals": [ou]}),
        associations(&[ou], "ASSOCIATING"),
    ));
    let c = change(&f, "principals");
    assert!(c.drifted);
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);
}

#[test]
fn associating_the_declared_account_again_changes_nothing() {
    let outcome = outcome(&ram_event(
        "AssociateResourceShare",
        json!({"resourceShareArn": SHARE, "principals": ["210987654321"]}),
        associations(&["210987654321"], "ASSOCIATED"),
    ));
    let Outcome::Iac(iac) = outcome else {
        panic!("expected manual activity, not a finding: {outcome:?}");
    };
    assert_eq!(iac.restores[0].attribute, "principals");
}

#[test]
fn the_declared_ram_share_deleted_by_hand_is_critical_and_missing() {
    let f = finding(&ram_event(
        "DeleteResourceShare",
        json!({"resourceShareArn": SHARE}),
        json!({"returnValue": true}),
    ));
    assert_eq!(f.kind, driftguard_core::finding::FindingKind::Missing);
    assert_eq!(
        f.owner.as_ref().map(|o| o.address.as_str()),
        Some("aws_ram_resource_share.subnets")
    );
    assert_eq!(f.severity, Severity::Critical);
    reason(&f, "a managed resource deleted by hand");
}
