//! Reading a run item by item: eval runs find answers by `<item id>[#k]` keys, runs of a
//! round find them through the round's instance ids.

use medbench_core::Item;
use medbench_store::{Bank, InstanceRow, ItemRow, ResponseRow, RoundRow, SqliteBank};
use std::collections::BTreeMap;

fn item(id: &str) -> Item {
    serde_json::from_value(serde_json::json!({
        "id": id, "task": "T", "track": "llm", "dimension": "knowledge_qa", "language": "zh",
        "question": format!("问题 {id}"),
        "format": {"type": "single_choice", "options": [{"label": "A", "text": "甲"}, {"label": "B", "text": "乙"}]},
        "reference": {"answer": "A"},
        "provenance": {"source": "test"}, "review": "approved"
    }))
    .unwrap()
}

fn answer(run: &str, key: &str, text: &str) -> ResponseRow {
    ResponseRow {
        run_id: run.into(),
        item_id: key.into(),
        request_hash: format!("h:{run}:{key}"),
        request: "{}".into(),
        text: Some(text.into()),
        tool_calls: None,
        error_kind: None,
        error: None,
        prompt_tokens: None,
        completion_tokens: None,
        latency_ms: 0,
        attempts: 1,
        cached: false,
        at: "2026-01-01T00:00:00Z".into(),
    }
}

fn instance(round: &str, id: &str, item: &str, k: u32) -> InstanceRow {
    InstanceRow {
        round_id: round.into(),
        instance_id: id.into(),
        item_id: item.into(),
        item_version: 1,
        task: "T".into(),
        permutation: k,
        format: "{}".into(),
        reference: None,
        source: "T".into(),
    }
}

/// item id → answer keys and texts, as the run reader gives them.
fn read(bank: &SqliteBank, run: &str) -> BTreeMap<String, Vec<(String, String)>> {
    let mut out = BTreeMap::new();
    bank.for_each_run_row(run, &mut |row| {
        let a = row
            .answers
            .iter()
            .map(|(k, a)| (k.clone(), a.text.clone().unwrap_or_default()))
            .collect();
        out.insert(row.id.clone(), a);
        Ok(())
    })
    .unwrap();
    out
}

fn bank() -> SqliteBank {
    let mut bank = SqliteBank::open(":memory:").unwrap();
    let mut s = bank.begin_import("test").unwrap();
    for (i, id) in ["T/1", "T/10", "T/2"].iter().enumerate() {
        s.put(&ItemRow::prepare(&item(id)), &format!("t.jsonl:{}", i + 1))
            .unwrap();
    }
    s.commit().unwrap();
    bank
}

fn selection() -> Vec<(String, u32, String)> {
    ["T/1", "T/10", "T/2"]
        .iter()
        .map(|id| (id.to_string(), 1, "T".to_string()))
        .collect()
}

#[test]
fn eval_runs_read_item_keys_and_round_runs_read_instance_ids() {
    let mut bank = bank();
    // An eval run: T/1 in two orders, T/10 once (a key inside T/1's range), T/2 unanswered.
    bank.open_run("run-e", "m", "{\"model\": \"m\"}", "t0", &selection())
        .unwrap();
    bank.put_responses(&[
        answer("run-e", "T/1#1", "e1b"),
        answer("run-e", "T/1#0", "e1a"),
        answer("run-e", "T/10", "e10"),
    ])
    .unwrap();
    let e = read(&bank, "run-e");
    assert_eq!(
        e["T/1"],
        vec![
            ("T/1#0".into(), "e1a".into()),
            ("T/1#1".into(), "e1b".into())
        ]
    );
    assert_eq!(e["T/10"], vec![("T/10".into(), "e10".into())]);
    assert!(e["T/2"].is_empty());
    assert_eq!(bank.run_round("run-e").unwrap(), None);

    // A round run: answers under opaque ids, read in permutation order.
    let round = RoundRow {
        id: "round-x".into(),
        seq: 1,
        name: "x".into(),
        seed: 1,
        params: "{}".into(),
        canary: "MEDBENCH-CANARY-round-x-0".into(),
        created_at: "t0".into(),
    };
    bank.put_round(
        &round,
        &[
            instance("round-x", "ffff", "T/1", 0),
            instance("round-x", "0000", "T/1", 1),
            instance("round-x", "aaaa", "T/10", 0),
            instance("round-x", "bbbb", "T/2", 0),
        ],
    )
    .unwrap();
    bank.open_run(
        "run-r",
        "m",
        "{\"model\": \"m\", \"round\": \"round-x\"}",
        "t0",
        &selection(),
    )
    .unwrap();
    bank.put_responses(&[
        answer("run-r", "0000", "r1b"),
        answer("run-r", "ffff", "r1a"),
        answer("run-r", "aaaa", "r10"),
        // Another run's answer to T/2's instance is not this run's.
        answer("run-e", "bbbb", "elsewhere"),
    ])
    .unwrap();
    let r = read(&bank, "run-r");
    assert_eq!(
        r["T/1"],
        vec![("ffff".into(), "r1a".into()), ("0000".into(), "r1b".into())]
    );
    assert_eq!(r["T/10"], vec![("aaaa".into(), "r10".into())]);
    assert!(r["T/2"].is_empty());
    assert_eq!(bank.run_round("run-r").unwrap().as_deref(), Some("round-x"));
    // The eval run is read as before, whatever the round holds.
    assert_eq!(read(&bank, "run-e")["T/10"], e["T/10"]);

    let mut first = BTreeMap::new();
    bank.for_each_run_item("run-r", &mut |item, a| {
        first.insert(item.id.clone(), a.and_then(|a| a.text));
        Ok(())
    })
    .unwrap();
    assert_eq!(first["T/1"].as_deref(), Some("r1a"));
    assert_eq!(first["T/2"], None);
}

#[test]
fn a_run_whose_spec_is_not_json_is_an_error_not_an_eval_run() {
    let mut bank = bank();
    bank.open_run("run-b", "m", "not json", "t0", &selection())
        .unwrap();
    let e = bank
        .for_each_run_row("run-b", &mut |_| Ok(()))
        .unwrap_err()
        .to_string();
    assert!(e.contains("run-b") && e.contains("spec"), "{e}");
}
