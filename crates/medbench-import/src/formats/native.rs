//! Our own JSONL: one `medbench_core::Item` per line (docs/item-format.md).

use super::common::{finish, json_lines};
use super::{Context, MediaBlob, Sink};
use crate::source::SourceFile;
use medbench_core::Item;
use medbench_core::item::sha256_hex;

pub fn read(src: SourceFile<'_>, ctx: &Context, sink: &mut Sink<'_>) {
    let SourceFile {
        display,
        reader,
        mut media,
        ..
    } = src;
    json_lines(reader, &display, sink, |line, item: Item, sink| {
        let mut unit = match finish(item, line.number, &display, ctx) {
            Ok(u) => u,
            Err(rs) => {
                rs.into_iter().for_each(|r| sink(Err(r)));
                return;
            }
        };
        let mut bad = false;
        for (i, m) in unit.item.media.iter().enumerate() {
            match media.read(&m.name) {
                Ok(bytes) => {
                    let got = sha256_hex(&bytes);
                    if got != m.sha256 {
                        sink(Err(crate::Reject::at(
                            &display,
                            line.number,
                            Some(&format!("media[{i}].sha256")),
                            format!(
                                "the file `{}` has sha256 {got}, the record says {}",
                                m.name, m.sha256
                            ),
                        )));
                        bad = true;
                    } else {
                        unit.blobs.push(MediaBlob {
                            media: m.clone(),
                            bytes,
                        });
                    }
                }
                // Not beside the file: the bank may already hold it (checked by the writer).
                Err(why) => unit.missing.push((i, m.clone(), why)),
            }
        }
        if !bad {
            sink(Ok(unit));
        }
    });
}
