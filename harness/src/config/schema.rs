//! The suite file as written by users (schema version 1). See `docs/suites.md`.
//!
//! Values that need checks beyond their type are `Spanned`, so a bad value is reported with
//! its line and column.

use serde::Deserialize;

pub use crate::data::{GroundTruthPolicy, SourceKind};
use serde_saphyr::Spanned;

/// Top level of a suite YAML file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SuiteFile {
    /// Schema version; only 1 exists.
    pub version: Spanned<u32>,
    /// Suite name: the results directory is `results/runs/<name>/…`.
    pub name: Spanned<String>,
    #[serde(default)]
    pub description: String,
    /// Seed of degradations (per image and level) and bootstrap resampling.
    #[serde(default)]
    pub seed: u64,
    pub data: DataSpec,
    #[serde(default)]
    pub evaluation: EvaluationSpec,
    pub localizers: Vec<Spanned<LocalizerEntry>>,
    #[serde(default)]
    pub tests: TestsSpec,
    #[serde(default)]
    pub report: ReportSpec,
}

/// The `data:` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataSpec {
    #[serde(default)]
    pub source: SourceKind,
    /// Manifest path, relative to the suite file (source: manifest).
    pub manifest: Option<Spanned<String>>,
    /// Split to evaluate on (default test).
    pub split: Option<Spanned<String>>,
    /// Generators to include (default: all).
    pub generators: Option<Vec<Spanned<String>>>,
    /// Properties to include (default: all).
    pub properties: Option<Vec<Spanned<String>>>,
    /// Fake images per (generator, property) category.
    pub fakes_per_category: Option<Spanned<u32>>,
    /// Real images (for image-level ACC/AUC); 0 skips the image-level metrics.
    pub reals: Option<u32>,
    /// Seed of the synthetic benchmark (source: synth).
    pub synth_seed: Option<Spanned<u64>>,
    /// Image side of the synthetic benchmark (source: synth).
    pub synth_size: Option<Spanned<u32>>,
    /// Seed of the crop offsets and manipulations (source: photos).
    pub photo_seed: Option<Spanned<u64>>,
    /// Side of the photo crops, at most 320 (source: photos).
    pub photo_size: Option<Spanned<u32>>,
    /// Crops per photograph (source: photos).
    pub crops_per_photo: Option<Spanned<u32>>,
    /// Share of training batches drawn from this source, when a training config lists several
    /// (relative; default 1). Suites evaluate one source and refuse it.
    pub weight: Option<Spanned<f64>>,
}

/// The `evaluation:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationSpec {
    /// Side of the square evaluation size (default 224).
    pub size: Option<Spanned<u32>>,
    /// Images per localizer call.
    pub batch: Option<Spanned<usize>>,
    /// Binarisation threshold of predicted maps for F1/IoU.
    pub tau: Option<Spanned<f32>>,
    /// Binarisation threshold of the ground truth for F1/IoU and pixel AUC.
    pub gt_threshold: Option<Spanned<f32>>,
    /// Bootstrap resamples for confidence intervals.
    pub bootstrap_resamples: Option<Spanned<usize>>,
    /// Confidence level of the intervals.
    pub confidence: Option<Spanned<f64>>,
}

/// A localizer: either its kind as a plain string, or a mapping.
#[derive(Debug)]
pub enum LocalizerEntry {
    Kind(String),
    Full(LocalizerFull),
}

/// By hand because an untagged enum reports any mistake inside the mapping (an unknown key, a
/// wrong type) only as "did not match any variant"; dispatching on the node keeps the
/// mapping's own message ("unknown field `weights`, expected one of …").
impl<'de> Deserialize<'de> for LocalizerEntry {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Entry;
        impl<'de> serde::de::Visitor<'de> for Entry {
            type Value = LocalizerEntry;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a localizer kind (e.g. `constant`) or a mapping with `kind:`")
            }
            fn visit_str<E: serde::de::Error>(self, kind: &str) -> Result<LocalizerEntry, E> {
                Ok(LocalizerEntry::Kind(kind.to_string()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<LocalizerEntry, A::Error> {
                LocalizerFull::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(LocalizerEntry::Full)
            }
        }
        deserializer.deserialize_any(Entry)
    }
}

/// A localizer with a display name and parameters.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocalizerFull {
    /// Registry kind (`oracle`, `constant`, `resampling`, …).
    pub kind: String,
    /// Name in reports (default: the kind).
    pub name: Option<String>,
    #[serde(default)]
    pub params: serde_json::Map<String, serde_json::Value>,
    /// Training config (relative to the suite file) whose selected checkpoint becomes the
    /// localizer's weights; trained before the run, cached by the config's hash.
    pub train: Option<String>,
}

/// The `tests:` section.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TestsSpec {
    /// Paper Figure 6/7: 2×2 tile shuffle.
    #[serde(default)]
    pub disorganize: bool,
    /// Paper Figure 8: degradation sweeps.
    #[serde(default)]
    pub degrade: Vec<DegradeSpec>,
    /// How ground truth is computed under degradation.
    #[serde(default)]
    pub ground_truth: GroundTruthPolicy,
}

impl Default for TestsSpec {
    fn default() -> Self {
        TestsSpec {
            disorganize: false,
            degrade: Vec::new(),
            ground_truth: GroundTruthPolicy::Degraded,
        }
    }
}

/// One degradation sweep.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DegradeSpec {
    /// Degradation name: jpeg, blur, noise, lowres.
    pub op: Spanned<String>,
    /// Levels of the sweep (quality, kernel size, variance, ratio).
    pub levels: Vec<Spanned<f64>>,
    /// lowres only: downsampling filter (default bilinear).
    pub down: Option<Spanned<String>>,
    /// lowres only: upsampling filter (default bilinear).
    pub up: Option<Spanned<String>>,
}

/// The `report:` section.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportSpec {
    /// Rows of the qualitative figure (paper Figure 1).
    pub qualitative: Option<usize>,
}
