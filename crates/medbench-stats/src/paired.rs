//! Paired comparison of two runs on the same items.

use crate::mcnemar::{McNemar, mcnemar_counts};
use crate::resample::{percentile_interval, resampled_sum, rng, sum};
use crate::{DEFAULT_LEVEL, Interval, ItemScore};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Paired comparison of run A against run B on shared items (0–100 scale).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Paired {
    /// Number of paired items.
    pub n: usize,
    /// Mean of A ×100.
    pub mean_a: f64,
    /// Mean of B ×100.
    pub mean_b: f64,
    /// `mean_a − mean_b` (A − B, ×100).
    pub diff: f64,
    /// Paired percentile bootstrap 95% CI of `diff`.
    pub ci: Interval,
    /// Two-sided bootstrap p-value for "no difference" (see [`paired`]).
    pub p_bootstrap: f64,
    /// McNemar's test, present when every value of both runs is exactly 0 or
    /// 1 (binary outcomes) and `n > 0`.
    pub mcnemar: Option<McNemar>,
}

/// Paired comparison: `a[i]` and `b[i]` are the two runs' scores in `[0, 1]`
/// on the same item `i`.
///
/// * `diff` = mean(a − b) ×100, with a 95% percentile CI from `resamples`
///   paired bootstrap replicates (items drawn with replacement, each keeping
///   its own (a, b) pair; `ChaCha8Rng` seeded with `seed`).
/// * `p_bootstrap` inverts the percentile interval: with `lo` = #{d* <= 0}
///   and `hi` = #{d* >= 0} over the R replicates,
///   `p = min(1, 2·(min(lo, hi) + 1) / (R + 1))`. The `+1` (Davison &
///   Hinkley) keeps p above 0 for a finite R; the smallest reachable p is
///   `2/(R + 1)`. Identical runs give p = 1.
/// * `mcnemar` is computed when both runs are binary (see [`Paired`]).
///
/// Empty input gives `n = 0`, all means and the CI 0, p = 1, no McNemar.
/// Values are not validated: a NaN propagates into the means and CI.
///
/// # Panics
/// When `a.len() != b.len()`.
pub fn paired(a: &[f64], b: &[f64], resamples: usize, seed: u64) -> Paired {
    assert_eq!(
        a.len(),
        b.len(),
        "paired: runs must be aligned item by item"
    );
    assert!(
        a.len() <= u32::MAX as usize,
        "at most 2^32 - 1 paired items"
    );
    let n = a.len();
    if n == 0 {
        return Paired {
            n,
            mean_a: 0.0,
            mean_b: 0.0,
            diff: 0.0,
            ci: Interval::point(0.0),
            p_bootstrap: 1.0,
            mcnemar: None,
        };
    }
    let nf = n as f64;
    let mean_a = sum(a) / nf * 100.0;
    let mean_b = sum(b) / nf * 100.0;
    let diffs: Vec<f64> = a.iter().zip(b).map(|(x, y)| x - y).collect();
    let diff = sum(&diffs) / nf * 100.0;

    let mut rng = rng(seed);
    let mut stats: Vec<f64> = (0..resamples)
        .map(|_| resampled_sum(&mut rng, &diffs) / nf * 100.0)
        .collect();
    let at_most_zero = stats.iter().filter(|&&d| d <= 0.0).count();
    let at_least_zero = stats.iter().filter(|&&d| d >= 0.0).count();
    let tail = at_most_zero.min(at_least_zero) as f64;
    let p_bootstrap = (2.0 * (tail + 1.0) / (resamples as f64 + 1.0)).min(1.0);
    let ci = percentile_interval(&mut stats, DEFAULT_LEVEL, diff);

    let binary = |x: &f64| *x == 0.0 || *x == 1.0;
    let mcnemar = (a.iter().all(binary) && b.iter().all(binary)).then(|| {
        let (mut bc, mut cc) = (0u64, 0u64);
        for (x, y) in a.iter().zip(b) {
            if x > y {
                bc += 1;
            } else if x < y {
                cc += 1;
            }
        }
        mcnemar_counts(bc, cc)
    });

    Paired {
        n,
        mean_a,
        mean_b,
        diff,
        ci,
        p_bootstrap,
        mcnemar,
    }
}

/// [`paired`] on two runs given as item scores: pairs are joined on the item
/// key `(task, item)`; items present in only one run are ignored. Pairs are
/// ordered by key, so the result does not depend on input order. When a key
/// occurs more than once in a run, its last occurrence is used.
pub fn paired_by_key(a: &[ItemScore], b: &[ItemScore], resamples: usize, seed: u64) -> Paired {
    let index: BTreeMap<(&str, &str), f64> = b
        .iter()
        .map(|s| ((s.task.as_str(), s.item.as_str()), s.value))
        .collect();
    let from_a: BTreeMap<(&str, &str), f64> = a
        .iter()
        .map(|s| ((s.task.as_str(), s.item.as_str()), s.value))
        .collect();
    let (va, vb): (Vec<f64>, Vec<f64>) = from_a
        .iter()
        .filter_map(|(k, &x)| index.get(k).map(|&y| (x, y)))
        .unzip();
    paired(&va, &vb, resamples, seed)
}
