//! Hierarchical aggregation: MedBench arithmetic, bootstrap CIs, edge cases.

use medbench_stats::{ItemScore, Node, StatsError, aggregate, try_aggregate};

/// `n` items of `task` of which the first `ones` score 1 and the rest 0.
fn task(track: &str, dim: &str, task: &str, ones: usize, n: usize) -> Vec<ItemScore> {
    (0..n)
        .map(|i| {
            ItemScore::new(
                task,
                dim,
                track,
                &format!("{i:05}"),
                (i < ones) as u8 as f64,
            )
        })
        .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn assert_ci_contains_score(name: &str, node: &Node) {
    assert!(
        node.ci_low <= node.score && node.score <= node.ci_high,
        "{name}: {node:?}"
    );
}

#[test]
fn o3_llm_dimensions_average_to_the_published_track_score() {
    // o3's published MedBench v4 LLM dimension scores: 71.0, 69.5, 58.9,
    // 63.3, 18.3. Track = (71.0 + 69.5 + 58.9 + 63.3 + 18.3) / 5 = 281.0 / 5
    // = 56.2. One task of 1,000 items per dimension reproduces each score.
    let dims = [
        ("knowledge_qa", 710),
        ("language_understanding", 695),
        ("language_generation", 589),
        ("clinical_reasoning", 633),
        ("safety_ethics", 183),
    ];
    let items: Vec<ItemScore> = dims
        .iter()
        .flat_map(|(d, ones)| task("llm", d, &format!("{d}_t"), *ones, 1000))
        .collect();
    let agg = aggregate(&items, 200, 7);
    for (d, ones) in dims {
        assert!(close(agg.dimensions[d].score, ones as f64 / 10.0), "{d}");
        assert_eq!(agg.dimensions[d].n, 1000);
    }
    assert!(
        close(agg.tracks["llm"].score, 56.2),
        "{:?}",
        agg.tracks["llm"]
    );
    assert!(close(agg.overall.score, 56.2));
    assert_eq!(agg.overall.n, 5000);
    assert_eq!(agg.tracks["llm"].n, 5000);
}

#[test]
fn every_level_is_an_unweighted_mean_of_the_level_below() {
    // Dimension d1: task A (10 items, all right) and task B (990 items, all
    // wrong) → (100 + 0) / 2 = 50, not the item-weighted 10/1000 = 1.
    let mut items = task("llm", "d1", "A", 10, 10);
    items.extend(task("llm", "d1", "B", 0, 990));
    // Dimension d2: one task at 100 → track llm = (50 + 100) / 2 = 75.
    items.extend(task("llm", "d2", "C", 4, 4));
    // Track agent: one dimension, one task at 20 → overall = (75 + 20) / 2.
    items.extend(task("agent", "d3", "D", 20, 100));
    let agg = aggregate(&items, 100, 1);
    assert!(close(agg.tasks["A"].score, 100.0));
    assert!(close(agg.tasks["B"].score, 0.0));
    assert!(close(agg.dimensions["d1"].score, 50.0));
    assert_eq!(agg.dimensions["d1"].n, 1000);
    assert!(close(agg.tracks["llm"].score, 75.0));
    assert!(close(agg.tracks["agent"].score, 20.0));
    assert!(close(agg.overall.score, 47.5));
    assert_eq!(agg.overall.n, 1104);
}

#[test]
fn ci_contains_every_point_estimate() {
    let mut items = task("llm", "d1", "A", 37, 80);
    items.extend(task("llm", "d1", "B", 5, 30));
    items.extend(task("llm", "d2", "C", 61, 70));
    items.extend(task("multimodal", "d3", "D", 12, 40));
    let agg = aggregate(&items, 500, 3);
    for (name, node) in agg.tasks.iter().chain(&agg.dimensions).chain(&agg.tracks) {
        assert_ci_contains_score(name, node);
        assert!(node.ci_high > node.ci_low, "{name}: binary mixes must vary");
    }
    assert_ci_contains_score("overall", &agg.overall);
}

#[test]
fn ci_width_matches_the_binomial_standard_error_and_narrows_with_n() {
    // p = 0.5, n = 400: 95% half-width ≈ 1.96 · √(0.25/400) · 100 = 4.9.
    let small = aggregate(&task("llm", "d", "t", 200, 400), 2000, 11);
    let w = small.tasks["t"].ci_high - small.tasks["t"].ci_low;
    assert!((8.8..=10.8).contains(&w), "width {w}, expected ≈ 9.8");
    // 100× the items → ≈ 10× narrower (≈ 0.98).
    let large = aggregate(&task("llm", "d", "t", 20_000, 40_000), 300, 11);
    let wl = large.tasks["t"].ci_high - large.tasks["t"].ci_low;
    assert!(wl < w / 6.0 && wl > w / 15.0, "{wl} vs {w}");
}

#[test]
fn all_ones_gives_exactly_100_with_a_zero_width_ci_everywhere() {
    let mut items = task("llm", "d1", "A", 50, 50);
    items.extend(task("agent", "d2", "B", 7, 7));
    let items: Vec<ItemScore> = items
        .into_iter()
        .map(|i| i.with_specialty("cardiology"))
        .collect();
    let agg = aggregate(&items, 300, 5);
    let all = agg
        .tasks
        .values()
        .chain(agg.dimensions.values())
        .chain(agg.tracks.values());
    for node in all.chain(agg.specialties.values()).chain([&agg.overall]) {
        assert_eq!(
            (node.score, node.ci_low, node.ci_high),
            (100.0, 100.0, 100.0)
        );
    }
}

#[test]
fn single_child_levels_share_their_child_ci() {
    // A dimension with one task scores exactly that task in every replicate,
    // so the bootstrap CIs are identical: the CI is consistent with the tree.
    let mut items = task("llm", "d1", "A", 30, 70);
    items.extend(task("llm", "d2", "B", 10, 20));
    let agg = aggregate(&items, 400, 9);
    assert_eq!(agg.dimensions["d1"].ci(), agg.tasks["A"].ci());
    assert_eq!(agg.dimensions["d2"].ci(), agg.tasks["B"].ci());
    // One track → overall equals the track, CI included.
    assert_eq!(agg.overall, agg.tracks["llm"]);
}

#[test]
fn same_seed_same_result_other_seed_other_ci() {
    let mut items = task("llm", "d1", "A", 33, 90);
    items.extend(task("multimodal", "d2", "B", 21, 60));
    let a = aggregate(&items, 300, 42);
    assert_eq!(a, aggregate(&items, 300, 42));
    let b = aggregate(&items, 300, 43);
    assert_eq!(a.overall.score, b.overall.score);
    assert_ne!(a.overall.ci(), b.overall.ci());
}

#[test]
fn input_order_does_not_change_the_result() {
    let mut items = task("llm", "d1", "A", 33, 90);
    items.extend(task("llm", "d2", "B", 3, 9));
    let forward = aggregate(&items, 200, 1);
    items.reverse();
    assert_eq!(forward, aggregate(&items, 200, 1));
}

#[test]
fn specialties_pool_their_items_across_tasks() {
    // cardiology: 3/4 in task A and 1/4 in task B → 4/8 = 50, n = 8.
    let mut items: Vec<ItemScore> = task("llm", "d1", "A", 3, 4)
        .into_iter()
        .chain(task("llm", "d1", "B", 1, 4))
        .map(|i| i.with_specialty("cardiology"))
        .collect();
    // Unlabelled items count for tasks but for no specialty.
    items.extend(task("llm", "d1", "C", 0, 10));
    let agg = aggregate(&items, 200, 2);
    assert_eq!(agg.specialties.len(), 1);
    let cardio = agg.specialties["cardiology"];
    assert!(close(cardio.score, 50.0));
    assert_eq!(cardio.n, 8);
    assert_ci_contains_score("cardiology", &cardio);
    // Specialties are a side view: the overall is still (75 + 25 + 0) / 3.
    assert!(close(agg.overall.score, 100.0 / 3.0));
}

#[test]
fn empty_input_is_no_data_not_a_panic() {
    let agg = aggregate(&[], 1000, 1);
    assert_eq!(agg.overall, Node::EMPTY);
    assert!(agg.tracks.is_empty() && agg.dimensions.is_empty() && agg.tasks.is_empty());
    // NaN-free, so JSON round-trips.
    let json = serde_json::to_string(&agg).unwrap();
    assert_eq!(
        serde_json::from_str::<medbench_stats::Aggregate>(&json).unwrap(),
        agg
    );
}

#[test]
fn zero_resamples_collapse_cis_and_level_controls_width() {
    let items = task("llm", "d", "t", 40, 100);
    let agg = aggregate(&items, 0, 1);
    assert_eq!((agg.overall.ci_low, agg.overall.ci_high), (40.0, 40.0));
    let wide = try_aggregate(&items, 500, 1, 0.99)
        .unwrap()
        .overall
        .ci()
        .width();
    let narrow = try_aggregate(&items, 500, 1, 0.5)
        .unwrap()
        .overall
        .ci()
        .width();
    assert!(narrow < wide / 2.0, "{narrow} vs {wide}");
}

#[test]
fn bad_input_is_rejected_with_the_reason() {
    let good = task("llm", "d1", "A", 1, 2);
    let mut nan = good.clone();
    nan[0].value = f64::NAN;
    assert!(matches!(
        try_aggregate(&nan, 10, 1, 0.95),
        Err(StatsError::InvalidValue { .. })
    ));
    let mut big = good.clone();
    big[1].value = 1.5;
    assert!(matches!(
        try_aggregate(&big, 10, 1, 0.95),
        Err(StatsError::InvalidValue { .. })
    ));
    let mut dup = good.clone();
    dup.push(good[0].clone());
    let err = try_aggregate(&dup, 10, 1, 0.95).unwrap_err();
    assert_eq!(err.to_string(), "duplicate item A/00000");
    let mut moved = good.clone();
    moved.push(ItemScore::new("A", "d2", "llm", "x", 1.0));
    assert!(matches!(
        try_aggregate(&moved, 10, 1, 0.95),
        Err(StatsError::TaskParent { .. })
    ));
    let mut retracked = good.clone();
    retracked.push(ItemScore::new("B", "d1", "agent", "x", 1.0));
    let err = try_aggregate(&retracked, 10, 1, 0.95).unwrap_err();
    assert!(matches!(err, StatsError::DimensionParent { .. }), "{err}");
}

#[test]
#[should_panic(expected = "not in [0, 1]")]
fn aggregate_panics_on_invalid_values() {
    aggregate(&[ItemScore::new("t", "d", "llm", "i", -0.1)], 10, 1);
}

/// A small task whose items each carry their own specialty still gets a real interval:
/// resampling happens within the task, not within one-item (task, specialty) cells.
#[test]
fn unique_specialties_do_not_collapse_a_task_interval() {
    let items: Vec<ItemScore> = (0..6)
        .map(|i| {
            ItemScore::new(
                "Exam",
                "knowledge_qa",
                "llm",
                &format!("q{i}"),
                if i == 0 { 1.0 } else { 0.0 },
            )
            .with_specialty(&format!("sp{i}"))
        })
        .collect();
    let a = aggregate(&items, 2000, 3);
    let t = &a.tasks["Exam"];
    assert!((t.score - 100.0 / 6.0).abs() < 1e-9);
    assert_eq!(t.ci_low, 0.0, "resamples without the one right item exist");
    assert!(
        t.ci_high >= 50.0,
        "and resamples with it twice or more: {}",
        t.ci_high
    );
    assert_eq!(a.specialties["sp0"].score, 100.0);
    assert_eq!(a.specialties["sp0"].n, 1);
}
