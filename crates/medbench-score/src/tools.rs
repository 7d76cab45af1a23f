//! Tool calls: name and argument match.

mod prose;

use crate::Score;
use crate::extract::{self, JsonKind};
use crate::structured::{get_field, values_match};
use medbench_core::ToolCall;
use serde_json::{Map, Value, json};

const LIST_KEYS: &[&str] = &["tool_calls", "function_calls", "calls", "actions"];
const ARG_KEYS: &[&str] = &["arguments", "args", "parameters", "params", "input"];

/// Arguments as JSON: objects as they are, JSON text parsed (OpenAI sends
/// `"arguments": "{\"a\": 1}"`), anything else kept as it is; absent → `{}`.
fn arguments(o: &Map<String, Value>) -> Value {
    match ARG_KEYS.iter().find_map(|k| o.get(*k)) {
        None | Some(Value::Null) => Value::Object(Map::new()),
        Some(Value::String(s)) => {
            extract::parse_lenient(s).unwrap_or_else(|| Value::String(s.clone()))
        }
        Some(v) => v.clone(),
    }
}

/// Keys that name the function in a call object.
const NAME_KEYS: &[&str] = &[
    "name",
    "api",
    "api_name",
    "function",
    "tool",
    "tool_name",
    "action",
];

/// The function name of a call object: an identifier-like string under one
/// of [`NAME_KEYS`] (a patient's `"name": "张伟"` is not a function).
fn call_name(o: &Map<String, Value>) -> Option<String> {
    NAME_KEYS.iter().find_map(|k| {
        let n = o.get(*k)?.as_str()?.trim();
        let ident = !n.is_empty()
            && n.chars()
                .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
        ident.then(|| n.to_owned())
    })
}

/// Collect calls from one JSON value; `explicit_empty` is set when the
/// value is (or holds) an empty call list.
fn collect(v: &Value, out: &mut Vec<ToolCall>, explicit_empty: &mut bool) {
    match v {
        Value::Array(a) => {
            *explicit_empty |= a.is_empty();
            for x in a {
                if x.is_object() {
                    collect(x, out, explicit_empty);
                }
            }
        }
        Value::Object(o) => {
            if let Some(list) = LIST_KEYS.iter().find_map(|k| o.get(*k)) {
                collect(list, out, explicit_empty);
            } else if let Some(Value::Object(f)) = o.get("function") {
                if let Some(name) = f.get("name").and_then(Value::as_str) {
                    out.push(ToolCall {
                        name: name.trim().to_owned(),
                        arguments: arguments(f),
                    });
                }
            } else if let Some(name) = call_name(o) {
                out.push(ToolCall {
                    name,
                    arguments: arguments(o),
                });
            }
        }
        _ => {}
    }
}

/// Read the calls in an answer. First the structured ones: every JSON value
/// (code fences first) that is a call `{name, arguments}` (the name may also
/// be under `api`, `function`, `tool`), a list of calls, an object holding
/// `tool_calls` (or `function_calls`, `calls`), or an OpenAI-style
/// `{"type": "function", "function": {"name", "arguments": "<json text>"}}`.
/// When there are none, calls written in prose: an API name in a sentence,
/// heading or step followed by a JSON block or `- key: value` lines of
/// arguments (see the `prose` module). `Some(vec![])` for an explicit empty
/// list; `None` when no call is found.
pub fn parse_calls(answer: &str) -> Option<Vec<ToolCall>> {
    let mut out = Vec::new();
    let mut empty = false;
    for v in extract::find_all_json(answer, JsonKind::Any) {
        collect(&v, &mut out, &mut empty);
    }
    if out.is_empty() {
        out = prose::prose_calls(answer);
    }
    (!out.is_empty() || empty).then_some(out)
}

/// A given call matches an expected one when the names are equal and every
/// expected argument is present with a matching value (extra arguments allowed).
pub fn call_matches(want: &ToolCall, got: &ToolCall) -> bool {
    if want.name.trim() != got.name.trim() {
        return false;
    }
    match (&want.arguments, &got.arguments) {
        (Value::Null, _) => true,
        (Value::Object(w), Value::Object(g)) => w
            .iter()
            .all(|(k, x)| get_field(g, k).is_some_and(|y| values_match(x, y))),
        (w, g) => values_match(w, g),
    }
}

/// Longest order-preserving sequence of matching calls.
fn ordered_matches(want: &[ToolCall], got: &[ToolCall]) -> usize {
    let mut prev = vec![0usize; got.len() + 1];
    for w in want {
        let mut cur = vec![0usize; got.len() + 1];
        for (j, g) in got.iter().enumerate() {
            cur[j + 1] = if call_matches(w, g) {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        prev = cur;
    }
    prev[got.len()]
}

/// Maximum one-to-one matching of expected to given calls (Kuhn's algorithm).
fn unordered_matches(want: &[ToolCall], got: &[ToolCall]) -> usize {
    fn augment(
        i: usize,
        adj: &[Vec<usize>],
        seen: &mut [bool],
        owner: &mut [Option<usize>],
    ) -> bool {
        for &j in &adj[i] {
            if seen[j] {
                continue;
            }
            seen[j] = true;
            if owner[j].is_none_or(|k| augment(k, adj, seen, owner)) {
                owner[j] = Some(i);
                return true;
            }
        }
        false
    }
    let adj: Vec<Vec<usize>> = want
        .iter()
        .map(|w| {
            (0..got.len())
                .filter(|&j| call_matches(w, &got[j]))
                .collect()
        })
        .collect();
    let mut owner = vec![None; got.len()];
    (0..want.len())
        .filter(|&i| augment(i, &adj, &mut vec![false; got.len()], &mut owner))
        .count()
}

/// Tool calls: value = matched / max(expected, given); with `ordered` the
/// matched calls must keep the expected order (longest common subsequence),
/// otherwise any one-to-one matching counts. No call found is Unparsed.
pub fn score_tool_calls(want: &[ToolCall], ordered: bool, answer: &str) -> Score {
    score_tool_calls_in(&[], want, ordered, answer)
}

/// The name of the only tool a format lists (`{"name": …}` or OpenAI's
/// `{"function": {"name": …}}`), if it lists exactly one.
fn only_tool(tools: &[Value]) -> Option<String> {
    let [tool] = tools else { return None };
    let name = tool
        .get("name")
        .or_else(|| tool.get("function").and_then(|f| f.get("name")))?;
    name.as_str().map(|n| n.trim().to_owned())
}

/// [`score_tool_calls`] for a format that lists its `tools`: when it lists
/// exactly one, a call whose arguments were read but whose name the answer
/// never wrote (`API 调用参数如下：{…}`) is a call of that tool.
pub fn score_tool_calls_in(
    tools: &[Value],
    want: &[ToolCall],
    ordered: bool,
    answer: &str,
) -> Score {
    let Some(mut got) = parse_calls(answer) else {
        return Score::unparsed("no tool call found");
    };
    if let Some(only) = only_tool(tools) {
        for c in got.iter_mut().filter(|c| c.name.is_empty()) {
            c.name = only.clone();
        }
    }
    let parsed = Some(json!(got));
    let denom = want.len().max(got.len());
    if denom == 0 {
        return Score::correct(parsed);
    }
    let matched = if ordered {
        ordered_matches(want, &got)
    } else {
        unordered_matches(want, &got)
    };
    let detail = format!(
        "matched={matched} given={} expected={}",
        got.len(),
        want.len()
    );
    Score::graded(matched as f64 / denom as f64, parsed, Some(detail))
}
