//! The attribution settings file (the CLI's `--config`, TOML): parsed into declared principals
//! and remediation roles, then a pipeline built on it attributes the sample events.
#![no_main]

use driftguard_core::attribution::AttributionConfig;
use driftguard_core::decode::{self, Item, Position};
use driftguard_core::pipeline::Pipeline;
use libfuzzer_sys::fuzz_target;

/// A record with a role session, an OIDC-federated session and an IAM user: the facts principal
/// rules match on.
const CALLS: &[u8] = include_bytes!(
    "../../events/cloudtrail-logs/123456789012_CloudTrail_eu-west-1_20261120T0955Z_3mVv0nFWkqLzA1Yb.json.gz"
);

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let config = match toml::from_str::<AttributionConfig>(text) {
        Ok(config) => config,
        Err(e) => {
            assert!(!e.to_string().is_empty());
            return;
        }
    };
    let pipeline = Pipeline::new(&config, driftguard_fuzz::inventory());
    decode::decode(
        CALLS,
        "calls.json.gz",
        &mut |_: &Position, item: Result<Item<'_>, _>| {
            if let Ok(item) = item {
                pipeline.evaluate_each(&item, &mut |evaluation| {
                    let _ = format!("{evaluation:?}");
                });
            }
        },
    );
});
