//! The Slack adapter through its real HTTP client against a loopback receiver standing in for
//! Slack: the exact payloads a webhook and the Web API receive, the bearer token, `Retry-After`
//! honoured, 5xx and timeouts retried, refusals classified, and the secrets (token, webhook
//! path) kept out of `Debug` output and error messages.

use driftguard_core::conformance::sample_finding;
use driftguard_core::finding::{Finding, Status};
use driftguard_core::score::Severity;
use driftguard_core::slack::render;
use driftguard_slack::{Message, Posted, RetryPolicy, SlackClient, SlackError, TransportKind};
use driftguard_tests::slack_receiver::{Received, Reply, SlackReceiver};
use serde_json::{json, Value};
use std::time::Duration;

const TOKEN: &str = "xoxb-1111111111-2222222222222-SeCrEtBoTtOkEn42";
const WEBHOOK_PATH: &str = "/services/T0DRIFT00/B0GUARD00/WebhookSecret0123456789ab";
const POST: &str = "/api/chat.postMessage";
const UPDATE: &str = "/api/chat.update";

/// Fast backoff so retry tests take milliseconds (a Retry-After is still waited in full).
fn policy(max_attempts: u32) -> RetryPolicy {
    RetryPolicy {
        max_attempts,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(50),
        max_retry_after: Duration::from_secs(5),
    }
}

fn bot(slack: &SlackReceiver) -> SlackClient {
    SlackClient::bot(TOKEN)
        .and_then(|client| client.with_api_base(&slack.api_base()))
        .expect("a bot client")
        .with_retry(policy(5))
}

fn webhook(slack: &SlackReceiver) -> SlackClient {
    SlackClient::webhook(&slack.url(WEBHOOK_PATH))
        .expect("a webhook client")
        .with_retry(policy(5))
}

fn finding() -> Finding {
    sample_finding("ev-slack-0001", "sg-0123456789abcdef0", 10, Severity::Critical)
}

/// The rendered message and the client's view of it.
fn rendered(f: &Finding) -> (Value, Message) {
    let json = render(f);
    let message = Message::try_from(&json).expect("the rendered finding is a message");
    (json, message)
}

fn body(request: &Received) -> &Value {
    request
        .json
        .as_ref()
        .unwrap_or_else(|| panic!("a JSON body, got {:?}", request.text()))
}

/// Fails when a secret shows anywhere in `text`.
fn assert_no_secret(text: &str) {
    for secret in [TOKEN, "SeCrEtBoTtOkEn42", WEBHOOK_PATH, "WebhookSecret0123456789ab"] {
        assert!(!text.contains(secret), "{secret:?} leaked into: {text}");
    }
}

/// The error as a user or a log could see it: `Display`, `Debug` and every source.
fn everything_about(error: &SlackError) -> String {
    let mut text = format!("{error}\n{error:?}");
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!("\n{cause}\n{cause:?}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn webhook_posts_exactly_the_rendered_message() {
    let slack = SlackReceiver::start();
    let (json, message) = rendered(&finding());
    assert!(
        json["blocks"].as_array().is_some_and(|b| b.len() > 3),
        "a full alert: {json}"
    );

    webhook(&slack).send_webhook(&message).await.expect("posted");

    let requests = slack.requests();
    assert_eq!(requests.len(), 1, "{requests:#?}");
    let request = &requests[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", WEBHOOK_PATH));
    assert_eq!(body(request), &json, "sent as given");
    let seen = driftguard_tests::slack_receiver::Visible::of(body(request));
    assert_eq!(
        seen.header.as_deref(),
        Some("CRITICAL drift: AWS::EC2::SecurityGroup sg-0123456789abcdef0")
    );
    assert!(seen.says("finding `dg-"), "{seen:?}");
    assert_eq!(
        seen.button_labels(),
        ["Revert", "Re-apply IaC", "Accept change", "Acknowledge", "Not drift"]
    );
    assert_eq!(request.header("content-type"), Some("application/json; charset=utf-8"));
    assert_eq!(request.header("authorization"), None, "the URL is the credential");
}

#[tokio::test]
async fn bot_post_message_sends_channel_text_blocks_and_the_bearer_token() {
    let slack = SlackReceiver::start();
    slack.expect_token(TOKEN);
    let (json, message) = rendered(&finding());
    let client = bot(&slack);

    let posted = client.post_message("C0DRIFT01", &message, None).await.expect("posted");
    assert_eq!(
        posted,
        Posted {
            channel: "C0DRIFT01".into(),
            ts: "1700000000.000100".into()
        }
    );
    let reply = client
        .post_message(
            "C0DRIFT01",
            &Message::new("Details in the thread", vec![]),
            Some(&posted.ts),
        )
        .await
        .expect("posted in the thread");
    assert_eq!(reply.ts, "1700000000.000200");

    let requests = slack.requests_to(POST);
    assert_eq!(requests.len(), 2);
    assert_eq!(
        body(&requests[0]),
        &json!({ "channel": "C0DRIFT01", "text": json["text"], "blocks": json["blocks"] })
    );
    assert_eq!(
        body(&requests[1]),
        &json!({ "channel": "C0DRIFT01", "text": "Details in the thread", "thread_ts": "1700000000.000100" })
    );
    for request in &requests {
        let bearer = format!("Bearer {TOKEN}");
        assert_eq!(request.header("authorization"), Some(bearer.as_str()));
        assert_eq!(request.header("content-type"), Some("application/json; charset=utf-8"));
    }
}

#[tokio::test]
async fn chat_update_replaces_the_message_at_channel_and_ts() {
    let slack = SlackReceiver::start();
    slack.expect_token(TOKEN);
    let client = bot(&slack);
    let (_, open) = rendered(&finding());
    let posted = client.post_message("C0DRIFT01", &open, None).await.expect("posted");

    let mut resolved = finding();
    resolved.status = Status::Resolved;
    let (json, message) = rendered(&resolved);
    let updated = client
        .update_message(&posted.channel, &posted.ts, &message)
        .await
        .expect("updated");

    assert_eq!(updated, posted);
    let requests = slack.requests_to(UPDATE);
    assert_eq!(requests.len(), 1);
    assert_eq!(
        body(&requests[0]),
        &json!({ "channel": "C0DRIFT01", "ts": "1700000000.000100", "text": json["text"], "blocks": json["blocks"] })
    );
    assert!(
        !body(&requests[0])["blocks"].to_string().contains("driftguard.revert"),
        "a resolved alert loses its buttons"
    );
}

#[tokio::test]
async fn rate_limit_waits_for_retry_after_then_succeeds() {
    let slack = SlackReceiver::start();
    slack.script(POST, [Reply::rate_limited(1)]);
    let (_, message) = rendered(&finding());

    let posted = bot(&slack)
        .post_message("C0DRIFT01", &message, None)
        .await
        .expect("posted");

    assert_eq!(posted.channel, "C0DRIFT01");
    let requests = slack.requests_to(POST);
    assert_eq!(requests.len(), 2, "one 429, then the retry");
    let waited = requests[1].at - requests[0].at;
    assert!(
        waited >= Duration::from_millis(1000),
        "retried after {waited:?}, Retry-After was 1 s"
    );
    assert_eq!(requests[0].body, requests[1].body, "the same request again");
}

#[tokio::test]
async fn webhook_rides_out_a_429_and_a_500() {
    let slack = SlackReceiver::start();
    slack.script(WEBHOOK_PATH, [Reply::rate_limited(1), Reply::server_error()]);
    let (json, message) = rendered(&finding());

    webhook(&slack)
        .send_webhook(&message)
        .await
        .expect("posted on the third attempt");

    let requests = slack.requests_to(WEBHOOK_PATH);
    assert_eq!(requests.len(), 3);
    assert!(
        requests[1].at - requests[0].at >= Duration::from_secs(1),
        "Retry-After honoured"
    );
    assert!(requests.iter().all(|r| body(r) == &json));
}

#[tokio::test]
async fn server_error_then_success_is_retried() {
    let slack = SlackReceiver::start();
    slack.script(
        POST,
        [Reply::server_error(), Reply::ok_posted("C1", "1700000000.000100")],
    );
    let (_, message) = rendered(&finding());

    let posted = bot(&slack)
        .post_message("alerts", &message, None)
        .await
        .expect("posted");

    assert_eq!(
        posted,
        Posted {
            channel: "C1".into(),
            ts: "1700000000.000100".into()
        }
    );
    assert_eq!(slack.requests_to(POST).len(), 2);
    assert_eq!(slack.pending(POST), 0);
}

#[tokio::test]
async fn persistent_server_errors_give_a_retryable_error_after_the_configured_attempts() {
    let slack = SlackReceiver::start();
    // A fourth attempt would succeed: the client must stop at three.
    slack.script(
        POST,
        [Reply::server_error(), Reply::server_error(), Reply::server_error()],
    );
    let (_, message) = rendered(&finding());
    let client = bot(&slack).with_retry(policy(3));

    let error = client
        .post_message("C0DRIFT01", &message, None)
        .await
        .expect_err("three 500s");

    assert!(error.is_retryable(), "{error}");
    assert!(matches!(error, SlackError::GaveUp { attempts: 3, .. }), "{error:?}");
    assert_eq!(error.code(), Some("http_500"));
    assert!(!error.to_string().contains("<html>"), "pages are not quoted: {error}");
    assert_eq!(slack.requests_to(POST).len(), 3);
    assert_no_secret(&everything_about(&error));
}

#[tokio::test]
async fn refusals_are_named_and_not_retried() {
    let slack = SlackReceiver::start();
    slack.expect_token(TOKEN);
    slack.script(POST, [Reply::api_error("channel_not_found")]);
    slack.script(WEBHOOK_PATH, [Reply::text(400, "invalid_blocks")]);
    let (_, message) = rendered(&finding());

    let channel = bot(&slack)
        .post_message("C0GONE", &message, None)
        .await
        .expect_err("no such channel");
    let blocks = webhook(&slack).send_webhook(&message).await.expect_err("bad blocks");
    let wrong_token = SlackClient::bot("xoxb-some-other-token")
        .and_then(|client| client.with_api_base(&slack.api_base()))
        .expect("a bot client")
        .update_message("C0DRIFT01", "1700000000.000100", &message)
        .await
        .expect_err("invalid token");

    for (error, code) in [
        (&channel, "channel_not_found"),
        (&blocks, "invalid_blocks"),
        (&wrong_token, "invalid_auth"),
    ] {
        assert_eq!(error.code(), Some(code), "{error}");
        assert!(!error.is_retryable(), "{error}");
        assert!(error.to_string().contains(code), "the message names {code}: {error}");
        assert_no_secret(&everything_about(error));
    }
    assert_eq!(
        channel.to_string(),
        "Slack chat.postMessage failed: channel_not_found (HTTP 200)"
    );
    // One request each: a refusal is not retried (the scripted queues are used up, so a retry
    // would have succeeded).
    assert_eq!(slack.requests_to(POST).len(), 1);
    assert_eq!(slack.requests_to(WEBHOOK_PATH).len(), 1);
    assert_eq!(slack.requests_to(UPDATE).len(), 1);
}

#[tokio::test]
async fn retry_after_beyond_the_cap_ends_the_call_at_once_and_says_how_long() {
    let slack = SlackReceiver::start();
    slack.script(POST, [Reply::rate_limited(120)]);
    let (_, message) = rendered(&finding());

    let error = bot(&slack)
        .post_message("C0DRIFT01", &message, None)
        .await
        .expect_err("rate limited for two minutes");

    assert!(error.is_retryable());
    assert_eq!(error.retry_after(), Some(Duration::from_secs(120)));
    assert_eq!(error.code(), Some("ratelimited"));
    assert_eq!(slack.requests_to(POST).len(), 1, "no retry before Slack allows it");
}

#[tokio::test]
async fn a_timed_out_attempt_is_retried() {
    let slack = SlackReceiver::start();
    slack.script(WEBHOOK_PATH, [Reply::text(200, "ok").delayed(Duration::from_secs(3))]);
    let (_, message) = rendered(&finding());
    let client = webhook(&slack).with_timeout(Duration::from_millis(300));

    client.send_webhook(&message).await.expect("the second attempt answers");
    assert_eq!(slack.requests_to(WEBHOOK_PATH).len(), 2);

    // When every attempt times out, the error is retryable and names neither URL nor path.
    slack.script(
        WEBHOOK_PATH,
        [
            Reply::text(200, "ok").delayed(Duration::from_secs(3)),
            Reply::text(200, "ok").delayed(Duration::from_secs(3)),
        ],
    );
    let error = client
        .with_retry(policy(2))
        .send_webhook(&message)
        .await
        .expect_err("timed out twice");
    let SlackError::GaveUp { last, .. } = &error else {
        panic!("expected GaveUp, got {error:?}");
    };
    assert!(
        matches!(
            **last,
            SlackError::Transport {
                kind: TransportKind::Timeout,
                ..
            }
        ),
        "{last:?}"
    );
    assert!(error.is_retryable());
    assert_no_secret(&everything_about(&error));
}

#[tokio::test]
async fn an_unreachable_endpoint_is_a_retryable_error_without_the_url() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = closed.local_addr().expect("address").port();
    drop(closed);
    let client = SlackClient::webhook(&format!("http://127.0.0.1:{port}{WEBHOOK_PATH}"))
        .expect("a webhook client")
        .with_retry(policy(2));
    let (_, message) = rendered(&finding());

    let error = client.send_webhook(&message).await.expect_err("nothing listens");

    let SlackError::GaveUp { attempts: 2, last, .. } = &error else {
        panic!("expected GaveUp after 2 attempts, got {error:?}");
    };
    assert!(
        matches!(
            **last,
            SlackError::Transport {
                kind: TransportKind::Connect,
                ..
            }
        ),
        "{last:?}"
    );
    assert!(error.is_retryable());
    assert!(error.to_string().contains("could not connect"), "{error}");
    assert_no_secret(&everything_about(&error));
}

#[tokio::test]
async fn secrets_stay_out_of_debug_output() {
    let slack = SlackReceiver::start();
    let shown = format!("{:?}\n{:#?}\n{:?}", bot(&slack), webhook(&slack), webhook(&slack));
    assert_no_secret(&shown);
    assert!(shown.contains("[redacted]"), "{shown}");
    assert!(
        shown.contains(&slack.api_base()),
        "the API base is not a secret: {shown}"
    );
}

#[tokio::test]
async fn a_call_the_client_cannot_make_sends_nothing() {
    let slack = SlackReceiver::start();
    let (_, message) = rendered(&finding());
    let error = webhook(&slack)
        .update_message("C0DRIFT01", "1700000000.000100", &message)
        .await
        .expect_err("a webhook cannot update");
    assert!(
        matches!(error, SlackError::Unsupported { .. }) && !error.is_retryable(),
        "{error:?}"
    );
    let error = bot(&slack)
        .send_webhook(&message)
        .await
        .expect_err("a bot has no webhook");
    assert!(!error.is_retryable(), "{error:?}");
    assert!(slack.requests().is_empty());
}

#[tokio::test]
async fn an_interaction_is_answered_through_its_response_url_with_retries() {
    let slack = SlackReceiver::start();
    let path = "/actions/T0DRIFT00/1234567890/ResponseUrlSecretPart";
    slack.script(path, [Reply::server_error()]);
    let answer = json!({ "replace_original": true, "text": "Acknowledged", "blocks": [] });
    // Any client can answer: the response URL is the credential.
    bot(&slack)
        .respond(&slack.url(path), &answer)
        .await
        .expect("answered after one retry");
    let got = slack.requests_to(path);
    assert_eq!(got.len(), 2, "a 500, then the retry");
    for r in &got {
        assert_eq!(body(r), &answer);
        assert_eq!(r.header("authorization"), None, "no token goes to a response URL");
    }
    slack.script(path, [Reply::text(404, "expired_url")]);
    let error = webhook(&slack)
        .respond(&slack.url(path), &answer)
        .await
        .expect_err("refused");
    let text = everything_about(&error);
    assert!(text.contains("expired_url"), "{text}");
    assert!(!text.contains("ResponseUrlSecretPart"), "{text}");
}

#[tokio::test]
async fn user_group_members_are_read_with_the_bot_token() {
    let slack = SlackReceiver::start();
    slack.expect_token(TOKEN);
    slack.script(
        "/api/usergroups.users.list",
        [Reply::json(200, &json!({ "ok": true, "users": ["U0CAROL", "U0ERIN"] }))],
    );
    let members = bot(&slack).usergroup_members("S0SRE").await.expect("members");
    assert_eq!(members, vec!["U0CAROL", "U0ERIN"]);
    let got = slack.requests_to("/api/usergroups.users.list");
    assert_eq!(got[0].text(), "usergroup=S0SRE");
    assert_eq!(got[0].header("content-type"), Some("application/x-www-form-urlencoded"));
    assert!(bot(&slack).usergroup_members("S0&x=1").await.is_err(), "ids only");
    assert!(
        webhook(&slack).usergroup_members("S0SRE").await.is_err(),
        "needs a bot token"
    );
}
