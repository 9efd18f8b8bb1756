//! Suites (docs/suites.md): YAML files validated before anything runs, resolved into a
//! [`Suite`].

use std::path::{Path, PathBuf};

use degradations::Degradation;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::schema::{self, LocalizerEntry, SuiteFile};
use super::training::{self, TrainConfig};
use super::yaml::{check_header, err_at, parse_yaml, read_text, short_hash, ConfigError, Problems};
use crate::data::photos::{self, PhotoConfig};
use crate::data::synth;
use crate::data::{DataConfig, GroundTruthPolicy, SourceKind, Split};
use suggest::did_you_mean;

/// The only suite schema version.
pub const SCHEMA_VERSION: u32 = 1;

/// A fully resolved, validated suite: what `results.json` records and the config hash covers.
#[derive(Debug, Clone, Serialize, Deserialize)]
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

/// Resolved `evaluation:` section.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EvaluationConfig {
    pub size: u32,
    pub batch: usize,
    pub tau: f32,
    pub gt_threshold: f32,
    pub bootstrap_resamples: usize,
    pub confidence: f64,
}

/// A localizer as the suite configures it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LocalizerConfig {
    pub name: String,
    pub kind: String,
    pub params: serde_json::Map<String, serde_json::Value>,
    /// A training step that produces the weights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train: Option<TrainStep>,
}

/// The parameters of each plugin kind that name a file or directory. A subprocess's `command`
/// is a command line, not a path, and stays as written.
const PATH_PARAMS: [(&str, &str); 4] = [
    (localizers::plugin::build::PLUGIN.name, "path"),
    (localizers::plugin::build::SUBPROCESS.name, "cwd"),
    (localizers::plugin::build::TORCHSCRIPT.name, "path"),
    (localizers::plugin::build::SAVED_MAPS.name, "dir"),
];

impl LocalizerConfig {
    /// The parameters the localizer is built with: the training step's checkpoint as `weights`,
    /// and relative plugin paths resolved against `suite_dir` (the suite file's directory), as
    /// `train:` and `data.manifest` are. `params` itself keeps the paths as written, so the
    /// configuration hash does not depend on where the suite is run from.
    pub fn build_params(&self, suite_dir: &Path) -> serde_json::Map<String, serde_json::Value> {
        let mut params = match &self.train {
            Some(step) => step.params_with_weights(&self.params),
            None => self.params.clone(),
        };
        for (_, key) in PATH_PARAMS.iter().filter(|(kind, _)| *kind == self.kind) {
            if let Some(serde_json::Value::String(p)) = params.get_mut(*key) {
                // `join` keeps an absolute path as it is.
                *p = suite_dir.join(&*p).to_string_lossy().into_owned();
            }
        }
        params
    }
}

/// A localizer's training step: `harness train` on `config`, cached under
/// `results/train/<name>-<hash>/`; the selected checkpoint is the localizer's `weights`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TrainStep {
    /// The config path as written (relative to the suite file).
    pub config: String,
    /// The config's name and hash (the hash makes a changed config a different run).
    pub name: String,
    pub hash: String,
    /// Trained with the quick profile ([`TrainConfig::quick`]).
    pub quick: bool,
    /// The model preset the config trains (covered by the hash).
    #[serde(skip)]
    pub preset: String,
    #[serde(skip)]
    pub path: PathBuf,
    /// Parent of the training cache (`results/train` unless `--train-dir` says otherwise);
    /// not part of the configuration hash: where a checkpoint is cached changes no result.
    #[serde(skip)]
    pub train_root: PathBuf,
}

impl TrainStep {
    /// The cached training run of this step.
    pub fn cache_dir(&self) -> PathBuf {
        self.train_root.join(format!("{}-{}", self.name, self.hash))
    }

    /// The step's training config, in the profile the suite runs with.
    pub fn config(&self) -> Result<TrainConfig, ConfigError> {
        let config = TrainConfig::load(&self.path)?;
        Ok(if self.quick { config.quick() } else { config })
    }

    /// The checkpoint the step selects.
    pub fn weights(&self) -> PathBuf {
        self.cache_dir().join(training::BEST_WEIGHTS)
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
#[derive(Debug, Clone, Serialize, Deserialize)]
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
    /// The key (and test) of the unchanged images, every suite's first condition and γ's
    /// reference.
    pub const CLEAN: &'static str = "clean";
    /// The key (and test) of the 2×2 tile shuffle.
    pub const DISORGANIZE: &'static str = "disorganize";

    /// True for the clean condition.
    pub fn is_clean(&self) -> bool {
        self.key == Condition::CLEAN
    }

    fn clean() -> Condition {
        Condition {
            key: Condition::CLEAN.into(),
            test: Condition::CLEAN.into(),
            degradation: None,
            level: None,
        }
    }
}

impl Suite {
    /// Reads, validates and resolves a suite file. Nothing runs on an invalid suite.
    pub fn load(path: &Path) -> Result<Suite, ConfigError> {
        let text = read_text(path, "suite file")?;
        Suite::parse(path, &text)
    }

    /// Validates and resolves suite text; `path` is used for messages and relative paths.
    pub fn parse(path: &Path, text: &str) -> Result<Suite, ConfigError> {
        resolve(path, parse_yaml(path, text)?)
    }

    /// The quick profile (`harness run --quick`): at most 4 fakes per category and 10 reals,
    /// 200 bootstrap resamples, and training steps in their quick profile; `_quick` is
    /// appended to the name so its runs are kept apart.
    pub fn quick(mut self) -> Result<Suite, ConfigError> {
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

    /// A suite as a run directory's `suite.resolved.json` records it (for `harness merge`):
    /// the resolved suite itself, with each condition's degradation parsed back from its key.
    pub fn from_snapshot(path: &Path, text: &str) -> Result<Suite, String> {
        let mut suite: Suite = serde_json::from_str(text)
            .map_err(|e| format!("{}: not a resolved suite: {e}", path.display()))?;
        suite.path = path.to_path_buf();
        for condition in suite.conditions.iter_mut().filter(|c| !c.is_clean()) {
            condition.degradation =
                Some(condition.key.parse().map_err(|e| {
                    format!("{}: condition '{}': {e}", path.display(), condition.key)
                })?);
        }
        for step in suite.localizers.iter_mut().filter_map(|l| l.train.as_mut()) {
            step.train_root = PathBuf::from(training::DEFAULT_TRAIN_ROOT);
        }
        Ok(suite)
    }

    /// The suite with its training steps cached under `root` instead of `results/train`.
    pub fn with_train_root(mut self, root: &Path) -> Suite {
        for step in self.localizers.iter_mut().filter_map(|l| l.train.as_mut()) {
            step.train_root = root.to_path_buf();
        }
        self
    }

    /// The directory that relative paths in the suite are resolved against.
    pub fn dir(&self) -> &Path {
        suite_dir(&self.path)
    }

    /// Short hash of the resolved suite (first 8 hex digits of its canonical JSON's SHA-256).
    pub fn config_hash(&self) -> String {
        short_hash(self)
    }
}

/// The directory of the suite file at `path`: relative paths in a suite (`train:`,
/// `data.manifest`, plugin paths) are resolved against it, not the working directory.
fn suite_dir(path: &Path) -> &Path {
    path.parent().unwrap_or(Path::new("."))
}

fn resolve(path: &Path, file: SuiteFile) -> Result<Suite, ConfigError> {
    let mut problems = Problems::default();
    let name = problems.take(check_header(
        path,
        "suite",
        &file.version,
        SCHEMA_VERSION,
        &file.name,
    ));
    if let Some(weight) = &file.data.weight {
        problems.push(err_at(
            path,
            weight,
            "data.weight weighs the sources of a training config's data list; a suite evaluates one source, remove it",
        ));
    }
    let data = problems.take(resolve_data(path, file.data));
    let evaluation = problems.take(resolve_evaluation(path, file.evaluation));
    let localizers = problems.take(resolve_localizers(path, file.localizers));
    let mut conditions = vec![Condition::clean()];
    if file.tests.disorganize {
        conditions.push(Condition {
            key: Condition::DISORGANIZE.into(),
            test: Condition::DISORGANIZE.into(),
            degradation: Some(Degradation::Disorganize),
            level: None,
        });
    }
    for sweep in &file.tests.degrade {
        if let Some(sweep) = problems.take(resolve_sweep(path, sweep)) {
            conditions.extend(sweep);
        }
    }
    for (i, c) in conditions.iter().enumerate() {
        if conditions[..i].iter().any(|d| d.key == c.key) {
            problems.push(ConfigError {
                path: path.to_path_buf(),
                location: None,
                message: format!(
                    "test condition '{}' appears twice; list each level once",
                    c.key
                ),
            });
        }
    }
    problems.finish()?;
    let (Some(name), Some(data), Some(evaluation), Some(localizers)) =
        (name, data, evaluation, localizers)
    else {
        unreachable!("every part resolved when there is no problem")
    };
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

/// The names given for `what`, each of which must be in `allowed`; every unknown one is a
/// problem at its line.
fn names_in(
    path: &Path,
    what: &str,
    given: Option<Vec<Spanned<String>>>,
    allowed: &[&str],
    problems: &mut Problems,
) -> Vec<String> {
    let given = given.unwrap_or_default();
    for name in &given {
        if !allowed.contains(&name.value.as_str()) {
            problems.push(err_at(
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
    given.into_iter().map(|s| s.value).collect()
}

/// Upper bounds checked at validation, so a typo (an extra zero, a size in bytes) stops with
/// its line instead of an allocation failure or hours of bootstrap after every row is computed.
pub const MAX_EVAL_SIZE: u32 = 4096;
pub const MAX_SYNTH_SIZE: u32 = 2048;
pub const MAX_BATCH: usize = 1024;
pub const MAX_BOOTSTRAP_RESAMPLES: usize = 100_000;

pub(crate) fn resolve_data(path: &Path, data: schema::DataSpec) -> Result<DataConfig, ConfigError> {
    let mut problems = Problems::default();
    let split = match &data.split {
        None => Split::Test,
        Some(s) => problems
            .take(s.value.parse::<Split>().map_err(|_| {
                err_at(
                    path,
                    s,
                    format!("unknown split '{}'; use train, val or test", s.value),
                )
            }))
            .unwrap_or(Split::Test),
    };
    let manifest_path = match (data.source, &data.manifest) {
        (SourceKind::Manifest, None) => {
            problems.push(ConfigError {
                path: path.to_path_buf(),
                location: None,
                message: "data.source is 'manifest' but data.manifest (path to the CSV) is missing"
                    .into(),
            });
            None
        }
        (SourceKind::Manifest, Some(m)) => {
            let p = suite_dir(path).join(&m.value);
            if !p.exists() {
                problems.push(err_at(
                    path,
                    m,
                    format!("manifest {} does not exist", p.display()),
                ));
            }
            Some(p)
        }
        (SourceKind::Synth | SourceKind::Photos, Some(m)) => {
            problems.push(err_at(
                path,
                m,
                "data.manifest is only used with 'source: manifest'",
            ));
            None
        }
        (SourceKind::Synth | SourceKind::Photos, None) => None,
    };
    // Keys of one generated source given with another: say so at the key.
    if data.source != SourceKind::Photos {
        only_with(
            path,
            data.photo_seed.as_ref(),
            "photo_seed",
            "photos",
            &mut problems,
        );
        only_with(
            path,
            data.photo_size.as_ref(),
            "photo_size",
            "photos",
            &mut problems,
        );
        only_with(
            path,
            data.crops_per_photo.as_ref(),
            "crops_per_photo",
            "photos",
            &mut problems,
        );
    } else {
        only_with(
            path,
            data.synth_seed.as_ref(),
            "synth_seed",
            "synth",
            &mut problems,
        );
        only_with(
            path,
            data.synth_size.as_ref(),
            "synth_size",
            "synth",
            &mut problems,
        );
    }
    let photo_config = match data.source {
        SourceKind::Photos => Some(resolve_photos(path, &data, &mut problems)),
        _ => None,
    };
    let (generators, properties) = match data.source {
        SourceKind::Synth => {
            let gens: Vec<&str> = synth::generators().iter().map(|g| g.name).collect();
            let mut props: Vec<&str> = synth::PROPERTIES.to_vec();
            props.push("entire");
            (
                names_in(path, "generator", data.generators, &gens, &mut problems),
                names_in(path, "property", data.properties, &props, &mut problems),
            )
        }
        SourceKind::Photos => {
            let gens: Vec<&str> = photos::partial_generators()
                .chain(photos::full_generators())
                .collect();
            let mut edits: Vec<&str> = photos::EDITS.to_vec();
            edits.push("entire");
            (
                names_in(path, "generator", data.generators, &gens, &mut problems),
                names_in(
                    path,
                    "photo edit (property)",
                    data.properties,
                    &edits,
                    &mut problems,
                ),
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
    let fakes_per_category = match &data.fakes_per_category {
        Some(f) if f.value == 0 => {
            problems.push(err_at(path, f, "fakes_per_category must be at least 1"));
            1
        }
        Some(f) => f.value,
        None => 20,
    };
    let synth_size = match &data.synth_size {
        Some(s) if !(32..=MAX_SYNTH_SIZE).contains(&s.value) => {
            problems.push(err_at(
                path,
                s,
                format!("synth_size must be between 32 and {MAX_SYNTH_SIZE} pixels"),
            ));
            224
        }
        Some(s) => s.value,
        None => 224,
    };
    problems.finish()?;
    Ok(DataConfig {
        source: data.source,
        manifest: data.manifest.map(|m| m.value),
        manifest_path,
        split,
        generators,
        properties,
        fakes_per_category,
        reals: data.reals.unwrap_or(0),
        synth_seed: data.synth_seed.map(|s| s.value).unwrap_or(0),
        synth_size,
        photos: photo_config,
    })
}

/// A problem at `key` when it is given with a source that does not use it.
fn only_with<T>(
    path: &Path,
    key: Option<&Spanned<T>>,
    name: &str,
    source: &str,
    problems: &mut Problems,
) {
    if let Some(k) = key {
        problems.push(err_at(
            path,
            k,
            format!("data.{name} is only used with 'source: {source}'"),
        ));
    }
}

/// The `source: photos` keys: `photo_seed`, `photo_size` (≤ 320) and `crops_per_photo`; a
/// value out of range is a problem and its default stands in.
fn resolve_photos(path: &Path, data: &schema::DataSpec, problems: &mut Problems) -> PhotoConfig {
    let default = PhotoConfig::default();
    let size = match &data.photo_size {
        Some(s) => match photos::size_problem(s.value) {
            Some(problem) => {
                problems.push(err_at(path, s, problem));
                default.size
            }
            None => s.value,
        },
        None => default.size,
    };
    let crops_per_photo = match &data.crops_per_photo {
        Some(c) => match photos::crops_problem(c.value, size) {
            Some(problem) => {
                problems.push(err_at(path, c, problem));
                default.crops_per_photo
            }
            None => c.value,
        },
        None => default.crops_per_photo,
    };
    PhotoConfig {
        seed: data.photo_seed.as_ref().map_or(default.seed, |s| s.value),
        size,
        crops_per_photo,
    }
}

fn resolve_evaluation(
    path: &Path,
    e: schema::EvaluationSpec,
) -> Result<EvaluationConfig, ConfigError> {
    let mut problems = Problems::default();
    let mut check = |ok: bool, error: &dyn Fn() -> ConfigError| {
        if !ok {
            problems.push(error());
        }
    };
    if let Some(s) = &e.size {
        check((11..=MAX_EVAL_SIZE).contains(&s.value), &|| {
            err_at(
                path,
                s,
                format!("evaluation.size must be between 11 (the SSIM window) and {MAX_EVAL_SIZE} (every map is size² floats per image and localizer)"),
            )
        });
    }
    if let Some(b) = &e.batch {
        check((1..=MAX_BATCH).contains(&b.value), &|| {
            err_at(
                path,
                b,
                format!("evaluation.batch must be between 1 and {MAX_BATCH}"),
            )
        });
    }
    for (name, t) in [("tau", &e.tau), ("gt_threshold", &e.gt_threshold)] {
        if let Some(t) = t {
            if let Err(m) = check_threshold(t.value) {
                check(false, &|| err_at(path, t, format!("evaluation.{name} {m}")));
            }
        }
    }
    if let Some(r) = &e.bootstrap_resamples {
        check((100..=MAX_BOOTSTRAP_RESAMPLES).contains(&r.value), &|| {
            err_at(
                path,
                r,
                format!("bootstrap_resamples must be between 100 and {MAX_BOOTSTRAP_RESAMPLES} (each aggregate resamples its images this often)"),
            )
        });
    }
    if let Some(c) = &e.confidence {
        check(c.value > 0.0 && c.value < 1.0, &|| {
            err_at(
                path,
                c,
                "confidence must lie strictly between 0 and 1, e.g. 0.95",
            )
        });
    }
    problems.finish()?;
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

/// Checks a binarisation threshold (`tau`, `gt_threshold`): suites and `harness score` share
/// this rule, so a threshold outside [0, 1] (which makes F1 and IoU meaningless) or NaN is
/// refused everywhere. The message completes "<name> …".
pub fn check_threshold(value: f32) -> Result<(), String> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(format!("must lie in [0, 1], got {value}"))
    }
}

fn resolve_localizers(
    path: &Path,
    entries: Vec<Spanned<LocalizerEntry>>,
) -> Result<Vec<LocalizerConfig>, ConfigError> {
    if entries.is_empty() {
        return Err(ConfigError {
            path: path.to_path_buf(),
            location: None,
            message: "localizers is empty; list at least one (see `harness list`)".into(),
        });
    }
    let mut problems = Problems::default();
    let mut out: Vec<LocalizerConfig> = Vec::new();
    for entry in &entries {
        if let Some(config) = problems.take(resolve_localizer(path, entry, &out)) {
            out.push(config);
        }
    }
    problems.finish()?;
    Ok(out)
}

/// One `localizers:` entry, checked by building it; `earlier` are the entries before it that
/// resolved (names must be unique).
fn resolve_localizer(
    path: &Path,
    entry: &Spanned<LocalizerEntry>,
    earlier: &[LocalizerConfig],
) -> Result<LocalizerConfig, ConfigError> {
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
    let mut params = config.build_params(suite_dir(path));
    if let Some(step) = &config.train {
        params.insert("weights".into(), "none".into());
        params.insert("preset".into(), step.preset.clone().into());
    }
    localizers::build(&config.kind, &params).map_err(|e| err_at(path, entry, e.to_string()))?;
    if earlier.iter().any(|c| c.name == config.name) {
        return Err(err_at(
            path,
            entry,
            format!(
                "two localizers are named '{}'; give one a different `name`",
                config.name
            ),
        ));
    }
    Ok(config)
}

fn resolve_train_step(
    path: &Path,
    entry: &Spanned<LocalizerEntry>,
    localizer: &schema::LocalizerFull,
    config: &str,
) -> Result<TrainStep, ConfigError> {
    let config_path = suite_dir(path).join(config);
    let cfg = TrainConfig::load(&config_path)
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
        train_root: PathBuf::from(training::DEFAULT_TRAIN_ROOT),
    })
}

fn resolve_sweep(path: &Path, sweep: &schema::DegradeSpec) -> Result<Vec<Condition>, ConfigError> {
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
                ConfigError {
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
    degradations::op_info(op).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    mod fuzz {
        use super::*;
        use proptest::prelude::*;

        /// A suite with every section, the seed of the mutations below.
        const VALID: &str = "version: 1\nname: fuzz\nseed: 3\ndata:\n  source: synth\n  split: test\n  generators: [tconv, nearest]\n  fakes_per_category: 2\n  reals: 4\nevaluation:\n  size: 64\n  batch: 4\n  bootstrap_resamples: 100\nlocalizers:\n  - oracle\n  - {kind: constant, name: c, params: {value: 0.5}}\ntests:\n  degrade:\n    - {op: jpeg, levels: [90, 50]}\n  disorganize: true\nreport: {qualitative: 1}\n";

        proptest! {
            #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

            /// Any text from YAML's vocabulary: a suite or an error naming the file, never a panic.
            #[test]
            fn arbitrary_text_never_panics(text in "[a-z0-9:\\-\\[\\]{}&*!|>'\" ,.\n]{0,200}") {
                if let Err(e) = Suite::parse(Path::new("f.yaml"), &text) {
                    prop_assert!(e.to_string().contains("f.yaml"), "{e}");
                }
            }

            /// A valid suite with characters replaced, lines dropped or repeated: no panic.
            #[test]
            fn mutated_suites_never_panic(
                edits in proptest::collection::vec((0usize..420, "[ -~\n]"), 0..5),
                drop_line in proptest::option::of(0usize..22),
                repeat_line in proptest::option::of(0usize..22),
            ) {
                let mut lines: Vec<String> = VALID.lines().map(String::from).collect();
                if let Some(i) = repeat_line.filter(|&i| i < lines.len()) {
                    let line = lines[i].clone();
                    lines.insert(i, line);
                }
                if let Some(i) = drop_line.filter(|&i| i < lines.len()) {
                    lines.remove(i);
                }
                let mut text: Vec<char> = lines.join("\n").chars().collect();
                for (at, c) in edits {
                    if at < text.len() {
                        text[at] = c.chars().next().unwrap();
                    }
                }
                let text: String = text.into_iter().collect();
                let _ = Suite::parse(Path::new("f.yaml"), &text);
            }
        }

        #[test]
        fn the_seed_of_the_mutations_is_a_valid_suite() {
            Suite::parse(Path::new("f.yaml"), VALID).unwrap();
        }
    }

    fn photo_suite(data: &str) -> String {
        format!("version: 1\nname: p\ndata:\n  source: photos\n{data}localizers:\n  - oracle\n")
    }

    fn error(text: &str) -> String {
        Suite::parse(Path::new("s.yaml"), text)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn one_pass_reports_every_problem_in_file_order() {
        let text = "version: 1\n\
                    name: bad name\n\
                    data:\n  source: synth\n  generators: [tconv, nope]\n  synth_size: 9\n\
                    evaluation:\n  tau: 2\n  bootstrap_resamples: 5\n\
                    localizers:\n  - oracle\n  - nonexistent\n  - oracle\n\
                    tests:\n  degrade:\n    - {op: blurr, levels: [3]}\n";
        let expected = [
            ("s.yaml:2:", "name must be"),
            ("s.yaml:5:", "unknown generator 'nope'"),
            ("s.yaml:6:", "synth_size must be between"),
            ("s.yaml:8:", "evaluation.tau must lie in [0, 1]"),
            ("s.yaml:9:", "bootstrap_resamples must be between"),
            ("s.yaml:12:", "nonexistent"),
            ("s.yaml:13:", "two localizers are named 'oracle'"),
            ("s.yaml:16:", "blurr"),
        ];
        crate::config::yaml::assert_problems(&error(text), &expected);
    }

    #[test]
    fn sizes_and_counts_have_upper_bounds_checked_with_their_line() {
        let suite = |data: &str, evaluation: &str| {
            format!("version: 1\nname: b\ndata:\n  source: synth\n{data}evaluation:\n  size: 224\n{evaluation}localizers:\n  - oracle\n")
        };
        let cases = [
            (
                suite("", "  bootstrap_resamples: 1000000000\n"),
                "s.yaml:7:",
                "bootstrap_resamples must be between 100 and 100000",
            ),
            (
                suite("  synth_size: 60000\n", ""),
                "s.yaml:5:",
                "synth_size must be between 32 and 2048",
            ),
            (
                suite("", "  batch: 100000\n").replace("size: 224", "size: 4000000000"),
                "s.yaml:6:",
                "evaluation.size must be between 11",
            ),
            (
                suite("", "  batch: 100000\n"),
                "s.yaml:7:",
                "evaluation.batch must be between 1 and 1024",
            ),
            (
                suite("", "").replace("name: b", &format!("name: {}", "n".repeat(300))),
                "s.yaml:2:",
                "name must be 1 to 100 letters",
            ),
        ];
        for (text, location, message) in cases {
            let e = error(&text);
            assert!(e.starts_with(location) && e.contains(message), "{e}");
        }
        assert!(Suite::parse(
            Path::new("s.yaml"),
            &suite("  synth_size: 2048\n", "  bootstrap_resamples: 100000\n")
        )
        .is_ok());
    }

    #[test]
    fn plugin_paths_resolve_against_the_suite_file_and_commands_stay() {
        let config = |kind: &str, params: serde_json::Value| LocalizerConfig {
            name: kind.into(),
            kind: kind.into(),
            params: params.as_object().unwrap().clone(),
            train: None,
        };
        let dir = Path::new("suites/mine");
        let built = |kind: &str, params: serde_json::Value| {
            serde_json::Value::Object(config(kind, params).build_params(dir))
        };
        assert_eq!(
            built(
                "plugin",
                serde_json::json!({"path": "lib/p.so", "isolate": true})
            )["path"],
            "suites/mine/lib/p.so"
        );
        assert_eq!(
            built("torchscript", serde_json::json!({"path": "../m.pt"}))["path"],
            "suites/mine/../m.pt"
        );
        assert_eq!(
            built("saved_maps", serde_json::json!({"dir": "maps"}))["dir"],
            "suites/mine/maps"
        );
        let sub = built(
            "subprocess",
            serde_json::json!({"command": ["python3", "x.py"], "cwd": "work"}),
        );
        assert_eq!(sub["cwd"], "suites/mine/work");
        assert_eq!(sub["command"], serde_json::json!(["python3", "x.py"]));
        // Absolute paths, other kinds' parameters and a missing `cwd` are left alone.
        let abs = std::env::temp_dir().join("p.so");
        let abs = abs.to_str().unwrap();
        assert_eq!(
            built("plugin", serde_json::json!({"path": abs}))["path"],
            abs
        );
        assert_eq!(
            built("deeplabv3", serde_json::json!({"weights": "w.safetensors"}))["weights"],
            "w.safetensors"
        );
        assert!(built("subprocess", serde_json::json!({"command": ["a"]}))
            .get("cwd")
            .is_none());
    }

    #[test]
    fn photo_source_resolves_with_its_keys() {
        let text = photo_suite(
            "  photo_seed: 5\n  photo_size: 160\n  crops_per_photo: 3\n  properties: [paste, entire]\n",
        );
        let suite = Suite::parse(Path::new("s.yaml"), &text).unwrap();
        assert_eq!(suite.data.source, SourceKind::Photos);
        assert_eq!(
            suite.data.photos,
            Some(PhotoConfig {
                seed: 5,
                size: 160,
                crops_per_photo: 3
            })
        );
        assert_eq!(suite.data.properties, vec!["paste", "entire"]);
        let json = serde_json::to_value(&suite.data).unwrap();
        assert_eq!(json["photos"]["size"], 160);
        // Defaults.
        let suite = Suite::parse(Path::new("s.yaml"), &photo_suite("")).unwrap();
        assert_eq!(suite.data.photos, Some(PhotoConfig::default()));
        // Other sources record no `photos` key (their configuration hash is unchanged).
        let synth = photo_suite("").replace("source: photos", "source: synth");
        let suite = Suite::parse(Path::new("s.yaml"), &synth).unwrap();
        let json = serde_json::to_value(&suite.data).unwrap();
        assert!(json.get("photos").is_none(), "{json}");
    }

    #[test]
    fn photo_config_errors_name_line_and_column() {
        let e = error(&photo_suite("  photo_size: 384\n"));
        assert!(
            e.starts_with("s.yaml:5:15: photo_size 384 is larger than the stored 320×320"),
            "{e}"
        );
        let e = error(&photo_suite("  properties: [paste, hue]\n"));
        assert!(
            e.starts_with("s.yaml:5:23: unknown photo edit (property) 'hue'"),
            "{e}"
        );
        assert!(e.contains("available: brightness, color, contrast, smooth, paste, entire"));
        let e = error(&photo_suite("  properties: [bald]\n"));
        assert!(e.starts_with("s.yaml:5:16: unknown photo edit"), "{e}");
        let e = error(&photo_suite("  photo_size: 120\n  crops_per_photo: 0\n"));
        assert!(
            e.starts_with("s.yaml:6:20: crops_per_photo must be at least 1"),
            "{e}"
        );
        let e = error(&photo_suite("  photo_size: 100\n"));
        assert!(e.contains("multiple of 8"), "{e}");
        let e = error(&photo_suite("  synth_size: 128\n"));
        assert!(
            e.starts_with("s.yaml:5:15: data.synth_size is only used with 'source: synth'"),
            "{e}"
        );
        let synth = photo_suite("  photo_seed: 2\n").replace("source: photos", "source: synth");
        let e = error(&synth);
        assert!(
            e.starts_with("s.yaml:5:15: data.photo_seed is only used with 'source: photos'"),
            "{e}"
        );
        let e = error(&photo_suite("  generators: [tconf]\n"));
        assert!(e.contains("did you mean 'tconv'"), "{e}");
    }

    #[test]
    fn training_configs_take_the_photo_source() {
        let text = "version: 1\nname: t\nmodel: {kind: deeplabv3, preset: resnet10_os16_w8}\n\
                    data:\n  source: photos\n  crops_per_photo: 4\n  photo_size: 320\n";
        let e = TrainConfig::parse(Path::new("t.yaml"), text)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("t.yaml:6:20: crops_per_photo 4 exceeds the 1 distinct"),
            "{e}"
        );
        let text = text.replace("photo_size: 320", "photo_size: 224");
        let config = TrainConfig::parse(Path::new("t.yaml"), &text).unwrap();
        assert_eq!(
            (config.data.split, config.val.split),
            (Split::Train, Split::Val)
        );
        assert_eq!(config.data.photos.as_ref().unwrap().crops_per_photo, 4);
        assert_eq!(config.val.photos, config.data.photos);
    }
}
