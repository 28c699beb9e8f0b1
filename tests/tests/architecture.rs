//! Architectural rules that keep the crates honest.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// `shared/core/src`'s folders, in the order data flows through them. A folder may import the
/// ones before it, never one after it.
const STAGES: [&str; 10] = [
    "util",
    "input",
    "actors",
    "iac",
    "drift",
    "findings",
    "remediation",
    "notify",
    "learn",
    "setup",
];

/// The `.rs` files under `dir`, recursively, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read source folder") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// The root re-exports of `lib.rs` (`pub use drift::{diff, score};`): module name → its folder.
fn root_aliases(lib_rs: &str) -> BTreeMap<String, String> {
    let mut aliases = BTreeMap::new();
    for statement in lib_rs.split(';') {
        let Some(rest) = statement.trim().strip_prefix("pub use ") else {
            continue;
        };
        let Some((folder, names)) = rest.split_once("::") else {
            continue;
        };
        for name in names.trim_matches(['{', '}']).split(',') {
            let name = name.trim();
            if !name.is_empty() {
                aliases.insert(name.to_owned(), folder.to_owned());
            }
        }
    }
    aliases
}

/// Every `crate::<name>` path in the code of a file under a stage folder (comments aside) that
/// reaches a later stage, directly or through a root re-export, or a name no stage owns.
fn layering_violations(src: &Path) -> Vec<String> {
    let lib_rs = std::fs::read_to_string(src.join("lib.rs")).expect("lib.rs");
    let aliases = root_aliases(&lib_rs);
    let rank = |folder: &str| STAGES.iter().position(|s| *s == folder);
    let mut found = Vec::new();
    let mut entries: Vec<PathBuf> = std::fs::read_dir(src)
        .expect("core src")
        .map(|e| e.expect("entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().expect("name").to_string_lossy().into_owned();
        if !path.is_dir() {
            if name != "lib.rs" {
                found.push(format!("{name}: a module outside the stage folders"));
            }
            continue;
        }
        let Some(own) = rank(&name) else {
            found.push(format!(
                "{name}/: a folder that is not a stage (add it to STAGES, in flow order)"
            ));
            continue;
        };
        for file in rust_files(&path) {
            let text = std::fs::read_to_string(&file).expect("source");
            let shown = file.strip_prefix(src).unwrap_or(&file).display().to_string();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for (at, _) in code.match_indices("crate::") {
                    let target: String = code[at + 7..]
                        .chars()
                        .take_while(|c| c.is_alphanumeric() || *c == '_')
                        .collect();
                    let folder = aliases.get(&target).map_or(target.as_str(), String::as_str);
                    match rank(folder) {
                        Some(r) if r > own => found.push(format!(
                            "{shown}:{}: stage `{name}` imports `crate::{target}` from the later stage `{folder}`",
                            n + 1
                        )),
                        Some(_) => {}
                        None => found.push(format!("{shown}:{}: `crate::{target}` belongs to no stage", n + 1)),
                    }
                }
            }
        }
    }
    found
}

/// The core crate's folders are the pipeline's stages, and imports run one way, down the stages.
#[test]
fn core_stages_import_only_earlier_stages() {
    let src = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/core/src"));
    let violations = layering_violations(src);
    assert!(violations.is_empty(), "layering broken:\n{}", violations.join("\n"));
    for stage in STAGES {
        let header = std::fs::read_to_string(src.join(stage).join("mod.rs")).expect("stage mod.rs");
        assert!(
            header.starts_with("//! "),
            "{stage}/mod.rs must open by saying what the stage does"
        );
    }
}

/// The layering check finds an upward import, direct or through a root re-export, and a folder
/// that is not a stage.
#[test]
fn layering_check_reports_upward_imports() {
    let dir = tempfile::tempdir().expect("tempdir");
    let src = dir.path();
    std::fs::write(
        src.join("lib.rs"),
        "pub mod input;\npub mod notify;\npub use notify::{slack};\n",
    )
    .expect("write");
    std::fs::create_dir_all(src.join("input")).expect("mkdir");
    std::fs::create_dir_all(src.join("notify")).expect("mkdir");
    std::fs::create_dir_all(src.join("extras")).expect("mkdir");
    std::fs::write(
        src.join("input/decode.rs"),
        "// crate::notify in a comment is fine\nuse crate::notify::slack::render;\nfn f() { crate::slack::escape(\"\"); }\n",
    )
    .expect("write");
    std::fs::write(src.join("notify/slack.rs"), "use crate::input::decode;\n").expect("write");
    let found = layering_violations(src);
    assert_eq!(
        found,
        [
            "extras/: a folder that is not a stage (add it to STAGES, in flow order)",
            "input/decode.rs:2: stage `input` imports `crate::notify` from the later stage `notify`",
            "input/decode.rs:3: stage `input` imports `crate::slack` from the later stage `notify`",
        ],
        "{found:#?}"
    );
}

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
