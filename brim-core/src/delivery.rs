//! Delivery arithmetic: the retry backoff schedule and stable Message-IDs.
//!
//! Pure functions of their inputs: the caller passes the attempt number and a seed, so the
//! same failure always schedules the same retry (tests and replays are exact).

use sha1::{Digest, Sha1};

/// Milliseconds in a minute.
const MINUTE_MS: u64 = 60_000;

/// When to try again after a failed send, and when to give up.
///
/// After the `n`-th failure (1-based) the next attempt waits `delays_ms[n - 1]`, moved by up to
/// `± jitter` of itself (so many rows that failed together do not all retry at the same
/// instant). After `delays_ms.len() + 1` attempts the row is given up (*dead*).
///
/// ```
/// use brim_core::Backoff;
/// let b = Backoff::default(); // 5 min, 15 min, 1 h, 4 h, 12 h; ±10 %
/// assert_eq!(b.max_attempts(), 6);
/// let first = b.delay_after(1, 42).unwrap();
/// assert!((270_000..=330_000).contains(&first)); // 5 min ± 10 %
/// assert_eq!(b.delay_after(1, 42), Some(first)); // same seed, same delay
/// assert_eq!(b.delay_after(6, 42), None); // the sixth failure was the last attempt
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    /// Wait after the 1st, 2nd, ... failure, in milliseconds.
    pub delays_ms: Vec<u64>,
    /// Largest shift of a delay, as a fraction of it (0.1 = ±10 %); clamped to 0..=1.
    pub jitter: f64,
}

impl Default for Backoff {
    /// 5 min, 15 min, 1 h, 4 h, 12 h, with ±10 % jitter.
    fn default() -> Self {
        Backoff {
            delays_ms: vec![
                5 * MINUTE_MS,
                15 * MINUTE_MS,
                60 * MINUTE_MS,
                240 * MINUTE_MS,
                720 * MINUTE_MS,
            ],
            jitter: 0.1,
        }
    }
}

impl Backoff {
    /// How many attempts a row gets in all: one more than there are delays.
    pub fn max_attempts(&self) -> u32 {
        u32::try_from(self.delays_ms.len()).map_or(u32::MAX, |n| n.saturating_add(1))
    }

    /// The wait after failure number `failures` (1-based), jittered by `seed`; `None` when that
    /// failure was the last attempt (or `failures` is 0, which is not a failure).
    pub fn delay_after(&self, failures: u32, seed: u64) -> Option<u64> {
        let index = usize::try_from(failures.checked_sub(1)?).ok()?;
        let base = *self.delays_ms.get(index)?;
        let jitter = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 1.0)
        } else {
            0.0
        };
        // A uniform number in [-1, 1] from the seed and the attempt.
        let unit = (splitmix64(seed ^ u64::from(failures).wrapping_mul(0x9E37_79B9_7F4A_7C15))
            >> 11) as f64
            / (1u64 << 53) as f64;
        let shift = (unit * 2.0 - 1.0) * jitter * base as f64;
        Some((base as f64 + shift).round().max(0.0) as u64)
    }
}

/// SplitMix64: a tiny, well-mixed hash of a 64-bit number.
fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// A stable RFC 5322 Message-ID for an e-mail to `company_id` created at `created_at_ms`:
/// `<brim.{hash}@{domain}>`. The same inputs always give the same id, so a retried send carries
/// the id of the first attempt and receivers can drop duplicates.
///
/// ```
/// let id = brim_core::message_id("acme", 1_700_000_000_000, "example.com");
/// assert!(id.starts_with("<brim.") && id.ends_with("@example.com>"));
/// assert_eq!(id, brim_core::message_id("acme", 1_700_000_000_000, "example.com"));
/// assert_ne!(id, brim_core::message_id("acme", 1_700_000_000_001, "example.com"));
/// ```
pub fn message_id(company_id: &str, created_at_ms: i64, domain: &str) -> String {
    let mut hasher = Sha1::new();
    hasher.update(company_id.as_bytes());
    hasher.update([0]);
    hasher.update(created_at_ms.to_be_bytes());
    let digest = hasher.finalize();
    let mut hex = String::with_capacity(32);
    for byte in &digest[..12] {
        use std::fmt::Write as _;
        let _ = write!(hex, "{byte:02x}");
    }
    let domain = if domain.is_empty() {
        "brim.local"
    } else {
        domain
    };
    format!("<brim.{hex}@{domain}>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_schedule_and_jitter_bounds() {
        let b = Backoff::default();
        let bases = [5, 15, 60, 240, 720].map(|m| m * MINUTE_MS);
        for seed in 0..2000u64 {
            for (i, base) in bases.iter().enumerate() {
                let d = b.delay_after(i as u32 + 1, seed).unwrap();
                let lo = base - base / 10;
                let hi = base + base / 10;
                assert!((lo..=hi).contains(&d), "attempt {i} seed {seed}: {d}");
            }
            assert_eq!(b.delay_after(6, seed), None);
            assert_eq!(b.delay_after(0, seed), None);
        }
    }

    #[test]
    fn jitter_spreads_and_zero_jitter_is_exact() {
        let b = Backoff::default();
        let distinct: std::collections::HashSet<u64> =
            (0..100).map(|s| b.delay_after(1, s).unwrap()).collect();
        assert!(distinct.len() > 50, "{}", distinct.len());
        let exact = Backoff {
            jitter: 0.0,
            ..Backoff::default()
        };
        assert_eq!(exact.delay_after(3, 7), Some(60 * MINUTE_MS));
        let nan = Backoff {
            jitter: f64::NAN,
            ..Backoff::default()
        };
        assert_eq!(nan.delay_after(2, 7), Some(15 * MINUTE_MS));
    }
}
