//! One normaliser for label text, shared by the importer (which stores
//! reference labels) and the scorer (which compares a model's labels with
//! them). Both sides must fold a label the same way, or an answer identical
//! to its reference scores less than 1: MedQC separates defects with `｜` or
//! `|`, MedHG departments carry `（…）` or `(…)`, and models add quotes,
//! spaces and a final `。`.
//!
//! Pure functions, no I/O. The display form is kept: letters are not
//! lower-cased, so a stored label still reads as it was written.

/// Fold one character to its half-width form: full-width ASCII
/// (`Ａ`, `１`, `（`, `｜`, `：`) to ASCII, the ideographic space to a space.
fn half_width(c: char) -> char {
    match c {
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        '\u{3000}' => ' ',
        _ => c,
    }
}

/// CJK ideographs, kana and Hangul: scripts written without spaces.
fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF
        | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Pairs of wrappers dropped when they enclose the whole label.
const WRAPPERS: &[(char, char)] = &[
    ('"', '"'),
    ('\'', '\''),
    ('“', '”'),
    ('‘', '’'),
    ('「', '」'),
    ('『', '』'),
    ('【', '】'),
    ('《', '》'),
    ('[', ']'),
    ('<', '>'),
    ('`', '`'),
    ('*', '*'),
];

/// Punctuation dropped from the ends of a label.
const TRAILING: &[char] = &['.', ',', ';', ':', '!', '?', '。', '、', '…', '｡', '~'];

/// Normalise one label: full-width forms folded to half-width (`｜`→`|`,
/// `（…）`→`(…)`, `Ａ`→`A`, ideographic space → space), surrounding
/// whitespace trimmed, inner whitespace runs collapsed to one space and
/// dropped next to a CJK character or a bracket, wrapping quotes or brackets
/// (`“…”`, `"…"`, `【…】`, `[…]`, `**…**`) removed, and trailing
/// punctuation (`。`, `.`, `;`, …) stripped. Case is kept.
///
/// ```
/// use medbench_core::label::normalize_label;
/// assert_eq!(normalize_label("  “高血压（1级）”。 "), "高血压(1级)");
/// assert_eq!(normalize_label("肺尖未包全 ｜ 吸气不足"), "肺尖未包全|吸气不足");
/// assert_eq!(normalize_label("Ｃｔ  scan"), "Ct scan");
/// ```
pub fn normalize_label(s: &str) -> String {
    let folded: String = s.chars().map(half_width).collect();
    // Collapse whitespace; drop it where it touches CJK text or a bracket.
    let chars: Vec<char> = folded.trim().chars().collect();
    let mut out = String::with_capacity(folded.len());
    let sticky = |c: char| is_cjk(c) || "()[]|/、，。：；".contains(c);
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            let mut j = i;
            while j < chars.len() && chars[j].is_whitespace() {
                j += 1;
            }
            let prev = out.chars().last();
            let next = chars.get(j).copied();
            if !(prev.is_some_and(sticky) || next.is_some_and(sticky)) {
                out.push(' ');
            }
            i = j;
            continue;
        }
        out.push(c);
        i += 1;
    }
    let mut s = out.as_str();
    loop {
        let before = s;
        s = s.trim_end_matches(TRAILING).trim();
        for (open, close) in WRAPPERS {
            if s.chars().count() >= 2 && s.starts_with(*open) && s.ends_with(*close) {
                s = s[open.len_utf8()..s.len() - close.len_utf8()].trim();
            }
        }
        if s == before {
            break;
        }
    }
    s.to_owned()
}

/// Split a text of several labels on `、 , ， ; ； | ｜` and line breaks,
/// normalise each piece with [`normalize_label`], drop empty pieces and
/// repeated labels (the first occurrence keeps its place).
///
/// ```
/// use medbench_core::label::split_labels;
/// assert_eq!(split_labels("肺尖未包全｜吸气不足"), ["肺尖未包全", "吸气不足"]);
/// assert_eq!(split_labels("心内科、 心内科，\n神经内科。"), ["心内科", "神经内科"]);
/// ```
pub fn split_labels(s: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for piece in s.split(|c: char| "、,，;；|｜\n\r".contains(c)) {
        let l = normalize_label(piece);
        if !l.is_empty() && !out.contains(&l) {
            out.push(l);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_forms_fold() {
        assert_eq!(
            normalize_label("伪影位于肺野内｜体位不正"),
            "伪影位于肺野内|体位不正"
        );
        assert_eq!(
            normalize_label("睡眠障碍（失眠）门诊"),
            "睡眠障碍(失眠)门诊"
        );
        assert_eq!(normalize_label("ＡＤＨＤ　门诊"), "ADHD门诊");
    }

    #[test]
    fn wrappers_and_trailing_punctuation_go() {
        assert_eq!(normalize_label("'体位不正'"), "体位不正");
        assert_eq!(normalize_label("**心内科**。"), "心内科");
        assert_eq!(normalize_label("「偏中心」."), "偏中心");
        assert_eq!(normalize_label("【无问题】"), "无问题");
        // A bracket that is part of the label stays.
        assert_eq!(normalize_label("(1级)高血压"), "(1级)高血压");
    }

    #[test]
    fn whitespace_collapses() {
        assert_eq!(normalize_label(" chest   pain "), "chest pain");
        assert_eq!(normalize_label("高血压 (1级)"), "高血压(1级)");
        assert_eq!(normalize_label("   "), "");
    }

    #[test]
    fn splitting_on_every_separator() {
        assert_eq!(
            split_labels("a、b,c，d;e；f|g｜h\ni"),
            ["a", "b", "c", "d", "e", "f", "g", "h", "i"]
        );
        assert_eq!(split_labels(" ｜ 、"), Vec::<String>::new());
    }

    #[test]
    fn reference_and_answer_written_differently_agree() {
        let reference = split_labels("伪影位于肺野外｜肩胛骨位于肺野内");
        let answer = split_labels("伪影位于肺野外 | 肩胛骨位于肺野内。");
        assert_eq!(reference, answer);
    }
}
