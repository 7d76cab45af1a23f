//! Task catalogue and specialty taxonomy: data files shipped with the crate,
//! parsed from text (the caller decides where non-default text comes from).

use crate::format::FormatKind;
use crate::track::{Dimension, Track};
use serde::Deserialize;
use std::collections::HashMap;

const DEFAULT_TASKS: &str = include_str!("../data/tasks.toml");
const DEFAULT_SPECIALTIES: &str = include_str!("../data/specialties.toml");

/// A task (data set) as the catalogue describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskInfo {
    pub name: String,
    pub track: Track,
    pub dimension: Dimension,
    pub format: FormatKind,
    #[serde(default)]
    pub zh: Option<String>,
    #[serde(default)]
    pub aliases: Vec<String>,
    #[serde(default = "one")]
    pub version: u32,
}

fn one() -> u32 {
    1
}

/// Error reading a catalogue or taxonomy file.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
    #[error("{0}")]
    Invalid(String),
}

/// The catalogue of known tasks, looked up by name or alias.
#[derive(Debug, Clone)]
pub struct Catalog {
    tasks: Vec<TaskInfo>,
    by_name: HashMap<String, usize>,
}

#[derive(Deserialize)]
struct CatalogFile {
    task: Vec<TaskInfo>,
}

impl Catalog {
    /// The MedBench v4 catalogue that ships with medbench.
    pub fn builtin() -> Catalog {
        Catalog::parse(DEFAULT_TASKS).expect("the built-in task catalogue parses")
    }

    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile = toml::from_str(text)?;
        let mut by_name = HashMap::new();
        for (i, t) in file.task.iter().enumerate() {
            if t.dimension.track() != t.track {
                return Err(CatalogError::Invalid(format!(
                    "task {}: dimension {} is not in track {}",
                    t.name, t.dimension, t.track
                )));
            }
            for key in std::iter::once(&t.name).chain(&t.aliases) {
                if by_name.insert(key.clone(), i).is_some() {
                    return Err(CatalogError::Invalid(format!(
                        "name or alias `{key}` appears twice"
                    )));
                }
            }
        }
        Ok(Catalog {
            tasks: file.task,
            by_name,
        })
    }

    /// Find a task by its name or one of its aliases (the v4 `other.source`).
    pub fn lookup(&self, name: &str) -> Option<&TaskInfo> {
        self.by_name.get(name).map(|&i| &self.tasks[i])
    }

    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }
}

/// One specialty of the taxonomy.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Specialty {
    /// `03` for a primary department, `03.01` for a secondary specialty.
    pub code: String,
    pub zh: String,
    pub en: String,
    /// Other names (e.g. English subject names of imported data sets) that map here.
    #[serde(default)]
    pub aliases: Vec<String>,
}

impl Specialty {
    pub fn is_primary(&self) -> bool {
        !self.code.contains('.')
    }
    /// The primary code this specialty falls under.
    pub fn primary_code(&self) -> &str {
        self.code.split('.').next().unwrap_or(&self.code)
    }
}

/// The specialty taxonomy.
#[derive(Debug, Clone)]
pub struct Taxonomy {
    specialties: Vec<Specialty>,
    by_key: HashMap<String, usize>,
}

#[derive(Deserialize)]
struct TaxonomyFile {
    specialty: Vec<Specialty>,
}

impl Taxonomy {
    /// The taxonomy after China's national list of clinical departments that ships with medbench.
    pub fn builtin() -> Taxonomy {
        Taxonomy::parse(DEFAULT_SPECIALTIES).expect("the built-in taxonomy parses")
    }

    pub fn parse(text: &str) -> Result<Taxonomy, CatalogError> {
        let file: TaxonomyFile = toml::from_str(text)?;
        let mut by_key = HashMap::new();
        for (i, s) in file.specialty.iter().enumerate() {
            if by_key.insert(s.code.clone(), i).is_some() {
                return Err(CatalogError::Invalid(format!(
                    "specialty code `{}` appears twice",
                    s.code
                )));
            }
        }
        for (i, s) in file.specialty.iter().enumerate() {
            if !s.is_primary() && !by_key.contains_key(s.primary_code()) {
                return Err(CatalogError::Invalid(format!(
                    "specialty `{}` has no primary `{}`",
                    s.code,
                    s.primary_code()
                )));
            }
            for a in &s.aliases {
                by_key.entry(a.to_lowercase()).or_insert(i);
            }
        }
        Ok(Taxonomy {
            specialties: file.specialty,
            by_key,
        })
    }

    pub fn get(&self, code: &str) -> Option<&Specialty> {
        self.by_key
            .get(code)
            .map(|&i| &self.specialties[i])
            .filter(|s| s.code == code)
    }

    /// Resolve a code, a Chinese or English name, or an alias (case-insensitive) to a specialty.
    pub fn resolve(&self, key: &str) -> Option<&Specialty> {
        if let Some(s) = self.get(key) {
            return Some(s);
        }
        let lower = key.trim().to_lowercase();
        self.by_key
            .get(&lower)
            .map(|&i| &self.specialties[i])
            .or_else(|| {
                self.specialties
                    .iter()
                    .find(|s| s.zh == key.trim() || s.en.to_lowercase() == lower)
            })
    }

    pub fn all(&self) -> &[Specialty] {
        &self.specialties
    }

    pub fn primaries(&self) -> impl Iterator<Item = &Specialty> {
        self.specialties.iter().filter(|s| s.is_primary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_taxonomy_has_24_primary_and_91_secondary() {
        let t = Taxonomy::builtin();
        assert_eq!(t.primaries().count(), 24);
        assert_eq!(t.all().iter().filter(|s| !s.is_primary()).count(), 91);
        assert_eq!(t.get("03.04").unwrap().en, "Cardiology");
        assert_eq!(t.resolve("cardiology").unwrap().code, "03.04");
        assert_eq!(t.resolve("儿科").unwrap().code, "07");
    }

    #[test]
    fn builtin_catalogue_covers_the_v4_files() {
        let c = Catalog::builtin();
        assert_eq!(
            c.tasks().iter().filter(|t| t.track == Track::Agent).count(),
            14
        );
        assert_eq!(
            c.tasks()
                .iter()
                .filter(|t| t.track == Track::Multimodal)
                .count(),
            10
        );
        assert_eq!(c.lookup("MedRefAPI_V4").unwrap().name, "MedRetAPI");
        assert_eq!(c.lookup("IR-CMeEE").unwrap().name, "MedOCR");
        assert_eq!(
            c.lookup("MedRxCheck_V4_MSQ").unwrap().format,
            FormatKind::MultipleChoice
        );
    }

    #[test]
    fn duplicate_alias_is_refused() {
        let text = "[[task]]\nname='A'\ntrack='llm'\ndimension='knowledge_qa'\nformat='open_ended'\naliases=['X']\n[[task]]\nname='B'\ntrack='llm'\ndimension='knowledge_qa'\nformat='open_ended'\naliases=['X']\n";
        let e = Catalog::parse(text).unwrap_err().to_string();
        assert!(e.contains("`X` appears twice"), "{e}");
    }
}
