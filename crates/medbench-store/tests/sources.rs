//! Source files and raw lines kept for the official answer export.

use medbench_store::{Bank, SourceFileRow, SourceRowRow, SqliteBank};
use std::collections::HashSet;

fn file(container: &str, path: &str) -> SourceFileRow {
    SourceFileRow {
        container: container.into(),
        path: path.into(),
        eol: "\n".into(),
        final_eol: true,
    }
}

fn row(line: u64, raw: &str, item: &str, variant: u32) -> SourceRowRow {
    SourceRowRow {
        line,
        raw: raw.into(),
        item_id: item.into(),
        variant,
    }
}

fn ids(v: &[&str]) -> HashSet<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn keep(bank: &mut SqliteBank, f: &SourceFileRow, rows: &[SourceRowRow]) {
    let mut s = bank.begin_import("test").unwrap();
    s.put_source_file(f, rows).unwrap();
    s.commit().unwrap();
}

#[test]
fn a_files_rows_come_back_whole_for_any_of_its_items() {
    let mut bank = SqliteBank::open(":memory:").unwrap();
    let exam = file("MedBench_LLM.zip", "MedBench_LLM/MedExam.jsonl");
    let exam_rows = vec![
        row(1, r#"{"q":1}"#, "MedExam/3", 0),
        row(2, r#"{"q":2}"#, "MedExam/3", 1),
        row(3, "", "", 0),
        row(4, r#"{"q":4}"#, "MedExam/4", 0),
    ];
    let mut crlf = file("", "MedSafety.jsonl");
    crlf.eol = "\r\n".into();
    crlf.final_eol = false;
    let safety_rows = vec![row(1, "x", "MedSafety/4", 0)];
    {
        let mut s = bank.begin_import("test").unwrap();
        // Rows handed over out of order come back in line order.
        let mut shuffled = exam_rows.clone();
        shuffled.reverse();
        s.put_source_file(&exam, &shuffled).unwrap();
        s.put_source_file(&crlf, &safety_rows).unwrap();
        s.commit().unwrap();
    }
    let got = bank.source_layout(&ids(&["MedExam/4"])).unwrap();
    assert_eq!(got, vec![(exam.clone(), exam_rows.clone())]);
    let got = bank
        .source_layout(&ids(&["MedSafety/4", "MedExam/3", "Nope/1"]))
        .unwrap();
    assert_eq!(
        got,
        vec![(crlf, safety_rows), (exam.clone(), exam_rows.clone())],
        "files in (container, path) order"
    );
    // Blank lines have no item; asking for "" finds nothing.
    assert!(
        bank.source_layout(&ids(&["", "Nope/1"]))
            .unwrap()
            .is_empty()
    );

    // Re-importing the same place replaces its rows (fewer lines now).
    let shorter = vec![row(1, r#"{"q":1}"#, "MedExam/3", 0)];
    let mut changed = exam.clone();
    changed.final_eol = false;
    keep(&mut bank, &changed, &shorter);
    let got = bank.source_layout(&ids(&["MedExam/3"])).unwrap();
    assert_eq!(got, vec![(changed, shorter)]);
    assert!(
        bank.source_layout(&ids(&["MedExam/4"])).unwrap().is_empty(),
        "the old line 4 is gone"
    );
    // The same file under another place is another file.
    keep(&mut bank, &file("", "MedExam.jsonl"), &exam_rows);
    assert_eq!(bank.source_layout(&ids(&["MedExam/3"])).unwrap().len(), 2);
}

#[test]
fn a_rolled_back_import_keeps_no_source_rows() {
    let mut bank = SqliteBank::open(":memory:").unwrap();
    {
        let mut s = bank.begin_import("test").unwrap();
        s.put_source_file(&file("", "MedExam.jsonl"), &[row(1, "x", "MedExam/3", 0)])
            .unwrap();
        // dropped without commit
    }
    assert!(bank.source_layout(&ids(&["MedExam/3"])).unwrap().is_empty());
}

#[test]
fn source_rows_survive_reopening_the_bank() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("b.db");
    let text = "{\"question\":\"问题\",\"answer\":\"\"}\r";
    {
        let mut bank = SqliteBank::open(path.to_str().unwrap()).unwrap();
        keep(
            &mut bank,
            &file("", "a/MedExam.jsonl"),
            &[row(1, text, "MedExam/3", 0)],
        );
    }
    let bank = SqliteBank::open(path.to_str().unwrap()).unwrap();
    let got = bank.source_layout(&ids(&["MedExam/3"])).unwrap();
    assert_eq!(got[0].1[0].raw, text, "raw text is kept byte for byte");
}
