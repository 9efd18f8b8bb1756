//! Convolution for evaluation on the CPU as im2col plus one matrix product.
//!
//! candle 0.11's CPU `conv2d` (its tiled im2col) gathers every patch element by element with
//! bounds checks and converts the input to NHWC on each call; on the bundled network that took
//! 70 % of a forward pass (`perf`, docs/benchmarks.md). Here the column matrix is built row by
//! row: a row is one (input channel, kernel row, kernel column) tap over all output pixels, so
//! for stride 1 it is a run of contiguous copies from the input, and for stride 2 a strided
//! gather of one input row. The product `weight (c_out × c_in·k²) · columns (c_in·k² × pixels)`
//! then lands directly in NCHW, through candle's matmul (the `gemm` crate, multi-threaded).
//! No backward: training keeps candle's `conv2d`.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

use crate::ops::valid_outputs;

/// Geometry of a convolution with a square `kernel`.
#[derive(Clone, Copy, Debug)]
struct Im2Col {
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
}

impl Im2Col {
    /// Output length along an axis of `input` pixels (as PyTorch's `Conv2d`).
    fn output_len(&self, input: usize) -> Option<usize> {
        let span = self.dilation * (self.kernel - 1) + 1;
        (input + 2 * self.padding)
            .checked_sub(span)
            .map(|room| room / self.stride + 1)
    }

    /// Output indices `o` in `[lo, hi)` whose tap at offset `tap = k·dilation` lands inside the
    /// input.
    fn valid(&self, tap: usize, input: usize, output: usize) -> (usize, usize) {
        valid_outputs(tap, self.padding, self.stride, input, output)
    }
}

impl CustomOp1 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col"
    }

    /// `N×C×H×W` → `N × (C·k·k) × (Ho·Wo)`, rows ordered (channel, kernel row, kernel column)
    /// like a flattened `c_out×c_in×k×k` weight.
    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = layout.shape().dims4()?;
        let CpuStorage::F32(x) = storage else {
            candle_core::bail!("im2col: f32 input only, got {:?}", storage.dtype());
        };
        if !layout.is_contiguous() {
            candle_core::bail!("im2col: the input must be contiguous");
        }
        let x = &x[layout.start_offset()..layout.start_offset() + n * c * h * w];
        let (Some(oh), Some(ow)) = (self.output_len(h), self.output_len(w)) else {
            candle_core::bail!("im2col {self:?}: input {h}×{w} is smaller than the kernel");
        };
        let k = self.kernel;
        let pixels = oh * ow;
        let mut columns = vec![0f32; n * c * k * k * pixels];
        // One block of k·k rows per (image, channel): disjoint, so filled in parallel.
        columns
            .par_chunks_mut(k * k * pixels)
            .enumerate()
            .for_each(|(plane, block)| {
                let input = &x[plane * h * w..(plane + 1) * h * w];
                for ky in 0..k {
                    let (y0, y1) = self.valid(ky * self.dilation, h, oh);
                    for kx in 0..k {
                        let (x0, x1) = self.valid(kx * self.dilation, w, ow);
                        let row = &mut block[(ky * k + kx) * pixels..(ky * k + kx + 1) * pixels];
                        if x0 >= x1 {
                            continue;
                        }
                        for oy in y0..y1 {
                            let iy = oy * self.stride + ky * self.dilation - self.padding;
                            let ix0 = x0 * self.stride + kx * self.dilation - self.padding;
                            let source = &input[iy * w..(iy + 1) * w];
                            let target = &mut row[oy * ow + x0..oy * ow + x1];
                            if self.stride == 1 {
                                target.copy_from_slice(&source[ix0..ix0 + (x1 - x0)]);
                            } else {
                                for (t, s) in target
                                    .iter_mut()
                                    .zip(source[ix0..].iter().step_by(self.stride))
                                {
                                    *t = *s;
                                }
                            }
                        }
                    }
                }
            });
        Ok((
            CpuStorage::F32(columns),
            Shape::from((n, c * k * k, pixels)),
        ))
    }
}

/// `conv2d(x, weight)` (no bias, one group, square kernel) for evaluation on the CPU; other
/// devices, dtypes or layouts go to candle's `conv2d`.
pub fn conv2d(
    x: &Tensor,
    weight: &Tensor,
    padding: usize,
    stride: usize,
    dilation: usize,
) -> Result<Tensor> {
    let (n, _, h, w) = x.dims4()?;
    let (c_out, c_in, kh, kw) = weight.dims4()?;
    let geometry = Im2Col {
        kernel: kh,
        stride,
        padding,
        dilation,
    };
    let fits = x.device().is_cpu()
        && x.dtype() == candle_core::DType::F32
        && kh == kw
        && stride > 0
        && dilation > 0;
    let (Some(oh), Some(ow), true) = (geometry.output_len(h), geometry.output_len(w), fits) else {
        return x.conv2d(weight, padding, stride, dilation, 1);
    };
    // A few images at a time: their column matrix stays under COLUMN_BUDGET floats, so it is
    // reused from the allocator's heap (larger blocks are fresh pages from the kernel on every
    // call: page faults cost as much as the copying) and stays closer to the caches.
    const COLUMN_BUDGET: usize = 1 << 22;
    let per_image = c_in * kh * kw * oh * ow;
    let chunk = (COLUMN_BUDGET / per_image.max(1)).clamp(1, n.max(1));
    let weight = weight.reshape((c_out, c_in * kh * kw))?;
    let x = x.contiguous()?;
    let outputs = (0..n)
        .step_by(chunk)
        .map(|start| {
            let images = x.narrow(0, start, chunk.min(n - start))?;
            weight.broadcast_matmul(&images.apply_op1_no_bwd(&geometry)?)
        })
        .collect::<Result<Vec<_>>>()?;
    let out = match outputs.len() {
        1 => outputs.into_iter().next().expect("one chunk"),
        _ => Tensor::cat(&outputs, 0)?,
    };
    out.reshape((n, c_out, oh, ow))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{max_abs_diff, seeded};

    #[test]
    fn equals_candles_conv2d_for_every_geometry() {
        let mut seed = 0;
        for kernel in [1, 2, 3, 5, 7] {
            for stride in [1, 2, 3] {
                for dilation in [1, 2, 3] {
                    for padding in [0, 1, 3, 6] {
                        for (h, w) in [(9, 9), (13, 7), (4, 17)] {
                            seed += 1;
                            let geometry = Im2Col {
                                kernel,
                                stride,
                                padding,
                                dilation,
                            };
                            if geometry.output_len(h.min(w)).is_none() {
                                continue; // kernel larger than the padded input: candle panics
                            }
                            let x = seeded(&[2, 3, h, w], seed, -1.0, 1.0);
                            let weight = seeded(&[4, 3, kernel, kernel], seed + 1000, -1.0, 1.0);
                            let expected = x.conv2d(&weight, padding, stride, dilation, 1).unwrap();
                            let got = conv2d(&x, &weight, padding, stride, dilation).unwrap();
                            let case =
                                format!("k{kernel} s{stride} d{dilation} p{padding} {h}×{w}");
                            assert_eq!(expected.dims(), got.dims(), "{case}");
                            let diff = max_abs_diff(&expected, &got);
                            assert!(diff < 1e-5, "{case}: {diff}");
                        }
                    }
                }
            }
        }
    }
}
