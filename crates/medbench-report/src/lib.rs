//! The results of one medbench evaluation run and the ways to render them.
//!
//! A run writes one `results.json` file ([`Results`], schema [`SCHEMA`]): the
//! overall score, every track, dimension, task and specialty with its 95%
//! bootstrap confidence interval, the specialty × dimension heat map, item
//! counts, token usage and the run manifest. This crate owns that format
//! (documented in `docs/results-format.md`, machine-checkable with
//! `results.schema.json` beside this crate's `Cargo.toml`) and renders it:
//!
//! * [`to_json`] / [`from_json`]: the file itself, pretty-printed;
//! * [`to_csv`]: one row per task, for spreadsheets;
//! * [`to_html`]: one self-contained HTML page (tables readable without
//!   JavaScript, charts drawn by an inlined copy of Apache ECharts);
//! * [`compare_html`]: two runs side by side with a paired comparison.
//!
//! Scores are on the 0–100 scale. Unparsed answers count as wrong in the
//! score but are reported apart from wrong ones, and so are errors (the model
//! or the scorer failed).

mod compare;
mod csv_out;
mod html;
mod labels;
pub mod sample;
mod view;

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub use csv_out::{CSV_HEADER, to_csv};
pub use html::{compare_html, to_html};
pub use labels::{dimension_label, track_label};

/// The schema identifier written in every `results.json` (`schema` field).
/// The number after the slash changes when a change breaks readers.
pub const SCHEMA: &str = "medbench.results/1";

/// A score with its 95% bootstrap confidence interval, all on the 0–100 scale.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Stat {
    /// Point estimate, 0–100.
    pub score: f64,
    /// Lower bound of the 95% bootstrap interval, 0–100.
    pub ci_low: f64,
    /// Upper bound of the 95% bootstrap interval, 0–100.
    pub ci_high: f64,
    /// Number of scored items under this node.
    pub n: usize,
}

/// The result of one task (one dataset such as `MedExam`).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TaskResult {
    /// Track key (`llm`, `multimodal`, `agent`).
    pub track: String,
    /// Dimension key, e.g. `knowledge_qa`.
    pub dimension: String,
    /// Answer format of the task, e.g. `single_choice`.
    pub format: String,
    /// Score and interval (serialised inline: `score`, `ci_low`, `ci_high`, `n`).
    #[serde(flatten)]
    pub stat: Stat,
    /// Items scored fully right.
    pub correct: u64,
    /// Items given partial credit (set-F1, rubric points, …).
    pub partial: u64,
    /// Items answered and parsed but wrong.
    pub wrong: u64,
    /// Items whose answer could not be parsed (scored as wrong).
    pub unparsed: u64,
    /// Items for which the model call or the scorer failed.
    pub errors: u64,
    /// Scorer id and version, e.g. `rule:single_choice@1` or `rouge_l@1`.
    pub scorer: String,
    /// The task's scoring recipe, e.g. `key_points + judge` (components joined by ` + `;
    /// the task score is meant as their unweighted mean). Empty in older files.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub recipe: String,
    /// Where the recipe comes from: `official`, `ours` or `format`. Empty in older files.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub recipe_basis: String,
    /// Whether the score is the recipe's metric: [`METRIC_OFFICIAL`],
    /// [`METRIC_INCOMPLETE`] or [`METRIC_STAND_IN`]. Empty in older files.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub metric: String,
    /// True when the recipe needs a judge and the items were scored without one:
    /// the score is a stand-in (ROUGE-L or a rule), not the task's metric.
    #[serde(default)]
    pub needs_judge: bool,
    /// Rounds only: scores over option permutations (`None` for plain runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permutation: Option<Permutation>,
}

/// [`TaskResult::metric`]: every component of the recipe was applied to the items.
pub const METRIC_OFFICIAL: &str = "official";
/// [`TaskResult::metric`]: a judge scored the items, but not every component of the
/// recipe was applied (e.g. key points without the judge's grade).
pub const METRIC_INCOMPLETE: &str = "incomplete";
/// [`TaskResult::metric`]: the recipe needs a judge and none scored the items.
pub const METRIC_STAND_IN: &str = "stand-in";

/// Permutation consistency of a task in a round (0–100).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Permutation {
    /// Items right in every permutation of their options (the official rule for single choice).
    pub strict: f64,
    /// Mean over all permutations.
    pub mean: f64,
    /// Instances asked (items × permutations).
    pub instances: usize,
}

/// The result of one dimension: the unweighted mean of its tasks.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct DimensionResult {
    /// Track key this dimension belongs to.
    pub track: String,
    /// Score and interval (serialised inline).
    #[serde(flatten)]
    pub stat: Stat,
    /// Keys of the tasks under this dimension (into [`Results::tasks`]).
    pub tasks: Vec<String>,
}

/// The result of one track: the unweighted mean of its dimensions.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct TrackResult {
    /// Score and interval (serialised inline).
    #[serde(flatten)]
    pub stat: Stat,
    /// Keys of the dimensions under this track (into [`Results::dimensions`]).
    pub dimensions: Vec<String>,
}

/// One cell of the specialty × dimension heat map.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct HeatCell {
    /// Specialty name as found in the items (e.g. `心血管内科`).
    pub specialty: String,
    /// Dimension key.
    pub dimension: String,
    /// Mean score of the items in this cell, 0–100.
    pub score: f64,
    /// Number of items in this cell.
    pub n: usize,
}

/// The model (or agent) that was evaluated.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// Display name, as given by the user.
    pub name: String,
    /// Provider kind, e.g. `openai`, `anthropic`, `offline` (uploaded answers).
    pub provider: String,
    /// Endpoint the platform called, if any.
    #[serde(default)]
    pub base_url: Option<String>,
}

/// Token usage and cost of the run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct Usage {
    /// Prompt (input) tokens over all calls.
    pub prompt_tokens: u64,
    /// Completion (output) tokens over all calls.
    pub completion_tokens: u64,
    /// Cost in US dollars, when prices are known.
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

/// Counts of items by outcome over the whole run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct ItemCounts {
    /// Items in the run.
    pub total: u64,
    /// Items that received a score (including unparsed ones, scored 0).
    pub scored: u64,
    /// Items whose answer could not be parsed.
    pub unparsed: u64,
    /// Items whose model call or scoring failed.
    pub errors: u64,
    /// Items of a blind (offline) submission that were left unanswered.
    pub blind_skipped: u64,
    /// Blind items (no reference) that were asked and answered: stored, not scored, and
    /// not counted in `total`.
    #[serde(default)]
    pub blind_answered: u64,
}

/// Everything `results.json` holds for one evaluation run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Results {
    /// Always [`SCHEMA`] for files written by this version.
    pub schema: String,
    /// Opaque run identifier.
    pub run_id: String,
    /// The evaluated model.
    pub model: ModelInfo,
    /// Start time, RFC 3339.
    pub started_at: String,
    /// End time, RFC 3339; `None` while the run is unfinished.
    #[serde(default)]
    pub finished_at: Option<String>,
    /// Unweighted mean of the track scores.
    pub overall: Stat,
    /// Track results keyed by track key.
    pub tracks: BTreeMap<String, TrackResult>,
    /// Dimension results keyed by dimension key.
    pub dimensions: BTreeMap<String, DimensionResult>,
    /// Task results keyed by task name.
    pub tasks: BTreeMap<String, TaskResult>,
    /// Scores per specialty (may be empty).
    #[serde(default)]
    pub specialties: BTreeMap<String, Stat>,
    /// Specialty × dimension cells (may be empty).
    #[serde(default)]
    pub heatmap: Vec<HeatCell>,
    /// Item counts by outcome.
    pub items: ItemCounts,
    /// Token usage and cost.
    pub usage: Usage,
    /// The run manifest (tool version, git commit, seed, sampling, templates…),
    /// stored verbatim.
    #[serde(default)]
    pub manifest: serde_json::Value,
    /// How open-ended answers were judged; `None` when no LLM judge was used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub judging: Option<Judging>,
    /// True when some task's score is a stand-in for a judged metric (a task with
    /// `needs_judge`): the run is not on the official metric and leaderboards mark it.
    #[serde(default)]
    pub provisional: bool,
    /// Things a reader must know to trust these numbers (e.g. a task scored by two judge
    /// versions). Empty when there is nothing to say.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Blind items (no reference answer, as in official downloads) by task: asked and
    /// stored, never scored; not part of any score above. Empty when there were none.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answered: BTreeMap<String, AnsweredTask>,
    /// Why calls failed: the run's failed responses grouped by failure class, most frequent
    /// first. Absent when no call failed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<FailureClass>,
}

/// The blind items of one task: answered, not scored.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct AnsweredTask {
    /// Track key.
    pub track: String,
    /// Dimension key.
    pub dimension: String,
    /// Answer format of the task.
    pub format: String,
    /// Blind items of this task in the run.
    pub items: u64,
    /// Instances asked (items × option orders).
    pub instances: u64,
    /// Instances with a stored answer.
    pub answered: u64,
    /// Instances whose model call failed for good.
    pub errors: u64,
}

/// One class of failed calls (`http 404`, `connect`, `timeout`, `render`…) in a run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct FailureClass {
    /// The class: the provider's failure kind, with the HTTP status where there is one.
    pub class: String,
    /// Failed responses of this class.
    pub count: u64,
    /// The first of them (HTTP status and an excerpt of the body, the connection error,
    /// the timeout…).
    pub first_message: String,
}

/// The LLM judges behind the open-ended scores, and whether their scores were calibrated.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Judging {
    /// One entry per judge and judgement kind used.
    pub judges: Vec<JudgeInfo>,
    /// Whether an isotonic calibration against physician ratings was applied.
    pub calibration: CalibrationInfo,
}

/// One judge (and one kind of judgement) used in a run.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct JudgeInfo {
    /// The judge's configured name.
    pub name: String,
    /// The model name sent to the judge's endpoint.
    pub model: String,
    /// `rubric`, `key_points` or `scale`.
    pub kind: String,
    /// Hash of endpoint, model, sampling and prompt template: judgements of another
    /// version are never mixed in.
    pub version: String,
    /// Hash of the judge prompt template.
    pub prompt_version: String,
    /// Items judged.
    pub items: u64,
    /// Judge calls behind those items (a rubric makes one per criterion).
    pub calls: u64,
    /// Of those, answered from the judge cache.
    pub cached: u64,
    /// Calls whose verdict could not be read, even after the stricter retry.
    pub unparsed: u64,
    /// Calls the judge refused to grade.
    pub refusals: u64,
    /// Calls that failed (transport, HTTP status…).
    pub errors: u64,
    /// Judge tokens of calls actually made.
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Dollars, when the judge's prices are set.
    #[serde(default)]
    pub cost_usd: Option<f64>,
}

/// Whether judge scores were mapped onto the physicians' scale.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default)]
pub struct CalibrationInfo {
    /// True when the scores in this file are calibrated.
    pub applied: bool,
    /// The calibration's id, when one was applied (or considered).
    #[serde(default)]
    pub id: Option<String>,
    /// Physician ratings the map was fitted on.
    #[serde(default)]
    pub ratings: u64,
    /// Rated responses the map was fitted on.
    #[serde(default)]
    pub items: u64,
    /// Judged items whose score the map changed or confirmed.
    #[serde(default)]
    pub items_mapped: u64,
    /// Why it was or was not applied.
    pub note: String,
}

/// Why a `results.json` could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Not valid JSON or not the expected shape.
    Json(serde_json::Error),
    /// The `schema` field names another format or an unsupported major version.
    Schema(String),
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Json(e) => write!(f, "results.json: {e}"),
            ReadError::Schema(s) => write!(
                f,
                "results.json: unsupported schema `{s}` (expected `{SCHEMA}`)"
            ),
        }
    }
}

impl std::error::Error for ReadError {}

/// Serialises `r` as pretty-printed JSON (the `results.json` file).
pub fn to_json(r: &Results) -> String {
    serde_json::to_string_pretty(r).expect("Results always serialises")
}

/// Parses a `results.json`, rejecting files whose `schema` is not [`SCHEMA`].
pub fn from_json(s: &str) -> Result<Results, ReadError> {
    let r: Results = serde_json::from_str(s).map_err(ReadError::Json)?;
    if r.schema != SCHEMA {
        return Err(ReadError::Schema(r.schema));
    }
    Ok(r)
}

impl Results {
    /// The tasks scored with a stand-in for a judged metric (`needs_judge`), by name.
    /// A file written before recipes (no `metric`) is judged from its tasks' scorer
    /// ids and the built-in catalogue, so an old ROUGE-L run is not taken for official.
    pub fn stand_in_tasks(&self) -> Vec<&str> {
        let mut catalog = None;
        self.tasks
            .iter()
            .filter(|(name, t)| {
                if !t.metric.is_empty() {
                    return t.needs_judge;
                }
                let catalog = catalog.get_or_insert_with(medbench_core::Catalog::builtin);
                let Ok(kind) = t.format.parse() else {
                    return false;
                };
                let recipe = catalog.recipe_for(name, kind);
                let mut applied: Option<Vec<medbench_core::Component>> = None;
                for part in t.scorer.split(" + ") {
                    let these = medbench_core::applied_by(part.trim(), None);
                    applied = Some(match applied {
                        None => these,
                        Some(a) => a.into_iter().filter(|c| these.contains(c)).collect(),
                    });
                }
                recipe.metric(&applied.unwrap_or_default()) == medbench_core::Metric::StandIn
            })
            .map(|(k, _)| k.as_str())
            .collect()
    }

    /// True when some task's score is a stand-in for a judged metric: the stored
    /// `provisional`, or, for a file written before recipes, what its tasks show.
    pub fn is_provisional(&self) -> bool {
        self.provisional || !self.stand_in_tasks().is_empty()
    }

    /// Lists inconsistencies: intervals that do not contain their score,
    /// scores outside 0–100, tasks or dimensions referring to missing keys.
    /// An empty list means the file is coherent.
    pub fn check(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut stat = |what: &str, s: &Stat| {
            let ok = |x: f64| (0.0..=100.0).contains(&x);
            if !(ok(s.score) && ok(s.ci_low) && ok(s.ci_high)) {
                out.push(format!("{what}: value outside 0–100"));
            } else if !(s.ci_low <= s.score && s.score <= s.ci_high) {
                out.push(format!("{what}: interval does not contain the score"));
            }
        };
        stat("overall", &self.overall);
        for (k, t) in &self.tracks {
            stat(&format!("track {k}"), &t.stat);
        }
        for (k, d) in &self.dimensions {
            stat(&format!("dimension {k}"), &d.stat);
        }
        for (k, t) in &self.tasks {
            stat(&format!("task {k}"), &t.stat);
        }
        for (k, t) in &self.tracks {
            for d in &t.dimensions {
                if !self.dimensions.contains_key(d) {
                    out.push(format!("track {k} lists missing dimension {d}"));
                }
            }
        }
        for (k, d) in &self.dimensions {
            for t in &d.tasks {
                if !self.tasks.contains_key(t) {
                    out.push(format!("dimension {k} lists missing task {t}"));
                }
            }
        }
        for (k, t) in &self.tasks {
            if !self.dimensions.contains_key(&t.dimension) {
                out.push(format!("task {k} has unknown dimension {}", t.dimension));
            }
        }
        out
    }
}
