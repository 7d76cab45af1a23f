//! The embedded SQLite bank.

use crate::row::ItemRow;
use crate::stats::{BankStats, StatsRow};
use crate::{Bank, ImportSession, ItemFilter, ItemSummary, PutOutcome, Result, StoreError};
use medbench_core::Item;
use rusqlite::{Connection, OpenFlags, OptionalExtension, params, params_from_iter};
use std::collections::HashMap;

/// Schema migrations, applied in order; `PRAGMA user_version` records how many ran.
const MIGRATIONS: &[&str] = &[
    // 1: the item bank. `items` holds the head of each id, `item_versions` every
    // version's content, `item_counts` the bank's counts by every filterable
    // column, so `items stats` reads a few hundred rows, not the bank. Import
    // sessions keep `item_counts` in step (see `CountKey`); `recount` rebuilds it.
    "CREATE TABLE items (
        id TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        task TEXT NOT NULL,
        track TEXT NOT NULL,
        dimension TEXT NOT NULL,
        language TEXT NOT NULL,
        format TEXT NOT NULL,
        specialty TEXT,
        specialty2 TEXT,
        review TEXT NOT NULL,
        difficulty INTEGER,
        blind INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        import_id INTEGER NOT NULL,
        origin TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE INDEX items_task ON items(task);
    CREATE TABLE item_versions (
        id TEXT NOT NULL,
        version INTEGER NOT NULL,
        content_hash TEXT NOT NULL,
        body TEXT NOT NULL,
        import_id INTEGER NOT NULL
    );
    CREATE UNIQUE INDEX item_versions_id ON item_versions(id, version);
    CREATE TABLE item_counts (
        track TEXT NOT NULL, dimension TEXT NOT NULL, task TEXT NOT NULL, language TEXT NOT NULL,
        format TEXT NOT NULL, review TEXT NOT NULL, specialty TEXT NOT NULL, specialty2 TEXT NOT NULL,
        blind INTEGER NOT NULL, n INTEGER NOT NULL,
        PRIMARY KEY (track, dimension, task, language, format, review, specialty, specialty2, blind)
    ) WITHOUT ROWID;
    CREATE TABLE media (
        sha256 TEXT PRIMARY KEY,
        media_type TEXT NOT NULL,
        bytes BLOB NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE imports (
        id INTEGER PRIMARY KEY,
        source TEXT NOT NULL,
        started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
    );",
    // 2: evaluation runs.
    crate::runs::MIGRATION,
    // 3: rotating rounds, exposure counts, settings.
    crate::rounds::MIGRATION,
    // 4: judge verdicts, judgements, physician ratings, human samples, calibrations.
    crate::judging::MIGRATION,
    // 5: the platform server: users, hashed tokens, run owners, the job queue.
    crate::platform::MIGRATION,
    // 6: the source files of medbench-v4 imports and their raw lines (answer export).
    crate::sources::MIGRATION,
];

/// An item bank in one SQLite file (or in memory with `:memory:`).
pub struct SqliteBank {
    pub(crate) conn: Connection,
    path: String,
}

impl SqliteBank {
    /// Open or create the bank at `path` and bring its schema up to date.
    pub fn open(path: &str) -> Result<SqliteBank> {
        // Each connection is used by one thread at a time (the type is Send, not Sync),
        // so SQLite's own per-call mutexes are pure overhead.
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_URI
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = if path == ":memory:" {
            Connection::open_in_memory_with_flags(flags)?
        } else {
            Connection::open_with_flags(path, flags)?
        };
        // Plans must not depend on bound values. Without this, SQLite marks any `col = ?`
        // term for re-preparation on rebinding, and rusqlite clears the bindings of every
        // cached statement it hands back, so each reuse compiled the SQL again (measured:
        // 12% of the ask stage's item reader). The plans here never needed bound values.
        conn.set_db_config(
            rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
            true,
        )?;
        // Larger pages suit rows that carry a JSON body; this only takes effect on a new file.
        conn.execute_batch("PRAGMA page_size=16384;")?;
        conn.execute_batch(
            "PRAGMA journal_mode=WAL;
             PRAGMA synchronous=NORMAL;
             PRAGMA foreign_keys=ON;
             PRAGMA temp_store=MEMORY;
             PRAGMA cache_size=-16384;
             PRAGMA busy_timeout=5000;",
        )?;
        let mut bank = SqliteBank {
            conn,
            path: path.to_owned(),
        };
        bank.migrate()?;
        Ok(bank)
    }

    fn migrate(&mut self) -> Result<()> {
        let current: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let known = MIGRATIONS.len() as i64;
        if current > known {
            return Err(StoreError::SchemaTooNew {
                path: self.path.clone(),
                found: current,
                known,
            });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(current as usize) {
            let tx = self.conn.transaction()?;
            tx.execute_batch(sql)?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))?;
            tx.commit()?;
        }
        Ok(())
    }

    /// Rebuild `item_counts` from `items` (a repair; imports keep it current).
    pub fn recount(&mut self) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute_batch(
            "DELETE FROM item_counts;
             INSERT INTO item_counts
             SELECT track, dimension, task, language, format, review, IFNULL(specialty, ''),
                    IFNULL(specialty2, ''), blind, COUNT(*)
             FROM items GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;",
        )?;
        tx.commit()?;
        Ok(())
    }

    /// The underlying connection, for crates that add their own tables.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// Leave WAL checkpoints to another connection (see [`Self::checkpoint`]), so that
    /// this one's commits never wait while pages are copied back and synced.
    pub fn no_auto_checkpoint(&self) -> Result<()> {
        self.conn
            .query_row("PRAGMA wal_autocheckpoint=0", [], |_| Ok(()))?;
        Ok(())
    }

    /// Copy committed WAL pages back into the main file alongside other connections'
    /// reads and writes, keeping the WAL near 64 MiB; see [`Self::checkpoint_within`].
    pub fn checkpoint(&self) -> Result<()> {
        self.checkpoint_within(WAL_LIMIT)
    }

    /// As [`Self::checkpoint`], keeping the WAL near `limit` bytes. A busy writer never
    /// lets a passive copy catch up, and only a caught-up WAL starts again from its
    /// beginning; so once the WAL holds more than `limit`, finish the copy while holding
    /// writers back briefly (most pages are already copied by then) and start afresh.
    pub fn checkpoint_within(&self, limit: u64) -> Result<()> {
        let (log, page): (i64, i64) = (
            self.conn
                .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |r| r.get(1))?,
            self.conn.query_row("PRAGMA page_size", [], |r| r.get(0))?,
        );
        if log.max(0) as u64 * page.max(0) as u64 > limit {
            self.conn
                .query_row("PRAGMA wal_checkpoint(RESTART)", [], |_| Ok(()))?;
        }
        Ok(())
    }

    /// Run `f` inside one read transaction, so that many small reads share one
    /// snapshot and take the WAL read lock once instead of once per statement.
    /// Keep `f` short: an open reader holds back checkpoints.
    pub fn reading<T, E: From<StoreError>>(
        &self,
        f: impl FnOnce() -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        let tx = self
            .conn
            .unchecked_transaction()
            .map_err(|e| E::from(e.into()))?;
        let out = f()?;
        tx.commit().map_err(|e| E::from(e.into()))?;
        Ok(out)
    }
}

/// How large [`SqliteBank::checkpoint`] lets the WAL grow before it restarts it.
const WAL_LIMIT: u64 = 64 << 20;

/// Build `WHERE …` and its parameters from a filter.
pub(crate) fn where_clause(f: &ItemFilter, p: &str) -> (String, Vec<String>) {
    let mut conds = Vec::new();
    let mut args: Vec<String> = Vec::new();
    let mut any_of = |col: &str, vals: Vec<String>, conds: &mut Vec<String>| {
        if vals.is_empty() {
            return;
        }
        conds.push(format!("{p}{col} IN ({})", vec!["?"; vals.len()].join(",")));
        args.extend(vals);
    };
    any_of(
        "track",
        f.tracks.iter().map(|t| t.as_str().to_owned()).collect(),
        &mut conds,
    );
    any_of("dimension", f.dimensions.clone(), &mut conds);
    any_of("task", f.tasks.clone(), &mut conds);
    any_of("language", f.languages.clone(), &mut conds);
    any_of(
        "format",
        f.formats.iter().map(|k| k.as_str().to_owned()).collect(),
        &mut conds,
    );
    any_of(
        "review",
        f.review.iter().map(|r| r.as_str().to_owned()).collect(),
        &mut conds,
    );
    if !f.specialties.is_empty() {
        let mut ors = Vec::new();
        for s in &f.specialties {
            for col in ["specialty", "specialty2"] {
                ors.push(format!("{p}{col} = ? OR {p}{col} LIKE ? ESCAPE '\\'"));
                args.push(s.clone());
                args.push(format!(
                    "{}.%",
                    s.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                ));
            }
        }
        conds.push(format!("({})", ors.join(" OR ")));
    }
    if let Some(b) = f.blind {
        conds.push(format!("{p}blind = {}", b as i32));
    }
    let sql = if conds.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conds.join(" AND "))
    };
    (sql, args)
}

struct SqliteImport<'a> {
    /// The connection, inside `BEGIN IMMEDIATE … COMMIT` managed by this session.
    tx: &'a Connection,
    /// Set once committed; otherwise dropping the session rolls back.
    committed: bool,
    import_id: i64,
    /// Changes to `item_counts`, applied at commit (a trigger per row costs more than the row).
    deltas: HashMap<CountKey, i64>,
}

/// The columns `item_counts` groups by.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct CountKey {
    track: String,
    dimension: String,
    task: String,
    language: String,
    format: String,
    review: String,
    specialty: String,
    specialty2: String,
    blind: bool,
}

impl CountKey {
    fn of(row: &ItemRow) -> CountKey {
        CountKey {
            track: row.track.into(),
            dimension: row.dimension.into(),
            task: row.task.clone(),
            language: row.language.clone(),
            format: row.format.into(),
            review: row.review.into(),
            specialty: row.specialty.clone().unwrap_or_default(),
            specialty2: row.specialty2.clone().unwrap_or_default(),
            blind: row.blind,
        }
    }
}

/// The current head of an id, as far as an import needs it.
struct Head {
    version: u32,
    hash: String,
    import_id: i64,
    origin: String,
    key: CountKey,
}

/// The 15 values of an `items` row, in column order (`?1` … `?15` of the insert and
/// the update). A macro, not a function, so the hot import path allocates nothing.
macro_rules! head_params {
    ($row:expr, $version:expr, $import_id:expr, $origin:expr) => {
        params![
            $row.id,
            $version,
            $row.task,
            $row.track,
            $row.dimension,
            $row.language,
            $row.format,
            $row.specialty,
            $row.specialty2,
            $row.review,
            $row.difficulty,
            $row.blind,
            $row.content_hash,
            $import_id,
            $origin
        ]
    };
}

impl SqliteImport<'_> {
    fn insert_version(&self, row: &ItemRow, version: u32) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT INTO item_versions (id, version, content_hash, body, import_id) VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![row.id, version, row.content_hash, row.body, self.import_id])?;
        Ok(())
    }
}

impl ImportSession for SqliteImport<'_> {
    fn put(&mut self, row: &ItemRow, origin: &str) -> Result<PutOutcome> {
        // Most rows of a bulk load are new ids: try the insert first and only
        // look at the existing head when the id is taken.
        let version = row.version.max(1);
        let inserted = self
            .tx
            .prepare_cached(
                "INSERT INTO items (id, version, task, track, dimension, language, format, specialty, specialty2,
                                    review, difficulty, blind, content_hash, import_id, origin)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
            )?
            .execute(head_params!(row, version, self.import_id, origin));
        match inserted {
            Ok(_) => {
                self.insert_version(row, version)?;
                *self.deltas.entry(CountKey::of(row)).or_default() += 1;
                return Ok(PutOutcome::Imported);
            }
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::ConstraintViolation => {}
            Err(e) => return Err(e.into()),
        }
        let h: Head = self
            .tx
            .prepare_cached(
                "SELECT version, content_hash, import_id, origin, track, dimension, task, language, format,
                        review, IFNULL(specialty, ''), IFNULL(specialty2, ''), blind
                 FROM items WHERE id = ?1",
            )?
            .query_row([&row.id], |r| {
                Ok(Head {
                    version: r.get(0)?,
                    hash: r.get(1)?,
                    import_id: r.get(2)?,
                    origin: r.get(3)?,
                    key: CountKey {
                        track: r.get(4)?,
                        dimension: r.get(5)?,
                        task: r.get(6)?,
                        language: r.get(7)?,
                        format: r.get(8)?,
                        review: r.get(9)?,
                        specialty: r.get(10)?,
                        specialty2: r.get(11)?,
                        blind: r.get(12)?,
                    },
                })
            })?;
        if h.import_id == self.import_id {
            return Ok(PutOutcome::Duplicate {
                first_origin: h.origin,
            });
        }
        let new_key = CountKey::of(row);
        if h.hash == row.content_hash {
            if h.key.review == row.review {
                // Mark as seen in this import so a later duplicate is caught.
                self.tx
                    .prepare_cached("UPDATE items SET import_id = ?2, origin = ?3 WHERE id = ?1")?
                    .execute(params![row.id, self.import_id, origin])?;
                return Ok(PutOutcome::Unchanged);
            }
            self.tx
                .prepare_cached(
                    "UPDATE items SET review = ?2, import_id = ?3, origin = ?4 WHERE id = ?1",
                )?
                .execute(params![row.id, row.review, self.import_id, origin])?;
            *self.deltas.entry(h.key).or_default() -= 1;
            *self.deltas.entry(new_key).or_default() += 1;
            return Ok(PutOutcome::ReviewChanged);
        }
        let version = h.version + 1;
        self.insert_version(row, version)?;
        self.tx
            .prepare_cached(
                "UPDATE items SET version = ?2, task = ?3, track = ?4, dimension = ?5, language = ?6, format = ?7,
                    specialty = ?8, specialty2 = ?9, review = ?10, difficulty = ?11, blind = ?12,
                    content_hash = ?13, import_id = ?14, origin = ?15
                 WHERE id = ?1",
            )?
            .execute(head_params!(row, version, self.import_id, origin))?;
        *self.deltas.entry(h.key).or_default() -= 1;
        *self.deltas.entry(new_key).or_default() += 1;
        Ok(PutOutcome::Updated {
            from: h.version,
            to: version,
        })
    }

    fn put_media(&mut self, sha256: &str, media_type: &str, bytes: &[u8]) -> Result<()> {
        self.tx
            .prepare_cached(
                "INSERT OR IGNORE INTO media (sha256, media_type, bytes) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![sha256, media_type, bytes])?;
        Ok(())
    }

    fn has_media(&mut self, sha256: &str) -> Result<bool> {
        Ok(self
            .tx
            .prepare_cached("SELECT 1 FROM media WHERE sha256 = ?1")?
            .exists([sha256])?)
    }

    fn put_source_file(
        &mut self,
        file: &crate::SourceFileRow,
        rows: &[crate::SourceRowRow],
    ) -> Result<()> {
        crate::sources::put(self.tx, self.import_id, file, rows)
    }

    fn commit(self: Box<Self>) -> Result<()> {
        {
            let mut add = self.tx.prepare(
                "INSERT INTO item_counts VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
                 ON CONFLICT DO UPDATE SET n = n + excluded.n",
            )?;
            for (k, d) in self.deltas.iter().filter(|(_, d)| **d != 0) {
                add.execute(params![
                    k.track,
                    k.dimension,
                    k.task,
                    k.language,
                    k.format,
                    k.review,
                    k.specialty,
                    k.specialty2,
                    k.blind,
                    d
                ])?;
            }
            self.tx
                .execute("DELETE FROM item_counts WHERE n <= 0", [])?;
        }
        let mut this = self;
        this.tx.execute_batch("COMMIT")?;
        this.committed = true;
        Ok(())
    }
}

impl Drop for SqliteImport<'_> {
    fn drop(&mut self) {
        if !self.committed {
            // Nothing of a failed or abandoned import stays.
            let _ = self.tx.execute_batch("ROLLBACK");
        }
        // Back to WAL, so readers and a writer can share the bank again.
        let _ = self.tx.execute_batch("PRAGMA journal_mode=WAL;");
    }
}

fn summary(r: &rusqlite::Row<'_>) -> rusqlite::Result<ItemSummary> {
    let s1: Option<String> = r.get(7)?;
    let s2: Option<String> = r.get(8)?;
    Ok(ItemSummary {
        id: r.get(0)?,
        version: r.get(1)?,
        task: r.get(2)?,
        track: r.get(3)?,
        dimension: r.get(4)?,
        language: r.get(5)?,
        format: r.get(6)?,
        specialties: s1.into_iter().chain(s2).collect(),
        review: r.get(9)?,
        blind: r.get(10)?,
    })
}

pub(crate) fn decode(id: &str, version: u32, body: &str, review: &str) -> Result<Item> {
    ItemRow::decode(body, version, review).map_err(|e| StoreError::Corrupt {
        id: id.to_owned(),
        version,
        message: e.0,
    })
}

impl Bank for SqliteBank {
    fn begin_import<'a>(&'a mut self, source: &str) -> Result<Box<dyn ImportSession + 'a>> {
        // A bulk load touches many pages: give this connection a larger cache (64 MiB)
        // than ordinary readers and writers get (16 MiB each).
        self.conn.execute_batch("PRAGMA cache_size=-65536;")?;
        // In WAL mode every page of a bulk load is written twice (WAL, then checkpoint).
        // A rollback journal writes new pages once; measured +15-25% import speed.
        // SQLite refuses the switch while another connection has the bank open; the
        // import then runs in WAL mode, with the same result, only slower.
        let _ = self
            .conn
            .query_row("PRAGMA journal_mode=DELETE", [], |r| r.get::<_, String>(0));
        let tx = &self.conn;
        // Built before BEGIN so that its Drop restores WAL on every path out.
        let mut session = SqliteImport {
            tx,
            import_id: 0,
            deltas: HashMap::new(),
            committed: false,
        };
        tx.execute_batch("BEGIN IMMEDIATE")?;
        tx.execute("INSERT INTO imports (source) VALUES (?1)", [source])?;
        session.import_id = tx.last_insert_rowid();
        Ok(Box::new(session))
    }

    fn get(&self, id: &str) -> Result<Option<Item>> {
        let found: Option<(u32, String, String)> = self
            .conn
            .prepare_cached(
                "SELECT i.version, i.review, v.body FROM items i
                 JOIN item_versions v ON v.id = i.id AND v.version = i.version WHERE i.id = ?1",
            )?
            .query_row([id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        found
            .map(|(v, review, body)| decode(id, v, &body, &review))
            .transpose()
    }

    fn get_version(&self, id: &str, version: u32) -> Result<Option<Item>> {
        let found: Option<(String, Option<String>, Option<u32>)> = self
            .conn
            .prepare_cached(
                "SELECT v.body, i.review, i.version FROM item_versions v
                 LEFT JOIN items i ON i.id = v.id WHERE v.id = ?1 AND v.version = ?2",
            )?
            .query_row(params![id, version], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?))
            })
            .optional()?;
        found
            .map(|(body, review, head)| {
                // Older versions are superseded: report them as retired unless they are the head.
                let review = match (review, head) {
                    (Some(r), Some(h)) if h == version => r,
                    _ => "retired".to_owned(),
                };
                decode(id, version, &body, &review)
            })
            .transpose()
    }

    fn versions(&self, id: &str) -> Result<Vec<u32>> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT version FROM item_versions WHERE id = ?1 ORDER BY version")?;
        let rows = stmt.query_map([id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn list(&self, filter: &ItemFilter, limit: usize, offset: usize) -> Result<Vec<ItemSummary>> {
        let (cond, args) = where_clause(filter, "");
        let sql = format!(
            "SELECT id, version, task, track, dimension, language, format, specialty, specialty2, review, blind
             FROM items {cond} ORDER BY id LIMIT {limit} OFFSET {offset}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), summary)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    fn for_each(&self, filter: &ItemFilter, f: &mut dyn FnMut(Item) -> Result<()>) -> Result<()> {
        let (cond, args) = where_clause(filter, "i.");
        let sql = format!(
            "SELECT i.id, i.version, i.review, v.body FROM items i
             JOIN item_versions v ON v.id = i.id AND v.version = i.version {cond} ORDER BY i.id"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let mut rows = stmt.query(params_from_iter(args.iter()))?;
        while let Some(r) = rows.next()? {
            let id: String = r.get(0)?;
            let version: u32 = r.get(1)?;
            let review: String = r.get(2)?;
            let body: String = r.get(3)?;
            f(decode(&id, version, &body, &review)?)?;
        }
        Ok(())
    }

    fn stats(&self, filter: &ItemFilter) -> Result<BankStats> {
        let (cond, args) = where_clause(filter, "");
        let sql = format!(
            "SELECT track, dimension, task, language, format, review, NULLIF(specialty, ''),
                    NULLIF(specialty2, ''), blind, n
             FROM item_counts {cond}"
        );
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(params_from_iter(args.iter()), |r| {
            Ok(StatsRow {
                track: r.get(0)?,
                dimension: r.get(1)?,
                task: r.get(2)?,
                language: r.get(3)?,
                format: r.get(4)?,
                review: r.get(5)?,
                specialty: r.get(6)?,
                specialty2: r.get(7)?,
                blind: r.get(8)?,
                count: r.get::<_, i64>(9)? as u64,
            })
        })?;
        let rows: Vec<StatsRow> = rows.collect::<rusqlite::Result<_>>()?;
        let media = self
            .conn
            .query_row("SELECT COUNT(*) FROM media", [], |r| r.get::<_, i64>(0))?
            as u64;
        let versions = self
            .conn
            .query_row("SELECT COUNT(*) FROM item_versions", [], |r| {
                r.get::<_, i64>(0)
            })? as u64;
        Ok(BankStats::from_rows(&rows, media, versions))
    }

    fn media(&self, sha256: &str) -> Result<Option<(String, Vec<u8>)>> {
        Ok(self
            .conn
            .prepare_cached("SELECT media_type, bytes FROM media WHERE sha256 = ?1")?
            .query_row([sha256], |r| Ok((r.get(0)?, r.get(1)?)))
            .optional()?)
    }

    fn location(&self) -> String {
        self.path.clone()
    }
}
