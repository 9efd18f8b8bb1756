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

/// Largest image the harness decodes: 64 Mpx (e.g. 8192×8192). An image is resized to the
/// evaluation size right after loading, so this bounds memory, not what can be evaluated:
/// downscale larger images first.
pub const MAX_IMAGE_PIXELS: u64 = 1 << 26;

/// Most pixels one batch of a manifest may hold (fake, real and mask images together),
/// checked before anything runs: ~20 bytes per pixel are alive while a batch is prepared.
pub const MAX_BATCH_PIXELS: u64 = 1 << 27;

fn unreadable(path: &Path, reason: impl std::fmt::Display) -> DataError {
    DataError::Unreadable {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    }
}

/// "Does not exist" only when nothing is at the path; a link to nowhere, a link loop or a
/// permission problem is named as what it is.
fn missing_or_unreadable(path: &Path, e: std::io::Error) -> DataError {
    if e.kind() != std::io::ErrorKind::NotFound {
        return unreadable(path, e);
    }
    match std::fs::read_link(path) {
        Ok(target) => unreadable(
            path,
            format!(
                "it is a symbolic link to {}, which does not exist",
                target.display()
            ),
        ),
        Err(_) if std::fs::symlink_metadata(path).is_ok() => unreadable(path, e),
        Err(_) => DataError::Missing {
            path: path.to_path_buf(),
        },
    }
}

/// The format (from the first bytes, not the name) and size of an image file, checked against
/// [`MAX_IMAGE_PIXELS`] from the header alone.
fn header(path: &Path) -> Result<(image::ImageFormat, (u32, u32)), DataError> {
    let format = image::ImageReader::open(path)
        .and_then(|r| r.with_guessed_format())
        .map(|r| r.format())
        .map_err(|e| missing_or_unreadable(path, e))?;
    let (format, size) = match format {
        Some(f @ image::ImageFormat::Jpeg) => {
            let file = std::fs::File::open(path).map_err(|e| missing_or_unreadable(path, e))?;
            let size = degradations::jpeg_dimensions(std::io::BufReader::new(file))
                .map_err(|e| unreadable(path, e))?;
            (f, size)
        }
        Some(f @ image::ImageFormat::Png) => (
            f,
            image::image_dimensions(path).map_err(|e| unreadable(path, e))?,
        ),
        other => {
            return Err(DataError::Unsupported {
                path: path.to_path_buf(),
                reason: match other {
                    Some(f) => format!("{f:?} files are not read; convert it to PNG or JPEG"),
                    None => "not a PNG or JPEG file; convert it to PNG".to_string(),
                },
            })
        }
    };
    let (w, h) = size;
    let pixels = u64::from(w) * u64::from(h);
    if pixels > MAX_IMAGE_PIXELS {
        return Err(DataError::Unsupported {
            path: path.to_path_buf(),
            reason: format!(
                "{w}×{h} is {:.0} Mpx, over the limit of {:.0} Mpx per image; downscale it first",
                pixels as f64 / 1e6,
                MAX_IMAGE_PIXELS as f64 / 1e6
            ),
        });
    }
    Ok((format, size))
}

/// Width and height from the file's header, for the pre-check before a run. PNG and JPEG are
/// read, up to [`MAX_IMAGE_PIXELS`]; other formats are refused by name; a truncated file is
/// refused too (see [`check_complete`]).
pub fn image_dimensions(path: &Path) -> Result<(u32, u32), DataError> {
    let (format, size) = header(path)?;
    check_complete(path, format)?;
    Ok(size)
}

/// Whether the file ends as a whole PNG (its `IEND` chunk) or JPEG (the end-of-image marker)
/// does. Reading the last 12 bytes finds the usual damage, a file cut short by an interrupted
/// download or copy, without decoding anything. A file that ends otherwise (data appended
/// after the image is legal in both formats) is decoded once to tell which it is.
fn check_complete(path: &Path, format: image::ImageFormat) -> Result<(), DataError> {
    use std::io::{Read, Seek, SeekFrom};
    const PNG_IEND: [u8; 12] = [0, 0, 0, 0, b'I', b'E', b'N', b'D', 0xAE, 0x42, 0x60, 0x82];
    let mut file = std::fs::File::open(path).map_err(|e| missing_or_unreadable(path, e))?;
    let len = file.metadata().map_err(|e| unreadable(path, e))?.len();
    let mut tail = [0u8; 12];
    let n = tail.len().min(len as usize);
    file.seek(SeekFrom::End(-(n as i64)))
        .and_then(|_| file.read_exact(&mut tail[..n]))
        .map_err(|e| unreadable(path, e))?;
    let tail = &tail[..n];
    let whole = match format {
        image::ImageFormat::Png => tail == PNG_IEND,
        _ => tail.ends_with(&[0xFF, 0xD9]),
    };
    if whole {
        return Ok(());
    }
    open(path).map(|_| ()).map_err(|e| match e {
        DataError::Unreadable { path, reason } => DataError::Unreadable {
            path,
            reason: format!("the file does not end as a whole image does (truncated?): {reason}"),
        },
        other => other,
    })
}

/// Like [`image_dimensions`] for a map (a mask): it must be an 8- or 16-bit gray PNG, which the
/// PNG header tells without decoding, and whole.
pub fn map_dimensions(path: &Path) -> Result<(u32, u32), DataError> {
    let (format, size) = header(path)?;
    let color = match format {
        image::ImageFormat::Png => image::ImageReader::open(path)
            .and_then(|r| r.with_guessed_format())
            .map_err(|e| missing_or_unreadable(path, e))?
            .into_decoder()
            .map(|d| image::ImageDecoder::color_type(&d))
            .map_err(|e| unreadable(path, e))?,
        other => {
            return Err(DataError::Unsupported {
                path: path.to_path_buf(),
                reason: format!(
                "a map must be a gray PNG, not {other:?} (lossy formats shift the mask's values)"
            ),
            })
        }
    };
    match color {
        image::ColorType::L8 | image::ColorType::L16 => {
            check_complete(path, format)?;
            Ok(size)
        }
        other => Err(DataError::Unsupported {
            path: path.to_path_buf(),
            reason: format!(
                "a map must be an 8- or 16-bit single-channel gray PNG, found {other:?}; save the mask as a gray PNG"
            ),
        }),
    }
}

/// Decodes PNG with the `image` crate and JPEG with libjpeg (the decoder of the `jpeg`
/// degradation: PIL's semantics, and a truncated file is an error), after [`header`].
fn open(path: &Path) -> Result<DynamicImage, DataError> {
    let (format, _) = header(path)?;
    if format == image::ImageFormat::Jpeg {
        let bytes = std::fs::read(path).map_err(|e| missing_or_unreadable(path, e))?;
        return degradations::jpeg_decode(&bytes)
            .map(DynamicImage::ImageRgb8)
            .map_err(|e| unreadable(path, e));
    }
    let file = std::fs::File::open(path).map_err(|e| missing_or_unreadable(path, e))?;
    image::ImageReader::with_format(std::io::BufReader::new(file), format)
        .decode()
        .map_err(|e| unreadable(path, e))
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
                    "a map must be an 8- or 16-bit single-channel gray PNG, found {:?}; save the mask as a gray PNG",
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

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/fixtures/degradations")
            .join(name)
    }

    #[test]
    fn jpeg_files_decode_as_pil_decodes_them() {
        // make_fixtures.py wrote these JPEG bytes with PIL and, beside them, PIL's decoding.
        for q in [10, 50, 95] {
            let jpeg = load_rgb(&fixture(&format!("jpeg_b_q{q}.jpg"))).unwrap();
            let pil = load_rgb(&fixture(&format!("jpeg_b_q{q}.png"))).unwrap();
            assert_eq!(jpeg, pil, "quality {q}");
            assert_eq!(
                image_dimensions(&fixture(&format!("jpeg_b_q{q}.jpg"))).unwrap(),
                (61, 47)
            );
        }
    }

    #[test]
    fn truncated_unsupported_and_oversized_files_are_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = std::fs::read(fixture("jpeg_b_q95.jpg")).unwrap();
        let cut = dir.path().join("cut.jpg");
        std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
        let err = load_rgb(&cut).unwrap_err().to_string();
        assert!(
            err.contains("cut.jpg") && err.contains("cannot read image"),
            "{err}"
        );

        let gif = dir.path().join("x.gif");
        std::fs::write(&gif, b"GIF89a\x01\x00\x01\x00\x00\x00\x00;").unwrap();
        let err = load_rgb(&gif).unwrap_err().to_string();
        assert!(err.contains("Gif files are not read"), "{err}");

        // A PNG whose header claims 20000×20000 (the data is never read).
        let big = dir.path().join("big.png");
        std::fs::write(&big, png_header(20000, 20000)).unwrap();
        let err = image_dimensions(&big).unwrap_err().to_string();
        assert!(
            err.contains("20000×20000 is 400 Mpx, over the limit of 67 Mpx"),
            "{err}"
        );
        assert!(load_rgb(&big)
            .unwrap_err()
            .to_string()
            .contains("over the limit"));

        // A map must be a gray PNG.
        let rgb = dir.path().join("rgb_mask.png");
        RgbImage::new(4, 4).save(&rgb).unwrap();
        let err = map_dimensions(&rgb).unwrap_err().to_string();
        assert!(err.contains("gray PNG, found Rgb8"), "{err}");
        let gray = dir.path().join("gray_mask.png");
        GrayImage::new(4, 3).save(&gray).unwrap();
        assert_eq!(map_dimensions(&gray).unwrap(), (4, 3));

        let gone = dir.path().join("gone.png");
        assert!(matches!(load_rgb(&gone), Err(DataError::Missing { .. })));
    }

    #[test]
    fn the_pre_check_finds_truncated_files_and_accepts_appended_data() {
        let dir = tempfile::tempdir().unwrap();
        let png = dir.path().join("whole.png");
        RgbImage::from_fn(40, 30, |x, y| image::Rgb([x as u8 * 6, y as u8 * 8, 7]))
            .save(&png)
            .unwrap();
        let cases = [
            (
                fixture("jpeg_b_q95.jpg"),
                "cut.jpg",
                "appended.jpg",
                (61, 47),
            ),
            (png, "cut.png", "appended.png", (40, 30)),
        ];
        for (whole, cut, appended, size) in cases {
            let bytes = std::fs::read(&whole).unwrap();
            assert_eq!(image_dimensions(&whole).unwrap(), size);
            // Cut inside the image data: refused before the run, naming the file.
            for keep in [bytes.len() * 3 / 4, bytes.len() / 2] {
                let path = dir.path().join(cut);
                std::fs::write(&path, &bytes[..keep]).unwrap();
                let err = image_dimensions(&path).unwrap_err().to_string();
                assert!(
                    err.contains(cut) && err.contains("truncated?"),
                    "{keep}: {err}"
                );
            }
            // Bytes after the end of the image (a camera's trailer) are legal: decoded, kept.
            let path = dir.path().join(appended);
            std::fs::write(&path, [&bytes[..], b"trailer bytes"].concat()).unwrap();
            assert_eq!(image_dimensions(&path).unwrap(), size);
        }
        let gray = dir.path().join("mask.png");
        GrayImage::from_fn(32, 32, |x, y| image::Luma([((x * 8) ^ (y * 5)) as u8]))
            .save(&gray)
            .unwrap();
        let bytes = std::fs::read(&gray).unwrap();
        std::fs::write(&gray, &bytes[..bytes.len() / 2]).unwrap();
        let err = map_dimensions(&gray).unwrap_err().to_string();
        assert!(err.contains("truncated?"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn a_symbolic_link_loop_is_named_as_such_not_as_missing() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a.png"), dir.path().join("b.png"));
        std::os::unix::fs::symlink(&b, &a).unwrap();
        std::os::unix::fs::symlink(&a, &b).unwrap();
        let err = image_dimensions(&a).unwrap_err();
        assert!(!matches!(err, DataError::Missing { .. }), "{err}");
        assert!(err.to_string().contains("symbolic links"), "{err}");
        // A link to nothing is missing (the link itself exists, its target does not).
        let dangling = dir.path().join("dangling.png");
        std::os::unix::fs::symlink(dir.path().join("nowhere.png"), &dangling).unwrap();
        let err = image_dimensions(&dangling).unwrap_err().to_string();
        assert!(
            err.contains("dangling.png")
                && err.contains("symbolic link to")
                && err.contains("nowhere.png"),
            "{err}"
        );
    }

    /// A PNG of `w`×`h` (8-bit RGB) whose image data is empty: the header and an empty IDAT,
    /// enough for the size to be read and nothing to decode.
    fn png_header(w: u32, h: u32) -> Vec<u8> {
        fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
            let body: Vec<u8> = kind.iter().chain(data).copied().collect();
            let crc = !body.iter().fold(!0u32, |mut c, &b| {
                c ^= u32::from(b);
                for _ in 0..8 {
                    c = if c & 1 == 1 {
                        (c >> 1) ^ 0xEDB8_8320
                    } else {
                        c >> 1
                    };
                }
                c
            });
            out.extend((data.len() as u32).to_be_bytes());
            out.extend(body);
            out.extend(crc.to_be_bytes());
        }
        let mut ihdr = w.to_be_bytes().to_vec();
        ihdr.extend(h.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]);
        let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
        chunk(&mut out, b"IHDR", &ihdr);
        chunk(&mut out, b"IDAT", &[]);
        chunk(&mut out, b"IEND", &[]);
        out
    }

    #[test]
    fn sixteen_bit_rounds_to_nearest() {
        assert_eq!(to_u8(0), 0);
        assert_eq!(to_u8(65535), 255);
        assert_eq!(to_u8(257 * 100), 100);
        assert_eq!(to_u8(257 * 100 + 128), 100);
        assert_eq!(to_u8(257 * 100 + 129), 101);
    }
}
