//! FakeLocator's map losses (paper §4.3 and Table 2: L1, L2, Dice, Focal, plus BCE and a
//! cosine loss, `1 − COSS`) on map logits, and the image-level classifier loss. Every loss is
//! a mean, so its scale does not depend on the batch or map size.

use std::fmt;
use std::str::FromStr;

use candle_core::{Result, Tensor, D};

/// Focal loss weight α of the positive term (torchvision's default; `1 − α` for the negative).
pub const FOCAL_ALPHA: f64 = 0.25;
/// Additive smoothing of the Dice ratio, so all-zero maps (real images) have a defined loss.
pub const DICE_SMOOTH: f64 = 1.0;

/// A loss between a predicted map `p = sigmoid(z)` and a real-valued ground truth `y ∈ [0, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MapLoss {
    /// `mean |p − y|` (paper eq. 3; FakeLocator's default).
    L1,
    /// `mean (p − y)²` (paper eq. 3).
    L2,
    /// Per image `1 − (2 Σ p·y + s) / (Σ p + Σ y + s)` with `s` = [`DICE_SMOOTH`], averaged.
    Dice,
    /// torchvision's `sigmoid_focal_loss`: `α_t (1 − p_t)² · BCE(z, y)` (γ = 2) with
    /// `p_t = p·y + (1 − p)(1 − y)`, `α_t = α·y + (1 − α)(1 − y)`, averaged.
    Focal,
    /// Binary cross-entropy with logits, `max(z, 0) − z·y + log(1 + e^{−|z|})`, averaged.
    Bce,
    /// `1 − cos(p, y)` per image (the COSS metric as a loss), averaged over the images whose
    /// ground truth is not all zero (the cosine is undefined there; 0 when there are none).
    /// Scale-free: it shapes the map, so it is meant to be added to L1 (`cosine_weight`).
    Cosine,
}

/// Names accepted by [`MapLoss::from_str`].
pub const MAP_LOSSES: [&str; 6] = ["l1", "l2", "dice", "focal", "bce", "cosine"];

impl MapLoss {
    /// The lowercase name used in configs and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            MapLoss::L1 => "l1",
            MapLoss::L2 => "l2",
            MapLoss::Dice => "dice",
            MapLoss::Focal => "focal",
            MapLoss::Bce => "bce",
            MapLoss::Cosine => "cosine",
        }
    }

    /// The loss of `logits` (`N×1×h×w`) against `target` (same shape, values in [0, 1]).
    pub fn compute(self, logits: &Tensor, target: &Tensor) -> Result<Tensor> {
        if logits.dims() != target.dims() {
            candle_core::bail!(
                "map loss: logits {:?} and target {:?} differ in shape",
                logits.dims(),
                target.dims()
            );
        }
        match self {
            MapLoss::L1 => (sigmoid(logits)? - target)?.abs()?.mean_all(),
            MapLoss::L2 => (sigmoid(logits)? - target)?.sqr()?.mean_all(),
            MapLoss::Bce => bce_with_logits(logits, target)?.mean_all(),
            MapLoss::Focal => {
                let p = sigmoid(logits)?;
                let one_minus = |t: &Tensor| t.affine(-1.0, 1.0);
                let p_t = ((&p * target)? + (one_minus(&p)? * one_minus(target)?)?)?;
                // γ = 2, torchvision's default.
                let modulator = one_minus(&p_t)?.sqr()?;
                let alpha_t = target.affine(2.0 * FOCAL_ALPHA - 1.0, 1.0 - FOCAL_ALPHA)?;
                (bce_with_logits(logits, target)? * modulator)?
                    .mul(&alpha_t)?
                    .mean_all()
            }
            MapLoss::Dice => {
                let p = sigmoid(logits)?.flatten_from(1)?;
                let y = target.flatten_from(1)?;
                let overlap = (&p * &y)?.sum(D::Minus1)?;
                let total = (p.sum(D::Minus1)? + y.sum(D::Minus1)?)?;
                let ratio =
                    (overlap.affine(2.0, DICE_SMOOTH)? / total.affine(1.0, DICE_SMOOTH)?)?;
                ratio.affine(-1.0, 1.0)?.mean_all()
            }
            MapLoss::Cosine => {
                let p = sigmoid(logits)?.flatten_from(1)?;
                let y = target.flatten_from(1)?;
                let y_norm_sq = y.sqr()?.sum(D::Minus1)?;
                // Images with an all-zero ground truth (reals) carry no shape: weight 0.
                let has_shape = y_norm_sq.gt(0.0)?.to_dtype(p.dtype())?;
                // A batch of reals only: 0 / 1.
                let count = has_shape.sum_all()?.maximum(1.0)?;
                // ‖p‖ > 0 (sigmoid); masked images divide by 1 instead of 0, so no NaN
                // reaches the gradient (the target is a constant, its norm needs none).
                let norms = (p.sqr()?.sum(D::Minus1)?.sqrt()? * y_norm_sq.sqrt()?)?;
                let norms = (norms + has_shape.affine(-1.0, 1.0)?)?;
                let cosine = ((&p * &y)?.sum(D::Minus1)? / norms)?;
                (cosine.affine(-1.0, 1.0)? * has_shape)?
                    .sum_all()?
                    .div(&count)
            }
        }
    }
}

impl fmt::Display for MapLoss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for MapLoss {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        Ok(match s {
            "l1" => MapLoss::L1,
            "l2" => MapLoss::L2,
            "dice" => MapLoss::Dice,
            "focal" => MapLoss::Focal,
            "bce" => MapLoss::Bce,
            "cosine" => MapLoss::Cosine,
            other => {
                return Err(format!(
                    "unknown loss '{other}'; available: {}",
                    MAP_LOSSES.join(", ")
                ))
            }
        })
    }
}

fn sigmoid(x: &Tensor) -> Result<Tensor> {
    candle_nn::ops::sigmoid(x)
}

/// Element-wise, numerically stable binary cross-entropy with logits.
fn bce_with_logits(logits: &Tensor, target: &Tensor) -> Result<Tensor> {
    let softplus_neg_abs = logits.abs()?.neg()?.exp()?.affine(1.0, 1.0)?.log()?;
    (logits.relu()? - (logits * target)?)? + softplus_neg_abs
}

/// The image-level loss: binary cross-entropy for `N×1` logits (fake = 1), cross-entropy for
/// `N×2` logits (softmax over real, fake). `labels` holds 0 (real) or 1 (fake) per image.
pub fn classifier_loss(logits: &Tensor, labels: &[u8]) -> Result<Tensor> {
    let (n, classes) = logits.dims2()?;
    if n != labels.len() {
        candle_core::bail!("classifier loss: {n} logits for {} labels", labels.len());
    }
    match classes {
        1 => {
            let target: Vec<f32> = labels.iter().map(|&l| l as f32).collect();
            let target =
                Tensor::from_vec(target, (n, 1), logits.device())?.to_dtype(logits.dtype())?;
            bce_with_logits(logits, &target)?.mean_all()
        }
        2 => {
            let target: Vec<u32> = labels.iter().map(|&l| l as u32).collect();
            let target = Tensor::from_vec(target, n, logits.device())?;
            candle_nn::loss::cross_entropy(logits, &target)
        }
        other => {
            candle_core::bail!("classifier loss: expected 1 or 2 logits per image, got {other}")
        }
    }
}

/// The image-level fake probability from `N×1` (sigmoid) or `N×2` (softmax, class 1) logits.
pub fn fake_probability(logits: &Tensor) -> Result<Tensor> {
    match logits.dims2()?.1 {
        1 => sigmoid(logits)?.flatten_all(),
        2 => candle_nn::ops::softmax(logits, D::Minus1)?
            .narrow(1, 1, 1)?
            .flatten_all(),
        other => candle_core::bail!("expected 1 or 2 logits per image, got {other}"),
    }
}
