//! MedBench v4 download files: `{"question", "answer", "other": {"id", "source"}, "img_path"?}`.
//!
//! `other.source` names the task (through the catalogue's aliases); a blank
//! `answer` makes the item blind. The official files repeat an id once per
//! option permutation, so the k-th repeat (k ≥ 2) of an id gets `.k` appended.

use super::common::{finish, json_lines, load_media, parse_options};
use super::{Context, Sink};
use crate::reject::Reject;
use crate::source::SourceFile;
use medbench_core::{
    Format, FormatKind, Item, LabelledBox, OpenReference, Provenance, Reference, TaskInfo,
    ToolCall, YesNoMaybe,
};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Deserialize)]
struct Row {
    question: String,
    #[serde(default)]
    answer: Value,
    other: Other,
    #[serde(default)]
    img_path: Option<ImgPath>,
}

#[derive(Deserialize)]
struct Other {
    id: Value,
    source: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ImgPath {
    One(String),
    Many(Vec<String>),
}

pub fn read(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    let stem = src.stem().to_owned();
    let SourceFile {
        display,
        reader,
        mut media,
        ..
    } = src;
    let mut seen: HashMap<(String, String), usize> = HashMap::new();
    json_lines(reader, &display, sink, |line, row: Row, sink| {
        let at = |field: &str, msg: String| Reject::at(&display, line.number, Some(field), msg);
        let Some(task) = ctx
            .catalog
            .lookup(&row.other.source)
            .or_else(|| ctx.catalog.lookup(&stem))
        else {
            sink(Err(at(
                "other.source",
                format!(
                    "`{}` is not a task in the catalogue (nor is the file name `{stem}`)",
                    row.other.source
                ),
            )));
            return;
        };
        let local = match &row.other.id {
            Value::String(s) if !s.is_empty() => s.clone(),
            Value::Number(n) => n.to_string(),
            _ => {
                sink(Err(at(
                    "other.id",
                    "expected a number or a non-empty string".into(),
                )));
                return;
            }
        };
        let k = seen.entry((task.name.clone(), local.clone())).or_insert(0);
        *k += 1;
        let local = if *k == 1 {
            local
        } else {
            format!("{local}.{k}")
        };
        let format = match format_for(task, &row.question) {
            Ok(f) => f,
            Err(m) => {
                sink(Err(at("question", m)));
                return;
            }
        };
        let answer = match &row.answer {
            Value::Null => String::new(),
            Value::String(s) => s.trim().to_owned(),
            other => other.to_string(),
        };
        let reference = if answer.is_empty() {
            None
        } else {
            match reference_for(&format, &answer) {
                Ok(r) => Some(r),
                Err(m) => {
                    sink(Err(at("answer", m)));
                    return;
                }
            }
        };
        let paths = match row.img_path {
            None => Vec::new(),
            Some(ImgPath::One(p)) => vec![(String::from("img_path"), p)],
            Some(ImgPath::Many(ps)) => ps
                .into_iter()
                .enumerate()
                .map(|(i, p)| (format!("img_path[{i}]"), p))
                .collect(),
        };
        let mut blobs = Vec::new();
        let mut media_bad = false;
        for (field, p) in paths {
            match load_media(&mut media, &p) {
                Ok(b) => blobs.push(b),
                Err(m) => {
                    sink(Err(at(&field, m)));
                    media_bad = true;
                }
            }
        }
        if media_bad {
            return;
        }
        let item = Item {
            id: format!("{}/{}", task.name, local),
            version: 1,
            task: task.name.clone(),
            task_version: task.version,
            track: task.track,
            dimension: task.dimension,
            language: "zh".into(),
            specialties: vec![],
            system: None,
            context: vec![],
            conversation: vec![],
            question: row.question,
            format,
            reference,
            media: blobs.iter().map(|b| b.media.clone()).collect(),
            provenance: Provenance {
                source: "MedBench v4".into(),
                original_id: Some(format!("{}#{}", row.other.source, row.other.id)),
                ..Default::default()
            },
            difficulty: None,
            review: ctx.review,
            // The question already carries its options and output instructions.
            tags: vec!["prompt:verbatim".into()],
            variants: vec![],
        };
        match finish(item, line.number, &display, ctx) {
            Ok(mut unit) => {
                unit.blobs = blobs;
                sink(Ok(unit));
            }
            Err(rs) => rs.into_iter().for_each(|r| sink(Err(r))),
        }
    });
}

/// The format of a v4 task, with what can be read from the question text.
fn format_for(task: &TaskInfo, question: &str) -> Result<Format, String> {
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

fn split_labels(s: &str) -> Vec<String> {
    s.split(['、', ',', '，', ';', '；', '|', '\n'])
        .map(|x| x.trim().to_owned())
        .filter(|x| !x.is_empty())
        .collect()
}

/// Read a filled `answer` as the reference for the task's format.
fn reference_for(format: &Format, answer: &str) -> Result<Reference, String> {
    let json = || serde_json::from_str::<Value>(answer).map_err(|e| format!("expected JSON: {e}"));
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
            labels: if answer == "无问题" {
                vec![]
            } else {
                split_labels(answer)
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
