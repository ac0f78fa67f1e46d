//! When to retry, and how long to wait first.
//!
//! Transient failures (connect errors, timeouts, resets, 5xx, 429) are retried; everything
//! else is the caller's to handle. Backoff is capped exponential with jitter (half to full of
//! `base × 2^n`), so workers that failed together do not come back together. A 429 waits
//! until the server's reset plus a little jitter instead.
//!
//! Test hook: `IDM_TEST_RETRY_SLEEP_MS` pins every retry wait (backoff and 429 waits, not the
//! rate limiter) to that many milliseconds, like cargo's `__CARGO_TEST_FIXED_RETRY_SLEEP_MS`,
//! so integration tests with injected faults run fast and deterministically.

use std::time::Duration;

use rand::Rng;

/// The environment variable that pins retry sleeps in tests.
pub const TEST_SLEEP_ENV: &str = "IDM_TEST_RETRY_SLEEP_MS";

/// First backoff step.
pub const BASE_BACKOFF: Duration = Duration::from_millis(500);
/// Longest backoff step.
pub const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Backoff before retry number `retry` (0-based): uniform in `[d/2, d]` with
/// `d = min(base × 2^retry, cap)`.
pub fn backoff(retry: u32) -> Duration {
    let d = BASE_BACKOFF
        .saturating_mul(1u32 << retry.min(16))
        .min(MAX_BACKOFF);
    let half = d / 2;
    half + jitter(d - half)
}

/// A random duration in `[0, max]`.
pub fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    let nanos = rand::rng().random_range(0..=max.as_nanos().min(u64::MAX as u128) as u64);
    Duration::from_nanos(nanos)
}

/// The wait after a 429: until the reset, plus up to a second of jitter (at least 1 s when
/// the server gave no usable reset).
pub fn after_429(until_reset: Option<Duration>, retry: u32) -> Duration {
    match until_reset {
        Some(d) => d + Duration::from_millis(100) + jitter(Duration::from_millis(900)),
        None => backoff(retry).max(Duration::from_secs(1)),
    }
}

/// The pinned sleep from [`TEST_SLEEP_ENV`], if set.
pub fn pinned_sleep() -> Option<Duration> {
    std::env::var(TEST_SLEEP_ENV)
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_is_jittered_and_capped() {
        for retry in 0..20 {
            let d = backoff(retry);
            let full = BASE_BACKOFF
                .saturating_mul(1u32 << retry.min(16))
                .min(MAX_BACKOFF);
            assert!(d >= full / 2 && d <= full, "retry {retry}: {d:?}");
        }
        assert!(backoff(30) <= MAX_BACKOFF);
        // jitter actually varies
        let samples: std::collections::HashSet<Duration> = (0..20).map(|_| backoff(5)).collect();
        assert!(samples.len() > 1);
    }

    #[test]
    fn a_429_waits_for_the_reset_plus_jitter() {
        let d = after_429(Some(Duration::from_secs(12)), 0);
        assert!(d >= Duration::from_millis(12_100) && d <= Duration::from_secs(13));
        assert!(after_429(None, 0) >= Duration::from_secs(1));
    }
}
