//! The input formats, their detection and the shared record type.

mod common;
pub mod csv_mc;
mod detect;
pub mod healthbench;
pub mod ids;
pub mod medagentbench;
pub mod medmcqa;
pub mod medqa;
pub mod native;
pub mod pubmedqa;
mod records;
pub mod v4;
pub mod vqarad;
mod wholejson;

pub use detect::{Detected, classify, detect, peek};

use crate::reject::Reject;
use crate::source::SourceFile;
use medbench_core::{Catalog, Item, Media, ReviewStatus, Taxonomy};
use std::fmt;
use std::str::FromStr;

/// A supported input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputFormat {
    Native,
    MedbenchV4,
    Medqa,
    Medmcqa,
    MmluCsv,
    CmmluCsv,
    Pubmedqa,
    Healthbench,
    Medagentbench,
    VqaRad,
}

impl InputFormat {
    pub const ALL: [InputFormat; 10] = [
        InputFormat::Native,
        InputFormat::MedbenchV4,
        InputFormat::Medqa,
        InputFormat::Medmcqa,
        InputFormat::MmluCsv,
        InputFormat::CmmluCsv,
        InputFormat::Pubmedqa,
        InputFormat::Healthbench,
        InputFormat::Medagentbench,
        InputFormat::VqaRad,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            InputFormat::Native => "native",
            InputFormat::MedbenchV4 => "medbench-v4",
            InputFormat::Medqa => "medqa",
            InputFormat::Medmcqa => "medmcqa",
            InputFormat::MmluCsv => "mmlu-csv",
            InputFormat::CmmluCsv => "cmmlu-csv",
            InputFormat::Pubmedqa => "pubmedqa",
            InputFormat::Healthbench => "healthbench",
            InputFormat::Medagentbench => "medagentbench",
            InputFormat::VqaRad => "vqa-rad",
        }
    }
}

impl fmt::Display for InputFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for InputFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        InputFormat::ALL
            .into_iter()
            .find(|f| f.as_str() == s)
            .ok_or_else(|| {
                let all: Vec<_> = InputFormat::ALL.iter().map(|f| f.as_str()).collect();
                format!(
                    "unknown input format `{s}` (expected auto or one of {})",
                    all.join(", ")
                )
            })
    }
}

/// What the readers need besides the file.
pub struct Context {
    pub catalog: Catalog,
    pub taxonomy: Taxonomy,
    /// Overrides the task name a format would choose (third-party sets only).
    pub task: Option<String>,
    /// Review status for formats that carry none (everything but native).
    pub review: ReviewStatus,
}

/// Media bytes read alongside an item.
pub struct MediaBlob {
    pub media: Media,
    pub bytes: Vec<u8>,
}

/// One item read from the input, with where it came from.
pub struct Unit {
    pub item: Item,
    pub line: usize,
    /// Media whose bytes were found with the input.
    pub blobs: Vec<MediaBlob>,
    /// Media named by the item but not found with the input: the bank must already hold them.
    pub missing: Vec<(usize, Media, String)>,
}

impl Unit {
    pub fn new(item: Item, line: usize) -> Unit {
        Unit {
            item,
            line,
            blobs: Vec::new(),
            missing: Vec::new(),
        }
    }
}

/// Where readers send what they read.
pub type Sink<'a> = dyn FnMut(Result<Unit, Reject>) + 'a;

/// Read a whole source in the given format.
pub fn read(format: InputFormat, src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    match format {
        InputFormat::Native => native::read(src, ctx, sink),
        InputFormat::MedbenchV4 => v4::read(src, ctx, sink),
        InputFormat::Medqa => medqa::read_medqa(src, ctx, sink),
        InputFormat::Medmcqa => medmcqa::read(src, ctx, sink),
        InputFormat::MmluCsv => csv_mc::read(src, ctx, sink, false),
        InputFormat::CmmluCsv => csv_mc::read(src, ctx, sink, true),
        InputFormat::Pubmedqa => pubmedqa::read(src, ctx, sink),
        InputFormat::Healthbench => healthbench::read(src, ctx, sink),
        InputFormat::Medagentbench => medagentbench::read(src, ctx, sink),
        InputFormat::VqaRad => vqarad::read(src, ctx, sink),
    }
}

/// Rough language of a text by its script: `zh` when CJK ideographs dominate, and so on.
pub fn guess_language(text: &str) -> &'static str {
    let (mut han, mut latin, mut cyr, mut deva, mut arab, mut kana, mut hangul) =
        (0, 0, 0, 0, 0, 0, 0);
    for c in text.chars() {
        match c as u32 {
            0x4E00..=0x9FFF | 0x3400..=0x4DBF => han += 1,
            0x3040..=0x30FF => kana += 1,
            0xAC00..=0xD7AF => hangul += 1,
            0x0400..=0x04FF => cyr += 1,
            0x0900..=0x097F => deva += 1,
            0x0600..=0x06FF => arab += 1,
            _ if c.is_ascii_alphabetic() => latin += 1,
            _ => {}
        }
    }
    let best = [
        (kana, "ja"),
        (hangul, "ko"),
        (cyr, "ru"),
        (deva, "hi"),
        (arab, "ar"),
    ]
    .into_iter()
    .max_by_key(|(n, _)| *n)
    .filter(|(n, _)| *n > 0 && *n * 2 > latin);
    if kana > 0 && han > 0 {
        return "ja";
    }
    if han * 2 >= latin && han > 0 {
        return "zh";
    }
    best.map(|(_, l)| l).unwrap_or("en")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn language_by_script() {
        assert_eq!(guess_language("患者，男，45岁，头痛3天。"), "zh");
        assert_eq!(guess_language("A 45-year-old man has a headache."), "en");
        assert_eq!(guess_language("У пациента головная боль"), "ru");
    }
}
