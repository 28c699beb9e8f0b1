//! Evaluating real-shaped CloudTrail calls against a Terraform state, for the tests that check
//! what a change becomes: the pipeline over some state files, a successful mutating call by an
//! IAM user through the AWS CLI, and the outcome, finding or manual activity it gives.

use driftguard_core::attribution::AttributionConfig;
use driftguard_core::decode::{decode, Item, Position};
use driftguard_core::diff::AttributeChange;
use driftguard_core::finding::{Finding, IacChange};
use driftguard_core::inventory::Inventory;
use driftguard_core::pipeline::{Outcome, Pipeline};
use serde_json::{json, Value};

/// The pipeline over these state files (paths from the workspace root).
pub fn pipeline_over(states: &[&str]) -> Pipeline {
    let mut inventory = Inventory::new();
    for path in states {
        let bytes = super::read(&super::workspace().join(path));
        inventory
            .add_state(path, &bytes)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
    }
    Pipeline::new(&AttributionConfig::default(), inventory)
}

/// A successful, mutating call of `source` / `name` by `user` (an IAM user) through the AWS CLI,
/// as a document; `extra` adds or overrides record fields.
pub fn cli_call_by(user: &str, source: &str, name: &str, request: Value, response: Value, extra: Value) -> Vec<u8> {
    let mut fields = json!({
        "userIdentity": {
            "type": "IAMUser",
            "arn": format!("arn:aws:iam::123456789012:user/{user}"),
            "accountId": "123456789012",
            "userName": user
        },
        "sourceIPAddress": "198.51.100.23",
        "userAgent": "aws-cli/2.22.12 md/awscrt#0.23.4 ua/2.1 os/linux#6.8.0 md/arch#x86_64 lang/python#3.12.6",
        "requestParameters": request,
        "responseElements": response,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
    });
    if let (Some(f), Value::Object(more)) = (fields.as_object_mut(), extra) {
        f.extend(more);
    }
    serde_json::to_vec(&super::record(source, name, fields)).expect("JSON")
}

/// [`cli_call_by`] by bob, with no other fields.
pub fn cli_call(source: &str, name: &str, request: Value, response: Value) -> Vec<u8> {
    cli_call_by("bob", source, name, request, response, json!({}))
}

/// Every outcome a document gives (one per resource a call names).
pub fn outcomes(pipeline: &Pipeline, document: &[u8]) -> Vec<Outcome> {
    let mut out = Vec::new();
    decode(document, "test", &mut |_: &Position, item: Result<Item<'_>, _>| {
        pipeline.evaluate_each(&item.expect("decodes"), &mut |e| out.push(e.outcome));
    });
    out
}

/// The one outcome a document gives.
pub fn outcome(pipeline: &Pipeline, document: &[u8]) -> Outcome {
    let mut all = outcomes(pipeline, document);
    assert_eq!(all.len(), 1, "expected one outcome: {all:?}");
    all.remove(0)
}

/// The finding an outcome is.
pub fn finding(outcome: Outcome) -> Finding {
    match outcome {
        Outcome::Finding(f) => *f,
        other => panic!("expected a finding, got {other:?}"),
    }
}

/// The manual activity an outcome is (a call that put declared values back).
pub fn restored(outcome: Outcome) -> IacChange {
    match outcome {
        Outcome::Iac(iac) => iac,
        other => panic!("expected manual activity restoring declared values, got {other:?}"),
    }
}

/// The finding's change of `attribute`.
pub fn change<'f>(f: &'f Finding, attribute: &str) -> &'f AttributeChange {
    f.changes
        .iter()
        .find(|c| c.attribute == attribute)
        .unwrap_or_else(|| panic!("no {attribute} in {:?}", f.changes))
}

/// Whether a severity reason contains `text`.
pub fn has_reason(f: &Finding, text: &str) -> bool {
    f.severity_reasons.iter().any(|r| r.contains(text))
}

/// The finding is critical, for a reason containing `text`.
pub fn critical_because(f: &Finding, text: &str) {
    assert_eq!(
        f.severity,
        driftguard_core::score::Severity::Critical,
        "{:?}",
        f.severity_reasons
    );
    assert!(
        has_reason(f, text),
        "no reason containing {text:?} in {:?}",
        f.severity_reasons
    );
}
