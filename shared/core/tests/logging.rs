//! Logging and detection turned down by hand on IaC-managed resources: a trail stopped, narrowed
//! to one region or to read-only events, GuardDuty disabled, the AWS Config recorder stopped, a
//! flow log deleted. Each is attribute-level drift (or a missing resource) and critical, even on a
//! resource tagged `dev`. Requests follow the shapes CloudTrail records for these calls (as in
//! Panther's and StreamAlert's rule tests in ../shared/data).

mod common;

use common::evaluate::{self, cli_call, pipeline_over};
use driftguard_core::finding::{Finding, IacChange};
use driftguard_core::pipeline::Outcome;
use driftguard_core::score::Severity;
use serde_json::{json, Value};

const TRAIL_ARN: &str = "arn:aws:cloudtrail:eu-west-1:123456789012:trail/acme-org-trail";

/// The finding drifts `attribute` from `expected` to `found`, and is critical for reduced logging.
fn check(f: &Finding, attribute: &str, expected: Value, found: Value) {
    let c = f
        .changes
        .iter()
        .find(|c| c.attribute == attribute)
        .unwrap_or_else(|| panic!("no {attribute} in {:?}", f.changes));
    assert_eq!((&c.expected, &c.found), (&expected, &found));
    assert!(c.drifted);
    assert_eq!(f.severity, Severity::Critical, "{:?}", f.severity_reasons);
    assert!(
        f.severity_reasons.iter().any(|r| r.starts_with("logging reduced")),
        "{:?}",
        f.severity_reasons
    );
}

const STATE: &str = "shared/core/tests/data/logging/audit.tfstate";

fn outcome(source: &str, name: &str, request: Value) -> Outcome {
    evaluate::outcome(&pipeline_over(&[STATE]), &cli_call(source, name, request, Value::Null))
}

fn finding(source: &str, name: &str, request: Value) -> Finding {
    evaluate::finding(outcome(source, name, request))
}

fn restored(source: &str, name: &str, request: Value) -> IacChange {
    evaluate::restored(outcome(source, name, request))
}

#[test]
fn a_stopped_trail_is_critical() {
    let f = finding("cloudtrail.amazonaws.com", "StopLogging", json!({"name": TRAIL_ARN}));
    assert_eq!(f.owner.as_ref().map(|o| o.address.as_str()), Some("aws_cloudtrail.org"));
    check(&f, "enable_logging", json!(true), json!(false));
}

#[test]
fn a_trail_narrowed_to_one_region_is_critical() {
    let f = finding(
        "cloudtrail.amazonaws.com",
        "UpdateTrail",
        json!({"name": "acme-org-trail", "isMultiRegionTrail": false}),
    );
    check(&f, "is_multi_region_trail", json!(true), json!(false));
}

#[test]
fn a_trail_that_stops_recording_management_writes_is_critical() {
    let f = finding(
        "cloudtrail.amazonaws.com",
        "PutEventSelectors",
        json!({
            "trailName": "acme-org-trail",
            "eventSelectors": [{
                "dataResources": [{"type": "AWS::S3::Object", "values": []}],
                "excludeManagementEventSources": [],
                "includeManagementEvents": false,
                "readWriteType": "ReadOnly"
            }]
        }),
    );
    check(
        &f,
        "event_selector.0.include_management_events",
        json!(true),
        json!(false),
    );
    let rw = f
        .changes
        .iter()
        .find(|c| c.attribute == "event_selector.0.read_write_type")
        .expect("read/write type compared");
    assert_eq!((&rw.expected, &rw.found), (&json!("All"), &json!("ReadOnly")));
}

#[test]
fn guardduty_disabled_is_critical() {
    let f = finding(
        "guardduty.amazonaws.com",
        "UpdateDetector",
        json!({"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "enable": false}),
    );
    check(&f, "enable", json!(true), json!(false));
}

#[test]
fn a_stopped_config_recorder_is_critical() {
    let f = finding(
        "config.amazonaws.com",
        "StopConfigurationRecorder",
        json!({"configurationRecorderName": "default"}),
    );
    assert_eq!(f.resource.resource_type, "AWS::Config::ConfigurationRecorder");
    check(&f, "is_enabled", json!(true), json!(false));
}

#[test]
fn a_deleted_flow_log_is_critical_in_a_dev_account_too() {
    let f = finding(
        "ec2.amazonaws.com",
        "DeleteFlowLogs",
        json!({"DeleteFlowLogsRequest": {"FlowLogId": {"content": "fl-0ef673ef70c4f07cc", "tag": 1}}}),
    );
    assert_eq!(f.severity, Severity::Critical, "{:?}", f.severity_reasons);
    assert!(
        f.severity_reasons
            .iter()
            .any(|r| r == "a managed resource deleted by hand"),
        "{:?}",
        f.severity_reasons
    );
}

#[test]
fn starting_a_trail_that_should_log_is_no_drift() {
    let iac = restored(
        "cloudtrail.amazonaws.com",
        "StartLogging",
        json!({"name": "acme-org-trail"}),
    );
    assert_eq!(iac.restores.len(), 1);
    assert_eq!(
        (iac.restores[0].attribute.as_str(), &iac.restores[0].value),
        ("enable_logging", &Some(json!(true)))
    );
    assert!(iac.by.starts_with("bob"), "{}", iac.by);
}
