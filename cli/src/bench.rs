//! `driftguard bench`: events/s through the full in-memory path (decode + attribute + resolve +
//! score) against a floor: a `serde_json` parse of the same records into a struct of the fields
//! the pipeline reads, strings borrowed. Both sides read the same bytes from memory (gzip files
//! are decompressed beforehand) on one thread.

use anyhow::{bail, Result};
use driftguard_core::decode::{self, Item, Position};
use driftguard_core::pipeline::{Outcome, Pipeline};
use driftguard_core::record::RawRecord;
use serde::Deserialize;
use std::borrow::Cow;
use std::hint::black_box;
use std::path::PathBuf;
use std::time::{Duration, Instant};

/// The floor's view of documents: one struct per shape, decided once at load.
#[derive(Deserialize)]
struct LogFile<'a> {
    #[serde(borrow, rename = "Records")]
    records: Vec<RawRecord<'a>>,
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    detail: RawRecord<'a>,
}

#[derive(Deserialize)]
struct SqsBatch<'a> {
    #[serde(borrow, rename = "Records")]
    records: Vec<SqsRecord<'a>>,
}

#[derive(Deserialize)]
struct SqsRecord<'a> {
    #[serde(borrow)]
    body: Cow<'a, str>,
}

enum Shape {
    LogFile,
    Envelope,
    Sqs,
    Record,
}

fn floor_pass(docs: &[(Vec<u8>, Shape)]) -> u64 {
    let mut n = 0u64;
    for (bytes, shape) in docs {
        n += match shape {
            Shape::LogFile => serde_json::from_slice::<LogFile<'_>>(bytes)
                .map(|f| black_box(f.records).len() as u64)
                .unwrap_or(0),
            Shape::Envelope => serde_json::from_slice::<Envelope<'_>>(bytes)
                .map(|e| u64::from(black_box(e).detail.event_name.is_some()))
                .unwrap_or(0),
            Shape::Record => serde_json::from_slice::<RawRecord<'_>>(bytes)
                .map(|r| u64::from(black_box(r).event_name.is_some()))
                .unwrap_or(0),
            Shape::Sqs => serde_json::from_slice::<SqsBatch<'_>>(bytes)
                .map(|b| {
                    b.records
                        .iter()
                        .filter(|m| serde_json::from_str::<Envelope<'_>>(&m.body).map(black_box).is_ok())
                        .count() as u64
                })
                .unwrap_or(0),
        };
    }
    n
}

fn path_pass(docs: &[(Vec<u8>, Shape)], pipeline: &Pipeline) -> u64 {
    let mut n = 0u64;
    for (bytes, _) in docs {
        decode::decode(bytes, "bench", &mut |_: &Position, item: Result<Item<'_>, _>| {
            if let Ok(item) = item {
                pipeline.evaluate_each(&item, &mut |ev| {
                    if let Outcome::Finding(f) = &ev.outcome {
                        black_box(f.likelihood);
                    }
                    black_box(ev);
                });
                n += 1;
            }
        });
    }
    n
}

fn measure(min: Duration, mut pass: impl FnMut() -> u64) -> (u64, Duration) {
    let start = Instant::now();
    let mut events = 0;
    loop {
        events += pass();
        let elapsed = start.elapsed();
        if elapsed >= min {
            return (events, elapsed);
        }
    }
}

/// Runs the benchmark and prints its figures; the last line holds the three numbers.
pub fn run(files: &[PathBuf], pipeline: &Pipeline, seconds: f64, format: crate::Format) -> Result<()> {
    let mut docs = Vec::new();
    for f in files {
        let raw = crate::inputs::read(f)?;
        let bytes = decode::plain(&raw)
            .map_err(|e| anyhow::anyhow!("{}: {e}", f.display()))?
            .into_owned();
        let shape = match serde_json::from_slice::<LogFile<'_>>(&bytes) {
            Ok(f)
                if f.records
                    .first()
                    .is_some_and(|r| r.event_source.as_deref() == Some("aws:sqs")) =>
            {
                Shape::Sqs
            }
            Ok(_) => Shape::LogFile,
            Err(_) if serde_json::from_slice::<Envelope<'_>>(&bytes).is_ok() => Shape::Envelope,
            Err(_) => Shape::Record,
        };
        docs.push((bytes, shape));
    }
    let bytes_per_pass: usize = docs.iter().map(|(b, _)| b.len()).sum();
    let events_per_pass = path_pass(&docs, pipeline);
    if events_per_pass == 0 {
        bail!("no decodable events in the inputs");
    }
    let min = Duration::from_secs_f64(seconds.max(0.1));
    let (path_events, path_time) = measure(min, || path_pass(&docs, pipeline));
    let (floor_events, floor_time) = measure(min, || floor_pass(&docs));
    let rate = |events: u64, t: Duration| events as f64 / t.as_secs_f64();
    let path_rate = rate(path_events, path_time);
    let floor_rate = rate(floor_events, floor_time);
    let mb = |events: u64, per_pass: u64, t: Duration| {
        (events as f64 / per_pass as f64) * bytes_per_pass as f64 / t.as_secs_f64() / 1e6
    };
    let floor_per_pass = floor_pass(&docs).max(1);
    if format != crate::Format::Table {
        let side = |events: u64, per_pass: u64, t: Duration| {
            serde_json::json!({
                "events": events,
                "seconds": t.as_secs_f64(),
                "events_per_second": rate(events, t),
                "mb_per_second": mb(events, per_pass, t),
            })
        };
        let figures = serde_json::json!({
            "files": docs.len(),
            "events_per_pass": events_per_pass,
            "bytes_per_pass": bytes_per_pass,
            "path": side(path_events, events_per_pass, path_time),
            "floor": side(floor_events, floor_per_pass, floor_time),
            "floor_over_path": floor_rate / path_rate,
        });
        match format {
            crate::Format::Json => println!("{}", serde_json::to_string_pretty(&figures)?),
            _ => println!("{figures}"),
        }
        return Ok(());
    }
    eprintln!(
        "bench: {} files, {events_per_pass} events, {:.1} MB per pass",
        docs.len(),
        bytes_per_pass as f64 / 1e6
    );
    eprintln!(
        "bench: path  {path_events} events in {:.2}s, {:.1} MB/s",
        path_time.as_secs_f64(),
        mb(path_events, events_per_pass, path_time)
    );
    eprintln!(
        "bench: floor {floor_events} events in {:.2}s, {:.1} MB/s",
        floor_time.as_secs_f64(),
        mb(floor_events, floor_per_pass, floor_time)
    );
    println!(
        "path {path_rate:.0} events/s, floor {floor_rate:.0} events/s, floor/path {:.2}",
        floor_rate / path_rate
    );
    Ok(())
}
