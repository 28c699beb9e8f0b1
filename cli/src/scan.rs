//! `driftguard scan`: the reconcile sweep from a laptop. With your AWS credentials (or
//! `--endpoint-url` for a stand-in) it reads the Terraform states, lists AWS Config's resources
//! of every mapped type IaC manages in each scope, judges each live item against its
//! declaration through the same code as the reconcile function (`driftguard_aws::ScopeSweep`),
//! stores the findings in the embedded store, records each scope's coverage there, and ends
//! with the report: the console summary, and `--json` / `--html` files.

use crate::aws::{self, AwsFlags};
use crate::report::{self, Outputs};
use crate::{load_pipeline_with, open_embedded, Exit, Setup, StoreArg};
use anyhow::{bail, Context, Result};
use clap::Args;
use driftguard_aws::{read_session, EventHistory, Lookups, ScopeSweep, SweepError};
use driftguard_core::sweep::Scope;
use driftguard_redb::{EmbeddedStore, RecordedSweep};
use indicatif::{ProgressBar, ProgressStyle};
use std::time::{Duration, Instant};

/// The SDK's variable for CloudTrail's endpoint; `--endpoint-url` overrides it for every other
/// service, not for the history lookups.
const HISTORY_ENDPOINT_ENV: &str = "AWS_ENDPOINT_URL_CLOUDTRAIL";

#[derive(Args)]
pub(crate) struct ScanArgs {
    #[command(flatten)]
    setup: Setup,
    #[command(flatten)]
    store: StoreArg,
    /// `<account>/<region>` to sweep; repeat for several (default: your credentials' account
    /// in the configured region; the template's `SweepScopes`).
    #[arg(
        long = "scope",
        value_name = "ACCOUNT/REGION",
        value_parser = parse_scope,
        env = "DRIFTGUARD_SWEEP_SCOPES",
        value_delimiter = ','
    )]
    scopes: Vec<Scope>,
    /// Read every scope through this AWS Config aggregator (the whole organisation; the
    /// template's `AwsConfigAggregatorName`).
    #[arg(
        long = "aws-config-aggregator",
        alias = "aggregator",
        value_name = "NAME",
        env = "DRIFTGUARD_AWS_CONFIG_AGGREGATOR_NAME"
    )]
    aggregator: Option<String>,
    /// Without an aggregator, the read-only role assumed in another account
    /// (`infra/spoke.yaml`, `EnableSweep=true`; the template's `MemberSweepRoleName`).
    #[arg(
        long = "member-sweep-role",
        alias = "member-role",
        value_name = "ROLE_NAME",
        env = "DRIFTGUARD_MEMBER_SWEEP_ROLE_NAME"
    )]
    member_role: Option<String>,
    /// `LookupEvents` calls for "who did it" on new drift and missing findings (0: none).
    #[arg(long, default_value_t = 60, env = "DRIFTGUARD_SWEEP_LOOKUPS")]
    lookups: u64,
    /// Seconds between those calls: CloudTrail allows two a second per account and region.
    #[arg(long, default_value_t = 0.5, value_name = "SECONDS")]
    interval: f64,
    /// AWS region (default: the AWS configuration's).
    #[arg(long)]
    region: Option<String>,
    /// AWS profile.
    #[arg(long)]
    profile: Option<String>,
    /// Send every call (Config, CloudTrail, S3, STS) to this endpoint (a local stand-in such as
    /// moto); `s3://` states are then read path-style. CloudTrail's history still goes to
    /// `AWS_ENDPOINT_URL_CLOUDTRAIL` when that is set.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    #[command(flatten)]
    outputs: Outputs,
    /// Never draw a progress bar.
    #[arg(long)]
    no_progress: bool,
}

/// Reads `123456789012/eu-west-1`.
fn parse_scope(text: &str) -> Result<Scope, String> {
    let (account, region) = text
        .split_once('/')
        .ok_or_else(|| format!("{text:?}: expected ACCOUNT/REGION, e.g. 123456789012/eu-west-1"))?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{text:?}: the account must be 12 digits"));
    }
    if region.is_empty()
        || !region
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!("{text:?}: {region:?} is not a region name"));
    }
    Ok(Scope {
        account: account.to_owned(),
        region: region.to_owned(),
    })
}

/// The bar: one step per resource type, the message saying what is being read.
fn progress(disabled: bool, types: u64) -> ProgressBar {
    if disabled {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(types);
    if let Ok(style) = ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} types  {msg}") {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

pub(crate) fn run(args: ScanArgs) -> Result<Exit> {
    if !(args.interval.is_finite() && args.interval >= 0.0) {
        bail!("--interval must be a number of seconds, 0 or more");
    }
    if args.setup.states.is_empty() {
        bail!("name the Terraform states to sweep against: --state FILE or --state s3://BUCKET/PREFIX");
    }
    let flags = AwsFlags {
        region: args.region.as_deref(),
        profile: args.profile.as_deref(),
        endpoint_url: args.endpoint_url.as_deref(),
    };
    let store = open_embedded(&args.store)?;
    let weights = pollster::block_on(driftguard_core::learn::ports::LearningStore::current_weights(&store))?;
    let pipeline =
        load_pipeline_with(&args.setup, flags)?.with_weights(driftguard_core::learn::ports::scoring_weights(weights));
    if pipeline.inventory().states().is_empty() {
        bail!("no Terraform state was read, so nothing can be swept against it");
    }
    let runtime = aws::runtime()?;
    let sdk = runtime.block_on(aws::sdk(flags));
    let own = runtime
        .block_on(driftguard_aws::own_account(&sdk))
        .context("reading your account (STS GetCallerIdentity); check your AWS credentials")?;
    let scopes = if args.scopes.is_empty() {
        let Some(region) = sdk.region().map(|r| r.as_ref().to_owned()) else {
            bail!("no AWS region configured: pass --region or --scope ACCOUNT/REGION (or set AWS_REGION)");
        };
        vec![Scope {
            account: own.clone(),
            region,
        }]
    } else {
        args.scopes.clone()
    };
    let mut lookups = Lookups::new(args.lookups, None);
    let started = Instant::now();
    for scope in &scopes {
        sweep_scope(&runtime, &args, &sdk, &own, &pipeline, scope, &store, &mut lookups)?;
    }
    eprintln!(
        "scan: {} scope(s) in {:.1} s",
        scopes.len(),
        started.elapsed().as_secs_f64()
    );
    let report = report::from_store(&store, &args.store.path)?;
    print!("{}", report::console(&report));
    report::write(&report, &args.outputs)?;
    Ok(Exit::Clean)
}

#[allow(clippy::too_many_arguments)]
fn sweep_scope(
    runtime: &tokio::runtime::Runtime,
    args: &ScanArgs,
    sdk: &aws_config::SdkConfig,
    own: &str,
    pipeline: &driftguard_core::pipeline::Pipeline,
    scope: &Scope,
    store: &EmbeddedStore,
    lookups: &mut Lookups,
) -> Result<()> {
    let at = scope.key();
    let session = if args.aggregator.is_some() {
        let mut b = sdk.to_builder();
        b.set_region(Some(aws_config::Region::new(scope.region.clone())));
        b.build()
    } else {
        runtime
            .block_on(read_session(sdk, own, args.member_role.as_deref(), scope))
            .with_context(|| format!("reading {at}"))?
    };
    let interval = Duration::from_secs_f64(args.interval);
    let mut sweep = ScopeSweep::new(
        pipeline,
        scope.clone(),
        &session,
        args.aggregator.clone(),
        interval,
        store,
        store,
    );
    // `--endpoint-url` sends every service to one stand-in; one without CloudTrail's history
    // (moto) can have it answered elsewhere, as the SDK's own service variable says.
    if let (Some(_), Ok(url)) = (&args.endpoint_url, std::env::var(HISTORY_ENDPOINT_ENV)) {
        let history = session.to_builder().endpoint_url(url).build();
        sweep = sweep.with_history(EventHistory::new(&history).with_interval(interval));
    }
    let mut run = sweep.start();
    run.report.invocations = 1;
    if run.types.is_empty() {
        eprintln!("scan {at}: the states declare no resource of a type AWS Config is compared on here");
    }
    let bar = progress(args.no_progress, run.types.len() as u64);
    while let Some(t) = run.current_type().map(str::to_owned) {
        bar.set_message(format!(
            "{at} {t}: {} listed, {} read",
            run.report.listed, run.report.read
        ));
        let done = runtime.block_on(sweep.page(&mut run, lookups)).map_err(|e| match e {
            SweepError::Aws { context, source } => anyhow::Error::new(source).context(context),
            SweepError::Service(e) => anyhow::Error::new(e).context("writing to the store"),
        })?;
        if done.type_done {
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    run.report.complete = true;
    let r = &run.report;
    eprintln!(
        "scan {at}: {} listed, {} read, {} compared; {} detected, {} resolved, {} unchanged; {} calls in {:.1} s",
        r.listed,
        r.read,
        r.compared,
        r.detected,
        r.resolved,
        r.unchanged,
        r.total_calls(),
        r.duration_ms as f64 / 1000.0
    );
    store
        .record_sweep(&RecordedSweep {
            scope: scope.clone(),
            finished_at: crate::now(),
            report: run.report,
        })
        .context("recording the sweep in the store")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_read_as_account_slash_region() {
        assert_eq!(
            parse_scope("123456789012/eu-west-1"),
            Ok(Scope {
                account: "123456789012".into(),
                region: "eu-west-1".into()
            })
        );
        for (bad, says) in [
            ("123456789012", "expected ACCOUNT/REGION"),
            ("1234/eu-west-1", "12 digits"),
            ("123456789012/EU WEST", "not a region"),
            ("123456789012/", "not a region"),
        ] {
            let err = parse_scope(bad).expect_err("refused");
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
