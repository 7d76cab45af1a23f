//! Checks on the embedded demo bank: it must parse, validate and be internally consistent.

use medbench_core::{
    Dimension, Format, FormatKind, Item, OpenReference, Reference, ReviewStatus, Taxonomy, Track,
    YesNoMaybe,
};
use medbench_demo::{
    AGENT_FIXTURE_JSON, catalog, files, items, media, media_by_sha256, media_names, sha256_hex,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashSet};

fn bank() -> Vec<Item> {
    items()
}

#[test]
fn every_line_parses_and_validates() {
    let mut problems = Vec::new();
    let mut count = 0;
    for f in files() {
        for (n, line) in f.text.lines().enumerate() {
            if line.trim().is_empty() {
                problems.push(format!("{}:{}: blank line", f.name, n + 1));
                continue;
            }
            count += 1;
            match serde_json::from_str::<Item>(line) {
                Err(e) => problems.push(format!("{}:{}: {e}", f.name, n + 1)),
                Ok(it) => {
                    if let Err(errs) = it.validate() {
                        for e in errs {
                            problems.push(format!("{}:{} {}: {e}", f.name, n + 1, it.id));
                        }
                    }
                    let want_file = format!("{}.jsonl", it.task);
                    if f.name != want_file {
                        problems.push(format!("{} is in {} (expected {want_file})", it.id, f.name));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(count, bank().len());
}

#[test]
fn ids_are_unique_and_shaped_task_slash_number() {
    let mut seen = HashSet::new();
    for it in bank() {
        assert!(seen.insert(it.id.clone()), "duplicate id {}", it.id);
        let local = it.local_id();
        assert!(
            local.len() == 3 && local.chars().all(|c| c.is_ascii_digit()),
            "{}: local id should be NNN",
            it.id
        );
        assert!(
            it.task.starts_with("Demo"),
            "{}: task must start with Demo",
            it.id
        );
    }
}

#[test]
fn bank_is_large_enough_and_tasks_have_enough_items() {
    let items = bank();
    assert!(items.len() >= 130, "only {} items", items.len());
    let mut per_task: BTreeMap<&str, usize> = BTreeMap::new();
    for it in &items {
        *per_task.entry(it.task.as_str()).or_default() += 1;
    }
    for (task, n) in &per_task {
        assert!(*n >= 4, "task {task} has only {n} items");
    }
    for it in &items {
        if it.format_kind() == FormatKind::SingleChoice && it.track == Track::Llm {
            assert!(
                per_task[it.task.as_str()] >= 15,
                "{}: single-choice LLM tasks need ~15-20 items",
                it.task
            );
        }
    }
    let mm = items
        .iter()
        .filter(|i| i.track == Track::Multimodal)
        .count();
    assert!(mm >= 12, "only {mm} multimodal items");
}

#[test]
fn every_format_track_dimension_and_language_is_covered() {
    let items = bank();
    let formats: BTreeSet<FormatKind> = items.iter().map(|i| i.format_kind()).collect();
    for k in FormatKind::ALL {
        assert!(formats.contains(&k), "no item with format {k}");
    }
    let tracks: BTreeSet<Track> = items.iter().map(|i| i.track).collect();
    for t in Track::ALL {
        assert!(tracks.contains(&t), "no item in track {t}");
    }
    let dims: BTreeSet<Dimension> = items.iter().map(|i| i.dimension).collect();
    for d in Dimension::ALL {
        assert!(dims.contains(&d), "no item in dimension {d}");
    }
    let zh = items.iter().filter(|i| i.language == "zh").count();
    let en = items.iter().filter(|i| i.language == "en").count();
    assert_eq!(zh + en, items.len(), "languages other than zh and en");
    assert!(
        zh * 3 >= items.len() && en * 3 >= items.len(),
        "zh {zh} / en {en} is far from half each"
    );
    // The variants the brief asks for explicitly.
    assert!(
        items
            .iter()
            .any(|i| matches!(i.format, Format::YesNo { allow_maybe: true }))
    );
    assert!(
        items
            .iter()
            .any(|i| matches!(i.format, Format::YesNo { allow_maybe: false }))
    );
    assert!(items.iter().any(|i| matches!(
        i.reference,
        Some(Reference::YesNo {
            answer: YesNoMaybe::Maybe
        })
    )));
    let open: Vec<&OpenReference> = items
        .iter()
        .filter(|i| i.format_kind() == FormatKind::OpenEnded)
        .filter_map(|i| match &i.reference {
            Some(Reference::Open(o)) => Some(o),
            _ => None,
        })
        .collect();
    assert!(
        open.iter().any(|o| o.answer.is_some()),
        "open-ended with a reference answer"
    );
    assert!(
        open.iter().any(|o| !o.key_points.is_empty()),
        "open-ended with key points"
    );
    assert!(
        open.iter().any(|o| o.rubric.iter().any(|c| c.points < 0.0)),
        "open-ended with a rubric that has penalties"
    );
    for it in items
        .iter()
        .filter(|i| i.format_kind() == FormatKind::Dialogue)
    {
        assert!(
            !it.conversation.is_empty(),
            "{}: dialogue without conversation",
            it.id
        );
    }
}

#[test]
fn every_item_has_a_reference_and_curation_metadata() {
    for it in bank() {
        assert!(it.reference.is_some(), "{}: no reference", it.id);
        assert_eq!(it.review, ReviewStatus::Approved, "{}", it.id);
        assert!(
            matches!(it.difficulty, Some(1..=5)),
            "{}: difficulty",
            it.id
        );
        assert_eq!(it.provenance.source, "medbench-demo", "{}", it.id);
        assert_eq!(
            it.provenance.licence.as_deref(),
            Some("CC-BY-4.0"),
            "{}",
            it.id
        );
        assert!(!it.specialties.is_empty(), "{}: no specialty", it.id);
    }
}

#[test]
fn rubrics_have_positive_criteria_and_choice_answers_spread() {
    let items = bank();
    for it in &items {
        if let Some(Reference::Open(o)) = &it.reference
            && !o.rubric.is_empty()
        {
            assert!(o.rubric.iter().any(|c| c.points > 0.0), "{}", it.id);
        }
    }
    // A bank whose single-choice answers are all "A" would reward position bias.
    let mut letters: BTreeMap<String, usize> = BTreeMap::new();
    for it in &items {
        if let Some(Reference::Choice { answer }) = &it.reference
            && it.format_kind() == FormatKind::SingleChoice
        {
            *letters.entry(answer[0].clone()).or_default() += 1;
        }
    }
    let total: usize = letters.values().sum();
    for (l, n) in &letters {
        assert!(
            n * 2 < total,
            "answer {l} is right in {n} of {total} single-choice items"
        );
    }
    assert!(letters.len() >= 5, "answers use only {letters:?}");
}

#[test]
fn specialty_codes_resolve() {
    let tax = Taxonomy::builtin();
    for it in bank() {
        for code in &it.specialties {
            assert!(
                tax.get(code).is_some(),
                "{}: unknown specialty code {code}",
                it.id
            );
        }
    }
}

#[test]
fn media_exist_and_hashes_match() {
    let mut used = BTreeSet::new();
    for it in bank() {
        if it.track == Track::Multimodal {
            assert!(
                !it.media.is_empty(),
                "{}: multimodal item without media",
                it.id
            );
        }
        for m in &it.media {
            let bytes = media(&m.name)
                .unwrap_or_else(|| panic!("{}: media {} is not embedded", it.id, m.name));
            assert_eq!(
                sha256_hex(bytes),
                m.sha256,
                "{}: sha256 of {}",
                it.id,
                m.name
            );
            assert_eq!(m.media_type, "image/png", "{}", it.id);
            assert!(
                bytes.starts_with(b"\x89PNG\r\n\x1a\n"),
                "{} is not a PNG",
                m.name
            );
            assert_eq!(
                media_by_sha256(&m.sha256).map(|(n, _)| n),
                Some(m.name.as_str())
            );
            used.insert(m.name.clone());
        }
    }
    for name in media_names() {
        assert!(
            used.contains(name),
            "media {name} is embedded but no item uses it"
        );
        let len = media(name).unwrap().len();
        assert!(
            len < 30 * 1024,
            "{name} is {len} bytes (keep images < 30 KB)"
        );
    }
    assert!(media("no-such-file.png").is_none());
}

#[test]
fn sql_references_execute_on_their_fixtures() {
    let mut n = 0;
    for it in bank() {
        let (Format::Sql { schema }, Some(Reference::Sql { query, fixture })) =
            (&it.format, &it.reference)
        else {
            continue;
        };
        n += 1;
        // The schema shown to the model must itself be valid DDL.
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch(schema)
            .unwrap_or_else(|e| panic!("{}: schema: {e}", it.id));
        let db = rusqlite::Connection::open_in_memory().unwrap();
        db.execute_batch(fixture)
            .unwrap_or_else(|e| panic!("{}: fixture: {e}", it.id));
        let mut stmt = db
            .prepare(query)
            .unwrap_or_else(|e| panic!("{}: query: {e}", it.id));
        let cols = stmt.column_count();
        let rows: Vec<Vec<String>> = stmt
            .query_map([], |row| {
                (0..cols)
                    .map(|i| {
                        row.get::<_, rusqlite::types::Value>(i)
                            .map(|v| format!("{v:?}"))
                    })
                    .collect()
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap_or_else(|e| panic!("{}: rows: {e}", it.id));
        assert!(
            !rows.is_empty(),
            "{}: the reference query returns no rows",
            it.id
        );
    }
    assert!(n >= 4, "only {n} SQL items");
}

#[test]
fn detection_boxes_lie_inside_the_grid() {
    let mut with_boxes = 0;
    for it in bank() {
        let (Format::Detection { grid, labels }, Some(Reference::Detection { boxes, iou })) =
            (&it.format, &it.reference)
        else {
            continue;
        };
        assert!(*iou > 0.0 && *iou <= 1.0, "{}", it.id);
        let g = *grid as f64;
        for b in boxes {
            let [x1, y1, x2, y2] = b.bbox;
            assert!(
                0.0 <= x1 && x1 < x2 && x2 <= g && 0.0 <= y1 && y1 < y2 && y2 <= g,
                "{}: box {:?}",
                it.id,
                b.bbox
            );
            assert!(
                labels.contains(&b.label),
                "{}: label {} not in format.labels",
                it.id,
                b.label
            );
        }
        with_boxes += usize::from(!boxes.is_empty());
    }
    assert!(with_boxes >= 3);
}

fn tool_names(tools: &[Value]) -> Vec<String> {
    tools
        .iter()
        .map(|t| {
            assert_eq!(
                t["type"], "function",
                "tool {t} is not an OpenAI-style function"
            );
            assert!(
                t["function"]["parameters"].is_object(),
                "tool {t} has no JSON-schema parameters"
            );
            t["function"]["name"]
                .as_str()
                .expect("tool name")
                .to_owned()
        })
        .collect()
}

#[test]
fn tool_calls_use_listed_tools_with_required_arguments() {
    for it in bank() {
        match (&it.format, &it.reference) {
            (Format::ToolCalls { tools }, Some(Reference::ToolCalls { calls, .. })) => {
                let names = tool_names(tools);
                for c in calls {
                    let tool = tools
                        .iter()
                        .find(|t| t["function"]["name"] == c.name.as_str())
                        .unwrap_or_else(|| {
                            panic!("{}: call {} is not among {names:?}", it.id, c.name)
                        });
                    let args = c
                        .arguments
                        .as_object()
                        .unwrap_or_else(|| panic!("{}: arguments must be an object", it.id));
                    let params = &tool["function"]["parameters"];
                    for req in params["required"].as_array().into_iter().flatten() {
                        assert!(
                            args.contains_key(req.as_str().unwrap()),
                            "{}: {} lacks {req}",
                            it.id,
                            c.name
                        );
                    }
                    for (k, v) in args {
                        let prop = &params["properties"][k];
                        assert!(
                            prop.is_object(),
                            "{}: {} has no parameter {k}",
                            it.id,
                            c.name
                        );
                        if let Some(allowed) = prop["enum"].as_array() {
                            assert!(allowed.contains(v), "{}: {k}={v} not in enum", it.id);
                        }
                    }
                }
            }
            (Format::AgentEpisode { tools, max_turns }, Some(Reference::Open(o))) => {
                let names = tool_names(tools);
                assert!(
                    names.iter().any(|n| n == "finish"),
                    "{}: episode without a finish tool",
                    it.id
                );
                assert!(max_turns.is_some(), "{}", it.id);
                assert!(
                    !o.key_points.is_empty(),
                    "{}: episode without key points",
                    it.id
                );
            }
            _ => {}
        }
    }
}

#[test]
fn agent_fixture_covers_the_episode_patients() {
    let fixture: Value = serde_json::from_str(AGENT_FIXTURE_JSON).expect("fixture parses");
    let mrns: BTreeSet<&str> = fixture["patients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["mrn"].as_str().unwrap())
        .collect();
    for o in fixture["observations"].as_array().unwrap() {
        assert!(mrns.contains(o["patient"].as_str().unwrap()));
    }
    for it in bank()
        .iter()
        .filter(|i| i.format_kind() == FormatKind::AgentEpisode)
    {
        for word in it.question.split(|c: char| !c.is_ascii_alphanumeric()) {
            if word.len() == 8
                && word.starts_with('S')
                && word[1..].chars().all(|c| c.is_ascii_digit())
            {
                assert!(
                    mrns.contains(word),
                    "{}: patient {word} is not in the fixture",
                    it.id
                );
            }
        }
    }
}

#[test]
fn items_agree_with_the_demo_catalogue() {
    let cat = catalog();
    let builtin = medbench_core::Catalog::builtin();
    let mut used = BTreeSet::new();
    for it in bank() {
        let t = cat
            .lookup(&it.task)
            .unwrap_or_else(|| panic!("{}: task {} not in data/tasks.toml", it.id, it.task));
        assert_eq!(
            (t.track, t.dimension, t.format),
            (it.track, it.dimension, it.format_kind()),
            "{}",
            it.id
        );
        assert!(
            builtin.lookup(&it.task).is_none(),
            "{} collides with a built-in task",
            it.task
        );
        used.insert(t.name.clone());
    }
    assert_eq!(
        used.len(),
        cat.tasks().len(),
        "catalogue lists tasks without items"
    );
}

#[test]
fn serialised_items_read_back_identically() {
    for it in bank() {
        let text = serde_json::to_string(&it).unwrap();
        let back: Item = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", it.id));
        assert_eq!(back, it);
    }
}
