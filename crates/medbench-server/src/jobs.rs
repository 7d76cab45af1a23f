//! The live-evaluation worker: takes queued jobs from the bank, one at a time,
//! and evaluates the registered endpoint on the job's round.
//!
//! A job survives a restart: `running` jobs go back to the queue when the
//! server starts, and the evaluation resumes its run (the run id hashes the
//! round, model, endpoint and sampling), so answers stored before the stop are
//! not asked again.

use crate::netguard;
use crate::state::AppState;
use medbench_eval::{EvalOptions, ModelSpec, ProviderKind};
use medbench_store::{JobRow, SqliteBank};
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a job asks for: everything but the key, which is sealed apart.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JobSpec {
    /// The endpoint, e.g. `https://api.example.org/v1`.
    pub base_url: String,
    /// The model name the endpoint knows.
    pub model: String,
    /// `openai` (any OpenAI-compatible server) or `anthropic`.
    #[serde(default)]
    pub provider: ProviderKind,
    /// The round (id or name) to answer.
    pub round: String,
    /// Requests in flight at once (capped by the server's limit).
    #[serde(default)]
    pub concurrency: Option<usize>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    #[serde(default)]
    pub temperature: Option<f64>,
}

/// The worker holds the state weakly: it stops when the server is gone.
pub fn start_worker(state: Arc<AppState>) -> std::thread::JoinHandle<()> {
    let weak = Arc::downgrade(&state);
    let (enabled, db, wake) = (
        state.config.worker,
        state.config.db.clone(),
        state.wake.clone(),
    );
    drop(state);
    std::thread::Builder::new()
        .name("medbench-worker".into())
        .spawn(move || {
            if !enabled {
                return;
            }
            let mut bank = match SqliteBank::open(&db) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "the job worker cannot open the bank; no live jobs will run");
                    return;
                }
            };
            let (m, c) = &*wake;
            loop {
                if m.lock().unwrap_or_else(|p| p.into_inner()).1 {
                    return;
                }
                // Held only while claiming and running: an idle worker keeps nothing alive.
                let Some(state) = weak.upgrade() else {
                    return;
                };
                match bank.claim_job(&medbench_eval::now()) {
                    Ok(Some(job)) => run(&state, &mut bank, job),
                    Ok(None) => {
                        drop(state);
                        let mut g = m.lock().unwrap_or_else(|p| p.into_inner());
                        if !g.0 && !g.1 {
                            g = c
                                .wait_timeout(g, Duration::from_secs(2))
                                .unwrap_or_else(|p| p.into_inner())
                                .0;
                        }
                        g.0 = false;
                    }
                    Err(e) => {
                        drop(state);
                        tracing::warn!(error = %e, "claiming a job failed; retrying");
                        std::thread::sleep(Duration::from_secs(1));
                    }
                }
            }
        })
        .expect("spawning the worker thread")
}

fn run(state: &AppState, bank: &mut SqliteBank, job: JobRow) {
    tracing::info!(job = job.id, user = %job.user, "job started");
    let outcome = evaluate(state, bank, &job);
    let at = medbench_eval::now();
    let r = match outcome {
        Ok(done) => {
            let run_id = done.run_id.as_str();
            let _ = bank.set_run_owner(run_id, job.user_id, "endpoint", &at);
            // A run with failed calls waits for a curator even under auto-publish.
            if state.config.auto_publish && done.errors == 0 {
                let _ = bank.set_published(run_id, true);
            }
            if done.errors > 0 && done.errors >= done.items {
                let first: Option<String> = bank
                    .connection()
                    .query_row(
                        "SELECT error FROM responses WHERE run_id = ?1 AND error IS NOT NULL LIMIT 1",
                        [run_id],
                        |r| r.get(0),
                    )
                    .ok();
                let why = format!(
                    "every call to the endpoint failed; the first: {}",
                    first.as_deref().unwrap_or("unknown")
                );
                tracing::warn!(job = job.id, run = %run_id, "job failed: every call failed");
                bank.end_job(job.id, "failed", Some(run_id), Some(&why), &at)
            } else {
                let warning = (done.errors > 0).then(|| {
                    format!(
                        "{} of {} items had calls that failed for good (counted as errors, apart from wrong answers); the run stays unpublished; register the endpoint again to retry only those",
                        done.errors, done.items
                    )
                });
                tracing::info!(job = job.id, run = %run_id, errors = done.errors, "job finished");
                bank.end_job(job.id, "finished", Some(run_id), warning.as_deref(), &at)
            }
        }
        Err(e) => {
            tracing::warn!(job = job.id, error = %e, "job failed");
            bank.end_job(job.id, "failed", None, Some(&e), &at)
        }
    };
    if let Err(e) = r {
        tracing::error!(job = job.id, error = %e, "cannot record the job's end");
    }
}

/// What an evaluated job came to.
struct Done {
    run_id: String,
    /// Items whose calls failed for good.
    errors: u64,
    items: u64,
}

fn evaluate(state: &AppState, bank: &mut SqliteBank, job: &JobRow) -> Result<Done, String> {
    let spec: JobSpec = serde_json::from_str(&job.spec).map_err(|e| format!("job spec: {e}"))?;
    // Checked again now: the name may resolve elsewhere than at registration.
    let checked = netguard::check(&spec.base_url, state.config.allow_private_endpoints)
        .map_err(|e| e.to_string())?;
    let timeout = Duration::from_secs(state.config.endpoint_timeout_secs.max(1));
    let client = netguard::pinned_client(&checked, timeout).map_err(|e| e.to_string())?;
    let key = match &job.sealed_key {
        Some(s) => Some(state.sealer.open(s)?),
        None => None,
    };
    let mut model = ModelSpec::named(&spec.model);
    model.provider = spec.provider;
    model.base_url = Some(spec.base_url.clone());
    model.api_key = key;
    model.http_client = Some(client);
    model.concurrency = Some(
        spec.concurrency
            .unwrap_or(8)
            .clamp(1, state.config.max_job_concurrency.max(1)),
    );
    model.timeout_secs = Some(timeout.as_secs());
    model.max_tokens = spec.max_tokens;
    model.temperature = spec.temperature;
    let opts = EvalOptions {
        judges: state.judges.clone(),
        ..Default::default()
    };
    let mut last = Instant::now() - Duration::from_secs(10);
    let id = job.id;
    let mut progress = |p: medbench_eval::AskProgress| {
        if last.elapsed() >= Duration::from_millis(500) || p.done == p.total {
            last = Instant::now();
            let _ = bank.job_progress(id, None, p.done as i64, p.total as i64);
        }
    };
    let s = medbench_round::evaluate_round(
        &state.config.db,
        &model,
        &spec.round,
        &opts,
        &mut progress,
        &mut |_| {},
    )
    .map_err(|e| e.to_string())?;
    Ok(Done {
        run_id: s.run_id,
        errors: s.results.items.errors,
        items: s.results.items.total,
    })
}
