//! MedBench hierarchical aggregation with stratified bootstrap CIs.

use crate::hierarchy::Hierarchy;
use crate::resample::{check_level, percentile_interval, resampled_sum, rng, sum};
use crate::{DEFAULT_LEVEL, Interval, mean_ci};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// One scored item of one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemScore {
    /// Task id; a task belongs to exactly one dimension.
    pub task: String,
    /// Dimension id; a dimension belongs to exactly one track.
    pub dimension: String,
    /// Track id (`llm`, `multimodal`, `agent`).
    pub track: String,
    /// Clinical specialty, when the item is labelled with one.
    pub specialty: Option<String>,
    /// Item id, unique within its task.
    pub item: String,
    /// Item score in `[0, 1]`.
    pub value: f64,
}

impl ItemScore {
    /// An item score without a specialty.
    pub fn new(task: &str, dimension: &str, track: &str, item: &str, value: f64) -> Self {
        ItemScore {
            task: task.to_owned(),
            dimension: dimension.to_owned(),
            track: track.to_owned(),
            specialty: None,
            item: item.to_owned(),
            value,
        }
    }

    /// The same item labelled with `specialty`.
    pub fn with_specialty(mut self, specialty: &str) -> Self {
        self.specialty = Some(specialty.to_owned());
        self
    }
}

/// One node of the hierarchy: a score on the 0–100 scale, its bootstrap CI
/// and the number of items under it.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Node {
    /// Point estimate, 0–100.
    pub score: f64,
    /// Lower CI bound, 0–100.
    pub ci_low: f64,
    /// Upper CI bound, 0–100.
    pub ci_high: f64,
    /// Items under this node (0 only for the overall node of empty input).
    pub n: usize,
}

impl Node {
    /// The node of empty input: everything 0, `n == 0` ("no data").
    pub const EMPTY: Node = Node {
        score: 0.0,
        ci_low: 0.0,
        ci_high: 0.0,
        n: 0,
    };

    /// The CI as an [`Interval`].
    pub fn ci(&self) -> Interval {
        Interval::new(self.ci_low, self.ci_high)
    }
}

/// Every level of the MedBench hierarchy for one run. Maps are keyed by the
/// ids found in the items; only non-empty nodes appear.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Aggregate {
    /// Unweighted mean of the track scores present ([`Node::EMPTY`] if none).
    pub overall: Node,
    /// Track = unweighted mean of its dimension scores.
    pub tracks: BTreeMap<String, Node>,
    /// Dimension = unweighted mean of its task scores.
    pub dimensions: BTreeMap<String, Node>,
    /// Task = mean of its item scores ×100.
    pub tasks: BTreeMap<String, Node>,
    /// Specialty = mean of the scores of all items labelled with it, pooled
    /// across tasks, ×100 (a cross-cut, not part of the overall score).
    pub specialties: BTreeMap<String, Node>,
}

/// Why [`try_aggregate`] rejected its input.
#[derive(Debug, Clone, PartialEq)]
pub enum StatsError {
    /// An item value is NaN, infinite or outside `[0, 1]`.
    InvalidValue {
        task: String,
        item: String,
        value: f64,
    },
    /// The same `(task, item)` key occurs twice.
    DuplicateItem { task: String, item: String },
    /// A task appears under two different (dimension, track) parents.
    TaskParent {
        task: String,
        first: String,
        second: String,
    },
    /// A dimension appears under two different tracks.
    DimensionParent {
        dimension: String,
        first: String,
        second: String,
    },
}

impl fmt::Display for StatsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StatsError::InvalidValue { task, item, value } => {
                write!(f, "item {task}/{item}: value {value} is not in [0, 1]")
            }
            StatsError::DuplicateItem { task, item } => write!(f, "duplicate item {task}/{item}"),
            StatsError::TaskParent {
                task,
                first,
                second,
            } => {
                write!(f, "task {task} is under both {first} and {second}")
            }
            StatsError::DimensionParent {
                dimension,
                first,
                second,
            } => {
                write!(
                    f,
                    "dimension {dimension} is under both tracks {first} and {second}"
                )
            }
        }
    }
}

impl std::error::Error for StatsError {}

/// [`try_aggregate`] at the 95% level.
///
/// # Panics
/// On every input [`try_aggregate`] rejects (invalid value, duplicate item,
/// inconsistent hierarchy); use [`try_aggregate`] on untrusted data.
pub fn aggregate(items: &[ItemScore], resamples: usize, seed: u64) -> Aggregate {
    try_aggregate(items, resamples, seed, DEFAULT_LEVEL).unwrap_or_else(|e| panic!("{e}"))
}

/// Hierarchical aggregation exactly as MedBench (platform-spec §2): task =
/// mean of item scores ×100; dimension = unweighted mean of its task scores;
/// track = unweighted mean of its dimension scores; overall = unweighted mean
/// of the tracks present. Specialties are scored on the side (see
/// [`Aggregate::specialties`]).
///
/// CIs come from one stratified bootstrap: each replicate redraws, with
/// replacement, the items of every task (the strata), keeps every task's
/// size, recomputes the whole hierarchy, and the `level` percentile interval
/// is taken per node. Every level's CI is therefore consistent with the
/// hierarchy. One `ChaCha8Rng` seeded with `seed` feeds all tasks in a fixed
/// order. Specialties are a side view: each gets its own percentile bootstrap
/// over its pooled items ([`mean_ci`]), seeded from `seed` and its name.
/// (Stratifying tasks by specialty would leave one item per stratum in small
/// tasks, and a stratum of one never varies: the interval would collapse.)
///
/// Empty tasks cannot occur (a task exists through its items); empty input
/// gives empty maps and [`Node::EMPTY`] overall. Items are ordered by key
/// inside each stratum, so input order does not change the result.
///
/// # Panics
/// When `level` is not strictly between 0 and 1.
pub fn try_aggregate(
    items: &[ItemScore],
    resamples: usize,
    seed: u64,
    level: f64,
) -> Result<Aggregate, StatsError> {
    check_level(level);
    // Tasks are the strata; specialties are scored separately below.
    let plain: Vec<ItemScore> = items
        .iter()
        .map(|i| ItemScore {
            specialty: None,
            ..i.clone()
        })
        .collect();
    let h = Hierarchy::build(&plain)?;
    let mut by_specialty: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for i in items {
        if let Some(s) = &i.specialty {
            by_specialty.entry(s).or_default().push(i.value);
        }
    }
    let nodes = h.node_count();
    let mut task_sum = vec![0.0; h.task_n.len()];
    let mut spec_sum = vec![0.0; h.spec_n.len()];
    for cell in &h.cells {
        let s: f64 = sum(&h.values[cell.start..cell.end]);
        h.add_cell(cell, s, &mut task_sum, &mut spec_sum);
    }
    let mut point = vec![0.0; nodes];
    h.evaluate(&task_sum, &spec_sum, &mut point);

    // Bootstrap: node-major storage so each node's replicates are contiguous.
    let mut stats = vec![0.0; nodes * resamples];
    let mut row = vec![0.0; nodes];
    let mut rng = rng(seed);
    for r in 0..resamples {
        task_sum.fill(0.0);
        spec_sum.fill(0.0);
        for cell in &h.cells {
            let s = resampled_sum(&mut rng, &h.values[cell.start..cell.end]);
            h.add_cell(cell, s, &mut task_sum, &mut spec_sum);
        }
        h.evaluate(&task_sum, &spec_sum, &mut row);
        for (k, &v) in row.iter().enumerate() {
            stats[k * resamples + r] = v;
        }
    }
    let mut node = |k: usize, n: usize| {
        let ci = percentile_interval(
            &mut stats[k * resamples..(k + 1) * resamples],
            level,
            point[k],
        );
        Node {
            score: point[k],
            ci_low: ci.low,
            ci_high: ci.high,
            n,
        }
    };
    let (t, d, k, s) = h.offsets();
    let tasks = named(&h.tasks, |i| node(t + i, h.task_n[i]));
    let dimensions = named(&h.dims, |i| node(d + i, h.dim_n[i]));
    let tracks = named(&h.tracks, |i| node(k + i, h.track_n[i]));
    debug_assert!(h.specs.is_empty() && s == nodes - 1);
    let specialties = by_specialty
        .into_iter()
        .map(|(name, values)| {
            let salt = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ b as u64).wrapping_mul(0x100_0000_01b3)
            });
            let (score, ci) = mean_ci(&values, resamples, seed ^ salt, level);
            (
                name.to_owned(),
                Node {
                    score,
                    ci_low: ci.low,
                    ci_high: ci.high,
                    n: values.len(),
                },
            )
        })
        .collect();
    let total = h.values.len();
    let overall = if h.tracks.is_empty() {
        Node::EMPTY
    } else {
        node(nodes - 1, total)
    };
    Ok(Aggregate {
        overall,
        tracks,
        dimensions,
        tasks,
        specialties,
    })
}

fn named(names: &[&str], mut f: impl FnMut(usize) -> Node) -> BTreeMap<String, Node> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.to_string(), f(i)))
        .collect()
}
