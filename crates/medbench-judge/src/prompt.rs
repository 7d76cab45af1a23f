//! Judge prompts: one minijinja template per judge kind, plus the stricter
//! suffix used for the single retry after an unreadable verdict. Each kind's
//! prompt version is a hash of its template text (and the suffix), so editing a
//! template makes new judgements instead of silently reusing old ones.

use crate::plan::{JudgeKind, SCALE, reference_answer};
use anyhow::{Context, Result};
use medbench_core::item::sha256_hex;
use medbench_core::{Item, Reference};
use medbench_provider::{ChatMessage, ChatRequest, Sampling};
use minijinja::{Environment, context};

const RUBRIC: &str = include_str!("../templates/rubric.j2");
const KEY_POINTS: &str = include_str!("../templates/key_points.j2");
const SCALE_T: &str = include_str!("../templates/scale.j2");
const STRICT: &str = include_str!("../templates/strict.j2");

fn source(kind: JudgeKind) -> &'static str {
    match kind {
        JudgeKind::Rubric => RUBRIC,
        JudgeKind::KeyPoints => KEY_POINTS,
        JudgeKind::Scale => SCALE_T,
    }
}

/// Short hash of a kind's template and the strict suffix.
pub fn prompt_version(kind: JudgeKind) -> String {
    sha256_hex(format!("{}\u{1f}{STRICT}", source(kind)).as_bytes())[..8].to_owned()
}

/// The conversation as the judge reads it: system prompt, passages, earlier
/// turns and the question, each under its speaker.
pub fn transcript(item: &Item) -> String {
    let mut out = String::new();
    if let Some(s) = &item.system {
        out.push_str(&format!("[system]\n{s}\n\n"));
    }
    let mut first_user = String::new();
    for c in &item.context {
        first_user.push_str(c);
        first_user.push_str("\n\n");
    }
    let mut turns: Vec<(String, String)> = item
        .conversation
        .iter()
        .map(|m| (m.role.clone(), m.content.clone()))
        .collect();
    if !item.question.trim().is_empty() {
        turns.push(("user".into(), item.question.clone()));
    }
    for (i, (role, content)) in turns.iter().enumerate() {
        let body = if i == 0 && role == "user" && !first_user.is_empty() {
            format!("{first_user}{content}")
        } else {
            content.clone()
        };
        out.push_str(&format!("[{role}]\n{body}\n\n"));
    }
    if turns.is_empty() && !first_user.is_empty() {
        out.push_str(&format!("[user]\n{first_user}"));
    }
    out.trim_end().to_owned()
}

/// One judge request: the units it decides, the normal prompt and the stricter retry.
#[derive(Debug, Clone)]
pub struct JudgeRequest {
    pub units: Vec<String>,
    pub request: ChatRequest,
    pub strict: ChatRequest,
}

/// The judge requests for one answer: one per criterion for a rubric, one for key points,
/// one for the scale.
pub fn requests(
    item: &Item,
    kind: JudgeKind,
    response: &str,
    model: &str,
    sampling: Sampling,
) -> Result<Vec<JudgeRequest>> {
    let mut env = Environment::new();
    env.set_trim_blocks(false);
    env.add_template("t", source(kind))
        .context("a built-in judge template does not parse")?;
    let t = env.get_template("t")?;
    let transcript = transcript(item);
    let make = |text: String, units: Vec<String>| JudgeRequest {
        units,
        request: ChatRequest {
            model: model.to_owned(),
            messages: vec![ChatMessage::user(text.clone())],
            tools: vec![],
            sampling,
        },
        strict: ChatRequest {
            model: model.to_owned(),
            messages: vec![ChatMessage::user(format!("{text}{STRICT}"))],
            tools: vec![],
            sampling,
        },
    };
    let open = match &item.reference {
        Some(Reference::Open(r)) => Some(r),
        _ => None,
    };
    Ok(match kind {
        JudgeKind::Rubric => {
            let rubric = open.map(|r| r.rubric.as_slice()).unwrap_or_default();
            let mut out = Vec::with_capacity(rubric.len());
            for (i, c) in rubric.iter().enumerate() {
                let text = t.render(context! {
                    transcript => transcript,
                    response => response,
                    criterion => c.criterion,
                    points => c.points,
                })?;
                out.push(make(text, vec![format!("c{}", i + 1)]));
            }
            out
        }
        JudgeKind::KeyPoints => {
            let points = open.map(|r| r.key_points.clone()).unwrap_or_default();
            let units = (1..=points.len()).map(|i| format!("k{i}")).collect();
            let text = t.render(context! {
                transcript => transcript,
                response => response,
                points => points,
            })?;
            vec![make(text, units)]
        }
        JudgeKind::Scale => {
            let dims: Vec<_> = SCALE
                .iter()
                .map(|(n, d)| context! { name => n, description => d })
                .collect();
            let text = t.render(context! {
                transcript => transcript,
                response => response,
                reference => reference_answer(item),
                dimensions => dims,
            })?;
            vec![make(
                text,
                SCALE.iter().map(|(n, _)| n.to_string()).collect(),
            )]
        }
    })
}
