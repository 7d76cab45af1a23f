//! Leaderboards: who may see which run, and ranking with tie groups.

use crate::auth::{Cap, Principal};
use crate::error::AppError;
use crate::state::AppState;
use medbench_report::Stat;
use medbench_stats::{Interval, tie_groups};
use medbench_store::{RunIndexRow, SqliteBank};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// Whether `p` may see `run`: published runs, one's own, or everything with `ReadAllRuns`.
pub fn visible(run: &RunIndexRow, p: &Principal) -> bool {
    run.published || run.owner_id == Some(p.user_id) || p.can(Cap::ReadAllRuns)
}

/// Which board.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct BoardQuery {
    /// Round id, name or id prefix; `all` for every run; default the newest round with results.
    pub round: Option<String>,
    /// A track key (`llm`, `multimodal`, `agent`): rank by that track's score.
    pub track: Option<String>,
    /// A dimension key: rank by that dimension's score (wins over `track`).
    pub dimension: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BoardRow {
    pub rank: usize,
    /// Statistically tied models share a group (0 is the top group).
    pub group: usize,
    pub model: String,
    pub run_id: String,
    pub owner: Option<String>,
    pub source: String,
    pub published: bool,
    pub score: f64,
    pub ci_low: f64,
    pub ci_high: f64,
    pub n: usize,
    pub finished_at: Option<String>,
    /// Some task in the ranked scope was scored with a stand-in for its judged metric
    /// (no judge): the score is not the official metric, and the page says so.
    pub provisional: bool,
    /// Those tasks, by name.
    pub stand_in_tasks: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Board {
    /// The round ranked, or `all`.
    pub round: String,
    pub round_name: Option<String>,
    /// `overall`, `track:KEY` or `dimension:KEY`.
    pub scope: String,
    pub rows: Vec<BoardRow>,
    /// Rows whose score is provisional (a stand-in for some judged task's metric).
    pub provisional_rows: usize,
    /// Rounds with results this caller may see, newest first: (id, name).
    pub rounds: Vec<(String, String)>,
    pub tracks: Vec<String>,
    pub dimensions: Vec<String>,
    pub tie_rule: &'static str,
}

const TIE_RULE: &str = "Models share a group when their 95% bootstrap interval overlaps the interval of the group's leader.";

/// The run's tasks under the ranked scope whose score is a stand-in for a judged metric.
fn stand_ins(r: &medbench_report::Results, q: &BoardQuery) -> Vec<String> {
    r.stand_in_tasks()
        .into_iter()
        .filter(|name| {
            let t = &r.tasks[*name];
            match (&q.dimension, &q.track) {
                (Some(d), _) => &t.dimension == d,
                (None, Some(k)) => &t.track == k,
                _ => true,
            }
        })
        .map(str::to_owned)
        .collect()
}

fn pick(r: &medbench_report::Results, q: &BoardQuery) -> Option<Stat> {
    if let Some(d) = &q.dimension {
        return r.dimensions.get(d).map(|x| x.stat.clone());
    }
    if let Some(t) = &q.track {
        return r.tracks.get(t).map(|x| x.stat.clone());
    }
    // A run with nothing scored (every item blind) has no place on a board.
    (r.overall.n > 0).then(|| r.overall.clone())
}

/// Build the board `q` as `p` may see it.
pub fn build(
    state: &AppState,
    bank: &mut SqliteBank,
    p: &Principal,
    q: &BoardQuery,
) -> Result<Board, AppError> {
    let index: Vec<RunIndexRow> = bank
        .run_index()?
        .into_iter()
        .filter(|r| r.status == "finished" && r.finished_at.is_some() && visible(r, p))
        .collect();
    let all_rounds = bank.rounds()?;
    let with_results: BTreeSet<&str> = index.iter().filter_map(|r| r.round.as_deref()).collect();
    let mut rounds: Vec<(String, String, i64)> = all_rounds
        .iter()
        .filter(|r| with_results.contains(r.id.as_str()))
        .map(|r| (r.id.clone(), r.name.clone(), r.seq))
        .collect();
    rounds.sort_by_key(|r| std::cmp::Reverse(r.2));
    let (round, round_name) = match q.round.as_deref().map(str::trim) {
        Some("all") => ("all".to_owned(), None),
        Some(x) if !x.is_empty() => {
            let found: Vec<_> = all_rounds
                .iter()
                .filter(|r| r.id == x || r.name == x || r.id.starts_with(x))
                .collect();
            match found.as_slice() {
                [r] => (r.id.clone(), Some(r.name.clone())),
                [] => return Err(AppError::not_found(format!("no round `{x}`"))),
                _ => {
                    return Err(AppError::bad_request(format!(
                        "`{x}` matches several rounds"
                    )));
                }
            }
        }
        _ => match rounds.first() {
            Some((id, name, _)) => (id.clone(), Some(name.clone())),
            None => ("all".to_owned(), None),
        },
    };
    let scope = match (&q.dimension, &q.track) {
        (Some(d), _) => format!("dimension:{d}"),
        (None, Some(t)) => format!("track:{t}"),
        _ => "overall".to_owned(),
    };
    let mut rows = Vec::new();
    let (mut tracks, mut dims) = (BTreeSet::new(), BTreeSet::new());
    for r in &index {
        if round != "all" && r.round.as_deref() != Some(round.as_str()) {
            continue;
        }
        let fin = r.finished_at.clone().unwrap_or_default();
        let Some(c) = state.cached_run(&r.id, &fin, || {
            bank.run(&r.id).ok().flatten().and_then(|x| x.results)
        }) else {
            continue;
        };
        tracks.extend(c.results.tracks.keys().cloned());
        dims.extend(c.results.dimensions.keys().cloned());
        let Some(stat) = pick(&c.results, q) else {
            continue;
        };
        let stand_in_tasks = stand_ins(&c.results, q);
        rows.push(BoardRow {
            rank: 0,
            group: 0,
            model: r.model.clone(),
            run_id: r.id.clone(),
            owner: r.owner.clone(),
            source: r.source.clone().unwrap_or_else(|| "cli".into()),
            published: r.published,
            score: stat.score,
            ci_low: stat.ci_low,
            ci_high: stat.ci_high,
            n: stat.n,
            finished_at: r.finished_at.clone(),
            provisional: !stand_in_tasks.is_empty(),
            stand_in_tasks,
        });
    }
    let groups = tie_groups(
        &rows
            .iter()
            .map(|r| (r.score, Interval::new(r.ci_low, r.ci_high)))
            .collect::<Vec<_>>(),
    );
    for (r, g) in rows.iter_mut().zip(groups) {
        r.group = g;
    }
    rows.sort_by(|a, b| {
        a.group
            .cmp(&b.group)
            .then(
                b.score
                    .partial_cmp(&a.score)
                    .unwrap_or(std::cmp::Ordering::Equal),
            )
            .then(a.run_id.cmp(&b.run_id))
    });
    for (i, r) in rows.iter_mut().enumerate() {
        r.rank = i + 1;
    }
    Ok(Board {
        round,
        round_name,
        scope,
        provisional_rows: rows.iter().filter(|r| r.provisional).count(),
        rows,
        rounds: rounds.into_iter().map(|(i, n, _)| (i, n)).collect(),
        tracks: tracks.into_iter().collect(),
        dimensions: dims.into_iter().collect(),
        tie_rule: TIE_RULE,
    })
}
