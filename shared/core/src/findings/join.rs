//! Joining AWS Config item changes with the CloudTrail calls that caused them.
//!
//! CloudTrail says who changed a resource; AWS Config says what it looks like now. Config items no
//! longer carry CloudTrail event ids, so the two are joined by resource and time: a Config item
//! captured up to [`WINDOW_MS`] after a manual call on the same resource (or up to [`SKEW_MS`]
//! before it, for clock skew) is taken as that call's effect. Either side can arrive first,
//! minutes apart, so each leaves a [`Pending`] entry on the resource record, kept for
//! [`PENDING_TTL_MS`] of event time, that the other side looks for.
//!
//! - Call first, then Config: the call's finding gains the Config evidence (revision + 1).
//! - Config first, showing drift: a Config-only finding stands, actor unknown; the call, when it
//!   arrives, fills in who / when / how on that same finding (revision + 1).
//! - Config showing the resource matches IaC: evidence that lowers a joined call's likelihood,
//!   never a finding on its own.
//! - Only one side ever arrives: its finding stands with the evidence it has.
//!
//! Like the rest of the lifecycle, this runs on plain maps ([`crate::findings::ports::apply_to_maps`]) so
//! that every store joins the same way.

use crate::drift::score::{self, Factor};
use crate::findings::finding::{Finding, ResourceInfo, ResourceRecord, Status, Transition};
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use crate::findings::evidence::{
    in_window, ConfigEvidence, LastWriter, Origin, Pending, Side, CONFIG_SOURCE, PENDING_MAX, PENDING_TTL_MS, SKEW_MS,
    WINDOW_MS,
};

/// One Config item change, evaluated: the resource, the evidence, and the finding that stands
/// when no CloudTrail call joins it (absent when the item shows no drift).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigObservation {
    /// The resource.
    pub resource: ResourceInfo,
    /// What the item shows.
    pub evidence: ConfigEvidence,
    /// The Config-only finding.
    pub finding: Option<Box<Finding>>,
}

/// Whether a call's compared attribute (a Terraform path, `versioning_configuration.0.status`)
/// and a Config attribute (`versioning`) are the same declared value: the Config attribute map
/// reads that path.
fn same_attribute(resource_type: &str, call_attribute: &str, config_attribute: &str) -> bool {
    call_attribute == config_attribute
        || crate::drift::config_map::map_for(resource_type).is_some_and(|m| {
            m.attributes
                .iter()
                .any(|row| row.attribute == config_attribute && row.tf_path == call_attribute)
        })
}

impl Finding {
    /// Whether the finding stands on a Config item alone (no CloudTrail call joined yet).
    pub fn is_config_only(&self) -> bool {
        self.call.source == CONFIG_SOURCE
    }

    /// Attaches Config evidence: confirmed values replace the call's view of the same
    /// attributes, the likelihood gets the evidence's factor, the severity is the higher of the
    /// two, and the revision goes up. Returns false when this evidence was already attached.
    pub fn attach_config(&mut self, evidence: &ConfigEvidence) -> bool {
        if self
            .config
            .as_ref()
            .is_some_and(|c| c.observation == evidence.observation)
        {
            return false;
        }
        let resource_type = self.resource.resource_type.clone();
        for confirmed in &evidence.drifted {
            self.changes
                .retain(|c| !same_attribute(&resource_type, &c.attribute, &confirmed.attribute));
            self.changes.push(confirmed.clone());
        }
        self.changes.sort_by(|a, b| a.attribute.cmp(&b.attribute));
        if self.resource.arn.is_none() {
            self.resource.arn.clone_from(&evidence.arn);
        }
        self.set_config_factor(evidence.factor(), evidence.factor_weight);
        if evidence.severity > self.severity {
            self.severity = evidence.severity;
            self.severity_reasons.clone_from(&evidence.severity_reasons);
        }
        self.config = Some(evidence.clone());
        self.revision += 1;
        self.refresh_text();
        true
    }

    /// Fills in a Config-only finding with the call that caused it: actor, call and the call's
    /// compared attributes (Config's confirmed values win), its factors and severity.
    pub fn adopt_call(&mut self, call: &Finding) {
        self.actor = call.actor.clone();
        self.call = call.call.clone();
        // The call's view of the declaration, as when the call arrives first.
        if call.owner.is_some() {
            self.owner.clone_from(&call.owner);
        }
        if self.resource.arn.is_none() {
            self.resource.arn.clone_from(&call.resource.arn);
        }
        for c in &call.changes {
            let resource_type = &self.resource.resource_type;
            if !self
                .changes
                .iter()
                .any(|mine| same_attribute(resource_type, &c.attribute, &mine.attribute))
            {
                self.changes.push(c.clone());
            }
        }
        self.changes.sort_by(|a, b| a.attribute.cmp(&b.attribute));
        // Resolutions were judged against the capture time; the caller re-judges them against
        // the call's time.
        if self.resolution.as_ref().is_some_and(|r| r.time < call.call.time) {
            self.resolution = None;
            self.status = Status::Open;
        }
        let config_factor = self.config.as_ref().map(|c| (c.factor(), c.factor_weight));
        self.factors.clone_from(&call.factors);
        self.weights_version.clone_from(&call.weights_version);
        if let Some((f, w)) = config_factor {
            self.set_config_factor(f, w);
        }
        if call.severity >= self.severity {
            self.severity = call.severity;
            self.severity_reasons.clone_from(&call.severity_reasons);
        }
        self.revision += 1;
        self.refresh_text();
    }

    /// Replaces the `config.*` factor with `name` (one of [`ConfigEvidence::factor`]) and
    /// recomputes the likelihood.
    fn set_config_factor(&mut self, name: &str, weight: Option<f64>) {
        self.factors.retain(|f| !f.name.starts_with("config."));
        self.factors.push(Factor {
            name: name.to_owned(),
            weight: weight.unwrap_or_else(|| score::weight(name)),
        });
        self.likelihood = score::from_factors(&self.factors);
    }

    fn refresh_text(&mut self) {
        self.summary = crate::findings::finding::summarise(self);
        self.fix = crate::findings::finding::suggest_fix(self);
    }
}

impl ResourceRecord {
    /// Remembers one side of a join; entries older than [`PENDING_TTL_MS`] behind the newest,
    /// and beyond [`PENDING_MAX`], are dropped.
    pub fn remember_pending(&mut self, entry: Pending) {
        self.pending.push(entry);
        self.pending.sort_by(|a, b| (a.time, &a.event).cmp(&(b.time, &b.event)));
        let newest = self.pending.last().map_or(0, |p| p.time.0);
        self.pending.retain(|p| p.time.0 >= newest - PENDING_TTL_MS);
        let excess = self.pending.len().saturating_sub(PENDING_MAX);
        self.pending.drain(..excess);
    }

    /// Lists a call's finding on the record and leaves its side waiting for a Config item.
    pub fn note_call(&mut self, f: &Finding) {
        if !self.findings.contains(&f.id) {
            self.findings.push(f.id.clone());
        }
        self.remember_pending(Pending {
            side: Side::Call,
            time: f.call.time,
            event: f.call.event_id.clone(),
            finding: Some(f.id.clone()),
            joined: f.config.as_ref().map(|c| c.observation.clone()),
            evidence: None,
        });
    }

    /// Finding ids a join for a call at `time` or a capture at `time` may touch: what a store
    /// loads besides the record itself.
    pub fn join_candidates(&self, time: Timestamp) -> Vec<String> {
        self.pending
            .iter()
            .filter(|p| in_window(p.time, time) || in_window(time, p.time))
            .filter_map(|p| p.finding.clone())
            .collect()
    }

    /// Whether a call's finding will join a waiting Config item (stores take their join path).
    pub fn awaits_call(&self, call_time: Timestamp) -> bool {
        self.pending
            .iter()
            .any(|p| p.side == Side::Config && in_window(call_time, p.time))
    }
}

/// A new call finding (already merged with the resource's IaC history) meets the record:
/// joins a waiting Config item, or is stored and waits for one. Replays change nothing.
pub fn on_call(
    findings: &mut BTreeMap<String, Finding>,
    record: &mut ResourceRecord,
    mut incoming: Finding,
    out: &mut Vec<Transition>,
) {
    let event = incoming.call.event_id.clone();
    if record
        .pending
        .iter()
        .any(|p| p.event == event || p.joined.as_deref() == Some(event.as_str()))
    {
        return; // recorded (or joined into a Config-only finding) by an earlier delivery
    }
    let waiting = record
        .pending
        .iter_mut()
        .filter(|p| p.side == Side::Config && p.joined.is_none() && in_window(incoming.call.time, p.time))
        .min_by_key(|p| (p.time.0 - incoming.call.time.0).abs());
    if let Some(config) = waiting {
        config.joined = Some(event.clone());
        let evidence = config.evidence.clone();
        match config
            .finding
            .clone()
            .and_then(|id| findings.get_mut(&id).map(|f| (id, f)))
        {
            // An earlier attempt joined this call into the Config-only finding but did not get
            // to save the record: the join is done (its event is in the outbox already).
            Some((_, target)) if target.call.event_id == event => return,
            Some((_, target)) if target.is_config_only() => {
                target.adopt_call(&incoming);
                for iac in &record.iac {
                    target.resolve_with(iac);
                }
                if target.status == Status::Open {
                    out.push(Transition::Detected(Box::new(target.clone())));
                }
                return;
            }
            _ => {
                if let Some(evidence) = evidence {
                    incoming.attach_config(&evidence);
                    config.finding = Some(incoming.id.clone());
                }
            }
        }
    }
    record.note_call(&incoming);
    out.extend(incoming.arrival());
    findings.insert(incoming.id.clone(), incoming);
}

/// A Config observation meets the record: joins the call that caused it, or (showing drift
/// that no recent IaC change explains) stores its Config-only finding and waits for the call.
/// Replays change nothing.
pub fn on_config(
    findings: &mut BTreeMap<String, Finding>,
    record: &mut ResourceRecord,
    obs: &ConfigObservation,
    out: &mut Vec<Transition>,
) {
    let ev = &obs.evidence;
    if ev.origin == Origin::Sweep {
        return on_sweep(findings, record, obs, out);
    }
    if record
        .pending
        .iter()
        .any(|p| p.side == Side::Config && p.event == ev.observation)
    {
        return;
    }
    let call = record
        .pending
        .iter_mut()
        .filter(|p| p.side == Side::Call && p.joined.is_none() && in_window(p.time, ev.capture_time))
        .max_by_key(|p| p.time);
    let mut entry = Pending {
        side: Side::Config,
        time: ev.capture_time,
        event: ev.observation.clone(),
        finding: None,
        joined: None,
        evidence: Some(ev.clone()),
    };
    if let Some(call) = call {
        call.joined = Some(ev.observation.clone());
        entry.joined = Some(call.event.clone());
        entry.finding.clone_from(&call.finding);
        if let Some(f) = call.finding.as_ref().and_then(|id| findings.get_mut(id)) {
            if f.attach_config(ev) && f.status == Status::Open {
                out.push(Transition::Detected(Box::new(f.clone())));
            }
        }
        record.remember_pending(entry);
        return;
    }
    let explained_by_iac = record
        .iac
        .iter()
        .any(|i| i.time.0 <= ev.capture_time.0 && ev.capture_time.0 - i.time.0 <= WINDOW_MS);
    if let Some(f) = obs.finding.as_deref().filter(|_| ev.shows_drift() && !explained_by_iac) {
        let mut f = f.clone();
        for iac in &record.iac {
            f.resolve_with(iac);
        }
        entry.finding = Some(f.id.clone());
        if !record.findings.contains(&f.id) {
            record.findings.push(f.id.clone());
        }
        out.push(Transition::Detected(Box::new(f.clone())));
        if f.status == Status::Resolved {
            out.push(Transition::Resolved(Box::new(f.clone())));
        }
        findings.insert(f.id.clone(), f);
    }
    record.remember_pending(entry);
}

/// The finding ids a store loads for a change on `record` besides the change's own finding: the
/// join candidates around the change's time, and for a sweep observation every finding on the
/// resource (a sweep resolves or stands in for any of them).
pub fn candidates(record: &ResourceRecord, obs: &ConfigObservation) -> Vec<String> {
    if obs.evidence.origin == Origin::Sweep {
        record.findings.clone()
    } else {
        record.join_candidates(obs.evidence.capture_time)
    }
}

/// Whether a stored finding already stands for what a sweep observation shows: open (or
/// settled by an accepted change) and of the same kind, and for drift naming every drifted
/// attribute.
fn stands_for(f: &Finding, obs: &ConfigObservation) -> bool {
    use crate::findings::finding::FindingKind;
    let ev = &obs.evidence;
    if f.status != Status::Open && !f.settled_by_baseline() {
        return false;
    }
    let Some(mine) = obs.finding.as_deref() else {
        return false;
    };
    match (mine.kind, f.kind) {
        (FindingKind::Missing, FindingKind::Missing) | (FindingKind::Unmanaged, FindingKind::Unmanaged) => true,
        (FindingKind::Drift, FindingKind::Drift) => {
            let resource_type = &f.resource.resource_type;
            !ev.drifted.is_empty()
                && ev.drifted.iter().all(|d| {
                    f.changes
                        .iter()
                        .any(|c| c.drifted && same_attribute(resource_type, &c.attribute, &d.attribute))
                })
        }
        _ => false,
    }
}

/// Whether a sweep observation shows a stored open finding undone: a missing resource that
/// exists again, an unmanaged one now declared, or drift whose every attribute the sweep
/// compared and found as declared. Only findings on changes no later than the item.
fn undone_by_sweep(f: &Finding, obs: &ConfigObservation) -> bool {
    use crate::findings::finding::FindingKind;
    use crate::input::config_item::ChangeType;
    let ev = &obs.evidence;
    if f.status != Status::Open || f.call.time.0 > ev.capture_time.0 || ev.change == ChangeType::Delete {
        return false;
    }
    match f.kind {
        FindingKind::Missing => true,
        FindingKind::Unmanaged => ev.compared,
        FindingKind::Drift => {
            let resource_type = &f.resource.resource_type;
            let drifted: Vec<_> = f.changes.iter().filter(|c| c.drifted).collect();
            !drifted.is_empty()
                && drifted.iter().all(|c| {
                    ev.in_line
                        .iter()
                        .any(|a| same_attribute(resource_type, &c.attribute, a))
                })
        }
        FindingKind::Access => false,
    }
}

/// A sweep observation meets the record. In order:
/// 1. every open finding the live item shows undone is resolved (named after the sweep);
/// 2. drift, a missing or an unmanaged resource that a stored finding already stands for
///    ([`stands_for`]) adds nothing: the event-raised finding is the finding (a call-only one
///    gains the live values, as a join would), so no duplicate;
/// 3. otherwise the item joins a call waiting within the window, or its finding is stored (an
///    IaC change just before it explains it, as for an event).
///
/// The item is remembered as a Config side only when it joined or raised a finding, so a sweep
/// of a steady estate writes nothing. Replays change nothing.
fn on_sweep(
    findings: &mut BTreeMap<String, Finding>,
    record: &mut ResourceRecord,
    obs: &ConfigObservation,
    out: &mut Vec<Transition>,
) {
    let ev = &obs.evidence;
    for id in &record.findings {
        let Some(f) = findings.get_mut(id) else { continue };
        if undone_by_sweep(f, obs) {
            let back = crate::findings::finding::IacChange {
                resource_key: obs.resource.key(),
                event_id: format!("sweep:{}", ev.observation),
                time: ev.capture_time,
                by: "the reconcile sweep (AWS Config shows it as declared)".to_owned(),
                restores: Vec::new(),
                finding: Some(id.clone()),
                baseline: false,
            };
            if f.resolve_with(&back) {
                out.push(Transition::Resolved(Box::new(f.clone())));
            }
        }
    }
    if !ev.shows_drift() || obs.finding.is_none() {
        return;
    }
    let standing = record
        .findings
        .iter()
        .find(|id| findings.get(*id).is_some_and(|f| stands_for(f, obs)))
        .cloned();
    if let Some(f) = standing.and_then(|id| findings.get_mut(&id)) {
        if f.config.is_none() && f.status == Status::Open && f.attach_config(ev) {
            out.push(Transition::Detected(Box::new(f.clone())));
        }
        return;
    }
    if record
        .pending
        .iter()
        .any(|p| p.side == Side::Config && p.event == ev.observation && p.finding.is_some())
    {
        return; // this very item raised or joined a finding already
    }
    let call = record
        .pending
        .iter_mut()
        .filter(|p| p.side == Side::Call && p.joined.is_none() && in_window(p.time, ev.capture_time))
        .max_by_key(|p| p.time);
    let mut entry = Pending {
        side: Side::Config,
        time: ev.capture_time,
        event: ev.observation.clone(),
        finding: None,
        joined: None,
        evidence: Some(ev.clone()),
    };
    if let Some(call) = call {
        call.joined = Some(ev.observation.clone());
        entry.joined = Some(call.event.clone());
        entry.finding.clone_from(&call.finding);
        if let Some(f) = call.finding.as_ref().and_then(|id| findings.get_mut(id)) {
            if f.attach_config(ev) && f.status == Status::Open {
                out.push(Transition::Detected(Box::new(f.clone())));
            }
        }
        record.remember_pending(entry);
        return;
    }
    let explained_by_iac = record
        .iac
        .iter()
        .any(|i| i.time.0 <= ev.capture_time.0 && ev.capture_time.0 - i.time.0 <= WINDOW_MS);
    if explained_by_iac {
        return;
    }
    if let Some(f) = obs.finding.as_deref() {
        let mut f = f.clone();
        for iac in &record.iac {
            f.resolve_with(iac);
        }
        entry.finding = Some(f.id.clone());
        if !record.findings.contains(&f.id) {
            record.findings.push(f.id.clone());
        }
        out.extend(f.arrival());
        findings.insert(f.id.clone(), f);
        record.remember_pending(entry);
    }
}
