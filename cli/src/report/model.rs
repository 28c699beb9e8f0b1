//! The report's content, pure: stored findings and the last sweep of each scope in, a
//! [`Report`] out. The console summary, the JSON file and the HTML page all render this one
//! value, so they never disagree.

use driftguard_core::finding::{channel_phrase, Finding, Status};
use driftguard_core::join::LastWriter;
use driftguard_core::score::Severity;
use driftguard_core::sweep::{Scope, SweepReport};
use driftguard_core::time::Timestamp;
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// How many resources the "drift most" list shows.
pub const HOTSPOTS: usize = 10;
/// How many days the timeline spans at most (ending on the last day with a change).
pub const TIMELINE_DAYS: usize = 90;
/// How many characters of an expected or found value are kept.
const VALUE_CHARS: usize = 600;

/// The last complete sweep of one scope.
#[derive(Debug, Clone)]
pub struct SweepInput<'a> {
    /// Where.
    pub scope: &'a Scope,
    /// When it finished.
    pub finished_at: Timestamp,
    /// What it read and counted.
    pub report: &'a SweepReport,
}

/// Everything a report shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// When the report was made.
    pub generated_at: String,
    /// Where the findings came from (the store's path).
    pub source: String,
    /// The last sweep of each scope.
    pub sweeps: Vec<SweepRow>,
    /// IaC coverage per account and resource type, from those sweeps.
    pub coverage: Vec<CoverageRow>,
    /// Counts.
    pub totals: Totals,
    /// Every finding: open ones first, most severe first, newest first.
    pub findings: Vec<FindingRow>,
    /// The resources with the most findings.
    pub hotspots: Vec<Hotspot>,
    /// Who changed things by hand, most changes first.
    pub actors: Vec<ActorRow>,
    /// Manual changes per day (UTC), oldest first, days without a change included.
    pub timeline: Vec<Day>,
}

/// One scope's last sweep.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRow {
    /// `<account>/<region>`.
    pub scope: String,
    /// When it finished.
    pub finished_at: String,
    /// Whether every type was read to its last page.
    pub complete: bool,
    /// Resources Config listed.
    pub listed: u64,
    /// Items read.
    pub read: u64,
    /// Items compared with a declaration.
    pub compared: u64,
    /// Drift Detected transitions (new findings and revisions).
    pub detected: u64,
    /// Drift Resolved transitions.
    pub resolved: u64,
    /// AWS calls by operation.
    pub calls: BTreeMap<String, u64>,
    /// Time spent, in milliseconds.
    pub duration_ms: u64,
}

/// IaC coverage of one account and type.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CoverageRow {
    /// The account.
    pub account: String,
    /// The Config resource type.
    pub resource_type: String,
    /// Live and declared.
    pub managed: u64,
    /// Live, next to managed ones, declared nowhere.
    pub unmanaged: u64,
    /// Declared, not live.
    pub missing: u64,
    /// Live, owned by a CloudFormation stack.
    pub cloudformation: u64,
    /// Live, undeclared, dropped by an ignore rule.
    pub ignored: u64,
    /// Share of the live resources some IaC owns (Terraform or CloudFormation), 0 to 1;
    /// `None` when nothing live was seen.
    pub iac_share: Option<f64>,
}

/// Counts over the findings.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Every finding.
    pub findings: u64,
    /// Open ones.
    pub open: u64,
    /// Resolved ones.
    pub resolved: u64,
    /// Open findings by kind.
    pub open_by_kind: BTreeMap<String, u64>,
    /// Open findings by severity.
    pub open_by_severity: BTreeMap<String, u64>,
}

/// One attribute: what IaC declares against what was found.
#[derive(Debug, Clone, Serialize)]
pub struct Attribute {
    /// The attribute path.
    pub attribute: String,
    /// The declared value, as text.
    pub expected: String,
    /// The live value, as text.
    pub found: String,
}

/// One finding, as the report shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FindingRow {
    /// `dg-…`.
    pub id: String,
    /// drift, unmanaged, missing, access.
    pub kind: String,
    /// minor, major, critical.
    pub severity: String,
    /// open, resolved.
    pub status: String,
    /// Drift likelihood, 0 to 1.
    pub likelihood: f64,
    /// e.g. `AWS::S3::Bucket`.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// Its account.
    pub account: String,
    /// Its region.
    pub region: String,
    /// The IaC address, when declared.
    pub iac_address: Option<String>,
    /// Who made the change, when known.
    pub who: Option<String>,
    /// How (console, CLI, …).
    pub how: String,
    /// When (the call, or the sweep's observation).
    pub when: String,
    /// The attributes that drifted.
    pub changes: Vec<Attribute>,
    /// The one-paragraph summary.
    pub summary: String,
    /// The suggested fix.
    pub fix: String,
}

/// A resource with findings.
#[derive(Debug, Clone, Serialize)]
pub struct Hotspot {
    /// e.g. `AWS::S3::Bucket`.
    pub resource_type: String,
    /// The resource id.
    pub resource_id: String,
    /// Its account.
    pub account: String,
    /// Findings on it.
    pub findings: u64,
    /// Of which open.
    pub open: u64,
    /// The kinds among them.
    pub kinds: Vec<String>,
    /// The newest one's time.
    pub last: String,
}

/// One person or tool that changed things by hand.
#[derive(Debug, Clone, Serialize)]
pub struct ActorRow {
    /// Who.
    pub who: String,
    /// How, in the words of the findings (`with the AWS CLI`, …), most used first.
    pub how: Vec<String>,
    /// Findings naming them.
    pub changes: u64,
    /// Distinct resources.
    pub resources: u64,
    /// The newest change.
    pub last: String,
}

/// Manual changes on one day.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Day {
    /// `YYYY-MM-DD`.
    pub day: String,
    /// Minor findings raised that day.
    pub minor: u64,
    /// Major ones.
    pub major: u64,
    /// Critical ones.
    pub critical: u64,
}

impl Day {
    /// All of that day's changes.
    pub fn total(&self) -> u64 {
        self.minor + self.major + self.critical
    }
}

/// One actor's changes, while counting.
#[derive(Default)]
struct Tally {
    changes: u64,
    how: BTreeMap<String, u64>,
    resources: BTreeSet<String>,
    last: String,
}

/// Who a finding names: the call's actor, else who CloudTrail's history named for a sweep
/// finding.
pub fn who(f: &Finding) -> Option<String> {
    if let Some(w) = f.who() {
        return Some(w.to_owned());
    }
    match f.config.as_ref().and_then(|c| c.who.as_ref()) {
        Some(LastWriter::Named { who, .. }) => Some(who.clone()),
        _ => None,
    }
}

fn value_text(v: &Value) -> String {
    let text = match v {
        Value::Null => "(not set)".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > VALUE_CHARS {
        let cut: String = text.chars().take(VALUE_CHARS).collect();
        format!("{cut}…")
    } else {
        text
    }
}

fn severity_rank(s: &str) -> u8 {
    match s {
        "critical" => 0,
        "major" => 1,
        _ => 2,
    }
}

/// The row of one finding.
fn row(f: &Finding) -> FindingRow {
    let mut changes: Vec<Attribute> = f
        .changes
        .iter()
        .filter(|c| c.drifted)
        .map(|c| Attribute {
            attribute: c.attribute.clone(),
            expected: value_text(&c.expected),
            found: value_text(&c.found),
        })
        .collect();
    if changes.is_empty() {
        if let Some(config) = &f.config {
            changes.extend(config.drifted.iter().map(|c| Attribute {
                attribute: c.attribute.clone(),
                expected: value_text(&c.expected),
                found: value_text(&c.found),
            }));
        }
    }
    let how = match f.config.as_ref().and_then(|c| c.who.as_ref()) {
        Some(LastWriter::Named { call, .. }) if f.who().is_none() => {
            format!("{call} (from CloudTrail's history)")
        }
        _ if f.who().is_none() && f.config.is_some() => "seen by AWS Config".to_owned(),
        _ => channel_phrase(f.actor.channel).to_owned(),
    };
    FindingRow {
        id: f.id.clone(),
        kind: f.kind.as_str().to_owned(),
        severity: f.severity.as_str().to_owned(),
        status: match f.status {
            Status::Open => "open",
            Status::Resolved => "resolved",
        }
        .to_owned(),
        likelihood: f.likelihood,
        resource_type: f.resource.resource_type.clone(),
        resource_id: f.resource.id.clone(),
        account: f.resource.account.clone(),
        region: f.resource.region.clone(),
        iac_address: f.owner.as_ref().map(|o| o.address.clone()),
        who: who(f),
        how,
        when: f.call.time.to_string(),
        changes,
        summary: f.summary.clone(),
        fix: f.fix.clone(),
    }
}

/// The report over `findings` and the scopes' last `sweeps`, made at `now`, from `source`.
pub fn build(findings: &[Finding], sweeps: &[SweepInput<'_>], source: &str, now: Timestamp) -> Report {
    let mut rows: Vec<FindingRow> = findings.iter().map(row).collect();
    rows.sort_by(|a, b| {
        (a.status != "open")
            .cmp(&(b.status != "open"))
            .then_with(|| severity_rank(&a.severity).cmp(&severity_rank(&b.severity)))
            .then_with(|| b.when.cmp(&a.when))
            .then_with(|| a.id.cmp(&b.id))
    });

    let mut totals = Totals {
        findings: findings.len() as u64,
        ..Totals::default()
    };
    for f in findings {
        match f.status {
            Status::Open => {
                totals.open += 1;
                *totals.open_by_kind.entry(f.kind.as_str().to_owned()).or_insert(0) += 1;
                *totals
                    .open_by_severity
                    .entry(f.severity.as_str().to_owned())
                    .or_insert(0) += 1;
            }
            Status::Resolved => totals.resolved += 1,
        }
    }

    let mut coverage: BTreeMap<(String, String), CoverageRow> = BTreeMap::new();
    for s in sweeps {
        for (key, c) in &s.report.coverage {
            let (account, resource_type) = key.split_once('/').unwrap_or(("", key.as_str()));
            let r = coverage
                .entry((account.to_owned(), resource_type.to_owned()))
                .or_insert_with(|| CoverageRow {
                    account: account.to_owned(),
                    resource_type: resource_type.to_owned(),
                    managed: 0,
                    unmanaged: 0,
                    missing: 0,
                    cloudformation: 0,
                    ignored: 0,
                    iac_share: None,
                });
            r.managed += c.managed;
            r.unmanaged += c.unmanaged;
            r.missing += c.missing;
            r.cloudformation += c.cloudformation;
            r.ignored += c.ignored;
        }
    }
    let coverage: Vec<CoverageRow> = coverage
        .into_values()
        .map(|mut r| {
            let live = r.managed + r.unmanaged + r.cloudformation;
            r.iac_share = (live > 0).then(|| (r.managed + r.cloudformation) as f64 / live as f64);
            r
        })
        .collect();

    let mut spots: BTreeMap<(String, String, String), Hotspot> = BTreeMap::new();
    let mut actors: BTreeMap<String, Tally> = BTreeMap::new();
    let mut days: BTreeMap<String, Day> = BTreeMap::new();
    for (f, r) in findings.iter().map(|f| (f, row(f))) {
        let key = (r.account.clone(), r.resource_type.clone(), r.resource_id.clone());
        let h = spots.entry(key).or_insert_with(|| Hotspot {
            resource_type: r.resource_type.clone(),
            resource_id: r.resource_id.clone(),
            account: r.account.clone(),
            findings: 0,
            open: 0,
            kinds: Vec::new(),
            last: String::new(),
        });
        h.findings += 1;
        h.open += u64::from(f.status == Status::Open);
        if !h.kinds.contains(&r.kind) {
            h.kinds.push(r.kind.clone());
            h.kinds.sort();
        }
        if r.when > h.last {
            h.last.clone_from(&r.when);
        }
        if let Some(w) = &r.who {
            let a = actors.entry(w.clone()).or_default();
            a.changes += 1;
            *a.how.entry(r.how.clone()).or_insert(0) += 1;
            a.resources.insert(format!("{} {}", r.resource_type, r.resource_id));
            if r.when > a.last {
                a.last.clone_from(&r.when);
            }
        }
        // Every finding is a manual change (a resource made by hand included).
        let day = r.when.get(..10).unwrap_or("").to_owned();
        if day.len() == 10 && f.call.time.0 > 0 {
            let d = days.entry(day.clone()).or_insert_with(|| Day { day, ..Day::default() });
            match f.severity {
                Severity::Minor => d.minor += 1,
                Severity::Major => d.major += 1,
                Severity::Critical => d.critical += 1,
            }
        }
    }
    let mut hotspots: Vec<Hotspot> = spots.into_values().collect();
    hotspots.sort_by(|a, b| {
        b.findings
            .cmp(&a.findings)
            .then_with(|| b.open.cmp(&a.open))
            .then_with(|| b.last.cmp(&a.last))
            .then_with(|| a.resource_id.cmp(&b.resource_id))
    });
    hotspots.truncate(HOTSPOTS);
    let mut actors: Vec<ActorRow> = actors
        .into_iter()
        .map(|(who, t)| {
            let Tally {
                changes,
                how,
                resources,
                last,
            } = t;
            let mut how: Vec<(String, u64)> = how.into_iter().collect();
            how.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            ActorRow {
                who,
                how: how.into_iter().map(|(h, _)| h).collect(),
                changes,
                resources: resources.len() as u64,
                last,
            }
        })
        .collect();
    actors.sort_by(|a, b| b.changes.cmp(&a.changes).then_with(|| a.who.cmp(&b.who)));

    Report {
        generated_at: now.to_string(),
        source: source.to_owned(),
        sweeps: sweeps
            .iter()
            .map(|s| SweepRow {
                scope: s.scope.key(),
                finished_at: s.finished_at.to_string(),
                complete: s.report.complete,
                listed: s.report.listed,
                read: s.report.read,
                compared: s.report.compared,
                detected: s.report.detected,
                resolved: s.report.resolved,
                calls: s.report.calls.clone(),
                duration_ms: s.report.duration_ms,
            })
            .collect(),
        coverage,
        totals,
        findings: rows,
        hotspots,
        actors,
        timeline: timeline(days),
    }
}

/// Every day from the first to the last day with a change (at most [`TIMELINE_DAYS`], ending
/// on the last), days without one as zeros.
fn timeline(days: BTreeMap<String, Day>) -> Vec<Day> {
    let (Some(first), Some(last)) = (days.keys().next().cloned(), days.keys().next_back().cloned()) else {
        return Vec::new();
    };
    let parse = |d: &str| Timestamp::parse(&format!("{d}T00:00:00Z"));
    let (Some(start), Some(end)) = (parse(&first), parse(&last)) else {
        return days.into_values().collect();
    };
    const DAY_MS: i64 = 86_400_000;
    let start = start.0.max(end.0 - (TIMELINE_DAYS as i64 - 1) * DAY_MS);
    let mut out = Vec::new();
    let mut t = start;
    while t <= end.0 {
        let day = Timestamp(t).to_string().get(..10).unwrap_or("").to_owned();
        out.push(days.get(&day).cloned().unwrap_or(Day { day, ..Day::default() }));
        t += DAY_MS;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use driftguard_core::conformance::sample_finding;
    use driftguard_core::finding::FindingKind;
    use driftguard_core::sweep::Coverage;

    const DAY: i64 = 86_400;
    /// 2026-11-20T00:00:00Z.
    const T0: i64 = 1_795_132_800;

    #[test]
    fn a_report_counts_ranks_and_fills_the_days_between() {
        let mut findings = vec![
            sample_finding("e1", "sg-1", T0 + 3600, Severity::Critical),
            sample_finding("e2", "sg-1", T0 + 2 * DAY, Severity::Major),
            sample_finding("e3", "sg-2", T0 + 3 * DAY, Severity::Minor),
        ];
        findings[1].actor.human = Some("bob".into());
        findings[2].status = Status::Resolved;
        findings[2].kind = FindingKind::Unmanaged;
        // A sweep finding: no call actor, the history named carol.
        let mut swept = sample_finding("e4", "sg-3", T0 + 3 * DAY, Severity::Critical);
        swept.actor.human = None;
        swept.config = Some(serde_json::from_value(serde_json::json!({
            "observation": "cfg-1", "capture_time": "2026-11-23T00:00:00Z", "change": "update",
            "compared": true, "severity": "critical", "origin": "sweep",
            "who": {"status": "named", "who": "carol", "rule": "r", "call": "ec2.amazonaws.com:AuthorizeSecurityGroupIngress",
                "event_id": "x", "time": "2026-11-22T10:00:00Z"}
        })).expect("evidence"));
        findings.push(swept);

        let scope = Scope {
            account: "123456789012".into(),
            region: "eu-west-1".into(),
        };
        let mut sweep = SweepReport::default();
        sweep.coverage.insert(
            "123456789012/AWS::EC2::SecurityGroup".into(),
            Coverage {
                managed: 6,
                unmanaged: 1,
                missing: 2,
                cloudformation: 1,
                ignored: 0,
            },
        );
        let inputs = [SweepInput {
            scope: &scope,
            finished_at: Timestamp(T0 * 1000),
            report: &sweep,
        }];
        let r = build(&findings, &inputs, "s.redb", Timestamp(T0 * 1000));

        assert_eq!((r.totals.findings, r.totals.open, r.totals.resolved), (4, 3, 1));
        assert_eq!(r.totals.open_by_kind.get("drift"), Some(&3));
        assert_eq!(r.totals.open_by_severity.get("critical"), Some(&2));
        let c = &r.coverage[0];
        assert_eq!(
            (c.account.as_str(), c.resource_type.as_str()),
            ("123456789012", "AWS::EC2::SecurityGroup")
        );
        assert_eq!(c.iac_share, Some(7.0 / 8.0));
        // Open first, most severe first, newest first.
        let order: Vec<(&str, &str)> = r
            .findings
            .iter()
            .map(|f| (f.status.as_str(), f.severity.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("open", "critical"),
                ("open", "critical"),
                ("open", "major"),
                ("resolved", "minor")
            ]
        );
        assert_eq!(r.findings[0].resource_id, "sg-3", "the newer critical one first");
        assert_eq!(r.findings[0].who.as_deref(), Some("carol"));
        assert!(
            r.findings[0].how.contains("CloudTrail's history"),
            "{}",
            r.findings[0].how
        );
        assert_eq!(r.hotspots[0].resource_id, "sg-1");
        assert_eq!(r.hotspots[0].findings, 2);
        let who: Vec<(&str, u64)> = r.actors.iter().map(|a| (a.who.as_str(), a.changes)).collect();
        assert_eq!(who, [("alice", 2), ("bob", 1), ("carol", 1)]);
        // 20, 21 (nothing), 22, 23.
        let days: Vec<(&str, u64)> = r.timeline.iter().map(|d| (d.day.as_str(), d.total())).collect();
        assert_eq!(
            days,
            [
                ("2026-11-20", 1),
                ("2026-11-21", 0),
                ("2026-11-22", 1),
                ("2026-11-23", 2)
            ]
        );
    }

    #[test]
    fn nothing_stored_is_an_empty_report() {
        let r = build(&[], &[], "s.redb", Timestamp(0));
        assert_eq!(r.totals.findings, 0);
        assert!(r.coverage.is_empty() && r.timeline.is_empty() && r.hotspots.is_empty());
    }
}
