//! Contamination scan: canary strings of our exports, and long n-gram overlap
//! between a text corpus and the bank's questions.
//!
//! Text is cut into tokens: each CJK character is a token, other runs of letters
//! and digits are lower-cased words; everything else separates. Every window of
//! [`NGRAM`] tokens gets a rolling hash. The bank's windows go into a hash set
//! (hash → item) bounded to [`MAX_INDEXED`] entries: when it fills, only hashes
//! divisible by a doubling modulus are kept (uniform hash sampling), and the
//! corpus is checked against the same modulus. A copied passage of L tokens has
//! L − 12 windows, so with modulus m it is missed with probability about
//! (1 − 1/m)^(L−12); the report states m.

use crate::{CANARY_PREFIX, Result, io_err, splitmix};
use medbench_store::{Bank, ItemFilter, SqliteBank};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// Tokens per window: overlap of at least this many consecutive tokens counts.
pub const NGRAM: usize = 13;
/// Upper bound of indexed bank windows (about 100 MB of memory).
pub const MAX_INDEXED: usize = 4_000_000;
const BASE: u64 = 0x100_0000_01b3;

/// A canary found in the corpus.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CanaryHit {
    pub file: String,
    pub line: usize,
    pub canary: String,
    /// The round it belongs to, when this bank drew it.
    pub round: Option<String>,
}

/// A bank item whose question overlaps a corpus file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ItemAtRisk {
    pub item_id: String,
    pub file: String,
    /// Overlapping windows found (sampled; see `sampling`).
    pub windows: usize,
    /// The first matched passage.
    pub snippet: String,
}

/// What a scan found.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ContaminationReport {
    pub files: usize,
    pub bytes: u64,
    pub ngram: usize,
    /// Only windows whose hash is divisible by this are compared (1 = all).
    pub sampling: u64,
    pub indexed_windows: usize,
    pub canaries: Vec<CanaryHit>,
    pub items: Vec<ItemAtRisk>,
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xAC00..=0xD7AF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Tokens of a text as (hash, byte start, byte end).
pub fn tokens(text: &str) -> Vec<(u64, usize, usize)> {
    let mut out = Vec::new();
    let mut word: Option<(usize, u64)> = None;
    let fnv = |h: u64, c: char| {
        let mut h = h;
        for b in c.to_lowercase().to_string().bytes() {
            h = (h ^ b as u64).wrapping_mul(0x100_0000_01b3);
        }
        h
    };
    for (i, c) in text.char_indices() {
        if is_cjk(c) {
            if let Some((s, h)) = word.take() {
                out.push((splitmix(h), s, i));
            }
            out.push((splitmix(fnv(0xcbf2_9ce4_8422_2325, c)), i, i + c.len_utf8()));
        } else if c.is_alphanumeric() {
            let (s, h) = word.unwrap_or((i, 0xcbf2_9ce4_8422_2325));
            word = Some((s, fnv(h, c)));
        } else if let Some((s, h)) = word.take() {
            out.push((splitmix(h), s, i));
        }
    }
    if let Some((s, h)) = word {
        out.push((splitmix(h), s, text.len()));
    }
    out
}

/// Rolling hashes of every window of `NGRAM` tokens, with the window's first token index.
fn windows(toks: &[(u64, usize, usize)]) -> impl Iterator<Item = (usize, u64)> + '_ {
    let top = (1..NGRAM).fold(1u64, |p, _| p.wrapping_mul(BASE));
    let mut h = 0u64;
    toks.iter().enumerate().filter_map(move |(i, t)| {
        if i >= NGRAM {
            h = h.wrapping_sub(toks[i - NGRAM].0.wrapping_mul(top));
        }
        h = h.wrapping_mul(BASE).wrapping_add(t.0);
        (i + 1 >= NGRAM).then(|| (i + 1 - NGRAM, splitmix(h)))
    })
}

/// Marks an indexed window that occurs in more than one item.
const SHARED: u32 = u32::MAX;

struct Index {
    ids: Vec<String>,
    set: HashMap<u64, u32>,
    modulus: u64,
}

impl Index {
    fn build(bank: &SqliteBank) -> Result<Index> {
        let mut ix = Index {
            ids: vec![],
            set: HashMap::new(),
            modulus: 1,
        };
        bank.for_each(&ItemFilter::default(), &mut |item| {
            let n = ix.ids.len() as u32;
            ix.ids.push(item.id.clone());
            let mut text = item.context.join("\n");
            text.push('\n');
            text.push_str(&item.question);
            for (_, h) in windows(&tokens(&text)) {
                if h % ix.modulus == 0 {
                    // A window found in two items is boilerplate (a shared instruction,
                    // a template): it says nothing about which item leaked.
                    let owner = ix.set.entry(h).or_insert(n);
                    if *owner != n {
                        *owner = SHARED;
                    }
                }
            }
            while ix.set.len() > MAX_INDEXED {
                ix.modulus *= 2;
                let m = ix.modulus;
                ix.set.retain(|h, _| h % m == 0);
            }
            Ok(())
        })?;
        Ok(ix)
    }
}

fn corpus_files(path: &Path) -> Result<Vec<PathBuf>> {
    if !path.is_dir() {
        std::fs::metadata(path).map_err(io_err("read", path))?;
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).map_err(io_err("read", &d))? {
            let p = e.map_err(io_err("read", &d))?.path();
            if p.is_dir() {
                stack.push(p)
            } else {
                out.push(p)
            }
        }
    }
    out.sort();
    Ok(out)
}

/// Scan a file or directory of text for canaries and n-gram overlap with the bank.
pub fn scan(path: &Path, bank: &SqliteBank) -> Result<ContaminationReport> {
    let ix = Index::build(bank)?;
    let mut rep = ContaminationReport {
        ngram: NGRAM,
        sampling: ix.modulus,
        indexed_windows: ix.set.len(),
        ..Default::default()
    };
    let mut at_risk: BTreeMap<(u32, String), ItemAtRisk> = BTreeMap::new();
    for file in corpus_files(path)? {
        let bytes = std::fs::read(&file).map_err(io_err("read", &file))?;
        rep.files += 1;
        rep.bytes += bytes.len() as u64;
        let name = file.display().to_string();
        if bytes.starts_with(b"PK\x03\x04") {
            // A zip (an export or an archive someone uploaded): scan every entry.
            if let Ok(mut z) = zip::ZipArchive::new(std::io::Cursor::new(&bytes)) {
                for i in 0..z.len() {
                    let Ok(mut e) = z.by_index(i) else { continue };
                    let entry = e.name().map(|n| n.into_owned()).unwrap_or_default();
                    let mut b = Vec::new();
                    if std::io::Read::read_to_end(&mut e, &mut b).is_ok() {
                        scan_text(
                            bank,
                            &ix,
                            &format!("{name}!{entry}"),
                            &String::from_utf8_lossy(&b),
                            &mut rep,
                            &mut at_risk,
                        )?;
                    }
                }
                continue;
            }
        }
        scan_text(
            bank,
            &ix,
            &name,
            &String::from_utf8_lossy(&bytes),
            &mut rep,
            &mut at_risk,
        )?;
    }
    rep.items = at_risk.into_values().collect();
    rep.items.sort_by(|a, b| {
        b.windows
            .cmp(&a.windows)
            .then_with(|| a.item_id.cmp(&b.item_id))
    });
    Ok(rep)
}

fn scan_text(
    bank: &SqliteBank,
    ix: &Index,
    name: &str,
    text: &str,
    rep: &mut ContaminationReport,
    at_risk: &mut BTreeMap<(u32, String), ItemAtRisk>,
) -> Result<()> {
    for (pos, _) in text.match_indices(CANARY_PREFIX) {
        let tail = &text[pos..];
        let end = tail
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-'))
            .unwrap_or(tail.len());
        let canary = tail[..end].to_owned();
        let round = bank.round_by_canary(&canary)?.map(|r| r.id);
        let line = text[..pos].matches('\n').count() + 1;
        rep.canaries.push(CanaryHit {
            file: name.to_owned(),
            line,
            canary,
            round,
        });
    }
    let toks = tokens(text);
    for (start, h) in windows(&toks) {
        if h % ix.modulus != 0 {
            continue;
        }
        let Some(&n) = ix.set.get(&h) else { continue };
        if n == SHARED {
            continue;
        }
        let e = at_risk.entry((n, name.to_owned())).or_insert_with(|| {
            let (s, e) = (toks[start].1, toks[start + NGRAM - 1].2);
            ItemAtRisk {
                item_id: ix.ids[n as usize].clone(),
                file: name.to_owned(),
                windows: 0,
                snippet: text[s..e].chars().take(200).collect(),
            }
        });
        e.windows += 1;
    }
    Ok(())
}
