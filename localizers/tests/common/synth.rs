//! Synthetic test images for the resampling detector: a smooth-noise "photo" whose region has
//! been replaced by the same content downsampled ×4 and upsampled again, as a GAN decoder would.
#![allow(dead_code)] // Each test binary uses a different subset.

use image::{Rgb, RgbImage};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

/// One colour plane, row-major, on the 0–255 scale (unrounded).
#[derive(Clone)]
pub struct Plane {
    pub width: usize,
    pub height: usize,
    pub data: Vec<f32>,
}

impl Plane {
    fn new(width: usize, height: usize) -> Self {
        Self {
            width,
            height,
            data: vec![0.0; width * height],
        }
    }
    fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }
    /// Value with coordinates clamped to the plane (edge replication).
    fn clamped(&self, x: isize, y: isize) -> f32 {
        let x = x.clamp(0, self.width as isize - 1) as usize;
        let y = y.clamp(0, self.height as isize - 1) as usize;
        self.at(x, y)
    }
}

fn normal_plane(rng: &mut ChaCha8Rng, width: usize, height: usize) -> Plane {
    Plane {
        width,
        height,
        data: (0..width * height)
            .map(|_| rng.sample::<f32, _>(StandardNormal))
            .collect(),
    }
}

/// Separable Gaussian blur (σ in pixels, truncated at 3σ, edge replication).
fn gaussian_blur(p: &Plane, sigma: f32) -> Plane {
    let r = (3.0 * sigma).ceil() as isize;
    let k: Vec<f32> = (-r..=r)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let sum: f32 = k.iter().sum();
    let pass = |src: &Plane, horizontal: bool| {
        let mut out = Plane::new(src.width, src.height);
        for y in 0..src.height {
            for x in 0..src.width {
                let mut acc = 0.0;
                for (j, w) in k.iter().enumerate() {
                    let d = j as isize - r;
                    acc += w * if horizontal {
                        src.clamped(x as isize + d, y as isize)
                    } else {
                        src.clamped(x as isize, y as isize + d)
                    };
                }
                out.data[y * src.width + x] = acc / sum;
            }
        }
        out
    };
    pass(&pass(p, true), false)
}

/// A "camera photo": low-pass noise (σ = 4 px, contrast 30 gray levels) tinted per channel,
/// plus independent fine noise of `fine_noise` gray levels per channel. Unrounded.
pub fn photo(seed: u64, size: usize, fine_noise: f32) -> [Plane; 3] {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let base = gaussian_blur(&normal_plane(&mut rng, size, size), 4.0);
    let mean = base.data.iter().sum::<f32>() / base.data.len() as f32;
    let std =
        (base.data.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / base.data.len() as f32).sqrt();
    [(1.0, 128.0), (0.9, 118.0), (0.8, 105.0)].map(|(gain, offset)| {
        let fine = normal_plane(&mut rng, size, size);
        Plane {
            width: size,
            height: size,
            data: base
                .data
                .iter()
                .zip(&fine.data)
                .map(|(b, f)| offset + gain * 30.0 * (b - mean) / std + fine_noise * f)
                .collect(),
        }
    })
}

/// Area (box) downsampling by an integer factor.
pub fn downsample(p: &Plane, factor: usize) -> Plane {
    let mut out = Plane::new(p.width / factor, p.height / factor);
    for y in 0..out.height {
        for x in 0..out.width {
            let mut acc = 0.0;
            for dy in 0..factor {
                for dx in 0..factor {
                    acc += p.at(x * factor + dx, y * factor + dy);
                }
            }
            out.data[y * out.width + x] = acc / (factor * factor) as f32;
        }
    }
    out
}

/// How the test's GAN-like decoder enlarges its latent image.
#[derive(Clone, Copy, Debug)]
pub enum Upsampler {
    /// Nearest neighbour ×f.
    Nearest,
    /// Half-pixel-aligned linear interpolation ×f (PIL / PyTorch `align_corners=False`).
    Bilinear,
    /// Half-pixel-aligned Keys cubic convolution (a = −0.5) ×f.
    Bicubic,
    /// Stride-2 transposed convolution, 4×4 kernel: zero insertion then the kernel; ×2 per stage.
    TransposedConv,
    /// Two ×2 bilinear stages (a decoder without convolutions in between).
    BilinearTwice,
    /// Two ×2 bicubic stages.
    BicubicTwice,
}

pub const ALL_UPSAMPLERS: [Upsampler; 4] = [
    Upsampler::Nearest,
    Upsampler::Bilinear,
    Upsampler::Bicubic,
    Upsampler::TransposedConv,
];

fn linear_weight(t: f32) -> f32 {
    (1.0 - t.abs()).max(0.0)
}

fn keys_cubic_weight(t: f32) -> f32 {
    let (t, a) = (t.abs(), -0.5);
    if t <= 1.0 {
        (a + 2.0) * t.powi(3) - (a + 3.0) * t * t + 1.0
    } else if t < 2.0 {
        a * t.powi(3) - 5.0 * a * t * t + 8.0 * a * t - 4.0 * a
    } else {
        0.0
    }
}

/// Separable interpolation ×`factor` with kernel `weight` of half-width `support`.
fn interpolate(p: &Plane, factor: usize, weight: fn(f32) -> f32, support: isize) -> Plane {
    let resample_1d = |src: &Plane, horizontal: bool| {
        let (w, h) = if horizontal {
            (src.width * factor, src.height)
        } else {
            (src.width, src.height * factor)
        };
        let mut out = Plane::new(w, h);
        for y in 0..h {
            for x in 0..w {
                let o = if horizontal { x } else { y };
                let centre = (o as f32 + 0.5) / factor as f32 - 0.5;
                let first = centre.floor() as isize - support + 1;
                let mut acc = 0.0;
                for k in first..first + 2 * support {
                    let v = if horizontal {
                        src.clamped(k, y as isize)
                    } else {
                        src.clamped(x as isize, k)
                    };
                    acc += weight(centre - k as f32) * v;
                }
                out.data[y * w + x] = acc;
            }
        }
        out
    };
    resample_1d(&resample_1d(p, true), false)
}

/// One ×2 transposed-convolution stage with kernel `k` (sum 4, so the mean level is kept).
fn transposed_conv_x2(p: &Plane, k: &[[f32; 4]; 4]) -> Plane {
    let mut out = Plane::new(p.width * 2, p.height * 2);
    for y in 0..out.height {
        for x in 0..out.width {
            let mut acc = 0.0;
            for (i, row) in k.iter().enumerate() {
                for (j, w) in row.iter().enumerate() {
                    // Only even positions of the zero-inserted latent are non-zero.
                    let (uy, ux) = (y as isize + i as isize - 2, x as isize + j as isize - 2);
                    if uy >= 0 && ux >= 0 && uy % 2 == 0 && ux % 2 == 0 {
                        let (ly, lx) = ((uy / 2) as usize, (ux / 2) as usize);
                        if ly < p.height && lx < p.width {
                            acc += w * p.at(lx, ly);
                        }
                    }
                }
            }
            out.data[y * out.width + x] = acc;
        }
    }
    out
}

/// Enlarges `p` ×4 (transposed convolution: two ×2 stages with a seeded positive kernel; the
/// `*Twice` variants: two ×2 stages; the others: one ×4 step).
pub fn upsample_x4(p: &Plane, upsampler: Upsampler, seed: u64) -> Plane {
    match upsampler {
        Upsampler::Nearest => {
            let mut out = Plane::new(p.width * 4, p.height * 4);
            for y in 0..out.height {
                for x in 0..out.width {
                    out.data[y * out.width + x] = p.at(x / 4, y / 4);
                }
            }
            out
        }
        Upsampler::Bilinear => interpolate(p, 4, linear_weight, 1),
        Upsampler::BilinearTwice => {
            interpolate(&interpolate(p, 2, linear_weight, 1), 2, linear_weight, 1)
        }
        Upsampler::BicubicTwice => interpolate(
            &interpolate(p, 2, keys_cubic_weight, 2),
            2,
            keys_cubic_weight,
            2,
        ),
        Upsampler::Bicubic => interpolate(p, 4, keys_cubic_weight, 2),
        Upsampler::TransposedConv => {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let mut k = [[0.0f32; 4]; 4];
            k.iter_mut()
                .flatten()
                .for_each(|w| *w = rng.random_range(0.2..1.0));
            let sum: f32 = k.iter().flatten().sum();
            k.iter_mut().flatten().for_each(|w| *w *= 4.0 / sum);
            transposed_conv_x2(&transposed_conv_x2(p, &k), &k)
        }
    }
}

/// Soft rectangular region mask in [0,1]: centre (cx, cy), half-sides (hx, hy), 8 px feather.
pub fn soft_rectangle(size: usize, cx: f32, cy: f32, hx: f32, hy: f32) -> Vec<f32> {
    (0..size * size)
        .map(|i| {
            let (x, y) = ((i % size) as f32, (i / size) as f32);
            let d = ((x - cx).abs() - hx).max((y - cy).abs() - hy);
            (0.5 - d / 8.0).clamp(0.0, 1.0)
        })
        .collect()
}

/// 8-bit RGB image of the planes blended as `(1 − mask)·real + mask·fake`, rounded and clipped.
pub fn blend(real: &[Plane; 3], fake: Option<&[Plane; 3]>, mask: &[f32]) -> RgbImage {
    let size = real[0].width;
    RgbImage::from_fn(size as u32, size as u32, |x, y| {
        let i = y as usize * size + x as usize;
        Rgb(std::array::from_fn(|c| {
            let r = real[c].data[i];
            let v = fake.map_or(r, |f| (1.0 - mask[i]) * r + mask[i] * f[c].data[i]);
            v.round().clamp(0.0, 255.0) as u8
        }))
    })
}

/// A partially manipulated image: `photo(seed)` with the mask's region regenerated through
/// `upsampler` from its ×4 area-downsampled version.
pub fn manipulated(
    seed: u64,
    size: usize,
    fine_noise: f32,
    upsampler: Upsampler,
    mask: &[f32],
) -> RgbImage {
    let real = photo(seed, size, fine_noise);
    let fake = real
        .clone()
        .map(|p| upsample_x4(&downsample(&p, 4), upsampler, seed ^ 0x5eed));
    blend(&real, Some(&fake), mask)
}

/// Tie-aware ROC AUC of `scores` for `labels` (Mann–Whitney U with average ranks).
pub fn roc_auc(scores: &[f32], labels: &[bool]) -> f64 {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let (mut rank_sum, mut i) = (0.0f64, 0);
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        let average_rank = (i + j) as f64 / 2.0 + 1.0;
        rank_sum += order[i..=j].iter().filter(|&&k| labels[k]).count() as f64 * average_rank;
        i = j + 1;
    }
    let positives = labels.iter().filter(|&&l| l).count() as f64;
    let negatives = labels.len() as f64 - positives;
    (rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives)
}
