//! The compiled `driftguard` command on the sample events: what a user types, what they see.

mod common;

use common::{driftguard, jsonl, text, STATES};
use serde_json::Value;
use std::path::Path;
use std::process::Output;

fn replay(store: &Path, extra: &[&str]) -> Output {
    let store = store.to_str().expect("utf-8 path");
    let mut args = vec!["replay", "events/", "--store", store];
    args.extend(STATES);
    args.extend(extra);
    driftguard(&args)
}

#[test]
fn replay_prints_findings_as_jsonl_and_a_summary_on_stderr() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = replay(&dir.path().join("s.redb"), &["--format", "jsonl"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = jsonl(&out);
    assert_eq!(lines.len(), 12);
    for f in &lines {
        for path in [
            "/kind",
            "/resource/type",
            "/resource/id",
            "/actor/kind",
            "/actor/rule",
            "/likelihood",
            "/severity",
        ] {
            assert!(f.pointer(path).is_some_and(|v| !v.is_null()), "{path} missing in {f}");
        }
    }
    let sg = lines
        .iter()
        .find(|f| f["resource"]["id"] == "sg-0123456789abcdef0" && f["actor"]["kind"] == "human")
        .expect("sg finding");
    assert_eq!(sg["severity"], "critical");
    assert_eq!(sg["status"], "resolved");
    let stderr = text(&out.stderr);
    assert!(stderr.contains("read 34 events from 28 files"), "{stderr}");
    assert!(
        stderr.contains(
            "skipped 14: aws_service 1, failed_call 1, not_in_catalog 1, own_event 7, read_only 3, state_object 1"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("12 new findings"), "{stderr}");
    // The summary counts every kind it printed, as printed.
    let mut printed = std::collections::BTreeMap::<String, usize>::new();
    for f in &lines {
        *printed
            .entry(format!(
                "{}/{}",
                f["kind"].as_str().unwrap_or("?"),
                f["severity"].as_str().unwrap_or("?")
            ))
            .or_default() += 1;
    }
    let expected: Vec<String> = printed.iter().map(|(k, n)| format!("{k} {n}")).collect();
    assert!(
        stderr.contains(&format!("findings 12: {}", expected.join(", "))),
        "{expected:?}\n{stderr}"
    );
    assert!(
        printed.keys().any(|k| k.starts_with("missing/")),
        "the deleted database: {printed:?}"
    );
}

#[test]
fn replaying_twice_stores_nothing_new() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("s.redb");
    let first = replay(&store, &["--format", "jsonl"]);
    let second = replay(&store, &["--format", "jsonl"]);
    assert!(second.status.success());
    assert_eq!(jsonl(&first), jsonl(&second));
    assert!(
        text(&second.stderr).contains(
            "0 new findings, 12 already stored, 0 updated by joined evidence, 0 resolved; 0 events to the outbox"
        ),
        "{}",
        text(&second.stderr)
    );
    let list = driftguard(&[
        "findings",
        "list",
        "--store",
        store.to_str().expect("utf-8"),
        "--format",
        "jsonl",
    ]);
    assert_eq!(jsonl(&list).len(), 12);
}

#[test]
fn findings_list_filters_and_show_explains_one() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("s.redb");
    let store_arg = store.to_str().expect("utf-8");
    assert!(replay(&store, &[]).status.success());
    let open = jsonl(&driftguard(&[
        "findings", "list", "--store", store_arg, "--status", "open", "--format", "jsonl",
    ]));
    assert!(!open.is_empty() && open.iter().all(|f| f["status"] == "open"));
    let critical = jsonl(&driftguard(&[
        "findings",
        "list",
        "--store",
        store_arg,
        "--min-severity",
        "critical",
        "--format",
        "jsonl",
    ]));
    assert!(!critical.is_empty() && critical.iter().all(|f| f["severity"] == "critical"));
    let id = critical[0]["id"].as_str().expect("id");
    let show = driftguard(&["findings", "show", id, "--store", store_arg]);
    assert!(show.status.success());
    let shown = text(&show.stdout);
    assert!(
        shown.starts_with(id) && shown.contains("fix: ") && shown.contains("score "),
        "{shown}"
    );
    let slack = driftguard(&["findings", "show", id, "--store", store_arg, "--slack"]);
    let message: Value = serde_json::from_slice(&slack.stdout).expect("the Slack message is JSON");
    assert_eq!(message["blocks"][0]["type"], "header");
    assert_eq!(driftguard_core::slack::check_limits(&message), Vec::<String>::new());
    let missing = driftguard(&["findings", "show", "dg-0000000000000000", "--store", store_arg]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(text(&missing.stderr).contains("no finding dg-0000000000000000"));
}

#[test]
fn table_output_has_a_header_and_one_row_per_finding() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = replay(&dir.path().join("s.redb"), &[]);
    let stdout = text(&out.stdout);
    let rows: Vec<&str> = stdout.lines().collect();
    assert!(rows[0].starts_with("ID") && rows[0].contains("SEVERITY"), "{stdout}");
    assert_eq!(rows.len(), 13);
}

#[test]
fn explain_traces_every_event_with_its_rule() {
    let mut args = vec!["explain", "events/", "--format", "jsonl"];
    args.extend(STATES);
    let out = driftguard(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = jsonl(&out);
    assert_eq!(lines.len(), 34);
    let console = lines
        .iter()
        .find(|l| l["call"] == "ec2.amazonaws.com:AuthorizeSecurityGroupIngress" && l["actor"]["channel"] == "console")
        .expect("console trace");
    assert_eq!(console["actor"]["kind"], "human");
    assert_eq!(console["actor"]["rule"], "session.console-credential");
    assert_eq!(console["resource"]["type"], "AWS::EC2::SecurityGroup");
    assert_eq!(console["resource"]["id"], "sg-0123456789abcdef0");
    assert!(lines.iter().all(|l| l["event_id"].is_string()));
    // Every CloudTrail call is attributed, the skipped ones too: only Config items and
    // DriftGuard's own events have no actor.
    let calls: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["detail_type"] != "Config Configuration Item Change"
                && !["own_event", "state_object"].contains(&l["decision"]["detail"]["reason"].as_str().unwrap_or(""))
        })
        .collect();
    assert_eq!(calls.len(), 22, "CloudTrail calls among the sample events");
    let unattributed: Vec<&Value> = calls
        .iter()
        .copied()
        .filter(|l| !l["actor"]["rule"].is_string())
        .collect();
    assert!(unattributed.is_empty(), "calls without an actor: {unattributed:#?}");
    let read_only = lines
        .iter()
        .find(|l| l["call"] == "ec2.amazonaws.com:DescribeInstances")
        .expect("read-only trace");
    assert_eq!(read_only["decision"]["detail"]["reason"], "read_only");
    assert_eq!(read_only["actor"]["kind"], "human");
    assert_eq!(read_only["actor"]["channel"], "cli");
    let denied = lines
        .iter()
        .find(|l| l["decision"]["detail"]["reason"] == "failed_call")
        .expect("failed call trace");
    assert!(denied["actor"]["rule"].is_string(), "{denied}");
    let text_out = driftguard(&[
        "explain",
        "events/cloudtrail/ec2-revoke-security-group-ingress.terraform.json",
    ]);
    let t = text(&text_out.stdout);
    assert!(
        t.contains("actor     iac via iac: Terraform (rule agent.terraform)"),
        "{t}"
    );
}

#[test]
fn bad_inputs_are_reported_and_good_records_still_processed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("s.redb");
    let out = driftguard(&[
        "replay",
        "tests/data/bad/",
        "events/cloudtrail/s3-create-bucket.cli-user.json",
        "--state",
        "events/terraform/data.tfstate",
        "--store",
        store.to_str().expect("utf-8"),
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.status.code(), Some(2), "decode errors give exit status 2");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("tests/data/bad/malformed.json: malformed JSON"),
        "{stderr}"
    );
    assert!(
        stderr.contains(
            "tests/data/bad/records-one-bad.json record 1: invalid CloudTrail record: record has no eventSource"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("unsupported EventBridge detail-type \"EC2 Instance State-change Notification\""),
        "{stderr}"
    );
    assert_eq!(jsonl(&out).len(), 1, "the good event still gives its finding");
}

#[test]
fn bad_state_files_fail_with_the_file_named() {
    for (file, message) in [
        ("truncated.tfstate", "malformed Terraform state"),
        ("version3.tfstate", "unsupported Terraform state format version 3"),
    ] {
        let path = format!("tests/data/bad/{file}");
        let out = driftguard(&["explain", "events/cloudtrail/", "--state", &path]);
        assert_eq!(out.status.code(), Some(1));
        let stderr = text(&out.stderr);
        assert!(stderr.contains(&path) && stderr.contains(message), "{stderr}");
    }
}

#[test]
fn sensitive_values_never_reach_any_output() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = dir.path().join("s.redb");
    let mut outputs = vec![replay(&store, &["--format", "json"])];
    let mut args = vec!["explain", "events/", "--format", "jsonl"];
    args.extend(STATES);
    outputs.push(driftguard(&args));
    for out in outputs {
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(!all.contains("pG7#vQ2!mZ9xR4tL8wK3"));
    }
}

#[test]
fn bench_prints_its_figures_on_the_last_line() {
    let mut args = vec!["bench", "events/", "--seconds", "0.2"];
    args.extend(STATES);
    let out = driftguard(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let last = stdout.lines().last().expect("a line");
    let numbers: Vec<f64> = last
        .split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|s| s.parse().ok())
        .collect();
    assert!(last.starts_with("path ") && last.contains("floor/path"), "{last}");
    assert_eq!(numbers.len(), 3, "{last}");
    assert!(numbers.iter().all(|n| *n > 0.0), "{last}");
}

/// Replays `files` one command at a time into `store`; returns the stored findings as JSON.
fn replay_each(store: &Path, files: &[&str], extra: &[&str]) -> Vec<Value> {
    let store_arg = store.to_str().expect("utf-8 path");
    for file in files {
        let mut args = vec!["replay", file, "--store", store_arg, "--format", "jsonl"];
        args.extend(STATES);
        args.extend(extra);
        let out = driftguard(&args);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    jsonl(&driftguard(&[
        "findings", "list", "--store", store_arg, "--format", "jsonl",
    ]))
}

#[test]
fn a_config_item_joins_its_call_in_either_order_on_the_embedded_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let call = "events/cloudtrail/s3-put-bucket-versioning.cli-user.json";
    let item = "events/config/s3-bucket.versioning-suspended.json";
    let a = replay_each(&dir.path().join("a.redb"), &[call, item], &[]);
    let b = replay_each(&dir.path().join("b.redb"), &[item, call], &[]);
    for (order, all) in [("call first", &a), ("config first", &b)] {
        assert_eq!(all.len(), 1, "{order}: {all:#?}");
        let f = &all[0];
        assert_eq!(f["actor"]["human"], "bob", "{order}");
        assert_eq!(f["revision"], 2, "{order}");
        assert_eq!(f["config"]["capture_time"], "2026-11-20T09:21:38.604Z", "{order}");
        assert_eq!(
            f["changes"],
            serde_json::json!([{
                "attribute": "versioning",
                "declared_in": "aws_s3_bucket_versioning.artifacts",
                "expected": "Enabled",
                "found": "Disabled",
                "drifted": true
            }]),
            "{order}"
        );
        assert!(
            f["summary"]
                .as_str()
                .is_some_and(|s| s.contains("AWS Config confirmed the live values")),
            "{order}: {}",
            f["summary"]
        );
    }
    let strip = |v: &Value| {
        let mut v = v.clone();
        v["id"] = Value::Null;
        v
    };
    assert_eq!(strip(&a[0]), strip(&b[0]));
}

#[test]
fn config_alone_reports_missing_and_unmanaged_resources() {
    let dir = tempfile::tempdir().expect("temp dir");
    let all = replay_each(
        &dir.path().join("s.redb"),
        &[
            "events/config/rds-db-instance.deleted.json",
            "events/config/s3-bucket.created-unmanaged.json",
        ],
        &[],
    );
    let kinds: Vec<(&str, &str, &str)> = all
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or_default(),
                f["resource"]["id"].as_str().unwrap_or_default(),
                f["actor"]["kind"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("missing", "db-LDPSSFVREBYALAL85U90ZBG2UK", "unknown"),
            ("unmanaged", "acme-tmp-export", "unknown")
        ],
        "newest first"
    );
    let missing = &all[0];
    assert!(
        missing["fix"]
            .as_str()
            .is_some_and(|s| s.contains("terraform apply -target='aws_db_instance.main'")),
        "{}",
        missing["fix"]
    );
    // The CLI call that created the bucket fills in who, on the same finding.
    let all = replay_each(
        &dir.path().join("s.redb"),
        &["events/cloudtrail/s3-create-bucket.cli-user.json"],
        &[],
    );
    assert_eq!(all.len(), 2);
    let bucket = all
        .iter()
        .find(|f| f["resource"]["id"] == "acme-tmp-export")
        .expect("bucket");
    assert_eq!(
        (bucket["actor"]["human"].as_str(), bucket["revision"].as_u64()),
        (Some("bob"), Some(2))
    );
}

#[test]
fn ignore_rules_drop_changes_and_show_ignored_lists_them() {
    let dir = tempfile::tempdir().expect("temp dir");
    let rules = dir.path().join(".driftignore");
    std::fs::write(
        &rules,
        "# the platform team toggles versioning on this bucket by hand\n\
         aws_s3_bucket acme-prod-artifacts versioning*\n\
         AWS::SQS::Queue *\n",
    )
    .expect("write rules");
    let store = dir.path().join("s.redb");
    let rules_arg = rules.to_str().expect("utf-8");
    let out = replay(
        &store,
        &["--format", "jsonl", "--ignore-file", rules_arg, "--show-ignored"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = jsonl(&out);
    let findings: Vec<&Value> = lines.iter().filter(|l| l.get("ignored").is_none()).collect();
    let ignored: Vec<&Value> = lines.iter().filter(|l| l.get("ignored").is_some()).collect();
    assert!(
        findings
            .iter()
            .all(|f| f["call"]["name"] != "PutBucketVersioning" && f["resource"]["type"] != "AWS::SQS::Queue"),
        "ignored changes make no finding"
    );
    let rules_hit: Vec<(&str, &str)> = ignored
        .iter()
        .map(|l| {
            (
                l["ignored"]["attribute"].as_str().unwrap_or("(resource)"),
                l["ignored"]["rule"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        rules_hit.contains(&(
            "versioning_configuration.0.status",
            "aws_s3_bucket acme-prod-artifacts versioning*"
        )),
        "{rules_hit:?}"
    );
    assert!(
        rules_hit.contains(&("versioning", "aws_s3_bucket acme-prod-artifacts versioning*")),
        "the Config side too: {rules_hit:?}"
    );
    assert!(
        rules_hit.contains(&("(resource)", "AWS::SQS::Queue *")),
        "{rules_hit:?}"
    );
    let stderr = text(&out.stderr);
    assert!(stderr.contains("ignore: 2 rules from"), "{stderr}");
    assert!(
        stderr.contains(&format!("ignored {} (listed with --show-ignored)", ignored.len())),
        "{stderr}"
    );

    let bad = dir.path().join("bad");
    std::fs::write(&bad, "aws_s3_bucket\n").expect("write");
    let out = replay(
        &dir.path().join("t.redb"),
        &["--ignore-file", bad.to_str().expect("utf-8")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(":1: expected `<type> <id> [<attribute>]`"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn coverage_says_what_is_compared_and_what_is_only_tracked() {
    let out = driftguard(&["coverage"]);
    assert!(out.status.success());
    let t = text(&out.stdout);
    assert!(t.contains("AWS::EC2::SecurityGroup"), "{t}");
    assert!(t.contains("live state (AWS Config): ingress, egress"), "{t}");
    assert!(
        t.contains("calls (CloudTrail):      ingress (AuthorizeSecurityGroupIngress)"),
        "{t}"
    );
    assert!(t.contains("Tracked as \"changed out of band\" only"), "{t}");
    let json: Value = serde_json::from_slice(&driftguard(&["coverage", "--format", "json"]).stdout).expect("json");
    let types = json.as_array().expect("array");
    let bucket = types
        .iter()
        .find(|t| t["resource_type"] == "AWS::S3::Bucket")
        .expect("bucket");
    assert!(bucket["config_attributes"]
        .as_array()
        .is_some_and(|a| a.contains(&Value::from("versioning"))));
    let tracked = types
        .iter()
        .filter(|t| {
            t["config_attributes"].as_array().is_some_and(Vec::is_empty)
                && t["call_attributes"].as_array().is_some_and(Vec::is_empty)
        })
        .count();
    assert!(t.contains(&format!("only ({tracked} types")), "{t}");
}

#[test]
fn config_validate_names_each_problem_on_its_line_and_replay_reads_the_same_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = dir.path().join("driftguard.toml");
    std::fs::write(
        &good,
        "ignore = [\"AWS::SQS::Queue *\"]\n\n[[principals]]\nid = \"gha\"\nrole_arn = \"arn:aws:iam::*:role/github-actions-terraform\"\ntool = \"Terraform\"\n",
    )
    .expect("write");
    let good_arg = good.to_str().expect("utf-8");
    let out = driftguard(&["config", "validate", good_arg]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("valid: 1 principals, 0 remediation roles, 1 ignore rules, 0 Slack routes"),
        "{}",
        text(&out.stdout)
    );

    // Two problems: both reported, each on its line, and the status says so.
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "ignore = [\n  \"aws_s3_bucket\",\n]\n[[principals]]\nid = \"everyone\"\n",
    )
    .expect("write");
    let bad_arg = bad.to_str().expect("utf-8");
    let out = driftguard(&["config", "validate", bad_arg]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains(&format!("{bad_arg}:2:3: ignore rule \"aws_s3_bucket\"")),
        "{stderr}"
    );
    assert!(
        stderr.contains(&format!("{bad_arg}:4:1: principal everyone sets no pattern")),
        "{stderr}"
    );
    let out = driftguard(&["config", "validate", bad_arg, "--format", "json"]);
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(report["valid"], Value::Bool(false));
    assert_eq!(report["problems"].as_array().map(Vec::len), Some(2), "{report:#}");

    // `-` reads stdin.
    let mut child = common::command(&["config", "validate", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    std::io::Write::write_all(&mut child.stdin.take().expect("stdin"), b"role_arn = 1\n").expect("write");
    let out = child.wait_with_output().expect("wait");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("stdin:1:1: unknown field `role_arn`"),
        "{}",
        text(&out.stderr)
    );

    // replay --config takes the file's ignore rules too.
    let out = replay(
        &dir.path().join("s.redb"),
        &["--format", "jsonl", "--config", good_arg, "--show-ignored"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = jsonl(&out);
    assert!(
        lines.iter().any(|l| l["ignored"]["rule"] == "AWS::SQS::Queue *"),
        "the file's rule drops the queue change"
    );
    assert!(
        lines
            .iter()
            .filter(|l| l.get("ignored").is_none())
            .all(|f| f["resource"]["type"] != "AWS::SQS::Queue"),
        "no queue finding"
    );
    // A bad file stops replay before anything is read, naming the line.
    let out = replay(&dir.path().join("t.redb"), &["--config", bad_arg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains(&format!("{bad_arg}:2:3:")),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn explain_bench_and_coverage_speak_table_json_and_jsonl_and_help_gives_the_exit_statuses() {
    let sg = "events/cloudtrail/ec2-authorize-security-group-ingress.console-sso.json";
    let explain = |format: &str| driftguard(&["explain", sg, "events/cloudtrail", "--format", format]);
    let jsonl_out = explain("jsonl");
    let lines = jsonl(&jsonl_out);
    let json_out = explain("json");
    let array: Value = serde_json::from_slice(&json_out.stdout).expect("one JSON array");
    assert_eq!(
        array.as_array().map(Vec::len),
        Some(lines.len()),
        "the same traces either way"
    );
    assert!(lines.len() > 1);
    assert_eq!(array[0], lines[0]);
    let table = text(&explain("table").stdout);
    assert!(table.starts_with("event "), "{table}");
    assert_eq!(text(&explain("text").stdout), table, "`text` is the table's old name");

    let bench = driftguard(&["bench", sg, "--seconds", "0.1", "--format", "json"]);
    assert!(bench.status.success(), "{}", text(&bench.stderr));
    let figures: Value = serde_json::from_slice(&bench.stdout).expect("JSON figures");
    assert!(
        figures["floor_over_path"].as_f64().is_some_and(|r| r > 0.0),
        "{figures:#}"
    );
    assert!(
        figures["path"]["events_per_second"].as_f64().is_some_and(|r| r > 0.0),
        "{figures:#}"
    );
    let bench = driftguard(&["bench", sg, "--seconds", "0.1", "--format", "jsonl"]);
    assert_eq!(jsonl(&bench).len(), 1);

    let coverage = driftguard(&["coverage", "--format", "jsonl", "--all"]);
    let rows = jsonl(&coverage);
    let all: Value =
        serde_json::from_slice(&driftguard(&["coverage", "--format", "json", "--all"]).stdout).expect("JSON");
    assert_eq!(all.as_array().map(Vec::len), Some(rows.len()), "one line per type");

    let help = text(&driftguard(&["--help"]).stdout);
    assert!(help.contains("Exit status: 0 success; 1 fatal error"), "{help}");
    assert!(help.contains("2 some input could not be decoded"), "{help}");
}

#[test]
fn the_functions_environment_variables_are_read_as_the_functions_read_them() {
    let sg = "events/cloudtrail/ec2-authorize-security-group-ingress.console-sso.json";
    let run = |env: &[(&str, &str)]| {
        let mut c = common::command(&["explain", sg, "--format", "jsonl"]);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = c.output().expect("run");
        assert!(out.status.success(), "{}", text(&out.stderr));
        jsonl(&out).remove(0)
    };
    assert_eq!(run(&[])["actor"]["rule"], "session.console-credential");
    let principals = r#"[{"id":"sso-pipeline","role_arn":"arn:aws:iam::*:role/aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_AdministratorAccess_*"}]"#;
    let declared = run(&[("DRIFTGUARD_IAC_PRINCIPALS", principals)]);
    assert_eq!(
        (declared["actor"]["kind"].as_str(), declared["actor"]["rule"].as_str()),
        (Some("iac"), Some("sso-pipeline")),
        "{declared:#}"
    );
    let ignored = run(&[(
        "DRIFTGUARD_IGNORE_RULES",
        "aws_s3_bucket nothing-here; AWS::EC2::SecurityGroup sg-0123456789abcdef0",
    )]);
    assert_eq!(
        (
            ignored["ignored"][0]["rule"].as_str(),
            ignored["ignored"][0]["origin"].as_str()
        ),
        (
            Some("AWS::EC2::SecurityGroup sg-0123456789abcdef0"),
            Some("DRIFTGUARD_IGNORE_RULES:2")
        ),
        "{ignored:#}"
    );
    // A bad value stops the command naming the variable, as it stops a function at start.
    let out = common::command(&["explain", sg])
        .env("DRIFTGUARD_IAC_PRINCIPALS", "[{")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("DRIFTGUARD_IAC_PRINCIPALS"),
        "{}",
        text(&out.stderr)
    );
}
