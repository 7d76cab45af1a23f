//! Every scorer survives hostile or malformed answers: no panic, a value in
//! 0..=1, and an outcome that agrees with the value.

use medbench_core::{Choice, Format, LabelledBox, OpenReference, Reference, ToolCall, YesNoMaybe};
use medbench_score::{Outcome, score};
use serde_json::json;

fn cases() -> Vec<(Format, Reference)> {
    let options: Vec<Choice> = ["A", "B", "C"]
        .iter()
        .map(|l| Choice {
            label: (*l).into(),
            text: format!("选项{l}"),
        })
        .collect();
    vec![
        (
            Format::SingleChoice {
                options: options.clone(),
            },
            Reference::Choice {
                answer: vec!["A".into()],
            },
        ),
        (
            Format::MultipleChoice { options },
            Reference::Choice {
                answer: vec!["A".into(), "B".into()],
            },
        ),
        (
            Format::YesNo { allow_maybe: true },
            Reference::YesNo {
                answer: YesNoMaybe::Maybe,
            },
        ),
        (
            Format::ShortAnswer {},
            Reference::Text {
                answers: vec!["x".into()],
            },
        ),
        (
            Format::LabelSet {
                labels: vec!["心内科".into()],
            },
            Reference::LabelSet {
                labels: vec!["心内科".into()],
            },
        ),
        (
            Format::JsonFields {
                fields: vec!["a".into()],
            },
            Reference::JsonFields {
                fields: [("a".to_string(), json!(1))].into(),
            },
        ),
        (
            Format::Tuples {
                slots: vec!["h".into(), "t".into()],
            },
            Reference::Tuples {
                tuples: vec![vec!["a".into(), "b".into()]],
            },
        ),
        (
            Format::Numeric { unit: None },
            Reference::Numeric {
                value: 1.0,
                abs_tol: None,
                rel_tol: None,
            },
        ),
        (
            Format::Detection {
                labels: vec![],
                grid: 1000,
            },
            Reference::Detection {
                boxes: vec![LabelledBox {
                    label: "x".into(),
                    bbox: [0.0, 0.0, 10.0, 10.0],
                }],
                iou: 0.5,
            },
        ),
        (
            Format::Sql {
                schema: String::new(),
            },
            Reference::Sql {
                query: "SELECT x FROM t".into(),
                fixture: "CREATE TABLE t(x); INSERT INTO t VALUES (1);".into(),
            },
        ),
        (
            Format::ToolCalls { tools: vec![] },
            Reference::ToolCalls {
                calls: vec![ToolCall {
                    name: "f".into(),
                    arguments: json!({"a": 1}),
                }],
                ordered: true,
            },
        ),
        (
            Format::Intent {
                labels: vec!["挂号".into(), "缴费".into()],
            },
            Reference::Intent {
                label: "挂号".into(),
            },
        ),
        (
            Format::OpenEnded {},
            Reference::Open(OpenReference {
                answer: Some("参考".into()),
                ..Default::default()
            }),
        ),
    ]
}

const HOSTILE: &[&str] = &[
    "",
    " \n\t ",
    "<",
    ">",
    "<>",
    "<<<A>>>",
    "**",
    "****",
    "答案：",
    "答案：(",
    "The answer is (",
    "```",
    "```sql",
    "```json\n{",
    "{",
    "[",
    "[[[[[[[[[[",
    "{\"a\":",
    "{\"a\": 1,,}",
    "-",
    "--",
    "1e999",
    "-.",
    "(((((a, b",
    "\u{0}\u{1}\u{7f}",
    "𝔸𝔹ℂ 🙂 答案：🙂",
    "Ａ．Ｂ．Ｃ．",
    "</think>",
    "<think>",
    "SELECT",
    "WITH",
    ";;;;",
    "'unterminated",
    "\\boxed{",
    "é\u{301}答案\u{200b}：A",
    "“",
    "\"",
    "“答：<E>",
    "「<A>",
    "选",
    "输出",
    "<|",
    "<|im_end|>",
    "f(",
    "f(a=",
    "f(a=1",
    "- a: [",
    "参数：\n- a: [\n- b: {",
    "主诉:",
    ":",
    "POST /",
    "API 1: ",
    "{ a: 1, // x",
    "[{}, {}]",
    "[{\"a\": 1}, {\"a\": 2}, 3]",
];

#[test]
fn hostile_answers_never_panic_and_stay_in_range() {
    let long_brackets = "{".repeat(20_000);
    let long_text = "答案是什么？".repeat(5_000);
    let long_calls = "f(".repeat(10_000);
    let long_quotes = "“答：<E>".repeat(3_000);
    let long_trace = "所以我选A，但还需要再想想。".repeat(2_000);
    let mut answers: Vec<&str> = HOSTILE.to_vec();
    answers.push(&long_brackets);
    answers.push(&long_text);
    answers.push(&long_calls);
    answers.push(&long_quotes);
    answers.push(&long_trace);
    for (format, reference) in cases() {
        for a in &answers {
            let s = score(&format, &reference, a);
            assert!(
                (0.0..=1.0).contains(&s.value),
                "{:?} {a:?}: {s:?}",
                format.kind()
            );
            match s.outcome {
                Outcome::Correct => assert_eq!(s.value, 1.0),
                Outcome::Wrong | Outcome::Unparsed => assert_eq!(s.value, 0.0),
                Outcome::Partial => {}
            }
            if a.trim().is_empty() {
                assert_eq!(
                    s.outcome,
                    Outcome::Unparsed,
                    "{:?}: empty answer",
                    format.kind()
                );
            }
        }
    }
}
