//! Reading the answer corpus out of bare git repositories, and the options of
//! each choice question through the MedBench v4 importer.

use anyhow::{Context as _, Result, bail};
use medbench_core::{Catalog, Choice, Format, ReviewStatus, Taxonomy};
use medbench_import::Context;
use medbench_import::source::{MediaRoot, Origin, SourceFile};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A git repository holding answer files, known by its GitHub name in the label file.
pub struct Repo {
    pub name: String,
    pub dir: PathBuf,
}

impl Repo {
    /// Fails with a message naming the repository and the flag when `dir` is not a git repository.
    pub fn open(name: &str, dir: &Path, flag: &str) -> Result<Repo> {
        let ok = dir.exists()
            && Command::new("git")
                .arg("-C")
                .arg(dir)
                .args(["rev-parse", "--verify", "--quiet", "HEAD"])
                .output()
                .map(|o| o.status.success())
                .unwrap_or(false);
        if !ok {
            bail!(
                "the answer corpus `{name}` is not a git repository with a HEAD at {} \
                 (pass its clone or bare mirror with {flag} DIR)",
                dir.display()
            );
        }
        Ok(Repo {
            name: name.to_owned(),
            dir: dir.to_owned(),
        })
    }

    /// The commit HEAD names, for the report.
    pub fn head(&self) -> Result<String> {
        Ok(self.git(&["rev-parse", "HEAD"])?.trim().to_owned())
    }

    /// A file at HEAD.
    pub fn show(&self, path: &str) -> Result<String> {
        self.git(&["show", &format!("HEAD:{path}")])
            .with_context(|| format!("reading `{path}` from `{}`", self.name))
    }

    fn git(&self, args: &[&str]) -> Result<String> {
        let o = Command::new("git")
            .arg("-C")
            .arg(&self.dir)
            .args(args)
            .output()
            .context("running git (is it installed?)")?;
        if !o.status.success() {
            bail!(
                "git {} in {}: {}",
                args.join(" "),
                self.dir.display(),
                String::from_utf8_lossy(&o.stderr).trim()
            );
        }
        String::from_utf8(o.stdout).context("git output is not UTF-8")
    }
}

/// One answer file: its rows by 1-based line, and the options the importer
/// finds in each choice question.
pub struct AnswerFile {
    pub answers: HashMap<usize, String>,
    pub options: HashMap<usize, Vec<Choice>>,
    /// Importer rejects by line (e.g. options it cannot find).
    pub rejects: HashMap<usize, String>,
}

/// The answer text of a row: `null` reads as "".
fn answer_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl AnswerFile {
    /// Parse `text` (the JSONL at `display`). The questions go through the
    /// v4 importer with their answers blanked, as the official question files
    /// ship them, so options come out exactly as an import would give them.
    pub fn read(text: &str, display: &str) -> Result<AnswerFile> {
        let mut answers = HashMap::new();
        let mut blanked = String::with_capacity(text.len());
        for (i, l) in text.split('\n').enumerate() {
            let line = i + 1;
            if l.trim().is_empty() {
                blanked.push('\n');
                continue;
            }
            let mut row: Value = serde_json::from_str(l)
                .with_context(|| format!("{display}:{line}: not a JSON object"))?;
            let obj = row
                .as_object_mut()
                .with_context(|| format!("{display}:{line}: not a JSON object"))?;
            let a = obj.get("answer").map(answer_text).unwrap_or_default();
            answers.insert(line, a);
            obj.insert("answer".into(), Value::String(String::new()));
            blanked.push_str(&row.to_string());
            blanked.push('\n');
        }
        let name = display.rsplit('/').next().unwrap_or(display).to_owned();
        let ctx = Context {
            catalog: Catalog::builtin(),
            taxonomy: Taxonomy::builtin(),
            task: None,
            review: ReviewStatus::Approved,
        };
        let mut options = HashMap::new();
        let mut rejects = HashMap::new();
        // One row at a time: the importer keeps the five official copies of a question
        // as one item, but each copy was answered apart, with the options it showed.
        for (i, row) in blanked.split('\n').enumerate() {
            if row.trim().is_empty() {
                continue;
            }
            let line = i + 1;
            let src = SourceFile {
                display: display.to_owned(),
                name: name.clone(),
                reader: Box::new(std::io::Cursor::new(format!("{row}\n").into_bytes())),
                media: MediaRoot::Dir(PathBuf::from(".")),
                origin: Origin::new("", name.clone()),
            };
            medbench_import::formats::v4::read(src, &ctx, &mut |r| match r {
                Ok(unit) => {
                    if let Format::SingleChoice { options: o }
                    | Format::MultipleChoice { options: o } = unit.item.format
                    {
                        options.insert(line, o);
                    }
                }
                Err(rej) => {
                    rejects.entry(line).or_insert_with(|| rej.to_string());
                }
            });
        }
        Ok(AnswerFile {
            answers,
            options,
            rejects,
        })
    }
}

/// The model a result file belongs to, from its path:
/// `…/test_result_o3/…` → `o3`, `…/results-qwen-wxw-20251215/…` → `qwen-wxw-20251215`.
pub fn model_of(path: &str) -> String {
    for part in path.split('/') {
        if let Some(m) = part.strip_prefix("test_result_") {
            return m.to_owned();
        }
        if let Some(m) = part.strip_prefix("results-") {
            return m.to_owned();
        }
    }
    path.rsplit('/').nth(2).unwrap_or(path).to_owned()
}

/// The task a result file answers: its file stem.
pub fn task_of(path: &str) -> String {
    let name = path.rsplit('/').next().unwrap_or(path);
    name.strip_suffix(".jsonl").unwrap_or(name).to_owned()
}
