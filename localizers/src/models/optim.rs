//! Adam with PyTorch's `torch.optim.Adam` semantics, including its *coupled* L2 weight decay
//! (`weight_decay·θ` added to the gradient before the moments), which candle lacks (it has
//! only AdamW's decoupled decay). FakeLocator and DFFD train with Adam + weight decay.

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};

/// Adam hyper-parameters (PyTorch's defaults except `lr`, which has none there).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamParams {
    /// Learning rate.
    pub lr: f64,
    /// First-moment decay (β₁).
    pub beta1: f64,
    /// Second-moment decay (β₂).
    pub beta2: f64,
    /// Denominator guard (ε), added after the bias-corrected square root.
    pub eps: f64,
    /// Coupled L2 coefficient (λ): the gradient becomes `g + λ·θ`.
    pub weight_decay: f64,
}

impl Default for AdamParams {
    fn default() -> Self {
        Self {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

/// One optimised variable with its first and second moments.
struct Slot {
    var: Var,
    m: Tensor,
    v: Tensor,
}

/// The Adam optimiser over a set of variables.
pub struct Adam {
    slots: Vec<Slot>,
    params: AdamParams,
    step: i32,
}

impl Adam {
    /// Optimises `vars` (e.g. `VarMap::all_vars()`); variables that get no gradient, such as
    /// BatchNorm running statistics, are left untouched, as PyTorch skips `grad is None`.
    pub fn new(vars: Vec<Var>, params: AdamParams) -> Result<Self> {
        if !(params.lr >= 0.0
            && (0.0..1.0).contains(&params.beta1)
            && (0.0..1.0).contains(&params.beta2)
            && params.eps >= 0.0
            && params.weight_decay >= 0.0)
        {
            candle_core::bail!(
                "Adam {params:?}: need lr, eps, weight_decay >= 0 and betas in [0, 1)"
            );
        }
        let slots = vars
            .into_iter()
            .filter(|var| var.dtype().is_float())
            .map(|var| {
                Ok(Slot {
                    m: var.zeros_like()?,
                    v: var.zeros_like()?,
                    var,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            slots,
            params,
            step: 0,
        })
    }

    /// The hyper-parameters.
    pub fn params(&self) -> &AdamParams {
        &self.params
    }

    /// Applies one update from `grads`.
    pub fn step(&mut self, grads: &GradStore) -> Result<()> {
        self.step += 1;
        let p = self.params;
        let bias1 = 1.0 - p.beta1.powi(self.step);
        let bias2_sqrt = (1.0 - p.beta2.powi(self.step)).sqrt();
        for slot in &mut self.slots {
            let Some(grad) = grads.get(slot.var.as_tensor()) else {
                continue;
            };
            let theta = slot.var.as_tensor();
            let grad = if p.weight_decay != 0.0 {
                (grad + (theta * p.weight_decay)?)?
            } else {
                grad.clone()
            };
            slot.m = ((&slot.m * p.beta1)? + (&grad * (1.0 - p.beta1))?)?;
            slot.v = ((&slot.v * p.beta2)? + (grad.sqr()? * (1.0 - p.beta2))?)?;
            let denom = ((slot.v.sqrt()? / bias2_sqrt)? + p.eps)?;
            let update = ((&slot.m / &denom)? * (p.lr / bias1))?;
            slot.var.set(&(theta - update)?)?;
        }
        Ok(())
    }

    /// Back-propagates `loss` and applies one update.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.step(&grads)
    }
}
