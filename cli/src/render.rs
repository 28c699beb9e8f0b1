//! Rendering findings, summaries and decision traces for the terminal and for scripts.

use crate::Format;
use anyhow::Result;
use driftguard_core::coverage::TypeCoverage;
use driftguard_core::decode::{DecodeError, Position};
use driftguard_core::finding::Finding;
use driftguard_core::ignore::Ignored;
use driftguard_core::pipeline::{Evaluation, Outcome, Stats};
use serde_json::Value;
use std::fmt::Write as _;
use std::io::Write;

/// Findings as a table, a JSON array or JSON lines.
pub fn findings(out: &mut impl Write, list: &[Finding], format: Format) -> Result<()> {
    match format {
        Format::Jsonl => {
            for f in list {
                writeln!(out, "{}", serde_json::to_string(f)?)?;
            }
        }
        Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(list)?)?,
        Format::Table => {
            if list.is_empty() {
                return Ok(());
            }
            let rows: Vec<[String; 8]> = list
                .iter()
                .map(|f| {
                    [
                        f.id.clone(),
                        f.kind.as_str().to_owned(),
                        f.severity.as_str().to_owned(),
                        format!("{:.2}", f.likelihood),
                        format!("{:?}", f.status).to_lowercase(),
                        format!("{} {}", f.resource.resource_type, f.resource.id),
                        format!("{} ({})", who(f), serde_plain(&f.actor.channel)),
                        changes_brief(f),
                    ]
                })
                .collect();
            let head = [
                "ID", "KIND", "SEVERITY", "LIKELY", "STATUS", "RESOURCE", "WHO", "CHANGE",
            ];
            let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
            for r in &rows {
                for (w, c) in widths.iter_mut().zip(r.iter()).take(7) {
                    *w = (*w).max(c.chars().count());
                }
            }
            let line = |cells: Vec<&str>| -> String {
                let mut s = String::new();
                for (i, c) in cells.iter().enumerate() {
                    if i < 7 {
                        let _ = write!(s, "{c:<w$}  ", w = widths[i]);
                    } else {
                        s.push_str(c);
                    }
                }
                s.trim_end().to_owned()
            };
            writeln!(out, "{}", line(head.to_vec()))?;
            for r in &rows {
                writeln!(out, "{}", line(r.iter().map(String::as_str).collect()))?;
            }
        }
    }
    Ok(())
}

fn serde_plain<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => String::new(),
    }
}

fn who(f: &Finding) -> String {
    f.who().unwrap_or("unknown").to_owned()
}

fn short(v: &Value) -> String {
    match v {
        Value::Null => "-".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn changes_brief(f: &Finding) -> String {
    let drifted: Vec<String> = f
        .changes
        .iter()
        .filter(|c| c.drifted)
        .map(|c| match (&c.expected, &c.found) {
            (Value::Array(e), Value::Array(n)) => {
                let added: Vec<String> = n.iter().filter(|x| !e.contains(x)).map(short).collect();
                let removed: Vec<String> = e.iter().filter(|x| !n.contains(x)).map(short).collect();
                let mut parts = Vec::new();
                if !added.is_empty() {
                    parts.push(format!("+{}", added.join(", +")));
                }
                if !removed.is_empty() {
                    parts.push(format!("-{}", removed.join(", -")));
                }
                format!("{}: {}", c.attribute, parts.join(" "))
            }
            (e, n) => format!("{}: {} -> {}", c.attribute, short(e), short(n)),
        })
        .collect();
    if drifted.is_empty() {
        format!("{} (no attribute compared)", f.call.name)
    } else {
        let s = drifted.join("; ");
        if s.chars().count() > 90 {
            format!("{}…", s.chars().take(89).collect::<String>())
        } else {
            s
        }
    }
}

/// The full text view of one finding.
pub fn finding_detail(out: &mut impl Write, f: &Finding) -> Result<()> {
    writeln!(
        out,
        "{}  {} {}  likelihood {:.2}  {:?}",
        f.id,
        f.severity.as_str().to_uppercase(),
        f.kind.as_str(),
        f.likelihood,
        f.status
    )?;
    writeln!(
        out,
        "resource  {} {} (account {}, region {})",
        f.resource.resource_type, f.resource.id, f.resource.account, f.resource.region
    )?;
    if let Some(arn) = &f.resource.arn {
        writeln!(out, "arn       {arn}")?;
    }
    match &f.owner {
        Some(o) => {
            writeln!(out, "iac       {} in {}", o.address, o.state)?;
            for r in &o.related {
                writeln!(out, "          also {r}")?;
            }
        }
        None => writeln!(out, "iac       (not declared in any loaded state)")?,
    }
    let a = &f.actor;
    writeln!(
        out,
        "who       {} ({}, {}) rule {}",
        who(f),
        serde_plain(&a.kind),
        serde_plain(&a.channel),
        a.rule
    )?;
    if let Some(p) = &a.principal {
        writeln!(out, "principal {p}")?;
    }
    if let Some(ip) = &a.source_ip {
        writeln!(out, "from      {ip}  {}", a.user_agent.as_deref().unwrap_or(""))?;
    }
    writeln!(
        out,
        "call      {}:{} at {} (event {})",
        f.call.source, f.call.name, f.call.time, f.call.event_id
    )?;
    for c in &f.changes {
        let mark = if c.drifted { "≠" } else { "=" };
        writeln!(
            out,
            "{mark} {}  expected {}  found {}",
            c.attribute,
            short(&c.expected),
            short(&c.found)
        )?;
    }
    writeln!(out, "score     {}", score_line(f))?;
    writeln!(out, "severity  {}", severity_line(f))?;
    if let Some(r) = &f.resolution {
        writeln!(out, "resolved  by {} at {} (event {})", r.by, r.time, r.event_id)?;
    }
    writeln!(out, "\n{}\n\nfix: {}", f.summary, f.fix)?;
    Ok(())
}

/// `0.99 = sigmoid(prior -1.0, actor.human +2.5, ...)`.
fn score_line(f: &Finding) -> String {
    let factors: Vec<String> = f
        .factors
        .iter()
        .map(|x| format!("{} {:+.1}", x.name, x.weight))
        .collect();
    format!("{:.2} = sigmoid({})", f.likelihood, factors.join(", "))
}

/// `critical: <reasons>`.
fn severity_line(f: &Finding) -> String {
    format!("{}: {}", f.severity.as_str(), f.severity_reasons.join("; "))
}

/// The run summary for stderr.
pub fn summary(stats: &Stats, inputs: &str) -> String {
    let mut s = format!("read {} events from {inputs}", stats.events);
    if stats.errors > 0 {
        let _ = write!(s, ", {} could not be decoded", stats.errors);
    }
    s.push('\n');
    let reasons: Vec<String> = stats.skipped.iter().map(|(r, n)| format!("{r} {n}")).collect();
    let _ = writeln!(
        s,
        "skipped {}: {}",
        stats.total_skipped(),
        if reasons.is_empty() {
            "-".into()
        } else {
            reasons.join(", ")
        }
    );
    let kinds: Vec<String> = stats.findings.iter().map(|(k, n)| format!("{k} {n}")).collect();
    let _ = writeln!(
        s,
        "findings {}: {}",
        stats.total_findings(),
        if kinds.is_empty() { "-".into() } else { kinds.join(", ") }
    );
    let _ = writeln!(s, "iac changes {}", stats.iac_changes);
    let _ = writeln!(s, "config items {}", stats.config_items);
    if stats.ignored > 0 {
        let _ = writeln!(s, "ignored {} (listed with --show-ignored)", stats.ignored);
    }
    s
}

/// One event's decision trace as JSON, with where it was read.
pub fn trace_value(pos: &Position, ev: &Evaluation) -> Result<Value> {
    let mut v = serde_json::to_value(ev)?;
    if let Value::Object(m) = &mut v {
        m.insert("position".into(), Value::String(pos.to_string()));
    }
    Ok(v)
}

/// A decode error in a trace, as JSON.
pub fn trace_error_value(e: &DecodeError) -> Value {
    serde_json::json!({"position": e.at.to_string(), "error": e.kind.to_string()})
}

/// One event's decision trace (`table`: for people; `jsonl`: one line; `json` is gathered by
/// the caller from [`trace_value`]).
pub fn trace(out: &mut impl Write, pos: &Position, ev: &Evaluation, format: Format) -> Result<()> {
    if format != Format::Table {
        writeln!(out, "{}", trace_value(pos, ev)?)?;
        return Ok(());
    }
    writeln!(out, "event {} {} [{}]", ev.event_id, ev.call, pos)?;
    writeln!(
        out,
        "  decode    ok{}",
        ev.detail_type.as_deref().map(|d| format!(" ({d})")).unwrap_or_default()
    )?;
    if let Some(a) = &ev.actor {
        let who = a
            .human
            .as_deref()
            .or(a.tool.as_deref())
            .or(a.principal.as_deref())
            .unwrap_or("unknown");
        writeln!(
            out,
            "  actor     {} via {}: {who} (rule {})",
            serde_plain(&a.kind),
            serde_plain(&a.channel),
            a.rule
        )?;
    }
    if let Some(r) = &ev.resource {
        writeln!(
            out,
            "  resource  {} {} ({}/{})",
            r.resource_type, r.id, r.account, r.region
        )?;
    }
    if ev.resource.is_some() {
        match &ev.owner {
            Some(o) => writeln!(out, "  owner     {} in {}", o.address, o.state)?,
            None => writeln!(out, "  owner     none (unmanaged)")?,
        }
    }
    match &ev.outcome {
        Outcome::Skipped { reason } => writeln!(out, "  outcome   skipped: {}", reason.as_str())?,
        Outcome::Iac(iac) => writeln!(
            out,
            "  outcome   IaC change by {}: resolves older findings on {}",
            iac.by, iac.resource_key
        )?,
        Outcome::Config(obs) => {
            let e = &obs.evidence;
            for c in &e.drifted {
                writeln!(
                    out,
                    "  live      {} expected {} found {}",
                    c.attribute,
                    short(&c.expected),
                    short(&c.found)
                )?;
            }
            if !e.changed_properties.is_empty() {
                writeln!(out, "  changed   {} (not compared)", e.changed_properties.join(", "))?;
            }
            let stands = obs.finding.as_ref().map_or("no finding on its own".to_owned(), |f| {
                format!("finding {} ({}) unless a call joins it", f.id, f.kind.as_str())
            });
            writeln!(out, "  outcome   Config evidence {}: {stands}", e.factor())?;
        }
        Outcome::Finding(f) => {
            for c in &f.changes {
                writeln!(
                    out,
                    "  diff      {} expected {} found {}{}",
                    c.attribute,
                    short(&c.expected),
                    short(&c.found),
                    if c.drifted { "" } else { " (same)" }
                )?;
            }
            writeln!(out, "  score     {}", score_line(f))?;
            writeln!(out, "  severity  {}", severity_line(f))?;
            writeln!(out, "  outcome   finding {} ({})", f.id, f.kind.as_str())?;
        }
    }
    Ok(())
}

/// A decode error in a trace.
pub fn trace_error(out: &mut impl Write, e: &DecodeError, format: Format) -> Result<()> {
    match format {
        Format::Table => writeln!(out, "error {e}")?,
        _ => writeln!(out, "{}", trace_error_value(e))?,
    }
    Ok(())
}

/// Changes ignore rules dropped: `(event, resource, what was ignored)`.
pub fn ignored(out: &mut impl Write, rows: &[(String, String, Ignored)], format: Format) -> Result<()> {
    if format != Format::Table {
        for (event, resource, i) in rows {
            let v = serde_json::json!({ "ignored": i, "event_id": event, "resource": resource });
            writeln!(out, "{v}")?;
        }
        return Ok(());
    }
    writeln!(out, "\nignored ({}):", rows.len())?;
    for (event, resource, i) in rows {
        writeln!(
            out,
            "  {resource}  {}  by `{}` ({})  event {event}",
            i.attribute.as_deref().unwrap_or("(whole resource)"),
            i.rule,
            i.origin
        )?;
    }
    Ok(())
}

/// `driftguard coverage`.
pub fn coverage(out: &mut impl Write, all: &[TypeCoverage], format: Format, every: bool) -> Result<()> {
    match format {
        Format::Json => {
            writeln!(out, "{}", serde_json::to_string_pretty(all)?)?;
            return Ok(());
        }
        Format::Jsonl => {
            for c in all {
                writeln!(out, "{}", serde_json::to_string(c)?)?;
            }
            return Ok(());
        }
        Format::Table => {}
    }
    let compared: Vec<&TypeCoverage> = all.iter().filter(|c| c.level() == "compared").collect();
    let tracked: Vec<&TypeCoverage> = all.iter().filter(|c| c.level() != "compared").collect();
    writeln!(out, "Compared attribute by attribute ({} types):", compared.len())?;
    for c in &compared {
        writeln!(out, "  {}  [{}]", c.resource_type, c.terraform.join(", "))?;
        if !c.config_attributes.is_empty() {
            writeln!(out, "    live state (AWS Config): {}", c.config_attributes.join(", "))?;
        }
        if !c.call_attributes.is_empty() {
            writeln!(out, "    calls (CloudTrail):      {}", c.call_attributes.join(", "))?;
        }
    }
    let calls: usize = tracked.iter().map(|c| c.calls).sum();
    writeln!(
        out,
        "\nTracked as \"changed out of band\" only ({} types, {calls} calls): DriftGuard names the resource, \
         who changed it and how, but does not compare attributes.",
        tracked.len()
    )?;
    if every {
        for c in &tracked {
            writeln!(out, "  {}  ({} calls)", c.resource_type, c.calls)?;
        }
    } else {
        writeln!(out, "  (list them with --all)")?;
    }
    Ok(())
}
