//! The compiled iac-sync Lambda, run as Lambda runs it (through the Runtime API on loopback),
//! against moto's S3, DynamoDB, EventBridge and SQS. The state bucket sends its notifications to
//! EventBridge (`EventBridgeConfiguration`, as infra/README asks of a state bucket); a rule on
//! the default bus with the template's pattern delivers them to a test queue, and each one is
//! handed to the function as Lambda would hand it the rule's event.
//!
//! Workarounds, by name: `moto-s3-event-time`, moto sends the S3 event's `time` as epoch seconds
//! (a number), rewritten here to RFC 3339 as EventBridge sends it; moto sends no notification for a delete
//! marker in a versioned bucket (S3 sends `Object Deleted` with `deletion-type` "Delete Marker
//! Created"), so the test deletes every version of the state to cause one.

use aws_sdk_s3::types::{
    BucketVersioningStatus, EventBridgeConfiguration, NotificationConfiguration, VersioningConfiguration,
};
use driftguard_core::conformance::sample_finding;
use driftguard_core::diff::AttributeChange;
use driftguard_core::finding::{FindingKind, IacOwner, Status};
use driftguard_core::ports::{Change, FindingStore};
use driftguard_core::score::Severity;
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
use driftguard_tests::stack::{Stack, BUCKET, BUS, TABLE};
use serde_json::{json, Value};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const PREFIX: &str = "env/synced/";
const KEY: &str = "env/synced/web.tfstate";
/// The template's rule pattern (infra/template.yaml, `IacSyncFunction`'s `StateWritten` event),
/// with its parameters filled in.
const PATTERN: &str = r#"{"source":["aws.s3"],"account":["123456789012"],"detail-type":["Object Created","Object Deleted"],
  "detail":{"bucket":{"name":["acme-tfstate"]},"object":{"key":[{"wildcard":"env/synced/*.tfstate"}]}}}"#;

struct Sync {
    stack: Stack,
    lambda: LambdaProcess,
    rt: tokio::runtime::Runtime,
    s3: aws_sdk_s3::Client,
    sqs: aws_sdk_sqs::Client,
    notifications: String,
}

fn state(serial: u64, acl: &str, extra: bool) -> Vec<u8> {
    let mut resources = vec![
        json!({"mode": "managed", "type": "aws_s3_bucket", "name": "logs", "instances": [
        {"schema_version": 0, "attributes": {"id": "acme-web-logs", "bucket": "acme-web-logs",
         "arn": "arn:aws:s3:::acme-web-logs", "acl": acl, "region": "eu-west-1"}}]}),
    ];
    if extra {
        resources.push(
            json!({"mode": "managed", "type": "aws_s3_bucket", "name": "assets", "instances": [
            {"schema_version": 0, "attributes": {"id": "acme-web-assets", "bucket": "acme-web-assets",
             "arn": "arn:aws:s3:::acme-web-assets", "region": "eu-west-1"}}]}),
        );
    }
    json!({"version": 4, "terraform_version": "1.9.8", "serial": serial,
           "lineage": "8f1d4c2a-5b6e-4f70-9a81-b2c3d4e5f607", "outputs": {}, "resources": resources})
    .to_string()
    .into_bytes()
}

impl Sync {
    fn start(test: &str) -> Option<Sync> {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let stack = rt.block_on(Stack::start(test))?;
        let s3 = driftguard_aws::s3_client(&stack.sdk, true);
        let sqs = aws_sdk_sqs::Client::new(&stack.sdk);
        let notifications = rt.block_on(async {
            s3.put_bucket_versioning()
                .bucket(BUCKET)
                .versioning_configuration(
                    VersioningConfiguration::builder()
                        .status(BucketVersioningStatus::Enabled)
                        .build(),
                )
                .send()
                .await
                .expect("versioning");
            s3.put_bucket_notification_configuration()
                .bucket(BUCKET)
                .notification_configuration(
                    NotificationConfiguration::builder()
                        .event_bridge_configuration(EventBridgeConfiguration::builder().build())
                        .build(),
                )
                .send()
                .await
                .expect("EventBridge notifications on the state bucket");
            let url = sqs
                .create_queue()
                .queue_name("iac-sync-deliveries")
                .send()
                .await
                .expect("queue")
                .queue_url
                .unwrap_or_default();
            let arn = sqs
                .get_queue_attributes()
                .queue_url(&url)
                .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
                .send()
                .await
                .expect("queue arn")
                .attributes()
                .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
                .unwrap_or_default();
            let events = aws_sdk_eventbridge::Client::new(&stack.sdk);
            events
                .put_rule()
                .name("state-written")
                .event_pattern(PATTERN)
                .send()
                .await
                .expect("rule on the default bus");
            events
                .put_targets()
                .rule("state-written")
                .targets(
                    aws_sdk_eventbridge::types::Target::builder()
                        .id("iac-sync")
                        .arn(arn)
                        .build()
                        .expect("target"),
                )
                .send()
                .await
                .expect("target");
            url
        });
        let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-iac-sync"));
        let api = RuntimeApi::start_named("driftguard-iac-sync");
        let locations = format!("s3://{BUCKET}/{PREFIX}");
        let endpoint = stack.moto.endpoint();
        let env: Vec<(&str, &str)> = vec![
            ("AWS_ENDPOINT_URL", &endpoint),
            ("DRIFTGUARD_TABLE", TABLE),
            ("DRIFTGUARD_EVENT_BUS", BUS),
            ("DRIFTGUARD_STATE_LOCATIONS", &locations),
            ("DRIFTGUARD_S3_PATH_STYLE", "true"),
            ("RUST_LOG", "info"),
        ];
        let lambda = LambdaProcess::spawn(&binary, &api, &env);
        Some(Sync {
            stack,
            lambda,
            rt,
            s3,
            sqs,
            notifications,
        })
    }

    fn put(&self, key: &str, bytes: Vec<u8>) {
        self.rt
            .block_on(self.s3.put_object().bucket(BUCKET).key(key).body(bytes.into()).send())
            .expect("put the state");
    }

    /// The S3 notifications the rule delivered since the last call.
    fn delivered(&self) -> Vec<Value> {
        self.rt.block_on(async {
            let mut out = Vec::new();
            loop {
                let got = self
                    .sqs
                    .receive_message()
                    .queue_url(&self.notifications)
                    .max_number_of_messages(10)
                    .send()
                    .await
                    .expect("receive");
                if got.messages().is_empty() {
                    return out;
                }
                for m in got.messages() {
                    let mut event: Value = serde_json::from_str(m.body().unwrap_or("null")).expect("the event is JSON");
                    as_eventbridge_sends_it(&mut event);
                    out.push(event);
                    self.sqs
                        .delete_message()
                        .queue_url(&self.notifications)
                        .receipt_handle(m.receipt_handle().unwrap_or_default())
                        .send()
                        .await
                        .expect("delete");
                }
            }
        })
    }

    /// Writes a state, takes the one notification it caused, and hands it to the function.
    fn write_and_sync(&mut self, bytes: Vec<u8>) -> Invocation {
        self.put(KEY, bytes);
        let events = self.delivered();
        assert_eq!(events.len(), 1, "one notification per write: {events:#?}");
        assert_eq!(events[0]["detail-type"], json!("Object Created"), "{:#}", events[0]);
        self.lambda.invoke(events[0].to_string().as_bytes(), TIMEOUT)
    }

    fn answer(&self, invocation: Invocation) -> Value {
        match invocation {
            Invocation::Response(v) => v["states"][0].clone(),
            other => panic!("expected a response, got {other:?}\nlogs:\n{}", self.lambda.logs()),
        }
    }

    /// Deletes every version of `key`; the last deletion is the one moto notifies.
    fn delete_every_version(&self, key: &str) {
        self.rt.block_on(async {
            let versions = self
                .s3
                .list_object_versions()
                .bucket(BUCKET)
                .prefix(key)
                .send()
                .await
                .expect("versions");
            for v in versions.versions() {
                self.s3
                    .delete_object()
                    .bucket(BUCKET)
                    .key(key)
                    .set_version_id(v.version_id().map(str::to_owned))
                    .send()
                    .await
                    .expect("delete a version");
            }
        });
    }

    fn version(&self) -> Option<u64> {
        let inventory = driftguard_aws::DynamoInventory::new(aws_sdk_dynamodb::Client::new(&self.stack.sdk), TABLE);
        self.rt.block_on(inventory.version()).expect("version")
    }
}

/// Workaround `moto-s3-event-time`: moto's server puts the S3 event's `time` as epoch seconds (a
/// number); EventBridge sends RFC 3339 text, which is what the function reads.
fn as_eventbridge_sends_it(event: &mut Value) {
    if let Some(secs) = event["time"].as_f64() {
        event["time"] = json!(driftguard_core::time::Timestamp((secs * 1000.0) as i64).to_string());
    }
    assert!(event["time"].is_string(), "an event time: {event:#}");
}

#[test]
fn a_state_rewrite_reaches_iac_sync_updates_the_inventory_resolves_codified_drift_and_refuses_an_older_serial() {
    let Some(mut t) = Sync::start(
        "a_state_rewrite_reaches_iac_sync_updates_the_inventory_resolves_codified_drift_and_refuses_an_older_serial",
    ) else {
        return;
    };
    let origin = format!("s3://{BUCKET}/{KEY}");

    // The first revision: everything added.
    let first = t.write_and_sync(state(4, "private", false));
    let first = t.answer(first);
    assert_eq!(first["verdict"], json!("first"), "{first:#}");
    assert_eq!(
        (first["serial"].clone(), first["added"].clone()),
        (json!(4), json!(1)),
        "{first:#}"
    );
    assert_eq!(t.version(), Some(1));
    let logs = t.lambda.logs();
    let starting = logs
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .find(|l| l["fields"]["message"] == json!("Starting"))
        .unwrap_or_else(|| panic!("no Starting line in\n{logs}"));
    assert_eq!(starting["fields"]["function"], json!("driftguard-iac-sync"));
    assert_eq!(starting["fields"]["version"], json!(env!("CARGO_PKG_VERSION")));

    // alice made the bucket public-read by hand; the finding is open.
    let mut finding = sample_finding(
        "5d1f0a4e-7c1b-4f0e-8a3d-00000000a11c",
        "acme-web-logs",
        1_790_000_000,
        Severity::Major,
    );
    finding.resource.resource_type = "AWS::S3::Bucket".into();
    finding.kind = FindingKind::Drift;
    finding.owner = Some(IacOwner {
        state: origin.clone(),
        address: "aws_s3_bucket.logs".into(),
        related: Vec::new(),
        stack: None,
    });
    finding.call.source = "s3.amazonaws.com".into();
    finding.call.name = "PutBucketAcl".into();
    finding.changes = vec![AttributeChange {
        attribute: "acl".into(),
        declared_in: Some("aws_s3_bucket.logs".into()),
        expected: json!("private"),
        found: json!("public-read"),
        drifted: true,
    }];
    let store = t.stack.store();
    t.rt.block_on(store.apply(&[Change::Finding(Box::new(finding.clone()))]))
        .expect("the open finding");
    let _ = t.rt.block_on(t.stack.drain_events());

    // The team codified it: serial 5 declares public-read and a new bucket.
    let codified = t.write_and_sync(state(5, "public-read", true));
    let codified = t.answer(codified);
    assert_eq!(codified["verdict"], json!("newer"), "{codified:#}");
    assert_eq!(
        (
            codified["added"].clone(),
            codified["changed"].clone(),
            codified["removed"].clone()
        ),
        (json!(1), json!(1), json!(0)),
        "{codified:#}"
    );
    assert_eq!(codified["codified"], json!(1), "{codified:#}");
    assert_eq!(t.version(), Some(2));
    let stored = t.rt.block_on(store.get(&finding.id)).expect("get").expect("stored");
    assert_eq!(stored.status, Status::Resolved);
    let resolution = stored.resolution.expect("a resolution");
    assert_eq!(resolution.by, format!("codified in {origin} (serial 5)"));
    let published = t.rt.block_on(t.stack.drain_events());
    let resolved: Vec<&Value> = published
        .iter()
        .filter(|e| e["detail-type"] == json!("Drift Resolved"))
        .collect();
    assert_eq!(resolved.len(), 1, "{published:#?}");
    assert_eq!(resolved[0]["detail"]["finding"]["id"], json!(finding.id));

    // An old state restored over it (serial 3): refused, nothing changes.
    let older = t.write_and_sync(state(3, "private", false));
    let older = t.answer(older);
    assert_eq!(older["verdict"], json!("older"), "{older:#}");
    assert_eq!(
        (older["serial"].clone(), older["recorded_serial"].clone()),
        (json!(3), json!(5))
    );
    assert_eq!(t.version(), Some(2), "a refused revision does not bump the version");
    let inventory = driftguard_aws::DynamoInventory::new(aws_sdk_dynamodb::Client::new(&t.stack.sdk), TABLE);
    let recorded =
        t.rt.block_on(inventory.recorded(&origin))
            .expect("read")
            .expect("on record");
    assert_eq!(recorded.serial, Some(5));
    assert_eq!(t.rt.block_on(inventory.digests(&origin)).expect("digests").len(), 2);

    // The same notification again (a retry): nothing new.
    t.put(KEY, state(6, "public-read", true));
    let again = t.delivered();
    let once = t.lambda.invoke(again[0].to_string().as_bytes(), TIMEOUT);
    assert_eq!(t.answer(once)["verdict"], json!("newer"));
    let twice = t.lambda.invoke(again[0].to_string().as_bytes(), TIMEOUT);
    let twice = t.answer(twice);
    assert_eq!(twice["verdict"], json!("same"), "{twice:#}");
    assert_eq!(t.version(), Some(3));

    // A truncated state: the invocation fails naming it (the event goes to the dead-letter
    // queue), and the record stays.
    let mut truncated = state(7, "private", true);
    truncated.truncate(truncated.len() / 2);
    match t.write_and_sync(truncated) {
        Invocation::Error(e) => {
            assert_eq!(e.error_type(), Some("InvalidInput"), "{e:?}");
            assert!(e.error_message().is_some_and(|m| m.contains(&origin)), "{e:?}");
            assert!(
                e.error_message()
                    .is_some_and(|m| m.contains("malformed Terraform state")),
                "{e:?}"
            );
        }
        other => panic!("expected an error, got {other:?}"),
    }
    let recorded =
        t.rt.block_on(inventory.recorded(&origin))
            .expect("read")
            .expect("on record");
    assert_eq!(recorded.serial, Some(6));

    // A state outside the configured locations: the rule does not deliver it, and were it
    // handed over anyway (a broader rule, an invocation by hand), it is not read.
    t.put("scratch/other.tfstate", state(1, "private", false));
    assert!(t.delivered().is_empty(), "the rule matches the state locations only");
    let mut outside = again[0].clone();
    outside["detail"]["object"]["key"] = json!("scratch/other.tfstate");
    let answer = t.lambda.invoke(outside.to_string().as_bytes(), TIMEOUT);
    assert_eq!(t.answer(answer)["verdict"], json!("ignored"));

    // The state file deleted: its resources go, and the version says so. (Every version is
    // deleted: moto sends no notification for a delete marker.)
    t.delete_every_version(KEY);
    let deleted = t.delivered();
    assert_eq!(deleted.len(), 1, "{deleted:#?}");
    assert_eq!(deleted[0]["detail-type"], json!("Object Deleted"));
    let answer = t.lambda.invoke(deleted[0].to_string().as_bytes(), TIMEOUT);
    let answer = t.answer(answer);
    assert_eq!(
        (answer["verdict"].clone(), answer["removed"].clone()),
        (json!("deleted"), json!(2))
    );
    assert!(t.rt.block_on(inventory.digests(&origin)).expect("digests").is_empty());
    assert_eq!(t.version(), Some(4));

    // Written again, then the old deletion event delivered late (EventBridge does not promise
    // order): the state that exists is kept, not forgotten.
    let recreated = t.write_and_sync(state(1, "private", true));
    assert_eq!(t.answer(recreated)["verdict"], json!("first"));
    let late = t.lambda.invoke(deleted[0].to_string().as_bytes(), TIMEOUT);
    let late = t.answer(late);
    assert_eq!(late["verdict"], json!("same"), "{late:#}");
    assert_eq!(t.rt.block_on(inventory.digests(&origin)).expect("digests").len(), 2);
    assert_eq!(t.version(), Some(5));
}

#[test]
fn the_daily_sync_records_every_state_under_the_locations_and_forgets_deleted_ones() {
    let Some(mut t) = Sync::start("the_daily_sync_records_every_state_under_the_locations_and_forgets_deleted_ones")
    else {
        return;
    };
    t.put(KEY, state(2, "private", true));
    t.put(
        &format!("{PREFIX}nested/deeper/app.tfstate"),
        state(9, "private", false),
    );
    t.put(&format!("{PREFIX}notes.txt"), b"not a state".to_vec());
    let _ = t.delivered();
    let Invocation::Response(all) = t.lambda.invoke(br#"{"driftguard":"sync-all"}"#, TIMEOUT) else {
        panic!("sync-all failed\nlogs:\n{}", t.lambda.logs());
    };
    let mut verdicts: Vec<(String, String)> = all["states"]
        .as_array()
        .expect("states")
        .iter()
        .map(|s| {
            (
                s["state"].as_str().unwrap_or("").to_owned(),
                s["verdict"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    verdicts.sort();
    assert_eq!(
        verdicts,
        [
            (
                format!("s3://{BUCKET}/{PREFIX}nested/deeper/app.tfstate"),
                "first".to_owned()
            ),
            (format!("s3://{BUCKET}/{KEY}"), "first".to_owned()),
        ]
    );
    t.rt.block_on(t.s3.delete_object().bucket(BUCKET).key(KEY).send())
        .expect("delete");
    let Invocation::Response(again) = t.lambda.invoke(br#"{"driftguard":"sync-all"}"#, TIMEOUT) else {
        panic!("sync-all failed\nlogs:\n{}", t.lambda.logs());
    };
    let verdicts: Vec<&str> = again["states"]
        .as_array()
        .expect("states")
        .iter()
        .map(|s| s["verdict"].as_str().unwrap_or(""))
        .collect();
    assert_eq!(verdicts, ["same", "deleted"], "{again:#}");
    assert_eq!(t.version(), Some(3));
}

fn large_state(serial: u64, n: usize, changed: usize) -> Vec<u8> {
    let resources: Vec<Value> = (0..n)
        .map(|i| {
            let acl = if i < changed { "public-read" } else { "private" };
            json!({"mode": "managed", "type": "aws_s3_bucket", "name": format!("b{i:04}"), "instances": [
                {"schema_version": 0, "attributes": {"id": format!("acme-bulk-{i:04}"), "bucket": format!("acme-bulk-{i:04}"),
                 "arn": format!("arn:aws:s3:::acme-bulk-{i:04}"), "acl": acl, "region": "eu-west-1",
                 "tags": {"team": "platform", "env": "prod"}}}]})
        })
        .collect();
    json!({"version": 4, "terraform_version": "1.9.8", "serial": serial,
           "lineage": "2d6c9a1e-0b7f-4e3a-8c5d-6f1e2a3b4c5d", "outputs": {}, "resources": resources})
    .to_string()
    .into_bytes()
}

/// A state of 1,000 resources: the first sync writes one item each, a rewrite that changes 10
/// and drops 1 writes only those (the figures are printed: `--nocapture`).
#[test]
fn a_rewrite_of_a_thousand_resource_state_writes_only_what_changed() {
    let Some(mut t) = Sync::start("a_rewrite_of_a_thousand_resource_state_writes_only_what_changed") else {
        return;
    };
    let started = std::time::Instant::now();
    let first = t.write_and_sync(large_state(1, 1_000, 0));
    let first = t.answer(first);
    let first_took = started.elapsed();
    assert_eq!(
        (first["verdict"].clone(), first["added"].clone()),
        (json!("first"), json!(1_000)),
        "{first:#}"
    );

    let started = std::time::Instant::now();
    let rewrite = t.write_and_sync(large_state(2, 999, 10));
    let rewrite = t.answer(rewrite);
    let rewrite_took = started.elapsed();
    assert_eq!(
        (
            rewrite["added"].clone(),
            rewrite["changed"].clone(),
            rewrite["removed"].clone()
        ),
        (json!(0), json!(10), json!(1)),
        "{rewrite:#}"
    );
    let origin = format!("s3://{BUCKET}/{KEY}");
    let inventory = driftguard_aws::DynamoInventory::new(aws_sdk_dynamodb::Client::new(&t.stack.sdk), TABLE);
    assert_eq!(t.rt.block_on(inventory.digests(&origin)).expect("digests").len(), 999);
    eprintln!(
        "iac-sync on moto: first sync of 1,000 resources {first_took:?} (read, judged, 1,000 items written, open findings checked); \
         rewrite changing 10 and removing 1: {rewrite_took:?}"
    );
}
