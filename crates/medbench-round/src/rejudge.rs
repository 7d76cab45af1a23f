//! `medbench judge RUN` for a round's run (live or a submission): score its stored
//! answers again, with the given judges, by the round's rules. Nothing is asked of
//! the model; only judge calls not yet stored are sent.

use crate::submit::{Submitted, load_round, score_answers, stored_answers};
use crate::{Result, RoundError};
use medbench_eval::medbench_judge::{Judge, JudgeProgress};
use medbench_store::SqliteBank;

/// Rescore the round run `run_id` from its stored answers with `judges` (none: the
/// stand-in ROUGE-L) and replace its results. Model, times and the manifest's other
/// entries are kept from the stored results.
pub fn rejudge_round_run(
    db: &str,
    run_id: &str,
    judges: &[Judge],
    judge_progress: &mut dyn FnMut(JudgeProgress),
) -> Result<Submitted> {
    let mut bank = SqliteBank::open(db)?;
    let run = bank
        .run(run_id)?
        .ok_or_else(|| RoundError::Invalid(format!("no run `{run_id}` in {db}")))?;
    let round_id = bank
        .run_round(run_id)?
        .ok_or_else(|| RoundError::Invalid(format!("run {run_id} did not answer a round")))?;
    let old = run
        .results
        .as_deref()
        .map(medbench_report::from_json)
        .transpose()
        .map_err(|e| RoundError::Corrupt(format!("run {run_id}: stored results: {e}")))?
        .ok_or_else(|| {
            RoundError::Invalid(format!(
                "run {run_id} has no results yet (it did not finish; run the same command again)"
            ))
        })?;
    let (round, instances, items) = load_round(&bank, &round_id)?;
    let (answers, answered) = stored_answers(&bank, run_id)?;
    let seed = old
        .manifest
        .get("seed")
        .and_then(|v| v.as_u64())
        .unwrap_or(round.seed);
    let (mut res, permutation) = score_answers(
        &mut bank,
        &round,
        &instances,
        &items,
        run_id,
        &answers,
        seed,
        judges,
        judge_progress,
    )?;
    let mut manifest = old.manifest.clone();
    if let (Some(m), Some(new)) = (manifest.as_object_mut(), res.manifest.as_object()) {
        for (k, v) in new {
            m.insert(k.clone(), v.clone());
        }
        m.insert("judged_at".into(), medbench_eval::now().into());
    }
    res.manifest = manifest;
    res.model = old.model;
    res.started_at = old.started_at;
    res.finished_at = old.finished_at;
    res.usage.cost_usd = old.usage.cost_usd;
    bank.finish_run(
        run_id,
        res.finished_at.as_deref().unwrap_or_default(),
        &res.manifest.to_string(),
        &medbench_report::to_json(&res),
    )?;
    Ok(Submitted {
        run_id: run_id.to_owned(),
        round_id: round.id,
        results: res,
        issues: vec![],
        instances: instances.len(),
        answered,
        permutation,
    })
}
