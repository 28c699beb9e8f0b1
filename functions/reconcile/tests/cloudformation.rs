//! The compiled reconcile Lambda and CloudFormation (#12 item 5): an undeclared bucket next to
//! Terraform-managed ones, whose Config item carries no stack tags, is asked about
//! (`DescribeStackResources` by physical id, on a loopback stand-in: moto answers it by stack
//! name only) and, created by a stack, counted as CloudFormation's, never unmanaged.

use driftguard_core::finding::FindingKind;
use driftguard_core::ports::{FindingStore, Query};
use driftguard_tests::cloudformation::{CloudFormationStandIn, DriftAnswer, Owned};
use driftguard_tests::estate;
use driftguard_tests::fault::FaultProxy;
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
use driftguard_tests::stack::{Stack, BUCKET, BUS, TABLE};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::Duration;

#[test]
fn an_untagged_bucket_a_stack_created_is_cloudformations_not_unmanaged() {
    let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
    let Some(stack) = rt.block_on(Stack::start(
        "an_untagged_bucket_a_stack_created_is_cloudformations_not_unmanaged",
    )) else {
        return;
    };
    rt.block_on(estate::build(&stack.sdk, 0)).expect("the estate on moto");
    let proxy = FaultProxy::start(&stack.moto.endpoint(), Vec::new());
    for r in estate::config_rewrites() {
        proxy.rewrite(r);
    }
    let cfn = CloudFormationStandIn::start(HashMap::from([(
        estate::HAND_MADE.to_owned(),
        Owned {
            stack_name: "exports".into(),
            stack_id: "arn:aws:cloudformation:us-east-1:123456789012:stack/exports/1".into(),
            logical_id: "ExportBucket".into(),
            resource_type: "AWS::S3::Bucket".into(),
            drift: DriftAnswer::Error("400 Bad Request", "ValidationError", "not asked".into()),
        },
    )]));
    let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-reconcile"));
    let api = RuntimeApi::start_named("driftguard-reconcile");
    let states = format!("s3://{BUCKET}/{}", estate::STATE_PREFIX);
    let (endpoint, cfn_endpoint) = (proxy.endpoint(), cfn.endpoint());
    let env: Vec<(&str, &str)> = vec![
        ("AWS_ENDPOINT_URL", &endpoint),
        ("AWS_ENDPOINT_URL_CLOUDFORMATION", &cfn_endpoint),
        ("DRIFTGUARD_TABLE", TABLE),
        ("DRIFTGUARD_EVENT_BUS", BUS),
        ("DRIFTGUARD_STATE_LOCATIONS", &states),
        ("DRIFTGUARD_S3_PATH_STYLE", "true"),
        ("DRIFTGUARD_SWEEP_LOOKUPS", "0"),
        ("DRIFTGUARD_BACKFILL_HOURS", "0"),
        ("RUST_LOG", "info"),
    ];
    let mut lambda = LambdaProcess::spawn(&binary, &api, &env);
    let mut answer: Value = Value::Null;
    for action in std::iter::once("start").chain(std::iter::repeat_n("continue", 6)) {
        answer = match lambda.invoke(
            json!({ "action": action }).to_string().as_bytes(),
            Duration::from_secs(60),
        ) {
            Invocation::Response(v) => v,
            other => panic!("expected a response, got {other:?}\nlogs:\n{}", lambda.logs()),
        };
        if answer["scopes"][0]["report"]["complete"] == json!(true) {
            break;
        }
    }
    let report = &answer["scopes"][0]["report"];
    assert_eq!(report["complete"], json!(true), "{answer:#}");
    let coverage = &report["coverage"]["123456789012/AWS::S3::Bucket"];
    assert_eq!(
        (coverage["unmanaged"].clone(), coverage["cloudformation"].clone()),
        (json!(0), json!(1)),
        "{report:#}"
    );
    assert!(
        cfn.asked()
            .contains(&("DescribeStackResources".to_owned(), estate::HAND_MADE.to_owned())),
        "{:?}",
        cfn.asked()
    );
    assert_eq!(cfn.count("DetectStackResourceDrift"), 0, "ownership only");
    assert!(
        report["calls"]["cloudformation:DescribeStackResources"].as_u64() >= Some(1),
        "{report:#}"
    );
    let findings = rt
        .block_on(stack.store().list(&Query::default()))
        .expect("list findings");
    assert!(
        !findings
            .iter()
            .any(|f| f.resource.id == estate::HAND_MADE && f.kind == FindingKind::Unmanaged),
        "{findings:#?}"
    );
}
