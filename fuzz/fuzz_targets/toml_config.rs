//! The configuration file (TOML: principals, remediation roles, ignore rules, Slack routes), as
//! every function and the CLI read it (`ConfigFile::parse`): a refused file names each problem
//! on a line of the file; an accepted one, added to the environment's settings, builds a
//! pipeline that attributes the sample events.
#![no_main]

use driftguard_core::attribution::AttributionConfig;
use driftguard_core::config_file::ConfigFile;
use driftguard_core::decode::{self, Item, Position};
use driftguard_core::ignore::IgnoreRules;
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
    let file = match ConfigFile::parse("fuzz.toml", text) {
        Ok(file) => file,
        Err(e) => {
            assert!(!e.problems.is_empty(), "a refusal names at least one problem");
            let lines = text.lines().count().max(1) + 1;
            for p in &e.problems {
                assert!(
                    p.line <= lines,
                    "problem on line {} of a {lines}-line file: {p:?}",
                    p.line
                );
                assert!(!p.message.is_empty());
            }
            return;
        }
    };
    let (attribution, ignore) = file.added_to("fuzz.toml", &AttributionConfig::default(), &IgnoreRules::builtin());
    let pipeline = Pipeline::new(&attribution, driftguard_fuzz::inventory()).with_ignore(ignore);
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
