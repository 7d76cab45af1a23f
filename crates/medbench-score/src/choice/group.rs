//! Label groups: the option labels of a question and the scanner that reads
//! `E`, `(E)`, `A, C`, `<A><C>`, `ABC` at the start of a text.

use crate::text::to_half_width;
use medbench_core::Choice;
use std::collections::BTreeSet;

/// The option labels of one question, folded to half-width.
pub(super) struct Labels {
    pub(super) labels: Vec<String>,
    single_char: bool,
}

impl Labels {
    pub(super) fn new(options: &[Choice]) -> Labels {
        let labels: Vec<String> = options
            .iter()
            .map(|o| to_half_width(o.label.trim()))
            .collect();
        let single_char = labels.iter().all(|l| l.chars().count() == 1);
        Labels {
            labels,
            single_char,
        }
    }

    /// The labels one word stands for: a label (`E`; `e` when `lower_ok`), or a
    /// run of distinct single-character labels (`ACD`; `acd` when `lower_ok`).
    pub(super) fn lookup(&self, word: &str, lower_ok: bool) -> Option<Vec<String>> {
        if let Some(l) = self.labels.iter().find(|l| *l == word) {
            return Some(vec![l.clone()]);
        }
        if lower_ok && let Some(l) = self.labels.iter().find(|l| l.eq_ignore_ascii_case(word)) {
            return Some(vec![l.clone()]);
        }
        if self.single_char && word.chars().count() > 1 {
            let mut seen = BTreeSet::new();
            for c in word.chars() {
                let c = c.to_string();
                let found = self
                    .labels
                    .iter()
                    .find(|l| **l == c || (lower_ok && l.eq_ignore_ascii_case(&c)))?;
                if !seen.insert(found.clone()) {
                    return None;
                }
            }
            return Some(seen.into_iter().collect());
        }
        None
    }
}

const OPENERS: &[char] = &['(', '[', '<', '【', '{', '《'];
const QUOTES: &[char] = &['*', '"', '\'', '“', '‘', '`'];
const CLOSERS: &[char] = &[
    ')', ']', '>', '】', '}', '》', '*', '"', '\'', '”', '’', '`',
];
const SEPARATORS: &[&str] = &[
    ",", "、", ";", "/", "&", "+", "和", "与", "及", "或", "以及", "and", "or",
];

fn skip_while(s: &str, mut i: usize, pred: impl Fn(char) -> bool) -> usize {
    while let Some(c) = s[i..].chars().next() {
        if !pred(c) {
            break;
        }
        i += c.len_utf8();
    }
    i
}

/// Read a group of labels at the start of `s` (`(E)`, `A, C`, `<A><C>`, `ABC`,
/// `A（理由）、C`). Returns the labels and the byte index after the last one
/// read. Only with `multiline` may a later label sit on another line.
pub(super) fn scan_group(
    s: &str,
    lab: &Labels,
    lower_ok: bool,
    multiline: bool,
) -> Option<(Vec<String>, usize)> {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    let mut end = 0;
    loop {
        let first = out.is_empty();
        let ws = |c: char| c.is_whitespace() && (first || multiline || c != '\n');
        let j = skip_while(s, i, |c| ws(c) || QUOTES.contains(&c));
        let k = skip_while(s, j, |c| {
            ws(c) || OPENERS.contains(&c) || QUOTES.contains(&c)
        });
        let bracketed = s[j..k].contains(OPENERS);
        let w_end = skip_while(s, k, |c| c.is_ascii_alphanumeric());
        let word = &s[k..w_end];
        let got = if word.is_empty() {
            None
        } else {
            lab.lookup(word, lower_ok || bracketed)
        };
        let Some(got) = got else { break };
        out.extend(got);
        end = skip_while(s, w_end, |c| CLOSERS.contains(&c));
        // A short parenthetical after a label (`A（宜监测）`) is skipped.
        let p = skip_while(s, end, |c| c == ' ');
        if s[p..].starts_with('(')
            && let Some(close) = s[p..].find(')')
            && close < 90
            && !s[p..p + close].contains('\n')
            && lab.lookup(s[p + 1..p + close].trim(), true).is_none()
        {
            end = p + close + 1;
        }
        // A separator (or plain whitespace) may lead to another label.
        let ws = |c: char| c.is_whitespace() && (multiline || c != '\n');
        let mut n = skip_while(s, end, ws);
        if let Some(sep) = SEPARATORS.iter().find(|p| s[n..].starts_with(**p)) {
            n += sep.len();
        } else if n == end && !s[n..].starts_with(OPENERS) {
            break;
        }
        i = n;
    }
    if out.is_empty() {
        return None;
    }
    out.sort();
    out.dedup();
    Some((out, end))
}

/// The whole of `s` (wrappers and trailing punctuation aside) is a label group.
pub(super) fn parse_whole(s: &str, lab: &Labels) -> Option<Vec<String>> {
    let s = s
        .trim()
        .trim_end_matches(|c: char| ".,;:!?。;".contains(c) || c.is_whitespace());
    let (got, end) = scan_group(s, lab, true, true)?;
    let rest = s[end..].trim_matches(|c: char| c.is_whitespace() || ".,;:!?。、".contains(c));
    rest.is_empty().then_some(got)
}
