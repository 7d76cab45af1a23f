//! Wire protocols against the fake server: what is sent, what is parsed, how failures are
//! classified (single attempts, no retries).

mod common;

use std::time::Duration;

use base64::Engine;
use common::{client, fake, req};
use medbench_fake_llm::{AnswerPolicy, Failure, FakeConfig, FakeToolCall, Trigger, start};
use medbench_provider::{
    Anthropic, ChatMessage, ChatRequest, ErrorKind, OpenAiCompatible, Part, Provider, Role,
};
use serde_json::json;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\nnot-really-a-png";

fn image_request() -> ChatRequest {
    let mut r = req("unused");
    r.messages = vec![
        ChatMessage::system("You are a radiologist."),
        ChatMessage {
            role: Role::User,
            parts: vec![
                Part::Text("Which lobe? ANSWER_KEY: C".into()),
                Part::Image {
                    media_type: "image/png".into(),
                    data: PNG.to_vec(),
                },
            ],
        },
    ];
    r
}

fn lookup_tool() -> serde_json::Value {
    json!({"type": "function", "function": {"name": "lookup", "description": "drug lookup",
        "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}})
}

#[tokio::test]
async fn openai_happy_path_sends_image_as_data_url_and_parses_answer() {
    let server = start(FakeConfig {
        answer: AnswerPolicy::AnswerKey,
        record: true,
        ..Default::default()
    })
    .await;
    let p = client(&server).with_api_key("sk-test");
    let resp = p.complete(&image_request()).await.unwrap();
    assert_eq!(resp.text, "C");
    assert_eq!(resp.attempts, 1);
    assert_eq!(resp.finish_reason.as_deref(), Some("stop"));
    assert!(resp.usage.unwrap().prompt_tokens > 0);

    let reqs = server.requests();
    assert_eq!(reqs.len(), 1);
    assert_eq!(reqs[0].path, "/v1/chat/completions");
    let body = &reqs[0].body;
    assert_eq!(body["model"], "fake-model");
    assert_eq!(body["temperature"], 0.0);
    assert_eq!(body["max_tokens"], 32);
    assert_eq!(
        body["messages"][0],
        json!({"role": "system", "content": "You are a radiologist."})
    );
    let parts = &body["messages"][1]["content"];
    assert_eq!(parts[0]["type"], "text");
    let b64 = base64::engine::general_purpose::STANDARD.encode(PNG);
    assert_eq!(parts[1]["type"], "image_url");
    assert_eq!(
        parts[1]["image_url"]["url"],
        format!("data:image/png;base64,{b64}")
    );
    let auth = reqs[0]
        .headers
        .iter()
        .find(|(k, _)| k == "authorization")
        .map(|(_, v)| v.as_str());
    assert_eq!(auth, Some("Bearer sk-test"));
}

#[tokio::test]
async fn openai_tool_calls_parsed_from_null_content_and_string_arguments() {
    let server = start(FakeConfig {
        tool_calls: vec![FakeToolCall {
            name: "lookup".into(),
            arguments: json!({"q": "warfarin"}),
        }],
        include_usage: false,
        record: true,
        ..Default::default()
    })
    .await;
    let mut r = req("Interactions of warfarin?");
    r.tools = vec![lookup_tool()];
    let resp = client(&server).complete(&r).await.unwrap();
    assert_eq!(resp.text, "");
    assert_eq!(resp.usage, None, "missing usage is tolerated");
    assert_eq!(resp.finish_reason.as_deref(), Some("tool_calls"));
    assert_eq!(resp.tool_calls.len(), 1);
    assert_eq!(resp.tool_calls[0].name, "lookup");
    assert_eq!(resp.tool_calls[0].arguments, json!({"q": "warfarin"}));
    assert!(resp.tool_calls[0].id.is_some());
    assert_eq!(server.requests()[0].body["tools"][0], lookup_tool());
}

#[tokio::test]
async fn anthropic_happy_path() {
    let server = start(FakeConfig {
        answer: AnswerPolicy::AnswerKey,
        record: true,
        ..Default::default()
    })
    .await;
    let p = Anthropic::new(server.base_url()).with_api_key("ak-test");
    let mut r = image_request();
    r.sampling.max_tokens = None;
    let resp = p.complete(&r).await.unwrap();
    assert_eq!(resp.text, "C");
    assert_eq!(resp.finish_reason.as_deref(), Some("end_turn"));
    assert!(resp.usage.unwrap().completion_tokens > 0);

    let rec = &server.requests()[0];
    assert_eq!(rec.path, "/v1/messages");
    let header = |name: &str| {
        rec.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    };
    assert_eq!(header("x-api-key").as_deref(), Some("ak-test"));
    assert_eq!(header("anthropic-version").as_deref(), Some("2023-06-01"));
    assert_eq!(header("authorization"), None);
    let body = &rec.body;
    assert_eq!(body["system"], "You are a radiologist.");
    assert_eq!(body["max_tokens"], 1024);
    assert_eq!(body["messages"].as_array().unwrap().len(), 1);
    let img = &body["messages"][0]["content"][1];
    assert_eq!(img["type"], "image");
    assert_eq!(img["source"]["media_type"], "image/png");
    assert_eq!(
        img["source"]["data"],
        base64::engine::general_purpose::STANDARD.encode(PNG)
    );
}

#[tokio::test]
async fn anthropic_tool_use() {
    let server = start(FakeConfig {
        tool_calls: vec![FakeToolCall {
            name: "lookup".into(),
            arguments: json!({"q": "x"}),
        }],
        record: true,
        ..Default::default()
    })
    .await;
    let mut r = req("look it up");
    r.tools = vec![lookup_tool()];
    let resp = Anthropic::new(server.base_url())
        .complete(&r)
        .await
        .unwrap();
    assert_eq!(resp.tool_calls[0].name, "lookup");
    assert_eq!(resp.tool_calls[0].arguments, json!({"q": "x"}));
    assert_eq!(resp.finish_reason.as_deref(), Some("tool_use"));
    let tool = &server.requests()[0].body["tools"][0];
    assert_eq!(tool["name"], "lookup");
    assert_eq!(tool["input_schema"]["properties"]["q"]["type"], "string");
}

#[tokio::test]
async fn failures_are_classified() {
    let cases = [
        (Failure::Malformed, ErrorKind::MalformedBody),
        (Failure::EmptyContent, ErrorKind::EmptyAnswer),
        (Failure::NullContent, ErrorKind::EmptyAnswer),
        (
            Failure::RateLimited {
                retry_after: Some("7".into()),
            },
            ErrorKind::RateLimited,
        ),
        (
            Failure::Status {
                code: 500,
                retry_after: None,
            },
            ErrorKind::HttpStatus(500),
        ),
        (
            Failure::Status {
                code: 400,
                retry_after: None,
            },
            ErrorKind::HttpStatus(400),
        ),
    ];
    for (failure, kind) in cases {
        let server = fake(vec![(Trigger::Always, failure.clone())]).await;
        for p in [
            &client(&server) as &dyn Provider,
            &Anthropic::new(server.base_url()),
        ] {
            let err = p.complete(&req("q")).await.unwrap_err();
            assert_eq!(err.kind, kind, "{failure:?} via {}: {err}", p.name());
            assert_eq!(err.attempts, 1);
            if let Failure::RateLimited { .. } = failure {
                assert_eq!(err.retry_after, Some(Duration::from_secs(7)));
            }
        }
    }
}

#[tokio::test]
async fn hang_past_timeout_is_a_timeout() {
    let server = fake(vec![(
        Trigger::Always,
        Failure::Hang(Duration::from_secs(30)),
    )])
    .await;
    let p = OpenAiCompatible::new(server.base_url()).with_timeout(Duration::from_millis(300));
    let err = p.complete(&req("q")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Timeout, "{err}");
}

#[tokio::test]
async fn connection_refused_is_transport() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let p = OpenAiCompatible::new(format!("http://127.0.0.1:{port}/v1"));
    let err = p.complete(&req("q")).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Transport, "{err}");
    assert_eq!(err.kind.as_str(), "transport");
}

#[tokio::test]
async fn pdf_goes_to_anthropic_as_document_and_a_broken_one_is_refused_locally_by_openai() {
    let server = fake(vec![]).await;
    let mut r = req("summarise");
    r.messages[0].parts.push(Part::Image {
        media_type: "application/pdf".into(),
        data: b"%PDF-1.4".to_vec(),
    });
    // A header alone is no PDF: OpenAI-compatible endpoints get rendered pages, and these
    // cannot be rendered.
    let err = client(&server).complete(&r).await.unwrap_err();
    assert_eq!(err.kind, ErrorKind::Render);
    assert!(err.message.contains("does not parse"), "{err}");
    assert_eq!(server.total_requests(), 0, "nothing sent");
    Anthropic::new(server.base_url())
        .complete(&r)
        .await
        .unwrap();
    assert_eq!(
        server.requests()[0].body["messages"][0]["content"][1]["type"],
        "document"
    );
}
