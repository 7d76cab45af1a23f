//! The judge stage and its human side: judge verdicts (content-addressed), the
//! judgements of a run, physician ratings, blinded human-rating samples and
//! fitted calibrations.
//!
//! A judgement names the judge, its version (model, endpoint, sampling and
//! prompt template), the rubric version and the raw verdict, so re-scoring
//! reuses it and a different judge makes new rows beside it, never over it.

use crate::{Result, SqliteBank};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};

/// Migration 4: judge cache, judgements, ratings, human samples, calibrations.
pub(crate) const MIGRATION: &str = "
    CREATE TABLE judge_cache (
        request_hash TEXT PRIMARY KEY,
        raw TEXT NOT NULL,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        at TEXT NOT NULL
    );
    CREATE TABLE judgements (
        run_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        judge_version TEXT NOT NULL,
        unit TEXT NOT NULL,
        judge TEXT NOT NULL,
        kind TEXT NOT NULL,
        judge_model TEXT NOT NULL,
        prompt_version TEXT NOT NULL,
        rubric_version TEXT NOT NULL,
        request_hash TEXT NOT NULL,
        raw TEXT,
        value REAL,
        status TEXT NOT NULL,
        detail TEXT,
        attempts INTEGER NOT NULL,
        cached INTEGER NOT NULL,
        prompt_tokens INTEGER,
        completion_tokens INTEGER,
        at TEXT NOT NULL,
        PRIMARY KEY (run_id, item_id, judge_version, unit)
    );
    CREATE INDEX judgements_by_judge ON judgements (judge, at);
    CREATE TABLE ratings (
        rater TEXT NOT NULL,
        institution TEXT,
        run_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        unit TEXT NOT NULL,
        value REAL NOT NULL,
        source TEXT NOT NULL,
        at TEXT NOT NULL,
        PRIMARY KEY (rater, run_id, item_id, unit)
    );
    CREATE TABLE human_samples (
        sample_id TEXT PRIMARY KEY,
        run_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE calibrations (
        id TEXT PRIMARY KEY,
        judge TEXT NOT NULL,
        task TEXT,
        versions TEXT NOT NULL,
        ratings INTEGER NOT NULL,
        items INTEGER NOT NULL,
        map TEXT NOT NULL,
        agreement TEXT NOT NULL,
        created_at TEXT NOT NULL
    );";

/// A judge verdict for one unit (a rubric criterion, a key point, a scale
/// dimension) of one item of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JudgementRow {
    pub run_id: String,
    pub item_id: String,
    /// Hash of the judge's model, endpoint, sampling, kind and prompt template.
    pub judge_version: String,
    /// `c3` (rubric criterion 3), `k2` (key point 2), `accuracy`, ….
    pub unit: String,
    /// The judge's name as configured.
    pub judge: String,
    /// `rubric`, `key_points` or `scale`.
    pub kind: String,
    pub judge_model: String,
    pub prompt_version: String,
    /// Hash of the rubric, key points or reference answer the verdict was given against.
    pub rubric_version: String,
    /// Hash of the judge request whose answer was used (the stricter retry's, after one).
    pub request_hash: String,
    /// The judge's words, as sent back.
    pub raw: Option<String>,
    /// 0/1 for criteria and key points, 1–5 for scale dimensions; `None` unless `status` is `ok`.
    pub value: Option<f64>,
    /// `ok`, `unparsed`, `refusal` or `error`.
    pub status: String,
    /// The judge's explanation, or why the verdict could not be used.
    pub detail: Option<String>,
    pub attempts: u32,
    /// Served from the judge cache.
    pub cached: bool,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub at: String,
}

/// A judge's raw answer to one request, kept by the request's hash.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgeCacheEntry {
    pub request_hash: String,
    pub raw: String,
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub at: String,
}

/// A physician's rating of one unit of one response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingRow {
    pub rater: String,
    pub institution: Option<String>,
    pub run_id: String,
    pub item_id: String,
    /// As in [`JudgementRow::unit`], or `overall` (1–5).
    pub unit: String,
    pub value: f64,
    /// `file:line` the rating came from.
    pub source: String,
    pub at: String,
}

/// A fitted calibration of a judge against physician ratings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CalibrationRow {
    pub id: String,
    pub judge: String,
    pub task: Option<String>,
    /// JSON list of the judge versions whose judgements were compared.
    pub versions: String,
    pub ratings: u64,
    pub items: u64,
    /// JSON `[[x, y], …]`: the isotonic map's knots.
    pub map: String,
    /// JSON agreement report.
    pub agreement: String,
    pub created_at: String,
}

const JUDGEMENT_COLS: &str = "run_id, item_id, judge_version, unit, judge, kind, judge_model,
    prompt_version, rubric_version, request_hash, raw, value, status, detail, attempts, cached,
    prompt_tokens, completion_tokens, at";

fn judgement_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JudgementRow> {
    Ok(JudgementRow {
        run_id: r.get(0)?,
        item_id: r.get(1)?,
        judge_version: r.get(2)?,
        unit: r.get(3)?,
        judge: r.get(4)?,
        kind: r.get(5)?,
        judge_model: r.get(6)?,
        prompt_version: r.get(7)?,
        rubric_version: r.get(8)?,
        request_hash: r.get(9)?,
        raw: r.get(10)?,
        value: r.get(11)?,
        status: r.get(12)?,
        detail: r.get(13)?,
        attempts: r.get(14)?,
        cached: r.get(15)?,
        prompt_tokens: r.get::<_, Option<i64>>(16)?.map(|v| v as u64),
        completion_tokens: r.get::<_, Option<i64>>(17)?.map(|v| v as u64),
        at: r.get(18)?,
    })
}

fn rating_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RatingRow> {
    Ok(RatingRow {
        rater: r.get(0)?,
        institution: r.get(1)?,
        run_id: r.get(2)?,
        item_id: r.get(3)?,
        unit: r.get(4)?,
        value: r.get(5)?,
        source: r.get(6)?,
        at: r.get(7)?,
    })
}

fn calibration_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<CalibrationRow> {
    Ok(CalibrationRow {
        id: r.get(0)?,
        judge: r.get(1)?,
        task: r.get(2)?,
        versions: r.get(3)?,
        ratings: r.get::<_, i64>(4)? as u64,
        items: r.get::<_, i64>(5)? as u64,
        map: r.get(6)?,
        agreement: r.get(7)?,
        created_at: r.get(8)?,
    })
}

const CALIBRATION_COLS: &str =
    "id, judge, task, versions, ratings, items, map, agreement, created_at";

impl SqliteBank {
    /// The judge's raw answer to a request hash, with its token counts.
    pub fn judge_cached(&self, request_hash: &str) -> Result<Option<JudgeCacheEntry>> {
        Ok(self
            .conn
            .prepare_cached(
                "SELECT raw, prompt_tokens, completion_tokens, at FROM judge_cache WHERE request_hash = ?1",
            )?
            .query_row([request_hash], |r| {
                Ok(JudgeCacheEntry {
                    request_hash: request_hash.to_owned(),
                    raw: r.get(0)?,
                    prompt_tokens: r.get::<_, Option<i64>>(1)?.map(|v| v as u64),
                    completion_tokens: r.get::<_, Option<i64>>(2)?.map(|v| v as u64),
                    at: r.get(3)?,
                })
            })
            .optional()?)
    }

    /// Store fresh judge answers in the cache and judgements, in one transaction.
    pub fn put_judgements(
        &mut self,
        fresh: &[JudgeCacheEntry],
        rows: &[JudgementRow],
    ) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut cache = tx.prepare_cached(
                "INSERT OR REPLACE INTO judge_cache (request_hash, raw, prompt_tokens, completion_tokens, at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            for e in fresh {
                cache.execute(params![
                    e.request_hash,
                    e.raw,
                    e.prompt_tokens.map(|v| v as i64),
                    e.completion_tokens.map(|v| v as i64),
                    e.at
                ])?;
            }
            let mut put = tx.prepare_cached(&format!(
                "INSERT OR REPLACE INTO judgements ({JUDGEMENT_COLS})
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
            ))?;
            for j in rows {
                put.execute(params![
                    j.run_id,
                    j.item_id,
                    j.judge_version,
                    j.unit,
                    j.judge,
                    j.kind,
                    j.judge_model,
                    j.prompt_version,
                    j.rubric_version,
                    j.request_hash,
                    j.raw,
                    j.value,
                    j.status,
                    j.detail,
                    j.attempts,
                    j.cached,
                    j.prompt_tokens.map(|v| v as i64),
                    j.completion_tokens.map(|v| v as i64),
                    j.at
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every judgement of a run (all judges and versions), by item then unit.
    pub fn judgements(&self, run_id: &str) -> Result<Vec<JudgementRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {JUDGEMENT_COLS} FROM judgements WHERE run_id = ?1 ORDER BY item_id, judge_version, unit"
        ))?;
        let rows = st.query_map([run_id], judgement_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every judgement a judge (by name) made, in any run, oldest first.
    pub fn judgements_by(&self, judge: &str) -> Result<Vec<JudgementRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {JUDGEMENT_COLS} FROM judgements WHERE judge = ?1 ORDER BY at, run_id, item_id, unit"
        ))?;
        let rows = st.query_map([judge], judgement_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Add or replace ratings (one per rater, response and unit) in one transaction.
    pub fn put_ratings(&mut self, rows: &[RatingRow]) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO ratings (rater, institution, run_id, item_id, unit, value, source, at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?;
            for r in rows {
                st.execute(params![
                    r.rater,
                    r.institution,
                    r.run_id,
                    r.item_id,
                    r.unit,
                    r.value,
                    r.source,
                    r.at
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every stored rating, by response then unit then rater.
    pub fn ratings(&self) -> Result<Vec<RatingRow>> {
        let mut st = self.conn.prepare(
            "SELECT rater, institution, run_id, item_id, unit, value, source, at FROM ratings
             ORDER BY run_id, item_id, unit, rater",
        )?;
        let rows = st.query_map([], rating_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Record blinded sample ids: (sample id, run id, item id).
    pub fn put_human_samples(&mut self, rows: &[(String, String, String)], at: &str) -> Result<()> {
        let tx = self.conn.transaction()?;
        {
            let mut st = tx.prepare_cached(
                "INSERT OR REPLACE INTO human_samples (sample_id, run_id, item_id, created_at) VALUES (?1, ?2, ?3, ?4)",
            )?;
            for (s, run, item) in rows {
                st.execute(params![s, run, item, at])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// The (run id, item id) behind a blinded sample id.
    pub fn human_sample(&self, sample_id: &str) -> Result<Option<(String, String)>> {
        Ok(self
            .conn
            .query_row(
                "SELECT run_id, item_id FROM human_samples WHERE sample_id = ?1",
                [sample_id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?)
    }

    /// The version of an item a run used, if the item is in the run.
    pub fn run_item_version(&self, run_id: &str, item_id: &str) -> Result<Option<u32>> {
        Ok(self
            .conn
            .query_row(
                "SELECT item_version FROM run_items WHERE run_id = ?1 AND item_id = ?2",
                [run_id, item_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn put_calibration(&mut self, c: &CalibrationRow) -> Result<()> {
        self.conn.execute(
            &format!(
                "INSERT OR REPLACE INTO calibrations ({CALIBRATION_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
            ),
            params![
                c.id,
                c.judge,
                c.task,
                c.versions,
                c.ratings as i64,
                c.items as i64,
                c.map,
                c.agreement,
                c.created_at
            ],
        )?;
        Ok(())
    }

    /// Calibrations of a judge, newest first.
    pub fn calibrations(&self, judge: &str) -> Result<Vec<CalibrationRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {CALIBRATION_COLS} FROM calibrations WHERE judge = ?1 ORDER BY created_at DESC, id"
        ))?;
        let rows = st.query_map([judge], calibration_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A calibration by id or unique prefix.
    pub fn find_calibrations(&self, prefix: &str) -> Result<Vec<CalibrationRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {CALIBRATION_COLS} FROM calibrations WHERE id LIKE ?1 || '%' ORDER BY created_at DESC"
        ))?;
        let rows = st.query_map([prefix], calibration_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
