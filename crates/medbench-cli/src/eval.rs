//! `medbench eval`, `medbench report`, `medbench compare`, `medbench runs`.

use anyhow::{Context, Result, bail};
use clap::Args;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use indicatif::{ProgressBar, ProgressStyle};
use medbench_eval::{EvalConfig, EvalOptions, ModelSpec, ProviderKind, Selection};
use medbench_report::Results;
use medbench_store::SqliteBank;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Args)]
pub struct EvalArgs {
    /// Model name as the endpoint knows it; `random` is the built-in chance baseline.
    #[arg(long, required_unless_present = "config")]
    pub model: Option<String>,
    /// OpenAI-compatible base URL, e.g. http://127.0.0.1:8080/v1 (llama.cpp, vLLM, Ollama, hosted APIs).
    #[arg(long)]
    pub base_url: Option<String>,
    /// openai (default), anthropic, random or predictions.
    #[arg(long)]
    pub provider: Option<String>,
    /// Environment variable that holds the API key.
    #[arg(long)]
    pub api_key_env: Option<String>,
    /// A JSONL file of {"id": ITEM_ID, "answer": TEXT}: evaluate answers produced elsewhere.
    #[arg(long)]
    pub predictions: Option<PathBuf>,
    /// How PDFs reach an OpenAI-compatible endpoint: images (each page rendered to a PNG;
    /// the default) or file (the PDF as a `file` content part, for endpoints that take one).
    #[arg(long, value_parser = ["images", "file"])]
    pub pdf: Option<String>,
    /// A TOML file naming several models and the selection (see docs/evaluation.md).
    #[arg(long, conflicts_with_all = ["model", "base_url", "provider", "api_key_env", "predictions", "pdf"])]
    pub config: Option<PathBuf>,
    /// Tasks to run (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Vec<String>,
    /// Tracks to run: llm, multimodal, agent.
    #[arg(long, value_delimiter = ',')]
    pub track: Vec<String>,
    /// Dimensions to run.
    #[arg(long, value_delimiter = ',')]
    pub dimension: Vec<String>,
    /// Languages to run, e.g. zh,en.
    #[arg(long, value_delimiter = ',')]
    pub language: Vec<String>,
    /// At most N items per task (a seeded sample).
    #[arg(long)]
    pub limit: Option<usize>,
    /// Blind items (no reference answer, as in official v4 downloads): `include` asks
    /// them beside scored ones and reports them as answered, not scored; `exclude`; `only`.
    #[arg(long, default_value = "include")]
    pub blind: medbench_eval::BlindItems,
    /// Requests in flight at once (default 8).
    #[arg(long)]
    pub concurrency: Option<usize>,
    /// Requests per minute allowed to the endpoint.
    #[arg(long)]
    pub rpm: Option<u32>,
    /// Tokens per minute allowed to the endpoint.
    #[arg(long)]
    pub tpm: Option<u32>,
    /// Seed for sampling, item samples, the random baseline and bootstrap intervals.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub temperature: Option<f64>,
    #[arg(long)]
    pub max_tokens: Option<u32>,
    /// Seconds before one attempt times out (default 120).
    #[arg(long)]
    pub timeout: Option<u64>,
    /// Ask the model even when the response cache has the answer.
    #[arg(long)]
    pub no_cache: bool,
    /// A system prompt for every request.
    #[arg(long)]
    pub system_prompt: Option<String>,
    /// Worked examples from the same task before each question.
    #[arg(long, default_value_t = 0)]
    pub few_shot: usize,
    /// A folder with prompt.en.j2 / prompt.zh.j2 overriding the built-in templates.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    /// Where to write results.json, results.csv and report.html (default results/RUN_ID).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Load the built-in demo bank first (items already there are left unchanged).
    #[arg(long)]
    pub demo: bool,
    /// Ask exactly the instances of this round (permuted options, opaque ids); see docs/rounds.md.
    #[arg(long, conflicts_with_all = ["config", "tasks", "track", "dimension", "language", "limit", "few_shot"])]
    pub round: Option<String>,
    #[command(flatten)]
    pub judge: crate::judge::JudgeArgs,
}

fn model_from_args(a: &EvalArgs) -> Result<ModelSpec> {
    let name = a
        .model
        .clone()
        .expect("clap requires --model without --config");
    let mut m = ModelSpec::named(&name);
    if let Some(p) = &a.provider {
        m.provider =
            serde_json::from_value(serde_json::Value::String(p.clone())).map_err(|_| {
                anyhow::anyhow!(
                    "unknown provider `{p}` (expected openai, anthropic, random or predictions)"
                )
            })?;
    } else if a.predictions.is_some() {
        m.provider = ProviderKind::Predictions;
    }
    m.base_url = a.base_url.clone();
    m.api_key_env = a.api_key_env.clone();
    m.predictions = a.predictions.clone();
    m.temperature = a.temperature;
    m.max_tokens = a.max_tokens;
    m.concurrency = a.concurrency;
    m.rpm = a.rpm;
    m.tpm = a.tpm;
    m.timeout_secs = a.timeout;
    m.pdf = a
        .pdf
        .as_deref()
        .map(str::parse)
        .transpose()
        .map_err(|e: String| anyhow::anyhow!("--pdf: {e}"))?;
    m.check()?;
    Ok(m)
}

pub fn eval(db: &str, a: EvalArgs) -> Result<i32> {
    if a.demo {
        let mut bank =
            medbench_store::open(db).with_context(|| format!("cannot open the bank at {db}"))?;
        let r = crate::import::import_demo(bank.as_mut())?;
        eprintln!(
            "demo bank: {} imported, {} unchanged, {} updated",
            r.imported, r.unchanged, r.updated
        );
    }
    let mut opts = EvalOptions {
        selection: Selection {
            tasks: a.tasks.clone(),
            tracks: a.track.clone(),
            dimensions: a.dimension.clone(),
            languages: a.language.clone(),
            limit: a.limit,
            blind: a.blind,
            ..Default::default()
        },
        seed: a.seed,
        no_cache: a.no_cache,
        system_prompt: a.system_prompt.clone(),
        few_shot: a.few_shot,
        templates: a.templates.clone(),
        out: a.out.clone(),
        judges: crate::judge::build(&a.judge.specs()?)?,
    };
    if let Some(round) = &a.round {
        return crate::round::eval_round(db, round, &model_from_args(&a)?, &opts);
    }
    let models = match &a.config {
        Some(path) => {
            let cfg = EvalConfig::load(path)?;
            opts.selection = cfg.run.selection;
            opts.seed = cfg.run.seed.unwrap_or(a.seed);
            opts.out = cfg.run.out.or(opts.out);
            opts.system_prompt = cfg.run.system_prompt.or(opts.system_prompt);
            opts.few_shot = cfg.run.few_shot.unwrap_or(opts.few_shot);
            if !cfg.judges.is_empty() {
                opts.judges = crate::judge::build(&cfg.judges)?;
            }
            cfg.models
        }
        None => vec![model_from_args(&a)?],
    };
    let several = models.len() > 1;
    let mut worst = 0;
    for m in &models {
        let mut o = opts.clone();
        if several && let Some(out) = &opts.out {
            o.out = Some(out.join(sanitize(&m.name)));
        }
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {prefix} [{bar:30}] {pos}/{len} {per_sec} ETA {eta} {msg}",
            )
            .expect("valid template")
            .progress_chars("=> "),
        );
        bar.set_prefix(m.name.clone());
        bar.enable_steady_tick(Duration::from_millis(200));
        let (jbar, mut jtick) = crate::judge::bar(&format!("{} (judge)", m.name));
        let outcome = medbench_eval::evaluate_with(
            db,
            m,
            &o,
            &mut |p| {
                bar.set_length(p.total);
                bar.set_position(p.done);
                bar.set_message(progress_message(&p));
            },
            &mut |p| {
                bar.finish_and_clear();
                jtick(p)
            },
        )
        .with_context(|| format!("evaluating {}", m.name))?;
        bar.finish_and_clear();
        jbar.finish_and_clear();
        if outcome.resumed {
            println!(
                "{}: resumed run {} ({} items already answered, {} asked now)",
                m.name, outcome.run_id, outcome.already_answered, outcome.asked.total
            );
        }
        print_summary(&outcome.results);
        println!(
            "asked {} · from cache {} · failed {} · written to {}/ (results.json, results.csv, report.html)",
            outcome.asked.total - outcome.asked.cached,
            outcome.asked.cached,
            outcome.asked.errors,
            outcome.out_dir.display()
        );
        if outcome.results.judging.is_some()
            && crate::judge::report_judging(&outcome.results, &outcome.out_dir) == 3
        {
            worst = 3;
        }
        print_failures(&outcome.results.failures);
        if outcome.results.items.errors > 0 {
            eprintln!(
                "warning: {} item(s) have no answer because the model call failed; they count as 0. Run the same command again to retry only them.",
                outcome.results.items.errors
            );
            worst = 3;
        }
    }
    Ok(worst)
}

/// `cached 3 · 12 failed (http 404 ×12)`.
fn progress_message(p: &medbench_eval::AskProgress) -> String {
    let mut m = format!("cached {}", p.cached);
    if p.errors > 0 {
        m.push_str(&format!(
            " · {} failed ({})",
            p.errors,
            medbench_eval::failures::summary(&p.failures)
        ));
    }
    m
}

/// Why calls failed, one line per class with its first message, on stderr.
pub fn print_failures(failures: &[medbench_report::FailureClass]) {
    if failures.is_empty() {
        return;
    }
    eprintln!("failed calls, by class:");
    for f in failures {
        eprintln!("  {} ×{}: {}", f.class, f.count, f.first_message);
    }
}

fn sanitize(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn fmt_ci(score: f64, lo: f64, hi: f64) -> String {
    format!("{score:5.1}  [{lo:5.1}, {hi:5.1}]")
}

pub fn print_summary(r: &Results) {
    if r.tasks.is_empty() && !r.answered.is_empty() {
        println!(
            "\n{} · run {} · answered, not scored: no item of this run has a reference answer",
            r.model.name, r.run_id
        );
    } else {
        println!(
            "\n{} · run {} · overall {} (n = {})",
            r.model.name,
            r.run_id,
            fmt_ci(r.overall.score, r.overall.ci_low, r.overall.ci_high),
            r.overall.n
        );
    }
    print_scored(r);
    if !r.answered.is_empty() {
        let mut t = Table::new();
        t.load_preset(UTF8_BORDERS_ONLY);
        t.set_header([
            "answered, not scored (blind)",
            "items",
            "instances",
            "answered",
            "failed",
        ]);
        for (task, a) in &r.answered {
            t.add_row([
                task.clone(),
                a.items.to_string(),
                a.instances.to_string(),
                a.answered.to_string(),
                a.errors.to_string(),
            ]);
        }
        println!("{t}");
        println!(
            "These items are blind (their source hides the answers): nothing above scores them.\nWrite the answers into the official files with: medbench answers export {} --layout medbench-v4 --out DIR",
            r.run_id
        );
    }
}

fn print_scored(r: &Results) {
    if r.tasks.is_empty() {
        return;
    }
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header([
        "track / dimension / task",
        "score [95% CI]",
        "n",
        "correct",
        "partial",
        "wrong",
        "unparsed",
        "errors",
    ]);
    for (track, tr) in &r.tracks {
        t.add_row([
            track.clone(),
            fmt_ci(tr.stat.score, tr.stat.ci_low, tr.stat.ci_high),
            tr.stat.n.to_string(),
        ]);
        for d in &tr.dimensions {
            let dr = &r.dimensions[d];
            t.add_row([
                format!("  {d}"),
                fmt_ci(dr.stat.score, dr.stat.ci_low, dr.stat.ci_high),
                dr.stat.n.to_string(),
            ]);
            for task in &dr.tasks {
                let x = &r.tasks[task];
                // A stand-in for a judged metric is labelled where the score is shown.
                let label = if x.needs_judge {
                    format!("    {task} (needs judge: stand-in)")
                } else {
                    format!("    {task}")
                };
                t.add_row([
                    label,
                    fmt_ci(x.stat.score, x.stat.ci_low, x.stat.ci_high),
                    x.stat.n.to_string(),
                    x.correct.to_string(),
                    x.partial.to_string(),
                    x.wrong.to_string(),
                    x.unparsed.to_string(),
                    x.errors.to_string(),
                ]);
            }
        }
    }
    println!("{t}");
    if r.provisional {
        let names = r.stand_in_tasks().join(", ");
        eprintln!(
            "note: provisional: {} task(s) scored with a stand-in metric ({names}); give a judge (--judge-model …) for the official metric",
            r.stand_in_tasks().len()
        );
    }
}

#[derive(Args)]
pub struct ReportArgs {
    /// Run id (or a unique prefix of it).
    pub run: String,
    /// json, csv or html.
    #[arg(long, default_value = "html")]
    pub format: String,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Map judged scores onto the physicians' scale with the judge's newest calibration
    /// (see `medbench calibrate`); the report says whether and on how many ratings.
    #[arg(long)]
    pub calibrated: bool,
    /// Apply this calibration (id or prefix) instead of the newest.
    #[arg(long)]
    pub calibration: Option<String>,
}

pub fn report(db: &str, a: ReportArgs) -> Result<i32> {
    let bank = SqliteBank::open(db)?;
    let r = if a.calibrated || a.calibration.is_some() {
        let r =
            medbench_eval::calibrated::calibrated_results(&bank, &a.run, a.calibration.as_deref())?;
        if let Some(j) = &r.judging {
            eprintln!("calibration: {}", j.calibration.note);
        }
        r
    } else {
        medbench_eval::stored_results(&bank, &a.run)?
    };
    let text = match a.format.as_str() {
        "json" => medbench_report::to_json(&r),
        "csv" => medbench_report::to_csv(&r),
        "html" => medbench_report::to_html(&r),
        other => bail!("unknown report format `{other}` (expected json, csv or html)"),
    };
    match a.out {
        Some(p) => {
            std::fs::write(&p, text).with_context(|| format!("cannot write {}", p.display()))?;
            eprintln!("wrote {}", p.display());
        }
        None => print!("{text}"),
    }
    Ok(0)
}

#[derive(Args)]
pub struct CompareArgs {
    pub run_a: String,
    pub run_b: String,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    #[arg(long)]
    pub json: bool,
    /// Also write a side-by-side HTML page (both reports' numbers and the paired tests).
    #[arg(long)]
    pub html: Option<PathBuf>,
}

pub fn compare(db: &str, a: CompareArgs) -> Result<i32> {
    let bank = SqliteBank::open(db)?;
    let ra = medbench_eval::find_run(&bank, &a.run_a)?;
    let rb = medbench_eval::find_run(&bank, &a.run_b)?;
    let c = medbench_eval::compare::compare(&bank, &ra.id, &rb.id, a.seed)?;
    if let Some(path) = &a.html {
        let (res_a, res_b) = (
            medbench_eval::stored_results(&bank, &ra.id)?,
            medbench_eval::stored_results(&bank, &rb.id)?,
        );
        let page = medbench_report::compare_html(&res_a, &res_b, &serde_json::to_value(&c)?);
        std::fs::write(path, page).with_context(|| format!("cannot write {}", path.display()))?;
        eprintln!("wrote {}", path.display());
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&c)?);
        return Ok(0);
    }
    println!(
        "A = {} ({})   B = {} ({})   paired on {} items ({} unpaired left out)",
        ra.id, ra.model, rb.id, rb.model, c.all_items.n, c.unpaired
    );
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header([
        "task",
        "n",
        "A",
        "B",
        "A − B [95% CI]",
        "p (bootstrap)",
        "McNemar p",
    ]);
    let mut row = |name: &str, p: &medbench_stats::Paired| {
        t.add_row([
            name.to_owned(),
            p.n.to_string(),
            format!("{:.1}", p.mean_a),
            format!("{:.1}", p.mean_b),
            format!("{:+.1} [{:+.1}, {:+.1}]", p.diff, p.ci.low, p.ci.high),
            format!("{:.4}", p.p_bootstrap),
            p.mcnemar
                .as_ref()
                .map(|m| format!("{:.4} (b={}, c={})", m.p_value, m.b, m.c))
                .unwrap_or_else(|| "-".into()),
        ]);
    };
    for (task, p) in &c.tasks {
        row(task, p);
    }
    row("all items (pooled)", &c.all_items);
    println!("{t}");
    Ok(0)
}

pub fn runs(db: &str) -> Result<i32> {
    let bank = SqliteBank::open(db)?;
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header(["run", "model", "status", "started", "overall"]);
    for r in bank.find_runs("")? {
        let overall = r
            .results
            .as_deref()
            .and_then(|j| medbench_report::from_json(j).ok())
            .map(|x| {
                if x.overall.n == 0 && !x.answered.is_empty() {
                    "answered, not scored (blind)".to_owned()
                } else {
                    fmt_ci(x.overall.score, x.overall.ci_low, x.overall.ci_high)
                }
            })
            .unwrap_or_default();
        t.add_row([r.id, r.model, r.status, r.started_at, overall]);
    }
    println!("{t}");
    Ok(0)
}
