//! Judge stage throughput: `medbench_judge::judge_run` against the fake server with a
//! fixed latency, next to the ideal rate (calls in flight / latency).
//!
//! The fake judge runs in a child process of this binary (`child-fake-judge`), so its CPU
//! is counted apart from the judge stage's. Every call gets a fixed verdict that the
//! judge reads for the kind asked (4 key points covered, or a 1–5 rating on each scale
//! dimension), so no stricter retry is ever sent and each item is exactly one call.

use crate::evalbench::{Endpoint, own_cpu, process_cpu};
use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use medbench_eval::medbench_judge::{self, Judge, JudgeProgress};
use medbench_eval::{EvalOptions, JudgeSpec, ModelSpec, ProviderKind, build_judge, evaluate};
use serde_json::json;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// Key points per synthetic item.
const KEY_POINTS: usize = 4;

/// Which judgement the synthetic items get.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Kind {
    /// Items with 4 reference key points: one call says which are covered.
    #[value(name = "key_points")]
    KeyPoints,
    /// Items with a reference answer only: one call rates the 4 scale dimensions.
    #[value(name = "scale")]
    Scale,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::KeyPoints => "key_points",
            Kind::Scale => "scale",
        }
    }

    /// A verdict the judge stage reads for every item of this kind.
    pub fn verdict(self) -> String {
        match self {
            Kind::KeyPoints => {
                let points: Vec<_> = (1..=KEY_POINTS)
                    .map(|i| json!({"point": i, "covered": i % 2 == 1}))
                    .collect();
                json!({"explanation": "fixed bench verdict", "key_points": points}).to_string()
            }
            Kind::Scale => json!({"accuracy": 4, "completeness": 3, "safety": 5,
                                  "readability": 4, "explanation": "fixed bench verdict"})
            .to_string(),
        }
    }
}

/// The rate a stage would reach if every call took exactly the latency and `concurrency`
/// calls were always in flight, in calls/s. With fewer calls than slots the few calls
/// there are set the bound: they all finish after one latency.
pub fn ideal_rate(calls: u64, concurrency: usize, latency_ms: u64) -> f64 {
    let in_flight = (concurrency as u64).min(calls).max(1) as f64;
    in_flight * 1000.0 / latency_ms.max(1) as f64
}

/// The measured rate as a fraction of the ideal.
pub fn ratio(calls: u64, secs: f64, ideal: f64) -> f64 {
    if secs <= 0.0 || ideal <= 0.0 {
        return 0.0;
    }
    calls as f64 / secs / ideal
}

/// Calls needed for the measured phase to last `secs` at the ideal rate.
pub fn default_items(concurrency: usize, latency_ms: u64, secs: f64) -> usize {
    (ideal_rate(u64::MAX, concurrency, latency_ms) * secs).ceil() as usize
}

/// Write `n` open-ended items of `kind` and an answer to each as predictions.
fn write_items(dir: &Path, n: usize, kind: Kind) -> Result<(PathBuf, PathBuf)> {
    let items = dir.join("judge-items.jsonl");
    let preds = dir.join("judge-answers.jsonl");
    let mut wi = BufWriter::new(std::fs::File::create(&items)?);
    let mut wp = BufWriter::new(std::fs::File::create(&preds)?);
    for i in 0..n {
        let id = format!("JudgeBench{:02}/{i}", i % 8);
        let age = 25 + i % 60;
        let days = 1 + i % 14;
        let question = format!(
            "A {age}-year-old presents with {days} days of fever, productive cough and pleuritic chest pain; \
             the chest film shows a lobar opacity. Give the most likely diagnosis, how you would judge severity, \
             the first-line treatment and the follow-up. (bench item {i})"
        );
        let reference = match kind {
            Kind::KeyPoints => json!({"key_points": [
                "community-acquired pneumonia",
                "severity by a validated score such as CURB-65",
                "empirical antibiotics chosen by severity",
                "clinical review and repeat imaging when risk factors are present"]}),
            Kind::Scale => json!({"answer":
                "Community-acquired pneumonia; grade severity with CURB-65, start empirical antibiotics \
                 by severity and review clinically, with repeat imaging for patients at risk."}),
        };
        let item = json!({"id": id, "track": "llm", "dimension": "clinical_reasoning", "language": "en",
            "question": question, "format": {"type": "open_ended"}, "reference": reference,
            "provenance": {"source": "medbench-bench judge", "licence": "CC0-1.0"},
            "difficulty": 2, "review": "approved"});
        writeln!(wi, "{item}")?;
        let answer = format!(
            "Likely community-acquired pneumonia (day {days}). Severity: CURB-65. Start amoxicillin, \
             review in 48 hours, repeat the film in 6 weeks. (answer {i})"
        );
        writeln!(wp, "{}", json!({"id": id, "answer": answer}))?;
    }
    wi.flush()?;
    wp.flush()?;
    Ok((items, preds))
}

/// A bank of `n` items with a finished run whose answers are all stored; the run id.
fn bank_with_run(dir: &Path, n: usize, kind: Kind) -> Result<(String, String)> {
    let (items, preds) = write_items(dir, n, kind)?;
    let db = dir.join("judge-bank.db");
    let _ = std::fs::remove_file(&db);
    let db = db
        .to_str()
        .context("temporary path is not UTF-8")?
        .to_owned();
    let mut bank = medbench_store::open(&db)?;
    let r = medbench_import::import(
        bank.as_mut(),
        vec![medbench_import::Input::Path(items.clone())],
        Default::default(),
        &mut |_| {},
    )?;
    if !r.committed {
        bail!(
            "{}: synthetic items rejected: {:?}",
            items.display(),
            r.rejects.first()
        );
    }
    drop(bank);
    let mut model = ModelSpec::named("bench-answers");
    model.provider = ProviderKind::Predictions;
    model.predictions = Some(preds);
    let opts = EvalOptions {
        out: Some(dir.join("out-answers")),
        ..Default::default()
    };
    // A missing answer shows later as fewer judge calls than items (see `check_clean`).
    let out = evaluate(&db, &model, &opts, &mut |_| {})?;
    Ok((db, out.run_id))
}

/// Where the fake judge runs.
pub enum FakeJudge {
    /// A child process of this binary (`child-fake-judge`): its CPU is its own.
    Child(Endpoint),
    /// A runtime in this process (tests, where this binary is the test harness).
    #[cfg_attr(not(test), allow(dead_code))]
    InProcess {
        server: medbench_fake_llm::FakeServer,
        _rt: tokio::runtime::Runtime,
    },
}

impl FakeJudge {
    /// The fake judge in a child process of this binary.
    pub fn child(latency_ms: u64, kind: Kind) -> Result<FakeJudge> {
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args([
            "child-fake-judge",
            "--latency-ms",
            &latency_ms.to_string(),
            "--answer",
            &kind.verdict(),
        ]);
        Ok(FakeJudge::Child(Endpoint::spawn(cmd)?))
    }

    /// The fake judge on a runtime of its own in this process.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn in_process(latency_ms: u64, kind: Kind) -> Result<FakeJudge> {
        let rt = fake_runtime()?;
        let server = rt.block_on(medbench_fake_llm::start(fake_config(
            latency_ms,
            kind.verdict(),
        )));
        Ok(FakeJudge::InProcess { server, _rt: rt })
    }

    fn url(&self) -> String {
        match self {
            FakeJudge::Child(e) => e.url.clone(),
            FakeJudge::InProcess { server, .. } => server.base_url(),
        }
    }

    /// CPU seconds the fake has used, when it runs apart.
    fn cpu(&self) -> Result<Option<f64>> {
        match self {
            FakeJudge::Child(e) => Ok(Some(process_cpu(e.child.id())?)),
            FakeJudge::InProcess { .. } => Ok(None),
        }
    }
}

fn fake_runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

fn fake_config(latency_ms: u64, answer: String) -> medbench_fake_llm::FakeConfig {
    medbench_fake_llm::FakeConfig {
        latency: Duration::from_millis(latency_ms),
        answer: medbench_fake_llm::AnswerPolicy::Fixed(answer),
        ..Default::default()
    }
}

fn judge_for(url: &str, concurrency: usize) -> Result<Judge> {
    let mut model = ModelSpec::named("bench-judge");
    model.base_url = Some(url.to_owned());
    model.concurrency = Some(concurrency);
    model.timeout_secs = Some(60);
    model.max_attempts = Some(1);
    build_judge(&JudgeSpec {
        name: Some("bench-judge".into()),
        tasks: vec![],
        model,
    })
}

/// One measured pass.
pub struct Pass {
    pub calls: u64,
    pub secs: f64,
    pub ideal: f64,
    pub ratio: f64,
    /// CPU microseconds per call: this process (the judge stage) and the fake judge.
    pub stage_us: f64,
    pub fake_us: Option<f64>,
    /// Seconds of `estimate` alone on the same bank: `judge_run` makes this pass over
    /// every answer (render, hash, cache look-ups) before it sends its first call.
    pub estimate_secs: f64,
    /// The second run on the same bank: calls it sent, and verdicts it found stored.
    pub rerun_sent: u64,
    pub rerun_stored: u64,
}

/// Build a bank of `items` items of `kind`, judge it once (timed) and again (nothing
/// should be sent). `fake` makes the fake judge from the latency and kind.
pub fn measure(
    dir: &Path,
    items: usize,
    latency_ms: u64,
    concurrency: usize,
    kind: Kind,
    fake: fn(u64, Kind) -> Result<FakeJudge>,
) -> Result<Pass> {
    let (db, run_id) = bank_with_run(dir, items, kind)?;
    let fake = fake(latency_ms, kind)?;
    let judges = vec![judge_for(&fake.url(), concurrency)?];
    let t = Instant::now();
    medbench_judge::estimate(&db, &run_id, &judges)?;
    let estimate_secs = t.elapsed().as_secs_f64();
    let (f0, c0) = (fake.cpu()?, own_cpu());
    let t = Instant::now();
    let p = medbench_judge::judge_run(&db, &run_id, &judges, &mut |_| {})?;
    let secs = t.elapsed().as_secs_f64();
    let (f1, c1) = (fake.cpu()?, own_cpu());
    check_clean(&p, items as u64)?;
    let ideal = ideal_rate(p.done, concurrency, latency_ms);
    let per_call = |s: f64| s * 1e6 / p.done.max(1) as f64;
    let again = medbench_judge::judge_run(&db, &run_id, &judges, &mut |_| {})?;
    let est = medbench_judge::estimate(&db, &run_id, &judges)?;
    Ok(Pass {
        calls: p.done,
        secs,
        ideal,
        ratio: ratio(p.done, secs, ideal),
        stage_us: per_call(c1 - c0),
        estimate_secs,
        fake_us: f0.zip(f1).map(|(a, b)| per_call(b - a)),
        rerun_sent: again.done - again.cached,
        rerun_stored: est.stored,
    })
}

/// Every call sent and read: a failed or unread call would make the rate meaningless.
fn check_clean(p: &JudgeProgress, want: u64) -> Result<()> {
    if p.done != want || p.cached != 0 || p.unparsed + p.refusals + p.errors != 0 {
        bail!(
            "the judge stage did not send and read one call per item: {want} items, \
             {} done, {} from the cache, {} unparsed, {} refusals, {} errors",
            p.done,
            p.cached,
            p.unparsed,
            p.refusals,
            p.errors
        );
    }
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

pub fn run(
    items: Option<usize>,
    latency_ms: u64,
    concurrency: usize,
    kind: Kind,
    runs: usize,
) -> Result<()> {
    if concurrency == 0 || latency_ms == 0 || runs == 0 {
        bail!("--concurrency, --latency-ms and --runs must be at least 1");
    }
    let items = items.unwrap_or_else(|| default_items(concurrency, latency_ms, 12.5));
    println!(
        "## Judge stage, {} kind, {items} items, {latency_ms} ms judge, {concurrency} in flight\n",
        kind.name()
    );
    println!(
        "| run | judge calls | wall time | calls/s | ideal | ratio | CPU per call: stage + fake judge | of the wall time: estimate pass | second run: sent / stored |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut ratios = Vec::new();
    for r in 1..=runs {
        let tmp = tempfile::tempdir()?;
        let p = measure(
            tmp.path(),
            items,
            latency_ms,
            concurrency,
            kind,
            FakeJudge::child,
        )?;
        println!(
            "| {r} | {} | {:.2} s | {:.0} | {:.0} | {:.1}% | {:.0} + {:.0} µs | {:.2} s | {} / {} |",
            p.calls,
            p.secs,
            p.calls as f64 / p.secs,
            p.ideal,
            100.0 * p.ratio,
            p.stage_us,
            p.fake_us.unwrap_or(f64::NAN),
            p.estimate_secs,
            p.rerun_sent,
            p.rerun_stored
        );
        ratios.push(p.ratio);
    }
    let (min, max) = (
        ratios.iter().copied().fold(f64::INFINITY, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );
    println!(
        "\nratio over {runs} run(s): min {:.1}%, median {:.1}%, max {:.1}%",
        100.0 * min,
        100.0 * median(&mut ratios),
        100.0 * max
    );
    Ok(())
}

/// `child-fake-judge`: the fake server answering `answer` after `latency_ms`; prints its
/// base URL and serves until killed.
pub fn child_fake_judge(latency_ms: u64, answer: String) -> Result<()> {
    fake_runtime()?.block_on(async {
        let server = medbench_fake_llm::start(fake_config(latency_ms, answer)).await;
        println!("{}", server.base_url());
        std::io::stdout().flush()?;
        std::future::pending::<()>().await;
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use medbench_eval::medbench_judge::verdict::{Verdict, parse};
    use medbench_eval::medbench_judge::{JudgeKind, plan::SCALE};

    #[test]
    fn ideal_is_slots_over_latency_bounded_by_the_calls() {
        assert_eq!(ideal_rate(16_000, 256, 200), 1280.0);
        assert_eq!(ideal_rate(100, 256, 200), 500.0);
        assert_eq!(ideal_rate(0, 256, 200), 5.0);
        assert_eq!(default_items(256, 200, 12.5), 16_000);
        // 16,000 calls in 12.63 s against 1,280/s ideal: 99.0%.
        assert!((ratio(16_000, 12.626, 1280.0) - 0.990).abs() < 0.001);
        assert_eq!(ratio(10, 0.0, 1280.0), 0.0);
        assert_eq!(median(&mut [0.97, 0.90, 0.99]), 0.97);
    }

    #[test]
    fn the_fixed_verdicts_are_read_by_the_judge() {
        let kp: Vec<String> = (1..=KEY_POINTS).map(|i| format!("k{i}")).collect();
        assert_eq!(
            parse(JudgeKind::KeyPoints, &kp, &Kind::KeyPoints.verdict()),
            Verdict::Values(vec![1.0, 0.0, 1.0, 0.0], Some("fixed bench verdict".into()))
        );
        let dims: Vec<String> = SCALE.iter().map(|(d, _)| d.to_string()).collect();
        assert!(matches!(
            parse(JudgeKind::Scale, &dims, &Kind::Scale.verdict()),
            Verdict::Values(v, _) if v == vec![4.0, 3.0, 5.0, 4.0]
        ));
    }

    #[test]
    fn a_tiny_bank_is_judged_once_then_reused() {
        for kind in [Kind::KeyPoints, Kind::Scale] {
            let tmp = tempfile::tempdir().unwrap();
            let p = measure(tmp.path(), 6, 20, 4, kind, FakeJudge::in_process).unwrap();
            assert_eq!(p.calls, 6, "{kind:?}");
            // 6 calls, 4 at a time, 20 ms each: two rounds of latency at least.
            assert!(p.secs >= 0.04, "{kind:?}: {}", p.secs);
            assert_eq!(p.ideal, 200.0);
            assert!(p.ratio > 0.0 && p.ratio <= 1.0, "{kind:?}: {}", p.ratio);
            assert_eq!((p.rerun_sent, p.rerun_stored), (0, 6), "{kind:?}");
            assert_eq!(p.fake_us, None);
        }
    }
}
