//! Live-evaluation jobs as callers see them: registering an endpoint (checked,
//! key sealed), listing and following jobs. The worker that runs them is `jobs.rs`.

use crate::auth::{Auth, Cap, Principal};
use crate::error::{ApiResult, AppError};
use crate::handlers::{St, round_err};
use crate::jobs::JobSpec;
use crate::netguard;
use crate::state::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use medbench_store::JobRow;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;

/// A job as callers see it: no key.
pub(crate) fn job_view(j: &JobRow) -> Value {
    let spec: Value = serde_json::from_str(&j.spec).unwrap_or(Value::Null);
    json!({
        "id": j.id, "user": j.user, "status": j.status, "spec": spec, "run_id": j.run_id,
        "done": j.done, "total": j.total, "error": j.error, "key_set": j.sealed_key.is_some(),
        "created_at": j.created_at, "started_at": j.started_at, "finished_at": j.finished_at,
    })
}

pub async fn jobs(State(s): St, auth: axum::Extension<Auth>) -> ApiResult<Json<Vec<Value>>> {
    let p = auth.principal()?.clone();
    let only = (!p.can(Cap::ReadAllRuns)).then_some(p.user_id);
    let rows = s.db(move |b| b.jobs(only)).await?;
    Ok(Json(rows.iter().map(job_view).collect()))
}

pub(crate) async fn job_for(s: &Arc<AppState>, p: &Principal, id: i64) -> ApiResult<JobRow> {
    let j = s.db(move |b| b.job(id)).await?;
    match j {
        Some(j) if j.user_id == p.user_id || p.can(Cap::ReadAllRuns) => Ok(j),
        _ => Err(AppError::not_found(format!("no job {id} of yours"))),
    }
}

pub async fn job(
    State(s): St,
    auth: axum::Extension<Auth>,
    Path(id): Path<i64>,
) -> ApiResult<Json<Value>> {
    let j = job_for(&s, auth.principal()?, id).await?;
    Ok(Json(job_view(&j)))
}

/// A request to evaluate an endpoint.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobRequest {
    pub base_url: String,
    pub model: String,
    #[serde(default)]
    pub provider: Option<String>,
    /// Held server-side, sealed; never shown again.
    #[serde(default)]
    pub api_key: Option<String>,
    /// Round id or name; default the newest round.
    #[serde(default)]
    pub round: Option<String>,
    #[serde(default)]
    pub concurrency: Option<usize>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f64>,
}

pub(crate) async fn queue_job(
    s: &Arc<AppState>,
    p: &Principal,
    r: JobRequest,
) -> ApiResult<JobRow> {
    if r.model.trim().is_empty() {
        return Err(AppError::bad_request(
            "model: name the model the endpoint serves",
        ));
    }
    let provider = match r.provider.as_deref().map(str::trim) {
        None | Some("") | Some("openai") => medbench_eval::ProviderKind::Openai,
        Some("anthropic") => medbench_eval::ProviderKind::Anthropic,
        Some(o) => {
            return Err(AppError::bad_request(format!(
                "provider: `{o}` (expected openai or anthropic)"
            )));
        }
    };
    let (url, allow) = (
        r.base_url.trim().to_owned(),
        s.config.allow_private_endpoints,
    );
    tokio::task::spawn_blocking(move || netguard::check(&url, allow))
        .await?
        .map_err(|e| AppError::bad_request(format!("base_url: {e}")))?;
    let sealed = r
        .api_key
        .as_deref()
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .map(|k| s.sealer.seal(k));
    let user = p.user_id;
    let round_key = r.round.clone();
    let st = s.clone();
    let job = s
        .db(move |b| {
            let round = match round_key.filter(|x| !x.trim().is_empty()) {
                Some(k) => medbench_round::find_round(b, &k).map_err(round_err)?,
                None => b
                    .rounds()?
                    .into_iter()
                    .max_by_key(|x| x.seq)
                    .ok_or_else(|| AppError::not_found("no round has been drawn yet"))?,
            };
            let spec = JobSpec {
                base_url: r.base_url.trim().to_owned(),
                model: r.model.trim().to_owned(),
                provider,
                round: round.id,
                concurrency: r.concurrency,
                max_tokens: r.max_tokens,
                temperature: r.temperature,
            };
            let text = serde_json::to_string(&spec).map_err(AppError::internal)?;
            let id = b.enqueue_job(user, &text, sealed.as_deref(), &medbench_eval::now())?;
            b.job(id)?.ok_or_else(|| AppError::internal("job vanished"))
        })
        .await?;
    st.notify_worker();
    Ok(job)
}

pub async fn create_job(
    State(s): St,
    auth: axum::Extension<Auth>,
    body: Bytes,
) -> ApiResult<Response> {
    let p = auth.principal()?.clone();
    let r: JobRequest =
        serde_json::from_slice(&body).map_err(|e| AppError::bad_request(format!("body: {e}")))?;
    let j = queue_job(&s, &p, r).await?;
    Ok((StatusCode::ACCEPTED, Json(job_view(&j))).into_response())
}
