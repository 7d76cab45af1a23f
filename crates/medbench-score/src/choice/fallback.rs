//! The last-resort readings, used only when an answer has no decisive
//! statement at all: lines that are option lines and nothing else, the
//! option's text instead of its label, and a lone label letter at the end.
//! Each is restricted so that an answer which reviews the options, or merely
//! discusses some letters, is not read as choosing them.

use super::group::Labels;
use crate::text::{is_cjk, normalize, to_half_width};
use medbench_core::Choice;
use regex::Regex;
use std::collections::BTreeSet;
use std::sync::LazyLock;

fn union(sets: Vec<Vec<String>>) -> Vec<String> {
    let all: BTreeSet<String> = sets.into_iter().flatten().collect();
    all.into_iter().collect()
}

/// Compact form for comparing texts: normalised, punctuation and spaces removed.
fn compact(s: &str) -> String {
    normalize(s)
        .chars()
        .filter(|c| c.is_alphanumeric() || is_cjk(*c))
        .collect()
}

/// Tier 5b: lines `E. text` / `E、text` / `E) text`, when the answer is
/// nothing but such lines (a first line ending in a colon aside) and does
/// not list every option: a list of all options, or option lines among
/// other prose, is a review, not an answer.
pub(super) fn by_leading_lines(
    t: &str,
    lab: &Labels,
    options: &[Choice],
    multiple: bool,
) -> Option<Vec<String>> {
    static LEAD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"^\s*(?:[-*>]\s*)?\(?([A-Z])\s*([.、:)]|\s)\s*(\S.*)$").unwrap()
    });
    let mut lines: Vec<&str> = t.lines().filter(|l| !l.trim().is_empty()).collect();
    if lines.len() > 1 && lines[0].trim_end().ends_with([':', '：']) {
        lines.remove(0);
    }
    let mut found = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let c = LEAD.captures(line)?;
        let (l, delim, rest) = (c[1].to_string(), &c[2], &c[3]);
        let english_word =
            delim.trim().is_empty() && rest.starts_with(|c: char| c.is_ascii_alphabetic());
        if !lab.labels.contains(&l) || english_word {
            return None;
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
    if lab.labels.len() >= 3 && distinct.len() == lab.labels.len() {
        return None;
    }
    if multiple {
        (!found.is_empty() && found.iter().all(|f| f.2))
            .then(|| union(found.into_iter().map(|f| vec![f.1]).collect()))
    } else if found.len() == 1 && found.iter().any(|(i, _, ok)| *i == 0 || *ok) {
        Some(vec![found[0].1.clone()])
    } else {
        None
    }
}

/// Tier 6: the option's text instead of its label: the answer (or, for
/// multiple choice, each of its pieces) equals an option text; or, for single
/// choice, a short one-line answer (at most 120 characters, and at most 30
/// more than the longest option text) contains exactly one option text and
/// ends with it.
pub(super) fn by_option_text(t: &str, options: &[Choice], multiple: bool) -> Option<Vec<String>> {
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
    if t.contains('\n') || t.chars().count() > 120 {
        return None;
    }
    // Not much more than the option text: an explanation that mentions an
    // option is not an answer naming it.
    let longest = options
        .iter()
        .map(|o| o.text.chars().count())
        .max()
        .unwrap_or(0);
    if t.chars().count() > longest + 30 {
        return None;
    }
    let whole = compact(t);
    let hits: Vec<&(String, String)> = texts
        .iter()
        .filter(|(_, c)| c.chars().count() >= 2 && whole.contains(c.as_str()))
        .collect();
    let maximal: Vec<&(String, String)> = hits
        .iter()
        .filter(|(_, c)| !hits.iter().any(|(_, o)| o != c && o.contains(c.as_str())))
        .copied()
        .collect();
    let labels: BTreeSet<&String> = maximal.iter().map(|(l, _)| l).collect();
    // The option text closes the answer (`应选择术前准备后紧急经腹手术。`);
    // a cut explanation that mentions it on the way is not an answer.
    match maximal.as_slice() {
        [(l, c)] if labels.len() == 1 && whole.ends_with(c.as_str()) => Some(vec![l.clone()]),
        _ => None,
    }
}

/// Tier 7: a lone upper-case label token (`根据题意，D`), when there is
/// exactly one distinct such label and it either closes the answer (only
/// punctuation or brackets after it) or the whole answer is short (at most
/// 40 characters). A letter discussed in the middle of prose is not a choice.
pub(super) fn by_lone_token(t: &str, lab: &Labels) -> Option<Vec<String>> {
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
    if found.len() != 1 {
        return None;
    }
    let short = chars.len() <= 40;
    let closes = chars
        .iter()
        .rev()
        .find(|c| !c.is_whitespace() && !".。!！)）]】>》\"'”’*`~".contains(**c))
        .is_some_and(|c| found.contains(&c.to_string()));
    (short || closes).then(|| found.into_iter().collect())
}
