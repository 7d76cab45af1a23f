//! MedAgentBench tasks (`test_data_v2.json`): FHIR agent tasks with an
//! instruction, context and, for read tasks, the expected solution `sol`.
//! Tool specs come from `funcs_v1.json` beside the file when present.

use super::common::{emit, task_name};
use super::records::field_reject;
use super::wholejson::{for_each_entry, typed};
use super::{Context, Sink};
use crate::reject::Reject;
use crate::source::SourceFile;
use medbench_core::{Dimension, Format, Item, OpenReference, Provenance, Reference, Track};
use serde::Deserialize;
use serde_json::{Value, json};

#[derive(Deserialize)]
struct Task {
    id: String,
    instruction: String,
    #[serde(default)]
    context: String,
    #[serde(default)]
    sol: Option<Vec<Value>>,
    #[serde(default, rename = "eval_MRN")]
    eval_mrn: Option<String>,
}

/// MedAgentBench function specs (`funcs_v1.json` beside the tasks) as OpenAI-style tool
/// schemas. No such file: no tools. A file that is there but is not a list of specs is an error.
fn tools(media: &mut crate::source::MediaRoot) -> Result<Vec<Value>, String> {
    let Some(bytes) = media.read_optional(FUNCS)? else {
        return Ok(vec![]);
    };
    let funcs: Vec<Func> = serde_json::from_slice(&bytes).map_err(|e| {
        format!("{FUNCS} beside the tasks is not a list of {{name, description, parameters}}: {e}")
    })?;
    Ok(funcs
        .into_iter()
        .map(|f| json!({"type": "function", "function": {"name": f.name, "description": f.description, "parameters": f.parameters}}))
        .collect())
}

const FUNCS: &str = "funcs_v1.json";

#[derive(Deserialize)]
struct Func {
    name: String,
    #[serde(default)]
    description: String,
    parameters: serde_json::Map<String, Value>,
}

pub fn read(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    let task = task_name(ctx, "MedAgentBench");
    let SourceFile {
        display,
        mut reader,
        mut media,
        ..
    } = src;
    let tools = match tools(&mut media) {
        Ok(t) => t,
        Err(m) => return sink(Err(Reject::file(&display, m))),
    };
    let res = for_each_entry(&mut reader, &display, &mut |at, v| {
        let t: Task = match typed(v) {
            Ok(t) => t,
            Err((path, msg)) => return sink(Err(field_reject(&display, &at, &path, msg))),
        };
        let n = at.line;
        let kind = t.id.split('_').next().unwrap_or("").to_owned();
        let mut tags = vec![format!("kind:{kind}")];
        tags.extend(t.eval_mrn.map(|m| format!("eval_mrn:{m}")));
        let item = Item {
            id: format!("{task}/{}", t.id),
            version: 1,
            task: task.clone(),
            task_version: 1,
            track: Track::Agent,
            dimension: Dimension::ToolUse,
            language: "en".into(),
            specialties: vec![],
            system: None,
            context: if t.context.trim().is_empty() {
                vec![]
            } else {
                vec![t.context]
            },
            conversation: vec![],
            question: t.instruction,
            format: Format::AgentEpisode {
                tools: tools.clone(),
                max_turns: Some(8),
            },
            // Write tasks have no `sol`: they are graded on the FHIR server's state, so they stay blind here.
            reference: t.sol.map(|solution| {
                Reference::Open(OpenReference {
                    solution,
                    ..Default::default()
                })
            }),
            media: vec![],
            provenance: Provenance {
                source: "MedAgentBench".into(),
                licence: Some("MIT".into()),
                ..Default::default()
            },
            difficulty: None,
            review: ctx.review,
            tags,
            variants: vec![],
        };
        emit(item, n, &display, ctx, sink);
    });
    if let Err(r) = res {
        sink(Err(r));
    }
}
