//! The AWS adapters through the real `aws-sdk-*` clients against moto's server on loopback:
//! the DynamoDB store passes the same conformance suite as the embedded store, and the
//! EventBridge publisher's events arrive on the queue valid against their JSON Schemas.

use driftguard_core::conformance::{check_recovery, check_store, sample_finding};
use driftguard_core::diff::AttributeChange;
use driftguard_core::finding::Transition;
use driftguard_core::ports::{Change, DriftEvent, EventPublisher, FindingStore};
use driftguard_core::score::Severity;
use driftguard_tests::fault::FaultProxy;
use driftguard_tests::stack::{sdk_config_without_retries, workspace, Stack, TABLE};
use serde_json::{json, Value};

fn schema(name: &str) -> jsonschema::Validator {
    let path = workspace().join("events/schema").join(name);
    let schema: Value = serde_json::from_slice(&std::fs::read(&path).expect("schema file")).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what} does not match its schema: {errors:?}");
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    driftguard_no_moto,
    ignore = "needs moto_server (pip install \"moto[server]\"), which is not installed"
)]
async fn dynamo_store_conforms_to_the_store_contract() {
    let Some(stack) = Stack::start("dynamo_store_conforms_to_the_store_contract").await else {
        return;
    };
    assert_eq!(check_store(&stack.store()).await, Ok(()));
}

/// Every request of handling an event fails in turn (before reaching DynamoDB, and after it with
/// the answer lost); the retry publishes each transition exactly once.
#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    driftguard_no_moto,
    ignore = "needs moto_server (pip install \"moto[server]\"), which is not installed"
)]
async fn dynamo_store_recovers_from_each_failed_step() {
    let Some(stack) = Stack::start("dynamo_store_recovers_from_each_failed_step").await else {
        return;
    };
    for lose_answers in [false, true] {
        let mut proxy = FaultProxy::start(&stack.moto.endpoint(), Vec::new());
        if lose_answers {
            proxy = proxy.lose_answers();
        }
        // A table per run: the cases reuse their ids.
        let table = format!("{TABLE}-{lose_answers}");
        driftguard_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&stack.sdk), &table)
            .create_table()
            .await
            .expect("create table");
        let sdk = sdk_config_without_retries(&proxy.endpoint()).await;
        let store = driftguard_aws::DynamoStore::new(aws_sdk_dynamodb::Client::new(&sdk), &table);
        assert_eq!(
            check_recovery(&store, &proxy).await,
            Ok(()),
            "answers lost: {lose_answers}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    driftguard_no_moto,
    ignore = "needs moto_server (pip install \"moto[server]\"), which is not installed"
)]
async fn oversized_findings_are_truncated_not_refused() {
    let Some(stack) = Stack::start("oversized_findings_are_truncated_not_refused").await else {
        return;
    };
    let store = stack.store();
    let mut f = sample_finding("ev-big", "sg-big", 10, Severity::Major);
    let rules: Vec<String> = (0..40_000)
        .map(|i| format!("tcp {i} 10.{}.{}.0/24", i / 256, i % 256))
        .collect();
    f.changes.push(AttributeChange {
        attribute: "ingress".into(),
        declared_in: None,
        expected: json!([]),
        found: json!(rules),
        drifted: true,
    });
    assert!(
        f.json_len() > 400 * 1024,
        "the finding is larger than a DynamoDB item may be"
    );
    let transitions = store
        .apply(&[Change::Finding(Box::new(f.clone()))])
        .await
        .expect("stored despite its size");
    assert_eq!(transitions.len(), 1);
    let stored = store.get(&f.id).await.expect("get").expect("stored");
    assert_eq!(stored.changes[0].found["truncated"], json!(true));
    assert_eq!(stored.id, f.id);
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    driftguard_no_moto,
    ignore = "needs moto_server (pip install \"moto[server]\"), which is not installed"
)]
async fn published_events_arrive_on_the_bus_and_match_their_schemas() {
    let Some(stack) = Stack::start("published_events_arrive_on_the_bus_and_match_their_schemas").await else {
        return;
    };
    let store = stack.store();
    // 23 findings (three PutEvents calls of at most 10), then an IaC change resolving one.
    let mut changes: Vec<Change> = (0..23)
        .map(|i| {
            Change::Finding(Box::new(sample_finding(
                &format!("ev-{i}"),
                &format!("sg-{i}"),
                100 + i,
                Severity::Critical,
            )))
        })
        .collect();
    changes.push(Change::Iac(driftguard_core::conformance::sample_iac(
        "ev-iac", "sg-3", 500,
    )));
    // A Config-only finding (missing actor, Config evidence), then its call joining it (revision 2).
    changes.push(Change::Config(Box::new(
        driftguard_core::conformance::sample_observation("sg-cfg", 1060, true),
    )));
    changes.push(Change::Finding(Box::new(sample_finding(
        "ev-cfg",
        "sg-cfg",
        1000,
        Severity::Major,
    ))));
    let transitions = store.apply(&changes).await.expect("apply");
    let resolved = transitions
        .iter()
        .filter(|t| matches!(t, Transition::Resolved(_)))
        .count();
    assert_eq!((transitions.len(), resolved), (26, 1));
    let events: Vec<DriftEvent> = transitions.into_iter().map(DriftEvent::from).collect();
    assert_eq!(stack.publisher().publish(&events).await.expect("publish"), 26);

    let received = stack.drain_events().await;
    assert_eq!(received.len(), 26);
    let detected = schema("drift-detected.v1.json");
    let resolved_schema = schema("drift-resolved.v1.json");
    for e in &received {
        assert_eq!(e["source"], "driftguard");
        match e["detail-type"].as_str() {
            Some("Drift Detected") => assert_valid(&detected, &e["detail"], "Drift Detected"),
            Some("Drift Resolved") => assert_valid(&resolved_schema, &e["detail"], "Drift Resolved"),
            other => panic!("unexpected detail-type {other:?}"),
        }
    }
    let keys: std::collections::BTreeSet<&str> = received.iter().filter_map(|e| e["detail"]["key"].as_str()).collect();
    assert_eq!(keys.len(), 26, "every transition once");
    assert!(keys.iter().any(|k| k.ends_with(":detected:r2")), "{keys:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn schemas_reject_what_they_should() {
    let detected = schema("drift-detected.v1.json");
    let sample: Value = serde_json::from_slice(
        &std::fs::read(workspace().join("events/driftguard/drift-detected.console-sg.json")).expect("sample"),
    )
    .expect("JSON");
    assert_valid(&detected, &sample["detail"], "the sample Drift Detected event");
    let mut bad = sample["detail"].clone();
    bad["finding"]["severity"] = json!("catastrophic");
    assert!(!detected.is_valid(&bad), "an unknown severity is rejected");
    let mut extra = sample["detail"].clone();
    extra["finding"]["surprise"] = json!(1);
    assert!(!detected.is_valid(&extra), "an unknown property is rejected");
}

#[tokio::test(flavor = "multi_thread")]
#[cfg_attr(
    driftguard_no_moto,
    ignore = "needs moto_server (pip install \"moto[server]\"), which is not installed"
)]
async fn the_declared_state_is_recorded_by_revision_and_an_older_serial_is_refused() {
    use driftguard_aws::DynamoInventory;
    use driftguard_core::inventory::Inventory;
    use driftguard_core::sync::{delta, judge, Revision, Verdict};

    let Some(stack) = Stack::start("the_declared_state_is_recorded_by_revision_and_an_older_serial_is_refused").await
    else {
        return;
    };
    let inventory = DynamoInventory::new(aws_sdk_dynamodb::Client::new(&stack.sdk), TABLE);
    let origin = "s3://acme-tfstate/network.tfstate";
    let original = std::fs::read(workspace().join("events/terraform/network.tfstate")).expect("state");
    let revision = |serial: u64, drop_one: bool, etag: &str| {
        let mut state: Value = serde_json::from_slice(&original).expect("state is JSON");
        state["serial"] = json!(serial);
        if drop_one {
            state["resources"].as_array_mut().expect("resources").pop();
        }
        let mut inv = Inventory::new();
        inv.add_state(origin, state.to_string().as_bytes()).expect("loads");
        Revision::of(&inv, origin, etag, None).expect("the state is there")
    };

    assert_eq!(
        inventory.version().await.expect("version"),
        None,
        "nothing recorded yet"
    );
    let first = revision(10, false, "e10");
    assert_eq!(judge(None, &first), Verdict::First);
    assert!(inventory.record(&first, None).await.expect("record"));
    let added = delta(&inventory.digests(origin).await.expect("digests"), &first);
    assert_eq!(added.added.len(), first.resources.len());
    inventory.apply_delta(&first, &added).await.expect("resources written");
    assert_eq!(inventory.version().await.expect("version"), Some(1));
    assert_eq!(
        inventory.digests(origin).await.expect("digests").len(),
        first.resources.len(),
        "one item per declared instance"
    );

    // A newer serial that drops a resource: recorded, and the resource item goes.
    let on_record = inventory.recorded(origin).await.expect("read").expect("recorded");
    let newer = revision(11, true, "e11");
    assert_eq!(judge(Some(&on_record), &newer), Verdict::Newer { was: 10 });
    assert!(inventory.record(&newer, Some(&on_record)).await.expect("record"));
    let d = delta(&inventory.digests(origin).await.expect("digests"), &newer);
    assert_eq!((d.added.len(), d.changed.len(), d.removed.len()), (0, 0, 1), "{d:?}");
    inventory.apply_delta(&newer, &d).await.expect("resources written");
    assert_eq!(
        inventory.digests(origin).await.expect("digests").len(),
        newer.resources.len()
    );
    assert_eq!(inventory.version().await.expect("version"), Some(2));

    // A writer that judged against the old record loses the race and must judge again.
    assert!(!inventory
        .record(&revision(12, false, "e12"), Some(&on_record))
        .await
        .expect("conditional"));
    // An older serial arriving late is refused by the rule, before any write.
    let now = inventory.recorded(origin).await.expect("read").expect("recorded");
    assert_eq!(
        judge(Some(&now), &revision(9, false, "e9")),
        Verdict::Older {
            recorded: 11,
            written: 9
        }
    );
    let states = inventory.states().await.expect("states");
    assert_eq!(states.len(), 1);
    assert_eq!((states[0].0.as_str(), states[0].1.serial), (origin, Some(11)));

    // A deleted state file takes its resources with it.
    assert!(inventory.forget(origin, &now).await.expect("forget"));
    assert!(inventory.states().await.expect("states").is_empty());
    assert!(inventory.digests(origin).await.expect("digests").is_empty());
    assert_eq!(inventory.version().await.expect("version"), Some(3));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stack_owned_finding_fits_the_schemas() {
    let detected = schema("drift-detected.v1.json");
    let resolved = schema("drift-resolved.v1.json");
    let sample: Value = serde_json::from_slice(
        &std::fs::read(workspace().join("events/driftguard/drift-detected.console-sg.json")).expect("sample"),
    )
    .expect("JSON");
    // The owner a CloudFormation stack's resource gets (core::stack::owner_of), as published.
    let stack = driftguard_core::stack::StackResource {
        stack_name: "web".into(),
        stack_id: "arn:aws:cloudformation:eu-west-1:123456789012:stack/web/1".into(),
        logical_id: "WebSecurityGroup".into(),
        physical_id: "sg-0feedc0ffee000001".into(),
        resource_type: "AWS::EC2::SecurityGroup".into(),
    };
    let resolved_sample: Value = serde_json::from_slice(
        &std::fs::read(workspace().join("events/driftguard/drift-resolved.terraform-apply.json")).expect("sample"),
    )
    .expect("JSON");
    let mut detail = sample["detail"].clone();
    let mut resolved_detail = resolved_sample["detail"].clone();
    for not_checked in [None, Some("CloudFormation does not check drift".to_owned())] {
        let owner = driftguard_core::stack::owner_of(&stack, "NOT_CHECKED", not_checked);
        detail["finding"]["owner"] = serde_json::to_value(&owner).expect("owner");
        resolved_detail["finding"]["owner"] = serde_json::to_value(&owner).expect("owner");
        assert_valid(&detected, &detail, "a stack-owned Drift Detected");
        assert_valid(&resolved, &resolved_detail, "a stack-owned Drift Resolved");
    }
    detail["finding"]["owner"]["stack"]["surprise"] = json!(1);
    assert!(!detected.is_valid(&detail), "an unknown stack property is rejected");
}
