//! MedMCQA and files in its shape: options `opa`..`opd` (and `ope` when there
//! are five), the answer as a 1-based `cop` or as `answer` naming the option
//! key (`"opc"`) or letter (`"C"`). One record per line, or a JSON array.

use super::common::{ChoiceQuestion, choice_item, emit, task_name};
use super::ids::choice_content_id;
use super::records::json_records;
use super::{Context, Sink, guess_language};
use crate::reject::Reject;
use crate::source::SourceFile;
use medbench_core::Choice;
use serde::Deserialize;
use serde_json::Value;

#[derive(Deserialize)]
struct Row {
    #[serde(default)]
    id: Option<Value>,
    question: String,
    opa: String,
    opb: String,
    opc: String,
    opd: String,
    #[serde(default)]
    ope: Option<String>,
    #[serde(default)]
    cop: Option<Value>,
    #[serde(default)]
    answer: Option<Value>,
    #[serde(default)]
    subject_name: Option<String>,
    #[serde(default)]
    topic_name: Option<String>,
}

const KEYS: [&str; 5] = ["opa", "opb", "opc", "opd", "ope"];
const LETTERS: [&str; 5] = ["A", "B", "C", "D", "E"];

/// The task a file gets when it is not MedMCQA proper: its name without a split suffix.
fn stem_task(stem: &str) -> String {
    let mut s = stem;
    for suffix in [
        "_test", "_dev", "_val", "_train", "-test", "-dev", "-val", "-train",
    ] {
        s = s.strip_suffix(suffix).unwrap_or(s);
    }
    s.to_owned()
}

pub fn read(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    let stem = stem_task(src.stem());
    let SourceFile {
        display, reader, ..
    } = src;
    // MedMCQA proper has four options and `cop`; anything else is another data set in its
    // shape. The first record decides for the whole file, so a file is never split over two tasks.
    let mut medmcqa: Option<bool> = None;
    json_records(reader, &display, sink, |at, row: Row, sink| {
        let medmcqa = *medmcqa.get_or_insert(row.ope.is_none() && row.answer.is_none());
        let rej =
            |field: &str, msg: String| Reject::at(&display, at.line, Some(&at.field(field)), msg);
        // A blank `ope` in a five-option file marks a row with four options.
        let mut texts = vec![row.opa, row.opb, row.opc, row.opd];
        texts.extend(row.ope.filter(|t| !t.trim().is_empty()));
        let n = texts.len();
        let answer = match answer_index(&row.cop, &row.answer, n) {
            Ok(i) => i,
            Err((field, msg)) => return sink(Err(rej(field, msg))),
        };
        let options: Vec<Choice> = LETTERS
            .iter()
            .zip(texts)
            .map(|(l, t)| Choice {
                label: (*l).into(),
                text: t,
            })
            .collect();
        let local = match &row.id {
            None | Some(Value::Null) => choice_content_id(&row.question, &options),
            Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_owned(),
            Some(Value::Number(n)) => n.to_string(),
            Some(other) => {
                return sink(Err(rej(
                    "id",
                    format!("expected a non-empty string or a number, found {other}"),
                )));
            }
        };
        let task = task_name(ctx, if medmcqa { "MedMCQA" } else { &stem });
        let specialties = row
            .subject_name
            .as_deref()
            .and_then(|s| ctx.taxonomy.resolve(s))
            .map(|s| s.code.clone())
            .into_iter()
            .collect();
        let mut tags = Vec::new();
        tags.extend(row.subject_name.map(|s| format!("subject:{s}")));
        tags.extend(row.topic_name.map(|s| format!("topic:{s}")));
        let language = guess_language(&row.question);
        let mut item = choice_item(
            ChoiceQuestion {
                task: task.clone(),
                local,
                language,
                question: row.question,
                options,
                answer: LETTERS[answer].into(),
                source: "MedMCQA",
                licence: "MIT",
                specialties,
                tags,
            },
            ctx,
        );
        if !medmcqa {
            // Not MedMCQA: say where it came from, and claim no licence we cannot know.
            item.provenance.source = task;
            item.provenance.licence = None;
        }
        emit(item, at.line, &display, ctx, sink);
    });
}

/// The 0-based index of the right option, from `cop` (1-based) and/or `answer` (key or letter).
fn answer_index(
    cop: &Option<Value>,
    answer: &Option<Value>,
    n: usize,
) -> Result<usize, (&'static str, String)> {
    let range = format!("1–{n} (1 = opa … {n} = {})", KEYS[n - 1]);
    let from_cop = match cop {
        None | Some(Value::Null) => None,
        Some(v) => {
            let k = match v {
                Value::Number(x) => x.as_u64(),
                Value::String(s) => s.trim().parse::<u64>().ok(),
                _ => None,
            };
            match k {
                Some(k) if (1..=n as u64).contains(&k) => Some(k as usize - 1),
                Some(0) => {
                    return Err((
                        "cop",
                        format!(
                            "0 is not {range}; `cop` is 1-based (a 0-based export needs converting)"
                        ),
                    ));
                }
                _ => return Err(("cop", format!("{v} is not {range}"))),
            }
        }
    };
    let from_answer = match answer {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => {
            let t = s.trim().to_ascii_lowercase();
            let i = KEYS[..n]
                .iter()
                .position(|k| *k == t)
                .or_else(|| LETTERS[..n].iter().position(|l| l.eq_ignore_ascii_case(&t)));
            match i {
                Some(i) => Some(i),
                None => {
                    return Err((
                        "answer",
                        format!(
                            "`{s}` is not an option key ({}) or letter ({})",
                            KEYS[..n].join(", "),
                            LETTERS[..n].join(", ")
                        ),
                    ));
                }
            }
        }
        Some(other) => {
            return Err((
                "answer",
                format!("expected an option key such as \"opc\" or a letter, found {other}"),
            ));
        }
    };
    match (from_cop, from_answer) {
        (Some(c), Some(a)) if c != a => Err((
            "answer",
            format!("`answer` names {} but `cop` names {}", KEYS[a], KEYS[c]),
        )),
        (Some(i), _) | (None, Some(i)) => Ok(i),
        (None, None) => Err((
            "cop",
            "missing: give the answer as `cop` (1-based) or `answer` (\"opc\" or \"C\")".into(),
        )),
    }
}
