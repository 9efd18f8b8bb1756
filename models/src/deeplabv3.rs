//! DeepLabv3 (Chen et al. 2017) exactly as torchvision 0.28 builds it
//! (`torchvision/models/segmentation/deeplabv3.py`, `fcn.py`, `_utils.py`), plus FakeLocator's
//! optional image-level fake classifier. The network returns logits; the sigmoid "limiting
//! layer" lives in [`DeepLabV3::forward_t`]'s callers (see [`DeepLabV3Output::fake_map`]).

use std::sync::Mutex;

use candle_core::{Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Linear, ModuleT, VarBuilder};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::batch_norm::BatchNorm2d;
use crate::conv::{Conv, ConvBn};
use crate::ops::{global_avg_pool, resize_bilinear};
use crate::presets::DeepLabV3Config;
use crate::resnet::ResNet;

/// A convolution followed by BatchNorm and ReLU (`nn.Sequential(conv, bn, relu)` under `vb`,
/// with the convolution at index `conv_index` and the BatchNorm right after it).
#[derive(Clone, Debug)]
struct ConvBnRelu(ConvBn);

impl ConvBnRelu {
    fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        dilation: usize,
        conv_index: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        Ok(Self(ConvBn::new(
            Conv::new(c_in, c_out, kernel, 1, dilation, vb.pp(conv_index))?,
            BatchNorm2d::new(c_out, vb.pp(conv_index + 1))?,
        )))
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.0.forward_relu(x, train)
    }
}

/// Dropout drawing its masks from a seeded ChaCha stream (candle's CPU RNG cannot be seeded).
#[derive(Debug)]
struct Dropout {
    p: f64,
    rng: Mutex<ChaCha8Rng>,
}

impl Dropout {
    fn new(p: f64, seed: u64) -> Self {
        Self {
            p,
            rng: Mutex::new(ChaCha8Rng::seed_from_u64(seed)),
        }
    }

    /// Restarts the mask stream from `seed`.
    fn reseed(&self, seed: u64) {
        // A poisoned lock only means a panic elsewhere; the stream is replaced either way.
        let mut rng = self.rng.lock().unwrap_or_else(|e| e.into_inner());
        *rng = ChaCha8Rng::seed_from_u64(seed);
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        if !train || self.p == 0.0 {
            return Ok(x.clone());
        }
        let keep = 1.0 - self.p;
        let mask: Vec<f32> = {
            let mut rng = self
                .rng
                .lock()
                .map_err(|_| candle_core::Error::Msg("dropout RNG lock poisoned".into()))?;
            (0..x.elem_count())
                .map(|_| {
                    if rng.random::<f64>() < keep {
                        (1.0 / keep) as f32
                    } else {
                        0.0
                    }
                })
                .collect()
        };
        let mask = Tensor::from_vec(mask, x.shape(), x.device())?.to_dtype(x.dtype())?;
        x * mask
    }
}

/// Atrous spatial pyramid pooling (`classifier.0`): a 1×1 branch, three dilated 3×3 branches,
/// an image-pooling branch, concatenated and projected, with dropout 0.5.
#[derive(Debug)]
struct Aspp {
    branches: Vec<ConvBnRelu>,
    pooling: ConvBnRelu,
    project: ConvBnRelu,
    dropout: Dropout,
}

impl Aspp {
    fn new(c_in: usize, config: &DeepLabV3Config, seed: u64, vb: VarBuilder) -> Result<Self> {
        let c = config.head_channels;
        let convs = vb.pp("convs");
        let mut branches = vec![ConvBnRelu::new(c_in, c, 1, 1, 0, convs.pp(0))?];
        for (i, &rate) in config.aspp_rates.iter().enumerate() {
            branches.push(ConvBnRelu::new(c_in, c, 3, rate, 0, convs.pp(i + 1))?);
        }
        Ok(Self {
            branches,
            // Index 0 of ASPPPooling is AdaptiveAvgPool2d, so its conv is `convs.4.1`.
            pooling: ConvBnRelu::new(c_in, c, 1, 1, 1, convs.pp(4))?,
            project: ConvBnRelu::new(5 * c, c, 1, 1, 0, vb.pp("project"))?,
            dropout: Dropout::new(0.5, seed),
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let mut outs = self
            .branches
            .iter()
            .map(|b| b.forward_t(x, train))
            .collect::<Result<Vec<_>>>()?;
        // Bilinear upsampling of a 1×1 map (align_corners=False) is exactly a broadcast.
        let pooled = self.pooling.forward_t(&global_avg_pool(x)?, train)?;
        outs.push(pooled.broadcast_as(outs[0].shape())?.contiguous()?);
        let cat = Tensor::cat(&outs, 1)?;
        self.dropout
            .forward_t(&self.project.forward_t(&cat, train)?, train)
    }
}

/// A final 1×1 convolution with bias, to `num_classes` logits.
fn classifier_conv(c_in: usize, c_out: usize, vb: VarBuilder) -> Result<Conv2d> {
    candle_nn::conv2d(c_in, c_out, 1, Conv2dConfig::default(), vb)
}

/// torchvision's `DeepLabHead` (`classifier.*`): ASPP, 3×3 conv, BN, ReLU, 1×1 conv.
#[derive(Debug)]
struct DeepLabHead {
    aspp: Aspp,
    block: ConvBnRelu,
    out: Conv2d,
}

impl DeepLabHead {
    fn new(c_in: usize, config: &DeepLabV3Config, seed: u64, vb: VarBuilder) -> Result<Self> {
        let c = config.head_channels;
        Ok(Self {
            aspp: Aspp::new(c_in, config, seed, vb.pp(0))?,
            block: ConvBnRelu::new(c, c, 3, 1, 1, vb.clone())?,
            out: classifier_conv(c, config.num_classes, vb.pp(4))?,
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = self.aspp.forward_t(x, train)?;
        self.block.forward_t(&x, train)?.apply(&self.out)
    }
}

/// torchvision's `FCNHead` (`aux_classifier.*`): 3×3 conv, BN, ReLU, dropout 0.1, 1×1 conv.
#[derive(Debug)]
struct FcnHead {
    block: ConvBnRelu,
    dropout: Dropout,
    out: Conv2d,
}

impl FcnHead {
    fn new(c_in: usize, config: &DeepLabV3Config, seed: u64, vb: VarBuilder) -> Result<Self> {
        let c = config.aux_channels();
        Ok(Self {
            block: ConvBnRelu::new(c_in, c, 3, 1, 0, vb.clone())?,
            dropout: Dropout::new(0.1, seed),
            out: classifier_conv(c, config.num_classes, vb.pp(4))?,
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let x = self
            .dropout
            .forward_t(&self.block.forward_t(x, train)?, train)?;
        x.apply(&self.out)
    }
}

/// What [`DeepLabV3::forward_t`] returns; all logits (before any sigmoid).
#[derive(Clone, Debug)]
pub struct DeepLabV3Output {
    /// Segmentation logits `N×num_classes×H×W`, upsampled to the input size (torchvision `out`).
    pub out: Tensor,
    /// Auxiliary-head logits at the input size (torchvision `aux`), if built.
    pub aux: Option<Tensor>,
    /// Image-level fake logits `N×1`, if the fake classifier is built.
    pub fake_logit: Option<Tensor>,
}

impl DeepLabV3Output {
    /// FakeLocator's fake-region map: the sigmoid limiting layer on `out`, values in (0,1).
    pub fn fake_map(&self) -> Result<Tensor> {
        candle_nn::ops::sigmoid(&self.out)
    }

    /// Image-level fake probability `N×1` in (0,1), if the fake classifier is built.
    pub fn fake_score(&self) -> Result<Option<Tensor>> {
        self.fake_logit
            .as_ref()
            .map(candle_nn::ops::sigmoid)
            .transpose()
    }
}

/// The auxiliary head's dropout stream: a different one from the ASPP dropout's.
fn aux_dropout_seed(dropout_seed: u64) -> u64 {
    dropout_seed ^ 0x9e37_79b9_7f4a_7c15
}

/// DeepLabv3 with a ResNet backbone; parameter names equal torchvision's state-dict keys
/// (`backbone.*`, `classifier.*`, `aux_classifier.*`) plus `fake_classifier.{weight,bias}`.
#[derive(Debug)]
pub struct DeepLabV3 {
    backbone: ResNet,
    classifier: DeepLabHead,
    aux_classifier: Option<FcnHead>,
    fake_classifier: Option<Linear>,
    config: DeepLabV3Config,
}

impl DeepLabV3 {
    /// Builds the network from `vb` (a VarMap for training, or a checkpoint).
    /// `dropout_seed` seeds the training-mode dropout masks.
    pub fn new(config: DeepLabV3Config, dropout_seed: u64, vb: VarBuilder) -> Result<Self> {
        if config.num_classes == 0 || config.head_channels == 0 {
            candle_core::bail!(
                "DeepLabv3 {config:?}: num_classes and head_channels must be positive"
            );
        }
        let backbone = ResNet::new(config.backbone, vb.pp("backbone"))?;
        let c4 = config.backbone.out_channels();
        let classifier = DeepLabHead::new(c4, &config, dropout_seed, vb.pp("classifier"))?;
        let aux_classifier = config
            .aux
            .then(|| {
                let c3 = config.backbone.layer3_channels();
                let seed = aux_dropout_seed(dropout_seed);
                FcnHead::new(c3, &config, seed, vb.pp("aux_classifier"))
            })
            .transpose()?;
        let fake_classifier = config
            .fake_classifier
            .then(|| candle_nn::linear(c4, 1, vb.pp("fake_classifier")))
            .transpose()?;
        Ok(Self {
            backbone,
            classifier,
            aux_classifier,
            fake_classifier,
            config,
        })
    }

    /// Restarts the dropout mask streams as [`DeepLabV3::new`] with `dropout_seed` would, so a
    /// training run can seed each step's masks (and resume exactly).
    pub fn reseed_dropout(&self, dropout_seed: u64) {
        self.classifier.aspp.dropout.reseed(dropout_seed);
        if let Some(aux) = &self.aux_classifier {
            aux.dropout.reseed(aux_dropout_seed(dropout_seed));
        }
    }

    /// The variant this network was built from.
    pub fn config(&self) -> &DeepLabV3Config {
        &self.config
    }

    /// Runs the network on an ImageNet-normalised `N×3×H×W` batch (`train`: batch statistics
    /// in BatchNorm, running statistics updated, dropout on).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<DeepLabV3Output> {
        let (_, _, h, w) = x.dims4()?;
        let features = self.backbone.forward_t(x, train)?;
        let out = self.classifier.forward_t(&features.layer4, train)?;
        let out = resize_bilinear(&out, h, w)?;
        let aux = self
            .aux_classifier
            .as_ref()
            .map(|head| resize_bilinear(&head.forward_t(&features.layer3, train)?, h, w))
            .transpose()?;
        let fake_logit = self
            .fake_classifier
            .as_ref()
            .map(|linear| {
                global_avg_pool(&features.layer4)?
                    .flatten_from(1)?
                    .apply(linear)
            })
            .transpose()?;
        Ok(DeepLabV3Output {
            out,
            aux,
            fake_logit,
        })
    }
}

impl ModuleT for DeepLabV3 {
    /// The segmentation logits (`out`).
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(DeepLabV3::forward_t(self, x, train)?.out)
    }
}
