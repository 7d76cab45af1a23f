//! Drawing a round: per task, stratified over (specialty, difficulty), least
//! exposed first, with rest and retire rules; then instances and storage.

use crate::instance::build_instances;
use crate::{Result, RoundError, canary, mix, server_secret};
use medbench_core::{Catalog, Track, item::sha256_hex};
use medbench_store::{Bank, Candidate, Exposure, RoundRow, SqliteBank};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What to draw.
#[derive(Debug, Clone, Serialize)]
pub struct DrawParams {
    /// Items per task (fewer when the pool is smaller).
    pub per_task: usize,
    /// Option permutations per choice item (instances per item); other formats get one.
    pub permutations: u32,
    pub seed: u64,
    /// Tasks to draw from (empty: every task with drawable items).
    pub tasks: Vec<String>,
    /// Tracks to draw from (empty: all).
    pub tracks: Vec<Track>,
    /// A name for the round (default: its id).
    pub name: Option<String>,
    /// Items drawn in this many rounds already are retired (never drawn again).
    pub max_exposures: Option<u32>,
    /// Items drawn in any of the last `rest_rounds` rounds rest (are not drawn).
    pub rest_rounds: u32,
}

impl Default for DrawParams {
    fn default() -> Self {
        DrawParams {
            per_task: 30,
            permutations: 1,
            seed: 1,
            tasks: vec![],
            tracks: vec![],
            name: None,
            max_exposures: None,
            rest_rounds: 0,
        }
    }
}

/// How one task's draw went.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct TaskDraw {
    /// Items drawn.
    pub drawn: usize,
    /// Instances made from them.
    pub instances: usize,
    /// Approved items with a reference in the task.
    pub pool: usize,
    /// Left out because they rest.
    pub resting: usize,
    /// Left out because they reached `max_exposures`.
    pub retired: usize,
}

/// A drawn and stored round.
#[derive(Debug, Clone, Serialize)]
pub struct Drawn {
    pub round: RoundRow,
    pub tasks: BTreeMap<String, TaskDraw>,
    pub items: usize,
    pub instances: usize,
}

/// The v4 `other.source` label of a task: its `…_V4` alias, else `<Task>_V4`.
pub fn source_label(catalog: &Catalog, task: &str) -> String {
    catalog
        .lookup(task)
        .and_then(|t| t.aliases.iter().find(|a| a.ends_with("_V4")).cloned())
        .unwrap_or_else(|| format!("{task}_V4"))
}

/// Order the drawable items of one task and keep the first `n`.
///
/// Key: exposure count (least exposed first); then the item's rank inside its
/// (specialty, difficulty) stratum among items with the same exposure, so the
/// strata are visited round-robin; then a seeded order of the strata; then a
/// seeded order of the items.
fn pick<'a>(
    cands: &[&'a Candidate],
    exp: &HashMap<String, Exposure>,
    seed: u64,
    task: &str,
    n: usize,
) -> Vec<&'a Candidate> {
    struct K<'a> {
        c: &'a Candidate,
        exposure: u32,
        stratum: u64,
        h: u64,
        rank: u32,
    }
    // One stratum hash per (specialty, difficulty), not one string per candidate.
    let mut strata: HashMap<(&str, u8), u64> = HashMap::new();
    let mut ks: Vec<K<'a>> = cands
        .iter()
        .map(|c| {
            let primary = c
                .specialty
                .as_deref()
                .map(|s| s.split('.').next().unwrap_or(s))
                .unwrap_or("");
            let d = c.difficulty.unwrap_or(0);
            let stratum = *strata
                .entry((primary, d))
                .or_insert_with(|| mix(seed, &format!("{task}\u{1f}{primary}\u{1f}{d}")));
            K {
                c,
                exposure: exp.get(&c.id).map(|e| e.rounds).unwrap_or(0),
                stratum,
                h: mix(seed, &c.id),
                rank: 0,
            }
        })
        .collect();
    ks.sort_unstable_by(|a, b| {
        (a.stratum, a.exposure, a.h, &a.c.id).cmp(&(b.stratum, b.exposure, b.h, &b.c.id))
    });
    let mut prev: Option<(u64, u32)> = None;
    let mut rank = 0;
    for k in &mut ks {
        if prev != Some((k.stratum, k.exposure)) {
            rank = 0;
            prev = Some((k.stratum, k.exposure));
        }
        k.rank = rank;
        rank += 1;
    }
    let key = |k: &K<'_>| (k.exposure, k.rank, k.stratum, k.h);
    if ks.len() > n {
        ks.select_nth_unstable_by(n, |a, b| {
            key(a).cmp(&key(b)).then_with(|| a.c.id.cmp(&b.c.id))
        });
        ks.truncate(n);
    }
    let mut out: Vec<&Candidate> = ks.into_iter().map(|k| k.c).collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

/// Draw a round, store it with its instances, and count the exposures.
pub fn draw(bank: &mut SqliteBank, p: &DrawParams, catalog: &Catalog) -> Result<Drawn> {
    if p.per_task == 0 {
        return Err(RoundError::Invalid("--per-task must be at least 1".into()));
    }
    if !(1..=26).contains(&p.permutations) {
        return Err(RoundError::Invalid(
            "--permutations must be between 1 and 26".into(),
        ));
    }
    let secret = server_secret(bank)?;
    let cands = bank.draw_candidates(&p.tasks, &p.tracks)?;
    let mut by_task: BTreeMap<&str, Vec<&Candidate>> = BTreeMap::new();
    for c in &cands {
        by_task.entry(c.task.as_str()).or_default().push(c);
    }
    for t in &p.tasks {
        if !by_task.contains_key(t.as_str()) {
            return Err(RoundError::Invalid(format!(
                "task `{t}` has no approved items with a reference answer to draw (see `medbench items stats`)"
            )));
        }
    }
    if by_task.is_empty() {
        return Err(RoundError::Invalid(
            "no approved items with a reference answer match; nothing to draw".into(),
        ));
    }
    let exposures = bank.exposures()?;
    let seq = bank.next_round_seq()?;
    let mut tasks = BTreeMap::new();
    let mut chosen: Vec<&Candidate> = Vec::new();
    for (task, cs) in &by_task {
        let mut st = TaskDraw {
            pool: cs.len(),
            ..Default::default()
        };
        let open: Vec<&Candidate> = cs
            .iter()
            .copied()
            .filter(|c| {
                let e = exposures.get(&c.id).copied().unwrap_or_default();
                if p.max_exposures.is_some_and(|m| e.rounds >= m) {
                    st.retired += 1;
                    false
                } else if e.rounds > 0
                    && p.rest_rounds > 0
                    && e.last_seq > seq - 1 - p.rest_rounds as i64
                {
                    st.resting += 1;
                    false
                } else {
                    true
                }
            })
            .collect();
        let picked = pick(&open, &exposures, p.seed, task, p.per_task);
        st.drawn = picked.len();
        chosen.extend(picked);
        tasks.insert(task.to_string(), st);
    }
    if chosen.is_empty() {
        return Err(RoundError::Invalid(
            "every item of the selection rests or is retired; nothing to draw (lower --rest-rounds or raise --max-exposures)".into(),
        ));
    }
    let params = serde_json::to_string(p).map_err(|e| RoundError::Corrupt(e.to_string()))?;
    let mut fp = format!("{params}\u{1e}{seq}");
    for c in &chosen {
        fp.push_str(&format!("\u{1e}{}@{}", c.id, c.version));
    }
    let round_id = format!("round-{}", &sha256_hex(fp.as_bytes())[..12]);
    let mut instances = Vec::new();
    for c in &chosen {
        let item = bank
            .get_version(&c.id, c.version)?
            .ok_or_else(|| RoundError::Corrupt(format!("item {} v{} vanished", c.id, c.version)))?;
        let rows = build_instances(
            &secret,
            &round_id,
            &item,
            p.permutations,
            p.seed,
            &source_label(catalog, &c.task),
        )?;
        if let Some(t) = tasks.get_mut(&c.task) {
            t.instances += rows.len();
        }
        instances.extend(rows);
    }
    let round = RoundRow {
        id: round_id.clone(),
        seq,
        name: p.name.clone().unwrap_or_else(|| round_id.clone()),
        seed: p.seed,
        params,
        canary: canary(&secret, &round_id),
        created_at: medbench_eval::now(),
    };
    bank.put_round(&round, &instances)?;
    Ok(Drawn {
        round,
        tasks,
        items: chosen.len(),
        instances: instances.len(),
    })
}
