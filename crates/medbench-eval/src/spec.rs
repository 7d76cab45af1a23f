//! What to evaluate: model specs (from flags or a TOML file) and the item selection.

use anyhow::{Context, Result, bail};
use medbench_core::{Dimension, FormatKind, ReviewStatus, Track};
use medbench_provider::Sampling;
use medbench_store::ItemFilter;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// How a model is reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// Any OpenAI-compatible chat completions endpoint (llama.cpp, vLLM, Ollama, hosted APIs).
    #[default]
    Openai,
    /// The Anthropic Messages API.
    Anthropic,
    /// The built-in chance baseline; no endpoint.
    Random,
    /// Answers read from a JSONL file of `{"id": …, "answer": …}`.
    Predictions,
}

/// One model to evaluate.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// The model name the endpoint knows (`random` for the baseline).
    pub name: String,
    #[serde(default)]
    pub provider: ProviderKind,
    /// e.g. `http://127.0.0.1:8080/v1`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// The environment variable holding the API key (the key itself is never stored).
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// For `provider = "predictions"`.
    #[serde(default)]
    pub predictions: Option<PathBuf>,
    #[serde(default)]
    pub temperature: Option<f64>,
    #[serde(default)]
    pub top_p: Option<f64>,
    #[serde(default)]
    pub max_tokens: Option<u32>,
    /// Requests in flight at once.
    #[serde(default)]
    pub concurrency: Option<usize>,
    /// Requests per minute.
    #[serde(default)]
    pub rpm: Option<u32>,
    /// Tokens per minute.
    #[serde(default)]
    pub tpm: Option<u32>,
    /// Seconds before one attempt times out (default 120).
    #[serde(default)]
    pub timeout_secs: Option<u64>,
    /// Attempts per request, the first included (default 6).
    #[serde(default)]
    pub max_attempts: Option<u32>,
    /// Seconds allowed for retrying one request (default 600).
    #[serde(default)]
    pub retry_budget_secs: Option<u64>,
    /// How PDFs reach an OpenAI-compatible endpoint: `images` (each page rendered to a PNG,
    /// the default) or `file` (the PDF as a `file` content part). Only for `provider = "openai"`:
    /// Anthropic reads PDFs as documents.
    #[serde(default)]
    pub pdf: Option<medbench_provider::PdfMode>,
    /// US dollars per million input tokens, for cost reporting.
    #[serde(default)]
    pub price_input_per_mtok: Option<f64>,
    /// US dollars per million output tokens.
    #[serde(default)]
    pub price_output_per_mtok: Option<f64>,
    /// The API key itself, for callers that hold it in memory (the platform server).
    /// Never serialised, so it reaches no run spec, manifest or file.
    #[serde(skip)]
    pub api_key: Option<String>,
    /// An HTTP client to use instead of the shared one (the server's pinned,
    /// redirect-free client for registered endpoints). Never serialised.
    #[serde(skip)]
    pub http_client: Option<medbench_provider::HttpClient>,
}

impl ModelSpec {
    /// A spec for `--model NAME` with everything else default.
    pub fn named(name: &str) -> ModelSpec {
        ModelSpec {
            name: name.to_owned(),
            provider: if name == "random" {
                ProviderKind::Random
            } else {
                ProviderKind::Openai
            },
            base_url: None,
            api_key_env: None,
            predictions: None,
            temperature: None,
            top_p: None,
            max_tokens: None,
            concurrency: None,
            rpm: None,
            tpm: None,
            timeout_secs: None,
            max_attempts: None,
            retry_budget_secs: None,
            pdf: None,
            price_input_per_mtok: None,
            price_output_per_mtok: None,
            api_key: None,
            http_client: None,
        }
    }

    pub fn sampling(&self, seed: u64) -> Sampling {
        Sampling {
            temperature: self.temperature,
            top_p: self.top_p,
            max_tokens: self.max_tokens,
            seed: Some(seed),
        }
    }

    /// Check that the spec can be run, with a message saying what is missing.
    pub fn check(&self) -> Result<()> {
        match self.provider {
            ProviderKind::Openai | ProviderKind::Anthropic => {
                if self.provider == ProviderKind::Anthropic && self.pdf.is_some() {
                    bail!(
                        "model `{}`: pdf (--pdf) applies to provider openai only; Anthropic reads PDFs as documents",
                        self.name
                    );
                }
                let Some(url) = &self.base_url else {
                    bail!(
                        "model `{}` needs --base-url (e.g. http://127.0.0.1:8080/v1)",
                        self.name
                    );
                };
                if let Err(why) = medbench_provider::check_base_url(url) {
                    bail!(
                        "model `{}`: --base-url (base_url) `{url}` is not usable: {why}; expected e.g. http://127.0.0.1:8080/v1",
                        self.name
                    );
                }
                if let Some(var) = &self.api_key_env
                    && std::env::var(var).is_err()
                {
                    bail!(
                        "model `{}`: the environment variable {var} (given by --api-key-env) is not set",
                        self.name
                    );
                }
            }
            ProviderKind::Predictions | ProviderKind::Random if self.pdf.is_some() => {
                bail!(
                    "model `{}`: pdf (--pdf) applies to provider openai only",
                    self.name
                );
            }
            ProviderKind::Predictions => {
                if self.predictions.is_none() {
                    bail!(
                        "model `{}` uses predictions but names no file (--predictions FILE)",
                        self.name
                    );
                }
            }
            ProviderKind::Random => {}
        }
        Ok(())
    }
}

/// Which items a run asks. Lists are OR-ed within a field and AND-ed across fields.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Selection {
    #[serde(default)]
    pub tasks: Vec<String>,
    #[serde(default)]
    pub tracks: Vec<String>,
    #[serde(default)]
    pub dimensions: Vec<String>,
    #[serde(default)]
    pub languages: Vec<String>,
    #[serde(default)]
    pub formats: Vec<String>,
    #[serde(default)]
    pub specialties: Vec<String>,
    /// At most this many items per task (a seeded sample).
    #[serde(default)]
    pub limit: Option<usize>,
    /// Whether blind items (no reference: official downloads hide their answers) are
    /// asked. They are answered and stored, never scored.
    #[serde(default, skip_serializing_if = "BlindItems::is_default")]
    pub blind: BlindItems,
}

/// What a selection does with blind items.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlindItems {
    /// Ask them beside the scored ones (reported as answered, not scored).
    #[default]
    Include,
    /// Leave them out.
    Exclude,
    /// Ask only them (to fill official answer files).
    Only,
}

impl BlindItems {
    fn is_default(&self) -> bool {
        *self == BlindItems::Include
    }
}

impl std::str::FromStr for BlindItems {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "include" => Ok(BlindItems::Include),
            "exclude" => Ok(BlindItems::Exclude),
            "only" => Ok(BlindItems::Only),
            _ => Err(format!("`{s}`: expected include, exclude or only")),
        }
    }
}

impl Selection {
    /// The bank filter: approved items matching the fields.
    pub fn filter(&self) -> Result<ItemFilter> {
        Ok(ItemFilter {
            tracks: self
                .tracks
                .iter()
                .map(|t| t.parse::<Track>().map_err(anyhow::Error::msg))
                .collect::<Result<_>>()?,
            dimensions: self
                .dimensions
                .iter()
                .map(|d| {
                    d.parse::<Dimension>()
                        .map(|d| d.as_str().to_owned())
                        .map_err(anyhow::Error::msg)
                })
                .collect::<Result<_>>()?,
            // Official file names and `other.source` values name tasks too (`CTR-QC`).
            tasks: self
                .tasks
                .iter()
                .map(|t| {
                    medbench_core::Catalog::builtin()
                        .lookup(t)
                        .map_or_else(|| t.clone(), |i| i.name.clone())
                })
                .collect(),
            specialties: self.specialties.clone(),
            languages: self.languages.clone(),
            formats: self
                .formats
                .iter()
                .map(|f| f.parse::<FormatKind>().map_err(anyhow::Error::msg))
                .collect::<Result<_>>()?,
            review: vec![ReviewStatus::Approved],
            blind: match self.blind {
                BlindItems::Include => None,
                BlindItems::Exclude => Some(false),
                BlindItems::Only => Some(true),
            },
        })
    }
}

/// A TOML file naming several models and one selection.
///
/// ```toml
/// [run]
/// tasks = ["DemoExam", "DemoExamEN"]
/// limit = 20
/// seed = 7
///
/// [[model]]
/// name = "qwen2.5-0.5b"
/// base_url = "http://127.0.0.1:8080/v1"
/// max_tokens = 256
/// ```
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvalConfig {
    #[serde(default)]
    pub run: RunSection,
    #[serde(rename = "model")]
    pub models: Vec<ModelSpec>,
    /// `[[judge]]`: LLM judges for open-ended answers.
    #[serde(default, rename = "judge")]
    pub judges: Vec<JudgeSpec>,
}

/// An LLM judge for open-ended answers.
///
/// ```toml
/// [[judge]]
/// name = "qwen-judge"                 # judgements are stored and calibrated under this name
/// tasks = ["HealthBench"]             # optional: only these tasks (default: every task)
/// model = { name = "qwen2.5-7b", base_url = "http://127.0.0.1:8080/v1", concurrency = 4 }
/// ```
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JudgeSpec {
    /// Defaults to the model's name.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub tasks: Vec<String>,
    /// The judge's endpoint, with its own concurrency and rate limits.
    pub model: ModelSpec,
}

impl JudgeSpec {
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or(&self.model.name)
    }

    /// Judges answer deterministically unless told otherwise: temperature 0, a fixed
    /// seed, and room for an explanation (1,024 tokens).
    pub fn sampling(&self) -> Sampling {
        Sampling {
            temperature: self.model.temperature.or(Some(0.0)),
            top_p: self.model.top_p,
            max_tokens: self.model.max_tokens.or(Some(1024)),
            seed: Some(0),
        }
    }

    /// Read only the `[[judge]]` sections of a TOML file (other sections are left alone,
    /// so one config file can serve `eval` and `judge`).
    pub fn load_all(path: &std::path::Path) -> Result<Vec<JudgeSpec>> {
        #[derive(Deserialize)]
        struct Only {
            #[serde(default)]
            judge: Vec<JudgeSpec>,
        }
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let only: Only = toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
        if only.judge.is_empty() {
            bail!("{}: no [[judge]] sections", path.display());
        }
        Ok(only.judge)
    }
}

/// `[run]`: the selection (its fields inline) plus run-wide settings.
#[derive(Debug, Clone, Default)]
pub struct RunSection {
    pub selection: Selection,
    pub seed: Option<u64>,
    pub out: Option<PathBuf>,
    pub system_prompt: Option<String>,
    pub few_shot: Option<usize>,
}

/// The run-wide keys of `[run]`; every other key belongs to the selection.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunKeys {
    seed: Option<u64>,
    out: Option<PathBuf>,
    system_prompt: Option<String>,
    few_shot: Option<usize>,
}

impl<'de> Deserialize<'de> for RunSection {
    // Not `#[serde(flatten)]`: serde ignores `deny_unknown_fields` under flatten, and a
    // misspelt `limit` must be an error, not a full run. The table is split instead:
    // run-wide keys go to `RunKeys`, the rest to `Selection` (which refuses unknown keys).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut table = toml::Table::deserialize(d)?;
        let mut run = toml::Table::new();
        for key in ["seed", "out", "system_prompt", "few_shot"] {
            if let Some(v) = table.remove(key) {
                run.insert(key.to_owned(), v);
            }
        }
        let keys: RunKeys = run.try_into().map_err(D::Error::custom)?;
        let selection: Selection = table.try_into().map_err(D::Error::custom)?;
        Ok(RunSection {
            selection,
            seed: keys.seed,
            out: keys.out,
            system_prompt: keys.system_prompt,
            few_shot: keys.few_shot,
        })
    }
}

impl EvalConfig {
    pub fn load(path: &std::path::Path) -> Result<EvalConfig> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let cfg: EvalConfig =
            toml::from_str(&text).with_context(|| format!("in {}", path.display()))?;
        if cfg.models.is_empty() {
            bail!("{}: no [[model]] sections", path.display());
        }
        for m in cfg.models.iter().chain(cfg.judges.iter().map(|j| &j.model)) {
            m.check()
                .with_context(|| format!("in {}", path.display()))?;
        }
        Ok(cfg)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<EvalConfig> {
        let dir = tempfile::tempdir()?;
        let p = dir.path().join("models.toml");
        std::fs::write(&p, text)?;
        EvalConfig::load(&p)
    }

    #[test]
    fn a_config_names_several_models_and_one_selection() {
        let cfg = load(
            "[run]\ntasks = [\"DemoExam\"]\nlimit = 5\nseed = 7\n\n[[model]]\nname = \"random\"\nprovider = \"random\"\n\n[[model]]\nname = \"m\"\nbase_url = \"http://127.0.0.1:8080/v1\"\nmax_tokens = 64\n",
        )
        .unwrap();
        assert_eq!(cfg.models.len(), 2);
        assert_eq!(cfg.run.selection.limit, Some(5));
        assert_eq!(cfg.run.selection.tasks, ["DemoExam"]);
        assert_eq!(cfg.models[1].max_tokens, Some(64));
        assert_eq!(cfg.models[1].pdf, None);
    }

    #[test]
    fn pdf_mode_is_read_and_only_for_openai() {
        let cfg =
            load("[[model]]\nname = \"m\"\nbase_url = \"http://x/v1\"\npdf = \"file\"\n").unwrap();
        assert_eq!(cfg.models[0].pdf, Some(medbench_provider::PdfMode::File));
        let e = load(
            "[[model]]\nname = \"m\"\nprovider = \"anthropic\"\nbase_url = \"http://x\"\npdf = \"images\"\n",
        )
        .unwrap_err();
        assert!(format!("{e:#}").contains("openai only"), "{e:#}");
    }

    #[test]
    fn misspelt_keys_are_errors_not_silently_ignored() {
        let e = load("[run]\nlimt = 5\n[[model]]\nname = \"random\"\nprovider = \"random\"\n")
            .unwrap_err();
        assert!(format!("{e:#}").contains("unknown field `limt`"), "{e:#}");
        let e = load("[[model]]\nname = \"m\"\nbase_url = \"http://x/v1\"\nmax_token = 5\n")
            .unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown field `max_token`"),
            "{e:#}"
        );
        let e = load("[[model]]\nname = \"m\"\nbase_url = \"http://x/v1\"\npdf = \"pages\"\n")
            .unwrap_err();
        assert!(
            format!("{e:#}").contains("unknown variant `pages`"),
            "{e:#}"
        );
        let e = load("[[model]]\nname = \"m\"\nbase_url = \"127.0.0.1:8080/v1\"\n").unwrap_err();
        assert!(
            format!("{e:#}").contains("--base-url (base_url) `127.0.0.1:8080/v1` is not usable"),
            "{e:#}"
        );
        let e = load("[[model]]\nname = \"m\"\n").unwrap_err();
        assert!(format!("{e:#}").contains("needs --base-url"), "{e:#}");
    }
}
