//! `medbench eval` as a user runs it, including a kill in the middle of a run.

mod common;
use common::{medbench, text};

use medbench_fake_llm::{AnswerPolicy, Failure, FailureRule, FakeConfig, Trigger, start};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn the_readme_first_command_works_offline() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("medbench.db");
    assert!(medbench(&db, &["import", "--demo"]).status.success());
    let out = dir.path().join("res");
    let o = medbench(
        &db,
        &["eval", "--model", "random", "--out", out.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("overall"), "{}", text(&o));
    // Open demo tasks without a judge: labelled stand-ins, and the run is provisional.
    assert!(
        text(&o).contains("DemoExplain (needs judge: stand-in)"),
        "{}",
        text(&o)
    );
    assert!(text(&o).contains("note: provisional:"), "{}", text(&o));
    for f in ["results.json", "results.csv", "report.html"] {
        assert!(out.join(f).exists(), "{f} missing");
    }
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    let run = results["run_id"].as_str().unwrap().to_owned();
    // report and compare read the stored run.
    let o = medbench(&db, &["report", &run[..10], "--format", "csv"]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(String::from_utf8_lossy(&o.stdout).lines().count() > 10);
    let o = medbench(
        &db,
        &[
            "eval",
            "--model",
            "random",
            "--seed",
            "2",
            "--out",
            dir.path().join("r2").to_str().unwrap(),
        ],
    );
    assert!(o.status.success());
    let r2: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("r2/results.json")).unwrap())
            .unwrap();
    let page = dir.path().join("compare.html");
    let o = medbench(
        &db,
        &[
            "compare",
            &run,
            r2["run_id"].as_str().unwrap(),
            "--json",
            "--html",
            page.to_str().unwrap(),
        ],
    );
    assert!(o.status.success(), "{}", text(&o));
    let c: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(c["all_items"]["n"], results["items"]["total"]);
    assert!(
        c["tasks"]["DemoExam"]["mcnemar"].is_object(),
        "binary task gets McNemar"
    );
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        html.contains(&run) && html.contains("DemoExam"),
        "the comparison page names runs and tasks"
    );
    assert!(html.contains("</html>"));
    assert!(text(&medbench(&db, &["runs"])).contains(&run));
}

#[test]
fn a_killed_run_resumes_without_asking_a_finished_item_again() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("medbench.db");
    assert!(medbench(&db, &["import", "--demo"]).status.success());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(start(FakeConfig {
        latency: Duration::from_millis(150),
        answer: AnswerPolicy::Fixed("<A>".into()),
        record: true,
        ..Default::default()
    }));
    let url = server.base_url();
    let out = dir.path().join("results");
    let args = [
        "eval",
        "--model",
        "m",
        "--base-url",
        url.as_str(),
        "--concurrency",
        "2",
        "--track",
        "llm",
        "--out",
        out.to_str().unwrap(),
    ];
    let mut child = Command::new(env!("CARGO_BIN_EXE_medbench"))
        .args(args)
        .env("MEDBENCH_DB", &db)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Let it answer some items, then kill it hard (SIGKILL: no chance to clean up).
    let t = Instant::now();
    while server.total_requests() < 12 && t.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let finished = answered(&db);
    assert!(
        !finished.is_empty() && finished.len() < 125,
        "killed mid-run with {} answers stored",
        finished.len()
    );

    let o = Command::new(env!("CARGO_BIN_EXE_medbench"))
        .args(args)
        .env("MEDBENCH_DB", &db)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains("resumed run"), "{}", text(&o));
    assert_eq!(
        answered(&db).len(),
        125,
        "every LLM-track item answered after the resume"
    );

    // Map each request the server saw back to its item by the question text it carries.
    let json_text = |s: &str| {
        serde_json::to_string(s)
            .unwrap()
            .trim_matches('"')
            .to_owned()
    };
    let questions: Vec<(String, Vec<String>)> = medbench_demo::items()
        .into_iter()
        .filter(|i| i.track == medbench_core::Track::Llm)
        .map(|i| {
            let parts = std::iter::once(&i.question)
                .chain(&i.context)
                .chain(i.conversation.iter().map(|m| &m.content));
            (i.id.clone(), parts.map(|p| json_text(p)).collect())
        })
        .collect();
    let mut sent: std::collections::HashMap<String, u32> = Default::default();
    for r in server.requests() {
        let body = r.body.to_string();
        // The most specific item whose question, context and turns all appear in the body.
        let (id, _) = questions
            .iter()
            .filter(|(_, parts)| parts.iter().all(|p| body.contains(p.as_str())))
            .max_by_key(|(_, parts)| parts.iter().map(String::len).sum::<usize>())
            .expect("every request carries an item's question");
        *sent.entry(id.clone()).or_default() += 1;
    }
    for id in &finished {
        assert_eq!(
            sent.get(id).copied().unwrap_or(0),
            1,
            "{id} was stored before the kill and must be sent exactly once; sent: {sent:?}"
        );
    }
    let repeats: u32 = sent.values().map(|c| c - 1).sum();
    assert!(
        repeats <= 4,
        "only requests in flight or not yet committed at the kill repeat (got {repeats})"
    );
}

/// Items of the (only) run with a stored answer.
fn answered(db: &Path) -> std::collections::HashSet<String> {
    let bank = medbench_store::SqliteBank::open(db.to_str().unwrap()).unwrap();
    let runs = bank.find_runs("").unwrap();
    bank.answered_items(&runs[0].id).unwrap()
}

#[test]
fn eval_says_why_calls_failed() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("medbench.db");
    assert!(medbench(&db, &["import", "--demo"]).status.success());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(start(FakeConfig {
        failures: vec![FailureRule::new(
            Trigger::Always,
            Failure::Status {
                code: 404,
                retry_after: None,
            },
        )],
        ..Default::default()
    }));
    let url = server.base_url();
    let out = dir.path().join("r404");
    let o = medbench(
        &db,
        &[
            "eval",
            "--model",
            "no-such-model",
            "--base-url",
            &url,
            "--tasks",
            "DemoExam",
            "--limit",
            "3",
            "--out",
            out.to_str().unwrap(),
        ],
    );
    let all = text(&o);
    assert_eq!(o.status.code(), Some(3), "{all}");
    assert!(all.contains("failed calls, by class:"), "{all}");
    assert!(all.contains("http 404 ×3: HTTP 404 from "), "{all}");
    assert!(all.contains("scripted failure"), "the body excerpt: {all}");
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["failures"][0]["class"], "http 404");
    assert_eq!(results["failures"][0]["count"], 3);
    assert_eq!(results["failures"].as_array().unwrap().len(), 1);

    // A closed port, through a models file (one attempt, so no backoff to wait for).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let cfg = dir.path().join("models.toml");
    let out = dir.path().join("rdead");
    std::fs::write(
        &cfg,
        format!(
            "[run]\ntasks = [\"DemoExam\"]\nlimit = 2\nout = {:?}\n\n[[model]]\nname = \"m\"\nbase_url = \"http://127.0.0.1:{port}/v1\"\nmax_attempts = 1\n",
            out.to_str().unwrap()
        ),
    )
    .unwrap();
    let o = medbench(&db, &["eval", "--config", cfg.to_str().unwrap()]);
    let all = text(&o);
    assert_eq!(o.status.code(), Some(3), "{all}");
    assert!(
        all.contains(&format!(
            "connect ×2: transport error from http://127.0.0.1:{port}/v1"
        )),
        "{all}"
    );
    let results: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["failures"][0]["class"], "connect");
    assert_eq!(results["failures"][0]["count"], 2);

    // A malformed --base-url is refused before anything is asked, naming the flag.
    let o = medbench(
        &db,
        &[
            "eval",
            "--model",
            "m",
            "--base-url",
            "127.0.0.1:8080/v1",
            "--tasks",
            "DemoExam",
        ],
    );
    let all = text(&o);
    assert!(!o.status.success());
    assert!(
        all.contains("--base-url (base_url) `127.0.0.1:8080/v1` is not usable"),
        "{all}"
    );
    assert!(!all.contains("overall"), "nothing was evaluated: {all}");
}
