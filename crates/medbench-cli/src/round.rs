//! `medbench round draw|list|export`, `medbench submit`, `medbench contamination`,
//! and `medbench eval --round`.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use medbench_core::{Catalog, Track};
use medbench_round::{DrawParams, IssueKind, Layout, Submitted};
use medbench_store::SqliteBank;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum RoundCommand {
    /// Draw a round: per task, a stratified sample of approved items, least exposed first,
    /// each choice item under K option permutations with opaque ids.
    ///
    /// Example: medbench round draw --per-task 30 --permutations 5 --seed 2025 --track llm --name 2025-q1
    ///
    /// Example: medbench round draw --per-task 10 --permutations 3 --seed 7 --tasks DemoExam,DemoExamEN --max-exposures 3 --rest-rounds 1
    Draw(DrawArgs),
    /// List the rounds drawn in this bank.
    ///
    /// Example: medbench round list
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Write a round's questions (never answers) for offline answering.
    ///
    /// Example: medbench round export 2025-q1 --out out/round --layout medbench-v4
    ///
    /// Example: medbench round export round-1a2b3c --out out/native --layout native
    Export {
        /// Round id, unique id prefix, or name.
        round: String,
        /// Output directory (zips per track for medbench-v4; questions.jsonl + media/ for native).
        #[arg(long)]
        out: PathBuf,
        /// medbench-v4 (the official download layout) or native.
        #[arg(long, default_value = "medbench-v4")]
        layout: String,
    },
}

#[derive(Args)]
pub struct DrawArgs {
    /// Items per task.
    #[arg(long)]
    pub per_task: usize,
    /// Option permutations per choice item (1–26); other formats get one instance.
    #[arg(long, default_value_t = 1)]
    pub permutations: u32,
    /// Seed of the draw and the permutations: same seed and bank, same round.
    #[arg(long)]
    pub seed: u64,
    /// Tasks to draw from (comma-separated); default every task with approved items.
    #[arg(long, value_delimiter = ',', conflicts_with = "track")]
    pub tasks: Vec<String>,
    /// Tracks to draw from: llm, multimodal, agent.
    #[arg(long, value_delimiter = ',')]
    pub track: Vec<String>,
    /// A name to find the round by (default: its id).
    #[arg(long)]
    pub name: Option<String>,
    /// Retire items already drawn in this many rounds.
    #[arg(long)]
    pub max_exposures: Option<u32>,
    /// Rest items drawn in any of the last R rounds.
    #[arg(long, default_value_t = 0)]
    pub rest_rounds: u32,
    /// Print JSON instead of a table.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct SubmitArgs {
    /// Round id, unique id prefix, or name.
    pub round: String,
    /// The filled export: a zip, a directory (of .jsonl files or zips) or one .jsonl file.
    pub file: PathBuf,
    /// The model that produced the answers.
    #[arg(long)]
    pub model: String,
    /// Where to write results.json, results.csv and report.html (default results/RUN_ID).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print every validation issue (default: the first 20).
    #[arg(long)]
    pub all_issues: bool,
    /// Judge the open-ended answers (default: ROUGE-L stands in); verdicts are stored,
    /// so submitting the same file again sends only the judge calls still missing.
    #[command(flatten)]
    pub judge: crate::judge::JudgeArgs,
}

#[derive(Args)]
pub struct ContaminationArgs {
    /// A file or directory of text (crawled pages, training data…).
    pub path: PathBuf,
    /// Print JSON instead of tables.
    #[arg(long)]
    pub json: bool,
}

fn open(db: &str) -> Result<SqliteBank> {
    SqliteBank::open(db).with_context(|| format!("cannot open the bank at {db}"))
}

pub fn run(db: &str, cmd: RoundCommand) -> Result<i32> {
    match cmd {
        RoundCommand::Draw(a) => draw(db, a),
        RoundCommand::List { json } => list(db, json),
        RoundCommand::Export { round, out, layout } => {
            let layout: Layout = layout.parse()?;
            let bank = open(db)?;
            let files = medbench_round::export(&bank, &round, layout, &out)?;
            for f in &files {
                println!("{}", f.display());
            }
            eprintln!(
                "wrote {} file(s); questions only, answers stay in the bank",
                files.len()
            );
            Ok(0)
        }
    }
}

fn draw(db: &str, a: DrawArgs) -> Result<i32> {
    let tracks = a
        .track
        .iter()
        .map(|t| {
            t.parse::<Track>().map_err(|_| {
                anyhow::anyhow!("unknown track `{t}` (expected llm, multimodal or agent)")
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let mut bank = open(db)?;
    if let Some(n) = &a.name
        && !bank.find_rounds(n)?.is_empty()
    {
        bail!("a round named or prefixed `{n}` exists already; choose another --name");
    }
    let p = DrawParams {
        per_task: a.per_task,
        permutations: a.permutations,
        seed: a.seed,
        tasks: a.tasks,
        tracks,
        name: a.name,
        max_exposures: a.max_exposures,
        rest_rounds: a.rest_rounds,
    };
    let d = medbench_round::draw(&mut bank, &p, &Catalog::builtin())?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
        return Ok(0);
    }
    println!(
        "round {} ({}) · {} items · {} instances · canary {}",
        d.round.id, d.round.name, d.items, d.instances, d.round.canary
    );
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header(["task", "drawn", "instances", "pool", "resting", "retired"]);
    for (task, s) in &d.tasks {
        t.add_row([
            task.clone(),
            s.drawn.to_string(),
            s.instances.to_string(),
            s.pool.to_string(),
            s.resting.to_string(),
            s.retired.to_string(),
        ]);
    }
    println!("{t}");
    let short: Vec<&String> = d
        .tasks
        .iter()
        .filter(|(_, s)| s.drawn < a.per_task)
        .map(|(t, _)| t)
        .collect();
    if !short.is_empty() {
        eprintln!(
            "note: {} task(s) had fewer than {} drawable items",
            short.len(),
            a.per_task
        );
    }
    Ok(0)
}

fn list(db: &str, json: bool) -> Result<i32> {
    let bank = open(db)?;
    let rounds = bank.rounds()?;
    if json {
        println!("{}", serde_json::to_string_pretty(&rounds)?);
        return Ok(0);
    }
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header(["#", "round", "name", "seed", "instances", "created"]);
    for r in rounds {
        let n = bank.round_instances(&r.id)?.len();
        t.add_row([
            r.seq.to_string(),
            r.id,
            r.name,
            r.seed.to_string(),
            n.to_string(),
            r.created_at,
        ]);
    }
    println!("{t}");
    Ok(0)
}

fn print_permutation(s: &Submitted) {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header(["task", "items", "instances", "strict", "mean"]);
    for (task, p) in &s.permutation {
        t.add_row([
            task.clone(),
            p.items.to_string(),
            p.instances.to_string(),
            format!("{:.1}", p.strict),
            format!("{:.1}", p.mean),
        ]);
    }
    println!("permutation consistency (choice tasks count the strict score):\n{t}");
}

fn finish(s: &Submitted, out: Option<PathBuf>) -> Result<PathBuf> {
    crate::eval::print_summary(&s.results);
    print_permutation(s);
    let dir = out.unwrap_or_else(|| PathBuf::from("results").join(&s.run_id));
    medbench_eval::write_outputs(&dir, &s.results)?;
    Ok(dir)
}

pub fn submit(db: &str, a: SubmitArgs) -> Result<i32> {
    let judges = crate::judge::build(&a.judge.specs()?)?;
    let mut bank = open(db)?;
    let (bar, mut tick) = crate::judge::bar("judging");
    let s = medbench_round::submit_with(
        &mut bank,
        &a.round,
        &a.file,
        &a.model,
        &medbench_round::UnpackLimits::default(),
        &judges,
        &mut tick,
    )
    .with_context(|| format!("submitting {}", a.file.display()))?;
    bar.finish_and_clear();
    let serious: Vec<_> = s
        .issues
        .iter()
        .filter(|i| !matches!(i.kind, IssueKind::EmptyAnswer | IssueKind::Missing))
        .collect();
    let shown = if a.all_issues { s.issues.len() } else { 20 };
    for i in s.issues.iter().take(shown) {
        eprintln!("{:?}: {i}", i.kind);
    }
    if s.issues.len() > shown {
        eprintln!(
            "… {} more issue(s) (--all-issues lists them)",
            s.issues.len() - shown
        );
    }
    let dir = finish(&s, a.out)?;
    println!(
        "submission scored: {} of {} instances answered · run {} · written to {}/",
        s.answered,
        s.instances,
        s.run_id,
        dir.display()
    );
    let judged =
        crate::judge::print_judges(&s.results, "Submit the same file again to retry only them.");
    if !serious.is_empty() {
        eprintln!(
            "warning: {} row(s) were rejected (see above); they were not scored",
            serious.len()
        );
        return Ok(1);
    }
    Ok(judged)
}

/// `medbench eval --round ROUND`: one model, live, on exactly the round's instances.
pub fn eval_round(
    db: &str,
    round: &str,
    model: &medbench_eval::ModelSpec,
    opts: &medbench_eval::EvalOptions,
) -> Result<i32> {
    let (bar, mut tick) = crate::judge::bar("judging");
    let s = medbench_round::evaluate_round(db, model, round, opts, &mut |_| {}, &mut tick)
        .with_context(|| format!("evaluating {} on round {round}", model.name))?;
    bar.finish_and_clear();
    let dir = finish(&s, opts.out.clone())?;
    println!(
        "run {} · {} of {} instances answered · written to {}/",
        s.run_id,
        s.answered,
        s.instances,
        dir.display()
    );
    let judged =
        crate::judge::print_judges(&s.results, "Run the same command again to retry only them.");
    Ok(if s.results.items.errors > 0 {
        3
    } else {
        judged
    })
}

pub fn contamination(db: &str, a: ContaminationArgs) -> Result<i32> {
    let bank = open(db)?;
    let r = medbench_round::scan(&a.path, &bank)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!(
            "scanned {} file(s), {:.1} MB · {}-token windows · {} bank windows indexed (1 in {})",
            r.files,
            r.bytes as f64 / 1e6,
            r.ngram,
            r.indexed_windows,
            r.sampling
        );
        for c in &r.canaries {
            println!(
                "canary {}:{}: {} (round {})",
                c.file,
                c.line,
                c.canary,
                c.round.as_deref().unwrap_or("unknown to this bank")
            );
        }
        let mut t = Table::new();
        t.load_preset(UTF8_BORDERS_ONLY);
        t.set_header(["item at risk", "file", "windows", "matched passage"]);
        for i in &r.items {
            t.add_row([
                i.item_id.clone(),
                i.file.clone(),
                i.windows.to_string(),
                i.snippet.chars().take(80).collect(),
            ]);
        }
        if !r.items.is_empty() {
            println!("{t}");
        }
        println!(
            "{} canary hit(s), {} item(s) at risk",
            r.canaries.len(),
            r.items.len()
        );
    }
    Ok(if r.canaries.is_empty() && r.items.is_empty() {
        0
    } else {
        1
    })
}
