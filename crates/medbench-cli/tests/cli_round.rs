//! `medbench round …`, `submit`, `eval --round` and `contamination` as a user runs them.

mod common;
use common::{medbench, text};

#[test]
fn round_commands_have_help_with_examples() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    for sub in [
        &["round", "--help"][..],
        &["round", "draw", "--help"],
        &["round", "list", "--help"],
        &["round", "export", "--help"],
        &["submit", "--help"],
        &["contamination", "--help"],
    ] {
        let h = text(&medbench(&db, sub));
        assert!(
            h.contains("Example: medbench"),
            "{sub:?} --help has no example:\n{h}"
        );
    }
}

#[test]
fn draw_export_submit_report_compare_and_scan() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    assert!(medbench(&db, &["import", "--demo"]).status.success());
    let o = medbench(
        &db,
        &[
            "round",
            "draw",
            "--per-task",
            "5",
            "--permutations",
            "3",
            "--seed",
            "7",
            "--tasks",
            "DemoExam,DemoExamEN,DemoECG",
            "--name",
            "r1",
            "--json",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let d: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let round = d["round"]["id"].as_str().unwrap().to_owned();
    assert_eq!(d["instances"], 45);
    let o = medbench(&db, &["round", "list"]);
    assert!(
        text(&o).contains(&round) && text(&o).contains("r1"),
        "{}",
        text(&o)
    );

    let out = dir.path().join("x");
    let o = medbench(
        &db,
        &["round", "export", "r1", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(out.join("MedBench_LLM.zip").exists() && out.join("MedBench_VLM_QA.zip").exists());

    // Fill the answers from the server-side key (the bank), as an oracle would.
    let bank = medbench_store::SqliteBank::open(db.to_str().unwrap()).unwrap();
    let mut rows = String::new();
    for i in bank.round_instances(&round).unwrap() {
        let (_, r) = medbench_round::instance::instance_parts(&i).unwrap();
        let Some(medbench_core::Reference::Choice { answer }) = r else {
            panic!()
        };
        rows.push_str(&format!(
            "{}\n",
            serde_json::json!({"id": i.instance_id, "answer": answer.join("")})
        ));
    }
    drop(bank);
    let answers = dir.path().join("answers.jsonl");
    std::fs::write(&answers, rows).unwrap();
    let res = dir.path().join("res");
    let o = medbench(
        &db,
        &[
            "submit",
            "r1",
            answers.to_str().unwrap(),
            "--model",
            "oracle",
            "--out",
            res.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("45 of 45 instances answered"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("strict"), "{}", text(&o));
    let r: serde_json::Value =
        serde_json::from_slice(&std::fs::read(res.join("results.json")).unwrap()).unwrap();
    assert_eq!(r["overall"]["score"], 100.0);
    let run = r["run_id"].as_str().unwrap().to_owned();
    assert!(
        medbench(&db, &["report", &run, "--format", "csv"])
            .status
            .success()
    );

    // A live run on the same round (offline random baseline) compares with the submission.
    let live = dir.path().join("live");
    let o = medbench(
        &db,
        &[
            "eval",
            "--round",
            "r1",
            "--model",
            "random",
            "--out",
            live.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let l: serde_json::Value =
        serde_json::from_slice(&std::fs::read(live.join("results.json")).unwrap()).unwrap();
    let o = medbench(
        &db,
        &["compare", &run, l["run_id"].as_str().unwrap(), "--json"],
    );
    assert!(o.status.success(), "{}", text(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(c["all_items"]["n"], 15);

    // A rejected row: exit status 1, with the file and line named.
    let bad = dir.path().join("bad.jsonl");
    std::fs::write(
        &bad,
        format!(
            "{}\n{{\"id\": \"ffffffffffffffff\", \"answer\": \"A\"}}\n",
            std::fs::read_to_string(&answers)
                .unwrap()
                .lines()
                .next()
                .unwrap()
        ),
    )
    .unwrap();
    let o = medbench(
        &db,
        &[
            "submit",
            "r1",
            bad.to_str().unwrap(),
            "--model",
            "m",
            "--out",
            dir.path().join("badres").to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains("bad.jsonl:2: id: `ffffffffffffffff` is not an instance"),
        "{}",
        text(&o)
    );

    // Contamination: the export itself carries the canary.
    let o = medbench(&db, &["contamination", out.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        text(&o).contains(&format!("(round {round})")),
        "{}",
        text(&o)
    );
    let clean = dir.path().join("clean.txt");
    std::fs::write(&clean, "nothing here").unwrap();
    assert_eq!(
        medbench(&db, &["contamination", clean.to_str().unwrap()])
            .status
            .code(),
        Some(0)
    );
}

#[test]
fn bad_input_exits_non_zero_with_a_message() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    assert!(medbench(&db, &["import", "--demo"]).status.success());
    for (args, msg) in [
        (
            &["round", "export", "nope", "--out", "x"][..],
            "no round `nope`",
        ),
        (
            &["round", "draw", "--per-task", "0", "--seed", "1"],
            "--per-task must be at least 1",
        ),
        (
            &[
                "round",
                "draw",
                "--per-task",
                "3",
                "--seed",
                "1",
                "--tasks",
                "NoSuchTask",
            ],
            "task `NoSuchTask` has no approved items",
        ),
        (
            &[
                "round",
                "draw",
                "--per-task",
                "3",
                "--seed",
                "1",
                "--track",
                "dental",
            ],
            "unknown track `dental`",
        ),
        (
            &["submit", "nope", "x.jsonl", "--model", "m"],
            "no round `nope`",
        ),
        (&["contamination", "/no/such/path"], "/no/such/path"),
    ] {
        let o = medbench(&db, args);
        assert!(!o.status.success(), "{args:?} succeeded");
        assert!(text(&o).contains(msg), "{args:?}: {}", text(&o));
    }
    assert!(
        medbench(
            &db,
            &[
                "round",
                "draw",
                "--per-task",
                "2",
                "--seed",
                "1",
                "--name",
                "a"
            ]
        )
        .status
        .success()
    );
    let o = medbench(
        &db,
        &[
            "round",
            "export",
            "a",
            "--out",
            dir.path().join("o").to_str().unwrap(),
            "--layout",
            "csv",
        ],
    );
    assert!(
        !o.status.success() && text(&o).contains("unknown layout `csv`"),
        "{}",
        text(&o)
    );
    let o = medbench(
        &db,
        &[
            "round",
            "draw",
            "--per-task",
            "2",
            "--seed",
            "1",
            "--name",
            "a",
        ],
    );
    assert!(
        !o.status.success() && text(&o).contains("exists already"),
        "{}",
        text(&o)
    );
}
