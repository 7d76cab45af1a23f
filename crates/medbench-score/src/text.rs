//! Text normalisation, tokenisation, ROUGE-L and BLEU.
//!
//! Tokenisation (shared by [`rouge_l`] and [`bleu`]): the text is folded to
//! half-width and lower case; every CJK character (Han, kana, Hangul) is one
//! token; every other run of letters or digits is one token; punctuation and
//! whitespace only separate tokens and are dropped.

use std::collections::HashMap;

/// Fold full-width ASCII forms (`Ａ`, `１`, `（`, `：`, `，`, …) and the
/// ideographic space to their half-width equivalents.
pub fn to_half_width(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .collect()
}

/// True for CJK ideographs, kana and Hangul (characters written without spaces).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // hiragana, katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0xF900..=0xFAFF    // CJK compatibility ideographs
        | 0x20000..=0x2FA1F) // extensions B–F and compatibility supplement
}

/// Punctuation stripped from the end of a short answer (after half-width folding).
const TRAILING: &[char] = &[
    '.', ',', ';', ':', '!', '?', '。', '、', '…', '．', '｡', '~', '～',
];

/// Normalise a short text for exact comparison: half-width, lower case,
/// whitespace runs collapsed to one space, whitespace next to a CJK character
/// removed, and trailing punctuation (`.`, `。`, `;`, `！`, …) stripped.
///
/// ```
/// use medbench_score::text::normalize;
/// assert_eq!(normalize("  Ａｓｐｉｒｉｎ。 "), "aspirin");
/// assert_eq!(normalize("阿司 匹林"), "阿司匹林");
/// assert_eq!(normalize("Type  2\n diabetes."), "type 2 diabetes");
/// ```
pub fn normalize(s: &str) -> String {
    let folded = to_half_width(s).to_lowercase();
    let chars: Vec<char> = folded.chars().collect();
    let mut out = String::with_capacity(folded.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            let start = i;
            while i < chars.len() && chars[i].is_whitespace() {
                i += 1;
            }
            let before = out.chars().last();
            let after = chars.get(i).copied();
            let keep = start > 0
                && i < chars.len()
                && !before.is_some_and(is_cjk)
                && !after.is_some_and(is_cjk);
            if keep {
                out.push(' ');
            }
            continue;
        }
        out.push(c);
        i += 1;
    }
    let trimmed = out.trim_end_matches(|c: char| TRAILING.contains(&c) || c.is_whitespace());
    trimmed.trim().to_owned()
}

/// Split a text into tokens: one per CJK character, one per other
/// alphanumeric run (lower-cased); punctuation and whitespace are dropped.
///
/// ```
/// use medbench_score::text::tokenize;
/// assert_eq!(tokenize("IgA肾病, CKD-4"), ["iga", "肾", "病", "ckd", "4"]);
/// ```
pub fn tokenize(s: &str) -> Vec<String> {
    let folded = to_half_width(s).to_lowercase();
    let mut out = Vec::new();
    let mut word = String::new();
    for c in folded.chars() {
        if is_cjk(c) {
            if !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            out.push(c.to_string());
        } else if c.is_alphanumeric() {
            word.push(c);
        } else if !word.is_empty() {
            out.push(std::mem::take(&mut word));
        }
    }
    if !word.is_empty() {
        out.push(word);
    }
    out
}

/// Length of the longest common subsequence of two token lists.
fn lcs_len(a: &[String], b: &[String]) -> usize {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for x in a {
        for (j, y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// ROUGE-L F-measure (β = 1) between a candidate and a reference.
///
/// With `L` the longest common subsequence of the two token lists,
/// `P = L / |candidate|`, `R = L / |reference|` and `F = 2PR / (P + R)`.
/// Both texts without tokens give 1.0; one of them without tokens gives 0.0.
pub fn rouge_l(candidate: &str, reference: &str) -> f64 {
    let c = tokenize(candidate);
    let r = tokenize(reference);
    if c.is_empty() && r.is_empty() {
        return 1.0;
    }
    let l = lcs_len(&c, &r) as f64;
    if l == 0.0 {
        return 0.0;
    }
    let p = l / c.len() as f64;
    let rec = l / r.len() as f64;
    2.0 * p * rec / (p + rec)
}

fn ngram_counts(tokens: &[String], n: usize) -> HashMap<&[String], usize> {
    let mut m = HashMap::new();
    if tokens.len() >= n {
        for w in tokens.windows(n) {
            *m.entry(w).or_insert(0) += 1;
        }
    }
    m
}

/// Sentence BLEU-4 with uniform weights, the usual brevity penalty and
/// Chen & Cherry (2014) smoothing method 1 (as NLTK's `SmoothingFunction().method1`):
/// an n-gram order with no match gets the precision `0.1 / max(1, candidate n-grams)`
/// instead of zero. A candidate that shares no unigram with the reference scores 0.
///
/// `BLEU = BP · exp(¼ Σₙ ln pₙ)`, `BP = 1` when the candidate is longer than the
/// reference, else `exp(1 − r/c)`.
pub fn bleu(candidate: &str, reference: &str) -> f64 {
    let c = tokenize(candidate);
    let r = tokenize(reference);
    if c.is_empty() || r.is_empty() {
        return 0.0;
    }
    let mut log_sum = 0.0;
    for n in 1..=4 {
        let cand = ngram_counts(&c, n);
        let refc = ngram_counts(&r, n);
        let total: usize = cand.values().sum();
        let matched: usize = cand
            .iter()
            .map(|(g, k)| (*k).min(refc.get(g).copied().unwrap_or(0)))
            .sum();
        if n == 1 && matched == 0 {
            return 0.0;
        }
        let p = if matched > 0 {
            matched as f64 / total as f64
        } else {
            0.1 / total.max(1) as f64
        };
        log_sum += 0.25 * p.ln();
    }
    let (cl, rl) = (c.len() as f64, r.len() as f64);
    let bp = if cl > rl { 1.0 } else { (1.0 - rl / cl).exp() };
    bp * log_sum.exp()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_width_folds_letters_digits_and_punctuation() {
        assert_eq!(to_half_width("Ｅ（１２）：，；　x"), "E(12):,; x");
    }

    #[test]
    fn normalize_strips_trailing_punctuation_only() {
        assert_eq!(normalize("心内科。"), "心内科");
        assert_eq!(normalize("未知"), "未知");
        assert_eq!(normalize("3.5"), "3.5");
        assert_eq!(normalize("  "), "");
    }

    #[test]
    fn lcs_counts_subsequence() {
        let t = |s: &str| tokenize(s);
        assert_eq!(lcs_len(&t("a b c d"), &t("a c d e")), 3);
        assert_eq!(lcs_len(&t(""), &t("a")), 0);
    }
}
