//! What the CLI's integration tests share: the compiled `driftguard`, run in the workspace root
//! with an environment of its own (dummy AWS credentials; no profile, endpoint or store from the
//! machine running the tests), and its output read as a user would.

#![allow(dead_code)]

pub mod chromium;

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The workspace root.
pub fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// `driftguard` with `args`, in the workspace root, not yet run.
pub fn command(args: &[&str]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_driftguard"));
    c.args(args)
        .current_dir(root())
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("DRIFTGUARD_STORE")
        .env_remove("DRIFTGUARD_CONFIG")
        .env_remove("DRIFTGUARD_IAC_PRINCIPALS")
        .env_remove("DRIFTGUARD_REMEDIATION_ROLES")
        .env_remove("DRIFTGUARD_IGNORE_RULES")
        .env_remove("DRIFTGUARD_ACCESS_FINDINGS")
        .env_remove("DRIFTGUARD_STATE_LOCATIONS")
        .env_remove("DRIFTGUARD_SWEEP_SCOPES")
        .env_remove("DRIFTGUARD_AWS_CONFIG_AGGREGATOR_NAME")
        .env_remove("DRIFTGUARD_MEMBER_SWEEP_ROLE_NAME")
        .env_remove("DRIFTGUARD_SWEEP_LOOKUPS");
    c
}

/// Runs `driftguard` with `args`.
pub fn driftguard(args: &[&str]) -> Output {
    command(args).output().expect("run driftguard")
}

/// Bytes as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Stdout, one JSON value per line.
pub fn jsonl(out: &Output) -> Vec<Value> {
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {l}")))
        .collect()
}

/// The sample states, as `--state` arguments.
pub const STATES: [&str; 4] = [
    "--state",
    "events/terraform/network.tfstate",
    "--state",
    "events/terraform/data.tfstate",
];
