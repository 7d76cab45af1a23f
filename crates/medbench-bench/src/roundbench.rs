//! Round figures: draw a permuted round from a large bank; validate and score a submission.

use anyhow::{Result, bail};
use medbench_core::{Catalog, Taxonomy};
use medbench_import::{ImportOptions, Input};
use medbench_round::{DrawParams, instance::instance_parts};
use medbench_store::SqliteBank;
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

/// Build (or reuse) a bank of `items` single-choice items over 60 tasks, then time
/// a `per_task` × 60 draw with `permutations` and a `submission`-row submission.
pub fn run(
    items: usize,
    per_task: usize,
    permutations: u32,
    submission: usize,
    dir: Option<PathBuf>,
) -> Result<()> {
    let tmp = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;
    let db = dir.join(format!("round-bank-{items}.db"));
    let db_s = db.to_str().unwrap().to_owned();
    if !db.exists() {
        let file = dir.join(format!("synthetic-choice-{items}.jsonl"));
        crate::bank::generate_choice_only(&file, items)?;
        let mut bank = medbench_store::open(&db_s)?;
        let opts = ImportOptions {
            catalog: Catalog::builtin(),
            taxonomy: Taxonomy::builtin(),
            ..Default::default()
        };
        let r = medbench_import::import(
            bank.as_mut(),
            vec![Input::Path(file.clone())],
            opts,
            &mut |_| {},
        )?;
        if !r.committed {
            bail!("import failed: {:?}", r.rejects.first());
        }
        std::fs::remove_file(&file)?;
    }
    // Start from a bank with no rounds so every run measures the same thing.
    {
        let bank = SqliteBank::open(&db_s)?;
        bank.connection().execute_batch(
            "DELETE FROM rounds; DELETE FROM round_instances; DELETE FROM item_exposure;",
        )?;
    }
    let catalog = Catalog::builtin();
    let mut bank = SqliteBank::open(&db_s)?;
    let p = DrawParams {
        per_task,
        permutations,
        seed: 2025,
        ..Default::default()
    };
    let mut draws = Vec::new();
    let mut last = None;
    for i in 0..3 {
        let t = Instant::now();
        let d = medbench_round::draw(
            &mut bank,
            &DrawParams {
                seed: 2025 + i,
                rest_rounds: 1,
                ..p.clone()
            },
            &catalog,
        )?;
        draws.push(t.elapsed().as_secs_f64());
        last = Some(d);
    }
    let d = last.expect("three draws");
    // The submission round: enough items per task for `submission` instances.
    let per_sub = submission.div_ceil(60 * permutations as usize);
    let sd = medbench_round::draw(
        &mut bank,
        &DrawParams {
            per_task: per_sub,
            seed: 99,
            ..p.clone()
        },
        &catalog,
    )?;
    let inst = bank.round_instances(&sd.round.id)?;
    let file = dir.join("submission.jsonl");
    {
        let mut w = std::io::BufWriter::new(std::fs::File::create(&file)?);
        for (n, i) in inst.iter().take(submission).enumerate() {
            let (_, r) = instance_parts(i)?;
            let answer = match r {
                Some(medbench_core::Reference::Choice { answer }) if n % 2 == 0 => answer.join(""),
                _ => "Z".into(),
            };
            writeln!(
                w,
                "{}",
                serde_json::json!({"id": i.instance_id, "answer": format!("答案：<{answer}>")})
            )?;
        }
        w.flush()?;
    }
    let t = Instant::now();
    let s = medbench_round::submit(&mut bank, &sd.round.id, &file, "bench")?;
    let submit_s = t.elapsed().as_secs_f64();
    let mut sorted = draws.clone();
    sorted.sort_by(f64::total_cmp);
    println!("| step | size | seconds |");
    println!("|---|---|---:|");
    println!(
        "| draw (median of 3, rest 1 round) | {} items × {} tasks × {permutations} permutations = {} instances, from {items} items | {:.3} |",
        per_task,
        d.tasks.len(),
        d.instances,
        sorted[1]
    );
    println!("| first draw (no exposures yet) | same | {:.3} |", draws[0]);
    println!(
        "| validate + score + store a submission | {} rows of a {}-instance round ({} issues) | {submit_s:.3} |",
        s.answered,
        s.instances,
        s.issues.len()
    );
    Ok(())
}
