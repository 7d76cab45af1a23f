//! Agreement statistics between raters (judge vs physician, physician vs
//! physician): Cohen's kappa (unweighted and quadratic-weighted), Pearson and
//! Spearman correlation, ICC(2,1), Krippendorff's alpha, mean absolute error,
//! precision/recall/F1, and a generic seeded bootstrap interval over units.
//!
//! All functions are pure. Degenerate data (empty input, zero variance, no
//! disagreement possible) gives `f64::NAN` rather than a panic; a length
//! mismatch between two paired slices is a programming error and panics,
//! like [`crate::paired`].
//!
//! The expected values in `tests/agreement.rs` come from scikit-learn,
//! SciPy, pingouin and the `krippendorff` package.

use crate::Interval;
use crate::resample::{below, check_level, percentile_interval, rng};

fn check_len(a: usize, b: usize) {
    assert_eq!(
        a, b,
        "agreement statistics need two equally long paired slices"
    );
}

/// Cohen's kappa with a weight matrix built from category indices: the
/// categories are the union of the observed values sorted ascending, and
/// `weight(i, j)` is the disagreement weight for index pair `(i, j)`.
fn kappa_with(a: &[i64], b: &[i64], weight: impl Fn(usize, usize) -> f64) -> f64 {
    check_len(a.len(), b.len());
    if a.is_empty() {
        return f64::NAN;
    }
    let mut cats: Vec<i64> = a.iter().chain(b).copied().collect();
    cats.sort_unstable();
    cats.dedup();
    let k = cats.len();
    let idx = |v: i64| cats.binary_search(&v).expect("category is observed");
    let mut confusion = vec![0.0f64; k * k];
    let mut row = vec![0.0f64; k];
    let mut col = vec![0.0f64; k];
    for (&x, &y) in a.iter().zip(b) {
        let (i, j) = (idx(x), idx(y));
        confusion[i * k + j] += 1.0;
        row[i] += 1.0;
        col[j] += 1.0;
    }
    let n = a.len() as f64;
    let (mut observed, mut expected) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            let w = weight(i, j);
            observed += w * confusion[i * k + j];
            expected += w * row[i] * col[j] / n;
        }
    }
    if expected == 0.0 {
        return f64::NAN;
    }
    1.0 - observed / expected
}

/// Unweighted Cohen's kappa between two raters' categorical labels, as
/// scikit-learn's `cohen_kappa_score(a, b)`.
///
/// Returns NaN for empty input or when chance disagreement is zero (both
/// raters used one and the same single category).
///
/// # Panics
/// When `a.len() != b.len()` (a programming error).
pub fn cohen_kappa(a: &[i64], b: &[i64]) -> f64 {
    kappa_with(a, b, |i, j| if i == j { 0.0 } else { 1.0 })
}

/// Quadratic-weighted Cohen's kappa, as scikit-learn's
/// `cohen_kappa_score(a, b, weights="quadratic")`: the weight of a
/// disagreement is the squared difference of the two categories' positions
/// in the ascending union of observed categories (not of their values).
///
/// Returns NaN for empty input or when chance disagreement is zero.
///
/// # Panics
/// When `a.len() != b.len()` (a programming error).
pub fn cohen_kappa_quadratic(a: &[i64], b: &[i64]) -> f64 {
    kappa_with(a, b, |i, j| {
        let d = i as f64 - j as f64;
        d * d
    })
}

/// Pearson's product-moment correlation, as `scipy.stats.pearsonr(x, y)[0]`.
///
/// Returns NaN for fewer than two pairs or when either side has zero
/// variance (or contains NaN).
///
/// # Panics
/// When `x.len() != y.len()` (a programming error).
pub fn pearson(x: &[f64], y: &[f64]) -> f64 {
    check_len(x.len(), y.len());
    let n = x.len();
    if n < 2 {
        return f64::NAN;
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (&a, &b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx.is_nan() || syy.is_nan() || sxx == 0.0 || syy == 0.0 {
        return f64::NAN;
    }
    (sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0)
}

/// Ranks 1..=n with ties given their average rank (`scipy.stats.rankdata`,
/// method "average").
fn average_ranks(x: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..x.len()).collect();
    order.sort_by(|&i, &j| x[i].total_cmp(&x[j]));
    let mut ranks = vec![0.0; x.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && x[order[end]] == x[order[start]] {
            end += 1;
        }
        // Positions start..end (0-based) hold ranks start+1..=end.
        let avg = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = avg;
        }
        start = end;
    }
    ranks
}

/// Spearman's rank correlation: Pearson's correlation of the average ranks,
/// as `scipy.stats.spearmanr(x, y)[0]`.
///
/// Returns NaN for fewer than two pairs, when either side is constant, or
/// when the input contains NaN.
///
/// # Panics
/// When `x.len() != y.len()` (a programming error).
pub fn spearman(x: &[f64], y: &[f64]) -> f64 {
    check_len(x.len(), y.len());
    if x.iter().chain(y).any(|v| v.is_nan()) {
        return f64::NAN;
    }
    pearson(&average_ranks(x), &average_ranks(y))
}

/// ICC(2,1) of Shrout & Fleiss: two-way random effects, absolute agreement,
/// single rater (pingouin's `"ICC2"`). `ratings[target][rater]`; every
/// target must be rated by every rater.
///
/// Returns NaN with fewer than two targets or two raters, for ragged rows,
/// for non-finite ratings, or when the denominator is zero (all ratings
/// equal).
pub fn icc_2_1(ratings: &[Vec<f64>]) -> f64 {
    let n = ratings.len();
    if n < 2 {
        return f64::NAN;
    }
    let k = ratings[0].len();
    if k < 2
        || ratings.iter().any(|r| r.len() != k)
        || ratings.iter().flatten().any(|v| !v.is_finite())
    {
        return f64::NAN;
    }
    let (nf, kf) = (n as f64, k as f64);
    let grand = ratings.iter().flatten().sum::<f64>() / (nf * kf);
    let row_means: Vec<f64> = ratings.iter().map(|r| r.iter().sum::<f64>() / kf).collect();
    let col_means: Vec<f64> = (0..k)
        .map(|j| ratings.iter().map(|r| r[j]).sum::<f64>() / nf)
        .collect();
    let ss_rows = kf * row_means.iter().map(|m| (m - grand).powi(2)).sum::<f64>();
    let ss_cols = nf * col_means.iter().map(|m| (m - grand).powi(2)).sum::<f64>();
    let ss_total = ratings
        .iter()
        .flatten()
        .map(|v| (v - grand).powi(2))
        .sum::<f64>();
    let ss_error = ss_total - ss_rows - ss_cols;
    let msr = ss_rows / (nf - 1.0);
    let msc = ss_cols / (kf - 1.0);
    let mse = ss_error / ((nf - 1.0) * (kf - 1.0));
    let denom = msr + (kf - 1.0) * mse + kf * (msc - mse) / nf;
    if denom == 0.0 {
        return f64::NAN;
    }
    (msr - mse) / denom
}

/// Level of measurement for [`krippendorff_alpha`], selecting the
/// difference function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// δ(c, k) = 0 if c = k, else 1.
    Nominal,
    /// Krippendorff's ordinal δ: (Σ_{g=c..k} n_g − (n_c + n_k)/2)², where n_g
    /// are the marginal counts of the coincidence matrix.
    Ordinal,
    /// δ(c, k) = (c − k)².
    Interval,
}

/// Krippendorff's alpha, as `krippendorff.alpha(reliability_data=data,
/// level_of_measurement=...)`: `data[rater][unit]`, `None` for a missing
/// rating. Uses the coincidence-matrix formulation; units with fewer than
/// two ratings are not pairable and are ignored. The value domain is the set
/// of observed values sorted ascending.
///
/// Returns NaN when there are no pairable units, when a value is not
/// finite, when raters rate different numbers of units, or when expected
/// disagreement is zero (only one value observed).
pub fn krippendorff_alpha(data: &[Vec<Option<f64>>], level: Level) -> f64 {
    let Some(first) = data.first() else {
        return f64::NAN;
    };
    let units = first.len();
    if data.iter().any(|r| r.len() != units)
        || data.iter().flatten().flatten().any(|v| !v.is_finite())
    {
        return f64::NAN;
    }
    let mut values: Vec<f64> = data.iter().flatten().flatten().copied().collect();
    values.sort_unstable_by(f64::total_cmp);
    values.dedup();
    let v = values.len();
    let idx = |x: f64| {
        values
            .binary_search_by(|p| p.total_cmp(&x))
            .expect("value is observed")
    };
    // Coincidence matrix o[c][k].
    let mut o = vec![0.0f64; v * v];
    let mut counts = vec![0.0f64; v];
    for u in 0..units {
        counts.iter_mut().for_each(|c| *c = 0.0);
        let mut m = 0usize;
        for rater in data {
            if let Some(x) = rater[u] {
                counts[idx(x)] += 1.0;
                m += 1;
            }
        }
        if m < 2 {
            continue;
        }
        let scale = 1.0 / (m as f64 - 1.0);
        for c in 0..v {
            if counts[c] == 0.0 {
                continue;
            }
            for k in 0..v {
                let pairs = if c == k {
                    counts[c] * (counts[c] - 1.0)
                } else {
                    counts[c] * counts[k]
                };
                o[c * v + k] += pairs * scale;
            }
        }
    }
    let n_v: Vec<f64> = (0..v).map(|c| o[c * v..(c + 1) * v].iter().sum()).collect();
    let n: f64 = n_v.iter().sum();
    if n <= 1.0 {
        return f64::NAN;
    }
    let delta = |c: usize, k: usize| -> f64 {
        match level {
            Level::Nominal => (c != k) as u8 as f64,
            Level::Interval => (values[c] - values[k]).powi(2),
            Level::Ordinal => {
                let (lo, hi) = if c <= k { (c, k) } else { (k, c) };
                let s: f64 = n_v[lo..=hi].iter().sum();
                (s - (n_v[lo] + n_v[hi]) / 2.0).powi(2)
            }
        }
    };
    let (mut observed, mut expected) = (0.0, 0.0);
    for c in 0..v {
        for k in 0..v {
            if c == k {
                continue;
            }
            let d = delta(c, k);
            observed += o[c * v + k] * d;
            expected += n_v[c] * n_v[k] * d / (n - 1.0);
        }
    }
    if expected == 0.0 {
        return f64::NAN;
    }
    1.0 - observed / expected
}

/// Mean absolute error `mean(|x − y|)`.
///
/// Returns NaN for empty input.
///
/// # Panics
/// When `x.len() != y.len()` (a programming error).
pub fn mae(x: &[f64], y: &[f64]) -> f64 {
    check_len(x.len(), y.len());
    if x.is_empty() {
        return f64::NAN;
    }
    x.iter().zip(y).map(|(a, b)| (a - b).abs()).sum::<f64>() / x.len() as f64
}

/// Precision, recall and F1 of the judge's met/not-met verdicts, treating the
/// physician as ground truth (`true` = criterion met).
///
/// Precision is NaN when the judge never says "met"; recall is NaN when the
/// physician never says "met"; F1 = 2·TP / (2·TP + FP + FN), NaN only when
/// both never say "met" (then there is nothing to agree on). Unlike
/// scikit-learn's `zero_division` default, undefined ratios are NaN, not 0;
/// where defined the values equal `precision_recall_fscore_support(physician,
/// judge, average="binary")`.
///
/// # Panics
/// When `judge.len() != physician.len()` (a programming error).
pub fn prf1(judge: &[bool], physician: &[bool]) -> (f64, f64, f64) {
    check_len(judge.len(), physician.len());
    let (mut tp, mut fp, mut fn_) = (0u64, 0u64, 0u64);
    for (&j, &p) in judge.iter().zip(physician) {
        match (j, p) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => {}
        }
    }
    let ratio = |num: u64, den: u64| {
        if den == 0 {
            f64::NAN
        } else {
            num as f64 / den as f64
        }
    };
    (
        ratio(tp, tp + fp),
        ratio(tp, tp + fn_),
        ratio(2 * tp, 2 * tp + fp + fn_),
    )
}

/// Seeded percentile bootstrap interval for any agreement statistic over `n`
/// units. `stat` receives a slice of unit indices (each in `0..n`, drawn with
/// replacement, length `n`) and computes the statistic on those units; the
/// point estimate is `stat(&[0, 1, …, n−1])`.
///
/// Resamples whose statistic is NaN (e.g. a resample in which one rater is
/// constant) are skipped, so fewer than `resamples` values may enter the
/// interval. With `n == 0`, `resamples == 0` or every resample NaN, the
/// interval collapses to the point estimate (which may itself be NaN).
/// The same inputs and `seed` give bit-identical output.
///
/// # Panics
/// When `level` is not in (0, 1) or `n >= 2^32` (programming errors).
pub fn bootstrap_ci<F: Fn(&[usize]) -> f64>(
    n: usize,
    stat: F,
    resamples: usize,
    seed: u64,
    level: f64,
) -> Interval {
    check_level(level);
    let all: Vec<usize> = (0..n).collect();
    let estimate = stat(&all);
    if n == 0 {
        return Interval::point(estimate);
    }
    let n32 = u32::try_from(n).expect("bootstrap_ci: n must be below 2^32");
    let mut r = rng(seed);
    let mut idx = vec![0usize; n];
    let mut stats = Vec::with_capacity(resamples);
    for _ in 0..resamples {
        for i in idx.iter_mut() {
            *i = below(&mut r, n32);
        }
        let s = stat(&idx);
        if !s.is_nan() {
            stats.push(s);
        }
    }
    percentile_interval(&mut stats, level, estimate)
}
