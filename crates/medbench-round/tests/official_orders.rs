//! Items kept with their official option orders (`variants`, the five copies of a v4
//! choice question): `eval` asks every order and scores the item strict, with the mean
//! beside it; a round asks the official orders as its instances, with each order's own
//! question text, and scores them by the same rule.

use medbench_core::Catalog;
use medbench_eval::{EvalOptions, ModelSpec, ProviderKind};
use medbench_import::{ImportOptions, Input, import};
use medbench_round::{DrawParams, Layout, SECRET_KEY, draw, export, submit};
use medbench_store::{Bank, SqliteBank};
use std::io::Read;

/// Three copies of one question: 乙 is right, shown as B, then C, then A.
const ITEM: &str = r#"{"id":"OrderExam/1","track":"llm","dimension":"knowledge_qa","language":"zh","question":"哪一项正确？\nA. 甲\nB. 乙\nC. 丙","format":{"type":"single_choice","options":[{"label":"A","text":"甲"},{"label":"B","text":"乙"},{"label":"C","text":"丙"}]},"reference":{"answer":"B"},"provenance":{"source":"test"},"review":"approved","tags":["prompt:verbatim"],"variants":[{"order":[0,1,2]},{"order":[2,0,1],"question":"哪一项正确？\nA. 丙\nB. 甲\nC. 乙"},{"order":[1,2,0],"question":"哪一项正确？\nA. 乙\nB. 丙\nC. 甲"}]}
{"id":"OrderExam/2","track":"llm","dimension":"knowledge_qa","language":"zh","question":"哪一项错误？\nA. 丁\nB. 戊","format":{"type":"single_choice","options":[{"label":"A","text":"丁"},{"label":"B","text":"戊"}]},"reference":{"answer":"A"},"provenance":{"source":"test"},"review":"approved","tags":["prompt:verbatim"]}
"#;

fn bank() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db").to_str().unwrap().to_owned();
    let file = dir.path().join("items.jsonl");
    std::fs::write(&file, ITEM).unwrap();
    let mut bank = SqliteBank::open(&db).unwrap();
    let r = import(
        &mut bank as &mut dyn Bank,
        vec![Input::Path(file)],
        ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert!(r.committed, "{:?}", r.rejects.first());
    bank.set_setting(SECRET_KEY, b"test secret").unwrap();
    (dir, db)
}

#[test]
fn eval_asks_every_official_order_and_scores_strict_with_the_mean_beside() {
    let (dir, db) = bank();
    // Right in the first two orders, wrong in the third; item 2 asked once, right.
    let predictions = dir.path().join("answers.jsonl");
    std::fs::write(
        &predictions,
        concat!(
            r#"{"id": "OrderExam/1#0", "answer": "<B>"}"#,
            "\n",
            r#"{"id": "OrderExam/1#1", "answer": "<C>"}"#,
            "\n",
            r#"{"id": "OrderExam/1#2", "answer": "<B>"}"#,
            "\n",
            r#"{"id": "OrderExam/2", "answer": "<A>"}"#,
            "\n"
        ),
    )
    .unwrap();
    let mut model = ModelSpec::named("file");
    model.provider = ProviderKind::Predictions;
    model.predictions = Some(predictions);
    let opts = EvalOptions {
        out: Some(dir.path().join("results")),
        ..Default::default()
    };
    let run = medbench_eval::evaluate(&db, &model, &opts, &mut |_| {}).unwrap();
    let t = &run.results.tasks["OrderExam"];
    // n counts questions, not copies.
    assert_eq!(t.stat.n, 2);
    assert_eq!(t.correct, 1);
    assert_eq!(t.wrong, 1);
    assert!((t.stat.score - 50.0).abs() < 1e-9, "{}", t.stat.score);
    let p = t
        .permutation
        .as_ref()
        .expect("strict and mean are reported");
    assert!((p.strict - 50.0).abs() < 1e-9);
    // Mean over orders: item 1 is right in 2 of 3, item 2 in its one.
    assert!(
        (p.mean - 100.0 * (2.0 / 3.0 + 1.0) / 2.0).abs() < 1e-9,
        "{}",
        p.mean
    );
    assert_eq!(p.instances, 4);
    // The asked requests carry each order's own question text.
    let bank = SqliteBank::open(&db).unwrap();
    let asked = bank.responses(&run.run_id).unwrap();
    let second = asked.iter().find(|r| r.item_id == "OrderExam/1#1").unwrap();
    assert!(
        second.request.contains("A. 丙\\nB. 甲\\nC. 乙"),
        "{}",
        second.request
    );
}

#[test]
fn a_round_asks_the_official_orders_with_their_own_texts() {
    let (dir, db) = bank();
    let mut bank = SqliteBank::open(&db).unwrap();
    let params = DrawParams {
        per_task: 5,
        permutations: 5,
        seed: 7,
        ..Default::default()
    };
    let drawn = draw(&mut bank, &params, &Catalog::builtin()).unwrap();
    let instances = bank.round_instances(&drawn.round.id).unwrap();
    let of_1: Vec<_> = instances
        .iter()
        .filter(|i| i.item_id == "OrderExam/1")
        .collect();
    // Three official orders, not five permutations of our own.
    assert_eq!(of_1.len(), 3);
    let out = dir.path().join("export");
    export(&bank, &drawn.round.id, Layout::MedbenchV4, &out).unwrap();
    let mut z =
        zip::ZipArchive::new(std::fs::File::open(out.join("MedBench_LLM.zip")).unwrap()).unwrap();
    let mut text = String::new();
    z.by_name("MedBench_LLM/OrderExam.jsonl")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    // Each instance shows its own copy's text; answer it right in every order.
    let mut filled = String::new();
    for line in text.lines() {
        let mut v: serde_json::Value = serde_json::from_str(line).unwrap();
        let q = v["question"].as_str().unwrap().to_owned();
        let right = if q.starts_with("哪一项错误") {
            "A"
        } else {
            ["A", "B", "C"]
                .into_iter()
                .find(|l| q.contains(&format!("{l}. 乙")))
                .unwrap()
        };
        v["answer"] = format!("<{right}>").into();
        filled.push_str(&v.to_string());
        filled.push('\n');
    }
    assert!(
        text.contains("A. 丙\\nB. 甲\\nC. 乙"),
        "the second copy's own text"
    );
    let file = dir.path().join("filled.jsonl");
    std::fs::write(&file, filled).unwrap();
    let sub = submit(&mut bank, &drawn.round.id, &file, "m").unwrap();
    let p = &sub.permutation["OrderExam"];
    assert_eq!((p.items, p.instances), (2, 4));
    assert!((p.strict - 100.0).abs() < 1e-9, "{}", p.strict);
}
