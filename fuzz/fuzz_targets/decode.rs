//! The ingest function's and the CLI's input: any document (an EventBridge envelope of any
//! detail-type, a CloudTrail record, a CloudTrail log file plain or gzip, an SQS batch, an array
//! of these), decoded and every item evaluated against the sample states.
#![no_main]

use driftguard_core::decode::{self, Item, Position};
use libfuzzer_sys::fuzz_target;

/// The ingest function's default document limit is larger; a smaller one keeps the fuzzer's
/// memory bounded while still reaching the limit's error path.
const LIMIT: usize = 4 << 20;

fuzz_target!(|data: &[u8]| {
    let pipeline = driftguard_fuzz::pipeline();
    decode::decode_within(
        data,
        "fuzz.json",
        LIMIT,
        &mut |_: &Position, item: Result<Item<'_>, _>| match item {
            Ok(item) => pipeline.evaluate_each(&item, &mut |evaluation| {
                let _ = format!("{evaluation:?}");
            }),
            Err(e) => {
                let message = e.to_string();
                assert!(message.starts_with("fuzz.json"), "an error names its input: {message}");
            }
        },
    );
});
