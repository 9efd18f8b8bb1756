//! Adam with PyTorch's `torch.optim.Adam` semantics, including its *coupled* L2 weight decay
//! (`weight_decay·θ` added to the gradient before the moments), which candle lacks (it has
//! only AdamW's decoupled decay). FakeLocator and DFFD train with Adam + weight decay.

use std::collections::HashMap;

use candle_core::backprop::GradStore;
use candle_core::{Result, Tensor, Var};
use candle_nn::VarMap;

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
    /// Key of the moments in [`Adam::state`].
    name: String,
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
        let named = vars
            .into_iter()
            .enumerate()
            .map(|(i, v)| (i.to_string(), v));
        Self::named(named.collect(), params)
    }

    /// Optimises every variable of `varmap`; the moments in [`Adam::state`] are keyed by the
    /// variables' names, so a saved state reloads into a rebuilt network.
    pub fn from_varmap(varmap: &VarMap, params: AdamParams) -> Result<Self> {
        let data = varmap
            .data()
            .lock()
            .map_err(|_| candle_core::Error::Msg("VarMap lock poisoned".into()))?;
        let mut named: Vec<(String, Var)> =
            data.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
        named.sort_by(|a, b| a.0.cmp(&b.0));
        Self::named(named, params)
    }

    fn named(vars: Vec<(String, Var)>, params: AdamParams) -> Result<Self> {
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
            .filter(|(_, var)| var.dtype().is_float())
            .map(|(name, var)| {
                Ok(Slot {
                    name,
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

    /// Updates applied so far.
    pub fn steps(&self) -> i32 {
        self.step
    }

    /// The optimiser state to save beside the weights: `exp_avg.NAME` and `exp_avg_sq.NAME`
    /// per variable (PyTorch's names) and `step` (a 1-element f64 tensor).
    pub fn state(&self) -> Result<HashMap<String, Tensor>> {
        let mut state = HashMap::new();
        for slot in &self.slots {
            state.insert(format!("exp_avg.{}", slot.name), slot.m.clone());
            state.insert(format!("exp_avg_sq.{}", slot.name), slot.v.clone());
        }
        let device = self.slots.first().map(|s| s.m.device().clone());
        let device = device.unwrap_or(candle_core::Device::Cpu);
        state.insert("step".into(), Tensor::new(&[self.step as f64], &device)?);
        Ok(state)
    }

    /// Restores a state written by [`Adam::state`]; every variable's moments must be present
    /// with their shapes.
    pub fn load_state(&mut self, state: &HashMap<String, Tensor>) -> Result<()> {
        let get = |key: String, like: &Tensor| -> Result<Tensor> {
            let t = state
                .get(&key)
                .ok_or_else(|| candle_core::Error::Msg(format!("optimizer state lacks '{key}'")))?;
            if t.dims() != like.dims() {
                candle_core::bail!(
                    "optimizer state '{key}' has shape {:?}, the network {:?}",
                    t.dims(),
                    like.dims()
                );
            }
            t.to_device(like.device())?.to_dtype(like.dtype())
        };
        for slot in &mut self.slots {
            slot.m = get(format!("exp_avg.{}", slot.name), &slot.m)?;
            slot.v = get(format!("exp_avg_sq.{}", slot.name), &slot.v)?;
        }
        let step = state
            .get("step")
            .ok_or_else(|| candle_core::Error::Msg("optimizer state lacks 'step'".into()))?;
        self.step = step.flatten_all()?.to_vec1::<f64>()?[0] as i32;
        Ok(())
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
            // Detached: a gradient (and θ, a variable) carries the graph of its step, and moments
            // built from it would keep every step's activations alive.
            let theta = slot.var.as_tensor().detach();
            let grad = grad.detach();
            let grad = if p.weight_decay != 0.0 {
                (grad + (&theta * p.weight_decay)?)?
            } else {
                grad
            };
            slot.m = ((&slot.m * p.beta1)? + (&grad * (1.0 - p.beta1))?)?;
            slot.v = ((&slot.v * p.beta2)? + (grad.sqr()? * (1.0 - p.beta2))?)?;
            let denom = ((slot.v.sqrt()? / bias2_sqrt)? + p.eps)?;
            let update = ((&slot.m / &denom)? * (p.lr / bias1))?;
            slot.var.set(&(&theta - update)?)?;
        }
        Ok(())
    }

    /// Back-propagates `loss` and applies one update.
    pub fn backward_step(&mut self, loss: &Tensor) -> Result<()> {
        let grads = loss.backward()?;
        self.step(&grads)
    }
}
