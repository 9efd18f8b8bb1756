//! `BatchNorm2d` with PyTorch's training semantics and key names.
//!
//! candle_nn's BatchNorm divides by `N·H·W − 1` when updating the running variance, which is
//! infinite for the ASPP image-pooling branch at batch 1 (a 1×1 map) and poisons `running_var`
//! for good (PyTorch raises instead). This one skips that update when a channel has one value.

use candle_core::{Result, Tensor, Var};
use candle_nn::{Init, ModuleT, VarBuilder};

/// PyTorch's BatchNorm ε.
pub const EPS: f64 = 1e-5;
/// PyTorch's running-statistics momentum (`running = (1 − m)·running + m·batch`).
pub const MOMENTUM: f64 = 0.1;

/// Spatial batch normalisation over `N×C×H×W` with affine `weight`/`bias` and running
/// `running_mean`/`running_var` (unbiased), named as in a PyTorch state dict.
#[derive(Clone, Debug)]
pub struct BatchNorm2d {
    weight: Tensor,
    bias: Tensor,
    running_mean: Var,
    running_var: Var,
}

impl BatchNorm2d {
    /// Reads `{weight, bias, running_mean, running_var}` of `channels` elements from `vb`.
    pub fn new(channels: usize, vb: VarBuilder) -> Result<Self> {
        let stat = |name: &str, init: f64| -> Result<Var> {
            // A VarMap-backed builder returns its own variable, so updates land in the VarMap.
            Var::from_tensor(&vb.get_with_hints(channels, name, Init::Const(init))?)
        };
        Ok(Self {
            weight: vb.get_with_hints(channels, "weight", Init::Const(1.0))?,
            bias: vb.get_with_hints(channels, "bias", Init::Const(0.0))?,
            running_mean: stat("running_mean", 0.0)?,
            running_var: stat("running_var", 1.0)?,
        })
    }

    /// Current running mean (one value per channel).
    pub fn running_mean(&self) -> &Tensor {
        self.running_mean.as_tensor()
    }

    /// Current running (unbiased) variance (one value per channel).
    pub fn running_var(&self) -> &Tensor {
        self.running_var.as_tensor()
    }

    /// Evaluation mode as one affine map per channel, `x·scale + shift` with
    /// `scale = γ/√(σ²+ε)` and `shift = β − μ·scale` (running statistics), for folding into
    /// the convolution before it (`ConvBn` in the conv module, which uses this one).
    pub fn eval_scale_shift(&self) -> Result<(Tensor, Tensor)> {
        let scale = self
            .weight
            .div(&(self.running_var.as_detached_tensor() + EPS)?.sqrt()?)?;
        let shift = (&self.bias - self.running_mean.as_detached_tensor().mul(&scale)?)?;
        Ok((scale, shift))
    }

    fn per_channel(t: &Tensor) -> Result<Tensor> {
        t.reshape((1, (), 1, 1))
    }
}

impl ModuleT for BatchNorm2d {
    /// Normalises with the batch statistics and updates the running ones when `train`, else
    /// with the running statistics.
    fn forward_t(&self, x: &Tensor, train: bool) -> Result<Tensor> {
        let (n, _, h, w) = x.dims4()?;
        let weight = Self::per_channel(&self.weight)?;
        let bias = Self::per_channel(&self.bias)?;
        if !train {
            let scale = weight.broadcast_div(
                &(Self::per_channel(&self.running_var.as_detached_tensor())? + EPS)?.sqrt()?,
            )?;
            let centred =
                x.broadcast_sub(&Self::per_channel(&self.running_mean.as_detached_tensor())?)?;
            return centred.broadcast_mul(&scale)?.broadcast_add(&bias);
        }
        let count = n * h * w;
        let mean = x.mean_keepdim((0, 2, 3))?;
        let centred = x.broadcast_sub(&mean)?;
        let var = centred.sqr()?.mean_keepdim((0, 2, 3))?;
        let out = centred
            .broadcast_div(&(&var + EPS)?.sqrt()?)?
            .broadcast_mul(&weight)?
            .broadcast_add(&bias)?;
        let mean = mean.detach().flatten_all()?;
        self.running_mean
            .set(&((self.running_mean.as_tensor() * (1.0 - MOMENTUM))? + (mean * MOMENTUM)?)?)?;
        if count > 1 {
            let unbiased = (var.detach().flatten_all()? * (count as f64 / (count - 1) as f64))?;
            self.running_var.set(
                &((self.running_var.as_tensor() * (1.0 - MOMENTUM))? + (unbiased * MOMENTUM)?)?,
            )?;
        }
        Ok(out)
    }
}
