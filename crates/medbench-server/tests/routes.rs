//! Every route with every role (and with no token), and the leak test: nothing a
//! submitter can fetch contains a reference answer, key point or rubric of the bank.

mod common;
use common::*;

use medbench_server::ROUTES;
use medbench_store::{Bank, ItemFilter, SqliteBank};
use std::collections::BTreeMap;

struct World {
    base: String,
    f: Fixture,
    c: reqwest::Client,
    /// submitter's published run, sub2's unpublished run.
    published: String,
    unpublished: String,
    job: i64,
    /// An item whose reference has long secret strings (a rubric or key points).
    item: String,
}

async fn world() -> World {
    let f = demo_bank();
    let mut cfg = config(&f.db);
    cfg.worker = false; // jobs stay queued: this test is about who may see them
    let base = start(cfg).await;
    let c = client();
    let zip = llm_zip(&c, &base, &f.tokens["submitter"]).await;
    let (s, a) = upload(
        &c,
        &base,
        &f.tokens["submitter"],
        "model-a",
        filled(&zip, "A"),
    )
    .await;
    assert_eq!(s, 201, "{a}");
    let (s, b) = upload(&c, &base, &f.tokens["sub2"], "model-b", filled(&zip, "B")).await;
    assert_eq!(s, 201, "{b}");
    let published = a["run_id"].as_str().unwrap().to_owned();
    let unpublished = b["run_id"].as_str().unwrap().to_owned();
    let r = c
        .post(format!("{base}/api/v1/runs/{published}/publish"))
        .bearer_auth(&f.tokens["curator"])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // A job of the submitter (public address; the worker is off, so it is never called).
    let r = c
        .post(format!("{base}/api/v1/jobs"))
        .bearer_auth(&f.tokens["submitter"])
        .json(&serde_json::json!({"base_url": "http://8.8.8.8:9/v1", "model": "m", "api_key": "sk-hidden-key-123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let job = r.json::<serde_json::Value>().await.unwrap()["id"]
        .as_i64()
        .unwrap();
    let item = secrets(&f.db)
        .into_iter()
        .max_by_key(|(_, s)| s.chars().count())
        .unwrap()
        .0;
    World {
        base,
        f,
        c,
        published,
        unpublished,
        job,
        item,
    }
}

fn concrete(w: &World, path: &str) -> String {
    path.replace(
        "{id}/files/{name}",
        &format!("{}/files/MedBench_LLM.zip", w.f.round),
    )
    .replace("/rounds/{id}", &format!("/rounds/{}", w.f.round))
    .replace("/runs/{id}", &format!("/runs/{}", w.published))
    .replace("/jobs/{id}", &format!("/jobs/{}", w.job))
    .replace("{*id}", &w.item)
    .replace("/tokens/{id}", "/tokens/999")
}

/// Who may do what, written out apart from `Role::can` so that a change there shows here.
fn expected(c: medbench_server::Cap) -> &'static [&'static str] {
    use medbench_server::Cap::*;
    match c {
        ReadBoard => &["admin", "curator", "reviewer", "submitter", "viewer"],
        Submit => &["admin", "submitter"],
        ReadAllRuns | BrowseItems => &["admin", "curator", "reviewer"],
        Publish => &["admin", "curator"],
        ManageUsers => &["admin"],
    }
}

async fn call(
    w: &World,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> (u16, Vec<u8>, Option<String>) {
    let url = format!("{}{}", w.base, path);
    let mut rb = match method {
        "GET" => w.c.get(url),
        "POST" => w.c.post(url),
        "DELETE" => w.c.delete(url),
        m => panic!("method {m}"),
    };
    if let Some(t) = token {
        rb = rb.bearer_auth(t);
    }
    let r = rb.send().await.unwrap();
    let status = r.status().as_u16();
    let loc = r
        .headers()
        .get("location")
        .map(|v| v.to_str().unwrap().to_owned());
    (status, r.bytes().await.unwrap().to_vec(), loc)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_answers_each_role_as_the_table_says() {
    let w = world().await;
    let mut checked = 0;
    for r in ROUTES {
        if r.path == "/logout" {
            continue; // public and harmless; checked in the browser test
        }
        let path = concrete(&w, r.path);
        // Without a token.
        let (s, _, loc) = call(&w, r.method, &path, None).await;
        match r.cap {
            None => assert!(
                s < 500 && s != 401 && s != 403,
                "{} {path} anonymous: {s}",
                r.method
            ),
            Some(_) if r.api => assert_eq!(s, 401, "{} {path} anonymous", r.method),
            Some(_) => assert_eq!(
                (s, loc.as_deref()),
                (303, Some("/login")),
                "{} {path} anonymous",
                r.method
            ),
        }
        for role in medbench_server::ROLES {
            let token = &w.f.tokens[role.as_str()];
            let (s, body, _) = call(&w, r.method, &path, Some(token)).await;
            let allowed = r.cap.is_none_or(|c| expected(c).contains(&role.as_str()));
            assert_eq!(
                allowed,
                r.cap.is_none_or(|c| role.can(c)),
                "{role} and {:?}",
                r.cap
            );
            if allowed {
                assert!(
                    s != 401 && s != 403 && s < 500,
                    "{} {path} as {role}: {s} {}",
                    r.method,
                    String::from_utf8_lossy(&body)
                        .chars()
                        .take(300)
                        .collect::<String>()
                );
            } else {
                assert_eq!(s, 403, "{} {path} as {role} must be refused", r.method);
            }
            checked += 1;
        }
    }
    assert!(checked > 200, "{checked}");

    // Visibility inside allowed routes: a submitter never sees another submitter's
    // unpublished run, not even its existence; reviewers see everything.
    let sub = &w.f.tokens["submitter"];
    for p in [
        format!("/api/v1/runs/{}", w.unpublished),
        format!("/runs/{}", w.unpublished),
    ] {
        assert_eq!(call(&w, "GET", &p, Some(sub)).await.0, 404, "{p}");
        assert_eq!(
            call(&w, "GET", &p, Some(&w.f.tokens["reviewer"])).await.0,
            200,
            "{p}"
        );
    }
    let (_, runs, _) = call(&w, "GET", "/api/v1/runs", Some(sub)).await;
    let runs = String::from_utf8(runs).unwrap();
    assert!(
        runs.contains(&w.published) && !runs.contains(&w.unpublished),
        "{runs}"
    );
    let (_, board, _) = call(
        &w,
        "GET",
        "/api/v1/leaderboard",
        Some(&w.f.tokens["viewer"]),
    )
    .await;
    let board = String::from_utf8(board).unwrap();
    assert!(
        board.contains("model-a") && !board.contains("model-b"),
        "{board}"
    );
    // The LLM upload answers open-ended demo tasks and nothing judged them: its score is
    // a stand-in for those tasks' metric, marked on the board and in the API.
    let rows: serde_json::Value = serde_json::from_str(&board).unwrap();
    let a = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["model"] == "model-a")
        .unwrap();
    assert_eq!(a["provisional"], true, "{a}");
    let stand_ins = a["stand_in_tasks"].as_array().unwrap();
    assert!(
        stand_ins.iter().any(|t| t == "DemoExplain"),
        "{stand_ins:?}"
    );
    assert!(!stand_ins.iter().any(|t| t == "DemoExam"), "{stand_ins:?}");
    let (s, page, _) = call(&w, "GET", "/leaderboard", Some(&w.f.tokens["viewer"])).await;
    assert_eq!(s, 200);
    let page = String::from_utf8(page).unwrap();
    let marker = format!("stand-in metric for {} task", stand_ins.len());
    assert!(
        page.contains(&marker),
        "no `{marker}` on the board:\n{page}"
    );
    assert!(page.contains("id=\"provisional-note\""));
    let (_, board, _) = call(&w, "GET", "/api/v1/leaderboard", Some(&w.f.tokens["sub2"])).await;
    assert!(
        String::from_utf8(board).unwrap().contains("model-b"),
        "one's own unpublished run is on one's board"
    );
    // Another submitter's job is not found; the job never shows its key.
    assert_eq!(
        call(
            &w,
            "GET",
            &format!("/api/v1/jobs/{}", w.job),
            Some(&w.f.tokens["sub2"])
        )
        .await
        .0,
        404
    );
    let (_, job, _) = call(&w, "GET", &format!("/api/v1/jobs/{}", w.job), Some(sub)).await;
    let job = String::from_utf8(job).unwrap();
    assert!(
        job.contains("\"key_set\":true") && !job.contains("sk-hidden-key-123"),
        "{job}"
    );
    // A refused page keeps the caller's navigation.
    let (s, page, _) = call(&w, "GET", "/items", Some(sub)).await;
    assert_eq!(s, 403);
    let page = String::from_utf8(page).unwrap();
    assert!(
        page.contains("id=\"whoami\">submitter (submitter)") && page.contains("may not do this"),
        "{page}"
    );
    // A revoked token is refused at once.
    let bank = SqliteBank::open(&w.f.db).unwrap();
    let id = bank
        .tokens()
        .unwrap()
        .iter()
        .find(|t| t.user == "viewer")
        .unwrap()
        .id;
    drop(bank);
    let (s, _, _) = call(
        &w,
        "DELETE",
        &format!("/api/v1/tokens/{id}"),
        Some(&w.f.tokens["admin"]),
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(
        call(&w, "GET", "/api/v1/me", Some(&w.f.tokens["viewer"]))
            .await
            .0,
        401
    );
    // And from the admin page's form.
    let bank = SqliteBank::open(&w.f.db).unwrap();
    let id = bank
        .tokens()
        .unwrap()
        .iter()
        .find(|t| t.user == "sub2")
        .unwrap()
        .id;
    drop(bank);
    let (s, page, _) = call(
        &w,
        "POST",
        &format!("/admin/tokens/{id}/revoke"),
        Some(&w.f.tokens["admin"]),
    )
    .await;
    assert_eq!(s, 200);
    assert!(String::from_utf8(page).unwrap().contains("revoked"));
    assert_eq!(
        call(&w, "GET", "/api/v1/me", Some(&w.f.tokens["sub2"]))
            .await
            .0,
        401
    );
}

/// Secrets of the bank worth looking for: at least 4 characters and not part of
/// the public question (a secret the question itself shows cannot be leaked by us).
fn secrets(db: &str) -> Vec<(String, String)> {
    let bank = SqliteBank::open(db).unwrap();
    let mut out = Vec::new();
    bank.for_each(&ItemFilter::default(), &mut |it| {
        let public =
            serde_json::to_string(&(&it.question, &it.context, &it.conversation, &it.format))
                .unwrap();
        for s in it.secret_strings() {
            if s.chars().count() >= 6 && !public.contains(&s) {
                out.push((it.id.clone(), s));
            }
        }
        Ok(())
    })
    .unwrap();
    out.sort();
    out.dedup();
    out
}

/// A secret as it would appear raw, inside JSON, inside HTML, or in JSON inside HTML.
fn forms(secret: &str) -> Vec<String> {
    let html = |t: &str| {
        t.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\'', "&#x27;")
            .replace('/', "&#x2f;")
    };
    let json = serde_json::to_string(secret).unwrap();
    let json = json[1..json.len() - 1].to_owned();
    let mut v = vec![secret.to_owned(), html(secret), html(&json), json];
    v.sort();
    v.dedup();
    v
}

fn texts(bytes: &[u8]) -> Vec<String> {
    if bytes.starts_with(b"PK\x03\x04") {
        unzip(bytes)
            .into_values()
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .collect()
    } else {
        vec![String::from_utf8_lossy(bytes).into_owned()]
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_response_to_a_submitter_contains_a_reference_answer_or_rubric() {
    let w = world().await;
    let secrets: Vec<String> = secrets(&w.f.db).into_iter().map(|(_, s)| s).collect();
    assert!(
        secrets.len() > 100,
        "only {} secrets to look for",
        secrets.len()
    );
    // The leak test can fail: a reviewer's item page does show the item's secrets.
    let (s, body, _) = call(
        &w,
        "GET",
        &format!("/items/{}", w.item),
        Some(&w.f.tokens["reviewer"]),
    )
    .await;
    assert_eq!(s, 200);
    let page = String::from_utf8(body).unwrap();
    assert!(
        secrets
            .iter()
            .any(|x| forms(x).iter().any(|f| page.contains(f.as_str()))),
        "the reviewer's item page shows no secret"
    );

    let sub = w.f.tokens["submitter"].clone();
    let mut pages: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in ROUTES.iter().filter(|r| r.method == "GET") {
        let path = concrete(&w, r.path);
        let (s, body, _) = call(&w, "GET", &path, Some(&sub)).await;
        if s == 200 {
            pages.insert(path, texts(&body));
        }
    }
    for extra in [
        "/api/v1/rounds/current/files/MedBench_VLM_QA.zip".to_owned(),
        "/api/v1/rounds/current/files/MedBench_Agent.zip".to_owned(),
        format!("/runs/{}/report", w.published),
        "/leaderboard?round=all".to_owned(),
    ] {
        let (s, body, _) = call(&w, "GET", &extra, Some(&sub)).await;
        assert_eq!(s, 200, "{extra}");
        pages.insert(extra, texts(&body));
    }
    assert!(pages.len() >= 15, "{:?}", pages.keys());
    let mut looked = 0usize;
    for (path, bodies) in &pages {
        for body in bodies {
            for secret in &secrets {
                for form in forms(secret) {
                    assert!(
                        !body.contains(form.as_str()),
                        "{path} leaks `{secret}` as `{form}`"
                    );
                }
                looked += 1;
            }
        }
    }
    assert!(looked > 1000, "{looked}");
}
