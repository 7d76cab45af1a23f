//! Scoring stored responses and aggregating them into `Results`.
//! Reads only the bank and the stored responses: re-scoring never asks a model.

use anyhow::Result;
use medbench_core::{
    Catalog, Component, Dimension, FormatKind, Item, Metric, Reference, Taxonomy, Track, applied_by,
};
use medbench_report::{
    AnsweredTask, DimensionResult, HeatCell, ItemCounts, Results, Stat, TaskResult, TrackResult,
    Usage,
};
use medbench_score::{Outcome, SCORER_VERSION};
use medbench_stats::{ItemScore, Node, try_aggregate};
use medbench_store::{
    ResponseRow, RunItemRow, RunUsage, ScoreRow, SqliteBank, StoredAnswer, instance_key,
};
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
    /// The reference carries key points (decides the default recipe of an open task
    /// outside the catalogue).
    pub key_points: bool,
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
            key_points: matches!(&i.reference, Some(Reference::Open(r)) if !r.key_points.is_empty()),
        }
    }
}

/// One scored item with what aggregation needs.
pub struct Scored {
    pub row: ScoreRow,
    pub item: ItemMeta,
    /// Instances behind the item's score: its option orders (1 for an item asked once).
    pub instances: usize,
    /// Lowest instance value: right in every order (the official strict rule).
    pub strict: f64,
    /// Mean over instances.
    pub mean: f64,
    /// Instances whose model call failed for good (or was never made).
    pub failed: usize,
}

/// The outcome stored for a blind item (no reference): answered, not scored.
pub const BLIND: &str = "blind";

/// The one mapping from a scorer's outcome to the outcome stored with a score.
pub fn outcome_str(o: Outcome) -> &'static str {
    match o {
        Outcome::Correct => "correct",
        Outcome::Partial => "partial",
        Outcome::Wrong => "wrong",
        Outcome::Unparsed => "unparsed",
    }
}

/// The outcome of a graded value: 1 → `correct`, 0 → `wrong`, between → `partial`.
pub fn outcome_of_value(value: f64) -> &'static str {
    if value >= 1.0 {
        "correct"
    } else if value <= 0.0 {
        "wrong"
    } else {
        "partial"
    }
}

/// One instance's score: value in [0, 1] and stored outcome (`error` for a failed or
/// missing call, [`BLIND`] for an answer that cannot be scored).
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceScore {
    pub value: f64,
    pub outcome: &'static str,
    pub parsed: Option<String>,
    pub detail: Option<String>,
}

impl InstanceScore {
    pub fn error(detail: impl Into<String>) -> InstanceScore {
        InstanceScore {
            value: 0.0,
            outcome: "error",
            parsed: None,
            detail: Some(detail.into()),
        }
    }
}

/// Score one instance's stored answer by the rules of its format.
pub fn score_instance(item: &Item, answer: Option<&StoredAnswer>) -> InstanceScore {
    match (answer, &item.reference) {
        (None, _) => InstanceScore::error("not asked yet"),
        (Some(a), _) if a.error_kind.is_some() => InstanceScore::error(format!(
            "{}: {}",
            a.error_kind.as_deref().unwrap_or(""),
            a.error.as_deref().unwrap_or("")
        )),
        (Some(_), None) => InstanceScore {
            value: 0.0,
            outcome: BLIND,
            parsed: None,
            detail: Some("blind item: answered, no reference to score against".into()),
        },
        (Some(a), Some(reference)) => {
            let text = match (&a.tool_calls, &a.text) {
                (Some(calls), _) => calls.as_str(),
                (None, Some(t)) => t.as_str(),
                (None, None) => "",
            };
            let s = medbench_score::score(&item.format, reference, text);
            InstanceScore {
                value: s.value.clamp(0.0, 1.0),
                outcome: outcome_str(s.outcome),
                parsed: s.parsed.map(|p| p.to_string()),
                detail: s.detail,
            }
        }
    }
}

/// An item's score from its instances' scores. Choice items count the strict value
/// (right in every option order, as the official platform scores its five copies);
/// other formats the mean. All failed → `error`; all unreadable → `unparsed`.
/// Returns the stored row's (value, outcome, detail), strict and mean.
pub fn combine(kind: FormatKind, parts: &[InstanceScore]) -> (f64, &'static str, f64, f64) {
    if parts.is_empty() {
        return (0.0, "error", 0.0, 0.0);
    }
    let strict = parts.iter().map(|p| p.value).fold(f64::INFINITY, f64::min);
    let mean = parts.iter().map(|p| p.value).sum::<f64>() / parts.len() as f64;
    let choice = matches!(kind, FormatKind::SingleChoice | FormatKind::MultipleChoice);
    let value = if choice { strict } else { mean };
    let outcome = if parts.iter().any(|p| p.outcome == BLIND) {
        BLIND
    } else if parts.iter().all(|p| p.outcome == "error") {
        "error"
    } else if parts.iter().all(|p| p.outcome == "unparsed") {
        "unparsed"
    } else {
        outcome_of_value(value)
    };
    (value, outcome, strict, mean)
}

/// Score every item of a run from its stored responses, streaming: a few chunks of
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
                    out.push(score_item(run_id, item, &row));
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

/// Score one item: each of its instances by the rules of its format, then combined.
fn score_item(run_id: &str, item: Item, row: &RunItemRow) -> Scored {
    let kind = item.format_kind();
    let n = item.instance_count();
    let parts: Vec<InstanceScore> = (0..n)
        .map(|k| {
            let key = instance_key(&item.id, item.variants.len(), k);
            score_instance(&item.instance(k), row.answer(&key))
        })
        .collect();
    let (value, outcome, strict, mean) = combine(kind, &parts);
    let (parsed, detail) = if n == 1 {
        (parts[0].parsed.clone(), parts[0].detail.clone())
    } else {
        let parsed: Vec<serde_json::Value> = parts
            .iter()
            .map(|p| {
                p.parsed
                    .as_deref()
                    .and_then(|t| serde_json::from_str(t).ok())
                    .unwrap_or(serde_json::Value::Null)
            })
            .collect();
        (
            Some(serde_json::Value::Array(parsed).to_string()),
            Some(format!(
                "strict {strict:.3} · mean {mean:.3} over {n} option orders"
            )),
        )
    };
    Scored {
        row: ScoreRow {
            run_id: run_id.to_owned(),
            item_id: item.id.clone(),
            value,
            outcome: outcome.into(),
            parsed,
            detail,
            scorer: if n > 1
                && matches!(kind, FormatKind::SingleChoice | FormatKind::MultipleChoice)
            {
                format!("{}+strict@{n}", scorer_id(kind))
            } else {
                scorer_id(kind)
            },
        },
        item: ItemMeta::from(&item),
        instances: n,
        strict,
        mean,
        failed: parts.iter().filter(|p| p.outcome == "error").count(),
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
/// Blind items are not aggregated: they are listed in `answered`, by task.
pub fn results(run_id: &str, all: &[Scored], usage: RunUsage, seed: u64) -> Result<Results> {
    let tax = Taxonomy::builtin();
    let (blind, scored): (Vec<&Scored>, Vec<&Scored>) =
        all.iter().partition(|s| s.row.outcome == BLIND);
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
    let agg = if items.is_empty() {
        None
    } else {
        Some(try_aggregate(&items, RESAMPLES, seed, 0.95).map_err(|e| {
            anyhow::anyhow!("cannot aggregate run {run_id}: {e} (every item of a task must have the task's track and dimension; fix the items and import them again)")
        })?)
    };
    let mut tasks = BTreeMap::new();
    let mut orders: BTreeMap<&str, (f64, f64, usize, usize, bool)> = BTreeMap::new();
    for s in &scored {
        let agg = agg.as_ref().expect("there are scored items");
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
                recipe: String::new(),
                recipe_basis: String::new(),
                metric: String::new(),
                needs_judge: false,
                permutation: None,
            });
        match s.row.outcome.as_str() {
            "correct" => t.correct += 1,
            "partial" => t.partial += 1,
            "wrong" => t.wrong += 1,
            "unparsed" => t.unparsed += 1,
            _ => t.errors += 1,
        }
        let o = orders.entry(s.item.task.as_str()).or_default();
        o.0 += s.strict;
        o.1 += s.mean;
        o.2 += 1;
        o.3 += s.instances;
        o.4 |= s.instances > 1;
    }
    // Tasks whose items are asked in several option orders report both rules.
    for (task, (strict, mean, n, instances, several)) in orders {
        if let (true, Some(t)) = (several, tasks.get_mut(task)) {
            t.permutation = Some(medbench_report::Permutation {
                strict: 100.0 * strict / n as f64,
                mean: 100.0 * mean / n as f64,
                instances,
            });
        }
    }
    let scored_owned: Vec<&Scored> = scored.clone();
    for (task, set) in scorers_by_task(&scored_owned) {
        if let Some(t) = tasks.get_mut(task) {
            t.scorer = set.into_iter().collect::<Vec<_>>().join(" + ");
        }
    }
    let stand_ins = label_recipes(&mut tasks, &scored);
    let mut dimensions: BTreeMap<String, DimensionResult> = BTreeMap::new();
    let mut tracks: BTreeMap<String, TrackResult> = BTreeMap::new();
    if let Some(agg) = &agg {
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
    let mut answered: BTreeMap<String, AnsweredTask> = BTreeMap::new();
    for s in &blind {
        let a = answered
            .entry(s.item.task.clone())
            .or_insert_with(|| AnsweredTask {
                track: s.item.track.to_string(),
                dimension: s.item.dimension.to_string(),
                format: s.item.kind.to_string(),
                items: 0,
                instances: 0,
                answered: 0,
                errors: 0,
            });
        a.items += 1;
        a.instances += s.instances as u64;
        a.answered += (s.instances - s.failed) as u64;
        a.errors += s.failed as u64;
    }
    let counts = ItemCounts {
        total: scored.len() as u64,
        scored: scored.iter().filter(|s| s.row.outcome != "error").count() as u64,
        unparsed: scored
            .iter()
            .filter(|s| s.row.outcome == "unparsed")
            .count() as u64,
        errors: scored.iter().filter(|s| s.row.outcome == "error").count() as u64,
        blind_skipped: 0,
        blind_answered: blind.len() as u64,
    };
    let usage = Usage {
        prompt_tokens: usage.prompt_tokens,
        completion_tokens: usage.completion_tokens,
        cost_usd: None,
    };
    let mut warnings = mixed_scorers(&scored_owned);
    warnings.extend(stand_in_warning(&stand_ins));
    if !blind.is_empty() {
        warnings.push(format!(
            "{} blind item(s) (no reference answer) were answered but not scored; `medbench answers export {run_id}` writes their answers out",
            blind.len()
        ));
    }
    let zero = Stat {
        score: 0.0,
        ci_low: 0.0,
        ci_high: 0.0,
        n: 0,
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
        overall: agg.as_ref().map_or(zero, |a| stat(&a.overall)),
        tracks,
        dimensions,
        tasks,
        specialties: agg
            .as_ref()
            .map(|a| {
                a.specialties
                    .iter()
                    .map(|(k, n)| (k.clone(), stat(n)))
                    .collect()
            })
            .unwrap_or_default(),
        heatmap,
        items: counts,
        usage,
        manifest: serde_json::Value::Null,
        judging: None,
        provisional: !stand_ins.is_empty(),
        warnings,
        answered,
        failures: Vec::new(),
    })
}

/// Give every task its recipe (from the built-in catalogue, or its format's default)
/// and say whether its score is that recipe's metric: `official` when every
/// component was applied to every scored item, `stand-in` (and `needs_judge`) when
/// a judge was needed and none scored the items, `incomplete` otherwise. The score
/// itself is left as it is. Returns the stand-in tasks with their formats.
fn label_recipes(
    tasks: &mut BTreeMap<String, TaskResult>,
    scored: &[&Scored],
) -> Vec<(String, FormatKind)> {
    let catalog = Catalog::builtin();
    let mut by_task: BTreeMap<&str, Vec<&Scored>> = BTreeMap::new();
    for s in scored {
        by_task.entry(s.item.task.as_str()).or_default().push(s);
    }
    let mut stand_ins = Vec::new();
    for (task, items) in by_task {
        let Some(t) = tasks.get_mut(task) else {
            continue;
        };
        let kind = items[0].item.kind;
        let key_points = items.iter().any(|s| s.item.key_points);
        let recipe = catalog.recipe_for_items(task, kind, key_points);
        // A failed call says nothing of how answers are scored, unless nothing else does.
        let answered: Vec<&&Scored> = items.iter().filter(|s| s.row.outcome != "error").collect();
        let evidence = if answered.is_empty() {
            items.iter().collect()
        } else {
            answered
        };
        let mut applied: Option<Vec<Component>> = None;
        for s in evidence {
            let these = applied_by(&s.row.scorer, s.row.detail.as_deref());
            applied = Some(match applied {
                None => these,
                Some(a) => a.into_iter().filter(|c| these.contains(c)).collect(),
            });
        }
        let metric = recipe.metric(&applied.unwrap_or_default());
        t.recipe = recipe.display();
        t.recipe_basis = recipe.basis.to_string();
        t.metric = metric.to_string();
        t.needs_judge = metric == Metric::StandIn;
        if t.needs_judge {
            stand_ins.push((task.to_owned(), kind));
        }
    }
    stand_ins
}

/// The warning of a provisional run: which tasks carry a stand-in score, and what
/// gives the official metric.
fn stand_in_warning(stand_ins: &[(String, FormatKind)]) -> Option<String> {
    if stand_ins.is_empty() {
        return None;
    }
    let names = |judgeable: bool| {
        stand_ins
            .iter()
            .filter(|(_, k)| medbench_judge::plan::judgeable(*k) == judgeable)
            .map(|(t, _)| t.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let all = stand_ins
        .iter()
        .map(|(t, _)| t.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let mut w = format!(
        "provisional: {} task(s) scored with a stand-in metric ({all}); give a judge (--judge-model …) for the official metric",
        stand_ins.len()
    );
    let unread = names(false);
    if !unread.is_empty() {
        w.push_str(&format!(
            "; the judge stage does not read the answer formats of {unread} yet, so their scores stay stand-ins"
        ));
    }
    Some(w)
}

/// One warning per task whose items were scored by more than one scorer (for example
/// two versions of a judge): such a task's score is not one measurement.
pub fn mixed_scorers(scored: &[&Scored]) -> Vec<String> {
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
fn scorers_by_task<'a>(
    scored: &[&'a Scored],
) -> BTreeMap<&'a str, std::collections::BTreeSet<&'a str>> {
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
