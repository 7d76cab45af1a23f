//! Judging round runs: submissions and live rounds with a fake LLM judge. The fake
//! judge covers the odd-numbered key points of every item, so each open item's
//! expected score (its recall) and each task's (the macro-recall) are computed here.

mod common;

use common::*;
use medbench_core::{Item, Reference};
use medbench_eval::medbench_judge::Judge;
use medbench_eval::{EvalOptions, JudgeSpec, ModelSpec, build_judge};
use medbench_fake_llm::{AnswerPolicy, FakeConfig, FakeServer, start};
use medbench_round::{DrawParams, Submitted, UnpackLimits, evaluate_round, submit, submit_with};
use medbench_store::{Bank, InstanceRow, SqliteBank};
use std::collections::{BTreeMap, BTreeSet};

const OPEN_TASK: &str = "DemoCase";
const CHOICE_TASK: &str = "DemoExam";

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

/// The text between `<tag…>` and `</tag>` in a judge prompt.
fn between<'a>(text: &'a str, open: &str, close: &str) -> &'a str {
    let start = text.find(open).map(|i| i + open.len()).unwrap_or(0);
    let rest = &text[start..];
    let start = rest.find('>').map(|i| i + 1).unwrap_or(0);
    let rest = &rest[start..];
    rest[..rest.find(close).unwrap_or(rest.len())].trim()
}

/// A fake judge that finds the odd-numbered key points covered, the even ones not.
fn key_point_judge(rt: &tokio::runtime::Runtime) -> FakeServer {
    rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::custom(|prompt| {
            if !prompt.contains("<key_points>") {
                return "not a key-point prompt".into();
            }
            let n = between(prompt, "<key_points", "</key_points>")
                .lines()
                .count();
            let list: Vec<String> = (1..=n)
                .map(|i| format!("{{\"point\": {i}, \"covered\": {}}}", i % 2 == 1))
                .collect();
            format!("{{\"key_points\": [{}]}}", list.join(", "))
        }),
        ..Default::default()
    }))
}

fn judge(server: &FakeServer) -> Judge {
    build_judge(&JudgeSpec {
        name: Some("kp".into()),
        tasks: vec![],
        model: endpoint(server, "fake-judge"),
    })
    .unwrap()
}

/// A round of choice items under 3 permutations and open items with key points.
fn round(f: &Fixture) -> (String, Vec<InstanceRow>) {
    let mut bank = f.bank();
    let d = do_draw(
        &mut bank,
        &DrawParams {
            tasks: vec![CHOICE_TASK.into(), OPEN_TASK.into()],
            ..params(4, 3, 11)
        },
    );
    let instances = bank.round_instances(&d.round.id).unwrap();
    let open = instances.iter().filter(|i| i.task == OPEN_TASK).count();
    assert!(open >= 2, "the demo bank should give key-point items");
    (d.round.id, instances)
}

/// A native answer file: the key for choice instances, prose for open ones.
fn answers_file(f: &Fixture, instances: &[InstanceRow]) -> std::path::PathBuf {
    let mut text = String::new();
    for i in instances {
        let answer = key_answer(i)
            .map(|a| format!("答案：<{a}>"))
            .unwrap_or_else(|| "诊断：急性心肌梗死。立即完善心电图与肌钙蛋白。".into());
        text.push_str(&serde_json::json!({"id": i.instance_id, "answer": answer}).to_string());
        text.push('\n');
    }
    let path = f.path("answers.jsonl");
    std::fs::write(&path, text).unwrap();
    path
}

/// The recall the fake judge gives an item with `n` key points.
fn recall(n: usize) -> f64 {
    n.div_ceil(2) as f64 / n as f64
}

/// Expected recall per open item of the run.
fn expected(bank: &SqliteBank, instances: &[InstanceRow]) -> BTreeMap<String, (usize, f64)> {
    instances
        .iter()
        .filter(|i| i.task == OPEN_TASK)
        .map(|i| {
            let item: Item = bank
                .get_version(&i.item_id, i.item_version)
                .unwrap()
                .unwrap();
            let Some(Reference::Open(r)) = &item.reference else {
                panic!("{} has no open reference", item.id)
            };
            assert!(!r.key_points.is_empty(), "{} has no key points", item.id);
            (
                item.id.clone(),
                (r.key_points.len(), recall(r.key_points.len())),
            )
        })
        .collect()
}

/// Open items carry the judge's recall under a key-point scorer, one stored verdict per
/// key point; choice items keep their strict rule scores; the task score is the macro-recall.
fn assert_judged(f: &Fixture, s: &Submitted, instances: &[InstanceRow], choice_score: f64) {
    let bank = f.bank();
    let want = expected(&bank, instances);
    let scores: BTreeMap<String, _> = bank
        .scores(&s.run_id)
        .unwrap()
        .into_iter()
        .map(|r| (r.item_id.clone(), r))
        .collect();
    for (id, (_, value)) in &want {
        let row = &scores[id];
        assert!(
            row.scorer.starts_with("judge:key_points:kp@"),
            "{id}: {}",
            row.scorer
        );
        assert!((row.value - value).abs() < 1e-9, "{id}: {}", row.value);
    }
    for (id, row) in &scores {
        if !want.contains_key(id) {
            assert!(!row.scorer.starts_with("judge:"), "{id}: {}", row.scorer);
            assert!(row.scorer.contains("+strict@3"), "{id}: {}", row.scorer);
        }
    }
    let mut units: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for j in bank.judgements(&s.run_id).unwrap() {
        assert_eq!(j.status, "ok", "{j:?}");
        units
            .entry(j.item_id.clone())
            .or_default()
            .insert(j.unit.clone(), j.value.unwrap());
    }
    assert_eq!(
        units.keys().collect::<BTreeSet<_>>(),
        want.keys().collect::<BTreeSet<_>>()
    );
    for (id, (n, _)) in &want {
        let got = &units[id];
        let wanted: BTreeMap<String, f64> = (1..=*n)
            .map(|k| (format!("k{k}"), if k % 2 == 1 { 1.0 } else { 0.0 }))
            .collect();
        assert_eq!(got, &wanted, "{id}: one verdict per key point");
    }
    let macro_recall = 100.0 * want.values().map(|(_, v)| v).sum::<f64>() / want.len() as f64;
    let open = &s.results.tasks[OPEN_TASK];
    assert!(
        (open.stat.score - macro_recall).abs() < 1e-6,
        "{} vs {macro_recall}",
        open.stat.score
    );
    assert!((s.permutation[OPEN_TASK].mean - macro_recall).abs() < 1e-6);
    assert_eq!(s.results.tasks[CHOICE_TASK].stat.score, choice_score);
    let judging = s
        .results
        .judging
        .as_ref()
        .expect("results.judging is filled");
    assert_eq!(judging.judges.len(), 1);
    assert_eq!(judging.judges[0].kind, "key_points");
    assert_eq!(judging.judges[0].items, want.len() as u64);
    assert_eq!(judging.judges[0].errors, 0);
}

#[test]
fn a_submission_is_judged_once_and_resubmitting_sends_no_judge_call() {
    let rt = runtime();
    let judge_server = key_point_judge(&rt);
    let judges = vec![judge(&judge_server)];
    let f = demo_bank();
    let (round_id, instances) = round(&f);
    let file = answers_file(&f, &instances);
    let open = instances.iter().filter(|i| i.task == OPEN_TASK).count() as u64;

    let mut bank = f.bank();
    let limits = UnpackLimits::default();
    let s = submit_with(
        &mut bank,
        &round_id,
        &file,
        "m",
        &limits,
        &judges,
        &mut |_| {},
    )
    .unwrap();
    // Key points: one judge call per open answer, carrying all its points.
    assert_eq!(judge_server.total_requests(), open);
    assert_judged(&f, &s, &instances, 100.0);

    let again = submit_with(
        &mut bank,
        &round_id,
        &file,
        "m",
        &limits,
        &judges,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(again.run_id, s.run_id);
    assert_eq!(judge_server.total_requests(), open, "verdicts are reused");
    assert_judged(&f, &again, &instances, 100.0);

    // Without a judge: the stand-in metric, no judging section, no call.
    let plain = submit(&mut bank, &round_id, &file, "m").unwrap();
    assert_eq!(judge_server.total_requests(), open);
    assert!(plain.results.judging.is_none());
    for row in bank.scores(&plain.run_id).unwrap() {
        assert!(!row.scorer.starts_with("judge:"), "{}", row.scorer);
    }
    assert_eq!(plain.results.tasks[CHOICE_TASK].stat.score, 100.0);
}

#[test]
fn a_live_round_is_judged_and_a_rerun_sends_no_judge_call() {
    let rt = runtime();
    let judge_server = key_point_judge(&rt);
    // The model names no option, so every choice item is wrong (unparsed) in every order.
    let model = rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::Fixed("诊断：急性下壁心肌梗死，立即行直接PCI。".into()),
        ..Default::default()
    }));
    let f = demo_bank();
    let (round_id, instances) = round(&f);
    let open = instances.iter().filter(|i| i.task == OPEN_TASK).count() as u64;
    let opts = EvalOptions {
        seed: 5,
        judges: vec![judge(&judge_server)],
        ..Default::default()
    };
    let m = endpoint(&model, "fake-model");
    let mut judge_calls = 0;
    let s = evaluate_round(&f.db, &m, &round_id, &opts, &mut |_| {}, &mut |p| {
        judge_calls = p.total
    })
    .unwrap();
    assert_eq!(s.answered, instances.len());
    assert_eq!(judge_calls, open);
    assert_eq!(judge_server.total_requests(), open);
    assert_judged(&f, &s, &instances, 0.0);

    let asked = model.total_requests();
    let again = evaluate_round(&f.db, &m, &round_id, &opts, &mut |_| {}, &mut |_| {}).unwrap();
    assert_eq!(again.run_id, s.run_id);
    assert_eq!(model.total_requests(), asked, "answers are reused");
    assert_eq!(judge_server.total_requests(), open, "verdicts are reused");
    assert_judged(&f, &again, &instances, 0.0);

    // The same round without a judge: ROUGE-L stands in.
    let plain = evaluate_round(
        &f.db,
        &m,
        &round_id,
        &EvalOptions {
            seed: 5,
            ..Default::default()
        },
        &mut |_| {},
        &mut |_| {},
    )
    .unwrap();
    assert!(plain.results.judging.is_none());
    assert_eq!(judge_server.total_requests(), open);
    let bank = f.bank();
    for row in bank.scores(&plain.run_id).unwrap() {
        assert!(!row.scorer.starts_with("judge:"), "{}", row.scorer);
    }
}

#[test]
fn a_round_runs_answers_are_read_per_item_through_its_instances() {
    let f = demo_bank();
    let (round_id, instances) = round(&f);
    let file = answers_file(&f, &instances);
    let mut bank = f.bank();
    let s = submit(&mut bank, &round_id, &file, "m").unwrap();
    assert_eq!(bank.run_round(&s.run_id).unwrap(), Some(round_id.clone()));
    let mut seen = BTreeMap::new();
    bank.for_each_run_row(&s.run_id, &mut |row| {
        seen.insert(row.id.clone(), row.answers);
        Ok(())
    })
    .unwrap();
    for i in &instances {
        let answers = &seen[&i.item_id];
        let (key, a) = &answers[i.permutation as usize];
        assert_eq!(key, &i.instance_id, "instances come in permutation order");
        assert!(a.text.is_some());
    }
    for (id, answers) in &seen {
        let n = instances.iter().filter(|i| &i.item_id == id).count();
        assert_eq!(answers.len(), n, "{id}");
    }
}
