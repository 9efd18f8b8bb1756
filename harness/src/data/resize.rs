//! Resizing with PIL-compatible antialiased filters (docs/design.md §2 "Sizes").
//!
//! Images go to a localizer's input size with antialiased bilinear (PIL `BILINEAR`); predicted
//! maps go to the evaluation size with bilinear; ground truth goes to the evaluation size with
//! an area (box) filter so every GT pixel is the mean of the native pixels it covers. When the
//! sizes already match nothing is resampled. `fast_image_resize`'s `Convolution` algorithm
//! implements PIL's support-widening convolution (within ±2 levels of PIL on 8-bit images).

use fast_image_resize::images::Image;
use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;
use metrics::Map;

fn resize_raw(
    bytes: &[u8],
    (w, h): (u32, u32),
    (tw, th): (u32, u32),
    pixel: PixelType,
    filter: FilterType,
) -> Vec<u8> {
    let src = Image::from_vec_u8(w, h, bytes.to_vec(), pixel).expect("buffer matches size");
    let mut dst = Image::new(tw, th, pixel);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(filter));
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("same pixel type, non-empty sizes");
    dst.into_vec()
}

/// Resizes an RGB image with antialiased bilinear; returns a clone when the size already matches.
pub fn resize_rgb(image: &RgbImage, width: u32, height: u32) -> RgbImage {
    if image.dimensions() == (width, height) {
        return image.clone();
    }
    let out = resize_raw(
        image.as_raw(),
        image.dimensions(),
        (width, height),
        PixelType::U8x3,
        FilterType::Bilinear,
    );
    RgbImage::from_raw(width, height, out).expect("resizer output has the requested size")
}

fn resize_map_with(map: &Map, width: u32, height: u32, filter: FilterType) -> Map {
    if map.dimensions() == (width, height) {
        return map.clone();
    }
    let bytes: Vec<u8> = map.as_raw().iter().flat_map(|v| v.to_ne_bytes()).collect();
    let out = resize_raw(
        &bytes,
        map.dimensions(),
        (width, height),
        PixelType::F32,
        filter,
    );
    let values = out
        .chunks_exact(4)
        .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]).clamp(0.0, 1.0))
        .collect();
    Map::from_raw(width, height, values).expect("resizer output has the requested size")
}

/// Resizes a predicted map with (antialiased) bilinear, clamped to [0,1].
pub fn resize_map_bilinear(map: &Map, width: u32, height: u32) -> Map {
    resize_map_with(map, width, height, FilterType::Bilinear)
}

/// Resizes a ground-truth map with an area (box) filter, clamped to [0,1].
pub fn resize_map_area(map: &Map, width: u32, height: u32) -> Map {
    resize_map_with(map, width, height, FilterType::Box)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Luma, Rgb};

    #[test]
    fn same_size_is_identity() {
        let img = RgbImage::from_fn(5, 4, |x, y| Rgb([x as u8, y as u8, 7]));
        assert_eq!(resize_rgb(&img, 5, 4), img);
    }

    #[test]
    fn area_downsample_averages_blocks() {
        // 4×2 map with 2×2 blocks of 0 and 1 → 2×1 map [0, 1]; a 2×2 block mean.
        let map = Map::from_fn(4, 2, |x, _| Luma([if x < 2 { 0.0 } else { 1.0 }]));
        let small = resize_map_area(&map, 2, 1);
        assert!((small.get_pixel(0, 0).0[0] - 0.0).abs() < 1e-6);
        assert!((small.get_pixel(1, 0).0[0] - 1.0).abs() < 1e-6);
        let mixed = Map::from_fn(2, 2, |x, y| Luma([((x + y) % 2) as f32]));
        assert!((resize_map_area(&mixed, 1, 1).get_pixel(0, 0).0[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn bilinear_upsample_of_constant_is_constant() {
        let map = Map::from_pixel(7, 7, Luma([0.25]));
        let big = resize_map_bilinear(&map, 224, 224);
        assert!(big.pixels().all(|p| (p.0[0] - 0.25).abs() < 1e-6));
    }
}
