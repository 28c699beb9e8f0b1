//! Decides, at build time, which of the integration tests' outside requirements are absent, so
//! the tests that need them show as `ignored` with the reason instead of passing without running:
//!
//! - `driftguard_no_moto`: no `moto_server` on `PATH` and no `moto` module for `python3`;
//! - `driftguard_no_data`: no public corpora at `../shared/data` (beside the workspace).
//!
//! Neither is set when `DRIFTGUARD_REQUIRE_MOTO` / `DRIFTGUARD_REQUIRE_DATA` is set (CI sets
//! both): the tests then run, and fail naming what is missing.

use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Whether `var` is set to anything but empty or `0`; a change of it re-runs this script.
fn required(var: &str) -> bool {
    println!("cargo::rerun-if-env-changed={var}");
    std::env::var(var).is_ok_and(|v| !v.is_empty() && v != "0")
}

/// `moto_server` on `PATH`, which the harness (src/moto.rs) tries first.
fn moto_server() -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("moto_server"))
        .find(|candidate| candidate.is_file())
}

/// The harness's fallback, `python3 -m moto.server`: is the module there?
fn python_has_moto() -> bool {
    Command::new("python3")
        .args([
            "-c",
            "import importlib.util, sys; sys.exit(importlib.util.find_spec('moto') is None)",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn main() {
    println!("cargo::rustc-check-cfg=cfg(driftguard_no_moto)");
    println!("cargo::rustc-check-cfg=cfg(driftguard_no_data)");
    println!("cargo::rerun-if-changed=build.rs");

    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let data = manifest.join("../../shared/data");
    let require_data = required("DRIFTGUARD_REQUIRE_DATA");
    if data.is_dir() {
        // Watched, so removing it re-decides. An absent folder is not watched (Cargo would then
        // re-run this script, and rebuild the crate, on every build): after adding the corpora,
        // touch this file.
        println!("cargo::rerun-if-changed={}", data.display());
    } else if !require_data {
        println!("cargo::rustc-cfg=driftguard_no_data");
    }

    let require_moto = required("DRIFTGUARD_REQUIRE_MOTO");
    match moto_server() {
        Some(server) => println!("cargo::rerun-if-changed={}", server.display()),
        None if python_has_moto() || require_moto => {}
        None => println!("cargo::rustc-cfg=driftguard_no_moto"),
    }
}
