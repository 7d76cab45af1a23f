//! # medbench-store
//!
//! The item bank behind a trait ([`Bank`]) so that the embedded SQLite
//! implementation ([`SqliteBank`]) can later be joined by PostgreSQL.
//!
//! Items are versioned: the head of each id lives in `items`, every version's
//! content in `item_versions`. Re-importing identical content changes
//! nothing; changed content becomes a new version and the old one is kept.
//! An import runs inside one transaction, so a failed import leaves the bank
//! exactly as it was.

mod judging;
mod platform;
mod rounds;
mod row;
mod runs;
mod sources;
mod sqlite;
mod stats;

pub use judging::{CalibrationRow, JudgeCacheEntry, JudgementRow, RatingRow};
pub use platform::{JobRow, RunIndexRow, TokenOwner, TokenRow, UserRow};
pub use rounds::{Candidate, Exposure, InstanceRow, RoundRow};
pub use row::{ItemRow, RowError};
pub use runs::{
    CachedAnswer, ResponseRow, RunItemRow, RunRow, RunUsage, ScoreRow, StoredAnswer, instance_key,
};
pub use sources::{SourceFileRow, SourceRowRow};
pub use sqlite::SqliteBank;
pub use stats::{BankStats, Count};

use medbench_core::{FormatKind, Item, ReviewStatus, Track};

/// Errors from the storage layer.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("stored item `{id}` version {version} cannot be read back: {message}")]
    Corrupt {
        id: String,
        version: u32,
        message: String,
    },
    #[error("{0}")]
    Unsupported(String),
    #[error(
        "the database at {path} was written by a newer medbench (schema {found}, this build knows {known})"
    )]
    SchemaTooNew {
        path: String,
        found: i64,
        known: i64,
    },
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Open a bank from a URL: a plain path, `sqlite://PATH`, or `sqlite::memory:`.
pub fn open(url: &str) -> Result<Box<dyn Bank>> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Err(StoreError::Unsupported(
            "PostgreSQL banks are not available in this build yet; use a SQLite path (the default is ./medbench.db)".into(),
        ));
    }
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))
        .unwrap_or(url);
    Ok(Box::new(SqliteBank::open(path)?))
}

/// What happened to one item in an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOutcome {
    /// New id.
    Imported,
    /// Content changed: the new content is version `to`; version `from` is kept.
    Updated { from: u32, to: u32 },
    /// Same content; only the review status changed.
    ReviewChanged,
    /// Same content and status.
    Unchanged,
    /// The id was already written earlier in this same import.
    Duplicate { first_origin: String },
}

/// Filters for listing, counting and exporting items. Empty fields match everything.
#[derive(Debug, Clone, Default)]
pub struct ItemFilter {
    pub tracks: Vec<Track>,
    pub dimensions: Vec<String>,
    pub tasks: Vec<String>,
    /// A primary code (`03`) also matches its secondary codes (`03.04`).
    pub specialties: Vec<String>,
    pub languages: Vec<String>,
    pub formats: Vec<FormatKind>,
    pub review: Vec<ReviewStatus>,
    /// `Some(true)`: only blind items; `Some(false)`: only items with a reference.
    pub blind: Option<bool>,
}

/// A short description of an item, for listings.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ItemSummary {
    pub id: String,
    pub version: u32,
    pub task: String,
    pub track: String,
    pub dimension: String,
    pub language: String,
    pub format: String,
    pub specialties: Vec<String>,
    pub review: String,
    pub blind: bool,
}

/// One import, inside one transaction. Dropping it without [`ImportSession::commit`] rolls back.
pub trait ImportSession {
    /// Write one prepared item; `origin` is `file:line` for messages.
    fn put(&mut self, row: &ItemRow, origin: &str) -> Result<PutOutcome>;
    /// Store media bytes (idempotent by sha256).
    fn put_media(&mut self, sha256: &str, media_type: &str, bytes: &[u8]) -> Result<()>;
    /// True if the media store already holds this blob.
    fn has_media(&mut self, sha256: &str) -> Result<bool>;
    /// Keep where a data file came from and every raw line of it (with the item and
    /// variant each line became), replacing what an earlier import kept for the same
    /// `(file.container, file.path)`. Part of the import's transaction.
    fn put_source_file(&mut self, file: &SourceFileRow, rows: &[SourceRowRow]) -> Result<()>;
    /// Make everything written visible and durable.
    fn commit(self: Box<Self>) -> Result<()>;
}

/// The item bank.
pub trait Bank: Send {
    /// Start a transactional import. `source` is recorded in the import log.
    fn begin_import<'a>(&'a mut self, source: &str) -> Result<Box<dyn ImportSession + 'a>>;
    /// The head version of an item.
    fn get(&self, id: &str) -> Result<Option<Item>>;
    /// A given version of an item.
    fn get_version(&self, id: &str, version: u32) -> Result<Option<Item>>;
    /// Every stored version number of an item, oldest first.
    fn versions(&self, id: &str) -> Result<Vec<u32>>;
    /// Head items matching a filter, in id order.
    fn list(&self, filter: &ItemFilter, limit: usize, offset: usize) -> Result<Vec<ItemSummary>>;
    /// Visit every head item matching the filter, in id order, without loading them all.
    fn for_each(&self, filter: &ItemFilter, f: &mut dyn FnMut(Item) -> Result<()>) -> Result<()>;
    /// Counts by track, dimension, task, specialty, language, format and review status.
    fn stats(&self, filter: &ItemFilter) -> Result<BankStats>;
    /// Media bytes and type by sha256.
    fn media(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>>;
    /// Where the bank lives, for messages.
    fn location(&self) -> String;
}
