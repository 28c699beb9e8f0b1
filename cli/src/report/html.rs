//! The report as one self-contained HTML page: inline CSS, inline SVG charts, no script, no
//! font, image or stylesheet from anywhere, so it opens the same offline, from a mail
//! attachment or a CI artifact. Every value that comes from AWS, the states or the findings
//! is escaped ([`esc`]).

use super::model::{Day, FindingRow, Report};
use std::fmt::Write as _;

/// `text` safe inside HTML text and attribute values.
pub fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Open findings drawn per severity; the JSON report holds them all.
const MAX_SHOWN: usize = 200;

const CSS: &str = r#"
:root{--ink:#1d2330;--muted:#5b6474;--line:#dde1e8;--bg:#f6f7f9;--card:#fff;--crit:#c62828;--major:#ef6c00;--minor:#c9a400;--ok:#2e7d32;--cfn:#5c6bc0;--miss:#8d6e63}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:#18202e;color:#fff;padding:14px 32px}
header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c5cbd6}
main{max-width:1200px;margin:0 auto;padding:16px 32px 48px}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:14px 20px;margin:14px 0}
h2{margin:0 0 12px;font-size:18px}
h3{margin:16px 0 8px;font-size:15px}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600;font-size:12px;text-transform:uppercase;letter-spacing:.03em}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;gap:12px;flex-wrap:wrap}
.card{flex:1 1 140px;background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 16px}
.card b{display:block;font-size:26px}
.card span{color:var(--muted)}
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;color:#fff}
.critical{background:var(--crit)}.major{background:var(--major)}.minor{background:var(--minor)}
.kind{background:#455a64}
.finding{border:1px solid var(--line);border-left:4px solid var(--muted);border-radius:6px;padding:10px 14px;margin:10px 0}
.finding.sev-critical{border-left-color:var(--crit)}.finding.sev-major{border-left-color:var(--major)}.finding.sev-minor{border-left-color:var(--minor)}
.finding .res{font-weight:600;word-break:break-all}
.meta{color:var(--muted);font-size:13px}
code,.v{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;word-break:break-all;white-space:pre-wrap}
.exp{color:var(--ok)}.fnd{color:var(--crit)}
.empty{color:var(--muted);font-style:italic}
svg text{font:11px system-ui,sans-serif;fill:var(--muted)}
details.summary{margin:6px 0 0;font-size:13px}
details.summary summary{color:var(--muted);cursor:pointer}
footer{color:var(--muted);font-size:12px;text-align:center;margin-top:24px}
"#;

/// The page.
pub fn render(r: &Report) -> String {
    let mut h = String::with_capacity(64 * 1024);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    h.push_str("<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">");
    h.push_str("<title>DriftGuard report</title><style>");
    h.push_str(CSS);
    h.push_str("</style></head><body>\n");
    let _ = write!(
        h,
        "<header><h1>DriftGuard report</h1><p>Generated {} from {}</p></header>\n<main>\n",
        esc(&r.generated_at),
        esc(&r.source)
    );
    cards(&mut h, r);
    coverage(&mut h, r);
    findings(&mut h, r);
    hotspots(&mut h, r);
    actors(&mut h, r);
    timeline(&mut h, &r.timeline);
    h.push_str("<footer>DriftGuard · self-contained report: no script, nothing loaded from the network</footer>\n");
    h.push_str("</main></body></html>\n");
    h
}

fn cards(h: &mut String, r: &Report) {
    let sev = |s: &str| r.totals.open_by_severity.get(s).copied().unwrap_or(0);
    let live: u64 = r
        .coverage
        .iter()
        .map(|c| c.managed + c.unmanaged + c.cloudformation)
        .sum();
    let owned: u64 = r.coverage.iter().map(|c| c.managed + c.cloudformation).sum();
    let (share, of) = if live > 0 {
        (
            format!("{:.0}%", owned as f64 * 100.0 / live as f64),
            format!("{owned} of {live}"),
        )
    } else {
        ("–".to_owned(), "no sweep yet".to_owned())
    };
    let _ = write!(
        h,
        "<div class=\"cards\" id=\"totals\">\
         <div class=\"card\"><b>{}</b><span>open findings</span></div>\
         <div class=\"card\"><b style=\"color:var(--crit)\">{}</b><span>critical</span></div>\
         <div class=\"card\"><b style=\"color:var(--major)\">{}</b><span>major</span></div>\
         <div class=\"card\"><b style=\"color:var(--minor)\">{}</b><span>minor</span></div>\
         <div class=\"card\"><b>{}</b><span>resolved</span></div>\
         <div class=\"card\"><b>{}</b><span>owned by IaC ({})</span></div></div>",
        r.totals.open,
        sev("critical"),
        sev("major"),
        sev("minor"),
        r.totals.resolved,
        share,
        esc(&of)
    );
    h.push('\n');
}

fn coverage(h: &mut String, r: &Report) {
    h.push_str("<section id=\"coverage\"><h2>Coverage by account and type</h2>\n");
    if r.coverage.is_empty() {
        h.push_str("<p class=\"empty\">No sweep recorded: run <code>driftguard scan</code> to measure coverage.</p>");
    } else {
        h.push_str(
            "<table><thead><tr><th>Account</th><th>Type</th><th class=\"n\">Managed</th><th class=\"n\">Unmanaged</th>\
             <th class=\"n\">Missing</th><th class=\"n\">CloudFormation</th><th class=\"n\">Ignored</th><th>IaC share</th></tr></thead><tbody>\n",
        );
        for c in &r.coverage {
            let live = c.managed + c.unmanaged + c.cloudformation;
            let bar = stacked_bar(&[
                (c.managed, "var(--ok)", "managed"),
                (c.cloudformation, "var(--cfn)", "CloudFormation"),
                (c.unmanaged, "var(--crit)", "unmanaged"),
            ]);
            let share = c.iac_share.map_or("–".to_owned(), |s| format!("{:.0}%", s * 100.0));
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td>{bar} {share} <span class=\"meta\">of {live}</span></td></tr>",
                esc(&c.account),
                esc(&c.resource_type),
                c.managed,
                c.unmanaged,
                c.missing,
                c.cloudformation,
                c.ignored
            );
        }
        h.push_str("</tbody></table>\n");
    }
    if !r.sweeps.is_empty() {
        h.push_str(
            "<h3>Last sweep of each scope</h3><table><thead><tr><th>Scope</th><th>Finished</th><th class=\"n\">Listed</th>\
             <th class=\"n\">Read</th><th class=\"n\">Compared</th><th class=\"n\">Detected</th><th class=\"n\">Resolved</th>\
             <th>Calls</th><th class=\"n\">Time</th></tr></thead><tbody>\n",
        );
        for s in &r.sweeps {
            let calls: Vec<String> = s.calls.iter().map(|(op, n)| format!("{} {n}", esc(op))).collect();
            let _ = writeln!(
                h,
                "<tr><td>{}{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
                 <td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"meta\">{}</td><td class=\"n\">{:.1} s</td></tr>",
                esc(&s.scope),
                if s.complete { "" } else { " (incomplete)" },
                esc(&s.finished_at),
                s.listed,
                s.read,
                s.compared,
                s.detected,
                s.resolved,
                calls.join(", "),
                s.duration_ms as f64 / 1000.0
            );
        }
        h.push_str("</tbody></table>\n");
    }
    h.push_str("</section>\n");
}

/// A 120×10 bar split in proportion to `parts`.
fn stacked_bar(parts: &[(u64, &str, &str)]) -> String {
    let total: u64 = parts.iter().map(|p| p.0).sum();
    let mut s = String::from(
        "<svg width=\"120\" height=\"10\" viewBox=\"0 0 120 10\" role=\"img\" style=\"vertical-align:middle\">\
         <rect width=\"120\" height=\"10\" fill=\"#eceff3\"/>",
    );
    if total > 0 {
        let mut x = 0.0;
        for (n, color, what) in parts {
            let w = *n as f64 * 120.0 / total as f64;
            if w > 0.0 {
                let _ = write!(
                    s,
                    "<rect x=\"{x:.1}\" width=\"{w:.1}\" height=\"10\" fill=\"{color}\"><title>{n} {what}</title></rect>"
                );
            }
            x += w;
        }
    }
    s.push_str("</svg>");
    s
}

fn findings(h: &mut String, r: &Report) {
    h.push_str("<section id=\"findings\"><h2>Open findings by severity</h2>\n");
    let open: Vec<&FindingRow> = r.findings.iter().filter(|f| f.status == "open").collect();
    if open.is_empty() {
        h.push_str("<p class=\"empty\">No open finding.</p>");
    }
    for sev in ["critical", "major", "minor"] {
        let these: Vec<&&FindingRow> = open.iter().filter(|f| f.severity == sev).collect();
        if these.is_empty() {
            continue;
        }
        let _ = writeln!(
            h,
            "<h3><span class=\"badge {sev}\">{sev}</span> {} open</h3>",
            these.len()
        );
        for f in these.iter().take(MAX_SHOWN) {
            finding(h, f);
        }
        if these.len() > MAX_SHOWN {
            let _ = writeln!(
                h,
                "<p class=\"meta\">… and {} more {sev} finding(s), all in the JSON report (<code>--json</code>).</p>",
                these.len() - MAX_SHOWN
            );
        }
    }
    let resolved = r.findings.len() - open.len();
    if resolved > 0 {
        let _ = writeln!(
            h,
            "<p class=\"meta\">{resolved} resolved finding(s) are in the JSON report.</p>"
        );
    }
    h.push_str("</section>\n");
}

fn finding(h: &mut String, f: &FindingRow) {
    let who = f.who.as_deref().unwrap_or("nobody named");
    let _ = write!(
        h,
        "<div class=\"finding sev-{sev}\" id=\"{id}\"><div><span class=\"badge kind\">{kind}</span> \
         <span class=\"res\">{rt} {rid}</span></div>\
         <div class=\"meta\">{id} · {who} ({how}) · {when} · account {account} {region} · likelihood {lk:.0}%{addr}</div>",
        sev = esc(&f.severity),
        id = esc(&f.id),
        kind = esc(&f.kind),
        rt = esc(&f.resource_type),
        rid = esc(&f.resource_id),
        who = esc(who),
        how = esc(&f.how),
        when = esc(&f.when),
        account = esc(&f.account),
        region = esc(&f.region),
        lk = f.likelihood * 100.0,
        addr = f
            .iac_address
            .as_deref()
            .map_or(String::new(), |a| format!(" · IaC {}", esc(a))),
    );
    if !f.changes.is_empty() {
        h.push_str("<table class=\"changes\"><thead><tr><th>Attribute</th><th>Expected (IaC)</th><th>Found</th></tr></thead><tbody>");
        for c in &f.changes {
            let _ = write!(
                h,
                "<tr><td><code>{}</code></td><td class=\"v exp\">{}</td><td class=\"v fnd\">{}</td></tr>",
                esc(&c.attribute),
                esc(&c.expected),
                esc(&c.found)
            );
        }
        h.push_str("</tbody></table>");
    }
    let _ = writeln!(
        h,
        "<details class=\"summary\"><summary>Summary and fix</summary><p>{}</p><p><b>Fix:</b> {}</p></details></div>",
        esc(&f.summary),
        esc(&f.fix)
    );
}

fn hotspots(h: &mut String, r: &Report) {
    h.push_str("<section id=\"hotspots\"><h2>Resources that drift most</h2>\n");
    if r.hotspots.is_empty() {
        h.push_str("<p class=\"empty\">No finding yet.</p></section>\n");
        return;
    }
    h.push_str(
        "<table><thead><tr><th>Resource</th><th>Account</th><th class=\"n\">Findings</th><th class=\"n\">Open</th>\
         <th>Kinds</th><th>Last</th></tr></thead><tbody>\n",
    );
    for s in &r.hotspots {
        let _ = writeln!(
            h,
            "<tr><td>{} <b>{}</b></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            esc(&s.resource_type),
            esc(&s.resource_id),
            esc(&s.account),
            s.findings,
            s.open,
            esc(&s.kinds.join(", ")),
            esc(&minute(&s.last))
        );
    }
    h.push_str("</tbody></table></section>\n");
}

/// `2026-11-20T09:20:09.123Z` as `2026-11-20 09:20`.
fn minute(t: &str) -> String {
    t.get(..16).unwrap_or(t).replacen('T', " ", 1)
}

fn actors(h: &mut String, r: &Report) {
    h.push_str("<section id=\"actors\"><h2>Who changes things by hand</h2>\n");
    if r.actors.is_empty() {
        h.push_str("<p class=\"empty\">Nobody named yet.</p></section>\n");
        return;
    }
    let most = r.actors.iter().map(|a| a.changes).max().unwrap_or(1).max(1);
    h.push_str(
        "<table><thead><tr><th>Who</th><th>How</th><th class=\"n\">Changes</th><th></th><th class=\"n\">Resources</th>\
         <th>Last</th></tr></thead><tbody>\n",
    );
    for a in &r.actors {
        let w = a.changes as f64 * 160.0 / most as f64;
        let _ = writeln!(
            h,
            "<tr><td><b>{}</b></td><td class=\"meta\">{}</td><td class=\"n\">{}</td>\
             <td><svg width=\"100\" height=\"10\" viewBox=\"0 0 160 10\" preserveAspectRatio=\"none\" role=\"img\"><rect width=\"{w:.1}\" height=\"10\" fill=\"#455a64\"/></svg></td>\
             <td class=\"n\">{}</td><td>{}</td></tr>",
            esc(&a.who),
            esc(&a.how.join("; ")),
            a.changes,
            a.resources,
            esc(&minute(&a.last))
        );
    }
    h.push_str("</tbody></table></section>\n");
}

/// The timeline: one stacked bar per day (critical, major, minor), an SVG drawn here.
fn timeline(h: &mut String, days: &[Day]) {
    h.push_str("<section id=\"timeline\"><h2>Manual changes by day</h2>\n");
    if days.is_empty() {
        h.push_str("<p class=\"empty\">No manual change recorded.</p></section>\n");
        return;
    }
    const W: f64 = 1100.0;
    const H: f64 = 150.0;
    const LEFT: f64 = 40.0;
    const BOTTOM: f64 = 28.0;
    const TOP: f64 = 12.0;
    let max = days.iter().map(Day::total).max().unwrap_or(1).max(1);
    let plot_w = W - LEFT - 10.0;
    let plot_h = H - BOTTOM - TOP;
    let slot = plot_w / days.len() as f64;
    let bar = (slot * 0.7).clamp(2.0, 48.0);
    let _ = write!(
        h,
        "<svg id=\"timeline-chart\" width=\"100%\" viewBox=\"0 0 {W} {H}\" role=\"img\" aria-label=\"Manual changes per day\">\
         <line x1=\"{LEFT}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#b0b7c3\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{y0}\" stroke=\"#b0b7c3\"/>\
         <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{max}</text><text x=\"{lx}\" y=\"{y0}\" text-anchor=\"end\">0</text>",
        y0 = H - BOTTOM,
        x1 = W - 10.0,
        lx = LEFT - 6.0,
        ty = TOP + 8.0,
    );
    for (i, d) in days.iter().enumerate() {
        let x = LEFT + i as f64 * slot + (slot - bar) / 2.0;
        let mut y = H - BOTTOM;
        for (n, color, what) in [
            (d.critical, "var(--crit)", "critical"),
            (d.major, "var(--major)", "major"),
            (d.minor, "var(--minor)", "minor"),
        ] {
            if n == 0 {
                continue;
            }
            let bh = n as f64 * plot_h / max as f64;
            y -= bh;
            let _ = write!(
                h,
                "<rect class=\"day\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{bar:.1}\" height=\"{bh:.1}\" fill=\"{color}\"><title>{}: {n} {what}</title></rect>",
                esc(&d.day)
            );
        }
        let every = days.len().div_ceil(10).max(1);
        if i % every == 0 || i + 1 == days.len() {
            let _ = write!(
                h,
                "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                x + bar / 2.0,
                H - 10.0,
                esc(d.day.get(5..).unwrap_or(&d.day))
            );
        }
    }
    h.push_str("</svg>\n");
    let total: u64 = days.iter().map(Day::total).sum();
    let _ = writeln!(
        h,
        "<p class=\"meta\">{total} manual change(s) from {} to {} (UTC); \
         <span class=\"badge critical\">critical</span> <span class=\"badge major\">major</span> <span class=\"badge minor\">minor</span></p>",
        esc(&days[0].day),
        esc(&days[days.len() - 1].day)
    );
    h.push_str("</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_a_value_is_text() {
        assert_eq!(
            esc("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;"
        );
    }
}
