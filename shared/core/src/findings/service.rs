//! One event through the whole service: evaluate, store, publish, mark processed — the order
//! that makes at-least-once delivery safe.
//!
//! A duplicate delivery of a processed event writes and publishes nothing. A delivery that
//! failed after storing but before publishing (or part-way through either) is retried: the
//! store's conditional writes make the second apply finish what the first left, and every
//! transition either attempt wrote waits in the store's outbox until it is published — a
//! `Drift Resolved` of an IaC change and the `:r2` revision of a Config join included. The
//! processed marker is written last.

use crate::findings::pipeline::{Evaluation, Outcome};
use crate::findings::ports::{Change, DriftEvent, EventPublisher, FindingStore};

/// What became of one item.
#[derive(Debug)]
pub struct Handled {
    /// The evaluation (outcome and trace).
    pub evaluation: Evaluation,
    /// Events published for it.
    pub published: usize,
    /// It had been processed before: nothing was written or published.
    pub duplicate: bool,
}

/// A store or publisher failure while handling an item.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError<S: std::error::Error + 'static, P: std::error::Error + 'static> {
    /// The store failed.
    #[error("storing event {event_id}: {source}")]
    Store {
        /// The event.
        event_id: String,
        /// The adapter's error.
        source: S,
    },
    /// The publisher failed.
    #[error("publishing drift events for event {event_id}: {source}")]
    Publish {
        /// The event.
        event_id: String,
        /// The adapter's error.
        source: P,
    },
}

/// Handles one evaluated item end to end (evaluation is synchronous and borrows the input, so
/// callers evaluate while decoding and hand the owned evaluations here).
pub async fn handle<S: FindingStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    evaluation: Evaluation,
) -> Result<Handled, ServiceError<S::Error, P::Error>> {
    let change = match &evaluation.outcome {
        Outcome::Finding(f) => Change::Finding(f.clone()),
        Outcome::Iac(i) => Change::Iac(i.clone()),
        Outcome::Config(o) => Change::Config(o.clone()),
        Outcome::Skipped { .. } => {
            return Ok(Handled {
                evaluation,
                published: 0,
                duplicate: false,
            })
        }
    };
    let published = handle_change(store, publisher, &evaluation.event_id, &change).await?;
    Ok(Handled {
        evaluation,
        published: published.unwrap_or(0),
        duplicate: published.is_none(),
    })
}

/// Handles every evaluation of one input item together: a call naming several resources gives
/// several evaluations with one `event_id` ([`crate::findings::pipeline::Pipeline::evaluate_each`]),
/// and they are stored in one batch before the event is marked processed, so none is lost to
/// the marker the first one would otherwise set. The evaluations must share their `event_id`.
pub async fn handle_all<S: FindingStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    evaluations: Vec<Evaluation>,
) -> Result<Vec<Handled>, ServiceError<S::Error, P::Error>> {
    let changes: Vec<Change> = evaluations
        .iter()
        .filter_map(|e| match &e.outcome {
            Outcome::Finding(f) => Some(Change::Finding(f.clone())),
            Outcome::Iac(i) => Some(Change::Iac(i.clone())),
            Outcome::Config(o) => Some(Change::Config(o.clone())),
            Outcome::Skipped { .. } => None,
        })
        .collect();
    let Some(event_id) = evaluations.first().map(|e| e.event_id.clone()) else {
        return Ok(Vec::new());
    };
    let published = if changes.is_empty() {
        Some(0)
    } else {
        handle_changes(store, publisher, &event_id, &changes).await?
    };
    let mut first = true;
    Ok(evaluations
        .into_iter()
        .map(|evaluation| {
            let stored = !matches!(evaluation.outcome, Outcome::Skipped { .. });
            let handled = Handled {
                published: if stored && first { published.unwrap_or(0) } else { 0 },
                duplicate: stored && published.is_none(),
                evaluation,
            };
            first &= !stored;
            handled
        })
        .collect())
}

/// One change end to end: skip it if `event_id` is marked processed (`Ok(None)`), else apply
/// it, drain its outbox ([`drain`]) and mark the event processed. Returns how many events were
/// published. Failing at any step leaves the work for the retry: the store's writes are
/// idempotent, and what was written but not published waits in the outbox.
pub async fn handle_change<S: FindingStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    event_id: &str,
    change: &Change,
) -> Result<Option<usize>, ServiceError<S::Error, P::Error>> {
    handle_changes(store, publisher, event_id, std::slice::from_ref(change)).await
}

/// As [`handle_change`], for the changes of one event (one per resource it named), applied in one
/// batch; each distinct origin's outbox is drained.
pub async fn handle_changes<S: FindingStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    event_id: &str,
    changes: &[Change],
) -> Result<Option<usize>, ServiceError<S::Error, P::Error>> {
    let store_err = |source| ServiceError::Store {
        event_id: event_id.to_owned(),
        source,
    };
    if store.processed(event_id).await.map_err(store_err)? {
        return Ok(None);
    }
    store.apply(changes).await.map_err(store_err)?;
    let mut origins: Vec<&str> = Vec::new();
    let mut published = 0;
    for change in changes {
        if !origins.contains(&change.origin()) {
            origins.push(change.origin());
            published += drain(store, publisher, event_id, change.origin()).await?;
        }
    }
    store.mark_processed(event_id).await.map_err(store_err)?;
    Ok(Some(published))
}

/// Publishes what `origin`'s outbox holds, in order, each event marked published right after
/// EventBridge took it, so a failure part-way re-publishes only what was not taken. (A crash
/// between the two publishes that one event again, with the same key.) `event_id` names the
/// input in errors.
pub async fn drain<S: FindingStore, P: EventPublisher>(
    store: &S,
    publisher: &P,
    event_id: &str,
    origin: &str,
) -> Result<usize, ServiceError<S::Error, P::Error>> {
    let store_err = |source| ServiceError::Store {
        event_id: event_id.to_owned(),
        source,
    };
    let events: Vec<DriftEvent> = store.unpublished(origin).await.map_err(store_err)?;
    let mut published = 0;
    for event in &events {
        published += publisher
            .publish(std::slice::from_ref(event))
            .await
            .map_err(|source| ServiceError::Publish {
                event_id: event_id.to_owned(),
                source,
            })?;
        store.mark_published(origin, &event.key).await.map_err(store_err)?;
    }
    Ok(published)
}
