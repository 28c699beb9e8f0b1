//! The invocation: unwrap the EventBridge envelope into a [`Notice`] (or a scheduled digest
//! flush), re-read its finding from the table (an event naming a finding the table does not
//! hold, or disagreeing with it, is refused, logged and counted, never posted; what is posted is
//! the stored finding), claim its delivery, ask core for the [`Plan`], carry it out with the
//! Slack client, remember what was posted, and map errors once.

use crate::config::Config;
use driftguard_aws::{
    secret_from, AwsError, Checked, ConfigSource, ConfigWatch, DynamoClient, DynamoLedger, DynamoRemediations,
    DynamoStore, LastGoodConfig, Retry,
};
use driftguard_core::finding::Finding;
use driftguard_core::hotspot;
use driftguard_core::interaction::RequestStanding;
use driftguard_core::metrics::{self, Metrics};
use driftguard_core::notify::{self, Claim, DigestItem, Group, MessageRef, Notice, NotifyLedger, NotifyPolicy, Plan};
use driftguard_core::ports::{DriftEvent, DriftEventKind, FindingStore};
use driftguard_core::remediation::{RemediationPending, RemediationResult, AWAITING_APPROVAL, COMPLETED, FAILED};
use driftguard_core::slack::prompt_key;
use driftguard_core::time::Timestamp;
use driftguard_slack::{Delivery, Message, SlackClient, SlackError};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Deserialize;
use serde_json::{json, Value};

/// How an invocation failed; the error type Lambda reports.
#[derive(Debug, thiserror::Error)]
pub enum NotifyError {
    /// The event cannot be read: retrying will not help.
    #[error("{0}")]
    InvalidInput(String),
    /// Slack rate limits, 5xx, timeouts; DynamoDB throttling; a delivery in progress: retry.
    #[error("{0}")]
    Retryable(String),
    /// Anything else that will fail again (a revoked token, a missing channel, permissions).
    #[error("{0}")]
    NotRetryable(String),
}

impl NotifyError {
    /// The stable error type reported to Lambda.
    pub fn error_type(&self) -> &'static str {
        match self {
            NotifyError::InvalidInput(_) => "InvalidInput",
            NotifyError::Retryable(_) => "Retryable",
            NotifyError::NotRetryable(_) => "NotRetryable",
        }
    }
}

impl From<NotifyError> for Diagnostic {
    fn from(e: NotifyError) -> Self {
        Diagnostic {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

impl From<AwsError> for NotifyError {
    fn from(e: AwsError) -> Self {
        match e.retry() {
            Retry::Retryable => NotifyError::Retryable(e.to_string()),
            Retry::NotRetryable => NotifyError::NotRetryable(e.to_string()),
        }
    }
}

impl From<SlackError> for NotifyError {
    fn from(e: SlackError) -> Self {
        if e.is_retryable() {
            NotifyError::Retryable(e.to_string())
        } else {
            NotifyError::NotRetryable(e.to_string())
        }
    }
}

/// The parts of an EventBridge event this function reads.
#[derive(Deserialize)]
struct Envelope {
    source: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    #[serde(default)]
    detail: Value,
}

/// `detail` of `Drift Detected` / `Drift Resolved`.
#[derive(Deserialize)]
struct DriftDetail {
    key: String,
    finding: Finding,
}

/// The input of the weekly schedule that asks for the hotspot digest:
/// `{"driftguard": "hotspot-digest"}`.
pub const HOTSPOT_DIGEST_INPUT: &str = "hotspot-digest";

/// The resources listed in the hotspot digest.
const HOTSPOT_TOP: usize = 10;

/// What an event asks for.
enum Work {
    Notice(Box<Notice>),
    Flush,
    /// The weekly hotspot digest (the schedule's input: [`HOTSPOT_DIGEST_INPUT`]).
    Hotspots,
    /// An event whose finding is not the stored one.
    Refused(notify::Untrusted),
}

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}

fn message(value: &Value) -> Result<Message, NotifyError> {
    Message::try_from(value).map_err(|e| NotifyError::NotRetryable(format!("rendered message refused: {e}")))
}

/// What a webhook posts: the message without its buttons. A webhook does not say where the
/// message landed, so a click on it could not be tied to its message and would be refused.
fn for_webhook(value: &Value) -> Result<Message, NotifyError> {
    message(&driftguard_core::slack::without_buttons(value.clone()))
}

/// Everything built once per container.
pub struct App {
    slack: SlackClient,
    ledger: DynamoLedger,
    store: DynamoStore,
    /// The remediate function's requests, read to believe an approval prompt.
    remediations: DynamoRemediations,
    /// Routing and thresholds in use: the environment's, with the configuration file's routes
    /// first.
    policy: std::sync::RwLock<NotifyPolicy>,
    /// The environment's routes (`DRIFTGUARD_SLACK_ROUTES`).
    env_routes: Vec<driftguard_core::notify::Route>,
    /// The configuration file (`DRIFTGUARD_CONFIG`), re-read when due; ingest keeps its last
    /// good copy, read here when a bad one is in place at start.
    config_file: Option<tokio::sync::Mutex<ConfigWatch>>,
    /// Shadow mode: plan and log, never post (`DRIFTGUARD_SHADOW_MODE`).
    shadow: bool,
    /// Notices planned and not sent in shadow mode, since the container started (logged).
    shadowed: std::sync::atomic::AtomicU64,
    /// Refused events by reason, since the container started (logged with each refusal).
    refused: std::sync::Mutex<std::collections::BTreeMap<&'static str, u64>>,
}

/// Counts what an invocation's answer says it did: its outcome (`status`, or `failed`) and the
/// Slack messages it posted or updated (an alert, a prompt, an update, the digests it posted).
fn record(result: &Result<Value, NotifyError>, m: &mut Metrics) {
    let Ok(answer) = result else {
        m.add_by(&metrics::NOTICES_BY_OUTCOME, "failed", 1);
        return;
    };
    let status = answer["status"].as_str().unwrap_or_default().replace(' ', "_");
    m.add_by(&metrics::NOTICES_BY_OUTCOME, &status, 1);
    let count = |key: &str| {
        answer[key]
            .as_u64()
            .map_or(0, |n| usize::try_from(n).unwrap_or(usize::MAX))
    };
    let posts = match status.as_str() {
        "posted" | "prompted" | "updated" => 1,
        "digested" => count("digest_posted"),
        "flushed" => count("digests_posted"),
        _ => 0,
    };
    m.add(&metrics::SLACK_POSTS, posts);
}

impl App {
    /// Reads the secrets (environment, else Secrets Manager / SSM) and builds the clients.
    pub async fn build(aws: &aws_config::SdkConfig, config: Config) -> Result<App, NotifyError> {
        let token = secret_from(
            aws,
            config.bot_token.map(|s| s.expose().to_owned()),
            config.bot_token_ref,
        )
        .await?;
        let slack = match token {
            Some(token) => SlackClient::bot(token.expose())?.with_api_base(&config.api_base)?,
            None => {
                let url = secret_from(
                    aws,
                    config.webhook_url.map(|s| s.expose().to_owned()),
                    config.webhook_url_ref,
                )
                .await?
                .ok_or_else(|| NotifyError::NotRetryable("no Slack webhook URL or bot token".into()))?;
                SlackClient::webhook(url.expose())?
            }
        };
        tracing::info!(delivery = %slack.delivery(), routes = config.policy.routes.len(), "Slack notifier ready");
        let dynamo = DynamoClient::new(aws);
        let app = App {
            slack,
            ledger: DynamoLedger::new(dynamo.clone(), &config.table),
            remediations: DynamoRemediations::new(dynamo.clone(), &config.table),
            store: DynamoStore::new(dynamo, &config.table),
            env_routes: config.policy.routes.clone(),
            policy: std::sync::RwLock::new(config.policy),
            config_file: config.config_file.map(|(location, refresh)| {
                tokio::sync::Mutex::new(
                    ConfigWatch::new(
                        ConfigSource::new(aws, driftguard_aws::s3_client(aws, false), location),
                        LastGoodConfig::new(DynamoClient::new(aws), &config.table),
                        refresh,
                    )
                    .reading_only(),
                )
            }),
            shadow: config.shadow,
            shadowed: std::sync::atomic::AtomicU64::new(0),
            refused: std::sync::Mutex::new(std::collections::BTreeMap::new()),
        };
        if let Some(watch) = &app.config_file {
            let mut watch = watch.lock().await;
            let file = watch
                .start()
                .await
                .map_err(|e| NotifyError::NotRetryable(format!("configuration {}: {e}", watch.location())))?;
            app.set_routes(&file.routes);
        }
        Ok(app)
    }

    /// The policy in use with `routes` (the configuration file's) before the environment's.
    fn set_routes(&self, routes: &[driftguard_core::notify::Route]) {
        if let Ok(mut policy) = self.policy.write() {
            policy.routes = routes.iter().chain(&self.env_routes).cloned().collect();
            tracing::info!(
                routes = policy.routes.len(),
                from_file = routes.len(),
                "Slack routes in use"
            );
        }
    }

    /// Reads the configuration file when due (once per invocation, before any notice is
    /// planned, so one invocation plans with one policy).
    async fn refresh_policy(&self) {
        if let Some(watch) = &self.config_file {
            if let Checked::Changed(file) = watch.lock().await.check().await {
                self.set_routes(&file.routes);
            }
        }
    }

    /// The policy in use.
    fn policy(&self) -> NotifyPolicy {
        match self.policy.read() {
            Ok(p) => p.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// One invocation; its metrics are printed as one line whatever the outcome.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, NotifyError> {
        let mut metrics = Metrics::new(metrics::NOTIFY_SLACK);
        let started = std::time::Instant::now();
        let result = self.handle(event).await;
        metrics.time("notify", started.elapsed());
        record(&result, &mut metrics);
        driftguard_aws::emit_metrics(&metrics);
        result
    }

    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, NotifyError> {
        self.refresh_policy().await;
        match self.read(event.payload).await? {
            Work::Flush if self.shadow => {
                tracing::info!("Shadow mode: digests are not flushed");
                Ok(json!({ "status": "shadow", "digests_posted": 0 }))
            }
            Work::Flush => {
                let posted = self.flush_due(now()).await?;
                Ok(json!({ "status": "flushed", "digests_posted": posted }))
            }
            Work::Hotspots if self.shadow => {
                tracing::info!("Shadow mode: the hotspot digest is not posted");
                Ok(json!({ "status": "shadow", "hotspot_digest": false }))
            }
            Work::Hotspots => self.hotspots(now()).await,
            Work::Notice(notice) => self.notify(&notice).await,
            Work::Refused(untrusted) => {
                let total = {
                    let mut counts = self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    let n = counts.entry(untrusted.reason()).or_default();
                    *n += 1;
                    *n
                };
                tracing::warn!(
                    reason = untrusted.reason(),
                    refused_total = total,
                    error = %untrusted,
                    "Refused an event that does not match the table; nothing posted"
                );
                Ok(json!({ "status": "refused", "reason": untrusted.reason(), "error": untrusted.to_string() }))
            }
        }
    }

    async fn read(&self, event: Value) -> Result<Work, NotifyError> {
        if event.get("driftguard").and_then(Value::as_str) == Some(HOTSPOT_DIGEST_INPUT) {
            return Ok(Work::Hotspots);
        }
        let envelope: Envelope = serde_json::from_value(event)
            .map_err(|e| NotifyError::InvalidInput(format!("not an EventBridge event: {e}")))?;
        let detail_type = envelope.detail_type.as_deref().unwrap_or("");
        if envelope.source.as_deref() == Some("aws.events") && detail_type == "Scheduled Event" {
            return Ok(Work::Flush);
        }
        if envelope.source.as_deref() != Some("driftguard") {
            return Err(NotifyError::InvalidInput(format!(
                "unexpected event source {:?} (expected driftguard)",
                envelope.source
            )));
        }
        let notice = match detail_type {
            "Drift Detected" | "Drift Resolved" => {
                let detail: DriftDetail = serde_json::from_value(envelope.detail)
                    .map_err(|e| NotifyError::InvalidInput(format!("{detail_type} detail: {e}")))?;
                let kind = if detail_type == "Drift Detected" {
                    DriftEventKind::Detected
                } else {
                    DriftEventKind::Resolved
                };
                let event = DriftEvent {
                    kind,
                    key: detail.key,
                    finding: detail.finding,
                };
                let stored = self.store.get(&event.finding.id).await?;
                match notify::verified_drift(&event, stored.as_ref()) {
                    Ok(notice) => notice,
                    Err(untrusted) => return Ok(Work::Refused(untrusted)),
                }
            }
            COMPLETED | FAILED => {
                let result: RemediationResult = serde_json::from_value(envelope.detail)
                    .map_err(|e| NotifyError::InvalidInput(format!("{detail_type} detail: {e}")))?;
                if result.outcome.detail_type() != detail_type {
                    return Err(NotifyError::InvalidInput(format!(
                        "{detail_type} carries outcome {:?}",
                        result.outcome.as_str()
                    )));
                }
                let Some(finding) = self.store.get(&result.finding_id).await? else {
                    return Ok(Work::Refused(notify::Untrusted::NotStored(result.finding_id)));
                };
                Notice::Remediation {
                    result,
                    finding: Some(Box::new(finding)),
                }
            }
            AWAITING_APPROVAL => {
                let pending: RemediationPending = serde_json::from_value(envelope.detail)
                    .map_err(|e| NotifyError::InvalidInput(format!("{detail_type} detail: {e}")))?;
                let Some(finding) = self.store.get(&pending.finding_id).await? else {
                    return Ok(Work::Refused(notify::Untrusted::NotStored(pending.finding_id)));
                };
                // A prompt is posted only for a request the remediate function holds, waiting,
                // as the event describes it: an Approve button for anything else would be a lie.
                let standing = self
                    .remediations
                    .standing(&pending.finding_id, &pending.request_id)
                    .await?;
                let believed = matches!(standing, RequestStanding::Awaiting(request)
                    if request.action == pending.action && request.requested_by == pending.requested_by);
                if !believed {
                    return Ok(Work::Refused(notify::Untrusted::Differs {
                        id: pending.finding_id,
                        field: "request",
                    }));
                }
                Notice::Approval {
                    pending,
                    finding: Box::new(finding),
                }
            }
            other => {
                return Err(NotifyError::InvalidInput(format!(
                "unexpected detail-type {other:?} (expected Drift Detected, Drift Resolved, {COMPLETED}, {FAILED} or {AWAITING_APPROVAL})"
            )))
            }
        };
        Ok(Work::Notice(Box::new(notice)))
    }

    async fn notify(&self, notice: &Notice) -> Result<Value, NotifyError> {
        if self.shadow {
            return self.shadow(notice).await;
        }
        let key = notice.key();
        let started = now();
        match self.ledger.begin(&key, started).await? {
            Claim::Done => {
                tracing::info!(key = %key, "Already delivered; nothing to do");
                return Ok(json!({ "status": "duplicate", "key": key }));
            }
            Claim::Busy => {
                return Err(NotifyError::Retryable(format!(
                    "another delivery of {key} is in progress"
                )))
            }
            Claim::Fresh => {}
        }
        match self.carry_out(notice, &key, started).await {
            Ok(summary) => {
                self.ledger.finish(&key, now()).await?;
                Ok(summary)
            }
            Err(e) => {
                if let Err(release) = self.ledger.release(&key).await {
                    tracing::warn!(key = %key, error = %release, "Could not release the delivery claim");
                }
                tracing::error!(key = %key, error = %e, "Slack delivery failed");
                Err(e)
            }
        }
    }

    /// What the ledger knows that bears on a notice: its message, burst group, approval prompt.
    async fn known_for(&self, notice: &Notice) -> Result<notify::Known, NotifyError> {
        // The message and the burst group are read together (one round trip's wait, not two).
        let group = async {
            match notice.finding() {
                Some(f) => self.ledger.group(&notify::group_key(f)).await,
                None => Ok(None),
            }
        };
        let (message, group) = tokio::join!(self.ledger.message(notice.finding_id()), group);
        let mut known = notify::Known {
            message: message?,
            group: group?,
            prompt: None,
        };
        let request_id = match notice {
            Notice::Approval { pending, .. } => Some(pending.request_id.as_str()),
            Notice::Remediation { result, .. } => result.request_id.as_deref(),
            Notice::Drift(_) => None,
        };
        if let Some(id) = request_id {
            known.prompt = self.ledger.message(&prompt_key(id)).await?;
        }
        Ok(known)
    }

    /// Shadow mode: the notice is verified and planned as usual, and what would be sent is
    /// logged and counted; nothing is posted, queued or remembered.
    async fn shadow(&self, notice: &Notice) -> Result<Value, NotifyError> {
        let key = notice.key();
        let known = self.known_for(notice).await?;
        let can_update = self.slack.delivery() == Delivery::Bot;
        let policy = self.policy();
        let plan = notify::plan(notice, &policy, &known, can_update);
        let (would, channel) = plan.summary();
        let total = self.shadowed.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        tracing::info!(key = %key, would = %would, channel = channel.unwrap_or(""), shadow_total = total, "Shadow mode: not sent to Slack");
        Ok(json!({ "status": "shadow", "key": key, "would": would, "channel": channel }))
    }

    async fn carry_out(&self, notice: &Notice, key: &str, now: Timestamp) -> Result<Value, NotifyError> {
        let finding_id = notice.finding_id().to_owned();
        let known = self.known_for(notice).await?;
        let can_update = self.slack.delivery() == Delivery::Bot;
        if let Some((prompt, closed)) = notify::prompt_to_close(notice, &known, can_update) {
            self.slack
                .update_message(&prompt.channel, &prompt.ts, &message(&closed)?)
                .await?;
        }
        let policy = self.policy();
        let plan = notify::plan(notice, &policy, &known, can_update);
        match plan {
            Plan::Skip(reason) => {
                tracing::info!(key = %key, reason = reason.as_str(), "Not posted");
                Ok(json!({ "status": "skipped", "key": key, "reason": reason.as_str() }))
            }
            Plan::Digest { channel } => {
                let f = notice
                    .finding()
                    .ok_or_else(|| NotifyError::NotRetryable("a digest entry needs its finding".into()))?;
                self.ledger.enqueue(&channel, &DigestItem::new(key, f, now)).await?;
                let posted = self.flush(&channel, now, false).await?;
                tracing::info!(key = %key, channel = %channel, digest_posted = posted, "Queued for the digest");
                Ok(json!({ "status": "digested", "key": key, "digest_posted": posted }))
            }
            Plan::Post {
                channel,
                message: m,
                group,
            } => {
                let posted = match self.slack.delivery() {
                    Delivery::Webhook => {
                        self.slack.send_webhook(&for_webhook(&m)?).await?;
                        None
                    }
                    Delivery::Bot => {
                        let p = self.slack.post_message(&channel, &message(&m)?, None).await?;
                        Some(MessageRef {
                            channel: p.channel,
                            ts: p.ts,
                        })
                    }
                };
                if let Some(posted) = &posted {
                    self.ledger.save_message(&finding_id, posted).await?;
                    if let Some((group_key, findings)) = group {
                        let last_at = findings.iter().map(|f| f.call.time).max().unwrap_or(now);
                        self.ledger
                            .save_group(&Group {
                                key: group_key,
                                message: posted.clone(),
                                findings,
                                last_at,
                            })
                            .await?;
                    }
                }
                tracing::info!(key = %key, channel = %channel, ts = posted.as_ref().map_or("", |p| p.ts.as_str()), "Posted");
                Ok(
                    json!({ "status": "posted", "key": key, "channel": posted.as_ref().map_or(channel.as_str(), |p| p.channel.as_str()), "ts": posted.as_ref().map(|p| p.ts.clone()) }),
                )
            }
            Plan::Prompt {
                channel,
                thread,
                existing,
                request_id,
                message: m,
            } => {
                let m = message(&m)?;
                let at = match existing {
                    Some(prompt) => {
                        self.slack.update_message(&prompt.channel, &prompt.ts, &m).await?;
                        prompt
                    }
                    None => {
                        let p = self.slack.post_message(&channel, &m, thread.as_deref()).await?;
                        let posted = MessageRef {
                            channel: p.channel,
                            ts: p.ts,
                        };
                        self.ledger.save_message(&prompt_key(&request_id), &posted).await?;
                        posted
                    }
                };
                tracing::info!(key = %key, request_id = %request_id, channel = %at.channel, ts = %at.ts, "Approval prompt shown");
                Ok(json!({ "status": "prompted", "key": key, "channel": at.channel, "ts": at.ts }))
            }
            Plan::Update {
                target,
                message: m,
                reply,
                group,
            } => {
                if let Some(m) = m {
                    self.slack
                        .update_message(&target.channel, &target.ts, &message(&m)?)
                        .await?;
                }
                if let Some(reply) = reply {
                    self.slack
                        .post_message(&target.channel, &message(&reply)?, Some(&target.ts))
                        .await?;
                }
                if let Some(group) = group {
                    self.ledger.save_group(&group).await?;
                }
                self.ledger.save_message(&finding_id, &target).await?;
                tracing::info!(key = %key, channel = %target.channel, ts = %target.ts, "Updated");
                Ok(json!({ "status": "updated", "key": key, "channel": target.channel, "ts": target.ts }))
            }
        }
    }

    /// Posts every channel's digest that is due.
    /// Posts the week's hotspot digest to the default channel (or the webhook's), once per week
    /// (claimed on the week), ranked from every finding in the table.
    async fn hotspots(&self, now: Timestamp) -> Result<Value, NotifyError> {
        let policy = self.policy();
        let channel = match (self.slack.delivery(), &policy.default_channel) {
            (Delivery::Webhook, _) => None,
            (Delivery::Bot, Some(c)) => Some(c.clone()),
            (Delivery::Bot, None) => {
                tracing::warn!("No default channel (DRIFTGUARD_SLACK_CHANNEL): the hotspot digest has nowhere to go");
                return Ok(json!({ "status": "skipped", "reason": "no default channel" }));
            }
        };
        const WEEK_MS: i64 = 7 * 86_400_000;
        let claim = format!("hotspots:{}", now.0.div_euclid(WEEK_MS));
        match self.ledger.begin(&claim, now).await? {
            Claim::Fresh => {}
            Claim::Done | Claim::Busy => return Ok(json!({ "status": "already posted", "claim": claim })),
        }
        let findings = match self.store.list(&driftguard_core::ports::Query::default()).await {
            Ok(f) => f,
            Err(e) => {
                self.ledger.release(&claim).await?;
                return Err(e.into());
            }
        };
        let ranking = hotspot::rank(&hotspot::activity(&findings), now, &hotspot::Options::default());
        let m = message(&hotspot::render_digest(&ranking, HOTSPOT_TOP))?;
        let sent = match &channel {
            None => self.slack.send_webhook(&m).await,
            Some(c) => self.slack.post_message(c, &m, None).await.map(|_| ()),
        };
        if let Err(e) = sent {
            self.ledger.release(&claim).await?;
            return Err(e.into());
        }
        self.ledger.finish(&claim, now).await?;
        tracing::info!(
            resources = ranking.resources.len(),
            findings = findings.len(),
            "Hotspot digest posted"
        );
        Ok(json!({ "status": "posted", "resources": ranking.resources.len() }))
    }

    async fn flush_due(&self, now: Timestamp) -> Result<usize, NotifyError> {
        let mut posted = 0;
        for channel in self.policy().channels() {
            posted += self.flush(&channel, now, false).await?;
        }
        Ok(posted)
    }

    /// Posts the channel's digest when due (or when `force`): claimed on its content, so two
    /// flushes of the same queue post once. Returns how many digests were posted (0 or 1).
    async fn flush(&self, channel: &str, now: Timestamp, force: bool) -> Result<usize, NotifyError> {
        let items = self.ledger.queued(channel).await?;
        if items.is_empty() || !(force || notify::digest_due(&items, &self.policy(), now)) {
            return Ok(0);
        }
        let keys: Vec<String> = items.iter().map(|i| i.key.clone()).collect();
        let key_refs: Vec<&str> = keys.iter().map(String::as_str).collect();
        let claim = format!("digest:{channel}:{:016x}", driftguard_core::fnv::hash_parts(&key_refs));
        match self.ledger.begin(&claim, now).await? {
            Claim::Fresh => {}
            Claim::Done => {
                self.ledger.dequeue(channel, &keys).await?;
                return Ok(0);
            }
            Claim::Busy => return Ok(0),
        }
        let findings = notify::digest_findings(&items);
        let m = message(&driftguard_core::slack::render_digest(&findings))?;
        let sent = match self.slack.delivery() {
            Delivery::Webhook => self.slack.send_webhook(&m).await,
            Delivery::Bot => self.slack.post_message(channel, &m, None).await.map(|_| ()),
        };
        if let Err(e) = sent {
            self.ledger.release(&claim).await?;
            return Err(e.into());
        }
        self.ledger.finish(&claim, now).await?;
        self.ledger.dequeue(channel, &keys).await?;
        tracing::info!(channel = %channel, findings = keys.len(), "Digest posted");
        Ok(1)
    }
}
