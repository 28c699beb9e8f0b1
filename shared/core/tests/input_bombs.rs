//! Input bombs: inputs built to exhaust memory or time. Each gets a clear error naming the limit
//! it crossed (or, for a large but legitimate state, loads), with the process's peak memory
//! bounded by the documented limits. The tests run one at a time (a lock), and each resets the
//! kernel's peak-RSS mark (`/proc/self/clear_refs`) so `VmHWM` measures that test alone.

use driftguard_core::decode::{
    self, DecodeError, DecodeErrorKind, Item, Position, MAX_DOCUMENT_BYTES, MAX_RECORD_BYTES,
};
use driftguard_core::inventory::{Inventory, MAX_STATE_INSTANCES};
use std::io::Write;
use std::sync::Mutex;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const MIB: usize = 1024 * 1024;

/// The peak resident set since the last reset, in bytes (`VmHWM` in `/proc/self/status`).
fn peak_rss() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets the peak to the current resident set; false where the kernel does not offer it.
fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// Runs `f` and returns its result with the growth of the peak resident set it caused (`None`
/// where it cannot be measured: not Linux).
fn measured<T>(f: impl FnOnce() -> T) -> (T, Option<usize>) {
    let before = if reset_peak_rss() { peak_rss() } else { None };
    let out = f();
    let grown = before.zip(peak_rss()).map(|(b, a)| a.saturating_sub(b));
    (out, grown)
}

fn decode_all(bytes: &[u8], origin: &str) -> (usize, Vec<DecodeError>) {
    let mut items = 0;
    let mut errors = Vec::new();
    decode::decode(
        bytes,
        origin,
        &mut |_: &Position, item: Result<Item<'_>, DecodeError>| match item {
            Ok(_) => items += 1,
            Err(e) => errors.push(e),
        },
    );
    (items, errors)
}

/// A gzip stream that inflates to `members` MiB of zeros: one compressed MiB (about 1 KiB)
/// repeated as gzip members, which gunzip reads one after another.
fn zeros_bomb(members: usize) -> Vec<u8> {
    let mut one = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    one.write_all(&vec![0u8; MIB]).expect("gzip in memory");
    let one = one.finish().expect("gzip in memory");
    one.repeat(members)
}

/// 10 GiB of zeros in about 10 MB of gzip: refused once inflation passes the document limit,
/// with the error naming the limit, and memory bounded by that limit, not by the claim.
#[test]
fn gzip_bomb_of_10_gib_is_refused_at_the_document_limit() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let bomb = zeros_bomb(10 * 1024);
    assert!(bomb.len() < 16 * MIB, "{} bytes of gzip", bomb.len());
    let ((items, errors), grown) = measured(|| decode_all(&bomb, "bomb.json.gz"));
    assert_eq!((items, errors.len()), (0, 1), "{errors:?}");
    assert!(
        matches!(errors[0].kind, DecodeErrorKind::TooLarge { limit } if limit == MAX_DOCUMENT_BYTES),
        "{}",
        errors[0]
    );
    let message = errors[0].to_string();
    assert!(
        message.starts_with("bomb.json.gz: document is larger than 536870912 bytes"),
        "{message}"
    );
    if let Some(grown) = grown {
        eprintln!("gzip bomb: peak RSS grew by {} MiB", grown / MIB);
        assert!(
            grown <= MAX_DOCUMENT_BYTES + 64 * MIB,
            "peak RSS grew by {} MiB",
            grown / MIB
        );
    }
}

/// A state of `n` minimal S3 buckets, `instances` instances each (Terraform's `count`).
fn state_of(n: usize, instances: usize) -> String {
    let mut state = String::with_capacity(170 * n * instances);
    state
        .push_str(r#"{"version":4,"terraform_version":"1.9.0","serial":1,"lineage":"bomb","outputs":{},"resources":["#);
    for i in 0..n {
        if i > 0 {
            state.push(',');
        }
        state.push_str(&format!(
            r#"{{"mode":"managed","type":"aws_s3_bucket","name":"b{i}","provider":"provider[\"registry.terraform.io/hashicorp/aws\"]","instances":["#
        ));
        for k in 0..instances {
            if k > 0 {
                state.push(',');
            }
            state.push_str(&format!(
                r#"{{"index_key":{k},"attributes":{{"id":"bucket-{i}-{k}","arn":"arn:aws:s3:::bucket-{i}-{k}"}}}}"#
            ));
        }
        state.push_str("]}");
    }
    state.push_str("]}");
    state
}

/// A state declaring 1,000,000 resources (about 200 MB, within the document limit) is refused
/// by the state limit while it is read, naming the file and the limit, with memory bounded by
/// the limit rather than by the file (loaded, it took 1.6 GB); so is one resource with a million
/// instances. A state at the limit loads whole.
#[test]
fn state_with_a_million_resources_is_refused_at_the_state_limit() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    for (what, state) in [
        ("1,000,000 resources", state_of(1_000_000, 1)),
        ("one resource of 1,000,000 instances", state_of(1, 1_000_000)),
    ] {
        assert!(state.len() < MAX_DOCUMENT_BYTES, "{what}: within the document limit");
        let (outcome, grown) = measured(|| {
            let mut inventory = Inventory::new();
            let outcome = inventory
                .add_state("million.tfstate", state.as_bytes())
                .map(|s| s.resources);
            assert!(inventory.is_empty(), "{what}: a refused state adds nothing");
            outcome.map_err(|e| e.to_string())
        });
        let message = outcome.expect_err(what);
        assert_eq!(
            message,
            format!("million.tfstate: the state declares more than {MAX_STATE_INSTANCES} resources and instances, the most read from one state file (split the state)")
        );
        if let Some(grown) = grown {
            eprintln!(
                "{what} ({} MiB): peak RSS grew by {} MiB",
                state.len() / MIB,
                grown / MIB
            );
            assert!(grown <= 400 * MIB, "{what}: peak RSS grew by {} MiB", grown / MIB);
        }
    }
    // At the limit: 50,000 resources of one instance each are 100,000 resources and instances.
    let state = state_of(MAX_STATE_INSTANCES / 2, 1);
    let mut inventory = Inventory::new();
    let loaded = inventory
        .add_state("limit.tfstate", state.as_bytes())
        .map(|s| s.resources);
    assert_eq!(loaded.ok(), Some(MAX_STATE_INSTANCES / 2));
    let found = inventory.find(&["aws_s3_bucket"], "bucket-49999-0");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].address, "aws_s3_bucket.b49999[0]");
    let over = state_of(MAX_STATE_INSTANCES / 2 + 1, 1);
    assert!(Inventory::new().add_state("over.tfstate", over.as_bytes()).is_err());
}

/// A CloudTrail record of 100 MB (its request parameters one long string), within the document
/// limit: refused by the record limit before it is parsed, whether it comes bare, in an
/// EventBridge envelope or in a log file beside a good record (which still decodes), each time
/// naming where it was, its size and the limit.
#[test]
fn record_of_100_mb_is_refused_at_the_record_limit() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let record = |padding: usize| {
        format!(
            r#"{{"eventVersion":"1.11","eventID":"8e3c2f4a-0b1d-4c5e-9f6a-7b8c9d0e1f2a","eventTime":"2026-11-20T09:58:02Z","eventSource":"ec2.amazonaws.com","eventName":"CreateTags","awsRegion":"eu-west-1","recipientAccountId":"123456789012","userIdentity":{{"type":"IAMUser","arn":"arn:aws:iam::123456789012:user/bob","accountId":"123456789012","userName":"bob"}},"requestParameters":{{"description":"{}"}}}}"#,
            "x".repeat(padding)
        )
    };
    let big = record(100 * 1000 * 1000);
    let good = record(10);
    let documents = [
        ("bare.json", big.clone(), None),
        (
            "envelope.json",
            format!(
                r#"{{"version":"0","detail-type":"AWS API Call via CloudTrail","source":"aws.ec2","detail":{big}}}"#
            ),
            None,
        ),
        ("trail.json", format!(r#"{{"Records":[{good},{big}]}}"#), Some(1)),
    ];
    for (origin, document, index) in documents {
        assert!(document.len() < MAX_DOCUMENT_BYTES);
        let ((items, errors), grown) = measured(|| decode_all(document.as_bytes(), origin));
        assert_eq!(
            (items, errors.len()),
            (usize::from(index.is_some()), 1),
            "{origin}: {errors:?}"
        );
        assert_eq!(errors[0].at.index, index, "{origin}");
        assert!(
            matches!(errors[0].kind, DecodeErrorKind::RecordTooLarge { bytes, limit } if bytes == big.len() && limit == MAX_RECORD_BYTES),
            "{origin}: {}",
            errors[0]
        );
        let message = errors[0].to_string();
        assert!(message.starts_with(origin), "{message}");
        assert!(
            message.ends_with(&format!(
                "CloudTrail record of {} bytes is larger than 16777216 bytes, the most read for one record",
                big.len()
            )),
            "{message}"
        );
        if let Some(grown) = grown {
            eprintln!("{origin}: peak RSS grew by {} MiB", grown / MIB);
            assert!(grown <= 64 * MIB, "{origin}: peak RSS grew by {} MiB", grown / MIB);
        }
    }
}

/// A state at the limit whose 50,000 instances all share one id and each name their own account
/// and region: indexing it does not compare every instance with every other (it used to, twice:
/// billions of comparisons), and every instance is found by the shared id.
#[test]
fn state_of_instances_sharing_one_id_indexes_each_once() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let n = MAX_STATE_INSTANCES / 2;
    let mut state = String::from(r#"{"version":4,"serial":1,"lineage":"shared","resources":["#);
    for i in 0..n {
        if i > 0 {
            state.push(',');
        }
        state.push_str(&format!(
            r#"{{"mode":"managed","type":"aws_instance","name":"i{i}","instances":[{{"attributes":{{"id":"i-shared","arn":"arn:aws:ec2:region-{i}:{i:012}:instance/i-shared"}}}}]}}"#
        ));
    }
    state.push_str("]}");
    let mut inventory = Inventory::new();
    let loaded = inventory
        .add_state("shared.tfstate", state.as_bytes())
        .map(|s| s.resources);
    assert_eq!(loaded.ok(), Some(n));
    assert_eq!(inventory.find(&["aws_instance"], "i-shared").len(), n);
    assert!(inventory.has_neighbours(&["aws_instance"], "000000049999", "region-49999"));
    assert!(!inventory.has_neighbours(&["aws_instance"], "000000049999", "region-1"));
}
