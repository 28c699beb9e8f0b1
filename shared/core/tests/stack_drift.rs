//! CloudFormation drift on a manual change (#12 item 5): a console change to a resource no
//! Terraform state declares but a stack owns is asked about (`DescribeStackResources` by
//! physical id, `DetectStackResourceDrift`), and CloudFormation's answer becomes the finding:
//! property differences as expected vs found, the stack named; in sync gives no finding; an
//! unchecked type or a failed call a finding that says drift was not checked; CloudFormation's
//! own calls and resources no stack owns are not asked about or stay out of scope.
//!
//! The drift answers are the AWS CLI's documented outputs in ../shared/data
//! (`cfn-drift-and-api-outputs-awscli-examples`), read as the adapter would map them.

#![allow(clippy::unwrap_used)]

mod common;

use common::evaluate::pipeline_over;
use common::{events_dir, read};
use driftguard_core::decode::{decode, Item, Position};
use driftguard_core::finding::FindingKind;
use driftguard_core::pipeline::{Evaluation, Outcome, Pipeline, Skip};
use driftguard_core::score::Severity;
use driftguard_core::stack::{
    self, Budget, DifferenceType, DriftStatus, MemoryStacks, PropertyDifference, StackResource, StackResourceDrift,
};
use driftguard_core::time::Timestamp;
use serde_json::{json, Value};

const STATES: [&str; 2] = ["events/terraform/network.tfstate", "events/terraform/data.tfstate"];
const STACK_ID: &str = "arn:aws:cloudformation:eu-west-1:123456789012:stack/web/d0a825a0-e4cd-xmpl-b9fb-061c69e99204";

/// A sample event with its resource id swapped for one no state declares.
fn event(file: &str, from: &str, to: &str) -> Vec<u8> {
    String::from_utf8(read(&events_dir().join("cloudtrail").join(file)))
        .unwrap()
        .replace(from, to)
        .into_bytes()
}

fn stack_resource(physical: &str, logical: &str, ty: &str) -> StackResource {
    StackResource {
        stack_name: "web".into(),
        stack_id: STACK_ID.into(),
        logical_id: logical.into(),
        physical_id: physical.into(),
        resource_type: ty.into(),
    }
}

/// A `StackResourceDrift` as the AWS CLI prints it, as the adapter maps it.
fn drift_from_cli(v: &Value) -> StackResourceDrift {
    StackResourceDrift {
        status: DriftStatus::from_wire(v["StackResourceDriftStatus"].as_str().unwrap()),
        differences: v["PropertyDifferences"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| PropertyDifference {
                path: d["PropertyPath"].as_str().unwrap().into(),
                expected: d["ExpectedValue"].as_str().map(str::to_owned),
                actual: d["ActualValue"].as_str().map(str::to_owned),
                kind: DifferenceType::from_wire(d["DifferenceType"].as_str().unwrap()),
            })
            .collect(),
        checked_at: v["Timestamp"].as_str().and_then(Timestamp::parse),
    }
}

fn drift(status: &str, differences: Value) -> StackResourceDrift {
    drift_from_cli(&json!({"StackResourceDriftStatus": status, "PropertyDifferences": differences}))
}

/// Evaluates a document and, for each evaluation CloudFormation should be asked about, asks
/// `stacks` and applies the answer; returns the evaluations and the physical ids asked.
fn run(
    pipeline: &Pipeline,
    document: &[u8],
    stacks: &MemoryStacks,
    budget: &mut Budget,
) -> (Vec<Evaluation>, Vec<String>) {
    let mut pending = Vec::new();
    decode(document, "test", &mut |_: &Position, item: Result<Item<'_>, _>| {
        let item = item.expect("decodes");
        pipeline.evaluate_each(&item, &mut |ev| {
            let q = stack::query(pipeline, &item, &ev);
            pending.push((ev, q));
        });
    });
    let mut asked = Vec::new();
    let mut out = Vec::new();
    for (mut ev, q) in pending {
        if let Some(q) = q {
            asked.push(q.physical_id.clone());
            let answer = pollster::block_on(stack::check(stacks, &q, budget));
            stack::apply(pipeline, &mut ev, &q, answer);
        }
        out.push(ev);
    }
    (out, asked)
}

fn one(pipeline: &Pipeline, document: &[u8], stacks: &MemoryStacks) -> (Evaluation, Vec<String>) {
    let (mut evs, asked) = run(pipeline, document, stacks, &mut Budget { drift_checks: 5 });
    assert_eq!(evs.len(), 1);
    (evs.remove(0), asked)
}

fn finding_of(ev: &Evaluation) -> &driftguard_core::finding::Finding {
    match &ev.outcome {
        Outcome::Finding(f) => f,
        other => panic!("expected a finding, got {other:?}"),
    }
}

#[test]
#[cfg_attr(
    driftguard_no_data,
    ignore = "needs the public corpora at ../shared/data, which are absent"
)]
fn a_console_change_on_a_stack_function_shows_cloudformations_differences() {
    let dir = common::corpora("a_console_change_on_a_stack_function_shows_cloudformations_differences")
        .join("cfn-drift-and-api-outputs-awscli-examples");
    let cli: Value =
        serde_json::from_slice(&read(&dir.join("cloudformation__detect-stack-resource-drift__1.json"))).unwrap();
    let cli = &cli["StackResourceDrift"];
    let physical = cli["PhysicalResourceId"].as_str().unwrap();
    let pipeline = pipeline_over(&STATES);
    let document = event(
        "lambda-update-function-configuration.console-sso.json",
        "orders-api",
        physical,
    );

    // No stack owns it: asked once, out of scope as before.
    let (ev, asked) = one(&pipeline, &document, &MemoryStacks::default());
    assert_eq!(asked, [physical]);
    assert!(matches!(
        ev.outcome,
        Outcome::Skipped {
            reason: Skip::OutsideIac
        }
    ));
    assert!(ev.owner.is_none());

    let mut stacks = MemoryStacks::default();
    let owned = stack_resource(
        physical,
        cli["LogicalResourceId"].as_str().unwrap(),
        "AWS::Lambda::Function",
    );
    stacks
        .resources
        .insert(physical.into(), (owned, Ok(drift_from_cli(cli))));
    let (ev, _) = one(&pipeline, &document, &stacks);
    let f = finding_of(&ev);
    assert_eq!(f.kind, FindingKind::Drift);
    let changes: Vec<(&str, &Value, &Value, bool)> = f
        .changes
        .iter()
        .map(|c| (c.attribute.as_str(), &c.expected, &c.found, c.drifted))
        .collect();
    assert_eq!(
        changes,
        [
            ("/MemorySize", &json!(128), &json!(256), true),
            ("/Timeout", &json!(900), &json!(22), true)
        ]
    );
    let owner = f.owner.as_ref().unwrap();
    let st = owner.stack.as_ref().unwrap();
    assert_eq!(
        (st.name.as_str(), st.logical_id.as_str(), st.id.as_str()),
        ("web", "MyFunction", STACK_ID)
    );
    assert_eq!(st.drift, "MODIFIED");
    assert_eq!(owner.address, "MyFunction");
    assert_eq!(f.actor.human.as_deref(), Some("alice@example.com"));
    assert_eq!(f.call.name, "UpdateFunctionConfiguration20150331v2");
    assert!(f.likelihood > 0.9, "{}", f.likelihood);
    assert!(
        f.summary.contains("CloudFormation stack web declares as MyFunction")
            && f.summary.contains("/MemorySize is now 256 (IaC declares 128)"),
        "{}",
        f.summary
    );
    assert!(f.fix.contains("deploy stack web"), "{}", f.fix);
    // The same event again: the same finding id (the store keeps the first).
    let (again, _) = one(&pipeline, &document, &stacks);
    assert_eq!(finding_of(&again).id, f.id);
}

#[test]
fn ssh_opened_to_the_world_on_a_stack_security_group_is_critical() {
    let pipeline = pipeline_over(&STATES);
    let sg = "sg-0feedc0ffee000001";
    let document = event(
        "ec2-authorize-security-group-ingress.console-sso.json",
        "sg-0123456789abcdef0",
        sg,
    );
    let mut stacks = MemoryStacks::default();
    stacks.resources.insert(
        sg.into(),
        (
            stack_resource(sg, "WebSecurityGroup", "AWS::EC2::SecurityGroup"),
            Ok(drift(
                "MODIFIED",
                json!([{
                    "PropertyPath": "/SecurityGroupIngress/1",
                    "ActualValue": "{\"CidrIp\":\"0.0.0.0/0\",\"FromPort\":22,\"IpProtocol\":\"tcp\",\"ToPort\":22}",
                    "DifferenceType": "ADD"
                }]),
            )),
        ),
    );
    let (ev, _) = one(&pipeline, &document, &stacks);
    let f = finding_of(&ev);
    assert_eq!(f.changes.len(), 1);
    assert_eq!(f.changes[0].attribute, "/SecurityGroupIngress/1");
    assert_eq!(f.changes[0].expected, Value::Null);
    assert_eq!(f.changes[0].found["CidrIp"], "0.0.0.0/0");
    assert_eq!(f.severity, Severity::Critical, "{:?}", f.severity_reasons);
    assert!(
        f.severity_reasons.iter().any(|r| r.contains("tcp 22 0.0.0.0/0")),
        "{:?}",
        f.severity_reasons
    );
}

#[test]
fn in_sync_is_no_finding_and_settles_the_resource() {
    let pipeline = pipeline_over(&STATES);
    let sg = "sg-0feedc0ffee000001";
    let document = event(
        "ec2-authorize-security-group-ingress.console-sso.json",
        "sg-0123456789abcdef0",
        sg,
    );
    let mut stacks = MemoryStacks::default();
    stacks.resources.insert(
        sg.into(),
        (
            stack_resource(sg, "WebSecurityGroup", "AWS::EC2::SecurityGroup"),
            Ok(drift("IN_SYNC", json!([]))),
        ),
    );
    let (ev, _) = one(&pipeline, &document, &stacks);
    match &ev.outcome {
        Outcome::Iac(change) => {
            assert!(
                change.restores.is_empty(),
                "an in-sync resource settles every open finding"
            );
            assert!(change.by.contains("in sync with its template"), "{}", change.by);
        }
        other => panic!("expected manual activity, got {other:?}"),
    }
    assert_eq!(
        ev.owner
            .as_ref()
            .and_then(|o| o.stack.as_ref())
            .map(|s| s.drift.as_str()),
        Some("IN_SYNC")
    );
}

#[test]
fn unchecked_drift_is_a_finding_that_says_why() {
    let pipeline = pipeline_over(&STATES);
    let sg = "sg-0feedc0ffee000001";
    let document = event(
        "ec2-authorize-security-group-ingress.console-sso.json",
        "sg-0123456789abcdef0",
        sg,
    );
    let owned = stack_resource(sg, "WebSecurityGroup", "AWS::EC2::SecurityGroup");
    let check = |answer: Result<StackResourceDrift, String>, budget: u32, why: &str| {
        let mut stacks = MemoryStacks::default();
        stacks.resources.insert(sg.into(), (owned.clone(), answer));
        let (mut evs, _) = run(&pipeline, &document, &stacks, &mut Budget { drift_checks: budget });
        let ev = evs.remove(0);
        let f = finding_of(&ev);
        assert_eq!(f.kind, FindingKind::Drift);
        assert!(f.changes.is_empty());
        let st = f.owner.as_ref().unwrap().stack.as_ref().unwrap();
        assert!(st.not_checked.as_deref().unwrap_or("").contains(why), "{st:?}");
        assert!(
            f.summary
                .contains("Changed out of band on stack web; drift not checked"),
            "{}",
            f.summary
        );
        st.drift.clone()
    };
    assert_eq!(
        check(
            Ok(drift("NOT_CHECKED", json!([]))),
            5,
            "does not check drift for AWS::EC2::SecurityGroup"
        ),
        "NOT_CHECKED"
    );
    assert_eq!(
        check(
            Err("Rate exceeded".into()),
            5,
            "DetectStackResourceDrift on WebSecurityGroup in stack web failed: Rate exceeded"
        ),
        "UNCHECKED"
    );
    assert_eq!(check(Ok(drift("MODIFIED", json!([]))), 0, "budget"), "UNCHECKED");
}

#[test]
fn a_deletion_cloudformation_reports_is_missing_and_critical() {
    let pipeline = pipeline_over(&STATES);
    let id = "i-0feedc0ffee000001";
    let document = common::evaluate::cli_call(
        "ec2.amazonaws.com",
        "TerminateInstances",
        json!({"instancesSet": {"items": [{"instanceId": id}]}}),
        json!({}),
    );
    let mut stacks = MemoryStacks::default();
    stacks.resources.insert(
        id.into(),
        (
            stack_resource(id, "Worker", "AWS::EC2::Instance"),
            Ok(drift("DELETED", json!([]))),
        ),
    );
    let (ev, _) = one(&pipeline, &document, &stacks);
    let f = finding_of(&ev);
    assert_eq!((f.kind, f.severity), (FindingKind::Missing, Severity::Critical));
    assert!(f.fix.contains("Stack web still declares Worker"), "{}", f.fix);
}

#[test]
fn cloudformations_own_calls_and_creations_are_not_asked_about() {
    let pipeline = pipeline_over(&STATES);
    let sg = "sg-0feedc0ffee000001";
    // CloudFormation applying the stack: an IaC change, never asked about.
    let mut record: Value = serde_json::from_slice(&event(
        "ec2-authorize-security-group-ingress.console-sso.json",
        "sg-0123456789abcdef0",
        sg,
    ))
    .unwrap();
    record["detail"]["userAgent"] = json!("cloudformation.amazonaws.com");
    record["detail"]["sourceIPAddress"] = json!("cloudformation.amazonaws.com");
    record["detail"]["invokedBy"] = json!("cloudformation.amazonaws.com");
    let mut stacks = MemoryStacks::default();
    stacks.resources.insert(
        sg.into(),
        (
            stack_resource(sg, "WebSecurityGroup", "AWS::EC2::SecurityGroup"),
            Ok(drift("MODIFIED", json!([]))),
        ),
    );
    let (ev, asked) = one(&pipeline, record.to_string().as_bytes(), &stacks);
    assert!(asked.is_empty());
    assert!(matches!(ev.outcome, Outcome::Iac(_)), "{:?}", ev.outcome);
    // A resource created by hand is nobody's stack resource: not asked about.
    let created = read(&events_dir().join("cloudtrail/s3-create-bucket.cli-user.json"));
    let (evs, asked) = run(&pipeline, &created, &stacks, &mut Budget { drift_checks: 5 });
    assert!(asked.is_empty(), "{asked:?}");
    assert!(!evs.is_empty());
    // A change on a Terraform-managed resource is Terraform's business: not asked about.
    let managed = read(&events_dir().join("cloudtrail/ec2-authorize-security-group-ingress.console-sso.json"));
    let (_, asked) = one(&pipeline, &managed, &stacks);
    assert!(asked.is_empty());
}
