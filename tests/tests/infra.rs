//! `infra/template.yaml` mirrors `functions/` one to one: each folder there is exactly one
//! `AWS::Serverless::Function`, built by SAM's rust-cargolambda from that folder for arm64 on
//! provided.al2023 with JSON logs, and every environment variable the function's code reads is
//! set in the template, and nothing more.

use driftguard_tests::stack::workspace;
use serde_yaml::{Mapping, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A function package under `functions/`.
#[derive(Debug)]
struct FunctionDir {
    /// Folder name under `functions/`.
    dir: String,
    /// Its one `[[bin]]` (the name SAM's `BuildProperties.Binary` must give).
    binary: String,
    /// Environment variables its sources read.
    reads: BTreeSet<String>,
}

fn functions_on_disk(root: &Path) -> Vec<FunctionDir> {
    let mut out = Vec::new();
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root.join("functions"))
        .expect("functions/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .collect();
    dirs.sort();
    for dir in dirs {
        let manifest: toml::Table = std::fs::read_to_string(dir.join("Cargo.toml"))
            .expect("Cargo.toml")
            .parse()
            .expect("Cargo.toml parses");
        let package = manifest["package"]["name"].as_str().expect("package.name").to_owned();
        let mut bins: Vec<String> = manifest
            .get("bin")
            .and_then(|b| b.as_array())
            .map(|bins| {
                bins.iter()
                    .filter_map(|b| b.get("name").and_then(|n| n.as_str()).map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        if bins.is_empty() && dir.join("src/main.rs").is_file() {
            bins.push(package.clone());
        }
        assert_eq!(
            bins.len(),
            1,
            "{} must build exactly one binary (a Lambda bootstrap): {bins:?}",
            dir.display()
        );
        let mut reads = BTreeSet::new();
        for file in rust_files(&dir.join("src")) {
            reads.extend(env_reads(&std::fs::read_to_string(&file).expect("source")));
        }
        out.push(FunctionDir {
            dir: dir.file_name().expect("name").to_string_lossy().into_owned(),
            binary: bins.remove(0),
            reads,
        });
    }
    out
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|x| x == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The string literals of Rust source, comments skipped (plain, byte and raw strings; char
/// literals and lifetimes are stepped over so a `'"'` does not open a string).
fn string_literals(src: &str) -> Vec<String> {
    let c: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < c.len() {
        match c[i] {
            '/' if c.get(i + 1) == Some(&'/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                }
            }
            '/' if c.get(i + 1) == Some(&'*') => {
                let mut depth = 0;
                while i < c.len() {
                    if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                        depth += 1;
                        i += 2;
                    } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        i += 1;
                    }
                }
            }
            'r' if matches!(c.get(i + 1), Some('#') | Some('"'))
                && !c
                    .get(i.wrapping_sub(1))
                    .is_some_and(|p| p.is_alphanumeric() || *p == '_') =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while c.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if c.get(j) != Some(&'"') {
                    i += 1;
                    continue;
                }
                let start = j + 1;
                let mut k = start;
                loop {
                    if k >= c.len() {
                        break;
                    }
                    if c[k] == '"' && (0..hashes).all(|h| c.get(k + 1 + h) == Some(&'#')) {
                        break;
                    }
                    k += 1;
                }
                out.push(c[start..k.min(c.len())].iter().collect());
                i = k + 1 + hashes;
            }
            '"' => {
                let mut s = String::new();
                i += 1;
                while i < c.len() && c[i] != '"' {
                    if c[i] == '\\' {
                        i += 1;
                    }
                    if let Some(ch) = c.get(i) {
                        s.push(*ch);
                    }
                    i += 1;
                }
                out.push(s);
                i += 1;
            }
            '\'' => {
                // '\x', '\'', 'x' are char literals; anything else is a lifetime or label.
                if c.get(i + 1) == Some(&'\\') {
                    i += 2;
                    while i < c.len() && c[i] != '\'' {
                        i += 1;
                    }
                    i += 1;
                } else if c.get(i + 2) == Some(&'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// The environment variables a source file reads: every `"DRIFTGUARD_..."` literal, any other
/// upper-case literal passed straight to `env::var` / `env::var_os`, and `RUST_LOG` when the
/// tracing filter comes from the environment (`EnvFilter::from_default_env` and friends).
/// Variables Lambda itself sets (`AWS_*`, `LAMBDA_*`, `_HANDLER`) are not the template's to set.
fn env_reads(src: &str) -> BTreeSet<String> {
    let is_name = |s: &str| {
        s.len() > 1
            && s.starts_with(|c: char| c.is_ascii_uppercase())
            && s.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    };
    let mut reads: BTreeSet<String> = string_literals(src)
        .into_iter()
        .filter(|s| is_name(s) && (s.starts_with("DRIFTGUARD_") || s == "RUST_LOG"))
        .collect();
    for call in ["env::var(\"", "env::var_os(\"", "env!(\"", "option_env!(\""] {
        for (at, _) in src.match_indices(call) {
            let rest = &src[at + call.len()..];
            if let Some(end) = rest.find('"') {
                if is_name(&rest[..end]) {
                    reads.insert(rest[..end].to_owned());
                }
            }
        }
    }
    if src.contains("from_default_env") {
        reads.insert("RUST_LOG".to_owned());
    }
    reads.retain(|v| !(v.starts_with("AWS_") || v.starts_with("LAMBDA_") || v.starts_with('_')));
    reads
}

fn template(root: &Path) -> Value {
    let text = std::fs::read_to_string(root.join("infra/template.yaml")).expect("infra/template.yaml");
    serde_yaml::from_str(&text).expect("infra/template.yaml parses")
}

fn get<'v>(v: &'v Value, path: &[&str]) -> Option<&'v Value> {
    path.iter().try_fold(v, |v, key| v.get(*key))
}

/// A function's properties with `Globals.Function` applied (maps merged, the function's own
/// values win), as SAM does.
fn with_globals(globals: Option<&Value>, props: &Value) -> Value {
    fn merge(base: &Value, over: &Value) -> Value {
        match (base, over) {
            (Value::Mapping(b), Value::Mapping(o)) => {
                let mut m: Mapping = b.clone();
                for (k, v) in o {
                    let merged = match m.get(k) {
                        Some(existing) => merge(existing, v),
                        None => v.clone(),
                    };
                    m.insert(k.clone(), merged);
                }
                Value::Mapping(m)
            }
            (_, over) => over.clone(),
        }
    }
    match globals {
        Some(g) => merge(g, props),
        None => props.clone(),
    }
}

fn str_of(v: Option<&Value>) -> Option<&str> {
    v.and_then(Value::as_str)
}

/// Everything wrong with `template` against `functions`; empty when it mirrors them.
fn problems(template: &Value, functions: &[FunctionDir], root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let globals = get(template, &["Globals", "Function"]);
    let Some(resources) = template.get("Resources").and_then(Value::as_mapping) else {
        return vec!["the template has no Resources".into()];
    };
    let mut by_binary: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (id, resource) in resources {
        if str_of(resource.get("Type")) != Some("AWS::Serverless::Function") {
            continue;
        }
        let id = id.as_str().unwrap_or("?").to_owned();
        let props = with_globals(globals, resource.get("Properties").unwrap_or(&Value::Null));
        let Some(binary) = str_of(get(resource, &["Metadata", "BuildProperties", "Binary"])) else {
            out.push(format!(
                "{id}: no Metadata.BuildProperties.Binary naming its Cargo binary"
            ));
            continue;
        };
        by_binary.entry(binary.to_owned()).or_default().push(id.clone());
        let expect = |what: &str, got: Option<&str>, want: &str, out: &mut Vec<String>| {
            if got != Some(want) {
                out.push(format!("{id}: {what} is {got:?}, expected {want:?}"));
            }
        };
        expect(
            "Metadata.BuildMethod",
            str_of(get(resource, &["Metadata", "BuildMethod"])),
            "rust-cargolambda",
            &mut out,
        );
        expect("Runtime", str_of(props.get("Runtime")), "provided.al2023", &mut out);
        expect("Handler", str_of(props.get("Handler")), "bootstrap", &mut out);
        expect(
            "LoggingConfig.LogFormat",
            str_of(get(&props, &["LoggingConfig", "LogFormat"])),
            "JSON",
            &mut out,
        );
        let arch: Vec<&str> = props
            .get("Architectures")
            .and_then(Value::as_sequence)
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if arch != ["arm64"] {
            out.push(format!("{id}: Architectures is {arch:?}, expected [\"arm64\"]"));
        }
        let Some(function) = functions.iter().find(|f| f.binary == binary) else {
            out.push(format!(
                "{id}: binary {binary:?} is not built by any package under functions/"
            ));
            continue;
        };
        // SAM runs cargo lambda in CodeUri (relative to the template): the function's package.
        let code_uri = str_of(props.get("CodeUri")).unwrap_or("");
        let resolved = root.join("infra").join(code_uri).canonicalize().ok();
        let wanted = root.join("functions").join(&function.dir).canonicalize().ok();
        if resolved.is_none() || resolved != wanted {
            out.push(format!(
                "{id}: CodeUri {code_uri:?} is not ../functions/{}",
                function.dir
            ));
        }
        let set: BTreeSet<String> = get(&props, &["Environment", "Variables"])
            .and_then(Value::as_mapping)
            .map(|m| m.keys().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        for missing in function.reads.difference(&set) {
            out.push(format!(
                "{id}: functions/{} reads {missing}, which the template does not set",
                function.dir
            ));
        }
        for unused in set.difference(&function.reads) {
            out.push(format!(
                "{id}: sets {unused}, which functions/{} never reads",
                function.dir
            ));
        }
    }
    for (binary, ids) in &by_binary {
        if ids.len() > 1 {
            out.push(format!("binary {binary:?} is built by more than one function: {ids:?}"));
        }
    }
    for f in functions {
        if !by_binary.contains_key(&f.binary) {
            out.push(format!(
                "functions/{} (binary {}) has no AWS::Serverless::Function",
                f.dir, f.binary
            ));
        }
    }
    out
}

#[test]
fn the_template_has_exactly_the_functions_and_their_environment() {
    let root = workspace();
    let functions = functions_on_disk(&root);
    assert!(!functions.is_empty(), "no function packages under functions/");
    let ingest = functions.iter().find(|f| f.dir == "ingest").expect("functions/ingest");
    assert_eq!(ingest.binary, "driftguard-ingest");
    // The scan itself must find what config.rs and main.rs read, or the check below is hollow.
    for v in [
        "DRIFTGUARD_TABLE",
        "DRIFTGUARD_EVENT_BUS",
        "DRIFTGUARD_STATE_LOCATIONS",
        "RUST_LOG",
    ] {
        assert!(ingest.reads.contains(v), "the scan missed {v}: {:?}", ingest.reads);
    }
    let found = problems(&template(&root), &functions, &root);
    assert!(
        found.is_empty(),
        "infra/template.yaml does not mirror functions/:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_template_that_drifts_from_functions_is_caught() {
    let root = workspace();
    let functions = functions_on_disk(&root);
    let mut broken = template(&root);
    let ingest = broken["Resources"]
        .as_mapping_mut()
        .expect("Resources")
        .values_mut()
        .find(|r| r["Type"] == "AWS::Serverless::Function")
        .expect("a function");
    let vars = ingest["Properties"]["Environment"]["Variables"]
        .as_mapping_mut()
        .expect("variables");
    vars.remove("DRIFTGUARD_TABLE");
    vars.insert("DRIFTGUARD_UNUSED".into(), "x".into());
    ingest["Properties"]["Architectures"] = serde_yaml::from_str("[x86_64]").expect("yaml");
    ingest["Metadata"]["BuildProperties"]["Binary"] = "driftguard-elsewhere".into();
    let found = problems(&broken, &functions, &root).join("\n");
    for expected in [
        "Architectures is [\"x86_64\"]",
        "binary \"driftguard-elsewhere\" is not built by any package",
        "functions/ingest (binary driftguard-ingest) has no AWS::Serverless::Function",
    ] {
        assert!(found.contains(expected), "expected {expected:?} in:\n{found}");
    }
    // With the binary right again, the environment problems show.
    ingest_binary_back(&mut broken);
    let found = problems(&broken, &functions, &root).join("\n");
    for expected in [
        "reads DRIFTGUARD_TABLE, which the template does not set",
        "sets DRIFTGUARD_UNUSED, which functions/ingest never reads",
    ] {
        assert!(found.contains(expected), "expected {expected:?} in:\n{found}");
    }
}

fn ingest_binary_back(template: &mut Value) {
    for r in template["Resources"].as_mapping_mut().expect("Resources").values_mut() {
        if r["Metadata"]["BuildProperties"]["Binary"] == "driftguard-elsewhere" {
            r["Metadata"]["BuildProperties"]["Binary"] = "driftguard-ingest".into();
        }
    }
}

#[test]
fn the_scan_reads_literals_not_comments() {
    let src = r#"
        // "DRIFTGUARD_IN_A_COMMENT" is not read
        /* nor "DRIFTGUARD_IN_A_BLOCK" */
        fn f<'a>(x: &'a str) -> char { let _ = std::env::var("OTHER_VAR"); let _ = r"DRIFTGUARD_RAW"; '"' }
        const T: &str = "DRIFTGUARD_TABLE"; let s = "AWS_REGION"; std::env::var("AWS_REGION");
        tracing_subscriber::EnvFilter::try_from_default_env();
    "#;
    let reads: Vec<String> = env_reads(src).into_iter().collect();
    assert_eq!(reads, ["DRIFTGUARD_RAW", "DRIFTGUARD_TABLE", "OTHER_VAR", "RUST_LOG"]);
}
