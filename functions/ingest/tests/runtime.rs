//! The compiled ingest Lambda, run as Lambda runs it (through the Runtime API on loopback),
//! against moto's DynamoDB, EventBridge, SQS and S3: what it stores, what it publishes, and how
//! it treats duplicates, out-of-order deliveries, malformed events and SQS batches.

use driftguard_core::finding::{Finding, Status};
use driftguard_core::ports::{FindingStore, Query};
use driftguard_tests::fault::{Fault, FaultProxy, Rule};
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
use driftguard_tests::stack::{workspace, Stack, TABLE};
use serde_json::{json, Value};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

struct Ingest {
    stack: Stack,
    lambda: LambdaProcess,
    rt: tokio::runtime::Runtime,
}

impl Ingest {
    /// moto with the stack, and the compiled function attached to a Runtime API; `None` when
    /// moto is not installed.
    fn start(test: &str) -> Option<Ingest> {
        Self::start_with(test, &[])
    }

    fn start_with(test: &str, extra_env: &[(&str, &str)]) -> Option<Ingest> {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let stack = rt.block_on(Stack::start(test))?;
        // Cargo builds the function for its own integration tests, with the same features.
        let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-ingest"));
        let api = RuntimeApi::start_named("driftguard-ingest");
        let env = stack.ingest_env();
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        env.extend_from_slice(extra_env);
        let lambda = LambdaProcess::spawn(&binary, &api, &env);
        Some(Ingest { stack, lambda, rt })
    }

    /// Like [`Ingest::start`], with every AWS call going through a fault proxy in front of moto.
    fn start_behind_proxy(test: &str) -> Option<(Ingest, FaultProxy)> {
        Self::start_behind_proxy_with(test, &[])
    }

    /// [`Ingest::start_behind_proxy`] with more environment.
    fn start_behind_proxy_with(test: &str, extra_env: &[(&str, &str)]) -> Option<(Ingest, FaultProxy)> {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let stack = rt.block_on(Stack::start(test))?;
        let proxy = FaultProxy::start(&stack.moto.endpoint(), Vec::new());
        let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-ingest"));
        let api = RuntimeApi::start_named("driftguard-ingest");
        let mut env = stack.ingest_env();
        for (k, v) in &mut env {
            if k == "AWS_ENDPOINT_URL" {
                *v = proxy.endpoint();
            }
        }
        let mut env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        env.extend_from_slice(extra_env);
        let lambda = LambdaProcess::spawn(&binary, &api, &env);
        Some((Ingest { stack, lambda, rt }, proxy))
    }

    fn invoke(&mut self, event: &[u8]) -> Invocation {
        let result = self.lambda.invoke(event, TIMEOUT);
        if matches!(
            result,
            Invocation::TimedOut { .. } | Invocation::ProcessExited { .. } | Invocation::InitError(_)
        ) {
            panic!("{result:?}\nfunction logs:\n{}", self.lambda.logs());
        }
        result
    }

    fn respond(&mut self, event: &[u8]) -> Value {
        match self.invoke(event) {
            Invocation::Response(v) => v,
            other => panic!("expected a response, got {other:?}\nlogs:\n{}", self.lambda.logs()),
        }
    }

    fn findings(&self) -> Vec<Finding> {
        self.rt
            .block_on(self.stack.store().list(&Query::default()))
            .expect("list findings")
    }

    fn published(&self) -> Vec<Value> {
        self.rt.block_on(self.stack.drain_events())
    }
}

fn event(path: &str) -> Vec<u8> {
    std::fs::read(workspace().join("events").join(path)).expect("sample event")
}

#[test]
fn a_console_change_is_stored_published_once_and_survives_redelivery() {
    let Some(mut ingest) = Ingest::start("a_console_change_is_stored_published_once_and_survives_redelivery") else {
        return;
    };
    let sg = event("cloudtrail/ec2-authorize-security-group-ingress.console-sso.json");
    let summary = ingest.respond(&sg);
    assert_eq!(
        (summary["findings"].clone(), summary["published"].clone()),
        (json!(1), json!(1)),
        "{summary}"
    );

    let findings = ingest.findings();
    assert_eq!(findings.len(), 1);
    let f = &findings[0];
    assert_eq!(
        (f.resource.id.as_str(), f.status),
        ("sg-0123456789abcdef0", Status::Open)
    );
    assert_eq!(
        f.owner.as_ref().map(|o| o.state.as_str()),
        Some("s3://acme-tfstate/env/prod/network.tfstate")
    );
    // The item carries the keys the table design promises.
    let item = ingest
        .rt
        .block_on(
            aws_sdk_dynamodb::Client::new(&ingest.stack.sdk)
                .get_item()
                .table_name(driftguard_tests::stack::TABLE)
                .key(
                    "pk",
                    aws_sdk_dynamodb::types::AttributeValue::S(format!("FINDING#{}", f.id)),
                )
                .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("FINDING".into()))
                .send(),
        )
        .expect("get item")
        .item
        .expect("finding item");
    let attr = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
    assert_eq!(attr("gsi1pk"), "OPEN#critical");
    assert_eq!(attr("gsi2pk"), format!("RES#{}", f.resource.key()));

    let published = ingest.published();
    assert_eq!(published.len(), 1);
    assert_eq!(published[0]["detail-type"], "Drift Detected");
    assert_eq!(published[0]["detail"]["finding"]["id"], json!(f.id));

    // At-least-once delivery: the same event again writes and publishes nothing.
    let again = ingest.respond(&sg);
    assert_eq!(
        (again["duplicates"].clone(), again["published"].clone()),
        (json!(1), json!(0)),
        "{again}"
    );
    assert_eq!(ingest.findings().len(), 1);
    assert!(
        ingest.published().is_empty(),
        "a duplicate delivery is not re-published"
    );

    // Terraform reverts it: the finding is resolved and `Drift Resolved` published.
    ingest.respond(&event("cloudtrail/ec2-revoke-security-group-ingress.terraform.json"));
    assert_eq!(ingest.findings()[0].status, Status::Resolved);
    let published = ingest.published();
    assert_eq!(
        published
            .iter()
            .map(|e| e["detail-type"].as_str().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["Drift Resolved"]
    );
}

/// EventBridge refuses every attempt to publish the `Drift Resolved` of a Terraform revert: the
/// invocation fails as retryable, and the redelivery publishes it (once), although the store
/// already holds the resolution.
#[test]
fn a_resolution_whose_publish_failed_is_published_by_the_retry() {
    let Some((mut ingest, proxy)) =
        Ingest::start_behind_proxy("a_resolution_whose_publish_failed_is_published_by_the_retry")
    else {
        return;
    };
    ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.console-sso.json",
    ));
    let detected = ingest.published();
    assert_eq!(detected.len(), 1);
    proxy.add(Rule {
        operation: "PutEvents",
        times: usize::MAX,
        fault: Fault::PutEventsAllFailed,
    });
    let revert = event("cloudtrail/ec2-revoke-security-group-ingress.terraform.json");
    let err = ingest.invoke(&revert).expect_error();
    assert_eq!(err.body["errorType"], "Retryable", "{err:?}");
    assert!(
        proxy.injected("PutEvents") > 1,
        "the publisher retried before giving up"
    );
    assert_eq!(ingest.findings()[0].status, Status::Resolved, "the store has it");
    assert!(ingest.published().is_empty());

    // EventBridge recovers; SQS delivers the event again.
    proxy.clear();
    let summary = ingest.respond(&revert);
    assert_eq!(summary["published"], 1, "{summary}");
    let published = ingest.published();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0]["detail-type"], "Drift Resolved");
    assert_eq!(
        published[0]["detail"]["key"],
        json!(format!("{}:resolved", ingest.findings()[0].id))
    );
    // And a further redelivery publishes nothing.
    let again = ingest.respond(&revert);
    assert_eq!(
        (again["duplicates"].clone(), again["published"].clone()),
        (json!(1), json!(0))
    );
}

/// EventBridge accepts the connection of the first `PutEvents` and never answers: the attempt
/// times out (`DRIFTGUARD_AWS_ATTEMPT_TIMEOUT_MS`), the SDK retries it, and the invocation
/// answers with the finding published once. Without an attempt timeout the invocation waited
/// for the stalled answer until Lambda ended it.
#[test]
fn a_stalled_connection_times_out_and_is_retried() {
    let Some((mut ingest, proxy)) = Ingest::start_behind_proxy_with(
        "a_stalled_connection_times_out_and_is_retried",
        &[("DRIFTGUARD_AWS_ATTEMPT_TIMEOUT_MS", "2000")],
    ) else {
        return;
    };
    proxy.add(Rule {
        operation: "PutEvents",
        times: 1,
        fault: Fault::Stall(Duration::from_secs(600)),
    });
    let summary = ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.console-sso.json",
    ));
    assert_eq!(summary["published"], json!(1), "{summary}");
    assert_eq!(proxy.injected("PutEvents"), 1);
    assert!(proxy.seen("PutEvents") >= 2, "the stalled attempt was retried");
    // The stalled attempt never reached EventBridge: the event is there once (a later attempt
    // slower than the timeout could deliver a copy under the same key).
    let keys: std::collections::BTreeSet<String> = ingest
        .published()
        .iter()
        .filter_map(|e| e["detail"]["key"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(keys.len(), 1, "{keys:?}");
}

#[test]
fn an_iac_apply_delivered_before_the_manual_change_ends_resolved() {
    let Some(mut ingest) = Ingest::start("an_iac_apply_delivered_before_the_manual_change_ends_resolved") else {
        return;
    };
    ingest.respond(&event("cloudtrail/ec2-revoke-security-group-ingress.terraform.json"));
    ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.console-sso.json",
    ));
    let findings = ingest.findings();
    assert_eq!(findings.len(), 1);
    assert_eq!(findings[0].status, Status::Resolved);
    let kinds: Vec<String> = ingest
        .published()
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap_or("").to_owned())
        .collect();
    assert_eq!(kinds, ["Drift Detected", "Drift Resolved"]);
}

#[test]
fn malformed_events_fail_as_invalid_input_and_the_function_keeps_serving() {
    let Some(mut ingest) = Ingest::start("malformed_events_fail_as_invalid_input_and_the_function_keeps_serving")
    else {
        return;
    };
    // Lambda only delivers JSON payloads (the runtime itself refuses anything else), so the bad
    // inputs here are valid JSON that is not a usable event.
    let mut no_source: Value =
        serde_json::from_slice(&event("cloudtrail/ec2-modify-instance-attribute.cli-user.json")).expect("event");
    no_source["detail"]
        .as_object_mut()
        .expect("detail")
        .remove("eventSource");
    let no_source = serde_json::to_vec(&no_source).expect("json");
    let unknown = std::fs::read(workspace().join("tests/data/bad/unknown-detail-type.json")).expect("bad input");
    let not_an_event = br#"{"hello": "world"}"#.to_vec();
    for (bad, bytes) in [
        ("no eventSource", no_source),
        ("unknown detail-type", unknown),
        ("not an event", not_an_event),
    ] {
        match ingest.invoke(&bytes) {
            Invocation::Error(e) => {
                assert_eq!(e.error_type(), Some("InvalidInput"), "{bad}: {e:?}");
                assert!(
                    e.error_message().is_some_and(|m| !m.is_empty()),
                    "{bad}: the error says what was wrong"
                );
            }
            other => panic!("{bad}: expected an error, got {other:?}"),
        }
    }
    assert_eq!(ingest.lambda.exit_status(), None, "no panic, no exit");
    let ok = ingest.respond(&event("cloudtrail/s3-create-bucket.cli-user.json"));
    assert_eq!(ok["findings"], json!(1));
}

#[test]
fn sqs_batches_report_only_the_failed_messages() {
    let Some(mut ingest) = Ingest::start("sqs_batches_report_only_the_failed_messages") else {
        return;
    };
    let mut batch: Value = serde_json::from_slice(&event("sqs/batch.two-records.json")).expect("batch");
    let response = ingest.respond(&serde_json::to_vec(&batch).expect("json"));
    assert_eq!(response, json!({ "batchItemFailures": [] }));
    assert_eq!(ingest.findings().len(), 2);

    // A third message whose body is not an event: only it is reported.
    let mut broken = batch["Records"][0].clone();
    broken["messageId"] = json!("0f1e2d3c-0000-4000-8000-00000000bad1");
    broken["body"] = json!("{\"detail-type\": \"AWS API Call via CloudTrail\", \"detail\": {");
    batch["Records"].as_array_mut().expect("records").push(broken);
    let response = ingest.respond(&serde_json::to_vec(&batch).expect("json"));
    assert_eq!(
        response,
        json!({ "batchItemFailures": [{ "itemIdentifier": "0f1e2d3c-0000-4000-8000-00000000bad1" }] })
    );
    assert_eq!(ingest.findings().len(), 2, "good messages were not written twice");

    // A message without a body is that message's failure, not the batch's.
    let mut bodiless = batch["Records"][0].clone();
    bodiless["messageId"] = json!("0f1e2d3c-0000-4000-8000-00000000bad2");
    bodiless.as_object_mut().expect("record").remove("body");
    let records = batch["Records"].as_array_mut().expect("records");
    records.pop();
    records.push(bodiless);
    let response = ingest.respond(&serde_json::to_vec(&batch).expect("json"));
    assert_eq!(
        response,
        json!({ "batchItemFailures": [{ "itemIdentifier": "0f1e2d3c-0000-4000-8000-00000000bad2" }] })
    );
}

/// The real-shaped corpus for the reliability run: every sample CloudTrail envelope, the log
/// file's records wrapped as EventBridge delivers them, and (when present) the real EventBridge
/// envelopes of the public corpora.
fn corpus() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut files: Vec<_> = std::fs::read_dir(workspace().join("events/cloudtrail"))
        .expect("events")
        .map(|e| e.expect("entry").path())
        .collect();
    // Absent corpora: a notice libtest does not hide, or a failure when CI requires them.
    let data = driftguard_tests::corpora::shared_data(
        "every_event_twice_and_shuffled_ends_like_one_ordered_replay",
        "the reliability run uses the sample events only",
    );
    let shared = data.as_ref().map(|d| d.join("eventbridge-cloud-custodian-cwe"));
    if let Some(shared) = &shared {
        let dir = std::fs::read_dir(shared).unwrap_or_else(|e| panic!("{}: {e}", shared.display()));
        files.extend(
            dir.map(|e| e.expect("entry").path())
                .filter(|p| p.extension().is_some_and(|x| x == "json")),
        );
    }
    files.sort();
    let mut shared_envelopes = 0;
    for f in files {
        let bytes = std::fs::read(&f).expect("read");
        let is_api_call = serde_json::from_slice::<Value>(&bytes).is_ok_and(|v| {
            v["detail-type"].as_str().is_some_and(|d| d.ends_with("via CloudTrail"))
                && v["detail"]["eventID"].is_string()
        });
        if is_api_call {
            shared_envelopes += usize::from(shared.as_ref().is_some_and(|s| f.starts_with(s)));
            out.push(bytes);
        }
    }
    // Bare records: the sample log file and, when present, the real log files and documented
    // records of the public corpora, wrapped as EventBridge delivers them.
    let mut record_files = vec![workspace()
        .join("events/cloudtrail-logs/123456789012_CloudTrail_eu-west-1_20261120T0955Z_3mVv0nFWkqLzA1Yb.json.gz")];
    let sample_record_files = record_files.len();
    for dir in [
        "cloudtrail-awsdocs-user-guide-examples",
        "cloudtrail-small-fixtures/trailscraper",
    ] {
        if let Some(data) = &data {
            let entries = std::fs::read_dir(data.join(dir)).unwrap_or_else(|e| panic!("{dir}: {e}"));
            let mut found: Vec<_> = entries
                .map(|e| e.expect("entry").path())
                .filter(|p| p.to_string_lossy().contains(".json"))
                .collect();
            found.sort();
            record_files.extend(found);
        }
    }
    let mut records: Vec<Value> = Vec::new();
    let mut shared_records = 0;
    for (i, f) in record_files.into_iter().enumerate() {
        let raw = std::fs::read(&f).expect("read");
        let text = driftguard_core::decode::plain(&raw).expect("gzip");
        let before = records.len();
        match serde_json::from_slice::<Value>(&text) {
            Ok(Value::Object(doc)) if doc.contains_key("Records") => {
                records.extend(doc["Records"].as_array().cloned().unwrap_or_default())
            }
            Ok(doc) if doc["eventName"].is_string() => records.push(doc),
            _ => {}
        }
        if i >= sample_record_files {
            shared_records += records[before..].iter().filter(|r| r["eventID"].is_string()).count();
        }
    }
    // The reliability corpus must not shrink silently (counted 2026-11-30: 10 envelopes, 20 records).
    if data.is_some() {
        assert!(
            shared_envelopes >= 10,
            "only {shared_envelopes} CloudTrail envelopes from the corpora"
        );
        assert!(
            shared_records >= 20,
            "only {shared_records} CloudTrail records from the corpora"
        );
    }
    records.retain(|r| r["eventID"].is_string() && r["eventTime"].is_string() && r["eventSource"].is_string());
    for r in &records {
        let envelope = json!({
            "version": "0", "id": r["eventID"], "detail-type": "AWS API Call via CloudTrail",
            "source": format!("aws.{}", r["eventSource"].as_str().unwrap_or("").trim_end_matches(".amazonaws.com")),
            "account": r["recipientAccountId"], "time": r["eventTime"], "region": r["awsRegion"], "resources": [], "detail": r,
        });
        out.push(serde_json::to_vec(&envelope).expect("json"));
    }
    out
}

/// What must agree between two runs: each finding's id, status, resolving event, severity and diff.
fn fingerprint(mut findings: Vec<Finding>) -> Vec<(String, Status, Option<String>, String, usize)> {
    findings.sort_by(|a, b| a.id.cmp(&b.id));
    findings
        .into_iter()
        .map(|f| {
            (
                f.id,
                f.status,
                f.resolution.map(|r| r.event_id),
                f.severity.as_str().to_owned(),
                f.changes.len(),
            )
        })
        .collect()
}

#[test]
fn every_event_twice_and_shuffled_ends_like_one_ordered_replay() {
    let Some(mut ingest) = Ingest::start("every_event_twice_and_shuffled_ends_like_one_ordered_replay") else {
        return;
    };
    let events = corpus();

    // Reference: one in-order pass through the same core service on the in-memory store.
    let mut inventory = driftguard_core::inventory::Inventory::new();
    for s in ["data.tfstate", "network.tfstate"] {
        let bytes = std::fs::read(workspace().join("events/terraform").join(s)).expect("state");
        inventory
            .add_state(&format!("s3://acme-tfstate/env/prod/{s}"), &bytes)
            .expect("state");
    }
    let pipeline = driftguard_core::pipeline::Pipeline::new(&Default::default(), inventory);
    let memory = driftguard_core::ports::MemoryStore::default();
    for bytes in &events {
        let mut evaluations = Vec::new();
        driftguard_core::decode::decode(bytes, "corpus", &mut |_: &driftguard_core::decode::Position, item| {
            evaluations.push(pipeline.evaluate(&item.expect("corpus events decode")));
        });
        for ev in evaluations {
            pollster::block_on(driftguard_core::service::handle(&memory, &memory, ev)).expect("in-memory service");
        }
    }
    let expected = fingerprint(pollster::block_on(memory.list(&Query::default())).expect("list"));

    // Every event twice, in a shuffled order (a fixed seed keeps the run repeatable).
    let mut deliveries: Vec<&Vec<u8>> = events.iter().chain(events.iter()).collect();
    let mut seed: u64 = 0x5eed_d81f_7a11_0001;
    for i in (1..deliveries.len()).rev() {
        seed = seed
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        deliveries.swap(i, (seed >> 33) as usize % (i + 1));
    }
    let started = std::time::Instant::now();
    for bytes in &deliveries {
        ingest.respond(bytes);
    }
    let elapsed = started.elapsed();
    let got = fingerprint(ingest.findings());
    println!(
        "reliability: {} events delivered {} times shuffled in {:.1}s ({:.1} ms/invocation); {} findings, {} equal to the in-order replay",
        events.len(),
        deliveries.len(),
        elapsed.as_secs_f64(),
        elapsed.as_secs_f64() * 1000.0 / deliveries.len() as f64,
        got.len(),
        got.iter().zip(&expected).filter(|(a, b)| a == b).count()
    );
    assert!(expected.len() >= 10, "the corpus yields findings ({})", expected.len());
    assert_eq!(got, expected);
    // Each finding was announced exactly once, whatever the duplicates.
    let detected: Vec<Value> = ingest
        .published()
        .into_iter()
        .filter(|e| e["detail-type"] == "Drift Detected")
        .collect();
    let mut keys: Vec<&str> = detected.iter().filter_map(|e| e["detail"]["key"].as_str()).collect();
    keys.sort_unstable();
    let n = keys.len();
    keys.dedup();
    assert_eq!((n, keys.len()), (expected.len(), expected.len()));
}

#[test]
fn a_changed_state_object_is_read_again() {
    let Some(mut ingest) = Ingest::start_with(
        "a_changed_state_object_is_read_again",
        &[("DRIFTGUARD_STATE_REFRESH_SECONDS", "0")],
    ) else {
        return;
    };
    ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.console-sso.json",
    ));
    // Terraform no longer declares the db security group: the next state object has a new ETag.
    let state = std::fs::read_to_string(workspace().join("events/terraform/network.tfstate")).expect("state");
    let changed = state.replace("sg-0fedcba9876543210", "sg-0000000000000000");
    let s3 = driftguard_aws::s3_client(&ingest.stack.sdk, true);
    ingest
        .rt
        .block_on(
            s3.put_object()
                .bucket(driftguard_tests::stack::BUCKET)
                .key(format!("{}network.tfstate", driftguard_tests::stack::STATE_PREFIX))
                .body(changed.into_bytes().into())
                .send(),
        )
        .expect("put the new state");
    let summary = ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.cloud-custodian.json",
    ));
    assert_eq!(
        summary["skipped"]["outside_iac"], 1,
        "the new state was used: the group is no longer IaC-managed, {summary}"
    );
    let findings = ingest.findings();
    assert!(findings.iter().all(|f| f.resource.id != "sg-0fedcba9876543210"));
    let console = findings
        .iter()
        .find(|f| f.resource.id == "sg-0123456789abcdef0")
        .expect("console finding");
    assert_eq!(
        console.kind,
        driftguard_core::finding::FindingKind::Drift,
        "the first state was used before"
    );
}

/// Records a state object's current revision as iac-sync does (which bumps the inventory version).
fn record_state(ingest: &Ingest, name: &str) {
    use driftguard_core::sync::Revision;
    let (bucket, key) = (
        driftguard_tests::stack::BUCKET,
        format!("{}{name}", driftguard_tests::stack::STATE_PREFIX),
    );
    let origin = format!("s3://{bucket}/{key}");
    let s3 = driftguard_aws::s3_client(&ingest.stack.sdk, true);
    let inventory = driftguard_aws::DynamoInventory::new(aws_sdk_dynamodb::Client::new(&ingest.stack.sdk), TABLE);
    ingest.rt.block_on(async {
        let object = s3
            .get_object()
            .bucket(bucket)
            .key(&key)
            .send()
            .await
            .expect("the state");
        let etag = object.e_tag().unwrap_or_default().trim_matches('"').to_owned();
        let bytes = object.body.collect().await.expect("body").into_bytes();
        let mut inv = driftguard_core::inventory::Inventory::new();
        inv.add_state(&origin, &bytes).expect("loads");
        let revision = Revision::of(&inv, &origin, &etag, None).expect("the state is there");
        let prior = inventory.recorded(&origin).await.expect("read");
        assert!(inventory.record(&revision, prior.as_ref()).await.expect("record"));
    });
}

/// With iac-sync's inventory version in the table, a state check is one `GetItem` while the
/// version stands: a state written to S3 but not yet recorded is not listed for; once iac-sync
/// records it, the next check lists and reads it. An object the record does not hold (an old
/// state iac-sync refused) is not read over the revision on record.
#[test]
fn states_are_listed_again_only_when_the_inventory_version_moves() {
    let Some((mut ingest, proxy)) = Ingest::start_behind_proxy_with(
        "states_are_listed_again_only_when_the_inventory_version_moves",
        &[
            ("DRIFTGUARD_STATE_REFRESH_SECONDS", "0"),
            ("DRIFTGUARD_STATE_LIST_SECONDS", "3600"),
        ],
    ) else {
        return;
    };
    let lists = |proxy: &FaultProxy| {
        proxy
            .requests()
            .iter()
            .filter(|r| r.method == "GET" && r.target.contains("list-type=2"))
            .count()
    };
    let version_reads = |proxy: &FaultProxy| {
        proxy
            .requests()
            .iter()
            .filter(|r| r.body.contains("IAC#VERSION"))
            .count()
    };
    record_state(&ingest, "network.tfstate");
    record_state(&ingest, "data.tfstate");
    ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.console-sso.json",
    ));
    let (listed, read) = (lists(&proxy), version_reads(&proxy));
    assert_eq!(listed, 1, "the first check lists the locations");

    // Terraform drops the db group from the state; iac-sync has not recorded it yet.
    let state = std::fs::read_to_string(workspace().join("events/terraform/network.tfstate")).expect("state");
    let s3 = driftguard_aws::s3_client(&ingest.stack.sdk, true);
    let put = |ingest: &Ingest, body: String| {
        ingest
            .rt
            .block_on(
                s3.put_object()
                    .bucket(driftguard_tests::stack::BUCKET)
                    .key(format!("{}network.tfstate", driftguard_tests::stack::STATE_PREFIX))
                    .body(body.into_bytes().into())
                    .send(),
            )
            .expect("put the state");
    };
    put(&ingest, state.replace("sg-0fedcba9876543210", "sg-0000000000000000"));
    let summary = ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.cloud-custodian.json",
    ));
    assert_eq!(lists(&proxy), listed, "no listing while the version stands");
    assert_eq!(version_reads(&proxy), read + 1, "one version read per check");
    assert!(
        summary["skipped"].get("outside_iac").is_none(),
        "the recorded state still judges: {summary}"
    );

    // iac-sync records it: the next check lists and reads the new revision.
    record_state(&ingest, "network.tfstate");
    let summary = ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.cloud-custodian.json",
    ));
    assert_eq!(lists(&proxy), listed + 1);
    assert_eq!(
        summary["skipped"]["outside_iac"], 1,
        "the new revision judges: {summary}"
    );

    // The old state is written back and refused (not recorded); another state's revision moves
    // the version, so the locations are listed, but the refused object is not read.
    put(&ingest, state.clone());
    record_state(&ingest, "data.tfstate");
    let summary = ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.cloud-custodian.json",
    ));
    assert_eq!(lists(&proxy), listed + 2);
    assert_eq!(
        summary["skipped"]["outside_iac"], 1,
        "the revision on record still judges, not the refused object: {summary}"
    );
}

/// A fitted weights version made current in the table (as `driftguard weights fit` does) scores
/// the next findings, which name it; a reset goes back to the hand-set weights.
#[test]
fn findings_are_scored_with_the_current_weights_and_name_them() {
    use driftguard_core::learn::ports::{LearningStore, WeightsVersion};
    let Some(mut ingest) = Ingest::start_with(
        "findings_are_scored_with_the_current_weights_and_name_them",
        &[("DRIFTGUARD_STATE_REFRESH_SECONDS", "0")],
    ) else {
        return;
    };
    let ledger = driftguard_aws::DynamoLedger::new(aws_sdk_dynamodb::Client::new(&ingest.stack.sdk), TABLE);
    ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.console-sso.json",
    ));
    let mut weights = driftguard_core::score::Weights {
        prior: -4.0,
        ..driftguard_core::score::Weights::default()
    };
    weights.factors.insert("actor.automation".into(), -1.0);
    let report = driftguard_core::fit::FitReport {
        labels: 80,
        positives: 20,
        brier_before: 0.3,
        brier_after: 0.2,
        log_loss_before: 0.9,
        log_loss_after: 0.6,
        brier_cross_validated: Some(0.21),
        iterations: 6,
        moved: Vec::new(),
    };
    let stored = ingest
        .rt
        .block_on(ledger.add_weights(WeightsVersion {
            number: 0,
            weights: weights.clone(),
            fitted_at: driftguard_core::time::Timestamp(1_795_000_000_000),
            fitted_by: "cli:test".into(),
            options: driftguard_core::fit::FitOptions::default(),
            report,
        }))
        .expect("store weights");
    assert_eq!(stored.weights.version, "v1");
    ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.cloud-custodian.json",
    ));
    let findings = ingest.findings();
    let by_id = |id: &str| findings.iter().find(|f| f.resource.id == id).expect("finding");
    let (before, after) = (by_id("sg-0123456789abcdef0"), by_id("sg-0fedcba9876543210"));
    assert_eq!(before.weights_version, "default", "scored before the fit");
    assert_eq!(after.weights_version, "v1", "scored after the fit");
    let prior = after.factors.iter().find(|f| f.name == "prior").expect("prior factor");
    assert_eq!(prior.weight, -4.0);
    let automation = after
        .factors
        .iter()
        .find(|f| f.name == "actor.automation")
        .expect("actor factor");
    assert_eq!(automation.weight, -1.0);
    let expected = weights.likelihood_of(after.factors.iter().map(|f| f.name.as_str()));
    assert!(
        (after.likelihood - expected).abs() < 0.001,
        "{} vs {expected}",
        after.likelihood
    );
    // A reset: the next finding is scored with the hand-set weights again.
    ingest.rt.block_on(ledger.use_weights(None)).expect("reset");
    ingest.respond(&event(
        "cloudtrail/lambda-update-function-configuration.console-sso.json",
    ));
    let findings = ingest.findings();
    let lambda = findings
        .iter()
        .find(|f| f.resource.id == "orders-api")
        .expect("lambda finding");
    assert_eq!(lambda.weights_version, "default");
    assert!(
        ingest.lambda.logs().contains("Weights changed"),
        "{}",
        ingest.lambda.logs()
    );
}

impl Ingest {
    /// Replaces a state object in the bucket.
    fn put_state(&self, name: &str, bytes: Vec<u8>) {
        let s3 = driftguard_aws::s3_client(&self.stack.sdk, true);
        self.rt
            .block_on(
                s3.put_object()
                    .bucket(driftguard_tests::stack::BUCKET)
                    .key(format!("{}{name}", driftguard_tests::stack::STATE_PREFIX))
                    .body(bytes.into())
                    .send(),
            )
            .expect("put the state");
    }

    /// The `UnreadableStates` values the function emitted (in its embedded metric format lines),
    /// once the lines of `invocations` invocations are read: the function prints its line as
    /// it answers, so the answer may reach the test before the line does.
    fn unreadable_metric(&self, invocations: usize) -> Vec<u64> {
        self.lambda
            .metrics_lines(invocations, Duration::from_secs(10))
            .iter()
            .filter_map(|m| m.get("UnreadableStates").map(|v| *v as u64))
            .collect()
    }
}

fn bad_state() -> Vec<u8> {
    std::fs::read(workspace().join("tests/data/bad/truncated.tfstate")).expect("bad state")
}

#[test]
fn one_unreadable_state_does_not_blind_the_function() {
    let Some(mut ingest) = Ingest::start("one_unreadable_state_does_not_blind_the_function") else {
        return;
    };
    // data.tfstate is broken before the first invocation (a cold start).
    ingest.put_state("data.tfstate", bad_state());
    let summary = ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.console-sso.json",
    ));
    assert_eq!(
        summary["findings"], 1,
        "the change on a resource of the good state is judged: {summary}"
    );
    let logs = ingest.lambda.logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("Terraform state unreadable") && l.contains("env/prod/data.tfstate")),
        "the bad state is named in the logs:\n{logs}"
    );
    assert_eq!(ingest.unreadable_metric(1).last(), Some(&1), "and counted");
    // Still serving, and still judging by the good state.
    let again = ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.cloud-custodian.json",
    ));
    assert_eq!(again["skipped"].get("outside_iac"), None, "{again}");
}

#[test]
fn a_bad_new_version_keeps_the_last_good_one() {
    let Some(mut ingest) = Ingest::start_with(
        "a_bad_new_version_keeps_the_last_good_one",
        &[("DRIFTGUARD_STATE_REFRESH_SECONDS", "0")],
    ) else {
        return;
    };
    ingest.respond(&event("cloudtrail/s3-put-bucket-versioning.cli-user.json"));
    // A half-written data.tfstate replaces the good one: its resources stay known.
    ingest.put_state("data.tfstate", bad_state());
    let summary = ingest.respond(&event("config/s3-bucket.versioning-suspended.json"));
    assert_eq!(summary["skipped"].get("outside_iac"), None, "{summary}");
    assert_eq!(summary["config_items"], 1, "{summary}");
    assert_eq!(ingest.unreadable_metric(2).last(), Some(&1));
}

#[test]
fn no_readable_state_fails_as_retryable_until_one_loads() {
    let Some(mut ingest) = Ingest::start("no_readable_state_fails_as_retryable_until_one_loads") else {
        return;
    };
    ingest.put_state("data.tfstate", bad_state());
    ingest.put_state("network.tfstate", b"not a state".to_vec());
    let sg = event("cloudtrail/ec2-authorize-security-group-ingress.console-sso.json");
    for _ in 0..2 {
        let err = ingest.invoke(&sg).expect_error();
        assert_eq!(err.body["errorType"], "Retryable", "{err:?}");
        let msg = err.body["errorMessage"].as_str().unwrap_or_default();
        assert!(
            msg.contains("no Terraform state could be read") && msg.contains("env/prod/network.tfstate"),
            "{msg}"
        );
    }
    assert!(ingest.findings().is_empty());
    // The state is fixed: the very next invocation loads it (no refresh interval to wait out).
    ingest.put_state(
        "network.tfstate",
        std::fs::read(workspace().join("events/terraform/network.tfstate")).expect("state"),
    );
    let summary = ingest.respond(&sg);
    assert_eq!(summary["findings"], 1, "{summary}");
}

const VERSIONING_CALL: &str = "cloudtrail/s3-put-bucket-versioning.cli-user.json";
const VERSIONING_ITEM: &str = "config/s3-bucket.versioning-suspended.json";

/// The bucket's findings after delivering `first` then `second`.
fn joined_in_order(test: &str, first: &str, second: &str) -> Option<(Vec<Finding>, Vec<Value>)> {
    let mut ingest = Ingest::start(test)?;
    ingest.respond(&event(first));
    ingest.respond(&event(second));
    // A redelivery of either side changes nothing.
    ingest.respond(&event(first));
    let findings: Vec<Finding> = ingest
        .findings()
        .into_iter()
        .filter(|f| f.resource.id == "acme-prod-artifacts")
        .collect();
    Some((findings, ingest.published()))
}

#[test]
fn a_config_item_and_its_call_make_one_finding_in_either_order() {
    let Some((call_first, published_a)) = joined_in_order("config_join_call_first", VERSIONING_CALL, VERSIONING_ITEM)
    else {
        return;
    };
    let Some((config_first, published_b)) =
        joined_in_order("config_join_config_first", VERSIONING_ITEM, VERSIONING_CALL)
    else {
        return;
    };
    for (order, findings) in [("call first", &call_first), ("config first", &config_first)] {
        assert_eq!(findings.len(), 1, "{order}: one joined finding, got {findings:#?}");
        let f = &findings[0];
        assert_eq!(f.call.name, "PutBucketVersioning", "{order}");
        assert_eq!(
            f.actor.human.as_deref(),
            Some("bob"),
            "{order}: who comes from CloudTrail"
        );
        assert_eq!(f.revision, 2, "{order}");
        let evidence = f.config.as_ref().expect("Config evidence");
        assert_eq!(evidence.capture_time.to_string(), "2026-11-20T09:21:38.604Z", "{order}");
        let versioning: Vec<_> = f.changes.iter().filter(|c| c.attribute == "versioning").collect();
        assert_eq!(versioning.len(), 1, "{order}: {:?}", f.changes);
        assert_eq!(
            (&versioning[0].expected, &versioning[0].found, versioning[0].drifted),
            (&json!("Enabled"), &json!("Disabled"), true),
            "{order}: expected from IaC, found live"
        );
        assert!(
            f.factors.iter().any(|x| x.name == "config.confirmed"),
            "{order}: {:?}",
            f.factors
        );
    }
    let mut a = serde_json::to_value(&call_first[0]).expect("json");
    let mut b = serde_json::to_value(&config_first[0]).expect("json");
    a["id"] = Value::Null;
    b["id"] = Value::Null;
    assert_eq!(a, b, "the same finding whatever the order");
    // Each order publishes the first sighting and the joined revision, once each.
    for published in [&published_a, &published_b] {
        let keys: Vec<&str> = published.iter().filter_map(|e| e["detail"]["key"].as_str()).collect();
        assert_eq!(keys.len(), 2, "{keys:?}");
        assert!(keys[1].ends_with(":detected:r2"), "{keys:?}");
    }
}

/// The oversized-item notification EventBridge delivers for `full` (a complete Config event)
/// whose full item Config put at `key` in the stack's bucket.
fn oversized_summary(full: &Value, key: &str) -> Value {
    let detail = &full["detail"];
    let item = &detail["configurationItem"];
    let summary_fields = [
        "configurationItemVersion",
        "configurationItemCaptureTime",
        "configurationStateId",
        "awsAccountId",
        "configurationItemStatus",
        "resourceType",
        "resourceId",
        "resourceName",
        "ARN",
        "awsRegion",
        "availabilityZone",
        "configurationStateMd5Hash",
        "resourceCreationTime",
    ];
    let mut summary = serde_json::Map::new();
    for k in summary_fields {
        summary.insert(k.into(), item[k].clone());
    }
    summary.insert("changeType".into(), json!("UPDATE"));
    let mut oversized = full.clone();
    oversized["detail"] = json!({
        "configurationItemSummary": summary,
        "messageType": "OversizedConfigurationItemChangeNotification",
        "notificationCreationTime": detail["notificationCreationTime"],
        "recordVersion": "1.0",
        "s3DeliverySummary": { "s3BucketLocation": format!("{}/{key}", driftguard_tests::stack::BUCKET) },
    });
    oversized
}

#[test]
fn an_oversized_config_item_is_read_from_s3() {
    let Some(mut ingest) = Ingest::start_with(
        "an_oversized_config_item_is_read_from_s3",
        &[("DRIFTGUARD_AWS_CONFIG_DELIVERY_BUCKET", driftguard_tests::stack::BUCKET)],
    ) else {
        return;
    };
    // The full notification Config delivers to S3 (gzip JSON), and the summary event.
    let full: Value =
        serde_json::from_slice(&event("config/security-group.configuration-item-change.json")).expect("json");
    let detail = full["detail"].clone();
    let key = "AWSLogs/123456789012/Config/eu-west-1/2026/11/20/OversizedChangeNotification/AWS::EC2::SecurityGroup/sg-0123456789abcdef0/123456789012_Config_eu-west-1_ChangeNotification_AWS::EC2::SecurityGroup_sg-0123456789abcdef0_20261120T090351Z_1795165431412.json.gz";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, detail.to_string().as_bytes()).expect("gzip");
    let body = gz.finish().expect("gzip");
    let s3 = driftguard_aws::s3_client(&ingest.stack.sdk, true);
    ingest
        .rt
        .block_on(
            s3.put_object()
                .bucket(driftguard_tests::stack::BUCKET)
                .key(key)
                .body(body.into())
                .send(),
        )
        .expect("put the full item");
    let oversized = oversized_summary(&full, key);
    let out = ingest.respond(oversized.to_string().as_bytes());
    assert_eq!(out["config_items"], 1, "{out}");
    let findings = ingest.findings();
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let ingress = findings[0]
        .changes
        .iter()
        .find(|c| c.attribute == "ingress")
        .expect("ingress compared from the full item");
    assert_eq!(ingress.found, json!(["tcp 22 0.0.0.0/0", "tcp 443 0.0.0.0/0"]));

    // A summary whose S3 object cannot be read fails, naming the object: the message goes back
    // to the queue, then to the dead-letter queue.
    let mut missing = oversized.clone();
    missing["detail"]["s3DeliverySummary"]["s3BucketLocation"] =
        json!(format!("{}/AWSLogs/missing.json.gz", driftguard_tests::stack::BUCKET));
    match ingest.invoke(missing.to_string().as_bytes()) {
        Invocation::Error(e) => {
            assert!(
                e.body["errorMessage"].as_str().is_some_and(
                    |m| m.contains("fetching oversized Config item s3://acme-tfstate/AWSLogs/missing.json.gz")
                ),
                "{e:?}"
            )
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

/// With 128 MB of memory the function reads at most 32 MiB per document: a larger object is
/// refused by its announced size, and a gzip object inflating past it is refused at the limit,
/// each naming the object and the limit, as invalid input (a retry cannot help).
#[test]
fn documents_beyond_the_memory_bound_are_refused_clearly() {
    let Some(mut ingest) = Ingest::start_with(
        "documents_beyond_the_memory_bound_are_refused_clearly",
        &[
            ("DRIFTGUARD_AWS_CONFIG_DELIVERY_BUCKET", driftguard_tests::stack::BUCKET),
            ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128"),
        ],
    ) else {
        return;
    };
    let full: Value =
        serde_json::from_slice(&event("config/security-group.configuration-item-change.json")).expect("json");
    let padded = format!("{}{}", full["detail"], " ".repeat(40 << 20));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    std::io::Write::write_all(&mut gz, padded.as_bytes()).expect("gzip");
    let bomb = gz.finish().expect("gzip");
    let s3 = driftguard_aws::s3_client(&ingest.stack.sdk, true);
    for (key, body) in [
        ("AWSLogs/123456789012/Config/big.json", padded.into_bytes()),
        ("AWSLogs/123456789012/Config/bomb.json.gz", bomb),
    ] {
        ingest
            .rt
            .block_on(
                s3.put_object()
                    .bucket(driftguard_tests::stack::BUCKET)
                    .key(key)
                    .body(body.into())
                    .send(),
            )
            .expect("put the object");
        let err = ingest
            .invoke(oversized_summary(&full, key).to_string().as_bytes())
            .expect_error();
        assert_eq!(err.body["errorType"], "InvalidInput", "{key}: {err:?}");
        let msg = err.body["errorMessage"].as_str().unwrap_or_default();
        assert!(msg.contains("33554432"), "{key}: the limit is named: {msg}");
        if key.ends_with("big.json") {
            assert!(msg.contains(&format!("s3://acme-tfstate/{key}")), "{msg}");
        }
    }
    // Still serving.
    ingest.respond(&event(
        "cloudtrail/ec2-authorize-security-group-ingress.console-sso.json",
    ));
}

#[test]
fn without_a_config_bucket_oversized_items_are_counted_not_fetched() {
    let Some(mut ingest) = Ingest::start("without_a_config_bucket_oversized_items_are_counted_not_fetched") else {
        return;
    };
    let Some(data) = driftguard_tests::corpora::shared_data(
        "without_a_config_bucket_oversized_items_are_counted_not_fetched",
        "the test returns without checking anything",
    ) else {
        return;
    };
    let path = data.join("config-cloud-custodian/omnissm-eventbridge/oversizedConfigurationItem.json");
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let out = ingest.respond(&bytes);
    assert_eq!(out["skipped"]["config_oversized"], 1, "{out}");
}

#[test]
fn each_invocation_prints_one_metrics_line_with_what_it_did() {
    let Some(mut ingest) = Ingest::start("each_invocation_prints_one_metrics_line_with_what_it_did") else {
        return;
    };
    let last = |ingest: &Ingest, invocations: usize| {
        let lines = ingest.lambda.metrics_lines(invocations, Duration::from_secs(5));
        assert_eq!(
            lines.len(),
            invocations,
            "one line per invocation:\n{}",
            ingest.lambda.logs()
        );
        lines.last().cloned().expect("a metrics line")
    };
    // A manual call on a managed bucket: one finding, published.
    let summary = ingest.respond(&event(VERSIONING_CALL));
    let m = last(&ingest, 1);
    let finding = ingest.findings().pop().expect("the finding");
    assert_eq!(m["EventsIn"], summary["events"].as_f64().expect("events"), "{summary}");
    assert_eq!(m["Findings"], 1.0);
    assert_eq!(m["FindingsByKind.drift"], 1.0);
    assert_eq!(m[&format!("FindingsBySeverity.{}", finding.severity.as_str())], 1.0);
    assert_eq!(m["DriftEventsPublished"], 1.0);
    assert_eq!((m["Joins"], m["EventsSkipped"], m["PublishFailures"]), (0.0, 0.0, 0.0));
    // Its Config item joins it: the revision is published and counted as a join.
    ingest.respond(&event(VERSIONING_ITEM));
    let m = last(&ingest, 2);
    assert_eq!((m["ConfigItems"], m["Joins"], m["Findings"]), (1.0, 1.0, 0.0), "{m:?}");
    // A redelivery is a duplicate: nothing published.
    ingest.respond(&event(VERSIONING_CALL));
    let m = last(&ingest, 3);
    assert_eq!((m["Duplicates"], m["DriftEventsPublished"]), (1.0, 0.0), "{m:?}");
    // An SQS batch: its messages add up, and a broken one is counted as failed.
    let mut batch: Value = serde_json::from_slice(&event("sqs/batch.two-records.json")).expect("batch");
    let mut broken = batch["Records"][0].clone();
    broken["messageId"] = json!("0f1e2d3c-0000-4000-8000-00000000bad1");
    broken["body"] = json!("{\"detail-type\": \"AWS API Call via CloudTrail\", \"detail\": {");
    batch["Records"].as_array_mut().expect("records").push(broken);
    ingest.respond(&serde_json::to_vec(&batch).expect("json"));
    let m = last(&ingest, 4);
    assert_eq!(
        (m["EventsIn"], m["Findings"], m["MessagesFailed"]),
        (2.0, 2.0, 1.0),
        "{m:?}"
    );
    for stage in ["states", "evaluate", "store"] {
        assert!(
            m.contains_key(&format!("DurationByStage.{stage}")),
            "{stage} timed: {m:?}"
        );
    }
}
