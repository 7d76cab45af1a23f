//! The server's optional `[judge]`: uploads and live jobs have their open-ended answers
//! judged, verdicts are reused, and a bad table stops the server at start.

mod common;
use common::*;

use medbench_fake_llm::{AnswerPolicy, FakeConfig, FakeServer, start as fake};
use medbench_server::{JudgeConfig, ServerConfig};
use serde_json::{Value, json};
use std::time::Duration;

/// A judge that covers every key point, finds every rubric criterion met and rates every
/// scale dimension 5.
async fn generous_judge() -> FakeServer {
    fake(FakeConfig {
        answer: AnswerPolicy::custom(|prompt| {
            if prompt.contains("<key_points>") {
                let n = prompt
                    .split("<key_points>")
                    .nth(1)
                    .and_then(|r| r.split("</key_points>").next())
                    .map(|p| p.trim().lines().count())
                    .unwrap_or(0);
                let list: Vec<String> = (1..=n)
                    .map(|i| format!("{{\"point\": {i}, \"covered\": true}}"))
                    .collect();
                format!("{{\"key_points\": [{}]}}", list.join(", "))
            } else if prompt.contains("<criterion") {
                r#"{"explanation": "ok", "criteria_met": true}"#.into()
            } else {
                r#"{"accuracy": 5, "completeness": 5, "safety": 5, "readability": 5}"#.into()
            }
        }),
        ..Default::default()
    })
    .await
}

fn with_judge(db: &str, judge: &FakeServer) -> ServerConfig {
    let mut cfg = config(db);
    cfg.judge = Some(
        toml::from_str(&format!(
            "model = \"fake-judge\"\nbase_url = \"{}\"\nname = \"srv-judge\"\nconcurrency = 2",
            judge.base_url()
        ))
        .unwrap(),
    );
    cfg
}

/// Scores of a run: item id → (scorer, value).
fn scores(db: &str, run: &str) -> Vec<(String, String, f64)> {
    let bank = medbench_store::SqliteBank::open(db).unwrap();
    bank.scores(run)
        .unwrap()
        .into_iter()
        .map(|s| (s.item_id, s.scorer, s.value))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_is_judged_and_the_same_upload_again_sends_no_judge_call() {
    let judge = generous_judge().await;
    let f = demo_bank();
    let base = start(with_judge(&f.db, &judge)).await;
    let c = client();
    let sub = &f.tokens["submitter"];
    let zip = llm_zip(&c, &base, sub).await;
    let (s, out) = upload(&c, &base, sub, "judged", filled(&zip, "A")).await;
    assert_eq!(s, 201, "{out}");
    let run = out["run_id"].as_str().unwrap().to_owned();
    let judged: Vec<_> = scores(&f.db, &run)
        .into_iter()
        .filter(|(_, scorer, _)| scorer.starts_with("judge:"))
        .collect();
    assert!(!judged.is_empty(), "open answers were not judged");
    assert!(
        judged.iter().all(|(_, s, _)| s.contains(":srv-judge@")),
        "{judged:?}"
    );
    // Every key point covered: recall 1 (rubric penalties, also "met", cost points).
    assert!(
        judged
            .iter()
            .filter(|(_, s, _)| s.starts_with("judge:key_points:"))
            .all(|(_, _, v)| *v == 1.0),
        "{judged:?}"
    );
    assert!(
        judged
            .iter()
            .any(|(_, s, _)| s.starts_with("judge:key_points:")),
        "{judged:?}"
    );
    let calls = judge.total_requests();
    assert!(calls > 0);
    let r: Value = get_json(&c, &format!("{base}/api/v1/runs/{run}"), sub).await;
    assert_eq!(r["judging"]["judges"][0]["name"], "srv-judge", "{r}");

    let (s, again) = upload(&c, &base, sub, "judged", filled(&zip, "A")).await;
    assert_eq!(s, 201, "{again}");
    assert_eq!(again["run_id"], out["run_id"]);
    assert_eq!(judge.total_requests(), calls, "stored verdicts are reused");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_job_is_judged() {
    let judge = generous_judge().await;
    let model = fake(FakeConfig::default()).await;
    let f = demo_bank();
    let mut cfg = with_judge(&f.db, &judge);
    cfg.allow_private_endpoints = true; // the fake model listens on loopback
    let base = start(cfg).await;
    let c = client();
    let sub = &f.tokens["submitter"];
    let r = c
        .post(format!("{base}/api/v1/jobs"))
        .bearer_auth(sub)
        .json(&json!({"base_url": model.base_url(), "model": "fake-7b", "round": "r1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let mut job = Value::Null;
    for _ in 0..600 {
        job = get_json(&c, &format!("{base}/api/v1/jobs/{id}"), sub).await;
        if job["status"] == "finished" || job["status"] == "failed" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(job["status"], "finished", "{job}");
    let run = job["run_id"].as_str().unwrap();
    let judged = scores(&f.db, run)
        .into_iter()
        .filter(|(_, s, _)| s.starts_with("judge:") && s.contains(":srv-judge@"))
        .count();
    assert!(judged > 0, "the job's open answers were not judged");
    assert!(judge.total_requests() > 0);
}

#[test]
fn a_judge_table_is_read_and_a_missing_key_variable_is_an_error_at_start() {
    let cfg: ServerConfig = toml::from_str(
        "db = \"x.db\"\n[judge]\nmodel = \"gpt-4.1\"\nbase_url = \"https://api.example.com/v1\"\nprovider = \"anthropic\"\nconcurrency = 3\n",
    )
    .unwrap();
    let j = cfg.judge.as_ref().unwrap();
    assert_eq!(j.concurrency, Some(3));
    let built = j.build().unwrap();
    assert_eq!(built.name, "gpt-4.1");
    assert!(
        built.endpoint.starts_with("anthropic:"),
        "{}",
        built.endpoint
    );

    let bad: JudgeConfig = toml::from_str(
        "model = \"m\"\nbase_url = \"https://api.example.com/v1\"\napi_key_env = \"MEDBENCH_TEST_UNSET_JUDGE_KEY\"\n",
    )
    .unwrap();
    let e = bad.build().unwrap_err().to_string();
    assert!(e.contains("MEDBENCH_TEST_UNSET_JUDGE_KEY"), "{e}");

    let unknown =
        toml::from_str::<ServerConfig>("[judge]\nmodel = \"m\"\nbase_url = \"u\"\nmodle = 1\n");
    assert!(unknown.is_err());
}
