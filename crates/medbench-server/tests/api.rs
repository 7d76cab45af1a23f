//! The API as a submitter and an operator use it: uploads and their errors,
//! hostile zips, endpoint registration and the worker, limits, metrics, openapi.

mod common;
use common::*;

use medbench_fake_llm::{FakeConfig, start as fake};
use serde_json::{Value, json};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_upload_is_scored_and_bad_uploads_get_clear_errors() {
    let f = demo_bank();
    let base = start(config(&f.db)).await;
    let c = client();
    let sub = &f.tokens["submitter"];
    let zip = llm_zip(&c, &base, sub).await;
    // Questions only: every row's answer is blank.
    for (name, bytes) in unzip(&zip)
        .into_iter()
        .filter(|(n, _)| n.ends_with(".jsonl"))
    {
        for l in String::from_utf8(bytes)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let v: Value = serde_json::from_str(l).unwrap();
            assert_eq!(v["answer"], "", "{name}");
        }
    }
    let (s, out) = upload(&c, &base, sub, "always-a", filled(&zip, "A")).await;
    assert_eq!(s, 201, "{out}");
    assert!(out["answered"].as_u64().unwrap() > 20, "{out}");
    assert_eq!(out["published"], false);
    let run = out["run_id"].as_str().unwrap();
    let r: Value = get_json(&c, &format!("{base}/api/v1/runs/{run}"), sub).await;
    assert_eq!(r["model"]["name"], "always-a");
    assert!(r["tasks"].as_object().unwrap().len() > 5);

    // A truncated last line and an unknown id are named by file and line.
    let mut files = unzip(&zip);
    files.retain(|n, _| n.ends_with(".jsonl"));
    let (first, text) = files.iter_mut().next().unwrap();
    let first = first.clone();
    let mut lines: Vec<String> = String::from_utf8(text.clone())
        .unwrap()
        .lines()
        .map(String::from)
        .collect();
    lines[0] = lines[0]
        .replace("\"answer\": \"\"", "\"answer\": \"A\"")
        .replace("\"answer\":\"\"", "\"answer\":\"A\"");
    lines.push(
        r#"{"question": "?", "answer": "A", "other": {"id": "not-an-instance", "source": "x"}}"#
            .into(),
    );
    lines.push(r#"{"question": "?", "answer": "A", "oth"#.into());
    let bad = zip_of(&[(first.as_str(), lines.join("\n").as_bytes())]);
    let (s, out) = upload(&c, &base, sub, "sloppy", bad).await;
    assert_eq!(s, 201, "{out}");
    let issues = out["issues"].to_string();
    assert!(
        issues.contains(&format!("upload.zip!{first}:{}", lines.len() - 1)),
        "{issues}"
    );
    assert!(issues.contains("not-an-instance"), "{issues}");
    // Tasks left unanswered are listed apart from the rows that were wrong.
    let missing = out["missing"].to_string();
    assert!(
        missing.contains("have no row") && !issues.contains("have no row"),
        "{missing}"
    );
    assert!(
        !issues.contains("/tmp"),
        "server paths stay out of messages: {issues}"
    );

    // Not a submission at all, no model, an empty body, an unknown round.
    let (s, out) = upload(&c, &base, sub, "x", b"hello world".to_vec()).await;
    assert_eq!(s, 400, "{out}");
    assert!(
        out["error"].as_str().unwrap().contains("no usable answer"),
        "{out}"
    );
    let r = c
        .post(format!("{base}/api/v1/submissions"))
        .bearer_auth(sub)
        .body(filled(&zip, "A"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("model"));
    let (s, _) = upload(&c, &base, sub, "x", Vec::new()).await;
    assert_eq!(s, 400);
    let r = c
        .post(format!("{base}/api/v1/submissions?model=x&round=nope"))
        .bearer_auth(sub)
        .body(filled(&zip, "A"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_zips_are_refused() {
    let f = demo_bank();
    let mut cfg = config(&f.db);
    cfg.max_unpacked_bytes = 1 << 20;
    cfg.max_zip_entries = 50;
    let base = start(cfg).await;
    let c = client();
    let sub = &f.tokens["submitter"];
    // 8 MiB of zeros compress to a few KiB: it must not be expanded past the limit.
    let zeros = vec![b'0'; 8 << 20];
    let bomb = zip_of(&[("MedExam.jsonl", &zeros)]);
    assert!(bomb.len() < 100 << 10, "{}", bomb.len());
    let (s, out) = upload(&c, &base, sub, "x", bomb).await;
    assert_eq!(s, 400, "{out}");
    assert!(
        out["error"].as_str().unwrap().contains("more than 1 MiB"),
        "{out}"
    );
    // An entry that climbs out of the archive.
    let evil = zip_of(&[("../../etc/cron.d/evil.jsonl", b"{}")]);
    let (s, out) = upload(&c, &base, sub, "x", evil).await;
    assert_eq!(s, 400, "{out}");
    assert!(
        out["error"].as_str().unwrap().contains("climbs out"),
        "{out}"
    );
    let abs = zip_of(&[("/etc/evil.jsonl", b"{}")]);
    assert_eq!(upload(&c, &base, sub, "x", abs).await.0, 400);
    // Too many entries.
    let names: Vec<String> = (0..60).map(|i| format!("f{i}.txt")).collect();
    let many: Vec<(&str, &[u8])> = names.iter().map(|n| (n.as_str(), &b"x"[..])).collect();
    let (s, out) = upload(&c, &base, sub, "x", zip_of(&many)).await;
    assert_eq!(s, 400, "{out}");
    assert!(
        out["error"].as_str().unwrap().contains("60 entries"),
        "{out}"
    );
    assert!(!std::path::Path::new("/etc/cron.d/evil.jsonl").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_endpoints_are_refused_unless_allowed() {
    let f = demo_bank();
    let base = start(config(&f.db)).await;
    let c = client();
    let sub = &f.tokens["submitter"];
    for url in [
        "http://127.0.0.1:8080/v1",
        "http://localhost:11434/v1",
        "http://169.254.169.254/latest",
        "http://10.0.0.5/v1",
        "http://[::1]:8000/v1",
        "file:///etc/passwd",
    ] {
        let r = c
            .post(format!("{base}/api/v1/jobs"))
            .bearer_auth(sub)
            .json(&json!({"base_url": url, "model": "m"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 400, "{url}");
        let e = r.json::<Value>().await.unwrap()["error"]
            .as_str()
            .unwrap()
            .to_owned();
        assert!(e.starts_with("base_url:"), "{url}: {e}");
    }
    // The form says why, and keeps what was typed (never the key).
    let r = c
        .post(format!("{base}/endpoints"))
        .bearer_auth(sub)
        .form(&[
            ("base_url", "http://127.0.0.1:9/v1"),
            ("model", "typed-model"),
            ("api_key", "sk-form-key"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("id=\"endpoint-error\"") && page.contains("value=\"typed-model\""),
        "{page}"
    );
    assert!(!page.contains("sk-form-key"));
    // Unknown fields are errors, not silently dropped.
    let r = c
        .post(format!("{base}/api/v1/jobs"))
        .bearer_auth(sub)
        .json(&json!({"base_url": "http://8.8.8.8/v1", "model": "m", "modle": "x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("unknown field `modle`"));
}

async fn wait_job(c: &reqwest::Client, base: &str, token: &str, id: i64) -> Value {
    for _ in 0..600 {
        let j: Value = get_json(c, &format!("{base}/api/v1/jobs/{id}"), token).await;
        if j["status"] == "finished" || j["status"] == "failed" {
            return j;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("job {id} did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_registered_endpoint_is_evaluated_by_the_worker_with_its_key() {
    let model = fake(FakeConfig {
        record: true,
        ..Default::default()
    })
    .await;
    let f = demo_bank();
    let mut cfg = config(&f.db);
    cfg.allow_private_endpoints = true; // the fake model listens on loopback
    let base = start(cfg).await;
    let c = client();
    let sub = &f.tokens["submitter"];
    let r = c
        .post(format!("{base}/api/v1/jobs"))
        .bearer_auth(sub)
        .json(&json!({"base_url": model.base_url(), "model": "fake-7b", "api_key": "sk-job-secret-42", "round": "r1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let j = wait_job(&c, &base, sub, id).await;
    assert_eq!(j["status"], "finished", "{j}");
    assert_eq!(j["done"], j["total"], "{j}");
    let run = j["run_id"].as_str().unwrap();
    // The key reached the endpoint, and only the endpoint.
    let reqs = model.requests();
    assert!(!reqs.is_empty());
    assert!(
        reqs.iter().all(|r| r
            .headers
            .iter()
            .any(|(k, v)| k == "authorization" && v == "Bearer sk-job-secret-42")),
        "{:?}",
        reqs[0].headers
    );
    let bank = medbench_store::SqliteBank::open(&f.db).unwrap();
    let stored = bank.run(run).unwrap().unwrap();
    assert!(!format!("{stored:?}").contains("sk-job-secret-42"));
    let sealed: Vec<u8> = bank
        .connection()
        .query_row("SELECT sealed_key FROM jobs WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .unwrap();
    assert!(!String::from_utf8_lossy(&sealed).contains("sk-job-secret"));
    let board: Value = get_json(&c, &format!("{base}/api/v1/leaderboard"), sub).await;
    assert!(
        board["rows"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["run_id"] == run && r["source"] == "endpoint"),
        "{board}"
    );
    let list: Value = get_json(&c, &format!("{base}/api/v1/jobs"), sub).await;
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert!(!list.to_string().contains("sk-job-secret-42"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_metrics_health_and_the_api_description() {
    let f = demo_bank();
    let mut cfg = config(&f.db);
    cfg.rate_limit_per_minute = 5;
    cfg.max_body_bytes = 64 << 10;
    let base = start(cfg).await;
    let c = client();
    let v = &f.tokens["viewer"];
    let mut codes = Vec::new();
    for _ in 0..7 {
        let r = c
            .get(format!("{base}/api/v1/me"))
            .bearer_auth(v)
            .send()
            .await
            .unwrap();
        codes.push((
            r.status().as_u16(),
            r.headers().get("retry-after").is_some(),
        ));
    }
    assert_eq!(codes[..5], [(200, false); 5]);
    assert_eq!(codes[5], (429, true));
    // Another token has its own bucket.
    let r = c
        .get(format!("{base}/api/v1/me"))
        .bearer_auth(&f.tokens["admin"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // Too large a body is refused before it is read.
    let r = c
        .post(format!("{base}/api/v1/submissions?model=x"))
        .bearer_auth(&f.tokens["submitter"])
        .body(vec![b'x'; 200 << 10])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    // Health and metrics need no token and are not rate limited.
    for _ in 0..10 {
        assert_eq!(
            c.get(format!("{base}/healthz"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap(),
            "ok"
        );
    }
    let m = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        m.contains(
            "medbench_http_requests_total{method=\"GET\",route=\"/api/v1/me\",status=\"429\"}"
        ),
        "{m}"
    );
    assert!(m.contains("medbench_rate_limited_total 2"), "{m}");
    assert!(m.contains("medbench_http_request_duration_seconds_bucket{method=\"GET\",route=\"/healthz\",le=\"+Inf\"} 10"), "{m}");
    // The description lists every API route of the table, with its security.
    let doc: Value = c
        .get(format!("{base}/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(doc["openapi"], "3.1.0");
    for r in medbench_server::ROUTES.iter().filter(|r| r.api) {
        let op = &doc["paths"][r.path.replace("{*", "{")][r.method.to_lowercase()];
        assert!(op.is_object(), "{} {} missing", r.method, r.path);
        assert_eq!(
            op["security"].as_array().unwrap().is_empty(),
            r.cap.is_none(),
            "{}",
            r.path
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_job_whose_endpoint_refuses_every_call_fails_and_is_not_published() {
    use medbench_fake_llm::{Failure, FailureRule, Trigger};
    let model = fake(FakeConfig {
        failures: vec![FailureRule::new(
            Trigger::Always,
            Failure::Status {
                code: 401,
                retry_after: None,
            },
        )],
        ..Default::default()
    })
    .await;
    let f = demo_bank();
    let mut cfg = config(&f.db);
    cfg.allow_private_endpoints = true;
    cfg.auto_publish = true;
    let base = start(cfg).await;
    let c = client();
    let sub = &f.tokens["submitter"];
    let r = c
        .post(format!("{base}/api/v1/jobs"))
        .bearer_auth(sub)
        .json(&json!({"base_url": model.base_url(), "model": "m", "api_key": "wrong"}))
        .send()
        .await
        .unwrap();
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let j = wait_job(&c, &base, sub, id).await;
    assert_eq!(j["status"], "failed", "{j}");
    let e = j["error"].as_str().unwrap_or_default();
    assert!(
        e.contains("every call to the endpoint failed") && e.contains("401"),
        "{j}"
    );
    // Its run exists for its owner, but even auto-publish leaves it off others' boards.
    let board: Value = get_json(
        &c,
        &format!("{base}/api/v1/leaderboard"),
        &f.tokens["viewer"],
    )
    .await;
    assert!(board["rows"].as_array().unwrap().is_empty(), "{board}");
    let run: Value = get_json(
        &c,
        &format!("{base}/api/v1/runs/{}", j["run_id"].as_str().unwrap()),
        sub,
    )
    .await;
    assert!(
        run["items"]["errors"].as_u64().unwrap() > 0,
        "{}",
        run["items"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_upload_form_takes_several_track_zips_as_one_submission() {
    let f = demo_bank();
    let base = start(config(&f.db)).await;
    let c = client();
    let sub = &f.tokens["submitter"];
    let get = |name: &'static str| {
        let (c, base, sub) = (c.clone(), base.clone(), sub.clone());
        async move {
            c.get(format!("{base}/api/v1/rounds/current/files/{name}"))
                .bearer_auth(&sub)
                .send()
                .await
                .unwrap()
                .bytes()
                .await
                .unwrap()
                .to_vec()
        }
    };
    let llm = filled(&get("MedBench_LLM.zip").await, "A");
    let agent = filled(&get("MedBench_Agent.zip").await, "A");
    let (_, one) = upload(&c, &base, sub, "solo", llm.clone()).await;
    let form = reqwest::multipart::Form::new()
        .text("model", "both")
        .part(
            "file",
            reqwest::multipart::Part::bytes(llm).file_name("MedBench_LLM.zip"),
        )
        .part(
            "file",
            reqwest::multipart::Part::bytes(agent).file_name("MedBench_Agent.zip"),
        );
    let r = c
        .post(format!("{base}/submit"))
        .bearer_auth(sub)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("Submission scored"), "{page}");
    let runs: Value = get_json(&c, &format!("{base}/api/v1/runs"), sub).await;
    let both = runs
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "both")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res: Value = get_json(&c, &format!("{base}/api/v1/runs/{both}"), sub).await;
    let answered = res["manifest"]["submission"]["rows"].as_u64().unwrap();
    assert!(
        answered > one["answered"].as_u64().unwrap(),
        "{answered} vs {one}"
    );
    // A form with no file is a clear error on the form itself.
    let form = reqwest::multipart::Form::new().text("model", "none");
    let r = c
        .post(format!("{base}/submit"))
        .bearer_auth(sub)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("the upload is empty"));
}
