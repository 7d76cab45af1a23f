//! Where imported MedBench v4 items came from, line by line.
//!
//! The official answer files are the downloaded files with `answer` filled in: same zip,
//! folder and file names, same rows in the same order, every other key and value as
//! downloaded. To write them back, an import of `medbench-v4` files keeps each file's
//! place (`source_files`) and every raw line (`source_rows`), with the item and variant
//! each line became. Re-importing a file replaces what was kept for the same place.

use crate::{Result, SqliteBank};
use rusqlite::{Connection, params};
use std::collections::{BTreeSet, HashSet};

/// Migration 6: the source files of imports and their raw lines.
pub(crate) const MIGRATION: &str = "
    CREATE TABLE source_files (
        id INTEGER PRIMARY KEY,
        container TEXT NOT NULL,
        path TEXT NOT NULL,
        eol TEXT NOT NULL,
        final_eol INTEGER NOT NULL,
        rows INTEGER NOT NULL,
        import_id INTEGER NOT NULL,
        UNIQUE (container, path)
    );
    CREATE TABLE source_rows (
        file_id INTEGER NOT NULL,
        line INTEGER NOT NULL,
        raw TEXT NOT NULL,
        item_id TEXT NOT NULL,
        variant INTEGER NOT NULL,
        PRIMARY KEY (file_id, line)
    ) WITHOUT ROWID;
    CREATE INDEX source_rows_item ON source_rows(item_id);";

/// Where an imported data file was, and how its lines end.
///
/// Writing every row's `raw` in line order, each followed by `eol` except the last,
/// which gets one only when `final_eol`, gives the file back byte for byte.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFileRow {
    /// The zip's file name (`MedBench_LLM.zip`), or `""` when the file was not in a zip.
    pub container: String,
    /// The entry path inside the zip (`MedBench_LLM/MedExam.jsonl`); otherwise the path
    /// relative to the directory given to the import, or the bare file name when a
    /// single file was given. Always with `/` separators.
    pub path: String,
    /// The line terminator, `"\n"` or `"\r\n"`. A file that mixes them gets `"\n"`,
    /// and its lines ended by `\r\n` keep the `\r` at the end of `raw`.
    pub eol: String,
    /// Whether the last line ends with a terminator.
    pub final_eol: bool,
}

/// One physical line of a source file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceRowRow {
    /// 1-based line number; a file's rows are lines `1..=n`, blank lines included.
    pub line: u64,
    /// The line exactly as in the file, without its terminator (the first line keeps a
    /// UTF-8 byte-order mark if the file had one).
    pub raw: String,
    /// The item the line became; `""` for a blank line or a row rejected under
    /// `--skip-invalid`.
    pub item_id: String,
    /// The index in the item's `variants` the line became (0 for an item without variants).
    pub variant: u32,
}

/// Store a file's place and rows inside an import's transaction, replacing whatever an
/// earlier import kept for the same `(container, path)`.
pub(crate) fn put(
    tx: &Connection,
    import_id: i64,
    file: &SourceFileRow,
    rows: &[SourceRowRow],
) -> Result<()> {
    let id: i64 = tx
        .prepare_cached(
            "INSERT INTO source_files (container, path, eol, final_eol, rows, import_id)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT (container, path) DO UPDATE SET
                eol = excluded.eol, final_eol = excluded.final_eol, rows = excluded.rows,
                import_id = excluded.import_id
             RETURNING id",
        )?
        .query_row(
            params![
                file.container,
                file.path,
                file.eol,
                file.final_eol,
                rows.len() as i64,
                import_id
            ],
            |r| r.get(0),
        )?;
    tx.prepare_cached("DELETE FROM source_rows WHERE file_id = ?1")?
        .execute([id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO source_rows (file_id, line, raw, item_id, variant) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for r in rows {
        insert.execute(params![id, r.line as i64, r.raw, r.item_id, r.variant])?;
    }
    Ok(())
}

impl SqliteBank {
    /// Every kept source file that holds a line of any of `item_ids`, with all its lines
    /// in line order (an answer export writes whole files). Files come in
    /// `(container, path)` order.
    pub fn source_layout(
        &self,
        item_ids: &HashSet<String>,
    ) -> Result<Vec<(SourceFileRow, Vec<SourceRowRow>)>> {
        let mut files = BTreeSet::new();
        {
            let mut st = self
                .conn
                .prepare_cached("SELECT DISTINCT file_id FROM source_rows WHERE item_id = ?1")?;
            for id in item_ids.iter().filter(|id| !id.is_empty()) {
                for f in st.query_map([id], |r| r.get::<_, i64>(0))? {
                    files.insert(f?);
                }
            }
        }
        let mut out = Vec::with_capacity(files.len());
        let mut file_st = self.conn.prepare_cached(
            "SELECT container, path, eol, final_eol FROM source_files WHERE id = ?1",
        )?;
        let mut rows_st = self.conn.prepare_cached(
            "SELECT line, raw, item_id, variant FROM source_rows WHERE file_id = ?1 ORDER BY line",
        )?;
        for id in files {
            let file = file_st.query_row([id], |r| {
                Ok(SourceFileRow {
                    container: r.get(0)?,
                    path: r.get(1)?,
                    eol: r.get(2)?,
                    final_eol: r.get(3)?,
                })
            })?;
            let rows = rows_st
                .query_map([id], |r| {
                    Ok(SourceRowRow {
                        line: r.get::<_, i64>(0)? as u64,
                        raw: r.get(1)?,
                        item_id: r.get(2)?,
                        variant: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            out.push((file, rows));
        }
        out.sort_by(|a, b| (&a.0.container, &a.0.path).cmp(&(&b.0.container, &b.0.path)));
        Ok(out)
    }
}
