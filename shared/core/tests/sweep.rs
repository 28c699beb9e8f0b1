//! The reconcile sweep in core, on the in-memory store: what a live item, a listing and the
//! history make of a resource, and how a sweep meets the findings events already raised.

use driftguard_core::attribution::AttributionConfig;
use driftguard_core::config_item::ConfigChange;
use driftguard_core::finding::{FindingKind, Status};
use driftguard_core::inventory::Inventory;
use driftguard_core::join::LastWriter;
use driftguard_core::pipeline::{Outcome, Pipeline};
use driftguard_core::ports::{FindingStore, MemoryStore, Query};
use driftguard_core::service;
use driftguard_core::sweep::{Continuation, Listed, Scope, Sweep, SweepReport, TypeProgress};
use driftguard_core::time::Timestamp;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "eu-west-1";

fn policy(principal: Value) -> String {
    json!({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":principal,"Action":"s3:GetObject","Resource":"arn:aws:s3:::logs/*"}]}).to_string()
}

/// Two declared buckets (one with a policy) and a role that names the account.
fn pipeline() -> Pipeline {
    let state = json!({"version": 4, "resources": [
        {"mode": "managed", "type": "aws_s3_bucket", "name": "logs", "instances": [{"attributes": {"id": "logs", "bucket": "logs", "arn": "arn:aws:s3:::logs", "region": REGION}}]},
        {"mode": "managed", "type": "aws_s3_bucket", "name": "gone", "instances": [{"attributes": {"id": "gone", "bucket": "gone", "arn": "arn:aws:s3:::gone", "region": REGION}}]},
        {"mode": "managed", "type": "aws_s3_bucket_policy", "name": "logs", "instances": [{"attributes": {"id": "logs", "bucket": "logs", "policy": policy(json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}))}}]},
        {"mode": "managed", "type": "aws_iam_role", "name": "r", "instances": [{"attributes": {"id": "r", "name": "r", "arn": format!("arn:aws:iam::{ACCOUNT}:role/r")}}]}
    ]});
    let mut inventory = Inventory::new();
    inventory
        .add_state("s3://states/prod.tfstate", state.to_string().as_bytes())
        .expect("state");
    Pipeline::new(&AttributionConfig::default(), inventory)
}

fn scope() -> Scope {
    Scope {
        account: ACCOUNT.into(),
        region: REGION.into(),
    }
}

/// A bucket's item as the sweep's adapter hands it over.
fn bucket(name: &str, policy_text: Option<String>, tags: Option<Value>, captured: i64) -> ConfigChange {
    let mut item = json!({
        "resourceType": "AWS::S3::Bucket", "resourceId": name, "awsAccountId": ACCOUNT, "awsRegion": REGION,
        "configuration": {"name": name},
        "supplementaryConfiguration": {"BucketPolicy": {"policyText": policy_text}},
    });
    if let Some(tags) = tags {
        item["tags"] = tags;
    }
    ConfigChange {
        message_type: "ReconcileSweep".into(),
        resource_type: "AWS::S3::Bucket".into(),
        resource_id: name.into(),
        resource_name: Some(name.into()),
        arn: Some(format!("arn:aws:s3:::{name}")),
        account: ACCOUNT.into(),
        region: REGION.into(),
        capture_time: Timestamp(captured),
        status: "OK".into(),
        change_type: None,
        changed_properties: None,
        item,
        s3_location: None,
    }
}

fn listed(name: &str) -> Listed {
    Listed {
        resource_type: "AWS::S3::Bucket".into(),
        resource_id: name.into(),
        resource_name: Some(name.into()),
        deleted_at: None,
    }
}

#[test]
fn only_undeclared_resources_without_a_cloudformation_tag_are_unmanaged() {
    let p = pipeline();
    let sweep = Sweep::new(&p, scope());
    let (mut progress, mut report) = (TypeProgress::default(), SweepReport::default());
    let stack = bucket(
        "cdk-assets",
        None,
        Some(json!({"aws:cloudformation:stack-name": "CDKToolkit"})),
        1_000,
    );
    let hand = bucket("exports", None, Some(json!({})), 1_000);
    let untagged = bucket("exports", None, None, 1_000);
    assert!(sweep.wants_full_item(&untagged), "tags decide: read the full item");
    assert!(!sweep.wants_full_item(&hand));
    let skipped = sweep.live(&mut progress, &mut report, &stack);
    assert!(
        matches!(skipped.outcome, Outcome::Skipped { .. }),
        "{:?}",
        skipped.outcome
    );
    let ev = sweep.live(&mut progress, &mut report, &hand);
    let Outcome::Config(obs) = &ev.outcome else {
        panic!("{:?}", ev.outcome)
    };
    assert_eq!(obs.finding.as_ref().map(|f| f.kind), Some(FindingKind::Unmanaged));
    let coverage = report.coverage[&format!("{ACCOUNT}/AWS::S3::Bucket")];
    assert_eq!((coverage.unmanaged, coverage.cloudformation), (1, 1));

    // The same bucket, which CloudFormation says a stack created (its item carried no stack
    // tag): CloudFormation's, not unmanaged, in the evaluation and the coverage.
    let mut ev = ev;
    assert_eq!(driftguard_core::stack::unmanaged_candidate(&ev), Some("exports"));
    let owner = driftguard_core::stack::StackResource {
        stack_name: "exports".into(),
        stack_id: "arn:aws:cloudformation:eu-west-1:123456789012:stack/exports/1".into(),
        logical_id: "ExportBucket".into(),
        physical_id: "exports".into(),
        resource_type: "AWS::S3::Bucket".into(),
    };
    sweep.owned_by_stack(&mut report, &mut ev, &owner);
    assert!(matches!(
        ev.outcome,
        Outcome::Skipped {
            reason: driftguard_core::pipeline::Skip::CloudFormationOwned
        }
    ));
    assert_eq!(ev.owner.as_ref().map(|o| o.address.as_str()), Some("ExportBucket"));
    assert_eq!(driftguard_core::stack::unmanaged_candidate(&ev), None);
    let coverage = report.coverage[&format!("{ACCOUNT}/AWS::S3::Bucket")];
    assert_eq!((coverage.unmanaged, coverage.cloudformation), (0, 2));
}

#[test]
fn missing_is_judged_only_where_config_listed_the_type() {
    let p = pipeline();
    let sweep = Sweep::new(&p, scope());
    assert_eq!(sweep.types(), ["AWS::S3::Bucket", "AWS::IAM::Role"]);
    let mut report = SweepReport::default();
    let nothing_listed = TypeProgress::default();
    assert!(
        sweep
            .missing("AWS::S3::Bucket", &nothing_listed, Timestamp(5_000), &mut report)
            .is_empty(),
        "a recorder that skips buckets lists none: nothing is missing"
    );
    let mut progress = TypeProgress::default();
    let page = [listed("logs")];
    let fetch = sweep.listed(&mut progress, &page);
    assert_eq!(fetch.len(), 1);
    sweep.live(
        &mut progress,
        &mut report,
        &bucket(
            "logs",
            Some(policy(json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}))),
            None,
            1_000,
        ),
    );
    let missing = sweep.missing("AWS::S3::Bucket", &progress, Timestamp(5_000), &mut report);
    assert_eq!(missing.len(), 1, "gone is declared and Config does not hold it");
    let Outcome::Config(obs) = &missing[0].outcome else {
        panic!()
    };
    assert_eq!(obs.resource.id, "gone");
    assert_eq!(obs.finding.as_ref().map(|f| f.kind), Some(FindingKind::Missing));
    // Another account's sweep judges nothing of this state.
    let elsewhere = Sweep::new(
        &p,
        Scope {
            account: "444455556666".into(),
            region: REGION.into(),
        },
    );
    assert!(elsewhere
        .missing("AWS::S3::Bucket", &progress, Timestamp(5_000), &mut report)
        .is_empty());
}

#[test]
fn a_sweep_joins_the_event_finding_reads_nothing_new_twice_and_resolves_when_back_in_line() {
    let p = pipeline();
    let sweep = Sweep::new(&p, scope());
    let store = MemoryStore::default();
    let (mut progress, mut report) = (TypeProgress::default(), SweepReport::default());
    let open = policy(json!("*"));
    let drifted = sweep.live(
        &mut progress,
        &mut report,
        &bucket("logs", Some(open.clone()), None, 1_000_000),
    );
    let key = drifted.event_id.clone();
    assert!(key.starts_with("sweep:cfg-"), "{key}");
    pollster::block_on(service::handle_all(&store, &store, vec![drifted])).expect("store");
    let again = sweep.live(&mut progress, &mut report, &bucket("logs", Some(open), None, 1_000_000));
    assert_eq!(again.event_id, key, "the same item, the same outcome: the same key");
    let handled = pollster::block_on(service::handle_all(&store, &store, vec![again])).expect("store");
    assert!(handled[0].duplicate);
    let all = pollster::block_on(store.list(&Query::default())).expect("list");
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].kind, FindingKind::Drift);
    assert!(all[0].summary.contains("reconcile sweep"), "{}", all[0].summary);
    // Put back (a new capture): the finding resolves, named after the sweep.
    let declared = policy(json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}));
    let back = sweep.live(
        &mut progress,
        &mut report,
        &bucket("logs", Some(declared), None, 2_000_000),
    );
    pollster::block_on(service::handle_all(&store, &store, vec![back])).expect("store");
    let all = pollster::block_on(store.list(&Query::default())).expect("list");
    assert_eq!(all.len(), 1, "no new finding");
    assert_eq!(all[0].status, Status::Resolved);
    assert!(all[0]
        .resolution
        .as_ref()
        .is_some_and(|r| r.by.contains("reconcile sweep")));
    let kinds: Vec<String> = store.published().iter().map(|e| e.key.clone()).collect();
    assert_eq!(kinds.len(), 2, "detected, then resolved: {kinds:?}");
}

fn record(user_agent: &str, user: &str, id: &str, time: &str, identity_type: &str) -> String {
    json!({"eventVersion": "1.09", "eventTime": time, "eventSource": "s3.amazonaws.com", "eventName": "PutBucketPolicy",
        "awsRegion": REGION, "sourceIPAddress": "198.51.100.7", "userAgent": user_agent, "eventID": id, "readOnly": false,
        "eventType": "AwsApiCall", "recipientAccountId": ACCOUNT,
        "userIdentity": {"type": identity_type, "principalId": "AIDAEXAMPLE", "arn": format!("arn:aws:iam::{ACCOUNT}:user/{user}"), "accountId": ACCOUNT, "userName": user},
        "requestParameters": {"bucketName": "logs", "policy": {}}})
    .to_string()
}

#[test]
fn the_last_writer_is_the_newest_write_neither_iac_nor_an_aws_service_made() {
    let p = pipeline();
    let terraform = record(
        "APN/1.0 HashiCorp/1.0 Terraform/1.9.8 (+https://www.terraform.io) terraform-provider-aws/5.70.0",
        "ci",
        "e-3",
        "2026-11-30T10:00:00Z",
        "IAMUser",
    );
    let carol = record(
        "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.11.9",
        "carol",
        "e-2",
        "2026-11-29T10:00:00Z",
        "IAMUser",
    );
    let old = record(
        "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.8 md/arch#x86_64 lang/python#3.11.9",
        "dave",
        "e-1",
        "2026-11-01T10:00:00Z",
        "IAMUser",
    );
    match driftguard_core::sweep::last_writer(&p, &[terraform.clone(), carol, old, "not json".into()]) {
        LastWriter::Named { who, event_id, .. } => assert_eq!((who.as_str(), event_id.as_str()), ("carol", "e-2")),
        other => panic!("{other:?}"),
    }
    match driftguard_core::sweep::last_writer(&p, &[terraform]) {
        LastWriter::NobodyNamed { days, events } => assert_eq!((days, events), (90, 1)),
        other => panic!("{other:?}"),
    }
    assert!(LastWriter::BudgetSpent.sentence().contains("budget"));
}

#[test]
fn a_continuation_moves_type_by_type_and_says_when_it_is_complete() {
    let mut run = Continuation::start(Timestamp(1), vec!["AWS::S3::Bucket".into(), "AWS::IAM::Role".into()]);
    assert_eq!(run.current_type(), Some("AWS::S3::Bucket"));
    run.next_token = Some("t".into());
    run.next();
    assert_eq!(
        (run.current_type(), run.next_token.as_deref(), run.report.complete),
        (Some("AWS::IAM::Role"), None, false)
    );
    run.next();
    assert_eq!(run.current_type(), None);
    assert!(run.report.complete);
    let text = serde_json::to_string(&run).expect("serialises");
    let back: Continuation = serde_json::from_str(&text).expect("reads back");
    assert_eq!(back, run);
}
