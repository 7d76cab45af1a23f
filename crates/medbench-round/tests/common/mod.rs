//! Shared fixtures: a demo bank in a temporary file, zip reading, a key oracle.
#![allow(dead_code)]

use medbench_core::{Catalog, FormatKind, Reference, YesNoMaybe};
use medbench_import::{ImportOptions, Input, import};
use medbench_round::{DrawParams, Drawn, SECRET_KEY, draw};
use medbench_store::{Bank, InstanceRow, SqliteBank};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: String,
}

impl Fixture {
    pub fn bank(&self) -> SqliteBank {
        SqliteBank::open(&self.db).unwrap()
    }
    pub fn path(&self, name: &str) -> std::path::PathBuf {
        self.dir.path().join(name)
    }
}

/// A demo bank with a fixed secret (and one blind item, which must never be drawn).
pub fn demo_bank() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db").to_str().unwrap().to_owned();
    let mut bank = SqliteBank::open(&db).unwrap();
    let blind = dir.path().join("blind.jsonl");
    std::fs::write(
        &blind,
        r#"{"id":"DemoExam/blind-1","track":"llm","dimension":"knowledge_qa","language":"zh","question":"盲题：哪一项正确？","format":{"type":"single_choice","options":[{"label":"A","text":"甲"},{"label":"B","text":"乙"}]},"provenance":{"source":"test"},"review":"approved"}
"#,
    )
    .unwrap();
    let mut inputs: Vec<Input> = medbench_demo::files()
        .iter()
        .map(|f| Input::Embedded {
            name: f.name,
            text: f.text,
            media: medbench_demo::media,
        })
        .collect();
    inputs.push(Input::Path(blind));
    let r = import(
        &mut bank as &mut dyn Bank,
        inputs,
        ImportOptions::default(),
        &mut |_| {},
    )
    .unwrap();
    assert!(r.committed, "{:?}", r.rejects.first());
    bank.set_setting(SECRET_KEY, b"test secret").unwrap();
    Fixture { dir, db }
}

pub fn params(per_task: usize, k: u32, seed: u64) -> DrawParams {
    DrawParams {
        per_task,
        permutations: k,
        seed,
        ..Default::default()
    }
}

pub fn do_draw(bank: &mut SqliteBank, p: &DrawParams) -> Drawn {
    draw(bank, p, &Catalog::builtin()).unwrap()
}

/// Every file of a zip: name → bytes.
pub fn unzip(path: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        out.insert(e.name().unwrap().into_owned(), b);
    }
    out
}

/// Every file under a directory, zips expanded: name → bytes.
pub fn all_files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|e| e == "zip") {
                for (n, b) in unzip(&p) {
                    out.insert(format!("{}!{n}", p.display()), b);
                }
            } else {
                out.insert(p.display().to_string(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// A correct answer text from the server-side key, for formats where one is easy to write.
pub fn key_answer(inst: &InstanceRow) -> Option<String> {
    let (format, reference) = medbench_round::instance::instance_parts(inst).unwrap();
    Some(match (format.kind(), reference?) {
        (_, Reference::Choice { answer }) => answer.join(""),
        (_, Reference::YesNo { answer }) => match answer {
            YesNoMaybe::Yes => "yes",
            YesNoMaybe::No => "no",
            YesNoMaybe::Maybe => "maybe",
        }
        .into(),
        (FormatKind::ShortAnswer, Reference::Text { answers }) => answers[0].clone(),
        (_, Reference::Numeric { value, .. }) => value.to_string(),
        (_, Reference::Intent { label }) => label,
        _ => return None,
    })
}
