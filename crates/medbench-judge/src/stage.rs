//! The judge stage of a run: a reader thread turns stored answers into judge
//! requests (skipping units already judged by this judge version, answering
//! from the judge cache where it can), an async pool per judge sends the rest,
//! and this thread stores verdicts in small transactions — a kill loses only
//! the last few milliseconds, and the next run sends only what is missing.

use crate::plan::{JudgeKind, item_score, kind_for, rubric_version, units};
use crate::prompt::{JudgeRequest, prompt_version, requests};
use crate::verdict::{Verdict, parse};
use crate::{Judge, judge_for, judge_index, now};
use anyhow::{Context, Result};
use medbench_core::Item;
use medbench_provider::{ChatRequest, Provider, estimate_tokens, request_hash};
use medbench_report::JudgeInfo;
use medbench_store::{JudgeCacheEntry, JudgementRow, SqliteBank, StoredAnswer};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::sync::mpsc;
use std::time::Duration;

/// Counts while judging (calls are judge requests, not items).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JudgeProgress {
    pub total: u64,
    pub done: u64,
    pub cached: u64,
    pub unparsed: u64,
    pub refusals: u64,
    pub errors: u64,
}

/// One judge call to make, with what the cache already has.
struct Job {
    judge: usize,
    item_id: String,
    kind: JudgeKind,
    rubric_version: String,
    req: JudgeRequest,
    hash: String,
    strict_hash: String,
    cached: Option<JudgeCacheEntry>,
    cached_strict: Option<JudgeCacheEntry>,
}

/// The answer text a judge reads: the model's tool calls when it made some, else its text.
fn answer_of(a: &StoredAnswer) -> Option<String> {
    if a.error_kind.is_some() {
        return None;
    }
    // An empty answer is unparsed already; there is nothing for a judge to read.
    a.tool_calls
        .clone()
        .or_else(|| a.text.clone())
        .filter(|t| !t.trim().is_empty())
}

/// Visit every judge call a run still needs; count in `stored` (item, calls) the
/// answers whose verdicts are all stored already.
fn produce(
    bank: &SqliteBank,
    run_id: &str,
    judges: &[Judge],
    stored: &mut (HashSet<String>, u64),
    sink: &mut dyn FnMut(Job) -> bool,
) -> Result<()> {
    let done: HashSet<(String, String, String)> = bank
        .judgements(run_id)?
        .into_iter()
        .filter(|j| j.status == "ok") // the rest are asked again: from the cache when it has them
        .map(|j| (j.item_id, j.judge_version, j.unit))
        .collect();
    let mut stop = false;
    bank.for_each_run_item(run_id, &mut |item: Item, answer| {
        if stop {
            return Ok(());
        }
        let (Some(kind), Some(text)) = (kind_for(&item), answer.as_ref().and_then(answer_of))
        else {
            return Ok(());
        };
        let Some(ji) = judge_index(judges, &item.task) else {
            return Ok(());
        };
        let judge = &judges[ji];
        let version = judge.version(kind);
        let reqs = match requests(&item, kind, &text, &judge.model, judge.sampling) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!(item = item.id, "cannot render the judge prompt: {e:#}");
                return Ok(());
            }
        };
        for req in reqs {
            if req
                .units
                .iter()
                .all(|u| done.contains(&(item.id.clone(), version.clone(), u.clone())))
            {
                stored.0.insert(item.id.clone());
                stored.1 += 1;
                continue;
            }
            let hash = request_hash(&judge.endpoint, &req.request);
            let strict_hash = request_hash(&judge.endpoint, &req.strict);
            let job = Job {
                judge: ji,
                item_id: item.id.clone(),
                kind,
                rubric_version: rubric_version(&item, kind),
                cached: bank.judge_cached(&hash)?,
                cached_strict: bank.judge_cached(&strict_hash)?,
                req,
                hash,
                strict_hash,
            };
            if !sink(job) {
                stop = true;
                return Ok(());
            }
        }
        Ok(())
    })?;
    Ok(())
}

/// What a judge stage would send, before anything is sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Estimate {
    /// Answers that get a judgement.
    pub items: u64,
    /// Judge calls behind those answers (rubric: one per criterion).
    pub calls: u64,
    /// Of those, already judged by this judge version and stored (reused, not asked).
    pub stored: u64,
    /// Of the rest, answerable from the judge cache.
    pub cached: u64,
    /// Estimated tokens of the calls that would be sent.
    pub prompt_tokens: u64,
    pub completion_tokens: u64,
    /// Dollars, when every judge involved has prices.
    pub cost_usd: Option<f64>,
    /// Calls per judge name and kind.
    pub by_judge: BTreeMap<String, u64>,
}

/// Output tokens a verdict of this kind usually takes (an explanation and the JSON).
fn expected_output_tokens(kind: JudgeKind, units: usize) -> u64 {
    match kind {
        JudgeKind::Rubric => 80,
        JudgeKind::KeyPoints => 30 + 30 * units as u64,
        JudgeKind::Scale => 120,
    }
}

/// Count the judge calls a run still needs and estimate their tokens and cost.
pub fn estimate(db: &str, run_id: &str, judges: &[Judge]) -> Result<Estimate> {
    let bank = SqliteBank::open(db).with_context(|| format!("cannot open {db}"))?;
    let mut e = Estimate {
        cost_usd: Some(0.0),
        ..Default::default()
    };
    let mut items = HashSet::new();
    let mut stored = (HashSet::new(), 0);
    produce(&bank, run_id, judges, &mut stored, &mut |job| {
        items.insert(job.item_id.clone());
        e.calls += 1;
        let judge = &judges[job.judge];
        *e.by_judge
            .entry(format!("{} ({})", judge.name, job.kind))
            .or_default() += 1;
        if job.cached.is_some() {
            e.cached += 1;
        } else {
            let pt = estimate_tokens(&job.req.request);
            let ct = expected_output_tokens(job.kind, job.req.units.len());
            e.prompt_tokens += pt;
            e.completion_tokens += ct;
            e.cost_usd = match (e.cost_usd, judge.cost(pt, ct)) {
                (Some(a), Some(b)) => Some(a + b),
                _ => None,
            };
        }
        true
    })?;
    items.extend(stored.0);
    e.items = items.len() as u64;
    e.stored = stored.1;
    e.calls += stored.1;
    if e.calls == e.cached + e.stored {
        e.cost_usd = e.cost_usd.or(Some(0.0));
    }
    Ok(e)
}

/// Judge every answer of a run that needs it and store the verdicts.
pub fn judge_run(
    db: &str,
    run_id: &str,
    judges: &[Judge],
    progress: &mut dyn FnMut(JudgeProgress),
) -> Result<JudgeProgress> {
    let mut p = JudgeProgress::default();
    if judges.is_empty() {
        return Ok(p);
    }
    let e = estimate(db, run_id, judges)?;
    p.total = e.calls - e.stored;
    if p.total == 0 {
        return Ok(p);
    }
    progress(p);
    let mut writer = SqliteBank::open(db).with_context(|| format!("cannot open {db}"))?;
    let (jtx, jrx) = tokio::sync::mpsc::channel::<Job>(256);
    let (wtx, wrx) = mpsc::channel::<Outcome>();
    std::thread::scope(|s| -> Result<()> {
        let producer = s.spawn(move || -> Result<()> {
            let bank = SqliteBank::open(db)?;
            produce(
                &bank,
                run_id,
                judges,
                &mut (HashSet::new(), 0),
                &mut |job| jtx.blocking_send(job).is_ok(),
            )
        });
        let dispatcher = s.spawn(move || -> Result<()> {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()?;
            rt.block_on(dispatch(run_id, judges, jrx, wtx));
            Ok(())
        });
        let mut batch: Vec<Outcome> = Vec::new();
        loop {
            let closed = match wrx.recv_timeout(Duration::from_millis(20)) {
                Ok(o) => {
                    batch.push(o);
                    false
                }
                Err(mpsc::RecvTimeoutError::Timeout) => false,
                Err(mpsc::RecvTimeoutError::Disconnected) => true,
            };
            batch.extend(wrx.try_iter());
            if !batch.is_empty() {
                let fresh: Vec<_> = batch.iter().flat_map(|o| o.fresh.clone()).collect();
                let rows: Vec<_> = batch.iter().flat_map(|o| o.rows.clone()).collect();
                writer.put_judgements(&fresh, &rows)?;
                for o in batch.drain(..) {
                    p.done += 1;
                    p.cached += o.rows.first().is_some_and(|r| r.cached) as u64;
                    match o.rows.first().map(|r| r.status.as_str()) {
                        Some("unparsed") => p.unparsed += 1,
                        Some("refusal") => p.refusals += 1,
                        Some("error") => p.errors += 1,
                        _ => {}
                    }
                }
                progress(p);
            }
            if closed {
                break;
            }
        }
        producer.join().expect("the judge reader does not panic")?;
        dispatcher
            .join()
            .expect("the judge dispatcher does not panic")?;
        Ok(())
    })?;
    Ok(p)
}

/// A finished judge call: its unit rows and the fresh cache entries it made.
struct Outcome {
    rows: Vec<JudgementRow>,
    fresh: Vec<JudgeCacheEntry>,
}

async fn dispatch(
    run_id: &str,
    judges: &[Judge],
    mut jobs: tokio::sync::mpsc::Receiver<Job>,
    out: mpsc::Sender<Outcome>,
) {
    let pools: Vec<Arc<tokio::sync::Semaphore>> = judges
        .iter()
        .map(|j| Arc::new(tokio::sync::Semaphore::new(j.concurrency.max(1))))
        .collect();
    let mut running = tokio::task::JoinSet::new();
    while let Some(job) = jobs.recv().await {
        let permit = pools[job.judge]
            .clone()
            .acquire_owned()
            .await
            .expect("the semaphore is never closed");
        let judge = &judges[job.judge];
        let provider = judge.provider.clone();
        let template = JudgementRow {
            run_id: run_id.to_owned(),
            item_id: job.item_id.clone(),
            judge_version: judge.version(job.kind),
            unit: String::new(),
            judge: judge.name.clone(),
            kind: job.kind.as_str().to_owned(),
            judge_model: judge.model.clone(),
            prompt_version: prompt_version(job.kind),
            rubric_version: job.rubric_version.clone(),
            request_hash: job.hash.clone(),
            raw: None,
            value: None,
            status: String::new(),
            detail: None,
            attempts: 0,
            cached: false,
            prompt_tokens: None,
            completion_tokens: None,
            at: String::new(),
        };
        let out = out.clone();
        running.spawn(async move {
            let o = decide(provider, job, template).await;
            let _ = out.send(o);
            drop(permit);
        });
        while running.try_join_next().is_some() {}
    }
    while running.join_next().await.is_some() {}
}

/// One answer from the judge: from the cache, or asked.
struct Said {
    raw: String,
    prompt_tokens: Option<u64>,
    completion_tokens: Option<u64>,
    cached: bool,
}

async fn say(
    provider: &Arc<dyn Provider>,
    req: &ChatRequest,
    cached: Option<JudgeCacheEntry>,
) -> Result<Said, String> {
    if let Some(hit) = cached {
        return Ok(Said {
            raw: hit.raw,
            prompt_tokens: hit.prompt_tokens,
            completion_tokens: hit.completion_tokens,
            cached: true,
        });
    }
    match provider.complete(req).await {
        Ok(r) => Ok(Said {
            raw: r.text,
            prompt_tokens: r.usage.map(|u| u.prompt_tokens),
            completion_tokens: r.usage.map(|u| u.completion_tokens),
            cached: false,
        }),
        Err(e) => Err(format!("{}: {e}", e.kind.as_str())),
    }
}

/// Ask, read the verdict, and retry once with the stricter prompt if it cannot be read.
async fn decide(provider: Arc<dyn Provider>, job: Job, template: JudgementRow) -> Outcome {
    let mut fresh = Vec::new();
    let mut attempts = 1;
    let mut hash = job.hash.clone();
    let mut tokens = (0u64, 0u64);
    let mut remember = |said: &Said, hash: &str, fresh: &mut Vec<_>| {
        tokens.0 += said.prompt_tokens.unwrap_or(0);
        tokens.1 += said.completion_tokens.unwrap_or(0);
        if !said.cached {
            fresh.push(JudgeCacheEntry {
                request_hash: hash.to_owned(),
                raw: said.raw.clone(),
                prompt_tokens: said.prompt_tokens,
                completion_tokens: said.completion_tokens,
                at: now(),
            });
        }
    };
    let (said, verdict) = match say(&provider, &job.req.request, job.cached).await {
        Err(e) => {
            return Outcome {
                rows: rows(
                    &template,
                    &job.req.units,
                    None,
                    "error",
                    Some(e),
                    None,
                    1,
                    false,
                    (0, 0),
                ),
                fresh,
            };
        }
        Ok(first) => {
            remember(&first, &job.hash, &mut fresh);
            match parse(job.kind, &job.req.units, &first.raw) {
                Verdict::Unparsed(_) => {
                    attempts = 2;
                    hash = job.strict_hash.clone();
                    match say(&provider, &job.req.strict, job.cached_strict).await {
                        Err(e) => {
                            let mut t = template.clone();
                            t.request_hash = hash;
                            return Outcome {
                                rows: rows(
                                    &t,
                                    &job.req.units,
                                    Some(first.raw),
                                    "error",
                                    Some(format!("the stricter retry failed: {e}")),
                                    None,
                                    2,
                                    false,
                                    tokens,
                                ),
                                fresh,
                            };
                        }
                        Ok(second) => {
                            remember(&second, &job.strict_hash, &mut fresh);
                            let v = parse(job.kind, &job.req.units, &second.raw);
                            (second, v)
                        }
                    }
                }
                v => (first, v),
            }
        }
    };
    let mut t = template;
    t.request_hash = hash;
    let (status, detail, values) = match verdict {
        Verdict::Values(v, explanation) => ("ok", explanation, Some(v)),
        Verdict::Unparsed(why) => ("unparsed", Some(why), None),
        Verdict::Refusal => ("refusal", Some("the judge declined to grade".into()), None),
    };
    Outcome {
        rows: rows(
            &t,
            &job.req.units,
            Some(said.raw),
            status,
            detail,
            values,
            attempts,
            said.cached,
            tokens,
        ),
        fresh,
    }
}

#[allow(clippy::too_many_arguments)]
fn rows(
    t: &JudgementRow,
    units: &[String],
    raw: Option<String>,
    status: &str,
    detail: Option<String>,
    values: Option<Vec<f64>>,
    attempts: u32,
    cached: bool,
    tokens: (u64, u64),
) -> Vec<JudgementRow> {
    let at = now();
    units
        .iter()
        .enumerate()
        .map(|(i, u)| JudgementRow {
            unit: u.clone(),
            raw: raw.clone(),
            value: values.as_ref().map(|v| v[i]),
            status: status.to_owned(),
            detail: detail.clone(),
            attempts,
            cached,
            // Tokens are counted once per call, on its first unit.
            prompt_tokens: (i == 0 && !cached).then_some(tokens.0),
            completion_tokens: (i == 0 && !cached).then_some(tokens.1),
            at: at.clone(),
            ..t.clone()
        })
        .collect()
}

/// A judged item's score, ready to replace its rule score.
#[derive(Debug, Clone, PartialEq)]
pub struct JudgedItem {
    pub value: f64,
    /// `correct` (1), `wrong` (0), `partial`, `unparsed` (the judge's verdict could not be
    /// read or it refused) or `error` (the judge could not be reached, or not judged yet).
    pub outcome: String,
    pub detail: String,
    pub scorer: String,
}

/// Scores of a run's judged items from the stored judgements of the current judges,
/// by item id. Judgements by other judges or versions are ignored, never mixed in.
pub fn item_scores(
    bank: &SqliteBank,
    run_id: &str,
    judges: &[Judge],
) -> Result<HashMap<String, JudgedItem>> {
    let mut by_item: HashMap<(String, String), Vec<JudgementRow>> = HashMap::new();
    for j in bank.judgements(run_id)? {
        by_item
            .entry((j.item_id.clone(), j.judge_version.clone()))
            .or_default()
            .push(j);
    }
    let mut out = HashMap::new();
    if judges.is_empty() {
        return Ok(out);
    }
    bank.for_each_run_item(run_id, &mut |item, answer| {
        let Some(kind) = kind_for(&item) else {
            return Ok(());
        };
        let Some(judge) = judge_for(judges, &item.task) else {
            return Ok(());
        };
        if answer.as_ref().and_then(answer_of).is_none() {
            return Ok(()); // A failed model call keeps its error from the rule stage.
        }
        let scorer = judge.scorer(kind);
        let rows = by_item
            .remove(&(item.id.clone(), judge.version(kind)))
            .unwrap_or_default();
        let wanted = units(&item, kind);
        let mut values = BTreeMap::new();
        let mut problems = Vec::new();
        let mut worst = "ok";
        for u in &wanted {
            match rows.iter().find(|r| &r.unit == u) {
                None => {
                    problems.push(format!("{u}: not judged"));
                    worst = "error";
                }
                Some(r) if r.status == "ok" => {
                    values.insert(u.clone(), r.value.unwrap_or(0.0));
                }
                Some(r) => {
                    problems.push(format!(
                        "{u}: {} ({})",
                        r.status,
                        r.detail.as_deref().unwrap_or("")
                    ));
                    if r.status == "error" {
                        worst = "error";
                    } else if worst == "ok" {
                        worst = "unparsed";
                    }
                }
            }
        }
        let judged = if worst == "ok" {
            match item_score(&item, kind, &values) {
                Some(v) => JudgedItem {
                    value: v,
                    outcome: if v >= 1.0 {
                        "correct"
                    } else if v <= 0.0 {
                        "wrong"
                    } else {
                        "partial"
                    }
                    .into(),
                    detail: values
                        .iter()
                        .map(|(u, v)| format!("{u}={v}"))
                        .collect::<Vec<_>>()
                        .join(" "),
                    scorer,
                },
                None => JudgedItem {
                    value: 0.0,
                    outcome: "error".into(),
                    detail: "the rubric has no positive points".into(),
                    scorer,
                },
            }
        } else {
            JudgedItem {
                value: 0.0,
                outcome: worst.into(),
                detail: format!("judge: {}", problems.join("; ")),
                scorer,
            }
        };
        out.insert(item.id.clone(), judged);
        Ok(())
    })?;
    Ok(out)
}

/// Per judge and kind: what judging this run took, from its stored judgements of the
/// current judge versions.
pub fn summary(bank: &SqliteBank, run_id: &str, judges: &[Judge]) -> Result<Vec<JudgeInfo>> {
    let mut out: BTreeMap<(String, String), JudgeInfo> = BTreeMap::new();
    let mut calls: HashSet<(String, String, String)> = HashSet::new();
    let mut items: HashSet<(String, String)> = HashSet::new();
    for j in bank.judgements(run_id)? {
        let Some(judge) = judges.iter().find(|x| x.name == j.judge) else {
            continue;
        };
        let Some(kind) = JudgeKind::parse(&j.kind) else {
            continue;
        };
        if judge.version(kind) != j.judge_version {
            continue;
        }
        let info = out
            .entry((j.judge.clone(), j.kind.clone()))
            .or_insert_with(|| JudgeInfo {
                name: judge.name.clone(),
                model: judge.model.clone(),
                kind: j.kind.clone(),
                version: j.judge_version.clone(),
                prompt_version: prompt_version(kind),
                items: 0,
                calls: 0,
                cached: 0,
                unparsed: 0,
                refusals: 0,
                errors: 0,
                prompt_tokens: 0,
                completion_tokens: 0,
                cost_usd: None,
            });
        if items.insert((j.judge_version.clone(), j.item_id.clone())) {
            info.items += 1;
        }
        info.prompt_tokens += j.prompt_tokens.unwrap_or(0);
        info.completion_tokens += j.completion_tokens.unwrap_or(0);
        if calls.insert((
            j.judge_version.clone(),
            j.item_id.clone(),
            j.request_hash.clone(),
        )) {
            info.calls += 1;
            info.cached += j.cached as u64;
            match j.status.as_str() {
                "unparsed" => info.unparsed += 1,
                "refusal" => info.refusals += 1,
                "error" => info.errors += 1,
                _ => {}
            }
        }
    }
    Ok(out
        .into_values()
        .map(|mut i| {
            i.cost_usd = judges
                .iter()
                .find(|j| j.name == i.name)
                .and_then(|j| j.cost(i.prompt_tokens, i.completion_tokens));
            i
        })
        .collect())
}
