//! `pipeline-bench`: the deployed flow's latency and a burst, measured on loopback with the
//! compiled release functions (README, "Performance"; [`driftguard_tests::bench`]).
//!
//! ```text
//! pipeline-bench latency [--events 300] [--rate <events/s>] [--instances 5] [--notify-instances 5]
//!                        [--long-poll 20] [--direct]
//! pipeline-bench burst   [--events 100000] [--arrival-seconds 60] [--instances 1,5] [--fleet 1000]
//!                        [--seed N] [--probe-seconds 60 | --no-intake-probe] [--units] [--deadline-seconds S]
//! common:                [--bins <folder of driftguard-ingest, driftguard-notify-slack>] [--template infra/template.yaml]
//! ```
//!
//! Exit status: 0 when every event came through once, 1 when one was lost, duplicated or
//! wrong, 2 when the run could not start (moto or a binary missing, a bad option).

use driftguard_tests::bench::{burst, latency, wiring::Wiring, Binaries};
use driftguard_tests::stack::workspace;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "usage: pipeline-bench latency [--events N] [--rate EVENTS_PER_S] [--instances N] [--notify-instances N] [--long-poll S] [--direct]
       pipeline-bench burst [--events N] [--arrival-seconds S] [--instances N[,N...]] [--fleet N] [--seed N] [--probe-seconds S | --no-intake-probe] [--units] [--deadline-seconds S]
common options: --bins DIR (default $DRIFTGUARD_RELEASE_BINS, else beside this binary), --template PATH (default infra/template.yaml)";

fn main() -> ExitCode {
    match run() {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::from(1),
        Err(e) => {
            eprintln!("pipeline-bench: {e}");
            ExitCode::from(2)
        }
    }
}

/// The options after the subcommand, as (name, value) pairs; flags get an empty value.
fn options(args: &[String], flags: &[&str]) -> Result<Vec<(String, String)>, String> {
    let mut out = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let name = a
            .strip_prefix("--")
            .ok_or_else(|| format!("unexpected argument {a:?}\n{USAGE}"))?;
        if flags.contains(&name) {
            out.push((name.to_owned(), String::new()));
        } else {
            let value = it.next().ok_or_else(|| format!("--{name} needs a value\n{USAGE}"))?;
            out.push((name.to_owned(), value.clone()));
        }
    }
    Ok(out)
}

fn number<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("--{name} {value:?} is not a valid number\n{USAGE}"))
}

fn run() -> Result<bool, String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((command, rest)) = args.split_first() else {
        return Err(USAGE.to_owned());
    };
    let opts = options(rest, &["direct", "no-intake-probe", "units"])?;
    let mut bins: Option<PathBuf> = None;
    let mut template = workspace().join("infra/template.yaml");
    let mut rest = Vec::new();
    for (name, value) in opts {
        match name.as_str() {
            "bins" => bins = Some(PathBuf::from(value)),
            "template" => template = PathBuf::from(value),
            _ => rest.push((name, value)),
        }
    }
    // Checked before anything starts: a missing binary or template is named at once.
    let binaries = Binaries::find(bins.as_deref())?;
    let wiring = Wiring::read(&template)?;
    match command.as_str() {
        "latency" => {
            let mut o = latency::Options::default();
            for (name, value) in rest {
                match name.as_str() {
                    "events" => o.events = number(&name, &value)?,
                    "rate" => o.rate = Some(number(&name, &value)?).filter(|r: &f64| *r > 0.0),
                    "instances" => o.ingest_instances = number(&name, &value)?,
                    "notify-instances" => o.notify_instances = number(&name, &value)?,
                    "long-poll" => o.long_poll_s = number(&name, &value)?,
                    "direct" => o.count = false,
                    other => return Err(format!("latency has no option --{other}\n{USAGE}")),
                }
            }
            if o.events == 0 {
                return Err("--events must be at least 1".into());
            }
            let report = latency::run(&binaries, &wiring, &o)?;
            println!("{report}");
            Ok(report.ok())
        }
        "burst" => {
            let mut o = burst::Options::default();
            let mut instances = vec![1, 5];
            for (name, value) in rest {
                match name.as_str() {
                    "events" => o.events = number(&name, &value)?,
                    "arrival-seconds" => o.arrival = Duration::from_secs_f64(number(&name, &value)?),
                    "instances" => {
                        instances = value
                            .split(',')
                            .map(|v| number(&name, v.trim()))
                            .collect::<Result<Vec<usize>, String>>()?;
                    }
                    "fleet" => o.fleet = number(&name, &value)?,
                    "seed" => o.seed = number(&name, &value)?,
                    "probe-seconds" => o.intake_probe = Some(Duration::from_secs_f64(number(&name, &value)?)),
                    "no-intake-probe" => o.intake_probe = None,
                    "units" => o.units = true,
                    "deadline-seconds" => o.deadline = Some(Duration::from_secs_f64(number(&name, &value)?)),
                    other => return Err(format!("burst has no option --{other}\n{USAGE}")),
                }
            }
            if o.events == 0 || instances.contains(&0) {
                return Err("--events and --instances must be at least 1".into());
            }
            let mut ok = true;
            for (k, n) in instances.iter().enumerate() {
                let options = burst::Options {
                    instances: *n,
                    // moto's intake is the same whatever the instances: measured once.
                    intake_probe: if k == 0 { o.intake_probe } else { None },
                    ..o.clone()
                };
                let report = burst::run(&binaries, &wiring, &options)?;
                println!("{report}");
                ok &= report.ok();
            }
            Ok(ok)
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    }
}
