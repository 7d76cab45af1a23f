//! The evaluation engine against a fake OpenAI-compatible server (it stands
//! in for the model; every medbench component here is real).

use medbench_core::{Item, Reference};
use medbench_eval::{EvalOptions, ModelSpec, Selection, evaluate};
use medbench_fake_llm::{
    AnswerPolicy, Failure, FailureRule, FakeConfig, FakeServer, Trigger, start,
};
use medbench_import::{ImportOptions, Input, import};
use medbench_store::{Bank, SqliteBank};
use std::path::{Path, PathBuf};

struct Fixture {
    _dir: tempfile::TempDir,
    db: String,
    out: PathBuf,
    rt: tokio::runtime::Runtime,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db").to_str().unwrap().to_owned();
    let mut bank = SqliteBank::open(&db).unwrap();
    let inputs = medbench_demo::files()
        .iter()
        .map(|f| Input::Embedded {
            name: f.name,
            text: f.text,
            media: medbench_demo::media,
        })
        .collect();
    let r = import(
        &mut bank as &mut dyn Bank,
        inputs,
        ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert!(r.committed);
    let out = dir.path().join("out");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    Fixture {
        _dir: dir,
        db,
        out,
        rt,
    }
}

/// An oracle that answers every single-choice demo question correctly, and "I am not sure" otherwise.
fn oracle() -> AnswerPolicy {
    let known: Vec<(String, String)> = medbench_demo::items()
        .into_iter()
        .filter_map(|i: Item| match &i.reference {
            Some(Reference::Choice { answer }) if answer.len() == 1 => {
                Some((i.question.clone(), format!("答案是<{}>。", answer[0])))
            }
            _ => None,
        })
        .collect();
    AnswerPolicy::custom(move |text| {
        known
            .iter()
            .find(|(q, _)| text.contains(q.as_str()))
            .map(|(_, a)| a.clone())
            .unwrap_or_else(|| "I am not sure.".into())
    })
}

fn model(server: &FakeServer) -> ModelSpec {
    let mut m = ModelSpec::named("fake-model");
    m.base_url = Some(server.base_url());
    m.concurrency = Some(4);
    m.timeout_secs = Some(5);
    m
}

fn opts(out: &Path, tasks: &[&str]) -> EvalOptions {
    EvalOptions {
        selection: Selection {
            tasks: tasks.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        },
        seed: 7,
        out: Some(out.to_path_buf()),
        ..Default::default()
    }
}

#[test]
fn a_perfect_model_scores_100_with_a_closed_interval_and_files_are_written() {
    let f = fixture();
    let server = f.rt.block_on(start(FakeConfig {
        answer: oracle(),
        ..Default::default()
    }));
    let o = evaluate(
        &f.db,
        &model(&server),
        &opts(&f.out, &["DemoExam", "DemoExamEN"]),
        &mut |_| {},
    )
    .unwrap();
    let r = &o.results;
    assert_eq!(r.tasks["DemoExam"].stat.score, 100.0);
    assert_eq!(
        r.tasks["DemoExam"].correct as usize,
        r.tasks["DemoExam"].stat.n
    );
    assert_eq!((r.overall.ci_low, r.overall.ci_high), (100.0, 100.0));
    assert_eq!(server.total_requests() as usize, r.items.total as usize);
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.out.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json["run_id"], o.run_id.as_str());
    for key in [
        "score", "ci_low", "ci_high", "n", "correct", "unparsed", "errors",
    ] {
        assert!(
            json["tasks"]["DemoExamEN"].get(key).is_some(),
            "results.json task lacks {key}"
        );
    }
    assert_eq!(json["manifest"]["seed"], 7);
    assert!(json["manifest"]["templates"]["prompt.zh.j2"].is_string());
    let html = std::fs::read_to_string(f.out.join("report.html")).unwrap();
    assert!(html.contains("DemoExamEN") && html.contains("echarts"));
}

#[test]
fn unreadable_answers_are_unparsed_not_wrong() {
    let f = fixture();
    let server = f.rt.block_on(start(FakeConfig {
        answer: AnswerPolicy::Fixed("I would need to examine the patient.".into()),
        ..Default::default()
    }));
    let o = evaluate(
        &f.db,
        &model(&server),
        &opts(&f.out, &["DemoExamEN"]),
        &mut |_| {},
    )
    .unwrap();
    let t = &o.results.tasks["DemoExamEN"];
    assert_eq!(t.unparsed as usize, t.stat.n);
    assert_eq!((t.wrong, t.errors), (0, 0));
    assert_eq!(t.stat.score, 0.0);
}

#[test]
fn transient_failures_are_retried_and_permanent_ones_counted_as_errors_apart() {
    let f = fixture();
    // 429 with Retry-After, 500, malformed JSON and empty content on the first requests: all retried.
    let failures = vec![
        FailureRule::new(
            Trigger::Nth(1),
            Failure::RateLimited {
                retry_after: Some("1".into()),
            },
        ),
        FailureRule::new(
            Trigger::Nth(2),
            Failure::Status {
                code: 500,
                retry_after: None,
            },
        ),
        FailureRule::new(Trigger::Nth(3), Failure::Malformed),
        FailureRule::new(Trigger::Nth(4), Failure::EmptyContent),
    ];
    let server = f.rt.block_on(start(FakeConfig {
        answer: oracle(),
        failures,
        ..Default::default()
    }));
    let mut m = model(&server);
    m.max_attempts = Some(4);
    let o = evaluate(&f.db, &m, &opts(&f.out, &["DemoSafety"]), &mut |_| {}).unwrap();
    let t = &o.results.tasks["DemoSafety"];
    assert_eq!(
        (t.errors, t.stat.score),
        (0, 100.0),
        "every failure was retried to success"
    );
    assert!(server.total_requests() >= t.stat.n as u64 + 4);
    let bank = SqliteBank::open(&f.db).unwrap();
    let retried = bank
        .responses(&o.run_id)
        .unwrap()
        .iter()
        .filter(|r| r.attempts > 1)
        .count();
    assert!(retried >= 1, "attempts are recorded");

    // An endpoint that always fails: every item is an error, none is "wrong".
    let down = f.rt.block_on(start(FakeConfig {
        failures: vec![FailureRule::new(
            Trigger::Always,
            Failure::Status {
                code: 503,
                retry_after: None,
            },
        )],
        ..Default::default()
    }));
    let mut m = model(&down);
    m.max_attempts = Some(2);
    m.retry_budget_secs = Some(5);
    let o = evaluate(&f.db, &m, &opts(&f.out, &["DemoExam"]), &mut |_| {}).unwrap();
    let t = &o.results.tasks["DemoExam"];
    assert_eq!(t.errors as usize, t.stat.n);
    assert_eq!((t.wrong, t.unparsed, t.correct), (0, 0, 0));
    assert_eq!(o.results.items.errors as usize, t.stat.n);
    let rows = bank.responses(&o.run_id).unwrap();
    assert!(
        rows.iter()
            .all(|r| r.error_kind.as_deref() == Some("http_5xx")),
        "{:?}",
        rows[0].error_kind
    );

    // Failures are not finished: the same command would ask exactly these items again.
    assert!(bank.answered_items(&o.run_id).unwrap().is_empty());
    assert_eq!(bank.run_items(&o.run_id).unwrap().len(), t.stat.n);
}

#[test]
fn same_requests_come_from_the_cache_and_no_cache_asks_again() {
    let f = fixture();
    let server = f.rt.block_on(start(FakeConfig {
        answer: oracle(),
        ..Default::default()
    }));
    let m = model(&server);
    let first = evaluate(&f.db, &m, &opts(&f.out, &["DemoExam"]), &mut |_| {}).unwrap();
    let sent = server.total_requests();
    // A different run (another selection) whose requests overlap the first: answered from cache.
    let second = evaluate(
        &f.db,
        &m,
        &opts(&f.out, &["DemoExam", "DemoSafety"]),
        &mut |_| {},
    )
    .unwrap();
    assert_ne!(first.run_id, second.run_id);
    assert_eq!(second.asked.cached, sent);
    assert_eq!(
        server.total_requests(),
        sent + second.results.tasks["DemoSafety"].stat.n as u64
    );
    // Re-running the same command finds the run finished and asks nothing.
    let again = evaluate(&f.db, &m, &opts(&f.out, &["DemoExam"]), &mut |_| {}).unwrap();
    assert!(again.resumed);
    assert_eq!(again.asked.total, 0);
    assert_eq!(again.results.overall, first.results.overall);
    // --no-cache in a new run asks again.
    let mut o = opts(&f.out, &["DemoExam"]);
    o.no_cache = true;
    o.seed = 8;
    let before = server.total_requests();
    let fresh = evaluate(&f.db, &m, &o, &mut |_| {}).unwrap();
    assert_eq!(fresh.asked.cached, 0);
    assert_eq!(server.total_requests() - before, fresh.results.items.total);
}

#[test]
fn predictions_file_and_random_baseline_need_no_endpoint() {
    let f = fixture();
    let items = medbench_demo::items();
    let path = f.out.with_extension("predictions.jsonl");
    let lines: Vec<String> = items
        .iter()
        .filter(|i| i.task == "DemoExamEN")
        .skip(1)
        .map(|i| {
            serde_json::json!({"id": i.id, "answer": medbench_eval::render::example_answer(i)})
                .to_string()
        })
        .collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let mut m = ModelSpec::named("uploaded");
    m.provider = medbench_eval::ProviderKind::Predictions;
    m.predictions = Some(path);
    let o = evaluate(&f.db, &m, &opts(&f.out, &["DemoExamEN"]), &mut |_| {}).unwrap();
    let t = &o.results.tasks["DemoExamEN"];
    assert_eq!(t.errors, 1, "the item without a prediction is an error");
    assert_eq!(t.correct as usize, t.stat.n - 1);

    let r1 = evaluate(
        &f.db,
        &ModelSpec::named("random"),
        &opts(&f.out, &[]),
        &mut |_| {},
    )
    .unwrap();
    let mut o2 = opts(&f.out, &[]);
    o2.out = Some(f.out.join("second"));
    let r2 = evaluate(&f.db, &ModelSpec::named("random"), &o2, &mut |_| {}).unwrap();
    assert_eq!(r1.run_id, r2.run_id, "same spec, same run");
    let exam = &r1.results.tasks["DemoExam"];
    assert!(
        exam.stat.score < 60.0,
        "chance on 5 options is about 20, got {}",
        exam.stat.score
    );
    assert!(r1.results.tracks.len() == 3);
}

#[test]
fn images_reach_the_endpoint_as_data_urls() {
    let f = fixture();
    let server = f.rt.block_on(start(FakeConfig {
        record: true,
        ..Default::default()
    }));
    evaluate(
        &f.db,
        &model(&server),
        &opts(&f.out, &["DemoDetect"]),
        &mut |_| {},
    )
    .unwrap();
    let reqs = server.requests();
    assert!(!reqs.is_empty());
    let body = reqs[0].body.to_string();
    assert!(
        body.contains("data:image/png;base64,"),
        "{}",
        &body[..body.len().min(400)]
    );
}

use medbench_fake_llm::tiny_pdf;

#[test]
fn pdf_reports_go_as_page_images_and_a_damaged_one_fails_alone() {
    let f = fixture();
    // Two MedOCR-shaped rows: a 2-page report and a damaged one.
    let src = f.out.with_file_name("v4");
    std::fs::create_dir_all(src.join("MedOCR")).unwrap();
    let good = tiny_pdf(2);
    std::fs::write(src.join("MedOCR/good.pdf"), &good).unwrap();
    std::fs::write(src.join("MedOCR/bad.pdf"), &good[..60]).unwrap();
    let row = |id: u32, pdf: &str| {
        serde_json::json!({"question": "## 任务：给定一段影像报告医学文本，请进行实体识别。输出格式为：```json{\"影像描述\": \"\", \"影像诊断\": \"\"}```",
            "answer": "{\"影像描述\": \"肺纹理清晰\", \"影像诊断\": \"未见异常\"}",
            "img_path": format!("MedOCR/{pdf}"), "other": {"id": id, "source": "IR-CMeEE"}})
        .to_string()
    };
    std::fs::write(
        src.join("MedOCR.jsonl"),
        format!("{}\n{}\n", row(1, "good.pdf"), row(2, "bad.pdf")),
    )
    .unwrap();
    let mut bank = SqliteBank::open(&f.db).unwrap();
    let r = import(
        &mut bank as &mut dyn Bank,
        vec![Input::Path(src.join("MedOCR.jsonl"))],
        ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert!(r.committed && r.imported == 2, "{:?}", r.rejects);
    let server = f.rt.block_on(start(FakeConfig {
        record: true,
        ..Default::default()
    }));
    let o = evaluate(
        &f.db,
        &model(&server),
        &opts(&f.out, &["MedOCR"]),
        &mut |_| {},
    )
    .unwrap();
    let reqs = server.requests();
    assert_eq!(reqs.len(), 1, "the damaged PDF is never sent");
    let parts = reqs[0].body["messages"].as_array().unwrap().last().unwrap()["content"]
        .as_array()
        .unwrap()
        .clone();
    let kinds: Vec<&str> = parts.iter().map(|p| p["type"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["text", "image_url", "image_url"],
        "text, then the two pages"
    );
    assert!(
        parts[1]["image_url"]["url"]
            .as_str()
            .unwrap()
            .starts_with("data:image/png;base64,")
    );
    let rows = bank.responses(&o.run_id).unwrap();
    let bad = rows.iter().find(|r| r.error_kind.is_some()).unwrap();
    assert_eq!(bad.error_kind.as_deref(), Some("render"));
    assert!(
        bad.error.as_deref().unwrap().contains("does not parse"),
        "{bad:?}"
    );
    // The stored request names the PDF by its own hash, not the rendered pages.
    let ok = rows.iter().find(|r| r.error_kind.is_none()).unwrap();
    let sha = medbench_core::item::sha256_hex(&good);
    assert!(ok.request.contains(&sha), "{}", ok.request);
    assert!(ok.request.contains("application/pdf"));
    assert_eq!(o.results.items.errors, 1);
}

#[test]
fn failed_calls_are_grouped_by_class_with_their_first_message() {
    let f = fixture();
    // A model the endpoint does not know: 404 on every call (final, not retried).
    let missing = f.rt.block_on(start(FakeConfig {
        failures: vec![FailureRule::new(
            Trigger::Always,
            Failure::Status {
                code: 404,
                retry_after: None,
            },
        )],
        ..Default::default()
    }));
    let mut o = opts(&f.out, &["DemoExam"]);
    o.selection.limit = Some(3);
    let mut seen = Vec::new();
    let r = evaluate(&f.db, &model(&missing), &o, &mut |p| seen.push(p)).unwrap();
    assert_eq!(r.results.failures.len(), 1, "{:?}", r.results.failures);
    let c = &r.results.failures[0];
    assert_eq!((c.class.as_str(), c.count), ("http 404", 3));
    assert!(
        c.first_message.starts_with("HTTP 404 from ")
            && c.first_message.contains("/chat/completions: ")
            && c.first_message.contains("scripted failure"),
        "{}",
        c.first_message
    );
    assert_eq!(r.asked.failures, r.results.failures);
    let last = seen.last().unwrap();
    assert_eq!(
        medbench_eval::failures::summary(&last.failures),
        "http 404 ×3"
    );
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.out.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json["failures"][0]["class"], "http 404");
    assert_eq!(json["failures"][0]["count"], 3);
    assert!(
        std::fs::read_to_string(f.out.join("report.html"))
            .unwrap()
            .contains("Failed calls")
    );

    // Nothing listens on the port: one `connect` class naming the refused connection.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let mut dead = ModelSpec::named("fake-model");
    dead.base_url = Some(format!("http://127.0.0.1:{port}/v1"));
    dead.max_attempts = Some(1);
    let r = evaluate(&f.db, &dead, &o, &mut |_| {}).unwrap();
    assert_eq!(r.results.failures.len(), 1, "{:?}", r.results.failures);
    let c = &r.results.failures[0];
    assert_eq!((c.class.as_str(), c.count), ("connect", 3));
    assert!(
        c.first_message.contains(&format!("127.0.0.1:{port}"))
            && c.first_message.to_lowercase().contains("connect"),
        "{}",
        c.first_message
    );

    // A run without failures carries none.
    let fine = f.rt.block_on(start(FakeConfig::default()));
    let r = evaluate(&f.db, &model(&fine), &o, &mut |_| {}).unwrap();
    assert!(r.results.failures.is_empty());
    let json = std::fs::read_to_string(f.out.join("results.json")).unwrap();
    assert!(!json.contains("\"failures\""));
}

#[test]
fn an_open_task_scored_without_a_judge_is_a_labelled_stand_in() {
    let f = fixture();
    let random = ModelSpec::named("random");
    let o = evaluate(
        &f.db,
        &random,
        &opts(&f.out, &["DemoExam", "DemoExplain"]),
        &mut |_| {},
    )
    .unwrap();
    let r = &o.results;
    let open = &r.tasks["DemoExplain"];
    assert!(open.needs_judge, "{open:?}");
    assert_eq!(open.metric, "stand-in");
    assert!(open.recipe.ends_with("judge"), "{}", open.recipe);
    assert_eq!(open.recipe_basis, "format");
    assert!(
        open.scorer.starts_with("rouge_l@"),
        "the score stays ROUGE-L"
    );
    let exam = &r.tasks["DemoExam"];
    assert_eq!(
        (exam.recipe.as_str(), exam.metric.as_str()),
        ("accuracy", "official")
    );
    assert!(!exam.needs_judge);
    assert!(r.provisional);
    let w = r
        .warnings
        .iter()
        .find(|w| w.contains("stand-in metric"))
        .expect("a warning names the stand-in tasks");
    assert!(
        w.contains("DemoExplain") && !w.contains("DemoExam,") && w.contains("--judge-model"),
        "{w}"
    );
    // The files say so too.
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(f.out.join("results.json")).unwrap())
            .unwrap();
    assert_eq!(json["provisional"], true);
    assert_eq!(json["tasks"]["DemoExplain"]["needs_judge"], true);
    assert_eq!(json["tasks"]["DemoExplain"]["metric"], "stand-in");
    let html = std::fs::read_to_string(f.out.join("report.html")).unwrap();
    assert!(html.contains("needs judge"));

    // Objective tasks only: not provisional.
    let mut o2 = opts(&f.out, &["DemoExam"]);
    o2.out = Some(f.out.join("exam"));
    let r2 = evaluate(&f.db, &random, &o2, &mut |_| {}).unwrap().results;
    assert!(!r2.provisional);
    assert!(r2.warnings.iter().all(|w| !w.contains("stand-in")));
}
