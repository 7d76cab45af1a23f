//! The view model of the single-run report: every number preformatted, every
//! label resolved, so the template only lays things out.

use crate::labels::{dimension_label, dimension_rank, ordered_dimensions, track_label, track_rank};
use crate::{ItemCounts, ModelInfo, Results, Stat};
use serde::Serialize;
use serde_json::{Value, json};

/// Colours for dimensions, in canonical dimension order (ECharts-like palette).
const PALETTE: [&str; 13] = [
    "#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4",
    "#ea7ccc", "#2f4554", "#c23531", "#61a0a8", "#d48265",
];

/// A score formatted for display.
#[derive(Serialize, Clone, Debug)]
pub(crate) struct StatView {
    pub score: String,
    pub ci: String,
    pub n: usize,
    /// Score clamped to 0–100, for CSS bar widths.
    pub pct: f64,
}

/// One decimal, or an em dash for non-finite values.
pub(crate) fn fmt1(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.1}")
    } else {
        "—".into()
    }
}

pub(crate) fn stat_view(s: &Stat) -> StatView {
    StatView {
        score: fmt1(s.score),
        ci: format!("{}–{}", fmt1(s.ci_low), fmt1(s.ci_high)),
        n: s.n,
        pct: if s.score.is_finite() {
            s.score.clamp(0.0, 100.0)
        } else {
            0.0
        },
    }
}

/// A display label with optional Chinese name.
#[derive(Serialize, Clone, Debug)]
pub(crate) struct Label {
    pub key: String,
    pub en: String,
    pub zh: Option<String>,
}

pub(crate) fn dim_label(key: &str) -> Label {
    let (en, zh) = dimension_label(key);
    Label {
        key: key.to_owned(),
        en,
        zh,
    }
}

pub(crate) fn trk_label(key: &str) -> Label {
    let (en, zh) = track_label(key);
    Label {
        key: key.to_owned(),
        en,
        zh,
    }
}

#[derive(Serialize, Debug)]
struct TrackRow {
    label: Label,
    stat: StatView,
    dimensions: usize,
}

#[derive(Serialize, Debug)]
struct DimRow {
    label: Label,
    track: Label,
    stat: StatView,
    tasks: usize,
    color: String,
}

#[derive(Serialize, Debug)]
struct TaskRow {
    name: String,
    track: Label,
    dimension: Label,
    format: String,
    stat: StatView,
    correct: u64,
    partial: u64,
    wrong: u64,
    unparsed: u64,
    errors: u64,
    scorer: String,
    /// `key_points + judge`; empty in files written before recipes.
    recipe: String,
    recipe_basis: String,
    metric: String,
    /// The score is a stand-in for a judged metric.
    needs_judge: bool,
    /// `strict 40.0 · mean 56.7 · 150 instances` for round runs.
    permutation: Option<String>,
    color: String,
}

#[derive(Serialize, Debug)]
struct NamedStat {
    name: String,
    stat: StatView,
}

/// One line of the manifest summary.
#[derive(Serialize, Debug)]
pub(crate) struct Kv {
    pub key: String,
    pub value: String,
}

/// A chart container for one track.
#[derive(Serialize, Debug)]
struct TrackChart {
    id: String,
    label: Label,
    kind: &'static str,
}

/// Everything the report template needs.
#[derive(Serialize, Debug)]
pub(crate) struct ReportView {
    model: ModelInfo,
    run_id: String,
    started_at: String,
    finished_at: Option<String>,
    overall: StatView,
    tracks: Vec<TrackRow>,
    dimensions: Vec<DimRow>,
    tasks: Vec<TaskRow>,
    specialties: Vec<NamedStat>,
    items: ItemCounts,
    prompt_tokens: u64,
    completion_tokens: u64,
    total_tokens: u64,
    cost: Option<String>,
    manifest: Vec<Kv>,
    manifest_json: String,
    track_charts: Vec<TrackChart>,
    task_chart_height: usize,
    heat_chart_height: usize,
    has_heatmap: bool,
    judging: Option<crate::Judging>,
    warnings: Vec<String>,
    /// Tasks whose score is a stand-in for a judged metric.
    stand_in_tasks: Vec<String>,
    answered: Vec<(String, crate::AnsweredTask)>,
    failures: Vec<crate::FailureClass>,
}

/// Track keys in canonical order.
pub(crate) fn track_keys(r: &Results) -> Vec<String> {
    let mut k: Vec<String> = r.tracks.keys().cloned().collect();
    k.sort_by_key(|x| track_rank(x));
    k
}

/// Dimension keys in canonical order, including those only named by tasks.
pub(crate) fn dimension_keys(r: &Results) -> Vec<String> {
    let mut k: Vec<String> = r.dimensions.keys().cloned().collect();
    for t in r.tasks.values() {
        if !k.contains(&t.dimension) {
            k.push(t.dimension.clone());
        }
    }
    k.sort_by_key(|x| dimension_rank(x));
    k
}

/// Task names grouped by track then dimension, then by name.
pub(crate) fn task_keys(r: &Results) -> Vec<String> {
    let mut k: Vec<String> = r.tasks.keys().cloned().collect();
    k.sort_by_key(|n| {
        let t = &r.tasks[n];
        (
            track_rank(&t.track),
            dimension_rank(&t.dimension),
            n.clone(),
        )
    });
    k
}

/// The manifest's top-level fields, nested values shown as compact JSON.
pub(crate) fn manifest_summary(m: &Value) -> Vec<Kv> {
    let Value::Object(map) = m else {
        return if m.is_null() {
            vec![]
        } else {
            vec![Kv {
                key: "manifest".into(),
                value: short(m),
            }]
        };
    };
    map.iter()
        .map(|(k, v)| Kv {
            key: k.clone(),
            value: short(v),
        })
        .collect()
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if s.chars().count() > 160 {
        let cut: String = s.chars().take(157).collect();
        format!("{cut}…")
    } else {
        s
    }
}

/// Builds the report view and the chart data for `r`.
pub(crate) fn build(r: &Results) -> (ReportView, Value) {
    let dims = dimension_keys(r);
    let color = |d: &str| {
        let i = dims.iter().position(|x| x == d).unwrap_or(0);
        PALETTE[i % PALETTE.len()].to_owned()
    };

    let mut tracks = Vec::new();
    let mut track_charts = Vec::new();
    let mut track_data = Vec::new();
    for (i, key) in track_keys(r).iter().enumerate() {
        let t = &r.tracks[key];
        let order = ordered_dimensions(key, &t.dimensions);
        tracks.push(TrackRow {
            label: trk_label(key),
            stat: stat_view(&t.stat),
            dimensions: order.len(),
        });
        let points: Vec<Value> = order
            .iter()
            .filter_map(|d| r.dimensions.get(d).map(|dr| (d, dr)))
            .map(|(d, dr)| {
                let l = dim_label(d);
                json!({"key": d, "en": l.en, "zh": l.zh, "score": dr.stat.score,
                       "lo": dr.stat.ci_low, "hi": dr.stat.ci_high, "n": dr.stat.n, "color": color(d)})
            })
            .collect();
        if points.is_empty() {
            continue;
        }
        let kind = if points.len() >= 3 { "radar" } else { "bar" };
        let id = format!("chart-track-{i}");
        let l = trk_label(key);
        track_data
            .push(json!({"id": id, "label": l.en, "zh": l.zh, "kind": kind, "points": points}));
        track_charts.push(TrackChart { id, label: l, kind });
    }

    let dimensions = dims
        .iter()
        .filter_map(|d| r.dimensions.get(d).map(|dr| (d, dr)))
        .map(|(d, dr)| DimRow {
            label: dim_label(d),
            track: trk_label(&dr.track),
            stat: stat_view(&dr.stat),
            tasks: dr.tasks.len(),
            color: color(d),
        })
        .collect();

    let tasks: Vec<TaskRow> = task_keys(r)
        .into_iter()
        .map(|name| {
            let t = &r.tasks[&name];
            TaskRow {
                track: trk_label(&t.track),
                dimension: dim_label(&t.dimension),
                format: t.format.clone(),
                stat: stat_view(&t.stat),
                correct: t.correct,
                partial: t.partial,
                wrong: t.wrong,
                unparsed: t.unparsed,
                errors: t.errors,
                scorer: t.scorer.clone(),
                recipe: t.recipe.clone(),
                recipe_basis: t.recipe_basis.clone(),
                metric: t.metric.clone(),
                needs_judge: t.needs_judge,
                permutation: t.permutation.as_ref().map(|p| {
                    format!(
                        "strict {:.1} · mean {:.1} · {} instances",
                        p.strict, p.mean, p.instances
                    )
                }),
                color: color(&t.dimension),
                name,
            }
        })
        .collect();

    let mut by_score: Vec<(&String, &crate::TaskResult)> = r.tasks.iter().collect();
    by_score.sort_by(|a, b| b.1.stat.score.total_cmp(&a.1.stat.score).then(a.0.cmp(b.0)));
    let task_data: Vec<Value> = by_score
        .iter()
        .map(|(name, t)| {
            json!({"name": name, "dim": t.dimension, "score": t.stat.score, "lo": t.stat.ci_low,
                   "hi": t.stat.ci_high, "n": t.stat.n, "unparsed": t.unparsed, "errors": t.errors})
        })
        .collect();
    let dim_data: Vec<Value> = dims
        .iter()
        .map(|d| {
            let l = dim_label(d);
            json!({"key": d, "en": l.en, "zh": l.zh, "color": color(d)})
        })
        .collect();

    let heat = heat_data(r, &dims);
    let n_spec = heat["y"].as_array().map_or(0, Vec::len);
    let has_heatmap = !r.heatmap.is_empty();

    let data = json!({"tracks": track_data, "tasks": task_data, "dims": dim_data, "heat": heat});
    let u = &r.usage;
    let view = ReportView {
        model: r.model.clone(),
        run_id: r.run_id.clone(),
        started_at: r.started_at.clone(),
        finished_at: r.finished_at.clone(),
        overall: stat_view(&r.overall),
        tracks,
        dimensions,
        task_chart_height: 110 + 26 * tasks.len().max(4),
        tasks,
        specialties: r
            .specialties
            .iter()
            .map(|(k, s)| NamedStat {
                name: k.clone(),
                stat: stat_view(s),
            })
            .collect(),
        items: r.items.clone(),
        prompt_tokens: u.prompt_tokens,
        completion_tokens: u.completion_tokens,
        total_tokens: u.prompt_tokens + u.completion_tokens,
        cost: u.cost_usd.map(|c| format!("${c:.4}")),
        manifest: manifest_summary(&r.manifest),
        manifest_json: serde_json::to_string_pretty(&r.manifest).unwrap_or_default(),
        judging: r.judging.clone(),
        warnings: r.warnings.clone(),
        stand_in_tasks: r.stand_in_tasks().into_iter().map(str::to_owned).collect(),
        answered: r
            .answered
            .iter()
            .map(|(k, a)| (k.clone(), a.clone()))
            .collect(),
        failures: r.failures.clone(),
        track_charts,
        heat_chart_height: 110 + 32 * n_spec.max(3),
        has_heatmap,
    };
    (view, data)
}

/// Heat-map data: x = dimension labels (canonical order, only those present),
/// y = specialties (sorted), cells = [x, y, score, n].
fn heat_data(r: &Results, dims: &[String]) -> Value {
    let xs: Vec<&String> = dims
        .iter()
        .filter(|d| r.heatmap.iter().any(|c| &c.dimension == *d))
        .collect();
    let mut extra: Vec<&String> = r
        .heatmap
        .iter()
        .map(|c| &c.dimension)
        .filter(|d| !dims.contains(d))
        .collect();
    extra.sort();
    extra.dedup();
    let xs: Vec<&String> = xs.into_iter().chain(extra).collect();
    let mut ys: Vec<&String> = r.heatmap.iter().map(|c| &c.specialty).collect();
    ys.sort();
    ys.dedup();
    let cells: Vec<Value> = r
        .heatmap
        .iter()
        .filter_map(|c| {
            let x = xs.iter().position(|d| *d == &c.dimension)?;
            let y = ys.iter().position(|s| *s == &c.specialty)?;
            Some(json!([x, y, (c.score * 10.0).round() / 10.0, c.n]))
        })
        .collect();
    let x_labels: Vec<Value> = xs
        .iter()
        .map(|d| {
            let l = dim_label(d);
            json!({"en": l.en, "zh": l.zh})
        })
        .collect();
    json!({"x": x_labels, "y": ys, "cells": cells})
}
