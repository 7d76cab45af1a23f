//! `medbench answers`: a run's answers written out as files.

use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use medbench_store::SqliteBank;
use std::path::PathBuf;

#[derive(Subcommand)]
pub enum AnswersCommand {
    /// Write a run's answers out: the official MedBench v4 files filled, or answers.jsonl.
    #[command(
        after_help = "Example:\n  medbench import MedBench_LLM.zip && medbench eval --model m --base-url http://127.0.0.1:8080/v1 --tasks MedExam\n  medbench answers export run-1a2b3c --layout medbench-v4 --out filled/   # filled/MedBench_LLM.zip, ready to upload\n\nWith medbench-v4, every official file that holds a row of the run's items is written whole, with the\nsame names and rows, every byte as downloaded except `answer`. Exit status 1 when some rows had no answer."
    )]
    Export(ExportArgs),
}

#[derive(Args)]
pub struct ExportArgs {
    /// The run (id or unique prefix; see `medbench runs`).
    pub run: String,
    /// `medbench-v4` (the official files, filled) or `native` (answers.jsonl).
    #[arg(long, default_value = "medbench-v4")]
    pub layout: String,
    /// The folder to write into (created if missing).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn run(db: &str, cmd: AnswersCommand) -> Result<i32> {
    match cmd {
        AnswersCommand::Export(a) => export(db, a),
    }
}

fn export(db: &str, a: ExportArgs) -> Result<i32> {
    let bank = SqliteBank::open(db).with_context(|| format!("cannot open the bank at {db}"))?;
    let run = medbench_eval::find_run(&bank, &a.run)?;
    let report = match a.layout.as_str() {
        "medbench-v4" | "v4" => medbench_round::answers::export_v4(&bank, &run.id, &a.out)?,
        "native" => medbench_round::answers::export_native(&bank, &run.id, &a.out)?,
        other => bail!("--layout `{other}`: expected medbench-v4 or native"),
    };
    for f in &report.files {
        println!("wrote {}", a.out.join(f).display());
    }
    println!(
        "{} row(s) filled, {} left without an answer{}",
        report.filled,
        report.unanswered,
        if report.without_source > 0 {
            format!(
                ", {} answered instance(s) not from an official file (only --layout native writes them)",
                report.without_source
            )
        } else {
            String::new()
        }
    );
    if report.unanswered > 0 {
        eprintln!(
            "warning: {} row(s) keep their downloaded answer: the run has no answer for them (not asked, or the call failed; run the same eval again)",
            report.unanswered
        );
        return Ok(1);
    }
    Ok(0)
}
