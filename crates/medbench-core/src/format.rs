//! Answer formats (what the model is asked to produce, public) and
//! references (what a correct answer is, server-side only).
//!
//! The two are kept apart on purpose: a [`Format`] may be shown to a model or
//! written into a round export; a [`Reference`] never leaves the server.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// One option of a choice question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Choice {
    /// The label the model answers with: `A`, `B`, ….
    pub label: String,
    pub text: String,
}

/// The public description of how an item is answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Format {
    /// Exactly one option is right.
    SingleChoice { options: Vec<Choice> },
    /// One or more options are right; scored by exact set or set-F1.
    MultipleChoice { options: Vec<Choice> },
    /// Yes / no, optionally with "maybe" (PubMedQA, DrugCA, MedSeqIm).
    YesNo {
        #[serde(default)]
        allow_maybe: bool,
    },
    /// A short free-text answer or a cloze blank, matched against accepted strings.
    // Variants without parameters are written `{}` so that unknown keys are refused
    // (serde ignores `deny_unknown_fields` on unit variants of a tagged enum).
    ShortAnswer {},
    /// A set of free labels (departments to refer to, QC defect types), scored by set-F1.
    LabelSet {
        /// The closed vocabulary, when there is one.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        labels: Vec<String>,
    },
    /// A JSON object whose named fields are extracted from a text.
    JsonFields { fields: Vec<String> },
    /// Tuples (entity, relation, …) extracted from a text; micro-F1 over exact tuples.
    Tuples {
        /// Names of the tuple slots, e.g. `["head", "relation", "tail"]`.
        slots: Vec<String>,
    },
    /// A number, compared with a tolerance.
    Numeric {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<String>,
    },
    /// Free text judged against a reference answer, key points or rubric criteria.
    OpenEnded {},
    /// Lesion boxes `[x1, y1, x2, y2]` on a `grid`×`grid` canvas, matched by IoU.
    Detection {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        labels: Vec<String>,
        #[serde(default = "default_grid")]
        grid: u32,
    },
    /// An SQL query over the given schema, scored by executing it.
    Sql {
        /// The DDL the model sees.
        schema: String,
    },
    /// Function calls with arguments, chosen from the listed tools (JSON schemas).
    ToolCalls { tools: Vec<Value> },
    /// One label from a fixed set of intents.
    Intent { labels: Vec<String> },
    /// The next turn of a multi-turn dialogue (the turns so far are in the item's `conversation`).
    Dialogue {},
    /// A whole agent episode: several turns with tools that execute and state that changes.
    AgentEpisode {
        #[serde(default)]
        tools: Vec<Value>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_turns: Option<u32>,
    },
}

fn default_grid() -> u32 {
    1000
}

/// The kind of a [`Format`], without its parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FormatKind {
    SingleChoice,
    MultipleChoice,
    YesNo,
    ShortAnswer,
    LabelSet,
    JsonFields,
    Tuples,
    Numeric,
    OpenEnded,
    Detection,
    Sql,
    ToolCalls,
    Intent,
    Dialogue,
    AgentEpisode,
}

impl FormatKind {
    pub const ALL: [FormatKind; 15] = [
        FormatKind::SingleChoice,
        FormatKind::MultipleChoice,
        FormatKind::YesNo,
        FormatKind::ShortAnswer,
        FormatKind::LabelSet,
        FormatKind::JsonFields,
        FormatKind::Tuples,
        FormatKind::Numeric,
        FormatKind::OpenEnded,
        FormatKind::Detection,
        FormatKind::Sql,
        FormatKind::ToolCalls,
        FormatKind::Intent,
        FormatKind::Dialogue,
        FormatKind::AgentEpisode,
    ];

    pub fn as_str(self) -> &'static str {
        use FormatKind::*;
        match self {
            SingleChoice => "single_choice",
            MultipleChoice => "multiple_choice",
            YesNo => "yes_no",
            ShortAnswer => "short_answer",
            LabelSet => "label_set",
            JsonFields => "json_fields",
            Tuples => "tuples",
            Numeric => "numeric",
            OpenEnded => "open_ended",
            Detection => "detection",
            Sql => "sql",
            ToolCalls => "tool_calls",
            Intent => "intent",
            Dialogue => "dialogue",
            AgentEpisode => "agent_episode",
        }
    }

    /// True when a rule can score this format without a judge.
    pub fn is_objective(self) -> bool {
        !matches!(
            self,
            FormatKind::OpenEnded | FormatKind::Dialogue | FormatKind::AgentEpisode
        )
    }
}

impl fmt::Display for FormatKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FormatKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        FormatKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s.trim())
            .ok_or_else(|| format!("unknown answer format `{s}`"))
    }
}

impl Format {
    pub fn kind(&self) -> FormatKind {
        match self {
            Format::SingleChoice { .. } => FormatKind::SingleChoice,
            Format::MultipleChoice { .. } => FormatKind::MultipleChoice,
            Format::YesNo { .. } => FormatKind::YesNo,
            Format::ShortAnswer {} => FormatKind::ShortAnswer,
            Format::LabelSet { .. } => FormatKind::LabelSet,
            Format::JsonFields { .. } => FormatKind::JsonFields,
            Format::Tuples { .. } => FormatKind::Tuples,
            Format::Numeric { .. } => FormatKind::Numeric,
            Format::OpenEnded {} => FormatKind::OpenEnded,
            Format::Detection { .. } => FormatKind::Detection,
            Format::Sql { .. } => FormatKind::Sql,
            Format::ToolCalls { .. } => FormatKind::ToolCalls,
            Format::Intent { .. } => FormatKind::Intent,
            Format::Dialogue {} => FormatKind::Dialogue,
            Format::AgentEpisode { .. } => FormatKind::AgentEpisode,
        }
    }

    /// The options of a choice question, if this is one.
    pub fn options(&self) -> Option<&[Choice]> {
        match self {
            Format::SingleChoice { options } | Format::MultipleChoice { options } => Some(options),
            _ => None,
        }
    }
}

/// Yes / no / maybe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum YesNoMaybe {
    Yes,
    No,
    Maybe,
}

/// A rubric criterion with signed points (HealthBench semantics: negative points are penalties).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Criterion {
    pub criterion: String,
    pub points: f64,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

/// A reference detection box.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LabelledBox {
    pub label: String,
    /// `[x1, y1, x2, y2]` on the format's grid.
    #[serde(rename = "box")]
    pub bbox: [f64; 4],
}

/// An expected tool call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    pub name: String,
    #[serde(default)]
    pub arguments: Value,
}

/// The reference for open-ended, dialogue and agent items: any of a reference
/// answer, key points (for key-point recall) and rubric criteria.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenReference {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub key_points: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rubric: Vec<Criterion>,
    /// For agent episodes: the expected final answer values (MedAgentBench `sol`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub solution: Vec<Value>,
}

/// What a correct answer is. Its JSON shape depends on the item's format kind,
/// so it is written without a tag and read with [`Reference::from_json`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Reference {
    /// Single or multiple choice: the right labels.
    Choice {
        answer: Vec<String>,
    },
    YesNo {
        answer: YesNoMaybe,
    },
    /// Accepted answer strings for short answer / cloze.
    Text {
        answers: Vec<String>,
    },
    LabelSet {
        labels: Vec<String>,
    },
    JsonFields {
        fields: BTreeMap<String, Value>,
    },
    Tuples {
        tuples: Vec<Vec<String>>,
    },
    Numeric {
        value: f64,
        #[serde(skip_serializing_if = "Option::is_none")]
        abs_tol: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        rel_tol: Option<f64>,
    },
    Detection {
        boxes: Vec<LabelledBox>,
        iou: f64,
    },
    Sql {
        query: String,
        /// SQL script that creates and fills the fixture database the query runs on.
        fixture: String,
    },
    ToolCalls {
        calls: Vec<ToolCall>,
        ordered: bool,
    },
    Intent {
        label: String,
    },
    Open(OpenReference),
}

/// Error reading a reference: the JSON path inside `reference` and what was expected.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct ReferenceError {
    pub field: String,
    pub message: String,
}

fn rerr(field: &str, message: impl Into<String>) -> ReferenceError {
    ReferenceError {
        field: format!("reference.{field}"),
        message: message.into(),
    }
}

fn get<'a>(
    obj: &'a serde_json::Map<String, Value>,
    key: &str,
) -> Result<&'a Value, ReferenceError> {
    obj.get(key).ok_or_else(|| rerr(key, "missing"))
}

fn string_list(v: &Value, field: &str) -> Result<Vec<String>, ReferenceError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .enumerate()
            .map(|(i, x)| {
                x.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| rerr(&format!("{field}[{i}]"), "expected a string"))
            })
            .collect(),
        _ => Err(rerr(field, "expected a string or a list of strings")),
    }
}

fn parse_field<T: serde::de::DeserializeOwned>(
    v: &Value,
    field: &str,
) -> Result<T, ReferenceError> {
    serde_json::from_value(v.clone()).map_err(|e| rerr(field, e.to_string()))
}

fn check_keys(
    obj: &serde_json::Map<String, Value>,
    allowed: &[&str],
) -> Result<(), ReferenceError> {
    for k in obj.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(rerr(
                k,
                format!("unknown field (expected one of: {})", allowed.join(", ")),
            ));
        }
    }
    Ok(())
}

impl Reference {
    /// Read a reference whose shape is given by `kind`.
    pub fn from_json(kind: FormatKind, value: &Value) -> Result<Reference, ReferenceError> {
        let obj = value.as_object().ok_or_else(|| ReferenceError {
            field: "reference".into(),
            message: "expected a JSON object".into(),
        })?;
        use FormatKind as K;
        Ok(match kind {
            K::SingleChoice | K::MultipleChoice => {
                check_keys(obj, &["answer"])?;
                let answer = string_list(get(obj, "answer")?, "answer")?;
                Reference::Choice { answer }
            }
            K::YesNo => {
                check_keys(obj, &["answer"])?;
                Reference::YesNo {
                    answer: parse_field(get(obj, "answer")?, "answer")?,
                }
            }
            K::ShortAnswer => {
                check_keys(obj, &["answers"])?;
                Reference::Text {
                    answers: string_list(get(obj, "answers")?, "answers")?,
                }
            }
            K::LabelSet => {
                check_keys(obj, &["labels"])?;
                Reference::LabelSet {
                    labels: string_list(get(obj, "labels")?, "labels")?,
                }
            }
            K::JsonFields => {
                check_keys(obj, &["fields"])?;
                Reference::JsonFields {
                    fields: parse_field(get(obj, "fields")?, "fields")?,
                }
            }
            K::Tuples => {
                check_keys(obj, &["tuples"])?;
                Reference::Tuples {
                    tuples: parse_field(get(obj, "tuples")?, "tuples")?,
                }
            }
            K::Numeric => {
                check_keys(obj, &["value", "abs_tol", "rel_tol"])?;
                let value = get(obj, "value")?
                    .as_f64()
                    .ok_or_else(|| rerr("value", "expected a number"))?;
                let tol = |k: &str| -> Result<Option<f64>, ReferenceError> {
                    match obj.get(k) {
                        None | Some(Value::Null) => Ok(None),
                        Some(v) => v
                            .as_f64()
                            .map(Some)
                            .ok_or_else(|| rerr(k, "expected a number")),
                    }
                };
                Reference::Numeric {
                    value,
                    abs_tol: tol("abs_tol")?,
                    rel_tol: tol("rel_tol")?,
                }
            }
            K::Detection => {
                check_keys(obj, &["boxes", "iou"])?;
                let iou = match obj.get("iou") {
                    None => 0.5,
                    Some(v) => v.as_f64().ok_or_else(|| rerr("iou", "expected a number"))?,
                };
                Reference::Detection {
                    boxes: parse_field(get(obj, "boxes")?, "boxes")?,
                    iou,
                }
            }
            K::Sql => {
                check_keys(obj, &["query", "fixture"])?;
                Reference::Sql {
                    query: parse_field(get(obj, "query")?, "query")?,
                    fixture: parse_field(get(obj, "fixture")?, "fixture")?,
                }
            }
            K::ToolCalls => {
                check_keys(obj, &["calls", "ordered"])?;
                Reference::ToolCalls {
                    calls: parse_field(get(obj, "calls")?, "calls")?,
                    ordered: match obj.get("ordered") {
                        None => true,
                        Some(v) => v
                            .as_bool()
                            .ok_or_else(|| rerr("ordered", "expected true or false"))?,
                    },
                }
            }
            K::Intent => {
                check_keys(obj, &["label"])?;
                Reference::Intent {
                    label: parse_field(get(obj, "label")?, "label")?,
                }
            }
            K::OpenEnded | K::Dialogue | K::AgentEpisode => {
                let open: OpenReference =
                    serde_json::from_value(value.clone()).map_err(|e| ReferenceError {
                        field: "reference".into(),
                        message: e.to_string(),
                    })?;
                Reference::Open(open)
            }
        })
    }

    /// True when this reference fits an item of the given format kind.
    pub fn fits(&self, kind: FormatKind) -> bool {
        use FormatKind as K;
        matches!(
            (self, kind),
            (
                Reference::Choice { .. },
                K::SingleChoice | K::MultipleChoice
            ) | (Reference::YesNo { .. }, K::YesNo)
                | (Reference::Text { .. }, K::ShortAnswer)
                | (Reference::LabelSet { .. }, K::LabelSet)
                | (Reference::JsonFields { .. }, K::JsonFields)
                | (Reference::Tuples { .. }, K::Tuples)
                | (Reference::Numeric { .. }, K::Numeric)
                | (Reference::Detection { .. }, K::Detection)
                | (Reference::Sql { .. }, K::Sql)
                | (Reference::ToolCalls { .. }, K::ToolCalls)
                | (Reference::Intent { .. }, K::Intent)
                | (
                    Reference::Open(_),
                    K::OpenEnded | K::Dialogue | K::AgentEpisode
                )
        )
    }

    /// Every piece of reference text, for leak tests and contamination scans.
    pub fn secret_strings(&self) -> Vec<String> {
        let mut out = Vec::new();
        match self {
            Reference::Choice { .. } | Reference::YesNo { .. } => {}
            Reference::Text { answers } => out.extend(answers.iter().cloned()),
            Reference::LabelSet { labels } => out.extend(labels.iter().cloned()),
            Reference::JsonFields { fields } => out.extend(
                fields
                    .values()
                    .filter_map(|v| v.as_str().map(str::to_owned)),
            ),
            Reference::Tuples { tuples } => out.extend(tuples.iter().map(|t| t.join("\u{1f}"))),
            Reference::Numeric { .. } | Reference::Detection { .. } => {}
            Reference::Sql { query, .. } => out.push(query.clone()),
            Reference::ToolCalls { calls, .. } => {
                out.extend(calls.iter().map(|c| c.arguments.to_string()))
            }
            Reference::Intent { .. } => {}
            Reference::Open(o) => {
                out.extend(o.answer.iter().cloned());
                out.extend(o.key_points.iter().cloned());
                out.extend(o.rubric.iter().map(|c| c.criterion.clone()));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reference_round_trips_for_every_kind() {
        let cases = [
            (FormatKind::SingleChoice, json!({"answer": ["B"]})),
            (FormatKind::MultipleChoice, json!({"answer": ["A", "C"]})),
            (FormatKind::YesNo, json!({"answer": "maybe"})),
            (
                FormatKind::ShortAnswer,
                json!({"answers": ["阿司匹林", "aspirin"]}),
            ),
            (FormatKind::LabelSet, json!({"labels": ["心内科"]})),
            (
                FormatKind::JsonFields,
                json!({"fields": {"主诉": "头痛3天"}}),
            ),
            (FormatKind::Tuples, json!({"tuples": [["a", "r", "b"]]})),
            (FormatKind::Numeric, json!({"value": 12.5, "abs_tol": 0.01})),
            (
                FormatKind::Detection,
                json!({"boxes": [{"label": "结节", "box": [1.0, 2.0, 3.0, 4.0]}], "iou": 0.5}),
            ),
            (
                FormatKind::Sql,
                json!({"query": "SELECT 1", "fixture": "CREATE TABLE t(x);"}),
            ),
            (
                FormatKind::ToolCalls,
                json!({"calls": [{"name": "f", "arguments": {"a": 1}}], "ordered": true}),
            ),
            (FormatKind::Intent, json!({"label": "挂号"})),
            (
                FormatKind::OpenEnded,
                json!({"answer": "x", "key_points": ["k"], "rubric": [{"criterion": "c", "points": -3.0}]}),
            ),
        ];
        for (kind, value) in cases {
            let r = Reference::from_json(kind, &value).unwrap_or_else(|e| panic!("{kind}: {e}"));
            assert!(r.fits(kind));
            let back = serde_json::to_value(&r).unwrap();
            assert_eq!(Reference::from_json(kind, &back).unwrap(), r, "{kind}");
        }
    }

    #[test]
    fn reference_errors_name_the_field() {
        let e = Reference::from_json(FormatKind::Numeric, &json!({"value": "ten"})).unwrap_err();
        assert_eq!(e.field, "reference.value");
        let e =
            Reference::from_json(FormatKind::SingleChoice, &json!({"anwser": "A"})).unwrap_err();
        assert_eq!(e.field, "reference.anwser");
        assert!(e.message.contains("unknown field"));
    }

    #[test]
    fn single_answer_string_is_accepted_as_list() {
        let r = Reference::from_json(FormatKind::SingleChoice, &json!({"answer": "E"})).unwrap();
        assert_eq!(
            r,
            Reference::Choice {
                answer: vec!["E".into()]
            }
        );
    }
}

#[cfg(test)]
mod unit_variant_tests {
    use super::*;

    #[test]
    fn parameterless_formats_refuse_unknown_keys_and_serialise_as_before() {
        let e = serde_json::from_str::<Format>(r#"{"type":"open_ended","rubric":[]}"#).unwrap_err();
        assert!(e.to_string().contains("unknown field `rubric`"), "{e}");
        let f: Format = serde_json::from_str(r#"{"type":"short_answer"}"#).unwrap();
        assert_eq!(
            serde_json::to_string(&f).unwrap(),
            r#"{"type":"short_answer"}"#
        );
    }
}
