//! In-place epilogues for evaluation on the CPU: a convolution's per-channel bias (the folded
//! BatchNorm shift), an optional residual, and ReLU applied in one pass over the convolution's
//! fresh output. Unfused, candle runs each as its own pass that allocates a new tensor
//! (`broadcast_add`, `+`, `relu`): on the small bundled network those passes cost as much as
//! the convolutions. The arithmetic is the unfused one, element by element, so results are
//! bit-identical. Training and other devices take the unfused path.

use candle_core::{CpuStorage, InplaceOp2, Layout, Result, Tensor};
use rayon::prelude::*;

/// `x[n, c, …] += bias[c]`, then `max(·, 0)` when `relu`.
struct ChannelBias {
    relu: bool,
}

impl InplaceOp2 for ChannelBias {
    fn name(&self) -> &'static str {
        "channel-bias"
    }

    fn cpu_fwd(&self, x: &mut CpuStorage, lx: &Layout, b: &CpuStorage, lb: &Layout) -> Result<()> {
        let (_, c, h, w) = lx.shape().dims4()?;
        let (CpuStorage::F32(x), CpuStorage::F32(b)) = (x, b) else {
            candle_core::bail!("channel-bias: f32 tensors only");
        };
        let x = &mut x[lx.start_offset()..lx.start_offset() + lx.shape().elem_count()];
        let b = &b[lb.start_offset()..lb.start_offset() + c];
        let relu = self.relu;
        x.par_chunks_mut(h * w)
            .enumerate()
            .for_each(|(plane, values)| {
                let bias = b[plane % c];
                if relu {
                    values.iter_mut().for_each(|v| *v = relu_f32(*v + bias));
                } else {
                    values.iter_mut().for_each(|v| *v += bias);
                }
            });
        Ok(())
    }
}

/// `x += residual`, then `max(·, 0)`: the end of a residual block.
struct AddRelu;

impl InplaceOp2 for AddRelu {
    fn name(&self) -> &'static str {
        "add-relu"
    }

    fn cpu_fwd(&self, x: &mut CpuStorage, lx: &Layout, r: &CpuStorage, lr: &Layout) -> Result<()> {
        let (CpuStorage::F32(x), CpuStorage::F32(r)) = (x, r) else {
            candle_core::bail!("add-relu: f32 tensors only");
        };
        let n = lx.shape().elem_count();
        let x = &mut x[lx.start_offset()..lx.start_offset() + n];
        let r = &r[lr.start_offset()..lr.start_offset() + n];
        const CHUNK: usize = 1 << 14;
        x.par_chunks_mut(CHUNK)
            .zip(r.par_chunks(CHUNK))
            .for_each(|(x, r)| x.iter_mut().zip(r).for_each(|(v, r)| *v = relu_f32(*v + r)));
        Ok(())
    }
}

/// candle's ReLU on f32 (`v.max(0)`), so the fused results equal the unfused ones bit for bit.
#[inline]
fn relu_f32(v: f32) -> f32 {
    v.max(0.0)
}

/// Whether `t` can be written in place by these epilogues: a contiguous f32 CPU tensor.
fn in_place(t: &Tensor) -> bool {
    t.device().is_cpu() && t.is_contiguous() && t.dtype() == candle_core::DType::F32
}

/// `relu?(x + bias[c])` for an `N×C×H×W` tensor `x` that nothing else refers to (a fresh
/// convolution output), in place when possible.
pub fn channel_bias(x: Tensor, bias: &Tensor, relu: bool) -> Result<Tensor> {
    if in_place(&x) && in_place(bias) {
        x.inplace_op2(bias, &ChannelBias { relu })?;
        return Ok(x);
    }
    let y = x.broadcast_add(&bias.reshape((1, (), 1, 1))?)?;
    if relu {
        y.relu()
    } else {
        Ok(y)
    }
}

/// `relu(x + residual)` for a tensor `x` that nothing else refers to, in place when possible.
pub fn add_relu(x: Tensor, residual: &Tensor) -> Result<Tensor> {
    if in_place(&x) && in_place(residual) && x.shape() == residual.shape() {
        x.inplace_op2(residual, &AddRelu)?;
        return Ok(x);
    }
    (x + residual)?.relu()
}
