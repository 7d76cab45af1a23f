//! Evaluation runs: the selected items, the responses, the response cache and the scores.
//!
//! Each stage is its own table so any stage can be re-run from the one before
//! it: a killed run resumes from its stored responses; re-scoring reads stored
//! responses and never asks the model again.

use crate::{Result, SqliteBank, StoreError};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// Migration 2: runs, responses, response cache, scores.
pub(crate) const MIGRATION: &str = "
    CREATE TABLE runs (
        id TEXT PRIMARY KEY,
        model TEXT NOT NULL,
        spec TEXT NOT NULL,
        status TEXT NOT NULL,
        started_at TEXT NOT NULL,
        finished_at TEXT,
        manifest TEXT,
        results TEXT
    );
    CREATE TABLE run_items (
        run_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        item_version INTEGER NOT NULL,
        task TEXT NOT NULL,
        PRIMARY KEY (run_id, item_id)
    ) WITHOUT ROWID;
    CREATE TABLE responses (
        run_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        request TEXT NOT NULL,
        text TEXT,
        tool_calls TEXT,
        error_kind TEXT,
        error TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        latency_ms INTEGER NOT NULL,
        attempts INTEGER NOT NULL,
        cached INTEGER NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (run_id, item_id)
    );
    CREATE TABLE response_cache (
        request_hash TEXT PRIMARY KEY,
        text TEXT NOT NULL,
        tool_calls TEXT,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        at TEXT NOT NULL
    );
    CREATE TABLE scores (
        run_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        value REAL NOT NULL,
        outcome TEXT NOT NULL,
        parsed TEXT,
        detail TEXT,
        scorer TEXT NOT NULL,
        PRIMARY KEY (run_id, item_id)
    );";

/// A stored run.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RunRow {
    pub id: String,
    pub model: String,
    /// The run's specification (model, selection, sampling…) as JSON.
    pub spec: String,
    /// `running`, `finished`.
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    pub manifest: Option<String>,
    /// `results.json` text once the run is scored.
    pub results: Option<String>,
}

/// One answer (or failure) for one item of a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ResponseRow {
    pub run_id: String,
    pub item_id: String,
    pub request_hash: String,
    /// The rendered request as JSON, media replaced by their hashes.
    pub request: String,
    pub text: Option<String>,
    /// JSON list of tool calls, when the model made any.
    pub tool_calls: Option<String>,
    /// Failure class (`transport`, `timeout`, `http_5xx`, …); `None` for an answer.
    pub error_kind: Option<String>,
    pub error: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub latency_ms: u64,
    pub attempts: u32,
    /// Served from the response cache, not asked.
    pub cached: bool,
    pub at: String,
}

/// A cached answer to a request hash.
#[derive(Debug, Clone, PartialEq)]
pub struct CachedAnswer {
    pub text: String,
    pub tool_calls: Option<String>,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
}

/// The score of one item in a run.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScoreRow {
    pub run_id: String,
    pub item_id: String,
    pub value: f64,
    /// `correct`, `partial`, `wrong`, `unparsed` or `error`.
    pub outcome: String,
    pub parsed: Option<String>,
    pub detail: Option<String>,
    /// Which scorer and version produced it, e.g. `rule:single_choice@1`.
    pub scorer: String,
}

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    Ok(RunRow {
        id: r.get(0)?,
        model: r.get(1)?,
        spec: r.get(2)?,
        status: r.get(3)?,
        started_at: r.get(4)?,
        finished_at: r.get(5)?,
        manifest: r.get(6)?,
        results: r.get(7)?,
    })
}

fn response_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ResponseRow> {
    Ok(ResponseRow {
        run_id: r.get(0)?,
        item_id: r.get(1)?,
        request_hash: r.get(2)?,
        request: r.get(3)?,
        text: r.get(4)?,
        tool_calls: r.get(5)?,
        error_kind: r.get(6)?,
        error: r.get(7)?,
        prompt_tokens: r.get::<_, Option<i64>>(8)?.map(|v| v as u64),
        completion_tokens: r.get::<_, Option<i64>>(9)?.map(|v| v as u64),
        latency_ms: r.get::<_, i64>(10)? as u64,
        attempts: r.get(11)?,
        cached: r.get(12)?,
        at: r.get(13)?,
    })
}

const RESPONSE_COLS: &str =
    "run_id, item_id, request_hash, request, text, tool_calls, error_kind, error,
     prompt_tokens, completion_tokens, latency_ms, attempts, cached, at";

impl SqliteBank {
    /// Create a run, or return the stored one with the same id (a resume).
    /// `selection` lists (item id, version, task); it is stored only on creation.
    pub fn open_run(
        &mut self,
        id: &str,
        model: &str,
        spec: &str,
        started_at: &str,
        selection: &[(String, u32, String)],
    ) -> Result<(RunRow, bool)> {
        if let Some(r) = self.run(id)? {
            self.conn
                .execute("UPDATE runs SET status = 'running' WHERE id = ?1", [id])?;
            return Ok((r, true));
        }
        let tx = self.conn.transaction()?;
        tx.execute(
            "INSERT INTO runs (id, model, spec, status, started_at) VALUES (?1, ?2, ?3, 'running', ?4)",
            params![id, model, spec, started_at],
        )?;
        {
            let mut st = tx.prepare("INSERT INTO run_items (run_id, item_id, item_version, task) VALUES (?1, ?2, ?3, ?4)")?;
            for (item, version, task) in selection {
                st.execute(params![id, item, version, task])?;
            }
        }
        tx.commit()?;
        Ok((self.run(id)?.expect("just created"), false))
    }

    pub fn run(&self, id: &str) -> Result<Option<RunRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, model, spec, status, started_at, finished_at, manifest, results FROM runs WHERE id = ?1",
                [id],
                run_row,
            )
            .optional()?)
    }

    /// Runs whose id starts with `prefix` (so users can type a short id).
    pub fn find_runs(&self, prefix: &str) -> Result<Vec<RunRow>> {
        let mut st = self.conn.prepare(
            "SELECT id, model, spec, status, started_at, finished_at, manifest, results FROM runs
             WHERE id LIKE ?1 || '%' ORDER BY started_at DESC",
        )?;
        let rows = st.query_map([prefix], run_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The items a run asks, in order.
    pub fn run_items(&self, run_id: &str) -> Result<Vec<(String, u32, String)>> {
        let mut st = self.conn.prepare(
            "SELECT item_id, item_version, task FROM run_items WHERE run_id = ?1 ORDER BY item_id",
        )?;
        let rows = st.query_map([run_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Items of a run that already have an answer (failures are not finished).
    pub fn answered_items(&self, run_id: &str) -> Result<HashSet<String>> {
        let mut st = self
            .conn
            .prepare("SELECT item_id FROM responses WHERE run_id = ?1 AND error_kind IS NULL")?;
        let rows = st.query_map([run_id], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    pub fn cached_answer(&self, request_hash: &str) -> Result<Option<CachedAnswer>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT text, tool_calls, prompt_tokens, completion_tokens FROM response_cache WHERE request_hash = ?1",
            )?
            .query_row([request_hash], |r| {
                Ok(CachedAnswer {
                    text: r.get(0)?,
                    tool_calls: r.get(1)?,
                    prompt_tokens: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
                    completion_tokens: r.get::<_, Option<i64>>(3)?.map(|v| v as u64),
                })
            })
            .optional()?)
    }

    /// Store responses in one transaction. The response cache learns them later, from
    /// [`Self::cache_answers`]: its key is a hash, so writing it here would touch a
    /// random page of its index for every answer of every small commit.
    pub fn put_responses(&mut self, rows: &[ResponseRow]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut put = tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO responses ({RESPONSE_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
            ))?;
            for r in rows {
                put.execute(params![
                    r.run_id,
                    r.item_id,
                    r.request_hash,
                    r.request,
                    r.text,
                    r.tool_calls,
                    r.error_kind,
                    r.error,
                    r.prompt_tokens.map(|v| v as i64),
                    r.completion_tokens.map(|v| v as i64),
                    r.latency_ms as i64,
                    r.attempts,
                    r.cached,
                    r.at
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Put the run's successful answers that were really asked (not cache hits) into the
    /// response cache, unless it already holds a later answer to the same request.
    /// Returns how many entries were written. One transaction writes each touched page
    /// once (docs/benchmarks.md has the figures, and why the rows are not sorted first).
    pub fn cache_answers(&mut self, run_id: &str) -> Result<u64> {
        let tx = self.conn.transaction()?;
        let n = tx.execute(
            "INSERT INTO response_cache
                 (request_hash, text, tool_calls, prompt_tokens, completion_tokens, at)
             SELECT request_hash, IFNULL(text, ''), tool_calls, prompt_tokens,
                    completion_tokens, at
             FROM responses
             WHERE run_id = ?1 AND error_kind IS NULL AND NOT cached
             ON CONFLICT (request_hash) DO UPDATE SET
                 text = excluded.text, tool_calls = excluded.tool_calls,
                 prompt_tokens = excluded.prompt_tokens,
                 completion_tokens = excluded.completion_tokens, at = excluded.at
             WHERE excluded.at > response_cache.at",
            [run_id],
        )?;
        tx.commit()?;
        Ok(n as u64)
    }

    /// Every stored response of a run, in item order.
    pub fn responses(&self, run_id: &str) -> Result<Vec<ResponseRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {RESPONSE_COLS} FROM responses WHERE run_id = ?1 ORDER BY item_id"
        ))?;
        let rows = st.query_map([run_id], response_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Replace a run's scores.
    pub fn put_scores(&mut self, run_id: &str, rows: &[ScoreRow]) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute("DELETE FROM scores WHERE run_id = ?1", [run_id])?;
        {
            let mut st = tx.prepare(
                "INSERT INTO scores (run_id, item_id, value, outcome, parsed, detail, scorer) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?;
            for s in rows {
                if s.run_id != run_id {
                    return Err(StoreError::Unsupported(format!(
                        "score for run {} given to run {run_id}",
                        s.run_id
                    )));
                }
                st.execute(params![
                    s.run_id, s.item_id, s.value, s.outcome, s.parsed, s.detail, s.scorer
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    pub fn scores(&self, run_id: &str) -> Result<Vec<ScoreRow>> {
        let mut st = self.conn.prepare(
            "SELECT run_id, item_id, value, outcome, parsed, detail, scorer FROM scores WHERE run_id = ?1 ORDER BY item_id",
        )?;
        let rows = st.query_map([run_id], |r| {
            Ok(ScoreRow {
                run_id: r.get(0)?,
                item_id: r.get(1)?,
                value: r.get(2)?,
                outcome: r.get(3)?,
                parsed: r.get(4)?,
                detail: r.get(5)?,
                scorer: r.get(6)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Record the end of a run with its manifest and results.
    pub fn finish_run(
        &mut self,
        run_id: &str,
        finished_at: &str,
        manifest: &str,
        results: &str,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE runs SET status = 'finished', finished_at = ?2, manifest = ?3, results = ?4 WHERE id = ?1",
            params![run_id, finished_at, manifest, results],
        )?;
        Ok(())
    }
}

/// What a run stored for one item, without the (large) rendered request.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredAnswer {
    pub text: Option<String>,
    pub tool_calls: Option<String>,
    pub error_kind: Option<String>,
    pub error: Option<String>,
}

/// One item of a run as stored: the item's body (JSON, not yet decoded) and the
/// stored answers of its instances.
#[derive(Debug, Clone)]
pub struct RunItemRow {
    pub id: String,
    pub version: u32,
    pub body: String,
    /// `(instance key, answer)` in key order: the item id itself for an item asked
    /// once, `<item id>#<k>` for variant `k` of an item asked in several option orders;
    /// in a round's run, the opaque instance ids in permutation order.
    /// Instances not answered yet are absent.
    pub answers: Vec<(String, StoredAnswer)>,
}

impl RunItemRow {
    /// The item itself; a body that no longer decodes is reported as corrupt.
    pub fn decode(&self) -> Result<medbench_core::Item> {
        crate::sqlite::decode(&self.id, self.version, &self.body, "approved")
    }

    /// The stored answer of one instance.
    pub fn answer(&self, key: &str) -> Option<&StoredAnswer> {
        self.answers.iter().find(|(k, _)| k == key).map(|(_, a)| a)
    }
}

/// The key a run stores the answer of variant `k` of an item under: the item id for
/// an item asked once (`variants == 0`), `<item id>#<k>` otherwise.
pub fn instance_key(item_id: &str, variants: usize, k: usize) -> String {
    if variants == 0 {
        item_id.to_owned()
    } else {
        format!("{item_id}#{k}")
    }
}

/// Token and call totals of a run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RunUsage {
    /// Prompt tokens of calls actually made (cache hits excluded).
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    pub cache_hits: u64,
    pub attempts: u64,
}

impl SqliteBank {
    /// Visit every item of a run (at the version the run selected) with the stored
    /// answer of its first instance, one at a time, in item order: memory does not
    /// grow with the run.
    pub fn for_each_run_item(
        &self,
        run_id: &str,
        f: &mut dyn FnMut(medbench_core::Item, Option<StoredAnswer>) -> Result<()>,
    ) -> Result<()> {
        self.for_each_run_row(run_id, &mut |row| {
            let item = row.decode()?;
            let first = row.answers.into_iter().next().map(|(_, a)| a);
            f(item, first)
        })
    }

    /// Every item of a run with the answers of all its instances, the item body still
    /// undecoded, so that a caller can decode on another thread while this one reads on.
    ///
    /// An eval run stores each answer under the item id or `<item id>#<k>`; a run of a
    /// round (live or a submission, its spec names `"round"`) stores them under the
    /// round's opaque instance ids, found here through `round_instances` (in
    /// permutation order). Either way the answers come back under the keys they were
    /// stored under.
    pub fn for_each_run_row(
        &self,
        run_id: &str,
        f: &mut dyn FnMut(RunItemRow) -> Result<()>,
    ) -> Result<()> {
        match self.run_round(run_id)? {
            Some(round) => self.for_each_round_run_row(run_id, &round, f),
            None => {
                // Instance keys are the item id or `<item id>#<k>`: every key of an item lies
                // in [id, id || '$') ('$' follows '#'), a range the responses key scans in
                // order. Keys of other items that fall in the range (`id!x`) are dropped.
                let mut st = self.conn.prepare(
                    "SELECT ri.item_id, ri.item_version, v.body, r.item_id, r.text, r.tool_calls, r.error_kind, r.error
                     FROM run_items ri
                     JOIN item_versions v ON v.id = ri.item_id AND v.version = ri.item_version
                     LEFT JOIN responses r ON r.run_id = ri.run_id
                         AND r.item_id >= ri.item_id AND r.item_id < ri.item_id || '$'
                     WHERE ri.run_id = ?1 ORDER BY ri.item_id, r.item_id",
                )?;
                let rows = st.query([run_id])?;
                group_rows(rows, f)
            }
        }
    }

    /// [`Self::for_each_run_row`] for a run of `round`: the run's items and the answers
    /// to the round's instances, each read in item order, merged here. (Joining the
    /// instances per item would scan the whole round for every item: they are keyed by
    /// instance id.) Memory holds one item at a time, as for an eval run.
    fn for_each_round_run_row(
        &self,
        run_id: &str,
        round: &str,
        f: &mut dyn FnMut(RunItemRow) -> Result<()>,
    ) -> Result<()> {
        let mut items = self.conn.prepare(
            "SELECT ri.item_id, ri.item_version, v.body
             FROM run_items ri
             JOIN item_versions v ON v.id = ri.item_id AND v.version = ri.item_version
             WHERE ri.run_id = ?1 ORDER BY ri.item_id",
        )?;
        let mut answers = self.conn.prepare(
            "SELECT ins.item_id, r.item_id, r.text, r.tool_calls, r.error_kind, r.error
             FROM round_instances ins
             JOIN responses r ON r.run_id = ?1 AND r.item_id = ins.instance_id
             WHERE ins.round_id = ?2 ORDER BY ins.item_id, ins.permutation",
        )?;
        let mut answers = answers.query(params![run_id, round])?;
        let mut next_answer = || -> Result<Option<(String, String, StoredAnswer)>> {
            let Some(r) = answers.next()? else {
                return Ok(None);
            };
            Ok(Some((
                r.get(0)?,
                r.get(1)?,
                StoredAnswer {
                    text: r.get(2)?,
                    tool_calls: r.get(3)?,
                    error_kind: r.get(4)?,
                    error: r.get(5)?,
                },
            )))
        };
        let mut pending = next_answer()?;
        let mut rows = items.query([run_id])?;
        while let Some(r) = rows.next()? {
            let mut row = RunItemRow {
                id: r.get(0)?,
                version: r.get(1)?,
                body: r.get(2)?,
                answers: Vec::new(),
            };
            // Both sides are in BINARY order of the item id, which is `str` order.
            while let Some((item, ..)) = &pending
                && item.as_str() <= row.id.as_str()
            {
                let (item, key, answer) = pending.take().expect("matched above");
                if item == row.id {
                    row.answers.push((key, answer));
                }
                pending = next_answer()?;
            }
            f(row)?;
        }
        Ok(())
    }

    /// The round a run answered, from its spec (`"round": "<id>"`); `None` for an eval
    /// run. A spec that is not JSON is reported, not taken for an eval run.
    pub fn run_round(&self, run_id: &str) -> Result<Option<String>> {
        let Some(spec) = self
            .conn
            .query_row("SELECT spec FROM runs WHERE id = ?1", [run_id], |r| {
                r.get::<_, String>(0)
            })
            .optional()?
        else {
            return Ok(None);
        };
        let v: serde_json::Value = serde_json::from_str(&spec).map_err(|e| {
            StoreError::Unsupported(format!(
                "run {run_id}: its stored spec is not JSON ({e}); the bank is damaged"
            ))
        })?;
        Ok(v.get("round").and_then(|r| r.as_str()).map(str::to_owned))
    }

    /// Token and call totals of a run, summed in the database.
    pub fn run_usage(&self, run_id: &str) -> Result<RunUsage> {
        Ok(self.conn.query_row(
            "SELECT IFNULL(SUM(CASE WHEN cached = 0 THEN prompt_tokens END), 0),
                    IFNULL(SUM(CASE WHEN cached = 0 THEN completion_tokens END), 0),
                    IFNULL(SUM(cached), 0), IFNULL(SUM(attempts), 0)
             FROM responses WHERE run_id = ?1",
            [run_id],
            |r| {
                Ok(RunUsage {
                    prompt_tokens: r.get::<_, i64>(0)? as u64,
                    completion_tokens: r.get::<_, i64>(1)? as u64,
                    cache_hits: r.get::<_, i64>(2)? as u64,
                    attempts: r.get::<_, i64>(3)? as u64,
                })
            },
        )?)
    }
}

/// Group an eval run's joined rows (item id, version, body, key, text, tool calls, error
/// kind, error), sorted by item, into one [`RunItemRow`] per item, keeping only the keys
/// of the item itself (its id, or its id then `#`).
fn group_rows(
    mut rows: rusqlite::Rows<'_>,
    f: &mut dyn FnMut(RunItemRow) -> Result<()>,
) -> Result<()> {
    let mut current: Option<RunItemRow> = None;
    while let Some(r) = rows.next()? {
        let id: String = r.get(0)?;
        if current.as_ref().is_none_or(|c| c.id != id) {
            if let Some(done) = current.take() {
                f(done)?;
            }
            current = Some(RunItemRow {
                version: r.get(1)?,
                body: r.get(2)?,
                answers: Vec::new(),
                id,
            });
        }
        let Some(key) = r.get::<_, Option<String>>(3)? else {
            continue;
        };
        let row = current.as_mut().expect("set above");
        let ours = key.len() == row.id.len()
            || (key.as_bytes().get(row.id.len()) == Some(&b'#') && key.starts_with(&row.id));
        if ours {
            row.answers.push((
                key,
                StoredAnswer {
                    text: r.get(4)?,
                    tool_calls: r.get(5)?,
                    error_kind: r.get(6)?,
                    error: r.get(7)?,
                },
            ));
        }
    }
    if let Some(done) = current {
        f(done)?;
    }
    Ok(())
}
