//! Tool calls written in prose, the way real answers to MedCallAPI,
//! MedRetAPI and MedPathPlan name them: an API named in a sentence, a
//! heading or a numbered step (`调用 RequestPreoperativeBed 接口`,
//! `**API**: get_user_profile`, `API 7: AdmCfmDgs（确诊入院）`,
//! `RequestPreoperativeBed({…})`), followed by its arguments as a JSON block
//! (fenced or not, JavaScript-like keys and `//` comments tolerated) or as
//! `- key: value` lines under a `参数` / `输入` line.

use crate::extract::{self, JsonKind};
use medbench_core::ToolCall;
use regex::Regex;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// One thing found in the answer, in text order.
enum Event {
    /// An API name mentioned where a call is meant.
    Name(String),
    /// A block of arguments.
    Args(Map<String, Value>),
    /// A heading or numbered step that names no API: the current call ends.
    Break,
}

/// API-like identifiers: `CamelCase` (two humps at least), `lowerCamel`,
/// `snake_case` (one underscore at least).
static IDENT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+|[a-z][a-z0-9]*(?:[A-Z][a-z0-9]*)+|[a-z][a-z0-9]*(?:_[a-z0-9]+)+")
        .unwrap()
});
/// A line that speaks of calling an API.
static API_WORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\bapi\b|\bapi\s*\d+\s*[:：]|接口|调用|函数|工具|function|\btool\b").unwrap()
});
/// A heading or a numbered step.
static STEP: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*(?:#{1,6}\s|\d{1,2}(?:\.\d{1,2})*\s*[.、)）]\s*|\d{1,2}\.\d{1,2}\s|步骤\s*\d|第\s*[一二三四五六七八九十\d]+\s*[步阶])")
        .unwrap()
});
/// Words before a block that make it a result, not arguments.
static RESULT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)返回|响应|结果示例|输出|\bresponses?\b|\bresults?\b|\boutputs?\b|\breturns?\b")
        .unwrap()
});
/// A line that introduces argument lines.
static ARGS_INTRO: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)参数|输入|入参|arguments|parameters|params|input").unwrap());
/// Words of a heading that introduces the current call's request.
static REQUEST: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"(?i)请求|调用|request|call").unwrap());
/// `- key: value` (bold key allowed).
static ARG_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^\s*[-*•]\s*(?:\*\*)?`?([A-Za-z_][A-Za-z0-9_]*)`?(?:\*\*)?\s*[:：]\s*(.*)$")
        .unwrap()
});

fn line_bounds(t: &str, pos: usize) -> (usize, usize) {
    let a = t[..pos].rfind('\n').map_or(0, |i| i + 1);
    let b = t[pos..].find('\n').map_or(t.len(), |i| pos + i);
    (a, b)
}

/// The words just before a block: the text on its own line before it, the
/// previous non-empty line that is not a fence marker, and the nearest
/// heading above it (within 15 lines).
fn context_before(t: &str, start: usize) -> String {
    let (line_start, _) = line_bounds(t, start);
    let mut ctx = t[line_start..start].to_owned();
    let before = &t[..line_start];
    let mut above = before
        .lines()
        .rev()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("```"));
    if let Some(prev) = above.next() {
        ctx.insert_str(0, prev);
    }
    if let Some(heading) = above.take(14).find(|l| l.starts_with('#')) {
        ctx.insert_str(0, heading);
    }
    ctx
}

/// Is a bullet value JSON? Else keep it as text, without a trailing
/// `（…）` comment.
fn arg_value(raw: &str) -> Value {
    let raw = raw.trim().trim_end_matches(['，', ',', '。', ';']);
    if let Some(v) = extract::parse_lenient(raw) {
        return v;
    }
    let cut = raw
        .find(['（', '('])
        .filter(|i| *i > 0)
        .map_or(raw, |i| raw[..i].trim());
    let unquoted = cut.trim_matches(|c| c == '"' || c == '`' || c == '\'');
    extract::parse_lenient(cut).unwrap_or_else(|| Value::String(unquoted.to_owned()))
}

/// The index of the `)` that closes the `(` at `open`, skipping quoted text.
fn paren_end(t: &str, open: usize) -> Option<usize> {
    let mut depth = 0;
    let mut quote: Option<char> = None;
    for (i, c) in t[open..].char_indices() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, '(') => depth += 1,
            (None, ')') => {
                depth -= 1;
                if depth == 0 {
                    return Some(open + i);
                }
            }
            _ => {}
        }
        if i > 4000 {
            return None;
        }
    }
    None
}

/// Every event of the answer, in order.
fn events(t: &str) -> Vec<(usize, Event)> {
    let mut out: Vec<(usize, Event)> = Vec::new();
    let blocks = extract::json_spans(t, JsonKind::Object);
    let inside = |p: usize| blocks.iter().any(|(a, b, _)| *a <= p && p < *b);
    for (start, _, v) in &blocks {
        let Value::Object(o) = v else { continue };
        if RESULT.is_match(&context_before(t, *start)) {
            continue;
        }
        out.push((*start, Event::Args(o.clone())));
    }
    // Python-style calls `name(key="v", other=[…])`.
    static PY_CALL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"[A-Za-z_][A-Za-z0-9_]*\s*\(").unwrap());
    static KWARG: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(^|,)\s*([A-Za-z_][A-Za-z0-9_]*)\s*=([^=])").unwrap());
    // Bounded, so text full of `f(` stays cheap.
    for m in PY_CALL.find_iter(t).take(500) {
        let open = m.end() - 1;
        if inside(open) || t[open + 1..].trim_start().starts_with('{') {
            continue;
        }
        let Some(close) = paren_end(t, open) else {
            continue;
        };
        let body = t[open + 1..close].trim();
        if body.is_empty() || !KWARG.is_match(body) {
            continue;
        }
        let obj = format!("{{{}}}", KWARG.replace_all(body, "$1\"$2\":$3"));
        if let Some(Value::Object(o)) = extract::parse_lenient(&obj)
            .or_else(|| extract::parse_lenient(&obj.replace('\'', "\"")))
        {
            out.push((open, Event::Args(o)));
        }
    }
    // `- key: value` lines under a line that introduces arguments; a value
    // that opens a list or object may run over the following lines.
    let lines: Vec<(usize, &str)> = t
        .split_inclusive('\n')
        .scan(0, |off, l| {
            let here = *off;
            *off += l.len();
            Some((here, l))
        })
        .collect();
    let mut run: Option<(usize, Map<String, Value>)> = None;
    let mut prev_line = "";
    let mut i = 0;
    while i < lines.len() {
        let (here, line) = lines[i];
        i += 1;
        if inside(here) {
            continue;
        }
        if let Some(c) = ARG_LINE.captures(line.trim_end()) {
            if run.is_some() || ARGS_INTRO.is_match(prev_line) {
                let mut raw = c[2].to_owned();
                let opens = raw.trim_start().starts_with(['[', '{']);
                if opens && extract::parse_lenient(raw.trim()).is_none() {
                    let mut j = i;
                    let mut joined = raw.clone();
                    while j < lines.len() && j < i + 40 {
                        joined.push_str(lines[j].1);
                        j += 1;
                        if extract::parse_lenient(joined.trim()).is_some() {
                            raw = joined.clone();
                            i = j;
                            break;
                        }
                    }
                }
                let entry = run.get_or_insert_with(|| (here, Map::new()));
                entry.1.insert(c[1].to_owned(), arg_value(&raw));
                continue;
            }
        } else if !line.trim().is_empty()
            && let Some((at, m)) = run.take()
        {
            out.push((at, Event::Args(m)));
        }
        if !line.trim().is_empty() {
            prev_line = line;
        }
    }
    if let Some((at, m)) = run {
        out.push((at, Event::Args(m)));
    }
    // Names, and steps that name nothing. A key of some argument block is a
    // parameter, not an API (`1. **`urgency_level`** → urgent`).
    let keys: std::collections::BTreeSet<String> = out
        .iter()
        .filter_map(|(_, e)| match e {
            Event::Args(m) => Some(m.keys().cloned().collect::<Vec<_>>()),
            _ => None,
        })
        .flatten()
        .collect();
    let mut line_start = 0;
    for line in t.split_inclusive('\n') {
        let here = line_start;
        line_start += line.len();
        if inside(here) && inside(here + line.trim_end().len().saturating_sub(1)) {
            continue;
        }
        // Table rows and quoted notes discuss parameters; they call nothing.
        if line.trim_start().starts_with(['|', '>']) {
            continue;
        }
        let api_line = API_WORD.is_match(line);
        let step = STEP.is_match(line);
        let mut named = false;
        for m in IDENT.find_iter(line) {
            let glued = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
            if glued(line[..m.start()].chars().last()) || glued(line[m.end()..].chars().next()) {
                continue;
            }
            // `patient_001` is a value, not an API.
            if m.as_str()
                .rsplit('_')
                .next()
                .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
            {
                continue;
            }
            // `Name(…)`, `Name（…）`, or a request `POST /Name`, `POST Name`.
            let head = line[..m.start()].trim_end();
            let called = line[m.end()..].trim_start().starts_with(['(', '（'])
                || head.ends_with('/')
                || ["POST", "GET", "PUT"].iter().any(|v| head.ends_with(v));
            if inside(here + m.start())
                || keys.contains(m.as_str())
                || !(called || api_line || step)
            {
                continue;
            }
            out.push((here + m.start(), Event::Name(m.as_str().to_owned())));
            named = true;
            break;
        }
        // A step that names no API ends the current call, unless it only
        // introduces that call's arguments (`## 请求参数`, `### API 调用`).
        if step && !named && !ARGS_INTRO.is_match(line) && !REQUEST.is_match(line) {
            out.push((here, Event::Break));
        }
    }
    out.sort_by_key(|(p, _)| *p);
    out
}

/// Read calls written in prose. Each API name opens a call (the same name
/// again continues it); argument blocks after it fill its arguments (a later
/// block adds to and overrides an earlier one: `- key: value` lines then the
/// same as JSON is one call). After a heading or step that names no API, a
/// block is a further call of the last API named (`4.1 查询文拉法辛 {…}`,
/// `4.2 查询米氮平 {…}`), or a call without a name (`""`) when no API was
/// named yet. Such a call is dropped when its arguments repeat another
/// call's (a summary restating the plan), and so is a later mention of an
/// API already called, with no arguments of its own or with the same ones.
pub(super) fn prose_calls(answer: &str) -> Vec<ToolCall> {
    let t = extract::clean_answer(answer);
    // (call, has arguments, inherited or unnamed)
    let mut calls: Vec<(ToolCall, bool, bool)> = Vec::new();
    let mut current: Option<(String, Map<String, Value>, bool)> = None;
    let mut last_name = String::new();
    let flush = |cur: &mut Option<(String, Map<String, Value>, bool)>,
                 calls: &mut Vec<(ToolCall, bool, bool)>| {
        if let Some((name, args, has_args)) = cur.take() {
            let call = ToolCall {
                name,
                arguments: Value::Object(args),
            };
            calls.push((call, has_args, false));
        }
    };
    for (_, e) in events(&t) {
        match e {
            Event::Name(n) => {
                if current.as_ref().is_some_and(|(c, _, _)| *c == n) {
                    continue;
                }
                flush(&mut current, &mut calls);
                last_name = n.clone();
                current = Some((n, Map::new(), false));
            }
            Event::Args(a) => match current.as_mut() {
                Some((_, args, has)) => {
                    args.extend(a);
                    *has = true;
                }
                None => {
                    let call = ToolCall {
                        name: last_name.clone(),
                        arguments: Value::Object(a),
                    };
                    calls.push((call, true, true));
                }
            },
            Event::Break => flush(&mut current, &mut calls),
        }
    }
    flush(&mut current, &mut calls);
    let mut out: Vec<ToolCall> = Vec::new();
    for (i, (c, has_args, loose)) in calls.iter().enumerate() {
        let restated = out
            .iter()
            .any(|o| o.name == c.name && (!has_args || o.arguments == c.arguments));
        let echo = *loose
            && calls
                .iter()
                .enumerate()
                .any(|(j, (o, _, l))| j != i && !(*l && j > i) && o.arguments == c.arguments);
        if !restated && !echo {
            out.push(c.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(calls: &[ToolCall]) -> Vec<&str> {
        calls.iter().map(|c| c.name.as_str()).collect()
    }

    #[test]
    fn a_name_in_prose_then_a_json_block() {
        let a = "根据信息，调用 RequestWardBed 接口，参数如下：\n\n```json\n{\"patient_id\": \"H001\", \"bed_type\": \"double\"}\n```\n\n系统将返回如下结果（示例）：\n```json\n{\"request_id\": \"R1\", \"status\": \"waitlisted\"}\n```\n将上述信息提交至 RequestWardBed 接口即可。";
        let calls = prose_calls(a);
        assert_eq!(names(&calls), ["RequestWardBed"]);
        assert_eq!(
            calls[0].arguments,
            json!({"patient_id": "H001", "bed_type": "double"})
        );
    }

    #[test]
    fn bullet_arguments_and_the_same_as_json_are_one_call() {
        let a = "调用 RequestWardBed API：\n\n**输入参数：**\n- patient_id: H001\n- urgency_level: routine（默认）\n\n**API 请求示例：**\n```json\n{\"patient_id\": \"H001\", \"urgency_level\": \"routine\"}\n```";
        let calls = prose_calls(a);
        assert_eq!(calls.len(), 1);
        assert_eq!(
            calls[0].arguments,
            json!({"patient_id": "H001", "urgency_level": "routine"})
        );
    }

    #[test]
    fn numbered_steps_give_calls_in_order() {
        let a = "## 步骤1：读取档案\n**API**：`get_user_profile`\n\n**参数**：\n- user_id: \"U1\"\n- fields: [\n    \"age\",\n    \"sex\"\n  ]\n\n---\n\n## 步骤2：查指南\n**API**：search_guidelines\n```json\n{\"topic\": \"HPV\"}\n```\n\n## 总结\n1. **读取档案**\n```json\n{\"user_id\": \"U1\", \"fields\": [\"age\", \"sex\"]}\n```";
        let calls = prose_calls(a);
        assert_eq!(names(&calls), ["get_user_profile", "search_guidelines"]);
        assert_eq!(
            calls[0].arguments,
            json!({"user_id": "U1", "fields": ["age", "sex"]})
        );
    }

    #[test]
    fn javascript_like_blocks_and_call_syntax() {
        let a = "```\nAPI 7: AdmCfmDgs（确诊入院）\n输入参数：{\n  PatientID: \"P1\", // 编号\n  ICD: \"O63.1\"\n}\n输出：诊断依据\n```\n\n### 第二阶段\n```json\nTreatOpt({\"PatientID\": \"P1\"})\n```\n\n流程：1. AdmCfmDgs（确诊入院） ↓ 2. TreatOpt";
        let calls = prose_calls(a);
        assert_eq!(names(&calls), ["AdmCfmDgs", "TreatOpt"]);
        assert_eq!(
            calls[0].arguments,
            json!({"PatientID": "P1", "ICD": "O63.1"})
        );
    }

    #[test]
    fn python_style_calls_are_read() {
        let a =
            "```python\nfetch_profile(\n    patient_id=\"p1\",\n    fields=[\"a\", \"b\"]\n)\n```";
        let calls = prose_calls(a);
        assert_eq!(names(&calls), ["fetch_profile"]);
        assert_eq!(
            calls[0].arguments,
            json!({"patient_id": "p1", "fields": ["a", "b"]})
        );
    }

    #[test]
    fn parameters_discussed_in_tables_are_not_apis() {
        let a = "| 参数 | 值 |\n|---|---|\n| `urgency_level` | `\"urgent\"` |\n\n## API 调用\n```json\n{\"urgency_level\": \"urgent\"}\n```\n\n1. **`urgency_level` → urgent**：用户说立刻。";
        let calls = prose_calls(a);
        // The answer never names the API: one call, name unknown.
        assert_eq!(names(&calls), [""]);
    }

    #[test]
    fn a_plan_listing_names_is_a_sequence_of_calls() {
        let a = "### 1. API 3: AdmExam（入院检查）\n- 目的：检查\n\n### 2. API 6: TreatOpt（治疗方案）\n- 目的：选择方案\n\n# 顺序\n1. AdmExam ↓ 2. TreatOpt";
        assert_eq!(names(&prose_calls(a)), ["AdmExam", "TreatOpt"]);
    }
}
