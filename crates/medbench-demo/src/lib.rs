//! # medbench-demo
//!
//! The demo item bank that ships inside the medbench binary, so a fresh
//! install can run a complete evaluation round without downloading anything.
//!
//! It holds original items written for medbench (CC-BY-4.0, `provenance.source
//! = "medbench-demo"`), in Chinese and English, covering all three tracks
//! (LLM, multimodal, agent), every dimension of each track and every answer
//! format of [`medbench_core::FormatKind`]. Every item carries a reference
//! answer and is `approved`, so it can enter test pools directly.
//!
//! * [`files`]: the embedded JSONL files, one per task (`data/<Task>.jsonl`),
//!   one item per line in the native [`Item`] JSON shape.
//! * [`items`]: all items, parsed.
//! * [`media`]: the bytes of the synthetic, clearly schematic PNG images that
//!   multimodal items reference by [`medbench_core::Media::name`]; drawn by
//!   `tools/make_images.py` so that detection boxes, heart rates and lab
//!   values in the references are exact.
//! * [`catalog`]: the task catalogue of the demo tasks (`data/tasks.toml`).
//! * [`AGENT_FIXTURE_JSON`]: the fictional EHR that the `DemoAgentFHIR`
//!   episodes are played against.
//!
//! The crate's tests check that every line parses and validates, that media
//! hashes match, that SQL references execute on their fixtures, and more.

use medbench_core::{Catalog, Item};
use sha2::{Digest, Sha256};

/// One embedded JSONL file of the demo bank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DemoFile {
    /// File name, e.g. `DemoExam.jsonl` (the task name plus `.jsonl`).
    pub name: &'static str,
    /// The file's text: one item per line.
    pub text: &'static str,
}

macro_rules! data_files {
    ($($name:literal),* $(,)?) => {
        &[$(DemoFile { name: $name, text: include_str!(concat!("../data/", $name)) }),*]
    };
}

macro_rules! media_files {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_bytes!(concat!("../media/", $name)) as &[u8])),*]
    };
}

static FILES: &[DemoFile] = data_files!(
    "DemoAgentFHIR.jsonl",
    "DemoCallAPI.jsonl",
    "DemoCase.jsonl",
    "DemoConsult.jsonl",
    "DemoDDx.jsonl",
    "DemoDetect.jsonl",
    "DemoDoseCalc.jsonl",
    "DemoDrugCA.jsonl",
    "DemoECG.jsonl",
    "DemoEthicsEN.jsonl",
    "DemoExam.jsonl",
    "DemoExamEN.jsonl",
    "DemoExplain.jsonl",
    "DemoExtract.jsonl",
    "DemoFactEN.jsonl",
    "DemoImgDecision.jsonl",
    "DemoInsureCalc.jsonl",
    "DemoIntent.jsonl",
    "DemoLabRead.jsonl",
    "DemoLitQA.jsonl",
    "DemoNER.jsonl",
    "DemoPathPlan.jsonl",
    "DemoSQL.jsonl",
    "DemoSafety.jsonl",
    "DemoSeqIm.jsonl",
    "DemoShield.jsonl",
    "DemoSummary.jsonl",
    "DemoTerm.jsonl",
    "DemoTriage.jsonl",
);

static MEDIA: &[(&str, &[u8])] = media_files!(
    "det_01.png",
    "det_02.png",
    "det_03.png",
    "det_04.png",
    "det_05.png",
    "ecg_01.png",
    "ecg_02.png",
    "ecg_03.png",
    "ecg_04.png",
    "ecg_05.png",
    "ecg_06.png",
    "lab_01.png",
    "lab_02.png",
    "lab_03.png",
    "lab_04.png",
    "lab_05.png",
    "seq_01a.png",
    "seq_01b.png",
    "seq_02a.png",
    "seq_02b.png",
    "seq_03a.png",
    "seq_03b.png",
    "seq_04a.png",
    "seq_04b.png",
);

/// The task catalogue of the demo tasks, in the layout of medbench-core's `tasks.toml`.
pub const CATALOG_TOML: &str = include_str!("../data/tasks.toml");

/// The fictional EHR (patients and observations, JSON) behind the
/// `DemoAgentFHIR` agent episodes; an agent environment serves its tools from it.
pub const AGENT_FIXTURE_JSON: &str = include_str!("../data/agent_fixture.json");

/// The embedded JSONL files, one per task.
pub fn files() -> &'static [DemoFile] {
    FILES
}

/// The bytes of an embedded image, looked up by its `Media.name` (e.g. `det_01.png`).
pub fn media(name: &str) -> Option<&'static [u8]> {
    MEDIA
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, bytes)| *bytes)
}

/// Names of all embedded media files.
pub fn media_names() -> impl Iterator<Item = &'static str> {
    MEDIA.iter().map(|(n, _)| *n)
}

/// An embedded media file by the SHA-256 (lower-case hex) of its bytes, as a
/// media store addressed by hash looks it up.
pub fn media_by_sha256(sha256: &str) -> Option<(&'static str, &'static [u8])> {
    MEDIA
        .iter()
        .find(|(_, bytes)| sha256_hex(bytes).eq_ignore_ascii_case(sha256))
        .map(|(n, b)| (*n, *b))
}

/// Lower-case hex SHA-256 of `bytes`, the form `Media.sha256` uses.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// All demo items, parsed, in file order.
///
/// The data is embedded at compile time and the crate's tests guarantee that
/// every line parses, so this does not fail at run time.
pub fn items() -> Vec<Item> {
    FILES
        .iter()
        .flat_map(|f| {
            f.text
                .lines()
                .filter(|l| !l.trim().is_empty())
                .map(move |l| {
                    serde_json::from_str(l).unwrap_or_else(|e| {
                        panic!("embedded demo file {} has an invalid line: {e}", f.name)
                    })
                })
        })
        .collect()
}

/// The demo task catalogue, parsed from [`CATALOG_TOML`].
pub fn catalog() -> Catalog {
    Catalog::parse(CATALOG_TOML).expect("the demo task catalogue parses")
}
