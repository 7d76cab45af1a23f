//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::time::Duration;

use medbench_fake_llm::{Failure, FailureRule, FakeConfig, FakeServer, Trigger, start};
use medbench_provider::{
    ChatMessage, ChatRequest, Limits, OpenAiCompatible, Reliable, RetryPolicy, Sampling,
};

/// A one-message request.
pub fn req(text: &str) -> ChatRequest {
    ChatRequest {
        model: "fake-model".into(),
        messages: vec![ChatMessage::user(text)],
        tools: vec![],
        sampling: Sampling {
            temperature: Some(0.0),
            max_tokens: Some(32),
            ..Default::default()
        },
    }
}

/// A fake that fails as `rules` say and records requests.
pub async fn fake(rules: Vec<(Trigger, Failure)>) -> FakeServer {
    start(FakeConfig {
        failures: rules
            .into_iter()
            .map(|(w, f)| FailureRule::new(w, f))
            .collect(),
        record: true,
        ..Default::default()
    })
    .await
}

/// An OpenAI-compatible client of `server` with a short timeout.
pub fn client(server: &FakeServer) -> OpenAiCompatible {
    OpenAiCompatible::new(server.base_url()).with_timeout(Duration::from_secs(5))
}

/// Fast retries: 6 attempts, 10–40 ms backoff, 30 s budget.
pub fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 6,
        base_delay: Duration::from_millis(10),
        max_delay: Duration::from_millis(40),
        budget: Duration::from_secs(30),
    }
}

/// `client(server)` wrapped with default limits and [`quick_policy`].
pub fn reliable(server: &FakeServer) -> Reliable<OpenAiCompatible> {
    Reliable::new(client(server), Limits::default(), quick_policy())
}
