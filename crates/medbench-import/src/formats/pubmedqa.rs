//! PubMedQA: a JSON object keyed by PMID; yes/no/maybe with abstract contexts.

use super::common::{emit, task_name};
use super::wholejson::{for_each_entry, typed};
use super::{Context, Sink};
use crate::reject::Reject;
use crate::source::SourceFile;
use medbench_core::{Dimension, Format, Item, Provenance, Reference, Track, YesNoMaybe};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Entry {
    question: String,
    contexts: Vec<String>,
    #[serde(default)]
    year: Option<String>,
    #[serde(rename = "final_decision")]
    final_decision: String,
}

pub fn read(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    let task = task_name(ctx, "PubMedQA");
    let SourceFile {
        display,
        mut reader,
        ..
    } = src;
    let res = for_each_entry(&mut reader, &display, &mut |n, key, v| {
        let pmid = key.unwrap_or_else(|| n.to_string());
        let e: Entry = match typed(v) {
            Ok(e) => e,
            Err((path, msg)) => {
                return sink(Err(Reject::at(
                    &display,
                    n,
                    Some(&format!("{pmid}.{path}")),
                    msg,
                )));
            }
        };
        let answer = match e.final_decision.as_str() {
            "yes" => YesNoMaybe::Yes,
            "no" => YesNoMaybe::No,
            "maybe" => YesNoMaybe::Maybe,
            other => {
                return sink(Err(Reject::at(
                    &display,
                    n,
                    Some(&format!("{pmid}.final_decision")),
                    format!("`{other}` is not yes, no or maybe"),
                )));
            }
        };
        let item = Item {
            id: format!("{task}/{pmid}"),
            version: 1,
            task: task.clone(),
            task_version: 1,
            track: Track::Llm,
            dimension: Dimension::LanguageUnderstanding,
            language: "en".into(),
            specialties: vec![],
            system: None,
            context: e.contexts,
            conversation: vec![],
            question: e.question,
            format: Format::YesNo { allow_maybe: true },
            reference: Some(Reference::YesNo { answer }),
            media: vec![],
            provenance: Provenance {
                source: "PubMedQA".into(),
                licence: Some("MIT".into()),
                url: Some(format!("https://pubmed.ncbi.nlm.nih.gov/{pmid}/")),
                ..Default::default()
            },
            difficulty: None,
            review: ctx.review,
            tags: e.year.map(|y| format!("year:{y}")).into_iter().collect(),
            variants: vec![],
        };
        emit(item, n, &display, ctx, sink);
    });
    if let Err(r) = res {
        sink(Err(r));
    }
}
