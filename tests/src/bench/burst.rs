//! A burst: many thousands of real-shaped CloudTrail events ([`fleet::Mix`]: the samples'
//! manual changes, Terraform's reverts, buckets made by hand, and the read-only, refused,
//! service and sign-in calls a trail is mostly made of) arriving within a minute, drained by
//! ingest instances as Lambda's SQS event source mapping drives them: each poller one
//! instance, batches of the template's size taken as soon as there are messages (the
//! template's batching window is 0), a partial batch response's messages visible again, a
//! message received `maxReceiveCount` times dead-lettered.
//!
//! First, moto's own SQS is measured ([`Options::intake_probe`]): events sent to a queue with
//! `SendMessageBatch` as fast as moto takes them for the arrival time, and one
//! `ReceiveMessage` at the depth reached. moto's queue scans every message on each receive,
//! so at burst depths it cannot feed the functions; the burst is then delivered from a queue
//! in the harness with SQS's semantics (the report says so, with moto's figures), while
//! DynamoDB, EventBridge and S3 stay moto's, reached through the counting proxy (one request
//! at a time: moto's conditional writes are not atomic under concurrency, DynamoDB's are).
//!
//! The run is checked, not timed: every finding the same events give through core's service
//! on the in-memory store (the reference) is in the table exactly as there (status and kind),
//! no other; the outbox is empty; every drift event the reference publishes was accepted by
//! EventBridge exactly once, by key, and no other; nothing was dead-lettered.

use super::latency::{ingest_env, ingest_warm_up};
use super::wiring::Wiring;
use super::{cpu_seconds, now_us, peak_rss_kb, start_instance, tail, Binaries};
use crate::fault::FaultProxy;
use crate::fleet;
use crate::moto::MotoServer;
use crate::runtime_api::{Invocation, ACCOUNT_ID, REGION};
use crate::stack::{workspace, Stack, BUCKET, BUS, STATE_PREFIX, TABLE};
use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use driftguard_core::attribution::AttributionConfig;
use driftguard_core::decode::{self, Position};
use driftguard_core::inventory::Inventory;
use driftguard_core::pipeline::{Evaluation, Pipeline};
use driftguard_core::ports::{FindingStore, MemoryStore, Query};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How a burst is played.
#[derive(Debug, Clone)]
pub struct Options {
    /// Events in the burst.
    pub events: usize,
    /// The time over which they arrive, evenly (zero: all at once).
    pub arrival: Duration,
    /// Ingest instances, one poller each.
    pub instances: usize,
    /// Clones in the fleet the events change.
    pub fleet: usize,
    /// The events' seed.
    pub seed: u64,
    /// How long to measure moto's SQS intake first (`None`: not measured).
    pub intake_probe: Option<Duration>,
    /// Whether DynamoDB's requests and answers are kept to price them ([`super::capacity`]):
    /// a few KB per request held to the end, so for runs of tens of thousands of events.
    pub units: bool,
    /// When the run stops if the queue is not drained by then (the report then says how many
    /// events were handled, and the checks are not made).
    pub deadline: Option<Duration>,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            events: 100_000,
            arrival: Duration::from_secs(60),
            instances: 5,
            fleet: 1_000,
            seed: 0x0f1e_e7b5_2026_1124,
            intake_probe: Some(Duration::from_secs(60)),
            units: false,
            deadline: None,
        }
    }
}

/// moto's SQS under the burst.
#[derive(Debug, Clone, Default)]
pub struct Intake {
    /// Messages moto took within the probe.
    pub sent: usize,
    /// The probe's length.
    pub elapsed: Duration,
    /// `SendMessageBatch` requests it answered.
    pub requests: usize,
    /// How long one `ReceiveMessage` of ten took at that depth.
    pub receive_at_depth: Duration,
}

/// What a burst measured and found.
#[derive(Debug, Clone, Default)]
pub struct Report {
    /// How it was played.
    pub options: Option<Options>,
    /// The template's settings.
    pub wiring: String,
    /// moto's SQS intake, when probed.
    pub intake: Option<Intake>,
    /// The reference's outcome counts: events, findings (open, resolved), drift events.
    pub expected: (usize, usize, usize, usize),
    /// From the first arrival to the queue drained (or the deadline).
    pub wall: Duration,
    /// Events handled (all of them unless the deadline came first).
    pub handled: usize,
    /// When the last event arrived.
    pub arrived: Duration,
    /// The most messages waiting at once, and the backlog when the last one arrived.
    pub backlog: (usize, usize),
    /// Invocations, whole-batch failures, messages reported failed, redeliveries.
    pub invocations: (usize, usize, usize, usize),
    /// Requests the functions made, by (service, operation).
    pub requests: BTreeMap<(String, String), usize>,
    /// How long moto took to answer them, in all (the proxy lets one request through at a
    /// time, so this is how long moto was busy with the functions).
    pub answering: Duration,
    /// CPU seconds: ingest instances (sum), moto.
    pub cpu: (f64, f64),
    /// The largest peak RSS of an instance (KB).
    pub peak_rss_kb: u64,
    /// DynamoDB request units, when kept ([`Options::units`]).
    pub units: Option<super::capacity::Units>,
    /// What the checks found wrong (empty: nothing lost, duplicated or different).
    pub problems: Vec<String>,
}

/// The reference: what core's service gives for the same events on the in-memory store.
struct Expected {
    /// Finding id → (status, kind).
    findings: BTreeMap<String, (String, String)>,
    /// Drift event keys published.
    keys: BTreeSet<String>,
}

/// Evaluates and stores every event in process, as ingest does, on the in-memory store.
fn expected(
    rt: &tokio::runtime::Runtime,
    mix: &fleet::Mix,
    options: &Options,
    wiring: &Wiring,
) -> Result<Expected, String> {
    let mut inventory = Inventory::new();
    for name in ["network.tfstate", "data.tfstate"] {
        let bytes =
            std::fs::read(workspace().join("events/terraform").join(name)).map_err(|e| format!("{name}: {e}"))?;
        inventory
            .add_state(&format!("s3://{BUCKET}/{STATE_PREFIX}{name}"), &bytes)
            .map_err(|e| format!("{name}: {e}"))?;
    }
    let fleet_state = fleet::state(options.fleet).to_string();
    inventory
        .add_state(&format!("s3://{BUCKET}/{}", fleet::STATE_KEY), fleet_state.as_bytes())
        .map_err(|e| format!("the fleet's state: {e}"))?;
    let access = wiring
        .ingest_env
        .get("DRIFTGUARD_ACCESS_FINDINGS")
        .is_none_or(|v| v == "true");
    let pipeline = Pipeline::new(&AttributionConfig::default(), inventory).with_access_findings(access);
    let store = MemoryStore::default();
    for i in 0..options.events {
        let body = mix.event(i).to_string();
        let mut evaluations: Vec<Evaluation> = Vec::new();
        let mut errors = Vec::new();
        decode::decode(body.as_bytes(), "reference", &mut |_: &Position, item| match item {
            Ok(item) => pipeline.evaluate_each(&item, &mut |e| evaluations.push(e)),
            Err(e) => errors.push(e.to_string()),
        });
        if !errors.is_empty() {
            return Err(format!("event {i} does not decode: {}", errors.join("; ")));
        }
        rt.block_on(driftguard_core::service::handle_all(&store, &store, evaluations))
            .map_err(|e| format!("the reference store: {e}"))?;
    }
    let findings = rt
        .block_on(store.list(&Query::default()))
        .map_err(|e| format!("the reference store: {e}"))?
        .into_iter()
        .map(|f| {
            let status = if f.status == driftguard_core::finding::Status::Open {
                "open"
            } else {
                "resolved"
            };
            (f.id.clone(), (status.to_owned(), f.kind.as_str().to_owned()))
        })
        .collect();
    let keys = store.published().into_iter().map(|e| e.key).collect();
    Ok(Expected { findings, keys })
}

/// The queue in the harness, with SQS's semantics for one consumer group: messages in
/// arrival order, a batch in flight until settled, failed messages visible again, a message
/// received `max_receive_count` times dead-lettered instead of received again.
#[derive(Default)]
struct Queue {
    state: Mutex<QueueState>,
    changed: Condvar,
}

#[derive(Default)]
struct QueueState {
    visible: VecDeque<Message>,
    in_flight: usize,
    all_arrived: bool,
    dead: Vec<usize>,
    max_backlog: usize,
}

#[derive(Clone, Copy)]
struct Message {
    event: usize,
    receive_count: u32,
    sent_ms: i64,
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, QueueState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn arrive(&self, events: std::ops::Range<usize>, last: bool) {
        let mut s = self.lock();
        let sent_ms = now_us() / 1000;
        s.visible.extend(events.map(|event| Message {
            event,
            receive_count: 0,
            sent_ms,
        }));
        s.all_arrived |= last;
        s.max_backlog = s.max_backlog.max(s.visible.len());
        drop(s);
        self.changed.notify_all();
    }

    /// Up to `max` messages, waiting while there are none (long polling); `None` once every
    /// message arrived and was settled.
    fn receive(&self, max: usize, max_receive_count: u32) -> Option<Vec<Message>> {
        let mut s = self.lock();
        loop {
            let mut out = Vec::new();
            while out.len() < max {
                let Some(mut m) = s.visible.pop_front() else { break };
                if m.receive_count >= max_receive_count {
                    s.dead.push(m.event);
                    continue;
                }
                m.receive_count += 1;
                out.push(m);
            }
            if !out.is_empty() {
                s.in_flight += out.len();
                return Some(out);
            }
            if s.all_arrived && s.in_flight == 0 {
                drop(s);
                self.changed.notify_all();
                return None;
            }
            s = self
                .changed
                .wait_timeout(s, Duration::from_millis(200))
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    fn settle(&self, batch: Vec<Message>, failed: &BTreeSet<usize>) {
        let mut s = self.lock();
        s.in_flight -= batch.len();
        for m in batch {
            if failed.contains(&m.event) {
                s.visible.push_back(m);
            }
        }
        drop(s);
        self.changed.notify_all();
    }
}

/// Sends events to a queue of moto's for `probe`, as fast as it takes them (four senders of
/// ten-message batches), then times one receive at the depth reached.
fn probe_intake(
    rt: &tokio::runtime::Runtime,
    sdk: &aws_config::SdkConfig,
    mix: &fleet::Mix,
    events: usize,
    probe: Duration,
) -> Result<Intake, String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    rt.block_on(async {
        let url = sqs
            .create_queue()
            .queue_name("driftguard-ingest-intake-probe")
            .send()
            .await
            .map_err(|e| format!("create the probe queue: {e:?}"))?
            .queue_url
            .unwrap_or_default();
        let (next, requests) = (AtomicUsize::new(0), AtomicUsize::new(0));
        let (next_ref, requests_ref, sqs_ref, url_ref) = (&next, &requests, &sqs, &url);
        let started = Instant::now();
        let sender = move || async move {
            let (next, requests, sqs, url) = (next_ref, requests_ref, sqs_ref, url_ref);
            loop {
                if started.elapsed() >= probe {
                    return Ok::<(), String>(());
                }
                let first = next.fetch_add(10, Ordering::SeqCst);
                if first >= events {
                    return Ok(());
                }
                let entries: Vec<SendMessageBatchRequestEntry> = (first..(first + 10).min(events))
                    .filter_map(|i| {
                        SendMessageBatchRequestEntry::builder()
                            .id(format!("e{i}"))
                            .message_body(mix.event(i).to_string())
                            .build()
                            .ok()
                    })
                    .collect();
                let sent = sqs
                    .send_message_batch()
                    .queue_url(url)
                    .set_entries(Some(entries))
                    .send()
                    .await
                    .map_err(|e| format!("SendMessageBatch: {e:?}"))?;
                if !sent.failed().is_empty() {
                    return Err(format!("SendMessageBatch refused: {:?}", sent.failed()));
                }
                requests.fetch_add(1, Ordering::SeqCst);
            }
        };
        let (a, b, c, d) = tokio::join!(sender(), sender(), sender(), sender());
        a.and(b).and(c).and(d)?;
        let elapsed = started.elapsed();
        let requests = requests.into_inner();
        let depth = sqs
            .get_queue_attributes()
            .queue_url(&url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            .send()
            .await
            .ok()
            .and_then(|a| {
                a.attributes()
                    .and_then(|m| m.get(&aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages))
                    .and_then(|n| n.parse().ok())
            })
            .unwrap_or(0);
        let receiving = Instant::now();
        sqs.receive_message()
            .queue_url(&url)
            .max_number_of_messages(10)
            .send()
            .await
            .map_err(|e| format!("ReceiveMessage at depth {depth}: {e:?}"))?;
        let receive_at_depth = receiving.elapsed();
        sqs.delete_queue()
            .queue_url(&url)
            .send()
            .await
            .map_err(|e| format!("delete the probe queue: {e:?}"))?;
        Ok(Intake {
            sent: depth,
            elapsed,
            requests,
            receive_at_depth,
        })
    })
}

/// Runs a burst. `Err` when it could not be set up; a run that lost, duplicated or changed
/// anything returns its report with [`Report::problems`] filled.
pub fn run(binaries: &Binaries, wiring: &Wiring, options: &Options) -> Result<Report, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let mix = fleet::Mix::new(options.fleet, options.seed);
    let moto = MotoServer::start()?;
    let stack = rt.block_on(Stack::on(moto))?;
    rt.block_on(async {
        driftguard_aws::s3_client(&stack.sdk, true)
            .put_object()
            .bucket(BUCKET)
            .key(fleet::STATE_KEY)
            .body(fleet::state(options.fleet).to_string().into_bytes().into())
            .send()
            .await
            .map_err(|e| format!("put the fleet's state: {e:?}"))?;
        // The drift events are counted at the proxy (moto's delivery of each to a queue would
        // cost it more than the rest of the run).
        aws_sdk_eventbridge::Client::new(&stack.sdk)
            .remove_targets()
            .rule("driftguard-to-queue")
            .event_bus_name(BUS)
            .ids("queue")
            .send()
            .await
            .map_err(|e| format!("remove the harness rule's target: {e:?}"))
    })?;
    let mut report = Report {
        options: Some(options.clone()),
        wiring: wiring.describe(),
        ..Report::default()
    };
    if let Some(probe) = options.intake_probe {
        report.intake = Some(probe_intake(&rt, &stack.sdk, &mix, options.events, probe)?);
    }
    let reference = expected(&rt, &mix, options, wiring)?;
    report.expected = (
        options.events,
        reference.findings.len(),
        reference.findings.values().filter(|(s, _)| s == "open").count(),
        reference.keys.len(),
    );

    let proxy = FaultProxy::start(&stack.moto.endpoint(), Vec::new());
    proxy.quiet();
    proxy.one_at_a_time();
    proxy.capture("PutEvents");
    if options.units {
        for op in super::latency::DYNAMODB_OPERATIONS {
            proxy.capture(op);
        }
    }
    let env = ingest_env(wiring, &proxy.endpoint());
    let mut instances = Vec::new();
    for n in 0..options.instances.max(1) {
        instances.push(start_instance(
            &binaries.ingest,
            "driftguard-ingest",
            &env,
            &ingest_warm_up(n),
        )?);
    }
    let tally_before = proxy.tally();
    let captured_before = proxy.captured().len();
    let moto_pid = stack.moto.pid();
    let cpu_of = |instances: &[(crate::runtime_api::RuntimeApi, crate::runtime_api::LambdaProcess)]| -> f64 {
        instances.iter().filter_map(|(_, p)| cpu_seconds(p.id())).sum()
    };
    let cpu_before = (cpu_of(&instances), cpu_seconds(moto_pid).unwrap_or(0.0));

    let queue = Queue::default();
    let counts = Mutex::new((0usize, 0usize, 0usize, 0usize));
    let errors = Mutex::new(Vec::new());
    let started = Instant::now();
    let arrived = Mutex::new(Duration::ZERO);
    let backlog_at_arrival = Mutex::new(0usize);
    let queue_arn = format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:driftguard-ingest");
    std::thread::scope(|scope| {
        // The arrivals: evenly over the arrival time, released every 10 ms.
        scope.spawn(|| {
            let n = options.events;
            let mut released = 0;
            while released < n {
                let due = if options.arrival.is_zero() {
                    n
                } else {
                    ((started.elapsed().as_secs_f64() / options.arrival.as_secs_f64()) * n as f64).ceil() as usize
                }
                .min(n);
                if due > released {
                    queue.arrive(released..due, due == n);
                    released = due;
                }
                if released < n {
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
            *arrived.lock().unwrap_or_else(PoisonError::into_inner) = started.elapsed();
            *backlog_at_arrival.lock().unwrap_or_else(PoisonError::into_inner) = queue.lock().visible.len();
        });
        for (_, process) in &mut instances {
            let (queue, counts, errors, mix, queue_arn) = (&queue, &counts, &errors, &mix, &queue_arn);
            scope.spawn(move || {
                while let Some(batch) = queue.receive(wiring.batch_size, wiring.max_receive_count) {
                    if options.deadline.is_some_and(|d| started.elapsed() >= d) {
                        queue.settle(batch.clone(), &batch.iter().map(|m| m.event).collect());
                        return;
                    }
                    let records: Vec<Value> = batch
                        .iter()
                        .map(|m| {
                            json!({
                                "messageId": message_id(m.event),
                                "receiptHandle": format!("AQEB{:016x}{:04x}", m.event, m.receive_count),
                                "body": mix.event(m.event).to_string(),
                                "attributes": {
                                    "ApproximateReceiveCount": m.receive_count.to_string(),
                                    "SentTimestamp": m.sent_ms.to_string(),
                                    "SenderId": "AROAEXAMPLEEVENTBRIDGE:events",
                                },
                                "messageAttributes": {},
                                "eventSource": "aws:sqs",
                                "eventSourceARN": queue_arn,
                                "awsRegion": REGION,
                            })
                        })
                        .collect();
                    let redelivered = batch.iter().filter(|m| m.receive_count > 1).count();
                    let outcome = process.invoke(
                        json!({ "Records": records }).to_string().as_bytes(),
                        Duration::from_secs(70),
                    );
                    let failed: BTreeSet<usize> = match &outcome {
                        Invocation::Response(answer) => answer["batchItemFailures"]
                            .as_array()
                            .into_iter()
                            .flatten()
                            .filter_map(|f| f["itemIdentifier"].as_str())
                            .filter_map(|id| batch.iter().find(|m| message_id(m.event) == id).map(|m| m.event))
                            .collect(),
                        other => {
                            errors
                                .lock()
                                .unwrap_or_else(PoisonError::into_inner)
                                .push(format!("ingest: {other:?}\n{}", tail(&process.logs(), 10)));
                            batch.iter().map(|m| m.event).collect()
                        }
                    };
                    let exited = matches!(outcome, Invocation::ProcessExited { .. });
                    {
                        let mut c = counts.lock().unwrap_or_else(PoisonError::into_inner);
                        c.0 += 1;
                        if !matches!(outcome, Invocation::Response(_)) {
                            c.1 += 1;
                        } else {
                            c.2 += failed.len();
                        }
                        c.3 += redelivered;
                    }
                    queue.settle(batch, &failed);
                    if exited {
                        // This instance is gone; what it held comes back for the others.
                        return;
                    }
                }
            });
        }
    });
    report.wall = started.elapsed();
    report.arrived = arrived.into_inner().unwrap_or_else(PoisonError::into_inner);
    let state = queue.lock();
    report.backlog = (
        state.max_backlog,
        backlog_at_arrival.into_inner().unwrap_or_else(PoisonError::into_inner),
    );
    let dead = state.dead.clone();
    let stranded = state.visible.len() + state.in_flight;
    drop(state);
    report.invocations = counts.into_inner().unwrap_or_else(PoisonError::into_inner);
    report.cpu = (
        cpu_of(&instances) - cpu_before.0,
        cpu_seconds(moto_pid).unwrap_or(0.0) - cpu_before.1,
    );
    report.peak_rss_kb = instances
        .iter()
        .filter_map(|(_, p)| peak_rss_kb(p.id()))
        .max()
        .unwrap_or(0);
    for ((service, op), t) in proxy.tally() {
        let before = tally_before.get(&(service.clone(), op.clone()));
        let seen = before.map_or(0, |b| b.seen);
        if t.seen > seen {
            report.answering += t
                .answering
                .saturating_sub(before.map_or(Duration::ZERO, |b| b.answering));
            report.requests.insert((service, op), t.seen - seen);
        }
    }
    if options.units {
        let mut meter = super::capacity::Meter::new();
        for (n, x) in proxy.captured().iter().enumerate() {
            if x.operation != "PutEvents" {
                meter.take(x, n >= captured_before);
            }
        }
        report.units = Some(meter.units().clone());
    }
    report.problems = errors.into_inner().unwrap_or_else(PoisonError::into_inner);
    report.handled = options.events - stranded;
    let out_of_time = options.deadline.is_some_and(|d| report.wall >= d);
    if stranded > 0 && out_of_time {
        report.problems.push(format!(
            "not drained within the deadline ({:.0} s): {stranded} events left, so the table is not checked",
            report.wall.as_secs_f64()
        ));
    } else if stranded > 0 {
        report
            .problems
            .push(format!("{stranded} events never handled: every ingest instance exited"));
    }
    if !dead.is_empty() {
        report
            .problems
            .push(format!("{} events dead-lettered, e.g. event {}", dead.len(), dead[0]));
    }
    if stranded == 0 {
        check(&rt, &stack, &proxy, &reference, &mut report.problems)?;
    }
    Ok(report)
}

fn message_id(event: usize) -> String {
    format!("5e1f0c2a-0000-4b7e-9c3d-{event:012x}")
}

/// Compares the table and the published events with the reference.
fn check(
    rt: &tokio::runtime::Runtime,
    stack: &Stack,
    proxy: &FaultProxy,
    reference: &Expected,
    problems: &mut Vec<String>,
) -> Result<(), String> {
    let client = aws_sdk_dynamodb::Client::new(&stack.sdk);
    let mut findings: BTreeMap<String, (String, String)> = BTreeMap::new();
    let mut outbox = 0;
    rt.block_on(async {
        let mut start = None;
        loop {
            let page = client
                .scan()
                .table_name(TABLE)
                .set_exclusive_start_key(start)
                .send()
                .await
                .map_err(|e| format!("scan the table: {e:?}"))?;
            for item in page.items() {
                let s = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
                let pk = s("pk");
                if let Some(id) = pk.strip_prefix("FINDING#") {
                    if findings.insert(id.to_owned(), (s("status"), s("kind"))).is_some() {
                        problems.push(format!("finding {id} twice in the table"));
                    }
                } else if pk.starts_with("OUTBOX#") {
                    outbox += 1;
                }
            }
            start = page.last_evaluated_key;
            if start.is_none() {
                return Ok::<(), String>(());
            }
        }
    })?;
    for (id, want) in &reference.findings {
        match findings.get(id) {
            None => problems.push(format!("finding {id} ({}, {}) is not in the table", want.1, want.0)),
            Some(got) if got != want => problems.push(format!(
                "finding {id} is {got:?} in the table, {want:?} in the reference"
            )),
            Some(_) => {}
        }
    }
    for id in findings.keys().filter(|id| !reference.findings.contains_key(*id)) {
        problems.push(format!("finding {id} is in the table but not in the reference"));
    }
    if outbox > 0 {
        problems.push(format!("{outbox} drift events left in the outbox"));
    }
    let mut published: BTreeMap<String, usize> = BTreeMap::new();
    for x in proxy.captured() {
        if x.status != 200 {
            continue;
        }
        let request: Value = serde_json::from_slice(&x.request).unwrap_or(Value::Null);
        let answer: Value = serde_json::from_slice(&x.response).unwrap_or(Value::Null);
        for (i, entry) in request["Entries"].as_array().into_iter().flatten().enumerate() {
            if answer["Entries"][i]["EventId"].is_string() && answer["Entries"][i]["ErrorCode"].is_null() {
                let detail: Value = entry["Detail"]
                    .as_str()
                    .and_then(|d| serde_json::from_str(d).ok())
                    .unwrap_or(Value::Null);
                *published
                    .entry(detail["key"].as_str().unwrap_or("").to_owned())
                    .or_insert(0) += 1;
            }
        }
    }
    for key in &reference.keys {
        match published.get(key).copied().unwrap_or(0) {
            1 => {}
            0 => problems.push(format!("{key} was never published")),
            n => problems.push(format!("{key} was published {n} times")),
        }
    }
    for key in published.keys().filter(|k| !reference.keys.contains(*k)) {
        problems.push(format!("{key} was published but the reference publishes no such event"));
    }
    Ok(())
}

impl Report {
    /// Whether nothing was lost, duplicated or different.
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }

    /// Events handled per second from the first arrival to the queue drained (or the deadline).
    pub fn throughput(&self) -> f64 {
        self.handled as f64 / self.wall.as_secs_f64().max(1e-9)
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Some(o) = &self.options else { return Ok(()) };
        let n = self.handled.max(1) as f64;
        writeln!(
            f,
            "burst: {} events arriving over {:.0} s on a fleet of {} clones (seed {:#x}), {} ingest instance(s), one poller each",
            o.events,
            o.arrival.as_secs_f64(),
            o.fleet,
            o.seed,
            o.instances
        )?;
        writeln!(f, "  template: {}", self.wiring)?;
        if let Some(i) = &self.intake {
            writeln!(
                f,
                "  moto's SQS intake: {} messages in {:.1} s ({:.0} messages/s, {:.0} SendMessageBatch/s, four senders); \
                 one ReceiveMessage at that depth took {:.0} ms. A burst of {} in {:.0} s needs {:.0} messages/s, so the \
                 burst is delivered from the harness's queue (SQS semantics), not moto's.",
                i.sent,
                i.elapsed.as_secs_f64(),
                i.sent as f64 / i.elapsed.as_secs_f64().max(1e-9),
                i.requests as f64 / i.elapsed.as_secs_f64().max(1e-9),
                i.receive_at_depth.as_secs_f64() * 1000.0,
                o.events,
                o.arrival.as_secs_f64(),
                o.events as f64 / o.arrival.as_secs_f64().max(1e-9),
            )?;
        } else {
            writeln!(
                f,
                "  delivered from the harness's queue (SQS semantics); moto's SQS intake not probed"
            )?;
        }
        let (_, findings, open, keys) = self.expected;
        writeln!(
            f,
            "  expected (core's service on the in-memory store): {findings} findings ({open} open), {keys} drift events"
        )?;
        let (invocations, failed, reported, redelivered) = self.invocations;
        writeln!(
            f,
            "  {} events handled in {:.1} s (last arrival at {:.1} s; backlog at most {}, {} when the last arrived): {:.0} events/s, \
             {:.0} events/s per instance",
            self.handled,
            self.wall.as_secs_f64(),
            self.arrived.as_secs_f64(),
            self.backlog.0,
            self.backlog.1,
            self.throughput(),
            self.throughput() / o.instances.max(1) as f64
        )?;
        writeln!(
            f,
            "  {invocations} invocations ({:.1} events each), {failed} failed whole, {reported} messages reported failed, {redelivered} redeliveries",
            n / invocations.max(1) as f64
        )?;
        let total: usize = self.requests.values().sum();
        let by_service: BTreeMap<&str, usize> = self.requests.iter().fold(BTreeMap::new(), |mut m, ((s, _), c)| {
            *m.entry(s.as_str()).or_insert(0) += c;
            m
        });
        writeln!(
            f,
            "  requests: {total} ({:.0}/s through moto, which was answering them {:.0}% of the run, one at a time), {}",
            total as f64 / self.wall.as_secs_f64().max(1e-9),
            self.answering.as_secs_f64() * 100.0 / self.wall.as_secs_f64().max(1e-9),
            by_service
                .iter()
                .map(|(s, c)| format!("{s} {c} ({:.3} per event)", *c as f64 / n))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
        let dynamo: Vec<String> = self
            .requests
            .iter()
            .filter(|((s, _), _)| s == "dynamodb")
            .map(|((_, op), c)| format!("{op} {:.3}", *c as f64 / n))
            .collect();
        writeln!(f, "  DynamoDB requests per event: {}", dynamo.join(", "))?;
        if let Some(u) = &self.units {
            writeln!(
                f,
                "  DynamoDB units per event: {:.3} read, {:.3} write ({})",
                u.read() / n,
                u.write() / n,
                u.by_operation
                    .iter()
                    .filter(|(_, x)| x.read + x.write + x.index_write > 0.0)
                    .map(|(op, x)| if x.read > 0.0 {
                        format!("{op} {:.3} RRU", x.read / n)
                    } else {
                        format!("{op} {:.3} WRU + {:.3} index WRU", x.write / n, x.index_write / n)
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        writeln!(
            f,
            "  CPU: ingest {:.1} s in all ({:.3} ms per event: at most {:.0} events/s per instance if AWS answered at once), \
             moto {:.1} s ({:.0}% of one core over the run); peak RSS of an instance {:.1} MB",
            self.cpu.0,
            self.cpu.0 * 1000.0 / n,
            n / self.cpu.0.max(1e-9),
            self.cpu.1,
            self.cpu.1 * 100.0 / self.wall.as_secs_f64().max(1e-9),
            self.peak_rss_kb as f64 / 1024.0
        )?;
        if self.problems.is_empty() {
            writeln!(
                f,
                "  checked: every expected finding in the table once with its status and kind, none other; every drift \
                 event published once by key, none other; outbox empty; nothing dead-lettered"
            )?;
        }
        for p in self.problems.iter().take(10) {
            writeln!(f, "  PROBLEM {p}")?;
        }
        if self.problems.len() > 10 {
            writeln!(f, "  ... {} problems in all", self.problems.len())?;
        }
        Ok(())
    }
}
