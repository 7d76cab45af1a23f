//! Extraction on real model answers from the MedBench v4 answer sample
//! (`shared/data/medbench-v4-format/answers-sample/<model>/<task>.jsonl`).
//! The data lives outside the repository; these tests skip when it is absent.

use medbench_core::{Choice, Format, OpenReference, Reference};
use medbench_score::extract::{JsonKind, find_json};
use medbench_score::labels::extract_yes_no;
use medbench_score::structured::extract_number;
use medbench_score::{Outcome, extract_choices, score};
use regex::Regex;
use serde_json::Value;
use std::path::PathBuf;

fn sample_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/medbench-v4-format/answers-sample");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: answer sample not found at {} (the shared data is not checked out here)",
            dir.display()
        );
        None
    }
}

/// The `{question, answer, …}` records of one task file of one model.
fn records(model: &str, task: &str) -> Option<Vec<Value>> {
    let path = sample_dir()?.join(model).join(format!("{task}.jsonl"));
    let Ok(text) = std::fs::read_to_string(&path) else {
        eprintln!("SKIPPED: {} is missing", path.display());
        return None;
    };
    Some(
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("each line is JSON"))
            .collect(),
    )
}

fn answer(r: &Value) -> &str {
    r["answer"].as_str().expect("answer is a string")
}

/// Options of a MedExam question: the `A. …` pieces after the last `## 题目`.
fn exam_options(question: &str) -> Vec<Choice> {
    let q = question.rsplit("## 题目").next().unwrap_or(question);
    let re = Regex::new(r"([A-E])[.．、]\s*").unwrap();
    let starts: Vec<_> = re
        .captures_iter(q)
        .map(|c| (c.get(0).unwrap(), c[1].to_string()))
        .collect();
    starts
        .iter()
        .enumerate()
        .map(|(i, (m, label))| {
            let end = starts.get(i + 1).map_or(q.len(), |(n, _)| n.start());
            Choice {
                label: label.clone(),
                text: q[m.end()..end].trim().to_owned(),
            }
        })
        .collect()
}

#[test]
fn medexam_angle_bracket_answers_are_read() {
    let Some(recs) = records("o3", "MedExam") else {
        return;
    };
    assert!(!recs.is_empty());
    let bracket = Regex::new(r"<([A-Z])>").unwrap();
    for r in &recs {
        let options = exam_options(r["question"].as_str().unwrap());
        assert_eq!(options.len(), 5, "five options A–E in {:?}", r["other"]);
        let a = answer(r);
        let got = extract_choices(a, &options, false);
        let want = bracket.captures(a).map(|c| vec![c[1].to_string()]);
        assert!(want.is_some(), "o3 answered {a:?}");
        assert_eq!(got, want, "answer {a:?}");
        // Scored against its own reading it is correct, against another option wrong.
        let f = Format::SingleChoice { options };
        let right = Reference::Choice {
            answer: got.clone().unwrap(),
        };
        assert_eq!(score(&f, &right, a).outcome, Outcome::Correct);
        let other = if got.as_deref() == Some(&["A".to_string()][..]) {
            "B"
        } else {
            "A"
        };
        let wrong = Reference::Choice {
            answer: vec![other.into()],
        };
        assert_eq!(score(&f, &wrong, a).outcome, Outcome::Wrong);
    }
}

#[test]
fn smdoc_json_answers_are_parsed_field_by_field() {
    let Some(recs) = records("o3", "SMDoc") else {
        return;
    };
    for r in &recs {
        let a = answer(r);
        let Some(Value::Object(obj)) = find_json(a, JsonKind::Object) else {
            panic!("no JSON object in {a:?}");
        };
        assert!(obj.len() >= 5, "{obj:?}");
        assert!(obj.values().all(Value::is_string));
        // The answer's own fields as the reference score 1; change one and it is (n−1)/n.
        let mut fields: std::collections::BTreeMap<String, Value> =
            obj.clone().into_iter().collect();
        let f = Format::JsonFields {
            fields: fields.keys().cloned().collect(),
        };
        let s = score(
            &f,
            &Reference::JsonFields {
                fields: fields.clone(),
            },
            a,
        );
        assert_eq!(s.outcome, Outcome::Correct, "{s:?}");
        let n = fields.len() as f64;
        let first = fields.keys().next().unwrap().clone();
        fields.insert(first, Value::String("未知".into()));
        let s = score(&f, &Reference::JsonFields { fields }, a);
        assert_eq!(s.outcome, Outcome::Partial);
        assert!((s.value - (n - 1.0) / n).abs() < 1e-12);
    }
}

#[test]
fn meddiag_free_text_is_not_mistaken_for_a_choice() {
    let Some(recs) = records("o3", "MedDiag") else {
        return;
    };
    let options: Vec<Choice> = ["A", "B", "C", "D", "E"]
        .iter()
        .map(|l| Choice {
            label: (*l).into(),
            text: format!("选项{l}"),
        })
        .collect();
    for r in &recs {
        let a = answer(r);
        assert!(a.chars().count() > 100, "a real diagnosis text");
        assert_eq!(extract_choices(a, &options, false), None, "{a}");
        assert_eq!(extract_yes_no(a), None);
        assert!(extract_number(a).is_some());
        // Open-ended: ROUGE-L against itself is 1, against a short reference small but > 0.
        let f = Format::OpenEnded {};
        let own = Reference::Open(OpenReference {
            answer: Some(a.into()),
            ..Default::default()
        });
        let s = score(&f, &own, a);
        assert_eq!(s.outcome, Outcome::Partial);
        assert!((s.value - 1.0).abs() < 1e-12);
        let short = Reference::Open(OpenReference {
            answer: Some("初步诊断：低血糖".into()),
            ..Default::default()
        });
        let v = score(&f, &short, a).value;
        assert!(v > 0.0 && v < 0.5, "{v}");
    }
}

/// Every answer of every model and task in the sample goes through every
/// extractor without panicking.
#[test]
fn every_sample_answer_survives_every_extractor() {
    let Some(dir) = sample_dir() else { return };
    let options: Vec<Choice> = ["A", "B", "C", "D", "E"]
        .iter()
        .map(|l| Choice {
            label: (*l).into(),
            text: String::new(),
        })
        .collect();
    let mut n = 0;
    for model in std::fs::read_dir(&dir).unwrap().flatten() {
        for file in std::fs::read_dir(model.path()).unwrap().flatten() {
            let text = std::fs::read_to_string(file.path()).unwrap();
            for line in text.lines().filter(|l| !l.trim().is_empty()) {
                let r: Value = serde_json::from_str(line).unwrap();
                let a = r["answer"].as_str().unwrap_or_default();
                let _ = extract_choices(a, &options, false);
                let _ = extract_choices(a, &options, true);
                let _ = extract_yes_no(a);
                let _ = extract_number(a);
                let _ = medbench_score::structured::parse_tuples(&[], a);
                let _ = medbench_score::detection::parse_boxes(a);
                let _ = medbench_score::tools::parse_calls(a);
                let _ = medbench_score::sql::extract_query(a);
                let _ = medbench_score::labels::split_labels(a);
                n += 1;
            }
        }
    }
    assert!(n > 0);
    eprintln!("{n} sample answers checked");
}
