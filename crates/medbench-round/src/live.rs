//! `medbench eval --round`: ask a live endpoint exactly a round's instances
//! (permuted options, opaque ids), then score them like a submission.

use crate::instance::instance_item;
use crate::submit::{Submitted, load_round, score_answers, selection, stored_answers};
use crate::{Result, RoundError};
use medbench_core::{Item, item::sha256_hex};
use medbench_eval::medbench_judge::JudgeProgress;
use medbench_eval::pipeline::{AskContext, ask};
use medbench_eval::render::Renderer;
use medbench_eval::{Answerer, AskProgress, EvalOptions, ModelSpec, endpoint_name};
use medbench_store::SqliteBank;
use serde_json::json;
use std::collections::{HashMap, HashSet};

fn eval_err(e: impl std::fmt::Display) -> RoundError {
    RoundError::Eval(format!("{e:#}"))
}

/// Evaluate a model on a round through its endpoint. Resumable like `eval`:
/// the run id hashes the round, model, endpoint, sampling, seed and templates.
/// Few-shot examples are not used (they would come from the bank, with answers).
/// Open-ended answers are judged by `opts.judges` when there are any (the judges are not
/// part of the run id: the same command with other judges rescores the stored answers).
pub fn evaluate_round(
    db: &str,
    model: &ModelSpec,
    round: &str,
    opts: &EvalOptions,
    progress: &mut dyn FnMut(AskProgress),
    judge_progress: &mut dyn FnMut(JudgeProgress),
) -> Result<Submitted> {
    if db == ":memory:" {
        return Err(RoundError::Invalid(
            "evaluation needs a bank in a file".into(),
        ));
    }
    let mut bank = SqliteBank::open(db)?;
    let (round, instances, items) = load_round(&bank, round)?;
    let mut asked: HashMap<String, Item> = HashMap::new();
    for i in &instances {
        asked.insert(i.instance_id.clone(), instance_item(&items[&i.item_id], i)?);
    }
    let renderer =
        Renderer::new(opts.templates.as_deref(), opts.system_prompt.clone()).map_err(eval_err)?;
    let answerer = Answerer::from_spec(model, opts.seed).map_err(eval_err)?;
    let endpoint = endpoint_name(model);
    let sampling = model.sampling(opts.seed);
    let spec = json!({
        "model": model.name, "endpoint": endpoint, "sampling": sampling, "seed": opts.seed,
        "round": round.id, "system_prompt": opts.system_prompt, "templates": renderer.versions(),
    });
    let run_id = format!("run-{}", &sha256_hex(spec.to_string().as_bytes())[..12]);
    let started = medbench_eval::now();
    let (run, _) = bank.open_run(
        &run_id,
        &model.name,
        &spec.to_string(),
        &started,
        &selection(&instances),
    )?;
    let answered: HashSet<String> = bank.answered_items(&run_id)?;
    let todo: Vec<(String, u32)> = instances
        .iter()
        .filter(|i| !answered.contains(&i.instance_id))
        .map(|i| (i.instance_id.clone(), 0))
        .collect();
    let loader = |_: &SqliteBank, id: &str, _: u32| -> anyhow::Result<Item> {
        asked
            .get(id)
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("instance {id} is not in the round"))
    };
    let ctx = AskContext {
        db,
        run_id: &run_id,
        model: &model.name,
        endpoint: &endpoint,
        sampling,
        renderer: &renderer,
        answerer: &answerer,
        no_cache: opts.no_cache,
        few_shot: 0,
        loader: Some(&loader),
        answered: &answered,
    };
    ask(&ctx, &todo, progress).map_err(eval_err)?;
    let (answers, answered) = stored_answers(&bank, &run_id)?;
    let (mut res, permutation) = score_answers(
        &mut bank,
        &round,
        &instances,
        &items,
        &run_id,
        &answers,
        opts.seed,
        &opts.judges,
        judge_progress,
    )?;
    res.model = medbench_report::ModelInfo {
        name: model.name.clone(),
        provider: serde_json::to_value(model.provider)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default(),
        base_url: model.base_url.clone(),
    };
    res.started_at = run.started_at;
    let finished = medbench_eval::now();
    res.finished_at = Some(finished.clone());
    if let Some(m) = res.manifest.as_object_mut() {
        m.insert("endpoint".into(), json!(endpoint));
        m.insert("sampling".into(), json!(sampling));
        m.insert("seed".into(), json!(opts.seed));
        m.insert("templates".into(), json!(renderer.versions()));
        m.insert(
            "model".into(),
            json!({"name": model.name, "base_url": model.base_url}),
        );
    }
    bank.finish_run(
        &run_id,
        &finished,
        &res.manifest.to_string(),
        &medbench_report::to_json(&res),
    )?;
    Ok(Submitted {
        run_id,
        round_id: round.id,
        results: res,
        issues: vec![],
        instances: instances.len(),
        answered,
        permutation,
    })
}
