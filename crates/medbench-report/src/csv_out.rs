//! CSV export: one row per task.

use crate::Results;

/// Column names of [`to_csv`], in order.
pub const CSV_HEADER: [&str; 17] = [
    "run_id",
    "model",
    "track",
    "dimension",
    "task",
    "format",
    "score",
    "ci_low",
    "ci_high",
    "n",
    "correct",
    "partial",
    "wrong",
    "unparsed",
    "errors",
    "recipe",
    "metric",
];

/// One header row then one row per task (in task-name order), RFC 4180
/// quoting (fields with commas, quotes or newlines are quoted, quotes doubled),
/// `\n` line ends. Scores are written with two decimals. `recipe` and `metric`
/// (`official`, `incomplete`, `stand-in`) say whether a score is the task's metric.
pub fn to_csv(r: &Results) -> String {
    let mut w = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    w.write_record(CSV_HEADER).expect("write to memory");
    for (name, t) in &r.tasks {
        let f2 = |x: f64| format!("{x:.2}");
        w.write_record([
            r.run_id.as_str(),
            r.model.name.as_str(),
            t.track.as_str(),
            t.dimension.as_str(),
            name.as_str(),
            t.format.as_str(),
            &f2(t.stat.score),
            &f2(t.stat.ci_low),
            &f2(t.stat.ci_high),
            &t.stat.n.to_string(),
            &t.correct.to_string(),
            &t.partial.to_string(),
            &t.wrong.to_string(),
            &t.unparsed.to_string(),
            &t.errors.to_string(),
            t.recipe.as_str(),
            t.metric.as_str(),
        ])
        .expect("write to memory");
    }
    let bytes = w.into_inner().expect("flush to memory");
    String::from_utf8(bytes).expect("input was UTF-8")
}
