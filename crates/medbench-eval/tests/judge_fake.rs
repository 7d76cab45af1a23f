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
    // Judged: the recipe's metric (HealthBench is outside the catalogue: `judge`).
    assert_eq!(
        (task.recipe.as_str(), task.metric.as_str()),
        ("judge", "official")
    );
    assert!(!task.needs_judge && !out.results.provisional);
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

/// Cohen's kappa for two binary raters, written out here to check the platform's.
fn kappa(pairs: &[(f64, f64)]) -> f64 {
    let n = pairs.len() as f64;
    let po = pairs.iter().filter(|(a, b)| a == b).count() as f64 / n;
    let a1 = pairs.iter().filter(|(a, _)| *a == 1.0).count() as f64 / n;
    let b1 = pairs.iter().filter(|(_, b)| *b == 1.0).count() as f64 / n;
    let pe = a1 * b1 + (1.0 - a1) * (1.0 - b1);
    (po - pe) / (1.0 - pe)
}

#[test]
fn blinded_sample_ratings_and_calibration_round_trip() {
    let (dir, db) = bank_with(demo_inputs());
    let rt = runtime();
    let model = rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::Fixed("Advice from the model under test.".into()),
        ..Default::default()
    }));
    let judge = rt.block_on(start(FakeConfig {
        answer: rubric_judge(),
        ..Default::default()
    }));
    let spec = judge_spec(&judge, "cal-judge");
    let opts = EvalOptions {
        selection: Selection {
            tasks: vec!["DemoEthicsEN".into(), "DemoShield".into()],
            ..Default::default()
        },
        out: Some(dir.path().join("out")),
        judges: vec![build_judge(&spec).unwrap()],
        ..Default::default()
    };
    let out = evaluate(
        &db,
        &endpoint(&model, "secret-model-name"),
        &opts,
        &mut |_| {},
    )
    .unwrap();
    let mut bank = SqliteBank::open(&db).unwrap();

    // The sample is blinded: no model name, run id or item id anywhere in it.
    let rows = medbench_judge::human::sample(
        &mut bank,
        std::slice::from_ref(&out.run_id),
        100,
        7,
        &[],
        b"k",
    )
    .unwrap();
    assert_eq!(rows.len(), 10, "5 DemoEthicsEN + 5 DemoShield answers");
    let text = serde_json::to_string(&rows).unwrap();
    assert!(!text.contains("secret-model-name") && !text.contains(&out.run_id));
    assert!(!text.contains("DemoEthicsEN/0") && !text.contains("DemoShield/0"));
    let sheet = medbench_judge::human::ratings_template(&rows);
    assert!(sheet.starts_with("rater,institution,response,criterion,value\n"));

    // Two physicians: A disagrees with the judge on criterion 2, B on criterion 1.
    let judged = bank.judgements(&out.run_id).unwrap();
    let mut csv = String::from("rater,institution,response,criterion,value\n");
    let (mut judge_pairs, mut phys_pairs) = (Vec::new(), Vec::new());
    for r in &rows {
        let (run, item) = bank.human_sample(&r.sample).unwrap().unwrap();
        assert_eq!(run, out.run_id);
        for c in &r.criteria {
            let n = c["criterion"].as_u64().unwrap();
            let j = judged
                .iter()
                .find(|x| x.item_id == item && x.unit == format!("c{n}"))
                .unwrap()
                .value
                .unwrap();
            let a = if n == 2 { 1.0 - j } else { j };
            let b = if n == 1 { 1.0 - j } else { j };
            for (who, v) in [("dr-a", a), ("dr-b", b)] {
                let word = if v == 1.0 { "met" } else { "not met" };
                csv.push_str(&format!("{who},Test Hospital,{},{n},{word}\n", r.sample));
            }
            judge_pairs.extend([(j, a), (j, b)]);
            phys_pairs.push((a, b));
        }
    }
    let path = dir.path().join("ratings.csv");
    std::fs::write(&path, &csv).unwrap();
    let imported = medbench_judge::ratings::import_ratings(&mut bank, &path).unwrap();
    assert!(imported.errors.is_empty(), "{:?}", imported.errors);
    assert_eq!((imported.raters, imported.responses), (2, 10));

    let report =
        medbench_judge::calibrate::calibrate(&mut bank, "cal-judge", None, None, 1).unwrap();
    let row = |name: &str| {
        report
            .criteria
            .iter()
            .find(|r| r.metric == name)
            .unwrap()
            .clone()
    };
    let k = row("Cohen's kappa");
    assert!((k.judge.value.unwrap() - kappa(&judge_pairs)).abs() < 1e-12);
    assert!((k.physicians.unwrap().value.unwrap() - kappa(&phys_pairs)).abs() < 1e-12);
    assert_eq!(k.judge.n, judge_pairs.len());
    let ci = (k.judge.ci_low.unwrap(), k.judge.ci_high.unwrap());
    assert!(
        ci.0 <= k.judge.value.unwrap() && k.judge.value.unwrap() <= ci.1,
        "{ci:?}"
    );
    assert!(report.flags.is_empty(), "{:?}", report.flags);
    assert_eq!(report.map_items, 10);

    // The report can apply the map, and says so.
    let cal = medbench_eval::calibrated::calibrated_results(&bank, &out.run_id, None).unwrap();
    let info = &cal.judging.as_ref().unwrap().calibration;
    assert!(info.applied);
    assert_eq!(
        (info.items_mapped, info.ratings),
        (10, imported.rows as u64)
    );

    // A judge that changed (another model behind the same name) is flagged.
    let mut changed = spec.clone();
    changed.model.name = "another-judge-model".into();
    let now = build_judge(&changed).unwrap();
    let again =
        medbench_judge::calibrate::calibrate(&mut bank, "cal-judge", None, Some(&now), 1).unwrap();
    assert!(
        again
            .flags
            .iter()
            .any(|f| f.contains("agreement was measured on judge version")),
        "{:?}",
        again.flags
    );

    // Bad rows name file, line and field, and store nothing.
    let bad = dir.path().join("bad.csv");
    std::fs::write(
        &bad,
        format!("rater,institution,response,criterion,value\ndr-c,X,{},99,met\ndr-c,X,{},1,maybe\n,X,{},1,met\n", rows[0].sample, rows[0].sample, rows[0].sample),
    )
    .unwrap();
    let before = bank.ratings().unwrap().len();
    let r = medbench_judge::ratings::import_ratings(&mut bank, &bad).unwrap();
    let shown = bad.display().to_string();
    assert_eq!(r.errors.len(), 3, "{:?}", r.errors);
    assert!(
        r.errors[0].starts_with(&format!("{shown}:2: criterion:")),
        "{}",
        r.errors[0]
    );
    assert!(
        r.errors[1].starts_with(&format!("{shown}:3: value:")),
        "{}",
        r.errors[1]
    );
    assert!(
        r.errors[2].starts_with(&format!("{shown}:4: rater:")),
        "{}",
        r.errors[2]
    );
    assert_eq!(bank.ratings().unwrap().len(), before);
}
