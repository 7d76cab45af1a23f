//! # medbench-score
//!
//! Small, pure scorers for every objective answer format of medbench, the
//! answer extraction they share, and ROUGE-L / BLEU for open-ended answers.
//!
//! [`score`] takes the public [`Format`], the hidden [`Reference`] and the raw
//! text a model wrote, and returns a [`Score`]: a value in `0.0..=1.0`, an
//! [`Outcome`], what was read from the answer and a short explanation. An
//! answer that cannot be read is [`Outcome::Unparsed`], never
//! [`Outcome::Wrong`], so reports can count the two apart.
//!
//! Where the rules cannot score an item (open-ended kinds, SQL without a
//! fixture database), [`needs_judge`] says so and [`score`] returns only a
//! stand-in for the judge to replace.
//!
//! Nothing here touches files or the network; the SQL scorer builds a
//! throw-away in-memory SQLite database per call. The rules are described
//! in `docs/scoring.md`; any change to them bumps [`SCORER_VERSION`].

pub mod choice;
pub mod detection;
pub mod extract;
pub mod fields;
pub mod labels;
pub mod sql;
pub mod structured;
pub mod text;
pub mod tools;

pub use choice::extract_choices;
pub use text::{bleu, normalize, rouge_l, tokenize};

use medbench_core::{Format, FormatKind, Reference};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Version of the scoring rules. Bump it whenever any scorer or extractor
/// changes what it returns for some answer, so that scores from different
/// rule sets are never silently compared (lm-evaluation-harness practice).
pub const SCORER_VERSION: u32 = 2;

/// How an answer fared.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Fully right (value 1.0).
    Correct,
    /// Partly right (value strictly between 0 and 1), or a cheap text-overlap
    /// stand-in for an open-ended answer that really needs a judge.
    Partial,
    /// Read, and wrong (value 0.0).
    Wrong,
    /// The answer could not be read (empty, refusal, no option, no JSON, …),
    /// or the item itself could not be scored (detail starts with `item error:`).
    Unparsed,
}

/// The result of scoring one answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// In `0.0..=1.0`.
    pub value: f64,
    pub outcome: Outcome,
    /// What was read from the answer (labels, number, JSON, query, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parsed: Option<Value>,
    /// A short human-readable explanation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

impl Score {
    /// Value 1, [`Outcome::Correct`].
    pub fn correct(parsed: Option<Value>) -> Score {
        Score {
            value: 1.0,
            outcome: Outcome::Correct,
            parsed,
            detail: None,
        }
    }

    /// Value 0, [`Outcome::Wrong`].
    pub fn wrong(parsed: Option<Value>, detail: impl Into<Option<String>>) -> Score {
        Score {
            value: 0.0,
            outcome: Outcome::Wrong,
            parsed,
            detail: detail.into(),
        }
    }

    /// Value 0, [`Outcome::Unparsed`], with the reason.
    pub fn unparsed(detail: impl Into<String>) -> Score {
        Score {
            value: 0.0,
            outcome: Outcome::Unparsed,
            parsed: None,
            detail: Some(detail.into()),
        }
    }

    /// A graded score: 1 → Correct, 0 → Wrong, anything between → Partial.
    /// The value is clamped to `0.0..=1.0` (NaN becomes 0).
    pub fn graded(value: f64, parsed: Option<Value>, detail: Option<String>) -> Score {
        let value = if value.is_nan() {
            0.0
        } else {
            value.clamp(0.0, 1.0)
        };
        let outcome = if value >= 1.0 - 1e-12 {
            Outcome::Correct
        } else if value <= 0.0 {
            Outcome::Wrong
        } else {
            Outcome::Partial
        };
        let value = if outcome == Outcome::Correct {
            1.0
        } else {
            value
        };
        Score {
            value,
            outcome,
            parsed,
            detail,
        }
    }

    /// The same score with `detail` set.
    pub fn with_detail(mut self, detail: impl Into<String>) -> Score {
        self.detail = Some(detail.into());
        self
    }
}

/// Why an item (not an answer) could not be scored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScoreError {
    /// The reference does not belong to the format.
    Mismatch(FormatKind),
    /// The reference is unusable (for example its SQL does not run).
    BadReference(String),
}

impl std::fmt::Display for ScoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScoreError::Mismatch(k) => write!(f, "reference does not fit format {k}"),
            ScoreError::BadReference(m) => write!(f, "bad reference: {m}"),
        }
    }
}

impl std::error::Error for ScoreError {}

/// Score one answer. Item problems (a reference that does not fit the
/// format, a reference query that fails) come back as [`Outcome::Unparsed`]
/// with a detail starting `item error:`; use [`try_score`] to get them as errors.
pub fn score(format: &Format, reference: &Reference, answer: &str) -> Score {
    try_score(format, reference, answer)
        .unwrap_or_else(|e| Score::unparsed(format!("item error: {e}")))
}

/// Score one answer, reporting item problems as [`ScoreError`].
pub fn try_score(
    format: &Format,
    reference: &Reference,
    answer: &str,
) -> Result<Score, ScoreError> {
    let answer = extract::clean_answer(answer);
    let answer = answer.as_str();
    let mismatch = || ScoreError::Mismatch(format.kind());
    Ok(match (format, reference) {
        (Format::SingleChoice { options }, Reference::Choice { answer: want }) => {
            choice::score_single(options, want, answer)
        }
        (Format::MultipleChoice { options }, Reference::Choice { answer: want }) => {
            choice::score_multiple(options, want, answer)
        }
        (Format::YesNo { .. }, Reference::YesNo { answer: want }) => {
            labels::score_yes_no(*want, answer)
        }
        (Format::ShortAnswer {}, Reference::Text { answers }) => {
            labels::score_short_answer(answers, answer)
        }
        (Format::LabelSet { labels: vocab }, Reference::LabelSet { labels: want }) => {
            labels::score_label_set(vocab, want, answer)
        }
        (Format::Intent { labels: vocab }, Reference::Intent { label }) => {
            labels::score_intent(vocab, label, answer)
        }
        (Format::JsonFields { .. }, Reference::JsonFields { fields }) => {
            structured::score_json_fields(fields, answer)
        }
        (Format::Tuples { slots }, Reference::Tuples { tuples }) => {
            structured::score_tuples(slots, tuples, answer)
        }
        (
            Format::Numeric { .. },
            Reference::Numeric {
                value,
                abs_tol,
                rel_tol,
            },
        ) => structured::score_numeric(*value, *abs_tol, *rel_tol, answer),
        (Format::Detection { labels: vocab, .. }, Reference::Detection { boxes, iou }) => {
            detection::score_detection(vocab, boxes, *iou, answer)
        }
        (Format::Sql { .. }, Reference::Sql { query, fixture }) => {
            sql::score_sql(query, fixture, answer, sql::DEFAULT_TIME_LIMIT)?
        }
        (Format::ToolCalls { tools }, Reference::ToolCalls { calls, ordered }) => {
            tools::score_tool_calls_in(tools, calls, *ordered, answer)
        }
        (
            Format::OpenEnded {} | Format::Dialogue {} | Format::AgentEpisode { .. },
            Reference::Open(open),
        ) => score_open(open.answer.as_deref(), answer),
        _ => return Err(mismatch()),
    })
}

/// Can the rules of this crate not score this item, so that a judge must?
/// True for the open-ended kinds (`open_ended`, `dialogue`,
/// `agent_episode`) and for SQL whose reference has no fixture database
/// (nothing to run the query on). For such items [`score`] still reads the
/// answer and returns a stand-in (`Partial`; for SQL value 0 with the
/// detail `needs judge: no fixture database`), which a judge's score
/// should replace.
pub fn needs_judge(format: &Format, reference: &Reference) -> bool {
    match (format, reference) {
        (Format::Sql { .. }, Reference::Sql { fixture, .. }) => fixture.trim().is_empty(),
        (Format::OpenEnded {} | Format::Dialogue {} | Format::AgentEpisode { .. }, _) => true,
        _ => false,
    }
}

/// Open-ended stand-in: ROUGE-L F against the reference answer, marked Partial.
fn score_open(reference: Option<&str>, answer: &str) -> Score {
    match reference {
        Some(r) if !r.trim().is_empty() => {
            if answer.trim().is_empty() {
                return Score::unparsed("empty answer");
            }
            let v = rouge_l(answer, r);
            Score {
                value: v,
                outcome: Outcome::Partial,
                parsed: None,
                detail: Some(format!("rouge_l={v:.4} (stand-in; needs a judge)")),
            }
        }
        _ => Score::unparsed("needs a judge"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn graded_maps_values_to_outcomes() {
        assert_eq!(Score::graded(1.0, None, None).outcome, Outcome::Correct);
        assert_eq!(Score::graded(0.5, None, None).outcome, Outcome::Partial);
        assert_eq!(Score::graded(0.0, None, None).outcome, Outcome::Wrong);
        assert_eq!(Score::graded(f64::NAN, None, None).value, 0.0);
        assert_eq!(Score::graded(1.5, None, None).value, 1.0);
    }

    #[test]
    fn outcome_serialises_snake_case() {
        assert_eq!(
            serde_json::to_string(&Outcome::Unparsed).unwrap(),
            "\"unparsed\""
        );
    }

    #[test]
    fn mismatched_reference_is_an_item_error() {
        let f = Format::ShortAnswer {};
        let r = Reference::Intent { label: "x".into() };
        let s = score(&f, &r, "x");
        assert_eq!(s.outcome, Outcome::Unparsed);
        assert!(s.detail.unwrap().starts_with("item error:"));
        assert!(try_score(&f, &r, "x").is_err());
    }
}
