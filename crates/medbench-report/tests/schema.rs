//! `results.schema.json` accepts what this crate writes and rejects broken files.

use medbench_report::{sample, to_json};
use serde_json::Value;

fn validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(include_str!("../results.schema.json")).unwrap();
    jsonschema::draft202012::new(&schema).expect("schema compiles")
}

fn errors(v: &jsonschema::Validator, doc: &Value) -> Vec<String> {
    v.iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn sample_results_validate() {
    let v = validator();
    let doc: Value = serde_json::from_str(&to_json(&sample::demo("m"))).unwrap();
    assert_eq!(errors(&v, &doc), Vec::<String>::new());
}

#[test]
fn minimal_results_validate() {
    let mut r = sample::demo("m");
    r.specialties.clear();
    r.heatmap.clear();
    r.finished_at = None;
    r.model.base_url = None;
    r.usage.cost_usd = None;
    r.manifest = Value::Null;
    let doc: Value = serde_json::from_str(&to_json(&r)).unwrap();
    assert_eq!(errors(&validator(), &doc), Vec::<String>::new());
}

#[test]
fn round_results_with_permutation_validate() {
    let mut r = sample::demo("m");
    let t = r.tasks.get_mut("MedExam").unwrap();
    t.permutation = Some(medbench_report::Permutation {
        strict: 40.0,
        mean: 56.7,
        instances: 150,
    });
    let doc: Value = serde_json::from_str(&to_json(&r)).unwrap();
    assert_eq!(errors(&validator(), &doc), Vec::<String>::new());
}

#[test]
fn broken_documents_are_rejected() {
    let v = validator();
    let good: Value = serde_json::from_str(&to_json(&sample::demo("m"))).unwrap();

    let mut bad = good.clone();
    bad["schema"] = "medbench.results/2".into();
    assert!(!v.is_valid(&bad), "wrong schema id");

    let mut bad = good.clone();
    bad["overall"]["score"] = 101.0.into();
    assert!(!v.is_valid(&bad), "score above 100");

    let mut bad = good.clone();
    bad["tasks"]["MedExam"]
        .as_object_mut()
        .unwrap()
        .remove("unparsed");
    assert!(!v.is_valid(&bad), "missing unparsed count");

    let mut bad = good.clone();
    bad["tasks"]["MedExam"]["typo_field"] = 1.into();
    assert!(!v.is_valid(&bad), "unknown task field");

    let mut bad = good;
    bad["items"]["errors"] = (-1).into();
    assert!(!v.is_valid(&bad), "negative count");
}

#[test]
fn judged_and_calibrated_results_validate_and_typos_do_not() {
    let mut r = sample::demo("m");
    r.judging = Some(medbench_report::Judging {
        judges: vec![medbench_report::JudgeInfo {
            name: "house-judge".into(),
            model: "qwen2.5-7b".into(),
            kind: "rubric".into(),
            version: "82ce557d5a".into(),
            prompt_version: "1a2b3c4d".into(),
            items: 30,
            calls: 310,
            cached: 12,
            unparsed: 1,
            refusals: 0,
            errors: 0,
            prompt_tokens: 120_000,
            completion_tokens: 9_000,
            cost_usd: Some(0.31),
        }],
        calibration: medbench_report::CalibrationInfo {
            applied: true,
            id: Some("cal-aead6b7f90".into()),
            ratings: 620,
            items: 30,
            items_mapped: 30,
            note: "isotonic map applied".into(),
        },
    });
    r.warnings = vec!["task X mixes scorers: a, b".into()];
    let mut doc: Value = serde_json::from_str(&to_json(&r)).unwrap();
    assert_eq!(errors(&validator(), &doc), Vec::<String>::new());
    doc["judging"]["judges"][0]["kind"] = "vibes".into();
    doc["judging"]["calibration"]["aplied"] = true.into();
    assert_eq!(
        errors(&validator(), &doc).len(),
        2,
        "{:?}",
        errors(&validator(), &doc)
    );
}

#[test]
fn failure_classes_validate_and_a_broken_one_is_refused() {
    let mut r = sample::demo("m");
    r.failures = vec![medbench_report::FailureClass {
        class: "connect".into(),
        count: 3,
        first_message: "transport error from http://127.0.0.1:9/v1/chat/completions".into(),
    }];
    let mut doc: Value = serde_json::from_str(&to_json(&r)).unwrap();
    assert_eq!(errors(&validator(), &doc), Vec::<String>::new());
    doc["failures"][0]
        .as_object_mut()
        .unwrap()
        .remove("first_message");
    assert!(!errors(&validator(), &doc).is_empty());
}
