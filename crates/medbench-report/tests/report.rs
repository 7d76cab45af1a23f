//! What a reader of results.json, results.csv and report.html would notice.

use medbench_report::{from_json, to_csv, to_html, to_json};

fn sample() -> medbench_report::Results {
    medbench_report::sample::demo("test-model")
}

#[test]
fn json_round_trips_and_checks_its_schema() {
    let r = sample();
    assert!(r.check().is_empty(), "{:?}", r.check());
    let back = from_json(&to_json(&r)).unwrap();
    assert_eq!(back, r);
    let wrong = to_json(&r).replace("medbench.results/1", "medbench.results/9");
    assert!(
        from_json(&wrong)
            .unwrap_err()
            .to_string()
            .contains("unsupported schema")
    );
}

#[test]
fn csv_has_one_row_per_task_and_quotes_awkward_names() {
    let mut r = sample();
    let first = r.tasks.keys().next().unwrap().clone();
    let t = r.tasks.remove(&first).unwrap();
    r.tasks.insert("Odd, \"quoted\" task".into(), t);
    let csv = to_csv(&r);
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(
        lines.len(),
        r.tasks.len() + 1,
        "header plus one row per task"
    );
    assert!(
        lines[0].starts_with("run_id,model,track,dimension,task,format,score,ci_low,ci_high,n"),
        "{}",
        lines[0]
    );
    assert!(
        csv.contains("\"Odd, \"\"quoted\"\" task\""),
        "RFC 4180 quoting:\n{csv}"
    );
}

#[test]
fn html_is_self_contained_with_charts_tables_and_escaped_text() {
    let mut r = sample();
    r.model.name = "<script>alert(1)</script>".into();
    let html = to_html(&r);
    assert!(
        html.contains("Licensed to the Apache Software Foundation"),
        "ECharts inlined"
    );
    assert!(
        !html.contains("src=\"http"),
        "nothing fetched from the network"
    );
    for id in ["chart-tasks", "chart-heat"] {
        assert!(html.contains(id), "missing chart container {id}");
    }
    for task in r.tasks.keys() {
        assert!(html.contains(task.as_str()), "missing task {task}");
    }
    // minijinja escapes `/` too: `&lt;script&gt;alert(1)&lt;&#x2f;script&gt;`.
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;"),
        "model name escaped in the page"
    );
    assert!(
        !html.contains("<script>alert(1)"),
        "the raw name never appears"
    );
    assert!(
        html.contains(&format!("{:.1}", r.overall.score)),
        "overall score to one decimal"
    );
}

#[test]
fn html_without_specialties_or_heat_map_still_renders() {
    let mut r = sample();
    r.specialties.clear();
    r.heatmap.clear();
    let html = to_html(&r);
    assert!(html.contains("</html>"));
    assert!(r.tasks.keys().all(|t| html.contains(t.as_str())));
}

#[test]
fn failed_calls_are_listed_only_when_there_are_some() {
    let mut r = sample();
    let html = to_html(&r);
    assert!(!html.contains("Failed calls"));
    assert!(!to_json(&r).contains("\"failures\""), "absent when empty");
    r.failures = vec![medbench_report::FailureClass {
        class: "http 404".into(),
        count: 12,
        first_message: "HTTP 404 from http://127.0.0.1:9/v1/chat/completions: <model not found>"
            .into(),
    }];
    let html = to_html(&r);
    assert!(html.contains("Failed calls"), "section shown");
    assert!(html.contains("http 404") && html.contains(">12<"));
    assert!(
        html.contains("&lt;model not found&gt;"),
        "the server's text is escaped"
    );
    let back = from_json(&to_json(&r)).unwrap();
    assert_eq!(back.failures, r.failures);
}

#[test]
fn a_run_of_only_blind_items_says_not_scored_instead_of_zero() {
    let mut r = sample();
    r.tasks.clear();
    r.dimensions.clear();
    r.tracks.clear();
    r.overall = medbench_report::Stat {
        score: 0.0,
        ci_low: 0.0,
        ci_high: 0.0,
        n: 0,
    };
    r.answered.insert(
        "MedExam".into(),
        medbench_report::AnsweredTask {
            track: "llm".into(),
            dimension: "knowledge_qa".into(),
            format: "single_choice".into(),
            items: 30,
            instances: 150,
            answered: 150,
            errors: 0,
        },
    );
    let html = medbench_report::to_html(&r);
    assert!(html.contains("not scored: every item of this run is blind"));
    assert!(html.contains("Answered, not scored"));
    assert!(
        !html.contains(r#"id="overall-score">0.0"#),
        "no score of 0 is shown"
    );
}
