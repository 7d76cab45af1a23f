//! Records that come either one per line (JSONL, whatever the file is called)
//! or as one JSON array (pretty-printed or not), read the same way.

use super::Sink;
use super::common::json_lines;
use super::wholejson::{Entry, for_each_entry, typed};
use crate::reject::Reject;
use std::io::Read;

/// Where a record sits: the line it starts on, and how to name its fields in messages
/// (`cop` in JSONL, `[3].cop` in an array, where several elements may share a line).
pub struct At {
    pub line: usize,
    array_index: Option<usize>,
}

impl At {
    pub fn field(&self, name: &str) -> String {
        match self.array_index {
            Some(i) => format!("[{i}].{name}"),
            None => name.to_owned(),
        }
    }
}

/// Read `T` records from JSONL or from a JSON array, whichever the content is.
pub fn json_records<T: serde::de::DeserializeOwned>(
    reader: impl Read,
    display: &str,
    sink: &mut Sink<'_>,
    mut f: impl FnMut(&At, T, &mut Sink<'_>),
) {
    let (first, mut reader) = match first_byte(reader) {
        Ok(x) => x,
        Err(e) => {
            sink(Err(Reject::file(display, format!("read error: {e}"))));
            return;
        }
    };
    if first != Some(b'[') {
        json_lines(reader, display, sink, |line, row: T, sink| {
            let at = At {
                line: line.number,
                array_index: None,
            };
            f(&at, row, sink)
        });
        return;
    }
    let res = for_each_entry(&mut reader, display, &mut |e: Entry, v| {
        let at = At {
            line: e.line,
            array_index: Some(e.n - 1),
        };
        match typed::<T>(v) {
            Ok(row) => f(&at, row, sink),
            Err((path, msg)) => sink(Err(field_reject(display, &e, &path, msg))),
        }
    });
    if let Err(r) = res {
        sink(Err(r));
    }
}

/// A reject for a typed-parse failure inside an array or object entry.
pub fn field_reject(display: &str, e: &Entry, path: &str, msg: String) -> Reject {
    // serde names a missing field only in its message.
    if let Some(name) = msg
        .strip_prefix("missing field `")
        .and_then(|r| r.split('`').next())
    {
        return Reject::at(display, e.line, Some(&e.field(name)), "missing");
    }
    Reject::at(display, e.line, Some(&e.field(path)), msg)
}

/// The first byte that is not a byte-order mark or whitespace, and a reader that still yields everything.
fn first_byte<'a>(mut reader: impl Read + 'a) -> std::io::Result<(Option<u8>, Box<dyn Read + 'a>)> {
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    let first = loop {
        if reader.read(&mut byte)? == 0 {
            break None;
        }
        seen.push(byte[0]);
        let b = byte[0];
        let in_bom = seen.len() <= 3 && [0xEF, 0xBB, 0xBF][..seen.len()] == seen[..];
        if !in_bom && !b.is_ascii_whitespace() {
            break Some(b);
        }
    };
    if seen.starts_with(&[0xEF, 0xBB, 0xBF]) {
        seen.drain(..3);
    }
    Ok((first, Box::new(std::io::Cursor::new(seen).chain(reader))))
}
