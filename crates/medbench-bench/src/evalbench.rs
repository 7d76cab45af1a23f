//! Evaluation throughput against the fake endpoint, next to the endpoint's raw
//! capacity measured by a minimal load loop in the same run.

use anyhow::{Context, Result, bail};
use medbench_provider::{ChatMessage, ChatRequest, OpenAiCompatible, Provider};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

fn sibling(name: &str) -> Result<PathBuf> {
    let p = std::env::current_exe()?.with_file_name(name);
    if !p.exists() {
        bail!(
            "{} not found: run `cargo build --release` first",
            p.display()
        );
    }
    Ok(p)
}

/// A fake endpoint in its own process.
struct Endpoint {
    child: Child,
    url: String,
}

impl Endpoint {
    /// With `core`, the endpoint runs on that CPU only (through `taskset`).
    fn start(latency_ms: u64, core: Option<usize>) -> Result<Endpoint> {
        let fake = sibling("medbench-fake-llm")?;
        let mut cmd = match core {
            Some(c) => {
                let mut t = Command::new("taskset");
                t.args(["-c", &c.to_string()]).arg(&fake);
                t
            }
            None => Command::new(&fake),
        };
        let mut child = cmd
            .args(["--latency-ms", &latency_ms.to_string(), "--answer", "<A>"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        Ok(Endpoint {
            child,
            url: line.trim().to_owned(),
        })
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Requests per second a bare client loop gets from the endpoint at this concurrency.
fn raw_capacity(url: &str, concurrency: usize, total: u64) -> Result<f64> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let p = Arc::new(OpenAiCompatible::new(url.to_owned()).with_timeout(Duration::from_secs(30)));
        let req = Arc::new(ChatRequest {
            model: "bench".into(),
            messages: vec![ChatMessage::user(
                "Synthetic question: which drug class is first-line for uncomplicated hypertension?\n\nA. Thiazide-like diuretic\nB. Loop diuretic\nC. Alpha blocker\nD. Centrally acting agent\nE. Nitrate\n\nAnswer with the letter of the single best option in angle brackets, e.g. <A>.",
            )],
            ..Default::default()
        });
        let left = Arc::new(AtomicU64::new(total));
        let t = Instant::now();
        let mut tasks = Vec::new();
        for _ in 0..concurrency {
            let (p, req, left) = (p.clone(), req.clone(), left.clone());
            tasks.push(tokio::spawn(async move {
                while left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |x| x.checked_sub(1)).is_ok() {
                    p.complete(&req).await.expect("the fake endpoint answers");
                }
            }));
        }
        for t in tasks {
            t.await?;
        }
        Ok(total as f64 / t.elapsed().as_secs_f64())
    })
}

/// Run a command and return (wall seconds, peak RSS MiB) from the kernel's accounting.
fn run_measured(cmd: &mut Command) -> Result<(f64, f64)> {
    let t = Instant::now();
    let child = cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: plain wait4 on our own child; rusage is zero-initialised plain data.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let secs = t.elapsed().as_secs_f64();
    if r < 0 || !libc::WIFEXITED(status) || libc::WEXITSTATUS(status) != 0 {
        let mut err = String::new();
        if let Some(mut e) = child.stderr {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        bail!("{cmd:?} failed: {err}");
    }
    Ok((secs, usage.ru_maxrss as f64 / 1024.0))
}

fn bank_with(dir: &Path, n: usize) -> Result<String> {
    let file = dir.join(format!("eval-items-{n}.jsonl"));
    crate::bank::generate_choice_only(&file, n)?;
    let db = dir.join(format!("eval-bank-{n}.db"));
    let _ = std::fs::remove_file(&db);
    let db = db.to_str().unwrap().to_owned();
    let mut bank = medbench_store::open(&db)?;
    let r = medbench_import::import(
        bank.as_mut(),
        vec![medbench_import::Input::Path(file)],
        Default::default(),
        &mut |_| {},
    )?;
    if !r.committed {
        bail!("synthetic bank rejected: {:?}", r.rejects.first());
    }
    Ok(db)
}

fn eval_cmd(db: &str, url: &str, concurrency: usize, out: &Path) -> Result<Command> {
    let mut c = Command::new(sibling("medbench")?);
    c.args([
        "--db",
        db,
        "eval",
        "--model",
        "bench",
        "--base-url",
        url,
        "--no-cache",
    ])
    .args([
        "--concurrency",
        &concurrency.to_string(),
        "--out",
        out.to_str().unwrap(),
    ]);
    Ok(c)
}

/// Requests per second of the ask stage, from the stored response times.
fn ask_rate(db: &str) -> Result<(usize, f64)> {
    let conn = rusqlite::Connection::open(db)?;
    let (n, first, last): (i64, String, String) = conn.query_row(
        "SELECT COUNT(*), MIN(at), MAX(at) FROM responses",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )?;
    let t0 = humantime_parse(&first)?;
    let t1 = humantime_parse(&last)?;
    Ok((n as usize, n as f64 / (t1 - t0).max(1e-9)))
}

fn humantime_parse(s: &str) -> Result<f64> {
    let t = humantime::parse_rfc3339(s).with_context(|| format!("bad time {s}"))?;
    Ok(t.duration_since(std::time::UNIX_EPOCH)?.as_secs_f64())
}

/// Keep this process (and so the bare client and `medbench eval`, which inherit it) on one CPU.
fn pin_self(core: usize) -> Result<()> {
    // SAFETY: a zeroed cpu_set_t is the empty set; CPU_SET and sched_setaffinity only
    // touch that local value and this process's own affinity.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(core, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            bail!(
                "cannot pin to CPU {core}: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    Ok(())
}

/// `pin`: the endpoint on CPU 0, the client side (bare loop and medbench) on CPU 1, so that
/// the harness's own work does not take CPU from the endpoint it is measured against.
pub fn run(
    items: usize,
    slow_items: usize,
    latency_ms: u64,
    dir: Option<PathBuf>,
    pin: bool,
) -> Result<()> {
    let endpoint_core = if pin {
        pin_self(1)?;
        println!("(pinned: endpoint on CPU 0; bare client and medbench on CPU 1)\n");
        Some(0)
    } else {
        None
    };
    let tmp = tempfile::tempdir()?;
    let dir = dir.unwrap_or_else(|| tmp.path().to_path_buf());
    std::fs::create_dir_all(&dir)?;

    println!("## Zero-latency endpoint, concurrency 64, {items} items\n");
    let fast = Endpoint::start(0, endpoint_core)?;
    let raw = raw_capacity(&fast.url, 64, 20_000)?;
    let db = bank_with(&dir, items)?;
    let (secs, rss) = run_measured(&mut eval_cmd(&db, &fast.url, 64, &dir.join("out-fast"))?)?;
    let (n, ask) = ask_rate(&db)?;
    println!("| measure | value |\n|---|---:|");
    println!("| raw endpoint capacity (bare client loop, 64 in flight) | {raw:.0} req/s |");
    println!(
        "| medbench eval, ask stage | {ask:.0} items/s ({:.0}% of raw) |",
        100.0 * ask / raw
    );
    println!(
        "| medbench eval, end to end (select, ask, score, bootstrap, report) | {:.0} items/s ({:.0}% of raw) |",
        n as f64 / secs,
        100.0 * n as f64 / secs / raw
    );
    println!("| medbench eval peak RSS for {n} items | {rss:.0} MiB |");
    drop(fast);

    println!("\n## {latency_ms} ms endpoint, concurrency 256, {slow_items} items\n");
    let slow = Endpoint::start(latency_ms, endpoint_core)?;
    let db = bank_with(&dir, slow_items)?;
    let ideal = 256.0 * 1000.0 / latency_ms as f64;
    let (secs, _) = run_measured(&mut eval_cmd(&db, &slow.url, 256, &dir.join("out-slow"))?)?;
    let (n, ask) = ask_rate(&db)?;
    println!("| measure | value |\n|---|---:|");
    println!("| ideal (256 / {latency_ms} ms) | {ideal:.0} req/s |");
    println!(
        "| medbench eval, ask stage | {ask:.0} req/s ({:.1}% of ideal) |",
        100.0 * ask / ideal
    );
    println!(
        "| medbench eval, end to end | {:.0} items/s over {secs:.1} s |",
        n as f64 / secs
    );
    Ok(())
}
