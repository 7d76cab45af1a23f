//! Leaderboard tie groups (leader-overlap rule).

use medbench_stats::{Interval, tie_groups};

fn m(score: f64, low: f64, high: f64) -> (f64, Interval) {
    (score, Interval::new(low, high))
}

#[test]
fn hand_made_leaderboard() {
    // Sorted: A 80 [76,84] leads group 0; B [74,82] and C [71,79] overlap
    // A's CI → group 0; D [66,74] misses A's (74 < 76) → leads group 1;
    // E [55,65] misses D's → group 2. Input order is shuffled on purpose.
    let models = [
        m(70.0, 66.0, 74.0), // D
        m(80.0, 76.0, 84.0), // A
        m(60.0, 55.0, 65.0), // E
        m(75.0, 71.0, 79.0), // C
        m(78.0, 74.0, 82.0), // B
    ];
    assert_eq!(tie_groups(&models), vec![1, 0, 2, 0, 0]);
}

#[test]
fn groups_compare_with_the_leader_so_they_do_not_chain() {
    // Z overlaps Y, Y overlaps X, but Z does not overlap the leader X.
    let models = [
        m(80.0, 78.0, 82.0),
        m(77.0, 75.0, 79.0),
        m(74.0, 72.0, 76.0),
    ];
    assert_eq!(tie_groups(&models), vec![0, 0, 1]);
}

#[test]
fn touching_intervals_count_as_overlap() {
    assert_eq!(
        tie_groups(&[m(77.0, 75.0, 80.0), m(72.0, 70.0, 75.0)]),
        vec![0, 0]
    );
    assert_eq!(
        tie_groups(&[m(77.0, 75.0, 80.0), m(72.0, 70.0, 74.99)]),
        vec![0, 1]
    );
}

#[test]
fn equal_scores_nan_and_empty() {
    assert_eq!(tie_groups(&[]), Vec::<usize>::new());
    // Two separated models with the same score: input order decides the leader.
    let same = [m(50.0, 49.0, 51.0), m(50.0, 40.0, 45.0)];
    assert_eq!(tie_groups(&same), vec![0, 1]);
    // A NaN score sorts last and, with a NaN CI, overlaps nothing.
    let nan = [m(f64::NAN, f64::NAN, f64::NAN), m(10.0, 5.0, 15.0)];
    assert_eq!(tie_groups(&nan), vec![1, 0]);
}
