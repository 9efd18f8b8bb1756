//! `deeplabv3`: FakeLocator's localizer, a DeepLabv3 whose 1-class output goes through the
//! sigmoid limiting layer, with an optional image-level score from `fake_classifier.*`.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde_json::{Map as JsonMap, Value};

use super::deeplabv3::DeepLabV3;
use super::presets::{DeepLabV3Config, PRESETS};
use super::weights::{checkpoint, checkpoint_file_metadata, checkpoint_metadata, new_trainable};
use crate::params::{did_you_mean, Params};
use crate::{InputSize, Localizer, LocalizerError, LocalizerInput, Map, Prediction};

/// ImageNet channel means (RGB) the torchvision backbones were trained with.
pub const IMAGENET_MEAN: [f32; 3] = [0.485, 0.456, 0.406];
/// ImageNet channel standard deviations (RGB).
pub const IMAGENET_STD: [f32; 3] = [0.229, 0.224, 0.225];

/// Per-image flattened maps and optional per-image scores.
type MapsAndScores = (Vec<Vec<f32>>, Option<Vec<f32>>);

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
    /// The checkpoint compiled into the harness ([`BUNDLED_DEEPLABV3`]).
    Bundled,
    /// A fresh seeded initialisation (untrained; for tests and smoke runs).
    Seeded(u64),
}

/// The bundled DeepLabv3 checkpoint (`models/deeplabv3_synth.safetensors`, written by
/// `harness train configs/deeplabv3_synth.yaml`; docs/training.md), compiled in so the
/// localizer works from any directory without downloads.
pub static BUNDLED_DEEPLABV3: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../models/deeplabv3_synth.safetensors"
));

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
            Weights::Bundled => {
                let vb = VarBuilder::from_buffered_safetensors(
                    BUNDLED_DEEPLABV3.to_vec(),
                    DType::F32,
                    &device,
                )
                .map_err(|e| bad("weights", format!("bundled checkpoint: {e}")))?;
                config.fake_classifier = vb.contains_tensor("fake_classifier.weight");
                DeepLabV3::new(config, 0, vb).map_err(|e| {
                    bad(
                        "preset",
                        format!("the bundled checkpoint does not fit preset '{preset}': {e}"),
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

    /// Builds from JSON parameters: `weights` (`bundled`, the default; `none` for seeded,
    /// untrained weights from `seed`, default 0; or a `.safetensors`/`.pth` path), `preset`
    /// (default: the one recorded in the checkpoint, else `resnet50`), `device` (`cpu`,
    /// `cuda` or `cuda:N`; default `cpu`), `size` (pixels; default: the checkpoint's training
    /// input size, else 224), `batch` (default 8).
    pub fn build_from_params(params: &JsonMap<String, Value>) -> Result<Self, LocalizerError> {
        let p = Params::new(
            Self::NAME,
            params,
            &["preset", "weights", "seed", "device", "size", "batch"],
        )?;
        let string = |name: &str| -> Result<Option<String>, LocalizerError> {
            match p.raw(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(p.bad(name, format!("must be a string, got {other}"))),
            }
        };
        let weights = match string("weights")?.as_deref() {
            None | Some("bundled") => Weights::Bundled,
            Some("none") => Weights::Seeded(p.usize_or("seed", 0)? as u64),
            Some(path) => Weights::File(PathBuf::from(path)),
        };
        if p.raw("seed").is_some() && !matches!(weights, Weights::Seeded(_)) {
            return Err(p.bad(
                "seed",
                "only applies with weights: none (a seeded, untrained network)".into(),
            ));
        }
        let recorded = match &weights {
            Weights::File(path) => {
                checkpoint_file_metadata(path).map_err(|e| p.bad("weights", e.to_string()))?
            }
            Weights::Bundled => checkpoint_metadata(BUNDLED_DEEPLABV3)
                .map_err(|e| p.bad("weights", format!("bundled checkpoint: {e}")))?,
            Weights::Seeded(_) => Default::default(),
        };
        if let Some(kind) = recorded.get("harness.kind").filter(|k| *k != Self::NAME) {
            return Err(p.bad(
                "weights",
                format!("the checkpoint was trained as a '{kind}' model, not {}; use localizer kind '{kind}'", Self::NAME),
            ));
        }
        let preset = match (string("preset")?, recorded.get("harness.preset")) {
            (Some(given), Some(saved)) if &given != saved => {
                return Err(p.bad(
                    "preset",
                    format!("'{given}' differs from the checkpoint's preset '{saved}'; omit preset to use it"),
                ))
            }
            (Some(given), _) => given,
            (None, Some(saved)) => saved.clone(),
            (None, None) => "resnet50".to_string(),
        };
        let device = parse_device(&string("device")?.unwrap_or_else(|| "cpu".into()))
            .map_err(|m| p.bad("device", m))?;
        let recorded_size = recorded
            .get("harness.input_size")
            .and_then(|s| s.parse::<usize>().ok())
            .unwrap_or(Self::DEFAULT_SIZE as usize);
        let size = p.usize_or("size", recorded_size)?;
        let size =
            u32::try_from(size).map_err(|_| p.bad("size", format!("{size} is too large")))?;
        let batch = p.usize_or("batch", Self::DEFAULT_MAX_BATCH)?;
        Self::new(&preset, weights, device, size, batch)
    }

    /// The underlying network.
    pub fn model(&self) -> &DeepLabV3 {
        &self.model
    }

    /// Packs images (already `size`×`size`) into an ImageNet-normalised `N×3×size×size` tensor.
    fn to_tensor(&self, batch: &[LocalizerInput<'_>]) -> Result<Tensor, LocalizerError> {
        let s = self.size as usize;
        let mut data = vec![0f32; batch.len() * 3 * s * s];
        for (n, input) in batch.iter().enumerate() {
            if input.image.dimensions() != (self.size, self.size) {
                return Err(self.failed(
                    input.id,
                    format!(
                        "image is {:?}, expected {}×{} (the harness resizes to input_size)",
                        input.image.dimensions(),
                        self.size,
                        self.size
                    ),
                ));
            }
            for (i, pixel) in input.image.pixels().enumerate() {
                for c in 0..3 {
                    data[(n * 3 + c) * s * s + i] =
                        (pixel[c] as f32 / 255.0 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
                }
            }
        }
        Tensor::from_vec(data, (batch.len(), 3, s, s), &self.device)
            .map_err(|e| self.failed(batch[0].id, e.to_string()))
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

    fn failed(&self, image: &str, message: String) -> LocalizerError {
        LocalizerError::Failed {
            localizer: Self::NAME.to_string(),
            image: image.to_string(),
            message,
        }
    }
}

/// `cpu`, `cuda` or `cuda:N` (the latter two need the `cuda` feature).
pub fn parse_device(name: &str) -> Result<Device, String> {
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
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        let x = self.to_tensor(batch)?;
        let id = batch[0].id;
        let (maps, scores) = self
            .predict(&x)
            .map_err(|e| self.failed(id, e.to_string()))?;
        maps.into_iter()
            .enumerate()
            .map(|(n, map)| {
                let map = Map::from_raw(self.size, self.size, map).ok_or_else(|| {
                    self.failed(batch[n].id, "map has the wrong number of pixels".into())
                })?;
                Ok(Prediction {
                    map,
                    score: scores.as_ref().map(|s| s[n]),
                })
            })
            .collect()
    }
}

/// Convenience for callers holding a path: [`Weights::File`].
impl From<&Path> for Weights {
    fn from(path: &Path) -> Self {
        Weights::File(path.to_path_buf())
    }
}
