//! The platform server's own tables: users, API tokens (hashed), who owns
//! which run and whether it is published, and the persistent job queue of
//! live evaluations.
//!
//! Tokens are stored as the SHA-256 of the secret; the secret is shown once
//! when it is created and cannot be read back. A job's endpoint key is stored
//! only in the sealed form the server hands in.

use crate::{Result, SqliteBank, StoreError};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;

/// Migration 5: users, tokens, run owners, jobs.
pub(crate) const MIGRATION: &str = "
    CREATE TABLE users (
        id INTEGER PRIMARY KEY,
        name TEXT NOT NULL UNIQUE,
        role TEXT NOT NULL,
        created_at TEXT NOT NULL,
        disabled INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE tokens (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        hash TEXT NOT NULL UNIQUE,
        label TEXT NOT NULL,
        created_at TEXT NOT NULL,
        last_used_at TEXT,
        revoked INTEGER NOT NULL DEFAULT 0
    );
    CREATE TABLE run_owners (
        run_id TEXT PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        source TEXT NOT NULL,
        published INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE TABLE jobs (
        id INTEGER PRIMARY KEY,
        user_id INTEGER NOT NULL REFERENCES users(id),
        status TEXT NOT NULL,
        spec TEXT NOT NULL,
        sealed_key BLOB,
        run_id TEXT,
        done INTEGER NOT NULL DEFAULT 0,
        total INTEGER NOT NULL DEFAULT 0,
        error TEXT,
        created_at TEXT NOT NULL,
        started_at TEXT,
        finished_at TEXT
    );
    CREATE INDEX jobs_status ON jobs(status, id);";

/// A platform user.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserRow {
    pub id: i64,
    pub name: String,
    /// `admin`, `curator`, `reviewer`, `submitter` or `viewer`.
    pub role: String,
    pub created_at: String,
    pub disabled: bool,
}

/// An API token, without its secret.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRow {
    pub id: i64,
    pub user: String,
    pub label: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked: bool,
}

/// Who a presented token belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct TokenOwner {
    pub token_id: i64,
    pub user: UserRow,
}

/// A stored run as the server lists it: no results text, only what ranks and filters it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunIndexRow {
    pub id: String,
    pub model: String,
    pub status: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// The run's owner on the platform; `None` for runs made with the CLI.
    pub owner: Option<String>,
    pub owner_id: Option<i64>,
    /// `upload`, `endpoint`, or `None` for CLI runs.
    pub source: Option<String>,
    /// CLI runs count as published: whoever made them had the bank itself.
    pub published: bool,
    /// The round the run answered, when it answered one.
    pub round: Option<String>,
}

/// A live-evaluation job.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct JobRow {
    pub id: i64,
    pub user_id: i64,
    pub user: String,
    /// `queued`, `running`, `finished` or `failed`.
    pub status: String,
    /// The job's public specification as JSON (endpoint URL, model, round; never the key).
    pub spec: String,
    #[serde(skip)]
    pub sealed_key: Option<Vec<u8>>,
    pub run_id: Option<String>,
    pub done: i64,
    pub total: i64,
    pub error: Option<String>,
    pub created_at: String,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
}

const RUN_INDEX_SELECT: &str =
    "SELECT r.id, r.model, r.status, r.started_at, r.finished_at, u.name, o.user_id,
            o.source, o.published, json_extract(r.spec, '$.round')
     FROM runs r LEFT JOIN run_owners o ON o.run_id = r.id LEFT JOIN users u ON u.id = o.user_id";

fn run_index_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunIndexRow> {
    let owner_id: Option<i64> = r.get(6)?;
    Ok(RunIndexRow {
        id: r.get(0)?,
        model: r.get(1)?,
        status: r.get(2)?,
        started_at: r.get(3)?,
        finished_at: r.get(4)?,
        owner: r.get(5)?,
        owner_id,
        source: r.get(7)?,
        published: owner_id.is_none() || r.get::<_, Option<i64>>(8)?.unwrap_or(0) != 0,
        round: r.get(9)?,
    })
}

const JOB_COLS: &str =
    "j.id, j.user_id, u.name, j.status, j.spec, j.sealed_key, j.run_id, j.done, j.total,
     j.error, j.created_at, j.started_at, j.finished_at";

fn job_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<JobRow> {
    Ok(JobRow {
        id: r.get(0)?,
        user_id: r.get(1)?,
        user: r.get(2)?,
        status: r.get(3)?,
        spec: r.get(4)?,
        sealed_key: r.get(5)?,
        run_id: r.get(6)?,
        done: r.get(7)?,
        total: r.get(8)?,
        error: r.get(9)?,
        created_at: r.get(10)?,
        started_at: r.get(11)?,
        finished_at: r.get(12)?,
    })
}

fn user_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<UserRow> {
    Ok(UserRow {
        id: r.get(0)?,
        name: r.get(1)?,
        role: r.get(2)?,
        created_at: r.get(3)?,
        disabled: r.get::<_, i64>(4)? != 0,
    })
}

impl SqliteBank {
    /// Add a user; an existing name is an error.
    pub fn add_user(&mut self, name: &str, role: &str, at: &str) -> Result<UserRow> {
        if self.user(name)?.is_some() {
            return Err(StoreError::Unsupported(format!(
                "a user named `{name}` exists already"
            )));
        }
        self.conn.execute(
            "INSERT INTO users (name, role, created_at) VALUES (?1, ?2, ?3)",
            params![name, role, at],
        )?;
        Ok(self.user(name)?.expect("just inserted"))
    }

    pub fn user(&self, name: &str) -> Result<Option<UserRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT id, name, role, created_at, disabled FROM users WHERE name = ?1",
                [name],
                user_row,
            )
            .optional()?)
    }

    pub fn users(&self) -> Result<Vec<UserRow>> {
        let mut st = self
            .conn
            .prepare("SELECT id, name, role, created_at, disabled FROM users ORDER BY id")?;
        let rows = st.query_map([], user_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Store a token by the hash of its secret.
    pub fn add_token(&mut self, user_id: i64, hash: &str, label: &str, at: &str) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO tokens (user_id, hash, label, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![user_id, hash, label, at],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// The live (not revoked, user not disabled) owner of a token hash.
    pub fn token_owner(&self, hash: &str) -> Result<Option<TokenOwner>> {
        Ok(self
            .conn
            .query_row(
                "SELECT t.id, u.id, u.name, u.role, u.created_at, u.disabled FROM tokens t
                 JOIN users u ON u.id = t.user_id
                 WHERE t.hash = ?1 AND t.revoked = 0 AND u.disabled = 0",
                [hash],
                |r| {
                    Ok(TokenOwner {
                        token_id: r.get(0)?,
                        user: UserRow {
                            id: r.get(1)?,
                            name: r.get(2)?,
                            role: r.get(3)?,
                            created_at: r.get(4)?,
                            disabled: r.get::<_, i64>(5)? != 0,
                        },
                    })
                },
            )
            .optional()?)
    }

    pub fn touch_token(&mut self, token_id: i64, at: &str) -> Result<()> {
        self.conn.execute(
            "UPDATE tokens SET last_used_at = ?2 WHERE id = ?1",
            params![token_id, at],
        )?;
        Ok(())
    }

    pub fn tokens(&self) -> Result<Vec<TokenRow>> {
        let mut st = self.conn.prepare(
            "SELECT t.id, u.name, t.label, t.created_at, t.last_used_at, t.revoked
             FROM tokens t JOIN users u ON u.id = t.user_id ORDER BY t.id",
        )?;
        let rows = st.query_map([], |r| {
            Ok(TokenRow {
                id: r.get(0)?,
                user: r.get(1)?,
                label: r.get(2)?,
                created_at: r.get(3)?,
                last_used_at: r.get(4)?,
                revoked: r.get::<_, i64>(5)? != 0,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Revoke a token; false when there is no such token.
    pub fn revoke_token(&mut self, token_id: i64) -> Result<bool> {
        Ok(self
            .conn
            .execute("UPDATE tokens SET revoked = 1 WHERE id = ?1", [token_id])?
            > 0)
    }

    /// Record who made a run on the platform. The first owner of a run id keeps it.
    pub fn set_run_owner(
        &mut self,
        run_id: &str,
        user_id: i64,
        source: &str,
        at: &str,
    ) -> Result<()> {
        self.conn.execute(
            "INSERT OR IGNORE INTO run_owners (run_id, user_id, source, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![run_id, user_id, source, at],
        )?;
        Ok(())
    }

    /// Publish or withdraw a platform run; false when the run has no platform owner.
    pub fn set_published(&mut self, run_id: &str, published: bool) -> Result<bool> {
        Ok(self.conn.execute(
            "UPDATE run_owners SET published = ?2 WHERE run_id = ?1",
            params![run_id, published as i64],
        )? > 0)
    }

    /// Every run with its owner, newest first, without the results text.
    pub fn run_index(&self) -> Result<Vec<RunIndexRow>> {
        let mut st = self.conn.prepare(&format!(
            "{RUN_INDEX_SELECT} ORDER BY r.started_at DESC, r.id"
        ))?;
        let rows = st.query_map([], run_index_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// One run of [`SqliteBank::run_index`].
    pub fn run_index_entry(&self, id: &str) -> Result<Option<RunIndexRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("{RUN_INDEX_SELECT} WHERE r.id = ?1"),
                [id],
                run_index_row,
            )
            .optional()?)
    }

    /// Queue a live evaluation.
    pub fn enqueue_job(
        &mut self,
        user_id: i64,
        spec: &str,
        sealed_key: Option<&[u8]>,
        at: &str,
    ) -> Result<i64> {
        self.conn.execute(
            "INSERT INTO jobs (user_id, status, spec, sealed_key, created_at) VALUES (?1, 'queued', ?2, ?3, ?4)",
            params![user_id, spec, sealed_key, at],
        )?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Take the oldest queued job and mark it running, in one transaction.
    pub fn claim_job(&mut self, at: &str) -> Result<Option<JobRow>> {
        let tx = self.conn.transaction()?;
        let id: Option<i64> = tx
            .query_row(
                "SELECT id FROM jobs WHERE status = 'queued' ORDER BY id LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()?;
        let Some(id) = id else {
            return Ok(None);
        };
        tx.execute(
            "UPDATE jobs SET status = 'running', started_at = ?2, error = NULL WHERE id = ?1",
            params![id, at],
        )?;
        tx.commit()?;
        self.job(id)
    }

    /// Put jobs left `running` by a stopped server back in the queue; returns how many.
    pub fn requeue_running_jobs(&mut self) -> Result<usize> {
        Ok(self.conn.execute(
            "UPDATE jobs SET status = 'queued' WHERE status = 'running'",
            [],
        )?)
    }

    pub fn job_progress(
        &mut self,
        id: i64,
        run_id: Option<&str>,
        done: i64,
        total: i64,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE jobs SET run_id = COALESCE(?2, run_id), done = ?3, total = ?4 WHERE id = ?1",
            params![id, run_id, done, total],
        )?;
        Ok(())
    }

    /// End a job: `finished` with its run, or `failed` with a message.
    pub fn end_job(
        &mut self,
        id: i64,
        status: &str,
        run_id: Option<&str>,
        error: Option<&str>,
        at: &str,
    ) -> Result<()> {
        self.conn.execute(
            "UPDATE jobs SET status = ?2, run_id = COALESCE(?3, run_id), error = ?4, finished_at = ?5 WHERE id = ?1",
            params![id, status, run_id, error, at],
        )?;
        Ok(())
    }

    pub fn job(&self, id: i64) -> Result<Option<JobRow>> {
        Ok(self
            .conn
            .query_row(
                &format!(
                    "SELECT {JOB_COLS} FROM jobs j JOIN users u ON u.id = j.user_id WHERE j.id = ?1"
                ),
                [id],
                job_row,
            )
            .optional()?)
    }

    /// Jobs, newest first; only one user's when `user_id` is given.
    pub fn jobs(&self, user_id: Option<i64>) -> Result<Vec<JobRow>> {
        let mut st = self.conn.prepare(&format!(
            "SELECT {JOB_COLS} FROM jobs j JOIN users u ON u.id = j.user_id
             WHERE ?1 IS NULL OR j.user_id = ?1 ORDER BY j.id DESC"
        ))?;
        let rows = st.query_map([user_id], job_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Jobs by status, for metrics.
    pub fn job_counts(&self) -> Result<Vec<(String, i64)>> {
        let mut st = self
            .conn
            .prepare("SELECT status, COUNT(*) FROM jobs GROUP BY status ORDER BY status")?;
        let rows = st.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }
}
