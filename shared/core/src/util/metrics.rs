//! What one invocation did, as one CloudWatch embedded metric format (EMF) line: the catalogue of
//! every metric DriftGuard writes ([`CATALOG`], read by the functions and by the test that checks
//! the template's alarms and dashboard), and [`Metrics`], which accumulates one invocation's
//! counts and durations and renders them ([`Metrics::render`]). Printing the line is the caller's
//! job; CloudWatch Logs turns it into metrics in the `DriftGuard` namespace.
//!
//! Every metric has one dimension, `Function` (the folder name under `functions/`). A breakdown
//! (skips by reason, findings by kind or severity, stage durations, ...) is not a second
//! dimension: EMF gives a dimension one value per document, and one invocation sees several
//! reasons and kinds, so each cell is a metric of its own named `<Name>.<value>` (for example
//! `FindingsBySeverity.critical`). The values are closed lists in this catalogue; a value outside
//! its list is counted under `other`, so the number of metrics stays bounded whatever the input.

use std::collections::BTreeMap;

/// The CloudWatch namespace of every DriftGuard metric.
pub const NAMESPACE: &str = "DriftGuard";
/// The one dimension every metric carries: which function wrote it.
pub const FUNCTION_DIMENSION: &str = "Function";
/// EMF accepts at most this many metrics in one directive; more are split over directives.
pub const MAX_METRICS_PER_DIRECTIVE: usize = 100;
/// The cell a breakdown value outside its list is counted under.
pub const OTHER: &str = "other";

/// The ingest function's `Function` value.
pub const INGEST: &str = "ingest";
/// The notify-slack function's `Function` value.
pub const NOTIFY_SLACK: &str = "notify-slack";
/// The slack-actions function's `Function` value.
pub const SLACK_ACTIONS: &str = "slack-actions";
/// The remediate function's `Function` value.
pub const REMEDIATE: &str = "remediate";
/// The reconcile function's `Function` value.
pub const RECONCILE: &str = "reconcile";
/// The iac-sync function's `Function` value.
pub const IAC_SYNC: &str = "iac-sync";
/// The securityhub function's `Function` value.
pub const SECURITYHUB: &str = "securityhub";
/// Every function, as named in the `Function` dimension.
pub const FUNCTIONS: &[&str] = &[
    INGEST,
    NOTIFY_SLACK,
    SLACK_ACTIONS,
    REMEDIATE,
    RECONCILE,
    IAC_SYNC,
    SECURITYHUB,
];

/// A CloudWatch unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A number of things.
    Count,
    /// Wall-clock time.
    Milliseconds,
}

impl Unit {
    /// CloudWatch's name for the unit.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
        }
    }
}

/// A breakdown of a metric into one metric per value (`<Name>.<value>`).
#[derive(Debug, Clone, Copy)]
pub struct Breakdown {
    /// What the values are (documentation: `Reason`, `Kind`, `Severity`, `Outcome`, `Stage`).
    pub by: &'static str,
    /// The values; anything else is counted under [`OTHER`].
    pub values: &'static [&'static str],
}

/// One metric of the catalogue.
#[derive(Debug, Clone, Copy)]
pub struct Metric {
    /// The metric name (a breakdown's cells add `.<value>`).
    pub name: &'static str,
    /// Its unit.
    pub unit: Unit,
    /// The functions that write it.
    pub functions: &'static [&'static str],
    /// Written on every invocation of those functions, zero when nothing happened (so an alarm
    /// sees a quiet period as zeros, not as missing data). Breakdowns and levels are written
    /// only when there is something to say.
    pub every_invocation: bool,
    /// Its breakdown, if it is one.
    pub breakdown: Option<Breakdown>,
    /// What it counts.
    pub about: &'static str,
}

impl Metric {
    /// Every metric name this entry can write: its name, or each of its cells (with `other`).
    pub fn names(&self) -> Vec<String> {
        match &self.breakdown {
            None => vec![self.name.to_owned()],
            Some(b) => b
                .values
                .iter()
                .chain(std::iter::once(&OTHER))
                .map(|v| format!("{}.{v}", self.name))
                .collect(),
        }
    }

    /// The metric name a breakdown value is written under (the value itself, or `other`).
    pub fn cell(&self, value: &str) -> String {
        let known = self.breakdown.is_some_and(|b| b.values.contains(&value));
        format!("{}.{}", self.name, if known { value } else { OTHER })
    }
}

const fn count(name: &'static str, functions: &'static [&'static str], about: &'static str) -> Metric {
    Metric {
        name,
        unit: Unit::Count,
        functions,
        every_invocation: true,
        breakdown: None,
        about,
    }
}

const fn by(
    name: &'static str,
    functions: &'static [&'static str],
    by: &'static str,
    values: &'static [&'static str],
    about: &'static str,
) -> Metric {
    Metric {
        name,
        unit: Unit::Count,
        functions,
        every_invocation: false,
        breakdown: Some(Breakdown { by, values }),
        about,
    }
}

/// Skip reasons (`core::pipeline::Skip::as_str`; a core test keeps the two equal).
pub const SKIP_REASONS: &[&str] = &[
    "failed_call",
    "read_only",
    "not_in_catalog",
    "no_resource_id",
    "aws_service",
    "outside_iac",
    "ignored",
    "config_oversized",
    "own_event",
    "state_object",
    "access_not_reported",
    "cloudformation_owned",
];
/// Finding kinds (`core::finding::FindingKind::as_str`).
pub const FINDING_KINDS: &[&str] = &["drift", "unmanaged", "missing", "access"];
/// Severities (`core::score::Severity::as_str`).
pub const SEVERITIES: &[&str] = &["minor", "major", "critical"];
/// What notify-slack did with an event (the `status` of its answer, or `failed`).
pub const NOTICE_OUTCOMES: &[&str] = &[
    "posted",
    "prompted",
    "updated",
    "digested",
    "skipped",
    "duplicate",
    "refused",
    "shadow",
    "flushed",
    "already_posted",
    "failed",
];
/// What slack-actions answered a request (`ok`, or why it refused it), or `failed`.
pub const ACTION_OUTCOMES: &[&str] = &["ok", "refused", "failed"];
/// What became of a remediation event (the `status` of remediate's answer, or `error` when the
/// invocation failed).
pub const REMEDIATION_OUTCOMES: &[&str] = &[
    "completed",
    "failed",
    "dry_run",
    "refused",
    "awaiting_approval",
    "not_awaiting",
    "duplicate",
    "skipped",
    "error",
];
/// The timed stages.
pub const STAGES: &[&str] = &[
    "states",
    "evaluate",
    "cloudformation",
    "store",
    "notify",
    "action",
    "remediate",
    "sweep",
    "sync",
    "import",
];

/// Items evaluated by ingest: one per resource a CloudTrail call or Config item names.
pub const EVENTS_IN: Metric = count(
    "EventsIn",
    &[INGEST],
    "evaluations of CloudTrail calls and Config items received (one per resource an item names)",
);
/// Evaluations skipped, whatever the reason.
pub const EVENTS_SKIPPED: Metric = count("EventsSkipped", &[INGEST], "evaluations skipped, any reason");
/// Evaluations skipped, by reason.
pub const EVENTS_SKIPPED_BY_REASON: Metric = by(
    "EventsSkippedByReason",
    &[INGEST],
    "Reason",
    SKIP_REASONS,
    "evaluations skipped, one metric per reason",
);
/// Findings the evaluations produced.
pub const FINDINGS: Metric = count(
    "Findings",
    &[INGEST, RECONCILE],
    "findings produced (ingest: by calls and Config items; reconcile: detected by a sweep run, written when the run finishes)",
);
/// Findings by kind.
pub const FINDINGS_BY_KIND: Metric = by(
    "FindingsByKind",
    &[INGEST],
    "Kind",
    FINDING_KINDS,
    "findings, one metric per kind",
);
/// Findings by severity.
pub const FINDINGS_BY_SEVERITY: Metric = by(
    "FindingsBySeverity",
    &[INGEST],
    "Severity",
    SEVERITIES,
    "findings, one metric per severity",
);
/// IaC changes seen.
pub const IAC_CHANGES: Metric = count("IacChanges", &[INGEST], "changes made by IaC (they resolve findings)");
/// Config items seen.
pub const CONFIG_ITEMS: Metric = count("ConfigItems", &[INGEST], "Config configuration items evaluated");
/// Joins: a call and its Config item met.
pub const JOINS: Metric = count(
    "Joins",
    &[INGEST],
    "drift events published for a later revision of a finding (a call and its Config item joined)",
);
/// Drift events published.
pub const DRIFT_EVENTS_PUBLISHED: Metric = count(
    "DriftEventsPublished",
    &[INGEST],
    "Drift Detected / Drift Resolved events EventBridge accepted",
);
/// Redelivered items.
pub const DUPLICATES: Metric = count(
    "Duplicates",
    &[INGEST],
    "items processed before (a redelivery): nothing written or published",
);
/// Publishing failures.
pub const PUBLISH_FAILURES: Metric = count(
    "PublishFailures",
    &[INGEST],
    "items whose drift events EventBridge refused (they wait in the outbox for the retry)",
);
/// SQS messages reported failed.
pub const MESSAGES_FAILED: Metric = count(
    "MessagesFailed",
    &[INGEST],
    "SQS messages reported failed (retried, then dead-lettered)",
);
/// Terraform states that cannot be read (a level, written when the states are checked).
pub const UNREADABLE_STATES: Metric = Metric {
    name: "UnreadableStates",
    unit: Unit::Count,
    functions: &[INGEST],
    every_invocation: false,
    breakdown: None,
    about: "Terraform states that could not be read or parsed at the last check (written when the states are checked)",
};
/// Whether the configuration file at its location fails its checks (a level: 1 while the function
/// runs on the last good one, else 0; written at every invocation of a function given one).
pub const CONFIG_REJECTED: Metric = Metric {
    name: "ConfigRejected",
    unit: Unit::Count,
    functions: &[INGEST],
    every_invocation: false,
    breakdown: None,
    about:
        "1 while the configuration file (DRIFTGUARD_CONFIG) fails its checks and the last good one is in use, else 0",
};
/// CloudFormation questions asked.
pub const CLOUDFORMATION_CHECKS: Metric = count(
    "CloudFormationChecks",
    &[INGEST],
    "resources outside Terraform CloudFormation was asked about",
);
/// CloudFormation questions that failed.
pub const CLOUDFORMATION_ERRORS: Metric = count(
    "CloudFormationErrors",
    &[INGEST],
    "CloudFormation calls that failed (the change is reported, drift unchecked)",
);
/// Slack messages posted or updated.
pub const SLACK_POSTS: Metric = count(
    "SlackPosts",
    &[NOTIFY_SLACK],
    "notices delivered to Slack: an alert posted, an approval prompt, an alert updated (with its thread reply), each digest posted",
);
/// What notify-slack did with each event.
pub const NOTICES_BY_OUTCOME: Metric = by(
    "NoticesByOutcome",
    &[NOTIFY_SLACK],
    "Outcome",
    NOTICE_OUTCOMES,
    "events notify-slack handled, one metric per outcome",
);
/// What slack-actions answered.
pub const ACTIONS_BY_OUTCOME: Metric = by(
    "SlackActionsByOutcome",
    &[SLACK_ACTIONS],
    "Outcome",
    ACTION_OUTCOMES,
    "Slack requests slack-actions answered, one metric per outcome",
);
/// Remediation requests handled.
pub const REMEDIATIONS: Metric = count(
    "Remediations",
    &[REMEDIATE],
    "remediations executed (completed or failed; dry runs and refusals are not)",
);
/// Remediation requests by outcome.
pub const REMEDIATIONS_BY_OUTCOME: Metric = by(
    "RemediationsByOutcome",
    &[REMEDIATE],
    "Outcome",
    REMEDIATION_OUTCOMES,
    "remediation events handled, one metric per outcome",
);
/// Live resources the sweep read.
pub const RESOURCES_SWEPT: Metric = count(
    "ResourcesSwept",
    &[RECONCILE],
    "live resources a sweep run read from AWS Config (written when the run finishes)",
);
/// Scopes whose sweep goes on in a later invocation.
pub const SWEEPS_INCOMPLETE: Metric = count(
    "SweepsIncomplete",
    &[RECONCILE],
    "scopes whose sweep stopped before its end (it goes on at the next invocation)",
);
/// Terraform state revisions recorded.
pub const STATES_SYNCED: Metric = count(
    "StatesSynced",
    &[IAC_SYNC],
    "Terraform state revisions recorded (or forgotten when deleted)",
);
/// State revisions refused or unreadable.
pub const STATES_REFUSED: Metric = count(
    "StatesRefused",
    &[IAC_SYNC],
    "Terraform state objects not recorded: older or conflicting revisions, unreadable objects",
);
/// Findings resolved because the new declaration codifies them.
pub const FINDINGS_CODIFIED: Metric = count(
    "FindingsCodified",
    &[IAC_SYNC],
    "open findings resolved because a new state declares what they found",
);
/// Findings Security Hub accepted.
pub const SECURITYHUB_IMPORTED: Metric = count(
    "SecurityHubFindingsImported",
    &[SECURITYHUB],
    "Security Hub findings imported (created or updated) for Drift Detected / Drift Resolved events",
);
/// Drift events that did not become a Security Hub finding.
pub const SECURITYHUB_FAILED: Metric = count(
    "SecurityHubImportFailures",
    &[SECURITYHUB],
    "drift events not imported: Security Hub refused the finding or the call failed, or the event was malformed (the invocation fails: retried, then dead-lettered)",
);
/// Time spent per stage.
pub const DURATION_BY_STAGE: Metric = Metric {
    name: "DurationByStage",
    unit: Unit::Milliseconds,
    functions: FUNCTIONS,
    every_invocation: false,
    breakdown: Some(Breakdown {
        by: "Stage",
        values: STAGES,
    }),
    about: "wall-clock time per stage of the invocation, one metric per stage",
};

/// Every metric DriftGuard writes.
pub const CATALOG: &[Metric] = &[
    EVENTS_IN,
    EVENTS_SKIPPED,
    EVENTS_SKIPPED_BY_REASON,
    FINDINGS,
    FINDINGS_BY_KIND,
    FINDINGS_BY_SEVERITY,
    IAC_CHANGES,
    CONFIG_ITEMS,
    JOINS,
    DRIFT_EVENTS_PUBLISHED,
    DUPLICATES,
    PUBLISH_FAILURES,
    MESSAGES_FAILED,
    UNREADABLE_STATES,
    CONFIG_REJECTED,
    CLOUDFORMATION_CHECKS,
    CLOUDFORMATION_ERRORS,
    SLACK_POSTS,
    NOTICES_BY_OUTCOME,
    ACTIONS_BY_OUTCOME,
    REMEDIATIONS,
    REMEDIATIONS_BY_OUTCOME,
    RESOURCES_SWEPT,
    SWEEPS_INCOMPLETE,
    STATES_SYNCED,
    STATES_REFUSED,
    FINDINGS_CODIFIED,
    SECURITYHUB_IMPORTED,
    SECURITYHUB_FAILED,
    DURATION_BY_STAGE,
];

/// The catalogue entry that writes `name` (a metric name or a breakdown cell), if any.
pub fn written(name: &str) -> Option<&'static Metric> {
    CATALOG.iter().find(|m| m.names().iter().any(|n| n == name))
}

/// One invocation's metrics, for one function.
#[derive(Debug, Clone)]
pub struct Metrics {
    function: &'static str,
    values: BTreeMap<String, (Unit, f64)>,
}

impl Metrics {
    /// Empty metrics for `function`, with a zero for each metric it writes on every invocation.
    pub fn new(function: &'static str) -> Self {
        let values = CATALOG
            .iter()
            .filter(|m| m.every_invocation && m.breakdown.is_none() && m.functions.contains(&function))
            .map(|m| (m.name.to_owned(), (m.unit, 0.0)))
            .collect();
        Metrics { function, values }
    }

    /// The function these metrics are for.
    pub fn function(&self) -> &'static str {
        self.function
    }

    /// Adds `n` to a metric (a breakdown's `n` goes to its `other` cell: use [`Metrics::add_by`]).
    pub fn add(&mut self, metric: &Metric, n: usize) {
        let name = match metric.breakdown {
            None => metric.name.to_owned(),
            Some(_) => metric.cell(OTHER),
        };
        self.values.entry(name).or_insert((metric.unit, 0.0)).1 += n as f64;
    }

    /// Adds `n` to the cell of `value` in a breakdown.
    pub fn add_by(&mut self, metric: &Metric, value: &str, n: usize) {
        self.values.entry(metric.cell(value)).or_insert((metric.unit, 0.0)).1 += n as f64;
    }

    /// Sets a level (such as [`UNREADABLE_STATES`]), replacing any earlier value.
    pub fn set(&mut self, metric: &Metric, n: usize) {
        self.values.insert(metric.name.to_owned(), (metric.unit, n as f64));
    }

    /// Adds the time spent in `stage` ([`DURATION_BY_STAGE`]).
    pub fn time(&mut self, stage: &str, elapsed: std::time::Duration) {
        self.values
            .entry(DURATION_BY_STAGE.cell(stage))
            .or_insert((Unit::Milliseconds, 0.0))
            .1 += elapsed.as_secs_f64() * 1000.0;
    }

    /// The value written under `name` so far.
    pub fn value(&self, name: &str) -> Option<f64> {
        self.values.get(name).map(|(_, v)| *v)
    }

    /// The EMF document, on one line: `_aws` (the timestamp, and one directive per hundred
    /// metrics, each in namespace [`NAMESPACE`] with the dimension set `[Function]`), the
    /// `Function` member and each metric's value at the top level.
    pub fn render(&self, timestamp_ms: u64) -> String {
        use serde_json::{json, Map, Value};
        let names: Vec<&String> = self.values.keys().collect();
        let directives: Vec<Value> = names
            .chunks(MAX_METRICS_PER_DIRECTIVE)
            .map(|chunk| {
                json!({
                    "Namespace": NAMESPACE,
                    "Dimensions": [[FUNCTION_DIMENSION]],
                    "Metrics": chunk
                        .iter()
                        .map(|n| json!({ "Name": n, "Unit": self.values[*n].0.as_str() }))
                        .collect::<Vec<_>>(),
                })
            })
            .collect();
        let mut doc = Map::new();
        doc.insert(
            "_aws".into(),
            json!({ "Timestamp": timestamp_ms, "CloudWatchMetrics": directives }),
        );
        doc.insert(FUNCTION_DIMENSION.into(), Value::from(self.function));
        for (name, (unit, v)) in &self.values {
            let value = match unit {
                // Counts are whole numbers; durations keep microseconds.
                Unit::Count => Value::from(*v as u64),
                Unit::Milliseconds => {
                    serde_json::Number::from_f64((v * 1000.0).round() / 1000.0).map_or(Value::from(0), Value::Number)
                }
            };
            doc.insert(name.clone(), value);
        }
        Value::Object(doc).to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// Checks `line` against the EMF specification's rules DriftGuard relies on, and answers
    /// each metric's value.
    fn check(line: &str) -> BTreeMap<String, f64> {
        assert!(!line.contains('\n'), "one line");
        let doc: Value = serde_json::from_str(line).expect("JSON");
        let aws = &doc["_aws"];
        assert!(aws["Timestamp"].is_u64(), "Timestamp in ms: {line}");
        let directives = aws["CloudWatchMetrics"].as_array().expect("CloudWatchMetrics");
        assert!(!directives.is_empty());
        let mut values = BTreeMap::new();
        for d in directives {
            assert_eq!(d["Namespace"], NAMESPACE);
            for set in d["Dimensions"].as_array().expect("Dimensions") {
                let set = set.as_array().expect("a dimension set");
                assert!(!set.is_empty() && set.len() <= 30);
                for key in set {
                    assert!(
                        doc[key.as_str().expect("name")].is_string(),
                        "dimension {key} at top level"
                    );
                }
            }
            let metrics = d["Metrics"].as_array().expect("Metrics");
            assert!(!metrics.is_empty() && metrics.len() <= MAX_METRICS_PER_DIRECTIVE);
            for m in metrics {
                let name = m["Name"].as_str().expect("Name");
                assert!(["Count", "Milliseconds"].contains(&m["Unit"].as_str().expect("Unit")));
                let v = doc[name]
                    .as_f64()
                    .unwrap_or_else(|| panic!("{name} has a number at top level: {line}"));
                assert!(values.insert(name.to_owned(), v).is_none(), "{name} once");
            }
        }
        values
    }

    #[test]
    fn a_quiet_invocation_writes_zeros_for_every_count() {
        let m = Metrics::new(INGEST);
        let values = check(&m.render(1_700_000_000_000));
        assert_eq!(values.get("EventsIn"), Some(&0.0));
        assert_eq!(values.get("Findings"), Some(&0.0));
        assert!(!values.contains_key("SlackPosts"), "another function's metric");
        assert!(
            !values.contains_key("UnreadableStates"),
            "a level is written when known"
        );
        let doc: Value = serde_json::from_str(&m.render(5)).expect("JSON");
        assert_eq!(doc["Function"], "ingest");
        assert_eq!(doc["_aws"]["Timestamp"], 5);
    }

    #[test]
    fn counts_and_breakdowns_add_up() {
        let mut m = Metrics::new(INGEST);
        m.add(&EVENTS_IN, 3);
        m.add(&EVENTS_IN, 2);
        m.add_by(&FINDINGS_BY_SEVERITY, "critical", 1);
        m.add_by(&FINDINGS_BY_SEVERITY, "critical", 1);
        m.add_by(&EVENTS_SKIPPED_BY_REASON, "read_only", 4);
        m.add_by(&EVENTS_SKIPPED_BY_REASON, "something new", 1);
        m.set(&UNREADABLE_STATES, 2);
        m.set(&UNREADABLE_STATES, 1);
        m.time("store", std::time::Duration::from_micros(1500));
        let values = check(&m.render(0));
        assert_eq!(values["EventsIn"], 5.0);
        assert_eq!(values["FindingsBySeverity.critical"], 2.0);
        assert_eq!(values["EventsSkippedByReason.read_only"], 4.0);
        assert_eq!(
            values["EventsSkippedByReason.other"], 1.0,
            "bounded: unknown values share one cell"
        );
        assert_eq!(values["UnreadableStates"], 1.0);
        assert_eq!(values["DurationByStage.store"], 1.5);
        assert!(
            !values.contains_key("FindingsBySeverity.minor"),
            "empty cells are left out"
        );
    }

    #[test]
    fn more_than_a_hundred_metrics_split_over_directives() {
        let mut m = Metrics::new(REMEDIATE);
        for i in 0..150 {
            // Not catalogue names: only the directive limit is under test here.
            m.values.insert(format!("M{i:03}"), (Unit::Count, i as f64));
        }
        let line = m.render(0);
        let doc: Value = serde_json::from_str(&line).expect("JSON");
        let directives = doc["_aws"]["CloudWatchMetrics"].as_array().expect("directives");
        assert_eq!(directives.len(), 2);
        assert_eq!(check(&line).len(), 151, "150, and Remediations zero-filled: {line}");
    }

    #[test]
    fn every_catalogue_name_is_unique_and_known() {
        let mut all: Vec<String> = CATALOG.iter().flat_map(Metric::names).collect();
        let n = all.len();
        all.sort();
        all.dedup();
        assert_eq!(all.len(), n, "a name written by two entries");
        assert_eq!(
            written("FindingsBySeverity.critical").map(|m| m.name),
            Some("FindingsBySeverity")
        );
        assert!(
            written("FindingsBySeverity").is_none(),
            "a breakdown writes only its cells"
        );
        assert_eq!(written("Findings").map(|m| m.name), Some("Findings"));
        assert!(written("Nonsense").is_none());
        for m in CATALOG {
            assert!(!m.functions.is_empty(), "{} is written by someone", m.name);
            assert!(m.functions.iter().all(|f| FUNCTIONS.contains(f)), "{}", m.name);
        }
    }
}
