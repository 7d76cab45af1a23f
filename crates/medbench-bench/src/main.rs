//! `medbench-bench`: the figures in docs/benchmarks.md (speed, memory, and how real
//! model answers are read).
//!
//! Each measured step runs in a child process so its peak memory (VmHWM)
//! belongs to that step alone.

mod answers;
mod bank;
mod evalbench;
mod judgebench;
mod load;
mod roundbench;
mod serverbench;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "medbench-bench",
    about = "Measure medbench's throughput and memory"
)]
struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Import synthetic JSONL banks of the given sizes, then time `items stats` on each.
    ///
    /// Example: medbench-bench import --sizes 100000,700000
    Import {
        #[arg(long, value_delimiter = ',', default_value = "100000,700000")]
        sizes: Vec<usize>,
        /// Keep the generated files and banks here instead of a temporary directory.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// Evaluation throughput: items/s against a zero-latency fake endpoint next to its raw
    /// capacity, requests/s against a slow endpoint, and peak memory. Needs `cargo build --release`.
    ///
    /// Example: medbench-bench eval --items 100000 --slow-items 20000
    Eval {
        #[arg(long, default_value_t = 100_000)]
        items: usize,
        #[arg(long, default_value_t = 20_000)]
        slow_items: usize,
        #[arg(long, default_value_t = 200)]
        latency_ms: u64,
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
        /// Run the endpoint on CPU 0 and the client side on CPU 1, as if on separate machines.
        #[arg(long)]
        pin: bool,
    },
    /// Judge stage throughput: `judge_run` with one judge against the fake server at a
    /// fixed latency, next to the ideal rate (concurrency / latency); then a second run on
    /// the same bank, which must reuse the stored verdicts. Needs `cargo build --release`.
    ///
    /// Example: medbench-bench judge --latency-ms 200 --concurrency 256 --runs 3
    Judge {
        /// Items (one judge call each); default: 12.5 s of calls at the ideal rate
        /// (16,000 for 256 in flight at 200 ms).
        #[arg(long)]
        items: Option<usize>,
        #[arg(long, default_value_t = 200)]
        latency_ms: u64,
        #[arg(long, default_value_t = 256)]
        concurrency: usize,
        #[arg(long, value_enum, default_value_t = judgebench::Kind::KeyPoints)]
        kind: judgebench::Kind,
        /// Measured runs, each on a fresh bank.
        #[arg(long, default_value_t = 1)]
        runs: usize,
    },
    /// Rounds: draw a permuted round from a large bank, and validate + score a submission.
    ///
    /// Example: medbench-bench round --items 700000 --per-task 30 --permutations 5 --submission 10000
    Round {
        #[arg(long, default_value_t = 700_000)]
        items: usize,
        #[arg(long, default_value_t = 30)]
        per_task: usize,
        #[arg(long, default_value_t = 5)]
        permutations: u32,
        #[arg(long, default_value_t = 10_000)]
        submission: usize,
        /// Keep (and reuse) the generated bank here.
        #[arg(long)]
        dir: Option<std::path::PathBuf>,
    },
    /// Open-loop HTTP load: GET the URLs in turn at a fixed rate; latency percentiles
    /// are counted from each request's scheduled start.
    ///
    /// Example: medbench-bench load --url http://127.0.0.1:8080/leaderboard --rate 500 --seconds 20 --header "authorization: Bearer TOKEN"
    Load {
        #[arg(long = "url", required = true)]
        urls: Vec<String>,
        /// `name: value`, repeatable.
        #[arg(long = "header")]
        headers: Vec<String>,
        #[arg(long, default_value_t = 500.0)]
        rate: f64,
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
    },
    /// The platform server under read load: `medbench serve` in its own process with
    /// published submissions; leaderboard, report and results endpoints at a fixed rate.
    ///
    /// Example: medbench-bench server --models 16 --rate 500 --seconds 20
    Server {
        #[arg(long, default_value_t = 16)]
        models: usize,
        #[arg(long, default_value_t = 500.0)]
        rate: f64,
        #[arg(long, default_value_t = 20.0)]
        seconds: f64,
        #[arg(long, default_value_t = 18231)]
        port: u16,
    },
    /// Answer reading on real model answers: how the scorer reads labelled answers of six
    /// models to MedBench v4 choice and JSON-field tasks, against what a person reads.
    /// The answers are read from the two git repositories; nothing is copied.
    ///
    /// Example: medbench-bench answers --list-misses
    Answers {
        /// Clone or bare mirror of github.com/yy-hh/LlmMedEval.
        #[arg(long, default_value = answers::DEFAULT_LLMMEDEVAL)]
        corpus_llmmedeval: std::path::PathBuf,
        /// Clone or bare mirror of github.com/chenhaodev/medbench-env.
        #[arg(long, default_value = answers::DEFAULT_MEDBENCH_ENV)]
        corpus_medbench_env: std::path::PathBuf,
        /// The label file (crates/medbench-bench/data/answer-labels.tsv).
        #[arg(long, default_value = answers::DEFAULT_LABELS)]
        labels: std::path::PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Print every answer not read as labelled, with an excerpt.
        #[arg(long)]
        list_misses: bool,
    },
    #[command(hide = true)]
    ChildImport { file: String, db: String },
    #[command(hide = true)]
    ChildStats { db: String },
    #[command(hide = true)]
    ChildFakeJudge {
        #[arg(long)]
        latency_ms: u64,
        #[arg(long)]
        answer: String,
    },
}

fn main() -> Result<()> {
    match Cli::parse().command {
        Cmd::Import { sizes, dir } => bank::run(&sizes, dir),
        Cmd::Eval {
            items,
            slow_items,
            latency_ms,
            dir,
            pin,
        } => evalbench::run(items, slow_items, latency_ms, dir, pin),
        Cmd::Judge {
            items,
            latency_ms,
            concurrency,
            kind,
            runs,
        } => judgebench::run(items, latency_ms, concurrency, kind, runs),
        Cmd::Round {
            items,
            per_task,
            permutations,
            submission,
            dir,
        } => roundbench::run(items, per_task, permutations, submission, dir),
        Cmd::Load {
            urls,
            headers,
            rate,
            seconds,
        } => {
            let headers = headers
                .iter()
                .map(|h| {
                    h.split_once(':')
                        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                        .ok_or_else(|| anyhow::anyhow!("--header `{h}`: expected `name: value`"))
                })
                .collect::<Result<Vec<_>>>()?;
            println!("{}", load::run(&urls, &headers, rate, seconds)?);
            Ok(())
        }
        Cmd::Server {
            models,
            rate,
            seconds,
            port,
        } => serverbench::run(models, rate, seconds, port),
        Cmd::Answers {
            corpus_llmmedeval,
            corpus_medbench_env,
            labels,
            json,
            list_misses,
        } => answers::run(answers::Args {
            llmmedeval: corpus_llmmedeval,
            medbench_env: corpus_medbench_env,
            labels,
            json,
            list_misses,
        }),
        Cmd::ChildImport { file, db } => bank::child_import(&file, &db),
        Cmd::ChildStats { db } => bank::child_stats(&db),
        Cmd::ChildFakeJudge { latency_ms, answer } => {
            judgebench::child_fake_judge(latency_ms, answer)
        }
    }
}

/// Peak resident memory of this process in MiB (Linux), if known.
pub fn peak_rss_mib() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s
        .lines()
        .find(|l| l.starts_with("VmHWM:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()?;
    Some(kb / 1024.0)
}
