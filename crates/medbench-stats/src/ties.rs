//! Statistically tied clusters for a leaderboard.

use crate::Interval;
use std::cmp::Ordering;

/// Groups models into statistically tied clusters; returns one group index
/// per input model, in input order. Group 0 is the top group, and group
/// indices increase down the leaderboard.
///
/// Rule ("leader overlap"):
/// 1. Sort models by score, highest first (equal scores keep input order; a
///    NaN score sorts last).
/// 2. The first model leads group 0.
/// 3. Walking down, a model joins the current group when its CI overlaps the
///    current group *leader's* CI (closed intervals: touching counts);
///    otherwise it starts a new group and becomes its leader.
///
/// Comparing with the leader rather than the previous member keeps groups
/// from chaining: A ~ B and B ~ C does not put C with A unless C's interval
/// reaches A's. Overlapping 95% CIs is a conservative tie criterion (two
/// models can differ significantly with slightly overlapping CIs); use
/// [`paired`](crate::paired) for a proper test between two runs.
pub fn tie_groups(scores: &[(f64, Interval)]) -> Vec<usize> {
    let key = |i: usize| {
        let s = scores[i].0;
        if s.is_nan() { f64::NEG_INFINITY } else { s }
    };
    let mut order: Vec<usize> = (0..scores.len()).collect();
    // Stable sort: ties in score keep input order.
    order.sort_by(|&i, &j| {
        key(j)
            .partial_cmp(&key(i))
            .unwrap_or(Ordering::Equal)
            .then_with(|| scores[i].0.is_nan().cmp(&scores[j].0.is_nan()))
    });
    let mut groups = vec![0usize; scores.len()];
    let mut group = 0usize;
    let mut leader: Option<Interval> = None;
    for &i in &order {
        let ci = scores[i].1;
        match leader {
            Some(l) if l.overlaps(&ci) => {}
            Some(_) => {
                group += 1;
                leader = Some(ci);
            }
            None => leader = Some(ci),
        }
        groups[i] = group;
    }
    groups
}
