//! Credentials on IaC-managed IAM users: access keys created, deleted, activated or deactivated
//! and console login profiles created or changed by hand are compared with the declared
//! `aws_iam_access_key` / `aws_iam_user_login_profile` children, and new credentials are
//! critical. Requests and responses follow the shapes CloudTrail records for these calls (as in
//! Panther's rule tests in ../shared/data: `CreateAccessKey` carries the new key only in
//! `responseElements.accessKey`).

mod common;

use common::evaluate::{self, change, cli_call_by, has_reason, pipeline_over};
use driftguard_core::finding::Finding;
use driftguard_core::score::Severity;
use serde_json::{json, Value};

const DECLARED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// The user `ci-deploy` with one declared key; `alice` with a declared login profile.
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
