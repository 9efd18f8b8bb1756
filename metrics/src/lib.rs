//! Per-image metrics for real-numbered fake-region maps and their aggregation.
//!
//! Per image: [`coss`], [`psnr`], [`ssim`] (the paper's metrics), and [`pixel_auc`], [`f1_iou`]
//! (localization benchmarks), or all at once with [`segmentation_scores`]. Per data set:
//! [`accuracy`], [`false_positive_rate`] and [`roc_auc`] of image-level fake scores
//! ([`map_fake_score`] when a localizer has none). Aggregation with seeded bootstrap CIs, paired differences and the robustness ratio
//! γ: [`Bootstrap`].
//!
//! Every function checks its input and returns a [`MetricError`] instead of panicking: maps must
//! have equal, non-zero sizes and finite values. Values outside [0, 1] are accepted (the formulas
//! stay defined) but the stated bounds of each metric assume maps in [0, 1].

mod auc;
mod binary;
mod bootstrap;
mod error;
mod image_level;
mod pair;
mod scores;
mod similarity;
mod ssim;

pub use auc::{pixel_auc, roc_auc, ResampledAuc};
pub use binary::{f1_iou, BinaryScores, DEFAULT_GT_THRESHOLD, DEFAULT_TAU};
pub use bootstrap::{Bootstrap, Summary};
pub use error::MetricError;
pub use image_level::{accuracy, false_positive_rate, map_fake_score, FAKE_SCORE_TOP_FRACTION};
pub use scores::{segmentation_scores, SegmentationScores};
pub use similarity::{coss, psnr, PSNR_CAP_DB};
pub use ssim::{ssim, SSIM_K1, SSIM_K2, SSIM_SIGMA, SSIM_WINDOW};

/// A real-numbered map in [0, 1], row-major, one value per pixel (1 = manipulated).
pub type Map = image::ImageBuffer<image::Luma<f32>, Vec<f32>>;
