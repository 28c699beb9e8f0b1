//! `driftguard backfill --since 24h`: CloudTrail's event history (`LookupEvents`, the write calls
//! of one account and region, up to 90 days back) through the same pipeline as `replay`, into the
//! embedded store, so findings exist from before DriftGuard listened. Each record keeps its
//! `eventID`, so a backfill repeated, or overlapping events the live path already stored, changes
//! nothing.

use crate::aws::{self, AwsFlags};
use crate::{load_pipeline, Exit, Format, Ingest, Setup, StoreArg};
use anyhow::{bail, Context, Result};
use clap::Args;
use driftguard_aws::{EventHistory, LookupFilter};
use driftguard_core::time::Timestamp;
use std::ops::ControlFlow;
use std::time::Duration;

/// CloudTrail keeps 90 days of management events.
const HISTORY_DAYS: u64 = 90;

#[derive(Args)]
pub(crate) struct BackfillArgs {
    /// How far back to read: a number and a unit, `m` (minutes), `h` (hours) or `d` (days), e.g.
    /// `24h` or `7d`; at most 90 days, CloudTrail's history.
    #[arg(long, value_parser = parse_since)]
    since: Duration,
    #[command(flatten)]
    setup: Setup,
    #[command(flatten)]
    store: StoreArg,
    /// AWS region to read (default: the AWS configuration's).
    #[arg(long)]
    region: Option<String>,
    /// Send the calls to this endpoint instead of AWS (a local stand-in).
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// Seconds between `LookupEvents` calls: CloudTrail allows two a second per account and region.
    #[arg(long, default_value_t = 0.5, value_name = "SECONDS")]
    interval: f64,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    format: Format,
}

/// Reads `24h`, `90m`, `7d`.
fn parse_since(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: expected a number and a unit (m, h or d), e.g. 24h"))?;
    let seconds = match unit {
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86_400,
        _ => return Err(format!("{text:?}: the unit must be m, h or d (e.g. 24h)")),
    };
    if seconds == 0 {
        return Err(format!("{text:?}: the window is empty"));
    }
    if seconds > HISTORY_DAYS * 86_400 {
        return Err(format!(
            "{text:?}: CloudTrail's event history holds {HISTORY_DAYS} days; use at most {HISTORY_DAYS}d"
        ));
    }
    Ok(Duration::from_secs(seconds))
}

pub(crate) fn run(args: BackfillArgs) -> Result<Exit> {
    if !(args.interval.is_finite() && args.interval >= 0.0) {
        bail!("--interval must be a number of seconds, 0 or more");
    }
    let store = crate::open_embedded(&args.store)?;
    let weights = pollster::block_on(driftguard_core::learn::ports::LearningStore::current_weights(&store))?;
    let pipeline = load_pipeline(&args.setup)?.with_weights(driftguard_core::learn::ports::scoring_weights(weights));
    let runtime = aws::runtime()?;
    let sdk = runtime.block_on(aws::sdk(AwsFlags {
        region: args.region.as_deref(),
        endpoint_url: args.endpoint_url.as_deref(),
        ..AwsFlags::default()
    }));
    let region = sdk
        .region()
        .map_or_else(|| "(no region)".to_owned(), ToString::to_string);
    let history = EventHistory::new(&sdk).with_interval(Duration::from_secs_f64(args.interval));
    let end = crate::now();
    let start = Timestamp(end.0 - args.since.as_millis() as i64);
    eprintln!("backfill: write calls from {start} to {end} in {region} (LookupEvents)");

    let mut ingest = Ingest::new(&pipeline, &store, false);
    let mut unreadable = 0u64;
    let mut failed = None;
    let summary = runtime
        .block_on(history.lookup(&LookupFilter::Writes, start, end, |page| {
            let origin = format!("LookupEvents page {}", page.number);
            for id in &page.without_record {
                eprintln!("error: {origin}: event {id} came without its CloudTrailEvent");
                unreadable += 1;
            }
            // Each record is its own document: an unreadable one is an error of its own, named by
            // page and position, and the others still count.
            for (i, record) in page.records.iter().enumerate() {
                let at = format!("{origin}, event {}", i + 1);
                if let Err(e) = ingest.feed(record.as_bytes(), &at, &mut |line| eprintln!("{line}")) {
                    failed = Some(e);
                    return ControlFlow::Break(());
                }
            }
            ControlFlow::Continue(())
        }))
        .context("reading CloudTrail's event history")?;
    if let Some(e) = failed {
        return Err(e);
    }
    ingest.add_errors(unreadable);
    let inputs = format!("{} LookupEvents pages ({} events)", summary.pages, summary.events);
    ingest.finish(args.format, &inputs, &args.store.path)
}

/// One event's record from CloudTrail's event history, by `EventId`; `None` when the history
/// does not hold it.
pub(crate) fn lookup_event(id: &str, region: Option<&str>, endpoint_url: Option<&str>) -> Result<Option<String>> {
    aws::runtime()?.block_on(async {
        let sdk = aws::sdk(AwsFlags {
            region,
            endpoint_url,
            ..AwsFlags::default()
        })
        .await;
        let end = crate::now();
        let start = Timestamp(end.0 - (HISTORY_DAYS * 86_400_000) as i64);
        let mut found = None;
        EventHistory::new(&sdk)
            .lookup(&LookupFilter::EventId(id.to_owned()), start, end, |page| {
                found = page.records.into_iter().next();
                ControlFlow::Break(())
            })
            .await
            .with_context(|| format!("looking up event {id} in CloudTrail's event history"))?;
        Ok(found)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_read_as_people_write_them() {
        assert_eq!(parse_since("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_since("90m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(parse_since("90d"), Ok(Duration::from_secs(90 * 86_400)));
        for (bad, says) in [
            ("91d", "holds 90 days"),
            ("24", "the unit must be"),
            ("h", "expected a number"),
            ("0h", "empty"),
            ("2w", "the unit must be"),
        ] {
            let err = parse_since(bad).expect_err("refused");
            assert!(err.contains(says), "{bad}: {err}");
        }
    }
}
