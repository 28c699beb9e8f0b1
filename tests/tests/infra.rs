//! `infra/template.yaml` mirrors `functions/` one to one: each folder there is exactly one
//! `AWS::Serverless::Function`, built by SAM's rust-cargolambda from that folder for arm64 on
//! provided.al2023 with JSON logs, and every environment variable the function's code reads is
//! set in the template, and nothing more.

use driftguard_core::remediation::plan::actions_for;
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
/// Variables Lambda itself sets (`AWS_*`, `LAMBDA_*`, `_HANDLER`) and those Cargo sets at build
/// time (`CARGO_*`) are not the template's to set.
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
    // `driftguard_aws::config_from_env` reads where the configuration file is and how often.
    if src.contains("config_from_env(") {
        reads.insert("DRIFTGUARD_CONFIG".to_owned());
        reads.insert("DRIFTGUARD_CONFIG_REFRESH_SECONDS".to_owned());
    }
    // `driftguard_aws::load_sdk_config` reads the AWS calls' attempt timeout.
    if src.contains("load_sdk_config(") {
        reads.insert("DRIFTGUARD_AWS_ATTEMPT_TIMEOUT_MS".to_owned());
    }
    // `driftguard_core::config_file::settings_from_env` reads the attribution and ignore rules.
    if src.contains("settings_from_env(") {
        for name in [
            "DRIFTGUARD_IAC_PRINCIPALS",
            "DRIFTGUARD_REMEDIATION_ROLES",
            "DRIFTGUARD_IGNORE_RULES",
        ] {
            reads.insert(name.to_owned());
        }
    }
    // `driftguard_aws::start_logging` reads the log filter from RUST_LOG.
    if src.contains("from_default_env") || src.contains("start_logging(") {
        reads.insert("RUST_LOG".to_owned());
    }
    // Cargo sets `CARGO_*` when it compiles (`env!("CARGO_PKG_VERSION")`): nothing to deploy.
    reads.retain(|v| {
        !(v.starts_with("AWS_") || v.starts_with("LAMBDA_") || v.starts_with('_') || v.starts_with("CARGO_"))
    });
    reads
}

/// The `StateLocations` the checks deploy with: two buckets, one with a nested prefix.
const STATE_LOCATIONS: [&str; 2] = ["s3://acme-tfstate/live/prod/", "s3://acme-network-tfstate/"];

/// The template as CloudFormation sees it once `AWS::LanguageExtensions` has run, with
/// [`STATE_LOCATIONS`] deployed: each `Fn::ForEach` over `StateLocations` written out.
fn template(root: &Path) -> Value {
    let text = std::fs::read_to_string(root.join("infra/template.yaml")).expect("infra/template.yaml");
    let mut template: Value = serde_yaml::from_str(&text).expect("infra/template.yaml parses");
    expand_for_each(&mut template, "StateLocations", &STATE_LOCATIONS);
    template
}

/// Writes out every `Fn::ForEach::<name>: [identifier, !Ref parameter, body]` of `Resources`
/// whose collection is `parameter`, with `values` as the parameter's value: one copy of the body
/// per value, `&{identifier}` in its keys replaced by the value's letters and digits,
/// `${identifier}` in its strings and `!Ref identifier` replaced by the value. A loop over
/// anything else fails the test, so a new loop is not silently left unchecked.
fn expand_for_each(template: &mut Value, parameter: &str, values: &[&str]) {
    fn substitute(v: &Value, id: &str, value: &str) -> Value {
        let plain: String = value.chars().filter(char::is_ascii_alphanumeric).collect();
        match v {
            Value::String(s) => Value::String(s.replace(&format!("${{{id}}}"), value)),
            Value::Sequence(items) => Value::Sequence(items.iter().map(|i| substitute(i, id, value)).collect()),
            Value::Mapping(m) => Value::Mapping(
                m.iter()
                    .map(|(k, v)| {
                        let k = match k {
                            Value::String(k) => Value::String(k.replace(&format!("&{{{id}}}"), &plain)),
                            other => other.clone(),
                        };
                        (k, substitute(v, id, value))
                    })
                    .collect(),
            ),
            Value::Tagged(t) if t.tag == "!Ref" && t.value.as_str() == Some(id) => Value::String(value.to_owned()),
            Value::Tagged(t) => Value::Tagged(Box::new(serde_yaml::value::TaggedValue {
                tag: t.tag.clone(),
                value: substitute(&t.value, id, value),
            })),
            other => other.clone(),
        }
    }
    let Some(resources) = template.get_mut("Resources").and_then(Value::as_mapping_mut) else {
        return;
    };
    let loops: Vec<Value> = resources
        .keys()
        .filter(|k| k.as_str().is_some_and(|k| k.starts_with("Fn::ForEach::")))
        .cloned()
        .collect();
    for key in loops {
        let Some(Value::Sequence(parts)) = resources.remove(&key) else {
            panic!("{key:?}: a Fn::ForEach is [identifier, collection, body]");
        };
        let [id, collection, Value::Mapping(body)] = parts.as_slice() else {
            panic!("{key:?}: a Fn::ForEach is [identifier, collection, body]");
        };
        let id = id.as_str().expect("a Fn::ForEach identifier is a string");
        assert!(
            is_ref(collection, parameter),
            "{key:?} loops over {collection:?}, not {parameter}"
        );
        for value in values {
            for (k, v) in body {
                let Value::Mapping(one) = substitute(
                    &Value::Mapping([(k.clone(), v.clone())].into_iter().collect()),
                    id,
                    value,
                ) else {
                    unreachable!("a mapping substitutes to a mapping")
                };
                for (k, v) in one {
                    assert!(resources.insert(k.clone(), v).is_none(), "{key:?} writes {k:?} twice");
                }
            }
        }
    }
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

// --- Trust boundaries: who may put what on the bus, which rules take DriftGuard's own events,
// the public function URL, and who may touch which keys of the table (infra/README.md, "Trust
// model"). Each check returns the problems it finds, so a test can also show it catches them.

/// The detail-types of the change events spokes forward (the rules' patterns).
const CHANGE_DETAIL_TYPES: [&str; 4] = [
    "AWS API Call via CloudTrail",
    "AWS Console Action via CloudTrail",
    "AWS Service Event via CloudTrail",
    "Config Configuration Item Change",
];

/// `v` without its YAML tag, and the tag (`Ref`, `GetAtt`, `If`, ...) when there was one.
fn untag(v: &Value) -> (Option<String>, &Value) {
    match v {
        Value::Tagged(t) => (Some(t.tag.to_string().trim_start_matches('!').to_owned()), &t.value),
        other => (None, other),
    }
}

/// True for `!Ref name` and `{Ref: name}`.
fn is_ref(v: &Value, name: &str) -> bool {
    match untag(v) {
        (Some(tag), inner) => tag == "Ref" && inner.as_str() == Some(name),
        (None, inner) => str_of(inner.get("Ref")) == Some(name),
    }
}

/// A scalar or a list of scalars, as strings (absent: empty).
fn strings(v: Option<&Value>) -> Vec<String> {
    match v.map(|v| untag(v).1) {
        Some(Value::Sequence(items)) => items
            .iter()
            .filter_map(|i| untag(i).1.as_str().map(str::to_owned))
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => Vec::new(),
    }
}

/// The resources of type `ty`, by logical id.
fn resources_of<'t>(template: &'t Value, ty: &str) -> Vec<(String, &'t Value)> {
    template
        .get("Resources")
        .and_then(Value::as_mapping)
        .map(|m| {
            m.iter()
                .filter(|(_, r)| str_of(r.get("Type")) == Some(ty))
                .map(|(id, r)| (id.as_str().unwrap_or("?").to_owned(), r))
                .collect()
        })
        .unwrap_or_default()
}

/// A policy statement list: a statement, a list of them, and `!If [c, statement, NoValue]`
/// entries (taken as the statement, the case where the condition holds).
fn statements(v: Option<&Value>) -> Vec<&Value> {
    fn one(s: &Value) -> Option<&Value> {
        match untag(s) {
            (Some(tag), Value::Sequence(branches)) if tag == "If" => {
                branches.get(1).filter(|b| !is_ref(b, "AWS::NoValue"))
            }
            (_, inner) => Some(inner),
        }
    }
    match v.map(|v| untag(v).1) {
        Some(Value::Sequence(items)) => items.iter().filter_map(one).collect(),
        Some(single @ Value::Mapping(_)) => vec![single],
        _ => Vec::new(),
    }
}

/// Every problem with the bus policies: a statement that lets other accounts `PutEvents`
/// must admit only the CloudTrail and Config change events (`aws.*` sources, their four
/// detail-types), for every entry of a batch and never vacuously.
fn bus_policy_problems(template: &Value) -> Vec<String> {
    let mut out = Vec::new();
    let policies = resources_of(template, "AWS::Events::EventBusPolicy");
    if policies.is_empty() {
        out.push("no AWS::Events::EventBusPolicy: spokes in other accounts could not forward".into());
    }
    for (id, policy) in policies {
        for statement in statements(get(policy, &["Properties", "Statement"])) {
            let actions = strings(statement.get("Action"));
            if !actions.iter().any(|a| a == "events:PutEvents" || a == "events:*") {
                continue;
            }
            let condition = statement.get("Condition");
            let key =
                |operator: &str, key: &str| strings(condition.and_then(|c| c.get(operator)).and_then(|o| o.get(key)));
            if key("StringEquals", "aws:PrincipalOrgID").is_empty() {
                out.push(format!(
                    "{id}: PutEvents is not limited to the organisation (aws:PrincipalOrgID)"
                ));
            }
            let sources = key("ForAllValues:StringLike", "events:source");
            if sources != ["aws.*"] {
                out.push(format!(
                    "{id}: PutEvents admits sources {sources:?}, expected only [\"aws.*\"] under ForAllValues:StringLike"
                ));
            }
            let mut types = key("ForAllValues:StringEquals", "events:detail-type");
            types.sort();
            let mut want: Vec<String> = CHANGE_DETAIL_TYPES.iter().map(|s| s.to_string()).collect();
            want.sort();
            if types != want {
                out.push(format!(
                    "{id}: PutEvents admits detail-types {types:?}, expected exactly {want:?} under ForAllValues:StringEquals"
                ));
            }
            for k in ["events:source", "events:detail-type"] {
                if key("Null", k) != ["false"] {
                    out.push(format!(
                        "{id}: no Null test on {k}: ForAllValues holds vacuously when the key is absent"
                    ));
                }
            }
        }
    }
    out
}

/// Every event pattern of the template: `AWS::Events::Rule` patterns and the EventBridge rules
/// SAM functions declare, named `resource` or `function.event`.
fn event_patterns(template: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for (id, rule) in resources_of(template, "AWS::Events::Rule") {
        if let Some(pattern) = get(rule, &["Properties", "EventPattern"]) {
            out.push((id, pattern));
        }
    }
    for (id, function) in resources_of(template, "AWS::Serverless::Function") {
        let Some(events) = get(function, &["Properties", "Events"]).and_then(Value::as_mapping) else {
            continue;
        };
        for (name, event) in events {
            if matches!(str_of(event.get("Type")), Some("EventBridgeRule" | "CloudWatchEvent")) {
                if let Some(pattern) = get(event, &["Properties", "Pattern"]) {
                    out.push((format!("{id}.{}", name.as_str().unwrap_or("?")), pattern));
                }
            }
        }
    }
    out
}

/// True when a pattern's `source` admits only AWS services (`[{prefix: "aws."}]`).
fn aws_sources_only(pattern: &Value) -> bool {
    match pattern.get("source").and_then(Value::as_sequence) {
        Some(matchers) if !matchers.is_empty() => matchers
            .iter()
            .all(|m| str_of(m.get("prefix")) == Some("aws.") || m.as_str().is_some_and(|s| s.starts_with("aws."))),
        _ => false,
    }
}

/// Every rule that can match DriftGuard's own events (any rule whose source is not limited to
/// `aws.`) must also match `account: [!Ref AWS::AccountId]`, the central account only.
fn own_event_rule_problems(template: &Value) -> (usize, Vec<String>) {
    let mut own = 0;
    let mut out = Vec::new();
    for (name, pattern) in event_patterns(template) {
        if aws_sources_only(pattern) {
            continue;
        }
        own += 1;
        let accounts = pattern.get("account").and_then(Value::as_sequence);
        let central_only = accounts.is_some_and(|a| a.len() == 1 && is_ref(&a[0], "AWS::AccountId"));
        if !central_only {
            out.push(format!(
                "{name}: matches DriftGuard's own events from any account (no account: [!Ref AWS::AccountId])"
            ));
        }
    }
    (own, out)
}

#[test]
fn member_accounts_may_put_only_cloudtrail_and_config_events_on_the_bus() {
    let template = template(&workspace());
    let found = bus_policy_problems(&template);
    assert!(found.is_empty(), "{}", found.join("\n"));
    // The rules forward exactly what the policy admits; the one rule on S3's events (iac-sync's
    // state writes) takes this account's object events only.
    for (name, pattern) in event_patterns(&template) {
        if strings(pattern.get("source")) == ["aws.s3"] {
            assert_eq!(
                strings(pattern.get("detail-type")),
                ["Object Created", "Object Deleted"],
                "{name}"
            );
            let accounts = pattern.get("account").and_then(Value::as_sequence);
            assert!(
                accounts.is_some_and(|a| a.len() == 1 && is_ref(&a[0], "AWS::AccountId")),
                "{name}: S3 events from any account"
            );
        } else if aws_sources_only(pattern) {
            let mut types = strings(pattern.get("detail-type"));
            types.sort();
            let mut want = CHANGE_DETAIL_TYPES.to_vec();
            want.sort();
            assert_eq!(types, want, "{name}");
        }
    }
}

#[test]
fn rules_on_driftguard_events_match_the_central_account_only() {
    let (own, found) = own_event_rule_problems(&template(&workspace()));
    assert!(own >= 1, "no rule takes DriftGuard's own events: the check is hollow");
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn an_open_bus_policy_and_an_any_account_rule_are_caught() {
    let mut broken = template(&workspace());
    for (_, r) in broken["Resources"].as_mapping_mut().expect("Resources").iter_mut() {
        if r["Type"] == "AWS::Events::EventBusPolicy" {
            // The policy as it was: the organisation, any source, any detail-type.
            let condition = r["Properties"]["Statement"]["Condition"]
                .as_mapping_mut()
                .expect("Condition");
            condition.retain(|k, _| k == "StringEquals");
        }
        if let Some(events) = r["Properties"]["Events"].as_mapping_mut() {
            for (_, e) in events.iter_mut() {
                if let Some(p) = e["Properties"]["Pattern"].as_mapping_mut() {
                    p.remove("account");
                }
            }
        }
    }
    let found = bus_policy_problems(&broken).join("\n");
    for expected in [
        "PutEvents admits sources []",
        "PutEvents admits detail-types []",
        "no Null test on events:source",
    ] {
        assert!(found.contains(expected), "expected {expected:?} in:\n{found}");
    }
    let (_, found) = own_event_rule_problems(&broken);
    assert!(
        found.iter().any(|p| p.starts_with("NotifySlackFunction.DriftEvents: matches DriftGuard's own events from any account")),
        "{found:?}"
    );
}

/// Every problem with the functions behind a public URL (`AuthType: NONE`): each must reserve
/// concurrency through a Number parameter whose default reserves some.
fn public_url_problems(template: &Value) -> (usize, Vec<String>) {
    let mut public = 0;
    let mut out = Vec::new();
    for (id, function) in resources_of(template, "AWS::Serverless::Function") {
        if str_of(get(function, &["Properties", "FunctionUrlConfig", "AuthType"])) != Some("NONE") {
            continue;
        }
        public += 1;
        let Some(reserved) = get(function, &["Properties", "ReservedConcurrentExecutions"]) else {
            out.push(format!(
                "{id}: a public URL without ReservedConcurrentExecutions can take the account's concurrency"
            ));
            continue;
        };
        // `!Ref P`, or `!If [condition, !Ref P, !Ref AWS::NoValue]`.
        let reference = match untag(reserved) {
            (Some(tag), Value::Sequence(branches)) if tag == "If" => branches.get(1),
            _ => Some(reserved),
        };
        let parameter = reference.and_then(|r| match untag(r) {
            (Some(tag), Value::String(name)) if tag == "Ref" => Some(name.clone()),
            _ => None,
        });
        let Some(parameter) = parameter else {
            out.push(format!(
                "{id}: ReservedConcurrentExecutions is not a template parameter: {reserved:?}"
            ));
            continue;
        };
        let p = get(template, &["Parameters", &parameter]);
        let default = p.and_then(|p| p.get("Default")).and_then(Value::as_u64);
        if str_of(p.and_then(|p| p.get("Type"))) != Some("Number") || !default.is_some_and(|d| (1..=100).contains(&d)) {
            out.push(format!(
                "{id}: parameter {parameter} must be a Number whose default reserves 1 to 100 executions, got {p:?}"
            ));
        }
    }
    (public, out)
}

#[test]
fn the_public_slack_url_has_reserved_concurrency() {
    let template = template(&workspace());
    let (public, found) = public_url_problems(&template);
    assert!(public >= 1, "no function has a public URL: the check is hollow");
    assert!(found.is_empty(), "{}", found.join("\n"));
    let default = get(&template, &["Parameters", "SlackActionsReservedConcurrency", "Default"]).and_then(Value::as_u64);
    assert_eq!(default, Some(5));

    let mut broken = template.clone();
    broken["Resources"]["SlackActionsFunction"]["Properties"]
        .as_mapping_mut()
        .expect("properties")
        .remove("ReservedConcurrentExecutions");
    let (_, found) = public_url_problems(&broken);
    assert_eq!(
        found,
        ["SlackActionsFunction: a public URL without ReservedConcurrentExecutions can take the account's concurrency"]
    );
}

/// One statement of a role that grants DynamoDB actions.
#[derive(Debug)]
struct TableGrant {
    role: String,
    sid: String,
    actions: Vec<String>,
    resources: Vec<String>,
    /// `dynamodb:LeadingKeys` patterns under `ForAllValues:StringLike`; `None` when the
    /// statement has no such condition (every key).
    leading: Option<Vec<String>>,
    /// Other condition operators on `dynamodb:LeadingKeys` (each one a problem).
    other_operators: Vec<String>,
}

/// The DynamoDB statements of every role (statements under `!If` included).
fn table_grants(template: &Value) -> Vec<TableGrant> {
    let mut out = Vec::new();
    for (role, resource) in resources_of(template, "AWS::IAM::Role") {
        for policy in get(resource, &["Properties", "Policies"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            for statement in statements(get(policy, &["PolicyDocument", "Statement"])) {
                let actions = strings(statement.get("Action"));
                if !actions.iter().any(|a| a.starts_with("dynamodb:")) {
                    continue;
                }
                let resources = match statement.get("Resource").map(untag) {
                    Some((Some(tag), Value::String(s))) => vec![format!("!{tag} {s}")],
                    Some((_, Value::String(s))) => vec![s.clone()],
                    Some((_, Value::Sequence(items))) => items
                        .iter()
                        .map(|i| match untag(i) {
                            (Some(tag), Value::String(s)) => format!("!{tag} {s}"),
                            (_, other) => format!("{other:?}"),
                        })
                        .collect(),
                    other => vec![format!("{other:?}")],
                };
                let condition = statement.get("Condition").and_then(Value::as_mapping);
                let mut leading = None;
                let mut other_operators = Vec::new();
                for (operator, keys) in condition.into_iter().flatten() {
                    let operator = operator.as_str().unwrap_or("?");
                    if let Some(patterns) = keys.get("dynamodb:LeadingKeys") {
                        if operator == "ForAllValues:StringLike" {
                            leading = Some(strings(Some(patterns)));
                        } else {
                            other_operators.push(operator.to_owned());
                        }
                    }
                }
                out.push(TableGrant {
                    role: role.clone(),
                    sid: str_of(statement.get("Sid")).unwrap_or("?").to_owned(),
                    actions,
                    resources,
                    leading,
                    other_operators,
                });
            }
        }
    }
    out
}

/// IAM's `StringLike`: `*` any run of characters, `?` one character.
fn string_like(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether `role` may call `action` on an item whose partition key is `pk`.
fn may(grants: &[TableGrant], role: &str, action: &str, pk: &str) -> bool {
    grants.iter().any(|g| {
        g.role == role
            && g.actions.iter().any(|a| a == action || a == "dynamodb:*")
            && g.other_operators.is_empty()
            && g.leading
                .as_ref()
                .is_none_or(|patterns| patterns.iter().any(|p| string_like(p, pk)))
    })
}

/// Actions that write an item.
const WRITES: [&str; 4] = [
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
    "dynamodb:DeleteItem",
    "dynamodb:BatchWriteItem",
];

/// The key layout (ARCHITECTURE.md, "The DynamoDB table"): role, the partition-key prefixes it
/// writes, and those it only reads.
const OWNERS: [(&str, &[&str], &[&str]); 6] = [
    // The current likelihood weights (`driftguard weights` writes them, from the CLI); the
    // inventory version and state records iac-sync keeps.
    (
        "IngestRole",
        &["FINDING#", "RES#", "EVENT#", "OUTBOX#", "CONFIG#"],
        &["WEIGHTS#", "IAC#"],
    ),
    // State records and the version (IAC#), resource items (INV#); and, to resolve a codified
    // finding, what ingest's store code writes (see SHARED_WRITES).
    (
        "IacSyncRole",
        &["IAC#", "INV#", "FINDING#", "RES#", "EVENT#", "OUTBOX#"],
        &[],
    ),
    // The sweep stores through the same store code as ingest, and keeps its runs (SWEEP#); it
    // scores with the current weights too.
    (
        "ReconcileRole",
        &["FINDING#", "RES#", "EVENT#", "OUTBOX#", "SWEEP#"],
        &["WEIGHTS#", "CONFIG#"],
    ),
    // Its requests, approvals and trail, the hourly cap; and, to accept a drift, what ingest's
    // store code writes to resolve a finding (see SHARED_WRITES).
    (
        "RemediateRole",
        &["REMEDIATION#", "REMCAP#", "FINDING#", "RES#", "EVENT#", "OUTBOX#"],
        &[],
    ),
    (
        "NotifySlackRole",
        &["SLACK#", "SLACKMSG#", "SLACKGROUP#", "DIGEST#"],
        // The finding of every event; the request an approval prompt is for.
        &["FINDING#", "REMEDIATION#", "CONFIG#"],
    ),
    (
        "SlackActionsRole",
        &["DECISION#", "SLACKREQ#"],
        // The clicked finding and its message; for Approve, the prompt and the request.
        &["FINDING#", "SLACKMSG#", "REMEDIATION#"],
    ),
];

/// The prefixes two roles both write, and why: remediate's accept resolves a finding through the
/// same store code as ingest (`DynamoStore`: the finding, its resource record, the outbox, the
/// processed marker). Any other overlap is a mistake.
const SHARED_WRITES: [(&str, &str, &[&str]); 6] = [
    (
        "IngestRole",
        "RemediateRole",
        &["FINDING#", "RES#", "EVENT#", "OUTBOX#"],
    ),
    // The sweep's findings go through the same store code as ingest's.
    (
        "IngestRole",
        "ReconcileRole",
        &["FINDING#", "RES#", "EVENT#", "OUTBOX#"],
    ),
    (
        "RemediateRole",
        "ReconcileRole",
        &["FINDING#", "RES#", "EVENT#", "OUTBOX#"],
    ),
    // A codified finding is resolved through the same store code too.
    ("IngestRole", "IacSyncRole", &["FINDING#", "RES#", "EVENT#", "OUTBOX#"]),
    (
        "RemediateRole",
        "IacSyncRole",
        &["FINDING#", "RES#", "EVENT#", "OUTBOX#"],
    ),
    (
        "ReconcileRole",
        "IacSyncRole",
        &["FINDING#", "RES#", "EVENT#", "OUTBOX#"],
    ),
];

/// The one statement allowed to query an index: iac-sync reads the open findings (GSI1, whose
/// partitions are `OPEN#<severity>`) to find those a new declaration codifies. Read-only: only
/// `dynamodb:Query`, only on `gsi1`, only `OPEN#*` partitions.
const READ_ONLY_INDEX_QUERIES: [(&str, &str); 1] = [("IacSyncRole", "OpenFindings")];

/// The one statement allowed a Scan (which no partition-key condition can limit): notify-slack's
/// weekly hotspot digest reads every finding. Read-only, and only `dynamodb:Scan`.
const READ_ONLY_SCANS: [(&str, &str); 1] = [("NotifySlackRole", "HotspotDigestScan")];

/// Everything wrong with who may touch which keys of the table.
fn table_problems(template: &Value) -> Vec<String> {
    let grants = table_grants(template);
    let mut out = Vec::new();
    for g in &grants {
        let at = format!("{}/{}", g.role, g.sid);
        if READ_ONLY_SCANS.contains(&(g.role.as_str(), g.sid.as_str())) {
            if g.actions != ["dynamodb:Scan"] {
                out.push(format!(
                    "{at}: a scan grant holds {:?}, not only dynamodb:Scan",
                    g.actions
                ));
            }
            continue;
        }
        if READ_ONLY_INDEX_QUERIES.contains(&(g.role.as_str(), g.sid.as_str())) {
            let open_only = g.leading.as_ref().is_some_and(|p| p == &["OPEN#*".to_owned()]);
            if g.actions != ["dynamodb:Query"] || !open_only || g.resources != ["!Sub ${Table.Arn}/index/gsi1"] {
                out.push(format!(
                    "{at}: an index grant holds {:?} on {:?} for {:?}, not only dynamodb:Query on gsi1's OPEN#* partitions",
                    g.actions, g.resources, g.leading
                ));
            }
            continue;
        }
        match &g.leading {
            None => out.push(format!(
                "{at}: {:?} without a ForAllValues:StringLike dynamodb:LeadingKeys condition reaches every key",
                g.actions
            )),
            Some(patterns) if patterns.is_empty() => out.push(format!("{at}: empty dynamodb:LeadingKeys")),
            Some(patterns) => {
                for p in patterns {
                    let prefix = p.strip_suffix('*').unwrap_or("");
                    if !prefix.ends_with('#') || prefix.contains(['*', '?']) {
                        out.push(format!("{at}: LeadingKeys pattern {p:?} is not one PREFIX#*"));
                    }
                }
            }
        }
        if !g.other_operators.is_empty() {
            out.push(format!(
                "{at}: LeadingKeys under {:?}; only ForAllValues:StringLike is read here",
                g.other_operators
            ));
        }
        // Scan and the batch / PartiQL calls have no single partition key to check, and
        // ForAllValues over an absent key holds: they must not be granted at all, but for the
        // one read-only Scan named in READ_ONLY_SCANS (checked above).
        for a in &g.actions {
            let scoped = matches!(
                a.as_str(),
                "dynamodb:GetItem"
                    | "dynamodb:PutItem"
                    | "dynamodb:UpdateItem"
                    | "dynamodb:DeleteItem"
                    | "dynamodb:Query"
            );
            if !scoped {
                out.push(format!("{at}: {a} cannot be limited to partition keys"));
            }
        }
        // The table only: an index's partition keys (OPEN#..., RES#...) are not the table's.
        if g.resources != ["!GetAtt Table.Arn"] {
            out.push(format!(
                "{at}: resources {:?}, expected only the table (no index)",
                g.resources
            ));
        }
    }
    let every: Vec<&str> = OWNERS
        .iter()
        .flat_map(|(_, w, r)| w.iter().chain(r.iter()).copied())
        .collect();
    for (role, writes, reads) in OWNERS {
        for prefix in &every {
            let pk = format!("{prefix}dg-0123456789abcdef");
            let owns = writes.contains(prefix);
            for action in WRITES {
                if may(&grants, role, action, &pk) && !owns {
                    out.push(format!("{role} may {action} {pk}, a key it does not own"));
                }
            }
            // Owning a key is writing it some way: the hourly cap (REMCAP#) is only ever counted
            // up with a conditional UpdateItem, never put.
            if owns && !WRITES.iter().any(|action| may(&grants, role, action, &pk)) {
                out.push(format!("{role} may not write {pk}, a key it owns"));
            }
            let reads_it = owns || reads.contains(prefix);
            if may(&grants, role, "dynamodb:GetItem", &pk) != reads_it {
                out.push(format!(
                    "{role}: GetItem {pk} is {}, expected {}",
                    if reads_it { "denied" } else { "allowed" },
                    if reads_it { "allowed" } else { "denied" }
                ));
            }
        }
    }
    for role in grants.iter().map(|g| g.role.as_str()) {
        if !OWNERS.iter().any(|(r, _, _)| *r == role) {
            out.push(format!(
                "{role} reaches the table but owns no keys in this test's layout"
            ));
        }
    }
    out
}

#[test]
fn each_role_touches_only_the_table_keys_it_owns() {
    let template = template(&workspace());
    let grants = table_grants(&template);
    assert!(grants.len() >= 3, "the scan found too few table statements: {grants:?}");
    let found = table_problems(&template);
    assert!(found.is_empty(), "{}", found.join("\n"));
    // The issue's case by name: a Slack click cannot overwrite a finding.
    assert!(!may(
        &grants,
        "SlackActionsRole",
        "dynamodb:PutItem",
        "FINDING#dg-1500731b7ee4b0bc"
    ));
    assert!(may(
        &grants,
        "SlackActionsRole",
        "dynamodb:GetItem",
        "FINDING#dg-1500731b7ee4b0bc"
    ));
    assert!(!may(
        &grants,
        "NotifySlackRole",
        "dynamodb:PutItem",
        "FINDING#dg-1500731b7ee4b0bc"
    ));
    // A prefix is not a prefix of a longer one: SLACK#* does not reach SLACKREQ#.
    assert!(!may(&grants, "NotifySlackRole", "dynamodb:PutItem", "SLACKREQ#v0=abc"));
    // No two roles write the same prefix, but for the store's, which accept shares with ingest.
    for (i, (a, wa, _)) in OWNERS.iter().enumerate() {
        for (b, wb, _) in &OWNERS[i + 1..] {
            let both: Vec<&str> = wa.iter().filter(|p| wb.contains(*p)).copied().collect();
            let allowed: &[&str] = SHARED_WRITES
                .iter()
                .find(|(x, y, _)| (x, y) == (a, b) || (y, x) == (a, b))
                .map_or(&[] as &[&str], |(_, _, prefixes)| *prefixes);
            assert_eq!(both, allowed, "{a} and {b} both write these prefixes");
        }
    }
    // Remediation cannot forge a Slack decision, nor a Slack click a remediation record.
    assert!(!may(
        &grants,
        "RemediateRole",
        "dynamodb:PutItem",
        "DECISION#dg-1500731b7ee4b0bc"
    ));
    assert!(!may(
        &grants,
        "SlackActionsRole",
        "dynamodb:PutItem",
        "REMEDIATION#dg-1500731b7ee4b0bc"
    ));
}

#[test]
fn a_table_grant_without_leading_keys_is_caught() {
    let mut broken = template(&workspace());
    // SlackActionsRole as it was: GetItem / PutItem / Query on the whole table.
    let statements = broken["Resources"]["SlackActionsRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .as_sequence_mut()
        .expect("statements");
    for s in statements.iter_mut() {
        if s["Sid"] == "TableOwnKeys" {
            s.as_mapping_mut().expect("statement").remove("Condition");
        }
    }
    let found = table_problems(&broken).join("\n");
    for expected in [
        "SlackActionsRole/TableOwnKeys: [\"dynamodb:GetItem\", \"dynamodb:PutItem\", \"dynamodb:Query\"] without a ForAllValues:StringLike dynamodb:LeadingKeys condition reaches every key",
        "SlackActionsRole may dynamodb:PutItem FINDING#dg-0123456789abcdef, a key it does not own",
    ] {
        assert!(found.contains(expected), "expected {expected:?} in:\n{found}");
    }
}

#[test]
fn string_like_matches_as_iam_does() {
    assert!(string_like("FINDING#*", "FINDING#dg-1"));
    assert!(string_like("FINDING#*", "FINDING#"));
    assert!(!string_like("FINDING#*", "XFINDING#dg-1"));
    assert!(!string_like("SLACK#*", "SLACKMSG#dg-1"));
    assert!(string_like("a?c*", "abcdef"));
    assert!(!string_like("a?c", "ac"));
}

// --- Remediation: the revert grants follow RevertResourceTypes, row by row of core's revert table
// (`plan::REVERTS`), on the central remediate role and on the spokes' member role; the member role
// trusts the central role only (infra/README.md, "Remediation").

fn spoke(root: &Path) -> Value {
    let text = std::fs::read_to_string(root.join("infra/spoke.yaml")).expect("infra/spoke.yaml");
    serde_yaml::from_str(&text).expect("infra/spoke.yaml parses")
}

/// What CloudFormation computes while it decides conditions.
#[derive(Debug, Clone, PartialEq)]
enum Cfn {
    Str(String),
    List(Vec<String>),
    Bool(bool),
}

/// The intrinsic function `v` calls, and its argument: `!Name arg`, `{Fn::Name: arg}`,
/// `{Ref: arg}`, `{Condition: arg}`.
fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((t.tag.to_string().trim_start_matches('!').to_owned(), &t.value)),
        Value::Mapping(m) if m.len() == 1 => {
            let (key, arg) = m.iter().next()?;
            let key = key.as_str()?;
            let name = match key.strip_prefix("Fn::") {
                Some(name) => name,
                None if key == "Ref" || key == "Condition" => key,
                None => return None,
            };
            Some((name.to_owned(), arg))
        }
        _ => None,
    }
}

/// One template's parameter values (defaults, then overrides) and conditions: enough to decide
/// its conditions and the `!If`s of its resources as CloudFormation would.
struct Eval<'t> {
    params: BTreeMap<String, Cfn>,
    conditions: Option<&'t Mapping>,
}

impl<'t> Eval<'t> {
    fn new(template: &'t Value, overrides: &[(&str, Cfn)]) -> Self {
        let mut params = BTreeMap::new();
        for (name, p) in template
            .get("Parameters")
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
        {
            let default = match p.get("Default") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                Some(Value::Bool(b)) => b.to_string(),
                _ => String::new(),
            };
            // CloudFormation trims each member of a CommaDelimitedList.
            let value = if str_of(p.get("Type")) == Some("CommaDelimitedList") {
                Cfn::List(default.split(',').map(|s| s.trim().to_owned()).collect())
            } else {
                Cfn::Str(default)
            };
            params.insert(name.as_str().unwrap_or("?").to_owned(), value);
        }
        for (name, value) in overrides {
            params.insert((*name).to_owned(), value.clone());
        }
        Eval {
            params,
            conditions: template.get("Conditions").and_then(Value::as_mapping),
        }
    }

    /// Whether the condition `name` holds.
    fn condition(&self, name: &str) -> Result<bool, String> {
        let expr = self
            .conditions
            .and_then(|c| c.get(name))
            .ok_or_else(|| format!("no condition {name}"))?;
        self.truth(expr).map_err(|e| format!("{name}: {e}"))
    }

    fn truth(&self, v: &Value) -> Result<bool, String> {
        match self.value(v)? {
            Cfn::Bool(b) => Ok(b),
            other => Err(format!("{other:?} is not a condition")),
        }
    }

    fn string(&self, v: &Value) -> Result<String, String> {
        match self.value(v)? {
            Cfn::Str(s) => Ok(s),
            other => Err(format!("{other:?} is not a string")),
        }
    }

    fn list(&self, v: &Value) -> Result<Vec<String>, String> {
        match self.value(v)? {
            Cfn::List(l) => Ok(l),
            other => Err(format!("{other:?} is not a list")),
        }
    }

    /// The value of a condition function, or of the string functions conditions use.
    fn value(&self, v: &Value) -> Result<Cfn, String> {
        let Some((name, arg)) = intrinsic(v) else {
            return match v {
                Value::String(s) => Ok(Cfn::Str(s.clone())),
                Value::Number(n) => Ok(Cfn::Str(n.to_string())),
                Value::Sequence(items) => items
                    .iter()
                    .map(|i| self.string(i))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Cfn::List),
                other => Err(format!("cannot evaluate {other:?}")),
            };
        };
        let args: &[Value] = match arg.as_sequence() {
            Some(items) => items.as_slice(),
            None => &[],
        };
        match (name.as_str(), args) {
            ("Ref", _) => {
                let p = arg.as_str().ok_or("Ref of a non-string")?;
                self.params.get(p).cloned().ok_or_else(|| format!("no parameter {p}"))
            }
            ("Condition", _) => self
                .condition(arg.as_str().ok_or("Condition of a non-string")?)
                .map(Cfn::Bool),
            ("Not", [c]) => Ok(Cfn::Bool(!self.truth(c)?)),
            ("And", cs) if !cs.is_empty() => {
                let all = cs.iter().map(|c| self.truth(c)).collect::<Result<Vec<bool>, _>>()?;
                Ok(Cfn::Bool(all.iter().all(|b| *b)))
            }
            ("Or", cs) if !cs.is_empty() => {
                let all = cs.iter().map(|c| self.truth(c)).collect::<Result<Vec<bool>, _>>()?;
                Ok(Cfn::Bool(all.iter().any(|b| *b)))
            }
            ("Equals", [a, b]) => Ok(Cfn::Bool(self.value(a)? == self.value(b)?)),
            ("Join", [separator, items]) => Ok(Cfn::Str(self.list(items)?.join(self.string(separator)?.as_str()))),
            ("Split", [separator, text]) => Ok(Cfn::List(
                self.string(text)?
                    .split(self.string(separator)?.as_str())
                    .map(str::to_owned)
                    .collect(),
            )),
            ("Select", [index, items]) => {
                let i: usize = self.string(index)?.parse().map_err(|e| format!("Select index: {e}"))?;
                let items = self.list(items)?;
                items
                    .get(i)
                    .cloned()
                    .map(Cfn::Str)
                    .ok_or_else(|| format!("Select {i} of {items:?}"))
            }
            (other, _) => Err(format!("!{other} {arg:?} is not evaluated here")),
        }
    }

    /// `v` with its `!If`s decided (the branch the condition picks); `None` for
    /// `!Ref AWS::NoValue`.
    fn resolve<'v>(&self, v: &'v Value) -> Result<Option<&'v Value>, String> {
        if is_ref(v, "AWS::NoValue") {
            return Ok(None);
        }
        match intrinsic(v) {
            Some((name, arg)) if name == "If" => match arg.as_sequence().map(Vec::as_slice) {
                Some([condition, yes, no]) => {
                    let condition = condition.as_str().ok_or("!If names no condition")?;
                    self.resolve(if self.condition(condition)? { yes } else { no })
                }
                _ => Err(format!("malformed !If {arg:?}")),
            },
            _ => Ok(Some(v)),
        }
    }
}

#[test]
fn the_condition_evaluator_reads_list_membership_as_cloudformation_does() {
    // The conditions split ",<types>," on ",<type>,": the first part is the whole text exactly
    // when the type is not listed.
    let template: Value = serde_yaml::from_str(
        r#"
Parameters:
  Types: { Type: CommaDelimitedList, Default: none }
Conditions:
  All: !Not [!Equals [!Select [0, !Split [",*,", !Join ["", [",", !Join [",", !Ref Types], ","]]]], !Join ["", [",", !Join [",", !Ref Types], ","]]]]
  Role: !Or
    - !Condition All
    - !Not [!Equals [!Select [0, !Split [",AWS::IAM::Role,", !Join ["", [",", !Join [",", !Ref Types], ","]]]], !Join ["", [",", !Join [",", !Ref Types], ","]]]]
  Ec2: !Not [!Equals [!Select [0, !Split [",AWS::EC2::", !Join ["", [",", !Join [",", !Ref Types], ","]]]], !Join ["", [",", !Join [",", !Ref Types], ","]]]]
"#,
    )
    .expect("yaml");
    let holds = |types: &[&str], condition: &str| {
        let list = Cfn::List(types.iter().map(|t| (*t).to_owned()).collect());
        Eval::new(&template, &[("Types", list)]).condition(condition)
    };
    assert_eq!(holds(&["none"], "Role"), Ok(false));
    assert_eq!(holds(&["AWS::IAM::Role"], "Role"), Ok(true));
    assert_eq!(holds(&["AWS::S3::Bucket", "AWS::IAM::Role"], "Role"), Ok(true));
    assert_eq!(
        holds(&["AWS::IAM::RolePolicy"], "Role"),
        Ok(false),
        "a longer name is another type"
    );
    assert_eq!(holds(&["AWS::IAM::User"], "Role"), Ok(false));
    assert_eq!(holds(&["*"], "Role"), Ok(true));
    assert_eq!(holds(&["AWS::EC2::Instance"], "Ec2"), Ok(true));
    assert_eq!(holds(&["AWS::S3::Bucket"], "Ec2"), Ok(false));
    assert_eq!(holds(&["none"], "All"), Ok(false));
    assert_eq!(holds(&["none"], "Missing"), Err("no condition Missing".to_owned()));
}

/// The services of the revert table's actions.
const REVERT_SERVICES: [&str; 4] = ["ec2:", "s3:", "iam:", "lambda:"];

/// The actions of the revert services that `role`'s inline policies allow under `eval`: the
/// role's own condition and every `!If` on its policies and statements decided as CloudFormation
/// would.
fn revert_actions_granted(template: &Value, role: &str, eval: &Eval<'_>) -> Result<BTreeSet<String>, String> {
    let resource = get(template, &["Resources", role]).ok_or_else(|| format!("no resource {role}"))?;
    let mut out = BTreeSet::new();
    if let Some(condition) = str_of(resource.get("Condition")) {
        if !eval.condition(condition)? {
            return Ok(out);
        }
    }
    let Some(policies) = get(resource, &["Properties", "Policies"]) else {
        return Ok(out);
    };
    let Some(policies) = eval.resolve(policies)? else {
        return Ok(out);
    };
    for policy in policies.as_sequence().into_iter().flatten() {
        let Some(policy) = eval.resolve(policy)? else {
            continue;
        };
        let Some(statements) = get(policy, &["PolicyDocument", "Statement"]) else {
            continue;
        };
        let Some(statements) = eval.resolve(statements)? else {
            continue;
        };
        let listed: Vec<&Value> = match statements.as_sequence() {
            Some(items) => items.iter().collect(),
            None => vec![statements],
        };
        for statement in listed {
            let Some(statement) = eval.resolve(statement)? else {
                continue;
            };
            if str_of(statement.get("Effect")) != Some("Allow") {
                continue;
            }
            out.extend(
                strings(statement.get("Action"))
                    .into_iter()
                    .filter(|a| REVERT_SERVICES.iter().any(|s| a.starts_with(*s))),
            );
        }
    }
    Ok(out)
}

/// The resource types `RevertResourceTypes` documents, each with its own condition.
const REVERT_TYPES: [&str; 7] = [
    "AWS::EC2::SecurityGroup",
    "AWS::S3::Bucket",
    "AWS::IAM::Role",
    "AWS::IAM::User",
    "AWS::EC2::Snapshot",
    "AWS::EC2::Image",
    "AWS::Lambda::Function",
];

/// Every case where `role` of `template` grants other revert actions than
/// `plan::actions_for(listed types)`: nothing listed, each type alone, an EC2 type with only its
/// tags to revert, a type with nothing to revert in place, two types, all of them, and `*`.
/// `fixed` sets other parameters (the spoke's EnableRemediation).
fn revert_grant_problems(template: &Value, role: &str, fixed: &[(&str, Cfn)]) -> Vec<String> {
    let mut cases: Vec<Vec<&str>> = vec![vec!["none"]];
    cases.extend(REVERT_TYPES.iter().map(|t| vec![*t]));
    cases.push(vec!["AWS::EC2::Instance"]);
    cases.push(vec!["AWS::RDS::DBInstance"]);
    cases.push(vec!["AWS::S3::Bucket", "AWS::IAM::User"]);
    cases.push(REVERT_TYPES.to_vec());
    cases.push(vec!["*"]);
    let mut out = Vec::new();
    for types in cases {
        let mut params: Vec<(&str, Cfn)> = fixed.to_vec();
        params.push((
            "RevertResourceTypes",
            Cfn::List(types.iter().map(|t| (*t).to_owned()).collect()),
        ));
        let eval = Eval::new(template, &params);
        let want: BTreeSet<String> = actions_for(&types).into_iter().map(str::to_owned).collect();
        match revert_actions_granted(template, role, &eval) {
            Err(e) => out.push(format!("{role} with RevertResourceTypes={}: {e}", types.join(","))),
            Ok(got) if got != want => out.push(format!(
                "{role} with RevertResourceTypes={}: grants {:?} beyond the rows' actions and lacks {:?}",
                types.join(","),
                got.difference(&want).collect::<Vec<_>>(),
                want.difference(&got).collect::<Vec<_>>()
            )),
            Ok(_) => {}
        }
    }
    out
}

/// `v` as it is when its `!If` holds, with that condition; `v` itself when it is no `!If`.
fn when_true(v: &Value) -> (Option<String>, &Value) {
    match intrinsic(v) {
        Some((name, arg)) if name == "If" => match arg.as_sequence().map(Vec::as_slice) {
            Some([condition, yes, _]) => (condition.as_str().map(str::to_owned), yes),
            _ => (None, v),
        },
        _ => (None, v),
    }
}

/// Every statement of `role`'s inline policies: the `!If` condition it is under (if any) and
/// its actions. A policy list under `!If` is read as when its condition holds.
fn role_statements(template: &Value, role: &str) -> Vec<(Option<String>, Vec<String>)> {
    let mut out = Vec::new();
    let policies = get(template, &["Resources", role, "Properties", "Policies"]).map(|p| when_true(p).1);
    for policy in policies.and_then(Value::as_sequence).into_iter().flatten() {
        let statements = get(when_true(policy).1, &["PolicyDocument", "Statement"]);
        for statement in statements.and_then(Value::as_sequence).into_iter().flatten() {
            let (condition, statement) = when_true(statement);
            out.push((condition, strings(statement.get("Action"))));
        }
    }
    out
}

#[test]
fn remediation_role_grants_exactly_the_enabled_rows() {
    let root = workspace();
    let template = template(&root);
    let spoke = spoke(&root);
    let enabled = [("EnableRemediation", Cfn::Str("true".into()))];
    for (file, doc, role, fixed) in [
        ("template.yaml", &template, "RemediateRole", &[][..]),
        ("spoke.yaml", &spoke, "RemediationRole", &enabled[..]),
    ] {
        let found = revert_grant_problems(doc, role, fixed);
        assert!(found.is_empty(), "infra/{file}:\n{}", found.join("\n"));
        // The tags row (type AWS::EC2::*) has its own statements (DescribeTags takes no resource,
        // the changes do) under its own condition: listing any EC2 type grants its tags through
        // them, never through that type's statement.
        let statements = role_statements(doc, role);
        let tags: Vec<&(Option<String>, Vec<String>)> = statements
            .iter()
            .filter(|(_, actions)| actions.iter().any(|a| a == "ec2:CreateTags"))
            .collect();
        assert_eq!(
            tags.len(),
            1,
            "infra/{file}: one {role} statement grants the tags actions: {tags:?}"
        );
        let condition = tags[0].0.as_deref().expect("the tags statement is under !If");
        let under_it: BTreeSet<&str> = statements
            .iter()
            .filter(|(c, _)| c.as_deref() == Some(condition))
            .flat_map(|(_, actions)| actions.iter().map(String::as_str))
            .collect();
        let want: BTreeSet<&str> = actions_for(&["AWS::EC2::*"]).into_iter().collect();
        assert_eq!(
            under_it, want,
            "infra/{file}: condition {condition} grants the tags row, and only it"
        );
    }

    // The spoke's role exists only with EnableRemediation=true.
    let eval = Eval::new(&spoke, &[("RevertResourceTypes", Cfn::List(vec!["*".into()]))]);
    assert_eq!(
        revert_actions_granted(&spoke, "RemediationRole", &eval),
        Ok(BTreeSet::new())
    );

    // The function executes the reverts of the very list the grants follow.
    let types = Cfn::List(vec!["AWS::EC2::SecurityGroup".into(), "AWS::S3::Bucket".into()]);
    let eval = Eval::new(&template, &[("RevertResourceTypes", types)]);
    let variable = get(
        &template,
        &[
            "Resources",
            "RemediateFunction",
            "Properties",
            "Environment",
            "Variables",
            "DRIFTGUARD_REVERT_RESOURCE_TYPES",
        ],
    )
    .expect("DRIFTGUARD_REVERT_RESOURCE_TYPES");
    assert_eq!(
        eval.string(variable),
        Ok("AWS::EC2::SecurityGroup,AWS::S3::Bucket".to_owned())
    );

    // The check can fail: an action no row needs, and a statement left unconditional.
    let broken = |condition: &str, change: fn(&mut Value)| {
        let mut broken = template.clone();
        let statements = broken["Resources"]["RemediateRole"]["Properties"]["Policies"][0]["PolicyDocument"]
            ["Statement"]
            .as_sequence_mut()
            .expect("statements");
        for statement in statements.iter_mut() {
            if when_true(statement).0.as_deref() == Some(condition) {
                change(statement);
            }
        }
        revert_grant_problems(&broken, "RemediateRole", &[]).join("\n")
    };
    let found = broken("RevertRoles", |s| {
        s[1]["Action"]
            .as_sequence_mut()
            .expect("actions")
            .push("iam:PassRole".into())
    });
    let expected = "RemediateRole with RevertResourceTypes=AWS::IAM::Role: grants [\"iam:PassRole\"] beyond the rows' actions and lacks []";
    assert!(found.contains(expected), "expected {expected:?} in:\n{found}");
    let found = broken("RevertBuckets", |s| *s = s[1].clone());
    let expected = "RemediateRole with RevertResourceTypes=none: grants [\"s3:DeleteBucketPolicy\",";
    assert!(found.contains(expected), "expected {expected:?} in:\n{found}");
}

#[test]
fn the_member_remediation_role_trusts_only_the_central_role() {
    let root = workspace();
    let spoke = spoke(&root);
    let role = get(&spoke, &["Resources", "RemediationRole"]).expect("RemediationRole");
    assert_eq!(str_of(role.get("Condition")), Some("RemediationEnabled"));
    assert_eq!(
        Eval::new(&spoke, &[]).condition("RemediationEnabled"),
        Ok(false),
        "off by default"
    );
    // The name the central function assumes (arn:aws:iam::<account>:role/<name>, no path).
    assert!(is_ref(
        get(role, &["Properties", "RoleName"]).expect("RoleName"),
        "MemberRemediationRoleName"
    ));
    let trust = statements(get(role, &["Properties", "AssumeRolePolicyDocument", "Statement"]));
    assert_eq!(trust.len(), 1, "{trust:?}");
    assert_eq!(str_of(trust[0].get("Effect")), Some("Allow"));
    let principal = trust[0]
        .get("Principal")
        .and_then(Value::as_mapping)
        .expect("Principal");
    assert_eq!(principal.len(), 1, "only the central role: {principal:?}");
    assert!(is_ref(
        principal.get("AWS").expect("Principal.AWS"),
        "CentralRemediationRoleArn"
    ));
    assert_eq!(strings(trust[0].get("Action")), ["sts:AssumeRole"]);
    assert!(trust[0].get("Condition").is_none(), "{trust:?}");

    // Ingest counts the remediation marker only from the central role and that role name.
    let template = template(&root);
    let roles = get(
        &template,
        &[
            "Resources",
            "IngestFunction",
            "Properties",
            "Environment",
            "Variables",
            "DRIFTGUARD_REMEDIATION_ROLES",
        ],
    )
    .expect("DRIFTGUARD_REMEDIATION_ROLES");
    assert_eq!(
        untag(roles),
        (
            Some("Sub".to_owned()),
            &Value::from("${RemediateRole.Arn},arn:${AWS::Partition}:iam::*:role/${MemberRemediationRoleName}")
        )
    );
}

/// The actions a role's inline policies allow (statements under `!If` taken as when the
/// condition holds), and the resources of the statements that allow `action`.
fn role_allows(template: &Value, role: &str, action: &str) -> Vec<String> {
    let Some(r) = template.get("Resources").and_then(|rs| rs.get(role)) else {
        return Vec::new();
    };
    let mut resources = Vec::new();
    for policy in r
        .get("Properties")
        .and_then(|p| p.get("Policies"))
        .and_then(Value::as_sequence)
        .into_iter()
        .flatten()
    {
        for s in statements(policy.get("PolicyDocument").and_then(|d| d.get("Statement"))) {
            if str_of(s.get("Effect")) == Some("Allow") && strings(s.get("Action")).iter().any(|a| a == action) {
                resources.extend(strings(s.get("Resource")));
            }
        }
    }
    resources
}

#[test]
fn ingest_and_reconcile_may_make_the_cloudformation_calls_their_code_makes() {
    let template = template(&workspace());
    for action in driftguard_aws::CLOUDFORMATION_ACTIONS {
        assert_eq!(
            role_allows(&template, "IngestRole", action),
            ["*"],
            "IngestRole must allow {action} on * (the stacks are not known in advance)"
        );
    }
    assert_eq!(
        role_allows(&template, "ReconcileRole", "cloudformation:DescribeStackResources"),
        ["*"]
    );
    // DetectStackResourceDrift reads the resource with ingest's credentials: the reads of the
    // types whose drift the tests check are granted, and no data read is.
    for read in [
        "ec2:DescribeSecurityGroups",
        "s3:GetBucketVersioning",
        "lambda:GetFunction",
    ] {
        assert!(
            !role_allows(&template, "IngestRole", read).is_empty(),
            "IngestRole lacks {read}"
        );
    }
    for data in ["s3:GetObject", "secretsmanager:GetSecretValue", "ssm:GetParameter"] {
        assert!(
            !role_allows(&template, "IngestRole", data).contains(&"*".to_owned()),
            "IngestRole must not read {data} on *"
        );
    }
    // A role without the grant is caught.
    let mut broken = template.clone();
    if let Some(statements) =
        broken["Resources"]["IngestRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"].as_sequence_mut()
    {
        statements.retain(|s| str_of(s.get("Sid")) != Some("CloudFormationDrift"));
    }
    assert!(role_allows(&broken, "IngestRole", "cloudformation:DetectStackResourceDrift").is_empty());
}

/// Every metric the template's alarms and dashboard read in the `DriftGuard` namespace, as
/// (where, metric name, `Function` value).
fn driftguard_metrics_read(template: &Value) -> Vec<(String, String, String)> {
    let mut read = Vec::new();
    for (id, alarm) in resources_of(template, "AWS::CloudWatch::Alarm") {
        let props = &alarm["Properties"];
        if str_of(props.get("Namespace")) != Some(driftguard_core::metrics::NAMESPACE) {
            continue;
        }
        let function = props
            .get("Dimensions")
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
            .find(|d| str_of(d.get("Name")) == Some("Function"))
            .and_then(|d| str_of(d.get("Value")))
            .unwrap_or("")
            .to_owned();
        let name = str_of(props.get("MetricName")).unwrap_or("").to_owned();
        read.push((id, name, function));
    }
    for (id, dashboard) in resources_of(template, "AWS::CloudWatch::Dashboard") {
        let body = untag(&dashboard["Properties"]["DashboardBody"]).1;
        let body: serde_json::Value =
            serde_json::from_str(body.as_str().unwrap_or("")).expect("the dashboard body is JSON");
        for widget in body["widgets"].as_array().into_iter().flatten() {
            for row in widget["properties"]["metrics"].as_array().into_iter().flatten() {
                let row: Vec<&str> = row
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str())
                    .collect();
                if let [namespace, name, rest @ ..] = row.as_slice() {
                    assert_ne!(*name, ".", "{id}: write metric rows in full");
                    if *namespace == driftguard_core::metrics::NAMESPACE {
                        let function = rest
                            .chunks(2)
                            .find(|kv| kv[0] == "Function")
                            .and_then(|kv| kv.get(1))
                            .unwrap_or(&"");
                        read.push((id.clone(), (*name).to_owned(), (*function).to_owned()));
                    }
                }
            }
        }
    }
    read
}

/// What is wrong with the alarms and the dashboard: a DriftGuard metric no function writes (or
/// not the function named), a dead-letter queue without an alarm, an alarm that notifies no one.
fn operations_problems(template: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    for (at, name, function) in driftguard_metrics_read(template) {
        match driftguard_core::metrics::written(&name) {
            None => problems.push(format!("{at} reads DriftGuard/{name}, which no function writes")),
            Some(m) if !m.functions.contains(&function.as_str()) => problems.push(format!(
                "{at} reads DriftGuard/{name} of Function={function:?}, written only by {:?}",
                m.functions
            )),
            Some(_) => {}
        }
    }
    // Dead-letter queues: every queue a redrive policy, an event rule's DeadLetterConfig or an
    // OnFailure destination names.
    fn dead_letter_targets(v: &Value, inside: bool, out: &mut BTreeSet<String>) {
        match untag(v) {
            (Some(tag), inner) if tag == "GetAtt" && inside => {
                if let Some(target) = inner.as_str().and_then(|s| s.split('.').next()) {
                    out.insert(target.to_owned());
                }
                if let Some(first) = inner.as_sequence().and_then(|s| s.first()).and_then(Value::as_str) {
                    out.insert(first.to_owned());
                }
            }
            (_, Value::Mapping(m)) => {
                for (k, v) in m {
                    let key = k.as_str().unwrap_or("");
                    let dlq = inside || matches!(key, "deadLetterTargetArn" | "DeadLetterConfig" | "OnFailure");
                    dead_letter_targets(v, dlq, out);
                }
            }
            (_, Value::Sequence(items)) => items.iter().for_each(|i| dead_letter_targets(i, inside, out)),
            _ => {}
        }
    }
    let mut targets = BTreeSet::new();
    if let Some(resources) = template.get("Resources") {
        dead_letter_targets(resources, false, &mut targets);
    }
    let queues: BTreeSet<String> = resources_of(template, "AWS::SQS::Queue")
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    let alarms = resources_of(template, "AWS::CloudWatch::Alarm");
    let watched = |queue: &str| {
        alarms.iter().any(|(_, a)| {
            let p = &a["Properties"];
            str_of(p.get("Namespace")) == Some("AWS/SQS")
                && str_of(p.get("MetricName")) == Some("ApproximateNumberOfMessagesVisible")
                && p.get("Dimensions").and_then(Value::as_sequence).is_some_and(|ds| {
                    ds.iter().any(|d| {
                        str_of(d.get("Name")) == Some("QueueName")
                            && matches!(untag(&d["Value"]), (Some(t), v) if t == "GetAtt"
                                && v.as_str() == Some(&format!("{queue}.QueueName")))
                    })
                })
        })
    };
    let dead_letter_queues: Vec<&String> = targets.iter().filter(|t| queues.contains(*t)).collect();
    if dead_letter_queues.is_empty() {
        problems.push("no dead-letter queue found".into());
    }
    for queue in dead_letter_queues {
        if !watched(queue) {
            problems.push(format!(
                "dead-letter queue {queue} has no ApproximateNumberOfMessagesVisible alarm"
            ));
        }
    }
    for (id, alarm) in &alarms {
        if !alarm["Properties"]
            .get("AlarmActions")
            .and_then(Value::as_sequence)
            .is_some_and(|a| a.iter().any(|v| is_ref(v, "AlarmTopic")))
        {
            problems.push(format!("{id} notifies no one (AlarmActions without AlarmTopic)"));
        }
    }
    problems
}

#[test]
fn alarms_and_the_dashboard_read_only_metrics_the_functions_write() {
    let template = template(&workspace());
    let read = driftguard_metrics_read(&template);
    assert!(
        read.iter().any(|(_, name, _)| name == "EventsIn") && read.len() > 10,
        "the alarms and dashboard read DriftGuard metrics: {read:?}"
    );
    assert_eq!(operations_problems(&template), Vec::<String>::new());
}

#[test]
fn a_metric_nobody_writes_and_an_unwatched_dead_letter_queue_are_caught() {
    let mut template = template(&workspace());
    let resources = template["Resources"].as_mapping_mut().expect("resources");
    // An alarm on a misspelt metric, one on another function's metric, a second dead-letter
    // queue nobody watches, and an alarm without actions.
    let extra: Value = serde_yaml::from_str(
        r#"
TypoAlarm:
  Type: AWS::CloudWatch::Alarm
  Properties:
    Namespace: DriftGuard
    MetricName: EventIn
    Dimensions: [{Name: Function, Value: ingest}]
    AlarmActions: [!Ref AlarmTopic]
WrongFunctionAlarm:
  Type: AWS::CloudWatch::Alarm
  Properties:
    Namespace: DriftGuard
    MetricName: SlackPosts
    Dimensions: [{Name: Function, Value: ingest}]
SecondQueue:
  Type: AWS::SQS::Queue
  Properties:
    RedrivePolicy:
      deadLetterTargetArn: !GetAtt OtherDeadLetters.Arn
OtherDeadLetters:
  Type: AWS::SQS::Queue
"#,
    )
    .expect("yaml");
    for (k, v) in extra.as_mapping().expect("mapping") {
        resources.insert(k.clone(), v.clone());
    }
    let problems = operations_problems(&template).join("\n");
    for want in [
        "TypoAlarm reads DriftGuard/EventIn, which no function writes",
        "WrongFunctionAlarm reads DriftGuard/SlackPosts of Function=\"ingest\"",
        "dead-letter queue OtherDeadLetters has no ApproximateNumberOfMessagesVisible alarm",
        "WrongFunctionAlarm notifies no one",
    ] {
        assert!(problems.contains(want), "{want:?} not in:\n{problems}");
    }
    assert!(!problems.contains("TypoAlarm notifies"), "{problems}");
}

#[test]
fn infra_readme_lists_every_metric() {
    let readme = std::fs::read_to_string(workspace().join("infra/README.md")).expect("infra/README.md");
    let section = readme
        .split("## Metrics and alarms")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("a Metrics and alarms section");
    for m in driftguard_core::metrics::CATALOG {
        let listed = match m.breakdown {
            None => format!("| `{}` |", m.name),
            Some(_) => format!("| `{}.<", m.name),
        };
        assert!(section.contains(&listed), "{} is not listed in infra/README.md", m.name);
        if let Some(b) = m.breakdown {
            for v in b.values {
                assert!(section.contains(&format!("`{v}`")), "{}.{v} is not listed", m.name);
            }
        }
    }
}

// --- Dead letters: one queue per consumer, each with its policy, alarm, outputs ----------------

/// Who puts messages in a dead-letter queue, and who they go back to.
#[derive(Debug, Clone)]
struct DeadLetterSource {
    /// What fills it: a rule's logical id (SAM names a function's rule `<function><event>`), or
    /// `<queue> redrive policy`, or `<function> on-failure destination`.
    source: String,
    /// The rule, when a rule fills it.
    rule: Option<String>,
    /// The dead-letter queue's logical id.
    queue: String,
    /// Where its messages go back to: `Queue` (the ingest queue) or a function's logical id.
    consumer: String,
}

/// `X` of `!GetAtt X.Arn` / `{Fn::GetAtt: [X, Arn]}`.
fn arn_of(v: Option<&Value>) -> Option<String> {
    let v = v?;
    match untag(v) {
        (Some(tag), inner) if tag == "GetAtt" => inner.as_str().and_then(|s| s.strip_suffix(".Arn")).map(str::to_owned),
        (None, inner) => inner
            .get("Fn::GetAtt")
            .and_then(Value::as_sequence)
            .and_then(|s| s.first())
            .and_then(Value::as_str)
            .map(str::to_owned),
        _ => None,
    }
}

/// Every dead-letter source of the template, and what lacks one: a rule target without a
/// `DeadLetterConfig`, a function invoked by a rule without an on-failure destination.
fn dead_letter_sources(template: &Value) -> (Vec<DeadLetterSource>, Vec<String>) {
    let mut out = Vec::new();
    let mut missing = Vec::new();
    for (id, queue) in resources_of(template, "AWS::SQS::Queue") {
        if let Some(dlq) = arn_of(get(queue, &["Properties", "RedrivePolicy", "deadLetterTargetArn"])) {
            out.push(DeadLetterSource {
                source: format!("{id} redrive policy"),
                rule: None,
                queue: dlq,
                consumer: id.clone(),
            });
        }
    }
    for (id, rule) in resources_of(template, "AWS::Events::Rule") {
        for target in get(rule, &["Properties", "Targets"])
            .and_then(Value::as_sequence)
            .into_iter()
            .flatten()
        {
            let consumer = arn_of(target.get("Arn")).unwrap_or_default();
            match arn_of(get(target, &["DeadLetterConfig", "Arn"])) {
                Some(queue) => out.push(DeadLetterSource {
                    source: id.clone(),
                    rule: Some(id.clone()),
                    queue,
                    consumer,
                }),
                None => missing.push(format!("{id}: its target {consumer} has no DeadLetterConfig")),
            }
        }
    }
    for (id, function) in resources_of(template, "AWS::Serverless::Function") {
        let mut ruled = false;
        for (name, event) in get(function, &["Properties", "Events"])
            .and_then(Value::as_mapping)
            .into_iter()
            .flatten()
        {
            if str_of(event.get("Type")) != Some("EventBridgeRule") {
                continue;
            }
            ruled = true;
            let rule = format!("{id}{}", name.as_str().unwrap_or("?"));
            match arn_of(get(event, &["Properties", "DeadLetterConfig", "Arn"])) {
                Some(queue) => out.push(DeadLetterSource {
                    source: rule.clone(),
                    rule: Some(rule),
                    queue,
                    consumer: id.clone(),
                }),
                None => missing.push(format!("{rule}: the rule has no DeadLetterConfig")),
            }
        }
        match arn_of(get(
            function,
            &[
                "Properties",
                "EventInvokeConfig",
                "DestinationConfig",
                "OnFailure",
                "Destination",
            ],
        )) {
            Some(queue) => out.push(DeadLetterSource {
                source: format!("{id} on-failure destination"),
                rule: None,
                queue,
                consumer: id.clone(),
            }),
            None if ruled => missing.push(format!("{id}: invoked by a rule, but no on-failure destination")),
            None => {}
        }
    }
    (out, missing)
}

/// Everything wrong with the dead-letter queues: one shared by two sources; a rule's queue whose
/// policy admits more than its rule (or another queue's policy naming it); a function's or the
/// ingest queue's with a policy at all; no SSE; a condition other than its consumer's; no `Url`
/// and `Redrive` outputs, or a redrive command that sends elsewhere than the consumer.
fn dead_letter_problems(template: &Value) -> Vec<String> {
    let (sources, mut problems) = dead_letter_sources(template);
    if sources.is_empty() {
        problems.push("no dead-letter queue found".into());
    }
    let condition = |id: &str| -> Option<String> {
        get(template, &["Resources", id, "Condition"])
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let mut by_queue: BTreeMap<&str, Vec<&DeadLetterSource>> = BTreeMap::new();
    for s in &sources {
        by_queue.entry(s.queue.as_str()).or_default().push(s);
    }
    let policies = resources_of(template, "AWS::SQS::QueuePolicy");
    for (queue, fed) in &by_queue {
        if fed.len() > 1 {
            let names: Vec<&str> = fed.iter().map(|s| s.source.as_str()).collect();
            problems.push(format!(
                "{queue} is shared by {}: one queue per consumer",
                names.join(", ")
            ));
            continue;
        }
        let s = fed[0];
        let Some(resource) = get(template, &["Resources", queue]) else {
            problems.push(format!(
                "{}: names {queue}, which the template does not declare",
                s.source
            ));
            continue;
        };
        if get(resource, &["Properties", "SqsManagedSseEnabled"]).and_then(Value::as_bool) != Some(true) {
            problems.push(format!("{queue}: not encrypted (SqsManagedSseEnabled: true)"));
        }
        let consumer_condition = if s.consumer == "Queue" {
            None
        } else {
            condition(&s.consumer)
        };
        if condition(queue) != consumer_condition {
            problems.push(format!(
                "{queue}: condition {:?}, its consumer {}'s is {consumer_condition:?}",
                condition(queue),
                s.consumer
            ));
        }
        let naming: Vec<&(String, &Value)> = policies
            .iter()
            .filter(|(_, p)| {
                get(p, &["Properties", "Queues"])
                    .and_then(Value::as_sequence)
                    .is_some_and(|qs| qs.iter().any(|q| is_ref(q, queue)))
            })
            .collect();
        match (&s.rule, naming.as_slice()) {
            (None, []) => {}
            (None, _) => problems.push(format!(
                "{queue}: only {} writes it, yet a queue policy names it",
                s.source
            )),
            (Some(rule), [(pid, policy)]) => {
                let stated = statements(get(policy, &["Properties", "PolicyDocument", "Statement"]));
                if stated.is_empty() {
                    problems.push(format!("{pid}: no statement"));
                }
                for st in stated {
                    let sid = str_of(st.get("Sid")).unwrap_or("?");
                    let ok = str_of(get(st, &["Principal", "Service"])) == Some("events.amazonaws.com")
                        && strings(st.get("Action")) == ["sqs:SendMessage"]
                        && arn_of(st.get("Resource")).as_deref() == Some(*queue)
                        && get(st, &["Condition", "ArnEquals", "aws:SourceArn"])
                            .map(|v| match untag(v).1 {
                                Value::Sequence(items) => items.iter().map(|i| arn_of(Some(i))).collect(),
                                _ => vec![arn_of(Some(v))],
                            })
                            .is_some_and(|arns| arns == [Some(rule.clone())]);
                    if !ok {
                        problems.push(format!(
                            "{pid} ({sid}): must let only {rule} (events.amazonaws.com, aws:SourceArn) send to {queue}"
                        ));
                    }
                }
            }
            (Some(rule), _) => problems.push(format!(
                "{queue}: {} queue policies name it; {rule} needs exactly one",
                naming.len()
            )),
        }
        let output = |key: &str| get(template, &["Outputs", key]);
        let url = output(&format!("{queue}Url"));
        if !url.is_some_and(|o| o.get("Value").is_some_and(|v| is_ref(v, queue))) {
            problems.push(format!("{queue}: no output {queue}Url with its URL (!Ref {queue})"));
        }
        let to = if s.consumer == "Queue" {
            "${Queue}".to_owned()
        } else {
            format!("${{{}.Arn}}", s.consumer)
        };
        let want = format!("driftguard dlq redrive --from ${{{queue}}} --to {to}");
        let redrive = output(&format!("{queue}Redrive"));
        let command = redrive.and_then(|o| o.get("Value")).map(untag);
        if !matches!(command, Some((Some(ref tag), v)) if tag == "Sub" && v.as_str() == Some(want.as_str())) {
            problems.push(format!(
                "{queue}: output {queue}Redrive must be !Sub \"{want}\", is {command:?}"
            ));
        }
        for (key, o) in [("Url", url), ("Redrive", redrive)] {
            let c = o
                .and_then(|o| o.get("Condition"))
                .and_then(Value::as_str)
                .map(str::to_owned);
            if o.is_some() && c != condition(queue) {
                problems.push(format!(
                    "output {queue}{key}: condition {c:?}, the queue's is {:?}",
                    condition(queue)
                ));
            }
        }
    }
    problems
}

#[test]
fn each_consumer_has_its_own_dead_letter_queue_with_its_policy_alarm_and_redrive_command() {
    let template = template(&workspace());
    let (sources, _) = dead_letter_sources(&template);
    let queues: BTreeSet<&str> = sources.iter().map(|s| s.queue.as_str()).collect();
    assert_eq!(
        queues.len(),
        11,
        "the ingest queue's, the two ingest rules', and a rule's and an on-failure queue for each \
         of notify-slack, remediate, iac-sync, securityhub: {sources:#?}"
    );
    assert_eq!(dead_letter_problems(&template), Vec::<String>::new());
}

#[test]
fn a_shared_unwatched_or_misdirected_dead_letter_queue_is_caught() {
    let clean = template(&workspace());
    let mut broken = clean.clone();
    let resources = broken["Resources"].as_mapping_mut().expect("resources");
    // remediate's rule now shares notify-slack's rule queue; securityhub's rule lost its queue.
    resources
        .get_mut("RemediateFunction")
        .and_then(|f| f.get_mut("Properties"))
        .and_then(|p| p.get_mut("Events"))
        .and_then(|e| e.get_mut("RemediationEvents"))
        .and_then(|e| e.get_mut("Properties"))
        .expect("remediate's rule")
        .as_mapping_mut()
        .expect("a mapping")
        .insert(
            "DeadLetterConfig".into(),
            serde_yaml::from_str("{Arn: !GetAtt NotifySlackRuleDeadLetterQueue.Arn}").expect("yaml"),
        );
    resources
        .get_mut("SecurityHubFunction")
        .and_then(|f| f.get_mut("Properties"))
        .and_then(|p| p.get_mut("Events"))
        .and_then(|e| e.get_mut("DriftEvents"))
        .and_then(|e| e.get_mut("Properties"))
        .and_then(Value::as_mapping_mut)
        .expect("securityhub's rule")
        .remove("DeadLetterConfig");
    // The ingest DLQ's command sends to remediate; the default bus rule's queue admits both rules.
    let outputs = broken["Outputs"].as_mapping_mut().expect("outputs");
    outputs.insert(
        "IngestDeadLetterQueueRedrive".into(),
        serde_yaml::from_str(
            "{Value: !Sub \"driftguard dlq redrive --from ${IngestDeadLetterQueue} --to ${RemediateFunction.Arn}\"}",
        )
        .expect("yaml"),
    );
    let statement = broken["Resources"]["DefaultBusRuleDeadLetterQueuePolicy"]["Properties"]["PolicyDocument"]
        ["Statement"][0]["Condition"]["ArnEquals"]
        .as_mapping_mut()
        .expect("the condition");
    statement.insert(
        "aws:SourceArn".into(),
        serde_yaml::from_str("[!GetAtt DefaultBusRule.Arn, !GetAtt DriftGuardBusRule.Arn]").expect("yaml"),
    );

    let problems = dead_letter_problems(&broken).join("\n");
    for want in [
        "NotifySlackRuleDeadLetterQueue is shared by NotifySlackFunctionDriftEvents, RemediateFunctionRemediationEvents",
        "SecurityHubFunctionDriftEvents: the rule has no DeadLetterConfig",
        "IngestDeadLetterQueue: output IngestDeadLetterQueueRedrive must be !Sub \"driftguard dlq redrive --from ${IngestDeadLetterQueue} --to ${Queue}\"",
        "DefaultBusRuleDeadLetterQueuePolicy (DefaultBusRuleDeadLetters): must let only DefaultBusRule",
    ] {
        assert!(problems.contains(want), "{want:?} not in:\n{problems}");
    }
}

/// The spoke's dead-letter queue, as the central stack's: encrypted, only its rule sends, an
/// alarm, its URL and redrive command in the outputs.
#[test]
fn the_spokes_dead_letter_queue_is_watched_and_redriven_like_the_central_ones() {
    let spoke = spoke(&workspace());
    let queue = get(&spoke, &["Resources", "ForwardDeadLetterQueue"]).expect("ForwardDeadLetterQueue");
    assert_eq!(
        get(queue, &["Properties", "SqsManagedSseEnabled"]).and_then(Value::as_bool),
        Some(true)
    );
    assert_eq!(
        arn_of(
            get(&spoke, &["Resources", "ForwardRule", "Properties", "Targets"])
                .and_then(|t| t.get(0))
                .and_then(|t| get(t, &["DeadLetterConfig", "Arn"]))
        ),
        Some("ForwardDeadLetterQueue".to_owned())
    );
    let watched = resources_of(&spoke, "AWS::CloudWatch::Alarm").into_iter().any(|(_, a)| {
        str_of(get(a, &["Properties", "MetricName"])) == Some("ApproximateNumberOfMessagesVisible")
            && get(a, &["Properties", "Dimensions"])
                .and_then(|d| d.get(0))
                .and_then(|d| d.get("Value"))
                .is_some_and(|v| matches!(untag(v), (Some(t), v) if t == "GetAtt" && v.as_str() == Some("ForwardDeadLetterQueue.QueueName")))
    });
    assert!(watched, "ForwardDeadLetterQueue has an alarm");
    let policy = get(
        &spoke,
        &[
            "Resources",
            "ForwardDeadLetterQueuePolicy",
            "Properties",
            "PolicyDocument",
            "Statement",
        ],
    );
    let senders: Vec<&Value> = statements(policy)
        .into_iter()
        .filter(|s| strings(s.get("Action")).contains(&"sqs:SendMessage".to_owned()))
        .collect();
    assert_eq!(senders.len(), 1, "one statement lets something send: {senders:?}");
    assert_eq!(
        get(senders[0], &["Condition", "ArnEquals", "aws:SourceArn"]).and_then(|v| arn_of(Some(v))),
        Some("ForwardRule".to_owned()),
        "only the forwarding rule sends"
    );
    let redrive = get(&spoke, &["Outputs", "ForwardDeadLetterQueueRedrive", "Value"]).expect("a redrive output");
    assert!(
        format!("{redrive:?}")
            .contains("driftguard dlq redrive --from ${ForwardDeadLetterQueue} --to ${CentralQueueUrl}"),
        "{redrive:?}"
    );
}

// --- The deployer's grants (infra/deployer-policy.json): what `sam deploy` of this stack needs ---
//
// The resource types come from the template as CloudFormation receives it, after the SAM and
// language-extensions transforms (`tests/sam_translate.py`, every optional part switched on), so
// a function's rules, permissions and event source mapping count as the types SAM writes.

/// Resources named as CloudFormation names them, each with the actions needed on it.
type Grants = &'static [(&'static str, &'static [&'static str])];

/// A resource of the stack named as CloudFormation names it for a stack called `driftguard` in
/// 111122223333 / eu-west-1, and what CloudFormation calls on it, with the deployer's
/// credentials, to create, read, update, tag and delete it (the properties the template uses).
const DEPLOY_ACTIONS: &[(&str, Grants)] = &[
    (
        "AWS::DynamoDB::Table",
        &[(
            "arn:aws:dynamodb:eu-west-1:111122223333:table/driftguard-Table-1A2B3C4D5E6F",
            &[
                "dynamodb:CreateTable",
                "dynamodb:DescribeTable",
                "dynamodb:UpdateTable",
                "dynamodb:DeleteTable",
                "dynamodb:DescribeTimeToLive",
                "dynamodb:UpdateTimeToLive",
                "dynamodb:DescribeContinuousBackups",
                "dynamodb:UpdateContinuousBackups",
                "dynamodb:DescribeContributorInsights",
                "dynamodb:DescribeKinesisStreamingDestination",
                "dynamodb:GetResourcePolicy",
                "dynamodb:TagResource",
                "dynamodb:UntagResource",
                "dynamodb:ListTagsOfResource",
            ],
        )],
    ),
    (
        "AWS::Events::EventBus",
        &[(
            "arn:aws:events:eu-west-1:111122223333:event-bus/driftguard-bus",
            &[
                "events:CreateEventBus",
                "events:DescribeEventBus",
                "events:UpdateEventBus",
                "events:DeleteEventBus",
                "events:TagResource",
                "events:UntagResource",
                "events:ListTagsForResource",
            ],
        )],
    ),
    (
        "AWS::Events::EventBusPolicy",
        &[(
            "arn:aws:events:eu-west-1:111122223333:event-bus/driftguard-bus",
            &["events:PutPermission", "events:RemovePermission", "events:DescribeEventBus"],
        )],
    ),
    (
        "AWS::Events::Rule",
        &[
            (
                "arn:aws:events:eu-west-1:111122223333:rule/driftguard-DefaultBusRule-1A2B3C4D5E6F",
                RULE_ACTIONS,
            ),
            (
                "arn:aws:events:eu-west-1:111122223333:rule/driftguard-bus/driftguard-DriftGuardBusRule-1A2B3C",
                RULE_ACTIONS,
            ),
        ],
    ),
    (
        "AWS::SQS::Queue",
        &[(
            "arn:aws:sqs:eu-west-1:111122223333:driftguard-IngestDeadLetterQueue-1A2B3C4D5E6F",
            &[
                "sqs:CreateQueue",
                "sqs:DeleteQueue",
                "sqs:GetQueueAttributes",
                "sqs:SetQueueAttributes",
                "sqs:GetQueueUrl",
                "sqs:TagQueue",
                "sqs:UntagQueue",
                "sqs:ListQueueTags",
            ],
        )],
    ),
    (
        "AWS::SQS::QueuePolicy",
        &[(
            "arn:aws:sqs:eu-west-1:111122223333:driftguard-Queue-1A2B3C4D5E6F",
            &["sqs:SetQueueAttributes", "sqs:GetQueueAttributes"],
        )],
    ),
    (
        "AWS::IAM::Role",
        &[(
            "arn:aws:iam::111122223333:role/driftguard-IngestRole-1A2B3C4D5E6F",
            &[
                "iam:CreateRole",
                "iam:DeleteRole",
                "iam:GetRole",
                "iam:UpdateRole",
                "iam:UpdateRoleDescription",
                "iam:UpdateAssumeRolePolicy",
                "iam:PutRolePolicy",
                "iam:GetRolePolicy",
                "iam:DeleteRolePolicy",
                "iam:ListRolePolicies",
                "iam:ListAttachedRolePolicies",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:ListRoleTags",
            ],
        )],
    ),
    (
        "AWS::IAM::RolePolicy",
        &[(
            "arn:aws:iam::111122223333:role/driftguard-IngestRole-1A2B3C4D5E6F",
            &["iam:PutRolePolicy", "iam:GetRolePolicy", "iam:DeleteRolePolicy"],
        )],
    ),
    (
        "AWS::Lambda::Function",
        &[
            (
                "arn:aws:lambda:eu-west-1:111122223333:function:driftguard-IngestFunction-1A2B3C4D5E6F",
                &[
                    "lambda:CreateFunction",
                    "lambda:DeleteFunction",
                    "lambda:GetFunction",
                    "lambda:GetFunctionConfiguration",
                    "lambda:UpdateFunctionCode",
                    "lambda:UpdateFunctionConfiguration",
                    "lambda:ListVersionsByFunction",
                    "lambda:GetFunctionCodeSigningConfig",
                    "lambda:GetRuntimeManagementConfig",
                    "lambda:GetFunctionRecursionConfig",
                    "lambda:PutFunctionConcurrency",
                    "lambda:DeleteFunctionConcurrency",
                    "lambda:GetFunctionConcurrency",
                    "lambda:TagResource",
                    "lambda:UntagResource",
                    "lambda:ListTags",
                ],
            ),
            // The function's role is passed to Lambda.
            (
                "arn:aws:iam::111122223333:role/driftguard-IngestRole-1A2B3C4D5E6F",
                &["iam:PassRole"],
            ),
            // Lambda reads the code object with the caller's credentials.
            (
                "arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-1a2b3c4d5e6f/driftguard/0f1e2d3c4b5a69788796a5b4c3d2e1f0",
                &["s3:GetObject", "s3:GetObjectVersion"],
            ),
        ],
    ),
    (
        "AWS::Lambda::Permission",
        &[(
            "arn:aws:lambda:eu-west-1:111122223333:function:driftguard-NotifySlackFunction-1A2B3C4D5E6F",
            &["lambda:AddPermission", "lambda:RemovePermission", "lambda:GetPolicy"],
        )],
    ),
    (
        "AWS::Lambda::EventInvokeConfig",
        &[(
            "arn:aws:lambda:eu-west-1:111122223333:function:driftguard-RemediateFunction-1A2B3C4D5E6F",
            &[
                "lambda:PutFunctionEventInvokeConfig",
                "lambda:GetFunctionEventInvokeConfig",
                "lambda:UpdateFunctionEventInvokeConfig",
                "lambda:DeleteFunctionEventInvokeConfig",
            ],
        )],
    ),
    (
        "AWS::Lambda::Url",
        &[(
            "arn:aws:lambda:eu-west-1:111122223333:function:driftguard-SlackActionsFunction-1A2B3C4D5E6F",
            &[
                "lambda:CreateFunctionUrlConfig",
                "lambda:GetFunctionUrlConfig",
                "lambda:UpdateFunctionUrlConfig",
                "lambda:DeleteFunctionUrlConfig",
            ],
        )],
    ),
    (
        "AWS::Lambda::EventSourceMapping",
        &[
            ("*", &["lambda:CreateEventSourceMapping"]),
            (
                "arn:aws:lambda:eu-west-1:111122223333:event-source-mapping:6f1c2a3b-4d5e-4f60-8a7b-9c0d1e2f3a4b",
                &[
                    "lambda:GetEventSourceMapping",
                    "lambda:UpdateEventSourceMapping",
                    "lambda:DeleteEventSourceMapping",
                ],
            ),
        ],
    ),
    (
        "AWS::Logs::LogGroup",
        &[(
            "arn:aws:logs:eu-west-1:111122223333:log-group:/aws/lambda/driftguard-ingest",
            &[
                "logs:CreateLogGroup",
                "logs:DeleteLogGroup",
                "logs:DescribeLogGroups",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:TagResource",
                "logs:UntagResource",
                "logs:ListTagsForResource",
                "logs:TagLogGroup",
                "logs:UntagLogGroup",
                "logs:ListTagsLogGroup",
            ],
        )],
    ),
    (
        "AWS::SNS::Topic",
        &[(
            "arn:aws:sns:eu-west-1:111122223333:driftguard-AlarmTopic-1A2B3C4D5E6F",
            &[
                "sns:CreateTopic",
                "sns:DeleteTopic",
                "sns:GetTopicAttributes",
                "sns:SetTopicAttributes",
                "sns:ListSubscriptionsByTopic",
                "sns:TagResource",
                "sns:UntagResource",
                "sns:ListTagsForResource",
            ],
        )],
    ),
    (
        "AWS::SNS::Subscription",
        &[
            (
                "arn:aws:sns:eu-west-1:111122223333:driftguard-AlarmTopic-1A2B3C4D5E6F",
                &["sns:Subscribe"],
            ),
            (
                "arn:aws:sns:eu-west-1:111122223333:driftguard-AlarmTopic-1A2B3C4D5E6F:3f4e5d6c-7b8a-4c9d-8e0f-1a2b3c4d5e6f",
                &[
                    "sns:Unsubscribe",
                    "sns:GetSubscriptionAttributes",
                    "sns:SetSubscriptionAttributes",
                ],
            ),
        ],
    ),
    (
        "AWS::SSM::Parameter",
        &[(
            "arn:aws:ssm:eu-west-1:111122223333:parameter/driftguard/remediation/kill-switch",
            &[
                "ssm:PutParameter",
                "ssm:GetParameter",
                "ssm:GetParameters",
                "ssm:DeleteParameter",
                "ssm:AddTagsToResource",
                "ssm:RemoveTagsFromResource",
                "ssm:ListTagsForResource",
            ],
        )],
    ),
    (
        "AWS::CloudWatch::Alarm",
        &[(
            "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:driftguard-IngestErrorsAlarm-1A2B3C4D5E6F",
            &[
                "cloudwatch:PutMetricAlarm",
                "cloudwatch:DescribeAlarms",
                "cloudwatch:DeleteAlarms",
                "cloudwatch:TagResource",
                "cloudwatch:UntagResource",
                "cloudwatch:ListTagsForResource",
            ],
        )],
    ),
    (
        "AWS::CloudWatch::Dashboard",
        &[(
            "arn:aws:cloudwatch::111122223333:dashboard/driftguard-eu-west-1",
            &["cloudwatch:PutDashboard", "cloudwatch:GetDashboard", "cloudwatch:DeleteDashboards"],
        )],
    ),
];

const RULE_ACTIONS: &[&str] = &[
    "events:PutRule",
    "events:DescribeRule",
    "events:DeleteRule",
    "events:EnableRule",
    "events:DisableRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:ListTargetsByRule",
    "events:TagResource",
    "events:UntagResource",
    "events:ListTagsForResource",
];

/// What `sam deploy` (and `sam delete`) calls besides the resources, and the deployment's own
/// steps in infra/README.md: the stack and its change sets through the two transforms, SAM's
/// managed artifact stack and bucket, the Slack secrets.
const DEPLOY_STEPS: &[(&str, &[&str])] = &[
    (
        "arn:aws:cloudformation:eu-west-1:111122223333:stack/driftguard/5e6f7a80-1b2c-11ef-9a0b-0a1b2c3d4e5f",
        &[
            "cloudformation:CreateChangeSet",
            "cloudformation:DescribeChangeSet",
            "cloudformation:ExecuteChangeSet",
            "cloudformation:DeleteChangeSet",
            "cloudformation:DescribeStacks",
            "cloudformation:DescribeStackEvents",
            "cloudformation:DescribeStackResource",
            "cloudformation:DescribeStackResources",
            "cloudformation:ListStackResources",
            "cloudformation:GetTemplate",
            "cloudformation:DeleteStack",
        ],
    ),
    (
        "arn:aws:cloudformation:eu-west-1:111122223333:changeSet/samcli-deploy1732617600/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        &[
            "cloudformation:DescribeChangeSet",
            "cloudformation:ExecuteChangeSet",
            "cloudformation:DeleteChangeSet",
        ],
    ),
    (
        "arn:aws:cloudformation:eu-west-1:aws:transform/Serverless-2016-10-31",
        &["cloudformation:CreateChangeSet"],
    ),
    (
        "arn:aws:cloudformation:eu-west-1:aws:transform/LanguageExtensions",
        &["cloudformation:CreateChangeSet"],
    ),
    ("*", &["cloudformation:ValidateTemplate", "cloudformation:GetTemplateSummary"]),
    (
        "arn:aws:cloudformation:eu-west-1:111122223333:stack/aws-sam-cli-managed-default/0a1b2c3d-1b2c-11ef-9a0b-0a1b2c3d4e5f",
        &[
            "cloudformation:DescribeStacks",
            "cloudformation:CreateChangeSet",
            "cloudformation:DescribeChangeSet",
            "cloudformation:ExecuteChangeSet",
            "cloudformation:DescribeStackEvents",
            "cloudformation:GetTemplateSummary",
        ],
    ),
    (
        "arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-1a2b3c4d5e6f",
        &[
            "s3:CreateBucket",
            "s3:ListBucket",
            "s3:GetBucketLocation",
            "s3:GetBucketPolicy",
            "s3:PutBucketPolicy",
            "s3:PutBucketVersioning",
            "s3:PutBucketTagging",
            "s3:PutEncryptionConfiguration",
            "s3:PutBucketPublicAccessBlock",
        ],
    ),
    (
        "arn:aws:s3:::aws-sam-cli-managed-default-samclisourcebucket-1a2b3c4d5e6f/driftguard/0f1e2d3c4b5a69788796a5b4c3d2e1f0.template",
        &["s3:PutObject", "s3:GetObject", "s3:GetObjectVersion", "s3:DeleteObject"],
    ),
    (
        "arn:aws:secretsmanager:eu-west-1:111122223333:secret:driftguard/slack-bot-token-AbCdEf",
        &[
            "secretsmanager:CreateSecret",
            "secretsmanager:PutSecretValue",
            "secretsmanager:DescribeSecret",
            "secretsmanager:TagResource",
        ],
    ),
];

/// Grants on every resource, and why.
const DEPLOYER_UNSCOPED: &[(&str, &str)] = &[
    ("cloudformation:ValidateTemplate", "takes no resource"),
    ("cloudformation:GetTemplateSummary", "takes a template, not a stack"),
    (
        "lambda:CreateEventSourceMapping",
        "takes no resource; the statement limits lambda:FunctionArn to the stack's functions",
    ),
];

/// The deployer policy's Allow statements: (sid, actions, resources).
fn deployer_statements(policy: &serde_json::Value) -> Vec<(String, Vec<String>, Vec<String>)> {
    let list = |v: &serde_json::Value| -> Vec<String> {
        match v {
            serde_json::Value::String(s) => vec![s.clone()],
            serde_json::Value::Array(items) => items.iter().filter_map(|i| i.as_str().map(str::to_owned)).collect(),
            _ => Vec::new(),
        }
    };
    policy["Statement"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["Effect"] == "Allow")
        .map(|s| {
            (
                s["Sid"].as_str().unwrap_or("?").to_owned(),
                list(&s["Action"]),
                list(&s["Resource"]),
            )
        })
        .collect()
}

/// Everything the deployer policy lacks, or grants beyond need, for a stack of `types`.
fn deployer_problems(policy: &serde_json::Value, types: &BTreeSet<String>) -> Vec<String> {
    let statements = deployer_statements(policy);
    let mut problems = Vec::new();
    let mut needed: Vec<(&str, &str)> = DEPLOY_STEPS
        .iter()
        .flat_map(|(arn, actions)| actions.iter().map(move |a| (*a, *arn)))
        .collect();
    for ty in types {
        match DEPLOY_ACTIONS.iter().find(|(t, _)| t == ty) {
            Some((_, resources)) => needed.extend(
                resources
                    .iter()
                    .flat_map(|(arn, actions)| actions.iter().map(move |a| (*a, *arn))),
            ),
            None => problems.push(format!(
                "the stack creates {ty}: add what CloudFormation calls to create, update and delete it to \
                 DEPLOY_ACTIONS and infra/deployer-policy.json"
            )),
        }
    }
    for (action, arn) in &needed {
        let allowed = statements.iter().any(|(_, actions, resources)| {
            actions.iter().any(|a| string_like(a, action)) && resources.iter().any(|r| string_like(r, arn))
        });
        if !allowed {
            problems.push(format!("the deployer may not {action} on {arn}"));
        }
    }
    for (sid, actions, resources) in &statements {
        for action in actions {
            if !needed.iter().any(|(a, _)| string_like(action, a)) {
                problems.push(format!("{sid}: grants {action}, which no deployment step needs"));
            }
            if resources.iter().any(|r| r == "*") && !DEPLOYER_UNSCOPED.iter().any(|(a, _)| a == action) {
                problems.push(format!("{sid}: {action} on every resource"));
            }
        }
    }
    problems
}

/// The resource types of the template as CloudFormation receives it, every optional part on;
/// `None` (after a notice) when the SAM translator is not installed.
fn deployed_types(test: &str) -> Option<BTreeSet<String>> {
    let parameters: BTreeMap<String, String> = [
        ("StateLocations", "s3://acme-tfstate/live/"),
        (
            "StateKmsKeyArns",
            "arn:aws:kms:eu-west-1:210987654321:key/0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        ),
        ("ConfigFileParameter", "/driftguard/config"),
        ("AwsConfigDeliveryBucket", "acme-config"),
        (
            "SlackBotTokenSecretArn",
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:driftguard/slack-bot-token-AbCdEf",
        ),
        (
            "SlackSigningSecretArn",
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:driftguard/slack-signing-AbCdEf",
        ),
        ("SlackTeamId", "T0123ABCD"),
        ("SlackAppId", "A0123ABCD"),
        ("SecurityHub", "true"),
        ("AlarmEmail", "oncall@example.com"),
        ("OrganizationId", "o-a1b2c3d4e5"),
        ("AwsConfigAggregatorName", "org"),
        (
            "PipelineSecretArns",
            "arn:aws:secretsmanager:eu-west-1:111122223333:secret:driftguard/github-AbCdEf",
        ),
        ("RevertResourceTypes", "*"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let translated = driftguard_tests::deployed::translate_or_skip(
        test,
        &workspace().join("infra/template.yaml"),
        &parameters,
        "driftguard",
    )?;
    Some(
        translated["Resources"]
            .as_object()
            .into_iter()
            .flatten()
            .filter_map(|(_, r)| r["Type"].as_str().map(str::to_owned))
            .collect(),
    )
}

fn deployer_policy() -> serde_json::Value {
    let text =
        std::fs::read_to_string(workspace().join("infra/deployer-policy.json")).expect("infra/deployer-policy.json");
    serde_json::from_str(&text).expect("infra/deployer-policy.json is JSON")
}

#[test]
fn the_deployer_policy_covers_every_resource_type_the_stack_creates_and_no_more() {
    let Some(types) = deployed_types("the_deployer_policy_covers_every_resource_type_the_stack_creates_and_no_more")
    else {
        return;
    };
    assert!(
        types.contains("AWS::Lambda::EventSourceMapping") && types.contains("AWS::Lambda::Url"),
        "the SAM transform's types are counted: {types:?}"
    );
    let policy = deployer_policy();
    assert_eq!(policy["Version"], "2012-10-17");
    assert_eq!(deployer_problems(&policy, &types), Vec::<String>::new());
}

#[test]
fn a_new_resource_type_a_missing_grant_and_an_unneeded_one_are_caught() {
    let policy = deployer_policy();
    let mut types: BTreeSet<String> = DEPLOY_ACTIONS.iter().map(|(t, _)| (*t).to_owned()).collect();
    assert_eq!(deployer_problems(&policy, &types), Vec::<String>::new());

    types.insert("AWS::StepFunctions::StateMachine".into());
    let mut narrowed = policy.clone();
    let statements = narrowed["Statement"].as_array_mut().expect("statements");
    for s in statements.iter_mut() {
        if s["Sid"] == "Queues" {
            s["Resource"] = serde_json::json!("arn:aws:sqs:*:*:other-*");
        }
        if s["Sid"] == "Table" {
            s["Action"]
                .as_array_mut()
                .expect("actions")
                .push(serde_json::json!("dynamodb:Scan"));
        }
    }
    let problems = deployer_problems(&narrowed, &types).join("\n");
    for want in [
        "the stack creates AWS::StepFunctions::StateMachine: add what CloudFormation calls",
        "the deployer may not sqs:CreateQueue on arn:aws:sqs:eu-west-1:111122223333:driftguard-IngestDeadLetterQueue-",
        "Table: grants dynamodb:Scan, which no deployment step needs",
    ] {
        assert!(problems.contains(want), "{want:?} not in:\n{problems}");
    }
}

// --- Names: one name per concept (infra/README.md, "Names") ------------------------------------

/// Whether `v` (a variable's value in the template) uses the parameter `p`: `!Ref p`, or
/// `${p}` / `${p.…}` in a `!Sub`, anywhere inside.
fn mentions(v: &Value, p: &str) -> bool {
    match untag(v) {
        (Some(tag), inner) if tag == "Ref" => inner.as_str() == Some(p),
        (Some(tag), inner) if tag == "Sub" => {
            let (text, rest) = match inner {
                Value::Sequence(parts) => (parts.first().and_then(Value::as_str), parts.get(1)),
                other => (other.as_str(), None),
            };
            text.is_some_and(|t| t.contains(&format!("${{{p}}}")) || t.contains(&format!("${{{p}.")))
                || rest.is_some_and(|r| mentions(r, p))
        }
        (_, Value::Sequence(items)) => items.iter().any(|i| mentions(i, p)),
        (_, Value::Mapping(m)) => m.values().any(|i| mentions(i, p)),
        _ => false,
    }
}

/// Every variable the template sets on some function (`Globals` included), with its values.
fn template_variables(template: &Value) -> BTreeMap<String, Vec<Value>> {
    let mut out: BTreeMap<String, Vec<Value>> = BTreeMap::new();
    let mut add = |vars: Option<&Value>| {
        for (k, v) in vars.and_then(Value::as_mapping).into_iter().flatten() {
            if let Some(k) = k.as_str() {
                out.entry(k.to_owned()).or_default().push(v.clone());
            }
        }
    };
    add(get(template, &["Globals", "Function", "Environment", "Variables"]));
    for (_, function) in resources_of(template, "AWS::Serverless::Function") {
        add(get(function, &["Properties", "Environment", "Variables"]));
    }
    out
}

/// The "Names" table of infra/README.md: parameter → the variables its row names.
fn names_table(readme: &str) -> BTreeMap<String, BTreeSet<String>> {
    let section = readme
        .split("\n## Names\n")
        .nth(1)
        .and_then(|s| s.split("\n## ").next())
        .expect("infra/README.md has a Names section");
    section
        .lines()
        .filter_map(|l| {
            let cells: Vec<&str> = l.split('|').map(str::trim).collect();
            let parameter = cells.get(1)?.strip_prefix('`')?.strip_suffix('`')?;
            let variables = cells
                .get(2)?
                .split('`')
                .skip(1)
                .step_by(2)
                .filter(|v| v.starts_with("DRIFTGUARD_") || *v == "RUST_LOG")
                .map(str::to_owned)
                .collect();
            Some((parameter.to_owned(), variables))
        })
        .collect()
}

/// What disagrees between the template and the Names table, and variables nobody documents.
fn names_problems(template: &Value, readme: &str, main_readme: &str) -> Vec<String> {
    let mut problems = Vec::new();
    let table = names_table(readme);
    let variables = template_variables(template);
    let parameters: BTreeSet<String> = template
        .get("Parameters")
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
        .filter_map(|(k, _)| k.as_str().map(str::to_owned))
        .collect();
    for p in &parameters {
        let set: BTreeSet<String> = variables
            .iter()
            .filter(|(_, values)| values.iter().any(|v| mentions(v, p)))
            .map(|(k, _)| k.clone())
            .collect();
        match table.get(p) {
            None => problems.push(format!("Names: no row for the parameter {p}")),
            Some(listed) if *listed != set => problems.push(format!(
                "Names: {p} is listed with {listed:?}, the template sets {set:?} from it"
            )),
            Some(_) => {}
        }
    }
    for p in table.keys().filter(|p| !parameters.contains(*p)) {
        problems.push(format!("Names: {p} is not a parameter of the template"));
    }
    for v in variables.keys().filter(|v| v.starts_with("DRIFTGUARD_")) {
        let quoted = format!("`{v}`");
        if !readme.contains(&quoted) && !main_readme.contains(&quoted) {
            problems.push(format!("{v}: the template sets it, neither README documents it"));
        }
    }
    problems
}

#[test]
fn every_parameter_has_one_name_from_template_to_variable_and_every_variable_is_documented() {
    let root = workspace();
    let template = template(&root);
    let readme = std::fs::read_to_string(root.join("infra/README.md")).expect("infra/README.md");
    let main = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    assert_eq!(names_problems(&template, &readme, &main), Vec::<String>::new());
}

#[test]
fn an_unlisted_parameter_a_wrong_variable_and_an_undocumented_one_are_caught() {
    let root = workspace();
    let mut template = template(&root);
    let readme = std::fs::read_to_string(root.join("infra/README.md")).expect("infra/README.md");
    let main = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    template["Parameters"]
        .as_mapping_mut()
        .expect("parameters")
        .insert("Shiny".into(), serde_yaml::from_str("{Type: String}").expect("yaml"));
    let variables = template["Resources"]["IngestFunction"]["Properties"]["Environment"]["Variables"]
        .as_mapping_mut()
        .expect("variables");
    variables.insert(
        "DRIFTGUARD_STATE_REFRESH".into(),
        serde_yaml::from_str("!Ref StateRefreshSeconds").expect("yaml"),
    );
    let problems = names_problems(&template, &readme, &main).join("\n");
    for want in [
        "Names: no row for the parameter Shiny",
        "Names: StateRefreshSeconds is listed with {\"DRIFTGUARD_STATE_REFRESH_SECONDS\"}, the template sets {\"DRIFTGUARD_STATE_REFRESH\", \"DRIFTGUARD_STATE_REFRESH_SECONDS\"}",
        "DRIFTGUARD_STATE_REFRESH: the template sets it, neither README documents it",
    ] {
        assert!(problems.contains(want), "{want:?} not in:\n{problems}");
    }
}

// --- Least privilege: each function's role grants exactly the AWS calls its code can make -----
//
// The calls come from the source: every SDK operation (`.put_item()`, `.list_objects_v2()`, ...,
// the operations each `aws-sdk-*` crate in the build defines) in the code a function can reach:
// its own crate, and in `shared/aws` the trait implementations of the adapter types it names,
// the inherent methods and free functions it calls by name, and, from those, what they call.
// The grants are the role's inline policies and the policies written for it per
// `StateLocations` entry, every `!If` taken as true (all features on).

/// Grants no SDK call in the code explains, by statement id, and why they are needed.
const IMPLIED: &[(&str, &str)] = &[
    ("Logs", "the Lambda runtime writes the function's logs to its log group"),
    (
        "Queue",
        "Lambda's SQS event source mapping receives and deletes the batches",
    ),
    (
        "FailedEvents",
        "Lambda's on-failure destination sends a failed event to the dead-letter queue",
    ),
    (
        "DeadLetters",
        "Lambda's on-failure destination sends a failed event to the dead-letter queue",
    ),
    (
        "DecryptStates",
        "S3 decrypts SSE-KMS state objects with the caller's kms:Decrypt",
    ),
    (
        "CloudFormationDriftReads",
        "DetectStackResourceDrift reads the live resource with the caller's credentials",
    ),
];

/// Grants that may name every resource (`*`), and why: the action takes no resource, or the
/// resources are not known when the stack is deployed.
const UNSCOPED: &[(&str, &str)] = &[
    ("config:ListDiscoveredResources", "takes no resource"),
    ("config:BatchGetResourceConfig", "takes no resource"),
    ("config:GetResourceConfigHistory", "takes no resource"),
    ("cloudtrail:LookupEvents", "takes no resource"),
    ("sts:GetCallerIdentity", "takes no resource"),
    (
        "cloudformation:DescribeStackResources",
        "the stacks that own resources are not known in advance",
    ),
    (
        "cloudformation:DetectStackResourceDrift",
        "the stacks that own resources are not known in advance",
    ),
    ("ec2:DescribeSecurityGroups", "EC2 Describe calls take no resource"),
    ("ec2:DescribeTags", "EC2 Describe calls take no resource"),
];

/// Calls the source scan reaches that the function never makes, each checked by hand: the scan
/// follows names, not types or values, so a port method or a branch can look reachable when it
/// is not. An entry the scan no longer reaches fails the test, so the list cannot go stale.
const NOT_MADE: &[(&str, &str, &str)] = &[
    (
        "ingest",
        "dynamodb:UpdateItem",
        "DynamoInventory's transaction bumps the inventory version for iac-sync; ingest only reads it",
    ),
    (
        "slack-actions",
        "dynamodb:DeleteItem",
        "DynamoStore's outbox drain runs in core's finding service, which slack-actions does not run",
    ),
    (
        "slack-actions",
        "dynamodb:Scan",
        "DynamoStore::list scans for queries other than open findings; slack-actions lists no findings",
    ),
    (
        "reconcile",
        "dynamodb:Scan",
        "reconcile's list calls are ConfigReader's, not DynamoStore::list's",
    ),
    (
        "reconcile",
        "cloudformation:DetectStackResourceDrift",
        "core's stack::check asks for drift (ingest); the sweep asks only which stack owns a resource",
    ),
    (
        "iac-sync",
        "dynamodb:Scan",
        "iac-sync lists open findings only, a Query on gsi1",
    ),
    (
        "reconcile",
        "s3:GetObjectVersion",
        "a state is read at a version only when ingest pins it (set_pins); reconcile pins none",
    ),
];

/// The SDK operations of every `aws-sdk-*` crate in the build, by crate (`dynamodb`, `s3`, ...):
/// the folder names under each crate's `src/operation`, from `cargo metadata`.
fn sdk_operations(root: &Path) -> BTreeMap<String, BTreeSet<String>> {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = std::process::Command::new(cargo)
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .current_dir(root)
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("cargo metadata prints JSON");
    let mut ops = BTreeMap::new();
    for package in meta["packages"].as_array().into_iter().flatten() {
        let (Some(name), Some(manifest)) = (package["name"].as_str(), package["manifest_path"].as_str()) else {
            continue;
        };
        let Some(service) = name.strip_prefix("aws-sdk-") else {
            continue;
        };
        let dir = Path::new(manifest).with_file_name("src").join("operation");
        let names: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .collect();
        ops.insert(service.to_owned(), names);
    }
    assert!(ops.contains_key("dynamodb"), "no aws-sdk-dynamodb in cargo metadata");
    ops
}

/// A source without its `#[cfg(test)] mod tests` (the test module closes each file here).
fn without_tests(src: &str) -> &str {
    src.find("#[cfg(test)]\nmod tests").map_or(src, |i| &src[..i])
}

/// The index of the `}` closing the `{` at `open`.
fn closing(src: &[u8], open: usize) -> usize {
    let mut depth = 0usize;
    for (i, b) in src.iter().enumerate().skip(open) {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    src.len().saturating_sub(1)
}

/// One `fn` of `shared/aws`: the type of the `impl` it is in, its name and body, and the SDK
/// crates its file uses.
#[derive(Debug)]
struct AdapterFn {
    owner: Option<String>,
    name: String,
    body: String,
    sdks: Vec<String>,
}

fn identifiers_called(src: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let bytes = src.as_bytes();
    for (i, _) in src.match_indices('(') {
        let mut start = i;
        // `name::<T>(`: skip the turbofish.
        let mut end = i;
        if src[..i].ends_with('>') {
            if let Some(t) = src[..i].rfind("::<") {
                end = t;
                start = t;
            }
        }
        while start > 0 && (bytes[start - 1].is_ascii_alphanumeric() || bytes[start - 1] == b'_') {
            start -= 1;
        }
        let name = &src[start..end];
        if name.starts_with(|c: char| c.is_ascii_lowercase() || c == '_') {
            out.insert(name.to_owned());
        }
    }
    out
}

fn type_names(src: &str, known: &BTreeSet<String>) -> BTreeSet<String> {
    src.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| known.contains(*w))
        .map(str::to_owned)
        .collect()
}

/// `text` after a leading `<...>` (angle brackets balanced), trimmed.
fn skip_generics(text: &str) -> &str {
    let text = text.trim_start();
    if !text.starts_with('<') {
        return text;
    }
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => {
                depth -= 1;
                if depth == 0 {
                    return text[i + 1..].trim_start();
                }
            }
            _ => {}
        }
    }
    ""
}

/// Every `fn` in `shared/aws`, and the public types declared there.
fn adapter_fns(root: &Path, sdks: &BTreeMap<String, BTreeSet<String>>) -> (Vec<AdapterFn>, BTreeSet<String>) {
    let mut fns = Vec::new();
    let mut types = BTreeSet::new();
    for file in rust_files(&root.join("shared/aws/src")) {
        let text = std::fs::read_to_string(&file).expect("source reads");
        let src = without_tests(&text);
        let used: Vec<String> = sdks
            .keys()
            .filter(|s| src.contains(&format!("aws_sdk_{}", s.replace('-', "_"))))
            .cloned()
            .collect();
        for decl in ["pub struct ", "pub enum "] {
            for (i, _) in src.match_indices(decl) {
                let name: String = src[i + decl.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                types.insert(name);
            }
        }
        // `impl ... {` blocks at the start of a line: (start, end, type).
        let mut impls = Vec::new();
        for (i, _) in src.match_indices("\nimpl") {
            let Some(open) = src[i..].find('{').map(|o| i + o) else {
                continue;
            };
            let head = skip_generics(&src[i + 5..open]);
            let ty = head.split_once(" for ").map_or(head, |(_, ty)| ty);
            let ty: String = ty
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            impls.push((i, closing(src.as_bytes(), open), ty));
        }
        for (i, _) in src.match_indices("fn ") {
            if i > 0 && (src.as_bytes()[i - 1].is_ascii_alphanumeric() || src.as_bytes()[i - 1] == b'_') {
                continue;
            }
            let name: String = src[i + 3..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            let (Some(open), semi) = (src[i..].find('{'), src[i..].find(';')) else {
                continue;
            };
            if semi.is_some_and(|s| s < open) || name.is_empty() {
                continue;
            }
            let open = i + open;
            let body = src[open..=closing(src.as_bytes(), open)].to_owned();
            let owner = impls.iter().find(|(s, e, _)| *s < i && i < *e);
            fns.push(AdapterFn {
                owner: owner.map(|o| o.2.clone()),
                name,
                body,
                sdks: used.clone(),
            });
        }
    }
    (fns, types)
}

/// The IAM action of an SDK operation whose name differs from the operation's, from the
/// services' "actions, resources, and condition keys" pages. `None`: the operation's own name.
/// `sts:GetCallerIdentity` needs no permission and a DynamoDB transaction needs the actions of
/// its items (read from where they are built); neither is named here.
fn iam_action(sdk: &str, op: &str) -> Option<String> {
    let action = match (sdk, op) {
        ("s3", "list_objects_v2") => "s3:ListBucket",
        ("s3", "head_object") | ("s3", "get_object") => "s3:GetObject",
        ("s3", "get_public_access_block") => "s3:GetBucketPublicAccessBlock",
        ("s3", "put_public_access_block") => "s3:PutBucketPublicAccessBlock",
        ("s3", "get_bucket_encryption") => "s3:GetEncryptionConfiguration",
        ("s3", "put_bucket_encryption") => "s3:PutEncryptionConfiguration",
        _ => return None,
    };
    Some(action.to_owned())
}

/// The IAM actions one reachable body needs for its SDK calls.
fn actions_of(f: &AdapterFn, sdks: &BTreeMap<String, BTreeSet<String>>) -> BTreeSet<String> {
    let prefix = |sdk: &str| match sdk {
        "eventbridge" => "events".to_owned(),
        other => other.to_owned(),
    };
    let pascal = |op: &str| -> String {
        op.split('_')
            .map(|w| {
                let mut c = w.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            })
            .collect()
    };
    let mut out = BTreeSet::new();
    for (i, _) in f.body.match_indices("()") {
        let before = &f.body[..i];
        let start = before
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |s| s + 1);
        if start == 0 || !before[..start].trim_end().ends_with('.') {
            continue;
        }
        let op = &before[start..];
        let mut candidates: Vec<&String> = f.sdks.iter().filter(|s| sdks[*s].contains(op)).collect();
        // An operation two clients of the file share (`get_policy`: IAM's and Lambda's) is the
        // one of the client it is called on (`self.lambda.get_policy()`).
        let receiver = before[..start].trim_end().trim_end_matches('.').trim_end();
        let receiver = &receiver[receiver
            .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(0, |i| i + 1)..];
        if candidates.len() > 1 && candidates.iter().any(|s| s.as_str() == receiver) {
            candidates.retain(|s| s.as_str() == receiver);
        }
        for sdk in candidates {
            if let Some(action) = iam_action(sdk, op) {
                out.insert(action);
            } else if !(sdk == "sts" && op == "get_caller_identity") && op != "transact_write_items" {
                out.insert(format!("{}:{}", prefix(sdk), pascal(op)));
            }
        }
    }
    // A state read at a version by id: the versioned read helper called with a version.
    for (i, _) in f.body.match_indices("get_object_version_within(") {
        if f.body[..i].ends_with("fn ") {
            continue;
        }
        let mut depth = 0usize;
        let mut args = vec![String::new()];
        for c in f.body[i + "get_object_version_within".len()..].chars() {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 1 => {
                    args.push(String::new());
                    continue;
                }
                _ => {}
            }
            if depth == 0 {
                break;
            }
            if let Some(arg) = args.last_mut() {
                arg.push(c);
            }
        }
        if args.get(3).is_some_and(|a| a.trim() != "None") {
            out.insert("s3:GetObjectVersion".to_owned());
        }
    }
    for (builder, action) in [
        ("Put::builder(", "dynamodb:PutItem"),
        ("Update::builder(", "dynamodb:UpdateItem"),
        ("Delete::builder(", "dynamodb:DeleteItem"),
        ("ConditionCheck::builder(", "dynamodb:ConditionCheckItem"),
    ] {
        if f.body.contains(builder) {
            out.insert(action.to_owned());
        }
    }
    out
}

/// The port methods core's own code calls on the adapters it is given (`store.apply(...)`,
/// `publisher.publish(...)`, `port.detect_drift(...)`): an adapter's implementation of one is
/// reached through core.
/// (`conformance.rs` is the adapters' test kit, not a path a function takes.)
fn core_port_calls(root: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in rust_files(&root.join("shared/core/src")) {
        if file.ends_with("conformance.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("source reads");
        let src = without_tests(&text);
        for receiver in ["store.", "publisher.", "port."] {
            for (i, _) in src.match_indices(receiver) {
                let rest = &src[i + receiver.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if rest[name.len()..].starts_with('(') {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// What every function's scan shares, read once: the SDK operations, `shared/aws`'s functions
/// and types, and the port methods core calls.
struct SharedScan {
    sdks: BTreeMap<String, BTreeSet<String>>,
    fns: Vec<AdapterFn>,
    types: BTreeSet<String>,
    core_calls: BTreeSet<String>,
}

/// The IAM actions the code of the function in `functions/<dir>` can need.
fn code_actions(root: &Path, dir: &str, scan: &SharedScan) -> BTreeSet<String> {
    let SharedScan {
        sdks,
        fns,
        types,
        core_calls,
    } = scan;
    let own: String = rust_files(&root.join("functions").join(dir).join("src"))
        .iter()
        .map(|f| without_tests(&std::fs::read_to_string(f).expect("source reads")).to_owned())
        .collect();
    let mut named = type_names(&own, types);
    let mut called = identifiers_called(&own);
    called.extend(core_calls.iter().cloned());
    let mut todo: Vec<usize> = (0..fns.len())
        .filter(|&i| {
            let f = &fns[i];
            f.owner.as_ref().is_none_or(|t| named.contains(t)) && called.contains(&f.name)
        })
        .collect();
    let mut seen = BTreeSet::new();
    while let Some(i) = todo.pop() {
        if !seen.insert(i) {
            continue;
        }
        let f = &fns[i];
        named.extend(type_names(&f.body, types));
        called.extend(identifiers_called(&f.body));
        for (j, g) in fns.iter().enumerate() {
            if !seen.contains(&j) && g.owner.as_ref().is_none_or(|t| named.contains(t)) && called.contains(&g.name) {
                todo.push(j);
            }
        }
    }
    // The function's own code, as one body: it calls no SDK itself, but may read a version.
    let own = AdapterFn {
        owner: None,
        name: dir.to_owned(),
        body: own,
        sdks: Vec::new(),
    };
    if std::env::var_os("DRIFTGUARD_PRIVILEGE_TRACE").is_some() {
        for &i in &seen {
            let f = &fns[i];
            eprintln!(
                "{dir}: {}::{} {:?}",
                f.owner.as_deref().unwrap_or("-"),
                f.name,
                actions_of(f, sdks)
            );
        }
    }
    seen.iter()
        .map(|&i| &fns[i])
        .chain([&own])
        .flat_map(|f| actions_of(f, sdks))
        .collect()
}

/// One Allow statement of a role: its id, actions and resources.
#[derive(Debug, Clone)]
struct Grant {
    sid: String,
    actions: Vec<String>,
    resources: Vec<Value>,
}

/// Every Allow statement granted to `role`: its inline policies and the `AWS::IAM::RolePolicy`
/// resources naming it, each `!If` read as true.
fn role_grants(template: &Value, role: &str) -> Vec<Grant> {
    fn collect(doc: &Value, out: &mut Vec<Grant>) {
        let statements = when_true(doc).1.get("Statement").map(|s| when_true(s).1);
        for s in statements.and_then(Value::as_sequence).into_iter().flatten() {
            let s = when_true(s).1;
            if is_ref(s, "AWS::NoValue") || str_of(s.get("Effect")) != Some("Allow") {
                continue;
            }
            let resources = match s.get("Resource").map(|r| untag(r).1) {
                Some(Value::Sequence(items)) => items.clone(),
                Some(_) => vec![s.get("Resource").cloned().unwrap_or(Value::Null)],
                None => Vec::new(),
            };
            out.push(Grant {
                sid: str_of(s.get("Sid")).unwrap_or("").to_owned(),
                actions: strings(s.get("Action")),
                resources,
            });
        }
    }
    let mut out = Vec::new();
    let policies = get(template, &["Resources", role, "Properties", "Policies"]).map(|p| when_true(p).1);
    for policy in policies.and_then(Value::as_sequence).into_iter().flatten() {
        if let Some(doc) = when_true(policy).1.get("PolicyDocument") {
            collect(doc, &mut out);
        }
    }
    for (_, policy) in resources_of(template, "AWS::IAM::RolePolicy") {
        if get(policy, &["Properties", "RoleName"]).is_some_and(|r| is_ref(r, role)) {
            if let Some(doc) = get(policy, &["Properties", "PolicyDocument"]) {
                collect(doc, &mut out);
            }
        }
    }
    out
}

/// Everything wrong with the roles of the template's functions against what their code calls.
fn privilege_problems(template: &Value, root: &Path) -> Vec<String> {
    let sdks = sdk_operations(root);
    let (fns, types) = adapter_fns(root, &sdks);
    let scan = SharedScan {
        core_calls: core_port_calls(root),
        sdks,
        fns,
        types,
    };
    let mut problems = Vec::new();
    for (id, function) in resources_of(template, "AWS::Serverless::Function") {
        let Some(dir) = str_of(get(function, &["Properties", "CodeUri"])).and_then(|c| c.strip_prefix("../functions/"))
        else {
            problems.push(format!("{id}: no CodeUri under ../functions/"));
            continue;
        };
        let role = match get(function, &["Properties", "Role"]).map(untag) {
            Some((Some(tag), v)) if tag == "GetAtt" => {
                v.as_str().and_then(|r| r.strip_suffix(".Arn")).map(str::to_owned)
            }
            _ => None,
        };
        let Some(role) = role else {
            problems.push(format!(
                "{id}: its role is not one of the template's (Role: !GetAtt <Role>.Arn)"
            ));
            continue;
        };
        let mut needed = code_actions(root, dir, &scan);
        for (_, action, why) in NOT_MADE.iter().filter(|(d, _, _)| *d == dir) {
            if !needed.remove(*action) {
                problems.push(format!(
                    "{dir}: NOT_MADE lists {action} ({why}), which the scan no longer reaches"
                ));
            }
        }
        let grants = role_grants(template, &role);
        let implied = |sid: &str| IMPLIED.iter().any(|(s, _)| *s == sid);
        let granted: BTreeSet<String> = grants
            .iter()
            .filter(|g| !implied(&g.sid))
            .flat_map(|g| g.actions.iter().cloned())
            .collect();
        for action in needed.difference(&granted) {
            problems.push(format!(
                "{role} ({dir}): the code calls {action}, the role does not grant it"
            ));
        }
        for action in granted.difference(&needed) {
            problems.push(format!(
                "{role} ({dir}): grants {action}, which no code of the function calls"
            ));
        }
        for g in &grants {
            let everything = g.resources.iter().any(|r| r.as_str() == Some("*"));
            for action in g.actions.iter().filter(|_| everything) {
                if !implied(&g.sid) && !UNSCOPED.iter().any(|(a, _)| a == action) {
                    problems.push(format!("{role} ({dir}): {action} on every resource (Sid {})", g.sid));
                }
            }
            if g.resources.is_empty() {
                problems.push(format!("{role} ({dir}): statement {} names no resource", g.sid));
            }
        }
    }
    problems
}

#[test]
fn each_role_grants_exactly_the_calls_its_function_makes() {
    let root = workspace();
    let problems = privilege_problems(&template(&root), &root);
    assert!(problems.is_empty(), "least privilege:\n{}", problems.join("\n"));
}

/// The statement `sid` of `role`'s inline policies (not under `!If`), to change in a test.
fn statement_mut<'t>(template: &'t mut Value, role: &str, sid: &str) -> &'t mut Mapping {
    let policies = template["Resources"][role]["Properties"]["Policies"]
        .as_sequence_mut()
        .expect("inline policies");
    policies
        .iter_mut()
        .flat_map(|p| p["PolicyDocument"]["Statement"].as_sequence_mut().into_iter().flatten())
        .filter_map(Value::as_mapping_mut)
        .find(|s| s.get("Sid").and_then(Value::as_str) == Some(sid))
        .unwrap_or_else(|| panic!("{role} has a statement {sid}"))
}

#[test]
fn a_missing_grant_an_unused_one_and_an_unscoped_one_are_caught() {
    let root = workspace();
    let clean = template(&root);

    let mut missing = clean.clone();
    statement_mut(&mut missing, "IngestRole", "Publish").insert("Action".into(), "events:PutRule".into());
    let found = privilege_problems(&missing, &root);
    assert!(
        found.contains(&"IngestRole (ingest): the code calls events:PutEvents, the role does not grant it".to_owned()),
        "{found:#?}"
    );
    assert!(
        found.contains(&"IngestRole (ingest): grants events:PutRule, which no code of the function calls".to_owned()),
        "{found:#?}"
    );

    let mut extra = clean.clone();
    let states = extra["Resources"]["IngestStatess3acmetfstateliveprod"]["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .expect("the per-location policy of ingest");
    states.push(
        serde_yaml::from_str(
            "{Sid: Tidy, Effect: Allow, Action: s3:DeleteObject, Resource: 'arn:aws:s3:::acme-tfstate/live/prod/*'}",
        )
        .expect("yaml"),
    );
    let found = privilege_problems(&extra, &root);
    assert_eq!(
        found,
        vec!["IngestRole (ingest): grants s3:DeleteObject, which no code of the function calls".to_owned()]
    );

    let mut unscoped = clean;
    statement_mut(&mut unscoped, "IngestRole", "Publish").insert("Resource".into(), "*".into());
    let found = privilege_problems(&unscoped, &root);
    assert_eq!(
        found,
        vec!["IngestRole (ingest): events:PutEvents on every resource (Sid Publish)".to_owned()]
    );
}
