//! Inputs the fuzzers (`fuzz/`, `scripts/fuzz`) found to crash a parser, minimised, each with
//! the clear error it now gets. The target that found it is named on each test.

use driftguard_core::slack::{self, SignatureError};
use driftguard_core::time::Timestamp;

const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";

/// `slack_signature`: `-9223372036854775808\nv0=00\nbody`. The request's age was `now - ts`,
/// which overflowed for a timestamp near either end of i64 (a panic in a debug build; in a
/// release build the wrapped age of `now - 2⁶³` had an absolute value that passed the
/// five-minute check). Such a timestamp is stale, even on a correctly signed request.
#[test]
fn slack_timestamp_at_the_ends_of_i64_is_stale_not_an_overflow() {
    let now_seconds: i64 = 1_795_165_337;
    let now = Timestamp(now_seconds * 1000);
    let body = b"payload=%7B%7D";
    let wraps_to_min = (now_seconds - i64::MAX - 1).to_string();
    for ts in [i64::MIN.to_string(), i64::MAX.to_string(), wraps_to_min] {
        let signature = slack::sign(SECRET, &ts, body);
        let outcome = slack::verify(SECRET, Some(&ts), Some(&signature), body, now);
        assert!(matches!(outcome, Err(SignatureError::Stale(_))), "{ts}: {outcome:?}");
        let message = outcome.err().map(|e| e.to_string()).unwrap_or_default();
        assert!(message.contains("limit 300 s"), "{message}");
    }
    let fresh = (now_seconds - 299).to_string();
    let signature = slack::sign(SECRET, &fresh, body);
    assert_eq!(slack::verify(SECRET, Some(&fresh), Some(&signature), body, now), Ok(()));
}

/// `toml_config`: `#SqsMaablemediatrSqsManage\x17dSseE…` (a comment holding a control character,
/// minimised to its first bytes). The TOML parser refuses it with an empty message, and the
/// configuration file's refusal said nothing but the place; now it says what is wrong.
#[test]
fn a_control_character_in_a_configuration_comment_is_named() {
    let refused = driftguard_core::config_file::ConfigFile::parse("driftguard.toml", "# ok\n#Sqs\u{17}d\n")
        .expect_err("a control character is not TOML");
    assert_eq!(refused.problems.len(), 1);
    let p = &refused.problems[0];
    assert_eq!(p.line, 2, "{p:?}");
    assert!(p.message.contains("not valid TOML"), "{p:?}");
    assert!(refused.to_string().starts_with("driftguard.toml:2:"), "{refused}");
}
