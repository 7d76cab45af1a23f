//! `medbench import`.

use anyhow::{Context, Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use medbench_core::{Catalog, ReviewStatus, Taxonomy};
use medbench_import::{ImportOptions, ImportReport, Input, InputFormat};
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Args)]
pub struct ImportArgs {
    /// Files, directories or zips to import.
    #[arg(required_unless_present = "demo")]
    pub paths: Vec<PathBuf>,
    /// Input format, or `auto` to detect each file's.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// Import the valid records and list the rejected ones, instead of importing nothing.
    #[arg(long)]
    pub skip_invalid: bool,
    /// Task name for third-party data sets (default: the data set's own name, e.g. MedQA-USMLE).
    #[arg(long)]
    pub task: Option<String>,
    /// Review status given to items from formats that carry none.
    #[arg(long, default_value = "approved")]
    pub review_status: String,
    /// Import the demo bank that ships inside medbench (original items, zh and en, every format).
    #[arg(long)]
    pub demo: bool,
    /// A task catalogue TOML to use instead of the built-in MedBench v4 one.
    #[arg(long)]
    pub catalog: Option<PathBuf>,
    /// A specialty taxonomy TOML to use instead of the built-in one.
    #[arg(long)]
    pub taxonomy: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

fn read_toml(path: &PathBuf) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

pub fn run(db: &str, args: ImportArgs) -> Result<i32> {
    let format = match args.format.as_str() {
        "auto" => None,
        f => Some(f.parse::<InputFormat>().map_err(anyhow::Error::msg)?),
    };
    let review: ReviewStatus = args.review_status.parse().map_err(anyhow::Error::msg)?;
    let catalog = match &args.catalog {
        Some(p) => Catalog::parse(&read_toml(p)?).with_context(|| format!("in {}", p.display()))?,
        None => Catalog::builtin(),
    };
    let taxonomy = match &args.taxonomy {
        Some(p) => {
            Taxonomy::parse(&read_toml(p)?).with_context(|| format!("in {}", p.display()))?
        }
        None => Taxonomy::builtin(),
    };
    let mut inputs: Vec<Input> = args.paths.iter().cloned().map(Input::Path).collect();
    if args.demo {
        inputs.extend(demo_inputs());
    }
    if inputs.is_empty() {
        bail!("nothing to import: give a path or --demo");
    }
    let mut bank =
        medbench_store::open(db).with_context(|| format!("cannot open the bank at {db}"))?;
    let opts = ImportOptions {
        format,
        skip_invalid: args.skip_invalid,
        task: args.task.clone(),
        review,
        catalog,
        taxonomy,
        ..Default::default()
    };
    let bar = if args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new_spinner()
    };
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("valid template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    let started = Instant::now();
    let report = medbench_import::import(bank.as_mut(), inputs, opts, &mut |p| {
        let secs = started.elapsed().as_secs_f64().max(1e-9);
        bar.set_message(format!(
            "{} records read ({:.0}/s), {} rejected",
            p.records,
            p.records as f64 / secs,
            p.rejected
        ));
    })?;
    bar.finish_and_clear();
    let elapsed = started.elapsed();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print_report(&report, &bank.location(), elapsed, args.skip_invalid);
    }
    Ok(if report.rejected > 0 && !args.skip_invalid {
        1
    } else {
        0
    })
}

fn print_report(r: &ImportReport, location: &str, elapsed: Duration, skip_invalid: bool) {
    for f in &r.files {
        match &f.note {
            Some(note) => println!("  {:<60} {:<14} {note}", f.file, f.format),
            None => println!("  {:<60} {:<14} {:>8} records", f.file, f.format, f.items),
        }
    }
    if !r.rejects.is_empty() {
        println!("\nRejected:");
        let shown = if skip_invalid {
            r.rejects.len()
        } else {
            r.rejects.len().min(50)
        };
        for rej in &r.rejects[..shown] {
            println!("  {rej}");
        }
        if (r.rejected as usize) > shown {
            println!(
                "  … and more ({} records rejected in all; --json lists up to 1000)",
                r.rejected
            );
        }
    }
    println!();
    if r.committed {
        println!(
            "{location}: imported {}, updated {}, unchanged {}, review status changed {}, rejected {} ({:.2}s)",
            r.imported,
            r.updated,
            r.unchanged,
            r.review_changed,
            r.rejected,
            elapsed.as_secs_f64()
        );
    } else {
        println!(
            "{location}: nothing was imported: {} record(s) rejected. Fix them, or rerun with --skip-invalid to import the {} valid record(s).",
            r.rejected, r.valid
        );
    }
}

/// The demo bank compiled into the binary.
fn demo_inputs() -> impl Iterator<Item = Input> {
    medbench_demo::files().iter().map(|f| Input::Embedded {
        name: f.name,
        text: f.text,
        media: medbench_demo::media,
    })
}

/// Import the demo bank (used by `eval --demo`); fails if anything is rejected.
pub fn import_demo(bank: &mut dyn medbench_store::Bank) -> Result<ImportReport> {
    let r = medbench_import::import(
        bank,
        demo_inputs().collect(),
        ImportOptions::default(),
        &mut |_| {},
    )?;
    if !r.committed {
        bail!("the demo bank did not import: {:?}", r.rejects.first());
    }
    Ok(r)
}
