//! Learning from outcomes, on the command line: label findings (`findings label`), export and
//! import labels (`labels export|import`), measure the pipeline against labels (`eval`), fit,
//! show and reset the likelihood's weights (`weights`), and rank the resources most likely to
//! drift next (`hotspots`). Every command reads the embedded store or `dynamodb://TABLE`.

use crate::{load_pipeline, stores, FindingsStoreArg, Ingest, Setup};
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use driftguard_core::eval::{self, Calibration, Report};
use driftguard_core::finding::Finding;
use driftguard_core::fit::{self, Example, FitOptions, FitReport};
use driftguard_core::hotspot::{self, Ranking, SplitReport};
use driftguard_core::label::{self, Label, LabelLine, Verdict};
use driftguard_core::learn::ports::WeightsVersion;
use driftguard_core::ports::{FindingStore, MemoryStore, Query};
use driftguard_core::remediation::Requester;
use driftguard_core::score::Weights;
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

/// A verdict on the command line.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum VerdictArg {
    /// Real drift.
    Drift,
    /// Real, but intended (kept).
    Intended,
    /// A false alarm.
    NotDrift,
}

impl From<VerdictArg> for Verdict {
    fn from(v: VerdictArg) -> Verdict {
        match v {
            VerdictArg::Drift => Verdict::Drift,
            VerdictArg::Intended => Verdict::Intended,
            VerdictArg::NotDrift => Verdict::NotDrift,
        }
    }
}

/// `findings label`.
#[derive(Args)]
pub(crate) struct LabelArgs {
    /// Finding id (`dg-...`).
    id: String,
    /// What it was.
    #[arg(value_enum)]
    verdict: VerdictArg,
    #[command(flatten)]
    store: FindingsStoreArg,
    /// Who is labelling (default: $USER).
    #[arg(long)]
    by: Option<String>,
    /// Why (kept with the label).
    #[arg(long)]
    reason: Option<String>,
}

/// Output format of reports.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum ReportFormat {
    /// For people.
    Table,
    /// One JSON object, indented.
    Json,
    /// The same object on one line.
    Jsonl,
}

/// `value` indented (`json`) or on one line (`jsonl`).
fn write_json(out: &mut impl Write, value: &serde_json::Value, format: ReportFormat) -> Result<()> {
    match format {
        ReportFormat::Jsonl => writeln!(out, "{value}")?,
        _ => writeln!(out, "{}", serde_json::to_string_pretty(value)?)?,
    }
    Ok(())
}

#[derive(Subcommand)]
pub(crate) enum LabelsCommand {
    /// Write every label as JSON Lines, with a snapshot of its finding.
    Export {
        #[command(flatten)]
        store: FindingsStoreArg,
        /// Write here instead of stdout.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Record the labels of a label file on the stored findings they name (by `finding_id`, or
    /// `event_id` and `resource`).
    Import {
        /// The label file (JSON Lines; `-` for stdin).
        file: PathBuf,
        #[command(flatten)]
        store: FindingsStoreArg,
        /// Who the labels are from when a line does not say (default: $USER).
        #[arg(long)]
        by: Option<String>,
    },
}

/// `eval`.
#[derive(Args)]
pub(crate) struct EvalArgs {
    /// The label file (JSON Lines, see README; `-` for stdin).
    labels: PathBuf,
    /// Event files or folders to replay (in memory; no store is written).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    setup: Setup,
    /// Also fit weights on the labelled findings of the first FRACTION of the time span and
    /// score the rest with the hand-set and the fitted weights (Brier and log loss before and
    /// after, on findings the fit never saw).
    #[arg(long, value_name = "FRACTION")]
    fit_split: Option<f64>,
    #[command(flatten)]
    fit: FitFlags,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
}

/// How to fit.
#[derive(Args, Clone, Copy)]
pub(crate) struct FitFlags {
    /// Labels needed before the weights move.
    #[arg(long, default_value_t = FitOptions::default().min_labels)]
    min_labels: usize,
    /// L2 strength towards the hand-set weights.
    #[arg(long, default_value_t = FitOptions::default().lambda)]
    lambda: f64,
    /// How far (log-odds) a weight may move from its hand-set value.
    #[arg(long, default_value_t = FitOptions::default().bound)]
    bound: f64,
}

impl FitFlags {
    fn options(self) -> FitOptions {
        FitOptions {
            lambda: self.lambda,
            bound: self.bound,
            min_labels: self.min_labels,
        }
    }
}

#[derive(Subcommand)]
pub(crate) enum WeightsCommand {
    /// Fit the weights on the store's labelled findings; the fit becomes the current version.
    Fit {
        #[command(flatten)]
        store: FindingsStoreArg,
        #[command(flatten)]
        fit: FitFlags,
        /// Who fits (default: $USER).
        #[arg(long)]
        by: Option<String>,
        /// Fit and report, but store nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Show the current weights (and with --history every version).
    Show {
        #[command(flatten)]
        store: FindingsStoreArg,
        /// List every fitted version.
        #[arg(long)]
        history: bool,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
        format: ReportFormat,
    },
    /// Go back to the hand-set weights (the fitted versions stay stored).
    Reset {
        #[command(flatten)]
        store: FindingsStoreArg,
    },
    /// Make a stored version current again (`v3` or `3`).
    Use {
        /// The version.
        version: String,
        #[command(flatten)]
        store: FindingsStoreArg,
    },
}

/// `hotspots`.
#[derive(Args)]
pub(crate) struct HotspotsArgs {
    #[command(flatten)]
    store: FindingsStoreArg,
    /// Replay these event files or folders (in memory) instead of reading the store.
    #[arg(long = "events", value_name = "PATH")]
    events: Vec<PathBuf>,
    #[command(flatten)]
    setup: Setup,
    /// How many resources, types and teams to list.
    #[arg(long, default_value_t = 10)]
    top: usize,
    /// Days after which history counts half.
    #[arg(long, default_value_t = hotspot::Options::default().half_life_days)]
    half_life_days: f64,
    /// The propensity's horizon, in days.
    #[arg(long, default_value_t = hotspot::Options::default().horizon_days)]
    horizon_days: f64,
    /// Instead of ranking now, measure the ranking: fit on the first FRACTION of each trail's
    /// time span, check against the manual changes of the rest, for each half-life tried (the
    /// one with the lowest held-out Brier score is the calibrated choice).
    #[arg(long, value_name = "FRACTION")]
    split: Option<f64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ReportFormat::Table)]
    format: ReportFormat,
}

fn user(by: Option<String>) -> String {
    by.or_else(|| std::env::var("USER").ok())
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "cli".into())
}

/// `findings label`.
pub(crate) fn label(args: LabelArgs) -> Result<()> {
    let store = stores::open(&args.store)?;
    let Some(finding) = store.get(&args.id)? else {
        bail!("no finding {} in {}", args.id, store.name())
    };
    let label = Label {
        finding_id: finding.id.clone(),
        verdict: args.verdict.into(),
        by: Requester {
            source: "cli".into(),
            user: user(args.by),
        },
        at: crate::now(),
        via: "cli".into(),
        reason: args.reason,
    };
    store.put_label(&label)?;
    eprintln!(
        "labelled {} {} (by {}, in {})",
        finding.id,
        label.verdict.as_str(),
        label.by.user,
        store.name()
    );
    Ok(())
}

/// `labels export|import`.
pub(crate) fn labels(cmd: LabelsCommand) -> Result<()> {
    match cmd {
        LabelsCommand::Export { store, output } => {
            let store = stores::open(&store)?;
            let labels = store.all_labels()?;
            let mut text = String::new();
            for l in &labels {
                let finding = store.get(&l.finding_id)?;
                text.push_str(&serde_json::to_string(&LabelLine::export(l, finding.as_ref()))?);
                text.push('\n');
            }
            match output {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
                None => std::io::stdout().lock().write_all(text.as_bytes())?,
            }
            eprintln!("{} labels from {}", labels.len(), store.name());
        }
        LabelsCommand::Import { file, store, by } => {
            let lines = read_labels(&file)?;
            let store = stores::open(&store)?;
            let findings = store.list(&Query::default())?;
            let by = user(by);
            let (mut recorded, mut unmatched) = (0, Vec::new());
            for line in &lines {
                let matched: Vec<&Finding> = findings.iter().filter(|f| line.matches(f)).collect();
                if matched.is_empty() {
                    unmatched.push(line.subject());
                }
                for f in matched {
                    store.put_label(&Label {
                        finding_id: f.id.clone(),
                        verdict: line.verdict,
                        by: line.by.clone().unwrap_or_else(|| Requester {
                            source: "cli".into(),
                            user: by.clone(),
                        }),
                        at: line.at.unwrap_or_else(crate::now),
                        via: line.via.clone().unwrap_or_else(|| "cli:import".into()),
                        reason: line.reason.clone(),
                    })?;
                    recorded += 1;
                }
            }
            eprintln!("{recorded} labels recorded in {}", store.name());
            if !unmatched.is_empty() {
                eprintln!(
                    "{} lines name no stored finding: {}",
                    unmatched.len(),
                    unmatched.join(", ")
                );
            }
        }
    }
    Ok(())
}

fn read_labels(path: &PathBuf) -> Result<Vec<LabelLine>> {
    let text = if path.as_os_str() == "-" {
        std::io::read_to_string(std::io::stdin().lock()).context("reading labels from stdin")?
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?
    };
    label::parse_lines(&text).with_context(|| format!("label file {}", path.display()))
}

/// Replays events into an in-memory store and returns every finding (and the input errors).
fn replay_in_memory(paths: &[PathBuf], setup: &Setup) -> Result<(Vec<Finding>, u64)> {
    let pipeline = load_pipeline(setup)?;
    let files = crate::inputs::collect(paths)?;
    let store = MemoryStore::default();
    let mut ingest = Ingest::new(&pipeline, &store, false);
    for file in &files {
        let bytes = crate::inputs::read(file)?;
        ingest.feed(&bytes, &file.display().to_string(), &mut |line| eprintln!("{line}"))?;
    }
    ingest.flush()?;
    let errors = ingest.stats.errors;
    let findings = pollster::block_on(store.list(&Query::default())).map_err(anyhow::Error::new)?;
    Ok((findings, errors))
}

/// The held-out half of `eval --fit-split`.
#[derive(Debug, Serialize)]
struct FitSplit {
    fraction: f64,
    trained_on: usize,
    held_out: usize,
    /// Why nothing was fitted, when nothing was.
    #[serde(skip_serializing_if = "Option::is_none")]
    not_fitted: Option<String>,
    before: Calibration,
    #[serde(skip_serializing_if = "Option::is_none")]
    after: Option<Calibration>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fit: Option<FitReport>,
}

#[derive(Serialize)]
struct EvalOutput<'r> {
    #[serde(flatten)]
    report: &'r Report,
    #[serde(skip_serializing_if = "Option::is_none")]
    fit_split: Option<FitSplit>,
}

/// `eval`.
pub(crate) fn eval(args: EvalArgs) -> Result<crate::Exit> {
    let labels = read_labels(&args.labels)?;
    let (findings, errors) = replay_in_memory(&args.paths, &args.setup)?;
    let report = eval::evaluate(&findings, &labels);
    let fit_split = match args.fit_split {
        Some(fraction) if !(0.0..1.0).contains(&fraction) || fraction == 0.0 => {
            bail!("--fit-split is a fraction between 0 and 1, not {fraction}")
        }
        Some(fraction) => Some(fit_on_split(&findings, &labels, fraction, args.fit.options())),
        None => None,
    };
    let output = EvalOutput {
        report: &report,
        fit_split,
    };
    let mut out = std::io::stdout().lock();
    match args.format {
        ReportFormat::Table => print_eval(&mut out, &output)?,
        json => write_json(&mut out, &serde_json::to_value(&output)?, json)?,
    }
    Ok(if errors > 0 {
        crate::Exit::InputErrors
    } else {
        crate::Exit::Clean
    })
}

/// The labelled findings, oldest first, as the model sees them.
fn labelled_examples(findings: &[Finding], labels: &[LabelLine]) -> Vec<(Finding, Example)> {
    let mut out: Vec<(Finding, Example)> = Vec::new();
    for line in labels {
        for f in findings.iter().filter(|f| line.matches(f)) {
            out.push((
                f.clone(),
                Example {
                    factors: f.factors.iter().map(|x| x.name.clone()).collect(),
                    real: line.verdict.is_real(),
                },
            ));
        }
    }
    out.sort_by(|(a, _), (b, _)| a.call.time.cmp(&b.call.time).then_with(|| a.id.cmp(&b.id)));
    out
}

fn fit_on_split(findings: &[Finding], labels: &[LabelLine], fraction: f64, options: FitOptions) -> FitSplit {
    let examples = labelled_examples(findings, labels);
    let cut = (examples.len() as f64 * fraction).floor() as usize;
    let (train, test) = examples.split_at(cut);
    let train: Vec<Example> = train.iter().map(|(_, e)| e.clone()).collect();
    let score = |weights: &Weights| -> Calibration {
        let pairs: Vec<(f64, bool)> = test
            .iter()
            .map(|(_, e)| (weights.likelihood_of(e.factors.iter().map(String::as_str)), e.real))
            .collect();
        eval::calibration(&pairs)
    };
    let before = score(&Weights::default());
    let (after, fit, not_fitted) = match fit::fit(&Weights::default(), &train, &options) {
        Ok((weights, report)) => (Some(score(&weights)), Some(report), None),
        Err(e) => (None, None, Some(e.to_string())),
    };
    FitSplit {
        fraction,
        trained_on: train.len(),
        held_out: test.len(),
        not_fitted,
        before,
        after,
        fit,
    }
}

fn figure(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.3}"))
}

fn print_eval(out: &mut impl Write, o: &EvalOutput<'_>) -> Result<()> {
    let r = o.report;
    writeln!(
        out,
        "{} labels, {} findings raised ({} unlabelled, left out)",
        r.labels, r.findings, r.unlabelled_findings
    )?;
    writeln!(
        out,
        "{:<10} {:>4} {:>4} {:>4} {:>4}  {:>9} {:>6} {:>6}",
        "level", "TP", "FP", "FN", "TN", "precision", "recall", "F1"
    )?;
    for (name, c) in [("finding", r.finding_level), ("resource", r.resource_level)] {
        writeln!(
            out,
            "{:<10} {:>4} {:>4} {:>4} {:>4}  {:>9} {:>6} {:>6}",
            name,
            c.true_positives,
            c.false_positives,
            c.false_negatives,
            c.true_negatives,
            figure(c.precision()),
            figure(c.recall()),
            figure(c.f1())
        )?;
    }
    writeln!(
        out,
        "likelihood over {} labelled findings: Brier {}, log loss {}",
        r.calibration.n,
        figure(r.calibration.brier),
        figure(r.calibration.log_loss)
    )?;
    writeln!(
        out,
        "reliability  (likelihood bin: findings, mean predicted, observed real)"
    )?;
    for b in r.reliability.iter().filter(|b| b.n > 0) {
        writeln!(
            out,
            "  [{:.1}, {:.1}{}  {:>4}  {}  {}",
            b.low,
            b.high,
            if b.high >= 1.0 { "]" } else { ")" },
            b.n,
            figure(b.mean_predicted),
            figure(b.observed)
        )?;
    }
    for (title, groups) in [("kind", &r.by_kind), ("severity", &r.by_severity)] {
        writeln!(out, "by {title}:")?;
        for (name, g) in groups {
            writeln!(
                out,
                "  {:<10} {:>4} labelled, {:>4} real, {:>4} not drift, precision {}, Brier {}",
                name,
                g.labelled,
                g.real,
                g.not_drift,
                figure(g.precision),
                figure(g.brier)
            )?;
        }
    }
    if let Some(s) = &o.fit_split {
        writeln!(
            out,
            "fit on the first {:.0}% ({} labelled findings), scored on the other {}:",
            s.fraction * 100.0,
            s.trained_on,
            s.held_out
        )?;
        writeln!(
            out,
            "  hand-set weights: Brier {}, log loss {}",
            figure(s.before.brier),
            figure(s.before.log_loss)
        )?;
        match (&s.after, &s.not_fitted) {
            (Some(a), _) => writeln!(
                out,
                "  fitted weights:   Brier {}, log loss {}",
                figure(a.brier),
                figure(a.log_loss)
            )?,
            (None, Some(why)) => writeln!(out, "  not fitted: {why}")?,
            (None, None) => {}
        }
    }
    Ok(())
}

/// `weights`.
pub(crate) fn weights(cmd: WeightsCommand) -> Result<()> {
    match cmd {
        WeightsCommand::Fit {
            store,
            fit: flags,
            by,
            dry_run,
        } => {
            let store = stores::open(&store)?;
            let labels = store.all_labels()?;
            let mut per_finding: BTreeMap<&str, Vec<Label>> = BTreeMap::new();
            for l in &labels {
                per_finding.entry(l.finding_id.as_str()).or_default().push(l.clone());
            }
            let (mut examples, mut gone) = (Vec::new(), 0);
            for (id, on) in &per_finding {
                let Some(standing) = label::standing(on) else { continue };
                match store.get(id)? {
                    Some(f) => examples.push(Example {
                        factors: f.factors.iter().map(|x| x.name.clone()).collect(),
                        real: standing.verdict.is_real(),
                    }),
                    None => gone += 1,
                }
            }
            if gone > 0 {
                eprintln!("{gone} labelled findings are no longer stored; fitting without them");
            }
            let options = flags.options();
            let (weights, report) = fit::fit(&Weights::default(), &examples, &options)
                .with_context(|| format!("fitting on {}", store.name()))?;
            let mut out = std::io::stdout().lock();
            print_fit(&mut out, &report)?;
            if dry_run {
                eprintln!("dry run: nothing stored");
                return Ok(());
            }
            let version = store.add_weights(WeightsVersion {
                number: 0,
                weights,
                fitted_at: crate::now(),
                fitted_by: format!("cli:{}", user(by)),
                options,
                report,
            })?;
            eprintln!(
                "weights {} stored in {} and current (findings scored from now on name it)",
                version.weights.version,
                store.name()
            );
        }
        WeightsCommand::Show { store, history, format } => {
            let store = stores::open(&store)?;
            let current = store.current_weights()?;
            let versions = if history { store.weights_history()? } else { Vec::new() };
            let mut out = std::io::stdout().lock();
            if format != ReportFormat::Table {
                let value = serde_json::json!({
                    "current": current.as_ref().map_or_else(
                        || serde_json::to_value(Weights::default()),
                        serde_json::to_value,
                    )?,
                    "history": versions,
                });
                write_json(&mut out, &value, format)?;
                return Ok(());
            }
            let weights = current.as_ref().map_or_else(Weights::default, |v| v.weights.clone());
            match &current {
                Some(v) => writeln!(
                    out,
                    "current: {} (fitted {} by {} on {} labels; Brier {:.3} → {:.3}, cross-validated {})",
                    v.weights.version,
                    v.fitted_at,
                    v.fitted_by,
                    v.report.labels,
                    v.report.brier_before,
                    v.report.brier_after,
                    figure(v.report.brier_cross_validated)
                )?,
                None => writeln!(out, "current: default (the hand-set weights)")?,
            }
            let defaults = Weights::default();
            writeln!(out, "  {:<28} {:>7} {:>8}", "factor", "weight", "hand-set")?;
            writeln!(out, "  {:<28} {:>7.3} {:>8.3}", "prior", weights.prior, defaults.prior)?;
            for (name, w) in &weights.factors {
                writeln!(out, "  {:<28} {:>7.3} {:>8.3}", name, w, defaults.weight(name))?;
            }
            for v in &versions {
                writeln!(
                    out,
                    "{}  {}  {}  {} labels  Brier {:.3} → {:.3}",
                    v.weights.version,
                    v.fitted_at,
                    v.fitted_by,
                    v.report.labels,
                    v.report.brier_before,
                    v.report.brier_after
                )?;
            }
        }
        WeightsCommand::Reset { store } => {
            let store = stores::open(&store)?;
            store.use_weights(None)?;
            eprintln!("weights reset to the hand-set defaults in {}", store.name());
        }
        WeightsCommand::Use { version, store } => {
            let number: u32 = version
                .trim_start_matches('v')
                .parse()
                .with_context(|| format!("{version:?} is not a version (v3, or 3)"))?;
            let store = stores::open(&store)?;
            store.use_weights(Some(number))?;
            eprintln!("weights v{number} current in {}", store.name());
        }
    }
    Ok(())
}

fn print_fit(out: &mut impl Write, r: &FitReport) -> Result<()> {
    writeln!(
        out,
        "fitted on {} labelled findings ({} real), {} Newton iterations",
        r.labels, r.positives, r.iterations
    )?;
    writeln!(
        out,
        "  in sample: Brier {:.3} → {:.3}, log loss {:.3} → {:.3}; cross-validated Brier {}",
        r.brier_before,
        r.brier_after,
        r.log_loss_before,
        r.log_loss_after,
        figure(r.brier_cross_validated)
    )?;
    for m in &r.moved {
        writeln!(
            out,
            "  {:<28} {:>7.3} → {:>7.3}{}",
            m.factor,
            m.from,
            m.to,
            if m.at_bound { "  (at its bound)" } else { "" }
        )?;
    }
    Ok(())
}

/// `hotspots`.
pub(crate) fn hotspots(args: HotspotsArgs) -> Result<()> {
    let findings = if args.events.is_empty() {
        stores::open(&args.store)?.list(&Query::default())?
    } else {
        replay_in_memory(&args.events, &args.setup)?.0
    };
    let options = hotspot::Options {
        half_life_days: args.half_life_days,
        horizon_days: args.horizon_days,
    };
    let events = hotspot::activity(&findings);
    let mut out = std::io::stdout().lock();
    if let Some(fraction) = args.split {
        if !(fraction > 0.0 && fraction < 1.0) {
            bail!("--split is a fraction between 0 and 1, not {fraction}");
        }
        let (reports, best) = hotspot::calibrate(&events, fraction, &options);
        match args.format {
            ReportFormat::Json | ReportFormat::Jsonl => write_json(
                &mut out,
                &serde_json::json!({ "half_life_days": best, "splits": reports }),
                args.format,
            )?,
            ReportFormat::Table => {
                // The first report holds what every candidate shares (spans, counts, too short).
                if let Some(first) = reports.first() {
                    print_split(&mut out, first)?;
                }
                if reports.iter().all(|r| r.too_short.is_none()) {
                    writeln!(out, "half-life  precision@5  @10  @20   Brier  skill")?;
                    for r in &reports {
                        let at = |k: usize| {
                            r.precision_at
                                .iter()
                                .find(|p| p.k == k)
                                .map_or_else(|| "-".to_owned(), |p| format!("{:.2}", p.precision))
                        };
                        writeln!(
                            out,
                            "{:>7}d  {:>11}  {:>3}  {:>3}  {:>6}  {:>5}{}",
                            r.half_life_days,
                            at(5),
                            at(10),
                            at(20),
                            figure(r.brier),
                            figure(r.brier_skill),
                            if Some(r.half_life_days) == best {
                                "  <- lowest held-out Brier"
                            } else {
                                ""
                            }
                        )?;
                    }
                }
            }
        }
        return Ok(());
    }
    let now = events
        .iter()
        .map(|e| e.at)
        .max()
        .map_or_else(crate::now, |latest| latest.max(crate::now()));
    let ranking = hotspot::rank(&events, now, &options);
    match args.format {
        ReportFormat::Json | ReportFormat::Jsonl => {
            let mut trimmed = ranking.clone();
            trimmed.resources.truncate(args.top);
            trimmed.types.truncate(args.top);
            trimmed.teams.truncate(args.top);
            write_json(&mut out, &serde_json::to_value(&trimmed)?, args.format)?;
        }
        ReportFormat::Table => print_ranking(&mut out, &ranking, args.top)?,
    }
    Ok(())
}

fn days(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |d| format!("{d:.0}d"))
}

fn print_ranking(out: &mut impl Write, r: &Ranking, top: usize) -> Result<()> {
    writeln!(
        out,
        "chance of a manual change within {} days (history since {}, half-life {} days)",
        r.options.horizon_days,
        r.since.map_or_else(|| "-".into(), |t| t.to_string()),
        r.options.half_life_days
    )?;
    writeln!(
        out,
        "{:>6}  {:>5} {:>5} {:>6} {:>7} {:>7}  resource",
        "chance", "edits", "days", "people", "manual", "applied"
    )?;
    for h in r.resources.iter().take(top) {
        writeln!(
            out,
            "{:>5.0}%  {:>5} {:>5} {:>6} {:>7} {:>7}  {}",
            h.propensity * 100.0,
            h.manual_changes,
            h.days_changed,
            h.actors,
            days(h.days_since_manual),
            days(h.days_since_apply),
            h.resource
        )?;
    }
    for (title, groups) in [("types", &r.types), ("teams", &r.teams)] {
        if groups.is_empty() {
            continue;
        }
        writeln!(out, "{title} (expected resources changed by hand within the horizon):")?;
        for g in groups.iter().take(top) {
            writeln!(
                out,
                "  {:>6.2}  of {:>4}  ({} manual changes)  {}",
                g.expected_drifting, g.resources, g.manual_changes, g.name
            )?;
        }
    }
    Ok(())
}

fn print_split(out: &mut impl Write, r: &SplitReport) -> Result<()> {
    writeln!(
        out,
        "time split at {:.0}% of {} trails: {:.1} days fitted, {:.1} days held out",
        r.fraction * 100.0,
        r.trails,
        r.fit_days,
        r.held_out_days
    )?;
    writeln!(
        out,
        "{} resources ranked, {} changed by hand in the held-out span, {} first seen after the cutoff",
        r.ranked, r.drifted, r.unseen
    )?;
    if let Some(why) = &r.too_short {
        writeln!(out, "{why}")?;
        return Ok(());
    }
    for p in &r.precision_at {
        writeln!(
            out,
            "precision@{:<3} {:.2}  (baseline, most edits first: {:.2})",
            p.k, p.precision, p.baseline
        )?;
    }
    Ok(())
}
