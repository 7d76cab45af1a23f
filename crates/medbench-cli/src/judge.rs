//! `medbench judge`, the `--judge-*` flags of `eval`, and the judge's progress bar.

use anyhow::{Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use medbench_eval::{JudgeSpec, ModelSpec, build_judge};
use medbench_judge::{Judge, JudgeProgress};
use std::path::PathBuf;
use std::time::Duration;

/// Flags naming one LLM judge (or a TOML file of several).
#[derive(Args, Clone, Default, Debug)]
pub struct JudgeArgs {
    /// Judge open-ended answers with this model (rubrics, key points, or a 1–5 scale)
    /// instead of scoring them with ROUGE-L.
    #[arg(long)]
    pub judge_model: Option<String>,
    /// The judge's OpenAI-compatible (or Anthropic) base URL.
    #[arg(long)]
    pub judge_base_url: Option<String>,
    /// openai (default) or anthropic.
    #[arg(long)]
    pub judge_provider: Option<String>,
    /// Environment variable that holds the judge's API key.
    #[arg(long)]
    pub judge_api_key_env: Option<String>,
    /// The name judgements are stored and calibrated under (default: the judge model).
    #[arg(long)]
    pub judge_name: Option<String>,
    /// Judge requests in flight at once (default 8), apart from the model's own.
    #[arg(long)]
    pub judge_concurrency: Option<usize>,
    /// Judge requests per minute.
    #[arg(long)]
    pub judge_rpm: Option<u32>,
    /// Judge tokens per minute.
    #[arg(long)]
    pub judge_tpm: Option<u32>,
    /// Maximum tokens of a verdict (default 1024).
    #[arg(long)]
    pub judge_max_tokens: Option<u32>,
    /// US dollars per million judge input tokens (for --dry-run estimates and reports).
    #[arg(long)]
    pub judge_price_input: Option<f64>,
    /// US dollars per million judge output tokens.
    #[arg(long)]
    pub judge_price_output: Option<f64>,
    /// A TOML file with [[judge]] sections (several judges, one per task group).
    #[arg(long, conflicts_with = "judge_model")]
    pub judge_config: Option<PathBuf>,
}

impl JudgeArgs {
    /// The judge specs these flags name (none when no judge is asked for).
    pub fn specs(&self) -> Result<Vec<JudgeSpec>> {
        if let Some(path) = &self.judge_config {
            return JudgeSpec::load_all(path);
        }
        let Some(name) = &self.judge_model else {
            if self.judge_base_url.is_some() {
                bail!("--judge-base-url needs --judge-model");
            }
            return Ok(vec![]);
        };
        let mut m = ModelSpec::named(name);
        m.provider = match self.judge_provider.as_deref() {
            None | Some("openai") => medbench_eval::ProviderKind::Openai,
            Some("anthropic") => medbench_eval::ProviderKind::Anthropic,
            Some(p) => bail!("unknown judge provider `{p}` (expected openai or anthropic)"),
        };
        m.base_url = self.judge_base_url.clone();
        if m.base_url.is_none() {
            bail!("--judge-model needs --judge-base-url (e.g. http://127.0.0.1:8080/v1)");
        }
        m.api_key_env = self.judge_api_key_env.clone();
        m.concurrency = self.judge_concurrency;
        m.rpm = self.judge_rpm;
        m.tpm = self.judge_tpm;
        m.max_tokens = self.judge_max_tokens;
        m.price_input_per_mtok = self.judge_price_input;
        m.price_output_per_mtok = self.judge_price_output;
        Ok(vec![JudgeSpec {
            name: self.judge_name.clone(),
            tasks: vec![],
            model: m,
        }])
    }
}

/// Build judges from specs, refusing two judges under one name.
pub fn build(specs: &[JudgeSpec]) -> Result<Vec<Judge>> {
    let mut out: Vec<Judge> = Vec::new();
    for s in specs {
        let j = build_judge(s)?;
        if out.iter().any(|o| o.name == j.name) {
            bail!(
                "two judges are named `{}`; give each a distinct name (judgements are stored and calibrated by name)",
                j.name
            );
        }
        out.push(j);
    }
    Ok(out)
}

/// A progress bar for judge calls; call it with each progress report.
pub fn bar(prefix: &str) -> (ProgressBar, impl FnMut(JudgeProgress) + use<>) {
    // Hidden until the judge stage starts, so it does not draw over the ask stage's bar.
    let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::hidden());
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {prefix} [{bar:30}] {pos}/{len} judge calls {per_sec} ETA {eta} {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    bar.set_prefix(prefix.to_owned());
    let b = bar.clone();
    let mut shown = false;
    (bar, move |p: JudgeProgress| {
        if !shown {
            b.set_draw_target(ProgressDrawTarget::stderr());
            b.enable_steady_tick(Duration::from_millis(200));
            shown = true;
        }
        b.set_length(p.total);
        b.set_position(p.done);
        b.set_message(format!(
            "cached {} · unparsed {} · refused {} · failed {}",
            p.cached, p.unparsed, p.refusals, p.errors
        ));
    })
}

#[derive(Args)]
pub struct JudgeRunArgs {
    /// The run to judge (id or unique prefix; see `medbench runs`).
    pub run: String,
    #[command(flatten)]
    pub judge: JudgeArgs,
    /// Print how many judge calls would be sent, with estimated tokens and cost; send nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Where to write results.json, results.csv and report.html (default results/RUN_ID).
    #[arg(long)]
    pub out: Option<PathBuf>,
}

pub fn judge(db: &str, a: JudgeRunArgs) -> Result<i32> {
    let specs = a.judge.specs()?;
    if specs.is_empty() {
        bail!("name a judge: --judge-model NAME --judge-base-url URL, or --judge-config FILE");
    }
    let judges = build(&specs)?;
    let bank = medbench_store::SqliteBank::open(db)?;
    let run = medbench_eval::find_run(&bank, &a.run)?;
    drop(bank);
    let round_run = medbench_store::SqliteBank::open(db)?
        .run_round(&run.id)?
        .is_some();
    if a.dry_run {
        let e = medbench_judge::estimate(db, &run.id, &judges)?;
        println!("run {}: {} answers to judge", run.id, e.items);
        for (who, n) in &e.by_judge {
            println!("  {who}: {n} calls");
        }
        println!(
            "{} judge calls: {} already judged and stored, {} answered from the judge cache, {} to send",
            e.calls,
            e.stored,
            e.cached,
            e.calls - e.stored - e.cached
        );
        println!(
            "estimated tokens to send: {} in, {} out (input counted as characters / 4; output as a typical verdict)",
            e.prompt_tokens, e.completion_tokens
        );
        match e.cost_usd {
            Some(c) => println!("estimated cost: ${c:.4}"),
            None => println!(
                "estimated cost: unknown (set --judge-price-input and --judge-price-output)"
            ),
        }
        return Ok(0);
    }
    let (bar, mut tick) = bar(&run.id);
    if round_run {
        // A round's answers belong to its instances: rescored by the round's rules.
        let s = medbench_round::rejudge_round_run(db, &run.id, &judges, &mut tick)?;
        bar.finish_and_clear();
        let out = a
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from("results").join(&run.id));
        medbench_eval::write_outputs(&out, &s.results)?;
        crate::eval::print_summary(&s.results);
        return Ok(report_judging(&s.results, &out));
    }
    let (results, out) = medbench_eval::rejudge(db, &run.id, &judges, a.out.as_deref(), &mut tick)?;
    bar.finish_and_clear();
    crate::eval::print_summary(&results);
    Ok(report_judging(&results, &out))
}

/// Print one line per judge of `r` (nothing without judges); 3 when judge calls failed,
/// with `retry` saying how to send only those again.
pub fn print_judges(r: &medbench_report::Results, retry: &str) -> i32 {
    let mut code = 0;
    if let Some(j) = &r.judging {
        for i in &j.judges {
            println!(
                "judge {} ({}, {}@{}): {} items, {} calls ({} from cache), {} unparsed, {} refused, {} failed, {} + {} tokens{}",
                i.name,
                i.model,
                i.kind,
                i.version,
                i.items,
                i.calls,
                i.cached,
                i.unparsed,
                i.refusals,
                i.errors,
                i.prompt_tokens,
                i.completion_tokens,
                i.cost_usd.map(|c| format!(", ${c:.4}")).unwrap_or_default()
            );
            if i.errors > 0 {
                code = 3;
            }
        }
        if code == 3 {
            eprintln!(
                "warning: some judge calls failed; their items are listed as errors. {retry}"
            );
        }
    }
    code
}

/// Print what the judges did; exit status 3 when judge calls failed.
pub fn report_judging(r: &medbench_report::Results, out: &std::path::Path) -> i32 {
    let code = print_judges(r, "Run `medbench judge` again to retry only them.");
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    println!("written to {}/", out.display());
    code
}
