//! ResNet backbones for DeepLabv3, built as torchvision builds them with
//! `replace_stride_with_dilation` (`torchvision/models/resnet.py`), minus `avgpool` and `fc`.
//!
//! Parameter paths mirror the checkpoint (`layer3.0.downsample.0.weight`), so torchvision
//! weights load without renaming. Unlike candle-transformers' resnet this one trains: batch
//! statistics in BatchNorm and a max-pool with a gradient.

use candle_core::{Result, Tensor};
use candle_nn::{ModuleT, VarBuilder};

use crate::batch_norm::BatchNorm2d;
use crate::conv::{Conv, ConvBn};
use crate::ops::{max_pool2d, MaxPool};

/// The residual block type of a ResNet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockKind {
    /// Two 3×3 convolutions (ResNet-18/34), expansion 1.
    Basic,
    /// 1×1, 3×3 (carries stride and dilation, "v1.5"), 1×1 with expansion 4 (ResNet-50/101).
    Bottleneck,
}

impl BlockKind {
    /// Output channels per `planes`.
    pub fn expansion(self) -> usize {
        match self {
            BlockKind::Basic => 1,
            BlockKind::Bottleneck => 4,
        }
    }
}

/// A ResNet variant, as data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ResNetConfig {
    /// Residual block type.
    pub block: BlockKind,
    /// Blocks in `layer1..layer4`.
    pub layers: [usize; 4],
    /// Stem channels and `layer1` planes (64 in torchvision); layer k has `width·2^(k−1)` planes.
    pub width: usize,
    /// torchvision's `replace_stride_with_dilation` for `layer2..layer4`: the layer keeps
    /// stride 1 and multiplies the dilation by 2 instead. `[false, true, true]` gives output
    /// stride 8, `[false, false, true]` output stride 16.
    pub dilate: [bool; 3],
}

impl ResNetConfig {
    /// Channels out of `layer3` (input of the auxiliary FCN head).
    pub fn layer3_channels(&self) -> usize {
        self.width * 4 * self.block.expansion()
    }

    /// Channels out of `layer4` (input of the ASPP).
    pub fn out_channels(&self) -> usize {
        self.width * 8 * self.block.expansion()
    }

    /// Input pixels per output pixel of `layer4` along each axis (8, 16 or 32).
    pub fn output_stride(&self) -> usize {
        4 * self
            .dilate
            .iter()
            .map(|&d| if d { 1 } else { 2 })
            .product::<usize>()
    }
}

/// One residual block: its convolutions, their BatchNorms and the optional projection shortcut.
#[derive(Clone, Debug)]
struct Block {
    convs: Vec<ConvBn>,
    downsample: Option<ConvBn>,
}

impl Block {
    /// `dilation` is the block's 3×3 dilation; `stride` goes to the first 3×3 (and shortcut).
    fn new(
        kind: BlockKind,
        c_in: usize,
        planes: usize,
        stride: usize,
        dilation: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        let c_out = planes * kind.expansion();
        // (c_in, c_out, kernel, stride, dilation) of conv1, conv2, [conv3].
        let shapes = match kind {
            // torchvision's BasicBlock refuses dilation; DeepLab ports dilate both 3×3s.
            BlockKind::Basic => vec![
                (c_in, planes, 3, stride, dilation),
                (planes, planes, 3, 1, dilation),
            ],
            BlockKind::Bottleneck => vec![
                (c_in, planes, 1, 1, 1),
                (planes, planes, 3, stride, dilation),
                (planes, c_out, 1, 1, 1),
            ],
        };
        let convs = shapes
            .into_iter()
            .enumerate()
            .map(|(i, (ci, co, k, s, d))| {
                Ok(ConvBn::new(
                    Conv::new(ci, co, k, s, d, vb.pp(format!("conv{}", i + 1)))?,
                    BatchNorm2d::new(co, vb.pp(format!("bn{}", i + 1)))?,
                ))
            })
            .collect::<Result<Vec<_>>>()?;
        let downsample = if stride != 1 || c_in != c_out {
            let vb = vb.pp("downsample");
            Some(ConvBn::new(
                Conv::new(c_in, c_out, 1, stride, 1, vb.pp(0))?,
                BatchNorm2d::new(c_out, vb.pp(1))?,
            ))
        } else {
            None
        };
        Ok(Self { convs, downsample })
    }

    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (last, inner) = self.convs.split_last().expect("a block has convolutions");
        let mut out = x.clone();
        for conv_bn in inner {
            out = conv_bn.forward_relu(&out, train)?;
        }
        let identity = match &self.downsample {
            Some(conv_bn) => x.apply_t(conv_bn, train)?,
            None => x.clone(),
        };
        last.forward_add_relu(&out, &identity, train)
    }
}

/// A ResNet feature extractor (`conv1, bn1, relu, maxpool, layer1..4`).
#[derive(Clone, Debug)]
pub struct ResNet {
    /// `conv1` and `bn1`.
    stem: ConvBn,
    layers: [Vec<Block>; 4],
    config: ResNetConfig,
}

/// Feature maps the DeepLab heads read.
#[derive(Clone, Debug)]
pub struct Features {
    /// `layer3` output (auxiliary head input), `N×layer3_channels×H/os×W/os`.
    pub layer3: Tensor,
    /// `layer4` output (ASPP input), `N×out_channels×H/os×W/os`.
    pub layer4: Tensor,
}

impl ResNet {
    /// Builds the backbone under `vb` (e.g. `vb.pp("backbone")`).
    pub fn new(config: ResNetConfig, vb: VarBuilder) -> Result<Self> {
        if config.layers.contains(&0) || config.width == 0 {
            candle_core::bail!(
                "ResNet {config:?}: every layer needs at least one block and the width must be positive"
            );
        }
        // 7×7 stride 2, padding 3.
        let stem = ConvBn::new(
            Conv::new(3, config.width, 7, 2, 1, vb.pp("conv1"))?,
            BatchNorm2d::new(config.width, vb.pp("bn1"))?,
        );
        // torchvision's _make_layer: `dilate` turns the stride into dilation; block 0 of a
        // layer uses the dilation from before the layer, the others the new one.
        let mut c_in = config.width;
        let mut dilation = 1;
        let mut layers: [Vec<Block>; 4] = Default::default();
        for (l, blocks) in layers.iter_mut().enumerate() {
            let planes = config.width << l;
            let mut stride = if l == 0 { 1 } else { 2 };
            let previous_dilation = dilation;
            if l > 0 && config.dilate[l - 1] {
                dilation *= stride;
                stride = 1;
            }
            let vb = vb.pp(format!("layer{}", l + 1));
            for b in 0..config.layers[l] {
                let (s, d) = if b == 0 {
                    (stride, previous_dilation)
                } else {
                    (1, dilation)
                };
                blocks.push(Block::new(config.block, c_in, planes, s, d, vb.pp(b))?);
                c_in = planes * config.block.expansion();
            }
        }
        Ok(Self {
            stem,
            layers,
            config,
        })
    }

    /// The variant this backbone was built from.
    pub fn config(&self) -> &ResNetConfig {
        &self.config
    }

    /// Runs the backbone on a normalised `N×3×H×W` batch.
    pub fn forward_t(&self, x: &Tensor, train: bool) -> Result<Features> {
        let mut x = self.stem.forward_relu(x, train)?;
        x = max_pool2d(&x, MaxPool::RESNET_STEM)?;
        let mut layer3 = x.clone();
        for (l, blocks) in self.layers.iter().enumerate() {
            for block in blocks {
                x = block.forward_t(&x, train)?;
            }
            if l == 2 {
                layer3 = x.clone();
            }
        }
        Ok(Features { layer3, layer4: x })
    }
}

impl ModuleT for ResNet {
    /// The `layer4` features.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        Ok(ResNet::forward_t(self, x, train)?.layer4)
    }
}
