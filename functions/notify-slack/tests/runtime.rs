//! The compiled notify-slack Lambda, run as Lambda runs it (Runtime API on loopback), against
//! moto's DynamoDB (and Secrets Manager / SSM) and a loopback HTTP receiver standing in for
//! Slack: what a person sees of an alert (texts, buttons, finding ids), its resolution (update +
//! thread reply), a burst, a digest, a remediation result and a webhook; 429 with Retry-After and a
//! 500 retried with one message posted; redeliveries posting nothing; bad events refused as
//! InvalidInput; events whose finding is not the one in the table refused and never posted.

use driftguard_core::finding::{Finding, IacChange};
use driftguard_core::ports::{Change, FindingStore};
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
use driftguard_tests::slack_receiver::{Received, Reply, SlackReceiver, Visible};
use driftguard_tests::stack::{workspace, Stack, TABLE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);
const TOKEN: &str = "xoxb-0000000000-1111111111111-NotifyTestToken";
const WEBHOOK_PATH: &str = "/services/T0DRIFT00/B0NOTIFY0/NotifyWebhookSecret42";
const POST: &str = "/api/chat.postMessage";
const UPDATE: &str = "/api/chat.update";

struct Notifier {
    stack: Stack,
    slack: SlackReceiver,
    lambda: LambdaProcess,
    rt: tokio::runtime::Runtime,
    /// Milliseconds per invocation, printed at the end of each test.
    timings: Vec<u128>,
}

impl Notifier {
    /// moto, the Slack receiver and the compiled function; `None` when moto is not installed.
    /// `bot`: a bot token (else the receiver's webhook).
    fn start(test: &str, bot: bool, extra_env: &[(&str, &str)]) -> Option<Notifier> {
        Self::start_prepared(test, bot, extra_env, |_, _| {})
    }

    /// As [`Notifier::start`], running `prepare` on the stack before the function starts.
    fn start_prepared(
        test: &str,
        bot: bool,
        extra_env: &[(&str, &str)],
        prepare: impl FnOnce(&tokio::runtime::Runtime, &Stack),
    ) -> Option<Notifier> {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let stack = rt.block_on(Stack::start(test))?;
        prepare(&rt, &stack);
        let slack = SlackReceiver::start();
        slack.expect_token(TOKEN);
        let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-notify-slack"));
        let api = RuntimeApi::start_named("driftguard-notify-slack");
        let mut env: Vec<(String, String)> = vec![
            ("AWS_ENDPOINT_URL".into(), stack.moto.endpoint()),
            ("DRIFTGUARD_TABLE".into(), TABLE.into()),
            ("DRIFTGUARD_SLACK_API_BASE".into(), slack.api_base()),
            ("DRIFTGUARD_SLACK_CHANNEL".into(), "C0DEFAULT".into()),
            (
                "DRIFTGUARD_SLACK_ROUTES".into(),
                r#"[{"channel":"C0SECURITY","severity":["critical"]}]"#.into(),
            ),
            ("RUST_LOG".into(), "info".into()),
        ];
        if bot {
            env.push(("DRIFTGUARD_SLACK_BOT_TOKEN".into(), TOKEN.into()));
        } else {
            env.push(("DRIFTGUARD_SLACK_WEBHOOK_URL".into(), slack.url(WEBHOOK_PATH)));
        }
        for (k, v) in extra_env {
            env.retain(|(key, _)| key != k);
            env.push(((*k).into(), (*v).into()));
        }
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let mut lambda = LambdaProcess::spawn(&binary, &api, &env);
        // Also where the token comes from Secrets Manager or SSM, not the environment.
        lambda.never_logs(TOKEN);
        Some(Notifier {
            stack,
            slack,
            lambda,
            rt,
            timings: Vec::new(),
        })
    }

    fn invoke(&mut self, event: &Value) -> Invocation {
        let started = Instant::now();
        let result = self.lambda.invoke(event.to_string().as_bytes(), TIMEOUT);
        self.timings.push(started.elapsed().as_millis());
        if matches!(
            result,
            Invocation::TimedOut { .. } | Invocation::ProcessExited { .. } | Invocation::InitError(_)
        ) {
            panic!("{result:?}\nfunction logs:\n{}", self.lambda.logs());
        }
        result
    }

    fn respond(&mut self, event: &Value) -> Value {
        match self.invoke(event) {
            Invocation::Response(v) => v,
            other => panic!("expected a response, got {other:?}\nlogs:\n{}", self.lambda.logs()),
        }
    }

    fn stored_message(&self, finding_id: &str) -> Option<(String, String)> {
        let item = self
            .rt
            .block_on(
                aws_sdk_dynamodb::Client::new(&self.stack.sdk)
                    .get_item()
                    .table_name(TABLE)
                    .key(
                        "pk",
                        aws_sdk_dynamodb::types::AttributeValue::S(format!("SLACKMSG#{finding_id}")),
                    )
                    .key("sk", aws_sdk_dynamodb::types::AttributeValue::S("MESSAGE".into()))
                    .send(),
            )
            .expect("get item")
            .item?;
        let attr = |k: &str| item.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        Some((attr("channel"), attr("ts")))
    }

    /// Stores the finding of a drift event, as ingest does before it publishes.
    fn seed(&self, event: &Value) {
        let f = finding_of(event);
        self.rt
            .block_on(self.stack.store().apply(&[Change::Finding(Box::new(f))]))
            .expect("seed the finding");
    }

    /// Stores the IaC change that resolved the finding of a `Drift Resolved` event.
    fn seed_resolution(&self, event: &Value) {
        let f = finding_of(event);
        let r = f.resolution.clone().expect("a resolved finding");
        let change = IacChange {
            resource_key: f.resource.key(),
            event_id: r.event_id,
            time: r.time,
            by: r.by,
            restores: Vec::new(),
            finding: None,
            baseline: false,
        };
        self.rt
            .block_on(self.stack.store().apply(&[Change::Iac(change)]))
            .expect("seed the resolution");
    }

    fn report(&self, test: &str) {
        eprintln!("notify-slack {test}: invocation ms {:?}", self.timings);
        for line in self.lambda.logs().lines() {
            assert!(
                !line.contains("NotifyTestToken") && !line.contains("NotifyWebhookSecret42"),
                "a secret in the logs: {line}"
            );
        }
    }
}

fn sample(name: &str) -> Value {
    let bytes = std::fs::read(workspace().join("events/driftguard").join(name)).expect("sample event");
    serde_json::from_slice(&bytes).expect("JSON")
}

fn finding_of(event: &Value) -> Finding {
    serde_json::from_value(event["detail"]["finding"].clone()).expect("a finding")
}

fn body(r: &Received) -> Value {
    r.json
        .clone()
        .unwrap_or_else(|| panic!("a JSON body, got {:?}", r.text()))
}

const OPEN_HEADER: &str = "CRITICAL drift: AWS::EC2::SecurityGroup sg-0123456789abcdef0";
const RESOLVED_HEADER: &str = "resolved: AWS::EC2::SecurityGroup sg-0123456789abcdef0";
const BUTTONS: [&str; 5] = ["Revert", "Re-apply IaC", "Accept change", "Acknowledge", "Not drift"];

/// Where a chat.postMessage / chat.update went: `(channel, ts, thread_ts)`.
fn target(r: &Received) -> (String, Option<String>, Option<String>) {
    let b = body(r);
    let s = |k: &str| b[k].as_str().map(str::to_owned);
    (s("channel").unwrap_or_default(), s("ts"), s("thread_ts"))
}

/// The sample `Drift Detected` event for another finding: same actor and resource, `secs` later.
fn another_change(id: &str, secs: i64, severity: &str) -> Value {
    let mut e = sample("drift-detected.console-sg.json");
    let mut f = finding_of(&e);
    f.id = id.into();
    f.call.event_id = format!("ev-{id}");
    f.call.time = driftguard_core::time::Timestamp(f.call.time.0 + secs * 1000);
    f.severity = serde_json::from_value(json!(severity)).expect("severity");
    e["detail"]["key"] = json!(format!("{id}:detected"));
    e["detail"]["finding"] = serde_json::to_value(&f).expect("finding");
    e
}

#[test]
fn an_alert_is_posted_once_then_updated_and_threaded_when_resolved() {
    let test = "an_alert_is_posted_once_then_updated_and_threaded_when_resolved";
    let Some(mut n) = Notifier::start(test, true, &[]) else {
        return;
    };
    let detected = sample("drift-detected.console-sg.json");
    n.seed(&detected);
    let f = finding_of(&detected);
    n.slack
        .script(POST, [Reply::ok_posted("C0SECURITY", "1700000000.000100")]);
    let summary = n.respond(&detected);
    assert_eq!(summary["status"], "posted", "{summary}");
    let posts = n.slack.requests_to(POST);
    assert_eq!(posts.len(), 1);
    assert_eq!(
        target(&posts[0]),
        ("C0SECURITY".into(), None, None),
        "critical goes to its route"
    );
    let alert = Visible::of(&body(&posts[0]));
    assert_eq!(alert.header.as_deref(), Some(OPEN_HEADER));
    assert!(alert.says("alice@example.com"), "{alert:?}");
    assert!(alert.says(&format!("finding `{}`", f.id)), "{alert:?}");
    assert!(alert.says(&f.call.event_id), "links the CloudTrail event: {alert:?}");
    assert_eq!(alert.button_labels(), BUTTONS);
    assert!(alert.buttons.iter().all(|b| b.finding_ids == [f.id.clone()]));
    assert_eq!(alert.buttons[0].confirm.as_deref(), Some("Revert this change?"));
    assert_eq!(
        posts[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    assert_eq!(
        n.stored_message(&f.id),
        Some(("C0SECURITY".into(), "1700000000.000100".into())),
        "the channel and ts are remembered for the finding"
    );

    // EventBridge delivers at least once: the same event posts nothing.
    let again = n.respond(&detected);
    assert_eq!(again["status"], "duplicate", "{again}");
    assert_eq!(n.slack.requests_to(POST).len(), 1);

    // The resolution updates the original message and replies in its thread.
    let resolved_event = sample("drift-resolved.terraform-apply.json");
    n.seed_resolution(&resolved_event);
    let summary = n.respond(&resolved_event);
    assert_eq!(summary["status"], "updated", "{summary}");
    let updates = n.slack.requests_to(UPDATE);
    assert_eq!(updates.len(), 1);
    assert_eq!(
        target(&updates[0]),
        ("C0SECURITY".into(), Some("1700000000.000100".into()), None)
    );
    let update = Visible::of(&body(&updates[0]));
    assert_eq!(update.header.as_deref(), Some(RESOLVED_HEADER));
    assert!(update.buttons.is_empty(), "a resolved alert has no buttons");
    assert!(
        update.says("resolved by Terraform at 2026-11-20T09:40:27Z"),
        "{update:?}"
    );
    let posts = n.slack.requests_to(POST);
    assert_eq!(posts.len(), 2);
    assert_eq!(
        target(&posts[1]),
        ("C0SECURITY".into(), None, Some("1700000000.000100".into()))
    );
    assert_eq!(
        body(&posts[1])["text"],
        ":white_check_mark: Resolved by Terraform at 2026-11-20T09:40:27Z: the resource is back under IaC."
    );
    assert_eq!(n.respond(&resolved_event)["status"], "duplicate");
    assert_eq!(n.slack.requests().len(), 3, "nothing more reached Slack");
    n.report(test);
}

/// Issue #16 item 1: a `Drift Detected` naming a finding the table does not hold, or carrying
/// other content than the stored finding (a forged alert with a chosen finding id, actor or
/// resource), is refused, logged and counted, and nothing reaches Slack.
#[test]
fn events_that_do_not_match_the_table_are_refused_and_never_posted() {
    let test = "events_that_do_not_match_the_table_are_refused_and_never_posted";
    let Some(mut n) = Notifier::start(test, true, &[]) else {
        return;
    };
    let genuine = sample("drift-detected.console-sg.json");
    n.seed(&genuine);
    let unknown = another_change("dg-00000000000000aa", 60, "critical");
    let mut other_actor = genuine.clone();
    other_actor["detail"]["finding"]["actor"]["human"] = json!("mallory@example.com");
    let mut other_resource = genuine.clone();
    other_resource["detail"]["finding"]["resource"]["id"] = json!("sg-0fffffffffffffff0");
    let mut early_resolution = sample("drift-resolved.terraform-apply.json");
    early_resolution["id"] = json!("forged-resolution");
    let completed_for_unknown = sample("remediation-failed.reapply.json");
    for (event, reason, error) in [
        (
            &unknown,
            "not_stored",
            "finding dg-00000000000000aa is not in the table",
        ),
        (
            &other_actor,
            "differs",
            "finding dg-1500731b7ee4b0bc: the event's actor disagrees with the table",
        ),
        (
            &other_resource,
            "differs",
            "finding dg-1500731b7ee4b0bc: the event's resource disagrees with the table",
        ),
        (
            &early_resolution,
            "differs",
            "finding dg-1500731b7ee4b0bc: the event's status disagrees with the table",
        ),
        (
            &completed_for_unknown,
            "not_stored",
            "finding dg-696a404fddeea72d is not in the table",
        ),
    ] {
        let answer = n.respond(event);
        assert_eq!(
            answer,
            json!({ "status": "refused", "reason": reason, "error": error }),
            "{event}"
        );
    }
    assert!(n.slack.requests().is_empty(), "nothing reached Slack");
    assert_eq!(n.stored_message("dg-1500731b7ee4b0bc"), None);
    let logs = n.lambda.logs();
    assert_eq!(
        logs.matches("Refused an event that does not match the table").count(),
        5,
        "each refusal logged"
    );
    assert!(logs.contains("\"refused_total\":3"), "and counted per reason: {logs}");
    // The genuine event still posts.
    n.slack.script(POST, [Reply::ok_posted("C0SECURITY", "1.1")]);
    assert_eq!(n.respond(&genuine)["status"], "posted");
    n.report(test);
}

#[test]
fn rate_limits_and_server_errors_are_retried_and_the_alert_posted_once() {
    let test = "rate_limits_and_server_errors_are_retried_and_the_alert_posted_once";
    let Some(mut n) = Notifier::start(test, true, &[]) else {
        return;
    };
    n.slack.script(
        POST,
        [
            Reply::rate_limited(1),
            Reply::server_error(),
            Reply::ok_posted("C0SECURITY", "1700000000.000200"),
        ],
    );
    let detected = sample("drift-detected.console-sg.json");
    n.seed(&detected);
    let f = finding_of(&detected);
    assert_eq!(n.respond(&detected)["status"], "posted");
    let posts = n.slack.requests_to(POST);
    assert_eq!(posts.len(), 3, "429, 500, then success");
    for p in &posts {
        assert_eq!(body(p), body(&posts[0]), "the same payload each time");
    }
    assert_eq!(target(&posts[0]), ("C0SECURITY".into(), None, None));
    assert_eq!(Visible::of(&body(&posts[0])).header.as_deref(), Some(OPEN_HEADER));
    let waited = posts[1].at.duration_since(posts[0].at);
    assert!(
        waited >= Duration::from_millis(950),
        "Retry-After: 1 honoured, waited {waited:?}"
    );
    assert_eq!(
        n.stored_message(&f.id),
        Some(("C0SECURITY".into(), "1700000000.000200".into()))
    );

    // A 5xx that outlasts the retries fails the invocation as retryable and leaves the
    // delivery unclaimed, so Lambda's retry posts it.
    let other = another_change("dg-00000000000000f1", 3600, "major");
    n.seed(&other);
    n.slack.script(POST, (0..5).map(|_| Reply::server_error()));
    let error = n.invoke(&other).expect_error();
    assert_eq!(error.error_type(), Some("Retryable"), "{error:?}");
    n.slack
        .script(POST, [Reply::ok_posted("C0DEFAULT", "1700000000.000300")]);
    assert_eq!(n.respond(&other)["status"], "posted");
    n.report(test);
}

#[test]
fn a_burst_by_one_actor_on_one_resource_is_one_message_updated() {
    let test = "a_burst_by_one_actor_on_one_resource_is_one_message_updated";
    let Some(mut n) = Notifier::start(test, true, &[]) else {
        return;
    };
    let first = sample("drift-detected.console-sg.json");
    let second = another_change("dg-00000000000000b2", 45, "critical");
    n.seed(&first);
    n.seed(&second);
    n.slack
        .script(POST, [Reply::ok_posted("C0SECURITY", "1700000000.000100")]);
    assert_eq!(n.respond(&first)["status"], "posted");
    let summary = n.respond(&second);
    assert_eq!(summary["status"], "updated", "{summary}");
    assert_eq!(n.slack.requests_to(POST).len(), 1, "one message for the burst");
    let updates = n.slack.requests_to(UPDATE);
    assert_eq!(updates.len(), 1);
    assert_eq!(
        target(&updates[0]),
        ("C0SECURITY".into(), Some("1700000000.000100".into()), None)
    );
    let group = Visible::of(&body(&updates[0]));
    assert_eq!(
        group.header.as_deref(),
        Some("CRITICAL drift: 2 changes by alice@example.com on AWS::EC2::SecurityGroup sg-0123456789abcdef0")
    );
    assert!(
        group.says("findings `dg-1500731b7ee4b0bc`, `dg-00000000000000b2`"),
        "{group:?}"
    );
    assert_eq!(group.button_labels(), BUTTONS);
    assert!(group
        .buttons
        .iter()
        .all(|b| b.finding_ids == ["dg-1500731b7ee4b0bc", "dg-00000000000000b2"]));
    assert_eq!(
        n.stored_message("dg-00000000000000b2"),
        Some(("C0SECURITY".into(), "1700000000.000100".into())),
        "the second finding points at the burst's message"
    );
    // Outside the window: a message of its own.
    let later = another_change("dg-00000000000000b3", 3600, "critical");
    n.seed(&later);
    n.slack
        .script(POST, [Reply::ok_posted("C0SECURITY", "1700000000.000900")]);
    assert_eq!(n.respond(&later)["status"], "posted");
    n.report(test);
}

#[test]
fn minor_findings_are_batched_into_a_digest() {
    let test = "minor_findings_are_batched_into_a_digest";
    let Some(mut n) = Notifier::start(test, true, &[("DRIFTGUARD_SLACK_DIGEST_MAX_ITEMS", "2")]) else {
        return;
    };
    let a = another_change("dg-00000000000000d1", 0, "minor");
    let b = another_change("dg-00000000000000d2", 7200, "minor");
    n.seed(&a);
    n.seed(&b);
    let first = n.respond(&a);
    assert_eq!(
        (first["status"].clone(), first["digest_posted"].clone()),
        (json!("digested"), json!(0))
    );
    assert!(n.slack.requests().is_empty(), "a minor finding alone waits");
    assert_eq!(n.respond(&a)["status"], "duplicate");
    let second = n.respond(&b);
    assert_eq!(second["digest_posted"], json!(1), "{second}");
    let posts = n.slack.requests_to(POST);
    assert_eq!(posts.len(), 1);
    assert_eq!(target(&posts[0]), ("C0DEFAULT".into(), None, None));
    let digest = Visible::of(&body(&posts[0]));
    assert_eq!(digest.header.as_deref(), Some("Drift digest: 2 findings"));
    assert!(
        digest.says("`dg-00000000000000d1`") && digest.says("`dg-00000000000000d2`"),
        "{digest:?}"
    );
    assert!(digest.buttons.is_empty());
    // The scheduled flush finds nothing left.
    let tick = json!({"version": "0", "id": "t", "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012", "time": "2026-11-20T10:00:00Z", "region": "eu-west-1", "resources": [], "detail": {}});
    assert_eq!(n.respond(&tick)["digests_posted"], json!(0));
    assert_eq!(n.slack.requests().len(), 1);
    n.report(test);
}

/// The weekly schedule's input asks for the hotspot digest: every finding in the table ranked,
/// posted to the default channel once per week.
#[test]
fn the_weekly_hotspot_digest_ranks_the_resource_changed_most_by_hand_first() {
    let test = "the_weekly_hotspot_digest_ranks_the_resource_changed_most_by_hand_first";
    let Some(mut n) = Notifier::start(test, true, &[]) else {
        return;
    };
    // One security group changed by hand on each of the last ten days, one other once.
    let base = finding_of(&sample("drift-detected.console-sg.json"));
    let day = 86_400_000;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64);
    let mut changes = Vec::new();
    for d in 0..10 {
        let mut f = base.clone();
        f.id = format!("dg-00000000000d{d:04}");
        f.call.event_id = format!("ev-daily-{d}");
        f.call.time = driftguard_core::time::Timestamp(now - d * day);
        changes.push(Change::Finding(Box::new(f)));
    }
    let mut once = base.clone();
    once.id = "dg-0000000000000001".into();
    once.call.event_id = "ev-once".into();
    once.call.time = driftguard_core::time::Timestamp(now - 5 * day);
    once.resource.id = "sg-0aaaaaaaaaaaaaaaa".into();
    changes.push(Change::Finding(Box::new(once)));
    n.rt.block_on(n.stack.store().apply(&changes)).expect("seed findings");

    let ask = json!({ "driftguard": "hotspot-digest" });
    assert_eq!(n.respond(&ask)["status"], json!("posted"));
    let posts = n.slack.requests_to(POST);
    assert_eq!(posts.len(), 1);
    assert_eq!(target(&posts[0]), ("C0DEFAULT".into(), None, None));
    let digest = Visible::of(&body(&posts[0]));
    assert_eq!(digest.header.as_deref(), Some("Drift hotspots: the next 7 days"));
    let listing = digest.texts.first().cloned().unwrap_or_default();
    let (daily, other) = (
        listing.find("sg-0123456789abcdef0").expect("the daily one is listed"),
        listing.find("sg-0aaaaaaaaaaaaaaaa").expect("the other one is listed"),
    );
    assert!(daily < other, "ranked first: {listing}");
    assert!(listing.contains("10 manual changes on 10 days"), "{listing}");
    // Once a week: a second run of the schedule posts nothing.
    assert_eq!(n.respond(&ask)["status"], json!("already posted"));
    assert_eq!(n.slack.requests_to(POST).len(), 1);
    n.report(test);
}

#[test]
fn a_scheduled_flush_posts_digests_that_waited_long_enough() {
    let test = "a_scheduled_flush_posts_digests_that_waited_long_enough";
    let Some(mut n) = Notifier::start(test, true, &[("DRIFTGUARD_SLACK_DIGEST_MAX_AGE_SECONDS", "1")]) else {
        return;
    };
    let a = another_change("dg-00000000000000e1", 0, "minor");
    n.seed(&a);
    assert_eq!(n.respond(&a)["digest_posted"], json!(0));
    std::thread::sleep(Duration::from_millis(1100));
    let tick = json!({"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}});
    assert_eq!(n.respond(&tick)["digests_posted"], json!(1));
    let posts = n.slack.requests_to(POST);
    assert_eq!(target(&posts[0]), ("C0DEFAULT".into(), None, None));
    let digest = Visible::of(&body(&posts[0]));
    assert_eq!(digest.header.as_deref(), Some("Drift digest: 1 finding"));
    assert!(digest.says("`dg-00000000000000e1`"), "{digest:?}");
    n.report(test);
}

#[test]
fn a_remediation_result_updates_the_alert_and_replies_in_its_thread() {
    let test = "a_remediation_result_updates_the_alert_and_replies_in_its_thread";
    let Some(mut n) = Notifier::start(test, true, &[]) else {
        return;
    };
    let detected = sample("drift-detected.console-sg.json");
    n.seed(&detected);
    n.slack
        .script(POST, [Reply::ok_posted("C0SECURITY", "1700000000.000100")]);
    assert_eq!(n.respond(&detected)["status"], "posted");
    let completed = sample("remediation-completed.revert.json");
    let summary = n.respond(&completed);
    assert_eq!(summary["status"], "updated", "{summary}");
    let note = ":white_check_mark: Revert completed by driftguard-remediate at 2026-11-20T09:59:11.804Z: \
                ec2:RevokeSecurityGroupIngress on sg-0123456789abcdef0 (tcp 22 0.0.0.0/0); ingress is \
                [\"tcp 443 0.0.0.0/0\"], as IaC declares";
    let updates = n.slack.requests_to(UPDATE);
    assert_eq!(
        target(&updates[0]),
        ("C0SECURITY".into(), Some("1700000000.000100".into()), None)
    );
    let update = Visible::of(&body(&updates[0]));
    assert_eq!(update.header.as_deref(), Some(OPEN_HEADER));
    assert!(update.texts.iter().any(|t| t == note), "{update:?}");
    assert_eq!(update.button_labels(), BUTTONS, "the finding is still open");
    let posts = n.slack.requests_to(POST);
    assert_eq!(
        target(&posts[1]),
        ("C0SECURITY".into(), None, Some("1700000000.000100".into()))
    );
    assert_eq!(body(&posts[1])["text"], note);
    assert_eq!(n.respond(&completed)["status"], "duplicate");

    // A result for a stored finding never alerted on is posted to the finding's channel.
    let failed = sample("remediation-failed.reapply.json");
    let mut never_alerted = another_change("dg-696a404fddeea72d", 600, "major");
    never_alerted["detail"]["finding"]["id"] = json!("dg-696a404fddeea72d");
    n.seed(&never_alerted);
    n.slack
        .script(POST, [Reply::ok_posted("C0DEFAULT", "1700000000.000500")]);
    assert_eq!(n.respond(&failed)["status"], "posted");
    let last = n.slack.requests_to(POST).pop().expect("a post");
    let text = ":x: Re-apply failed by driftguard-remediate at 2026-11-20T10:04:36Z: terraform apply \
                -target='module.compute.aws_instance.api' failed: the state is locked by another run. \
                (finding `dg-696a404fddeea72d`)";
    assert_eq!(target(&last), ("C0DEFAULT".into(), None, None));
    assert_eq!(body(&last)["text"], text);
    n.report(test);
}

#[test]
fn a_webhook_posts_the_alert_and_the_resolution_as_new_messages() {
    let test = "a_webhook_posts_the_alert_and_the_resolution_as_new_messages";
    let Some(mut n) = Notifier::start(test, false, &[]) else {
        return;
    };
    let detected = sample("drift-detected.console-sg.json");
    let resolved = sample("drift-resolved.terraform-apply.json");
    n.seed(&detected);
    assert_eq!(n.respond(&detected)["status"], "posted");
    n.seed_resolution(&resolved);
    assert_eq!(n.respond(&resolved)["status"], "posted");
    assert_eq!(n.respond(&resolved)["status"], "duplicate");
    let hooks = n.slack.requests_to(WEBHOOK_PATH);
    assert_eq!(hooks.len(), 2);
    let alert = Visible::of(&body(&hooks[0]));
    assert_eq!(alert.header.as_deref(), Some(OPEN_HEADER));
    assert!(alert.says("finding `dg-1500731b7ee4b0bc`"), "{alert:?}");
    // A webhook does not say where it posted, so a click could not be tied to its message:
    // webhook alerts carry no buttons.
    assert!(alert.buttons.is_empty(), "{alert:?}");
    let resolution = Visible::of(&body(&hooks[1]));
    assert_eq!(resolution.header.as_deref(), Some(RESOLVED_HEADER));
    assert!(resolution.says("resolved by Terraform"), "{resolution:?}");
    n.report(test);
}

#[test]
fn secrets_are_read_from_secrets_manager_and_ssm_at_init() {
    let test = "secrets_are_read_from_secrets_manager_and_ssm_at_init";
    let arn = std::sync::Mutex::new(String::new());
    let prepare = |rt: &tokio::runtime::Runtime, stack: &Stack| {
        let created = rt
            .block_on(
                aws_sdk_secretsmanager::Client::new(&stack.sdk)
                    .create_secret()
                    .name("driftguard/slack")
                    .secret_string(json!({ "bot_token": TOKEN }).to_string())
                    .send(),
            )
            .expect("create secret");
        *arn.lock().expect("lock") = created.arn.unwrap_or_default();
        rt.block_on(
            aws_sdk_ssm::Client::new(&stack.sdk)
                .put_parameter()
                .name("/driftguard/slack/webhook")
                .value("https://hooks.example.invalid/services/x")
                .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
                .send(),
        )
        .expect("put parameter");
    };
    // The bot token by name and JSON field; the function reads it once at init.
    let Some(mut n) = Notifier::start_prepared(
        test,
        true,
        &[
            ("DRIFTGUARD_SLACK_BOT_TOKEN", ""),
            ("DRIFTGUARD_SLACK_BOT_TOKEN_REF", "driftguard/slack#bot_token"),
        ],
        prepare,
    ) else {
        return;
    };
    n.slack.script(POST, [Reply::ok_posted("C0SECURITY", "1.1")]);
    n.seed(&sample("drift-detected.console-sg.json"));
    assert_eq!(n.respond(&sample("drift-detected.console-sg.json"))["status"], "posted");
    let post = n.slack.requests_to(POST).remove(0);
    assert_eq!(post.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    // By ARN, and from SSM, through the adapter.
    let arn = arn.lock().expect("lock").clone();
    let by_arn =
        n.rt.block_on(driftguard_aws::read_secret(&n.stack.sdk, &format!("{arn}#bot_token")))
            .expect("by ARN");
    assert_eq!(by_arn.expose(), TOKEN);
    let from_ssm =
        n.rt.block_on(driftguard_aws::read_secret(&n.stack.sdk, "/driftguard/slack/webhook"))
            .expect("from SSM");
    assert_eq!(from_ssm.expose(), "https://hooks.example.invalid/services/x");
    let missing =
        n.rt.block_on(driftguard_aws::read_secret(&n.stack.sdk, "driftguard/missing"))
            .expect_err("a missing secret");
    assert!(
        missing.to_string().contains("SecretsManager GetSecretValue failed"),
        "{missing}"
    );
    assert!(!format!("{by_arn:?} {by_arn}").contains("NotifyTestToken"));
    n.report(test);
}

#[test]
fn bad_events_are_invalid_input_and_post_nothing() {
    let test = "bad_events_are_invalid_input_and_post_nothing";
    let Some(mut n) = Notifier::start(test, true, &[]) else {
        return;
    };
    let mut wrong_type = sample("drift-detected.console-sg.json");
    wrong_type["detail-type"] = json!("Drift Exploded");
    let mut no_finding = sample("drift-detected.console-sg.json");
    no_finding["detail"] = json!({ "key": "dg-1:detected" });
    let mut other_source = sample("drift-detected.console-sg.json");
    other_source["source"] = json!("aws.ec2");
    let mut wrong_outcome = sample("remediation-completed.revert.json");
    wrong_outcome["detail"]["outcome"] = json!("failed");
    for (event, want) in [
        (json!("just a string"), "not an EventBridge event"),
        (wrong_type, "unexpected detail-type \"Drift Exploded\""),
        (no_finding, "Drift Detected detail"),
        (other_source, "unexpected event source"),
        (wrong_outcome, "Remediation Completed carries outcome \"failed\""),
    ] {
        let error = n.invoke(&event).expect_error();
        assert_eq!(error.error_type(), Some("InvalidInput"), "{error:?}");
        let message = error.error_message().unwrap_or_default();
        assert!(message.contains(want), "{message:?} should contain {want:?}");
    }
    assert!(n.slack.requests().is_empty());
    n.report(test);
}

/// Holds `pending`'s request in the remediation ledger as the remediate function does when it
/// waits for approvals (claimed, then `awaiting`).
fn hold_request(n: &Notifier, pending: &Value, state: driftguard_aws::RequestState) {
    let request = driftguard_core::remediation::RemediationRequest {
        schema_version: 1,
        finding_id: pending["finding_id"].as_str().expect("finding id").into(),
        action: serde_json::from_value(pending["action"].clone()).expect("action"),
        requested_by: serde_json::from_value(pending["requested_by"].clone()).expect("requester"),
        requested_at: driftguard_core::time::Timestamp(1_795_165_000_000),
        dry_run: false,
        reason: None,
    };
    let ledger = driftguard_aws::DynamoRemediations::new(aws_sdk_dynamodb::Client::new(&n.stack.sdk), TABLE);
    let id = pending["request_id"].as_str().expect("request id");
    n.rt.block_on(async {
        ledger.claim(id, &request).await.expect("claim");
        ledger.set_state(&request.finding_id, id, state).await.expect("state");
    });
}

#[test]
fn a_waiting_request_gets_an_approve_prompt_in_the_alerts_thread_updated_then_closed() {
    let test = "a_waiting_request_gets_an_approve_prompt_in_the_alerts_thread_updated_then_closed";
    let Some(mut n) = Notifier::start(test, true, &[]) else {
        return;
    };
    let detected = sample("drift-detected.console-sg.json");
    n.seed(&detected);
    n.slack
        .script(POST, [Reply::ok_posted("C0SECURITY", "1700000000.000100")]);
    assert_eq!(n.respond(&detected)["status"], "posted");
    let mut awaiting = sample("remediation-awaiting-approval.revert.json");
    assert_eq!(awaiting["detail"]["finding_id"], json!(finding_of(&detected).id));
    let request_id = awaiting["detail"]["request_id"]
        .as_str()
        .expect("request id")
        .to_owned();

    // A prompt for a request the remediate function does not hold waiting is never posted.
    let out = n.respond(&awaiting);
    assert_eq!(
        (&out["status"], &out["reason"]),
        (&json!("refused"), &json!("differs")),
        "{out}"
    );
    hold_request(&n, &awaiting["detail"], driftguard_aws::RequestState::Done);
    assert_eq!(
        n.respond(&awaiting)["status"],
        "refused",
        "a finished request gets no button"
    );
    hold_request(&n, &awaiting["detail"], driftguard_aws::RequestState::Awaiting);
    assert_eq!(n.slack.requests_to(POST).len(), 1, "nothing posted for refused prompts");

    // Held and waiting: the prompt goes into the alert's thread, with the plan and one button.
    n.slack
        .script(POST, [Reply::ok_posted("C0SECURITY", "1700000000.000200")]);
    let out = n.respond(&awaiting);
    assert_eq!(out["status"], "prompted", "{out}");
    let posts = n.slack.requests_to(POST);
    assert_eq!(
        target(&posts[1]),
        ("C0SECURITY".into(), None, Some("1700000000.000100".into()))
    );
    let prompt = Visible::of(&body(&posts[1]));
    assert_eq!(prompt.button_labels(), ["Approve"]);
    assert_eq!(prompt.buttons[0].action_id, "driftguard.approve");
    assert!(prompt.says("0 of 2 approvals"), "{prompt:?}");
    assert!(prompt.says("Requested by <@U0ALICE>"), "{prompt:?}");
    assert!(
        prompt.says("ec2:RevokeSecurityGroupIngress on sg-0123456789abcdef0"),
        "the plan is shown: {prompt:?}"
    );
    assert_eq!(
        n.stored_message(&format!("approval:{request_id}")),
        Some(("C0SECURITY".into(), "1700000000.000200".into())),
        "slack-actions binds Approve clicks to this message"
    );
    assert_eq!(n.respond(&awaiting)["status"], "duplicate");

    // Bob's approval is counted: the same prompt is updated, nothing new is posted.
    awaiting["detail"]["approved_by"] = json!(["U0BOB"]);
    assert_eq!(n.respond(&awaiting)["status"], "prompted");
    assert_eq!(n.slack.requests_to(POST).len(), 2);
    let updates = n.slack.requests_to(UPDATE);
    assert_eq!(
        target(updates.last().expect("an update")),
        ("C0SECURITY".into(), Some("1700000000.000200".into()), None)
    );
    let prompt = Visible::of(&body(updates.last().expect("an update")));
    assert!(prompt.says("1 of 2 approvals (<@U0BOB>)"), "{prompt:?}");
    assert_eq!(prompt.button_labels(), ["Approve"]);

    // The result closes the prompt (no button) and replies in the alert's thread as before.
    let completed = sample("remediation-completed.revert.json");
    assert_eq!(completed["detail"]["request_id"], json!(request_id));
    assert_eq!(n.respond(&completed)["status"], "updated");
    let closed = n
        .slack
        .requests_to(UPDATE)
        .into_iter()
        .find(|u| {
            target(u).1.as_deref() == Some("1700000000.000200")
                && body(u)["text"].as_str().is_some_and(|t| t.starts_with(":lock:"))
        })
        .expect("the prompt closed");
    let closed = Visible::of(&body(&closed));
    assert!(closed.buttons.is_empty(), "{closed:?}");
    assert!(closed.says("Revert completed by driftguard-remediate"), "{closed:?}");
    n.report(test);
}

/// #17 item 4: in shadow mode an alert is verified and planned, and nothing reaches Slack.
#[test]
fn shadow_mode_plans_the_alert_and_posts_nothing() {
    let test = "shadow_mode_plans_the_alert_and_posts_nothing";
    let Some(mut n) = Notifier::start(test, true, &[("DRIFTGUARD_SHADOW_MODE", "true")]) else {
        return;
    };
    let detected = sample("drift-detected.console-sg.json");
    n.seed(&detected);
    let out = n.respond(&detected);
    assert_eq!(
        (&out["status"], &out["would"], &out["channel"]),
        (&json!("shadow"), &json!("post"), &json!("C0SECURITY")),
        "{out}"
    );
    // A digest flush posts nothing either.
    let flush = json!({"version": "0", "id": "f1", "detail-type": "Scheduled Event", "source": "aws.events", "account": "123456789012", "time": "2026-11-20T10:00:00Z", "region": "eu-west-1", "resources": [], "detail": {}});
    assert_eq!(n.respond(&flush)["status"], "shadow");
    assert!(
        n.slack.requests().is_empty(),
        "nothing sent to Slack: {:?}",
        n.slack.requests()
    );
    assert_eq!(
        n.stored_message(&finding_of(&detected).id),
        None,
        "nothing remembered as posted"
    );
    let logs = n.lambda.logs();
    assert!(
        logs.contains("Shadow mode: not sent to Slack"),
        "what it would have sent is logged"
    );
    assert!(
        logs.lines().any(|l| l.contains("\"Starting\"")
            && l.contains(&format!("\"version\":\"{}\"", env!("CARGO_PKG_VERSION")))
            && l.contains("driftguard-notify-slack")),
        "the function logs its name and version at start: {logs}"
    );
    n.report(test);
}

#[test]
fn each_invocation_prints_one_metrics_line_with_what_reached_slack() {
    let test = "each_invocation_prints_one_metrics_line_with_what_reached_slack";
    let Some(mut n) = Notifier::start(test, true, &[]) else {
        return;
    };
    let last = |n: &Notifier, invocations: usize| {
        let lines = n.lambda.metrics_lines(invocations, Duration::from_secs(5));
        assert_eq!(
            lines.len(),
            invocations,
            "one line per invocation:\n{}",
            n.lambda.logs()
        );
        lines.last().cloned().expect("a metrics line")
    };
    let detected = sample("drift-detected.console-sg.json");
    n.seed(&detected);
    n.slack
        .script(POST, [Reply::ok_posted("C0SECURITY", "1700000000.000100")]);
    assert_eq!(n.respond(&detected)["status"], "posted");
    let m = last(&n, 1);
    assert_eq!((m["SlackPosts"], m["NoticesByOutcome.posted"]), (1.0, 1.0), "{m:?}");
    assert!(m.contains_key("DurationByStage.notify"), "{m:?}");
    // A redelivery reaches nothing.
    assert_eq!(n.respond(&detected)["status"], "duplicate");
    let m = last(&n, 2);
    assert_eq!((m["SlackPosts"], m["NoticesByOutcome.duplicate"]), (0.0, 1.0), "{m:?}");
    assert!(!m.contains_key("NoticesByOutcome.posted"), "{m:?}");
    // A bad event fails, and is counted as failed.
    n.invoke(&json!("just a string")).expect_error();
    let m = last(&n, 3);
    assert_eq!((m["SlackPosts"], m["NoticesByOutcome.failed"]), (0.0, 1.0), "{m:?}");
    assert_eq!(n.slack.requests_to(POST).len(), 1);
    n.report(test);
}

#[test]
fn slack_routes_come_from_the_configuration_file_first_and_follow_its_changes() {
    let test = "slack_routes_come_from_the_configuration_file_first_and_follow_its_changes";
    let put = |rt: &tokio::runtime::Runtime, stack: &Stack, text: &str| {
        rt.block_on(stack.put_parameter("/driftguard/config", text));
    };
    let Some(mut n) = Notifier::start_prepared(
        test,
        true,
        &[
            ("DRIFTGUARD_CONFIG", "ssm:/driftguard/config"),
            ("DRIFTGUARD_CONFIG_REFRESH_SECONDS", "0"),
            ("DRIFTGUARD_SLACK_GROUP_WINDOW_SECONDS", "0"),
        ],
        |rt, stack| {
            put(
                rt,
                stack,
                "[[slack.routes]]\nchannel = \"C0FROMFILE\"\nseverity = [\"critical\"]\n",
            )
        },
    ) else {
        return;
    };
    let post_and_see_where = |n: &mut Notifier, event: Value| {
        n.seed(&event);
        n.slack.script(POST, [Reply::ok_posted("C0ANY", "1.1")]);
        let answer = n.respond(&event);
        assert_eq!(answer["status"], "posted", "{answer}\n{}", n.lambda.logs());
        let posts = n.slack.requests_to(POST);
        target(posts.last().expect("a post")).0
    };
    // The file's route comes before the environment's (C0SECURITY takes critical too).
    let first = post_and_see_where(&mut n, sample("drift-detected.console-sg.json"));
    assert_eq!(first, "C0FROMFILE");

    // A typo pushed: refused on its line, and the route in use stays.
    put(&n.rt, &n.stack, "[[slack.routes]]\nchanel = \"C0TYPO\"\n");
    let second = post_and_see_where(&mut n, another_change("dg-00000000000000b2", 600, "critical"));
    assert_eq!(second, "C0FROMFILE");
    let logs = n.lambda.logs();
    assert!(
        logs.lines()
            .any(|l| l.contains("Configuration refused") && l.contains("\"line\":2")),
        "{logs}"
    );

    // A new route: the next alert follows it.
    put(
        &n.rt,
        &n.stack,
        "[[slack.routes]]\nchannel = \"C0NEWROUTE\"\nseverity = [\"critical\"]\n",
    );
    let third = post_and_see_where(&mut n, another_change("dg-00000000000000b3", 1200, "critical"));
    assert_eq!(third, "C0NEWROUTE");
    n.report(test);
}
