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
pub(crate) struct Endpoint {
    pub(crate) child: Child,
    pub(crate) url: String,
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
        cmd.args(["--latency-ms", &latency_ms.to_string(), "--answer", "<A>"]);
        Endpoint::spawn(cmd)
    }

    /// Start a server command that prints its base URL as its first line.
    pub(crate) fn spawn(mut cmd: Command) -> Result<Endpoint> {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("cannot start {cmd:?}"))?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("piped")).read_line(&mut line)?;
        let url = line.trim().to_owned();
        if !url.starts_with("http") {
            let _ = child.kill();
            let _ = child.wait();
            bail!("{cmd:?} printed no base URL (got `{url}`)");
        }
        Ok(Endpoint { child, url })
    }
}

impl Drop for Endpoint {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// CPU seconds (user + system) a process has used so far, from `/proc/PID/stat`.
pub(crate) fn process_cpu(pid: u32) -> Result<f64> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path)?;
    let ticks = stat_ticks(&stat).with_context(|| format!("{path}: no utime and stime"))?;
    // SAFETY: sysconf only reads a configuration value.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok(ticks / hz)
}

/// utime + stime (fields 14 and 15, in clock ticks) of a `/proc/PID/stat` line.
fn stat_ticks(stat: &str) -> Option<f64> {
    // The command name (field 2) may hold spaces and parentheses; the fields after its
    // last `)` are plain numbers, starting with field 3.
    let (_, rest) = stat.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: f64 = fields.next()?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// CPU seconds (user + system) this process has used so far.
pub(crate) fn own_cpu() -> f64 {
    // SAFETY: getrusage fills a zero-initialised plain-data struct for this process.
    let mut u: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut u) };
    rusage_secs(&u)
}

/// User plus system time of a `rusage`, in seconds.
fn rusage_secs(u: &libc::rusage) -> f64 {
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    tv(u.ru_utime) + tv(u.ru_stime)
}

/// One pass of the bare client loop: requests/s, and the CPU microseconds per request
/// spent by the endpoint and by the client.
struct RawPass {
    rate: f64,
    endpoint_us: f64,
    client_us: f64,
}

/// The best of `passes` passes of the bare client loop: a single short pass on a shared
/// machine can land on a slow moment and understate what the endpoint can do.
fn raw_capacity(ep: &Endpoint, concurrency: usize, total: u64, passes: usize) -> Result<RawPass> {
    let mut best: Option<RawPass> = None;
    for _ in 0..passes {
        let (e0, c0) = (process_cpu(ep.child.id())?, own_cpu());
        let rate = raw_pass(&ep.url, concurrency, total)?;
        let (e1, c1) = (process_cpu(ep.child.id())?, own_cpu());
        let pass = RawPass {
            rate,
            endpoint_us: (e1 - e0) * 1e6 / total as f64,
            client_us: (c1 - c0) * 1e6 / total as f64,
        };
        if best.as_ref().is_none_or(|b| pass.rate > b.rate) {
            best = Some(pass);
        }
    }
    best.context("at least one pass")
}

/// Requests per pass of the bare client loop, and how many passes.
const RAW_REQUESTS: u64 = 20_000;
const RAW_PASSES: usize = 3;

/// Requests per second a bare client loop gets from the endpoint at this concurrency.
fn raw_pass(url: &str, concurrency: usize, total: u64) -> Result<f64> {
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

/// What the kernel counted for a finished child.
struct Measured {
    secs: f64,
    rss_mib: f64,
    cpu_secs: f64,
}

/// Run a command and return its wall time, peak RSS and CPU time from the kernel's accounting.
fn run_measured(cmd: &mut Command) -> Result<Measured> {
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
    Ok(Measured {
        secs,
        rss_mib: usage.ru_maxrss as f64 / 1024.0,
        cpu_secs: rusage_secs(&usage),
    })
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
    let raw = raw_capacity(&fast, 64, RAW_REQUESTS, RAW_PASSES)?;
    let db = bank_with(&dir, items)?;
    let e0 = process_cpu(fast.child.id())?;
    let m = run_measured(&mut eval_cmd(&db, &fast.url, 64, &dir.join("out-fast"))?)?;
    let (n, ask) = ask_rate(&db)?;
    let per_item = |secs: f64| secs * 1e6 / n.max(1) as f64;
    let endpoint_us = per_item(process_cpu(fast.child.id())? - e0);
    let medbench_us = per_item(m.cpu_secs);
    let rate = n as f64 / m.secs;
    println!("| measure | value |\n|---|---:|");
    println!(
        "| raw endpoint capacity (bare client loop, 64 in flight, best of {RAW_PASSES} × {RAW_REQUESTS}) | {:.0} req/s |",
        raw.rate
    );
    println!(
        "| medbench eval, ask stage | {ask:.0} items/s ({:.0}% of raw) |",
        100.0 * ask / raw.rate
    );
    println!(
        "| medbench eval, end to end (select, ask, score, bootstrap, report) | {rate:.0} items/s ({:.0}% of raw) |",
        100.0 * rate / raw.rate
    );
    println!(
        "| medbench eval peak RSS for {n} items | {:.0} MiB |",
        m.rss_mib
    );
    println!(
        "| CPU per request in the bare loop: endpoint + client | {:.0} + {:.0} µs |",
        raw.endpoint_us, raw.client_us
    );
    println!(
        "| CPU per item in medbench eval: endpoint + medbench (end to end) | {endpoint_us:.0} + {medbench_us:.0} µs |"
    );
    // What medbench may spend per item, everything included, to reach 80% of raw. Sharing
    // the CPUs, items/s follow 1 / (endpoint + client CPU per request); pinned, each side
    // has a CPU of its own and the slower side sets the pace.
    let budget = if pin {
        raw.endpoint_us.max(raw.client_us) / 0.8
    } else {
        (raw.endpoint_us + raw.client_us) / 0.8 - raw.endpoint_us
    };
    println!("| medbench CPU per item that 80% of raw would allow | {budget:.0} µs |");
    drop(fast);

    println!("\n## {latency_ms} ms endpoint, concurrency 256, {slow_items} items\n");
    let slow = Endpoint::start(latency_ms, endpoint_core)?;
    let db = bank_with(&dir, slow_items)?;
    let ideal = 256.0 * 1000.0 / latency_ms as f64;
    let secs = run_measured(&mut eval_cmd(&db, &slow.url, 256, &dir.join("out-slow"))?)?.secs;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_past_a_command_name_with_spaces_and_parentheses() {
        let line = "4242 (fake (llm) x) S 1 4242 4242 0 -1 4194560 120 0 0 0 377 85 0 0 20 0 3 0";
        assert_eq!(stat_ticks(line), Some(462.0));
        assert_eq!(stat_ticks("4242 (cut) S 1 2"), None);
    }

    #[test]
    fn proc_stat_and_getrusage_agree_on_this_process() {
        // Burn some CPU so that a misread field (a fault count, a start time) would show.
        let mut x = 0u64;
        for i in 0..50_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(i));
        }
        let (from_proc, from_rusage) = (process_cpu(std::process::id()).unwrap(), own_cpu());
        assert!(from_rusage > 0.01, "{from_rusage}");
        // /proc counts in clock ticks (10 ms) per thread, getrusage in microseconds.
        assert!(
            (from_proc - from_rusage).abs() < 0.1,
            "{from_proc} vs {from_rusage}"
        );
    }
}
