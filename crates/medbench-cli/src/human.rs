//! `medbench human sample`, `medbench ratings import`, `medbench calibrate`.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use medbench_judge::calibrate::{Metric, Report, Row};
use medbench_store::SqliteBank;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum HumanCommand {
    /// Export a blinded, shuffled sample of responses (no model names) for physicians to rate.
    ///
    /// Example: medbench human sample run-1a2b3c run-4d5e6f --n 100 --out sample.jsonl
    #[command(
        after_help = "Writes FILE (one response per line: conversation, response and what to rate) and FILE.ratings.csv,\na sheet with one row per criterion for physicians to fill in and return to `medbench ratings import`."
    )]
    Sample(SampleArgs),
}

#[derive(Args)]
pub struct SampleArgs {
    /// Runs to draw from (ids or unique prefixes); responses of several runs are shuffled together.
    #[arg(required = true)]
    pub runs: Vec<String>,
    /// Responses in the sample.
    #[arg(long)]
    pub n: usize,
    /// The sample file (JSONL).
    #[arg(long)]
    pub out: PathBuf,
    /// Only these tasks (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub tasks: Vec<String>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn human(db: &str, cmd: HumanCommand) -> Result<i32> {
    let HumanCommand::Sample(a) = cmd;
    let mut bank = SqliteBank::open(db)?;
    let mut runs = Vec::new();
    for r in &a.runs {
        runs.push(medbench_eval::find_run(&bank, r)?.id);
    }
    let secret = medbench_round::server_secret(&mut bank)?;
    let rows = medbench_judge::human::sample(&mut bank, &runs, a.n, a.seed, &a.tasks, &secret)?;
    let mut text = String::new();
    for r in &rows {
        text.push_str(&serde_json::to_string(r)?);
        text.push('\n');
    }
    std::fs::write(&a.out, text).with_context(|| format!("cannot write {}", a.out.display()))?;
    let sheet = PathBuf::from(format!("{}.ratings.csv", a.out.display()));
    std::fs::write(&sheet, medbench_judge::human::ratings_template(&rows))
        .with_context(|| format!("cannot write {}", sheet.display()))?;
    println!(
        "{} responses from {} run(s) written to {} (blinded: no model, run or item names)",
        rows.len(),
        runs.len(),
        a.out.display()
    );
    println!(
        "ratings sheet: {} (fill in rater, institution and value; then `medbench ratings import {}`)",
        sheet.display(),
        sheet.display()
    );
    if rows.len() < a.n {
        eprintln!(
            "note: only {} answered open-ended responses were available",
            rows.len()
        );
    }
    Ok(0)
}

#[derive(Subcommand)]
pub enum RatingsCommand {
    /// Load physician ratings (CSV or JSONL: rater, institution, response, criterion, value).
    ///
    /// Example: medbench ratings import sample.jsonl.ratings.csv
    #[command(
        after_help = "`response` is a sample id from `medbench human sample` or RUN_ID:ITEM_ID; `criterion` is a criterion or key point\nnumber, a scale dimension (accuracy, completeness, safety, readability) or overall; `value` is met / not met, or 1–5.\nEvery row is checked first: when any is rejected, nothing is stored and the exit status is 1."
    )]
    Import(RatingsImportArgs),
}

#[derive(Args)]
pub struct RatingsImportArgs {
    pub file: PathBuf,
}

pub fn ratings(db: &str, cmd: RatingsCommand) -> Result<i32> {
    let RatingsCommand::Import(a) = cmd;
    let mut bank = SqliteBank::open(db)?;
    let r = medbench_judge::ratings::import_ratings(&mut bank, &a.file)?;
    if !r.errors.is_empty() {
        for e in r.errors.iter().take(50) {
            eprintln!("{e}");
        }
        if r.errors.len() > 50 {
            eprintln!("… and {} more", r.errors.len() - 50);
        }
        eprintln!(
            "{} row(s) rejected; nothing was stored. Fix them and import the file again.",
            r.errors.len()
        );
        return Ok(1);
    }
    println!(
        "{} ratings stored ({} rater(s), {} response(s))",
        r.rows, r.raters, r.responses
    );
    Ok(0)
}

#[derive(Args)]
pub struct CalibrateArgs {
    /// The judge's name (as given by --judge-name, or its model name).
    #[arg(long)]
    pub judge: String,
    /// Only ratings of this task.
    #[arg(long)]
    pub task: Option<String>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// The judge as configured now (optional): agreement measured on another version is flagged.
    #[command(flatten)]
    pub current: crate::judge::JudgeArgs,
}

fn fmt(m: &Metric) -> String {
    match (m.value, m.ci_low, m.ci_high) {
        (Some(v), Some(lo), Some(hi)) => format!("{v:6.3} [{lo:6.3}, {hi:6.3}]  n={}", m.n),
        (Some(v), _, _) => format!("{v:6.3}  n={}", m.n),
        (None, ..) => format!("   —    n={}", m.n),
    }
}

fn table(title: &str, rows: &[Row]) {
    if rows
        .iter()
        .all(|r| r.judge.n == 0 && r.physicians.as_ref().is_none_or(|p| p.n == 0))
    {
        return;
    }
    println!("\n{title}");
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header([
        "statistic",
        "judge vs physicians [95% CI]",
        "physician vs physician (ceiling)",
    ]);
    for r in rows {
        t.add_row([
            r.metric.clone(),
            fmt(&r.judge),
            r.physicians
                .as_ref()
                .map(fmt)
                .unwrap_or_else(|| "n/a".into()),
        ]);
    }
    println!("{t}");
}

pub fn calibrate(db: &str, a: CalibrateArgs) -> Result<i32> {
    let specs = a.current.specs()?;
    let current = match specs.len() {
        0 => None,
        1 => Some(crate::judge::build(&specs)?.remove(0)),
        _ => bail!("name one judge to compare with (--judge-model …), not a config of several"),
    };
    if let Some(j) = &current
        && j.name != a.judge
    {
        bail!(
            "--judge {} but the configured judge is named {} (use --judge-name {})",
            a.judge,
            j.name,
            a.judge
        );
    }
    let mut bank = SqliteBank::open(db)?;
    let r: Report = medbench_judge::calibrate::calibrate(
        &mut bank,
        &a.judge,
        a.task.as_deref(),
        current.as_ref(),
        a.seed,
    )?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(0);
    }
    println!(
        "calibration {} · judge {} · {} ratings by {} physician(s) on {} judged response(s){}",
        r.id,
        r.judge,
        r.ratings,
        r.raters,
        r.responses,
        r.task
            .as_ref()
            .map(|t| format!(" · task {t}"))
            .unwrap_or_default()
    );
    for (kind, v) in &r.versions {
        println!("  {kind} judgements of version {v}");
    }
    table("Criteria and key points (met / not met)", &r.criteria);
    table("Scale dimensions (1–5)", &r.scales);
    table("Item scores (0–1)", &r.items);
    if !r.by_group.is_empty() {
        println!("\nPer criterion group (judge's \"met\" vs physicians')");
        let mut t = Table::new();
        t.load_preset(UTF8_BORDERS_ONLY);
        t.set_header(["group", "n", "precision", "recall", "F1"]);
        let f = |x: Option<f64>| x.map(|v| format!("{v:.3}")).unwrap_or_else(|| "—".into());
        for g in &r.by_group {
            t.add_row([
                g.group.clone(),
                g.n.to_string(),
                f(g.precision),
                f(g.recall),
                f(g.f1),
            ]);
        }
        println!("{t}");
    }
    match &r.map {
        Some(m) => println!(
            "\nisotonic map (judge score → physician score) fitted on {} response(s): {}",
            r.map_items,
            m.points()
                .map(|(x, y)| format!("{x:.2}→{y:.2}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        None => println!(
            "\nno map fitted: no rated response has both a judge item score and a physician item score"
        ),
    }
    println!("apply it with `medbench report RUN --calibrated`");
    for f in &r.flags {
        eprintln!("warning: {f}");
    }
    Ok(0)
}
