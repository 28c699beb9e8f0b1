//! The invocation: load the states, then for each scope start a run (or go on with the saved
//! one), page through AWS Config type by type, hand each live item to core's sweep and each
//! evaluation to the same service step as ingest (store, outbox, bus), save the run after
//! every page, and stop before the deadline. Errors map once to a stable type.

use crate::config::Config;
use driftguard_aws::{
    read_session, AwsError, DynamoClient, DynamoLedger, DynamoStore, DynamoSweeps, EventBridgeClient,
    EventBridgePublisher, Lookups, Retry, S3States, ScopeSweep, SweepError,
};
use driftguard_aws::{Checked, ConfigSource, ConfigWatch, EventHistory, LastGoodConfig, LookupFilter};
use driftguard_core::attribution::AttributionConfig;
use driftguard_core::config_file::ConfigFile;
use driftguard_core::ignore::IgnoreRules;
use driftguard_core::learn::ports::{scoring_weights, LearningStore};
use driftguard_core::metrics::{self, Metrics};
use driftguard_core::pipeline::Pipeline;
use driftguard_core::pipeline::{Evaluation, Outcome};
use driftguard_core::score::Weights;
use driftguard_core::service::{self, ServiceError};
use driftguard_core::sweep::{Backfill, Scope, SweepReport};
use driftguard_core::time::Timestamp;
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde::Serialize;
use serde_json::Value;
use std::ops::ControlFlow;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// How an invocation failed; the error type Lambda reports.
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    /// The invocation's input cannot be read: retrying will not help.
    #[error("{0}")]
    InvalidInput(String),
    /// Throttling, 5xx, timeouts, contention: retry (the run is saved up to its last page).
    #[error("{0}")]
    Retryable(String),
    /// Anything else that will fail again (permissions, a missing table, a corrupt item).
    #[error("{0}")]
    NotRetryable(String),
}

impl ReconcileError {
    /// The stable error type reported to Lambda.
    pub fn error_type(&self) -> &'static str {
        match self {
            ReconcileError::InvalidInput(_) => "InvalidInput",
            ReconcileError::Retryable(_) => "Retryable",
            ReconcileError::NotRetryable(_) => "NotRetryable",
        }
    }
}

impl From<ReconcileError> for Diagnostic {
    fn from(e: ReconcileError) -> Self {
        Diagnostic {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

fn from_aws(context: &str, e: &AwsError) -> ReconcileError {
    match e.retry() {
        Retry::Retryable => ReconcileError::Retryable(format!("{context}: {e}")),
        Retry::NotRetryable => ReconcileError::NotRetryable(format!("{context}: {e}")),
    }
}

impl From<ServiceError<AwsError, AwsError>> for ReconcileError {
    fn from(e: ServiceError<AwsError, AwsError>) -> Self {
        match &e {
            ServiceError::Store { source, .. } | ServiceError::Publish { source, .. } => {
                from_aws(&e.to_string(), source)
            }
        }
    }
}

impl From<SweepError<AwsError, AwsError>> for ReconcileError {
    fn from(e: SweepError<AwsError, AwsError>) -> Self {
        match e {
            SweepError::Aws { context, source } => from_aws(&context, &source),
            SweepError::Service(e) => e.into(),
        }
    }
}

/// What an invocation is asked: start a run (continuing one in progress), or only continue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Action {
    Start,
    Continue,
}

fn action(payload: &Value) -> Result<Action, ReconcileError> {
    match payload.get("action").and_then(Value::as_str) {
        None | Some("start") => Ok(Action::Start),
        Some("continue") => Ok(Action::Continue),
        Some(other) => Err(ReconcileError::InvalidInput(format!(
            "action {other:?}: expected \"start\" or \"continue\""
        ))),
    }
}

/// One scope's outcome in the invocation's answer.
#[derive(Debug, Serialize)]
pub struct ScopeRun {
    scope: String,
    /// Whether the run was already in progress when this invocation began.
    resumed: bool,
    /// Why the invocation stopped before the run's end (the deadline, a concurrent run).
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped: Option<String>,
    /// Where the next invocation goes on.
    #[serde(skip_serializing_if = "Option::is_none")]
    continues_at: Option<String>,
    report: SweepReport,
}

/// The invocation's answer.
#[derive(Debug, Serialize)]
pub struct Answer {
    /// The first-deployment backfill, per scope, while one is under way or just finished.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    backfills: Vec<BackfillRun>,
    scopes: Vec<ScopeRun>,
}

impl Answer {
    /// Adds what the invocation's runs report to its metrics: a run's report covers the whole
    /// run across invocations, so its resources read and findings detected are counted once,
    /// by the invocation that finishes it; a run that goes on counts as incomplete.
    fn record(&self, m: &mut Metrics) {
        for run in &self.scopes {
            if run.report.complete {
                m.add(
                    &metrics::RESOURCES_SWEPT,
                    usize::try_from(run.report.read).unwrap_or(usize::MAX),
                );
                m.add(
                    &metrics::FINDINGS,
                    usize::try_from(run.report.detected).unwrap_or(usize::MAX),
                );
            } else {
                m.add(&metrics::SWEEPS_INCOMPLETE, 1);
            }
        }
    }
}

/// What an invocation did of a scope's backfill.
#[derive(Debug, Serialize)]
pub struct BackfillRun {
    scope: String,
    /// The window, read down to where.
    from: String,
    to: String,
    read_down_to: String,
    /// Events, pages and drift events published, in all invocations.
    events: u64,
    pages: u64,
    /// Events read, findings detected, this invocation.
    events_here: u64,
    detected_here: u64,
    complete: bool,
}

/// Everything built once per container.
pub struct App {
    aws: aws_config::SdkConfig,
    store: DynamoStore,
    publisher: EventBridgePublisher,
    sweeps: DynamoSweeps,
    states: tokio::sync::Mutex<S3States>,
    config: Config,
    /// The current likelihood weights' home, and the last ones read (kept when a read fails).
    learning: DynamoLedger,
    weights: tokio::sync::Mutex<Weights>,
    /// The configuration file (`DRIFTGUARD_CONFIG`), re-read when due (ingest keeps its last
    /// good copy), and the attribution and ignore rules in use with it.
    config_file: Option<tokio::sync::Mutex<ConfigWatch>>,
    settings: std::sync::RwLock<(AttributionConfig, IgnoreRules)>,
}

fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}

/// How close to the invocation's end no history lookup starts.
const LOOKUP_RESERVE: Duration = Duration::from_secs(10);

impl App {
    /// Builds the clients.
    pub fn new(aws: aws_config::SdkConfig, config: Config) -> Self {
        let dynamo = DynamoClient::new(&aws);
        App {
            store: DynamoStore::new(dynamo.clone(), &config.table),
            publisher: EventBridgePublisher::new(EventBridgeClient::new(&aws), &config.event_bus),
            sweeps: DynamoSweeps::new(dynamo.clone(), &config.table),
            learning: DynamoLedger::new(dynamo, &config.table),
            weights: tokio::sync::Mutex::new(Weights::default()),
            config_file: config.config_file.clone().map(|(location, refresh)| {
                tokio::sync::Mutex::new(
                    ConfigWatch::new(
                        ConfigSource::new(&aws, driftguard_aws::s3_client(&aws, config.s3_path_style), location),
                        LastGoodConfig::new(DynamoClient::new(&aws), &config.table),
                        refresh,
                    )
                    .reading_only(),
                )
            }),
            settings: std::sync::RwLock::new((config.attribution.clone(), config.ignore.clone())),
            states: tokio::sync::Mutex::new(S3States::new(
                driftguard_aws::s3_client(&aws, config.s3_path_style),
                config.states.clone(),
            )),
            aws,
            config,
        }
    }

    /// Reads the configuration file at start (the last good copy when it fails its checks);
    /// `Err` when neither can be used.
    pub async fn load_config(&self) -> Result<(), ReconcileError> {
        if let Some(watch) = &self.config_file {
            let mut watch = watch.lock().await;
            let file = watch
                .start()
                .await
                .map_err(|e| from_aws(&format!("configuration {}", watch.location()), &e))?;
            self.set_settings(&watch.location().to_string(), &file);
        }
        Ok(())
    }

    fn set_settings(&self, location: &str, file: &ConfigFile) {
        let merged = file.added_to(location, &self.config.attribution, &self.config.ignore);
        if let Ok(mut slot) = self.settings.write() {
            *slot = merged;
        }
    }

    /// The attribution and ignore rules in use, after reading the configuration file when due.
    async fn settings(&self) -> (AttributionConfig, IgnoreRules) {
        if let Some(watch) = &self.config_file {
            let mut watch = watch.lock().await;
            if let Checked::Changed(file) = watch.check().await {
                self.set_settings(&watch.location().to_string(), &file);
            }
        }
        match self.settings.read() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The pipeline over the states as they are now. No readable state: a retryable failure,
    /// never a sweep that would call every live resource unmanaged or every declared one missing.
    async fn pipeline(&self) -> Result<Pipeline, ReconcileError> {
        let mut states = self.states.lock().await;
        let refresh = states
            .refresh()
            .await
            .map_err(|e| from_aws("reading the Terraform states", &e))?;
        for bad in &refresh.unreadable {
            tracing::error!(state_error = %bad, "Terraform state unreadable");
        }
        let loaded = states.inventory();
        for failure in &loaded.failed {
            tracing::error!(error = %failure.error, kept_last_good = failure.kept_last_good, "Terraform state unreadable");
        }
        if loaded.inventory.states().is_empty() {
            return Err(ReconcileError::Retryable(
                "no Terraform state could be read, so nothing can be swept against it".into(),
            ));
        }
        let (attribution, ignore) = self.settings().await;
        Ok(Pipeline::new(&attribution, loaded.inventory)
            .with_ignore(ignore)
            .with_weights(self.current_weights().await))
    }

    /// The table's current likelihood weights (as ingest scores with); a failed read keeps the
    /// last ones read.
    async fn current_weights(&self) -> Weights {
        let mut kept = self.weights.lock().await;
        match self.learning.current_weights().await {
            Ok(current) => *kept = scoring_weights(current),
            Err(e) => {
                tracing::warn!(error = %e, version = %kept.version, "Could not read the current weights; scoring with the last ones read")
            }
        }
        kept.clone()
    }

    async fn scopes(&self) -> Result<(String, Vec<Scope>), ReconcileError> {
        let own = driftguard_aws::own_account(&self.aws)
            .await
            .map_err(|e| from_aws("reading the function's account", &e))?;
        if !self.config.scopes.is_empty() {
            return Ok((own, self.config.scopes.clone()));
        }
        let region = self
            .aws
            .region()
            .map(|r| r.as_ref().to_owned())
            .ok_or_else(|| ReconcileError::NotRetryable("no AWS region configured (AWS_REGION)".into()))?;
        let scope = Scope {
            account: own.clone(),
            region,
        };
        Ok((own, vec![scope]))
    }

    /// One invocation; its metrics are printed as one line whatever the outcome.
    pub async fn invoke(&self, event: LambdaEvent<Value>) -> Result<Value, ReconcileError> {
        let mut metrics = Metrics::new(metrics::RECONCILE);
        let started = Instant::now();
        let result = self.sweep(event).await;
        metrics.time("sweep", started.elapsed());
        if let Ok(answer) = &result {
            answer.record(&mut metrics);
        }
        driftguard_aws::emit_metrics(&metrics);
        result.map(|answer| serde_json::to_value(answer).unwrap_or(Value::Null))
    }

    async fn sweep(&self, event: LambdaEvent<Value>) -> Result<Answer, ReconcileError> {
        let action = action(&event.payload)?;
        // The Runtime API's deadline (ms since the epoch), less the margin for one page.
        let left_ms = (event.context.deadline as i64 - now().0).max(0) as u64;
        let deadline = Instant::now() + Duration::from_millis(left_ms).saturating_sub(self.config.margin);
        // History lookups within a page go on past the page deadline, never this close to the end.
        let lookup_deadline = Instant::now() + Duration::from_millis(left_ms).saturating_sub(LOOKUP_RESERVE);
        let pipeline = self.pipeline().await?;
        let (own, scopes) = self.scopes().await?;
        let mut lookups = Lookups::new(self.config.lookups, Some(lookup_deadline));
        let mut answer = Answer {
            backfills: Vec::new(),
            scopes: Vec::new(),
        };
        if self.config.backfill_hours > 0 {
            for scope in &scopes {
                if let Some(run) = self.backfill_scope(&pipeline, &own, scope, deadline).await? {
                    answer.backfills.push(run);
                }
            }
        }
        for scope in scopes {
            if let Some(run) = self
                .sweep_scope(&pipeline, &own, &scope, action, deadline, &mut lookups)
                .await?
            {
                answer.scopes.push(run);
            }
        }
        Ok(answer)
    }

    /// The AWS configuration that reads `scope`: the function's own (in the scope's region)
    /// through an aggregator, else a member account's read-only role.
    async fn session(&self, own: &str, scope: &Scope) -> Result<aws_config::SdkConfig, ReconcileError> {
        if self.config.aggregator.is_some() {
            let mut b = self.aws.to_builder();
            b.set_region(Some(aws_config::Region::new(scope.region.clone())));
            return Ok(b.build());
        }
        read_session(&self.aws, own, self.config.member_role.as_deref(), scope)
            .await
            .map_err(|e| from_aws(&format!("reading {}", scope.key()), &e))
    }

    /// The scope's first-deployment backfill: begun the first time the function meets the
    /// scope, then an hour of CloudTrail's history at a time, newest first, through the same
    /// pipeline and store as ingest (the same event ids, so what the live path already stored
    /// is a duplicate), saved after each hour, until the deadline. `None` once it is complete.
    async fn backfill_scope(
        &self,
        pipeline: &Pipeline,
        own: &str,
        scope: &Scope,
        deadline: Instant,
    ) -> Result<Option<BackfillRun>, ReconcileError> {
        let at = scope.key();
        let saved = self
            .sweeps
            .backfill(scope)
            .await
            .map_err(|e| from_aws(&format!("reading the backfill of {at}"), &e))?;
        let mut backfill = match saved {
            Some(b) if b.complete() => return Ok(None),
            Some(b) => b,
            None => Backfill::new(now(), self.config.backfill_hours),
        };
        backfill.invocations += 1;
        let session = self.session(own, scope).await?;
        let history = EventHistory::new(&session).with_interval(self.config.lookup_interval);
        let mut detected_here = 0u64;
        let mut events_here = 0u64;
        let mut slices_here = 0u64;
        while let Some((from, to)) = backfill.next_slice() {
            if slices_here > 0 && Instant::now() >= deadline {
                break;
            }
            let mut evaluations: Vec<Evaluation> = Vec::new();
            let mut unreadable = 0u64;
            let summary = history
                .lookup(&LookupFilter::Writes, from, to, |page| {
                    unreadable += page.without_record.len() as u64;
                    for (i, record) in page.records.iter().enumerate() {
                        let origin = format!("LookupEvents page {}, event {}", page.number, i + 1);
                        driftguard_core::decode::decode(record.as_bytes(), &origin, &mut |_, item| match item {
                            Ok(item) => pipeline.evaluate_each(&item, &mut |e| evaluations.push(e)),
                            Err(e) => {
                                unreadable += 1;
                                tracing::error!(error = %e, "Backfill: unreadable history record");
                            }
                        });
                    }
                    ControlFlow::Continue(())
                })
                .await
                .map_err(|e| from_aws(&format!("reading the history of {at}"), &e))?;
            if unreadable > 0 {
                tracing::warn!(scope = %at, unreadable, "Backfill: history events without a readable record");
            }
            for handled in service::handle_all(&self.store, &self.publisher, evaluations).await? {
                detected_here +=
                    u64::from(!handled.duplicate && matches!(handled.evaluation.outcome, Outcome::Finding(_)));
            }
            backfill.read(from, summary.events as u64, summary.pages as u64);
            events_here += summary.events as u64;
            slices_here += 1;
            self.sweeps
                .save_backfill(scope, &backfill)
                .await
                .map_err(|e| from_aws(&format!("saving the backfill of {at}"), &e))?;
        }
        let run = BackfillRun {
            scope: at,
            from: backfill.start.to_string(),
            to: backfill.end.to_string(),
            read_down_to: backfill.read_down_to.to_string(),
            events: backfill.events,
            pages: backfill.pages,
            events_here,
            detected_here,
            complete: backfill.complete(),
        };
        tracing::info!(scope = %run.scope, events = run.events, events_here, detected_here = run.detected_here,
            read_down_to = %run.read_down_to, complete = run.complete, "Backfill");
        Ok(Some(run))
    }

    async fn sweep_scope(
        &self,
        pipeline: &Pipeline,
        own: &str,
        scope: &Scope,
        action: Action,
        deadline: Instant,
        lookups: &mut Lookups,
    ) -> Result<Option<ScopeRun>, ReconcileError> {
        let at = scope.key();
        let saved = self
            .sweeps
            .load(scope)
            .await
            .map_err(|e| from_aws(&format!("reading the sweep of {at}"), &e))?;
        let resumed = saved.is_some();
        let session = self.session(own, scope).await?;
        let sweep = ScopeSweep::new(
            pipeline,
            scope.clone(),
            &session,
            self.config.aggregator.clone(),
            self.config.lookup_interval,
            &self.store,
            &self.publisher,
        );
        let (mut run, mut version) = match saved {
            Some((run, v)) => (run, Some(v)),
            None if action == Action::Continue => return Ok(None),
            None => (sweep.start(), None),
        };
        if run.types.is_empty() {
            run.report.complete = true;
        }
        run.report.invocations += 1;
        tracing::info!(scope = %at, resumed, types = run.types.len(), next_type = run.next_type, "Sweep");
        let mut stopped = None;
        let mut pages_here = 0u64;
        while run.current_type().is_some() {
            // At least one page per invocation, so every invocation moves the run on.
            if pages_here > 0 && Instant::now() >= deadline {
                stopped = Some("the invocation's deadline (less the margin) was reached".to_owned());
                break;
            }
            sweep.page(&mut run, lookups).await?;
            pages_here += 1;
            match self
                .sweeps
                .save(scope, &run, version)
                .await
                .map_err(|e| from_aws(&format!("saving the sweep of {at}"), &e))?
            {
                Some(v) => version = Some(v),
                None => {
                    stopped = Some("another invocation moved this run on; it goes on there".to_owned());
                    break;
                }
            }
        }
        let continues_at = run
            .current_type()
            .filter(|_| !run.report.complete)
            .map(|t| format!("{t} after page {}", run.report.pages));
        if run.current_type().is_none() {
            run.report.complete = true;
            self.sweeps
                .finish(scope, &run.report, &now().to_string())
                .await
                .map_err(|e| from_aws(&format!("recording the sweep of {at}"), &e))?;
        }
        let report = run.report;
        if report.complete {
            tracing::info!(scope = %at, listed = report.listed, read = report.read, compared = report.compared,
                detected = report.detected, resolved = report.resolved, pages = report.pages,
                calls = report.total_calls(), invocations = report.invocations, duration_ms = report.duration_ms,
                coverage = %serde_json::to_string(&report.coverage).unwrap_or_default(), "Sweep complete");
        } else {
            tracing::warn!(scope = %at, listed = report.listed, pages = report.pages,
                continues_at = continues_at.as_deref().unwrap_or(""), stopped = stopped.as_deref().unwrap_or(""),
                "Sweep incomplete; the next invocation goes on");
        }
        Ok(Some(ScopeRun {
            scope: at,
            resumed,
            stopped,
            continues_at,
            report,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_is_start_unless_continue_and_a_typo_is_refused() {
        assert_eq!(action(&serde_json::json!({})).ok(), Some(Action::Start));
        assert_eq!(
            action(&serde_json::json!({"action": "continue"})).ok(),
            Some(Action::Continue)
        );
        let err = action(&serde_json::json!({"action": "contnue"})).expect_err("typo");
        assert_eq!(err.error_type(), "InvalidInput");
        assert!(err.to_string().contains("contnue"), "{err}");
    }
}
