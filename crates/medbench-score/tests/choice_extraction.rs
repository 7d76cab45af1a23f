//! Table-driven tests of option-label extraction on realistic answers.

use medbench_core::{Choice, Format, Reference};
use medbench_score::{Outcome, extract_choices, score};

fn options(pairs: &[(&str, &str)]) -> Vec<Choice> {
    pairs
        .iter()
        .map(|(l, t)| Choice {
            label: (*l).into(),
            text: (*t).into(),
        })
        .collect()
}

/// The MedExam example question (chest trauma): five options A–E.
fn exam() -> Vec<Choice> {
    options(&[
        ("A", "争取保守治疗"),
        ("B", "病情无明显加重，可继续观察，根据情况再做决定"),
        ("C", "病情稳定，在继续严密观察下，择期手术"),
        ("D", "术前准备后紧急经胸手术"),
        ("E", "术前准备后紧急经腹手术"),
    ])
}

/// A MedRxCheck multiple-answer question on tacrolimus: four options A–D.
fn tacrolimus() -> Vec<Choice> {
    options(&[
        ("A", "宜进行治疗药物监测"),
        ("B", "半衰期短"),
        ("C", "主要经肝脏代谢"),
        ("D", "蛋白结合率高"),
    ])
}

fn english() -> Vec<Choice> {
    options(&[
        ("A", "Vitamin C deficiency"),
        ("B", "Vitamin D deficiency"),
        ("C", "Iron deficiency anaemia"),
        ("D", "Hypothyroidism"),
    ])
}

fn labels(expected: Option<&str>) -> Option<Vec<String>> {
    expected.map(|s| s.chars().map(|c| c.to_string()).collect())
}

#[track_caller]
fn check(opts: &[Choice], multiple: bool, cases: &[(&str, Option<&str>)]) {
    let mut failures = Vec::new();
    for (answer, want) in cases {
        let got = extract_choices(answer, opts, multiple);
        if got != labels(*want) {
            failures.push(format!("{answer:?}: expected {want:?}, got {got:?}"));
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn single_choice_answers_models_write() {
    let cases: &[(&str, Option<&str>)] = &[
        ("<E>", Some("E")),
        ("E", Some("E")),
        ("答案：E", Some("E")),
        ("答案是E。", Some("E")),
        ("The answer is (E).", Some("E")),
        ("**E**", Some("E")),
        ("E.", Some("E")),
        ("Ｅ", Some("E")),
        ("e", Some("E")),
        ("(e)", Some("E")),
        ("答案：e", Some("E")),
        ("（D）", Some("D")),
        ("答：<D>", Some("D")),
        ("[D]", Some("D")),
        ("'D'", Some("D")),
        ("选D", Some("D")),
        ("【答案】E", Some("E")),
        ("答案：Ｃ", Some("C")),
        ("最终答案：**C**", Some("C")),
        ("**答案：E**", Some("E")),
        ("正确答案为 (B)", Some("B")),
        ("Answer: c", Some("C")),
        ("Final Answer: B", Some("B")),
        (
            "The correct answer is D. Emergency thoracotomy after preparation.",
            Some("D"),
        ),
        (
            "A patient with a clotted drain and a white-out needs surgery; the answer is D.",
            Some("D"),
        ),
        ("Answer: The best option is E", Some("E")),
        (
            "I think C is correct because the patient is stable.",
            Some("C"),
        ),
        ("C选项正确。", Some("C")),
        ("患者存在胸腹联合伤，上腹部压痛，因此答案是E。", Some("E")),
        (
            "答案：D\n\n解析：左胸血气胸且引流不畅，A、B、C均不妥。",
            Some("D"),
        ),
        ("答案为C，理由如下：A项错误；B项错误。", Some("C")),
        ("解析：胸腔引流管不通畅，呼吸音显著降低，故选D", Some("D")),
        ("根据题意，D", Some("D")),
        ("我选择B。", Some("B")),
        ("B项正确，其余选项均错误。", Some("B")),
        ("正确答案：C\n\n理由：选项A、B均不符合。", Some("C")),
        ("I'd go with D.", Some("D")),
        ("D) Emergency thoracotomy after preparation", Some("D")),
        ("Answer: (d)", Some("D")),
        ("腹部B超提示肝脾破裂可能，A型血，应紧急手术，选E", Some("E")),
        ("\\boxed{B}", Some("B")),
        ("E. 术前准备后紧急经腹手术", Some("E")),
        ("D：术前准备后紧急经胸手术", Some("D")),
        ("E\n\n解析：上腹部轻压痛提示腹腔脏器损伤。", Some("E")),
        ("分析如下……\n\n**E. 术前准备后紧急经腹手术**", Some("E")),
        ("术前准备后紧急经腹手术", Some("E")),
        ("应选择术前准备后紧急经腹手术。", Some("E")),
        ("<think>可能是A？不对，应该是C。</think>\n<C>", Some("C")),
        ("Let me think... </think>\n\nThe answer is B.", Some("B")),
        // Several options named explicitly: read, and scored wrong for single choice.
        ("答案：AB", Some("AB")),
        ("A or B", Some("AB")),
        // Unreadable.
        ("", None),
        ("   ", None),
        ("抱歉，我无法回答这个问题。", None),
        ("I'm sorry, but I can't help with that.", None),
        ("答案：F", None),
        ("<F>", None),
        ("A和B都有可能，C也可以考虑。", None),
        ("患者为IgA肾病，CKD G4期。", None),
    ];
    check(&exam(), false, cases);
}

#[test]
fn multiple_choice_answers_models_write() {
    let cases: &[(&str, Option<&str>)] = &[
        ("ACD", Some("ACD")),
        ("A,C", Some("AC")),
        ("A、C、D", Some("ACD")),
        ("A C", Some("AC")),
        ("<A><C>", Some("AC")),
        ("<A,C>", Some("AC")),
        ("(A)(C)", Some("AC")),
        ("A\nC\nD", Some("ACD")),
        (
            "答案：A（宜进行治疗药物监测）、C（主要经肝脏代谢）",
            Some("AC"),
        ),
        ("根据以上分析，正确答案是 **A、C、D**", Some("ACD")),
        ("答案：ACD", Some("ACD")),
        ("正确答案：A、C", Some("AC")),
        ("The answers are A and D.", Some("AD")),
        ("acd", Some("ACD")),
        ("CA", Some("AC")),
        ("ABCD", Some("ABCD")),
        ("A；C", Some("AC")),
        ("A/C", Some("AC")),
        ("**A**、**C**", Some("AC")),
        ("宜进行治疗药物监测、主要经肝脏代谢", Some("AC")),
        ("A. 宜进行治疗药物监测\nC. 主要经肝脏代谢", Some("AC")),
        (
            "他克莫司治疗窗窄，需监测血药浓度，经CYP3A4代谢。\n答案：ACD",
            Some("ACD"),
        ),
        ("", None),
        ("我不确定", None),
        ("答案：E", None),
        ("A是对的，B不对，C对，D对", None),
    ];
    check(&tacrolimus(), true, cases);
}

#[test]
fn option_text_instead_of_label() {
    let cases: &[(&str, Option<&str>)] = &[
        ("Vitamin C deficiency.", Some("A")),
        (
            "The most likely diagnosis is vitamin D deficiency",
            Some("B"),
        ),
        ("hypothyroidism", Some("D")),
        (
            "Either vitamin C deficiency or iron deficiency anaemia",
            None,
        ),
        ("a", Some("A")),
        ("The answer is a deficiency of something", None),
    ];
    check(&english(), false, cases);
}

#[test]
fn single_choice_scoring_outcomes() {
    let f = Format::SingleChoice { options: exam() };
    let r = Reference::Choice {
        answer: vec!["E".into()],
    };
    assert_eq!(score(&f, &r, "<E>").outcome, Outcome::Correct);
    assert_eq!(score(&f, &r, "答案：D").outcome, Outcome::Wrong);
    let hedged = score(&f, &r, "答案：DE");
    assert_eq!(hedged.outcome, Outcome::Wrong);
    assert!(hedged.detail.unwrap().contains("several"));
    let s = score(&f, &r, "无法判断");
    assert_eq!((s.outcome, s.value), (Outcome::Unparsed, 0.0));
    assert_eq!(score(&f, &r, "").outcome, Outcome::Unparsed);
}

#[test]
fn multiple_choice_scoring_is_exact_or_set_f1() {
    let f = Format::MultipleChoice {
        options: tacrolimus(),
    };
    let r = Reference::Choice {
        answer: vec!["A".into(), "C".into(), "D".into()],
    };
    let s = score(&f, &r, "ACD");
    assert_eq!((s.outcome, s.value), (Outcome::Correct, 1.0));
    assert!(s.detail.unwrap().contains("exact=true"));
    // Given {A, C}: hit 2, F1 = 2·2 / (2 + 3) = 0.8.
    let s = score(&f, &r, "A、C");
    assert_eq!(s.outcome, Outcome::Partial);
    assert!((s.value - 0.8).abs() < 1e-12);
    assert!(s.detail.unwrap().contains("exact=false"));
    assert_eq!(score(&f, &r, "B").outcome, Outcome::Wrong);
    assert_eq!(score(&f, &r, "不知道").outcome, Outcome::Unparsed);
}

/// A long deliberation: `n` sentences that weigh options without deciding.
fn deliberation(n: usize) -> String {
    "考虑到患者的症状与检查结果，需要综合判断各选项的可能性。".repeat(n)
}

#[test]
fn the_last_decisive_statement_wins() {
    let cases: &[(&str, Option<&str>)] = &[
        // Quoted examples and restated instructions are not decisions.
        ("示例里“答：<E>”。对于这个题，选D。", Some("D")),
        ("题目要求“填写到<>中”，所以输出<C>", Some("C")),
        ("按照要求，例如<A>这样的格式。本题答案：B", Some("B")),
        ("在示例中，示例的答案是<E>，所以这里也选D", Some("D")),
        ("「答：<E>」是示例。\n\n<D>", Some("D")),
        // Bare 选 / 输出 are decisions, and a later one beats an earlier one.
        ("答案是C。所以最终选D。", Some("D")),
        ("所以输出D", Some("D")),
        ("最终选择D", Some("D")),
        ("答案为D", Some("D")),
        ("故选D", Some("D")),
        ("The answer is D", Some("D")),
        ("可能是<A>……不对，应该是<C>", Some("C")),
        ("<C>\n\n再看题干，排除C，故选D。", Some("D")),
        ("分析完毕。\n\n**D**", Some("D")),
        ("\\boxed{B}", Some("B")),
        // Negated, conditional or asked statements are not decisions.
        ("不选A，答案是<C>", Some("C")),
        ("答案是C，不是<A>", Some("C")),
        ("如果选A，就会延误治疗。故选E", Some("E")),
        ("选A还是E？最终答案：E", Some("E")),
        // An explanation that judges statements does not override the answer.
        (
            "答案：D\n\n解析：A项正确，B项正确，C项正确，D项错误。",
            Some("D"),
        ),
        // Angle brackets after a restated example still win.
        (
            "根据题目要求，正确答案的序号是B，需填入<>中。\n\n<B>",
            Some("B"),
        ),
        ("D<|role_end|>", Some("D")),
    ];
    check(&exam(), false, cases);
}

#[test]
fn undecided_or_cut_off_answers_are_not_read() {
    let review = "A. 争取保守治疗\nB. 病情无明显加重，可继续观察\nC. 病情稳定，择期手术\nD. 术前准备后紧急经胸手术\nE. 术前准备后紧急经腹手术\n还需要再想想";
    let reopened = "答案是C。\n\n不过还需要再想想，D也有可能。";
    let trace_cut = format!(
        "首先分析各选项。{}所以我选A。\n\n但还有D需要考虑，{}患者的胸腔",
        deliberation(20),
        deliberation(20)
    );
    let trace_mid = format!("A项可能，{}而D项", deliberation(40));
    let answer_first_cut = format!("答案：D\n\n解析：{}胸腔闭式引流", deliberation(40));
    let trace_decided = format!("{}综上，最终选D。", deliberation(40));
    let discussed = format!(
        "{}其中C项提到的择期手术并不合适，需要结合病情。",
        deliberation(3)
    );
    let cases: Vec<(&str, Option<&str>)> = vec![
        (review, None),
        (reopened, None),
        (&trace_cut, None),
        (&trace_mid, None),
        (&discussed, None),
        // Cut off after an opening decision it never changed: read.
        (&answer_first_cut, Some("D")),
        // A long trace that ends by deciding: read.
        (&trace_decided, Some("D")),
    ];
    check(&exam(), false, &cases);
    // The same review for a multiple-choice question is not "all of them".
    let review =
        "A. 宜进行治疗药物监测\nB. 半衰期短\nC. 主要经肝脏代谢\nD. 蛋白结合率高\n还需要再想想";
    check(&tacrolimus(), true, &[(review, None)]);
    let all = "A. 宜进行治疗药物监测\nB. 半衰期短\nC. 主要经肝脏代谢\nD. 蛋白结合率高";
    check(&tacrolimus(), true, &[(all, None)]);
}

#[test]
fn several_brackets_on_one_answer_line_are_one_multi_select() {
    let cases: &[(&str, Option<&str>)] = &[
        ("<A><C>", Some("AC")),
        ("<A>、<C>、<D>", Some("ACD")),
        ("答：<A>, <D>", Some("AD")),
        ("<A>\n<C>", Some("AC")),
        ("<A,B,C>", Some("ABC")),
        ("<ABC>", Some("ABC")),
        // On different lines with prose between: the last decision wins.
        ("初步考虑<A>。\n\n复核后，答案：<C><D>", Some("CD")),
        ("先选<A>，但A不对，应为<D>", Some("D")),
        ("**A**、**C**", Some("AC")),
    ];
    check(&tacrolimus(), true, cases);
}

#[test]
fn explanations_after_a_decision_do_not_take_it_back() {
    let long_then_answer = format!("{}\n最终答案：D 术前准备后紧急经胸手术", deliberation(40));
    let cases: Vec<(&str, Option<&str>)> = vec![
        (
            "The answer is D. Patients should wait 2 weeks before surgery.",
            Some("D"),
        ),
        ("答案：C\n\n注：如需进一步确认，请结合临床。", Some("C")),
        (
            "正确答案是 D。\n\n**解析**：\n- A 错误\n- B 错误\n- C 错误\n- D 正确",
            Some("D"),
        ),
        (
            "答案：B\n\n选项分析：\n选项A：不妥。\n选项C：不妥。",
            Some("B"),
        ),
        ("答案不是A，而是C", Some("C")),
        ("The answer is C. Wait, option E fits better.", None),
        (&long_then_answer, Some("D")),
    ];
    check(&exam(), false, &cases);
}

#[test]
fn a_trace_that_decides_and_goes_on_is_not_read_when_cut() {
    // Cut a few words after deciding: where the cut fell the trace had not
    // given its answer (a person may still guess A; the rule does not).
    let justifying = format!(
        "{}所以，我认为正确选项是A，因为其他选项都是可能的，而A不是，因为它根本",
        deliberation(40)
    );
    // Cut while writing a new conclusion: undecided.
    let concluding = format!(
        "{}对于这个，我选D，因为病情危重。\n\n最终，我找到一个在",
        deliberation(40)
    );
    // Cut long after a decision, deep in new deliberation: undecided.
    let wandered = format!(
        "{}为了决定，我选E。{}在另一个题里",
        deliberation(40),
        deliberation(20)
    );
    // A tentative choice is no decision.
    let tentative = format!("{}所以可能选A，因为肝硬化常见。\n\n在", deliberation(40));
    let cases: Vec<(&str, Option<&str>)> = vec![
        (&justifying, None),
        (&concluding, None),
        (&wandered, None),
        (&tentative, None),
        ("在示例中选了E，so perhaps for this, 也选E.", None),
        // Decided, then ends on a tentative statement: still open.
        ("我决定：输出E。\n\n或许对于这个题，可能选D。", None),
        ("答案：C。\n\n选C还是D？", None),
        // A hedge word qualifying something else is no hedge.
        ("肝脾破裂可能，应紧急手术，选E", Some("E")),
        ("可能是<A>……不对，应该是<C>", Some("C")),
    ];
    check(&exam(), false, &cases);
}

#[test]
fn more_ways_of_concluding() {
    let cases: &[(&str, Option<&str>)] = &[
        ("**Answer: C**", Some("C")),
        ("Final answer: **C**", Some("C")),
        ("**Answer:** B", Some("B")),
        ("答案：**C**", Some("C")),
        ("故本题选 C 项。", Some("C")),
        ("应选择C选项。", Some("C")),
        ("综上所述，本题答案为 **B**。", Some("B")),
        ("Answer: B) 病情无明显加重", Some("B")),
        ("Option B.", Some("B")),
        ("B is the correct answer.", Some("B")),
        ("选项B", Some("B")),
        ("我的答案是：C（病情稳定，择期手术）", Some("C")),
        ("最终答案：<C>", Some("C")),
        // Discussing letters without deciding.
        (
            "A项过于保守，B项观察不妥，C项也不合适，需要进一步分析。",
            None,
        ),
    ];
    check(&exam(), false, cases);
}

#[test]
fn multi_select_written_one_bracket_per_line() {
    let listed = "<A> 治疗窗窄，宜监测血药浓度\n<C> 经CYP3A4代谢\n<D> 蛋白结合率高";
    check(&tacrolimus(), true, &[(listed, Some("ACD"))]);
    // For single choice, brackets on several lines are a change of mind.
    check(
        &exam(),
        false,
        &[("<A> 保守？\n<D> 不，应紧急经胸手术", Some("D"))],
    );
}

#[test]
fn english_chains_of_thought() {
    let cases: &[(&str, Option<&str>)] = &[
        (
            "Let's think step by step. Option A is unlikely. Therefore, the answer is (B).",
            Some("B"),
        ),
        ("**Answer: (C) Iron deficiency anaemia**", Some("C")),
        (
            "The correct answer is B. Option A is incorrect because the level is normal.",
            Some("B"),
        ),
        ("I would choose option D.", Some("D")),
        ("So the answer would be C.", Some("C")),
        (
            "The answer is C. However, some might argue for B.",
            Some("C"),
        ),
        ("Hmm, A or C? Let me reconsider the thyroid findings.", None),
    ];
    check(&english(), false, cases);
}
