//! A call naming several resources gives one evaluation, and one finding, per resource:
//! `CreateTags` on an instance and a security group, `TerminateInstances` on a managed and an
//! unmanaged instance. Requests follow the shapes CloudTrail records for EC2 lists
//! (`resourcesSet.items`, `instancesSet.items`), as in the project's sample events.

mod common;

use common::evaluate::{cli_call, pipeline_over};
use driftguard_core::decode::{decode, Item, Position};
use driftguard_core::finding::FindingKind;
use driftguard_core::pipeline::{Evaluation, Outcome, Skip};
use serde_json::{json, Value};

fn evaluations(name: &str, request: Value) -> Vec<Evaluation> {
    let pipeline = pipeline_over(&["events/terraform/network.tfstate"]);
    let response = json!({"requestId": "5c8a2b1e-0d3f-4a6b-9c7e-1f2a3b4c5d6e", "_return": true});
    let mut out = Vec::new();
    decode(
        &cli_call("ec2.amazonaws.com", name, request, response),
        name,
        &mut |_: &Position, item: Result<Item<'_>, _>| {
            pipeline.evaluate_each(&item.expect("decodes"), &mut |e| out.push(e))
        },
    );
    out
}

#[test]
fn tags_on_two_managed_resources_give_two_findings() {
    let out = evaluations(
        "CreateTags",
        json!({
            "resourcesSet": {"items": [{"resourceId": "i-0abc1234def567890"}, {"resourceId": "sg-0123456789abcdef0"}]},
            "tagSet": {"items": [{"key": "Owner", "value": "bob"}]}
        }),
    );
    let findings: Vec<_> = out
        .iter()
        .map(|e| match &e.outcome {
            Outcome::Finding(f) => (f.resource.resource_type.as_str(), f.resource.id.as_str(), f.id.clone()),
            other => panic!("expected a finding, got {other:?}"),
        })
        .collect();
    assert_eq!(findings.len(), 2, "{findings:?}");
    assert_eq!(
        (findings[0].0, findings[0].1),
        ("AWS::EC2::Instance", "i-0abc1234def567890")
    );
    assert_eq!(
        (findings[1].0, findings[1].1),
        ("AWS::EC2::SecurityGroup", "sg-0123456789abcdef0")
    );
    assert_ne!(findings[0].2, findings[1].2, "one finding id per resource");
}

#[test]
fn terminating_a_managed_and_an_unmanaged_instance_gives_one_finding_and_one_skip() {
    let out = evaluations(
        "TerminateInstances",
        json!({"instancesSet": {"items": [{"instanceId": "i-0abc1234def567890"}, {"instanceId": "i-0fffffffffffffff0"}]}}),
    );
    assert_eq!(out.len(), 2);
    match &out[0].outcome {
        Outcome::Finding(f) => assert_eq!(
            (f.kind, f.resource.id.as_str()),
            (FindingKind::Missing, "i-0abc1234def567890")
        ),
        other => panic!("expected the missing instance, got {other:?}"),
    }
    assert!(
        matches!(
            out[1].outcome,
            Outcome::Skipped {
                reason: Skip::OutsideIac
            }
        ),
        "{:?}",
        out[1].outcome
    );
}

#[test]
fn a_repeated_id_counts_once_and_a_single_resource_call_gives_one() {
    let out = evaluations(
        "CreateTags",
        json!({
            "resourcesSet": {"items": [{"resourceId": "i-0abc1234def567890"}, {"resourceId": "i-0abc1234def567890"}]},
            "tagSet": {"items": [{"key": "Owner", "value": "bob"}]}
        }),
    );
    assert_eq!(out.len(), 1);
    let out = evaluations(
        "ModifyInstanceAttribute",
        json!({"instanceId": "i-0abc1234def567890", "instanceType": {"value": "t3.large"}}),
    );
    assert_eq!(out.len(), 1);
}

#[test]
fn the_service_stores_every_resource_of_one_event_before_marking_it_processed() {
    use driftguard_core::ports::{FindingStore, MemoryStore};
    let out = evaluations(
        "CreateTags",
        json!({
            "resourcesSet": {"items": [{"resourceId": "i-0abc1234def567890"}, {"resourceId": "sg-0123456789abcdef0"}]},
            "tagSet": {"items": [{"key": "Owner", "value": "bob"}]}
        }),
    );
    let ids: Vec<String> = out
        .iter()
        .filter_map(|e| match &e.outcome {
            Outcome::Finding(f) => Some(f.id.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(ids.len(), 2);
    let store = MemoryStore::default();
    let handled =
        pollster::block_on(driftguard_core::service::handle_all(&store, &store, out.clone())).expect("handled");
    assert_eq!(
        handled.iter().map(|h| h.published).sum::<usize>(),
        2,
        "one Drift Detected per resource"
    );
    for id in &ids {
        assert!(
            pollster::block_on(store.get(id)).expect("store").is_some(),
            "{id} stored"
        );
    }
    assert_eq!(store.published().len(), 2);
    // A redelivery of the same event changes nothing.
    let again = pollster::block_on(driftguard_core::service::handle_all(&store, &store, out)).expect("handled");
    assert!(again.iter().all(|h| h.duplicate && h.published == 0));
    assert_eq!(store.published().len(), 2);
}
