//! Every route, who may call it, and the middleware around them.
//!
//! [`ROUTES`] is the one table of routes and the capability each needs. The
//! router takes each route's guard from it (a route missing from the table
//! cannot be mounted), `/openapi.json` is generated from its API half, and the
//! tests walk it with every role.

use crate::auth::{Auth, Cap};
use crate::state::AppState;
use crate::{handlers as api, pages};
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, delete, get, post};
use std::sync::Arc;

/// One route: method, path (axum syntax), the capability it needs (`None`: public),
/// whether it is part of the JSON API, and what it does.
#[derive(Debug, Clone, Copy)]
pub struct RouteSpec {
    pub method: &'static str,
    pub path: &'static str,
    pub cap: Option<Cap>,
    pub api: bool,
    pub summary: &'static str,
}

const fn r(
    method: &'static str,
    path: &'static str,
    cap: Option<Cap>,
    api: bool,
    summary: &'static str,
) -> RouteSpec {
    RouteSpec {
        method,
        path,
        cap,
        api,
        summary,
    }
}

use Cap::*;

pub const ROUTES: &[RouteSpec] = &[
    r(
        "GET",
        "/healthz",
        None,
        true,
        "Liveness: 200 and `ok` when the bank answers.",
    ),
    r(
        "GET",
        "/metrics",
        None,
        true,
        "Prometheus metrics: requests, latencies, jobs, runs.",
    ),
    r("GET", "/openapi.json", None, true, "This API description."),
    r(
        "GET",
        "/api/v1/me",
        Some(ReadBoard),
        true,
        "The caller: user name and role.",
    ),
    r(
        "GET",
        "/api/v1/leaderboard",
        Some(ReadBoard),
        true,
        "Ranked runs of a round, by overall, track or dimension score, with 95% intervals and tie groups.",
    ),
    r(
        "GET",
        "/api/v1/runs",
        Some(ReadBoard),
        true,
        "Runs the caller may see.",
    ),
    r(
        "GET",
        "/api/v1/runs/{id}",
        Some(ReadBoard),
        true,
        "A run's results.json.",
    ),
    r(
        "GET",
        "/api/v1/runs/{id}/report.html",
        Some(ReadBoard),
        true,
        "A run's self-contained HTML report.",
    ),
    r(
        "POST",
        "/api/v1/runs/{id}/publish",
        Some(Publish),
        true,
        "Publish (or withdraw with `{\"published\": false}`) a platform run.",
    ),
    r(
        "GET",
        "/api/v1/rounds",
        Some(ReadBoard),
        true,
        "Rounds: id, name, creation time, instance count (newest first).",
    ),
    r(
        "GET",
        "/api/v1/rounds/{id}/files",
        Some(Submit),
        true,
        "The files of a round's download (questions only).",
    ),
    r(
        "GET",
        "/api/v1/rounds/{id}/files/{name}",
        Some(Submit),
        true,
        "One file of a round's download; `current` names the newest round.",
    ),
    r(
        "POST",
        "/api/v1/submissions",
        Some(Submit),
        true,
        "Upload a filled round export (zip or JSONL body) for `?model=NAME[&round=R]`; validated and scored.",
    ),
    r(
        "GET",
        "/api/v1/jobs",
        Some(Submit),
        true,
        "The caller's live-evaluation jobs (everyone's with read-all).",
    ),
    r(
        "POST",
        "/api/v1/jobs",
        Some(Submit),
        true,
        "Register an endpoint to be evaluated on a round by the server's worker.",
    ),
    r(
        "GET",
        "/api/v1/jobs/{id}",
        Some(Submit),
        true,
        "One job: status, progress, run.",
    ),
    r(
        "GET",
        "/api/v1/items",
        Some(BrowseItems),
        true,
        "Items of the bank (summaries), filtered by task, track, language.",
    ),
    r(
        "GET",
        "/api/v1/items/{*id}",
        Some(BrowseItems),
        true,
        "One item, with its reference.",
    ),
    r(
        "GET",
        "/api/v1/taxonomy",
        Some(BrowseItems),
        true,
        "The specialty taxonomy.",
    ),
    r(
        "GET",
        "/api/v1/users",
        Some(ManageUsers),
        true,
        "Users and tokens (never secrets).",
    ),
    r(
        "POST",
        "/api/v1/users",
        Some(ManageUsers),
        true,
        "Add a user `{\"name\", \"role\"}`.",
    ),
    r(
        "POST",
        "/api/v1/tokens",
        Some(ManageUsers),
        true,
        "Create a token `{\"user\", \"label\"}`; the secret is in this answer only.",
    ),
    r(
        "DELETE",
        "/api/v1/tokens/{id}",
        Some(ManageUsers),
        true,
        "Revoke a token.",
    ),
    r("GET", "/login", None, false, "Log-in form."),
    r(
        "POST",
        "/login",
        None,
        false,
        "Log in with a token (sets an HttpOnly cookie).",
    ),
    r("POST", "/logout", None, false, "Log out."),
    r(
        "GET",
        "/assets/style.css",
        None,
        false,
        "The pages' style sheet.",
    ),
    r("GET", "/", Some(ReadBoard), false, "Home."),
    r(
        "GET",
        "/leaderboard",
        Some(ReadBoard),
        false,
        "Leaderboard page.",
    ),
    r("GET", "/runs", Some(ReadBoard), false, "Runs page."),
    r("GET", "/runs/{id}", Some(ReadBoard), false, "A run's page."),
    r(
        "GET",
        "/runs/{id}/report",
        Some(ReadBoard),
        false,
        "A run's report with charts.",
    ),
    r(
        "POST",
        "/runs/{id}/publish",
        Some(Publish),
        false,
        "Publish or withdraw (form).",
    ),
    r(
        "GET",
        "/rounds",
        Some(Submit),
        false,
        "Rounds with their downloads.",
    ),
    r(
        "GET",
        "/rounds/{id}/files/{name}",
        Some(Submit),
        false,
        "Download one file of a round.",
    ),
    r("GET", "/submit", Some(Submit), false, "Upload form."),
    r(
        "POST",
        "/submit",
        Some(Submit),
        false,
        "Upload answers (multipart form).",
    ),
    r(
        "GET",
        "/endpoints",
        Some(Submit),
        false,
        "Register an endpoint; your jobs.",
    ),
    r(
        "POST",
        "/endpoints",
        Some(Submit),
        false,
        "Register an endpoint (form).",
    ),
    r("GET", "/jobs/{id}", Some(Submit), false, "A job's page."),
    r("GET", "/items", Some(BrowseItems), false, "Browse items."),
    r("GET", "/items/{*id}", Some(BrowseItems), false, "One item."),
    r(
        "GET",
        "/taxonomy",
        Some(BrowseItems),
        false,
        "The specialty taxonomy.",
    ),
    r(
        "GET",
        "/admin",
        Some(ManageUsers),
        false,
        "Users and tokens.",
    ),
    r(
        "POST",
        "/admin/users",
        Some(ManageUsers),
        false,
        "Add a user (form).",
    ),
    r(
        "POST",
        "/admin/tokens",
        Some(ManageUsers),
        false,
        "Create a token (form).",
    ),
    r(
        "POST",
        "/admin/tokens/{id}/revoke",
        Some(ManageUsers),
        false,
        "Revoke a token (form).",
    ),
];

fn spec(method: &str, path: &str) -> &'static RouteSpec {
    ROUTES
        .iter()
        .find(|s| s.method == method && s.path == path)
        .unwrap_or_else(|| panic!("route {method} {path} is not in ROUTES"))
}

fn guarded(
    mr: MethodRouter<Arc<AppState>>,
    method: &str,
    path: &str,
) -> MethodRouter<Arc<AppState>> {
    match spec(method, path).cap {
        None => mr,
        Some(cap) => mr.route_layer(middleware::from_fn(move |req: Request, next: Next| {
            guard(cap, req, next)
        })),
    }
}

async fn guard(cap: Cap, req: Request, next: Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let auth = req.extensions().get::<Auth>().cloned().unwrap_or_default();
    match auth.require(cap) {
        Ok(_) => next.run(req).await,
        Err(e) if api => e.into_response(),
        Err(e) => crate::error::PageError(e).into_response(),
    }
}

/// The whole application.
pub fn router(state: Arc<AppState>) -> Router {
    let g = |p: &'static str, m: MethodRouter<Arc<AppState>>, method: &str| guarded(m, method, p);
    let app = Router::new()
        .route("/healthz", g("/healthz", get(api::healthz), "GET"))
        .route("/metrics", g("/metrics", get(api::metrics), "GET"))
        .route(
            "/openapi.json",
            g("/openapi.json", get(api::openapi), "GET"),
        )
        .route("/api/v1/me", g("/api/v1/me", get(api::me), "GET"))
        .route(
            "/api/v1/leaderboard",
            g("/api/v1/leaderboard", get(api::leaderboard), "GET"),
        )
        .route("/api/v1/runs", g("/api/v1/runs", get(api::runs), "GET"))
        .route(
            "/api/v1/runs/{id}",
            g("/api/v1/runs/{id}", get(api::run_results), "GET"),
        )
        .route(
            "/api/v1/runs/{id}/report.html",
            g("/api/v1/runs/{id}/report.html", get(api::run_report), "GET"),
        )
        .route(
            "/api/v1/runs/{id}/publish",
            g("/api/v1/runs/{id}/publish", post(api::publish), "POST"),
        )
        .route(
            "/api/v1/rounds",
            g("/api/v1/rounds", get(api::rounds), "GET"),
        )
        .route(
            "/api/v1/rounds/{id}/files",
            g("/api/v1/rounds/{id}/files", get(api::round_files), "GET"),
        )
        .route(
            "/api/v1/rounds/{id}/files/{name}",
            g(
                "/api/v1/rounds/{id}/files/{name}",
                get(api::round_file),
                "GET",
            ),
        )
        .route(
            "/api/v1/submissions",
            g("/api/v1/submissions", post(api::submission), "POST"),
        )
        .route(
            "/api/v1/jobs",
            g("/api/v1/jobs", get(api::jobs), "GET").merge(g(
                "/api/v1/jobs",
                post(api::create_job),
                "POST",
            )),
        )
        .route(
            "/api/v1/jobs/{id}",
            g("/api/v1/jobs/{id}", get(api::job), "GET"),
        )
        .route("/api/v1/items", g("/api/v1/items", get(api::items), "GET"))
        .route(
            "/api/v1/items/{*id}",
            g("/api/v1/items/{*id}", get(api::item), "GET"),
        )
        .route(
            "/api/v1/taxonomy",
            g("/api/v1/taxonomy", get(api::taxonomy), "GET"),
        )
        .route(
            "/api/v1/users",
            g("/api/v1/users", get(api::users), "GET").merge(g(
                "/api/v1/users",
                post(api::add_user),
                "POST",
            )),
        )
        .route(
            "/api/v1/tokens",
            g("/api/v1/tokens", post(api::create_token), "POST"),
        )
        .route(
            "/api/v1/tokens/{id}",
            g("/api/v1/tokens/{id}", delete(api::revoke_token), "DELETE"),
        )
        .route(
            "/login",
            g("/login", get(pages::login_form), "GET").merge(g(
                "/login",
                post(pages::login),
                "POST",
            )),
        )
        .route("/logout", g("/logout", post(pages::logout), "POST"))
        .route(
            "/assets/style.css",
            g("/assets/style.css", get(pages::style), "GET"),
        )
        .route("/", g("/", get(pages::home), "GET"))
        .route(
            "/leaderboard",
            g("/leaderboard", get(pages::leaderboard), "GET"),
        )
        .route("/runs", g("/runs", get(pages::runs), "GET"))
        .route("/runs/{id}", g("/runs/{id}", get(pages::run), "GET"))
        .route(
            "/runs/{id}/report",
            g("/runs/{id}/report", get(pages::report), "GET"),
        )
        .route(
            "/runs/{id}/publish",
            g("/runs/{id}/publish", post(pages::publish), "POST"),
        )
        .route("/rounds", g("/rounds", get(pages::rounds), "GET"))
        .route(
            "/rounds/{id}/files/{name}",
            g("/rounds/{id}/files/{name}", get(api::round_file), "GET"),
        )
        .route(
            "/submit",
            g("/submit", get(pages::submit_form), "GET").merge(g(
                "/submit",
                post(pages::submit),
                "POST",
            )),
        )
        .route(
            "/endpoints",
            g("/endpoints", get(pages::endpoints), "GET").merge(g(
                "/endpoints",
                post(pages::register),
                "POST",
            )),
        )
        .route("/jobs/{id}", g("/jobs/{id}", get(pages::job), "GET"))
        .route("/items", g("/items", get(pages::items), "GET"))
        .route("/items/{*id}", g("/items/{*id}", get(pages::item), "GET"))
        .route("/taxonomy", g("/taxonomy", get(pages::taxonomy), "GET"))
        .route("/admin", g("/admin", get(pages::admin), "GET"))
        .route(
            "/admin/users",
            g("/admin/users", post(pages::admin_add_user), "POST"),
        )
        .route(
            "/admin/tokens",
            g("/admin/tokens", post(pages::admin_token), "POST"),
        )
        .route(
            "/admin/tokens/{id}/revoke",
            g(
                "/admin/tokens/{id}/revoke",
                post(pages::admin_revoke),
                "POST",
            ),
        );
    let limit = state.config.max_body_bytes;
    app.layer(middleware::from_fn_with_state(
        state.clone(),
        crate::middleware::authenticate,
    ))
    .layer(middleware::from_fn_with_state(
        state.clone(),
        crate::middleware::observe,
    ))
    .layer(DefaultBodyLimit::max(limit))
    .with_state(state)
}
