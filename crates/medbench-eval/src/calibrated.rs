//! A stored run's results with a judge calibration applied: every judged item's
//! score goes through the isotonic map fitted on physician ratings, and the
//! aggregates are recomputed. The stored run is left as it is; only judgements
//! of a judge version the calibration was fitted on are mapped, and the results
//! say how many were and why the others were not.

use crate::scoring::{ItemMeta, Scored};
use crate::{find_run, stored_results};
use anyhow::{Context, Result, bail};
use medbench_report::{CalibrationInfo, Results};
use medbench_stats::isotonic::IsotonicMap;
use medbench_store::{CalibrationRow, SqliteBank};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// `judge:{kind}:{name}@{version}` → (name, version).
fn judge_of(scorer: &str) -> Option<(&str, &str)> {
    let rest = scorer.strip_prefix("judge:")?;
    let (_, who) = rest.split_once(':')?;
    who.rsplit_once('@')
}

/// The run's results with calibration `id` applied (or, without an id, the newest
/// calibration of each judge the run used).
pub fn calibrated_results(bank: &SqliteBank, run: &str, id: Option<&str>) -> Result<Results> {
    let row = find_run(bank, run)?;
    let old = stored_results(bank, &row.id)?;
    let Some(judging) = old.judging.clone() else {
        bail!(
            "run {} was not judged by an LLM judge, so there is nothing to calibrate (see `medbench judge`)",
            row.id
        );
    };
    let mut cals: HashMap<String, CalibrationRow> = HashMap::new();
    match id {
        Some(id) => {
            let mut found = bank.find_calibrations(id)?;
            let c = match found.len() {
                0 => bail!("no calibration `{id}` in this bank (see `medbench calibrate`)"),
                1 => found.remove(0),
                n => bail!("`{id}` matches {n} calibrations; give more of the id"),
            };
            cals.insert(c.judge.clone(), c);
        }
        None => {
            for j in &judging.judges {
                if let Some(c) = bank.calibrations(&j.name)?.into_iter().next() {
                    cals.insert(j.name.clone(), c);
                }
            }
        }
    }
    if cals.is_empty() {
        bail!(
            "no calibration for judge(s) {} (fit one with `medbench calibrate --judge NAME` after importing physician ratings)",
            judging
                .judges
                .iter()
                .map(|j| j.name.as_str())
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut maps: HashMap<String, (IsotonicMap, BTreeSet<String>, Option<String>)> = HashMap::new();
    for (name, c) in &cals {
        let map: Option<IsotonicMap> = serde_json::from_str(&c.map)
            .with_context(|| format!("calibration {} is unreadable", c.id))?;
        let Some(map) = map else {
            bail!(
                "calibration {} has no map (its ratings gave no judged item scores to fit)",
                c.id
            );
        };
        let versions: BTreeSet<String> = serde_json::from_str(&c.versions)?;
        maps.insert(name.clone(), (map, versions, c.task.clone()));
    }
    let scores: HashMap<String, medbench_store::ScoreRow> = bank
        .scores(&row.id)?
        .into_iter()
        .map(|s| (s.item_id.clone(), s))
        .collect();
    let mut scored = Vec::new();
    let mut mapped = 0u64;
    let mut skipped: BTreeMap<String, u64> = BTreeMap::new();
    bank.for_each_run_item(&row.id, &mut |item, _| {
        let Some(mut s) = scores.get(&item.id).cloned() else {
            return Ok(());
        };
        if let Some((name, version)) = judge_of(&s.scorer)
            && ["correct", "partial", "wrong"].contains(&s.outcome.as_str())
        {
            match maps.get(name) {
                Some((_, _, Some(task))) if *task != item.task => {
                    *skipped
                        .entry(format!("{name}@{version} in task {}", item.task))
                        .or_default() += 1
                }
                Some((map, versions, _)) if versions.contains(version) => {
                    s.value = map.apply(s.value).clamp(0.0, 1.0);
                    s.outcome = crate::scoring::outcome_of_value(s.value).into();
                    mapped += 1;
                }
                _ => *skipped.entry(format!("{name}@{version}")).or_default() += 1,
            }
        }
        let value = s.value;
        scored.push(Scored {
            failed: (s.outcome == "error") as usize,
            row: s,
            item: ItemMeta::from(&item),
            instances: item.instance_count(),
            strict: value,
            mean: value,
        });
        Ok(())
    })?;
    let mut r = crate::rescored(bank, &row.id, &scored, old)?;
    let mut note =
        format!("isotonic map fitted on physician ratings applied to {mapped} judged item(s)");
    for (who, n) in &skipped {
        note.push_str(&format!(
            "; not applied to {n} item(s) judged by {who}: the calibration was fitted on another judge version or task"
        ));
        r.warnings.push(format!(
            "calibration not applied to {n} item(s) judged by {who} (fitted on another judge version or task)"
        ));
    }
    let c = cals.values().next().expect("one calibration at least");
    let mut judging = judging;
    judging.calibration = CalibrationInfo {
        applied: mapped > 0,
        id: Some(
            cals.values()
                .map(|c| c.id.clone())
                .collect::<Vec<_>>()
                .join(","),
        ),
        ratings: cals.values().map(|c| c.ratings).sum(),
        items: c.items,
        items_mapped: mapped,
        note,
    };
    r.judging = Some(judging);
    Ok(r)
}
