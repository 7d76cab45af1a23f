//! What a MedBench v4 row's question and answer say: the format with its options, and a
//! filled `answer` read as the reference.

use crate::formats::common::parse_options;
use medbench_core::{
    Format, FormatKind, LabelledBox, OpenReference, Reference, TaskInfo, ToolCall, YesNoMaybe,
};
use serde_json::Value;

/// The format of a v4 task, with what can be read from the question text.
pub fn format_for(task: &TaskInfo, question: &str) -> Result<Format, String> {
    Ok(match task.format {
        FormatKind::SingleChoice | FormatKind::MultipleChoice => {
            let options = parse_options(question)
                .ok_or("could not find lettered options (A. …, B. …) in the question text")?;
            if task.format == FormatKind::SingleChoice {
                Format::SingleChoice { options }
            } else {
                Format::MultipleChoice { options }
            }
        }
        FormatKind::YesNo => Format::YesNo { allow_maybe: false },
        FormatKind::ShortAnswer => Format::ShortAnswer {},
        FormatKind::LabelSet => Format::LabelSet { labels: vec![] },
        FormatKind::JsonFields => Format::JsonFields { fields: vec![] },
        FormatKind::Tuples => Format::Tuples { slots: vec![] },
        FormatKind::Numeric => Format::Numeric { unit: None },
        FormatKind::OpenEnded => Format::OpenEnded {},
        FormatKind::Detection => Format::Detection {
            labels: vec![],
            grid: 1000,
        },
        FormatKind::Sql => Format::Sql {
            schema: String::new(),
        },
        FormatKind::ToolCalls => Format::ToolCalls { tools: vec![] },
        FormatKind::Intent => Format::Intent {
            labels: intent_labels(question),
        },
        FormatKind::Dialogue => Format::Dialogue {},
        FormatKind::AgentEpisode => Format::AgentEpisode {
            tools: vec![],
            max_turns: None,
        },
    })
}

/// MedIntentID lists its labels after `预定义的意图识别：`, separated by `、`.
fn intent_labels(question: &str) -> Vec<String> {
    question
        .lines()
        .find_map(|l| {
            l.split_once("意图识别：")
                .or_else(|| l.split_once("意图识别:"))
                .map(|(_, r)| r)
        })
        .map(|r| {
            r.split('、')
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default()
}

/// Read a filled `answer` as the reference for the task's format.
pub fn reference_for(format: &Format, answer: &str) -> Result<Reference, String> {
    let json = || {
        serde_json::from_str::<Value>(unfence(answer)).map_err(|e| format!("expected JSON: {e}"))
    };
    Ok(match format.kind() {
        FormatKind::SingleChoice | FormatKind::MultipleChoice => {
            let mut letters: Vec<String> = answer
                .chars()
                .filter(|c| c.is_ascii_uppercase())
                .map(|c| c.to_string())
                .collect();
            letters.sort();
            letters.dedup();
            if letters.is_empty() {
                return Err(format!("`{answer}` names no option letter"));
            }
            Reference::Choice { answer: letters }
        }
        FormatKind::YesNo => Reference::YesNo {
            answer: match answer.to_lowercase().as_str() {
                "是" | "yes" | "有效" => YesNoMaybe::Yes,
                "否" | "no" | "无效" => YesNoMaybe::No,
                "maybe" | "不确定" => YesNoMaybe::Maybe,
                _ => return Err(format!("`{answer}` is not yes/no")),
            },
        },
        FormatKind::ShortAnswer => Reference::Text {
            answers: vec![answer.to_owned()],
        },
        FormatKind::LabelSet => Reference::LabelSet {
            // The same normaliser reads answers when scoring (full-width bars and
            // brackets, spaces), so an answer equal to its reference scores 1.
            labels: if answer == "无问题" {
                vec![]
            } else {
                medbench_core::label::split_labels(answer)
            },
        },
        FormatKind::JsonFields => match json()? {
            Value::Object(m) => Reference::JsonFields {
                fields: m.into_iter().collect(),
            },
            _ => return Err("expected a JSON object".into()),
        },
        FormatKind::Numeric => Reference::Numeric {
            value: answer
                .parse()
                .map_err(|_| format!("`{answer}` is not a number"))?,
            abs_tol: None,
            rel_tol: None,
        },
        FormatKind::Intent => Reference::Intent {
            label: answer.to_owned(),
        },
        FormatKind::Detection => {
            let v = json()?;
            let mut boxes = Vec::new();
            for d in v.as_array().ok_or("expected a JSON array of lesions")? {
                let label = d["类别"]
                    .get(0)
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_owned();
                let b = d["边界框"].as_array().cloned().unwrap_or_default();
                if label == "无病变" || b.is_empty() {
                    continue;
                }
                let n: Vec<f64> = b.iter().filter_map(Value::as_f64).collect();
                let bbox: [f64; 4] = n.try_into().map_err(|_| "a box needs four numbers")?;
                boxes.push(LabelledBox { label, bbox });
            }
            Reference::Detection { boxes, iou: 0.5 }
        }
        FormatKind::ToolCalls => {
            let calls: Vec<ToolCall> = serde_json::from_value(json()?)
                .map_err(|e| format!("expected a list of {{name, arguments}}: {e}"))?;
            Reference::ToolCalls {
                calls,
                ordered: true,
            }
        }
        FormatKind::Sql => Reference::Sql {
            query: answer.to_owned(),
            fixture: String::new(),
        },
        FormatKind::Tuples => Reference::Tuples {
            tuples: serde_json::from_value(json()?)
                .map_err(|e| format!("expected a list of lists: {e}"))?,
        },
        FormatKind::OpenEnded | FormatKind::Dialogue | FormatKind::AgentEpisode => {
            Reference::Open(OpenReference {
                answer: Some(answer.to_owned()),
                ..Default::default()
            })
        }
    })
}

/// The inside of an answer that is one fenced block (```` ```json … ``` ```` or a bare
/// ```` ``` … ``` ````), else the answer itself.
fn unfence(answer: &str) -> &str {
    let t = answer.trim();
    let Some(rest) = t.strip_prefix("```") else {
        return answer;
    };
    let Some(body) = rest.strip_suffix("```") else {
        return answer;
    };
    // The info string runs to the end of the opening line: only `json` (any case) or none.
    let (info, inner) = body.split_once('\n').unwrap_or((body, ""));
    let info = info.trim();
    if !(info.is_empty() || info.eq_ignore_ascii_case("json")) || inner.contains("```") {
        return answer;
    }
    inner.trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fenced_json_references_are_read_like_bare_ones() {
        let fields = Format::JsonFields { fields: vec![] };
        let bare = reference_for(&fields, r#"{"主诉": "头痛3天"}"#).unwrap();
        for fenced in [
            "```json\n{\"主诉\": \"头痛3天\"}\n```",
            "```JSON\r\n{\"主诉\": \"头痛3天\"}\r\n```\n",
            "```\n{\"主诉\": \"头痛3天\"}\n```",
        ] {
            assert_eq!(reference_for(&fields, fenced).unwrap(), bare, "{fenced}");
        }
        let tuples = Format::Tuples { slots: vec![] };
        assert_eq!(
            reference_for(
                &tuples,
                "```json\n[[\"阿司匹林\", \"禁忌\", \"出血\"]]\n```"
            )
            .unwrap(),
            Reference::Tuples {
                tuples: vec![vec!["阿司匹林".into(), "禁忌".into(), "出血".into()]]
            }
        );
        let tools = Format::ToolCalls { tools: vec![] };
        let got = reference_for(
            &tools,
            "```json\n[{\"name\": \"get_lab\", \"arguments\": {\"id\": 1}}]\n```",
        )
        .unwrap();
        let Reference::ToolCalls { calls, .. } = got else {
            panic!("{got:?}")
        };
        assert_eq!(calls[0].name, "get_lab");
        let det = Format::Detection {
            labels: vec![],
            grid: 1000,
        };
        let got = reference_for(
            &det,
            "```json\n[{\"类别\": [\"肿瘤\"], \"边界框\": [1, 2, 3, 4]}]\n```",
        )
        .unwrap();
        assert!(matches!(got, Reference::Detection { ref boxes, .. } if boxes.len() == 1));
        // Another language's fence, or text around the block, is not JSON.
        assert!(reference_for(&fields, "```python\n{\"a\": 1}\n```").is_err());
        assert!(reference_for(&fields, "答案：```json\n{\"a\": 1}\n```").is_err());
    }
}
