//! The judge workflow as a user runs it: eval with a judge, a dry run, re-judging,
//! a blinded sample, ratings back in, calibration and a calibrated report.

mod common;
use common::{medbench, text};

use medbench_fake_llm::{AnswerPolicy, FakeConfig, start};

#[test]
fn eval_with_a_judge_then_dry_run_sample_rate_calibrate_and_report() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let model = rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::Fixed("Please go to the emergency department now.".into()),
        ..Default::default()
    }));
    // Met when the criterion's text mentions a refusal or urgency; explanation first.
    let judge = rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::custom(|p| {
            let met = p.contains("拒绝") || p.contains("急诊") || p.contains("advises against");
            format!("{{\"explanation\": \"read\", \"criteria_met\": {met}}}")
        }),
        ..Default::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.db");
    let out = dir.path().join("res");
    let (mb, jb) = (model.base_url(), judge.base_url());
    let o = medbench(
        &db,
        &[
            "eval",
            "--demo",
            "--model",
            "m",
            "--base-url",
            &mb,
            "--tasks",
            "DemoShield,DemoEthicsEN",
            "--judge-model",
            "j",
            "--judge-base-url",
            &jb,
            "--judge-name",
            "house-judge",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("judge house-judge (j, rubric@"),
        "{}",
        text(&o)
    );
    let calls = judge.total_requests();
    assert!(calls >= 20, "{calls}");
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let run = results["run_id"].as_str().unwrap().to_owned();
    assert!(
        results["tasks"]["DemoShield"]["scorer"]
            .as_str()
            .unwrap()
            .starts_with("judge:rubric:house-judge@")
    );
    assert!(
        std::fs::read_to_string(out.join("report.html"))
            .unwrap()
            .contains("Not calibrated")
    );

    // A dry run of the same judge has nothing left to send; of another judge, every call.
    let o = medbench(
        &db,
        &[
            "judge",
            &run,
            "--judge-model",
            "j",
            "--judge-base-url",
            &jb,
            "--judge-name",
            "house-judge",
            "--dry-run",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains(&format!(
            "{calls} judge calls: {calls} already judged and stored, 0 answered from the judge cache, 0 to send"
        )),
        "{}",
        text(&o)
    );
    let o = medbench(
        &db,
        &[
            "judge",
            &run,
            "--judge-model",
            "j2",
            "--judge-base-url",
            &jb,
            "--dry-run",
            "--judge-price-input",
            "2",
            "--judge-price-output",
            "8",
        ],
    );
    assert!(
        text(&o).contains(&format!(
            "{calls} judge calls: 0 already judged and stored, 0 answered from the judge cache, {calls} to send"
        )),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("estimated cost: $"), "{}", text(&o));
    assert_eq!(judge.total_requests(), calls, "a dry run sends nothing");

    // Blinded sample → ratings sheet → filled by two physicians → imported.
    let sample = dir.path().join("sample.jsonl");
    let o = medbench(
        &db,
        &[
            "human",
            "sample",
            &run,
            "--n",
            "4",
            "--out",
            sample.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let sheet = std::fs::read_to_string(format!("{}.ratings.csv", sample.display())).unwrap();
    let mut filled = String::from("rater,institution,response,criterion,value\n");
    for (i, line) in sheet.lines().skip(1).enumerate() {
        let cols: Vec<&str> = line.split(',').collect();
        let (resp, crit) = (cols[2], cols[3]);
        for (who, flip) in [("dr-a", 0), ("dr-b", 1)] {
            let value = if crit == "overall" {
                (2 + (i + flip) % 3).to_string()
            } else if (i + flip) % 3 == 0 {
                "not met".into()
            } else {
                "met".into()
            };
            filled.push_str(&format!("{who},H,{resp},{crit},{value}\n"));
        }
    }
    let ratings = dir.path().join("filled.csv");
    std::fs::write(&ratings, filled).unwrap();
    let o = medbench(&db, &["ratings", "import", ratings.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("2 rater(s), 4 response(s)"),
        "{}",
        text(&o)
    );

    let o = medbench(&db, &["calibrate", "--judge", "house-judge"]);
    assert!(o.status.success(), "{}", text(&o));
    for want in [
        "Cohen's kappa",
        "physician vs physician (ceiling)",
        "isotonic map",
        "Item scores",
    ] {
        assert!(text(&o).contains(want), "{want}: {}", text(&o));
    }
    let o = medbench(&db, &["report", &run, "--calibrated", "--format", "json"]);
    assert!(o.status.success(), "{}", text(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["judging"]["calibration"]["applied"], true);
    assert_eq!(
        r["judging"]["calibration"]["ratings"].as_u64().unwrap() as usize,
        2 * (sheet.lines().count() - 1)
    );
}

#[test]
fn submit_and_eval_round_take_the_judge_flags() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let model = rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::Fixed("诊断：糖尿病酮症酸中毒。".into()),
        ..Default::default()
    }));
    // Covers the first key point of every item, none of the others.
    let judge = rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::custom(|p| {
            let n = p
                .split("<key_points>")
                .nth(1)
                .and_then(|r| r.split("</key_points>").next())
                .map(|r| r.trim().lines().count())
                .unwrap_or(0);
            let list: Vec<String> = (1..=n)
                .map(|i| format!("{{\"point\": {i}, \"covered\": {}}}", i == 1))
                .collect();
            format!("{{\"key_points\": [{}]}}", list.join(", "))
        }),
        ..Default::default()
    }));
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("r.db");
    assert!(medbench(&db, &["import", "--demo"]).status.success());
    let o = medbench(
        &db,
        &[
            "round",
            "draw",
            "--per-task",
            "2",
            "--seed",
            "3",
            "--tasks",
            "DemoCase",
            "--name",
            "open",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let bank = medbench_store::SqliteBank::open(db.to_str().unwrap()).unwrap();
    let round = bank.find_rounds("open").unwrap().remove(0).id;
    let rows: String = bank
        .round_instances(&round)
        .unwrap()
        .iter()
        .map(|i| {
            format!(
                "{}\n",
                serde_json::json!({"id": i.instance_id, "answer": "急性心梗"})
            )
        })
        .collect();
    drop(bank);
    let answers = dir.path().join("answers.jsonl");
    std::fs::write(&answers, rows).unwrap();
    let jb = judge.base_url();
    let judged = |args: &[&str], out: &std::path::Path| {
        let mut a: Vec<&str> = args.to_vec();
        a.extend([
            "--judge-model",
            "j",
            "--judge-base-url",
            &jb,
            "--judge-name",
            "kp-judge",
            "--out",
            out.to_str().unwrap(),
        ]);
        let o = medbench(&db, &a);
        assert!(o.status.success(), "{}", text(&o));
        assert!(
            text(&o).contains("judge kp-judge (j, key_points@"),
            "{}",
            text(&o)
        );
        let r: serde_json::Value =
            serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
        assert!(
            r["tasks"]["DemoCase"]["scorer"]
                .as_str()
                .unwrap()
                .starts_with("judge:key_points:kp-judge@"),
            "{r}"
        );
        r
    };
    let a = answers.to_str().unwrap();
    let r = judged(
        &["submit", "open", a, "--model", "m"],
        &dir.path().join("s"),
    );
    assert_eq!(judge.total_requests(), 2);
    let score = r["tasks"]["DemoCase"]["score"].as_f64().unwrap();
    assert!(score > 0.0 && score < 50.0, "{score}");
    judged(
        &["submit", "open", a, "--model", "m"],
        &dir.path().join("s2"),
    );
    assert_eq!(
        judge.total_requests(),
        2,
        "resubmitting sends no judge call"
    );
    let mb = model.base_url();
    judged(
        &["eval", "--round", "open", "--model", "m", "--base-url", &mb],
        &dir.path().join("e"),
    );
    assert_eq!(judge.total_requests(), 4);

    // `medbench judge` on a round's run: nothing left to send for the same judge; under
    // another name (same model, endpoint and prompt: the same judge version) the stored
    // verdicts are reused and the run is rescored by the round's rules.
    let run = r["run_id"].as_str().unwrap();
    let j = |name: &str, extra: &[&str]| {
        let mut a = vec![
            "judge",
            run,
            "--judge-model",
            "j",
            "--judge-base-url",
            &jb,
            "--judge-name",
            name,
        ];
        a.extend_from_slice(extra);
        medbench(&db, &a)
    };
    let o = j("kp-judge", &["--dry-run"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("2 judge calls: 2 already judged and stored"),
        "{}",
        text(&o)
    );
    let out = dir.path().join("j");
    let o = j("other-judge", &["--out", out.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert_eq!(judge.total_requests(), 4);
    let r2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(r2["run_id"], r["run_id"]);
    assert_eq!(r2["model"]["name"], "m");
    assert!(
        r2["tasks"]["DemoCase"]["scorer"]
            .as_str()
            .unwrap()
            .starts_with("judge:key_points:other-judge@"),
        "{r2}"
    );
    assert_eq!(
        r2["tasks"]["DemoCase"]["score"], r["tasks"]["DemoCase"]["score"],
        "the same verdicts give the same macro-recall"
    );
}
