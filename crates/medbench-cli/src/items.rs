//! `medbench items …`, `medbench tasks`, `medbench specialties`.

use crate::filters::FilterArgs;
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use medbench_core::{Item, Taxonomy};
use medbench_store::{Bank, BankStats, Count};
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Component, Path, PathBuf};

#[derive(Subcommand)]
pub enum ItemsCommand {
    /// Counts by track, dimension, task, specialty, language, format and review status.
    ///
    /// Example: medbench items stats --track llm --json
    Stats {
        #[command(flatten)]
        filter: FilterArgs,
        /// Print JSON instead of tables.
        #[arg(long)]
        json: bool,
    },
    /// List items matching filters.
    ///
    /// Example: medbench items list --tasks DemoExam --language en --limit 5
    List {
        #[command(flatten)]
        filter: FilterArgs,
        #[arg(long, default_value_t = 50)]
        limit: usize,
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// Print JSON lines.
        #[arg(long)]
        json: bool,
    },
    /// Show one item, reference answer included.
    ///
    /// Example: medbench items show DemoExam/001
    Show {
        id: String,
        /// A stored older version instead of the current one.
        #[arg(long)]
        version: Option<u32>,
        /// Print the item as native JSON.
        #[arg(long)]
        json: bool,
    },
    /// Write items as native JSONL that re-imports to the identical bank; media files go beside it.
    ///
    /// Example: medbench items export --out bank/items.jsonl --track multimodal
    Export {
        #[command(flatten)]
        filter: FilterArgs,
        /// Output file (default: standard output, without media files).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

pub fn run(db: &str, cmd: ItemsCommand) -> Result<i32> {
    let bank = medbench_store::open(db).with_context(|| format!("cannot open the bank at {db}"))?;
    match cmd {
        ItemsCommand::Stats { filter, json } => {
            let stats = bank.stats(&filter.to_filter()?)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&stats)?);
            } else {
                print_stats(&stats, &bank.location());
            }
        }
        ItemsCommand::List {
            filter,
            limit,
            offset,
            json,
        } => {
            let rows = bank.list(&filter.to_filter()?, limit, offset)?;
            if json {
                for r in &rows {
                    println!("{}", serde_json::to_string(r)?);
                }
            } else {
                let mut t = Table::new();
                t.load_preset(UTF8_BORDERS_ONLY);
                t.set_header([
                    "id",
                    "v",
                    "track",
                    "dimension",
                    "lang",
                    "format",
                    "specialties",
                    "review",
                    "blind",
                ]);
                for r in &rows {
                    t.add_row([
                        r.id.clone(),
                        r.version.to_string(),
                        r.track.clone(),
                        r.dimension.clone(),
                        r.language.clone(),
                        r.format.clone(),
                        r.specialties.join(","),
                        r.review.clone(),
                        if r.blind { "yes".into() } else { String::new() },
                    ]);
                }
                println!("{t}");
                println!(
                    "{} item(s) shown (--limit {limit} --offset {offset})",
                    rows.len()
                );
            }
        }
        ItemsCommand::Show { id, version, json } => {
            let item = match version {
                Some(v) => bank.get_version(&id, v)?,
                None => bank.get(&id)?,
            };
            let Some(item) = item else {
                bail!(
                    "no item `{id}`{} in {}",
                    version.map(|v| format!(" version {v}")).unwrap_or_default(),
                    bank.location()
                );
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&item)?);
            } else {
                print_item(&item, &bank.versions(&id)?);
            }
        }
        ItemsCommand::Export { filter, out } => export(bank.as_ref(), &filter, out.as_deref())?,
    }
    Ok(0)
}

fn count_table(title: &str, m: &BTreeMap<String, Count>, names: &dyn Fn(&str) -> String) -> Table {
    let mut t = Table::new();
    t.load_preset(UTF8_BORDERS_ONLY);
    t.set_header([title, "items", "blind"]);
    for (k, c) in m {
        t.add_row([names(k), c.items.to_string(), c.blind.to_string()]);
    }
    t
}

fn print_stats(s: &BankStats, location: &str) {
    println!(
        "{location}: {} items ({} blind), {} stored versions, {} media files\n",
        s.total.items, s.total.blind, s.versions, s.media
    );
    let taxonomy = Taxonomy::builtin();
    let plain = |k: &str| k.to_owned();
    let specialty = |k: &str| match taxonomy.get(k) {
        Some(sp) => format!("{k} {} {}", sp.zh, sp.en),
        None => k.to_owned(),
    };
    let dimension = |k: &str| match k.parse::<medbench_core::Dimension>() {
        Ok(d) => format!("{k} ({})", d.name_zh()),
        Err(_) => k.to_owned(),
    };
    for (title, map, names) in [
        ("track", &s.tracks, &plain as &dyn Fn(&str) -> String),
        ("dimension", &s.dimensions, &dimension),
        ("task", &s.tasks, &plain),
        ("specialty", &s.specialties, &specialty),
        ("language", &s.languages, &plain),
        ("format", &s.formats, &plain),
        ("review", &s.review, &plain),
    ] {
        println!("{}\n", count_table(title, map, names));
    }
}

fn print_item(item: &Item, versions: &[u32]) {
    println!(
        "{}  (version {} of {:?}, {})",
        item.id, item.version, versions, item.review
    );
    println!(
        "track {} · dimension {} · format {} · language {} · specialties {}",
        item.track,
        item.dimension,
        item.format_kind(),
        item.language,
        if item.specialties.is_empty() {
            "-".into()
        } else {
            item.specialties.join(", ")
        }
    );
    println!(
        "source {}{}",
        item.provenance.source,
        item.provenance
            .licence
            .as_deref()
            .map(|l| format!(" ({l})"))
            .unwrap_or_default()
    );
    if let Some(s) = &item.system {
        println!("\n[system]\n{s}");
    }
    for c in &item.context {
        println!("\n[context]\n{c}");
    }
    for m in &item.conversation {
        println!("\n[{}]\n{}", m.role, m.content);
    }
    println!("\n[question]\n{}", item.question);
    if let Some(opts) = item.format.options() {
        for o in opts {
            println!("  {}. {}", o.label, o.text);
        }
    }
    for m in &item.media {
        println!(
            "[media] {} {} sha256:{}",
            m.name,
            m.media_type,
            &m.sha256[..12]
        );
    }
    match &item.reference {
        Some(r) => println!(
            "\n[reference]\n{}",
            serde_json::to_string_pretty(r).unwrap_or_default()
        ),
        None => println!("\n[reference] none: this item is blind"),
    }
}

fn safe_join(dir: &Path, name: &str) -> Result<PathBuf> {
    let rel = Path::new(name);
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        bail!("media name `{name}` is not a plain relative path; refusing to write it");
    }
    Ok(dir.join(rel))
}

fn export(bank: &dyn Bank, filter: &FilterArgs, out: Option<&Path>) -> Result<()> {
    let filter = filter.to_filter()?;
    let mut writer: Box<dyn Write> = match out {
        Some(p) => {
            if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create {}", dir.display()))?;
            }
            Box::new(std::io::BufWriter::new(
                std::fs::File::create(p)
                    .with_context(|| format!("cannot create {}", p.display()))?,
            ))
        }
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let media_dir = out.map(|p| p.parent().unwrap_or(Path::new(".")).to_path_buf());
    let (mut n, mut media_written, mut media_skipped) = (0u64, 0u64, 0u64);
    bank.for_each(&filter, &mut |item| {
        let line = serde_json::to_string(&item).expect("items serialise");
        let io = |e: std::io::Error| {
            medbench_store::StoreError::Unsupported(format!("write failed: {e}"))
        };
        writeln!(writer, "{line}").map_err(io)?;
        for m in &item.media {
            match &media_dir {
                Some(dir) => {
                    let path = safe_join(dir, &m.name)
                        .map_err(|e| medbench_store::StoreError::Unsupported(e.to_string()))?;
                    if !path.exists() {
                        let (_, bytes) = bank.media(&m.sha256)?.ok_or_else(|| {
                            medbench_store::StoreError::Unsupported(format!(
                                "media {} of {} is missing from the bank",
                                m.sha256, item.id
                            ))
                        })?;
                        if let Some(parent) = path.parent() {
                            std::fs::create_dir_all(parent).map_err(io)?;
                        }
                        std::fs::write(&path, bytes).map_err(io)?;
                        media_written += 1;
                    }
                }
                None => media_skipped += 1,
            }
        }
        n += 1;
        Ok(())
    })?;
    writer.flush()?;
    eprintln!(
        "exported {n} item(s){}{}",
        out.map(|p| format!(" to {}", p.display()))
            .unwrap_or_default(),
        if media_written > 0 {
            format!(", {media_written} media file(s) written beside it")
        } else {
            String::new()
        }
    );
    if media_skipped > 0 {
        eprintln!(
            "note: {media_skipped} media reference(s) not written; use --out FILE to write media files beside the export"
        );
    }
    Ok(())
}

#[derive(Args)]
pub struct SpecialtiesArgs {
    #[arg(long)]
    json: bool,
}

pub fn specialties(args: SpecialtiesArgs) -> Result<i32> {
    let tax = Taxonomy::builtin();
    if args.json {
        let rows: Vec<_> = tax
            .all()
            .iter()
            .map(|s| serde_json::json!({"code": s.code, "zh": s.zh, "en": s.en}))
            .collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(0);
    }
    for s in tax.all() {
        let indent = if s.is_primary() { "" } else { "    " };
        println!("{indent}{:<6} {} · {}", s.code, s.zh, s.en);
    }
    Ok(0)
}
