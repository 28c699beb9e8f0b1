//! The invocation: unwrap the envelope (SQS batch or a single EventBridge event), decode and
//! evaluate with core, store and publish through the adapters, map errors once.

use crate::config::Config;
use aws_lambda_events::sqs::{SqsBatchResponse, SqsEvent};
use driftguard_aws::{
    AwsError, Checked, CloudFormationStacks, ConfigSource, ConfigWatch, DynamoClient, DynamoInventory, DynamoLedger,
    DynamoStore, EventBridgeClient, EventBridgePublisher, LastGoodConfig, Pin, Retry, S3Client, S3States,
};
use driftguard_core::attribution::AttributionConfig;
use driftguard_core::config_file::ConfigFile;
use driftguard_core::config_item::ConfigChange;
use driftguard_core::decode::{self, Item, Position};
use driftguard_core::ignore::IgnoreRules;
use driftguard_core::inventory::Inventory;
use driftguard_core::learn::ports::{scoring_weights, LearningStore};
use driftguard_core::metrics::{self, Metrics};
use driftguard_core::pipeline::{Evaluation, Outcome, Pipeline};
use driftguard_core::ports::{DriftEvent, DriftEventKind, EventPublisher};
use driftguard_core::score::Weights;
use driftguard_core::service::{self, ServiceError};
use driftguard_core::stack::{self, StackOwnership};
use lambda_runtime::{Diagnostic, LambdaEvent};
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Instant;

/// How an invocation failed; the error type Lambda reports (and dead-letter records carry).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The event cannot be read: retrying will not help. Goes to the dead-letter queue.
    #[error("{0}")]
    InvalidInput(String),
    /// Throttling, 5xx, timeouts, contention: retry.
    #[error("{0}")]
    Retryable(String),
    /// Anything else that will fail again (permissions, a missing table, a corrupt state file).
    #[error("{0}")]
    NotRetryable(String),
}

impl IngestError {
    /// The stable error type reported to Lambda: `InvalidInput`, `Retryable` or `NotRetryable`.
    pub fn error_type(&self) -> &'static str {
        match self {
            IngestError::InvalidInput(_) => "InvalidInput",
            IngestError::Retryable(_) => "Retryable",
            IngestError::NotRetryable(_) => "NotRetryable",
        }
    }
}

impl From<IngestError> for Diagnostic {
    fn from(e: IngestError) -> Self {
        Diagnostic {
            error_type: e.error_type().to_owned(),
            error_message: e.to_string(),
        }
    }
}

fn from_aws(context: &str, e: &AwsError) -> IngestError {
    match e.retry() {
        Retry::Retryable => IngestError::Retryable(format!("{context}: {e}")),
        Retry::NotRetryable => IngestError::NotRetryable(format!("{context}: {e}")),
    }
}

impl From<ServiceError<AwsError, AwsError>> for IngestError {
    fn from(e: ServiceError<AwsError, AwsError>) -> Self {
        match &e {
            ServiceError::Store { source, .. } | ServiceError::Publish { source, .. } => {
                from_aws(&e.to_string(), source)
            }
        }
    }
}

/// Logs each unreadable state and counts them (`UnreadableStates` in the invocation's metrics,
/// also when zero, so an alarm on the metric sees it recover).
fn report_bad_states(bad: &[String], metrics: &mut Metrics) {
    for b in bad {
        tracing::error!(state_error = %b, "Terraform state unreadable; detection on its resources is blind until it loads");
    }
    metrics.set(&metrics::UNREADABLE_STATES, bad.len());
}

/// The publisher, counting the joins among what EventBridge accepted: a `Drift Detected` of a
/// finding's later revision is a call and its Config item met.
struct CountingJoins<'p, P> {
    inner: &'p P,
    joins: AtomicUsize,
}

impl<P: EventPublisher + Sync> EventPublisher for CountingJoins<'_, P> {
    type Error = P::Error;

    async fn publish(&self, events: &[DriftEvent]) -> Result<usize, P::Error> {
        let accepted = self.inner.publish(events).await?;
        let joins = events
            .iter()
            .filter(|e| e.kind == DriftEventKind::Detected && e.finding.revision > 1)
            .count();
        self.joins.fetch_add(joins, Ordering::Relaxed);
        Ok(accepted)
    }
}

/// What one document produced.
#[derive(Debug, Default, serde::Serialize)]
pub struct Summary {
    events: usize,
    findings: usize,
    iac_changes: usize,
    config_items: usize,
    published: usize,
    duplicates: usize,
    skipped: BTreeMap<&'static str, usize>,
    /// Manual changes on resources outside Terraform that CloudFormation was asked about.
    #[serde(skip_serializing_if = "is_zero")]
    cloudformation_asked: usize,
    /// Of those, owned by a stack.
    #[serde(skip_serializing_if = "is_zero")]
    cloudformation_owned: usize,
    /// CloudFormation calls that failed (each logged at error level).
    #[serde(skip_serializing_if = "is_zero")]
    cloudformation_errors: usize,
    /// Findings by kind.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    kinds: BTreeMap<&'static str, usize>,
    /// Findings by severity.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    severities: BTreeMap<&'static str, usize>,
    /// Findings revised because a call and its Config item met.
    #[serde(skip_serializing_if = "is_zero")]
    joins: usize,
}

impl Summary {
    /// Adds what this document produced to the invocation's metrics.
    fn record(&self, m: &mut Metrics) {
        m.add(&metrics::EVENTS_IN, self.events);
        m.add(&metrics::EVENTS_SKIPPED, self.skipped.values().sum());
        for (reason, n) in &self.skipped {
            m.add_by(&metrics::EVENTS_SKIPPED_BY_REASON, reason, *n);
        }
        m.add(&metrics::FINDINGS, self.findings);
        for (kind, n) in &self.kinds {
            m.add_by(&metrics::FINDINGS_BY_KIND, kind, *n);
        }
        for (severity, n) in &self.severities {
            m.add_by(&metrics::FINDINGS_BY_SEVERITY, severity, *n);
        }
        m.add(&metrics::IAC_CHANGES, self.iac_changes);
        m.add(&metrics::CONFIG_ITEMS, self.config_items);
        m.add(&metrics::JOINS, self.joins);
        m.add(&metrics::DRIFT_EVENTS_PUBLISHED, self.published);
        m.add(&metrics::DUPLICATES, self.duplicates);
        m.add(&metrics::CLOUDFORMATION_CHECKS, self.cloudformation_asked);
        m.add(&metrics::CLOUDFORMATION_ERRORS, self.cloudformation_errors);
    }
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

struct States {
    s3: S3States,
    /// When the states were last checked; `None` until an inventory holding at least one state
    /// is in place, so every invocation tries again until then.
    checked: Option<Instant>,
    /// States that did not parse at the last inventory build (reported at every check until
    /// they load).
    unparsable: Vec<String>,
    /// The table's inventory version (iac-sync's) the states were last refreshed at: while it
    /// stays the same, a check is one `GetItem` instead of listing every state location.
    version: Option<u64>,
    /// When the locations were last listed.
    listed: Option<Instant>,
}

/// Attribution and ignore rules: the environment's, plus the configuration file's.
#[derive(Debug, Clone)]
struct Settings {
    attribution: AttributionConfig,
    ignore: IgnoreRules,
}

/// Everything built once per container.
pub struct App {
    store: DynamoStore,
    publisher: EventBridgePublisher,
    states: Option<tokio::sync::Mutex<States>>,
    s3: S3Client,
    pipeline: RwLock<Arc<Pipeline>>,
    config: Config,
    /// Where the current likelihood weights are (`driftguard weights fit` stores them).
    learning: DynamoLedger,
    /// The inventory version iac-sync keeps.
    iac: DynamoInventory,
    weights: tokio::sync::Mutex<WeightsCheck>,
    /// CloudFormation, for manual changes on stack resources no Terraform state declares.
    stacks: CloudFormationStacks,
    /// Drift checks this invocation may still make (reset at each invocation).
    drift_budget: tokio::sync::Mutex<stack::Budget>,
    settings: RwLock<Settings>,
    config_file: Option<tokio::sync::Mutex<ConfigWatch>>,
}

/// The weights findings are scored with, and when the table was last asked for the current ones.
struct WeightsCheck {
    current: Weights,
    checked: Option<Instant>,
}

impl App {
    /// Builds clients and an initial pipeline (states load on the first invocation).
    pub fn new(aws: &aws_config::SdkConfig, config: Config) -> Self {
        let store = DynamoStore::new(DynamoClient::new(aws), &config.table);
        let publisher = EventBridgePublisher::new(EventBridgeClient::new(aws), &config.event_bus);
        let states = (!config.states.is_empty()).then(|| {
            tokio::sync::Mutex::new(States {
                s3: S3States::new(
                    driftguard_aws::s3_client(aws, config.s3_path_style),
                    config.states.clone(),
                )
                .with_limit(config.document_limit()),
                checked: None,
                unparsable: Vec::new(),
                version: None,
                listed: None,
            })
        });
        let pipeline = RwLock::new(Arc::new(
            Pipeline::new(&config.attribution, Inventory::new())
                .with_ignore(config.ignore.clone())
                .with_access_findings(config.access_findings),
        ));
        let settings = RwLock::new(Settings {
            attribution: config.attribution.clone(),
            ignore: config.ignore.clone(),
        });
        let config_file = config.config_location.clone().map(|location| {
            tokio::sync::Mutex::new(ConfigWatch::new(
                ConfigSource::new(aws, driftguard_aws::s3_client(aws, config.s3_path_style), location),
                LastGoodConfig::new(DynamoClient::new(aws), &config.table),
                config.config_refresh,
            ))
        });
        App {
            store,
            publisher,
            states,
            s3: driftguard_aws::s3_client(aws, config.s3_path_style),
            pipeline,
            learning: DynamoLedger::new(DynamoClient::new(aws), &config.table),
            iac: DynamoInventory::new(DynamoClient::new(aws), &config.table),
            stacks: CloudFormationStacks::new(aws),
            drift_budget: tokio::sync::Mutex::new(stack::Budget {
                drift_checks: config.cfn_drift_checks,
            }),
            settings,
            config_file,
            config,
            weights: tokio::sync::Mutex::new(WeightsCheck {
                current: Weights::default(),
                checked: None,
            }),
        }
    }

    /// Reads the configuration file at start (or the last good one, when it fails its checks);
    /// fails start when neither can be used, naming why (the events wait in the queue).
    pub async fn load_config(&self) -> Result<(), IngestError> {
        let Some(watch) = &self.config_file else {
            return Ok(());
        };
        let mut watch = watch.lock().await;
        let location = watch.location().to_string();
        let file = watch
            .start()
            .await
            .map_err(|e| from_aws(&format!("configuration {location}"), &e))?;
        self.set_settings(&location, &file);
        Ok(())
    }

    fn set_settings(&self, location: &str, file: &ConfigFile) {
        let (attribution, ignore) = file.added_to(location, &self.config.attribution, &self.config.ignore);
        if let Ok(mut slot) = self.settings.write() {
            *slot = Settings { attribution, ignore };
        }
    }

    /// Whether the configuration file changed (and passed) since the last check, read as
    /// often as `DRIFTGUARD_CONFIG_REFRESH_SECONDS`. `ConfigRejected` says at every invocation
    /// whether the file at the location fails its checks.
    async fn changed_settings(&self, metrics: &mut Metrics) -> bool {
        let Some(watch) = &self.config_file else {
            return false;
        };
        let mut watch = watch.lock().await;
        let changed = match watch.check().await {
            Checked::NotDue | Checked::Unchanged | Checked::Rejected => false,
            Checked::Changed(file) => {
                let location = watch.location().to_string();
                self.set_settings(&location, &file);
                true
            }
        };
        metrics.set(&metrics::CONFIG_REJECTED, usize::from(watch.refusing()));
        changed
    }

    /// A pipeline over `inventory` with the settings in use.
    fn build(&self, inventory: Inventory, weights: Weights) -> Pipeline {
        let settings = self.settings.read().map(|s| s.clone()).unwrap_or_else(|_| Settings {
            attribution: self.config.attribution.clone(),
            ignore: self.config.ignore.clone(),
        });
        Pipeline::new(&settings.attribution, inventory)
            .with_ignore(settings.ignore)
            .with_access_findings(self.config.access_findings)
            .with_weights(weights)
    }

    /// The current weights when they changed since the last check (checked as often as the
    /// states). A failed read keeps the weights in use: scoring never stops over it.
    async fn changed_weights(&self) -> Option<Weights> {
        let mut check = self.weights.lock().await;
        if check.checked.is_some_and(|t| t.elapsed() < self.config.state_refresh) {
            return None;
        }
        check.checked = Some(Instant::now());
        match self.learning.current_weights().await {
            Ok(current) => {
                let weights = scoring_weights(current);
                if weights == check.current {
                    return None;
                }
                tracing::info!(from = %check.current.version, to = %weights.version, "Weights changed");
                check.current = weights.clone();
                Some(weights)
            }
            Err(e) => {
                tracing::warn!(error = %e, version = %check.current.version, "Could not read the current weights; scoring with the ones in use");
                None
            }
        }
    }

    /// The pipeline, with states refreshed from S3 when due. A state file that cannot be read
    /// or parsed is logged and counted (`UnreadableStates`) at every check, and the others (and
    /// its last good version) still load; while no state at all can be read, the invocation
    /// fails as retryable, so no event is judged against an empty inventory.
    async fn pipeline(&self, metrics: &mut Metrics) -> Result<Arc<Pipeline>, IngestError> {
        let new_weights = self.changed_weights().await;
        let rebuild = self.changed_settings(metrics).await || new_weights.is_some();
        let weights = match &new_weights {
            Some(w) => w.clone(),
            None => self.weights.lock().await.current.clone(),
        };
        if self.states.is_none() && rebuild {
            self.install(self.build(Inventory::new(), weights.clone()));
        }
        if let Some(states) = &self.states {
            let mut st = states.lock().await;
            let loaded = st.checked.is_some();
            let due = st.checked.is_none_or(|t| t.elapsed() >= self.config.state_refresh);
            // iac-sync bumps the inventory version with every state revision it records: an
            // unchanged version means no state changed, and the listing is skipped. Without a
            // version (iac-sync has recorded nothing yet) or when it cannot be read, the
            // locations are listed as before.
            let version = if due || rebuild {
                match self.iac.version().await {
                    Ok(v) => v,
                    Err(e) => {
                        tracing::warn!(error = %e, "Could not read the inventory version; listing the state locations");
                        None
                    }
                }
            } else {
                None
            };
            let list_due = st.listed.is_none_or(|t| t.elapsed() >= self.config.state_list);
            if loaded && due && !list_due && !rebuild && version.is_some() && version == st.version {
                st.checked = Some(Instant::now());
                let bad = st.unparsable.clone();
                report_bad_states(&bad, metrics);
            } else if rebuild || due {
                if version.is_some() && version != st.version {
                    match self.iac.states().await {
                        Ok(records) => st.s3.set_pins(
                            records
                                .into_iter()
                                .map(|(origin, r)| {
                                    (
                                        origin,
                                        Pin {
                                            etag: r.etag,
                                            version_id: r.version_id,
                                        },
                                    )
                                })
                                .collect(),
                        ),
                        Err(e) => tracing::warn!(error = %e, "Could not read the state records; reading what S3 holds"),
                    }
                }
                match st.s3.refresh().await {
                    Ok(refresh) => {
                        let mut bad: Vec<String> = refresh.unreadable.iter().map(ToString::to_string).collect();
                        if refresh.changed || !loaded || rebuild {
                            let fresh = st.s3.inventory();
                            for failure in &fresh.failed {
                                tracing::error!(error = %failure.error, kept_last_good = failure.kept_last_good,
                                    "Terraform state unreadable");
                            }
                            st.unparsable = fresh.failed.iter().map(|f| f.error.to_string()).collect();
                            bad.extend(st.unparsable.iter().cloned());
                            if fresh.inventory.states().is_empty() {
                                report_bad_states(&bad, metrics);
                                let why = if bad.is_empty() {
                                    format!(
                                        "no .tfstate object under {}",
                                        self.config
                                            .states
                                            .iter()
                                            .map(|l| format!("s3://{}/{}", l.bucket, l.prefix))
                                            .collect::<Vec<_>>()
                                            .join(", ")
                                    )
                                } else {
                                    bad.join("; ")
                                };
                                return Err(IngestError::Retryable(format!(
                                    "no Terraform state could be read, so no event can be judged: {why}"
                                )));
                            }
                            tracing::info!(
                                states = fresh.inventory.states().len(),
                                resources = fresh.inventory.len(),
                                unreadable = fresh.failed.len(),
                                "Inventory loaded"
                            );
                            self.install(self.build(fresh.inventory, weights.clone()));
                        } else {
                            // Unchanged objects keep their verdict.
                            bad.extend(st.unparsable.iter().cloned());
                        }
                        report_bad_states(&bad, metrics);
                        st.checked = Some(Instant::now());
                        st.listed = st.checked;
                        st.version = version;
                    }
                    Err(e) if !loaded => {
                        return Err(IngestError::Retryable(format!(
                            "no Terraform state could be read, so no event can be judged: {e}"
                        )))
                    }
                    Err(e) => tracing::warn!(error = %e, "State refresh failed; using the cached states"),
                }
            }
        }
        self.pipeline
            .read()
            .map(|p| p.clone())
            .map_err(|_| IngestError::NotRetryable("pipeline lock poisoned".into()))
    }

    fn install(&self, pipeline: Pipeline) {
        if let Ok(mut slot) = self.pipeline.write() {
            *slot = Arc::new(pipeline);
        }
    }

    /// One invocation; its metrics are printed as one line whatever the outcome.
    pub async fn invoke(&self, event: LambdaEvent<Box<RawValue>>) -> Result<Value, IngestError> {
        let mut metrics = Metrics::new(metrics::INGEST);
        let result = self.invoke_measured(event, &mut metrics).await;
        driftguard_aws::emit_metrics(&metrics);
        result
    }

    async fn invoke_measured(
        &self,
        event: LambdaEvent<Box<RawValue>>,
        metrics: &mut Metrics,
    ) -> Result<Value, IngestError> {
        let started = Instant::now();
        let pipeline = self.pipeline(metrics).await;
        metrics.time("states", started.elapsed());
        let pipeline = pipeline?;
        self.drift_budget.lock().await.drift_checks = self.config.cfn_drift_checks;
        let payload = event.payload.get();
        match serde_json::from_str::<SqsEvent>(payload) {
            Ok(batch)
                if batch
                    .records
                    .first()
                    .is_some_and(|r| r.event_source.as_deref() == Some("aws:sqs")) =>
            {
                Ok(serde_json::to_value(self.sqs(batch, &pipeline, metrics).await).unwrap_or(Value::Null))
            }
            _ => {
                let summary = self
                    .document(payload.as_bytes(), &event.context.request_id, &pipeline, metrics)
                    .await?;
                Ok(serde_json::to_value(summary).unwrap_or(Value::Null))
            }
        }
    }

    /// An SQS batch: each message on its own; failed ones are reported (the partial batch
    /// response) so that only they are retried (and, after the queue's maxReceiveCount,
    /// dead-lettered).
    async fn sqs(&self, batch: SqsEvent, pipeline: &Pipeline, metrics: &mut Metrics) -> SqsBatchResponse {
        let mut response = SqsBatchResponse::default();
        for record in batch.records {
            let message_id = record.message_id.unwrap_or_default();
            let origin = format!("sqs message {message_id}");
            let result = match &record.body {
                Some(body) => self
                    .document(body.as_bytes(), &origin, pipeline, metrics)
                    .await
                    .map(drop),
                None => Err(IngestError::InvalidInput(format!("{origin}: no body"))),
            };
            if let Err(e) = result {
                tracing::error!(message_id = %message_id, error_type = e.error_type(), error = %e, "Message failed");
                metrics.add(&metrics::MESSAGES_FAILED, 1);
                response.add_failure(message_id);
            }
        }
        response
    }

    /// One document (an EventBridge event, or anything core decodes); what it produced is added
    /// to `metrics`, also when it fails part-way.
    async fn document(
        &self,
        bytes: &[u8],
        origin: &str,
        pipeline: &Pipeline,
        metrics: &mut Metrics,
    ) -> Result<Summary, IngestError> {
        let mut summary = Summary::default();
        let result = self
            .evaluate_and_store(bytes, origin, pipeline, &mut summary, metrics)
            .await;
        summary.record(metrics);
        result.map(|()| summary)
    }

    async fn evaluate_and_store(
        &self,
        bytes: &[u8],
        origin: &str,
        pipeline: &Pipeline,
        summary: &mut Summary,
        metrics: &mut Metrics,
    ) -> Result<(), IngestError> {
        let started = Instant::now();
        let mut evaluations: Vec<Evaluation> = Vec::new();
        let mut errors: Vec<String> = Vec::new();
        let mut oversized: Vec<Box<ConfigChange>> = Vec::new();
        // Manual changes on resources no state declares: CloudFormation may own them.
        let mut ask: Vec<(usize, stack::StackQuery)> = Vec::new();
        // Resources that look unmanaged: a stack may have created them without tags.
        let mut unmanaged: Vec<usize> = Vec::new();
        let asking = self.config.cfn_drift_checks > 0;
        decode::decode_within(
            bytes,
            origin,
            self.config.document_limit(),
            &mut |_: &Position, item| match item {
                Ok(Item::Config(c)) if c.is_oversized() && self.config.config_bucket.is_some() => oversized.push(c),
                Ok(item) => pipeline.evaluate_each(&item, &mut |e| {
                    if let Some(q) = stack::query(pipeline, &item, &e).filter(|_| asking) {
                        ask.push((evaluations.len(), q));
                    }
                    if stack::unmanaged_candidate(&e).is_some() && asking {
                        unmanaged.push(evaluations.len());
                    }
                    evaluations.push(e)
                }),
                Err(e) => errors.push(e.to_string()),
            },
        );
        for summary in oversized {
            let full = self.fetch_oversized(&summary).await?;
            evaluations.push(pipeline.evaluate_config(&full));
        }
        metrics.time("evaluate", started.elapsed());
        let started = Instant::now();
        let mut budget = self.drift_budget.lock().await;
        for (i, q) in ask {
            let Some(evaluation) = evaluations.get_mut(i) else {
                continue;
            };
            summary.cloudformation_asked += 1;
            let answer = stack::check(&self.stacks, &q, &mut budget).await;
            match &answer {
                stack::StackAnswer::Unknown { error } => {
                    summary.cloudformation_errors += 1;
                    tracing::error!(event_id = %q.call.event_id, resource = %q.physical_id, error = %error,
                        "CloudFormation ownership lookup failed; the change stays outside IaC");
                }
                stack::StackAnswer::Unchecked { stack, reason, failed } => {
                    summary.cloudformation_owned += 1;
                    summary.cloudformation_errors += usize::from(*failed);
                    if *failed {
                        tracing::error!(event_id = %q.call.event_id, resource = %q.physical_id, stack = %stack.stack_name,
                            logical_id = %stack.logical_id, reason = %reason, "CloudFormation drift not checked; reported as changed out of band");
                    } else {
                        tracing::warn!(event_id = %q.call.event_id, resource = %q.physical_id, stack = %stack.stack_name,
                            logical_id = %stack.logical_id, reason = %reason, "CloudFormation drift not checked (budget spent); reported as changed out of band");
                    }
                }
                stack::StackAnswer::Checked { stack, drift } => {
                    summary.cloudformation_owned += 1;
                    tracing::info!(event_id = %q.call.event_id, resource = %q.physical_id, stack = %stack.stack_name,
                        logical_id = %stack.logical_id, drift = drift.status.as_str(), "CloudFormation drift checked");
                }
                stack::StackAnswer::NotOwned => {}
            }
            stack::apply(pipeline, evaluation, &q, answer);
        }
        drop(budget);
        for i in unmanaged {
            let Some(evaluation) = evaluations.get_mut(i) else {
                continue;
            };
            let Some(id) = stack::unmanaged_candidate(evaluation).map(str::to_owned) else {
                continue;
            };
            summary.cloudformation_asked += 1;
            match self.stacks.stack_of(&id).await {
                Ok(Some(owner)) => {
                    summary.cloudformation_owned += 1;
                    stack::owned_by_stack(evaluation, &owner);
                }
                Ok(None) => {}
                Err(e) => {
                    summary.cloudformation_errors += 1;
                    tracing::error!(event_id = %evaluation.event_id, resource = %id, error = %e,
                        "CloudFormation ownership lookup failed; the resource is reported unmanaged");
                }
            }
        }
        if summary.cloudformation_asked > 0 {
            metrics.time("cloudformation", started.elapsed());
        }
        let started = Instant::now();
        let publisher = CountingJoins {
            inner: &self.publisher,
            joins: AtomicUsize::new(0),
        };
        let stored = self.store_all(evaluations, summary, &publisher).await;
        summary.joins += publisher.joins.load(Ordering::Relaxed);
        metrics.time("store", started.elapsed());
        if let Err(e) = stored {
            if matches!(e, ServiceError::Publish { .. }) {
                metrics.add(&metrics::PUBLISH_FAILURES, 1);
            }
            return Err(e.into());
        }
        if !errors.is_empty() {
            return Err(IngestError::InvalidInput(errors.join("; ")));
        }
        Ok(())
    }

    /// Counts each evaluation's outcome and stores the evaluations of one item (one per
    /// resource a call names) together.
    async fn store_all<P: EventPublisher<Error = AwsError> + Sync>(
        &self,
        evaluations: Vec<Evaluation>,
        summary: &mut Summary,
        publisher: &P,
    ) -> Result<(), ServiceError<AwsError, AwsError>> {
        let mut groups: Vec<Vec<Evaluation>> = Vec::new();
        for evaluation in evaluations {
            match groups.last_mut() {
                Some(group) if group[0].event_id == evaluation.event_id && !evaluation.event_id.is_empty() => {
                    group.push(evaluation)
                }
                _ => groups.push(vec![evaluation]),
            }
        }
        for group in groups {
            for evaluation in &group {
                summary.events += 1;
                match &evaluation.outcome {
                    Outcome::Skipped { reason } => {
                        tracing::debug!(event_id = %evaluation.event_id, reason = reason.as_str(), "Skipped");
                        *summary.skipped.entry(reason.as_str()).or_insert(0) += 1;
                    }
                    Outcome::Finding(f) => {
                        summary.findings += 1;
                        *summary.kinds.entry(f.kind.as_str()).or_insert(0) += 1;
                        *summary.severities.entry(f.severity.as_str()).or_insert(0) += 1;
                        tracing::info!(event_id = %evaluation.event_id, finding_id = %f.id, resource = %f.resource.id,
                            severity = f.severity.as_str(), kind = f.kind.as_str(), "Finding");
                    }
                    Outcome::Iac(i) => {
                        summary.iac_changes += 1;
                        tracing::info!(event_id = %evaluation.event_id, resource = %i.resource_key, "IaC change");
                    }
                    Outcome::Config(o) => {
                        summary.config_items += 1;
                        tracing::info!(event_id = %evaluation.event_id, resource = %o.resource.id,
                            evidence = o.evidence.factor(), "Config item");
                    }
                }
            }
            for handled in service::handle_all(&self.store, publisher, group).await? {
                summary.published += handled.published;
                summary.duplicates += usize::from(handled.duplicate);
            }
        }
        Ok(())
    }

    /// The full item of an oversized Config notification, from the S3 location it names.
    async fn fetch_oversized(&self, summary: &ConfigChange) -> Result<ConfigChange, IngestError> {
        let (bucket, key) = match summary.s3_bucket_key() {
            Some(Ok(location)) => location,
            Some(Err(e)) => return Err(IngestError::InvalidInput(e.to_string())),
            None => {
                return Err(IngestError::InvalidInput(
                    "oversized Config item names no S3 location".into(),
                ))
            }
        };
        if self.config.config_bucket.as_deref() != Some(bucket) {
            return Err(IngestError::InvalidInput(format!(
                "oversized Config item in s3://{bucket}/{key}, outside the Config bucket DRIFTGUARD_AWS_CONFIG_DELIVERY_BUCKET names"
            )));
        }
        let (bytes, _) = driftguard_aws::get_object_within(&self.s3, bucket, key, self.config.document_limit())
            .await
            .map_err(|e| match e {
                AwsError::TooLarge { .. } => IngestError::InvalidInput(format!("oversized Config item: {e}")),
                e => from_aws(&format!("fetching oversized Config item s3://{bucket}/{key}"), &e),
            })?;
        let full = ConfigChange::from_delivered_within(&bytes, self.config.document_limit())
            .map_err(|e| IngestError::InvalidInput(format!("oversized Config item s3://{bucket}/{key}: {e}")))?;
        if full.is_oversized() || full.resource_id != summary.resource_id {
            return Err(IngestError::InvalidInput(format!(
                "s3://{bucket}/{key} does not hold the full item of {} {}",
                summary.resource_type, summary.resource_id
            )));
        }
        Ok(full)
    }
}
