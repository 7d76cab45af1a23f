//! Scoring stored responses and aggregating them into `Results`.
//! Reads only the bank and the stored responses: re-scoring never asks a model.

use anyhow::Result;
use medbench_core::{Dimension, FormatKind, Item, Taxonomy, Track};
use medbench_report::{
    DimensionResult, HeatCell, ItemCounts, Results, Stat, TaskResult, TrackResult, Usage,
};
use medbench_score::{Outcome, SCORER_VERSION};
use medbench_stats::{ItemScore, Node, try_aggregate};
use medbench_store::{ResponseRow, RunItemRow, RunUsage, ScoreRow, SqliteBank, StoredAnswer};
use std::collections::BTreeMap;

/// Bootstrap resamples for every interval in a report.
pub const RESAMPLES: usize = 1000;

/// The scorer id recorded with each score.
pub fn scorer_id(kind: FormatKind) -> String {
    if kind.is_objective() {
        format!("rule:{kind}@{SCORER_VERSION}")
    } else {
        format!("rouge_l@{SCORER_VERSION}")
    }
}

/// What the scorer reads: the text, or the tool calls when the model made some.
pub fn answer_text(r: &ResponseRow) -> String {
    match (&r.tool_calls, &r.text) {
        (Some(calls), _) => calls.clone(),
        (None, Some(t)) => t.clone(),
        (None, None) => String::new(),
    }
}

/// What aggregation needs to know about an item (not the item itself: a
/// 100,000-item run must not hold 100,000 items in memory).
#[derive(Debug, Clone)]
pub struct ItemMeta {
    pub id: String,
    pub task: String,
    pub task_version: u32,
    pub track: Track,
    pub dimension: Dimension,
    pub kind: FormatKind,
    /// The first specialty code, if any.
    pub specialty: Option<String>,
}

impl From<&Item> for ItemMeta {
    fn from(i: &Item) -> Self {
        ItemMeta {
            id: i.id.clone(),
            task: i.task.clone(),
            task_version: i.task_version,
            track: i.track,
            dimension: i.dimension,
            kind: i.format_kind(),
            specialty: i.specialties.first().cloned(),
        }
    }
}

/// One scored item with what aggregation needs.
pub struct Scored {
    pub row: ScoreRow,
    pub item: ItemMeta,
}

/// Score every item of a run from its stored response, streaming: a few chunks of
/// items in memory at a time, never the whole run.
///
/// Two threads share the work: this one reads rows from the bank while a second
/// decodes item bodies and scores them, in chunks, so the stage uses two cores.
pub fn score_run(bank: &SqliteBank, run_id: &str) -> Result<Vec<Scored>> {
    const CHUNK: usize = 256;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<RunItemRow>>(8);
    std::thread::scope(|s| {
        let scorer = s.spawn(move || -> Result<Vec<Scored>> {
            let mut out = Vec::new();
            for chunk in rx {
                for row in chunk {
                    let item = row.decode()?;
                    out.push(score_one(run_id, item, row.answer));
                }
            }
            Ok(out)
        });
        let mut chunk = Vec::with_capacity(CHUNK);
        let read = bank.for_each_run_row(run_id, &mut |row| {
            chunk.push(row);
            if chunk.len() == CHUNK {
                // A send fails only when the scorer has stopped on an error, which wins below.
                let _ = tx.send(std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK)));
            }
            Ok(())
        });
        if !chunk.is_empty() {
            let _ = tx.send(chunk);
        }
        drop(tx);
        let scored = scorer.join().expect("the scorer does not panic")?;
        read?;
        Ok(scored)
    })
}

/// Score one item's stored answer by the rules of its format.
fn score_one(run_id: &str, item: Item, answer: Option<StoredAnswer>) -> Scored {
    let kind = item.format_kind();
    let mut row = ScoreRow {
        run_id: run_id.to_owned(),
        item_id: item.id.clone(),
        value: 0.0,
        outcome: "error".into(),
        parsed: None,
        detail: None,
        scorer: scorer_id(kind),
    };
    match (&answer, &item.reference) {
        (None, _) => row.detail = Some("not asked yet".into()),
        (Some(a), _) if a.error_kind.is_some() => {
            row.detail = Some(format!(
                "{}: {}",
                a.error_kind.as_deref().unwrap_or(""),
                a.error.as_deref().unwrap_or("")
            ));
        }
        (Some(_), None) => row.detail = Some("blind item: no reference".into()),
        (Some(a), Some(reference)) => {
            let text = match (&a.tool_calls, &a.text) {
                (Some(calls), _) => calls.as_str(),
                (None, Some(t)) => t.as_str(),
                (None, None) => "",
            };
            let s = medbench_score::score(&item.format, reference, text);
            row.value = s.value.clamp(0.0, 1.0);
            row.outcome = match s.outcome {
                Outcome::Correct => "correct",
                Outcome::Partial => "partial",
                Outcome::Wrong => "wrong",
                Outcome::Unparsed => "unparsed",
            }
            .into();
            row.parsed = s.parsed.map(|p| p.to_string());
            row.detail = s.detail;
        }
    }
    Scored {
        row,
        item: ItemMeta::from(&item),
    }
}

fn stat(n: &Node) -> Stat {
    Stat {
        score: n.score,
        ci_low: n.ci_low,
        ci_high: n.ci_high,
        n: n.n,
    }
}

/// The specialty an item counts under in breakdowns: its first one, by primary department.
fn specialty_of(item: &ItemMeta, tax: &Taxonomy) -> Option<String> {
    let code = item.specialty.as_ref()?;
    let primary = code.split('.').next().unwrap_or(code);
    Some(
        tax.get(primary)
            .map(|s| format!("{primary} {}", s.zh))
            .unwrap_or_else(|| primary.to_owned()),
    )
}

/// Aggregate scored items into results (everything but model, times, usage and manifest).
pub fn results(run_id: &str, scored: &[Scored], usage: RunUsage, seed: u64) -> Result<Results> {
    let tax = Taxonomy::builtin();
    let items: Vec<ItemScore> = scored
        .iter()
        .map(|s| {
            let base = ItemScore::new(
                &s.item.task,
                s.item.dimension.as_str(),
                s.item.track.as_str(),
                &s.item.id,
                s.row.value,
            );
            match specialty_of(&s.item, &tax) {
                Some(sp) => base.with_specialty(&sp),
                None => base,
            }
        })
        .collect();
    let agg = try_aggregate(&items, RESAMPLES, seed, 0.95).map_err(|e| {
        anyhow::anyhow!("cannot aggregate run {run_id}: {e} (every item of a task must have the task's track and dimension; fix the items and import them again)")
    })?;
    let mut tasks = BTreeMap::new();
    for s in scored {
        let t = tasks
            .entry(s.item.task.clone())
            .or_insert_with(|| TaskResult {
                track: s.item.track.to_string(),
                dimension: s.item.dimension.to_string(),
                format: s.item.kind.to_string(),
                stat: stat(&agg.tasks[&s.item.task]),
                correct: 0,
                partial: 0,
                wrong: 0,
                unparsed: 0,
                errors: 0,
                scorer: s.row.scorer.clone(),
                permutation: None,
            });
        match s.row.outcome.as_str() {
            "correct" => t.correct += 1,
            "partial" => t.partial += 1,
            "wrong" => t.wrong += 1,
            "unparsed" => t.unparsed += 1,
            _ => t.errors += 1,
        }
    }
    for (task, set) in scorers_by_task(scored) {
        if let Some(t) = tasks.get_mut(task) {
            t.scorer = set.into_iter().collect::<Vec<_>>().join(" + ");
        }
    }
    let mut dimensions: BTreeMap<String, DimensionResult> = BTreeMap::new();
    for (name, t) in &tasks {
        dimensions
            .entry(t.dimension.clone())
            .or_insert_with(|| DimensionResult {
                track: t.track.clone(),
                stat: stat(&agg.dimensions[&t.dimension]),
                tasks: vec![],
            })
            .tasks
            .push(name.clone());
    }
    let mut tracks: BTreeMap<String, TrackResult> = BTreeMap::new();
    for (name, d) in &dimensions {
        tracks
            .entry(d.track.clone())
            .or_insert_with(|| TrackResult {
                stat: stat(&agg.tracks[&d.track]),
                dimensions: vec![],
            })
            .dimensions
            .push(name.clone());
    }
    let mut cells: BTreeMap<(String, String), (f64, usize)> = BTreeMap::new();
    for (s, i) in scored.iter().zip(&items) {
        if let Some(sp) = &i.specialty {
            let c = cells
                .entry((sp.clone(), s.item.dimension.to_string()))
                .or_default();
            c.0 += s.row.value;
            c.1 += 1;
        }
    }
    let heatmap = cells
        .into_iter()
        .map(|((specialty, dimension), (sum, n))| HeatCell {
            specialty,
            dimension,
            score: 100.0 * sum / n as f64,
            n,
        })
        .collect();
    let counts = ItemCounts {
        total: scored.len() as u64,
        scored: scored.iter().filter(|s| s.row.outcome != "error").count() as u64,
        unparsed: scored
            .iter()
            .filter(|s| s.row.outcome == "unparsed")
            .count() as u64,
        errors: scored.iter().filter(|s| s.row.outcome == "error").count() as u64,
        blind_skipped: 0,
    };
    let usage = Usage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        cost_usd: None,
    };
    Ok(Results {
        schema: medbench_report::SCHEMA.to_owned(),
        run_id: run_id.to_owned(),
        model: medbench_report::ModelInfo {
            name: String::new(),
            provider: String::new(),
            base_url: None,
        },
        started_at: String::new(),
        finished_at: None,
        overall: stat(&agg.overall),
        tracks,
        dimensions,
        tasks,
        specialties: agg
            .specialties
            .iter()
            .map(|(k, n)| (k.clone(), stat(n)))
            .collect(),
        heatmap,
        items: counts,
        usage,
        manifest: serde_json::Value::Null,
        judging: None,
        warnings: mixed_scorers(scored),
        failures: Vec::new(),
    })
}

/// One warning per task whose items were scored by more than one scorer (for example
/// two versions of a judge): such a task's score is not one measurement.
pub fn mixed_scorers(scored: &[Scored]) -> Vec<String> {
    scorers_by_task(scored)
        .into_iter()
        .filter(|(_, set)| set.len() > 1)
        .map(|(task, set)| {
            format!(
                "task {task} mixes scorers: {}",
                set.into_iter().collect::<Vec<_>>().join(", ")
            )
        })
        .collect()
}

/// The scorers that scored each task's items. A failed model call keeps the rule
/// stage's scorer id although nothing was scored, so it does not count.
fn scorers_by_task(scored: &[Scored]) -> BTreeMap<&str, std::collections::BTreeSet<&str>> {
    let mut by_task: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for s in scored {
        if s.row.outcome != "error" || s.row.scorer.starts_with("judge:") {
            by_task
                .entry(s.item.task.as_str())
                .or_default()
                .insert(s.row.scorer.as_str());
        }
    }
    by_task
}
