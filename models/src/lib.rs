//! Neural localizers on candle: DeepLabv3 (torchvision-exact, trainable) and FakeLocator's
//! `deeplabv3` localizer; Xception with DFFD's attention map and the `stehouwer` localizer; their
//! losses, optimiser, weight initialisation and checkpoints, and the input normalisation that
//! training and inference share ([`preprocess`]). docs/models.md describes the presets and
//! checkpoint formats; the bundled checkpoints are in `models/checkpoints/`.

mod batch_norm;
mod conv;
mod deeplabv3;
pub mod depthwise;
mod fused;
mod im2col;
mod localizer;
pub mod losses;
pub mod ops;
pub mod optim;
pub mod preprocess;
mod presets;
pub mod resnet;
mod stehouwer;
#[cfg(test)]
mod test_util;
mod trainable;
mod weights;
mod xception;

pub use batch_norm::BatchNorm2d;
pub use deeplabv3::{DeepLabV3, DeepLabV3Output};
pub use localizer::{
    parse_device, DeepLabV3Localizer, Weights, BUNDLED_DEEPLABV3, IMAGENET_MEAN, IMAGENET_STD,
};
pub use presets::{DeepLabV3Config, PRESETS};
pub use stehouwer::{StehouwerLocalizer, BUNDLED_STEHOUWER};
pub use trainable::{build_trainable, ModelSpec, TrainOutput, TrainableNet, TRAINABLE_KINDS};
pub use weights::{
    checkpoint, checkpoint_file_metadata, checkpoint_metadata, frozen, init_weights, new_seeded,
    new_trainable, parameter_count, save_checkpoint, state_dict_shapes, varmap_tensors,
};
pub use xception::{
    Xception, XceptionConfig, XceptionOutput, STEHOUWER_MEAN, STEHOUWER_STD, XCEPTION_PRESETS,
};

/// candle, re-exported so callers use the same version.
pub use candle_core;
/// candle-nn, re-exported so callers use the same version.
pub use candle_nn;
