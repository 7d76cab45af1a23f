//! Physician ratings in: a CSV or JSONL file of one rating per row,
//!
//! ```text
//! rater,institution,response,criterion,value
//! dr-li,Ruijin Hospital,s-3f2a9c1d0b7e4a51,1,met
//! dr-li,Ruijin Hospital,s-3f2a9c1d0b7e4a51,overall,4
//! ```
//!
//! `response` is a blinded sample id from `medbench human sample`, or
//! `RUN_ID:ITEM_ID`. `criterion` is the number of a rubric criterion or key
//! point as the sample sheet lists them, a scale dimension (`accuracy`,
//! `completeness`, `safety`, `readability`) for items rated on the scale, or
//! `overall` (1–5) for any item. Values: `met` / `not met` (also yes/no,
//! true/false, 1/0, 是/否) for criteria and key points, 1–5 for the rest.
//! Every row is checked before anything is stored: one bad row stores nothing.

use crate::plan::{JudgeKind, SCALE, SCALE_MAX, SCALE_MIN, kind_for, units};
use anyhow::{Context, Result};
use medbench_store::{Bank, RatingRow, SqliteBank};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::Path;

/// What an import stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RatingsReport {
    pub rows: usize,
    pub raters: usize,
    pub responses: usize,
    /// `file:line: field: message` for every rejected row (nothing is stored when any).
    pub errors: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRating {
    rater: String,
    #[serde(default)]
    institution: Option<String>,
    response: String,
    criterion: serde_json::Value,
    value: serde_json::Value,
}

fn text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    }
}

/// Read, check and store a ratings file.
pub fn import_ratings(bank: &mut SqliteBank, path: &Path) -> Result<RatingsReport> {
    let display = path.display().to_string();
    let body = std::fs::read_to_string(path).with_context(|| format!("cannot read {display}"))?;
    let body = body.trim_start_matches('\u{feff}');
    let mut raw: Vec<(usize, Result<RawRating, String>)> = Vec::new();
    let jsonl = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("jsonl") || e.eq_ignore_ascii_case("json"));
    if jsonl {
        for (i, line) in body.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            raw.push((
                i + 1,
                serde_json::from_str::<RawRating>(line).map_err(|e| format!("-: {e}")),
            ));
        }
    } else {
        let mut rd = csv::ReaderBuilder::new()
            .trim(csv::Trim::All)
            .from_reader(body.as_bytes());
        let headers = rd
            .headers()
            .with_context(|| format!("{display}:1: cannot read the header row"))?
            .clone();
        for want in ["rater", "response", "criterion", "value"] {
            if !headers.iter().any(|h| h == want) {
                anyhow::bail!(
                    "{display}:1: {want}: missing column (expected: rater,institution,response,criterion,value)"
                );
            }
        }
        for rec in rd.records() {
            match rec {
                Err(e) => {
                    let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
                    raw.push((line, Err(format!("-: {e}"))));
                }
                Ok(r) => {
                    let line = r.position().map(|p| p.line() as usize).unwrap_or(0);
                    let get = |k: &str| {
                        headers
                            .iter()
                            .position(|h| h == k)
                            .and_then(|i| r.get(i))
                            .unwrap_or("")
                            .to_owned()
                    };
                    let inst = get("institution");
                    raw.push((
                        line,
                        Ok(RawRating {
                            rater: get("rater"),
                            institution: (!inst.is_empty()).then_some(inst),
                            response: get("response"),
                            criterion: serde_json::Value::String(get("criterion")),
                            value: serde_json::Value::String(get("value")),
                        }),
                    ));
                }
            }
        }
    }
    let at = crate::now();
    let mut report = RatingsReport::default();
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    let mut items: HashMap<(String, String), Option<medbench_core::Item>> = HashMap::new();
    for (line, r) in raw {
        let here = format!("{display}:{line}");
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                report.errors.push(format!("{here}: {e}"));
                continue;
            }
        };
        match check(bank, &mut items, &r) {
            Ok((run_id, item_id, unit, value)) => {
                if !seen.insert((
                    r.rater.clone(),
                    run_id.clone(),
                    item_id.clone(),
                    unit.clone(),
                )) {
                    report.errors.push(format!(
                        "{here}: criterion: {} already rated {} of this response in this file",
                        r.rater,
                        text(&r.criterion)
                    ));
                    continue;
                }
                rows.push(RatingRow {
                    rater: r.rater,
                    institution: r.institution,
                    run_id,
                    item_id,
                    unit,
                    value,
                    source: here,
                    at: at.clone(),
                });
            }
            Err((field, message)) => report.errors.push(format!("{here}: {field}: {message}")),
        }
    }
    if report.errors.is_empty() {
        bank.put_ratings(&rows)?;
        report.rows = rows.len();
        report.raters = rows.iter().map(|r| &r.rater).collect::<HashSet<_>>().len();
        report.responses = rows
            .iter()
            .map(|r| (&r.run_id, &r.item_id))
            .collect::<HashSet<_>>()
            .len();
    }
    Ok(report)
}

type Checked = (String, String, String, f64);

fn check(
    bank: &SqliteBank,
    items: &mut HashMap<(String, String), Option<medbench_core::Item>>,
    r: &RawRating,
) -> Result<Checked, (&'static str, String)> {
    let db = |e: medbench_store::StoreError| ("response", e.to_string());
    if r.rater.trim().is_empty() {
        return Err(("rater", "empty".into()));
    }
    let resp = r.response.trim();
    let (run_id, item_id) = if let Some((run, item)) = resp.split_once(':') {
        (run.to_owned(), item.to_owned())
    } else {
        bank.human_sample(resp).map_err(db)?.ok_or((
            "response",
            format!("`{resp}` is neither a sample id from `medbench human sample` in this bank nor RUN_ID:ITEM_ID"),
        ))?
    };
    let key = (run_id.clone(), item_id.clone());
    if !items.contains_key(&key) {
        let item = match bank.run_item_version(&run_id, &item_id).map_err(db)? {
            Some(v) => bank.get_version(&item_id, v).map_err(db)?,
            None => None,
        };
        items.insert(key.clone(), item);
    }
    let item = items[&key]
        .as_ref()
        .ok_or(("response", format!("run {run_id} has no item {item_id}")))?;
    let kind = kind_for(item).ok_or((
        "response",
        format!("{resp} is scored by rules, not rated (only open-ended answers are)"),
    ))?;
    let crit = text(&r.criterion).to_lowercase();
    let value_text = text(&r.value).to_lowercase();
    let unit = if crit == "overall" {
        "overall".to_owned()
    } else if let Ok(n) = crit.parse::<usize>() {
        let all = units(item, kind);
        if kind == JudgeKind::Scale {
            return Err((
                "criterion",
                format!(
                    "{item_id} is rated on the scale: use accuracy, completeness, safety, readability or overall, not a number"
                ),
            ));
        }
        if n == 0 || n > all.len() {
            return Err((
                "criterion",
                format!(
                    "{item_id} has {} {}; there is no number {n}",
                    all.len(),
                    if kind == JudgeKind::Rubric {
                        "criteria"
                    } else {
                        "key points"
                    }
                ),
            ));
        }
        all[n - 1].clone()
    } else if SCALE.iter().any(|(d, _)| *d == crit) {
        if kind != JudgeKind::Scale {
            return Err((
                "criterion",
                format!(
                    "{item_id} is judged by {}; rate its numbered items or overall",
                    kind
                ),
            ));
        }
        crit.clone()
    } else {
        return Err((
            "criterion",
            format!(
                "`{crit}` is not a number, a scale dimension (accuracy, completeness, safety, readability) or overall"
            ),
        ));
    };
    let binary = unit != "overall" && kind != JudgeKind::Scale;
    let value = if binary {
        match value_text.as_str() {
            "met" | "yes" | "true" | "1" | "是" | "y" => 1.0,
            "not met" | "no" | "false" | "0" | "否" | "n" => 0.0,
            other => {
                return Err((
                    "value",
                    format!("`{other}` is not met / not met (yes/no, 1/0)"),
                ));
            }
        }
    } else {
        match value_text.parse::<f64>() {
            Ok(v) if (SCALE_MIN..=SCALE_MAX).contains(&v) => v,
            _ => {
                return Err((
                    "value",
                    format!("`{value_text}` is not a number from 1 to 5"),
                ));
            }
        }
    };
    Ok((run_id, item_id, unit, value))
}
