//! Differentiable replacements for the candle 0.11 ops DeepLabv3 needs but cannot train through
//! (docs/models.md, "Training on candle"): bilinear resizing (no backward in candle) and the
//! ResNet stem's 3×3 stride-2 padded max-pool (no padding argument, no or a wrong backward).

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, DType, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// Row-major `out × in` matrix of PyTorch's bilinear weights along one axis
/// (`F.interpolate(mode="bilinear", align_corners=False)` with an explicit output size).
///
/// Output index `o` samples the input at `(o + 0.5)·in/out − 0.5`, clamped below at 0 and
/// blended between the two nearest input indices (the upper one clamped to `in − 1`).
pub fn bilinear_weights(in_size: usize, out_size: usize) -> Vec<f64> {
    let mut m = vec![0.0; out_size * in_size];
    let scale = in_size as f64 / out_size as f64;
    for o in 0..out_size {
        let source = ((o as f64 + 0.5) * scale - 0.5).max(0.0);
        let i0 = (source.floor() as usize).min(in_size - 1);
        let i1 = (i0 + 1).min(in_size - 1);
        let w1 = source - i0 as f64;
        m[o * in_size + i0] += 1.0 - w1;
        m[o * in_size + i1] += w1;
    }
    m
}

/// Bilinear resize of an `N×C×H×W` tensor to `out_h × out_w`, exactly as PyTorch's
/// `F.interpolate(x, size, mode="bilinear", align_corners=False)`, differentiable (two matmuls
/// with the interpolation matrices of [`bilinear_weights`]).
pub fn resize_bilinear(x: &Tensor, out_h: usize, out_w: usize) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    if (h, w) == (out_h, out_w) {
        return Ok(x.clone());
    }
    if out_h == 0 || out_w == 0 || h == 0 || w == 0 {
        candle_core::bail!(
            "resize_bilinear: cannot resize {h}×{w} to {out_h}×{out_w}; sizes must be positive"
        );
    }
    let matrix = |i: usize, o: usize| -> Result<Tensor> {
        Tensor::from_vec(bilinear_weights(i, o), (o, i), x.device())?.to_dtype(x.dtype())
    };
    // Width: rows of x (N·C·H of them) times Rwᵀ.
    let along_w = x
        .reshape((n * c * h, w))?
        .matmul(&matrix(w, out_w)?.t()?)?
        .reshape((n * c, h, out_w))?;
    // Height: put H last, multiply by Rhᵀ, and swap back.
    along_w
        .transpose(1, 2)?
        .contiguous()?
        .reshape((n * c * out_w, h))?
        .matmul(&matrix(h, out_h)?.t()?)?
        .reshape((n, c, out_w, out_h))?
        .transpose(2, 3)?
        .contiguous()
}

/// Global average pooling to `N×C×1×1` (`nn.AdaptiveAvgPool2d(1)`).
pub fn global_avg_pool(x: &Tensor) -> Result<Tensor> {
    // One mean over each contiguous plane: candle reduces a last dimension far faster than an
    // inner one (mean over H, then W, was 3 % of the bundled network's forward), and PyTorch
    // too sums the plane in one pass.
    x.flatten_from(2)?.mean_keepdim(2)?.unsqueeze(3)
}

/// Output indices `o` in `[lo, hi)` of a convolution (or pool) whose tap at offset `tap`
/// (kernel index × dilation) lands inside an input of `input` pixels:
/// `0 ≤ o·stride + tap − padding < input`, for `output` outputs.
pub(crate) fn valid_outputs(
    tap: usize,
    padding: usize,
    stride: usize,
    input: usize,
    output: usize,
) -> (usize, usize) {
    let lo = padding.saturating_sub(tap).div_ceil(stride);
    let hi = match (input + padding).checked_sub(tap + 1) {
        Some(last) => (last / stride + 1).min(output),
        None => 0,
    };
    (lo.min(hi), hi)
}

/// Square max-pool window: `kernel × kernel`, moved by `stride`, with `padding` pixels of −∞
/// on each side (`nn.MaxPool2d(kernel, stride, padding)`; the ResNet stem uses 3, 2, 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool {
    /// Window side, pixels.
    pub kernel: usize,
    /// Step between windows, pixels.
    pub stride: usize,
    /// −∞ padding on each border, pixels (at most `kernel / 2`, as PyTorch requires).
    pub padding: usize,
}

impl MaxPool {
    /// The ResNet stem's pool (`MaxPool2d(3, 2, padding=1)`).
    pub const RESNET_STEM: MaxPool = MaxPool {
        kernel: 3,
        stride: 2,
        padding: 1,
    };

    fn output_size(&self, input: usize) -> usize {
        (input + 2 * self.padding - self.kernel) / self.stride + 1
    }

    fn check(&self, h: usize, w: usize) -> Result<()> {
        if self.kernel == 0 || self.stride == 0 || 2 * self.padding > self.kernel {
            candle_core::bail!("max-pool {self:?}: kernel and stride must be positive and padding at most kernel/2");
        }
        if h + 2 * self.padding < self.kernel || w + 2 * self.padding < self.kernel {
            candle_core::bail!("max-pool {self:?}: input {h}×{w} is smaller than the window");
        }
        Ok(())
    }

    /// For each output element, the flat index (within its `H×W` plane) of the input maximum;
    /// the first maximum in row-major window order wins, as in PyTorch.
    fn argmax(&self, plane: &[f64], h: usize, w: usize) -> Vec<usize> {
        let (oh, ow) = (self.output_size(h), self.output_size(w));
        let mut best = Vec::with_capacity(oh * ow);
        for oy in 0..oh {
            for ox in 0..ow {
                let mut arg = usize::MAX;
                let mut max = f64::NEG_INFINITY;
                for ky in 0..self.kernel {
                    let Some(y) = (oy * self.stride + ky).checked_sub(self.padding) else {
                        continue;
                    };
                    if y >= h {
                        continue;
                    }
                    for kx in 0..self.kernel {
                        let Some(x) = (ox * self.stride + kx).checked_sub(self.padding) else {
                            continue;
                        };
                        if x >= w {
                            continue;
                        }
                        let v = plane[y * w + x];
                        // NaN propagates like in PyTorch.
                        if arg == usize::MAX || v > max || v.is_nan() {
                            arg = y * w + x;
                            max = v;
                            if v.is_nan() {
                                break;
                            }
                        }
                    }
                }
                best.push(arg);
            }
        }
        best
    }

    /// The forward pass over contiguous `N·C` planes of `h × w`, one plane per task. The
    /// window's maximum is taken along rows, then down columns (max is exact, so the values are
    /// [`MaxPool::argmax`]'s, which the backward uses): the element-by-element window scan cost
    /// 15 % of the bundled network's forward. A NaN in a window gives NaN, as in PyTorch.
    fn pool_planes<T>(&self, input: &[T], h: usize, w: usize) -> Vec<T>
    where
        T: Copy + Default + PartialOrd + Send + Sync,
    {
        let (oh, ow) = (self.output_size(h), self.output_size(w));
        // Keeps `a` unless `b` is larger or NaN; a NaN `a` stays (no `b` is larger).
        #[allow(clippy::eq_op)] // `b != b` is the NaN test for any float type
        let max = |a: T, b: T| if b > a || b != b { b } else { a };
        let windows = |output: usize, input: usize| {
            (0..output).map(move |o| {
                let first = (o * self.stride).saturating_sub(self.padding);
                let end = (o * self.stride + self.kernel - self.padding).min(input);
                first..end
            })
        };
        let mut out = vec![T::default(); input.len() / (h * w) * oh * ow];
        out.par_chunks_mut(oh * ow)
            .zip(input.par_chunks_exact(h * w))
            .for_each(|(out, plane)| {
                // Each input row's maxima over the windows' columns.
                let mut rows = vec![T::default(); h * ow];
                for (row, maxima) in plane.chunks_exact(w).zip(rows.chunks_exact_mut(ow)) {
                    for (m, cols) in maxima.iter_mut().zip(windows(ow, w)) {
                        let cols = &row[cols];
                        *m = cols[1..].iter().fold(cols[0], |a, &b| max(a, b));
                    }
                }
                for (target, ys) in out.chunks_exact_mut(ow).zip(windows(oh, h)) {
                    target.copy_from_slice(&rows[ys.start * ow..][..ow]);
                    for y in ys.start + 1..ys.end {
                        for (t, &v) in target.iter_mut().zip(&rows[y * ow..][..ow]) {
                            *t = max(*t, v);
                        }
                    }
                }
            });
        out
    }
}

impl CustomOp1 for MaxPool {
    fn name(&self) -> &'static str {
        "max-pool-padded"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = layout.shape().dims4()?;
        self.check(h, w)?;
        if h * w == 0 {
            candle_core::bail!("max-pool of an empty {h}×{w} input");
        }
        let Some((a, b)) = layout.contiguous_offsets() else {
            candle_core::bail!("max-pool needs a contiguous input; call .contiguous() first");
        };
        let storage = match storage {
            CpuStorage::F32(d) => CpuStorage::F32(self.pool_planes(&d[a..b], h, w)),
            CpuStorage::F64(d) => CpuStorage::F64(self.pool_planes(&d[a..b], h, w)),
            other => candle_core::bail!(
                "max-pool supports f32 and f64 tensors, got {:?}; convert with to_dtype",
                other.dtype()
            ),
        };
        let (oh, ow) = (self.output_size(h), self.output_size(w));
        Ok((storage, Shape::from((n, c, oh, ow))))
    }

    /// The gradient flows to each window's (first) maximum only, as in PyTorch.
    fn bwd(&self, arg: &Tensor, _res: &Tensor, grad_res: &Tensor) -> Result<Option<Tensor>> {
        let (n, c, h, w) = arg.dims4()?;
        let input = arg.to_dtype(DType::F64)?.flatten_all()?.to_vec1::<f64>()?;
        let grad_out = grad_res
            .to_dtype(DType::F64)?
            .flatten_all()?
            .to_vec1::<f64>()?;
        let plane_out = self.output_size(h) * self.output_size(w);
        let mut grad = vec![0.0; n * c * h * w];
        for (p, plane) in input.chunks_exact(h * w).enumerate() {
            let g_in = &mut grad[p * h * w..(p + 1) * h * w];
            let g_out = &grad_out[p * plane_out..(p + 1) * plane_out];
            for (o, i) in self.argmax(plane, h, w).into_iter().enumerate() {
                g_in[i] += g_out[o];
            }
        }
        Ok(Some(
            Tensor::from_vec(grad, (n, c, h, w), arg.device())?.to_dtype(arg.dtype())?,
        ))
    }
}

/// Max-pool with −∞ padding and PyTorch's gradient (to the first maximum of each window).
///
/// On the CPU this is the [`MaxPool`] custom op. Other devices use a composite of −∞ padding,
/// `kernel²` strided slices and `maximum`: the same forward, but a gradient that candle splits
/// equally between tied maxima (which PyTorch gives to the first).
pub fn max_pool2d(x: &Tensor, pool: MaxPool) -> Result<Tensor> {
    if x.device().is_cpu() {
        x.contiguous()?.apply_op1(pool)
    } else {
        max_pool2d_composite(x, pool)
    }
}

/// The device-independent composite max-pool described at [`max_pool2d`].
pub fn max_pool2d_composite(x: &Tensor, pool: MaxPool) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    pool.check(h, w)?;
    let (oh, ow) = (pool.output_size(h), pool.output_size(w));
    let p = pool.padding;
    let padded = if p > 0 {
        let ninf = |shape: (usize, usize, usize, usize)| -> Result<Tensor> {
            Tensor::full(f32::NEG_INFINITY, shape, x.device())?.to_dtype(x.dtype())
        };
        let x = Tensor::cat(&[&ninf((n, c, h, p))?, x, &ninf((n, c, h, p))?], 3)?;
        Tensor::cat(
            &[
                &ninf((n, c, p, w + 2 * p))?,
                &x,
                &ninf((n, c, p, w + 2 * p))?,
            ],
            2,
        )?
    } else {
        x.clone()
    };
    let mut result: Option<Tensor> = None;
    for ky in 0..pool.kernel {
        for kx in 0..pool.kernel {
            let slice = strided(&padded, 2, ky, oh, pool.stride)?;
            let slice = strided(&slice, 3, kx, ow, pool.stride)?;
            result = Some(match result {
                None => slice,
                Some(r) => r.maximum(&slice)?,
            });
        }
    }
    result.ok_or_else(|| candle_core::Error::Msg("max-pool with an empty kernel".into()))
}

/// Elements `start, start + stride, …` (`count` of them) along `dim`, via narrow and reshape.
fn strided(x: &Tensor, dim: usize, start: usize, count: usize, stride: usize) -> Result<Tensor> {
    let len = x.dim(dim)?;
    // Take count·stride elements where available, padding the tail view by narrowing.
    let span = (count * stride).min(len - start);
    let x = x.narrow(dim, start, span)?;
    let x = if span < count * stride {
        let missing = count * stride - span;
        let mut shape = x.dims().to_vec();
        shape[dim] = missing;
        Tensor::cat(&[&x, &Tensor::zeros(shape, x.dtype(), x.device())?], dim)?
    } else {
        x
    };
    let mut shape = x.dims().to_vec();
    shape[dim] = count;
    shape.insert(dim + 1, stride);
    x.reshape(shape)?.narrow(dim + 1, 0, 1)?.squeeze(dim + 1)
}

/// A stride-1, unpadded 1×1 convolution (`weight`: `O×C×1×1`, no bias) of an `N×C×H×W` batch
/// as one batched matmul; on the CPU this is 2–2.6× faster forward+backward than candle's
/// im2col `conv2d` (docs/models.md) and gives the same result.
pub fn pointwise_conv(x: &Tensor, weight: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (o, c_w, kh, kw) = weight.dims4()?;
    if (c_w, kh, kw) != (c, 1, 1) {
        candle_core::bail!(
            "pointwise_conv: weight {:?} does not fit a 1×1 convolution of {c} channels",
            weight.dims()
        );
    }
    weight
        .reshape((o, c))?
        .broadcast_matmul(&x.reshape((n, c, h * w))?)?
        .reshape((n, o, h, w))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The separable forward gives, for every window, the value at the backward's argmax (the
    /// element-by-element scan), and NaN wherever a window holds a NaN.
    #[test]
    fn max_pool_forward_equals_the_window_scan_and_keeps_nan() {
        for (pool, h, w) in [
            (MaxPool::RESNET_STEM, 9, 12),
            (
                MaxPool {
                    kernel: 2,
                    stride: 2,
                    padding: 0,
                },
                8,
                7,
            ),
            (
                MaxPool {
                    kernel: 3,
                    stride: 1,
                    padding: 0,
                },
                5,
                6,
            ),
        ] {
            // Few distinct values, so windows tie.
            let mut plane: Vec<f64> = (0..h * w).map(|i| ((i * 7919) % 13) as f64 - 6.0).collect();
            plane[h * w / 2] = f64::NAN;
            let pooled = pool.pool_planes(&plane, h, w);
            let scanned: Vec<f64> = pool
                .argmax(&plane, h, w)
                .into_iter()
                .map(|i| plane[i])
                .collect();
            assert_eq!(pooled.len(), scanned.len());
            assert!(pooled.iter().any(|v| v.is_nan()), "{pool:?}");
            for (p, s) in pooled.iter().zip(&scanned) {
                assert!(p == s || (p.is_nan() && s.is_nan()), "{pool:?}: {p} vs {s}");
            }
        }
    }
}
