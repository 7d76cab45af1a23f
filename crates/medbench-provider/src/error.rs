//! Typed provider failures and their retry classification.

use std::fmt;
use std::time::Duration;

/// What went wrong, coarse enough to count and to decide on a retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// Connection refused or reset, DNS, TLS, body read cut short.
    Transport,
    /// No complete answer within the client timeout.
    Timeout,
    /// A non-success HTTP status other than 429.
    HttpStatus(u16),
    /// HTTP 429.
    RateLimited,
    /// A success status whose body is not the expected JSON.
    MalformedBody,
    /// A well-formed answer with no text and no tool calls.
    EmptyAnswer,
    /// The server's content filter or the model refused.
    Refused,
    /// Retrying would exceed the request's retry time budget.
    BudgetExhausted,
    /// The request cannot be expressed for this endpoint (e.g. a PDF part sent to an
    /// OpenAI-compatible server). Never retried.
    InvalidRequest,
    /// A media part could not be converted for this endpoint (a damaged PDF, or one with more
    /// pages than are rendered as images). Never retried.
    Render,
}

impl ErrorKind {
    /// A stable snake_case label for counting (`http_5xx` style labels are grouped by class:
    /// `http_4xx`, `http_5xx`, `http_other`).
    pub fn as_str(&self) -> &'static str {
        match self {
            ErrorKind::Transport => "transport",
            ErrorKind::Timeout => "timeout",
            ErrorKind::HttpStatus(s) if (400..500).contains(s) => "http_4xx",
            ErrorKind::HttpStatus(s) if (500..600).contains(s) => "http_5xx",
            ErrorKind::HttpStatus(_) => "http_other",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::MalformedBody => "malformed_body",
            ErrorKind::EmptyAnswer => "empty_answer",
            ErrorKind::Refused => "refused",
            ErrorKind::BudgetExhausted => "budget_exhausted",
            ErrorKind::InvalidRequest => "invalid_request",
            ErrorKind::Render => "render",
        }
    }

    /// Whether another attempt may succeed: transport failures, timeouts, 429, 5xx, 408, 409
    /// and malformed bodies. Other 4xx, refusals, invalid requests and render failures are final.
    /// [`ErrorKind::EmptyAnswer`] is retryable here; [`crate::Reliable`] retries it only once.
    pub fn is_retryable(&self) -> bool {
        match self {
            ErrorKind::Transport
            | ErrorKind::Timeout
            | ErrorKind::RateLimited
            | ErrorKind::MalformedBody
            | ErrorKind::EmptyAnswer => true,
            ErrorKind::HttpStatus(s) => *s >= 500 || *s == 408 || *s == 409,
            ErrorKind::Refused
            | ErrorKind::BudgetExhausted
            | ErrorKind::InvalidRequest
            | ErrorKind::Render => false,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorKind::HttpStatus(s) => write!(f, "http_{s}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// A failed request.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind} after {attempts} attempt(s): {message}")]
pub struct ProviderError {
    /// Classification.
    pub kind: ErrorKind,
    /// Human-readable detail (server message or body excerpt included).
    pub message: String,
    /// The server's `Retry-After`, when it sent one.
    pub retry_after: Option<Duration>,
    /// Attempts made, including the failing one.
    pub attempts: u32,
}

impl ProviderError {
    /// A new error counted as one attempt.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        ProviderError {
            kind,
            message: message.into(),
            retry_after: None,
            attempts: 1,
        }
    }

    /// Sets [`ProviderError::retry_after`].
    pub fn with_retry_after(mut self, retry_after: Option<Duration>) -> Self {
        self.retry_after = retry_after;
        self
    }

    /// Whether another attempt may succeed (see [`ErrorKind::is_retryable`]).
    pub fn is_retryable(&self) -> bool {
        self.kind.is_retryable()
    }
}

/// Parses a `Retry-After` value: delay seconds (fractions tolerated) or an HTTP-date.
/// A date in the past gives zero.
pub(crate) fn parse_retry_after(value: &str, now: std::time::SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<f64>() {
        return (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs));
    }
    let at = httpdate::parse_http_date(v).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(parse_retry_after("3", now), Some(Duration::from_secs(3)));
        assert_eq!(
            parse_retry_after(" 0.5 ", now),
            Some(Duration::from_millis(500))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(7));
        assert_eq!(parse_retry_after(&later, now), Some(Duration::from_secs(7)));
        let earlier = httpdate::fmt_http_date(now - Duration::from_secs(7));
        assert_eq!(parse_retry_after(&earlier, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn retry_classification() {
        for k in [
            ErrorKind::Transport,
            ErrorKind::Timeout,
            ErrorKind::RateLimited,
            ErrorKind::MalformedBody,
            ErrorKind::HttpStatus(500),
            ErrorKind::HttpStatus(503),
            ErrorKind::HttpStatus(408),
            ErrorKind::HttpStatus(409),
        ] {
            assert!(k.is_retryable(), "{k}");
        }
        for k in [
            ErrorKind::HttpStatus(400),
            ErrorKind::HttpStatus(401),
            ErrorKind::HttpStatus(404),
            ErrorKind::Refused,
            ErrorKind::BudgetExhausted,
            ErrorKind::InvalidRequest,
            ErrorKind::Render,
        ] {
            assert!(!k.is_retryable(), "{k}");
        }
        assert_eq!(ErrorKind::HttpStatus(502).as_str(), "http_5xx");
        assert_eq!(ErrorKind::RateLimited.as_str(), "rate_limited");
        assert_eq!(ErrorKind::HttpStatus(404).to_string(), "http_404");
    }
}
