//! Every importer against the real samples in ../shared/data (skipped when absent).

mod common;
use common::*;
use medbench_core::{FormatKind, Reference, Track, YesNoMaybe};
use medbench_store::{Bank, ItemFilter};

#[test]
fn medqa_sample_imports_with_answer_letters() {
    let Some(data) = shared_data() else { return };
    let mut b = bank();
    let r = run(
        &mut b,
        &[&data.join("medqa-usmle/sample.jsonl")],
        None,
        false,
    );
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 300);
    assert_eq!(r.files[0].format, "medqa");
    // No id in MedQA: the first 12 hex digits of the SHA-256 of question and options.
    // Pinned: a change here renames every MedQA item in every bank.
    let it = b.get("MedQA-USMLE/6d2fdff5aeef").unwrap().unwrap();
    assert!(
        it.question
            .starts_with("A junior orthopaedic surgery resident")
    );
    assert_eq!(it.format.options().unwrap().len(), 4);
    assert!(matches!(it.reference, Some(Reference::Choice { ref answer }) if answer.len() == 1));
    assert_eq!(it.language, "en");
}

#[test]
fn medmcqa_sample_maps_cop_and_subjects() {
    let Some(data) = shared_data() else { return };
    let mut b = bank();
    let r = run(&mut b, &[&data.join("medmcqa/sample.jsonl")], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 300);
    // First row: cop 1 → A; subject Physiology.
    let it = b
        .get("MedMCQA/45258d3d-b974-44dd-a161-c3fccbdadd88")
        .unwrap()
        .unwrap();
    assert_eq!(
        it.reference,
        Some(Reference::Choice {
            answer: vec!["A".into()]
        })
    );
    assert!(it.tags.contains(&"subject:Physiology".to_string()));
    // Pediatrics maps to the taxonomy's paediatrics department.
    let st = b.stats(&ItemFilter::default()).unwrap();
    assert!(
        st.specialties.contains_key("07"),
        "{:?}",
        st.specialties.keys()
    );
}

#[test]
fn mmlu_csv_directory_imports_each_subject_as_a_task() {
    let Some(data) = shared_data() else { return };
    let mut b = bank();
    let r = run(&mut b, &[&data.join("mmlu-medical")], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 240);
    let st = b.stats(&ItemFilter::default()).unwrap();
    assert_eq!(st.tasks["MMLU-anatomy"].items, 40);
    // A quoted field with commas survives.
    let it = b.get("MMLU-anatomy/b71c4768c187").unwrap().unwrap();
    assert!(it.question.starts_with("A lesion causing compression"));
    assert_eq!(
        it.format.options().unwrap()[2].text,
        "paralysis of the facial muscles, loss of taste and lacrimation."
    );
    assert_eq!(
        it.reference,
        Some(Reference::Choice {
            answer: vec!["A".into()]
        })
    );
}

#[test]
fn pubmedqa_sample_is_yes_no_maybe_with_contexts() {
    let Some(data) = shared_data() else { return };
    let mut b = bank();
    let r = run(&mut b, &[&data.join("pubmedqa/sample.json")], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 100);
    let it = b.get("PubMedQA/12377809").unwrap().unwrap();
    assert_eq!(
        it.question,
        "Is anorectal endosonography valuable in dyschesia?"
    );
    assert_eq!(
        it.reference,
        Some(Reference::YesNo {
            answer: YesNoMaybe::Yes
        })
    );
    assert!(!it.context.is_empty());
}

#[test]
fn healthbench_sample_keeps_rubrics_with_signed_points() {
    let Some(data) = shared_data() else { return };
    let mut b = bank();
    let r = run(
        &mut b,
        &[&data.join("healthbench/sample.jsonl")],
        None,
        false,
    );
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 30);
    let it = b
        .get("HealthBench/0b8f1d60-2081-4562-98f7-b6a976fe1c6d")
        .unwrap()
        .unwrap();
    let Some(Reference::Open(open)) = &it.reference else {
        panic!("open reference expected")
    };
    assert_eq!(open.rubric[0].points, 10.0);
    assert!(
        open.rubric[0]
            .criterion
            .starts_with("Correctly states that compression depth")
    );
    let mut any_negative = false;
    b.for_each(&ItemFilter::default(), &mut |it| {
        if let Some(Reference::Open(o)) = &it.reference {
            any_negative |= o.rubric.iter().any(|c| c.points < 0.0);
        }
        Ok(())
    })
    .unwrap();
    assert!(any_negative, "HealthBench has penalty criteria");
}

#[test]
fn medagentbench_tasks_get_the_fhir_tools_beside_them() {
    let Some(data) = shared_data() else { return };
    let mut b = bank();
    let r = run(
        &mut b,
        &[&data.join("medagentbench/test_data_v2.json")],
        None,
        false,
    );
    assert!(r.committed, "{:?}", r.rejects);
    assert_eq!(r.imported, 300);
    let it = b.get("MedAgentBench/task1_1").unwrap().unwrap();
    assert_eq!(it.track, Track::Agent);
    let medbench_core::Format::AgentEpisode { tools, .. } = &it.format else {
        panic!()
    };
    assert_eq!(tools.len(), 9);
    let Some(Reference::Open(o)) = &it.reference else {
        panic!()
    };
    assert_eq!(o.solution, vec![serde_json::json!("S6534835")]);
    // Write tasks carry no solution and stay blind.
    assert!(b.get("MedAgentBench/task2_1").unwrap().unwrap().is_blind());
}

#[test]
fn medbench_v4_llm_and_agent_files_import_blind() {
    let Some(data) = shared_data() else { return };
    let mut b = bank();
    let v4 = data.join("medbench-v4-format");
    let r = run(&mut b, &[&v4.join("llm"), &v4.join("agent")], None, false);
    assert!(r.committed, "{:?}", r.rejects);
    // Two rows per file; the two copies of each official choice question (MedExam,
    // MedEthics, MedSafety, MedRxCheck_SCQ) are one item.
    assert_eq!(r.imported, (38 + 14) * 2 - 4);
    let st = b.stats(&ItemFilter::default()).unwrap();
    assert_eq!(
        st.total.blind, st.total.items,
        "test files have blank answers"
    );
    // MedExam repeats id 3 for its second order of options: one item, two variants.
    let first = b.get("MedExam/3").unwrap().unwrap();
    assert!(b.get("MedExam/3.2").unwrap().is_none());
    let second = first.instance(1);
    assert_eq!(first.format_kind(), FormatKind::SingleChoice);
    let opts: Vec<_> = first
        .format
        .options()
        .unwrap()
        .iter()
        .map(|c| c.text.clone())
        .collect();
    assert_eq!(
        opts,
        [
            "临床表现不典型",
            "疾病发展缓慢",
            "多病共存",
            "单一病种",
            "发病方式独特"
        ]
    );
    assert_ne!(first.format, second.format, "options are permuted");
    // Source names map through the catalogue's aliases.
    assert!(
        b.get("MedRetAPI/92").unwrap().is_some(),
        "MedRefAPI_V4 is MedRetAPI"
    );
    assert!(
        b.get("MedReportQC/2").unwrap().is_some(),
        "CTR-QC is MedReportQC"
    );
    let msq = b.get("MedRxCheck_MSQ/82").unwrap().unwrap();
    assert_eq!(msq.format.options().unwrap().len(), 4);
    assert_eq!(st.tracks["agent"].items, 28);
}

#[test]
fn medbench_v4_multimodal_reads_images_and_names_the_missing_one() {
    let Some(data) = shared_data() else { return };
    let mut b = bank();
    let mm = data.join("medbench-v4-format/multimodal");
    // One MedGen image was left out of the samples (over 2 MB): without --skip-invalid nothing is imported.
    let r = run(&mut b, &[&mm], None, false);
    assert!(!r.committed);
    assert_eq!(r.rejected, 1, "{:?}", r.rejects);
    let rej = &r.rejects[0];
    assert!(rej.file.ends_with("MedGen.jsonl"));
    assert_eq!(rej.field.as_deref(), Some("img_path[0]"));
    assert!(
        rej.message.contains("058366071148544.jpg"),
        "{}",
        rej.message
    );
    assert_eq!(
        b.stats(&ItemFilter::default()).unwrap().total.items,
        0,
        "rolled back"
    );
    // With --skip-invalid the other 19 rows go in, with their media.
    let r = run(&mut b, &[&mm], None, true);
    assert!(r.committed);
    assert_eq!(r.imported, 19);
    let it = b.get("MedVQA/112").unwrap().unwrap();
    assert_eq!(it.media.len(), 1);
    assert_eq!(it.media[0].media_type, "image/png");
    let (ty, bytes) = b.media(&it.media[0].sha256).unwrap().unwrap();
    assert_eq!(ty, "image/png");
    assert_eq!(&bytes[..4], b"\x89PNG");
    let ocr = b.get("MedOCR/4").unwrap().unwrap();
    assert_eq!(ocr.media[0].media_type, "application/pdf");
}

#[test]
fn filled_answer_files_become_references() {
    let Some(data) = shared_data() else { return };
    let mut b = bank();
    let r = run(
        &mut b,
        &[&data.join("medbench-v4-format/answers-sample/o3")],
        None,
        false,
    );
    assert!(r.committed, "{:?}", r.rejects);
    let exam = b.get("MedExam/3").unwrap().unwrap();
    assert_eq!(
        exam.reference,
        Some(Reference::Choice {
            answer: vec!["D".into()]
        })
    );
    let smdoc = b.get("SMDoc/65").unwrap().unwrap();
    let Some(Reference::JsonFields { fields }) = &smdoc.reference else {
        panic!()
    };
    assert_eq!(fields["体温(℃)"], "37");
}
