//! Architectural rules that keep the crates honest.

use std::process::Command;

/// The core crate stays sans-IO: no AWS SDK, Lambda runtime, HTTP client or async runtime
/// anywhere in its dependency tree.
#[test]
fn core_has_no_io_dependencies() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "-p",
            "driftguard-core",
            "-e",
            "normal",
            "--prefix",
            "none",
            "--offline",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("run cargo tree");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let tree = String::from_utf8_lossy(&out.stdout);
    assert!(
        tree.contains("serde_json"),
        "cargo tree listed the dependencies:\n{tree}"
    );
    let forbidden = ["aws-sdk-", "aws-config", "lambda_runtime", "reqwest", "tokio", "hyper"];
    for line in tree.lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        assert!(
            !forbidden.iter().any(|f| name.starts_with(f)),
            "driftguard-core depends on {name}"
        );
    }
}

/// Sample events follow `events/<source>/<kind>.<scenario>.json` (or a CloudTrail log-file name).
#[test]
fn sample_events_are_named_by_source_kind_and_scenario() {
    let root = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../events"));
    let mut seen = 0;
    for dir in std::fs::read_dir(root).expect("events dir") {
        let dir = dir.expect("entry").path();
        if !dir.is_dir() || dir.ends_with("terraform") || dir.ends_with("schema") {
            continue;
        }
        for file in std::fs::read_dir(&dir).expect("source dir") {
            let name = file.expect("entry").file_name().to_string_lossy().into_owned();
            let ok = name.ends_with(".json.gz") && name.contains("_CloudTrail_")
                || name
                    .strip_suffix(".json")
                    .is_some_and(|stem| stem.split('.').count() == 2);
            assert!(ok, "{}/{name} is not named <kind>.<scenario>.json", dir.display());
            seen += 1;
        }
    }
    assert!(seen >= 15, "only {seen} sample events");
}
