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
