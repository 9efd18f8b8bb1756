//! `deeplabv3`: FakeLocator's localizer, a DeepLabv3 whose 1-class output goes through the
//! sigmoid limiting layer, with an optional image-level score from `fake_classifier.*`.

use std::path::{Path, PathBuf};

use candle_core::{Device, Tensor};
use serde_json::{Map as JsonMap, Value};

use super::deeplabv3::DeepLabV3;
use super::presets::{DeepLabV3Config, PRESETS};
use super::weights::{checkpoint, new_trainable};
use crate::params::{did_you_mean, Params};
use crate::{InputSize, Localizer, LocalizerError, LocalizerInput, Map, Prediction};

/// ImageNet channel means (RGB) the torchvision backbones were trained with.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// A DeepLabv3 fake-region localizer in evaluation mode.
#[derive(Debug)]
pub struct DeepLabV3Localizer {
    model: DeepLabV3,
    device: Device,
    size: u32,
    max_batch: usize,
}

/// Where the network's parameters come from.
#[derive(Clone, Debug)]
pub enum Weights {
    /// A `.safetensors` or zip-format `.pth` state dict with torchvision names (an image-level
    /// score is produced when it contains `fake_classifier.*`).
    File(PathBuf),
    /// A fresh seeded initialisation (untrained; for tests and smoke runs).
    Seeded(u64),
}

impl DeepLabV3Localizer {
    /// Name in suites and reports.
    pub const NAME: &'static str = "deeplabv3";
    /// Default square input size, pixels.
    pub const DEFAULT_SIZE: u32 = 224;
    /// Default largest batch.
    pub const DEFAULT_MAX_BATCH: usize = 8;

    /// Builds the `preset` network (one of [`PRESETS`]; the auxiliary head is not built),
    /// with weights from `weights`, on `device`, taking `size`×`size` images in batches of at
    /// most `max_batch`.
    pub fn new(
        preset: &str,
        weights: Weights,
        device: Device,
        size: u32,
        max_batch: usize,
    ) -> Result<Self, LocalizerError> {
        let bad = |param: &str, message: String| LocalizerError::BadParameter {
            localizer: Self::NAME.to_string(),
            param: param.to_string(),
            message,
        };
        let mut config = DeepLabV3Config::preset(preset).ok_or_else(|| {
            bad(
                "preset",
                format!(
                    "unknown preset '{preset}'{}; available: {}",
                    did_you_mean(preset, PRESETS.iter().copied()),
                    PRESETS.join(", ")
                ),
            )
        })?;
        if size < 32 {
            return Err(bad(
                "size",
                format!("must be at least 32 pixels (the backbone downsamples 16–32×), got {size}"),
            ));
        }
        if max_batch == 0 {
            return Err(bad("batch", "must be at least 1".to_string()));
        }
        config.aux = false;
        let model = match &weights {
            Weights::File(path) => {
                let vb = checkpoint(path, &device).map_err(|e| bad("weights", e.to_string()))?;
                config.fake_classifier = vb.contains_tensor("fake_classifier.weight");
                DeepLabV3::new(config, 0, vb).map_err(|e| {
                    bad(
                        "weights",
                        format!("'{}' does not fit preset '{preset}': {e}", path.display()),
                    )
                })?
            }
            Weights::Seeded(seed) => {
                new_trainable(config, *seed, &device)
                    .map_err(|e| bad("seed", e.to_string()))?
                    .0
            }
        };
        Ok(Self {
            model,
            device,
            size,
            max_batch,
        })
    }

    /// Builds from JSON parameters: `preset` (default `resnet50`), `weights` (path; absent:
    /// seeded untrained weights from `seed`, default 0), `device` (`cpu`, `cuda` or `cuda:N`;
    /// default `cpu`), `size` (pixels, default 224), `batch` (default 8).
    pub fn build_from_params(params: &JsonMap<String, Value>) -> Result<Self, LocalizerError> {
        let p = NetworkParams::parse(Self::NAME, params)?;
        Self::new(
            p.preset.as_deref().unwrap_or("resnet50"),
            p.weights,
            p.device,
            p.size.unwrap_or(Self::DEFAULT_SIZE),
            p.batch.unwrap_or(Self::DEFAULT_MAX_BATCH),
        )
    }

    /// The underlying network.
    pub fn model(&self) -> &DeepLabV3 {
        &self.model
    }

    /// Flattened sigmoid maps (one per image) and, with a fake classifier, the scores.
    fn predict(&self, x: &Tensor) -> candle_core::Result<MapsAndScores> {
        let output = self.model.forward_t(x, false)?;
        let maps = output
            .fake_map()?
            .squeeze(1)?
            .flatten_from(1)?
            .to_vec2::<f32>()?;
        let scores = output
            .fake_score()?
            .map(|s| s.flatten_all()?.to_vec1::<f32>())
            .transpose()?;
        Ok((maps, scores))
    }
}

/// The JSON construction parameters of the candle localizers; absent ones are `None`.
pub(super) struct NetworkParams {
    /// `preset`: a preset name.
    pub preset: Option<String>,
    /// `weights` (a file path) or, without it, a seeded initialisation from `seed` (default 0).
    pub weights: Weights,
    /// `device`: `cpu` (default), `cuda` or `cuda:N`.
    pub device: Device,
    /// `size`: square input size, pixels.
    pub size: Option<u32>,
    /// `batch`: largest batch.
    pub batch: Option<usize>,
}

impl NetworkParams {
    /// The parameter names [`NetworkParams::parse`] reads.
    pub const NAMES: [&str; 6] = ["preset", "weights", "seed", "device", "size", "batch"];

    /// Reads [`NetworkParams::NAMES`] for the localizer `name`, rejecting any other.
    pub fn parse(name: &str, params: &JsonMap<String, Value>) -> Result<Self, LocalizerError> {
        let p = Params::new(name, params, &Self::NAMES)?;
        let string = |name: &str| -> Result<Option<String>, LocalizerError> {
            match p.raw(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(p.bad(name, format!("must be a string, got {other}"))),
            }
        };
        let weights = match p.raw("weights") {
            None => Weights::Seeded(p.usize_or("seed", 0)? as u64),
            Some(Value::String(path)) => Weights::File(PathBuf::from(path)),
            Some(other) => {
                return Err(p.bad(
                    "weights",
                    format!("must be a file path string, got {other}"),
                ))
            }
        };
        let device = string("device")?.unwrap_or_else(|| "cpu".to_string());
        let device = parse_device(&device).map_err(|m| p.bad("device", m))?;
        let size = p
            .raw("size")
            .map(|_| {
                let size = p.usize_or("size", 0)?;
                u32::try_from(size).map_err(|_| p.bad("size", format!("{size} is too large")))
            })
            .transpose()?;
        let batch = p.raw("batch").map(|_| p.usize_or("batch", 0)).transpose()?;
        Ok(Self {
            preset: string("preset")?,
            weights,
            device,
            size,
            batch,
        })
    }
}

/// Per-image flattened maps and optional per-image scores.
pub(super) type MapsAndScores = (Vec<Vec<f32>>, Option<Vec<f32>>);

/// [`Localizer::localize`] for the candle localizers: packs `batch` (images `size`×`size`) with
/// [`normalized_batch`], runs `predict`, and wraps its maps (each `size`×`size`, flattened) and
/// scores as predictions; errors name the localizer `name` and the image.
pub(super) fn localize_with(
    name: &str,
    batch: &[LocalizerInput<'_>],
    size: u32,
    normalization: ([f32; 3], [f32; 3]),
    device: &Device,
    predict: impl FnOnce(&Tensor) -> candle_core::Result<MapsAndScores>,
) -> Result<Vec<Prediction>, LocalizerError> {
    let failed = |n: usize, message: String| LocalizerError::Failed {
        localizer: name.to_string(),
        image: batch[n].id.to_string(),
        message,
    };
    if batch.is_empty() {
        return Ok(Vec::new());
    }
    let x = normalized_batch(batch, size, normalization, device).map_err(|(n, m)| failed(n, m))?;
    let (maps, scores) = predict(&x).map_err(|e| failed(0, e.to_string()))?;
    maps.into_iter()
        .enumerate()
        .map(|(n, map)| {
            let map = Map::from_raw(size, size, map)
                .ok_or_else(|| failed(n, "map has the wrong number of pixels".into()))?;
            Ok(Prediction {
                map,
                score: scores.as_ref().map(|s| s[n]),
            })
        })
        .collect()
}

/// Packs images (each `size`×`size`) into an `N×3×size×size` tensor, RGB scaled to [0, 1] and
/// normalised per channel with `(mean, std)`; on failure, the offending image's index and why.
fn normalized_batch(
    batch: &[LocalizerInput<'_>],
    size: u32,
    (mean, std): ([f32; 3], [f32; 3]),
    device: &Device,
) -> Result<Tensor, (usize, String)> {
    let s = size as usize;
    let mut data = vec![0f32; batch.len() * 3 * s * s];
    for (n, input) in batch.iter().enumerate() {
        if input.image.dimensions() != (size, size) {
            return Err((
                n,
                format!(
                    "image is {:?}, expected {size}×{size} (the harness resizes to input_size)",
                    input.image.dimensions(),
                ),
            ));
        }
        for (i, pixel) in input.image.pixels().enumerate() {
            for c in 0..3 {
                data[(n * 3 + c) * s * s + i] = (pixel[c] as f32 / 255.0 - mean[c]) / std[c];
            }
        }
    }
    Tensor::from_vec(data, (batch.len(), 3, s, s), device).map_err(|e| (0, e.to_string()))
}

/// `cpu`, `cuda` or `cuda:N` (the latter two need the `cuda` feature).
fn parse_device(name: &str) -> Result<Device, String> {
    let ordinal = match name {
        "cpu" => return Ok(Device::Cpu),
        "cuda" => 0,
        other => other
            .strip_prefix("cuda:")
            .and_then(|n| n.parse::<usize>().ok())
            .ok_or_else(|| format!("unknown device '{other}'; use cpu, cuda or cuda:N"))?,
    };
    Device::new_cuda(ordinal).map_err(|e| {
        format!("cannot open CUDA device {ordinal} ({e}); build with --features cuda on a machine with a GPU, or use cpu")
    })
}

impl Localizer for DeepLabV3Localizer {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn input_size(&self) -> InputSize {
        InputSize::Fixed {
            width: self.size,
            height: self.size,
        }
    }

    fn max_batch(&self) -> usize {
        self.max_batch
    }

    fn localize(
        &mut self,
        batch: &[LocalizerInput<'_>],
    ) -> Result<Vec<Prediction>, LocalizerError> {
        localize_with(
            Self::NAME,
            batch,
            self.size,
            (IMAGENET_MEAN, IMAGENET_STD),
            &self.device,
            |x| self.predict(x),
        )
    }
}

/// Convenience for callers holding a path: [`Weights::File`].
impl From<&Path> for Weights {
    fn from(path: &Path) -> Self {
        Weights::File(path.to_path_buf())
    }
}
