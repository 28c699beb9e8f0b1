//! Who may do what, and what happens to data: managed-policy attachments, inline user policies,
//! group membership, bucket access logging and lifecycle rules, Aurora protections and CodeBuild
//! visibility, each compared at attribute level with the declared resources and children.
//! Attaching an administrator policy, turning access logging off, a lifecycle rule that empties a
//! bucket within days and a public build project are critical. Requests follow the shapes
//! CloudTrail records (Panther's rule tests in ../shared/data).

mod common;

use common::evaluate::{self, change, cli_call, critical_because, pipeline_over};
use driftguard_core::finding::{Finding, IacChange};
use driftguard_core::pipeline::Outcome;
use driftguard_core::score::Severity;
use serde_json::{json, Value};

const STATE: &str = "shared/core/tests/data/access/app.tfstate";

fn outcome(source: &str, name: &str, request: Value) -> Outcome {
    evaluate::outcome(&pipeline_over(&[STATE]), &cli_call(source, name, request, Value::Null))
}

fn finding(source: &str, name: &str, request: Value) -> Finding {
    evaluate::finding(outcome(source, name, request))
}

fn restored(source: &str, name: &str, request: Value) -> IacChange {
    evaluate::restored(outcome(source, name, request))
}

#[test]
fn administrator_access_attached_to_a_managed_role_is_critical() {
    let f = finding(
        "iam.amazonaws.com",
        "AttachRolePolicy",
        json!({"roleName": "orders-api", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    );
    let c = change(&f, "managed_policy_arns");
    assert_eq!(c.expected, json!(["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"]));
    assert_eq!(
        c.found,
        json!([
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
        ])
    );
    critical_because(&f, "attaches arn:aws:iam::aws:policy/AdministratorAccess");
}

#[test]
fn detaching_the_declared_policy_names_its_attachment() {
    let f = finding(
        "iam.amazonaws.com",
        "DetachRolePolicy",
        json!({"roleName": "orders-api", "policyArn": "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"}),
    );
    let c = change(&f, "managed_policy_arns");
    assert_eq!(c.found, json!([]));
    assert_eq!(
        c.declared_in.as_deref(),
        Some("aws_iam_role_policy_attachment.app_read")
    );
    assert!(
        f.fix.contains("-target='aws_iam_role_policy_attachment.app_read'"),
        "{}",
        f.fix
    );
}

#[test]
fn an_inline_user_policy_replaced_or_deleted_by_hand_is_drift() {
    let f = finding(
        "iam.amazonaws.com",
        "PutUserPolicy",
        json!({"userName": "bob", "policyName": "deny-billing", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"AllowAll\",\"Effect\":\"Allow\",\"Action\":[\"*\"],\"Resource\":[\"*\"]}]}"}),
    );
    let c = change(&f, "inline_policy.deny-billing");
    assert_eq!(c.declared_in.as_deref(), Some("aws_iam_user_policy.bob_deny"));
    assert!(c.drifted);
    critical_because(&f, "wildcard");

    let f = finding(
        "iam.amazonaws.com",
        "DeleteUserPolicy",
        json!({"userName": "bob", "policyName": "deny-billing"}),
    );
    let c = change(&f, "inline_policy.deny-billing");
    assert_eq!(c.found, Value::Null);
    assert!(c.drifted);
}

#[test]
fn a_user_added_to_a_managed_group_is_drift() {
    let f = finding(
        "iam.amazonaws.com",
        "AddUserToGroup",
        json!({"userName": "Bob", "groupName": "platform-admins"}),
    );
    let c = change(&f, "users");
    assert_eq!((&c.expected, &c.found), (&json!(["alice"]), &json!(["Bob", "alice"])));
    assert_eq!(c.declared_in.as_deref(), Some("aws_iam_group_membership.admins"));
}

#[test]
fn bucket_access_logging_turned_off_is_critical() {
    // Panther's shape: an empty BucketLoggingStatus turns logging off.
    let f = finding(
        "s3.amazonaws.com",
        "PutBucketLogging",
        json!({"logging": "", "bucketName": "acme-app-data", "BucketLoggingStatus": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}, "Host": "acme-app-data.s3.eu-west-1.amazonaws.com"}),
    );
    let c = change(&f, "logging.target_bucket");
    assert_eq!((&c.expected, &c.found), (&json!("acme-access-logs"), &Value::Null));
    assert_eq!(c.declared_in.as_deref(), Some("aws_s3_bucket_logging.data"));
    critical_because(&f, "access logging turned off");
}

#[test]
fn a_lifecycle_rule_that_empties_the_bucket_within_a_day_is_critical() {
    let f = finding(
        "s3.amazonaws.com",
        "PutBucketLifecycle",
        json!({
            "bucketName": "acme-app-data",
            "Host": "acme-app-data.s3.eu-west-1.amazonaws.com",
            "LifecycleConfiguration": {
                "Rule": {"Expiration": {"Days": 1}, "Filter": {"Prefix": ""}, "ID": "nuke-after-1-day", "Status": "Enabled"},
                "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"
            },
            "lifecycle": ""
        }),
    );
    let c = change(&f, "lifecycle_rules");
    assert_eq!(c.expected, json!(["archive Enabled expire 365d"]));
    assert_eq!(c.found, json!(["nuke-after-1-day Enabled expire 1d"]));
    critical_because(&f, "deletes objects within days");

    let f = finding(
        "s3.amazonaws.com",
        "DeleteBucketLifecycle",
        json!({"bucketName": "acme-app-data", "Host": "acme-app-data.s3.eu-west-1.amazonaws.com", "lifecycle": ""}),
    );
    assert_eq!(change(&f, "lifecycle_rules").found, json!([]));
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);
}

#[test]
fn aurora_protections_turned_off_are_at_least_major() {
    // Panther's shape: deletion protection off and backups disabled in one call.
    let f = finding(
        "rds.amazonaws.com",
        "ModifyDBCluster",
        json!({"dBClusterIdentifier": "orders-aurora", "deletionProtection": false, "backupRetentionPeriod": 0, "applyImmediately": true}),
    );
    assert_eq!(change(&f, "deletion_protection").found, json!(false));
    assert_eq!(change(&f, "backup_retention_period").found, json!(0));
    assert!(f.severity >= Severity::Major, "{:?}", f.severity_reasons);
    assert!(
        f.severity_reasons
            .iter()
            .any(|r| r.contains("deletion protection turned off")),
        "{:?}",
        f.severity_reasons
    );
}

#[test]
fn a_public_build_project_is_critical() {
    let f = finding(
        "codebuild.amazonaws.com",
        "UpdateProjectVisibility",
        json!({"projectVisibility": "PUBLIC_READ", "projectArn": "arn:aws:codebuild:eu-west-1:123456789012:project/orders-build", "resourceAccessRole": "arn:aws:iam::123456789012:role/service-role/codebuild-public"}),
    );
    let c = change(&f, "project_visibility");
    assert_eq!((&c.expected, &c.found), (&json!("PRIVATE"), &json!("PUBLIC_READ")));
    critical_because(&f, "build project made public");
}

#[test]
fn a_bucket_acl_granting_all_users_is_critical() {
    // StreamAlert's shape: the grants of an AccessControlPolicy.
    let f = finding(
        "s3.amazonaws.com",
        "PutBucketAcl",
        json!({
            "bucketName": "acme-app-data",
            "acl": "",
            "AccessControlPolicy": {
                "AccessControlList": {"Grant": [
                    {"Grantee": {"ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be", "xsi:type": "CanonicalUser"}, "Permission": "FULL_CONTROL"},
                    {"Grantee": {"URI": "http://acs.amazonaws.com/groups/global/AllUsers", "xsi:type": "Group"}, "Permission": "READ"}
                ]},
                "Owner": {"ID": "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"}
            }
        }),
    );
    let c = change(&f, "acl");
    assert_eq!(c.expected, json!("private"));
    assert_eq!(
        c.found,
        json!([
            "AllUsers READ",
            "user 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be FULL_CONTROL"
        ])
    );
    critical_because(&f, "bucket ACL made public");

    // Panther's shape: the canned ACL, as declared: manual activity, not drift.
    let iac = restored(
        "s3.amazonaws.com",
        "PutBucketAcl",
        json!({"host": ["acme-app-data.s3.eu-west-1.amazonaws.com"], "bucketName": "acme-app-data", "acl": [""], "x-amz-acl": ["private"]}),
    );
    assert_eq!(iac.restores[0].attribute, "acl");
    assert_eq!(iac.restores[0].value, Some(json!("private")));
}

#[test]
fn default_encryption_switched_from_kms_to_s3_keys_is_drift() {
    let f = finding(
        "s3.amazonaws.com",
        "PutBucketEncryption",
        json!({
            "bucketName": "acme-app-data",
            "Host": "acme-app-data.s3.eu-west-1.amazonaws.com",
            "encryption": "",
            "ServerSideEncryptionConfiguration": {
                "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/",
                "Rule": {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": false}
            }
        }),
    );
    let c = change(&f, "rule.0.apply_server_side_encryption_by_default.0.sse_algorithm");
    assert_eq!((&c.expected, &c.found), (&json!("aws:kms"), &json!("AES256")));
    assert_eq!(
        c.declared_in.as_deref(),
        Some("aws_s3_bucket_server_side_encryption_configuration.data")
    );
}

#[test]
fn an_instance_stopped_by_hand_against_its_declared_state_is_drift() {
    // The CloudTrail docs' shape: the instances in an `instancesSet`.
    let f = finding(
        "ec2.amazonaws.com",
        "StopInstances",
        json!({"instancesSet": {"items": [{"instanceId": "i-0d4e5f6a7b8c9d0e1"}]}, "force": false}),
    );
    let c = change(&f, "state");
    assert_eq!((&c.expected, &c.found), (&json!("running"), &json!("stopped")));
    assert_eq!(c.declared_in.as_deref(), Some("aws_ec2_instance_state.worker"));
}

#[test]
fn a_key_disabled_by_hand_is_at_least_major() {
    let f = finding(
        "kms.amazonaws.com",
        "DisableKey",
        json!({"keyId": "0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"}),
    );
    let c = change(&f, "is_enabled");
    assert_eq!((&c.expected, &c.found), (&json!(true), &json!(false)));
    assert!(f.severity >= Severity::Major, "{:?}", f.severity_reasons);
    assert!(
        !f.severity_reasons.iter().any(|r| r.starts_with("logging reduced")),
        "a key is not logging: {:?}",
        f.severity_reasons
    );
}

#[test]
fn roles_added_to_a_database_by_hand_are_drift() {
    // Panther's shape.
    let f = finding(
        "rds.amazonaws.com",
        "AddRoleToDBInstance",
        json!({"dBInstanceIdentifier": "orders-db", "roleArn": "arn:aws:iam::123456789012:role/Admin-Role"}),
    );
    let c = change(&f, "associated_roles");
    assert_eq!(c.expected, json!(["arn:aws:iam::123456789012:role/rds-s3-import"]));
    assert_eq!(
        c.found,
        json!([
            "arn:aws:iam::123456789012:role/Admin-Role",
            "arn:aws:iam::123456789012:role/rds-s3-import"
        ])
    );
}

#[test]
fn a_trust_policy_opened_to_another_account_is_critical() {
    let trust = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}
    ]});
    let f = finding(
        "iam.amazonaws.com",
        "UpdateAssumeRolePolicy",
        json!({"roleName": "orders-api", "policyDocument": trust.to_string()}),
    );
    assert!(change(&f, "assume_role_policy").drifted);
    critical_because(&f, "assume_role_policy grants account 444455556666");

    // The resource's own account is not external.
    let own = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:role/deployer"}, "Action": "sts:AssumeRole"}
    ]});
    let f = finding(
        "iam.amazonaws.com",
        "UpdateAssumeRolePolicy",
        json!({"roleName": "orders-api", "policyDocument": own.to_string()}),
    );
    assert!(change(&f, "assume_role_policy").drifted);
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);
}
