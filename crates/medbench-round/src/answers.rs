//! `medbench answers export`: a run's answers written out as files.
//!
//! * `medbench-v4`: the official files the items were imported from, filled. Every file
//!   that holds a row of the run's items is written whole, in its place (the same zip,
//!   folder and file names), with the same rows in the same order and every byte of each
//!   row as downloaded except the value of `answer`, which becomes the model's answer to
//!   that row (the row's item and option order). Rows the run did not answer keep their
//!   value and are counted. This is the file the official platform takes.
//! * `native`: `answers.jsonl`, one row per answered instance of the run:
//!   `{"id", "item", "variant", "answer"}` plus `"error"` for calls that failed. Works for
//!   every run, rounds and submissions included.

use crate::{Result, RoundError, io_err};
use medbench_store::{ResponseRow, SourceFileRow, SourceRowRow, SqliteBank};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// What an answer export wrote.
#[derive(Debug, Clone, Default, Serialize)]
pub struct AnswersExport {
    /// Files written, relative to the output folder (zips by their own name).
    pub files: Vec<String>,
    /// Rows whose `answer` was filled.
    pub filled: usize,
    /// Rows of written files left as downloaded: their instance has no answer in the run
    /// (not selected, not asked yet, or its call failed).
    pub unanswered: usize,
    /// Instances of the run with no source row (items not imported from official files);
    /// only the native layout writes them.
    pub without_source: usize,
}

/// The answer text a run stored for each instance key; failed calls are absent.
fn answers_by_key(rows: &[ResponseRow]) -> HashMap<&str, String> {
    rows.iter()
        .filter(|r| r.error_kind.is_none())
        .map(|r| {
            let text = match (&r.tool_calls, &r.text) {
                (Some(calls), _) => calls.clone(),
                (None, Some(t)) => t.clone(),
                (None, None) => String::new(),
            };
            (r.item_id.as_str(), text)
        })
        .collect()
}

/// Write the official files of `run_id`'s items back, filled, under `out`.
pub fn export_v4(bank: &SqliteBank, run_id: &str, out: &Path) -> Result<AnswersExport> {
    let items: HashSet<String> = bank
        .run_items(run_id)?
        .into_iter()
        .map(|(id, ..)| id)
        .collect();
    let responses = bank.responses(run_id)?;
    let answers = answers_by_key(&responses);
    let layout = bank.source_layout(&items)?;
    if layout.is_empty() {
        return Err(RoundError::Invalid(format!(
            "run {run_id} has no item imported from official MedBench v4 files, so there is no official file to fill; use --layout native"
        )));
    }
    let mut report = AnswersExport::default();
    let mut covered: HashSet<(String, u32)> = HashSet::new();
    // container → (entry path → bytes); "" holds plain files.
    let mut bundles: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for (file, rows) in &layout {
        let text = fill_file(file, rows, &items, &answers, &mut report, &mut covered)?;
        bundles
            .entry(file.container.clone())
            .or_default()
            .push((file.path.clone(), text));
    }
    report.without_source = responses
        .iter()
        .filter(|r| {
            let (item, variant) = split_key(&r.item_id);
            !covered.contains(&(item.to_owned(), variant))
        })
        .count();
    std::fs::create_dir_all(out).map_err(io_err("create", out))?;
    for (container, files) in bundles {
        if container.is_empty() {
            for (path, bytes) in files {
                let to = safe_join(out, &path)?;
                if let Some(dir) = to.parent() {
                    std::fs::create_dir_all(dir).map_err(io_err("create", dir))?;
                }
                std::fs::write(&to, bytes).map_err(io_err("write", &to))?;
                report.files.push(path);
            }
        } else {
            let to = safe_join(out, &container)?;
            write_zip(&to, &files)?;
            report.files.push(container);
        }
    }
    Ok(report)
}

/// An instance key split into item id and variant: `<id>#<k>` or `<id>` (variant 0).
fn split_key(key: &str) -> (&str, u32) {
    match key.rsplit_once('#') {
        Some((id, k)) if !k.is_empty() && k.bytes().all(|b| b.is_ascii_digit()) => {
            (id, k.parse().unwrap_or(0))
        }
        _ => (key, 0),
    }
}

/// One file's bytes with every answered row's `answer` replaced.
fn fill_file(
    file: &SourceFileRow,
    rows: &[SourceRowRow],
    items: &HashSet<String>,
    answers: &HashMap<&str, String>,
    report: &mut AnswersExport,
    covered: &mut HashSet<(String, u32)>,
) -> Result<Vec<u8>> {
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        let mut line = row.raw.clone();
        if !row.item_id.is_empty() && items.contains(&row.item_id) {
            covered.insert((row.item_id.clone(), row.variant));
            let with_variant = format!("{}#{}", row.item_id, row.variant);
            let answer = answers.get(with_variant.as_str()).or_else(|| {
                (row.variant == 0)
                    .then(|| answers.get(row.item_id.as_str()))
                    .flatten()
            });
            match answer {
                Some(a) => {
                    line = replace_answer(&row.raw, a).ok_or_else(|| {
                        RoundError::Corrupt(format!(
                            "{}{}:{}: the stored row has no top-level `answer` to fill",
                            container_prefix(file),
                            file.path,
                            row.line
                        ))
                    })?;
                    report.filled += 1;
                }
                None => report.unanswered += 1,
            }
        }
        out.push_str(&line);
        if i + 1 < rows.len() || file.final_eol {
            out.push_str(&file.eol);
        }
    }
    Ok(out.into_bytes())
}

fn container_prefix(file: &SourceFileRow) -> String {
    if file.container.is_empty() {
        String::new()
    } else {
        format!("{}!", file.container)
    }
}

/// `out/rel`, refusing absolute paths and `..` (stored paths come from imports).
fn safe_join(out: &Path, rel: &str) -> Result<PathBuf> {
    let p = Path::new(rel);
    let bad = p.is_absolute()
        || p.components().any(|c| {
            !matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        });
    if bad || rel.is_empty() {
        return Err(RoundError::Corrupt(format!(
            "stored source path `{rel}` is not a relative path inside the output folder"
        )));
    }
    Ok(out.join(p))
}

fn write_zip(path: &Path, files: &[(String, Vec<u8>)]) -> Result<()> {
    let f = std::fs::File::create(path).map_err(io_err("create", path))?;
    let mut z = zip::ZipWriter::new(std::io::BufWriter::new(f));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default());
    let zerr = |source| RoundError::Zip {
        path: path.display().to_string(),
        source,
    };
    for (name, bytes) in files {
        z.start_file(name.as_str(), opts).map_err(zerr)?;
        z.write_all(bytes).map_err(io_err("write", path))?;
    }
    z.finish().map_err(zerr)?;
    Ok(())
}

/// Every answered instance of a run as `answers.jsonl` under `out`.
pub fn export_native(bank: &SqliteBank, run_id: &str, out: &Path) -> Result<AnswersExport> {
    #[derive(Serialize)]
    struct Row<'a> {
        id: &'a str,
        item: &'a str,
        variant: u32,
        answer: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<String>,
    }
    let responses = bank.responses(run_id)?;
    // A round run stores answers under the round's opaque instance ids.
    let round = bank
        .run(run_id)?
        .and_then(|r| serde_json::from_str::<serde_json::Value>(&r.spec).ok())
        .and_then(|spec| {
            spec.get("round")
                .and_then(|v| v.as_str())
                .map(str::to_owned)
        });
    let instances: HashMap<String, String> = match round {
        Some(round) => bank
            .round_instances(&round)?
            .into_iter()
            .map(|i| (i.instance_id, i.item_id))
            .collect(),
        None => HashMap::new(),
    };
    std::fs::create_dir_all(out).map_err(io_err("create", out))?;
    let to = out.join("answers.jsonl");
    let mut w = std::io::BufWriter::new(std::fs::File::create(&to).map_err(io_err("create", &to))?);
    let mut report = AnswersExport::default();
    for r in &responses {
        let (item, variant) = match instances.get(&r.item_id) {
            Some(item) => (item.as_str(), 0),
            None => split_key(&r.item_id),
        };
        let failed = r.error_kind.is_some();
        let row = Row {
            id: &r.item_id,
            item,
            variant,
            answer: (!failed).then(|| {
                r.tool_calls
                    .clone()
                    .or_else(|| r.text.clone())
                    .unwrap_or_default()
            }),
            error: failed.then(|| {
                format!(
                    "{}: {}",
                    r.error_kind.as_deref().unwrap_or(""),
                    r.error.as_deref().unwrap_or("")
                )
            }),
        };
        let line = serde_json::to_string(&row).map_err(|e| RoundError::Corrupt(e.to_string()))?;
        writeln!(w, "{line}").map_err(io_err("write", &to))?;
        if failed {
            report.unanswered += 1;
        } else {
            report.filled += 1;
        }
    }
    w.flush().map_err(io_err("write", &to))?;
    report.files.push("answers.jsonl".into());
    Ok(report)
}

/// The raw JSON object text `raw` with the value of its top-level `answer` key replaced
/// by `answer` as a JSON string, every other byte kept. Written the way the row writes
/// its strings: non-ASCII as is, unless the row escapes everything to ASCII.
/// `None` when `raw` is not an object with a top-level `answer`.
pub fn replace_answer(raw: &str, answer: &str) -> Option<String> {
    let (start, end) = answer_span(raw)?;
    let ascii_only = raw.is_ascii() && raw.contains("\\u");
    let encoded = if ascii_only {
        json_ascii(answer)
    } else {
        serde_json::to_string(answer).ok()?
    };
    Some(format!("{}{}{}", &raw[..start], encoded, &raw[end..]))
}

/// A JSON string with every non-ASCII character escaped (`\uXXXX`, surrogate pairs
/// beyond the basic plane), as Python's `json.dumps` writes by default.
fn json_ascii(s: &str) -> String {
    let plain = serde_json::to_string(s).unwrap_or_default();
    let mut out = String::with_capacity(plain.len());
    for c in plain.chars() {
        if c.is_ascii() {
            out.push(c);
        } else {
            let mut buf = [0u16; 2];
            for u in c.encode_utf16(&mut buf) {
                out.push_str(&format!("\\u{u:04x}"));
            }
        }
    }
    out
}

/// Byte span of the value of the top-level key `answer` in a JSON object text.
fn answer_span(raw: &str) -> Option<(usize, usize)> {
    let b = raw.as_bytes();
    let mut i = skip_ws(b, 0);
    // A byte-order mark on a file's first line.
    if raw[i..].starts_with('\u{feff}') {
        i = skip_ws(b, i + '\u{feff}'.len_utf8());
    }
    if b.get(i) != Some(&b'{') {
        return None;
    }
    i += 1;
    loop {
        i = skip_ws(b, i);
        match b.get(i)? {
            b'}' => return None,
            b'"' => {}
            _ => return None,
        }
        let key_end = string_end(b, i)?;
        let key: String = serde_json::from_str(&raw[i..key_end]).ok()?;
        i = skip_ws(b, key_end);
        if b.get(i) != Some(&b':') {
            return None;
        }
        let vstart = skip_ws(b, i + 1);
        let vend = value_end(b, vstart)?;
        if key == "answer" {
            return Some((vstart, vend));
        }
        i = skip_ws(b, vend);
        match b.get(i)? {
            b',' => i += 1,
            _ => return None,
        }
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\n' | b'\r') {
        i += 1;
    }
    i
}

/// The end (exclusive) of the JSON string starting at `b[i] == '"'`.
fn string_end(b: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < b.len() {
        match b[j] {
            b'\\' => j += 2,
            b'"' => return Some(j + 1),
            _ => j += 1,
        }
    }
    None
}

/// The end (exclusive) of the JSON value starting at `i`.
fn value_end(b: &[u8], i: usize) -> Option<usize> {
    match b.get(i)? {
        b'"' => string_end(b, i),
        b'{' | b'[' => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = string_end(b, j)?;
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return Some(j + 1);
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            None
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r')
            {
                j += 1;
            }
            (j > i).then_some(j)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_answer_value_changes() {
        let raw = r#"{"question": "题目：A. 甲\nB. 乙", "answer": "", "img_path": ["a/b.png"], "other": {"id": 3, "source": "MedExam_V4"}}"#;
        let got = replace_answer(raw, "<B>").unwrap();
        assert_eq!(
            got,
            r#"{"question": "题目：A. 甲\nB. 乙", "answer": "<B>", "img_path": ["a/b.png"], "other": {"id": 3, "source": "MedExam_V4"}}"#
        );
        // Back to blank gives the row byte for byte.
        assert_eq!(replace_answer(&got, "").unwrap(), raw);
        // Quotes, newlines and non-ASCII in the answer stay valid JSON.
        let got = replace_answer(raw, "答：\"B\"\n理由").unwrap();
        let v: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(v["answer"], "答：\"B\"\n理由");
        assert_eq!(v["other"]["id"], 3);
    }

    #[test]
    fn rows_escaped_to_ascii_stay_ascii_and_nested_answers_are_not_touched() {
        let raw = r#"{"other": {"answer": "x"}, "question": "\u9898", "answer": null}"#;
        let got = replace_answer(raw, "甲😀").unwrap();
        assert!(got.is_ascii(), "{got}");
        let v: serde_json::Value = serde_json::from_str(&got).unwrap();
        assert_eq!(v["answer"], "甲😀");
        assert_eq!(v["other"]["answer"], "x");
        assert_eq!(replace_answer("[1, 2]", "x"), None);
        assert_eq!(replace_answer(r#"{"question": "q"}"#, "x"), None);
    }

    #[test]
    fn instance_keys_split_into_item_and_variant() {
        assert_eq!(split_key("MedExam/3#4"), ("MedExam/3", 4));
        assert_eq!(split_key("MedExam/3"), ("MedExam/3", 0));
        assert_eq!(split_key("Odd/a#b"), ("Odd/a#b", 0));
    }
}
