//! DeepLabv3 variants as data (docs/models.md lists them with parameter counts).

use crate::resnet::{BlockKind, ResNetConfig};

/// Everything that defines a DeepLabv3 network's shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct DeepLabV3Config {
    /// The backbone.
    pub backbone: ResNetConfig,
    /// Output channels of the segmentation map (1 for FakeLocator's fake-region map).
    pub num_classes: usize,
    /// Dilation rates of the three 3×3 ASPP branches (torchvision: 12, 24, 36 at stride 8).
    pub aspp_rates: [usize; 3],
    /// Channels of the ASPP branches and the DeepLab head (256 in torchvision).
    pub head_channels: usize,
    /// Build torchvision's auxiliary `FCNHead` on `layer3` (`aux_classifier.*`).
    pub aux: bool,
    /// Build the image-level fake classifier (`fake_classifier.*`: global average pool of
    /// `layer4` → linear to one logit), FakeLocator's classification output.
    pub fake_classifier: bool,
}

/// Names accepted by [`DeepLabV3Config::preset`].
pub const PRESETS: [&str; 4] = ["resnet50", "resnet101", "resnet18_os16", "resnet10_os16_w8"];

impl DeepLabV3Config {
    /// torchvision's `deeplabv3_resnet50(num_classes=1, aux_loss=True)`, output stride 8.
    pub fn resnet50() -> Self {
        Self::torchvision([3, 4, 6, 3])
    }

    /// torchvision's `deeplabv3_resnet101(num_classes=1, aux_loss=True)`, output stride 8.
    pub fn resnet101() -> Self {
        Self::torchvision([3, 4, 23, 3])
    }

    fn torchvision(layers: [usize; 4]) -> Self {
        Self {
            backbone: ResNetConfig {
                block: BlockKind::Bottleneck,
                layers,
                width: 64,
                dilate: [false, true, true],
            },
            num_classes: 1,
            aspp_rates: [12, 24, 36],
            head_channels: 256,
            aux: true,
            fake_classifier: false,
        }
    }

    /// ResNet-18 (basic blocks) with output stride 16 (dilation in `layer4` only) and the
    /// DeepLabv3 paper's stride-16 rates 6, 12, 18: a model that trains on a CPU.
    pub fn resnet18_os16() -> Self {
        Self {
            backbone: ResNetConfig {
                block: BlockKind::Basic,
                layers: [2, 2, 2, 2],
                width: 64,
                dilate: [false, false, true],
            },
            num_classes: 1,
            aspp_rates: [6, 12, 18],
            head_channels: 256,
            aux: false,
            fake_classifier: false,
        }
    }

    /// One basic block per layer at width 8 and 16 head channels: for tests and smoke runs.
    pub fn resnet10_os16_w8() -> Self {
        let mut config = Self::resnet18_os16().with_width(8);
        config.backbone.layers = [1, 1, 1, 1];
        config
    }

    /// The preset called `name` (one of [`PRESETS`]), or `None`.
    pub fn preset(name: &str) -> Option<Self> {
        Some(match name {
            "resnet50" => Self::resnet50(),
            "resnet101" => Self::resnet101(),
            "resnet18_os16" => Self::resnet18_os16(),
            "resnet10_os16_w8" => Self::resnet10_os16_w8(),
            _ => return None,
        })
    }

    /// The same network with backbone width `width` (64 = torchvision) and the head channels
    /// scaled alike (256·width/64, at least 1).
    pub fn with_width(mut self, width: usize) -> Self {
        self.head_channels = (self.head_channels * width / self.backbone.width).max(1);
        self.backbone.width = width;
        self
    }

    /// Channels of the auxiliary head's hidden layer (torchvision: `in_channels // 4`).
    pub fn aux_channels(&self) -> usize {
        (self.backbone.layer3_channels() / 4).max(1)
    }
}
