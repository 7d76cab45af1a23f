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

/// A list of two-key records where one key names a category and the other
/// gives its value (`[{"错误类型": "错别字", "修改建议": "…"}, …]`) as the
/// object it stands for (`{"错别字": "…"}`): the shape the other MedReportQC
/// prompt asks for, so both shapes read the same. The category key is the
/// only one whose values are all short strings (at most 20 characters), or,
/// when both are, the one named like a category (`类型`, `类别`, `名称`,
/// `项目`, `type`, `category`, `name`, `field`, `key`). A category given twice
/// gets the list of its values.
pub fn pivot_records(list: &[Map<String, Value>]) -> Option<Map<String, Value>> {
    let first = list.first()?;
    let same_keys =
        |o: &Map<String, Value>| o.len() == 2 && first.keys().all(|k| o.contains_key(k));
    if first.len() != 2 || !list.iter().all(same_keys) {
        return None;
    }
    let short = |k: &String| {
        list.iter().all(|o| {
            o[k].as_str()
                .is_some_and(|v| !v.trim().is_empty() && v.chars().count() <= 20)
        })
    };
    static CATEGORY: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)类型|类别|名称|项目|type|category|name|field|key").unwrap()
    });
    let keys: Vec<&String> = first.keys().collect();
    let shorts: Vec<&String> = keys.iter().copied().filter(|k| short(k)).collect();
    let cat = match shorts.as_slice() {
        [one] => *one,
        [_, _] => *keys.iter().find(|k| CATEGORY.is_match(k))?,
        _ => return None,
    };
    let val = *keys.iter().find(|k| **k != cat)?;
    let mut out = Map::new();
    for o in list {
        let name = o[cat].as_str()?.trim().to_owned();
        let v = o[val].clone();
        match out.get_mut(&name) {
            None => {
                out.insert(name, v);
            }
            Some(Value::Array(a)) if a.len() > 1 || !v.is_array() => a.push(v),
            Some(prev) => *prev = Value::Array(vec![prev.clone(), v]),
        }
    }
    Some(out)
}

/// A JSON value as fields: an object as it is, a list of category records
/// pivoted ([`pivot_records`]), any other list of objects merged
/// ([`merge_objects`]), an empty list or object as no fields.
fn as_fields(v: &Value) -> Option<Map<String, Value>> {
    match v {
        Value::Object(o) => Some(o.clone()),
        Value::Array(a) if a.is_empty() => Some(Map::new()),
        Value::Array(a) if a.iter().all(Value::is_object) => {
            let objs: Vec<Map<String, Value>> =
                a.iter().filter_map(|x| x.as_object().cloned()).collect();
            Some(pivot_records(&objs).unwrap_or_else(|| merge_objects(&objs)))
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
        // A URL, a time (`10:30`) or a line of JSON text (`"主诉": …`) is
        // not a key: value line.
        let numeric = key.chars().all(|c| c.is_ascii_digit() || c.is_whitespace());
        if key.is_empty()
            || numeric
            || key.contains("http")
            || key.starts_with(['"', '\'', '{', '[', '“'])
        {
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

/// Answers at least this long (in characters) are reasoning traces: their
/// fields are read only from where a person looks for an answer.
const TRACE: usize = 1000;
/// In a trace, a JSON answer starts within this many characters of the
/// beginning, or ends within this many of the end.
const EDGE: usize = 300;

/// Byte ranges of the Markdown code fences in `text` (an unclosed last
/// fence runs to the end).
fn fence_ranges(text: &str) -> Vec<(usize, usize)> {
    let marks: Vec<usize> = text.match_indices("```").map(|(i, _)| i).collect();
    marks
        .chunks(2)
        .map(|p| (p[0], p.get(1).map_or(text.len(), |e| e + 3)))
        .collect()
}

/// The prompt's output template restated (`{"总费用": 0, "医保报销金额": 0}`):
/// every value is `0`, `""` or `null`.
fn is_template(m: &Map<String, Value>) -> bool {
    !m.is_empty()
        && m.values().all(|v| match v {
            Value::Null => true,
            Value::Number(n) => n.as_f64() == Some(0.0),
            Value::String(s) => s.trim().is_empty(),
            _ => false,
        })
}

/// A trace that stops mid-sentence: its last line is long (over 40
/// characters, longer than a `key: value` line of a summary) and does not
/// end in sentence-final punctuation or a closing bracket.
fn cut_off(answer: &str) -> bool {
    let last = answer.trim_end().lines().last().unwrap_or("").trim();
    let Some(c) = last.chars().last() else {
        return false;
    };
    let finished = "。．.！!？?）)」』”\"'*`>]】}…~".contains(c);
    last.chars().count() > 40 && !finished
}

/// Does the last non-empty line of `body` hold a `key: value` pair, and is
/// that line also the end of the whole answer?
fn ends_with_fields(answer: &str, body: &str) -> bool {
    let Some(last) = body.lines().rev().find(|l| !l.trim().is_empty()) else {
        return false;
    };
    let tail = answer.trim_end().trim_end_matches('`').trim_end();
    key_value_lines(last).is_some() && tail.ends_with(last.trim_end())
}

/// Read the fields an answer gives: `Some(map)` (empty for an explicit
/// empty answer), `None` when nothing can be read. In order:
///
/// 1. JSON: the **last** object, list of objects or empty list/object in
///    the answer (inside code fences first). A list of category records is
///    read as the object it stands for ([`pivot_records`]), any other list
///    of objects merged ([`merge_objects`]): every element, not only the
///    first;
/// 2. `key: value` / `key：value` lines (`主诉: 头痛3天\n体温(℃): 37`),
///    inside a fence or not;
/// 3. the whole answer says there is nothing: `[]`, `{}`, `无`, `无问题`,
///    `没有`, `none`.
///
/// A reasoning trace (1000 characters or more) is read only where a person
/// looks for its answer: a JSON value that starts within its first 300
/// characters, or, unless the trace was cut off mid-sentence, a JSON value
/// that ends within 300 of its end or `key: value` lines that end it. A
/// template restated mid-trace (`{"总费用": 0, …}`: every value 0, `""` or
/// `null`; `[]` in the middle) is not its answer,
/// and a trace cut off before its answer is unread. An answer that is JSON
/// but does not parse as a whole (cut inside its list) is unread too.
pub fn read_fields(answer: &str) -> Option<Map<String, Value>> {
    let answer = extract::clean_answer(answer);
    let total = answer.chars().count();
    let trace = total >= TRACE;
    let cut = trace && cut_off(&answer);
    let chars_before = |i: usize| answer[..i].chars().count();
    let at_edge = |start: usize, end: usize| {
        !trace || chars_before(start) <= EDGE || (!cut && total - chars_before(end) <= EDGE)
    };
    // An answer that is JSON but does not parse as a whole (cut off inside
    // its list) is not read from the pieces that do.
    let body_start = answer
        .trim_start()
        .trim_start_matches("```json")
        .trim_start();
    if body_start.starts_with(['[', '{']) {
        let at = answer.len() - body_start.len();
        let whole = extract::json_spans(&answer, JsonKind::Any)
            .iter()
            .any(|(a, _, _)| *a == at);
        if !whole {
            return None;
        }
    }
    let fences = fence_ranges(&answer);
    let fenced = |p: usize| fences.iter().any(|(a, b)| *a <= p && p < *b);
    let spans: Vec<(usize, Map<String, Value>)> = extract::json_spans(&answer, JsonKind::Any)
        .into_iter()
        .filter(|(a, b, _)| at_edge(*a, *b))
        .filter_map(|(a, _, v)| as_fields(&v).map(|m| (a, m)))
        .filter(|(_, m)| !(trace && is_template(m)))
        .collect();
    let in_fence = spans.iter().rev().find(|(a, _)| fenced(*a));
    if let Some((_, m)) = in_fence.or(spans.last()) {
        return Some(m.clone());
    }
    // Key: value lines; in a trace, only a block that ends it.
    let mut bodies: Vec<String> = extract::code_fences(&answer)
        .into_iter()
        .map(|(_, b)| b)
        .collect();
    bodies.reverse();
    bodies.push(answer.clone());
    if let Some(m) = bodies
        .iter()
        .filter(|b| !trace || (!cut && ends_with_fields(&answer, b)))
        .find_map(|b| key_value_lines(b))
    {
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
        // Category records read as the object they stand for, every element.
        let a = r#"[{"错误类型": "单位错误", "修改建议": "8×5m 改为 8×5mm"},
                    {"错误类型": "错别字", "修改建议": "密度度 改为 密度"}]"#;
        let m = read_fields(a).unwrap();
        assert_eq!(
            m,
            obj(json!({"单位错误": "8×5m 改为 8×5mm", "错别字": "密度度 改为 密度"}))
        );
        // The same as the object form the other prompt asks for.
        let o = read_fields(r#"{"单位错误": "8×5m 改为 8×5mm", "错别字": "密度度 改为 密度"}"#);
        assert_eq!(o.unwrap(), m);
        // A category given twice keeps both values.
        let twice =
            r#"[{"错误类型": "错别字", "修改建议": "a"}, {"错误类型": "错别字", "修改建议": "b"}]"#;
        assert_eq!(read_fields(twice).unwrap()["错别字"], json!(["a", "b"]));
        // Records that are not categories merge key by key.
        let rec =
            r#"[{"药品": "阿司匹林", "剂量": "100mg"}, {"药品": "氯吡格雷", "剂量": "75mg"}]"#;
        let m = read_fields(rec).unwrap();
        assert_eq!(m["药品"], json!(["阿司匹林", "氯吡格雷"]));
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
    fn a_trace_is_read_only_where_its_answer_is() {
        let thinking = "我需要先核对每一项费用和政策，再计算报销金额。".repeat(50);
        // A template restated mid-trace, then a cut: unread.
        let cut = format!(
            "题目要求输出 {{\"总费用\": 0}}。\n{thinking}\n所以总费用应该是4005元，但是还要考虑乙类自付的部分"
        );
        assert_eq!(read_fields(&cut), None);
        // The same trace ending with its JSON: read.
        let ended = format!("{thinking}\n最终JSON：\n{{\"总费用\": 4005}}");
        assert_eq!(read_fields(&ended).unwrap()["总费用"], json!(4005));
        // Ending with its key: value summary: read.
        let summary = format!("{thinking}\n结果汇总：\n总费用：4005元\n医保报销金额：2497.50元");
        assert_eq!(read_fields(&summary).unwrap()["总费用"], json!("4005元"));
        // A JSON answer cut inside its list: not read from the complete elements.
        let broken = r#"[{"错误类型": "错别字", "修改建议": "a"}, {"错误类型": "单位错"#;
        assert_eq!(read_fields(broken), None);
    }

    #[test]
    fn the_last_json_value_is_the_answer() {
        let a = "示例格式 {\"主诉\": \"\"}，实际结果：\n{\"主诉\": \"头痛\"}";
        assert_eq!(read_fields(a).unwrap()["主诉"], json!("头痛"));
    }
}
