//! Draws, exposure accounting, determinism, and the leak test.

mod common;

use common::*;
use medbench_core::Catalog;
use medbench_round::{DrawParams, Layout, draw, export};
use medbench_store::{Bank, ItemFilter};
use std::collections::{HashMap, HashSet};

#[test]
fn same_seed_and_bank_give_byte_identical_exports_and_another_seed_does_not() {
    let (a, b) = (demo_bank(), demo_bank());
    let p = params(4, 3, 11);
    let ra = do_draw(&mut a.bank(), &p);
    let rb = do_draw(&mut b.bank(), &p);
    assert_eq!(ra.round.id, rb.round.id);
    for layout in [Layout::MedbenchV4, Layout::Native] {
        let (oa, ob) = (a.path("xa"), b.path("xb"));
        export(&a.bank(), &ra.round.id, layout, &oa).unwrap();
        export(&b.bank(), &rb.round.id, layout, &ob).unwrap();
        let fa: Vec<Vec<u8>> = walk_bytes(&oa);
        let fb: Vec<Vec<u8>> = walk_bytes(&ob);
        assert!(!fa.is_empty());
        assert_eq!(fa, fb, "{layout:?} exports differ");
        std::fs::remove_dir_all(&oa).unwrap();
        std::fs::remove_dir_all(&ob).unwrap();
    }
    // Another seed, on an identical bank: another round.
    let c = demo_bank();
    let rc = do_draw(&mut c.bank(), &params(4, 3, 12));
    assert_ne!(rc.round.id, ra.round.id);
    export(&a.bank(), &ra.round.id, Layout::MedbenchV4, &a.path("ya")).unwrap();
    export(&c.bank(), &rc.round.id, Layout::MedbenchV4, &c.path("yc")).unwrap();
    assert_ne!(walk_bytes(&a.path("ya")), walk_bytes(&c.path("yc")));
    // Exporting the same round twice is stable too.
    export(&a.bank(), &ra.round.id, Layout::MedbenchV4, &a.path("za")).unwrap();
    assert_eq!(walk_bytes(&a.path("ya")), walk_bytes(&a.path("za")));
}

fn walk_bytes(dir: &std::path::Path) -> Vec<Vec<u8>> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .iter()
        .filter(|p| p.is_file())
        .map(|p| std::fs::read(p).unwrap())
        .collect()
}

#[test]
fn draws_are_stratified_blind_free_and_permute_choice_items_only() {
    let f = demo_bank();
    let mut bank = f.bank();
    let d = do_draw(&mut bank, &params(5, 4, 3));
    let inst = bank.round_instances(&d.round.id).unwrap();
    assert!(
        inst.iter().all(|i| i.item_id != "DemoExam/blind-1"),
        "blind items are never drawn"
    );
    let mut per_item: HashMap<&str, Vec<u32>> = HashMap::new();
    for i in &inst {
        per_item.entry(&i.item_id).or_default().push(i.permutation);
    }
    for (id, ks) in &per_item {
        let item = bank.get(id).unwrap().unwrap();
        let want = if item.format.options().is_some() {
            4
        } else {
            1
        };
        assert_eq!(ks.len(), want, "{id}");
    }
    assert_eq!(d.tasks["DemoExam"].drawn, 5);
    assert_eq!(d.tasks["DemoExam"].instances, 20);
    // DemoSafety items each have their own specialty tag set; five drawn of 16 come
    // from at least three different (specialty, difficulty) strata.
    let strata: HashSet<(Option<String>, Option<u8>)> = inst
        .iter()
        .filter(|i| i.task == "DemoExam")
        .map(|i| {
            let it = bank.get(&i.item_id).unwrap().unwrap();
            (it.specialties.first().cloned(), it.difficulty)
        })
        .collect();
    assert!(strata.len() >= 3, "{strata:?}");
    // Ids are opaque and never repeat across rounds for the same item.
    let d2 = do_draw(&mut bank, &params(50, 4, 3));
    let inst2 = bank.round_instances(&d2.round.id).unwrap();
    let ids1: HashSet<&str> = inst.iter().map(|i| i.instance_id.as_str()).collect();
    assert!(inst2.iter().all(|i| !ids1.contains(i.instance_id.as_str())));
    assert!(
        inst.iter()
            .all(|i| i.instance_id.len() == 16 && !i.instance_id.contains(&i.item_id))
    );
}

#[test]
fn permutations_move_the_answer_and_keep_the_key_consistent() {
    let f = demo_bank();
    let mut bank = f.bank();
    let d = do_draw(
        &mut bank,
        &DrawParams {
            tasks: vec!["DemoExamEN".into()],
            ..params(3, 4, 9)
        },
    );
    let inst = bank.round_instances(&d.round.id).unwrap();
    for i in &inst {
        let item = bank.get(&i.item_id).unwrap().unwrap();
        let (fmt, r) = medbench_round::instance::instance_parts(i).unwrap();
        let (Some(medbench_core::Reference::Choice { answer }), Some(orig)) =
            (r, item.reference.clone())
        else {
            panic!()
        };
        let medbench_core::Reference::Choice { answer: orig } = orig else {
            panic!()
        };
        let text_of = |opts: &[medbench_core::Choice], l: &str| {
            opts.iter().find(|o| o.label == l).unwrap().text.clone()
        };
        assert_eq!(
            text_of(fmt.options().unwrap(), &answer[0]),
            text_of(item.format.options().unwrap(), &orig[0])
        );
    }
    // With 4 permutations of ≥4 options, the right answer sits at 4 different letters.
    let mut letters: HashMap<&str, HashSet<String>> = HashMap::new();
    for i in &inst {
        letters
            .entry(&i.item_id)
            .or_default()
            .insert(common::key_answer(i).unwrap());
    }
    assert!(letters.values().all(|s| s.len() == 4), "{letters:?}");
}

#[test]
fn exposure_is_counted_items_rest_and_retire() {
    let f = demo_bank();
    let mut bank = f.bank();
    let catalog = Catalog::builtin();
    // DemoTriage has 6 items: draw 2 per round, rest 1 round, retire after 2 exposures.
    let p = DrawParams {
        tasks: vec!["DemoTriage".into()],
        max_exposures: Some(2),
        rest_rounds: 1,
        ..params(2, 1, 5)
    };
    let mut rounds: Vec<HashSet<String>> = Vec::new();
    for _ in 0..6 {
        match draw(&mut bank, &p, &catalog) {
            Ok(d) => rounds.push(
                bank.round_instances(&d.round.id)
                    .unwrap()
                    .into_iter()
                    .map(|i| i.item_id)
                    .collect(),
            ),
            Err(e) => {
                assert!(e.to_string().contains("rests or is retired"), "{e}");
                break;
            }
        }
    }
    // 6 items × 2 exposures / 2 per round = 6 rounds, then nothing is left.
    assert_eq!(rounds.len(), 6, "{rounds:?}");
    for w in rounds.windows(2) {
        assert!(
            w[0].is_disjoint(&w[1]),
            "an item drawn in consecutive rounds did not rest: {w:?}"
        );
    }
    // Least exposed first: the first three rounds cover all six items once.
    let first: HashSet<&String> = rounds[..3].iter().flatten().collect();
    assert_eq!(first.len(), 6);
    let exp = bank.exposures().unwrap();
    assert_eq!(exp.len(), 6);
    assert!(exp.values().all(|e| e.rounds == 2), "{exp:?}");
    assert!(draw(&mut bank, &p, &catalog).is_err(), "all retired");
    // Without rest or retire rules the pool is open again.
    let open = DrawParams {
        max_exposures: None,
        rest_rounds: 0,
        ..p.clone()
    };
    assert_eq!(draw(&mut bank, &open, &catalog).unwrap().items, 2);
}

#[test]
fn no_reference_key_point_rubric_or_item_id_leaks_into_any_export() {
    let f = demo_bank();
    let mut bank = f.bank();
    let d = do_draw(&mut bank, &params(1000, 3, 1));
    let mut items = Vec::new();
    bank.for_each(&ItemFilter::default(), &mut |i| {
        items.push(i);
        Ok(())
    })
    .unwrap();
    let drawn: HashSet<String> = bank
        .round_instances(&d.round.id)
        .unwrap()
        .into_iter()
        .map(|i| i.item_id)
        .collect();
    assert!(
        drawn.len() > 150,
        "every scorable demo item is drawn: {}",
        drawn.len()
    );
    for layout in [Layout::MedbenchV4, Layout::Native] {
        let out = f.path(&format!("leak-{layout:?}"));
        export(&bank, &d.round.id, layout, &out).unwrap();
        let files = all_files(&out);
        let text: String = files
            .values()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .collect::<Vec<_>>()
            .join("\n");
        assert!(text.contains(&d.round.canary));
        // Each row, found through the server-side instance table, against its own item.
        let mut rows: HashMap<String, String> = HashMap::new();
        for (name, bytes) in &files {
            if name.ends_with(".jsonl") {
                for line in String::from_utf8_lossy(bytes).lines() {
                    let v: serde_json::Value = serde_json::from_str(line).unwrap();
                    let id = v["other"]["id"]
                        .as_str()
                        .or(v["id"].as_str())
                        .unwrap()
                        .to_owned();
                    rows.insert(id, line.to_owned());
                }
            }
        }
        let by_id: HashMap<&str, &medbench_core::Item> =
            items.iter().map(|i| (i.id.as_str(), i)).collect();
        let instances = bank.round_instances(&d.round.id).unwrap();
        assert_eq!(rows.len(), instances.len());
        let mut checked = 0;
        for it in &items {
            assert!(
                !text.contains(&it.id),
                "{layout:?}: item id {} leaks",
                it.id
            );
            if let Some(orig) = &it.provenance.original_id {
                assert!(
                    !text.contains(orig.as_str()),
                    "{layout:?}: original id {orig} leaks"
                );
            }
        }
        for inst in &instances {
            let it = by_id[inst.item_id.as_str()];
            let row = &rows[&inst.instance_id];
            // A secret that the public question itself contains cannot be leaked by us.
            let public =
                serde_json::to_string(&(&it.question, &it.context, &it.conversation, &it.format))
                    .unwrap();
            for s in it.secret_strings() {
                let esc = serde_json::to_string(&s).unwrap();
                let esc = &esc[1..esc.len() - 1];
                if s.chars().count() < 4 || public.contains(&s) || public.contains(esc) {
                    continue;
                }
                assert!(
                    !row.contains(&s) && !row.contains(esc),
                    "{layout:?}: secret `{s}` of {} leaks",
                    it.id
                );
                checked += 1;
            }
        }
        assert!(
            checked > 100,
            "the leak test checked only {checked} secrets"
        );
        // Nothing in a row marks the original option order or permutation index.
        for (name, bytes) in &files {
            if !name.ends_with(".jsonl") {
                continue;
            }
            for line in String::from_utf8_lossy(bytes).lines() {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                let keys: HashSet<&str> =
                    v.as_object().unwrap().keys().map(String::as_str).collect();
                let allowed: HashSet<&str> = match layout {
                    Layout::MedbenchV4 => ["question", "answer", "other", "img_path"].into(),
                    Layout::Native => [
                        "id",
                        "task",
                        "track",
                        "dimension",
                        "language",
                        "system",
                        "context",
                        "conversation",
                        "question",
                        "format",
                        "media",
                        "canary",
                    ]
                    .into(),
                };
                assert!(keys.is_subset(&allowed), "{keys:?}");
                for banned in [
                    "reference",
                    "permutation",
                    "original",
                    "provenance",
                    "version",
                    "specialties",
                    "difficulty",
                ] {
                    assert!(
                        !line.contains(&format!("\"{banned}\"")),
                        "{banned} in {line}"
                    );
                }
            }
        }
    }
}

#[test]
fn the_v4_export_re_imports_with_the_v4_reader_as_blind_items() {
    let f = demo_bank();
    let mut bank = f.bank();
    let d = do_draw(
        &mut bank,
        &DrawParams {
            tasks: vec!["DemoExam".into(), "DemoECG".into()],
            ..params(3, 2, 2)
        },
    );
    let out = f.path("v4");
    let files = export(&bank, &d.round.id, Layout::MedbenchV4, &out).unwrap();
    let names: Vec<String> = files
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["MedBench_LLM.zip", "MedBench_VLM_QA.zip"]);
    let vlm = unzip(&out.join("MedBench_VLM_QA.zip"));
    assert!(
        vlm.keys()
            .any(|k| k.starts_with("MedBench_VLM_QA/DemoECG/")),
        "media beside: {:?}",
        vlm.keys()
    );
    let row: serde_json::Value = serde_json::from_slice(
        vlm["MedBench_VLM_QA/DemoECG.jsonl"]
            .split(|b| *b == b'\n')
            .next()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(row["answer"], "");
    assert_eq!(row["other"]["source"], "DemoECG_V4");
    assert!(vlm.contains_key(&format!(
        "MedBench_VLM_QA/{}",
        row["img_path"].as_str().unwrap()
    )));
    let mut fresh = medbench_store::SqliteBank::open(":memory:").unwrap();
    let r = medbench_import::import(
        &mut fresh as &mut dyn Bank,
        files
            .iter()
            .map(|p| medbench_import::Input::Path(p.clone()))
            .collect(),
        medbench_import::ImportOptions {
            format: Some("medbench-v4".parse().unwrap()),
            catalog: medbench_demo::catalog(),
            ..Default::default()
        },
        &mut |_| {},
    )
    .unwrap();
    assert!(r.committed, "{:?}", r.rejects.first());
    assert_eq!(r.imported as usize, d.instances);
    let stats = fresh
        .stats(&ItemFilter {
            blind: Some(true),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(stats.total.items as usize, d.instances);
}
