//! What `harness train` needs from a network, so that one training loop (losses, optimiser,
//! checkpoints) serves every model family.

use candle_core::{Device, Result, Tensor};
use candle_nn::VarMap;

use crate::deeplabv3::DeepLabV3;
use crate::presets::{DeepLabV3Config, PRESETS};
use crate::weights::new_trainable;
use crate::xception::{Xception, XceptionConfig, STEHOUWER_MEAN, STEHOUWER_STD, XCEPTION_PRESETS};
use crate::{IMAGENET_MEAN, IMAGENET_STD};

/// One forward pass in training form: logits, before any sigmoid or softmax.
#[derive(Clone, Debug)]
pub struct TrainOutput {
    /// Fake-region logits `N×1×h×w`; the map is their sigmoid. `h×w` may be smaller than the
    /// input (Stehouwer's 19×19): losses compare with the ground truth resized bilinearly to it.
    pub map_logits: Tensor,
    /// Image-level logits when the model has a classifier: `N×1` (sigmoid, fake = 1) or `N×2`
    /// (softmax over real, fake).
    pub class_logits: Option<Tensor>,
}

/// A network `harness train` can train.
pub trait TrainableNet {
    /// Runs an `N×3×H×W` batch already normalised with [`TrainableNet::normalization`];
    /// `train` selects batch statistics, running-statistic updates and dropout.
    fn forward_train(&self, x: &Tensor, train: bool) -> Result<TrainOutput>;

    /// Per-channel (mean, std) that RGB values in [0, 1] are normalised with (by
    /// [`crate::preprocess`], in training as in inference).
    fn normalization(&self) -> ([f32; 3], [f32; 3]);

    /// Restarts every random stream used in training mode (dropout) from `seed`; the trainer
    /// calls it before each step so a resumed run draws what an uninterrupted one would.
    fn reseed(&self, seed: u64);
}

impl TrainableNet for DeepLabV3 {
    fn forward_train(&self, x: &Tensor, train: bool) -> Result<TrainOutput> {
        let output = self.forward_t(x, train)?;
        Ok(TrainOutput {
            map_logits: output.out,
            class_logits: output.fake_logit,
        })
    }

    fn normalization(&self) -> ([f32; 3], [f32; 3]) {
        (IMAGENET_MEAN, IMAGENET_STD)
    }

    fn reseed(&self, seed: u64) {
        self.reseed_dropout(seed)
    }
}

impl TrainableNet for Xception {
    /// The attention-map logits (`N×1×19×19` at 299×299) and the `N×2` class logits (softmax;
    /// index 1 = fake). Errors when the network was built without the map.
    fn forward_train(&self, x: &Tensor, train: bool) -> Result<TrainOutput> {
        let output = self.forward_t(x, train)?;
        let map_logits = output.map_logits.ok_or_else(|| {
            candle_core::Error::Msg(
                "this Xception has no attention map (map_after is None); DFFD training needs it"
                    .into(),
            )
        })?;
        Ok(TrainOutput {
            map_logits,
            class_logits: Some(output.logits),
        })
    }

    fn normalization(&self) -> ([f32; 3], [f32; 3]) {
        (STEHOUWER_MEAN, STEHOUWER_STD)
    }

    /// Xception has no dropout: nothing random in training mode.
    fn reseed(&self, _seed: u64) {}
}

/// Model families `harness train` builds, as `kind` in a training config.
pub const TRAINABLE_KINDS: [&str; 2] = ["deeplabv3", "stehouwer"];

/// Which network to train.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ModelSpec {
    /// One of [`TRAINABLE_KINDS`].
    pub kind: String,
    /// A preset of that family (`deeplabv3`: [`PRESETS`]; `stehouwer`: [`XCEPTION_PRESETS`]).
    pub preset: String,
    /// Build the image-level classifier head (trained with BCE/cross-entropy beside the map).
    pub classifier: bool,
}

/// Builds a freshly initialised network from `spec` with every parameter in the returned
/// VarMap (its names are the checkpoint's tensor names), initialised from `seed`.
pub fn build_trainable(
    spec: &ModelSpec,
    seed: u64,
    device: &Device,
) -> Result<(Box<dyn TrainableNet>, VarMap)> {
    match spec.kind.as_str() {
        "deeplabv3" => {
            let mut config = DeepLabV3Config::preset(&spec.preset).ok_or_else(|| {
                candle_core::Error::Msg(format!(
                    "unknown deeplabv3 preset '{}'; available: {}",
                    spec.preset,
                    PRESETS.join(", ")
                ))
            })?;
            config.aux = false;
            config.fake_classifier = spec.classifier;
            let (model, varmap) = new_trainable(config, seed, device)?;
            Ok((Box::new(model), varmap))
        }
        "stehouwer" => {
            let config = XceptionConfig::preset(&spec.preset).ok_or_else(|| {
                candle_core::Error::Msg(format!(
                    "unknown stehouwer preset '{}'; available: {}",
                    spec.preset,
                    XCEPTION_PRESETS.join(", ")
                ))
            })?;
            if !spec.classifier {
                candle_core::bail!(
                    "model kind 'stehouwer' always has its 2-way real/fake classifier (DFFD's \
                     loss is L1 on the map plus cross-entropy); set classifier: true"
                );
            }
            let (model, varmap) = Xception::new_trainable(config, seed, device)?;
            Ok((Box::new(model), varmap))
        }
        other => candle_core::bail!(
            "unknown model kind '{other}'; available: {}",
            TRAINABLE_KINDS.join(", ")
        ),
    }
}
