//! # medbench-judge
//!
//! Open-ended answers scored by an LLM judge, and the judge checked against physicians.
//!
//! * [`plan`]: which kind of judgement an item gets (rubric criteria, key points or the
//!   pointwise scale), over which units, and how unit verdicts make the item's score.
//! * [`prompt`] and [`verdict`]: the judge's prompts (versioned by their text) and reading
//!   its answers.
//! * [`stage`]: the judge stage of a run. Every verdict is stored with the judge, its
//!   version and the rubric version; answers are cached by request hash, so re-scoring
//!   reuses them and a changed judge, prompt or rubric makes new ones.
//! * [`ratings`], [`human`] and [`calibrate`]: physician ratings in, blinded samples out,
//!   and agreement between judge and physicians next to agreement among physicians, with
//!   an isotonic map from judge score to the physicians' scale.

pub mod calibrate;
pub mod human;
pub mod plan;
pub mod prompt;
pub mod ratings;
pub mod stage;
pub mod verdict;

pub use plan::JudgeKind;
pub use stage::{Estimate, JudgeProgress, JudgedItem, estimate, item_scores, judge_run, summary};

use medbench_core::item::sha256_hex;
use medbench_provider::{Provider, Sampling};
use std::sync::Arc;

/// A judge model, reached through the provider layer with its own limits.
#[derive(Clone)]
pub struct Judge {
    /// The name judgements are stored and calibrated under.
    pub name: String,
    /// The model name sent to the endpoint.
    pub model: String,
    /// Names the endpoint in cache keys and versions, e.g. `openai:http://…/v1`.
    pub endpoint: String,
    /// The endpoint behind retries, rate limits and a concurrency bound of its own.
    pub provider: Arc<dyn Provider>,
    /// Requests in flight at once.
    pub concurrency: usize,
    pub sampling: Sampling,
    /// Tasks this judge grades; empty means every task no other judge names.
    pub tasks: Vec<String>,
    /// US dollars per million input and output tokens, for estimates.
    pub price_input_per_mtok: Option<f64>,
    pub price_output_per_mtok: Option<f64>,
}

impl Judge {
    /// Short hash of everything that decides this judge's verdicts for one kind:
    /// endpoint, model, sampling and the kind's prompt template.
    pub fn version(&self, kind: JudgeKind) -> String {
        let basis = format!(
            "{}\n{}\n{}\n{}\n{}",
            self.endpoint,
            self.model,
            self.sampling.canonical_json(),
            kind,
            prompt::prompt_version(kind)
        );
        sha256_hex(basis.as_bytes())[..10].to_owned()
    }

    /// The scorer id stored with a judged score, e.g. `judge:rubric:gpt-judge@3f2a…`.
    pub fn scorer(&self, kind: JudgeKind) -> String {
        format!("judge:{kind}:{}@{}", self.name, self.version(kind))
    }

    /// Dollars for these token counts, when prices are set.
    pub fn cost(&self, prompt_tokens: u64, completion_tokens: u64) -> Option<f64> {
        Some(
            (prompt_tokens as f64 * self.price_input_per_mtok?
                + completion_tokens as f64 * self.price_output_per_mtok?)
                / 1e6,
        )
    }
}

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Judge")
            .field("name", &self.name)
            .field("model", &self.model)
            .field("endpoint", &self.endpoint)
            .field("tasks", &self.tasks)
            .finish_non_exhaustive()
    }
}

/// The judge for a task: the first naming it, else the first naming no task.
pub fn judge_for<'a>(judges: &'a [Judge], task: &str) -> Option<&'a Judge> {
    judge_index(judges, task).map(|i| &judges[i])
}

/// The position of [`judge_for`]'s answer in `judges`.
pub fn judge_index(judges: &[Judge], task: &str) -> Option<usize> {
    judges
        .iter()
        .position(|j| j.tasks.iter().any(|t| t == task))
        .or_else(|| judges.iter().position(|j| j.tasks.is_empty()))
}

/// Now, as RFC 3339 with milliseconds.
pub fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}
