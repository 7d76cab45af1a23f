//! Agreement statistics checked against established implementations.
//!
//! Every expected value below was computed once with Python 3.11 and
//! scikit-learn 1.9.1, SciPy 1.17.1, pingouin 0.7.0, krippendorff 0.9.0
//! (NumPy 2.4.6, pandas 3.1.1) on the same hand-made data; the exact call is
//! given next to each value.

use medbench_stats::agreement::{
    Level, bootstrap_ci, cohen_kappa, cohen_kappa_quadratic, icc_2_1, krippendorff_alpha, mae,
    pearson, prf1, spearman,
};

const TOL: f64 = 1e-9;

fn close(got: f64, want: f64) {
    assert!((got - want).abs() < TOL, "got {got}, want {want}");
}

// ---- Cohen's kappa ---------------------------------------------------------

const K1_A: [i64; 15] = [1, 2, 3, 4, 5, 3, 2, 4, 5, 1, 3, 3, 4, 2, 5];
const K1_B: [i64; 15] = [1, 2, 4, 4, 5, 3, 3, 4, 4, 2, 3, 2, 5, 2, 5];
const K2_A: [i64; 12] = [1, 1, 2, 5, 5, 3, 1, 2, 2, 3, 5, 1];
const K2_B: [i64; 12] = [1, 2, 2, 5, 4, 3, 1, 1, 3, 3, 4, 2];
// Non-contiguous category values: sklearn weights by position in the sorted
// label union (0, 10, 30 → 0, 1, 2), not by value.
const K3_A: [i64; 10] = [0, 10, 10, 30, 0, 30, 10, 0, 30, 10];
const K3_B: [i64; 10] = [0, 10, 30, 30, 10, 30, 0, 0, 30, 30];

#[test]
fn cohen_kappa_matches_sklearn() {
    // sklearn.metrics.cohen_kappa_score(a, b)
    close(cohen_kappa(&K1_A, &K1_B), 0.4943820224719101);
    close(cohen_kappa(&K2_A, &K2_B), 0.368421052631579);
    close(cohen_kappa(&K3_A, &K3_B), 0.4117647058823529);
}

#[test]
fn quadratic_kappa_matches_sklearn() {
    // sklearn.metrics.cohen_kappa_score(a, b, weights="quadratic")
    close(cohen_kappa_quadratic(&K1_A, &K1_B), 0.8773841961852861);
    close(cohen_kappa_quadratic(&K2_A, &K2_B), 0.8745644599303135);
    close(cohen_kappa_quadratic(&K3_A, &K3_B), 0.7142857142857143);
}

#[test]
fn kappa_degenerate_inputs_are_nan() {
    assert!(cohen_kappa(&[], &[]).is_nan());
    assert!(cohen_kappa(&[3, 3, 3], &[3, 3, 3]).is_nan());
    assert!(cohen_kappa_quadratic(&[3, 3], &[3, 3]).is_nan());
    close(cohen_kappa(&K1_A, &K1_A), 1.0);
}

#[test]
#[should_panic]
fn kappa_length_mismatch_panics() {
    cohen_kappa(&[1, 2], &[1]);
}

// ---- Pearson, Spearman, MAE ------------------------------------------------

fn c1() -> (Vec<f64>, Vec<f64>) {
    let f = |v: &[i64]| v.iter().map(|&x| x as f64).collect();
    (f(&K1_A), f(&K1_B))
}
const C2_X: [f64; 10] = [0.2, 0.5, 0.5, 0.9, 0.1, 0.7, 0.7, 0.3, 0.8, 0.4];
const C2_Y: [f64; 10] = [1.0, 3.0, 2.0, 5.0, 1.0, 4.0, 4.0, 2.0, 5.0, 2.0];
const C3_X: [f64; 8] = [3.5, 1.0, 2.0, 2.0, 4.0, 5.0, 1.5, 3.0];
const C3_Y: [f64; 8] = [2.0, 1.0, 3.0, 3.0, 3.0, 4.5, 2.5, 1.0];

#[test]
fn pearson_matches_scipy() {
    // scipy.stats.pearsonr(x, y)[0]
    let (x, y) = c1();
    close(pearson(&x, &y), 0.8836555267811348);
    close(pearson(&C2_X, &C2_Y), 0.9680742105364433);
    close(pearson(&C3_X, &C3_Y), 0.5624015883323095);
}

#[test]
fn spearman_matches_scipy() {
    // scipy.stats.spearmanr(x, y)[0]  (average ranks for ties)
    let (x, y) = c1();
    close(spearman(&x, &y), 0.885884339433011);
    close(spearman(&C2_X, &C2_Y), 0.9720805479757002);
    close(spearman(&C3_X, &C3_Y), 0.518676651647696);
}

#[test]
fn mae_matches_sklearn() {
    // sklearn.metrics.mean_absolute_error(x, y)
    let (x, y) = c1();
    close(mae(&x, &y), 0.4);
    close(mae(&C2_X, &C2_Y), 2.3899999999999997);
    close(mae(&C3_X, &C3_Y), 1.0);
}

#[test]
fn correlation_degenerate_inputs_are_nan() {
    assert!(pearson(&[], &[]).is_nan());
    assert!(pearson(&[1.0], &[2.0]).is_nan());
    assert!(pearson(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0]).is_nan());
    assert!(spearman(&[1.0, 2.0, 3.0], &[4.0, 4.0, 4.0]).is_nan());
    assert!(spearman(&[1.0, f64::NAN], &[1.0, 2.0]).is_nan());
    assert!(mae(&[], &[]).is_nan());
}

// ---- ICC(2,1) --------------------------------------------------------------

fn rows(r: &[&[f64]]) -> Vec<Vec<f64>> {
    r.iter().map(|x| x.to_vec()).collect()
}

#[test]
fn icc_2_1_matches_pingouin() {
    // pingouin.intraclass_corr(df, targets="t", raters="r", ratings="v"), row
    // Type == "ICC(A,1)" (pingouin 0.7.0's name for ICC2 / Shrout & Fleiss
    // ICC(2,1)), on the long-format data frame of ratings[target][rater].

    // Shrout & Fleiss (1979), Table 2: 6 targets × 4 judges (their ICC(2,1) = .29).
    let i1 = rows(&[
        &[9.0, 2.0, 5.0, 8.0],
        &[6.0, 1.0, 3.0, 2.0],
        &[8.0, 4.0, 6.0, 8.0],
        &[7.0, 1.0, 2.0, 6.0],
        &[10.0, 5.0, 6.0, 9.0],
        &[6.0, 2.0, 4.0, 7.0],
    ]);
    close(icc_2_1(&i1), 0.28976377952755916);

    let i2 = rows(&[
        &[4.0, 4.0, 5.0],
        &[2.0, 3.0, 2.0],
        &[5.0, 5.0, 5.0],
        &[3.0, 2.0, 3.0],
        &[1.0, 2.0, 1.0],
        &[4.0, 5.0, 4.0],
        &[2.0, 2.0, 3.0],
        &[5.0, 4.0, 5.0],
        &[3.0, 3.0, 3.0],
        &[1.0, 1.0, 2.0],
    ]);
    close(icc_2_1(&i2), 0.8688524590163935);

    let i3 = rows(&[
        &[1.5, 2.0],
        &[3.0, 3.5],
        &[2.0, 1.0],
        &[4.5, 4.0],
        &[5.0, 5.0],
        &[2.5, 3.5],
        &[3.0, 2.0],
    ]);
    close(icc_2_1(&i3), 0.8448275862068962);
}

#[test]
fn icc_degenerate_inputs_are_nan() {
    assert!(icc_2_1(&[]).is_nan());
    assert!(icc_2_1(&rows(&[&[1.0, 2.0]])).is_nan());
    assert!(icc_2_1(&rows(&[&[1.0], &[2.0]])).is_nan());
    assert!(icc_2_1(&rows(&[&[1.0, 2.0], &[3.0]])).is_nan());
    assert!(icc_2_1(&rows(&[&[2.0, 2.0], &[2.0, 2.0]])).is_nan());
}

// ---- Krippendorff's alpha --------------------------------------------------

/// Parses rows like "1 2 . 3" with "." as missing.
fn rel(rows: &[&str]) -> Vec<Vec<Option<f64>>> {
    rows.iter()
        .map(|r| {
            r.split_whitespace()
                .map(|t| {
                    if t == "." {
                        None
                    } else {
                        Some(t.parse().unwrap())
                    }
                })
                .collect()
        })
        .collect()
}

fn alphas(data: &[Vec<Option<f64>>]) -> [f64; 3] {
    [
        krippendorff_alpha(data, Level::Nominal),
        krippendorff_alpha(data, Level::Ordinal),
        krippendorff_alpha(data, Level::Interval),
    ]
}

#[test]
fn krippendorff_alpha_matches_krippendorff_package() {
    // krippendorff.alpha(reliability_data=np.array(data, dtype=float),
    //                    level_of_measurement=L) for L in
    // ("nominal", "ordinal", "interval"); "." is np.nan, rows are raters.

    // Krippendorff (2011), "Computing Krippendorff's alpha-reliability",
    // 4 observers × 12 units (published: nominal .743, ordinal .815, interval .849).
    let r1 = rel(&[
        "1 2 3 3 2 1 4 1 2 . . .",
        "1 2 3 3 2 2 4 1 2 5 . 3",
        ". 3 3 3 2 3 4 2 2 5 1 .",
        "1 2 3 3 2 4 4 1 2 5 1 .",
    ]);
    let want = [0.743421052631579, 0.8153875037548814, 0.8491071428571428];
    for (g, w) in alphas(&r1).into_iter().zip(want) {
        close(g, w);
    }

    // 3 raters × 14 units on a 1–5 scale, some missing.
    let r2 = rel(&[
        "1 2 2 3 5 4 . 1 3 2 4 5 3 .",
        "1 3 2 3 4 4 2 . 3 2 5 5 . 1",
        "2 2 . 3 5 3 2 1 3 1 4 4 3 .",
    ]);
    let want = [0.5031315240083507, 0.9017109144542773, 0.8757828810020877];
    for (g, w) in alphas(&r2).into_iter().zip(want) {
        close(g, w);
    }

    // 3 raters × 10 units, half-point values, some missing.
    let r3 = rel(&[
        "1.0 2.5 3.0 .   4.0 1.0 2.0 5.0 3.0 2.5",
        "1.0 2.0 3.5 4.0 4.0 .   2.0 4.5 3.0 .",
        ".   2.5 3.0 4.0 3.5 1.5 .   5.0 2.0 2.0",
    ]);
    let want = [0.37777777777777777, 0.9152941176470588, 0.9299474605954465];
    for (g, w) in alphas(&r3).into_iter().zip(want) {
        close(g, w);
    }
}

#[test]
fn krippendorff_degenerate_inputs_are_nan() {
    assert!(krippendorff_alpha(&[], Level::Nominal).is_nan());
    // No unit has two ratings.
    assert!(krippendorff_alpha(&rel(&["1 .", ". 2"]), Level::Interval).is_nan());
    // Only one value observed: no expected disagreement.
    assert!(krippendorff_alpha(&rel(&["3 3", "3 3"]), Level::Ordinal).is_nan());
    // Ragged raters.
    assert!(krippendorff_alpha(&rel(&["1 2 3", "1 2"]), Level::Nominal).is_nan());
}

// ---- precision / recall / F1 -----------------------------------------------

fn bools(v: &[u8]) -> Vec<bool> {
    v.iter().map(|&x| x == 1).collect()
}

#[test]
fn prf1_matches_sklearn() {
    // sklearn.metrics.precision_recall_fscore_support(physician, judge,
    //                                                 average="binary")[:3]
    let judge = bools(&[1, 1, 0, 1, 0, 0, 1, 1, 0, 1, 0, 1]);
    let phys = bools(&[1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 1]);
    let (p, r, f) = prf1(&judge, &phys);
    close(p, 0.7142857142857143);
    close(r, 0.8333333333333334);
    close(f, 0.7692307692307693);

    let judge = bools(&[1, 1, 1, 1, 0, 1, 1, 0]);
    let phys = bools(&[1, 1, 1, 0, 1, 1, 1, 1]);
    let (p, r, f) = prf1(&judge, &phys);
    close(p, 0.8333333333333334);
    close(r, 0.7142857142857143);
    close(f, 0.7692307692307693);
}

#[test]
fn prf1_undefined_ratios_are_nan() {
    let (p, r, f) = prf1(&[false, false], &[false, false]);
    assert!(p.is_nan() && r.is_nan() && f.is_nan());
    // Judge never says "met": precision undefined, recall and F1 are 0.
    let (p, r, f) = prf1(&[false, false], &[true, false]);
    assert!(p.is_nan());
    assert_eq!((r, f), (0.0, 0.0));
}

// ---- bootstrap -------------------------------------------------------------

#[test]
fn bootstrap_is_deterministic_and_contains_the_estimate() {
    let (x, y) = c1();
    let stat = |idx: &[usize]| {
        let a: Vec<f64> = idx.iter().map(|&i| x[i]).collect();
        let b: Vec<f64> = idx.iter().map(|&i| y[i]).collect();
        spearman(&a, &b)
    };
    let all: Vec<usize> = (0..x.len()).collect();
    let est = stat(&all);
    let ci = bootstrap_ci(x.len(), stat, 2000, 7, 0.95);
    assert_eq!(ci, bootstrap_ci(x.len(), stat, 2000, 7, 0.95));
    assert_ne!(ci, bootstrap_ci(x.len(), stat, 2000, 8, 0.95));
    assert!(ci.contains(est), "{ci:?} vs {est}");
    assert!(ci.low < ci.high && ci.high <= 1.0);

    // Kappa over units, with resamples that hit a constant rater skipped.
    let kstat = |idx: &[usize]| {
        let a: Vec<i64> = idx.iter().map(|&i| K1_A[i]).collect();
        let b: Vec<i64> = idx.iter().map(|&i| K1_B[i]).collect();
        cohen_kappa_quadratic(&a, &b)
    };
    let kci = bootstrap_ci(K1_A.len(), kstat, 1000, 42, 0.9);
    assert!(kci.contains(cohen_kappa_quadratic(&K1_A, &K1_B)));
    assert_eq!(kci, bootstrap_ci(K1_A.len(), kstat, 1000, 42, 0.9));
}

#[test]
fn bootstrap_degenerate_cases_collapse_to_the_estimate() {
    let ci = bootstrap_ci(0, |_| f64::NAN, 100, 1, 0.95);
    assert!(ci.low.is_nan() && ci.high.is_nan());
    let ci = bootstrap_ci(5, |_| 0.5, 0, 1, 0.95);
    assert_eq!((ci.low, ci.high), (0.5, 0.5));
    // Every resample NaN except the point estimate (all units present).
    let ci = bootstrap_ci(
        6,
        |idx| {
            let mut s = idx.to_vec();
            s.sort_unstable();
            s.dedup();
            if s.len() == 6 { 1.0 } else { f64::NAN }
        },
        50,
        3,
        0.95,
    );
    assert!(ci.contains(1.0));
}
