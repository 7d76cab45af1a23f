//! Mean of one task's item scores with a percentile bootstrap CI.

use crate::Interval;
use crate::resample::{check_level, percentile_interval, resampled_sum, rng, sum};

/// Per-item scores in `[0, 1]` for one task; returns the mean ×100 and a
/// seeded percentile bootstrap CI ×100 at confidence `level` (e.g. `0.95`).
///
/// Each of the `resamples` replicates draws `scores.len()` items with
/// replacement from a `ChaCha8Rng` seeded with `seed`, so the same inputs and
/// seed always give the same interval. `resamples == 0` gives the degenerate
/// interval `[mean, mean]`.
///
/// Empty `scores` give `(0.0, [0, 0])` (NaN-free convention; the caller knows
/// the length). Values are not validated: a NaN in `scores` propagates.
///
/// # Panics
/// When `level` is not strictly between 0 and 1.
pub fn mean_ci(scores: &[f64], resamples: usize, seed: u64, level: f64) -> (f64, Interval) {
    check_level(level);
    if scores.is_empty() {
        return (0.0, Interval::point(0.0));
    }
    assert!(
        scores.len() <= u32::MAX as usize,
        "at most 2^32 - 1 scores per call"
    );
    let n = scores.len() as f64;
    let mean = sum(scores) / n * 100.0;
    let mut rng = rng(seed);
    let mut stats: Vec<f64> = (0..resamples)
        .map(|_| resampled_sum(&mut rng, scores) / n * 100.0)
        .collect();
    (mean, percentile_interval(&mut stats, level, mean))
}
