//! MedQA (`options` dict + `answer_idx`) and MedMCQA (`opa`..`opd`, 1-based `cop`).

use super::common::{ChoiceQuestion, choice_item, emit, json_lines, task_name};
use super::{Context, Sink};
use crate::reject::Reject;
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

/// MedQA rows carry no id: the local id is the line number, stable for a given file.
pub fn read_medqa(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    let task = task_name(ctx, "MedQA-USMLE");
    let SourceFile {
        display, reader, ..
    } = src;
    json_lines(reader, &display, sink, |line, row: MedQaRow, sink| {
        let options = row
            .options
            .into_iter()
            .map(|(label, text)| Choice { label, text })
            .collect();
        let item = choice_item(
            ChoiceQuestion {
                task: task.clone(),
                local: line.number.to_string(),
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
        emit(item, line.number, &display, ctx, sink);
    });
}

#[derive(Deserialize)]
struct MedMcqaRow {
    id: String,
    question: String,
    opa: String,
    opb: String,
    opc: String,
    opd: String,
    cop: u8,
    #[serde(default)]
    subject_name: Option<String>,
    #[serde(default)]
    topic_name: Option<String>,
}

pub fn read_medmcqa(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    let task = task_name(ctx, "MedMCQA");
    let SourceFile {
        display, reader, ..
    } = src;
    json_lines(reader, &display, sink, |line, row: MedMcqaRow, sink| {
        if !(1..=4).contains(&row.cop) {
            sink(Err(Reject::at(
                &display,
                line.number,
                Some("cop"),
                format!("{} is not 1–4 (1 = opa … 4 = opd)", row.cop),
            )));
            return;
        }
        let options = [
            ("A", row.opa),
            ("B", row.opb),
            ("C", row.opc),
            ("D", row.opd),
        ]
        .into_iter()
        .map(|(l, t)| Choice {
            label: l.into(),
            text: t,
        })
        .collect();
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
        let item = choice_item(
            ChoiceQuestion {
                task: task.clone(),
                local: row.id,
                language: "en",
                question: row.question,
                options,
                answer: ["A", "B", "C", "D"][row.cop as usize - 1].into(),
                source: "MedMCQA",
                licence: "MIT",
                specialties,
                tags,
            },
            ctx,
        );
        emit(item, line.number, &display, ctx, sink);
    });
}
