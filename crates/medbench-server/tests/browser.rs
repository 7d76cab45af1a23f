//! End to end in a real browser: a submitter logs in with a token, downloads a
//! round, answers it offline, uploads the answers and finds the model on the
//! leaderboard. Debian's headless Chromium, driven through chromedriver.
//!
//! Without `/usr/bin/chromedriver` the test says so and passes (`.ci/run`
//! installs `chromium` and `chromium-driver`). A screenshot of the leaderboard
//! is left in `target/test-artifacts/leaderboard.png`.

mod common;

use medbench_server::ServerConfig;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const CHROMIUM: &str = "/usr/bin/chromium";
/// The submitter of the shared fixture (`tests/common`).
const USER: &str = "submitter";
const MODEL: &str = "browser-e2e-model";

/// Written straight to the process's stderr, so that the harness does not swallow it.
fn say(msg: &str) {
    let _ = writeln!(std::io::stderr(), "{msg}");
}

/// chromedriver as a child process; shut down (and killed) when dropped, on failure too.
struct Driver {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Driver {
    fn start(log: PathBuf) -> Driver {
        let port = free_port();
        let out = std::fs::File::create(&log).unwrap();
        let child = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {CHROMEDRIVER}: {e}"));
        let d = Driver { child, port, log };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port} within 20 s; its log:\n{}",
                d.log_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        d
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // `/shutdown` ends chromedriver's sessions, and with them their browsers; then make sure.
        let shutdown = TcpStream::connect(("127.0.0.1", self.port)).and_then(|mut s| {
            s.write_all(b"GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                .map(|_| s)
        });
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        drop(shutdown);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap().port()
}

/// `target/` of this build: the parent of the integration tests' `CARGO_TARGET_TMPDIR`,
/// else `CARGO_TARGET_DIR`, else the workspace's `target/`.
fn target_dir() -> PathBuf {
    if let Some(t) = option_env!("CARGO_TARGET_TMPDIR").and_then(|t| Path::new(t).parent()) {
        return t.to_path_buf();
    }
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t);
    }
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target")
}

async fn browser(driver: &Driver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    let connector = hyper_util::client::legacy::connect::HttpConnector::new();
    ClientBuilder::new(connector)
        .capabilities(caps)
        .connect(&driver.url())
        .await
        .unwrap_or_else(|e| {
            panic!(
                "cannot open a Chromium session: {e}\nchromedriver's log:\n{}",
                driver.log_text()
            )
        })
}

/// The export's JSONL rows must carry no answer; returns the same zip with every answer "A".
fn fill_answers(zip_bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut src = zip::ZipArchive::new(std::io::Cursor::new(zip_bytes)).expect("a zip");
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    let mut rows = 0;
    for i in 0..src.len() {
        let mut e = src.by_index(i).unwrap();
        let name = e.name().unwrap().into_owned();
        if e.is_dir() {
            out.add_directory(name, opts).unwrap();
            continue;
        }
        let mut bytes = Vec::new();
        e.read_to_end(&mut bytes).unwrap();
        if name.ends_with(".jsonl") {
            let mut text = String::new();
            for line in String::from_utf8(bytes).unwrap().lines() {
                if line.trim().is_empty() {
                    continue;
                }
                let mut v: Value = serde_json::from_str(line).unwrap();
                assert_eq!(
                    v["answer"],
                    json!(""),
                    "{name}: a downloaded row carries an answer: {line}"
                );
                assert!(v["other"]["id"].is_string(), "{name}: no id: {line}");
                v["answer"] = json!("A");
                text.push_str(&v.to_string());
                text.push('\n');
                rows += 1;
            }
            bytes = text.into_bytes();
        }
        out.start_file(name, opts).unwrap();
        out.write_all(&bytes).unwrap();
    }
    (out.finish().unwrap().into_inner(), rows)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_submitter_logs_in_downloads_uploads_and_finds_the_model_on_the_leaderboard() {
    if !Path::new(CHROMEDRIVER).exists() {
        say(&format!(
            "skipped: chromedriver not found; .ci/run installs chromium and chromium-driver \
             (looked for {CHROMEDRIVER})"
        ));
        return;
    }
    let started = Instant::now();
    let bank = common::demo_bank();
    let token = bank.tokens[USER].clone();
    let (addr, _state): (SocketAddr, _) = medbench_server::spawn(ServerConfig {
        db: bank.db.clone(),
        ..Default::default()
    })
    .await
    .unwrap();
    let base = format!("http://{addr}");

    let scratch = tempfile::tempdir().unwrap();
    let profile = scratch.path().join("chromium-profile");
    std::fs::create_dir_all(&profile).unwrap();
    let driver = Driver::start(scratch.path().join("chromedriver.log"));
    let c = browser(&driver, &profile).await;

    // 1. Not logged in: the home page sends the browser to the log-in form.
    c.goto(&format!("{base}/")).await.unwrap();
    let url = c.current_url().await.unwrap();
    assert_eq!(url.path(), "/login", "not sent to the log-in page: {url}");
    c.find(Locator::Css("input#token"))
        .await
        .unwrap()
        .send_keys(&token)
        .await
        .unwrap();
    c.find(Locator::Css("button#login"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let who = c
        .wait()
        .for_element(Locator::Css("span#whoami"))
        .await
        .expect("logged in: the header shows who")
        .text()
        .await
        .unwrap();
    assert!(who.contains(USER), "#whoami shows `{who}`");
    assert_eq!(c.current_url().await.unwrap().path(), "/");

    // 2. The rounds page links the LLM zip; fetch it with the same token.
    c.goto(&format!("{base}/rounds")).await.unwrap();
    let mut href = None;
    for a in c.find_all(Locator::Css("a.download")).await.unwrap() {
        let h = a.attr("href").await.unwrap().unwrap_or_default();
        if h.ends_with("/MedBench_LLM.zip") {
            href = Some(h);
        }
    }
    let href = href.expect("a download link to MedBench_LLM.zip on /rounds");
    assert!(
        href.contains(&bank.round),
        "{href} is not of round {}",
        bank.round
    );
    medbench_provider::install_tls_provider();
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("{base}{href}"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200, "GET {href}");
    let zip_bytes = resp.bytes().await.unwrap();
    assert!(zip_bytes.starts_with(b"PK\x03\x04"), "{href} is not a zip");
    let (filled, rows) = fill_answers(&zip_bytes);
    assert!(rows > 0, "the LLM zip has no rows");
    let upload = scratch.path().join("MedBench_LLM.zip");
    std::fs::write(&upload, filled).unwrap();

    // 3. Upload it through the form.
    c.goto(&format!("{base}/submit")).await.unwrap();
    c.find(Locator::Css("select#round"))
        .await
        .unwrap()
        .select_by_value(&bank.round)
        .await
        .unwrap();
    c.find(Locator::Css("input#model"))
        .await
        .unwrap()
        .send_keys(MODEL)
        .await
        .unwrap();
    c.find(Locator::Css("input#file"))
        .await
        .unwrap()
        .send_keys(upload.to_str().unwrap())
        .await
        .unwrap();
    c.find(Locator::Css("button#upload"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let submitted = match c
        .wait()
        .at_most(Duration::from_secs(60))
        .for_element(Locator::Css("p#submitted"))
        .await
    {
        Ok(p) => p,
        Err(e) => panic!(
            "no p#submitted after the upload ({e}); the page:\n{}",
            c.source().await.unwrap_or_default()
        ),
    };
    let text = submitted.text().await.unwrap();
    assert!(text.contains(MODEL), "p#submitted says `{text}`");
    let run_href = submitted
        .find(Locator::Css("a"))
        .await
        .expect("a link to the run")
        .attr("href")
        .await
        .unwrap()
        .unwrap_or_default();
    assert!(run_href.starts_with("/runs/"), "run link `{run_href}`");

    // 4. The leaderboard ranks the model, linking the same run.
    c.goto(&format!("{base}/leaderboard")).await.unwrap();
    let table = c
        .find(Locator::Css("table#leaderboard"))
        .await
        .expect("table#leaderboard");
    let board = table.text().await.unwrap();
    assert!(board.contains(MODEL), "leaderboard: {board}");
    table
        .find(Locator::Css(&format!("a[href='{run_href}']")))
        .await
        .expect("the leaderboard links the submitted run");

    // 5. A screenshot for people to look at.
    let png = c.screenshot().await.unwrap();
    let dir = target_dir().join("test-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("leaderboard.png");
    std::fs::write(&shot, &png).unwrap();
    let saved = std::fs::read(&shot).unwrap();
    assert!(
        saved.len() > 1000 && saved.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is not a PNG",
        shot.display()
    );

    c.close().await.unwrap();
    drop(driver);
    say(&format!(
        "browser test: {rows} rows uploaded, screenshot {} ({} bytes), {:.1} s",
        shot.display(),
        saved.len(),
        started.elapsed().as_secs_f64()
    ));
}
