//! Paired comparison of two runs on the items both scored.

use anyhow::{Result, bail};
use medbench_stats::{Paired, paired};
use medbench_store::{ScoreRow, SqliteBank};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// A paired comparison over all shared items pooled, and per task.
#[derive(Debug, Serialize)]
pub struct Comparison {
    pub run_a: String,
    pub run_b: String,
    /// Every shared item pooled (item level). Not the hierarchical `overall` of a
    /// report, which averages tracks of dimensions of tasks.
    pub all_items: Paired,
    pub tasks: BTreeMap<String, Paired>,
    /// Items only one run scored (left out).
    pub unpaired: usize,
}

/// Compare two runs item by item (A − B, on the 0–100 scale).
pub fn compare(bank: &SqliteBank, run_a: &str, run_b: &str, seed: u64) -> Result<Comparison> {
    let a = bank.scores(run_a)?;
    let b: HashMap<String, ScoreRow> = bank
        .scores(run_b)?
        .into_iter()
        .map(|s| (s.item_id.clone(), s))
        .collect();
    let task_of: HashMap<String, String> = bank
        .run_items(run_a)?
        .into_iter()
        .map(|(id, _, t)| (id, t))
        .collect();
    let mut pairs: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    let (mut all_a, mut all_b) = (Vec::new(), Vec::new());
    let mut unpaired = b.len();
    for s in &a {
        let Some(o) = b.get(&s.item_id) else { continue };
        unpaired -= 1;
        let task = task_of.get(&s.item_id).cloned().unwrap_or_default();
        let e = pairs.entry(task).or_default();
        e.0.push(s.value);
        e.1.push(o.value);
        all_a.push(s.value);
        all_b.push(o.value);
    }
    unpaired += a.len() - all_a.len();
    if all_a.is_empty() {
        bail!("runs {run_a} and {run_b} share no scored items");
    }
    let tasks = pairs
        .into_iter()
        .map(|(t, (x, y))| (t, paired(&x, &y, 2000, seed)))
        .collect();
    Ok(Comparison {
        run_a: run_a.into(),
        run_b: run_b.into(),
        all_items: paired(&all_a, &all_b, 2000, seed),
        tasks,
        unpaired,
    })
}
