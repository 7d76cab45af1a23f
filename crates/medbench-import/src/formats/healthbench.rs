//! HealthBench JSONL: a conversation and rubric criteria with signed points.

use super::common::{emit, json_lines, task_name};
use super::{Context, Sink, guess_language};
use crate::reject::Reject;
use crate::source::SourceFile;
use medbench_core::{
    Criterion, Dimension, Format, Item, Message, OpenReference, Provenance, Reference, Track,
};
use serde::Deserialize;

#[derive(Deserialize)]
struct Row {
    prompt: Vec<Message>,
    rubrics: Vec<Criterion>,
    #[serde(default)]
    example_tags: Vec<String>,
    prompt_id: String,
    #[serde(default)]
    ideal_completions_data: Option<Ideal>,
    #[serde(default)]
    canary: Option<String>,
}

#[derive(Deserialize)]
struct Ideal {
    #[serde(default)]
    ideal_completion: Option<String>,
}

/// HealthBench is one task, so one dimension: its conversations ask for clinical
/// judgement in every theme. The themes stay in the item's tags for breakdowns.
/// (A task under two dimensions would make the hierarchy ambiguous.)
const DIMENSION: Dimension = Dimension::ClinicalReasoning;

pub fn read(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    let task = task_name(ctx, "HealthBench");
    let SourceFile {
        display, reader, ..
    } = src;
    json_lines(reader, &display, sink, |line, mut row: Row, sink| {
        let Some(last) = row.prompt.pop() else {
            sink(Err(Reject::at(
                &display,
                line.number,
                Some("prompt"),
                "empty conversation",
            )));
            return;
        };
        if last.role != "user" {
            sink(Err(Reject::at(
                &display,
                line.number,
                Some("prompt"),
                format!("the last turn is `{}`, expected `user`", last.role),
            )));
            return;
        }
        let mut tags = row.example_tags.clone();
        tags.extend(row.canary.map(|c| format!("canary:{c}")));
        let item = Item {
            id: format!("{task}/{}", row.prompt_id),
            version: 1,
            task: task.clone(),
            task_version: 1,
            track: Track::Llm,
            dimension: DIMENSION,
            language: guess_language(&last.content).into(),
            specialties: vec![],
            system: None,
            context: vec![],
            conversation: row.prompt,
            question: last.content,
            format: Format::OpenEnded {},
            reference: Some(Reference::Open(OpenReference {
                answer: row.ideal_completions_data.and_then(|d| d.ideal_completion),
                rubric: row.rubrics,
                ..Default::default()
            })),
            media: vec![],
            provenance: Provenance {
                source: "HealthBench".into(),
                licence: Some("MIT".into()),
                ..Default::default()
            },
            difficulty: None,
            review: ctx.review,
            tags,
            variants: vec![],
        };
        emit(item, line.number, &display, ctx, sink);
    });
}
