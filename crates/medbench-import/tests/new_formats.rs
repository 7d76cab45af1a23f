//! VQA-RAD, JSON arrays in the MedMCQA shape (five options, `answer` naming the
//! key) and the MedAgentBench folder as shipped.

mod common;
use common::*;
use medbench_core::{Dimension, Format, FormatKind, Reference, Track, YesNoMaybe};
use medbench_store::{Bank, ItemFilter};
use std::collections::BTreeSet;

#[test]
fn vqa_rad_folder_imports_with_each_image_stored_once() {
    let Some(data) = shared_data() else { return };
    let mut b = bank();
    let r = run(&mut b, &[&data.join("vqa-rad")], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 20);
    assert_eq!(r.files.len(), 1, "the images are not read as data");
    assert_eq!(r.files[0].format, "vqa-rad");
    // qid 12: an open question about the organ system.
    let open = b.get("VQA-RAD/12").unwrap().unwrap();
    assert_eq!(
        (open.track, open.dimension),
        (Track::Multimodal, Dimension::VisualPerception)
    );
    assert_eq!(
        open.question,
        "Which organ system is abnormal in this image?"
    );
    assert_eq!(open.format, Format::ShortAnswer {});
    assert_eq!(
        open.reference,
        Some(Reference::Text {
            answers: vec!["Cardiovascular".into()]
        })
    );
    assert_eq!(open.language, "en");
    assert_eq!(open.provenance.licence.as_deref(), Some("CC0-1.0"));
    for t in [
        "organ:CHEST",
        "question_type:ORGAN",
        "split:train",
        "answer_type:open",
    ] {
        assert!(open.tags.contains(&t.to_string()), "{t} in {:?}", open.tags);
    }
    // qid 328: closed, answered `Yes` → yes/no.
    let closed = b.get("VQA-RAD/328").unwrap().unwrap();
    assert_eq!(closed.format_kind(), FormatKind::YesNo);
    assert_eq!(
        closed.reference,
        Some(Reference::YesNo {
            answer: YesNoMaybe::Yes
        })
    );
    assert!(
        b.get("VQA-RAD/11")
            .unwrap()
            .unwrap()
            .tags
            .contains(&"split:test".into())
    );
    // Twenty items, two images: each blob once in the bank, with its type.
    let mut shas = BTreeSet::new();
    b.for_each(&ItemFilter::default(), &mut |it| {
        assert_eq!(it.media.len(), 1);
        shas.insert((it.media[0].name.clone(), it.media[0].sha256.clone()));
        Ok(())
    })
    .unwrap();
    let names: Vec<_> = shas.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["synpic32933.jpg", "synpic42202.jpg"]);
    for (name, sha) in &shas {
        let (ty, bytes) = b.media(sha).unwrap().unwrap();
        assert_eq!(ty, "image/jpeg");
        assert_eq!(
            bytes,
            std::fs::read(data.join("vqa-rad").join(name)).unwrap()
        );
    }
    // Again: nothing changes.
    let r = run(&mut b, &[&data.join("vqa-rad")], None, false);
    assert_eq!((r.imported, r.updated, r.unchanged), (0, 0, 20));
}

#[test]
fn vqa_rad_other_closed_answers_are_short_answers_and_bad_rows_are_named() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "knee.png", b"\x89PNG\r\n\x1a\nfake");
    let rows = r#"[
  {"qid": "k1", "image_name": "knee.png", "image_organ": "KNEE", "answer": "left",
   "answer_type": "CLOSED", "question_type": "POS, ABN", "question": "Which knee is swollen, left or right?",
   "phrase_type": "freeform"},
  {"qid": "k2", "image_name": "knee.png", "image_organ": "KNEE", "answer": "no",
   "answer_type": "MAYBE", "question_type": "PRES", "question": "Is there an effusion?",
   "phrase_type": "freeform"},
  {"qid": "k3", "image_name": "hip.png", "image_organ": "HIP", "answer": "yes",
   "answer_type": "CLOSED", "question_type": "PRES", "question": "Is there a fracture?",
   "phrase_type": "freeform"}
]
"#;
    let p = write(dir.path(), "vqa.json", rows.as_bytes());
    let mut b = bank();
    let r = run(&mut b, &[&p], None, false);
    assert!(!r.committed);
    let got: Vec<_> = r
        .rejects
        .iter()
        .map(|r| (r.line, r.field.clone().unwrap_or_default()))
        .collect();
    assert_eq!(
        got,
        [
            (Some(5), "[1].answer_type".to_string()),
            (Some(8), "[2].image_name".to_string())
        ],
        "{:?}",
        r.rejects
    );
    assert!(
        r.rejects[0]
            .message
            .contains("`MAYBE` is not OPEN or CLOSED")
    );
    assert!(
        r.rejects[1].message.contains("hip.png"),
        "{}",
        r.rejects[1].message
    );
    let r = run(&mut b, &[&p], None, true);
    assert_eq!(r.imported, 1);
    let it = b.get("VQA-RAD/k1").unwrap().unwrap();
    assert_eq!(
        it.reference,
        Some(Reference::Text {
            answers: vec!["left".into()]
        })
    );
    assert!(it.tags.contains(&"question_type:POS".into()));
    assert!(it.tags.contains(&"question_type:ABN".into()));
}

const FIVE: &str = r#"[
  {
    "id": "q-1",
    "question": "Which vitamin deficiency causes scurvy?",
    "opa": "Vitamin A",
    "opb": "Vitamin B12",
    "opc": "Vitamin C",
    "opd": "Vitamin D",
    "ope": "Vitamin K",
    "answer": "opc"
  },
  {
    "question": "Which electrolyte disturbance gives peaked T waves?",
    "opa": "Hyponatraemia",
    "opb": "Hyperkalaemia",
    "opc": "Hypocalcaemia",
    "opd": "Hypomagnesaemia",
    "ope": "Hypernatraemia",
    "answer": "B"
  },
  {
    "id": 3,
    "question": "First-line drug for anaphylaxis?",
    "opa": "Intramuscular adrenaline",
    "opb": "Oral cetirizine",
    "opc": "IV hydrocortisone",
    "opd": "Nebulised salbutamol",
    "ope": "IV fluids alone",
    "cop": 1
  }
]
"#;

#[test]
fn five_option_json_array_in_the_medmcqa_shape() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "pharm_exam_test.json", FIVE.as_bytes());
    let mut b = bank();
    let r = run(&mut b, &[&p], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.files[0].format, "medmcqa");
    assert_eq!(r.imported, 3);
    // Not MedMCQA itself: the task is the file's name without its split, and no licence is claimed.
    let it = b.get("pharm_exam/q-1").unwrap().unwrap();
    assert_eq!(it.format.options().unwrap().len(), 5);
    assert_eq!(it.format.options().unwrap()[4].text, "Vitamin K");
    assert_eq!(
        it.reference,
        Some(Reference::Choice {
            answer: vec!["C".into()]
        })
    );
    assert_eq!(it.provenance.source, "pharm_exam");
    assert_eq!(it.provenance.licence, None);
    assert_eq!(
        b.get("pharm_exam/3").unwrap().unwrap().reference,
        Some(Reference::Choice {
            answer: vec!["A".into()]
        })
    );
    // No id: the content hash, and `answer: "B"` read as a letter.
    let st = b.stats(&ItemFilter::default()).unwrap();
    assert_eq!(st.tasks["pharm_exam"].items, 3);
    let mut hashed = None;
    b.for_each(&ItemFilter::default(), &mut |it| {
        if it.question.contains("peaked T waves") {
            hashed = Some(it);
        }
        Ok(())
    })
    .unwrap();
    let hashed = hashed.unwrap();
    let local = hashed.local_id();
    assert!(
        local.len() == 12 && local.chars().all(|c| c.is_ascii_hexdigit()),
        "{local}"
    );
    assert_eq!(
        hashed.reference,
        Some(Reference::Choice {
            answer: vec!["B".into()]
        })
    );
    // The same records as JSONL (another file of the set) are the same items.
    let jsonl: String = serde_json::from_str::<Vec<serde_json::Value>>(FIVE)
        .unwrap()
        .iter()
        .map(|v| format!("{v}\n"))
        .collect();
    let q = write(dir.path(), "pharm_exam_dev.jsonl", jsonl.as_bytes());
    let r = run(&mut b, &[&q], None, false);
    assert_eq!(
        (r.imported, r.updated, r.unchanged),
        (0, 0, 3),
        "{:?}",
        r.rejects
    );
}

#[test]
fn five_option_array_errors_name_the_element_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let bad = FIVE
        .replace(r#""answer": "opc""#, r#""answer": "opf""#)
        .replace(r#""cop": 1"#, r#""cop": 1, "answer": "opb""#)
        .replace(r#""opd": "Hypomagnesaemia","#, "");
    let p = write(dir.path(), "bad.json", bad.as_bytes());
    let r = run(&mut bank(), &[&p], None, false);
    assert!(!r.committed);
    let got: Vec<_> = r
        .rejects
        .iter()
        .map(|r| {
            (
                r.line,
                r.field.clone().unwrap_or_default(),
                r.message.clone(),
            )
        })
        .collect();
    assert_eq!(got.len(), 3, "{got:#?}");
    assert_eq!((got[0].0, got[0].1.as_str()), (Some(2), "[0].answer"));
    assert!(
        got[0]
            .2
            .contains("`opf` is not an option key (opa, opb, opc, opd, ope)"),
        "{}",
        got[0].2
    );
    assert_eq!((got[1].0, got[1].1.as_str()), (Some(12), "[1].opd"));
    assert_eq!(got[1].2, "missing");
    assert_eq!((got[2].0, got[2].1.as_str()), (Some(21), "[2].answer"));
    assert!(
        got[2].2.contains("`answer` names opb but `cop` names opa"),
        "{}",
        got[2].2
    );
    assert!(
        r.rejects[0]
            .to_string()
            .starts_with(&format!("{}:2: [0].answer: ", p.display())),
        "{}",
        r.rejects[0]
    );
}

#[test]
fn medmcqa_jsonl_still_reads_cop_and_four_options() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(
        dir.path(),
        "dev.json",
        br#"{"id":"m1","question":"Drug of choice for absence seizures?","opa":"Ethosuximide","opb":"Phenytoin","opc":"Carbamazepine","opd":"Gabapentin","cop":1,"subject_name":"Pharmacology"}
{"id":"m2","question":"Most common site of ectopic pregnancy?","opa":"Ovary","opb":"Ampulla","opc":"Isthmus","opd":"Cervix","cop":5}
"#,
    );
    let mut b = bank();
    let r = run(&mut b, &[&p], None, false);
    assert_eq!(r.files[0].format, "medmcqa", "JSON Lines in a .json file");
    assert_eq!(r.rejects.len(), 1, "{:?}", r.rejects);
    assert_eq!(
        (r.rejects[0].line, r.rejects[0].field.as_deref()),
        (Some(2), Some("cop"))
    );
    assert!(
        r.rejects[0].message.contains("5 is not 1–4"),
        "{}",
        r.rejects[0].message
    );
    let r = run(&mut b, &[&p], None, true);
    assert_eq!(r.imported, 1);
    let it = b.get("MedMCQA/m1").unwrap().unwrap();
    assert_eq!(it.provenance.source, "MedMCQA");
    assert_eq!(it.format.options().unwrap().len(), 4);
    // The first record decides the file's task: a later five-option row does not split it off.
    let mixed = write(
        dir.path(),
        "mixed.jsonl",
        br#"{"id":"x1","question":"Antidote for paracetamol overdose?","opa":"N-acetylcysteine","opb":"Naloxone","opc":"Flumazenil","opd":"Atropine","cop":1}
{"id":"x2","question":"Antidote for opioid overdose?","opa":"N-acetylcysteine","opb":"Naloxone","opc":"Flumazenil","opd":"Atropine","ope":"Glucagon","answer":"opb"}
"#,
    );
    let r = run(&mut b, &[&mixed], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    let x2 = b.get("MedMCQA/x2").unwrap().unwrap();
    assert_eq!(x2.format.options().unwrap().len(), 5);
    assert_eq!(
        x2.reference,
        Some(Reference::Choice {
            answer: vec!["B".into()]
        })
    );
}

#[test]
fn medagentbench_folder_as_shipped_skips_its_companions() {
    let Some(data) = shared_data() else { return };
    let mut b = bank();
    let r = run(&mut b, &[&data.join("medagentbench")], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 300);
    let by_name: Vec<_> = r
        .files
        .iter()
        .map(|f| {
            (
                f.file.rsplit('/').next().unwrap().to_owned(),
                f.format.clone(),
                f.items,
            )
        })
        .collect();
    assert_eq!(
        by_name,
        [
            ("fhir_snapshot.jsonl".to_string(), "skipped".to_string(), 0),
            ("funcs_v1.json".to_string(), "skipped".to_string(), 0),
            (
                "test_data_v2.json".to_string(),
                "medagentbench".to_string(),
                300
            ),
        ]
    );
    assert!(
        r.files[0]
            .note
            .as_deref()
            .unwrap()
            .contains("FHIR server responses")
    );
    assert!(r.files[1].note.as_deref().unwrap().contains("tools"));
    let it = b.get("MedAgentBench/task1_1").unwrap().unwrap();
    let Format::AgentEpisode { tools, .. } = &it.format else {
        panic!()
    };
    assert_eq!(tools.len(), 9);
}

#[test]
fn an_unknown_file_beside_companions_still_fails() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "funcs_v1.json",
        br#"[{"name": "GET {api_base}/Patient", "description": "Patient search", "parameters": {"type": "object", "properties": {}}}]"#,
    );
    write(
        dir.path(),
        "test_data_v2.json",
        br#"[{"id": "task1_1", "instruction": "What is the MRN of Ann Example?", "context": "", "sol": ["S1"], "eval_MRN": "S1"}]"#,
    );
    write(
        dir.path(),
        "notes.json",
        br#"{"author": "someone", "date": "2025"}"#,
    );
    let mut b = bank();
    let r = run(&mut b, &[dir.path()], None, false);
    assert!(!r.committed);
    assert_eq!(r.rejected, 1, "{:?}", r.rejects);
    assert!(r.rejects[0].file.ends_with("notes.json"));
    assert!(
        r.rejects[0].message.contains("cannot tell the format"),
        "{}",
        r.rejects[0].message
    );
    // Without it, the tasks import with the tool from the companion.
    std::fs::remove_file(dir.path().join("notes.json")).unwrap();
    let r = run(&mut b, &[dir.path()], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 1);
    let Format::AgentEpisode { tools, .. } =
        b.get("MedAgentBench/task1_1").unwrap().unwrap().format
    else {
        panic!()
    };
    assert_eq!(tools[0]["function"]["name"], "GET {api_base}/Patient");
    // A tool list that is not one is not skipped, and the tasks say why they have no tools.
    write(
        dir.path(),
        "funcs_v1.json",
        br#"[{"name": "GET {api_base}/Patient", "parameters": "patient id"}]"#,
    );
    let r = run(&mut b, &[dir.path()], None, false);
    assert!(!r.committed);
    let msgs: Vec<String> = r.rejects.iter().map(|r| r.to_string()).collect();
    assert_eq!(msgs.len(), 2, "{msgs:#?}");
    assert!(
        msgs[0].contains("funcs_v1.json: cannot tell the format"),
        "{}",
        msgs[0]
    );
    assert!(
        msgs[1].contains("test_data_v2.json: funcs_v1.json beside the tasks is not a list"),
        "{}",
        msgs[1]
    );
}
