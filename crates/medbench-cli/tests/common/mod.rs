//! Running the `medbench` binary as a user would, for the CLI tests.

use std::path::Path;
use std::process::{Command, Output};

/// `medbench ARGS` on the bank at `db`, with no secret or backtrace setting inherited.
pub fn medbench(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_medbench"))
        .args(args)
        .env("MEDBENCH_DB", db)
        .env_remove("RUST_BACKTRACE")
        .env_remove("MEDBENCH_SECRET")
        .output()
        .expect("the medbench binary runs")
}

/// Standard output then standard error, as one string.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
