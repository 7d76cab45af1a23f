//! SQL answers: executed against the fixture, compared as result sets.

use medbench_core::{Format, Reference};
use medbench_score::sql::score_sql;
use medbench_score::{Outcome, Score, score};
use std::time::{Duration, Instant};

const FIXTURE: &str = "
CREATE TABLE fee_detail (
  detail_id TEXT PRIMARY KEY, settlement_id TEXT, item_name TEXT,
  unit_price REAL, quantity INTEGER);
INSERT INTO fee_detail VALUES
  ('D1', 'S20230815001', '床位费', 95.0, 5),
  ('D2', 'S20230815001', '胆囊切除术', 3300.0, 1),
  ('D3', 'S20230815001', '头孢呋辛', 23.0, 10),
  ('D4', 'S20230815002', '血常规', 25.0, 1);
";

const ORDERED: &str = "SELECT item_name, unit_price, quantity, unit_price * quantity AS total
  FROM fee_detail WHERE settlement_id = 'S20230815001' ORDER BY total DESC";
const UNORDERED: &str = "SELECT item_name FROM fee_detail WHERE settlement_id = 'S20230815001'";

fn run(reference: &str, answer: &str) -> Score {
    let f = Format::Sql {
        schema: "CREATE TABLE fee_detail (...)".into(),
    };
    let r = Reference::Sql {
        query: reference.into(),
        fixture: FIXTURE.into(),
    };
    score(&f, &r, answer)
}

#[test]
fn same_result_in_a_fence_with_other_aliases_is_correct() {
    let answer = "```sql\nSELECT f.item_name AS 项目名称, f.unit_price, f.quantity, f.unit_price*f.quantity AS 总金额\nFROM fee_detail f\nWHERE f.settlement_id = 'S20230815001'\nORDER BY 总金额 DESC;\n```\n该查询按总金额降序列出明细。";
    let s = run(ORDERED, answer);
    assert_eq!(s.outcome, Outcome::Correct, "{s:?}");
}

#[test]
fn order_by_in_the_reference_makes_order_count() {
    // Insertion order (床位费 475, 胆囊切除术 3300, 头孢呋辛 230) differs from total DESC.
    let s = run(
        ORDERED,
        "SELECT item_name, unit_price, quantity, unit_price * quantity FROM fee_detail WHERE settlement_id = 'S20230815001'",
    );
    assert_eq!(s.outcome, Outcome::Wrong, "{s:?}");
    assert!(s.detail.unwrap().contains("ordered"));
    let asc = run(
        ORDERED,
        "SELECT item_name, unit_price, quantity, unit_price * quantity AS t FROM fee_detail WHERE settlement_id = 'S20230815001' ORDER BY t ASC",
    );
    assert_eq!(asc.outcome, Outcome::Wrong);
}

#[test]
fn without_order_by_rows_compare_as_a_multiset() {
    let s = run(
        UNORDERED,
        "SELECT item_name FROM fee_detail WHERE settlement_id = 'S20230815001' ORDER BY item_name DESC",
    );
    assert_eq!(s.outcome, Outcome::Correct, "{s:?}");
    let missing = run(
        UNORDERED,
        "SELECT item_name FROM fee_detail WHERE quantity > 1",
    );
    assert_eq!(missing.outcome, Outcome::Wrong);
}

#[test]
fn column_order_and_number_types_do_not_matter() {
    let s = run(
        ORDERED,
        "SELECT unit_price * quantity AS total, quantity, unit_price, item_name FROM fee_detail WHERE settlement_id = 'S20230815001' ORDER BY total DESC",
    );
    assert_eq!(s.outcome, Outcome::Correct, "{s:?}");
    assert_eq!(run("SELECT 1", "SELECT 1.0").outcome, Outcome::Correct);
    assert_eq!(run("SELECT 1, 2", "SELECT 1").outcome, Outcome::Wrong);
}

#[test]
fn prose_after_an_unfenced_query_and_semicolons_in_strings() {
    let s = run(
        UNORDERED,
        "SELECT item_name FROM fee_detail WHERE settlement_id = 'S20230815001'\n\n这条语句返回该结算单的全部项目。",
    );
    assert_eq!(s.outcome, Outcome::Correct, "{s:?}");
    let s = run(
        UNORDERED,
        "SELECT item_name FROM fee_detail WHERE settlement_id = 'S20230815001' AND item_name <> 'a;b';",
    );
    assert_eq!(s.outcome, Outcome::Correct, "{s:?}");
}

#[test]
fn statements_that_modify_anything_are_rejected() {
    for q in [
        "DELETE FROM fee_detail",
        "```sql\nDROP TABLE fee_detail;\n```",
        "SELECT 1; DROP TABLE fee_detail",
        "SELECT item_name FROM fee_detail; DELETE FROM fee_detail;",
        "WITH x AS (SELECT 1) DELETE FROM fee_detail",
        "UPDATE fee_detail SET unit_price = 0",
        "ATTACH DATABASE '/tmp/evil.db' AS evil",
        "PRAGMA query_only = OFF",
        "SELECT load_extension('/tmp/evil')",
    ] {
        let s = run(UNORDERED, q);
        assert_eq!(s.outcome, Outcome::Wrong, "{q}: {s:?}");
        let d = s.detail.unwrap();
        assert!(
            d.contains("rejected") || d.contains("not authorized") || d.contains("failed"),
            "{q}: {d}"
        );
    }
}

#[test]
fn a_runaway_recursive_cte_is_stopped_by_the_time_limit() {
    let start = Instant::now();
    let s = score_sql(
        UNORDERED,
        FIXTURE,
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c",
        Duration::from_millis(200),
    )
    .unwrap();
    assert_eq!(s.outcome, Outcome::Wrong, "{s:?}");
    assert!(s.detail.unwrap().contains("stopped"));
    assert!(start.elapsed() < Duration::from_secs(10));
}

#[test]
fn no_sql_is_unparsed_and_a_broken_reference_is_an_item_error() {
    assert_eq!(
        run(UNORDERED, "抱歉，我无法编写该查询。").outcome,
        Outcome::Unparsed
    );
    assert_eq!(run(UNORDERED, "").outcome, Outcome::Unparsed);
    let s = run("SELECT nope FROM missing", "SELECT 1");
    assert_eq!(s.outcome, Outcome::Unparsed);
    assert!(s.detail.unwrap().starts_with("item error:"));
    assert!(
        score_sql(
            "SELECT nope FROM missing",
            FIXTURE,
            "SELECT 1",
            Duration::from_secs(1)
        )
        .is_err()
    );
}

#[test]
fn without_a_fixture_the_query_is_read_and_left_to_a_judge() {
    let f = Format::Sql {
        schema: "CREATE TABLE fee_detail (...)".into(),
    };
    let r = Reference::Sql {
        query: UNORDERED.into(),
        fixture: "  \n".into(),
    };
    assert!(medbench_score::needs_judge(&f, &r));
    let s = score(
        &f,
        &r,
        "查询如下：\n```sql\nSELECT item_name FROM fee_detail;\n```",
    );
    assert_eq!((s.outcome, s.value), (Outcome::Partial, 0.0), "{s:?}");
    assert_eq!(
        s.detail.as_deref(),
        Some("needs judge: no fixture database")
    );
    assert_eq!(
        s.parsed,
        Some(serde_json::json!("SELECT item_name FROM fee_detail;"))
    );
    // No query at all is still unparsed.
    assert_eq!(score(&f, &r, "我不知道").outcome, Outcome::Unparsed);
    // With a fixture the rule scores it, and no judge is needed.
    let with = Reference::Sql {
        query: UNORDERED.into(),
        fixture: FIXTURE.into(),
    };
    assert!(!medbench_score::needs_judge(&f, &with));
}

#[test]
fn open_ended_kinds_need_a_judge_and_objective_ones_do_not() {
    use medbench_core::OpenReference;
    let open = Reference::Open(OpenReference::default());
    assert!(medbench_score::needs_judge(&Format::OpenEnded {}, &open));
    assert!(medbench_score::needs_judge(&Format::Dialogue {}, &open));
    let choice = Reference::Choice {
        answer: vec!["A".into()],
    };
    assert!(!medbench_score::needs_judge(
        &Format::SingleChoice { options: vec![] },
        &choice
    ));
}
