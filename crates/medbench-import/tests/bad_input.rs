//! Malformed, truncated, wrong-encoding and duplicate-id inputs: every one
//! gets a reject naming file, line and field, and nothing is imported.

mod common;
use common::*;
use medbench_import::InputFormat;
use medbench_store::{Bank, ItemFilter};
use std::io::Write;

const GOOD: &str = r#"{"id":"Fx/1","track":"llm","dimension":"knowledge_qa","language":"en","question":"Which electrolyte disturbance peaks the T waves?","format":{"type":"single_choice","options":[{"label":"A","text":"Hyperkalaemia"},{"label":"B","text":"Hyponatraemia"}]},"reference":{"answer":"A"},"provenance":{"source":"fixture"}}"#;

fn good(id: &str) -> String {
    GOOD.replace("Fx/1", id)
}

#[test]
fn one_bad_line_rolls_back_the_whole_import_and_names_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let text = format!(
        "{}\n{}\n{}\n",
        good("Fx/1"),
        good("Fx/2").replace(
            "\"dimension\":\"knowledge_qa\"",
            "\"dimension\":\"tool_use\""
        ),
        good("Fx/3")
    );
    let p = write(dir.path(), "items.jsonl", text.as_bytes());
    let mut b = bank();
    let r = run(&mut b, &[&p], None, false);
    assert!(!r.committed);
    assert_eq!(r.rejected, 1);
    assert_eq!(r.valid, 2);
    let rej = &r.rejects[0];
    assert_eq!(
        (rej.line, rej.field.as_deref()),
        (Some(2), Some("dimension"))
    );
    assert!(
        rej.message.contains("belongs to the agent track"),
        "{}",
        rej.message
    );
    assert!(
        rej.to_string()
            .starts_with(&format!("{}:2: dimension: ", p.display()))
    );
    assert_eq!(b.stats(&ItemFilter::default()).unwrap().total.items, 0);
    // --skip-invalid imports the other two.
    let r = run(&mut b, &[&p], None, true);
    assert!(r.committed);
    assert_eq!((r.imported, r.rejected), (2, 1));
}

#[test]
fn nested_field_errors_carry_their_path() {
    let dir = tempfile::tempdir().unwrap();
    let bad_label = good("Fx/1").replace(
        r#"{"label":"B","text":"Hyponatraemia"}"#,
        r#"{"label":2,"text":"Hyponatraemia"}"#,
    );
    let bad_ref = good("Fx/2").replace(
        r#""reference":{"answer":"A"}"#,
        r#""reference":{"answer":"C"}"#,
    );
    let unknown = good("Fx/3").replace(r#""track":"llm""#, r#""track":"llm","trak":"x""#);
    let missing = good("Fx/4").replace(r#""language":"en","#, "");
    let p = write(
        dir.path(),
        "x.jsonl",
        format!("{bad_label}\n{bad_ref}\n{unknown}\n{missing}\n").as_bytes(),
    );
    let r = run(&mut bank(), &[&p], Some(InputFormat::Native), false);
    let got: Vec<_> = r
        .rejects
        .iter()
        .map(|r| (r.line.unwrap(), r.field.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        got,
        vec![
            // serde cannot see inside the tagged `format` enum, so the error stops there.
            (1, "format".to_string()),
            (2, "reference.answer".to_string()),
            (3, "trak".to_string()),
            (4, "language".to_string()),
        ],
        "{:#?}",
        r.rejects
    );
    assert!(
        r.rejects[0].message.contains("expected a string"),
        "{}",
        r.rejects[0].message
    );
    assert!(
        r.rejects[1]
            .message
            .contains("`C` is not an option label (A, B)")
    );
}

#[test]
fn truncated_last_record_is_called_truncated() {
    let dir = tempfile::tempdir().unwrap();
    let cut = &GOOD[..GOOD.len() / 2];
    let p = write(
        dir.path(),
        "cut.jsonl",
        format!("{}\n{cut}", good("Fx/9")).as_bytes(),
    );
    let r = run(&mut bank(), &[&p], Some(InputFormat::Native), false);
    assert_eq!(r.rejected, 1);
    assert_eq!(r.rejects[0].line, Some(2));
    assert!(
        r.rejects[0].message.contains("truncated"),
        "{}",
        r.rejects[0].message
    );
}

#[test]
fn malformed_json_line_is_reported_not_panicked() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "m.jsonl",
        format!("{}\n{{\"id\": \"Fx/2\",, }}\n", good("Fx/1")).as_bytes(),
    );
    let r = run(&mut bank(), &[&p], None, false);
    assert_eq!(r.rejects[0].line, Some(2));
    assert!(
        r.rejects[0].message.starts_with("invalid JSON"),
        "{}",
        r.rejects[0].message
    );
}

#[test]
fn gbk_encoded_csv_is_refused_with_a_hint() {
    let dir = tempfile::tempdir().unwrap();
    // CMMLU-style CSV whose second record is GBK ("你好" = C4 E3 BA C3).
    let mut bytes = b",Question,A,B,C,D,Answer\n0,q1,a,b,c,d,A\n1,".to_vec();
    bytes.extend_from_slice(b"\xC4\xE3\xBA\xC3,a,b,c,d,B\n");
    let p = write(dir.path(), "gbk.csv", &bytes);
    let r = run(&mut bank(), &[&p], None, false);
    assert_eq!(r.rejected, 1);
    assert_eq!(r.rejects[0].line, Some(3));
    assert!(
        r.rejects[0].message.contains("iconv -f GB18030"),
        "{}",
        r.rejects[0].message
    );
}

#[test]
fn utf16_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut bytes = vec![0xFF, 0xFE];
    for u in GOOD.encode_utf16() {
        bytes.extend_from_slice(&u.to_le_bytes());
    }
    let p = write(dir.path(), "u16.jsonl", &bytes);
    let r = run(&mut bank(), &[&p], Some(InputFormat::Native), false);
    assert!(r.rejects[0].message.contains("UTF-16"), "{:?}", r.rejects);
}

#[test]
fn duplicate_ids_in_one_import_are_rejected_with_the_first_place() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.jsonl",
        format!("{}\n", good("Fx/1")).as_bytes(),
    );
    let q = write(
        dir.path(),
        "b.jsonl",
        format!("{}\n", good("Fx/1").replace("T waves", "T-waves")).as_bytes(),
    );
    let r = run(&mut bank(), &[&p, &q], None, false);
    assert_eq!(r.rejected, 1);
    let rej = &r.rejects[0];
    assert_eq!(rej.field.as_deref(), Some("id"));
    assert!(
        rej.message.contains(&format!("first at {}:1", p.display())),
        "{}",
        rej.message
    );
}

#[test]
fn unknown_specialty_and_wrong_csv_width_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let sp = good("Fx/1").replace(
        r#""language":"en""#,
        r#""language":"en","specialties":["cardiology","99.99"]"#,
    );
    let p = write(dir.path(), "s.jsonl", format!("{sp}\n").as_bytes());
    let r = run(&mut bank(), &[&p], None, false);
    assert_eq!(
        r.rejects.len(),
        1,
        "cardiology resolves, 99.99 does not: {:?}",
        r.rejects
    );
    assert_eq!(r.rejects[0].field.as_deref(), Some("specialties[1]"));
    let c = write(dir.path(), "anatomy_test.csv", b"q,a,b,c,d,A\nq2,a,b,c,A\n");
    let r = run(&mut bank(), &[&c], None, false);
    assert_eq!(r.rejects[0].line, Some(2));
    assert!(r.rejects[0].message.contains("expected 6 columns"));
}

#[test]
fn zip_of_v4_files_imports_with_media_inside_the_zip() {
    let dir = tempfile::tempdir().unwrap();
    let zpath = dir.path().join("MedBench_VLM_QA.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&zpath).unwrap());
    let opts = zip::write::SimpleFileOptions::default();
    z.start_file("MedBench_VLM_QA/MedVQA.jsonl", opts).unwrap();
    z.write_all("{\"question\":\"图中所示为何种检查？\",\"answer\":\"\",\"img_path\":[\"MedVQA/a.png\"],\"other\":{\"id\":7,\"source\":\"MedVQA_V4\"}}\n".as_bytes()).unwrap();
    z.start_file("MedBench_VLM_QA/MedVQA/a.png", opts).unwrap();
    z.write_all(b"\x89PNG\r\n\x1a\nfake").unwrap();
    z.start_file("MedBench_VLM_QA/README.md", opts).unwrap();
    z.write_all(b"not data").unwrap();
    z.finish().unwrap();
    let mut b = bank();
    let r = run(&mut b, &[&zpath], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 1);
    assert!(
        r.files[0]
            .file
            .ends_with("MedBench_VLM_QA.zip!MedBench_VLM_QA/MedVQA.jsonl")
    );
    let it = b.get("MedVQA/7").unwrap().unwrap();
    assert!(it.is_blind());
    assert_eq!(
        b.media(&it.media[0].sha256).unwrap().unwrap().1,
        b"\x89PNG\r\n\x1a\nfake"
    );
}

#[test]
fn garbage_zip_and_missing_path_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let z = write(
        dir.path(),
        "broken.zip",
        b"PK\x03\x04 this is not really a zip",
    );
    let r = run(
        &mut bank(),
        &[&z, &dir.path().join("nope.jsonl")],
        None,
        false,
    );
    assert_eq!(r.rejected, 2);
    assert!(
        r.rejects[0].message.contains("not a readable zip"),
        "{}",
        r.rejects[0].message
    );
    assert!(
        r.rejects[1].message.contains("cannot open"),
        "{}",
        r.rejects[1].message
    );
}

#[test]
fn reimport_is_unchanged_and_edit_is_a_new_version() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "a.jsonl",
        format!("{}\n{}\n", good("Fx/1"), good("Fx/2")).as_bytes(),
    );
    let mut b = bank();
    assert_eq!(run(&mut b, &[&p], None, false).imported, 2);
    let r = run(&mut b, &[&p], None, false);
    assert_eq!((r.imported, r.unchanged, r.updated), (0, 2, 0));
    write(
        dir.path(),
        "a.jsonl",
        format!(
            "{}\n{}\n",
            good("Fx/1"),
            good("Fx/2").replace("peaks", "tents")
        )
        .as_bytes(),
    );
    let r = run(&mut b, &[&p], None, false);
    assert_eq!((r.unchanged, r.updated), (1, 1));
    assert_eq!(b.versions("Fx/2").unwrap(), vec![1, 2]);
    assert!(
        b.get_version("Fx/2", 1)
            .unwrap()
            .unwrap()
            .question
            .contains("peaks")
    );
}
