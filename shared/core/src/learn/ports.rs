//! Where labels and fitted weights are kept: [`LearningStore`], implemented by the embedded store,
//! the DynamoDB table and [`MemoryLearning`]; [`check_learning_store`] is the contract every one
//! of them passes.
//!
//! Weights are versioned: every fit is kept as `v<n>` with its training size and figures, and one
//! version is current (the hand-set `default` until a fit, and again after a reset).

use crate::drift::score::{Weights, DEFAULT_WEIGHTS};
use crate::learn::fit::{FitOptions, FitReport};
use crate::learn::label::Label;
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

/// A fitted version of the weights, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WeightsVersion {
    /// The version number (`weights.version` is `v<number>`).
    pub number: u32,
    /// The weights.
    pub weights: Weights,
    /// When it was fitted.
    pub fitted_at: Timestamp,
    /// Who fitted it.
    pub fitted_by: String,
    /// With what settings.
    pub options: FitOptions,
    /// What the fit did and how well it does.
    pub report: FitReport,
}

/// The name of version `number`.
pub fn version_name(number: u32) -> String {
    format!("v{number}")
}

/// Labels and weights.
pub trait LearningStore {
    /// The adapter's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Records a label: one per finding and person ([`Label::key`]), a later one replacing theirs.
    fn put_label(&self, label: &Label) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The labels on a finding.
    fn labels_of(&self, finding_id: &str) -> impl Future<Output = Result<Vec<Label>, Self::Error>> + Send;

    /// Every label, ordered by finding then key.
    fn all_labels(&self) -> impl Future<Output = Result<Vec<Label>, Self::Error>> + Send;

    /// Stores a fitted version under the next number and makes it current; returns it numbered
    /// (`number` and `weights.version` set by the store).
    fn add_weights(&self, version: WeightsVersion) -> impl Future<Output = Result<WeightsVersion, Self::Error>> + Send;

    /// The current version, `None` for the hand-set weights.
    fn current_weights(&self) -> impl Future<Output = Result<Option<WeightsVersion>, Self::Error>> + Send;

    /// Every fitted version, oldest first.
    fn weights_history(&self) -> impl Future<Output = Result<Vec<WeightsVersion>, Self::Error>> + Send;

    /// Makes version `number` current, or the hand-set weights with `None` (a reset). Fails for a
    /// number never stored.
    fn use_weights(&self, number: Option<u32>) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// The weights to score with: the current version's, or the hand-set ones.
pub fn scoring_weights(current: Option<WeightsVersion>) -> Weights {
    current.map_or_else(Weights::default, |v| v.weights)
}

/// In-memory [`LearningStore`].
#[derive(Debug, Default)]
pub struct MemoryLearning {
    state: Mutex<LearningState>,
}

#[derive(Debug, Default)]
struct LearningState {
    labels: BTreeMap<(String, String), Label>,
    versions: Vec<WeightsVersion>,
    current: Option<u32>,
}

/// The in-memory store's lock was poisoned, or a version does not exist.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LearningError(pub String);

impl MemoryLearning {
    fn with<T>(&self, f: impl FnOnce(&mut LearningState) -> Result<T, LearningError>) -> Result<T, LearningError> {
        let mut state = self.state.lock().map_err(|_| LearningError("lock poisoned".into()))?;
        f(&mut state)
    }
}

impl LearningStore for MemoryLearning {
    type Error = LearningError;

    fn put_label(&self, label: &Label) -> impl Future<Output = Result<(), LearningError>> + Send {
        let r = self.with(|s| {
            s.labels.insert((label.finding_id.clone(), label.key()), label.clone());
            Ok(())
        });
        std::future::ready(r)
    }

    fn labels_of(&self, finding_id: &str) -> impl Future<Output = Result<Vec<Label>, LearningError>> + Send {
        let r = self.with(|s| {
            Ok(s.labels
                .iter()
                .filter(|((f, _), _)| f == finding_id)
                .map(|(_, l)| l.clone())
                .collect())
        });
        std::future::ready(r)
    }

    fn all_labels(&self) -> impl Future<Output = Result<Vec<Label>, LearningError>> + Send {
        std::future::ready(self.with(|s| Ok(s.labels.values().cloned().collect())))
    }

    fn add_weights(
        &self,
        mut version: WeightsVersion,
    ) -> impl Future<Output = Result<WeightsVersion, LearningError>> + Send {
        let r = self.with(|s| {
            version.number = s.versions.last().map_or(1, |v| v.number + 1);
            version.weights.version = version_name(version.number);
            s.versions.push(version.clone());
            s.current = Some(version.number);
            Ok(version)
        });
        std::future::ready(r)
    }

    fn current_weights(&self) -> impl Future<Output = Result<Option<WeightsVersion>, LearningError>> + Send {
        let r = self.with(|s| {
            Ok(s.current
                .and_then(|n| s.versions.iter().find(|v| v.number == n).cloned()))
        });
        std::future::ready(r)
    }

    fn weights_history(&self) -> impl Future<Output = Result<Vec<WeightsVersion>, LearningError>> + Send {
        std::future::ready(self.with(|s| Ok(s.versions.clone())))
    }

    fn use_weights(&self, number: Option<u32>) -> impl Future<Output = Result<(), LearningError>> + Send {
        let r = self.with(|s| {
            if let Some(n) = number {
                if !s.versions.iter().any(|v| v.number == n) {
                    return Err(LearningError(format!("no weights version v{n}")));
                }
            }
            s.current = number;
            Ok(())
        });
        std::future::ready(r)
    }
}

/// The contract: labels replace per person, list per finding and in all; weights versions
/// number up, the latest fit is current, a reset returns to the hand-set weights, and an unknown
/// version is refused. Panics with the broken rule.
pub async fn check_learning_store<S: LearningStore>(store: &S) {
    use crate::learn::label::Verdict;
    use crate::remediation::Requester;
    let label = |finding: &str, user: &str, verdict, secs: i64| Label {
        finding_id: finding.into(),
        verdict,
        by: Requester {
            source: "slack".into(),
            user: user.into(),
        },
        at: Timestamp(secs * 1000),
        via: "slack:not_drift".into(),
        reason: None,
    };
    assert_eq!(
        store.current_weights().await.expect("read"),
        None,
        "no fit yet: hand-set weights"
    );
    store
        .put_label(&label("dg-a", "U1", Verdict::Drift, 10))
        .await
        .expect("put");
    store
        .put_label(&label("dg-a", "U1", Verdict::NotDrift, 20))
        .await
        .expect("put");
    store
        .put_label(&label("dg-a", "U2", Verdict::Intended, 15))
        .await
        .expect("put");
    store
        .put_label(&label("dg-b", "U1", Verdict::Drift, 30))
        .await
        .expect("put");
    let on_a = store.labels_of("dg-a").await.expect("read");
    assert_eq!(on_a.len(), 2, "one label per person: {on_a:?}");
    assert_eq!(
        crate::learn::label::standing(&on_a).map(|l| l.verdict),
        Some(Verdict::NotDrift),
        "the latest stands"
    );
    let all = store.all_labels().await.expect("read");
    assert_eq!(all.len(), 3, "{all:?}");
    assert!(
        all.contains(&label("dg-b", "U1", Verdict::Drift, 30)),
        "round trip: {all:?}"
    );

    let fitted = |prior: f64| {
        let weights = Weights {
            prior,
            ..Weights::default()
        };
        WeightsVersion {
            number: 0,
            weights,
            fitted_at: Timestamp(40_000),
            fitted_by: "cli:test".into(),
            options: FitOptions::default(),
            report: FitReport {
                labels: 60,
                positives: 40,
                brier_before: 0.2,
                brier_after: 0.1,
                log_loss_before: 0.6,
                log_loss_after: 0.4,
                brier_cross_validated: Some(0.12),
                iterations: 5,
                moved: Vec::new(),
            },
        }
    };
    let v1 = store.add_weights(fitted(-0.5)).await.expect("add");
    assert_eq!((v1.number, v1.weights.version.as_str()), (1, "v1"));
    let v2 = store.add_weights(fitted(-0.25)).await.expect("add");
    assert_eq!(v2.number, 2);
    let current = store.current_weights().await.expect("read").expect("v2 current");
    assert_eq!(current, v2, "the latest fit is current, stored whole");
    assert_eq!(store.weights_history().await.expect("read").len(), 2);
    store.use_weights(None).await.expect("reset");
    assert_eq!(
        store.current_weights().await.expect("read"),
        None,
        "a reset returns to the defaults"
    );
    assert_eq!(scoring_weights(None).version, DEFAULT_WEIGHTS);
    store.use_weights(Some(1)).await.expect("use v1");
    assert_eq!(store.current_weights().await.expect("read").map(|v| v.number), Some(1));
    assert!(
        store.use_weights(Some(9)).await.is_err(),
        "an unknown version is refused"
    );
    assert_eq!(store.current_weights().await.expect("read").map(|v| v.number), Some(1));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_memory_store_keeps_the_contract() {
        pollster_block_on(check_learning_store(&MemoryLearning::default()));
    }

    /// Runs a future that never waits (the memory store's are ready at once).
    fn pollster_block_on<F: Future>(future: F) -> F::Output {
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        let mut future = std::pin::pin!(future);
        loop {
            if let std::task::Poll::Ready(out) = future.as_mut().poll(&mut cx) {
                return out;
            }
        }
    }
}
