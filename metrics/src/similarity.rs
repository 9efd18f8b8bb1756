//! COSS and PSNR: continuous-map similarity of the predicted map to the ground truth.

use crate::binary::{DEFAULT_GT_THRESHOLD, DEFAULT_TAU};
use crate::error::{check_pair, MetricError};
use crate::pair::PairSums;
use crate::Map;

/// PSNR reported for identical maps (MSE = 0), in dB. scikit-image returns +inf there; a finite
/// cap keeps means and bootstrap CIs finite. It is also the ceiling for any tiny non-zero MSE,
/// so PSNR never exceeds it.
pub const PSNR_CAP_DB: f64 = 100.0;

/// Cosine similarity (COSS) of the flattened maps, Σ p·g / (‖p‖·‖g‖), accumulated in f64.
///
/// The cosine is 0/0 when a map is all zero (the ground truth of a real image is all zero), so:
/// both maps all zero → 1 (perfect agreement: nothing manipulated, nothing predicted);
/// exactly one all zero → 0. The result is clamped to [-1, 1] to absorb rounding.
///
/// Errors: size mismatch, empty maps, or a non-finite pixel.
pub fn coss(pred: &Map, gt: &Map) -> Result<f64, MetricError> {
    check_pair(pred, gt)?;
    Ok(coss_from(&PairSums::new(
        pred,
        gt,
        DEFAULT_TAU,
        DEFAULT_GT_THRESHOLD,
    )))
}

/// PSNR in dB with data range 1: `10·log10(1 / MSE)`, MSE = mean (pred − gt)² in f64.
///
/// MSE = 0 (identical maps) gives [`PSNR_CAP_DB`], and larger values are capped there too.
/// For maps in [0, 1] the result lies in [0, 100].
///
/// Errors: size mismatch, empty maps, or a non-finite pixel.
pub fn psnr(pred: &Map, gt: &Map) -> Result<f64, MetricError> {
    check_pair(pred, gt)?;
    Ok(psnr_from(&PairSums::new(
        pred,
        gt,
        DEFAULT_TAU,
        DEFAULT_GT_THRESHOLD,
    )))
}

/// COSS from precomputed sums (shared with `segmentation_scores`).
pub(crate) fn coss_from(s: &PairSums) -> f64 {
    match (s.pred_sq == 0.0, s.gt_sq == 0.0) {
        (true, true) => 1.0,
        (true, false) | (false, true) => 0.0,
        // Two square roots rather than one of the product: the product of two large sums of
        // squares could overflow for maps far outside [0, 1].
        (false, false) => (s.dot / (s.pred_sq.sqrt() * s.gt_sq.sqrt())).clamp(-1.0, 1.0),
    }
}

/// PSNR from precomputed sums (shared with `segmentation_scores`).
pub(crate) fn psnr_from(s: &PairSums) -> f64 {
    let mse = s.diff_sq / s.n as f64;
    if mse == 0.0 {
        PSNR_CAP_DB
    } else {
        (10.0 * (1.0 / mse).log10()).min(PSNR_CAP_DB)
    }
}
