//! # medbench-stats
//!
//! Pure statistics for medbench evaluation results. No I/O, no threads, no
//! global state: every function is a deterministic function of its inputs
//! and its `seed`.
//!
//! * [`mean_ci`]: mean of per-item scores in `[0, 1]`, ×100, with a seeded
//!   percentile bootstrap confidence interval.
//! * [`aggregate`] / [`try_aggregate`]: the MedBench hierarchy (task →
//!   dimension → track → overall, plus specialties) with a stratified
//!   bootstrap CI at every level (platform-spec §2).
//! * [`paired`] / [`paired_by_key`]: paired comparison of two runs on shared
//!   items (mean difference, paired bootstrap CI and p-value) and
//!   [`mcnemar`] for binary outcomes.
//! * [`tie_groups`]: statistically tied clusters for a leaderboard.
//!
//! ```
//! use medbench_stats::{ItemScore, aggregate};
//!
//! let items: Vec<ItemScore> = (0..40)
//!     .map(|i| {
//!         let task = if i < 20 { "mcq" } else { "triage" };
//!         ItemScore::new(task, "knowledge_qa", "llm", &format!("q{i}"), (i % 4 != 0) as u8 as f64)
//!     })
//!     .collect();
//! let agg = aggregate(&items, 1000, 42);
//! assert_eq!(agg.tasks["mcq"].score, 75.0);
//! assert_eq!(agg.tracks["llm"].score, 75.0);
//! assert!(agg.overall.ci_low < 75.0 && 75.0 < agg.overall.ci_high);
//! ```
//!
//! ## Conventions
//!
//! * Scores are reported on the 0–100 scale (item values are in `[0, 1]`).
//! * Random numbers come from `ChaCha8Rng::seed_from_u64(seed)`: the same
//!   inputs and seed give bit-identical outputs on every platform.
//! * Confidence intervals are percentile intervals: the `(1 − level)/2` and
//!   `(1 + level)/2` quantiles of the bootstrap distribution, with linear
//!   interpolation between order statistics (Hyndman–Fan type 7). With
//!   `resamples == 0` an interval collapses to the point estimate.
//! * NaN-free outputs: nothing empty is ever scored. An empty input gives a
//!   score of `0.0`, an interval `[0, 0]` and `n == 0`; callers must read
//!   `n == 0` as "no data". This keeps every output JSON-serialisable.

mod aggregate;
pub mod agreement;
mod hierarchy;
pub mod isotonic;
mod mcnemar;
mod mean;
mod paired;
mod resample;
mod special;
mod ties;

pub use aggregate::{Aggregate, ItemScore, Node, StatsError, aggregate, try_aggregate};
pub use mcnemar::{EXACT_BELOW, McNemar, mcnemar};
pub use mean::mean_ci;
pub use paired::{Paired, paired, paired_by_key};
pub use special::{binomial_cdf_half, chi_square_1_sf};
pub use ties::tie_groups;

use serde::{Deserialize, Serialize};

/// The default confidence level used where a function takes none.
pub const DEFAULT_LEVEL: f64 = 0.95;

/// A closed interval `[low, high]`, on the same scale as the estimate it
/// belongs to (0–100 for scores, −100…100 for differences).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    /// Lower bound.
    pub low: f64,
    /// Upper bound.
    pub high: f64,
}

impl Interval {
    /// A new interval; the bounds are taken as given.
    pub fn new(low: f64, high: f64) -> Self {
        Interval { low, high }
    }

    /// The degenerate interval `[x, x]`.
    pub fn point(x: f64) -> Self {
        Interval { low: x, high: x }
    }

    /// `high − low`.
    pub fn width(&self) -> f64 {
        self.high - self.low
    }

    /// Whether `x` lies in the closed interval.
    pub fn contains(&self, x: f64) -> bool {
        self.low <= x && x <= self.high
    }

    /// Whether the two closed intervals share at least one point (touching
    /// endpoints count as overlap). A NaN bound overlaps nothing.
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.low <= other.high && other.low <= self.high
    }
}
