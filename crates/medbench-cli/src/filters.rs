//! The item filters shared by `items stats|list|export` (and later `eval`).

use anyhow::{Context, Result};
use clap::Args;
use medbench_core::{FormatKind, ReviewStatus, Track};
use medbench_store::ItemFilter;

/// Select items. Each option takes a comma-separated list; items must match every option given.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Tracks: llm, multimodal, agent.
    #[arg(long, value_delimiter = ',')]
    pub track: Vec<String>,
    /// Dimensions, e.g. knowledge_qa,safety_ethics.
    #[arg(long, value_delimiter = ',')]
    pub dimension: Vec<String>,
    /// Task names, e.g. MedExam,DemoExam.
    #[arg(long, value_delimiter = ',')]
    pub tasks: Vec<String>,
    /// Specialty codes or names; a primary code (03) includes its secondaries (03.04).
    #[arg(long, value_delimiter = ',')]
    pub specialty: Vec<String>,
    /// Languages, e.g. zh,en.
    #[arg(long, value_delimiter = ',')]
    pub language: Vec<String>,
    /// Answer formats, e.g. single_choice,open_ended.
    #[arg(long = "answer-format", value_delimiter = ',')]
    pub answer_format: Vec<String>,
    /// Review statuses: draft, in_review, approved, rejected, retired.
    #[arg(long, value_delimiter = ',')]
    pub review: Vec<String>,
    /// Only blind items (no reference answer).
    #[arg(long, conflicts_with = "scorable")]
    pub blind: bool,
    /// Only items with a reference answer.
    #[arg(long)]
    pub scorable: bool,
}

impl FilterArgs {
    pub fn to_filter(&self) -> Result<ItemFilter> {
        let taxonomy = medbench_core::Taxonomy::builtin();
        let plain = |v: &[String]| -> Vec<String> {
            v.iter()
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        };
        Ok(ItemFilter {
            tracks: self
                .track
                .iter()
                .map(|s| s.parse::<Track>().map_err(anyhow::Error::msg))
                .collect::<Result<_>>()?,
            dimensions: self
                .dimension
                .iter()
                .map(|s| {
                    s.parse::<medbench_core::Dimension>()
                        .map(|d| d.as_str().to_owned())
                        .map_err(anyhow::Error::msg)
                })
                .collect::<Result<_>>()?,
            tasks: plain(&self.tasks),
            specialties: self
                .specialty
                .iter()
                .map(|s| {
                    taxonomy
                        .resolve(s)
                        .map(|sp| sp.code.clone())
                        .with_context(|| {
                            format!(
                                "`{s}` is not a specialty code or name (see `medbench specialties`)"
                            )
                        })
                })
                .collect::<Result<_>>()?,
            languages: plain(&self.language),
            formats: self
                .answer_format
                .iter()
                .map(|s| s.parse::<FormatKind>().map_err(anyhow::Error::msg))
                .collect::<Result<_>>()?,
            review: self
                .review
                .iter()
                .map(|s| s.parse::<ReviewStatus>().map_err(anyhow::Error::msg))
                .collect::<Result<_>>()?,
            blind: if self.blind {
                Some(true)
            } else if self.scorable {
                Some(false)
            } else {
                None
            },
        })
    }
}
