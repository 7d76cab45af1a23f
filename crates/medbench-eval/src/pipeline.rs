//! Asking: a reader thread renders requests and answers what it can from the
//! cache, async workers call the endpoint, and this thread writes every
//! response to the bank in small transactions. A worker takes its next job only
//! once its last answer is committed, so a kill loses at most `concurrency` calls,
//! and a restart asks only what is missing.

use crate::answer::Answerer;
use crate::render::{Renderer, stored_form};
use anyhow::{Context, Result};
use medbench_core::Item;
use medbench_provider::{ChatRequest, ErrorKind, Provider, ProviderError, Sampling};
use medbench_store::{Bank, ItemFilter, ResponseRow, SqliteBank, instance_key};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc;

/// Counts while asking.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AskProgress {
    /// Items to ask in this invocation.
    pub total: u64,
    /// Responses stored so far (answers and failures).
    pub done: u64,
    /// Of those, served from the response cache.
    pub cached: u64,
    /// Of those, failures (transport, HTTP status, malformed, empty…).
    pub errors: u64,
    /// Those failures by class, most frequent first, each with its first message.
    pub failures: Vec<medbench_report::FailureClass>,
}

/// Everything the ask stage needs.
pub struct AskContext<'a> {
    pub db: &'a str,
    pub run_id: &'a str,
    pub model: &'a str,
    /// Names the endpoint in cache keys, e.g. `openai:http://127.0.0.1:8080/v1`.
    pub endpoint: &'a str,
    pub sampling: Sampling,
    pub renderer: &'a Renderer,
    pub answerer: &'a Answerer,
    pub no_cache: bool,
    pub few_shot: usize,
    /// Where items come from: `None` reads `(id, version)` from the bank and asks each
    /// of its instances (every variant of an item with official option orders, under
    /// [`instance_key`]); a round passes a loader that returns its instances (permuted
    /// options, opaque ids), each asked once under its own id.
    pub loader: Option<ItemLoader<'a>>,
    /// Instance keys with a stored response: never asked again.
    pub answered: &'a HashSet<String>,
}

/// Loads the item to ask for an `(id, version)` of the todo list.
pub type ItemLoader<'a> = &'a (dyn Fn(&SqliteBank, &str, u32) -> Result<Item> + Sync);

struct Job {
    item_id: String,
    request: ChatRequest,
    hash: String,
    stored: String,
}

pub fn now() -> String {
    humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string()
}

fn row(ctx: &AskContext<'_>, item_id: &str, hash: &str, stored: String) -> ResponseRow {
    ResponseRow {
        run_id: ctx.run_id.to_owned(),
        item_id: item_id.to_owned(),
        request_hash: hash.to_owned(),
        request: stored,
        text: None,
        tool_calls: None,
        error_kind: None,
        error: None,
        prompt_tokens: None,
        completion_tokens: None,
        latency_ms: 0,
        attempts: 0,
        cached: false,
        at: now(),
    }
}

/// Ask every item in `todo` (id, version) and store the responses.
pub fn ask(
    ctx: &AskContext<'_>,
    todo: &[(String, u32)],
    progress: &mut dyn FnMut(AskProgress),
) -> Result<AskProgress> {
    let mut p = AskProgress {
        total: todo.len() as u64,
        ..Default::default()
    };
    let mut writer = SqliteBank::open(ctx.db).with_context(|| format!("cannot open {}", ctx.db))?;
    if !todo.is_empty() {
        ask_all(ctx, todo, &mut writer, &mut p, progress)?;
    }
    // Also when nothing was left to ask: a run killed after its last answer still
    // hands its answers to the cache when it is started again.
    writer.cache_answers(ctx.run_id)?;
    Ok(p)
}

/// The asking itself: the request reader, the dispatcher, this thread as the response
/// writer, and a checkpointer, until every item of `todo` has a stored response.
fn ask_all(
    ctx: &AskContext<'_>,
    todo: &[(String, u32)],
    writer: &mut SqliteBank,
    p: &mut AskProgress,
    progress: &mut dyn FnMut(AskProgress),
) -> Result<()> {
    // Every answer's slot waits for its commit, so commits must stay short: a thread of
    // its own copies the WAL back, instead of the writer stalling on it every 16 MiB.
    writer.no_auto_checkpoint()?;
    let checkpoints = SqliteBank::open(ctx.db)?;
    let (stop_checkpoints, every) = mpsc::channel::<()>();
    let (wtx, wrx) = mpsc::channel::<Answered>();
    let (jtx, jrx) = tokio::sync::mpsc::channel::<Job>(256);
    let remote = match ctx.answerer {
        Answerer::Remote {
            provider,
            concurrency,
        } => Some((provider.clone(), *concurrency)),
        _ => None,
    };
    std::thread::scope(|s| -> Result<()> {
        let checkpointer = s.spawn(move || -> Result<()> {
            while let Err(mpsc::RecvTimeoutError::Timeout) =
                every.recv_timeout(std::time::Duration::from_millis(100))
            {
                checkpoints.checkpoint()?;
            }
            Ok(checkpoints.checkpoint()?)
        });
        let producer_tx = wtx.clone();
        let producer = s.spawn(move || produce(ctx, todo, producer_tx, jtx));
        let dispatcher = remote.map(|(provider, concurrency)| {
            let tx = wtx.clone();
            s.spawn(move || -> Result<()> {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?;
                rt.block_on(dispatch(ctx, jrx, provider, tx, concurrency));
                Ok(())
            })
        });
        drop(wtx);
        // Passed by value: if storing fails, the receiver goes with it, every waiting
        // slot is released with an error, and the reader and dispatcher wind down.
        let written = write_responses(wrx, writer, p, progress);
        drop(stop_checkpoints);
        producer
            .join()
            .expect("the request reader does not panic")?;
        if let Some(d) = dispatcher {
            d.join().expect("the dispatcher does not panic")?;
        }
        checkpointer
            .join()
            .expect("the checkpointer does not panic")?;
        written
    })
}

/// What the writer receives: a response on its way to the bank, with the slot to
/// release once it is stored; or a correction of the number of instances to ask, once
/// the reader has seen how many instances an item has.
// Nearly every message is a row; boxing it would cost an allocation per answer.
#[allow(clippy::large_enum_variant)]
enum Answered {
    Row(ResponseRow, Option<tokio::sync::oneshot::Sender<()>>),
    Expect(i64),
}

/// Store responses as they come, in small transactions, until every sender is gone.
fn write_responses(
    rx: mpsc::Receiver<Answered>,
    writer: &mut SqliteBank,
    p: &mut AskProgress,
    progress: &mut dyn FnMut(AskProgress),
) -> Result<()> {
    let mut rows: Vec<ResponseRow> = Vec::with_capacity(256);
    let mut stored: Vec<tokio::sync::oneshot::Sender<()>> = Vec::with_capacity(256);
    let mut failures = crate::failures::Tally::default();
    // Block for the first response, then take whatever else has queued up meanwhile:
    // under load, answers arrive while a commit runs, so batches form by themselves.
    while let Ok(first) = rx.recv() {
        for msg in std::iter::once(first).chain(rx.try_iter()) {
            let (row, slot) = match msg {
                Answered::Row(row, slot) => (row, slot),
                Answered::Expect(delta) => {
                    p.total = p.total.saturating_add_signed(delta);
                    continue;
                }
            };
            p.done += 1;
            p.cached += row.cached as u64;
            p.errors += row.error_kind.is_some() as u64;
            failures.add(&row);
            rows.push(row);
            stored.extend(slot);
        }
        if rows.is_empty() {
            continue;
        }
        writer.put_responses(&rows)?;
        rows.clear();
        for slot in stored.drain(..) {
            let _ = slot.send(());
        }
        if p.failures.iter().map(|c| c.count).sum::<u64>() != p.errors {
            p.failures = failures.classes();
        }
        progress(p.clone());
    }
    Ok(())
}

/// Render requests; answer offline ones and cache hits at once; queue the rest.
fn produce(
    ctx: &AskContext<'_>,
    todo: &[(String, u32)],
    out: mpsc::Sender<Answered>,
    jobs: tokio::sync::mpsc::Sender<Job>,
) -> Result<()> {
    let bank = SqliteBank::open(ctx.db)?;
    let mut examples: HashMap<String, Vec<Item>> = HashMap::new();
    let load = |(id, version): &(String, u32)| -> Result<Item> {
        match ctx.loader {
            Some(load) => load(&bank, id, *version),
            None => bank
                .get_version(id, *version)?
                .with_context(|| format!("item {id} version {version} is no longer in the bank")),
        }
    };
    // Items are read a chunk at a time in one read transaction: one WAL lock per chunk
    // instead of one per item (about a tenth of the reader's time went to locking).
    for chunk in todo.chunks(READ_CHUNK) {
        let items = bank.reading(|| chunk.iter().map(load).collect::<Result<Vec<_>>>())?;
        if produce_chunk(ctx, &bank, &mut examples, chunk, items, &out, &jobs)?.is_break() {
            break;
        }
    }
    Ok(())
}

/// Items read per read transaction by the request reader.
const READ_CHUNK: usize = 64;

/// Render, answer or queue the items of one chunk; `Break` when the dispatcher has gone.
fn produce_chunk(
    ctx: &AskContext<'_>,
    bank: &SqliteBank,
    examples: &mut HashMap<String, Vec<Item>>,
    chunk: &[(String, u32)],
    items: Vec<Item>,
    out: &mpsc::Sender<Answered>,
    jobs: &tokio::sync::mpsc::Sender<Job>,
) -> Result<std::ops::ControlFlow<()>> {
    for ((id, _), item) in chunk.iter().zip(items) {
        if ctx.few_shot > 0 && !examples.contains_key(&item.task) {
            examples.insert(
                item.task.clone(),
                few_shot_pool(bank, &item.task, ctx.few_shot + 1)?,
            );
        }
        let shots: Vec<Item> = examples
            .get(&item.task)
            .map(|v| {
                v.iter()
                    .filter(|e| e.id != item.id)
                    .take(ctx.few_shot)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        let instances: Vec<(String, Item)> = if ctx.loader.is_some() {
            vec![(id.clone(), item)]
        } else {
            (0..item.instance_count())
                .map(|k| (instance_key(&item.id, item.variants.len(), k), k))
                .filter(|(key, _)| !ctx.answered.contains(key))
                .map(|(key, k)| {
                    let mut asked = item.instance(k);
                    asked.id.clone_from(&key);
                    (key, asked)
                })
                .collect()
        };
        // The todo list counted this item once.
        if instances.len() != 1 {
            let _ = out.send(Answered::Expect(instances.len() as i64 - 1));
        }
        for (id, item) in instances {
            if produce_one(ctx, bank, &shots, &id, item, out, jobs)?.is_break() {
                return Ok(std::ops::ControlFlow::Break(()));
            }
        }
    }
    Ok(std::ops::ControlFlow::Continue(()))
}

/// Render one instance; answer it at once (offline answerer, cache hit) or queue it.
fn produce_one(
    ctx: &AskContext<'_>,
    bank: &SqliteBank,
    shots: &[Item],
    id: &str,
    item: Item,
    out: &mpsc::Sender<Answered>,
    jobs: &tokio::sync::mpsc::Sender<Job>,
) -> Result<std::ops::ControlFlow<()>> {
    {
        let media = |sha: &str| bank.media(sha).ok().flatten().map(|(_, b)| b);
        let request = match ctx
            .renderer
            .request(&item, shots, &media, ctx.model, ctx.sampling)
        {
            Ok(r) => r,
            Err(e) => {
                let mut r = row(ctx, id, "", String::new());
                r.error_kind = Some("render".into());
                r.error = Some(format!("{e:#}"));
                let _ = out.send(Answered::Row(r, None));
                return Ok(std::ops::ControlFlow::Continue(()));
            }
        };
        let stored = stored_form(&request);
        // The stored form is deterministic and holds everything that decides the answer
        // (model, messages with media hashes, tools, sampling): hash it, not a second encoding.
        let hash =
            medbench_core::item::sha256_hex(format!("{}\n{stored}", ctx.endpoint).as_bytes());
        if let Some(answer) = ctx.answerer.offline(&item) {
            let mut r = row(ctx, id, &hash, stored);
            match answer {
                Ok(text) => r.text = Some(text),
                Err(why) => {
                    r.error_kind = Some("missing_prediction".into());
                    r.error = Some(why);
                }
            }
            let _ = out.send(Answered::Row(r, None));
            return Ok(std::ops::ControlFlow::Continue(()));
        }
        if !ctx.no_cache
            && let Some(hit) = bank.cached_answer(&hash)?
        {
            let mut r = row(ctx, id, &hash, stored);
            r.text = Some(hit.text);
            r.tool_calls = hit.tool_calls;
            r.prompt_tokens = hit.prompt_tokens;
            r.completion_tokens = hit.completion_tokens;
            r.cached = true;
            let _ = out.send(Answered::Row(r, None));
            return Ok(std::ops::ControlFlow::Continue(()));
        }
        if jobs
            .blocking_send(Job {
                item_id: id.to_owned(),
                request,
                hash,
                stored,
            })
            .is_err()
        {
            return Ok(std::ops::ControlFlow::Break(()));
        }
    }
    Ok(std::ops::ControlFlow::Continue(()))
}

/// The first `n` approved, scorable items of a task, as worked examples.
fn few_shot_pool(bank: &SqliteBank, task: &str, n: usize) -> Result<Vec<Item>> {
    let filter = ItemFilter {
        tasks: vec![task.to_owned()],
        review: vec![medbench_core::ReviewStatus::Approved],
        blind: Some(false),
        ..Default::default()
    };
    let mut out = Vec::new();
    for s in bank.list(&filter, n, 0)? {
        out.extend(bank.get(&s.id)?);
    }
    Ok(out)
}

/// `concurrency` long-lived tasks, each taking the next job when its call is done: the
/// requests in flight never exceed `concurrency`, with no task spawned per request.
async fn dispatch(
    ctx: &AskContext<'_>,
    jobs: tokio::sync::mpsc::Receiver<Job>,
    provider: Arc<dyn Provider>,
    out: mpsc::Sender<Answered>,
    concurrency: usize,
) {
    let jobs = Arc::new(tokio::sync::Mutex::new(jobs));
    let mut workers = tokio::task::JoinSet::new();
    for _ in 0..concurrency.max(1) {
        let (jobs, provider, out) = (jobs.clone(), provider.clone(), out.clone());
        let blank = row(ctx, "", "", String::new());
        workers.spawn(async move {
            loop {
                let next = jobs.lock().await.recv().await;
                let Some(job) = next else { break };
                let mut r = blank.clone();
                r.item_id = job.item_id;
                r.request_hash = job.hash;
                r.request = job.stored;
                // Converted for the wire (PDF pages rendered) once, not on every retry; the
                // hash and stored form above are of the request as built.
                match prepare(&provider, job.request).await {
                    Ok(request) => call(provider.as_ref(), &request, &mut r).await,
                    Err(e) => failed(&mut r, &e),
                }
                // The slot is free again only once the answer is stored, so a kill can
                // lose at most `concurrency` calls: those in flight or not yet committed.
                let (slot, freed) = tokio::sync::oneshot::channel();
                if out.send(Answered::Row(r, Some(slot))).is_err() || freed.await.is_err() {
                    break;
                }
            }
        });
    }
    while workers.join_next().await.is_some() {}
}

/// Ask once (the provider retries inside) and record the answer or the failure in `r`.
async fn call(provider: &dyn Provider, request: &ChatRequest, r: &mut ResponseRow) {
    match provider.complete(request).await {
        Ok(resp) => {
            r.text = Some(resp.text);
            if !resp.tool_calls.is_empty() {
                let calls: Vec<_> = resp
                    .tool_calls
                    .iter()
                    .map(|c| serde_json::json!({"name": c.name, "arguments": c.arguments}))
                    .collect();
                r.tool_calls = Some(serde_json::Value::Array(calls).to_string());
            }
            r.prompt_tokens = resp.usage.map(|u| u.prompt_tokens);
            r.completion_tokens = resp.usage.map(|u| u.completion_tokens);
            r.latency_ms = resp.latency_ms;
            r.attempts = resp.attempts;
        }
        Err(e) => failed(r, &e),
    }
    r.at = now();
}

/// Record a failure in `r`.
fn failed(r: &mut ResponseRow, e: &ProviderError) {
    r.error_kind = Some(e.kind.as_str().to_owned());
    r.error = Some(e.to_string());
    r.attempts = e.attempts;
    r.at = now();
}

/// [`Provider::prepare`], on the blocking pool when the request has media to convert.
async fn prepare(
    provider: &Arc<dyn Provider>,
    request: ChatRequest,
) -> Result<ChatRequest, ProviderError> {
    if !request.has_media() {
        return provider.prepare(request);
    }
    let provider = provider.clone();
    tokio::task::spawn_blocking(move || provider.prepare(request))
        .await
        .unwrap_or_else(|e| {
            Err(ProviderError::new(
                ErrorKind::Render,
                format!("preparing the request failed: {e}"),
            ))
        })
}
