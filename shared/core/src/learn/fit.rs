//! Fitting the likelihood's weights from labels. The likelihood is a logistic model over named
//! factors (`sigmoid(prior + Σ weights)`, [`crate::drift::score`]); fitting minimises the log loss
//! of the labelled findings plus an L2 penalty pulling every weight towards its hand-set value
//! (`λ/2 · Σ (w − w₀)²`), by Newton's method with step halving, each weight kept within
//! `bound` of its hand-set value and within ±[`MAX_ABS_WEIGHT`]. Below `min_labels` labels
//! nothing moves. A factor no label exercises keeps its hand-set weight (only the penalty acts
//! on it). The report gives the in-sample Brier score and log loss before and after, and a
//! five-fold cross-validated Brier score of the fit, the honest one.

use crate::drift::score::Weights;
use crate::learn::eval::{calibration, Calibration};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// No weight is ever fitted past this magnitude (log-odds; e^8 ≈ 3000:1).
pub const MAX_ABS_WEIGHT: f64 = 8.0;

/// How to fit.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FitOptions {
    /// L2 strength towards the hand-set weights (> 0; larger moves less).
    pub lambda: f64,
    /// How far (log-odds) a weight may move from its hand-set value.
    pub bound: f64,
    /// Labels needed before anything moves.
    pub min_labels: usize,
}

impl Default for FitOptions {
    fn default() -> Self {
        FitOptions {
            lambda: 1.0,
            bound: 2.0,
            min_labels: 50,
        }
    }
}

/// One labelled finding, as the model sees it: the factors that fired, and whether it was real.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// Factor names (`prior` may be among them; it is always in the model).
    pub factors: Vec<String>,
    /// Drift or intended (true), not drift (false).
    pub real: bool,
}

/// A weight that moved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Moved {
    /// The factor (`prior` for the prior).
    pub factor: String,
    /// Its hand-set (or previous) value.
    pub from: f64,
    /// Its fitted value.
    pub to: f64,
    /// Whether it stopped at its bound.
    pub at_bound: bool,
}

/// What a fit did and how well the weights do.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitReport {
    /// Labelled findings trained on.
    pub labels: usize,
    /// Of which real.
    pub positives: usize,
    /// In-sample Brier score with the starting weights.
    pub brier_before: f64,
    /// In-sample Brier score with the fitted weights.
    pub brier_after: f64,
    /// In-sample log loss with the starting weights.
    pub log_loss_before: f64,
    /// In-sample log loss with the fitted weights.
    pub log_loss_after: f64,
    /// Five-fold cross-validated Brier score of fitting (each fold scored by weights fitted
    /// without it); absent under ten labels.
    pub brier_cross_validated: Option<f64>,
    /// Newton iterations.
    pub iterations: usize,
    /// The weights that moved by more than 0.001, largest move first.
    pub moved: Vec<Moved>,
}

/// Why a fit did not happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FitError {
    /// Too few labels.
    #[error("fitting needs at least {needed} labelled findings; there are {have}")]
    TooFewLabels {
        /// The configured minimum.
        needed: usize,
        /// How many there are.
        have: usize,
    },
    /// Options that cannot work.
    #[error("invalid fit options: {0}")]
    Options(String),
}

/// Fits weights to the examples, starting from (and regularised towards) `base`. The result
/// carries `base`'s version; the caller names the new one.
pub fn fit(base: &Weights, examples: &[Example], options: &FitOptions) -> Result<(Weights, FitReport), FitError> {
    if !(options.lambda > 0.0 && options.lambda.is_finite()) {
        return Err(FitError::Options(format!(
            "lambda must be positive, not {}",
            options.lambda
        )));
    }
    if !(options.bound >= 0.0 && options.bound.is_finite()) {
        return Err(FitError::Options(format!(
            "bound must be zero or more, not {}",
            options.bound
        )));
    }
    if examples.len() < options.min_labels.max(1) {
        return Err(FitError::TooFewLabels {
            needed: options.min_labels.max(1),
            have: examples.len(),
        });
    }
    let model = Model::new(base, examples);
    let (w, iterations) = model.solve(examples.iter().enumerate().map(|(i, _)| i).collect(), options);
    let fitted = model.weights(base, &w);
    let scored = |weights: &Weights| -> Calibration {
        let pairs: Vec<(f64, bool)> = examples
            .iter()
            .map(|e| (weights.likelihood_of(e.factors.iter().map(String::as_str)), e.real))
            .collect();
        calibration(&pairs)
    };
    let (before, after) = (scored(base), scored(&fitted));
    let mut moved: Vec<Moved> = model
        .names
        .iter()
        .zip(&w)
        .zip(&model.start)
        .filter(|((_, to), from)| (**to - **from).abs() > 1e-3)
        .map(|((name, to), from)| Moved {
            factor: name.clone(),
            from: *from,
            to: *to,
            at_bound: (to - from).abs() >= options.bound - 1e-9 || to.abs() >= MAX_ABS_WEIGHT - 1e-9,
        })
        .collect();
    moved.sort_by(|a, b| (b.to - b.from).abs().total_cmp(&(a.to - a.from).abs()));
    let report = FitReport {
        labels: examples.len(),
        positives: examples.iter().filter(|e| e.real).count(),
        brier_before: before.brier.unwrap_or(0.0),
        brier_after: after.brier.unwrap_or(0.0),
        log_loss_before: before.log_loss.unwrap_or(0.0),
        log_loss_after: after.log_loss.unwrap_or(0.0),
        brier_cross_validated: cross_validated(&model, base, examples, options),
        iterations,
        moved,
    };
    Ok((fitted, report))
}

/// Five folds by position: each scored by weights fitted on the other four.
fn cross_validated(model: &Model, base: &Weights, examples: &[Example], options: &FitOptions) -> Option<f64> {
    const FOLDS: usize = 5;
    if examples.len() < 10 {
        return None;
    }
    let mut squared = 0.0;
    for fold in 0..FOLDS {
        let train: Vec<usize> = (0..examples.len()).filter(|i| i % FOLDS != fold).collect();
        let (w, _) = model.solve(train, options);
        let weights = model.weights(base, &w);
        for e in examples.iter().skip(fold).step_by(FOLDS) {
            let p = weights.likelihood_of(e.factors.iter().map(String::as_str));
            squared += (p - f64::from(u8::from(e.real))).powi(2);
        }
    }
    Some(squared / examples.len() as f64)
}

/// The design: parameter names (prior first), their starting values, each example's active
/// parameters.
struct Model {
    names: Vec<String>,
    start: Vec<f64>,
    rows: Vec<Vec<usize>>,
    targets: Vec<f64>,
}

impl Model {
    fn new(base: &Weights, examples: &[Example]) -> Model {
        let mut factor_names: BTreeSet<&str> = base.factors.keys().map(String::as_str).collect();
        factor_names.extend(examples.iter().flat_map(|e| e.factors.iter().map(String::as_str)));
        factor_names.remove("prior");
        let names: Vec<String> = std::iter::once("prior")
            .chain(factor_names)
            .map(str::to_owned)
            .collect();
        let start = names.iter().map(|n| base.weight(n)).collect();
        let rows = examples
            .iter()
            .map(|e| {
                let mut active: Vec<usize> = e
                    .factors
                    .iter()
                    .filter_map(|f| names.iter().position(|n| n == f))
                    .filter(|i| *i != 0)
                    .collect();
                active.sort_unstable();
                active.dedup();
                active.insert(0, 0);
                active
            })
            .collect();
        let targets = examples.iter().map(|e| f64::from(u8::from(e.real))).collect();
        Model {
            names,
            start,
            rows,
            targets,
        }
    }

    fn weights(&self, base: &Weights, w: &[f64]) -> Weights {
        let mut out = base.clone();
        out.prior = w[0];
        for (name, value) in self.names.iter().zip(w).skip(1) {
            out.factors.insert(name.clone(), *value);
        }
        out
    }

    fn clamp(&self, i: usize, v: f64, options: &FitOptions) -> f64 {
        let (lo, hi) = (self.start[i] - options.bound, self.start[i] + options.bound);
        v.clamp(lo.max(-MAX_ABS_WEIGHT), hi.min(MAX_ABS_WEIGHT))
    }

    fn objective(&self, train: &[usize], w: &[f64], lambda: f64) -> f64 {
        let loss: f64 = train
            .iter()
            .map(|&i| {
                let z: f64 = self.rows[i].iter().map(|&j| w[j]).sum();
                // log(1 + e^z) − y·z, computed without overflow.
                let softplus = if z > 0.0 {
                    z + (-z).exp().ln_1p()
                } else {
                    z.exp().ln_1p()
                };
                softplus - self.targets[i] * z
            })
            .sum();
        let penalty: f64 = w.iter().zip(&self.start).map(|(a, b)| (a - b).powi(2)).sum();
        loss + lambda / 2.0 * penalty
    }

    /// Newton's method on the penalised log loss over the `train` rows, projected onto the
    /// bounds, halving the step until the objective does not rise.
    fn solve(&self, train: Vec<usize>, options: &FitOptions) -> (Vec<f64>, usize) {
        let k = self.names.len();
        let start: Vec<f64> = (0..k).map(|i| self.clamp(i, self.start[i], options)).collect();
        let mut w = start;
        let mut current = self.objective(&train, &w, options.lambda);
        for iteration in 1..=100 {
            let mut gradient: Vec<f64> = w
                .iter()
                .zip(&self.start)
                .map(|(a, b)| options.lambda * (a - b))
                .collect();
            let mut hessian = vec![vec![0.0; k]; k];
            for (i, row) in hessian.iter_mut().enumerate() {
                row[i] = options.lambda;
            }
            for &i in &train {
                let z: f64 = self.rows[i].iter().map(|&j| w[j]).sum();
                let p = 1.0 / (1.0 + (-z).exp());
                let curvature = p * (1.0 - p);
                for &a in &self.rows[i] {
                    gradient[a] += p - self.targets[i];
                    for &b in &self.rows[i] {
                        hessian[a][b] += curvature;
                    }
                }
            }
            let Some(direction) = solve_linear(hessian, gradient) else {
                return (w, iteration);
            };
            let mut step = 1.0;
            let (next, value) = loop {
                let candidate: Vec<f64> = (0..k)
                    .map(|i| self.clamp(i, w[i] - step * direction[i], options))
                    .collect();
                let value = self.objective(&train, &candidate, options.lambda);
                if value <= current + 1e-12 || step < 1e-6 {
                    break (candidate, value);
                }
                step /= 2.0;
            };
            let change = next.iter().zip(&w).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
            w = next;
            current = value;
            if change < 1e-9 {
                return (w, iteration);
            }
        }
        (w, 100)
    }
}

/// Solves `a · x = b` by Gaussian elimination with partial pivoting; `None` when singular.
fn solve_linear(mut a: Vec<Vec<f64>>, mut b: Vec<f64>) -> Option<Vec<f64>> {
    let n = b.len();
    for col in 0..n {
        let pivot = (col..n).max_by(|&x, &y| a[x][col].abs().total_cmp(&a[y][col].abs()))?;
        if a[pivot][col].abs() < 1e-12 {
            return None;
        }
        a.swap(col, pivot);
        b.swap(col, pivot);
        let (upper, lower) = a.split_at_mut(col + 1);
        let pivot_row = &upper[col];
        for (offset, row) in lower.iter_mut().enumerate() {
            let factor = row[col] / pivot_row[col];
            if factor == 0.0 {
                continue;
            }
            for (cell, above) in row.iter_mut().zip(pivot_row).skip(col) {
                *cell -= factor * above;
            }
            b[col + 1 + offset] -= factor * b[col];
        }
    }
    let mut x = vec![0.0; n];
    for row in (0..n).rev() {
        let tail: f64 = (row + 1..n).map(|c| a[row][c] * x[c]).sum();
        x[row] = (b[row] - tail) / a[row][row];
    }
    Some(x)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small deterministic generator (xorshift64*), so the synthetic labels are the same on
    /// every run.
    struct Rng(u64);

    impl Rng {
        fn next(&mut self) -> f64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    /// Labels drawn from a known model: four factors, each present half the time.
    fn synthetic(truth: &Weights, n: usize, seed: u64) -> Vec<Example> {
        let names = ["actor.human", "channel.console", "diff.confirmed", "op.tag_only"];
        let mut rng = Rng(seed);
        (0..n)
            .map(|_| {
                let factors: Vec<String> = names
                    .iter()
                    .filter(|_| rng.next() < 0.5)
                    .map(|s| (*s).to_owned())
                    .collect();
                let p = truth.likelihood_of(factors.iter().map(String::as_str));
                Example {
                    real: rng.next() < p,
                    factors,
                }
            })
            .collect()
    }

    fn truth() -> Weights {
        let mut t = Weights {
            prior: -0.5,
            ..Weights::default()
        };
        t.factors.insert("actor.human".into(), 1.5);
        t.factors.insert("channel.console".into(), 1.2);
        t.factors.insert("diff.confirmed".into(), 0.2);
        t.factors.insert("op.tag_only".into(), -2.0);
        t
    }

    #[test]
    fn fitting_recovers_the_weights_that_generated_the_labels() {
        let examples = synthetic(&truth(), 20_000, 0x9E37_79B9_7F4A_7C15);
        let options = FitOptions {
            lambda: 0.01,
            bound: 4.0,
            min_labels: 50,
        };
        let (fitted, report) = fit(&Weights::default(), &examples, &options).expect("enough labels");
        // Tolerance 0.15 log-odds: the sampling error of 20,000 labels is about 0.04 per weight.
        for name in [
            "prior",
            "actor.human",
            "channel.console",
            "diff.confirmed",
            "op.tag_only",
        ] {
            let (got, want) = (fitted.weight(name), truth().weight(name));
            assert!(
                (got - want).abs() < 0.15,
                "{name}: fitted {got:.3}, generated with {want}"
            );
        }
        assert!(report.brier_after < report.brier_before, "{report:?}");
        assert!(report.log_loss_after < report.log_loss_before, "{report:?}");
        let cv = report.brier_cross_validated.expect("enough labels for folds");
        assert!(
            (cv - report.brier_after).abs() < 0.01,
            "cross-validated {cv} vs in-sample {}",
            report.brier_after
        );
        // A factor no label exercises keeps its hand-set weight.
        assert_eq!(fitted.weight("op.access"), Weights::default().weight("op.access"));
    }

    #[test]
    fn no_weight_moves_past_its_bound() {
        // Every human change labelled a false alarm pushes actor.human far down.
        let examples: Vec<Example> = (0..200)
            .map(|i| Example {
                factors: vec!["actor.human".into(), "channel.console".into()],
                real: i % 50 == 0,
            })
            .collect();
        let options = FitOptions {
            lambda: 0.001,
            bound: 1.0,
            min_labels: 10,
        };
        let base = Weights::default();
        let (fitted, report) = fit(&base, &examples, &options).expect("enough labels");
        for (name, value) in fitted
            .factors
            .iter()
            .map(|(n, v)| (n.as_str(), *v))
            .chain([("prior", fitted.prior)])
        {
            let start = base.weight(name);
            assert!(
                (value - start).abs() <= 1.0 + 1e-9,
                "{name} moved from {start} to {value}"
            );
        }
        assert!(fitted.weight("actor.human") < base.weight("actor.human"));
        assert!(report.moved.iter().any(|m| m.at_bound), "{report:?}");
    }

    #[test]
    fn too_few_labels_move_nothing() {
        let examples = synthetic(&truth(), 49, 7);
        let err = fit(&Weights::default(), &examples, &FitOptions::default()).expect_err("49 < 50");
        assert_eq!(err, FitError::TooFewLabels { needed: 50, have: 49 });
        assert!(err.to_string().contains("at least 50"));
        let bad = FitOptions {
            lambda: 0.0,
            ..FitOptions::default()
        };
        assert!(matches!(
            fit(&Weights::default(), &examples, &bad),
            Err(FitError::Options(_))
        ));
    }
}
