//! The `pipeline-bench` code paths at smoke size, with the workspace build's functions: a few
//! events through the whole latency path (bus, rule, queue, ingest, bus, notify-slack's rule,
//! notify-slack, Slack), and a small burst checked against core's service on the in-memory
//! store. Counts are asserted, never times (the figures are the bench's, in the README).

use driftguard_tests::bench::{burst, latency, wiring::Wiring, Binaries};
use driftguard_tests::stack::workspace;
use std::time::Duration;

/// The functions of the workspace build, beside this test's executable (`target/<profile>/`).
fn binaries() -> Binaries {
    let exe = std::env::current_exe().expect("the test's path");
    let dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps");
    Binaries::find(Some(dir)).unwrap_or_else(|e| {
        panic!("{e}\n(run through the workspace: cargo test --workspace --test pipeline_bench, which builds every function)")
    })
}

fn wiring() -> Wiring {
    Wiring::read(&workspace().join("infra/template.yaml")).expect("the template's wiring")
}

#[test]
fn the_template_wiring_is_read_as_declared() {
    let w = wiring();
    // What the template says today; the bench plays whatever it says.
    assert_eq!((w.batch_size, w.batching_window_s, w.max_concurrency), (10, 0, None));
    assert_eq!(w.visibility_timeout_s, 360);
    assert_eq!(w.notify_pattern["source"], serde_json::json!(["driftguard"]));
    assert_eq!(
        w.notify_pattern["account"],
        serde_json::json!([driftguard_tests::runtime_api::ACCOUNT_ID])
    );
    assert_eq!(
        w.ingest_env.get("DRIFTGUARD_STATE_LIST_SECONDS").map(String::as_str),
        Some("900")
    );
    assert_eq!(
        w.ingest_env.get("DRIFTGUARD_STATE_REFRESH_SECONDS").map(String::as_str),
        Some("30"),
        "a parameter's default"
    );
    assert!(
        !w.ingest_env.contains_key("DRIFTGUARD_TABLE"),
        "names of the stack's resources are the bench's to set"
    );
    assert_eq!(
        w.notify_env.get("DRIFTGUARD_SLACK_DIGEST_SEVERITY").map(String::as_str),
        Some("minor")
    );
}

#[test]
#[cfg_attr(driftguard_no_moto, ignore = "needs moto_server (pip install moto[server]), absent")]
fn every_change_put_on_the_bus_reaches_slack_once() {
    let options = latency::Options {
        events: 8,
        ingest_instances: 2,
        notify_instances: 2,
        patience: Duration::from_secs(60),
        ..latency::Options::default()
    };
    let report = latency::run(&binaries(), &wiring(), &options).unwrap_or_else(|e| panic!("{e}"));
    println!("{report}");
    assert!(report.ok(), "{report}");
    assert_eq!(report.traces.iter().filter(|t| t.alerts == 1).count(), 8, "{report}");
    assert_eq!(report.total.n, 8, "each event traced from PutEvents to Slack");
    // Each change is a new finding: stored with its outbox row in one transaction.
    let writes = report
        .per_event("ingest", "dynamodb")
        .into_iter()
        .find(|(op, _)| op == "TransactWriteItems")
        .map(|(_, n)| n);
    assert!(writes >= Some(1.0), "{report}");
    let published = report
        .per_event("ingest", "events")
        .into_iter()
        .find(|(op, _)| op == "PutEvents")
        .map_or(0.0, |(_, n)| n);
    assert_eq!(published, 1.0, "one PutEvents per event: {report}");
    let ingest_units = &report
        .units
        .iter()
        .find(|(f, _)| *f == "ingest")
        .expect("ingest's units")
        .1;
    assert!(ingest_units.write() > 0.0 && ingest_units.read() > 0.0, "{report}");
}

#[test]
#[cfg_attr(driftguard_no_moto, ignore = "needs moto_server (pip install moto[server]), absent")]
fn a_small_burst_leaves_every_expected_finding_and_drift_event_once() {
    let options = burst::Options {
        events: 400,
        arrival: Duration::from_secs(1),
        instances: 2,
        fleet: 20,
        intake_probe: None,
        ..burst::Options::default()
    };
    let report = burst::run(&binaries(), &wiring(), &options).unwrap_or_else(|e| panic!("{e}"));
    println!("{report}");
    assert!(report.ok(), "{report}");
    let (events, findings, _, drift_events) = report.expected;
    assert_eq!(events, 400);
    assert!(findings >= 20 && drift_events >= findings, "{report}");
    assert!(report.invocations.0 >= 400 / 10, "batches of at most ten: {report}");
}
