//! SQL answers, scored by running them.
//!
//! Each call builds a fresh in-memory SQLite database from the reference
//! fixture, runs the reference query, then runs the model's query under
//! guards: one statement only, starting with `SELECT` or `WITH`, read-only
//! as SQLite itself judges it, an authorizer that allows only reads, selects,
//! functions and recursive CTEs, `PRAGMA query_only`, a 1 MB value size limit,
//! a row cap and a wall-clock limit enforced by a progress handler.

use crate::extract;
use crate::{Score, ScoreError};
use regex::Regex;
use rusqlite::Connection;
use rusqlite::hooks::{AuthAction, AuthContext, Authorization};
use rusqlite::limits::Limit;
use rusqlite::types::ValueRef;
use serde_json::json;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

/// How long one query may run.
pub const DEFAULT_TIME_LIMIT: Duration = Duration::from_secs(2);

/// At most this many rows are read from a query.
pub const MAX_ROWS: usize = 100_000;

/// Split `q` at the first `;` outside quotes and comments: (statement, rest).
fn split_statement(q: &str) -> (&str, &str) {
    let mut quote: Option<char> = None;
    let mut chars = q.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match (quote, c) {
            (Some(open), _) if c == open => quote = None,
            (Some(_), _) => {}
            (None, '\'' | '"' | '`') => quote = Some(c),
            (None, '[') => quote = Some(']'),
            (None, '-') if chars.peek().is_some_and(|(_, n)| *n == '-') => quote = Some('\n'),
            (None, ';') => return (&q[..i], &q[i + 1..]),
            _ => {}
        }
    }
    (q, "")
}

static KEYWORD: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)\b(select|with|insert|update|delete|drop|create|alter|replace|pragma|attach|detach|vacuum)\b")
        .unwrap()
});

/// The model's query: the first ```` ```sql ```` fence, else the first fence
/// of any kind, else the text from the first SQL keyword on (without a fence,
/// a blank line ends the query). `None` when no SQL keyword appears.
pub fn extract_query(answer: &str) -> Option<String> {
    let fences = extract::code_fences(answer);
    let fenced = fences
        .iter()
        .find(|(info, _)| info == "sql" || info == "sqlite")
        .or_else(|| fences.first())
        .map(|(_, b)| b.as_str());
    let body = fenced.unwrap_or(answer);
    let start = KEYWORD.find(body)?.start();
    let mut q = &body[start..];
    if fenced.is_none()
        && let Some(blank) = q.find("\n\n")
    {
        q = &q[..blank];
    }
    let q = q.trim();
    (!q.is_empty()).then(|| q.to_owned())
}

/// The single statement of a query, or why it is refused: a second
/// statement after the first `;` is refused, trailing prose is dropped.
fn single_statement(q: &str) -> Result<&str, String> {
    let (first, rest) = split_statement(q);
    let rest = rest.trim();
    if !rest.is_empty() && KEYWORD.find(rest).is_some_and(|m| m.start() == 0) {
        return Err("rejected: more than one statement".into());
    }
    Ok(first.trim())
}

/// A cell in canonical form, so that `1` and `1.0` compare equal.
fn cell(v: ValueRef<'_>) -> String {
    let num = |x: f64| {
        if x.fract() == 0.0 && x.abs() < 9.0e15 {
            format!("n:{}", x as i64)
        } else {
            format!("n:{:.9e}", x)
        }
    };
    match v {
        ValueRef::Null => "null".into(),
        ValueRef::Integer(i) => num(i as f64),
        ValueRef::Real(r) => num(r),
        ValueRef::Text(t) => format!("t:{}", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("b:{b:02x?}"),
    }
}

type Rows = Vec<Vec<String>>;

fn run(conn: &Connection, sql: &str) -> Result<Rows, String> {
    let mut stmt = conn.prepare(sql).map_err(|e| e.to_string())?;
    if !stmt.readonly() {
        return Err("rejected: the statement would modify the database".into());
    }
    let n = stmt.column_count();
    let mut rows = stmt.query([]).map_err(|e| e.to_string())?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().map_err(|e| e.to_string())? {
        if out.len() >= MAX_ROWS {
            return Err(format!("more than {MAX_ROWS} rows"));
        }
        let r: Result<Vec<String>, _> = (0..n).map(|i| row.get_ref(i).map(cell)).collect();
        out.push(r.map_err(|e| e.to_string())?);
    }
    Ok(out)
}

fn only_reads(ctx: AuthContext<'_>) -> Authorization {
    match ctx.action {
        AuthAction::Select | AuthAction::Read { .. } | AuthAction::Recursive => {
            Authorization::Allow
        }
        AuthAction::Function { function_name }
            if !function_name.eq_ignore_ascii_case("load_extension") =>
        {
            Authorization::Allow
        }
        _ => Authorization::Deny,
    }
}

/// The first keyword of a query, past comments and whitespace.
fn first_keyword(q: &str) -> String {
    static COMMENTS: LazyLock<Regex> =
        LazyLock::new(|| Regex::new(r"(?s)--[^\n]*|/\*.*?\*/").unwrap());
    let q = COMMENTS.replace_all(q, " ");
    q.trim_start()
        .trim_start_matches('(')
        .split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_uppercase()
}

/// Do two results match, whatever the order of their columns?
fn same_result(want: &Rows, got: &Rows, ordered: bool) -> bool {
    if want.len() != got.len() {
        return false;
    }
    let width = |r: &Rows| r.first().map_or(0, Vec::len);
    let (w, g) = (width(want), width(got));
    if want.is_empty() {
        return true;
    }
    if w != g {
        return false;
    }
    fn column(r: &Rows, c: usize) -> Vec<&String> {
        let mut v: Vec<&String> = r.iter().map(|row| &row[c]).collect();
        v.sort();
        v
    }
    // Candidate given columns for each expected column: same multiset of values.
    let cands: Vec<Vec<usize>> = (0..w)
        .map(|i| {
            (0..g)
                .filter(|&j| column(want, i) == column(got, j))
                .collect()
        })
        .collect();
    let compare = |perm: &[usize]| {
        let mut a = want.clone();
        let mut b: Rows = got
            .iter()
            .map(|row| perm.iter().map(|&j| row[j].clone()).collect())
            .collect();
        if !ordered {
            a.sort();
            b.sort();
        }
        a == b
    };
    let mut perm = Vec::with_capacity(w);
    let mut tries = 0;
    search(&cands, &mut perm, &mut vec![false; g], &mut tries, &compare)
}

fn search(
    cands: &[Vec<usize>],
    perm: &mut Vec<usize>,
    used: &mut Vec<bool>,
    tries: &mut usize,
    compare: &dyn Fn(&[usize]) -> bool,
) -> bool {
    if perm.len() == cands.len() {
        *tries += 1;
        return compare(perm);
    }
    for &j in &cands[perm.len()] {
        if used[j] || *tries > 1000 {
            continue;
        }
        used[j] = true;
        perm.push(j);
        let ok = search(cands, perm, used, tries, compare);
        perm.pop();
        used[j] = false;
        if ok {
            return true;
        }
    }
    false
}

/// Detail of a query that was read but cannot be run.
pub const NO_FIXTURE_DETAIL: &str = "needs judge: no fixture database";

/// The score of a query read from an answer to an item without a fixture
/// database: nothing to run it on, so a judge must score it. The query is
/// still shown (`parsed`); the value is 0 and the outcome `Partial`, the
/// stand-in marking open-ended answers too, never `Wrong` or `Unparsed`.
fn needs_judge_score(query: String) -> Score {
    Score {
        value: 0.0,
        outcome: crate::Outcome::Partial,
        parsed: Some(json!(query)),
        detail: Some(NO_FIXTURE_DETAIL.to_owned()),
    }
}

/// SQL: Correct when the model's query returns the same result as the
/// reference query on the fixture — as a multiset of rows, or as a sequence
/// when the reference query has `ORDER BY`. Column names and column order
/// are ignored; values compare as SQLite values (`1` = `1.0`). A rejected,
/// failing, too slow or too large query is Wrong with the reason; no SQL at
/// all is Unparsed. A fixture or reference query that fails is an item error.
/// Without a fixture (an empty `fixture`, as in the official MedDBOps
/// files) the query is read but not run: `Partial` 0 with the detail
/// [`NO_FIXTURE_DETAIL`], and [`crate::needs_judge`] says so for the item.
pub fn score_sql(
    reference: &str,
    fixture: &str,
    answer: &str,
    limit: Duration,
) -> Result<Score, ScoreError> {
    let Some(query) = extract_query(answer) else {
        return Ok(Score::unparsed("no SQL query found"));
    };
    if fixture.trim().is_empty() {
        return Ok(needs_judge_score(query));
    }
    let bad = |m: String| ScoreError::BadReference(m);
    let mut conn = Connection::open_in_memory().map_err(|e| bad(e.to_string()))?;
    conn.execute_batch(fixture)
        .map_err(|e| bad(format!("fixture: {e}")))?;
    let want = run(&conn, reference.trim().trim_end_matches(';'))
        .map_err(|e| bad(format!("query: {e}")))?;
    static ORDER_BY: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"(?i)\border\s+by\b").unwrap());
    let ordered = ORDER_BY.is_match(reference);

    let parsed = Some(json!(query));
    let query = match single_statement(&query) {
        Ok(q) => q.to_owned(),
        Err(e) => return Ok(Score::wrong(parsed, e)),
    };
    let kw = first_keyword(&query);
    if kw != "SELECT" && kw != "WITH" {
        return Ok(Score::wrong(
            parsed,
            format!("rejected: only SELECT or WITH queries may run, not {kw}"),
        ));
    }
    let guard = (|| -> rusqlite::Result<()> {
        conn.execute_batch("PRAGMA query_only = ON")?;
        conn.set_limit(Limit::SQLITE_LIMIT_LENGTH, 1_000_000)?;
        conn.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
        conn.authorizer(Some(only_reads))?;
        let start = Instant::now();
        conn.progress_handler(1000, Some(move || start.elapsed() > limit))
    })();
    guard.map_err(|e| bad(format!("guards: {e}")))?;
    let got = match run(&conn, &query) {
        Ok(rows) => rows,
        Err(e) if e.contains("interrupt") => {
            return Ok(Score::wrong(
                parsed,
                format!("stopped: ran longer than {limit:?}"),
            ));
        }
        Err(e) => return Ok(Score::wrong(parsed, format!("query failed: {e}"))),
    };
    let order = if ordered { "ordered" } else { "unordered" };
    Ok(if same_result(&want, &got, ordered) {
        Score::correct(parsed).with_detail(format!("same result ({order})"))
    } else {
        Score::wrong(
            parsed,
            format!("different result ({order}, {} rows given)", got.len()),
        )
    })
}
