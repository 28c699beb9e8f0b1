//! One event through the whole service: evaluate, store, publish, mark processed — the order
//! that makes at-least-once delivery safe.
//!
//! A duplicate delivery of a processed event writes and publishes nothing. A delivery that
//! failed after storing but before publishing is retried: the store's conditional writes make
//! the second apply a no-op, and the finding's `Drift Detected` is published again from what is
//! stored (with the same key, so consumers that dedupe see it once). The processed marker is
//! written last.

use crate::findings::finding::{Status, Transition};
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
    let event_id = evaluation.event_id.clone();
    let store_err = |source| ServiceError::Store {
        event_id: event_id.clone(),
        source,
    };
    if store.processed(&event_id).await.map_err(store_err)? {
        return Ok(Handled {
            evaluation,
            published: 0,
            duplicate: true,
        });
    }
    let mut transitions = store.apply(std::slice::from_ref(&change)).await.map_err(store_err)?;
    if transitions.is_empty() {
        // Stored by an earlier delivery that did not get to publish: publish what is stored.
        let stored_id = match &change {
            Change::Finding(f) => Some(&f.id),
            Change::Config(o) => o.finding.as_ref().map(|f| &f.id),
            Change::Iac(_) => None,
        };
        if let Some(id) = stored_id {
            if let Some(stored) = store.get(id).await.map_err(store_err)? {
                let resolved = stored.status == Status::Resolved;
                transitions.push(Transition::Detected(Box::new(stored.clone())));
                if resolved {
                    transitions.push(Transition::Resolved(Box::new(stored)));
                }
            }
        }
    }
    let events: Vec<DriftEvent> = transitions.into_iter().map(DriftEvent::from).collect();
    let published = if events.is_empty() {
        0
    } else {
        publisher
            .publish(&events)
            .await
            .map_err(|source| ServiceError::Publish {
                event_id: event_id.clone(),
                source,
            })?
    };
    store.mark_processed(&event_id).await.map_err(store_err)?;
    Ok(Handled {
        evaluation,
        published,
        duplicate: false,
    })
}
