//! `answers export --layout medbench-v4` on the real official samples
//! (`shared/data/medbench-v4-format`): import the three tracks blind (the LLM one as the
//! official zip), answer them with the built-in baseline, write the files back, and
//! compare them with the downloads: byte for byte apart from `answer`.

use medbench_eval::{EvalOptions, ModelSpec, ProviderKind};
use medbench_import::{ImportOptions, Input, import};
use medbench_round::answers::{export_v4, replace_answer};
use medbench_store::{Bank, SqliteBank};
use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

fn sample() -> Option<PathBuf> {
    let dir =
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/medbench-v4-format");
    if dir.is_dir() {
        Some(dir)
    } else {
        eprintln!(
            "SKIPPED: the official v4 format samples are not at {} (the shared data is not checked out here)",
            dir.display()
        );
        None
    }
}

/// `MedBench_LLM.zip` holding `MedBench_LLM/<Task>.jsonl`, as the official download does.
fn llm_zip(from: &Path, to: &Path) -> PathBuf {
    let path = to.join("MedBench_LLM.zip");
    let mut z = zip::ZipWriter::new(std::fs::File::create(&path).unwrap());
    let mut names: Vec<_> = std::fs::read_dir(from.join("llm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for p in names {
        let name = format!("MedBench_LLM/{}", p.file_name().unwrap().to_str().unwrap());
        z.start_file(name, zip::write::SimpleFileOptions::default())
            .unwrap();
        z.write_all(&std::fs::read(&p).unwrap()).unwrap();
    }
    z.finish().unwrap();
    path
}

fn lines(bytes: &[u8]) -> Vec<String> {
    String::from_utf8(bytes.to_vec())
        .unwrap()
        .split('\n')
        .map(str::to_owned)
        .collect()
}

/// Every exported file equals its download once `answer` is blanked again, and every
/// filled answer is the run's stored answer to that row's item and option order.
fn check_file(
    original: &[u8],
    exported: &[u8],
    name: &str,
    rows_of: &HashMap<(String, u64), String>,
    answers: &HashMap<String, String>,
) -> usize {
    let (o, e) = (lines(original), lines(exported));
    assert_eq!(o.len(), e.len(), "{name}: line count");
    let mut filled = 0;
    for (i, (a, b)) in o.iter().zip(&e).enumerate() {
        if a.trim().is_empty() {
            assert_eq!(a, b, "{name}:{}", i + 1);
            continue;
        }
        assert_eq!(
            &replace_answer(b, "").unwrap(),
            a,
            "{name}:{}: differs from the download apart from `answer`",
            i + 1
        );
        let v: serde_json::Value = serde_json::from_str(b).unwrap();
        if let Some(key) = rows_of.get(&(name.to_owned(), i as u64 + 1)) {
            let want = answers.get(key).cloned().unwrap_or_default();
            assert_eq!(v["answer"], want.as_str(), "{name}:{}", i + 1);
            filled += !want.is_empty() as usize;
        }
    }
    filled
}

#[test]
fn filled_official_files_equal_the_downloads_apart_from_answer() {
    let Some(data) = sample() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let db = tmp.path().join("bank.db");
    let db = db.to_str().unwrap();
    let zip = llm_zip(&data, tmp.path());
    let mut bank = SqliteBank::open(db).unwrap();
    let inputs = vec![
        Input::Path(zip.clone()),
        Input::Path(data.join("agent")),
        Input::Path(data.join("multimodal")),
    ];
    let opts = ImportOptions {
        // One multimodal sample row names an image left out of the shared data.
        skip_invalid: true,
        ..Default::default()
    };
    let r = import(&mut bank, inputs, opts, &mut |_| {}).unwrap();
    assert!(r.committed);
    drop(bank);

    let mut model = ModelSpec::named("random");
    model.provider = ProviderKind::Random;
    let opts = EvalOptions {
        out: Some(tmp.path().join("results")),
        ..Default::default()
    };
    let run = medbench_eval::evaluate(db, &model, &opts, &mut |_| {}).unwrap();
    // Every item is blind: answered, not scored.
    assert!(run.results.tasks.is_empty());
    assert_eq!(run.results.answered["MedExam"].items, 1);
    assert_eq!(
        run.results.answered["MedExam"].instances, 2,
        "two official orders of one question"
    );

    let bank = SqliteBank::open(db).unwrap();
    let out = tmp.path().join("filled");
    let report = export_v4(&bank, &run.run_id, &out).unwrap();
    assert_eq!(report.unanswered, 0);
    // Which instance each row of each file is, and what the run answered.
    let items: HashSet<String> = bank
        .run_items(&run.run_id)
        .unwrap()
        .into_iter()
        .map(|(id, ..)| id)
        .collect();
    let mut rows_of = HashMap::new();
    for (file, rows) in bank.source_layout(&items).unwrap() {
        let name = if file.container.is_empty() {
            file.path.clone()
        } else {
            format!("{}!{}", file.container, file.path)
        };
        for r in rows.iter().filter(|r| !r.item_id.is_empty()) {
            let variants = bank.get(&r.item_id).unwrap().unwrap().variants.len();
            let key = medbench_store::instance_key(&r.item_id, variants, r.variant as usize);
            rows_of.insert((name.clone(), r.line), key);
        }
    }
    let answers: HashMap<String, String> = bank
        .responses(&run.run_id)
        .unwrap()
        .into_iter()
        .map(|r| (r.item_id, r.text.unwrap_or_default()))
        .collect();

    let mut filled = 0;
    let mut files = 0;
    // The LLM track: the same zip name and entries.
    let mut z =
        zip::ZipArchive::new(std::fs::File::open(out.join("MedBench_LLM.zip")).unwrap()).unwrap();
    assert_eq!(z.len(), 38);
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let name = e.name().unwrap().to_string();
        let mut got = Vec::new();
        e.read_to_end(&mut got).unwrap();
        let task = name.strip_prefix("MedBench_LLM/").unwrap();
        let original = std::fs::read(data.join("llm").join(task)).unwrap();
        filled += check_file(
            &original,
            &got,
            &format!("MedBench_LLM.zip!{name}"),
            &rows_of,
            &answers,
        );
        files += 1;
    }
    // The agent and multimodal tracks, imported from folders: the same file names.
    for track in ["agent", "multimodal"] {
        for e in std::fs::read_dir(data.join(track)).unwrap() {
            let p = e.unwrap().path();
            if p.extension().and_then(|x| x.to_str()) != Some("jsonl") {
                continue;
            }
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            let got = std::fs::read(out.join(&name)).unwrap();
            filled += check_file(&std::fs::read(&p).unwrap(), &got, &name, &rows_of, &answers);
            files += 1;
        }
    }
    assert_eq!(files, 38 + 14 + 10);
    // The baseline answers every choice, yes/no, label and intent row; the MedExam copies
    // are answered apart, each in its own order.
    assert!(filled >= 10, "only {filled} rows carry an answer");
    assert!(answers.contains_key("MedExam/3#0") && answers.contains_key("MedExam/3#1"));
}
