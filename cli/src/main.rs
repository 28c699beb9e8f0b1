//! `driftguard`: replay CloudTrail / Config events against Terraform state on an embedded store;
//! backfill from CloudTrail's event history; read findings locally or from the deployed table.
//!
//! Data goes to stdout (findings, traces), progress and summaries to stderr, so the command
//! composes with `jq` and friends. Exit status: 0 on success, 2 when some input could not be
//! decoded (the rest was still processed), 1 on a fatal error.

mod aws;
mod backfill;
mod bench;
mod dlq;
mod inputs;
mod learn;
mod remediate;
mod render;
mod report;
mod scan;
mod slack_post;
mod stores;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};
use driftguard_aws::S3Location;
use driftguard_core::config_file::ConfigFile;
use driftguard_core::decode::{self, Position};
use driftguard_core::finding::{FindingKind, Status};
use driftguard_core::ignore::{IgnoreRules, Ignored};
use driftguard_core::inventory::Inventory;
use driftguard_core::pipeline::{Outcome, Pipeline, Stats};
use driftguard_core::ports::{Change, DriftEvent, EventPublisher, FindingStore, Query};
use driftguard_core::score::Severity;
use driftguard_redb::EmbeddedStore;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Catch AWS drift from CloudTrail events, attributed and scored against your IaC.
#[derive(Parser)]
#[command(
    name = "driftguard",
    version,
    about,
    after_help = "Exit status: 0 success; 1 fatal error (an unreadable state, store or configuration; \
                  `config validate` found problems); 2 some input could not be decoded (the rest was \
                  processed; `dlq redrive`: some messages were left in the queue or failed); 3 a remediation was refused or failed.\n\
                  Commands that print findings, traces or figures take --format table|json|jsonl \
                  (scan and report write --json / --html files; labels export writes JSON Lines).\
                  \nSettings the functions read from DRIFTGUARD_* variables are read from the same \
                  variables here where a flag says so (env: in its help)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Replay events (files or folders) into the embedded store and print the findings.
    Replay(ReplayArgs),
    /// Read stored findings.
    #[command(subcommand)]
    Findings(FindingsCommand),
    /// Show, per event, how DriftGuard decided: decoding, actor and rule, resource, owner, diff, score.
    Explain(ExplainArgs),
    /// Measure events/s through decode + attribute + resolve + score, against a plain parse.
    Bench(BenchArgs),
    /// Print which resource types and attributes DriftGuard compares, and which it only tracks
    /// as "changed out of band".
    Coverage(CoverageArgs),
    /// Plan (and with --execute, carry out) a revert, re-apply or accept of a stored finding.
    Remediate(remediate::RemediateArgs),
    /// Read CloudTrail's event history (LookupEvents: the write calls of one account and region,
    /// up to 90 days back) through the pipeline into the embedded store.
    Backfill(backfill::BackfillArgs),
    /// Export or import labels (verdicts on findings: drift, intended, not drift).
    #[command(subcommand)]
    Labels(learn::LabelsCommand),
    /// Replay events and measure the findings against a label file: precision, recall, F1,
    /// Brier score, log loss, reliability; with --fit-split, before and after fitting.
    Eval(learn::EvalArgs),
    /// Fit the likelihood's weights from labels, show them, reset them to the hand-set ones.
    #[command(subcommand)]
    Weights(learn::WeightsCommand),
    /// Rank the resources, types and teams most likely to be changed by hand next.
    Hotspots(learn::HotspotsArgs),
    /// Run the reconcile sweep from here: AWS Config's live resources against the Terraform
    /// states (your AWS credentials), findings into the embedded store, then the report.
    Scan(scan::ScanArgs),
    /// The report of the embedded store: coverage, open findings, hotspots, who, when; on the
    /// console, and as JSON (--json) and a self-contained HTML page (--html).
    Report(report::ReportArgs),
    /// Check a configuration file as every function checks it at start (for the CI of the
    /// repository that holds it).
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Work with the deployed stack's dead-letter queues: move their messages back to the
    /// consumer that missed them (the stack's `<queue>Redrive` outputs print the command).
    #[command(subcommand)]
    Dlq(dlq::DlqCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Read and check FILE (`-` for stdin): every problem is printed as FILE:LINE:COLUMN and
    /// the exit status is 1; a valid file prints what it declares.
    Validate {
        /// The configuration file (TOML), or `-`.
        file: PathBuf,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
}

#[derive(Args)]
struct CoverageArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Show every type (by default, types only tracked are counted, not listed).
    #[arg(long)]
    all: bool,
}

#[derive(Args)]
struct Common {
    /// Event files or folders (EventBridge events, CloudTrail log files (.json/.json.gz), SQS batches).
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    setup: Setup,
}

/// What the pipeline is built from: the IaC states, the principals, the ignore rules.
#[derive(Args)]
struct Setup {
    /// Terraform / OpenTofu state files (format 4), or `s3://bucket/prefix` for every `.tfstate`
    /// under a prefix (your AWS credentials; `AWS_ENDPOINT_URL` and `DRIFTGUARD_S3_PATH_STYLE=true`
    /// for a local stand-in); repeat for several. The functions' state locations
    /// (`DRIFTGUARD_STATE_LOCATIONS`, comma-separated) when not given.
    #[arg(
        long = "state",
        value_name = "TFSTATE|s3://BUCKET/PREFIX",
        env = "DRIFTGUARD_STATE_LOCATIONS",
        value_delimiter = ','
    )]
    states: Vec<PathBuf>,
    /// The configuration file (TOML: principals, remediation roles, ignore rules; see README),
    /// or where a deployment keeps it: `ssm:NAME` or `s3://bucket/key` (your AWS credentials),
    /// so a command judges as the deployed functions do.
    #[arg(long, value_name = "FILE|ssm:NAME|s3://BUCKET/KEY", env = "DRIFTGUARD_CONFIG")]
    config: Option<PathBuf>,
    /// Ignore rules (`<type> <id> [<attribute>]` per line; see README). Default: `.driftignore`
    /// in the current directory, when there is one.
    #[arg(long, value_name = "FILE")]
    ignore_file: Option<PathBuf>,
    /// Skip interactive access to managed instances (SSM commands and sessions, EC2 Instance
    /// Connect) instead of reporting it as `access` findings (also with
    /// `DRIFTGUARD_ACCESS_FINDINGS=false`, as the functions read it). `DRIFTGUARD_IAC_PRINCIPALS`,
    /// `DRIFTGUARD_REMEDIATION_ROLES` and `DRIFTGUARD_IGNORE_RULES` are read as the functions
    /// read them, before `--config` and the ignore file.
    #[arg(long)]
    no_access: bool,
}

#[derive(Args)]
struct ReplayArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    store: StoreArg,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
    /// Never draw a progress bar.
    #[arg(long)]
    no_progress: bool,
    /// List every change an ignore rule dropped, with the rule (to stdout, after the findings).
    #[arg(long)]
    show_ignored: bool,
}

/// `--store PATH`: the embedded store's file.
#[derive(Args)]
struct StoreArg {
    /// The embedded store's file.
    #[arg(
        long = "store",
        value_name = "PATH",
        default_value = "driftguard.redb",
        env = "DRIFTGUARD_STORE"
    )]
    path: PathBuf,
}

/// `--store`: where `findings` reads: the embedded store's file, or the deployed table as
/// `dynamodb://TABLE` (with the AWS configuration's credentials and region, or these flags).
#[derive(Args)]
struct FindingsStoreArg {
    /// The embedded store's file, or `dynamodb://TABLE` for the deployed stack's table.
    #[arg(
        long = "store",
        value_name = "PATH|dynamodb://TABLE",
        default_value = "driftguard.redb",
        env = "DRIFTGUARD_STORE"
    )]
    location: String,
    /// AWS region of the table (default: the AWS configuration's).
    #[arg(long)]
    region: Option<String>,
    /// AWS profile to read the table with.
    #[arg(long)]
    profile: Option<String>,
    /// Send the table's calls to this endpoint (a local stand-in).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
}

#[derive(Args)]
struct ExplainArgs {
    /// Event files or folders (EventBridge events, CloudTrail log files (.json/.json.gz), SQS batches).
    paths: Vec<PathBuf>,
    #[command(flatten)]
    setup: Setup,
    /// Fetch these events from CloudTrail's event history (`LookupEvents` by `EventId`, with your
    /// AWS credentials) and explain them too; repeat for several.
    #[arg(long = "event-id", value_name = "ID")]
    event_ids: Vec<String>,
    /// AWS region of `--event-id`, `--config ssm:…` and `s3://` states (default: the AWS
    /// configuration's).
    #[arg(long)]
    region: Option<String>,
    /// Send `--event-id` lookups, `--config ssm:…|s3://…` and `s3://` state reads to this
    /// endpoint (a local stand-in).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    common: Common,
    /// Minimum measuring time per side, in seconds.
    #[arg(long, default_value_t = 3.0)]
    seconds: f64,
    /// Output format of the figures (`table`: the summary line on stdout, details on stderr).
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

#[derive(Subcommand)]
enum FindingsCommand {
    /// List stored findings, newest first.
    List {
        #[command(flatten)]
        store: FindingsStoreArg,
        /// Only findings with this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only findings at least this severe.
        #[arg(long, value_enum)]
        min_severity: Option<SeverityArg>,
        /// Only findings of this kind.
        #[arg(long, value_enum)]
        kind: Option<KindArg>,
        /// At most this many.
        #[arg(long)]
        limit: Option<usize>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Show one finding in full.
    Show {
        /// Finding id (`dg-...`).
        id: String,
        #[command(flatten)]
        store: FindingsStoreArg,
        /// Print the Slack message (Block Kit JSON) DriftGuard would send for it.
        #[arg(long)]
        slack: bool,
        /// Output format (`table` prints the full text view).
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Also post the Slack message through the incoming webhook (implies `--slack`).
        #[arg(long)]
        post: bool,
        /// Incoming webhook URL for `--post`.
        #[arg(long, env = "DRIFTGUARD_SLACK_WEBHOOK_URL", hide_env_values = true)]
        webhook_url: Option<String>,
    },
    /// Label a finding: drift, intended (real but kept) or not-drift (a false alarm). The
    /// label is kept with the finding; `labels export` and `weights fit` read it.
    Label(learn::LabelArgs),
}

/// Output format for findings.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    /// Human-readable table (`text` also).
    #[value(alias = "text")]
    Table,
    /// One JSON array.
    Json,
    /// One JSON object per line.
    Jsonl,
}

#[derive(Clone, Copy, ValueEnum)]
enum StatusArg {
    Open,
    Resolved,
}

#[derive(Clone, Copy, ValueEnum)]
enum SeverityArg {
    Minor,
    Major,
    Critical,
}

#[derive(Clone, Copy, ValueEnum)]
enum KindArg {
    Drift,
    Unmanaged,
    Missing,
    Access,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Replay(args) => replay(args),
        Command::Findings(cmd) => findings(cmd),
        Command::Explain(args) => explain(args),
        Command::Bench(args) => bench_cmd(args),
        Command::Coverage(args) => coverage(&args),
        Command::Remediate(args) => remediate::run(args).map(|ok| if ok { Exit::Clean } else { Exit::Refused }),
        Command::Backfill(args) => backfill::run(args),
        Command::Labels(cmd) => learn::labels(cmd).map(|()| Exit::Clean),
        Command::Eval(args) => learn::eval(args),
        Command::Weights(cmd) => learn::weights(cmd).map(|()| Exit::Clean),
        Command::Hotspots(args) => learn::hotspots(args).map(|()| Exit::Clean),
        Command::Scan(args) => scan::run(args),
        Command::Report(args) => report::run(args).map(|()| Exit::Clean),
        Command::Config(ConfigCommand::Validate { file, format }) => validate_config(&file, format),
        Command::Dlq(cmd) => dlq::run(cmd),
    };
    match result {
        Ok(Exit::Clean) => ExitCode::SUCCESS,
        Ok(Exit::InputErrors) => ExitCode::from(2),
        Ok(Exit::Refused) => ExitCode::from(3),
        Ok(Exit::Invalid) => ExitCode::from(1),
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The wall clock, as the domain's timestamp (core reads no clock).
pub(crate) fn now() -> driftguard_core::time::Timestamp {
    driftguard_core::time::Timestamp(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64),
    )
}

/// How a command ended when it did not fail outright.
enum Exit {
    Clean,
    InputErrors,
    /// A remediation was refused or failed (exit status 3).
    Refused,
    /// `config validate` found problems (exit status 1).
    Invalid,
}

/// A text file, or stdin for `-`.
fn read_text(path: &Path) -> Result<String> {
    if path == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text).context("reading stdin")?;
        return Ok(text);
    }
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// `driftguard config validate`.
fn validate_config(path: &Path, format: Format) -> Result<Exit> {
    let text = read_text(path)?;
    let origin = if path == Path::new("-") {
        "stdin".to_owned()
    } else {
        path.display().to_string()
    };
    let parsed = ConfigFile::parse(&origin, &text);
    let report = match &parsed {
        Ok(c) => serde_json::json!({
            "file": origin,
            "valid": true,
            "principals": c.attribution.principals.len(),
            "remediation_roles": c.attribution.remediation_roles.len(),
            "ignore_rules": c.ignore.len(),
            "slack_routes": c.routes.len(),
        }),
        Err(e) => serde_json::json!({
            "file": origin,
            "valid": false,
            "problems": e.problems.iter().map(|p| serde_json::json!({
                "line": p.line, "column": p.column, "message": p.message,
            })).collect::<Vec<_>>(),
        }),
    };
    match (format, &parsed) {
        (Format::Json, _) => println!("{}", serde_json::to_string_pretty(&report)?),
        (Format::Jsonl, _) => println!("{report}"),
        (Format::Table, Ok(c)) => println!(
            "{origin}: valid: {} principals, {} remediation roles, {} ignore rules, {} Slack routes",
            c.attribution.principals.len(),
            c.attribution.remediation_roles.len(),
            c.ignore.len(),
            c.routes.len()
        ),
        (Format::Table, Err(e)) => {
            for p in &e.problems {
                eprintln!("{origin}:{}:{}: {}", p.line, p.column, p.message);
            }
        }
    }
    Ok(if parsed.is_ok() { Exit::Clean } else { Exit::Invalid })
}

fn load_pipeline(common: &Setup) -> Result<Pipeline> {
    load_pipeline_with(common, aws::AwsFlags::default())
}

/// [`load_pipeline`], reading `s3://` states with `flags` (a command's `--region`, `--profile`,
/// `--endpoint-url`).
fn load_pipeline_with(common: &Setup, flags: aws::AwsFlags<'_>) -> Result<Pipeline> {
    let file = match &common.config {
        Some(path) => {
            let name = path.display().to_string();
            let text = if name.starts_with("ssm:") || name.starts_with("s3://") {
                deployed_config(&name, flags)?
            } else {
                read_text(path)?
            };
            ConfigFile::parse(&name, &text)?
        }
        None => ConfigFile::default(),
    };
    let mut inventory = Inventory::new();
    let mut buckets = Vec::new();
    for path in &common.states {
        let name = path.to_string_lossy();
        if name.starts_with("s3://") {
            buckets.push(S3Location::parse(&name).with_context(|| format!("{name} is not s3://bucket/prefix"))?);
            continue;
        }
        let bytes = std::fs::read(path).with_context(|| format!("reading state {}", path.display()))?;
        let bytes = decode::plain(&bytes).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        inventory.add_state(&path.display().to_string(), &bytes)?;
    }
    if !buckets.is_empty() {
        for (url, bytes) in &s3_states(buckets, flags)? {
            let bytes = decode::plain(bytes).map_err(|e| anyhow::anyhow!("{url}: {e}"))?;
            inventory.add_state(url, &bytes)?;
        }
    }
    let default_ignore = Path::new(".driftignore");
    let ignore_path = common
        .ignore_file
        .as_deref()
        .or_else(|| default_ignore.exists().then_some(default_ignore));
    let ignore = match ignore_path {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            let rules = IgnoreRules::with_file(&path.display().to_string(), &text)?;
            eprintln!(
                "ignore: {} rules from {} (and {} built-in)",
                rules.rules().len() - driftguard_core::ignore::BUILTIN.len(),
                path.display(),
                driftguard_core::ignore::BUILTIN.len()
            );
            rules
        }
        None => IgnoreRules::builtin(),
    };
    // The environment the functions read (DRIFTGUARD_IAC_PRINCIPALS, _REMEDIATION_ROLES,
    // _IGNORE_RULES) comes first, so a shell set up like a function judges like one.
    let (env_config, env_ignore) =
        driftguard_core::config_file::settings_from_env(&driftguard_core::env::Env::new(|name| {
            std::env::var(name).ok()
        }))?;
    let ignore = env_ignore.extended(&ignore);
    let (config, ignore) = match &common.config {
        Some(path) => file.added_to(&path.display().to_string(), &env_config, &ignore),
        None => (env_config, ignore),
    };
    let pipeline = Pipeline::new(&config, inventory)
        .with_ignore(ignore)
        .with_access_findings(
            !common.no_access
                && !std::env::var("DRIFTGUARD_ACCESS_FINDINGS").is_ok_and(|v| v.trim().eq_ignore_ascii_case("false")),
        );
    let inv = pipeline.inventory();
    if !common.states.is_empty() {
        let data: usize = inv.states().iter().map(|s| s.data_sources).sum();
        eprintln!(
            "inventory: {} managed resources from {} state files ({data} data sources ignored)",
            inv.len(),
            inv.states().len()
        );
        let uncovered = pipeline.uncovered_types();
        if !uncovered.is_empty() {
            let list: Vec<String> = uncovered.iter().map(|(t, n)| format!("{t} ({n})")).collect();
            eprintln!(
                "inventory: types the catalog does not map, manual changes to them are not attached: {}",
                list.join(", ")
            );
        }
    }
    Ok(pipeline)
}

/// The configuration file where a deployment keeps it (`ssm:NAME`, `s3://bucket/key`), read as
/// the functions read it.
fn deployed_config(location: &str, flags: aws::AwsFlags<'_>) -> Result<String> {
    let location = driftguard_aws::ConfigLocation::parse(location).map_err(anyhow::Error::msg)?;
    let path_style = flags.endpoint_url.is_some()
        || std::env::var("DRIFTGUARD_S3_PATH_STYLE").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let named = location.to_string();
    aws::runtime()?.block_on(async {
        let sdk = aws::sdk(flags).await;
        let source = driftguard_aws::ConfigSource::new(&sdk, driftguard_aws::s3_client(&sdk, path_style), location);
        let fetched = source.fetch().await.with_context(|| format!("reading {named}"))?;
        Ok(fetched.text)
    })
}

/// Every `.tfstate` under the S3 locations, fetched with the AWS configuration's credentials
/// (path-style addressing with `DRIFTGUARD_S3_PATH_STYLE=true`, as the functions read it). An
/// object that cannot be read fails the command, named. With `--endpoint-url` (a local
/// stand-in) buckets are addressed path-style too.
fn s3_states(locations: Vec<S3Location>, flags: aws::AwsFlags<'_>) -> Result<Vec<(String, Vec<u8>)>> {
    let runtime = aws::runtime()?;
    let path_style = flags.endpoint_url.is_some()
        || std::env::var("DRIFTGUARD_S3_PATH_STYLE").is_ok_and(|v| v.trim().eq_ignore_ascii_case("true"));
    let named: Vec<String> = locations
        .iter()
        .map(|l| format!("s3://{}/{}", l.bucket, l.prefix))
        .collect();
    let files = runtime.block_on(async {
        let sdk = aws::sdk(flags).await;
        let client = driftguard_aws::s3_client(&sdk, path_style);
        let listed = driftguard_aws::list_states(&client, &locations)
            .await
            .with_context(|| format!("listing {}", named.join(", ")))?;
        let mut files = Vec::with_capacity(listed.len());
        for state in listed {
            let (bytes, _) = driftguard_aws::get_object_within(
                &client,
                &state.bucket,
                &state.key,
                driftguard_core::decode::MAX_DOCUMENT_BYTES,
            )
            .await
            .map_err(|e| anyhow::anyhow!("{}", e.about(&state.url)))?;
            files.push((state.url, bytes));
        }
        Ok::<_, anyhow::Error>(files)
    })?;
    eprintln!("states: {} .tfstate objects under {}", files.len(), named.join(", "));
    Ok(files)
}

/// Flushes to the store every this many changes: one write transaction per batch.
const BATCH: usize = 2_000;

/// Events through the pipeline into a store (the embedded one; `eval` an in-memory one): what
/// `replay`, `backfill` and `eval` share. Changes are written in batches of [`BATCH`]; the store
/// marks each event processed, so feeding the same event twice changes nothing.
struct Ingest<'a, S = EmbeddedStore> {
    pipeline: &'a Pipeline,
    store: &'a S,
    show_ignored: bool,
    stats: Stats,
    pending: Vec<Change>,
    touched: Vec<String>,
    ignored: Vec<(String, String, Ignored)>,
    new_findings: usize,
    updated: usize,
    resolved: usize,
    published: usize,
}

impl<'a, S: FindingStore + EventPublisher> Ingest<'a, S> {
    fn new(pipeline: &'a Pipeline, store: &'a S, show_ignored: bool) -> Ingest<'a, S> {
        Ingest {
            pipeline,
            store,
            show_ignored,
            stats: Stats::default(),
            pending: Vec::new(),
            touched: Vec::new(),
            ignored: Vec::new(),
            new_findings: 0,
            updated: 0,
            resolved: 0,
            published: 0,
        }
    }

    /// Decodes one document and evaluates its items; decoding errors are counted and reported
    /// through `report`, and the other items go on.
    fn feed(&mut self, bytes: &[u8], origin: &str, report: &mut dyn FnMut(String)) -> Result<()> {
        let (pipeline, show_ignored) = (self.pipeline, self.show_ignored);
        let (stats, pending, touched, ignored) =
            (&mut self.stats, &mut self.pending, &mut self.touched, &mut self.ignored);
        decode::decode(bytes, origin, &mut |_: &Position, item| match item {
            Ok(item) => pipeline.evaluate_each(&item, &mut |ev| {
                stats.count(&ev);
                if show_ignored {
                    let what = ev
                        .resource
                        .as_ref()
                        .map_or_else(|| ev.call.clone(), |r| format!("{} {}", r.resource_type, r.id));
                    ignored.extend(
                        ev.ignored
                            .iter()
                            .map(|i| (ev.event_id.clone(), what.clone(), i.clone())),
                    );
                }
                match ev.outcome {
                    Outcome::Finding(f) => {
                        touched.push(f.id.clone());
                        pending.push(Change::Finding(f));
                    }
                    Outcome::Iac(iac) => pending.push(Change::Iac(iac)),
                    Outcome::Config(obs) => {
                        touched.extend(obs.finding.as_ref().map(|f| f.id.clone()));
                        touched.extend(obs.finding.is_none().then(|| obs.evidence.observation.clone()));
                        pending.push(Change::Config(obs));
                    }
                    Outcome::Skipped { .. } => {}
                }
            }),
            Err(e) => {
                stats.errors += 1;
                report(format!("error: {e}"));
            }
        });
        if self.pending.len() >= BATCH {
            self.flush()?;
        }
        Ok(())
    }

    /// Counts inputs that could not be read before they reached the decoder.
    fn add_errors(&mut self, n: u64) {
        self.stats.errors += n;
    }

    /// Writes the pending changes in one transaction and their transitions to the outbox.
    fn flush(&mut self) -> Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let transitions = pollster::block_on(self.store.apply(&self.pending))
            .map_err(anyhow::Error::new)
            .context("writing to the store")?;
        self.pending.clear();
        let events: Vec<DriftEvent> = transitions.into_iter().map(DriftEvent::from).collect();
        for e in &events {
            match e.kind {
                driftguard_core::ports::DriftEventKind::Detected if e.finding.revision > 1 => self.updated += 1,
                driftguard_core::ports::DriftEventKind::Detected => self.new_findings += 1,
                driftguard_core::ports::DriftEventKind::Resolved => self.resolved += 1,
            }
        }
        self.published += pollster::block_on(self.store.publish(&events))
            .map_err(anyhow::Error::new)
            .context("publishing to the outbox")?;
        Ok(())
    }

    /// Flushes, prints the findings the input touched (stdout) and the summaries (stderr).
    fn finish(mut self, format: Format, inputs: &str, store_path: &Path) -> Result<Exit> {
        self.flush()?;
        self.touched.sort_unstable();
        self.touched.dedup();
        let mut shown = Vec::with_capacity(self.touched.len());
        for id in &self.touched {
            if let Some(f) = pollster::block_on(self.store.get(id)).map_err(anyhow::Error::new)? {
                shown.push(f);
            }
        }
        shown.sort_by(|a, b| a.call.time.cmp(&b.call.time).then_with(|| a.id.cmp(&b.id)));
        render::findings(&mut std::io::stdout().lock(), &shown, format)?;
        if self.show_ignored {
            render::ignored(&mut std::io::stdout().lock(), &self.ignored, format)?;
        }
        // The summary counts the findings as printed (stored, joins applied: a call's drift that
        // its Config item showed deleted is `missing`), not as each event first evaluated.
        self.stats.findings.clear();
        for f in &shown {
            *self
                .stats
                .findings
                .entry(format!("{}/{}", f.kind.as_str(), f.severity.as_str()))
                .or_insert(0) += 1;
        }
        eprint!("{}", render::summary(&self.stats, inputs));
        eprintln!(
            "store: {} ({} new findings, {} already stored, {} updated by joined evidence, \
             {} resolved; {} events to the outbox)",
            store_path.display(),
            self.new_findings,
            shown.len().saturating_sub(self.new_findings),
            self.updated,
            self.resolved,
            self.published,
        );
        Ok(if self.stats.errors > 0 {
            Exit::InputErrors
        } else {
            Exit::Clean
        })
    }
}

/// Opens (or creates) the embedded store that `replay` and `backfill` write.
fn open_embedded(store: &StoreArg) -> Result<EmbeddedStore> {
    if store.path.to_string_lossy().starts_with("dynamodb://") {
        bail!("replay, backfill and scan write to the embedded store (--store PATH); dynamodb://TABLE is for `findings list|show`");
    }
    EmbeddedStore::open(&store.path).with_context(|| format!("opening store {}", store.path.display()))
}

fn replay(args: ReplayArgs) -> Result<Exit> {
    let files = inputs::collect(&args.common.paths)?;
    let store = open_embedded(&args.store)?;
    // Scored with the store's current weights (`driftguard weights`), as the functions score
    // with the table's.
    let weights = pollster::block_on(driftguard_core::learn::ports::LearningStore::current_weights(&store))?;
    let pipeline =
        load_pipeline(&args.common.setup)?.with_weights(driftguard_core::learn::ports::scoring_weights(weights));
    let progress = inputs::progress(&files, args.no_progress);
    let mut ingest = Ingest::new(&pipeline, &store, args.show_ignored);
    for file in &files {
        let bytes = inputs::read(file)?;
        ingest.feed(&bytes, &file.display().to_string(), &mut |line| {
            progress.suspend(|| eprintln!("{line}"))
        })?;
        progress.inc(bytes.len() as u64);
    }
    progress.finish_and_clear();
    let inputs = format!("{} files", files.len());
    ingest.finish(args.format, &inputs, &args.store.path)
}

fn findings(cmd: FindingsCommand) -> Result<Exit> {
    match cmd {
        FindingsCommand::List {
            store,
            status,
            min_severity,
            kind,
            limit,
            format,
        } => {
            let store = stores::open(&store)?;
            let query = Query {
                status: status.map(|s| match s {
                    StatusArg::Open => Status::Open,
                    StatusArg::Resolved => Status::Resolved,
                }),
                min_severity: min_severity.map(|s| match s {
                    SeverityArg::Minor => Severity::Minor,
                    SeverityArg::Major => Severity::Major,
                    SeverityArg::Critical => Severity::Critical,
                }),
                kind: kind.map(|k| match k {
                    KindArg::Drift => FindingKind::Drift,
                    KindArg::Unmanaged => FindingKind::Unmanaged,
                    KindArg::Missing => FindingKind::Missing,
                    KindArg::Access => FindingKind::Access,
                }),
                limit,
            };
            let list = store.list(&query)?;
            render::findings(&mut std::io::stdout().lock(), &list, format)?;
            eprintln!("{} findings", list.len());
        }
        FindingsCommand::Show {
            id,
            store,
            slack,
            format,
            post,
            webhook_url,
        } => {
            let store = stores::open(&store)?;
            let Some(f) = store.get(&id)? else {
                bail!("no finding {id} in {}", store.name())
            };
            let mut out = std::io::stdout().lock();
            if slack || post {
                let message = driftguard_core::slack::render(&f);
                writeln!(out, "{}", serde_json::to_string_pretty(&message)?)?;
                if post {
                    let Some(url) = webhook_url.filter(|u| !u.trim().is_empty()) else {
                        bail!("--post needs a webhook URL: --webhook-url or DRIFTGUARD_SLACK_WEBHOOK_URL")
                    };
                    slack_post::post(&message, &url)?;
                    eprintln!("posted {id} to Slack");
                }
                return Ok(Exit::Clean);
            }
            match format {
                Format::Table => {
                    render::finding_detail(&mut out, &f)?;
                    remediate::print_trail(&mut out, &store.trail(&f.id)?)?;
                }
                Format::Json => writeln!(out, "{}", serde_json::to_string_pretty(&f)?)?,
                Format::Jsonl => writeln!(out, "{}", serde_json::to_string(&f)?)?,
            }
        }
        FindingsCommand::Label(args) => learn::label(args)?,
    }
    Ok(Exit::Clean)
}

fn bench_cmd(args: BenchArgs) -> Result<Exit> {
    let pipeline = load_pipeline(&args.common.setup)?;
    let files = inputs::collect(&args.common.paths)?;
    bench::run(&files, &pipeline, args.seconds, args.format)?;
    Ok(Exit::Clean)
}

fn coverage(args: &CoverageArgs) -> Result<Exit> {
    let all = driftguard_core::coverage::coverage(&driftguard_core::catalog::Catalog::new());
    render::coverage(&mut std::io::stdout().lock(), &all, args.format, args.all)?;
    Ok(Exit::Clean)
}

fn explain(args: ExplainArgs) -> Result<Exit> {
    if args.paths.is_empty() && args.event_ids.is_empty() {
        bail!("name event files or folders, or --event-id ID (CloudTrail's event history)");
    }
    let flags = aws::AwsFlags {
        region: args.region.as_deref(),
        profile: None,
        endpoint_url: args.endpoint_url.as_deref(),
    };
    let pipeline = load_pipeline_with(&args.setup, flags)?;
    let files = if args.paths.is_empty() {
        Vec::new()
    } else {
        inputs::collect(&args.paths)?
    };
    let mut documents: Vec<(String, Vec<u8>)> = Vec::with_capacity(files.len() + args.event_ids.len());
    for file in &files {
        documents.push((file.display().to_string(), inputs::read(file)?));
    }
    let mut errors = 0u64;
    for id in &args.event_ids {
        match backfill::lookup_event(id, args.region.as_deref(), args.endpoint_url.as_deref())? {
            Some(record) => documents.push((format!("LookupEvents {id}"), record.into_bytes())),
            None => {
                errors += 1;
                eprintln!("error: event {id} is not in CloudTrail's event history (90 days, this account and region)");
            }
        }
    }
    let mut out = std::io::stdout().lock();
    let mut io_result = Ok(());
    // `--format json`: one array, printed once every document is read.
    let mut array: Vec<serde_json::Value> = Vec::new();
    for (origin, bytes) in &documents {
        decode::decode(bytes, origin, &mut |pos: &Position, item| {
            if io_result.is_err() {
                return;
            }
            io_result = match item {
                Ok(item) => {
                    let mut result = Ok(());
                    pipeline.explain_each(&item, &mut |ev| {
                        if result.is_ok() {
                            result = match args.format {
                                Format::Json => render::trace_value(pos, &ev).map(|v| array.push(v)),
                                format => render::trace(&mut out, pos, &ev, format),
                            };
                        }
                    });
                    result
                }
                Err(e) => {
                    errors += 1;
                    match args.format {
                        Format::Json => {
                            array.push(render::trace_error_value(&e));
                            Ok(())
                        }
                        format => render::trace_error(&mut out, &e, format),
                    }
                }
            };
        });
        std::mem::replace(&mut io_result, Ok(()))?;
    }
    if args.format == Format::Json {
        writeln!(out, "{}", serde_json::to_string_pretty(&array)?)?;
    }
    Ok(if errors > 0 { Exit::InputErrors } else { Exit::Clean })
}
