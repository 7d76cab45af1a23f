//! Model providers behind one object-safe async trait.
//!
//! * [`OpenAiCompatible`] speaks `POST {base_url}/chat/completions` (OpenAI, vLLM, llama.cpp
//!   server, Ollama, most hosted gateways).
//! * [`Anthropic`] speaks `POST {base_url}/v1/messages`.
//! * [`Reliable`] wraps any [`Provider`] with bounded concurrency, per-endpoint request and token
//!   rate limits, and retries with exponential backoff, full jitter, `Retry-After` and a
//!   time-bounded retry budget.
//! * [`request_hash`] is the stable response-cache key of a request.
//! * [`render_pdf_pages`] turns a PDF into page PNGs; [`OpenAiCompatible`] sends PDFs that way
//!   by default ([`PdfMode`]), converting them once in [`Provider::prepare`].
//!
//! Providers never panic on what a server sends: every failure becomes a [`ProviderError`]
//! whose [`ErrorKind`] says whether it is worth retrying.

#![warn(missing_docs)]

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

mod anthropic;
mod error;
mod hash;
mod http;
mod openai;
mod pdf;
mod ratelimit;
mod reliable;

pub use anthropic::Anthropic;
pub use error::{ErrorKind, ProviderError};
pub use hash::{canonical_json, request_hash};
pub use http::{check_base_url, install_tls_provider, shared_client};
pub use openai::OpenAiCompatible;
pub use pdf::{PDF_MAX_PAGES, PDF_PAGE_LONG_SIDE, PdfMode, render_pdf_pages};
pub use ratelimit::RateLimiter;
pub use reliable::{Limits, Reliable, RetryPolicy, estimate_tokens};
/// The HTTP client type providers accept through `with_client`.
pub use reqwest::Client as HttpClient;

/// A boxed, `Send` future: what [`Provider::complete`] returns so the trait stays object safe.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Sampling parameters. `None` means "the server's default" and is left out of the request.
///
/// Equality and hashing compare the exact bits of the floats, so `Sampling` can be a map key;
/// [`Sampling::canonical_json`] is its stable textual form.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize)]
pub struct Sampling {
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling mass.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Maximum completion tokens. Anthropic requires one; its provider defaults to 1024.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Seed, for servers that support reproducible sampling (ignored by Anthropic).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
}

impl Sampling {
    /// Canonical JSON text (sorted keys, `None` fields omitted).
    pub fn canonical_json(&self) -> String {
        canonical_json(&serde_json::to_value(self).unwrap_or_default())
    }

    fn key(&self) -> (Option<u64>, Option<u64>, Option<u32>, Option<u64>) {
        (
            self.temperature.map(f64::to_bits),
            self.top_p.map(f64::to_bits),
            self.max_tokens,
            self.seed,
        )
    }
}

impl PartialEq for Sampling {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Sampling {}

impl std::hash::Hash for Sampling {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.key().hash(state)
    }
}

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Instructions; sent as the `system` field to Anthropic.
    System,
    /// The user (the benchmark).
    User,
    /// The model.
    Assistant,
    /// A tool result (its parts should be [`Part::ToolResult`]).
    Tool,
}

impl Role {
    /// The wire name (`system`, `user`, `assistant`, `tool`).
    pub fn as_str(self) -> &'static str {
        match self {
            Role::System => "system",
            Role::User => "user",
            Role::Assistant => "assistant",
            Role::Tool => "tool",
        }
    }
}

/// One piece of message content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// Plain text.
    Text(String),
    /// An image (`image/png`, `image/jpeg`, ...) or a document (`application/pdf`).
    /// OpenAI-compatible servers get images as base64 `data:` URLs and PDFs as rendered page
    /// images or a `file` part (see [`PdfMode`]); Anthropic gets base64 `image` or `document`
    /// blocks.
    Image {
        /// MIME type, e.g. `image/png` or `application/pdf`.
        media_type: String,
        /// Raw bytes (not base64).
        data: Vec<u8>,
    },
    /// A tool call the assistant made earlier (goes in an assistant message when replaying a
    /// tool-use conversation).
    ToolCall {
        /// The call id the server gave (see [`ToolCallOut::id`]).
        id: String,
        /// Function name.
        name: String,
        /// Arguments object.
        arguments: serde_json::Value,
    },
    /// The result of a tool call (goes in a [`Role::Tool`] message).
    ToolResult {
        /// The id of the call this answers.
        call_id: String,
        /// Result text.
        content: String,
    },
}

/// One chat message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Speaker.
    pub role: Role,
    /// Content, in order.
    pub parts: Vec<Part>,
}

impl ChatMessage {
    /// A message with a single text part.
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        ChatMessage {
            role,
            parts: vec![Part::Text(text.into())],
        }
    }

    /// A system message.
    pub fn system(text: impl Into<String>) -> Self {
        Self::text(Role::System, text)
    }

    /// A user message.
    pub fn user(text: impl Into<String>) -> Self {
        Self::text(Role::User, text)
    }

    /// An assistant message.
    pub fn assistant(text: impl Into<String>) -> Self {
        Self::text(Role::Assistant, text)
    }

    /// The concatenated text parts.
    pub fn joined_text(&self) -> String {
        let mut out = String::new();
        for p in &self.parts {
            if let Part::Text(t) = p {
                out.push_str(t);
            }
        }
        out
    }
}

/// A chat completion request, independent of the wire protocol.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatRequest {
    /// Model name as the endpoint knows it.
    pub model: String,
    /// The conversation.
    pub messages: Vec<ChatMessage>,
    /// Tool schemas in OpenAI form: `{"type":"function","function":{"name","description","parameters"}}`.
    #[serde(default)]
    pub tools: Vec<serde_json::Value>,
    /// Sampling parameters.
    #[serde(default)]
    pub sampling: Sampling,
}

impl ChatRequest {
    /// Whether any message carries an image or document part.
    pub fn has_media(&self) -> bool {
        self.messages
            .iter()
            .any(|m| m.parts.iter().any(|p| matches!(p, Part::Image { .. })))
    }
}

/// A tool call the model asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCallOut {
    /// Function name.
    pub name: String,
    /// Arguments; a JSON-string argument that does not parse is kept as a JSON string.
    pub arguments: serde_json::Value,
    /// The server's call id, needed to send the result back ([`Part::ToolResult`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

/// Token usage as reported by the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt (input) tokens.
    pub prompt_tokens: u64,
    /// Completion (output) tokens.
    pub completion_tokens: u64,
}

/// A completed chat turn.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ChatResponse {
    /// The answer text (text parts joined); may be empty when there are tool calls.
    pub text: String,
    /// Tool calls, in order.
    #[serde(default)]
    pub tool_calls: Vec<ToolCallOut>,
    /// Token usage, when the server reported it.
    #[serde(default)]
    pub usage: Option<Usage>,
    /// `stop`, `length`, `tool_calls`, `end_turn`, ... as the server said it.
    #[serde(default)]
    pub finish_reason: Option<String>,
    /// Wall time of the successful attempt, in milliseconds.
    pub latency_ms: u64,
    /// How many attempts it took (1 without retries).
    pub attempts: u32,
}

/// A model endpoint. Object safe: use `Arc<dyn Provider>`.
pub trait Provider: Send + Sync {
    /// A stable name for this endpoint (part of [`request_hash`]).
    fn name(&self) -> &str;

    /// Sends one request. Implementations make one attempt; wrap in [`Reliable`] for retries.
    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ProviderError>>;

    /// Converts a request into the form this endpoint is sent, once, before its first attempt:
    /// CPU work such as rendering PDF pages (see [`OpenAiCompatible`]) belongs here, not in
    /// [`Provider::complete`], which runs again on every retry. Blocking: call it off the async
    /// threads (`spawn_blocking`) when the request has media ([`ChatRequest::has_media`]).
    ///
    /// The default returns the request unchanged. Hash and store the request as built, before
    /// this call, so cache keys name the original media.
    fn prepare(&self, req: ChatRequest) -> Result<ChatRequest, ProviderError> {
        Ok(req)
    }
}

impl<P: Provider + ?Sized> Provider for Arc<P> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ProviderError>> {
        (**self).complete(req)
    }

    fn prepare(&self, req: ChatRequest) -> Result<ChatRequest, ProviderError> {
        (**self).prepare(req)
    }
}

impl<P: Provider + ?Sized> Provider for Box<P> {
    fn name(&self) -> &str {
        (**self).name()
    }

    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ProviderError>> {
        (**self).complete(req)
    }

    fn prepare(&self, req: ChatRequest) -> Result<ChatRequest, ProviderError> {
        (**self).prepare(req)
    }
}
