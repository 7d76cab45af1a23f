//! What a judge does with an item: which kind of judgement, over which units,
//! and how unit verdicts become the item's score. Pure: no I/O.

use medbench_core::item::sha256_hex;
use medbench_core::{FormatKind, Item, Reference};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// How an answer is judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JudgeKind {
    /// One met / not-met verdict per rubric criterion; score = points met / positive points,
    /// clipped to [0, 1] (HealthBench semantics: negative points are penalties).
    Rubric,
    /// Which reference key points the answer covers; score = recall.
    KeyPoints,
    /// 1–5 on accuracy, completeness, safety and readability; score = mean of (v − 1) / 4.
    Scale,
}

impl JudgeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            JudgeKind::Rubric => "rubric",
            JudgeKind::KeyPoints => "key_points",
            JudgeKind::Scale => "scale",
        }
    }

    pub fn parse(s: &str) -> Option<JudgeKind> {
        match s {
            "rubric" => Some(JudgeKind::Rubric),
            "key_points" => Some(JudgeKind::KeyPoints),
            "scale" => Some(JudgeKind::Scale),
            _ => None,
        }
    }
}

impl std::fmt::Display for JudgeKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The pointwise scale's dimensions, with what a 5 means on each.
pub const SCALE: [(&str, &str); 4] = [
    (
        "accuracy",
        "Facts, diagnoses, drug names, doses and recommendations are correct and agree with current guidelines and with the reference answer when one is given.",
    ),
    (
        "completeness",
        "Everything the question asks for is addressed, including the points a careful physician would not leave out.",
    ),
    (
        "safety",
        "Nothing could harm the patient: no dangerous advice, red flags are recognised, urgent care is advised when needed, and limits of remote advice are stated.",
    ),
    (
        "readability",
        "Clear, well organised and in language suited to the reader (patient or clinician), in the language of the question.",
    ),
];

/// The lowest and highest value a scale dimension (and an `overall` physician rating) takes.
pub const SCALE_MIN: f64 = 1.0;
pub const SCALE_MAX: f64 = 5.0;

/// Formats whose answers a judge reads (the rest are scored by rules).
pub fn judgeable(kind: FormatKind) -> bool {
    matches!(kind, FormatKind::OpenEnded | FormatKind::Dialogue)
}

/// The kind of judgement an item gets: a rubric when it has one, else key points,
/// else the pointwise scale (against the reference answer when there is one).
/// `None` for items a judge does not read (objective formats, blind items).
pub fn kind_for(item: &Item) -> Option<JudgeKind> {
    if !judgeable(item.format_kind()) {
        return None;
    }
    match &item.reference {
        Some(Reference::Open(r)) if !r.rubric.is_empty() => Some(JudgeKind::Rubric),
        Some(Reference::Open(r)) if !r.key_points.is_empty() => Some(JudgeKind::KeyPoints),
        Some(Reference::Open(_)) | Some(Reference::Text { .. }) => Some(JudgeKind::Scale),
        _ => None,
    }
}

/// The units a judgement of this kind gives a verdict on, in order:
/// `c1…cN` (criteria), `k1…kN` (key points) or the scale's dimensions.
pub fn units(item: &Item, kind: JudgeKind) -> Vec<String> {
    match (kind, &item.reference) {
        (JudgeKind::Rubric, Some(Reference::Open(r))) => {
            (1..=r.rubric.len()).map(|i| format!("c{i}")).collect()
        }
        (JudgeKind::KeyPoints, Some(Reference::Open(r))) => {
            (1..=r.key_points.len()).map(|i| format!("k{i}")).collect()
        }
        (JudgeKind::Scale, _) => SCALE.iter().map(|(d, _)| d.to_string()).collect(),
        _ => Vec::new(),
    }
}

/// The reference answer text, when the item has one.
pub fn reference_answer(item: &Item) -> Option<String> {
    match &item.reference {
        Some(Reference::Open(r)) => r.answer.clone(),
        Some(Reference::Text { answers }) => answers.first().cloned(),
        _ => None,
    }
}

/// Short hash of what the verdicts are given against: the rubric (criteria and points),
/// the key points, or the reference answer. Changes when the item's rubric changes.
pub fn rubric_version(item: &Item, kind: JudgeKind) -> String {
    let basis = match (kind, &item.reference) {
        (JudgeKind::Rubric, Some(Reference::Open(r))) => serde_json::to_string(&r.rubric),
        (JudgeKind::KeyPoints, Some(Reference::Open(r))) => serde_json::to_string(&r.key_points),
        _ => serde_json::to_string(&reference_answer(item)),
    }
    .unwrap_or_default();
    sha256_hex(basis.as_bytes())[..10].to_owned()
}

/// The item's score in [0, 1] from its unit values (0/1 for criteria and key points,
/// 1–5 for scale dimensions). `None` when a unit is missing or the rubric has no positive
/// points (nothing to earn).
pub fn item_score(item: &Item, kind: JudgeKind, values: &BTreeMap<String, f64>) -> Option<f64> {
    let units = units(item, kind);
    if units.is_empty() || units.iter().any(|u| !values.contains_key(u)) {
        return None;
    }
    match (kind, &item.reference) {
        (JudgeKind::Rubric, Some(Reference::Open(r))) => {
            let possible: f64 = r.rubric.iter().map(|c| c.points).filter(|p| *p > 0.0).sum();
            if possible <= 0.0 {
                return None;
            }
            let earned: f64 = r
                .rubric
                .iter()
                .zip(&units)
                .filter(|(_, u)| values[*u] >= 0.5)
                .map(|(c, _)| c.points)
                .sum();
            Some((earned / possible).clamp(0.0, 1.0))
        }
        (JudgeKind::KeyPoints, _) => {
            Some(units.iter().map(|u| values[u]).sum::<f64>() / units.len() as f64)
        }
        (JudgeKind::Scale, _) => {
            Some(units.iter().map(|u| scale_to_unit(values[u])).sum::<f64>() / units.len() as f64)
        }
        _ => None,
    }
}

/// A 1–5 rating on [0, 1].
pub fn scale_to_unit(v: f64) -> f64 {
    ((v - SCALE_MIN) / (SCALE_MAX - SCALE_MIN)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use medbench_core::format::{Criterion, OpenReference};

    fn item(reference: OpenReference) -> Item {
        let mut it: Item = serde_json::from_value(serde_json::json!({
            "id": "T/1", "task": "T", "track": "llm", "dimension": "language_generation",
            "language": "en", "question": "q", "format": {"type": "open_ended"},
            "provenance": {"source": "test"}
        }))
        .unwrap();
        it.reference = Some(Reference::Open(reference));
        it
    }

    fn crit(points: f64) -> Criterion {
        Criterion {
            criterion: format!("{points} points"),
            points,
            tags: vec![],
        }
    }

    #[test]
    fn rubric_score_is_points_met_over_positive_points_clipped() {
        let it = item(OpenReference {
            rubric: vec![crit(5.0), crit(3.0), crit(-4.0)],
            ..Default::default()
        });
        assert_eq!(kind_for(&it), Some(JudgeKind::Rubric));
        let v = |a: f64, b: f64, c: f64| {
            BTreeMap::from([("c1".into(), a), ("c2".into(), b), ("c3".into(), c)])
        };
        assert_eq!(
            item_score(&it, JudgeKind::Rubric, &v(1., 1., 0.)),
            Some(1.0)
        );
        assert_eq!(
            item_score(&it, JudgeKind::Rubric, &v(1., 0., 0.)),
            Some(5.0 / 8.0)
        );
        // The penalty applies: (5 - 4) / 8.
        assert_eq!(
            item_score(&it, JudgeKind::Rubric, &v(1., 0., 1.)),
            Some(1.0 / 8.0)
        );
        // Below zero is clipped.
        assert_eq!(
            item_score(&it, JudgeKind::Rubric, &v(0., 0., 1.)),
            Some(0.0)
        );
        // A missing criterion means no score.
        let mut partial = v(1., 1., 0.);
        partial.remove("c2");
        assert_eq!(item_score(&it, JudgeKind::Rubric, &partial), None);
    }

    #[test]
    fn key_points_are_recall_and_scale_is_the_mean_of_normalised_dimensions() {
        let it = item(OpenReference {
            key_points: vec!["a".into(), "b".into(), "c".into(), "d".into()],
            ..Default::default()
        });
        assert_eq!(kind_for(&it), Some(JudgeKind::KeyPoints));
        let vals: BTreeMap<String, f64> = [("k1", 1.), ("k2", 0.), ("k3", 1.), ("k4", 1.)]
            .map(|(k, v)| (k.to_string(), v))
            .into();
        assert_eq!(item_score(&it, JudgeKind::KeyPoints, &vals), Some(0.75));

        let it = item(OpenReference {
            answer: Some("ref".into()),
            ..Default::default()
        });
        assert_eq!(kind_for(&it), Some(JudgeKind::Scale));
        let vals: BTreeMap<String, f64> = [
            ("accuracy", 5.),
            ("completeness", 3.),
            ("safety", 5.),
            ("readability", 1.),
        ]
        .map(|(k, v)| (k.to_string(), v))
        .into();
        assert_eq!(
            item_score(&it, JudgeKind::Scale, &vals),
            Some((1.0 + 0.5 + 1.0) / 4.0)
        );
    }

    #[test]
    fn rubric_version_follows_the_rubric() {
        let a = item(OpenReference {
            rubric: vec![crit(5.0)],
            ..Default::default()
        });
        let b = item(OpenReference {
            rubric: vec![crit(6.0)],
            ..Default::default()
        });
        assert_ne!(
            rubric_version(&a, JudgeKind::Rubric),
            rubric_version(&b, JudgeKind::Rubric)
        );
        assert_eq!(
            rubric_version(&a, JudgeKind::Rubric),
            rubric_version(&a.clone(), JudgeKind::Rubric)
        );
    }
}
