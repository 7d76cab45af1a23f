//! `medbench serve` as an operator runs it: users and tokens from the CLI, a live
//! job, the server killed mid-job and started again.

mod common;
use common::{medbench, text};

use medbench_fake_llm::{FakeConfig, start};
use serde_json::{Value, json};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);
impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn serve(db: &Path, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_medbench"))
        .args([
            "serve",
            "--addr",
            &format!("127.0.0.1:{port}"),
            "--allow-private-endpoints",
            "--rate-limit",
            "0",
            "--log-json",
        ])
        .env("MEDBENCH_DB", db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let t = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "the server did not start"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    Server(child)
}

#[test]
fn a_live_job_survives_a_killed_server_without_asking_a_finished_instance_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("medbench.db");
    assert!(medbench(&db, &["import", "--demo"]).status.success());
    let o = medbench(
        &db,
        &[
            "round",
            "draw",
            "--per-task",
            "10",
            "--seed",
            "3",
            "--tasks",
            "DemoExam,DemoExamEN",
            "--name",
            "r1",
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let o = medbench(&db, &["user", "add", "ana", "--role", "submitter"]);
    assert!(o.status.success(), "{}", text(&o));
    let o = medbench(&db, &["user", "add", "ana", "--role", "viewer"]);
    assert!(
        !o.status.success() && text(&o).contains("exists already"),
        "{}",
        text(&o)
    );
    let o = medbench(&db, &["user", "add", "bob", "--role", "root"]);
    assert!(
        !o.status.success() && text(&o).contains("unknown role"),
        "{}",
        text(&o)
    );
    let o = medbench(&db, &["token", "create", "--user", "ana", "--label", "ci"]);
    assert!(o.status.success(), "{}", text(&o));
    let token = String::from_utf8(o.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("mbt_"), "{token}");
    let list = text(&medbench(&db, &["token", "list"]));
    assert!(
        list.contains("ana") && !list.contains(&token[4..]),
        "{list}"
    );

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let model = rt.block_on(start(FakeConfig {
        latency: Duration::from_millis(200),
        record: true,
        ..Default::default()
    }));
    medbench_provider::install_tls_provider();
    let c = reqwest::Client::new();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let server = serve(&db, port);
    let job: Value = rt.block_on(async {
        c.post(format!("{base}/api/v1/jobs"))
            .bearer_auth(&token)
            .json(&json!({"base_url": model.base_url(), "model": "slow-model", "concurrency": 2}))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let id = job["id"].as_i64().expect("job id");
    let t = Instant::now();
    while model.total_requests() < 6 && t.elapsed() < Duration::from_secs(30) {
        std::thread::sleep(Duration::from_millis(20));
    }
    drop(server); // SIGKILL mid-job
    let before = model.total_requests();
    assert!(
        before < 20,
        "the job finished before the kill ({before} requests)"
    );

    let _server = serve(&db, port);
    let get = |path: String| -> Value {
        rt.block_on(async {
            c.get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        })
    };
    let t = Instant::now();
    let job = loop {
        let j = get(format!("/api/v1/jobs/{id}"));
        if j["status"] == "finished" || j["status"] == "failed" {
            break j;
        }
        assert!(t.elapsed() < Duration::from_secs(60), "job stuck: {j}");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(job["status"], "finished", "{job}");
    assert_eq!(model.distinct_bodies(), 20, "every instance asked");
    // Only the (at most 2) calls in flight at the kill may have been asked twice.
    let twice = model.body_counts().values().filter(|n| **n > 1).count();
    assert!(
        model.max_repeats() <= 2 && twice <= 2,
        "{twice} instances asked again: {:?}",
        model.body_counts()
    );
    let board = get("/api/v1/leaderboard".into());
    assert!(board["rows"][0]["model"] == "slow-model", "{board}");
}
