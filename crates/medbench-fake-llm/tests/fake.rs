//! The fake server seen from a plain HTTP client.

use std::time::{Duration, Instant};

use medbench_fake_llm::{
    AnswerPolicy, Failure, FailureRule, FakeConfig, FakeToolCall, Trigger, start,
};
use serde_json::{Value, json};

/// A plain-HTTP client. A TLS crypto provider must exist when another crate of the build
/// (medbench-provider) compiles reqwest with `rustls-no-provider`.
fn client() -> reqwest::Client {
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::new()
}

fn chat(text: &str) -> Value {
    json!({"model": "m", "messages": [{"role": "user", "content": text}]})
}

async fn post(url: &str, body: &Value) -> (u16, reqwest::header::HeaderMap, String) {
    let resp = client().post(url).json(body).send().await.unwrap();
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    (status, headers, resp.text().await.unwrap())
}

#[tokio::test]
async fn answers_both_protocols_and_counts_bodies() {
    let server = start(FakeConfig {
        answer: AnswerPolicy::AnswerKey,
        ..Default::default()
    })
    .await;
    let base = server.base_url();
    assert!(base.starts_with("http://127.0.0.1:") && base.ends_with("/v1"));
    let (status, _, body) = post(&format!("{base}/chat/completions"), &chat("ANSWER_KEY: D")).await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], "D");
    assert_eq!(v["model"], "m");
    assert!(v["usage"]["prompt_tokens"].as_u64().unwrap() > 0);

    let (_, _, body) = post(&format!("{base}/messages"), &chat("ANSWER_KEY: B")).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["content"][0], json!({"type": "text", "text": "B"}));
    assert_eq!(v["stop_reason"], "end_turn");

    post(&format!("{base}/chat/completions"), &chat("ANSWER_KEY: D")).await;
    assert_eq!(server.total_requests(), 3);
    assert_eq!(server.distinct_bodies(), 2);
    assert_eq!(server.max_repeats(), 2);
    assert_eq!(server.in_flight(), 0);
}

#[tokio::test]
async fn scripted_failures() {
    let rules = vec![
        FailureRule::new(
            Trigger::Nth(1),
            Failure::RateLimited {
                retry_after: Some("3".into()),
            },
        ),
        FailureRule::new(
            Trigger::Nth(2),
            Failure::Status {
                code: 503,
                retry_after: None,
            },
        ),
        FailureRule::new(Trigger::Nth(3), Failure::Malformed),
        FailureRule::new(Trigger::Nth(4), Failure::NullContent),
        FailureRule::new(Trigger::Nth(5), Failure::EmptyContent),
    ];
    let server = start(FakeConfig {
        failures: rules,
        ..Default::default()
    })
    .await;
    let url = format!("{}/chat/completions", server.base_url());
    let (status, headers, _) = post(&url, &chat("q")).await;
    assert_eq!(status, 429);
    assert_eq!(headers.get("retry-after").unwrap(), "3");
    assert_eq!(post(&url, &chat("q")).await.0, 503);
    let (status, _, body) = post(&url, &chat("q")).await;
    assert_eq!(status, 200);
    assert!(serde_json::from_str::<Value>(&body).is_err());
    let (_, _, body) = post(&url, &chat("q")).await;
    let v: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["choices"][0]["message"]["content"], Value::Null);
    assert!(v["choices"][0]["message"].get("tool_calls").is_none());
    let (_, _, body) = post(&url, &chat("q")).await;
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["choices"][0]["message"]["content"],
        ""
    );
    let (status, _, body) = post(&url, &chat("q")).await;
    assert_eq!(status, 200);
    assert_eq!(
        serde_json::from_str::<Value>(&body).unwrap()["choices"][0]["message"]["content"],
        "A"
    );
}

#[tokio::test]
async fn tool_call_mode() {
    let server = start(FakeConfig {
        tool_calls: vec![FakeToolCall {
            name: "calc".into(),
            arguments: json!({"x": 2}),
        }],
        ..Default::default()
    })
    .await;
    let (_, _, body) = post(
        &format!("{}/chat/completions", server.base_url()),
        &chat("q"),
    )
    .await;
    let v: Value = serde_json::from_str(&body).unwrap();
    let msg = &v["choices"][0]["message"];
    assert_eq!(msg["content"], Value::Null);
    assert_eq!(msg["tool_calls"][0]["function"]["name"], "calc");
    assert_eq!(msg["tool_calls"][0]["function"]["arguments"], "{\"x\":2}");
    assert_eq!(v["choices"][0]["finish_reason"], "tool_calls");
}

#[tokio::test]
async fn latency_and_shutdown_releases_hangs() {
    let server = start(FakeConfig {
        latency: Duration::from_millis(150),
        failures: vec![FailureRule::new(
            Trigger::Nth(2),
            Failure::Hang(Duration::from_secs(60)),
        )],
        ..Default::default()
    })
    .await;
    let url = format!("{}/chat/completions", server.base_url());
    let t0 = Instant::now();
    post(&url, &chat("q")).await;
    assert!(t0.elapsed() >= Duration::from_millis(150));
    let hanging = tokio::spawn({
        let url = url.clone();
        async move { client().post(url).json(&chat("q")).send().await }
    });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(server.in_flight(), 1);
    let t1 = Instant::now();
    server.shutdown().await;
    let _ = tokio::time::timeout(Duration::from_secs(5), hanging)
        .await
        .expect("hang released");
    assert!(t1.elapsed() < Duration::from_secs(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_many_concurrent_requests() {
    let server = start(FakeConfig::default()).await;
    let url = format!("{}/chat/completions", server.base_url());
    let client = client();
    let t0 = Instant::now();
    let tasks: Vec<_> = (0..16)
        .map(|w| {
            let (client, url) = (client.clone(), url.clone());
            tokio::spawn(async move {
                for i in 0..125 {
                    let body = chat(&format!("w{w} q{i}"));
                    let resp = client.post(&url).json(&body).send().await.unwrap();
                    assert_eq!(resp.status(), 200);
                    resp.bytes().await.unwrap();
                }
            })
        })
        .collect();
    for t in tasks {
        t.await.unwrap();
    }
    let secs = t0.elapsed().as_secs_f64();
    eprintln!("2000 requests in {secs:.2} s ({:.0}/s)", 2000.0 / secs);
    assert_eq!(server.total_requests(), 2000);
    assert_eq!(server.distinct_bodies(), 2000);
    assert_eq!(server.max_repeats(), 1);
    assert!(server.max_in_flight() <= 16);
}
