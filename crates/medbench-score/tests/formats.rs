//! One block of tests per answer format, through the public `score` entry point.

use medbench_core::{Format, LabelledBox, OpenReference, Reference, ToolCall, YesNoMaybe};
use medbench_score::{Outcome, Score, score};
use serde_json::json;
use std::collections::BTreeMap;

#[track_caller]
fn expect(s: &Score, outcome: Outcome, value: f64) {
    assert_eq!(s.outcome, outcome, "{s:?}");
    assert!(
        (s.value - value).abs() < 1e-9,
        "value {} != {value}: {s:?}",
        s.value
    );
}

#[test]
fn yes_no_in_chinese_and_english() {
    let f = Format::YesNo { allow_maybe: true };
    let yes = Reference::YesNo {
        answer: YesNoMaybe::Yes,
    };
    let no = Reference::YesNo {
        answer: YesNoMaybe::No,
    };
    let maybe = Reference::YesNo {
        answer: YesNoMaybe::Maybe,
    };
    for a in [
        "是",
        "是的。",
        "Yes",
        "yes, because the trial met its endpoint",
        "答案：是",
        "**Yes**",
        "The answer is yes.",
    ] {
        expect(&score(&f, &yes, a), Outcome::Correct, 1.0);
    }
    for a in [
        "否",
        "否，该药不适用于孕妇。",
        "No.",
        "不是",
        "Answer: no",
        "结论：否",
    ] {
        expect(&score(&f, &no, a), Outcome::Correct, 1.0);
    }
    for a in [
        "可能",
        "不确定",
        "maybe",
        "Maybe; the evidence is mixed.",
        "无法确定",
    ] {
        expect(&score(&f, &maybe, a), Outcome::Correct, 1.0);
    }
    expect(&score(&f, &yes, "否"), Outcome::Wrong, 0.0);
    expect(&score(&f, &no, "不确定"), Outcome::Wrong, 0.0);
    // A sentence that starts with 是 as a verb is not a "yes".
    expect(
        &score(&f, &yes, "是由于药物相互作用引起的"),
        Outcome::Unparsed,
        0.0,
    );
    expect(&score(&f, &yes, ""), Outcome::Unparsed, 0.0);
    expect(
        &score(&f, &yes, "Yes or no, it depends."),
        Outcome::Correct,
        1.0,
    );
    expect(
        &score(&f, &yes, "It depends: yes in adults, no in children."),
        Outcome::Unparsed,
        0.0,
    );
}

#[test]
fn short_answer_normalises_case_width_and_punctuation() {
    let f = Format::ShortAnswer {};
    let r = Reference::Text {
        answers: vec!["阿司匹林".into(), "Aspirin".into()],
    };
    for a in [
        "阿司匹林",
        "阿司匹林。",
        "  Ａｓｐｉｒｉｎ ",
        "aspirin.",
        "答案：阿司匹林",
        "**阿司匹林**",
        "“阿司匹林”",
        "分析：……\n阿司匹林",
    ] {
        expect(&score(&f, &r, a), Outcome::Correct, 1.0);
    }
    let s = score(&f, &r, "The drug is aspirin.");
    expect(&s, Outcome::Wrong, 0.0);
    expect(&score(&f, &r, "氯吡格雷"), Outcome::Wrong, 0.0);
    expect(&score(&f, &r, " \n "), Outcome::Unparsed, 0.0);
}

#[test]
fn label_sets_score_set_f1() {
    let vocab: Vec<String> = ["心内科", "神经内科", "内分泌科", "肾内科"]
        .map(String::from)
        .to_vec();
    let f = Format::LabelSet { labels: vocab };
    let r = Reference::LabelSet {
        labels: vec!["心内科".into(), "肾内科".into()],
    };
    expect(&score(&f, &r, "心内科、肾内科"), Outcome::Correct, 1.0);
    expect(&score(&f, &r, "肾内科；心内科。"), Outcome::Correct, 1.0);
    expect(&score(&f, &r, "- 心内科\n- 肾内科"), Outcome::Correct, 1.0);
    expect(
        &score(&f, &r, "[\"心内科\", \"肾内科\"]"),
        Outcome::Correct,
        1.0,
    );
    expect(
        &score(&f, &r, "建议转诊科室：心内科，肾内科"),
        Outcome::Correct,
        1.0,
    );
    // Given {心内科, 神经内科}: hit 1, F1 = 2·1 / (2 + 2) = 0.5.
    expect(&score(&f, &r, "心内科|神经内科"), Outcome::Partial, 0.5);
    // Vocabulary labels mentioned in prose are used when pieces are not labels.
    expect(
        &score(&f, &r, "患者需心内科和肾内科共同诊治"),
        Outcome::Correct,
        1.0,
    );
    expect(&score(&f, &r, "无"), Outcome::Wrong, 0.0);
    expect(&score(&f, &r, ""), Outcome::Unparsed, 0.0);

    let qc = Format::LabelSet { labels: vec![] };
    let none = Reference::LabelSet { labels: vec![] };
    expect(&score(&qc, &none, "无问题"), Outcome::Correct, 1.0);
    expect(&score(&qc, &none, "主诉不规范"), Outcome::Wrong, 0.0);
    let two = Reference::LabelSet {
        labels: vec!["主诉不规范".into(), "现病史缺失".into()],
    };
    // Given {主诉不规范, 诊断依据不足}: F1 = 2·1 / (2 + 2) = 0.5.
    expect(
        &score(&qc, &two, "主诉不规范/诊断依据不足"),
        Outcome::Partial,
        0.5,
    );
}

fn fields(pairs: &[(&str, serde_json::Value)]) -> BTreeMap<String, serde_json::Value> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect()
}

#[test]
fn json_fields_are_matched_one_by_one() {
    let f = Format::JsonFields {
        fields: vec![
            "主诉".into(),
            "体温(℃)".into(),
            "总费用".into(),
            "过敏史".into(),
        ],
    };
    let r = Reference::JsonFields {
        fields: fields(&[
            ("主诉", json!("腰背部不适伴右下肢麻木1年，加重伴腰痛1月。")),
            ("体温(℃)", json!("37")),
            ("总费用", json!(3805.0)),
            ("过敏史", json!("未知")),
        ]),
    };
    let all = r#"```json
{"主诉": "腰背部不适伴右下肢麻木1年，加重伴腰痛1月", "体温（℃）": "37.0", "总费用": 3805, "过敏史": "未知",}
```"#;
    expect(&score(&f, &r, all), Outcome::Correct, 1.0);
    // 总费用 off by far more than 1e-6 relative; 过敏史 null is not 未知: 2 of 4.
    let half = r#"以下为提取结果：{"主诉": "腰背部不适伴右下肢麻木1年，加重伴腰痛1月。", "体温(℃)": 37, "总费用": "3806", "过敏史": null}"#;
    let s = score(&f, &r, half);
    expect(&s, Outcome::Partial, 0.5);
    assert!(s.detail.unwrap().contains("总费用"));
    // Within 1e-6 relative counts as equal.
    let close = r#"{"主诉": "x", "体温(℃)": "36", "总费用": 3805.000001, "过敏史": "无"}"#;
    expect(&score(&f, &r, close), Outcome::Partial, 0.25);
    expect(&score(&f, &r, "{}"), Outcome::Wrong, 0.0);
    // A `key：value` line is read (issue 15): this one is read, and wrong.
    expect(&score(&f, &r, "主诉：腰背部不适"), Outcome::Wrong, 0.0);
    expect(&score(&f, &r, "无法提取。"), Outcome::Unparsed, 0.0);
}

#[test]
fn json_fields_in_the_shapes_models_write() {
    let f = Format::JsonFields {
        fields: vec!["主诉".into(), "体温(℃)".into(), "总费用".into()],
    };
    let r = Reference::JsonFields {
        fields: fields(&[
            ("主诉", json!("头痛3天")),
            ("体温(℃)", json!("37")),
            ("总费用", json!(7600)),
        ]),
    };
    let lines = "主诉: 头痛3天\n体温(℃): 37\n总费用：7600.00元";
    expect(&score(&f, &r, lines), Outcome::Correct, 1.0);
    let fenced = "提取结果如下：\n```\n主诉：头痛3天\n体温（℃）：37.0\n总费用：¥7600\n```";
    expect(&score(&f, &r, fenced), Outcome::Correct, 1.0);
    // An empty answer to a reference with fields is read, and wrong.
    let s = score(&f, &r, "[]");
    expect(&s, Outcome::Wrong, 0.0);
    assert_eq!(s.parsed, Some(json!({})));
}

#[test]
fn report_qc_lists_are_read_whole_and_empty_means_no_defects() {
    let f = Format::JsonFields { fields: vec![] };
    // The reference as `read_fields` reads `[{"错误类型": …, "修改建议": …}, …]`:
    // every element, keyed by error type.
    let r = Reference::JsonFields {
        fields: fields(&[
            ("单位错误", json!("8×5m改为8×5mm")),
            ("错别字", json!("密度度改为密度")),
        ]),
    };
    let both = r#"```json
[{"错误类型": "错别字", "修改建议": "密度度改为密度"},
 {"错误类型": "单位错误", "修改建议": "8×5m改为8×5mm"}]
```"#;
    expect(&score(&f, &r, both), Outcome::Correct, 1.0);
    // The object form the other prompt variant asks for reads the same.
    let keyed = r#"{"错别字": "密度度改为密度", "单位错误": "8×5m改为8×5mm"}"#;
    expect(&score(&f, &r, keyed), Outcome::Correct, 1.0);
    // One of the two defects: half.
    let one = r#"[{"错误类型": "单位错误", "修改建议": "8×5m改为8×5mm"}]"#;
    expect(&score(&f, &r, one), Outcome::Partial, 0.5);
    expect(&score(&f, &r, "[]"), Outcome::Wrong, 0.0);
    // No defects expected.
    let none = Reference::JsonFields {
        fields: BTreeMap::new(),
    };
    for a in ["[]", "```json\n[]\n```", "无", "无问题", "没有"] {
        expect(&score(&f, &none, a), Outcome::Correct, 1.0);
    }
    let s = score(&f, &none, one);
    expect(&s, Outcome::Wrong, 0.0);
    assert!(s.detail.unwrap().contains("no fields expected"));
}

#[test]
fn tuples_score_micro_f1() {
    let f = Format::Tuples {
        slots: vec!["head".into(), "relation".into(), "tail".into()],
    };
    let r = Reference::Tuples {
        tuples: vec![
            vec!["二甲双胍".into(), "治疗".into(), "2型糖尿病".into()],
            vec!["阿司匹林".into(), "副作用".into(), "胃出血".into()],
        ],
    };
    let json_ans = r#"[["二甲双胍", "治疗", "2型糖尿病"], ["阿司匹林", "副作用", "胃出血"]]"#;
    expect(&score(&f, &r, json_ans), Outcome::Correct, 1.0);
    let objects = r#"{"triples": [{"head": "二甲双胍", "relation": "治疗", "tail": "2型糖尿病"}]}"#;
    // One of two: F1 = 2·1 / (1 + 2) = 2/3.
    expect(&score(&f, &r, objects), Outcome::Partial, 2.0 / 3.0);
    let lines = "（二甲双胍，治疗，2型糖尿病）\n(阿司匹林, 副作用, 头痛)\n(见上文)";
    // Two given, one right: F1 = 2·1 / (2 + 2) = 0.5; "(见上文)" has the wrong arity.
    expect(&score(&f, &r, lines), Outcome::Partial, 0.5);
    expect(&score(&f, &r, "[]"), Outcome::Wrong, 0.0);
    expect(&score(&f, &r, "文中没有提到药物。"), Outcome::Unparsed, 0.0);
}

#[test]
fn numeric_prefers_marked_number_then_last() {
    let f = Format::Numeric {
        unit: Some("元".into()),
    };
    let exact = Reference::Numeric {
        value: 2851.5,
        abs_tol: None,
        rel_tol: None,
    };
    expect(&score(&f, &exact, "2851.5"), Outcome::Correct, 1.0);
    expect(&score(&f, &exact, "答案：2,851.5元"), Outcome::Correct, 1.0);
    expect(
        &score(&f, &exact, "答案：2851.5元（其中乙类自付 495 元）"),
        Outcome::Correct,
        1.0,
    );
    // The number after the last `=` wins over a later bare number (documented rule).
    let s = score(&f, &exact, "自付 = 3300 × 15% = 495，报销 2851.5");
    expect(&s, Outcome::Wrong, 0.0);
    assert_eq!(s.parsed, Some(json!(495.0)));
    expect(
        &score(&f, &exact, "起付线 180 元，最终报销 2851.5 元"),
        Outcome::Correct,
        1.0,
    );
    expect(&score(&f, &exact, "x = 2851.5"), Outcome::Correct, 1.0);
    expect(&score(&f, &exact, "2851.6"), Outcome::Wrong, 0.0);
    expect(&score(&f, &exact, "无法计算"), Outcome::Unparsed, 0.0);
    let tol = Reference::Numeric {
        value: 25.0,
        abs_tol: Some(0.5),
        rel_tol: None,
    };
    expect(&score(&f, &tol, "BMI ≈ 24.6"), Outcome::Correct, 1.0);
    expect(&score(&f, &tol, "BMI ≈ 24.4"), Outcome::Wrong, 0.0);
    let rel = Reference::Numeric {
        value: 200.0,
        abs_tol: None,
        rel_tol: Some(0.01),
    };
    expect(
        &score(&f, &rel, "The answer is 198 mg."),
        Outcome::Correct,
        1.0,
    );
    expect(&score(&f, &rel, "\\boxed{-198}"), Outcome::Wrong, 0.0);
}

fn bx(label: &str, b: [f64; 4]) -> LabelledBox {
    LabelledBox {
        label: label.into(),
        bbox: b,
    }
}

#[test]
fn detection_matches_boxes_by_label_and_iou() {
    let f = Format::Detection {
        labels: vec!["结节".into(), "肿块".into()],
        grid: 1000,
    };
    let r = Reference::Detection {
        boxes: vec![
            bx("结节", [100.0, 100.0, 200.0, 200.0]),
            bx("肿块", [500.0, 500.0, 700.0, 700.0]),
        ],
        iou: 0.5,
    };
    let both = r#"[{"类别": ["结节"], "边界框": [105, 98, 203, 199]}, {"类别": ["肿块"], "边界框": [510, 505, 690, 700]}]"#;
    expect(&score(&f, &r, both), Outcome::Correct, 1.0);
    // Second box has the wrong label: F1 = 2·1 / (2 + 2) = 0.5.
    let wrong_label = r#"[{"label": "结节", "box": [100, 100, 200, 200]}, {"label": "结节", "box": [500, 500, 700, 700]}]"#;
    expect(&score(&f, &r, wrong_label), Outcome::Partial, 0.5);
    // IoU of [150,100,250,200] with [100,100,200,200] is 50·100 / 15000 = 1/3 < 0.5.
    let shifted = r#"```json
[{"类别": "结节", "边界框": [150, 100, 250, 200]}]
```"#;
    expect(&score(&f, &r, shifted), Outcome::Wrong, 0.0);
    expect(&score(&f, &r, "无病变"), Outcome::Wrong, 0.0);
    expect(&score(&f, &r, "图像质量较差"), Outcome::Unparsed, 0.0);

    let empty = Reference::Detection {
        boxes: vec![],
        iou: 0.5,
    };
    expect(&score(&f, &empty, "无病变"), Outcome::Correct, 1.0);
    expect(&score(&f, &empty, "[]"), Outcome::Correct, 1.0);
    expect(&score(&f, &empty, both), Outcome::Wrong, 0.0);
}

fn call(name: &str, args: serde_json::Value) -> ToolCall {
    ToolCall {
        name: name.into(),
        arguments: args,
    }
}

#[test]
fn tool_calls_match_names_and_arguments() {
    let f = Format::ToolCalls { tools: vec![] };
    let want = vec![
        call(
            "RequestPreoperativeBed",
            json!({"patient_id": "ZY2024001", "admitting_department": "心血管外科"}),
        ),
        call("NotifyPatient", json!({"patient_id": "ZY2024001"})),
    ];
    let ordered = Reference::ToolCalls {
        calls: want.clone(),
        ordered: true,
    };
    let plain = r#"[{"name": "RequestPreoperativeBed", "arguments": {"patient_id": "ZY2024001", "admitting_department": "心血管外科", "urgency_level": "routine"}},
                   {"name": "NotifyPatient", "arguments": {"patient_id": "ZY2024001"}}]"#;
    expect(&score(&f, &ordered, plain), Outcome::Correct, 1.0);
    let openai = r#"{"tool_calls": [
        {"type": "function", "function": {"name": "RequestPreoperativeBed", "arguments": "{\"patient_id\": \"ZY2024001\", \"admitting_department\": \"心血管外科\"}"}},
        {"type": "function", "function": {"name": "NotifyPatient", "arguments": "{\"patient_id\": \"ZY2024001\"}"}}]}"#;
    expect(&score(&f, &ordered, openai), Outcome::Correct, 1.0);
    // Reversed order: ordered matching keeps 1 of 2; unordered keeps both.
    let reversed = r#"```json
{"name": "NotifyPatient", "arguments": {"patient_id": "ZY2024001"}}
```
```json
{"name": "RequestPreoperativeBed", "arguments": {"patient_id": "ZY2024001", "admitting_department": "心血管外科"}}
```"#;
    expect(&score(&f, &ordered, reversed), Outcome::Partial, 0.5);
    let unordered = Reference::ToolCalls {
        calls: want,
        ordered: false,
    };
    expect(&score(&f, &unordered, reversed), Outcome::Correct, 1.0);
    // A wrong argument value and an extra call: 1 matched / max(2, 3).
    let extra = r#"[{"name": "RequestPreoperativeBed", "arguments": {"patient_id": "ZY2024002", "admitting_department": "心血管外科"}},
                   {"name": "NotifyPatient", "arguments": {"patient_id": "ZY2024001"}},
                   {"name": "Log", "arguments": {}}]"#;
    expect(&score(&f, &unordered, extra), Outcome::Partial, 1.0 / 3.0);
    expect(&score(&f, &unordered, "[]"), Outcome::Wrong, 0.0);
    expect(
        &score(&f, &unordered, "我将为患者申请床位。"),
        Outcome::Unparsed,
        0.0,
    );
}

#[test]
fn intent_is_label_accuracy() {
    let labels: Vec<String> = ["费用争议投诉", "服务态度投诉", "住院费用查询", "费用查询"]
        .map(String::from)
        .to_vec();
    let f = Format::Intent { labels };
    let r = Reference::Intent {
        label: "费用争议投诉".into(),
    };
    expect(&score(&f, &r, "费用争议投诉"), Outcome::Correct, 1.0);
    expect(
        &score(&f, &r, "意图：费用争议投诉。"),
        Outcome::Correct,
        1.0,
    );
    expect(
        &score(&f, &r, "该患者属于“费用争议投诉”。"),
        Outcome::Correct,
        1.0,
    );
    expect(&score(&f, &r, "住院费用查询"), Outcome::Wrong, 0.0);
    expect(
        &score(&f, &r, "可能是服务态度投诉或费用争议投诉"),
        Outcome::Unparsed,
        0.0,
    );
    expect(&score(&f, &r, "投诉"), Outcome::Unparsed, 0.0);
}

#[test]
fn open_ended_uses_rouge_as_stand_in() {
    let f = Format::OpenEnded {};
    let with_answer = Reference::Open(OpenReference {
        answer: Some("慢性肾脏病4期".into()),
        ..Default::default()
    });
    // Candidate 慢性肾脏病3期 vs 慢性肾脏病4期: LCS 6 of 7 chars each, F = 6/7.
    let s = score(&f, &with_answer, "慢性肾脏病3期");
    expect(&s, Outcome::Partial, 6.0 / 7.0);
    let rubric_only = Reference::Open(OpenReference {
        key_points: vec!["CKD".into()],
        ..Default::default()
    });
    let s = score(&Format::Dialogue {}, &rubric_only, "回答");
    expect(&s, Outcome::Unparsed, 0.0);
    assert_eq!(s.detail.as_deref(), Some("needs a judge"));
}

#[test]
fn tool_calls_named_in_prose_are_scored() {
    let f = Format::ToolCalls { tools: vec![] };
    let r = Reference::ToolCalls {
        calls: vec![ToolCall {
            name: "GetLabResults".into(),
            arguments: json!({"patient_id": "P7"}),
        }],
        ordered: true,
    };
    let prose =
        "**API**: GetLabResults\n\n```json\n{\"patient_id\": \"P7\", \"panel\": \"CBC\"}\n```";
    expect(&score(&f, &r, prose), Outcome::Correct, 1.0);
    // The name is never written: read, and wrong unless the format lists one tool.
    let unnamed = "API 调用参数如下：\n```json\n{\"patient_id\": \"P7\"}\n```";
    expect(&score(&f, &r, unnamed), Outcome::Wrong, 0.0);
    let one = Format::ToolCalls {
        tools: vec![json!({"name": "GetLabResults", "parameters": {}})],
    };
    expect(&score(&one, &r, unnamed), Outcome::Correct, 1.0);
    // A patient's name is not a function name: these are arguments of an
    // unnamed call.
    let s = score(&f, &r, "{\"name\": \"张伟\", \"patient_id\": \"P7\"}");
    assert_eq!(s.outcome, Outcome::Wrong, "{s:?}");
    assert_eq!(s.parsed.unwrap()[0]["name"], json!(""));
}
