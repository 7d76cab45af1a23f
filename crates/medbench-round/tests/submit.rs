//! Submissions: validation, partial scoring, strict vs mean, and the v4 round trip.

mod common;

use common::*;
use medbench_round::{DrawParams, IssueKind, Layout, export, submit};
use medbench_store::InstanceRow;
use serde_json::{Value, json};
use std::collections::HashMap;
use std::io::Write;

/// Rewrite every row of the exported v4 zips with `fill(instance) -> answer`, as a directory of JSONL.
fn fill_v4(
    exported: &std::path::Path,
    out: &std::path::Path,
    by_id: &HashMap<String, InstanceRow>,
    fill: &dyn Fn(&InstanceRow) -> String,
) {
    std::fs::create_dir_all(out).unwrap();
    for (name, bytes) in all_files(exported) {
        if !name.ends_with(".jsonl") {
            continue;
        }
        let mut text = String::new();
        for line in String::from_utf8(bytes).unwrap().lines() {
            let mut v: Value = serde_json::from_str(line).unwrap();
            let inst = &by_id[v["other"]["id"].as_str().unwrap()];
            v["answer"] = Value::String(fill(inst));
            text.push_str(&serde_json::to_string(&v).unwrap());
            text.push('\n');
        }
        let file = name.rsplit('/').next().unwrap();
        std::fs::write(out.join(file), text).unwrap();
    }
}

#[test]
fn a_v4_export_filled_from_the_key_scores_100_and_a_fixed_letter_shows_strict_below_mean() {
    let f = demo_bank();
    let mut bank = f.bank();
    let d = do_draw(&mut bank, &params(1000, 4, 21));
    export(&bank, &d.round.id, Layout::MedbenchV4, &f.path("x")).unwrap();
    let by_id: HashMap<String, InstanceRow> = bank
        .round_instances(&d.round.id)
        .unwrap()
        .into_iter()
        .map(|i| (i.instance_id.clone(), i))
        .collect();
    fill_v4(&f.path("x"), &f.path("filled"), &by_id, &|i| {
        key_answer(i)
            .map(|a| format!("答案：<{a}>"))
            .unwrap_or_else(|| "不知道".into())
    });
    let s = submit(&mut bank, &d.round.id, &f.path("filled"), "oracle").unwrap();
    assert_eq!(s.answered, s.instances);
    assert!(
        s.issues.iter().all(|i| i.kind == IssueKind::EmptyAnswer),
        "{:?}",
        s.issues
    );
    for task in [
        "DemoExam",
        "DemoExamEN",
        "DemoSafety",
        "DemoDDx",
        "DemoECG",
        "DemoDrugCA",
        "DemoLitQA",
        "DemoIntent",
        "DemoDoseCalc",
        "DemoFactEN",
    ] {
        assert_eq!(
            s.results.tasks[task].stat.score, 100.0,
            "{task}: {:?}",
            s.results.tasks[task]
        );
        assert_eq!(s.permutation[task].strict, 100.0);
    }
    assert_eq!(
        s.permutation["DemoExamEN"].instances,
        4 * s.permutation["DemoExamEN"].items
    );
    // The same letter for every instance: right in at most one permutation of four.
    fill_v4(&f.path("x"), &f.path("fixed"), &by_id, &|_| "<A>".into());
    let w = submit(&mut bank, &d.round.id, &f.path("fixed"), "always-A").unwrap();
    let p = &w.permutation["DemoExamEN"];
    assert_eq!(p.strict, 0.0, "{p:?}");
    assert!(p.mean > 10.0 && p.mean < 40.0, "{p:?}");
    assert_eq!(
        w.results.tasks["DemoExamEN"].stat.score, p.strict,
        "choice tasks count the strict score"
    );
    assert!(
        w.results.manifest["permutation"]["DemoExamEN"]["mean"]
            .as_f64()
            .unwrap()
            > 10.0
    );
    // Both numbers reach results.json and the HTML report.
    let shown = w.results.tasks["DemoExamEN"]
        .permutation
        .as_ref()
        .expect("round results carry permutation scores");
    assert_eq!((shown.strict, shown.mean), (p.strict, p.mean));
    let html = medbench_report::to_html(&w.results);
    assert!(
        html.contains(&format!("strict {:.1} · mean {:.1}", p.strict, p.mean)),
        "report shows both"
    );
    assert_ne!(w.run_id, s.run_id);
}

#[test]
fn strict_and_mean_on_a_hand_made_example() {
    let f = demo_bank();
    let mut bank = f.bank();
    let d = do_draw(
        &mut bank,
        &DrawParams {
            tasks: vec!["DemoExamEN".into()],
            ..params(1, 4, 4)
        },
    );
    let inst = bank.round_instances(&d.round.id).unwrap();
    assert_eq!(inst.len(), 4);
    // Right in permutations 0 and 1, wrong in 2 and 3: strict 0, mean 50.
    let path = f.path("hand.jsonl");
    let mut text = String::new();
    for i in &inst {
        let right = key_answer(i).unwrap();
        let wrong = if right == "A" { "B" } else { "A" };
        let a = if i.permutation < 2 {
            right.as_str()
        } else {
            wrong
        };
        text.push_str(&format!("{}\n", json!({"id": i.instance_id, "answer": a})));
    }
    std::fs::write(&path, text).unwrap();
    let s = submit(&mut bank, &d.round.id, &path, "half").unwrap();
    assert_eq!(s.permutation["DemoExamEN"].strict, 0.0);
    assert_eq!(s.permutation["DemoExamEN"].mean, 50.0);
    assert_eq!(s.results.tasks["DemoExamEN"].stat.score, 0.0);
    // All four right: both 100.
    let all: String = inst
        .iter()
        .map(|i| {
            format!(
                "{}\n",
                json!({"id": i.instance_id, "answer": key_answer(i).unwrap()})
            )
        })
        .collect();
    std::fs::write(&path, all).unwrap();
    let s = submit(&mut bank, &d.round.id, &path, "all").unwrap();
    assert_eq!(
        (
            s.permutation["DemoExamEN"].strict,
            s.permutation["DemoExamEN"].mean
        ),
        (100.0, 100.0)
    );
}

#[test]
fn every_validation_error_is_reported_with_file_line_and_field_and_missing_count_as_wrong() {
    let f = demo_bank();
    let mut bank = f.bank();
    let d = do_draw(
        &mut bank,
        &DrawParams {
            tasks: vec!["DemoExam".into(), "DemoExamEN".into()],
            ..params(3, 2, 8)
        },
    );
    let inst = bank.round_instances(&d.round.id).unwrap();
    let exam: Vec<&InstanceRow> = inst.iter().filter(|i| i.task == "DemoExam").collect();
    let en: Vec<&InstanceRow> = inst.iter().filter(|i| i.task == "DemoExamEN").collect();
    let row = |i: &InstanceRow, a: &str| {
        json!({"question": "…", "answer": a, "other": {"id": i.instance_id, "source": i.source}})
            .to_string()
    };
    let lines = [
        row(exam[0], &key_answer(exam[0]).unwrap()),     // 1 ok
        "{\"question\": \"x\", \"answer\": ".to_owned(), // 2 invalid json (not last)
        json!({"answer": "A", "other": {"id": "0123456789abcdef", "source": "DemoExam_V4"}})
            .to_string(), // 3 unknown id
        row(exam[0], "B"),                               // 4 duplicate
        json!({"answer": "A", "other": {"id": en[0].instance_id, "source": "DemoExam_V4"}})
            .to_string(), // 5 wrong task
        row(exam[1], "  "),                              // 6 empty answer
        json!({"answer": "A", "other": {"source": "DemoExam_V4"}}).to_string(), // 7 missing id
        "{\"question\": \"x\", \"answer\": \"A\", \"other\": {\"id\"".to_owned(), // 8 truncated last line
    ];
    let path = f.path("DemoExam.jsonl");
    let mut w = std::fs::File::create(&path).unwrap();
    write!(w, "{}", lines.join("\n")).unwrap();
    drop(w);
    let s = submit(&mut bank, &d.round.id, &path, "partial").unwrap();
    let find = |k: IssueKind| {
        s.issues
            .iter()
            .find(|i| i.kind == k)
            .unwrap_or_else(|| panic!("{k:?} not reported: {:?}", s.issues))
            .clone()
    };
    let at = |k: IssueKind, line: usize, field: Option<&str>| {
        let i = find(k);
        assert_eq!((i.line, i.field.as_deref()), (Some(line), field), "{i}");
        assert!(
            i.to_string()
                .starts_with(&format!("{}:{line}", path.display())),
            "{i}"
        );
    };
    at(IssueKind::InvalidJson, 2, None);
    at(IssueKind::UnknownId, 3, Some("other.id"));
    at(IssueKind::Duplicate, 4, Some("other.id"));
    assert!(
        find(IssueKind::Duplicate).message.contains(":1"),
        "names the first answer"
    );
    at(IssueKind::WrongTask, 5, Some("other.source"));
    at(IssueKind::EmptyAnswer, 6, Some("answer"));
    at(IssueKind::MissingField, 7, Some("other.id"));
    at(IssueKind::Truncated, 8, None);
    let missing: Vec<_> = s
        .issues
        .iter()
        .filter(|i| i.kind == IssueKind::Missing)
        .collect();
    assert_eq!(missing.len(), 2, "one line per task: {missing:?}");
    assert!(
        missing
            .iter()
            .any(|m| m.message.contains("task DemoExamEN: 6 instance(s)")),
        "{missing:?}"
    );
    assert_eq!(s.answered, 2);
    // Missing instances count as wrong: one DemoExam item half answered, the rest nothing.
    assert_eq!(s.results.tasks["DemoExamEN"].stat.score, 0.0);
    assert_eq!(s.results.tasks["DemoExamEN"].wrong, 3);
    assert_eq!(s.results.tasks["DemoExam"].stat.n, 3);
    assert!(s.results.tasks["DemoExam"].stat.score < 50.0);
}

#[test]
fn unusable_submissions_and_unknown_rounds_are_errors() {
    let f = demo_bank();
    let mut bank = f.bank();
    let d = do_draw(&mut bank, &params(2, 1, 1));
    let p = f.path("junk.jsonl");
    std::fs::write(&p, "not json\n").unwrap();
    let e = submit(&mut bank, &d.round.id, &p, "m")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("no usable answer") && e.contains("junk.jsonl:1"),
        "{e}"
    );
    let e = submit(&mut bank, "round-nope", &p, "m")
        .unwrap_err()
        .to_string();
    assert!(e.contains("no round `round-nope`"), "{e}");
    let e = submit(&mut bank, &d.round.id, &f.path("absent.jsonl"), "m")
        .unwrap_err()
        .to_string();
    assert!(e.contains("absent.jsonl"), "{e}");
}

#[test]
fn a_submission_run_compares_with_a_live_run() {
    let f = demo_bank();
    let mut bank = f.bank();
    let d = do_draw(
        &mut bank,
        &DrawParams {
            tasks: vec!["DemoExam".into()],
            ..params(10, 2, 3)
        },
    );
    let inst = bank.round_instances(&d.round.id).unwrap();
    let p = f.path("a.jsonl");
    let text: String = inst
        .iter()
        .map(|i| {
            format!(
                "{}\n",
                json!({"id": i.instance_id, "answer": key_answer(i).unwrap()})
            )
        })
        .collect();
    std::fs::write(&p, text).unwrap();
    let s = submit(&mut bank, &d.round.id, &p, "oracle").unwrap();
    let opts = medbench_eval::EvalOptions {
        selection: medbench_eval::Selection {
            tasks: vec!["DemoExam".into()],
            ..Default::default()
        },
        out: Some(f.path("live")),
        ..Default::default()
    };
    let live = medbench_eval::evaluate(
        &f.db,
        &medbench_eval::ModelSpec::named("random"),
        &opts,
        &mut |_| {},
    )
    .unwrap();
    let c = medbench_eval::compare::compare(&bank, &s.run_id, &live.run_id, 1).unwrap();
    assert_eq!(c.all_items.n, 10);
    assert_eq!(c.all_items.mean_a, 100.0);
}
