//! Convolution for evaluation on the CPU as im2col plus one matrix product per image.
//!
//! candle 0.11's CPU `conv2d` (its tiled im2col) gathers every patch element by element with
//! bounds checks and converts the input to NHWC on each call; on the bundled network that took
//! 70 % of a forward pass (`perf`, docs/benchmarks.md). Here the column matrix of one image is
//! built row by row: a row is one (input channel, kernel row, kernel column) tap over all output
//! pixels, a run of contiguous copies. A strided convolution first splits each input row into
//! its `stride` phases (every `stride`-th pixel), so its taps are contiguous copies too (a
//! strided gather per tap cost a third of the bundled forward). One column buffer serves every
//! image of the batch and is written whole, padding zeros included, so it is neither zeroed
//! nor faulted in again per image. The product `weight (c_out × c_in·k²) · columns
//! (c_in·k² × pixels)` goes straight into the NCHW output through the `gemm` crate, with the
//! same arguments as candle's matmul (so the same values, bit for bit), multi-threaded on
//! rayon's pool. No backward: training keeps candle's `conv2d`.

use candle_core::{CpuStorage, CustomOp2, Layout, Result, Shape, Tensor};
use rayon::prelude::*;

/// Geometry of a convolution with a square `kernel`.
#[derive(Clone, Copy, Debug)]
struct Im2Col {
    kernel: usize,
    stride: usize,
    padding: usize,
    dilation: usize,
    method: Method,
}

/// How [`Im2Col`] computes a convolution.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    /// [`Method::Direct`] for at most 8 output channels over rows of at least 32 pixels, else
    /// [`Method::Columns`]. There all 8 channels' accumulators of a block of output columns
    /// stay in registers and each input load serves them all; with more channels the direct
    /// loop reloads the input per 8, narrower rows waste part of each 16-column block, and the
    /// matrix product's cache blocking wins. Measured per layer of the bundled network (one
    /// thread, batch 8): the 3→8 7×7 stem at 224² took 29 ms per batch as columns and 10.5 ms
    /// direct, the 8→8 3×3 at 56² 5.1 and 3.6 ms; but 16→16 at 28² 1.2 and 1.6 ms, 8→16 3×3
    /// stride 2 at 56² 0.9 and 1.3 ms.
    Auto,
    /// im2col and one matrix product per image.
    #[cfg_attr(not(test), allow(dead_code))] // tests run each method
    Columns,
    /// [`Direct`].
    #[cfg_attr(not(test), allow(dead_code))]
    Direct,
}

impl Method {
    fn direct(self, c_out: usize, ow: usize) -> bool {
        match self {
            Method::Auto => c_out <= 8 && ow >= 2 * LANES,
            Method::Columns => false,
            Method::Direct => true,
        }
    }
}

impl Im2Col {
    /// Output length along an axis of `input` pixels (as PyTorch's `Conv2d`).
    fn output_len(&self, input: usize) -> Option<usize> {
        let span = self.dilation * (self.kernel - 1) + 1;
        (input + 2 * self.padding)
            .checked_sub(span)
            .map(|room| room / self.stride + 1)
    }
}

/// Output columns computed together by [`Direct::row`]: one 512-bit register of f32.
const LANES: usize = 16;

/// One image's input, each row split into its `stride` phases (every `stride`-th pixel) and
/// padded with zeros on both sides, so that the taps of kernel column `kx` for a whole output
/// row read one contiguous run of a padded phase row, borders included: im2col's rows become
/// plain copies and [`Direct`] loads whole vectors. (A strided gather per tap cost a third of
/// the bundled network's forward.)
struct PhaseRows {
    conv: Im2Col,
    channels: usize,
    h: usize,
    w: usize,
    /// Zeros before each phase row's first value.
    left: usize,
    /// Length of a padded phase row: the runs of all taps for `ow` output columns rounded up
    /// to whole blocks of [`LANES`].
    row_len: usize,
    /// Per kernel column: its phase and where its run starts in a padded phase row.
    columns: Vec<(usize, usize)>,
    /// `[channel][phase][input row][row_len]`.
    rows: Vec<f32>,
}

impl PhaseRows {
    /// Room for the split and padded rows of `channels × h × w` images for `conv` with `ow`
    /// output columns: zeros until [`PhaseRows::load`] writes an image. One buffer serves every
    /// image of a batch: each load writes the same places, so the padding stays zero.
    fn new(conv: Im2Col, channels: usize, (h, w): (usize, usize), ow: usize) -> Self {
        let (s, d, pad) = (conv.stride, conv.dilation, conv.padding);
        // Tap kx reads input column (ox + q)·s + r for output column ox, with
        // kx·d − pad = q·s + r, 0 ≤ r < s: phase r, index ox + q of the phase.
        let split = |kx: usize| {
            let offset = (kx * d) as isize - pad as isize;
            (
                offset.rem_euclid(s as isize) as usize,
                offset.div_euclid(s as isize),
            )
        };
        let left = (-split(0).1.min(0)) as usize;
        let last = split(conv.kernel - 1).1.max(0) as usize;
        let row_len = left + ow.next_multiple_of(LANES) + last;
        let columns = (0..conv.kernel)
            .map(|kx| {
                let (phase, q) = split(kx);
                (phase, (left as isize + q) as usize)
            })
            .collect();
        Self {
            conv,
            channels,
            h,
            w,
            left,
            row_len,
            columns,
            rows: vec![0f32; channels * s * h * row_len],
        }
    }

    /// Splits and pads one image (`channels × h × w`).
    fn load(&mut self, input: &[f32]) {
        let (s, h, w) = (self.conv.stride, self.h, self.w);
        let (left, row_len) = (self.left, self.row_len);
        self.rows
            .par_chunks_mut(s * h * row_len)
            .zip(input.par_chunks_exact(h * w))
            .for_each(|(phases, plane)| {
                for (y, row) in plane.chunks_exact(w).enumerate() {
                    for phase in 0..s.min(w) {
                        let target = &mut phases[(phase * h + y) * row_len..][left..row_len];
                        for (t, v) in target.iter_mut().zip(row[phase..].iter().step_by(s)) {
                            *t = *v;
                        }
                    }
                }
            });
    }

    /// The input row kernel row `ky` reaches from output row `oy`; `None` outside the input,
    /// where the taps add only zeros.
    #[inline(always)]
    fn input_row(&self, oy: usize, ky: usize) -> Option<usize> {
        let c = self.conv;
        (oy * c.stride + ky * c.dilation)
            .checked_sub(c.padding)
            .filter(|&iy| iy < self.h)
    }

    /// Where the run of tap (`ch`, ·, `kx`) on input row `iy` starts: the value for output
    /// column 0, followed by those of the next columns.
    #[inline(always)]
    fn start(&self, ch: usize, iy: usize, kx: usize) -> usize {
        let (phase, start) = self.columns[kx];
        ((ch * self.conv.stride + phase) * self.h + iy) * self.row_len + start
    }

    /// Writes every element of `columns` (`channels·k² × oh·ow`), im2col's matrix: row
    /// (channel, kernel row, kernel column) holds that tap's input for every output pixel.
    fn fill_columns(&self, columns: &mut [f32], (oh, ow): (usize, usize)) {
        let k = self.conv.kernel;
        // One task per (channel, kernel row): k rows of the column matrix.
        columns
            .par_chunks_mut(k * oh * ow)
            .enumerate()
            .for_each(|(task, block)| {
                let (ch, ky) = (task / k, task % k);
                for (kx, row) in block.chunks_exact_mut(oh * ow).enumerate() {
                    for (oy, target) in row.chunks_exact_mut(ow).enumerate() {
                        match self.input_row(oy, ky) {
                            Some(iy) => {
                                let start = self.start(ch, iy, kx);
                                target.copy_from_slice(&self.rows[start..start + ow]);
                            }
                            None => target.fill(0.0),
                        }
                    }
                }
            });
    }
}

/// Direct convolution of one image for few output channels over wide rows, where it beats
/// im2col ([`Method::Auto`]): im2col's column matrix is `c·k²` times the input (the bundled
/// network's 7×7 stem: 147 rows of 12544 pixels per image, copied, then read by a matrix
/// product of only 8 rows).
///
/// An output row is computed in blocks of [`LANES`] columns: for up to 8 output channels at
/// once, the accumulators stay in registers while every tap adds `weight · input` (one load
/// of the input from [`PhaseRows`], one fused multiply-add per channel). Each output value is
/// summed in (channel, kernel row, kernel column) order with fused multiply-adds, whatever the
/// vector width, so AVX-512 and AVX2 give the same bits; only CPUs without FMA (before 2013)
/// multiply, then add, and differ in the last bits.
struct Direct {
    input: PhaseRows,
    oh: usize,
    ow: usize,
    isa: Isa,
    /// The weights tap-major (`by_tap[tap · c_out + channel]`), so a tap's weights for the
    /// channels of a block are adjacent.
    by_tap: Vec<f32>,
    c_out: usize,
}

/// One output row being computed: its index, and [`Direct`]'s tap-major weights.
struct OutputRow<'a> {
    oy: usize,
    by_tap: &'a [f32],
    c_out: usize,
}

impl OutputRow<'_> {
    /// The weights of `tap` for channels `co..co + n`.
    #[inline(always)]
    fn weights(&self, tap: usize, co: usize, n: usize) -> &[f32] {
        &self.by_tap[tap * self.c_out + co..][..n]
    }
}

/// The instruction sets [`Direct`] has a loop for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Isa {
    Avx512,
    Avx2Fma,
    /// No fused multiply-add: a multiply, then an add.
    Baseline,
}

impl Isa {
    /// The best the CPU has.
    fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma")
            {
                return Isa::Avx2Fma;
            }
        }
        Isa::Baseline
    }
}

impl Direct {
    /// The convolution with `weight` (`c_out × channels·k²`) of the images `input` is given
    /// ([`PhaseRows::load`]), with `oh × ow` outputs, on `isa`.
    fn new(input: PhaseRows, weight: &[f32], (oh, ow): (usize, usize), isa: Isa) -> Self {
        let k = input.conv.kernel;
        let taps = input.channels * k * k;
        let c_out = weight.len() / taps;
        let mut by_tap = vec![0f32; weight.len()];
        for (co, row) in weight.chunks_exact(taps).enumerate() {
            for (tap, &v) in row.iter().enumerate() {
                by_tap[tap * c_out + co] = v;
            }
        }
        Self {
            input,
            oh,
            ow,
            isa,
            by_tap,
            c_out,
        }
    }

    /// The loaded image's output into `out` (`c_out × oh × ow`).
    fn run(&self, out: &mut [f32]) {
        let c_out = self.c_out;
        // One task per output row, written as [row][channel][column], then reordered.
        let mut rows = vec![0f32; self.oh * c_out * self.ow];
        rows.par_chunks_mut(c_out * self.ow)
            .enumerate()
            .for_each(|(oy, out)| {
                let row = OutputRow {
                    oy,
                    by_tap: &self.by_tap,
                    c_out,
                };
                self.row(&row, out)
            });
        for (co, plane) in out.chunks_exact_mut(self.oh * self.ow).enumerate() {
            for (oy, target) in plane.chunks_exact_mut(self.ow).enumerate() {
                target.copy_from_slice(&rows[(oy * c_out + co) * self.ow..][..self.ow]);
            }
        }
    }

    /// Output row `oy` of every channel into `out` (`c_out × ow`).
    fn row(&self, row: &OutputRow, out: &mut [f32]) {
        match self.isa {
            // SAFETY: Isa::detect found AVX-512F (tests only choose what it found).
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => unsafe { self.row_avx512(row, out) },
            // SAFETY: Isa::detect found AVX2 and FMA.
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => unsafe { self.row_avx2(row, out) },
            _ => self.row_portable::<false>(row, out),
        }
    }

    /// [`Direct::row_portable`] compiled for AVX2 with fused multiply-adds.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2,fma")]
    fn row_avx2(&self, row: &OutputRow, out: &mut [f32]) {
        self.row_portable::<true>(row, out)
    }

    /// `FUSED`: `f32::mul_add`, one instruction where the CPU has FMA (a slow library call
    /// where it has not), else a multiply and an add.
    #[inline(always)]
    fn row_portable<const FUSED: bool>(&self, row: &OutputRow, out: &mut [f32]) {
        let mut co = 0;
        while co < row.c_out {
            // Four channels of LANES accumulators fill half of AVX2's registers.
            co += match row.c_out - co {
                4.. => self.block::<4, FUSED>(row, co, out),
                2.. => self.block::<2, FUSED>(row, co, out),
                _ => self.block::<1, FUSED>(row, co, out),
            };
        }
    }

    /// [`Direct::row`] in AVX-512 registers: compilers keep 256-bit vectors by default, and the
    /// 8 × 16 accumulators of [`Direct::block`] would not fit in AVX2's 16 registers.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn row_avx512(&self, row: &OutputRow, out: &mut [f32]) {
        let mut co = 0;
        while co < row.c_out {
            co += match row.c_out - co {
                8.. => self.block_avx512::<8>(row, co, out),
                4.. => self.block_avx512::<4>(row, co, out),
                2.. => self.block_avx512::<2>(row, co, out),
                _ => self.block_avx512::<1>(row, co, out),
            };
        }
    }

    /// [`Direct::block`] with AVX-512 intrinsics: the same products and sums in the same order.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx512f")]
    fn block_avx512<const CO: usize>(&self, row: &OutputRow, co: usize, out: &mut [f32]) -> usize {
        use std::arch::x86_64::*;
        for x0 in (0..self.ow).step_by(LANES) {
            let mut acc = [_mm512_setzero_ps(); CO];
            self.for_each_tap(row.oy, x0, |tap, input| {
                // SAFETY: `input` holds LANES floats; unaligned loads are allowed.
                let v = unsafe { _mm512_loadu_ps(input.as_ptr()) };
                for (acc, &weight) in acc.iter_mut().zip(row.weights(tap, co, CO)) {
                    *acc = _mm512_fmadd_ps(_mm512_set1_ps(weight), v, *acc);
                }
            });
            let mut lanes = [[0f32; LANES]; CO];
            for (lanes, acc) in lanes.iter_mut().zip(acc) {
                // SAFETY: `lanes` holds LANES floats.
                unsafe { _mm512_storeu_ps(lanes.as_mut_ptr(), acc) };
            }
            self.store(&lanes, co, x0, out);
        }
        CO
    }

    /// Writes the accumulators of channels `co..` for output columns `x0..x0 + LANES` (those
    /// that exist) into `out` (`c_out × ow`).
    #[inline(always)]
    fn store<const CO: usize>(
        &self,
        acc: &[[f32; LANES]; CO],
        co: usize,
        x0: usize,
        out: &mut [f32],
    ) {
        let width = LANES.min(self.ow - x0);
        for (c, acc) in acc.iter().enumerate() {
            out[(co + c) * self.ow + x0..][..width].copy_from_slice(&acc[..width]);
        }
    }

    /// Calls `add(tap, input)` for every tap that reaches the input from output row `oy`, in
    /// (channel, kernel row, kernel column) order: `tap` indexes the flattened kernel, `input`
    /// is the LANES input values it multiplies for output columns `x0..x0 + LANES`.
    #[inline(always)]
    fn for_each_tap(&self, oy: usize, x0: usize, mut add: impl FnMut(usize, &[f32; LANES])) {
        let input = &self.input;
        let k = input.conv.kernel;
        for ch in 0..input.channels {
            for ky in 0..k {
                let Some(iy) = input.input_row(oy, ky) else {
                    continue;
                };
                for kx in 0..k {
                    let at = input.start(ch, iy, kx) + x0;
                    let values = input.rows[at..at + LANES].try_into().expect("LANES values");
                    add((ch * k + ky) * k + kx, values);
                }
            }
        }
    }

    /// Channels `co..co + CO` of output row `oy`, LANES columns at a time; returns CO.
    #[inline(always)]
    fn block<const CO: usize, const FUSED: bool>(
        &self,
        row: &OutputRow,
        co: usize,
        out: &mut [f32],
    ) -> usize {
        for x0 in (0..self.ow).step_by(LANES) {
            let mut acc = [[0f32; LANES]; CO];
            self.for_each_tap(row.oy, x0, |tap, input| {
                for (acc, &weight) in acc.iter_mut().zip(row.weights(tap, co, CO)) {
                    for (a, &v) in acc.iter_mut().zip(input) {
                        *a = match FUSED {
                            true => weight.mul_add(v, *a),
                            false => *a + weight * v,
                        };
                    }
                }
            });
            self.store(&acc, co, x0, out);
        }
        CO
    }
}

impl CustomOp2 for Im2Col {
    fn name(&self) -> &'static str {
        "im2col-conv"
    }

    /// `x` (`N×C×H×W`) convolved with `weight` (`c_out × C·k·k`, a flattened `c_out×C×k×k`
    /// weight) → `N × c_out × Ho × Wo`.
    fn cpu_fwd(
        &self,
        x: &CpuStorage,
        x_layout: &Layout,
        weight: &CpuStorage,
        w_layout: &Layout,
    ) -> Result<(CpuStorage, Shape)> {
        let (n, c, h, w) = x_layout.shape().dims4()?;
        let (c_out, taps) = w_layout.shape().dims2()?;
        let (CpuStorage::F32(x), CpuStorage::F32(weight)) = (x, weight) else {
            candle_core::bail!("im2col: f32 tensors only");
        };
        let (Some((xa, xb)), Some((wa, wb))) =
            (x_layout.contiguous_offsets(), w_layout.contiguous_offsets())
        else {
            candle_core::bail!("im2col: the input and the weight must be contiguous");
        };
        let (x, weight) = (&x[xa..xb], &weight[wa..wb]);
        let k = self.kernel;
        if taps != c * k * k {
            candle_core::bail!("im2col {self:?}: weight of {taps} taps for {c} channels");
        }
        let (Some(oh), Some(ow)) = (self.output_len(h), self.output_len(w)) else {
            candle_core::bail!("im2col {self:?}: input {h}×{w} is smaller than the kernel");
        };
        let pixels = oh * ow;
        let images = x.chunks_exact(c * h * w);
        let mut phase_rows = PhaseRows::new(*self, c, (h, w), ow);
        if self.method.direct(c_out, ow) {
            let mut direct = Direct::new(phase_rows, weight, (oh, ow), Isa::detect());
            let mut out = vec![0f32; n * c_out * pixels];
            for (input, out) in images.zip(out.chunks_exact_mut(c_out * pixels)) {
                direct.input.load(input);
                direct.run(out);
            }
            return Ok((CpuStorage::F32(out), Shape::from((n, c_out, oh, ow))));
        }
        let parallelism = match rayon::current_num_threads() {
            1 => gemm::Parallelism::None,
            threads => gemm::Parallelism::Rayon(threads),
        };
        // One column matrix for every image (like the phase rows): written whole each time,
        // never zeroed again.
        let mut columns = vec![0f32; taps * pixels];
        let mut out: Vec<f32> = Vec::with_capacity(n * c_out * pixels);
        for (image, input) in images.enumerate() {
            phase_rows.load(input);
            phase_rows.fill_columns(&mut columns, (oh, ow));
            // SAFETY: `out` has room for n images of `c_out × pixels`; this call writes the
            // whole block of `image` (row-major, `read_dst` false: the destination is written,
            // never read), `weight` holds `c_out × taps` and `columns` `taps × pixels` floats.
            // The arguments are candle's for a row-major matmul.
            unsafe {
                gemm::gemm(
                    c_out,
                    pixels,
                    taps,
                    out.as_mut_ptr().add(image * c_out * pixels),
                    1,
                    pixels as isize,
                    false,
                    weight.as_ptr(),
                    1,
                    taps as isize,
                    columns.as_ptr(),
                    1,
                    pixels as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    parallelism,
                );
            }
        }
        // SAFETY: every image's block was written above.
        unsafe { out.set_len(n * c_out * pixels) };
        Ok((CpuStorage::F32(out), Shape::from((n, c_out, oh, ow))))
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
    conv2d_by(x, weight, (padding, stride, dilation), Method::Auto)
}

/// [`conv2d`] by `method`.
fn conv2d_by(
    x: &Tensor,
    weight: &Tensor,
    (padding, stride, dilation): (usize, usize, usize),
    method: Method,
) -> Result<Tensor> {
    let (_, _, h, w) = x.dims4()?;
    let (c_out, c_in, kh, kw) = weight.dims4()?;
    let geometry = Im2Col {
        kernel: kh,
        stride,
        padding,
        dilation,
        method,
    };
    let fits = x.device().is_cpu()
        && x.dtype() == candle_core::DType::F32
        && weight.dtype() == candle_core::DType::F32
        && kh == kw
        && stride > 0
        && dilation > 0;
    if !fits || geometry.output_len(h).is_none() || geometry.output_len(w).is_none() {
        return x.conv2d(weight, padding, stride, dilation, 1);
    }
    let weight = weight.reshape((c_out, c_in * kh * kw))?.contiguous()?;
    x.contiguous()?.apply_op2_no_bwd(&weight, &geometry)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_util::{max_abs_diff, seeded};

    #[test]
    fn both_methods_equal_candles_conv2d_for_every_geometry() {
        let mut seed = 0;
        for kernel in [1, 2, 3, 5, 7] {
            for stride in [1, 2, 3] {
                for dilation in [1, 2, 3] {
                    for padding in [0, 1, 3, 6] {
                        // The last is wider than two blocks of LANES output columns at stride 1.
                        for (h, w) in [(9, 9), (13, 7), (4, 17), (5, 40)] {
                            seed += 1;
                            let span = dilation * (kernel - 1) + 1;
                            if h.min(w) + 2 * padding < span {
                                continue; // kernel larger than the padded input: candle panics
                            }
                            let x = seeded(&[2, 3, h, w], seed, -1.0, 1.0);
                            // 13 output channels: the direct method's blocks of 8, 4 and 1.
                            let weight = seeded(&[13, 3, kernel, kernel], seed + 1000, -1.0, 1.0);
                            let expected = x.conv2d(&weight, padding, stride, dilation, 1).unwrap();
                            for method in [Method::Columns, Method::Direct] {
                                let got =
                                    conv2d_by(&x, &weight, (padding, stride, dilation), method)
                                        .unwrap();
                                let case = format!(
                                    "{method:?} k{kernel} s{stride} d{dilation} p{padding} {h}×{w}"
                                );
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

    #[test]
    fn direct_loops_give_the_bits_of_scalar_fused_multiply_adds_on_every_isa() {
        // The bundled network's stem (3→8, 7×7, stride 2, padding 3) and 8→5 at stride 1.
        for (c_in, c_out, kernel, stride, padding, size) in
            [(3, 8, 7, 2, 3, 40), (8, 5, 3, 1, 1, 37)]
        {
            let conv = Im2Col {
                kernel,
                stride,
                padding,
                dilation: 1,
                method: Method::Direct,
            };
            let values = |shape: &[usize], seed| {
                let t = seeded(shape, seed, -1.0, 1.0).flatten_all().unwrap();
                t.to_vec1::<f32>().unwrap()
            };
            let x = values(&[c_in, size, size], 7);
            let weight = values(&[c_out, c_in * kernel * kernel], 8);
            let o = conv.output_len(size).unwrap();
            // One fused multiply-add per tap inside the input, in (channel, row, column) order.
            let mut expected = vec![0f32; c_out * o * o];
            for (i, e) in expected.iter_mut().enumerate() {
                let (co, oy, ox) = (i / (o * o), i / o % o, i % o);
                for tap in 0..c_in * kernel * kernel {
                    let (ch, ky, kx) =
                        (tap / (kernel * kernel), tap / kernel % kernel, tap % kernel);
                    let iy = (oy * stride + ky)
                        .checked_sub(padding)
                        .filter(|&y| y < size);
                    let ix = (ox * stride + kx)
                        .checked_sub(padding)
                        .filter(|&x| x < size);
                    if let (Some(iy), Some(ix)) = (iy, ix) {
                        let w = weight[co * c_in * kernel * kernel + tap];
                        *e = w.mul_add(x[(ch * size + iy) * size + ix], *e);
                    }
                }
            }
            let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            let mut isas = vec![Isa::Baseline];
            #[cfg(target_arch = "x86_64")]
            {
                if std::arch::is_x86_feature_detected!("avx512f") {
                    isas.push(Isa::Avx512);
                }
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    isas.push(Isa::Avx2Fma);
                }
            }
            for isa in isas {
                let mut input = PhaseRows::new(conv, c_in, (size, size), o);
                input.load(&x);
                let direct = Direct::new(input, &weight, (o, o), isa);
                let mut got = vec![1f32; c_out * o * o];
                direct.run(&mut got);
                let case = format!("{isa:?} {c_in}→{c_out} k{kernel}");
                if isa == Isa::Baseline {
                    let diff = got.iter().zip(&expected).map(|(a, b)| (a - b).abs());
                    assert!(diff.fold(0f32, f32::max) < 1e-5, "{case}");
                } else {
                    assert_eq!(bits(&got), bits(&expected), "{case}");
                }
            }
        }
    }
}
