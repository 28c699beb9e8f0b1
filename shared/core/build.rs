//! Sets `driftguard_no_data` when the public corpora (`../shared/data`, beside the workspace) are
//! absent, so the corpus tests show as `ignored` with the reason instead of passing without
//! running; never when `DRIFTGUARD_REQUIRE_DATA` is set (CI sets it): the tests then run and
//! fail naming the missing folder. Nothing in the library itself depends on it.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(driftguard_no_data)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=DRIFTGUARD_REQUIRE_DATA");
    let required = std::env::var("DRIFTGUARD_REQUIRE_DATA").is_ok_and(|v| !v.is_empty() && v != "0");
    let manifest = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let data = manifest.join("../../../shared/data");
    if data.is_dir() {
        // Watched, so removing it re-decides. An absent folder is not watched (Cargo would then
        // re-run this script, and rebuild the crate, on every build): after adding the corpora,
        // touch this file.
        println!("cargo::rerun-if-changed={}", data.display());
    } else if !required {
        println!("cargo::rustc-cfg=driftguard_no_data");
    }
}
