//! Rejected input: where it was and what was expected.

use serde::Serialize;
use std::fmt;

/// One problem with the input. Printed as `file:line: field: message`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reject {
    pub file: String,
    /// 1-based line: of the record (JSONL, CSV) or of where the entry starts (a JSON array
    /// or object); `None` for whole-file problems.
    pub line: Option<usize>,
    /// The field path inside the record, e.g. `format.options[1].label`.
    pub field: Option<String>,
    pub message: String,
}

impl Reject {
    pub fn file(file: &str, message: impl Into<String>) -> Reject {
        Reject {
            file: file.to_owned(),
            line: None,
            field: None,
            message: message.into(),
        }
    }
    pub fn at(file: &str, line: usize, field: Option<&str>, message: impl Into<String>) -> Reject {
        Reject {
            file: file.to_owned(),
            line: Some(line),
            field: field.map(str::to_owned),
            message: message.into(),
        }
    }
}

impl fmt::Display for Reject {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some(l) = self.line {
            write!(f, ":{l}")?;
        }
        if let Some(field) = &self.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}
