//! Credentials on IaC-managed IAM users: access keys created, deleted, activated or deactivated
//! and console login profiles created or changed by hand are compared with the declared
//! `aws_iam_access_key` / `aws_iam_user_login_profile` children, and new credentials are
//! critical. Requests and responses follow the shapes CloudTrail records for these calls (as in
//! Panther's rule tests in ../shared/data: `CreateAccessKey` carries the new key only in
//! `responseElements.accessKey`).

mod common;

use common::{read, record, workspace};
use driftguard_core::attribution::AttributionConfig;
use driftguard_core::decode::{decode, Item, Position};
use driftguard_core::diff::AttributeChange;
use driftguard_core::finding::Finding;
use driftguard_core::inventory::Inventory;
use driftguard_core::pipeline::{Outcome, Pipeline};
use driftguard_core::score::Severity;
use serde_json::{json, Value};

const DECLARED_KEY: &str = "AKIAIOSFODNN7EXAMPLE";

/// The user `ci-deploy` with one declared key; `alice` with a declared login profile.
fn finding(name: &str, request: Value, response: Value) -> Finding {
    let mut inventory = Inventory::new();
    let state = workspace().join("shared/core/tests/data/credentials/identity.tfstate");
    inventory
        .add_state("identity.tfstate", &read(&state))
        .expect("state loads");
    let pipeline = Pipeline::new(&AttributionConfig::default(), inventory);
    let r = record(
        "iam.amazonaws.com",
        name,
        json!({
            "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.23",
            "userAgent": "aws-cli/2.22.12 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6",
            "requestParameters": request,
            "responseElements": response,
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
        }),
    );
    let mut out = None;
    decode(&serde_json::to_vec(&r).expect("JSON"), name, &mut |_: &Position,
                                                               item: Result<
        Item<'_>,
        _,
    >| match pipeline
        .evaluate(&item.expect("decodes"))
        .outcome
    {
        Outcome::Finding(f) => out = Some(*f),
        other => panic!("{name}: expected a finding, got {other:?}"),
    });
    out.expect("one item")
}

fn change<'f>(f: &'f Finding, attribute: &str) -> &'f AttributeChange {
    f.changes
        .iter()
        .find(|c| c.attribute == attribute)
        .unwrap_or_else(|| panic!("no {attribute} in {:?}", f.changes))
}

fn has_reason(f: &Finding, text: &str) -> bool {
    f.severity_reasons.iter().any(|r| r.contains(text))
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
