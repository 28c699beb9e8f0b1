//! A proven no-op is not drift: a manual call that leaves (or puts back) every compared attribute
//! at its declared value is recorded as manual activity on the resource, never a finding, and
//! resolves the open findings it undoes, naming who, whichever order the events arrive in.
//! Findings it does not undo stay open. Runs the pipeline into the in-memory store.

mod common;

use common::evaluate::{cli_call_by, outcomes, pipeline_over};
use common::{events_dir, read};
use driftguard_core::finding::{Finding, Status};
use driftguard_core::pipeline::{Outcome, Pipeline};
use driftguard_core::ports::{Change, FindingStore, MemoryStore};
use serde_json::{json, Value};

fn pipeline() -> Pipeline {
    pipeline_over(&["events/terraform/network.tfstate"])
}

/// The store changes one document gives.
fn changes(pipeline: &Pipeline, document: &[u8]) -> Vec<Change> {
    outcomes(pipeline, document)
        .into_iter()
        .map(|outcome| match outcome {
            Outcome::Finding(f) => Change::Finding(f),
            Outcome::Iac(i) => Change::Iac(i),
            Outcome::Config(o) => Change::Config(o),
            Outcome::Skipped { reason } => panic!("skipped: {reason:?}"),
        })
        .collect()
}

/// A manual CLI call by `user` at `time`.
fn call(user: &str, id: &str, time: &str, name: &str, request: Value) -> Vec<u8> {
    let response = json!({"requestId": "5c8a2b1e-0d3f-4a6b-9c7e-1f2a3b4c5d6e", "_return": true});
    cli_call_by(
        user,
        "ec2.amazonaws.com",
        name,
        request,
        response,
        json!({"eventID": id, "eventTime": time}),
    )
}

fn ingress(port: u16, add: bool) -> (&'static str, Value) {
    let name = if add {
        "AuthorizeSecurityGroupIngress"
    } else {
        "RevokeSecurityGroupIngress"
    };
    let request = json!({
        "groupId": "sg-0123456789abcdef0",
        "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": port, "toPort": port, "groups": {}, "ipRanges": {"items": [{"cidrIp": "0.0.0.0/0"}]}, "ipv6Ranges": {}, "prefixListIds": {}}]}
    });
    (name, request)
}

fn stored(store: &MemoryStore, id: &str) -> Finding {
    pollster::block_on(store.get(id)).expect("store").expect("stored")
}

fn apply(store: &MemoryStore, batch: Vec<Change>) {
    pollster::block_on(store.apply(&batch)).expect("applies");
}

fn finding_id(batch: &[Change]) -> String {
    match batch {
        [Change::Finding(f)] => f.id.clone(),
        other => panic!("expected one finding, got {other:?}"),
    }
}

#[test]
fn revoking_the_rule_someone_opened_resolves_that_finding_only() {
    let p = pipeline();
    let store = MemoryStore::default();
    let opened = changes(
        &p,
        &read(&events_dir().join("cloudtrail/ec2-authorize-security-group-ingress.console-sso.json")),
    );
    let port22 = finding_id(&opened);
    apply(&store, opened);
    let (name, request) = ingress(8080, true);
    let other = changes(
        &p,
        &call(
            "bob",
            "b0b00000-0000-4000-8000-000000008080",
            "2026-11-20T09:05:00Z",
            name,
            request,
        ),
    );
    let port8080 = finding_id(&other);
    apply(&store, other);

    let (name, request) = ingress(22, false);
    let restore = changes(
        &p,
        &call(
            "carol",
            "ca401000-0000-4000-8000-000000000022",
            "2026-11-20T09:30:00Z",
            name,
            request,
        ),
    );
    assert!(
        matches!(restore.as_slice(), [Change::Iac(i)] if !i.restores.is_empty()),
        "a revoke back to the declared rules is manual activity, not a finding: {restore:?}"
    );
    apply(&store, restore);

    let f = stored(&store, &port22);
    assert_eq!(f.status, Status::Resolved);
    let by = f.resolution.as_ref().map(|r| r.by.as_str()).unwrap_or("");
    assert!(by.starts_with("carol"), "resolved by {by}");
    assert_eq!(
        stored(&store, &port8080).status,
        Status::Open,
        "port 8080 is still open"
    );
}

#[test]
fn setting_the_declared_instance_type_back_resolves_the_change_in_either_order() {
    let p = pipeline();
    let changed = changes(
        &p,
        &read(&events_dir().join("cloudtrail/ec2-modify-instance-attribute.cli-user.json")),
    );
    let id = finding_id(&changed);
    let back = changes(
        &p,
        &call(
            "dave",
            "da7e0000-0000-4000-8000-00000000000d",
            "2026-11-20T09:50:00Z",
            "ModifyInstanceAttribute",
            json!({"instanceId": "i-0abc1234def567890", "instanceType": {"value": "t3.micro"}}),
        ),
    );
    assert!(matches!(back.as_slice(), [Change::Iac(_)]), "{back:?}");

    for batches in [[changed.clone(), back.clone()], [back.clone(), changed.clone()]] {
        let store = MemoryStore::default();
        for batch in batches {
            apply(&store, batch);
        }
        let f = stored(&store, &id);
        assert_eq!(f.status, Status::Resolved);
        assert!(
            f.resolution.as_ref().is_some_and(|r| r.by.starts_with("dave")),
            "{:?}",
            f.resolution
        );
    }
}

#[test]
fn a_different_value_is_still_drift_and_resolves_nothing() {
    let p = pipeline();
    let store = MemoryStore::default();
    let changed = changes(
        &p,
        &read(&events_dir().join("cloudtrail/ec2-modify-instance-attribute.cli-user.json")),
    );
    let id = finding_id(&changed);
    apply(&store, changed);
    let again = changes(
        &p,
        &call(
            "dave",
            "da7e0000-0000-4000-8000-00000000000e",
            "2026-11-20T09:50:00Z",
            "ModifyInstanceAttribute",
            json!({"instanceId": "i-0abc1234def567890", "instanceType": {"value": "t3.xlarge"}}),
        ),
    );
    finding_id(&again);
    apply(&store, again);
    assert_eq!(stored(&store, &id).status, Status::Open);
}
