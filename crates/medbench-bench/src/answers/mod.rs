//! `medbench-bench answers`: the issue's answer-reading figures on real model
//! answers. The answers stay in their git repositories; the label file says
//! where each one is and what a person reads in it (see its header and
//! docs/benchmarks.md, "Answer reading on real model answers").

pub mod corpus;
pub mod labels;

use anyhow::{Context as _, Result, bail};
use corpus::{AnswerFile, Repo, model_of, task_of};
use labels::{Expect, Figures, Label, Reading, Tally};
use medbench_core::{Choice, Format, Reference};
use medbench_score::Outcome;
use serde::Serialize;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

pub const REPO_LLMMEDEVAL: &str = "yy-hh/LlmMedEval";
pub const REPO_MEDBENCH_ENV: &str = "chenhaodev/medbench-env";
pub const DEFAULT_LLMMEDEVAL: &str = "/work/.mirror/yy-hh+LlmMedEval/repo";
pub const DEFAULT_MEDBENCH_ENV: &str = "/work/.mirror/chenhaodev+medbench-env/repo";
pub const DEFAULT_LABELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/answer-labels.tsv");

pub struct Args {
    pub llmmedeval: PathBuf,
    pub medbench_env: PathBuf,
    pub labels: PathBuf,
    pub json: bool,
    pub list_misses: bool,
}

/// One answer the scorer did not read as the person does.
#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub model: String,
    pub task: String,
    pub path: String,
    pub line: usize,
    pub note: String,
    pub label: String,
    pub read: String,
    /// The first 200 characters of the text read (and its last 200 when it is long).
    pub excerpt: String,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub labels: String,
    pub corpus: BTreeMap<String, String>,
    pub rows: usize,
    pub by_model_task: Vec<(String, String, Tally)>,
    pub total: Tally,
    pub figures: Figures,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub misses: Vec<Miss>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub no_options: Vec<String>,
}

pub fn run(args: Args) -> Result<()> {
    let mut report = measure(&args)?;
    if args.json {
        if !args.list_misses {
            report.misses.clear();
        }
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report, args.list_misses));
    }
    Ok(())
}

pub fn measure(args: &Args) -> Result<Report> {
    let shown = args.labels.display().to_string();
    let text = std::fs::read_to_string(&args.labels)
        .with_context(|| format!("reading the label file {shown}"))?;
    let labels = labels::parse(&text, &shown)?;
    let repos = [
        Repo::open(REPO_LLMMEDEVAL, &args.llmmedeval, "--corpus-llmmedeval")?,
        Repo::open(
            REPO_MEDBENCH_ENV,
            &args.medbench_env,
            "--corpus-medbench-env",
        )?,
    ];
    let mut corpus = BTreeMap::new();
    for r in &repos {
        corpus.insert(r.name.clone(), r.head()?);
    }
    // Read each answer file once.
    let mut files: BTreeMap<(String, String), AnswerFile> = BTreeMap::new();
    for l in &labels {
        let key = (l.repo.clone(), l.path.clone());
        if files.contains_key(&key) {
            continue;
        }
        let repo = repos.iter().find(|r| r.name == l.repo).with_context(|| {
            format!(
                "{shown}:{}: repo `{}` is neither {REPO_LLMMEDEVAL} nor {REPO_MEDBENCH_ENV}",
                l.row, l.repo
            )
        })?;
        let display = format!("{}:{}", l.repo, l.path);
        files.insert(key, AnswerFile::read(&repo.show(&l.path)?, &display)?);
    }
    let mut tallies: BTreeMap<(String, String), Tally> = BTreeMap::new();
    let mut misses = Vec::new();
    let mut no_options = Vec::new();
    let mut drift = Vec::new();
    for l in &labels {
        let file = &files[&(l.repo.clone(), l.path.clone())];
        let answer = file.answers.get(&l.line).with_context(|| {
            format!(
                "{shown}:{}: `{}` has no answer on line {}",
                l.row, l.path, l.line
            )
        })?;
        let sha = hex::encode(Sha256::digest(answer.as_bytes()));
        if sha[..16] != l.sha256 {
            drift.push(format!(
                "{shown}:{}: {}:{} line {}: sha256 {} in the corpus, {} in the label file",
                l.row,
                l.repo,
                l.path,
                l.line,
                &sha[..16],
                l.sha256
            ));
            continue;
        }
        let (model, task) = (model_of(&l.path), task_of(&l.path));
        let tally = tallies.entry((model.clone(), task.clone())).or_default();
        let text = match l.cut {
            Some(f) => labels::cut(answer, f),
            None => answer.as_str(),
        };
        let read = if l.kind.is_choice() {
            let Some(options) = file.options.get(&l.line) else {
                tally.no_options += 1;
                let why = file
                    .rejects
                    .get(&l.line)
                    .map_or("the importer gave no options", |s| s);
                no_options.push(format!("{model} {task} line {}: {why}", l.line));
                continue;
            };
            read_choice(text, options, l.kind == labels::Kind::ChoiceMulti)
        } else {
            read_json(&task, text)
        };
        let verdict = labels::judge(&l.expect, &read);
        tally.count(verdict);
        if l.cut.is_some() {
            tally.undecided_derived += 1;
            if verdict == labels::Verdict::UndecidedUnparsed {
                tally.undecided_derived_unparsed += 1;
            }
        }
        if verdict.is_miss() {
            misses.push(miss(l, &model, &task, &read, text));
        }
    }
    if !drift.is_empty() {
        bail!(
            "{} labelled answers differ from the corpus (relabel them or check out the labelled commit):\n{}",
            drift.len(),
            drift.join("\n")
        );
    }
    let mut total = Tally::default();
    for t in tallies.values() {
        total.add(t);
    }
    Ok(Report {
        labels: shown,
        corpus,
        rows: labels.len(),
        by_model_task: tallies
            .into_iter()
            .map(|((m, t), tally)| (m, t, tally))
            .collect(),
        figures: total.figures(),
        total,
        misses,
        no_options,
    })
}

/// The letters `extract_choices` reads, joined (`ABD`).
fn read_choice(text: &str, options: &[Choice], multiple: bool) -> Reading {
    medbench_score::extract_choices(text, options, multiple).map(|v| v.concat())
}

/// The fields the JSON-field scorer reads, in the label file's form.
fn read_json(task: &str, text: &str) -> Reading {
    let s = medbench_score::score(
        &Format::JsonFields { fields: vec![] },
        &Reference::JsonFields {
            fields: BTreeMap::new(),
        },
        text,
    );
    if s.outcome == Outcome::Unparsed {
        return None;
    }
    let keys: Vec<String> = field_set(task, s.parsed.as_ref()).into_iter().collect();
    Some(keys.join("|"))
}

/// The fields a JSON value carries. MedReportQC's fields are its error types:
/// an object's keys, or the `错误类型` of each element of a list.
pub fn field_set(task: &str, v: Option<&Value>) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    match v {
        Some(Value::Array(a)) => {
            for e in a {
                out.extend(field_set(task, Some(e)));
            }
        }
        Some(Value::Object(o)) => match o.get("错误类型") {
            Some(t) if task == "MedReportQC" => {
                out.insert(t.as_str().map_or_else(|| t.to_string(), str::to_owned));
            }
            _ => out.extend(o.keys().cloned()),
        },
        _ => {}
    }
    out
}

fn miss(l: &Label, model: &str, task: &str, read: &Reading, text: &str) -> Miss {
    let label = match &l.expect {
        Expect::Letters(s) => s.clone(),
        Expect::Undecided => "undecided".into(),
        Expect::Empty => "empty".into(),
        Expect::Fields(s) if s.is_empty() => "{}".into(),
        Expect::Fields(s) => s.clone(),
        Expect::NotEasy => "-".into(),
    };
    let read = match read {
        None => "unparsed".into(),
        Some(s) if s.is_empty() => "{}".into(),
        Some(s) => s.clone(),
    };
    Miss {
        model: model.to_owned(),
        task: task.to_owned(),
        path: l.path.clone(),
        line: l.line,
        note: l.note.clone(),
        label,
        read,
        excerpt: excerpt(text),
    }
}

/// First 200 characters, and the last 200 when the text is longer than 400; one line.
pub fn excerpt(text: &str) -> String {
    let n = text.chars().count();
    let head: String = text.chars().take(200).collect();
    let s = if n > 400 {
        let tail: String = text.chars().skip(n - 200).collect();
        format!("{head} … {tail}")
    } else {
        text.chars().take(400).collect()
    };
    s.replace(['\n', '\r', '\t'], " ")
}

fn fmt_pct(p: Option<f64>) -> String {
    p.map_or_else(|| "-".into(), |p| format!("{p:.2}%"))
}

pub fn render(r: &Report, list_misses: bool) -> String {
    use std::fmt::Write;
    let mut o = String::new();
    let _ = writeln!(o, "labels: {} ({} rows)", r.labels, r.rows);
    for (name, head) in &r.corpus {
        let _ = writeln!(o, "corpus: {name} @ {head}");
    }
    let _ = writeln!(
        o,
        "\n{:<20} {:<15} {:>5} {:>5} {:>5} {:>5} | {:>5} {:>5} | {:>5} {:>5} {:>5} {:>5} {:>5} | {:>5} {:>5}",
        "model",
        "task",
        "def",
        "read",
        "mis",
        "unp",
        "undec",
        "unp",
        "json",
        "read",
        "mis",
        "unp",
        "hard",
        "empty",
        "noopt"
    );
    let row = |o: &mut String, m: &str, t: &str, x: &Tally| {
        let _ = writeln!(
            o,
            "{:<20} {:<15} {:>5} {:>5} {:>5} {:>5} | {:>5} {:>5} | {:>5} {:>5} {:>5} {:>5} {:>5} | {:>5} {:>5}",
            m,
            t,
            x.definite,
            x.definite_read,
            x.definite_misread,
            x.definite_unparsed,
            x.undecided,
            x.undecided_unparsed,
            x.json_easy,
            x.json_easy_read,
            x.json_easy_misread,
            x.json_easy_unparsed,
            x.json_not_easy,
            x.empty,
            x.no_options
        );
    };
    for (m, t, x) in &r.by_model_task {
        row(&mut o, m, t, x);
    }
    row(&mut o, "all", "", &r.total);
    let f = &r.figures;
    let t = &r.total;
    let _ = writeln!(
        o,
        "\ndefinite choice answers read as the person reads them: {} ({}/{}; target: none misread)",
        fmt_pct(f.definite_read_pct),
        t.definite_read,
        t.definite
    );
    let _ = writeln!(
        o,
        "definite choice answers left unparsed:                {} ({}/{}; target ≤ {}%)",
        fmt_pct(f.definite_unparsed_pct),
        t.definite_unparsed,
        t.definite,
        labels::TARGET_DEFINITE_UNPARSED_MAX
    );
    let _ = writeln!(
        o,
        "undecided or cut-off answers left unparsed:           {} ({}/{}; target ≥ {}%)",
        fmt_pct(f.undecided_unparsed_pct),
        t.undecided_unparsed,
        t.undecided,
        labels::TARGET_UNDECIDED_UNPARSED_MIN
    );
    let _ = writeln!(
        o,
        "  of which real answers {}/{}, derived cut-offs {}/{}",
        t.undecided_unparsed - t.undecided_derived_unparsed,
        t.undecided - t.undecided_derived,
        t.undecided_derived_unparsed,
        t.undecided_derived
    );
    let _ = writeln!(
        o,
        "JSON-field answers read easily by a person, read:    {} ({}/{}; target ≥ {}%)",
        fmt_pct(f.json_easy_read_pct),
        t.json_easy_read,
        t.json_easy,
        labels::TARGET_JSON_EASY_READ_MIN
    );
    let _ = writeln!(
        o,
        "targets met: {}",
        if f.meets_targets() { "yes" } else { "no" }
    );
    if let Some(first) = r.no_options.first() {
        let _ = writeln!(
            o,
            "not scored: {} choice answers whose question the importer reads no options from; first: {first}",
            r.no_options.len()
        );
    }
    if list_misses {
        for n in r.no_options.iter().skip(1) {
            let _ = writeln!(o, "not scored: {n}");
        }
        let _ = writeln!(o, "\nmisses ({}):", r.misses.len());
        for m in &r.misses {
            let _ = writeln!(
                o,
                "{} {} line {} [{}] label {} read {}: {}",
                m.model, m.task, m.line, m.note, m.label, m.read, m.excerpt
            );
        }
    } else {
        let _ = writeln!(o, "{} misses; --list-misses prints them", r.misses.len());
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn report_qc_fields_are_error_types_in_every_shape() {
        let list = json!([
            {"错误类型": "用词不当", "修改建议": "…"},
            {"错误类型": "错别字", "修改建议": "…"}
        ]);
        let got: Vec<String> = field_set("MedReportQC", Some(&list)).into_iter().collect();
        assert_eq!(got, ["用词不当", "错别字"]);
        let obj = json!({"错别字": "…", "单位错误": "…"});
        let got: Vec<String> = field_set("MedReportQC", Some(&obj)).into_iter().collect();
        assert_eq!(got, ["单位错误", "错别字"]);
        assert!(field_set("MedReportQC", Some(&json!([]))).is_empty());
        // Elsewhere an object's keys are its fields, whatever they are called.
        let smdoc = json!({"错误类型": "x", "主诉": "头痛"});
        assert_eq!(field_set("SMDoc", Some(&smdoc)).len(), 2);
    }

    #[test]
    fn json_reading_uses_the_label_file_form() {
        // One object: its keys, sorted and `|`-joined.
        let r = read_json(
            "SMDoc",
            "```json\n{\"主诉\": \"头痛\", \"体温(℃)\": \"37\"}\n```",
        );
        assert_eq!(r.as_deref(), Some("主诉|体温(℃)"));
        // Prose with no JSON at all is unparsed, not an empty field set.
        assert_eq!(read_json("SMDoc", "无法判断"), None);
    }

    #[test]
    fn the_shipped_label_file_parses_and_covers_what_the_issue_measures() {
        let text = std::fs::read_to_string(DEFAULT_LABELS).unwrap();
        let l = labels::parse(&text, DEFAULT_LABELS).unwrap();
        assert!(l.len() > 4000, "{} rows", l.len());
        assert!(
            l.iter()
                .all(|x| x.repo == REPO_LLMMEDEVAL || x.repo == REPO_MEDBENCH_ENV)
        );
        let cuts = l.iter().filter(|x| x.cut.is_some()).count();
        assert!(cuts >= 100, "{cuts} derived cut-offs");
        let count = |e: &dyn Fn(&Expect) -> bool| l.iter().filter(|x| e(&x.expect)).count();
        assert!(count(&|e| *e == Expect::Undecided) > cuts);
        assert!(count(&|e| matches!(e, Expect::Fields(_))) > 400);
        assert!(count(&|e| *e == Expect::NotEasy) > 0);
        // Every labelled answer is there once.
        let mut seen = BTreeSet::new();
        for x in l.iter().filter(|x| x.cut.is_none()) {
            assert!(
                seen.insert((&x.repo, &x.path, x.line)),
                "row {} twice",
                x.row
            );
        }
    }

    #[test]
    fn excerpt_keeps_head_and_tail_on_one_line() {
        let short = "答：\n<D>";
        assert_eq!(excerpt(short), "答： <D>");
        let long: String = "甲".repeat(300) + &"乙".repeat(300);
        let e = excerpt(&long);
        assert!(e.starts_with(&"甲".repeat(200)));
        assert!(e.ends_with(&"乙".repeat(200)));
        assert!(e.contains(" … "));
    }
}
