//! `/openapi.json`, generated from the route table so it cannot drift from
//! the routes that are mounted.

use crate::routes::ROUTES;
use serde_json::{Map, Value, json};

fn params(path: &str) -> Vec<Value> {
    path.split('/')
        .filter_map(|seg| seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')))
        .map(|name| {
            let name = name.trim_start_matches('*');
            json!({"name": name, "in": "path", "required": true, "schema": {"type": "string"}})
        })
        .collect()
}

fn query(path: &str, method: &str) -> Vec<Value> {
    let q = |n: &str, d: &str, required: bool| json!({"name": n, "in": "query", "required": required, "description": d, "schema": {"type": "string"}});
    match (method, path) {
        ("GET", "/api/v1/leaderboard") => vec![
            q(
                "round",
                "round id, name or prefix; `all` for every run",
                false,
            ),
            q("track", "llm, multimodal or agent", false),
            q("dimension", "a dimension key", false),
        ],
        ("POST", "/api/v1/submissions") => vec![
            q("model", "the model that produced the answers", true),
            q("round", "round id or name (default: the newest)", false),
            q("filename", "the uploaded file's name, for messages", false),
        ],
        ("GET", "/api/v1/items") => vec![
            q("task", "task name", false),
            q("track", "llm, multimodal or agent", false),
            q("language", "zh or en", false),
            q("limit", "at most 500 (default 50)", false),
            q("offset", "rows to skip", false),
        ],
        _ => vec![],
    }
}

fn body(path: &str, method: &str) -> Option<Value> {
    let obj = |props: Value, required: &[&str]| json!({"required": true, "content": {"application/json": {"schema": {"type": "object", "properties": props, "required": required, "additionalProperties": false}}}});
    let s = json!({"type": "string"});
    match (method, path) {
        ("POST", "/api/v1/jobs") => Some(obj(
            json!({"base_url": s, "model": s, "provider": {"type": "string", "enum": ["openai", "anthropic"]},
                   "api_key": {"type": "string", "writeOnly": true}, "round": s,
                   "concurrency": {"type": "integer"}, "max_tokens": {"type": "integer"}, "temperature": {"type": "number"}}),
            &["base_url", "model"],
        )),
        ("POST", "/api/v1/users") => Some(obj(
            json!({"name": s, "role": {"type": "string", "enum": ["admin", "curator", "reviewer", "submitter", "viewer"]}}),
            &["name", "role"],
        )),
        ("POST", "/api/v1/tokens") => Some(obj(json!({"user": s, "label": s}), &["user"])),
        ("POST", "/api/v1/runs/{id}/publish") => Some(
            json!({"required": false, "content": {"application/json": {"schema": {"type": "object", "properties": {"published": {"type": "boolean"}}}}}}),
        ),
        ("POST", "/api/v1/submissions") => Some(json!({"required": true, "content": {
            "application/zip": {"schema": {"type": "string", "format": "binary"}},
            "application/x-ndjson": {"schema": {"type": "string", "format": "binary"}}}})),
        _ => None,
    }
}

/// The OpenAPI 3.1 description of the JSON API.
pub fn document() -> Value {
    let mut paths: Map<String, Value> = Map::new();
    for r in ROUTES.iter().filter(|r| r.api) {
        let key = r.path.replace("{*", "{");
        let mut op = json!({
            "summary": r.summary,
            "operationId": format!("{}_{}", r.method.to_lowercase(), key.trim_matches('/').replace(['/', '{', '}', '.'], "_")),
            "responses": {
                "200": {"description": "OK"},
                "400": {"description": "Invalid input; `error` says which field and why"},
                "404": {"description": "Not found, or not yours to see"},
            },
        });
        let mut ps = params(r.path);
        ps.extend(query(r.path, r.method));
        if !ps.is_empty() {
            op["parameters"] = Value::Array(ps);
        }
        if let Some(b) = body(r.path, r.method) {
            op["requestBody"] = b;
        }
        match r.cap {
            Some(cap) => {
                op["security"] = json!([{"bearer": []}]);
                op["x-medbench-capability"] = json!(cap);
                op["responses"]["401"] =
                    json!({"description": "No token, or an unknown or revoked one"});
                op["responses"]["403"] =
                    json!({"description": "The caller's role lacks this capability"});
                op["responses"]["429"] =
                    json!({"description": "Per-token rate limit; see Retry-After"});
            }
            None => op["security"] = json!([]),
        }
        paths
            .entry(key)
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("path item")
            .insert(r.method.to_lowercase(), op);
    }
    json!({
        "openapi": "3.1.0",
        "info": {
            "title": "medbench platform API",
            "version": env!("CARGO_PKG_VERSION"),
            "description": "Rounds, submissions, live evaluation jobs, leaderboards and reports. Authenticate with `Authorization: Bearer <token>`; tokens come from `medbench token create`.",
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": paths,
    })
}
