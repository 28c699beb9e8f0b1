//! `driftguard findings list|show --store dynamodb://TABLE`: the CLI reads the deployed stack's
//! table (moto's DynamoDB, through the real SDK), with the same filters, views and remediation
//! trail as on the embedded store.

use driftguard_aws::DynamoRemediations;
use driftguard_core::conformance::sample_finding;
use driftguard_core::finding::Finding;
use driftguard_core::ports::{Change, FindingStore};
use driftguard_core::remediation::audit::{AuditEntry, Step};
use driftguard_core::remediation::{RemediationAction, RemediationRequest, Requester};
use driftguard_core::score::Severity;
use driftguard_core::time::Timestamp;
use driftguard_tests::stack::{Stack, TABLE};
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output};

fn driftguard(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_driftguard"))
        .args(args)
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("DRIFTGUARD_STORE")
        .output()
        .expect("run driftguard")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn jsonl(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[test]
fn findings_are_listed_and_shown_from_the_deployed_table() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(stack) = rt.block_on(Stack::start("findings_are_listed_and_shown_from_the_deployed_table")) else {
        return;
    };
    let critical = sample_finding("ev-table-1", "sg-0123456789abcdef0", 1_795_165_337, Severity::Critical);
    let minor: Finding = sample_finding("ev-table-2", "sg-0fedcba9876543210", 1_795_165_400, Severity::Minor);
    rt.block_on(stack.store().apply(&[
        Change::Finding(Box::new(critical.clone())),
        Change::Finding(Box::new(minor.clone())),
    ]))
    .expect("seed findings");
    let request = RemediationRequest {
        schema_version: 1,
        finding_id: critical.id.clone(),
        action: RemediationAction::Revert,
        requested_by: Requester {
            source: "slack".into(),
            user: "U0ALICE".into(),
        },
        requested_at: Timestamp(1_795_165_500_000),
        dry_run: false,
        reason: None,
    };
    let trail = DynamoRemediations::new(aws_sdk_dynamodb::Client::new(&stack.sdk), TABLE);
    rt.block_on(trail.append(
        &critical.id,
        &AuditEntry {
            request_id: "rq-00c0ffee00c0ffee".into(),
            at: Timestamp(1_795_165_500_000),
            step: Step::Requested { request },
        },
    ))
    .expect("seed the trail");

    let endpoint = stack.moto.endpoint();
    let store = format!("dynamodb://{TABLE}");
    let on_table = |extra: &[&str]| {
        let mut args: Vec<&str> = extra.to_vec();
        args.extend([
            "--store",
            store.as_str(),
            "--endpoint-url",
            endpoint.as_str(),
            "--region",
            "eu-west-1",
        ]);
        driftguard(&args)
    };

    let all = on_table(&["findings", "list", "--format", "jsonl"]);
    assert!(all.status.success(), "{}", text(&all.stderr));
    let mut ids: Vec<String> = jsonl(&all)
        .iter()
        .map(|f| f["id"].as_str().unwrap_or("").to_owned())
        .collect();
    ids.sort();
    let mut want = vec![critical.id.clone(), minor.id.clone()];
    want.sort();
    assert_eq!(ids, want);

    let serious = on_table(&[
        "findings",
        "list",
        "--status",
        "open",
        "--min-severity",
        "major",
        "--format",
        "jsonl",
    ]);
    assert!(serious.status.success(), "{}", text(&serious.stderr));
    let serious = jsonl(&serious);
    assert_eq!(serious.len(), 1, "{serious:?}");
    assert_eq!(serious[0]["id"], Value::String(critical.id.clone()));

    let shown = on_table(&["findings", "show", &critical.id]);
    assert!(shown.status.success(), "{}", text(&shown.stderr));
    let shown = text(&shown.stdout);
    assert!(shown.contains("sg-0123456789abcdef0"), "{shown}");
    assert!(shown.contains("remediation trail:"), "{shown}");
    assert!(shown.contains("requested revert by slack:U0ALICE"), "{shown}");

    let missing = on_table(&["findings", "show", "dg-0000000000000000"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("no finding dg-0000000000000000 in table driftguard"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn a_bad_table_location_is_a_clear_error() {
    let out = driftguard(&["findings", "list", "--store", "dynamodb://a b"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("is not a DynamoDB table name"),
        "{}",
        text(&out.stderr)
    );
    let out = driftguard(&[
        "findings",
        "list",
        "--store",
        "/nonexistent/x.redb",
        "--region",
        "eu-west-1",
    ]);
    assert!(
        text(&out.stderr).contains("apply to --store dynamodb://TABLE only"),
        "{}",
        text(&out.stderr)
    );
}
