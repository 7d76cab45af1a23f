//! How well a judge agrees with physicians, next to how well physicians agree
//! with each other (the ceiling no judge can be asked to beat), and an isotonic
//! map from the judge's item score to the physicians' — fitted, stored, and
//! applicable to reports.
//!
//! Three levels are compared: rubric criteria and key points (met / not met),
//! scale dimensions (1–5), and the item score (0–1, computed from each rater's
//! ratings the way the judge's is, or from an `overall` 1–5 rating). Intervals
//! are bootstrapped over rated responses, so the units of one response move
//! together.

use crate::plan::{JudgeKind, item_score, kind_for, rubric_version, scale_to_unit};
use crate::{Judge, JudgeKind as Kind};
use anyhow::{Result, bail};
use medbench_core::item::sha256_hex;
use medbench_core::{Item, Reference};
use medbench_stats::agreement::{
    Level, bootstrap_ci, cohen_kappa, cohen_kappa_quadratic, krippendorff_alpha, mae, pearson,
    prf1, spearman,
};
use medbench_stats::isotonic::IsotonicMap;
use medbench_store::{Bank, CalibrationRow, JudgementRow, SqliteBank};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};

const RESAMPLES: usize = 1000;

/// A statistic with its 95% bootstrap interval; `None` where it is undefined
/// (too few pairs, or a rater who never varies).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metric {
    pub value: Option<f64>,
    pub ci_low: Option<f64>,
    pub ci_high: Option<f64>,
    /// Pairs the statistic is computed on.
    pub n: usize,
}

/// One statistic, judge vs physicians and physician vs physician.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub metric: String,
    pub judge: Metric,
    /// `None` where the statistic has no physician-vs-physician reading (precision and
    /// recall need a reference; two physicians have none).
    pub physicians: Option<Metric>,
}

/// Precision, recall and F1 of the judge's "met" verdicts in one group of criteria.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub group: String,
    pub n: usize,
    pub precision: Option<f64>,
    pub recall: Option<f64>,
    pub f1: Option<f64>,
}

/// The calibration report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub id: String,
    pub judge: String,
    pub task: Option<String>,
    pub ratings: usize,
    pub raters: usize,
    /// Rated responses with a judgement to compare with.
    pub responses: usize,
    /// The judge version compared, by kind.
    pub versions: BTreeMap<String, String>,
    pub criteria: Vec<Row>,
    pub scales: Vec<Row>,
    pub items: Vec<Row>,
    /// Per-criterion precision/recall/F1 by rubric tag and by task.
    pub by_group: Vec<Breakdown>,
    /// Things that make the numbers less than they seem (version changes, rubric changes…).
    pub flags: Vec<String>,
    /// The isotonic map from judge item score to physician item score (both 0–1).
    pub map: Option<IsotonicMap>,
    /// Responses the map was fitted on.
    pub map_items: usize,
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

type Pairs = Vec<Vec<(f64, f64)>>;

fn flat(groups: &Pairs, idx: &[usize]) -> (Vec<f64>, Vec<f64>) {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for &i in idx {
        for &(a, b) in &groups[i] {
            x.push(a);
            y.push(b);
        }
    }
    (x, y)
}

/// A statistic over pairs grouped by response, bootstrapped over responses.
fn metric(groups: &Pairs, f: &dyn Fn(&[f64], &[f64]) -> f64, seed: u64) -> Metric {
    let groups: Pairs = groups.iter().filter(|g| !g.is_empty()).cloned().collect();
    let all: Vec<usize> = (0..groups.len()).collect();
    let (x, y) = flat(&groups, &all);
    let stat = |idx: &[usize]| {
        let (x, y) = flat(&groups, idx);
        if x.is_empty() { f64::NAN } else { f(&x, &y) }
    };
    let value = if x.is_empty() { f64::NAN } else { f(&x, &y) };
    let ci = bootstrap_ci(groups.len(), stat, RESAMPLES, seed, 0.95);
    let ok = finite(value).is_some();
    Metric {
        value: finite(value),
        ci_low: ok.then(|| finite(ci.low)).flatten(),
        ci_high: ok.then(|| finite(ci.high)).flatten(),
        n: x.len(),
    }
}

fn ints(v: &[f64]) -> Vec<i64> {
    v.iter().map(|x| x.round() as i64).collect()
}

fn agreement(a: &[f64], b: &[f64]) -> f64 {
    a.iter()
        .zip(b)
        .filter(|(x, y)| (*x - *y).abs() < 1e-9)
        .count() as f64
        / a.len() as f64
}

fn bools(v: &[f64]) -> Vec<bool> {
    v.iter().map(|x| *x >= 0.5).collect()
}

/// Krippendorff's alpha over pairs read as two raters per unit.
fn alpha(level: Level) -> impl Fn(&[f64], &[f64]) -> f64 {
    move |a: &[f64], b: &[f64]| {
        let data = vec![
            a.iter().map(|v| Some(*v)).collect::<Vec<_>>(),
            b.iter().map(|v| Some(*v)).collect(),
        ];
        krippendorff_alpha(&data, level)
    }
}

/// One rated response: what the judge said and what each physician said, by unit.
struct Rated {
    item: Item,
    kind: JudgeKind,
    judge: BTreeMap<String, f64>,
    /// unit → (rater → value)
    physicians: BTreeMap<String, BTreeMap<String, f64>>,
}

impl Rated {
    fn judge_score(&self) -> Option<f64> {
        item_score(&self.item, self.kind, &self.judge)
    }

    /// Each rater's item score: from `overall`, else from their unit ratings.
    fn physician_scores(&self) -> BTreeMap<String, f64> {
        let mut raters: BTreeSet<&String> = BTreeSet::new();
        for by in self.physicians.values() {
            raters.extend(by.keys());
        }
        let mut out = BTreeMap::new();
        for r in raters {
            if let Some(v) = self.physicians.get("overall").and_then(|m| m.get(r)) {
                out.insert(r.clone(), scale_to_unit(*v));
                continue;
            }
            let mine: BTreeMap<String, f64> = self
                .physicians
                .iter()
                .filter_map(|(u, by)| by.get(r).map(|v| (u.clone(), *v)))
                .collect();
            if let Some(s) = item_score(&self.item, self.kind, &mine) {
                out.insert(r.clone(), s);
            }
        }
        out
    }
}

/// Every unordered pair of values from different raters.
fn rater_pairs(by: &BTreeMap<String, f64>) -> Vec<(f64, f64)> {
    let v: Vec<f64> = by.values().copied().collect();
    let mut out = Vec::new();
    for i in 0..v.len() {
        for j in i + 1..v.len() {
            out.push((v[i], v[j]));
        }
    }
    out
}

/// Compare judge `name` with the stored physician ratings (of `task`, when given),
/// fit the isotonic map, and store the calibration. `current` is the judge as
/// configured now, when known: agreement measured on another version is flagged.
pub fn calibrate(
    bank: &mut SqliteBank,
    name: &str,
    task: Option<&str>,
    current: Option<&Judge>,
    seed: u64,
) -> Result<Report> {
    let ratings: Vec<_> = bank
        .ratings()?
        .into_iter()
        .filter(|r| task.is_none_or(|t| r.item_id.split('/').next() == Some(t)))
        .collect();
    if ratings.is_empty() {
        bail!(
            "no physician ratings{} in this bank (import them with `medbench ratings import FILE`)",
            task.map(|t| format!(" for task {t}")).unwrap_or_default()
        );
    }
    let all_judgements = bank.judgements_by(name)?;
    if all_judgements.is_empty() {
        bail!("judge `{name}` has judged nothing in this bank (see `medbench judge RUN`)");
    }
    // The newest version of this judge per kind, bank-wide, unless the configured one is given.
    let mut newest: BTreeMap<String, (String, String)> = BTreeMap::new();
    for j in &all_judgements {
        let e = newest
            .entry(j.kind.clone())
            .or_insert((j.at.clone(), j.judge_version.clone()));
        if j.at >= e.0 {
            *e = (j.at.clone(), j.judge_version.clone());
        }
    }
    let current_version = |kind: Kind| -> Option<String> {
        match current {
            Some(j) => Some(j.version(kind)),
            None => newest.get(kind.as_str()).map(|(_, v)| v.clone()),
        }
    };
    let mut by_response: HashMap<(String, String), Vec<JudgementRow>> = HashMap::new();
    for j in all_judgements {
        by_response
            .entry((j.run_id.clone(), j.item_id.clone()))
            .or_default()
            .push(j);
    }
    let mut flags = Vec::new();
    let mut rated: BTreeMap<(String, String), Rated> = BTreeMap::new();
    let mut not_judged = BTreeSet::new();
    let mut old_versions = BTreeSet::new();
    let mut measured: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut rubric_changed = 0;
    let raters: BTreeSet<&str> = ratings.iter().map(|r| r.rater.as_str()).collect();
    for r in &ratings {
        let key = (r.run_id.clone(), r.item_id.clone());
        if !rated.contains_key(&key) {
            let Some(js) = by_response.get(&key) else {
                not_judged.insert(key);
                continue;
            };
            let Some(v) = bank.run_item_version(&r.run_id, &r.item_id)? else {
                continue;
            };
            let Some(item) = bank.get_version(&r.item_id, v)? else {
                continue;
            };
            let Some(kind) = kind_for(&item) else {
                continue;
            };
            // Compare with the current version when it judged this response, else the newest.
            let want = current_version(kind);
            let mut versions: Vec<(&str, &str)> = js
                .iter()
                .filter(|j| j.kind == kind.as_str())
                .map(|j| (j.at.as_str(), j.judge_version.as_str()))
                .collect();
            versions.sort();
            let Some(chosen) = want
                .as_deref()
                .filter(|w| versions.iter().any(|(_, v)| v == w))
                .or(versions.last().map(|(_, v)| *v))
                .map(str::to_owned)
            else {
                not_judged.insert(key);
                continue;
            };
            for (_, v) in &versions {
                if *v != chosen {
                    old_versions.insert(v.to_string());
                }
            }
            measured
                .entry(kind.to_string())
                .or_default()
                .insert(chosen.clone());
            let judge: BTreeMap<String, f64> = js
                .iter()
                .filter(|j| j.judge_version == chosen && j.status == "ok")
                .filter_map(|j| j.value.map(|v| (j.unit.clone(), v)))
                .collect();
            if let (Some(j), Some(head)) = (
                js.iter().find(|j| j.judge_version == chosen),
                bank.get(&r.item_id)?,
            ) && rubric_version(&head, kind) != j.rubric_version
            {
                rubric_changed += 1;
            }
            rated.insert(
                key.clone(),
                Rated {
                    item,
                    kind,
                    judge,
                    physicians: BTreeMap::new(),
                },
            );
        }
        if let Some(x) = rated.get_mut(&key) {
            x.physicians
                .entry(r.unit.clone())
                .or_default()
                .insert(r.rater.clone(), r.value);
        }
    }
    if rated.is_empty() {
        bail!(
            "none of the rated responses was judged by `{name}`: run `medbench judge RUN --judge-name {name} …` on the rated runs first"
        );
    }
    if !not_judged.is_empty() {
        flags.push(format!(
            "{} rated response(s) have no judgement by `{name}` and are left out",
            not_judged.len()
        ));
    }
    for (kind, vs) in &measured {
        let k = Kind::parse(kind).expect("stored kinds parse");
        if let Some(cur) = current_version(k)
            && vs.iter().any(|v| *v != cur)
        {
            flags.push(format!(
                "{kind}: agreement was measured on judge version {} but `{name}` now judges as {cur} (its model, endpoint, sampling or prompt changed): re-judge the rated runs and calibrate again",
                vs.iter().cloned().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if !old_versions.is_empty() {
        flags.push(format!(
            "older judge versions of the rated responses were ignored: {}",
            old_versions.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if rubric_changed > 0 {
        flags.push(format!(
            "{rubric_changed} rated item(s) have a newer rubric or reference in the bank than the one they were judged and rated against"
        ));
    }

    // Pairs, grouped by response.
    let (mut crit_j, mut crit_p, mut scale_j, mut scale_p, mut item_j, mut item_p) = (
        Pairs::new(),
        Pairs::new(),
        Pairs::new(),
        Pairs::new(),
        Pairs::new(),
        Pairs::new(),
    );
    let mut icc_j: Vec<Vec<f64>> = Vec::new();
    let mut icc_p: Vec<Vec<f64>> = Vec::new();
    let mut groups: BTreeMap<String, (Vec<bool>, Vec<bool>)> = BTreeMap::new();
    let (mut map_x, mut map_y, mut map_w) = (Vec::new(), Vec::new(), Vec::new());
    for x in rated.values() {
        let (mut cj, mut cp, mut sj, mut sp) = (vec![], vec![], vec![], vec![]);
        for (unit, by) in &x.physicians {
            if unit == "overall" {
                continue;
            }
            let binary = x.kind != JudgeKind::Scale;
            let (jv, pv) = if binary {
                (&mut cj, &mut cp)
            } else {
                (&mut sj, &mut sp)
            };
            pv.extend(rater_pairs(by));
            if let Some(j) = x.judge.get(unit) {
                for v in by.values() {
                    jv.push((*j, *v));
                    if binary {
                        let mut tags = vec![format!("task {}", x.item.task)];
                        if let (Some(Reference::Open(r)), Some(i)) =
                            (&x.item.reference, unit[1..].parse::<usize>().ok())
                            && x.kind == JudgeKind::Rubric
                            && let Some(c) = r.rubric.get(i - 1)
                        {
                            tags.extend(c.tags.iter().map(|t| format!("tag {t}")));
                            tags.push(if c.points < 0.0 {
                                "penalty criteria".into()
                            } else {
                                "positive criteria".into()
                            });
                        }
                        for t in tags {
                            let g = groups.entry(t).or_default();
                            g.0.push(*j >= 0.5);
                            g.1.push(*v >= 0.5);
                        }
                    }
                }
            }
        }
        crit_j.push(cj);
        crit_p.push(cp);
        scale_j.push(sj);
        scale_p.push(sp);
        let phys = x.physician_scores();
        item_p.push(rater_pairs(&phys));
        if phys.len() >= 2 {
            let v: Vec<f64> = phys.values().take(2).copied().collect();
            icc_p.push(v);
        }
        match x.judge_score() {
            Some(js) if !phys.is_empty() => {
                item_j.push(phys.values().map(|p| (js, *p)).collect());
                let mean = phys.values().sum::<f64>() / phys.len() as f64;
                icc_j.push(vec![js, mean]);
                map_x.push(js);
                map_y.push(mean);
                map_w.push(phys.len() as f64);
            }
            _ => item_j.push(vec![]),
        }
    }
    let s = seed;
    let row = |name: &str, j: &Pairs, p: Option<&Pairs>, f: &dyn Fn(&[f64], &[f64]) -> f64| Row {
        metric: name.to_owned(),
        judge: metric(j, f, s),
        physicians: p.map(|p| metric(p, f, s)),
    };
    let kappa = |a: &[f64], b: &[f64]| cohen_kappa(&ints(a), &ints(b));
    let qkappa = |a: &[f64], b: &[f64]| cohen_kappa_quadratic(&ints(a), &ints(b));
    let prec = |a: &[f64], b: &[f64]| prf1(&bools(a), &bools(b)).0;
    let rec = |a: &[f64], b: &[f64]| prf1(&bools(a), &bools(b)).1;
    let f1 = |a: &[f64], b: &[f64]| prf1(&bools(a), &bools(b)).2;
    let nominal = alpha(Level::Nominal);
    let ordinal = alpha(Level::Ordinal);
    let criteria = vec![
        row("percent agreement", &crit_j, Some(&crit_p), &agreement),
        row("Cohen's kappa", &crit_j, Some(&crit_p), &kappa),
        row(
            "Krippendorff's alpha (nominal)",
            &crit_j,
            Some(&crit_p),
            &nominal,
        ),
        row("F1 (met)", &crit_j, Some(&crit_p), &f1),
        row("precision (judge says met)", &crit_j, None, &prec),
        row("recall (physician says met)", &crit_j, None, &rec),
    ];
    let scales = vec![
        row(
            "quadratic-weighted kappa",
            &scale_j,
            Some(&scale_p),
            &qkappa,
        ),
        row("Spearman", &scale_j, Some(&scale_p), &spearman),
        row("Pearson", &scale_j, Some(&scale_p), &pearson),
        row(
            "Krippendorff's alpha (ordinal)",
            &scale_j,
            Some(&scale_p),
            &ordinal,
        ),
        row(
            "mean absolute error (points)",
            &scale_j,
            Some(&scale_p),
            &mae,
        ),
    ];
    let icc = |rows: &[Vec<f64>]| {
        let groups: Pairs = rows.iter().map(|r| vec![(r[0], r[1])]).collect();
        metric(
            &groups,
            &|a: &[f64], b: &[f64]| {
                let m: Vec<Vec<f64>> = a.iter().zip(b).map(|(x, y)| vec![*x, *y]).collect();
                medbench_stats::agreement::icc_2_1(&m)
            },
            s,
        )
    };
    let items = vec![
        row("Pearson", &item_j, Some(&item_p), &pearson),
        row("Spearman", &item_j, Some(&item_p), &spearman),
        row("mean absolute error (0–1)", &item_j, Some(&item_p), &mae),
        Row {
            metric: "ICC(2,1), judge vs physicians' mean".into(),
            judge: icc(&icc_j),
            physicians: Some(icc(&icc_p)),
        },
    ];
    let by_group = groups
        .into_iter()
        .map(|(group, (j, p))| {
            let (pr, re, f) = prf1(&j, &p);
            Breakdown {
                group,
                n: j.len(),
                precision: finite(pr),
                recall: finite(re),
                f1: finite(f),
            }
        })
        .collect();
    let map = IsotonicMap::fit(&map_x, &map_y, Some(&map_w));
    let versions: BTreeMap<String, String> = measured
        .iter()
        .map(|(k, vs)| (k.clone(), vs.iter().cloned().collect::<Vec<_>>().join(",")))
        .collect();
    let created = crate::now();
    let id = format!(
        "cal-{}",
        &sha256_hex(
            format!(
                "{name}\u{1f}{task:?}\u{1f}{versions:?}\u{1f}{}\u{1f}{created}",
                ratings.len()
            )
            .as_bytes()
        )[..10]
    );
    let report = Report {
        id: id.clone(),
        judge: name.to_owned(),
        task: task.map(str::to_owned),
        ratings: ratings.len(),
        raters: raters.len(),
        responses: rated.len(),
        versions,
        criteria,
        scales,
        items,
        by_group,
        flags,
        map_items: map_x.len(),
        map,
    };
    let all_versions: BTreeSet<String> = measured.values().flatten().cloned().collect();
    bank.put_calibration(&CalibrationRow {
        id,
        judge: name.to_owned(),
        task: task.map(str::to_owned),
        versions: serde_json::to_string(&all_versions)?,
        ratings: ratings.len() as u64,
        items: report.map_items as u64,
        map: serde_json::to_string(&report.map)?,
        agreement: serde_json::to_string(&report)?,
        created_at: created,
    })?;
    Ok(report)
}
