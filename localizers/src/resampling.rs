//! `resampling`: a training-free detector of upsampling traces (docs/localizers.md).
//!
//! References: A. C. Gallagher, "Detection of linear and cubic interpolation in JPEG compressed
//! images", CRV 2005; A. C. Popescu and H. Farid, "Exposing digital forgeries by detecting traces
//! of resampling", IEEE TSP 53(2), 2005. GAN decoders upsample ×2 in several stages, leaving a
//! periodic pattern in the image derivatives that camera images do not have; the statistic is in
//! `periodicity.rs`, this file turns it into a map in [0,1] and an image-level score.

use crate::periodicity::Periodicity;
use crate::window_sum::Window;
use crate::{InputSize, Localizer, LocalizerError, LocalizerInput, Map, Prediction};
use image::RgbImage;
use rayon::prelude::*;

/// Parameters of [`Resampling`]; see `docs/localizers.md` for how they were chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ResamplingParams {
    /// Side of the sliding analysis window, pixels (≥ 4). Larger: more sensitive, blurrier map.
    pub window: usize,
    /// Side of the box that smooths the strength map afterwards, pixels (≥ 1; 1 = none).
    pub smoothing: usize,
    /// Magnitude floor for the window energy, gray levels on the 0–255 scale (> 0).
    pub epsilon: f32,
    /// Strength at which the map is 0.5 (> 0; about 1 on camera images).
    pub midpoint: f32,
    /// Strength change that moves the map from 0.27 to 0.73 around the midpoint (> 0).
    pub scale: f32,
    /// Quantile of the map used as image-level score, in [0,1].
    pub score_quantile: f32,
}

impl Default for ResamplingParams {
    fn default() -> Self {
        Self {
            window: 24,
            smoothing: 16,
            epsilon: 0.5,
            midpoint: 3.0,
            scale: 0.5,
            score_quantile: 0.95,
        }
    }
}

/// Resampling-trace detector: native-size input (resizing would destroy the traces), one map
/// and a score per image, deterministic. Each image is computed on one thread; a batch runs
/// its images in parallel on rayon's pool (the same maps on any thread count).
#[derive(Clone, Debug, Default)]
pub struct Resampling {
    params: ResamplingParams,
}

impl Resampling {
    /// Name in suites and reports.
    pub const NAME: &'static str = "resampling";

    /// A detector with checked parameters.
    pub fn new(params: ResamplingParams) -> Result<Self, LocalizerError> {
        let bad = |param: &str, message: String| LocalizerError::BadParameter {
            localizer: Self::NAME.to_string(),
            param: param.to_string(),
            message,
        };
        let p = params;
        if p.window < 4 {
            return Err(bad(
                "window",
                format!(
                    "must be at least 4 pixels (one period-4 cycle), got {}",
                    p.window
                ),
            ));
        }
        if p.smoothing < 1 {
            return Err(bad(
                "smoothing",
                "must be at least 1 pixel (1 = no smoothing), got 0".to_string(),
            ));
        }
        for (name, value) in [
            ("epsilon", p.epsilon),
            ("midpoint", p.midpoint),
            ("scale", p.scale),
        ] {
            if !(value.is_finite() && value > 0.0) {
                return Err(bad(
                    name,
                    format!("must be a finite number > 0, got {value}"),
                ));
            }
        }
        if !(0.0..=1.0).contains(&p.score_quantile) {
            return Err(bad(
                "score_quantile",
                format!("must be in [0,1], got {}", p.score_quantile),
            ));
        }
        Ok(Self { params })
    }

    /// The parameters in use.
    pub fn params(&self) -> &ResamplingParams {
        &self.params
    }

    /// Map in [0,1] and image-level score for one image; errors on an empty image.
    pub fn predict(&self, id: &str, image: &RgbImage) -> Result<Prediction, LocalizerError> {
        let (width, height) = (image.width() as usize, image.height() as usize);
        if width == 0 || height == 0 {
            return Err(LocalizerError::Failed {
                localizer: Self::NAME.to_string(),
                image: id.to_string(),
                message: format!("image is empty ({width}×{height}); give it at least one pixel"),
            });
        }
        let p = &self.params;
        let strength = Periodicity {
            window: p.window,
            epsilon: p.epsilon,
        }
        .strength(&luma(image), width, height);
        let smoothed = if p.smoothing > 1 {
            Window::new(p.smoothing).means(&strength, width, height)
        } else {
            strength
        };
        // A fixed logistic, not a per-image min–max: a clean image must stay near 0.
        let values: Vec<f32> = smoothed
            .iter()
            .map(|z| logistic((z - p.midpoint) / p.scale))
            .collect();
        let score = quantile(&values, p.score_quantile);
        let map = Map::from_raw(image.width(), image.height(), values)
            .expect("buffer has width × height values by construction");
        Ok(Prediction {
            map,
            score: Some(score),
        })
    }
}

impl Localizer for Resampling {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn input_size(&self) -> InputSize {
        InputSize::Native
    }

    /// Batches keep both cores busy: one image at a time ran on one core.
    fn max_batch(&self) -> usize {
        64
    }

    fn localize(
        &mut self,
        batch: &[LocalizerInput<'_>],
    ) -> Result<Vec<Prediction>, LocalizerError> {
        let detector = &*self;
        batch
            .par_iter()
            .map(|input| detector.predict(input.id, input.image))
            .collect()
    }
}

/// ITU-R BT.601 luma on the 0–255 scale (unrounded: rounding would add noise to the derivatives).
fn luma(image: &RgbImage) -> Vec<f32> {
    image
        .pixels()
        .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
        .collect()
}

/// `1 / (1 + e^{-t})`, in [0,1] for every finite or infinite `t`.
fn logistic(t: f32) -> f32 {
    1.0 / (1.0 + (-t).exp())
}

/// Nearest-rank `q`-quantile of non-empty `values` (finite): the value of that rank, found by
/// selection (sorting the whole map took a third of the detector's time).
fn quantile(values: &[f32], q: f32) -> f32 {
    let mut values = values.to_vec();
    let rank = (q * values.len() as f32).ceil() as usize;
    let index = rank.clamp(1, values.len()) - 1;
    *values.select_nth_unstable_by(index, f32::total_cmp).1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_is_nearest_rank() {
        let v = [5.0, 1.0, 4.0, 2.0, 3.0];
        assert_eq!(quantile(&v, 0.0), 1.0);
        assert_eq!(quantile(&v, 0.5), 3.0);
        assert_eq!(quantile(&v, 0.95), 5.0);
        assert_eq!(quantile(&v, 1.0), 5.0);
    }

    #[test]
    fn logistic_is_bounded_and_centred() {
        assert_eq!(logistic(0.0), 0.5);
        assert!(logistic(-200.0) >= 0.0 && logistic(200.0) <= 1.0);
    }

    #[test]
    fn rejects_bad_parameters_by_name() {
        let check = |p: ResamplingParams, name: &str| {
            let e = Resampling::new(p).unwrap_err().to_string();
            assert!(e.contains(&format!("bad parameter '{name}'")), "{e}");
        };
        let d = ResamplingParams::default();
        check(ResamplingParams { window: 3, ..d }, "window");
        check(ResamplingParams { smoothing: 0, ..d }, "smoothing");
        check(ResamplingParams { epsilon: 0.0, ..d }, "epsilon");
        check(
            ResamplingParams {
                scale: f32::NAN,
                ..d
            },
            "scale",
        );
        check(
            ResamplingParams {
                score_quantile: 1.5,
                ..d
            },
            "score_quantile",
        );
        assert!(Resampling::new(d).is_ok());
    }
}
