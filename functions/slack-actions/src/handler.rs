//! One request through the function URL: verify, refuse replays, read the click, check its
//! workspace and app, authorise, tie it to its message and the finding's state, record, publish
//! once, answer — then update the alert through `response_url` within what is left of Slack's
//! three seconds. Every refusal is an HTTP status (or a 200 telling the user why) and changes
//! nothing; only a verified, authorised click on open, undecided findings shown in the clicked
//! message records a decision.
//!
//! Time budget (Slack shows a failure after 3 s): the acknowledgement (verify, ledger reads,
//! record, publish once) is bounded by the group-lookup and publish budgets below; the alert update
//! gets what is left of [`ANSWER_BUDGET`] and is skipped, logged, when nothing is left. Each
//! answer logs `ack_ms` (the 200 built) and `elapsed_ms` (the update done).

use crate::config::Config;
use aws_lambda_events::http::{header::CONTENT_TYPE, HeaderValue};
use aws_lambda_events::lambda_function_urls::{LambdaFunctionUrlRequest, LambdaFunctionUrlResponse};
use driftguard_aws::{
    secret_from, AwsError, DynamoClient, DynamoLedger, DynamoRemediations, DynamoStore, EventBridgeClient,
    EventBridgePublisher,
};
use driftguard_core::finding::Finding;
use driftguard_core::interaction::{
    self, Action, ActionPolicy, Click, Decision, DecisionLedger, InteractionError, Origin, Recorded, Refused,
};
use driftguard_core::label::Label;
use driftguard_core::learn::ports::LearningStore;
use driftguard_core::metrics::{self, Metrics};
use driftguard_core::notify::NotifyLedger;
use driftguard_core::ports::FindingStore;
use driftguard_core::remediation::RemediationPublisher;
use driftguard_core::secret::Secret;
use driftguard_core::slack;
use driftguard_core::time::Timestamp;
use driftguard_slack::{RetryPolicy, SlackClient};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};
use tokio::sync::Mutex;

/// How long a user group's members are cached.
const GROUP_CACHE: Duration = Duration::from_secs(300);
/// Per-attempt timeout of Slack calls.
const SLACK_TIMEOUT: Duration = Duration::from_millis(1200);
/// The most the user-group lookups may take before the click is answered as not verifiable.
const GROUP_BUDGET: Duration = Duration::from_millis(800);
/// The most publishing `Remediation Requested` may take (EventBridge retries included); past
/// it the user is asked to click again, and that click publishes it (the decision stays
/// recorded, marked unpublished).
const PUBLISH_BUDGET: Duration = Duration::from_millis(1000);
/// Slack's three seconds, less a margin for the function URL and the network: the alert update
/// through `response_url` only gets what is left of this.
const ANSWER_BUDGET: Duration = Duration::from_millis(2500);
/// The least time worth starting an alert update with.
const MIN_UPDATE: Duration = Duration::from_millis(150);

/// A failure the function cannot answer with a status (the store is down): Lambda reports it
/// and the function URL answers 502, so Slack shows the click failed.
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

/// The function URL answer: a status and a JSON body.
fn answer(status: i64, body: &Value) -> LambdaFunctionUrlResponse {
    let mut response = LambdaFunctionUrlResponse::default();
    response.status_code = status;
    response
        .headers
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response.body = Some(body.to_string());
    response
}

fn refuse(status: i64, error: &str) -> LambdaFunctionUrlResponse {
    answer(status, &json!({ "error": error }))
}

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}

/// What to send through the click's `response_url` once the 200 is built.
struct Reply {
    response: LambdaFunctionUrlResponse,
    /// The message update or the ephemeral note, with the click it answers.
    tell: Option<(Click, Value)>,
}

impl From<LambdaFunctionUrlResponse> for Reply {
    fn from(response: LambdaFunctionUrlResponse) -> Self {
        Reply { response, tell: None }
    }
}

/// An ephemeral note to the clicking user (the alert stays as it is).
fn note(text: &str) -> Value {
    json!({ "response_type": "ephemeral", "replace_original": false, "text": text })
}

/// Everything built once per container.
pub struct App {
    signing_secret: Secret,
    policy: ActionPolicy,
    origin: Origin,
    response_url_prefix: String,
    /// Answers through `response_url` (any client can) and, with a bot token, user groups.
    slack: SlackClient,
    has_bot: bool,
    groups: Mutex<HashMap<String, (Instant, Vec<String>)>>,
    ledger: DynamoLedger,
    store: DynamoStore,
    /// The remediate function's requests: what an Approve click names must be waiting.
    remediations: DynamoRemediations,
    publisher: EventBridgePublisher,
    /// Refused clicks by reason, since the container started (logged with each refusal).
    refused: std::sync::Mutex<BTreeMap<&'static str, u64>>,
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
            origin: config.origin,
            response_url_prefix: config.response_url_prefix,
            slack,
            has_bot: token.is_some(),
            groups: Mutex::new(HashMap::new()),
            ledger: DynamoLedger::new(dynamo.clone(), &config.table),
            remediations: DynamoRemediations::new(dynamo.clone(), &config.table),
            store: DynamoStore::new(dynamo, &config.table),
            publisher: EventBridgePublisher::new(EventBridgeClient::new(aws), &config.event_bus),
            refused: std::sync::Mutex::new(BTreeMap::new()),
        })
    }

    /// One request: acknowledged (the 200 built) first, then the alert updated within what is
    /// left of the budget.
    /// Its metrics are printed as one line whatever the outcome: `ok` for a 2xx answer,
    /// `refused` for any other, `failed` for an error.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<LambdaFunctionUrlResponse, ActionsError> {
        let mut metrics = Metrics::new(metrics::SLACK_ACTIONS);
        let started = Instant::now();
        let result = self.answer(event).await;
        metrics.time("action", started.elapsed());
        let outcome = match &result {
            Ok(response) if (200..300).contains(&response.status_code) => "ok",
            Ok(_) => "refused",
            Err(_) => "failed",
        };
        metrics.add_by(&metrics::ACTIONS_BY_OUTCOME, outcome, 1);
        driftguard_aws::emit_metrics(&metrics);
        result
    }

    async fn answer(&self, event: LambdaEvent<Value>) -> Result<LambdaFunctionUrlResponse, ActionsError> {
        let started = Instant::now();
        let reply = self.handle(event.payload, started).await?;
        let ack_ms = started.elapsed().as_millis() as u64;
        let mut update_ms = None;
        if let Some((click, body)) = &reply.tell {
            let left = ANSWER_BUDGET.saturating_sub(started.elapsed());
            if left < MIN_UPDATE {
                tracing::warn!(user = %click.user_id, ack_ms, "No time left to update the alert; the decision stands");
            } else {
                let at = Instant::now();
                match tokio::time::timeout(left, self.slack.respond(&click.response_url, body)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(user = %click.user_id, error = %e, "Could not answer through response_url")
                    }
                    Err(_) => tracing::warn!(user = %click.user_id, "The alert update ran out of time"),
                }
                update_ms = Some(at.elapsed().as_millis() as u64);
            }
        }
        tracing::info!(
            status = reply.response.status_code,
            ack_ms,
            update_ms,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Answered"
        );
        Ok(reply.response)
    }

    fn count_refusal(&self, reason: &'static str) -> u64 {
        let mut counts = self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let n = counts.entry(reason).or_default();
        *n += 1;
        *n
    }

    async fn handle(&self, payload: Value, started: Instant) -> Result<Reply, ActionsError> {
        let request = match serde_json::from_value::<LambdaFunctionUrlRequest>(payload) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(error = %e, "Not a function URL request");
                return Ok(refuse(400, "not a function URL request").into());
            }
        };
        if request.request_context.http.method.as_deref() != Some("POST") {
            return Ok(refuse(405, "only POST is accepted").into());
        }
        let raw = request.body.unwrap_or_default();
        let body = if request.is_base64_encoded {
            match interaction::base64_decode(&raw) {
                Ok(b) => b,
                Err(e) => return Ok(refuse(400, &e.to_string()).into()),
            }
        } else {
            raw.into_bytes()
        };
        let header = |name: &str| request.headers.get(name).and_then(|v| v.to_str().ok());
        let timestamp = header("x-slack-request-timestamp");
        let signature = header("x-slack-signature");
        let at = now();
        if let Err(e) = slack::verify(self.signing_secret.expose(), timestamp, signature, &body, at) {
            // The reason stays in the log: the answer does not say how far the caller's clock is.
            tracing::warn!(reason = %e, "Refused an unsigned or stale request");
            return Ok(refuse(401, slack::SignatureError::PUBLIC).into());
        }
        // Verified: the timestamp is within five minutes, so the signature need only be
        // remembered that long (plus a minute of clock skew). Keyed on the decoded signature,
        // so changing the case of its hex digits is the same request.
        let sent_at = timestamp.and_then(|t| t.trim().parse::<i64>().ok()).unwrap_or(0);
        let expires = Timestamp((sent_at + slack::SIGNATURE_MAX_AGE_SECONDS + 60) * 1000);
        let key = signature.and_then(slack::replay_key).unwrap_or_default();
        if !self.ledger.first_use(&key, expires).await? {
            tracing::warn!("Refused a replayed request");
            return Ok(refuse(401, "request already received (replay)").into());
        }
        let click = match interaction::parse_click(&body) {
            Ok(click) => click,
            Err(e @ (InteractionError::Malformed(_) | InteractionError::Unsupported(_))) => {
                tracing::warn!(error = %e, "Unreadable interaction");
                return Ok(refuse(400, &e.to_string()).into());
            }
            Err(e @ InteractionError::UnknownAction(_)) => {
                tracing::warn!(error = %e, "Unknown action");
                return Ok(refuse(400, &e.to_string()).into());
            }
        };
        if let Err(refused) = self.origin.check(&click) {
            let total = self.count_refusal(refused.reason());
            tracing::warn!(user = %click.user_id, reason = refused.reason(), refused_total = total, error = %refused, "Refused a click from another workspace or app");
            return Ok(refuse(403, &refused.to_string()).into());
        }
        if !click.response_url.starts_with(&self.response_url_prefix) {
            tracing::warn!(user = %click.user_id, "response_url is not a Slack URL");
            return Ok(refuse(400, "response_url is not a Slack response URL").into());
        }
        self.act(click, at, started).await
    }

    async fn act(&self, click: Click, at: Timestamp, started: Instant) -> Result<Reply, ActionsError> {
        let action = click.action.as_str();
        let groups = match tokio::time::timeout(GROUP_BUDGET, self.groups_of(&click)).await {
            Ok(Some(groups)) => groups,
            failed => {
                let why = if failed.is_err() { "timed out" } else { "failed" };
                tracing::warn!(user = %click.user_id, action, why, "Could not read the action's user groups; refused");
                let text = ":hourglass: DriftGuard could not check your Slack user groups just now; nothing was changed. Try again in a moment.";
                return Ok(Reply {
                    response: answer(200, &json!({ "status": "unverified", "action": action })),
                    tell: Some((click, note(text))),
                });
            }
        };
        if let Err(denied) = self.policy.authorise(click.action, &click.user_id, &groups) {
            tracing::warn!(user = %click.user_id, action, "Refused an unauthorised click");
            let text = format!(
                ":no_entry: {denied}: ask an administrator to add you to DriftGuard's allow-list for this action."
            );
            return Ok(Reply {
                response: answer(200, &json!({ "status": "denied", "action": action })),
                tell: Some((click, note(&text))),
            });
        }
        if click.action == Action::Approve {
            return self.approve(click, at).await;
        }
        // Each finding re-read from the table: the button's value is only an id, checked against
        // where the finding was posted and its state.
        let mut findings: Vec<Finding> = Vec::new();
        let mut history: Vec<Decision> = Vec::new();
        for id in &click.finding_ids {
            let finding = self.store.get(id).await?;
            let posted = self.ledger.message(id).await?;
            let decisions = self.ledger.decisions(id).await?;
            if let Err(refused) = interaction::check_target(&click, id, finding.as_ref(), posted.as_ref(), &decisions) {
                return Ok(self.refused(click, &refused));
            }
            if findings.is_empty() {
                history = decisions;
            }
            findings.extend(finding);
        }
        let mut requested = 0;
        let mut recorded = 0;
        for decision in Decision::from_click(&click, at) {
            match self.ledger.record(&decision).await? {
                Recorded::New => {
                    recorded += 1;
                    tracing::info!(finding_id = %decision.finding_id, action, user = %decision.by.user, "Decision recorded");
                    // The decision is also a label for learning (revert, re-apply, acknowledge:
                    // drift; accept: intended; not drift: a false alarm).
                    if let Some(label) = Label::from_decision(&decision) {
                        self.ledger.put_label(&label).await?;
                    }
                    if decision.finding_id == click.finding_ids[0] {
                        history.push(decision.clone());
                    }
                }
                Recorded::Repeat { published: true } => {
                    tracing::info!(finding_id = %decision.finding_id, action, user = %decision.by.user, "Repeated decision; nothing new");
                    continue;
                }
                Recorded::Repeat { published: false } => {
                    tracing::info!(finding_id = %decision.finding_id, action, user = %decision.by.user, "Repeated decision whose request was not published; publishing it");
                }
                Recorded::Taken(held) => {
                    let refused = Refused::Decided {
                        finding_id: decision.finding_id.clone(),
                        decision: held.sentence(),
                    };
                    return Ok(self.refused(click, &refused));
                }
            }
            let Some(request) = decision.remediation_request() else {
                continue;
            };
            // Published once: the decision is marked published after, so a repeat click (Slack
            // showed a failure) publishes only what an earlier click could not.
            let published = tokio::time::timeout(PUBLISH_BUDGET, self.publisher.request(&request)).await;
            if let Err(e) = published
                .map_err(|_| "timed out".to_owned())
                .and_then(|r| r.map_err(|e| e.to_string()))
            {
                tracing::error!(finding_id = %decision.finding_id, action, error = %e, "Could not publish Remediation Requested; the next click retries it");
                let text = format!(":x: DriftGuard recorded your {action} but could not request it just now. Click the button again to retry.");
                return Ok(Reply {
                    response: answer(
                        503,
                        &json!({ "error": "remediation request not published", "action": action }),
                    ),
                    tell: Some((click, note(&text))),
                });
            }
            self.ledger.mark_published(&decision).await?;
            requested += 1;
        }
        let notes: Vec<String> = history.iter().map(Decision::sentence).collect();
        let settled = history.iter().any(|d| d.action.settles());
        let mut message = slack::with_note(slack::render_group(&findings), &notes.join("\n"), settled);
        message["replace_original"] = json!(true);
        tracing::debug!(ms = started.elapsed().as_millis() as u64, "Acknowledging");
        Ok(Reply {
            response: answer(
                200,
                &json!({
                    "status": if recorded > 0 { "recorded" } else { "repeat" },
                    "action": action,
                    "findings": click.finding_ids,
                    "remediation_requested": requested,
                }),
            ),
            tell: Some((click, message)),
        })
    }

    /// An Approve click on an approval prompt: the finding re-read, the click tied to the prompt
    /// posted for its request, the request waiting and not the clicker's own; then `Remediation
    /// Approved` is published with the Slack user as approver. The remediate function counts it
    /// (once per person, only from its approvers list) and runs the plan after the last one; the
    /// prompt is updated from what it publishes. A repeated click publishes again, harmlessly.
    async fn approve(&self, click: Click, at: Timestamp) -> Result<Reply, ActionsError> {
        let finding_id = click.finding_ids[0].clone();
        let request_id = click.request_id.clone().unwrap_or_default();
        let finding = self.store.get(&finding_id).await?;
        let prompt = self.ledger.message(&slack::prompt_key(&request_id)).await?;
        let standing = self.remediations.standing(&finding_id, &request_id).await?;
        if let Err(refused) = interaction::check_approval(&click, finding.as_ref(), prompt.as_ref(), &standing) {
            return Ok(self.refused(click, &refused));
        }
        let Some(approval) = interaction::approval_of(&click, at) else {
            return Ok(refuse(400, "not an approval").into());
        };
        let published = tokio::time::timeout(PUBLISH_BUDGET, self.publisher.approve(&approval)).await;
        if let Err(e) = published
            .map_err(|_| "timed out".to_owned())
            .and_then(|r| r.map_err(|e| e.to_string()))
        {
            tracing::error!(finding_id = %finding_id, request_id = %request_id, error = %e, "Could not publish Remediation Approved");
            let text = ":x: DriftGuard could not pass your approval on just now; nothing was changed. Click Approve again to retry.";
            return Ok(Reply {
                response: answer(503, &json!({ "error": "approval not published", "action": "approve" })),
                tell: Some((click, note(text))),
            });
        }
        tracing::info!(finding_id = %finding_id, request_id = %request_id, user = %click.user_id, "Approval published");
        let text = format!(
            ":ballot_box_with_check: Your approval of `{request_id}` is recorded; this thread shows the count, and the result once the last approval is in."
        );
        Ok(Reply {
            response: answer(
                200,
                &json!({ "status": "approved", "action": "approve", "findings": click.finding_ids, "request_id": request_id }),
            ),
            tell: Some((click, note(&text))),
        })
    }

    /// A refused click: counted, logged, the user told why; nothing recorded or published.
    fn refused(&self, click: Click, refused: &Refused) -> Reply {
        let total = self.count_refusal(refused.reason());
        tracing::warn!(
            user = %click.user_id,
            action = click.action.as_str(),
            reason = refused.reason(),
            refused_total = total,
            error = %refused,
            "Refused a click"
        );
        let status = if matches!(refused, Refused::NotFound(_)) {
            404
        } else {
            200
        };
        Reply {
            response: answer(
                status,
                &json!({ "status": "refused", "reason": refused.reason(), "error": refused.to_string() }),
            ),
            tell: Some((click, note(&refused.user_text()))),
        }
    }

    /// The action's user groups the clicking user is in (looked up only when the user is not
    /// admitted by id; cached for five minutes); `None` when a lookup failed.
    async fn groups_of(&self, click: &Click) -> Option<Vec<String>> {
        let wanted = &self.policy.list(click.action).groups;
        if wanted.is_empty() || self.policy.admits_directly(click.action, &click.user_id) || !self.has_bot {
            return Some(Vec::new());
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
                        tracing::warn!(group = %group, error = %e, "Could not read a user group");
                        return None;
                    }
                },
            };
            if members.contains(&click.user_id) {
                out.push(group.clone());
            }
        }
        Some(out)
    }
}
