//! Credentials on IaC-managed IAM users: access keys, SSH public keys and service-specific
//! credentials created, deleted, activated, deactivated or reset, MFA devices enabled or
//! deactivated, and console login profiles created or changed by hand are compared with the
//! declared children (`aws_iam_access_key`, `aws_iam_user_ssh_key`,
//! `aws_iam_service_specific_credential`, `aws_iam_virtual_mfa_device`,
//! `aws_iam_user_login_profile`); new credentials are critical and a declared MFA device
//! deactivated is at least major. Requests and responses follow the shapes CloudTrail records
//! for these calls: `CreateAccessKey` carries the new key only in `responseElements.accessKey`
//! (Panther's rule tests in ../shared/data); `EnableMFADevice` names `userName` and
//! `serialNumber` and returns nothing (the CloudTrail User Guide's sign-in examples); IAM members
//! keep their names with only the first letter lower-cased (`sSHPublicKeyId`, as EC2 Instance
//! Connect's `SSHPublicKey` is recorded as `sSHPublicKey`), the rest of each shape following the
//! IAM API reference.

mod common;

use common::evaluate::{self, change, cli_call_by, critical_because, has_reason, pipeline_over};
use driftguard_core::finding::Finding;
use driftguard_core::score::Severity;
use serde_json::{json, Value};

const DECLARED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const DECLARED_SSH_KEY: &str = "APKAEIBAERJR2EXAMPLE";
const DECLARED_CREDENTIAL: &str = "ACCAEXAMPLE123EXAMPLE";
const CAROL_MFA: &str = "arn:aws:iam::123456789012:mfa/carol-phone";

/// The user `ci-deploy` with one declared access key, SSH key and CodeCommit credential;
/// `alice` with a declared login profile; `carol` (tagged `environment = dev`) with a declared
/// virtual MFA device.
fn finding(name: &str, request: Value, response: Value) -> Finding {
    let pipeline = pipeline_over(&["shared/core/tests/data/credentials/identity.tfstate"]);
    let call = cli_call_by(
        "bob",
        "iam.amazonaws.com",
        name,
        request,
        response,
        json!({"awsRegion": "us-east-1"}),
    );
    evaluate::finding(evaluate::outcome(&pipeline, &call))
}

#[test]
fn a_hand_made_access_key_on_a_managed_user_is_critical() {
    let f = finding(
        "CreateAccessKey",
        json!({"userName": "ci-deploy"}),
        json!({"accessKey": {"accessKeyId": "AKIAI44QH8DHBEXAMPLE", "status": "Active", "userName": "ci-deploy", "createDate": "Nov 20, 2026 9:58:02 AM"}}),
    );
    let c = change(&f, "access_keys");
    assert_eq!(c.expected, json!([DECLARED_KEY]));
    assert_eq!(c.found, json!(["AKIAI44QH8DHBEXAMPLE", DECLARED_KEY]));
    assert_eq!(c.declared_in.as_deref(), Some("aws_iam_access_key.deploy"));
    assert_eq!(f.severity, Severity::Critical);
    assert!(
        has_reason(&f, "new access key AKIAI44QH8DHBEXAMPLE"),
        "{:?}",
        f.severity_reasons
    );
}

#[test]
fn deleting_the_declared_key_is_drift() {
    let f = finding(
        "DeleteAccessKey",
        json!({"userName": "ci-deploy", "accessKeyId": DECLARED_KEY}),
        Value::Null,
    );
    let c = change(&f, "access_keys");
    assert_eq!((&c.expected, &c.found), (&json!([DECLARED_KEY]), &json!([])));
    assert!(c.drifted);
    assert!(!has_reason(&f, "new access key"), "{:?}", f.severity_reasons);
}

#[test]
fn deactivating_the_declared_key_is_drift_and_activating_an_undeclared_one_is_critical() {
    let f = finding(
        "UpdateAccessKey",
        json!({"userName": "ci-deploy", "accessKeyId": DECLARED_KEY, "status": "Inactive"}),
        Value::Null,
    );
    let c = change(&f, &format!("access_keys.{DECLARED_KEY}.status"));
    assert_eq!((&c.expected, &c.found), (&json!("Active"), &json!("Inactive")));
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);

    let f = finding(
        "UpdateAccessKey",
        json!({"userName": "ci-deploy", "accessKeyId": "AKIAI44QH8DHBEXAMPLE", "status": "Active"}),
        Value::Null,
    );
    let c = change(&f, "access_keys.AKIAI44QH8DHBEXAMPLE.status");
    assert_eq!((&c.expected, &c.found), (&json!("absent"), &json!("Active")));
    assert_eq!(f.severity, Severity::Critical);
    assert!(has_reason(&f, "activated by hand"), "{:?}", f.severity_reasons);
}

#[test]
fn a_console_password_created_for_a_managed_user_is_critical() {
    let f = finding(
        "CreateLoginProfile",
        json!({"userName": "ci-deploy", "passwordResetRequired": false}),
        json!({"loginProfile": {"userName": "ci-deploy", "createDate": "Nov 20, 2026 9:58:02 AM", "passwordResetRequired": false}}),
    );
    let c = change(&f, "login_profile");
    assert_eq!((&c.expected, &c.found), (&json!("absent"), &json!("present")));
    assert_eq!(f.severity, Severity::Critical);
    assert!(has_reason(&f, "login profile"), "{:?}", f.severity_reasons);
}

#[test]
fn a_declared_login_profile_changed_by_hand_names_the_attribute() {
    let f = finding(
        "UpdateLoginProfile",
        json!({"userName": "alice", "passwordResetRequired": false}),
        Value::Null,
    );
    let c = change(&f, "login_profile.password_reset_required");
    assert_eq!((&c.expected, &c.found), (&json!(true), &json!(false)));
    assert_eq!(c.declared_in.as_deref(), Some("aws_iam_user_login_profile.alice"));
}

#[test]
fn the_declared_secret_never_shows() {
    let f = finding(
        "CreateAccessKey",
        json!({"userName": "ci-deploy"}),
        json!({"accessKey": {"accessKeyId": "AKIAI44QH8DHBEXAMPLE", "status": "Active", "userName": "ci-deploy", "createDate": "Nov 20, 2026 9:58:02 AM"}}),
    );
    let all = serde_json::to_string(&f).expect("JSON");
    assert!(!all.contains("wJalrXUtnFEMI"), "{all}");
}

#[test]
fn an_ssh_key_uploaded_for_a_managed_user_is_critical_drift_on_the_user() {
    let f = finding(
        "UploadSSHPublicKey",
        json!({"userName": "ci-deploy", "sSHPublicKeyBody": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDattacker attacker@laptop"}),
        json!({"sSHPublicKey": {
            "userName": "ci-deploy",
            "sSHPublicKeyId": "APKAI44QH8DHBEXAMPLE",
            "fingerprint": "3e:9f:1a:77:0c:52:d4:8b:61:2a:f0:c3:9e:4d:1b:07",
            "sSHPublicKeyBody": "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDattacker attacker@laptop",
            "status": "Active",
            "uploadDate": "Nov 20, 2026 9:58:02 AM"
        }}),
    );
    assert_eq!(f.resource.resource_type, "AWS::IAM::User");
    assert_eq!(f.resource.id, "ci-deploy");
    let c = change(&f, "ssh_public_keys");
    assert_eq!(c.expected, json!([DECLARED_SSH_KEY]));
    assert_eq!(c.found, json!([DECLARED_SSH_KEY, "APKAI44QH8DHBEXAMPLE"]));
    assert_eq!(c.declared_in.as_deref(), Some("aws_iam_user_ssh_key.deploy"));
    critical_because(&f, "new SSH public key APKAI44QH8DHBEXAMPLE");
}

#[test]
fn the_declared_ssh_key_deleted_or_deactivated_is_drift_and_an_undeclared_one_activated_is_critical() {
    let f = finding(
        "DeleteSSHPublicKey",
        json!({"userName": "ci-deploy", "sSHPublicKeyId": DECLARED_SSH_KEY}),
        Value::Null,
    );
    let c = change(&f, "ssh_public_keys");
    assert_eq!((&c.expected, &c.found), (&json!([DECLARED_SSH_KEY]), &json!([])));
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);

    let f = finding(
        "UpdateSSHPublicKey",
        json!({"userName": "ci-deploy", "sSHPublicKeyId": DECLARED_SSH_KEY, "status": "Inactive"}),
        Value::Null,
    );
    let c = change(&f, &format!("ssh_public_keys.{DECLARED_SSH_KEY}.status"));
    assert_eq!((&c.expected, &c.found), (&json!("Active"), &json!("Inactive")));

    let f = finding(
        "UpdateSSHPublicKey",
        json!({"userName": "ci-deploy", "sSHPublicKeyId": "APKAI44QH8DHBEXAMPLE", "status": "Active"}),
        Value::Null,
    );
    let c = change(&f, "ssh_public_keys.APKAI44QH8DHBEXAMPLE.status");
    assert_eq!((&c.expected, &c.found), (&json!("absent"), &json!("Active")));
    critical_because(&f, "activated by hand");
}

#[test]
fn a_service_specific_credential_created_by_hand_is_critical() {
    let f = finding(
        "CreateServiceSpecificCredential",
        json!({"userName": "ci-deploy", "serviceName": "codecommit.amazonaws.com"}),
        json!({"serviceSpecificCredential": {
            "createDate": "Nov 20, 2026 9:58:02 AM",
            "serviceName": "codecommit.amazonaws.com",
            "serviceUserName": "ci-deploy-at-123456789012",
            "servicePassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
            "serviceSpecificCredentialId": "ACCAQFODNN7NEWEXAMPLE",
            "userName": "ci-deploy",
            "status": "Active"
        }}),
    );
    let c = change(&f, "service_specific_credentials");
    assert_eq!(c.expected, json!([DECLARED_CREDENTIAL]));
    assert_eq!(c.found, json!([DECLARED_CREDENTIAL, "ACCAQFODNN7NEWEXAMPLE"]));
    assert_eq!(
        c.declared_in.as_deref(),
        Some("aws_iam_service_specific_credential.deploy_git")
    );
    critical_because(&f, "new service-specific credential ACCAQFODNN7NEWEXAMPLE");
}

#[test]
fn a_declared_service_specific_credential_reset_deactivated_or_deleted_names_it() {
    let f = finding(
        "ResetServiceSpecificCredential",
        json!({"userName": "ci-deploy", "serviceSpecificCredentialId": DECLARED_CREDENTIAL}),
        json!({"serviceSpecificCredential": {
            "createDate": "Mar 2, 2026 10:15:30 AM",
            "serviceName": "codecommit.amazonaws.com",
            "serviceUserName": "ci-deploy-at-123456789012",
            "servicePassword": "HIDDEN_DUE_TO_SECURITY_REASONS",
            "serviceSpecificCredentialId": DECLARED_CREDENTIAL,
            "userName": "ci-deploy",
            "status": "Active"
        }}),
    );
    let attribute = format!("service_specific_credentials.{DECLARED_CREDENTIAL}.password");
    let c = change(&f, &attribute);
    assert_eq!((&c.expected, &c.found), (&json!("declared"), &json!("reset")));
    critical_because(&f, "reset by hand");

    let f = finding(
        "UpdateServiceSpecificCredential",
        json!({"userName": "ci-deploy", "serviceSpecificCredentialId": DECLARED_CREDENTIAL, "status": "Inactive"}),
        Value::Null,
    );
    let c = change(
        &f,
        &format!("service_specific_credentials.{DECLARED_CREDENTIAL}.status"),
    );
    assert_eq!((&c.expected, &c.found), (&json!("Active"), &json!("Inactive")));

    let f = finding(
        "DeleteServiceSpecificCredential",
        json!({"userName": "ci-deploy", "serviceSpecificCredentialId": DECLARED_CREDENTIAL}),
        Value::Null,
    );
    let c = change(&f, "service_specific_credentials");
    assert_eq!((&c.expected, &c.found), (&json!([DECLARED_CREDENTIAL]), &json!([])));
}

#[test]
fn the_declared_mfa_device_deactivated_is_at_least_major_even_in_dev() {
    let f = finding(
        "DeactivateMFADevice",
        json!({"userName": "carol", "serialNumber": CAROL_MFA}),
        Value::Null,
    );
    let c = change(&f, "mfa_devices");
    assert_eq!((&c.expected, &c.found), (&json!([CAROL_MFA]), &json!([])));
    assert_eq!(c.declared_in.as_deref(), Some("aws_iam_virtual_mfa_device.carol"));
    assert_eq!(f.severity, Severity::Major, "{:?}", f.severity_reasons);
    assert!(has_reason(&f, "environment dev"), "{:?}", f.severity_reasons);
    assert!(
        has_reason(&f, &format!("MFA device deactivated: {CAROL_MFA} (at least major)")),
        "{:?}",
        f.severity_reasons
    );
}

#[test]
fn an_mfa_device_enabled_by_hand_is_drift_on_the_user_but_not_exposure() {
    let f = finding(
        "EnableMFADevice",
        json!({"userName": "ci-deploy", "serialNumber": "arn:aws:iam::123456789012:mfa/ci-deploy-token"}),
        Value::Null,
    );
    let c = change(&f, "mfa_devices");
    assert_eq!(
        (&c.expected, &c.found),
        (&json!([]), &json!(["arn:aws:iam::123456789012:mfa/ci-deploy-token"]))
    );
    assert_eq!(c.declared_in.as_deref(), Some("aws_iam_user.deploy"));
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);
}
