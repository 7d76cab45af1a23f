//! Task catalogue and specialty taxonomy: data files shipped with the crate,
//! parsed from text (the caller decides where non-default text comes from).

use crate::format::FormatKind;
use crate::recipe::{Component, Recipe, RecipeBasis};
use crate::track::{Dimension, Track};
use serde::Deserialize;
use std::collections::HashMap;

const DEFAULT_TASKS: &str = include_str!("../data/tasks.toml");
const DEFAULT_SPECIALTIES: &str = include_str!("../data/specialties.toml");

/// A task (data set) as the catalogue describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskInfo {
    pub name: String,
    pub track: Track,
    pub dimension: Dimension,
    pub format: FormatKind,
    pub zh: Option<String>,
    pub aliases: Vec<String>,
    pub version: u32,
    /// How the task is scored. A catalogue entry without `recipe` gets the default
    /// of its format ([`Recipe::default_for`], basis `format`).
    pub recipe: Recipe,
}

/// A `[[task]]` entry as written; the recipe is checked into a [`Recipe`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TaskEntry {
    name: String,
    track: Track,
    dimension: Dimension,
    format: FormatKind,
    #[serde(default)]
    zh: Option<String>,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default = "one")]
    version: u32,
    #[serde(default)]
    recipe: Option<Vec<String>>,
    #[serde(default)]
    recipe_basis: Option<String>,
}

impl TaskEntry {
    fn check(self) -> Result<TaskInfo, CatalogError> {
        let bad = |what: String| CatalogError::Invalid(format!("task {}: {what}", self.name));
        let basis = self
            .recipe_basis
            .as_deref()
            .map(str::parse::<RecipeBasis>)
            .transpose()
            .map_err(bad)?;
        let recipe = match &self.recipe {
            None if basis.is_some() => {
                return Err(bad("`recipe_basis` is given without a `recipe`".into()));
            }
            None => Recipe::default_for(self.format, false),
            Some(list) => {
                let components = list
                    .iter()
                    .map(|c| c.parse::<Component>())
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(bad)?;
                let basis = basis.unwrap_or(RecipeBasis::Ours);
                if basis == RecipeBasis::Format {
                    return Err(bad(
                        "recipe_basis `format` is for tasks outside the catalogue; say `official` or `ours`".into(),
                    ));
                }
                Recipe::new(components, basis).map_err(bad)?
            }
        };
        Ok(TaskInfo {
            name: self.name,
            track: self.track,
            dimension: self.dimension,
            format: self.format,
            zh: self.zh,
            aliases: self.aliases,
            version: self.version,
            recipe,
        })
    }
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
    task: Vec<TaskEntry>,
}

impl Catalog {
    /// The MedBench v4 catalogue that ships with medbench.
    pub fn builtin() -> Catalog {
        Catalog::parse(DEFAULT_TASKS).expect("the built-in task catalogue parses")
    }

    pub fn parse(text: &str) -> Result<Catalog, CatalogError> {
        let file: CatalogFile = toml::from_str(text)?;
        let tasks = file
            .task
            .into_iter()
            .map(TaskEntry::check)
            .collect::<Result<Vec<_>, _>>()?;
        let mut by_name = HashMap::new();
        for (i, t) in tasks.iter().enumerate() {
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
        Ok(Catalog { tasks, by_name })
    }

    /// Find a task by its name or one of its aliases (the v4 `other.source`).
    pub fn lookup(&self, name: &str) -> Option<&TaskInfo> {
        self.by_name.get(name).map(|&i| &self.tasks[i])
    }

    pub fn tasks(&self) -> &[TaskInfo] {
        &self.tasks
    }

    /// How a task's items are scored: the catalogue's recipe for a task it knows (by
    /// name or alias), else the default of the items' answer format. Open formats
    /// outside the catalogue get `judge` only here; [`Catalog::recipe_for_items`]
    /// adds `key_points` when the items carry them.
    pub fn recipe_for(&self, task: &str, format: FormatKind) -> Recipe {
        self.recipe_for_items(task, format, false)
    }

    /// [`Catalog::recipe_for`], knowing whether the task's items carry key points.
    pub fn recipe_for_items(&self, task: &str, format: FormatKind, key_points: bool) -> Recipe {
        match self.lookup(task) {
            Some(t) => t.recipe.clone(),
            None => Recipe::default_for(format, key_points),
        }
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

    fn names(c: &Catalog, pred: impl Fn(&TaskInfo) -> bool) -> Vec<String> {
        let mut v: Vec<String> = c
            .tasks()
            .iter()
            .filter(|t| pred(t))
            .map(|t| t.name.clone())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn every_v4_task_has_a_recipe_of_its_own() {
        let c = Catalog::builtin();
        assert_eq!(c.tasks().len(), 62);
        for t in c.tasks() {
            assert_ne!(
                t.recipe.basis,
                RecipeBasis::Format,
                "{} has no recipe",
                t.name
            );
        }
        // §2b: the accuracy tasks.
        let accuracy = names(&c, |t| {
            t.recipe.components == [Component::Accuracy] && t.recipe.basis == RecipeBasis::Official
        });
        for name in [
            "DDx-advanced",
            "MedEthics",
            "MedExam",
            "MedHG",
            "MedInsureCalc",
            "MedSafety",
            "SMDoc",
            "MedIntentID",
        ] {
            assert!(accuracy.contains(&name.to_string()), "{name}: {accuracy:?}");
        }
        // §2b: the judge-only agent tasks, and only those (MedDefend is ours).
        let judge_only = names(&c, |t| {
            t.track == Track::Agent
                && t.recipe.components == [Component::Judge]
                && t.recipe.basis == RecipeBasis::Official
        });
        assert_eq!(
            judge_only,
            [
                "MedCOT",
                "MedCallAPI",
                "MedCollab",
                "MedDBOps",
                "MedDecomp",
                "MedLongConv",
                "MedLongQA",
                "MedPathPlan",
                "MedReflect",
                "MedRetAPI",
                "MedRoleAdapt",
                "MedShield"
            ]
        );
        assert_eq!(
            c.lookup("CTR-QC").unwrap().recipe.display(),
            "micro_f1 + key_points + judge"
        );
        assert_eq!(
            c.lookup("MedOutcome").unwrap().recipe.display(),
            "accuracy + key_points + judge"
        );
        assert_eq!(
            c.lookup("MedSpeQA").unwrap().recipe.display(),
            "key_points + judge"
        );
        assert_eq!(
            c.lookup("MedDefend").unwrap().recipe.basis,
            RecipeBasis::Ours
        );
        for t in c.tasks().iter().filter(|t| t.track == Track::Multimodal) {
            assert_eq!(t.recipe.basis, RecipeBasis::Ours, "{}", t.name);
        }
    }

    #[test]
    fn recipe_for_asks_the_catalogue_then_the_format() {
        let c = Catalog::builtin();
        assert_eq!(
            c.recipe_for("MedCallAPI_V4", FormatKind::ToolCalls)
                .display(),
            "judge"
        );
        let medqa = c.recipe_for("MedQA-USMLE", FormatKind::SingleChoice);
        assert_eq!(medqa.display(), "accuracy");
        assert_eq!(medqa.basis, RecipeBasis::Format);
        assert_eq!(
            c.recipe_for_items("HealthBench", FormatKind::OpenEnded, true)
                .display(),
            "key_points + judge"
        );
    }

    #[test]
    fn a_bad_recipe_names_its_task() {
        let entry = |recipe: &str| {
            format!(
                "[[task]]\nname='Foo'\ntrack='llm'\ndimension='knowledge_qa'\nformat='open_ended'\n{recipe}\n"
            )
        };
        let e = Catalog::parse(&entry("recipe=['bleu']"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("task Foo") && e.contains("`bleu`"), "{e}");
        let e = Catalog::parse(&entry("recipe=[]")).unwrap_err().to_string();
        assert!(e.contains("task Foo") && e.contains("empty"), "{e}");
        let e = Catalog::parse(&entry("recipe=['judge']\nrecipe_basis='guess'"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("task Foo") && e.contains("`guess`"), "{e}");
        let e = Catalog::parse(&entry("recipe_basis='ours'"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("task Foo"), "{e}");
        // No recipe: the format's default.
        let c = Catalog::parse(&entry("")).unwrap();
        assert_eq!(c.lookup("Foo").unwrap().recipe.display(), "judge");
        assert_eq!(c.lookup("Foo").unwrap().recipe.basis, RecipeBasis::Format);
    }
}
