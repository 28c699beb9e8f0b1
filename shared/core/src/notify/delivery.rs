//! Slack notifications, sans IO: which channel a finding goes to, whether it is posted, batched
//! into a digest or folded into a burst's message, and what is remembered so that a message is
//! posted once and later updated.
//!
//! [`plan`] is the one interpreter: it takes a [`Notice`] (a drift event or a remediation result),
//! the [`NotifyPolicy`] (routes, minimum severity, digest, burst window) and what the ledger
//! [`Known`]s about earlier messages, and answers a [`Plan`] the notify-slack function carries
//! out with the Slack client. [`NotifyLedger`] is the port for what is remembered:
//!
//! - deliveries, claimed by idempotency key ([`Notice::key`], `<finding id>:<version>`) before
//!   posting and marked done after, so a redelivered event posts nothing;
//! - where each finding's message lives (channel and `ts`), to update it and reply in its thread;
//! - burst groups: one actor's changes on one resource within the window share one message;
//! - digest queues per channel.
//!
//! [`MemoryLedger`] keeps all of it in memory (tests, local runs); the DynamoDB ledger lives in
//! `driftguard-aws`.

use crate::drift::score::Severity;
use crate::findings::finding::{Finding, Status};
use crate::findings::ports::{DriftEvent, DriftEventKind};
use crate::notify::interaction::{Decision, DecisionLedger, Recorded};
use crate::remediation::RemediationResult;
use crate::util::time::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Mutex;

pub use crate::notify::slack::{group_key, MessageRef};

/// One routing rule: every condition given must hold; the first matching route wins.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Route {
    /// The channel (id such as `C0123456789`, or a name).
    pub channel: String,
    /// Only these severities.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<Severity>,
    /// Only this account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Only resources with this environment tag (compared case-insensitively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub environment: Option<String>,
    /// Only resources carrying all these tags with these values.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub tags: BTreeMap<String, String>,
}

impl Route {
    /// Whether the route takes the finding.
    pub fn matches(&self, f: &Finding) -> bool {
        (self.severity.is_empty() || self.severity.contains(&f.severity))
            && self.account.as_deref().is_none_or(|a| a == f.resource.account)
            && self
                .environment
                .as_deref()
                .is_none_or(|e| f.environment().is_some_and(|v| v.eq_ignore_ascii_case(e)))
            && self.tags.iter().all(|(k, v)| f.tags.get(k) == Some(v))
    }
}

/// How findings become Slack messages.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotifyPolicy {
    /// Where findings no route takes go; `None`: they are not posted (a webhook posts to its
    /// own channel, so this is only needed with a bot token).
    pub default_channel: Option<String>,
    /// Routes, in order.
    pub routes: Vec<Route>,
    /// Findings below this severity are not posted.
    pub min_severity: Severity,
    /// Findings at or below this severity are batched into a digest; `None`: no digest.
    pub digest_up_to: Option<Severity>,
    /// A digest is posted once it holds this many findings...
    pub digest_max_items: usize,
    /// ...or once its oldest finding has waited this long (checked on every event and by the
    /// scheduled flush).
    pub digest_max_age_seconds: i64,
    /// Changes by one actor on one resource within this many seconds of the group's last
    /// change share one message; 0 turns grouping off.
    pub group_window_seconds: i64,
}

/// How many findings one burst message holds before a new message starts.
pub const MAX_GROUP: usize = 10;

impl Default for NotifyPolicy {
    fn default() -> Self {
        NotifyPolicy {
            default_channel: None,
            routes: Vec::new(),
            min_severity: Severity::Minor,
            digest_up_to: Some(Severity::Minor),
            digest_max_items: 20,
            digest_max_age_seconds: 3600,
            group_window_seconds: 300,
        }
    }
}

impl NotifyPolicy {
    /// The channel for a finding: the first matching route's, else the default channel.
    pub fn channel_for(&self, f: &Finding) -> Option<&str> {
        self.routes
            .iter()
            .find(|r| r.matches(f))
            .map(|r| r.channel.as_str())
            .or(self.default_channel.as_deref())
    }

    /// Every channel a digest may be queued for (routes', then the default), deduplicated.
    pub fn channels(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for c in self
            .routes
            .iter()
            .map(|r| &r.channel)
            .chain(self.default_channel.as_ref())
        {
            if !out.contains(c) {
                out.push(c.clone());
            }
        }
        out
    }

    fn digested(&self, f: &Finding) -> bool {
        self.digest_up_to.is_some_and(|max| f.severity <= max)
    }
}

/// Something to tell Slack about.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// `Drift Detected` or `Drift Resolved`.
    Drift(Box<DriftEvent>),
    /// `Remediation Completed` or `Remediation Failed`, with the finding when the store has it.
    Remediation {
        /// The result.
        result: RemediationResult,
        /// The finding it is about.
        finding: Option<Box<Finding>>,
    },
    /// `Remediation Awaiting Approval`, with the stored finding.
    Approval {
        /// The waiting request.
        pending: crate::remediation::RemediationPending,
        /// The finding it is about.
        finding: Box<Finding>,
    },
}

impl Notice {
    /// The idempotency key, `<finding id>:<version>`: the same notice always has the same key,
    /// and a message is posted at most once per key.
    pub fn key(&self) -> String {
        match self {
            Notice::Drift(e) => e.key.clone(),
            Notice::Remediation { result, .. } => result.key(),
            Notice::Approval { pending, .. } => pending.key(),
        }
    }

    /// The finding, when known.
    pub fn finding(&self) -> Option<&Finding> {
        match self {
            Notice::Drift(e) => Some(&e.finding),
            Notice::Remediation { finding, .. } => finding.as_deref(),
            Notice::Approval { finding, .. } => Some(finding),
        }
    }

    /// The finding id.
    pub fn finding_id(&self) -> &str {
        match self {
            Notice::Drift(e) => &e.finding.id,
            Notice::Remediation { result, .. } => &result.finding_id,
            Notice::Approval { pending, .. } => &pending.finding_id,
        }
    }
}

/// Why an event on the bus is not believed: its finding is not the stored one. Such an event is
/// refused (logged and counted by the function), never posted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Untrusted {
    /// The finding the event names is not in the table.
    #[error("finding {0} is not in the table")]
    NotStored(String),
    /// The event's finding disagrees with the stored one.
    #[error("finding {id}: the event's {field} disagrees with the table")]
    Differs {
        /// The finding id.
        id: String,
        /// What disagrees (`kind`, `resource`, `call`, `revision`, `status`, `key`, and at the
        /// same revision `actor`, `severity`, `changes`).
        field: &'static str,
    },
}

impl Untrusted {
    /// A snake-case reason, for logs and counts.
    pub fn reason(&self) -> &'static str {
        match self {
            Untrusted::NotStored(_) => "not_stored",
            Untrusted::Differs { .. } => "differs",
        }
    }
}

/// Checks a `Drift Detected` / `Drift Resolved` event against the finding the table holds under
/// its id (read by the caller), and answers the notice to act on, carrying the **stored**
/// finding: nothing an event body says is posted. The event must name a stored finding, agree
/// with it on what never changes (kind, resource, the call behind it), carry the key DriftGuard
/// gives that transition, not be ahead of the table (revision), and a resolution must be stored
/// as resolved; at the same revision, who, the severity and likelihood, the attributes and the
/// fix must agree as well. The table may be ahead of the event (a later revision, a resolution): events are
/// delivered late and out of order, and the newer stored content is what is shown.
pub fn verified_drift(event: &DriftEvent, stored: Option<&Finding>) -> Result<Notice, Untrusted> {
    let e = &event.finding;
    let Some(f) = stored.filter(|f| f.id == e.id) else {
        return Err(Untrusted::NotStored(e.id.clone()));
    };
    let differs = |field| Untrusted::Differs {
        id: e.id.clone(),
        field,
    };
    if f.kind != e.kind {
        return Err(differs("kind"));
    }
    if f.resource.key() != e.resource.key() {
        return Err(differs("resource"));
    }
    if (f.call.event_id.as_str(), f.call.time, f.call.name.as_str())
        != (e.call.event_id.as_str(), e.call.time, e.call.name.as_str())
    {
        return Err(differs("call"));
    }
    if e.revision > f.revision {
        return Err(differs("revision"));
    }
    if e.revision == f.revision {
        // The same version: what the alert shows must agree too (values and the summary may
        // differ only by the truncation that fits a finding into an event).
        if f.actor != e.actor {
            return Err(differs("actor"));
        }
        if f.resource != e.resource || f.owner != e.owner {
            return Err(differs("resource"));
        }
        if f.severity != e.severity || f.likelihood.to_bits() != e.likelihood.to_bits() {
            return Err(differs("severity"));
        }
        let attributes = |x: &Finding| x.changes.iter().map(|c| c.attribute.clone()).collect::<Vec<_>>();
        if attributes(f) != attributes(e) || f.fix != e.fix {
            return Err(differs("changes"));
        }
    }
    let transition = match event.kind {
        DriftEventKind::Detected => crate::findings::finding::Transition::Detected(Box::new(e.clone())),
        DriftEventKind::Resolved => {
            if f.status != Status::Resolved {
                return Err(differs("status"));
            }
            crate::findings::finding::Transition::Resolved(Box::new(e.clone()))
        }
    };
    if DriftEvent::from(transition).key != event.key {
        return Err(differs("key"));
    }
    Ok(Notice::Drift(Box::new(DriftEvent {
        kind: event.kind,
        key: event.key.clone(),
        finding: f.clone(),
    })))
}

/// A burst: one actor's changes on one resource, shown in one message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Group {
    /// [`group_key`] of its findings.
    pub key: String,
    /// The message showing it.
    pub message: MessageRef,
    /// Its findings, oldest first (at most [`MAX_GROUP`]).
    pub findings: Vec<Finding>,
    /// The time of its latest change.
    pub last_at: Timestamp,
}

/// A finding waiting in a channel's digest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DigestItem {
    /// The notice's idempotency key (the queue holds each once).
    pub key: String,
    /// When it was queued.
    pub queued_at: Timestamp,
    /// The finding (shrunk to a few KB).
    pub finding: Finding,
}

/// The largest finding a digest item or a group keeps, in bytes of JSON.
pub const KEPT_FINDING_BYTES: usize = 8 * 1024;

impl DigestItem {
    /// A queue entry for `f`.
    pub fn new(key: &str, f: &Finding, now: Timestamp) -> DigestItem {
        let mut finding = f.clone();
        finding.fit_within(KEPT_FINDING_BYTES);
        DigestItem {
            key: key.to_owned(),
            queued_at: now,
            finding,
        }
    }
}

/// Whether a digest queue should be posted now.
pub fn digest_due(items: &[DigestItem], policy: &NotifyPolicy, now: Timestamp) -> bool {
    !items.is_empty()
        && (items.len() >= policy.digest_max_items.max(1)
            || items
                .iter()
                .map(|i| i.queued_at)
                .min()
                .is_some_and(|oldest| now.0 - oldest.0 >= policy.digest_max_age_seconds * 1000))
}

/// The findings a digest shows: one per finding, its latest version (a finding detected and
/// then resolved while queued shows once, resolved), in the order they were first queued.
pub fn digest_findings(items: &[DigestItem]) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for item in items {
        match out.iter_mut().find(|f| f.id == item.finding.id) {
            Some(f) => *f = item.finding.clone(),
            None => out.push(item.finding.clone()),
        }
    }
    out
}

/// What the ledger knows that bears on a notice.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Known {
    /// The message already showing the finding.
    pub message: Option<MessageRef>,
    /// The burst group of the finding's actor and resource.
    pub group: Option<Group>,
    /// The approval prompt of the request a notice is about, when one was posted
    /// ([`crate::notify::slack::prompt_key`]).
    pub prompt: Option<MessageRef>,
}

/// Why a notice is not sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// Below the minimum severity.
    BelowMinimum,
    /// No route takes it and there is no default channel.
    NoChannel,
}

impl SkipReason {
    /// Snake-case name, for counts and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::BelowMinimum => "below_minimum",
            SkipReason::NoChannel => "no_channel",
        }
    }
}

/// What to do for a notice.
#[derive(Debug, Clone, PartialEq)]
pub enum Plan {
    /// Nothing (counted and logged with the reason).
    Skip(SkipReason),
    /// Queue the finding in the channel's digest.
    Digest {
        /// Channel.
        channel: String,
    },
    /// Post a new message; remember it for the finding and, when `group` is set, as that
    /// burst's message.
    Post {
        /// Channel (ignored by a webhook, which posts to its own).
        channel: String,
        /// `{"text", "blocks"}`.
        message: Value,
        /// The burst group to start: its key and findings.
        group: Option<(String, Vec<Finding>)>,
    },
    /// Post an approval prompt (in the alert's thread when `thread` is set) and remember it
    /// under [`crate::notify::slack::prompt_key`]; or, when `existing` is set, update the prompt
    /// already posted for the request.
    Prompt {
        /// Channel.
        channel: String,
        /// The alert's `ts`, to reply in its thread.
        thread: Option<String>,
        /// The prompt already posted for this request.
        existing: Option<MessageRef>,
        /// The request.
        request_id: String,
        /// `{"text", "blocks"}` with the Approve button.
        message: Value,
    },
    /// Update an existing message (`chat.update`) and/or reply in its thread.
    Update {
        /// The message.
        target: MessageRef,
        /// The new content; `None` leaves it.
        message: Option<Value>,
        /// A reply to post in its thread.
        reply: Option<Value>,
        /// The burst group, updated, to save.
        group: Option<Group>,
    },
}

/// Decides what to do for a notice. `can_update`: the delivery can update messages and reply in
/// threads (a bot token; an incoming webhook can only post).
pub fn plan(notice: &Notice, policy: &NotifyPolicy, known: &Known, can_update: bool) -> Plan {
    match notice {
        Notice::Drift(event) => {
            let f = &event.finding;
            match event.kind {
                DriftEventKind::Detected => plan_detected(f, policy, known, can_update),
                DriftEventKind::Resolved => plan_resolved(f, policy, known, can_update),
            }
        }
        Notice::Approval { pending, finding } => plan_approval(pending, finding, policy, known, can_update),
        Notice::Remediation { result, finding } => {
            let sentence = crate::notify::slack::escape(&result.sentence());
            let icon = match result.outcome {
                crate::remediation::RemediationOutcome::Completed => ":white_check_mark:",
                crate::remediation::RemediationOutcome::Failed => ":x:",
            };
            let note = format!("{icon} {sentence}");
            if let (Some(target), true) = (&known.message, can_update) {
                let message = finding.as_deref().map(|f| {
                    let (findings, _) = regrouped(f, known, target);
                    crate::notify::slack::with_note(crate::notify::slack::render_group(&findings), &note, false)
                });
                return Plan::Update {
                    target: target.clone(),
                    message,
                    reply: Some(crate::notify::slack::text_message(&note)),
                    group: None,
                };
            }
            let channel = finding
                .as_deref()
                .and_then(|f| policy.channel_for(f))
                .or(policy.default_channel.as_deref());
            match channel {
                Some(channel) => Plan::Post {
                    channel: channel.to_owned(),
                    message: crate::notify::slack::text_message(&format!("{note} (finding `{}`)", result.finding_id)),
                    group: None,
                },
                None => Plan::Skip(SkipReason::NoChannel),
            }
        }
    }
}

/// An approval prompt: a bot posts it with its Approve button in the alert's thread (or in the
/// finding's channel when no alert was posted) and updates it as approvals arrive. An incoming
/// webhook cannot tie a click to the message it posted, so it gets the prompt without the button,
/// saying so.
fn plan_approval(
    pending: &crate::remediation::RemediationPending,
    f: &Finding,
    policy: &NotifyPolicy,
    known: &Known,
    can_update: bool,
) -> Plan {
    let subject = format!("{} {}", f.resource.resource_type, f.resource.id);
    let message = crate::notify::slack::render_approval(pending, &subject);
    let channel = known
        .message
        .as_ref()
        .map(|m| m.channel.clone())
        .or_else(|| policy.channel_for(f).map(str::to_owned))
        .or_else(|| policy.default_channel.clone());
    let Some(channel) = channel else {
        return Plan::Skip(SkipReason::NoChannel);
    };
    if !can_update {
        let message = crate::notify::slack::with_note(
            crate::notify::slack::without_buttons(message),
            "Approve buttons need DriftGuard's Slack bot token: with an incoming webhook, approvals arrive as `Remediation Approved` events.",
            true,
        );
        return Plan::Post {
            channel,
            message,
            group: None,
        };
    }
    Plan::Prompt {
        channel,
        thread: known.message.as_ref().map(|m| m.ts.clone()),
        existing: known.prompt.clone(),
        request_id: pending.request_id.clone(),
        message,
    }
}

/// The approval prompt a notice closes, and what it becomes: a remediation result ends its
/// request's prompt (the outcome, no button), when one was posted and the delivery can update it.
pub fn prompt_to_close(notice: &Notice, known: &Known, can_update: bool) -> Option<(MessageRef, Value)> {
    let (Notice::Remediation { result, .. }, Some(prompt), true) = (notice, &known.prompt, can_update) else {
        return None;
    };
    let closed = crate::notify::slack::text_message(&format!(
        ":lock: No more approvals needed for `{}`: {}",
        result.request_id.as_deref().unwrap_or(""),
        crate::notify::slack::escape(&result.sentence())
    ));
    Some((prompt.clone(), closed))
}

impl Plan {
    /// What the plan would do and in which channel, for logs (shadow mode): `post`, `update`,
    /// `prompt`, `digest`, or `skip (<reason>)`.
    pub fn summary(&self) -> (String, Option<&str>) {
        match self {
            Plan::Skip(reason) => (format!("skip ({})", reason.as_str()), None),
            Plan::Digest { channel } => ("digest".into(), Some(channel)),
            Plan::Post { channel, .. } => ("post".into(), Some(channel)),
            Plan::Prompt { channel, .. } => ("prompt".into(), Some(channel)),
            Plan::Update { target, .. } => ("update".into(), Some(&target.channel)),
        }
    }
}

/// The findings to show in the message at `target` with `f` replaced by its new version, and
/// the group when that message is a burst's.
fn regrouped(f: &Finding, known: &Known, target: &MessageRef) -> (Vec<Finding>, Option<Group>) {
    match &known.group {
        Some(g) if &g.message == target && g.findings.iter().any(|x| x.id == f.id) => {
            let mut g = g.clone();
            for x in &mut g.findings {
                if x.id == f.id {
                    *x = f.clone();
                }
            }
            (g.findings.clone(), Some(g))
        }
        _ => (vec![f.clone()], None),
    }
}

fn plan_detected(f: &Finding, policy: &NotifyPolicy, known: &Known, can_update: bool) -> Plan {
    // A new revision of a finding already shown (AWS Config evidence joined it, or the call
    // behind a Config-only finding arrived): the message is updated in place, never posted again.
    if let (Some(target), true) = (&known.message, can_update) {
        let (findings, group) = regrouped(f, known, target);
        let message = if group.is_some() {
            crate::notify::slack::render_group(&findings)
        } else {
            crate::notify::slack::render(f)
        };
        return Plan::Update {
            target: target.clone(),
            message: Some(message),
            reply: None,
            group,
        };
    }
    if f.severity < policy.min_severity {
        return Plan::Skip(SkipReason::BelowMinimum);
    }
    let Some(channel) = policy.channel_for(f) else {
        return Plan::Skip(SkipReason::NoChannel);
    };
    if policy.digested(f) {
        return Plan::Digest {
            channel: channel.to_owned(),
        };
    }
    if can_update && policy.group_window_seconds > 0 {
        if let Some(g) = &known.group {
            let within = (f.call.time.0 - g.last_at.0).abs() <= policy.group_window_seconds * 1000;
            if within && g.message.channel_matches(channel) && g.findings.len() < MAX_GROUP {
                let mut g = g.clone();
                if !g.findings.iter().any(|x| x.id == f.id) {
                    let mut kept = f.clone();
                    kept.fit_within(KEPT_FINDING_BYTES);
                    g.findings.push(kept);
                    g.findings
                        .sort_by(|a, b| (a.call.time, &a.id).cmp(&(b.call.time, &b.id)));
                }
                g.last_at = g.last_at.max(f.call.time);
                return Plan::Update {
                    target: g.message.clone(),
                    message: Some(crate::notify::slack::render_group(&g.findings)),
                    reply: None,
                    group: Some(g),
                };
            }
        }
    }
    let mut kept = f.clone();
    kept.fit_within(KEPT_FINDING_BYTES);
    Plan::Post {
        channel: channel.to_owned(),
        message: crate::notify::slack::render(f),
        group: (can_update && policy.group_window_seconds > 0).then(|| (group_key(f), vec![kept])),
    }
}

fn plan_resolved(f: &Finding, policy: &NotifyPolicy, known: &Known, can_update: bool) -> Plan {
    if let (Some(target), true) = (&known.message, can_update) {
        let (findings, group) = regrouped(f, known, target);
        let message = if group.is_some() {
            crate::notify::slack::render_group(&findings)
        } else {
            crate::notify::slack::render(f)
        };
        let by = f.resolution.as_ref().map_or_else(String::new, |r| {
            format!(" by {} at {}", crate::notify::slack::escape(&r.by), r.time)
        });
        return Plan::Update {
            target: target.clone(),
            message: Some(message),
            reply: Some(crate::notify::slack::text_message(&format!(
                ":white_check_mark: Resolved{by}: the resource is back under IaC."
            ))),
            group,
        };
    }
    if f.severity < policy.min_severity {
        return Plan::Skip(SkipReason::BelowMinimum);
    }
    let Some(channel) = policy.channel_for(f) else {
        return Plan::Skip(SkipReason::NoChannel);
    };
    if policy.digested(f) {
        return Plan::Digest {
            channel: channel.to_owned(),
        };
    }
    debug_assert_eq!(f.status, Status::Resolved);
    Plan::Post {
        channel: channel.to_owned(),
        message: crate::notify::slack::render(f),
        group: None,
    }
}

impl MessageRef {
    /// Whether the message is in `channel` (an id; a route naming a channel by name matches any,
    /// since Slack answers ids).
    fn channel_matches(&self, channel: &str) -> bool {
        self.channel == channel || !channel.starts_with(['C', 'G', 'D'])
    }
}

/// The outcome of claiming a delivery key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Claim {
    /// Nobody delivered it: go ahead, then [`NotifyLedger::finish`].
    Fresh,
    /// Already delivered: do nothing.
    Done,
    /// Another delivery holds the claim (its lease has not expired): try again later.
    Busy,
}

/// How long a delivery claim stays held before another delivery may take it over.
pub const CLAIM_LEASE_SECONDS: i64 = 120;

/// What notify-slack remembers between events.
pub trait NotifyLedger {
    /// The adapter's error.
    type Error: std::error::Error + Send + Sync + 'static;

    /// Claims the delivery of `key` for [`CLAIM_LEASE_SECONDS`] (conditional write).
    fn begin(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Claim, Self::Error>> + Send;

    /// Marks `key` delivered.
    fn finish(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Gives up a claim so a retry may deliver (the delivery failed).
    fn release(&self, key: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Where the finding's message lives.
    fn message(&self, finding_id: &str) -> impl Future<Output = Result<Option<MessageRef>, Self::Error>> + Send;

    /// Remembers where the finding's message lives.
    fn save_message(
        &self,
        finding_id: &str,
        message: &MessageRef,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// A burst group by [`group_key`].
    fn group(&self, key: &str) -> impl Future<Output = Result<Option<Group>, Self::Error>> + Send;

    /// Saves a burst group.
    fn save_group(&self, group: &Group) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// Queues a digest item for `channel` (idempotent on the item's key).
    fn enqueue(&self, channel: &str, item: &DigestItem) -> impl Future<Output = Result<(), Self::Error>> + Send;

    /// The channel's queued items, oldest first.
    fn queued(&self, channel: &str) -> impl Future<Output = Result<Vec<DigestItem>, Self::Error>> + Send;

    /// Removes posted items from the channel's queue.
    fn dequeue(&self, channel: &str, keys: &[String]) -> impl Future<Output = Result<(), Self::Error>> + Send;
}

/// An in-memory [`NotifyLedger`] (and [`DecisionLedger`]).
#[derive(Debug, Default)]
pub struct MemoryLedger {
    pub(crate) state: Mutex<LedgerState>,
}

#[derive(Debug, Default)]
pub(crate) struct LedgerState {
    /// key → (done, lease until)
    claims: BTreeMap<String, (bool, Timestamp)>,
    messages: BTreeMap<String, MessageRef>,
    groups: BTreeMap<String, Group>,
    digests: BTreeMap<String, Vec<DigestItem>>,
    pub(crate) decisions: Vec<Decision>,
    /// `(finding id, decision key)` of decisions whose remediation request was published.
    pub(crate) published: std::collections::BTreeSet<(String, String)>,
    pub(crate) requests: BTreeMap<String, Timestamp>,
}

impl MemoryLedger {
    pub(crate) fn with<T>(&self, f: impl FnOnce(&mut LedgerState) -> T) -> Result<T, crate::findings::ports::Poisoned> {
        self.state
            .lock()
            .map(|mut s| f(&mut s))
            .map_err(|_| crate::findings::ports::Poisoned)
    }
}

impl NotifyLedger for MemoryLedger {
    type Error = crate::findings::ports::Poisoned;

    fn begin(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<Claim, Self::Error>> + Send {
        std::future::ready(self.with(|s| match s.claims.get(key) {
            Some((true, _)) => Claim::Done,
            Some((false, until)) if *until > now => Claim::Busy,
            _ => {
                s.claims
                    .insert(key.to_owned(), (false, Timestamp(now.0 + CLAIM_LEASE_SECONDS * 1000)));
                Claim::Fresh
            }
        }))
    }

    fn finish(&self, key: &str, now: Timestamp) -> impl Future<Output = Result<(), Self::Error>> + Send {
        std::future::ready(self.with(|s| {
            s.claims.insert(key.to_owned(), (true, now));
        }))
    }

    fn release(&self, key: &str) -> impl Future<Output = Result<(), Self::Error>> + Send {
        std::future::ready(self.with(|s| {
            if s.claims.get(key).is_some_and(|(done, _)| !done) {
                s.claims.remove(key);
            }
        }))
    }

    fn message(&self, finding_id: &str) -> impl Future<Output = Result<Option<MessageRef>, Self::Error>> + Send {
        std::future::ready(self.with(|s| s.messages.get(finding_id).cloned()))
    }

    fn save_message(
        &self,
        finding_id: &str,
        message: &MessageRef,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send {
        std::future::ready(self.with(|s| {
            s.messages.insert(finding_id.to_owned(), message.clone());
        }))
    }

    fn group(&self, key: &str) -> impl Future<Output = Result<Option<Group>, Self::Error>> + Send {
        std::future::ready(self.with(|s| s.groups.get(key).cloned()))
    }

    fn save_group(&self, group: &Group) -> impl Future<Output = Result<(), Self::Error>> + Send {
        std::future::ready(self.with(|s| {
            s.groups.insert(group.key.clone(), group.clone());
        }))
    }

    fn enqueue(&self, channel: &str, item: &DigestItem) -> impl Future<Output = Result<(), Self::Error>> + Send {
        std::future::ready(self.with(|s| {
            let q = s.digests.entry(channel.to_owned()).or_default();
            if !q.iter().any(|i| i.key == item.key) {
                q.push(item.clone());
                q.sort_by(|a, b| (a.queued_at, &a.key).cmp(&(b.queued_at, &b.key)));
            }
        }))
    }

    fn queued(&self, channel: &str) -> impl Future<Output = Result<Vec<DigestItem>, Self::Error>> + Send {
        std::future::ready(self.with(|s| s.digests.get(channel).cloned().unwrap_or_default()))
    }

    fn dequeue(&self, channel: &str, keys: &[String]) -> impl Future<Output = Result<(), Self::Error>> + Send {
        std::future::ready(self.with(|s| {
            if let Some(q) = s.digests.get_mut(channel) {
                q.retain(|i| !keys.contains(&i.key));
            }
        }))
    }
}

impl DecisionLedger for MemoryLedger {
    type Error = crate::findings::ports::Poisoned;

    fn record(&self, decision: &Decision) -> impl Future<Output = Result<Recorded, Self::Error>> + Send {
        std::future::ready(self.with(|s| {
            let on_finding = s.decisions.iter().filter(|d| d.finding_id == decision.finding_id);
            let mut held = None;
            for d in on_finding {
                if d.same_as(decision) {
                    let published = decision.action.remediation().is_none()
                        || s.published.contains(&(d.finding_id.clone(), d.key()));
                    return Recorded::Repeat { published };
                }
                if d.action.settles() && decision.action.settles() {
                    held = Some(d.clone());
                }
            }
            if let Some(d) = held {
                return Recorded::Taken(Box::new(d));
            }
            s.decisions.push(decision.clone());
            Recorded::New
        }))
    }

    fn mark_published(&self, decision: &Decision) -> impl Future<Output = Result<(), Self::Error>> + Send {
        std::future::ready(self.with(|s| {
            s.published.insert((decision.finding_id.clone(), decision.key()));
        }))
    }

    fn decisions(&self, finding_id: &str) -> impl Future<Output = Result<Vec<Decision>, Self::Error>> + Send {
        std::future::ready(self.with(|s| {
            let mut out: Vec<Decision> = s
                .decisions
                .iter()
                .filter(|d| d.finding_id == finding_id)
                .cloned()
                .collect();
            out.sort_by_key(|d| (d.at, d.key()));
            out
        }))
    }

    fn first_use(&self, request: &str, expires: Timestamp) -> impl Future<Output = Result<bool, Self::Error>> + Send {
        std::future::ready(self.with(|s| s.requests.insert(request.to_owned(), expires).is_none()))
    }
}
