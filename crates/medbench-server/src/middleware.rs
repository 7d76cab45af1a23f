//! Around every route: who is calling (token or cookie), the per-token rate
//! limit, the cross-site form-post check, request logs and metrics.

use crate::auth::{Auth, Principal, lookup};
use crate::error::AppError;
use crate::state::AppState;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::time::Instant;

/// The token from `Authorization: Bearer …` or the login cookie.
fn presented(headers: &HeaderMap) -> Option<(String, bool)> {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        && let Some(t) = v.strip_prefix("Bearer ")
    {
        return Some((t.trim().to_owned(), false));
    }
    let cookies = headers.get(header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .filter_map(|c| {
            c.trim()
                .strip_prefix(crate::pages::COOKIE)
                .and_then(|v| v.strip_prefix('='))
        })
        .map(|v| (v.to_owned(), true))
        .next()
}

/// Resolve the caller, apply the per-token rate limit, refuse cross-site form posts.
pub(crate) async fn authenticate(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    let found = presented(req.headers());
    let mut principal: Option<Principal> = None;
    let mut by_cookie = false;
    if let Some((secret, cookie)) = found {
        by_cookie = cookie;
        let s = secret.clone();
        match state.db(move |b| lookup(b, &s)).await {
            Ok(Some(p)) => principal = Some(p),
            Ok(None) if !cookie => {
                return AppError::new(StatusCode::UNAUTHORIZED, "this token is unknown or revoked")
                    .into_response();
            }
            Ok(None) => {}
            Err(e) => return e.into_response(),
        }
    }
    let key = match &principal {
        Some(p) => format!("token:{}", p.token_id),
        None => "anonymous".to_owned(),
    };
    let limited = !matches!(req.uri().path(), "/healthz" | "/metrics");
    if limited && let Err(wait) = state.limiter.take(&key) {
        state.metrics.rate_limited();
        let mut r = AppError::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate limit reached; slow down",
        )
        .into_response();
        if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    if by_cookie && req.method() != Method::GET && !same_origin(req.headers()) {
        return AppError::forbidden("cross-site form post refused").into_response();
    }
    if let Some(p) = &principal {
        let (id, s) = (p.token_id, state.clone());
        // At most one write a minute per token.
        if state.touch_due(id) {
            tokio::task::spawn_blocking(move || s.touch(id));
        }
    }
    req.extensions_mut().insert(Auth(principal.clone()));
    let resp = next.run(req).await;
    match (
        resp.extensions().get::<crate::error::ErrorPage>(),
        &principal,
    ) {
        (Some(e), Some(p)) => {
            let html = crate::pages::error_page(e.status, &e.message, Some(p));
            (e.status, axum::response::Html(html)).into_response()
        }
        _ => resp,
    }
}

/// A browser's form post carries `Origin`; it must name this host.
fn same_origin(h: &HeaderMap) -> bool {
    let Some(origin) = h.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return true;
    };
    let host = h
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    origin.split("://").nth(1) == Some(host)
}

/// Structured request logs and Prometheus counters.
pub(crate) async fn observe(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_else(|| "unmatched".into());
    let path = req.uri().path().to_owned();
    let resp = next.run(req).await;
    let secs = start.elapsed().as_secs_f64();
    let status = resp.status().as_u16();
    state.metrics.observe(&method, &route, status, secs);
    tracing::info!(target: "medbench::http", %method, %route, %path, status, ms = secs * 1e3, "request");
    resp
}
