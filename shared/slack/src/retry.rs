//! How many times, and how long apart, a Slack call is tried: a Retry-After from Slack wins;
//! otherwise "full jitter" exponential backoff.

use std::time::Duration;

/// The retry rules of a [`SlackClient`](crate::SlackClient).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (0 counts as 1). Default 5.
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; it doubles with each retry. Default 250 ms.
    pub base_delay: Duration,
    /// The largest backoff ceiling. Default 8 s.
    pub max_delay: Duration,
    /// The longest `Retry-After` the client waits for. Slack asking for longer ends the call at
    /// once with a retryable [`SlackError::RateLimited`](crate::SlackError::RateLimited) that
    /// carries the wait, so the caller can defer the work rather than block. Default 30 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::from_millis(250),
            max_delay: Duration::from_secs(8),
            max_retry_after: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries: one attempt, errors returned as they are.
    pub fn never() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..RetryPolicy::default()
        }
    }

    /// The attempts allowed, at least one.
    pub fn attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }

    /// The wait before retry number `retry` (1 for the first retry): a uniformly random duration
    /// in `[0, min(max_delay, base_delay · 2^(retry-1))]` ("full jitter", which spreads callers
    /// that failed together instead of having them retry in lockstep).
    pub fn backoff(&self, retry: u32) -> Duration {
        let doublings = retry.saturating_sub(1).min(20);
        let ceiling = self.base_delay.saturating_mul(1 << doublings).min(self.max_delay);
        let ceiling_nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(random_u64() % ceiling_nanos.saturating_add(1))
    }
}

/// A random number for jitter (not for anything secret): SipHash with the standard library's
/// randomly keyed `RandomState`, over a counter.
fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_under_a_doubling_ceiling_and_varies() {
        let policy = RetryPolicy {
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1_000),
            ..RetryPolicy::default()
        };
        for retry in 1..40 {
            let ceiling = Duration::from_millis(100 * (1u64 << (retry - 1).min(20))).min(policy.max_delay);
            for _ in 0..50 {
                assert!(policy.backoff(retry) <= ceiling, "retry {retry}");
            }
        }
        let draws: std::collections::BTreeSet<_> = (0..50).map(|_| policy.backoff(5)).collect();
        assert!(draws.len() > 10, "jitter spreads the waits: {draws:?}");
    }

    #[test]
    fn zero_attempts_means_one() {
        let policy = RetryPolicy {
            max_attempts: 0,
            ..RetryPolicy::default()
        };
        assert_eq!(policy.attempts(), 1);
        assert_eq!(RetryPolicy::never().attempts(), 1);
    }
}
