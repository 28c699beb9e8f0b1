//! The decoder on every input shape a user meets: the project's sample events, deliberately
//! broken files, gzip, SQS batches, arrays, unknown shapes, garbage bytes, CloudTrail's
//! string-or-boolean fields, and (when present) the public corpora under `/work/shared/data`.

mod common;

use common::{
    bad_dir, corpora, corpus_documents, decode_bytes, decode_path, events_dir, file_name, files, is_event_file, read,
    record, Decoded, Outcome,
};
use driftguard_core::decode::DecodeErrorKind;
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::path::Path;

/// Gunzips with flate2 directly, independently of the decoder.
fn gunzip(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(bytes)
        .read_to_end(&mut out)
        .expect("fixture is valid gzip");
    out
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(bytes).expect("gzip in memory");
    enc.finish().expect("gzip in memory")
}

/// What identifies a decoded item, and the record index it sits at.
fn keys(out: &Outcome) -> Vec<(Option<usize>, String)> {
    out.items
        .iter()
        .map(|i| match i {
            Decoded::Api(c) => (c.at.index, format!("api {} {}/{}", c.event_id, c.source, c.name)),
            Decoded::Config(at, c) => (at.index, format!("config {} {}", c.resource_type, c.resource_id)),
            Decoded::Own(detail_type) => (None, format!("own {detail_type}")),
        })
        .collect()
}

#[test]
fn every_sample_event_decodes() {
    let paths = files(&events_dir(), &|p| is_event_file(p));
    assert!(paths.len() >= 15, "only {} sample events found", paths.len());
    for path in &paths {
        let out = decode_path(path);
        assert!(out.errors.is_empty(), "{}: {:?}", path.display(), out.messages());
        assert!(!out.items.is_empty(), "{}: no item", path.display());
    }
    let own: Vec<_> = paths
        .iter()
        .filter(|p| p.parent().is_some_and(|d| d.ends_with("driftguard")))
        .collect();
    assert!(!own.is_empty(), "DriftGuard's own sample events are walked");
    for path in own {
        assert!(
            matches!(decode_path(path).items[..], [Decoded::Own(_)]),
            "{}",
            path.display()
        );
    }
    let states = files(&events_dir(), &|p| file_name(p).ends_with(".tfstate"));
    assert!(
        !states.is_empty(),
        "the walk skips the Terraform states in events/terraform"
    );
}

/// Decodes a file of `tests/data/bad` and checks the item count and each error: the record
/// index it names and text its message must contain.
fn check_bad(file: &str, items: usize, errors: &[(Option<usize>, &[&str])]) {
    let out = decode_path(&bad_dir().join(file));
    assert_eq!(out.items.len(), items, "{file}: items");
    let messages = out.messages();
    assert_eq!(out.errors.len(), errors.len(), "{file}: {messages:?}");
    for ((err, msg), (index, needles)) in out.errors.iter().zip(&messages).zip(errors) {
        assert_eq!(err.at.index, *index, "{file}: {msg}");
        for needle in std::iter::once(&file).chain(needles.iter()) {
            assert!(msg.contains(needle), "{file}: {msg:?} should mention {needle:?}");
        }
    }
}

#[test]
fn bad_inputs_fail_with_a_clear_message() {
    check_bad(
        "malformed.json",
        0,
        &[(None, &["malformed JSON", " line ", " column "])],
    );
    check_bad(
        "unknown-detail-type.json",
        0,
        &[(None, &["\"EC2 Instance State-change Notification\"", "aws.ec2"])],
    );
    check_bad("records-one-bad.json", 2, &[(Some(1), &["record 1", "eventSource"])]);
}

#[test]
fn the_good_records_around_a_bad_one_survive() {
    let out = decode_path(&bad_dir().join("records-one-bad.json"));
    let names: Vec<_> = out.calls().iter().map(|c| (c.at.index, c.name.clone())).collect();
    assert_eq!(
        names,
        [
            (Some(0), "DescribeSecurityGroups".to_owned()),
            (Some(2), "DescribeInstances".to_owned())
        ]
    );
}

/// Decodes `plain` and its gzip and checks both yield the same, non-empty, error-free items.
fn check_gzip_matches_plain(origin: &str, plain: &[u8], compressed: &[u8]) {
    let (a, b) = (decode_bytes(plain, origin), decode_bytes(compressed, origin));
    assert!(
        a.errors.is_empty() && b.errors.is_empty(),
        "{origin}: {:?} {:?}",
        a.messages(),
        b.messages()
    );
    assert!(!a.items.is_empty(), "{origin}: no item");
    assert_eq!(a.items, b.items, "{origin}");
}

#[test]
fn gzip_decodes_like_the_plain_text() {
    let logs = files(&events_dir().join("cloudtrail-logs"), &|p| {
        file_name(p).ends_with(".json.gz")
    });
    assert!(!logs.is_empty(), "a gzipped log file is among the samples");
    for path in &logs {
        let compressed = read(path);
        check_gzip_matches_plain(&path.display().to_string(), &gunzip(&compressed), &compressed);
    }
    for name in [
        "cloudtrail/s3-create-bucket.cli-user.json",
        "sqs/batch.two-records.json",
    ] {
        let plain = read(&events_dir().join(name));
        check_gzip_matches_plain(name, &plain, &gzip(&plain));
    }
}

#[test]
fn truncated_gzip_is_an_error() {
    let path = files(&events_dir().join("cloudtrail-logs"), &|p| {
        file_name(p).ends_with(".gz")
    })
    .pop()
    .expect("a gzipped log file");
    let bytes = read(&path);
    for cut in [bytes.len() / 2, 10, 3, bytes.len() - 4] {
        let out = decode_bytes(&bytes[..cut], "truncated.json.gz");
        assert!(out.items.is_empty(), "cut at {cut}: {:?}", keys(&out));
        assert_eq!(out.errors.len(), 1, "cut at {cut}");
        assert!(
            matches!(out.errors[0].kind, DecodeErrorKind::Gzip(_)),
            "cut at {cut}: {}",
            out.errors[0]
        );
        assert!(out.errors[0].to_string().contains("truncated.json.gz"));
    }
}

#[test]
fn sqs_batch_items_carry_their_message_ids() {
    let out = decode_path(&events_dir().join("sqs/batch.two-records.json"));
    assert!(out.errors.is_empty(), "{:?}", out.messages());
    let got: Vec<_> = out
        .calls()
        .iter()
        .map(|c| {
            (
                c.at.index,
                c.at.message_id.clone(),
                c.name.as_str(),
                c.detail_type.as_deref(),
            )
        })
        .collect();
    let via = Some("AWS API Call via CloudTrail");
    assert_eq!(
        got,
        [
            (
                Some(0),
                Some("bb21a35c-2374-41ea-9fde-3b11de4c4278".to_owned()),
                "PutBucketPolicy",
                via
            ),
            (
                Some(1),
                Some("250ae614-388c-4b98-8419-e21f25c6c480".to_owned()),
                "ModifyInstanceAttribute",
                via
            ),
        ]
    );
}

#[test]
fn a_json_array_of_envelopes_yields_each() {
    let names = [
        "cloudtrail/ec2-create-tags.cloudshell.json",
        "config/security-group.configuration-item-change.json",
    ];
    let docs: Vec<Vec<u8>> = names.iter().map(|n| read(&events_dir().join(n))).collect();
    let array = [b"[".as_slice(), &docs[0], b",", &docs[1], b"]"].concat();
    let out = decode_bytes(&array, "array.json");
    assert!(out.errors.is_empty(), "{:?}", out.messages());
    let alone: Vec<_> = docs
        .iter()
        .enumerate()
        .flat_map(|(i, d)| {
            keys(&decode_bytes(d, "one.json"))
                .into_iter()
                .map(move |(_, k)| (Some(i), k))
        })
        .collect();
    assert_eq!(alone.len(), 2, "each document alone yields one item");
    assert_eq!(keys(&out), alone);
}

#[test]
fn an_unknown_object_lists_its_top_level_keys() {
    let out = decode_bytes(br#"{"zeta": 1, "alpha": {"eventName": "x"}, "middle": []}"#, "odd.json");
    assert!(out.items.is_empty());
    assert_eq!(out.errors.len(), 1);
    match &out.errors[0].kind {
        DecodeErrorKind::UnknownShape(keys) => assert_eq!(keys, "alpha, middle, zeta"),
        other => panic!("expected UnknownShape, got {other:?}"),
    }
    assert!(out.errors[0].to_string().contains("odd.json"));
}

/// Deterministic pseudo-random bytes (xorshift64), so a failure reproduces.
fn noise(seed: u64, len: usize) -> Vec<u8> {
    let mut x = seed.max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()[0]
        })
        .collect()
}

/// Garbage decodes to errors: never an item, never silence, never a panic.
fn check_garbage(label: &str, bytes: &[u8]) {
    let out =
        std::panic::catch_unwind(|| decode_bytes(bytes, label)).unwrap_or_else(|_| panic!("{label}: decoder panicked"));
    assert!(out.items.is_empty(), "{label}: {:?}", keys(&out));
    assert!(!out.errors.is_empty(), "{label}: no error");
}

#[test]
fn garbage_is_an_error_never_a_panic() {
    let fixed: &[(&str, &[u8])] = &[
        ("empty", b""),
        ("blank", b" \n\t "),
        ("null", b"null"),
        ("number", b"42"),
        ("string", b"\"Records\""),
        ("not UTF-8", b"\xff\xfe{\"a\": 1}"),
        ("not UTF-8 inside a string", b"{\"eventName\": \"\xc3\x28\"}"),
        ("gzip magic then junk", b"\x1f\x8b\x08\x00junkjunk"),
        ("unclosed array", b"[{\"Records\": []}"),
        ("Records not an array", b"{\"Records\": 5}"),
        (
            "detail not an object",
            b"{\"detail-type\": \"AWS API Call via CloudTrail\", \"detail\": 5}",
        ),
        (
            "SQS message without body",
            b"{\"Records\": [{\"eventSource\": \"aws:sqs\", \"messageId\": \"m\"}]}",
        ),
        (
            "SQS body not JSON",
            b"{\"Records\": [{\"eventSource\": \"aws:sqs\", \"body\": \"nope\"}]}",
        ),
    ];
    for (label, bytes) in fixed {
        check_garbage(label, bytes);
    }
    for seed in 1..=200u64 {
        check_garbage(
            &format!("noise seed {seed}"),
            &noise(seed, (seed as usize * 37) % 2048 + 1),
        );
    }
}

/// Decodes a record whose `readOnly` and `sessionCredentialFromConsole` are both `value`.
fn check_flags(value: Option<Value>, read_only: Option<bool>, from_console: bool) {
    let fields = match &value {
        Some(v) => json!({ "readOnly": v, "sessionCredentialFromConsole": v }),
        None => json!({}),
    };
    let doc = record("ec2.amazonaws.com", "CreateTags", fields).to_string();
    let out = decode_bytes(doc.as_bytes(), "flags.json");
    assert!(out.errors.is_empty(), "{value:?}: {:?}", out.messages());
    let call = out.calls()[0].clone();
    assert_eq!(
        (call.read_only, call.from_console),
        (read_only, from_console),
        "{value:?}"
    );
}

#[test]
fn string_or_boolean_flags_decode() {
    check_flags(Some(json!("true")), Some(true), true);
    check_flags(Some(json!("false")), Some(false), false);
    check_flags(Some(json!(true)), Some(true), true);
    check_flags(Some(json!(false)), Some(false), false);
    check_flags(Some(json!("TRUE")), Some(true), true);
    check_flags(Some(Value::Null), None, false);
    check_flags(None, None, false);
}

/// Decodes every CloudTrail-bearing corpus document, catching panics per document.
fn decode_corpora(root: &Path) -> Vec<(String, Outcome)> {
    let mut panicked = Vec::new();
    let mut out = Vec::new();
    for doc in corpus_documents(root) {
        match std::panic::catch_unwind(|| decode_bytes(&doc.bytes, &doc.origin)) {
            Ok(o) => out.push((doc.origin, o)),
            Err(_) => panicked.push(doc.origin),
        }
    }
    assert!(panicked.is_empty(), "decoder panicked on {panicked:?}");
    out
}

#[test]
#[cfg_attr(
    driftguard_no_data,
    ignore = "needs the public corpora at ../shared/data, which are absent"
)]
fn public_corpora_decode_without_panic() {
    let root = corpora("public_corpora_decode_without_panic");
    let decoded = decode_corpora(&root);
    assert!(decoded.len() >= 50, "only {} corpus documents", decoded.len());
    let (mut items, mut errors) = (0, 0);
    for (rel, out) in &decoded {
        println!("{rel}: {} items, {} errors", out.items.len(), out.errors.len());
        for m in out.messages() {
            println!("    {m}");
        }
        items += out.items.len();
        errors += out.errors.len();
    }
    println!("corpora: {} documents, {items} items, {errors} errors", decoded.len());
    assert!(items >= 500, "only {items} items decoded from the corpora");
    for (rel, out) in &decoded {
        assert!(
            !out.items.is_empty() || !out.errors.is_empty(),
            "{rel}: decoded to nothing, silently"
        );
        for e in &out.errors {
            // The corpus files are whole and small: nothing fails for gzip or size.
            assert!(
                !matches!(e.kind, DecodeErrorKind::Gzip(_) | DecodeErrorKind::TooLarge { .. }),
                "{e}"
            );
        }
    }
}

#[test]
#[cfg_attr(
    driftguard_no_data,
    ignore = "needs the public corpora at ../shared/data, which are absent"
)]
fn trailscraper_log_file_yields_every_record() {
    let root = corpora("trailscraper_log_file_yields_every_record");
    let logs = files(&root.join("cloudtrail-small-fixtures/trailscraper"), &|p| {
        file_name(p).ends_with(".json.gz")
    });
    assert!(!logs.is_empty(), "the trailscraper log file is present");
    for path in &logs {
        let compressed = read(path);
        let doc: Value = serde_json::from_slice(&gunzip(&compressed)).expect("log file is JSON");
        let records = doc["Records"].as_array().expect("a Records array").len();
        let out = decode_path(path);
        assert!(out.errors.is_empty(), "{}: {:?}", path.display(), out.messages());
        assert_eq!(out.calls().len(), records, "{}", path.display());
        assert!(records > 0);
    }
}

#[test]
#[cfg_attr(
    driftguard_no_data,
    ignore = "needs the public corpora at ../shared/data, which are absent"
)]
fn custodian_cloudtrail_events_decode_to_api_calls() {
    let root = corpora("custodian_cloudtrail_events_decode_to_api_calls");
    let paths = files(&root.join("eventbridge-cloud-custodian-cwe"), &|p| {
        let n = file_name(p);
        n.starts_with("event-cloud-trail-") && n.ends_with(".json")
    });
    assert!(paths.len() >= 15, "only {} event-cloud-trail files", paths.len());
    for path in &paths {
        let out = decode_path(path);
        let doc: Value = serde_json::from_slice(&read(path)).expect("corpus file is JSON");
        let record = doc.get("detail").unwrap_or(&doc);
        if record.get("eventID").is_some() {
            assert!(
                !out.calls().is_empty() && out.errors.is_empty(),
                "{}: {} calls, errors {:?}",
                path.display(),
                out.calls().len(),
                out.messages()
            );
        } else {
            // Upstream trimmed this record (no eventID, DriftGuard's idempotency key): it must
            // be refused by name, not dropped.
            assert_eq!(out.messages().len(), 1, "{}", path.display());
            assert!(
                out.messages()[0].contains("no eventID"),
                "{}: {:?}",
                path.display(),
                out.messages()
            );
        }
    }
}

#[test]
#[cfg_attr(
    driftguard_no_data,
    ignore = "needs the public corpora at ../shared/data, which are absent"
)]
fn omnissm_config_changes_decode() {
    let root = corpora("omnissm_config_changes_decode");
    let dir = root.join("config-cloud-custodian/omnissm-eventbridge");
    let paths = files(&dir, &|p| file_name(p).ends_with(".json"));
    assert_eq!(paths.len(), 4, "four omnissm events");
    for path in &paths {
        let out = decode_path(path);
        assert!(out.errors.is_empty(), "{}: {:?}", path.display(), out.messages());
        let configs = out.configs();
        assert_eq!((configs.len(), out.items.len()), (1, 1), "{}", path.display());
        let c = configs[0];
        let got = (
            c.message_type.as_str(),
            c.resource_type.as_str(),
            !c.is_oversized(),
            c.s3_location.as_deref(),
        );
        let want = if file_name(path) == "oversizedConfigurationItem.json" {
            (
                "OversizedConfigurationItemChangeNotification",
                "AWS::SSM::ManagedInstanceInventory",
                false,
                Some("bucket/file.json.gz"),
            )
        } else {
            ("ConfigurationItemChangeNotification", "AWS::EC2::Instance", true, None)
        };
        assert_eq!(got, want, "{}", path.display());
    }
}

/// A document past the caller's limit is refused before it is inflated or parsed past it, with
/// an error that says so, whether it came gzipped (a "bomb": 4 MiB of zeros in a few KB) or not.
#[test]
fn documents_over_the_limit_are_refused_clearly() {
    use driftguard_core::decode::decode_within;
    let limit = 1 << 20;
    let bomb = gzip(&vec![b' '; 4 << 20]);
    assert!(bomb.len() < 64 << 10, "the bomb is small: {}", bomb.len());
    let big_plain = format!("[{}]", vec!["{}"; 600_000].join(","));
    for (what, bytes) in [("gzip bomb", bomb), ("plain", big_plain.into_bytes())] {
        let mut errors = Vec::new();
        let mut items = 0;
        decode_within(&bytes, "big.json", limit, &mut |_, item| match item {
            Ok(_) => items += 1,
            Err(e) => errors.push(e),
        });
        assert_eq!((items, errors.len()), (0, 1), "{what}");
        assert!(
            matches!(errors[0].kind, DecodeErrorKind::TooLarge { limit: l } if l == limit),
            "{what}: {}",
            errors[0]
        );
        let msg = errors[0].to_string();
        assert!(msg.contains("big.json") && msg.contains("1048576"), "{what}: {msg}");
    }
}

/// Inflating does not reserve a multiple of the input up front: for data that does not
/// compress, the buffer stays close to what it holds.
#[test]
fn gunzip_reserves_about_what_it_needs() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let noise: Vec<u8> = (0..(1 << 20))
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let compressed = gzip(&noise);
    let out = driftguard_core::decode::gunzip(&compressed).expect("valid gzip");
    assert_eq!(out, noise);
    assert!(
        out.capacity() <= 2 * out.len(),
        "{} bytes reserved for {} inflated from {}",
        out.capacity(),
        out.len(),
        compressed.len()
    );
}

/// JSON nested 100,000 deep, as a whole document, inside a record and inside a Terraform state's
/// attributes: each is one clear error naming where it was, never a stack overflow, and the
/// good records beside it still decode.
#[test]
fn json_nested_100000_deep_is_a_clear_error() {
    let depth = 100_000;
    let deep = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let mut errors = Vec::new();
    let mut items = 0;
    driftguard_core::decode::decode(deep.as_bytes(), "deep.json", &mut |_, item| match item {
        Ok(_) => items += 1,
        Err(e) => errors.push(e.to_string()),
    });
    assert_eq!((items, errors.len()), (0, 1), "{errors:?}");
    assert!(errors[0].contains("deep.json"), "{}", errors[0]);
    assert!(errors[0].contains("nested more than 8 levels deep"), "{}", errors[0]);

    // A record whose request parameters nest that deep (CloudTrail passes them through): it
    // decodes beside its neighbour, and evaluating both ends without a stack overflow.
    let good = common::record(
        "ec2.amazonaws.com",
        "CreateTags",
        json!({"requestParameters": {"resourcesSet": {"items": [{"resourceId": "sg-0123456789abcdef0"}]}}}),
    );
    let mut deep = common::record("ec2.amazonaws.com", "CreateTags", json!({})).to_string();
    deep.pop();
    let deep_record = format!(
        "{deep},\"requestParameters\":{{\"resourcesSet\":{}1{}}}}}",
        "{\"a\":".repeat(depth),
        "}".repeat(depth)
    );
    let log = format!("{{\"Records\":[{good},{deep_record}]}}");
    let mut items = 0;
    driftguard_core::decode::decode(log.as_bytes(), "trail.json", &mut |_, item| {
        if item.is_ok() {
            items += 1;
        }
    });
    assert_eq!(items, 2, "both records decode");
    let pipeline = common::evaluate::pipeline_over(&["events/terraform/network.tfstate"]);
    let outcomes = common::evaluate::outcomes(&pipeline, log.as_bytes());
    assert!(!outcomes.is_empty());

    // A state file whose attributes nest that deep is refused, named, not loaded in part.
    let state = format!(
        "{{\"version\":4,\"terraform_version\":\"1.9.0\",\"serial\":1,\"lineage\":\"x\",\"outputs\":{{}},\"resources\":[{{\"mode\":\"managed\",\"type\":\"aws_s3_bucket\",\"name\":\"b\",\"provider\":\"provider[\\\"registry.terraform.io/hashicorp/aws\\\"]\",\"instances\":[{{\"attributes\":{{\"id\":\"b\",\"tags\":{}1{}}}}}]}}]}}",
        "{\"a\":".repeat(depth),
        "}".repeat(depth)
    );
    let mut inventory = driftguard_core::inventory::Inventory::new();
    let err = inventory
        .add_state("deep.tfstate", state.as_bytes())
        .expect_err("too deep to load");
    assert!(err.to_string().contains("deep.tfstate"), "{err}");
    assert_eq!(inventory.len(), 0);
}
