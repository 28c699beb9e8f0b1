//! One request through the function URL: verify, refuse replays, read the click, authorise,
//! record, publish, answer. Every refusal is an HTTP status with a JSON `error`, and changes
//! nothing; only a verified, authorised click on stored findings records a decision.

use crate::config::Config;
use driftguard_aws::{
    secret_from, AwsError, DynamoClient, DynamoLedger, DynamoStore, EventBridgeClient, EventBridgePublisher,
};
use driftguard_core::finding::Finding;
use driftguard_core::interaction::{self, ActionPolicy, Click, Decision, DecisionLedger, InteractionError};
use driftguard_core::ports::FindingStore;
use driftguard_core::remediation::RemediationPublisher;
use driftguard_core::secret::Secret;
use driftguard_core::slack;
use driftguard_core::time::Timestamp;
use driftguard_slack::{RetryPolicy, SlackClient};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a user group's members are cached.
const GROUP_CACHE: Duration = Duration::from_secs(300);
/// Per-attempt timeout of Slack calls: the whole answer must fit in Slack's three seconds.
const SLACK_TIMEOUT: Duration = Duration::from_millis(1200);

/// A failure the function cannot answer with a status (the store or the bus is down): Lambda
/// reports it and the function URL answers 502, so Slack shows the click failed.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ActionsError(String);

impl From<AwsError> for ActionsError {
    fn from(e: AwsError) -> Self {
        ActionsError(e.to_string())
    }
}

impl From<ActionsError> for Diagnostic {
    fn from(e: ActionsError) -> Self {
        Diagnostic {
            error_type: "Failed".into(),
            error_message: e.0,
        }
    }
}

/// The parts of a function URL request this function reads.
#[derive(Deserialize)]
struct UrlRequest {
    #[serde(default)]
    headers: HashMap<String, String>,
    #[serde(default)]
    body: Option<String>,
    #[serde(default, rename = "isBase64Encoded")]
    base64: bool,
    #[serde(default, rename = "requestContext")]
    context: Value,
}

fn answer(status: u16, body: &Value) -> Value {
    json!({
        "statusCode": status,
        "headers": { "content-type": "application/json" },
        "body": body.to_string(),
    })
}

fn refuse(status: u16, error: &str) -> Value {
    answer(status, &json!({ "error": error }))
}

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}

/// Everything built once per container.
pub struct App {
    signing_secret: Secret,
    policy: ActionPolicy,
    response_url_prefix: String,
    /// Answers through `response_url` (any client can) and, with a bot token, user groups.
    slack: SlackClient,
    has_bot: bool,
    groups: Mutex<HashMap<String, (Instant, Vec<String>)>>,
    ledger: DynamoLedger,
    store: DynamoStore,
    publisher: EventBridgePublisher,
}

impl App {
    /// Reads the secrets and builds the clients.
    pub async fn build(aws: &aws_config::SdkConfig, config: Config) -> Result<App, ActionsError> {
        let signing_secret = secret_from(
            aws,
            config.signing_secret.map(|s| s.expose().to_owned()),
            config.signing_secret_ref,
        )
        .await?
        .ok_or_else(|| ActionsError("no signing secret".into()))?;
        let token = secret_from(
            aws,
            config.bot_token.map(|s| s.expose().to_owned()),
            config.bot_token_ref,
        )
        .await?;
        let retry = RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(300),
            max_retry_after: Duration::from_secs(1),
        };
        let slack = match &token {
            Some(token) => SlackClient::bot(token.expose()).and_then(|c| c.with_api_base(&config.api_base)),
            // Only `respond` is used without a token; the URL is a placeholder, never called.
            None => SlackClient::webhook("https://hooks.slack.com/services/unused"),
        }
        .map_err(|e| ActionsError(e.to_string()))?
        .with_retry(retry)
        .with_timeout(SLACK_TIMEOUT);
        let dynamo = DynamoClient::new(aws);
        tracing::info!(user_groups = token.is_some(), "Slack actions ready");
        Ok(App {
            signing_secret,
            policy: config.policy,
            response_url_prefix: config.response_url_prefix,
            slack,
            has_bot: token.is_some(),
            groups: Mutex::new(HashMap::new()),
            ledger: DynamoLedger::new(dynamo.clone(), &config.table),
            store: DynamoStore::new(dynamo, &config.table),
            publisher: EventBridgePublisher::new(EventBridgeClient::new(aws), &config.event_bus),
        })
    }

    /// One request.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, ActionsError> {
        let started = Instant::now();
        let result = self.handle(event.payload).await;
        if let Ok(response) = &result {
            tracing::info!(
                status = response["statusCode"].as_u64().unwrap_or(0),
                elapsed_ms = started.elapsed().as_millis() as u64,
                "Answered"
            );
        }
        result
    }

    async fn handle(&self, payload: Value) -> Result<Value, ActionsError> {
        let Ok(request) = serde_json::from_value::<UrlRequest>(payload) else {
            return Ok(refuse(400, "not a function URL request"));
        };
        let method = request.context["http"]["method"].as_str().unwrap_or("POST");
        if method != "POST" {
            return Ok(refuse(405, "only POST is accepted"));
        }
        let headers: HashMap<String, String> = request
            .headers
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v))
            .collect();
        let raw = request.body.unwrap_or_default();
        let body = if request.base64 {
            match interaction::base64_decode(&raw) {
                Ok(b) => b,
                Err(e) => return Ok(refuse(400, &e.to_string())),
            }
        } else {
            raw.into_bytes()
        };
        let timestamp = headers.get("x-slack-request-timestamp").map(String::as_str);
        let signature = headers.get("x-slack-signature").map(String::as_str);
        let at = now();
        if let Err(e) = slack::verify(self.signing_secret.expose(), timestamp, signature, &body, at) {
            tracing::warn!(reason = %e, "Refused an unsigned or stale request");
            return Ok(refuse(401, &e.to_string()));
        }
        // Verified: the timestamp is within five minutes, so the signature need only be
        // remembered that long (plus a minute of clock skew).
        let sent_at = timestamp.and_then(|t| t.trim().parse::<i64>().ok()).unwrap_or(0);
        let expires = Timestamp((sent_at + slack::SIGNATURE_MAX_AGE_SECONDS + 60) * 1000);
        if !self.ledger.first_use(signature.unwrap_or_default(), expires).await? {
            tracing::warn!("Refused a replayed request");
            return Ok(refuse(401, "request already received (replay)"));
        }
        let click = match interaction::parse_click(&body) {
            Ok(click) => click,
            Err(e @ (InteractionError::Malformed(_) | InteractionError::Unsupported(_))) => {
                tracing::warn!(error = %e, "Unreadable interaction");
                return Ok(refuse(400, &e.to_string()));
            }
            Err(e @ InteractionError::UnknownAction(_)) => {
                tracing::warn!(error = %e, "Unknown action");
                return Ok(refuse(400, &e.to_string()));
            }
        };
        if !click.response_url.starts_with(&self.response_url_prefix) {
            tracing::warn!(user = %click.user_id, "response_url is not a Slack URL");
            return Ok(refuse(400, "response_url is not a Slack response URL"));
        }
        self.act(&click, at).await
    }

    async fn act(&self, click: &Click, at: Timestamp) -> Result<Value, ActionsError> {
        let groups = self.groups_of(click).await;
        if let Err(denied) = self.policy.authorise(click.action, &click.user_id, &groups) {
            tracing::warn!(user = %click.user_id, action = click.action.as_str(), "Refused an unauthorised click");
            self.tell(
                click,
                &json!({
                    "response_type": "ephemeral",
                    "replace_original": false,
                    "text": format!(":no_entry: {denied}: ask an administrator to add you to DriftGuard's allow-list for this action."),
                }),
            )
            .await;
            return Ok(answer(
                200,
                &json!({ "status": "denied", "action": click.action.as_str() }),
            ));
        }
        let mut findings: Vec<Finding> = Vec::new();
        for id in &click.finding_ids {
            match self.store.get(id).await? {
                Some(f) => findings.push(f),
                None => {
                    tracing::warn!(finding_id = %id, user = %click.user_id, "Click on a finding the store does not hold");
                    self.tell(
                        click,
                        &json!({
                            "response_type": "ephemeral",
                            "replace_original": false,
                            "text": format!(":warning: Finding `{id}` is not in DriftGuard's store; nothing was changed."),
                        }),
                    )
                    .await;
                    return Ok(refuse(404, &format!("finding {id} not found")));
                }
            }
        }
        let mut requested = 0;
        for decision in Decision::from_click(click, at) {
            let fresh = self.ledger.record(&decision).await?;
            tracing::info!(
                finding_id = %decision.finding_id,
                action = decision.action.as_str(),
                user = %decision.by.user,
                fresh,
                "Decision recorded"
            );
            if let (true, Some(request)) = (fresh, decision.remediation_request()) {
                self.publisher.request(&request).await?;
                requested += 1;
            }
        }
        let history = self.ledger.decisions(&findings[0].id).await?;
        let notes: Vec<String> = history.iter().map(Decision::sentence).collect();
        let settled = history.iter().any(|d| d.action.settles());
        let mut message = slack::with_note(slack::render_group(&findings), &notes.join("\n"), settled);
        message["replace_original"] = json!(true);
        self.tell(click, &message).await;
        Ok(answer(
            200,
            &json!({
                "status": "recorded",
                "action": click.action.as_str(),
                "findings": click.finding_ids,
                "remediation_requested": requested,
            }),
        ))
    }

    /// The action's user groups the clicking user is in (looked up only when the user is not
    /// admitted by id and a bot token is configured; cached for five minutes).
    async fn groups_of(&self, click: &Click) -> Vec<String> {
        let wanted = &self.policy.list(click.action).groups;
        if wanted.is_empty() || self.policy.admits_directly(click.action, &click.user_id) || !self.has_bot {
            return Vec::new();
        }
        let mut cache = self.groups.lock().await;
        let mut out = Vec::new();
        for group in wanted {
            let fresh = cache
                .get(group)
                .filter(|(at, _)| at.elapsed() < GROUP_CACHE)
                .map(|(_, m)| m.clone());
            let members = match fresh {
                Some(m) => m,
                None => match self.slack.usergroup_members(group).await {
                    Ok(m) => {
                        cache.insert(group.clone(), (Instant::now(), m.clone()));
                        m
                    }
                    Err(e) => {
                        tracing::warn!(group = %group, error = %e, "Could not read a user group; treating the user as not in it");
                        Vec::new()
                    }
                },
            };
            if members.contains(&click.user_id) {
                out.push(group.clone());
            }
        }
        out
    }

    /// Answers through the click's `response_url`; a failure is logged (the decision stands).
    async fn tell(&self, click: &Click, body: &Value) {
        if let Err(e) = self.slack.respond(&click.response_url, body).await {
            tracing::warn!(user = %click.user_id, error = %e, "Could not answer through response_url");
        }
    }
}
