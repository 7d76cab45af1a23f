//! Stable identity on import: ids come from the source (its own id, else the
//! content), so two files of one data set never overwrite each other, a
//! re-import is a no-op, and a question repeated in one file is a duplicate.

mod common;
use common::*;
use medbench_store::{Bank, ItemFilter};

fn lines(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn ids(b: &medbench_store::SqliteBank) -> Vec<String> {
    b.list(&ItemFilter::default(), 10_000, 0)
        .unwrap()
        .into_iter()
        .map(|s| s.id)
        .collect()
}

#[test]
fn two_files_of_medqa_never_overwrite_each_other() {
    let Some(data) = shared_data() else { return };
    let sample = data.join("medqa-usmle/sample.jsonl");
    let rows = lines(&sample);
    assert_eq!(rows.len(), 300);
    let dir = tempfile::tempdir().unwrap();
    let mut b = bank();
    let r = run(&mut b, &[&sample], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 300);
    let first = ids(&b);
    // Another file of the same data set: rows 201–300 then 101–200, now at lines 1–200.
    // By line number these would have "updated" 200 different questions.
    let slice = [&rows[200..], &rows[100..200]].concat().join("\n") + "\n";
    let other = write(dir.path(), "other_split.jsonl", slice.as_bytes());
    let r = run(&mut b, &[&other], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(
        (r.imported, r.updated, r.unchanged),
        (0, 0, 200),
        "the same questions are the same items, wherever they sit"
    );
    assert_eq!(ids(&b), first);
    for id in &first {
        assert_eq!(b.versions(id).unwrap(), vec![1], "{id} was rewritten");
    }
    // Re-importing the first file is a no-op.
    let r = run(&mut b, &[&sample], None, false);
    assert_eq!((r.imported, r.updated, r.unchanged), (0, 0, 300));
    // A file of new questions adds items and touches none of the old ones.
    let fresh: String = rows[..50]
        .iter()
        .map(|l| l.replace("\"question\": \"", "\"question\": \"(variant) ") + "\n")
        .collect();
    let fresh = write(dir.path(), "fresh.jsonl", fresh.as_bytes());
    let r = run(&mut b, &[&fresh], None, false);
    assert_eq!((r.imported, r.updated, r.unchanged), (50, 0, 0));
    assert_eq!(b.stats(&ItemFilter::default()).unwrap().total.items, 350);
}

#[test]
fn a_question_twice_in_one_file_is_a_duplicate() {
    let Some(data) = shared_data() else { return };
    let rows = lines(&data.join("medqa-usmle/sample.jsonl"));
    let dir = tempfile::tempdir().unwrap();
    // Row 5 again at line 4, with different spacing: whitespace does not make a new question.
    let spaced = rows[4].replacen("\"question\": \"", "\"question\": \"  ", 1);
    let text = format!("{}\n{}\n{}\n{}\n", rows[3], rows[4], rows[5], spaced);
    let p = write(dir.path(), "dup.jsonl", text.as_bytes());
    let mut b = bank();
    let r = run(&mut b, &[&p], None, false);
    assert!(!r.committed);
    assert_eq!(r.rejected, 1, "{:?}", r.rejects);
    let rej = &r.rejects[0];
    assert_eq!((rej.line, rej.field.as_deref()), (Some(4), Some("id")));
    assert!(
        rej.message.contains(&format!("first at {}:2", p.display())),
        "{}",
        rej.message
    );
}

#[test]
fn mmlu_and_cmmlu_files_of_one_subject_keep_their_own_rows() {
    let dir = tempfile::tempdir().unwrap();
    // dev and test of one subject share the task `MMLU-anatomy` and both start at row 1.
    let dev = write(
        dir.path(),
        "anatomy_dev.csv",
        b"Which bone forms the heel?,Talus,Calcaneus,Navicular,Cuboid,B\n",
    );
    let test = write(
        dir.path(),
        "anatomy_test.csv",
        b"Which nerve supplies the diaphragm?,Vagus,Phrenic,Intercostal,Accessory,B\n",
    );
    let cdev = write(
        dir.path(),
        "cmmlu/dev/anatomy.csv",
        ",Question,A,B,C,D,Answer\n0,哪块骨构成足跟？,距骨,跟骨,舟骨,骰骨,B\n".as_bytes(),
    );
    let ctest = write(
        dir.path(),
        "cmmlu/test/anatomy.csv",
        ",Question,A,B,C,D,Answer\n0,膈肌由哪条神经支配？,迷走神经,膈神经,肋间神经,副神经,B\n"
            .as_bytes(),
    );
    let mut b = bank();
    let r = run(&mut b, &[&dev, &test], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!((r.imported, r.updated), (2, 0));
    let st = b.stats(&ItemFilter::default()).unwrap();
    assert_eq!(st.tasks["MMLU-anatomy"].items, 2);
    // CMMLU's index column restarts at 0 in every file: it is not an id either.
    let r = run(&mut b, &[&cdev], None, false);
    assert_eq!(r.imported, 1);
    let r = run(&mut b, &[&ctest], None, false);
    assert_eq!((r.imported, r.updated), (1, 0), "{:?}", r.rejects);
    let st = b.stats(&ItemFilter::default()).unwrap();
    assert_eq!(st.tasks["CMMLU-anatomy"].items, 2);
    let r = run(&mut b, &[&dev, &test], None, false);
    assert_eq!((r.imported, r.updated, r.unchanged), (0, 0, 2));
}

#[test]
fn pubmedqa_entries_in_an_array_use_their_pmid_or_content_not_their_position() {
    let dir = tempfile::tempdir().unwrap();
    let a = write(
        dir.path(),
        "a.json",
        br#"[
  {"pubid": 101, "QUESTION": "Does exercise lower resting heart rate?", "CONTEXTS": ["Trial of 40 adults."], "final_decision": "yes"},
  {"QUESTION": "Is coffee linked to arrhythmia?", "CONTEXTS": ["Cohort of 900."], "final_decision": "maybe"}
]"#,
    );
    let b2 = write(
        dir.path(),
        "b.json",
        br#"[
  {"QUESTION": "Does sleep loss raise blood pressure?", "CONTEXTS": ["Crossover study."], "final_decision": "yes"}
]"#,
    );
    let mut b = bank();
    let r = run(
        &mut b,
        &[&a, &b2],
        Some(medbench_import::InputFormat::Pubmedqa),
        false,
    );
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!((r.imported, r.updated), (3, 0));
    let it = b.get("PubMedQA/101").unwrap().unwrap();
    assert_eq!(
        it.provenance.url.as_deref(),
        Some("https://pubmed.ncbi.nlm.nih.gov/101/")
    );
    let others: Vec<String> = ids(&b)
        .into_iter()
        .filter(|i| i != "PubMedQA/101")
        .collect();
    assert_eq!(others.len(), 2);
    for id in others {
        let local = id.strip_prefix("PubMedQA/").unwrap();
        assert!(
            local.len() == 12 && local.chars().all(|c| c.is_ascii_hexdigit()),
            "{id}"
        );
    }
}
