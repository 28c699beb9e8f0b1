//! Slack, sans IO: a finding as a Block Kit message, the structural limits Slack enforces, and
//! the verification of Slack's request signatures (`X-Slack-Signature`, v0).
//!
//! Rendering never produces a message Slack would reject: long diffs are summarised, texts are
//! cut at Slack's limits with an ellipsis, and [`check_limits`] verifies the result.

use crate::findings::finding::{Finding, Status};
use crate::util::time::Timestamp;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use sha2::Sha256;
use std::fmt::Write as _;

/// Where a posted message lives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct MessageRef {
    /// Channel id.
    pub channel: String,
    /// Message timestamp (its id in the channel).
    pub ts: String,
}

/// The burst group key of a finding: account, region, resource and actor.
pub fn group_key(f: &Finding) -> String {
    format!(
        "grp-{:016x}",
        crate::util::fnv::hash_parts(&[&f.resource.key(), f.who().unwrap_or("")])
    )
}

/// Slack's limits (Block Kit reference).
pub mod limits {
    /// Blocks per message.
    pub const BLOCKS: usize = 50;
    /// Header block text.
    pub const HEADER_TEXT: usize = 150;
    /// Section block text.
    pub const SECTION_TEXT: usize = 3000;
    /// Fields per section.
    pub const SECTION_FIELDS: usize = 10;
    /// Each section field's text.
    pub const FIELD_TEXT: usize = 2000;
    /// Context block elements.
    pub const CONTEXT_ELEMENTS: usize = 10;
    /// Actions block elements.
    pub const ACTION_ELEMENTS: usize = 25;
    /// Button text.
    pub const BUTTON_TEXT: usize = 75;
    /// Button value.
    pub const BUTTON_VALUE: usize = 2000;
    /// `action_id` and `block_id`.
    pub const ID: usize = 255;
    /// The message's top-level `text` (notification fallback) DriftGuard keeps to.
    pub const FALLBACK_TEXT: usize = 3000;
    /// A confirmation dialog's title.
    pub const CONFIRM_TITLE: usize = 100;
    /// A confirmation dialog's explanatory text.
    pub const CONFIRM_TEXT: usize = 300;
    /// A confirmation dialog's confirm and deny button texts.
    pub const CONFIRM_BUTTON: usize = 30;
}

/// The buttons on a drift alert: `(action_id, label, style)`.
pub static ACTIONS: &[(&str, &str, Option<&str>)] = &[
    ("driftguard.revert", "Revert", Some("danger")),
    ("driftguard.reapply", "Re-apply IaC", Some("primary")),
    ("driftguard.accept", "Accept change", None),
    ("driftguard.acknowledge", "Acknowledge", None),
    ("driftguard.not_drift", "Not drift", None),
];

/// The confirmation dialog (Block Kit's `confirm` object) a destructive button carries: Slack
/// asks the user before sending the click. `subject` names what is acted on. Revert and
/// re-apply change infrastructure, so they ask; accept and acknowledge do not.
pub fn confirm_dialog(action_id: &str, subject: &str) -> Option<Value> {
    let (title, text, confirm, style) = match action_id {
        "driftguard.revert" => (
            "Revert this change?",
            format!("DriftGuard will request a remediation that undoes the manual change on {subject} and restores what IaC declares. The request is recorded under your name."),
            "Revert",
            "danger",
        ),
        "driftguard.reapply" => (
            "Re-apply IaC?",
            format!("DriftGuard will request an IaC apply for {subject}, overwriting the live values with what IaC declares. The request is recorded under your name."),
            "Re-apply",
            "primary",
        ),
        "driftguard.approve" => (
            "Approve this remediation?",
            format!("Your approval counts towards the request on {subject}; after the last one DriftGuard runs the plan shown. The approval is recorded under your name."),
            "Approve",
            "primary",
        ),
        _ => return None,
    };
    let plain = |t: &str, max| json!({ "type": "plain_text", "text": clip(t, max) });
    Some(json!({
        "title": plain(title, limits::CONFIRM_TITLE),
        "text": plain(&text, limits::CONFIRM_TEXT),
        "confirm": plain(confirm, limits::CONFIRM_BUTTON),
        "deny": plain("Cancel", limits::CONFIRM_BUTTON),
        "style": style,
    }))
}

/// One alert button: its action, label, style, value and, for destructive actions, the
/// confirmation dialog about `subject`.
fn button(action_id: &str, label: &str, style: Option<&str>, value: &Value, subject: &str) -> Value {
    let mut v = value.clone();
    v["action"] = json!(action_id.trim_start_matches("driftguard."));
    let mut b = json!({
        "type": "button",
        "action_id": action_id,
        "text": { "type": "plain_text", "text": clip(label, limits::BUTTON_TEXT) },
        "value": clip(&v.to_string(), limits::BUTTON_VALUE),
    });
    if let Some(style) = style {
        b["style"] = json!(style);
    }
    if let Some(confirm) = confirm_dialog(action_id, subject) {
        b["confirm"] = confirm;
    }
    b
}

/// How many attribute rows an alert shows before summarising the rest.
const MAX_ATTRIBUTE_ROWS: usize = 8;

/// Cuts `s` to at most `max` characters, ending with `…` when cut.
pub fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Escapes the three characters Slack's mrkdwn treats as control characters.
pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

pub(crate) fn mrkdwn(text: &str, max: usize) -> Value {
    json!({ "type": "mrkdwn", "text": clip(text, max) })
}

fn show(v: &Value) -> String {
    match v {
        Value::Null => "(not set)".into(),
        Value::String(s) => s.clone(),
        Value::Array(items) if items.iter().all(Value::is_string) => {
            items.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(", ")
        }
        other => other.to_string(),
    }
}

fn severity_icon(f: &Finding) -> &'static str {
    match (f.status, f.severity) {
        (Status::Resolved, _) => ":white_check_mark:",
        (_, crate::drift::score::Severity::Critical) => ":rotating_light:",
        (_, crate::drift::score::Severity::Major) => ":warning:",
        _ => ":information_source:",
    }
}

/// The CloudTrail console page of the event behind a finding.
pub fn cloudtrail_console_url(f: &Finding) -> String {
    let region = if f.resource.region.is_empty() {
        "us-east-1"
    } else {
        f.resource.region.as_str()
    };
    format!(
        "https://{region}.console.aws.amazon.com/cloudtrailv2/home?region={region}#/events/{}",
        f.call.event_id
    )
}

/// A finding as a Slack message: `{"text": ..., "blocks": [...]}`.
pub fn render(f: &Finding) -> Value {
    let who = f.who().unwrap_or("unknown");
    let how = crate::findings::finding::channel_phrase(f.actor.channel);
    let what = match (f.status, f.kind) {
        (Status::Resolved, _) => "resolved".to_owned(),
        (_, crate::findings::finding::FindingKind::Drift) => format!("{} drift", f.severity.as_str().to_uppercase()),
        (_, crate::findings::finding::FindingKind::Unmanaged) => {
            format!("{} unmanaged resource", f.severity.as_str().to_uppercase())
        }
        (_, crate::findings::finding::FindingKind::Missing) => {
            format!("{} missing resource", f.severity.as_str().to_uppercase())
        }
        (_, crate::findings::finding::FindingKind::Access) => {
            format!("{} interactive access", f.severity.as_str().to_uppercase())
        }
    };
    let title = format!("{what}: {} {}", f.resource.resource_type, f.resource.id);
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": clip(&title, limits::HEADER_TEXT), "emoji": true } }),
    ];
    let iac = f
        .owner
        .as_ref()
        .map_or("not declared in any loaded state".to_owned(), |o| {
            format!("`{}` in {}", o.address, o.state)
        });
    let fields = [
        format!("*Severity*\n{} {}", severity_icon(f), f.severity.as_str()),
        format!("*Likelihood*\n{:.0}%", f.likelihood * 100.0),
        format!("*Resource*\n{} `{}`", f.resource.resource_type, escape(&f.resource.id)),
        format!("*IaC*\n{}", escape(&iac)),
        format!(
            "*Who*\n{} ({})",
            escape(who),
            how.trim_start_matches("in the ").trim_start_matches("with the ")
        ),
        format!("*When*\n{} · `{}`", f.call.time, f.call.name),
    ];
    blocks.push(json!({ "type": "section", "fields": fields.iter().map(|t| mrkdwn(t, limits::FIELD_TEXT)).collect::<Vec<_>>() }));
    let drifted: Vec<_> = f.changes.iter().filter(|c| c.drifted).collect();
    if !drifted.is_empty() {
        let mut text = String::from("*Expected (IaC) → found*\n");
        for c in drifted.iter().take(MAX_ATTRIBUTE_ROWS) {
            let _ = writeln!(
                text,
                "• `{}`: {} → *{}*",
                c.attribute,
                clip(&escape(&show(&c.expected)), 300),
                clip(&escape(&show(&c.found)), 300)
            );
        }
        if drifted.len() > MAX_ATTRIBUTE_ROWS {
            let _ = writeln!(
                text,
                "…and {} more attributes (`driftguard findings show {}`)",
                drifted.len() - MAX_ATTRIBUTE_ROWS,
                f.id
            );
        }
        blocks.push(json!({ "type": "section", "text": mrkdwn(&text, limits::SECTION_TEXT) }));
    }
    blocks.push(json!({ "type": "section", "text": mrkdwn(&escape(&f.summary), limits::SECTION_TEXT) }));
    blocks.push(json!({ "type": "section", "text": mrkdwn(&format!("*Suggested fix*\n{}", escape(&f.fix)), limits::SECTION_TEXT) }));
    let mut context = vec![
        mrkdwn(
            &format!(
                "<{}|CloudTrail event> · rule `{}`",
                cloudtrail_console_url(f),
                f.actor.rule
            ),
            300,
        ),
        mrkdwn(&format!("finding `{}`", f.id), 300),
    ];
    if let Some(r) = &f.resolution {
        context.push(mrkdwn(&format!("resolved by {} at {}", escape(&r.by), r.time), 300));
    }
    blocks.push(json!({ "type": "context", "elements": context }));
    if f.status == Status::Open {
        let subject = format!("{} {}", f.resource.resource_type, f.resource.id);
        let value = json!({ "finding_id": f.id });
        let buttons: Vec<Value> = ACTIONS
            .iter()
            .map(|(action_id, label, style)| button(action_id, label, *style, &value, &subject))
            .collect();
        blocks.push(json!({ "type": "actions", "block_id": clip(&format!("driftguard.{}", f.id), limits::ID), "elements": buttons }));
    }
    blocks.truncate(limits::BLOCKS);
    let fallback = format!("{} {}: {}", severity_icon(f), title, f.summary);
    json!({ "text": clip(&fallback, limits::FALLBACK_TEXT), "blocks": blocks })
}

/// The ledger key under which an approval prompt's message is remembered (beside the
/// findings' messages, which are keyed by finding id): `approval:<request id>`.
pub fn prompt_key(request_id: &str) -> String {
    format!("approval:{request_id}")
}

/// How a requester or approver shows: a Slack user id as a mention, anything else as text.
fn person(source: &str, user: &str) -> String {
    if source == "slack" || (user.starts_with(['U', 'W']) && user.bytes().all(|b| b.is_ascii_alphanumeric())) {
        format!("<@{}>", escape(user))
    } else {
        format!("`{}`", escape(user))
    }
}

/// The approval prompt of a request that waits for approvals, posted in the alert's thread:
/// what will run, who asked, who approved so far, and an Approve button bound to the request
/// (`{"finding_id", "request_id"}`). `subject` names the resource.
pub fn render_approval(pending: &crate::remediation::RemediationPending, subject: &str) -> Value {
    let action = match pending.action {
        crate::remediation::RemediationAction::Revert => "Revert",
        crate::remediation::RemediationAction::Reapply => "Re-apply",
        crate::remediation::RemediationAction::Accept => "Accept",
    };
    let so_far = if pending.approved_by.is_empty() {
        String::new()
    } else {
        let who: Vec<String> = pending.approved_by.iter().map(|a| person("", a)).collect();
        format!(" ({})", who.join(", "))
    };
    let head = format!(
        ":raised_hand: *{action} of {} waits for approval*: {} of {} approvals{so_far}. Requested by {}.",
        escape(subject),
        pending.approved_by.len(),
        pending.required,
        person(&pending.requested_by.source, &pending.requested_by.user),
    );
    let mut blocks = vec![json!({ "type": "section", "text": mrkdwn(&head, limits::SECTION_TEXT) })];
    if !pending.calls.is_empty() {
        let mut plan = String::from("*Runs after the last approval*\n");
        for line in crate::remediation::plan::describe(&pending.calls).lines() {
            let _ = writeln!(plan, "• `{}`", escape(line));
        }
        blocks.push(json!({ "type": "section", "text": mrkdwn(&plan, limits::SECTION_TEXT) }));
    }
    blocks.push(json!({ "type": "context", "elements": [mrkdwn(
        &format!("request `{}` · finding `{}` · the requester cannot approve their own request", pending.request_id, pending.finding_id),
        300,
    )] }));
    let value = json!({ "finding_id": pending.finding_id, "request_id": pending.request_id });
    let approve = button("driftguard.approve", "Approve", Some("primary"), &value, subject);
    blocks.push(json!({
        "type": "actions",
        "block_id": clip(&format!("driftguard.approve.{}", pending.request_id), limits::ID),
        "elements": [approve],
    }));
    let fallback = format!(
        "{action} of {subject} waits for approval: {} of {}",
        pending.approved_by.len(),
        pending.required
    );
    json!({ "text": clip(&fallback, limits::FALLBACK_TEXT), "blocks": blocks })
}

/// A plain message: `{"text", "blocks": [one section]}` (thread replies, remediation notes).
pub fn text_message(text: &str) -> Value {
    json!({
        "text": clip(text, limits::FALLBACK_TEXT),
        "blocks": [{ "type": "section", "text": mrkdwn(text, limits::SECTION_TEXT) }],
    })
}

/// Adds a note to a rendered message (a context block before the buttons) and, when `settle`,
/// removes the buttons: the alert was acted on. Stays within the block limit.
pub fn with_note(mut message: Value, note: &str, settle: bool) -> Value {
    if let Some(blocks) = message["blocks"].as_array_mut() {
        if settle {
            blocks.retain(|b| b["type"] != "actions");
        }
        let at = blocks
            .iter()
            .position(|b| b["type"] == "actions")
            .unwrap_or(blocks.len());
        let context = json!({ "type": "context", "elements": [mrkdwn(note, 300)] });
        if blocks.len() >= limits::BLOCKS {
            // Replace the last non-button block rather than go over the limit.
            blocks[at.saturating_sub(1)] = context;
        } else {
            blocks.insert(at, context);
        }
    }
    message
}

/// The message without its action buttons (for deliveries whose clicks cannot be tied to
/// their message: an incoming webhook does not say where it posted).
pub fn without_buttons(mut message: Value) -> Value {
    if let Some(blocks) = message["blocks"].as_array_mut() {
        blocks.retain(|b| b["type"] != "actions");
    }
    message
}

fn button_row(block_id: &str, value: &Value, subject: &str) -> Value {
    let buttons: Vec<Value> = ACTIONS
        .iter()
        .map(|(action_id, label, style)| button(action_id, label, *style, value, subject))
        .collect();
    json!({ "type": "actions", "block_id": clip(block_id, limits::ID), "elements": buttons })
}

/// A burst — one actor's changes on one resource — as one message: every change listed
/// (attribute rows summarised per change), buttons acting on the open findings. One finding
/// renders exactly as [`render`].
pub fn render_group(findings: &[Finding]) -> Value {
    let (Some(first), Some(last)) = (findings.first(), findings.last()) else {
        return text_message("No findings.");
    };
    if findings.len() == 1 {
        return render(first);
    }
    let severity = findings.iter().map(|f| f.severity).max().unwrap_or(first.severity);
    let likelihood = findings.iter().map(|f| f.likelihood).fold(0.0_f64, f64::max);
    let open: Vec<&str> = findings
        .iter()
        .filter(|f| f.status == Status::Open)
        .map(|f| f.id.as_str())
        .collect();
    let who = first.who().unwrap_or("unknown");
    let what = if open.is_empty() {
        "resolved".to_owned()
    } else {
        format!("{} drift", severity.as_str().to_uppercase())
    };
    let title = format!(
        "{what}: {} changes by {who} on {} {}",
        findings.len(),
        first.resource.resource_type,
        first.resource.id
    );
    let icon = if open.is_empty() {
        ":white_check_mark:"
    } else {
        match severity {
            crate::drift::score::Severity::Critical => ":rotating_light:",
            crate::drift::score::Severity::Major => ":warning:",
            crate::drift::score::Severity::Minor => ":information_source:",
        }
    };
    let iac = first
        .owner
        .as_ref()
        .map_or("not declared in any loaded state".to_owned(), |o| {
            format!("`{}` in {}", o.address, o.state)
        });
    let how = crate::findings::finding::channel_phrase(first.actor.channel);
    let fields = [
        format!("*Severity*\n{icon} {}", severity.as_str()),
        format!("*Likelihood*\n{:.0}%", likelihood * 100.0),
        format!(
            "*Resource*\n{} `{}`",
            first.resource.resource_type,
            escape(&first.resource.id)
        ),
        format!("*IaC*\n{}", escape(&iac)),
        format!(
            "*Who*\n{} ({})",
            escape(who),
            how.trim_start_matches("in the ").trim_start_matches("with the ")
        ),
        format!("*When*\n{} – {}", first.call.time, last.call.time),
    ];
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": clip(&title, limits::HEADER_TEXT), "emoji": true } }),
        json!({ "type": "section", "fields": fields.iter().map(|t| mrkdwn(t, limits::FIELD_TEXT)).collect::<Vec<_>>() }),
    ];
    for f in findings {
        let mut text = format!("*{}* `{}`", f.call.time, f.call.name);
        if f.status == Status::Resolved {
            text.push_str(" · resolved");
        }
        text.push('\n');
        let drifted: Vec<_> = f.changes.iter().filter(|c| c.drifted).collect();
        for c in drifted.iter().take(3) {
            let _ = writeln!(
                text,
                "• `{}`: {} → *{}*",
                c.attribute,
                clip(&escape(&show(&c.expected)), 200),
                clip(&escape(&show(&c.found)), 200)
            );
        }
        if drifted.len() > 3 {
            let _ = writeln!(text, "…and {} more attributes", drifted.len() - 3);
        }
        if drifted.is_empty() {
            text.push_str(&clip(&escape(&f.summary), 500));
        }
        blocks.push(json!({ "type": "section", "text": mrkdwn(&text, limits::SECTION_TEXT) }));
    }
    blocks.push(json!({ "type": "section", "text": mrkdwn(&format!("*Suggested fix*\n{}", escape(&last.fix)), limits::SECTION_TEXT) }));
    let ids: Vec<String> = findings.iter().map(|f| format!("`{}`", f.id)).collect();
    blocks.push(json!({ "type": "context", "elements": [
        mrkdwn(&format!("<{}|Latest CloudTrail event> · rule `{}`", cloudtrail_console_url(last), last.actor.rule), 300),
        mrkdwn(&format!("findings {}", ids.join(", ")), 2000),
    ] }));
    if !open.is_empty() {
        blocks.push(button_row(
            &format!("driftguard.{}", group_key(first)),
            &json!({ "finding_ids": open }),
            &format!(
                "{} {} ({} changes)",
                first.resource.resource_type,
                first.resource.id,
                open.len()
            ),
        ));
    }
    blocks.truncate(limits::BLOCKS);
    let fallback = format!("{icon} {title}");
    json!({ "text": clip(&fallback, limits::FALLBACK_TEXT), "blocks": blocks })
}

/// A digest: many minor findings in one message, one line each, summarised past Slack's limits.
pub fn render_digest(findings: &[Finding]) -> Value {
    let title = format!(
        "Drift digest: {} finding{}",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    );
    let mut blocks = vec![
        json!({ "type": "header", "text": { "type": "plain_text", "text": clip(&title, limits::HEADER_TEXT), "emoji": true } }),
    ];
    // Header, sections, the "more" line and the context must all fit.
    let max_sections = limits::BLOCKS - 3;
    let mut section = String::new();
    let mut shown = 0;
    for f in findings {
        let who = f.who().unwrap_or("unknown");
        let attrs: Vec<&str> = f
            .changes
            .iter()
            .filter(|c| c.drifted)
            .map(|c| c.attribute.as_str())
            .collect();
        let mut line = format!(
            "• {} *{}* {} `{}` — {} `{}` at {}",
            severity_icon(f),
            f.severity.as_str(),
            f.resource.resource_type,
            clip(&escape(&f.resource.id), 200),
            escape(who),
            f.call.name,
            f.call.time
        );
        if !attrs.is_empty() {
            let _ = write!(line, " ({})", clip(&escape(&attrs.join(", ")), 200));
        }
        let _ = writeln!(line, " · `{}`", f.id);
        if section.chars().count() + line.chars().count() > limits::SECTION_TEXT {
            if blocks.len() > max_sections {
                break;
            }
            blocks.push(json!({ "type": "section", "text": mrkdwn(&section, limits::SECTION_TEXT) }));
            section.clear();
        }
        section.push_str(&line);
        shown += 1;
    }
    if !section.is_empty() {
        if blocks.len() > max_sections {
            shown -= section.lines().count();
        } else {
            blocks.push(json!({ "type": "section", "text": mrkdwn(&section, limits::SECTION_TEXT) }));
        }
    }
    if shown < findings.len() {
        blocks.push(json!({ "type": "section", "text": mrkdwn(&format!("…and {} more (`driftguard findings list`)", findings.len() - shown), limits::SECTION_TEXT) }));
    }
    blocks.push(json!({ "type": "context", "elements": [mrkdwn("Minor findings are batched into this digest; `driftguard findings show <id>` gives one in full.", 300)] }));
    json!({ "text": clip(&title, limits::FALLBACK_TEXT), "blocks": blocks })
}

/// Every way a message breaks Slack's structural limits (empty when it is within them).
pub fn check_limits(message: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    let mut over = |what: String, len: usize, max: usize| {
        if len > max {
            problems.push(format!("{what}: {len} > {max}"));
        }
    };
    let chars = |v: &Value| v.as_str().map_or(0, |s| s.chars().count());
    let blocks = message["blocks"].as_array().cloned().unwrap_or_default();
    over("blocks".into(), blocks.len(), limits::BLOCKS);
    over("text".into(), chars(&message["text"]), limits::FALLBACK_TEXT);
    for (i, b) in blocks.iter().enumerate() {
        match b["type"].as_str() {
            Some("header") => over(
                format!("block {i} header"),
                chars(&b["text"]["text"]),
                limits::HEADER_TEXT,
            ),
            Some("section") => {
                over(
                    format!("block {i} text"),
                    chars(&b["text"]["text"]),
                    limits::SECTION_TEXT,
                );
                let fields = b["fields"].as_array().cloned().unwrap_or_default();
                over(format!("block {i} fields"), fields.len(), limits::SECTION_FIELDS);
                for (j, f) in fields.iter().enumerate() {
                    over(format!("block {i} field {j}"), chars(&f["text"]), limits::FIELD_TEXT);
                }
            }
            Some("context") => over(
                format!("block {i} elements"),
                b["elements"].as_array().map_or(0, Vec::len),
                limits::CONTEXT_ELEMENTS,
            ),
            Some("actions") => {
                let elements = b["elements"].as_array().cloned().unwrap_or_default();
                over(format!("block {i} elements"), elements.len(), limits::ACTION_ELEMENTS);
                over(format!("block {i} block_id"), chars(&b["block_id"]), limits::ID);
                for (j, e) in elements.iter().enumerate() {
                    over(
                        format!("block {i} button {j} text"),
                        chars(&e["text"]["text"]),
                        limits::BUTTON_TEXT,
                    );
                    over(
                        format!("block {i} button {j} value"),
                        chars(&e["value"]),
                        limits::BUTTON_VALUE,
                    );
                    over(
                        format!("block {i} button {j} action_id"),
                        chars(&e["action_id"]),
                        limits::ID,
                    );
                    if let Some(c) = e.get("confirm") {
                        for (part, max) in [
                            ("title", limits::CONFIRM_TITLE),
                            ("text", limits::CONFIRM_TEXT),
                            ("confirm", limits::CONFIRM_BUTTON),
                            ("deny", limits::CONFIRM_BUTTON),
                        ] {
                            let len = chars(&c[part]["text"]);
                            over(format!("block {i} button {j} confirm {part}"), len, max);
                            over(
                                format!("block {i} button {j} confirm {part} is empty"),
                                usize::from(len == 0),
                                0,
                            );
                        }
                    }
                }
            }
            other => over(format!("block {i} has an unexpected type {other:?}"), 1, 0),
        }
    }
    problems
}

/// How long a signed Slack request stays acceptable.
pub const SIGNATURE_MAX_AGE_SECONDS: i64 = 5 * 60;

/// Why a Slack request's signature was refused (every case answers HTTP 401).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// `X-Slack-Request-Timestamp` is missing or not a number.
    #[error("missing or invalid X-Slack-Request-Timestamp")]
    BadTimestamp,
    /// The timestamp is more than five minutes from now (a stale or replayed request).
    #[error("request timestamp is {0} s away from now (limit 300 s)")]
    Stale(i64),
    /// `X-Slack-Signature` is missing or not `v0=<hex>`.
    #[error("missing or malformed X-Slack-Signature")]
    BadSignatureHeader,
    /// The signature does not match the body and the signing secret.
    #[error("signature does not match")]
    Mismatch,
}

impl SignatureError {
    /// The one text a refused request is answered with, whatever the reason: the answer must
    /// not tell a caller how far its timestamp is from the server's clock, nor which check
    /// failed (the reason is logged).
    pub const PUBLIC: &'static str = "invalid or expired request signature";
}

/// The key a verified request is remembered under to refuse its replay: the signature's
/// decoded bytes, as lower-case hex. Hex is case-insensitive, so `v0=ABC…` and `v0=abc…` are
/// the same signature and the same key. `None` when the header is not `v0=<hex>`.
pub fn replay_key(signature: &str) -> Option<String> {
    let bytes = hex::decode(signature.trim().strip_prefix("v0=")?).ok()?;
    Some(format!("v0={}", hex::encode(bytes)))
}

/// The `v0=<hex>` signature Slack computes for a request.
pub fn sign(signing_secret: &str, timestamp: &str, body: &[u8]) -> String {
    format!(
        "v0={}",
        hex::encode(mac(signing_secret, timestamp, body).finalize().into_bytes())
    )
}

fn mac(signing_secret: &str, timestamp: &str, body: &[u8]) -> Hmac<Sha256> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(signing_secret.as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC takes any key length"));
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac
}

/// Verifies a Slack request: `v0=HMAC-SHA256(secret, "v0:" + timestamp + ":" + body)`,
/// compared in constant time, with the timestamp within five minutes of `now`.
pub fn verify(
    signing_secret: &str,
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: Timestamp,
) -> Result<(), SignatureError> {
    let ts_text = timestamp.ok_or(SignatureError::BadTimestamp)?;
    let ts: i64 = ts_text.trim().parse().map_err(|_| SignatureError::BadTimestamp)?;
    // Saturating: a timestamp near i64's ends is stale, not an overflow (a panic in a debug
    // build, and in release a wrapped age whose absolute value could pass the check).
    let age = now.unix_seconds().saturating_sub(ts);
    if age.unsigned_abs() > SIGNATURE_MAX_AGE_SECONDS.unsigned_abs() {
        return Err(SignatureError::Stale(age));
    }
    let given = signature
        .and_then(|s| s.strip_prefix("v0="))
        .ok_or(SignatureError::BadSignatureHeader)?;
    let given = hex::decode(given).map_err(|_| SignatureError::BadSignatureHeader)?;
    mac(signing_secret, ts_text, body)
        .verify_slice(&given)
        .map_err(|_| SignatureError::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::drift::diff::AttributeChange;
    use crate::drift::score::Severity;
    use crate::findings::conformance::sample_finding;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

    fn at(secs: i64) -> Timestamp {
        Timestamp(secs * 1000)
    }

    #[test]
    fn signatures_verify_and_refuse_what_they_should() {
        let body = b"payload=%7B%22type%22%3A%22block_actions%22%7D";
        let ts = "1795165337";
        let good = sign(SECRET, ts, body);
        assert_eq!(
            verify(SECRET, Some(ts), Some(&good), body, at(1_795_165_337 + 10)),
            Ok(())
        );
        // Tampered body, wrong secret, stale timestamp (and so a replay later on), bad headers.
        assert_eq!(
            verify(SECRET, Some(ts), Some(&good), b"payload=%7B%7D", at(1_795_165_340)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("another-secret", Some(ts), Some(&good), body, at(1_795_165_340)),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify(SECRET, Some(ts), Some(&good), body, at(1_795_165_337 + 301)),
            Err(SignatureError::Stale(301))
        );
        assert_eq!(
            verify(SECRET, Some(ts), Some(&good), body, at(1_795_165_337 - 400)),
            Err(SignatureError::Stale(-400))
        );
        assert_eq!(
            verify(SECRET, None, Some(&good), body, at(1_795_165_337)),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            verify(SECRET, Some("soon"), Some(&good), body, at(1_795_165_337)),
            Err(SignatureError::BadTimestamp)
        );
        assert_eq!(
            verify(SECRET, Some(ts), Some("v1=abc"), body, at(1_795_165_337)),
            Err(SignatureError::BadSignatureHeader)
        );
        assert_eq!(
            verify(SECRET, Some(ts), Some("v0=zz"), body, at(1_795_165_337)),
            Err(SignatureError::BadSignatureHeader)
        );
        assert_eq!(
            verify(SECRET, Some(ts), None, body, at(1_795_165_337)),
            Err(SignatureError::BadSignatureHeader)
        );
    }

    #[test]
    fn a_signature_matches_a_known_value() {
        // Computed independently: printf 'v0:1531420618:body' | openssl dgst -sha256 -hmac secret
        assert_eq!(
            sign("secret", "1531420618", b"body"),
            "v0=78e394d129df51c593e1d449277f576c39c361411fecc54edd326794263d3f84"
        );
    }

    #[test]
    fn huge_findings_render_within_limits() {
        let mut f = sample_finding("ev", "sg-1", 1, Severity::Critical);
        for i in 0..40 {
            let big: Vec<String> = (0..500).map(|j| format!("tcp {j} 10.{i}.0.0/16")).collect();
            f.changes.push(AttributeChange {
                attribute: format!("ingress_{i}"),
                declared_in: None,
                expected: json!([]),
                found: json!(big),
                drifted: true,
            });
        }
        f.summary = "x".repeat(10_000);
        f.resource.id = "i".repeat(400);
        let message = render(&f);
        assert_eq!(check_limits(&message), Vec::<String>::new());
        let text = message.to_string();
        assert!(text.contains("and 32 more attributes"), "long diffs are summarised");
    }
}
