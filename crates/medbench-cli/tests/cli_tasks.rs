//! `medbench tasks`: the catalogue with each task's scoring recipe, as a table and as JSON.

mod common;
use common::{medbench, text};

#[test]
fn tasks_show_recipe_and_basis_per_task() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("b.db");

    let o = medbench(&db, &["tasks", "--json"]);
    assert!(o.status.success(), "{}", text(&o));
    let rows: Vec<serde_json::Value> = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(rows.len(), 62, "every v4 task");
    let row = |name: &str| rows.iter().find(|r| r["name"] == name).unwrap().clone();
    let qc = row("MedReportQC");
    assert_eq!(
        qc["recipe"],
        serde_json::json!(["micro_f1", "key_points", "judge"])
    );
    assert_eq!(qc["recipe_basis"], "official");
    assert_eq!(qc["needs_judge"], true);
    assert!(qc["aliases"].as_array().unwrap().contains(&"CTR-QC".into()));
    assert_eq!(row("MedExam")["recipe"], serde_json::json!(["accuracy"]));
    assert_eq!(row("MedExam")["needs_judge"], false);
    assert_eq!(row("MedQC")["recipe_basis"], "ours");
    for r in &rows {
        assert!(
            !r["recipe"].as_array().unwrap().is_empty(),
            "{} has no recipe",
            r["name"]
        );
    }

    let o = medbench(&db, &["tasks", "--track", "agent"]);
    assert!(o.status.success(), "{}", text(&o));
    let t = text(&o);
    assert!(t.contains("recipe") && t.contains("basis"), "{t}");
    let line = |name: &str| {
        t.lines()
            .find(|l| l.contains(&format!(" {name} ")))
            .unwrap_or_else(|| panic!("no row for {name}:\n{t}"))
            .to_owned()
    };
    assert!(
        line("MedCallAPI").contains(" judge "),
        "{}",
        line("MedCallAPI")
    );
    assert!(line("MedCallAPI").contains("official"));
    assert!(line("MedIntentID").contains(" accuracy "));
    assert!(line("MedDefend").contains(" ours "));
    assert!(!t.contains("MedExam"), "only the agent track:\n{t}");
    assert!(t.contains("14 task(s)"));

    let o = medbench(&db, &["tasks", "--track", "robots"]);
    assert!(!o.status.success());
    assert!(text(&o).contains("robots"), "{}", text(&o));
}
