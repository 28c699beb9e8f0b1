//! `driftguard report`: the embedded store's findings and the last sweep of each scope, as a
//! console summary, a JSON file (`--json`) and a self-contained HTML page (`--html`). `scan`
//! ends with the same three.
//!
//! [`model`] makes the report (pure), [`html`] draws the page; this module reads the store and
//! writes the files.

pub(crate) mod html;
pub(crate) mod model;

use crate::StoreArg;
use anyhow::{bail, Context, Result};
use clap::Args;
use driftguard_core::ports::{FindingStore, Query};
use driftguard_redb::EmbeddedStore;
use model::{Report, SweepInput};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub(crate) struct ReportArgs {
    #[command(flatten)]
    store: StoreArg,
    #[command(flatten)]
    outputs: Outputs,
}

/// Where a report goes, besides the console.
#[derive(Args)]
pub(crate) struct Outputs {
    /// Write the report as a self-contained HTML page (no network needed to view it).
    #[arg(long, value_name = "FILE")]
    pub(crate) html: Option<PathBuf>,
    /// Write the report (coverage, counts, every finding) as JSON.
    #[arg(long, value_name = "FILE")]
    pub(crate) json: Option<PathBuf>,
}

/// The report of everything `store` holds.
pub(crate) fn from_store(store: &EmbeddedStore, source: &Path) -> Result<Report> {
    let findings = pollster::block_on(store.list(&Query::default())).context("reading the findings")?;
    let sweeps = store.sweeps().context("reading the recorded sweeps")?;
    let inputs: Vec<SweepInput<'_>> = sweeps
        .iter()
        .map(|s| SweepInput {
            scope: &s.scope,
            finished_at: s.finished_at,
            report: &s.report,
        })
        .collect();
    Ok(model::build(
        &findings,
        &inputs,
        &source.display().to_string(),
        crate::now(),
    ))
}

/// Writes the files asked for, saying so on stderr.
pub(crate) fn write(report: &Report, outputs: &Outputs) -> Result<()> {
    if let Some(path) = &outputs.json {
        let text = serde_json::to_string_pretty(report)?;
        std::fs::write(path, text + "\n").with_context(|| format!("writing {}", path.display()))?;
        eprintln!("report: JSON written to {}", path.display());
    }
    if let Some(path) = &outputs.html {
        std::fs::write(path, html::render(report)).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("report: HTML written to {}", path.display());
    }
    Ok(())
}

/// The console summary: coverage per account and type, and the open findings by kind and
/// severity.
pub(crate) fn console(report: &Report) -> String {
    let mut s = String::new();
    if report.coverage.is_empty() {
        s.push_str("coverage: no sweep recorded (driftguard scan measures it)\n");
    } else {
        let head = [
            "ACCOUNT",
            "TYPE",
            "MANAGED",
            "UNMANAGED",
            "MISSING",
            "CLOUDFORMATION",
            "IAC SHARE",
        ];
        let rows: Vec<[String; 7]> = report
            .coverage
            .iter()
            .map(|c| {
                [
                    c.account.clone(),
                    c.resource_type.clone(),
                    c.managed.to_string(),
                    c.unmanaged.to_string(),
                    c.missing.to_string(),
                    c.cloudformation.to_string(),
                    c.iac_share.map_or("-".to_owned(), |x| format!("{:.0}%", x * 100.0)),
                ]
            })
            .collect();
        let mut widths: Vec<usize> = head.iter().map(|h| h.len()).collect();
        for r in &rows {
            for (w, c) in widths.iter_mut().zip(r) {
                *w = (*w).max(c.chars().count());
            }
        }
        s.push_str("coverage (the last sweep of each scope):\n");
        let mut line = |cells: Vec<&str>| {
            let mut l = String::new();
            for (c, w) in cells.iter().zip(&widths) {
                let _ = write!(l, "{c:<w$}  ");
            }
            s.push_str(l.trim_end());
            s.push('\n');
        };
        line(head.to_vec());
        for r in &rows {
            line(r.iter().map(String::as_str).collect());
        }
    }
    let t = &report.totals;
    let _ = writeln!(s, "findings: {} ({} open, {} resolved)", t.findings, t.open, t.resolved);
    let list = |m: &std::collections::BTreeMap<String, u64>| {
        if m.is_empty() {
            "none".to_owned()
        } else {
            m.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(", ")
        }
    };
    let _ = writeln!(s, "open by kind: {}", list(&t.open_by_kind));
    let order = ["critical", "major", "minor"];
    let by_sev: Vec<String> = order
        .iter()
        .filter_map(|k| t.open_by_severity.get(*k).map(|n| format!("{k} {n}")))
        .collect();
    let _ = writeln!(
        s,
        "open by severity: {}",
        if by_sev.is_empty() {
            "none".to_owned()
        } else {
            by_sev.join(", ")
        }
    );
    if let Some(top) = report.hotspots.first() {
        let _ = writeln!(
            s,
            "drifts most: {} {} ({} findings)",
            top.resource_type, top.resource_id, top.findings
        );
    }
    s
}

/// `driftguard report`.
pub(crate) fn run(args: ReportArgs) -> Result<()> {
    let path = &args.store.path;
    if path.to_string_lossy().starts_with("dynamodb://") {
        bail!("report reads the embedded store (--store PATH)");
    }
    if !path.exists() {
        bail!(
            "no store at {} (run `driftguard scan` or `driftguard replay` first, or pass --store PATH)",
            path.display()
        );
    }
    let store = EmbeddedStore::open(path).with_context(|| format!("opening store {}", path.display()))?;
    let report = from_store(&store, path)?;
    print!("{}", console(&report));
    write(&report, &args.outputs)
}
