//! CloudWatch metrics through the embedded metric format: one JSON line on stdout per metric,
//! which CloudWatch Logs turns into a metric in the `DriftGuard` namespace (dimension
//! `function`), so an alarm can watch what the logs say.

use serde_json::json;

/// The namespace of DriftGuard's metrics.
pub const NAMESPACE: &str = "DriftGuard";

/// Emits `name = value` (a count) for this function.
pub fn count(name: &str, value: usize) {
    let timestamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut line = json!({
        "_aws": {
            "Timestamp": timestamp,
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [["function"]],
                "Metrics": [{ "Name": name, "Unit": "Count" }],
            }],
        },
        "function": "ingest",
    });
    line[name] = json!(value);
    println!("{line}");
}
