//! Server configuration and the state every handler shares.

use crate::error::AppError;
use crate::ops::{Metrics, RateLimiter};
use crate::seal::Sealer;
use anyhow::Context;
use medbench_eval::medbench_judge::Judge;
use medbench_eval::{JudgeSpec, ModelSpec, ProviderKind, build_judge};
use medbench_report::Results;
use medbench_store::SqliteBank;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

/// How the server runs. Every field has a default; `medbench serve --config FILE`
/// reads them from TOML.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Listen address.
    pub addr: String,
    /// The bank (a SQLite path).
    pub db: String,
    /// Let registered endpoints resolve to loopback, private or link-local addresses.
    pub allow_private_endpoints: bool,
    /// Requests per minute per token (per client address before logging in); 0 turns it off.
    pub rate_limit_per_minute: u32,
    /// Largest request body, in bytes (uploads included).
    pub max_body_bytes: usize,
    /// Largest total of answer files an upload may unpack to, in bytes.
    pub max_unpacked_bytes: u64,
    /// Most entries in an uploaded zip.
    pub max_zip_entries: usize,
    /// Publish platform runs as soon as they are scored (otherwise a curator publishes them).
    pub auto_publish: bool,
    /// Run the live-evaluation worker inside the server.
    pub worker: bool,
    /// Seconds before one call to a registered endpoint times out.
    pub endpoint_timeout_secs: u64,
    /// Requests in flight per live job, at most.
    pub max_job_concurrency: usize,
    /// The LLM judge of open-ended answers in uploads and live jobs; without one,
    /// ROUGE-L stands in for them.
    pub judge: Option<JudgeConfig>,
}

/// The `[judge]` table: one judge endpoint, configured by the operator (so it may be
/// private; it is not checked like the endpoints users register).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeConfig {
    /// The model name sent to the endpoint.
    pub model: String,
    /// Its OpenAI-compatible (or Anthropic) base URL.
    pub base_url: String,
    /// Environment variable holding the judge's API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// `openai` (default) or `anthropic`.
    #[serde(default)]
    pub provider: ProviderKind,
    /// Judge requests in flight at once (default 8).
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// The name verdicts are stored under (default: the model).
    #[serde(default)]
    pub name: Option<String>,
}

impl JudgeConfig {
    /// The judge this table describes; a bad table (an unknown provider, a key variable
    /// that is not set) is an error at start, not at the first upload.
    pub fn build(&self) -> anyhow::Result<Judge> {
        if let Some(var) = &self.api_key_env
            && std::env::var(var).map_or(true, |v| v.trim().is_empty())
        {
            anyhow::bail!(
                "[judge] in the server config: api_key_env = \"{var}\", but {var} is not set in the server's environment"
            );
        }
        let mut m = ModelSpec::named(&self.model);
        m.provider = self.provider;
        m.base_url = Some(self.base_url.clone());
        m.api_key_env = self.api_key_env.clone();
        m.concurrency = self.concurrency;
        build_judge(&JudgeSpec {
            name: self.name.clone(),
            tasks: vec![],
            model: m,
        })
        .context("[judge] in the server config")
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            addr: "127.0.0.1:8080".into(),
            db: "medbench.db".into(),
            allow_private_endpoints: false,
            rate_limit_per_minute: 600,
            max_body_bytes: 64 << 20,
            max_unpacked_bytes: 512 << 20,
            max_zip_entries: 20_000,
            auto_publish: false,
            worker: true,
            endpoint_timeout_secs: 120,
            max_job_concurrency: 16,
            judge: None,
        }
    }
}

impl ServerConfig {
    pub fn load(path: &std::path::Path) -> anyhow::Result<ServerConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }
}

/// A parsed, finished run, kept while its `finished_at` stays the same.
pub(crate) struct CachedRun {
    pub finished_at: String,
    pub results: Arc<Results>,
    pub html: Mutex<Option<axum::body::Bytes>>,
}

/// A round's download: (file name, bytes) per file.
pub(crate) type Export = Arc<Vec<(String, Vec<u8>)>>;

/// Shared by every request and the worker.
pub struct AppState {
    pub config: ServerConfig,
    /// Built from `config.judge`: none, or the one judge of uploads and jobs.
    pub(crate) judges: Vec<Judge>,
    bank: Mutex<SqliteBank>,
    pub(crate) sealer: Sealer,
    pub(crate) metrics: Metrics,
    pub(crate) limiter: RateLimiter,
    pub(crate) runs: Mutex<HashMap<String, Arc<CachedRun>>>,
    /// Round exports by round id: (file name, bytes), built once (exports are deterministic).
    pub(crate) exports: Mutex<HashMap<String, Export>>,
    /// Wakes the worker when a job is queued; `true` asks it to stop.
    pub(crate) wake: Arc<(Mutex<(bool, bool)>, Condvar)>,
    pub(crate) started: std::time::Instant,
    /// Uploads are unpacked under here; removed with the state.
    pub(crate) scratch: tempfile::TempDir,
    touched: Mutex<HashMap<i64, std::time::Instant>>,
}

impl AppState {
    pub fn open(config: ServerConfig) -> anyhow::Result<AppState> {
        if config.db == ":memory:" {
            anyhow::bail!(
                "the server needs a bank in a file (its worker opens its own connection)"
            );
        }
        let mut bank = medbench_store::SqliteBank::open(&config.db)
            .with_context(|| format!("cannot open the bank at {}", config.db))?;
        let sealer = Sealer::for_bank(&mut bank)?;
        let judges = match &config.judge {
            Some(j) => vec![j.build()?],
            None => vec![],
        };
        let scratch = tempfile::Builder::new()
            .prefix("medbench-server-")
            .tempdir()
            .context("cannot create a scratch directory for uploads")?;
        Ok(AppState {
            judges,
            limiter: RateLimiter::new(config.rate_limit_per_minute),
            config,
            bank: Mutex::new(bank),
            sealer,
            metrics: Metrics::default(),
            runs: Mutex::new(HashMap::new()),
            exports: Mutex::new(HashMap::new()),
            wake: Arc::new((Mutex::new((false, false)), Condvar::new())),
            started: std::time::Instant::now(),
            scratch,
            touched: Mutex::new(HashMap::new()),
        })
    }

    /// Run `f` on the bank on a blocking thread.
    pub async fn db<T, E>(
        self: &Arc<Self>,
        f: impl FnOnce(&mut SqliteBank) -> Result<T, E> + Send + 'static,
    ) -> Result<T, AppError>
    where
        T: Send + 'static,
        E: Into<AppError> + Send + 'static,
    {
        let s = self.clone();
        tokio::task::spawn_blocking(move || {
            let mut b = s.bank.lock().unwrap_or_else(|p| p.into_inner());
            f(&mut b).map_err(Into::into)
        })
        .await?
    }

    /// True when a token's `last_used_at` is a minute old or more (and marks it fresh).
    pub(crate) fn touch_due(&self, token_id: i64) -> bool {
        let now = std::time::Instant::now();
        let mut t = self.touched.lock().unwrap_or_else(|p| p.into_inner());
        match t.get(&token_id) {
            Some(at) if now.duration_since(*at) < std::time::Duration::from_secs(60) => false,
            _ => {
                t.insert(token_id, now);
                true
            }
        }
    }

    /// Record that a token was used (blocking).
    pub(crate) fn touch(&self, token_id: i64) {
        let mut b = self.bank.lock().unwrap_or_else(|p| p.into_inner());
        let _ = b.touch_token(token_id, &medbench_eval::now());
    }

    /// Wake the worker: a job was queued.
    pub(crate) fn notify_worker(&self) {
        let (m, c) = &*self.wake;
        m.lock().unwrap_or_else(|p| p.into_inner()).0 = true;
        c.notify_all();
    }

    pub(crate) fn stop_worker(&self) {
        let (m, c) = &*self.wake;
        m.lock().unwrap_or_else(|p| p.into_inner()).1 = true;
        c.notify_all();
    }

    /// A finished run's results, parsed once per version.
    pub(crate) fn cached_run(
        &self,
        id: &str,
        finished_at: &str,
        text: impl FnOnce() -> Option<String>,
    ) -> Option<Arc<CachedRun>> {
        if let Some(c) = self.runs.lock().expect("runs cache").get(id)
            && c.finished_at == finished_at
        {
            return Some(c.clone());
        }
        let results = medbench_report::from_json(&text()?).ok()?;
        let c = Arc::new(CachedRun {
            finished_at: finished_at.to_owned(),
            results: Arc::new(results),
            html: Mutex::new(None),
        });
        self.runs
            .lock()
            .expect("runs cache")
            .insert(id.to_owned(), c.clone());
        Some(c)
    }
}
