//! # medbench-eval
//!
//! Evaluate a model on the bank, one persisted stage after another:
//! select items → open (or resume) the run → render requests → ask (cache,
//! retries, rate limits) → score → aggregate with bootstrap intervals →
//! `results.json`, `results.csv` and `report.html`.
//!
//! The run id is a hash of everything that decides the answers (model,
//! endpoint, sampling, seed, templates, selected item versions), so the same
//! command resumes a killed run and asks only what had not been answered.

pub mod answer;
pub mod calibrated;
pub mod compare;
pub mod failures;
pub mod pipeline;
pub mod render;
pub mod scoring;
pub mod spec;

pub use answer::Answerer;
pub use answer::build_judge;
pub use medbench_judge;
pub use pipeline::{AskProgress, now};
pub use spec::{BlindItems, EvalConfig, JudgeSpec, ModelSpec, ProviderKind, Selection};

use anyhow::{Context, Result, bail};
use medbench_core::item::sha256_hex;
use medbench_judge::{Judge, JudgeKind, JudgeProgress};
use medbench_report::{CalibrationInfo, Judging, Results};
use medbench_store::{Bank, SqliteBank};
use pipeline::AskContext;
use render::Renderer;
use serde_json::json;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Run-wide settings.
#[derive(Debug, Clone, Default)]
pub struct EvalOptions {
    pub selection: Selection,
    pub seed: u64,
    /// Ask even when the response cache has an answer.
    pub no_cache: bool,
    pub system_prompt: Option<String>,
    /// Worked examples (from the same task) before each question.
    pub few_shot: usize,
    /// A folder of `prompt.<lang>.j2` templates overriding the built-in ones.
    pub templates: Option<PathBuf>,
    /// Where to write results.json, results.csv and report.html.
    pub out: Option<PathBuf>,
    /// LLM judges for open-ended answers; none means ROUGE-L stands in.
    pub judges: Vec<Judge>,
}

/// What an evaluation did.
pub struct EvalOutcome {
    pub run_id: String,
    /// True when an existing run with the same id was continued.
    pub resumed: bool,
    /// Items answered before this invocation (kept, not asked again).
    pub already_answered: usize,
    pub asked: AskProgress,
    pub results: Results,
    /// The folder the files were written to.
    pub out_dir: PathBuf,
}

/// The selected items: approved, matching the selection (blind ones as it says);
/// with `limit`, a seeded sample of at most that many per task.
pub fn select(bank: &SqliteBank, sel: &Selection, seed: u64) -> Result<Vec<(String, u32, String)>> {
    let filter = sel.filter()?;
    let mut by_task: BTreeMap<String, Vec<(String, u32)>> = BTreeMap::new();
    let mut offset = 0;
    loop {
        let page = bank.list(&filter, 10_000, offset)?;
        if page.is_empty() {
            break;
        }
        offset += page.len();
        for s in page {
            by_task.entry(s.task).or_default().push((s.id, s.version));
        }
    }
    let mut out = Vec::new();
    for (task, mut ids) in by_task {
        if let Some(n) = sel.limit {
            ids.sort_by_cached_key(|(id, _)| sha256_hex(format!("{seed}\u{1f}{id}").as_bytes()));
            ids.truncate(n);
        }
        out.extend(ids.into_iter().map(|(id, v)| (id, v, task.clone())));
    }
    out.sort();
    Ok(out)
}

/// The name that identifies an endpoint in cache keys and manifests.
pub fn endpoint_name(m: &ModelSpec) -> String {
    match m.provider {
        ProviderKind::Openai | ProviderKind::Anthropic => {
            // PDFs sent as files instead of page images change what the model sees, so the
            // mode is part of the name (and of run ids and cache keys); the default adds nothing.
            let pdf = match m.pdf {
                Some(medbench_provider::PdfMode::File) => " pdf=file",
                _ => "",
            };
            format!(
                "{}:{}{pdf}",
                serde_json::to_value(m.provider)
                    .unwrap()
                    .as_str()
                    .unwrap_or(""),
                m.base_url.as_deref().unwrap_or("")
            )
        }
        ProviderKind::Random => "random".into(),
        ProviderKind::Predictions => format!(
            "predictions:{}",
            m.predictions
                .as_deref()
                .map(Path::display)
                .map(|d| d.to_string())
                .unwrap_or_default()
        ),
    }
}

/// Evaluate one model. `progress` is called as responses are stored.
pub fn evaluate(
    db: &str,
    model: &ModelSpec,
    opts: &EvalOptions,
    progress: &mut dyn FnMut(AskProgress),
) -> Result<EvalOutcome> {
    evaluate_with(db, model, opts, progress, &mut |_| {})
}

/// [`evaluate`], also reporting the judge stage's progress.
pub fn evaluate_with(
    db: &str,
    model: &ModelSpec,
    opts: &EvalOptions,
    progress: &mut dyn FnMut(AskProgress),
    judge_progress: &mut dyn FnMut(JudgeProgress),
) -> Result<EvalOutcome> {
    if db == ":memory:" {
        bail!("evaluation needs a bank in a file (it is read and written from several threads)");
    }
    let clock = std::time::Instant::now();
    let lap = |stage: &str| {
        tracing::info!(
            stage,
            secs = clock.elapsed().as_secs_f64(),
            "eval stage done"
        )
    };
    let mut bank = SqliteBank::open(db).with_context(|| format!("cannot open the bank at {db}"))?;
    let selection = select(&bank, &opts.selection, opts.seed)?;
    lap("select");
    if selection.is_empty() {
        bail!(
            "no approved items match this selection in {db} (try `medbench items stats`, or `medbench import --demo`)"
        );
    }
    let renderer = Renderer::new(opts.templates.as_deref(), opts.system_prompt.clone())?;
    let answerer = Answerer::from_spec(model, opts.seed)?;
    let endpoint = endpoint_name(model);
    let sampling = model.sampling(opts.seed);
    let spec = json!({
        "model": model.name, "endpoint": endpoint, "sampling": sampling, "seed": opts.seed,
        "selection": opts.selection, "system_prompt": opts.system_prompt, "few_shot": opts.few_shot,
        "templates": renderer.versions(),
        "items": sha256_hex(serde_json::to_string(&selection)?.as_bytes()),
    });
    let run_id = format!("run-{}", &sha256_hex(spec.to_string().as_bytes())[..12]);
    let started = pipeline::now();
    let (run, resumed) = bank.open_run(
        &run_id,
        &model.name,
        &spec.to_string(),
        &started,
        &selection,
    )?;
    let answered: HashSet<String> = bank.answered_items(&run_id)?;
    // An item asked in several option orders stores its answers under `<id>#<k>`, never
    // under its id: it stays on the list, and the reader skips the orders answered.
    let todo: Vec<(String, u32)> = bank
        .run_items(&run_id)?
        .into_iter()
        .filter(|(id, ..)| !answered.contains(id))
        .map(|(id, v, _)| (id, v))
        .collect();
    let ctx = AskContext {
        db,
        run_id: &run_id,
        model: &model.name,
        endpoint: &endpoint,
        sampling,
        renderer: &renderer,
        answerer: &answerer,
        no_cache: opts.no_cache,
        few_shot: opts.few_shot,
        loader: None,
        answered: &answered,
    };
    lap("open run");
    let asked = pipeline::ask(&ctx, &todo, progress)?;
    lap("ask");

    let (scored, judging) = score_stage(db, &mut bank, &run_id, &opts.judges, judge_progress)?;
    lap("score");
    let usage = bank.run_usage(&run_id)?;
    let mut results = scoring::results(&run_id, &scored, usage, opts.seed)?;
    results.judging = judging;
    // Failed items are asked again by every invocation, so this invocation's failures are
    // the run's.
    results.failures = asked.failures.clone();
    lap("aggregate");
    let finished = pipeline::now();
    results.model = medbench_report::ModelInfo {
        name: model.name.clone(),
        provider: serde_json::to_value(model.provider)?
            .as_str()
            .unwrap_or("")
            .to_owned(),
        base_url: model.base_url.clone(),
    };
    results.started_at = run.started_at.clone();
    results.finished_at = Some(finished.clone());
    results.usage.cost_usd = match (model.price_input_per_mtok, model.price_output_per_mtok) {
        (Some(pi), Some(po)) => Some(
            (results.usage.prompt_tokens as f64 * pi + results.usage.completion_tokens as f64 * po)
                / 1e6,
        ),
        _ => None,
    };
    let task_versions: HashMap<&str, u32> = scored
        .iter()
        .map(|s| (s.item.task.as_str(), s.item.task_version))
        .collect();
    let mut safe_model = serde_json::to_value(model)?;
    if let Some(m) = safe_model.as_object_mut() {
        m.retain(|_, v| !v.is_null());
    }
    results.manifest = json!({
        "tool": "medbench",
        "version": env!("CARGO_PKG_VERSION"),
        "git_commit": env!("MEDBENCH_GIT_COMMIT"),
        "run_id": run_id,
        "model": safe_model,
        "endpoint": endpoint,
        "sampling": sampling,
        "seed": opts.seed,
        "selection": opts.selection,
        "items": selection.len(),
        "tasks": task_versions.into_iter().collect::<BTreeMap<_, _>>(),
        "templates": renderer.versions(),
        "system_prompt": opts.system_prompt,
        "few_shot": opts.few_shot,
        "scorer_version": medbench_score::SCORER_VERSION,
        "judges": judges_manifest(&opts.judges),
        "bootstrap_resamples": scoring::RESAMPLES,
        "started_at": run.started_at,
        "finished_at": finished,
        "usage": results.usage,
        "cache_hits": usage.cache_hits,
        "attempts": usage.attempts,
    });
    let results_json = medbench_report::to_json(&results);
    bank.finish_run(
        &run_id,
        &finished,
        &results.manifest.to_string(),
        &results_json,
    )?;
    let out_dir = opts
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("results").join(&run_id));
    write_outputs(&out_dir, &results)?;
    lap("write");
    Ok(EvalOutcome {
        run_id,
        resumed,
        already_answered: answered.len(),
        asked,
        results,
        out_dir,
    })
}

/// Score a run from its stored responses and store the scores: rules for every item,
/// then, when judges are given, the judge stage for open-ended answers (sending only
/// the judge calls not yet stored) whose verdicts replace the stand-in ROUGE-L scores.
pub fn score_stage(
    db: &str,
    bank: &mut SqliteBank,
    run_id: &str,
    judges: &[Judge],
    judge_progress: &mut dyn FnMut(JudgeProgress),
) -> Result<(Vec<scoring::Scored>, Option<Judging>)> {
    let mut scored = scoring::score_run(bank, run_id)?;
    let mut judging = None;
    if !judges.is_empty() {
        medbench_judge::judge_run(db, run_id, judges, judge_progress)?;
        let judged = medbench_judge::item_scores(bank, run_id, judges)?;
        for s in &mut scored {
            if let Some(j) = judged.get(&s.row.item_id) {
                s.row.value = j.value;
                s.row.outcome = j.outcome.clone();
                s.row.parsed = None;
                s.row.detail = Some(j.detail.clone());
                s.row.scorer = j.scorer.clone();
            }
        }
        judging = Some(Judging {
            judges: medbench_judge::summary(bank, run_id, judges)?,
            calibration: CalibrationInfo {
                note: "not applied: scores are the judge's own".into(),
                ..Default::default()
            },
        });
    }
    bank.put_scores(
        run_id,
        &scored.iter().map(|s| s.row.clone()).collect::<Vec<_>>(),
    )?;
    Ok((scored, judging))
}

/// What the manifest records of the judges: everything that decides their verdicts.
pub fn judges_manifest(judges: &[Judge]) -> serde_json::Value {
    judges
        .iter()
        .map(|j| {
            let kinds = [JudgeKind::Rubric, JudgeKind::KeyPoints, JudgeKind::Scale];
            let versions: BTreeMap<String, String> = kinds
                .iter()
                .map(|k| (k.to_string(), j.version(*k)))
                .collect();
            let prompts: BTreeMap<String, String> = kinds
                .iter()
                .map(|k| (k.to_string(), medbench_judge::prompt::prompt_version(*k)))
                .collect();
            json!({
                "name": j.name, "model": j.model, "endpoint": j.endpoint, "tasks": j.tasks,
                "sampling": j.sampling, "versions": versions, "prompt_versions": prompts,
            })
        })
        .collect()
}

/// Judge (or re-judge) a stored run with `judges` and rewrite its results: stored
/// judgements of these judge versions are reused, anything missing is asked, and
/// the run's results, manifest and output files are replaced.
pub fn rejudge(
    db: &str,
    run: &str,
    judges: &[Judge],
    out: Option<&Path>,
    judge_progress: &mut dyn FnMut(JudgeProgress),
) -> Result<(Results, PathBuf)> {
    let mut bank = SqliteBank::open(db).with_context(|| format!("cannot open the bank at {db}"))?;
    let row = find_run(&bank, run)?;
    let old = stored_results(&bank, &row.id)?;
    let (scored, judging) = score_stage(db, &mut bank, &row.id, judges, judge_progress)?;
    let mut results = rescored(&bank, &row.id, &scored, old)?;
    results.judging = judging;
    if let Some(m) = results.manifest.as_object_mut() {
        m.insert("judges".into(), judges_manifest(judges));
        m.insert("judged_at".into(), json!(pipeline::now()));
    }
    bank.finish_run(
        &row.id,
        results.finished_at.clone().unwrap_or_default().as_str(),
        &results.manifest.to_string(),
        &medbench_report::to_json(&results),
    )?;
    let out_dir = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("results").join(&row.id));
    write_outputs(&out_dir, &results)?;
    Ok((results, out_dir))
}

/// Results aggregated afresh from `scored`, keeping what the stored results `old`
/// knew that scoring does not: model, times, cost and manifest.
pub fn rescored(
    bank: &SqliteBank,
    run_id: &str,
    scored: &[scoring::Scored],
    old: Results,
) -> Result<Results> {
    let usage = bank.run_usage(run_id)?;
    let seed = old
        .manifest
        .get("seed")
        .and_then(|v| v.as_u64())
        .unwrap_or(0);
    let mut r = scoring::results(run_id, scored, usage, seed)?;
    r.model = old.model;
    r.started_at = old.started_at;
    r.finished_at = old.finished_at;
    r.usage.cost_usd = old.usage.cost_usd;
    r.manifest = old.manifest;
    r.judging = old.judging;
    r.failures = old.failures;
    Ok(r)
}

/// Write results.json, results.csv and report.html into `dir`.
pub fn write_outputs(dir: &Path, results: &Results) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let w = |name: &str, text: String| -> Result<()> {
        let p = dir.join(name);
        std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))
    };
    w("results.json", medbench_report::to_json(results))?;
    w("results.csv", medbench_report::to_csv(results))?;
    w("report.html", medbench_report::to_html(results))?;
    Ok(())
}

/// Find a stored run by id or unique prefix.
pub fn find_run(bank: &SqliteBank, id: &str) -> Result<medbench_store::RunRow> {
    let mut runs = bank.find_runs(id)?;
    match runs.len() {
        0 => bail!("no run `{id}` in {}", bank.location()),
        1 => Ok(runs.remove(0)),
        n => bail!("`{id}` matches {n} runs; give more of the id"),
    }
}

/// The stored results of a finished run.
pub fn stored_results(bank: &SqliteBank, id: &str) -> Result<Results> {
    let run = find_run(bank, id)?;
    let text = run.results.with_context(|| {
        format!(
            "run {} has no results yet (it did not finish; run the same eval again)",
            run.id
        )
    })?;
    Ok(medbench_report::from_json(&text)?)
}
