//! A/B test arithmetic: rates with confidence intervals, a two-proportion test, and the sample
//! size a difference needs. Plain frequentist statistics, stated so a marketer can check them:
//!
//! - A rate's 95 % interval is the **Wilson score interval** (sound for small counts and for
//!   rates near 0 or 1, where the textbook `p ± 1.96·√(p(1−p)/n)` is not).
//! - Two variants are compared with the **two-sided two-proportion z-test** (pooled), at
//!   α = 0.05. Each variant is compared with the leader (the best rate); with more than two
//!   variants there is no correction for multiple comparisons, so treat a lone p = 0.04 among
//!   many variants with care.
//! - When a difference is not significant, the **sample size** each variant needs to detect the
//!   difference seen so far, at α = 0.05 with 80 % power, says how much longer to run.

use serde::Serialize;

/// z for a two-sided 95 % interval and α = 0.05.
const Z_95: f64 = 1.959_963_984_540_054;
/// z for 80 % power.
const Z_POWER_80: f64 = 0.841_621_233_572_914_3;

/// The significance level of [`compare`].
pub const ALPHA: f64 = 0.05;

/// A rate and its 95 % Wilson interval, as fractions (0.0–1.0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// successes / trials (0 when there are no trials).
    pub rate: f64,
    /// The interval's lower end.
    pub low: f64,
    /// The interval's upper end.
    pub high: f64,
}

/// `successes` of `trials` with its 95 % Wilson score interval; no trials: 0 in [0, 1].
///
/// ```
/// let r = brim_core::stats::rate(10, 100);
/// assert!((r.rate - 0.10).abs() < 1e-12);
/// assert!((r.low - 0.0552).abs() < 1e-3 && (r.high - 0.1744).abs() < 1e-3);
/// ```
pub fn rate(successes: u64, trials: u64) -> Rate {
    if trials == 0 {
        return Rate {
            rate: 0.0,
            low: 0.0,
            high: 1.0,
        };
    }
    let n = trials as f64;
    let p = (successes.min(trials)) as f64 / n;
    let z2 = Z_95 * Z_95;
    let centre = (p + z2 / (2.0 * n)) / (1.0 + z2 / n);
    let half = Z_95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / (1.0 + z2 / n);
    Rate {
        rate: p,
        low: (centre - half).max(0.0),
        high: (centre + half).min(1.0),
    }
}

/// The two-sided p-value of the pooled two-proportion z-test of `x1/n1` against `x2/n2`
/// (1 when either has no trials or nothing varies).
///
/// ```
/// // 60 of 1,000 against 40 of 1,000: p ≈ 0.04.
/// let p = brim_core::stats::two_proportion_p(60, 1000, 40, 1000);
/// assert!((p - 0.0398).abs() < 1e-3, "{p}");
/// ```
pub fn two_proportion_p(x1: u64, n1: u64, x2: u64, n2: u64) -> f64 {
    if n1 == 0 || n2 == 0 {
        return 1.0;
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let (p1, p2) = (x1.min(n1) as f64 / n1f, x2.min(n2) as f64 / n2f);
    let pooled = (x1.min(n1) + x2.min(n2)) as f64 / (n1f + n2f);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f)).sqrt();
    if se == 0.0 {
        return 1.0;
    }
    let z = (p1 - p2).abs() / se;
    if z == 0.0 {
        return 1.0;
    }
    (2.0 * (1.0 - normal_cdf(z))).clamp(0.0, 1.0)
}

/// Trials each of two groups needs for a two-sided test at α = 0.05 with 80 % power to detect
/// rates `p1` against `p2`; `None` when they are equal (no sample size detects no difference).
///
/// ```
/// // 5 % against 6 %: about 8,150 per variant.
/// let n = brim_core::stats::sample_size(0.05, 0.06).unwrap();
/// assert!((8100..8200).contains(&n), "{n}");
/// ```
pub fn sample_size(p1: f64, p2: f64) -> Option<u64> {
    let d = (p1 - p2).abs();
    // NaN fails every comparison: `d > 0.0` is false for it too.
    let valid = d > 0.0 && (0.0..=1.0).contains(&p1) && (0.0..=1.0).contains(&p2);
    if !valid {
        return None;
    }
    let mean = (p1 + p2) / 2.0;
    let a = Z_95 * (2.0 * mean * (1.0 - mean)).sqrt();
    let b = Z_POWER_80 * (p1 * (1.0 - p1) + p2 * (1.0 - p2)).sqrt();
    Some(((a + b) * (a + b) / (d * d)).ceil() as u64)
}

/// The standard normal distribution function, from erfc by Numerical Recipes' `erfcc` (a
/// Chebyshev fit; fractional error below 1.2e-7 everywhere).
fn normal_cdf(x: f64) -> f64 {
    let z = -x / std::f64::consts::SQRT_2;
    let t = 1.0 / (1.0 + 0.5 * z.abs());
    let poly = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    let erfc = if z >= 0.0 { erfc } else { 2.0 - erfc };
    0.5 * erfc
}

/// One variant's counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariantCounts {
    /// The variant's name.
    pub variant: String,
    /// E-mails sent.
    pub sent: u64,
    /// Of those, opened.
    pub opened: u64,
    /// Of those, clicked.
    pub clicked: u64,
}

/// One variant compared with the leader on one rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// The leader: the variant with the best rate (more sends break a tie).
    pub against: String,
    /// The two-sided p-value of the two-proportion z-test.
    pub p_value: f64,
    /// `p_value < ALPHA`.
    pub significant: bool,
    /// Sends each variant needs to detect the difference seen so far (α = 0.05, 80 % power);
    /// `None` when the rates are equal.
    pub needed_per_variant: Option<u64>,
    /// How many more sends the smaller of the two needs to reach that (0 once reached or when
    /// significant).
    pub more_needed: Option<u64>,
}

/// One variant's results: rates with intervals and, for all but the leader, the comparison
/// with the leader.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VariantResult {
    /// The variant's name.
    pub variant: String,
    /// E-mails sent.
    pub sent: u64,
    /// Open rate with its interval.
    pub open: Rate,
    /// Click rate with its interval.
    pub click: Rate,
    /// Open rate against the variant with the best open rate; `None` for that variant.
    pub open_vs_best: Option<Comparison>,
    /// Click rate against the variant with the best click rate; `None` for that variant.
    pub click_vs_best: Option<Comparison>,
}

/// Every variant's rates with 95 % intervals, each compared with the leader on open and on
/// click rate (see the module's notes for the tests used).
///
/// ```
/// use brim_core::stats::{compare, VariantCounts};
/// let counts = |variant: &str, sent, clicked| VariantCounts { variant: variant.into(), sent, opened: sent / 2, clicked };
/// let results = compare(&[counts("problem_focused", 1000, 60), counts("roi_focused", 1000, 40)]);
/// assert!(results[0].click_vs_best.is_none()); // the leader
/// let vs = results[1].click_vs_best.as_ref().unwrap();
/// assert_eq!(vs.against, "problem_focused");
/// assert!(vs.significant);
/// ```
pub fn compare(variants: &[VariantCounts]) -> Vec<VariantResult> {
    let leader = |count: fn(&VariantCounts) -> u64| {
        variants.iter().filter(|v| v.sent > 0).max_by(|a, b| {
            let (ra, rb) = (
                count(a) as f64 / a.sent as f64,
                count(b) as f64 / b.sent as f64,
            );
            ra.total_cmp(&rb)
                .then(a.sent.cmp(&b.sent))
                .then(b.variant.cmp(&a.variant))
        })
    };
    let best_open = leader(|v| v.opened);
    let best_click = leader(|v| v.clicked);
    let versus =
        |v: &VariantCounts, best: Option<&VariantCounts>, count: fn(&VariantCounts) -> u64| {
            let best = best.filter(|b| b.variant != v.variant && v.sent > 0)?;
            let p_value = two_proportion_p(count(v), v.sent, count(best), best.sent);
            let significant = p_value < ALPHA;
            let needed = sample_size(
                count(v).min(v.sent) as f64 / v.sent as f64,
                count(best).min(best.sent) as f64 / best.sent as f64,
            );
            Some(Comparison {
                against: best.variant.clone(),
                p_value,
                significant,
                needed_per_variant: needed,
                more_needed: needed.map(|n| {
                    if significant {
                        0
                    } else {
                        n.saturating_sub(v.sent.min(best.sent))
                    }
                }),
            })
        };
    variants
        .iter()
        .map(|v| VariantResult {
            variant: v.variant.clone(),
            sent: v.sent,
            open: rate(v.opened, v.sent),
            click: rate(v.clicked, v.sent),
            open_vs_best: versus(v, best_open, |v| v.opened),
            click_vs_best: versus(v, best_click, |v| v.clicked),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_matches_tables() {
        for (x, expected) in [
            (0.0, 0.5),
            (1.0, 0.841_344_746),
            (1.959_964, 0.975),
            (-1.644_854, 0.05),
            (3.0, 0.998_650_102),
        ] {
            assert!((normal_cdf(x) - expected).abs() < 1e-6, "{x}");
        }
    }

    #[test]
    fn wilson_interval_edges() {
        let none = rate(0, 20);
        assert_eq!(none.low, 0.0);
        assert!((none.high - 0.1611).abs() < 1e-3, "{none:?}");
        let all = rate(20, 20);
        assert_eq!(all.high, 1.0);
        assert!(all.low > 0.8 && all.low < 0.85);
        assert_eq!(rate(0, 0).high, 1.0);
        // More successes than trials (events counted twice) is clamped, never above 1.
        assert_eq!(rate(5, 3).rate, 1.0);
    }

    #[test]
    fn equal_rates_are_not_significant_and_need_no_size() {
        assert_eq!(two_proportion_p(10, 100, 10, 100), 1.0);
        assert_eq!(two_proportion_p(0, 100, 0, 100), 1.0);
        assert_eq!(sample_size(0.1, 0.1), None);
        let results = compare(&[
            VariantCounts {
                variant: "a".into(),
                sent: 100,
                opened: 10,
                clicked: 5,
            },
            VariantCounts {
                variant: "b".into(),
                sent: 100,
                opened: 12,
                clicked: 5,
            },
        ]);
        assert!(results[1].open_vs_best.is_none(), "b leads on opens");
        let vs = results[0].open_vs_best.as_ref().unwrap();
        assert!(!vs.significant);
        assert!(vs.more_needed.unwrap() > 1000, "{vs:?}");
        // Equal click rates: the one with more sends (here a tie, then the name) leads.
        assert!(results[0].click_vs_best.is_none());
        assert_eq!(
            results[1]
                .click_vs_best
                .as_ref()
                .unwrap()
                .needed_per_variant,
            None
        );
    }

    #[test]
    fn a_variant_with_no_sends_is_not_compared() {
        let results = compare(&[VariantCounts {
            variant: "a".into(),
            sent: 0,
            opened: 0,
            clicked: 0,
        }]);
        assert!(results[0].click_vs_best.is_none());
    }
}
