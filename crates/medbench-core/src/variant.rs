//! Variants: one question shown with its options in several orders.
//!
//! The official MedBench v4 choice files carry every question five times under one
//! `other.id`, each copy with the options in another order; an item is counted right
//! only when it is right in every order (the strict rule). Such an item keeps its
//! orders as [`Variant`]s: variant `k` is asked with the options of `format` reordered
//! by `order`, and, when the question text itself embeds the options (`prompt:verbatim`),
//! with that copy's own question text. Labels stay in place (`A`, `B`, … keep their
//! positions); the texts move, and so does the right answer.
//!
//! Rounds permute options the same way ([`reorder_format`], [`reorder_reference`]), so
//! official orders and the permutations a round makes are scored by one rule.

use crate::format::{Choice, Format, Reference};
use crate::item::{FieldError, Item};
use serde::{Deserialize, Serialize};

/// One order in which an item's options are shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    /// `order[position] = index into format.options` of the option shown at that position.
    pub order: Vec<usize>,
    /// The question text of this variant, when the question embeds its options
    /// (official v4 copies); `None` means the item's own `question`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub question: Option<String>,
}

/// `format` with its options shown in `order` (`order[pos] = original index`); labels keep
/// their positions. Formats without options come back unchanged.
pub fn reorder_format(format: &Format, order: &[usize]) -> Format {
    let Some(opts) = format.options() else {
        return format.clone();
    };
    let options: Vec<Choice> = order
        .iter()
        .enumerate()
        .map(|(pos, &orig)| Choice {
            label: opts[pos].label.clone(),
            text: opts[orig].text.clone(),
        })
        .collect();
    match format {
        Format::SingleChoice { .. } => Format::SingleChoice { options },
        Format::MultipleChoice { .. } => Format::MultipleChoice { options },
        other => other.clone(),
    }
}

/// The reference as it reads when `format`'s options are shown in `order`: a right
/// option's label becomes the label of the position it moved to. Other references are
/// unchanged.
pub fn reorder_reference(format: &Format, reference: &Reference, order: &[usize]) -> Reference {
    let (Some(opts), Reference::Choice { answer }) = (format.options(), reference) else {
        return reference.clone();
    };
    let mut mapped: Vec<(usize, String)> = answer
        .iter()
        .filter_map(|l| {
            let orig = opts.iter().position(|o| &o.label == l)?;
            let pos = order.iter().position(|&p| p == orig)?;
            Some((pos, opts[pos].label.clone()))
        })
        .collect();
    mapped.sort();
    Reference::Choice {
        answer: mapped.into_iter().map(|(_, l)| l).collect(),
    }
}

/// The order that shows `shown` (option texts as a copy lists them) as a reordering of
/// `options`: `Some(order)` when `shown` holds exactly the same texts, each once.
/// Texts are compared after trimming and collapsing whitespace.
pub fn order_of(options: &[Choice], shown: &[Choice]) -> Option<Vec<usize>> {
    if options.len() != shown.len() {
        return None;
    }
    let key = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    let keys: Vec<String> = options.iter().map(|o| key(&o.text)).collect();
    let mut used = vec![false; options.len()];
    let mut order = Vec::with_capacity(shown.len());
    for s in shown {
        let k = key(&s.text);
        let i = (0..keys.len()).find(|&i| !used[i] && keys[i] == k)?;
        used[i] = true;
        order.push(i);
    }
    Some(order)
}

impl Item {
    /// How many times the item is asked: once per variant, once when it has none.
    pub fn instance_count(&self) -> usize {
        self.variants.len().max(1)
    }

    /// The item as variant `k` asks it: options reordered, the variant's own question
    /// text, the reference mapped through the order, and no variants of its own.
    /// `k` past the last variant (or any `k` of an item without variants) gives the
    /// item unchanged but for the emptied variant list.
    pub fn instance(&self, k: usize) -> Item {
        let mut it = self.clone();
        it.variants.clear();
        let Some(v) = self.variants.get(k) else {
            return it;
        };
        it.format = reorder_format(&self.format, &v.order);
        it.reference = self
            .reference
            .as_ref()
            .map(|r| reorder_reference(&self.format, r, &v.order));
        if let Some(q) = &v.question {
            it.question = q.clone();
        }
        it
    }

    pub(crate) fn validate_variants(&self, errs: &mut Vec<FieldError>) {
        if self.variants.is_empty() {
            return;
        }
        let Some(options) = self.format.options() else {
            errs.push(FieldError {
                field: "variants".into(),
                message: "only choice items have option orders".into(),
            });
            return;
        };
        for (k, v) in self.variants.iter().enumerate() {
            let mut seen = vec![false; options.len()];
            let ok = v.order.len() == options.len()
                && v.order
                    .iter()
                    .all(|&i| i < seen.len() && !std::mem::replace(&mut seen[i], true));
            if !ok {
                errs.push(FieldError {
                    field: format!("variants[{k}].order"),
                    message: format!(
                        "must list each option index 0..{} exactly once",
                        options.len()
                    ),
                });
            }
            if v.question.as_deref().is_some_and(|q| q.trim().is_empty()) {
                errs.push(FieldError {
                    field: format!("variants[{k}].question"),
                    message: "empty".into(),
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> Item {
        serde_json::from_str(
            r#"{"id":"T/1","track":"llm","dimension":"knowledge_qa","language":"zh",
               "question":"q A.甲 B.乙 C.丙",
               "format":{"type":"single_choice","options":[{"label":"A","text":"甲"},{"label":"B","text":"乙"},{"label":"C","text":"丙"}]},
               "reference":{"answer":"B"},"provenance":{"source":"test"},
               "variants":[{"order":[0,1,2]},{"order":[2,0,1],"question":"q A.丙 B.甲 C.乙"}]}"#,
        )
        .unwrap()
    }

    #[test]
    fn a_variant_moves_texts_and_the_answer_but_not_labels() {
        let it = item();
        assert!(it.validate().is_ok());
        assert_eq!(it.instance_count(), 2);
        let v = it.instance(1);
        let texts: Vec<_> = v
            .format
            .options()
            .unwrap()
            .iter()
            .map(|o| o.text.as_str())
            .collect();
        assert_eq!(texts, ["丙", "甲", "乙"]);
        let labels: Vec<_> = v
            .format
            .options()
            .unwrap()
            .iter()
            .map(|o| o.label.as_str())
            .collect();
        assert_eq!(labels, ["A", "B", "C"]);
        // 乙 was B; it is now shown third.
        assert_eq!(
            v.reference,
            Some(Reference::Choice {
                answer: vec!["C".into()]
            })
        );
        assert_eq!(v.question, "q A.丙 B.甲 C.乙");
        assert!(v.variants.is_empty());
        assert_eq!(it.instance(0).question, it.question);
    }

    #[test]
    fn order_of_finds_each_text_once() {
        let it = item();
        let opts = it.format.options().unwrap();
        let shown = reorder_format(&it.format, &[1, 2, 0]);
        assert_eq!(
            order_of(opts, shown.options().unwrap()),
            Some(vec![1, 2, 0])
        );
        let mut other = shown.options().unwrap().to_vec();
        other[0].text = "丁".into();
        assert_eq!(order_of(opts, &other), None);
    }

    #[test]
    fn bad_orders_are_reported_by_field() {
        let mut it = item();
        it.variants[1].order = vec![0, 0, 1];
        let errs = it.validate().unwrap_err();
        assert_eq!(errs[0].field, "variants[1].order");
        let mut it = item();
        it.format = Format::OpenEnded {};
        it.reference = None;
        let errs = it.validate().unwrap_err();
        assert!(errs.iter().any(|e| e.field == "variants"), "{errs:?}");
    }

    #[test]
    fn variants_are_content() {
        let a = item();
        let mut b = a.clone();
        b.variants.pop();
        assert_ne!(a.content_hash(), b.content_hash());
        let text = serde_json::to_string(&a).unwrap();
        let back: Item = serde_json::from_str(&text).unwrap();
        assert_eq!(back, a);
    }
}
