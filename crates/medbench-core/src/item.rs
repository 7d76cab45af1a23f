//! The item: one benchmark question with everything needed to ask and score it.

use crate::format::{Format, FormatKind, Reference};
use crate::track::{Dimension, Track};
use crate::variant::Variant;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::fmt;
use std::str::FromStr;

/// Review status in the curation workflow. Only `Approved` items enter test pools.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
#[serde(rename_all = "snake_case")]
pub enum ReviewStatus {
    #[default]
    Draft,
    InReview,
    Approved,
    Rejected,
    Retired,
}

impl ReviewStatus {
    pub const ALL: [ReviewStatus; 5] = [
        ReviewStatus::Draft,
        ReviewStatus::InReview,
        ReviewStatus::Approved,
        ReviewStatus::Rejected,
        ReviewStatus::Retired,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ReviewStatus::Draft => "draft",
            ReviewStatus::InReview => "in_review",
            ReviewStatus::Approved => "approved",
            ReviewStatus::Rejected => "rejected",
            ReviewStatus::Retired => "retired",
        }
    }
}

impl fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ReviewStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ReviewStatus::ALL
            .into_iter()
            .find(|r| r.as_str() == s.trim())
            .ok_or_else(|| format!("unknown review status `{s}` (expected draft, in_review, approved, rejected or retired)"))
    }
}

/// A turn of a conversation that precedes the question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Message {
    /// `system`, `user`, `assistant` or `tool`.
    pub role: String,
    pub content: String,
}

/// An image or PDF attached to an item. The bytes live in the bank's media
/// store, addressed by `sha256`; `name` is the file's original relative path.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Media {
    pub name: String,
    /// `image/png`, `image/jpeg` or `application/pdf`.
    pub media_type: String,
    pub sha256: String,
}

/// Where an item came from and under what terms.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// Data set or author, e.g. `MedQA-USMLE` or `medbench-demo`.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub licence: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// The id the item had in its source, when it differs from ours.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_id: Option<String>,
    /// Clinical guidelines the reference answer rests on.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub guidelines: Vec<String>,
}

/// A benchmark item. Its id is `task/local-id` and stays stable across versions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RawItem")]
pub struct Item {
    pub id: String,
    /// Bank version of this item's content, assigned by the store (1 on first import).
    #[serde(default = "one")]
    pub version: u32,
    pub task: String,
    #[serde(default = "one")]
    pub task_version: u32,
    pub track: Track,
    pub dimension: Dimension,
    /// BCP-47 language tag, lower case: `zh`, `en`.
    pub language: String,
    /// Specialty codes from the taxonomy (primary `03` or secondary `03.01`); one or two.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub specialties: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<String>,
    /// Passages the question refers to (abstracts, guidelines, records).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<String>,
    /// Turns that precede the question (dialogue items, HealthBench conversations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conversation: Vec<Message>,
    /// The question or final instruction, exactly as shown to the model.
    pub question: String,
    pub format: Format,
    /// What a correct answer is. `None` means the item is blind (answers hidden at the source).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference: Option<Reference>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<Media>,
    pub provenance: Provenance,
    /// 1 (easiest) to 5 (hardest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub difficulty: Option<u8>,
    #[serde(default)]
    pub review: ReviewStatus,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// Official option orders (see [`crate::variant`]); empty for an item asked once.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub variants: Vec<Variant>,
}

fn one() -> u32 {
    1
}

/// Lower-case hex SHA-256 of some bytes (content hashes, media addresses).
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The wire form, with the reference still untyped until the format is known.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    id: String,
    #[serde(default = "one")]
    version: u32,
    #[serde(default)]
    task: Option<String>,
    #[serde(default = "one")]
    task_version: u32,
    track: Track,
    dimension: Dimension,
    language: String,
    #[serde(default)]
    specialties: Vec<String>,
    #[serde(default)]
    system: Option<String>,
    #[serde(default)]
    context: Vec<String>,
    #[serde(default)]
    conversation: Vec<Message>,
    question: String,
    format: Format,
    #[serde(default)]
    reference: Option<Value>,
    #[serde(default)]
    media: Vec<Media>,
    provenance: Provenance,
    #[serde(default)]
    difficulty: Option<u8>,
    #[serde(default)]
    review: ReviewStatus,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    variants: Vec<Variant>,
}

impl TryFrom<RawItem> for Item {
    type Error = String;
    fn try_from(r: RawItem) -> Result<Self, Self::Error> {
        let task = match r.task {
            Some(t) => t,
            None => {
                r.id.split_once('/')
                    .map(|(t, _)| t.to_owned())
                    .ok_or_else(|| format!("id `{}` must be `task/local-id`", r.id))?
            }
        };
        let reference = match r.reference {
            None | Some(Value::Null) => None,
            Some(v) => Some(Reference::from_json(r.format.kind(), &v).map_err(|e| e.to_string())?),
        };
        Ok(Item {
            id: r.id,
            version: r.version,
            task,
            task_version: r.task_version,
            track: r.track,
            dimension: r.dimension,
            language: r.language,
            specialties: r.specialties,
            system: r.system,
            context: r.context,
            conversation: r.conversation,
            question: r.question,
            format: r.format,
            reference,
            media: r.media,
            provenance: r.provenance,
            difficulty: r.difficulty,
            review: r.review,
            tags: r.tags,
            variants: r.variants,
        })
    }
}

/// The serialised content of an item: [`Item`] without `version` and `review`.
#[derive(Serialize)]
struct Content<'a> {
    id: &'a str,
    task: &'a str,
    task_version: u32,
    track: Track,
    dimension: Dimension,
    language: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    specialties: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    system: &'a Option<String>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    context: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    conversation: &'a [Message],
    question: &'a str,
    format: &'a Format,
    #[serde(skip_serializing_if = "Option::is_none")]
    reference: &'a Option<Reference>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    media: &'a [Media],
    provenance: &'a Provenance,
    #[serde(skip_serializing_if = "Option::is_none")]
    difficulty: Option<u8>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tags: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    variants: &'a [Variant],
}

impl<'a> From<&'a Item> for Content<'a> {
    fn from(i: &'a Item) -> Self {
        Content {
            id: &i.id,
            task: &i.task,
            task_version: i.task_version,
            track: i.track,
            dimension: i.dimension,
            language: &i.language,
            specialties: &i.specialties,
            system: &i.system,
            context: &i.context,
            conversation: &i.conversation,
            question: &i.question,
            format: &i.format,
            reference: &i.reference,
            media: &i.media,
            provenance: &i.provenance,
            difficulty: i.difficulty,
            tags: &i.tags,
            variants: &i.variants,
        }
    }
}

/// A problem with one field of an item.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

fn ferr(field: impl Into<String>, message: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        message: message.into(),
    }
}

impl Item {
    /// The local part of the id (after `task/`).
    pub fn local_id(&self) -> &str {
        self.id.split_once('/').map(|(_, l)| l).unwrap_or(&self.id)
    }

    /// True when the source hid the answer: the item can be asked but not scored.
    pub fn is_blind(&self) -> bool {
        self.reference.is_none()
    }

    pub fn format_kind(&self) -> FormatKind {
        self.format.kind()
    }

    /// The item's content as canonical JSON: every field but `version` and
    /// `review` (workflow state, not content), in a fixed order. This text is
    /// what the bank stores and hashes, so the field order here must never change.
    pub fn content_json(&self) -> String {
        serde_json::to_string(&Content::from(self)).expect("items serialise")
    }

    /// SHA-256 of [`Item::content_json`]. Equal hashes mean equal content.
    pub fn content_hash(&self) -> String {
        sha256_hex(self.content_json().as_bytes())
    }

    /// Check everything that can be checked without I/O. Returns every problem found.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errs = Vec::new();
        match self.id.split_once('/') {
            Some((task, local)) => {
                if task != self.task {
                    errs.push(ferr(
                        "id",
                        format!("task part `{task}` differs from task `{}`", self.task),
                    ));
                }
                if local.is_empty() {
                    errs.push(ferr("id", "local part after `/` is empty"));
                }
            }
            None => errs.push(ferr("id", format!("`{}` must be `task/local-id`", self.id))),
        }
        if self.task.trim().is_empty() || self.task.contains(char::is_whitespace) {
            errs.push(ferr("task", "must be a non-empty name without spaces"));
        }
        if self.dimension.track() != self.track {
            errs.push(ferr(
                "dimension",
                format!(
                    "`{}` belongs to the {} track, not {}",
                    self.dimension,
                    self.dimension.track(),
                    self.track
                ),
            ));
        }
        let lang_ok = !self.language.is_empty()
            && self
                .language
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
        if !lang_ok {
            errs.push(ferr(
                "language",
                format!(
                    "`{}` is not a lower-case language tag like zh or en",
                    self.language
                ),
            ));
        }
        if self.specialties.len() > 2 {
            errs.push(ferr(
                "specialties",
                "at most two specialties (primary and secondary)",
            ));
        }
        if self.question.trim().is_empty() && self.conversation.is_empty() {
            errs.push(ferr("question", "empty"));
        }
        if let Some(d) = self.difficulty
            && !(1..=5).contains(&d)
        {
            errs.push(ferr("difficulty", format!("{d} is outside 1..=5")));
        }
        for (i, m) in self.media.iter().enumerate() {
            if !matches!(
                m.media_type.as_str(),
                "image/png" | "image/jpeg" | "application/pdf"
            ) {
                errs.push(ferr(
                    format!("media[{i}].media_type"),
                    format!(
                        "`{}`: expected image/png, image/jpeg or application/pdf",
                        m.media_type
                    ),
                ));
            }
            if m.sha256.len() != 64 || !m.sha256.chars().all(|c| c.is_ascii_hexdigit()) {
                errs.push(ferr(format!("media[{i}].sha256"), "expected 64 hex digits"));
            }
        }
        if self.provenance.source.trim().is_empty() {
            errs.push(ferr("provenance.source", "empty"));
        }
        self.validate_format(&mut errs);
        self.validate_variants(&mut errs);
        if errs.is_empty() { Ok(()) } else { Err(errs) }
    }

    fn validate_format(&self, errs: &mut Vec<FieldError>) {
        let kind = self.format.kind();
        if let Some(options) = self.format.options() {
            if options.len() < 2 {
                errs.push(ferr(
                    "format.options",
                    "a choice question needs at least two options",
                ));
            }
            let mut seen = std::collections::HashSet::new();
            for (i, o) in options.iter().enumerate() {
                if o.label.trim().is_empty() {
                    errs.push(ferr(format!("format.options[{i}].label"), "empty"));
                }
                if !seen.insert(o.label.as_str()) {
                    errs.push(ferr(
                        format!("format.options[{i}].label"),
                        format!("duplicate label `{}`", o.label),
                    ));
                }
            }
        }
        let Some(reference) = &self.reference else {
            return;
        };
        if !reference.fits(kind) {
            errs.push(ferr("reference", format!("does not fit format {kind}")));
            return;
        }
        match (&self.format, reference) {
            (
                Format::SingleChoice { options } | Format::MultipleChoice { options },
                Reference::Choice { answer },
            ) => {
                if answer.is_empty() {
                    errs.push(ferr("reference.answer", "no option given"));
                }
                if kind == FormatKind::SingleChoice && answer.len() > 1 {
                    errs.push(ferr(
                        "reference.answer",
                        "a single-choice item has exactly one answer",
                    ));
                }
                for a in answer {
                    if !options.iter().any(|o| &o.label == a) {
                        let labels: Vec<_> = options.iter().map(|o| o.label.as_str()).collect();
                        errs.push(ferr(
                            "reference.answer",
                            format!("`{a}` is not an option label ({})", labels.join(", ")),
                        ));
                    }
                }
            }
            (
                Format::YesNo { allow_maybe: false },
                Reference::YesNo {
                    answer: crate::format::YesNoMaybe::Maybe,
                },
            ) => {
                errs.push(ferr(
                    "reference.answer",
                    "`maybe` given but format.allow_maybe is false",
                ));
            }
            (Format::ShortAnswer {}, Reference::Text { answers }) if answers.is_empty() => {
                errs.push(ferr("reference.answers", "at least one accepted answer"));
            }
            (Format::LabelSet { labels }, Reference::LabelSet { labels: want })
                if !labels.is_empty() =>
            {
                for l in want {
                    if !labels.contains(l) {
                        errs.push(ferr(
                            "reference.labels",
                            format!("`{l}` is not in format.labels"),
                        ));
                    }
                }
            }
            (Format::JsonFields { fields }, Reference::JsonFields { fields: want })
                if !fields.is_empty() =>
            {
                for k in want.keys() {
                    if !fields.contains(k) {
                        errs.push(ferr(
                            "reference.fields",
                            format!("`{k}` is not in format.fields"),
                        ));
                    }
                }
            }
            (Format::Tuples { slots }, Reference::Tuples { tuples }) if !slots.is_empty() => {
                for (i, t) in tuples.iter().enumerate() {
                    if t.len() != slots.len() {
                        errs.push(ferr(
                            format!("reference.tuples[{i}]"),
                            format!("has {} slots, format.slots has {}", t.len(), slots.len()),
                        ));
                    }
                }
            }
            (
                Format::Numeric { .. },
                Reference::Numeric {
                    value,
                    abs_tol,
                    rel_tol,
                },
            ) => {
                if !value.is_finite() {
                    errs.push(ferr("reference.value", "must be finite"));
                }
                for (name, t) in [("abs_tol", abs_tol), ("rel_tol", rel_tol)] {
                    if let Some(t) = t
                        && (*t < 0.0 || !t.is_finite())
                    {
                        errs.push(ferr(
                            format!("reference.{name}"),
                            "must be a finite number ≥ 0",
                        ));
                    }
                }
            }
            (Format::Detection { grid, .. }, Reference::Detection { boxes, iou }) => {
                if !(0.0..=1.0).contains(iou) || *iou == 0.0 {
                    errs.push(ferr("reference.iou", "must be in (0, 1]"));
                }
                for (i, b) in boxes.iter().enumerate() {
                    let [x1, y1, x2, y2] = b.bbox;
                    let g = *grid as f64;
                    if !(x1 < x2 && y1 < y2 && x1 >= 0.0 && y1 >= 0.0 && x2 <= g && y2 <= g) {
                        errs.push(ferr(
                            format!("reference.boxes[{i}].box"),
                            format!("expected 0 ≤ x1 < x2 ≤ {grid} and 0 ≤ y1 < y2 ≤ {grid}"),
                        ));
                    }
                }
            }
            (Format::Intent { labels }, Reference::Intent { label })
                if !labels.is_empty() && !labels.contains(label) =>
            {
                errs.push(ferr(
                    "reference.label",
                    format!("`{label}` is not in format.labels"),
                ));
            }
            (Format::ToolCalls { .. }, Reference::ToolCalls { calls, .. }) if calls.is_empty() => {
                errs.push(ferr("reference.calls", "at least one expected call"));
            }
            (_, Reference::Open(o)) => {
                if o.answer.is_none()
                    && o.key_points.is_empty()
                    && o.rubric.is_empty()
                    && o.solution.is_empty()
                {
                    errs.push(ferr(
                        "reference",
                        "give at least one of answer, key_points, rubric, solution",
                    ));
                }
                if !o.rubric.is_empty() && !o.rubric.iter().any(|c| c.points > 0.0) {
                    errs.push(ferr(
                        "reference.rubric",
                        "needs at least one criterion with positive points",
                    ));
                }
            }
            _ => {}
        }
    }

    /// Every text that must never reach a model or a submitter.
    pub fn secret_strings(&self) -> Vec<String> {
        self.reference
            .as_ref()
            .map(Reference::secret_strings)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Item {
        serde_json::from_str(
            r#"{"id":"Demo/1","track":"llm","dimension":"knowledge_qa","language":"en",
               "question":"Which vitamin deficiency causes scurvy?",
               "format":{"type":"single_choice","options":[{"label":"A","text":"A"},{"label":"B","text":"C"}]},
               "reference":{"answer":"B"},"provenance":{"source":"test"}}"#,
        )
        .unwrap()
    }

    #[test]
    fn task_is_taken_from_the_id() {
        let it = sample();
        assert_eq!(it.task, "Demo");
        assert_eq!(it.local_id(), "1");
        assert!(it.validate().is_ok());
    }

    #[test]
    fn hash_ignores_version_and_review_but_not_content() {
        let a = sample();
        let mut b = a.clone();
        b.version = 7;
        b.review = ReviewStatus::Approved;
        assert_eq!(a.content_hash(), b.content_hash());
        b.question.push('?');
        assert_ne!(a.content_hash(), b.content_hash());
    }

    #[test]
    fn answer_outside_options_is_reported() {
        let mut it = sample();
        it.reference = Some(Reference::Choice {
            answer: vec!["E".into()],
        });
        let errs = it.validate().unwrap_err();
        assert_eq!(errs[0].field, "reference.answer");
        assert!(errs[0].message.contains("`E` is not an option label"));
    }

    #[test]
    fn dimension_must_belong_to_track() {
        let mut it = sample();
        it.dimension = Dimension::ToolUse;
        let errs = it.validate().unwrap_err();
        assert!(errs.iter().any(|e| e.field == "dimension"));
    }

    #[test]
    fn serialised_item_reads_back_identically() {
        let it = sample();
        let text = serde_json::to_string(&it).unwrap();
        let back: Item = serde_json::from_str(&text).unwrap();
        assert_eq!(back, it);
    }
}
