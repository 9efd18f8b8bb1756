//! `stehouwer`: the DFFD attention baseline (Dang, Liu, Stehouwer et al., CVPR 2020) as a
//! localizer: Xception's regression attention map (sigmoid, 19×19 at 299×299) upsampled
//! bilinearly to the input size, as the FakeLocator paper evaluated it, and the softmax
//! probability of the "fake" class as the image-level score.

use candle_core::{Device, Tensor};
use serde_json::{Map as JsonMap, Value};

use crate::localizer::{localize_with, MapsAndScores, NetworkParams, Weights};
use crate::ops::resize_bilinear;
use crate::xception::{Xception, XceptionConfig, STEHOUWER_MEAN, STEHOUWER_STD, XCEPTION_PRESETS};
use localizer_api::params::suggestion;
use localizer_api::{InputSize, Localizer, LocalizerError, LocalizerInput, Prediction};

/// The bundled Stehouwer et al. checkpoint (`models/checkpoints/stehouwer_real.safetensors`,
/// written by `harness train configs/stehouwer_real.yaml`: stage 3 of docs/training.md, which
/// fine-tunes stage 2's `stehouwer_robust` with plain-resampler photo edits added).
pub static BUNDLED_STEHOUWER: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/checkpoints/stehouwer_real.safetensors"
));

/// A DFFD Xception with the regression attention map, in evaluation mode.
#[derive(Debug)]
pub struct StehouwerLocalizer {
    model: Xception,
    device: Device,
    size: u32,
    max_batch: usize,
}

impl StehouwerLocalizer {
    /// Name in suites and reports.
    pub const NAME: &'static str = "stehouwer";
    /// Preset used when none is given: the one that runs on a CPU.
    pub const DEFAULT_PRESET: &'static str = "xception_w8";
    /// Default largest batch.
    pub const DEFAULT_MAX_BATCH: usize = 8;

    /// Builds the `preset` network (one of [`XCEPTION_PRESETS`]) with weights from `weights`,
    /// on `device`, taking `size`×`size` images in batches of at most `max_batch`.
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
        let config = XceptionConfig::preset(preset).ok_or_else(|| {
            bad(
                "preset",
                format!(
                    "unknown preset '{preset}'{}; available: {}",
                    suggestion(preset, XCEPTION_PRESETS.iter().copied()),
                    XCEPTION_PRESETS.join(", ")
                ),
            )
        })?;
        if XceptionConfig::feature_size(size as usize).is_none() {
            return Err(bad(
                "size",
                format!("must be at least 7 pixels, got {size} (DFFD uses 299)"),
            ));
        }
        if max_batch == 0 {
            return Err(bad("batch", "must be at least 1".to_string()));
        }
        let model = match weights
            .var_builder(&device)
            .map_err(|e| bad("weights", e))?
        {
            Some(vb) => Xception::new(config, vb).map_err(|e| {
                bad(
                    "weights",
                    format!("{} does not fit preset '{preset}': {e}", weights.describe()),
                )
            })?,
            None => {
                let seed = match weights {
                    Weights::Seeded(seed) => seed,
                    _ => 0,
                };
                Xception::new_seeded(config, seed, &device)
                    .map_err(|e| bad("seed", e.to_string()))?
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
    /// untrained weights from `seed`, default 0; or a checkpoint path), `preset` (default: the
    /// checkpoint's, else [`Self::DEFAULT_PRESET`]), `device` (`cpu`, `cuda` or `cuda:N`;
    /// default `cpu`), `size` (pixels; default the checkpoint's training size, else the
    /// preset's input size), `batch` (default 8).
    pub fn build_from_params(params: &JsonMap<String, Value>) -> Result<Self, LocalizerError> {
        let p = NetworkParams::parse(Self::NAME, params, Some(BUNDLED_STEHOUWER))?;
        let preset = p.preset.as_deref().unwrap_or(Self::DEFAULT_PRESET);
        let default_size = XceptionConfig::preset(preset).map_or(0, |c| c.input_size as u32);
        Self::new(
            preset,
            p.weights,
            p.device,
            p.size.unwrap_or(default_size),
            p.batch.unwrap_or(Self::DEFAULT_MAX_BATCH),
        )
    }

    /// The underlying network.
    pub fn model(&self) -> &Xception {
        &self.model
    }

    /// Flattened attention maps upsampled to the input size (one per image) and the fake
    /// probabilities.
    fn predict(&self, x: &Tensor) -> candle_core::Result<MapsAndScores> {
        let output = self.model.forward_t(x, false)?;
        let map = output.map()?.ok_or_else(|| {
            candle_core::Error::Msg("the network was built without its attention map".into())
        })?;
        let (_, _, h, w) = x.dims4()?;
        let maps = resize_bilinear(&map, h, w)?
            // Bilinear weights are convex, so only rounding can leave [0, 1].
            .clamp(0f32, 1f32)?
            .squeeze(1)?
            .flatten_from(1)?
            .to_vec2::<f32>()?;
        let scores = output.fake_probability()?.to_vec1::<f32>()?;
        Ok((maps, Some(scores)))
    }
}

impl Localizer for StehouwerLocalizer {
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
            (STEHOUWER_MEAN, STEHOUWER_STD),
            &self.device,
            |x| self.predict(x),
        )
    }
}
