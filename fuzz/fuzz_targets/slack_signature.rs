//! Slack request signatures as the slack-actions function checks them, before anything else
//! reads the body. The input is `<X-Slack-Request-Timestamp>\n<X-Slack-Signature>\n<body>`.
#![no_main]

use driftguard_core::slack::{self, SignatureError};
use driftguard_core::time::Timestamp;
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const NOW: i64 = 1_795_165_337;

fuzz_target!(|data: &[u8]| {
    let [timestamp, signature, body] = driftguard_fuzz::split::<3>(data);
    let (Ok(timestamp), Ok(signature)) = (std::str::from_utf8(timestamp), std::str::from_utf8(signature)) else {
        return;
    };
    let now = Timestamp(NOW * 1000);
    let outcome = slack::verify(SECRET, Some(timestamp), Some(signature), body, now);
    let _ = slack::replay_key(signature);
    // What Slack would have sent for this timestamp and body verifies exactly when the
    // timestamp is a number of seconds within five minutes of now.
    let signed = slack::sign(SECRET, timestamp, body);
    let fresh = timestamp
        .trim()
        .parse::<i64>()
        .ok()
        .and_then(|ts| NOW.checked_sub(ts))
        .is_some_and(|age| age.unsigned_abs() <= 300);
    let genuine = slack::verify(SECRET, Some(timestamp), Some(&signed), body, now);
    assert_eq!(genuine.is_ok(), fresh, "{timestamp:?}: {genuine:?}");
    if outcome.is_ok() {
        assert!(fresh, "a stale timestamp never verifies");
    } else if fresh && outcome != Err(SignatureError::BadSignatureHeader) {
        assert_eq!(outcome, Err(SignatureError::Mismatch));
    }
});
