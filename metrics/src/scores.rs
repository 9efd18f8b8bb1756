//! All per-image segmentation metrics at once.

use crate::auc::pixel_auc_checked;
use crate::binary::binary_from;
use crate::error::{check_pair, check_threshold, MetricError};
use crate::pair::PairSums;
use crate::similarity::{coss_from, psnr_from};
use crate::ssim::ssim_checked;
use crate::Map;

/// The segmentation metrics of one image (predicted map against ground truth).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct SegmentationScores {
    /// Cosine similarity, see [`crate::coss`].
    pub coss: f64,
    /// PSNR in dB, capped at 100, see [`crate::psnr`].
    pub psnr: f64,
    /// Mean SSIM, see [`crate::ssim`].
    pub ssim: f64,
    /// Tie-aware pixel AUC; `None` (JSON `null`) when the binarised GT has one class.
    pub pixel_auc: Option<f64>,
    /// F1 at `pred ≥ tau`, see [`crate::f1_iou`].
    pub f1: f64,
    /// IoU at `pred ≥ tau`, see [`crate::f1_iou`].
    pub iou: f64,
}

/// Computes every segmentation metric of one image. The input is checked once; COSS, PSNR, F1
/// and IoU share one pass over the pixels; SSIM and the pixel AUC need their own (a filter and a
/// sort).
///
/// Errors: as the individual metrics, including [`MetricError::TooSmall`] below 11×11 (SSIM).
pub fn segmentation_scores(
    pred: &Map,
    gt: &Map,
    tau: f32,
    gt_threshold: f32,
) -> Result<SegmentationScores, MetricError> {
    check_threshold("tau", f64::from(tau))?;
    check_threshold("gt_threshold", f64::from(gt_threshold))?;
    check_pair(pred, gt)?;
    // SSIM is about half of the work, the other metrics the rest: offered to rayon as two
    // tasks, they let a pool spread a batch of a few maps evenly over its threads (an idle
    // thread takes the second task; a busy pool runs both here, in order).
    let (ssim, (sums, pixel_auc)) = rayon::join(
        || ssim_checked(pred, gt),
        || {
            let sums = PairSums::new(pred, gt, tau, gt_threshold);
            (sums, pixel_auc_checked(pred, gt, gt_threshold))
        },
    );
    let (ssim, binary) = (ssim?, binary_from(&sums));
    Ok(SegmentationScores {
        coss: coss_from(&sums),
        psnr: psnr_from(&sums),
        ssim,
        pixel_auc,
        f1: binary.f1,
        iou: binary.iou,
    })
}
