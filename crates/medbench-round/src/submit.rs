//! Scoring a round: each instance by its format's rule against the mapped key,
//! then each item by permutation consistency (strict = the minimum over its
//! permutations, i.e. right in every one for 0/1 scores; mean = their mean).
//! Choice tasks count the strict score; other tasks have one instance, where
//! both are equal. The run stores item-level scores under the real item ids, so
//! it compares with live runs (`medbench compare`).
//!
//! With judges, open-ended answers (one instance each) go through the judge stage
//! after the rule stage, as in `medbench eval`: the judge's score replaces the
//! stand-in ROUGE-L, and verdicts are stored per run and judge version, so scoring
//! the same answers again sends only the judge calls still missing.

use crate::instance::instance_parts;
use crate::validate::{Issue, UnpackLimits, read_submission};
use crate::{Result, RoundError, find_round};
use medbench_core::{FormatKind, Item, item::sha256_hex};
use medbench_eval::medbench_judge::{self, Judge, JudgeProgress};
use medbench_eval::scoring::{
    InstanceScore, ItemMeta, Scored, combine, outcome_str, results, scorer_id,
};
use medbench_report::{CalibrationInfo, Judging, Results};
use medbench_store::{Bank, InstanceRow, ResponseRow, RoundRow, ScoreRow, SqliteBank};
use serde::Serialize;
use serde_json::json;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The answer to one instance.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Text(String),
    /// No row in the submission: counted as wrong.
    Missing,
    /// The live call failed for good: counted as an error (0).
    Failed(String),
}

/// Strict and mean scores of a task over its items (0–100).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PermutationScore {
    pub strict: f64,
    pub mean: f64,
    pub items: usize,
    pub instances: usize,
}

/// A scored submission or live round run.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub run_id: String,
    pub round_id: String,
    pub results: Results,
    pub issues: Vec<Issue>,
    pub instances: usize,
    pub answered: usize,
    pub permutation: BTreeMap<String, PermutationScore>,
}

/// Load a round's instances and the items behind them.
pub(crate) fn load_round(
    bank: &SqliteBank,
    key: &str,
) -> Result<(RoundRow, Vec<InstanceRow>, HashMap<String, Item>)> {
    let round = find_round(bank, key)?;
    let instances = bank.round_instances(&round.id)?;
    let mut items = HashMap::new();
    for i in &instances {
        if !items.contains_key(&i.item_id) {
            let it = bank
                .get_version(&i.item_id, i.item_version)?
                .ok_or_else(|| {
                    RoundError::Corrupt(format!("item {} v{} is gone", i.item_id, i.item_version))
                })?;
            items.insert(i.item_id.clone(), it);
        }
    }
    Ok((round, instances, items))
}

/// Score answers to a round's instances into a finished run (`run_id` must be open,
/// its answers stored). With `judges`, open-ended items are judged from the stored
/// answers (only missing judge calls are sent) and the judge's score replaces the
/// rule's; `results.judging` says what the judges did.
#[allow(clippy::too_many_arguments)]
pub fn score_answers(
    bank: &mut SqliteBank,
    round: &RoundRow,
    instances: &[InstanceRow],
    items: &HashMap<String, Item>,
    run_id: &str,
    answers: &HashMap<String, Answer>,
    seed: u64,
    judges: &[Judge],
    judge_progress: &mut dyn FnMut(JudgeProgress),
) -> Result<(Results, BTreeMap<String, PermutationScore>)> {
    // item id → its instances' scores
    let mut per_item: BTreeMap<&str, Vec<InstanceScore>> = BTreeMap::new();
    for inst in instances {
        let (format, reference) = instance_parts(inst)?;
        let got = match (answers.get(&inst.instance_id), reference) {
            (Some(Answer::Text(t)), Some(r)) => {
                let s = medbench_score::score(&format, &r, t);
                InstanceScore {
                    value: s.value.clamp(0.0, 1.0),
                    outcome: outcome_str(s.outcome),
                    parsed: None,
                    detail: None,
                }
            }
            (Some(Answer::Failed(why)), _) => InstanceScore::error(why.clone()),
            (None | Some(Answer::Missing), _) => InstanceScore {
                value: 0.0,
                outcome: "wrong",
                parsed: None,
                detail: Some("no answer in the submission".into()),
            },
            (Some(Answer::Text(_)), None) => InstanceScore::error("the instance has no reference"),
        };
        per_item.entry(inst.item_id.as_str()).or_default().push(got);
    }
    let mut scored = Vec::new();
    for (id, vals) in &per_item {
        let item = &items[*id];
        let kind = item.format_kind();
        let (value, outcome, strict, mean) = combine(kind, vals);
        let choice = matches!(kind, FormatKind::SingleChoice | FormatKind::MultipleChoice);
        let scorer = if choice && vals.len() > 1 {
            format!("{}+strict@{}", scorer_id(kind), vals.len())
        } else {
            scorer_id(kind)
        };
        scored.push(Scored {
            row: ScoreRow {
                run_id: run_id.to_owned(),
                item_id: id.to_string(),
                value,
                outcome: outcome.into(),
                parsed: None,
                detail: Some(format!(
                    "strict {strict:.3} · mean {mean:.3} over {} permutation(s)",
                    vals.len()
                )),
                scorer,
            },
            item: ItemMeta::from(item),
            instances: vals.len(),
            strict,
            mean,
            failed: vals.iter().filter(|v| v.outcome == "error").count(),
        });
    }
    let judging = judge_stage(bank, run_id, judges, judge_progress, &mut scored)?;
    let mut perm: BTreeMap<String, (f64, f64, usize, usize)> = BTreeMap::new();
    for s in &scored {
        let p = perm.entry(s.item.task.clone()).or_default();
        p.0 += s.strict;
        p.1 += s.mean;
        p.2 += 1;
        p.3 += s.instances;
    }
    let permutation: BTreeMap<String, PermutationScore> = perm
        .into_iter()
        .map(|(t, (s, m, n, k))| {
            (
                t,
                PermutationScore {
                    strict: 100.0 * s / n as f64,
                    mean: 100.0 * m / n as f64,
                    items: n,
                    instances: k,
                },
            )
        })
        .collect();
    bank.put_scores(
        run_id,
        &scored.iter().map(|s| s.row.clone()).collect::<Vec<_>>(),
    )?;
    let usage = bank.run_usage(run_id)?;
    let mut res =
        results(run_id, &scored, usage, seed).map_err(|e| RoundError::Eval(format!("{e:#}")))?;
    res.judging = judging;
    for (task, p) in &permutation {
        if let Some(t) = res.tasks.get_mut(task) {
            t.permutation = Some(medbench_report::Permutation {
                strict: p.strict,
                mean: p.mean,
                instances: p.instances,
            });
        }
    }
    res.manifest = json!({
        "tool": "medbench",
        "version": env!("CARGO_PKG_VERSION"),
        "run_id": run_id,
        "round": {"id": round.id, "name": round.name, "seed": round.seed, "params": serde_json::from_str::<serde_json::Value>(&round.params).unwrap_or_default()},
        "instances": instances.len(),
        "items": per_item.len(),
        "scoring": "choice tasks: strict (an item counts only if right in every permutation); other tasks: mean",
        "permutation": permutation,
        "scorer_version": medbench_score::SCORER_VERSION,
        "judges": medbench_eval::judges_manifest(judges),
    });
    Ok((res, permutation))
}

/// The judge stage of a round run, as `medbench eval` runs it: judge the stored
/// open-ended answers (sending only the calls not stored yet), then put each judged
/// item's score in place of its rule score. Choice items are never judged, so their
/// strict and mean permutation scores stay the rules'.
fn judge_stage(
    bank: &SqliteBank,
    run_id: &str,
    judges: &[Judge],
    progress: &mut dyn FnMut(JudgeProgress),
    scored: &mut [Scored],
) -> Result<Option<Judging>> {
    if judges.is_empty() {
        return Ok(None);
    }
    let db = bank.location();
    if db == ":memory:" || db.is_empty() {
        return Err(RoundError::Invalid(
            "judging needs a bank in a file (the judge stage reads and writes it from several threads)".into(),
        ));
    }
    let eval = |e: anyhow::Error| RoundError::Eval(format!("judging run {run_id}: {e:#}"));
    medbench_judge::judge_run(&db, run_id, judges, progress).map_err(eval)?;
    let judged = medbench_judge::item_scores(bank, run_id, judges).map_err(eval)?;
    for s in scored.iter_mut() {
        if let Some(j) = judged.get(&s.row.item_id) {
            s.row.value = j.value;
            s.row.outcome = j.outcome.clone();
            s.row.parsed = None;
            s.row.detail = Some(j.detail.clone());
            s.row.scorer = j.scorer.clone();
            s.strict = j.value;
            s.mean = j.value;
        }
    }
    Ok(Some(Judging {
        judges: medbench_judge::summary(bank, run_id, judges).map_err(eval)?,
        calibration: CalibrationInfo {
            note: "not applied: scores are the judge's own".into(),
            ..Default::default()
        },
    }))
}

/// The item-level selection a round run records (what `compare` pairs on).
pub(crate) fn selection(instances: &[InstanceRow]) -> Vec<(String, u32, String)> {
    let mut sel: Vec<(String, u32, String)> = instances
        .iter()
        .map(|i| (i.item_id.clone(), i.item_version, i.task.clone()))
        .collect();
    sel.sort();
    sel.dedup();
    sel
}

/// Validate a filled export and score it into a run, with the default [`UnpackLimits`]
/// and no judge (open-ended answers get the stand-in ROUGE-L).
pub fn submit(bank: &mut SqliteBank, round: &str, file: &Path, model: &str) -> Result<Submitted> {
    submit_with(
        bank,
        round,
        file,
        model,
        &UnpackLimits::default(),
        &[],
        &mut |_| {},
    )
}

/// [`submit`] with explicit bounds on what the submission may unpack to, and the judges
/// of its open-ended answers (none: the stand-in ROUGE-L). The bank must be a file when
/// judges are given. Submitting the same file again reuses the stored verdicts.
pub fn submit_with(
    bank: &mut SqliteBank,
    round: &str,
    file: &Path,
    model: &str,
    limits: &UnpackLimits,
    judges: &[Judge],
    judge_progress: &mut dyn FnMut(JudgeProgress),
) -> Result<Submitted> {
    if model.trim().is_empty() {
        return Err(RoundError::Invalid(
            "--model must name the model that answered".into(),
        ));
    }
    let (round, instances, items) = load_round(bank, round)?;
    let by_id: HashMap<&str, &InstanceRow> = instances
        .iter()
        .map(|i| (i.instance_id.as_str(), i))
        .collect();
    let sub = read_submission(file, &by_id, limits)?;
    if sub.answers.is_empty() {
        let first = sub
            .issues
            .first()
            .map(|i| format!(": first problem: {i}"))
            .unwrap_or_default();
        return Err(RoundError::Invalid(format!(
            "{} has no usable answer for round {}{first}",
            file.display(),
            round.id
        )));
    }
    let run_id = format!(
        "run-{}",
        &sha256_hex(format!("{}\u{1f}{model}\u{1f}{}", round.id, sub.hash).as_bytes())[..12]
    );
    let spec = json!({"model": model, "round": round.id, "submission": sub.hash, "file": file.display().to_string()});
    let started = medbench_eval::now();
    bank.open_run(
        &run_id,
        model,
        &spec.to_string(),
        &started,
        &selection(&instances),
    )?;
    let rows: Vec<ResponseRow> = sub
        .answers
        .iter()
        .map(|(id, text)| ResponseRow {
            run_id: run_id.clone(),
            item_id: id.clone(),
            request_hash: format!("submission:{run_id}:{id}"),
            request: json!({"submission": sub.hash}).to_string(),
            text: Some(text.clone()),
            tool_calls: None,
            error_kind: None,
            error: None,
            prompt_tokens: None,
            completion_tokens: None,
            latency_ms: 0,
            attempts: 0,
            cached: true,
            at: started.clone(),
        })
        .collect();
    bank.put_responses(&rows)?;
    let answers: HashMap<String, Answer> = sub
        .answers
        .iter()
        .map(|(k, v)| (k.clone(), Answer::Text(v.clone())))
        .collect();
    let (mut res, permutation) = score_answers(
        bank,
        &round,
        &instances,
        &items,
        &run_id,
        &answers,
        round.seed,
        judges,
        judge_progress,
    )?;
    res.model = medbench_report::ModelInfo {
        name: model.to_owned(),
        provider: "submission".into(),
        base_url: None,
    };
    res.started_at = started;
    let finished = medbench_eval::now();
    res.finished_at = Some(finished.clone());
    if let Some(m) = res.manifest.as_object_mut() {
        m.insert("submission".into(), json!({"sha256": sub.hash, "files": sub.files, "rows": sub.rows, "issues": sub.issues.len()}));
        m.insert(
            "model".into(),
            json!({"name": model, "provider": "submission"}),
        );
    }
    bank.finish_run(
        &run_id,
        &finished,
        &res.manifest.to_string(),
        &medbench_report::to_json(&res),
    )?;
    Ok(Submitted {
        run_id,
        round_id: round.id,
        results: res,
        issues: sub.issues,
        instances: instances.len(),
        answered: sub.answers.len(),
        permutation,
    })
}

/// A run's stored answers by instance id (failed calls as [`Answer::Failed`]), and how
/// many instances have an answer.
pub(crate) fn stored_answers(
    bank: &SqliteBank,
    run_id: &str,
) -> Result<(HashMap<String, Answer>, usize)> {
    let answers: HashMap<String, Answer> = bank
        .responses(run_id)?
        .into_iter()
        .map(|r| {
            let a = match &r.error_kind {
                Some(k) => Answer::Failed(format!("{k}: {}", r.error.as_deref().unwrap_or(""))),
                None => Answer::Text(medbench_eval::scoring::answer_text(&r)),
            };
            (r.item_id, a)
        })
        .collect();
    let answered = answers
        .values()
        .filter(|a| matches!(a, Answer::Text(_)))
        .count();
    Ok((answers, answered))
}
