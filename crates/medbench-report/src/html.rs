//! HTML rendering with minijinja. Templates live in `templates/`, the chart
//! library in `assets/`; both are compiled into the binary so the output is
//! one self-contained file.

use crate::Results;
use minijinja::value::{Serde, Value as JValue};
use minijinja::{Environment, context};
use serde_json::Value;

/// Apache ECharts, minified build, inlined into every page (see `assets/README.md`).
const ECHARTS: &str = include_str!("../assets/echarts.min.js");
const BASE: &str = include_str!("../templates/base.html");
const REPORT: &str = include_str!("../templates/report.html");
const COMPARE: &str = include_str!("../templates/compare.html");
const REPORT_JS: &str = include_str!("../templates/report.js");
const COMPARE_JS: &str = include_str!("../templates/compare.js");
const GENERATOR: &str = concat!("medbench-report ", env!("CARGO_PKG_VERSION"));

/// Serialises `v` for a `<script type="application/json">` block: `<`, `>`
/// and `&` become `\u003c`, `\u003e`, `\u0026` (so no `</script` can appear),
/// and the JavaScript line separators U+2028/U+2029 are escaped too.
pub(crate) fn script_json(v: &Value) -> String {
    let s = serde_json::to_string(v).expect("JSON values serialise");
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '<' => out.push_str("\\u003c"),
            '>' => out.push_str("\\u003e"),
            '&' => out.push_str("\\u0026"),
            '\u{2028}' => out.push_str("\\u2028"),
            '\u{2029}' => out.push_str("\\u2029"),
            c => out.push(c),
        }
    }
    out
}

/// `1234567` → `1,234,567`.
fn thousands(v: u64) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.add_filter("thousands", thousands);
    for (name, src) in [
        ("base.html", BASE),
        ("report.html", REPORT),
        ("compare.html", COMPARE),
    ] {
        env.add_template(name, src)
            .expect("bundled templates parse");
    }
    env
}

fn render(name: &str, ctx: JValue) -> String {
    env()
        .get_template(name)
        .and_then(|t| t.render(ctx))
        .unwrap_or_else(|e| panic!("bundled template {name} failed to render: {e:#}"))
}

/// Renders one run as a single self-contained HTML page: header with the
/// model, run id, dates and overall score; server-rendered tables of tracks,
/// dimensions, tasks (with 95% CIs and unparsed/error counts apart from
/// wrong), specialties, item counts, usage and the manifest; and ECharts
/// charts (radar or bars per track, task bars with CI error bars, specialty
/// × dimension heat map). Opening it needs no network access.
pub fn to_html(r: &Results) -> String {
    let (view, data) = crate::view::build(r);
    render(
        "report.html",
        context! {
            title => format!("{} — medbench report", r.model.name),
            r => JValue::from(Serde(&view)),
            data_json => JValue::from_safe_string(script_json(&data)),
            echarts => JValue::from_safe_string(ECHARTS.to_owned()),
            page_js => JValue::from_safe_string(REPORT_JS.to_owned()),
            generator => GENERATOR,
        },
    )
}

/// Renders two runs side by side: overall, track, dimension and task scores
/// of `a` and `b` with their difference, plus `comparison` (for instance the
/// paired bootstrap / McNemar results keyed by task or dimension). Entries of
/// `comparison` that look like paired results (objects with a `diff` field,
/// at the top level or one level down) are tabulated; the whole value is also
/// shown verbatim.
pub fn compare_html(a: &Results, b: &Results, comparison: &Value) -> String {
    let (view, data) = crate::compare::build(a, b, comparison);
    render(
        "compare.html",
        context! {
            title => format!("{} vs {} — medbench comparison", a.model.name, b.model.name),
            c => JValue::from(Serde(&view)),
            data_json => JValue::from_safe_string(script_json(&data)),
            echarts => JValue::from_safe_string(ECHARTS.to_owned()),
            page_js => JValue::from_safe_string(COMPARE_JS.to_owned()),
            generator => GENERATOR,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_json_cannot_close_the_tag() {
        let v = serde_json::json!({"x": "</script><!-- & \u{2028}"});
        let s = script_json(&v);
        assert!(!s.contains('<') && !s.contains('>') && !s.contains('&'));
        let back: Value = serde_json::from_str(&s).unwrap();
        assert_eq!(back, v);
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1000), "1,000");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
