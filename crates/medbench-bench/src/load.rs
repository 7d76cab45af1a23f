//! An open-loop HTTP load generator: requests start on a fixed schedule
//! whatever the server does, and each latency is counted from the request's
//! scheduled start, so a stalled server shows up in the percentiles instead of
//! quietly lowering the offered rate (coordinated omission).

use anyhow::{Result, bail};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// What a load run measured.
#[derive(Debug, Clone)]
pub struct LoadReport {
    pub sent: usize,
    /// Non-2xx answers and transport failures.
    pub errors: usize,
    /// The first few error descriptions.
    pub error_samples: Vec<String>,
    pub seconds: f64,
    /// Latency percentiles in milliseconds: p50, p90, p99, max.
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl LoadReport {
    pub fn rate(&self) -> f64 {
        self.sent as f64 / self.seconds
    }
}

impl std::fmt::Display for LoadReport {
    /// One line of counts and latency percentiles, then the first errors, one per line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:>6} req in {:.1} s ({:.0}/s), {} errors · latency ms p50 {:.2} · p90 {:.2} · p99 {:.2} · max {:.2}",
            self.sent,
            self.seconds,
            self.rate(),
            self.errors,
            self.p50,
            self.p90,
            self.p99,
            self.max
        )?;
        for e in &self.error_samples {
            write!(f, "\n  error: {e}")?;
        }
        Ok(())
    }
}

fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// GET `urls` in turn at `rate` requests per second for `seconds`, with `headers`.
pub fn run(
    urls: &[String],
    headers: &[(String, String)],
    rate: f64,
    seconds: f64,
) -> Result<LoadReport> {
    if urls.is_empty() || rate <= 0.0 || seconds <= 0.0 {
        bail!("load needs at least one URL, a positive rate and a positive duration");
    }
    medbench_provider::install_tls_provider();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .pool_max_idle_per_host(256)
            .timeout(Duration::from_secs(10))
            .build()?;
        let mut h = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            h.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes())?,
                reqwest::header::HeaderValue::from_str(v)?,
            );
        }
        let h = Arc::new(h);
        let total = (rate * seconds).round() as usize;
        let interval = Duration::from_secs_f64(1.0 / rate);
        let start = Instant::now() + Duration::from_millis(50);
        let mut tasks = tokio::task::JoinSet::new();
        for i in 0..total {
            let at = start + interval.mul_f64(i as f64);
            tokio::time::sleep_until(at.into()).await;
            let (client, h, url) = (client.clone(), h.clone(), urls[i % urls.len()].clone());
            tasks.spawn(async move {
                let r = client.get(&url).headers((*h).clone()).send().await;
                let outcome = match r {
                    Ok(resp) if resp.status().is_success() => {
                        resp.bytes().await.map(|_| ()).map_err(|e| e.to_string())
                    }
                    Ok(resp) => Err(format!("{url}: HTTP {}", resp.status())),
                    Err(e) => Err(format!("{url}: {e}")),
                };
                (at.elapsed().as_secs_f64() * 1000.0, outcome)
            });
        }
        let mut lat = Vec::with_capacity(total);
        let mut errors = 0;
        let mut samples = Vec::new();
        while let Some(r) = tasks.join_next().await {
            let (ms, outcome) = r?;
            lat.push(ms);
            if let Err(e) = outcome {
                errors += 1;
                if samples.len() < 5 {
                    samples.push(e);
                }
            }
        }
        let seconds = start.elapsed().as_secs_f64();
        lat.sort_by(|a, b| a.total_cmp(b));
        Ok(LoadReport {
            sent: total,
            errors,
            error_samples: samples,
            seconds,
            p50: percentile(&lat, 0.50),
            p90: percentile(&lat, 0.90),
            p99: percentile(&lat, 0.99),
            max: lat.last().copied().unwrap_or(f64::NAN),
        })
    })
}
