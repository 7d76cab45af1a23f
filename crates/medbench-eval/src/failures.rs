//! Why calls failed: stored failed responses grouped by class (`http 404`, `connect`,
//! `timeout`, `render`…), each with its count and its first message.

use medbench_report::FailureClass;
use medbench_store::ResponseRow;

/// How much of an error body the first message keeps.
const BODY_EXCERPT: usize = 200;
/// How long a first message may be in all.
const MESSAGE_MAX: usize = 400;

/// Failed responses grouped by class as they come, first-seen order kept.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    classes: Vec<FailureClass>,
}

impl Tally {
    /// Counts `row` when it is a failure; answers are ignored.
    pub fn add(&mut self, row: &ResponseRow) {
        let Some(kind) = row.error_kind.as_deref() else {
            return;
        };
        let error = row.error.as_deref().unwrap_or("");
        let class = class_of(kind, error);
        match self.classes.iter_mut().find(|c| c.class == class) {
            Some(c) => c.count += 1,
            None => self.classes.push(FailureClass {
                class,
                count: 1,
                first_message: first_message(error),
            }),
        }
    }

    /// The classes, most frequent first (ties in the order first seen).
    pub fn classes(&self) -> Vec<FailureClass> {
        let mut v = self.classes.clone();
        v.sort_by_key(|c| std::cmp::Reverse(c.count));
        v
    }
}

/// The failure classes of stored response rows, most frequent first; each first message is
/// that of the class's earliest response.
pub fn classes<'a>(rows: impl IntoIterator<Item = &'a ResponseRow>) -> Vec<FailureClass> {
    let mut failed: Vec<&ResponseRow> = rows
        .into_iter()
        .filter(|r| r.error_kind.is_some())
        .collect();
    failed.sort_by(|a, b| a.at.cmp(&b.at));
    let mut t = Tally::default();
    for r in failed {
        t.add(r);
    }
    t.classes()
}

/// `http 404 ×12, connect ×3`: the classes on one line.
pub fn summary(classes: &[FailureClass]) -> String {
    classes
        .iter()
        .map(|c| format!("{} ×{}", c.class, c.count))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The class of a failure from its stored kind, refined by the HTTP status the stored message
/// starts with (`http_404 after 1 attempt(s): …`).
fn class_of(kind: &str, error: &str) -> String {
    let named = match kind {
        "http_4xx" | "http_5xx" | "http_other" => {
            let status = error
                .strip_prefix("http_")
                .and_then(|r| r.get(..3))
                .filter(|s| s.bytes().all(|b| b.is_ascii_digit()));
            return match status {
                Some(s) => format!("http {s}"),
                None => kind.replace('_', " "),
            };
        }
        "rate_limited" => "http 429",
        "transport" => "connect",
        "malformed_body" => "malformed",
        "empty_answer" => "empty",
        "budget_exhausted" => "retry budget",
        "invalid_request" => "invalid request",
        other => other,
    };
    named.to_owned()
}

/// The stored error without its `kind after N attempt(s): ` prefix (the attempts move to the
/// end), an HTTP body cut to [`BODY_EXCERPT`] characters and the whole to [`MESSAGE_MAX`].
fn first_message(error: &str) -> String {
    let (attempts, message) = match error.split_once(" attempt(s): ") {
        Some((head, rest)) if head.contains(" after ") && !head.contains(": ") => {
            (head.rsplit(' ').next().unwrap_or("1"), rest)
        }
        _ => ("1", error),
    };
    let mut out = match message.strip_prefix("HTTP ") {
        // `HTTP 404 from URL: BODY`: the URL has no ": ", so the first one ends it.
        Some(_) => match message.split_once(": ") {
            Some((head, body)) => format!("{head}: {}", cut(body, BODY_EXCERPT)),
            None => message.to_owned(),
        },
        None => message.to_owned(),
    };
    out = cut(&out, MESSAGE_MAX);
    if attempts != "1" {
        out.push_str(&format!(" (after {attempts} attempts)"));
    }
    out
}

fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(kind: &str, error: &str, at: &str) -> ResponseRow {
        ResponseRow {
            run_id: "r".into(),
            item_id: at.into(),
            request_hash: String::new(),
            request: String::new(),
            text: None,
            tool_calls: None,
            error_kind: Some(kind.into()),
            error: Some(error.into()),
            prompt_tokens: None,
            completion_tokens: None,
            latency_ms: 0,
            attempts: 1,
            cached: false,
            at: at.into(),
        }
    }

    #[test]
    fn statuses_split_classes_and_the_earliest_message_is_kept() {
        let body = "x".repeat(500);
        let rows = [
            failed(
                "http_4xx",
                "http_404 after 1 attempt(s): HTTP 404 from http://h:1/v1/chat/completions: late",
                "2026-01-01T00:00:02Z",
            ),
            failed(
                "http_4xx",
                &format!(
                    "http_404 after 1 attempt(s): HTTP 404 from http://h:1/v1/chat/completions: {body}"
                ),
                "2026-01-01T00:00:01Z",
            ),
            failed(
                "http_4xx",
                "http_401 after 1 attempt(s): HTTP 401 from http://h:1/v1/chat/completions: no key",
                "2026-01-01T00:00:03Z",
            ),
            failed(
                "transport",
                "transport after 6 attempt(s): transport error from http://h:1/v1/chat/completions: error sending request: Connection refused",
                "2026-01-01T00:00:04Z",
            ),
            failed(
                "render",
                "item x: template does not parse",
                "2026-01-01T00:00:05Z",
            ),
            failed(
                "missing_prediction",
                "no answer for x",
                "2026-01-01T00:00:06Z",
            ),
            failed(
                "rate_limited",
                "rate_limited after 6 attempt(s): HTTP 429 from u: slow",
                "2026-01-01T00:00:07Z",
            ),
        ];
        let mut ok = failed("x", "", "2026-01-01T00:00:00Z");
        ok.error_kind = None;
        let c = classes(rows.iter().chain([&ok]));
        let names: Vec<&str> = c.iter().map(|c| c.class.as_str()).collect();
        assert_eq!(
            names,
            [
                "http 404",
                "http 401",
                "connect",
                "render",
                "missing_prediction",
                "http 429"
            ]
        );
        assert_eq!(c[0].count, 2);
        let m = &c[0].first_message;
        assert!(
            m.starts_with("HTTP 404 from http://h:1/v1/chat/completions: xxx"),
            "{m}"
        );
        assert!(m.ends_with("…"), "{m}");
        assert_eq!(m.matches('x').count(), BODY_EXCERPT, "{m}");
        assert_eq!(
            c[2].first_message,
            "transport error from http://h:1/v1/chat/completions: error sending request: Connection refused (after 6 attempts)"
        );
        assert_eq!(c[3].first_message, "item x: template does not parse");
        assert_eq!(summary(&c[..2]), "http 404 ×2, http 401 ×1");
    }
}
