//! Learning from outcomes through the CLI: labels round-trip through the embedded store and the
//! deployed table, `eval` gives the figures worked out by hand for a labelled fixture, weights
//! are fitted, name the findings they score, and reset to the hand-set ones.

mod common;

use common::{driftguard, jsonl, text, STATES};
use driftguard_tests::stack::{Stack, TABLE};
use serde_json::Value;
use std::path::Path;

fn replay(store: &Path, paths: &[&str]) {
    let mut args = vec!["replay", "--format", "jsonl", "--no-progress", "--store"];
    let store = store.to_string_lossy().into_owned();
    args.push(&store);
    args.extend(STATES);
    args.extend(paths);
    let out = driftguard(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

fn on(store: &str, args: &[&str]) -> std::process::Output {
    let mut all = args.to_vec();
    all.extend(["--store", store]);
    driftguard(&all)
}

/// The console security group change of the samples (a drift finding).
const CONSOLE_SG: &str = "dg-1500731b7ee4b0bc";
/// Cloud Custodian's change on the database group.
const CUSTODIAN_SG: &str = "dg-0c5313d09e3765cd";

#[test]
fn labels_round_trip_through_the_embedded_store() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("s.redb");
    let store = path.to_string_lossy().into_owned();
    replay(&path, &["events/cloudtrail"]);
    let out = on(
        &store,
        &[
            "findings",
            "label",
            CUSTODIAN_SG,
            "not-drift",
            "--by",
            "dana",
            "--reason",
            "policy automation",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = on(&store, &["findings", "label", CONSOLE_SG, "drift", "--by", "dana"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // A later verdict from the same person replaces theirs.
    let out = on(&store, &["findings", "label", CONSOLE_SG, "intended", "--by", "dana"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = on(&store, &["findings", "label", "dg-0000000000000000", "drift"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("no finding dg-0000000000000000"),
        "{}",
        text(&out.stderr)
    );

    let out = on(&store, &["labels", "export"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = jsonl(&out);
    let find = |id: &str| {
        lines
            .iter()
            .find(|l| l["finding_id"] == id)
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(lines.len(), 2, "{lines:?}");
    let custodian = find(CUSTODIAN_SG);
    assert_eq!(custodian["verdict"], "not_drift");
    assert_eq!(custodian["by"]["user"], "dana");
    assert_eq!(custodian["reason"], "policy automation");
    assert_eq!(custodian["event_id"], "5c33c4e3-3b7d-4cde-b2d3-cb19ea95b3dd");
    assert_eq!(custodian["finding"]["likelihood"], 0.909);
    assert_eq!(custodian["finding"]["weights_version"], "default");
    assert_eq!(find(CONSOLE_SG)["verdict"], "intended");

    // The export imports into a fresh store of the same events: the same labels.
    let exported = dir.path().join("labels.jsonl");
    std::fs::write(&exported, &out.stdout).expect("write export");
    let other = dir.path().join("other.redb");
    replay(&other, &["events/cloudtrail"]);
    let other = other.to_string_lossy().into_owned();
    let out = on(&other, &["labels", "import", &exported.to_string_lossy()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("2 labels recorded"), "{}", text(&out.stderr));
    let again = jsonl(&on(&other, &["labels", "export"]));
    let verdicts = |lines: &[Value]| {
        let mut v: Vec<(String, String)> = lines
            .iter()
            .map(|l| (l["finding_id"].to_string(), l["verdict"].to_string()))
            .collect();
        v.sort();
        v
    };
    assert_eq!(verdicts(&again), verdicts(&lines));
}

#[test]
fn labels_round_trip_through_the_deployed_table() {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let Some(stack) = rt.block_on(Stack::start("labels_round_trip_through_the_deployed_table")) else {
        return;
    };
    use driftguard_core::ports::{Change, FindingStore};
    let f = driftguard_core::conformance::sample_finding(
        "ev-label-1",
        "sg-0123456789abcdef0",
        1_795_165_337,
        driftguard_core::score::Severity::Major,
    );
    rt.block_on(stack.store().apply(&[Change::Finding(Box::new(f.clone()))]))
        .expect("seed");
    let endpoint = stack.moto.endpoint();
    let table = format!("dynamodb://{TABLE}");
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--store", &table, "--endpoint-url", &endpoint, "--region", "eu-west-1"]);
        driftguard(&all)
    };
    let out = run(&["findings", "label", &f.id, "not-drift", "--by", "erin"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(&["labels", "export"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = jsonl(&out);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0]["finding_id"], Value::String(f.id.clone()));
    assert_eq!(lines[0]["verdict"], "not_drift");
    assert_eq!(lines[0]["by"], serde_json::json!({"source": "cli", "user": "erin"}));
    // Where it lives: with the finding's decisions.
    use driftguard_core::learn::ports::LearningStore;
    let ledger = driftguard_aws::DynamoLedger::new(aws_sdk_dynamodb::Client::new(&stack.sdk), TABLE);
    let stored = rt.block_on(ledger.labels_of(&f.id)).expect("labels");
    assert_eq!(stored.len(), 1);
    // Weights: too few labels to fit is a clear refusal; show says the defaults are in use.
    let out = run(&["weights", "fit"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("needs at least 50 labelled findings; there are 1"),
        "{}",
        text(&out.stderr)
    );
    let out = run(&["weights", "show", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(shown["current"]["version"], "default");
}

/// The fixture's figures, worked out by hand from its eight labels and the likelihoods the
/// samples get (events/cloudtrail with the sample states):
///
/// | label | finding, likelihood | counts as |
/// |---|---|---|
/// | console SSH opened, drift | raised, 0.989 | TP |
/// | instance resized, drift | raised, 0.987 (same instance as the tag) | TP |
/// | Owner tag, intended | raised, 0.964 | TP |
/// | Custodian rule, not drift | raised, 0.909 | FP |
/// | scratch bucket, not drift | raised (unmanaged), 0.731 | FP |
/// | autoscaling termination, drift | skipped | FN |
/// | Terraform's revoke, not drift | skipped | TN |
/// | console sign-in, not drift | skipped | TN |
///
/// Findings: precision 3/5 = 0.6, recall 3/4 = 0.75, F1 = 2·0.6·0.75/1.35 = 2/3. Resources
/// (the instance counted once): TP 2, FP 2, FN 1, TN 2, precision 0.5, recall 2/3, F1 4/7.
/// Brier = (0.011² + 0.013² + 0.036² + 0.909² + 0.731²)/5 = 1.362228/5 = 0.2724456; log loss
/// = −(ln 0.989 + ln 0.987 + ln 0.964 + ln 0.091 + ln 0.269)/5 = 0.754150. Reliability: one
/// finding in [0.7, 0.8) (observed 0), four in [0.9, 1] (mean 0.96225, observed 0.75).
#[test]
fn eval_gives_the_hand_computed_figures_for_a_labelled_fixture() {
    let labels = "tests/data/labels/sample-events.jsonl";
    let mut args = vec!["eval", labels, "events/cloudtrail", "--format", "json"];
    args.extend(STATES);
    let out = driftguard(&args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).expect("json report");
    let close = |v: &Value, want: f64| (v.as_f64().unwrap_or(f64::NAN) - want).abs() < 1e-9;
    let counts = |v: &Value| {
        ["true_positives", "false_positives", "false_negatives", "true_negatives"].map(|k| v[k].as_u64().unwrap_or(99))
    };
    assert_eq!((r["labels"].clone(), r["findings"].clone()), (8.into(), 9.into()));
    assert_eq!(r["unlabelled_findings"], 4);
    assert_eq!(counts(&r["finding_level"]), [3, 2, 1, 2]);
    assert!(close(&r["finding_level"]["precision"], 0.6), "{}", r["finding_level"]);
    assert!(close(&r["finding_level"]["recall"], 0.75));
    assert!(close(&r["finding_level"]["f1"], 2.0 / 3.0));
    assert_eq!(counts(&r["resource_level"]), [2, 2, 1, 2]);
    assert!(close(&r["resource_level"]["precision"], 0.5));
    assert!(close(&r["resource_level"]["recall"], 2.0 / 3.0));
    assert!(close(&r["resource_level"]["f1"], 4.0 / 7.0));
    assert_eq!(r["calibration"]["n"], 5);
    assert!(
        close(&r["calibration"]["brier"], 1.362228 / 5.0),
        "{}",
        r["calibration"]
    );
    let log_loss = -(0.989f64.ln() + 0.987f64.ln() + 0.964f64.ln() + 0.091f64.ln() + 0.269f64.ln()) / 5.0;
    assert!(close(&r["calibration"]["log_loss"], log_loss));
    let bins = r["reliability"].as_array().expect("bins");
    assert_eq!(bins.len(), 10);
    assert_eq!(bins[7]["n"], 1);
    assert!(close(&bins[7]["observed"], 0.0));
    assert_eq!(bins[9]["n"], 4);
    assert!(close(&bins[9]["mean_predicted"], 0.96225));
    assert!(close(&bins[9]["observed"], 0.75));
    assert_eq!(r["by_kind"]["drift"]["labelled"], 4);
    assert_eq!(r["by_kind"]["drift"]["real"], 3);
    assert_eq!(r["by_kind"]["unmanaged"]["not_drift"], 1);
    assert_eq!(r["by_severity"]["critical"]["labelled"], 2);

    // The table view says the same.
    let mut args = vec!["eval", labels, "events/cloudtrail"];
    args.extend(STATES);
    let table = text(&driftguard(&args).stdout);
    assert!(
        table.contains("finding       3    2    1    2      0.600  0.750  0.667"),
        "{table}"
    );
    assert!(table.contains("Brier 0.272, log loss 0.754"), "{table}");
}

#[test]
fn a_bad_label_file_names_its_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let labels = dir.path().join("labels.jsonl");
    std::fs::write(
        &labels,
        "{\"event_id\":\"e1\",\"verdict\":\"drift\"}\n{\"event_id\":\"e2\",\"verdict\":\"maybe\"}\n",
    )
    .expect("write");
    let out = driftguard(&["eval", &labels.to_string_lossy(), "events/cloudtrail"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(err.contains("line 2") && err.contains("maybe"), "{err}");
}

/// Fitted weights are stored as a version, score the next replay (whose findings name it), and
/// a reset goes back to the hand-set weights.
#[test]
fn weights_fit_score_the_next_findings_and_reset_to_the_defaults() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("s.redb");
    let store = path.to_string_lossy().into_owned();
    replay(
        &path,
        &["events/cloudtrail/ec2-authorize-security-group-ingress.cloud-custodian.json"],
    );
    replay(
        &path,
        &["events/cloudtrail/ec2-authorize-security-group-ingress.console-sso.json"],
    );
    replay(&path, &["events/cloudtrail/s3-create-bucket.cli-user.json"]);
    for (id, verdict) in [
        (CUSTODIAN_SG, "not-drift"),
        (CONSOLE_SG, "drift"),
        ("dg-0a3e2cf812e7bbc9", "not-drift"),
    ] {
        let out = on(&store, &["findings", "label", id, verdict]);
        assert!(out.status.success(), "{}", text(&out.stderr));
    }
    let out = on(&store, &["weights", "fit", "--min-labels", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let report = text(&out.stdout);
    assert!(report.contains("fitted on 3 labelled findings (1 real)"), "{report}");
    assert!(text(&out.stderr).contains("weights v1 stored"), "{}", text(&out.stderr));
    let shown: Value =
        serde_json::from_slice(&on(&store, &["weights", "show", "--format", "json"]).stdout).expect("json");
    assert_eq!(shown["current"]["weights"]["version"], "v1");
    let automation = shown["current"]["weights"]["factors"]["actor.automation"]
        .as_f64()
        .expect("weight");
    assert!(
        automation < 0.8,
        "a false alarm by automation lowers its weight: {automation}"
    );
    assert!(automation >= 0.8 - 2.0, "never past the default bound of 2");

    // The next findings are scored with v1 and say so.
    replay(
        &path,
        &["events/cloudtrail/ec2-modify-instance-attribute.cli-user.json"],
    );
    let list = jsonl(&on(&store, &["findings", "list", "--format", "jsonl"]));
    let resized = list
        .iter()
        .find(|f| f["call"]["name"] == "ModifyInstanceAttribute")
        .expect("the new finding");
    assert_eq!(resized["weights_version"], "v1");
    let earlier = list.iter().find(|f| f["id"] == CONSOLE_SG).expect("an earlier finding");
    assert_eq!(
        earlier["weights_version"], "default",
        "stored findings keep the version that scored them"
    );

    let out = on(&store, &["weights", "reset"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let shown = text(&on(&store, &["weights", "show"]).stdout);
    assert!(shown.starts_with("current: default (the hand-set weights)"), "{shown}");
    replay(&path, &["events/cloudtrail/ec2-create-tags.cloudshell.json"]);
    let list = jsonl(&on(&store, &["findings", "list", "--format", "jsonl"]));
    let tagged = list
        .iter()
        .find(|f| f["call"]["name"] == "CreateTags")
        .expect("the tag finding");
    assert_eq!(tagged["weights_version"], "default");
    // The fitted version stays on record, and can be made current again.
    let history = text(&on(&store, &["weights", "show", "--history"]).stdout);
    assert!(history.contains("v1  "), "{history}");
    let out = on(&store, &["weights", "use", "v1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn hotspots_rank_the_resources_changed_most_by_hand() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("s.redb");
    replay(&path, &["events/cloudtrail"]);
    let out = on(&path.to_string_lossy(), &["hotspots", "--format", "json", "--top", "3"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let r: Value = serde_json::from_slice(&out.stdout).expect("json");
    let top = r["resources"].as_array().expect("resources");
    assert_eq!(top.len(), 3);
    // The instance and the bucket were each changed twice by hand; they lead.
    let first_two: Vec<&str> = top[..2].iter().map(|h| h["resource"].as_str().unwrap_or("")).collect();
    assert!(
        first_two.iter().any(|r| r.ends_with("i-0abc1234def567890")),
        "{first_two:?}"
    );
    assert!(
        first_two.iter().any(|r| r.ends_with("acme-prod-artifacts")),
        "{first_two:?}"
    );
    assert_eq!(top[0]["manual_changes"], 2);
    // Measured on a split, the samples are too short to say anything, and the report says so.
    let out = on(&path.to_string_lossy(), &["hotspots", "--split", "0.7"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("too short to say anything"),
        "{}",
        text(&out.stdout)
    );
}
