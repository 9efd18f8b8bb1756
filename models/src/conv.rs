//! The bias-free convolutions of the ResNet and the DeepLab heads, and the convolution +
//! BatchNorm pair they all come in.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, ModuleT, VarBuilder};

use crate::batch_norm::BatchNorm2d;
use crate::fused;
use crate::im2col;
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

    /// This convolution with `weight` (of its own weight's shape) in place of its weight;
    /// `eval`: no gradient is needed, so the CPU can take [`im2col::conv2d`].
    fn forward_with(&self, x: &Tensor, weight: &Tensor, eval: bool) -> Result<Tensor> {
        if self.pointwise {
            return pointwise_conv(x, weight);
        }
        let c = self.inner.config();
        if eval && c.groups == 1 {
            return im2col::conv2d(x, weight, c.padding, c.stride, c.dilation);
        }
        x.conv2d_with_algo(
            weight,
            c.padding,
            c.stride,
            c.dilation,
            c.groups,
            c.cudnn_fwd_algo,
        )
    }
}

impl Module for Conv {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_with(x, self.inner.weight(), false)
    }
}

/// A convolution and the BatchNorm after it (`conv`, `bn` of torchvision's blocks).
///
/// In evaluation the BatchNorm is folded into the convolution, as inference engines do: its
/// scale `γ/√(σ²+ε)` multiplies the weights and its shift `β − μ·scale` is added as a bias, in
/// place and together with the ReLU that follows ([`crate::fused`]), so the activations are
/// passed over once instead of five times (subtract, multiply, add, ReLU, each into a new
/// tensor). The folded weights are computed at each call from the current running statistics:
/// a few thousand multiplications per layer, and always right while training updates the
/// statistics between validations. Training runs the layers apart.
#[derive(Clone, Debug)]
pub struct ConvBn {
    conv: Conv,
    bn: BatchNorm2d,
}

impl ConvBn {
    pub fn new(conv: Conv, bn: BatchNorm2d) -> Self {
        Self { conv, bn }
    }

    /// Convolution, BatchNorm, then ReLU when `relu`.
    fn forward(&self, x: &Tensor, train: bool, relu: bool) -> Result<Tensor> {
        if train {
            let y = x.apply(&self.conv)?.apply_t(&self.bn, true)?;
            return if relu { y.relu() } else { Ok(y) };
        }
        let (scale, shift) = self.bn.eval_scale_shift()?;
        let weight = self
            .conv
            .inner
            .weight()
            .broadcast_mul(&scale.reshape(((), 1, 1, 1))?)?;
        fused::channel_bias(self.conv.forward_with(x, &weight, true)?, &shift, relu)
    }

    /// Convolution, BatchNorm and ReLU.
    pub fn forward_relu(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward(x, train, true)
    }

    /// Convolution and BatchNorm, plus `residual`, then ReLU: the end of a residual block.
    pub fn forward_add_relu(&self, x: &Tensor, residual: &Tensor, train: bool) -> Result<Tensor> {
        let y = self.forward(x, train, false)?;
        if train {
            // In place would overwrite what the backward pass reads.
            (y + residual)?.relu()
        } else {
            fused::add_relu(y, residual)
        }
    }
}

impl ModuleT for ConvBn {
    /// Convolution and BatchNorm.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        self.forward(x, train, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{max_abs_diff, seeded};
    use candle_core::{DType, Device};

    #[test]
    fn folded_evaluation_equals_convolution_then_batch_norm() {
        let (c_in, c_out) = (5, 6);
        // (kernel, stride, dilation): the 1×1 matmul path, 3×3, strided and dilated, the stem.
        for (i, (kernel, stride, dilation)) in
            [(1, 1, 1), (3, 1, 1), (3, 2, 2), (7, 2, 1), (1, 2, 1)]
                .into_iter()
                .enumerate()
        {
            let seed = 10 * i as u64;
            let tensors = std::collections::HashMap::from([
                (
                    "conv.weight".to_string(),
                    seeded(&[c_out, c_in, kernel, kernel], seed, -0.5, 0.5),
                ),
                (
                    "bn.weight".to_string(),
                    seeded(&[c_out], seed + 1, 0.5, 2.0),
                ),
                ("bn.bias".to_string(), seeded(&[c_out], seed + 2, -1.0, 1.0)),
                (
                    "bn.running_mean".to_string(),
                    seeded(&[c_out], seed + 3, -1.0, 1.0),
                ),
                (
                    "bn.running_var".to_string(),
                    seeded(&[c_out], seed + 4, 0.1, 3.0),
                ),
            ]);
            let vb = VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu);
            let conv = Conv::new(c_in, c_out, kernel, stride, dilation, vb.pp("conv")).unwrap();
            let bn = BatchNorm2d::new(c_out, vb.pp("bn")).unwrap();
            let pair = ConvBn::new(conv.clone(), bn.clone());
            let x = seeded(&[2, c_in, 13, 11], seed + 5, -2.0, 2.0);
            let reference = x.apply(&conv).unwrap().apply_t(&bn, false).unwrap();
            let residual = seeded(reference.dims(), seed + 6, -1.0, 1.0);
            let cases = [
                (pair.forward_t(&x, false).unwrap(), reference.clone()),
                (
                    pair.forward_relu(&x, false).unwrap(),
                    reference.relu().unwrap(),
                ),
                (
                    pair.forward_add_relu(&x, &residual, false).unwrap(),
                    (&reference + &residual).unwrap().relu().unwrap(),
                ),
            ];
            for (case, (folded, unfolded)) in cases.iter().enumerate() {
                assert_eq!(folded.dims(), unfolded.dims());
                // Folding reorders the float operations: a few ulps of the largest value.
                let scale: f32 = unfolded
                    .abs()
                    .unwrap()
                    .max_all()
                    .unwrap()
                    .to_scalar()
                    .unwrap();
                let diff = max_abs_diff(folded, unfolded);
                assert!(
                    diff <= 4e-7 * scale.max(1.0) * 8.0,
                    "kernel {kernel}, case {case}: {diff} of {scale}"
                );
            }
        }
    }

    #[test]
    fn in_place_epilogues_equal_candles_own_ops_bit_for_bit() {
        let x = seeded(&[3, 4, 5, 7], 1, -2.0, 2.0);
        let bias = seeded(&[4], 2, -1.0, 1.0);
        let residual = seeded(&[3, 4, 5, 7], 3, -1.0, 1.0);
        let with_bias = x
            .broadcast_add(&bias.reshape((1, 4, 1, 1)).unwrap())
            .unwrap();
        let fresh = || (&x * 1.0).unwrap(); // a tensor of its own, as a convolution returns
        for (relu, expected) in [
            (false, with_bias.clone()),
            (true, with_bias.relu().unwrap()),
        ] {
            let got = fused::channel_bias(fresh(), &bias, relu).unwrap();
            assert_eq!(
                got.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
                expected.flatten_all().unwrap().to_vec1::<f32>().unwrap()
            );
        }
        let got = fused::add_relu(fresh(), &residual).unwrap();
        let expected = (&x + &residual).unwrap().relu().unwrap();
        assert_eq!(
            got.flatten_all().unwrap().to_vec1::<f32>().unwrap(),
            expected.flatten_all().unwrap().to_vec1::<f32>().unwrap()
        );
        // A view into another tensor is not written in place: the other tensor keeps its values.
        let before = x.flatten_all().unwrap().to_vec1::<f32>().unwrap();
        let view = x.narrow(3, 1, 5).unwrap();
        let out = fused::channel_bias(view.clone(), &bias, true).unwrap();
        assert_eq!(out.dims(), view.dims());
        assert_eq!(x.flatten_all().unwrap().to_vec1::<f32>().unwrap(), before);
    }
}
