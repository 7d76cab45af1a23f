//! Import throughput and `items stats` latency on synthetic banks.

use anyhow::{Context, Result, bail};
use medbench_core::{Catalog, Taxonomy};
use medbench_import::{ImportOptions, Input};
use medbench_store::ItemFilter;
use serde_json::{Value, json};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Write `n` single-choice items (what eval benchmarks ask).
pub fn generate_choice_only(path: &Path, n: usize) -> Result<u64> {
    generate_mix(path, n, false)
}

/// Write `n` realistic single-choice and open-ended items as native JSONL.
fn generate(path: &Path, n: usize) -> Result<u64> {
    generate_mix(path, n, true)
}

fn generate_mix(path: &Path, n: usize, open: bool) -> Result<u64> {
    let tax = Taxonomy::builtin();
    let codes: Vec<&str> = tax.all().iter().map(|s| s.code.as_str()).collect();
    let mut w = BufWriter::new(std::fs::File::create(path)?);
    let mut bytes = 0u64;
    let mut x: u64 = 0x9E3779B97F4A7C15;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let task = format!("SynthTask{:02}", i % 60);
        let lang = if i % 2 == 0 { "zh" } else { "en" };
        let sp = codes[(x % codes.len() as u64) as usize];
        let item = if open && i % 5 == 4 {
            json!({"id": format!("{task}/{i}"), "track": "llm", "dimension": "clinical_reasoning", "language": lang,
                   "specialties": [sp], "question": format!("患者，男，{}岁，反复胸痛{}天，活动后加重，休息后缓解。心电图示ST段压低。请给出初步诊断、诊断依据及下一步检查。（合成题 {i}）", 30 + i % 50, 1 + i % 9),
                   "format": {"type": "open_ended"},
                   "reference": {"answer": "稳定型心绞痛可能性大。依据：典型劳力性胸痛、休息缓解、心电图缺血改变。下一步：心肌酶、运动负荷试验或冠脉CTA。",
                                 "key_points": ["稳定型心绞痛", "劳力性胸痛", "心肌酶", "冠脉CTA"]},
                   "provenance": {"source": "synthetic"}, "difficulty": 1 + (i % 5) as u8, "review": "approved"})
        } else {
            json!({"id": format!("{task}/{i}"), "track": "llm", "dimension": "knowledge_qa", "language": lang,
                   "specialties": [sp], "question": format!("Synthetic question {i}: which drug class is first-line for uncomplicated hypertension in a {}-year-old without comorbidities?", 30 + i % 50),
                   "format": {"type": "single_choice", "options": [
                       {"label": "A", "text": "Thiazide-like diuretic"}, {"label": "B", "text": "Loop diuretic"},
                       {"label": "C", "text": "Alpha blocker"}, {"label": "D", "text": "Centrally acting agent"}, {"label": "E", "text": "Nitrate"}]},
                   "reference": {"answer": "A"}, "provenance": {"source": "synthetic", "licence": "CC0-1.0"},
                   "difficulty": 1 + (i % 5) as u8, "review": "approved"})
        };
        let line = serde_json::to_string(&item)?;
        bytes += line.len() as u64 + 1;
        writeln!(w, "{line}")?;
    }
    w.flush()?;
    Ok(bytes)
}

fn child(args: &[&str]) -> Result<Value> {
    let exe = std::env::current_exe()?;
    let out = Command::new(exe).args(args).output()?;
    if !out.status.success() {
        bail!(
            "child {:?} failed: {}",
            args,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(serde_json::from_slice(&out.stdout)?)
}

pub fn run(sizes: &[usize], dir: Option<PathBuf>) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    println!(
        "| items | file MB | import s | items/s | import peak RSS MiB | `items stats` ms (median of 5) | stats peak RSS MiB |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &n in sizes {
        let file = dir.join(format!("synthetic-{n}.jsonl"));
        let db = dir.join(format!("bank-{n}.db"));
        let _ = std::fs::remove_file(&db);
        let bytes = generate(&file, n).context("generating the synthetic bank")?;
        let imp = child(&["child-import", file.to_str().unwrap(), db.to_str().unwrap()])?;
        let st = child(&["child-stats", db.to_str().unwrap()])?;
        let secs = imp["secs"].as_f64().unwrap();
        println!(
            "| {n} | {:.0} | {secs:.2} | {:.0} | {:.0} | {:.0} | {:.0} |",
            bytes as f64 / 1e6,
            n as f64 / secs,
            imp["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
            st["median_ms"].as_f64().unwrap(),
            st["peak_rss_mib"].as_f64().unwrap_or(f64::NAN),
        );
    }
    Ok(())
}

pub fn child_import(file: &str, db: &str) -> Result<()> {
    let mut bank = medbench_store::open(db)?;
    let opts = ImportOptions {
        catalog: Catalog::builtin(),
        taxonomy: Taxonomy::builtin(),
        ..Default::default()
    };
    let t = Instant::now();
    let r = medbench_import::import(
        bank.as_mut(),
        vec![Input::Path(file.into())],
        opts,
        &mut |_| {},
    )?;
    let secs = t.elapsed().as_secs_f64();
    if !r.committed || r.rejected > 0 {
        bail!(
            "import rejected {} records: {:?}",
            r.rejected,
            r.rejects.first()
        );
    }
    println!(
        "{}",
        json!({"secs": secs, "imported": r.imported, "peak_rss_mib": crate::peak_rss_mib()})
    );
    Ok(())
}

pub fn child_stats(db: &str) -> Result<()> {
    let bank = medbench_store::open(db)?;
    let mut times = Vec::new();
    let mut total = 0;
    for _ in 0..5 {
        let t = Instant::now();
        let s = bank.stats(&ItemFilter::default())?;
        times.push(t.elapsed().as_secs_f64() * 1000.0);
        total = s.total.items;
    }
    times.sort_by(f64::total_cmp);
    println!(
        "{}",
        json!({"median_ms": times[2], "items": total, "peak_rss_mib": crate::peak_rss_mib()})
    );
    Ok(())
}
