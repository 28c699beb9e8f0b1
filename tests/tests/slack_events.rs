//! DriftGuard's remediation events: the samples under `events/driftguard/` match their schemas
//! and read as core's types; the `Remediation Requested` a Slack decision publishes matches its
//! schema; findings with IaC tags still match the drift schemas.

use driftguard_core::interaction::{Action, Decision};
use driftguard_core::remediation::{
    RemediationApproval, RemediationPending, RemediationRequest, RemediationResult, Requester,
};
use driftguard_core::time::Timestamp;
use driftguard_tests::stack::workspace;
use serde_json::{json, Value};

fn schema(name: &str) -> jsonschema::Validator {
    let path = workspace().join("events/schema").join(name);
    let schema: Value = serde_json::from_slice(&std::fs::read(&path).expect("schema file")).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn sample(name: &str) -> Value {
    serde_json::from_slice(&std::fs::read(workspace().join("events/driftguard").join(name)).expect("sample"))
        .expect("JSON")
}

fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance).map(|e| e.to_string()).collect()
}

#[test]
fn remediation_results_match_their_schema_and_read_as_core_types() {
    let results = schema("remediation-result.v1.json");
    for (file, detail_type) in [
        ("remediation-completed.revert.json", "Remediation Completed"),
        ("remediation-failed.reapply.json", "Remediation Failed"),
    ] {
        let event = sample(file);
        assert_eq!(event["detail-type"], detail_type);
        assert_eq!(errors(&results, &event["detail"]), Vec::<String>::new(), "{file}");
        let result: RemediationResult = serde_json::from_value(event["detail"].clone()).expect(file);
        assert_eq!(result.outcome.detail_type(), detail_type);
        assert_eq!(
            serde_json::to_value(&result).expect("json"),
            event["detail"],
            "{file} round-trips"
        );
    }
    let mut bad = sample("remediation-failed.reapply.json")["detail"].clone();
    bad["outcome"] = json!("exploded");
    assert!(!results.is_valid(&bad));
    bad["outcome"] = json!("failed");
    bad["surprise"] = json!(true);
    assert!(!results.is_valid(&bad));
}

#[test]
fn the_remediation_request_of_a_slack_decision_matches_its_schema() {
    let requested = schema("remediation-requested.v1.json");
    let sample_request: RemediationRequest =
        serde_json::from_value(sample("remediation-requested.revert.json")["detail"].clone()).expect("sample reads");
    assert_eq!(
        errors(&requested, &serde_json::to_value(&sample_request).expect("json")),
        Vec::<String>::new()
    );
    for action in [Action::Revert, Action::Reapply] {
        let decision = Decision {
            finding_id: "dg-1500731b7ee4b0bc".into(),
            action,
            by: Requester {
                source: "slack".into(),
                user: "U0ALICE".into(),
            },
            user_name: None,
            at: Timestamp(1_795_165_337_512),
            message: None,
        };
        let request = decision
            .remediation_request()
            .expect("revert and re-apply request remediation");
        let detail = serde_json::to_value(&request).expect("json");
        assert_eq!(errors(&requested, &detail), Vec::<String>::new(), "{action:?}");
        assert_eq!(detail["requested_at"], "2026-11-20T09:02:17.512Z");
    }
}

#[test]
fn findings_with_tags_match_the_drift_schemas() {
    let detected = schema("drift-detected.v1.json");
    let mut event = sample("drift-detected.console-sg.json");
    event["detail"]["finding"]["tags"] = json!({ "Environment": "prod", "team": "network" });
    assert_eq!(errors(&detected, &event["detail"]), Vec::<String>::new());
    event["detail"]["finding"]["tags"] = json!({ "Environment": 1 });
    assert!(!detected.is_valid(&event["detail"]), "tag values are strings");
}

#[test]
fn an_approval_matches_its_schema_and_reads_as_the_core_type() {
    let approved = schema("remediation-approved.v1.json");
    let event = sample("remediation-approved.revert.json");
    assert_eq!(event["detail-type"], driftguard_core::remediation::APPROVED);
    assert_eq!(errors(&approved, &event["detail"]), Vec::<String>::new());
    let approval: RemediationApproval = serde_json::from_value(event["detail"].clone()).expect("reads");
    assert_eq!(
        serde_json::to_value(&approval).expect("json"),
        event["detail"],
        "round-trips"
    );
    let mut bad = event["detail"].clone();
    bad["request_id"] = json!("not-a-request");
    assert!(!approved.is_valid(&bad));
}

#[test]
fn a_dry_run_result_carries_its_plan_within_the_schema() {
    let results = schema("remediation-result.v1.json");
    let mut detail = sample("remediation-completed.revert.json")["detail"].clone();
    detail["dry_run"] = json!(true);
    assert_eq!(errors(&results, &detail), Vec::<String>::new());
    let result: RemediationResult = serde_json::from_value(detail.clone()).expect("reads");
    assert!(result.dry_run);
    assert_eq!(result.calls.len(), 1);
    detail["dry_run"] = json!(false);
    assert!(!results.is_valid(&detail), "dry_run is omitted, never false");
}

#[test]
fn a_waiting_request_matches_its_schema_and_reads_as_the_core_type() {
    let awaiting = schema("remediation-awaiting-approval.v1.json");
    let event = sample("remediation-awaiting-approval.revert.json");
    assert_eq!(event["detail-type"], driftguard_core::remediation::AWAITING_APPROVAL);
    assert_eq!(errors(&awaiting, &event["detail"]), Vec::<String>::new());
    let pending: RemediationPending = serde_json::from_value(event["detail"].clone()).expect("reads");
    assert_eq!((pending.required, pending.missing()), (2, 2));
    assert_eq!(
        serde_json::to_value(&pending).expect("json"),
        event["detail"],
        "round-trips"
    );
    // The prompt rendered from it is within Slack's limits and carries the Approve button.
    let prompt = driftguard_core::slack::render_approval(&pending, "AWS::EC2::SecurityGroup sg-0123456789abcdef0");
    assert_eq!(driftguard_core::slack::check_limits(&prompt), Vec::<String>::new());
    assert!(prompt.to_string().contains("driftguard.approve"));
    for (field, value) in [
        ("required", json!(0)),
        ("approved_by", json!(["U0BOB", "U0BOB"])),
        ("action", json!("delete")),
    ] {
        let mut bad = event["detail"].clone();
        bad[field] = value;
        assert!(!awaiting.is_valid(&bad), "{field}");
    }
}
