//! Reading option labels out of what models write, and scoring single and
//! multiple choice.
//!
//! [`extract_choices`] tries these readings in order and stops at the first
//! that yields labels (the answer is first folded to half-width, so `Ｅ`, `（`
//! and `：` read as `E`, `(` and `:`):
//!
//! 1. angle brackets: `<E>`, `<A><C>`, `<A,C>` (the union of all of them);
//! 2. an explicit marker, the last one wins: `答案：E`, `答案是E。`,
//!    `正确答案为 (B)`, `故选C`, `The answer is (E).`, `Answer: b`,
//!    or `C is correct` / `C选项正确`;
//! 3. bold: `**E**`, `**E. 术前准备…**`;
//! 4. the whole answer is a label group: `E`, `E.`, `(E)`, `ABC`, `A,C`,
//!    `A、C`, `A C`, `a`, `acd`;
//! 5. the last line that is only a label group; then the first line starting
//!    `E. text` (only one such label, or texts that match the options);
//! 6. the option's text instead of its label: equal after normalisation, or
//!    (single choice) the answer contains exactly one option text;
//! 7. exactly one lone upper-case label token in the text (`…所以选D`).
//!
//! Reasoning blocks (`<think>…</think>`) are dropped first. A label group
//! ends at a line break except when the whole answer or a whole line is read.
//!
//! Anything else is unreadable (`None`): empty text, refusals, letters that
//! are not option labels, several letters with no marker.

mod group;

use crate::text::{is_cjk, normalize, to_half_width};
use crate::{Score, extract};
use group::{Labels, parse_whole, scan_group};
use medbench_core::Choice;
use regex::Regex;
use serde_json::json;
use std::collections::BTreeSet;
use std::sync::LazyLock;

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(最终答案|正确答案|参考答案|标准答案|答案|正确选项|正确的选项|最佳选项|故选|应选|选择|答|answers?|correct option|best option|correct choice|best choice)",
    )
    .unwrap()
});
static CONNECTOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i:\s|\*|:|=|-|】|\]|\)|是|为|应该|应当|应|就|选|(?:is|are|would|should|be|the|option|options|choice|letter)\b)*")
        .unwrap()
});
static IS_CORRECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^A-Za-z0-9])([A-Z])(?:\)|选项|项)?\s*(?:(?:is|是|为)\s*)?(?:the\s+)?(?:correct|right|best|正确|最佳|最合适)")
        .unwrap()
});

/// Tier 2: the labels after the last explicit marker.
fn by_marker(t: &str, lab: &Labels) -> Option<Vec<String>> {
    let mut best: Option<(usize, Vec<String>)> = None;
    for m in MARKER.find_iter(t) {
        let after = &t[m.end()..];
        let conn = CONNECTOR.find(after).map_or(0, |c| c.end());
        let lower_ok = !m.as_str().is_ascii() || after[..conn].contains(':');
        if let Some((got, _)) = scan_group(&after[conn..], lab, lower_ok, false) {
            best = Some((m.start(), got));
        }
    }
    for c in IS_CORRECT.captures_iter(t) {
        let g = c.get(1).unwrap();
        if let Some(got) = lab.lookup(g.as_str(), false)
            && best.as_ref().is_none_or(|(p, _)| g.start() > *p)
        {
            best = Some((g.start(), got));
        }
    }
    best.map(|(_, g)| g)
}

fn union(sets: Vec<Vec<String>>) -> Vec<String> {
    let all: BTreeSet<String> = sets.into_iter().flatten().collect();
    all.into_iter().collect()
}

/// Tier 3: `**E**` (pure) or `**E. text**` (leading label).
fn by_bold(t: &str, lab: &Labels, multiple: bool) -> Option<Vec<String>> {
    static BOLD: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\*\*([^*\n]{1,80}?)\*\*").unwrap());
    let mut pure = Vec::new();
    let mut leading = Vec::new();
    for c in BOLD.captures_iter(t) {
        let inner = c.get(1).unwrap().as_str();
        if let Some(g) = parse_whole(inner, lab) {
            pure.push(g);
        } else if let Some((g, end)) = scan_group(inner.trim(), lab, false, false) {
            let next = inner.trim()[end..].chars().next();
            if next.is_some_and(|c| ".:、)".contains(c)) {
                leading.push(g);
            }
        }
    }
    let sets = if pure.is_empty() { leading } else { pure };
    let distinct: BTreeSet<Vec<String>> = sets.iter().cloned().collect();
    match distinct.len() {
        0 => None,
        1 => distinct.into_iter().next(),
        _ if multiple => Some(union(sets)),
        _ => None,
    }
}

/// Compact form for comparing texts: normalised, punctuation and spaces removed.
fn compact(s: &str) -> String {
    normalize(s)
        .chars()
        .filter(|c| c.is_alphanumeric() || is_cjk(*c))
        .collect()
}

/// Tier 5b: lines `E. text` / `E、text` / `E) text`.
fn by_leading_lines(
    t: &str,
    lab: &Labels,
    options: &[Choice],
    multiple: bool,
) -> Option<Vec<String>> {
    static LEAD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*(?:[-*>]\s*)?\(?([A-Z])\s*([.、:)]|\s)\s*(\S.*)$").unwrap()
    });
    let lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some(c) = LEAD.captures(line) else {
            continue;
        };
        let (l, delim, rest) = (c[1].to_string(), &c[2], &c[3]);
        let english_word =
            delim.trim().is_empty() && rest.starts_with(|c: char| c.is_ascii_alphabetic());
        if !lab.labels.contains(&l) || english_word {
            continue;
        }
        let rest_c = compact(rest);
        let text_ok = options
            .iter()
            .find(|o| to_half_width(o.label.trim()) == l)
            .map(|o| compact(&o.text))
            .is_some_and(|o| {
                !o.is_empty()
                    && !rest_c.is_empty()
                    && (rest_c.starts_with(&o) || o.starts_with(&rest_c))
            });
        found.push((i, l, text_ok));
    }
    let distinct: BTreeSet<&String> = found.iter().map(|(_, l, _)| l).collect();
    if multiple {
        (!found.is_empty() && found.iter().all(|f| f.2))
            .then(|| union(found.into_iter().map(|f| vec![f.1]).collect()))
    } else if distinct.len() == 1 && found.iter().any(|(i, _, ok)| *i == 0 || *ok) {
        Some(vec![found[0].1.clone()])
    } else {
        None
    }
}

/// Tier 6: the option's text instead of its label.
fn by_option_text(t: &str, options: &[Choice], multiple: bool) -> Option<Vec<String>> {
    let texts: Vec<(String, String)> = options
        .iter()
        .map(|o| (to_half_width(o.label.trim()), compact(&o.text)))
        .filter(|(_, c)| !c.is_empty())
        .collect();
    let find_eq = |piece: &str| {
        let p = compact(piece);
        texts.iter().find(|(_, c)| *c == p).map(|(l, _)| l.clone())
    };
    if let Some(l) = find_eq(t) {
        return Some(vec![l]);
    }
    if multiple {
        let pieces: Vec<&str> = t
            .split(|c: char| ",、;\n/".contains(c))
            .filter(|p| !p.trim().is_empty())
            .collect();
        let got: Option<Vec<String>> = pieces.iter().map(|p| find_eq(p)).collect();
        return got.filter(|g| g.len() > 1).map(|g| union(vec![g]));
    }
    let whole = compact(t);
    let hits: Vec<&(String, String)> = texts
        .iter()
        .filter(|(_, c)| c.chars().count() >= 2 && whole.contains(c.as_str()))
        .collect();
    let maximal: BTreeSet<&String> = hits
        .iter()
        .filter(|(_, c)| !hits.iter().any(|(_, o)| o != c && o.contains(c.as_str())))
        .map(|(l, _)| l)
        .collect();
    (maximal.len() == 1).then(|| maximal.into_iter().cloned().collect())
}

/// Tier 7: lone upper-case label tokens (`…因此选D。`), when there is exactly one.
fn by_lone_token(t: &str, lab: &Labels) -> Option<Vec<String>> {
    let chars: Vec<char> = t.chars().collect();
    let mut found = BTreeSet::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_ascii_uppercase() || !lab.labels.contains(&c.to_string()) {
            continue;
        }
        let prev = i.checked_sub(1).map(|p| chars[p]);
        let next = chars.get(i + 1).copied();
        let glued =
            |x: Option<char>| x.is_some_and(|x| x.is_ascii_alphanumeric() || "'’-_".contains(x));
        // "A patient", "B is…": an English word, not an answer.
        let before_word = next.is_some_and(char::is_whitespace)
            && chars.get(i + 2).is_some_and(|x| x.is_ascii_lowercase());
        // "B超", "A型血", "B族维生素": a medical term, not an answer.
        let term = next.is_some_and(|x| "超型族组级类".contains(x));
        if !glued(prev) && !glued(next) && !before_word && !term {
            found.insert(c.to_string());
        }
    }
    (found.len() == 1).then(|| found.into_iter().collect())
}

/// Read the option labels an answer gives, sorted and without duplicates.
/// `None` when the answer cannot be read. With `multiple == false` an answer
/// that explicitly names several options (`答案：AB`) still returns them all,
/// so a hedged single-choice answer is read (and scored wrong), while free
/// text that merely mentions several letters is unreadable.
pub fn extract_choices(answer: &str, options: &[Choice], multiple: bool) -> Option<Vec<String>> {
    let lab = Labels::new(options);
    let t = to_half_width(&extract::clean_answer(answer));
    let t = t.trim();
    if t.is_empty() || lab.labels.is_empty() {
        return None;
    }
    // 1. angle brackets.
    static ANGLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<([^<>\n]{1,24})>").unwrap());
    let html = t.contains("</");
    let angle: Vec<Vec<String>> = ANGLE
        .captures_iter(t)
        .filter_map(|c| {
            let inner = c[1].trim();
            let g = parse_whole(inner, &lab)?;
            let lower_single = inner.chars().all(|c| c.is_ascii_lowercase()) && inner.len() == 1;
            (!(html && lower_single)).then_some(g)
        })
        .collect();
    if !angle.is_empty() {
        return Some(union(angle));
    }
    let tiers: [&dyn Fn() -> Option<Vec<String>>; 7] = [
        &|| by_marker(t, &lab),
        &|| by_bold(t, &lab, multiple),
        &|| {
            let stripped = t.trim_start_matches("选项").trim_start_matches('选');
            parse_whole(stripped, &lab)
        },
        &|| {
            t.lines().rev().find_map(|l| {
                let l = l.trim().trim_start_matches(['-', '>', '#']).trim();
                parse_whole(l, &lab)
            })
        },
        &|| by_leading_lines(t, &lab, options, multiple),
        &|| by_option_text(t, options, multiple),
        &|| by_lone_token(t, &lab),
    ];
    tiers.iter().find_map(|f| f())
}

fn labels_json(l: &[String]) -> serde_json::Value {
    json!(l)
}

/// Single choice: accuracy. Exactly the one right label is Correct; any other
/// reading (including several labels) is Wrong; no reading is Unparsed.
pub fn score_single(options: &[Choice], want: &[String], answer: &str) -> Score {
    let Some(got) = extract_choices(answer, options, false) else {
        return Score::unparsed("no option label found");
    };
    let want = sorted(want);
    let parsed = Some(labels_json(&got));
    if got == want {
        Score::correct(parsed)
    } else if got.len() > 1 {
        Score::wrong(
            parsed,
            "several options given for a single-choice question".to_owned(),
        )
    } else {
        Score::wrong(parsed, None)
    }
}

fn sorted(v: &[String]) -> Vec<String> {
    let s: BTreeSet<String> = v.iter().map(|x| to_half_width(x.trim())).collect();
    s.into_iter().collect()
}

/// Multiple choice: the exact set scores 1 (Correct); otherwise the value is
/// the set-F1 `2·|given ∩ right| / (|given| + |right|)` (Partial, or Wrong
/// when 0). The detail always says `exact=true|false`.
pub fn score_multiple(options: &[Choice], want: &[String], answer: &str) -> Score {
    let Some(got) = extract_choices(answer, options, true) else {
        return Score::unparsed("no option label found");
    };
    let want = sorted(want);
    let hit = got.iter().filter(|g| want.contains(g)).count();
    let f1 = 2.0 * hit as f64 / (got.len() + want.len()) as f64;
    let exact = got == want;
    Score::graded(
        f1,
        Some(labels_json(&got)),
        Some(format!("exact={exact} f1={f1:.4}")),
    )
}
