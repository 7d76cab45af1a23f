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

/// The JSONL files of a submission, as (display name, text), in name order.
fn files_of(path: &Path) -> Result<Vec<(String, String)>> {
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
                Some("jsonl") => out.push((p.display().to_string(), read_text(&p)?)),
                Some("zip") => out.extend(zip_files(&p)?),
                _ => {}
            }
        }
    } else if path.extension().and_then(|e| e.to_str()) == Some("zip") {
        out.extend(zip_files(path)?);
    } else {
        out.push((path.display().to_string(), read_text(path)?));
    }
    if out.is_empty() {
        return Err(RoundError::Invalid(format!(
            "{} holds no .jsonl answer files",
            path.display()
        )));
    }
    Ok(out)
}

fn read_text(p: &Path) -> Result<String> {
    let bytes = std::fs::read(p).map_err(io_err("read", p))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn zip_files(p: &Path) -> Result<Vec<(String, String)>> {
    let zerr = |source| RoundError::Zip {
        path: p.display().to_string(),
        source,
    };
    let f = std::fs::File::open(p).map_err(io_err("open", p))?;
    let mut z = zip::ZipArchive::new(std::io::BufReader::new(f)).map_err(zerr)?;
    let mut out = Vec::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).map_err(zerr)?;
        let name = e.name().map_err(zerr)?.into_owned();
        if !name.ends_with(".jsonl") || name.starts_with("__MACOSX") {
            continue;
        }
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).map_err(io_err("read", p))?;
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
) -> Result<ParsedSubmission> {
    let files = files_of(path)?;
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
            if let Some(claimed) = claimed_task
                && claimed != inst.source
                && claimed != inst.task
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
