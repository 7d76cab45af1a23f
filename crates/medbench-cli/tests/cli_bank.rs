//! The `medbench` binary as a user runs it: import, stats, list, show, export.

mod common;
use common::{medbench, text};

#[test]
fn help_lists_every_subcommand_with_an_example() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");
    let top = text(&medbench(&db, &["--help"]));
    for sub in ["import", "items", "tasks", "specialties"] {
        assert!(top.contains(sub), "--help lacks {sub}:\n{top}");
    }
    for sub in [
        &["import", "--help"][..],
        &["items", "stats", "--help"],
        &["items", "list", "--help"],
        &["items", "show", "--help"],
        &["items", "export", "--help"],
        &["tasks", "--help"],
        &["specialties", "--help"],
    ] {
        let h = text(&medbench(&db, sub));
        assert!(
            h.contains("Example: medbench"),
            "{sub:?} --help has no example:\n{h}"
        );
    }
}

#[test]
fn demo_import_stats_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let o = medbench(&db, &["import", "--demo"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("rejected 0"));
    let stats: serde_json::Value =
        serde_json::from_slice(&medbench(&db, &["items", "stats", "--json"]).stdout).unwrap();
    let total = stats["total"]["items"].as_u64().unwrap();
    assert!(total >= 120, "demo bank has {total} items");
    for track in ["llm", "multimodal", "agent"] {
        assert!(
            stats["tracks"][track]["items"].as_u64().unwrap() > 0,
            "no {track} items"
        );
    }
    assert!(stats["languages"]["zh"]["items"].as_u64().unwrap() > 0);
    assert!(stats["languages"]["en"]["items"].as_u64().unwrap() > 0);
    assert_eq!(
        stats["formats"].as_object().unwrap().len(),
        15,
        "every answer format: {}",
        stats["formats"]
    );

    // Re-import changes nothing.
    let o = medbench(&db, &["import", "--demo"]);
    assert!(
        text(&o).contains(&format!("imported 0, updated 0, unchanged {total}")),
        "{}",
        text(&o)
    );

    // Export and re-import into a fresh bank: identical export, identical stats.
    let out1 = dir.path().join("e1/bank.jsonl");
    let o = medbench(&db, &["items", "export", "--out", out1.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let fresh = dir.path().join("fresh.db");
    let o = medbench(&fresh, &["import", out1.to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    let out2 = dir.path().join("e2/bank.jsonl");
    medbench(
        &fresh,
        &["items", "export", "--out", out2.to_str().unwrap()],
    );
    assert_eq!(std::fs::read(&out1).unwrap(), std::fs::read(&out2).unwrap());
    let s2: serde_json::Value =
        serde_json::from_slice(&medbench(&fresh, &["items", "stats", "--json"]).stdout).unwrap();
    assert_eq!(stats, s2);

    // Filters and show.
    let list = text(&medbench(
        &db,
        &[
            "items",
            "list",
            "--track",
            "multimodal",
            "--answer-format",
            "detection",
            "--json",
        ],
    ));
    assert!(
        list.lines().count() >= 1 && list.lines().all(|l| l.contains("\"format\":\"detection\"")),
        "{list}"
    );
    let first_id: String = serde_json::from_str::<serde_json::Value>(list.lines().next().unwrap())
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .into();
    let show = text(&medbench(&db, &["items", "show", &first_id]));
    assert!(
        show.contains("[reference]") && show.contains("[media]"),
        "{show}"
    );
    let missing = medbench(&db, &["items", "show", "Nope/1"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(text(&missing).contains("no item `Nope/1`"));
}

#[test]
fn rejected_input_exits_1_and_names_file_line_field() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let f = dir.path().join("items.jsonl");
    std::fs::write(
        &f,
        concat!(
            r#"{"id":"T/1","track":"llm","dimension":"knowledge_qa","language":"en","question":"q","format":{"type":"yes_no"},"reference":{"answer":"yes"},"provenance":{"source":"t"}}"#,
            "\n",
            r#"{"id":"T/2","track":"llm","dimension":"knowledge_qa","language":"en","question":"q","format":{"type":"yes_no"},"reference":{"answer":"maybe"},"provenance":{"source":"t"}}"#,
            "\n"
        ),
    )
    .unwrap();
    let o = medbench(&db, &["import", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    let t = text(&o);
    assert!(
        t.contains(&format!(
            "{}:2: reference.answer: `maybe` given but format.allow_maybe is false",
            f.display()
        )),
        "{t}"
    );
    assert!(t.contains("nothing was imported"), "{t}");
    let o = medbench(&db, &["import", f.to_str().unwrap(), "--skip-invalid"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    assert!(text(&o).contains("imported 1"));
    let o = medbench(&db, &["import", f.to_str().unwrap(), "--format", "bogus"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).contains("unknown input format `bogus`"));
}
