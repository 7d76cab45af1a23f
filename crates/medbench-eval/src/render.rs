//! From an item to the chat request a model sees: per-language minijinja
//! templates, an optional system prompt and few-shot examples.

use anyhow::{Context, Result, bail};
use medbench_core::item::sha256_hex;
use medbench_core::{Format, Item, Reference};
use medbench_provider::{ChatMessage, ChatRequest, Part, Role, Sampling};
use minijinja::{Environment, context};
use std::collections::BTreeMap;
use std::path::Path;

const BUILTIN: [(&str, &str); 2] = [
    ("prompt.en.j2", include_str!("../templates/prompt.en.j2")),
    ("prompt.zh.j2", include_str!("../templates/prompt.zh.j2")),
];

/// Item tag: the question already holds its options and output instructions (MedBench v4 files).
pub const TAG_VERBATIM: &str = "prompt:verbatim";
/// Item tag: the question already says how to answer; options are still listed.
pub const TAG_INSTRUCTED: &str = "prompt:instructed";

/// Renders items into chat requests.
pub struct Renderer {
    env: Environment<'static>,
    /// Template name → short sha256 of its text, for the run manifest.
    versions: BTreeMap<String, String>,
    system: Option<String>,
}

impl Renderer {
    /// The built-in templates plus every `*.j2` in `dir`: `prompt.<lang>.j2` replaces a
    /// built-in one, `<Task>.<lang>.j2` or `<Task>.j2` applies to one task.
    pub fn new(dir: Option<&Path>, system: Option<String>) -> Result<Renderer> {
        let mut env = Environment::new();
        env.set_trim_blocks(false);
        let mut versions = BTreeMap::new();
        let mut sources: BTreeMap<String, String> = BUILTIN
            .iter()
            .map(|(n, t)| (n.to_string(), t.to_string()))
            .collect();
        if let Some(dir) = dir {
            let entries = std::fs::read_dir(dir)
                .with_context(|| format!("cannot read template folder {}", dir.display()))?;
            for e in entries {
                let p = e?.path();
                let name = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("")
                    .to_owned();
                if name.ends_with(".j2") {
                    sources.insert(
                        name,
                        std::fs::read_to_string(&p)
                            .with_context(|| format!("cannot read {}", p.display()))?,
                    );
                }
            }
        }
        for (name, text) in sources {
            versions.insert(name.clone(), sha256_hex(text.as_bytes())[..12].to_owned());
            env.add_template_owned(name.clone(), text)
                .with_context(|| format!("template {name} does not parse"))?;
        }
        Ok(Renderer {
            env,
            versions,
            system,
        })
    }

    pub fn versions(&self) -> &BTreeMap<String, String> {
        &self.versions
    }

    /// The template for an item: `<Task>.<lang>.j2`, `<Task>.j2`, `prompt.<lang>.j2`, then `prompt.en.j2`.
    pub fn template_for(&self, item: &Item) -> String {
        [
            format!("{}.{}.j2", item.task, item.language),
            format!("{}.j2", item.task),
            format!("prompt.{}.j2", item.language),
        ]
        .into_iter()
        .find(|n| self.versions.contains_key(n))
        .unwrap_or_else(|| "prompt.en.j2".to_owned())
    }

    /// The user-turn text for an item.
    pub fn text(&self, item: &Item) -> Result<String> {
        let tmpl = self.env.get_template(&self.template_for(item))?;
        let (labels, fields, slots, unit, schema, grid, allow_maybe) = match &item.format {
            Format::LabelSet { labels } | Format::Intent { labels } => {
                (labels.clone(), vec![], vec![], None, None, 1000, false)
            }
            Format::JsonFields { fields } => {
                (vec![], fields.clone(), vec![], None, None, 1000, false)
            }
            Format::Tuples { slots } => (vec![], vec![], slots.clone(), None, None, 1000, false),
            Format::Numeric { unit } => (vec![], vec![], vec![], unit.clone(), None, 1000, false),
            Format::Sql { schema } => (
                vec![],
                vec![],
                vec![],
                None,
                Some(schema.clone()),
                1000,
                false,
            ),
            Format::Detection { labels, grid } => {
                (labels.clone(), vec![], vec![], None, None, *grid, false)
            }
            Format::YesNo { allow_maybe } => {
                (vec![], vec![], vec![], None, None, 1000, *allow_maybe)
            }
            _ => (vec![], vec![], vec![], None, None, 1000, false),
        };
        let options: Vec<_> = item
            .format
            .options()
            .unwrap_or(&[])
            .iter()
            .map(|o| context! { label => o.label, text => o.text })
            .collect();
        let text = tmpl.render(context! {
            question => item.question,
            context => item.context,
            options => options,
            format => item.format_kind().as_str(),
            verbatim => item.tags.iter().any(|t| t == TAG_VERBATIM),
            instructed => item.tags.iter().any(|t| t == TAG_INSTRUCTED),
            labels => labels, fields => fields, slots => slots, unit => unit, schema => schema,
            grid => grid, allow_maybe => allow_maybe,
        })?;
        Ok(text.trim().to_owned())
    }

    /// The whole request: system prompt, few-shot turns, the item's conversation, then the question with its media.
    pub fn request(
        &self,
        item: &Item,
        examples: &[Item],
        media: &dyn Fn(&str) -> Option<Vec<u8>>,
        model: &str,
        sampling: Sampling,
    ) -> Result<ChatRequest> {
        let mut messages = Vec::new();
        if let Some(s) = item.system.as_ref().or(self.system.as_ref()) {
            messages.push(ChatMessage::system(s.clone()));
        }
        for ex in examples {
            messages.push(ChatMessage::user(self.text(ex)?));
            messages.push(ChatMessage::assistant(example_answer(ex)));
        }
        for m in &item.conversation {
            let role = match m.role.as_str() {
                "system" => Role::System,
                "assistant" => Role::Assistant,
                "user" => Role::User,
                other => bail!("{}: conversation role `{other}` cannot be sent", item.id),
            };
            messages.push(ChatMessage::text(role, m.content.clone()));
        }
        let mut parts = vec![Part::Text(self.text(item)?)];
        for m in &item.media {
            let data = media(&m.sha256).with_context(|| {
                format!("{}: media {} is missing from the bank", item.id, m.name)
            })?;
            parts.push(Part::Image {
                media_type: m.media_type.clone(),
                data,
            });
        }
        messages.push(ChatMessage {
            role: Role::User,
            parts,
        });
        let tools = match &item.format {
            Format::ToolCalls { tools } | Format::AgentEpisode { tools, .. } => tools.clone(),
            _ => vec![],
        };
        Ok(ChatRequest {
            model: model.to_owned(),
            messages,
            tools,
            sampling,
        })
    }
}

/// How a worked example's answer is written in a few-shot prompt.
pub fn example_answer(item: &Item) -> String {
    match &item.reference {
        None => String::new(),
        Some(Reference::Choice { answer }) => format!("<{}>", answer.join("")),
        Some(Reference::YesNo { answer }) => serde_json::to_value(answer)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        Some(Reference::Text { answers }) => answers.first().cloned().unwrap_or_default(),
        Some(Reference::LabelSet { labels }) => labels.join("、"),
        Some(Reference::Intent { label }) => label.clone(),
        Some(Reference::Numeric { value, .. }) => format!("Answer: {value}"),
        Some(Reference::Sql { query, .. }) => format!("```sql\n{query}\n```"),
        Some(Reference::Open(o)) => o.answer.clone().unwrap_or_else(|| o.key_points.join("\n")),
        Some(r) => serde_json::to_string(r).unwrap_or_default(),
    }
}

/// The request as stored with the run: media bytes replaced by their sha256.
pub fn stored_form(req: &ChatRequest) -> String {
    let messages: Vec<serde_json::Value> = req
        .messages
        .iter()
        .map(|m| {
            let parts: Vec<serde_json::Value> = m
                .parts
                .iter()
                .map(|p| match p {
                    Part::Image { media_type, data } => {
                        serde_json::json!({"media": {"media_type": media_type, "sha256": sha256_hex(data)}})
                    }
                    other => serde_json::to_value(other).unwrap_or_default(),
                })
                .collect();
            serde_json::json!({"role": m.role, "parts": parts})
        })
        .collect();
    serde_json::json!({"model": req.model, "messages": messages, "tools": req.tools, "sampling": req.sampling}).to_string()
}
