//! Streaming over the entries of a whole-document JSON file (an object keyed
//! by id, or an array), one entry in memory at a time, knowing the line each
//! entry starts on.

use crate::lines::ENCODING_HINT;
use crate::reject::Reject;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::cell::RefCell;
use std::fmt;
use std::io::Read;
use std::rc::Rc;

/// Where an entry is: its 1-based number, the line its key (object) or value
/// (array) starts on, and its key in an object.
pub struct Entry {
    pub n: usize,
    pub line: usize,
    pub key: Option<String>,
}

impl Entry {
    /// The field path of `path` inside this entry: `[3].cop` in an array, `12345.cop` in an object.
    pub fn field(&self, path: &str) -> String {
        let base = match &self.key {
            Some(k) => k.clone(),
            None => format!("[{}]", self.n - 1),
        };
        if path.is_empty() || path == "." {
            base
        } else {
            format!("{base}.{path}")
        }
    }
}

/// Call `f(entry, value)` for each entry of the document.
pub fn for_each_entry(
    reader: &mut dyn Read,
    display: &str,
    f: &mut dyn FnMut(Entry, Value),
) -> Result<(), Reject> {
    let starts = Rc::new(RefCell::new(Starts::default()));
    let tracked = Tracker {
        inner: std::io::BufReader::new(reader),
        starts: Rc::clone(&starts),
    };
    let mut de = serde_json::Deserializer::from_reader(tracked);
    let r = EntrySeed { f, starts: &starts }
        .deserialize(&mut de)
        .and_then(|_| de.end());
    r.map_err(|e| {
        let mut msg = if e.is_eof() {
            "truncated JSON: the file ends before the document is complete".to_owned()
        } else {
            format!("invalid JSON: {e}")
        };
        if msg.contains("unicode") || msg.contains("UTF-8") {
            msg = format!("{msg}; {ENCODING_HINT}");
        }
        Reject::at(display, e.line(), None, msg)
    })
}

/// The lexical state needed to see where each top-level entry begins.
#[derive(Default)]
struct Starts {
    line: usize,
    depth: usize,
    in_string: bool,
    escaped: bool,
    expecting: bool,
    /// Start lines of the entries seen so far, in order.
    lines: Vec<usize>,
}

impl Starts {
    fn feed(&mut self, bytes: &[u8]) {
        for &b in bytes {
            if self.line == 0 {
                self.line = 1;
            }
            if self.in_string {
                if self.escaped {
                    self.escaped = false;
                } else if b == b'\\' {
                    self.escaped = true;
                } else if b == b'"' {
                    self.in_string = false;
                }
                continue;
            }
            if b == b'\n' {
                self.line += 1;
                continue;
            }
            if b.is_ascii_whitespace() {
                continue;
            }
            if self.expecting && self.depth == 1 && b != b']' && b != b'}' {
                self.lines.push(self.line);
                self.expecting = false;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    if self.depth == 1 {
                        self.expecting = true;
                    }
                }
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                b',' if self.depth == 1 => self.expecting = true,
                _ => {}
            }
        }
    }
}

/// A reader that reports every byte it hands on to [`Starts`]. serde_json reads
/// ahead by at most one byte, so an entry's start is known once it is parsed.
struct Tracker<R> {
    inner: R,
    starts: Rc<RefCell<Starts>>,
}

impl<R: Read> Read for Tracker<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.starts.borrow_mut().feed(&buf[..n]);
        Ok(n)
    }
}

struct EntrySeed<'f, 's> {
    f: &'f mut dyn FnMut(Entry, Value),
    starts: &'s RefCell<Starts>,
}

impl EntrySeed<'_, '_> {
    fn line_of(&self, n: usize) -> usize {
        let s = self.starts.borrow();
        s.lines.get(n - 1).copied().unwrap_or(s.line.max(1))
    }
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_, '_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_, '_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or array of records")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut n = 0;
        while let Some(key) = map.next_key::<String>()? {
            n += 1;
            let v: Value = map.next_value()?;
            let line = self.line_of(n);
            (self.f)(
                Entry {
                    n,
                    line,
                    key: Some(key),
                },
                v,
            );
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0;
        while let Some(v) = seq.next_element::<Value>()? {
            n += 1;
            let line = self.line_of(n);
            (self.f)(Entry { n, line, key: None }, v);
        }
        Ok(())
    }
}

/// Parse one entry into a typed row, naming the failing field.
pub fn typed<T: serde::de::DeserializeOwned>(v: Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize(v).map_err(|e| {
        let path = e.path().to_string();
        (path, e.into_inner().to_string())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn starts(text: &str) -> Vec<(usize, usize, Option<String>)> {
        let mut got = Vec::new();
        for_each_entry(&mut text.as_bytes(), "t.json", &mut |e, _| {
            got.push((e.n, e.line, e.key))
        })
        .unwrap();
        got
    }

    #[test]
    fn entries_know_the_line_they_start_on() {
        let pretty = "[\n  {\n    \"a\": \"x,\\\"]{\",\n    \"b\": [1, {\"c\": 2}]\n  },\n\n  {\"a\": 3}, 7\n]\n";
        assert_eq!(
            starts(pretty),
            vec![(1, 2, None), (2, 7, None), (3, 7, None)]
        );
        let keyed = "{\n \"111\": {\"q\": \"[\"},\n \"222\":\n   {\"q\": 1}\n}";
        assert_eq!(
            starts(keyed),
            vec![(1, 2, Some("111".into())), (2, 3, Some("222".into()))]
        );
        assert_eq!(starts("[]"), vec![]);
    }

    #[test]
    fn field_paths_name_the_entry() {
        let e = Entry {
            n: 4,
            line: 9,
            key: None,
        };
        assert_eq!(e.field("cop"), "[3].cop");
        assert_eq!(e.field(""), "[3]");
    }
}
