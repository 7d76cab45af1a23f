//! The HTTP plumbing both wire protocols share: one pooled client, POST of a JSON body, and
//! the mapping of transport errors and statuses onto [`ErrorKind`].

use std::sync::OnceLock;
use std::time::{Duration, Instant, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

use crate::error::parse_retry_after;
use crate::{ErrorKind, ProviderError};

/// How many bytes of an error body go into an error message.
const EXCERPT: usize = 400;

/// Installs rustls' `ring` crypto provider as the process default, unless one is installed.
///
/// This crate builds reqwest with `rustls-no-provider` (no OpenSSL, no aws-lc build), and
/// Cargo's feature unification applies that to every reqwest in the same build: any other code
/// that builds a `reqwest::Client` must call this first (providers here do it themselves).
pub fn install_tls_provider() {
    // Fails only when a provider is already installed, which is what we want anyway.
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The process-wide pooled client (rustls with the `ring` provider, no system OpenSSL).
pub fn shared_client() -> Result<reqwest::Client, ProviderError> {
    static CLIENT: OnceLock<Result<reqwest::Client, String>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            install_tls_provider();
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(10))
                .pool_idle_timeout(Duration::from_secs(60))
                .build()
                .map_err(|e| error_chain(&e))
        })
        .clone()
        .map_err(|e| ProviderError::new(ErrorKind::Transport, format!("HTTP client: {e}")))
}

/// Checks that `url` can be an endpoint's base URL: an absolute `http` or `https` URL with a
/// host and no query or fragment. The error says what is wrong, for the caller to name its flag.
pub fn check_base_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url.trim()).map_err(|e| format!("not a URL ({e})"))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(format!(
            "the scheme must be http or https, not `{}`",
            parsed.scheme()
        ));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("it names no host".into());
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err("it must not have a query (?…) or fragment (#…)".into());
    }
    Ok(())
}

/// A successful exchange: parsed JSON body and the wall time it took.
pub(crate) struct JsonReply {
    pub body: Value,
    pub latency: Duration,
}

/// POSTs `body` to `url` and parses the JSON reply, classifying every failure.
pub(crate) async fn post_json(
    client: &reqwest::Client,
    url: &str,
    headers: HeaderMap,
    body: &Value,
    timeout: Duration,
) -> Result<JsonReply, ProviderError> {
    let start = Instant::now();
    let resp = client
        .post(url)
        .headers(headers)
        .json(body)
        .timeout(timeout)
        .send()
        .await
        .map_err(|e| from_reqwest(&e, url, timeout))?;
    let status = resp.status();
    let retry_after = retry_after(resp.headers());
    let bytes = resp
        .bytes()
        .await
        .map_err(|e| from_reqwest(&e, url, timeout))?;
    let latency = start.elapsed();
    if !status.is_success() {
        let code = status.as_u16();
        let kind = if code == 429 {
            ErrorKind::RateLimited
        } else {
            ErrorKind::HttpStatus(code)
        };
        let message = format!("HTTP {code} from {url}: {}", excerpt(&bytes));
        return Err(ProviderError::new(kind, message).with_retry_after(retry_after));
    }
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(body) => Ok(JsonReply { body, latency }),
        Err(e) => Err(ProviderError::new(
            ErrorKind::MalformedBody,
            format!("body from {url} is not JSON ({e}): {}", excerpt(&bytes)),
        )),
    }
}

/// Builds headers from name/value pairs; a bad name or value is an invalid request.
pub(crate) fn header_map<'a>(
    pairs: impl IntoIterator<Item = (&'a str, String)>,
) -> Result<HeaderMap, ProviderError> {
    let bad = |e: &dyn std::fmt::Display| {
        ProviderError::new(ErrorKind::InvalidRequest, format!("bad header: {e}"))
    };
    let mut h = HeaderMap::new();
    for (k, v) in pairs {
        let name = HeaderName::from_bytes(k.as_bytes()).map_err(|e| bad(&e))?;
        h.insert(name, HeaderValue::from_str(&v).map_err(|e| bad(&e))?);
    }
    Ok(h)
}

/// Reads `retry-after-ms` (OpenAI) or `Retry-After` (seconds or HTTP-date).
fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    if let Some(ms) = headers.get("retry-after-ms").and_then(|v| v.to_str().ok())
        && let Ok(ms) = ms.trim().parse::<f64>()
        && ms.is_finite()
        && ms >= 0.0
    {
        return Some(Duration::from_secs_f64(ms / 1000.0));
    }
    let v = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    parse_retry_after(v, SystemTime::now())
}

fn from_reqwest(e: &reqwest::Error, url: &str, timeout: Duration) -> ProviderError {
    let (kind, what) = if e.is_timeout() {
        (ErrorKind::Timeout, format!("no answer within {timeout:?}"))
    } else if e.is_builder() {
        (
            ErrorKind::InvalidRequest,
            "cannot build request".to_string(),
        )
    } else {
        (ErrorKind::Transport, "transport error".to_string())
    };
    ProviderError::new(kind, format!("{what} from {url}: {}", error_chain(e)))
}

/// The error and its sources joined, since reqwest's own message is terse.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut src = e.source();
    while let Some(s) = src {
        out.push_str(": ");
        out.push_str(&s.to_string());
        src = s.source();
    }
    out
}

/// The first bytes of a body, lossily decoded, for error messages.
pub(crate) fn excerpt(bytes: &[u8]) -> String {
    let cut = bytes.len().min(EXCERPT);
    let mut s = String::from_utf8_lossy(&bytes[..cut]).into_owned();
    if bytes.len() > cut {
        s.push_str("...");
    }
    s
}

/// Reads a non-negative integer field that may be missing, null or a float.
pub(crate) fn u64_field(v: &Value, key: &str) -> Option<u64> {
    let f = v.get(key)?;
    f.as_u64()
        .or_else(|| f.as_f64().filter(|x| *x >= 0.0).map(|x| x as u64))
}

/// Error for a 2xx body that carries an `{"error": ...}` object instead of an answer
/// (some gateways do this); a numeric `code` is treated as an HTTP status.
pub(crate) fn body_error(body: &Value) -> Option<ProviderError> {
    let err = body.get("error")?;
    if err.is_null() {
        return None;
    }
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_string)
        .unwrap_or_else(|| err.to_string());
    let kind = match err.get("code").and_then(Value::as_u64) {
        Some(429) => ErrorKind::RateLimited,
        Some(code @ 400..=599) => ErrorKind::HttpStatus(code as u16),
        _ => ErrorKind::MalformedBody,
    };
    Some(ProviderError::new(
        kind,
        format!("error in response body: {message}"),
    ))
}

/// Parses tool-call arguments that arrive as a JSON string (OpenAI) or an object.
/// An empty string is `{}`; a string that is not JSON is kept as a JSON string.
pub(crate) fn parse_arguments(v: Option<&Value>) -> Value {
    match v {
        None | Some(Value::Null) => Value::Object(Default::default()),
        Some(Value::String(s)) if s.trim().is_empty() => Value::Object(Default::default()),
        Some(Value::String(s)) => {
            serde_json::from_str(s).unwrap_or_else(|_| Value::String(s.clone()))
        }
        Some(other) => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn base_urls() {
        assert_eq!(check_base_url("http://127.0.0.1:8080/v1"), Ok(()));
        assert_eq!(check_base_url("https://api.openai.com/v1/"), Ok(()));
        assert!(check_base_url("127.0.0.1:8080/v1").is_err());
        assert!(
            check_base_url("localhost:8080")
                .unwrap_err()
                .contains("scheme")
        );
        assert!(
            check_base_url("http//x/v1")
                .unwrap_err()
                .contains("not a URL")
        );
        assert!(
            check_base_url("http://x/v1?key=1")
                .unwrap_err()
                .contains("query")
        );
        assert!(check_base_url("ftp://x/v1").unwrap_err().contains("ftp"));
    }

    #[test]
    fn arguments_tolerated() {
        assert_eq!(parse_arguments(Some(&json!("{\"a\":1}"))), json!({"a": 1}));
        assert_eq!(parse_arguments(Some(&json!({"a": 1}))), json!({"a": 1}));
        assert_eq!(parse_arguments(Some(&json!(""))), json!({}));
        assert_eq!(parse_arguments(None), json!({}));
        assert_eq!(parse_arguments(Some(&json!("{oops"))), json!("{oops"));
    }

    #[test]
    fn errors_inside_ok_bodies() {
        let e = body_error(&json!({"error": {"message": "slow down", "code": 429}})).unwrap();
        assert_eq!(e.kind, ErrorKind::RateLimited);
        let e = body_error(&json!({"error": {"message": "upstream", "code": 502}})).unwrap();
        assert_eq!(e.kind, ErrorKind::HttpStatus(502));
        let e = body_error(&json!({"error": "weird"})).unwrap();
        assert_eq!(e.kind, ErrorKind::MalformedBody);
        assert!(body_error(&json!({"error": null, "choices": []})).is_none());
    }

    #[test]
    fn retry_after_ms_preferred() {
        let mut h = HeaderMap::new();
        h.insert("retry-after", "5".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(5)));
        h.insert("retry-after-ms", "1500".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_millis(1500)));
    }
}
