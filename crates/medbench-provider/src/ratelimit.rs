//! Per-endpoint request and token rate limits, and the shared pause after a `Retry-After`.

use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// A token bucket that may run into debt: a take waits until the level covers
/// `min(amount, capacity)`, then subtracts the whole amount. Large takes therefore never
/// deadlock, and the long-run rate is exact.
#[derive(Debug)]
struct Bucket {
    level: f64,
    capacity: f64,
    per_sec: f64,
    updated: Instant,
}

impl Bucket {
    /// A bucket refilling `per_minute` units a minute, holding one second's worth (at least 1),
    /// so traffic is spread over the minute instead of bursting at its start.
    fn per_minute(per_minute: u32, now: Instant) -> Self {
        let per_sec = f64::from(per_minute.max(1)) / 60.0;
        let capacity = per_sec.max(1.0);
        Bucket {
            level: capacity,
            capacity,
            per_sec,
            updated: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let dt = now.saturating_duration_since(self.updated).as_secs_f64();
        self.level = (self.level + dt * self.per_sec).min(self.capacity);
        self.updated = now;
    }

    /// How long until `amount` may be taken (zero when it may be taken now).
    fn wait_for(&self, amount: f64) -> Duration {
        let need = amount.min(self.capacity) - self.level;
        if need <= 0.0 {
            Duration::ZERO
        } else {
            Duration::from_secs_f64(need / self.per_sec)
        }
    }
}

#[derive(Debug)]
struct State {
    requests: Option<Bucket>,
    tokens: Option<Bucket>,
    paused_until: Option<Instant>,
}

/// Request and token limits for one endpoint, shared by every request sent to it.
///
/// Waiters are served first come, first served. After a 429/503 with `Retry-After`,
/// [`RateLimiter::pause_for`] holds back every request to the endpoint, not only the one that
/// was told to wait.
#[derive(Debug)]
pub struct RateLimiter {
    state: Mutex<State>,
    queue: tokio::sync::Mutex<()>,
}

impl RateLimiter {
    /// Limits of `requests_per_minute` requests and `tokens_per_minute` tokens (`None`: no limit).
    pub fn new(requests_per_minute: Option<u32>, tokens_per_minute: Option<u32>) -> Self {
        let now = Instant::now();
        RateLimiter {
            state: Mutex::new(State {
                requests: requests_per_minute.map(|r| Bucket::per_minute(r, now)),
                tokens: tokens_per_minute.map(|t| Bucket::per_minute(t, now)),
                paused_until: None,
            }),
            queue: tokio::sync::Mutex::new(()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // The state stays consistent even if a holder panicked, so poisoning is ignored.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Waits until one request carrying an estimated `tokens` may be sent, and charges it.
    pub async fn acquire(&self, tokens: u64) {
        let _turn = self.queue.lock().await;
        loop {
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                let mut wait = s
                    .paused_until
                    .map_or(Duration::ZERO, |t| t.saturating_duration_since(now));
                if let Some(b) = s.requests.as_mut() {
                    b.refill(now);
                    wait = wait.max(b.wait_for(1.0));
                }
                if let Some(b) = s.tokens.as_mut() {
                    b.refill(now);
                    wait = wait.max(b.wait_for(tokens as f64));
                }
                if wait.is_zero() {
                    if let Some(b) = s.requests.as_mut() {
                        b.level -= 1.0;
                    }
                    if let Some(b) = s.tokens.as_mut() {
                        b.level -= tokens as f64;
                    }
                    return;
                }
                wait
            };
            tokio::time::sleep(wait).await;
        }
    }

    /// Corrects the token charge once the server reported real usage: refunds an
    /// over-estimate, charges an under-estimate.
    pub fn settle(&self, estimated: u64, actual: u64) {
        if let Some(b) = self.lock().tokens.as_mut() {
            b.level = (b.level + estimated as f64 - actual as f64).min(b.capacity);
        }
    }

    /// Holds back every request to this endpoint for `d` (extends, never shortens, a pause).
    pub fn pause_for(&self, d: Duration) {
        let until = Instant::now() + d;
        let mut s = self.lock();
        s.paused_until = Some(s.paused_until.map_or(until, |t| t.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_are_spread_over_the_minute() {
        // 2 a second, one second of burst: 0, 0, 0.5, 1.0, 1.5 s.
        let rl = RateLimiter::new(Some(120), None);
        let t0 = Instant::now();
        for _ in 0..5 {
            rl.acquire(0).await;
        }
        let took = t0.elapsed();
        assert!(took >= Duration::from_millis(1490), "{took:?}");
        assert!(took < Duration::from_millis(1600), "{took:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn big_token_takes_run_into_debt_and_refunds_help() {
        let rl = RateLimiter::new(None, Some(600)); // 10 tokens/s, capacity 10
        let t0 = Instant::now();
        rl.acquire(100).await; // immediate (full bucket), level -90
        assert!(t0.elapsed() < Duration::from_millis(10));
        rl.settle(100, 10); // really cost 10: level back to 0
        rl.acquire(10).await; // needs 10 -> 1 s
        let took = t0.elapsed();
        assert!(
            took >= Duration::from_millis(990) && took < Duration::from_millis(1100),
            "{took:?}"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn pause_holds_everyone() {
        let rl = RateLimiter::new(None, None);
        rl.pause_for(Duration::from_secs(3));
        rl.pause_for(Duration::from_secs(1)); // does not shorten
        let t0 = Instant::now();
        rl.acquire(5).await;
        assert!(t0.elapsed() >= Duration::from_secs(3));
    }
}
