//! Local ids for records whose source gives them none.
//!
//! A line or row number names a place in one file, so a second file of the
//! same data set would reuse the numbers and overwrite the first file's items.
//! Instead the id is a short hash of what defines the question.

use medbench_core::Choice;
use medbench_core::item::sha256_hex;

/// How many hex digits of the SHA-256 make the id (48 bits).
pub const CONTENT_ID_LEN: usize = 12;

/// The first 12 hex digits of the SHA-256 of `parts`, each with runs of
/// whitespace collapsed to one space and the ends trimmed (nothing else
/// changes: case, punctuation and full-width characters still count).
pub fn content_id(parts: &[&str]) -> String {
    let mut text = String::new();
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            // Normalised parts hold no newline, so this cannot be forged by a part's text.
            text.push('\n');
        }
        text.push_str(&normalise_space(p));
    }
    let mut h = sha256_hex(text.as_bytes());
    h.truncate(CONTENT_ID_LEN);
    h
}

/// The content id of a choice question: its text, then each option as `label` and text.
pub fn choice_content_id(question: &str, options: &[Choice]) -> String {
    let mut parts = vec![question];
    for o in options {
        parts.push(&o.label);
        parts.push(&o.text);
    }
    content_id(&parts)
}

fn normalise_space(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(texts: &[&str]) -> Vec<Choice> {
        texts
            .iter()
            .zip(["A", "B", "C", "D"])
            .map(|(t, l)| Choice {
                label: l.into(),
                text: (*t).into(),
            })
            .collect()
    }

    #[test]
    fn whitespace_does_not_change_the_id_but_words_do() {
        let a = choice_content_id("Which drug?", &opts(&["aspirin", "heparin"]));
        assert_eq!(a.len(), 12);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_eq!(
            a,
            choice_content_id(" Which\n  drug? ", &opts(&["aspirin ", "heparin"]))
        );
        assert_ne!(
            a,
            choice_content_id("Which drug?", &opts(&["heparin", "aspirin"]))
        );
        assert_ne!(
            a,
            choice_content_id("which drug?", &opts(&["aspirin", "heparin"]))
        );
        // Moving text between the question and an option is a different question.
        assert_ne!(content_id(&["a b", "c"]), content_id(&["a", "b c"]));
    }
}
