//! Shared bootstrap machinery: the seeded RNG, unbiased bounded draws and
//! percentile intervals.

use crate::Interval;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The one RNG every bootstrap in this crate uses.
pub(crate) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A uniform index in `0..n` (`n >= 1`), unbiased, by Lemire's
/// nearly-divisionless multiply-shift method: one `u32` per draw in all but a
/// vanishing fraction of cases.
#[inline(always)]
pub(crate) fn below<R: Rng>(rng: &mut R, n: u32) -> usize {
    debug_assert!(n > 0);
    let mut m = u64::from(rng.next_u32()) * u64::from(n);
    if (m as u32) < n {
        // Reject the `2^32 mod n` low products that would bias the result.
        let threshold = n.wrapping_neg() % n;
        while (m as u32) < threshold {
            m = u64::from(rng.next_u32()) * u64::from(n);
        }
    }
    (m >> 32) as usize
}

/// Sum of `values[i]` over `values.len()` indices drawn with replacement.
/// `values` must be non-empty and shorter than `2^32`.
#[inline]
pub(crate) fn resampled_sum<R: Rng>(rng: &mut R, values: &[f64]) -> f64 {
    let n = values.len() as u32;
    // Four accumulators break the floating-point add dependency chain.
    let mut acc = [0.0f64; 4];
    for _ in 0..n / 4 {
        for a in &mut acc {
            *a += values[below(rng, n)];
        }
    }
    for _ in 0..n % 4 {
        acc[0] += values[below(rng, n)];
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Plain sum of `values`, accumulated in exactly the pattern
/// [`resampled_sum`] uses, so a replicate that happens to draw the original
/// sample in order (e.g. any replicate of constant data) reproduces the
/// point estimate bit for bit.
pub(crate) fn sum(values: &[f64]) -> f64 {
    let mut acc = [0.0f64; 4];
    let mut chunks = values.chunks_exact(4);
    for c in &mut chunks {
        for (a, v) in acc.iter_mut().zip(c) {
            *a += v;
        }
    }
    for v in chunks.remainder() {
        acc[0] += v;
    }
    (acc[0] + acc[1]) + (acc[2] + acc[3])
}

/// Checks that `level` is a usable confidence level.
///
/// # Panics
/// When `level` is not strictly between 0 and 1 (e.g. `95.0` instead of
/// `0.95`): a programming error, not a data error.
pub(crate) fn check_level(level: f64) {
    assert!(
        level > 0.0 && level < 1.0,
        "confidence level must be in (0, 1), got {level}"
    );
}

/// Quantile `p` in `[0, 1]` of an ascending-sorted non-empty slice, with
/// linear interpolation between order statistics (Hyndman–Fan type 7, the
/// default of R and NumPy).
pub(crate) fn quantile_sorted(sorted: &[f64], p: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * p;
    let lo = h.floor() as usize;
    let hi = (lo + 1).min(sorted.len() - 1);
    let (a, b) = (sorted[lo], sorted[hi]);
    if a == b {
        a
    } else {
        a + (h - lo as f64) * (b - a)
    }
}

/// Sorts `stats` in place and returns the central `level` percentile
/// interval; an empty `stats` (no resamples) gives `[estimate, estimate]`.
pub(crate) fn percentile_interval(stats: &mut [f64], level: f64, estimate: f64) -> Interval {
    if stats.is_empty() {
        return Interval::point(estimate);
    }
    stats.sort_unstable_by(f64::total_cmp);
    let alpha = 1.0 - level;
    Interval {
        low: quantile_sorted(stats, alpha / 2.0),
        high: quantile_sorted(stats, 1.0 - alpha / 2.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_interpolate_like_numpy() {
        let x = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(quantile_sorted(&x, 0.0), 1.0);
        assert_eq!(quantile_sorted(&x, 1.0), 5.0);
        assert_eq!(quantile_sorted(&x, 0.5), 3.0);
        // numpy.percentile([1,2,3,4,5], 2.5) = 1 + 0.1*1 = 1.1
        assert!((quantile_sorted(&x, 0.025) - 1.1).abs() < 1e-12);
        // numpy.percentile([1,2,3,4,5], 97.5) = 4.9
        assert!((quantile_sorted(&x, 0.975) - 4.9).abs() < 1e-12);
    }

    #[test]
    fn bounded_draws_are_in_range_and_roughly_uniform() {
        let mut r = rng(7);
        let mut counts = [0u32; 7];
        for _ in 0..70_000 {
            counts[below(&mut r, 7)] += 1;
        }
        // Expected 10,000 each; sd ≈ 93, so ±500 is > 5 sd.
        for c in counts {
            assert!((9_500..=10_500).contains(&c), "{counts:?}");
        }
        for n in [1u32, 2, 3, 1000, u32::MAX] {
            for _ in 0..1000 {
                assert!(below(&mut r, n) < n as usize);
            }
        }
    }

    #[test]
    fn empty_stats_collapse_to_the_estimate() {
        assert_eq!(
            percentile_interval(&mut [], 0.95, 42.0),
            Interval::point(42.0)
        );
    }
}
