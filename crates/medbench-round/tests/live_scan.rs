//! `evaluate_round` against the fake LLM server, and the contamination scan.

mod common;

use common::*;
use medbench_core::{Item, Reference};
use medbench_fake_llm::{AnswerPolicy, FakeConfig, start};
use medbench_round::{DrawParams, Layout, evaluate_round, export, scan};
use medbench_store::Bank;

/// Answers with the letter now in front of the right option's text (so it follows permutations).
fn oracle() -> AnswerPolicy {
    let known: Vec<(String, String)> = medbench_demo::items()
        .into_iter()
        .filter_map(|i: Item| match (&i.reference, i.format.options()) {
            (Some(Reference::Choice { answer }), Some(opts)) if answer.len() == 1 => {
                let text = opts.iter().find(|o| o.label == answer[0])?.text.clone();
                Some((i.question.clone(), text))
            }
            _ => None,
        })
        .collect();
    AnswerPolicy::custom(move |prompt| {
        let Some((_, right)) = known.iter().find(|(q, _)| prompt.contains(q.as_str())) else {
            return "I am not sure.".into();
        };
        prompt
            .lines()
            .filter(|l| l.trim_end().ends_with(right.as_str()))
            .find_map(|l| {
                l.trim_start()
                    .chars()
                    .next()
                    .filter(char::is_ascii_uppercase)
            })
            .map(|c| format!("<{c}>"))
            .unwrap_or_else(|| "?".into())
    })
}

#[test]
fn eval_round_asks_the_permuted_instances_and_scores_strictly() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let server = rt.block_on(start(FakeConfig {
        answer: oracle(),
        ..Default::default()
    }));
    let f = demo_bank();
    let d = do_draw(
        &mut f.bank(),
        &DrawParams {
            tasks: vec!["DemoExamEN".into(), "DemoExam".into()],
            ..params(5, 3, 17)
        },
    );
    let mut m = medbench_eval::ModelSpec::named("fake-model");
    m.base_url = Some(server.base_url());
    m.concurrency = Some(4);
    m.timeout_secs = Some(5);
    let opts = medbench_eval::EvalOptions {
        seed: 3,
        ..Default::default()
    };
    let s = evaluate_round(&f.db, &m, &d.round.id, &opts, &mut |_| {}, &mut |_| {}).unwrap();
    assert_eq!(s.instances, 30);
    assert_eq!(s.answered, 30);
    assert_eq!(
        s.results.tasks["DemoExamEN"].stat.score, 100.0,
        "{:?}",
        s.results.tasks
    );
    assert_eq!(s.results.tasks["DemoExam"].stat.score, 100.0);
    // The model saw instance ids' options, never the item ids.
    let bank = f.bank();
    let responses = bank.responses(&s.run_id).unwrap();
    assert_eq!(responses.len(), 30);
    assert!(
        responses.iter().all(|r| !r.request.contains("DemoExam")),
        "item ids reached the model"
    );
    // Run again: resumes, asks nothing.
    let again = evaluate_round(&f.db, &m, &d.round.id, &opts, &mut |_| {}, &mut |_| {}).unwrap();
    assert_eq!(again.run_id, s.run_id);
}

#[test]
fn contamination_finds_a_planted_canary_and_a_copied_question() {
    let f = demo_bank();
    let mut bank = f.bank();
    let d = do_draw(&mut bank, &params(3, 2, 5));
    export(&bank, &d.round.id, Layout::Native, &f.path("x")).unwrap();
    let copied = bank.get("DemoExamEN/003").unwrap().unwrap();
    let corpus = f.path("corpus");
    std::fs::create_dir_all(corpus.join("sub")).unwrap();
    std::fs::write(
        corpus.join("clean.txt"),
        "Nothing to see here: a forum post about hypertension and diuretics in general terms.",
    )
    .unwrap();
    std::fs::write(
        corpus.join("sub/forum.html"),
        format!(
            "<p>Leaked set!</p>\n<p>Q: {}</p>\n<!-- {} -->\n",
            copied.question.to_uppercase(),
            d.round.canary
        ),
    )
    .unwrap();
    let zh = bank.get("DemoExam/002").unwrap().unwrap();
    let zh_copy: String = zh.question.chars().filter(|c| !c.is_whitespace()).collect();
    std::fs::write(corpus.join("sub/zh.txt"), format!("转载：{zh_copy}（完）")).unwrap();
    let r = scan(&corpus, &bank).unwrap();
    assert_eq!(r.files, 3, "{r:?}");
    assert_eq!(r.canaries.len(), 1, "{:?}", r.canaries);
    assert_eq!(r.canaries[0].round.as_deref(), Some(d.round.id.as_str()));
    assert_eq!(
        r.canaries[0].line,
        3 + copied.question.matches('\n').count()
    );
    let ids: Vec<&str> = r.items.iter().map(|i| i.item_id.as_str()).collect();
    assert!(ids.contains(&"DemoExamEN/003"), "{ids:?}");
    assert!(
        ids.contains(&"DemoExam/002"),
        "CJK overlap per character: {ids:?}"
    );
    assert!(!r.items.iter().any(|i| i.file.ends_with("clean.txt")));
    // Only the copied items are at risk: the answer instruction they share with many
    // other demo items is boilerplate and blames nobody.
    let forum: Vec<&str> = r
        .items
        .iter()
        .filter(|i| i.file.ends_with("forum.html"))
        .map(|i| i.item_id.as_str())
        .collect();
    assert_eq!(forum, ["DemoExamEN/003"], "{forum:?}");
    let hit = r
        .items
        .iter()
        .find(|i| i.item_id == "DemoExamEN/003")
        .unwrap();
    assert!(hit.file.ends_with("forum.html") && !hit.snippet.is_empty());
    // The exported files themselves carry the canary.
    let r2 = scan(&f.path("x"), &bank).unwrap();
    assert!(r2.canaries.len() >= 2 && r2.canaries.iter().all(|c| c.round.is_some()));
}
