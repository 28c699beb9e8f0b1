//! The pipeline client against a loopback HTTP receiver standing in for GitHub and for a CI
//! webhook: the exact requests they would receive, retries, refusals, GitHub App tokens.

use driftguard_core::finding::Finding;
use driftguard_core::remediation::{
    verify_webhook, HttpCall, PipelineRoutes, RemediationAction, RemediationRequest, Requester, WebhookRejection,
};
use driftguard_core::secret::Secret;
use driftguard_core::time::Timestamp;
use driftguard_pipelines::{Executed, PipelineClient, PipelineError, RetryPolicy};
use driftguard_tests::slack_receiver::{Received, Reply, SlackReceiver};
use serde_json::{json, Value};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const TOKEN: &str = "ghp_test-token-0123456789";
const DISPATCHES: &str = "/repos/acme/network-infra/actions/workflows/apply.yml/dispatches";
const ISSUES: &str = "/repos/acme/network-infra/issues";
const HOOK: &str = "/hooks/terraform-apply";
const WEBHOOK_SECRET: &str = "whsec-test-only";
const APP_KEY: &str = include_str!("fixtures/github-app-test-only.pem");
const APP_PUBLIC_KEY: &[u8] = include_bytes!("fixtures/github-app-test-only.public.der");

/// GitHub and the webhook on one receiver: the network state routes to GitHub, staging states to
/// the webhook.
fn routes(receiver: &SlackReceiver) -> PipelineRoutes {
    let config = json!([
        {"state": "events/terraform/network.tfstate", "kind": "github_workflow",
         "repository": "acme/network-infra", "workflow": "apply.yml", "ref": "main",
         "token": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:driftguard/github",
         "api_url": receiver.url(""), "inputs": {"environment": "prod"}},
        {"state": "s3://tf-states/staging/*", "kind": "webhook",
         "url": receiver.url(HOOK), "secret": "/driftguard/ci-webhook"}
    ]);
    PipelineRoutes::from_json(&config.to_string()).expect("valid routes")
}

/// The finding of `events/driftguard/drift-detected.console-sg.json`.
fn finding() -> Finding {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../events/driftguard/drift-detected.console-sg.json"
    );
    let event: Value = serde_json::from_slice(&std::fs::read(path).expect("sample event")).expect("JSON");
    serde_json::from_value(event["detail"]["finding"].clone()).expect("a finding")
}

fn request(finding: &Finding, action: RemediationAction) -> RemediationRequest {
    RemediationRequest {
        schema_version: 1,
        finding_id: finding.id.clone(),
        action,
        requested_by: Requester {
            source: "slack".into(),
            user: "U0123ABCD".into(),
        },
        requested_at: Timestamp::parse("2026-11-20T09:58:41.512Z").expect("time"),
        dry_run: false,
        reason: None,
    }
}

fn dispatch_call(receiver: &SlackReceiver) -> HttpCall {
    let finding = finding();
    routes(receiver)
        .reapply_call(&finding, &request(&finding, RemediationAction::Reapply))
        .expect("a dispatch")
}

fn webhook_call(receiver: &SlackReceiver) -> HttpCall {
    let mut finding = finding();
    if let Some(owner) = finding.owner.as_mut() {
        owner.state = "s3://tf-states/staging/network.tfstate".into();
    }
    routes(receiver)
        .reapply_call(&finding, &request(&finding, RemediationAction::Reapply))
        .expect("a webhook call")
}

fn client() -> PipelineClient {
    PipelineClient::new().expect("a client").with_retry(RetryPolicy {
        base_delay: Duration::from_millis(5),
        max_delay: Duration::from_millis(20),
        ..RetryPolicy::default()
    })
}

fn no_content() -> Reply {
    Reply {
        status: 204,
        headers: Vec::new(),
        body: Vec::new(),
        delay: Duration::ZERO,
    }
}

fn now_unix() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("after 1970")
        .as_secs();
    i64::try_from(secs).expect("fits")
}

fn the_one(requests: Vec<Received>) -> Received {
    assert_eq!(requests.len(), 1, "{requests:#?}");
    requests.into_iter().next().expect("one request")
}

#[tokio::test]
async fn a_dispatch_sends_exactly_what_github_expects_and_reads_the_run_link() {
    let github = SlackReceiver::start();
    github.script(
        DISPATCHES,
        [Reply::json(
            200,
            &json!({
                "workflow_run_id": 22_000_001,
                "run_url": "https://api.github.com/repos/acme/network-infra/actions/runs/22000001",
                "html_url": "https://github.com/acme/network-infra/actions/runs/22000001",
            }),
        )],
    );
    let executed = client()
        .execute(&dispatch_call(&github), &Secret::new(TOKEN))
        .await
        .expect("dispatched");
    assert_eq!(
        executed,
        Executed::Dispatched {
            status: 200,
            run_id: Some(22_000_001),
            run_url: Some("https://github.com/acme/network-infra/actions/runs/22000001".into()),
        }
    );
    let sent = the_one(github.requests());
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", DISPATCHES));
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    assert_eq!(sent.header("accept"), Some("application/vnd.github+json"));
    assert_eq!(sent.header("x-github-api-version"), Some("2022-11-28"));
    assert_eq!(sent.header("content-type"), Some("application/json"));
    assert!(
        sent.header("user-agent")
            .is_some_and(|ua| ua.starts_with("driftguard-pipelines/")),
        "{:?}",
        sent.header("user-agent")
    );
    assert_eq!(
        sent.json,
        Some(json!({
            "ref": "main",
            "return_run_details": true,
            "inputs": {
                "resource_address": "module.network.aws_security_group.web",
                "state": "events/terraform/network.tfstate",
                "finding_id": "dg-1500731b7ee4b0bc",
                "action": "reapply",
                "requested_by": "slack:U0123ABCD",
                "environment": "prod",
            },
        }))
    );
}

#[tokio::test]
async fn a_204_is_a_dispatch_without_run_details() {
    let github = SlackReceiver::start();
    github.script(DISPATCHES, [no_content()]);
    let executed = client()
        .execute(&dispatch_call(&github), &Secret::new(TOKEN))
        .await
        .expect("dispatched");
    assert_eq!(
        executed,
        Executed::Dispatched {
            status: 204,
            run_id: None,
            run_url: None
        }
    );
}

#[tokio::test]
async fn a_429_waits_its_retry_after_then_the_204_counts() {
    let github = SlackReceiver::start();
    github.script(
        DISPATCHES,
        [
            Reply::json(429, &json!({"message": "API rate limit exceeded"})).with_header("Retry-After", "1"),
            no_content(),
        ],
    );
    let executed = client()
        .execute(&dispatch_call(&github), &Secret::new(TOKEN))
        .await
        .expect("dispatched on the second attempt");
    assert!(matches!(executed, Executed::Dispatched { status: 204, .. }));
    let sent = github.requests_to(DISPATCHES);
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].at.duration_since(sent[0].at) >= Duration::from_millis(950),
        "waited the Retry-After"
    );
    assert_eq!(sent[0].body, sent[1].body, "the same dispatch, again");
}

#[tokio::test]
async fn githubs_rate_limited_403_is_retried_and_a_plain_403_is_not() {
    let github = SlackReceiver::start();
    github.script(
        DISPATCHES,
        [
            Reply::json(403, &json!({"message": "You have exceeded a secondary rate limit."}))
                .with_header("Retry-After", "0"),
            no_content(),
            Reply::json(403, &json!({"message": "Resource not accessible by integration"})),
        ],
    );
    let client = client();
    let call = dispatch_call(&github);
    assert!(client.execute(&call, &Secret::new(TOKEN)).await.is_ok());
    let error = client.execute(&call, &Secret::new(TOKEN)).await.expect_err("forbidden");
    assert_eq!((error.status(), error.is_retryable()), (Some(403), false));
    assert_eq!(github.requests_to(DISPATCHES).len(), 3);
}

#[tokio::test]
async fn refusals_are_not_retried_name_the_status_and_never_the_token() {
    for (status, message) in [
        (401, format!("Bad credentials: {TOKEN}")),
        (404, "Not Found".to_owned()),
        (422, "Unexpected inputs provided: [\"environment\"]".to_owned()),
    ] {
        let github = SlackReceiver::start();
        github.script(DISPATCHES, [Reply::json(status, &json!({ "message": message }))]);
        let error = client()
            .execute(&dispatch_call(&github), &Secret::new(TOKEN))
            .await
            .expect_err("refused");
        let text = error.to_string();
        assert!(
            matches!(&error, PipelineError::Refused { status: s, .. } if *s == status),
            "{error:?}"
        );
        assert!(!error.is_retryable(), "{text}");
        assert!(text.contains(&format!("HTTP {status}")), "{text}");
        assert!(!text.contains(TOKEN) && !format!("{error:?}").contains(TOKEN), "{text}");
        assert_eq!(github.requests_to(DISPATCHES).len(), 1, "not retried: {text}");
    }
}

#[tokio::test]
async fn server_errors_are_retried_until_the_policy_gives_up_retryable() {
    let github = SlackReceiver::start();
    github.script(DISPATCHES, std::iter::repeat_n(Reply::server_error(), 3));
    let client = client().with_retry(RetryPolicy {
        max_attempts: 3,
        base_delay: Duration::from_millis(1),
        ..RetryPolicy::default()
    });
    let error = client
        .execute(&dispatch_call(&github), &Secret::new(TOKEN))
        .await
        .expect_err("gave up");
    assert!(matches!(error, PipelineError::GaveUp { attempts: 3, .. }), "{error}");
    assert!(error.is_retryable());
    assert_eq!(github.requests_to(DISPATCHES).len(), 3);
}

#[tokio::test]
async fn a_server_that_refuses_return_run_details_gets_the_dispatch_without_it() {
    let github = SlackReceiver::start();
    github.script(
        DISPATCHES,
        [
            Reply::json(
                422,
                &json!({"message": "Invalid request.\n\n\"return_run_details\" is not a permitted key."}),
            ),
            no_content(),
        ],
    );
    let executed = client()
        .execute(&dispatch_call(&github), &Secret::new(TOKEN))
        .await
        .expect("dispatched");
    assert!(matches!(executed, Executed::Dispatched { status: 204, .. }));
    let sent = github.requests_to(DISPATCHES);
    assert_eq!(sent.len(), 2);
    let (first, second) = (sent[0].json.clone().expect("JSON"), sent[1].json.clone().expect("JSON"));
    assert_eq!(first["return_run_details"], true);
    assert_eq!(second.get("return_run_details"), None);
    assert_eq!(first["inputs"], second["inputs"]);
}

#[tokio::test]
async fn an_accepted_change_opens_an_issue() {
    let github = SlackReceiver::start();
    github.script(
        ISSUES,
        [Reply::json(
            201,
            &json!({"number": 17, "html_url": "https://github.com/acme/network-infra/issues/17", "state": "open"}),
        )],
    );
    let finding = finding();
    let hcl = "resource \"aws_security_group\" \"web\" {\n  # ingress tcp 22 0.0.0.0/0 accepted\n}\n";
    let call = routes(&github)
        .accept_issue_call(&finding, &request(&finding, RemediationAction::Accept), Some(hcl))
        .expect("an issue call");
    let executed = client().execute(&call, &Secret::new(TOKEN)).await.expect("opened");
    assert_eq!(
        executed,
        Executed::IssueOpened {
            number: 17,
            html_url: "https://github.com/acme/network-infra/issues/17".into()
        }
    );
    let sent = the_one(github.requests());
    assert_eq!((sent.method.as_str(), sent.path.as_str()), ("POST", ISSUES));
    assert_eq!(sent.header("authorization"), Some(format!("Bearer {TOKEN}").as_str()));
    let body = sent.json.expect("JSON");
    assert_eq!(body["labels"], json!(["driftguard", "accepted-drift"]));
    let text = body["body"].as_str().expect("a body");
    assert!(
        text.contains("`dg-1500731b7ee4b0bc`") && text.contains(&format!("```hcl\n{hcl}```")),
        "{text}"
    );
}

#[tokio::test]
async fn webhook_calls_are_signed_on_every_attempt_and_verify_only_with_the_secret() {
    let ci = SlackReceiver::start();
    ci.script(
        HOOK,
        [
            Reply::server_error(),
            Reply::json(202, &json!({"run_url": "https://ci.example.com/runs/9"})),
        ],
    );
    let call = webhook_call(&ci);
    let executed = client()
        .execute(&call, &Secret::new(WEBHOOK_SECRET))
        .await
        .expect("delivered");
    assert_eq!(
        executed,
        Executed::Dispatched {
            status: 202,
            run_id: None,
            run_url: Some("https://ci.example.com/runs/9".into())
        }
    );
    let sent = ci.requests_to(HOOK);
    assert_eq!(sent.len(), 2);
    for request in &sent {
        assert_eq!(request.method, "POST");
        assert_eq!(request.header("authorization"), None);
        assert_eq!(
            request.header("idempotency-key"),
            Some("dg-1500731b7ee4b0bc:reapply@2026-11-20T09:58:41.512Z")
        );
        let (timestamp, signature) = (
            request.header("x-driftguard-timestamp"),
            request.header("x-driftguard-signature"),
        );
        assert!(signature.is_some_and(|s| s.starts_with("v1=") && !s.contains(WEBHOOK_SECRET)));
        let now = now_unix();
        assert_eq!(
            verify_webhook(WEBHOOK_SECRET.as_bytes(), timestamp, &request.body, signature, now, 300),
            Ok(())
        );
        assert_eq!(
            verify_webhook(b"another-secret", timestamp, &request.body, signature, now, 300),
            Err(WebhookRejection::Mismatch)
        );
        assert_eq!(
            verify_webhook(WEBHOOK_SECRET.as_bytes(), timestamp, b"{}", signature, now, 300),
            Err(WebhookRejection::Mismatch)
        );
        let body = request.json.clone().expect("JSON");
        assert_eq!(body["state"], "s3://tf-states/staging/network.tfstate");
        assert_eq!(body["address"], "module.network.aws_security_group.web");
        assert_eq!(body["resource"]["id"], "sg-0123456789abcdef0");
    }
}

#[tokio::test]
async fn a_github_app_key_mints_an_installation_token_and_dispatches_with_it() {
    let github = SlackReceiver::start();
    let expires = Timestamp((now_unix() + 3600) * 1000).to_string();
    github.script(
        "/app/installations/987654/access_tokens",
        [Reply::json(
            201,
            &json!({"token": "ghs_minted-installation-token", "expires_at": expires}),
        )],
    );
    github.script(DISPATCHES, [no_content(), no_content()]);
    let app_secret =
        Secret::new(json!({"app_id": 123_456, "installation_id": 987_654, "private_key": APP_KEY}).to_string());
    let client = client();
    let call = dispatch_call(&github);
    let before = now_unix();
    for _ in 0..2 {
        let executed = client.execute(&call, &app_secret).await.expect("dispatched");
        assert!(matches!(executed, Executed::Dispatched { status: 204, .. }));
    }
    let exchange = the_one(github.requests_to("/app/installations/987654/access_tokens"));
    assert_eq!(exchange.method, "POST");
    assert_eq!(exchange.header("accept"), Some("application/vnd.github+json"));
    let jwt = exchange
        .header("authorization")
        .and_then(|a| a.strip_prefix("Bearer "))
        .expect("a bearer JWT");
    let claims = verified_claims(jwt);
    assert_eq!(claims["iss"], 123_456);
    let (iat, exp) = (
        claims["iat"].as_i64().expect("iat"),
        claims["exp"].as_i64().expect("exp"),
    );
    assert!(
        (before - 62..=before - 58).contains(&iat),
        "iat a minute back: {iat} vs {before}"
    );
    assert!(
        exp > before && exp - iat <= 600,
        "expires within GitHub's ten minutes: {iat}..{exp}"
    );

    let dispatches = github.requests_to(DISPATCHES);
    assert_eq!(dispatches.len(), 2, "the cached token serves the second dispatch");
    for dispatch in dispatches {
        assert_eq!(
            dispatch.header("authorization"),
            Some("Bearer ghs_minted-installation-token")
        );
    }
    let shown = format!("{client:?}");
    assert!(!shown.contains("ghs_") && !shown.contains("PRIVATE"), "{shown}");
}

#[tokio::test]
async fn an_unusable_app_key_fails_before_any_request() {
    let github = SlackReceiver::start();
    let secret = Secret::new(
        json!({"app_id": 1, "installation_id": 2, "private_key": "-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----"})
            .to_string(),
    );
    let error = client()
        .execute(&dispatch_call(&github), &secret)
        .await
        .expect_err("no key");
    assert!(
        matches!(error, PipelineError::Credential(_)) && !error.is_retryable(),
        "{error}"
    );
    assert!(github.requests().is_empty());
}

/// The JWT's claims, once its RS256 signature verifies with the fixture's public key.
fn verified_claims(jwt: &str) -> Value {
    let parts: Vec<&str> = jwt.split('.').collect();
    assert_eq!(parts.len(), 3, "{jwt}");
    let header: Value = serde_json::from_slice(&base64url_decode(parts[0])).expect("header JSON");
    assert_eq!(header, json!({"alg": "RS256", "typ": "JWT"}));
    let signed = format!("{}.{}", parts[0], parts[1]);
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, APP_PUBLIC_KEY)
        .verify(signed.as_bytes(), &base64url_decode(parts[2]))
        .expect("the signature verifies with the App's public key");
    serde_json::from_slice(&base64url_decode(parts[1])).expect("claims JSON")
}

/// Base64url without padding, decoded independently of the client's encoder.
fn base64url_decode(text: &str) -> Vec<u8> {
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = String::new();
    for c in text.chars() {
        let value = alphabet.find(c).unwrap_or_else(|| panic!("{c:?} is not base64url"));
        bits.push_str(&format!("{value:06b}"));
    }
    bits.as_bytes()
        .chunks(8)
        .filter(|byte| byte.len() == 8)
        .map(|byte| u8::from_str_radix(std::str::from_utf8(byte).expect("ASCII"), 2).expect("bits"))
        .collect()
}
