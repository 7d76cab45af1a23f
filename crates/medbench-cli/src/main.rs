//! `medbench`: benchmark medical AI on your own machine.
//!
//! A thin shell: argument parsing and printing. The work is done by the
//! library crates (`medbench-core`, `-store`, `-import`, …).

mod answers;
mod eval;
mod filters;
mod human;
mod import;
mod items;
mod judge;
mod round;
mod serve;
mod tasks;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// Items are parsed on one thread and written (then freed) on another;
/// mimalloc handles that pattern far better than the system allocator.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Benchmark medical AI — LLMs, multimodal models and agents — on an item bank you control.
#[derive(Parser)]
#[command(name = "medbench", version, long_about = None)]
#[command(
    about = "Benchmark medical AI (LLMs, multimodal models, agents) on an item bank you control"
)]
#[command(
    after_help = "Start here:\n  medbench eval --model random --demo   # load the demo bank into ./medbench.db and score the chance baseline\n  medbench items stats                  # what the bank holds\n  medbench eval --model NAME --base-url http://127.0.0.1:8080/v1 --tasks DemoExam   # a real model"
)]
struct Cli {
    /// The item bank: a SQLite path (default ./medbench.db) or sqlite://PATH.
    #[arg(
        long,
        global = true,
        env = "MEDBENCH_DB",
        default_value = "medbench.db"
    )]
    db: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Load items from files, directories or zips (or the built-in demo bank) into the bank.
    ///
    /// Example: medbench import data/MedBench_LLM.zip
    ///
    /// Example: medbench import medqa_test.jsonl --format medqa --task MedQA-USMLE
    #[command(
        after_help = "Formats: native, medbench-v4, medqa, medmcqa, mmlu-csv, cmmlu-csv, pubmedqa, healthbench, medagentbench, vqa-rad.\n`auto` (the default) tells them apart by file name and content.\nExit status is 1 when anything was rejected, unless --skip-invalid."
    )]
    Import(import::ImportArgs),
    /// Look at the bank: counts, listings, single items, export.
    #[command(subcommand)]
    Items(items::ItemsCommand),
    /// Evaluate a model on the bank and write results.json, results.csv and report.html.
    ///
    /// Example: medbench eval --model random --demo
    ///
    /// Example: medbench eval --model qwen2.5 --base-url http://127.0.0.1:8080/v1 --tasks DemoExam,DemoExamEN --limit 20
    ///
    /// Example: medbench eval --config models.toml
    #[command(
        after_help = "Run the same command again after a crash or Ctrl-C: only unanswered items are asked.
Exit status 3 means some model calls failed for good; they are listed as errors and retried on the next run."
    )]
    Eval(Box<eval::EvalArgs>),
    /// Judge (or re-judge) a stored run's open-ended answers with an LLM judge.
    ///
    /// Example: medbench judge run-1a2b3c --judge-model gpt-4.1 --judge-base-url https://api.openai.com/v1 --judge-api-key-env OPENAI_API_KEY --dry-run
    #[command(
        after_help = "Stored judgements of the same judge version are reused; a different judge model, endpoint or prompt makes new ones.\nExit status 3 means some judge calls failed; run the command again to retry only them."
    )]
    Judge(judge::JudgeRunArgs),
    /// Physicians' side: blinded samples of responses to rate.
    ///
    /// Example: medbench human sample run-1a2b3c --n 100 --out sample.jsonl
    #[command(subcommand)]
    Human(human::HumanCommand),
    /// Physician ratings: import a filled ratings sheet.
    ///
    /// Example: medbench ratings import sample.jsonl.ratings.csv
    #[command(subcommand)]
    Ratings(human::RatingsCommand),
    /// How well a judge agrees with physicians, next to how well physicians agree with each other;
    /// fits and stores an isotonic map that `report --calibrated` applies.
    ///
    /// Example: medbench calibrate --judge gpt-judge --task HealthBench
    Calibrate(human::CalibrateArgs),
    /// Print or write a stored run's results as json, csv or html.
    ///
    /// Example: medbench report run-1a2b3c --format html --out report.html
    Report(eval::ReportArgs),
    #[command(subcommand)]
    Answers(answers::AnswersCommand),
    /// Paired comparison of two runs on the items both answered (bootstrap CI, McNemar).
    ///
    /// Example: medbench compare run-1a2b3c run-4d5e6f --html compare.html
    Compare(eval::CompareArgs),
    /// List stored runs.
    ///
    /// Example: medbench runs
    Runs,
    /// List the task catalogue (MedBench v4 tasks, their track, dimension, format and scoring recipe).
    ///
    /// Example: medbench tasks --track agent
    Tasks(tasks::TasksArgs),
    /// Rotating hidden rounds: draw, list, export (questions only).
    ///
    /// Example: medbench round draw --per-task 30 --permutations 5 --seed 2025
    #[command(subcommand)]
    Round(round::RoundCommand),
    /// Score a filled round export (zip, directory or JSONL) into a run that compares with live runs.
    ///
    /// Example: medbench submit 2025-q1 MedBench_LLM.zip --model my-model
    #[command(
        after_help = "Rows are validated (unknown ids, duplicates, wrong task, empty answers, truncated files);\ninstances without a row count as wrong. Exit status 1 when rows were rejected."
    )]
    Submit(round::SubmitArgs),
    /// Scan a text corpus for round canaries and long n-gram overlap with the bank's questions.
    ///
    /// Example: medbench contamination crawl/ --json
    #[command(after_help = "Exit status 1 when a canary or an item at risk was found.")]
    Contamination(round::ContaminationArgs),
    /// Serve the platform: JSON API, web pages, live-evaluation worker, on one port.
    ///
    /// Example: medbench serve --addr 127.0.0.1:8080
    ///
    /// Example: medbench serve --config server.toml --log-json
    #[command(
        after_help = "Create an admin first: medbench user add root --role admin && medbench token create --user root
Then open http://127.0.0.1:8080/ and log in with the token. docs/server.md has the rest."
    )]
    Serve(serve::ServeArgs),
    /// Platform users and their roles.
    ///
    /// Example: medbench user add ana --role submitter
    #[command(subcommand)]
    User(serve::UserCommand),
    /// API tokens: create (shown once), list, revoke.
    ///
    /// Example: medbench token create --user ana --label laptop
    #[command(subcommand)]
    Token(serve::TokenCommand),
    /// List the specialty taxonomy (codes, Chinese and English names).
    ///
    /// Example: medbench specialties
    Specialties(items::SpecialtiesArgs),
}

fn main() {
    // Behave like other Unix tools when the reader of our output goes away (`| head`).
    #[cfg(unix)]
    // SAFETY: restoring the default disposition of SIGPIPE before any thread starts.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let cli = Cli::parse();
    // Diagnostics go to stderr; `RUST_LOG=info` shows stage timings.
    // The server logs every request at info; the other commands only warnings.
    let (default, json) = match &cli.command {
        Command::Serve(a) => ("info", a.log_json),
        _ => ("warn", false),
    };
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default.into());
    let log = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        log.json().init();
    } else {
        log.init();
    }
    let code = match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            2
        }
    };
    std::process::exit(code);
}

fn run(cli: Cli) -> Result<i32> {
    match cli.command {
        Command::Import(args) => import::run(&cli.db, args),
        Command::Items(cmd) => items::run(&cli.db, cmd),
        Command::Eval(args) => eval::eval(&cli.db, *args),
        Command::Judge(args) => judge::judge(&cli.db, args),
        Command::Human(cmd) => human::human(&cli.db, cmd),
        Command::Ratings(cmd) => human::ratings(&cli.db, cmd),
        Command::Calibrate(args) => human::calibrate(&cli.db, args),
        Command::Report(args) => eval::report(&cli.db, args),
        Command::Answers(cmd) => answers::run(&cli.db, cmd),
        Command::Compare(args) => eval::compare(&cli.db, args),
        Command::Runs => eval::runs(&cli.db),
        Command::Tasks(args) => tasks::tasks(args),
        Command::Specialties(args) => items::specialties(args),
        Command::Round(cmd) => round::run(&cli.db, cmd),
        Command::Submit(args) => round::submit(&cli.db, args),
        Command::Contamination(args) => round::contamination(&cli.db, args),
        Command::Serve(args) => serve::serve(&cli.db, args),
        Command::User(cmd) => serve::user(&cli.db, cmd),
        Command::Token(cmd) => serve::token(&cli.db, cmd),
    }
}
