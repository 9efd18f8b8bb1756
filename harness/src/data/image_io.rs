//! Reading images and maps from disk with the documented conversion rules (docs/design.md §2).
//!
//! Images become 8-bit RGB: 8-bit RGB as is; gray is replicated to three channels; an alpha
//! channel is dropped (not composited: manipulations live in the colour channels); 16-bit
//! channels are scaled to 8 bits with `round(v / 257)`. Maps (precomputed masks, saved
//! predictions) are 8- or 16-bit gray scaled to [0,1] by 255 or 65535.

use std::path::Path;

use image::{DynamicImage, GrayImage, RgbImage};
use metrics::Map;

use super::DataError;

fn open(path: &Path) -> Result<DynamicImage, DataError> {
    if !path.exists() {
        return Err(DataError::Missing {
            path: path.to_path_buf(),
        });
    }
    image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map_err(|e| DataError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
        .decode()
        .map_err(|e| DataError::Unreadable {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })
}

fn to_u8(v: u16) -> u8 {
    ((v as u32 * 2 + 257) / 514) as u8 // round(v / 257) in integers
}

/// Converts a decoded image to 8-bit RGB by the rules in the module documentation.
pub fn to_rgb8(image: DynamicImage, path: &Path) -> Result<RgbImage, DataError> {
    Ok(match image {
        DynamicImage::ImageRgb8(img) => img,
        DynamicImage::ImageRgba8(img) => DynamicImage::ImageRgba8(img).to_rgb8(),
        DynamicImage::ImageLuma8(img) => DynamicImage::ImageLuma8(img).to_rgb8(),
        DynamicImage::ImageLumaA8(img) => DynamicImage::ImageLumaA8(img).to_rgb8(),
        DynamicImage::ImageRgb16(img) => rgb16_to_rgb8(img.as_raw(), 3, img.width(), img.height()),
        DynamicImage::ImageRgba16(img) => rgb16_to_rgb8(img.as_raw(), 4, img.width(), img.height()),
        DynamicImage::ImageLuma16(img) => rgb16_to_rgb8(img.as_raw(), 1, img.width(), img.height()),
        DynamicImage::ImageLumaA16(img) => {
            rgb16_to_rgb8(img.as_raw(), 2, img.width(), img.height())
        }
        other => {
            return Err(DataError::Unsupported {
                path: path.to_path_buf(),
                reason: format!(
                    "pixel format {:?}; convert it to 8- or 16-bit RGB, RGBA or gray PNG",
                    other.color()
                ),
            })
        }
    })
}

fn rgb16_to_rgb8(raw: &[u16], channels: usize, width: u32, height: u32) -> RgbImage {
    let data = raw
        .chunks_exact(channels)
        .flat_map(|px| match channels {
            1 | 2 => [to_u8(px[0]); 3],
            _ => [to_u8(px[0]), to_u8(px[1]), to_u8(px[2])],
        })
        .collect();
    RgbImage::from_raw(width, height, data).expect("three channels per pixel")
}

/// Reads an image file as 8-bit RGB (see the module documentation for conversions).
pub fn load_rgb(path: &Path) -> Result<RgbImage, DataError> {
    to_rgb8(open(path)?, path)
}

/// Reads an 8- or 16-bit gray image as a map in [0,1].
pub fn load_map(path: &Path) -> Result<Map, DataError> {
    let (w, h, data): (u32, u32, Vec<f32>) = match open(path)? {
        DynamicImage::ImageLuma8(img) => (
            img.width(),
            img.height(),
            img.as_raw().iter().map(|&v| v as f32 / 255.0).collect(),
        ),
        DynamicImage::ImageLuma16(img) => (
            img.width(),
            img.height(),
            img.as_raw().iter().map(|&v| v as f32 / 65535.0).collect(),
        ),
        other => {
            return Err(DataError::Unsupported {
                path: path.to_path_buf(),
                reason: format!(
                    "a map must be an 8- or 16-bit single-channel gray PNG, found {:?}",
                    other.color()
                ),
            })
        }
    };
    Ok(Map::from_raw(w, h, data).expect("one value per pixel"))
}

/// Encodes an image as PNG and writes it atomically.
fn save_png<P>(path: &Path, img: &image::ImageBuffer<P, Vec<u8>>) -> Result<(), DataError>
where
    P: image::PixelWithColorType<Subpixel = u8>,
{
    let write_error = |reason: String| DataError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let mut bytes = Vec::new();
    img.write_to(
        &mut std::io::Cursor::new(&mut bytes),
        image::ImageFormat::Png,
    )
    .map_err(|e| write_error(e.to_string()))?;
    crate::util::write_atomic(path, &bytes).map_err(|e| write_error(e.to_string()))
}

/// Writes an RGB image as a baseline JPEG at `quality` (1..=100) atomically, with the encoder
/// of the `jpeg` degradation (the bytes PIL writes).
pub fn save_rgb_jpeg(path: &Path, rgb: &RgbImage, quality: u8) -> Result<(), DataError> {
    let write_error = |reason: String| DataError::Write {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = degradations::jpeg_encode(rgb, quality).map_err(|e| write_error(e.to_string()))?;
    crate::util::write_atomic(path, &bytes).map_err(|e| write_error(e.to_string()))
}

/// Writes an 8-bit gray PNG atomically.
pub fn save_gray_png(path: &Path, gray: &GrayImage) -> Result<(), DataError> {
    save_png(path, gray)
}

/// Writes an RGB PNG atomically.
pub fn save_rgb_png(path: &Path, rgb: &RgbImage) -> Result<(), DataError> {
    save_png(path, rgb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sixteen_bit_rounds_to_nearest() {
        assert_eq!(to_u8(0), 0);
        assert_eq!(to_u8(65535), 255);
        assert_eq!(to_u8(257 * 100), 100);
        assert_eq!(to_u8(257 * 100 + 128), 100);
        assert_eq!(to_u8(257 * 100 + 129), 101);
    }
}
