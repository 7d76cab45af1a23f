//! The view model of the two-run comparison page.

use crate::view::{
    Label, StatView, dim_label, dimension_keys, fmt1, stat_view, task_keys, track_keys, trk_label,
};
use crate::{Results, Stat};
use serde::Serialize;
use serde_json::{Value, json};

/// One row: the same key in run A and run B.
#[derive(Serialize, Debug)]
struct Row {
    label: Label,
    a: Option<StatView>,
    b: Option<StatView>,
    /// `A − B`, one decimal, signed; empty when either side is missing.
    delta: String,
    /// `pos`, `neg` or empty, for colouring.
    sign: &'static str,
}

/// One paired-test row lifted from the comparison value.
#[derive(Serialize, Debug)]
struct PairedRow {
    key: String,
    n: String,
    diff: String,
    ci: String,
    p: String,
    mcnemar_p: String,
    sign: &'static str,
}

#[derive(Serialize, Debug)]
struct Side {
    name: String,
    provider: String,
    run_id: String,
    started_at: String,
    overall: StatView,
}

/// Everything the comparison template needs.
#[derive(Serialize, Debug)]
pub(crate) struct CompareView {
    a: Side,
    b: Side,
    overall: Row,
    tracks: Vec<Row>,
    dimensions: Vec<Row>,
    tasks: Vec<Row>,
    paired: Vec<PairedRow>,
    comparison_json: String,
    dim_chart_height: usize,
    task_chart_height: usize,
}

fn signed(d: f64) -> (String, &'static str) {
    if !d.is_finite() {
        return ("—".into(), "");
    }
    let s = if d > 0.05 {
        "pos"
    } else if d < -0.05 {
        "neg"
    } else {
        ""
    };
    (format!("{d:+.1}"), s)
}

fn row(label: Label, a: Option<&Stat>, b: Option<&Stat>) -> Row {
    let (delta, sign) = match (a, b) {
        (Some(a), Some(b)) => signed(a.score - b.score),
        _ => (String::new(), ""),
    };
    Row {
        label,
        a: a.map(stat_view),
        b: b.map(stat_view),
        delta,
        sign,
    }
}

fn union(a: Vec<String>, b: Vec<String>) -> Vec<String> {
    let mut out = a;
    for k in b {
        if !out.contains(&k) {
            out.push(k);
        }
    }
    out
}

fn num(v: Option<&Value>) -> Option<f64> {
    v.and_then(Value::as_f64)
}

/// A paired row from an object with a `diff` field (the shape of
/// `medbench_stats::Paired`, tolerant of `ci_low`/`ci_high` and `p_value`).
fn paired_row(key: String, v: &Value) -> Option<PairedRow> {
    let diff = num(v.get("diff"))?;
    let (lo, hi) = match v.get("ci") {
        Some(ci) => (num(ci.get("low")), num(ci.get("high"))),
        None => (num(v.get("ci_low")), num(v.get("ci_high"))),
    };
    let p = num(v.get("p_bootstrap"))
        .or(num(v.get("p_value")))
        .or(num(v.get("p")));
    let mp = v.get("mcnemar").and_then(|m| num(m.get("p_value")));
    let fp = |x: Option<f64>| {
        x.map_or("—".to_owned(), |x| {
            if x < 0.001 {
                "<0.001".into()
            } else {
                format!("{x:.3}")
            }
        })
    };
    let (diff_s, sign) = signed(diff);
    Some(PairedRow {
        key,
        n: v.get("n")
            .and_then(Value::as_u64)
            .map_or("—".into(), |n| n.to_string()),
        diff: diff_s,
        ci: match (lo, hi) {
            (Some(l), Some(h)) => format!("{}–{}", fmt1(l), fmt1(h)),
            _ => "—".into(),
        },
        p: fp(p),
        mcnemar_p: fp(mp),
        sign,
    })
}

fn paired_rows(c: &Value) -> Vec<PairedRow> {
    let mut out = Vec::new();
    if let Some(r) = paired_row("overall".into(), c) {
        out.push(r);
    }
    let Value::Object(top) = c else { return out };
    for (k, v) in top {
        if let Some(r) = paired_row(k.clone(), v) {
            out.push(r);
        } else if let Value::Object(inner) = v {
            out.extend(
                inner
                    .iter()
                    .filter_map(|(k2, v2)| paired_row(format!("{k} / {k2}"), v2)),
            );
        }
    }
    out
}

fn side(r: &Results) -> Side {
    Side {
        name: r.model.name.clone(),
        provider: r.model.provider.clone(),
        run_id: r.run_id.clone(),
        started_at: r.started_at.clone(),
        overall: stat_view(&r.overall),
    }
}

/// Builds the comparison view and its chart data.
pub(crate) fn build(a: &Results, b: &Results, comparison: &Value) -> (CompareView, Value) {
    let tracks: Vec<Row> = union(track_keys(a), track_keys(b))
        .iter()
        .map(|k| {
            row(
                trk_label(k),
                a.tracks.get(k).map(|t| &t.stat),
                b.tracks.get(k).map(|t| &t.stat),
            )
        })
        .collect();
    let dim_keys: Vec<String> = union(dimension_keys(a), dimension_keys(b))
        .into_iter()
        .filter(|k| a.dimensions.contains_key(k) || b.dimensions.contains_key(k))
        .collect();
    let dimensions: Vec<Row> = dim_keys
        .iter()
        .map(|k| {
            row(
                dim_label(k),
                a.dimensions.get(k).map(|d| &d.stat),
                b.dimensions.get(k).map(|d| &d.stat),
            )
        })
        .collect();
    let task_names = union(task_keys(a), task_keys(b));
    let tasks: Vec<Row> = task_names
        .iter()
        .map(|k| {
            let label = Label {
                key: k.clone(),
                en: k.clone(),
                zh: None,
            };
            row(
                label,
                a.tasks.get(k).map(|t| &t.stat),
                b.tasks.get(k).map(|t| &t.stat),
            )
        })
        .collect();

    let score = |s: Option<&Stat>| s.map_or(Value::Null, |s| json!(s.score));
    let dim_data: Vec<Value> = dim_keys
        .iter()
        .map(|k| {
            let l = dim_label(k);
            json!({"en": l.en, "zh": l.zh,
                   "a": score(a.dimensions.get(k).map(|d| &d.stat)),
                   "b": score(b.dimensions.get(k).map(|d| &d.stat))})
        })
        .collect();
    let mut deltas: Vec<(String, f64)> = task_names
        .iter()
        .filter_map(|k| {
            Some((
                k.clone(),
                a.tasks.get(k)?.stat.score - b.tasks.get(k)?.stat.score,
            ))
        })
        .collect();
    deltas.sort_by(|x, y| y.1.total_cmp(&x.1).then(x.0.cmp(&y.0)));
    let data = json!({
        "a": a.model.name, "b": b.model.name, "dims": dim_data,
        "deltas": deltas.iter().map(|(k, d)| json!({"name": k, "d": (d * 10.0).round() / 10.0})).collect::<Vec<_>>(),
    });

    let view = CompareView {
        a: side(a),
        b: side(b),
        overall: row(
            Label {
                key: "overall".into(),
                en: "Overall".into(),
                zh: Some("总分".into()),
            },
            Some(&a.overall),
            Some(&b.overall),
        ),
        tracks,
        dimensions,
        tasks,
        paired: paired_rows(comparison),
        comparison_json: serde_json::to_string_pretty(comparison).unwrap_or_default(),
        dim_chart_height: 120 + 44 * dim_keys.len().max(3),
        task_chart_height: 90 + 24 * deltas.len().max(4),
    };
    (view, data)
}
