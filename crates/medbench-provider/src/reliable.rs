//! [`Reliable`]: bounded concurrency, rate limits and budgeted retries around any provider.

use std::sync::Arc;
use std::time::Duration;

use rand::RngExt;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::ratelimit::RateLimiter;
use crate::{BoxFuture, ChatRequest, ChatResponse, ErrorKind, Part, Provider, ProviderError};

/// Tokens assumed for the completion when the request sets no `max_tokens`.
const DEFAULT_COMPLETION_ESTIMATE: u64 = 1024;
/// Tokens assumed per image or document part.
const MEDIA_TOKEN_ESTIMATE: u64 = 1000;

/// How much traffic one endpoint may receive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Requests in flight at once (a request holds its slot across its retries). At least 1.
    pub concurrency: usize,
    /// Requests started per minute, spread evenly (one second of burst).
    pub requests_per_minute: Option<u32>,
    /// Estimated tokens per minute (prompt chars / 4 + max_tokens, corrected by reported usage).
    pub tokens_per_minute: Option<u32>,
}

impl Default for Limits {
    /// 8 concurrent requests, no rate limits.
    fn default() -> Self {
        Limits {
            concurrency: 8,
            requests_per_minute: None,
            tokens_per_minute: None,
        }
    }
}

/// When and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts in total, the first included. 1 disables retries.
    pub max_attempts: u32,
    /// Backoff cap before the first retry; doubles with each retry.
    pub base_delay: Duration,
    /// Upper bound of one backoff (a longer `Retry-After` still wins).
    pub max_delay: Duration,
    /// Wall time allowed from the first attempt's start to the start of the last retry; a retry
    /// that could not start within it ends the request with [`ErrorKind::BudgetExhausted`].
    pub budget: Duration,
}

impl RetryPolicy {
    /// One attempt, no retries.
    pub fn none() -> Self {
        RetryPolicy {
            max_attempts: 1,
            ..Self::default()
        }
    }

    /// The full-jitter backoff before retry number `retry` (1-based): uniform in
    /// `[0, min(max_delay, base_delay * 2^(retry-1))]`.
    pub fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        let cap = self.base_delay.saturating_mul(factor).min(self.max_delay);
        if cap.is_zero() {
            return Duration::ZERO;
        }
        let nanos = rand::rng().random_range(0..=cap.as_nanos().min(u64::MAX as u128) as u64);
        Duration::from_nanos(nanos)
    }
}

impl Default for RetryPolicy {
    /// 6 attempts, 1 s base, 60 s cap, 10 minute budget.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 6,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(60),
            budget: Duration::from_secs(600),
        }
    }
}

#[derive(Debug)]
struct Shared {
    limits: Limits,
    policy: RetryPolicy,
    slots: Semaphore,
    limiter: RateLimiter,
}

/// Wraps a provider with the machinery of a careful client:
///
/// * at most [`Limits::concurrency`] requests in flight (a request keeps its slot while it
///   backs off, so an overloaded endpoint is not hit harder);
/// * request and token rate limits shared by every request through this value and its clones;
/// * retries of transport errors, timeouts, 429, 5xx, 408, 409 and malformed bodies with
///   full-jitter exponential backoff; a `Retry-After` sets a floor on the wait and pauses the
///   whole endpoint; an empty answer is retried once; other 4xx and refusals never;
/// * a time budget per request, after which it fails with [`ErrorKind::BudgetExhausted`].
///
/// `attempts` on the response or error counts the tries made.
#[derive(Debug)]
pub struct Reliable<P> {
    inner: P,
    shared: Arc<Shared>,
}

impl<P: Clone> Clone for Reliable<P> {
    /// A clone shares the concurrency slots and rate limits.
    fn clone(&self) -> Self {
        Reliable {
            inner: self.inner.clone(),
            shared: self.shared.clone(),
        }
    }
}

impl<P: Provider> Reliable<P> {
    /// Wraps `inner` with `limits` and `policy`.
    pub fn new(inner: P, limits: Limits, policy: RetryPolicy) -> Self {
        let shared = Shared {
            limits,
            policy,
            slots: Semaphore::new(limits.concurrency.max(1)),
            limiter: RateLimiter::new(limits.requests_per_minute, limits.tokens_per_minute),
        };
        Reliable {
            inner,
            shared: Arc::new(shared),
        }
    }

    /// The wrapped provider.
    pub fn inner(&self) -> &P {
        &self.inner
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.shared.limits
    }

    /// The retry policy in force.
    pub fn policy(&self) -> RetryPolicy {
        self.shared.policy
    }

    async fn run(&self, req: &ChatRequest) -> Result<ChatResponse, ProviderError> {
        let _slot = self
            .shared
            .slots
            .acquire()
            .await
            .map_err(|_| ProviderError::new(ErrorKind::Transport, "provider slots closed"))?;
        let policy = &self.shared.policy;
        let limiter = &self.shared.limiter;
        let estimate = estimate_tokens(req);
        let started = Instant::now();
        let mut attempts = 0u32;
        let mut empty_retried = false;
        loop {
            limiter.acquire(estimate).await;
            attempts += 1;
            let err = match self.inner.complete(req).await {
                Ok(mut resp) => {
                    if let Some(u) = resp.usage {
                        limiter.settle(estimate, u.prompt_tokens + u.completion_tokens);
                    }
                    resp.attempts = attempts;
                    return Ok(resp);
                }
                Err(e) => ProviderError { attempts, ..e },
            };
            let throttled = matches!(
                err.kind,
                ErrorKind::RateLimited | ErrorKind::HttpStatus(503)
            );
            if let (true, Some(ra)) = (throttled, err.retry_after) {
                limiter.pause_for(ra);
            }
            let retry =
                err.is_retryable() && !(err.kind == ErrorKind::EmptyAnswer && empty_retried);
            if !retry || attempts >= policy.max_attempts.max(1) {
                return Err(err);
            }
            empty_retried |= err.kind == ErrorKind::EmptyAnswer;
            let mut delay = policy.backoff(attempts);
            if let Some(ra) = err.retry_after {
                delay = delay.max(ra);
            }
            let elapsed = started.elapsed();
            if elapsed + delay > policy.budget {
                return Err(ProviderError {
                    kind: ErrorKind::BudgetExhausted,
                    message: format!(
                        "retry budget {:?} exhausted after {attempts} attempt(s) in {elapsed:?} \
                         (next wait {delay:?}); last error: {}: {}",
                        policy.budget, err.kind, err.message
                    ),
                    retry_after: err.retry_after,
                    attempts,
                });
            }
            tracing::debug!(
                provider = self.inner.name(),
                kind = err.kind.as_str(),
                attempts,
                delay_ms = delay.as_millis() as u64,
                "retrying: {}",
                err.message
            );
            tokio::time::sleep(delay).await;
        }
    }
}

impl<P: Provider> Provider for Reliable<P> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn complete<'a>(
        &'a self,
        req: &'a ChatRequest,
    ) -> BoxFuture<'a, Result<ChatResponse, ProviderError>> {
        Box::pin(self.run(req))
    }

    fn prepare(&self, req: ChatRequest) -> Result<ChatRequest, ProviderError> {
        self.inner.prepare(req)
    }
}

/// Estimated tokens of a request before the server says: prompt characters / 4, a fixed
/// amount per image or document, plus `max_tokens` (1024 when unset).
pub fn estimate_tokens(req: &ChatRequest) -> u64 {
    let mut chars = 0u64;
    let mut media = 0u64;
    for m in &req.messages {
        for p in &m.parts {
            match p {
                Part::Text(t) => chars += t.chars().count() as u64,
                Part::Image { .. } => media += MEDIA_TOKEN_ESTIMATE,
                Part::ToolCall {
                    name, arguments, ..
                } => chars += (name.len() + arguments.to_string().len()) as u64,
                Part::ToolResult { content, .. } => chars += content.chars().count() as u64,
            }
        }
    }
    for t in &req.tools {
        chars += t.to_string().len() as u64;
    }
    let completion = req
        .sampling
        .max_tokens
        .map_or(DEFAULT_COMPLETION_ESTIMATE, u64::from);
    chars / 4 + media + completion
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ChatMessage, Sampling};

    #[test]
    fn backoff_is_full_jitter_and_capped() {
        let p = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(1000),
            budget: Duration::from_secs(60),
        };
        let mut below_half = false;
        for _ in 0..200 {
            let d = p.backoff(3); // cap 400 ms
            assert!(d <= Duration::from_millis(400));
            below_half |= d < Duration::from_millis(200);
            assert!(p.backoff(30) <= Duration::from_millis(1000));
        }
        assert!(below_half, "full jitter should reach below half the cap");
    }

    #[test]
    fn token_estimate() {
        let req = ChatRequest {
            messages: vec![ChatMessage::user("x".repeat(400))],
            sampling: Sampling {
                max_tokens: Some(50),
                ..Default::default()
            },
            ..Default::default()
        };
        assert_eq!(estimate_tokens(&req), 150);
    }
}
