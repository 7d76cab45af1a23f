//! Blinded samples for physicians: stored responses to open-ended items from one
//! or more runs, shuffled together, each under an opaque sample id, with what to
//! rate — and no model name, run id or item id. The sample ids are recorded in
//! the bank so `ratings import` can map ratings back to their responses.

use crate::plan::{JudgeKind, SCALE, kind_for, reference_answer};
use crate::prompt::transcript;
use anyhow::{Result, bail};
use medbench_core::item::sha256_hex;
use medbench_core::{Item, Reference};
use medbench_store::SqliteBank;
use serde::Serialize;
use serde_json::json;

/// One response to rate, as written to the sample file.
#[derive(Debug, Clone, Serialize)]
pub struct SampleRow {
    /// Opaque id to quote in the `response` column of the ratings file.
    pub sample: String,
    pub task: String,
    pub language: String,
    /// The conversation the model answered, as the judge reads it.
    pub conversation: String,
    /// The model's answer.
    pub response: String,
    /// `rubric`, `key_points` or `scale`.
    pub rate: String,
    /// What to rate: numbered criteria or key points (met / not met), or the scale's
    /// dimensions (1–5). `overall` (1–5) may always be given too.
    pub criteria: Vec<serde_json::Value>,
    /// For scale items, the physicians' reference answer when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
}

fn criteria(item: &Item, kind: JudgeKind) -> Vec<serde_json::Value> {
    let open = match &item.reference {
        Some(Reference::Open(r)) => Some(r),
        _ => None,
    };
    match kind {
        JudgeKind::Rubric => open
            .map(|r| {
                r.rubric
                    .iter()
                    .enumerate()
                    .map(|(i, c)| json!({"criterion": i + 1, "text": c.criterion, "points": c.points}))
                    .collect()
            })
            .unwrap_or_default(),
        JudgeKind::KeyPoints => open
            .map(|r| {
                r.key_points
                    .iter()
                    .enumerate()
                    .map(|(i, p)| json!({"criterion": i + 1, "text": p}))
                    .collect()
            })
            .unwrap_or_default(),
        JudgeKind::Scale => SCALE
            .iter()
            .map(|(d, text)| json!({"criterion": d, "text": text}))
            .collect(),
    }
}

/// Draw a blinded sample of `n` responses from `runs` (seeded), store the sample ids,
/// and return the rows in their shuffled order. `secret` keys the sample ids so they
/// reveal nothing about run or item.
pub fn sample(
    bank: &mut SqliteBank,
    runs: &[String],
    n: usize,
    seed: u64,
    tasks: &[String],
    secret: &[u8],
) -> Result<Vec<SampleRow>> {
    let mut pool: Vec<(String, String, SampleRow)> = Vec::new();
    for run in runs {
        bank.for_each_run_item(run, &mut |item, answer| {
            let Some(kind) = kind_for(&item) else {
                return Ok(());
            };
            if !tasks.is_empty() && !tasks.contains(&item.task) {
                return Ok(());
            }
            let Some(a) = answer.filter(|a| a.error_kind.is_none()) else {
                return Ok(());
            };
            let response = a.tool_calls.or(a.text).unwrap_or_default();
            if response.trim().is_empty() {
                return Ok(());
            }
            let mut key = secret.to_vec();
            key.extend_from_slice(format!("\u{1f}{run}\u{1f}{}", item.id).as_bytes());
            let sample = format!("s-{}", &sha256_hex(&key)[..16]);
            pool.push((
                run.clone(),
                item.id.clone(),
                SampleRow {
                    sample,
                    task: item.task.clone(),
                    language: item.language.clone(),
                    conversation: transcript(&item),
                    response,
                    rate: kind.to_string(),
                    criteria: criteria(&item, kind),
                    reference: (kind == JudgeKind::Scale)
                        .then(|| reference_answer(&item))
                        .flatten(),
                },
            ));
            Ok(())
        })?;
    }
    if pool.is_empty() {
        bail!("the runs have no answered open-ended items to rate");
    }
    pool.sort_by_cached_key(|(run, item, _)| {
        sha256_hex(format!("{seed}\u{1f}{run}\u{1f}{item}").as_bytes())
    });
    pool.truncate(n);
    let ids: Vec<(String, String, String)> = pool
        .iter()
        .map(|(run, item, row)| (row.sample.clone(), run.clone(), item.clone()))
        .collect();
    bank.put_human_samples(&ids, &crate::now())?;
    Ok(pool.into_iter().map(|(_, _, row)| row).collect())
}

/// The ratings sheet for a sample: one row per criterion (and one `overall` row per
/// response) with the rater, institution and value left blank for physicians to fill.
pub fn ratings_template(rows: &[SampleRow]) -> String {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["rater", "institution", "response", "criterion", "value"])
        .expect("writing to memory");
    for r in rows {
        for c in &r.criteria {
            let name = match &c["criterion"] {
                serde_json::Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            w.write_record(["", "", &r.sample, &name, ""])
                .expect("writing to memory");
        }
        w.write_record(["", "", &r.sample, "overall", ""])
            .expect("writing to memory");
    }
    String::from_utf8(w.into_inner().expect("writing to memory")).expect("CSV of UTF-8 is UTF-8")
}
