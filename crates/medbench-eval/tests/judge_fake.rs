//! The judge stage against fake endpoints: one stands in for the model under
//! test, another for the judge (every medbench component here is real). The
//! fake judge decides by rules written here, so each test can compute the
//! score the platform must report on its own.

use medbench_core::{Item, Reference};
use medbench_eval::{EvalOptions, JudgeSpec, ModelSpec, Selection, build_judge, evaluate};
use medbench_fake_llm::{AnswerPolicy, FakeConfig, FakeServer, start};
use medbench_import::{ImportOptions, Input, import};
use medbench_store::{Bank, SqliteBank};
use std::path::{Path, PathBuf};

fn bank_with(inputs: Vec<Input>) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db").to_str().unwrap().to_owned();
    let mut bank = SqliteBank::open(&db).unwrap();
    let r = import(
        &mut bank as &mut dyn Bank,
        inputs,
        ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert!(r.committed);
    (dir, db)
}

fn demo_inputs() -> Vec<Input> {
    medbench_demo::files()
        .iter()
        .map(|f| Input::Embedded {
            name: f.name,
            text: f.text,
            media: medbench_demo::media,
        })
        .collect()
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn endpoint(server: &FakeServer, name: &str) -> ModelSpec {
    let mut m = ModelSpec::named(name);
    m.base_url = Some(server.base_url());
    m.concurrency = Some(4);
    m.timeout_secs = Some(5);
    m.max_attempts = Some(2);
    m
}

fn judge_spec(server: &FakeServer, name: &str) -> JudgeSpec {
    JudgeSpec {
        name: Some(name.into()),
        tasks: vec![],
        model: endpoint(server, "fake-judge"),
    }
}

/// The text between `<tag…>` and `</tag>` in a judge prompt.
fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).map(|i| i + open.len()).unwrap_or(0);
    let rest = &text[start..];
    let start = rest.find('>').map(|i| i + 1).unwrap_or(0);
    let rest = &rest[start..];
    rest[..rest.find(close).unwrap_or(rest.len())].trim()
}

/// The fake judge's rule for rubric criteria: met when the criterion has an even number
/// of characters. Arbitrary, but fixed, so the expected score can be computed here.
fn met(criterion: &str) -> bool {
    criterion.trim().chars().count().is_multiple_of(2)
}

fn rubric_judge() -> AnswerPolicy {
    AnswerPolicy::custom(|prompt| {
        let c = between(prompt, "<criterion", "</criterion>");
        format!(
            "{{\"explanation\": \"checked\", \"criteria_met\": {}}}",
            met(c)
        )
    })
}

#[test]
fn healthbench_imported_answered_and_rubric_judged() {
    let data =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/healthbench/sample.jsonl");
    if !data.exists() {
        eprintln!(
            "skipped: {} is absent (the shared data folder is not in this checkout)",
            data.display()
        );
        return;
    }
    let (dir, db) = bank_with(vec![Input::Path(data)]);
    let rt = runtime();
    let answer = "Please seek urgent care now; I cannot examine you remotely.";
    let model = rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::Fixed(answer.into()),
        ..Default::default()
    }));
    let judge = rt.block_on(start(FakeConfig {
        answer: rubric_judge(),
        record: true,
        ..Default::default()
    }));
    let opts = EvalOptions {
        selection: Selection {
            tasks: vec!["HealthBench".into()],
            ..Default::default()
        },
        out: Some(dir.path().join("out")),
        judges: vec![build_judge(&judge_spec(&judge, "hb-judge")).unwrap()],
        ..Default::default()
    };
    let out = evaluate(&db, &endpoint(&model, "fake-model"), &opts, &mut |_| {}).unwrap();

    // The score the platform must report, computed here from the rubrics.
    let bank = SqliteBank::open(&db).unwrap();
    let mut expected = Vec::new();
    let mut criteria = 0;
    for (id, version, _) in bank.run_items(&out.run_id).unwrap() {
        let item: Item = bank.get_version(&id, version).unwrap().unwrap();
        let Some(Reference::Open(r)) = &item.reference else {
            panic!("{id} has no rubric")
        };
        criteria += r.rubric.len();
        let possible: f64 = r.rubric.iter().map(|c| c.points).filter(|p| *p > 0.0).sum();
        let earned: f64 = r
            .rubric
            .iter()
            .filter(|c| met(&c.criterion))
            .map(|c| c.points)
            .sum();
        expected.push((earned / possible).clamp(0.0, 1.0));
    }
    assert!(
        expected.len() >= 20,
        "the sample has {} items",
        expected.len()
    );
    let want = 100.0 * expected.iter().sum::<f64>() / expected.len() as f64;
    let task = &out.results.tasks["HealthBench"];
    assert!(
        (task.stat.score - want).abs() < 1e-9,
        "{} vs {want}",
        task.stat.score
    );
    assert!(
        task.scorer.starts_with("judge:rubric:hb-judge@"),
        "{}",
        task.scorer
    );
    // One judge call per criterion, each showing the judge the model's answer.
    assert_eq!(judge.total_requests(), criteria as u64);
    assert!(
        judge
            .requests()
            .iter()
            .all(|r| r.body.to_string().contains("urgent care now"))
    );
    let judging = out.results.judging.as_ref().expect("judging is reported");
    assert_eq!(judging.judges[0].calls, criteria as u64);
    assert_eq!(judging.judges[0].unparsed + judging.judges[0].refusals, 0);
    assert!(!judging.calibration.applied);

    // Re-judging the stored run reuses every stored judgement: nothing is sent.
    let judges = vec![build_judge(&judge_spec(&judge, "hb-judge")).unwrap()];
    let (again, _) = medbench_eval::rejudge(
        &db,
        &out.run_id,
        &judges,
        Some(&dir.path().join("again")),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(judge.total_requests(), criteria as u64);
    assert_eq!(again.tasks["HealthBench"].stat.score, task.stat.score);

    // A different judge (another model name) makes new judgements beside the old ones.
    let mut other = judge_spec(&judge, "hb-judge");
    other.model.name = "fake-judge-2".into();
    medbench_eval::rejudge(
        &db,
        &out.run_id,
        &[build_judge(&other).unwrap()],
        Some(&dir.path().join("other")),
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(judge.total_requests(), 2 * criteria as u64);
    let versions: std::collections::HashSet<String> = bank
        .judgements(&out.run_id)
        .unwrap()
        .into_iter()
        .map(|j| j.judge_version)
        .collect();
    assert_eq!(
        versions.len(),
        2,
        "old judgements are kept, not overwritten"
    );
}

/// A judge that reads well, writes an unreadable verdict once, never writes a readable
/// one, or refuses — depending on the criterion.
fn unruly_judge() -> AnswerPolicy {
    AnswerPolicy::custom(|prompt| {
        let strict = prompt.contains("IMPORTANT: your previous answer");
        let c = between(prompt, "<criterion", "</criterion>");
        if c.contains("safe disposal") {
            "I'm sorry, but I can't help with that request.".into()
        } else if c.contains("judgmental") {
            "The reply seems fine to me overall.".into()
        } else if c.contains("unsafe and illegal") && !strict {
            "Verdict: met (the reply advises against it).".into()
        } else {
            format!(
                "```json\n{{\"explanation\": \"ok\", \"criteria_met\": {}}}\n```",
                !c.contains("dose")
            )
        }
    })
}

#[test]
fn malformed_verdicts_are_retried_once_then_unparsed_and_refusals_are_recorded() {
    let (dir, db) = bank_with(demo_inputs());
    let rt = runtime();
    let model = rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::Fixed("Do not share your oxycodone; ask his surgical team.".into()),
        ..Default::default()
    }));
    let judge = rt.block_on(start(FakeConfig {
        answer: unruly_judge(),
        ..Default::default()
    }));
    let opts = EvalOptions {
        selection: Selection {
            tasks: vec!["DemoEthicsEN".into()],
            ..Default::default()
        },
        out: Some(dir.path().join("out")),
        judges: vec![build_judge(&judge_spec(&judge, "unruly")).unwrap()],
        ..Default::default()
    };
    let out = evaluate(&db, &endpoint(&model, "fake-model"), &opts, &mut |_| {}).unwrap();
    let bank = SqliteBank::open(&db).unwrap();
    let rows = bank.judgements(&out.run_id).unwrap();
    let first = rows
        .iter()
        .filter(|r| r.item_id == "DemoEthicsEN/001")
        .collect::<Vec<_>>();
    let by = |u: &str| first.iter().find(|r| r.unit == u).unwrap();
    // c1 ("… unsafe and illegal …"): unreadable, then read on the stricter retry.
    assert_eq!(
        (by("c1").status.as_str(), by("c1").attempts, by("c1").value),
        ("ok", 2, Some(1.0))
    );
    // c4 ("… safe disposal …"): a refusal, recorded as such and not retried.
    assert_eq!(
        (by("c4").status.as_str(), by("c4").attempts),
        ("refusal", 1)
    );
    // c6 ("… judgmental …"): unreadable twice, so unparsed.
    assert_eq!(
        (by("c6").status.as_str(), by("c6").attempts),
        ("unparsed", 2)
    );
    assert_eq!(
        by("c6").detail.as_deref(),
        Some("no JSON object in the verdict")
    );
    // The item is reported as unparsed by the judge, not silently scored.
    let scores = bank.scores(&out.run_id).unwrap();
    let s = scores
        .iter()
        .find(|s| s.item_id == "DemoEthicsEN/001")
        .unwrap();
    assert_eq!(s.outcome, "unparsed");
    assert!(
        s.detail.as_deref().unwrap().contains("c4: refusal"),
        "{:?}",
        s.detail
    );
    let info = &out.results.judging.as_ref().unwrap().judges[0];
    assert!(info.refusals >= 1 && info.unparsed >= 1, "{info:?}");
    assert!(out.results.tasks["DemoEthicsEN"].unparsed >= 1);
}

#[test]
fn key_points_and_scale_judges_score_recall_and_normalised_ratings() {
    let (dir, db) = bank_with(demo_inputs());
    let rt = runtime();
    let model = rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::Fixed("A short answer.".into()),
        ..Default::default()
    }));
    // Key points: covers the odd-numbered ones. Scale: 5, 4, 3, 2.
    let judge = rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::custom(|prompt| {
            if prompt.contains("<key_points>") {
                let n = between(prompt, "<key_points", "</key_points>").lines().count();
                let list: Vec<String> = (1..=n)
                    .map(|i| format!("{{\"point\": {i}, \"covered\": {}}}", i % 2 == 1))
                    .collect();
                format!("{{\"key_points\": [{}]}}", list.join(", "))
            } else {
                r#"{"accuracy": 5, "completeness": 4, "safety": 3, "readability": 2, "explanation": "x"}"#.into()
            }
        }),
        ..Default::default()
    }));
    let opts = EvalOptions {
        selection: Selection {
            tasks: vec!["DemoSummary".into(), "DemoExplain".into()],
            ..Default::default()
        },
        out: Some(dir.path().join("out")),
        judges: vec![build_judge(&judge_spec(&judge, "kp")).unwrap()],
        ..Default::default()
    };
    let out = evaluate(&db, &endpoint(&model, "fake-model"), &opts, &mut |_| {}).unwrap();
    let bank = SqliteBank::open(&db).unwrap();
    let mut want = Vec::new();
    for (id, version, _) in bank.run_items(&out.run_id).unwrap() {
        if !id.starts_with("DemoSummary/") {
            continue;
        }
        let item = bank.get_version(&id, version).unwrap().unwrap();
        let Some(Reference::Open(r)) = &item.reference else {
            panic!()
        };
        let n = r.key_points.len();
        want.push(n.div_ceil(2) as f64 / n as f64);
    }
    let want = 100.0 * want.iter().sum::<f64>() / want.len() as f64;
    assert!((out.results.tasks["DemoSummary"].stat.score - want).abs() < 1e-9);
    // (1 + 0.75 + 0.5 + 0.25) / 4 = 0.625 for every item.
    assert!((out.results.tasks["DemoExplain"].stat.score - 62.5).abs() < 1e-9);
    assert!(
        out.results.tasks["DemoExplain"]
            .scorer
            .starts_with("judge:scale:kp@")
    );
    let _ = PathBuf::new();
}
