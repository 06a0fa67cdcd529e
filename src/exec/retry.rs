//! Delays between attempts (`retry N every D`, `retry N backoff D`).

use crate::model::Retry;
use crate::syntax::ast::RetryKind;

/// No delay grows past a day, however many attempts a backoff allows.
const MAX_DELAY_MS: u64 = 86_400_000;

/// The delay before the retry that follows the `nth` failure (1-based) of
/// this run. A backoff doubles from D and adds up to a quarter of jitter,
/// derived from the idempotency key so that a run is reproducible while
/// tasks that fail together do not all retry in the same instant.
pub(crate) fn retry_delay(retry: &Retry, nth: u32, key: &str) -> u64 {
    match retry.kind {
        RetryKind::Every => retry.delay_ms,
        RetryKind::Backoff => {
            let doublings = nth.saturating_sub(1).min(32);
            let base = retry
                .delay_ms
                .saturating_mul(1u64 << doublings)
                .min(MAX_DELAY_MS);
            let jitter = base / 4 * (fnv1a(key, nth) % 1000) / 1000;
            (base + jitter).min(MAX_DELAY_MS)
        }
    }
}

fn fnv1a(key: &str, n: u32) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in key.bytes().chain(n.to_le_bytes()) {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_bounded_jitter() {
        let r = Retry {
            count: 5,
            kind: RetryKind::Backoff,
            delay_ms: 1000,
        };
        for (nth, base) in [(1, 1000), (2, 2000), (3, 4000)] {
            let d = retry_delay(&r, nth, "O/t");
            assert!((base..=base + base / 4).contains(&d), "{nth}: {d}");
            assert_eq!(d, retry_delay(&r, nth, "O/t"), "deterministic");
        }
        assert_eq!(retry_delay(&r, 60, "O/t"), MAX_DELAY_MS);
        let every = Retry {
            kind: RetryKind::Every,
            ..r
        };
        assert_eq!(retry_delay(&every, 3, "O/t"), 1000);
    }
}
