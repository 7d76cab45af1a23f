//! The stored form of an item: indexed columns plus a canonical JSON body.

use medbench_core::Item;

/// An item prepared for storage. Preparing (validation already done, hashing,
/// serialising) is the expensive part of an import and can run on another
/// thread than the database writer.
#[derive(Debug, Clone)]
pub struct ItemRow {
    pub id: String,
    /// The version the source asked for (used only when the id is new).
    pub version: u32,
    pub task: String,
    pub track: &'static str,
    pub dimension: &'static str,
    pub language: String,
    pub format: &'static str,
    pub specialty: Option<String>,
    pub specialty2: Option<String>,
    pub review: &'static str,
    pub difficulty: Option<u8>,
    pub blind: bool,
    pub content_hash: String,
    /// Canonical JSON of the item without `version` and `review`.
    pub body: String,
}

/// Error rebuilding an item from its row.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct RowError(pub String);

impl ItemRow {
    /// Hash and serialise an item once; the hash is SHA-256 of the body.
    pub fn prepare(item: &Item) -> ItemRow {
        let body = item.content_json();
        let content_hash = medbench_core::item::sha256_hex(body.as_bytes());
        ItemRow {
            id: item.id.clone(),
            version: item.version,
            task: item.task.clone(),
            track: item.track.as_str(),
            dimension: item.dimension.as_str(),
            language: item.language.clone(),
            format: item.format.kind().as_str(),
            specialty: item.specialties.first().cloned(),
            specialty2: item.specialties.get(1).cloned(),
            review: item.review.as_str(),
            difficulty: item.difficulty,
            blind: item.is_blind(),
            content_hash,
            body,
        }
    }

    /// Rebuild an item from a stored body, version and review status.
    pub fn decode(body: &str, version: u32, review: &str) -> Result<Item, RowError> {
        let mut item: Item = serde_json::from_str(body).map_err(|e| RowError(e.to_string()))?;
        item.version = version;
        item.review = review.parse().map_err(RowError)?;
        Ok(item)
    }
}
