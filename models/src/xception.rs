//! Xception (Chollet 2017) as Cadene's `pretrainedmodels` builds it, with DFFD's
//! direct-regression attention map after `block7` (Dang, Liu, Stehouwer et al., "On the
//! Detection of Digital Face Manipulation", CVPR 2020; `network/xception_map.py`).
//!
//! Parameter paths equal the PyTorch state-dict keys (`block1.rep.0.conv1.weight`,
//! `block4.rep.1.pointwise.weight`, `map.conv1.weight`, `last_linear.weight`), so Cadene and
//! DFFD checkpoints load without renaming. docs/models.md lists the presets.

use candle_core::{DType, Device, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, Linear, ModuleT, VarBuilder, VarMap};

use crate::batch_norm::BatchNorm2d;
use crate::conv::{Conv, ConvBn};
use crate::depthwise::{depthwise_conv2d, Depthwise};
use crate::fused;
use crate::ops::{global_avg_pool, max_pool2d, pointwise_conv, MaxPool};
use crate::weights::{frozen, init_weights_with, record_shapes, trainable_count};

/// Per-channel mean DFFD normalises RGB values in [0, 1] with (`Normalize([0.5]*3, [0.5]*3)`).
pub const STEHOUWER_MEAN: [f32; 3] = [0.5; 3];
/// Per-channel standard deviation of that normalisation.
pub const STEHOUWER_STD: [f32; 3] = [0.5; 3];

/// Names accepted by [`XceptionConfig::preset`].
pub const XCEPTION_PRESETS: [&str; 2] = ["xception", "xception_w8"];

/// Everything that defines an Xception network's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct XceptionConfig {
    /// Output channels of the plain convolutions `conv1` (3×3 stride 2) and `conv2` (3×3).
    pub stem: [usize; 2],
    /// Output channels of the entry-flow blocks `block1..block3` (each halves the size); the
    /// last is the middle-flow width (728 in Xception).
    pub entry: [usize; 3],
    /// Middle-flow blocks (`block4…`, three separable convolutions each, identity skip).
    pub middle_blocks: usize,
    /// Middle-flow blocks that run before DFFD's regression attention map (4: after `block7`);
    /// `None` builds plain Xception without `map.*`.
    pub map_after: Option<usize>,
    /// Output channels of the exit-flow block (`block{4 + middle_blocks}`, stride 2) and the
    /// separable convolutions `conv3` and `conv4`.
    pub exit: [usize; 3],
    /// Classes of `last_linear` (2 for DFFD: real, fake).
    pub num_classes: usize,
    /// Square input size the network is meant for, pixels (299 in Xception and DFFD).
    pub input_size: usize,
}

impl XceptionConfig {
    /// DFFD's network: full Xception, the regression map after `block7`, 2 classes, 299×299
    /// input (map 19×19).
    pub fn xception() -> Self {
        Self {
            stem: [32, 64],
            entry: [128, 256, 728],
            middle_blocks: 8,
            map_after: Some(4),
            exit: [1024, 1536, 2048],
            num_classes: 2,
            input_size: 299,
        }
    }

    /// Every channel count of [`XceptionConfig::xception`] divided by 8 (middle flow 91
    /// channels), same blocks and map placement, 160×160 input (map 10×10): trains on a CPU.
    pub fn xception_w8() -> Self {
        let mut config = Self::xception().with_channel_divisor(8);
        config.input_size = 160;
        config
    }

    /// The preset called `name` (one of [`XCEPTION_PRESETS`]), or `None`.
    pub fn preset(name: &str) -> Option<Self> {
        Some(match name {
            "xception" => Self::xception(),
            "xception_w8" => Self::xception_w8(),
            _ => return None,
        })
    }

    /// The same network with every channel count divided by `divisor` (at least 1).
    pub fn with_channel_divisor(mut self, divisor: usize) -> Self {
        let scale = |c: &mut usize| *c = (*c / divisor.max(1)).max(1);
        self.stem.iter_mut().for_each(scale);
        self.entry.iter_mut().for_each(scale);
        self.exit.iter_mut().for_each(scale);
        self
    }

    /// Side of the middle-flow features, and so of the attention map, for a square input of
    /// `input` pixels (19 at 299, 10 at 160); `None` below the smallest input (7 pixels).
    pub fn feature_size(input: usize) -> Option<usize> {
        let conv1 = input.checked_sub(3)? / 2 + 1;
        let conv2 = conv1.checked_sub(2)?;
        // Three 3×3 stride-2 padding-1 max-pools: ⌈x/2⌉ each.
        (conv2 > 0).then(|| (0..3).fold(conv2, |x, _| x.div_ceil(2)))
    }

    fn check(&self) -> Result<()> {
        let channels = self.stem.iter().chain(&self.entry).chain(&self.exit);
        if channels.copied().any(|c| c == 0) || self.num_classes == 0 {
            candle_core::bail!("Xception {self:?}: channel and class counts must be positive");
        }
        if self.map_after.is_some_and(|m| m > self.middle_blocks) {
            candle_core::bail!(
                "Xception {self:?}: map_after cannot exceed middle_blocks ({})",
                self.middle_blocks
            );
        }
        if Self::feature_size(self.input_size).is_none() {
            candle_core::bail!("Xception {self:?}: input_size must be at least 7 pixels");
        }
        Ok(())
    }
}

/// `SeparableConv2d`: a 3×3 depthwise convolution (`conv1`, padding 1) then a 1×1 (`pointwise`),
/// both without bias.
#[derive(Clone, Debug)]
struct SeparableConv {
    depthwise: Tensor,
    pointwise: Tensor,
}

impl SeparableConv {
    fn new(c_in: usize, c_out: usize, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            depthwise: vb.pp("conv1").get((c_in, 1, 3, 3), "weight")?,
            pointwise: vb.pp("pointwise").get((c_out, c_in, 1, 1), "weight")?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = depthwise_conv2d(x, &self.depthwise, Depthwise::XCEPTION)?;
        pointwise_conv(&x, &self.pointwise)
    }

    /// This convolution and the BatchNorm `bn` after it, then ReLU when `relu`. In evaluation
    /// the BatchNorm is folded into the pointwise weights and its shift added in place with
    /// the ReLU, as [`ConvBn`] does for plain convolutions.
    fn forward_bn(&self, bn: &BatchNorm2d, x: &Tensor, train: bool, relu: bool) -> Result<Tensor> {
        if train {
            let y = self.forward(x)?.apply_t(bn, true)?;
            return if relu { y.relu() } else { Ok(y) };
        }
        let (scale, shift) = bn.eval_scale_shift()?;
        let pointwise = self
            .pointwise
            .broadcast_mul(&scale.reshape(((), 1, 1, 1))?)?;
        let x = depthwise_conv2d(x, &self.depthwise, Depthwise::XCEPTION)?;
        fused::channel_bias(pointwise_conv(&x, &pointwise)?, &shift, relu)
    }
}

/// Cadene's `Block`: `reps` × (ReLU, separable conv, BN) in `rep.*`, a 3×3 stride-2 max-pool
/// when strided, and a residual (1×1 conv + BN as `skip`/`skipbn` when the shape changes).
#[derive(Clone, Debug)]
struct Block {
    units: Vec<(SeparableConv, BatchNorm2d)>,
    start_with_relu: bool,
    pool: Option<MaxPool>,
    skip: Option<ConvBn>,
}

impl Block {
    /// `grow_first`: the first (else the last) separable conv changes the channel count.
    fn new(
        c_in: usize,
        c_out: usize,
        reps: usize,
        stride: usize,
        start_with_relu: bool,
        grow_first: bool,
        vb: VarBuilder,
    ) -> Result<Self> {
        let mut channels = vec![(c_out, c_out); reps];
        if grow_first {
            channels[0] = (c_in, c_out);
        } else {
            channels.iter_mut().for_each(|c| *c = (c_in, c_in));
            channels[reps - 1] = (c_in, c_out);
        }
        let rep = vb.pp("rep");
        // `rep` is a list of (ReLU, SeparableConv2d, BatchNorm2d) triples, minus the first
        // ReLU when the block does not start with one; its indices name the parameters.
        let first = usize::from(start_with_relu);
        let units = channels
            .into_iter()
            .enumerate()
            .map(|(i, (ci, co))| {
                let index = 3 * i + first;
                Ok((
                    SeparableConv::new(ci, co, rep.pp(index))?,
                    BatchNorm2d::new(co, rep.pp(index + 1))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let skip = (c_out != c_in || stride != 1)
            .then(|| -> Result<_> {
                Ok(ConvBn::new(
                    Conv::new(c_in, c_out, 1, stride, 1, vb.pp("skip"))?,
                    BatchNorm2d::new(c_out, vb.pp("skipbn"))?,
                ))
            })
            .transpose()?;
        Ok(Self {
            units,
            start_with_relu,
            pool: (stride != 1).then_some(MaxPool {
                kernel: 3,
                stride,
                padding: 1,
            }),
            skip,
        })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let last = self.units.len() - 1;
        // The block's input also feeds the skip, so its ReLU is a tensor of its own; the ReLU
        // before each later unit is applied at the end of the unit before (nothing else reads
        // that output), where evaluation fuses it.
        let mut out = match self.start_with_relu {
            true => x.relu()?,
            false => x.clone(),
        };
        for (i, (conv, bn)) in self.units.iter().enumerate() {
            out = conv.forward_bn(bn, &out, train, i < last)?;
        }
        if let Some(pool) = self.pool {
            out = max_pool2d(&out, pool)?;
        }
        let skip = match &self.skip {
            Some(conv_bn) => x.apply_t(conv_bn, train)?,
            None => x.clone(),
        };
        out + skip
    }
}

/// What [`Xception::forward_t`] returns; logits, before any sigmoid or softmax.
#[derive(Clone, Debug)]
pub struct XceptionOutput {
    /// Attention-map logits `N×1×s×s` (`s` = [`XceptionConfig::feature_size`]), if built; the
    /// map DFFD multiplies the features with is their sigmoid.
    pub map_logits: Option<Tensor>,
    /// Class logits `N×num_classes` (DFFD: index 0 real, 1 fake).
    pub logits: Tensor,
}

impl XceptionOutput {
    /// The attention map, sigmoid of [`XceptionOutput::map_logits`], values in (0,1).
    pub fn map(&self) -> Result<Option<Tensor>> {
        self.map_logits
            .as_ref()
            .map(candle_nn::ops::sigmoid)
            .transpose()
    }

    /// Probability of class 1 (fake for DFFD) `N`: the softmax of the logits at index 1.
    pub fn fake_probability(&self) -> Result<Tensor> {
        if self.logits.dim(1)? < 2 {
            candle_core::bail!("fake probability needs at least 2 classes, the network has 1");
        }
        candle_nn::ops::softmax(&self.logits, 1)?
            .narrow(1, 1, 1)?
            .squeeze(1)
    }
}

/// Xception with the optional DFFD attention map; see the module documentation.
#[derive(Debug)]
pub struct Xception {
    conv1: Conv2d,
    bn1: BatchNorm2d,
    conv2: Conv2d,
    bn2: BatchNorm2d,
    /// `block1..block{4 + middle_blocks}`, in order.
    blocks: Vec<Block>,
    map: Option<SeparableConv>,
    conv3: SeparableConv,
    bn3: BatchNorm2d,
    conv4: SeparableConv,
    bn4: BatchNorm2d,
    last_linear: Linear,
    config: XceptionConfig,
}

impl Xception {
    /// Builds the network from `vb` (a VarMap for training, or a checkpoint).
    pub fn new(config: XceptionConfig, vb: VarBuilder) -> Result<Self> {
        config.check()?;
        let plain = |c_in, c_out, stride, name| {
            let cfg = Conv2dConfig {
                stride,
                ..Default::default()
            };
            candle_nn::conv2d_no_bias(c_in, c_out, 3, cfg, vb.pp(name))
        };
        let [s1, s2] = config.stem;
        let [e1, e2, width] = config.entry;
        let [x1, x2, x3] = config.exit;
        let block = |i: usize| vb.pp(format!("block{i}"));
        let mut blocks = vec![
            Block::new(s2, e1, 2, 2, false, true, block(1))?,
            Block::new(e1, e2, 2, 2, true, true, block(2))?,
            Block::new(e2, width, 2, 2, true, true, block(3))?,
        ];
        for i in 0..config.middle_blocks {
            blocks.push(Block::new(width, width, 3, 1, true, true, block(4 + i))?);
        }
        let exit = 4 + config.middle_blocks;
        blocks.push(Block::new(width, x1, 2, 2, true, false, block(exit))?);
        Ok(Self {
            conv1: plain(3, s1, 2, "conv1")?,
            bn1: BatchNorm2d::new(s1, vb.pp("bn1"))?,
            conv2: plain(s1, s2, 1, "conv2")?,
            bn2: BatchNorm2d::new(s2, vb.pp("bn2"))?,
            blocks,
            map: config
                .map_after
                .map(|_| SeparableConv::new(width, 1, vb.pp("map")))
                .transpose()?,
            conv3: SeparableConv::new(x1, x2, vb.pp("conv3"))?,
            bn3: BatchNorm2d::new(x2, vb.pp("bn3"))?,
            conv4: SeparableConv::new(x2, x3, vb.pp("conv4"))?,
            bn4: BatchNorm2d::new(x3, vb.pp("bn4"))?,
            last_linear: candle_nn::linear(x3, config.num_classes, vb.pp("last_linear"))?,
            config,
        })
    }

    /// A fresh network whose parameters live in the returned VarMap (names = state-dict keys),
    /// drawn from a ChaCha stream seeded with `seed`: convolutions Kaiming-normal (fan_out,
    /// ReLU gain; timm's Xception init), `last_linear` PyTorch's U(±1/√fan_in), BatchNorm 1/0.
    pub fn new_trainable(
        config: XceptionConfig,
        seed: u64,
        device: &Device,
    ) -> Result<(Self, VarMap)> {
        let varmap = VarMap::new();
        let model = Self::new(config, VarBuilder::from_varmap(&varmap, DType::F32, device))?;
        init_weights_with(&varmap, seed, |_| true)?;
        Ok((model, varmap))
    }

    /// A fresh network for inference: [`Self::new_trainable`]'s initialisation with plain
    /// tensors ([`frozen`]).
    pub fn new_seeded(config: XceptionConfig, seed: u64, device: &Device) -> Result<Self> {
        let (_, varmap) = Self::new_trainable(config, seed, device)?;
        Self::new(config, frozen(&varmap, device)?)
    }

    /// Every parameter and buffer name of the network `config` describes with its shape, in
    /// the PyTorch state-dict naming (without `num_batches_tracked`), without allocating them.
    pub fn state_dict_shapes(
        config: XceptionConfig,
    ) -> Result<std::collections::BTreeMap<String, Vec<usize>>> {
        record_shapes(|vb| Self::new(config, vb).map(drop))
    }

    /// Number of trainable parameters (BatchNorm running statistics excluded) of `config`.
    pub fn parameter_count(config: XceptionConfig) -> Result<usize> {
        Ok(trainable_count(&Self::state_dict_shapes(config)?))
    }

    /// The variant this network was built from.
    pub fn config(&self) -> &XceptionConfig {
        &self.config
    }

    /// Runs the network on an `N×3×H×W` batch normalised with [`STEHOUWER_MEAN`] and
    /// [`STEHOUWER_STD`] (`train`: batch statistics in BatchNorm, running statistics updated).
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<XceptionOutput> {
        let (_, c, h, w) = x.dims4()?;
        if c != 3 || XceptionConfig::feature_size(h.min(w)).is_none() {
            candle_core::bail!(
                "Xception needs an N×3×H×W batch with H, W ≥ 7 pixels, got {:?}",
                x.dims()
            );
        }
        let mut x = x
            .apply(&self.conv1)?
            .apply_t(&self.bn1, train)?
            .relu()?
            .apply(&self.conv2)?
            .apply_t(&self.bn2, train)?
            .relu()?;
        let mut map_logits = None;
        for (i, block) in self.blocks.iter().enumerate() {
            x = block.forward_t(&x, train)?;
            // Blocks 0–2 are the entry flow; the map follows middle block `map_after`.
            if let (Some(map), Some(after)) = (&self.map, self.config.map_after) {
                if i + 1 == 3 + after {
                    let logits = map.forward(&x)?;
                    x = x.broadcast_mul(&candle_nn::ops::sigmoid(&logits)?)?;
                    map_logits = Some(logits);
                }
            }
        }
        let x = self.conv3.forward_bn(&self.bn3, &x, train, true)?;
        let x = self.conv4.forward_bn(&self.bn4, &x, train, true)?;
        let logits = global_avg_pool(&x)?
            .flatten_from(1)?
            .apply(&self.last_linear)?;
        Ok(XceptionOutput { map_logits, logits })
    }
}

impl ModuleT for Xception {
    /// The class logits.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(Xception::forward_t(self, x, train)?.logits)
    }
}
