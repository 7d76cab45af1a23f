//! Operations: per-token rate limits and Prometheus metrics.

use std::collections::HashMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A token bucket per caller: `per_minute` requests a minute, bursts up to the same.
pub struct RateLimiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl RateLimiter {
    /// `per_minute = 0` turns limiting off.
    pub fn new(per_minute: u32) -> RateLimiter {
        RateLimiter {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one request from `key`'s bucket; `Err(wait)` when it is empty.
    pub fn take(&self, key: &str) -> Result<(), Duration> {
        if self.per_minute == 0 {
            return Ok(());
        }
        let cap = self.per_minute as f64;
        let rate = cap / 60.0;
        let now = Instant::now();
        let mut b = self.buckets.lock().expect("rate limiter lock");
        if b.len() > 100_000 {
            b.retain(|_, (_, t)| now.duration_since(*t) < Duration::from_secs(120));
        }
        let (tokens, at) = b.entry(key.to_owned()).or_insert((cap, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(cap);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - *tokens) / rate))
        }
    }
}

/// Latency bucket bounds in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Default)]
struct RouteStats {
    by_status: HashMap<u16, u64>,
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// Request counters and latency histograms by route.
#[derive(Default)]
pub struct Metrics {
    routes: Mutex<HashMap<(String, String), RouteStats>>,
    rate_limited: Mutex<u64>,
}

impl Metrics {
    pub fn observe(&self, method: &str, route: &str, status: u16, secs: f64) {
        let mut m = self.routes.lock().expect("metrics lock");
        let s = m.entry((method.to_owned(), route.to_owned())).or_default();
        *s.by_status.entry(status).or_default() += 1;
        s.count += 1;
        s.sum += secs;
        for (i, b) in BUCKETS.iter().enumerate() {
            if secs <= *b {
                s.buckets[i] += 1;
            }
        }
    }

    pub fn rate_limited(&self) {
        *self.rate_limited.lock().expect("metrics lock") += 1;
    }

    /// The Prometheus text format; `extra` lines are appended as they are.
    pub fn render(&self, extra: &str) -> String {
        let m = self.routes.lock().expect("metrics lock");
        let mut keys: Vec<_> = m.keys().cloned().collect();
        keys.sort();
        let mut o = String::new();
        o.push_str("# HELP medbench_http_requests_total HTTP requests by route and status.\n");
        o.push_str("# TYPE medbench_http_requests_total counter\n");
        for k in &keys {
            let mut st: Vec<_> = m[k].by_status.iter().collect();
            st.sort();
            for (code, n) in st {
                let _ = writeln!(
                    o,
                    "medbench_http_requests_total{{method=\"{}\",route=\"{}\",status=\"{code}\"}} {n}",
                    k.0, k.1
                );
            }
        }
        o.push_str("# HELP medbench_http_request_duration_seconds Time to answer, by route.\n");
        o.push_str("# TYPE medbench_http_request_duration_seconds histogram\n");
        for k in &keys {
            let s = &m[k];
            let l = format!("method=\"{}\",route=\"{}\"", k.0, k.1);
            for (i, b) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    o,
                    "medbench_http_request_duration_seconds_bucket{{{l},le=\"{b}\"}} {}",
                    s.buckets[i]
                );
            }
            let _ = writeln!(
                o,
                "medbench_http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {}",
                s.count
            );
            let _ = writeln!(
                o,
                "medbench_http_request_duration_seconds_sum{{{l}}} {}",
                s.sum
            );
            let _ = writeln!(
                o,
                "medbench_http_request_duration_seconds_count{{{l}}} {}",
                s.count
            );
        }
        o.push_str(
            "# HELP medbench_rate_limited_total Requests refused by the per-token rate limit.\n",
        );
        o.push_str("# TYPE medbench_rate_limited_total counter\n");
        let _ = writeln!(
            o,
            "medbench_rate_limited_total {}",
            self.rate_limited.lock().expect("metrics lock")
        );
        o.push_str(extra);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_refuses() {
        let r = RateLimiter::new(3);
        assert!(r.take("a").is_ok());
        assert!(r.take("a").is_ok());
        assert!(r.take("a").is_ok());
        let wait = r.take("a").unwrap_err();
        assert!(wait > Duration::from_secs(10), "{wait:?}");
        assert!(r.take("b").is_ok(), "buckets are per caller");
        assert!(RateLimiter::new(0).take("a").is_ok());
    }

    #[test]
    fn metrics_render_counters_and_histograms() {
        let m = Metrics::default();
        m.observe("GET", "/api/v1/leaderboard", 200, 0.003);
        m.observe("GET", "/api/v1/leaderboard", 200, 0.2);
        let t = m.render("");
        assert!(t.contains("medbench_http_requests_total{method=\"GET\",route=\"/api/v1/leaderboard\",status=\"200\"} 2"));
        assert!(t.contains("le=\"0.005\"} 1"));
        assert!(t.contains("le=\"+Inf\"} 2"));
    }
}
