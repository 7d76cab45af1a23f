//! Display names for track and dimension keys.

use medbench_core::{Dimension, Track};

/// English and Chinese display names of a dimension key. Keys that are not a
/// known [`Dimension`] are shown as they are, with no Chinese name.
pub fn dimension_label(key: &str) -> (String, Option<String>) {
    match key.parse::<Dimension>() {
        Ok(d) => (d.name_en().to_owned(), Some(d.name_zh().to_owned())),
        Err(_) => (key.to_owned(), None),
    }
}

/// English and Chinese display names of a track key. Unknown keys are shown
/// as they are, with no Chinese name.
pub fn track_label(key: &str) -> (String, Option<String>) {
    match key.parse::<Track>() {
        Ok(Track::Llm) => ("LLM".into(), Some("大语言模型".into())),
        Ok(Track::Multimodal) => ("Multimodal".into(), Some("多模态".into())),
        Ok(Track::Agent) => ("Agent".into(), Some("智能体".into())),
        Err(_) => (key.to_owned(), None),
    }
}

/// Dimension keys of a track in report order: the order of
/// [`Track::dimensions`] for known tracks, then any others as listed.
pub(crate) fn ordered_dimensions(track: &str, listed: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    if let Ok(t) = track.parse::<Track>() {
        for d in t.dimensions() {
            if listed.iter().any(|l| l == d.as_str()) {
                out.push(d.as_str().to_owned());
            }
        }
    }
    for l in listed {
        if !out.contains(l) {
            out.push(l.clone());
        }
    }
    out
}

/// Sort key putting known tracks in their canonical order before others.
pub(crate) fn track_rank(key: &str) -> (usize, String) {
    let i = key
        .parse::<Track>()
        .ok()
        .and_then(|t| Track::ALL.iter().position(|x| *x == t))
        .unwrap_or(Track::ALL.len());
    (i, key.to_owned())
}

/// Sort key putting known dimensions in their canonical order before others.
pub(crate) fn dimension_rank(key: &str) -> (usize, String) {
    let i = key
        .parse::<Dimension>()
        .ok()
        .and_then(|d| Dimension::ALL.iter().position(|x| *x == d))
        .unwrap_or(Dimension::ALL.len());
    (i, key.to_owned())
}
