//! Scoring stored responses and aggregating them into `Results`.
//! Reads only the bank and the stored responses: re-scoring never asks a model.

use anyhow::{Context, Result};
use medbench_core::{FormatKind, Item, Taxonomy};
use medbench_report::{
    DimensionResult, HeatCell, ItemCounts, Results, Stat, TaskResult, TrackResult, Usage,
};
use medbench_score::{Outcome, SCORER_VERSION};
use medbench_stats::{ItemScore, Node, aggregate};
use medbench_store::{Bank, ResponseRow, ScoreRow, SqliteBank};
use std::collections::{BTreeMap, HashMap};

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

/// One scored item with what aggregation needs.
pub struct Scored {
    pub row: ScoreRow,
    pub item: Item,
}

/// Score every item of a run from its stored response.
pub fn score_run(bank: &SqliteBank, run_id: &str) -> Result<Vec<Scored>> {
    let responses: HashMap<String, ResponseRow> = bank
        .responses(run_id)?
        .into_iter()
        .map(|r| (r.item_id.clone(), r))
        .collect();
    let mut out = Vec::new();
    for (id, version, _task) in bank.run_items(run_id)? {
        let item = bank
            .get_version(&id, version)?
            .with_context(|| format!("item {id} v{version} is gone from the bank"))?;
        let kind = item.format_kind();
        let mut row = ScoreRow {
            run_id: run_id.to_owned(),
            item_id: id.clone(),
            value: 0.0,
            outcome: "error".into(),
            parsed: None,
            detail: None,
            scorer: scorer_id(kind),
        };
        match (responses.get(&id), &item.reference) {
            (None, _) => row.detail = Some("not asked yet".into()),
            (Some(r), _) if r.error_kind.is_some() => {
                row.detail = Some(format!(
                    "{}: {}",
                    r.error_kind.as_deref().unwrap_or(""),
                    r.error.as_deref().unwrap_or("")
                ));
            }
            (Some(_), None) => row.detail = Some("blind item: no reference".into()),
            (Some(r), Some(reference)) => {
                let s = medbench_score::score(&item.format, reference, &answer_text(r));
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
        out.push(Scored { row, item });
    }
    Ok(out)
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
fn specialty_of(item: &Item, tax: &Taxonomy) -> Option<String> {
    let code = item.specialties.first()?;
    let primary = code.split('.').next().unwrap_or(code);
    Some(
        tax.get(primary)
            .map(|s| format!("{primary} {}", s.zh))
            .unwrap_or_else(|| primary.to_owned()),
    )
}

/// Aggregate scored items into results (everything but model, times, usage and manifest).
pub fn results(run_id: &str, scored: &[Scored], responses: &[ResponseRow], seed: u64) -> Results {
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
    let agg = aggregate(&items, RESAMPLES, seed);
    let mut tasks = BTreeMap::new();
    for s in scored {
        let t = tasks
            .entry(s.item.task.clone())
            .or_insert_with(|| TaskResult {
                track: s.item.track.to_string(),
                dimension: s.item.dimension.to_string(),
                format: s.item.format_kind().to_string(),
                stat: stat(&agg.tasks[&s.item.task]),
                correct: 0,
                partial: 0,
                wrong: 0,
                unparsed: 0,
                errors: 0,
                scorer: s.row.scorer.clone(),
            });
        match s.row.outcome.as_str() {
            "correct" => t.correct += 1,
            "partial" => t.partial += 1,
            "wrong" => t.wrong += 1,
            "unparsed" => t.unparsed += 1,
            _ => t.errors += 1,
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
        prompt_tokens: responses
            .iter()
            .filter(|r| !r.cached)
            .filter_map(|r| r.prompt_tokens)
            .sum(),
        completion_tokens: responses
            .iter()
            .filter(|r| !r.cached)
            .filter_map(|r| r.completion_tokens)
            .sum(),
        cost_usd: None,
    };
    Results {
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
    }
}
