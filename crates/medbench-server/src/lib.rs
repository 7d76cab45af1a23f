//! # medbench-server
//!
//! `medbench serve`: the platform over HTTP. One port serves a JSON API
//! (described at `/openapi.json`) and server-rendered pages that work without
//! JavaScript. Callers are users with roles, authenticated by hashed API
//! tokens. Submitters download rounds (questions only), upload answer files
//! or register endpoints that the in-server worker evaluates from a job queue
//! kept in the bank; everyone allowed reads leaderboards with confidence
//! intervals and tie groups, and report pages.
//!
//! The server adds no stage of its own: it calls the same library functions
//! as the CLI (`medbench_round::submit_with`, `evaluate_round`, `export`) and
//! keeps only who owns what (`run_owners`), tokens and jobs.

pub mod auth;
mod board;
pub mod error;
mod handlers;
mod jobs;
mod middleware;
pub mod netguard;
pub mod openapi;
mod ops;
mod pages;
mod queue;
mod routes;
mod seal;
mod state;
mod uploads;

pub use auth::{Cap, Principal, ROLES, Role, add_user, create_token};
pub use routes::{ROUTES, RouteSpec, router};
pub use state::{AppState, JudgeConfig, ServerConfig};

use anyhow::Context;
use std::sync::Arc;

/// Open the bank, start the job worker and serve until Ctrl-C or SIGTERM.
pub async fn serve(config: ServerConfig) -> anyhow::Result<()> {
    let addr = config.addr.clone();
    let state = Arc::new(AppState::open(config)?);
    let requeued = state.db(|b| b.requeue_running_jobs()).await?;
    if requeued > 0 {
        tracing::info!(
            requeued,
            "jobs left running by the last server are queued again"
        );
    }
    let worker = jobs::start_worker(state.clone());
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let local = listener.local_addr()?;
    tracing::info!(%local, db = %state.config.db, "medbench server listening");
    eprintln!(
        "medbench server on http://{local}/ (bank {})",
        state.config.db
    );
    axum::serve(listener, router(state.clone()))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    state.stop_worker();
    let _ = tokio::task::spawn_blocking(move || worker.join()).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
}

/// For tests: a server on an ephemeral loopback port, with its worker.
pub async fn spawn(config: ServerConfig) -> anyhow::Result<(std::net::SocketAddr, Arc<AppState>)> {
    let state = Arc::new(AppState::open(config)?);
    state.db(|b| b.requeue_running_jobs()).await?;
    jobs::start_worker(state.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = router(state.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok((addr, state))
}
