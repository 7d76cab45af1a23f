//! Decisive statements: where an answer commits to option labels (`<D>`,
//! `答案：D`, `选D`, `输出D`, `The answer is D`, `\boxed{D}`, a bold `**D**`
//! standing alone), with quoted examples and restated instructions masked
//! out, and the checks that leave an undecided or cut-off answer unread.

use super::group::{Labels, parse_whole, scan_group};
use regex::Regex;
use std::sync::LazyLock;

/// One place where the answer commits to labels.
#[derive(Debug, Clone)]
pub(super) struct Decision {
    /// Byte span in the (masked) text.
    pub start: usize,
    pub end: usize,
    pub labels: Vec<String>,
    /// `<X>`, a marker or bold: strong. `X is correct` / `X项正确`: weak
    /// (in an explanation it often judges a statement, not the question).
    pub strong: bool,
    /// Brackets and bold next to each other on one line form one group.
    pub kind: Kind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Angle,
    Bold,
    Marker,
    Weak,
}

/// Replace a byte span by spaces (same length, so positions stay valid).
fn blank(t: &mut String, start: usize, end: usize) {
    t.replace_range(start..end, &" ".repeat(end - start));
}

/// Mask what only restates the prompt: quoted spans (`“答：<E>”`, `"填写到<>中"`,
/// `「例如<A>」`) unless the quote holds nothing but a label group (`“D”`),
/// and clauses that cite an example (`示例的答案是<E>`, `例如<A>`,
/// `for example <B>`) unless they also speak of this question or of output.
pub(super) fn mask(t: &str, lab: &Labels) -> String {
    let mut out = t.to_owned();
    for (open, close) in [('“', '”'), ('"', '"'), ('「', '」'), ('『', '』')] {
        let mut from = 0;
        while let Some(a) = out[from..].find(open).map(|i| from + i) {
            let body_start = a + open.len_utf8();
            let Some(b) = out[body_start..].find(close).map(|i| body_start + i) else {
                break;
            };
            let inner = &out[body_start..b];
            let end = b + close.len_utf8();
            // A long "quote" is more likely a stray quote mark than a quotation.
            let quotation = !inner.contains('\n') && inner.chars().count() <= 80;
            if quotation && parse_whole(inner, lab).is_none() {
                blank(&mut out, a, end);
            }
            from = end;
        }
    }
    static EXAMPLE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)示例|例如|比如|举例|样例|范例|例子|例题|示范|e\.g\.|for example|for instance|such as|in the example").unwrap()
    });
    static THIS: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)输出|本题|这题|此题|该题|这道题|这里|这个题|this question|output").unwrap()
    });
    let clause_ends: Vec<usize> = out
        .char_indices()
        .filter(|(_, c)| "。！？!?\n；;，,".contains(*c))
        .map(|(i, _)| i)
        .collect();
    let mut spans = Vec::new();
    let mut start = 0;
    for end in clause_ends.into_iter().chain([out.len()]) {
        let clause = &out[start..end];
        // From the example word to the end of its clause: `示例的答案是<E>`
        // goes, `答案：A（例如…）` keeps its `A`.
        if let Some(m) = EXAMPLE.find(clause)
            && !THIS.is_match(clause)
        {
            spans.push((start + m.start(), end));
        }
        start = (end + 1).min(out.len());
        while !out.is_char_boundary(start) {
            start += 1;
        }
    }
    for (a, b) in spans {
        blank(&mut out, a, b);
    }
    out
}

static MARKER: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)(最终答案|正确答案|参考答案|标准答案|答案|正确选项|正确的选项|最佳选项|最终选择|优先选项|推荐选项|首选选项|最合适的选项|最适合的选项|最终选项|故选|应选|选择|而是|输出|答|选|\\boxed\{|final answer|answers?\b|correct option|best option|correct choice|best choice|\bchoose\b|\bchose\b|\bselect\b|\bpick\b|go with)",
    )
    .unwrap()
});
static CONNECTOR: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^(?i:\s|\*|:|=|-|】|\]|\)|是|为|应该|应当|应|就|选项|选|(?:is|are|would|should|be|the|option|options|choice|letter)\b)*")
        .unwrap()
});
static IS_CORRECT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?:^|[^A-Za-z0-9])([A-Z])(?:\)|选项|项)?\s*(?:(?:is|是|为)\s*)?(?:the\s+)?(?:correct|right|best|正确|最佳|最合适)")
        .unwrap()
});

/// Is the decision at `start..end` a real one? Not when negated (`不选A`,
/// `不是<A>`, `不应选A`), conditional (`如果选A`), asked (`选A还是B？`,
/// `答案是A吗`) or tentative (`所以可能选A`, `perhaps … 也选E`).
fn committed(t: &str, start: usize, end: usize) -> Verdict {
    static NEGATED: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(
            r"(?:不|没|非|别|勿|未|排除|否)(?:是|应该?|能|会|可)?\s*$|(?i:\bnot\s*$|n't\s*$)",
        )
        .unwrap()
    });
    static CONDITIONAL: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?i)如果|若|假如|假设|要是|\bif\b|\bwhether\b").unwrap());
    let seps = |c: char| "。！？!?\n；;，,".contains(c);
    let a = t[..start]
        .rfind(seps)
        .map_or(0, |i| i + t[i..].chars().next().map_or(1, char::len_utf8));
    let before = &t[a..start];
    let near: String = {
        let chars: Vec<char> = before.chars().collect();
        chars[chars.len().saturating_sub(4)..].iter().collect()
    };
    // A tentative statement (`所以可能选A`, `so perhaps for this, 也选E`) is
    // not a decision: a hedge word earlier in the same sentence, with no
    // `但` / `不对` / `but` turning away from it in between. A hedge word that ends its
    // clause qualifies something else (`肝脾破裂可能，…选E`).
    static HEDGE_WORD: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)可能|或许|也许|大概|\bperhaps\b|\bmaybe\b|\bprobably\b|\bmight\b").unwrap()
    });
    let sentence_start = t[..start]
        .rfind(['。', '！', '？', '!', '?', '\n'])
        .map_or(0, |i| i + t[i..].chars().next().map_or(1, char::len_utf8));
    let sentence = &t[sentence_start..start];
    let hedged = HEDGE_WORD.find_iter(sentence).any(|m| {
        let rest = &sentence[m.end()..];
        let qualifies_before = rest.starts_with(['，', ',', '、', '；', ';', '。']);
        let lower = rest.to_lowercase();
        let turned = [
            "但",
            "不对",
            "不过",
            "然而",
            "其实",
            "实际上",
            "but",
            "however",
            "actually",
        ]
        .iter()
        .any(|w| lower.contains(w));
        !qualifies_before && !turned
    });
    let b = t[end..].find(seps).map_or(t.len(), |i| end + i);
    let after = &t[end..b];
    let asked = t[b..].starts_with(['？', '?']) || after.contains('吗') || after.contains("还是");
    if asked || hedged {
        Verdict::Tentative
    } else if NEGATED.is_match(&near) || CONDITIONAL.is_match(before) {
        Verdict::SetAside
    } else {
        Verdict::Committed
    }
}

/// What a statement that names labels does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    /// Commits to the labels.
    Committed,
    /// Negated or conditional: says nothing about the answer.
    SetAside,
    /// Asked or hedged: the answer is still open at this point.
    Tentative,
}

/// The decisions of an answer and what was said around them.
pub(super) struct Reading {
    pub decisions: Vec<Decision>,
    /// Some statement naming labels was negated, conditional, asked or
    /// tentative: letters were discussed.
    pub set_aside: bool,
    /// Where the last asked or tentative statement ends.
    pub last_tentative: Option<usize>,
}

/// Every decision in the masked text, in order of position, whether some
/// statement was set aside (then the letters were discussed, and no fallback
/// may guess from them), and where the last tentative one ends.
pub(super) fn decisions(t: &str, lab: &Labels) -> Reading {
    let mut out = Vec::new();
    let mut set_aside = false;
    let mut last_tentative: Option<usize> = None;
    let mut committed = |t: &str, start: usize, end: usize| {
        let v = committed(t, start, end);
        set_aside |= v != Verdict::Committed;
        if v == Verdict::Tentative {
            last_tentative = Some(last_tentative.map_or(end, |e| e.max(end)));
        }
        v == Verdict::Committed
    };
    // Angle brackets, the format MedBench asks for.
    static ANGLE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"<([^<>\n]{1,24})>").unwrap());
    let html = t.contains("</");
    for c in ANGLE.captures_iter(t) {
        let inner = c[1].trim();
        let Some(g) = parse_whole(inner, lab) else {
            continue;
        };
        let lower_single = inner.len() == 1 && inner.chars().all(|c| c.is_ascii_lowercase());
        let m = c.get(0).unwrap();
        if !(html && lower_single) && committed(t, m.start(), m.end()) {
            out.push(Decision {
                start: m.start(),
                end: m.end(),
                labels: g,
                strong: true,
                kind: Kind::Angle,
            });
        }
    }
    // Explicit markers; the labels follow the marker and a connector.
    for m in MARKER.find_iter(t) {
        let after = &t[m.end()..];
        let conn = CONNECTOR.find(after).map_or(0, |c| c.end());
        let lower_ok = !m.as_str().is_ascii() || after[..conn].contains(':');
        let Some((got, len)) = scan_group(&after[conn..], lab, lower_ok, false) else {
            continue;
        };
        let lab_end = m.end() + conn + len;
        // A label glued to a following word is not a label (`选A型`, `答案是B超`).
        let next = t[lab_end..].chars().next();
        if next.is_some_and(|c| c.is_ascii_alphanumeric() || "超型族组级类".contains(c)) {
            continue;
        }
        if committed(t, m.start(), lab_end) {
            out.push(Decision {
                start: m.start(),
                end: lab_end,
                labels: got,
                strong: true,
                kind: Kind::Marker,
            });
        }
    }
    out.extend(bold(t, lab));
    for c in IS_CORRECT.captures_iter(t) {
        let g = c.get(1).unwrap();
        let m = c.get(0).unwrap();
        if let Some(got) = lab.lookup(g.as_str(), false)
            && committed(t, g.start(), m.end())
        {
            out.push(Decision {
                start: g.start(),
                end: m.end(),
                labels: got,
                strong: false,
                kind: Kind::Weak,
            });
        }
    }
    out.sort_by_key(|d| (d.end, d.start));
    Reading {
        decisions: out,
        set_aside,
        last_tentative,
    }
}

/// Bold conclusions: `**E**` standing alone on its line (only punctuation
/// or other bold labels beside it), or `**E. text**` on the last line.
/// Several different bold labels on different lines are review headings,
/// not a conclusion, and none of them counts.
fn bold(t: &str, lab: &Labels) -> Vec<Decision> {
    static BOLD: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"\*\*([^*\n]{1,80}?)\*\*").unwrap());
    let last_line_start = t.trim_end().rfind('\n').map_or(0, |i| i + 1);
    let mut found: Vec<(usize, Decision)> = Vec::new();
    for c in BOLD.captures_iter(t) {
        let m = c.get(0).unwrap();
        let inner = c.get(1).unwrap().as_str();
        let line_start = t[..m.start()].rfind('\n').map_or(0, |i| i + 1);
        let line_end = t[m.end()..].find('\n').map_or(t.len(), |i| m.end() + i);
        let line = &t[line_start..line_end];
        let rest = BOLD.replace_all(line, "");
        let alone = rest
            .chars()
            .all(|c| c.is_whitespace() || ",、;/&+。.:!()[]<>和与及".contains(c));
        let labels = if let Some(g) = parse_whole(inner, lab) {
            (alone || line_start == last_line_start).then_some(g)
        } else if line_start == last_line_start && alone {
            scan_group(inner.trim(), lab, false, false).and_then(|(g, end)| {
                let next = inner.trim()[end..].chars().next();
                next.is_some_and(|c| ".:、)".contains(c)).then_some(g)
            })
        } else {
            None
        };
        if let Some(labels) = labels {
            found.push((
                line_start,
                Decision {
                    start: m.start(),
                    end: m.end(),
                    labels,
                    strong: true,
                    kind: Kind::Bold,
                },
            ));
        }
    }
    let lines: std::collections::BTreeSet<usize> = found.iter().map(|(l, _)| *l).collect();
    let distinct: std::collections::BTreeSet<&Vec<String>> =
        found.iter().map(|(_, d)| &d.labels).collect();
    if lines.len() > 1 && distinct.len() > 1 {
        return Vec::new();
    }
    found.into_iter().map(|(_, d)| d).collect()
}

/// Labels of the last decision, joined with the brackets or bold labels
/// next to it on the same line (`<A><C>`, `<A>、<C>`, `**A**、**C**`): a
/// multi-select written as several brackets on one answer line.
pub(super) fn last_group(t: &str, ds: &[Decision], idx: usize) -> Vec<String> {
    let last = &ds[idx];
    let mut labels = last.labels.clone();
    if matches!(last.kind, Kind::Angle | Kind::Bold) {
        let mut end_of_prev = last.start;
        for d in ds[..idx].iter().rev() {
            if d.kind != last.kind || d.end > end_of_prev {
                if d.kind == Kind::Marker {
                    continue;
                }
                break;
            }
            let between = &t[d.end..end_of_prev];
            let sep_only = between
                .chars()
                .all(|c| (c.is_whitespace() && c != '\n') || ",、;/&+和与及".contains(c));
            if !sep_only {
                break;
            }
            labels.extend(d.labels.iter().cloned());
            end_of_prev = d.start;
        }
    }
    labels.sort();
    labels.dedup();
    labels
}

/// Words after a decision that take it back: the model goes on deliberating.
pub(super) fn reopened(after: &str) -> bool {
    static HEDGE: LazyLock<Regex> = LazyLock::new(|| {
        Regex::new(r"(?i)再想想|再考虑一下|再斟酌|再确认一下|再检查一下|重新考虑|还需要(?:再)?(?:想|考虑|斟酌|确认|核实)|但让我们?再?(?:看|想|确认|检查)|不太确定|让我们?再|\blet me (?:re-?)?(?:think|check|consider|reconsider|double-check)|(?:^|[.!?。！？\n]\s*)(?:wait|hmm)\b|\bi'?m not sure|\bi am not sure")
            .unwrap()
    });
    HEDGE.is_match(after)
}

/// A long reasoning trace that stops mid-sentence (the model ran out of
/// tokens): at least 1000 characters, and the last character is neither
/// sentence-final punctuation nor an option label closing a statement.
pub(super) fn cut_off(t: &str, lab: &Labels) -> bool {
    let t = t.trim_end();
    if t.chars().count() < 1000 {
        return false;
    }
    let Some(last) = t.chars().last() else {
        return false;
    };
    // A label at the very end closes a decision (`所以输出D`), unless it
    // follows an opening bracket (`硬肿病(J` was cut off).
    let before = t.chars().rev().nth(1);
    let label_end = lab.labels.iter().any(|l| l.ends_with(last))
        && !before.is_some_and(|c| "([（【“\"'".contains(c));
    let finished = "。．.！!？?）)」』”\"'*`>]】}…~".contains(last) || label_end;
    !finished
}
