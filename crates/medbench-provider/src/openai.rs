//! OpenAI-compatible chat completions: OpenAI, vLLM, llama.cpp server, Ollama, gateways.

use std::time::Duration;

use base64::Engine;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};

use crate::http::{self, body_error, parse_arguments, u64_field};
use crate::{
    BoxFuture, ChatMessage, ChatRequest, ChatResponse, ErrorKind, Part, PdfMode, Provider,
    ProviderError, ToolCallOut, Usage, render_pdf_pages,
};

const PDF: &str = "application/pdf";

/// A server speaking `POST {base_url}/chat/completions`.
///
/// PDF parts go as page images by default: [`Provider::prepare`] renders each page to a PNG
/// (once per request, not per attempt) and puts the pages where the PDF was, in page order.
/// A PDF part that reaches [`OpenAiCompatible::request_body`] unprepared is rendered there.
///
/// Tolerates what real servers send: missing `usage`, `content: null` beside `tool_calls`,
/// content as an array of text parts, arguments as a JSON string or an object, and
/// `{"error": ...}` bodies with a 200 status.
#[derive(Debug, Clone)]
pub struct OpenAiCompatible {
    /// Name used in logs and in [`crate::request_hash`]; defaults to `openai`.
    pub name: String,
    /// Base URL up to and including the version, e.g. `http://127.0.0.1:8080/v1`.
    pub base_url: String,
    /// Sent as `Authorization: Bearer ...` when present.
    pub api_key: Option<String>,
    /// Per-attempt timeout, connection to last body byte. Default 120 s.
    pub timeout: Duration,
    /// Send `max_completion_tokens` instead of `max_tokens` (newer OpenAI models need it).
    pub max_completion_tokens: bool,
    /// How PDF parts are sent: rendered page images (the default, which any vision endpoint
    /// reads) or `{"type":"file"}` parts (OpenAI's hosted API). See [`PdfMode`].
    pub pdf: PdfMode,
    /// Extra headers sent with every request.
    pub extra_headers: Vec<(String, String)>,
    client: Option<reqwest::Client>,
}

impl OpenAiCompatible {
    /// An endpoint at `base_url` (a trailing `/` is ignored), no key, 120 s timeout.
    pub fn new(base_url: impl Into<String>) -> Self {
        OpenAiCompatible {
            name: "openai".to_string(),
            base_url: base_url.into().trim_end_matches('/').to_string(),
            api_key: None,
            timeout: Duration::from_secs(120),
            max_completion_tokens: false,
            pdf: PdfMode::Images,
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

    /// Sets how PDF parts are sent.
    pub fn with_pdf(mut self, pdf: PdfMode) -> Self {
        self.pdf = pdf;
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
        let mut messages = Vec::new();
        for m in &req.messages {
            self.push_message(m, &mut messages)?;
        }
        let mut body = Map::new();
        body.insert("model".into(), json!(req.model));
        body.insert("messages".into(), Value::Array(messages));
        let s = &req.sampling;
        if let Some(t) = s.temperature {
            body.insert("temperature".into(), json!(t));
        }
        if let Some(p) = s.top_p {
            body.insert("top_p".into(), json!(p));
        }
        if let Some(n) = s.max_tokens {
            let key = if self.max_completion_tokens {
                "max_completion_tokens"
            } else {
                "max_tokens"
            };
            body.insert(key.into(), json!(n));
        }
        if let Some(seed) = s.seed {
            body.insert("seed".into(), json!(seed));
        }
        if !req.tools.is_empty() {
            body.insert("tools".into(), Value::Array(req.tools.clone()));
        }
        Ok(Value::Object(body))
    }

    fn push_message(&self, m: &ChatMessage, out: &mut Vec<Value>) -> Result<(), ProviderError> {
        let mut content = Vec::new();
        let mut tool_calls = Vec::new();
        for part in &m.parts {
            match part {
                Part::Text(t) => content.push(json!({"type": "text", "text": t})),
                Part::Image { media_type, data }
                    if media_type == PDF && self.pdf == PdfMode::Images =>
                {
                    for page in render_pdf_pages(data)? {
                        content.push(self.media_part("image/png", &page)?);
                    }
                }
                Part::Image { media_type, data } => {
                    content.push(self.media_part(media_type, data)?)
                }
                Part::ToolCall {
                    id,
                    name,
                    arguments,
                } => tool_calls.push(json!({
                    "id": id, "type": "function",
                    "function": {"name": name, "arguments": arguments.to_string()},
                })),
                Part::ToolResult { call_id, content } => out.push(json!({
                    "role": "tool", "tool_call_id": call_id, "content": content,
                })),
            }
        }
        if content.is_empty() && tool_calls.is_empty() {
            // Only tool results (already pushed), or an empty message kept as such.
            if !m.parts.is_empty() {
                return Ok(());
            }
        }
        let mut msg = Map::new();
        msg.insert("role".into(), json!(m.role.as_str()));
        let only_text = content.iter().all(|c| c["type"] == "text");
        let content = if content.is_empty() && !tool_calls.is_empty() {
            Value::Null
        } else if only_text && content.len() <= 1 {
            // Plain string content: the form every server understands.
            json!(
                content
                    .first()
                    .map(|c| c["text"].clone())
                    .unwrap_or(json!(""))
            )
        } else {
            Value::Array(content)
        };
        msg.insert("content".into(), content);
        if !tool_calls.is_empty() {
            msg.insert("tool_calls".into(), Value::Array(tool_calls));
        }
        out.push(Value::Object(msg));
        Ok(())
    }

    fn media_part(&self, media_type: &str, data: &[u8]) -> Result<Value, ProviderError> {
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        let url = format!("data:{media_type};base64,{b64}");
        if media_type.starts_with("image/") {
            Ok(json!({"type": "image_url", "image_url": {"url": url}}))
        } else if media_type == PDF {
            Ok(json!({"type": "file", "file": {"filename": "document.pdf", "file_data": url}}))
        } else {
            Err(ProviderError::new(
                ErrorKind::InvalidRequest,
                format!(
                    "provider {} cannot send a {media_type} part over chat/completions \
                     (it sends images and PDFs)",
                    self.name
                ),
            ))
        }
    }

    fn headers(&self) -> Result<HeaderMap, ProviderError> {
        let auth = self
            .api_key
            .as_ref()
            .map(|k| ("authorization", format!("Bearer {k}")));
        let extra = self
            .extra_headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()));
        http::header_map(auth.into_iter().chain(extra))
    }

    async fn send(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let body = self.request_body(req)?;
        let client = match &self.client {
            Some(c) => c.clone(),
            None => http::shared_client()?,
        };
        let url = format!("{}/chat/completions", self.base_url);
        let reply = http::post_json(&client, &url, self.headers()?, &body, self.timeout).await?;
        let mut resp = parse_response(&reply.body)?;
        resp.latency_ms = reply.latency.as_millis() as u64;
        Ok(resp)
    }
}

impl Provider for OpenAiCompatible {
    fn name(&self) -> &str {
        &self.name
    }

    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ProviderError>> {
        Box::pin(self.send(req))
    }

    /// In [`PdfMode::Images`], replaces each PDF part by its pages as PNG image parts.
    fn prepare(&self, mut req: ChatRequest) -> Result<ChatRequest, ProviderError> {
        if self.pdf != PdfMode::Images {
            return Ok(req);
        }
        for m in &mut req.messages {
            if !m
                .parts
                .iter()
                .any(|p| matches!(p, Part::Image { media_type, .. } if media_type == PDF))
            {
                continue;
            }
            let mut parts = Vec::with_capacity(m.parts.len());
            for p in std::mem::take(&mut m.parts) {
                match p {
                    Part::Image { media_type, data } if media_type == PDF => parts.extend(
                        render_pdf_pages(&data)?
                            .into_iter()
                            .map(|page| Part::Image {
                                media_type: "image/png".to_string(),
                                data: page,
                            }),
                    ),
                    other => parts.push(other),
                }
            }
            m.parts = parts;
        }
        Ok(req)
    }
}

/// Parses a chat completion body into a [`ChatResponse`] (latency 0, one attempt).
pub(crate) fn parse_response(body: &Value) -> Result<ChatResponse, ProviderError> {
    let malformed = |what: &str| {
        ProviderError::new(
            ErrorKind::MalformedBody,
            format!("{what}: {}", http::excerpt(body.to_string().as_bytes())),
        )
    };
    let choice = match body
        .get("choices")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
    {
        Some(c) => c,
        None => return Err(body_error(body).unwrap_or_else(|| malformed("no choices"))),
    };
    let message = choice
        .get("message")
        .ok_or_else(|| malformed("choice without message"))?;
    let text = match message.get("content") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(parts)) => parts
            .iter()
            .filter_map(|p| p.get("text").and_then(Value::as_str))
            .collect::<Vec<_>>()
            .join(""),
        Some(_) => return Err(malformed("content is neither text, parts nor null")),
    };
    let mut tool_calls = Vec::new();
    if let Some(calls) = message.get("tool_calls").and_then(Value::as_array) {
        for c in calls {
            let f = c.get("function").unwrap_or(c);
            let name = f.get("name").and_then(Value::as_str);
            let Some(name) = name else {
                return Err(malformed("tool call without name"));
            };
            tool_calls.push(ToolCallOut {
                name: name.to_string(),
                arguments: parse_arguments(f.get("arguments")),
                id: c.get("id").and_then(Value::as_str).map(str::to_string),
            });
        }
    }
    let finish_reason = choice
        .get("finish_reason")
        .and_then(Value::as_str)
        .map(str::to_string);
    let refusal = message
        .get("refusal")
        .and_then(Value::as_str)
        .filter(|r| !r.is_empty());
    if finish_reason.as_deref() == Some("content_filter")
        || (refusal.is_some() && text.trim().is_empty() && tool_calls.is_empty())
    {
        let why = refusal.unwrap_or("finish_reason content_filter");
        return Err(ProviderError::new(
            ErrorKind::Refused,
            format!("refused: {why}"),
        ));
    }
    if text.trim().is_empty() && tool_calls.is_empty() {
        return Err(ProviderError::new(
            ErrorKind::EmptyAnswer,
            format!("no content and no tool calls (finish_reason {finish_reason:?})"),
        ));
    }
    let usage = body.get("usage").filter(|u| u.is_object()).map(|u| Usage {
        prompt_tokens: u64_field(u, "prompt_tokens").unwrap_or(0),
        completion_tokens: u64_field(u, "completion_tokens").unwrap_or(0),
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
    use crate::Role;

    #[test]
    fn null_content_with_string_arguments() {
        let body = json!({"choices": [{"message": {"role": "assistant", "content": null,
            "tool_calls": [{"id": "c1", "type": "function",
                "function": {"name": "lookup", "arguments": "{\"q\": \"aspirin\"}"}}]},
            "finish_reason": "tool_calls"}]});
        let r = parse_response(&body).unwrap();
        assert_eq!(r.text, "");
        assert_eq!(r.usage, None);
        assert_eq!(r.tool_calls[0].arguments, json!({"q": "aspirin"}));
        assert_eq!(r.tool_calls[0].id.as_deref(), Some("c1"));
    }

    #[test]
    fn refusals_and_empties() {
        let filt =
            json!({"choices": [{"message": {"content": ""}, "finish_reason": "content_filter"}]});
        assert_eq!(parse_response(&filt).unwrap_err().kind, ErrorKind::Refused);
        let refusal = json!({"choices": [{"message": {"content": null, "refusal": "no"}}]});
        assert_eq!(
            parse_response(&refusal).unwrap_err().kind,
            ErrorKind::Refused
        );
        let empty = json!({"choices": [{"message": {"content": "  "}, "finish_reason": "length"}]});
        assert_eq!(
            parse_response(&empty).unwrap_err().kind,
            ErrorKind::EmptyAnswer
        );
        assert_eq!(
            parse_response(&json!({"id": 1})).unwrap_err().kind,
            ErrorKind::MalformedBody
        );
    }

    #[test]
    fn tool_replay_and_pdf() {
        let p = OpenAiCompatible::new("http://x/v1/");
        assert_eq!(p.base_url, "http://x/v1");
        let req = ChatRequest {
            model: "m".into(),
            messages: vec![
                ChatMessage {
                    role: Role::Assistant,
                    parts: vec![Part::ToolCall {
                        id: "c1".into(),
                        name: "f".into(),
                        arguments: json!({"a": 1}),
                    }],
                },
                ChatMessage {
                    role: Role::Tool,
                    parts: vec![Part::ToolResult {
                        call_id: "c1".into(),
                        content: "42".into(),
                    }],
                },
            ],
            ..Default::default()
        };
        let b = p.request_body(&req).unwrap();
        assert_eq!(b["messages"][0]["content"], Value::Null);
        assert_eq!(
            b["messages"][0]["tool_calls"][0]["function"]["arguments"],
            "{\"a\":1}"
        );
        assert_eq!(
            b["messages"][1],
            json!({"role": "tool", "tool_call_id": "c1", "content": "42"})
        );
        let pdf = ChatRequest {
            messages: vec![ChatMessage {
                role: Role::User,
                parts: vec![Part::Image {
                    media_type: "application/pdf".into(),
                    data: vec![1],
                }],
            }],
            ..Default::default()
        };
        // Images mode (the default) renders the PDF: one byte is no PDF.
        assert_eq!(p.request_body(&pdf).unwrap_err().kind, ErrorKind::Render);
        assert_eq!(p.prepare(pdf.clone()).unwrap_err().kind, ErrorKind::Render);
        let p = p.with_pdf(PdfMode::File);
        assert_eq!(
            p.prepare(pdf.clone()).unwrap(),
            pdf,
            "file mode sends it as is"
        );
        let b = p.request_body(&pdf).unwrap();
        assert_eq!(b["messages"][0]["content"][0]["type"], "file");
    }
}
