//! Lesion detection: boxes matched by label and IoU.

use crate::Score;
use crate::extract::{self, JsonKind};
use crate::structured::get_field;
use crate::text::normalize;
use medbench_core::LabelledBox;
use serde_json::{Value, json};

/// A box read from an answer.
#[derive(Debug, Clone, PartialEq)]
pub struct FoundBox {
    /// Normalised label; empty when the answer gave none.
    pub label: String,
    /// `[x1, y1, x2, y2]` with `x1 ≤ x2`, `y1 ≤ y2`.
    pub bbox: [f64; 4],
}

/// Texts that mean "no lesion" when the answer holds no box.
const NO_LESION: &[&str] = &[
    "无病变",
    "未见病变",
    "未见异常",
    "无异常",
    "no lesion",
    "none",
    "[]",
];

const LABEL_KEYS: &[&str] = &["类别", "label", "category", "class", "name", "病变"];
const BOX_KEYS: &[&str] = &["边界框", "box", "bbox", "bounding_box", "坐标"];

fn number4(v: &Value) -> Option<[f64; 4]> {
    let a = v.as_array()?;
    if a.len() != 4 {
        return None;
    }
    let mut out = [0.0; 4];
    for (o, x) in out.iter_mut().zip(a) {
        *o = match x {
            Value::Number(n) => n.as_f64()?,
            Value::String(s) => s.trim().parse().ok()?,
            _ => return None,
        };
    }
    let [x1, y1, x2, y2] = out;
    Some([x1.min(x2), y1.min(y2), x1.max(x2), y1.max(y2)])
}

/// The boxes of one JSON object: `{"类别": ["结节"], "边界框": [x1,y1,x2,y2]}`
/// (or `label`/`box`); the box value may also be a list of boxes.
fn object_boxes(o: &serde_json::Map<String, Value>) -> Vec<FoundBox> {
    let label = LABEL_KEYS
        .iter()
        .find_map(|k| get_field(o, k))
        .and_then(|v| match v {
            Value::String(s) => Some(s.clone()),
            Value::Array(a) => a.first().and_then(|x| x.as_str()).map(str::to_owned),
            _ => None,
        })
        .map(|s| normalize(&s))
        .unwrap_or_default();
    let Some(b) = BOX_KEYS.iter().find_map(|k| get_field(o, k)) else {
        return Vec::new();
    };
    let boxes: Vec<[f64; 4]> = match number4(b) {
        Some(one) => vec![one],
        None => b
            .as_array()
            .map(|a| a.iter().filter_map(number4).collect())
            .unwrap_or_default(),
    };
    boxes
        .into_iter()
        .map(|bbox| FoundBox {
            label: label.clone(),
            bbox,
        })
        .collect()
}

/// Read the boxes in an answer: a JSON list of box objects, or a single
/// object (possibly holding the list under any key). `Some(vec![])` for an
/// explicit empty list or a "no lesion" text; `None` when nothing is readable.
pub fn parse_boxes(answer: &str) -> Option<Vec<FoundBox>> {
    let values = extract::find_all_json(answer, JsonKind::Any);
    let mut out = Vec::new();
    let mut saw_list = false;
    for v in &values {
        match v {
            Value::Array(a) => {
                saw_list |= a.is_empty();
                out.extend(a.iter().filter_map(Value::as_object).flat_map(object_boxes));
            }
            Value::Object(o) => {
                let own = object_boxes(o);
                if own.is_empty() {
                    for inner in o.values().filter_map(Value::as_array) {
                        saw_list |= inner.is_empty();
                        out.extend(
                            inner
                                .iter()
                                .filter_map(Value::as_object)
                                .flat_map(object_boxes),
                        );
                    }
                } else {
                    out.extend(own);
                }
            }
            _ => {}
        }
    }
    if !out.is_empty() {
        return Some(out);
    }
    let n = normalize(answer);
    (saw_list || NO_LESION.iter().any(|w| n.contains(w))).then(Vec::new)
}

/// Intersection over union of two boxes; 0 when either has no area.
pub fn iou(a: &[f64; 4], b: &[f64; 4]) -> f64 {
    let ix = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iy = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ix * iy;
    let area = |r: &[f64; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union <= 0.0 { 0.0 } else { inter / union }
}

/// Detection: greedy one-to-one matching, highest IoU first, of given to
/// reference boxes with equal labels and IoU ≥ the reference threshold;
/// value = F1 = 2·matched / (given + expected). No reference box and no given
/// box (or a "no lesion" answer) scores 1. A given box without a label takes
/// the label when the reference uses a single label. Unreadable is Unparsed.
pub fn score_detection(
    vocab: &[String],
    want: &[LabelledBox],
    threshold: f64,
    answer: &str,
) -> Score {
    let Some(mut got) = parse_boxes(answer) else {
        return Score::unparsed("no boxes and no 'no lesion' statement found");
    };
    let want_labels: Vec<String> = want.iter().map(|b| normalize(&b.label)).collect();
    let mut distinct = want_labels.clone();
    distinct.sort();
    distinct.dedup();
    if distinct.len() == 1 && vocab.len() <= 1 {
        for g in got.iter_mut().filter(|g| g.label.is_empty()) {
            g.label = distinct[0].clone();
        }
    }
    let parsed = Some(json!(
        got.iter()
            .map(|b| json!({"label": b.label, "box": b.bbox}))
            .collect::<Vec<_>>()
    ));
    if got.is_empty() && want.is_empty() {
        return Score::correct(parsed).with_detail("no lesion, as expected");
    }
    let mut pairs = Vec::new();
    for (i, g) in got.iter().enumerate() {
        for (j, w) in want.iter().enumerate() {
            let v = iou(&g.bbox, &w.bbox);
            if g.label == want_labels[j] && v >= threshold && v > 0.0 {
                pairs.push((v, i, j));
            }
        }
    }
    pairs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut used_g, mut used_w) = (vec![false; got.len()], vec![false; want.len()]);
    let mut matched = 0usize;
    for (_, i, j) in pairs {
        if !used_g[i] && !used_w[j] {
            used_g[i] = true;
            used_w[j] = true;
            matched += 1;
        }
    }
    let f1 = 2.0 * matched as f64 / (got.len() + want.len()) as f64;
    let detail = format!(
        "matched={matched} given={} expected={} f1={f1:.4}",
        got.len(),
        want.len()
    );
    Score::graded(f1, parsed, Some(detail))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iou_of_overlapping_boxes() {
        // Intersection 5×10 = 50; union 100 + 100 − 50 = 150.
        assert!((iou(&[0.0, 0.0, 10.0, 10.0], &[5.0, 0.0, 15.0, 10.0]) - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(iou(&[0.0, 0.0, 1.0, 1.0], &[2.0, 2.0, 3.0, 3.0]), 0.0);
        assert_eq!(iou(&[0.0, 0.0, 0.0, 0.0], &[0.0, 0.0, 0.0, 0.0]), 0.0);
    }
}
