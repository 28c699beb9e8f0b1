//! How many times, and how long apart, a call is tried: a server's `Retry-After` (or GitHub's
//! rate-limit reset) wins; otherwise "full jitter" exponential backoff. The same rules as the
//! Slack adapter's.

use std::time::Duration;

/// The retry rules of a [`PipelineClient`](crate::PipelineClient).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in all, the first included (0 counts as 1). Default 4.
    pub max_attempts: u32,
    /// The backoff ceiling before the first retry; it doubles with each retry. Default 500 ms.
    pub base_delay: Duration,
    /// The largest backoff ceiling. Default 8 s.
    pub max_delay: Duration,
    /// The longest wait the client accepts from the server. Asked to wait longer, it ends the
    /// call at once with a retryable [`PipelineError::RateLimited`](crate::PipelineError::RateLimited)
    /// carrying the wait, so the caller can defer the work rather than block. Default 30 s.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
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

    /// The wait before retry number `retry` (1 for the first): uniformly random in
    /// `[0, min(max_delay, base_delay · 2^(retry-1))]`, so callers that failed together do not
    /// retry in lockstep.
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
        for retry in 1..30 {
            let ceiling = Duration::from_millis(100 * (1u64 << (retry - 1).min(20))).min(policy.max_delay);
            for _ in 0..20 {
                assert!(policy.backoff(retry) <= ceiling, "retry {retry}");
            }
        }
        let draws: std::collections::BTreeSet<_> = (0..50).map(|_| policy.backoff(4)).collect();
        assert!(draws.len() > 10, "jitter spreads the waits: {draws:?}");
        assert_eq!(RetryPolicy::never().attempts(), 1);
    }
}
