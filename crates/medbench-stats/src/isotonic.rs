//! Isotonic calibration: a non-decreasing map from judge scores to the
//! physicians' scale, fitted by pool-adjacent-violators.
//!
//! Matches scikit-learn's `IsotonicRegression(out_of_bounds="clip")`: tied
//! inputs are first replaced by their (weighted) mean, the means are pooled
//! until non-decreasing, and new scores are mapped by linear interpolation
//! between the fitted points, clipped to the first and last fitted value.

use serde::{Deserialize, Serialize};

/// A fitted calibration map.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IsotonicMap {
    /// Distinct judge scores seen in fitting, ascending.
    xs: Vec<f64>,
    /// The calibrated value at each of them, non-decreasing.
    ys: Vec<f64>,
}

impl IsotonicMap {
    /// Fit a map from `x` (judge scores) to `y` (physician ratings), optionally weighted.
    /// Returns `None` for empty input, mismatched lengths, non-finite values or
    /// non-positive weights: there is nothing sound to calibrate with.
    pub fn fit(x: &[f64], y: &[f64], weights: Option<&[f64]>) -> Option<IsotonicMap> {
        if x.is_empty() || x.len() != y.len() || weights.is_some_and(|w| w.len() != x.len()) {
            return None;
        }
        let w = |i: usize| weights.map_or(1.0, |w| w[i]);
        if (0..x.len()).any(|i| {
            !x[i].is_finite()
                || !y[i].is_finite()
                || w(i).is_nan()
                || w(i) <= 0.0
                || !w(i).is_finite()
        }) {
            return None;
        }
        let mut order: Vec<usize> = (0..x.len()).collect();
        order.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        // Tied inputs become one point: their weighted mean, with their summed weight.
        let mut pts: Vec<(f64, f64, f64)> = Vec::new(); // (x, mean y, weight)
        for i in order {
            match pts.last_mut() {
                Some(p) if p.0 == x[i] => {
                    let total = p.2 + w(i);
                    p.1 = (p.1 * p.2 + y[i] * w(i)) / total;
                    p.2 = total;
                }
                _ => pts.push((x[i], y[i], w(i))),
            }
        }
        // Pool adjacent violators: blocks of (mean, weight, count).
        let mut blocks: Vec<(f64, f64, usize)> = Vec::with_capacity(pts.len());
        for &(_, v, wt) in &pts {
            blocks.push((v, wt, 1));
            while blocks.len() > 1 && blocks[blocks.len() - 2].0 > blocks[blocks.len() - 1].0 {
                let (v2, w2, n2) = blocks.pop().expect("two blocks");
                let b = blocks.last_mut().expect("one block");
                b.0 = (b.0 * b.1 + v2 * w2) / (b.1 + w2);
                b.1 += w2;
                b.2 += n2;
            }
        }
        let ys: Vec<f64> = blocks
            .iter()
            .flat_map(|&(v, _, n)| std::iter::repeat_n(v, n))
            .collect();
        Some(IsotonicMap {
            xs: pts.iter().map(|p| p.0).collect(),
            ys,
        })
    }

    /// The calibrated value of a judge score.
    pub fn apply(&self, x: f64) -> f64 {
        let (xs, ys) = (&self.xs, &self.ys);
        if x <= xs[0] {
            return ys[0];
        }
        if x >= xs[xs.len() - 1] {
            return ys[ys.len() - 1];
        }
        let i = xs.partition_point(|&v| v <= x); // xs[i-1] <= x < xs[i]
        let (x0, x1, y0, y1) = (xs[i - 1], xs[i], ys[i - 1], ys[i]);
        y0 + (x - x0) / (x1 - x0) * (y1 - y0)
    }

    /// The fitted points (judge score, calibrated value).
    pub fn points(&self) -> impl Iterator<Item = (f64, f64)> + '_ {
        self.xs.iter().copied().zip(self.ys.iter().copied())
    }
}

#[cfg(test)]
mod tests {
    use super::IsotonicMap;

    // Expected values: scikit-learn 1.9.1,
    // IsotonicRegression(out_of_bounds="clip").fit(X, Y[, sample_weight=W]).predict(Q).
    const X: [f64; 10] = [0.1, 0.2, 0.2, 0.35, 0.5, 0.5, 0.6, 0.8, 0.9, 1.0];
    const Y: [f64; 10] = [1.0, 2.0, 1.0, 3.0, 2.0, 4.0, 3.0, 5.0, 4.0, 5.0];
    const Q: [f64; 9] = [0.0, 0.15, 0.2, 0.3, 0.5, 0.55, 0.85, 1.0, 1.2];

    fn close(got: &[f64], want: &[f64]) {
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() < 1e-12, "{got:?} vs {want:?}");
        }
    }

    #[test]
    fn matches_scikit_learn_with_ties_and_violations() {
        let m = IsotonicMap::fit(&X, &Y, None).unwrap();
        let got: Vec<f64> = Q.iter().map(|&q| m.apply(q)).collect();
        close(&got, &[1.0, 1.25, 1.5, 2.5, 3.0, 3.0, 4.5, 5.0, 5.0]);
    }

    #[test]
    fn matches_scikit_learn_with_weights() {
        let w = [1.0, 1.0, 2.0, 1.0, 1.0, 1.0, 3.0, 1.0, 1.0, 1.0];
        let m = IsotonicMap::fit(&X, &Y, Some(&w)).unwrap();
        let got: Vec<f64> = Q.iter().map(|&q| m.apply(q)).collect();
        close(
            &got,
            &[
                1.0,
                1.1666666666666665,
                1.3333333333333333,
                2.4444444444444446,
                3.0,
                3.0,
                4.5,
                5.0,
                5.0,
            ],
        );
    }

    #[test]
    fn a_decreasing_relation_pools_to_its_mean_and_bad_input_is_refused() {
        let m =
            IsotonicMap::fit(&[1.0, 2.0, 3.0, 4.0, 5.0], &[5.0, 4.0, 3.0, 2.0, 1.0], None).unwrap();
        close(
            &[m.apply(1.0), m.apply(3.0), m.apply(5.0)],
            &[3.0, 3.0, 3.0],
        );
        assert!(m.points().all(|(_, y)| y == 3.0));
        assert!(IsotonicMap::fit(&[], &[], None).is_none());
        assert!(IsotonicMap::fit(&[1.0], &[f64::NAN], None).is_none());
        assert!(IsotonicMap::fit(&[1.0, 2.0], &[1.0, 2.0], Some(&[1.0, 0.0])).is_none());
    }

    #[test]
    fn the_map_is_non_decreasing_everywhere() {
        let m = IsotonicMap::fit(&X, &Y, None).unwrap();
        let mut last = f64::NEG_INFINITY;
        for i in 0..=120 {
            let v = m.apply(i as f64 / 100.0);
            assert!(v >= last - 1e-12);
            last = v;
        }
    }
}
