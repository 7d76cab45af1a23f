//! Who answers: a remote endpoint, the chance baseline, or a predictions file.

use anyhow::{Context, Result, bail};
use medbench_core::item::sha256_hex;
use medbench_core::{Format, Item};
use medbench_provider::{Anthropic, Limits, OpenAiCompatible, Provider, Reliable, RetryPolicy};
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::spec::{JudgeSpec, ModelSpec, ProviderKind};

/// The source of answers for a run.
pub enum Answerer {
    /// An endpoint behind retries, rate limits and a concurrency bound.
    Remote {
        provider: Arc<dyn Provider>,
        concurrency: usize,
    },
    /// The chance baseline: a seeded random pick for formats with a closed answer
    /// space; an empty answer (counted as unparsed) for the rest.
    Random { seed: u64 },
    /// Answers read from a file, by item id.
    Predictions { answers: HashMap<String, String> },
}

impl Answerer {
    pub fn from_spec(spec: &ModelSpec, seed: u64) -> Result<Answerer> {
        spec.check()?;
        Ok(match spec.provider {
            ProviderKind::Random => Answerer::Random { seed },
            ProviderKind::Predictions => Answerer::Predictions {
                answers: read_predictions(spec.predictions.as_deref().expect("checked"))?,
            },
            ProviderKind::Openai | ProviderKind::Anthropic => {
                let base = spec.base_url.clone().expect("checked");
                let key = spec.api_key.clone().or_else(|| {
                    spec.api_key_env
                        .as_ref()
                        .and_then(|v| std::env::var(v).ok())
                });
                let timeout = Duration::from_secs(spec.timeout_secs.unwrap_or(120));
                let inner: Arc<dyn Provider> = if spec.provider == ProviderKind::Anthropic {
                    let mut p = Anthropic::new(base).with_timeout(timeout);
                    if let Some(k) = key {
                        p = p.with_api_key(k);
                    }
                    if let Some(c) = &spec.http_client {
                        p = p.with_client(c.clone());
                    }
                    Arc::new(p)
                } else {
                    let mut p = OpenAiCompatible::new(base)
                        .with_timeout(timeout)
                        .with_pdf(spec.pdf.unwrap_or_default());
                    if let Some(k) = key {
                        p = p.with_api_key(k);
                    }
                    if let Some(c) = &spec.http_client {
                        p = p.with_client(c.clone());
                    }
                    Arc::new(p)
                };
                let concurrency = spec.concurrency.unwrap_or(8).max(1);
                let limits = Limits {
                    concurrency,
                    requests_per_minute: spec.rpm,
                    tokens_per_minute: spec.tpm,
                };
                let policy = RetryPolicy {
                    max_attempts: spec.max_attempts.unwrap_or(6).max(1),
                    budget: Duration::from_secs(spec.retry_budget_secs.unwrap_or(600)),
                    ..RetryPolicy::default()
                };
                Answerer::Remote {
                    provider: Arc::new(Reliable::new(inner, limits, policy)),
                    concurrency,
                }
            }
        })
    }

    /// An answer that needs no network, or `None` for a remote answerer.
    /// `Err` means this answerer has nothing for the item (a missing prediction).
    pub fn offline(&self, item: &Item) -> Option<Result<String, String>> {
        match self {
            Answerer::Remote { .. } => None,
            Answerer::Random { seed } => Some(Ok(random_answer(item, *seed))),
            Answerer::Predictions { answers } => Some(
                answers
                    .get(&item.id)
                    .cloned()
                    .ok_or_else(|| format!("the predictions file has no answer for {}", item.id)),
            ),
        }
    }
}

/// A judge from its spec: an endpoint behind its own retries, rate limits and
/// concurrency bound, apart from the model under test.
pub fn build_judge(spec: &JudgeSpec) -> Result<medbench_judge::Judge> {
    if !matches!(
        spec.model.provider,
        ProviderKind::Openai | ProviderKind::Anthropic
    ) {
        bail!(
            "judge `{}`: a judge must be an endpoint (provider \"openai\" or \"anthropic\" with a base_url)",
            spec.name()
        );
    }
    let Answerer::Remote {
        provider,
        concurrency,
    } = Answerer::from_spec(&spec.model, 0).with_context(|| format!("judge `{}`", spec.name()))?
    else {
        unreachable!("an endpoint spec always gives a remote answerer");
    };
    Ok(medbench_judge::Judge {
        name: spec.name().to_owned(),
        model: spec.model.name.clone(),
        endpoint: crate::endpoint_name(&spec.model),
        provider,
        concurrency,
        sampling: spec.sampling(),
        tasks: spec.tasks.clone(),
        price_input_per_mtok: spec.model.price_input_per_mtok,
        price_output_per_mtok: spec.model.price_output_per_mtok,
    })
}

/// A deterministic pseudo-random number in [0, n) for this item and seed.
fn pick(item: &str, seed: u64, salt: &str, n: usize) -> usize {
    let h = sha256_hex(format!("{seed}\u{1f}{item}\u{1f}{salt}").as_bytes());
    (u64::from_str_radix(&h[..15], 16).unwrap_or(0) % n.max(1) as u64) as usize
}

/// The chance baseline's answer.
pub fn random_answer(item: &Item, seed: u64) -> String {
    let id = &item.id;
    match &item.format {
        Format::SingleChoice { options } => {
            format!("<{}>", options[pick(id, seed, "", options.len())].label)
        }
        Format::MultipleChoice { options } => {
            // Each option in or out with probability ½, at least one chosen.
            let mut chosen: Vec<&str> = options
                .iter()
                .filter(|o| pick(id, seed, &o.label, 2) == 1)
                .map(|o| o.label.as_str())
                .collect();
            if chosen.is_empty() {
                chosen.push(&options[pick(id, seed, "", options.len())].label);
            }
            format!("<{}>", chosen.join(""))
        }
        Format::YesNo { allow_maybe } => {
            let choices: &[&str] = if *allow_maybe {
                &["yes", "no", "maybe"]
            } else {
                &["yes", "no"]
            };
            choices[pick(id, seed, "", choices.len())].to_owned()
        }
        Format::Intent { labels } if !labels.is_empty() => {
            labels[pick(id, seed, "", labels.len())].clone()
        }
        Format::LabelSet { labels } if !labels.is_empty() => {
            let chosen: Vec<&str> = labels
                .iter()
                .filter(|l| pick(id, seed, l, 2) == 1)
                .map(String::as_str)
                .collect();
            chosen.join("、")
        }
        // No closed answer space: the baseline abstains and the answer counts as unparsed.
        _ => String::new(),
    }
}

/// Read `{"id": …, "answer": …}` lines.
fn read_predictions(path: &Path) -> Result<HashMap<String, String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read predictions {}", path.display()))?;
    let mut out = HashMap::new();
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: serde_json::Value = serde_json::from_str(line)
            .with_context(|| format!("{}:{}: invalid JSON", path.display(), i + 1))?;
        let id = v.get("id").and_then(|x| x.as_str()).with_context(|| {
            format!("{}:{}: id: missing or not a string", path.display(), i + 1)
        })?;
        let answer = match v.get("answer") {
            Some(serde_json::Value::String(s)) => s.clone(),
            Some(other) if !other.is_null() => other.to_string(),
            _ => bail!("{}:{}: answer: missing", path.display(), i + 1),
        };
        if out.insert(id.to_owned(), answer).is_some() {
            bail!("{}:{}: id `{id}` appears twice", path.display(), i + 1);
        }
    }
    Ok(out)
}
