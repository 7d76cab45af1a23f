//! Counts of the bank by every axis a curator asks about.

use serde::Serialize;
use std::collections::BTreeMap;

/// A count split into items with a reference and blind items.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Count {
    pub items: u64,
    pub blind: u64,
}

impl Count {
    fn add(&mut self, n: u64, blind: bool) {
        self.items += n;
        if blind {
            self.blind += n;
        }
    }
}

/// The bank by track, dimension, task, specialty, language, format and review status.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BankStats {
    pub total: Count,
    /// Stored versions, including superseded ones.
    pub versions: u64,
    pub media: u64,
    pub tracks: BTreeMap<String, Count>,
    pub dimensions: BTreeMap<String, Count>,
    pub tasks: BTreeMap<String, Count>,
    /// An item with two specialties counts under both; items without one count under `(none)`.
    pub specialties: BTreeMap<String, Count>,
    pub languages: BTreeMap<String, Count>,
    pub formats: BTreeMap<String, Count>,
    pub review: BTreeMap<String, Count>,
}

pub(crate) struct StatsRow {
    pub track: String,
    pub dimension: String,
    pub task: String,
    pub language: String,
    pub format: String,
    pub review: String,
    pub specialty: Option<String>,
    pub specialty2: Option<String>,
    pub blind: bool,
    pub count: u64,
}

impl BankStats {
    pub(crate) fn from_rows(rows: &[StatsRow], media: u64, versions: u64) -> BankStats {
        let mut s = BankStats {
            media,
            versions,
            ..Default::default()
        };
        for r in rows {
            let (n, b) = (r.count, r.blind);
            s.total.add(n, b);
            s.tracks.entry(r.track.clone()).or_default().add(n, b);
            s.dimensions
                .entry(r.dimension.clone())
                .or_default()
                .add(n, b);
            s.tasks.entry(r.task.clone()).or_default().add(n, b);
            s.languages.entry(r.language.clone()).or_default().add(n, b);
            s.formats.entry(r.format.clone()).or_default().add(n, b);
            s.review.entry(r.review.clone()).or_default().add(n, b);
            match (&r.specialty, &r.specialty2) {
                (None, None) => s.specialties.entry("(none)".into()).or_default().add(n, b),
                (a, c) => {
                    for sp in a.iter().chain(c.iter()) {
                        s.specialties.entry(sp.clone()).or_default().add(n, b);
                    }
                }
            }
        }
        s
    }
}
