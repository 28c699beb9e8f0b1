//! AWS Config item changes: the `detail` of an EventBridge `Config Configuration Item Change`
//! and an oversized item as delivered to S3 (plain or gzip), with what the ingest function reads
//! of a decoded change.
#![no_main]

use driftguard_core::config_item::ConfigChange;
use driftguard_core::decode::Item;
use libfuzzer_sys::fuzz_target;

fn read(change: ConfigChange) {
    let _ = (change.kind(), change.key(), change.changed_property_names());
    let _ = (change.is_oversized(), change.cloudformation_stack().map(str::len));
    if let Some(Ok((bucket, key))) = change.s3_bucket_key() {
        assert!(
            !bucket.is_empty() && !key.is_empty(),
            "an S3 location names a bucket and a key"
        );
    }
    let item = Item::Config(Box::new(change));
    driftguard_fuzz::pipeline().evaluate_each(&item, &mut |evaluation| {
        let _ = format!("{evaluation:?}");
    });
}

fuzz_target!(|data: &[u8]| {
    match ConfigChange::from_delivered_within(data, 4 << 20) {
        Ok(change) => read(change),
        Err(e) => assert!(!e.to_string().is_empty()),
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(change) = ConfigChange::from_detail(text) {
            read(change);
        }
    }
});
