//! MedQA: `options` dict + `answer_idx`, one record per line (or a JSON array).

use super::common::{ChoiceQuestion, choice_item, emit, task_name};
use super::ids::choice_content_id;
use super::records::json_records;
use super::{Context, Sink};
use crate::source::SourceFile;
use medbench_core::Choice;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Deserialize)]
struct MedQaRow {
    question: String,
    options: BTreeMap<String, String>,
    answer_idx: String,
    #[serde(default)]
    meta_info: Option<String>,
}

/// MedQA rows carry no id: the local id is a hash of the question and its options
/// (see [`super::ids`]), so files of one data set never reuse each other's ids.
pub fn read_medqa(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    let task = task_name(ctx, "MedQA-USMLE");
    let SourceFile {
        display, reader, ..
    } = src;
    json_records(reader, &display, sink, |at, row: MedQaRow, sink| {
        let options: Vec<Choice> = row
            .options
            .into_iter()
            .map(|(label, text)| Choice { label, text })
            .collect();
        let local = choice_content_id(&row.question, &options);
        let item = choice_item(
            ChoiceQuestion {
                task: task.clone(),
                local,
                language: "en",
                question: row.question,
                options,
                answer: row.answer_idx,
                source: "MedQA-USMLE",
                licence: "MIT",
                specialties: vec![],
                tags: row
                    .meta_info
                    .map(|m| format!("usmle:{m}"))
                    .into_iter()
                    .collect(),
            },
            ctx,
        );
        emit(item, at.line, &display, ctx, sink);
    });
}
