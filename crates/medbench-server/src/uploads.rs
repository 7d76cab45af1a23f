//! Uploaded answer files: stored under the server's scratch space with names of
//! our own, validated and scored as one submission, owned by the uploader.

use crate::auth::{Auth, Principal};
use crate::error::{ApiResult, AppError};
use crate::handlers::St;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medbench_round::{IssueKind, RoundError, UnpackLimits};
use medbench_store::SqliteBank;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What an upload came to.
#[derive(Serialize)]
pub(crate) struct SubmissionOutcome {
    pub run_id: String,
    pub round: String,
    pub model: String,
    pub answered: usize,
    pub instances: usize,
    pub overall: medbench_report::Stat,
    /// Rows rejected or worth a look, `file:line: field: message`, at most 200.
    pub issues: Vec<String>,
    /// Every issue, the missing ones included.
    pub issues_total: usize,
    /// Tasks whose instances had no row (scored as wrong), one line per task, at most 200.
    pub missing: Vec<String>,
    pub published: bool,
}

/// Our own name for an uploaded file on disk: nothing of the client's path is used.
fn safe_name(file_name: &str, bytes: &[u8], n: usize) -> String {
    let is_zip = bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06");
    let stem: String = file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or("")
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(64)
        .collect::<String>()
        .trim_end_matches(".zip")
        .trim_end_matches(".jsonl")
        .trim_matches('.')
        .to_owned();
    let stem = match (stem.is_empty(), n) {
        (true, 0) => "upload".to_owned(),
        (true, n) => format!("upload-{n}"),
        (false, _) => stem,
    };
    format!("{stem}.{}", if is_zip { "zip" } else { "jsonl" })
}

/// Validate and score uploaded answer files (one zip or JSONL, or several, e.g. the
/// three track zips of a round) for `p`, as one submission.
pub(crate) async fn submit_bytes(
    s: &Arc<AppState>,
    p: &Principal,
    round: Option<String>,
    model: String,
    files: Vec<(String, Bytes)>,
) -> ApiResult<SubmissionOutcome> {
    if model.trim().is_empty() {
        return Err(AppError::bad_request(
            "model: name the model that produced the answers",
        ));
    }
    let files: Vec<(String, Bytes)> = files.into_iter().filter(|(_, b)| !b.is_empty()).collect();
    if files.is_empty() {
        return Err(AppError::bad_request("the upload is empty"));
    }
    let mut named: Vec<(String, Bytes)> = Vec::new();
    for (i, (n, b)) in files.into_iter().enumerate() {
        let mut name = safe_name(&n, &b, i);
        if named.iter().any(|(x, _)| *x == name) {
            name = format!("{i}-{name}");
        }
        named.push((name, b));
    }
    let limits = UnpackLimits {
        max_entries: s.config.max_zip_entries,
        max_total_bytes: s.config.max_unpacked_bytes,
    };
    let (st, user, auto) = (s.clone(), p.user_id, s.config.auto_publish);
    let work = move |b: &mut SqliteBank| {
        let round = match round.filter(|r| !r.trim().is_empty()) {
            Some(r) => r,
            None => b
                .rounds()?
                .into_iter()
                .max_by_key(|r| r.seq)
                .map(|r| r.id)
                .ok_or_else(|| AppError::not_found("no round has been drawn yet"))?,
        };
        let dir = tempfile::tempdir_in(st.scratch.path()).map_err(AppError::internal)?;
        // One file is submitted as itself; several as a folder of them.
        let path = if named.len() == 1 {
            dir.path().join(&named[0].0)
        } else {
            dir.path().join("upload")
        };
        if named.len() > 1 {
            std::fs::create_dir(&path).map_err(AppError::internal)?;
        }
        for (name, bytes) in &named {
            let to = if named.len() == 1 {
                path.clone()
            } else {
                path.join(name)
            };
            std::fs::write(&to, bytes).map_err(AppError::internal)?;
        }
        let shown = format!("{}/", dir.path().display());
        let sub =
            medbench_round::submit_with(b, &round, &path, &model, &limits, &st.judges, &mut |_| {})
                .map_err(|e| match e {
                    RoundError::UnknownRound(_) => AppError::not_found(e.to_string()),
                    RoundError::Store(s) => s.into(),
                    // The judge stage is the server's, not the uploader's.
                    RoundError::Eval(_) => AppError::internal(e),
                    e => AppError::bad_request(e.to_string().replace(&shown, "")),
                })?;
        let at = medbench_eval::now();
        b.set_run_owner(&sub.run_id, user, "upload", &at)?;
        if auto {
            b.set_published(&sub.run_id, true)?;
        }
        let prefix = format!("{}/", dir.path().display());
        let shown = |missing: bool| -> Vec<String> {
            sub.issues
                .iter()
                .filter(|i| (i.kind == IssueKind::Missing) == missing)
                .take(200)
                .map(|i| i.to_string().replace(&prefix, ""))
                .collect()
        };
        let (issues, missing) = (shown(false), shown(true));
        Ok::<_, AppError>(SubmissionOutcome {
            run_id: sub.run_id,
            round: sub.round_id,
            model,
            answered: sub.answered,
            instances: sub.instances,
            overall: sub.results.overall.clone(),
            issues_total: sub.issues.len(),
            issues,
            missing,
            published: auto,
        })
    };
    if s.judges.is_empty() {
        return s.db(work).await;
    }
    // Judging takes minutes: on a connection of its own, so that other requests do not
    // wait for the shared one meanwhile.
    let db = s.config.db.clone();
    tokio::task::spawn_blocking(move || {
        let mut b = SqliteBank::open(&db)?;
        work(&mut b)
    })
    .await?
}

#[derive(Deserialize)]
pub struct SubmissionQuery {
    model: String,
    round: Option<String>,
    filename: Option<String>,
}

pub async fn submission(
    State(s): St,
    auth: axum::Extension<Auth>,
    q: Result<Query<SubmissionQuery>, axum::extract::rejection::QueryRejection>,
    body: Bytes,
) -> ApiResult<Response> {
    let p = auth.principal()?.clone();
    let Query(q) = q.map_err(|e| {
        AppError::bad_request(format!(
            "query: {e} (give ?model=NAME, optionally &round=ROUND)"
        ))
    })?;
    let name = q.filename.unwrap_or_else(|| "upload".into());
    let out = submit_bytes(&s, &p, q.round, q.model, vec![(name, body)]).await?;
    Ok((StatusCode::CREATED, Json(out)).into_response())
}
