//! `medbench tasks`: the task catalogue with each task's scoring recipe.

use anyhow::Result;
use clap::Args;
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use medbench_core::{Catalog, Track};

#[derive(Args)]
pub struct TasksArgs {
    /// Only this track (`llm`, `multimodal`, `agent`).
    #[arg(long)]
    track: Option<String>,
    /// One JSON object per task instead of a table.
    #[arg(long)]
    json: bool,
}

pub fn tasks(args: TasksArgs) -> Result<i32> {
    let catalog = Catalog::builtin();
    let track = args
        .track
        .as_deref()
        .map(str::parse::<Track>)
        .transpose()
        .map_err(anyhow::Error::msg)?;
    let chosen: Vec<_> = catalog
        .tasks()
        .iter()
        .filter(|t| track.is_none_or(|tr| t.track == tr))
        .collect();
    if args.json {
        let rows: Vec<_> = chosen
            .iter()
            .map(|t| {
                serde_json::json!({
                    "name": t.name, "zh": t.zh, "track": t.track, "dimension": t.dimension,
                    "format": t.format, "recipe": t.recipe.components,
                    "recipe_basis": t.recipe.basis, "needs_judge": t.recipe.needs_judge(),
                    "aliases": t.aliases,
                })
            })
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    let mut table = Table::new();
    table.load_preset(UTF8_BORDERS_ONLY);
    table.set_header([
        "task",
        "名称",
        "track",
        "dimension",
        "format",
        "recipe",
        "basis",
        "aliases",
    ]);
    for t in &chosen {
        table.add_row([
            t.name.clone(),
            t.zh.clone().unwrap_or_default(),
            t.track.to_string(),
            t.dimension.to_string(),
            t.format.to_string(),
            t.recipe.display(),
            t.recipe.basis.to_string(),
            t.aliases.join(", "),
        ]);
    }
    println!("{table}");
    println!(
        "{} task(s). A task's score is the unweighted mean of its recipe's components; basis `official` is the platform's published metric, `ours` our choice where none is published. Tasks outside the catalogue are scored by their format's default (docs/scoring.md).",
        chosen.len()
    );
    Ok(0)
}
