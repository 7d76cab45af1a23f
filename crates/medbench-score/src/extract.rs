//! Format-independent answer extraction: reasoning blocks, code fences,
//! embedded JSON and numbers.

use regex::Regex;
use serde_json::Value;
use std::sync::LazyLock;

/// Remove a reasoning preamble: everything up to the last `</think>` (or
/// `</thinking>`, `</reasoning>`) and any complete `<think>…</think>` block,
/// and chat-template special tokens that leaked into the text
/// (`<|role_end|>`, `<|im_end|>`), then trim. What remains is what the model
/// meant as its answer.
pub fn clean_answer(answer: &str) -> String {
    static BLOCK: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?is)<(think|thinking|reasoning)>.*?</(think|thinking|reasoning)>").unwrap()
    });
    static CLOSE: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)</(think|thinking|reasoning)>").unwrap());
    let mut s = answer;
    if let Some(m) = CLOSE.find_iter(answer).last() {
        s = &answer[m.end()..];
    }
    static SPECIAL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"<\|[A-Za-z0-9_]{1,40}\|>").unwrap());
    let s = BLOCK.replace_all(s, "");
    SPECIAL.replace_all(&s, "").trim().to_owned()
}

/// The bodies of Markdown code fences, in order, with their info strings
/// (```` ```json ```` gives `("json", body)`). An unclosed last fence runs to the end.
pub fn code_fences(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let (info, body_start) = match after.find('\n') {
            Some(nl) => (after[..nl].trim().to_lowercase(), nl + 1),
            None => (String::new(), 0),
        };
        let body_all = &after[body_start..];
        match body_all.find("```") {
            Some(end) => {
                out.push((info, body_all[..end].to_owned()));
                rest = &body_all[end + 3..];
            }
            None => {
                out.push((info, body_all.to_owned()));
                break;
            }
        }
    }
    out
}

/// The end (exclusive byte index) of the balanced `{…}` or `[…]` that starts
/// at `start`, skipping brackets inside JSON strings.
fn balanced_end(text: &str, start: usize) -> Option<usize> {
    let mut depth = 0i32;
    let mut in_str = false;
    let mut escaped = false;
    for (i, c) in text[start..].char_indices() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_str = true,
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth -= 1;
                if depth == 0 {
                    return Some(start + i + c.len_utf8());
                }
                if depth < 0 {
                    return None;
                }
            }
            _ => {}
        }
    }
    None
}

/// Parse JSON, retrying with trailing commas (`,}` / `,]`) removed, and then
/// as the JavaScript-like object models write in prose: `//` comments
/// dropped, bare keys quoted (`{ PatientID: "P1", // id` →
/// `{"PatientID": "P1"`), full-width commas between members read as commas,
/// and a bare expression as a value (`200 + 960`) kept as text.
pub fn parse_lenient(text: &str) -> Option<Value> {
    static TRAILING_COMMA: LazyLock<Regex> = LazyLock::new(|| Regex::new(r",\s*([}\]])").unwrap());
    static BARE_KEY: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"([{,]\s*)([A-Za-z_][A-Za-z0-9_]*)\s*:"#).unwrap());
    if let Ok(v) = serde_json::from_str(text) {
        return Some(v);
    }
    let no_trailing = TRAILING_COMMA.replace_all(text, "$1");
    if let Ok(v) = serde_json::from_str(&no_trailing) {
        return Some(v);
    }
    // Full-width commas between members (`"a": "x"，"b": …`).
    static WIDE_COMMA: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r#"("|\d|true|false|null|[}\]])\s*，\s*(")"#).unwrap());
    let uncommented = strip_line_comments(text);
    let relaxed = BARE_KEY.replace_all(&uncommented, "$1\"$2\":");
    let relaxed = WIDE_COMMA.replace_all(&relaxed, "$1, $2");
    let relaxed = TRAILING_COMMA.replace_all(&relaxed, "$1");
    if let Ok(v) = serde_json::from_str(&relaxed) {
        return Some(v);
    }
    // A bare expression as a value (`"完全自费金额": 200 + 960,`) kept as text.
    static BARE_VALUE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r#"(:\s*)([0-9][^,"{}\[\]\n]*?[^,"{}\[\]\n\s])(\s*[,}])"#).unwrap()
    });
    let quoted = BARE_VALUE.replace_all(&relaxed, |c: &regex::Captures| {
        let v = &c[2];
        if serde_json::from_str::<Value>(v).is_ok() {
            c[0].to_owned()
        } else {
            format!("{}\"{}\"{}", &c[1], v.replace('"', "\\\""), &c[3])
        }
    });
    serde_json::from_str(&quoted).ok()
}

/// Remove `// …` comments that are outside JSON strings.
fn strip_line_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_str = false;
    let mut escaped = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_str = false,
                _ => {}
            }
            out.push(c);
            continue;
        }
        if c == '"' {
            in_str = true;
        } else if c == '/' && chars.peek() == Some(&'/') {
            while chars.peek().is_some_and(|n| *n != '\n') {
                chars.next();
            }
            continue;
        }
        out.push(c);
    }
    out
}

/// Which JSON values [`find_json`] looks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonKind {
    Object,
    Array,
    Any,
}

impl JsonKind {
    fn opens(self, c: char) -> bool {
        match self {
            JsonKind::Object => c == '{',
            JsonKind::Array => c == '[',
            JsonKind::Any => c == '{' || c == '[',
        }
    }
}

/// Every JSON value of `kind` in `text` with its byte span, left to right
/// and not nested in one another: a balanced `{…}`/`[…]` span that parses
/// ([`parse_lenient`]).
pub fn json_spans(text: &str, kind: JsonKind) -> Vec<(usize, usize, Value)> {
    let mut out = Vec::new();
    let mut pos = 0;
    // Bound the work on pathological text full of unbalanced brackets.
    let mut attempts = 0;
    while pos < text.len() && attempts < 2000 {
        attempts += 1;
        let Some(rel) = text[pos..].find(|c: char| kind.opens(c)) else {
            break;
        };
        let start = pos + rel;
        let parsed = balanced_end(text, start)
            .and_then(|end| parse_lenient(&text[start..end]).map(|v| (v, end)));
        match parsed {
            Some((v, end)) => {
                out.push((start, end, v));
                pos = end;
            }
            None => pos = start + 1,
        }
    }
    out
}

fn json_values_in(text: &str, kind: JsonKind) -> Vec<Value> {
    json_spans(text, kind)
        .into_iter()
        .map(|(_, _, v)| v)
        .collect()
}

/// All JSON values in an answer: those inside code fences first (all fences,
/// in order); only when no fence holds one, those in the bare text.
pub fn find_all_json(text: &str, kind: JsonKind) -> Vec<Value> {
    let fenced: Vec<Value> = code_fences(text)
        .iter()
        .flat_map(|(_, body)| json_values_in(body, kind))
        .collect();
    if !fenced.is_empty() {
        return fenced;
    }
    json_values_in(text, kind)
}

/// The first JSON value of `kind` in an answer (fenced first, then bare).
pub fn find_json(text: &str, kind: JsonKind) -> Option<Value> {
    find_all_json(text, kind).into_iter().next()
}

/// A number written in an answer, with its byte span.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundNumber {
    pub value: f64,
    pub start: usize,
    pub end: usize,
}

/// Every number in `text` (after the caller folded it to half-width):
/// `12`, `-3.5`, `1,234.5`, `6.02e23`. A `-` is not a sign after a letter,
/// digit, `)`, `]` or `%`, so `15-20` gives 15 and 20 and `IgA-1` gives 1.
pub fn numbers(text: &str) -> Vec<FoundNumber> {
    static NUM: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"-?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|-?\.\d+").unwrap()
    });
    let mut out = Vec::new();
    for m in NUM.find_iter(text) {
        let mut start = m.start();
        let mut s = m.as_str();
        if s.starts_with('-') {
            let prev = text[..start].chars().last();
            let sign_ok = prev.is_none_or(|c| !c.is_ascii_alphanumeric() && !")]%".contains(c));
            if !sign_ok {
                start += 1;
                s = &s[1..];
            }
        }
        if let Ok(v) = s.replace(',', "").parse::<f64>() {
            out.push(FoundNumber {
                value: v,
                start,
                end: m.end(),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn think_blocks_are_dropped() {
        assert_eq!(clean_answer("<think>A or B?</think>\n<B>"), "<B>");
        assert_eq!(clean_answer("reasoning… </think> C"), "C");
        assert_eq!(clean_answer("  D  "), "D");
        assert_eq!(clean_answer("D<|role_end|>"), "D");
    }

    #[test]
    fn fences_with_info_strings() {
        let f = code_fences("x\n```json\n{\"a\":1}\n```\ny\n```sql\nSELECT 1\n");
        assert_eq!(f[0], ("json".into(), "{\"a\":1}\n".into()));
        assert_eq!(f[1], ("sql".into(), "SELECT 1\n".into()));
    }

    #[test]
    fn json_is_found_in_prose_and_fences() {
        let t = "Here you go: {\"a\": \"}\", \"b\": [1, 2,],} thanks";
        assert_eq!(
            find_json(t, JsonKind::Object),
            Some(json!({"a": "}", "b": [1, 2]}))
        );
        let js = "输入参数：{\n  PatientID: \"P1\", // 患者\n  ICD: \"P24.0\",\n}";
        assert_eq!(
            find_json(js, JsonKind::Object),
            Some(json!({"PatientID": "P1", "ICD": "P24.0"}))
        );
        let wide = r#"{"a": "x"，"b": 200 + 960, "c": 3}"#;
        assert_eq!(
            find_json(wide, JsonKind::Object),
            Some(json!({"a": "x", "b": "200 + 960", "c": 3}))
        );
        let url = r#"{"u": "http://x//y", "k": 1}"#;
        assert_eq!(
            find_json(url, JsonKind::Object),
            Some(json!({"u": "http://x//y", "k": 1}))
        );
        let t = "```json\n[1, 2]\n```";
        assert_eq!(find_json(t, JsonKind::Any), Some(json!([1, 2])));
        assert_eq!(find_json("no json {here", JsonKind::Any), None);
    }

    #[test]
    fn numbers_with_signs_and_separators() {
        let v: Vec<f64> = numbers("eGFR 15-20, total -3.5 and 1,234.5 or 2e3")
            .iter()
            .map(|n| n.value)
            .collect();
        assert_eq!(v, [15.0, 20.0, -3.5, 1234.5, 2000.0]);
    }
}
