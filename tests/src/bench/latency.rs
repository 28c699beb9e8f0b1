//! Seconds from a change to the Slack message, on loopback: real-shaped CloudTrail events
//! ([`fleet::on_clone`]: the samples' manual changes, each on a resource of its own) are put on
//! the default bus; the template's `DefaultBusRule` pattern sends them to the ingest queue
//! (moto's EventBridge delivers rule targets to SQS); the event source mapping is played as
//! Lambda plays it (long polling, batches of the template's size, as many concurrent pollers as
//! asked, one function instance each, partial batch responses honoured); ingest publishes
//! `Drift Detected` on the DriftGuard bus; notify-slack's rule (the template's pattern) sends
//! it to a queue standing in for the Lambda target (moto cannot invoke one:
//! `lambda-targets-replaced-by-queues`, see [`crate::deployed`]), from which each event is
//! handed to a notify-slack instance as one asynchronous invocation; the Slack receiver gets
//! the message. Each event is timed from `PutEvents` to the receiver, hop by hop.
//!
//! With [`Options::count`] the functions reach moto through the counting proxy
//! ([`crate::fault::FaultProxy`]): DynamoDB, EventBridge and S3 requests per event by
//! operation, and DynamoDB request units from the captured requests ([`super::capacity`]).

use super::capacity::Meter;
use super::wiring::Wiring;
use super::{cpu_seconds, now_us, start_instance, tail, Binaries, Stats};
use crate::fault::{FaultProxy, Tally};
use crate::fleet;
use crate::moto::MotoServer;
use crate::runtime_api::{Invocation, LambdaProcess, RuntimeApi, ACCOUNT_ID, REGION};
use crate::slack_receiver::SlackReceiver;
use crate::stack::{Stack, BUCKET, BUS, STATE_PREFIX, TABLE};
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, MessageSystemAttributeName, QueueAttributeName};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The manual changes replayed, in turn, each on the next clone: every one a finding severe
/// enough to be posted at once under the template's defaults (digests take minor ones).
pub const CHANGES: [(&str, Names); 4] = [
    (
        "ec2-authorize-security-group-ingress.console-sso.json",
        Names::SecurityGroup,
    ),
    ("s3-put-bucket-public-access-block.console-sso.json", Names::Bucket),
    ("ec2-modify-instance-attribute.cli-user.json", Names::Instance),
    ("s3-put-bucket-versioning.cli-user.json", Names::Bucket),
];

/// Which clone resource a change names (how its Slack message is recognised).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Names {
    /// The clone's security group.
    SecurityGroup,
    /// The clone's instance.
    Instance,
    /// The clone's bucket.
    Bucket,
}

impl Names {
    fn id(self, clone: usize) -> String {
        match self {
            Names::SecurityGroup => fleet::security_group(clone),
            Names::Instance => fleet::instance(clone),
            Names::Bucket => fleet::bucket(clone),
        }
    }
}

/// The bot token notify-slack is given (the receiver accepts only it).
const TOKEN: &str = "xoxb-0000000000-2222222222222-PipelineBenchToken";
/// The queue the template's `DefaultBusRule` targets.
pub const INGEST_QUEUE: &str = "driftguard-ingest";
/// The queue standing in for notify-slack's Lambda target.
pub const NOTIFY_QUEUE: &str = "driftguard-notify-slack-target";
/// How long an invocation may run (the template's function timeouts are 60 s).
const INVOCATION_LIMIT: Duration = Duration::from_secs(70);

/// How a latency run is played.
#[derive(Debug, Clone)]
pub struct Options {
    /// Events put on the bus (each a finding and a Slack message).
    pub events: usize,
    /// Events per second, put on a fixed schedule; `None`: one at a time, each put once the
    /// previous one's message reached Slack.
    pub rate: Option<f64>,
    /// Concurrent pollers of the ingest queue, one ingest instance each (Lambda starts five).
    pub ingest_instances: usize,
    /// notify-slack instances (EventBridge invokes it asynchronously, one event each).
    pub notify_instances: usize,
    /// The pollers' `WaitTimeSeconds` (Lambda long-polls with 20).
    pub long_poll_s: i32,
    /// Through the counting proxy: requests per operation and DynamoDB units per event.
    pub count: bool,
    /// How long to wait for an event's message before calling it lost.
    pub patience: Duration,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            events: 300,
            rate: None,
            ingest_instances: 5,
            notify_instances: 5,
            long_poll_s: 20,
            count: true,
            patience: Duration::from_secs(30),
        }
    }
}

/// A message a poller handed to a function.
#[derive(Debug, Clone)]
struct Delivery {
    body: String,
    /// `SentTimestamp` (ms) in µs.
    sent_us: i64,
    invoked_us: i64,
    answered_us: i64,
    batch: usize,
}

/// One event's way, in µs since the epoch.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    /// Before `PutEvents`.
    pub put_us: i64,
    /// After `PutEvents` answered.
    pub put_done_us: i64,
    ingest: Option<Delivery>,
    notify: Option<Delivery>,
    /// The Slack receiver's receipt of the event's alert.
    pub slack_us: Option<i64>,
    /// Top-level alerts naming the event's resource.
    pub alerts: usize,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// How it was played.
    pub options: Options,
    /// The template's settings played.
    pub wiring: String,
    /// Per event.
    pub traces: Vec<Trace>,
    /// PutEvents → Slack, per event with a message.
    pub total: Stats,
    /// Hop by hop: (name, stats).
    pub hops: Vec<(&'static str, Stats)>,
    /// Requests per (function, service, operation) during the measured part.
    pub requests: BTreeMap<(String, String, String), usize>,
    /// How long moto took to answer them, per (function, service, operation).
    pub answering: BTreeMap<(String, String, String), Duration>,
    /// DynamoDB units: (function, read, write) during the measured part.
    pub units: Vec<(&'static str, super::capacity::Units)>,
    /// CPU seconds during the measured part: ingest instances, notify-slack instances, moto.
    pub cpu: (f64, f64, f64),
    /// Wall time of the measured part.
    pub wall: Duration,
    /// Invocations that failed, with why.
    pub errors: Vec<String>,
    /// Events whose message never came, or came more than once, or that ingest got twice.
    pub problems: Vec<String>,
}

/// The moto stack a run plays on, wired as the template wires it.
struct Wired {
    stack: Stack,
    ingest_queue: QueueRef,
    notify_queue: QueueRef,
}

#[derive(Debug, Clone)]
struct QueueRef {
    url: String,
    arn: String,
}

/// Starts moto (a clear error when it is not installed) with the stack, a fleet of `clones`,
/// and the two rules.
fn wire(rt: &tokio::runtime::Runtime, wiring: &Wiring, clones: usize) -> Result<Wired, String> {
    let moto = MotoServer::start()?;
    let stack = rt.block_on(Stack::on(moto))?;
    rt.block_on(async {
        driftguard_aws::s3_client(&stack.sdk, true)
            .put_object()
            .bucket(BUCKET)
            .key(fleet::STATE_KEY)
            .body(fleet::state(clones).to_string().into_bytes().into())
            .send()
            .await
            .map_err(|e| format!("put the fleet's state: {e:?}"))?;
        let events = aws_sdk_eventbridge::Client::new(&stack.sdk);
        // The harness's own rule (every DriftGuard event to a queue) is not the template's.
        events
            .remove_targets()
            .rule("driftguard-to-queue")
            .event_bus_name(BUS)
            .ids("queue")
            .send()
            .await
            .map_err(|e| format!("remove the harness rule's target: {e:?}"))?;
        let ingest_queue = queue(&stack.sdk, INGEST_QUEUE, wiring.visibility_timeout_s).await?;
        rule(
            &stack.sdk,
            "default",
            "driftguard-ingest",
            &wiring.ingest_pattern,
            &ingest_queue,
        )
        .await?;
        let notify_queue = queue(&stack.sdk, NOTIFY_QUEUE, 30).await?;
        rule(
            &stack.sdk,
            BUS,
            "driftguard-notify-slack",
            &wiring.notify_pattern,
            &notify_queue,
        )
        .await?;
        Ok(Wired {
            stack,
            ingest_queue,
            notify_queue,
        })
    })
}

/// Creates a queue with `visibility` seconds of visibility timeout.
async fn queue(sdk: &aws_config::SdkConfig, name: &str, visibility: i32) -> Result<QueueRef, String> {
    let sqs = aws_sdk_sqs::Client::new(sdk);
    let url = sqs
        .create_queue()
        .queue_name(name)
        .attributes(QueueAttributeName::VisibilityTimeout, visibility.to_string())
        .send()
        .await
        .map_err(|e| format!("create the queue {name}: {e:?}"))?
        .queue_url
        .unwrap_or_default();
    let got = sqs
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .map_err(|e| format!("attributes of {name}: {e:?}"))?;
    let arn = got
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn))
        .cloned()
        .ok_or(format!("{name} has no ARN"))?;
    Ok(QueueRef { url, arn })
}

/// A rule on `bus` with `pattern`, targeting `queue`.
async fn rule(
    sdk: &aws_config::SdkConfig,
    bus: &str,
    name: &str,
    pattern: &Value,
    queue: &QueueRef,
) -> Result<(), String> {
    let events = aws_sdk_eventbridge::Client::new(sdk);
    events
        .put_rule()
        .name(name)
        .event_bus_name(bus)
        .event_pattern(pattern.to_string())
        .send()
        .await
        .map_err(|e| format!("the rule {name}: {e:?}"))?;
    let target = aws_sdk_eventbridge::types::Target::builder()
        .id(format!("{name}-target"))
        .arn(&queue.arn)
        .build()
        .map_err(|e| format!("target: {e:?}"))?;
    let put = events
        .put_targets()
        .rule(name)
        .event_bus_name(bus)
        .targets(target)
        .send()
        .await
        .map_err(|e| format!("the target of {name}: {e:?}"))?;
    if put.failed_entry_count() > 0 {
        return Err(format!("the target of {name}: {:?}", put.failed_entries()));
    }
    Ok(())
}

/// The ingest function's environment on `endpoint`: the template's, with the stack's names.
pub(crate) fn ingest_env(wiring: &Wiring, endpoint: &str) -> Vec<(String, String)> {
    let mut env = wiring.ingest_env.clone();
    for (k, v) in [
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("DRIFTGUARD_TABLE", TABLE.to_owned()),
        ("DRIFTGUARD_EVENT_BUS", BUS.to_owned()),
        (
            "DRIFTGUARD_STATE_LOCATIONS",
            format!("s3://{BUCKET}/{STATE_PREFIX}**.tfstate"),
        ),
        ("DRIFTGUARD_S3_PATH_STYLE", "true".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", wiring.ingest_memory_mb.to_string()),
    ] {
        env.insert(k.to_owned(), v);
    }
    env.into_iter().collect()
}

fn notify_env(wiring: &Wiring, endpoint: &str, slack: &SlackReceiver) -> Vec<(String, String)> {
    let mut env = wiring.notify_env.clone();
    for (k, v) in [
        ("AWS_ENDPOINT_URL", endpoint.to_owned()),
        ("DRIFTGUARD_TABLE", TABLE.to_owned()),
        ("DRIFTGUARD_SLACK_API_BASE", slack.api_base()),
        ("DRIFTGUARD_SLACK_BOT_TOKEN", TOKEN.to_owned()),
        ("DRIFTGUARD_SLACK_BOT_TOKEN_REF", String::new()),
        ("DRIFTGUARD_SLACK_WEBHOOK_URL_REF", String::new()),
        ("DRIFTGUARD_SLACK_CHANNEL", "C0DRIFTGUARD".to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", wiring.notify_memory_mb.to_string()),
    ] {
        env.insert(k.to_owned(), v);
    }
    env.into_iter().collect()
}

/// An SQS batch of one read-only call (skipped by ingest), as the first invocation of an
/// ingest instance: it loads the states.
pub(crate) fn ingest_warm_up(n: usize) -> Vec<u8> {
    let event = fleet::on_clone(&fleet::sample("ec2-describe-instances.cli-user.json"), 900_000 + n, 0);
    json!({"Records": [{
        "messageId": format!("00000000-0000-4000-8000-{n:012x}"),
        "receiptHandle": "warm-up",
        "body": event.to_string(),
        "attributes": {"ApproximateReceiveCount": "1", "SentTimestamp": (now_us() / 1000).to_string()},
        "messageAttributes": {},
        "eventSource": "aws:sqs",
        "eventSourceARN": format!("arn:aws:sqs:{REGION}:{ACCOUNT_ID}:{INGEST_QUEUE}"),
        "awsRegion": REGION,
    }]})
    .to_string()
    .into_bytes()
}

/// The scheduled digest flush, as the first invocation of a notify-slack instance.
fn notify_warm_up() -> Vec<u8> {
    json!({"version": "0", "id": "00000000-0000-4000-8000-00000000f1u5", "detail-type": "Scheduled Event",
        "source": "aws.events", "account": ACCOUNT_ID, "time": "2026-11-20T10:00:00Z", "region": REGION,
        "resources": [format!("arn:aws:events:{REGION}:{ACCOUNT_ID}:rule/driftguard-digest-flush")], "detail": {}})
    .to_string()
    .into_bytes()
}

/// What an instance's poller does with what it receives.
#[derive(Clone, Copy)]
enum Target<'a> {
    /// Lambda's SQS event source mapping: the batch as an SQS event; handled messages deleted,
    /// those a partial batch response names left to come back.
    Mapping { batch: usize, queue_arn: &'a str },
    /// EventBridge's asynchronous invocation (played from the stand-in queue): each event on
    /// its own, retried up to `retries` times when the invocation fails.
    EachEvent { retries: usize },
}

/// Plays one poller and its function instance until `stop`.
#[allow(clippy::too_many_arguments)]
fn poll(
    rt: &tokio::runtime::Runtime,
    sqs: &aws_sdk_sqs::Client,
    queue: &QueueRef,
    target: Target<'_>,
    long_poll_s: i32,
    function: &mut LambdaProcess,
    mut stop: tokio::sync::watch::Receiver<bool>,
    log: &Mutex<Vec<Delivery>>,
    errors: &Mutex<Vec<String>>,
) {
    let max = match target {
        Target::Mapping { batch, .. } => batch.clamp(1, 10),
        Target::EachEvent { .. } => 1,
    };
    loop {
        let received = rt.block_on(async {
            tokio::select! {
                r = sqs.receive_message()
                    .queue_url(&queue.url)
                    .max_number_of_messages(i32::try_from(max).unwrap_or(10))
                    .wait_time_seconds(long_poll_s)
                    .message_system_attribute_names(MessageSystemAttributeName::All)
                    .send() => Some(r),
                _ = stop.wait_for(|s| *s) => None,
            }
        });
        let Some(received) = received else { return };
        let messages = match received {
            Ok(r) => r.messages.unwrap_or_default(),
            Err(e) => {
                push(errors, format!("receive from {}: {e:?}", queue.url));
                std::thread::sleep(Duration::from_millis(100));
                continue;
            }
        };
        if messages.is_empty() {
            continue;
        }
        let sent_us = |m: &aws_sdk_sqs::types::Message| {
            m.attributes()
                .and_then(|a| a.get(&MessageSystemAttributeName::SentTimestamp))
                .and_then(|t| t.parse::<i64>().ok())
                .map_or(0, |ms| ms * 1000)
        };
        let mut handled: Vec<&aws_sdk_sqs::types::Message> = Vec::new();
        match target {
            Target::Mapping { queue_arn, .. } => {
                let records: Vec<Value> = messages
                    .iter()
                    .map(|m| {
                        let attributes: BTreeMap<&str, &str> = m
                            .attributes()
                            .into_iter()
                            .flatten()
                            .map(|(k, v)| (k.as_str(), v.as_str()))
                            .collect();
                        json!({
                            "messageId": m.message_id(), "receiptHandle": m.receipt_handle(),
                            "body": m.body(), "attributes": attributes, "messageAttributes": {},
                            "md5OfBody": m.md5_of_body(), "eventSource": "aws:sqs",
                            "eventSourceARN": queue_arn, "awsRegion": REGION,
                        })
                    })
                    .collect();
                let payload = json!({ "Records": records }).to_string();
                let invoked_us = now_us();
                let outcome = function.invoke(payload.as_bytes(), INVOCATION_LIMIT);
                let answered_us = now_us();
                if let Invocation::ProcessExited { status } = &outcome {
                    push(
                        errors,
                        format!("an ingest instance exited ({status})\n{}", tail(&function.logs(), 10)),
                    );
                    return;
                }
                let failed: Vec<String> = match &outcome {
                    Invocation::Response(answer) => answer["batchItemFailures"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(|f| f["itemIdentifier"].as_str().map(str::to_owned))
                        .collect(),
                    other => {
                        push(errors, format!("ingest: {other:?}\n{}", tail(&function.logs(), 10)));
                        messages
                            .iter()
                            .filter_map(|m| m.message_id().map(str::to_owned))
                            .collect()
                    }
                };
                if !failed.is_empty() {
                    push(errors, format!("ingest reported {} message(s) failed", failed.len()));
                }
                for m in &messages {
                    if !failed.iter().any(|f| Some(f.as_str()) == m.message_id()) {
                        handled.push(m);
                    }
                    push(
                        log,
                        Delivery {
                            body: m.body().unwrap_or_default().to_owned(),
                            sent_us: sent_us(m),
                            invoked_us,
                            answered_us,
                            batch: messages.len(),
                        },
                    );
                }
            }
            Target::EachEvent { retries } => {
                for m in &messages {
                    let body = m.body().unwrap_or_default();
                    let invoked_us = now_us();
                    let mut ok = false;
                    for _ in 0..=retries {
                        match function.invoke(body.as_bytes(), INVOCATION_LIMIT) {
                            Invocation::Response(_) => {
                                ok = true;
                                break;
                            }
                            Invocation::ProcessExited { status } => {
                                push(
                                    errors,
                                    format!(
                                        "a notify-slack instance exited ({status})\n{}",
                                        tail(&function.logs(), 10)
                                    ),
                                );
                                return;
                            }
                            other => push(
                                errors,
                                format!("notify-slack: {other:?}\n{}", tail(&function.logs(), 10)),
                            ),
                        }
                    }
                    push(
                        log,
                        Delivery {
                            body: body.to_owned(),
                            sent_us: sent_us(m),
                            invoked_us,
                            answered_us: now_us(),
                            batch: 1,
                        },
                    );
                    if ok {
                        handled.push(m);
                    }
                }
            }
        }
        if handled.is_empty() {
            continue;
        }
        let entries: Vec<DeleteMessageBatchRequestEntry> = handled
            .iter()
            .enumerate()
            .filter_map(|(i, m)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("m{i}"))
                    .receipt_handle(m.receipt_handle().unwrap_or_default())
                    .build()
                    .ok()
            })
            .collect();
        let deleted = rt.block_on(
            sqs.delete_message_batch()
                .queue_url(&queue.url)
                .set_entries(Some(entries))
                .send(),
        );
        match deleted {
            Ok(d) if !d.failed().is_empty() => push(errors, format!("delete: {:?}", d.failed())),
            Ok(_) => {}
            Err(e) => push(errors, format!("delete from {}: {e:?}", queue.url)),
        }
    }
}

fn push<T>(list: &Mutex<Vec<T>>, item: T) {
    list.lock().unwrap_or_else(PoisonError::into_inner).push(item);
}

/// One instance of a function with its Runtime API (kept alive together).
struct Instance {
    _api: RuntimeApi,
    process: LambdaProcess,
}

/// Runs a latency benchmark. `Err` when the run could not be set up (moto missing, a binary
/// that does not start); a run that lost or duplicated events returns its report with
/// [`Report::problems`] filled.
pub fn run(binaries: &Binaries, wiring: &Wiring, options: &Options) -> Result<Report, String> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    let wired = wire(&rt, wiring, options.events.max(1))?;
    let moto_endpoint = wired.stack.moto.endpoint();
    let proxies = options.count.then(|| {
        let start = || {
            let p = FaultProxy::start(&moto_endpoint, Vec::new());
            p.quiet();
            for op in DYNAMODB_OPERATIONS {
                p.capture(op);
            }
            p
        };
        (start(), start())
    });
    let (ingest_endpoint, notify_endpoint) = match &proxies {
        Some((i, n)) => (i.endpoint(), n.endpoint()),
        None => (moto_endpoint.clone(), moto_endpoint.clone()),
    };
    let slack = SlackReceiver::start();
    slack.expect_token(TOKEN);

    let ingest_env = ingest_env(wiring, &ingest_endpoint);
    let notify_env = notify_env(wiring, &notify_endpoint, &slack);
    let mut ingest = Vec::new();
    for n in 0..options.ingest_instances.max(1) {
        let (api, process) = start_instance(&binaries.ingest, "driftguard-ingest", &ingest_env, &ingest_warm_up(n))?;
        ingest.push(Instance { _api: api, process });
    }
    let mut notify = Vec::new();
    for _ in 0..options.notify_instances.max(1) {
        let (api, process) = start_instance(
            &binaries.notify,
            "driftguard-notify-slack",
            &notify_env,
            &notify_warm_up(),
        )?;
        notify.push(Instance { _api: api, process });
    }

    // The measured part starts here: what the warm-ups did is left out.
    let tally_before = proxies.as_ref().map(|(i, n)| (i.tally(), n.tally()));
    let captured_before = proxies
        .as_ref()
        .map_or((0, 0), |(i, n)| (i.captured().len(), n.captured().len()));
    let cpu = |instances: &[Instance]| -> f64 { instances.iter().filter_map(|i| cpu_seconds(i.process.id())).sum() };
    let moto_pid = wired.stack.moto.pid();
    let cpu_before = (cpu(&ingest), cpu(&notify), cpu_seconds(moto_pid).unwrap_or(0.0));

    let sqs = aws_sdk_sqs::Client::new(&wired.stack.sdk);
    let bus = aws_sdk_eventbridge::Client::new(&wired.stack.sdk);
    let samples: Vec<(Value, Names)> = CHANGES.iter().map(|(f, names)| (fleet::sample(f), *names)).collect();
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let ingest_log = Mutex::new(Vec::new());
    let notify_log = Mutex::new(Vec::new());
    let errors = Mutex::new(Vec::new());
    let mut traces = vec![Trace::default(); options.events];
    let started = Instant::now();
    let base = (Instant::now(), now_us());
    let at_us = |at: Instant| base.1 + i64::try_from(at.saturating_duration_since(base.0).as_micros()).unwrap_or(0);
    let mut put_errors = Vec::new();
    let mut stopped = None;

    std::thread::scope(|scope| {
        for instance in &mut ingest {
            let (rt, sqs, queue, stop, log, errors) =
                (&rt, &sqs, &wired.ingest_queue, stop_rx.clone(), &ingest_log, &errors);
            let target = Target::Mapping {
                batch: wiring.batch_size,
                queue_arn: &wired.ingest_queue.arn,
            };
            let long_poll = options.long_poll_s;
            scope.spawn(move || {
                poll(
                    rt,
                    sqs,
                    queue,
                    target,
                    long_poll,
                    &mut instance.process,
                    stop,
                    log,
                    errors,
                )
            });
        }
        for instance in &mut notify {
            let (rt, sqs, queue, stop, log, errors) =
                (&rt, &sqs, &wired.notify_queue, stop_rx.clone(), &notify_log, &errors);
            let target = Target::EachEvent {
                retries: wiring.notify_retries,
            };
            let long_poll = options.long_poll_s;
            scope.spawn(move || {
                poll(
                    rt,
                    sqs,
                    queue,
                    target,
                    long_poll,
                    &mut instance.process,
                    stop,
                    log,
                    errors,
                )
            });
        }

        let mut seen = 0;
        for (i, trace) in traces.iter_mut().enumerate() {
            if let Some(rate) = options.rate {
                let slot = started + Duration::from_secs_f64(i as f64 / rate);
                std::thread::sleep(slot.saturating_duration_since(Instant::now()));
            }
            let (sample, names) = &samples[i % samples.len()];
            let event = fleet::on_clone(sample, i, i);
            trace.put_us = now_us();
            if let Err(e) = rt.block_on(put(&bus, &event)) {
                put_errors.push(format!("event {i}: {e}"));
            }
            trace.put_done_us = now_us();
            if options.rate.is_none() {
                // One at a time: wait for this event's alert; without it, the run stops (the
                // flow is broken, and waiting for every later event would only take long).
                let id = names.id(i);
                let until = Instant::now() + options.patience;
                let mut arrived = false;
                'wait: while Instant::now() < until {
                    for r in slack.requests_since(seen) {
                        seen += 1;
                        if is_alert(&r) && r.text().contains(&id) {
                            arrived = true;
                            break 'wait;
                        }
                    }
                    std::thread::sleep(Duration::from_micros(500));
                }
                if !arrived {
                    stopped = Some(i);
                    break;
                }
            }
        }
        // Every alert in, or patience spent since the last put.
        let until = Instant::now() + options.patience;
        while Instant::now() < until {
            let alerts = slack.requests().iter().filter(|r| is_alert(r)).count();
            if alerts >= options.events {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = stop_tx.send(true);
    });
    let wall = started.elapsed();

    // Collate.
    let index: HashMap<String, usize> = (0..options.events).map(|i| (fleet::event_id(i), i)).collect();
    let mut problems = put_errors;
    if let Some(i) = stopped {
        problems.push(format!(
            "stopped at event {i}: its alert did not reach Slack within {} s, so events {i}.. were not all sent",
            options.patience.as_secs()
        ));
    }
    let sent = stopped.map_or(options.events, |i| i + 1);
    for d in ingest_log.into_inner().unwrap_or_else(PoisonError::into_inner) {
        let body: Value = serde_json::from_str(&d.body).unwrap_or(Value::Null);
        let Some(&i) = body["detail"]["eventID"].as_str().and_then(|id| index.get(id)) else {
            problems.push(format!("ingest got a message that is not one of the run's: {}", d.body));
            continue;
        };
        if traces[i].ingest.is_some() {
            problems.push(format!("event {i} reached ingest twice"));
        }
        traces[i].ingest = Some(d);
    }
    for d in notify_log.into_inner().unwrap_or_else(PoisonError::into_inner) {
        let body: Value = serde_json::from_str(&d.body).unwrap_or(Value::Null);
        let Some(&i) = body["detail"]["finding"]["call"]["event_id"]
            .as_str()
            .and_then(|id| index.get(id))
        else {
            problems.push(format!(
                "notify-slack got an event that is not one of the run's: {}",
                d.body
            ));
            continue;
        };
        if body["detail-type"] != "Drift Detected" {
            problems.push(format!("event {i}: notify-slack got {}", body["detail-type"]));
            continue;
        }
        if traces[i].notify.is_some() {
            problems.push(format!("event {i}: Drift Detected reached notify-slack twice"));
        }
        traces[i].notify = Some(d);
    }
    let ids: Vec<String> = (0..options.events)
        .map(|i| CHANGES[i % CHANGES.len()].1.id(i))
        .collect();
    for r in slack.requests().iter().filter(|r| is_alert(r)) {
        let text = r.text();
        if let Some(i) = ids.iter().position(|id| text.contains(id.as_str())) {
            traces[i].alerts += 1;
            traces[i].slack_us.get_or_insert(at_us(r.at));
        } else {
            problems.push(format!("an alert names none of the run's resources: {text}"));
        }
    }
    for (i, t) in traces.iter().enumerate().take(sent) {
        match t.alerts {
            1 => {}
            0 => problems.push(format!(
                "event {i} ({}): no Slack alert within {} s (ingest got it: {}, notify-slack got Drift Detected: {})",
                CHANGES[i % CHANGES.len()].0,
                options.patience.as_secs(),
                t.ingest.is_some(),
                t.notify.is_some()
            )),
            n => problems.push(format!("event {i}: {n} Slack alerts")),
        }
    }

    let ms = |a: i64, b: i64| (b - a) as f64 / 1000.0;
    let mut total = Vec::new();
    let mut hops: Vec<(&'static str, Vec<f64>)> = [
        "PutEvents call",
        "PutEvents → on the ingest queue",
        "on the queue → ingest invoked",
        "ingest invoked → Drift Detected on the bus",
        "ingest invocation (whole batch)",
        "on the bus → notify-slack invoked",
        "notify-slack invoked → Slack has the alert",
        "notify-slack invocation",
    ]
    .into_iter()
    .map(|name| (name, Vec::new()))
    .collect();
    for t in &traces {
        let (Some(i), Some(n), Some(s)) = (&t.ingest, &t.notify, t.slack_us) else {
            continue;
        };
        total.push(ms(t.put_us, s));
        let values = [
            ms(t.put_us, t.put_done_us),
            ms(t.put_us, i.sent_us),
            ms(i.sent_us, i.invoked_us),
            ms(i.invoked_us, n.sent_us),
            ms(i.invoked_us, i.answered_us),
            ms(n.sent_us, n.invoked_us),
            ms(n.invoked_us, s),
            ms(n.invoked_us, n.answered_us),
        ];
        for ((_, list), v) in hops.iter_mut().zip(values) {
            list.push(v);
        }
    }

    let mut requests = BTreeMap::new();
    let mut answering = BTreeMap::new();
    let mut units = Vec::new();
    if let (Some((ip, np)), Some((ib, nb))) = (&proxies, &tally_before) {
        for (function, proxy, before, skip) in [
            ("ingest", ip, ib, captured_before.0),
            ("notify-slack", np, nb, captured_before.1),
        ] {
            for ((service, op), t) in proxy.tally() {
                let earlier = before.get(&(service.clone(), op.clone()));
                let seen = earlier.map_or(0, |b: &Tally| b.seen);
                if t.seen > seen {
                    let took = t
                        .answering
                        .saturating_sub(earlier.map_or(Duration::ZERO, |b| b.answering));
                    answering.insert((function.to_owned(), service.clone(), op.clone()), took);
                    requests.insert((function.to_owned(), service, op), t.seen - seen);
                }
            }
            let mut meter = Meter::new();
            for (n, x) in proxy.captured().iter().enumerate() {
                meter.take(x, n >= skip);
            }
            units.push((function, meter.units().clone()));
        }
    }
    let cpu_after = (cpu(&ingest), cpu(&notify), cpu_seconds(moto_pid).unwrap_or(0.0));
    Ok(Report {
        options: options.clone(),
        wiring: wiring.describe(),
        total: Stats::of(&total),
        hops: hops.into_iter().map(|(name, v)| (name, Stats::of(&v))).collect(),
        traces,
        requests,
        answering,
        units,
        cpu: (
            cpu_after.0 - cpu_before.0,
            cpu_after.1 - cpu_before.1,
            cpu_after.2 - cpu_before.2,
        ),
        wall,
        errors: errors.into_inner().unwrap_or_else(PoisonError::into_inner),
        problems,
    })
}

/// The DynamoDB operations whose requests and answers are kept for pricing.
pub(crate) const DYNAMODB_OPERATIONS: [&str; 9] = [
    "GetItem",
    "PutItem",
    "DeleteItem",
    "UpdateItem",
    "Query",
    "Scan",
    "TransactWriteItems",
    "BatchGetItem",
    "BatchWriteItem",
];

/// A top-level Slack alert (not a thread reply, not an update).
fn is_alert(r: &crate::slack_receiver::Received) -> bool {
    r.path == "/api/chat.postMessage" && r.json.as_ref().is_some_and(|j| j.get("thread_ts").is_none())
}

/// Puts `event` on the default bus as CloudTrail would.
async fn put(bus: &aws_sdk_eventbridge::Client, event: &Value) -> Result<(), String> {
    let entry = aws_sdk_eventbridge::types::PutEventsRequestEntry::builder()
        .source(event["source"].as_str().unwrap_or_default())
        .detail_type(event["detail-type"].as_str().unwrap_or_default())
        .detail(event["detail"].to_string())
        .set_resources(Some(
            event["resources"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_owned))
                .collect(),
        ))
        .build();
    let put = bus
        .put_events()
        .entries(entry)
        .send()
        .await
        .map_err(|e| format!("PutEvents: {e:?}"))?;
    if put.failed_entry_count() > 0 {
        return Err(format!("PutEvents refused the event: {:?}", put.entries()));
    }
    Ok(())
}

impl Report {
    /// Whether every event reached Slack once and nothing failed.
    pub fn ok(&self) -> bool {
        self.problems.is_empty() && self.errors.is_empty()
    }

    /// Requests of `function` to `service` per event, by operation.
    pub fn per_event(&self, function: &str, service: &str) -> Vec<(String, f64)> {
        let n = self.options.events.max(1) as f64;
        self.requests
            .iter()
            .filter(|((f, s, _), _)| f == function && s == service)
            .map(|((_, _, op), count)| (op.clone(), *count as f64 / n))
            .collect()
    }
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let o = &self.options;
        let n = o.events.max(1) as f64;
        writeln!(
            f,
            "latency: {} events ({}), {} ingest instance(s) polling the ingest queue (long polling, WaitTimeSeconds {}), \
             {} notify-slack instance(s); {}",
            o.events,
            o.rate.map_or_else(
                || "one at a time: each put once the previous alert reached Slack".to_owned(),
                |r| format!("{r} per second")
            ),
            o.ingest_instances,
            o.long_poll_s,
            o.notify_instances,
            if o.count {
                "functions → counting proxy → moto"
            } else {
                "functions → moto directly"
            }
        )?;
        writeln!(f, "  template: {}", self.wiring)?;
        writeln!(f, "  PutEvents → Slack alert  {}  (n = {})", self.total, self.total.n)?;
        for (name, s) in &self.hops {
            writeln!(f, "    {name:<44} {s}")?;
        }
        let batches: Vec<usize> = self
            .traces
            .iter()
            .filter_map(|t| t.ingest.as_ref().map(|d| d.batch))
            .collect();
        if !batches.is_empty() {
            writeln!(
                f,
                "  ingest batches: mean {:.2} messages per invocation",
                batches.iter().sum::<usize>() as f64 / batches.len() as f64
            )?;
        }
        for function in ["ingest", "notify-slack"] {
            for service in ["dynamodb", "events", "s3", "sts", "secretsmanager", "ssm"] {
                let ops = self.per_event(function, service);
                if ops.is_empty() {
                    continue;
                }
                let total: f64 = ops.iter().map(|(_, v)| v).sum();
                let list: Vec<String> = ops.iter().map(|(op, v)| format!("{op} {v:.2}")).collect();
                let waited: Vec<String> = self
                    .answering
                    .iter()
                    .filter(|((f, s, _), _)| f == function && s == service)
                    .map(|((_, _, op), d)| format!("{op} {:.1}", d.as_secs_f64() * 1000.0 / n))
                    .collect();
                writeln!(
                    f,
                    "  {function} → {service}: {total:.2} requests per event ({}); moto answered in (ms per event) {}",
                    list.join(", "),
                    waited.join(", ")
                )?;
            }
        }
        for (function, units) in &self.units {
            writeln!(
                f,
                "  {function} DynamoDB units per event: {:.2} read, {:.2} write ({})",
                units.read() / n,
                units.write() / n,
                units
                    .by_operation
                    .iter()
                    .filter(|(_, u)| u.read + u.write + u.index_write > 0.0)
                    .map(|(op, u)| if u.read > 0.0 {
                        format!("{op} {:.2} RRU", u.read / n)
                    } else {
                        format!("{op} {:.2} WRU + {:.2} index WRU", u.write / n, u.index_write / n)
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        writeln!(
            f,
            "  CPU per event: ingest {:.2} ms, notify-slack {:.2} ms, moto {:.2} ms; wall {:.1} s",
            self.cpu.0 * 1000.0 / n,
            self.cpu.1 * 1000.0 / n,
            self.cpu.2 * 1000.0 / n,
            self.wall.as_secs_f64()
        )?;
        for e in self.errors.iter().take(5) {
            writeln!(f, "  ERROR {e}")?;
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
