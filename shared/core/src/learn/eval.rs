//! How good the findings are, against labels: confusion counts with precision, recall and F1 at
//! the finding and the resource level, the likelihood's Brier score and log loss, a reliability
//! table (predicted vs observed per likelihood decile), and breakdowns per kind and severity.
//!
//! A labelled item is *raised* when the pipeline made a finding for it and *real* when its
//! verdict is drift or intended. Raised and real is a true positive, raised and not drift a false
//! positive, real but never raised (a label on an event the pipeline skipped) a false negative.
//! Unlabelled findings are counted, never guessed. The likelihood figures cover raised items only:
//! an event with no finding has no likelihood.

use crate::findings::finding::Finding;
use crate::learn::label::LabelLine;
use serde::Serialize;
use std::collections::BTreeMap;

/// Likelihoods are clamped into [`EPSILON`, 1 − `EPSILON`] for the log loss (stored likelihoods
/// are rounded to three decimals, so 1.0 occurs).
pub const EPSILON: f64 = 1e-6;

/// Confusion counts and the figures drawn from them (serialised with `precision`, `recall` and
/// `f1`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Confusion {
    /// Raised, real.
    pub true_positives: usize,
    /// Raised, not drift.
    pub false_positives: usize,
    /// Real, not raised.
    pub false_negatives: usize,
    /// Not drift, not raised.
    pub true_negatives: usize,
}

impl Confusion {
    fn add(&mut self, raised: bool, real: bool) {
        match (raised, real) {
            (true, true) => self.true_positives += 1,
            (true, false) => self.false_positives += 1,
            (false, true) => self.false_negatives += 1,
            (false, false) => self.true_negatives += 1,
        }
    }

    /// TP / (TP + FP); `None` when nothing was raised.
    pub fn precision(&self) -> Option<f64> {
        ratio(self.true_positives, self.true_positives + self.false_positives)
    }

    /// TP / (TP + FN); `None` when nothing was real.
    pub fn recall(&self) -> Option<f64> {
        ratio(self.true_positives, self.true_positives + self.false_negatives)
    }

    /// Harmonic mean of precision and recall.
    pub fn f1(&self) -> Option<f64> {
        let (p, r) = (self.precision()?, self.recall()?);
        (p + r > 0.0).then(|| 2.0 * p * r / (p + r))
    }
}

impl Serialize for Confusion {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut out = serializer.serialize_struct("Confusion", 7)?;
        out.serialize_field("true_positives", &self.true_positives)?;
        out.serialize_field("false_positives", &self.false_positives)?;
        out.serialize_field("false_negatives", &self.false_negatives)?;
        out.serialize_field("true_negatives", &self.true_negatives)?;
        out.serialize_field("precision", &self.precision())?;
        out.serialize_field("recall", &self.recall())?;
        out.serialize_field("f1", &self.f1())?;
        out.end()
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

/// Brier score and log loss of likelihoods against outcomes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Calibration {
    /// How many scored items.
    pub n: usize,
    /// Mean squared error of the likelihood (0 is perfect, 0.25 is a coin).
    pub brier: Option<f64>,
    /// Mean negative log-likelihood (natural log).
    pub log_loss: Option<f64>,
}

/// Calibration of `(likelihood, real)` pairs.
pub fn calibration(scored: &[(f64, bool)]) -> Calibration {
    if scored.is_empty() {
        return Calibration::default();
    }
    let n = scored.len() as f64;
    let brier = scored
        .iter()
        .map(|(p, y)| (p - f64::from(u8::from(*y))).powi(2))
        .sum::<f64>()
        / n;
    let log_loss = scored
        .iter()
        .map(|(p, y)| {
            let p = p.clamp(EPSILON, 1.0 - EPSILON);
            if *y {
                -p.ln()
            } else {
                -(1.0 - p).ln()
            }
        })
        .sum::<f64>()
        / n;
    Calibration {
        n: scored.len(),
        brier: Some(brier),
        log_loss: Some(log_loss),
    }
}

/// One row of the reliability table: items whose likelihood falls in `[low, high)` (the last
/// bin includes 1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Bin {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
    /// Items.
    pub n: usize,
    /// Their mean likelihood.
    pub mean_predicted: Option<f64>,
    /// The share of them that was real.
    pub observed: Option<f64>,
}

/// The reliability table over ten likelihood deciles.
pub fn reliability(scored: &[(f64, bool)]) -> Vec<Bin> {
    (0..10)
        .map(|i| {
            let (low, high) = (f64::from(i) / 10.0, f64::from(i + 1) / 10.0);
            let inside: Vec<&(f64, bool)> = scored.iter().filter(|(p, _)| decile(*p) == i as usize).collect();
            let n = inside.len();
            Bin {
                low,
                high,
                n,
                mean_predicted: (n > 0).then(|| inside.iter().map(|(p, _)| p).sum::<f64>() / n as f64),
                observed: ratio(inside.iter().filter(|(_, y)| *y).count(), n),
            }
        })
        .collect()
}

fn decile(p: f64) -> usize {
    ((p.clamp(0.0, 1.0) * 10.0).floor() as usize).min(9)
}

/// Figures for one group of raised, labelled findings (a kind or a severity).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Group {
    /// Labelled findings in the group.
    pub labelled: usize,
    /// Of which real.
    pub real: usize,
    /// Of which not drift.
    pub not_drift: usize,
    /// real / labelled.
    pub precision: Option<f64>,
    /// Calibration within the group.
    pub brier: Option<f64>,
}

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// Label lines read.
    pub labels: usize,
    /// Findings the replay raised.
    pub findings: usize,
    /// Raised findings nobody labelled (left out of every figure).
    pub unlabelled_findings: usize,
    /// Per labelled item.
    pub finding_level: Confusion,
    /// Per resource: real when any label on it is real, raised when any finding on it was.
    pub resource_level: Confusion,
    /// The likelihood of raised, labelled findings.
    pub calibration: Calibration,
    /// Predicted vs observed per decile.
    pub reliability: Vec<Bin>,
    /// Per finding kind.
    pub by_kind: BTreeMap<String, Group>,
    /// Per severity.
    pub by_severity: BTreeMap<String, Group>,
}

/// Scores `findings` (from a replay) against `labels`. A line matching several findings (an
/// event naming several resources, labelled without `resource`) labels each of them.
pub fn evaluate(findings: &[Finding], labels: &[LabelLine]) -> Report {
    let mut finding_level = Confusion::default();
    let mut resources: BTreeMap<String, (bool, bool)> = BTreeMap::new();
    let mut scored = Vec::new();
    let mut labelled_ids = std::collections::BTreeSet::new();
    let mut by_kind: BTreeMap<String, Vec<(f64, bool)>> = BTreeMap::new();
    let mut by_severity: BTreeMap<String, Vec<(f64, bool)>> = BTreeMap::new();
    for line in labels {
        let real = line.verdict.is_real();
        let matched: Vec<&Finding> = findings.iter().filter(|f| line.matches(f)).collect();
        if matched.is_empty() {
            finding_level.add(false, real);
            let entry = resources.entry(line.subject()).or_default();
            entry.1 |= real;
            continue;
        }
        for f in matched {
            labelled_ids.insert(f.id.as_str());
            finding_level.add(true, real);
            let entry = resources.entry(f.resource.key()).or_default();
            entry.0 = true;
            entry.1 |= real;
            scored.push((f.likelihood, real));
            by_kind
                .entry(f.kind.as_str().to_owned())
                .or_default()
                .push((f.likelihood, real));
            by_severity
                .entry(f.severity.as_str().to_owned())
                .or_default()
                .push((f.likelihood, real));
        }
    }
    let mut resource_level = Confusion::default();
    for (raised, real) in resources.values() {
        resource_level.add(*raised, *real);
    }
    let group = |items: Vec<(f64, bool)>| {
        let real = items.iter().filter(|(_, y)| *y).count();
        Group {
            labelled: items.len(),
            real,
            not_drift: items.len() - real,
            precision: ratio(real, items.len()),
            brier: calibration(&items).brier,
        }
    };
    Report {
        labels: labels.len(),
        findings: findings.len(),
        unlabelled_findings: findings
            .iter()
            .filter(|f| !labelled_ids.contains(f.id.as_str()))
            .count(),
        finding_level,
        resource_level,
        calibration: calibration(&scored),
        reliability: reliability(&scored),
        by_kind: by_kind.into_iter().map(|(k, v)| (k, group(v))).collect(),
        by_severity: by_severity.into_iter().map(|(k, v)| (k, group(v))).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_by_hand() {
        let c = Confusion {
            true_positives: 3,
            false_positives: 1,
            false_negatives: 2,
            true_negatives: 0,
        };
        assert_eq!(c.precision(), Some(0.75));
        assert_eq!(c.recall(), Some(0.6));
        // 2 · 0.75 · 0.6 / 1.35 = 0.6667
        assert!((c.f1().expect("defined") - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(Confusion::default().precision(), None);

        // (0.9-1)² + (0.2-0)² = 0.01 + 0.04, over 2 = 0.025; log loss = -(ln 0.9 + ln 0.8) / 2.
        let cal = calibration(&[(0.9, true), (0.2, false)]);
        assert!((cal.brier.expect("scored") - 0.025).abs() < 1e-12);
        assert!((cal.log_loss.expect("scored") - (-(0.9f64.ln() + 0.8f64.ln()) / 2.0)).abs() < 1e-12);
        // A certain and wrong likelihood is a large but finite loss.
        assert!(calibration(&[(1.0, false)]).log_loss.expect("scored").is_finite());
    }

    #[test]
    fn reliability_bins_by_decile() {
        let bins = reliability(&[(0.05, false), (0.95, true), (1.0, true), (0.91, false)]);
        assert_eq!(bins.len(), 10);
        assert_eq!(bins[0].n, 1);
        assert_eq!(bins[9].n, 3);
        assert!((bins[9].observed.expect("items") - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(bins[5].mean_predicted, None);
    }
}
