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
use axum::handler::Handler;
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

/// Mounts handlers, each behind the guard its `ROUTES` entry names, and
/// remembers what it mounted so that no entry of the table is left out.
struct Mount(Router<Arc<AppState>>, Vec<(&'static str, &'static str)>);

impl Mount {
    fn on<H, T>(self, method: &'static str, path: &'static str, handler: H) -> Mount
    where
        H: Handler<T, Arc<AppState>>,
        T: 'static,
    {
        let mr = match method {
            "GET" => get(handler),
            "POST" => post(handler),
            "DELETE" => delete(handler),
            m => panic!("method {m} of {path} is not mounted by this router"),
        };
        let mut mounted = self.1;
        mounted.push((method, path));
        // A second method on the same path joins the first one's method router.
        Mount(self.0.route(path, guarded(mr, method, path)), mounted)
    }

    fn finish(self) -> Router<Arc<AppState>> {
        for r in ROUTES {
            assert!(
                self.1.contains(&(r.method, r.path)),
                "{} {} is in ROUTES but not mounted",
                r.method,
                r.path
            );
        }
        self.0
    }
}

/// The whole application.
pub fn router(state: Arc<AppState>) -> Router {
    let app = Mount(Router::new(), Vec::new())
        .on("GET", "/healthz", api::healthz)
        .on("GET", "/metrics", api::metrics)
        .on("GET", "/openapi.json", api::openapi)
        .on("GET", "/api/v1/me", api::me)
        .on("GET", "/api/v1/leaderboard", api::leaderboard)
        .on("GET", "/api/v1/runs", api::runs)
        .on("GET", "/api/v1/runs/{id}", api::run_results)
        .on("GET", "/api/v1/runs/{id}/report.html", api::run_report)
        .on("POST", "/api/v1/runs/{id}/publish", api::publish)
        .on("GET", "/api/v1/rounds", api::rounds)
        .on("GET", "/api/v1/rounds/{id}/files", api::round_files)
        .on("GET", "/api/v1/rounds/{id}/files/{name}", api::round_file)
        .on("POST", "/api/v1/submissions", api::submission)
        .on("GET", "/api/v1/jobs", api::jobs)
        .on("POST", "/api/v1/jobs", api::create_job)
        .on("GET", "/api/v1/jobs/{id}", api::job)
        .on("GET", "/api/v1/items", api::items)
        .on("GET", "/api/v1/items/{*id}", api::item)
        .on("GET", "/api/v1/taxonomy", api::taxonomy)
        .on("GET", "/api/v1/users", api::users)
        .on("POST", "/api/v1/users", api::add_user)
        .on("POST", "/api/v1/tokens", api::create_token)
        .on("DELETE", "/api/v1/tokens/{id}", api::revoke_token)
        .on("GET", "/login", pages::login_form)
        .on("POST", "/login", pages::login)
        .on("POST", "/logout", pages::logout)
        .on("GET", "/assets/style.css", pages::style)
        .on("GET", "/", pages::home)
        .on("GET", "/leaderboard", pages::leaderboard)
        .on("GET", "/runs", pages::runs)
        .on("GET", "/runs/{id}", pages::run)
        .on("GET", "/runs/{id}/report", pages::report)
        .on("POST", "/runs/{id}/publish", pages::publish)
        .on("GET", "/rounds", pages::rounds)
        .on("GET", "/rounds/{id}/files/{name}", api::round_file)
        .on("GET", "/submit", pages::submit_form)
        .on("POST", "/submit", pages::submit)
        .on("GET", "/endpoints", pages::endpoints)
        .on("POST", "/endpoints", pages::register)
        .on("GET", "/jobs/{id}", pages::job)
        .on("GET", "/items", pages::items)
        .on("GET", "/items/{*id}", pages::item)
        .on("GET", "/taxonomy", pages::taxonomy)
        .on("GET", "/admin", pages::admin)
        .on("POST", "/admin/users", pages::admin_add_user)
        .on("POST", "/admin/tokens", pages::admin_token)
        .on("POST", "/admin/tokens/{id}/revoke", pages::admin_revoke)
        .finish();
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
