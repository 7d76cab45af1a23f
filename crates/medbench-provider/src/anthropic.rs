//! The Anthropic Messages API (`POST {base_url}/v1/messages`).

use std::time::Duration;

use base64::Engine;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use crate::http::{self, body_error, u64_field};
use crate::{
    BoxFuture, ChatRequest, ChatResponse, ErrorKind, Part, Provider, ProviderError, Role,
    ToolCallOut, Usage,
};

/// The API version header sent with every request.
pub const ANTHROPIC_VERSION: &str = "2023-06-01";

/// An Anthropic Messages endpoint.
///
/// System messages go to the top-level `system` field; tool results become `tool_result`
/// blocks in a user turn; images are base64 `image` blocks and PDFs base64 `document` blocks;
/// OpenAI-style tool schemas are converted to `{name, description, input_schema}`.
#[derive(Debug, Clone)]
pub struct Anthropic {
    /// Name used in logs and in [`crate::request_hash`]; defaults to `anthropic`.
    pub name: String,
    /// Base URL without `/v1`, e.g. `https://api.anthropic.com` or a fake server's root.
    pub base_url: String,
    /// Sent as `x-api-key`.
    pub api_key: Option<String>,
    /// Per-attempt timeout. Default 120 s.
    pub timeout: Duration,
    /// `max_tokens` when the request's sampling has none (the API requires one). Default 1024.
    pub default_max_tokens: u32,
    /// Extra headers sent with every request (e.g. `anthropic-beta`).
    pub extra_headers: Vec<(String, String)>,
    client: Option<reqwest::Client>,
}

impl Anthropic {
    /// An endpoint at `base_url`; a trailing `/` or `/v1` is ignored.
    pub fn new(base_url: impl Into<String>) -> Self {
        let base = base_url.into();
        let base = base.trim_end_matches('/');
        let base = base.strip_suffix("/v1").unwrap_or(base);
        Anthropic {
            name: "anthropic".to_string(),
            base_url: base.to_string(),
            api_key: None,
            timeout: Duration::from_secs(120),
            default_max_tokens: 1024,
            extra_headers: Vec::new(),
            client: None,
        }
    }

    /// Sets the provider name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the API key.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the per-attempt timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Uses this client instead of [`crate::shared_client`] (build it after
    /// [`crate::install_tls_provider`]).
    pub fn with_client(mut self, client: reqwest::Client) -> Self {
        self.client = Some(client);
        self
    }

    /// The JSON body this provider would send for `req`.
    pub fn request_body(&self, req: &ChatRequest) -> Result<Value, ProviderError> {
        let mut system = Vec::new();
        let mut messages = Vec::new();
        for m in &req.messages {
            if m.role == Role::System {
                system.push(m.joined_text());
                continue;
            }
            let mut blocks = Vec::new();
            for part in &m.parts {
                blocks.push(self.block(part)?);
            }
            let role = if m.role == Role::Assistant {
                "assistant"
            } else {
                "user"
            };
            messages.push(json!({"role": role, "content": blocks}));
        }
        let mut body = Map::new();
        body.insert("model".into(), json!(req.model));
        let s = &req.sampling;
        body.insert(
            "max_tokens".into(),
            json!(s.max_tokens.unwrap_or(self.default_max_tokens)),
        );
        if !system.is_empty() {
            body.insert("system".into(), json!(system.join("\n\n")));
        }
        body.insert("messages".into(), Value::Array(messages));
        if let Some(t) = s.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if let Some(p) = s.top_p {
            body.insert("top_p".into(), json!(p));
        }
        if !req.tools.is_empty() {
            body.insert(
                "tools".into(),
                Value::Array(req.tools.iter().map(convert_tool).collect()),
            );
        }
        Ok(Value::Object(body))
    }

    fn block(&self, part: &Part) -> Result<Value, ProviderError> {
        Ok(match part {
            Part::Text(t) => json!({"type": "text", "text": t}),
            Part::Image { media_type, data } => {
                let kind = if media_type.starts_with("image/") {
                    "image"
                } else if media_type == "application/pdf" {
                    "document"
                } else {
                    return Err(ProviderError::new(
                        ErrorKind::InvalidRequest,
                        format!("provider {} cannot send a {media_type} part", self.name),
                    ));
                };
                let data = base64::engine::general_purpose::STANDARD.encode(data);
                json!({"type": kind,
                       "source": {"type": "base64", "media_type": media_type, "data": data}})
            }
            Part::ToolCall {
                id,
                name,
                arguments,
            } => {
                json!({"type": "tool_use", "id": id, "name": name, "input": arguments})
            }
            Part::ToolResult { call_id, content } => {
                json!({"type": "tool_result", "tool_use_id": call_id, "content": content})
            }
        })
    }

    fn headers(&self) -> Result<HeaderMap, ProviderError> {
        let version = ("anthropic-version", ANTHROPIC_VERSION.to_string());
        let key = self.api_key.as_ref().map(|k| ("x-api-key", k.clone()));
        let extra = self
            .extra_headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()));
        http::header_map(std::iter::once(version).chain(key).chain(extra))
    }

    async fn send(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let body = self.request_body(req)?;
        let client = match &self.client {
            Some(c) => c.clone(),
            None => http::shared_client()?,
        };
        let url = format!("{}/v1/messages", self.base_url);
        let reply = http::post_json(&client, &url, self.headers()?, &body, self.timeout).await?;
        let mut resp = parse_response(&reply.body)?;
        resp.latency_ms = reply.latency.as_millis() as u64;
        Ok(resp)
    }
}

impl Provider for Anthropic {
    fn name(&self) -> &str {
        &self.name
    }

    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ProviderError>> {
        Box::pin(self.send(req))
    }
}

/// `{"type":"function","function":{name, description, parameters}}` → Anthropic's form.
/// A schema already in Anthropic's form passes through.
fn convert_tool(tool: &Value) -> Value {
    let Some(f) = tool.get("function") else {
        return tool.clone();
    };
    let mut out = Map::new();
    out.insert("name".into(), f.get("name").cloned().unwrap_or(Value::Null));
    if let Some(d) = f.get("description") {
        out.insert("description".into(), d.clone());
    }
    let schema = f
        .get("parameters")
        .cloned()
        .unwrap_or(json!({"type": "object", "properties": {}}));
    out.insert("input_schema".into(), schema);
    Value::Object(out)
}

/// Parses a Messages API body into a [`ChatResponse`] (latency 0, one attempt).
pub(crate) fn parse_response(body: &Value) -> Result<ChatResponse, ProviderError> {
    let Some(content) = body.get("content").and_then(Value::as_array) else {
        return Err(body_error(body).unwrap_or_else(|| {
            ProviderError::new(
                ErrorKind::MalformedBody,
                format!(
                    "no content array: {}",
                    http::excerpt(body.to_string().as_bytes())
                ),
            )
        }));
    };
    let mut text = String::new();
    let mut tool_calls = Vec::new();
    for block in content {
        match block.get("type").and_then(Value::as_str) {
            Some("text") => text.push_str(block.get("text").and_then(Value::as_str).unwrap_or("")),
            Some("tool_use") => tool_calls.push(ToolCallOut {
                name: block
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string(),
                arguments: http::parse_arguments(block.get("input")),
                id: block.get("id").and_then(Value::as_str).map(str::to_string),
            }),
            _ => {} // thinking and other blocks are not part of the answer
        }
    }
    let finish_reason = body
        .get("stop_reason")
        .and_then(Value::as_str)
        .map(str::to_string);
    if finish_reason.as_deref() == Some("refusal") {
        return Err(ProviderError::new(
            ErrorKind::Refused,
            format!("refused: {text}"),
        ));
    }
    if text.trim().is_empty() && tool_calls.is_empty() {
        return Err(ProviderError::new(
            ErrorKind::EmptyAnswer,
            format!("no text and no tool use (stop_reason {finish_reason:?})"),
        ));
    }
    let usage = body.get("usage").filter(|u| u.is_object()).map(|u| Usage {
        prompt_tokens: u64_field(u, "input_tokens").unwrap_or(0),
        completion_tokens: u64_field(u, "output_tokens").unwrap_or(0),
    });
    Ok(ChatResponse {
        text,
        tool_calls,
        usage,
        finish_reason,
        latency_ms: 0,
        attempts: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatMessage;

    #[test]
    fn body_shape() {
        let p = Anthropic::new("http://h/v1/");
        assert_eq!(p.base_url, "http://h");
        let req = ChatRequest {
            model: "claude".into(),
            messages: vec![
                ChatMessage::system("be brief"),
                ChatMessage {
                    role: Role::User,
                    parts: vec![
                        Part::Text("read".into()),
                        Part::Image {
                            media_type: "application/pdf".into(),
                            data: b"%PDF".to_vec(),
                        },
                    ],
                },
            ],
            tools: vec![json!({"type": "function", "function": {"name": "f",
                "description": "d", "parameters": {"type": "object"}}})],
            ..Default::default()
        };
        let b = p.request_body(&req).unwrap();
        assert_eq!(b["system"], "be brief");
        assert_eq!(b["max_tokens"], 1024);
        assert_eq!(b["messages"].as_array().unwrap().len(), 1);
        assert_eq!(b["messages"][0]["content"][1]["type"], "document");
        assert_eq!(b["messages"][0]["content"][1]["source"]["data"], "JVBERg==");
        assert_eq!(
            b["tools"][0],
            json!({"name": "f", "description": "d",
            "input_schema": {"type": "object"}})
        );
    }

    #[test]
    fn parse_tool_use_and_refusal() {
        let body = json!({"content": [{"type": "tool_use", "id": "t1", "name": "f",
            "input": {"x": 1}}], "stop_reason": "tool_use",
            "usage": {"input_tokens": 5, "output_tokens": 2}});
        let r = parse_response(&body).unwrap();
        assert_eq!(r.tool_calls[0].arguments, json!({"x": 1}));
        assert_eq!(
            r.usage,
            Some(Usage {
                prompt_tokens: 5,
                completion_tokens: 2
            })
        );
        let refused = json!({"content": [], "stop_reason": "refusal"});
        assert_eq!(
            parse_response(&refused).unwrap_err().kind,
            ErrorKind::Refused
        );
        let empty = json!({"content": [], "stop_reason": "end_turn"});
        assert_eq!(
            parse_response(&empty).unwrap_err().kind,
            ErrorKind::EmptyAnswer
        );
    }
}
