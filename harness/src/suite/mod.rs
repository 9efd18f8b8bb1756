//! Suites (SPEC §7): YAML files validated before anything runs, resolved into a [`Suite`].

pub(crate) mod schema;

use std::path::{Path, PathBuf};

use degradations::Degradation;
use serde::Serialize;
use serde_saphyr::Spanned;

pub use schema::{GroundTruthPolicy, SourceKind};
use schema::{LocalizerEntry, SuiteFile};

use crate::synth::{self, Split};

/// The only suite schema version.
pub const SCHEMA_VERSION: u32 = 1;

/// A suite problem, located in the file when possible.
#[derive(Debug, thiserror::Error)]
#[error("{}{}: {message}", path.display(), location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
pub struct SuiteError {
    pub path: PathBuf,
    /// 1-based line and column.
    pub location: Option<(u64, u64)>,
    pub message: String,
}

/// A fully resolved, validated suite: what `results.json` records and the config hash covers.
#[derive(Debug, Clone, Serialize)]
pub struct Suite {
    #[serde(skip)]
    pub path: PathBuf,
    pub version: u32,
    pub name: String,
    pub description: String,
    pub seed: u64,
    pub data: DataConfig,
    pub evaluation: EvaluationConfig,
    pub localizers: Vec<LocalizerConfig>,
    /// Test conditions in run order; the first is always `clean`.
    pub conditions: Vec<Condition>,
    pub ground_truth: GroundTruthPolicy,
    /// Rows of the qualitative figure.
    pub qualitative: usize,
}

/// Resolved `data:` section.
#[derive(Debug, Clone, Serialize)]
pub struct DataConfig {
    pub source: SourceKind,
    /// Manifest path, as given (relative to the suite file).
    pub manifest: Option<String>,
    #[serde(skip)]
    pub manifest_path: Option<PathBuf>,
    pub split: Split,
    /// Empty = all.
    pub generators: Vec<String>,
    /// Empty = all.
    pub properties: Vec<String>,
    pub fakes_per_category: u32,
    pub reals: u32,
    pub synth_seed: u64,
    pub synth_size: u32,
}

/// Resolved `evaluation:` section.
#[derive(Debug, Clone, Serialize)]
pub struct EvaluationConfig {
    pub size: u32,
    pub batch: usize,
    pub tau: f32,
    pub gt_threshold: f32,
    pub bootstrap_resamples: usize,
    pub confidence: f64,
}

/// A localizer as the suite configures it.
#[derive(Debug, Clone, Serialize)]
pub struct LocalizerConfig {
    pub name: String,
    pub kind: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    /// A training step that produces the weights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train: Option<TrainStep>,
}

/// A localizer's training step: `harness train` on `config`, cached under
/// `results/train/<name>-<hash>/`; the selected checkpoint is the localizer's `weights`.
#[derive(Debug, Clone, Serialize)]
pub struct TrainStep {
    /// The config path as written (relative to the suite file).
    pub config: String,
    /// The config's name and hash (the hash makes a changed config a different run).
    pub name: String,
    pub hash: String,
    /// Trained with the quick profile ([`crate::train::TrainConfig::quick`]).
    pub quick: bool,
    /// The model preset the config trains (covered by the hash).
    #[serde(skip)]
    pub preset: String,
    #[serde(skip)]
    pub path: PathBuf,
}

impl TrainStep {
    /// The step's training config, in the profile the suite runs with.
    pub fn config(&self) -> Result<crate::train::TrainConfig, SuiteError> {
        let config = crate::train::TrainConfig::load(&self.path)?;
        Ok(if self.quick { config.quick() } else { config })
    }

    /// The checkpoint the step selects.
    pub fn weights(&self) -> PathBuf {
        crate::train::cache_dir(&self.name, &self.hash).join(crate::train::BEST_WEIGHTS)
    }

    /// The localizer's parameters with `weights` pointing at the step's checkpoint.
    pub fn params_with_weights(
        &self,
        params: &serde_json::Map<String, serde_json::Value>,
    ) -> serde_json::Map<String, serde_json::Value> {
        let mut params = params.clone();
        params.insert(
            "weights".into(),
            self.weights().to_string_lossy().into_owned().into(),
        );
        params
    }
}

/// One test condition: clean, disorganized, or one level of a degradation sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Condition {
    /// Unique key: `clean`, `disorganize`, `jpeg:50`, …
    pub key: String,
    /// `clean`, `disorganize`, or the degradation name (`jpeg`, `blur`, `noise`, `lowres`).
    pub test: String,
    #[serde(skip)]
    pub degradation: Option<Degradation>,
    pub level: Option<f64>,
}

impl Condition {
    fn clean() -> Condition {
        Condition {
            key: "clean".into(),
            test: "clean".into(),
            degradation: None,
            level: None,
        }
    }
}

pub(crate) fn err_at<T>(
    path: &Path,
    spanned: &Spanned<T>,
    message: impl Into<String>,
) -> SuiteError {
    SuiteError {
        path: path.to_path_buf(),
        location: Some((spanned.referenced.line(), spanned.referenced.column())),
        message: message.into(),
    }
}

/// " (did you mean 'x'?)" when a candidate is close to `word`.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> String {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| format!(" (did you mean '{c}'?)"))
        .unwrap_or_default()
}

/// Adds a did-you-mean to serde's "unknown field/variant `x`, expected one of a, b" messages
/// and drops the parser's own "line L column C:" prefix (the location is printed separately).
pub(crate) fn with_suggestion(message: &str) -> String {
    let message = message.trim_start_matches("error: ");
    let message = match message.split_once(": ") {
        Some((prefix, rest)) if prefix.starts_with("line ") && prefix.contains(" column ") => rest,
        _ => message,
    };
    let Some(start) = message
        .find("unknown field `")
        .or_else(|| message.find("unknown variant `"))
    else {
        return message.to_string();
    };
    let rest = &message[start..];
    let word = rest.split('`').nth(1).unwrap_or("");
    let expected: Vec<&str> = rest
        .split_once("expected ")
        .map(|(_, e)| {
            e.trim_start_matches("one of ")
                .split(", ")
                .map(|c| c.trim().trim_matches('`'))
                .collect()
        })
        .unwrap_or_default();
    format!("{message}{}", did_you_mean(word, expected.iter().copied()))
}

impl Suite {
    /// Reads, validates and resolves a suite file. Nothing runs on an invalid suite.
    pub fn load(path: &Path) -> Result<Suite, SuiteError> {
        let text = read_text(path, "suite file")?;
        Suite::parse(path, &text)
    }

    /// Validates and resolves suite text; `path` is used for messages and relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Suite, SuiteError> {
        resolve(path, parse_yaml(path, text)?)
    }

    /// The quick profile (`harness run --quick`): at most 4 fakes per category and 10 reals,
    /// 200 bootstrap resamples, and training steps in their quick profile; `_quick` is
    /// appended to the name so its runs are kept apart.
    pub fn quick(mut self) -> Result<Suite, SuiteError> {
        self.name.push_str("_quick");
        self.data.fakes_per_category = self.data.fakes_per_category.min(4);
        self.data.reals = self.data.reals.min(10);
        self.evaluation.bootstrap_resamples = self.evaluation.bootstrap_resamples.min(200);
        for localizer in &mut self.localizers {
            if let Some(step) = &mut localizer.train {
                step.quick = true;
                let config = step.config()?;
                step.name = config.name.clone();
                step.hash = config.config_hash();
            }
        }
        Ok(self)
    }

    /// Short hash of the resolved suite (first 8 hex digits of its canonical JSON's SHA-256).
    pub fn config_hash(&self) -> String {
        short_hash(self)
    }
}

/// The text of a configuration file; `what` names the kind of file in the error.
pub(crate) fn read_text(path: &Path, what: &str) -> Result<String, SuiteError> {
    std::fs::read_to_string(path).map_err(|e| SuiteError {
        path: path.to_path_buf(),
        location: None,
        message: format!("cannot read the {what}: {e}"),
    })
}

/// Deserializes YAML with errors at `file:line:column` and a "did you mean" for unknown keys.
pub(crate) fn parse_yaml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, SuiteError> {
    serde_saphyr::from_str(text).map_err(|e| SuiteError {
        path: path.to_path_buf(),
        location: e.location().map(|l| (l.line(), l.column())),
        message: with_suggestion(&e.to_string()),
    })
}

/// First 8 hex digits of the SHA-256 of `value`'s canonical JSON: names run and training
/// directories by configuration.
pub(crate) fn short_hash<T: Serialize>(value: &T) -> String {
    use sha2::Digest;
    let json = serde_json::to_vec(value).expect("configurations serialize");
    let digest = sha2::Sha256::digest(&json);
    digest.iter().take(4).map(|b| format!("{b:02x}")).collect()
}

/// Checks a file's `version` and `name` (which names a directory), for suites and training
/// configs alike; `what` is the kind of file in messages.
pub(crate) fn check_header(
    path: &Path,
    what: &str,
    version: &Spanned<u32>,
    expected: u32,
    name: &Spanned<String>,
) -> Result<String, SuiteError> {
    if version.value != expected {
        return Err(err_at(
            path,
            version,
            format!(
                "unsupported {what} version {}; this harness reads version {expected}",
                version.value
            ),
        ));
    }
    let valid = !name.value.is_empty()
        && name
            .value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !valid {
        return Err(err_at(
            path,
            name,
            "name must be non-empty letters, digits, '_' or '-' (it names the output directory)",
        ));
    }
    Ok(name.value.clone())
}

fn resolve(path: &Path, file: SuiteFile) -> Result<Suite, SuiteError> {
    let name = check_header(path, "suite", &file.version, SCHEMA_VERSION, &file.name)?;
    let data = resolve_data(path, file.data)?;
    let evaluation = resolve_evaluation(path, file.evaluation)?;
    let localizers = resolve_localizers(path, file.localizers)?;
    let mut conditions = vec![Condition::clean()];
    if file.tests.disorganize {
        conditions.push(Condition {
            key: "disorganize".into(),
            test: "disorganize".into(),
            degradation: Some(Degradation::Disorganize),
            level: None,
        });
    }
    for sweep in &file.tests.degrade {
        conditions.extend(resolve_sweep(path, sweep)?);
    }
    for (i, c) in conditions.iter().enumerate() {
        if conditions[..i].iter().any(|d| d.key == c.key) {
            return Err(SuiteError {
                path: path.to_path_buf(),
                location: None,
                message: format!(
                    "test condition '{}' appears twice; list each level once",
                    c.key
                ),
            });
        }
    }
    Ok(Suite {
        path: path.to_path_buf(),
        version: SCHEMA_VERSION,
        name,
        description: file.description,
        seed: file.seed,
        data,
        evaluation,
        localizers,
        conditions,
        ground_truth: file.tests.ground_truth,
        qualitative: file.report.qualitative.unwrap_or(4),
    })
}

fn names_in(
    path: &Path,
    what: &str,
    given: Option<Vec<Spanned<String>>>,
    allowed: &[&str],
) -> Result<Vec<String>, SuiteError> {
    let given = given.unwrap_or_default();
    for name in &given {
        if !allowed.contains(&name.value.as_str()) {
            return Err(err_at(
                path,
                name,
                format!(
                    "unknown {what} '{}'{}; available: {}",
                    name.value,
                    did_you_mean(&name.value, allowed.iter().copied()),
                    allowed.join(", ")
                ),
            ));
        }
    }
    Ok(given.into_iter().map(|s| s.value).collect())
}

pub(crate) fn resolve_data(path: &Path, data: schema::DataSpec) -> Result<DataConfig, SuiteError> {
    let split = match &data.split {
        None => Split::Test,
        Some(s) => s.value.parse::<Split>().map_err(|_| {
            err_at(
                path,
                s,
                format!("unknown split '{}'; use train, val or test", s.value),
            )
        })?,
    };
    let manifest_path = match (data.source, &data.manifest) {
        (SourceKind::Manifest, None) => {
            return Err(SuiteError {
                path: path.to_path_buf(),
                location: None,
                message: "data.source is 'manifest' but data.manifest (path to the CSV) is missing"
                    .into(),
            })
        }
        (SourceKind::Manifest, Some(m)) => {
            let p = path.parent().unwrap_or(Path::new(".")).join(&m.value);
            if !p.exists() {
                return Err(err_at(
                    path,
                    m,
                    format!("manifest {} does not exist", p.display()),
                ));
            }
            Some(p)
        }
        (SourceKind::Synth, Some(m)) => {
            return Err(err_at(
                path,
                m,
                "data.manifest is only used with 'source: manifest'",
            ))
        }
        (SourceKind::Synth, None) => None,
    };
    let (generators, properties) = match data.source {
        SourceKind::Synth => {
            let gens: Vec<&str> = synth::generators().iter().map(|g| g.name).collect();
            let mut props: Vec<&str> = synth::PROPERTIES.to_vec();
            props.push("entire");
            (
                names_in(path, "generator", data.generators, &gens)?,
                names_in(path, "property", data.properties, &props)?,
            )
        }
        // Checked against the manifest's contents when the data is opened.
        SourceKind::Manifest => (
            data.generators
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.value)
                .collect(),
            data.properties
                .unwrap_or_default()
                .into_iter()
                .map(|s| s.value)
                .collect(),
        ),
    };
    let fakes = data
        .fakes_per_category
        .map(|f| (f.value, Some(f)))
        .unwrap_or((20, None));
    if fakes.0 == 0 {
        return Err(err_at(
            path,
            fakes.1.as_ref().unwrap(),
            "fakes_per_category must be at least 1",
        ));
    }
    let synth_size = match data.synth_size {
        Some(s) if s.value < 32 => {
            return Err(err_at(path, &s, "synth_size must be at least 32 pixels"))
        }
        Some(s) => s.value,
        None => 224,
    };
    Ok(DataConfig {
        source: data.source,
        manifest: data.manifest.map(|m| m.value),
        manifest_path,
        split,
        generators,
        properties,
        fakes_per_category: fakes.0,
        reals: data.reals.unwrap_or(0),
        synth_seed: data.synth_seed.unwrap_or(0),
        synth_size,
    })
}

fn resolve_evaluation(
    path: &Path,
    e: schema::EvaluationSpec,
) -> Result<EvaluationConfig, SuiteError> {
    let check = |ok: bool, s: &dyn Fn() -> SuiteError| if ok { Ok(()) } else { Err(s()) };
    if let Some(s) = &e.size {
        check(s.value >= 11, &|| {
            err_at(
                path,
                s,
                "evaluation.size must be at least 11 (the SSIM window)",
            )
        })?;
    }
    if let Some(b) = &e.batch {
        check(b.value >= 1, &|| {
            err_at(path, b, "evaluation.batch must be at least 1")
        })?;
    }
    for t in [&e.tau, &e.gt_threshold].into_iter().flatten() {
        check((0.0..=1.0).contains(&t.value), &|| {
            err_at(path, t, "thresholds must lie in [0, 1]")
        })?;
    }
    if let Some(r) = &e.bootstrap_resamples {
        check(r.value >= 100, &|| {
            err_at(path, r, "bootstrap_resamples must be at least 100")
        })?;
    }
    if let Some(c) = &e.confidence {
        check(c.value > 0.0 && c.value < 1.0, &|| {
            err_at(
                path,
                c,
                "confidence must lie strictly between 0 and 1, e.g. 0.95",
            )
        })?;
    }
    Ok(EvaluationConfig {
        size: e.size.map(|s| s.value).unwrap_or(224),
        batch: e.batch.map(|s| s.value).unwrap_or(8),
        tau: e.tau.map(|s| s.value).unwrap_or(metrics::DEFAULT_TAU),
        gt_threshold: e
            .gt_threshold
            .map(|s| s.value)
            .unwrap_or(metrics::DEFAULT_GT_THRESHOLD),
        bootstrap_resamples: e.bootstrap_resamples.map(|s| s.value).unwrap_or(1000),
        confidence: e.confidence.map(|s| s.value).unwrap_or(0.95),
    })
}

fn resolve_localizers(
    path: &Path,
    entries: Vec<Spanned<LocalizerEntry>>,
) -> Result<Vec<LocalizerConfig>, SuiteError> {
    if entries.is_empty() {
        return Err(SuiteError {
            path: path.to_path_buf(),
            location: None,
            message: "localizers is empty; list at least one (see `harness list`)".into(),
        });
    }
    let mut out: Vec<LocalizerConfig> = Vec::new();
    for entry in &entries {
        let config = match &entry.value {
            LocalizerEntry::Kind(kind) => LocalizerConfig {
                name: kind.clone(),
                kind: kind.clone(),
                params: Default::default(),
                train: None,
            },
            LocalizerEntry::Full(f) => LocalizerConfig {
                name: f.name.clone().unwrap_or_else(|| f.kind.clone()),
                kind: f.kind.clone(),
                params: f.params.clone(),
                train: f
                    .train
                    .as_ref()
                    .map(|t| resolve_train_step(path, entry, f, t))
                    .transpose()?,
            },
        };
        // Building checks the kind and parameters now, not halfway through a run (a trained
        // localizer with a seeded network of the configured preset: the weights come later).
        let params = match &config.train {
            None => config.params.clone(),
            Some(step) => {
                let mut params = config.params.clone();
                params.insert("weights".into(), "none".into());
                params.insert("preset".into(), step.preset.clone().into());
                params
            }
        };
        localizers::build(&config.kind, &params).map_err(|e| err_at(path, entry, e.to_string()))?;
        if out.iter().any(|c| c.name == config.name) {
            return Err(err_at(
                path,
                entry,
                format!(
                    "two localizers are named '{}'; give one a different `name`",
                    config.name
                ),
            ));
        }
        out.push(config);
    }
    Ok(out)
}

fn resolve_train_step(
    path: &Path,
    entry: &Spanned<LocalizerEntry>,
    localizer: &schema::LocalizerFull,
    config: &str,
) -> Result<TrainStep, SuiteError> {
    let config_path = path.parent().unwrap_or(Path::new(".")).join(config);
    let cfg = crate::train::TrainConfig::load(&config_path)
        .map_err(|e| err_at(path, entry, format!("training step: {e}")))?;
    if cfg.model.kind != localizer.kind {
        return Err(err_at(
            path,
            entry,
            format!(
                "{} trains a '{}' model but this localizer is '{}'",
                config_path.display(),
                cfg.model.kind,
                localizer.kind
            ),
        ));
    }
    for key in ["weights", "preset", "seed"] {
        if localizer.params.contains_key(key) {
            return Err(err_at(
                path,
                entry,
                format!("params.{key} comes from the training step ({config}); remove it"),
            ));
        }
    }
    Ok(TrainStep {
        config: config.to_string(),
        name: cfg.name.clone(),
        hash: cfg.config_hash(),
        quick: false,
        preset: cfg.model.preset.clone(),
        path: config_path,
    })
}

fn resolve_sweep(path: &Path, sweep: &schema::DegradeSpec) -> Result<Vec<Condition>, SuiteError> {
    let op = &sweep.op.value;
    if op == "disorganize" {
        return Err(err_at(
            path,
            &sweep.op,
            "disorganize has no levels; use `tests: {disorganize: true}`",
        ));
    }
    if sweep.levels.is_empty() {
        return Err(err_at(
            path,
            &sweep.op,
            format!("the {op} sweep has no levels"),
        ));
    }
    let filters = match (&sweep.down, &sweep.up) {
        (None, None) => String::new(),
        (down, up) if op == "lowres" => format!(
            ":{}:{}",
            down.as_ref()
                .map(|d| d.value.as_str())
                .unwrap_or("bilinear"),
            up.as_ref().map(|u| u.value.as_str()).unwrap_or("bilinear")
        ),
        (Some(f), _) | (None, Some(f)) => {
            return Err(err_at(
                path,
                f,
                "down/up filters only apply to the lowres degradation",
            ))
        }
    };
    sweep
        .levels
        .iter()
        .map(|level| {
            let text = format!("{op}:{}{filters}", level.value);
            let degradation: Degradation = text.parse().map_err(|e| {
                let at = if op_is_known(op) {
                    level.referenced
                } else {
                    sweep.op.referenced
                };
                SuiteError {
                    path: path.to_path_buf(),
                    location: Some((at.line(), at.column())),
                    message: format!("{e}"),
                }
            })?;
            Ok(Condition {
                key: degradation.to_string(),
                test: degradation.name().to_string(),
                level: degradation.level(),
                degradation: Some(degradation),
            })
        })
        .collect()
}

fn op_is_known(op: &str) -> bool {
    ["jpeg", "blur", "noise", "lowres"].contains(&op)
}
