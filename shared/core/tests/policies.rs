//! Resource policies and function access changed by hand on IaC-managed resources: Lambda
//! permissions and function URL auth, new function code, KMS / SNS / Secrets Manager / ECR
//! policies put and an S3 bucket policy deleted. Each names its attribute with expected vs found;
//! a grant to anyone (or, for Lambda, another account) is critical. Requests follow the shapes
//! CloudTrail records (Panther's and StreamAlert's rule tests in ../shared/data).

mod common;

use common::evaluate::{self, change, cli_call, critical_because, pipeline_over};
use driftguard_core::finding::{Finding, IacChange};
use driftguard_core::pipeline::Outcome;
use driftguard_core::score::Severity;
use serde_json::{json, Value};

const STATE: &str = "shared/core/tests/data/policies/app.tfstate";

fn outcome(source: &str, name: &str, request: Value, response: Value) -> Outcome {
    evaluate::outcome(&pipeline_over(&[STATE]), &cli_call(source, name, request, response))
}

fn finding(source: &str, name: &str, request: Value, response: Value) -> Finding {
    evaluate::finding(outcome(source, name, request, response))
}

fn restored(source: &str, name: &str, request: Value, response: Value) -> IacChange {
    evaluate::restored(outcome(source, name, request, response))
}

#[test]
fn a_lambda_permission_for_anyone_is_critical() {
    let f = finding(
        "lambda.amazonaws.com",
        "AddPermission20150331v2",
        json!({"functionName": "orders-api", "statementId": "public-invoke", "action": "lambda:InvokeFunction", "principal": "*"}),
        json!({"statement": "{\"Sid\":\"public-invoke\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":\"lambda:InvokeFunction\"}"}),
    );
    let c = change(&f, "permissions");
    assert_eq!(c.expected, json!(["AllowEventBridge: events.amazonaws.com"]));
    assert_eq!(
        c.found,
        json!(["AllowEventBridge: events.amazonaws.com", "public-invoke: *"])
    );
    critical_because(&f, "lets anyone invoke the function");
}

#[test]
fn a_lambda_permission_for_another_account_is_critical_and_removing_the_declared_one_is_drift() {
    let f = finding(
        "lambda.amazonaws.com",
        "AddPermission20150331v2",
        json!({"functionName": "orders-api", "statementId": "partner", "action": "lambda:InvokeFunction", "principal": "444455556666"}),
        Value::Null,
    );
    critical_because(&f, "grants another account");

    let f = finding(
        "lambda.amazonaws.com",
        "RemovePermission20150331v2",
        json!({"functionName": "orders-api", "statementId": "AllowEventBridge"}),
        Value::Null,
    );
    let c = change(&f, "permissions");
    assert_eq!(c.found, json!([]));
    assert_eq!(c.declared_in.as_deref(), Some("aws_lambda_permission.events"));
    assert!(f.severity < Severity::Critical, "{:?}", f.severity_reasons);
}

#[test]
fn a_function_url_opened_without_auth_is_critical() {
    let f = finding(
        "lambda.amazonaws.com",
        "UpdateFunctionUrlConfig",
        json!({"functionName": "orders-api", "authType": "NONE"}),
        Value::Null,
    );
    let c = change(&f, "authorization_type");
    assert_eq!((&c.expected, &c.found), (&json!("AWS_IAM"), &json!("NONE")));
    critical_because(&f, "without authentication");
}

#[test]
fn new_function_code_is_compared_with_the_declared_hash() {
    let f = finding(
        "lambda.amazonaws.com",
        "UpdateFunctionCode20150331v2",
        json!({"functionName": "orders-api", "publish": false}),
        json!({"functionName": "orders-api", "codeSha256": "IIwUc2FF9nrH3U856beLym8t6M2ZBgwZJ5MLu3OWGAo=", "codeSize": 5242880}),
    );
    let c = change(&f, "source_code_hash");
    assert_eq!(c.expected, json!("Wm2e7rKxg2K2W4p3G7mQ0nq1aXh8fJ5uV9sY3bT6cDE="));
    assert_eq!(c.found, json!("IIwUc2FF9nrH3U856beLym8t6M2ZBgwZJ5MLu3OWGAo="));
    assert!(c.drifted);
}

#[test]
fn a_key_policy_opened_to_anyone_is_critical() {
    // Panther's shape: the policy as an object.
    let f = finding(
        "kms.amazonaws.com",
        "PutKeyPolicy",
        json!({
            "keyId": "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
            "policyName": "default",
            "policy": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}]}
        }),
        Value::Null,
    );
    let c = change(&f, "policy");
    assert_eq!(c.declared_in.as_deref(), Some("aws_kms_key.data"));
    assert!(c.drifted);
    // The declared policy, parsed and normalised (a one-statement list reads as the statement).
    assert_eq!(
        c.expected["Statement"]["Sid"], "Enable IAM User Permissions",
        "{}",
        c.expected
    );
    critical_because(&f, "grants a wildcard");
}

#[test]
fn an_sns_topic_policy_is_compared_only_when_the_policy_attribute_is_set() {
    let policy = json!({"Version": "2008-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "SNS:Publish", "Resource": "arn:aws:sns:eu-west-1:123456789012:alerts"}]});
    let f = finding(
        "sns.amazonaws.com",
        "SetTopicAttributes",
        json!({"topicArn": "arn:aws:sns:eu-west-1:123456789012:alerts", "attributeName": "Policy", "attributeValue": policy.to_string()}),
        Value::Null,
    );
    assert!(change(&f, "policy").drifted);
    critical_because(&f, "grants a wildcard");

    let f = finding(
        "sns.amazonaws.com",
        "SetTopicAttributes",
        json!({"topicArn": "arn:aws:sns:eu-west-1:123456789012:alerts", "attributeName": "DisplayName", "attributeValue": "Pager"}),
        Value::Null,
    );
    assert!(f.changes.iter().all(|c| c.attribute != "policy"), "{:?}", f.changes);
}

#[test]
fn a_deleted_bucket_policy_names_the_policy_resource() {
    let f = finding(
        "s3.amazonaws.com",
        "DeleteBucketPolicy",
        json!({"bucketName": "acme-access-logs", "Host": "acme-access-logs.s3.eu-west-1.amazonaws.com", "policy": ""}),
        Value::Null,
    );
    let c = change(&f, "policy");
    assert_eq!(c.declared_in.as_deref(), Some("aws_s3_bucket_policy.logs"));
    assert_eq!(c.found, Value::Null);
    assert_eq!(
        c.expected["Statement"]["Sid"], "DenyInsecureTransport",
        "{}",
        c.expected
    );
    assert!(f.fix.contains("-target='aws_s3_bucket_policy.logs'"), "{}", f.fix);
}

#[test]
fn a_public_repository_policy_where_none_is_declared_is_critical() {
    let f = finding(
        "ecr.amazonaws.com",
        "SetRepositoryPolicy",
        json!({"repositoryName": "orders-app", "force": false, "policyText": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"PublicRead\",\"Effect\":\"Allow\",\"Principal\":\"*\",\"Action\":[\"ecr:BatchGetImage\",\"ecr:GetDownloadUrlForLayer\"]}]}"}),
        Value::Null,
    );
    let c = change(&f, "policy");
    assert_eq!(c.expected, Value::Null);
    critical_because(&f, "grants a wildcard");
}

#[test]
fn the_same_secret_policy_written_differently_is_no_drift() {
    let iac = restored(
        "secretsmanager.amazonaws.com",
        "PutResourcePolicy",
        json!({
            "secretId": "prod/orders-db",
            "resourcePolicy": "{\n  \"Statement\" : [ {\n    \"Action\" : [ \"secretsmanager:GetSecretValue\" ],\n    \"Resource\" : \"*\",\n    \"Principal\" : {\"AWS\" : \"arn:aws:iam::123456789012:role/orders-api\"},\n    \"Effect\" : \"Allow\"\n  } ],\n  \"Version\" : \"2012-10-17\"\n}"
        }),
        Value::Null,
    );
    assert_eq!(iac.restores[0].attribute, "policy");
}
