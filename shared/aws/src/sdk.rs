//! The SDK configuration every function builds its clients from: the environment's (region,
//! credentials, endpoint, retry mode), plus timeouts. The SDK's own defaults bound only the
//! connection (3.1 s): a request whose connection is accepted and then never answered would
//! wait until Lambda kills the invocation, and the retry the SDK would have made never comes.
//! With an attempt timeout, a stalled attempt ends as a timeout, which the SDK retries like a
//! 5xx; the operation timeout bounds the whole call, retries and backoff included.

use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use driftguard_core::env::{invalid, Env, EnvError};
use std::time::Duration;

/// The variable that sets how long one attempt of an AWS call may take, in milliseconds
/// (default [`DEFAULT_ATTEMPT_TIMEOUT`]).
pub const ATTEMPT_TIMEOUT_VAR: &str = "DRIFTGUARD_AWS_ATTEMPT_TIMEOUT_MS";

/// One attempt's limit when [`ATTEMPT_TIMEOUT_VAR`] is unset: far above what DynamoDB,
/// EventBridge or S3 take to answer (tens of milliseconds), below a function's timeout, and
/// long enough for the slow synchronous calls (CloudFormation's `DetectStackResourceDrift`,
/// CloudTrail's `LookupEvents`).
pub const DEFAULT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// The SDK's attempts per call (its standard retry mode), the first included.
const SDK_ATTEMPTS: u32 = 3;

/// Time left, beyond the attempts themselves, for the backoff between them (the standard
/// mode's jittered delays: at most 1 s, then 2 s).
const BACKOFF_ALLOWANCE: Duration = Duration::from_secs(3);

/// The timeouts for a given attempt limit: each attempt (connection to the parsed answer) at
/// most `attempt`, the whole call at most [`SDK_ATTEMPTS`] of them plus the backoff between.
pub fn timeouts(attempt: Duration) -> TimeoutConfig {
    TimeoutConfig::builder()
        .operation_attempt_timeout(attempt)
        .operation_timeout(attempt.saturating_mul(SDK_ATTEMPTS) + BACKOFF_ALLOWANCE)
        .build()
}

/// The timeouts [`ATTEMPT_TIMEOUT_VAR`] asks for, read through `get`.
pub fn timeouts_from(get: impl Fn(&str) -> Option<String>) -> Result<TimeoutConfig, EnvError> {
    let env = Env::new(get);
    let default_ms = u64::try_from(DEFAULT_ATTEMPT_TIMEOUT.as_millis()).unwrap_or(u64::MAX);
    match env.number(ATTEMPT_TIMEOUT_VAR, default_ms)? {
        0 => Err(invalid(ATTEMPT_TIMEOUT_VAR, "0 ms")),
        ms => Ok(timeouts(Duration::from_millis(ms))),
    }
}

/// The environment's SDK configuration with [`timeouts_from`] the process environment.
pub async fn load_sdk_config() -> Result<SdkConfig, EnvError> {
    let timeouts = timeouts_from(|name| std::env::var(name).ok())?;
    Ok(aws_config::from_env().timeout_config(timeouts).load().await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(value: Option<&str>) -> Result<TimeoutConfig, EnvError> {
        timeouts_from(|name| {
            (name == ATTEMPT_TIMEOUT_VAR)
                .then(|| value.map(str::to_owned))
                .flatten()
        })
    }

    #[test]
    fn every_attempt_and_every_call_is_bounded() {
        let t = read(None).expect("default");
        assert_eq!(t.operation_attempt_timeout(), Some(DEFAULT_ATTEMPT_TIMEOUT));
        assert_eq!(t.operation_timeout(), Some(Duration::from_secs(33)));
        let t = read(Some("250")).expect("250 ms");
        assert_eq!(t.operation_attempt_timeout(), Some(Duration::from_millis(250)));
        assert_eq!(t.operation_timeout(), Some(Duration::from_millis(3750)));
    }

    #[test]
    fn a_bad_value_names_the_variable() {
        for bad in ["0", "ten", "-1"] {
            let e = read(Some(bad)).expect_err(bad).to_string();
            assert!(e.contains(ATTEMPT_TIMEOUT_VAR), "{e}");
        }
    }
}
