//! The bias-free convolutions of the ResNet and the DeepLab heads.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};

use crate::ops::pointwise_conv;

/// A bias-free `kernel × kernel` convolution with "same" padding at its dilation; the
/// stride-1 1×1 ones run as [`pointwise_conv`] (a matmul) for speed.
#[derive(Clone, Debug)]
pub struct Conv {
    inner: Conv2d,
    pointwise: bool,
}

impl Conv {
    /// Reads `weight` (`c_out×c_in×kernel×kernel`) from `vb`.
    pub fn new(
        c_in: usize,
        c_out: usize,
        kernel: usize,
        stride: usize,
        dilation: usize,
        vb: VarBuilder,
    ) -> Result<Self> {
        let config = Conv2dConfig {
            // torchvision's conv3x3/conv1x1 and the ASPP use padding = dilation·(kernel/2).
            padding: dilation * (kernel / 2),
            stride,
            dilation,
            groups: 1,
            cudnn_fwd_algo: None,
        };
        Ok(Self {
            inner: candle_nn::conv2d_no_bias(c_in, c_out, kernel, config, vb)?,
            pointwise: kernel == 1 && stride == 1,
        })
    }
}

impl Module for Conv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if self.pointwise {
            pointwise_conv(x, self.inner.weight())
        } else {
            x.apply(&self.inner)
        }
    }
}
