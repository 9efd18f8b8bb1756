//! F1 and IoU of the binarised maps (beyond the paper, for localization benchmarks).

use crate::error::{check_pair, check_threshold, MetricError};
use crate::pair::PairSums;
use crate::Map;

/// Default decision threshold τ on the predicted map: pixel is "manipulated" when pred ≥ τ.
///
/// Equal to [`DEFAULT_GT_THRESHOLD`] rather than the 0.5 of binary-mask benchmarks: predicted
/// maps regress the real-valued ground truth (mostly below 0.5), so with τ = 0.5 even a perfect
/// localizer (the oracle) would score F1 = 0. Suites can still set `tau: 0.5`.
pub const DEFAULT_TAU: f32 = DEFAULT_GT_THRESHOLD;

/// Default threshold that binarises the ground truth: pixel is "manipulated" when gt > 0.1.
///
/// GT values are `Gray(|X − X'|)/255` (paper eq. 2, docs/data.md), so every generator leaves small
/// non-zero differences everywhere it reconstructs the image; 0.1 ≈ 25 gray levels ignores that
/// reconstruction noise and keeps the edited region.
pub const DEFAULT_GT_THRESHOLD: f32 = 0.1;

/// F1 and IoU of one image, both in [0, 1].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct BinaryScores {
    /// F1 = 2·TP / (2·TP + FP + FN) (the Dice coefficient).
    pub f1: f64,
    /// IoU = TP / (TP + FP + FN) (the Jaccard index).
    pub iou: f64,
}

/// F1 and IoU of `pred ≥ tau` against `gt > gt_threshold`, counted over all pixels.
///
/// Empty cases: when neither map has a positive pixel (TP + FP + FN = 0) both scores are 1, since
/// the prediction agrees exactly with an empty ground truth; an empty GT with any predicted pixel,
/// or a non-empty GT with an empty prediction, scores 0. The harness averages these metrics over
/// fake images only, where an empty GT is rare.
///
/// Errors: size mismatch, empty maps, a non-finite pixel, or a non-finite threshold.
pub fn f1_iou(
    pred: &Map,
    gt: &Map,
    tau: f32,
    gt_threshold: f32,
) -> Result<BinaryScores, MetricError> {
    check_threshold("tau", f64::from(tau))?;
    check_threshold("gt_threshold", f64::from(gt_threshold))?;
    check_pair(pred, gt)?;
    Ok(binary_from(&PairSums::new(pred, gt, tau, gt_threshold)))
}

/// F1 and IoU from precomputed counts (shared with `segmentation_scores`).
pub(crate) fn binary_from(s: &PairSums) -> BinaryScores {
    let (tp, fp, fn_) = (s.true_pos as f64, s.false_pos as f64, s.false_neg as f64);
    if tp + fp + fn_ == 0.0 {
        return BinaryScores { f1: 1.0, iou: 1.0 };
    }
    BinaryScores {
        f1: 2.0 * tp / (2.0 * tp + fp + fn_),
        iou: tp / (tp + fp + fn_),
    }
}
