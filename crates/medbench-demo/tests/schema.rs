//! `schema/item.schema.json` must accept every demo item and reject what the
//! Rust reader rejects structurally. Each hand-made case is also read by
//! `medbench_core::Item` + `validate()`, so the schema and the code are held
//! to the same verdict and cannot drift apart unnoticed.

use medbench_core::Item;
use medbench_demo::files;
use serde_json::{Value, json};
use std::path::Path;

fn schema() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schema/item.schema.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn validator() -> jsonschema::Validator {
    let s = schema();
    assert!(
        jsonschema::draft202012::meta::is_valid(&s),
        "the schema is not a valid draft 2020-12 schema"
    );
    jsonschema::draft202012::new(&s).expect("the schema compiles")
}

/// Schema errors for one instance, as `path: message` lines.
fn schema_errors(v: &jsonschema::Validator, item: &Value) -> Vec<String> {
    v.iter_errors(item)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

/// What the Rust side says: `Ok` when the line parses and validates.
fn rust_verdict(item: &Value) -> Result<(), String> {
    let it: Item = serde_json::from_value(item.clone()).map_err(|e| e.to_string())?;
    it.validate().map_err(|errs| {
        errs.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ")
    })
}

#[test]
fn every_demo_line_matches_the_schema() {
    let v = validator();
    let mut problems = Vec::new();
    let mut count = 0;
    for f in files() {
        for (n, line) in f.text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            count += 1;
            let item: Value = serde_json::from_str(line).expect("demo lines are JSON");
            for e in schema_errors(&v, &item) {
                problems.push(format!("{}:{}: {e}", f.name, n + 1));
            }
        }
    }
    assert!(count > 150, "only {count} demo lines found");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// A minimal valid item; cases patch it.
fn base() -> Value {
    json!({
        "id": "DemoExam/900",
        "track": "llm",
        "dimension": "knowledge_qa",
        "language": "zh",
        "question": "坏血病是缺乏哪种维生素引起的？",
        "format": {"type": "single_choice", "options": [
            {"label": "A", "text": "维生素A"}, {"label": "B", "text": "维生素C"}]},
        "reference": {"answer": "B"},
        "provenance": {"source": "test"}
    })
}

/// `base()` with top-level keys replaced (a `null` patch value removes the key).
fn with(patch: Value) -> Value {
    let mut v = base();
    let obj = v.as_object_mut().unwrap();
    for (k, x) in patch.as_object().unwrap() {
        if x.is_null() {
            obj.remove(k);
        } else {
            obj.insert(k.clone(), x.clone());
        }
    }
    v
}

fn valid_cases() -> Vec<(&'static str, Value)> {
    vec![
        ("base", base()),
        (
            "answer as a list",
            with(json!({"reference": {"answer": ["B"]}})),
        ),
        ("blind: no reference", with(json!({"reference": null}))),
        ("blind: reference null", {
            let mut v = base();
            v["reference"] = Value::Null;
            v
        }),
        (
            "all optional fields",
            with(json!({
                "version": 3, "task": "DemoExam", "task_version": 2,
                "specialties": ["03.04", "Cardiology"], "system": "你是医生。",
                "context": ["病例摘要"], "conversation": [{"role": "user", "content": "你好"}],
                "media": [{"name": "img/ct_01.png", "media_type": "image/png",
                           "sha256": "15fe59b6590bd7d883089bfe28573fd27abe8a988f2609389576443c5d03fc87"}],
                "provenance": {"source": "test", "licence": "CC-BY-4.0", "url": "https://example.org/x",
                               "original_id": "Q17", "guidelines": ["指南"]},
                "difficulty": 5, "review": "in_review", "tags": ["demo"]
            })),
        ),
        (
            "extra key in an option is ignored",
            with(json!({"format": {"type": "single_choice", "options": [
                {"label": "A", "text": "x", "note": "n"}, {"label": "B", "text": "y"}]}})),
        ),
        (
            "yes_no maybe allowed",
            with(json!({"format": {"type": "yes_no", "allow_maybe": true},
                        "reference": {"answer": "maybe"}})),
        ),
        (
            "dialogue: empty question after a conversation",
            with(
                json!({"track": "agent", "dimension": "long_horizon", "question": "",
                        "conversation": [{"role": "user", "content": "头痛三天"}],
                        "format": {"type": "dialogue"}, "reference": {"key_points": ["询问诱因"]}}),
            ),
        ),
        (
            "detection with default iou and grid",
            with(
                json!({"track": "multimodal", "dimension": "visual_perception",
                        "format": {"type": "detection"},
                        "reference": {"boxes": [{"label": "结节", "box": [10, 20, 300, 400]}]}}),
            ),
        ),
        (
            "label_set with no labels (nothing applies)",
            with(json!({"format": {"type": "label_set"}, "reference": {"labels": []}})),
        ),
        (
            "agent episode with solution only",
            with(
                json!({"track": "agent", "dimension": "tool_use", "language": "en",
                        "format": {"type": "agent_episode", "max_turns": 8},
                        "reference": {"solution": ["S6534835"]}}),
            ),
        ),
        (
            "numeric with null tolerance",
            with(json!({"format": {"type": "numeric", "unit": "mg"},
                        "reference": {"value": 12, "abs_tol": null, "rel_tol": 0.05}})),
        ),
    ]
}

fn invalid_cases() -> Vec<(&'static str, Value)> {
    vec![
        // Wrong reference shape for the format.
        (
            "choice reference with `answers`",
            with(json!({"reference": {"answers": ["B"]}})),
        ),
        (
            "numeric reference for a choice item",
            with(json!({"reference": {"value": 2}})),
        ),
        (
            "numeric value as text",
            with(json!({"format": {"type": "numeric"}, "reference": {"value": "ten"}})),
        ),
        (
            "yes_no answer not yes/no/maybe",
            with(json!({"format": {"type": "yes_no"}, "reference": {"answer": "是"}})),
        ),
        (
            "maybe without allow_maybe",
            with(json!({"format": {"type": "yes_no"}, "reference": {"answer": "maybe"}})),
        ),
        (
            "two answers to a single choice",
            with(json!({"reference": {"answer": ["A", "B"]}})),
        ),
        (
            "empty choice answer",
            with(json!({"reference": {"answer": []}})),
        ),
        (
            "open reference with nothing in it",
            with(json!({"format": {"type": "open_ended"}, "reference": {}})),
        ),
        (
            "open reference with a misspelt key",
            with(json!({"format": {"type": "open_ended"}, "reference": {"keypoints": ["x"]}})),
        ),
        (
            "rubric without a positive criterion",
            with(json!({"format": {"type": "open_ended"},
                        "reference": {"rubric": [{"criterion": "给出剂量", "points": -5}]}})),
        ),
        (
            "detection iou 0",
            with(
                json!({"track": "multimodal", "dimension": "visual_perception",
                        "format": {"type": "detection"}, "reference": {"boxes": [], "iou": 0}}),
            ),
        ),
        (
            "detection box outside the default grid",
            with(
                json!({"track": "multimodal", "dimension": "visual_perception",
                        "format": {"type": "detection"},
                        "reference": {"boxes": [{"label": "结节", "box": [10, 20, 300, 1400]}]}}),
            ),
        ),
        (
            "tool_calls with no expected call",
            with(json!({"track": "agent", "dimension": "tool_use",
                        "format": {"type": "tool_calls", "tools": []}, "reference": {"calls": []}})),
        ),
        (
            "sql reference without fixture",
            with(json!({"track": "agent", "dimension": "tool_use",
                        "format": {"type": "sql", "schema": "CREATE TABLE t(x);"},
                        "reference": {"query": "SELECT 1"}})),
        ),
        (
            "short_answer with no answer",
            with(json!({"format": {"type": "short_answer"}, "reference": {"answers": []}})),
        ),
        // Unknown fields.
        ("unknown top-level field", with(json!({"answer": "B"}))),
        (
            "unknown field in format",
            with(json!({"format": {"type": "yes_no", "allow_maybe": false, "maybe": true}})),
        ),
        (
            "unknown field in provenance",
            with(json!({"provenance": {"source": "test", "license": "MIT"}})),
        ),
        (
            "unknown field in media",
            with(
                json!({"media": [{"name": "a.png", "media_type": "image/png", "size": 3,
                "sha256": "15fe59b6590bd7d883089bfe28573fd27abe8a988f2609389576443c5d03fc87"}]}),
            ),
        ),
        // Enumerations and shapes.
        ("bad track", with(json!({"track": "vlm"}))),
        (
            "dimension of another track",
            with(json!({"dimension": "tool_use"})),
        ),
        ("unknown dimension", with(json!({"dimension": "knowledge"}))),
        (
            "unknown review status",
            with(json!({"review": "published"})),
        ),
        (
            "unknown format type",
            with(json!({"format": {"type": "essay"}, "reference": null})),
        ),
        (
            "choice format without options",
            with(json!({"format": {"type": "single_choice"}})),
        ),
        (
            "one option only",
            with(
                json!({"format": {"type": "single_choice", "options": [{"label": "B", "text": "x"}]}}),
            ),
        ),
        ("id without task", with(json!({"id": "900"}))),
        ("id with empty local part", with(json!({"id": "DemoExam/"}))),
        ("upper-case language", with(json!({"language": "ZH"}))),
        (
            "three specialties",
            with(json!({"specialties": ["01", "02", "03"]})),
        ),
        ("difficulty 6", with(json!({"difficulty": 6}))),
        ("blank question", with(json!({"question": "  "}))),
        ("missing question", with(json!({"question": null}))),
        ("missing provenance", with(json!({"provenance": null}))),
        (
            "blank provenance source",
            with(json!({"provenance": {"source": " "}})),
        ),
        (
            "media type not allowed",
            with(
                json!({"media": [{"name": "a.gif", "media_type": "image/gif",
                "sha256": "15fe59b6590bd7d883089bfe28573fd27abe8a988f2609389576443c5d03fc87"}]}),
            ),
        ),
        (
            "media sha256 not 64 hex digits",
            with(json!({"media": [{"name": "a.png", "media_type": "image/png", "sha256": "abc"}]})),
        ),
    ]
}

#[test]
fn schema_and_reader_accept_the_same_valid_items() {
    let v = validator();
    for (name, item) in valid_cases() {
        let errs = schema_errors(&v, &item);
        assert!(errs.is_empty(), "{name}: schema rejects it: {errs:?}");
        if let Err(e) = rust_verdict(&item) {
            panic!("{name}: the reader rejects it: {e}");
        }
    }
}

#[test]
fn schema_and_reader_reject_the_same_invalid_items() {
    let v = validator();
    for (name, item) in invalid_cases() {
        assert!(
            !v.is_valid(&item),
            "{name}: the schema accepts it:\n{item:#}"
        );
        assert!(
            rust_verdict(&item).is_err(),
            "{name}: the reader accepts it, so the schema is stricter than the code"
        );
    }
}

#[test]
fn schema_lists_every_format_type_once() {
    let s = schema();
    let kinds: Vec<&str> = s["$defs"]["format"]["properties"]["type"]["enum"]
        .as_array()
        .expect("format.type is an enum")
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    let want: Vec<&str> = medbench_core::FormatKind::ALL
        .iter()
        .map(|k| k.as_str())
        .collect();
    assert_eq!(kinds, want);
    for k in want {
        assert!(
            s["$defs"][format!("format_{k}")].is_object(),
            "no $defs/format_{k}"
        );
    }
}

const SHA: &str = "15fe59b6590bd7d883089bfe28573fd27abe8a988f2609389576443c5d03fc87";

/// Lines that `Item` + `validate()` let through but that the importer or the
/// bank would mishandle; the schema refuses them on purpose (docs/item-format.md).
#[test]
fn schema_refuses_what_the_importer_would_mishandle() {
    let v = validator();
    let cases = [
        (
            "extra key in a parameterless format (the reader refuses it too)",
            with(json!({"format": {"type": "open_ended", "rubric": []},
                        "reference": {"answer": "维生素C"}})),
        ),
        (
            "upper-case sha256 (never equals the computed hash)",
            with(
                json!({"media": [{"name": "a.png", "media_type": "image/png",
                                   "sha256": SHA.to_uppercase()}]}),
            ),
        ),
        (
            "media path leaving the import",
            with(
                json!({"media": [{"name": "../a.png", "media_type": "image/png", "sha256": SHA}]}),
            ),
        ),
        (
            "absolute media path",
            with(
                json!({"media": [{"name": "/tmp/a.png", "media_type": "image/png", "sha256": SHA}]}),
            ),
        ),
    ];
    for (name, item) in cases {
        assert!(!v.is_valid(&item), "{name}: the schema accepts it");
    }
}

/// Cross-field rules JSON Schema cannot express: the schema accepts these,
/// `validate()` rejects them. If the schema learns one, move it to `invalid_cases`.
#[test]
fn cross_field_rules_are_left_to_validate() {
    let v = validator();
    let cases = [
        (
            "task differs from the id prefix",
            with(json!({"task": "DemoOther"})),
        ),
        (
            "answer is not an option label",
            with(json!({"reference": {"answer": "E"}})),
        ),
        (
            "duplicate option labels",
            with(json!({"format": {"type": "single_choice", "options": [
                {"label": "A", "text": "x"}, {"label": "A", "text": "y"}]},
                "reference": {"answer": "A"}})),
        ),
        (
            "intent label outside format.labels",
            with(json!({"track": "agent", "dimension": "intent_recognition",
                        "format": {"type": "intent", "labels": ["预约挂号", "取消预约"]},
                        "reference": {"label": "投诉建议"}})),
        ),
        (
            "tuple arity differs from slots",
            with(
                json!({"format": {"type": "tuples", "slots": ["head", "relation", "tail"]},
                        "reference": {"tuples": [["贫血", "has_symptom"]]}}),
            ),
        ),
        (
            "box corners in the wrong order",
            with(
                json!({"track": "multimodal", "dimension": "visual_perception",
                        "format": {"type": "detection"},
                        "reference": {"boxes": [{"label": "结节", "box": [300, 20, 10, 400]}]}}),
            ),
        ),
    ];
    for (name, item) in cases {
        let errs = schema_errors(&v, &item);
        assert!(
            errs.is_empty(),
            "{name}: the schema now rejects it ({errs:?}); move it to invalid_cases"
        );
        assert!(
            rust_verdict(&item).is_err(),
            "{name}: validate() accepts it"
        );
    }
}
