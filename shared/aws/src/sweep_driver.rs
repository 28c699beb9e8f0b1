//! [`ScopeSweep`]: one page of the reconcile sweep at a time, the same for the reconcile
//! function and `driftguard scan`.
//!
//! A page is: list one page of the current type ([`ConfigReader::list`]), read the live items
//! ([`ConfigReader::items`], and the full item where core asks for it), evaluate each with core's
//! [`Sweep`], after the type's last page add its missing declarations, ask CloudTrail's history
//! who made each new drift or missing finding (within a budget, cached per resource), and hand
//! every evaluation to core's service step ([`service::handle_all`]) on whatever store and
//! publisher the caller gives (the table and bus, or the embedded store). The caller owns the
//! run ([`Continuation`]): where it is saved, and when to stop.

use crate::cloudformation::CloudFormationStacks;
use crate::cloudtrail::{EventHistory, LookupFilter};
use crate::config_reader::ConfigReader;
use crate::error::AwsError;
use driftguard_core::join::LastWriter;
use driftguard_core::pipeline::{Evaluation, Outcome, Pipeline};
use driftguard_core::ports::{DriftEvent, DriftEventKind, EventPublisher, FindingStore};
use driftguard_core::service::{self, ServiceError};
use driftguard_core::stack::{self, StackOwnership};
use driftguard_core::sweep::{self, Continuation, Scope, Sweep, SweepReport, HISTORY_DAYS};
use driftguard_core::time::Timestamp;
use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

/// How a page failed.
#[derive(Debug, thiserror::Error)]
pub enum SweepError<S: std::error::Error + 'static, P: std::error::Error + 'static> {
    /// An AWS Config call failed.
    #[error("{context}: {source}")]
    Aws {
        /// What was being read (`listing AWS::S3::Bucket in 123456789012/eu-west-1`).
        context: String,
        /// The call's error.
        source: AwsError,
    },
    /// The store or the publisher failed.
    #[error(transparent)]
    Service(#[from] ServiceError<S, P>),
}

/// "Who did it" lookups: how many `LookupEvents` calls are left, the answers so far per
/// resource, and no lookup starts past the deadline. Shared by every scope of one invocation.
#[derive(Debug)]
pub struct Lookups {
    left: u64,
    deadline: Option<Instant>,
    cache: HashMap<String, LastWriter>,
}

impl Lookups {
    /// At most `budget` calls (0: none), none started after `deadline`.
    pub fn new(budget: u64, deadline: Option<Instant>) -> Lookups {
        Lookups {
            left: budget,
            deadline,
            cache: HashMap::new(),
        }
    }
}

/// What one page did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PageDone {
    /// Resources Config listed on the page.
    pub listed: u64,
    /// Items read and evaluated.
    pub read: u64,
    /// Whether the page was its type's last (the run moved on to the next type).
    pub type_done: bool,
}

/// The publisher, counting what it published by kind.
struct Counting<'p, P> {
    inner: &'p P,
    detected: AtomicU64,
    resolved: AtomicU64,
}

impl<P: EventPublisher + Sync> EventPublisher for Counting<'_, P> {
    type Error = P::Error;

    async fn publish(&self, events: &[DriftEvent]) -> Result<usize, P::Error> {
        let n = self.inner.publish(events).await?;
        for e in events {
            match e.kind {
                DriftEventKind::Detected => self.detected.fetch_add(1, Ordering::Relaxed),
                DriftEventKind::Resolved => self.resolved.fetch_add(1, Ordering::Relaxed),
            };
        }
        Ok(n)
    }
}

/// The sweep of one scope, page by page, into `store` and `publisher`.
pub struct ScopeSweep<'a, S, P> {
    pipeline: &'a Pipeline,
    sweep: Sweep<'a>,
    reader: ConfigReader,
    history: EventHistory,
    /// Who owns an undeclared resource without CloudFormation's tags (IAM roles carry none):
    /// asked in the scope's own account (not through an aggregator, whose session is ours).
    stacks: Option<CloudFormationStacks>,
    store: &'a S,
    publisher: Counting<'a, P>,
}

fn now() -> Timestamp {
    Timestamp(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}

impl<'a, S: FindingStore + Sync, P: EventPublisher + Sync> ScopeSweep<'a, S, P> {
    /// The sweep of `scope` over `pipeline`'s states, reading Config (through `aggregator`
    /// when one is named) and CloudTrail's history (calls spaced by `lookup_interval`) with
    /// `session`'s credentials.
    pub fn new(
        pipeline: &'a Pipeline,
        scope: Scope,
        session: &aws_config::SdkConfig,
        aggregator: Option<String>,
        lookup_interval: std::time::Duration,
        store: &'a S,
        publisher: &'a P,
    ) -> Self {
        ScopeSweep {
            pipeline,
            sweep: Sweep::new(pipeline, scope.clone()),
            stacks: aggregator.is_none().then(|| CloudFormationStacks::new(session)),
            reader: ConfigReader::new(session, scope, aggregator),
            history: EventHistory::new(session).with_interval(lookup_interval),
            store,
            publisher: Counting {
                inner: publisher,
                detected: AtomicU64::new(0),
                resolved: AtomicU64::new(0),
            },
        }
    }

    /// Asks `history` "who did it" instead (another endpoint, say).
    pub fn with_history(mut self, history: EventHistory) -> Self {
        self.history = history;
        self
    }

    /// The Config types a new run reads in the scope ([`Sweep::types`]).
    pub fn types(&self) -> Vec<String> {
        self.sweep.types()
    }

    /// A new run of the scope, started now.
    pub fn start(&self) -> Continuation {
        let mut run = Continuation::start(now(), self.types());
        run.report.complete = run.types.is_empty();
        run
    }

    /// A live evaluation that would report an unmanaged resource: when CloudFormation says a
    /// stack owns the resource, it is the stack's (skipped, counted as CloudFormation in the
    /// coverage). A failed lookup leaves it unmanaged, with a warning.
    async fn stack_owned(&self, run: &mut Continuation, ev: &mut Evaluation) {
        let Some(stacks) = &self.stacks else { return };
        let Some(id) = stack::unmanaged_candidate(ev).map(str::to_owned) else {
            return;
        };
        let (asked, _) = stacks.calls();
        match stacks.stack_of(&id).await {
            Ok(Some(owner)) => self.sweep.owned_by_stack(&mut run.report, ev, &owner),
            Ok(None) => {}
            Err(e) => tracing::warn!(scope = %self.sweep.scope().key(), resource = %id, error = %e,
                "CloudFormation ownership lookup failed; the resource stays unmanaged"),
        }
        if stacks.calls().0 > asked {
            run.report.call("cloudformation:DescribeStackResources");
        }
    }

    /// Reads, judges and stores the run's next page; counts it all on `run.report`. Nothing to
    /// do when every type is done.
    pub async fn page(
        &self,
        run: &mut Continuation,
        lookups: &mut Lookups,
    ) -> Result<PageDone, SweepError<S::Error, P::Error>> {
        let Some(resource_type) = run.current_type().map(str::to_owned) else {
            return Ok(PageDone::default());
        };
        let at = self.sweep.scope().key();
        let aws = |context: String| move |source: AwsError| SweepError::Aws { context, source };
        let started = Instant::now();
        let (detected, resolved) = (
            self.publisher.detected.load(Ordering::Relaxed),
            self.publisher.resolved.load(Ordering::Relaxed),
        );
        let page = self
            .reader
            .list(&resource_type, run.next_token.clone())
            .await
            .map_err(aws(format!("listing {resource_type} in {at}")))?;
        run.report.call(self.reader.list_operation());
        run.report.pages += 1;
        run.report.listed += page.resources.len() as u64;
        let mut done = PageDone {
            listed: page.resources.len() as u64,
            ..PageDone::default()
        };
        let fetch = self.sweep.listed(&mut run.progress, &page.resources);
        let read = self
            .reader
            .items(&fetch)
            .await
            .map_err(aws(format!("reading {resource_type} items in {at}")))?;
        *run.report
            .calls
            .entry(self.reader.batch_operation().to_owned())
            .or_insert(0) += read.calls;
        let mut evaluations: Vec<Evaluation> = Vec::with_capacity(read.items.len());
        for change in read.items {
            let change = if self.sweep.wants_full_item(&change) {
                run.report.call(self.reader.full_item_operation());
                let what = format!("reading {} {}", change.resource_type, change.resource_id);
                self.reader
                    .full_item(&change)
                    .await
                    .map_err(aws(what))?
                    .unwrap_or(change)
            } else {
                change
            };
            done.read += 1;
            let mut ev = self.sweep.live(&mut run.progress, &mut run.report, &change);
            self.stack_owned(run, &mut ev).await;
            evaluations.push(ev);
        }
        match page.next_token {
            Some(token) => run.next_token = Some(token),
            None => {
                let started_at = run.started;
                evaluations.extend(
                    self.sweep
                        .missing(&resource_type, &run.progress, started_at, &mut run.report),
                );
                run.next();
                done.type_done = true;
            }
        }
        for ev in evaluations {
            self.handle(ev, &mut run.report, lookups).await?;
        }
        run.report.detected += self.publisher.detected.load(Ordering::Relaxed) - detected;
        run.report.resolved += self.publisher.resolved.load(Ordering::Relaxed) - resolved;
        run.report.duration_ms += started.elapsed().as_millis() as u64;
        Ok(done)
    }

    /// One evaluation through the service step, after asking the history who made a new
    /// drift or missing finding.
    async fn handle(
        &self,
        mut ev: Evaluation,
        report: &mut SweepReport,
        lookups: &mut Lookups,
    ) -> Result<(), SweepError<S::Error, P::Error>> {
        if matches!(ev.outcome, Outcome::Skipped { .. }) {
            return Ok(());
        }
        if sweep::wants_writer(&ev)
            && !self
                .store
                .processed(&ev.event_id)
                .await
                .map_err(|source| ServiceError::Store {
                    event_id: ev.event_id.clone(),
                    source,
                })?
        {
            let name = ev
                .resource
                .as_ref()
                .map(|r| sweep::lookup_name(r).to_owned())
                .unwrap_or_default();
            let who = match lookups.cache.get(&name) {
                Some(known) => known.clone(),
                None => {
                    let who = self.last_writer(&name, report, lookups).await;
                    lookups.cache.insert(name, who.clone());
                    who
                }
            };
            if !sweep::name_writer(&mut ev, who) {
                report.unnamed += 1;
            }
        }
        for handled in service::handle_all(self.store, &self.publisher, vec![ev]).await? {
            report.unchanged += u64::from(handled.duplicate);
        }
        Ok(())
    }

    /// `LookupEvents` by resource name over the history, a few pages at most, within the
    /// budget and deadline.
    async fn last_writer(&self, name: &str, report: &mut SweepReport, lookups: &mut Lookups) -> LastWriter {
        const MAX_PAGES: u64 = 3;
        if lookups.left == 0 || lookups.deadline.is_some_and(|d| Instant::now() >= d) {
            return LastWriter::BudgetSpent;
        }
        let end = now();
        let start = Timestamp(end.0 - i64::from(HISTORY_DAYS) * 86_400_000);
        let mut records: Vec<String> = Vec::new();
        let mut pages = 0u64;
        let mut found: Option<LastWriter> = None;
        let left = lookups.left;
        let pipeline = self.pipeline;
        let result = self
            .history
            .lookup(&LookupFilter::Resource(name.to_owned()), start, end, |page| {
                pages += 1;
                records.extend(page.records);
                let who = sweep::last_writer(pipeline, &records);
                if matches!(who, LastWriter::Named { .. }) {
                    found = Some(who);
                    return ControlFlow::Break(());
                }
                if pages >= MAX_PAGES.min(left) {
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            })
            .await;
        lookups.left = lookups.left.saturating_sub(pages.max(1));
        report.lookups += pages.max(1);
        *report.calls.entry("cloudtrail:LookupEvents".to_owned()).or_insert(0) += pages.max(1);
        match result {
            Err(e) => LastWriter::LookupFailed { error: e.to_string() },
            Ok(_) => found.unwrap_or_else(|| sweep::last_writer(pipeline, &records)),
        }
    }
}
