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
    fn defaults_follow_the_format() {
        let d = |k, kp| Recipe::default_for(k, kp).display();
        assert_eq!(d(FormatKind::SingleChoice, false), "accuracy");
        assert_eq!(d(FormatKind::LabelSet, false), "micro_f1");
        assert_eq!(d(FormatKind::OpenEnded, false), "judge");
        assert_eq!(d(FormatKind::OpenEnded, true), "key_points + judge");
        assert!(!Recipe::default_for(FormatKind::Tuples, true).needs_judge());
    }
}
