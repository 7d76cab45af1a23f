//! Helpers for the import tests.
#![allow(dead_code)]

use medbench_import::{ImportOptions, ImportReport, Input, InputFormat, import};
use medbench_store::{Bank, SqliteBank};
use std::path::{Path, PathBuf};

/// `../shared/data` beside the repository (or `$MEDBENCH_SHARED_DATA`, for a
/// checkout elsewhere, such as a git worktree), or `None` (with a message) when absent.
pub fn shared_data() -> Option<PathBuf> {
    let p = match std::env::var_os("MEDBENCH_SHARED_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    };
    if p.is_dir() {
        Some(p.canonicalize().unwrap())
    } else {
        eprintln!(
            "SKIPPED: {} is absent (a fresh clone has no shared data; set MEDBENCH_SHARED_DATA to point elsewhere); this test needs the real samples",
            p.display()
        );
        None
    }
}

pub fn bank() -> SqliteBank {
    SqliteBank::open(":memory:").unwrap()
}

pub fn run(
    bank: &mut SqliteBank,
    paths: &[&Path],
    format: Option<InputFormat>,
    skip_invalid: bool,
) -> ImportReport {
    let opts = ImportOptions {
        format,
        skip_invalid,
        ..Default::default()
    };
    let inputs = paths.iter().map(|p| Input::Path(p.to_path_buf())).collect();
    import(bank as &mut dyn Bank, inputs, opts, &mut |_| {}).unwrap()
}

pub fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&p, bytes).unwrap();
    p
}
