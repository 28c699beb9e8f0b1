//! The remediate and notify-slack functions' input: a DriftGuard EventBridge event whose `detail`
//! is a remediation request, approval, result or pending approval, or a drift event. What reads,
//! serialises back to the same value (these events are stored and re-published).
#![no_main]

use driftguard_core::ports::DriftEvent;
use driftguard_core::remediation::{
    RemediationApproval, RemediationPending, RemediationRequest, RemediationResult, APPROVED, AWAITING_APPROVAL,
    COMPLETED, FAILED, REQUESTED,
};
use libfuzzer_sys::fuzz_target;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

fn round_trip<T: DeserializeOwned + Serialize + PartialEq + std::fmt::Debug>(detail: Value) {
    let Ok(read) = serde_json::from_value::<T>(detail) else {
        return;
    };
    let written = match serde_json::to_value(&read) {
        Ok(v) => v,
        Err(e) => panic!("{read:?} does not serialise: {e}"),
    };
    match serde_json::from_value::<T>(written) {
        Ok(again) => assert_eq!(again, read),
        Err(e) => panic!("{read:?} does not read back: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(mut envelope) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let detail_type = envelope["detail-type"].as_str().unwrap_or("").to_owned();
    let detail = envelope.get_mut("detail").map(Value::take).unwrap_or(Value::Null);
    match detail_type.as_str() {
        REQUESTED => round_trip::<RemediationRequest>(detail),
        APPROVED => round_trip::<RemediationApproval>(detail),
        COMPLETED | FAILED => round_trip::<RemediationResult>(detail),
        AWAITING_APPROVAL => round_trip::<RemediationPending>(detail),
        "Drift Detected" | "Drift Resolved" => round_trip::<DriftEvent>(detail),
        _ => {
            round_trip::<RemediationRequest>(detail.clone());
            round_trip::<RemediationApproval>(detail.clone());
            round_trip::<RemediationResult>(detail.clone());
            round_trip::<RemediationPending>(detail.clone());
            round_trip::<DriftEvent>(detail);
        }
    }
});
