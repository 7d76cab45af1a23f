//! Paired bootstrap comparison and McNemar's test.

use medbench_stats::{EXACT_BELOW, ItemScore, mcnemar, paired, paired_by_key};

/// Paired boolean runs with the given cell counts: `both` right in both,
/// `b` only A right, `c` only B right, `neither` wrong in both.
fn runs(both: usize, b: usize, c: usize, neither: usize) -> (Vec<bool>, Vec<bool>) {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for (n, av, bv) in [
        (both, true, true),
        (b, true, false),
        (c, false, true),
        (neither, false, false),
    ] {
        x.extend(std::iter::repeat_n(av, n));
        y.extend(std::iter::repeat_n(bv, n));
    }
    (x, y)
}

fn as_f64(v: &[bool]) -> Vec<f64> {
    v.iter().map(|&b| b as u8 as f64).collect()
}

#[test]
fn mcnemar_exact_by_hand() {
    // b = 10, c = 2, n = 12 < 25 → exact. Two-sided p = 2·P(X <= 2 | 12, ½)
    // = 2·(C(12,0) + C(12,1) + C(12,2)) / 2^12 = 2·(1 + 12 + 66)/4096
    // = 158/4096 = 0.0385742...
    let (a, b) = runs(50, 10, 2, 38);
    let m = mcnemar(&a, &b);
    assert_eq!((m.b, m.c), (10, 2));
    assert!(m.exact);
    assert!((m.p_value - 158.0 / 4096.0).abs() < 1e-15, "{}", m.p_value);
    // Statistic still reported: (|10 − 2| − 1)² / 12 = 49/12 = 4.0833.
    assert!((m.statistic - 49.0 / 12.0).abs() < 1e-12);
}

#[test]
fn mcnemar_chi_square_by_hand() {
    // b = 30, c = 15, n = 45 >= 25 → (|30 − 15| − 1)² / 45 = 196/45 = 4.3556;
    // p = P(χ²₁ >= 4.3556) = erfc(√(4.3556/2)) = 0.0368884...
    let (a, b) = runs(0, 30, 15, 5);
    let m = mcnemar(&a, &b);
    assert_eq!((m.b, m.c, m.exact), (30, 15, false));
    assert!((m.statistic - 196.0 / 45.0).abs() < 1e-12);
    assert!(
        (m.p_value - 0.036_888_425_707_049_85).abs() < 1e-12,
        "{}",
        m.p_value
    );
}

#[test]
fn mcnemar_switches_to_chi_square_at_25_discordant_pairs() {
    // 24 discordant (17 vs 7): exact, p = 2·Σ_{i<=7} C(24,i)/2^24
    // = 2·536155/16777216 = 0.0639146...
    let (a, b) = runs(3, 17, 7, 3);
    let m = mcnemar(&a, &b);
    assert_eq!(EXACT_BELOW, 25);
    assert!(m.exact);
    assert!((m.p_value - 2.0 * 536_155.0 / 16_777_216.0).abs() < 1e-15);
    // 25 discordant (18 vs 7): (11 − 1)²/25 = 4.0, p = erfc(√2) = 0.0455003.
    let (a, b) = runs(3, 18, 7, 3);
    let m = mcnemar(&a, &b);
    assert!(!m.exact);
    assert_eq!(m.statistic, 4.0);
    assert!((m.p_value - 0.045_500_263_896_358_4).abs() < 1e-12);
}

#[test]
fn mcnemar_symmetry_and_no_discordance() {
    let (a, b) = runs(4, 9, 3, 1);
    let (ab, ba) = (mcnemar(&a, &b), mcnemar(&b, &a));
    assert_eq!((ab.b, ab.c), (ba.c, ba.b));
    assert_eq!(ab.p_value, ba.p_value);
    // b = c = 5: 2·P(X <= 5 | 10) = 2·638/1024 > 1 → capped at 1.
    let (a, b) = runs(0, 5, 5, 0);
    assert_eq!(mcnemar(&a, &b).p_value, 1.0);
    let m = mcnemar(&[], &[]);
    assert_eq!((m.b, m.c, m.statistic, m.p_value), (0, 0, 0.0, 1.0));
}

#[test]
fn clear_difference_has_a_ci_excluding_zero() {
    // A right on 160/200, B on 80/200 (A ⊇ B): diff = 80 − 40 = 40.
    let (a, b) = runs(80, 80, 0, 40);
    let p = paired(&as_f64(&a), &as_f64(&b), 1000, 7);
    assert_eq!((p.n, p.mean_a, p.mean_b, p.diff), (200, 80.0, 40.0, 40.0));
    assert!(p.ci.low > 0.0 && p.ci.contains(40.0), "{:?}", p.ci);
    // No replicate reaches 0: p = 2·(0 + 1)/(1000 + 1).
    assert_eq!(p.p_bootstrap, 2.0 / 1001.0);
    let m = p.mcnemar.expect("binary runs get McNemar");
    assert_eq!((m.b, m.c, m.exact), (80, 0, false));
    assert!(m.p_value < 1e-15);
}

#[test]
fn identical_runs_have_a_ci_at_zero_and_p_one() {
    let a: Vec<f64> = (0..150).map(|i| (i % 3) as f64 / 2.0).collect();
    let p = paired(&a, &a, 500, 3);
    assert_eq!((p.diff, p.p_bootstrap), (0.0, 1.0));
    assert!(p.ci.contains(0.0));
    assert!(p.mcnemar.is_none(), "0.5 scores are not binary");
}

#[test]
fn small_noisy_difference_is_not_significant() {
    // b = 6, c = 4 discordant out of 60: diff = 2/60·100 = 3.33.
    let (a, b) = runs(30, 6, 4, 20);
    let p = paired(&as_f64(&a), &as_f64(&b), 2000, 1);
    assert!((p.diff - 10.0 / 3.0).abs() < 1e-9);
    assert!(p.ci.contains(0.0), "{:?}", p.ci);
    assert!(p.p_bootstrap > 0.3, "{}", p.p_bootstrap);
    // Exact McNemar: 2·P(X <= 4 | 10) = 2·386/1024 = 0.75390625.
    assert_eq!(p.mcnemar.unwrap().p_value, 0.753_906_25);
}

#[test]
fn paired_is_seeded_and_empty_safe() {
    let (a, b) = runs(10, 7, 3, 5);
    let (a, b) = (as_f64(&a), as_f64(&b));
    assert_eq!(paired(&a, &b, 300, 5), paired(&a, &b, 300, 5));
    assert_ne!(paired(&a, &b, 300, 5).ci, paired(&a, &b, 300, 6).ci);
    let e = paired(&[], &[], 100, 1);
    assert_eq!((e.n, e.diff, e.p_bootstrap, e.mcnemar), (0, 0.0, 1.0, None));
}

#[test]
#[should_panic(expected = "aligned")]
fn paired_rejects_misaligned_runs() {
    paired(&[1.0], &[1.0, 0.0], 10, 1);
}

#[test]
fn paired_by_key_joins_on_task_and_item() {
    let s = |task: &str, item: &str, v: f64| ItemScore::new(task, "d", "llm", item, v);
    let a = vec![
        s("t1", "q1", 1.0),
        s("t1", "q2", 1.0),
        s("t2", "q1", 0.0),
        s("t1", "only_a", 1.0),
    ];
    let b = vec![
        s("t2", "q1", 1.0),
        s("t1", "q2", 0.0),
        s("t1", "q1", 1.0),
        s("t3", "only_b", 0.0),
    ];
    let p = paired_by_key(&a, &b, 200, 1);
    // Shared: t1/q1 (1,1), t1/q2 (1,0), t2/q1 (0,1) → means 66.7 vs 66.7.
    assert_eq!(p.n, 3);
    assert!(p.diff.abs() < 1e-12);
    let m = p.mcnemar.unwrap();
    assert_eq!((m.b, m.c), (1, 1));
    let mut shuffled = a.clone();
    shuffled.reverse();
    assert_eq!(p, paired_by_key(&shuffled, &b, 200, 1));
}
