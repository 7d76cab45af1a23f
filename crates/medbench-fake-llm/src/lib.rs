//! A fake OpenAI-compatible (`POST /v1/chat/completions`) and Anthropic-compatible
//! (`POST /v1/messages`) chat server, for tests and as the raw-capacity reference of load
//! benchmarks.
//!
//! It answers by an [`AnswerPolicy`] after a fixed latency, fails on a script of
//! [`FailureRule`]s (429 with `Retry-After`, 5xx, hangs, malformed bodies, empty answers),
//! can answer with tool calls, and counts what it received: total requests, requests per
//! distinct body, and the maximum number in flight.
//!
//! ```no_run
//! # async fn demo() {
//! use medbench_fake_llm::{start, FakeConfig, AnswerPolicy};
//! let server = start(FakeConfig { answer: AnswerPolicy::AnswerKey, ..Default::default() }).await;
//! println!("{}", server.base_url()); // http://127.0.0.1:PORT/v1
//! # }
//! ```

#![warn(missing_docs)]

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

mod pdf;
mod server;

pub use pdf::tiny_pdf;

/// How the fake derives its answer from the last user message's text.
#[derive(Clone)]
pub enum AnswerPolicy {
    /// Always this text.
    Fixed(String),
    /// The last user text itself.
    Echo,
    /// The letters right after `ANSWER_KEY:` in the last user text (e.g. `ANSWER_KEY: BD`
    /// gives `BD`); `unknown` when there is none.
    AnswerKey,
    /// Any function of the last user text.
    Custom(Arc<dyn Fn(&str) -> String + Send + Sync>),
}

impl AnswerPolicy {
    /// A policy from a closure.
    pub fn custom(f: impl Fn(&str) -> String + Send + Sync + 'static) -> Self {
        AnswerPolicy::Custom(Arc::new(f))
    }

    /// The answer to a request whose last user text is `last_user_text`.
    pub fn answer(&self, last_user_text: &str) -> String {
        match self {
            AnswerPolicy::Fixed(s) => s.clone(),
            AnswerPolicy::Echo => last_user_text.to_string(),
            AnswerPolicy::AnswerKey => answer_key(last_user_text).unwrap_or("unknown").to_string(),
            AnswerPolicy::Custom(f) => f(last_user_text),
        }
    }
}

impl fmt::Debug for AnswerPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AnswerPolicy::Fixed(s) => f.debug_tuple("Fixed").field(s).finish(),
            AnswerPolicy::Echo => f.write_str("Echo"),
            AnswerPolicy::AnswerKey => f.write_str("AnswerKey"),
            AnswerPolicy::Custom(_) => f.write_str("Custom(..)"),
        }
    }
}

/// The alphanumeric run after the last `ANSWER_KEY:` marker, if any.
pub fn answer_key(text: &str) -> Option<&str> {
    let rest = text.rsplit_once("ANSWER_KEY:")?.1.trim_start();
    let end = rest
        .find(|c: char| !c.is_alphanumeric())
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Which requests a [`FailureRule`] hits. Requests are numbered from 1 in arrival order,
/// across both endpoints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trigger {
    /// Every request.
    Always,
    /// Only request number `n`.
    Nth(u64),
    /// Requests 1..=n.
    FirstN(u64),
    /// A fraction `p` of requests, decided by a hash of `seed` and the request number, so the
    /// same script fails the same request numbers on every run.
    Fraction {
        /// Probability in [0, 1].
        p: f64,
        /// Seed.
        seed: u64,
    },
}

impl Trigger {
    /// Whether request number `n` (1-based) is hit.
    pub fn hits(&self, n: u64) -> bool {
        match *self {
            Trigger::Always => true,
            Trigger::Nth(k) => n == k,
            Trigger::FirstN(k) => n <= k,
            Trigger::Fraction { p, seed } => {
                let x = splitmix64(seed ^ n.wrapping_mul(0x9E37_79B9_7F4A_7C15));
                ((x >> 11) as f64 / (1u64 << 53) as f64) < p
            }
        }
    }
}

fn splitmix64(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// What a failing request gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 429, with this `Retry-After` header value (seconds or an HTTP-date) when given.
    RateLimited {
        /// Raw `Retry-After` value.
        retry_after: Option<String>,
    },
    /// Any status (500, 503, 400, ...) with a JSON error body.
    Status {
        /// HTTP status.
        code: u16,
        /// Raw `Retry-After` value.
        retry_after: Option<String>,
    },
    /// No answer for this long (then a normal answer); released early at shutdown.
    Hang(Duration),
    /// HTTP 200 with a body that is not JSON.
    Malformed,
    /// A well-formed answer with empty text.
    EmptyContent,
    /// `content: null` (OpenAI) or no content blocks (Anthropic), and no tool calls.
    NullContent,
}

/// One line of the failure script: `failure` for requests that `when` hits.
#[derive(Debug, Clone, PartialEq)]
pub struct FailureRule {
    /// Which requests.
    pub when: Trigger,
    /// What they get.
    pub failure: Failure,
}

impl FailureRule {
    /// A rule.
    pub fn new(when: Trigger, failure: Failure) -> Self {
        FailureRule { when, failure }
    }
}

/// A tool call the fake answers with.
#[derive(Debug, Clone, PartialEq)]
pub struct FakeToolCall {
    /// Function name.
    pub name: String,
    /// Arguments (sent as a JSON string to OpenAI clients, an object to Anthropic clients).
    pub arguments: serde_json::Value,
}

/// How the fake behaves.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    /// Added before every answer (and before every scripted failure).
    pub latency: Duration,
    /// How answers are made.
    pub answer: AnswerPolicy,
    /// Failure script; the first rule that hits a request decides its failure.
    pub failures: Vec<FailureRule>,
    /// When non-empty, successful answers are these tool calls instead of text.
    pub tool_calls: Vec<FakeToolCall>,
    /// Report token usage (estimated as characters / 4). Default true.
    pub include_usage: bool,
    /// Keep every request (path, headers, body, arrival time) for [`FakeServer::requests`].
    pub record: bool,
}

impl Default for FakeConfig {
    /// No latency, answers `A`, no failures, usage reported, nothing recorded.
    fn default() -> Self {
        FakeConfig {
            latency: Duration::ZERO,
            answer: AnswerPolicy::Fixed("A".to_string()),
            failures: Vec::new(),
            tool_calls: Vec::new(),
            include_usage: true,
            record: false,
        }
    }
}

/// A request the fake received (kept when [`FakeConfig::record`] is on).
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// 1-based arrival number.
    pub n: u64,
    /// Request path, e.g. `/v1/chat/completions`.
    pub path: String,
    /// Headers, names lowercase.
    pub headers: Vec<(String, String)>,
    /// Parsed body (`Null` when it was not JSON).
    pub body: serde_json::Value,
    /// Arrival time.
    pub at: std::time::Instant,
}

/// Live counters.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub total: AtomicU64,
    pub in_flight: AtomicUsize,
    pub max_in_flight: AtomicUsize,
    pub by_body: Mutex<HashMap<u64, u32>>,
    pub recorded: Mutex<Vec<RecordedRequest>>,
}

/// A running fake server. Dropping it shuts it down.
#[derive(Debug)]
pub struct FakeServer {
    addr: SocketAddr,
    counters: Arc<Counters>,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

/// Starts a fake on `127.0.0.1` at a free port.
///
/// # Panics
/// When no loopback port can be bound (use [`try_start_at`] to handle that).
pub async fn start(config: FakeConfig) -> FakeServer {
    try_start_at(config, SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .expect("bind a loopback port for the fake LLM server")
}

/// Starts a fake listening on `addr` (port 0 picks a free port).
pub async fn try_start_at(config: FakeConfig, addr: SocketAddr) -> std::io::Result<FakeServer> {
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;
    let counters = Arc::new(Counters::default());
    let (tx, rx) = watch::channel(false);
    let task = tokio::spawn(server::serve(listener, config, counters.clone(), rx));
    Ok(FakeServer {
        addr,
        counters,
        shutdown: tx,
        task: Some(task),
    })
}

impl FakeServer {
    /// `http://127.0.0.1:PORT/v1`, the base URL for OpenAI-compatible clients (Anthropic
    /// clients use it without `/v1`).
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Requests received so far (failed ones included).
    pub fn total_requests(&self) -> u64 {
        self.counters.total.load(Ordering::SeqCst)
    }

    /// Requests being handled right now.
    pub fn in_flight(&self) -> usize {
        self.counters.in_flight.load(Ordering::SeqCst)
    }

    /// The most requests that were ever handled at once.
    pub fn max_in_flight(&self) -> usize {
        self.counters.max_in_flight.load(Ordering::SeqCst)
    }

    /// How many times each distinct request body (by a 64-bit hash of its bytes) arrived.
    pub fn body_counts(&self) -> HashMap<u64, u32> {
        self.counters
            .by_body
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Distinct request bodies received.
    pub fn distinct_bodies(&self) -> usize {
        self.counters
            .by_body
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .len()
    }

    /// The largest number of times one body arrived (1 means no request was sent twice).
    pub fn max_repeats(&self) -> u32 {
        let map = self
            .counters
            .by_body
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        map.values().copied().max().unwrap_or(0)
    }

    /// Recorded requests, in arrival order (empty unless [`FakeConfig::record`]).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        let mut v = self
            .counters
            .recorded
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        v.sort_by_key(|r| r.n);
        v
    }

    /// Stops accepting, releases hanging requests and waits (up to 2 s) for the server to end.
    pub async fn shutdown(mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            let abort = task.abort_handle();
            if tokio::time::timeout(Duration::from_secs(2), task)
                .await
                .is_err()
            {
                abort.abort();
            }
        }
    }
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_policies() {
        assert_eq!(
            AnswerPolicy::AnswerKey.answer("Q... ANSWER_KEY: BD\nmore"),
            "BD"
        );
        assert_eq!(AnswerPolicy::AnswerKey.answer("ANSWER_KEY:C"), "C");
        assert_eq!(AnswerPolicy::AnswerKey.answer("no key"), "unknown");
        assert_eq!(AnswerPolicy::Echo.answer("hi"), "hi");
        assert_eq!(
            AnswerPolicy::custom(|s| s.len().to_string()).answer("abc"),
            "3"
        );
    }

    #[test]
    fn fraction_trigger_is_seeded_and_about_right() {
        let t = Trigger::Fraction { p: 0.25, seed: 7 };
        let hits = (1..=10_000).filter(|&n| t.hits(n)).count();
        assert!((2_300..2_700).contains(&hits), "{hits}");
        let again = (1..=10_000).filter(|&n| t.hits(n)).count();
        assert_eq!(hits, again);
        let other = Trigger::Fraction { p: 0.25, seed: 8 };
        assert!((1..=100).any(|n| t.hits(n) != other.hits(n)));
        assert!(!(1..=100).any(|n| Trigger::Fraction { p: 0.0, seed: 1 }.hits(n)));
        assert!(Trigger::Nth(3).hits(3) && !Trigger::Nth(3).hits(4));
        assert!(Trigger::FirstN(2).hits(2) && !Trigger::FirstN(2).hits(3));
    }
}
