//! Labels: a person's verdict on a finding. Slack decisions imply one (revert, re-apply and
//! acknowledge say the drift is real, accept says it is real but intended), the **Not drift**
//! button and `driftguard findings label` set one directly. A finding's label is the latest
//! verdict given on it.
//!
//! Label files (`driftguard labels export`, the input of `driftguard eval`) hold one JSON object
//! per line: `finding_id` (or `event_id`, optionally with `resource`, the resource id or key the
//! call named), `verdict` (`drift`, `intended`, `not_drift`), and optionally `by`, `at`, `via`,
//! `reason`; an export adds a snapshot of the finding, which readers ignore.

use crate::drift::score::Severity;
use crate::findings::finding::{Finding, FindingKind};
use crate::notify::interaction::{Action, Decision};
use crate::remediation::Requester;
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};

/// What a person said about a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Real drift: the live resource no longer matches IaC and should not stay so.
    Drift,
    /// Real drift, but intended: the change is kept (and codified).
    Intended,
    /// A false alarm: nothing drifted, or nothing that matters.
    NotDrift,
}

impl Verdict {
    /// Every verdict.
    pub const ALL: [Verdict; 3] = [Verdict::Drift, Verdict::Intended, Verdict::NotDrift];

    /// Whether the finding was real drift (intended or not): the positive class.
    pub fn is_real(self) -> bool {
        !matches!(self, Verdict::NotDrift)
    }

    /// Snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Drift => "drift",
            Verdict::Intended => "intended",
            Verdict::NotDrift => "not_drift",
        }
    }

    /// From its name (`not-drift` accepted for `not_drift`).
    pub fn parse(s: &str) -> Option<Verdict> {
        match s.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "drift" => Some(Verdict::Drift),
            "intended" => Some(Verdict::Intended),
            "not_drift" => Some(Verdict::NotDrift),
            _ => None,
        }
    }

    /// The verdict a Slack decision implies (approve implies none: it is about a request).
    pub fn of_action(action: Action) -> Option<Verdict> {
        match action {
            Action::Revert | Action::Reapply | Action::Acknowledge => Some(Verdict::Drift),
            Action::Accept => Some(Verdict::Intended),
            Action::NotDrift => Some(Verdict::NotDrift),
            Action::Approve => None,
        }
    }
}

/// A verdict on a finding, with who gave it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Label {
    /// The finding.
    pub finding_id: String,
    /// What they said.
    pub verdict: Verdict,
    /// Who (`slack` and a user id, `cli` and a name).
    pub by: Requester,
    /// When.
    pub at: Timestamp,
    /// How: `slack:<action>` for a button, `cli` for the command.
    pub via: String,
    /// Why, when they said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl Label {
    /// The label a Slack decision implies, if any.
    pub fn from_decision(d: &Decision) -> Option<Label> {
        Some(Label {
            finding_id: d.finding_id.clone(),
            verdict: Verdict::of_action(d.action)?,
            by: d.by.clone(),
            at: d.at,
            via: format!("slack:{}", d.action.as_str()),
            reason: None,
        })
    }

    /// Its key within the finding: one label per person (`<source>:<user>`); a later verdict
    /// from the same person replaces theirs.
    pub fn key(&self) -> String {
        format!("{}:{}", self.by.source, self.by.user)
    }
}

/// The label that stands on a finding: the latest (ties broken by key, so every store agrees).
pub fn standing(labels: &[Label]) -> Option<&Label> {
    labels
        .iter()
        .max_by(|a, b| a.at.cmp(&b.at).then_with(|| a.key().cmp(&b.key())))
}

/// What an export line says about the finding, for people and spreadsheets (readers ignore it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// [`crate::findings::finding::ResourceInfo::key`].
    pub resource: String,
    /// The finding's kind.
    pub kind: FindingKind,
    /// Its severity.
    pub severity: Severity,
    /// Its likelihood.
    pub likelihood: f64,
    /// The factors that scored it.
    pub factors: Vec<String>,
    /// The weights version that scored it.
    pub weights_version: String,
    /// The call's time.
    pub event_time: Timestamp,
}

impl Snapshot {
    /// The snapshot of a finding.
    pub fn of(f: &Finding) -> Snapshot {
        Snapshot {
            resource: f.resource.key(),
            kind: f.kind,
            severity: f.severity,
            likelihood: f.likelihood,
            factors: f.factors.iter().map(|x| x.name.clone()).collect(),
            weights_version: f.weights_version.clone(),
            event_time: f.call.time,
        }
    }
}

/// One line of a label file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabelLine {
    /// The finding, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding_id: Option<String>,
    /// Or the event (CloudTrail `eventID`, or a Config observation `cfg-…`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// With the event: the resource id, name or key, when the event names several.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The verdict.
    pub verdict: Verdict,
    /// Who.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<Requester>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Timestamp>,
    /// How it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// The finding as it was labelled (exports only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<Snapshot>,
}

impl LabelLine {
    /// The export line of a stored label, with its finding when it is still there.
    pub fn export(label: &Label, finding: Option<&Finding>) -> LabelLine {
        LabelLine {
            finding_id: Some(label.finding_id.clone()),
            event_id: finding.map(|f| f.call.event_id.clone()),
            resource: finding.map(|f| f.resource.key()),
            verdict: label.verdict,
            by: Some(label.by.clone()),
            at: Some(label.at),
            via: Some(label.via.clone()),
            reason: label.reason.clone(),
            finding: finding.map(Snapshot::of),
        }
    }

    /// Whether the line is about this finding: its id, or its event and (when given) resource
    /// (the id, the name in the ARN, or the key).
    pub fn matches(&self, f: &Finding) -> bool {
        if let Some(id) = &self.finding_id {
            return *id == f.id;
        }
        let Some(event) = &self.event_id else {
            return false;
        };
        *event == f.call.event_id
            && self
                .resource
                .as_deref()
                .is_none_or(|r| r == f.resource.id || r == f.resource.key() || f.resource.arn.as_deref() == Some(r))
    }

    /// The resource the line names without a finding: its `resource`, or its event.
    pub fn subject(&self) -> String {
        self.resource
            .clone()
            .or_else(|| self.finding.as_ref().map(|s| s.resource.clone()))
            .or_else(|| self.event_id.clone())
            .or_else(|| self.finding_id.clone())
            .unwrap_or_default()
    }
}

/// A label file that cannot be read: the line and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct LabelFileError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Reads a label file (JSON Lines; blank lines and `#` comments skipped). Every line must name
/// a finding or an event and give a verdict.
pub fn parse_lines(text: &str) -> Result<Vec<LabelLine>, LabelFileError> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let error = |message: String| LabelFileError { line: i + 1, message };
        let parsed: LabelLine = serde_json::from_str(line).map_err(|e| error(e.to_string()))?;
        if parsed.finding_id.is_none() && parsed.event_id.is_none() {
            return Err(error("names neither a finding_id nor an event_id".into()));
        }
        out.push(parsed);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verdicts_follow_the_decisions() {
        assert_eq!(Verdict::of_action(Action::Revert), Some(Verdict::Drift));
        assert_eq!(Verdict::of_action(Action::Accept), Some(Verdict::Intended));
        assert_eq!(Verdict::of_action(Action::NotDrift), Some(Verdict::NotDrift));
        assert_eq!(Verdict::of_action(Action::Approve), None);
        assert_eq!(Verdict::parse("not-drift"), Some(Verdict::NotDrift));
        assert_eq!(Verdict::parse("maybe"), None);
    }

    #[test]
    fn the_latest_label_stands() {
        let label = |user: &str, verdict, secs: i64| Label {
            finding_id: "dg-1".into(),
            verdict,
            by: Requester {
                source: "slack".into(),
                user: user.into(),
            },
            at: Timestamp(secs * 1000),
            via: "cli".into(),
            reason: None,
        };
        let labels = [label("U1", Verdict::Drift, 10), label("U2", Verdict::NotDrift, 20)];
        assert_eq!(standing(&labels).map(|l| l.verdict), Some(Verdict::NotDrift));
        assert_eq!(standing(&[]), None);
    }

    #[test]
    fn a_bad_line_is_named() {
        let text = "{\"finding_id\":\"dg-1\",\"verdict\":\"drift\"}\n\n# note\n{\"verdict\":\"drift\"}\n";
        let err = parse_lines(text).expect_err("second entry names nothing");
        assert_eq!(err.line, 4);
        let err = parse_lines("{\"finding_id\":\"dg-1\",\"verdict\":\"perhaps\"}").expect_err("bad verdict");
        assert_eq!(err.line, 1);
        assert!(err.message.contains("perhaps"), "{err}");
    }
}
