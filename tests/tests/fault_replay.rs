//! Faults end to end: a few thousand real-shaped CloudTrail events ([`fleet`]) go twice through
//! the compiled ingest function, delivered as Lambda's SQS event source mapping delivers them
//! (SQS records in batches of the template's size, several invocations at once; the messages a
//! partial batch response names, or the whole batch of a failed invocation, visible again and
//! redelivered; a message received the template's `maxReceiveCount` times dead-lettered) —
//! once clean, once with 10% of the DynamoDB, EventBridge and S3 requests throttled, failed
//! with a 5xx or timed out by the fault proxy. The final tables, the drift events EventBridge
//! accepted and the dead-letter queues are compared. Then
//! the compiled notify-slack function gets each run's published events (invoked as EventBridge
//! invokes it, asynchronously: a failed invocation retried as often as the template allows),
//! against a Slack receiver that refuses 10% of the calls with a 429 or a 5xx in the faulted run:
//! the messages Slack accepted must be the clean run's.
//!
//! It lives in the integration crate because it drives two functions' binaries (a function
//! package's tests only see their own); they are the workspace build's, next to this test's
//! executable. `--nocapture` prints the figures.

use driftguard_tests::fault::{Chaos, FaultProxy, Injected, Tally};
use driftguard_tests::fleet;
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi, ACCOUNT_ID, REGION};
use driftguard_tests::slack_receiver::{SlackChaos, SlackReceiver};
use driftguard_tests::stack::{workspace, Stack, BUCKET, BUS, TABLE};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Events replayed in each run.
const EVENTS: usize = 2_000;
/// Clones of the sample resources the events change.
const FLEET: usize = 40;
/// The events' and the faults' seed.
const SEED: u64 = 0x0f1e_e7d0_2026_1201;
/// Concurrent ingest invocations (the event source mapping's pollers; Lambda starts with five).
const POLLERS: usize = 4;
/// The functions' attempt timeout in this test (`DRIFTGUARD_AWS_ATTEMPT_TIMEOUT_MS`): short,
/// so the injected timeouts cost little time, and above what moto takes with four functions
/// queueing at it.
const ATTEMPT_TIMEOUT_MS: u64 = 1_000;
/// How long the proxy holds a timed-out request: past the attempt timeout.
const HOLD: Duration = Duration::from_millis(1_200);
/// Faulted share of requests, in basis points: 10%.
const FAULT_RATE_BP: u32 = 1_000;
/// How long an invocation may take before it counts as a hang (the template's timeout).
const INVOCATION_LIMIT: Duration = Duration::from_secs(60);

/// The event source mapping and queue settings of `infra/template.yaml`.
struct Delivery {
    /// `IngestFunction` → `Events.Queue.BatchSize`.
    batch_size: usize,
    /// `Queue` → `RedrivePolicy.maxReceiveCount`.
    max_receive_count: usize,
    /// `NotifySlackFunction` → `EventInvokeConfig.MaximumRetryAttempts`.
    notify_retries: usize,
}

fn delivery() -> Delivery {
    let text = std::fs::read_to_string(workspace().join("infra/template.yaml")).expect("infra/template.yaml");
    let t: serde_yaml::Value = serde_yaml::from_str(&text).expect("the template parses");
    let number = |path: &[&str]| -> usize {
        let v = path.iter().fold(&t, |v, k| &v[*k]);
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .and_then(|n| usize::try_from(n).ok())
            .unwrap_or_else(|| panic!("infra/template.yaml has no number at {path:?}"))
    };
    Delivery {
        batch_size: number(&[
            "Resources",
            "IngestFunction",
            "Properties",
            "Events",
            "Queue",
            "Properties",
            "BatchSize",
        ]),
        max_receive_count: number(&["Resources", "Queue", "Properties", "RedrivePolicy", "maxReceiveCount"]),
        notify_retries: number(&[
            "Resources",
            "NotifySlackFunction",
            "Properties",
            "EventInvokeConfig",
            "MaximumRetryAttempts",
        ]),
    }
}

/// A compiled function of the workspace, beside this test's executable (`target/<profile>/`).
fn function_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    let binary = dir.join(name);
    assert!(
        binary.is_file(),
        "{} is not built: run the test through the workspace (cargo test --workspace --test fault_replay), which builds every function",
        binary.display()
    );
    binary
}

/// What one ingest run did.
#[derive(Debug, Default)]
struct IngestFigures {
    invocations: usize,
    /// Invocations that failed as a whole (every message comes back).
    failed_invocations: usize,
    /// Messages a partial batch response named.
    reported_failed: usize,
    /// Deliveries of a message after its first.
    redeliveries: usize,
    /// The bodies of the messages the queue dead-lettered.
    dead_lettered: Vec<String>,
    wall: Duration,
    tally: BTreeMap<(String, String), Tally>,
}

/// The ingest queue as Lambda's event source mapping sees it: messages in order, each with its
/// receive count; a batch received is in flight until settled; a failed message is visible
/// again (SQS: after the visibility timeout), and a message already received
/// `maxReceiveCount` times is moved to the dead-letter queue when it would be received again,
/// as SQS's redrive policy does. (moto's SQS is the real protocol, but with 2,000 messages
/// queued it takes seconds per `ReceiveMessage`: too slow for this test's volume.)
#[derive(Default)]
struct Queue {
    visible: std::collections::VecDeque<Message>,
    in_flight: usize,
    dead: Vec<Message>,
    sent: usize,
}

#[derive(Clone)]
struct Message {
    id: String,
    body: String,
    receive_count: u32,
    sent_ms: i64,
    first_received_ms: Option<i64>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

impl Queue {
    fn send(&mut self, body: String) {
        let n = self.sent;
        self.sent += 1;
        self.visible.push_back(Message {
            id: format!("5e1f0c2a-{:04x}-4b7e-9c3d-{n:012x}", n % 0xffff),
            body,
            receive_count: 0,
            sent_ms: now_ms(),
            first_received_ms: None,
        });
    }

    fn receive(&mut self, max: usize, max_receive_count: u32) -> Vec<Message> {
        let mut out = Vec::new();
        while out.len() < max {
            let Some(mut m) = self.visible.pop_front() else { break };
            if m.receive_count >= max_receive_count {
                self.dead.push(m);
                continue;
            }
            m.receive_count += 1;
            m.first_received_ms.get_or_insert_with(now_ms);
            out.push(m);
        }
        self.in_flight += out.len();
        out
    }

    fn settle(&mut self, batch: Vec<Message>, failed: &BTreeSet<String>) {
        self.in_flight -= batch.len();
        for m in batch {
            if failed.contains(&m.id) {
                self.visible.push_back(m);
            }
        }
    }

    fn drained(&self) -> bool {
        self.visible.is_empty() && self.in_flight == 0
    }
}

/// A poller's claim to be working on a batch: released on drop, also by a panic (which stops
/// the other pollers).
struct Working<'a> {
    busy: &'a AtomicUsize,
    aborted: &'a AtomicBool,
}

impl<'a> Working<'a> {
    fn start(busy: &'a AtomicUsize, aborted: &'a AtomicBool) -> Working<'a> {
        busy.fetch_add(1, Ordering::SeqCst);
        Working { busy, aborted }
    }
}

impl Drop for Working<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.aborted.store(true, Ordering::SeqCst);
        }
        self.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

/// One run: moto with the stack and the fleet, the fault proxy in front of it for the
/// functions, and the ingest queue.
struct Run {
    rt: Arc<tokio::runtime::Runtime>,
    stack: Stack,
    proxy: FaultProxy,
    queue: Mutex<Queue>,
    /// Set when a poller panicked, so the others stop instead of waiting for it.
    aborted: AtomicBool,
}

impl Run {
    fn start(test: &str) -> Option<Run> {
        let rt = Arc::new(
            tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("tokio runtime"),
        );
        let stack = rt.block_on(Stack::start(test))?;
        let proxy = FaultProxy::start(&stack.moto.endpoint(), Vec::new());
        // What EventBridge accepted is read from the PutEvents exchanges: moto's rule delivery
        // to its SQS queue costs tens of milliseconds a message at this volume.
        proxy.capture("PutEvents");
        proxy.one_at_a_time();
        rt.block_on(async {
            driftguard_aws::s3_client(&stack.sdk, true)
                .put_object()
                .bucket(BUCKET)
                .key(fleet::STATE_KEY)
                .body(fleet::state(FLEET).to_string().into_bytes().into())
                .send()
                .await
                .expect("put the fleet's state");
            aws_sdk_eventbridge::Client::new(&stack.sdk)
                .remove_targets()
                .rule("driftguard-to-queue")
                .event_bus_name(BUS)
                .ids("queue")
                .send()
                .await
                .expect("remove the rule's queue target");
        });
        Some(Run {
            rt,
            stack,
            proxy,
            queue: Mutex::new(Queue::default()),
            aborted: AtomicBool::new(false),
        })
    }

    fn queue(&self) -> std::sync::MutexGuard<'_, Queue> {
        self.queue.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends every event to the ingest queue, as EventBridge's rule target does.
    fn enqueue(&self, events: &[Value]) {
        let mut queue = self.queue();
        for e in events {
            queue.send(e.to_string());
        }
    }

    /// Lambda's SQS event source mapping with `POLLERS` concurrent invocations, each its own
    /// function process, until the queue is empty.
    fn drain_through_ingest(&self, delivery: &Delivery) -> IngestFigures {
        let binary = function_binary("driftguard-ingest");
        let mut env = self.stack.ingest_env();
        for (k, v) in &mut env {
            if k == "AWS_ENDPOINT_URL" {
                *v = self.proxy.endpoint();
            }
            if k == "RUST_LOG" {
                *v = "warn".into();
            }
        }
        env.push((
            driftguard_aws::ATTEMPT_TIMEOUT_VAR.into(),
            ATTEMPT_TIMEOUT_MS.to_string(),
        ));
        // CloudFormation lookups have a per-invocation budget: which changes get one would
        // depend on how messages fall into batches, which redeliveries change.
        env.push(("DRIFTGUARD_CLOUDFORMATION_DRIFT_CHECKS".into(), "0".into()));
        let started = Instant::now();
        let figures = Mutex::new(IngestFigures::default());
        let busy = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..POLLERS {
                let (figures, busy, env, binary) = (&figures, &busy, env.clone(), binary.clone());
                scope.spawn(move || self.poll(&binary, &env, delivery, figures, busy));
            }
        });
        let mut figures = figures.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner);
        figures.wall = started.elapsed();
        figures.tally = self.proxy.tally();
        figures.dead_lettered = self.queue().dead.iter().map(|m| m.body.clone()).collect();
        figures
    }

    fn poll(
        &self,
        binary: &std::path::Path,
        env: &[(String, String)],
        delivery: &Delivery,
        figures: &Mutex<IngestFigures>,
        busy: &AtomicUsize,
    ) {
        let api = RuntimeApi::start_named("driftguard-ingest");
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut lambda = LambdaProcess::spawn(binary, &api, &env);
        let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:driftguard-ingest");
        let max_receive = u32::try_from(delivery.max_receive_count).unwrap_or(u32::MAX);
        loop {
            if self.aborted.load(Ordering::SeqCst) {
                return;
            }
            let working = Working::start(busy, &self.aborted);
            let messages = self.queue().receive(delivery.batch_size, max_receive);
            if messages.is_empty() {
                drop(working);
                if busy.load(Ordering::SeqCst) == 0 && self.queue().drained() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
            let records: Vec<Value> = messages
                .iter()
                .map(|m| {
                    json!({
                        "messageId": m.id,
                        "receiptHandle": format!("AQEB{}{:08x}", m.id.replace('-', ""), m.receive_count),
                        "body": m.body,
                        "attributes": {
                            "ApproximateReceiveCount": m.receive_count.to_string(),
                            "SentTimestamp": m.sent_ms.to_string(),
                            "SenderId": "AROAEXAMPLEEVENTBRIDGE:events",
                            "ApproximateFirstReceiveTimestamp": m.first_received_ms.unwrap_or(0).to_string(),
                        },
                        "messageAttributes": {},
                        "eventSource": "aws:sqs",
                        "eventSourceARN": queue_arn,
                        "awsRegion": REGION,
                    })
                })
                .collect();
            let redelivered = messages.iter().filter(|m| m.receive_count > 1).count();
            let event = json!({ "Records": records }).to_string();
            let outcome = lambda.invoke(event.as_bytes(), INVOCATION_LIMIT);
            let failed: BTreeSet<String> = match &outcome {
                Invocation::Response(answer) => answer["batchItemFailures"]
                    .as_array()
                    .map(|f| {
                        f.iter()
                            .filter_map(|i| i["itemIdentifier"].as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default(),
                // The whole batch comes back after the visibility timeout.
                Invocation::Error(_) => messages.iter().map(|m| m.id.clone()).collect(),
                other => panic!("ingest did not answer: {other:?}\n{}", lambda.logs()),
            };
            {
                let mut f = figures.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                f.invocations += 1;
                f.redeliveries += redelivered;
                match &outcome {
                    Invocation::Error(_) => f.failed_invocations += 1,
                    _ => f.reported_failed += failed.len(),
                }
            }
            self.queue().settle(messages, &failed);
            drop(working);
        }
    }

    /// Every item of the table, normalised (see [`normalise`]), by key.
    fn table(&self) -> BTreeMap<(String, String), Value> {
        let client = aws_sdk_dynamodb::Client::new(&self.stack.sdk);
        let mut out = BTreeMap::new();
        self.rt.block_on(async {
            let mut start = None;
            loop {
                let page = client
                    .scan()
                    .table_name(TABLE)
                    .set_exclusive_start_key(start)
                    .send()
                    .await
                    .expect("scan the table");
                for item in page.items() {
                    let value = item_json(item);
                    let key = (
                        value["pk"].as_str().unwrap_or("").to_owned(),
                        value["sk"].as_str().unwrap_or("").to_owned(),
                    );
                    out.insert(key, normalise(value));
                }
                start = page.last_evaluated_key;
                if start.is_none() {
                    break;
                }
            }
        });
        out
    }

    /// The drift events EventBridge accepted: each entry of a `PutEvents` the bus answered
    /// without an error for it (whether or not the function got the answer), as
    /// `{"detail-type", "detail"}`.
    fn published(&self) -> Vec<Value> {
        let mut out = Vec::new();
        for x in self.proxy.captured() {
            if x.status != 200 {
                continue;
            }
            let request: Value = serde_json::from_slice(&x.request).unwrap_or(Value::Null);
            let answer: Value = serde_json::from_slice(&x.response).unwrap_or(Value::Null);
            let entries = request["Entries"].as_array().cloned().unwrap_or_default();
            for (i, entry) in entries.iter().enumerate() {
                if answer["Entries"][i]["EventId"].is_string() && answer["Entries"][i]["ErrorCode"].is_null() {
                    let detail: Option<Value> = entry["Detail"].as_str().and_then(|d| serde_json::from_str(d).ok());
                    // As the bus delivers it to a rule's target.
                    out.push(json!({
                        "version": "0", "id": answer["Entries"][i]["EventId"], "detail-type": entry["DetailType"],
                        "source": entry["Source"], "account": ACCOUNT_ID, "time": entry["Time"], "region": REGION,
                        "resources": entry["Resources"].as_array().cloned().unwrap_or_default(), "detail": detail,
                    }));
                }
            }
        }
        out
    }
}

/// A DynamoDB item as JSON: strings, numbers (as text), and `doc` parsed.
fn item_json(item: &std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue>) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue;
    let mut out = serde_json::Map::new();
    for (k, v) in item {
        let value = match v {
            AttributeValue::S(s) if k == "doc" => serde_json::from_str(s).unwrap_or_else(|_| json!(s)),
            AttributeValue::S(s) => json!(s),
            AttributeValue::N(n) => json!(format!("N:{n}")),
            AttributeValue::Bool(b) => json!(b),
            other => json!(format!("{other:?}")),
        };
        out.insert(k.clone(), value);
    }
    Value::Object(out)
}

/// What may legitimately differ between two runs of the same events, taken out:
///
/// - `EVENT#` (processed markers): `expires_at` is the processing time plus the TTL.
/// - `RES#` records: `doc.findings` lists the resource's finding ids in the order their writes
///   won, which concurrent invocations and retries change; it is compared as a set (sorted).
///   `version` counts the record's successful writes: a lost-answer retry or a version conflict
///   adds one without changing the content.
/// - `FINDING#`: `version` likewise.
///
/// Everything else, every finding document whole, is compared as stored.
fn normalise(mut item: Value) -> Value {
    let pk = item["pk"].as_str().unwrap_or("").to_owned();
    let obj = item.as_object_mut().expect("an item is an object");
    if pk.starts_with("EVENT#") {
        obj.remove("expires_at");
    }
    if pk.starts_with("RES#") || pk.starts_with("FINDING#") {
        obj.remove("version");
    }
    if pk.starts_with("RES#") {
        if let Some(ids) = obj
            .get_mut("doc")
            .and_then(|d| d.get_mut("findings"))
            .and_then(Value::as_array_mut)
        {
            ids.sort_by(|a, b| a.as_str().cmp(&b.as_str()));
        }
    }
    item
}

/// Published events by key: the detail-type and detail of each, and how many copies arrived.
fn by_key(published: &[Value]) -> BTreeMap<String, (Value, usize)> {
    let mut out: BTreeMap<String, (Value, usize)> = BTreeMap::new();
    for e in published {
        let key = e["detail"]["key"].as_str().unwrap_or("").to_owned();
        let body = json!({ "detail-type": e["detail-type"], "detail": e["detail"] });
        let entry = out.entry(key.clone()).or_insert((body.clone(), 0));
        assert_eq!(entry.0, body, "two copies of {key} differ");
        entry.1 += 1;
    }
    out
}

/// The JSON paths (`/detail/finding/revision`) at which `a` and `b` differ.
fn json_diff(at: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                let child = format!("{at}/{k}");
                json_diff(
                    &child,
                    x.get(k).unwrap_or(&Value::Null),
                    y.get(k).unwrap_or(&Value::Null),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                json_diff(&format!("{at}/{i}"), p, q, out);
            }
        }
        _ if a != b => out.push(at.to_owned()),
        _ => {}
    }
}

/// The order notify-slack gets the events in: by when the transition happened (the call for
/// `Drift Detected`, the resolving change for `Drift Resolved`), then key.
fn in_time_order(events: &mut [Value]) {
    let at = |e: &Value| {
        let f = &e["detail"]["finding"];
        let time = if e["detail-type"] == "Drift Resolved" {
            f["resolution"]["time"].as_str()
        } else {
            f["call"]["time"].as_str()
        };
        (
            time.unwrap_or("").to_owned(),
            e["detail-type"].as_str().unwrap_or("").to_owned(),
            e["detail"]["key"].as_str().unwrap_or("").to_owned(),
        )
    };
    events.sort_by_key(at);
}

/// What one notify-slack run did.
#[derive(Debug, Default)]
struct NotifyFigures {
    invocations: usize,
    /// Invocations that failed and were retried (Lambda's asynchronous retries).
    retried: usize,
    /// Events that failed every attempt (Lambda's on-failure destination: the DLQ).
    dead_lettered: Vec<String>,
    /// Answers by `status`.
    statuses: BTreeMap<String, usize>,
    /// What Slack accepted, normalised (see [`accepted_posts`]).
    accepted: Vec<Value>,
    requests: usize,
    rate_limited: usize,
    server_errors: usize,
    wall: Duration,
}

const TOKEN: &str = "xoxb-0000000000-1111111111111-FaultReplayToken";

/// Runs notify-slack on `events` (in order) against `run`'s table and a fresh receiver.
fn notify(run: &Run, events: &[Value], chaos: Option<SlackChaos>, delivery: &Delivery) -> NotifyFigures {
    let slack = SlackReceiver::start();
    slack.expect_token(TOKEN);
    if let Some(chaos) = chaos {
        slack.chaos(chaos);
    }
    let api = RuntimeApi::start_named("driftguard-notify-slack");
    let env = [
        ("AWS_ENDPOINT_URL", run.stack.moto.endpoint()),
        ("DRIFTGUARD_TABLE", TABLE.to_owned()),
        ("DRIFTGUARD_SLACK_API_BASE", slack.api_base()),
        ("DRIFTGUARD_SLACK_BOT_TOKEN", TOKEN.to_owned()),
        ("DRIFTGUARD_SLACK_CHANNEL", "C0DEFAULT".to_owned()),
        (
            "DRIFTGUARD_SLACK_ROUTES",
            r#"[{"channel":"C0SECURITY","severity":["critical"]}]"#.to_owned(),
        ),
        (driftguard_aws::ATTEMPT_TIMEOUT_VAR, ATTEMPT_TIMEOUT_MS.to_string()),
        ("RUST_LOG", "warn".to_owned()),
    ];
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut lambda = LambdaProcess::spawn(&function_binary("driftguard-notify-slack"), &api, &env);
    let started = Instant::now();
    let mut figures = NotifyFigures::default();
    let mut pending: Vec<&Value> = events.iter().collect();
    for attempt in 0..=delivery.notify_retries {
        let mut failed = Vec::new();
        for event in pending {
            figures.invocations += 1;
            match lambda.invoke(event.to_string().as_bytes(), INVOCATION_LIMIT) {
                Invocation::Response(answer) => {
                    let status = answer["status"].as_str().unwrap_or("?").to_owned();
                    *figures.statuses.entry(status).or_insert(0) += 1;
                }
                Invocation::Error(e) => {
                    assert_eq!(
                        e.error_type(),
                        Some("Retryable"),
                        "only a retryable failure is expected: {e:?}"
                    );
                    failed.push(event);
                }
                other => panic!("notify-slack did not answer: {other:?}\n{}", lambda.logs()),
            }
        }
        if attempt < delivery.notify_retries {
            figures.retried += failed.len();
        } else {
            figures.dead_lettered = failed
                .iter()
                .map(|e| e["detail"]["key"].as_str().unwrap_or("").to_owned())
                .collect();
        }
        pending = failed;
        if pending.is_empty() {
            break;
        }
    }
    figures.wall = started.elapsed();
    figures.requests = slack.requests().len();
    let count = slack.chaos_count();
    (figures.rate_limited, figures.server_errors) = (count.rate_limited, count.server_errors);
    figures.accepted = accepted_posts(&slack);
    figures
}

/// The calls Slack accepted, sorted: the method and the body, with `ts` / `thread_ts` (the
/// receiver numbers messages in the order they arrive, which retries change) replaced by
/// whether they were there — the message they point at is named by its content.
fn accepted_posts(slack: &SlackReceiver) -> Vec<Value> {
    let mut out: Vec<Value> = slack
        .accepted()
        .into_iter()
        .map(|r| {
            let mut body = r.json.unwrap_or(Value::Null);
            for field in ["ts", "thread_ts"] {
                if let Some(obj) = body.as_object_mut() {
                    if obj.contains_key(field) {
                        obj.insert(field.to_owned(), json!("<ts>"));
                    }
                }
            }
            json!({ "path": r.path, "body": body })
        })
        .collect();
    out.sort_by_key(Value::to_string);
    out
}

fn print_tally(label: &str, tally: &BTreeMap<(String, String), Tally>, clean: &BTreeMap<(String, String), Tally>) {
    let mut services: BTreeMap<&str, (usize, usize, BTreeMap<Injected, usize>)> = BTreeMap::new();
    for ((service, _), t) in tally {
        let s = services.entry(service.as_str()).or_default();
        s.0 += t.seen;
        for (k, n) in &t.injected {
            *s.2.entry(*k).or_insert(0) += n;
        }
    }
    for ((service, _), t) in clean {
        services.entry(service.as_str()).or_default().1 += t.seen;
    }
    for (service, (seen, clean_seen, injected)) in services {
        let kinds: Vec<String> = Injected::ALL
            .iter()
            .map(|k| format!("{} {}", k.name(), injected.get(k).copied().unwrap_or(0)))
            .collect();
        println!(
            "  {label} {service:<9} requests {seen:>6} (clean run {clean_seen:>6}, extra attempts {:>5}); faults {}",
            seen as i64 - clean_seen as i64,
            kinds.join(", ")
        );
    }
    for ((service, op), t) in tally {
        if t.faults() > 0 {
            let clean_seen = clean.get(&(service.clone(), op.clone())).map_or(0, |c| c.seen);
            println!(
                "    {service}:{op:<22} requests {:>6} (clean {clean_seen:>6}) faults {:>4}",
                t.seen,
                t.faults()
            );
        }
    }
}

#[test]
#[cfg_attr(driftguard_no_moto, ignore = "needs moto_server (pip install moto[server]), absent")]
fn a_replay_with_ten_percent_faults_ends_like_a_clean_one() {
    let delivery = delivery();
    let events = fleet::events(EVENTS, FLEET, SEED);

    // The clean run (through the proxy too, calm, to count its requests).
    let Some(clean) = Run::start("a_replay_with_ten_percent_faults_ends_like_a_clean_one (clean)") else {
        return;
    };
    clean.enqueue(&events);
    let clean_ingest = clean.drain_through_ingest(&delivery);
    let clean_table = clean.table();
    let clean_published = clean.published();

    // The faulted run: 10% of DynamoDB, EventBridge and S3 requests.
    let faulted = Run::start("a_replay_with_ten_percent_faults_ends_like_a_clean_one (faulted)")
        .expect("moto started for the clean run");
    faulted.proxy.chaos(Chaos {
        seed: SEED,
        rate_bp: FAULT_RATE_BP,
        services: vec!["dynamodb", "events", "s3"],
        kinds: vec![
            (Injected::Throttle, 4),
            (Injected::ServerError, 3),
            (Injected::Timeout, 2),
            (Injected::LostAnswer, 1),
        ],
        hold: HOLD,
    });
    faulted.enqueue(&events);
    let faulted_ingest = faulted.drain_through_ingest(&delivery);
    faulted.proxy.calm();
    let faulted_table = faulted.table();
    let faulted_published = faulted.published();

    let findings = clean_table.keys().filter(|(pk, _)| pk.starts_with("FINDING#")).count();
    let open = clean_table
        .iter()
        .filter(|((pk, _), v)| pk.starts_with("FINDING#") && v["status"] == "open")
        .count();
    println!(
        "fault replay: {EVENTS} events on a fleet of {FLEET}, batches of {}, {POLLERS} concurrent invocations, attempt timeout {ATTEMPT_TIMEOUT_MS} ms",
        delivery.batch_size
    );
    for (label, f) in [("clean  ", &clean_ingest), ("faulted", &faulted_ingest)] {
        println!(
            "  {label} ingest: {:.1} s, {} invocations ({} failed whole), {} messages reported failed, {} redeliveries, {} dead-lettered",
            f.wall.as_secs_f64(),
            f.invocations,
            f.failed_invocations,
            f.reported_failed,
            f.redeliveries,
            f.dead_lettered.len()
        );
    }
    print_tally("faulted", &faulted_ingest.tally, &clean_ingest.tally);
    println!(
        "  table: {} items, {findings} findings ({open} open)",
        clean_table.len()
    );

    // Nothing retryable is dead-lettered: every event here is readable, so nothing at all.
    assert!(
        clean_ingest.dead_lettered.is_empty(),
        "{:?}",
        clean_ingest.dead_lettered
    );
    assert!(
        faulted_ingest.dead_lettered.is_empty(),
        "dead-lettered under faults: {:?}",
        faulted_ingest
            .dead_lettered
            .iter()
            .map(|body| serde_json::from_str::<Value>(body)
                .map(|e| e["detail"]["eventID"].clone())
                .unwrap_or(Value::Null))
            .collect::<Vec<_>>()
    );
    let injected: usize = faulted_ingest.tally.values().map(Tally::faults).sum();
    let seen: usize = faulted_ingest.tally.values().map(|t| t.seen).sum();
    assert!(
        injected * 100 >= seen * 7,
        "about 10% of the requests were faulted ({injected} of {seen})"
    );
    assert!(findings >= 100, "the replay produces findings ({findings})");

    // The final tables are the same, item by item.
    let only_clean: Vec<_> = clean_table.keys().filter(|k| !faulted_table.contains_key(*k)).collect();
    let only_faulted: Vec<_> = faulted_table.keys().filter(|k| !clean_table.contains_key(*k)).collect();
    assert!(
        only_clean.is_empty() && only_faulted.is_empty(),
        "items only in the clean run: {only_clean:?}\nonly in the faulted run: {only_faulted:?}"
    );
    let differing: Vec<_> = clean_table
        .iter()
        .filter(|(k, v)| faulted_table.get(*k) != Some(*v))
        .map(|(k, v)| format!("{k:?}\n  clean:   {v}\n  faulted: {}", faulted_table[k]))
        .take(3)
        .collect();
    assert!(differing.is_empty(), "items differ:\n{}", differing.join("\n"));
    assert!(
        !clean_table.keys().any(|(pk, _)| pk.starts_with("OUTBOX#")),
        "the outbox is empty after the run"
    );

    // The same drift events were published; a copy more only where EventBridge took a
    // PutEvents whose answer was lost (the outbox row stays, the retry sends it again under the
    // same key: notify-slack claims deliveries by key, so the copy posts nothing).
    let clean_keys = by_key(&clean_published);
    let faulted_keys = by_key(&faulted_published);
    assert!(
        clean_keys.values().all(|(_, n)| *n == 1),
        "a clean run publishes each transition once"
    );
    let clean_bodies: BTreeMap<&String, &Value> = clean_keys.iter().map(|(k, (v, _))| (k, v)).collect();
    let faulted_bodies: BTreeMap<&String, &Value> = faulted_keys.iter().map(|(k, (v, _))| (k, v)).collect();
    assert_eq!(
        clean_bodies.keys().collect::<Vec<_>>(),
        faulted_bodies.keys().collect::<Vec<_>>(),
        "the same transitions were published"
    );
    // A published body is the finding as it stood when it was sent. Evidence that joins a
    // finding (a Config item, the call behind one) may arrive before or after the transition
    // when a redelivered batch is read late, so the revision and the joined evidence it carried
    // may differ, and so may the status of a finding the run ends with resolved; nothing else.
    let mut differing = Vec::new();
    for (key, clean_body) in &clean_bodies {
        let mut paths = Vec::new();
        json_diff("", clean_body, faulted_bodies[key], &mut paths);
        // A transition published late (its PutEvents faulted, retried from the outbox, in the
        // same invocation or a later one) may carry the finding as it then stood: resolved,
        // where the table ends with it resolved.
        let id = key.split(':').next().unwrap_or("");
        let resolved = clean_table
            .iter()
            .any(|((pk, _), v)| pk == &format!("FINDING#{id}") && v["status"] == "resolved");
        // A late publish needs no redelivery (the outbox retries it); evidence read late does.
        let late: &[&str] = if resolved {
            &["/detail/finding/status", "/detail/finding/resolution"]
        } else {
            &[]
        };
        let read_late: &[&str] = if faulted_ingest.redeliveries > 0 {
            &["/detail/finding/revision", "/detail/finding/config"]
        } else {
            &[]
        };
        let by_order = |p: &String| {
            late.iter()
                .chain(read_late)
                .any(|allowed| p == allowed || p.starts_with(&format!("{allowed}/")))
        };
        if paths.iter().any(|p| !by_order(p)) {
            differing.push(format!("{key}: {}", paths.join(", ")));
        }
    }
    assert!(
        differing.is_empty(),
        "the published events carry the same findings; these differ (JSON paths):\n{}",
        differing.join("\n")
    );
    let copies: usize = faulted_keys.values().map(|(_, n)| n - 1).sum();
    let lost_put_events = faulted_ingest
        .tally
        .get(&("events".to_owned(), "PutEvents".to_owned()))
        .and_then(|t| t.injected.get(&Injected::LostAnswer).copied())
        .unwrap_or(0);
    let detected = clean_keys
        .values()
        .filter(|(v, _)| v["detail-type"] == "Drift Detected")
        .count();
    println!(
        "  published: {} events ({detected} Drift Detected, {} Drift Resolved); faulted run {} copies more ({lost_put_events} PutEvents answers lost)",
        clean_keys.len(),
        clean_keys.len() - detected,
        copies
    );
    assert!(
        copies <= lost_put_events * 10,
        "{copies} duplicate events, more than the {lost_put_events} lost PutEvents answers (of up to 10 entries) explain"
    );

    // notify-slack on each run's events: the faulted run's Slack refuses 10% of the calls.
    let mut clean_events = clean_published.clone();
    in_time_order(&mut clean_events);
    let mut faulted_events: Vec<Value> = Vec::new();
    let mut copies_last: Vec<Value> = Vec::new();
    let mut seen_keys = BTreeSet::new();
    for e in faulted_published {
        let key = e["detail"]["key"].as_str().unwrap_or("").to_owned();
        if seen_keys.insert(key) {
            faulted_events.push(e);
        } else {
            copies_last.push(e);
        }
    }
    in_time_order(&mut faulted_events);
    faulted_events.extend(copies_last);
    let clean_notify = notify(&clean, &clean_events, None, &delivery);
    let faulted_notify = notify(
        &faulted,
        &faulted_events,
        Some(SlackChaos {
            seed: SEED,
            rate_bp: FAULT_RATE_BP,
            rate_limited_bp: 3_000,
            retry_after_s: 1,
        }),
        &delivery,
    );
    for (label, f) in [("clean  ", &clean_notify), ("faulted", &faulted_notify)] {
        println!(
            "  {label} notify-slack: {:.1} s, {} invocations ({} retried, {} dead-lettered), {} Slack requests ({} answered 429, {} 5xx), {} accepted; answers {:?}",
            f.wall.as_secs_f64(),
            f.invocations,
            f.retried,
            f.dead_lettered.len(),
            f.requests,
            f.rate_limited,
            f.server_errors,
            f.accepted.len(),
            f.statuses
        );
    }
    assert!(
        faulted_notify.dead_lettered.is_empty(),
        "{:?}",
        faulted_notify.dead_lettered
    );
    assert!(
        faulted_notify.rate_limited + faulted_notify.server_errors > 0,
        "Slack refused some calls"
    );
    let posts = clean_notify
        .accepted
        .iter()
        .filter(|p| p["path"] == "/api/chat.postMessage")
        .count();
    assert!(posts >= 20, "the clean run posts alerts ({posts})");
    if clean_notify.accepted != faulted_notify.accepted {
        let missing: Vec<_> = clean_notify
            .accepted
            .iter()
            .filter(|p| !faulted_notify.accepted.contains(p))
            .take(2)
            .collect();
        let extra: Vec<_> = faulted_notify
            .accepted
            .iter()
            .filter(|p| !clean_notify.accepted.contains(p))
            .take(2)
            .collect();
        panic!(
            "Slack accepted {} calls in the faulted run, {} in the clean one\nmissing: {missing:#?}\nextra: {extra:#?}",
            faulted_notify.accepted.len(),
            clean_notify.accepted.len()
        );
    }
    // One alert per finding: no two top-level posts alike (thread replies may repeat a text).
    let mut alerts: Vec<&Value> = clean_notify
        .accepted
        .iter()
        .filter(|p| p["path"] == "/api/chat.postMessage" && p["body"].get("thread_ts").is_none())
        .collect();
    let n = alerts.len();
    alerts.dedup();
    assert_eq!(alerts.len(), n, "a clean run posts each alert once");
    // The faulted run answered every event as the clean one did, plus a "duplicate" for each copy.
    let mut statuses = faulted_notify.statuses.clone();
    assert_eq!(
        statuses.remove("duplicate").unwrap_or(0),
        copies,
        "each copy is a duplicate"
    );
    assert_eq!(statuses, clean_notify.statuses);
}
