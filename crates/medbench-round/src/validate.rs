//! Reading and validating a submission: a zip, a directory (of JSONL files or
//! zips) or one JSONL file, in the v4 layout (`other.id`, `other.source`,
//! `answer`) or the native one (`id`, `answer`).

use crate::{Result, RoundError, io_err};
use medbench_store::InstanceRow;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fmt;
use std::io::Read;
use std::path::Path;

/// What is wrong with a submission row (or with the submission as a whole).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueKind {
    /// A line that is not JSON (not the last one).
    InvalidJson,
    /// The last line of a file is cut off: the file was truncated.
    Truncated,
    /// A required field (`other.id` / `id`) is absent.
    MissingField,
    /// The id is not an instance of this round.
    UnknownId,
    /// The id was answered before (the first answer is kept).
    Duplicate,
    /// `other.source` (or `task`) does not match the instance's task; the row is ignored.
    WrongTask,
    /// The answer is blank (scored as unparsed).
    EmptyAnswer,
    /// Instances of the round with no row (scored as wrong).
    Missing,
}

/// One finding, naming file, line and field.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Issue {
    pub kind: IssueKind,
    pub file: String,
    /// 1-based line, when the issue is about one row.
    pub line: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for Issue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

/// A read submission: the answers by instance id, and what was wrong.
#[derive(Debug, Clone, Default)]
pub struct ParsedSubmission {
    /// Instance id → answer text (possibly empty).
    pub answers: HashMap<String, String>,
    pub issues: Vec<Issue>,
    pub files: usize,
    pub rows: usize,
    /// SHA-256 of the files read (names and bytes).
    pub hash: String,
}

/// Bounds on what a submission may unpack to. Zips are read in memory and never
/// written out, but a small archive can still expand without bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnpackLimits {
    /// Entries in one zip.
    pub max_entries: usize,
    /// Bytes of answer files in the whole submission, after decompression.
    pub max_total_bytes: u64,
}

impl Default for UnpackLimits {
    /// 20,000 entries and 512 MiB: a 700k-item round of answers fits with room to spare.
    fn default() -> Self {
        UnpackLimits {
            max_entries: 20_000,
            max_total_bytes: 512 << 20,
        }
    }
}

/// The JSONL files of a submission, as (display name, text), in name order.
fn files_of(path: &Path, limits: &UnpackLimits) -> Result<Vec<(String, String)>> {
    let mut budget = limits.max_total_bytes;
    let mut out = Vec::new();
    if path.is_dir() {
        let mut stack = vec![path.to_path_buf()];
        let mut found = Vec::new();
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).map_err(io_err("read", &d))? {
                let p = e.map_err(io_err("read", &d))?.path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    found.push(p);
                }
            }
        }
        found.sort();
        for p in found {
            match p.extension().and_then(|e| e.to_str()) {
                Some("jsonl") => out.push((p.display().to_string(), read_text(&p, &mut budget)?)),
                Some("zip") => out.extend(zip_files(&p, limits, &mut budget)?),
                _ => {}
            }
        }
    } else if path.extension().and_then(|e| e.to_str()) == Some("zip") {
        out.extend(zip_files(path, limits, &mut budget)?);
    } else {
        out.push((path.display().to_string(), read_text(path, &mut budget)?));
    }
    if out.is_empty() {
        return Err(RoundError::Invalid(format!(
            "{} holds no .jsonl answer files",
            path.display()
        )));
    }
    Ok(out)
}

fn too_big(what: &str, limit: u64) -> RoundError {
    RoundError::Invalid(format!(
        "{what}: the submission unpacks to more than {} MiB of answer files; refused",
        limit >> 20
    ))
}

/// Read at most `budget` bytes from `r`, taking them off the budget.
fn read_bounded(r: impl Read, what: &str, budget: &mut u64, limit: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    r.take(*budget + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| RoundError::Io {
            action: "read",
            path: what.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > *budget {
        return Err(too_big(what, limit));
    }
    *budget -= bytes.len() as u64;
    Ok(bytes)
}

fn read_text(p: &Path, budget: &mut u64) -> Result<String> {
    let limit = *budget;
    let f = std::fs::File::open(p).map_err(io_err("open", p))?;
    let bytes = read_bounded(f, &p.display().to_string(), budget, limit)?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn zip_files(p: &Path, limits: &UnpackLimits, budget: &mut u64) -> Result<Vec<(String, String)>> {
    let zerr = |source| RoundError::Zip {
        path: p.display().to_string(),
        source,
    };
    let f = std::fs::File::open(p).map_err(io_err("open", p))?;
    let mut z = zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(zerr)?;
    if z.len() > limits.max_entries {
        return Err(RoundError::Invalid(format!(
            "{}: {} entries in the zip, more than the {} allowed; refused",
            p.display(),
            z.len(),
            limits.max_entries
        )));
    }
    let mut out = Vec::new();
    for i in 0..z.len() {
        let e = z.by_index(i).map_err(zerr)?;
        let name = e.name().map_err(zerr)?.into_owned();
        // Nothing is written out, but a name that would escape its folder marks a
        // hostile or broken archive: say so rather than read it.
        if e.enclosed_name().is_none() {
            return Err(RoundError::Invalid(format!(
                "{}!{name}: entry path is absolute or climbs out of the archive (`..`); refused",
                p.display()
            )));
        }
        if !name.ends_with(".jsonl") || name.starts_with("__MACOSX") {
            continue;
        }
        let what = format!("{}!{name}", p.display());
        let bytes = read_bounded(e, &what, budget, limits.max_total_bytes)?;
        out.push((
            format!("{}!{name}", p.display()),
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
    out.sort();
    Ok(out)
}

fn id_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Read and validate a submission against a round's instances.
pub fn read_submission(
    path: &Path,
    instances: &HashMap<&str, &InstanceRow>,
    limits: &UnpackLimits,
) -> Result<ParsedSubmission> {
    let files = files_of(path, limits)?;
    let mut hasher = Sha256::new();
    let mut sub = ParsedSubmission {
        files: files.len(),
        ..Default::default()
    };
    let mut first_seen: HashMap<String, (String, usize)> = HashMap::new();
    for (file, text) in &files {
        hasher.update(file.rsplit(['/', '!']).next().unwrap_or(file).as_bytes());
        hasher.update([0]);
        hasher.update(text.as_bytes());
        let lines: Vec<(usize, &str)> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| !l.trim().is_empty())
            .map(|(i, l)| (i + 1, l))
            .collect();
        let last = lines.last().map(|(n, _)| *n);
        for (n, line) in lines {
            sub.rows += 1;
            let issue = |kind, field: Option<&str>, message: String| Issue {
                kind,
                file: file.clone(),
                line: Some(n),
                field: field.map(str::to_owned),
                message,
            };
            let row: Value = match serde_json::from_str(line) {
                Ok(v @ Value::Object(_)) => v,
                Ok(_) => {
                    sub.issues.push(issue(
                        IssueKind::InvalidJson,
                        None,
                        "expected a JSON object per line".into(),
                    ));
                    continue;
                }
                Err(e) if Some(n) == last && (e.is_eof() || !text.ends_with('\n')) => {
                    sub.issues.push(issue(
                        IssueKind::Truncated,
                        None,
                        format!("the last line is cut off ({e}); was the file truncated?"),
                    ));
                    continue;
                }
                Err(e) => {
                    sub.issues.push(issue(
                        IssueKind::InvalidJson,
                        None,
                        format!("not valid JSON: {e}"),
                    ));
                    continue;
                }
            };
            let (id, id_field, claimed_task, task_field) = match row.get("other") {
                Some(other) => (
                    other.get("id").and_then(id_text),
                    "other.id",
                    other.get("source").and_then(Value::as_str),
                    "other.source",
                ),
                None => (
                    row.get("id").and_then(id_text),
                    "id",
                    row.get("task").and_then(Value::as_str),
                    "task",
                ),
            };
            let Some(id) = id else {
                sub.issues.push(issue(
                    IssueKind::MissingField,
                    Some(id_field),
                    "missing: every row needs the id it was exported with".into(),
                ));
                continue;
            };
            let Some(inst) = instances.get(id.as_str()) else {
                sub.issues.push(issue(
                    IssueKind::UnknownId,
                    Some(id_field),
                    format!("`{id}` is not an instance of this round"),
                ));
                continue;
            };
            // Any name of the task counts: its own, the exported `source`, or an official
            // `other.source` alias (`CTR-QC`, `MedTreat_v4`, `MedRxCheck_V4_SCQ`…).
            if let Some(claimed) = claimed_task
                && claimed != inst.source
                && claimed != inst.task
                && catalog()
                    .lookup(claimed)
                    .is_none_or(|t| t.name != inst.task)
            {
                sub.issues.push(issue(
                    IssueKind::WrongTask,
                    Some(task_field),
                    format!(
                        "`{id}` belongs to task {} (`{}`), not `{claimed}`; row ignored",
                        inst.task, inst.source
                    ),
                ));
                continue;
            }
            if let Some((f, l)) = first_seen.get(&id) {
                sub.issues.push(issue(
                    IssueKind::Duplicate,
                    Some(id_field),
                    format!("`{id}` was already answered at {f}:{l}; this row is ignored"),
                ));
                continue;
            }
            first_seen.insert(id.clone(), (file.clone(), n));
            let answer = match row.get("answer") {
                None | Some(Value::Null) => String::new(),
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
            };
            if answer.trim().is_empty() {
                sub.issues.push(issue(
                    IssueKind::EmptyAnswer,
                    Some("answer"),
                    format!("`{id}` has an empty answer (scored as unparsed)"),
                ));
            }
            sub.answers.insert(id, answer);
        }
    }
    let mut missing: HashMap<&str, Vec<&str>> = HashMap::new();
    for (id, inst) in instances {
        if !sub.answers.contains_key(*id) {
            missing.entry(inst.task.as_str()).or_default().push(id);
        }
    }
    let mut missing: Vec<_> = missing.into_iter().collect();
    missing.sort();
    for (task, mut ids) in missing {
        ids.sort();
        let shown: Vec<&str> = ids.iter().take(5).copied().collect();
        sub.issues.push(Issue {
            kind: IssueKind::Missing,
            file: path.display().to_string(),
            line: None,
            field: None,
            message: format!(
                "task {task}: {} instance(s) have no row (scored as wrong): {}{}",
                ids.len(),
                shown.join(", "),
                if ids.len() > 5 { ", …" } else { "" }
            ),
        });
    }
    sub.hash = hex::encode(hasher.finalize());
    Ok(sub)
}

/// The built-in task catalogue, parsed once.
fn catalog() -> &'static medbench_core::Catalog {
    static CATALOG: std::sync::LazyLock<medbench_core::Catalog> =
        std::sync::LazyLock::new(medbench_core::Catalog::builtin);
    &CATALOG
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instance(id: &str, task: &str, source: &str) -> InstanceRow {
        InstanceRow {
            round_id: "r".into(),
            instance_id: id.into(),
            item_id: format!("{task}/1"),
            item_version: 1,
            task: task.into(),
            permutation: 0,
            format: r#"{"type":"open_ended"}"#.into(),
            reference: None,
            source: source.into(),
        }
    }

    #[test]
    fn official_source_aliases_name_the_task() {
        let dir = tempfile::tempdir().unwrap();
        let rows = [
            ("a1", "MedReportQC", "MedReportQC_V4", "CTR-QC"),
            ("a2", "MedQC", "MedQC_V4", "CXR-QC"),
            (
                "a3",
                "MedRxCheck_SCQ",
                "MedRxCheck_SCQ_V4",
                "MedRxCheck_V4_SCQ",
            ),
            (
                "a4",
                "MedRxCheck_MSQ",
                "MedRxCheck_MSQ_V4",
                "MedRxCheck_V4_MSQ",
            ),
            ("a5", "MedTreat", "MedTreat_V4", "MedTreat_v4"),
            // A real mismatch is still refused.
            ("a6", "MedTreat", "MedTreat_V4", "CTR-QC"),
        ];
        let insts: Vec<InstanceRow> = rows
            .iter()
            .map(|(id, task, source, _)| instance(id, task, source))
            .collect();
        let by_id: HashMap<&str, &InstanceRow> =
            insts.iter().map(|i| (i.instance_id.as_str(), i)).collect();
        let text: String = rows
            .iter()
            .map(|(id, _, _, claimed)| {
                format!(
                    "{{\"question\": \"q\", \"answer\": \"x\", \"other\": {{\"id\": \"{id}\", \"source\": \"{claimed}\"}}}}\n"
                )
            })
            .collect();
        let path = dir.path().join("answers.jsonl");
        std::fs::write(&path, text).unwrap();
        let sub = read_submission(&path, &by_id, &UnpackLimits::default()).unwrap();
        let wrong: Vec<_> = sub
            .issues
            .iter()
            .filter(|i| i.kind == IssueKind::WrongTask)
            .collect();
        assert_eq!(wrong.len(), 1, "{wrong:?}");
        assert_eq!(wrong[0].line, Some(6));
        assert_eq!(sub.answers.len(), 5);
    }
}
