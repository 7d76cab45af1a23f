//! # medbench-round
//!
//! Rotating hidden rounds (platform spec §3): a round is a fresh, stratified
//! draw of approved items per task; each item becomes one instance per option
//! permutation, with an opaque id (keyed HMAC) and its answer key mapped through
//! the permutation and kept in the bank. Rounds are exported as questions only
//! (the official MedBench v4 layout or native JSONL, with a canary string),
//! answered offline and submitted back, or asked live with [`evaluate_round`].
//! [`scan`] looks for canaries and long n-gram overlap in a text corpus.
//!
//! See `docs/rounds.md` for every rule.

pub mod answers;
pub mod contamination;
mod draw;
mod export;
pub mod instance;
mod live;
mod rejudge;
mod submit;
mod validate;

pub use contamination::{CanaryHit, ContaminationReport, ItemAtRisk, scan};
pub use draw::{DrawParams, Drawn, TaskDraw, draw};
pub use export::{Layout, export};
pub use live::evaluate_round;
pub use rejudge::rejudge_round_run;
pub use submit::{Submitted, score_answers, submit, submit_with};
pub use validate::{Issue, IssueKind, ParsedSubmission, UnpackLimits, read_submission};

use hmac::{Hmac, KeyInit, Mac};
use medbench_store::{RoundRow, SqliteBank, StoreError};
use sha2::Sha256;

/// Errors from drawing, exporting, submitting and scanning.
#[derive(Debug, thiserror::Error)]
pub enum RoundError {
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Bad parameters or input the user can fix.
    #[error("{0}")]
    Invalid(String),
    #[error("no round `{0}` in this bank (see `medbench round list`)")]
    UnknownRound(String),
    #[error("`{0}` matches {1} rounds; give more of the id")]
    AmbiguousRound(String, usize),
    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: String,
        source: std::io::Error,
    },
    #[error("zip archive {path}: {source}")]
    Zip {
        path: String,
        source: zip::result::ZipError,
    },
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
    /// The evaluation engine failed (asking, rendering…).
    #[error("{0}")]
    Eval(String),
}

/// Result with [`RoundError`].
pub type Result<T, E = RoundError> = std::result::Result<T, E>;

pub(crate) fn io_err(
    action: &'static str,
    path: &std::path::Path,
) -> impl FnOnce(std::io::Error) -> RoundError {
    let path = path.display().to_string();
    move |source| RoundError::Io {
        action,
        path,
        source,
    }
}

/// The settings key of the server secret.
pub const SECRET_KEY: &str = "round_secret";

/// The server secret behind instance ids and canaries: `MEDBENCH_SECRET` when set,
/// else the bank's stored secret (32 random bytes created on first use).
pub fn server_secret(bank: &mut SqliteBank) -> Result<Vec<u8>> {
    if let Ok(s) = std::env::var("MEDBENCH_SECRET")
        && !s.is_empty()
    {
        return Ok(s.into_bytes());
    }
    if let Some(s) = bank.setting(SECRET_KEY)? {
        return Ok(s);
    }
    let mut fresh = [0u8; 32];
    getrandom::fill(&mut fresh)
        .map_err(|e| RoundError::Invalid(format!("no system randomness for the secret: {e}")))?;
    Ok(bank.setting_or_insert(SECRET_KEY, &fresh)?)
}

/// First 16 hex digits of HMAC-SHA256(secret, parts joined by 0x1f).
pub fn keyed_hex16(secret: &[u8], parts: &[&str]) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(secret).expect("HMAC takes any key length");
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            mac.update(&[0x1f]);
        }
        mac.update(p.as_bytes());
    }
    hex::encode(&mac.finalize().into_bytes()[..8])
}

/// The opaque id of permutation `k` of an item in a round.
pub fn instance_id(secret: &[u8], round_id: &str, item_id: &str, k: u32) -> String {
    keyed_hex16(secret, &[round_id, item_id, &k.to_string()])
}

/// The canary string of a round: `MEDBENCH-CANARY-<round id>-<16 hex of HMAC>`.
pub fn canary(secret: &[u8], round_id: &str) -> String {
    format!(
        "{CANARY_PREFIX}{round_id}-{}",
        keyed_hex16(secret, &["canary", round_id])
    )
}

/// What every canary starts with.
pub const CANARY_PREFIX: &str = "MEDBENCH-CANARY-";

/// A seeded, portable 64-bit hash (FNV-1a, then a splitmix64 finaliser).
pub fn mix(seed: u64, s: &str) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325 ^ seed.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    for b in s.as_bytes() {
        h ^= *b as u64;
        h = h.wrapping_mul(0x0000_0100_0000_01B3);
    }
    splitmix(h)
}

pub(crate) fn splitmix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Find a round by id, unique id prefix or name.
pub fn find_round(bank: &SqliteBank, key: &str) -> Result<RoundRow> {
    let mut found = bank.find_rounds(key)?;
    if let Some(exact) = found.iter().position(|r| r.id == key || r.name == key) {
        return Ok(found.swap_remove(exact));
    }
    match found.len() {
        0 => Err(RoundError::UnknownRound(key.to_owned())),
        1 => Ok(found.remove(0)),
        n => Err(RoundError::AmbiguousRound(key.to_owned(), n)),
    }
}
