//! `medbench serve`, `medbench user …`, `medbench token …`.

use anyhow::{Context, Result};
use clap::{Args, Subcommand};
use comfy_table::{Table, presets::UTF8_BORDERS_ONLY};
use medbench_server::{Role, ServerConfig};
use medbench_store::SqliteBank;
use std::path::PathBuf;

#[derive(Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long)]
    pub addr: Option<String>,
    /// A TOML file of server settings (docs/server.md lists every key).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Let registered endpoints resolve to loopback or private addresses (a lab server).
    #[arg(long)]
    pub allow_private_endpoints: bool,
    /// Requests per minute per token; 0 turns the limit off.
    #[arg(long)]
    pub rate_limit: Option<u32>,
    /// Publish platform runs as soon as they are scored.
    #[arg(long)]
    pub auto_publish: bool,
    /// Logs as JSON lines (one object per request) instead of text.
    #[arg(long)]
    pub log_json: bool,
}

/// The server's settings: the config file, then flags over it; `--db` names the bank.
pub fn config(db: &str, a: &ServeArgs) -> Result<ServerConfig> {
    let mut c = match &a.config {
        Some(p) => ServerConfig::load(p)?,
        None => ServerConfig::default(),
    };
    if a.config.is_none() || db != "medbench.db" {
        c.db = db.to_owned();
    }
    if let Some(addr) = &a.addr {
        c.addr = addr.clone();
    }
    if a.allow_private_endpoints {
        c.allow_private_endpoints = true;
    }
    if let Some(r) = a.rate_limit {
        c.rate_limit_per_minute = r;
    }
    if a.auto_publish {
        c.auto_publish = true;
    }
    Ok(c)
}

pub fn serve(db: &str, a: ServeArgs) -> Result<i32> {
    let c = config(db, &a)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    rt.block_on(medbench_server::serve(c))?;
    Ok(0)
}

#[derive(Subcommand)]
pub enum UserCommand {
    /// Add a user with a role: admin, curator, reviewer, submitter or viewer.
    ///
    /// Example: medbench user add ana --role submitter
    Add {
        name: String,
        #[arg(long)]
        role: String,
    },
    /// List users.
    List,
}

#[derive(Subcommand)]
pub enum TokenCommand {
    /// Create an API token for a user; the secret is printed once and only its hash is kept.
    ///
    /// Example: medbench token create --user ana --label laptop
    Create {
        #[arg(long)]
        user: String,
        #[arg(long, default_value = "")]
        label: String,
    },
    /// List tokens (never their secrets).
    List,
    /// Revoke a token by its id.
    ///
    /// Example: medbench token revoke 3
    Revoke { id: i64 },
}

fn open(db: &str) -> Result<SqliteBank> {
    SqliteBank::open(db).with_context(|| format!("cannot open the bank at {db}"))
}

pub fn user(db: &str, cmd: UserCommand) -> Result<i32> {
    let mut bank = open(db)?;
    match cmd {
        UserCommand::Add { name, role } => {
            let role: Role = role.parse().map_err(anyhow::Error::msg)?;
            let u = medbench_server::add_user(&mut bank, &name, role)?;
            println!(
                "user {} ({}) added; give them a token: medbench token create --user {}",
                u.name, u.role, u.name
            );
        }
        UserCommand::List => {
            let mut t = Table::new();
            t.load_preset(UTF8_BORDERS_ONLY);
            t.set_header(["user", "role", "created"]);
            for u in bank.users()? {
                t.add_row([u.name, u.role, u.created_at]);
            }
            println!("{t}");
        }
    }
    Ok(0)
}

pub fn token(db: &str, cmd: TokenCommand) -> Result<i32> {
    let mut bank = open(db)?;
    match cmd {
        TokenCommand::Create { user, label } => {
            let (id, secret) = medbench_server::create_token(&mut bank, &user, &label)?;
            println!("{secret}");
            eprintln!(
                "token {id} for {user}: shown once, only its hash is stored. Use it as `Authorization: Bearer …` or on the log-in page."
            );
        }
        TokenCommand::List => {
            let mut t = Table::new();
            t.load_preset(UTF8_BORDERS_ONLY);
            t.set_header(["id", "user", "label", "created", "last used", "state"]);
            for k in bank.tokens()? {
                t.add_row([
                    k.id.to_string(),
                    k.user,
                    k.label,
                    k.created_at,
                    k.last_used_at.unwrap_or_else(|| "—".into()),
                    if k.revoked {
                        "revoked".into()
                    } else {
                        "live".to_string()
                    },
                ]);
            }
            println!("{t}");
        }
        TokenCommand::Revoke { id } => {
            if !bank.revoke_token(id)? {
                anyhow::bail!("no token {id} (see `medbench token list`)");
            }
            println!("token {id} revoked");
        }
    }
    Ok(0)
}
