//! Shared fixtures: a demo bank with a round, one user and token per role,
//! a running server, and a client.
#![allow(dead_code)]

use medbench_core::Catalog;
use medbench_import::{ImportOptions, Input, import};
use medbench_round::{DrawParams, SECRET_KEY, draw};
use medbench_server::{Role, ServerConfig, add_user, create_token};
use medbench_store::{Bank, SqliteBank};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::SocketAddr;

pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub db: String,
    pub round: String,
    /// role name → token secret (`sub2` is a second submitter).
    pub tokens: BTreeMap<String, String>,
}

pub fn demo_bank() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db").to_str().unwrap().to_owned();
    let mut bank = SqliteBank::open(&db).unwrap();
    let inputs: Vec<Input> = medbench_demo::files()
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
    assert!(r.committed, "{:?}", r.rejects.first());
    bank.set_setting(SECRET_KEY, b"test secret").unwrap();
    let d = draw(
        &mut bank,
        &DrawParams {
            per_task: 4,
            permutations: 2,
            seed: 11,
            name: Some("r1".into()),
            ..Default::default()
        },
        &Catalog::builtin(),
    )
    .unwrap();
    let mut tokens = BTreeMap::new();
    for (name, role) in [
        ("admin", Role::Admin),
        ("curator", Role::Curator),
        ("reviewer", Role::Reviewer),
        ("submitter", Role::Submitter),
        ("viewer", Role::Viewer),
        ("sub2", Role::Submitter),
    ] {
        add_user(&mut bank, name, role).unwrap();
        tokens.insert(
            name.to_owned(),
            create_token(&mut bank, name, "test").unwrap().1,
        );
    }
    Fixture {
        dir,
        db,
        round: d.round.id,
        tokens,
    }
}

pub fn config(db: &str) -> ServerConfig {
    ServerConfig {
        db: db.to_owned(),
        rate_limit_per_minute: 0,
        ..Default::default()
    }
}

pub async fn start(cfg: ServerConfig) -> String {
    let (addr, _state): (SocketAddr, _) = medbench_server::spawn(cfg).await.unwrap();
    format!("http://{addr}")
}

pub fn client() -> reqwest::Client {
    medbench_provider::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Every file of a zip: name → bytes.
pub fn unzip(bytes: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..z.len() {
        let mut e = z.by_index(i).unwrap();
        let mut b = Vec::new();
        e.read_to_end(&mut b).unwrap();
        out.insert(e.name().unwrap().into_owned(), b);
    }
    out
}

/// A zip of the given (name, bytes) entries.
pub fn zip_of(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut buf = std::io::Cursor::new(Vec::new());
    {
        let mut z = zip::ZipWriter::new(&mut buf);
        let o = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (n, b) in entries {
            z.start_file(*n, o).unwrap();
            z.write_all(b).unwrap();
        }
        z.finish().unwrap();
    }
    buf.into_inner()
}

/// The round's LLM zip with every answer set to `answer`.
pub fn filled(zip_bytes: &[u8], answer: &str) -> Vec<u8> {
    let files = unzip(zip_bytes);
    let mut out: Vec<(String, Vec<u8>)> = Vec::new();
    for (name, bytes) in files {
        if !name.ends_with(".jsonl") {
            continue;
        }
        let mut lines = Vec::new();
        for l in String::from_utf8(bytes)
            .unwrap()
            .lines()
            .filter(|l| !l.trim().is_empty())
        {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["answer"] = serde_json::Value::String(answer.to_owned());
            lines.push(v.to_string());
        }
        out.push((name, lines.join("\n").into_bytes()));
    }
    let refs: Vec<(&str, &[u8])> = out
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    zip_of(&refs)
}

/// Download the round's LLM zip as `token`.
pub async fn llm_zip(c: &reqwest::Client, base: &str, token: &str) -> Vec<u8> {
    let r = c
        .get(format!(
            "{base}/api/v1/rounds/current/files/MedBench_LLM.zip"
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.bytes().await.unwrap().to_vec()
}

/// Upload answers as `token`; returns (status, body).
pub async fn upload(
    c: &reqwest::Client,
    base: &str,
    token: &str,
    model: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let r = c
        .post(format!("{base}/api/v1/submissions?model={model}"))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .unwrap();
    let s = r.status().as_u16();
    (s, r.json().await.unwrap_or(serde_json::Value::Null))
}

/// GET `url` as `token` and parse the JSON answer.
pub async fn get_json(c: &reqwest::Client, url: &str, token: &str) -> serde_json::Value {
    c.get(url)
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
