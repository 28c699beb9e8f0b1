//! Terraform state files (v4, plain or gzip) as the CLI, the ingest function and iac-sync load
//! them: inflated, added to an inventory, digested and indexed by a pipeline.
#![no_main]

use driftguard_core::attribution::AttributionConfig;
use driftguard_core::decode;
use driftguard_core::inventory::{self, Inventory};
use driftguard_core::pipeline::Pipeline;
use driftguard_core::sync::{ResourceDigest, Revision};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(bytes) = decode::plain_within(data, 4 << 20) else {
        return;
    };
    let mut inventory = Inventory::new();
    match inventory.add_state("fuzz.tfstate", &bytes) {
        Ok(_) => {}
        Err(e) => {
            let message = e.to_string();
            assert!(message.contains("fuzz.tfstate"), "an error names the state: {message}");
            assert!(inventory.is_empty(), "a refused state adds nothing");
            return;
        }
    }
    let declared: Vec<_> = inventory.resources().collect();
    for d in &declared {
        let _ = ResourceDigest::of(d);
        let id = d.str_attr("id").unwrap_or("");
        let found = inventory.find(&[d.tf_type.as_str()], id);
        assert!(
            id.is_empty() || !found.is_empty(),
            "{} is found by its own id",
            d.address
        );
        let origin = inventory.state_origin(d);
        assert!(
            inventory.declaration(origin, &d.address).is_some(),
            "{} is found by its address",
            d.address
        );
    }
    let owners: Vec<_> = declared.iter().collect();
    let _ = inventory::declared_tags(&owners);
    let _ = inventory.type_counts();
    if let Some(revision) = Revision::of(&inventory, "fuzz.tfstate", "etag", None) {
        let _ = revision.recorded();
    }
    let _ = Pipeline::new(&AttributionConfig::default(), inventory);
});
