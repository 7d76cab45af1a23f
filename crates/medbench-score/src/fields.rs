//! Reading a JSON-fields answer (SMDoc, MedReportQC, MedInsureCalc, MedOCR)
//! the ways real models write one: a JSON object, a list of objects, plain
//! `key: value` lines, a fenced block of any of these, or an explicit empty
//! answer (`[]`, `{}`, `无`).
//!
//! The importer can read a reference with the same function, so that a
//! reference and an answer written the same way always compare equal.

use crate::extract::{self, JsonKind};
use crate::text::{normalize, to_half_width};
use regex::Regex;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// Answers that mean "no fields": nothing to report (MedReportQC's "no
/// defects"). Compared after normalisation.
const EMPTY_WORDS: &[&str] = &[
    "[]",
    "{}",
    "无",
    "无问题",
    "没有",
    "没有问题",
    "无错误",
    "未发现问题",
    "none",
];

/// Merge a list of objects into one object, reading **every** element:
/// a key found in one element keeps its value; a key found in several
/// (MedReportQC's `[{"错误类型": …, "修改建议": …}, …]`) gets the list of
/// their values in order, so `错误类型` becomes `["单位错误", "错别字"]`.
/// Values that are themselves lists are not flattened.
pub fn merge_objects(list: &[Map<String, Value>]) -> Map<String, Value> {
    let mut counts: Map<String, Value> = Map::new();
    for o in list {
        for k in o.keys() {
            let n = counts.get(k).and_then(Value::as_u64).unwrap_or(0);
            counts.insert(k.clone(), Value::from(n + 1));
        }
    }
    let mut out = Map::new();
    for o in list {
        for (k, v) in o {
            if counts.get(k).and_then(Value::as_u64) == Some(1) {
                out.insert(k.clone(), v.clone());
            } else if let Value::Array(a) = out
                .entry(k.clone())
                .or_insert_with(|| Value::Array(Vec::new()))
            {
                a.push(v.clone());
            }
        }
    }
    out
}

/// A JSON value as fields: an object as it is, a list of objects merged
/// ([`merge_objects`]), an empty list or object as no fields.
fn as_fields(v: &Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(o) => Some(o.clone()),
        Value::Array(a) if a.is_empty() => Some(Map::new()),
        Value::Array(a) if a.iter().all(Value::is_object) => {
            let objs: Vec<Map<String, Value>> =
                a.iter().filter_map(|x| x.as_object().cloned()).collect();
            Some(merge_objects(&objs))
        }
        _ => None,
    }
}

/// `key: value` / `key：value` lines (bullets, numbering and `**` around the
/// key allowed). A key given twice keeps its last value (a calculation
/// worked through and then summarised), and a value that is a worked sum
/// keeps its result (`475+3300+230=4005元` → `4005元`). Read when they make up at least half of the non-empty
/// lines, or the answer is that one line: a reasoning trace with a few
/// colons in it is not a field answer.
fn key_value_lines(text: &str) -> Option<Map<String, Value>> {
    static LINE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*(?:[-*•]\s+|\d{1,2}[.、)]\s*)?(?:\*\*)?([^:*\n]{1,40}?)(?:\*\*)?\s*:\s*(?:\*\*)?(.*?)(?:\*\*)?\s*$")
            .unwrap()
    });
    let t = to_half_width(text);
    let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut out = Map::new();
    let mut hits = 0;
    for line in &lines {
        let Some(c) = LINE.captures(line) else {
            continue;
        };
        let key = c[1].trim();
        // A URL or a time (`10:30`) is not a key.
        if key.is_empty() || key.ends_with(|c: char| c.is_ascii_digit()) || key.contains("http") {
            continue;
        }
        hits += 1;
        let mut value = c[2].trim().trim_end_matches(['。', ';', ',', '，']);
        // A worked sum gives its result: `475+3300+230=4005元` → `4005元`.
        if let Some((lhs, result)) = value.rsplit_once('=')
            && lhs.chars().any(|c| c.is_ascii_digit())
            && result
                .trim()
                .starts_with(|c: char| c.is_ascii_digit() || c == '-')
        {
            value = result.trim();
        }
        // A key given twice (worked, then summarised) keeps its last value.
        out.insert(key.to_owned(), Value::String(value.to_owned()));
    }
    let enough = (hits >= 2 && hits * 2 >= lines.len()) || (hits == 1 && lines.len() == 1);
    enough.then_some(out)
}

/// Read the fields an answer gives: `Some(map)` (empty for an explicit
/// empty answer), `None` when nothing can be read. In order:
///
/// 1. JSON: the **last** object, list of objects or empty list/object in
///    the answer (code fences first). Lists of objects are merged with
///    [`merge_objects`] (every element), so `[{"错误类型": …}, {…}]` is read
///    whole, not only its first element;
/// 2. `key: value` / `key：value` lines (`主诉: 头痛3天\n体温(℃): 37`),
///    inside a fence or not;
/// 3. the whole answer says there is nothing: `[]`, `{}`, `无`, `无问题`,
///    `没有`, `none`.
pub fn read_fields(answer: &str) -> Option<Map<String, Value>> {
    let answer = extract::clean_answer(answer);
    let found = extract::find_all_json(&answer, JsonKind::Any)
        .iter()
        .rev()
        .find_map(as_fields);
    if found.is_some() {
        return found;
    }
    let fenced: Vec<String> = extract::code_fences(&answer)
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    if let Some(m) = fenced.iter().rev().find_map(|b| key_value_lines(b)) {
        return Some(m);
    }
    if let Some(m) = key_value_lines(&answer) {
        return Some(m);
    }
    let whole = normalize(answer.trim().trim_matches('`'));
    EMPTY_WORDS
        .iter()
        .any(|w| normalize(w) == whole)
        .then(Map::new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn key_value_lines_are_fields() {
        let m = read_fields("主诉: 头痛3天\n体温(℃): 37").unwrap();
        assert_eq!(m, obj(json!({"主诉": "头痛3天", "体温(℃)": "37"})));
        let m = read_fields("总费用：7600.00元\n医保报销金额：5496.10元").unwrap();
        assert_eq!(m["医保报销金额"], json!("5496.10元"));
        let worked = "1）计算\n- 总费用：475+3300+230=4005元\n- 医保报销金额：3330×75%=2497.50元\n2）汇总\n- 总费用：4005元\n- 医保报销金额：2497.50元";
        let m = read_fields(worked).unwrap();
        assert_eq!(m["总费用"], json!("4005元"));
        assert_eq!(m["医保报销金额"], json!("2497.50元"));
        let m = read_fields("- **主诉**：头痛\n- **既往史**：无").unwrap();
        assert_eq!(m, obj(json!({"主诉": "头痛", "既往史": "无"})));
        let m = read_fields("```\n主诉: 头痛\n体温: 37\n```").unwrap();
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn prose_with_a_few_colons_is_not_fields() {
        let trace = "首先，任务是判断报告。\n注意：输出格式必须是JSON。\n我需要仔细阅读报告。\n描述部分提到肝脏。\n诊断部分提到囊肿。";
        assert_eq!(read_fields(trace), None);
        assert_eq!(read_fields("860.00 725.00 465.50"), None);
    }

    #[test]
    fn every_element_of_a_list_is_read() {
        let a = r#"[{"错误类型": "单位错误", "修改建议": "8×5m 改为 8×5mm"},
                    {"错误类型": "错别字", "修改建议": "密度度 改为 密度"}]"#;
        let m = read_fields(a).unwrap();
        assert_eq!(m["错误类型"], json!(["单位错误", "错别字"]));
        assert_eq!(m["修改建议"].as_array().unwrap().len(), 2);
        // One element: plain values.
        let one = read_fields(r#"[{"错误类型": "方位错误", "修改建议": "左改右"}]"#).unwrap();
        assert_eq!(one["错误类型"], json!("方位错误"));
        // Disjoint keys simply merge.
        let m = read_fields(r#"[{"主诉": "头痛"}, {"体温": 37}]"#).unwrap();
        assert_eq!(m, obj(json!({"主诉": "头痛", "体温": 37})));
    }

    #[test]
    fn empty_answers_are_read_as_no_fields() {
        for a in [
            "[]",
            "```json\n[]\n```",
            "{}",
            "无",
            "无问题。",
            "没有",
            "None",
        ] {
            assert_eq!(read_fields(a), Some(Map::new()), "{a}");
        }
        assert_eq!(read_fields(""), None);
    }

    #[test]
    fn the_last_json_value_is_the_answer() {
        let a = "示例格式 {\"主诉\": \"\"}，实际结果：\n{\"主诉\": \"头痛\"}";
        assert_eq!(read_fields(a).unwrap()["主诉"], json!("头痛"));
    }
}
