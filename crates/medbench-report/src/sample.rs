//! A deterministic, made-up [`Results`] for examples, tests and previews of
//! the report. Its numbers are invented; only its shape is real.

use crate::{
    DimensionResult, HeatCell, ItemCounts, ModelInfo, Results, SCHEMA, Stat, TaskResult,
    TrackResult, Usage,
};
use medbench_core::{Catalog, FormatKind, Metric};
use serde_json::json;
use std::collections::BTreeMap;

/// (track, dimension, task, format, scorer)
const TASKS: &[(&str, &str, &str, &str, &str)] = &[
    (
        "llm",
        "knowledge_qa",
        "MedExam",
        "single_choice",
        "rule:single_choice@1",
    ),
    (
        "llm",
        "knowledge_qa",
        "MedSpeQA",
        "open_ended",
        "judge:rubric@1",
    ),
    (
        "llm",
        "knowledge_qa",
        "MedHC",
        "open_ended",
        "judge:keypoints@1",
    ),
    (
        "llm",
        "language_understanding",
        "SMDoc",
        "json_fields",
        "rule:json_fields@1",
    ),
    (
        "llm",
        "language_understanding",
        "MedReportQC",
        "json_fields",
        "rule:json_fields@1",
    ),
    (
        "llm",
        "language_understanding",
        "MedSynonym",
        "short_answer",
        "rule:short_answer@1",
    ),
    (
        "llm",
        "language_generation",
        "MedRecordGen",
        "open_ended",
        "rouge_l@1",
    ),
    (
        "llm",
        "language_generation",
        "MedSummary",
        "open_ended",
        "judge:rubric@1",
    ),
    (
        "llm",
        "language_generation",
        "MedPopular",
        "open_ended",
        "judge:rubric@1",
    ),
    (
        "llm",
        "clinical_reasoning",
        "MedDiag",
        "open_ended",
        "judge:keypoints@1",
    ),
    (
        "llm",
        "clinical_reasoning",
        "DDx-advanced",
        "multiple_choice",
        "rule:set_f1@1",
    ),
    (
        "llm",
        "clinical_reasoning",
        "MedInsureCalc",
        "numeric",
        "rule:numeric@1",
    ),
    (
        "llm",
        "clinical_reasoning",
        "CMB-Clin-extended",
        "open_ended",
        "judge:rubric@1",
    ),
    (
        "llm",
        "safety_ethics",
        "MedSafety",
        "single_choice",
        "rule:circular_choice@1",
    ),
    (
        "llm",
        "safety_ethics",
        "MedEthics",
        "single_choice",
        "rule:circular_choice@1",
    ),
    (
        "multimodal",
        "visual_perception",
        "MedDetect",
        "detection",
        "rule:iou_pr@1",
    ),
    (
        "multimodal",
        "visual_perception",
        "MedQC",
        "label_set",
        "rule:set_f1@1",
    ),
    (
        "multimodal",
        "cross_modal_reasoning",
        "MedVQA",
        "short_answer",
        "rule:short_answer@1",
    ),
    (
        "multimodal",
        "cross_modal_reasoning",
        "MedOCR",
        "json_fields",
        "rule:json_fields@1",
    ),
    (
        "multimodal",
        "clinical_decision_support",
        "MedTherapy",
        "open_ended",
        "judge:rubric@1",
    ),
    (
        "agent",
        "intent_recognition",
        "MedIntentID",
        "intent",
        "rule:intent@1",
    ),
    (
        "agent",
        "tool_use",
        "MedCallAPI",
        "tool_calls",
        "rule:tool_calls@1",
    ),
    ("agent", "tool_use", "MedDBOps", "sql", "rule:sql_exec@1"),
];

const SPECIALTIES: &[&str] = &[
    "心血管内科",
    "呼吸内科",
    "消化内科",
    "神经内科",
    "内分泌科",
    "儿科",
    "妇产科",
    "普通外科",
    "急诊科",
    "肿瘤科",
];

/// Tiny deterministic generator (64-bit LCG), so the sample never changes.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// A normal-approximation interval around `score` for `n` items, clamped to 0–100.
fn stat(score: f64, n: usize, widen: f64) -> Stat {
    let p = score / 100.0;
    let half = widen * 196.0 * (p * (1.0 - p) / n.max(1) as f64).sqrt();
    let r = |x: f64| (x * 10.0).round() / 10.0;
    Stat {
        score: r(score),
        ci_low: r((score - half).max(0.0)),
        ci_high: r((score + half).min(100.0)),
        n,
    }
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

/// A complete sample run of model `name`: three tracks (the agent track with
/// only two dimensions, so it is drawn as bars), 23 tasks of 30 items,
/// ten specialties and a sparse heat map.
pub fn demo(name: &str) -> Results {
    demo_seeded(name, 0x5eed_2025)
}

/// Like [`demo`] with other invented numbers: each `seed` gives another run
/// of the same shape (used for comparison previews).
pub fn demo_seeded(name: &str, seed: u64) -> Results {
    let mut rng = Lcg(seed);
    let mut tasks = BTreeMap::new();
    let (mut unparsed_all, mut errors_all) = (0, 0);
    let catalog = Catalog::builtin();
    for &(track, dim, task, format, scorer) in TASKS {
        let n = 30usize;
        let base = match dim {
            "safety_ethics" => 25.0,
            "language_generation" => 45.0,
            _ => 55.0,
        };
        let score = (base + 40.0 * rng.next()).min(98.0);
        let unparsed = (rng.next() * 3.0) as u64;
        let errors = u64::from(rng.next() > 0.8);
        let graded = format == "open_ended" || format.ends_with("_fields") || format == "detection";
        let answered = n as u64 - unparsed - errors;
        let share = if graded { 0.5 } else { 1.0 };
        let correct = (((score / 100.0) * n as f64 * share).round() as u64).min(answered);
        let partial = if graded { (answered - correct) / 2 } else { 0 };
        let wrong = answered - correct - partial;
        unparsed_all += unparsed;
        errors_all += errors;
        let recipe = catalog.recipe_for(task, format.parse().unwrap_or(FormatKind::OpenEnded));
        let metric = recipe.metric(&medbench_core::applied_by(scorer, None));
        let t = TaskResult {
            track: track.into(),
            dimension: dim.into(),
            format: format.into(),
            stat: stat(score, n, 1.0),
            correct,
            partial,
            wrong,
            unparsed,
            errors,
            scorer: scorer.into(),
            recipe: recipe.display(),
            recipe_basis: recipe.basis.to_string(),
            metric: metric.to_string(),
            needs_judge: metric == Metric::StandIn,
            permutation: None,
        };
        tasks.insert(task.to_owned(), t);
    }

    let mut dimensions: BTreeMap<String, DimensionResult> = BTreeMap::new();
    for (name, t) in &tasks {
        let d = dimensions
            .entry(t.dimension.clone())
            .or_insert_with(|| DimensionResult {
                track: t.track.clone(),
                stat: stat(0.0, 0, 1.0),
                tasks: vec![],
            });
        d.tasks.push(name.clone());
    }
    for d in dimensions.values_mut() {
        let scores: Vec<f64> = d.tasks.iter().map(|t| tasks[t].stat.score).collect();
        let n = d.tasks.iter().map(|t| tasks[t].stat.n).sum();
        d.stat = stat(mean(&scores), n, 1.2);
    }
    let mut tracks: BTreeMap<String, TrackResult> = BTreeMap::new();
    for (k, d) in &dimensions {
        let t = tracks
            .entry(d.track.clone())
            .or_insert_with(|| TrackResult {
                stat: stat(0.0, 0, 1.0),
                dimensions: vec![],
            });
        t.dimensions.push(k.clone());
    }
    for t in tracks.values_mut() {
        let scores: Vec<f64> = t
            .dimensions
            .iter()
            .map(|d| dimensions[d].stat.score)
            .collect();
        let n = t.dimensions.iter().map(|d| dimensions[d].stat.n).sum();
        t.stat = stat(mean(&scores), n, 1.4);
    }
    let track_scores: Vec<f64> = tracks.values().map(|t| t.stat.score).collect();
    let total: usize = tracks.values().map(|t| t.stat.n).sum();
    let overall = stat(mean(&track_scores), total, 1.6);

    let mut specialties = BTreeMap::new();
    let mut heatmap = Vec::new();
    for s in SPECIALTIES {
        let mut cells = Vec::new();
        for d in dimensions.keys() {
            if rng.next() < 0.25 {
                continue; // sparse: not every specialty appears in every dimension
            }
            let n = 3 + (rng.next() * 15.0) as usize;
            let score = ((dimensions[d].stat.score + 30.0 * (rng.next() - 0.5)).clamp(0.0, 100.0)
                * 10.0)
                .round()
                / 10.0;
            cells.push((score, n));
            heatmap.push(HeatCell {
                specialty: (*s).into(),
                dimension: d.clone(),
                score,
                n,
            });
        }
        let n: usize = cells.iter().map(|c| c.1).sum();
        let score = cells.iter().map(|c| c.0 * c.1 as f64).sum::<f64>() / n.max(1) as f64;
        specialties.insert((*s).to_owned(), stat(score, n.max(1), 1.0));
    }

    let provisional = tasks.values().any(|t| t.needs_judge);
    Results {
        schema: SCHEMA.into(),
        run_id: "run-20250314-7f3c2a".into(),
        model: ModelInfo {
            name: name.into(),
            provider: "openai-compatible".into(),
            base_url: Some("http://127.0.0.1:8080/v1".into()),
        },
        started_at: "2025-03-14T09:12:05Z".into(),
        finished_at: Some("2025-03-14T10:47:51Z".into()),
        overall,
        tracks,
        dimensions,
        tasks,
        specialties,
        heatmap,
        items: ItemCounts {
            total: total as u64 + 4,
            scored: total as u64,
            unparsed: unparsed_all,
            errors: errors_all,
            blind_skipped: 4,
            blind_answered: 0,
        },
        usage: Usage {
            prompt_tokens: 1_482_907,
            completion_tokens: 391_266,
            cost_usd: Some(3.8712),
        },
        manifest: json!({
            "tool_version": "0.1.0",
            "git_commit": "3f2a9c1d0b7e",
            "seed": 20250314,
            "pool": "v4-2025Q1-round-3",
            "bootstrap": {"resamples": 2000, "level": 0.95},
            "sampling": {"temperature": 0.0, "top_p": 1.0, "max_tokens": 2048},
            "templates": {"single_choice": "sc-zh@2", "open_ended": "open-zh@1"},
            "judge": {"model": "judge-model", "prompt": "rubric@3"}
        }),
        judging: None,
        provisional,
        warnings: Vec::new(),
        answered: BTreeMap::new(),
        failures: Vec::new(),
    }
}
