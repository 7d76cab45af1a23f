//! Exports: questions only, never a reference, an item id or the original option order.
//!
//! * `medbench-v4`: the official download layout. One zip per track
//!   (`MedBench_LLM.zip`, `MedBench_VLM_QA.zip`, `MedBench_Agent.zip`), each holding a
//!   folder of the same name with one `<Task>.jsonl` per task, media under `<Task>/`,
//!   and a `README.txt` carrying the canary.
//! * `native`: `questions.jsonl` (public item parts, id = instance id, a `canary` field
//!   per row), media under `media/`, and `README.txt`.
//!
//! Entries are written in a fixed order with fixed timestamps, so the same round
//! exports to byte-identical files.

use crate::instance::instance_parts;
use crate::{Result, RoundError, find_round, io_err};
use medbench_core::{Format, Item, Message, Track};
use medbench_store::{Bank, InstanceRow, SqliteBank};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

/// How a round is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// The official MedBench v4 download layout (zips per track).
    MedbenchV4,
    /// Native JSONL of public item parts.
    Native,
}

impl std::str::FromStr for Layout {
    type Err = RoundError;
    fn from_str(s: &str) -> Result<Layout> {
        match s {
            "medbench-v4" | "v4" => Ok(Layout::MedbenchV4),
            "native" => Ok(Layout::Native),
            other => Err(RoundError::Invalid(format!(
                "unknown layout `{other}` (expected medbench-v4 or native)"
            ))),
        }
    }
}

/// The zip (and folder) name of a track in the v4 layout.
pub fn track_bundle(track: Track) -> &'static str {
    match track {
        Track::Llm => "MedBench_LLM",
        Track::Multimodal => "MedBench_VLM_QA",
        Track::Agent => "MedBench_Agent",
    }
}

#[derive(Serialize)]
struct V4Other<'a> {
    id: &'a str,
    source: &'a str,
    canary: &'a str,
}

#[derive(Serialize)]
struct V4Row<'a> {
    question: String,
    answer: &'a str,
    other: V4Other<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    img_path: Option<serde_json::Value>,
}

#[derive(Serialize)]
struct NativeMedia {
    path: String,
    media_type: String,
}

#[derive(Serialize)]
struct NativeRow<'a> {
    id: &'a str,
    task: &'a str,
    track: Track,
    dimension: &'a str,
    language: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    context: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    conversation: &'a [Message],
    question: &'a str,
    format: &'a Format,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    media: Vec<NativeMedia>,
    canary: &'a str,
}

/// The question text as the official files carry it: context, question, then the
/// options (and tools, fields, schema…) inline, plus a one-line answer instruction.
pub fn v4_question(item: &Item, format: &Format) -> String {
    if item.tags.iter().any(|t| t == "prompt:verbatim") {
        return item.question.clone();
    }
    let zh = item.language.starts_with("zh");
    let mut parts: Vec<String> = item.context.clone();
    for m in &item.conversation {
        parts.push(format!("{}: {}", m.role, m.content));
    }
    parts.push(item.question.clone());
    let list = |xs: &[String]| xs.join(if zh { "、" } else { ", " });
    let hint = match format {
        Format::SingleChoice { options } | Format::MultipleChoice { options } => {
            let lines: Vec<String> = options
                .iter()
                .map(|o| format!("{}. {}", o.label, o.text))
                .collect();
            parts.push(lines.join("\n"));
            let multi = matches!(format, Format::MultipleChoice { .. });
            Some(match (zh, multi) {
                (true, false) => "请只回答一个正确选项的字母。".to_owned(),
                (true, true) => "请回答所有正确选项的字母。".to_owned(),
                (false, false) => "Answer with the letter of the one correct option.".to_owned(),
                (false, true) => "Answer with the letters of all correct options.".to_owned(),
            })
        }
        Format::YesNo { allow_maybe } => Some(match (zh, allow_maybe) {
            (true, false) => "请回答“是”或“否”。".into(),
            (true, true) => "请回答“是”、“否”或“可能”。".into(),
            (false, false) => "Answer yes or no.".into(),
            (false, true) => "Answer yes, no or maybe.".into(),
        }),
        Format::LabelSet { labels } | Format::Intent { labels } if !labels.is_empty() => {
            Some(format!(
                "{}{}",
                if zh { "可选标签：" } else { "Labels: " },
                list(labels)
            ))
        }
        Format::JsonFields { fields } => Some(format!(
            "{}{}",
            if zh {
                "以 JSON 输出字段："
            } else {
                "Answer in JSON with the fields: "
            },
            list(fields)
        )),
        Format::Tuples { slots } => Some(format!(
            "{}{}",
            if zh {
                "输出元组："
            } else {
                "Answer with tuples of: "
            },
            list(slots)
        )),
        Format::Numeric { unit: Some(u) } => {
            Some(format!("{}{u}", if zh { "单位：" } else { "Unit: " }))
        }
        Format::Detection { labels, grid } => Some(format!(
            "Boxes [x1, y1, x2, y2] on a {grid}×{grid} grid{}",
            if labels.is_empty() {
                String::new()
            } else {
                format!("; labels: {}", list(labels))
            }
        )),
        Format::Sql { schema } => Some(format!("Schema:\n{schema}")),
        Format::ToolCalls { tools } | Format::AgentEpisode { tools, .. } if !tools.is_empty() => {
            Some(format!(
                "{}{}",
                if zh { "可用工具：" } else { "Tools: " },
                serde_json::to_string(tools).unwrap_or_default()
            ))
        }
        _ => None,
    };
    // Items tagged `prompt:instructed` already say how to answer: keep the hints that
    // carry information (labels, fields, schema, tools), drop a second answer instruction.
    let instructed = item.tags.iter().any(|t| t == "prompt:instructed");
    let only_instruction = matches!(
        format,
        Format::SingleChoice { .. } | Format::MultipleChoice { .. } | Format::YesNo { .. }
    );
    if !(instructed && only_instruction) {
        parts.extend(hint);
    }
    parts.join("\n")
}

fn extension(name: &str, media_type: &str) -> String {
    if let Some((_, ext)) = name.rsplit_once('.')
        && !ext.is_empty()
        && ext.len() <= 5
        && ext.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return ext.to_ascii_lowercase();
    }
    match media_type {
        "image/png" => "png",
        "image/jpeg" => "jpg",
        "application/pdf" => "pdf",
        "image/gif" => "gif",
        "image/webp" => "webp",
        _ => "bin",
    }
    .into()
}

fn readme(round_id: &str, canary: &str) -> String {
    format!(
        "MedBench round {round_id} — questions only.\n\
         Fill each row's \"answer\" and upload the files with: medbench submit {round_id} FILE --model NAME\n\
         Do not publish these files. Canary (lets crawlers and scans find leaked copies):\n{canary}\n"
    )
}

/// A set of files to write: path inside the bundle → bytes. Sorted, so output is stable.
type Bundle = BTreeMap<String, Vec<u8>>;

/// Export a round's questions. Returns the files written.
pub fn export(bank: &SqliteBank, round: &str, layout: Layout, out: &Path) -> Result<Vec<PathBuf>> {
    let round = find_round(bank, round)?;
    let instances = bank.round_instances(&round.id)?;
    let mut items: HashMap<(String, u32), Item> = HashMap::new();
    let mut bundles: BTreeMap<String, Bundle> = BTreeMap::new();
    let mut lines: BTreeMap<(String, String), String> = BTreeMap::new();
    for inst in &instances {
        let key = (inst.item_id.clone(), inst.item_version);
        if !items.contains_key(&key) {
            let it = bank
                .get_version(&inst.item_id, inst.item_version)?
                .ok_or_else(|| {
                    RoundError::Corrupt(format!(
                        "item {} v{} is gone",
                        inst.item_id, inst.item_version
                    ))
                })?;
            items.insert(key.clone(), it);
        }
        let item = &items[&key];
        let (format, _) = instance_parts(inst)?;
        // An official order (variant) carries its own question text.
        let variant;
        let item = if item.variants.is_empty() {
            item
        } else {
            variant = item.instance(inst.permutation as usize);
            &variant
        };
        let (bundle, dir) = match layout {
            Layout::MedbenchV4 => (
                track_bundle(item.track).to_owned(),
                format!("{}/{}", track_bundle(item.track), inst.task),
            ),
            Layout::Native => (String::new(), "media".to_owned()),
        };
        let files = bundles.entry(bundle.clone()).or_default();
        let mut paths = Vec::new();
        for (i, m) in item.media.iter().enumerate() {
            let (_, bytes) = bank.media(&m.sha256)?.ok_or_else(|| {
                RoundError::Corrupt(format!("media {} of an item is missing", m.sha256))
            })?;
            let suffix = if item.media.len() > 1 {
                format!("_{i}")
            } else {
                String::new()
            };
            let file = format!(
                "{}{suffix}.{}",
                inst.instance_id,
                extension(&m.name, &m.media_type)
            );
            files.insert(format!("{dir}/{file}"), bytes);
            paths.push((file, m.media_type.clone()));
        }
        let line = match layout {
            Layout::MedbenchV4 => {
                let img_path = match paths.len() {
                    0 => None,
                    1 => Some(serde_json::Value::String(format!(
                        "{}/{}",
                        inst.task, paths[0].0
                    ))),
                    _ => Some(
                        paths
                            .iter()
                            .map(|(p, _)| format!("{}/{p}", inst.task))
                            .collect(),
                    ),
                };
                serde_json::to_string(&V4Row {
                    question: v4_question(item, &format),
                    answer: "",
                    other: V4Other {
                        id: &inst.instance_id,
                        source: &inst.source,
                        canary: &round.canary,
                    },
                    img_path,
                })
            }
            Layout::Native => {
                serde_json::to_string(&native_row(item, inst, &format, &paths, &round.canary))
            }
        }
        .map_err(|e| RoundError::Corrupt(e.to_string()))?;
        let file = match layout {
            Layout::MedbenchV4 => format!("{}/{}.jsonl", track_bundle(item.track), inst.task),
            Layout::Native => "questions.jsonl".to_owned(),
        };
        // Rows sorted by opaque id inside each file: no trace of item order or permutation index.
        lines.insert((bundle + "\u{0}" + &file, inst.instance_id.clone()), line);
    }
    for ((key, _), line) in lines {
        let (bundle, file) = key.split_once('\u{0}').expect("key built above");
        let text = bundles
            .entry(bundle.to_owned())
            .or_default()
            .entry(file.to_owned())
            .or_default();
        text.extend_from_slice(line.as_bytes());
        text.push(b'\n');
    }
    std::fs::create_dir_all(out).map_err(io_err("create", out))?;
    let mut written = Vec::new();
    for (bundle, mut files) in bundles {
        match layout {
            Layout::MedbenchV4 => {
                files.insert(
                    format!("{bundle}/README.txt"),
                    readme(&round.id, &round.canary).into_bytes(),
                );
                let path = out.join(format!("{bundle}.zip"));
                write_zip(&path, &files)?;
                written.push(path);
            }
            Layout::Native => {
                files.insert(
                    "README.txt".into(),
                    readme(&round.id, &round.canary).into_bytes(),
                );
                for (name, bytes) in files {
                    let path = out.join(&name);
                    if let Some(parent) = path.parent() {
                        std::fs::create_dir_all(parent).map_err(io_err("create", parent))?;
                    }
                    std::fs::write(&path, bytes).map_err(io_err("write", &path))?;
                    written.push(path);
                }
            }
        }
    }
    Ok(written)
}

fn native_row<'a>(
    item: &'a Item,
    inst: &'a InstanceRow,
    format: &'a Format,
    paths: &[(String, String)],
    canary: &'a str,
) -> NativeRow<'a> {
    NativeRow {
        id: &inst.instance_id,
        task: &inst.task,
        track: item.track,
        dimension: item.dimension.as_str(),
        language: &item.language,
        system: item.system.as_deref(),
        context: &item.context,
        conversation: &item.conversation,
        question: &item.question,
        format,
        media: paths
            .iter()
            .map(|(p, t)| NativeMedia {
                path: format!("media/{p}"),
                media_type: t.clone(),
            })
            .collect(),
        canary,
    }
}

fn write_zip(path: &Path, files: &Bundle) -> Result<()> {
    let zerr = |source| RoundError::Zip {
        path: path.display().to_string(),
        source,
    };
    let f = std::fs::File::create(path).map_err(io_err("create", path))?;
    let mut z = zip::ZipWriter::new(std::io::BufWriter::new(f));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    for (name, bytes) in files {
        z.start_file(name.as_str(), opts).map_err(zerr)?;
        z.write_all(bytes).map_err(io_err("write", path))?;
    }
    let mut w = z.finish().map_err(zerr)?;
    w.flush().map_err(io_err("write", path))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::v4_question;

    #[test]
    fn instructed_items_get_their_options_but_no_second_instruction() {
        let items = medbench_demo::items();
        let exam = items
            .iter()
            .find(|i| i.id == "DemoExam/001")
            .expect("demo item");
        let q = v4_question(exam, &exam.format);
        let last = exam.format.options().unwrap().last().unwrap();
        assert!(
            q.ends_with(&format!("{}. {}", last.label, last.text)),
            "{q}"
        );
        assert!(!q.contains("请只回答一个正确选项的字母"), "{q}");
        // A bare item (no instruction of its own) still gets one.
        let mut bare = exam.clone();
        bare.tags.clear();
        assert!(v4_question(&bare, &bare.format).ends_with("请只回答一个正确选项的字母。"));
    }
}
