//! The axum routes and the answer / failure bodies for both protocols.

use std::hash::{Hash, Hasher};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::ListenerExt;
use serde_json::{Value, json};
use tokio::sync::watch;

use crate::{AnswerPolicy, Counters, Failure, FakeConfig, RecordedRequest};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Protocol {
    OpenAi,
    Anthropic,
}

struct App {
    config: FakeConfig,
    counters: Arc<Counters>,
    shutdown: watch::Receiver<bool>,
    /// The answer does not depend on the request, so the body need not be parsed.
    fast: bool,
}

pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    config: FakeConfig,
    counters: Arc<Counters>,
    shutdown: watch::Receiver<bool>,
) {
    let fast = matches!(config.answer, AnswerPolicy::Fixed(_)) && !config.record;
    let app = Arc::new(App {
        config,
        counters,
        shutdown: shutdown.clone(),
        fast,
    });
    let router = Router::new()
        .route("/v1/chat/completions", post(openai))
        .route("/chat/completions", post(openai))
        .route("/v1/messages", post(anthropic))
        .route("/v1/models", get(models))
        .route("/health", get(|| async { "ok" }))
        .layer(DefaultBodyLimit::max(256 * 1024 * 1024))
        .with_state(app);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let mut rx = shutdown;
    let signal = async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let _ = axum::serve(listener, router)
        .with_graceful_shutdown(signal)
        .await;
}

async fn openai(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&app, Protocol::OpenAi, uri, headers, body).await
}

async fn anthropic(
    State(app): State<Arc<App>>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    handle(&app, Protocol::Anthropic, uri, headers, body).await
}

async fn models() -> Response {
    json_response(
        StatusCode::OK,
        &json!({"object": "list", "data": [{"id": "fake", "object": "model"}]}),
    )
}

/// Decrements the in-flight count even when the client goes away mid-request.
struct InFlight<'a>(&'a Counters);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(app: &App, proto: Protocol, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let c = &app.counters;
    let n = c.total.fetch_add(1, Ordering::SeqCst) + 1;
    let now_in = c.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    c.max_in_flight.fetch_max(now_in, Ordering::SeqCst);
    let _guard = InFlight(c);
    let mut hasher = std::collections::hash_map::DefaultHasher::new();
    body.hash(&mut hasher);
    *c.by_body
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(hasher.finish())
        .or_insert(0) += 1;

    let parsed: Option<Value> = if app.fast {
        None
    } else {
        serde_json::from_slice(&body).ok()
    };
    if app.config.record {
        let headers = headers
            .iter()
            .map(|(k, v)| {
                (
                    k.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect();
        let rec = RecordedRequest {
            n,
            path: uri.path().to_string(),
            headers,
            body: parsed.clone().unwrap_or(Value::Null),
            at: std::time::Instant::now(),
        };
        c.recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(rec);
    }
    if !app.config.latency.is_zero() {
        tokio::time::sleep(app.config.latency).await;
    }
    let failure = app
        .config
        .failures
        .iter()
        .find(|r| r.when.hits(n))
        .map(|r| &r.failure);
    let model = parsed
        .as_ref()
        .and_then(|b| b.get("model"))
        .and_then(Value::as_str)
        .unwrap_or("fake");
    let prompt_tokens = body.len() as u64 / 4;
    let real = || match &app.config.answer {
        AnswerPolicy::Fixed(s) => Value::String(s.clone()),
        policy => Value::String(policy.answer(&last_user_text(parsed.as_ref()))),
    };
    match failure {
        Some(Failure::RateLimited { retry_after }) => error_response(
            StatusCode::TOO_MANY_REQUESTS,
            retry_after.as_deref(),
            "rate limited",
        ),
        Some(Failure::Status { code, retry_after }) => {
            let status = StatusCode::from_u16(*code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            error_response(status, retry_after.as_deref(), "scripted failure")
        }
        Some(Failure::Malformed) => raw_response(
            StatusCode::OK,
            Bytes::from_static(b"{\"choices\": [ {\"mess"),
        ),
        Some(Failure::EmptyContent) => answer(app, proto, n, model, prompt_tokens, Value::from("")),
        Some(Failure::NullContent) => answer(app, proto, n, model, prompt_tokens, Value::Null),
        Some(Failure::Hang(d)) => {
            let mut rx = app.shutdown.clone();
            tokio::select! {
                _ = tokio::time::sleep(*d) => {}
                _ = rx.wait_for(|stop| *stop) => {}
            }
            answer(app, proto, n, model, prompt_tokens, real())
        }
        None => answer(app, proto, n, model, prompt_tokens, real()),
    }
}

/// Text of the last `user` message (string content, or its text parts joined).
fn last_user_text(body: Option<&Value>) -> String {
    let Some(msgs) = body
        .and_then(|b| b.get("messages"))
        .and_then(Value::as_array)
    else {
        return String::new();
    };
    let Some(last) = msgs
        .iter()
        .rev()
        .find(|m| m.get("role").and_then(Value::as_str) == Some("user"))
    else {
        return String::new();
    };
    match last.get("content") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

/// A 200 answer with `content` (text, or null); configured tool calls replace a non-empty text.
fn answer(
    app: &App,
    proto: Protocol,
    n: u64,
    model: &str,
    prompt: u64,
    content: Value,
) -> Response {
    let scripted_empty = !matches!(&content, Value::String(s) if !s.is_empty());
    let tools = if scripted_empty {
        &[][..]
    } else {
        &app.config.tool_calls[..]
    };
    let completion = content
        .as_str()
        .map_or(0, |s| s.chars().count() as u64 / 4 + 1);
    let body = match proto {
        Protocol::OpenAi => {
            let mut message = json!({"role": "assistant", "content": content});
            let mut finish = "stop";
            if !tools.is_empty() {
                let calls: Vec<Value> = tools
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        json!({"id": format!("call_{n}_{i}"), "type": "function",
                        "function": {"name": t.name, "arguments": t.arguments.to_string()}})
                    })
                    .collect();
                message["content"] = Value::Null;
                message["tool_calls"] = Value::Array(calls);
                finish = "tool_calls";
            }
            let mut body = json!({
                "id": format!("chatcmpl-fake-{n}"), "object": "chat.completion", "created": 0,
                "model": model,
                "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            });
            if app.config.include_usage {
                body["usage"] = json!({"prompt_tokens": prompt, "completion_tokens": completion,
                    "total_tokens": prompt + completion});
            }
            body
        }
        Protocol::Anthropic => {
            let (blocks, stop) = if !tools.is_empty() {
                let blocks = tools
                    .iter()
                    .enumerate()
                    .map(|(i, t)| {
                        json!({"type": "tool_use", "id": format!("toolu_{n}_{i}"),
                        "name": t.name, "input": t.arguments})
                    })
                    .collect();
                (blocks, "tool_use")
            } else if let Value::String(s) = &content {
                (vec![json!({"type": "text", "text": s})], "end_turn")
            } else {
                (Vec::new(), "end_turn")
            };
            let mut body = json!({
                "id": format!("msg_fake_{n}"), "type": "message", "role": "assistant",
                "model": model, "content": blocks, "stop_reason": stop, "stop_sequence": null,
            });
            if app.config.include_usage {
                body["usage"] = json!({"input_tokens": prompt, "output_tokens": completion});
            }
            body
        }
    };
    json_response(StatusCode::OK, &body)
}

fn error_response(status: StatusCode, retry_after: Option<&str>, what: &str) -> Response {
    let body = json!({"error": {"message": format!("fake server: {what}"), "type": "fake_error",
        "code": status.as_u16()}});
    let mut resp = json_response(status, &body);
    if let Some(v) = retry_after.and_then(|v| HeaderValue::from_str(v).ok()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    raw_response(
        status,
        Bytes::from(serde_json::to_vec(body).unwrap_or_default()),
    )
}

fn raw_response(status: StatusCode, bytes: Bytes) -> Response {
    let mut resp = Response::new(Body::from(bytes));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn last_user_text_handles_both_content_forms() {
        let b = json!({"messages": [
            {"role": "user", "content": "first"},
            {"role": "assistant", "content": "x"},
            {"role": "user", "content": [{"type": "text", "text": "a"},
                {"type": "image_url", "image_url": {"url": "data:"}}, {"type": "text", "text": "b"}]},
        ]});
        assert_eq!(last_user_text(Some(&b)), "a\nb");
        assert_eq!(last_user_text(None), "");
    }
}
