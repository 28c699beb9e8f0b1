//! The compiled slack-actions Lambda, run as Lambda runs it behind a function URL (Runtime API on
//! loopback), against moto (findings, decisions, the bus) and a loopback receiver standing in for
//! Slack's `response_url` and Web API: signatures (valid, tampered body, wrong secret, stale,
//! replay), authorisation of each action (users, groups), what is recorded and published, the
//! exact answers Slack receives, bad input, and the time each request takes.

use driftguard_aws::DynamoLedger;
use driftguard_core::conformance::sample_finding;
use driftguard_core::finding::Finding;
use driftguard_core::interaction::{Decision, DecisionLedger};
use driftguard_core::ports::{Change, FindingStore};
use driftguard_core::score::Severity;
use driftguard_core::slack::{render, render_group, sign, with_note};
use driftguard_tests::runtime_api::{Invocation, LambdaProcess, RuntimeApi};
use driftguard_tests::slack_receiver::{Received, Reply, SlackReceiver};
use driftguard_tests::stack::{Stack, TABLE};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);
const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const TOKEN: &str = "xoxb-2222222222-3333333333333-ActionsTestToken";
const RESPONSE_PATH: &str = "/actions/T0DRIFT00/1234567890/ResponseUrlSecret";
const GROUPS: &str = "/api/usergroups.users.list";

const POLICY: &str = r#"{
    "revert": { "users": ["U0ALICE"], "groups": ["S0SRE"] },
    "reapply": { "groups": ["S0SRE"] },
    "accept": { "users": ["U0ALICE", "U0BOB"] },
    "acknowledge": { "users": ["*"] }
}"#;

struct Actions {
    stack: Stack,
    slack: SlackReceiver,
    lambda: LambdaProcess,
    rt: tokio::runtime::Runtime,
    timings: Vec<u128>,
}

fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

impl Actions {
    fn start(test: &str) -> Option<Actions> {
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
            ("DRIFTGUARD_EVENT_BUS", driftguard_tests::stack::BUS),
            ("DRIFTGUARD_SLACK_SIGNING_SECRET", SECRET),
            ("DRIFTGUARD_SLACK_BOT_TOKEN", TOKEN),
            ("DRIFTGUARD_SLACK_API_BASE", api_base.as_str()),
            ("DRIFTGUARD_SLACK_ALLOW", POLICY),
            ("DRIFTGUARD_SLACK_RESPONSE_URL_PREFIX", prefix.as_str()),
            ("RUST_LOG", "info"),
        ];
        let lambda = LambdaProcess::spawn(&binary, &api, &env);
        Some(Actions {
            stack,
            slack,
            lambda,
            rt,
            timings: Vec::new(),
        })
    }

    fn seed(&self, f: &Finding) {
        self.rt
            .block_on(self.stack.store().apply(&[Change::Finding(Box::new(f.clone()))]))
            .expect("seed finding");
    }

    fn call(&mut self, request: &Value) -> (u64, Value) {
        let started = Instant::now();
        let result = self.lambda.invoke(request.to_string().as_bytes(), TIMEOUT);
        let elapsed = started.elapsed();
        self.timings.push(elapsed.as_millis());
        assert!(
            elapsed < Duration::from_secs(3),
            "Slack waits 3 s; this took {elapsed:?}"
        );
        match result {
            Invocation::Response(v) => {
                let body = serde_json::from_str(v["body"].as_str().unwrap_or("null")).unwrap_or(Value::Null);
                (v["statusCode"].as_u64().unwrap_or(0), body)
            }
            other => panic!("expected a response, got {other:?}\nlogs:\n{}", self.lambda.logs()),
        }
    }

    fn decisions(&self, finding_id: &str) -> Vec<Decision> {
        let ledger = DynamoLedger::new(aws_sdk_dynamodb::Client::new(&self.stack.sdk), TABLE);
        self.rt.block_on(ledger.decisions(finding_id)).expect("decisions")
    }

    fn events(&self) -> Vec<Value> {
        self.rt.block_on(self.stack.drain_events())
    }

    fn answers(&self) -> Vec<Received> {
        self.slack.requests_to(RESPONSE_PATH)
    }

    fn report(&self, test: &str) {
        eprintln!("slack-actions {test}: invocation ms {:?}", self.timings);
        for line in self.lambda.logs().lines() {
            for secret in [SECRET, "ActionsTestToken", "ResponseUrlSecret"] {
                assert!(!line.contains(secret), "a secret in the logs: {line}");
            }
        }
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
    click_with(
        slack,
        user,
        action,
        &json!({ "finding_id": finding_id, "action": action }),
    )
}

/// A click on a button whose value is `value`.
fn click_with(slack: &SlackReceiver, user: &str, action: &str, value: &Value) -> String {
    form(&json!({
        "type": "block_actions",
        "user": { "id": user, "username": user.trim_start_matches("U0").to_lowercase(), "team_id": "T0DRIFT00" },
        "api_app_id": "A0GUARD00",
        "team": { "id": "T0DRIFT00", "domain": "acme" },
        "container": { "type": "message", "message_ts": "1700000000.000100", "channel_id": "C0SECURITY", "is_ephemeral": false },
        "channel": { "id": "C0SECURITY", "name": "drift-alerts" },
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
    }))
}

/// A function URL request (payload format 2.0) carrying `body`, signed with `secret` at `ts`.
fn request(body: &str, ts: i64, secret: &str) -> Value {
    let ts = ts.to_string();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/x-www-form-urlencoded",
            "user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            "x-slack-request-timestamp": ts,
            "x-slack-signature": sign(secret, &ts, body.as_bytes()),
        },
        "requestContext": { "http": { "method": "POST", "path": "/", "sourceIp": "192.0.2.10" } },
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
    let mut expected = with_note(render(&f), &d.sentence(), true);
    expected["replace_original"] = json!(true);
    assert_eq!(answers[0].json.clone().expect("JSON"), expected);
    assert!(d.sentence().starts_with("Revert requested by <@U0ALICE> at "));
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
    for (what, req, error) in [
        ("tampered body", &tampered, "signature does not match"),
        ("wrong secret", &wrong_secret, "signature does not match"),
        ("stale timestamp", &stale, "request timestamp is 30"),
        ("no signature", &unsigned, "missing or malformed X-Slack-Signature"),
    ] {
        let (status, answer) = a.call(req);
        assert_eq!(status, 401, "{what}: {answer}");
        let message = answer["error"].as_str().unwrap_or_default();
        assert!(message.contains(error), "{what}: {message:?}");
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
        ("U0BOB", "accept", true, false),
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
    let mut expected = with_note(render_group(&[f1.clone(), f2.clone()]), &d.sentence(), true);
    expected["replace_original"] = json!(true);
    assert_eq!(said, expected);
    assert!(a.events().is_empty(), "accepting requests no remediation");
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
        (404, json!("finding dg-ffffffffffffffff not found"))
    );
    let told = a.answers().remove(0).json.expect("JSON");
    assert_eq!(told["response_type"], "ephemeral");
    assert!(told["text"]
        .as_str()
        .unwrap_or_default()
        .contains("dg-ffffffffffffffff"));
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
