//! The compiled ingest Lambda on manual changes to CloudFormation (CDK, SAM) stack resources that
//! no Terraform state declares (#12 item 5), through the Runtime API, on moto (table, bus,
//! states) and a loopback CloudFormation stand-in (moto has no drift detection and answers
//! `DescribeStackResources` by stack name only) speaking the Query protocol's XML.
//!
//! A console change on a stack's security group, bucket or function gives a finding whose
//! changes are CloudFormation's property differences; an in-sync answer gives none; a failed
//! drift call a finding that says drift was not checked, without losing the batch's other
//! findings; CloudFormation's own change nothing, and nothing is asked.

use driftguard_core::finding::{Finding, Status};
use driftguard_core::ports::{FindingStore, Query};
use driftguard_core::score::Severity;
use driftguard_tests::cloudformation::{CloudFormationStandIn, DriftAnswer, Owned};
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
use driftguard_tests::stack::{workspace, Stack};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const STACK_ID: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/web/d0a825a0-e4cd-xmpl-b9fb-061c69e99204";
const SG: &str = "sg-0feedc0ffee000001";
const BUCKET: &str = "web-assets-1a2b3c4d";

struct Ingest {
    stack: Stack,
    lambda: LambdaProcess,
    rt: tokio::runtime::Runtime,
    cfn: CloudFormationStandIn,
}

impl Ingest {
    /// moto with the stack, the stand-in over `owned`, and the compiled function; `None` when
    /// moto is not installed (the stack's start says so).
    fn start(test: &str, owned: HashMap<String, Owned>) -> Option<Ingest> {
        Self::start_with(test, owned, &[])
    }

    fn start_with(test: &str, owned: HashMap<String, Owned>, extra_env: &[(&str, &str)]) -> Option<Ingest> {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let stack = rt.block_on(Stack::start(test))?;
        let cfn = CloudFormationStandIn::start(owned);
        let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-ingest"));
        let api = RuntimeApi::start_named("driftguard-ingest");
        let mut env = stack.ingest_env();
        env.push(("AWS_ENDPOINT_URL_CLOUDFORMATION".into(), cfn.endpoint()));
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        env.extend_from_slice(extra_env);
        let lambda = LambdaProcess::spawn(&binary, &api, &env);
        Some(Ingest { stack, lambda, rt, cfn })
    }

    fn respond(&mut self, event: &[u8]) -> Value {
        match self.lambda.invoke(event, TIMEOUT) {
            Invocation::Response(v) => v,
            other => panic!("expected a response, got {other:?}\nlogs:\n{}", self.lambda.logs()),
        }
    }

    fn findings(&self) -> Vec<Finding> {
        self.rt
            .block_on(self.stack.store().list(&Query::default()))
            .expect("list findings")
    }

    fn finding_on(&self, id: &str) -> Finding {
        self.findings()
            .into_iter()
            .find(|f| f.resource.id == id)
            .unwrap_or_else(|| {
                panic!(
                    "no finding on {id}: {:?}\nlogs:\n{}",
                    self.findings(),
                    self.lambda.logs()
                )
            })
    }
}

/// A sample event with one resource id swapped for another.
fn event(file: &str, from: &str, to: &str) -> Vec<u8> {
    std::fs::read_to_string(workspace().join("events/cloudtrail").join(file))
        .expect("sample event")
        .replace(from, to)
        .into_bytes()
}

/// The console change of the sample event on a stack's group instead, with its own event id.
fn console_sg_change() -> Vec<u8> {
    String::from_utf8(event(
        "ec2-authorize-security-group-ingress.console-sso.json",
        "sg-0123456789abcdef0",
        SG,
    ))
    .expect("utf-8")
    .replace(
        "0a10d948-2ac6-465c-ab05-178f67a41c39",
        "0a10d948-2ac6-465c-ab05-0000000cf001",
    )
    .into_bytes()
}

fn owned(logical: &str, ty: &str, drift: DriftAnswer) -> Owned {
    Owned {
        stack_name: "web".into(),
        stack_id: STACK_ID.into(),
        logical_id: logical.into(),
        resource_type: ty.into(),
        drift,
    }
}

/// A drift answer in the AWS CLI's output shape.
fn drift(logical: &str, ty: &str, status: &str, differences: Value) -> DriftAnswer {
    DriftAnswer::Drift(json!({
        "StackId": STACK_ID,
        "LogicalResourceId": logical,
        "ResourceType": ty,
        "PropertyDifferences": differences,
        "StackResourceDriftStatus": status,
        "Timestamp": "2026-11-20T09:27:02.118Z"
    }))
}

fn sg_opened() -> Owned {
    owned(
        "WebSecurityGroup",
        "AWS::EC2::SecurityGroup",
        drift(
            "WebSecurityGroup",
            "AWS::EC2::SecurityGroup",
            "MODIFIED",
            json!([{
                "PropertyPath": "/SecurityGroupIngress/1",
                "ExpectedValue": "null",
                "ActualValue": "{\"CidrIp\":\"0.0.0.0/0\",\"FromPort\":22,\"IpProtocol\":\"tcp\",\"ToPort\":22}",
                "DifferenceType": "ADD"
            }]),
        ),
    )
}

#[test]
fn a_console_change_on_a_stack_resource_is_a_finding_with_cloudformations_differences() {
    let mut resources = HashMap::from([
        (SG.to_owned(), sg_opened()),
        (
            BUCKET.to_owned(),
            owned(
                "AssetsBucket",
                "AWS::S3::Bucket",
                drift(
                    "AssetsBucket",
                    "AWS::S3::Bucket",
                    "MODIFIED",
                    json!([{
                        "PropertyPath": "/VersioningConfiguration/Status",
                        "ExpectedValue": "Enabled",
                        "ActualValue": "Suspended",
                        "DifferenceType": "NOT_EQUAL"
                    }]),
                ),
            ),
        ),
    ]);
    // The documented DetectStackResourceDrift output (a SAM function's memory and timeout changed
    // out of band), when the public corpora are here.
    let documented = driftguard_tests::corpora::shared_data(
        "a_console_change_on_a_stack_resource_is_a_finding_with_cloudformations_differences",
        "the documented Lambda drift output is left out",
    )
    .map(|dir| {
        let path =
            dir.join("cfn-drift-and-api-outputs-awscli-examples/cloudformation__detect-stack-resource-drift__1.json");
        let v: Value = serde_json::from_slice(&std::fs::read(&path).expect("the documented output")).expect("JSON");
        v["StackResourceDrift"].clone()
    });
    if let Some(d) = &documented {
        let physical = d["PhysicalResourceId"].as_str().expect("PhysicalResourceId").to_owned();
        let mut function = owned(
            d["LogicalResourceId"].as_str().expect("LogicalResourceId"),
            "AWS::Lambda::Function",
            DriftAnswer::Drift(d.clone()),
        );
        function.stack_id = d["StackId"].as_str().expect("StackId").into();
        function.stack_name = "MyStack".into();
        resources.insert(physical, function);
    }
    let Some(mut ingest) = Ingest::start(
        "a_console_change_on_a_stack_resource_is_a_finding_with_cloudformations_differences",
        resources,
    ) else {
        return;
    };

    let summary = ingest.respond(&console_sg_change());
    assert_eq!(
        (
            summary["findings"].clone(),
            summary["cloudformation_asked"].clone(),
            summary["cloudformation_owned"].clone(),
            summary["published"].clone()
        ),
        (json!(1), json!(1), json!(1), json!(1)),
        "{summary}"
    );
    let f = ingest.finding_on(SG);
    assert_eq!(f.status, Status::Open);
    assert_eq!(f.severity, Severity::Critical, "{:?}", f.severity_reasons);
    assert_eq!(f.changes.len(), 1);
    assert_eq!(f.changes[0].attribute, "/SecurityGroupIngress/1");
    assert_eq!(f.changes[0].expected, Value::Null);
    assert_eq!(
        f.changes[0].found,
        json!({"CidrIp": "0.0.0.0/0", "FromPort": 22, "IpProtocol": "tcp", "ToPort": 22})
    );
    let st = f.owner.as_ref().and_then(|o| o.stack.clone()).expect("the stack named");
    assert_eq!(
        (
            st.name.as_str(),
            st.logical_id.as_str(),
            st.id.as_str(),
            st.drift.as_str()
        ),
        ("web", "WebSecurityGroup", STACK_ID, "MODIFIED")
    );
    assert_eq!(f.actor.human.as_deref(), Some("alice@example.com"));
    let published = ingest.rt.block_on(ingest.stack.drain_events());
    assert_eq!(published.len(), 1);
    assert_eq!(published[0]["detail"]["finding"]["owner"]["stack"]["name"], "web");
    assert_eq!(
        (
            ingest.cfn.count("DescribeStackResources"),
            ingest.cfn.count("DetectStackResourceDrift")
        ),
        (1, 1),
        "one owner lookup and one drift check per manual change"
    );

    // Redelivered: the same finding, nothing published, the owner answered from the cache.
    let again = ingest.respond(&console_sg_change());
    assert_eq!(again["duplicates"], json!(1), "{again}");
    assert_eq!(ingest.findings().len(), 1);
    assert_eq!(ingest.cfn.count("DescribeStackResources"), 1, "owner cached");
    assert_eq!(
        ingest.cfn.count("DetectStackResourceDrift"),
        2,
        "judged again before the store sees the duplicate"
    );
    assert!(
        ingest.rt.block_on(ingest.stack.drain_events()).is_empty(),
        "nothing published twice"
    );

    // A bucket's versioning suspended with the CLI: NOT_EQUAL, expected vs found.
    ingest.respond(&event(
        "s3-put-bucket-versioning.cli-user.json",
        "acme-prod-artifacts",
        BUCKET,
    ));
    let b = ingest.finding_on(BUCKET);
    assert_eq!(
        (
            b.changes[0].attribute.as_str(),
            &b.changes[0].expected,
            &b.changes[0].found
        ),
        (
            "/VersioningConfiguration/Status",
            &json!("Enabled"),
            &json!("Suspended")
        )
    );
    assert_eq!(b.actor.human.as_deref(), Some("bob"));

    if let Some(d) = documented {
        let physical = d["PhysicalResourceId"].as_str().expect("id");
        ingest.respond(&event(
            "lambda-update-function-configuration.console-sso.json",
            "orders-api",
            physical,
        ));
        let l = ingest.finding_on(physical);
        let changes: Vec<(&str, &Value, &Value)> = l
            .changes
            .iter()
            .map(|c| (c.attribute.as_str(), &c.expected, &c.found))
            .collect();
        assert_eq!(
            changes,
            [
                ("/MemorySize", &json!(128), &json!(256)),
                ("/Timeout", &json!(900), &json!(22))
            ]
        );
        assert_eq!(l.owner.as_ref().map(|o| o.address.as_str()), Some("MyFunction"));
    }
}

#[test]
fn an_in_sync_answer_gives_no_finding() {
    let resources = HashMap::from([(
        SG.to_owned(),
        owned(
            "WebSecurityGroup",
            "AWS::EC2::SecurityGroup",
            drift("WebSecurityGroup", "AWS::EC2::SecurityGroup", "IN_SYNC", json!([])),
        ),
    )]);
    let Some(mut ingest) = Ingest::start("an_in_sync_answer_gives_no_finding", resources) else {
        return;
    };
    let summary = ingest.respond(&console_sg_change());
    assert_eq!(
        (
            summary["findings"].clone(),
            summary["iac_changes"].clone(),
            summary["cloudformation_owned"].clone()
        ),
        (json!(0), json!(1), json!(1)),
        "recorded as manual activity that matches the template: {summary}"
    );
    assert!(ingest.findings().is_empty(), "{:?}", ingest.findings());
    assert!(ingest.rt.block_on(ingest.stack.drain_events()).is_empty());
    assert_eq!(ingest.cfn.count("DetectStackResourceDrift"), 1);
}

#[test]
fn a_failed_drift_check_is_a_finding_saying_so_and_the_batchs_other_findings_stand() {
    let resources = HashMap::from([(
        SG.to_owned(),
        owned(
            "WebSecurityGroup",
            "AWS::EC2::SecurityGroup",
            DriftAnswer::Error(
                "403 Forbidden",
                "AccessDenied",
                "User is not authorized to perform: ec2:DescribeSecurityGroups".into(),
            ),
        ),
    )]);
    let Some(mut ingest) = Ingest::start(
        "a_failed_drift_check_is_a_finding_saying_so_and_the_batchs_other_findings_stand",
        resources,
    ) else {
        return;
    };
    // One SQS batch: the change on the stack's group and one on a Terraform-managed group.
    let mut batch: Value =
        serde_json::from_slice(&std::fs::read(workspace().join("events/sqs/batch.two-records.json")).expect("batch"))
            .expect("JSON");
    let managed =
        String::from_utf8(event("ec2-authorize-security-group-ingress.console-sso.json", SG, SG)).expect("utf-8");
    let on_stack = String::from_utf8(console_sg_change()).expect("utf-8");
    let records = batch["Records"].as_array_mut().expect("records");
    records.truncate(1);
    let mut second = records[0].clone();
    records[0]["body"] = json!(managed);
    second["messageId"] = json!("0f1e2d3c-0000-4000-8000-0000000cfn01");
    second["body"] = json!(on_stack);
    records.push(second);
    let response = ingest.respond(&serde_json::to_vec(&batch).expect("JSON"));
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    let f = ingest.finding_on(SG);
    assert!(f.changes.is_empty());
    let st = f.owner.as_ref().and_then(|o| o.stack.clone()).expect("the stack named");
    assert_eq!(st.drift, "UNCHECKED");
    assert!(
        st.not_checked.as_deref().unwrap_or("").contains("AccessDenied"),
        "{:?}",
        st.not_checked
    );
    assert!(
        f.summary
            .contains("Changed out of band on stack web; drift not checked"),
        "{}",
        f.summary
    );
    assert!(ingest
        .findings()
        .iter()
        .any(|f| f.resource.id == "sg-0123456789abcdef0"));
    assert!(
        ingest.lambda.logs().contains("CloudFormation drift not checked"),
        "the failure is logged:\n{}",
        ingest.lambda.logs()
    );
}

#[test]
fn cloudformations_own_change_gives_nothing_and_asks_nothing() {
    let resources = HashMap::from([(SG.to_owned(), sg_opened())]);
    let Some(mut ingest) = Ingest::start("cloudformations_own_change_gives_nothing_and_asks_nothing", resources) else {
        return;
    };
    let mut record: Value = serde_json::from_slice(&console_sg_change()).expect("JSON");
    record["detail"]["userAgent"] = json!("cloudformation.amazonaws.com");
    record["detail"]["sourceIPAddress"] = json!("cloudformation.amazonaws.com");
    record["detail"]["invokedBy"] = json!("cloudformation.amazonaws.com");
    let summary = ingest.respond(&serde_json::to_vec(&record).expect("JSON"));
    assert_eq!(summary["findings"], json!(0), "{summary}");
    assert!(ingest.findings().is_empty());
    assert!(ingest.cfn.asked().is_empty(), "{:?}", ingest.cfn.asked());
}

#[test]
fn an_untagged_resource_a_stack_created_is_not_unmanaged() {
    // AWS Config records a bucket no state declares, next to Terraform-managed ones, without the
    // stack's tags: CloudFormation says which stack created it.
    let resources = HashMap::from([(
        "acme-tmp-export".to_owned(),
        owned(
            "ExportBucket",
            "AWS::S3::Bucket",
            drift("ExportBucket", "AWS::S3::Bucket", "IN_SYNC", json!([])),
        ),
    )]);
    let Some(mut ingest) = Ingest::start("an_untagged_resource_a_stack_created_is_not_unmanaged", resources) else {
        return;
    };
    let item = std::fs::read(workspace().join("events/config/s3-bucket.created-unmanaged.json")).expect("item");
    let summary = ingest.respond(&item);
    assert_eq!(summary["skipped"]["cloudformation_owned"], json!(1), "{summary}");
    assert!(ingest.findings().is_empty(), "{:?}", ingest.findings());
    assert_eq!(ingest.cfn.count("DescribeStackResources"), 1);
    assert_eq!(
        ingest.cfn.count("DetectStackResourceDrift"),
        0,
        "ownership only: nothing changed by hand"
    );
}

/// An SQS batch of these EventBridge events (as text), one message each.
fn batch(bodies: &[String]) -> Vec<u8> {
    let mut batch: Value =
        serde_json::from_slice(&std::fs::read(workspace().join("events/sqs/batch.two-records.json")).expect("batch"))
            .expect("JSON");
    let template = batch["Records"][0].clone();
    let records: Vec<Value> = bodies
        .iter()
        .enumerate()
        .map(|(i, body)| {
            let mut r = template.clone();
            r["messageId"] = json!(format!("0f1e2d3c-0000-4000-8000-0000000cf1{i:02}"));
            r["body"] = json!(body);
            r
        })
        .collect();
    batch["Records"] = json!(records);
    serde_json::to_vec(&batch).expect("JSON")
}

#[test]
fn the_drift_budget_and_a_refused_owner_lookup_degrade_as_documented() {
    let other = "sg-0feedc0ffee000002";
    let resources = HashMap::from([(SG.to_owned(), sg_opened()), (other.to_owned(), sg_opened())]);
    let Some(mut ingest) = Ingest::start_with(
        "the_drift_budget_and_a_refused_owner_lookup_degrade_as_documented",
        resources,
        &[("DRIFTGUARD_CLOUDFORMATION_DRIFT_CHECKS", "1")],
    ) else {
        return;
    };
    let second = String::from_utf8(console_sg_change())
        .expect("utf-8")
        .replace(SG, other)
        .replace(
            "0a10d948-2ac6-465c-ab05-0000000cf001",
            "0a10d948-2ac6-465c-ab05-0000000cf002",
        );
    let first = String::from_utf8(console_sg_change()).expect("utf-8");
    // One invocation, one drift check: the first change is checked, the second is reported
    // changed out of band with the spent budget as the reason.
    let response = ingest.respond(&batch(&[first, second]));
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    assert_eq!(ingest.cfn.count("DetectStackResourceDrift"), 1);
    assert_eq!(ingest.finding_on(SG).changes.len(), 1);
    let spent = ingest.finding_on(other);
    assert!(spent.changes.is_empty());
    let st = spent
        .owner
        .as_ref()
        .and_then(|o| o.stack.clone())
        .expect("the stack named");
    assert!(st.not_checked.as_deref().unwrap_or("").contains("budget"), "{st:?}");

    // A refused ownership lookup: nothing says which stack owns it, so the change stays outside
    // IaC, logged at error level and counted; the invocation succeeds.
    let third = "sg-0feedc0ffee000003";
    ingest.cfn.refuse_lookups_of(third);
    let refused = String::from_utf8(console_sg_change())
        .expect("utf-8")
        .replace(SG, third)
        .replace(
            "0a10d948-2ac6-465c-ab05-0000000cf001",
            "0a10d948-2ac6-465c-ab05-0000000cf003",
        );
    let summary = ingest.respond(refused.as_bytes());
    assert_eq!(
        (
            summary["cloudformation_errors"].clone(),
            summary["skipped"]["outside_iac"].clone()
        ),
        (json!(1), json!(1)),
        "{summary}"
    );
    assert!(ingest.findings().iter().all(|f| f.resource.id != third));
    assert!(
        ingest.lambda.logs().contains("CloudFormation ownership lookup failed"),
        "{}",
        ingest.lambda.logs()
    );
}
