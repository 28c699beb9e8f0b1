//! One invocation: unwrap the EventBridge envelope, trust the table (the finding as stored, the
//! request as claimed), let core's gate decide, act through the adapters, put every step on the
//! finding's trail and publish how it ended.

use crate::config::Config;
use driftguard_aws::{
    execute, kill_switch, own_account, plan_revert, read_secret, session_for, AwsError, DynamoRemediations,
    DynamoStore, EventBridgePublisher, Remediator, RequestState, Retry,
};
use driftguard_core::finding::{Finding, IacChange};
use driftguard_core::metrics::{self, Metrics};
use driftguard_core::ports::{Change, DriftEvent, FindingStore};
use driftguard_core::remediation::audit::{AuditEntry, Step};
use driftguard_core::remediation::plan::Call;
use driftguard_core::remediation::safety::{self, Approval, Counts, Gate, SafetyPolicy};
use driftguard_core::remediation::{
    RemediationAction, RemediationApproval, RemediationOutcome, RemediationPending, RemediationRequest,
    RemediationResult, APPROVED, REQUESTED,
};
use driftguard_core::time::Timestamp;
use driftguard_pipelines::{Executed, PipelineClient};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Deserialize;
use serde_json::{json, Value};

/// Who carries remediations out, as results name it.
pub const WORKER: &str = "driftguard-remediate";

/// Why an invocation failed.
#[derive(Debug, thiserror::Error)]
pub enum RemediateError {
    /// The event is not one this function handles; retrying cannot help.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// AWS failed in a way a retry may fix (nothing was executed yet, or the claim shows it).
    #[error(transparent)]
    Aws(#[from] AwsError),
    /// The function could not start.
    #[error("init: {0}")]
    Init(String),
}

impl RemediateError {
    /// The stable error type reported to Lambda.
    pub fn error_type(&self) -> &'static str {
        match self {
            RemediateError::InvalidInput(_) => "InvalidInput",
            RemediateError::Aws(e) if e.retry() == Retry::Retryable => "Retryable",
            RemediateError::Aws(_) => "NotRetryable",
            RemediateError::Init(_) => "Init",
        }
    }
}

impl From<RemediateError> for Diagnostic {
    fn from(e: RemediateError) -> Self {
        Diagnostic {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Envelope {
    source: Option<String>,
    #[serde(rename = "detail-type")]
    detail_type: Option<String>,
    #[serde(default)]
    detail: Value,
}

fn now() -> Timestamp {
    Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}

/// The function's clients and settings, built once.
pub struct App {
    aws: aws_config::SdkConfig,
    own_account: String,
    store: DynamoStore,
    ledger: DynamoRemediations,
    publisher: EventBridgePublisher,
    pipelines_client: PipelineClient,
    config: Config,
}

/// One request in flight.
struct Job {
    request: RemediationRequest,
    id: String,
    finding: Finding,
}

impl App {
    /// Clients from the SDK configuration.
    pub async fn build(aws: &aws_config::SdkConfig, config: Config) -> Result<App, RemediateError> {
        let own_account = own_account(aws).await?;
        Ok(App {
            store: DynamoStore::new(driftguard_aws::DynamoClient::new(aws), &config.table),
            ledger: DynamoRemediations::new(driftguard_aws::DynamoClient::new(aws), &config.table),
            publisher: EventBridgePublisher::new(driftguard_aws::EventBridgeClient::new(aws), &config.bus),
            pipelines_client: PipelineClient::new().map_err(|e| RemediateError::Init(e.to_string()))?,
            aws: aws.clone(),
            own_account,
            config,
        })
    }

    fn policy(&self) -> &SafetyPolicy {
        &self.config.policy
    }

    /// Handles one event; its metrics are printed as one line whatever the outcome (the
    /// answer's `status`, or `error`).
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, RemediateError> {
        let mut metrics = Metrics::new(metrics::REMEDIATE);
        let started = std::time::Instant::now();
        let result = self.handle(event).await;
        metrics.time("remediate", started.elapsed());
        let status = match &result {
            Ok(answer) => answer["status"].as_str().unwrap_or_default(),
            Err(_) => "error",
        };
        metrics.add_by(&metrics::REMEDIATIONS_BY_OUTCOME, status, 1);
        metrics.add(
            &metrics::REMEDIATIONS,
            usize::from(matches!(status, "completed" | "failed")),
        );
        driftguard_aws::emit_metrics(&metrics);
        result
    }

    async fn handle(&self, event: LambdaEvent<Value>) -> Result<Value, RemediateError> {
        let envelope: Envelope = serde_json::from_value(event.payload)
            .map_err(|e| RemediateError::InvalidInput(format!("not an EventBridge event: {e}")))?;
        if envelope.source.as_deref() != Some("driftguard") {
            return Err(RemediateError::InvalidInput(format!(
                "source {:?} is not driftguard: only DriftGuard's own events are acted on",
                envelope.source.as_deref().unwrap_or("")
            )));
        }
        let detail = envelope.detail;
        match envelope.detail_type.as_deref().unwrap_or("") {
            REQUESTED => {
                let request: RemediationRequest = serde_json::from_value(detail)
                    .map_err(|e| RemediateError::InvalidInput(format!("{REQUESTED}: {e}")))?;
                if request.schema_version != 1 {
                    return Err(RemediateError::InvalidInput(format!(
                        "{REQUESTED}: schema_version {} is not 1",
                        request.schema_version
                    )));
                }
                self.request(request).await
            }
            APPROVED => {
                let approval: RemediationApproval = serde_json::from_value(detail)
                    .map_err(|e| RemediateError::InvalidInput(format!("{APPROVED}: {e}")))?;
                self.approve(approval).await
            }
            "Drift Detected" => {
                let event: DriftEvent = serde_json::from_value(detail)
                    .map_err(|e| RemediateError::InvalidInput(format!("Drift Detected: {e}")))?;
                self.auto(&event).await
            }
            other => Err(RemediateError::InvalidInput(format!(
                "unexpected detail-type {other:?} (expected {REQUESTED}, {APPROVED} or Drift Detected)"
            ))),
        }
    }

    /// An opt-in automatic rule on a newly detected finding, as stored.
    async fn auto(&self, event: &DriftEvent) -> Result<Value, RemediateError> {
        if self.policy().auto.is_empty() {
            return Ok(json!({"status": "skipped", "message": "no automatic rules"}));
        }
        let Some(finding) = self.store.get(&event.finding.id).await? else {
            return Err(RemediateError::InvalidInput(format!(
                "finding {} is not in the table",
                event.finding.id
            )));
        };
        // The request time is the change's, so a redelivered event makes the same request.
        match self.policy().auto_request(&finding, finding.call.time) {
            Some(request) if finding.status == driftguard_core::finding::Status::Open => self.request(request).await,
            _ => Ok(json!({"status": "skipped", "message": "no automatic rule matches"})),
        }
    }

    async fn request(&self, request: RemediationRequest) -> Result<Value, RemediateError> {
        let id = safety::request_id(&request);
        let Some(finding) = self.store.get(&request.finding_id).await? else {
            let result = self.result(
                &request,
                &id,
                RemediationOutcome::Failed,
                format!("finding {} is not in the table", request.finding_id),
            );
            self.publisher.publish_result(&result).await?;
            return Ok(json!({"status": "failed", "request_id": id, "message": result.message}));
        };
        match self.ledger.claim(&id, &request).await? {
            None | Some(RequestState::Claimed) => {}
            Some(RequestState::Done) => return Ok(json!({"status": "duplicate", "request_id": id})),
            Some(RequestState::Awaiting) => return Ok(json!({"status": "awaiting_approval", "request_id": id})),
            Some(RequestState::Executing) => {
                let job = Job { request, id, finding };
                return self
                    .finish(
                        &job,
                        RemediationOutcome::Failed,
                        "an earlier attempt of this request started executing and did not finish: the trail (driftguard findings show) lists the calls it made; request again to retry".into(),
                        Vec::new(),
                    )
                    .await;
            }
        }
        let job = Job { request, id, finding };
        self.trail(
            &job,
            Step::Requested {
                request: job.request.clone(),
            },
        )
        .await?;
        self.decide(&job).await
    }

    async fn approve(&self, approval: RemediationApproval) -> Result<Value, RemediateError> {
        let Some((request, state)) = self.ledger.request(&approval.finding_id, &approval.request_id).await? else {
            return Err(RemediateError::InvalidInput(format!(
                "no request {} on finding {}",
                approval.request_id, approval.finding_id
            )));
        };
        if state != RequestState::Awaiting {
            return Ok(json!({"status": "not_awaiting", "request_id": approval.request_id}));
        }
        if !self.policy().approvers.contains(&approval.approver) {
            return Ok(json!({
                "status": "refused",
                "request_id": approval.request_id,
                "message": format!("{} is not on the approvers list", approval.approver),
            }));
        }
        let Some(finding) = self.store.get(&approval.finding_id).await? else {
            return Err(RemediateError::InvalidInput(format!(
                "finding {} is not in the table",
                approval.finding_id
            )));
        };
        let job = Job {
            request,
            id: approval.request_id.clone(),
            finding,
        };
        let entry = Approval {
            approver: approval.approver.clone(),
            at: approval.at,
        };
        if self.ledger.approve(&job.finding.id, &job.id, &entry).await? {
            self.trail(
                &job,
                Step::Approved {
                    approver: entry.approver,
                },
            )
            .await?;
        }
        self.decide(&job).await
    }

    async fn decide(&self, job: &Job) -> Result<Value, RemediateError> {
        let kill = match &self.config.kill_switch {
            None => false,
            // Fail closed: a kill switch that cannot be read stops executions.
            Some(name) => kill_switch(&self.aws, name).await.unwrap_or_else(|e| {
                tracing::error!(error = %e, "the kill switch could not be read; treating it as on");
                true
            }),
        };
        let counts = Counts {
            executed_this_hour: self
                .ledger
                .executed_this_hour(&job.finding.resource.account, now())
                .await?,
            kill_switch: kill,
        };
        let approvals = self.ledger.approvals(&job.finding.id, &job.id).await?;
        let gate = safety::gate(self.policy(), &job.request, &job.finding, &approvals, counts);
        self.trail(job, Step::Gated { gate: gate.clone() }).await?;
        match job.request.action {
            RemediationAction::Revert => self.revert(job, gate).await,
            RemediationAction::Reapply => self.reapply(job, gate).await,
            RemediationAction::Accept => self.accept(job, gate).await,
        }
    }

    /// The gate's non-executing answers; `None` means execute (the cap already counted).
    async fn hold(
        &self,
        job: &Job,
        gate: &Gate,
        calls: &[Call],
        dry_run_detail: String,
    ) -> Result<Option<Value>, RemediateError> {
        match gate {
            Gate::DryRun { reason } => {
                let mut result = self.result(
                    &job.request,
                    &job.id,
                    RemediationOutcome::Completed,
                    format!("nothing changed ({reason}). {dry_run_detail}"),
                );
                result.dry_run = true;
                result.calls = calls.to_vec();
                self.settle(job, result).await.map(Some)
            }
            Gate::AwaitApprovals { required, approved_by } => {
                self.ledger
                    .set_state(&job.finding.id, &job.id, RequestState::Awaiting)
                    .await?;
                // notify-slack posts (then updates) the prompt with its Approve button; the same
                // count published again is the same notification.
                let pending = RemediationPending {
                    schema_version: 1,
                    finding_id: job.finding.id.clone(),
                    request_id: job.id.clone(),
                    action: job.request.action,
                    requested_by: job.request.requested_by.clone(),
                    required: *required,
                    approved_by: approved_by.clone(),
                    calls: calls.to_vec(),
                    at: now(),
                };
                self.publisher.publish_pending(&pending).await?;
                Ok(Some(json!({
                    "status": "awaiting_approval",
                    "request_id": job.id,
                    "message": gate.to_string(),
                    "calls": calls,
                })))
            }
            Gate::Refuse { reason } => self
                .finish(job, RemediationOutcome::Failed, reason.clone(), Vec::new())
                .await
                .map(Some),
            Gate::Execute => {
                let cap = self.policy().hourly_cap;
                if !self
                    .ledger
                    .count_execution(&job.finding.resource.account, now(), cap)
                    .await?
                {
                    let reason = format!(
                        "the cap of {cap} executed remediations per hour in account {} is reached; try again next hour or raise the cap",
                        job.finding.resource.account
                    );
                    return self
                        .finish(job, RemediationOutcome::Failed, reason, Vec::new())
                        .await
                        .map(Some);
                }
                self.ledger
                    .set_state(&job.finding.id, &job.id, RequestState::Executing)
                    .await?;
                Ok(None)
            }
        }
    }

    async fn revert(&self, job: &Job, gate: Gate) -> Result<Value, RemediateError> {
        if let Gate::Refuse { reason } = &gate {
            return self
                .finish(job, RemediationOutcome::Failed, reason.clone(), Vec::new())
                .await;
        }
        let session = match session_for(&self.aws, &self.own_account, &self.config.member_role, &job.finding).await {
            Ok(s) => s,
            Err(e) => {
                return self
                    .finish(job, RemediationOutcome::Failed, e.to_string(), Vec::new())
                    .await
            }
        };
        let remediator = Remediator::new(&session, self.config.path_style);
        let mut assumed = "";
        let planned = match plan_revert(&remediator, &job.finding).await {
            Ok((planned, _)) => planned,
            Err(e) if e.retry() == Retry::Retryable => return Err(e.into()),
            // A type not enabled has no grant to read either: the dry run plans against the
            // values the finding found, and says so.
            Err(e) if matches!(gate, Gate::DryRun { .. }) => {
                tracing::info!(error = %e, "the live values could not be read for a dry run; planning against the finding");
                assumed = " The live values could not be read (the role holds no grant for this type), so the plan assumes the resource is still as the finding found it.";
                driftguard_core::remediation::plan::revert(
                    &job.finding,
                    &driftguard_core::remediation::plan::as_found(&job.finding),
                )
            }
            Err(e) => {
                return self
                    .finish(
                        job,
                        RemediationOutcome::Failed,
                        format!("reading the live values failed: {e}"),
                        Vec::new(),
                    )
                    .await
            }
        };
        let plan = match planned {
            Ok(plan) => plan,
            Err(refusal) => {
                let message = refusal.to_string();
                self.trail(
                    job,
                    Step::Refused {
                        refusal,
                        message: message.clone(),
                    },
                )
                .await?;
                return self.finish(job, RemediationOutcome::Failed, message, Vec::new()).await;
            }
        };
        self.trail(job, Step::Planned { plan: plan.clone() }).await?;
        let described = driftguard_core::remediation::plan::describe(&plan.calls);
        if let Some(held) = self
            .hold(job, &gate, &plan.calls, format!("Would make: {described}.{assumed}"))
            .await?
        {
            return Ok(held);
        }
        let execution = execute(&remediator, &job.finding, &plan).await;
        for step in &execution.steps {
            self.trail(job, step.clone()).await?;
        }
        if execution.ok {
            let after = plan
                .after
                .iter()
                .map(|(k, v)| format!("{k} is {v}"))
                .collect::<Vec<_>>()
                .join("; ");
            self.finish(
                job,
                RemediationOutcome::Completed,
                format!("{described}; {after}, as IaC declares"),
                plan.calls.clone(),
            )
            .await
        } else {
            let error = execution.error.unwrap_or_else(|| "the revert did not complete".into());
            self.finish(job, RemediationOutcome::Failed, error, plan.calls.clone())
                .await
        }
    }

    async fn reapply(&self, job: &Job, gate: Gate) -> Result<Value, RemediateError> {
        let Some(routes) = &self.config.pipelines else {
            return self
                .finish(
                    job,
                    RemediationOutcome::Failed,
                    "no pipeline is configured (DRIFTGUARD_REMEDIATION_PIPELINES): DriftGuard does not know which pipeline applies this state".into(),
                    Vec::new(),
                )
                .await;
        };
        let call = match routes.reapply_call(&job.finding, &job.request) {
            Ok(c) => c,
            Err(refusal) => {
                return self
                    .finish(job, RemediationOutcome::Failed, refusal.to_string(), Vec::new())
                    .await
            }
        };
        let target = format!("{} {}", call.method, call.url);
        if let Some(held) = self
            .hold(job, &gate, &[], format!("Would send {target} with {}", call.body))
            .await?
        {
            return Ok(held);
        }
        let secret = match read_secret(&self.aws, call.secret_ref()).await {
            Ok(s) => s,
            Err(e) => {
                return self
                    .finish(
                        job,
                        RemediationOutcome::Failed,
                        format!("the pipeline credential could not be read: {e}"),
                        Vec::new(),
                    )
                    .await
            }
        };
        match self.pipelines_client.execute(&call, &secret).await {
            Ok(Executed::Dispatched { run_url, .. }) => {
                self.trail(
                    job,
                    Step::Dispatched {
                        target: target.clone(),
                        run_url: run_url.clone(),
                    },
                )
                .await?;
                let mut result = self.result(
                    &job.request,
                    &job.id,
                    RemediationOutcome::Completed,
                    format!(
                        "started the pipeline ({target}){}; the finding resolves when its apply is seen",
                        run_url.as_deref().map(|u| format!(": {u}")).unwrap_or_default()
                    ),
                );
                result.run_url = run_url;
                self.settle(job, result).await
            }
            Ok(other) => {
                self.finish(
                    job,
                    RemediationOutcome::Failed,
                    format!("unexpected answer from the pipeline: {other:?}"),
                    Vec::new(),
                )
                .await
            }
            Err(e) => {
                self.finish(
                    job,
                    RemediationOutcome::Failed,
                    format!("the pipeline was not started: {e}"),
                    Vec::new(),
                )
                .await
            }
        }
    }

    async fn accept(&self, job: &Job, gate: Gate) -> Result<Value, RemediateError> {
        let hcl = driftguard_core::remediation::codify::hcl(&job.finding);
        let baseline = job.finding.as_baseline();
        if baseline.is_empty() {
            return self
                .finish(
                    job,
                    RemediationOutcome::Failed,
                    "the finding compared no attribute, so there is no value to accept as the baseline".into(),
                    Vec::new(),
                )
                .await;
        }
        if let Some(held) = self
            .hold(
                job,
                &gate,
                &[],
                format!("Would accept {} as the baseline", describe_baseline(&job.finding)),
            )
            .await?
        {
            return Ok(held);
        }
        let event_id = format!("{}{}", driftguard_core::finding::ACCEPT_PREFIX, job.id);
        let change = Change::Iac(IacChange {
            resource_key: job.finding.resource.key(),
            event_id: event_id.clone(),
            time: now(),
            by: format!("accepted by {} in DriftGuard", job.request.requested_by.user),
            restores: baseline,
            finding: Some(job.finding.id.clone()),
            baseline: true,
        });
        driftguard_core::service::handle_change(&self.store, &self.publisher, &event_id, &change)
            .await
            .map_err(|e| match e {
                driftguard_core::service::ServiceError::Store { source, .. } => RemediateError::Aws(source),
                driftguard_core::service::ServiceError::Publish { source, .. } => RemediateError::Aws(source),
            })?;
        let mut issue_url = None;
        let mut note = String::new();
        if let Some(call) = self
            .config
            .pipelines
            .as_ref()
            .and_then(|r| r.accept_issue_call(&job.finding, &job.request, hcl.as_deref()).ok())
        {
            match read_secret(&self.aws, call.secret_ref()).await {
                Ok(secret) => match self.pipelines_client.execute(&call, &secret).await {
                    Ok(Executed::IssueOpened { html_url, .. }) => issue_url = Some(html_url),
                    Ok(_) => {}
                    Err(e) => note = format!(" (the issue could not be opened: {e})"),
                },
                Err(e) => note = format!(" (the issue could not be opened: {e})"),
            }
        }
        self.trail(
            job,
            Step::Accepted {
                hcl: hcl.clone(),
                issue_url: issue_url.clone(),
            },
        )
        .await?;
        let mut result = self.result(
            &job.request,
            &job.id,
            RemediationOutcome::Completed,
            format!(
                "accepted {} as the baseline: the same change will not alert again{}{note}",
                describe_baseline(&job.finding),
                issue_url
                    .as_deref()
                    .map(|u| format!("; codify it: {u}"))
                    .unwrap_or_default()
            ),
        );
        result.hcl = hcl;
        self.settle(job, result).await
    }

    fn result(
        &self,
        request: &RemediationRequest,
        id: &str,
        outcome: RemediationOutcome,
        message: String,
    ) -> RemediationResult {
        let mut r = RemediationResult::new(
            &request.finding_id,
            request.action,
            outcome,
            WORKER,
            now(),
            Some(message),
        );
        r.request_id = Some(id.to_owned());
        r
    }

    async fn finish(
        &self,
        job: &Job,
        outcome: RemediationOutcome,
        message: String,
        calls: Vec<Call>,
    ) -> Result<Value, RemediateError> {
        let mut result = self.result(&job.request, &job.id, outcome, message);
        result.calls = calls;
        self.settle(job, result).await
    }

    /// Records how the request ended, marks it done and publishes the result.
    async fn settle(&self, job: &Job, result: RemediationResult) -> Result<Value, RemediateError> {
        self.trail(
            job,
            Step::Finished {
                outcome: result.outcome,
                message: result.message.clone().unwrap_or_default(),
            },
        )
        .await?;
        self.ledger
            .set_state(&job.finding.id, &job.id, RequestState::Done)
            .await?;
        self.publisher.publish_result(&result).await?;
        let status = match (result.outcome, result.dry_run) {
            (_, true) => "dry_run",
            (RemediationOutcome::Completed, false) => "completed",
            (RemediationOutcome::Failed, false) => "failed",
        };
        tracing::info!(finding_id = %job.finding.id, request_id = %job.id, action = job.request.action.as_str(), status, message = result.message.as_deref().unwrap_or(""), "remediation finished");
        Ok(json!({
            "status": status,
            "request_id": job.id,
            "message": result.message,
            "calls": result.calls,
            "run_url": result.run_url,
            "hcl": result.hcl,
        }))
    }

    async fn trail(&self, job: &Job, step: Step) -> Result<(), RemediateError> {
        let entry = AuditEntry {
            request_id: job.id.clone(),
            at: now(),
            step,
        };
        self.ledger.append(&job.finding.id, &entry).await?;
        Ok(())
    }
}

fn describe_baseline(f: &Finding) -> String {
    f.changes
        .iter()
        .filter(|c| c.drifted)
        .map(|c| format!("{} = {}", c.attribute, c.found))
        .collect::<Vec<_>>()
        .join(", ")
}
