//! `mean_ci`: known means, CI behaviour, determinism, edge cases.

use medbench_stats::{Interval, mean_ci};

fn binary(ones: usize, n: usize) -> Vec<f64> {
    (0..n).map(|i| (i < ones) as u8 as f64).collect()
}

#[test]
fn known_means_on_the_0_to_100_scale() {
    assert_eq!(mean_ci(&[1.0, 0.0, 1.0, 1.0], 0, 1, 0.95).0, 75.0);
    let (m, _) = mean_ci(&[0.2, 0.4, 0.9], 10, 1, 0.95);
    assert!((m - 50.0).abs() < 1e-12, "{m}");
}

#[test]
fn constant_scores_give_a_zero_width_ci_at_the_score() {
    assert_eq!(
        mean_ci(&[1.0; 37], 500, 3, 0.95),
        (100.0, Interval::point(100.0))
    );
    assert_eq!(
        mean_ci(&[0.0; 37], 500, 3, 0.95),
        (0.0, Interval::point(0.0))
    );
    // Not just for 0 and 1: the bootstrap sums in the same order as the mean.
    let (m, ci) = mean_ci(&[0.7; 41], 500, 3, 0.95);
    assert_eq!(ci, Interval::point(m));
    assert!((m - 70.0).abs() < 1e-12);
}

#[test]
fn ci_contains_the_mean_and_matches_the_normal_approximation() {
    // p = 0.3, n = 500: half-width ≈ 1.96·√(0.21/500)·100 = 4.02.
    let (m, ci) = mean_ci(&binary(150, 500), 2000, 17, 0.95);
    assert_eq!(m, 30.0);
    assert!(ci.contains(m), "{ci:?}");
    assert!(
        (m - ci.low - 4.02).abs() < 0.5 && (ci.high - m - 4.02).abs() < 0.5,
        "{ci:?}"
    );
}

#[test]
fn ci_narrows_as_n_grows() {
    let widths: Vec<f64> = [25, 100, 400, 1600]
        .iter()
        .map(|&n| mean_ci(&binary(n / 5 * 3, n), 1000, 5, 0.95).1.width())
        .collect();
    // Each 4× more items should roughly halve the width.
    for w in widths.windows(2) {
        let ratio = w[0] / w[1];
        assert!((1.6..=2.5).contains(&ratio), "{widths:?}");
    }
}

#[test]
fn seeded_determinism() {
    let x = binary(40, 90);
    assert_eq!(mean_ci(&x, 400, 99, 0.95), mean_ci(&x, 400, 99, 0.95));
    assert_ne!(mean_ci(&x, 400, 99, 0.95).1, mean_ci(&x, 400, 100, 0.95).1);
}

#[test]
fn empty_and_degenerate_inputs() {
    assert_eq!(mean_ci(&[], 1000, 1, 0.95), (0.0, Interval::point(0.0)));
    assert_eq!(
        mean_ci(&[0.25], 1000, 1, 0.95),
        (25.0, Interval::point(25.0))
    );
    assert_eq!(
        mean_ci(&binary(3, 4), 0, 1, 0.95),
        (75.0, Interval::point(75.0))
    );
}

#[test]
#[should_panic(expected = "confidence level must be in (0, 1)")]
fn level_on_the_wrong_scale_is_rejected() {
    mean_ci(&[1.0], 10, 1, 95.0);
}
