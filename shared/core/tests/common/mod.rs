//! Helpers shared by the core crate's integration tests: where the fixtures and the public
//! corpora live (corpus tests are listed as ignored, with the reason, when `../shared/data` is
//! absent: see [`corpora`]), a builder for minimal CloudTrail records, and owned summaries of
//! what the decoder yields.

// Each test crate uses a subset of these helpers.
#![allow(dead_code)]

pub mod evaluate;

use driftguard_core::config_item::ConfigChange;
use driftguard_core::decode::{decode, DecodeError, Item, Position};
use driftguard_core::record::ApiCall;
use serde_json::{json, Map, Value};
use std::path::{Path, PathBuf};

/// The workspace root (`/work/main`).
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's real-shaped sample payloads.
pub fn events_dir() -> PathBuf {
    workspace().join("events")
}

/// Deliberately broken inputs.
pub fn bad_dir() -> PathBuf {
    workspace().join("tests/data/bad")
}

/// Why a corpus test is ignored when the corpora are absent (the text of its
/// `#[cfg_attr(driftguard_no_data, ignore = "...")]`, which must be a literal).
pub const NO_DATA: &str = "needs the public corpora at ../shared/data, which are absent";

/// The public corpora at `../shared/data` (beside the workspace).
///
/// Tests that call this carry `#[cfg_attr(driftguard_no_data, ignore = "...")]`: `build.rs` sets
/// `driftguard_no_data` when the corpora are absent (and `DRIFTGUARD_REQUIRE_DATA` is not set),
/// so libtest lists them as ignored with the reason. A test that gets here anyway (run with
/// `--ignored`, or required by CI) fails, naming the folder. So that the corpora cannot shrink
/// silently, every folder their README lists must hold at least the number of files it states.
pub fn corpora(test: &str) -> PathBuf {
    let dir = workspace().join("../shared/data");
    assert!(
        dir.is_dir(),
        "{test} {NO_DATA} ({}); CI sets DRIFTGUARD_REQUIRE_DATA=1 so that this fails there",
        dir.display()
    );
    let listed = listed_folders(&dir);
    assert!(
        listed.len() >= 13,
        "{test}: {}/README.md lists {} corpus folders, expected at least 13: {listed:?}",
        dir.display(),
        listed.len()
    );
    for (folder, want) in &listed {
        let have = files(&dir.join(folder), &|_| true).len();
        assert!(
            have >= *want,
            "{test}: the corpus {folder} holds {have} files, its README lists {want}: it shrank"
        );
    }
    dir
}

/// The folders of the corpora's README table, with the number of files each is said to hold.
fn listed_folders(dir: &Path) -> Vec<(String, usize)> {
    let readme =
        std::fs::read_to_string(dir.join("README.md")).unwrap_or_else(|e| panic!("{}/README.md: {e}", dir.display()));
    readme
        .lines()
        .filter_map(|line| {
            // | `folder/` | upstream | licence | files | what |
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            let folder = cells.get(1)?.strip_prefix('`')?.strip_suffix("/`")?;
            let count = cells.get(4)?.parse().ok()?;
            Some((folder.to_owned(), count))
        })
        .collect()
}

/// Every file under `dir` (recursively) that `keep` accepts, sorted.
pub fn files(dir: &Path, keep: &dyn Fn(&Path) -> bool) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(d) = pending.pop() {
        let entries = std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                // JSON Schema files describe events; they are not events.
                if !path.ends_with("schema") {
                    pending.push(path);
                }
            } else if keep(&path) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// True for the files the decoder reads: `.json` and `.gz`.
pub fn is_event_file(path: &Path) -> bool {
    let name = file_name(path);
    name.ends_with(".json") || name.ends_with(".gz")
}

/// The last component of a path, as text.
pub fn file_name(path: &Path) -> &str {
    path.file_name().and_then(|n| n.to_str()).expect("UTF-8 file name")
}

/// A file's bytes.
pub fn read(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A minimal, valid CloudTrail record of `source`/`name`, plus (or overriding) `fields`.
pub fn record(source: &str, name: &str, fields: Value) -> Value {
    let mut r = json!({
        "eventVersion": "1.11",
        "eventID": "8e3c2f4a-0b1d-4c5e-9f6a-7b8c9d0e1f2a",
        "eventTime": "2026-11-20T09:58:02Z",
        "eventSource": source,
        "eventName": name,
        "awsRegion": "eu-west-1",
        "recipientAccountId": "123456789012",
        "userIdentity": {
            "type": "IAMUser",
            "arn": "arn:aws:iam::123456789012:user/bob",
            "accountId": "123456789012",
            "userName": "bob"
        }
    });
    let extra: Map<String, Value> = serde_json::from_value(fields).expect("fields are an object");
    r.as_object_mut().expect("record is an object").extend(extra);
    r
}

/// An API call the decoder yielded, owned.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub at: Position,
    pub event_id: String,
    pub source: String,
    pub name: String,
    pub detail_type: Option<String>,
    pub read_only: Option<bool>,
    pub from_console: bool,
}

/// One decoded item, owned.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    Api(Call),
    Config(Position, Box<ConfigChange>),
    /// An event DriftGuard published, by detail-type.
    Own(String),
}

/// Everything one document decoded to.
#[derive(Debug, Default)]
pub struct Outcome {
    pub items: Vec<Decoded>,
    pub errors: Vec<DecodeError>,
}

impl Outcome {
    /// The API calls, in order.
    pub fn calls(&self) -> Vec<&Call> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Decoded::Api(c) => Some(c),
                Decoded::Config(..) | Decoded::Own(_) => None,
            })
            .collect()
    }

    /// The Config changes, in order.
    pub fn configs(&self) -> Vec<&ConfigChange> {
        self.items
            .iter()
            .filter_map(|i| match i {
                Decoded::Config(_, c) => Some(&**c),
                Decoded::Api(_) | Decoded::Own(_) => None,
            })
            .collect()
    }

    /// The errors' messages, as a user reads them.
    pub fn messages(&self) -> Vec<String> {
        self.errors.iter().map(ToString::to_string).collect()
    }
}

/// Decodes one document into owned items and errors.
pub fn decode_bytes(bytes: &[u8], origin: &str) -> Outcome {
    let mut out = Outcome::default();
    decode(bytes, origin, &mut |at, item| match item {
        Ok(Item::Api { call, detail_type }) => out.items.push(Decoded::Api(Call {
            at: at.clone(),
            event_id: call.event_id.to_string(),
            source: call.source.to_string(),
            name: call.name.to_string(),
            detail_type: detail_type.map(|d| d.to_string()),
            read_only: call.read_only,
            from_console: call.from_console,
        })),
        Ok(Item::Config(change)) => out.items.push(Decoded::Config(at.clone(), change)),
        Ok(Item::Own(detail_type) | Item::StateObject(detail_type)) => out.items.push(Decoded::Own(detail_type)),
        Err(e) => out.errors.push(e),
    });
    out
}

/// Decodes a file, naming it by its path.
pub fn decode_path(path: &Path) -> Outcome {
    decode_bytes(&read(path), &path.display().to_string())
}

/// Hands every API call in a document to `f`; returns the number of decode errors.
pub fn for_each_call(bytes: &[u8], origin: &str, f: &mut dyn FnMut(&ApiCall<'_>)) -> usize {
    let mut errors = 0;
    decode(bytes, origin, &mut |_, item| match item {
        Ok(Item::Api { call, .. }) => f(&call),
        Ok(Item::Config(_) | Item::Own(_) | Item::StateObject(_)) => {}
        Err(_) => errors += 1,
    });
    errors
}

/// The files of the public corpora that carry CloudTrail records or EventBridge events:
/// `cloudtrail-*`, `eventbridge-*` and `config-cloud-custodian/omnissm-eventbridge`.
pub fn cloudtrail_corpus_files(root: &Path) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(root)
        .expect("corpus root is readable")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| {
            let name = file_name(p);
            p.is_dir() && (name.starts_with("cloudtrail-") || name.starts_with("eventbridge-"))
        })
        .collect();
    dirs.push(root.join("config-cloud-custodian/omnissm-eventbridge"));
    dirs.sort();
    dirs.iter()
        .flat_map(|d| {
            files(d, &|p| {
                let n = file_name(p);
                n.ends_with(".json") || n.ends_with(".json.gz")
            })
        })
        .collect()
}

/// One document to decode: a corpus file, or one record unwrapped from a rule-test harness file.
pub struct Document {
    /// Path relative to the corpus root, with `[i]` for an unwrapped element.
    pub origin: String,
    pub bytes: Vec<u8>,
}

/// The CloudTrail-bearing corpus files, plus the records that rule-test harness files wrap:
/// Panther's `[{"log": {record}, ...}]` and StreamAlert's `[{"data": {record}, "log": "<type>"}]`.
pub fn corpus_documents(root: &Path) -> Vec<Document> {
    let mut out = Vec::new();
    for path in cloudtrail_corpus_files(root) {
        let rel = path.strip_prefix(root).expect("under root").display().to_string();
        let bytes = read(&path);
        if let Ok(Value::Array(elements)) = serde_json::from_slice::<Value>(&bytes) {
            for (i, e) in elements.iter().enumerate() {
                let wrapped = match (e.get("log"), e.get("data")) {
                    (Some(log @ Value::Object(_)), _) => Some(log),
                    (Some(Value::String(_)), Some(data @ Value::Object(_))) => Some(data),
                    _ => None,
                };
                if let Some(doc) = wrapped {
                    out.push(Document {
                        origin: format!("{rel}[{i}]"),
                        bytes: serde_json::to_vec(doc).expect("re-serialise"),
                    });
                }
            }
        }
        out.push(Document { origin: rel, bytes });
    }
    out
}

/// The findings the sample events give against the sample states, in file order.
pub fn sample_findings() -> Vec<driftguard_core::finding::Finding> {
    let mut inv = driftguard_core::inventory::Inventory::new();
    for s in ["network.tfstate", "data.tfstate"] {
        inv.add_state(s, &read(&events_dir().join("terraform").join(s)))
            .expect("state");
    }
    let pipeline =
        driftguard_core::pipeline::Pipeline::new(&driftguard_core::attribution::AttributionConfig::default(), inv);
    let mut out = Vec::new();
    for path in files(&events_dir(), &|p| is_event_file(p)) {
        decode(&read(&path), "sample", &mut |_: &Position, item| {
            if let driftguard_core::pipeline::Outcome::Finding(f) =
                pipeline.evaluate(&item.expect("sample events decode")).outcome
            {
                out.push(*f);
            }
        });
    }
    out
}
