//! The CLI against the deployed stack's resources on moto, through the real SDK:
//! `findings list|show --store dynamodb://TABLE` reads the table (the same filters, views and
//! remediation trail as on the embedded store), and `--state s3://bucket/prefix` reads the
//! Terraform states from their bucket.

use driftguard_aws::DynamoRemediations;
use driftguard_core::conformance::sample_finding;
use driftguard_core::finding::Finding;
use driftguard_core::ports::{Change, FindingStore};
use driftguard_core::remediation::audit::{AuditEntry, Step};
use driftguard_core::remediation::{RemediationAction, RemediationRequest, Requester};
use driftguard_core::score::Severity;
use driftguard_core::time::Timestamp;
use driftguard_tests::stack::{Stack, TABLE};
mod common;

use common::{driftguard, jsonl, root, text};
use serde_json::Value;

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

#[test]
fn states_are_read_from_their_bucket() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(moto) = driftguard_tests::moto::MotoServer::start_or_skip("states_are_read_from_their_bucket") else {
        return;
    };
    let endpoint = moto.endpoint();
    let sdk = rt.block_on(driftguard_tests::stack::sdk_config(&endpoint));
    let s3 = aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(&sdk).force_path_style(true).build());
    let root = root();
    rt.block_on(async {
        s3.create_bucket()
            .bucket("tf-states")
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::EuWest1)
                    .build(),
            )
            .send()
            .await
            .expect("bucket");
        for (key, file) in [
            ("prod/network/terraform.tfstate", "events/terraform/network.tfstate"),
            ("prod/data/terraform.tfstate", "events/terraform/data.tfstate"),
            ("prod/README.md", "README.md"),
        ] {
            let body = std::fs::read(root.join(file)).expect("read");
            s3.put_object()
                .bucket("tf-states")
                .key(key)
                .body(body.into())
                .send()
                .await
                .expect("put");
        }
    });
    let run = |state: &str, store: &std::path::Path| {
        common::command(&["replay", "events/", "--format", "jsonl", "--state", state, "--store"])
            .arg(store)
            .env("AWS_REGION", "eu-west-1")
            .env("AWS_ENDPOINT_URL", &endpoint)
            .env("DRIFTGUARD_S3_PATH_STYLE", "true")
            .output()
            .expect("run driftguard")
    };
    let dir = tempfile::tempdir().expect("temp dir");
    let out = run("s3://tf-states/prod/", &dir.path().join("s3.redb"));
    let stderr = text(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        stderr.contains("states: 2 .tfstate objects under s3://tf-states/prod/"),
        "only the .tfstate objects: {stderr}"
    );
    assert!(
        stderr.contains("inventory: 15 managed resources from 2 state files"),
        "{stderr}"
    );
    assert!(
        stderr.contains("12 new findings"),
        "the same findings as from local files: {stderr}"
    );
    let owners: Vec<String> = jsonl(&out)
        .iter()
        .filter_map(|f| f["owner"]["state"].as_str().map(str::to_owned))
        .collect();
    assert!(
        owners
            .iter()
            .any(|s| s == "s3://tf-states/prod/network/terraform.tfstate"),
        "findings name the state object: {owners:?}"
    );
    let missing = run("s3://no-such-bucket/prod/", &dir.path().join("x.redb"));
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).contains("listing s3://no-such-bucket/prod/"),
        "{}",
        text(&missing.stderr)
    );
}

#[test]
fn explain_judges_with_the_deployed_configuration_file() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(stack) = rt.block_on(Stack::start("explain_judges_with_the_deployed_configuration_file")) else {
        return;
    };
    // The deployment declares alice's SSO role as its break-glass pipeline.
    rt.block_on(stack.put_parameter(
        "/driftguard/config",
        "[[principals]]\nid = \"break-glass-pipeline\"\n\
         role_arn = \"arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_AdministratorAccess_*\"\n\
         tool = \"Terraform\"\n",
    ));
    let endpoint = stack.moto.endpoint();
    // `explain` of alice's console change against moto, with `extra` arguments and environment.
    let explain = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "explain",
            "events/cloudtrail/ec2-authorize-security-group-ingress.console-sso.json",
            "--format",
            "jsonl",
            "--endpoint-url",
            endpoint.as_str(),
            "--region",
            "eu-west-1",
        ];
        args.extend_from_slice(extra);
        let mut command = common::command(&args);
        command.envs(env.iter().copied());
        command.output().expect("run")
    };
    let first = |out: std::process::Output| {
        assert!(out.status.success(), "{}", text(&out.stderr));
        jsonl(&out).remove(0)
    };
    let local = first(explain(&[], &[]));
    assert_eq!(local["actor"]["rule"], "session.console-credential", "{local:#}");
    let deployed = first(explain(&["--config", "ssm:/driftguard/config"], &[]));
    assert_eq!(
        (deployed["actor"]["kind"].as_str(), deployed["actor"]["rule"].as_str()),
        (Some("iac"), Some("break-glass-pipeline")),
        "{deployed:#}"
    );
    // The same through the environment variable the functions read.
    let by_env = first(explain(&[], &[("DRIFTGUARD_CONFIG", "ssm:/driftguard/config")]));
    assert_eq!(by_env["actor"]["rule"], "break-glass-pipeline", "{by_env:#}");
    // A parameter that is not there: the command says which.
    let out = explain(&["--config", "ssm:/driftguard/missing"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("reading ssm:/driftguard/missing"),
        "{}",
        text(&out.stderr)
    );
}
