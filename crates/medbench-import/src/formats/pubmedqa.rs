//! PubMedQA: a JSON object keyed by PMID; yes/no/maybe with abstract contexts.

use super::common::{emit, task_name};
use super::ids::content_id;
use super::records::field_reject;
use super::wholejson::{for_each_entry, typed};
use super::{Context, Sink};
use crate::reject::Reject;
use crate::source::SourceFile;
use medbench_core::{Dimension, Format, Item, Provenance, Reference, Track, YesNoMaybe};
use serde::Deserialize;

#[derive(Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
struct Row {
    question: String,
    #[serde(default, rename = "PMID", alias = "pubid", alias = "PUBID")]
    pubid: Option<serde_json::Value>,
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
    let res = for_each_entry(&mut reader, &display, &mut |at, v| {
        let e: Row = match typed(v) {
            Ok(e) => e,
            Err((path, msg)) => return sink(Err(field_reject(&display, &at, &path, msg))),
        };
        // The PMID is the key; an array (a re-packaged file) may carry it as `pubid`/`PMID`.
        let pmid = at
            .key
            .clone()
            .or_else(|| e.pubid.as_ref().and_then(id_text));
        let local = match &pmid {
            Some(p) => p.clone(),
            None => {
                let mut parts = vec![e.question.as_str()];
                parts.extend(e.contexts.iter().map(String::as_str));
                content_id(&parts)
            }
        };
        let n = at.line;
        let answer = match e.final_decision.as_str() {
            "yes" => YesNoMaybe::Yes,
            "no" => YesNoMaybe::No,
            "maybe" => YesNoMaybe::Maybe,
            other => {
                return sink(Err(Reject::at(
                    &display,
                    n,
                    Some(&at.field("final_decision")),
                    format!("`{other}` is not yes, no or maybe"),
                )));
            }
        };
        let item = Item {
            id: format!("{task}/{local}"),
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
                url: pmid.map(|p| format!("https://pubmed.ncbi.nlm.nih.gov/{p}/")),
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

fn id_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}
