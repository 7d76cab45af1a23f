//! The JSON API, and the work it shares with the pages (submissions, jobs,
//! round downloads, run visibility).

use crate::auth::{self, Auth, Principal, Role};
use crate::board::{self, BoardQuery};
use crate::error::{ApiResult, AppError};
use crate::state::{AppState, CachedRun};
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use medbench_round::{Layout, RoundError};
use medbench_store::{Bank, ItemFilter, RunIndexRow, SqliteBank};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) type St = State<Arc<AppState>>;

pub use crate::queue::{JobRequest, create_job, job, jobs};
pub(crate) use crate::queue::{job_for, job_view, queue_job};
pub use crate::uploads::submission;
pub(crate) use crate::uploads::submit_bytes;

pub(crate) fn round_err(e: RoundError) -> AppError {
    match e {
        RoundError::UnknownRound(_) => AppError::not_found(e.to_string()),
        RoundError::Store(s) => s.into(),
        RoundError::Io { .. } | RoundError::Corrupt(_) => AppError::internal(e),
        e => AppError::bad_request(e.to_string()),
    }
}

pub async fn healthz(State(s): St) -> ApiResult<&'static str> {
    s.db(|b| b.rounds().map(|_| ())).await?;
    Ok("ok")
}

pub async fn metrics(State(s): St) -> ApiResult<Response> {
    let (jobs, runs) = s
        .db(|b| Ok::<_, AppError>((b.job_counts()?, b.run_index()?.len())))
        .await?;
    let mut extra = String::from(
        "# HELP medbench_jobs Live-evaluation jobs by status.\n# TYPE medbench_jobs gauge\n",
    );
    for (st, n) in jobs {
        extra.push_str(&format!("medbench_jobs{{status=\"{st}\"}} {n}\n"));
    }
    extra.push_str(&format!(
        "# HELP medbench_runs Stored runs.\n# TYPE medbench_runs gauge\nmedbench_runs {runs}\n\
         # HELP medbench_uptime_seconds Seconds since the server started.\n# TYPE medbench_uptime_seconds gauge\nmedbench_uptime_seconds {}\n",
        s.started.elapsed().as_secs()
    ));
    Ok((
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.metrics.render(&extra),
    )
        .into_response())
}

pub async fn openapi() -> Json<Value> {
    Json(crate::openapi::document())
}

pub async fn me(auth: axum::Extension<Auth>) -> ApiResult<Json<Value>> {
    let p = auth.principal()?;
    Ok(Json(json!({"user": p.name, "role": p.role})))
}

pub async fn leaderboard(
    State(s): St,
    auth: axum::Extension<Auth>,
    Query(q): Query<BoardQuery>,
) -> ApiResult<Json<board::Board>> {
    let p = auth.principal()?.clone();
    let st = s.clone();
    Ok(Json(s.db(move |b| board::build(&st, b, &p, &q)).await?))
}

/// Runs `p` may see, newest first.
pub(crate) fn visible_runs(bank: &SqliteBank, p: &Principal) -> ApiResult<Vec<RunIndexRow>> {
    Ok(bank
        .run_index()?
        .into_iter()
        .filter(|r| board::visible(r, p))
        .collect())
}

pub async fn runs(State(s): St, auth: axum::Extension<Auth>) -> ApiResult<Json<Vec<RunIndexRow>>> {
    let p = auth.principal()?.clone();
    Ok(Json(s.db(move |b| visible_runs(b, &p)).await?))
}

/// A finished run `p` may see; 404 otherwise (its existence is not confirmed).
pub(crate) async fn visible_run(
    s: &Arc<AppState>,
    p: &Principal,
    id: &str,
) -> ApiResult<(RunIndexRow, Arc<CachedRun>)> {
    let (p, id2, st) = (p.clone(), id.to_owned(), s.clone());
    s.db(move |b| {
        let row = b
            .run_index_entry(&id2)?
            .filter(|r| board::visible(r, &p))
            .ok_or_else(|| AppError::not_found(format!("no run `{id2}` you may see")))?;
        let fin = row.finished_at.clone().unwrap_or_default();
        let c = st
            .cached_run(&row.id, &fin, || {
                b.run(&row.id).ok().flatten().and_then(|r| r.results)
            })
            .ok_or_else(|| AppError::not_found(format!("run `{id2}` has no results yet")))?;
        Ok::<_, AppError>((row, c))
    })
    .await
}

pub async fn run_results(
    State(s): St,
    auth: axum::Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (_, c) = visible_run(&s, auth.principal()?, &id).await?;
    Ok((
        [(header::CONTENT_TYPE, "application/json")],
        medbench_report::to_json(&c.results),
    )
        .into_response())
}

/// The report page of a run, rendered once per run version.
pub(crate) fn report_html(c: &CachedRun) -> Bytes {
    let mut h = c.html.lock().unwrap_or_else(|p| p.into_inner());
    h.get_or_insert_with(|| Bytes::from(medbench_report::to_html(&c.results)))
        .clone()
}

/// A cached report as an HTML response, without copying it.
pub(crate) async fn report_response(c: Arc<CachedRun>) -> ApiResult<Response> {
    let cached = c.html.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let html = match cached {
        Some(h) => h,
        None => tokio::task::spawn_blocking(move || report_html(&c)).await?,
    };
    Ok(([(header::CONTENT_TYPE, "text/html; charset=utf-8")], html).into_response())
}

pub async fn run_report(
    State(s): St,
    auth: axum::Extension<Auth>,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let (_, c) = visible_run(&s, auth.principal()?, &id).await?;
    report_response(c).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PublishBody {
    #[serde(default = "yes")]
    published: bool,
}
fn yes() -> bool {
    true
}

pub(crate) async fn set_published(s: &Arc<AppState>, id: String, published: bool) -> ApiResult<()> {
    let ok = s.db(move |b| b.set_published(&id, published)).await?;
    if !ok {
        return Err(AppError::not_found(
            "no platform run with that id (runs made with the CLI are always shown)",
        ));
    }
    s.runs.lock().expect("runs cache").clear();
    Ok(())
}

pub async fn publish(State(s): St, Path(id): Path<String>, body: Bytes) -> ApiResult<Json<Value>> {
    let b: PublishBody = if body.is_empty() {
        PublishBody { published: true }
    } else {
        serde_json::from_slice(&body).map_err(|e| AppError::bad_request(format!("body: {e}")))?
    };
    set_published(&s, id.clone(), b.published).await?;
    Ok(Json(json!({"run_id": id, "published": b.published})))
}

#[derive(Serialize)]
pub(crate) struct RoundInfo {
    pub id: String,
    pub name: String,
    pub seq: i64,
    pub created_at: String,
    pub instances: usize,
}

pub(crate) fn round_list(b: &SqliteBank) -> ApiResult<Vec<RoundInfo>> {
    let mut out = Vec::new();
    for r in b.rounds()? {
        let n = b.round_instances(&r.id)?.len();
        out.push(RoundInfo {
            id: r.id,
            name: r.name,
            seq: r.seq,
            created_at: r.created_at,
            instances: n,
        });
    }
    out.sort_by_key(|r| std::cmp::Reverse(r.seq));
    Ok(out)
}

pub async fn rounds(State(s): St) -> ApiResult<Json<Vec<RoundInfo>>> {
    Ok(Json(s.db(|b| round_list(b)).await?))
}

/// A round's download (v4 layout: one zip per track), built once.
pub(crate) async fn round_export(
    s: &Arc<AppState>,
    key: &str,
) -> ApiResult<(String, crate::state::Export)> {
    let (key, st) = (key.to_owned(), s.clone());
    s.db(move |b| {
        let round = if key == "current" {
            b.rounds()?
                .into_iter()
                .max_by_key(|r| r.seq)
                .ok_or_else(|| AppError::not_found("no round has been drawn yet"))?
        } else {
            medbench_round::find_round(b, &key).map_err(round_err)?
        };
        if let Some(f) = st.exports.lock().expect("exports").get(&round.id) {
            return Ok((round.id.clone(), f.clone()));
        }
        let dir = tempfile::tempdir_in(st.scratch.path()).map_err(AppError::internal)?;
        let files = medbench_round::export(b, &round.id, Layout::MedbenchV4, dir.path())
            .map_err(round_err)?;
        let mut out = Vec::new();
        for f in files.iter().filter(|f| f.is_file()) {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((name, std::fs::read(f).map_err(AppError::internal)?));
        }
        let out = Arc::new(out);
        st.exports
            .lock()
            .expect("exports")
            .insert(round.id.clone(), out.clone());
        Ok::<_, AppError>((round.id, out))
    })
    .await
}

pub async fn round_files(State(s): St, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let (rid, files) = round_export(&s, &id).await?;
    let list: Vec<Value> = files
        .iter()
        .map(|(n, b)| json!({"name": n, "bytes": b.len(), "url": format!("/api/v1/rounds/{rid}/files/{n}")}))
        .collect();
    Ok(Json(json!({"round": rid, "files": list})))
}

pub async fn round_file(
    State(s): St,
    Path((id, name)): Path<(String, String)>,
) -> ApiResult<Response> {
    let (_, files) = round_export(&s, &id).await?;
    let (n, bytes) = files
        .iter()
        .find(|(n, _)| *n == name)
        .ok_or_else(|| AppError::not_found(format!("round `{id}` has no file `{name}`")))?;
    let ct = if n.ends_with(".zip") {
        "application/zip"
    } else {
        "application/octet-stream"
    };
    Ok((
        [
            (header::CONTENT_TYPE, ct.to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{n}\""),
            ),
        ],
        bytes.clone(),
    )
        .into_response())
}

#[derive(Deserialize, Default)]
pub struct ItemsQuery {
    pub task: Option<String>,
    pub track: Option<String>,
    pub language: Option<String>,
    pub limit: Option<usize>,
    pub offset: Option<usize>,
}

pub(crate) fn item_filter(q: &ItemsQuery) -> ApiResult<ItemFilter> {
    let mut f = ItemFilter::default();
    if let Some(t) = q.task.as_deref().filter(|t| !t.is_empty()) {
        f.tasks.push(t.to_owned());
    }
    if let Some(t) = q.track.as_deref().filter(|t| !t.is_empty()) {
        f.tracks.push(t.parse().map_err(|_| {
            AppError::bad_request(format!("track: `{t}` (expected llm, multimodal or agent)"))
        })?);
    }
    if let Some(l) = q.language.as_deref().filter(|t| !t.is_empty()) {
        f.languages.push(l.to_owned());
    }
    Ok(f)
}

pub async fn items(State(s): St, Query(q): Query<ItemsQuery>) -> ApiResult<Json<Value>> {
    let f = item_filter(&q)?;
    let (limit, offset) = (q.limit.unwrap_or(50).min(500), q.offset.unwrap_or(0));
    let rows = s.db(move |b| b.list(&f, limit, offset)).await?;
    Ok(Json(
        json!({"limit": limit, "offset": offset, "items": rows}),
    ))
}

pub async fn item(State(s): St, Path(id): Path<String>) -> ApiResult<Json<Value>> {
    let id2 = id.clone();
    let it = s
        .db(move |b| b.get(&id2))
        .await?
        .ok_or_else(|| AppError::not_found(format!("no item `{id}`")))?;
    Ok(Json(serde_json::to_value(&it).map_err(AppError::internal)?))
}

pub async fn taxonomy() -> Json<Value> {
    let t = medbench_core::Taxonomy::builtin();
    Json(Value::Array(
        t.all()
            .iter()
            .map(|s| json!({"code": s.code, "zh": s.zh, "en": s.en}))
            .collect(),
    ))
}

pub async fn users(State(s): St) -> ApiResult<Json<Value>> {
    let (u, t) = s
        .db(|b| Ok::<_, AppError>((b.users()?, b.tokens()?)))
        .await?;
    Ok(Json(json!({"users": u, "tokens": t})))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    pub role: String,
}

pub(crate) async fn new_user(s: &Arc<AppState>, u: NewUser) -> ApiResult<medbench_store::UserRow> {
    let role: Role = u
        .role
        .parse()
        .map_err(|e: String| AppError::bad_request(format!("role: {e}")))?;
    s.db(move |b| auth::add_user(b, &u.name, role)).await
}

pub async fn add_user(State(s): St, body: Bytes) -> ApiResult<Response> {
    let u: NewUser =
        serde_json::from_slice(&body).map_err(|e| AppError::bad_request(format!("body: {e}")))?;
    Ok((StatusCode::CREATED, Json(new_user(&s, u).await?)).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub user: String,
    #[serde(default)]
    pub label: String,
}

pub(crate) async fn new_token(s: &Arc<AppState>, t: NewToken) -> ApiResult<(i64, String)> {
    s.db(move |b| auth::create_token(b, &t.user, &t.label))
        .await
}

pub async fn create_token(State(s): St, body: Bytes) -> ApiResult<Response> {
    let t: NewToken =
        serde_json::from_slice(&body).map_err(|e| AppError::bad_request(format!("body: {e}")))?;
    let user = t.user.clone();
    let (id, secret) = new_token(&s, t).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id, "user": user, "token": secret, "note": "shown once; only its hash is stored"}))).into_response())
}

pub async fn revoke_token(State(s): St, Path(id): Path<i64>) -> ApiResult<Json<Value>> {
    if !s.db(move |b| b.revoke_token(id)).await? {
        return Err(AppError::not_found(format!("no token {id}")));
    }
    Ok(Json(json!({"id": id, "revoked": true})))
}
