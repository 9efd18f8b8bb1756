//! The metrics a run reports, with everything the results, reports and gate need to know about
//! each: its name in files, its label, its precision, its direction and whether it has a γ.
//! Adding a metric is a variant here plus its computation in `evaluation::score` (segmentation)
//! or `results::ImageMetric` (image level).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A reported metric; serialised by its [`Metric::name`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// Image-level accuracy at score 0.5, over real and fake images.
    Acc,
    /// Image-level ROC AUC, over real and fake images.
    Auc,
    /// Share of real images called fake (score ≥ 0.5), over real images; lower is better.
    Fpr,
    /// Cosine similarity of the map and the ground truth (paper eq. 5), over fakes.
    Coss,
    /// PSNR in dB, over fakes.
    Psnr,
    /// SSIM (scikit-image's defaults), over fakes.
    Ssim,
    /// Pixel-level ROC AUC against the binarised ground truth, over fakes.
    PixelAuc,
    /// Pixel-level F1 at τ, over fakes.
    F1,
    /// Pixel-level IoU at τ, over fakes.
    Iou,
}

impl Metric {
    /// Segmentation metrics, averaged over fake images (the paper's protocol), in report order.
    pub const SEGMENTATION: [Metric; 6] = [
        Metric::Coss,
        Metric::Psnr,
        Metric::Ssim,
        Metric::PixelAuc,
        Metric::F1,
        Metric::Iou,
    ];
    /// Image-level metrics, computed from the fake scores of many images.
    pub const IMAGE: [Metric; 3] = [Metric::Acc, Metric::Auc, Metric::Fpr];
    /// Every metric in report order (image level first).
    pub const ALL: [Metric; 9] = [
        Metric::Acc,
        Metric::Auc,
        Metric::Fpr,
        Metric::Coss,
        Metric::Psnr,
        Metric::Ssim,
        Metric::PixelAuc,
        Metric::F1,
        Metric::Iou,
    ];

    /// This segmentation metric of one image's scores (`None` for image-level metrics and an
    /// undefined pixel AUC).
    pub fn of_scores(self, s: &metrics::SegmentationScores) -> Option<f64> {
        match self {
            Metric::Coss => Some(s.coss),
            Metric::Psnr => Some(s.psnr),
            Metric::Ssim => Some(s.ssim),
            Metric::PixelAuc => s.pixel_auc,
            Metric::F1 => Some(s.f1),
            Metric::Iou => Some(s.iou),
            Metric::Acc | Metric::Auc | Metric::Fpr => None,
        }
    }

    /// The name in `results.json`, `tables.csv` and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Acc => "acc",
            Metric::Auc => "auc",
            Metric::Fpr => "fpr",
            Metric::Coss => "coss",
            Metric::Psnr => "psnr",
            Metric::Ssim => "ssim",
            Metric::PixelAuc => "pixel_auc",
            Metric::F1 => "f1",
            Metric::Iou => "iou",
        }
    }

    /// The label in tables and figures.
    pub fn label(self) -> &'static str {
        match self {
            Metric::Acc => "ACC",
            Metric::Auc => "AUC",
            Metric::Fpr => "FPR (reals)",
            Metric::Coss => "COSS",
            Metric::Psnr => "PSNR (dB)",
            Metric::Ssim => "SSIM",
            Metric::PixelAuc => "pixel AUC",
            Metric::F1 => "F1",
            Metric::Iou => "IoU",
        }
    }

    /// Decimals shown in tables: dB values need fewer than values in [0, 1].
    pub fn decimals(self) -> usize {
        match self {
            Metric::Psnr => 2,
            _ => 4,
        }
    }

    /// True when a larger value is better (the gate's direction of a regression); false for
    /// the error rate FPR.
    pub fn higher_is_better(self) -> bool {
        self != Metric::Fpr
    }

    /// True when γ (degraded / clean in percent) is computed. Not for FPR: a good localizer's
    /// clean FPR is often 0, and a ratio to 0 says nothing; its level is reported instead.
    pub fn has_gamma(self) -> bool {
        self != Metric::Fpr
    }

    /// True for the image-level metrics (computed over real and fake images).
    pub fn is_image_level(self) -> bool {
        Metric::IMAGE.contains(&self)
    }

    /// The metric of a name, as [`Metric::name`] writes it.
    pub fn from_name(name: &str) -> Option<Metric> {
        Metric::ALL.into_iter().find(|m| m.name() == name)
    }
}

impl fmt::Display for Metric {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_name() {
        for m in Metric::ALL {
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(json, format!("\"{}\"", m.name()));
            assert_eq!(serde_json::from_str::<Metric>(&json).unwrap(), m);
            assert_eq!(Metric::from_name(m.name()), Some(m));
        }
        assert_eq!(Metric::from_name("COSS"), None);
    }

    #[test]
    fn every_metric_is_image_level_or_segmentation_once() {
        for m in Metric::ALL {
            assert_ne!(m.is_image_level(), Metric::SEGMENTATION.contains(&m));
        }
    }

    #[test]
    fn only_fpr_is_lower_is_better_and_has_no_gamma() {
        for m in Metric::ALL {
            assert_eq!(m.higher_is_better(), m != Metric::Fpr, "{m}");
            assert_eq!(m.has_gamma(), m != Metric::Fpr, "{m}");
        }
        assert!(Metric::Fpr.is_image_level());
    }
}
