//! `medbench-bench answers` end to end on a few labelled rows of the real
//! corpus (skipped when the git mirrors are absent), and its refusal when a
//! corpus is missing (always runs).

use std::path::Path;
use std::process::Command;

const LLMMEDEVAL: &str = "/work/.mirror/yy-hh+LlmMedEval/repo";
const MEDBENCH_ENV: &str = "/work/.mirror/chenhaodev+medbench-env/repo";
const LABELS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/data/answer-labels.tsv");

fn bench() -> Command {
    Command::new(env!("CARGO_BIN_EXE_medbench-bench"))
}

fn mirrors_present() -> bool {
    if Path::new(LLMMEDEVAL).exists() && Path::new(MEDBENCH_ENV).exists() {
        return true;
    }
    eprintln!("SKIPPED: the answer corpora are not at {LLMMEDEVAL} and {MEDBENCH_ENV}");
    false
}

/// The header and the shipped rows whose `path`/`line`/`note` contain all of `picks`' parts.
fn pick_rows(picks: &[(&str, &str, &str)]) -> String {
    let text = std::fs::read_to_string(LABELS).unwrap();
    let mut out = String::from("repo\tpath\tline\tsha256\tkind\tlabel\tnote\n");
    for (path, line, note) in picks {
        let row = text
            .lines()
            .find(|l| {
                let c: Vec<&str> = l.split('\t').collect();
                c.len() == 7 && c[1].ends_with(path) && c[2] == *line && c[6].starts_with(note)
            })
            .unwrap_or_else(|| panic!("no shipped row for {path}:{line} {note}"));
        out.push_str(row);
        out.push('\n');
    }
    out
}

fn run_json(labels: &Path) -> std::process::Output {
    bench()
        .args(["answers", "--json", "--list-misses", "--labels"])
        .arg(labels)
        .args([
            "--corpus-llmmedeval",
            LLMMEDEVAL,
            "--corpus-medbench-env",
            MEDBENCH_ENV,
        ])
        .output()
        .unwrap()
}

#[test]
fn measures_a_few_real_answers() {
    if !mirrors_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.tsv");
    std::fs::write(
        &labels,
        pick_rows(&[
            ("test_result_o3/MedBench_LLM/MedExam.jsonl", "1", "script:"),
            (
                "results-qwen-wxw-20251215/MedBench_LLM/DDx-advanced.jsonl",
                "1",
                "script:",
            ),
            (
                "test_result_Baichuan-M3/MedBench_LLM/MedExam.jsonl",
                "14",
                "read:",
            ),
            (
                "test_result_Baichuan-M3/MedBench_LLM/MedExam.jsonl",
                "14",
                "derived:cut",
            ),
            (
                "test_result_antangelmed-fp8/MedBench_LLM/MedSafety.jsonl",
                "43",
                "read:",
            ),
            ("test_result_o3/MedBench_LLM/SMDoc.jsonl", "1", "script:"),
            ("test_result_gpt5.2/MedBench_LLM/SMDoc.jsonl", "1", "read:"),
            (
                "test_result_antangelmed-fp8/MedBench_LLM/MedInsureCalc.jsonl",
                "1",
                "read:",
            ),
        ]),
    )
    .unwrap();
    let out = run_json(&labels);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["rows"], 8);
    let t = &r["total"];
    // Populations come from the labels; the split inside each from today's reading rules.
    assert_eq!(t["definite"], 3);
    assert_eq!(t["undecided"], 2);
    assert_eq!(t["json_easy"], 2);
    assert_eq!(t["json_not_easy"], 1);
    let sum = |a: &str, b: &str, c: &str| {
        t[a].as_u64().unwrap() + t[b].as_u64().unwrap() + t[c].as_u64().unwrap()
    };
    assert_eq!(
        sum("definite_read", "definite_misread", "definite_unparsed"),
        3
    );
    assert_eq!(
        sum("json_easy_read", "json_easy_misread", "json_easy_unparsed"),
        2
    );
    // A bare `<D>` and a bare JSON object are read as labelled, whatever else changes.
    assert!(t["definite_read"].as_u64().unwrap() >= 2);
    assert!(t["json_easy_read"].as_u64().unwrap() >= 1);
    // Both corpora are named with the commit read.
    assert_eq!(r["corpus"].as_object().unwrap().len(), 2);
    // Every miss says where it is and shows the answer.
    // (No misses at all leaves the field out.)
    for m in r["misses"].as_array().map_or(&[][..], Vec::as_slice) {
        assert!(m["line"].as_u64().unwrap() >= 1);
        assert!(!m["excerpt"].as_str().unwrap().is_empty());
    }
}

#[test]
fn a_changed_answer_fails_with_its_row() {
    if !mirrors_present() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let labels = dir.path().join("labels.tsv");
    let rows = pick_rows(&[("test_result_o3/MedBench_LLM/MedExam.jsonl", "1", "script:")]);
    let (head, row) = rows.split_once('\n').unwrap();
    let mut cols: Vec<&str> = row.trim_end().split('\t').collect();
    cols[3] = "ffffffffffffffff";
    std::fs::write(&labels, format!("{head}\n{}\n", cols.join("\t"))).unwrap();
    let out = run_json(&labels);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("differ from the corpus"), "{err}");
    assert!(err.contains("labels.tsv:2"), "{err}");
}

#[test]
fn a_missing_corpus_is_refused_by_name() {
    let out = bench()
        .args(["answers", "--corpus-llmmedeval", "/nonexistent/LlmMedEval"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("yy-hh/LlmMedEval"), "{err}");
    assert!(err.contains("--corpus-llmmedeval"), "{err}");
}
