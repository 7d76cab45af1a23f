//! MedBench v4 download files: `{"question", "answer", "other": {"id", "source"}, "img_path"?}`.
//!
//! `other.source` names the task (through the catalogue's aliases); a blank `answer`
//! makes the item blind. The official choice files carry each question several times
//! under one `other.id`, the options in another order each time: those copies become
//! one item whose `variants` list every copy in file order (see
//! [`medbench_core::variant`]). Other rows repeating an id get `.k` appended (the k-th
//! repeat, k ≥ 2).
//!
//! The reader keeps every raw line of the file, with the item and variant it became,
//! so that the official answer files can be written back (see [`KeptFile`]).

mod answer;

use super::common::{finish, load_official_media, parse_line};
use super::{Context, MediaBlob, Sink};
use crate::lines::raw_lines;
use crate::reject::Reject;
use crate::source::{KeptFile, SourceFile};
use answer::{format_for, reference_for};
use medbench_core::variant::order_of;
use medbench_core::{Choice, Format, Item, Provenance, Reference, TaskInfo, Variant};
use medbench_store::SourceRowRow;
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;

#[derive(Deserialize)]
struct Row {
    question: String,
    #[serde(default)]
    answer: Value,
    other: Other,
    #[serde(default)]
    img_path: Option<ImgPath>,
}

#[derive(Deserialize)]
struct Other {
    id: Value,
    source: String,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum ImgPath {
    One(String),
    Many(Vec<String>),
}

/// One row read without a problem.
struct Copy<'c> {
    line: usize,
    task: &'c TaskInfo,
    local: String,
    original_id: String,
    question: String,
    format: Format,
    reference: Option<Reference>,
    blobs: Vec<MediaBlob>,
}

pub fn read(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    let stem = src.stem().to_owned();
    let SourceFile {
        display,
        mut reader,
        mut media,
        origin,
        ..
    } = src;
    // Official files are small: read the whole file, keeping every line's exact text.
    let mut bytes = Vec::new();
    if let Err(e) = reader.read_to_end(&mut bytes) {
        return sink(Err(Reject::file(&display, format!("read error: {e}"))));
    }
    let text = match raw_lines(&bytes, &display) {
        Ok(t) => t,
        Err(r) => return sink(Err(r)),
    };
    let mut raws: Vec<String> = Vec::with_capacity(text.lines.len());
    let mut all_text = true;
    let mut copies = Vec::new();
    for l in text.lines {
        match l {
            Err(r) => {
                sink(Err(r));
                all_text = false;
                raws.push(String::new());
            }
            Ok(raw) => {
                if let Some(line) = raw.line {
                    match read_row(&line, &display, &stem, ctx, &mut media) {
                        Ok(c) => copies.push(c),
                        Err(rs) => rs.into_iter().for_each(|r| sink(Err(r))),
                    }
                }
                raws.push(raw.raw);
            }
        }
    }
    // What each line became: (item id, variant); rejected and blank lines stay empty.
    let mut became: Vec<(String, u32)> = vec![(String::new(), 0); raws.len()];
    for group in group_copies(copies) {
        let Some((item, blobs, lines)) = combine(group, ctx, &display, sink) else {
            continue;
        };
        let id = item.id.clone();
        let first = lines[0];
        match finish(item, first, &display, ctx) {
            Ok(mut unit) => {
                unit.blobs = blobs;
                sink(Ok(unit));
                for (k, line) in lines.into_iter().enumerate() {
                    became[line - 1] = (id.clone(), k as u32);
                }
            }
            Err(rs) => rs.into_iter().for_each(|r| sink(Err(r))),
        }
    }
    // A line that is not text cannot be written back: such a file keeps no lines.
    if all_text {
        let rows = raws
            .into_iter()
            .zip(became)
            .enumerate()
            .map(|(i, (raw, (item_id, variant)))| SourceRowRow {
                line: i as u64 + 1,
                raw,
                item_id,
                variant,
            })
            .collect();
        *origin.kept.borrow_mut() = Some(KeptFile {
            eol: text.eol.to_owned(),
            final_eol: text.final_eol,
            rows,
        });
    }
}

/// Read one row; its problems come back as rejects naming the line and field.
fn read_row<'c>(
    line: &crate::lines::Line,
    display: &str,
    stem: &str,
    ctx: &'c Context,
    media: &mut crate::source::MediaRoot,
) -> Result<Copy<'c>, Vec<Reject>> {
    let at = |field: &str, msg: String| vec![Reject::at(display, line.number, Some(field), msg)];
    let row: Row = parse_line(display, line).map_err(|r| vec![r])?;
    let Some(task) = ctx
        .catalog
        .lookup(&row.other.source)
        .or_else(|| ctx.catalog.lookup(stem))
    else {
        return Err(at(
            "other.source",
            format!(
                "`{}` is not a task in the catalogue (nor is the file name `{stem}`)",
                row.other.source
            ),
        ));
    };
    let local = match &row.other.id {
        Value::String(s) if !s.is_empty() => s.clone(),
        Value::Number(n) => n.to_string(),
        _ => {
            return Err(at(
                "other.id",
                "expected a number or a non-empty string".into(),
            ));
        }
    };
    let format = format_for(task, &row.question).map_err(|m| at("question", m))?;
    let answer = match &row.answer {
        Value::Null => String::new(),
        Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    };
    let reference = if answer.is_empty() {
        None
    } else {
        Some(reference_for(&format, &answer).map_err(|m| at("answer", m))?)
    };
    let paths = match row.img_path {
        None => Vec::new(),
        Some(ImgPath::One(p)) => vec![(String::from("img_path"), p)],
        Some(ImgPath::Many(ps)) => ps
            .into_iter()
            .enumerate()
            .map(|(i, p)| (format!("img_path[{i}]"), p))
            .collect(),
    };
    let mut blobs = Vec::new();
    let mut rejects = Vec::new();
    for (field, p) in paths {
        match load_official_media(media, &p) {
            Ok(b) => blobs.push(b),
            Err(m) => rejects.extend(at(&field, m)),
        }
    }
    if !rejects.is_empty() {
        return Err(rejects);
    }
    Ok(Copy {
        line: line.number,
        task,
        local,
        original_id: format!("{}#{}", row.other.source, row.other.id),
        question: row.question,
        format,
        reference,
        blobs,
    })
}

/// Put the copies of one choice question (same task and `other.id`) together, in file
/// order; other rows stand alone, a repeated id numbered `.k`.
fn group_copies(copies: Vec<Copy<'_>>) -> Vec<Vec<Copy<'_>>> {
    let mut groups: Vec<Vec<Copy<'_>>> = Vec::new();
    let mut choice_group: HashMap<(String, String), usize> = HashMap::new();
    let mut repeats: HashMap<(String, String), usize> = HashMap::new();
    for mut c in copies {
        let key = (c.task.name.clone(), c.local.clone());
        if c.format.options().is_some() {
            match choice_group.get(&key) {
                Some(&g) => groups[g].push(c),
                None => {
                    choice_group.insert(key, groups.len());
                    groups.push(vec![c]);
                }
            }
        } else {
            let k = repeats.entry(key).or_insert(0);
            *k += 1;
            if *k > 1 {
                c.local = format!("{}.{k}", c.local);
            }
            groups.push(vec![c]);
        }
    }
    groups
}

/// Make one item of a group: the first copy asks it, each further copy is a variant.
/// A copy that does not fit the first (other option texts, other media, an answer that
/// disagrees) is rejected. Returns the item, its media and the lines of its variants.
fn combine(
    group: Vec<Copy<'_>>,
    ctx: &Context,
    display: &str,
    sink: &mut Sink<'_>,
) -> Option<(Item, Vec<MediaBlob>, Vec<usize>)> {
    let mut copies = group.into_iter();
    let base = copies.next()?;
    let mut lines = vec![base.line];
    let mut variants = Vec::new();
    let mut reference = base.reference.clone();
    if let Some(options) = base.format.options() {
        variants.push(Variant {
            order: (0..options.len()).collect(),
            question: None,
        });
        // The answer in the first copy's labels, and the line that gave it.
        let mut answer = match &reference {
            Some(Reference::Choice { answer }) => Some((answer.clone(), base.line)),
            _ => None,
        };
        for c in copies {
            let reject = |field: &str, msg: String| Reject::at(display, c.line, Some(field), msg);
            let shown = c.format.options().unwrap_or_default();
            let Some(order) = order_of(options, shown) else {
                sink(Err(reject(
                    "question",
                    not_a_reordering(options, shown, &c.local, base.line),
                )));
                continue;
            };
            let hashes = |bs: &[MediaBlob]| {
                bs.iter()
                    .map(|b| b.media.sha256.clone())
                    .collect::<Vec<_>>()
            };
            if hashes(&c.blobs) != hashes(&base.blobs) {
                sink(Err(reject(
                    "img_path",
                    format!(
                        "this copy of `{}` shows other media than the first one (line {})",
                        c.local, base.line
                    ),
                )));
                continue;
            }
            if let Some(Reference::Choice { answer: given }) = &c.reference {
                let mapped = match map_back(given, options, shown, &order) {
                    Ok(m) => m,
                    Err(m) => {
                        sink(Err(reject("answer", m)));
                        continue;
                    }
                };
                match &answer {
                    Some((first, line)) if *first != mapped => {
                        sink(Err(reject(
                            "answer",
                            format!(
                                "the copies disagree: `{}` here is `{}` in the order of the first copy (line {}), but line {line} answers `{}` there",
                                given.join(""),
                                mapped.join(""),
                                base.line,
                                first.join("")
                            ),
                        )));
                        continue;
                    }
                    Some(_) => {}
                    None => answer = Some((mapped, c.line)),
                }
            }
            lines.push(c.line);
            variants.push(Variant {
                order,
                question: Some(c.question),
            });
        }
        reference = answer.map(|(answer, _)| Reference::Choice { answer });
        if variants.len() < 2 {
            // Asked once: no variants.
            variants.clear();
        }
    }
    let task = base.task;
    let item = Item {
        id: format!("{}/{}", task.name, base.local),
        version: 1,
        task: task.name.clone(),
        task_version: task.version,
        track: task.track,
        dimension: task.dimension,
        language: "zh".into(),
        specialties: vec![],
        system: None,
        context: vec![],
        conversation: vec![],
        question: base.question,
        format: base.format,
        reference,
        media: base.blobs.iter().map(|b| b.media.clone()).collect(),
        provenance: Provenance {
            source: "MedBench v4".into(),
            original_id: Some(base.original_id),
            ..Default::default()
        },
        difficulty: None,
        review: ctx.review,
        // The question already carries its options and output instructions.
        tags: vec!["prompt:verbatim".into()],
        variants,
    };
    Some((item, base.blobs, lines))
}

/// A copy's answer labels as the first copy's labels: the option shown at a position
/// is option `order[position]` of the first copy. Sorted, like a read reference.
fn map_back(
    given: &[String],
    options: &[Choice],
    shown: &[Choice],
    order: &[usize],
) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for l in given {
        let pos = shown
            .iter()
            .position(|o| &o.label == l)
            .ok_or_else(|| format!("`{l}` is not an option of this copy"))?;
        out.push(options[order[pos]].label.clone());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// Why a copy's options are not those of the first copy, naming the texts that differ.
fn not_a_reordering(options: &[Choice], shown: &[Choice], id: &str, first: usize) -> String {
    let key = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let theirs: Vec<String> = options.iter().map(|o| key(&o.text)).collect();
    let extra: Vec<String> = shown
        .iter()
        .filter(|o| !theirs.contains(&key(&o.text)))
        .map(|o| format!("{}. {}", o.label, o.text))
        .collect();
    let mut msg = format!(
        "the options of this copy of `{id}` are not a reordering of those at line {first} ({} here, {} there)",
        shown.len(),
        options.len()
    );
    if !extra.is_empty() {
        msg.push_str(&format!("; not among them: {}", extra.join(" | ")));
    }
    msg
}
