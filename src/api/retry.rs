//! Retry timing: jittered exponential backoff and the `X-RateLimit-Wait` header.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The exponential part before jitter: `base * 2^(retry-1)`, capped at `max`.
/// `retry` is 1 for the first retry.
pub fn backoff_ceiling(retry: u32, base: Duration, max: Duration) -> Duration {
    let factor = 1u32
        .checked_shl(retry.saturating_sub(1))
        .unwrap_or(u32::MAX);
    base.checked_mul(factor).unwrap_or(max).min(max)
}

/// The sleep before retry number `retry` ("equal jitter"): uniformly in `[ceiling/2, ceiling]`,
/// so that clients that failed together do not retry together, yet each waits a real minimum.
pub fn backoff_delay(retry: u32, base: Duration, max: Duration) -> Duration {
    let ceiling = backoff_ceiling(retry, base, max);
    let half = ceiling / 2;
    let span = (ceiling - half).as_nanos() as u64;
    let jitter = if span == 0 {
        0
    } else {
        next_random() % (span + 1)
    };
    half + Duration::from_nanos(jitter)
}

/// The wait a 429 asks for: `X-RateLimit-Wait` as float seconds; 1 s when the
/// header is absent or not a finite non-negative number; never more than `cap`.
pub fn rate_limit_wait(header: Option<&str>, cap: Duration) -> Duration {
    let wait = header
        .and_then(|h| h.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s >= 0.0)
        // Cap first: a huge value would not fit a Duration and must not become the 1 s default.
        .and_then(|s| Duration::try_from_secs_f64(s.min(cap.as_secs_f64())).ok())
        .unwrap_or(Duration::from_secs(1));
    // The SDK sleeps ceil(s*1000) ms; rounding up to the millisecond keeps us from retrying early.
    let ms = wait.as_nanos().div_ceil(1_000_000);
    Duration::from_millis(u64::try_from(ms).unwrap_or(u64::MAX)).min(cap)
}

/// Process-wide generator state; 0 means "not seeded yet".
static STATE: AtomicU64 = AtomicU64::new(0);

/// A small, lock-free PRNG (splitmix64 over an atomic counter seeded from the clock and the
/// thread). Jitter needs spread, not quality, and the crate has no `rand`.
fn next_random() -> u64 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    if STATE.load(Ordering::Relaxed) == 0 {
        let _ = STATE.compare_exchange(0, seed() | 1, Ordering::Relaxed, Ordering::Relaxed);
    }
    let mut z = STATE
        .fetch_add(GAMMA, Ordering::Relaxed)
        .wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn seed() -> u64 {
    use std::hash::{Hash, Hasher};
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0);
    let mut h = std::collections::hash_map::DefaultHasher::new();
    std::thread::current().id().hash(&mut h);
    std::process::id().hash(&mut h);
    nanos ^ h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    #[test]
    fn ceiling_doubles_and_is_capped() {
        let base = 100 * MS;
        let max = 1000 * MS;
        assert_eq!(backoff_ceiling(1, base, max), 100 * MS);
        assert_eq!(backoff_ceiling(2, base, max), 200 * MS);
        assert_eq!(backoff_ceiling(3, base, max), 400 * MS);
        assert_eq!(backoff_ceiling(5, base, max), max);
        assert_eq!(backoff_ceiling(64, base, max), max);
        assert_eq!(backoff_ceiling(u32::MAX, base, max), max);
        assert_eq!(backoff_ceiling(0, base, max), 100 * MS);
    }

    #[test]
    fn delay_stays_within_half_and_full_ceiling() {
        let base = 100 * MS;
        let max = 5000 * MS;
        for retry in 1..12 {
            let ceiling = backoff_ceiling(retry, base, max);
            let mut seen = std::collections::HashSet::new();
            for _ in 0..200 {
                let d = backoff_delay(retry, base, max);
                assert!(d >= ceiling / 2, "retry {retry}: {d:?} < {:?}", ceiling / 2);
                assert!(d <= ceiling, "retry {retry}: {d:?} > {ceiling:?}");
                seen.insert(d);
            }
            // Jitter: 200 draws over a 50 ms+ window are not all equal.
            assert!(seen.len() > 10, "retry {retry}: no jitter");
        }
        assert_eq!(
            backoff_delay(1, Duration::ZERO, max),
            Duration::ZERO,
            "zero base means no sleep"
        );
    }

    #[test]
    fn rate_limit_header_parsing() {
        let cap = Duration::from_secs(30);
        assert_eq!(rate_limit_wait(Some("0.44"), cap), 440 * MS);
        assert_eq!(rate_limit_wait(Some(" 2 "), cap), 2000 * MS);
        assert_eq!(rate_limit_wait(Some("0.0001"), cap), MS, "rounded up");
        assert_eq!(rate_limit_wait(Some("0"), cap), Duration::ZERO);
        for garbage in [
            None,
            Some(""),
            Some("soon"),
            Some("-1"),
            Some("NaN"),
            Some("inf"),
        ] {
            assert_eq!(rate_limit_wait(garbage, cap), 1000 * MS, "{garbage:?}");
        }
        assert_eq!(rate_limit_wait(Some("1e9"), cap), cap);
        assert_eq!(rate_limit_wait(Some("1e300"), cap), cap);
    }
}
