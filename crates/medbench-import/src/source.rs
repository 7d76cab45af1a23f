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
    /// Read a media file the way the official MedBench v4 downloads place them: beside
    /// the data file (`<folder>/<rel>`), or else in an `images` folder next to the data
    /// file's folder (`<folder>/../images/<rel>`, the multimodal download's
    /// `MedBench_VLM/images/` beside `MedBench_VLM/MedBench_VLM_QA/`). The error names
    /// every place looked at.
    pub fn read_official(&mut self, rel: &str) -> Result<Vec<u8>, String> {
        check_relative(rel)?;
        match self {
            MediaRoot::Dir(dir) => {
                let first = dir.join(rel);
                let second = dir.join("..").join("images").join(rel);
                match std::fs::read(&first) {
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    other => {
                        return other.map_err(|e| format!("cannot read {}: {e}", first.display()));
                    }
                }
                std::fs::read(&second).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        format!(
                            "`{rel}` is not there: looked for {} and {}",
                            first.display(),
                            second.display()
                        )
                    } else {
                        format!("cannot read {}: {e}", second.display())
                    }
                })
            }
            MediaRoot::Embedded(_) => self.read(rel),
            MediaRoot::Zip {
                archive,
                prefix,
                zip_display,
            } => {
                let first = format!("{prefix}{rel}");
                // `images/` in the folder above the data file's folder, inside the zip.
                let second = (!prefix.is_empty()).then(|| {
                    let above = prefix
                        .trim_end_matches('/')
                        .rsplit_once('/')
                        .map(|(d, _)| format!("{d}/"))
                        .unwrap_or_default();
                    format!("{above}images/{rel}")
                });
                let name = match second {
                    _ if archive.index_for_name(&first).is_some() => first,
                    Some(s) if archive.index_for_name(&s).is_some() => s,
                    Some(s) => {
                        return Err(format!("{zip_display} has no entry `{first}` nor `{s}`"));
                    }
                    None => return Err(format!("{zip_display} has no entry `{first}`")),
                };
                read_entry(archive, &name, zip_display)
            }
        }
    }

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
        check_relative(rel)?;
        let rel_path = Path::new(rel);
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
                if archive.index_for_name(&name).is_none() {
                    return Err(format!("{zip_display} has no entry `{name}`"));
                }
                read_entry(archive, &name, zip_display)
            }
        }
    }
}

/// Refuse absolute paths and `..` in a media path a record names.
fn check_relative(rel: &str) -> Result<(), String> {
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
    Ok(())
}

fn read_entry(
    archive: &mut ZipArchive<File>,
    name: &str,
    zip_display: &str,
) -> Result<Vec<u8>, String> {
    let mut entry = archive
        .by_name(name)
        .map_err(|e| format!("cannot read `{name}` from {zip_display}: {e}"))?;
    let mut bytes = Vec::with_capacity(entry.size() as usize);
    entry
        .read_to_end(&mut bytes)
        .map_err(|e| format!("cannot read `{name}` from {zip_display}: {e}"))?;
    Ok(bytes)
}

/// The raw lines of a data file as its reader kept them (see [`Origin::kept`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeptFile {
    /// `"\n"` or `"\r\n"` (see [`medbench_store::SourceFileRow::eol`]).
    pub eol: String,
    pub final_eol: bool,
    /// Every physical line, in order.
    pub rows: Vec<medbench_store::SourceRowRow>,
}

/// Where a data file is, for the answer export, and where its reader leaves the raw
/// lines it kept. Only the medbench-v4 reader keeps lines.
#[derive(Debug, Clone, Default)]
pub struct Origin {
    /// The zip's file name, or `""` when the file is not in a zip.
    pub container: String,
    /// The entry path inside the zip; else the path relative to the directory given to
    /// the import (`/`-separated), or the file name when a single file was given.
    pub path: String,
    /// Filled by a reader that keeps raw lines; the import stores them with the file.
    pub kept: std::rc::Rc<std::cell::RefCell<Option<KeptFile>>>,
}

impl Origin {
    pub fn new(container: impl Into<String>, path: impl Into<String>) -> Origin {
        Origin {
            container: container.into(),
            path: path.into(),
            kept: Default::default(),
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
    pub origin: Origin,
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
    visit_under(path, None, f, reject)
}

/// [`visit`], with `root` the directory the import was given (paths in [`Origin`] are
/// relative to it).
fn visit_under(
    path: &Path,
    root: Option<&Path>,
    f: &mut dyn FnMut(SourceFile<'_>),
    reject: &mut dyn FnMut(Reject),
) {
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
        let root = root.unwrap_or(path);
        for p in entries {
            let ext = extension(&p);
            if ext == "zip" || DATA_EXTENSIONS.contains(&ext.as_str()) {
                visit_under(&p, Some(root), f, reject);
            }
        }
        return;
    }
    if extension(path) == "zip" {
        return visit_zip(path, f, reject);
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let rel = match root.and_then(|r| path.strip_prefix(r).ok()) {
        Some(rel) => rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy())
            .collect::<Vec<_>>()
            .join("/"),
        None => name.clone(),
    };
    match File::open(path) {
        Ok(file) => f(SourceFile {
            display,
            name,
            reader: Box::new(file),
            media: MediaRoot::Dir(path.parent().map(Path::to_path_buf).unwrap_or_default()),
            origin: Origin::new("", rel),
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
    let container = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
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
            origin: Origin::new(container.clone(), name.clone()),
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
