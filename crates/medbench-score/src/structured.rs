//! Structured answers: JSON fields, tuples and numbers, plus the JSON value
//! comparison the tool-call scorer shares.

use crate::Score;
use crate::extract::{self, JsonKind};
use crate::labels::set_f1_score;
use crate::text::{normalize, to_half_width};
use regex::Regex;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::LazyLock;

/// Relative tolerance for numbers inside JSON answers.
pub const JSON_REL_TOL: f64 = 1e-6;

/// Two numbers equal within `JSON_REL_TOL` relative to the larger magnitude.
fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= JSON_REL_TOL * a.abs().max(b.abs()) || (a - b).abs() <= 1e-12
}

/// Units a number may carry in a string and still be that number
/// (`"7600.00元"`, `"37℃"`, `"¥230"`, `"120 mmHg"`).
const UNITS: &[&str] = &["元", "℃", "°c", "%", "mmhg", "次/分", "kg", "cm", "mm"];

/// A scalar as a number: JSON numbers, and strings that are a number,
/// possibly with a currency sign or one of [`UNITS`].
fn as_number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => {
            let t = normalize(s);
            let t = t.trim_start_matches(['¥', '￥']);
            let t = UNITS
                .iter()
                .find_map(|u| t.strip_suffix(u))
                .unwrap_or(t)
                .trim();
            t.parse::<f64>().ok().filter(|x| x.is_finite())
        }
        _ => None,
    }
}

/// A scalar as comparable text (strings normalised, numbers as written).
fn as_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(normalize(s)),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A compact form of an object key: half-width, lower case, no whitespace.
fn key_form(k: &str) -> String {
    to_half_width(k)
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect()
}

/// The value of `key` in `obj`: exact key first, then a key equal after
/// half-width folding, lower-casing and whitespace removal (`体温（℃）` = `体温(℃)`).
pub fn get_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Option<&'a Value> {
    obj.get(key).or_else(|| {
        let want = key_form(key);
        obj.iter()
            .find(|(k, _)| key_form(k) == want)
            .map(|(_, v)| v)
    })
}

/// Does a given JSON value match the expected one? Strings compare after
/// normalisation; numbers (or numeric strings on either side) within a
/// relative 1e-6; arrays element-wise regardless of order; objects on every
/// expected key (extra keys allowed); `null` only matches `null`.
pub fn values_match(want: &Value, got: &Value) -> bool {
    match (want, got) {
        (Value::Null, _) => got.is_null(),
        (Value::Array(w), Value::Array(g)) => {
            if w.len() != g.len() {
                return false;
            }
            let mut used = vec![false; g.len()];
            w.iter().all(|x| {
                let hit = g
                    .iter()
                    .enumerate()
                    .find(|(i, y)| !used[*i] && values_match(x, y));
                hit.map(|(i, _)| used[i] = true).is_some()
            })
        }
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, x)| get_field(g, k).is_some_and(|y| values_match(x, y))),
        (Value::Array(_) | Value::Object(_), _) | (_, Value::Array(_) | Value::Object(_)) => false,
        _ => {
            if let (Some(a), Some(b)) = (as_number(want), as_number(got)) {
                return close(a, b);
            }
            match (as_text(want), as_text(got)) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            }
        }
    }
}

/// JSON fields: the fields read by [`crate::fields::read_fields`] (a JSON
/// object, a list of objects with every element merged, `key: value`
/// lines, fenced or not, or an explicit empty answer `[]` / `{}` / `无`);
/// value = share of reference fields whose given value matches
/// ([`values_match`]; `未知` must be answered `未知`). A reference with no
/// fields is matched by an empty answer (Correct) and missed by any field
/// (Wrong); an empty answer to a reference with fields is Wrong. Nothing
/// readable is Unparsed.
pub fn score_json_fields(want: &BTreeMap<String, Value>, answer: &str) -> Score {
    let Some(got) = crate::fields::read_fields(answer) else {
        return Score::unparsed("no JSON object or key: value lines found");
    };
    let parsed = Some(Value::Object(got.clone()));
    if want.is_empty() {
        return if got.is_empty() {
            Score::correct(parsed).with_detail("no fields expected, none given")
        } else {
            Score::wrong(parsed, format!("no fields expected, {} given", got.len()))
        };
    }
    if got.is_empty() {
        return Score::wrong(parsed, format!("fields 0/{}; empty answer", want.len()));
    }
    let missed: Vec<&str> = want
        .iter()
        .filter(|(k, v)| !get_field(&got, k).is_some_and(|g| values_match(v, g)))
        .map(|(k, _)| k.as_str())
        .collect();
    let hit = want.len() - missed.len();
    let mut detail = format!("fields {hit}/{}", want.len());
    if !missed.is_empty() {
        let shown: Vec<&str> = missed.iter().take(8).copied().collect();
        detail.push_str(&format!("; not matched: {}", shown.join(", ")));
    }
    Score::graded(hit as f64 / want.len() as f64, parsed, Some(detail))
}

/// Answers that mean "no tuples".
const EMPTY_WORDS: &[&str] = &["[]", "无", "none", "无关系", "没有"];

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// One tuple from a JSON element: a list of scalars, or an object keyed by slot names.
fn json_tuple(slots: &[String], v: &Value) -> Option<Vec<String>> {
    match v {
        Value::Array(a) => a.iter().map(scalar_string).collect(),
        Value::Object(o) if !slots.is_empty() => slots
            .iter()
            .map(|s| get_field(o, s).and_then(scalar_string))
            .collect(),
        _ => None,
    }
}

/// Read tuples: a JSON list of lists (or of objects keyed by the slot names,
/// or an object holding such a list), else parenthesised lines `(a, r, b)`
/// whose arity is the slot count. `[]` / `无` mean no tuples. `None` when
/// nothing can be read.
pub fn parse_tuples(slots: &[String], answer: &str) -> Option<Vec<Vec<String>>> {
    let arity_ok = |t: &Vec<String>| {
        if slots.is_empty() {
            t.len() >= 2
        } else {
            t.len() == slots.len()
        }
    };
    let json = extract::find_json(answer, JsonKind::Any);
    let list = match json {
        Some(Value::Array(a)) => Some(a),
        Some(Value::Object(o)) => o.into_iter().find_map(|(_, v)| match v {
            Value::Array(a) => Some(a),
            _ => None,
        }),
        _ => None,
    };
    if let Some(list) = list {
        if list.iter().all(|v| !v.is_array() && !v.is_object()) {
            let one: Option<Vec<String>> = list.iter().map(scalar_string).collect();
            if let Some(t) = one.filter(|t| !t.is_empty() && arity_ok(t)) {
                return Some(vec![t]);
            }
        }
        let tuples: Vec<Vec<String>> = list.iter().filter_map(|v| json_tuple(slots, v)).collect();
        if !tuples.is_empty() || list.is_empty() {
            return Some(tuples);
        }
    }
    static PAREN: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[(\[]([^()\[\]\n]+)[)\]]").unwrap());
    let t = to_half_width(answer);
    let tuples: Vec<Vec<String>> = PAREN
        .captures_iter(&t)
        .map(|c| {
            c[1].split(',')
                .map(|x| x.trim().trim_matches(['"', '\'', '“', '”']).to_owned())
                .collect::<Vec<_>>()
        })
        .filter(arity_ok)
        .collect();
    if !tuples.is_empty() {
        return Some(tuples);
    }
    EMPTY_WORDS
        .contains(&normalize(answer).as_str())
        .then(Vec::new)
}

/// Tuples: micro-F1 over exact tuples (elements normalised, duplicates
/// dropped); both empty scores 1; nothing readable is Unparsed.
pub fn score_tuples(slots: &[String], want: &[Vec<String>], answer: &str) -> Score {
    let Some(got) = parse_tuples(slots, answer) else {
        return Score::unparsed("no tuples found");
    };
    let key = |t: &Vec<String>| {
        t.iter()
            .map(|x| normalize(x))
            .collect::<Vec<_>>()
            .join("\u{1f}")
    };
    let mut g: Vec<String> = got.iter().map(key).collect();
    let mut w: Vec<String> = want.iter().map(key).collect();
    g.sort();
    g.dedup();
    w.sort();
    w.dedup();
    let mut s = set_f1_score(&g, &w);
    s.parsed = Some(json!(got));
    s
}

/// Read the number an answer gives. Order: the number inside `\boxed{…}`;
/// else the first number within 40 bytes after the last `答案`/`结果`/
/// `answer`/`result` marker; else the first number right after the last `=`
/// or `≈`; else the last number in the text.
pub fn extract_number(answer: &str) -> Option<f64> {
    let t = to_half_width(&extract::clean_answer(answer));
    let nums = extract::numbers(&t);
    let after = |pos: usize, window: usize| {
        nums.iter()
            .find(|n| n.start >= pos && n.start - pos <= window && !t[pos..n.start].contains('\n'))
            .map(|n| n.value)
    };
    static BOXED: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"\\boxed\{").unwrap());
    static WORD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)(?:最终答案|答案|结果|final answer|answer|result)").unwrap()
    });
    static EQ: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"=|≈").unwrap());
    for re in [&*BOXED, &*WORD] {
        if let Some(v) = re.find_iter(&t).filter_map(|m| after(m.end(), 40)).last() {
            return Some(v);
        }
    }
    if let Some(v) = EQ.find_iter(&t).filter_map(|m| after(m.end(), 12)).last() {
        return Some(v);
    }
    nums.last().map(|n| n.value)
}

/// Numeric: Correct when `|given − right| ≤ max(abs_tol, rel_tol·|right|)`;
/// with neither tolerance given, `1e-9·max(1, |right|)`. No number is Unparsed.
pub fn score_numeric(want: f64, abs_tol: Option<f64>, rel_tol: Option<f64>, answer: &str) -> Score {
    let Some(got) = extract_number(answer) else {
        return Score::unparsed("no number found");
    };
    let tol = if abs_tol.is_none() && rel_tol.is_none() {
        1e-9 * want.abs().max(1.0)
    } else {
        abs_tol
            .unwrap_or(0.0)
            .max(rel_tol.unwrap_or(0.0) * want.abs())
    };
    // A hair of slack for binary floating point (0.1 + 0.2 style errors).
    let slack = 1e-12 * want.abs().max(1.0);
    if (got - want).abs() <= tol + slack {
        Score::correct(Some(json!(got)))
    } else {
        Score::wrong(Some(json!(got)), "outside tolerance".to_owned())
    }
}
