//! # medbench-core
//!
//! The vocabulary every other medbench crate speaks: [`Item`], [`Track`],
//! [`Dimension`], [`Format`], [`Reference`], the task [`Catalog`] and the
//! specialty [`Taxonomy`]. Pure data and validation: no files, no network,
//! no database. Storage, providers, scorers, the judge, the server and the
//! CLI depend on this crate, never the other way round.

pub mod catalog;
pub mod format;
pub mod item;
pub mod label;
pub mod recipe;
pub mod track;
pub mod variant;

pub use catalog::{Catalog, CatalogError, Specialty, TaskInfo, Taxonomy};
pub use format::{
    Choice, Criterion, Format, FormatKind, LabelledBox, OpenReference, Reference, ReferenceError,
    ToolCall, YesNoMaybe,
};
pub use item::{FieldError, Item, Media, Message, Provenance, ReviewStatus};
pub use recipe::{Component, Metric, Recipe, RecipeBasis, applied_by};
pub use track::{Dimension, Track};
pub use variant::Variant;
