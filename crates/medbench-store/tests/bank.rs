use medbench_core::{Item, ReviewStatus, Track};
use medbench_store::{Bank, ItemFilter, ItemRow, PutOutcome, SqliteBank};

fn item(id: &str, question: &str, specialty: &str) -> Item {
    serde_json::from_value(serde_json::json!({
        "id": id, "track": "llm", "dimension": "knowledge_qa", "language": "zh",
        "specialties": [specialty],
        "question": question,
        "format": {"type": "single_choice", "options": [{"label": "A", "text": "甲"}, {"label": "B", "text": "乙"}]},
        "reference": {"answer": "A"},
        "provenance": {"source": "test"}, "review": "approved"
    }))
    .unwrap()
}

fn put_all(bank: &mut SqliteBank, items: &[Item]) -> Vec<PutOutcome> {
    let mut s = bank.begin_import("test").unwrap();
    let out = items
        .iter()
        .enumerate()
        .map(|(i, it)| {
            s.put(&ItemRow::prepare(it), &format!("t.jsonl:{}", i + 1))
                .unwrap()
        })
        .collect();
    s.commit().unwrap();
    out
}

#[test]
fn reimport_is_unchanged_and_changed_content_is_a_new_version() {
    let mut bank = SqliteBank::open(":memory:").unwrap();
    let a = item("T/1", "问题一", "03.04");
    assert_eq!(
        put_all(&mut bank, std::slice::from_ref(&a)),
        vec![PutOutcome::Imported]
    );
    assert_eq!(
        put_all(&mut bank, std::slice::from_ref(&a)),
        vec![PutOutcome::Unchanged]
    );
    let b = item("T/1", "问题一（修订）", "03.04");
    assert_eq!(
        put_all(&mut bank, std::slice::from_ref(&b)),
        vec![PutOutcome::Updated { from: 1, to: 2 }]
    );
    assert_eq!(bank.versions("T/1").unwrap(), vec![1, 2]);
    assert_eq!(bank.get("T/1").unwrap().unwrap().question, "问题一（修订）");
    let old = bank.get_version("T/1", 1).unwrap().unwrap();
    assert_eq!(old.question, "问题一");
    assert_eq!(old.review, ReviewStatus::Retired);
    let mut c = b.clone();
    c.review = ReviewStatus::Draft;
    assert_eq!(put_all(&mut bank, &[c]), vec![PutOutcome::ReviewChanged]);
    assert_eq!(bank.get("T/1").unwrap().unwrap().version, 2);
}

#[test]
fn duplicate_in_one_import_names_the_first_place() {
    let mut bank = SqliteBank::open(":memory:").unwrap();
    let a = item("T/1", "问题一", "03.04");
    let out = put_all(&mut bank, &[a.clone(), a]);
    assert_eq!(
        out[1],
        PutOutcome::Duplicate {
            first_origin: "t.jsonl:1".into()
        }
    );
}

#[test]
fn dropped_session_rolls_back() {
    let mut bank = SqliteBank::open(":memory:").unwrap();
    {
        let mut s = bank.begin_import("test").unwrap();
        s.put(&ItemRow::prepare(&item("T/1", "q", "03")), "x:1")
            .unwrap();
        // dropped without commit
    }
    assert!(bank.get("T/1").unwrap().is_none());
    assert_eq!(bank.stats(&ItemFilter::default()).unwrap().total.items, 0);
}

#[test]
fn stats_and_filters_count_by_specialty_prefix() {
    let mut bank = SqliteBank::open(":memory:").unwrap();
    put_all(
        &mut bank,
        &[
            item("T/1", "q1", "03.04"),
            item("T/2", "q2", "03.01"),
            item("U/1", "q3", "07"),
        ],
    );
    let st = bank.stats(&ItemFilter::default()).unwrap();
    assert_eq!(st.total.items, 3);
    assert_eq!(st.tasks["T"].items, 2);
    assert_eq!(st.specialties["03.04"].items, 1);
    let f = ItemFilter {
        specialties: vec!["03".into()],
        ..Default::default()
    };
    assert_eq!(bank.list(&f, 100, 0).unwrap().len(), 2);
    let f = ItemFilter {
        tracks: vec![Track::Agent],
        ..Default::default()
    };
    assert!(bank.list(&f, 100, 0).unwrap().is_empty());
    let mut seen = Vec::new();
    bank.for_each(
        &ItemFilter {
            tasks: vec!["T".into()],
            ..Default::default()
        },
        &mut |it| {
            seen.push(it.id);
            Ok(())
        },
    )
    .unwrap();
    assert_eq!(seen, vec!["T/1", "T/2"]);
}

#[test]
fn bank_persists_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    let path = path.to_str().unwrap();
    {
        let mut bank = SqliteBank::open(path).unwrap();
        put_all(&mut bank, &[item("T/1", "q1", "03.04")]);
    }
    let bank = SqliteBank::open(path).unwrap();
    assert_eq!(bank.get("T/1").unwrap().unwrap().question, "q1");
}

#[test]
fn kept_counts_match_a_full_recount_after_edits() {
    let mut bank = SqliteBank::open(":memory:").unwrap();
    put_all(
        &mut bank,
        &[
            item("T/1", "q1", "03.04"),
            item("T/2", "q2", "03.01"),
            item("U/1", "q3", "07"),
        ],
    );
    // Content change, specialty change, review change, and an unchanged re-import.
    let mut b = item("T/1", "q1 edited", "07");
    let mut c = item("T/2", "q2", "03.01");
    c.review = ReviewStatus::Draft;
    b.specialties.push("03.04".into());
    put_all(&mut bank, &[b, c, item("U/1", "q3", "07")]);
    let st = bank.stats(&ItemFilter::default()).unwrap();
    let direct: Vec<(String, String, i64)> = bank
        .connection()
        .prepare(
            "SELECT task, review, COUNT(*) FROM items GROUP BY task, review ORDER BY task, review",
        )
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    assert_eq!(
        direct,
        vec![
            ("T".into(), "approved".into(), 1),
            ("T".into(), "draft".into(), 1),
            ("U".into(), "approved".into(), 1)
        ]
    );
    assert_eq!(st.total.items, 3);
    assert_eq!(st.review["draft"].items, 1);
    assert_eq!(st.review["approved"].items, 2);
    assert_eq!(st.specialties["07"].items, 2);
    assert_eq!(
        st.specialties["03.04"].items, 1,
        "T/1 now lists 07 then 03.04"
    );
    assert!(!st.specialties.contains_key("(none)"));
    let n: i64 = bank
        .connection()
        .query_row("SELECT COUNT(*) FROM item_counts WHERE n <= 0", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(n, 0, "empty groups are removed");
    bank.recount().unwrap();
    assert_eq!(
        bank.stats(&ItemFilter::default()).unwrap(),
        st,
        "incremental counts equal a recount"
    );
}

fn journal_mode(bank: &SqliteBank) -> String {
    bank.connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn imports_return_the_bank_to_wal_after_commit_and_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bank.db");
    let path = path.to_str().unwrap();
    let mut bank = SqliteBank::open(path).unwrap();
    assert_eq!(journal_mode(&bank), "wal");
    put_all(&mut bank, &[item("T/1", "q1", "03")]);
    assert_eq!(journal_mode(&bank), "wal", "after a commit");
    {
        let mut s = bank.begin_import("abandoned").unwrap();
        s.put(&ItemRow::prepare(&item("T/2", "q2", "03")), "x:1")
            .unwrap();
    }
    assert_eq!(journal_mode(&bank), "wal", "after a rollback");
    assert!(bank.get("T/2").unwrap().is_none());
    // With a reader holding the bank open, the import still happens (in WAL mode).
    let reader = SqliteBank::open(path).unwrap();
    assert_eq!(reader.get("T/1").unwrap().unwrap().question, "q1");
    put_all(&mut bank, &[item("T/3", "q3", "03")]);
    assert_eq!(reader.get("T/3").unwrap().unwrap().question, "q3");
    assert_eq!(journal_mode(&bank), "wal");
}

/// A writer that never pauses must not grow the WAL without end: the checkpointer's
/// passive copies cannot catch up with it, so past the limit it restarts the WAL.
/// The writer runs at most one chunk ahead of the checkpointer, so the bound holds
/// however the two threads are scheduled.
#[test]
fn checkpoints_keep_the_wal_bounded_under_a_busy_writer() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("bank.db");
    let db = db.to_str().unwrap();
    let writer = SqliteBank::open(db).unwrap();
    writer.no_auto_checkpoint().unwrap();
    writer
        .connection()
        .execute_batch("CREATE TABLE blobs (b BLOB)")
        .unwrap();
    let checkpoints = SqliteBank::open(db).unwrap();
    let limit: u64 = 1 << 20;
    const CHUNK: usize = 16; // rows of 16 KiB between checkpoint starts
    let (start, started) = std::sync::mpsc::sync_channel::<()>(0);
    let (finish, finished) = std::sync::mpsc::sync_channel::<()>(0);
    std::thread::scope(|s| {
        s.spawn(move || {
            for () in started {
                checkpoints.checkpoint_within(limit).unwrap();
                finish.send(()).unwrap();
            }
        });
        let blob = vec![7u8; 16 << 10];
        for i in 0..4096 {
            writer
                .connection()
                .execute("INSERT INTO blobs VALUES (?1)", [&blob])
                .unwrap();
            if i % CHUNK == CHUNK - 1 {
                // Wait for the checkpoint started one chunk ago, then start the next
                // one and keep writing while it runs.
                if i >= CHUNK {
                    finished.recv().unwrap();
                }
                start.send(()).unwrap();
            }
        }
        finished.recv().unwrap();
        drop(start);
    });
    let wal = std::fs::metadata(dir.path().join("bank.db-wal"))
        .unwrap()
        .len();
    // 64 MiB went through the WAL; a bounded one stays well short of that.
    assert!(wal < 16 * limit, "the WAL grew to {wal} bytes");
}

fn answer(run: &str, item: &str, hash: &str, text: &str, at: &str) -> medbench_store::ResponseRow {
    medbench_store::ResponseRow {
        run_id: run.into(),
        item_id: item.into(),
        request_hash: hash.into(),
        request: "{}".into(),
        text: Some(text.into()),
        tool_calls: None,
        error_kind: None,
        error: None,
        prompt_tokens: Some(10),
        completion_tokens: Some(2),
        latency_ms: 5,
        attempts: 1,
        cached: false,
        at: at.into(),
    }
}

#[test]
fn the_cache_learns_a_runs_answers_but_not_its_failures_hits_or_older_answers() {
    let mut bank = SqliteBank::open(":memory:").unwrap();
    let t1 = "2026-12-07T10:00:00.000Z";
    let t2 = "2026-12-07T11:00:00.000Z";
    let failed = medbench_store::ResponseRow {
        error_kind: Some("http_5xx".into()),
        text: None,
        ..answer("r1", "B", "h-b", "", t1)
    };
    let hit = medbench_store::ResponseRow {
        cached: true,
        ..answer("r1", "C", "h-c", "<C>", t1)
    };
    bank.put_responses(&[answer("r1", "A", "h-a", "<A>", t1), failed, hit])
        .unwrap();
    // Storing answers does not fill the cache; finishing the run's ask stage does.
    assert_eq!(bank.cached_answer("h-a").unwrap(), None);
    assert_eq!(bank.cache_answers("r1").unwrap(), 1);
    assert_eq!(bank.cached_answer("h-a").unwrap().unwrap().text, "<A>");
    assert_eq!(bank.cached_answer("h-b").unwrap(), None);
    assert_eq!(bank.cached_answer("h-c").unwrap(), None);
    // Again: nothing new.
    assert_eq!(bank.cache_answers("r1").unwrap(), 0);
    // A later run's later answer to the same request replaces it; an older one does not.
    bank.put_responses(&[answer("r2", "A", "h-a", "<B>", t2)])
        .unwrap();
    bank.put_responses(&[answer("r0", "A", "h-a", "<D>", "2026-12-06T09:00:00.000Z")])
        .unwrap();
    assert_eq!(bank.cache_answers("r2").unwrap(), 1);
    assert_eq!(bank.cache_answers("r0").unwrap(), 0);
    assert_eq!(bank.cached_answer("h-a").unwrap().unwrap().text, "<B>");
}
