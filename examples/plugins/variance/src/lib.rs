//! Example plugin: the local-variance detector of docs/plugins.md, which the Python and
//! TorchScript examples compute too (and the tests recompute), so every plugin form can be checked
//! against the same numbers.
//!
//! map(x, y) = min(1, var / scale), where var is the population variance of the luma
//! `Y = 0.299 R + 0.587 G + 0.114 B` over the (2·radius+1)² window around (x, y) clipped to the
//! image; score = mean of the map.

use localizer_sdk::serde_json::{Map, Value};
use localizer_sdk::{export_localizer, Image, Output, PluginLocalizer};
use std::ffi::CStr;

/// Local luma variance, scaled and clipped to [0,1].
struct Variance {
    /// Window half-width in pixels.
    radius: usize,
    /// Variance (gray levels²) that maps to 1.
    scale: f64,
}

impl PluginLocalizer for Variance {
    const NAME: &'static CStr = c"variance";
    const MAX_BATCH: u32 = 16;

    fn create(params: &Map<String, Value>) -> Result<Self, String> {
        if let Some(unknown) = params
            .keys()
            .find(|k| !["radius", "scale"].contains(&k.as_str()))
        {
            return Err(format!(
                "unknown parameter '{unknown}'; allowed: radius, scale"
            ));
        }
        let radius = match params.get("radius") {
            None => 2,
            Some(v) => v.as_u64().ok_or(format!(
                "radius must be a non-negative integer (pixels), got {v}"
            ))? as usize,
        };
        let scale = match params.get("scale") {
            None => 100.0,
            Some(v) => v
                .as_f64()
                .filter(|s| *s > 0.0 && s.is_finite())
                .ok_or(format!(
                    "scale must be a positive number (gray levels²), got {v}"
                ))?,
        };
        Ok(Self { radius, scale })
    }

    fn localize(&mut self, images: &[Image<'_>], outputs: &mut [Output<'_>]) -> Result<(), String> {
        for (image, out) in images.iter().zip(outputs) {
            self.variance_map(image, out.map);
            let mean = out.map.iter().map(|&v| f64::from(v)).sum::<f64>() / out.map.len() as f64;
            out.score = Some(mean as f32);
        }
        Ok(())
    }
}

impl Variance {
    fn variance_map(&self, image: &Image<'_>, map: &mut [f32]) {
        let (w, h) = (image.width as usize, image.height as usize);
        // Summed-area tables of Y and Y² with a zero row and column in front.
        let mut sum = vec![0.0f64; (w + 1) * (h + 1)];
        let mut sum_sq = vec![0.0f64; (w + 1) * (h + 1)];
        for y in 0..h {
            for x in 0..w {
                let [r, g, b] = image.pixel(x as u32, y as u32);
                let luma = 0.299 * f64::from(r) + 0.587 * f64::from(g) + 0.114 * f64::from(b);
                let i = (y + 1) * (w + 1) + x + 1;
                sum[i] = luma + sum[i - 1] + sum[i - w - 1] - sum[i - w - 2];
                sum_sq[i] = luma * luma + sum_sq[i - 1] + sum_sq[i - w - 1] - sum_sq[i - w - 2];
            }
        }
        let rect = |t: &[f64], x0: usize, y0: usize, x1: usize, y1: usize| {
            t[y1 * (w + 1) + x1] - t[y0 * (w + 1) + x1] - t[y1 * (w + 1) + x0]
                + t[y0 * (w + 1) + x0]
        };
        for y in 0..h {
            let (y0, y1) = (y.saturating_sub(self.radius), (y + self.radius + 1).min(h));
            for x in 0..w {
                let (x0, x1) = (x.saturating_sub(self.radius), (x + self.radius + 1).min(w));
                let n = ((x1 - x0) * (y1 - y0)) as f64;
                let mean = rect(&sum, x0, y0, x1, y1) / n;
                let var = (rect(&sum_sq, x0, y0, x1, y1) / n - mean * mean).max(0.0);
                map[y * w + x] = (var / self.scale).min(1.0) as f32;
            }
        }
    }
}

export_localizer!(Variance);
