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
