//! Word-like answers: yes / no / maybe, short answers, label sets and intents.

use crate::text::{normalize, to_half_width};
use crate::{Score, extract};
use medbench_core::YesNoMaybe;
use medbench_core::label as core_label;
use regex::Regex;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::sync::LazyLock;

/// Words that mean yes / no / maybe, longest first within each group so that
/// `不确定` is not read as `不`.
const YES_NO_WORDS: &[(&str, YesNoMaybe)] = &[
    ("不确定", YesNoMaybe::Maybe),
    ("无法确定", YesNoMaybe::Maybe),
    ("不一定", YesNoMaybe::Maybe),
    ("可能", YesNoMaybe::Maybe),
    ("也许", YesNoMaybe::Maybe),
    ("maybe", YesNoMaybe::Maybe),
    ("possibly", YesNoMaybe::Maybe),
    ("uncertain", YesNoMaybe::Maybe),
    ("不是", YesNoMaybe::No),
    ("不对", YesNoMaybe::No),
    ("错误", YesNoMaybe::No),
    ("否", YesNoMaybe::No),
    ("不", YesNoMaybe::No),
    ("no", YesNoMaybe::No),
    ("false", YesNoMaybe::No),
    ("是的", YesNoMaybe::Yes),
    ("正确", YesNoMaybe::Yes),
    ("是", YesNoMaybe::Yes),
    ("对", YesNoMaybe::Yes),
    ("yes", YesNoMaybe::Yes),
    ("true", YesNoMaybe::Yes),
];

/// Answer markers stripped from the front of a line: `答案：`, `Answer:`, `结论是`, ….
static LEAD_MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^\s*(?:\*\*)?(?:最终答案|正确答案|答案|结论|回答|答|final answer|the answer|answer)(?:\*\*)?\s*(?:is|是|为)?\s*[:：]?\s*(?:\*\*)?\s*")
        .unwrap()
});

/// Strip a leading answer marker and surrounding wrappers (`**`, quotes, brackets).
fn strip_wrappers(s: &str) -> String {
    let s = LEAD_MARKER.replace(s.trim(), "");
    s.trim_matches(|c: char| c.is_whitespace() || "*\"'“”‘’`<>()[]【】「」《》".contains(c))
        .to_owned()
}

/// The yes/no/maybe word `s` starts with, if what follows it is a boundary.
fn leading_yes_no(s: &str) -> Option<YesNoMaybe> {
    let s = normalize(&strip_wrappers(s));
    YES_NO_WORDS.iter().find_map(|(w, v)| {
        let rest = s.strip_prefix(w)?;
        let boundary = rest
            .chars()
            .next()
            .is_none_or(|c| !c.is_alphanumeric() || c.is_whitespace());
        boundary.then_some(*v)
    })
}

/// Read yes / no / maybe: the answer (or its first line, or what follows an
/// answer marker) starts with one of the words in Chinese or English; else
/// exactly one distinct English `yes`/`no`/`maybe` word occurs in the text.
pub fn extract_yes_no(answer: &str) -> Option<YesNoMaybe> {
    let t = to_half_width(&extract::clean_answer(answer));
    if t.trim().is_empty() {
        return None;
    }
    static MARK: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)(?:最终答案|答案|结论|final answer|answer)").unwrap());
    if let Some(m) = MARK.find_iter(&t).last()
        && let Some(v) = leading_yes_no(&t[m.start()..])
    {
        return Some(v);
    }
    if let Some(v) = t
        .lines()
        .find(|l| !l.trim().is_empty())
        .and_then(leading_yes_no)
    {
        return Some(v);
    }
    static WORD: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\b(yes|no|maybe)\b").unwrap());
    let found: BTreeSet<String> = WORD
        .find_iter(&t)
        .map(|m| m.as_str().to_lowercase())
        .collect();
    match found.len() {
        1 => leading_yes_no(found.first()?),
        _ => None,
    }
}

/// Yes / no / maybe: accuracy.
pub fn score_yes_no(want: YesNoMaybe, answer: &str) -> Score {
    match extract_yes_no(answer) {
        None => Score::unparsed("no yes/no/maybe found"),
        Some(v) if v == want => Score::correct(Some(json!(v))),
        Some(v) => Score::wrong(Some(json!(v)), None),
    }
}

/// Short answer / cloze: Correct when the normalised answer equals a
/// normalised accepted answer — the whole answer, the answer with a leading
/// `答案：`/`Answer:` marker and wrappers removed, or its last non-empty line
/// treated the same way. Anything else is Wrong; an empty answer is Unparsed.
pub fn score_short_answer(accepted: &[String], answer: &str) -> Score {
    if normalize(answer).is_empty() {
        return Score::unparsed("empty answer");
    }
    let accepted: Vec<String> = accepted.iter().map(|a| normalize(a)).collect();
    let mut candidates = vec![normalize(answer), normalize(&strip_wrappers(answer))];
    if let Some(last) = answer.lines().rev().find(|l| !l.trim().is_empty()) {
        candidates.push(normalize(&strip_wrappers(last)));
    }
    let shown = json!(candidates[1]);
    match candidates
        .iter()
        .find(|c| !c.is_empty() && accepted.contains(c))
    {
        Some(c) => Score::correct(Some(json!(c))),
        None => Score::wrong(Some(shown), None),
    }
}

/// Answers that mean "no labels at all".
const NONE_WORDS: &[&str] = &["无问题", "无", "没有", "无缺陷", "none", "无异常", "[]"];

/// The comparison key of one label: [`medbench_core::label::normalize_label`]
/// (the same normaliser the importer uses), then [`normalize`] (lower case,
/// spaces next to CJK removed), with a leading answer marker and wrappers
/// removed. A reference label and an answer label written the same way,
/// give or take full-width forms, spaces and quotes, always get the same key.
pub fn label_key(s: &str) -> String {
    normalize(&core_label::normalize_label(&strip_wrappers(
        &core_label::normalize_label(s),
    )))
}

/// Split a label-set answer into label keys ([`label_key`]): a JSON list of
/// strings if there is one, else the text split by
/// [`medbench_core::label::split_labels`] (`、 , ， ; ； | ｜` and line breaks),
/// with list bullets, a leading `答案：` marker and anything up to a colon
/// removed. A piece with `/` is split on it too, unless it is one of the
/// `known` labels whole. `无问题` / `无` / `[]` (alone) mean the empty set.
pub fn split_labels_known(answer: &str, known: &[String]) -> Vec<String> {
    if let Some(Value::Array(a)) = extract::find_json(answer, extract::JsonKind::Array)
        && a.iter().all(Value::is_string)
    {
        return dedup(a.iter().filter_map(|v| v.as_str()).map(label_key));
    }
    static BULLET: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"^\s*(?:[-*•]|\d+[.、)])\s*").unwrap());
    let t = to_half_width(answer);
    let mut pieces = Vec::new();
    for line in t.lines() {
        let line = BULLET.replace(line, "");
        let line = LEAD_MARKER.replace(&line, "").into_owned();
        // "需要转诊的科室为: 心内科" → what follows the last colon.
        let line = line.rsplit(':').next().unwrap_or("").to_owned();
        for piece in core_label::split_labels(&line) {
            let key = label_key(&piece);
            if piece.contains('/') && !known.contains(&key) {
                pieces.extend(piece.split('/').map(label_key));
            } else {
                pieces.push(key);
            }
        }
    }
    let labels = dedup(pieces.into_iter());
    if labels.len() == 1 && NONE_WORDS.contains(&labels[0].as_str()) {
        return Vec::new();
    }
    if labels.is_empty() && t.trim() == "[]" {
        return Vec::new();
    }
    labels
}

/// [`split_labels_known`] with no known labels.
pub fn split_labels(answer: &str) -> Vec<String> {
    split_labels_known(answer, &[])
}

fn dedup(it: impl Iterator<Item = String>) -> Vec<String> {
    let set: BTreeSet<String> = it.filter(|s| !s.is_empty()).collect();
    set.into_iter().collect()
}

/// With a closed vocabulary: labels of the vocabulary named in the text,
/// longest first, each occurrence used once.
fn vocab_mentions(vocab: &[String], answer: &str) -> Vec<String> {
    let mut text = normalize(&core_label::normalize_label(answer));
    let mut v: Vec<(String, &String)> = vocab.iter().map(|l| (label_key(l), l)).collect();
    v.sort_by_key(|(n, _)| std::cmp::Reverse(n.chars().count()));
    let mut out = Vec::new();
    for (n, _) in v {
        if !n.is_empty() && text.contains(&n) {
            text = text.replace(&n, "\u{1}");
            out.push(n);
        }
    }
    dedup(out.into_iter())
}

/// Label set: set-F1 between the given and the right labels (both empty
/// scores 1). With a closed vocabulary, when some pieces are not vocabulary
/// labels, the vocabulary labels mentioned anywhere in the answer are used
/// instead (if there are any). An empty answer is Unparsed.
pub fn score_label_set(vocab: &[String], want: &[String], answer: &str) -> Score {
    if answer.trim().is_empty() {
        return Score::unparsed("empty answer");
    }
    // A reference label written with separators inside (`A｜B`) is several labels.
    let want = dedup(
        want.iter()
            .flat_map(|w| core_label::split_labels(w))
            .map(|w| label_key(&w)),
    );
    let vocab_keys: Vec<String> = vocab.iter().map(|l| label_key(l)).collect();
    let known: Vec<String> = vocab_keys.iter().chain(&want).cloned().collect();
    let mut got = split_labels_known(answer, &known);
    if !vocab.is_empty() && got.iter().any(|g| !vocab_keys.contains(g)) {
        let mentioned = vocab_mentions(vocab, answer);
        if !mentioned.is_empty() {
            got = mentioned;
        }
    }
    set_f1_score(&got, &want)
}

/// Set-F1 as a score; both sets empty scores 1.
pub(crate) fn set_f1_score(got: &[String], want: &[String]) -> Score {
    let hit = got.iter().filter(|g| want.contains(g)).count();
    let f1 = if got.is_empty() && want.is_empty() {
        1.0
    } else {
        2.0 * hit as f64 / (got.len() + want.len()) as f64
    };
    Score::graded(
        f1,
        Some(json!(got)),
        Some(format!(
            "hit={hit} given={} expected={} f1={f1:.4}",
            got.len(),
            want.len()
        )),
    )
}

/// Read an intent label: the normalised answer (marker and wrappers removed)
/// equals one label, else the answer contains exactly one label (labels that
/// are part of a longer mentioned label do not count).
pub fn extract_intent(vocab: &[String], answer: &str) -> Option<String> {
    let whole = label_key(&extract::clean_answer(answer));
    if whole.is_empty() {
        return None;
    }
    if let Some(l) = vocab.iter().find(|l| label_key(l) == whole) {
        return Some(l.clone());
    }
    let hits: Vec<(&String, String)> = vocab
        .iter()
        .map(|l| (l, label_key(l)))
        .filter(|(_, n)| !n.is_empty() && whole.contains(n.as_str()))
        .collect();
    let maximal: Vec<&String> = hits
        .iter()
        .filter(|(_, n)| !hits.iter().any(|(_, o)| o != n && o.contains(n.as_str())))
        .map(|(l, _)| *l)
        .collect();
    match maximal.as_slice() {
        [one] => Some((*one).clone()),
        _ => None,
    }
}

/// Intent: label accuracy after normalisation ([`label_key`] on both sides). With no vocabulary (or an
/// answer outside it) the whole normalised answer is compared to the label.
pub fn score_intent(vocab: &[String], want: &str, answer: &str) -> Score {
    let got = match extract_intent(vocab, answer) {
        Some(l) => label_key(&l),
        None if vocab.is_empty() => label_key(answer),
        None => return Score::unparsed("no intent label found"),
    };
    if got.is_empty() {
        return Score::unparsed("empty answer");
    }
    if got == label_key(want) {
        Score::correct(Some(json!(got)))
    } else {
        Score::wrong(Some(json!(got)), None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Outcome;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn medqc_answer_identical_to_reference_scores_one() {
        let vocab = strings(&["伪影位于肺野外", "肩胛骨位于肺野内", "体位不正"]);
        // The reference as imported, and as it might still be stored whole.
        for want in [
            strings(&["伪影位于肺野外", "肩胛骨位于肺野内"]),
            strings(&["伪影位于肺野外｜肩胛骨位于肺野内"]),
        ] {
            for answer in [
                "伪影位于肺野外｜肩胛骨位于肺野内",
                "伪影位于肺野外|肩胛骨位于肺野内",
                "伪影位于肺野外 | 肩胛骨位于肺野内。",
            ] {
                let s = score_label_set(&vocab, &want, answer);
                assert_eq!(s.outcome, Outcome::Correct, "{want:?} vs {answer}");
            }
        }
    }

    #[test]
    fn medhg_labels_with_full_width_brackets_score_one() {
        let vocab = strings(&["睡眠障碍（失眠）门诊", "精神科", "心理咨询"]);
        let want = strings(&["睡眠障碍（失眠）门诊", "精神科"]);
        for answer in [
            "睡眠障碍（失眠）门诊、精神科",
            "睡眠障碍(失眠)门诊、精神科",
            "“睡眠障碍（失眠）门诊”，精神科。",
        ] {
            let s = score_label_set(&vocab, &want, answer);
            assert_eq!((s.outcome, s.value), (Outcome::Correct, 1.0), "{answer}");
        }
        // Half right is still half right.
        let s = score_label_set(&vocab, &want, "精神科、心理咨询");
        assert_eq!(s.outcome, Outcome::Partial);
    }

    #[test]
    fn a_slash_inside_a_known_label_is_not_a_separator() {
        let want = strings(&["肾脏/肾上腺外科"]);
        let s = score_label_set(&[], &want, "肾脏/肾上腺外科");
        assert_eq!(s.outcome, Outcome::Correct);
        let s = score_label_set(&[], &strings(&["主诉不规范"]), "主诉不规范/诊断依据不足");
        assert_eq!(s.outcome, Outcome::Partial);
    }

    #[test]
    fn empty_list_means_no_labels() {
        assert_eq!(score_label_set(&[], &[], "[]").outcome, Outcome::Correct);
        assert_eq!(
            score_label_set(&[], &[], "无问题。").outcome,
            Outcome::Correct
        );
    }

    #[test]
    fn intent_labels_fold_the_same_way() {
        let vocab = strings(&["预约挂号（专家）", "费用查询"]);
        let s = score_intent(&vocab, "预约挂号（专家）", "预约挂号(专家)");
        assert_eq!(s.outcome, Outcome::Correct);
        let s = score_intent(&vocab, "预约挂号（专家）", "“预约挂号（专家）”。");
        assert_eq!(s.outcome, Outcome::Correct);
    }
}
