//! The server under read load: leaderboard and report endpoints at a fixed
//! rate from this process while `medbench serve` runs in another.

use crate::load;
use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn medbench_bin() -> Result<PathBuf> {
    let me = std::env::current_exe()?;
    let bin = me.with_file_name("medbench");
    if !bin.exists() {
        bail!(
            "{} not found: build it first (cargo build --release)",
            bin.display()
        );
    }
    Ok(bin)
}

fn medbench(bin: &Path, db: &Path, args: &[&str]) -> Result<String> {
    let o = Command::new(bin)
        .args(args)
        .env("MEDBENCH_DB", db)
        .output()?;
    if !o.status.success() {
        bail!(
            "medbench {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&o.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&o.stdout).trim().to_owned())
}

/// A filled copy of the round's LLM zip: every row answered with a seeded pick of A–E.
fn filled(zip_bytes: &[u8], seed: u64) -> Result<Vec<u8>> {
    use std::io::{Read, Write};
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for i in 0..z.len() {
        let mut e = z.by_index(i)?;
        let name = e.name()?.into_owned();
        if !name.ends_with(".jsonl") {
            continue;
        }
        let mut text = String::new();
        e.read_to_string(&mut text)?;
        let mut lines = Vec::new();
        for l in text.lines().filter(|l| !l.trim().is_empty()) {
            let mut v: serde_json::Value = serde_json::from_str(l)?;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            v["answer"] =
                serde_json::Value::String(["A", "B", "C", "D", "E"][(x % 5) as usize].into());
            lines.push(v.to_string());
        }
        out.start_file(name, zip::write::SimpleFileOptions::default())?;
        out.write_all(lines.join("\n").as_bytes())?;
    }
    Ok(out.finish()?.into_inner())
}

pub fn run(models: usize, rate: f64, seconds: f64, port: u16) -> Result<()> {
    let bin = medbench_bin()?;
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("server.db");
    medbench(&bin, &db, &["import", "--demo"])?;
    medbench(
        &bin,
        &db,
        &[
            "round",
            "draw",
            "--per-task",
            "30",
            "--permutations",
            "5",
            "--seed",
            "1",
            "--name",
            "bench",
        ],
    )?;
    medbench(&bin, &db, &["user", "add", "dev", "--role", "submitter"])?;
    medbench(&bin, &db, &["user", "add", "reader", "--role", "viewer"])?;
    let dev = medbench(&bin, &db, &["token", "create", "--user", "dev"])?;
    let reader = medbench(&bin, &db, &["token", "create", "--user", "reader"])?;
    let addr = format!("127.0.0.1:{port}");
    let child = Command::new(&bin)
        .args([
            "serve",
            "--addr",
            &addr,
            "--rate-limit",
            "0",
            "--auto-publish",
        ])
        .env("MEDBENCH_DB", &db)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting medbench serve")?;
    let _server = Server(child);
    let t = Instant::now();
    while std::net::TcpStream::connect(&addr).is_err() {
        if t.elapsed() > Duration::from_secs(20) {
            bail!("medbench serve did not start on {addr}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let base = format!("http://{addr}");
    medbench_provider::install_tls_provider();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let c = reqwest::Client::new();
    let run_id: String = rt.block_on(async {
        let zip = c
            .get(format!(
                "{base}/api/v1/rounds/current/files/MedBench_LLM.zip"
            ))
            .bearer_auth(&dev)
            .send()
            .await?
            .error_for_status()?
            .bytes()
            .await?;
        let mut first = String::new();
        for m in 0..models {
            let r: serde_json::Value = c
                .post(format!("{base}/api/v1/submissions?model=model-{m:02}"))
                .bearer_auth(&dev)
                .body(filled(&zip, m as u64 + 1)?)
                .send()
                .await?
                .error_for_status()?
                .json()
                .await?;
            if m == 0 {
                first = r["run_id"].as_str().unwrap_or_default().to_owned();
            }
        }
        anyhow::Ok(first)
    })?;
    let header = vec![("authorization".to_owned(), format!("Bearer {reader}"))];
    println!(
        "medbench serve on {addr}: demo bank, round of 30 per task × 5 permutations, {models} published submissions; load as a viewer"
    );
    let targets = [
        (
            "leaderboard API",
            vec![format!("{base}/api/v1/leaderboard")],
        ),
        (
            "leaderboard API by track",
            vec![
                format!("{base}/api/v1/leaderboard?track=llm"),
                format!("{base}/api/v1/leaderboard?dimension=knowledge_qa"),
            ],
        ),
        ("leaderboard page", vec![format!("{base}/leaderboard")]),
        (
            "report page (HTML, ECharts inlined)",
            vec![format!("{base}/runs/{run_id}/report")],
        ),
        ("results.json", vec![format!("{base}/api/v1/runs/{run_id}")]),
    ];
    for (name, urls) in &targets {
        // Warm the caches once, as a server that has been up a while would be.
        load::run(urls, &header, 20.0, 0.5)?;
        let r = load::run(urls, &header, rate, seconds)?;
        println!("{name:<38} {r}");
    }
    Ok(())
}
