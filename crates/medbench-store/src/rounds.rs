//! Rotating rounds: drawn rounds, their instances (permuted, with the mapped
//! answer key kept here), per-item exposure counts and server settings (the
//! secret behind opaque instance ids).
//!
//! The draw logic lives in `medbench-round`; this module only stores and reads.

use crate::{ItemFilter, Result, SqliteBank, StoreError};
use medbench_core::ReviewStatus;
use rusqlite::{OptionalExtension, params, params_from_iter};
use std::collections::HashMap;

/// Migration 3: rounds, round instances, item exposure, settings.
pub(crate) const MIGRATION: &str = "
    CREATE TABLE rounds (
        id TEXT PRIMARY KEY,
        seq INTEGER NOT NULL UNIQUE,
        name TEXT NOT NULL,
        seed INTEGER NOT NULL,
        params TEXT NOT NULL,
        canary TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE round_instances (
        round_id TEXT NOT NULL,
        instance_id TEXT NOT NULL,
        item_id TEXT NOT NULL,
        item_version INTEGER NOT NULL,
        task TEXT NOT NULL,
        permutation INTEGER NOT NULL,
        format TEXT NOT NULL,
        reference TEXT,
        source TEXT NOT NULL,
        PRIMARY KEY (round_id, instance_id)
    ) WITHOUT ROWID;
    CREATE TABLE item_exposure (
        item_id TEXT PRIMARY KEY,
        rounds_count INTEGER NOT NULL,
        last_round_seq INTEGER NOT NULL,
        last_round_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE settings (
        key TEXT PRIMARY KEY,
        value BLOB NOT NULL
    ) WITHOUT ROWID;";

/// A stored round.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct RoundRow {
    pub id: String,
    /// 1 for the first round drawn in this bank, then 2, 3, …
    pub seq: i64,
    pub name: String,
    pub seed: u64,
    /// The draw parameters as JSON.
    pub params: String,
    /// The canary string every export of this round carries.
    pub canary: String,
    pub created_at: String,
}

/// One instance of a round: an (item, permutation) with its server-side key.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct InstanceRow {
    pub round_id: String,
    /// Opaque id shown to submitters.
    pub instance_id: String,
    pub item_id: String,
    pub item_version: u32,
    pub task: String,
    /// Permutation index `k` (0-based).
    pub permutation: u32,
    /// The permuted public format, as JSON.
    pub format: String,
    /// The reference mapped through the permutation, as JSON (secret).
    pub reference: Option<String>,
    /// The v4 `other.source` label, e.g. `MedExam_V4`.
    pub source: String,
}

/// A drawable item: what the draw needs, without the item body.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    pub id: String,
    pub version: u32,
    pub task: String,
    /// The first specialty code, if any.
    pub specialty: Option<String>,
    pub difficulty: Option<u8>,
}

/// How often an item has been drawn, and when last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Exposure {
    pub rounds: u32,
    /// `seq` of the last round that drew it.
    pub last_seq: i64,
}

fn round_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RoundRow> {
    Ok(RoundRow {
        id: r.get(0)?,
        seq: r.get(1)?,
        name: r.get(2)?,
        seed: r.get::<_, i64>(3)? as u64,
        params: r.get(4)?,
        canary: r.get(5)?,
        created_at: r.get(6)?,
    })
}

const ROUND_COLS: &str = "id, seq, name, seed, params, canary, created_at";

impl SqliteBank {
    /// Approved items with a reference (never blind ones) in the given tasks and
    /// tracks (empty: all), read from the index columns only — no item bodies.
    pub fn draw_candidates(
        &self,
        tasks: &[String],
        tracks: &[medbench_core::Track],
    ) -> Result<Vec<Candidate>> {
        let filter = ItemFilter {
            tasks: tasks.to_vec(),
            tracks: tracks.to_vec(),
            review: vec![ReviewStatus::Approved],
            blind: Some(false),
            ..Default::default()
        };
        let (cond, args) = crate::sqlite::where_clause(&filter, "");
        let sql = format!("SELECT id, version, task, specialty, difficulty FROM items {cond}");
        let mut st = self.conn.prepare(&sql)?;
        let rows = st.query_map(params_from_iter(args.iter()), |r| {
            Ok(Candidate {
                id: r.get(0)?,
                version: r.get(1)?,
                task: r.get(2)?,
                specialty: r.get(3)?,
                difficulty: r.get::<_, Option<i64>>(4)?.map(|d| d.clamp(0, 255) as u8),
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Exposure of every item drawn at least once.
    pub fn exposures(&self) -> Result<HashMap<String, Exposure>> {
        let mut st = self
            .conn
            .prepare("SELECT item_id, rounds_count, last_round_seq FROM item_exposure")?;
        let rows = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                Exposure {
                    rounds: r.get(1)?,
                    last_seq: r.get(2)?,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The `seq` the next round will get.
    pub fn next_round_seq(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT IFNULL(MAX(seq), 0) + 1 FROM rounds", [], |r| {
                r.get(0)
            })?)
    }

    /// Store a round and its instances, and count one exposure for each item drawn.
    pub fn put_round(&mut self, round: &RoundRow, instances: &[InstanceRow]) -> Result<()> {
        let tx = self.conn.transaction()?;
        tx.execute(
            &format!("INSERT INTO rounds ({ROUND_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)"),
            params![
                round.id,
                round.seq,
                round.name,
                round.seed as i64,
                round.params,
                round.canary,
                round.created_at
            ],
        )?;
        {
            let mut put = tx.prepare(
                "INSERT INTO round_instances (round_id, instance_id, item_id, item_version, task,
                     permutation, format, reference, source)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?;
            let mut expose = tx.prepare(
                "INSERT INTO item_exposure (item_id, rounds_count, last_round_seq, last_round_at)
                 VALUES (?1, 1, ?2, ?3)
                 ON CONFLICT DO UPDATE SET rounds_count = rounds_count + 1,
                     last_round_seq = excluded.last_round_seq, last_round_at = excluded.last_round_at",
            )?;
            let mut counted = std::collections::HashSet::new();
            for i in instances {
                if i.round_id != round.id {
                    return Err(StoreError::Unsupported(format!(
                        "instance of round {} given to round {}",
                        i.round_id, round.id
                    )));
                }
                put.execute(params![
                    i.round_id,
                    i.instance_id,
                    i.item_id,
                    i.item_version,
                    i.task,
                    i.permutation,
                    i.format,
                    i.reference,
                    i.source
                ])?;
                if counted.insert(i.item_id.as_str()) {
                    expose.execute(params![i.item_id, round.seq, round.created_at])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every round, oldest first.
    pub fn rounds(&self) -> Result<Vec<RoundRow>> {
        let mut st = self
            .conn
            .prepare(&format!("SELECT {ROUND_COLS} FROM rounds ORDER BY seq"))?;
        let rows = st.query_map([], round_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Rounds whose id or name starts with `prefix`.
    pub fn find_rounds(&self, prefix: &str) -> Result<Vec<RoundRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {ROUND_COLS} FROM rounds WHERE id LIKE ?1 || '%' OR name = ?1 ORDER BY seq"
        ))?;
        let rows = st.query_map([prefix], round_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The round that carries this canary string.
    pub fn round_by_canary(&self, canary: &str) -> Result<Option<RoundRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {ROUND_COLS} FROM rounds WHERE canary = ?1"),
                [canary],
                round_row,
            )
            .optional()?)
    }

    /// The instances of a round, by task, item and permutation.
    pub fn round_instances(&self, round_id: &str) -> Result<Vec<InstanceRow>> {
        let mut st = self.conn.prepare(
            "SELECT round_id, instance_id, item_id, item_version, task, permutation, format, reference, source
             FROM round_instances WHERE round_id = ?1 ORDER BY task, item_id, permutation",
        )?;
        let rows = st.query_map([round_id], |r| {
            Ok(InstanceRow {
                round_id: r.get(0)?,
                instance_id: r.get(1)?,
                item_id: r.get(2)?,
                item_version: r.get(3)?,
                task: r.get(4)?,
                permutation: r.get(5)?,
                format: r.get(6)?,
                reference: r.get(7)?,
                source: r.get(8)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// A stored setting.
    pub fn setting(&self, key: &str) -> Result<Option<Vec<u8>>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM settings WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    /// Store a setting only if it is not set yet; returns the value in force.
    pub fn setting_or_insert(&mut self, key: &str, value: &[u8]) -> Result<Vec<u8>> {
        self.conn.execute(
            "INSERT OR IGNORE INTO settings (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(self.setting(key)?.unwrap_or_else(|| value.to_vec()))
    }

    /// Set (or replace) a setting.
    pub fn set_setting(&mut self, key: &str, value: &[u8]) -> Result<()> {
        self.conn.execute(
            "INSERT OR REPLACE INTO settings (key, value) VALUES (?1, ?2)",
            params![key, value],
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inst(round: &str, id: &str, item: &str) -> InstanceRow {
        InstanceRow {
            round_id: round.into(),
            instance_id: id.into(),
            item_id: item.into(),
            item_version: 1,
            task: "T".into(),
            permutation: 0,
            format: r#"{"type":"short_answer"}"#.into(),
            reference: None,
            source: "T_V4".into(),
        }
    }

    fn round(id: &str, seq: i64) -> RoundRow {
        RoundRow {
            id: id.into(),
            seq,
            name: id.into(),
            seed: 1,
            params: "{}".into(),
            canary: format!("MEDBENCH-CANARY-{id}-x"),
            created_at: "2026-01-01T00:00:00Z".into(),
        }
    }

    #[test]
    fn rounds_count_each_item_once_per_round_and_settings_keep_the_first_value() {
        let mut b = SqliteBank::open(":memory:").unwrap();
        assert_eq!(b.next_round_seq().unwrap(), 1);
        let r1 = round("round-a", 1);
        // Two permutations of item X count as one exposure.
        b.put_round(
            &r1,
            &[
                inst("round-a", "1", "X"),
                inst("round-a", "2", "X"),
                inst("round-a", "3", "Y"),
            ],
        )
        .unwrap();
        b.put_round(&round("round-b", 2), &[inst("round-b", "4", "X")])
            .unwrap();
        let e = b.exposures().unwrap();
        assert_eq!(
            e["X"],
            Exposure {
                rounds: 2,
                last_seq: 2
            }
        );
        assert_eq!(
            e["Y"],
            Exposure {
                rounds: 1,
                last_seq: 1
            }
        );
        assert_eq!(b.next_round_seq().unwrap(), 3);
        assert_eq!(b.round_instances("round-a").unwrap().len(), 3);
        assert_eq!(b.find_rounds("round-").unwrap().len(), 2);
        assert_eq!(
            b.round_by_canary(&r1.canary).unwrap().unwrap().id,
            "round-a"
        );
        // An instance of another round is refused and nothing is stored.
        assert!(
            b.put_round(&round("round-c", 3), &[inst("round-a", "5", "Z")])
                .is_err()
        );
        assert!(b.find_rounds("round-c").unwrap().is_empty());
        assert_eq!(b.setting_or_insert("k", b"one").unwrap(), b"one");
        assert_eq!(b.setting_or_insert("k", b"two").unwrap(), b"one");
        b.set_setting("k", b"three").unwrap();
        assert_eq!(b.setting("k").unwrap().unwrap(), b"three");
    }
}
