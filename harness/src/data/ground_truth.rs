//! Ground truth of paper eq. 2: `M = Gray(|X − X'|) / 255` (docs/data.md), and the native
//! ground truth of every kind of sample under a test condition.

use image::{GrayImage, Luma, RgbImage};
use metrics::Map;

use degradations::TilePermutation;

use super::{DataError, Kind, LoadedImage};

/// PIL's `convert('L')` luma of an 8-bit RGB pixel: `(19595 R + 38470 G + 7471 B + 32768) >> 16`.
pub fn pil_luma(r: u8, g: u8, b: u8) -> u8 {
    ((19595 * r as u32 + 38470 * g as u32 + 7471 * b as u32 + 32768) >> 16) as u8
}

/// `Gray(|X − X'|)` as 8-bit gray levels: per-channel absolute difference, then PIL's luma.
pub fn difference_gray(real: &RgbImage, fake: &RgbImage) -> Result<GrayImage, DataError> {
    if real.dimensions() != fake.dimensions() {
        return Err(DataError::SizeMismatch {
            what: "real and fake images".into(),
            a: real.dimensions(),
            b: fake.dimensions(),
        });
    }
    let gray = real
        .pixels()
        .zip(fake.pixels())
        .map(|(p, q)| {
            let d = |c: usize| p.0[c].abs_diff(q.0[c]);
            pil_luma(d(0), d(1), d(2))
        })
        .collect();
    Ok(GrayImage::from_raw(real.width(), real.height(), gray).expect("same size as the inputs"))
}

/// Converts 8-bit gray levels to a map in [0,1] (value / 255).
pub fn gray_to_map(gray: &GrayImage) -> Map {
    Map::from_raw(
        gray.width(),
        gray.height(),
        gray.as_raw().iter().map(|&v| v as f32 / 255.0).collect(),
    )
    .expect("buffer length equals width * height")
}

/// Converts a map in [0,1] to 8-bit gray levels (`round(value × 255)`, clamped).
pub fn map_to_gray(map: &Map) -> GrayImage {
    GrayImage::from_raw(
        map.width(),
        map.height(),
        map.as_raw()
            .iter()
            .map(|&v| (v.clamp(0.0, 1.0) * 255.0).round() as u8)
            .collect(),
    )
    .expect("buffer length equals width * height")
}

/// Paper eq. 2 for a partial manipulation: `Gray(|X − X'|) / 255`, a multiple of 1/255.
pub fn ground_truth(real: &RgbImage, fake: &RgbImage) -> Result<Map, DataError> {
    Ok(gray_to_map(&difference_gray(real, fake)?))
}

/// A constant map (all 0 for `real` images, all 1 for `entire` full synthesis).
pub fn constant_map(width: u32, height: u32, value: f32) -> Map {
    Map::from_pixel(width, height, Luma([value]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::Rgb;

    #[test]
    fn luma_matches_pil_formula_on_extremes() {
        assert_eq!(pil_luma(0, 0, 0), 0);
        assert_eq!(pil_luma(255, 255, 255), 255);
        // PIL: Image.new('RGB',(1,1),(255,0,0)).convert('L') == 76, green 150, blue 29.
        assert_eq!(pil_luma(255, 0, 0), 76);
        assert_eq!(pil_luma(0, 255, 0), 150);
        assert_eq!(pil_luma(0, 0, 255), 29);
    }

    #[test]
    fn ground_truth_is_gray_of_absolute_difference() {
        let real = RgbImage::from_pixel(2, 1, Rgb([10, 200, 30]));
        let mut fake = real.clone();
        fake.put_pixel(1, 0, Rgb([0, 255, 40]));
        let gt = ground_truth(&real, &fake).unwrap();
        assert_eq!(gt.get_pixel(0, 0).0[0], 0.0);
        let expected = pil_luma(10, 55, 10) as f32 / 255.0;
        assert_eq!(gt.get_pixel(1, 0).0[0], expected);
    }

    #[test]
    fn size_mismatch_is_an_error() {
        let a = RgbImage::new(3, 3);
        let b = RgbImage::new(3, 4);
        assert!(matches!(
            ground_truth(&a, &b),
            Err(DataError::SizeMismatch { .. })
        ));
    }
}

/// The ground truth an export writes beside a fake, as 8-bit gray: `Gray(|X − X'|)` of eq. 2
/// for a partial manipulation, all 255 for a full synthesis (no real source).
pub fn export_gray(real: Option<&RgbImage>, fake: &RgbImage) -> Result<GrayImage, DataError> {
    match real {
        Some(real) => difference_gray(real, fake),
        None => Ok(GrayImage::from_pixel(
            fake.width(),
            fake.height(),
            Luma([255]),
        )),
    }
}

/// Ground-truth policy under degradation (docs/degradations.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum GroundTruthPolicy {
    /// The paper's: GT from the clean real and the degraded fake.
    #[default]
    Degraded,
    /// GT of the clean pair.
    Clean,
}

/// Ground truth at the native size of an image presented as `degraded` (the clean fake when
/// nothing was applied), with `tiles` the disorganization permutation if any: a manifest mask
/// as given, zeros for a real image, ones for full synthesis, eq. 2 for a partial manipulation
/// (from the degraded or the clean pair, per `policy`).
pub fn native_ground_truth(
    id: &str,
    kind: Kind,
    loaded: &LoadedImage,
    degraded: &RgbImage,
    tiles: Option<&TilePermutation>,
    policy: GroundTruthPolicy,
) -> Result<Map, String> {
    let (w, h) = loaded.fake.dimensions();
    if let Some(mask) = &loaded.mask {
        return Ok(match tiles {
            Some(t) => t.apply(mask),
            None => mask.clone(),
        });
    }
    match kind {
        Kind::Real => Ok(constant_map(w, h, 0.0)),
        Kind::Entire => Ok(constant_map(w, h, 1.0)),
        Kind::Partial => {
            let real = loaded
                .real
                .as_ref()
                .ok_or_else(|| format!("{id}: no real source image"))?;
            let gt = match policy {
                GroundTruthPolicy::Degraded => {
                    let real = match tiles {
                        Some(t) => t.apply(real),
                        None => real.clone(),
                    };
                    ground_truth(&real, degraded)
                }
                GroundTruthPolicy::Clean => ground_truth(real, &loaded.fake)
                    .map(|gt| tiles.map(|t| t.apply(&gt)).unwrap_or(gt)),
            };
            gt.map_err(|e| format!("{id}: {e}"))
        }
    }
}
