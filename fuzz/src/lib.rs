//! What the fuzz targets share: a pipeline over the committed sample states, so decoded items
//! run through attribution, the catalog and the diff as they do in the ingest function.

use driftguard_core::attribution::AttributionConfig;
use driftguard_core::inventory::Inventory;
use driftguard_core::pipeline::Pipeline;
use std::sync::OnceLock;

/// The committed sample states (`events/terraform/`), the inventory every pipeline here reads.
pub const STATES: [(&str, &[u8]); 2] = [
    (
        "events/terraform/network.tfstate",
        include_bytes!("../../events/terraform/network.tfstate"),
    ),
    (
        "events/terraform/data.tfstate",
        include_bytes!("../../events/terraform/data.tfstate"),
    ),
];

/// The inventory of [`STATES`].
pub fn inventory() -> Inventory {
    let mut inventory = Inventory::new();
    for (origin, bytes) in STATES {
        if let Err(e) = inventory.add_state(origin, bytes) {
            panic!("{origin} is a committed sample state and must load: {e}");
        }
    }
    inventory
}

/// One pipeline for the whole run: the default attribution over [`STATES`].
pub fn pipeline() -> &'static Pipeline {
    static PIPELINE: OnceLock<Pipeline> = OnceLock::new();
    PIPELINE.get_or_init(|| Pipeline::new(&AttributionConfig::default(), inventory()))
}

/// Splits `data` at the first `n - 1` newlines into `n` parts (the last takes the rest; missing
/// parts are empty), for targets that take several inputs.
pub fn split<const N: usize>(data: &[u8]) -> [&[u8]; N] {
    let mut parts = [&data[..0]; N];
    let mut rest = data;
    for part in parts.iter_mut().take(N - 1) {
        match rest.iter().position(|&b| b == b'\n') {
            Some(at) => {
                *part = &rest[..at];
                rest = &rest[at + 1..];
            }
            None => {
                *part = rest;
                rest = &rest[rest.len()..];
            }
        }
    }
    parts[N - 1] = rest;
    parts
}
