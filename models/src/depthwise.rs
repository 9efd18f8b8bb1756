//! Depthwise convolution (`nn.Conv2d(c, c, k, stride, padding, groups=c, bias=False)`) as a CPU
//! custom op with its own backward.
//!
//! candle 0.11 runs `conv2d(.., groups = C)` as C separate convolutions plus a concatenation,
//! about 30× slower forward+backward for Xception's 8×728×19×19 middle flow than direct loops
//! (docs/models.md, "Depthwise convolution"). Each output plane depends on one input plane and
//! one kernel, so the loops parallelise over planes (forward, input gradient) or channels (weight
//! gradient) with a fixed summation order: results do not depend on the thread count.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp2, DType, Layout, Result, Shape, Tensor, WithDType};
use rayon::prelude::*;

use crate::ops::valid_outputs;

/// Geometry of a depthwise convolution; the kernel size comes from the weight (`C×1×kh×kw`).
/// Dilation is always 1 (all Xception needs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Depthwise {
    /// Step between output pixels, input pixels (≥ 1).
    pub stride: usize,
    /// Zero padding on each border, pixels.
    pub padding: usize,
}

impl Depthwise {
    /// Xception's `SeparableConv2d` depthwise part: 3×3, stride 1, padding 1.
    pub const XCEPTION: Depthwise = Depthwise {
        stride: 1,
        padding: 1,
    };

    /// Output length along one axis for an input of `input` pixels and a kernel of `kernel`.
    fn output_len(&self, input: usize, kernel: usize) -> Result<usize> {
        if self.stride == 0 || kernel == 0 {
            candle_core::bail!("depthwise conv {self:?}: stride and kernel size must be positive");
        }
        if input + 2 * self.padding < kernel {
            candle_core::bail!(
                "depthwise conv {self:?}: input of {input} pixels (padded {}) is smaller than the {kernel}-pixel kernel",
                input + 2 * self.padding
            );
        }
        Ok((input + 2 * self.padding - kernel) / self.stride + 1)
    }

    /// Output indices `o` in `[lo, hi)` whose tap at kernel offset `k` lands inside the input.
    fn valid_range(&self, k: usize, input: usize, output: usize) -> (usize, usize) {
        valid_outputs(k, self.padding, self.stride, input, output)
    }
}

/// Sizes of one call: batch, channels, input, kernel and output extents.
#[derive(Clone, Copy, Debug)]
struct Dims {
    n: usize,
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    oh: usize,
    ow: usize,
}

impl Dims {
    fn new(conv: &Depthwise, x: &[usize], weight: &[usize]) -> Result<Self> {
        let [n, c, h, w] = <[usize; 4]>::try_from(x).map_err(|_| rank_error("input", x))?;
        let [cw, one, kh, kw] =
            <[usize; 4]>::try_from(weight).map_err(|_| rank_error("weight", weight))?;
        if cw != c || one != 1 {
            candle_core::bail!(
                "depthwise conv: weight {weight:?} does not fit an input of {c} channels; expected {c}×1×kh×kw"
            );
        }
        Ok(Self {
            n,
            c,
            h,
            w,
            kh,
            kw,
            oh: conv.output_len(h, kh)?,
            ow: conv.output_len(w, kw)?,
        })
    }
}

fn rank_error(what: &str, dims: &[usize]) -> candle_core::Error {
    candle_core::Error::Msg(format!(
        "depthwise conv: {what} must have 4 dimensions (N×C×H×W input, C×1×kh×kw weight), got {dims:?}"
    ))
}

/// The contiguous elements of a CPU storage as a slice of `T`.
fn slice<'a, T: WithDType>(storage: &'a CpuStorage, layout: &Layout) -> Result<&'a [T]> {
    let Some((a, b)) = layout.contiguous_offsets() else {
        candle_core::bail!("depthwise conv needs contiguous tensors; call .contiguous() first");
    };
    Ok(&storage.as_slice::<T>()?[a..b])
}

/// Runs `f` on the two storages as f32 or f64 slices (both of the same type).
fn dispatch(
    name: &str,
    (s1, l1): (&CpuStorage, &Layout),
    (s2, l2): (&CpuStorage, &Layout),
    f32_op: impl FnOnce(&[f32], &[f32]) -> Vec<f32>,
    f64_op: impl FnOnce(&[f64], &[f64]) -> Vec<f64>,
) -> Result<CpuStorage> {
    match (s1.dtype(), s2.dtype()) {
        (DType::F32, DType::F32) => Ok(CpuStorage::F32(f32_op(
            slice(s1, l1)?,
            slice(s2, l2)?,
        ))),
        (DType::F64, DType::F64) => Ok(CpuStorage::F64(f64_op(
            slice(s1, l1)?,
            slice(s2, l2)?,
        ))),
        (a, b) => candle_core::bail!(
            "{name}: supports f32 or f64 tensors of one type, got {a:?} and {b:?}; convert with to_dtype"
        ),
    }
}

/// Calls `tap(oy, iy, ox_lo..ox_hi, ix_of_ox_lo, k)` for every kernel tap `k` (row-major) and
/// every output row `oy` whose taps fall inside the input, with the valid output column range.
/// All three passes (forward, input gradient, weight gradient) walk this same pattern.
fn for_each_tap(
    conv: &Depthwise,
    d: &Dims,
    mut tap: impl FnMut(usize, usize, std::ops::Range<usize>, usize, usize),
) {
    for ky in 0..d.kh {
        let (oy_lo, oy_hi) = conv.valid_range(ky, d.h, d.oh);
        for kx in 0..d.kw {
            let (ox_lo, ox_hi) = conv.valid_range(kx, d.w, d.ow);
            if ox_lo >= ox_hi {
                continue;
            }
            let ix_lo = ox_lo * conv.stride + kx - conv.padding;
            for oy in oy_lo..oy_hi {
                let iy = oy * conv.stride + ky - conv.padding;
                tap(oy, iy, ox_lo..ox_hi, ix_lo, ky * d.kw + kx);
            }
        }
    }
}

fn forward<T: WithDType>(conv: &Depthwise, d: &Dims, x: &[T], weight: &[T]) -> Vec<T> {
    let mut out = vec![T::zero(); d.n * d.c * d.oh * d.ow];
    out.par_chunks_mut(d.oh * d.ow)
        .enumerate()
        .for_each(|(plane, out)| {
            let c = plane % d.c;
            let input = &x[plane * d.h * d.w..(plane + 1) * d.h * d.w];
            let kernel = &weight[c * d.kh * d.kw..(c + 1) * d.kh * d.kw];
            for_each_tap(conv, d, |oy, iy, cols, ix_lo, k| {
                let wk = kernel[k];
                let out_row = &mut out[oy * d.ow + cols.start..oy * d.ow + cols.end];
                let in_row = &input[iy * d.w + ix_lo..];
                // Stride 1 (every separable convolution of Xception) reads a contiguous run,
                // which vectorises; indexing by `j * stride` did not. The same products and
                // sums, in the same order.
                if conv.stride == 1 {
                    let in_row = &in_row[..out_row.len()];
                    for (o, &v) in out_row.iter_mut().zip(in_row) {
                        *o += wk * v;
                    }
                } else {
                    for (o, &v) in out_row.iter_mut().zip(in_row.iter().step_by(conv.stride)) {
                        *o += wk * v;
                    }
                }
            });
        });
    out
}

fn grad_input<T: WithDType>(conv: &Depthwise, d: &Dims, grad: &[T], weight: &[T]) -> Vec<T> {
    let mut grad_x = vec![T::zero(); d.n * d.c * d.h * d.w];
    grad_x
        .par_chunks_mut(d.h * d.w)
        .enumerate()
        .for_each(|(plane, grad_x)| {
            let c = plane % d.c;
            let g = &grad[plane * d.oh * d.ow..(plane + 1) * d.oh * d.ow];
            let kernel = &weight[c * d.kh * d.kw..(c + 1) * d.kh * d.kw];
            for_each_tap(conv, d, |oy, iy, cols, ix_lo, k| {
                let wk = kernel[k];
                let g_row = &g[oy * d.ow + cols.start..oy * d.ow + cols.end];
                let gx_row = &mut grad_x[iy * d.w + ix_lo..];
                // As in `forward`: contiguous at stride 1, so it vectorises; same sums.
                if conv.stride == 1 {
                    for (gx, &go) in gx_row[..g_row.len()].iter_mut().zip(g_row) {
                        *gx += wk * go;
                    }
                } else {
                    for (gx, &go) in gx_row.iter_mut().step_by(conv.stride).zip(g_row) {
                        *gx += wk * go;
                    }
                }
            });
        });
    grad_x
}

fn grad_weight<T: WithDType>(conv: &Depthwise, d: &Dims, x: &[T], grad: &[T]) -> Vec<T> {
    let taps = d.kh * d.kw;
    let mut grad_w = vec![T::zero(); d.c * taps];
    grad_w
        .par_chunks_mut(taps)
        .enumerate()
        .for_each(|(c, grad_w)| {
            // Row sums in T, totals in f64: up to N·H·W terms per tap.
            let mut total = vec![0f64; taps];
            for n in 0..d.n {
                let plane = n * d.c + c;
                let input = &x[plane * d.h * d.w..(plane + 1) * d.h * d.w];
                let g = &grad[plane * d.oh * d.ow..(plane + 1) * d.oh * d.ow];
                for_each_tap(conv, d, |oy, iy, cols, ix_lo, k| {
                    let g_row = &g[oy * d.ow + cols.start..oy * d.ow + cols.end];
                    let in_row = &input[iy * d.w + ix_lo..];
                    let mut sum = T::zero();
                    for (j, &go) in g_row.iter().enumerate() {
                        sum += go * in_row[j * conv.stride];
                    }
                    total[k] += sum.to_f64();
                });
            }
            for (gw, t) in grad_w.iter_mut().zip(total) {
                *gw = T::from_f64(t);
            }
        });
    grad_w
}

/// The forward op: `(input N×C×H×W, weight C×1×kh×kw) → N×C×oh×ow`.
struct DepthwiseOp(Depthwise);

impl CustomOp2 for DepthwiseOp {
    fn name(&self) -> &'static str {
        "depthwise-conv2d"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let d = Dims::new(&self.0, l1.dims(), l2.dims())?;
        let out = dispatch(
            self.name(),
            (s1, l1),
            (s2, l2),
            |x, w| forward(&self.0, &d, x, w),
            |x, w| forward(&self.0, &d, x, w),
        )?;
        Ok((out, Shape::from((d.n, d.c, d.oh, d.ow))))
    }

    fn bwd(
        &self,
        x: &Tensor,
        weight: &Tensor,
        _res: &Tensor,
        grad: &Tensor,
    ) -> Result<(Option<Tensor>, Option<Tensor>)> {
        let grad = grad.contiguous()?;
        let (n, c, h, w) = x.dims4()?;
        let (_, _, kh, kw) = weight.dims4()?;
        let grad_x = grad.apply_op2_no_bwd(
            weight,
            &GradInputOp {
                conv: self.0,
                input: (n, c, h, w),
            },
        )?;
        let grad_w = x.apply_op2_no_bwd(
            &grad,
            &GradWeightOp {
                conv: self.0,
                kernel: (kh, kw),
            },
        )?;
        Ok((Some(grad_x), Some(grad_w)))
    }
}

/// `(output gradient, weight) → input gradient` of an input of shape `input`.
struct GradInputOp {
    conv: Depthwise,
    input: (usize, usize, usize, usize),
}

impl CustomOp2 for GradInputOp {
    fn name(&self) -> &'static str {
        "depthwise-conv2d-grad-input"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = self.input;
        let d = Dims::new(&self.conv, &[n, c, h, w], l2.dims())?;
        if l1.dims() != [d.n, d.c, d.oh, d.ow] {
            candle_core::bail!(
                "{}: gradient {:?} does not match the output shape {:?}",
                self.name(),
                l1.dims(),
                [d.n, d.c, d.oh, d.ow]
            );
        }
        let out = dispatch(
            self.name(),
            (s1, l1),
            (s2, l2),
            |g, w| grad_input(&self.conv, &d, g, w),
            |g, w| grad_input(&self.conv, &d, g, w),
        )?;
        Ok((out, Shape::from(self.input)))
    }
}

/// `(input, output gradient) → weight gradient` of a `C×1×kernel` weight.
struct GradWeightOp {
    conv: Depthwise,
    kernel: (usize, usize),
}

impl CustomOp2 for GradWeightOp {
    fn name(&self) -> &'static str {
        "depthwise-conv2d-grad-weight"
    }

    fn cpu_fwd(
        &self,
        s1: &CpuStorage,
        l1: &Layout,
        s2: &CpuStorage,
        l2: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let c = l1.dims().get(1).copied().unwrap_or(0);
        let (kh, kw) = self.kernel;
        let d = Dims::new(&self.conv, l1.dims(), &[c, 1, kh, kw])?;
        if l2.dims() != [d.n, d.c, d.oh, d.ow] {
            candle_core::bail!(
                "{}: gradient {:?} does not match the output shape {:?}",
                self.name(),
                l2.dims(),
                [d.n, d.c, d.oh, d.ow]
            );
        }
        let out = dispatch(
            self.name(),
            (s1, l1),
            (s2, l2),
            |x, g| grad_weight(&self.conv, &d, x, g),
            |x, g| grad_weight(&self.conv, &d, x, g),
        )?;
        Ok((out, Shape::from((c, 1, kh, kw))))
    }
}

/// Depthwise convolution of `x` (`N×C×H×W`) with `weight` (`C×1×kh×kw`), no bias, dilation 1:
/// PyTorch's `F.conv2d(x, weight, stride=conv.stride, padding=conv.padding, groups=C)`.
///
/// On the CPU this is a custom op with an exact backward (input and weight gradients); other
/// devices use candle's grouped `conv2d` (same result, slower and memory-hungry).
pub fn depthwise_conv2d(x: &Tensor, weight: &Tensor, conv: Depthwise) -> Result<Tensor> {
    // Validates shapes up front so both paths fail with the same message.
    let d = Dims::new(&conv, x.dims(), weight.dims())?;
    if x.device().is_cpu() {
        x.contiguous()?
            .apply_op2(&weight.contiguous()?, DepthwiseOp(conv))
    } else {
        x.conv2d(weight, conv.padding, conv.stride, 1, d.c)
    }
}
