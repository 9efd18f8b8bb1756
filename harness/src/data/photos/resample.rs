//! Opt-in partial generators of the photo source: plain image resamplers (docs/photos.md,
//! "Resampler generators").
//!
//! The benchmark's generators stand for GAN decoders (texture, ×2 stages, a 3×3 filter, noise).
//! Many real edits have no decoder at all: the region is changed at a reduced resolution and the
//! image is brought back by an image library's resize. These generators do exactly that with
//! fast_image_resize's kernels, at a drawn, generally non-integer factor, on a drawn sampling
//! grid, so a model can learn resampling traces that are not the benchmark decoders' own. They
//! stand for no generator of the paper, so they are not in the default catalogue: a suite or
//! training config selects them by name (`generators: [resize_bilinear, …]`).

use fast_image_resize::images::Image;
use fast_image_resize::{Filter, FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
use image::RgbImage;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::edits;
use crate::data::synth::{blend, feather, Image3, Plane};

/// An upsampling kernel of a resampler generator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kernel {
    Nearest,
    Bilinear,
    Hamming,
    /// Keys' cubic with a = −0.5 (Pillow's BICUBIC).
    CatmullRom,
    /// Keys' cubic with a = −0.75 (OpenCV's INTER_CUBIC, PyTorch's bicubic).
    Keys,
    Mitchell,
    Lanczos3,
}

/// A resampler generator: the region is edited at `S/f` and the image brought back with `up`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Resampler {
    /// Name in sample ids, manifests and `generators:` lists.
    pub name: &'static str,
    /// The upsampling kernel.
    pub up: Kernel,
}

/// The resampler generators, in catalogue order when selected.
pub const RESAMPLERS: [Resampler; 7] = [
    Resampler {
        name: "resize_nearest",
        up: Kernel::Nearest,
    },
    Resampler {
        name: "resize_bilinear",
        up: Kernel::Bilinear,
    },
    Resampler {
        name: "resize_hamming",
        up: Kernel::Hamming,
    },
    Resampler {
        name: "resize_catmullrom",
        up: Kernel::CatmullRom,
    },
    Resampler {
        name: "resize_keys",
        up: Kernel::Keys,
    },
    Resampler {
        name: "resize_mitchell",
        up: Kernel::Mitchell,
    },
    Resampler {
        name: "resize_lanczos3",
        up: Kernel::Lanczos3,
    },
];

/// Looks a resampler generator up by name.
pub fn resampler(name: &str) -> Option<&'static Resampler> {
    RESAMPLERS.iter().find(|r| r.name == name)
}

/// The range of the reduction factor f (each side becomes `round(S/f)`).
pub const FACTORS: std::ops::Range<f64> = 1.5..4.0;

/// Keys' cubic convolution kernel with a = −0.75. fast_image_resize ships only a = −0.5
/// (Catmull-Rom), so this one is given to it as a custom filter.
fn keys(x: f64) -> f64 {
    let a = -0.75;
    let x = x.abs();
    if x < 1.0 {
        ((a + 2.0) * x - (a + 3.0)) * x * x + 1.0
    } else if x < 2.0 {
        ((a * x - 5.0 * a) * x + 8.0 * a) * x - 4.0 * a
    } else {
        0.0
    }
}

fn filter(kernel: Kernel) -> Option<FilterType> {
    Some(match kernel {
        Kernel::Nearest => return None,
        Kernel::Bilinear => FilterType::Bilinear,
        Kernel::Hamming => FilterType::Hamming,
        Kernel::CatmullRom => FilterType::CatmullRom,
        Kernel::Keys => {
            FilterType::Custom(Filter::new("keys-0.75", keys, 2.0).expect("finite support"))
        }
        Kernel::Mitchell => FilterType::Mitchell,
        Kernel::Lanczos3 => FilterType::Lanczos3,
    })
}

/// How a reduction filters: Pillow widens the kernel when shrinking (antialiasing); OpenCV's
/// and PyTorch's default resizes sample the kernel at the source pixels only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Reduction {
    Nearest,
    /// Area average (Pillow's BOX, OpenCV's INTER_AREA).
    Area,
    Antialiased(Kernel),
    Sampled(Kernel),
}

const REDUCTIONS: [Reduction; 7] = [
    Reduction::Nearest,
    Reduction::Area,
    Reduction::Antialiased(Kernel::Bilinear),
    Reduction::Antialiased(Kernel::CatmullRom),
    Reduction::Antialiased(Kernel::Lanczos3),
    Reduction::Sampled(Kernel::Bilinear),
    Reduction::Sampled(Kernel::Keys),
];

fn algorithm(r: Reduction) -> ResizeAlg {
    match r {
        Reduction::Nearest => ResizeAlg::Nearest,
        Reduction::Area => ResizeAlg::Convolution(FilterType::Box),
        Reduction::Antialiased(k) => filter(k).map_or(ResizeAlg::Nearest, ResizeAlg::Convolution),
        Reduction::Sampled(k) => filter(k).map_or(ResizeAlg::Nearest, ResizeAlg::Interpolation),
    }
}

/// Resizes interleaved samples from `from` to `to`. With `corners`, the corner pixels' centres
/// of both grids coincide (`align_corners=True` in PyTorch): output pixel i samples the source
/// at i·(n−1)/(N−1). fast_image_resize samples at (i + ½)·w/N + left − ½ over a crop box of
/// width w, so that grid is the crop box w = N(n−1)/(N−1), left = (1 − (n−1)/(N−1))/2.
fn resize(
    samples: Vec<u8>,
    from: (u32, u32),
    to: (u32, u32),
    pixel: PixelType,
    alg: ResizeAlg,
    corners: bool,
) -> Vec<u8> {
    let src = Image::from_vec_u8(from.0, from.1, samples, pixel).expect("buffer matches size");
    let mut dst = Image::new(to.0, to.1, pixel);
    let mut options = ResizeOptions::new().resize_alg(alg);
    if corners && to.0 > 1 && to.1 > 1 {
        let box_of = |n: u32, big: u32| {
            let step = f64::from(n - 1) / f64::from(big - 1);
            ((1.0 - step) / 2.0, f64::from(big) * step)
        };
        let ((left, width), (top, height)) = (box_of(from.0, to.0), box_of(from.1, to.1));
        options = options.crop(left, top, width, height);
    }
    Resizer::new()
        .resize(&src, &mut dst, &options)
        .expect("same pixel type, non-empty sizes, crop box inside the source");
    dst.into_vec()
}

fn resize_rgb(image: &RgbImage, to: u32, alg: ResizeAlg, corners: bool) -> RgbImage {
    let out = resize(
        image.as_raw().clone(),
        image.dimensions(),
        (to, to),
        PixelType::U8x3,
        alg,
        corners,
    );
    RgbImage::from_raw(to, to, out).expect("resizer output has the requested size")
}

fn resize_plane(p: &Plane, to: usize, alg: ResizeAlg) -> Plane {
    let bytes: Vec<u8> = p.v.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let out = resize(
        bytes,
        (p.w as u32, p.h as u32),
        (to as u32, to as u32),
        PixelType::F32,
        alg,
        false,
    );
    let v = out
        .chunks_exact(4)
        .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    Plane { w: to, h: to, v }
}

/// Edit `edit` of the crop `real` through resampler `r`:
///
/// ```text
/// f ~ U[1.5, 4), n = round(S/f)
/// Z  = Down(X) to n×n with a drawn reduction, rounded to 8 bits   (an image library's shrink)
/// Z' = Z + m·(Edit(Z) − Z), rounded to 8 bits                     (the photo edit, as for every generator)
/// Y  = Up(Z') to S×S with r's kernel, on a half-pixel (2/3) or corner-aligned (1/3) grid
/// X' = round((1 − soft)·X + soft·Y)                               (α = 0: only the region changes)
/// ```
pub(crate) fn partial(
    real: &RgbImage,
    edit: &str,
    r: &Resampler,
    rng: &mut ChaCha8Rng,
) -> super::Manipulated {
    let size = real.width() as usize;
    let f = rng.random_range(FACTORS);
    let n = ((size as f64 / f).round() as usize).max(8);
    let reduction = REDUCTIONS[rng.random_range(0..REDUCTIONS.len())];
    let corners = rng.random_range(0..3) == 0;
    let small = resize_rgb(real, n as u32, algorithm(reduction), false);
    let ellipses = edits::region(size, rng);
    // The edit's weight at the reduced size: the ellipses' area coverage, feathered by a tent of
    // one pixel as for the decoder generators.
    let weight = resize_plane(&ellipses, n, ResizeAlg::Convolution(FilterType::Box)).tent_blur(1);
    let mut z = Image3::from_rgb8(&small);
    edits::apply(edit, &mut z, &weight, rng).expect("edit validated by the caller");
    let up = filter(r.up).map_or(ResizeAlg::Nearest, ResizeAlg::Interpolation);
    let y = resize_rgb(&z.to_rgb8(), size as u32, up, corners);
    let region = super::edited_region(&ellipses, &resize_plane(&weight, size, ResizeAlg::Nearest));
    let soft = feather(&region, f.round() as usize);
    super::Manipulated {
        fake: blend(Image3::from_rgb8(real), &Image3::from_rgb8(&y), &soft, 0.0),
        soft,
        region,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// PyTorch's `interpolate(mode="bilinear", align_corners=True)` written out for one row.
    fn bilinear_corners(row: &[f32], big: usize) -> Vec<f32> {
        let n = row.len();
        (0..big)
            .map(|i| {
                let x = i as f64 * (n - 1) as f64 / (big - 1) as f64;
                let x0 = (x.floor() as usize).min(n - 2);
                let t = (x - x0 as f64) as f32;
                row[x0] * (1.0 - t) + row[x0 + 1] * t
            })
            .collect()
    }

    #[test]
    fn corner_aligned_grid_is_pytorchs_align_corners() {
        let n = 7;
        let row: Vec<f32> = (0..n).map(|i| ((i * 37) % 11) as f32 / 10.0).collect();
        // A plane whose rows are all `row`, so the vertical pass is the identity.
        let plane = Plane {
            w: n,
            h: n,
            v: (0..n * n).map(|i| row[i % n]).collect(),
        };
        for big in [13, 16, 28] {
            let bytes: Vec<u8> = plane.v.iter().flat_map(|v| v.to_ne_bytes()).collect();
            let out = resize(
                bytes,
                (n as u32, n as u32),
                (big as u32, big as u32),
                PixelType::F32,
                ResizeAlg::Interpolation(FilterType::Bilinear),
                true,
            );
            let got: Vec<f32> = out[..big * 4]
                .chunks_exact(4)
                .map(|c| f32::from_ne_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            for (i, (g, e)) in got.iter().zip(bilinear_corners(&row, big)).enumerate() {
                assert!((g - e).abs() < 1e-4, "N={big} pixel {i}: {g} vs {e}");
            }
        }
    }

    #[test]
    fn keys_kernel_interpolates_and_sums_to_one() {
        assert_eq!(keys(0.0), 1.0);
        assert_eq!(keys(1.0), 0.0);
        assert_eq!(keys(2.0), 0.0);
        for t in [0.1, 0.25, 0.5, 0.8] {
            let s: f64 = (-2..=2).map(|k| keys(t + k as f64)).sum();
            assert!((s - 1.0).abs() < 1e-12, "partition of unity at {t}: {s}");
        }
        // a = −0.75: the negative lobe at 1.5 is a·(1.5³ − 5·1.5² + 8·1.5 − 4) = −0.75·0.125.
        assert!((keys(1.5) - (-0.75 * 0.125)).abs() < 1e-12);
    }
}
