//! The MedBench hierarchy flattened into index arrays for fast resampling.

use crate::{ItemScore, StatsError};
use std::collections::{BTreeMap, BTreeSet, HashSet};

/// One bootstrap stratum: a contiguous run of `values`.
pub(crate) struct Cell {
    pub(crate) start: usize,
    pub(crate) end: usize,
    pub(crate) task: usize,
    pub(crate) spec: Option<usize>,
}

/// The hierarchy flattened into index arrays. Node layout for `evaluate`:
/// `[tasks | dimensions | tracks | specialties | overall]`.
pub(crate) struct Hierarchy<'a> {
    pub(crate) tasks: Vec<&'a str>,
    pub(crate) dims: Vec<&'a str>,
    pub(crate) tracks: Vec<&'a str>,
    pub(crate) specs: Vec<&'a str>,
    pub(crate) task_dim: Vec<usize>,
    pub(crate) dim_track: Vec<usize>,
    pub(crate) task_n: Vec<usize>,
    pub(crate) dim_n: Vec<usize>,
    pub(crate) track_n: Vec<usize>,
    pub(crate) spec_n: Vec<usize>,
    pub(crate) dim_tasks: Vec<f64>,
    pub(crate) track_dims: Vec<f64>,
    pub(crate) values: Vec<f64>,
    pub(crate) cells: Vec<Cell>,
}

impl<'a> Hierarchy<'a> {
    pub(crate) fn build(items: &'a [ItemScore]) -> Result<Self, StatsError> {
        let mut task_parent: BTreeMap<&str, (&str, &str)> = BTreeMap::new();
        let mut dim_parent: BTreeMap<&str, &str> = BTreeMap::new();
        let mut specs: BTreeSet<&str> = BTreeSet::new();
        let mut seen: HashSet<(&str, &str)> = HashSet::with_capacity(items.len());
        for it in items {
            let (task, item) = (it.task.as_str(), it.item.as_str());
            if !(0.0..=1.0).contains(&it.value) {
                let (task, item) = (task.to_owned(), item.to_owned());
                return Err(StatsError::InvalidValue {
                    task,
                    item,
                    value: it.value,
                });
            }
            if !seen.insert((task, item)) {
                let (task, item) = (task.to_owned(), item.to_owned());
                return Err(StatsError::DuplicateItem { task, item });
            }
            let parent = (it.dimension.as_str(), it.track.as_str());
            let first = *task_parent.entry(task).or_insert(parent);
            if first != parent {
                return Err(StatsError::TaskParent {
                    task: task.to_owned(),
                    first: format!("{}/{}", first.1, first.0),
                    second: format!("{}/{}", parent.1, parent.0),
                });
            }
            let first = *dim_parent.entry(parent.0).or_insert(parent.1);
            if first != parent.1 {
                return Err(StatsError::DimensionParent {
                    dimension: parent.0.to_owned(),
                    first: first.to_owned(),
                    second: parent.1.to_owned(),
                });
            }
            if let Some(s) = &it.specialty {
                specs.insert(s.as_str());
            }
        }
        let tracks: Vec<&str> = dim_parent
            .values()
            .copied()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let dims: Vec<&str> = dim_parent.keys().copied().collect();
        let tasks: Vec<&str> = task_parent.keys().copied().collect();
        let specs: Vec<&str> = specs.into_iter().collect();
        let pos = |v: &[&str], k: &str| v.binary_search(&k).expect("interned name");
        let dim_track: Vec<usize> = dim_parent.values().map(|t| pos(&tracks, t)).collect();
        let task_dim: Vec<usize> = task_parent.values().map(|(d, _)| pos(&dims, d)).collect();

        // Item order: by task, then specialty (None first), then item key.
        let mut keyed: Vec<(usize, Option<usize>, &str, f64)> = items
            .iter()
            .map(|it| {
                let spec = it.specialty.as_deref().map(|s| pos(&specs, s));
                (pos(&tasks, &it.task), spec, it.item.as_str(), it.value)
            })
            .collect();
        keyed.sort_unstable_by(|a, b| (a.0, a.1, a.2).cmp(&(b.0, b.1, b.2)));
        let values: Vec<f64> = keyed.iter().map(|k| k.3).collect();
        let mut cells: Vec<Cell> = Vec::new();
        for (i, &(task, spec, _, _)) in keyed.iter().enumerate() {
            match cells.last_mut() {
                Some(c) if c.task == task && c.spec == spec => c.end = i + 1,
                _ => cells.push(Cell {
                    start: i,
                    end: i + 1,
                    task,
                    spec,
                }),
            }
        }
        assert!(
            cells.iter().all(|c| c.end - c.start <= u32::MAX as usize),
            "a stratum may hold at most 2^32 - 1 items"
        );

        let mut task_n = vec![0usize; tasks.len()];
        let mut spec_n = vec![0usize; specs.len()];
        for c in &cells {
            task_n[c.task] += c.end - c.start;
            if let Some(s) = c.spec {
                spec_n[s] += c.end - c.start;
            }
        }
        let (mut dim_n, mut dim_tasks) = (vec![0usize; dims.len()], vec![0.0; dims.len()]);
        for (t, &d) in task_dim.iter().enumerate() {
            dim_n[d] += task_n[t];
            dim_tasks[d] += 1.0;
        }
        let (mut track_n, mut track_dims) = (vec![0usize; tracks.len()], vec![0.0; tracks.len()]);
        for (d, &k) in dim_track.iter().enumerate() {
            track_n[k] += dim_n[d];
            track_dims[k] += 1.0;
        }
        Ok(Hierarchy {
            tasks,
            dims,
            tracks,
            specs,
            task_dim,
            dim_track,
            task_n,
            dim_n,
            track_n,
            spec_n,
            dim_tasks,
            track_dims,
            values,
            cells,
        })
    }

    pub(crate) fn node_count(&self) -> usize {
        self.tasks.len() + self.dims.len() + self.tracks.len() + self.specs.len() + 1
    }

    /// Start offsets of tasks, dimensions, tracks and specialties.
    pub(crate) fn offsets(&self) -> (usize, usize, usize, usize) {
        let d = self.tasks.len();
        let k = d + self.dims.len();
        (0, d, k, k + self.tracks.len())
    }

    #[inline]
    pub(crate) fn add_cell(
        &self,
        cell: &Cell,
        sum: f64,
        task_sum: &mut [f64],
        spec_sum: &mut [f64],
    ) {
        task_sum[cell.task] += sum;
        if let Some(s) = cell.spec {
            spec_sum[s] += sum;
        }
    }

    /// Every node's score from per-task and per-specialty item sums; `out`
    /// has `node_count()` slots. Allocation-free.
    pub(crate) fn evaluate(&self, task_sum: &[f64], spec_sum: &[f64], out: &mut [f64]) {
        let (_, d0, k0, s0) = self.offsets();
        let (task_out, rest) = out.split_at_mut(d0);
        let (dim_out, rest) = rest.split_at_mut(k0 - d0);
        let (track_out, rest) = rest.split_at_mut(s0 - k0);
        let (spec_out, overall) = rest.split_at_mut(self.specs.len());
        for (t, o) in task_out.iter_mut().enumerate() {
            *o = task_sum[t] / self.task_n[t] as f64 * 100.0;
        }
        dim_out.fill(0.0);
        for (t, &d) in self.task_dim.iter().enumerate() {
            dim_out[d] += task_out[t];
        }
        for (o, n) in dim_out.iter_mut().zip(&self.dim_tasks) {
            *o /= n;
        }
        track_out.fill(0.0);
        for (d, &k) in self.dim_track.iter().enumerate() {
            track_out[k] += dim_out[d];
        }
        for (o, n) in track_out.iter_mut().zip(&self.track_dims) {
            *o /= n;
        }
        for (s, o) in spec_out.iter_mut().enumerate() {
            *o = spec_sum[s] / self.spec_n[s] as f64 * 100.0;
        }
        overall[0] = if track_out.is_empty() {
            0.0
        } else {
            track_out.iter().sum::<f64>() / track_out.len() as f64
        };
    }
}
