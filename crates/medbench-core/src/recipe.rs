//! Scoring recipes: which metrics make a task's score.
//!
//! Every task of the catalogue names its recipe (the official metric of the
//! MedBench v4 platform where it is described, ours where it is not); a task
//! outside the catalogue (an imported data set such as MedQA) gets the default
//! recipe of its answer format. The task score is the unweighted mean of the
//! recipe's components. Scorers ask [`crate::Catalog::recipe_for`], one place.

use crate::format::FormatKind;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One metric of a recipe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Component {
    /// The share of items (or fields, options, calls) answered right, by the rules.
    Accuracy,
    /// Micro-F1 over labels, tuples or boxes, by the rules.
    MicroF1,
    /// Macro-recall of the reference's key points, each checked by an LLM judge.
    KeyPoints,
    /// An LLM judge's grade (rubric criteria or the 1–5 scale).
    Judge,
}

impl Component {
    pub const ALL: [Component; 4] = [
        Component::Accuracy,
        Component::MicroF1,
        Component::KeyPoints,
        Component::Judge,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Component::Accuracy => "accuracy",
            Component::MicroF1 => "micro_f1",
            Component::KeyPoints => "key_points",
            Component::Judge => "judge",
        }
    }

    /// True for the components only an LLM judge can apply.
    pub fn needs_judge(self) -> bool {
        matches!(self, Component::KeyPoints | Component::Judge)
    }
}

impl fmt::Display for Component {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Component {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Component::ALL
            .into_iter()
            .find(|c| c.as_str() == s.trim())
            .ok_or_else(|| {
                format!("unknown recipe component `{s}` (expected accuracy, micro_f1, key_points or judge)")
            })
    }
}

/// Where a recipe comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecipeBasis {
    /// The official platform's published metric for the task (platform spec §2b).
    Official,
    /// Our choice, for a catalogue task with no public description.
    Ours,
    /// Not in the catalogue: the default of the items' answer format.
    Format,
}

impl RecipeBasis {
    pub fn as_str(self) -> &'static str {
        match self {
            RecipeBasis::Official => "official",
            RecipeBasis::Ours => "ours",
            RecipeBasis::Format => "format",
        }
    }
}

impl fmt::Display for RecipeBasis {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for RecipeBasis {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "official" => Ok(RecipeBasis::Official),
            "ours" => Ok(RecipeBasis::Ours),
            "format" => Ok(RecipeBasis::Format),
            _ => Err(format!(
                "unknown recipe basis `{s}` (expected official, ours or format)"
            )),
        }
    }
}

/// How a task is scored: its components (the task score is their unweighted
/// mean) and where that choice comes from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Recipe {
    /// Distinct components, in the order `accuracy`, `micro_f1`, `key_points`, `judge`.
    pub components: Vec<Component>,
    pub basis: RecipeBasis,
}

impl Recipe {
    /// A recipe from its components, checked: at least one, none twice.
    pub fn new(components: Vec<Component>, basis: RecipeBasis) -> Result<Recipe, String> {
        if components.is_empty() {
            return Err("the recipe is empty (give at least one component)".into());
        }
        let mut sorted = components.clone();
        sorted.sort();
        sorted.dedup();
        if sorted.len() != components.len() {
            return Err("the recipe names a component twice".into());
        }
        Ok(Recipe {
            components: sorted,
            basis,
        })
    }

    /// The default recipe of an answer format, for a task outside the catalogue.
    /// Objective formats take the rule metric their scorer computes: `micro_f1` for
    /// label sets, tuples and boxes, `accuracy` for the rest (choice, yes/no, short
    /// answer, number, intent, JSON fields, SQL, tool calls). Open formats take the
    /// `judge`, and `key_points` too when the items carry key points.
    pub fn default_for(kind: FormatKind, has_key_points: bool) -> Recipe {
        use FormatKind as K;
        let components = match kind {
            K::LabelSet | K::Tuples | K::Detection => vec![Component::MicroF1],
            K::OpenEnded | K::Dialogue | K::AgentEpisode if has_key_points => {
                vec![Component::KeyPoints, Component::Judge]
            }
            K::OpenEnded | K::Dialogue | K::AgentEpisode => vec![Component::Judge],
            K::SingleChoice
            | K::MultipleChoice
            | K::YesNo
            | K::ShortAnswer
            | K::JsonFields
            | K::Numeric
            | K::Sql
            | K::ToolCalls
            | K::Intent => vec![Component::Accuracy],
        };
        Recipe {
            components,
            basis: RecipeBasis::Format,
        }
    }

    /// True when some component needs an LLM judge.
    pub fn needs_judge(&self) -> bool {
        self.components.iter().any(|c| c.needs_judge())
    }

    /// `key_points + judge`.
    pub fn display(&self) -> String {
        self.components
            .iter()
            .map(|c| c.as_str())
            .collect::<Vec<_>>()
            .join(" + ")
    }
}

/// Whether a task's score is its recipe's metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Metric {
    /// Every component of the recipe was applied to the items.
    #[serde(rename = "official")]
    Official,
    /// Not every component was applied, but no judge was missing altogether (e.g. a
    /// judge gave key-point recall where the recipe also asks for its grade).
    #[serde(rename = "incomplete")]
    Incomplete,
    /// The recipe needs a judge and no judge component was applied: the score is a
    /// stand-in (ROUGE-L, or the rules where the task is officially judged).
    #[serde(rename = "stand-in")]
    StandIn,
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Official => "official",
            Metric::Incomplete => "incomplete",
            Metric::StandIn => "stand-in",
        }
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Recipe {
    /// The metric a score is, given the components applied to every one of the
    /// task's items (see [`applied_by`]).
    pub fn metric(&self, applied: &[Component]) -> Metric {
        if self.components.iter().all(|c| applied.contains(c)) {
            Metric::Official
        } else if self.needs_judge() && !applied.iter().any(|c| c.needs_judge()) {
            Metric::StandIn
        } else {
            Metric::Incomplete
        }
    }
}

/// The components a stored score applied, read from its scorer id and detail:
/// a rule (`rule:<format>@v`, a rule scorer of the item's format) applies the rule
/// metrics (`accuracy`, `micro_f1`) unless its detail says `needs judge` (SQL with no
/// fixture: a stand-in 0); a judge's rubric or scale (`judge:rubric:…`,
/// `judge:scale:…`) applies `judge`; its key points (`judge:key_points:…`) apply
/// `key_points`. ROUGE-L (`rouge_l@v`) and anything else apply nothing.
pub fn applied_by(scorer: &str, detail: Option<&str>) -> Vec<Component> {
    if let Some(rest) = scorer.strip_prefix("judge:") {
        let kind = rest.split([':', '@']).next().unwrap_or("");
        return match kind {
            "key_points" | "keypoints" => vec![Component::KeyPoints],
            "" => vec![],
            _ => vec![Component::Judge],
        };
    }
    if scorer.starts_with("rule:") {
        let stand_in = detail.is_some_and(|d| d.trim_start().starts_with("needs judge"));
        if !stand_in {
            return vec![Component::Accuracy, Component::MicroF1];
        }
    }
    vec![]
}

impl fmt::Display for Recipe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn components_are_sorted_and_checked() {
        let r = Recipe::new(
            vec![Component::Judge, Component::Accuracy],
            RecipeBasis::Ours,
        )
        .unwrap();
        assert_eq!(r.display(), "accuracy + judge");
        assert!(r.needs_judge());
        assert!(Recipe::new(vec![], RecipeBasis::Ours).is_err());
        assert!(Recipe::new(vec![Component::Judge, Component::Judge], RecipeBasis::Ours).is_err());
        assert!("bleu".parse::<Component>().unwrap_err().contains("`bleu`"));
    }

    #[test]
    fn metric_from_what_was_applied() {
        let kj = Recipe::new(
            vec![Component::KeyPoints, Component::Judge],
            RecipeBasis::Official,
        )
        .unwrap();
        let rouge = applied_by("rouge_l@2", Some("rouge_l=0.3 (stand-in; needs a judge)"));
        assert_eq!(kj.metric(&rouge), Metric::StandIn);
        let kp = applied_by("judge:key_points:gpt@3f2a", None);
        assert_eq!(kp, [Component::KeyPoints]);
        assert_eq!(kj.metric(&kp), Metric::Incomplete);
        assert_eq!(
            kj.metric(&[Component::KeyPoints, Component::Judge]),
            Metric::Official
        );
        let judge = Recipe::new(vec![Component::Judge], RecipeBasis::Official).unwrap();
        let rule = applied_by("rule:tool_calls@2", Some("calls 1/2"));
        assert_eq!(judge.metric(&rule), Metric::StandIn);
        assert_eq!(
            judge.metric(&applied_by("judge:rubric:house@1", None)),
            Metric::Official
        );
        let sql = applied_by("rule:sql@2", Some("needs judge: no fixture database"));
        assert!(sql.is_empty());
        let acc = Recipe::default_for(FormatKind::Sql, false);
        assert_eq!(acc.metric(&sql), Metric::Incomplete);
        assert_eq!(
            acc.metric(&applied_by("rule:sql@2+strict@5", None)),
            Metric::Official
        );
        assert_eq!(serde_json::to_value(Metric::StandIn).unwrap(), "stand-in");
    }

    #[test]
    fn defaults_follow_the_format() {
        let d = |k, kp| Recipe::default_for(k, kp).display();
        assert_eq!(d(FormatKind::SingleChoice, false), "accuracy");
        assert_eq!(d(FormatKind::LabelSet, false), "micro_f1");
        assert_eq!(d(FormatKind::OpenEnded, false), "judge");
        assert_eq!(d(FormatKind::OpenEnded, true), "key_points + judge");
        assert!(!Recipe::default_for(FormatKind::Tuples, true).needs_judge());
    }
}
