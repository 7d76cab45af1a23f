//! Instances: an item under one option permutation, with an opaque id.
//!
//! Permutation `k` of an item with `n` options is a seeded shuffle of the
//! options (seeded by the round seed and the item id) rotated left by `k`
//! positions, so for `k < n` every option sits at a different letter in each
//! permutation (the right answer moves too). For `k ≥ n` a fresh seeded shuffle
//! is used. Permutation 0 is the base shuffle, not the original order.
//! An item with official option orders (`variants`, the five copies of a v4 choice
//! question) gets one instance per variant, in the official orders, whatever the
//! round's permutation count. Other items whose question text already embeds its
//! options (`prompt:verbatim`) and non-choice items get a single, unpermuted instance.

use crate::{Result, RoundError, instance_id, mix, splitmix};
use medbench_core::variant::{reorder_format, reorder_reference};
use medbench_core::{Choice, Format, Item, Provenance, Reference};
use medbench_store::InstanceRow;

/// Whether an item gets permuted instances.
pub fn permutable(item: &Item) -> bool {
    matches!(item.format.options(), Some(o) if o.len() >= 2)
        && !item.tags.iter().any(|t| t == "prompt:verbatim")
}

/// `perm[new_position] = original_index` for permutation `k` of `n` options.
pub fn permutation(seed: u64, item_id: &str, k: u32, n: usize) -> Vec<usize> {
    let shuffle = |mut state: u64| {
        let mut p: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            state = splitmix(state);
            let j = (state % (i as u64 + 1)) as usize;
            p.swap(i, j);
        }
        p
    };
    let base = mix(seed, item_id);
    if (k as usize) < n {
        let mut p = shuffle(base);
        p.rotate_left(k as usize);
        p
    } else {
        shuffle(base ^ splitmix(k as u64))
    }
}

/// Apply a permutation to a choice format and its reference: option texts move,
/// labels stay in place (`A`, `B`, … keep their positions). The same rule as an
/// item's official orders ([`medbench_core::variant`]).
pub fn permute(
    format: &Format,
    reference: Option<&Reference>,
    perm: &[usize],
) -> (Format, Option<Reference>) {
    (
        reorder_format(format, perm),
        reference.map(|r| reorder_reference(format, r, perm)),
    )
}

/// The instances of one item in a round.
pub fn build_instances(
    secret: &[u8],
    round_id: &str,
    item: &Item,
    permutations: u32,
    seed: u64,
    source: &str,
) -> Result<Vec<InstanceRow>> {
    let official = !item.variants.is_empty();
    let count = if official {
        item.variants.len() as u32
    } else if permutable(item) {
        permutations.max(1)
    } else {
        1
    };
    let mut out = Vec::with_capacity(count as usize);
    for k in 0..count {
        let (format, reference) = if official {
            let v = item.instance(k as usize);
            (v.format, v.reference)
        } else if permutable(item) {
            let n = item.format.options().map_or(0, <[Choice]>::len);
            permute(
                &item.format,
                item.reference.as_ref(),
                &permutation(seed, &item.id, k, n),
            )
        } else {
            (item.format.clone(), item.reference.clone())
        };
        out.push(InstanceRow {
            round_id: round_id.to_owned(),
            instance_id: instance_id(secret, round_id, &item.id, k),
            item_id: item.id.clone(),
            item_version: item.version,
            task: item.task.clone(),
            permutation: k,
            format: to_json(&format)?,
            reference: reference.as_ref().map(to_json).transpose()?,
            source: source.to_owned(),
        });
    }
    Ok(out)
}

fn to_json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(|e| RoundError::Corrupt(e.to_string()))
}

/// The stored format and mapped reference of an instance.
pub fn instance_parts(row: &InstanceRow) -> Result<(Format, Option<Reference>)> {
    let bad = |e: String| RoundError::Corrupt(format!("instance {}: {e}", row.instance_id));
    let format: Format = serde_json::from_str(&row.format).map_err(|e| bad(e.to_string()))?;
    let reference = match &row.reference {
        None => None,
        Some(text) => {
            let v: serde_json::Value =
                serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
            Some(Reference::from_json(format.kind(), &v).map_err(|e| bad(e.to_string()))?)
        }
    };
    Ok((format, reference))
}

/// The item as asked: the instance id, the permuted options, no reference, no provenance.
pub fn instance_item(item: &Item, row: &InstanceRow) -> Result<Item> {
    let (format, _) = instance_parts(row)?;
    // An official order brings its own question text (its options written in that order).
    let mut it = if item.variants.is_empty() {
        item.clone()
    } else {
        item.instance(row.permutation as usize)
    };
    it.id = row.instance_id.clone();
    it.format = format;
    it.reference = None;
    it.provenance = Provenance {
        source: "medbench round".into(),
        ..Default::default()
    };
    it.specialties.clear();
    it.difficulty = None;
    Ok(it)
}
