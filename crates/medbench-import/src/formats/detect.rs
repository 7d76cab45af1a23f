//! Telling a file's format from its name and its first record, and
//! recognising the companion files some data sets ship beside their items.

use super::InputFormat;
use crate::source::SourceFile;
use serde_json::Value;
use std::io::Read;

/// How many bytes of a file detection looks at first.
const PEEK: usize = 1 << 16;
/// How far detection reads to see a whole first record (a one-line JSON
/// array, or a JSONL record holding a large FHIR bundle, can be long).
const MAX_PEEK: usize = 64 << 20;

/// What a file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Detected {
    /// Records in this format.
    Format(InputFormat),
    /// A file that belongs with a data set but holds no items (a tool list,
    /// recorded server responses): skipped, with a note saying what it is.
    Companion(&'static str),
}

/// Read the start of a source for detection — at least 64 KiB, and on until
/// the first record is complete — and give back a reader that still yields every byte.
pub fn peek(src: SourceFile<'_>) -> (Vec<u8>, SourceFile<'_>) {
    let SourceFile {
        display,
        name,
        mut reader,
        media,
        origin,
    } = src;
    let mut head = Vec::with_capacity(PEEK);
    let _ = (&mut reader).take(PEEK as u64).read_to_end(&mut head);
    let mut at_end = head.len() < PEEK;
    while !at_end && head.len() < MAX_PEEK && !first_record_complete(&head) {
        let before = head.len();
        let _ = (&mut reader)
            .take(head.len().min(MAX_PEEK - head.len()) as u64)
            .read_to_end(&mut head);
        at_end = head.len() == before;
    }
    let chained: Box<dyn Read + '_> = Box::new(std::io::Cursor::new(head.clone()).chain(reader));
    (
        head,
        SourceFile {
            display,
            name,
            reader: chained,
            media,
            origin,
        },
    )
}

fn strip(head: &[u8]) -> &[u8] {
    let head = head.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(head);
    let start = head
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(head.len());
    &head[start..]
}

/// True when the head holds what detection needs: the first line of JSONL, or
/// the first entry of a JSON array or object. Non-JSON text needs no more.
fn first_record_complete(head: &[u8]) -> bool {
    let t = strip(head);
    match t.first() {
        Some(b'[') => first_entry(t).is_some(),
        Some(b'{') => match t.iter().position(|&b| b == b'\n') {
            None => false,
            Some(nl) => {
                serde_json::from_slice::<Value>(&t[..nl]).is_ok() || first_entry(t).is_some()
            }
        },
        _ => true,
    }
}

/// The first record of a JSON document: the first element of an array, or the
/// first value of an object. `Some(None)` for an empty one; `None` when the head
/// ends before the first entry does.
fn first_entry(t: &[u8]) -> Option<Option<&[u8]>> {
    let object = t.first() == Some(&b'{');
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    let mut start: Option<usize> = None;
    for (i, &b) in t.iter().enumerate() {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        if b.is_ascii_whitespace() {
            continue;
        }
        if depth == 1 && start.is_none() {
            if b == b']' || b == b'}' {
                return Some(None);
            }
            // In an object the value starts after the key's colon.
            if !object || b == b':' {
                start = Some(if object { i + 1 } else { i });
                if object {
                    continue;
                }
            }
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth -= 1;
                if depth == 0 {
                    return start.map(|s| Some(&t[s..i]));
                }
            }
            b',' if depth == 1 => {
                if let Some(s) = start {
                    return Some(Some(&t[s..i]));
                }
            }
            _ => {}
        }
    }
    None
}

/// What detection found as the first record.
enum First {
    /// One record per line (the first line was a whole JSON object).
    Line(Value),
    /// The first element of a JSON array.
    Element(Value),
    /// The first value of a JSON object keyed by id.
    Keyed(Value),
}

fn first_record(head: &[u8]) -> Result<First, String> {
    let t = strip(head);
    let line = t.split(|&b| b == b'\n').next().unwrap_or(b"");
    if t.first() == Some(&b'{')
        && let Ok(v @ Value::Object(_)) = serde_json::from_slice::<Value>(line)
    {
        return Ok(First::Line(v));
    }
    let parse = |s: &[u8]| {
        serde_json::from_slice::<Value>(s)
            .map_err(|e| format!("the first record is not JSON ({e})"))
    };
    match t.first() {
        Some(b'[') => match first_entry(t) {
            Some(Some(el)) => parse(el).map(First::Element),
            Some(None) => Err("the file is an empty JSON array".into()),
            None => Err(format!(
                "the first record of this JSON array is longer than {} MiB or never ends",
                MAX_PEEK >> 20
            )),
        },
        Some(b'{') => match first_entry(t) {
            Some(Some(v)) => parse(v).map(First::Keyed),
            Some(None) => Err("the file is an empty JSON object".into()),
            None => parse(line).map(First::Line),
        },
        _ => Err("the file does not start with a JSON object or array".into()),
    }
}

/// Tell a file's format from its name and first bytes.
pub fn detect(name: &str, head: &[u8]) -> Result<InputFormat, String> {
    match classify(name, head)? {
        Detected::Format(f) => Ok(f),
        Detected::Companion(what) => Err(format!("not a data file: {what}")),
    }
}

const TOOL_LIST: &str = "a list of function specs (such as MedAgentBench's funcs_v1.json), read as the tools of the task file beside it";
const FHIR_RECORDING: &str =
    "recorded FHIR server responses (such as MedAgentBench's fhir_snapshot.jsonl), not items";

/// Tell a file's format from its name and first record, or recognise it as a companion file.
pub fn classify(name: &str, head: &[u8]) -> Result<Detected, String> {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    let hint = "pass --format to say which it is";
    match ext.as_str() {
        "csv" => {
            let text = String::from_utf8_lossy(strip(head));
            let first = text
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase();
            let cols: Vec<&str> = first
                .split(',')
                .map(|c| c.trim().trim_matches('"'))
                .collect();
            let tail: Vec<&str> = cols.iter().rev().take(6).rev().copied().collect();
            Ok(Detected::Format(
                if tail == ["question", "a", "b", "c", "d", "answer"] {
                    InputFormat::CmmluCsv
                } else {
                    InputFormat::MmluCsv
                },
            ))
        }
        "jsonl" | "json" => {
            let first =
                first_record(head).map_err(|m| format!("cannot tell the format: {m}; {hint}"))?;
            let (v, shape) = match &first {
                First::Line(v) => (v, "record"),
                First::Element(v) => (v, "array element"),
                First::Keyed(v) => (v, "entry"),
            };
            let has = |k: &str| v.get(k).is_some();
            let fmt = if has("opa") && (has("cop") || has("answer")) {
                Some(InputFormat::Medmcqa)
            } else if has("options") && has("answer_idx") {
                Some(InputFormat::Medqa)
            } else if has("qid") && has("image_name") && has("answer_type") {
                Some(InputFormat::VqaRad)
            } else {
                None
            };
            if let Some(f) = fmt {
                return Ok(Detected::Format(f));
            }
            match first {
                First::Line(_) => {
                    if has("prompt") && has("rubrics") {
                        Ok(Detected::Format(InputFormat::Healthbench))
                    } else if has("question") && has("other") {
                        Ok(Detected::Format(InputFormat::MedbenchV4))
                    } else if has("id") && has("track") && has("format") {
                        Ok(Detected::Format(InputFormat::Native))
                    } else if is_fhir_recording(v) {
                        Ok(Detected::Companion(FHIR_RECORDING))
                    } else if v
                        .as_object()
                        .and_then(|m| m.values().next())
                        .is_some_and(|e| {
                            e.get("QUESTION").is_some() && e.get("final_decision").is_some()
                        })
                    {
                        // PubMedQA written on one line.
                        Ok(Detected::Format(InputFormat::Pubmedqa))
                    } else {
                        Err(unknown(shape, v, hint))
                    }
                }
                First::Element(_) => {
                    if has("id") && has("instruction") {
                        Ok(Detected::Format(InputFormat::Medagentbench))
                    } else if has("QUESTION") && has("final_decision") {
                        Ok(Detected::Format(InputFormat::Pubmedqa))
                    } else if is_function_spec(v) {
                        Ok(Detected::Companion(TOOL_LIST))
                    } else {
                        Err(unknown(shape, v, hint))
                    }
                }
                First::Keyed(_) => {
                    if has("QUESTION") && has("final_decision") {
                        Ok(Detected::Format(InputFormat::Pubmedqa))
                    } else {
                        Err(unknown(shape, v, hint))
                    }
                }
            }
        }
        _ => Err(format!(
            "`.{ext}` is not a data file (expected .jsonl, .json, .csv or .zip)"
        )),
    }
}

fn unknown(shape: &str, v: &Value, hint: &str) -> String {
    let keys = match v {
        Value::Object(m) => {
            let mut k: Vec<&str> = m.keys().map(String::as_str).take(8).collect();
            if m.len() > 8 {
                k.push("…");
            }
            format!("keys {}", k.join(", "))
        }
        _ => "not a JSON object".to_owned(),
    };
    format!("cannot tell the format from the first {shape} ({keys}); {hint}")
}

/// An OpenAI-style function spec: a name, a JSON-schema `parameters` object and
/// at most a description, nothing a data set's item would carry.
fn is_function_spec(v: &Value) -> bool {
    let Value::Object(m) = v else { return false };
    m.get("name").is_some_and(Value::is_string)
        && m.get("parameters").is_some_and(Value::is_object)
        && m.keys()
            .all(|k| matches!(k.as_str(), "name" | "description" | "parameters"))
}

/// A recorded HTTP response holding a FHIR resource.
fn is_fhir_recording(v: &Value) -> bool {
    v.get("url").is_some_and(Value::is_string)
        && v.get("status_code").is_some_and(Value::is_number)
        && v.get("data")
            .is_some_and(|d| d.get("resourceType").is_some_and(Value::is_string) || d.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(name: &str, head: &[u8]) -> Result<InputFormat, String> {
        detect(name, head)
    }

    #[test]
    fn detection_by_content() {
        assert_eq!(
            fmt(
                "x.jsonl",
                br#"{"question":"q","answer":"","other":{"id":1,"source":"MedExam_V4"}}"#
            ),
            Ok(InputFormat::MedbenchV4)
        );
        assert_eq!(
            fmt("x.jsonl", br#"{"question":"q","opa":"a","cop":1}"#),
            Ok(InputFormat::Medmcqa)
        );
        assert_eq!(
            fmt(
                "x.jsonl",
                br#"{"question":"q","options":{},"answer_idx":"A"}"#
            ),
            Ok(InputFormat::Medqa)
        );
        assert_eq!(
            fmt("x.csv", b",Question,A,B,C,D,Answer\n0,q,a,b,c,d,A\n"),
            Ok(InputFormat::CmmluCsv)
        );
        assert_eq!(fmt("x.csv", b"q,a,b,c,d,A\n"), Ok(InputFormat::MmluCsv));
        let e = fmt("x.jsonl", br#"{"foo":1}"#).unwrap_err();
        assert!(e.contains("--format") && e.contains("keys foo"), "{e}");
        assert!(fmt("x.txt", b"").is_err());
    }

    #[test]
    fn json_arrays_and_jsonl_named_json_are_told_by_their_first_record() {
        let pretty = b"[\n  {\n    \"question\": \"q\",\n    \"opa\": \"a\", \"opb\": \"b\",\n    \"answer\": \"opc\"\n  },\n  {\"question\": \"r\"";
        assert_eq!(fmt("five.json", pretty), Ok(InputFormat::Medmcqa));
        // MedMCQA's own dev.json is JSON Lines.
        assert_eq!(
            fmt(
                "dev.json",
                b"{\"question\":\"q\",\"opa\":\"a\",\"cop\":1}\n{\"question\":\"r\"}\n"
            ),
            Ok(InputFormat::Medmcqa)
        );
        assert_eq!(
            fmt(
                "vqa.json",
                br#"[{"qid": 1, "image_name": "a.jpg", "answer": "no", "answer_type": "CLOSED", "question": "q"}]"#
            ),
            Ok(InputFormat::VqaRad)
        );
        assert_eq!(
            fmt(
                "p.json",
                b"{\n  \"123\": {\n    \"QUESTION\": \"q\", \"final_decision\": \"yes\"}\n}"
            ),
            Ok(InputFormat::Pubmedqa)
        );
        assert!(
            fmt("e.json", b"[]")
                .unwrap_err()
                .contains("empty JSON array")
        );
    }

    #[test]
    fn companions_are_recognised_only_by_their_exact_shape() {
        let funcs = br#"[{"name": "GET {api_base}/Patient", "description": "d", "parameters": {"type": "object"}}]"#;
        assert_eq!(
            classify("funcs_v1.json", funcs),
            Ok(Detected::Companion(TOOL_LIST))
        );
        let fhir = br#"{"url": "http://x/fhir/Patient", "status_code": 200, "data": {"resourceType": "Bundle"}}"#;
        assert_eq!(
            classify("fhir_snapshot.jsonl", fhir),
            Ok(Detected::Companion(FHIR_RECORDING))
        );
        // One key more and it is not positively a tool list: unknown, as before.
        let other = br#"[{"name": "x", "parameters": {}, "answer": "A"}]"#;
        assert!(classify("f.json", other).is_err());
    }

    #[test]
    fn a_first_record_longer_than_the_peek_is_read_whole() {
        let big = "x".repeat(3 * PEEK);
        let line = format!(
            "{{\"url\": \"http://x/fhir/Observation\", \"status_code\": 200, \"data\": {{\"resourceType\": \"Bundle\", \"note\": \"{big}\"}}}}\n{{}}\n"
        );
        let src = SourceFile {
            display: "f.jsonl".into(),
            name: "f.jsonl".into(),
            reader: Box::new(line.as_bytes()),
            media: crate::source::MediaRoot::Embedded(|_| None),
            origin: crate::source::Origin::new("", "f"),
        };
        let (head, mut src) = peek(src);
        assert!(head.len() > 3 * PEEK);
        assert_eq!(
            classify("f.jsonl", &head),
            Ok(Detected::Companion(FHIR_RECORDING))
        );
        let mut all = String::new();
        src.reader.read_to_string(&mut all).unwrap();
        assert_eq!(all, line, "the reader still yields every byte");
        // A one-line array whose first element is long.
        let arr = format!("[{{\"id\": \"task1_1\", \"instruction\": \"{big}\"}}, {{}}]");
        let src = SourceFile {
            display: "t.json".into(),
            name: "t.json".into(),
            reader: Box::new(arr.as_bytes()),
            media: crate::source::MediaRoot::Embedded(|_| None),
            origin: crate::source::Origin::new("", "f"),
        };
        let (head, _) = peek(src);
        assert_eq!(detect("t.json", &head), Ok(InputFormat::Medagentbench));
    }
}
