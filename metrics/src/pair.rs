//! One pass over a (pred, gt) map pair that gathers every sum and count the per-pixel metrics
//! need, so `segmentation_scores` touches the pixels once for COSS, PSNR, F1 and IoU.

use crate::Map;

/// The ground truth's binarisation: a pixel is positive (manipulated) when gt > `gt_threshold`.
#[inline(always)]
pub(crate) fn is_positive(g: f32, gt_threshold: f32) -> bool {
    g > gt_threshold
}

/// Sums over the flattened maps, accumulated in f64.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct PairSums {
    /// Number of pixels.
    pub n: usize,
    /// Σ pred·gt.
    pub dot: f64,
    /// Σ pred².
    pub pred_sq: f64,
    /// Σ gt².
    pub gt_sq: f64,
    /// Σ (pred − gt)².
    pub diff_sq: f64,
    /// Pixels with pred ≥ τ and gt > threshold.
    pub true_pos: u64,
    /// Pixels with pred ≥ τ and gt ≤ threshold.
    pub false_pos: u64,
    /// Pixels with pred < τ and gt > threshold.
    pub false_neg: u64,
}

impl PairSums {
    /// Accumulates all sums. The caller has already checked sizes and finiteness.
    pub(crate) fn new(pred: &Map, gt: &Map, tau: f32, gt_threshold: f32) -> Self {
        let mut s = PairSums {
            n: pred.as_raw().len(),
            ..PairSums::default()
        };
        for (&p, &g) in pred.as_raw().iter().zip(gt.as_raw()) {
            let (p64, g64) = (f64::from(p), f64::from(g));
            s.dot += p64 * g64;
            s.pred_sq += p64 * p64;
            s.gt_sq += g64 * g64;
            let d = p64 - g64;
            s.diff_sq += d * d;
            let (pred_pos, gt_pos) = (p >= tau, is_positive(g, gt_threshold));
            s.true_pos += u64::from(pred_pos && gt_pos);
            s.false_pos += u64::from(pred_pos && !gt_pos);
            s.false_neg += u64::from(!pred_pos && gt_pos);
        }
        s
    }
}
