//! `deeplabv3`: FakeLocator's localizer, a DeepLabv3 whose 1-class output goes through the
//! sigmoid limiting layer, with an optional image-level score from `fake_classifier.*`.

use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use image::RgbImage;
use rayon::prelude::*;
use serde_json::{Map as JsonMap, Value};

use crate::deeplabv3::DeepLabV3;
use crate::preprocess::to_input_tensor;
use crate::presets::{DeepLabV3Config, PRESETS};
use crate::weights::{checkpoint, checkpoint_file_metadata, checkpoint_metadata, new_seeded};
use localizer_api::params::{suggestion, Params};
use localizer_api::{InputSize, Localizer, LocalizerError, LocalizerInput, Map, Prediction};

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
    /// A checkpoint compiled into the harness (safetensors bytes, e.g. [`BUNDLED_DEEPLABV3`]).
    Bundled(&'static [u8]),
    /// A fresh seeded initialisation (untrained; for tests and smoke runs).
    Seeded(u64),
}

/// The bundled DeepLabv3 checkpoint (`models/checkpoints/deeplabv3_real.safetensors`: stage 3 of
/// docs/training.md, `harness train configs/deeplabv3_real.yaml`, which fine-tunes stage 2's
/// `deeplabv3_robust` on faces and real photographs edited by the benchmark's decoders and by
/// plain resamplers, with degradation augmentation), compiled in so the localizer works from any
/// directory without downloads.
pub static BUNDLED_DEEPLABV3: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/checkpoints/deeplabv3_real.safetensors"
));

impl Weights {
    /// A VarBuilder over the checkpoint, `None` for a seeded initialisation.
    pub(crate) fn var_builder(
        &self,
        device: &Device,
    ) -> Result<Option<VarBuilder<'static>>, String> {
        match self {
            Weights::File(path) => checkpoint(path, device)
                .map(Some)
                .map_err(|e| e.to_string()),
            Weights::Bundled(bytes) => {
                VarBuilder::from_buffered_safetensors(bytes.to_vec(), DType::F32, device)
                    .map(Some)
                    .map_err(|e| format!("bundled checkpoint: {e}"))
            }
            Weights::Seeded(_) => Ok(None),
        }
    }

    /// How messages name the weights.
    pub(crate) fn describe(&self) -> String {
        match self {
            Weights::File(path) => format!("'{}'", path.display()),
            Weights::Bundled(_) => "the bundled checkpoint".into(),
            Weights::Seeded(seed) => format!("the seeded initialisation {seed}"),
        }
    }

    /// The `harness.*` metadata a checkpoint written by `harness train` records.
    fn recorded(&self) -> Result<std::collections::BTreeMap<String, String>, String> {
        match self {
            Weights::File(path) => checkpoint_file_metadata(path).map_err(|e| e.to_string()),
            Weights::Bundled(bytes) => {
                checkpoint_metadata(bytes).map_err(|e| format!("bundled checkpoint: {e}"))
            }
            Weights::Seeded(_) => Ok(Default::default()),
        }
    }
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
                    suggestion(preset, PRESETS.iter().copied()),
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
        let model = match weights
            .var_builder(&device)
            .map_err(|e| bad("weights", e))?
        {
            Some(vb) => {
                config.fake_classifier = vb.contains_tensor("fake_classifier.weight");
                DeepLabV3::new(config, 0, vb).map_err(|e| {
                    bad(
                        "weights",
                        format!("{} does not fit preset '{preset}': {e}", weights.describe()),
                    )
                })?
            }
            None => {
                let seed = match weights {
                    Weights::Seeded(seed) => seed,
                    _ => 0,
                };
                new_seeded(config, seed, &device).map_err(|e| bad("seed", e.to_string()))?
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
        let p = NetworkParams::parse(Self::NAME, params, Some(BUNDLED_DEEPLABV3))?;
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
pub(crate) struct NetworkParams {
    /// `preset`: given, else the checkpoint's.
    pub preset: Option<String>,
    /// `weights`: a bundled checkpoint, a file, or a seeded initialisation from `seed`.
    pub weights: Weights,
    /// `device`: `cpu` (default), `cuda` or `cuda:N`.
    pub device: Device,
    /// `size`: square input size, pixels (given, else the checkpoint's training size).
    pub size: Option<u32>,
    /// `batch`: largest batch.
    pub batch: Option<usize>,
}

impl NetworkParams {
    /// The parameter names [`NetworkParams::parse`] reads.
    pub const NAMES: [&str; 6] = ["preset", "weights", "seed", "device", "size", "batch"];

    /// Reads [`NetworkParams::NAMES`] for the localizer `name`, rejecting any other.
    /// `weights` is `bundled` (the default when `bundled` is given), `none` (a seeded,
    /// untrained network from `seed`, default 0) or a checkpoint path. The preset and input
    /// size a checkpoint records (`harness train` writes them) are the defaults; a different
    /// `preset`, or a checkpoint of another model kind, is an error.
    pub fn parse(
        name: &str,
        params: &JsonMap<String, Value>,
        bundled: Option<&'static [u8]>,
    ) -> Result<Self, LocalizerError> {
        let p = Params::new(name, params, &Self::NAMES)?;
        let string = |name: &str| -> Result<Option<String>, LocalizerError> {
            match p.raw(name) {
                None => Ok(None),
                Some(Value::String(s)) => Ok(Some(s.clone())),
                Some(other) => Err(p.bad(name, format!("must be a string, got {other}"))),
            }
        };
        let seeded = || -> Result<Weights, LocalizerError> {
            Ok(Weights::Seeded(p.usize_or("seed", 0)? as u64))
        };
        let weights = match (string("weights")?.as_deref(), bundled) {
            (None | Some("bundled"), Some(bytes)) => Weights::Bundled(bytes),
            (Some("bundled"), None) => {
                return Err(p.bad("weights", "this localizer has no bundled checkpoint".into()))
            }
            (None | Some("none"), _) => seeded()?,
            (Some(path), _) => Weights::File(PathBuf::from(path)),
        };
        if p.raw("seed").is_some() && !matches!(weights, Weights::Seeded(_)) {
            return Err(p.bad(
                "seed",
                "only applies with weights: none (a seeded, untrained network)".into(),
            ));
        }
        let recorded = weights.recorded().map_err(|e| p.bad("weights", e))?;
        if let Some(kind) = recorded.get("harness.kind").filter(|k| *k != name) {
            return Err(p.bad(
                "weights",
                format!(
                    "{} was trained as a '{kind}' model, not '{name}'; use localizer kind '{kind}'",
                    weights.describe()
                ),
            ));
        }
        let preset = match (string("preset")?, recorded.get("harness.preset")) {
            (Some(given), Some(saved)) if &given != saved => {
                return Err(p.bad(
                    "preset",
                    format!(
                        "'{given}' differs from the checkpoint's preset '{saved}'; omit preset to use it"
                    ),
                ))
            }
            (given, saved) => given.or_else(|| saved.cloned()),
        };
        let device = string("device")?.unwrap_or_else(|| "cpu".to_string());
        let device = parse_device(&device).map_err(|m| p.bad("device", m))?;
        let size = match p.raw("size") {
            Some(_) => {
                let size = p.usize_or("size", 0)?;
                Some(
                    u32::try_from(size)
                        .map_err(|_| p.bad("size", format!("{size} is too large")))?,
                )
            }
            None => recorded
                .get("harness.input_size")
                .and_then(|s| s.parse::<u32>().ok()),
        };
        let batch = p.raw("batch").map(|_| p.usize_or("batch", 0)).transpose()?;
        Ok(Self {
            preset,
            weights,
            device,
            size,
            batch,
        })
    }
}

/// Per-image flattened maps and optional per-image scores.
pub(crate) type MapsAndScores = (Vec<Vec<f32>>, Option<Vec<f32>>);

/// [`Localizer::localize`] for the candle localizers: packs `batch` (images `size`×`size`) with
/// [`normalized_batch`], runs `predict`, and wraps its maps (each `size`×`size`, flattened) and
/// scores as predictions; errors name the localizer `name` and the image.
///
/// On the CPU each image runs through the network on its own, the images in parallel on
/// rayon's pool. Two reasons:
/// - Speed. The bundled networks are small: inside one forward, fork-join overhead and candle's
///   single-threaded steps leave a core idle (2 threads ran the bundled DeepLabv3 only 1.3× as
///   fast as 1). Smoke suite with one localizer, 2 cores, 3 alternated rounds: `deeplabv3`
///   0.80–1.06 → 0.51–0.53 s, `stehouwer` 2.16–2.41 → 1.35–1.38 s.
/// - Determinism. A map then depends on its image only, never on the images batched with it:
///   candle's matrix products can round differently for a different number of rows (at 48×48
///   a map differed between batch 1 and 2), and a batch's images depend on the suite's order,
///   its shards and `--threads`.
///
/// On a GPU the batch runs as one.
pub(crate) fn localize_with(
    name: &str,
    batch: &[LocalizerInput<'_>],
    size: u32,
    normalization: ([f32; 3], [f32; 3]),
    device: &Device,
    predict: impl Fn(&Tensor) -> candle_core::Result<MapsAndScores> + Sync,
) -> Result<Vec<Prediction>, LocalizerError> {
    let part_len = if device.is_cpu() {
        1
    } else {
        batch.len().max(1)
    };
    let parts: Vec<Result<Vec<Prediction>, LocalizerError>> = batch
        .par_chunks(part_len)
        .map(|part| localize_part(name, part, size, normalization, device, &predict))
        .collect();
    let mut predictions = Vec::with_capacity(batch.len());
    for part in parts {
        predictions.extend(part?);
    }
    Ok(predictions)
}

/// [`localize_with`] on one non-empty part of the batch, packed as one tensor.
fn localize_part(
    name: &str,
    part: &[LocalizerInput<'_>],
    size: u32,
    normalization: ([f32; 3], [f32; 3]),
    device: &Device,
    predict: &(impl Fn(&Tensor) -> candle_core::Result<MapsAndScores> + Sync),
) -> Result<Vec<Prediction>, LocalizerError> {
    let failed = |n: usize, message: String| LocalizerError::Failed {
        localizer: name.to_string(),
        image: part[n].id.to_string(),
        message,
    };
    let x = normalized_batch(part, size, normalization, device).map_err(|(n, m)| failed(n, m))?;
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

/// Packs images (each `size`×`size`) into an `N×3×size×size` tensor with
/// [`to_input_tensor`]; on failure, the offending image's index and why.
fn normalized_batch(
    batch: &[LocalizerInput<'_>],
    size: u32,
    (mean, std): ([f32; 3], [f32; 3]),
    device: &Device,
) -> Result<Tensor, (usize, String)> {
    if let Some((n, input)) = batch
        .iter()
        .enumerate()
        .find(|(_, input)| input.image.dimensions() != (size, size))
    {
        return Err((
            n,
            format!(
                "image is {:?}, expected {size}×{size} (the harness resizes to input_size)",
                input.image.dimensions(),
            ),
        ));
    }
    let images: Vec<&RgbImage> = batch.iter().map(|input| input.image).collect();
    to_input_tensor(&images, mean, std, device).map_err(|e| (0, e.to_string()))
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
