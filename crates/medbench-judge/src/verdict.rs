//! Reading what a judge wrote: a JSON object somewhere in its answer (code
//! fences and chatter around it are tolerated), checked against the units asked
//! for. An answer with no usable object is unparsed, or a refusal when the
//! judge declined.

use crate::plan::{JudgeKind, SCALE, SCALE_MAX, SCALE_MIN};
use serde_json::Value;

/// What a verdict said.
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// A value per unit, in the order asked, and the judge's explanation.
    Values(Vec<f64>, Option<String>),
    /// No usable verdict; why.
    Unparsed(String),
    /// The judge declined to grade.
    Refusal,
}

/// Read a judge's answer for a request about `units`.
pub fn parse(kind: JudgeKind, units: &[String], raw: &str) -> Verdict {
    let key = match kind {
        JudgeKind::Rubric => "criteria_met",
        JudgeKind::KeyPoints => "key_points",
        JudgeKind::Scale => SCALE[0].0,
    };
    // The object that carries the verdict; a nested one (a single key point) is not it.
    let objects = json_objects(raw);
    let Some(obj) = objects
        .iter()
        .find(|o| o.contains_key(key))
        .or(objects.first())
        .cloned()
    else {
        if is_refusal(raw) {
            return Verdict::Refusal;
        }
        return Verdict::Unparsed(if raw.trim().is_empty() {
            "empty verdict".into()
        } else if raw.matches('{').count() > raw.matches('}').count() {
            "the verdict stops before its JSON ends (raise the judge's max_tokens)".into()
        } else {
            "no JSON object in the verdict".into()
        });
    };
    if !obj.contains_key(key) && raw.matches('{').count() > raw.matches('}').count() {
        return Verdict::Unparsed(
            "the verdict stops before its JSON ends (raise the judge's max_tokens)".into(),
        );
    }
    let explanation = obj
        .get("explanation")
        .and_then(Value::as_str)
        .map(str::to_owned);
    match kind {
        JudgeKind::Rubric => match obj.get("criteria_met").map(truth) {
            Some(Some(b)) => Verdict::Values(vec![b as u8 as f64], explanation),
            Some(None) => Verdict::Unparsed("criteria_met is not true or false".into()),
            None => Verdict::Unparsed("criteria_met is missing".into()),
        },
        JudgeKind::KeyPoints => key_points(&obj, units.len(), explanation),
        JudgeKind::Scale => {
            let mut values = Vec::with_capacity(SCALE.len());
            for (name, _) in SCALE {
                let v = match obj.get(name) {
                    Some(Value::Number(n)) => n.as_f64(),
                    Some(Value::String(s)) => s.trim().parse::<f64>().ok(),
                    _ => return Verdict::Unparsed(format!("{name} is missing")),
                };
                match v {
                    Some(v) if (SCALE_MIN..=SCALE_MAX).contains(&v) => values.push(v),
                    _ => return Verdict::Unparsed(format!("{name} is not a number from 1 to 5")),
                }
            }
            Verdict::Values(values, explanation)
        }
    }
}

fn key_points(
    obj: &serde_json::Map<String, Value>,
    n: usize,
    explanation: Option<String>,
) -> Verdict {
    let Some(list) = obj.get("key_points").and_then(Value::as_array) else {
        return Verdict::Unparsed("key_points is missing or not a list".into());
    };
    let mut values: Vec<Option<f64>> = vec![None; n];
    let mut notes = Vec::new();
    for (i, entry) in list.iter().enumerate() {
        let index = entry
            .get("point")
            .and_then(|p| p.as_u64().or_else(|| p.as_str()?.trim().parse().ok()))
            .map(|p| p as usize)
            .unwrap_or(i + 1);
        if index == 0 || index > n {
            return Verdict::Unparsed(format!("key point {index} does not exist (there are {n})"));
        }
        match entry.get("covered").and_then(truth) {
            Some(b) => values[index - 1] = Some(b as u8 as f64),
            None => {
                return Verdict::Unparsed(format!(
                    "key point {index}: covered is not true or false"
                ));
            }
        }
        if let Some(e) = entry.get("explanation").and_then(Value::as_str) {
            notes.push(format!("{index}: {e}"));
        }
    }
    if let Some(missing) = values.iter().position(Option::is_none) {
        return Verdict::Unparsed(format!("no verdict for key point {}", missing + 1));
    }
    let explanation = explanation.or_else(|| (!notes.is_empty()).then(|| notes.join("; ")));
    Verdict::Values(
        values.into_iter().map(|v| v.unwrap_or(0.0)).collect(),
        explanation,
    )
}

fn truth(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "met" | "是" => Some(true),
            "false" | "no" | "not met" | "否" => Some(false),
            _ => None,
        },
        Value::Number(n) if n.as_f64() == Some(1.0) => Some(true),
        Value::Number(n) if n.as_f64() == Some(0.0) => Some(false),
        _ => None,
    }
}

/// Every JSON object that parses starting at some `{` of `text` (code fences removed),
/// outermost first.
pub fn json_objects(text: &str) -> Vec<serde_json::Map<String, Value>> {
    let cleaned = text.replace("```json", "").replace("```", "");
    let bytes = cleaned.as_bytes();
    let mut out = Vec::new();
    for (start, _) in cleaned.match_indices('{') {
        let mut de = serde_json::Deserializer::from_slice(&bytes[start..]).into_iter::<Value>();
        if let Some(Ok(Value::Object(m))) = de.next() {
            out.push(m);
        }
    }
    out
}

/// A judge declining, in English or Chinese, with no verdict given.
pub fn is_refusal(text: &str) -> bool {
    let t = text.trim().to_lowercase();
    const MARKERS: [&str; 12] = [
        "i can't help",
        "i cannot help",
        "i can't assist",
        "i cannot assist",
        "i won't",
        "i'm not able to",
        "i am not able to",
        "i'm sorry, but",
        "i am sorry, but",
        "无法协助",
        "我不能",
        "抱歉",
    ];
    !t.is_empty() && t.len() < 2000 && MARKERS.iter().any(|m| t.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn units(n: usize, p: &str) -> Vec<String> {
        (1..=n).map(|i| format!("{p}{i}")).collect()
    }

    #[test]
    fn rubric_verdicts_in_the_shapes_judges_write() {
        let u = units(1, "c");
        for (raw, want) in [
            (r#"{"explanation": "ok", "criteria_met": true}"#, 1.0),
            (
                "```json\n{\"explanation\": \"no\", \"criteria_met\": false}\n```",
                0.0,
            ),
            (
                "Here is my verdict: {\"criteria_met\": \"true\"} Hope that helps.",
                1.0,
            ),
            (r#"{"criteria_met": 0}"#, 0.0),
        ] {
            match parse(JudgeKind::Rubric, &u, raw) {
                Verdict::Values(v, _) => assert_eq!(v, vec![want], "{raw}"),
                other => panic!("{raw}: {other:?}"),
            }
        }
        assert_eq!(
            parse(JudgeKind::Rubric, &u, r#"{"criteria_met": "perhaps"}"#),
            Verdict::Unparsed("criteria_met is not true or false".into())
        );
        assert_eq!(
            parse(JudgeKind::Rubric, &u, "The reply meets the criterion."),
            Verdict::Unparsed("no JSON object in the verdict".into())
        );
        assert_eq!(
            parse(
                JudgeKind::Rubric,
                &u,
                "I'm sorry, but I can't help with grading this."
            ),
            Verdict::Refusal
        );
        assert_eq!(
            parse(JudgeKind::Rubric, &u, "抱歉，我无法评估这个回答。"),
            Verdict::Refusal
        );
    }

    #[test]
    fn key_points_need_every_point_once_in_range() {
        let u = units(3, "k");
        let ok = r#"{"key_points": [{"point": 1, "covered": true}, {"point": 2, "covered": false}, {"point": 3, "covered": "yes"}]}"#;
        assert_eq!(
            parse(JudgeKind::KeyPoints, &u, ok),
            Verdict::Values(vec![1.0, 0.0, 1.0], None)
        );
        let short = r#"{"key_points": [{"point": 1, "covered": true}]}"#;
        assert_eq!(
            parse(JudgeKind::KeyPoints, &u, short),
            Verdict::Unparsed("no verdict for key point 2".into())
        );
        let out_of_range = r#"{"key_points": [{"point": 4, "covered": true}]}"#;
        assert!(matches!(
            parse(JudgeKind::KeyPoints, &u, out_of_range),
            Verdict::Unparsed(m) if m.contains("does not exist")
        ));
        // Cut off by the token limit: the complete inner objects are not the verdict.
        let cut =
            "```json\n{\"key_points\": [{\"point\": 1, \"covered\": true}, {\"point\": 2, \"cov";
        assert_eq!(
            parse(JudgeKind::KeyPoints, &u, cut),
            Verdict::Unparsed(
                "the verdict stops before its JSON ends (raise the judge's max_tokens)".into()
            )
        );
    }

    #[test]
    fn scale_ratings_must_be_one_to_five() {
        let u: Vec<String> = SCALE.iter().map(|(n, _)| n.to_string()).collect();
        let ok = r#"{"accuracy": 4, "completeness": "3", "safety": 5, "readability": 4, "explanation": "fine"}"#;
        assert_eq!(
            parse(JudgeKind::Scale, &u, ok),
            Verdict::Values(vec![4.0, 3.0, 5.0, 4.0], Some("fine".into()))
        );
        let bad = r#"{"accuracy": 7, "completeness": 3, "safety": 5, "readability": 4}"#;
        assert_eq!(
            parse(JudgeKind::Scale, &u, bad),
            Verdict::Unparsed("accuracy is not a number from 1 to 5".into())
        );
    }
}
