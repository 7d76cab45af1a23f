//! Renders the built-in sample run to `target/report-sample.{html,json,csv}`
//! and a comparison page to `target/report-compare-sample.html`.
//!
//! `cargo run -p medbench-report --example sample`

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let a = medbench_report::sample::demo("Qwen2.5-72B-Instruct");
    let mut b = medbench_report::sample::demo_seeded("GPT-4o (2024-08-06)", 7);
    b.run_id = "run-20250315-91be04".into();
    b.started_at = "2025-03-15T08:00:12Z".into();
    let comparison = serde_json::json!({
        "overall": {"n": 690, "mean_a": a.overall.score, "mean_b": b.overall.score, "diff": 1.3,
                    "ci": {"low": -0.8, "high": 3.4}, "p_bootstrap": 0.21, "mcnemar": null},
        "tasks": {"MedExam": {"n": 30, "diff": 6.7, "ci": {"low": 0.0, "high": 13.3}, "p_bootstrap": 0.06,
                               "mcnemar": {"b": 3, "c": 1, "statistic": 0.25, "p_value": 0.625, "exact": true}}}
    });
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../target");
    std::fs::create_dir_all(&dir)?;
    let html = dir.join("report-sample.html");
    std::fs::write(&html, medbench_report::to_html(&a))?;
    std::fs::write(dir.join("report-sample.json"), medbench_report::to_json(&a))?;
    std::fs::write(dir.join("report-sample.csv"), medbench_report::to_csv(&a))?;
    let cmp = dir.join("report-compare-sample.html");
    std::fs::write(&cmp, medbench_report::compare_html(&a, &b, &comparison))?;
    println!("{}", html.canonicalize()?.display());
    println!("{}", cmp.canonicalize()?.display());
    Ok(())
}
