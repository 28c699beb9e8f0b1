//! Drift propensity: which resources will be changed by hand next, from their history.
//!
//! The model is a Beta-Binomial over days. Each day a resource is observed is a trial; a day with
//! at least one manual change on it is a success. Both are time-decayed (a day `a` days before
//! now counts `0.5^(a / half_life)`), so last week's habits weigh more than last quarter's. The
//! prior is pooled per resource type (method of moments over the type's resources' decayed
//! rates; the whole estate's when a type has fewer than three resources or no spread), so a
//! resource with little history leans on its type. The posterior mean daily rate `p` gives the
//! propensity: the chance of at least one manual change in the next `horizon` days,
//! `1 − (1 − p)^horizon`.
//!
//! Features shown with each resource (documented, only the first two drive the ranking): its
//! type, its decayed manual-edit rate, how many people changed it by hand, days since its last
//! IaC apply, days since its last manual change, its team (a `team` / `owner` tag, else the state
//! file that declares it). [`evaluate_split`] measures the ranking on a time split.

use crate::util::time::Timestamp;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

const DAY_MS: i64 = 86_400_000;

/// What happened to a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Activity {
    /// A manual change (a finding), by this actor.
    Manual {
        /// Who, for display and counting.
        actor: String,
    },
    /// An IaC apply.
    Apply,
}

/// One thing that happened to a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    /// The resource key.
    pub resource: String,
    /// Its type.
    pub resource_type: String,
    /// Its team, when known.
    pub team: Option<String>,
    /// The trail (account and region, or the input it came from); time splits are per trail.
    pub trail: String,
    /// When.
    pub at: Timestamp,
    /// What.
    pub activity: Activity,
}

/// The model's settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Options {
    /// Days after which a day of history counts half.
    pub half_life_days: f64,
    /// The propensity's horizon, in days.
    pub horizon_days: f64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            half_life_days: 30.0,
            horizon_days: 7.0,
        }
    }
}

/// One resource, ranked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Hotspot {
    /// The resource key.
    pub resource: String,
    /// Its type.
    pub resource_type: String,
    /// Its team.
    pub team: Option<String>,
    /// Chance of a manual change within the horizon.
    pub propensity: f64,
    /// Posterior mean daily rate of manual changes.
    pub daily_rate: f64,
    /// Manual changes seen.
    pub manual_changes: usize,
    /// Days with a manual change.
    pub days_changed: usize,
    /// Distinct people (or principals) who changed it by hand.
    pub actors: usize,
    /// Days since its last manual change.
    pub days_since_manual: Option<f64>,
    /// Days since its last IaC apply.
    pub days_since_apply: Option<f64>,
}

/// A group of resources (a type or a team).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRank {
    /// The type or team.
    pub name: String,
    /// Resources in it.
    pub resources: usize,
    /// Σ propensity: the number of its resources expected to be changed by hand within the horizon.
    pub expected_drifting: f64,
    /// Manual changes seen.
    pub manual_changes: usize,
}

/// The ranking at a point in time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Ranking {
    /// The time it is computed at.
    pub at: Timestamp,
    /// The first day of history.
    pub since: Option<Timestamp>,
    /// The settings.
    pub options: Options,
    /// Resources, most likely to drift first.
    pub resources: Vec<Hotspot>,
    /// Types, by expected drifting resources.
    pub types: Vec<GroupRank>,
    /// Teams, likewise.
    pub teams: Vec<GroupRank>,
}

#[derive(Default)]
struct History<'e> {
    resource_type: &'e str,
    team: Option<&'e str>,
    manual: usize,
    days: BTreeSet<i64>,
    actors: BTreeSet<&'e str>,
    last_manual: Option<Timestamp>,
    last_apply: Option<Timestamp>,
}

/// Ranks the resources of `events` at `now` (events after `now` are ignored).
pub fn rank(events: &[Event], now: Timestamp, options: &Options) -> Ranking {
    let past: Vec<&Event> = events.iter().filter(|e| e.at <= now).collect();
    let since = past.iter().map(|e| e.at).min();
    let mut histories: BTreeMap<&str, History<'_>> = BTreeMap::new();
    for e in &past {
        let h = histories.entry(e.resource.as_str()).or_default();
        h.resource_type = &e.resource_type;
        if h.team.is_none() {
            h.team = e.team.as_deref();
        }
        match &e.activity {
            Activity::Manual { actor } => {
                h.manual += 1;
                h.days.insert(e.at.0.div_euclid(DAY_MS));
                h.actors.insert(actor);
                h.last_manual = h.last_manual.max(Some(e.at));
            }
            Activity::Apply => h.last_apply = h.last_apply.max(Some(e.at)),
        }
    }
    let today = now.0.div_euclid(DAY_MS);
    let decay = |day: i64| 0.5f64.powf((today - day) as f64 / options.half_life_days);
    let trials: f64 = since.map_or(0.0, |s| (s.0.div_euclid(DAY_MS)..=today).map(decay).sum());
    let successes: BTreeMap<&str, f64> = histories
        .iter()
        .map(|(r, h)| (*r, h.days.iter().map(|d| decay(*d)).sum()))
        .collect();
    let rate = |r: &str| if trials > 0.0 { successes[r] / trials } else { 0.0 };
    let global = moments(&histories.keys().map(|r| rate(r)).collect::<Vec<_>>());
    let mut by_type: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (r, h) in &histories {
        by_type.entry(h.resource_type).or_default().push(rate(r));
    }
    let priors: BTreeMap<&str, (f64, f64)> = by_type
        .iter()
        .map(|(t, rates)| {
            (
                *t,
                if rates.len() >= 3 {
                    moments(rates).or(global)
                } else {
                    global
                },
            )
        })
        .map(|(t, prior)| (t, prior.unwrap_or((0.1, 10.0))))
        .collect();
    let days_before = |t: Option<Timestamp>| t.map(|t| (now.0 - t.0) as f64 / DAY_MS as f64);
    let mut resources: Vec<Hotspot> = histories
        .iter()
        .map(|(r, h)| {
            let (alpha, beta) = priors[h.resource_type];
            let daily_rate = (alpha + successes[r]) / (alpha + beta + trials);
            Hotspot {
                resource: (*r).to_owned(),
                resource_type: h.resource_type.to_owned(),
                team: h.team.map(str::to_owned),
                propensity: 1.0 - (1.0 - daily_rate).powf(options.horizon_days),
                daily_rate,
                manual_changes: h.manual,
                days_changed: h.days.len(),
                actors: h.actors.len(),
                days_since_manual: days_before(h.last_manual),
                days_since_apply: days_before(h.last_apply),
            }
        })
        .collect();
    resources.sort_by(|a, b| {
        b.propensity
            .total_cmp(&a.propensity)
            .then(b.manual_changes.cmp(&a.manual_changes))
            .then_with(|| a.resource.cmp(&b.resource))
    });
    let types = groups(&resources, |h| Some(h.resource_type.clone()));
    let teams = groups(&resources, |h| h.team.clone());
    Ranking {
        at: now,
        since,
        options: *options,
        resources,
        types,
        teams,
    }
}

fn groups(resources: &[Hotspot], name: impl Fn(&Hotspot) -> Option<String>) -> Vec<GroupRank> {
    let mut out: BTreeMap<String, GroupRank> = BTreeMap::new();
    for h in resources {
        let Some(n) = name(h) else { continue };
        let g = out.entry(n.clone()).or_insert(GroupRank {
            name: n,
            resources: 0,
            expected_drifting: 0.0,
            manual_changes: 0,
        });
        g.resources += 1;
        g.expected_drifting += h.propensity;
        g.manual_changes += h.manual_changes;
    }
    let mut out: Vec<GroupRank> = out.into_values().collect();
    out.sort_by(|a, b| {
        b.expected_drifting
            .total_cmp(&a.expected_drifting)
            .then_with(|| a.name.cmp(&b.name))
    });
    out
}

/// A Beta prior `(α, β)` matching the mean and variance of `rates` (method of moments), the
/// concentration `α + β` kept within [2, 1000]; `None` without spread to match.
fn moments(rates: &[f64]) -> Option<(f64, f64)> {
    if rates.len() < 2 {
        return None;
    }
    let n = rates.len() as f64;
    let mean = rates.iter().sum::<f64>() / n;
    let variance = rates.iter().map(|r| (r - mean).powi(2)).sum::<f64>() / (n - 1.0);
    if mean <= 0.0 || mean >= 1.0 || variance <= 0.0 || variance >= mean * (1.0 - mean) {
        return None;
    }
    let concentration = (mean * (1.0 - mean) / variance - 1.0).clamp(2.0, 1000.0);
    Some((mean * concentration, (1.0 - mean) * concentration))
}

/// Precision at `k`, for the model and for the baseline.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct AtK {
    /// How many of the top are checked.
    pub k: usize,
    /// Share of the model's top `k` that drifted in the held-out span.
    pub precision: f64,
    /// The same for the baseline ranking (most manual changes first, then most recent).
    pub baseline: f64,
}

/// How the ranking does on a time split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SplitReport {
    /// The share of each trail's time span fitted on.
    pub fraction: f64,
    /// The half-life evaluated.
    pub half_life_days: f64,
    /// Trails (each split at its own cutoff).
    pub trails: usize,
    /// Days fitted on, summed over trails.
    pub fit_days: f64,
    /// Days held out, summed over trails.
    pub held_out_days: f64,
    /// Resources known before the cutoff (the ones ranked).
    pub ranked: usize,
    /// Of which changed by hand in the held-out span.
    pub drifted: usize,
    /// Resources first seen after the cutoff (no history to rank them by).
    pub unseen: usize,
    /// Precision at 5, 10 and 20 (those not above `ranked`).
    pub precision_at: Vec<AtK>,
    /// Brier score of the propensities (horizon: each trail's held-out span).
    pub brier: Option<f64>,
    /// Brier skill score against always predicting the held-out base rate (1 is perfect, 0 is no
    /// better than the base rate, below 0 worse).
    pub brier_skill: Option<f64>,
    /// Set when the data is too short to say anything: why (and every figure above is left out).
    pub too_short: Option<String>,
}

/// The least a split needs before its figures mean anything.
pub const MIN_HELD_OUT_DRIFTED: usize = 5;
/// Likewise: resources ranked.
pub const MIN_RANKED: usize = 10;

/// Fits on the first `fraction` of each trail's time span and measures the ranking on the rest.
pub fn evaluate_split(events: &[Event], fraction: f64, options: &Options) -> SplitReport {
    let mut trails: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
    for e in events {
        trails.entry(e.trail.as_str()).or_default().push(e);
    }
    let (mut fit_days, mut held_out_days) = (0.0, 0.0);
    let mut scored: Vec<(Hotspot, bool)> = Vec::new();
    let mut unseen = 0;
    for trail in trails.values() {
        let (Some(start), Some(end)) = (trail.iter().map(|e| e.at).min(), trail.iter().map(|e| e.at).max()) else {
            continue;
        };
        let cutoff = Timestamp(start.0 + ((end.0 - start.0) as f64 * fraction) as i64);
        let held_out = (end.0 - cutoff.0) as f64 / DAY_MS as f64;
        fit_days += (cutoff.0 - start.0) as f64 / DAY_MS as f64;
        held_out_days += held_out;
        let train: Vec<Event> = trail.iter().filter(|e| e.at <= cutoff).map(|e| (*e).clone()).collect();
        let changed_later: BTreeSet<&str> = trail
            .iter()
            .filter(|e| e.at > cutoff && matches!(e.activity, Activity::Manual { .. }))
            .map(|e| e.resource.as_str())
            .collect();
        let trail_options = Options {
            horizon_days: held_out.max(1.0 / 24.0),
            ..*options
        };
        let ranking = rank(&train, cutoff, &trail_options);
        let known: BTreeSet<&str> = ranking.resources.iter().map(|h| h.resource.as_str()).collect();
        unseen += changed_later.iter().filter(|r| !known.contains(*r)).count();
        scored.extend(ranking.resources.into_iter().map(|h| {
            let drifted = changed_later.contains(h.resource.as_str());
            (h, drifted)
        }));
    }
    let drifted = scored.iter().filter(|(_, d)| *d).count();
    let mut report = SplitReport {
        fraction,
        half_life_days: options.half_life_days,
        trails: trails.len(),
        fit_days,
        held_out_days,
        ranked: scored.len(),
        drifted,
        unseen,
        precision_at: Vec::new(),
        brier: None,
        brier_skill: None,
        too_short: None,
    };
    if scored.len() < MIN_RANKED || drifted < MIN_HELD_OUT_DRIFTED || held_out_days < 1.0 {
        report.too_short = Some(format!(
            "too short to say anything: {} resources ranked (need {MIN_RANKED}), {drifted} changed by hand in the held-out span (need {MIN_HELD_OUT_DRIFTED}), {held_out_days:.1} days held out (need 1)",
            scored.len()
        ));
        return report;
    }
    scored.sort_by(|(a, _), (b, _)| {
        b.propensity
            .total_cmp(&a.propensity)
            .then_with(|| a.resource.cmp(&b.resource))
    });
    let mut baseline: Vec<&(Hotspot, bool)> = scored.iter().collect();
    baseline.sort_by(|(a, _), (b, _)| {
        b.manual_changes
            .cmp(&a.manual_changes)
            .then(
                a.days_since_manual
                    .unwrap_or(f64::MAX)
                    .total_cmp(&b.days_since_manual.unwrap_or(f64::MAX)),
            )
            .then_with(|| a.resource.cmp(&b.resource))
    });
    for k in [5, 10, 20].into_iter().filter(|k| *k <= scored.len()) {
        let hits = |top: &mut dyn Iterator<Item = bool>| top.take(k).filter(|d| *d).count() as f64 / k as f64;
        report.precision_at.push(AtK {
            k,
            precision: hits(&mut scored.iter().map(|(_, d)| *d)),
            baseline: hits(&mut baseline.iter().map(|(_, d)| *d)),
        });
    }
    let n = scored.len() as f64;
    let brier = scored
        .iter()
        .map(|(h, d)| (h.propensity - f64::from(u8::from(*d))).powi(2))
        .sum::<f64>()
        / n;
    let base_rate = drifted as f64 / n;
    let reference = base_rate * (1.0 - base_rate);
    report.brier = Some(brier);
    report.brier_skill = (reference > 0.0).then(|| 1.0 - brier / reference);
    report
}

/// What happened to resources, from findings: each finding is a manual change at its call's
/// time (interactive access counts only on a managed resource); a resolution is an IaC apply (or
/// a restore) at its time. The team is a `team` / `owner` tag, else the declaring state file.
pub fn activity(findings: &[crate::findings::finding::Finding]) -> Vec<Event> {
    use crate::findings::finding::FindingKind;
    let mut out = Vec::new();
    for f in findings {
        let team = f
            .tags
            .iter()
            .find(|(k, _)| matches!(k.to_ascii_lowercase().as_str(), "team" | "owner"))
            .map(|(_, v)| v.clone())
            .or_else(|| f.owner.as_ref().map(|o| o.state.clone()));
        let base = Event {
            resource: f.resource.key(),
            resource_type: f.resource.resource_type.clone(),
            team,
            trail: format!("{}/{}", f.resource.account, f.resource.region),
            at: f.call.time,
            activity: Activity::Manual {
                actor: f
                    .actor
                    .human
                    .clone()
                    .or_else(|| f.actor.principal.clone())
                    .unwrap_or_else(|| "unknown".into()),
            },
        };
        if let Some(r) = &f.resolution {
            out.push(Event {
                at: r.time,
                activity: Activity::Apply,
                ..base.clone()
            });
        }
        if f.kind != FindingKind::Access || f.owner.is_some() {
            out.push(base);
        }
    }
    out
}

/// The weekly hotspot digest (Block Kit): the top resources with their chance of a manual
/// change, the types and teams expected to drift most, and how to see more.
pub fn render_digest(r: &Ranking, top: usize) -> serde_json::Value {
    use crate::notify::slack::{clip, escape, limits, mrkdwn};
    use std::fmt::Write as _;
    let title = format!("Drift hotspots: the next {} days", r.options.horizon_days);
    let mut blocks = vec![serde_json::json!({
        "type": "header",
        "text": { "type": "plain_text", "text": clip(&title, limits::HEADER_TEXT), "emoji": true }
    })];
    if r.resources.is_empty() {
        blocks.push(serde_json::json!({ "type": "section", "text": mrkdwn("No manual change on record: nothing to rank.", limits::SECTION_TEXT) }));
    } else {
        let mut lines = String::new();
        for h in r.resources.iter().take(top) {
            let _ = writeln!(
                lines,
                "• *{:.0}%* {} `{}` — {} manual change{} on {} day{}, {} {}",
                h.propensity * 100.0,
                escape(&h.resource_type),
                clip(&escape(h.resource.rsplit('/').next().unwrap_or(&h.resource)), 120),
                h.manual_changes,
                if h.manual_changes == 1 { "" } else { "s" },
                h.days_changed,
                if h.days_changed == 1 { "" } else { "s" },
                h.actors,
                if h.actors == 1 { "person" } else { "people" },
            );
        }
        blocks.push(serde_json::json!({ "type": "section", "text": mrkdwn(&lines, limits::SECTION_TEXT) }));
        for (title, groups) in [("Types", &r.types), ("Teams", &r.teams)] {
            if groups.is_empty() {
                continue;
            }
            let mut text = format!("*{title}* (resources expected to be changed by hand):\n");
            for g in groups.iter().take(5) {
                let _ = writeln!(
                    text,
                    "• {:.1} of {} — {}",
                    g.expected_drifting,
                    g.resources,
                    escape(&g.name)
                );
            }
            blocks.push(serde_json::json!({ "type": "section", "text": mrkdwn(&text, limits::SECTION_TEXT) }));
        }
    }
    blocks.push(serde_json::json!({ "type": "context", "elements": [mrkdwn(
        &format!(
            "From the manual changes on record since {} (a day's history counts half after {} days). `driftguard hotspots --store dynamodb://TABLE` ranks them all.",
            r.since.map_or_else(|| "-".to_owned(), |t| t.to_string()),
            r.options.half_life_days
        ),
        300,
    )] }));
    serde_json::json!({ "text": clip(&title, limits::FALLBACK_TEXT), "blocks": blocks })
}

/// The half-lives [`calibrate`] tries, in days.
pub const HALF_LIVES: [f64; 6] = [7.0, 14.0, 30.0, 60.0, 120.0, 365.0];

/// Calibrates the half-life on a time split: each of [`HALF_LIVES`] evaluated with
/// [`evaluate_split`], and the one with the lowest held-out Brier score (`None` when the split is
/// too short to say). Returns every candidate's report and the chosen half-life.
pub fn calibrate(events: &[Event], fraction: f64, options: &Options) -> (Vec<SplitReport>, Option<f64>) {
    let reports: Vec<SplitReport> = HALF_LIVES
        .iter()
        .map(|h| {
            evaluate_split(
                events,
                fraction,
                &Options {
                    half_life_days: *h,
                    ..*options
                },
            )
        })
        .collect();
    let best = HALF_LIVES
        .iter()
        .zip(&reports)
        .filter_map(|(h, r)| r.brier.map(|b| (*h, b)))
        .min_by(|a, b| a.1.total_cmp(&b.1))
        .map(|(h, _)| h);
    (reports, best)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manual(resource: &str, day: i64, actor: &str) -> Event {
        Event {
            resource: resource.into(),
            resource_type: "AWS::EC2::SecurityGroup".into(),
            team: None,
            trail: "123456789012/eu-west-1".into(),
            at: Timestamp(day * DAY_MS + 3_600_000),
            activity: Activity::Manual { actor: actor.into() },
        }
    }

    #[test]
    fn a_resource_edited_every_day_outranks_one_edited_once() {
        let mut events: Vec<Event> = (0..30).map(|d| manual("sg-daily", d, "alice")).collect();
        events.push(manual("sg-once", 3, "bob"));
        events.push(Event {
            activity: Activity::Apply,
            ..manual("sg-never", 1, "terraform")
        });
        let ranking = rank(&events, Timestamp(30 * DAY_MS), &Options::default());
        let order: Vec<&str> = ranking.resources.iter().map(|h| h.resource.as_str()).collect();
        assert_eq!(order, ["sg-daily", "sg-once", "sg-never"]);
        let daily = &ranking.resources[0];
        assert!(daily.propensity > 0.9, "{daily:?}");
        assert!(ranking.resources[1].propensity < daily.propensity / 2.0, "{ranking:?}");
        assert_eq!(daily.days_changed, 30);
        assert_eq!(ranking.types.len(), 1);
        assert_eq!(ranking.types[0].resources, 3);
    }

    #[test]
    fn the_digest_names_the_top_resources_within_slacks_limits() {
        let mut events: Vec<Event> = (0..30).map(|d| manual("sg-daily", d, "alice")).collect();
        events.extend((0..200).map(|i| manual(&format!("sg-{i}"), i % 30, "bob")));
        let ranking = rank(&events, Timestamp(30 * DAY_MS), &Options::default());
        let message = render_digest(&ranking, 10);
        assert_eq!(crate::notify::slack::check_limits(&message), Vec::<String>::new());
        let text = message.to_string();
        assert!(text.contains("sg-daily"), "{text}");
        assert!(text.contains("30 manual changes on 30 days, 1 person"), "{text}");
        let empty = render_digest(&rank(&[], Timestamp(0), &Options::default()), 10);
        assert!(empty.to_string().contains("nothing to rank"));
    }

    #[test]
    fn recent_habits_weigh_more_than_old_ones() {
        // Both changed on ten days; one in the first ten of 120 days, one in the last ten.
        let mut events: Vec<Event> = (0..10).map(|d| manual("sg-old", d, "alice")).collect();
        events.extend((110..120).map(|d| manual("sg-recent", d, "alice")));
        let ranking = rank(&events, Timestamp(120 * DAY_MS), &Options::default());
        assert_eq!(ranking.resources[0].resource, "sg-recent");
    }

    #[test]
    fn a_short_corpus_says_so_instead_of_a_number() {
        let events: Vec<Event> = (0..3).map(|d| manual("sg-1", d, "alice")).collect();
        let report = evaluate_split(&events, 0.7, &Options::default());
        assert!(
            report.too_short.as_deref().is_some_and(|s| s.contains("too short")),
            "{report:?}"
        );
        assert_eq!(report.brier, None);
        assert!(report.precision_at.is_empty());
    }

    #[test]
    fn habits_carry_over_the_split() {
        // Ten resources changed every other day for 100 days, thirty changed once early on.
        let mut events = Vec::new();
        for r in 0..10 {
            events.extend((0..50).map(|d| manual(&format!("sg-busy{r}"), d * 2 + (r % 2), "alice")));
        }
        for r in 0..30 {
            events.push(manual(&format!("sg-quiet{r}"), r, "bob"));
        }
        let report = evaluate_split(&events, 0.7, &Options::default());
        assert_eq!(report.too_short, None, "{report:?}");
        assert_eq!(report.drifted, 10);
        let at10 = report.precision_at.iter().find(|p| p.k == 10).expect("k = 10");
        assert_eq!(at10.precision, 1.0);
        // Better than always predicting the base rate (the quiet ones share the busy ones' type
        // prior, so they keep some propensity: about 0.48 here).
        assert!(report.brier_skill.expect("base rate in (0, 1)") > 0.25, "{report:?}");
        // Calibration picks a half-life from the held-out Brier scores.
        let (reports, best) = calibrate(&events, 0.7, &Options::default());
        assert_eq!(reports.len(), HALF_LIVES.len());
        let best = best.expect("long enough to choose");
        let lowest = reports.iter().filter_map(|r| r.brier).fold(f64::MAX, f64::min);
        let chosen = reports.iter().find(|r| r.half_life_days == best).and_then(|r| r.brier);
        assert_eq!(chosen, Some(lowest));
        // Too short to say: nothing is chosen.
        assert_eq!(calibrate(&events[..3], 0.7, &Options::default()).1, None);
    }
}
