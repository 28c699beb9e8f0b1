//! Jittered exponential backoff for the retries the SDK does not do itself (unprocessed batch
//! items, refused EventBridge entries, optimistic-concurrency conflicts).

use std::time::Duration;

/// How many times DriftGuard retries a partial failure before reporting it.
pub const MAX_ATTEMPTS: u32 = 6;

/// "Full jitter": a random delay in [0, min(cap, base · 2^attempt)].
pub fn backoff(attempt: u32) -> Duration {
    let base_ms: u64 = 25;
    let cap_ms: u64 = 2_000;
    let ceiling = cap_ms.min(base_ms.saturating_mul(1 << attempt.min(16)));
    Duration::from_millis(random_u64() % (ceiling + 1))
}

/// A cheap, non-cryptographic random number (xorshift seeded from the clock and a counter).
fn random_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static STATE: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut x = STATE.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed) ^ nanos ^ 0x2545_F491_4F6C_DD1D;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_stays_within_its_ceiling() {
        for attempt in 0..20 {
            let ceiling = 2_000u64.min(25 << attempt.min(16));
            assert!(backoff(attempt) <= Duration::from_millis(ceiling));
        }
    }
}
