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

// ---- set-valued attributes: what a call added or took away, whatever the attribute ----------

const SNAPSHOT: &str = "snap-0a1b2c3d4e5f60718";
const SHARE: &str = "arn:aws:ram:eu-west-1:123456789012:resource-share/7ab63972-b505-4ff3-8bd6-3a1b2c4d5e6f";

/// The sharing, network and identity states together.
fn sets_pipeline() -> Pipeline {
    pipeline_over(&[
        "shared/core/tests/data/sharing/backups.tfstate",
        "shared/core/tests/data/sharing/ram.tfstate",
        "shared/core/tests/data/network/vpc.tfstate",
        "shared/core/tests/data/credentials/identity.tfstate",
    ])
}

/// A manual CLI call of `source` / `name` by `user` at `time`.
fn manual(user: &str, id: &str, time: &str, (source, name): (&str, &str), request: Value, response: Value) -> Vec<u8> {
    cli_call_by(
        user,
        source,
        name,
        request,
        response,
        json!({"eventID": id, "eventTime": time, "awsRegion": "eu-west-1"}),
    )
}

/// Who resolved a stored finding, or why not.
fn resolved_by(store: &MemoryStore, id: &str) -> String {
    let f = stored(store, id);
    assert_eq!(f.status, Status::Resolved, "still open: {:?}", f.changes);
    f.resolution.map(|r| r.by).unwrap_or_default()
}

fn snapshot_permission(change: &str, accounts: &[&str]) -> Value {
    let items: Vec<Value> = accounts.iter().map(|a| json!({"userId": a})).collect();
    json!({
        "snapshotId": SNAPSHOT,
        "attributeType": "CREATE_VOLUME_PERMISSION",
        "createVolumePermission": {change: {"items": items}}
    })
}

const MODIFY_SNAPSHOT: (&str, &str) = ("ec2.amazonaws.com", "ModifySnapshotAttribute");

#[test]
fn a_hand_made_share_then_a_hand_made_unshare_resolves_the_finding_in_either_order() {
    let p = sets_pipeline();
    let shared = changes(
        &p,
        &manual(
            "bob",
            "b0b00000-0000-4000-8000-00000000a001",
            "2026-11-20T09:00:00Z",
            MODIFY_SNAPSHOT,
            snapshot_permission("add", &["111122223333"]),
            json!({"_return": true}),
        ),
    );
    let id = finding_id(&shared);
    let unshared = changes(
        &p,
        &manual(
            "carol",
            "ca401000-0000-4000-8000-00000000a002",
            "2026-11-20T09:20:00Z",
            MODIFY_SNAPSHOT,
            snapshot_permission("remove", &["111122223333"]),
            json!({"_return": true}),
        ),
    );
    assert!(
        matches!(unshared.as_slice(), [Change::Iac(i)] if i.restores[0].removed == ["111122223333"]),
        "taking the hand-made share away is manual activity naming what it removed: {unshared:?}"
    );
    for batches in [[shared.clone(), unshared.clone()], [unshared.clone(), shared.clone()]] {
        let store = MemoryStore::default();
        for batch in batches {
            apply(&store, batch);
        }
        let by = resolved_by(&store, &id);
        assert!(by.starts_with("carol"), "resolved by {by}");
    }
}

#[test]
fn a_partial_unshare_resolves_nothing() {
    let p = sets_pipeline();
    let store = MemoryStore::default();
    let shared = changes(
        &p,
        &manual(
            "bob",
            "b0b00000-0000-4000-8000-00000000a011",
            "2026-11-20T09:00:00Z",
            MODIFY_SNAPSHOT,
            snapshot_permission("add", &["111122223333", "444455556666"]),
            json!({"_return": true}),
        ),
    );
    let id = finding_id(&shared);
    apply(&store, shared);
    let partly = changes(
        &p,
        &manual(
            "carol",
            "ca401000-0000-4000-8000-00000000a012",
            "2026-11-20T09:20:00Z",
            MODIFY_SNAPSHOT,
            snapshot_permission("remove", &["111122223333"]),
            json!({"_return": true}),
        ),
    );
    assert!(matches!(partly.as_slice(), [Change::Iac(_)]), "{partly:?}");
    apply(&store, partly);
    assert_eq!(
        stored(&store, &id).status,
        Status::Open,
        "444455556666 still has the snapshot"
    );
}

#[test]
fn disassociating_a_hand_made_ram_principal_resolves_that_finding() {
    let p = sets_pipeline();
    let store = MemoryStore::default();
    let associate = ("ram.amazonaws.com", "AssociateResourceShare");
    let disassociate = ("ram.amazonaws.com", "DisassociateResourceShare");
    let shared = changes(
        &p,
        &manual(
            "bob",
            "b0b00000-0000-4000-8000-00000000a021",
            "2026-11-20T09:00:00Z",
            associate,
            json!({"resourceShareArn": SHARE, "principals": ["111122223333"]}),
            json!({"resourceShareAssociations": [{"resourceShareArn": SHARE, "associatedEntity": "111122223333", "associationType": "PRINCIPAL", "status": "ASSOCIATING", "external": true}]}),
        ),
    );
    let id = finding_id(&shared);
    apply(&store, shared);
    let undone = changes(
        &p,
        &manual(
            "carol",
            "ca401000-0000-4000-8000-00000000a022",
            "2026-11-20T09:20:00Z",
            disassociate,
            json!({"resourceShareArn": SHARE, "principals": ["111122223333"]}),
            json!({"resourceShareAssociations": [{"resourceShareArn": SHARE, "associatedEntity": "111122223333", "associationType": "PRINCIPAL", "status": "DISASSOCIATING", "external": true}]}),
        ),
    );
    apply(&store, undone);
    assert!(resolved_by(&store, &id).starts_with("carol"));
}

#[test]
fn deleting_a_hand_made_route_resolves_it_by_destination() {
    let p = sets_pipeline();
    let store = MemoryStore::default();
    let table = "rtb-0c1d2e3f4a5b6c7d8";
    let created = changes(
        &p,
        &manual(
            "bob",
            "b0b00000-0000-4000-8000-00000000a031",
            "2026-11-20T09:00:00Z",
            ("ec2.amazonaws.com", "CreateRoute"),
            json!({"routeTableId": table, "destinationCidrBlock": "192.168.0.0/16", "gatewayId": "vgw-0a9b8c7d6e5f40312"}),
            json!({"_return": true}),
        ),
    );
    let id = finding_id(&created);
    apply(&store, created);
    // DeleteRoute names only the destination: the route goes whatever its target was.
    let deleted = changes(
        &p,
        &manual(
            "carol",
            "ca401000-0000-4000-8000-00000000a032",
            "2026-11-20T09:20:00Z",
            ("ec2.amazonaws.com", "DeleteRoute"),
            json!({"routeTableId": table, "destinationCidrBlock": "192.168.0.0/16"}),
            json!({"_return": true}),
        ),
    );
    apply(&store, deleted);
    assert!(resolved_by(&store, &id).starts_with("carol"));
}

#[test]
fn deleting_a_hand_made_access_key_resolves_the_critical_finding_and_only_it() {
    let p = sets_pipeline();
    let store = MemoryStore::default();
    let key = |id: &str| json!({"accessKey": {"accessKeyId": id, "status": "Active", "userName": "ci-deploy", "createDate": "Nov 20, 2026 9:58:02 AM"}});
    let first = changes(
        &p,
        &manual(
            "bob",
            "b0b00000-0000-4000-8000-00000000a041",
            "2026-11-20T09:00:00Z",
            ("iam.amazonaws.com", "CreateAccessKey"),
            json!({"userName": "ci-deploy"}),
            key("AKIAI44QH8DHBEXAMPLE"),
        ),
    );
    let first_id = finding_id(&first);
    apply(&store, first);
    let second = changes(
        &p,
        &manual(
            "bob",
            "b0b00000-0000-4000-8000-00000000a042",
            "2026-11-20T09:05:00Z",
            ("iam.amazonaws.com", "CreateAccessKey"),
            json!({"userName": "ci-deploy"}),
            key("AKIAJ55RI9EICEXAMPLE"),
        ),
    );
    let second_id = finding_id(&second);
    apply(&store, second);
    let deleted = changes(
        &p,
        &manual(
            "carol",
            "ca401000-0000-4000-8000-00000000a043",
            "2026-11-20T09:20:00Z",
            ("iam.amazonaws.com", "DeleteAccessKey"),
            json!({"userName": "ci-deploy", "accessKeyId": "AKIAI44QH8DHBEXAMPLE"}),
            Value::Null,
        ),
    );
    apply(&store, deleted);
    assert!(resolved_by(&store, &first_id).starts_with("carol"));
    assert_eq!(
        stored(&store, &second_id).status,
        Status::Open,
        "the other hand-made key is still there"
    );
}
