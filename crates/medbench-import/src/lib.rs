//! # medbench-import
//!
//! Reads the formats medical benchmarks really ship in — our native JSONL,
//! MedBench v4 downloads, MedQA, MedMCQA (and JSON arrays in its shape),
//! MMLU/CMMLU CSV, PubMedQA, HealthBench, MedAgentBench, VQA-RAD — from files,
//! directories or zips, and imports them into a [`medbench_store::Bank`].
//!
//! Item ids come from the source: the record's own id where it has one, else a
//! short hash of the question and its options ([`formats::ids`]), so two files of
//! one data set never overwrite each other.
//!
//! Import is streaming (one reader thread parses, validates and hashes; the
//! calling thread writes) and transactional (any reject, unless the caller
//! asked to skip invalid records, rolls the whole import back).

pub mod formats;
pub mod lines;
mod reject;
pub mod source;

pub use formats::{Context, Detected, InputFormat, classify, detect, guess_language};
pub use reject::Reject;

use formats::{MediaBlob, Unit};
use medbench_core::{Catalog, Media, ReviewStatus, Taxonomy};
use medbench_store::{Bank, ItemRow, PutOutcome, SourceFileRow, SourceRowRow, StoreError};
use serde::Serialize;
use source::{MediaRoot, SourceFile};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::mpsc;

/// Something to import.
#[derive(Debug, Clone)]
pub enum Input {
    /// A file, a directory (read recursively) or a zip.
    Path(PathBuf),
    /// Text compiled into the binary, with its media (the demo bank).
    Embedded {
        name: &'static str,
        text: &'static str,
        media: fn(&str) -> Option<&'static [u8]>,
    },
}

/// How to import.
pub struct ImportOptions {
    /// `None` detects the format of each file.
    pub format: Option<InputFormat>,
    /// Import the valid records and list the rest, instead of rolling back.
    pub skip_invalid: bool,
    /// Task name for third-party formats (default: the data set's name).
    pub task: Option<String>,
    /// Review status for formats that carry none.
    pub review: ReviewStatus,
    pub catalog: Catalog,
    pub taxonomy: Taxonomy,
    /// How many rejects to keep for the report (all are counted).
    pub max_listed_rejects: usize,
}

impl Default for ImportOptions {
    fn default() -> Self {
        ImportOptions {
            format: None,
            skip_invalid: false,
            task: None,
            review: ReviewStatus::Approved,
            catalog: Catalog::builtin(),
            taxonomy: Taxonomy::builtin(),
            max_listed_rejects: 1000,
        }
    }
}

/// One data file read.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub file: String,
    pub format: String,
    /// Records read from it without a problem.
    pub items: u64,
    /// Why a file was not read as data (`format` is then `skipped`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImportReport {
    pub files: Vec<FileReport>,
    pub imported: u64,
    pub updated: u64,
    pub unchanged: u64,
    /// Same content, new review status.
    pub review_changed: u64,
    /// Records (or whole files) rejected.
    pub rejected: u64,
    /// The first rejects, for display; `rejected` counts them all.
    pub rejects: Vec<Reject>,
    /// False when the import was rolled back because something was rejected.
    pub committed: bool,
    /// Records read without a problem (written only if committed).
    pub valid: u64,
}

enum Msg {
    File(FileReport),
    Item {
        row: Box<ItemRow>,
        origin: String,
        blobs: Vec<MediaBlob>,
        missing: Vec<(usize, Media, String)>,
    },
    Rejected(Reject),
    /// A data file's place and raw lines (medbench-v4 files), for the answer export.
    Source {
        display: String,
        file: SourceFileRow,
        rows: Vec<SourceRowRow>,
    },
}

/// Progress so far, for a progress bar.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub records: u64,
    pub rejected: u64,
}

const BATCH: usize = 512;

/// Import `inputs` into `bank` in one transaction.
pub fn import(
    bank: &mut dyn Bank,
    inputs: Vec<Input>,
    opts: ImportOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ImportReport, StoreError> {
    let source = inputs
        .iter()
        .map(|i| match i {
            Input::Path(p) => p.display().to_string(),
            Input::Embedded { name, .. } => format!("embedded:{name}"),
        })
        .collect::<Vec<_>>()
        .join(", ");
    let (tx, rx) = mpsc::sync_channel::<Vec<Msg>>(64);
    let ImportOptions {
        format,
        skip_invalid,
        task,
        review,
        catalog,
        taxonomy,
        max_listed_rejects,
    } = opts;
    let producer = std::thread::spawn(move || {
        let ctx = Context {
            catalog,
            taxonomy,
            task,
            review,
        };
        produce(inputs, format, &ctx, tx);
    });

    let mut report = ImportReport::default();
    let mut last_reject: Option<(String, Option<usize>)> = None;
    let mut writing = true;
    let mut session = bank.begin_import(&source)?;
    let mut note_reject = |report: &mut ImportReport, r: Reject| {
        let key = (r.file.clone(), r.line);
        if r.line.is_none() || last_reject.as_ref() != Some(&key) {
            report.rejected += 1;
        }
        last_reject = Some(key);
        if report.rejects.len() < max_listed_rejects {
            report.rejects.push(r);
        }
    };
    let mut result = Ok(());
    // Places of source files kept in this import: two files in one place cannot both be kept.
    let mut places: HashMap<(String, String), String> = HashMap::new();
    for batch in rx {
        for msg in batch {
            match msg {
                Msg::File(f) => report.files.push(f),
                Msg::Source {
                    display,
                    file,
                    rows,
                } => {
                    let place = (file.container.clone(), file.path.clone());
                    if let Some(first) = places.get(&place) {
                        note_reject(
                            &mut report,
                            Reject::file(
                                &display,
                                format!(
                                    "{first} in this import has the same place (`{}`); the answer export could not tell them apart, so import them separately",
                                    if file.container.is_empty() {
                                        file.path.clone()
                                    } else {
                                        format!("{}!{}", file.container, file.path)
                                    }
                                ),
                            ),
                        );
                        if !skip_invalid {
                            writing = false;
                        }
                        continue;
                    }
                    places.insert(place, display);
                    if writing && let Err(e) = session.put_source_file(&file, &rows) {
                        result = Err(e);
                        writing = false;
                    }
                }
                Msg::Rejected(r) => {
                    note_reject(&mut report, r);
                    if !skip_invalid {
                        writing = false;
                    }
                }
                Msg::Item {
                    row,
                    origin,
                    blobs,
                    missing,
                } => {
                    report.valid += 1;
                    if !writing {
                        continue;
                    }
                    match write_item(&mut *session, &row, &origin, &blobs, &missing) {
                        Ok(Ok(outcome)) => match outcome {
                            PutOutcome::Imported => report.imported += 1,
                            PutOutcome::Updated { .. } => report.updated += 1,
                            PutOutcome::Unchanged => report.unchanged += 1,
                            PutOutcome::ReviewChanged => report.review_changed += 1,
                            PutOutcome::Duplicate { .. } => unreachable!("handled in write_item"),
                        },
                        Ok(Err(rejects)) => {
                            report.valid -= 1;
                            for r in rejects {
                                note_reject(&mut report, r);
                            }
                            if !skip_invalid {
                                writing = false;
                            }
                        }
                        Err(e) => {
                            result = Err(e);
                            writing = false;
                        }
                    }
                }
            }
        }
        progress(Progress {
            records: report.valid + report.rejected,
            rejected: report.rejected,
        });
    }
    producer
        .join()
        .expect("the import reader thread does not panic");
    result?;
    if writing && (report.rejected == 0 || skip_invalid) {
        session.commit()?;
        report.committed = true;
    } else {
        drop(session);
        report.imported = 0;
        report.updated = 0;
        report.unchanged = 0;
        report.review_changed = 0;
    }
    Ok(report)
}

/// Write one item and its media; rejects come back as `Ok(Err(..))`.
fn write_item(
    session: &mut dyn medbench_store::ImportSession,
    row: &ItemRow,
    origin: &str,
    blobs: &[MediaBlob],
    missing: &[(usize, Media, String)],
) -> Result<Result<PutOutcome, Vec<Reject>>, StoreError> {
    let mut rejects = Vec::new();
    for (i, m, why) in missing {
        if !session.has_media(&m.sha256)? {
            let (file, line) = split_origin(origin);
            rejects.push(Reject::at(
                &file,
                line,
                Some(&format!("media[{i}]")),
                format!("{why}; the bank does not hold sha256 {} either", m.sha256),
            ));
        }
    }
    if !rejects.is_empty() {
        return Ok(Err(rejects));
    }
    for b in blobs {
        if !session.has_media(&b.media.sha256)? {
            session.put_media(&b.media.sha256, &b.media.media_type, &b.bytes)?;
        }
    }
    Ok(match session.put(row, origin)? {
        PutOutcome::Duplicate { first_origin } => Err(vec![Reject::at(
            &split_origin(origin).0,
            split_origin(origin).1,
            Some("id"),
            format!(
                "`{}` appears more than once in this import (first at {first_origin})",
                row.id
            ),
        )]),
        other => Ok(other),
    })
}

fn split_origin(origin: &str) -> (String, usize) {
    match origin.rsplit_once(':') {
        Some((f, l)) => (f.to_owned(), l.parse().unwrap_or(0)),
        None => (origin.to_owned(), 0),
    }
}

/// The reader thread: visit every input, detect, parse, validate, hash.
fn produce(
    inputs: Vec<Input>,
    format: Option<InputFormat>,
    ctx: &Context,
    tx: mpsc::SyncSender<Vec<Msg>>,
) {
    let flush = |batch: &mut Vec<Msg>, force: bool| {
        if force || batch.len() >= BATCH {
            let full = std::mem::replace(batch, Vec::with_capacity(BATCH));
            // The writer only stops listening on a database error; then there is nothing left to do.
            let _ = tx.send(full);
        }
    };
    let read_one = |src: SourceFile<'_>, batch: &mut Vec<Msg>| {
        let display = src.display.clone();
        let origin = src.origin.clone();
        let (head, src) = formats::peek(src);
        // Companion files (a tool list, recorded server responses) are skipped with a note,
        // even under --format: they hold no items in any format.
        let fmt = match (formats::classify(&src.name, &head), format) {
            (Ok(formats::Detected::Companion(what)), _) => {
                batch.push(Msg::File(FileReport {
                    file: display,
                    format: "skipped".into(),
                    items: 0,
                    note: Some(format!("skipped: {what}")),
                }));
                return;
            }
            (_, Some(f)) => f,
            (Ok(formats::Detected::Format(f)), None) => f,
            (Err(m), None) => {
                batch.push(Msg::Rejected(Reject::file(&display, m)));
                return;
            }
        };
        let mut items = 0u64;
        formats::read(fmt, src, ctx, &mut |r: Result<Unit, Reject>| {
            match r {
                Ok(unit) => {
                    items += 1;
                    batch.push(Msg::Item {
                        row: Box::new(ItemRow::prepare(&unit.item)),
                        origin: format!("{display}:{}", unit.line),
                        blobs: unit.blobs,
                        missing: unit.missing,
                    });
                }
                Err(rej) => batch.push(Msg::Rejected(rej)),
            }
            flush(batch, false);
        });
        if let Some(kept) = origin.kept.borrow_mut().take() {
            batch.push(Msg::Source {
                display: display.clone(),
                file: SourceFileRow {
                    container: origin.container,
                    path: origin.path,
                    eol: kept.eol,
                    final_eol: kept.final_eol,
                },
                rows: kept.rows,
            });
        }
        batch.push(Msg::File(FileReport {
            file: display,
            format: fmt.to_string(),
            items,
            note: None,
        }));
    };
    // Both the file visitor and its reject callback add to the batch.
    let shared = std::cell::RefCell::new(Vec::with_capacity(BATCH));
    for input in inputs {
        match input {
            Input::Path(p) => source::visit(
                &p,
                &mut |src| read_one(src, &mut shared.borrow_mut()),
                &mut |rej| shared.borrow_mut().push(Msg::Rejected(rej)),
            ),
            Input::Embedded { name, text, media } => read_one(
                SourceFile {
                    display: format!("embedded:{name}"),
                    name: name.to_owned(),
                    reader: Box::new(text.as_bytes()),
                    media: MediaRoot::Embedded(media),
                    origin: source::Origin::new("", name),
                },
                &mut shared.borrow_mut(),
            ),
        }
    }
    flush(&mut shared.borrow_mut(), true);
}
