//! Finer checks: JSON shape, CSV columns, HTML containers and escaping, the comparison page.

use medbench_report::{
    CSV_HEADER, Permutation, ReadError, SCHEMA, Stat, TaskResult, compare_html, from_json, sample,
    to_csv, to_html, to_json,
};

const EVIL: &str = "<script>alert(1)</script>";
const ODD_TASK: &str = "Med, \"Quoted\" Task";

/// The sample run with a task whose name has a comma and a quote, and a model
/// whose name is an HTML injection attempt.
fn tricky() -> medbench_report::Results {
    let mut r = sample::demo(EVIL);
    r.tasks.insert(
        ODD_TASK.to_owned(),
        TaskResult {
            track: "llm".into(),
            dimension: "knowledge_qa".into(),
            format: "single_choice".into(),
            stat: Stat {
                score: 12.5,
                ci_low: 3.0,
                ci_high: 25.0,
                n: 8,
            },
            correct: 1,
            partial: 0,
            wrong: 5,
            unparsed: 1,
            errors: 1,
            scorer: "rule:single_choice@1".into(),
            recipe: "accuracy".into(),
            recipe_basis: "format".into(),
            metric: "official".into(),
            needs_judge: false,
            permutation: Some(Permutation {
                strict: 0.0,
                mean: 12.5,
                instances: 40,
            }),
        },
    );
    r.dimensions
        .get_mut("knowledge_qa")
        .unwrap()
        .tasks
        .push(ODD_TASK.to_owned());
    r
}

#[test]
fn json_round_trip() {
    let r = tricky();
    let s = to_json(&r);
    assert!(
        s.contains("\n  \"schema\": \"medbench.results/1\""),
        "pretty, schema first"
    );
    let back = from_json(&s).unwrap();
    assert_eq!(back, r);
    assert_eq!(back.schema, SCHEMA);
    assert!(r.check().is_empty(), "{:?}", r.check());
    // Stat fields are flattened into tasks, tracks and dimensions.
    let v: serde_json::Value = serde_json::from_str(&s).unwrap();
    assert_eq!(v["tasks"][ODD_TASK]["score"], 12.5);
    assert!(v["tasks"][ODD_TASK].get("stat").is_none());
    assert!(v["tracks"]["llm"]["ci_low"].is_number());
}

#[test]
fn from_json_rejects_other_schemas() {
    let s = to_json(&sample::demo("m")).replace(SCHEMA, "medbench.results/9");
    assert!(matches!(from_json(&s), Err(ReadError::Schema(_))));
    assert!(matches!(from_json("{"), Err(ReadError::Json(_))));
}

#[test]
fn csv_has_one_row_per_task_and_quotes_properly() {
    let r = tricky();
    let out = to_csv(&r);
    let mut rd = csv::Reader::from_reader(out.as_bytes());
    let header: Vec<String> = rd.headers().unwrap().iter().map(str::to_owned).collect();
    assert_eq!(header, CSV_HEADER);
    let rows: Vec<csv::StringRecord> = rd.records().map(Result::unwrap).collect();
    assert_eq!(rows.len(), r.tasks.len());
    let odd = rows
        .iter()
        .find(|row| &row[4] == ODD_TASK)
        .expect("odd task row");
    assert_eq!(&odd[1], EVIL);
    assert_eq!(&odd[6], "12.50");
    assert_eq!(
        (&odd[13], &odd[14]),
        ("1", "1"),
        "unparsed and errors columns"
    );
    // The raw text doubles the quote and wraps the field in quotes.
    assert!(out.contains("\"Med, \"\"Quoted\"\" Task\""), "{out}");
    assert_eq!(out.lines().count(), r.tasks.len() + 1);
}

#[test]
fn html_is_self_contained_and_complete() {
    let r = tricky();
    let html = to_html(&r);
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(
        html.contains("Licensed to the Apache Software Foundation"),
        "ECharts licence header"
    );
    assert!(
        html.contains("echarts={}") || html.contains(".echarts={}"),
        "ECharts library inlined"
    );
    for id in [
        "chart-track-0",
        "chart-track-1",
        "chart-track-2",
        "chart-tasks",
        "chart-heat",
    ] {
        assert!(html.contains(&format!("id=\"{id}\"")), "container {id}");
    }
    assert!(html.contains("data-kind=\"radar\"") && html.contains("data-kind=\"bar\""));
    for name in r.tasks.keys() {
        let escaped = name.replace('&', "&amp;").replace('"', "&#34;");
        assert!(
            html.contains(&escaped) || html.contains(&name.replace('"', "&quot;")),
            "task {name}"
        );
    }
    let overall = format!("{:.1}", r.overall.score);
    assert!(
        html.contains(&format!("id=\"overall-score\">{overall}<")),
        "overall {overall}"
    );
    assert!(html.contains("Dimensions<span class=\"zh\">维度</span>"));
    assert!(html.contains("医学知识问答"), "Chinese dimension names");
    assert!(html.contains("95% bootstrap"));
    assert!(!html.contains("<script src"), "no external scripts");
    assert!(!html.contains("<link "), "no external stylesheets");
}

#[test]
fn html_escapes_user_text() {
    let html = to_html(&tricky());
    assert!(!html.contains(EVIL), "raw model name must not appear");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "escaped model name in the page"
    );
    // The embedded chart data must not be able to close its script tag.
    let start = html.find("id=\"report-data\">").unwrap();
    let end = start + html[start..].find("</script>").unwrap();
    let data = &html[start + "id=\"report-data\">".len()..end];
    assert!(!data.contains("</"), "no `</` inside the data block");
    let v: serde_json::Value = serde_json::from_str(data).expect("data block is JSON");
    assert!(
        v["tasks"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t["name"] == ODD_TASK)
    );
    // Exactly the three script tags we put there.
    assert_eq!(html.matches("<script").count(), 3);
    assert_eq!(html.to_lowercase().matches("</script").count(), 3);
}

#[test]
fn html_without_specialties_or_heatmap() {
    let mut r = sample::demo("plain");
    r.specialties.clear();
    r.heatmap.clear();
    r.manifest = serde_json::Value::Null;
    r.finished_at = None;
    let html = to_html(&r);
    assert!(
        html.contains("id=\"heat-empty\""),
        "note instead of heat map"
    );
    assert!(!html.contains("id=\"chart-heat\""));
    assert!(html.contains("No manifest recorded."));
    assert!(html.contains("not finished"));
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn html_of_an_empty_run() {
    let mut r = sample::demo("empty");
    r.tracks.clear();
    r.dimensions.clear();
    r.tasks.clear();
    r.specialties.clear();
    r.heatmap.clear();
    r.overall = Stat {
        score: 0.0,
        ci_low: 0.0,
        ci_high: 0.0,
        n: 0,
    };
    let html = to_html(&r);
    assert!(html.contains("No task results."));
    assert!(html.contains("id=\"chart-tasks\""));
    assert!(html.trim_end().ends_with("</html>"));
}

#[test]
fn comparison_page() {
    let a = tricky();
    let b = sample::demo_seeded("Model B & co", 7);
    let cmp = serde_json::json!({
        "all_items": {"n": 100, "diff": 2.5, "ci": {"low": -1.0, "high": 6.0}, "p_bootstrap": 0.18, "mcnemar": null},
        "tasks": {"MedExam": {"n": 30, "diff": -3.3, "ci_low": -10.0, "ci_high": 3.3, "p_value": 0.0004}},
        "note": "</script><b>x</b>"
    });
    let html = compare_html(&a, &b, &cmp);
    assert!(!html.contains(EVIL));
    assert!(html.contains("Model B &amp; co"));
    assert!(html.contains("id=\"chart-dims\"") && html.contains("id=\"chart-deltas\""));
    assert!(html.contains("tasks &#x2f; MedExam") && html.contains("&lt;0.001"));
    assert!(html.contains("+2.5") && html.contains("-3.3"));
    assert_eq!(html.to_lowercase().matches("</script").count(), 3);
    for name in a.tasks.keys().filter(|n| !n.contains('"')) {
        assert!(html.contains(name.as_str()), "task {name}");
    }
}

#[test]
fn stand_in_scores_are_labelled_in_json_csv_and_html() {
    let r = sample::demo("m");
    // The sample scores MedRecordGen (key points + judge) by ROUGE-L: a stand-in.
    let t = &r.tasks["MedRecordGen"];
    assert_eq!(t.recipe, "key_points + judge");
    assert_eq!(t.recipe_basis, "official");
    assert_eq!(t.metric, "stand-in");
    assert!(t.needs_judge);
    assert_eq!(r.tasks["MedExam"].metric, "official");
    assert!(!r.tasks["MedExam"].needs_judge);
    assert!(r.provisional);
    // Rules on officially judged tasks are stand-ins too (MedSynonym, MedCallAPI, …).
    assert_eq!(
        r.stand_in_tasks(),
        [
            "MedCallAPI",
            "MedDBOps",
            "MedRecordGen",
            "MedReportQC",
            "MedSynonym",
            "MedVQA"
        ]
    );
    assert_eq!(
        r.tasks["MedSpeQA"].metric, "incomplete",
        "rubric judge, no key points"
    );

    let csv = to_csv(&r);
    let row = csv.lines().find(|l| l.contains(",MedRecordGen,")).unwrap();
    assert!(row.ends_with(",key_points + judge,stand-in"), "{row}");

    let html = to_html(&r);
    assert!(html.contains("id=\"provisional\""));
    assert!(html.contains("stand-in metric for 6 task(s)"));
    let rec = html.find("<strong>MedRecordGen</strong>").unwrap();
    let row_end = rec + html[rec..].find("</tr>").unwrap();
    assert!(
        html[rec..row_end].contains("needs judge"),
        "{}",
        &html[rec..row_end]
    );
    let exam = html.find("<strong>MedExam</strong>").unwrap();
    let exam_end = exam + html[exam..].find("</tr>").unwrap();
    assert!(!html[exam..exam_end].contains("needs judge"));
}

#[test]
fn files_written_before_recipes_still_read() {
    let mut v: serde_json::Value = serde_json::from_str(&to_json(&sample::demo("m"))).unwrap();
    v.as_object_mut().unwrap().remove("provisional");
    for t in v["tasks"].as_object_mut().unwrap().values_mut() {
        let t = t.as_object_mut().unwrap();
        for k in ["recipe", "recipe_basis", "metric", "needs_judge"] {
            t.remove(k);
        }
    }
    let r = from_json(&v.to_string()).unwrap();
    assert!(!r.provisional);
    assert_eq!(r.tasks["MedRecordGen"].recipe, "");
    assert!(!r.tasks["MedRecordGen"].needs_judge);
    // An old ROUGE-L score is still recognised as a stand-in from its scorer id.
    assert!(r.stand_in_tasks().contains(&"MedRecordGen"));
    assert!(!r.stand_in_tasks().contains(&"MedExam"));
    assert!(r.is_provisional());
    assert!(to_html(&r).contains("id=\"provisional\""));
}
