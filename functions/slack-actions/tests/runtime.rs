//! The compiled slack-actions Lambda, run as Lambda runs it behind a function URL (Runtime API on
//! loopback), against moto (findings, decisions, the bus) and a loopback receiver standing in for
//! Slack's `response_url` and Web API: signatures (valid, tampered body, wrong secret, stale,
//! replay, a replay with the signature's hex case flipped), the workspace and app, authorisation
//! of each action (users, groups), a click tied to the message its finding was posted in and to
//! the finding's state (resolved, already decided), repeat clicks publishing nothing new, what is
//! recorded and published, what the user sees in Slack, bad input. Each test prints the logged
//! time to the acknowledgement and to the alert update (figures, never verdicts).

use driftguard_aws::DynamoLedger;
use driftguard_core::conformance::sample_finding;
use driftguard_core::finding::{Finding, IacChange};
use driftguard_core::interaction::{Decision, DecisionLedger};
use driftguard_core::label::Verdict;
use driftguard_core::learn::ports::LearningStore;
use driftguard_core::notify::{MessageRef, NotifyLedger};
use driftguard_core::ports::{Change, FindingStore};
use driftguard_core::score::Severity;
use driftguard_core::slack::sign;
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
use driftguard_tests::slack_receiver::{Received, Reply, SlackReceiver, Visible};
use driftguard_tests::stack::{Stack, TABLE};
use serde_json::{json, Value};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TOKEN: &str = "xoxb-2222222222-3333333333333-ActionsTestToken";
const RESPONSE_PATH: &str = "/actions/T0DRIFT00/1234567890/ResponseUrlSecret";
const GROUPS: &str = "/api/usergroups.users.list";
const CHANNEL: &str = "C0SECURITY";
const TS: &str = "1700000000.000100";
const HEADER: &str = "CRITICAL drift: AWS::EC2::SecurityGroup sg-0123456789abcdef0";

const POLICY: &str = r#"{
    "revert": { "users": ["U0ALICE"], "groups": ["S0SRE"] },
    "reapply": { "groups": ["S0SRE"] },
    "accept": { "users": ["U0ALICE", "U0BOB"] },
    "acknowledge": { "users": ["*"] },
    "approve": { "users": ["U0ALICE", "U0BOB", "U0CAROL"] },
    "not_drift": { "users": ["U0BOB", "U0CAROL"] }
}"#;

struct Actions {
    stack: Stack,
    slack: SlackReceiver,
    lambda: LambdaProcess,
    rt: tokio::runtime::Runtime,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Actions {
    fn start(test: &str) -> Option<Actions> {
        Self::start_on(test, driftguard_tests::stack::BUS)
    }

    /// As [`Actions::start`], publishing to `bus`.
    fn start_on(test: &str, bus: &str) -> Option<Actions> {
        let rt = tokio::runtime::Runtime::new().expect("tokio runtime");
        let stack = rt.block_on(Stack::start(test))?;
        let slack = SlackReceiver::start();
        slack.expect_token(TOKEN);
        let binary = std::path::PathBuf::from(env!("CARGO_BIN_EXE_driftguard-slack-actions"));
        let api = RuntimeApi::start_named("driftguard-slack-actions");
        let endpoint = stack.moto.endpoint();
        let api_base = slack.api_base();
        let prefix = slack.url("/actions/");
        let env: Vec<(&str, &str)> = vec![
            ("AWS_ENDPOINT_URL", endpoint.as_str()),
            ("DRIFTGUARD_TABLE", TABLE),
            ("DRIFTGUARD_EVENT_BUS", bus),
            ("DRIFTGUARD_SLACK_SIGNING_SECRET", SECRET),
            ("DRIFTGUARD_SLACK_BOT_TOKEN", TOKEN),
            ("DRIFTGUARD_SLACK_API_BASE", api_base.as_str()),
            ("DRIFTGUARD_SLACK_ALLOW", POLICY),
            ("DRIFTGUARD_SLACK_RESPONSE_URL_PREFIX", prefix.as_str()),
            ("DRIFTGUARD_SLACK_TEAM_ID", "T0DRIFT00"),
            ("DRIFTGUARD_SLACK_APP_ID", "A0GUARD00"),
            ("RUST_LOG", "info"),
        ];
        let mut lambda = LambdaProcess::spawn(&binary, &api, &env);
        lambda.never_logs(TOKEN).never_logs(SECRET);
        Some(Actions {
            stack,
            slack,
            lambda,
            rt,
        })
    }

    fn ledger(&self) -> DynamoLedger {
        DynamoLedger::new(aws_sdk_dynamodb::Client::new(&self.stack.sdk), TABLE)
    }

    /// Stores the finding and, as notify-slack does when it posts the alert, where it was posted.
    fn seed(&self, f: &Finding) {
        self.seed_at(f, CHANNEL, TS);
    }

    fn seed_at(&self, f: &Finding, channel: &str, ts: &str) {
        self.rt
            .block_on(self.stack.store().apply(&[Change::Finding(Box::new(f.clone()))]))
            .expect("seed finding");
        let posted = MessageRef {
            channel: channel.into(),
            ts: ts.into(),
        };
        self.rt
            .block_on(self.ledger().save_message(&f.id, &posted))
            .expect("seed the message reference");
    }

    fn call(&mut self, request: &Value) -> (u64, Value) {
        match self.lambda.invoke(request.to_string().as_bytes(), TIMEOUT) {
            Invocation::Response(v) => {
                assert_eq!(v["headers"]["content-type"], "application/json", "{v}");
                let body = serde_json::from_str(v["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
                (v["statusCode"].as_u64().unwrap_or(0), body)
            }
            other => panic!("expected a response, got {other:?}\nlogs:\n{}", self.lambda.logs()),
        }
    }

    fn decisions(&self, finding_id: &str) -> Vec<Decision> {
        self.rt
            .block_on(self.ledger().decisions(finding_id))
            .expect("decisions")
    }

    fn events(&self) -> Vec<Value> {
        self.rt.block_on(self.stack.drain_events())
    }

    fn answers(&self) -> Vec<Received> {
        self.slack.requests_to(RESPONSE_PATH)
    }

    /// Prints the logged timings of every answer (milliseconds to the 200 being built, and to
    /// the alert update done) and checks no secret reached the logs.
    fn report(&self, test: &str) {
        let logs = self.lambda.logs();
        let mut ack = Vec::new();
        let mut total = Vec::new();
        for line in logs.lines() {
            for secret in [SECRET, "ActionsTestToken", "ResponseUrlSecret"] {
                assert!(!line.contains(secret), "a secret in the logs: {line}");
            }
            let Ok(v) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            if v["fields"]["message"] == "Answered" {
                ack.extend(v["fields"]["ack_ms"].as_u64());
                total.extend(v["fields"]["elapsed_ms"].as_u64());
            }
        }
        eprintln!("slack-actions {test}: logged ack_ms {ack:?}, elapsed_ms (with the alert update) {total:?}");
    }
}

/// `application/x-www-form-urlencoded`, as Slack sends it.
fn form(payload: &Value) -> String {
    let mut out = String::from("payload=");
    for b in payload.to_string().bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn click(slack: &SlackReceiver, user: &str, action: &str, finding_id: &str) -> String {
    form(&click_payload(
        slack,
        user,
        action,
        &json!({ "finding_id": finding_id, "action": action }),
    ))
}

/// A click on a button whose value is `value`.
fn click_with(slack: &SlackReceiver, user: &str, action: &str, value: &Value) -> String {
    form(&click_payload(slack, user, action, value))
}

/// Slack's `block_actions` payload for a click on the alert at `CHANNEL` / `TS`.
fn click_payload(slack: &SlackReceiver, user: &str, action: &str, value: &Value) -> Value {
    json!({
        "type": "block_actions",
        "user": { "id": user, "username": user.trim_start_matches("U0").to_lowercase(), "team_id": "T0DRIFT00" },
        "api_app_id": "A0GUARD00",
        "token": "verification-token-unused",
        "team": { "id": "T0DRIFT00", "domain": "acme" },
        "container": { "type": "message", "message_ts": TS, "channel_id": CHANNEL, "is_ephemeral": false },
        "channel": { "id": CHANNEL, "name": "drift-alerts" },
        "trigger_id": "1234.5678.abcd",
        "response_url": slack.url(RESPONSE_PATH),
        "actions": [{
            "type": "button",
            "action_id": format!("driftguard.{action}"),
            "block_id": "driftguard.block",
            "text": { "type": "plain_text", "text": action },
            "value": value.to_string(),
            "action_ts": "1700000100.000200",
        }],
    })
}

/// A function URL request (payload format 2.0, as the Lambda developer guide shows it) carrying
/// `body`, signed with `secret` at `ts`.
fn request(body: &str, ts: i64, secret: &str) -> Value {
    signed(body, ts, &sign(secret, &ts.to_string(), body.as_bytes()))
}

/// The same request with a given `X-Slack-Signature`.
fn signed(body: &str, ts: i64, signature: &str) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {
            "content-length": body.len().to_string(),
            "x-amzn-tls-version": "TLSv1.3",
            "x-forwarded-proto": "https",
            "x-forwarded-port": "443",
            "x-forwarded-for": "192.0.2.10",
            "accept": "application/json,*/*",
            "x-amzn-tls-cipher-suite": "TLS_AES_128_GCM_SHA256",
            "x-amzn-trace-id": "Root=1-6755d2a1-1b2c3d4e5f6a7b8c9d0e1f2a",
            "host": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws",
            "content-type": "application/x-www-form-urlencoded",
            "accept-encoding": "gzip,deflate",
            "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "x-slack-request-timestamp": ts.to_string(),
            "x-slack-signature": signature,
        },
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghijklmnopqrstuvwxyz012345",
            "domainName": "abcdefghijklmnopqrstuvwxyz012345.lambda-url.eu-west-1.on.aws",
            "domainPrefix": "abcdefghijklmnopqrstuvwxyz012345",
            "http": {
                "method": "POST",
                "path": "/",
                "protocol": "HTTP/1.1",
                "sourceIp": "192.0.2.10",
                "userAgent": "Slackbot 1.0 (+https://api.slack.com/robots)"
            },
            "requestId": "4b5f1d2e-8c3a-4f0b-9e6d-2a7c1b0e9f31",
            "routeKey": "$default",
            "stage": "$default",
            "time": "30/Nov/2026:10:00:00 +0000",
            "timeEpoch": ts * 1000
        },
        "body": body,
        "isBase64Encoded": false,
    })
}

fn finding(n: u32) -> Finding {
    sample_finding(
        &format!("ev-actions-{n}"),
        "sg-0123456789abcdef0",
        1_795_165_337,
        Severity::Critical,
    )
}

#[test]
fn a_signed_revert_is_recorded_published_and_the_alert_updated() {
    let test = "a_signed_revert_is_recorded_published_and_the_alert_updated";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    let f = finding(1);
    a.seed(&f);
    let body = click(&a.slack, "U0ALICE", "revert", &f.id);
    let (status, answer) = a.call(&request(&body, unix_now(), SECRET));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "status": "recorded", "action": "revert", "findings": [f.id], "remediation_requested": 1 })
    );
    let decisions = a.decisions(&f.id);
    assert_eq!(decisions.len(), 1);
    let d = &decisions[0];
    assert_eq!((d.by.source.as_str(), d.by.user.as_str()), ("slack", "U0ALICE"));
    assert_eq!(
        d.message.as_ref().map(|m| (m.channel.as_str(), m.ts.as_str())),
        Some(("C0SECURITY", "1700000000.000100"))
    );
    // Remediation Requested on the bus, exactly the decision's request.
    let events = a.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "Remediation Requested");
    assert_eq!(events[0]["source"], "driftguard");
    assert_eq!(
        events[0]["detail"],
        serde_json::to_value(d.remediation_request().expect("a revert requests remediation")).expect("json")
    );
    // The alert is replaced: the decision noted, the buttons gone.
    let answers = a.answers();
    assert_eq!(answers.len(), 1);
    let said = answers[0].json.clone().expect("JSON");
    assert_eq!(said["replace_original"], json!(true));
    let seen = Visible::of(&said);
    assert_eq!(seen.header.as_deref(), Some(HEADER));
    assert!(seen.buttons.is_empty(), "{seen:?}");
    assert!(seen.says(&format!("finding `{}`", f.id)), "{seen:?}");
    assert_eq!(seen.texts.last().map(|t| t == &d.sentence()), Some(true), "{seen:?}");
    assert!(d.sentence().starts_with("Revert requested by <@U0ALICE> at "));
    a.report(test);
}

#[test]
fn a_not_drift_click_labels_the_finding_and_changes_nothing_in_aws() {
    let test = "a_not_drift_click_labels_the_finding_and_changes_nothing_in_aws";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    let f = finding(11);
    a.seed(&f);
    let body = click(&a.slack, "U0BOB", "not_drift", &f.id);
    let (status, answer) = a.call(&request(&body, unix_now(), SECRET));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "status": "recorded", "action": "not_drift", "findings": [f.id], "remediation_requested": 0 })
    );
    assert!(a.events().is_empty(), "a label publishes nothing");
    let labels = a.rt.block_on(a.ledger().labels_of(&f.id)).expect("labels");
    assert_eq!(labels.len(), 1, "{labels:?}");
    assert_eq!(labels[0].verdict, Verdict::NotDrift);
    assert_eq!(
        (labels[0].by.source.as_str(), labels[0].by.user.as_str()),
        ("slack", "U0BOB")
    );
    assert_eq!(labels[0].via, "slack:not_drift");
    // The alert says so and keeps its buttons: a label settles nothing.
    let said = a.answers()[0].json.clone().expect("JSON");
    let seen = Visible::of(&said);
    assert!(seen.says("Marked not drift by <@U0BOB>"), "{seen:?}");
    assert!(!seen.buttons.is_empty(), "{seen:?}");
    // Someone off the not-drift list is refused and labels nothing.
    let body = click(&a.slack, "U0ALICE", "not_drift", &f.id);
    let (status, answer) = a.call(&request(&body, unix_now(), SECRET));
    assert_eq!((status, &answer["status"]), (200, &json!("denied")), "{answer}");
    // A revert is a label too: drift, from its clicker; the two people's labels stand side by side.
    let body = click(&a.slack, "U0ALICE", "revert", &f.id);
    let (status, _) = a.call(&request(&body, unix_now(), SECRET));
    assert_eq!(status, 200);
    let labels = a.rt.block_on(a.ledger().labels_of(&f.id)).expect("labels");
    let verdicts: Vec<(&str, Verdict)> = labels.iter().map(|l| (l.by.user.as_str(), l.verdict)).collect();
    assert_eq!(verdicts, [("U0ALICE", Verdict::Drift), ("U0BOB", Verdict::NotDrift)]);
    a.report(test);
}

#[test]
fn unsigned_tampered_stale_and_replayed_requests_get_401_and_change_nothing() {
    let test = "unsigned_tampered_stale_and_replayed_requests_get_401_and_change_nothing";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    let f = finding(2);
    a.seed(&f);
    let body = click(&a.slack, "U0ALICE", "revert", &f.id);
    let now = unix_now();
    let good = request(&body, now, SECRET);

    let mut tampered = good.clone();
    tampered["body"] = json!(click(&a.slack, "U0ALICE", "revert", "dg-00000000000000aa"));
    let wrong_secret = request(&body, now, "not-the-signing-secret");
    let stale = request(&body, now - 301, SECRET);
    let mut unsigned = good.clone();
    unsigned["headers"]
        .as_object_mut()
        .expect("headers")
        .remove("x-slack-signature");
    // One answer for every failure (issue #16 item 5): nothing about how far the caller's
    // timestamp is from the server's clock, nor which check failed.
    for (what, req) in [
        ("tampered body", &tampered),
        ("wrong secret", &wrong_secret),
        ("stale timestamp", &stale),
        ("no signature", &unsigned),
    ] {
        let (status, answer) = a.call(req);
        assert_eq!(status, 401, "{what}: {answer}");
        assert_eq!(
            answer,
            json!({ "error": "invalid or expired request signature" }),
            "{what}"
        );
    }
    assert!(a.decisions(&f.id).is_empty(), "nothing recorded");
    assert!(a.events().is_empty(), "nothing published");
    assert!(a.slack.requests().is_empty(), "nothing sent to Slack");

    // The genuine request goes through once; the same request again is a replay.
    assert_eq!(a.call(&good).0, 200);
    let (status, answer) = a.call(&good);
    assert_eq!(status, 401);
    assert_eq!(answer["error"], "request already received (replay)");
    assert_eq!(a.decisions(&f.id).len(), 1, "the replay recorded nothing");
    assert_eq!(a.events().len(), 1, "and published nothing");
    assert_eq!(a.answers().len(), 1);
    a.report(test);
}

/// Issue #16 item 2: the same captured request with the signature's hex digits in upper case
/// still verifies (hex is case-insensitive), and is refused as the replay it is.
#[test]
fn a_replay_with_the_signature_case_flipped_is_refused() {
    let test = "a_replay_with_the_signature_case_flipped_is_refused";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    let f = finding(3);
    a.seed(&f);
    let body = click(&a.slack, "U0ALICE", "revert", &f.id);
    let now = unix_now();
    let signature = sign(SECRET, &now.to_string(), body.as_bytes());
    let flipped = format!("v0={}", signature.trim_start_matches("v0=").to_uppercase());
    assert_ne!(flipped, signature);
    assert_eq!(a.call(&signed(&body, now, &signature)).0, 200);
    let (status, answer) = a.call(&signed(&body, now, &flipped));
    assert_eq!(
        (status, answer),
        (401, json!({ "error": "request already received (replay)" }))
    );
    assert_eq!(a.events().len(), 1, "one Remediation Requested");
    assert_eq!(a.answers().len(), 1, "the alert updated once");
    a.report(test);
}

#[test]
fn each_action_is_authorised_against_its_own_allow_list() {
    let test = "each_action_is_authorised_against_its_own_allow_list";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    a.slack.script(
        GROUPS,
        [Reply::json(200, &json!({ "ok": true, "users": ["U0CAROL", "U0ERIN"] }))],
    );
    // (user, action, allowed, remediation requested)
    let cases = [
        ("U0BOB", "revert", false, false),
        ("U0ALICE", "revert", true, true),
        ("U0CAROL", "revert", true, true),
        ("U0ALICE", "reapply", false, false),
        ("U0CAROL", "reapply", true, true),
        ("U0CAROL", "accept", false, false),
        ("U0BOB", "accept", true, true),
        ("U0DAVE", "acknowledge", true, false),
    ];
    for (n, (user, action, allowed, remediation)) in cases.into_iter().enumerate() {
        let f = finding(100 + n as u32);
        a.seed(&f);
        let before = a.answers().len();
        let (status, answer) = a.call(&request(&click(&a.slack, user, action, &f.id), unix_now(), SECRET));
        assert_eq!(status, 200, "{user} {action}: {answer}");
        let case = format!("{user} {action}");
        let answers = a.answers();
        assert_eq!(answers.len(), before + 1, "{case}: one answer through response_url");
        let said = answers[before].json.clone().expect("JSON");
        let decisions = a.decisions(&f.id);
        let events = a.events();
        if allowed {
            assert_eq!(answer["status"], "recorded", "{case}");
            assert_eq!(decisions.len(), 1, "{case}");
            assert_eq!(decisions[0].action.as_str(), action, "{case}");
            assert_eq!(said["replace_original"], json!(true), "{case}");
            let buttons = said["blocks"]
                .as_array()
                .expect("blocks")
                .iter()
                .any(|b| b["type"] == "actions");
            assert_eq!(
                buttons,
                action == "acknowledge",
                "{case}: only acknowledge keeps the buttons"
            );
        } else {
            assert_eq!(answer, json!({ "status": "denied", "action": action }), "{case}");
            assert!(decisions.is_empty(), "{case}: nothing recorded");
            assert_eq!(
                said,
                json!({
                    "response_type": "ephemeral",
                    "replace_original": false,
                    "text": format!(":no_entry: <@{user}> is not allowed to {action}: ask an administrator to add you to DriftGuard's allow-list for this action."),
                }),
                "{case}"
            );
        }
        assert_eq!(events.len(), usize::from(remediation), "{case}: {events:?}");
        if remediation {
            assert_eq!(events[0]["detail"]["action"], action, "{case}");
            assert_eq!(events[0]["detail"]["requested_by"]["user"], user, "{case}");
        }
    }
    // Group membership was read once (then cached), with the bot token.
    let lookups = a.slack.requests_to(GROUPS);
    assert_eq!(lookups.len(), 1, "{lookups:?}");
    assert_eq!(lookups[0].text(), "usergroup=S0SRE");
    assert_eq!(
        lookups[0].header("authorization"),
        Some(format!("Bearer {TOKEN}").as_str())
    );
    a.report(test);
}

#[test]
fn a_burst_button_decides_for_every_finding_in_it() {
    let test = "a_burst_button_decides_for_every_finding_in_it";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    let (f1, f2) = (finding(200), finding(201));
    a.seed(&f1);
    a.seed(&f2);
    let body = click_with(
        &a.slack,
        "U0ALICE",
        "accept",
        &json!({ "finding_ids": [f1.id, f2.id], "action": "accept" }),
    );
    let (status, answer) = a.call(&request(&body, unix_now(), SECRET));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["findings"], json!([f1.id, f2.id]));
    assert_eq!(a.decisions(&f1.id).len(), 1);
    assert_eq!(a.decisions(&f2.id).len(), 1);
    let said = a.answers().remove(0).json.expect("JSON");
    let d = a.decisions(&f1.id).remove(0);
    let seen = Visible::of(&said);
    assert_eq!(
        seen.header.as_deref(),
        Some("CRITICAL drift: 2 changes by alice on AWS::EC2::SecurityGroup sg-0123456789abcdef0")
    );
    assert!(seen.says(&format!("findings `{}`, `{}`", f1.id, f2.id)), "{seen:?}");
    assert!(seen.buttons.is_empty(), "accepted: the buttons are gone");
    assert!(seen.texts.contains(&d.sentence()), "{seen:?}");
    assert!(d.sentence().starts_with("Change accepted by <@U0ALICE> at "));
    let requested: Vec<Value> = a.events();
    assert_eq!(requested.len(), 2, "one accept request per finding: {requested:#?}");
    for e in &requested {
        assert_eq!(e["detail-type"], "Remediation Requested");
        assert_eq!(e["detail"]["action"], "accept");
    }
    a.report(test);
}

#[test]
fn bad_requests_are_clear_errors_and_change_nothing() {
    let test = "bad_requests_are_clear_errors_and_change_nothing";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    let f = finding(300);
    a.seed(&f);
    let now = unix_now();
    let mut get = request("", now, SECRET);
    get["requestContext"]["http"]["method"] = json!("GET");
    let foreign = click(&a.slack, "U0ALICE", "revert", &f.id).replace("%2Factions%2F", "%2Felsewhere%2F");
    let cases = [
        (get, 405, "only POST is accepted"),
        (
            request("payload=%7Bnot+json", now, SECRET),
            400,
            "malformed interaction payload",
        ),
        (
            request("token=x&text=hello", now, SECRET),
            400,
            "no `payload` form field",
        ),
        (
            request(&form(&json!({ "type": "view_submission" })), now, SECRET),
            400,
            "unsupported interaction type",
        ),
        (
            request(&click(&a.slack, "U0ALICE", "delete_everything", &f.id), now, SECRET),
            400,
            "unknown action \"driftguard.delete_everything\"",
        ),
        (
            request(&foreign, now, SECRET),
            400,
            "response_url is not a Slack response URL",
        ),
        (json!({ "body": 12 }), 400, "not a function URL request"),
    ];
    for (req, want_status, want) in cases {
        let (status, answer) = a.call(&req);
        assert_eq!(status, want_status, "{want}: {answer}");
        assert!(
            answer["error"].as_str().unwrap_or_default().contains(want),
            "{answer} should say {want:?}"
        );
    }
    assert!(a.slack.requests().is_empty());

    // A finding the store does not hold: 404, and the user is told.
    let (status, answer) = a.call(&request(
        &click(&a.slack, "U0ALICE", "revert", "dg-ffffffffffffffff"),
        now,
        SECRET,
    ));
    assert_eq!(
        (status, answer["error"].clone()),
        (404, json!("finding dg-ffffffffffffffff is not in the table"))
    );
    let told = a.answers().remove(0).json.expect("JSON");
    assert_eq!(
        told,
        json!({
            "response_type": "ephemeral",
            "replace_original": false,
            "text": ":warning: Finding `dg-ffffffffffffffff` is not in DriftGuard's store. Nothing was changed.",
        })
    );
    assert!(a.decisions(&f.id).is_empty());
    assert!(a.events().is_empty());

    // A base64 body (as function URLs deliver some bodies) is read like a plain one.
    let body = click(&a.slack, "U0DAVE", "acknowledge", &f.id);
    let mut encoded = request(&body, now, SECRET);
    encoded["body"] = json!(base64(body.as_bytes()));
    encoded["isBase64Encoded"] = json!(true);
    assert_eq!(a.call(&encoded).0, 200);
    assert_eq!(a.decisions(&f.id).len(), 1);
    a.report(test);
}

/// Issue #16 item 3: a signed click naming another workspace or app is refused before anything
/// is read or written.
#[test]
fn a_click_from_another_workspace_or_app_is_refused() {
    let test = "a_click_from_another_workspace_or_app_is_refused";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    let f = finding(400);
    a.seed(&f);
    let mut other_team = click_payload(&a.slack, "U0ALICE", "revert", &json!({ "finding_id": f.id }));
    other_team["team"]["id"] = json!("T0ELSEWHERE");
    let mut other_app = click_payload(&a.slack, "U0ALICE", "revert", &json!({ "finding_id": f.id }));
    other_app["api_app_id"] = json!("A0OTHERAPP");
    for (payload, error) in [
        (other_team, "team.id \"T0ELSEWHERE\" is not the configured one"),
        (other_app, "api_app_id \"A0OTHERAPP\" is not the configured one"),
    ] {
        let (status, answer) = a.call(&request(&form(&payload), unix_now(), SECRET));
        assert_eq!((status, answer), (403, json!({ "error": error })));
    }
    assert!(a.decisions(&f.id).is_empty());
    assert!(a.events().is_empty());
    assert!(a.slack.requests().is_empty(), "nothing sent to Slack");
    a.report(test);
}

/// Issue #16 item 3: a button whose value names a finding that was posted in another message
/// (or never posted) does nothing, and neither does a click on a resolved finding.
#[test]
fn a_click_on_a_finding_not_shown_in_that_message_or_resolved_is_refused() {
    let test = "a_click_on_a_finding_not_shown_in_that_message_or_resolved_is_refused";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    let elsewhere = finding(500);
    a.seed_at(&elsewhere, CHANNEL, "1700000999.000900");
    let never_posted = finding(501);
    a.rt.block_on(
        a.stack
            .store()
            .apply(&[Change::Finding(Box::new(never_posted.clone()))]),
    )
    .expect("seed a finding never posted");
    // On another resource: resolving it leaves the two above open.
    let resolved = sample_finding(
        "ev-actions-502",
        "sg-0aaaaaaaaaaaaaaa1",
        1_795_165_337,
        Severity::Critical,
    );
    a.seed(&resolved);
    a.rt.block_on(a.stack.store().apply(&[Change::Iac(IacChange {
        resource_key: resolved.resource.key(),
        event_id: "ev-terraform-apply".into(),
        time: driftguard_core::time::Timestamp(resolved.call.time.0 + 60_000),
        by: "Terraform".into(),
        restores: Vec::new(),
        finding: None,
        baseline: false,
    })]))
    .expect("resolve it");
    assert_eq!(
        a.rt.block_on(a.stack.store().get(&resolved.id))
            .expect("get")
            .map(|f| f.status),
        Some(driftguard_core::finding::Status::Resolved)
    );
    for (f, reason, text) in [
        (&elsewhere, "not_on_message", "was not posted in this message"),
        (&never_posted, "not_on_message", "was not posted in this message"),
        (&resolved, "resolved", "is already resolved"),
    ] {
        let before = a.answers().len();
        let (status, answer) = a.call(&request(
            &click(&a.slack, "U0ALICE", "revert", &f.id),
            unix_now(),
            SECRET,
        ));
        assert_eq!(
            (status, answer["status"].clone(), answer["reason"].clone()),
            (200, json!("refused"), json!(reason)),
            "{answer}"
        );
        let told = a.answers()[before].json.clone().expect("JSON");
        assert_eq!(told["response_type"], "ephemeral");
        assert_eq!(
            told["text"],
            json!(format!(":warning: Finding `{}` {text}. Nothing was changed.", f.id))
        );
        assert!(a.decisions(&f.id).is_empty(), "{reason}: nothing recorded");
    }
    for f in [&elsewhere, &never_posted] {
        assert_eq!(
            a.rt.block_on(a.stack.store().get(&f.id))
                .expect("get")
                .map(|f| f.status),
            Some(driftguard_core::finding::Status::Open),
            "refused for the message alone"
        );
    }
    assert!(a.events().is_empty(), "nothing published");
    let refusals = a.lambda.logs().matches("\"Refused a click\"").count();
    assert_eq!(refusals, 3, "each refusal logged (and counted)");
    a.report(test);
}

/// Issue #16 item 3: clicking Revert again (Slack showed a failure, or the user is impatient)
/// publishes nothing new; once a finding is decided, another user's Re-apply is refused.
#[test]
fn a_repeat_click_publishes_nothing_new_and_a_decided_finding_takes_no_other_action() {
    let test = "a_repeat_click_publishes_nothing_new_and_a_decided_finding_takes_no_other_action";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    a.slack
        .script(GROUPS, [Reply::json(200, &json!({ "ok": true, "users": ["U0CAROL"] }))]);
    let f = finding(600);
    a.seed(&f);
    // Two separately signed requests (a second click is a new request, not a replay).
    let first = request(&click(&a.slack, "U0ALICE", "revert", &f.id), unix_now(), SECRET);
    assert_eq!(a.call(&first).1["remediation_requested"], json!(1));
    std::thread::sleep(Duration::from_millis(1100));
    let again = request(&click(&a.slack, "U0ALICE", "revert", &f.id), unix_now(), SECRET);
    let (status, answer) = a.call(&again);
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        (answer["status"].clone(), answer["remediation_requested"].clone()),
        (json!("repeat"), json!(0))
    );
    let shown = Visible::of(&a.answers().pop().expect("an answer").json.expect("JSON"));
    assert!(
        shown.buttons.is_empty() && shown.says("Revert requested by <@U0ALICE>"),
        "{shown:?}"
    );
    assert_eq!(a.events().len(), 1, "one Remediation Requested for two clicks");
    assert_eq!(a.decisions(&f.id).len(), 1);
    let d = a.decisions(&f.id).remove(0);
    let (status, answer) = a.call(&request(
        &click(&a.slack, "U0CAROL", "reapply", &f.id),
        unix_now(),
        SECRET,
    ));
    assert_eq!((status, answer["reason"].clone()), (200, json!("decided")), "{answer}");
    let told = a.answers().pop().expect("an answer").json.expect("JSON");
    assert_eq!(
        told["text"],
        json!(format!(
            ":warning: Finding `{}` is already decided: {}. Nothing was changed.",
            f.id,
            d.sentence()
        ))
    );
    assert!(a.events().is_empty(), "nothing more published");
    assert_eq!(a.decisions(&f.id), vec![d]);
    // Acknowledging twice records once and keeps the buttons.
    let g = finding(601);
    a.seed(&g);
    for _ in 0..2 {
        let (status, _) = a.call(&request(
            &click(&a.slack, "U0DAVE", "acknowledge", &g.id),
            unix_now(),
            SECRET,
        ));
        assert_eq!(status, 200);
        std::thread::sleep(Duration::from_millis(1100));
    }
    assert_eq!(a.decisions(&g.id).len(), 1);
    let seen = Visible::of(&a.answers().pop().expect("an answer").json.expect("JSON"));
    assert_eq!(
        seen.button_labels(),
        ["Revert", "Re-apply IaC", "Accept change", "Acknowledge", "Not drift"]
    );
    assert_eq!(seen.buttons[0].confirm.as_deref(), Some("Revert this change?"));
    assert!(
        seen.texts
            .iter()
            .any(|t| t.starts_with("Acknowledged by <@U0DAVE> at ")),
        "{seen:?}"
    );
    a.report(test);
}

fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().fold(0u32, |acc, b| (acc << 8) | u32::from(*b)) << (8 * (3 - chunk.len()));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Issue #16 item 4: acknowledged first, published once. When `Remediation Requested` cannot be
/// published (the bus refuses it), the click is answered 503 and the user asked to click again;
/// the decision stays recorded, unpublished, and the next click publishes it, once.
#[test]
fn a_request_that_could_not_be_published_is_published_by_the_next_click() {
    let test = "a_request_that_could_not_be_published_is_published_by_the_next_click";
    const LATER: &str = "driftguard-created-later";
    let Some(mut a) = Actions::start_on(test, LATER) else {
        return;
    };
    let f = finding(700);
    a.seed(&f);
    let (status, answer) = a.call(&request(
        &click(&a.slack, "U0ALICE", "revert", &f.id),
        unix_now(),
        SECRET,
    ));
    assert_eq!(
        (status, answer),
        (
            503,
            json!({ "error": "remediation request not published", "action": "revert" })
        )
    );
    let told = a.answers().pop().expect("an answer").json.expect("JSON");
    assert_eq!(
        told["text"],
        ":x: DriftGuard recorded your revert but could not request it just now. Click the button again to retry."
    );
    assert_eq!(a.decisions(&f.id).len(), 1, "recorded");

    // The bus appears (with a rule to the test queue); the same user clicks again.
    let events = aws_sdk_eventbridge::Client::new(&a.stack.sdk);
    let sqs = aws_sdk_sqs::Client::new(&a.stack.sdk);
    a.rt.block_on(async {
        events.create_event_bus().name(LATER).send().await.expect("bus");
        let queue_arn = sqs
            .get_queue_attributes()
            .queue_url(&a.stack.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes")
            .attributes()
            .and_then(|m| m.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn).cloned())
            .expect("queue ARN");
        events
            .put_rule()
            .name("later-to-queue")
            .event_bus_name(LATER)
            .event_pattern(r#"{"source":["driftguard"]}"#)
            .send()
            .await
            .expect("rule");
        let target = aws_sdk_eventbridge::types::Target::builder()
            .id("queue")
            .arn(queue_arn)
            .build()
            .expect("target");
        events
            .put_targets()
            .rule("later-to-queue")
            .event_bus_name(LATER)
            .targets(target)
            .send()
            .await
            .expect("targets");
    });
    std::thread::sleep(Duration::from_millis(1100));
    let (status, answer) = a.call(&request(
        &click(&a.slack, "U0ALICE", "revert", &f.id),
        unix_now(),
        SECRET,
    ));
    assert_eq!(
        (status, answer["remediation_requested"].clone()),
        (200, json!(1)),
        "{answer}"
    );
    let published = a.events();
    assert_eq!(published.len(), 1, "{published:?}");
    assert_eq!(published[0]["detail"]["finding_id"], json!(f.id));
    // A third click publishes nothing.
    std::thread::sleep(Duration::from_millis(1100));
    let (_, answer) = a.call(&request(
        &click(&a.slack, "U0ALICE", "revert", &f.id),
        unix_now(),
        SECRET,
    ));
    assert_eq!(answer["remediation_requested"], json!(0));
    assert!(a.events().is_empty());
    a.report(test);
}

/// Issue #16 item 4: a user-group lookup that fails or is slow does not hold the answer past its
/// budget: the click is answered, nothing is recorded, and the user is asked to try again.
#[test]
fn a_failed_or_slow_group_lookup_changes_nothing_and_says_so() {
    let test = "a_failed_or_slow_group_lookup_changes_nothing_and_says_so";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    let f = finding(800);
    a.seed(&f);
    a.slack.script(
        GROUPS,
        [
            Reply::server_error(),
            Reply::server_error(),
            Reply::json(200, &json!({ "ok": true, "users": ["U0CAROL"] })).delayed(Duration::from_secs(3)),
        ],
    );
    for attempt in ["failed", "slow"] {
        let before = a.answers().len();
        let (status, answer) = a.call(&request(
            &click(&a.slack, "U0CAROL", "reapply", &f.id),
            unix_now(),
            SECRET,
        ));
        assert_eq!(
            (status, answer),
            (200, json!({ "status": "unverified", "action": "reapply" })),
            "{attempt}"
        );
        let told = a.answers()[before].json.clone().expect("JSON");
        assert_eq!(
            told["text"],
            ":hourglass: DriftGuard could not check your Slack user groups just now; nothing was changed. Try again in a moment.",
            "{attempt}"
        );
        std::thread::sleep(Duration::from_millis(1100));
    }
    assert!(a.decisions(&f.id).is_empty());
    assert!(a.events().is_empty());
    a.report(test);
}

/// The approval prompt notify-slack posts in the alert's thread.
const PROMPT_TS: &str = "1700000000.000200";

/// The #11 loop from Slack: Alice's Revert waits for approvals; Bob clicks Approve on the prompt
/// and `Remediation Approved` goes to the bus with him as approver, although the alert itself
/// is already decided (by that very revert). The requester, someone off the list, a click on
/// another message and a request no longer waiting are refused and publish nothing.
#[test]
fn an_approve_click_on_the_prompt_publishes_the_approval() {
    let test = "an_approve_click_on_the_prompt_publishes_the_approval";
    let Some(mut a) = Actions::start(test) else {
        return;
    };
    let f = finding(700);
    a.seed(&f);
    let (_, answer) = a.call(&request(
        &click(&a.slack, "U0ALICE", "revert", &f.id),
        unix_now(),
        SECRET,
    ));
    assert_eq!(answer["remediation_requested"], json!(1), "{answer}");
    let requested = a.events().remove(0);
    let asked: driftguard_core::remediation::RemediationRequest =
        serde_json::from_value(requested["detail"].clone()).expect("a request");
    // What the remediate function and notify-slack leave behind: the request waiting, and the
    // prompt (rendered by core, as notify-slack posts it) in the alert's thread.
    let request_id = driftguard_core::remediation::safety::request_id(&asked);
    let remediations = driftguard_aws::DynamoRemediations::new(aws_sdk_dynamodb::Client::new(&a.stack.sdk), TABLE);
    a.rt.block_on(async {
        remediations.claim(&request_id, &asked).await.expect("claim");
        remediations
            .set_state(&f.id, &request_id, driftguard_aws::RequestState::Awaiting)
            .await
            .expect("awaiting");
    });
    let pending = driftguard_core::remediation::RemediationPending {
        schema_version: 1,
        finding_id: f.id.clone(),
        request_id: request_id.clone(),
        action: asked.action,
        requested_by: asked.requested_by.clone(),
        required: 2,
        approved_by: Vec::new(),
        calls: Vec::new(),
        at: asked.requested_at,
    };
    let prompt = driftguard_core::slack::render_approval(&pending, "AWS::EC2::SecurityGroup sg-0123456789abcdef0");
    let button = Visible::of(&prompt).buttons.remove(0);
    assert_eq!(button.action_id, "driftguard.approve");
    let value = button.value.clone();
    assert_eq!(value["request_id"], json!(request_id));
    a.rt.block_on(a.ledger().save_message(
        &driftguard_core::slack::prompt_key(&request_id),
        &MessageRef {
            channel: CHANNEL.into(),
            ts: PROMPT_TS.into(),
        },
    ))
    .expect("the prompt's message");
    let approve = |a: &Actions, user: &str, ts: &str| {
        let mut payload = click_payload(&a.slack, user, "approve", &value);
        payload["container"]["message_ts"] = json!(ts);
        request(&form(&payload), unix_now(), SECRET)
    };

    let (status, answer) = a.call(&approve(&a, "U0BOB", PROMPT_TS));
    assert_eq!(status, 200, "{answer}");
    assert_eq!(
        answer,
        json!({ "status": "approved", "action": "approve", "findings": [f.id], "request_id": request_id })
    );
    let events = a.events();
    assert_eq!(events.len(), 1, "{events:?}");
    assert_eq!(events[0]["detail-type"], "Remediation Approved");
    assert_eq!(events[0]["detail"]["approver"], "U0BOB");
    assert_eq!(events[0]["detail"]["request_id"], json!(request_id));
    assert_eq!(events[0]["detail"]["finding_id"], json!(f.id));
    let told = a.answers().pop().expect("an answer").json.expect("JSON");
    assert_eq!(
        told["response_type"], "ephemeral",
        "the prompt stays for the other approvers"
    );
    assert!(told["text"].as_str().is_some_and(|t| t.contains(&request_id)), "{told}");

    // Refused, nothing published: the requester, someone off the list, the alert's message.
    std::thread::sleep(Duration::from_millis(1100));
    let (_, answer) = a.call(&approve(&a, "U0ALICE", PROMPT_TS));
    assert_eq!(answer["reason"], "own_request", "{answer}");
    let (_, answer) = a.call(&approve(&a, "U0MALLORY", PROMPT_TS));
    assert_eq!(answer["status"], "denied", "{answer}");
    let (_, answer) = a.call(&approve(&a, "U0CAROL", TS));
    assert_eq!(answer["reason"], "not_on_message", "{answer}");
    assert!(a.events().is_empty(), "nothing published for refused approvals");

    // Once the request ran, the button is stale.
    a.rt.block_on(remediations.set_state(&f.id, &request_id, driftguard_aws::RequestState::Done))
        .expect("done");
    std::thread::sleep(Duration::from_millis(1100));
    let (_, answer) = a.call(&approve(&a, "U0CAROL", PROMPT_TS));
    assert_eq!(answer["reason"], "not_awaiting", "{answer}");
    let told = a.answers().pop().expect("an answer").json.expect("JSON");
    assert_eq!(
        told["text"],
        json!(format!(
            ":warning: Request `{request_id}` is not waiting for approvals: it has finished. Nothing was changed."
        ))
    );
    assert!(a.events().is_empty());
    a.report(test);
}
