//! Training configuration files (`harness train CONFIG.yaml`; docs/training.md), validated
//! before anything runs, with `file:line:column` errors like suites.

use std::path::{Path, PathBuf};

use localizers::models::losses::{MapLoss, MAP_LOSSES};
use localizers::models::{ModelSpec, XceptionConfig, TRAINABLE_KINDS};
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::schema::DataSpec;
use super::suite::resolve_data;
use super::yaml::{
    check_header, err_at, parse_yaml, read_text, sha256_hex, short_hash, ConfigError, Problems,
};
use crate::data::{DataConfig, Split};
use suggest::did_you_mean;

/// Files of a training directory.
pub const BEST_WEIGHTS: &str = "best.safetensors";

/// `results/train/<name>-<config hash>`: where a config trains unless told otherwise, and
/// where a suite looks for the cached checkpoint.
pub fn default_dir(config: &TrainConfig) -> PathBuf {
    cache_dir(&config.name, &config.config_hash())
}

/// Where training runs are cached unless told otherwise (relative to the working directory,
/// like `results/runs`).
pub const DEFAULT_TRAIN_ROOT: &str = "results/train";

/// `results/train/<name>-<hash>`.
pub fn cache_dir(name: &str, hash: &str) -> PathBuf {
    PathBuf::from(DEFAULT_TRAIN_ROOT).join(format!("{name}-{hash}"))
}

/// The only training-config schema version.
pub const TRAIN_SCHEMA_VERSION: u32 = 1;

/// A training config file as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainFile {
    version: Spanned<u32>,
    name: Spanned<String>,
    #[serde(default)]
    description: String,
    #[serde(default)]
    seed: u64,
    model: ModelSection,
    data: DataSection,
    #[serde(default)]
    training: TrainingSection,
}

/// `data:` as written: one source (a mapping), or a list of sources each with a `weight`.
#[derive(Debug)]
enum DataSection {
    One(Box<DataSpec>),
    Many(Vec<DataSpec>),
}

/// By hand because serde's untagged enums buffer the input and lose the line and column of
/// every value inside (`Spanned`); this dispatches on the YAML node instead.
impl<'de> Deserialize<'de> for DataSection {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Section;
        impl<'de> serde::de::Visitor<'de> for Section {
            type Value = DataSection;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a data source (a mapping with `source:`) or a list of them")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<DataSection, A::Error> {
                DataSpec::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(|spec| DataSection::One(Box::new(spec)))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<DataSection, A::Error> {
                let mut sources = Vec::new();
                while let Some(spec) = seq.next_element()? {
                    sources.push(spec);
                }
                Ok(DataSection::Many(sources))
            }
        }
        deserializer.deserialize_any(Section)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelSection {
    kind: Spanned<String>,
    preset: Option<Spanned<String>>,
    classifier: Option<Spanned<bool>>,
    /// Checkpoint to start from instead of a random initialisation (relative to the config).
    init: Option<Spanned<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct TrainingSection {
    input_size: Option<Spanned<u32>>,
    batch: Option<Spanned<usize>>,
    steps: Option<Spanned<usize>>,
    loss: Option<Spanned<String>>,
    cosine_weight: Option<Spanned<f64>>,
    classifier_weight: Option<Spanned<f64>>,
    real_fraction: Option<Spanned<f64>>,
    entire_fraction: Option<Spanned<f64>>,
    lr: Option<Spanned<f64>>,
    betas: Option<Spanned<[f64; 2]>>,
    weight_decay: Option<Spanned<f64>>,
    eps: Option<Spanned<f64>>,
    val_every: Option<Spanned<usize>>,
    val_per_category: Option<Spanned<u32>>,
    val_reals: Option<u32>,
    selection: Option<Selection>,
    device: Option<String>,
    augment: Option<AugmentSection>,
}

/// `training.augment:` as written.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AugmentSection {
    probability: Option<Spanned<f64>>,
    ops: Vec<Spanned<AugmentOpSpec>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AugmentOpSpec {
    op: String,
    min: Option<f64>,
    max: Option<f64>,
}

/// Degradations applied to training and validation images (docs/training.md): with
/// `probability`, one op drawn uniformly from `ops` at a level drawn uniformly from its range.
/// The ground truth stays that of the clean manipulation (tiles follow `disorganize`), so the
/// network learns to find the edit through the degradation, and real images stay real.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Augment {
    pub probability: f64,
    pub ops: Vec<AugmentOp>,
}

/// One augmentation op and its level range (`degradations` text form: `jpeg` quality, `blur`
/// kernel, `noise` variance, `lowres` ratio; `disorganize` has none).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AugmentOp {
    pub op: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
}

/// A checkpoint training starts from (`model.init`).
#[derive(Clone, Debug, Serialize)]
pub struct InitWeights {
    /// As written in the config (relative to it), so the config hash is the same on every
    /// machine.
    pub path: String,
    /// SHA-256 of the file: another file under the same name is another config.
    pub sha256: String,
    #[serde(skip)]
    pub resolved: PathBuf,
}

/// One source of a training mix: its share of the batches, training pool and validation set.
#[derive(Clone, Debug, Serialize)]
pub struct TrainSource {
    pub weight: f64,
    pub data: DataConfig,
    pub val: DataConfig,
}

/// How the checkpoint kept as `best.safetensors` is chosen on the validation split.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Lowest validation loss (the training objective).
    ValLoss,
    /// Highest mean COSS over the validation fakes.
    ValCoss,
}

/// A validated training configuration; its hash names the output directory and the cache
/// entry a suite reuses.
#[derive(Clone, Debug, Serialize)]
pub struct TrainConfig {
    #[serde(skip)]
    pub path: PathBuf,
    pub version: u32,
    pub name: String,
    pub description: String,
    /// Seeds initialisation, batch sampling and dropout.
    pub seed: u64,
    pub model: ModelSpec,
    /// Start from these weights instead of a random initialisation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init: Option<InitWeights>,
    /// Training pool (split `train`) of the first source; `fakes_per_category`/`reals` cap it
    /// (default: all).
    pub data: DataConfig,
    /// Validation images (split `val`) of the first source, used to select the checkpoint.
    pub val: DataConfig,
    /// Every source with its weight when `data:` lists several (the first is `data`/`val`);
    /// empty for one source, so older configs keep their hash.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mix: Vec<TrainSource>,
    /// Square network input, pixels.
    pub input_size: u32,
    pub batch: usize,
    pub steps: usize,
    pub loss: MapLoss,
    /// Weight of an added cosine term (`1 − COSS`, [`MapLoss::Cosine`]) on the map; 0 = none.
    /// Omitted from the serialised config when 0, so older configs keep their hash.
    #[serde(skip_serializing_if = "is_zero")]
    pub cosine_weight: f64,
    /// Weight of the classifier loss (when the model has a classifier).
    pub classifier_weight: f64,
    /// Probability that a training image is a real (unmanipulated) one.
    pub real_fraction: f64,
    /// Probability that a training fake is a full synthesis (`entire`); `None` draws fakes
    /// uniformly. Omitted from the serialised config when unset, so older configs keep their
    /// hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entire_fraction: Option<f64>,
    pub lr: f64,
    pub betas: [f64; 2],
    pub weight_decay: f64,
    pub eps: f64,
    /// Validate and checkpoint every this many steps (and after the last).
    pub val_every: usize,
    pub selection: Selection,
    /// `cpu`, `cuda` or `cuda:N`.
    pub device: String,
    /// Degradations as augmentation; none when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub augment: Option<Augment>,
}

fn is_zero(x: &f64) -> bool {
    *x == 0.0
}

/// Default input side: DeepLabv3 at 224 (the evaluation size), Xception at its preset's size
/// (299 for the full network, as DFFD).
fn default_input_size(model: &ModelSpec) -> u32 {
    match model.kind.as_str() {
        "stehouwer" => XceptionConfig::preset(&model.preset).map_or(299, |c| c.input_size as u32),
        _ => 224,
    }
}

fn default_preset(kind: &str) -> &'static str {
    if kind == "stehouwer" {
        "xception"
    } else {
        "resnet50"
    }
}

impl TrainConfig {
    /// Reads and validates a training config.
    pub fn load(path: &Path) -> Result<TrainConfig, ConfigError> {
        let text = read_text(path, "training config")?;
        TrainConfig::parse(path, &text)
    }

    /// Validates config text; `path` is used in messages and for relative manifest paths.
    pub fn parse(path: &Path, text: &str) -> Result<TrainConfig, ConfigError> {
        resolve(path, parse_yaml(path, text)?)
    }

    /// The quick profile (`--quick`): a tenth of the steps (at least 10), at most 4 validation
    /// fakes per category and 10 validation reals; `_quick` is appended to the name so its
    /// checkpoints are cached apart.
    pub fn quick(mut self) -> TrainConfig {
        self.name.push_str("_quick");
        self.steps = (self.steps / 10).max(10);
        self.val_every = (self.val_every / 10).clamp(1, self.steps);
        for val in std::iter::once(&mut self.val).chain(self.mix.iter_mut().map(|s| &mut s.val)) {
            val.fakes_per_category = val.fakes_per_category.min(4);
            val.reals = val.reals.min(10);
        }
        self
    }

    /// The training sources with their weights (one of weight 1 unless `data:` lists several).
    pub fn sources(&self) -> Vec<TrainSource> {
        if self.mix.is_empty() {
            vec![TrainSource {
                weight: 1.0,
                data: self.data.clone(),
                val: self.val.clone(),
            }]
        } else {
            self.mix.clone()
        }
    }

    /// First 8 hex digits of the SHA-256 of the resolved config's canonical JSON.
    pub fn config_hash(&self) -> String {
        short_hash(self)
    }

    /// The map objective as a user reads it: `l1`, `l1 + cosine`, `l1 + 0.5·cosine`.
    pub fn objective_name(&self) -> String {
        match self.cosine_weight {
            0.0 => self.loss.to_string(),
            1.0 => format!("{} + cosine", self.loss),
            w => format!("{} + {w}·cosine", self.loss),
        }
    }
}

fn resolve(path: &Path, file: TrainFile) -> Result<TrainConfig, ConfigError> {
    // One pass names every problem (a value out of range stands in with its default).
    let mut problems = Problems::default();
    let name = problems.take(check_header(
        path,
        "training config",
        &file.version,
        TRAIN_SCHEMA_VERSION,
        &file.name,
    ));
    let kind = &file.model.kind;
    if !TRAINABLE_KINDS.contains(&kind.value.as_str()) {
        problems.push(err_at(
            path,
            kind,
            format!(
                "unknown model kind '{}'{}; available: {}",
                kind.value,
                did_you_mean(&kind.value, TRAINABLE_KINDS.iter().copied()),
                TRAINABLE_KINDS.join(", ")
            ),
        ));
    }
    let kind = kind.value.clone();
    let classifier = match &file.model.classifier {
        Some(c) if kind == "stehouwer" && !c.value => {
            problems.push(err_at(
                path,
                c,
                "the Stehouwer baseline always has its 2-way classifier (its loss is L1 + cross-entropy); remove 'classifier: false'",
            ));
            true
        }
        Some(c) => c.value,
        None => true,
    };
    let init = file
        .model
        .init
        .as_ref()
        .and_then(|init| problems.take(resolve_init(path, init)));
    let model = ModelSpec {
        preset: file
            .model
            .preset
            .map(|p| p.value)
            .unwrap_or_else(|| default_preset(&kind).to_string()),
        kind,
        classifier,
    };
    let t = file.training;
    if let Some(v) = &t.val_per_category {
        if v.value == 0 {
            problems.push(err_at(
                path,
                v,
                "training.val_per_category must be at least 1",
            ));
        }
    }
    let mut mix = problems
        .take(resolve_sources(path, file.data))
        .unwrap_or_default();
    for source in &mut mix {
        if let Some(v) = &t.val_per_category {
            source.val.fakes_per_category = v.value.max(1);
        }
        if let Some(r) = t.val_reals {
            source.val.reals = r;
        }
    }
    let first = mix.first().map(|s| (s.data.clone(), s.val.clone()));
    if mix.len() == 1 {
        mix.clear();
    }
    let augment = t
        .augment
        .and_then(|a| problems.take(resolve_augment(path, a)));
    let positive = |v: &Option<Spanned<usize>>, what: &str, default: usize| match v {
        Some(s) if s.value == 0 => Err(err_at(
            path,
            s,
            format!("training.{what} must be at least 1"),
        )),
        Some(s) => Ok(s.value),
        None => Ok(default),
    };
    let batch = problems.take(positive(&t.batch, "batch", 8)).unwrap_or(8);
    let steps = problems
        .take(positive(&t.steps, "steps", 1000))
        .unwrap_or(1000);
    let default_val_every = steps.div_ceil(10);
    let val_every = problems
        .take(positive(&t.val_every, "val_every", default_val_every))
        .unwrap_or(default_val_every);
    let input_size = match &t.input_size {
        Some(s) if s.value < 32 => {
            problems.push(err_at(
                path,
                s,
                "training.input_size must be at least 32 pixels",
            ));
            default_input_size(&model)
        }
        Some(s) => s.value,
        None => default_input_size(&model),
    };
    let loss = match &t.loss {
        None => MapLoss::L1,
        Some(s) => problems
            .take(s.value.parse::<MapLoss>().map_err(|message| {
                err_at(
                    path,
                    s,
                    format!(
                        "{message}{}",
                        did_you_mean(&s.value, MAP_LOSSES.iter().copied())
                    ),
                )
            }))
            .unwrap_or(MapLoss::L1),
    };
    let unit = |v: &Option<Spanned<f64>>, what: &str, default: f64, lo: f64, hi: f64| match v {
        Some(s) if !(lo..=hi).contains(&s.value) => Err(err_at(
            path,
            s,
            format!("training.{what} must lie in [{lo}, {hi}], got {}", s.value),
        )),
        Some(s) => Ok(s.value),
        None => Ok(default),
    };
    let mut unit_or_default =
        |v: &Option<Spanned<f64>>, what: &str, default: f64, lo: f64, hi: f64| {
            problems
                .take(unit(v, what, default, lo, hi))
                .unwrap_or(default)
        };
    let cosine_weight = unit_or_default(&t.cosine_weight, "cosine_weight", 0.0, 0.0, 1e6);
    let classifier_weight =
        unit_or_default(&t.classifier_weight, "classifier_weight", 1.0, 0.0, 1e6);
    let real_fraction = unit_or_default(&t.real_fraction, "real_fraction", 0.25, 0.0, 1.0);
    let entire_fraction = t
        .entire_fraction
        .as_ref()
        .map(|_| unit_or_default(&t.entire_fraction, "entire_fraction", 0.0, 0.0, 1.0));
    let lr = unit_or_default(&t.lr, "lr", 1e-4, 0.0, 10.0);
    let weight_decay = unit_or_default(&t.weight_decay, "weight_decay", 1e-7, 0.0, 1.0);
    let eps = unit_or_default(&t.eps, "eps", 1e-8, 0.0, 1.0);
    let betas = match &t.betas {
        Some(b) if !b.value.iter().all(|x| (0.0..1.0).contains(x)) => {
            problems.push(err_at(
                path,
                b,
                "training.betas must both lie in [0, 1), e.g. [0.99, 0.999]",
            ));
            [0.99, 0.999]
        }
        Some(b) => b.value,
        // FakeLocator's Adam settings (docs/design.md §6).
        None => [0.99, 0.999],
    };
    problems.finish()?;
    let (Some(name), Some((data, val))) = (name, first) else {
        unreachable!("every part resolved when there is no problem")
    };
    Ok(TrainConfig {
        path: path.to_path_buf(),
        version: TRAIN_SCHEMA_VERSION,
        name,
        description: file.description,
        seed: file.seed,
        model,
        init,
        data,
        val,
        mix,
        input_size,
        batch,
        steps,
        loss,
        cosine_weight,
        classifier_weight,
        real_fraction,
        entire_fraction,
        lr,
        betas,
        weight_decay,
        eps,
        val_every,
        selection: t.selection.unwrap_or(Selection::ValLoss),
        device: t.device.unwrap_or_else(|| "cpu".into()),
        augment,
    })
}

/// `data:` as one source or a weighted list.
fn resolve_sources(path: &Path, section: DataSection) -> Result<Vec<TrainSource>, ConfigError> {
    let specs = match section {
        DataSection::One(spec) => {
            if let Some(w) = &spec.weight {
                return Err(err_at(
                    path,
                    w,
                    "data.weight weighs the sources of a list; with one source, remove it",
                ));
            }
            vec![*spec]
        }
        DataSection::Many(specs) if specs.is_empty() => {
            return Err(ConfigError {
                path: path.to_path_buf(),
                location: None,
                message: "data: is an empty list; give one source (source: synth, photos or manifest) or several".into(),
            })
        }
        DataSection::Many(specs) => specs,
    };
    specs
        .into_iter()
        .map(|spec| {
            let weight = match &spec.weight {
                Some(w) if !(w.value.is_finite() && w.value > 0.0) => {
                    return Err(err_at(
                        path,
                        w,
                        format!("data weight must be a positive number, got {}", w.value),
                    ))
                }
                Some(w) => w.value,
                None => 1.0,
            };
            let (data, val) = resolve_splits(path, spec)?;
            Ok(TrainSource { weight, data, val })
        })
        .collect()
}

/// `model.init`: the file must exist; its hash enters the config hash.
fn resolve_init(path: &Path, init: &Spanned<String>) -> Result<InitWeights, ConfigError> {
    let resolved = path.parent().unwrap_or(Path::new(".")).join(&init.value);
    let bytes = std::fs::read(&resolved).map_err(|e| {
        err_at(
            path,
            init,
            format!(
                "model.init: cannot read {} ({e}); give a .safetensors checkpoint, relative to this config",
                resolved.display()
            ),
        )
    })?;
    Ok(InitWeights {
        path: init.value.clone(),
        sha256: sha256_hex(&bytes),
        resolved,
    })
}

/// `training.augment`: every op known, every range valid for its op.
fn resolve_augment(path: &Path, section: AugmentSection) -> Result<Augment, ConfigError> {
    let probability = match &section.probability {
        Some(p) if !(0.0..=1.0).contains(&p.value) => {
            return Err(err_at(
                path,
                p,
                format!(
                    "training.augment.probability must lie in [0, 1], got {}",
                    p.value
                ),
            ))
        }
        Some(p) => p.value,
        None => 0.5,
    };
    let mut ops = Vec::new();
    for spec in &section.ops {
        let op = &spec.value;
        let known: Vec<&str> = degradations::OPS.iter().map(|o| o.name).collect();
        if !known.contains(&op.op.as_str()) {
            return Err(err_at(
                path,
                spec,
                format!(
                    "unknown augmentation op '{}'{}; available: {}",
                    op.op,
                    did_you_mean(&op.op, known.iter().copied()),
                    known.join(", ")
                ),
            ));
        }
        let resolved = AugmentOp {
            op: op.op.clone(),
            min: op.min,
            max: op.max,
        };
        let problem = match (op.op.as_str(), op.min, op.max) {
            ("disorganize", None, None) => None,
            ("disorganize", _, _) => {
                Some("disorganize has no level: remove min and max".to_string())
            }
            (_, Some(lo), Some(hi)) if lo > hi => Some(format!("min {lo} is above max {hi}")),
            (_, Some(lo), Some(hi)) => [lo, hi]
                .iter()
                .find_map(|&level| resolved.at(level).err())
                .map(|e| format!("level out of range: {e}")),
            _ => Some(format!(
                "give the level range of '{}' as min and max",
                op.op
            )),
        };
        if let Some(problem) = problem {
            return Err(err_at(path, spec, format!("training.augment: {problem}")));
        }
        ops.push(resolved);
    }
    if ops.is_empty() {
        return Err(ConfigError {
            path: path.to_path_buf(),
            location: None,
            message: "training.augment.ops is empty; list at least one op or remove augment".into(),
        });
    }
    Ok(Augment { probability, ops })
}

impl AugmentOp {
    /// The degradation at `level` (ignored by `disorganize`), through the degradations
    /// crate's own text form and its checks.
    pub fn at(&self, level: f64) -> Result<degradations::Degradation, String> {
        let text = match self.op.as_str() {
            "disorganize" => self.op.clone(),
            "jpeg" | "blur" => format!("{}:{}", self.op, level.round() as i64),
            _ => format!("{}:{level}", self.op),
        };
        text.parse::<degradations::Degradation>()
            .map_err(|e| e.to_string())
    }
}

/// The training pool (every matching image of `train` unless capped) and the validation set
/// (by default 2 fakes per category and 20 reals of `val`).
fn resolve_splits(path: &Path, spec: DataSpec) -> Result<(DataConfig, DataConfig), ConfigError> {
    if let Some(split) = &spec.split {
        return Err(err_at(
            path,
            split,
            "a training config has no data.split: it trains on 'train' and selects the checkpoint on 'val' (never 'test'); remove the key",
        ));
    }
    let capped_fakes = spec.fakes_per_category.is_some();
    let capped_reals = spec.reals.is_some();
    let mut data = resolve_data(path, spec)?;
    data.split = Split::Train;
    if !capped_fakes {
        data.fakes_per_category = u32::MAX;
    }
    if !capped_reals {
        data.reals = u32::MAX;
    }
    let val = DataConfig {
        split: Split::Val,
        fakes_per_category: 2,
        reals: 20,
        ..data.clone()
    };
    Ok((data, val))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_pass_reports_every_problem_in_file_order() {
        let text = "version: 1\nname: t\nmodel: {kind: deeplab}\ndata:\n  source: synth\ntraining:\n  batch: 0\n  lr: 20\n  input_size: 8\n";
        let e = TrainConfig::parse(Path::new("t.yaml"), text)
            .unwrap_err()
            .to_string();
        let expected = [
            ("t.yaml:3:", "did you mean 'deeplabv3'"),
            ("t.yaml:7:", "training.batch must be at least 1"),
            ("t.yaml:8:", "training.lr must lie in"),
            ("t.yaml:9:", "training.input_size must be at least 32"),
        ];
        crate::config::yaml::assert_problems(&e, &expected);
    }
}
