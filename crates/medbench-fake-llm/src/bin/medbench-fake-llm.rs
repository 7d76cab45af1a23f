//! `medbench-fake-llm`: run the fake OpenAI/Anthropic-compatible server for load tests.
//!
//! ```text
//! medbench-fake-llm --port 8080 --latency-ms 50 --mode answer-key --fail 429 --fail-rate 0.05
//! ```

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use medbench_fake_llm::{
    AnswerPolicy, Failure, FailureRule, FakeConfig, FakeToolCall, Trigger, try_start_at,
};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Mode {
    /// Always the `--answer` text.
    Fixed,
    /// The last user message back.
    Echo,
    /// The letters after `ANSWER_KEY:` in the last user message.
    AnswerKey,
    /// A tool call (`--tool-name`, arguments `{}`) instead of text.
    Tools,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FailKind {
    /// 429 with `Retry-After: --retry-after`.
    #[value(name = "429")]
    RateLimited,
    /// 500.
    #[value(name = "500")]
    ServerError,
    /// 503 with `Retry-After: --retry-after`.
    #[value(name = "503")]
    Unavailable,
    /// Hang for `--hang-ms`.
    Hang,
    /// A body that is not JSON.
    Malformed,
    /// Empty content.
    Empty,
    /// Null content without tool calls.
    Null,
}

/// A fake OpenAI-compatible (/v1/chat/completions) and Anthropic-compatible (/v1/messages)
/// chat server with fixed latency and scripted failures.
#[derive(Debug, Parser)]
#[command(name = "medbench-fake-llm", version)]
struct Args {
    /// Port on 127.0.0.1 (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// Latency added to every request, in milliseconds.
    #[arg(long, default_value_t = 0)]
    latency_ms: u64,
    /// How answers are made.
    #[arg(long, value_enum, default_value_t = Mode::Fixed)]
    mode: Mode,
    /// The answer text in `fixed` mode.
    #[arg(long, default_value = "A")]
    answer: String,
    /// Function name in `tools` mode.
    #[arg(long, default_value = "lookup")]
    tool_name: String,
    /// Failure to inject.
    #[arg(long, value_enum)]
    fail: Option<FailKind>,
    /// Fraction of requests that fail (with --fail).
    #[arg(long, default_value_t = 0.1)]
    fail_rate: f64,
    /// Seed deciding which requests fail.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Retry-After seconds sent with 429/503.
    #[arg(long, default_value_t = 1)]
    retry_after: u64,
    /// How long a `hang` failure hangs, in milliseconds.
    #[arg(long, default_value_t = 600_000)]
    hang_ms: u64,
    /// Leave out token usage.
    #[arg(long)]
    no_usage: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let answer = match args.mode {
        Mode::Fixed | Mode::Tools => AnswerPolicy::Fixed(args.answer.clone()),
        Mode::Echo => AnswerPolicy::Echo,
        Mode::AnswerKey => AnswerPolicy::AnswerKey,
    };
    let tool_calls = match args.mode {
        Mode::Tools => vec![FakeToolCall {
            name: args.tool_name.clone(),
            arguments: serde_json::json!({}),
        }],
        _ => Vec::new(),
    };
    let retry_after = Some(args.retry_after.to_string());
    let failures = args
        .fail
        .map(|kind| {
            let failure = match kind {
                FailKind::RateLimited => Failure::RateLimited {
                    retry_after: retry_after.clone(),
                },
                FailKind::ServerError => Failure::Status {
                    code: 500,
                    retry_after: None,
                },
                FailKind::Unavailable => Failure::Status {
                    code: 503,
                    retry_after: retry_after.clone(),
                },
                FailKind::Hang => Failure::Hang(Duration::from_millis(args.hang_ms)),
                FailKind::Malformed => Failure::Malformed,
                FailKind::Empty => Failure::EmptyContent,
                FailKind::Null => Failure::NullContent,
            };
            let when = Trigger::Fraction {
                p: args.fail_rate.clamp(0.0, 1.0),
                seed: args.seed,
            };
            vec![FailureRule::new(when, failure)]
        })
        .unwrap_or_default();
    let config = FakeConfig {
        latency: Duration::from_millis(args.latency_ms),
        answer,
        failures,
        tool_calls,
        include_usage: !args.no_usage,
        record: false,
    };
    let server = try_start_at(config, SocketAddr::from(([127, 0, 0, 1], args.port))).await?;
    println!("{}", server.base_url());
    tokio::signal::ctrl_c().await?;
    eprintln!(
        "requests: {}  distinct bodies: {}  max in flight: {}",
        server.total_requests(),
        server.distinct_bodies(),
        server.max_in_flight()
    );
    server.shutdown().await;
    Ok(())
}
