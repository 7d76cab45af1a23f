//! Streaming over the entries of a whole-document JSON file (an object keyed
//! by id, or an array), one entry in memory at a time.

use crate::lines::ENCODING_HINT;
use crate::reject::Reject;
use serde::de::{DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use std::fmt;
use std::io::Read;

/// Call `f(n, key, value)` for each entry: `key` is the object key, or `None` in an array.
pub fn for_each_entry(
    reader: &mut dyn Read,
    display: &str,
    f: &mut dyn FnMut(usize, Option<String>, Value),
) -> Result<(), Reject> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(reader));
    let r = EntrySeed { f }.deserialize(&mut de).and_then(|_| de.end());
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

struct EntrySeed<'f> {
    f: &'f mut dyn FnMut(usize, Option<String>, Value),
}

impl<'de> DeserializeSeed<'de> for EntrySeed<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for EntrySeed<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object or array of records")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut n = 0;
        while let Some(key) = map.next_key::<String>()? {
            n += 1;
            let v: Value = map.next_value()?;
            (self.f)(n, Some(key), v);
        }
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let mut n = 0;
        while let Some(v) = seq.next_element::<Value>()? {
            n += 1;
            (self.f)(n, None, v);
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
