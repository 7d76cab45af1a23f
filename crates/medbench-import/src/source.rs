//! Where records come from: a file, every data file under a directory, or
//! the entries of a zip; and where their media files are found.

use crate::reject::Reject;
use std::fs::File;
use std::io::Read;
use std::path::{Component, Path, PathBuf};
use zip::ZipArchive;

/// File extensions that hold records. Anything else in a directory or zip
/// (images, PDFs, READMEs) is not read as data.
pub const DATA_EXTENSIONS: [&str; 3] = ["jsonl", "json", "csv"];

/// Resolves the relative media paths a record names.
pub enum MediaRoot {
    Dir(PathBuf),
    /// Media compiled into the binary (the demo bank), looked up by name.
    Embedded(fn(&str) -> Option<&'static [u8]>),
    Zip {
        archive: Box<ZipArchive<File>>,
        prefix: String,
        zip_display: String,
    },
}

impl MediaRoot {
    /// Like [`MediaRoot::read`], but `Ok(None)` when there is no such file (any other
    /// problem, such as an unreadable file, is still an error).
    pub fn read_optional(&mut self, rel: &str) -> Result<Option<Vec<u8>>, String> {
        let absent = match self {
            MediaRoot::Dir(dir) => !dir.join(rel).exists(),
            MediaRoot::Embedded(lookup) => lookup(rel).is_none(),
            MediaRoot::Zip {
                archive, prefix, ..
            } => archive.index_for_name(&format!("{prefix}{rel}")).is_none(),
        };
        if absent {
            Ok(None)
        } else {
            self.read(rel).map(Some)
        }
    }

    /// Read a media file named relative to the data file. Returns the bytes,
    /// or a message saying where it was looked for.
    pub fn read(&mut self, rel: &str) -> Result<Vec<u8>, String> {
        let rel_path = Path::new(rel);
        if rel_path.is_absolute()
            || rel_path.components().any(|c| {
                matches!(
                    c,
                    Component::ParentDir | Component::Prefix(_) | Component::RootDir
                )
            })
        {
            return Err(format!(
                "`{rel}` must be a relative path inside the import, without `..`"
            ));
        }
        match self {
            MediaRoot::Dir(dir) => {
                let p = dir.join(rel_path);
                std::fs::read(&p).map_err(|e| format!("cannot read {}: {e}", p.display()))
            }
            MediaRoot::Embedded(lookup) => lookup(rel)
                .map(<[u8]>::to_vec)
                .ok_or_else(|| format!("no embedded media named `{rel}`")),
            MediaRoot::Zip {
                archive,
                prefix,
                zip_display,
            } => {
                let name = format!("{prefix}{rel}");
                let mut entry = archive
                    .by_name(&name)
                    .map_err(|_| format!("{zip_display} has no entry `{name}`"))?;
                let mut bytes = Vec::with_capacity(entry.size() as usize);
                entry
                    .read_to_end(&mut bytes)
                    .map_err(|e| format!("cannot read `{name}` from {zip_display}: {e}"))?;
                Ok(bytes)
            }
        }
    }
}

/// One data file to read.
pub struct SourceFile<'a> {
    /// How the file is named in messages: a path, or `archive.zip!dir/file.jsonl`.
    pub display: String,
    /// The file name without directories.
    pub name: String,
    pub reader: Box<dyn Read + 'a>,
    pub media: MediaRoot,
}

impl SourceFile<'_> {
    /// The file name without its extension.
    pub fn stem(&self) -> &str {
        self.name
            .rsplit_once('.')
            .map(|(s, _)| s)
            .unwrap_or(&self.name)
    }
    pub fn extension(&self) -> String {
        self.name
            .rsplit_once('.')
            .map(|(_, e)| e.to_ascii_lowercase())
            .unwrap_or_default()
    }
}

fn extension(p: &Path) -> String {
    p.extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase()
}

/// Call `f` for every data file under `path` (a file, a directory or a zip),
/// in a stable order. Problems opening things are passed to `reject`.
pub fn visit(path: &Path, f: &mut dyn FnMut(SourceFile<'_>), reject: &mut dyn FnMut(Reject)) {
    let display = path.display().to_string();
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) => return reject(Reject::file(&display, format!("cannot open: {e}"))),
    };
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = match walk(path) {
            Ok(v) => v,
            Err(e) => {
                return reject(Reject::file(
                    &display,
                    format!("cannot list directory: {e}"),
                ));
            }
        };
        entries.sort();
        for p in entries {
            let ext = extension(&p);
            if ext == "zip" || DATA_EXTENSIONS.contains(&ext.as_str()) {
                visit(&p, f, reject);
            }
        }
        return;
    }
    if extension(path) == "zip" {
        return visit_zip(path, f, reject);
    }
    match File::open(path) {
        Ok(file) => f(SourceFile {
            display,
            name: path
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("")
                .to_owned(),
            reader: Box::new(file),
            media: MediaRoot::Dir(path.parent().map(Path::to_path_buf).unwrap_or_default()),
        }),
        Err(e) => reject(Reject::file(&display, format!("cannot open: {e}"))),
    }
}

fn walk(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let p = entry.path();
        if entry.file_type()?.is_dir() {
            out.extend(walk(&p)?);
        } else {
            out.push(p);
        }
    }
    Ok(out)
}

fn open_zip(path: &Path) -> Result<ZipArchive<File>, String> {
    let file = File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    ZipArchive::new(file).map_err(|e| format!("not a readable zip archive: {e}"))
}

fn visit_zip(path: &Path, f: &mut dyn FnMut(SourceFile<'_>), reject: &mut dyn FnMut(Reject)) {
    let display = path.display().to_string();
    let mut archive = match open_zip(path) {
        Ok(a) => a,
        Err(m) => return reject(Reject::file(&display, m)),
    };
    let mut names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|c| c.into_owned()))
        .filter(|n| !n.ends_with('/') && !n.starts_with("__MACOSX/"))
        .filter(|n| {
            let ext = n
                .rsplit_once('.')
                .map(|(_, e)| e.to_ascii_lowercase())
                .unwrap_or_default();
            DATA_EXTENSIONS.contains(&ext.as_str())
        })
        .collect();
    names.sort();
    for name in names {
        // A second handle resolves media while the first streams the entry.
        let media_archive = match open_zip(path) {
            Ok(a) => a,
            Err(m) => return reject(Reject::file(&display, m)),
        };
        let entry = match archive.by_name(&name) {
            Ok(e) => e,
            Err(e) => {
                reject(Reject::file(
                    &format!("{display}!{name}"),
                    format!("cannot read entry: {e}"),
                ));
                continue;
            }
        };
        let prefix = name
            .rsplit_once('/')
            .map(|(d, _)| format!("{d}/"))
            .unwrap_or_default();
        f(SourceFile {
            display: format!("{display}!{name}"),
            name: name.rsplit('/').next().unwrap_or(&name).to_owned(),
            reader: Box::new(entry),
            media: MediaRoot::Zip {
                archive: Box::new(media_archive),
                prefix,
                zip_display: display.clone(),
            },
        });
    }
}

/// Guess a media type from a file name.
pub fn media_type_for(name: &str) -> Option<&'static str> {
    let ext = name.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    match ext.as_str() {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "pdf" => Some("application/pdf"),
        _ => None,
    }
}

/// Read all of a reader into a string, with the encoding checks of [`crate::lines`].
pub fn read_text(reader: &mut dyn Read, display: &str) -> Result<String, Reject> {
    let mut bytes = Vec::new();
    reader
        .read_to_end(&mut bytes)
        .map_err(|e| Reject::file(display, format!("read error: {e}")))?;
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Reject::file(
            display,
            "the file is UTF-16; save it as UTF-8",
        ));
    }
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(&bytes);
    match std::str::from_utf8(body) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => {
            let line = body[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count()
                + 1;
            Err(Reject::at(
                display,
                line,
                None,
                format!("not valid UTF-8; {}", crate::lines::ENCODING_HINT),
            ))
        }
    }
}
