//! VQA-RAD (Lau et al. 2018): a JSON array of questions about radiology
//! images, `{qid, image_name, image_organ, answer, answer_type, question_type,
//! question, phrase_type, split?}`, with the images beside the file.
//!
//! Closed questions answered yes or no become `yes_no` items; every other
//! answer (closed with other choices, or open) is a `short_answer` whose
//! accepted answer is the answer string.

use super::common::{finish, load_media, task_name};
use super::records::{At, json_records};
use super::{Context, MediaBlob, Sink};
use crate::reject::Reject;
use crate::source::SourceFile;
use medbench_core::{Dimension, Format, Item, Provenance, Reference, Track, YesNoMaybe};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;

#[derive(Deserialize)]
struct Row {
    qid: Value,
    image_name: String,
    question: String,
    answer: Value,
    answer_type: String,
    #[serde(default)]
    image_organ: Option<String>,
    #[serde(default)]
    question_type: Option<String>,
    #[serde(default)]
    phrase_type: Option<String>,
    #[serde(default)]
    split: Option<String>,
}

/// Every VQA-RAD question asks what the image shows (organ, modality, plane,
/// presence, position, size, …): reading the image, so visual perception. One
/// task has one dimension; the question types stay in the tags for breakdowns.
const DIMENSION: Dimension = Dimension::VisualPerception;

pub fn read(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    let task = task_name(ctx, "VQA-RAD");
    let SourceFile {
        display,
        reader,
        mut media,
        ..
    } = src;
    // Many questions share an image: read each file once.
    let mut images: HashMap<String, Result<MediaBlob, String>> = HashMap::new();
    json_records(reader, &display, sink, |at, row: Row, sink| {
        let rej =
            |field: &str, msg: String| Reject::at(&display, at.line, Some(&at.field(field)), msg);
        let Some(qid) = scalar(&row.qid) else {
            return sink(Err(rej(
                "qid",
                "expected a number or a non-empty string".into(),
            )));
        };
        let Some(answer) = scalar(&row.answer) else {
            return sink(Err(rej(
                "answer",
                "expected a non-empty string or number".into(),
            )));
        };
        let (format, reference) = match row.answer_type.trim().to_ascii_uppercase().as_str() {
            "CLOSED" => match answer.to_ascii_lowercase().as_str() {
                "yes" => yes_no(YesNoMaybe::Yes),
                "no" => yes_no(YesNoMaybe::No),
                _ => short(&answer),
            },
            "OPEN" => short(&answer),
            other => {
                return sink(Err(rej(
                    "answer_type",
                    format!("`{other}` is not OPEN or CLOSED"),
                )));
            }
        };
        let blob = images
            .entry(row.image_name.clone())
            .or_insert_with(|| load_media(&mut media, &row.image_name));
        let blob = match blob {
            Ok(b) => MediaBlob {
                media: b.media.clone(),
                bytes: b.bytes.clone(),
            },
            Err(m) => return sink(Err(rej("image_name", m.clone()))),
        };
        let item = Item {
            id: format!("{task}/{qid}"),
            version: 1,
            task: task.clone(),
            task_version: 1,
            track: Track::Multimodal,
            dimension: DIMENSION,
            language: "en".into(),
            specialties: vec![],
            system: None,
            context: vec![],
            conversation: vec![],
            question: row.question,
            format,
            reference: Some(reference),
            media: vec![blob.media.clone()],
            provenance: Provenance {
                source: "VQA-RAD".into(),
                licence: Some("CC0-1.0".into()),
                ..Default::default()
            },
            difficulty: None,
            review: ctx.review,
            tags: tags(
                &row.answer_type,
                &row.image_organ,
                &row.question_type,
                &row.phrase_type,
                &row.split,
            ),
            variants: vec![],
        };
        send(item, blob, at, &display, ctx, sink);
    });
}

fn yes_no(answer: YesNoMaybe) -> (Format, Reference) {
    (
        Format::YesNo { allow_maybe: false },
        Reference::YesNo { answer },
    )
}

fn short(answer: &str) -> (Format, Reference) {
    (
        Format::ShortAnswer {},
        Reference::Text {
            answers: vec![answer.to_owned()],
        },
    )
}

/// A string or number as text; `None` for anything else or a blank string.
fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn tags(
    answer_type: &str,
    organ: &Option<String>,
    question_type: &Option<String>,
    phrase_type: &Option<String>,
    split: &Option<String>,
) -> Vec<String> {
    let mut tags = vec![format!(
        "answer_type:{}",
        answer_type.trim().to_ascii_lowercase()
    )];
    tags.extend(organ.iter().map(|o| format!("organ:{}", o.trim())));
    // Some questions have two types, written `PRES, POS`.
    for t in question_type.iter().flat_map(|q| q.split(',')) {
        if !t.trim().is_empty() {
            tags.push(format!("question_type:{}", t.trim()));
        }
    }
    tags.extend(
        phrase_type
            .iter()
            .map(|p| format!("phrase_type:{}", p.trim())),
    );
    tags.extend(split.iter().map(|s| format!("split:{}", s.trim())));
    tags
}

fn send(item: Item, blob: MediaBlob, at: &At, display: &str, ctx: &Context, sink: &mut Sink<'_>) {
    match finish(item, at.line, display, ctx) {
        Ok(mut unit) => {
            unit.blobs.push(blob);
            sink(Ok(unit));
        }
        Err(rs) => rs.into_iter().for_each(|r| sink(Err(r))),
    }
}
