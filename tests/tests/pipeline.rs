//! The whole in-memory path on the sample events: decode → attribute → resolve → diff → score
//! → store, on both the in-memory and the embedded store, in order, replayed and shuffled.

use driftguard_core::attribution::{ActorKind, AttributionConfig};
use driftguard_core::decode::{self, Position};
use driftguard_core::finding::{Finding, FindingKind, Status};
use driftguard_core::inventory::Inventory;
use driftguard_core::pipeline::{Outcome, Pipeline};
use driftguard_core::ports::{Change, FindingStore, MemoryStore, Query};
use driftguard_core::score::Severity;
use driftguard_redb::EmbeddedStore;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn pipeline() -> Pipeline {
    let mut inv = Inventory::new();
    for s in ["network.tfstate", "data.tfstate"] {
        let path = root().join("events/terraform").join(s);
        inv.add_state(s, &std::fs::read(&path).expect("state file"))
            .expect("valid state");
    }
    Pipeline::new(&AttributionConfig::default(), inv)
}

fn event_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).expect("events dir") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                if !p.ends_with("schema") {
                    walk(&p, out);
                }
            } else if p.extension().is_some_and(|x| x == "json" || x == "gz") {
                out.push(p);
            }
        }
    }
    let mut out = Vec::new();
    walk(&root().join("events"), &mut out);
    out.sort();
    out
}

/// Every change the sample events produce, in file order.
fn changes(p: &Pipeline) -> Vec<Change> {
    let mut out = Vec::new();
    for f in event_files() {
        let bytes = std::fs::read(&f).expect("read");
        decode::decode(&bytes, &f.display().to_string(), &mut |_: &Position, item| {
            let item = item.expect("sample events decode");
            match p.evaluate(&item).outcome {
                Outcome::Finding(f) => out.push(Change::Finding(f)),
                Outcome::Iac(i) => out.push(Change::Iac(i)),
                Outcome::Config(o) => out.push(Change::Config(o)),
                Outcome::Skipped { .. } => {}
            }
        });
    }
    out
}

fn stored<S: FindingStore>(store: &S) -> Vec<Finding> {
    pollster::block_on(store.list(&Query::default())).expect("list")
}

fn by_resource<'f>(all: &'f [Finding], id: &str, call: &str) -> &'f Finding {
    all.iter()
        .find(|f| f.resource.id == id && f.call.name == call)
        .unwrap_or_else(|| panic!("no finding for {call} on {id}"))
}

#[test]
fn sample_events_give_the_expected_findings() {
    let p = pipeline();
    let store = MemoryStore::default();
    pollster::block_on(store.apply(&changes(&p))).expect("apply");
    let all = stored(&store);
    assert_eq!(
        all.len(),
        12,
        "ids: {:?}",
        all.iter().map(|f| (&f.resource.id, &f.call.name)).collect::<Vec<_>>()
    );

    let sg = by_resource(&all, "sg-0123456789abcdef0", "AuthorizeSecurityGroupIngress");
    assert_eq!((sg.kind, sg.severity), (FindingKind::Drift, Severity::Critical));
    assert_eq!(
        sg.owner.as_ref().map(|o| o.address.as_str()),
        Some("module.network.aws_security_group.web")
    );
    assert_eq!(sg.actor.human.as_deref(), Some("alice@example.com"));
    assert_eq!(
        sg.changes[0].found,
        serde_json::json!(["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"])
    );
    assert_eq!(sg.status, Status::Resolved, "Terraform revoked the rule at 09:40");
    assert_eq!(sg.resolution.as_ref().map(|r| r.by.as_str()), Some("Terraform"));

    let it = by_resource(&all, "i-0abc1234def567890", "ModifyInstanceAttribute");
    assert_eq!(
        (it.changes[0].expected.as_str(), it.changes[0].found.as_str()),
        (Some("t3.micro"), Some("t3.large"))
    );
    assert!(
        it.summary
            .contains("instance_type is now t3.large (IaC declares t3.micro)"),
        "{}",
        it.summary
    );
    assert!(
        it.fix.contains("terraform apply -target='aws_instance.app'"),
        "{}",
        it.fix
    );

    let pab = by_resource(&all, "acme-prod-artifacts", "PutBucketPublicAccessBlock");
    assert_eq!(pab.severity, Severity::Critical);
    assert_eq!(pab.changes.iter().filter(|c| c.drifted).count(), 4);
    assert_eq!(pab.status, Status::Open);

    let role = by_resource(&all, "app-runtime", "PutRolePolicy");
    assert_eq!(role.severity, Severity::Critical, "{:?}", role.severity_reasons);

    let lambda = by_resource(&all, "orders-api", "UpdateFunctionConfiguration20150331v2");
    assert_eq!(
        (lambda.changes[0].expected.clone(), lambda.changes[0].found.clone()),
        (serde_json::json!(256), serde_json::json!(1024))
    );

    let db = by_resource(&all, "db-LDPSSFVREBYALAL85U90ZBG2UK", "ConfigurationItemChange");
    assert_eq!((db.kind, db.actor.kind), (FindingKind::Missing, ActorKind::Unknown));
    assert_eq!(
        db.owner.as_ref().map(|o| o.address.as_str()),
        Some("aws_db_instance.main")
    );

    let tmp = by_resource(&all, "acme-tmp-export", "CreateBucket");
    assert_eq!((tmp.kind, tmp.severity), (FindingKind::Unmanaged, Severity::Minor));
    assert!(tmp.likelihood < sg.likelihood);

    let custodian = by_resource(&all, "sg-0fedcba9876543210", "AuthorizeSecurityGroupIngress");
    assert_eq!(custodian.actor.tool.as_deref(), Some("Cloud Custodian"));
    assert!(custodian.likelihood < sg.likelihood);

    for f in &all {
        assert!((0.0..=1.0).contains(&f.likelihood));
        let sum: f64 = f.factors.iter().map(|x| x.weight).sum();
        let p = 1.0 / (1.0 + (-sum).exp());
        assert!(
            (p - f.likelihood).abs() < 0.001,
            "factors explain the likelihood of {}",
            f.id
        );
    }
}

#[test]
fn replays_and_shuffles_end_in_the_same_state_on_both_stores() {
    let p = pipeline();
    let all = changes(&p);
    let reference = MemoryStore::default();
    pollster::block_on(reference.apply(&all)).expect("apply");
    let expected = stored(&reference);

    // Every change delivered twice, in reverse order, one at a time.
    let dir = tempfile::tempdir().expect("temp dir");
    let embedded = EmbeddedStore::open(&dir.path().join("s.redb")).expect("open");
    let mut twice: Vec<&Change> = all.iter().chain(all.iter()).collect();
    twice.reverse();
    for c in twice {
        pollster::block_on(embedded.apply(std::slice::from_ref(c))).expect("apply");
    }
    let got = stored(&embedded);
    // A Config item joined with its call keeps the id of whichever arrived first; everything
    // else about the finding is the same in any order.
    let normalised = |v: &[Finding]| {
        let mut out: Vec<serde_json::Value> = v
            .iter()
            .map(|f| {
                let mut j = serde_json::to_value(f).expect("serialise");
                j.as_object_mut().map(|m| m.remove("id"));
                j
            })
            .collect();
        out.sort_by_key(|j| (j["resource"]["id"].to_string(), j["call"]["event_id"].to_string()));
        out
    };
    assert_eq!(got.len(), expected.len());
    for (g, e) in normalised(&got).iter().zip(normalised(&expected).iter()) {
        assert_eq!(g, e, "in reverse order and twice, vs in order");
    }
    let joined = got.iter().filter(|f| f.config.is_some() && !f.is_config_only()).count();
    assert_eq!(
        joined, 3,
        "the sample Config items joined their calls (security group, versioning, bucket creation) in any order"
    );
}

#[test]
fn sensitive_state_values_never_reach_findings() {
    let secret = "pG7#vQ2!mZ9xR4tL8wK3";
    let state = std::fs::read_to_string(root().join("events/terraform/data.tfstate")).expect("state");
    assert!(
        state.contains(secret),
        "the fixture holds the secret this test looks for"
    );
    let p = pipeline();
    let text = serde_json::to_string(&changes(&p)).expect("serialise");
    assert!(!text.contains(secret));
    assert!(!format!("{:?}", p.inventory()).contains(secret));
}
