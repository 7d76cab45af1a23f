//! `Reliable` against the fake server: retries, Retry-After, budget, concurrency, rate limits.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{client, fake, quick_policy, reliable, req};
use medbench_fake_llm::{Failure, FakeConfig, Trigger, start};
use medbench_provider::{ErrorKind, Limits, Provider, Reliable, RetryPolicy};

#[tokio::test]
async fn rate_limit_retry_after_is_honoured() {
    let server = fake(vec![(
        Trigger::Nth(1),
        Failure::RateLimited {
            retry_after: Some("1".into()),
        },
    )])
    .await;
    let resp = reliable(&server).complete(&req("q")).await.unwrap();
    assert_eq!(resp.attempts, 2);
    let reqs = server.requests();
    assert_eq!(reqs.len(), 2);
    let gap = reqs[1].at - reqs[0].at;
    // The backoff alone is at most 40 ms; only the header explains a wait of a second.
    assert!(gap >= Duration::from_secs(1), "retried after {gap:?}");
}

#[tokio::test]
async fn retry_after_pauses_the_whole_endpoint() {
    let server = fake(vec![(
        Trigger::Nth(1),
        Failure::RateLimited {
            retry_after: Some("1".into()),
        },
    )])
    .await;
    let p = reliable(&server);
    p.complete(&req("first")).await.unwrap();
    let t0 = std::time::Instant::now();
    // The pause set by the 429 is over by now, so this one is not held back.
    p.complete(&req("second")).await.unwrap();
    assert!(t0.elapsed() < Duration::from_millis(900));

    let server = fake(vec![(
        Trigger::Nth(1),
        Failure::RateLimited {
            retry_after: Some("1".into()),
        },
    )])
    .await;
    let p = Arc::new(reliable(&server));
    let first = tokio::spawn({
        let p = p.clone();
        async move { p.complete(&req("first")).await }
    });
    tokio::time::sleep(Duration::from_millis(200)).await; // the 429 has arrived
    p.complete(&req("other")).await.unwrap();
    first.await.unwrap().unwrap();
    let reqs = server.requests();
    let other = reqs
        .iter()
        .find(|r| r.body.to_string().contains("other"))
        .unwrap();
    assert!(
        other.at - reqs[0].at >= Duration::from_secs(1),
        "other request was not held back"
    );
}

#[tokio::test]
async fn server_error_then_success() {
    let server = fake(vec![(
        Trigger::Nth(1),
        Failure::Status {
            code: 500,
            retry_after: None,
        },
    )])
    .await;
    let resp = reliable(&server).complete(&req("q")).await.unwrap();
    assert_eq!(resp.text, "A");
    assert_eq!(resp.attempts, 2);
    assert_eq!(server.total_requests(), 2);
}

#[tokio::test]
async fn timeout_is_retried() {
    let server = fake(vec![(
        Trigger::Nth(1),
        Failure::Hang(Duration::from_secs(30)),
    )])
    .await;
    let p = Reliable::new(
        client(&server).with_timeout(Duration::from_millis(300)),
        Limits::default(),
        quick_policy(),
    );
    let resp = p.complete(&req("q")).await.unwrap();
    assert_eq!(resp.attempts, 2);
    assert_eq!(server.total_requests(), 2);
}

#[tokio::test]
async fn malformed_body_is_retried_up_to_max_attempts() {
    let server = fake(vec![(Trigger::Always, Failure::Malformed)]).await;
    let policy = RetryPolicy {
        max_attempts: 3,
        ..quick_policy()
    };
    let err = Reliable::new(client(&server), Limits::default(), policy)
        .complete(&req("q"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::MalformedBody);
    assert_eq!(err.attempts, 3);
    assert_eq!(server.total_requests(), 3);
}

#[tokio::test]
async fn empty_answer_is_retried_once() {
    let server = fake(vec![(Trigger::Always, Failure::EmptyContent)]).await;
    let err = reliable(&server).complete(&req("q")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::EmptyAnswer);
    assert_eq!(err.attempts, 2);
    assert_eq!(server.total_requests(), 2);

    let server = fake(vec![(Trigger::Nth(1), Failure::NullContent)]).await;
    let resp = reliable(&server).complete(&req("q")).await.unwrap();
    assert_eq!((resp.text.as_str(), resp.attempts), ("A", 2));
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    for code in [400, 401, 404, 422] {
        let server = fake(vec![(
            Trigger::Always,
            Failure::Status {
                code,
                retry_after: None,
            },
        )])
        .await;
        let err = reliable(&server).complete(&req("q")).await.unwrap_err();
        assert_eq!(err.kind, ErrorKind::HttpStatus(code));
        assert_eq!(err.attempts, 1);
        assert_eq!(server.total_requests(), 1);
    }
    // ...but 408 and 409 are.
    for code in [408, 409] {
        let server = fake(vec![(
            Trigger::Nth(1),
            Failure::Status {
                code,
                retry_after: None,
            },
        )])
        .await;
        assert_eq!(
            reliable(&server)
                .complete(&req("q"))
                .await
                .unwrap()
                .attempts,
            2
        );
    }
}

#[tokio::test]
async fn budget_exhausted_reports_attempts() {
    let server = fake(vec![(
        Trigger::Always,
        Failure::RateLimited {
            retry_after: Some("0.4".into()),
        },
    )])
    .await;
    let policy = RetryPolicy {
        max_attempts: 100,
        budget: Duration::from_secs(1),
        ..quick_policy()
    };
    let t0 = std::time::Instant::now();
    let err = Reliable::new(client(&server), Limits::default(), policy)
        .complete(&req("q"))
        .await
        .unwrap_err();
    assert_eq!(err.kind, ErrorKind::BudgetExhausted, "{err}");
    assert_eq!(err.kind.as_str(), "budget_exhausted");
    assert!(err.attempts >= 2 && err.attempts <= 3, "{err}");
    assert_eq!(u64::from(err.attempts), server.total_requests());
    assert!(err.message.contains("rate_limited"), "{err}");
    assert!(
        t0.elapsed() < Duration::from_secs(2),
        "gave up late: {:?}",
        t0.elapsed()
    );
}

#[tokio::test]
async fn transport_errors_are_retried_to_max_attempts() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = Reliable::new(
        medbench_provider::OpenAiCompatible::new(format!("http://127.0.0.1:{port}/v1")),
        Limits::default(),
        RetryPolicy {
            max_attempts: 3,
            ..quick_policy()
        },
    );
    let err = p.complete(&req("q")).await.unwrap_err();
    assert_eq!((err.kind, err.attempts), (ErrorKind::Transport, 3));
}

async fn max_in_flight_with(concurrency: usize) -> usize {
    let server = start(FakeConfig {
        latency: Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let limits = Limits {
        concurrency,
        ..Limits::default()
    };
    let p = Arc::new(Reliable::new(client(&server), limits, quick_policy()));
    let tasks: Vec<_> = (0..12)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move { p.complete(&req(&format!("q{i}"))).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    assert_eq!(server.total_requests(), 12);
    assert_eq!(server.max_repeats(), 1, "no request sent twice");
    server.max_in_flight()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrency_bound_is_respected() {
    assert_eq!(max_in_flight_with(3).await, 3);
    // Without the bound the same load overlaps more, so the check above can fail.
    assert!(max_in_flight_with(12).await > 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_per_minute_spaces_requests() {
    let server = fake(vec![]).await;
    // 120/min = 2/s with one second of burst: arrivals at 0, 0, 0.5, 1.0, 1.5, 2.0 s.
    let limits = Limits {
        concurrency: 16,
        requests_per_minute: Some(120),
        tokens_per_minute: None,
    };
    let p = Arc::new(Reliable::new(client(&server), limits, quick_policy()));
    let tasks: Vec<_> = (0..6)
        .map(|i| {
            let p = p.clone();
            tokio::spawn(async move { p.complete(&req(&format!("q{i}"))).await })
        })
        .collect();
    for t in tasks {
        t.await.unwrap().unwrap();
    }
    let at: Vec<_> = server.requests().iter().map(|r| r.at).collect();
    assert_eq!(at.len(), 6);
    let span = at[5] - at[0];
    assert!(
        span >= Duration::from_millis(1900),
        "6 requests in {span:?}"
    );
    for w in at[2..].windows(2) {
        assert!(
            w[1] - w[0] >= Duration::from_millis(400),
            "gap {:?}",
            w[1] - w[0]
        );
    }
}

#[tokio::test]
async fn tokens_per_minute_spaces_requests() {
    // No usage reported, so the estimate stands: 1 char / 4 + 100 = 100 tokens a request.
    let server = start(FakeConfig {
        include_usage: false,
        ..Default::default()
    })
    .await;
    // 6000 tokens/min = 100/s with a bucket of 100: one request a second.
    let limits = Limits {
        concurrency: 4,
        requests_per_minute: None,
        tokens_per_minute: Some(6000),
    };
    let p = Reliable::new(client(&server), limits, quick_policy());
    let mut r = req("q");
    r.sampling.max_tokens = Some(100);
    let t0 = std::time::Instant::now();
    for _ in 0..3 {
        p.complete(&r).await.unwrap();
    }
    let took = t0.elapsed();
    // Unlimited this takes milliseconds.
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    assert!(took < Duration::from_secs(4), "{took:?}");
}
