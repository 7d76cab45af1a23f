//! Tracks and the dimensions inside each (platform-spec §1).

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// One of the three MedBench tracks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Track {
    /// Text-only large language models.
    Llm,
    /// Vision-language models: images or PDFs plus text.
    Multimodal,
    /// Tool-using, multi-turn agents.
    Agent,
}

impl Track {
    pub const ALL: [Track; 3] = [Track::Llm, Track::Multimodal, Track::Agent];

    pub fn as_str(self) -> &'static str {
        match self {
            Track::Llm => "llm",
            Track::Multimodal => "multimodal",
            Track::Agent => "agent",
        }
    }

    /// The dimensions that make up this track, in report order.
    pub fn dimensions(self) -> &'static [Dimension] {
        use Dimension::*;
        match self {
            Track::Llm => &[
                KnowledgeQa,
                LanguageUnderstanding,
                LanguageGeneration,
                ClinicalReasoning,
                SafetyEthics,
            ],
            Track::Multimodal => &[
                VisualPerception,
                CrossModalReasoning,
                ClinicalDecisionSupport,
            ],
            Track::Agent => &[
                IntentRecognition,
                TaskPlanning,
                ToolUse,
                LongHorizon,
                SafetyAwareness,
            ],
        }
    }
}

impl fmt::Display for Track {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Track {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "llm" => Ok(Track::Llm),
            "multimodal" | "vlm" | "mm" => Ok(Track::Multimodal),
            "agent" => Ok(Track::Agent),
            other => Err(format!(
                "unknown track `{other}` (expected llm, multimodal or agent)"
            )),
        }
    }
}

/// A scoring dimension. Each belongs to exactly one track; the track score is
/// the unweighted mean of its dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dimension {
    // LLM track
    KnowledgeQa,
    LanguageUnderstanding,
    LanguageGeneration,
    ClinicalReasoning,
    SafetyEthics,
    // Multimodal track
    VisualPerception,
    CrossModalReasoning,
    ClinicalDecisionSupport,
    // Agent track
    IntentRecognition,
    TaskPlanning,
    ToolUse,
    LongHorizon,
    SafetyAwareness,
}

impl Dimension {
    pub const ALL: [Dimension; 13] = [
        Dimension::KnowledgeQa,
        Dimension::LanguageUnderstanding,
        Dimension::LanguageGeneration,
        Dimension::ClinicalReasoning,
        Dimension::SafetyEthics,
        Dimension::VisualPerception,
        Dimension::CrossModalReasoning,
        Dimension::ClinicalDecisionSupport,
        Dimension::IntentRecognition,
        Dimension::TaskPlanning,
        Dimension::ToolUse,
        Dimension::LongHorizon,
        Dimension::SafetyAwareness,
    ];

    pub fn track(self) -> Track {
        Track::ALL
            .into_iter()
            .find(|t| t.dimensions().contains(&self))
            .expect("every dimension belongs to a track")
    }

    pub fn as_str(self) -> &'static str {
        use Dimension::*;
        match self {
            KnowledgeQa => "knowledge_qa",
            LanguageUnderstanding => "language_understanding",
            LanguageGeneration => "language_generation",
            ClinicalReasoning => "clinical_reasoning",
            SafetyEthics => "safety_ethics",
            VisualPerception => "visual_perception",
            CrossModalReasoning => "cross_modal_reasoning",
            ClinicalDecisionSupport => "clinical_decision_support",
            IntentRecognition => "intent_recognition",
            TaskPlanning => "task_planning",
            ToolUse => "tool_use",
            LongHorizon => "long_horizon",
            SafetyAwareness => "safety_awareness",
        }
    }

    /// English display name.
    pub fn name_en(self) -> &'static str {
        use Dimension::*;
        match self {
            KnowledgeQa => "Medical knowledge QA",
            LanguageUnderstanding => "Medical language understanding",
            LanguageGeneration => "Medical language generation",
            ClinicalReasoning => "Complex clinical reasoning",
            SafetyEthics => "Safety and ethics",
            VisualPerception => "Visual perception",
            CrossModalReasoning => "Cross-modal understanding and reasoning",
            ClinicalDecisionSupport => "Clinical decision support",
            IntentRecognition => "Intention recognition",
            TaskPlanning => "Task planning",
            ToolUse => "Tool use",
            LongHorizon => "Long-horizon interaction",
            SafetyAwareness => "Safety-aware behaviour",
        }
    }

    /// Chinese display name.
    pub fn name_zh(self) -> &'static str {
        use Dimension::*;
        match self {
            KnowledgeQa => "医学知识问答",
            LanguageUnderstanding => "医学语言理解",
            LanguageGeneration => "医学语言生成",
            ClinicalReasoning => "复杂医学推理",
            SafetyEthics => "医疗安全和伦理",
            VisualPerception => "视觉感知",
            CrossModalReasoning => "跨模态理解与推理",
            ClinicalDecisionSupport => "临床决策支持",
            IntentRecognition => "意图识别",
            TaskPlanning => "任务规划",
            ToolUse => "工具调用",
            LongHorizon => "长程交互",
            SafetyAwareness => "安全意识",
        }
    }
}

impl fmt::Display for Dimension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dimension {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        Dimension::ALL
            .into_iter()
            .find(|d| d.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<_> = Dimension::ALL.iter().map(|d| d.as_str()).collect();
                format!(
                    "unknown dimension `{s}` (expected one of {})",
                    all.join(", ")
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_dimension_has_exactly_one_track() {
        for d in Dimension::ALL {
            let owners = Track::ALL
                .iter()
                .filter(|t| t.dimensions().contains(&d))
                .count();
            assert_eq!(owners, 1, "{d} belongs to {owners} tracks");
            assert_eq!(d.as_str().parse::<Dimension>().unwrap(), d);
        }
    }

    #[test]
    fn llm_track_has_five_dimensions() {
        assert_eq!(Track::Llm.dimensions().len(), 5);
        assert_eq!(Track::Multimodal.dimensions().len(), 3);
        assert_eq!(Track::Agent.dimensions().len(), 5);
    }
}
